"""Flask extensions, created unbound and attached in create_app(), and the sync backend the app builds."""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path
from typing import Any, cast

import psycopg
from flask import Flask, current_app
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from server.models import Base
from sync.backend import SyncBackend
from sync.protocol import ProblemSchema

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)


def current_backend() -> SyncBackend:
    """The app's sync backend (built by server.sync_handlers.init_app), with its blob store."""
    return cast(SyncBackend, current_app.extensions["sync"])


class ProblemApi(Api):
    """flask-smorest's Api, answering errors with the catalogue's JSON instead of its own shape (and documenting
    that shape, not flask-smorest's integer-coded one, as every operation's error response)."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Any:
        """Render webargs/HTTP errors as catalogue problems."""
        from server.errors import problem_from_http, problem_response

        return problem_response(problem_from_http(error, getattr(error, "data", None)))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, busy_timeout_ms: int) -> None:
    """WAL lets readers work during a write; foreign keys are off by default in SQLite."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()


class BinaryArray(list[Any]):
    """A column's values, sent by psycopg as one binary array (elements dumped in C, no escaping) on the app's
    connections; elsewhere as a text array, as any list. The statement's cast gives its type."""


def _binary_arrays(dbapi_connection: Any, _record: Any) -> None:
    """psycopg escapes a text array element by element in Python: send BinaryArray values in binary."""
    if isinstance(dbapi_connection, psycopg.Connection):
        dbapi_connection.adapters.register_dumper(BinaryArray, ListBinaryDumper)


def init_app(app: Flask) -> ProblemApi:
    """Bind the extensions to ``app``; returns the app's own OpenAPI registry for its blueprints."""
    db.init_app(app)
    with app.app_context():
        pragmas = functools.partial(_sqlite_pragmas, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])
        event.listen(db.engine, "connect", pragmas)
        event.listen(db.engine, "connect", _binary_arrays)
    from server.services.catalogues import install_immutability_guard

    install_immutability_guard(Session)
    from server.models.limits import install_length_guard

    install_length_guard(Session)
    migrate.init_app(app, db, directory=str(Path(app.root_path) / "migrations"))
    # One Api per app: its OpenAPI spec describes exactly the blueprints this app registered.
    api = ProblemApi(app)
    from server.api.schemas import DecimalString

    api.register_field(DecimalString, "string", "decimal")
    return api

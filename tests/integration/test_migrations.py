"""The Alembic migrations produce exactly the models, on SQLite and (in CI) on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from server import create_app
from server.extensions import db
from server.models import Base
from tests.conftest import Databases, app_config, dispose


def _diff(connection: sa.Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


def test_upgrade_to_head_matches_models_exactly(databases: Databases, tmp_path: Path) -> None:
    url = databases.empty("migrations")
    app = create_app(app_config(url, tmp_path / "inst"))
    try:
        with app.app_context():
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                assert _diff(connection) == []
                tables = set(sa.inspect(connection).get_table_names()) - {"alembic_version"}
            assert tables == set(Base.metadata.tables)
    finally:
        dispose(app)
        databases.drop(url)


def test_downgrade_to_base_and_upgrade_again(databases: Databases, tmp_path: Path) -> None:
    url = databases.empty("migrations_roundtrip")
    app = create_app(app_config(url, tmp_path / "inst"))
    try:
        with app.app_context():
            flask_migrate.upgrade()
            flask_migrate.downgrade(revision="base")
            with db.engine.connect() as connection:
                assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                assert _diff(connection) == []
    finally:
        dispose(app)
        databases.drop(url)


def test_sqlite_runs_with_wal_and_foreign_keys(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas only")
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

"""Issue 17, item 5: the review queue's newest-first order is read from an index (migration 0016) instead of sorting
every submitted inspection of the scope on each request; the index's expression is the one the queue orders by."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import flask_migrate
import sqlalchemy as sa
from flask import Flask

from server import create_app
from server.domain.inspections import InspectionStatus
from server.extensions import db
from server.models import Inspection, User
from server.services import review
from tests.conftest import Databases, app_config, dispose
from tests.integration.test_migrations import index_names

INDEX = "ix_inspection_review_queue"
MIGRATION = importlib.import_module("server.migrations.versions.0016_review_queue_index")


def test_0016_adds_the_index_and_its_downgrade_drops_only_it(databases: Databases, tmp_path: Path) -> None:
    url = databases.empty("migrations_0016")
    app = create_app(app_config(url, tmp_path / "inst"))
    try:
        with app.app_context():
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                found = index_names(connection, "inspection")
            assert INDEX in found
            flask_migrate.downgrade(revision="0015_region_version")
            with db.engine.connect() as connection:
                assert index_names(connection, "inspection") == found - {INDEX}
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                assert index_names(connection, "inspection") == found
    finally:
        dispose(app)
        databases.drop(url)


def test_the_index_says_what_the_model_says() -> None:
    # The migration spells the expression and condition out as of its revision; the model's must equal them.
    index = next(ix for ix in Inspection.__table__.indexes if ix.name == INDEX)
    assert [str(e) for e in index.expressions] == [
        "inspection.status",
        MIGRATION.NEWEST_FIRST,
        "inspection.id",
    ]
    assert str(index.dialect_options["postgresql"]["where"]) == MIGRATION.NOT_DELETED
    assert str(index.dialect_options["sqlite"]["where"]) == MIGRATION.NOT_DELETED


@contextmanager
def _statements(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (with their parameters) run on ``engine`` inside the block."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def _plan(connection: sa.Connection, statement: str, parameters: Any) -> str:
    """The plan the database picks for ``statement``; PostgreSQL is told to avoid sorting and scanning tables so
    that, on the tests' few rows, it shows whether an index can give the order at all."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(str(row[-1]) for row in rows)
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return "\n".join(connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars())


def test_the_review_queue_reads_its_order_from_the_index(app: Flask) -> None:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        assert user is not None
        filters = review.InspectionFilters(status=InspectionStatus.submitted)
        with _statements(db.engine) as seen:
            page = review.list_inspections(db.session, user, filters)
        assert page.rows
        ordered = [(s, p) for s, p in seen if "ORDER BY coalesce" in s]
        assert len(ordered) == 1, [s for s, _ in seen]
        with db.engine.connect() as connection, connection.begin():
            plan = _plan(connection, *ordered[0])
        assert INDEX in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan

"""The Alembic migrations produce exactly the models, on SQLite and (in CI) on PostgreSQL."""

from __future__ import annotations

import re
import uuid
import warnings
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy.schema import CreateIndex

from server import create_app
from server.extensions import db
from server.models import Base
from tests.conftest import Databases, app_config, dispose

#: What SQLAlchemy says when SQLite's reflection meets an index on an expression (it skips the index).
EXPRESSION_INDEX_SKIPPED = "Skipped unsupported reflection of expression-based index"


def _is_expression_index(index: sa.Index) -> bool:
    return any(not isinstance(expression, sa.Column) for expression in index.expressions)


def _without_expression_indexes() -> sa.MetaData:
    """The models' tables without their indexes on expressions: what SQLite's reflection can be compared with
    (it cannot read those; Alembic would warn that it skips them, and they are compared by their DDL instead)."""
    metadata = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        copied = table.to_metadata(metadata)
        for index in [ix for ix in copied.indexes if _is_expression_index(ix)]:
            copied.indexes.discard(index)
    return metadata


def _expression_index_diff(connection: sa.Connection) -> list[object]:
    """SQLite: each of the models' indexes on expressions as the database holds it (its CREATE INDEX statement in
    sqlite_master) against the statement the model gives, both with spaces normalised; the differences."""
    held = dict(connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'").all())

    def spaced(sql: str | None) -> str:
        return re.sub(r"\s+", " ", sql or "").strip()

    diff: list[object] = []
    for table in Base.metadata.sorted_tables:
        for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
            if _is_expression_index(index):
                wanted = spaced(str(CreateIndex(index).compile(dialect=connection.dialect)))
                if spaced(held.get(str(index.name))) != wanted:
                    diff.append(("expression index", index.name, held.get(str(index.name)), wanted))
    return diff


def _diff(connection: sa.Connection) -> list[object]:
    sqlite = connection.dialect.name == "sqlite"
    opts: dict[str, Any] = {"compare_type": True, "compare_server_default": True}
    if not sqlite:
        context = MigrationContext.configure(connection, opts=opts)
        return list(compare_metadata(context, Base.metadata))
    context = MigrationContext.configure(connection, opts=opts)
    with warnings.catch_warnings():
        # Only this warning, only here: the indexes it skips are compared by _expression_index_diff below.
        warnings.filterwarnings("ignore", message=EXPRESSION_INDEX_SKIPPED, category=sa.exc.SAWarning)
        diff = list(compare_metadata(context, _without_expression_indexes()))
    return diff + _expression_index_diff(connection)


def index_names(connection: sa.Connection, table: str) -> set[str]:
    """The names of ``table``'s indexes (SQLite: from its catalogue, whose reflection skips, with a warning, the
    indexes on expressions)."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table,),
        )
        return set(rows.scalars())
    return {ix["name"] or "" for ix in sa.inspect(connection).get_indexes(table)}


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


def test_0002_numbers_rows_written_before_change_numbering(databases: Databases, tmp_path: Path) -> None:
    url = databases.empty("migrations_data")
    app = create_app(app_config(url, tmp_path / "inst"))
    try:
        with app.app_context():
            flask_migrate.upgrade(revision="0001_initial")
            with db.engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO region (code, name, level, created_at, updated_at) "
                                     "VALUES ('141123', '兴县', 'county', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))  # fmt: skip
                region_id = conn.execute(sa.text("SELECT id FROM region")).scalar_one()
                for index, name in enumerate(("甲企业", "乙企业")):
                    conn.execute(
                        sa.text("INSERT INTO enterprise (id, name, credit_code, region_id, sector_steel, "
                                "sector_aluminium_casting, sector_dust_explosion, sector_ammonia_refrigeration, "
                                "sector_confined_space, sector_hazardous_work, sector_major_hazard_source, "
                                "sector_gas_area, created_at, updated_at, row_version, change_no) VALUES (:id, :name, "
                                ":code, :region, false, false, false, false, false, false, false, false, "
                                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, 0)"),
                        {"id": uuid.uuid4().hex if conn.dialect.name == "sqlite" else str(uuid.uuid4()), "name": name,
                         "code": f"91141123MA0000{index}XXX", "region": region_id},
                    )  # fmt: skip
            flask_migrate.upgrade()
            with db.engine.connect() as conn:
                numbers = sorted(conn.execute(sa.text("SELECT change_no FROM enterprise")).scalars())
                counter = conn.execute(sa.text("SELECT value FROM change_counter WHERE id = 1")).scalar_one()
            assert numbers == [1, 2] and counter == 2
    finally:
        dispose(app)
        databases.drop(url)


def test_hazard_withdrawn_migration_widens_and_narrows_the_checks(
    databases: Databases, tmp_path: Path
) -> None:
    """The hazard state and event kind CHECKs accept 'withdrawn' after the upgrade and not after the downgrade."""
    url = databases.empty("migrations_withdrawn")
    app = create_app(app_config(url, tmp_path / "inst"))

    def accepts_withdrawn() -> tuple[bool, bool]:
        with db.engine.connect() as connection:
            inspector = sa.inspect(connection)
            return tuple(  # type: ignore[return-value]
                any("withdrawn" in str(check["sqltext"]) for check in inspector.get_check_constraints(table))
                for table in ("hazard", "hazard_event")
            )

    try:
        with app.app_context():
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                assert _diff(connection) == []
            assert accepts_withdrawn() == (True, True)
            flask_migrate.downgrade(revision="0004_sampling_draw")
            assert accepts_withdrawn() == (False, False)
            flask_migrate.upgrade()
            assert accepts_withdrawn() == (True, True)
    finally:
        dispose(app)
        databases.drop(url)

"""Issue 17, item 5: the province indexes of migration 0014 (up and down on both engines, their partial
conditions the rules they stand for), and the dashboard's scope of 清零 taken from the cached verdicts by
region equal to a recount after enterprises move between counties or are deleted."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from flask import Flask

from server import clock, create_app
from server.domain import counting
from server.domain.hazards import OPEN_STATES
from server.domain.inspections import InspectionKind, InspectionStatus
from server.extensions import db
from server.models import Catalogue, Enterprise, Inspection, User
from server.models.hazard import OPEN_HAZARD_PREDICATE
from server.models.inspection import COUNTING_INSPECTION_PREDICATE
from server.services.mappoints import latest_first
from server.services.oversight import ClearanceCache, clearances, scope_clearances
from tests.conftest import Databases, app_config, dispose

INDEXES = {
    "inspection": {
        "ix_inspection_status",
        "ix_inspection_counting",
        "ix_inspection_started_at",
        "ix_inspection_unstarted",
    },
    "hazard_event": {"ix_hazard_event_kind_hazard_at"},
    "hazard": {"ix_hazard_open"},
}
MIGRATION = importlib.import_module("server.migrations.versions.0014_province_indexes")


def _indexes(connection: sa.Connection) -> dict[str, set[str]]:
    inspector = sa.inspect(connection)
    return {table: {ix["name"] or "" for ix in inspector.get_indexes(table)} for table in INDEXES}


def test_0014_adds_the_indexes_and_its_downgrade_drops_only_them(
    databases: Databases, tmp_path: Path
) -> None:
    url = databases.empty("migrations_0014")
    app = create_app(app_config(url, tmp_path / "inst"))
    try:
        with app.app_context():
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                found = _indexes(connection)
                tables = set(sa.inspect(connection).get_table_names())
            for table, names in INDEXES.items():
                assert names <= found[table], table
            flask_migrate.downgrade(revision="0013_reconciliation_decisions")
            with db.engine.connect() as connection:
                after = _indexes(connection)
                assert set(sa.inspect(connection).get_table_names()) == tables
            for table, names in INDEXES.items():
                assert not names & after[table], table
                assert after[table] == found[table] - names, table
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                assert _indexes(connection) == found
    finally:
        dispose(app)
        databases.drop(url)


def test_the_partial_indexes_say_what_the_rules_say() -> None:
    # The migration spells the conditions out as of its revision; the models' constants must equal them.
    assert MIGRATION.OPEN_HAZARD == OPEN_HAZARD_PREDICATE
    assert MIGRATION.COUNTING == COUNTING_INSPECTION_PREDICATE
    states = set(re.findall(r"'(\w+)'", OPEN_HAZARD_PREDICATE.split("IN", 1)[1]))
    assert states == {s.value for s in OPEN_STATES}
    assert f"kind <> '{counting.SELF_KIND}'" in COUNTING_INSPECTION_PREDICATE


def test_scope_verdicts_taken_by_region_follow_moves_and_deletions(app: Flask) -> None:
    cache = ClearanceCache()
    with app.app_context():
        today = clock.today()
        users = {
            name: db.session.scalar(sa.select(User).where(User.username == name))
            for name in ("xx_sup", "lx_sup", "ll_city", "admin")
        }
        for user in users.values():
            assert user is not None
            assert scope_clearances(db.session, user, today, cache) == clearances(db.session, user, today)
        xx = users["xx_sup"]
        lx = users["lx_sup"]
        assert xx is not None and lx is not None and lx.region_id is not None
        xingxian = sorted(scope_clearances(db.session, xx, today, cache))
        moved, deleted = (db.session.get(Enterprise, eid) for eid in xingxian[:2])
        assert moved is not None and deleted is not None
        moved.region_id = lx.region_id
        deleted.deleted_at = datetime.now(UTC)
        db.session.commit()
        for user in users.values():
            assert user is not None
            assert scope_clearances(db.session, user, today, cache) == clearances(db.session, user, today)
        assert moved.id in scope_clearances(db.session, lx, today, cache)
        assert moved.id not in scope_clearances(db.session, xx, today, cache)
        assert deleted.id not in scope_clearances(db.session, xx, today, cache)


def test_the_latest_inspections_merged_from_two_indexes_keep_the_coalesced_order(app: Flask) -> None:
    """Started and never-started inspections interleaved, with ties: the merge gives exactly the order (and the
    cut) of ordering every inspection by when it started, else arrived, then by id."""
    with app.app_context():
        catalogue = db.session.scalar(sa.select(Catalogue))
        enterprise = db.session.scalar(sa.select(Enterprise).order_by(Enterprise.name).limit(1))
        assert catalogue is not None and enterprise is not None
        base = datetime(2031, 1, 1, tzinfo=UTC)  # after every demo inspection, so these are the newest
        for minutes, started in (
            (0, True),
            (0, False),
            (5, True),
            (5, True),
            (3, False),
            (9, False),
            (7, True),
        ):
            at = base + timedelta(minutes=minutes)
            db.session.add(
                Inspection(
                    enterprise_id=enterprise.id,
                    catalogue_id=catalogue.id,
                    kind=InspectionKind.county,
                    status=InspectionStatus.submitted,
                    started_at=at if started else None,
                    received_at=at if not started else base - timedelta(days=400),
                )
            )
        db.session.commit()
        when = sa.func.coalesce(Inspection.started_at, Inspection.received_at)
        plain = sa.select(Inspection.id).where(Inspection.deleted_at.is_(None))
        for limit in (1, 3, 5, 7, 10_000):
            expected = list(db.session.scalars(plain.order_by(when.desc(), Inspection.id).limit(limit)))
            assert list(db.session.scalars(latest_first(plain, limit))) == expected, limit

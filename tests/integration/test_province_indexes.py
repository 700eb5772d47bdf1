"""Issue 17, item 5: the province indexes of migration 0014 (up and down on both engines, their partial
conditions the rules they stand for), and the dashboard's scope of 清零 taken from the cached verdicts by
region equal to a recount after enterprises move between counties or are deleted."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask

from server import clock, create_app
from server.domain import counting
from server.domain.hazards import OPEN_STATES, HazardEventKind, HazardLevel, HazardState
from server.domain.hazards import HazardEventKind as K
from server.domain.inspections import InspectionKind, InspectionStatus
from server.extensions import db
from server.models import Catalogue, Enterprise, Hazard, HazardSource, Inspection, User
from server.models.hazard import OPEN_HAZARD_PREDICATE
from server.models.inspection import COUNTING_INSPECTION_PREDICATE
from server.services.hazards import append_event, record_hazard
from server.services.mappoints import latest_first
from server.services.oversight import (
    ClearanceCache,
    campaign_for,
    campaign_window,
    clearances,
    scope_clearances,
)
from server.services.trends import hazards_by_week, weeks
from tests.conftest import Databases, app_config, dispose
from tests.integration.test_figures_audit import _in_scope
from tests.integration.test_migrations import index_names

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
    return {table: index_names(connection, table) for table in INDEXES}


def test_0014_adds_the_indexes_and_its_downgrade_drops_only_them(
    databases: Databases, tmp_path: Path
) -> None:
    url = databases.empty("migrations_0014")
    app = create_app(app_config(url, tmp_path / "inst"))
    try:
        with app.app_context():
            flask_migrate.upgrade(revision="0014_province_indexes")  # not head: later revisions add tables
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
            flask_migrate.upgrade(revision="0014_province_indexes")
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


def _weeks_in_python(username: str, campaign: Any, today: Any, zone: Any) -> list[tuple[int, int]]:
    """(found, rectified) per week by the rules as written: the dashboard's hazards (in scope, not deleted, not
    of a draft, found in the campaign's days) by week found, and those accepted or closed now by the week of
    their latest acceptance, else latest closing, else finding; a date past the weeks falls in the nearest."""
    window = campaign_window(campaign, zone)
    spans = weeks(window.starts_on, max(window.starts_on, min(today, window.ends_on)))
    ends = [clock.day_end(w.ends_on, zone) for w in spans[:-1]]

    def week(at: datetime) -> int:
        return next((i for i, end in enumerate(ends) if at < end), len(spans) - 1)

    user = db.session.scalar(sa.select(User).where(User.username == username))
    assert user is not None
    scope = (
        {e.id for e in db.session.scalars(sa.select(Enterprise)) if e.deleted_at is None}
        if user.region is None
        else {e.id for e in _in_scope(username)}
    )
    drafts = {i.id for i in db.session.scalars(sa.select(Inspection)) if i.status.value == "draft"}
    lo, hi = clock.day_start(window.starts_on, zone), clock.day_end(window.ends_on, zone)
    found, rectified = [0] * len(spans), [0] * len(spans)
    for hazard in db.session.scalars(sa.select(Hazard)):
        if (
            hazard.enterprise_id not in scope
            or hazard.deleted_at is not None
            or hazard.inspection_id in drafts
        ):
            continue
        if not lo <= hazard.found_at < hi:
            continue
        found[week(hazard.found_at)] += 1
        if hazard.state in (HazardState.accepted, HazardState.closed):
            accepted = [e.at for e in hazard.events if e.kind == HazardEventKind.accepted]
            closed = [e.at for e in hazard.events if e.kind == HazardEventKind.closed]
            rectified[week(max(accepted) if accepted else max(closed) if closed else hazard.found_at)] += 1
    return list(zip(found, rectified, strict=True))


@pytest.mark.parametrize("username", ["xx_sup", "ll_city", "admin"])
def test_hazards_per_week_in_one_query_equal_the_rules_per_week(app: Flask, username: str) -> None:
    """Found and rectified per week, counted in one query, equal a recount week by week, with a hazard
    rejected on review then accepted, and one accepted then closed weeks later (its acceptance decides)."""
    with app.app_context():
        zone = clock.zone()
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        campaign = campaign_for(db.session, user)
        assert campaign is not None
        enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == "兴县晋兴特钢有限公司"))
        assert enterprise is not None
        start = clock.day_start(min(p.starts_on for p in campaign.phases), zone) + timedelta(days=2)
        for offset, steps in ((0, (K.rectification_reported, K.rejected, K.rectification_reported, K.accepted)),
                              (1, (K.rectification_reported, K.accepted, K.closed))):  # fmt: skip
            hazard = record_hazard(
                db.session, enterprise=enterprise, description=f"按周统计的隐患{offset}", level=HazardLevel.general,
                found_at=start + timedelta(days=offset), deadline=None, source=HazardSource.inspection,
            )  # fmt: skip
            for step, kind in enumerate(steps, 1):
                at = start + timedelta(days=offset + 9 * step)
                append_event(
                    db.session, hazard, kind, at, comment="整改不到位" if kind is K.rejected else None
                )
        db.session.commit()
        for today in sorted({clock.today(zone), start.date() + timedelta(days=30)}):
            counted = [
                (w.found, w.rectified) for w in hazards_by_week(db.session, user, campaign, today, zone)
            ]
            assert counted == _weeks_in_python(username, campaign, today, zone)

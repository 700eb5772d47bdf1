"""Issue 17, item 5: the dashboard's figures kept as each enterprise's contribution and patched after writes
(oversight.contributions) equal a plain recount after any sequence of writes, in every scope, on both engines:
coverage per phase, the hazard counts, 清零 by sector, the weekly coverage and hazard trends and 清零 by phase."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import strategies as st

from server import clock
from server.domain.hazards import HazardEventKind, HazardLevel, HazardState
from server.domain.inspections import InspectionStatus
from server.extensions import db
from server.models import Enterprise, Hazard, HazardEvent, HazardSource, Inspection, Region, User
from server.services import oversight, trends
from server.services.hazards import record_hazard
from server.services.oversight.contributions import ContributionCache
from tests.integration.random_writes import check_after_writes

SCOPES = ("xx_sup", "lx_sup", "ll_city", "admin")

#: One write: what to change, which row (an index into the rows, sorted by id), and a value to pick with.
WRITES = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "hazard",
                "hazard_deleted",
                "new_hazard",
                "event",
                "inspection",
                "inspection_deleted",
                "move",
                "delete",
            ]
        ),
        st.integers(0, 10_000),
        st.integers(0, 10_000),
    ),
    min_size=1,
    max_size=6,
)


def _pick(model: Any, index: int) -> Any:
    rows = db.session.scalars(sa.select(model).order_by(model.id)).all()
    return rows[index % len(rows)] if rows else None


def _write(kind: str, index: int, value: int) -> None:
    """One write as a sync or a supervisor would make it: through the ORM, so it takes a change number."""
    now = datetime.now(UTC)
    if kind == "hazard":
        hazard = _pick(Hazard, index)
        states = list(HazardState)
        hazard.state = states[value % len(states)]
        hazard.level = list(HazardLevel)[value % 2]
        hazard.listed = bool(value & 4)
        hazard.stop_production = bool(value & 8)
        hazard.deadline = clock.today() + timedelta(days=(value % 61) - 30)
        hazard.found_at = hazard.found_at + timedelta(days=(value % 21) - 10)
    elif kind == "hazard_deleted":
        hazard = _pick(Hazard, index)
        hazard.deleted_at = None if hazard.deleted_at is not None else now
    elif kind == "new_hazard":
        enterprise = _pick(Enterprise, index)
        record_hazard(
            db.session, enterprise=enterprise, description=f"随机写入 {value}", level=list(HazardLevel)[value % 2],
            found_at=now - timedelta(days=value % 90), deadline=clock.today() - timedelta(days=value % 5),
            source=HazardSource.inspection,
        )  # fmt: skip
    elif kind == "event":
        # An event synced on its own, its hazard untouched: the week it counts as rectified in may move.
        rectified = sa.select(Hazard).where(Hazard.state.in_([HazardState.accepted, HazardState.closed]))
        hazards = db.session.scalars(rectified.order_by(Hazard.id)).all()
        hazard = hazards[index % len(hazards)]
        event_kind = (HazardEventKind.accepted, HazardEventKind.closed)[value % 2]
        window = oversight.campaign_window(
            oversight.campaign_for(
                db.session, db.session.scalar(sa.select(User).where(User.username == "admin"))
            ),
            clock.zone(),
        )
        assert window is not None
        day = window.starts_on + timedelta(days=value % max(1, (window.ends_on - window.starts_on).days))
        at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
        db.session.add(HazardEvent(hazard_id=hazard.id, kind=event_kind, at=at))
    elif kind == "inspection":
        inspection = _pick(Inspection, index)
        statuses = list(InspectionStatus)
        inspection.status = statuses[value % len(statuses)]
        inspection.seal_verified = value % 7 != 0
        if inspection.finished_at is not None:
            inspection.finished_at = inspection.finished_at + timedelta(days=(value % 31) - 15)
    elif kind == "inspection_deleted":
        inspection = _pick(Inspection, index)
        inspection.deleted_at = None if inspection.deleted_at is not None else now
    elif kind == "move":
        enterprise = _pick(Enterprise, index)
        regions = db.session.scalars(sa.select(Region.id).order_by(Region.id)).all()
        enterprise.region_id = regions[value % len(regions)]
    elif kind == "delete":
        enterprise = _pick(Enterprise, index)
        enterprise.deleted_at = None if enterprise.deleted_at is not None else now
    db.session.commit()


def _assert_kept_equals_recount(cache: ContributionCache, verdicts: oversight.ClearanceCache) -> None:
    zone = clock.zone()
    today = clock.today(zone)
    for username in SCOPES:
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        kept = oversight.dashboard(db.session, user, today, zone, verdicts, contributions=cache)
        plain = oversight.dashboard(db.session, user, today, zone)
        assert kept.hazards == plain.hazards, username
        assert kept.sectors == plain.sectors, username
        assert [(c.phase.id, c.inspected, c.in_scope) for c in kept.coverage] == [
            (c.phase.id, c.inspected, c.in_scope) for c in plain.coverage
        ], username
        campaign = plain.campaign
        for day in (today, *(p.starts_on + timedelta(days=9) for p in (campaign.phases if campaign else []))):
            scope = oversight.clearances(db.session, user, day).values()
            kept_trend = trends.trends(
                db.session, user, campaign, day, zone, lambda: [], None, cache,
                lambda: oversight.all_clearances(db.session, day, verdicts),  # noqa: B023 (called at once)
            )  # fmt: skip
            plain_trend = trends.trends(db.session, user, campaign, day, zone, lambda: scope)  # noqa: B023
            assert kept_trend.coverage == plain_trend.coverage, (username, day)
            assert kept_trend.hazards == plain_trend.hazards, (username, day)
            assert kept_trend.clearance == plain_trend.clearance, (username, day)


def test_the_kept_figures_equal_a_recount_after_random_writes(app: Flask) -> None:
    cache, verdicts = ContributionCache(), oversight.ClearanceCache()
    with app.app_context():
        _assert_kept_equals_recount(cache, verdicts)  # built from nothing

        check_after_writes(
            WRITES, _write, lambda: _assert_kept_equals_recount(cache, verdicts), examples=12
        )  # patched: only the enterprises written count again


def test_a_patch_counts_only_the_enterprises_written(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """After one hazard is written, the figures are counted again for its enterprise alone."""
    cache, verdicts = ContributionCache(), oversight.ClearanceCache()
    counted: list[Any] = []
    from server.services.oversight import contributions

    original = contributions.Contributions.patched

    def spy(self: Any, stamp: int, changed: set[uuid.UUID], *args: Any) -> Any:
        counted.append(set(changed))
        return original(self, stamp, changed, *args)

    monkeypatch.setattr(contributions.Contributions, "patched", spy)
    with app.app_context():
        _assert_kept_equals_recount(cache, verdicts)
        assert counted == []
        hazard = _pick(Hazard, 3)
        hazard.state = HazardState.accepted
        db.session.commit()
        _assert_kept_equals_recount(cache, verdicts)
        assert counted and all(changed == {hazard.enterprise_id} for changed in counted)

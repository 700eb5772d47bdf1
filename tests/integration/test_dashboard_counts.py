"""The dashboard's hazard counts, taken in one scan with FILTERed counts, equal a recount by the rules in plain
Python over the rows, in every scope and with or without the campaign's window; and the counts kept between views
(stamped with the change counter) follow a write at once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server import clock
from server.domain.hazards import OPEN_STATES, HazardLevel, HazardState
from server.domain.sectors import Sector
from server.extensions import db
from server.models import Enterprise, Hazard, HazardSource, Inspection, User
from server.services import oversight, trends
from server.services.hazards import record_hazard
from server.services.oversight import lists
from server.services.oversight.stamped import StampedCache
from server.services.scope import visible_enterprise_ids
from tests.integration.test_figures_audit import _day_start, _in_scope

SCOPES = ("xx_sup", "ll_city", "admin")


def _recount(username: str, today: date, window: oversight.Window | None) -> oversight.HazardFigures:
    """The hazard figures by the rules as written: in scope, not deleted, not a finding of a draft inspection;
    within the window's bureau days when there is one (the others counted apart as before or after)."""
    user = db.session.scalar(sa.select(User).where(User.username == username))
    assert user is not None
    scope = (
        {e.id for e in db.session.scalars(sa.select(Enterprise)) if e.deleted_at is None}
        if user.region is None
        else {e.id for e in _in_scope(username)}
    )
    drafts = {i.id for i in db.session.scalars(sa.select(Inspection)) if i.status.value == "draft"}
    hazards = [
        h for h in db.session.scalars(sa.select(Hazard))
        if h.enterprise_id in scope and h.deleted_at is None and h.inspection_id not in drafts
    ]  # fmt: skip
    inside, before, after = hazards, 0, 0
    if window is not None:
        start, end = _day_start(window.starts_on), _day_start(window.ends_on + timedelta(days=1))
        before = sum(1 for h in hazards if h.found_at < start)
        after = sum(1 for h in hazards if h.found_at >= end)
        inside = [h for h in hazards if start <= h.found_at < end]
    by_level_state = Counter((HazardLevel(h.level), HazardState(h.state)) for h in inside)
    overdue = sum(
        1 for h in inside
        if h.state in OPEN_STATES and h.state != HazardState.reported and h.deadline is not None and h.deadline < today
    )  # fmt: skip
    listed = sum(1 for h in inside if h.listed)
    stop = sum(1 for h in inside if h.stop_production and h.state in OPEN_STATES)
    return oversight.HazardFigures(dict(by_level_state), overdue, listed, stop, window, before, after)


@pytest.mark.parametrize("username", SCOPES)
@pytest.mark.parametrize("windowed", [True, False])
def test_the_hazard_counts_equal_a_recount_in_every_scope(app: Flask, username: str, windowed: bool) -> None:
    with app.app_context():
        zone = clock.zone()
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        campaign = oversight.campaign_for(db.session, user)
        window = oversight.campaign_window(campaign, zone) if windowed else None
        assert window is not None or not windowed
        # A day late enough that some deadlines have passed, and the window's own last day.
        for today in (clock.today(zone), window.ends_on if window else date(2025, 7, 1)):
            figures = oversight.hazard_figures(db.session, user, today, window)
            assert figures == _recount(username, today, window)
            assert figures.total() > 0


def test_the_dashboard_counts_follow_a_new_hazard_at_once(app: Flask) -> None:
    """The counts are kept between views; a hazard written meanwhile is in the next view's counts."""
    with app.app_context():
        zone = clock.zone()
        today = clock.today(zone)
        user = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        assert user is not None
        cache, kept = oversight.ClearanceCache(), StampedCache()
        first = oversight.dashboard(db.session, user, today, zone, cache, kept)
        assert (
            oversight.dashboard(db.session, user, today, zone, cache, kept).hazards is first.hazards
        )  # kept
        assert (
            first.hazards == oversight.dashboard(db.session, user, today, zone).hazards
        )  # as if counted anew
        campaign = first.campaign
        assert campaign is not None
        enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == "兴县晋兴特钢有限公司"))
        assert enterprise is not None
        day = max(p.ends_on for p in campaign.phases) - timedelta(days=3)
        record_hazard(
            db.session, enterprise=enterprise, description="新发现：除尘器泄爆口朝向人员密集区域",
            level=HazardLevel.major, found_at=datetime.combine(day, time(4), tzinfo=UTC), deadline=None,
            source=HazardSource.inspection,
        )  # fmt: skip
        db.session.commit()
        again = oversight.dashboard(db.session, user, today, zone, cache, kept)
        assert again.hazards.total(HazardLevel.major) == first.hazards.total(HazardLevel.major) + 1
        assert again.hazards == oversight.dashboard(db.session, user, today, zone).hazards
        assert [(c.phase.id, c.inspected, c.in_scope) for c in again.coverage] == [
            (c.phase.id, c.inspected, c.in_scope) for c in first.coverage
        ]


@pytest.mark.parametrize("username", SCOPES)
def test_the_hazard_list_keeps_its_order_and_count_in_every_scope(
    app: Flask, username: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger's order (nearest deadline first, those without one last, then the newest found) and its
    count, from a plain sort of the rows in scope, page after page; also with a filter on the enterprise."""
    monkeypatch.setattr(lists, "PAGE_SIZE", 4)  # the demo has a few dozen hazards: several pages
    with app.app_context():
        zone = clock.zone()
        today = clock.today(zone)
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        scope = (
            {e.id: e for e in db.session.scalars(sa.select(Enterprise)) if e.deleted_at is None}
            if user.region is None
            else {e.id: e for e in _in_scope(username)}
        )
        hazards = [
            h
            for h in db.session.scalars(sa.select(Hazard))
            if h.enterprise_id in scope and h.deleted_at is None
        ]
        hazards.sort(key=lambda h: (h.deadline is None, h.deadline or today, -h.found_at.timestamp(), h.id))
        steel = [h for h in hazards if scope[h.enterprise_id].sector_steel]
        for filters, expected in (
            (oversight.HazardFilters(), hazards),
            (oversight.HazardFilters(sector=Sector.steel), steel),
        ):
            listed: list[tuple[Any, str]] = []
            page = oversight.hazard_list(db.session, user, filters, today, zone, 1)
            for number in range(1, page.pages + 1):
                page = oversight.hazard_list(db.session, user, filters, today, zone, number)
                assert page.total == len(expected)
                listed += [(h.id, name) for h, name in page.rows]
            assert listed == [(h.id, scope[h.enterprise_id].name) for h in expected]
            assert len(listed) > 4 or filters.sector is not None


def _coverage_weeks_in_python(user: User, campaign: Any, today: date, zone: Any) -> list[trends.CoverageWeek]:
    """The weekly coverage as it was counted before it moved into SQL: every counting inspection loaded, each
    enterprise's first in the phase kept, then counted against each week's end."""
    phases = [p for p in campaign.phases if p.starts_on <= today]
    in_scope = len(db.session.scalars(visible_enterprise_ids(db.session, user)).all())
    rows = db.session.execute(
        sa.select(Inspection.enterprise_id, Inspection.finished_at).where(
            Inspection.id.in_(oversight.counting_inspections(db.session, user))
        )
    ).all()
    out = []
    for phase in phases:
        lo, hi = clock.day_start(phase.starts_on, zone), clock.day_end(phase.ends_on, zone)
        first: dict[Any, datetime] = {}
        for enterprise_id, finished in rows:
            if (
                finished is not None
                and lo <= finished < hi
                and (enterprise_id not in first or finished < first[enterprise_id])
            ):
                first[enterprise_id] = finished
        shown = [w for w in trends.weeks(phase.starts_on, phase.ends_on) if w.starts_on <= today]
        for week in shown:
            until = hi if week is shown[-1] else clock.day_end(week.ends_on, zone)
            covered = sum(1 for finished in first.values() if finished < until)
            out.append(trends.CoverageWeek(phase.code, phase.name, week, covered, in_scope))
    return out


@pytest.mark.parametrize("username", SCOPES)
def test_the_weekly_coverage_counted_in_sql_equals_the_python_rule_in_every_scope(
    app: Flask, username: str
) -> None:
    with app.app_context():
        zone = clock.zone()
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        campaign = oversight.campaign_for(db.session, user)
        assert campaign is not None
        phases = list(campaign.phases)
        # Today before, within and after each phase: the first week only, weeks cut at today, whole phases.
        days = {clock.today(zone)} | {
            d for p in phases for d in (p.starts_on, p.starts_on + timedelta(days=9), p.ends_on)
        }
        seen = 0
        for today in sorted(days):
            weekly = trends.coverage_by_week(db.session, user, campaign, today, zone)
            assert weekly == _coverage_weeks_in_python(user, campaign, today, zone)
            seen += sum(w.inspected for w in weekly)
        assert seen > 0

"""The monthly report's speed-ups change no figure: the cached figures are those counted afresh and are counted
again after any write; 清零 verdicts shared across enterprises and moments are those decided one by one; the
event replay's statuses are each hazard's own replay; on the demo county and on a generated one."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from bench.web import fill_county
from server.domain import hazards as rules
from server.extensions import db
from server.models import Enterprise, Hazard, HazardEvent, User
from server.models.base import utcnow
from server.services import oversight, progress_report
from server.services.progress_report import build as building
from server.services.progress_report.as_of import counting_at, linked, load_visits
from server.services.progress_report.clearance import Verdicts, decide, load_enterprises
from server.services.progress_report.phases import phase_moments

CHINA = ZoneInfo("Asia/Shanghai")
#: The generated county's day (bench/web.py puts its campaign around it).
FILLED_ON = date(2026, 11, 29)


def _user(username: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    assert user is not None
    return user


def _figures(report: progress_report.ProgressReport) -> Any:
    """Everything a report counts (its rows, total, majors and phases), comparable."""
    return (
        [(r.unit, vars(r)) for r in [*report.rows, report.total]],
        report.majors,
        report.phases,
        report.before_campaign,
        report.after_campaign,
    )


@pytest.fixture(params=["demo", "generated"])
def county(request: pytest.FixtureRequest, app: Flask) -> str:
    """The demo county alone, or with a generated county's campaign (bench/web.py at 1 % scale) on top."""
    if request.param == "generated":
        with app.app_context():
            fill_county(db.session, 0.01, seed=11, today=FILLED_ON)
            db.session.commit()
            db.session.remove()
    return str(request.param)


def test_a_repeated_report_is_counted_once_until_something_is_written(
    app: Flask, county: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[int] = []
    count = building._count

    def spy(*args: Any) -> Any:
        counted.append(1)
        return count(*args)

    monkeypatch.setattr(building, "_count", spy)
    with app.app_context():
        cache = progress_report.ReportCache()
        for username in ("ll_city", "xx_sup"):
            counted.clear()
            user = _user(username)
            for period in ("final", FILLED_ON.replace(day=1)):
                fresh = progress_report.build_report(db.session, user, period, zone=CHINA)
                first = progress_report.build_report(db.session, user, period, zone=CHINA, cache=cache)
                again = progress_report.build_report(db.session, user, period, zone=CHINA, cache=cache)
                assert _figures(first) == _figures(fresh) == _figures(again), (county, username, period)
                assert again.rows is first.rows
            assert len(counted) == 4  # twice uncached, once per period cached
        # Any write of a synced row moves the change counter: the next view counts again and shows it.
        user = _user("ll_city")
        before = progress_report.build_report(db.session, user, "final", zone=CHINA, cache=cache)
        enterprise = db.session.scalars(
            sa.select(Enterprise).where(Enterprise.deleted_at.is_(None)).order_by(Enterprise.name)
        ).first()
        assert enterprise is not None
        enterprise.deleted_at = utcnow() - timedelta(days=800)
        db.session.commit()
        after = progress_report.build_report(db.session, user, "final", zone=CHINA, cache=cache)
        assert after.total.enterprises_in_scope == before.total.enterprises_in_scope - 1
        assert _figures(after) == _figures(
            progress_report.build_report(db.session, user, "final", zone=CHINA)
        )


def test_the_workbook_is_drawn_once_per_heading_and_audit_head(app: Flask) -> None:
    from server.services.progress_report.xlsx import report_xlsx

    with app.app_context():
        cache = progress_report.ReportCache()
        user = _user("xx_sup")
        report = progress_report.build_report(db.session, user, "final", zone=CHINA, cache=cache)
        drawn = report_xlsx(report, audit_head="head 1")
        again = progress_report.build_report(db.session, user, "final", zone=CHINA, cache=cache)
        assert report_xlsx(again, audit_head="head 1") is drawn
        assert report_xlsx(again, audit_head="head 2") is not drawn


def test_shared_verdicts_and_replayed_statuses_equal_those_made_one_by_one(app: Flask, county: str) -> None:
    with app.app_context():
        for username in ("ll_city", "xx_sup"):
            user = _user(username)
            campaign = oversight.campaign_for(db.session, user)
            cutoff = progress_report.report_cutoff("final", CHINA, FILLED_ON.year)
            known = cutoff.end
            scope = progress_report.report_scope(db.session, user)
            ids = progress_report.enterprises_in_scope(scope, known)
            window = oversight.campaign_window(campaign, CHINA)
            visits = load_visits(db.session, ids, known, window)
            moments = phase_moments(campaign, cutoff, CHINA, counting_at(visits, known))
            points = [known, *(m for *_, m in moments if m is not None)]
            assert len(points) > 2, "the test needs phases that ended before the cut-off"
            hazards = progress_report.load_hazards(db.session, ids, known, window)
            found = progress_report.statuses_as_of(db.session, hazards, ids, points, known)
            _check_replay(found, known)
            enterprises = load_enterprises(db.session, ids)
            verdicts = Verdicts(db.session, enterprises, visits, found)
            verdicts.prefetch(points)
            cleared = 0
            for moment in points:
                day = (moment - timedelta(seconds=1)).astimezone(CHINA).date()
                shared = verdicts.at(moment, day)
                alone = decide(db.session, enterprises, verdicts.latest(moment), verdicts.answers,
                               linked(found[moment].values()), day)  # fmt: skip
                assert shared == alone, (county, username, moment)
                cleared += sum(v.verdict.cleared for v in shared.values())
            assert cleared > 0


def _check_replay(found: dict[datetime, dict[Any, Any]], known: datetime) -> None:
    """Each hazard's status at each moment is the replay of its own events dated before the moment."""
    events: dict[str, list[HazardEvent]] = {}
    for event in db.session.scalars(sa.select(HazardEvent).where(HazardEvent.received_at < known)):
        events.setdefault(event.hazard_id.hex, []).append(event)
    levels = {h.id.hex: h.level for h in db.session.scalars(sa.select(Hazard))}
    checked = 0
    for moment, statuses in found.items():
        for hazard_id, as_of in statuses.items():
            mine = sorted(
                (e for e in events[str(hazard_id).replace("-", "")] if e.at < moment),
                key=lambda e: (e.at, e.received_at, e.id),
            )
            replayed = rules.replay(
                [rules.HazardEvent(e.kind, e.at, e.deadline, e.comment or "") for e in mine],
                levels[str(hazard_id).replace("-", "")],
            )
            assert as_of.status == replayed, (moment, hazard_id)
            checked += 1
    assert checked > 0

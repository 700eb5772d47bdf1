"""The dashboard's trends: coverage week by week within each phase, hazards found and rectified per week, and
清零 by sector at the end of each phase.

Each figure is counted by the same rule as the table it sits beside, never anew:
- coverage uses oversight.counting_inspections and the phases' days as oversight.coverage_by_phase does, so a
  phase's last week equals its row in the coverage table;
- hazards use oversight.counted_hazards (the dashboard's hazard table): found per week of found_at, rectified
  (accepted or closed now) per week of the acceptance, so the weeks add up to the table's totals;
- 清零 per phase is the monthly report's rule (progress_report: the state at the end of the phase's last day,
  or of today for the phase running now), split by sector flag as the dashboard's 清零 table splits it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa

from server import clock
from server.domain.hazards import HazardEventKind, HazardState
from server.domain.sectors import Sector
from server.models import Campaign, Hazard, HazardEvent, Inspection, User
from server.services import DbSession
from server.services import progress_report as report
from server.services.oversight import campaign_window, counted_hazards, counting_inspections
from server.services.scope import visible_enterprise_ids

#: States that count as rectified (the monthly report's rule: accepted or closed).
RECTIFIED = (HazardState.accepted, HazardState.closed)


@dataclass(frozen=True)
class Week:
    """Seven days (fewer at the end of a phase or campaign), both ends included."""

    starts_on: date
    ends_on: date

    @property
    def label(self) -> str:
        """The week's first day as the charts' axes write it, e.g. 07-06."""
        return f"{self.starts_on:%m-%d}"


def weeks(first: date, last: date) -> list[Week]:
    """Consecutive weeks from ``first`` to ``last`` (the last one cut short at ``last``)."""
    out: list[Week] = []
    day = first
    while day <= last:
        out.append(Week(day, min(day + timedelta(days=6), last)))
        day += timedelta(days=7)
    return out


@dataclass(frozen=True)
class CoverageWeek:
    """Enterprises covered in a phase by the end of one of its weeks (cumulative within the phase)."""

    phase_code: str
    phase_name: str
    week: Week
    inspected: int
    in_scope: int

    @property
    def percent(self) -> float:
        """Coverage as a percentage (0 when nothing is in scope)."""
        return 100.0 * self.inspected / self.in_scope if self.in_scope else 0.0


def coverage_by_week(
    session: DbSession, user: User, campaign: Campaign | None, today: date, tz: tzinfo
) -> list[CoverageWeek]:
    """Each begun phase's coverage at the end of each of its weeks up to today (the last one: the whole phase)."""
    phases = [p for p in (campaign.phases if campaign is not None else []) if p.starts_on <= today]
    if not phases:
        return []
    in_scope = (
        session.scalar(
            sa.select(sa.func.count()).select_from(visible_enterprise_ids(session, user).subquery())
        )
        or 0
    )
    start, end = clock.day_start(phases[0].starts_on, tz), clock.day_end(phases[-1].ends_on, tz)
    rows = session.execute(
        sa.select(Inspection.enterprise_id, Inspection.finished_at).where(
            Inspection.id.in_(counting_inspections(session, user)),
            Inspection.finished_at >= start, Inspection.finished_at < end,
        )
    ).all()  # fmt: skip
    out: list[CoverageWeek] = []
    for phase in phases:
        lo, hi = clock.day_start(phase.starts_on, tz), clock.day_end(phase.ends_on, tz)
        first: dict[Any, datetime] = {}
        for enterprise_id, finished in rows:
            if (
                finished is not None
                and lo <= finished < hi
                and (enterprise_id not in first or finished < first[enterprise_id])
            ):
                first[enterprise_id] = finished
        spans = weeks(phase.starts_on, phase.ends_on)
        shown = [w for w in spans if w.starts_on <= today]
        for week in shown:
            # The phase's last week shown counts every inspection of the phase, as the coverage table does.
            until = hi if week is shown[-1] else clock.day_end(week.ends_on, tz)
            covered = sum(1 for finished in first.values() if finished < until)
            out.append(CoverageWeek(phase.code, phase.name, week, covered, in_scope))
    return out


@dataclass(frozen=True)
class HazardWeek:
    """Hazards found in one week, and those rectified (accepted or closed) in it."""

    week: Week
    found: int
    rectified: int


def hazards_by_week(
    session: DbSession, user: User, campaign: Campaign | None, today: date, tz: tzinfo
) -> list[HazardWeek]:
    """The dashboard's hazards (found within the campaign's days) by week found and week rectified; a date
    outside the weeks shown (a device clock running ahead, a record without its acceptance) falls in the
    nearest week, so the weeks add up to the dashboard's table."""
    window = campaign_window(campaign, tz)
    if window is None:
        return []
    spans = weeks(window.starts_on, max(window.starts_on, min(today, window.ends_on)))
    counted = counted_hazards(session, user, window)
    found = [_local_day(at, tz) for (at,) in session.execute(sa.select(Hazard.found_at).where(counted))]
    accepted = sa.func.max(sa.case((HazardEvent.kind == HazardEventKind.accepted, HazardEvent.at)))
    closed = sa.func.max(sa.case((HazardEvent.kind == HazardEventKind.closed, HazardEvent.at)))
    rectified = [
        _local_day(accepted_at or closed_at or found_at, tz)
        for found_at, accepted_at, closed_at in session.execute(
            sa.select(Hazard.found_at, accepted, closed)
            .outerjoin(HazardEvent, HazardEvent.hazard_id == Hazard.id)
            .where(counted, Hazard.state.in_([s.value for s in RECTIFIED]))
            .group_by(Hazard.id, Hazard.found_at)
        )
    ]
    found_per = _per_week(found, spans)
    rectified_per = _per_week(rectified, spans)
    return [HazardWeek(w, found_per[i], rectified_per[i]) for i, w in enumerate(spans)]


def _local_day(at: datetime, tz: tzinfo) -> date:
    """The bureau's day of an instant (naive values are UTC, as the database keeps them)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(tz).date()


def _per_week(days: Iterable[date], spans: list[Week]) -> list[int]:
    """How many of ``days`` fall in each week, a day outside them counted in the nearest."""
    counts = [0] * len(spans)
    for day in days:
        index = next((i for i, w in enumerate(spans) if day <= w.ends_on), len(spans) - 1)
        counts[index] += 1
    return counts


@dataclass(frozen=True)
class PhaseClearance:
    """清零 at the end of one phase (or today, for the phase running now): per sector flag, then all."""

    phase_code: str
    phase_name: str
    as_of: date
    #: (sector or None for all enterprises, enterprises, cleared), in the dashboard table's order.
    rows: list[tuple[Sector | None, int, int]]

    def cleared(self, sector: Sector | None) -> int:
        """Enterprises of ``sector`` (None: all) cleared at the phase's end."""
        return next((c for s, _, c in self.rows if s == sector), 0)


def clearance_by_phase(
    session: DbSession, user: User, campaign: Campaign | None, today: date, tz: tzinfo
) -> list[PhaseClearance]:
    """清零 by sector at the end of each begun phase, by the monthly report's rule as of the end of today."""
    phases = [p for p in (campaign.phases if campaign is not None else []) if p.starts_on <= today]
    if not phases:
        return []
    known = report.local_end_of(today, tz)
    ids = visible_enterprise_ids(session, user)
    enterprises = report.load_enterprises(session, ids)
    window = campaign_window(campaign, tz)
    visits = report.load_visits(session, ids, known, window)
    moments = {
        p.code: (min(p.ends_on, today), report.local_end_of(min(p.ends_on, today), tz)) for p in phases
    }
    hazards = report.load_hazards(session, ids, known, window)
    found = report.statuses_as_of(session, hazards, ids, [m for _, m in moments.values()], known)
    verdicts = report._Verdicts(session, enterprises, visits, found)  # the report's own 清零 rule
    verdicts.prefetch([m for _, m in moments.values()])
    sectors_of = {e.id: e.sectors for e in enterprises}
    out: list[PhaseClearance] = []
    for phase in phases:
        day, moment = moments[phase.code]
        totals: dict[Sector | None, list[int]] = defaultdict(lambda: [0, 0])
        decided = verdicts.at(moment, day)
        for enterprise_id, sectors in sectors_of.items():
            verdict = decided.get(enterprise_id)
            cleared = int(verdict is not None and verdict.verdict.cleared)
            for sector in (*sectors, None):
                totals[sector][0] += 1
                totals[sector][1] += cleared
        rows = [(s, *totals[s]) for s in (*Sector, None) if totals[s][0] or s is None]
        out.append(PhaseClearance(phase.code, phase.name, day, [(s, n, c) for s, n, c in rows]))
    return out


@dataclass(frozen=True)
class Trends:
    """Everything the dashboard's charts show."""

    coverage: list[CoverageWeek]
    hazards: list[HazardWeek]
    clearance: list[PhaseClearance]


def trends(session: DbSession, user: User, campaign: Campaign | None, today: date, tz: tzinfo) -> Trends:
    """The dashboard's three trends for ``user``'s scope on ``today``."""
    return Trends(
        coverage=coverage_by_week(session, user, campaign, today, tz),
        hazards=hazards_by_week(session, user, campaign, today, tz),
        clearance=clearance_by_phase(session, user, campaign, today, tz),
    )

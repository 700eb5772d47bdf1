"""The dashboard's trends: coverage week by week within each phase, hazards found and rectified per week, and
清零 by sector at the end of each phase.

Each figure is counted by the same rule as the table it sits beside, never anew:
- coverage uses oversight.counting_conditions (counting_inspections' rule) and the phases' days as
  oversight.coverage_by_phase does, so a phase's last week equals its row in the coverage table;
- hazards use oversight.counted_hazards (the dashboard's hazard table): found per week of found_at, rectified
  (accepted or closed now) per week of the acceptance, so the weeks add up to the table's totals;
- 清零 per phase takes the dashboard's own verdicts (oversight.scope_clearances, cached): each enterprise cleared
  now counts from the phase in which the inspection that cleared it was finished, split by sector flag as the
  dashboard's 清零 table splits it, so the latest phase equals that table. (The monthly report's per-phase 清零,
  the state as it stood at each phase's end, replays every hazard's log: seconds at county scale, too slow for
  the dashboard; bench/dashboard_trends.py.)
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from server import clock
from server.domain.hazards import HazardEventKind, HazardState
from server.domain.roles import Role
from server.domain.sectors import Sector
from server.models import Campaign, Hazard, HazardEvent, Inspection, User
from server.services import DbSession
from server.services.oversight import (
    EnterpriseClearance,
    campaign_window,
    counted_hazards,
    counting_conditions,
    recorded_for_good,
    recorded_for_good_by_row,
)
from server.services.oversight.contributions import ContributionCache, scope_tally
from server.services.oversight.coverage import enterprises_tally
from server.services.oversight.stamped import StampedCache, change_stamp
from server.services.scope import visible_enterprise_ids, visible_region_ids

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


def bucket(column: Any, ends: list[datetime]) -> Any:
    """SQL: the index of the first of the ascending ``ends`` that ``column`` falls before (``len(ends)`` when
    none, or when ``column`` is NULL), as a balanced tree of comparisons: a province's 40,000 hazards each took
    up to 30 comparisons of one flat CASE per week, and ~40 ms with it."""

    def within(lo: int, hi: int) -> Any:
        if lo == hi:
            return sa.literal(lo)
        mid = (lo + hi) // 2
        return sa.case((column < ends[mid], within(lo, mid)), else_=within(mid + 1, hi))

    return within(0, len(ends))


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


def _phase_finished_in(phases: Any, tz: tzinfo) -> Any:
    """SQL: the index of the phase an inspection was finished in (its days in the bureau's zone ``tz``), or NULL."""
    return sa.case(
        *(
            (sa.and_(Inspection.finished_at >= clock.day_start(p.starts_on, tz),
                     Inspection.finished_at < clock.day_end(p.ends_on, tz)), index)
            for index, p in enumerate(phases)
        ),
        else_=None,
    )  # fmt: skip


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
    # Each enterprise's first counting inspection in each phase, counted in SQL by the week it falls in (the
    # last week shown takes the rest of the phase, as the coverage table counts every inspection of it): one
    # pass over the inspections for every phase (phases do not overlap, as oversight.coverage_counts relies on).
    shown = [[w for w in weeks(p.starts_on, p.ends_on) if w.starts_on <= today] for p in phases]
    phase = _phase_finished_in(phases, tz)
    first = (
        sa.select(phase.label("phase"), sa.func.min(Inspection.finished_at).label("at"))
        .where(*counting_conditions(session, user), phase.is_not(None))
        .group_by(phase, Inspection.enterprise_id)
        .subquery()
    )
    # Weeks are numbered across the phases in order; a phase's last week shown takes the rest of the phase.
    before_end: list[tuple[sa.ColumnElement[bool], int]] = []
    last_week: list[tuple[sa.ColumnElement[bool], int]] = []
    code = 0
    for index, spans in enumerate(shown):
        for span in spans[:-1]:
            before_end.append(
                (sa.and_(first.c.phase == index, first.c.at < clock.day_end(span.ends_on, tz)), code)
            )
            code += 1
        last_week.append((first.c.phase == index, code))
        code += 1
    week = sa.case(*before_end, *last_week).label("week")
    by_code: dict[int, int] = dict(
        session.execute(sa.select(week, sa.func.count()).select_from(first).group_by(week)).all()
    )
    out: list[CoverageWeek] = []
    code = 0
    for phase_row, spans in zip(phases, shown, strict=True):
        covered = 0
        for span in spans:
            covered += by_code.get(code, 0)
            code += 1
            out.append(CoverageWeek(phase_row.code, phase_row.name, span, covered, in_scope))
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
    nearest week, so the weeks add up to the dashboard's table. Counted in SQL, one row per week."""
    window = campaign_window(campaign, tz)
    if window is None:
        return []
    spans, query = _hazard_weeks_query(campaign, today, tz)
    found: Counter[int] = Counter()
    rectified: Counter[int] = Counter()
    for found_in, done_in, n in session.execute(query.where(counted_hazards(session, user, window))):
        found[found_in] += n
        if done_in is not None:
            rectified[done_in] += n
    return [HazardWeek(w, found.get(i, 0), rectified.get(i, 0)) for i, w in enumerate(spans)]


def _hazard_weeks_query(
    campaign: Campaign | None, today: date, tz: tzinfo, *by: Any, enterprise_ids: Any | None = None
) -> tuple[list[Week], sa.Select[Any]]:
    """The weeks shown, and the count of hazards found within the campaign's days per (``by`` columns, week
    found, week rectified), to be narrowed to the hazards counted (``hazards_by_week``); with
    ``enterprise_ids``, only the events of those enterprises' hazards are read."""
    window = campaign_window(campaign, tz)
    assert window is not None
    spans = weeks(window.starts_on, max(window.starts_on, min(today, window.ends_on)))
    ends = [clock.day_end(w.ends_on, tz) for w in spans[:-1]]

    def week_of(column: Any) -> Any:
        return bucket(column, ends)

    # One pass over the counted hazards joined to the latest acceptance and closing of every hazard (read from
    # ix_hazard_event_kind_hazard_at alone), counted per (week found, week rectified): the week rectified is
    # None for a hazard not accepted or closed now.
    kinds = (HazardEventKind.accepted.value, HazardEventKind.closed.value)
    latest = (
        sa.select(
            HazardEvent.hazard_id,
            sa.func.max(HazardEvent.at).filter(HazardEvent.kind == kinds[0]).label("accepted"),
            sa.func.max(HazardEvent.at).filter(HazardEvent.kind == kinds[1]).label("closed"),
        )
        .where(HazardEvent.kind.in_(kinds))
        .group_by(HazardEvent.hazard_id)
    )
    if enterprise_ids is not None:
        theirs = aliased(Hazard)
        latest = latest.where(
            HazardEvent.hazard_id.in_(sa.select(theirs.id).where(theirs.enterprise_id.in_(enterprise_ids)))
        )
    latest_events = latest.subquery()
    found_week = week_of(Hazard.found_at).label("found_week")
    done_week = sa.case(
        (
            Hazard.state.in_([s.value for s in RECTIFIED]),
            week_of(sa.func.coalesce(latest_events.c.accepted, latest_events.c.closed, Hazard.found_at)),
        ),
        else_=None,
    ).label("done_week")
    query = (
        sa.select(*by, found_week, done_week, sa.func.count())
        .select_from(Hazard)
        .outerjoin(latest_events, latest_events.c.hazard_id == Hazard.id)
        .group_by(*by, found_week, done_week)
    )
    return spans, query


def hazard_week_tallies(session: DbSession, campaign: Campaign | None, today: date, tz: tzinfo) -> Any:
    """Counts each enterprise's part of ``hazards_by_week`` (an oversight.contributions.Counting):
    ``("found", week)`` and ``("rectified", week)`` by the weeks' numbers."""
    window = campaign_window(campaign, tz)

    def count(ids: Any | None) -> dict[Any, dict[Any, int]]:
        if window is None:
            return {}
        _, query = _hazard_weeks_query(campaign, today, tz, Hazard.enterprise_id, enterprise_ids=ids)
        for_good = recorded_for_good_by_row() if isinstance(ids, list) else recorded_for_good()
        query = query.where(Hazard.deleted_at.is_(None), for_good, window.inside(Hazard.found_at))
        if ids is not None:
            query = query.where(Hazard.enterprise_id.in_(ids))
        tallies: dict[Any, dict[Any, int]] = {}
        for enterprise_id, found_in, done_in, n in session.execute(query):
            tally = tallies.setdefault(enterprise_id, {})
            tally["found", found_in] = tally.get(("found", found_in), 0) + n
            if done_in is not None:
                tally["rectified", done_in] = tally.get(("rectified", done_in), 0) + n
        return tallies

    return count


def hazard_weeks_of_tally(
    campaign: Campaign | None, today: date, tz: tzinfo, tally: dict[Any, int]
) -> list[HazardWeek]:
    """The ``hazards_by_week`` of a scope's summed ``hazard_week_tallies``."""
    window = campaign_window(campaign, tz)
    if window is None:
        return []
    spans = weeks(window.starts_on, max(window.starts_on, min(today, window.ends_on)))
    return [
        HazardWeek(w, int(tally.get(("found", i), 0)), int(tally.get(("rectified", i), 0)))
        for i, w in enumerate(spans)
    ]


def coverage_week_tallies(session: DbSession, campaign: Campaign | None, today: date, tz: tzinfo) -> Any:
    """Counts each enterprise's part of ``coverage_by_week`` (an oversight.contributions.Counting):
    ``"enterprises"`` 1 for every enterprise not deleted, and ``("week", number)`` 1 for the week (numbered
    across the begun phases) its first counting inspection of each phase falls in, as coverage_by_week
    places it (the last week shown takes the rest of the phase)."""
    phases = [p for p in (campaign.phases if campaign is not None else []) if p.starts_on <= today]
    shown = [[w for w in weeks(p.starts_on, p.ends_on) if w.starts_on <= today] for p in phases]
    offsets = [sum(len(spans) for spans in shown[:index]) for index in range(len(shown))]
    ends = [[clock.day_end(w.ends_on, tz) for w in spans[:-1]] for spans in shown]

    def count(ids: Any | None) -> dict[Any, dict[Any, int]]:
        tallies: dict[Any, dict[Any, int]] = dict(enterprises_tally(session, ids))
        if not phases:
            return tallies
        phase = _phase_finished_in(phases, tz)
        query = (
            sa.select(Inspection.enterprise_id, phase.label("phase"), sa.func.min(Inspection.finished_at))
            .where(*counting_conditions(session, None), phase.is_not(None))
            .group_by(phase, Inspection.enterprise_id)
        )
        if ids is not None:
            query = query.where(Inspection.enterprise_id.in_(ids))
        for enterprise_id, index, at in session.execute(query):
            if enterprise_id in tallies:
                tallies[enterprise_id]["week", offsets[index] + bisect_right(ends[index], at)] = 1
        return tallies

    return count


def coverage_weeks_of_tally(
    campaign: Campaign | None, today: date, tally: dict[Any, int]
) -> list[CoverageWeek]:
    """The ``coverage_by_week`` of a scope's summed ``coverage_week_tallies``."""
    phases = [p for p in (campaign.phases if campaign is not None else []) if p.starts_on <= today]
    in_scope = int(tally.get("enterprises", 0))
    out: list[CoverageWeek] = []
    code = 0
    for phase_row in phases:
        covered = 0
        for span in (w for w in weeks(phase_row.starts_on, phase_row.ends_on) if w.starts_on <= today):
            covered += int(tally.get(("week", code), 0))
            code += 1
            out.append(CoverageWeek(phase_row.code, phase_row.name, span, covered, in_scope))
    return out


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
    campaign: Campaign | None, today: date, tz: tzinfo, verdicts: Iterable[EnterpriseClearance]
) -> list[PhaseClearance]:
    """清零 by sector at the end of each begun phase, from the dashboard's own verdicts (``verdicts``, as
    oversight.scope_clearances gives them): an enterprise cleared now counts from the phase in which the
    inspection that cleared it was finished, so the running phase's figures are the dashboard's 清零 table."""
    phases = [p for p in (campaign.phases if campaign is not None else []) if p.starts_on <= today]
    if not phases:
        return []
    # Per set of sector flags (a handful), how many enterprises and when each cleared one was decided, sorted:
    # a phase's cleared count is then a bisection instead of a pass over a province's 10,000 verdicts.
    enterprises: Counter[frozenset[Sector]] = Counter()
    decided: dict[frozenset[Sector], list[datetime]] = defaultdict(list)
    for v in verdicts:
        enterprises[v.sectors] += 1
        if v.verdict.cleared and v.decided_by is not None:
            decided[v.sectors].append(v.decided_by)
    for moments in decided.values():
        moments.sort()
    out: list[PhaseClearance] = []
    for index, phase in enumerate(phases):
        day = min(phase.ends_on, today)
        # The last phase shown takes every cleared enterprise (an inspection finished after it: a clock ahead).
        until = None if index == len(phases) - 1 else clock.day_end(phase.ends_on, tz)
        totals: dict[Sector | None, list[int]] = defaultdict(lambda: [0, 0])
        for sectors, n in enterprises.items():
            moments = decided.get(sectors, [])
            cleared = len(moments) if until is None else bisect_left(moments, until)
            for sector in (*sectors, None):
                totals[sector][0] += n
                totals[sector][1] += cleared
        rows = [(s, totals[s][0], totals[s][1]) for s in (*Sector, None) if totals[s][0] or s is None]
        out.append(PhaseClearance(phase.code, phase.name, day, rows))
    return out


class TrendsCache(StampedCache):
    """The weekly trends of each viewer and day, stamped with the change counter they are true at (as
    oversight.ClearanceCache): the dashboard is opened far more often than anything is written, and counting
    a county's weeks costs a few hundred milliseconds (bench/dashboard_trends.py). Any write moves the
    counter, and the next view counts again."""


@dataclass(frozen=True)
class Trends:
    """Everything the dashboard's charts show."""

    coverage: list[CoverageWeek]
    hazards: list[HazardWeek]
    clearance: list[PhaseClearance]


def trends(
    session: DbSession,
    user: User,
    campaign: Campaign | None,
    today: date,
    tz: tzinfo,
    verdicts: Callable[[], Iterable[EnterpriseClearance]],
    cache: TrendsCache | None = None,
    contributions: ContributionCache | None = None,
    all_verdicts: Callable[[], dict[Any, EnterpriseClearance]] | None = None,
) -> Trends:
    """The dashboard's three trends for ``user``'s scope on ``today`` (``verdicts`` gives the scope's 清零);
    with ``cache``, the weeks and the 清零 by phase are counted again only after something was written."""
    # Read before the data: rows committed meanwhile can only make the figures newer than the stamp.
    stamp = change_stamp(session)
    phases = campaign.phases if campaign is not None else []
    regions = visible_region_ids(session, user)
    # Everything the figures depend on besides the synced rows, whose writes move the stamp.
    key = (
        user.id, today, campaign.id if campaign is not None else None, str(tz),
        tuple((p.id, p.code, p.name, p.starts_on, p.ends_on) for p in phases),
        None if regions is None else frozenset(regions),
    )  # fmt: skip
    counted = cache.get(key, stamp) if cache is not None else None
    if counted is None:
        counted = Trends(
            coverage=_coverage_weeks(session, user, stamp, campaign, today, tz, contributions),
            hazards=_hazard_weeks(session, user, stamp, campaign, today, tz, contributions),
            clearance=_clearance_phases(
                session, user, stamp, campaign, today, tz, verdicts, all_verdicts, contributions
            ),
        )
        if cache is not None:
            cache.put(key, stamp, counted)
    return counted


def _phases_key(campaign: Campaign | None) -> tuple[Any, ...]:
    phases = campaign.phases if campaign is not None else []
    return tuple((p.id, p.starts_on, p.ends_on) for p in phases)


def _coverage_weeks(
    session: DbSession,
    user: User,
    stamp: int,
    campaign: Campaign | None,
    today: date,
    tz: tzinfo,
    contributions: ContributionCache | None,
) -> list[CoverageWeek]:
    """``coverage_by_week``, from the enterprises' kept contributions when ``contributions`` is given."""
    if contributions is None:
        return coverage_by_week(session, user, campaign, today, tz)
    key = ("coverage weeks", _phases_key(campaign), today, str(tz))
    count = coverage_week_tallies(session, campaign, today, tz)
    return coverage_weeks_of_tally(
        campaign, today, scope_tally(session, user, stamp, key, count, contributions)
    )


def _hazard_weeks(
    session: DbSession,
    user: User,
    stamp: int,
    campaign: Campaign | None,
    today: date,
    tz: tzinfo,
    contributions: ContributionCache | None,
) -> list[HazardWeek]:
    """``hazards_by_week``, from the enterprises' kept contributions when ``contributions`` is given."""
    if contributions is None or campaign_window(campaign, tz) is None:
        return hazards_by_week(session, user, campaign, today, tz)
    key = ("hazard weeks", _phases_key(campaign), today, str(tz))
    count = hazard_week_tallies(session, campaign, today, tz)
    return hazard_weeks_of_tally(
        campaign, today, tz, scope_tally(session, user, stamp, key, count, contributions)
    )


def _clearance_phases(
    session: DbSession,
    user: User,
    stamp: int,
    campaign: Campaign | None,
    today: date,
    tz: tzinfo,
    verdicts: Callable[[], Iterable[EnterpriseClearance]],
    all_verdicts: Callable[[], dict[Any, EnterpriseClearance]] | None,
    contributions: ContributionCache | None,
) -> list[PhaseClearance]:
    """``clearance_by_phase`` of the scope, from each enterprise's kept part when ``contributions`` and every
    enterprise's verdicts (``all_verdicts``, oversight.all_clearances) are given: ``("sectors", flags)`` 1, and
    ``("cleared", flags, index)`` 1 for a cleared enterprise, ``index`` the first begun phase it counts in."""
    phases = [p for p in (campaign.phases if campaign is not None else []) if p.starts_on <= today]
    if contributions is None or all_verdicts is None or user.role == Role.enterprise or not phases:
        return clearance_by_phase(campaign, today, tz, verdicts())
    # clearance_by_phase counts a moment in a phase before the last when it is before the phase's end.
    ends = [clock.day_end(p.ends_on, tz) for p in phases[:-1]]
    kept = all_verdicts()

    def count(ids: Any | None) -> dict[Any, dict[Any, int]]:
        tallies: dict[Any, dict[Any, int]] = {}
        for enterprise_id in kept if ids is None else [e for e in ids if e in kept]:
            v = kept[enterprise_id]
            tally: dict[Any, int] = {("sectors", v.sectors): 1}
            if v.verdict.cleared and v.decided_by is not None:
                tally["cleared", v.sectors, bisect_right(ends, v.decided_by)] = 1
            tallies[enterprise_id] = tally
        return tallies

    key = ("clearance phases", _phases_key(campaign), today, str(tz))
    tally = scope_tally(session, user, stamp, key, count, contributions)
    out: list[PhaseClearance] = []
    for index, phase in enumerate(phases):
        totals: dict[Sector | None, list[int]] = defaultdict(lambda: [0, 0])
        for name, n in tally.items():
            if not isinstance(name, tuple) or name[0] != "sectors":
                continue
            sectors = name[1]
            cleared = sum(tally.get(("cleared", sectors, j), 0) for j in range(index + 1))
            for sector in (*sectors, None):
                totals[sector][0] += n
                totals[sector][1] += cleared
        rows = [(s, totals[s][0], totals[s][1]) for s in (*Sector, None) if totals[s][0] or s is None]
        out.append(PhaseClearance(phase.code, phase.name, min(phase.ends_on, today), rows))
    return out

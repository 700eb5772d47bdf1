"""The monthly progress report (进展情况统计表, the notice's attachment due on the 23rd of every month) and the
final summary (due by 15 November), computed AS OF the report's cut-off so that a past report regenerated at
any later time gives the same figures.

Reporting rules (the notice names the figures, not how to count them; decided here):

Cut-off. A monthly report is taken at the end of the 23rd of its month in the bureau's time zone (TIMEZONE,
Asia/Shanghai): whatever happened and reached the server before 00:00 on the 24th counts. The final summary is
taken at the end of 15 November of the campaign's year (the year its last phase ends). All figures are
cumulative from the start of the campaign to the cut-off. Before its cut-off a report is provisional (so
marked) and dated today; afterwards it is dated on the cut-off day.

Two clocks. Every record carries the time it happened (finished_at of an inspection, found_at of a hazard,
``at`` of a hazard event: device clocks) and the time the server had it (submitted_received_at, the event's
received_at, a review's decided_at: server clock). A record counts only when both are before the cut-off.
The server's clock is what makes a filed report reproducible: a tablet that syncs after the 23rd, or a
rectification reported later but dated earlier, changes no past report and shows in the next (cumulative)
one. The device's clock keeps out what is dated after the cut-off (a tablet whose clock runs fast).

Counting inspection: by a regulator (any kind but the enterprise's own 'self'), submitted (sealed) before the
cut-off, not returned by a review decided before it, and not superseded by a correction (corrects_id) that
itself counts. A draft never counts; a returned record is corrected by a new one, which counts instead.

Hazards found: a hazard whose 'found' event is on record before the cut-off, that was not deleted by then and,
when it was recorded in an inspection, whose inspection was submitted by then (a draft's findings may still be
edited or dropped on the tablet). Hazards of a returned inspection count: the visit found them, and they are
followed to closure like any other. Every source counts (the form asks for all hazards found); the report
also splits them by source: regulators (county or city inspections) and the enterprises' own ledgers.

State as of the cut-off: each hazard's event log up to the cut-off (both clocks), in its own order (time, then
receipt, then id), is replayed through the state machine (server.domain.hazards.apply_event, the steps of
replay), which gives the state, the deadline and the listing then. One pass over the scope's events (a county
holds some 60,000) yields every moment a report needs: the cut-off and the ends of the phases. A log the server
held at some moment was valid then, and any prefix of a valid log is valid, so the replay never refuses; if
stored data were ever corrupt, the hazard keeps the state of its last good event. Rectified = accepted or closed
at the cut-off; rectification rate = rectified / found. Overdue at the cut-off = not yet reported fixed (found,
planned or rejected) with a deadline before the cut-off day (the dashboard's rule on that day).

Inspection groups (section 1): a group is a distinct set of inspectors (law-enforcement officers, role
'inspector') who made at least one counting inspection together; experts who came along do not make another
group. People = distinct inspectors; experts = distinct experts (role 'expert'). A participant is the user
account when there is one, else the name and badge number. In the city's report each county's row counts the
teams that inspected that county's enterprises; the total counts each team and person once.

Supervising departments (section 2): inspections by the county (every counting kind but 'city_sampling') and
by the city (kind 'city_sampling'), in 家次 (visits); enterprises covered = distinct enterprises with a counting
inspection; in scope = enterprises of the region not deleted by the cut-off; coverage = covered / in scope;
清零 = enterprises cleared as of the cut-off (server.domain.clearance with the latest counting inspection and
key-item hazard states as of the cut-off).

Enterprises self-inspected (section 3): enterprises with a submitted self-assessment (an inspection of kind
'self') or at least one hazard in their self-inspection ledger (source 'self_ledger') found by the cut-off:
either is the record of a self-inspection. Funds = the sum of funds_yuan of the hazards found.

Per phase: coverage = enterprises with a counting inspection finished within the phase's days (bureau time).
清零 is a state, not a count of events, so a phase's 清零 is that state when the phase closed (its last day), or
at the cut-off for the phase running then: the phase's outcome, which is what its deadline (e.g. county
coverage and 清零 by 31 August) is judged on. It uses what the server had by the report's cut-off: the latest
inspection finished by that day, hazards found and events dated by that day. It is shown only once a
regulator's inspection had been finished by that day ("—" before: nothing can be cleared without one), and not
for phases that had not begun. (The dashboard's coverage per phase counts by UTC days and today's statuses, so
it may differ from the report's by an inspection finished between 00:00 and 08:00 bureau time, or returned
since the cut-off.)

What is not versioned, and so shows as it is now: an enterprise's region and sector flags, a hazard's
descriptive fields (description, measures, responsible person, funds; frozen once its inspection is sealed,
but an enterprise may still edit its own ledger entries), and the registry itself: an enterprise added after
the cut-off counts in scope, because the registry records no date from which an enterprise is under
supervision (created_at is the import time, which for the demo county is after its back-dated activity).

Ids are read as text (``key()``: hex on SQLite, the dashed form on PostgreSQL) and only compared with each other;
they are turned back into UUIDs only to bind an IN list: building some 100,000 uuid.UUID objects per report
would cost a sixth of its time.
"""

from __future__ import annotations

import calendar
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby
from typing import Any, Literal

import sqlalchemy as sa

from server import clock
from server.domain import counting
from server.domain import hazards as rules
from server.domain.applicability import EnterpriseProfile
from server.domain.clearance import (
    Clearance,
    InspectionSummary,
    ItemResultValue,
    LinkedHazard,
    clearance,
)
from server.domain.hazards import HazardEventKind, HazardLevel, HazardState
from server.domain.inspections import InspectionKind, ReviewOutcome
from server.domain.roles import Role
from server.domain.sectors import Sector
from server.models import (
    Campaign,
    CampaignPhase,
    Enterprise,
    Hazard,
    HazardEvent,
    HazardSource,
    Inspection,
    InspectionParticipant,
    ItemResult,
    Region,
    RegionLevel,
    ReviewDecision,
    User,
)
from server.models.enterprise import SECTOR_COLUMNS
from server.services import DbSession
from server.services.oversight import (
    Window,
    _key_items,
    campaign_for,
    campaign_window,
    current_catalogue_id,
    evidence_holds,
    sealed_answers_of,
)
from server.services.scope import visible_region_ids

Period = date | Literal["final"]

#: The day of the month the monthly report is due, and the final summary's day.
REPORT_DAY = 23
FINAL_MONTH, FINAL_DAY = 11, 15

_REGULATOR_SOURCES = (HazardSource.inspection.value, HazardSource.city_sampling.value)
_RESULTS = {result.value: result for result in ItemResultValue}


class PeriodError(ValueError):
    """A report period that cannot be understood; the message is Chinese first, then English."""


# --- the cut-off --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cutoff:
    """When a report is taken: its day (the 23rd, or 15 November) and the instant everything must precede."""

    final: bool
    #: The first day of the report's month (None for the final summary).
    month: date | None
    day: date
    #: 00:00 of the day after ``day`` in the bureau's time zone, as UTC; records must be strictly before it.
    end: datetime

    @property
    def param(self) -> str:
        """The period as the pages' query string names it: ``2026-07`` or ``final``."""
        return "final" if self.month is None else f"{self.month:%Y-%m}"

    @property
    def label(self) -> str:
        """The period in Chinese, e.g. 2026年7月 or 2026年总结."""
        if self.month is None:
            return f"{self.day.year}年总结"
        return f"{self.month.year}年{self.month.month}月"


def local_end_of(day: date, zone: tzinfo) -> datetime:
    """00:00 of the day after ``day`` in ``zone``, as UTC: the end of that day in the bureau's time."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)


def local_start_of(day: date, zone: tzinfo) -> datetime:
    """00:00 of ``day`` in ``zone``, as UTC."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def campaign_year(campaign: Campaign | None, today: date) -> int:
    """The year whose 15 November closes the campaign: the year its last phase ends (else this year)."""
    if campaign is None or not campaign.phases:
        return today.year
    return max(p.ends_on for p in campaign.phases).year


def report_cutoff(period: Period, zone: tzinfo, year: int) -> Cutoff:
    """The cut-off of a monthly report (any day of its month) or, for "final", of the final summary of ``year``."""
    if period == "final":
        day = date(year, FINAL_MONTH, FINAL_DAY)
        return Cutoff(final=True, month=None, day=day, end=local_end_of(day, zone))
    month = period.replace(day=1)
    day = month.replace(day=min(REPORT_DAY, calendar.monthrange(month.year, month.month)[1]))
    return Cutoff(final=False, month=month, day=day, end=local_end_of(day, zone))


def parse_period(month: str | None, final: str | None, today: date) -> Period:
    """The period asked for by ``?month=YYYY-MM`` or ``?final=1`` (default: this month); PeriodError if invalid."""
    if (final or "").strip() in ("1", "true", "on"):
        return "final"
    raw = (month or "").strip()
    if not raw:
        return today.replace(day=1)
    parts = raw.split("-")
    if len(parts) != 2 or not (parts[0].isdigit() and parts[1].isdigit()) or len(parts[0]) != 4:
        raise PeriodError(f"月份“{raw}”无效，应为 YYYY-MM（例如 2026-07） / month must be YYYY-MM")
    year, number = int(parts[0]), int(parts[1])
    if not 1 <= number <= 12 or not 2000 <= year <= 2100:
        raise PeriodError(f"月份“{raw}”无效，应为 YYYY-MM（例如 2026-07） / month must be YYYY-MM")
    first = date(year, number, 1)
    if first > today:
        raise PeriodError(f"{year}年{number}月尚未到来，不能填报 / {raw} has not begun yet")
    return first


def report_months(campaign: Campaign | None, today: date) -> list[date]:
    """The months a report can be asked for: from the campaign's first month (or a year back) to this month."""
    first = min((p.starts_on for p in campaign.phases), default=None) if campaign else None
    start = (first or today - timedelta(days=365)).replace(day=1)
    months: list[date] = []
    current = today.replace(day=1)
    while current >= start and len(months) < 36:
        months.append(current)
        current = (current - timedelta(days=1)).replace(day=1)
    return months


# --- the reporting scope: which regions, and one row per county -------------------------------------------


@dataclass(frozen=True)
class ReportUnit:
    """A row of the report: a county (or the reporting region itself); ``extra`` for a row of the enterprises
    registered above any county (directly under the city), shown only when it has any."""

    id: int
    name: str
    extra: bool = False


@dataclass(frozen=True)
class ReportScope:
    """The regions a report covers and the row each region's enterprises are counted in."""

    #: None: every region (admin).
    regions: set[int] | None
    units: list[ReportUnit]
    unit_of: dict[int, int]
    name: str

    def unit_column(self, region_id: Any) -> Any:
        """SQL: the row (unit id) of the enterprise whose region is ``region_id``."""
        if not self.unit_of:
            return sa.literal(None, sa.Integer)
        return sa.case(self.unit_of, value=region_id, else_=sa.null())


def report_scope(session: DbSession, user: User) -> ReportScope:
    """The user's regions, with a row per county for a city (or admin) and one row for a county or zone."""
    rows = session.execute(
        sa.select(Region.id, Region.code, Region.name, Region.level, Region.parent_id)
    ).all()
    by_id = {r.id: r for r in rows}
    visible = visible_region_ids(session, user)
    in_scope = set(by_id) if visible is None else visible & set(by_id)
    root = by_id.get(user.region_id) if user.region_id is not None and user.role != Role.admin else None
    if root is None or root.level == RegionLevel.city:
        units = {rid for rid in in_scope if by_id[rid].level == RegionLevel.county}
    else:
        units = {root.id}
    unit_of: dict[int, int] = {}
    extra: set[int] = set()
    for rid in in_scope:
        node, top = by_id.get(rid), rid
        while node is not None and node.id not in units:
            top = node.id
            node = by_id.get(node.parent_id) if node.parent_id in in_scope else None
        if node is not None:
            unit_of[rid] = node.id
        else:
            unit_of[rid] = top
            extra.add(top)

    def unit(rid: int, is_extra: bool) -> ReportUnit:
        region = by_id[rid]
        name = f"{region.name}（市直）" if is_extra and region.level == RegionLevel.city else str(region.name)
        return ReportUnit(rid, name, is_extra)

    report_units = [unit(rid, False) for rid in sorted(units, key=lambda rid: by_id[rid].code)]
    report_units += [unit(rid, True) for rid in sorted(extra - units, key=lambda rid: by_id[rid].code)]
    if root is not None:
        name = str(root.name)
    else:
        roots = [r for r in rows if r.parent_id is None]
        name = str(roots[0].name) if len(roots) == 1 else "全部地区"
    return ReportScope(
        regions=None if visible is None else in_scope, units=report_units, unit_of=unit_of, name=name
    )


def alive(model: Any, known: datetime) -> sa.ColumnElement[bool]:
    """SQL: the row was not deleted before ``known``."""
    return sa.or_(model.deleted_at.is_(None), model.deleted_at >= known)


def enterprises_in_scope(scope: ReportScope, known: datetime) -> sa.Select[Any]:
    """Ids of the scope's enterprises not deleted before ``known``."""
    query = sa.select(Enterprise.id).where(alive(Enterprise, known))
    if scope.regions is not None:
        query = query.where(Enterprise.region_id.in_(scope.regions))
    return query


def key(column: Any) -> Any:
    """``column`` (a uuid column) read as text, without building uuid.UUID objects (see above)."""
    return sa.cast(column, sa.String)


def uuids(keys: Iterable[Any]) -> list[uuid.UUID]:
    """Keys back as UUIDs, to bind against a uuid column (so that its index serves the IN list)."""
    return [uuid.UUID(str(k)) for k in keys]


#: Ids per IN list: well under SQLite's limit of bound parameters.
BATCH = 2000


def batches(keys: Iterable[Any]) -> Iterable[list[Any]]:
    """``keys`` in lists of at most BATCH."""
    ordered = list(keys)
    for start in range(0, len(ordered), BATCH):
        yield ordered[start : start + BATCH]


# --- what counts as of a moment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """A regulator's inspection as the report needs it (ids as key() reads them; the catalogue's as a UUID)."""

    id: Any
    enterprise_id: Any
    kind: str
    finished_at: datetime
    corrects_id: Any
    catalogue_id: uuid.UUID
    #: A supervisor had approved it by the report's cut-off (only then may it decide 清零).
    approved: bool = False


def reviewed_inspections(enterprise_ids: Any, known: datetime, window: Window | None = None) -> Any:
    """The regulators' inspections (any kind but 'self') submitted before ``known`` with a device seal that verified
    (server.domain.counting), not returned by a review decided before it, not deleted then and, with ``window``,
    finished within the campaign's days; which of them count at a moment is counting_at's business. The last column tells
    whether a supervisor had approved it before ``known``."""
    decided = sa.and_(ReviewDecision.inspection_id == Inspection.id, ReviewDecision.decided_at < known)
    returned = sa.exists().where(decided, ReviewDecision.outcome == ReviewOutcome.return_)
    approved = sa.exists().where(decided, ReviewDecision.outcome == ReviewOutcome.approve)
    query = sa.select(
        key(Inspection.id), key(Inspection.enterprise_id), key(Inspection.kind), Inspection.finished_at,
        key(Inspection.corrects_id), key(Inspection.catalogue_id), approved.label("approved"),
    ).where(
        Inspection.enterprise_id.in_(enterprise_ids), Inspection.kind != InspectionKind.self_check,
        Inspection.submitted_received_at < known, Inspection.finished_at.is_not(None), alive(Inspection, known),
        evidence_holds(), ~returned,
    )  # fmt: skip
    return query if window is None else query.where(window.inside(Inspection.finished_at))


def load_visits(
    session: DbSession, enterprise_ids: Any, known: datetime, window: Window | None = None
) -> list[Visit]:
    """reviewed_inspections as rows (a county has some 10,000)."""
    catalogues: dict[Any, uuid.UUID] = {}
    visits = []
    for id_, enterprise_id, kind, finished_at, corrects_id, catalogue, approved in session.execute(
        reviewed_inspections(enterprise_ids, known, window)
    ):
        if catalogue not in catalogues:
            catalogues[catalogue] = uuid.UUID(str(catalogue))
        visits.append(
            Visit(id_, enterprise_id, kind, finished_at, corrects_id, catalogues[catalogue], bool(approved))
        )
    return visits


def counting_at(visits: Iterable[Visit], valid: datetime) -> list[Visit]:
    """The visits that count at ``valid``: finished before it, and not superseded by a correction that counts."""
    finished = [v for v in visits if v.finished_at < valid]
    superseded = {v.corrects_id for v in finished if v.corrects_id is not None}
    return [v for v in finished if v.id not in superseded]


def latest_by_enterprise(visits: Iterable[Visit]) -> dict[Any, Visit]:
    """Each enterprise's latest visit (by finish time, then id, as server.domain.clearance decides)."""
    latest: dict[Any, Visit] = {}
    for visit in visits:
        best = latest.get(visit.enterprise_id)
        if best is None or (visit.finished_at, str(visit.id)) > (best.finished_at, str(best.id)):
            latest[visit.enterprise_id] = visit
    return latest


@dataclass(frozen=True)
class HazardRecord:
    """What the report needs of a hazard (its descriptive fields are read only for the list of major hazards)."""

    id: Any
    enterprise_id: Any
    level: HazardLevel
    source: str
    item_code: str | None
    funds_yuan: Decimal | None


@dataclass(frozen=True)
class HazardAsOf:
    """A hazard found by a moment, with its status then (replayed from its events up to the moment)."""

    hazard: HazardRecord
    status: rules.HazardStatus

    @property
    def state(self) -> HazardState:
        """The state at the moment."""
        return self.status.state

    def overdue(self, day: date) -> bool:
        """Not yet reported fixed and past its deadline on ``day`` (server.domain.hazards.HazardStatus.is_overdue)."""
        return self.status.is_overdue(day)


def load_hazards(
    session: DbSession, enterprise_ids: Any, known: datetime, window: Window | None = None
) -> dict[Any, HazardRecord]:
    """The scope's hazards that may count at ``known``: not deleted by then, found within ``window`` (the campaign's
    days) and, when recorded in an inspection, whose inspection was submitted by then (whether they had been
    found is their events' business)."""
    rows = session.execute(
        sa.select(
            key(Hazard.id), key(Hazard.enterprise_id), key(Hazard.level), key(Hazard.source), Hazard.item_code,
            Hazard.funds_yuan,
        )
        .outerjoin(Inspection, Inspection.id == Hazard.inspection_id)
        .where(
            Hazard.enterprise_id.in_(enterprise_ids), Hazard.found_at < known, alive(Hazard, known),
            sa.or_(Hazard.inspection_id.is_(None), Inspection.submitted_received_at < known),
            sa.true() if window is None else window.inside(Hazard.found_at),
        )
    )  # fmt: skip
    levels = {level.value: level for level in HazardLevel}
    return {
        id_: HazardRecord(id_, enterprise_id, levels[level], source, item_code, funds)
        for id_, enterprise_id, level, source, item_code, funds in rows
    }


def statuses_as_of(
    session: DbSession,
    hazards: dict[Any, HazardRecord],
    enterprise_ids: Any,
    moments: Iterable[datetime],
    known: datetime,
) -> dict[datetime, dict[Any, HazardAsOf]]:
    """For each moment (before ``known``), the hazards found by then with their status: each hazard's events on
    record before ``known`` replayed once, in their order, through server.domain.hazards.apply_event, the status
    taken as each moment is passed."""
    points = sorted(set(moments))
    out: dict[datetime, dict[Any, HazardAsOf]] = {moment: {} for moment in points}
    if not points:
        return out
    kind = key(HazardEvent.kind)
    # Only these kinds need their comment (the reason the state machine asks for).
    reason = sa.case(
        (
            kind.in_((HazardEventKind.rejected.value, HazardEventKind.deadline_extended.value)),
            HazardEvent.comment,
        ),
        else_=sa.null(),
    )
    rows = session.execute(
        sa.select(key(HazardEvent.hazard_id), kind, HazardEvent.at, HazardEvent.deadline, reason)
        .join(Hazard, Hazard.id == HazardEvent.hazard_id)
        .where(
            Hazard.enterprise_id.in_(enterprise_ids),
            HazardEvent.at < points[-1],
            HazardEvent.received_at < known,
        )
        .order_by(HazardEvent.hazard_id, HazardEvent.at, HazardEvent.received_at, HazardEvent.id)
    )
    kinds = {k.value: k for k in HazardEventKind}

    def replayed(hazard: HazardRecord, events: Iterable[Any]) -> None:
        status: rules.HazardStatus | None = None
        index = 0
        for _, kind_value, at, deadline, why in events:
            while index < len(points) and at >= points[index]:
                if status is not None:
                    out[points[index]][hazard.id] = HazardAsOf(hazard, status)
                index += 1
            try:
                status = rules.apply_event(status, rules.HazardEvent(kinds[kind_value], at, deadline, why or ""),
                                           hazard.level)  # fmt: skip
            except rules.IllegalTransition:
                break  # corrupt stored data: keep the status of the last good event
        for point in points[index:]:
            if status is not None:
                out[point][hazard.id] = HazardAsOf(hazard, status)

    for hazard_id, events in groupby(rows, key=lambda row: row[0]):
        hazard = hazards.get(hazard_id)
        if hazard is not None:
            replayed(hazard, events)
    return out


def linked(found: Iterable[HazardAsOf]) -> dict[Any, list[LinkedHazard]]:
    """The item-linked hazards of each enterprise with their states (what 清零 looks at)."""
    shared: dict[tuple[str, HazardState], LinkedHazard] = {}
    out: dict[Any, list[LinkedHazard]] = defaultdict(list)
    for h in found:
        code = h.hazard.item_code
        if code is not None:
            pair = (code, h.state)
            if (link := shared.get(pair)) is None:
                link = shared[pair] = LinkedHazard(code, h.state)
            out[h.hazard.enterprise_id].append(link)
    return out


# --- 清零 as of a moment ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnterpriseRow:
    """What 清零 needs of an enterprise: where it is and what applies to it."""

    id: Any
    region_id: int
    dust_workers: int | None
    sectors: frozenset[Sector]


def load_enterprises(session: DbSession, enterprise_ids: Any) -> list[EnterpriseRow]:
    """The enterprises of ``enterprise_ids`` with their sector flags."""
    sector_columns = [getattr(Enterprise, column) for column in SECTOR_COLUMNS.values()]
    rows = session.execute(
        sa.select(key(Enterprise.id), Enterprise.region_id, Enterprise.dust_workers, *sector_columns).where(
            Enterprise.id.in_(enterprise_ids)
        )
    )
    return [
        EnterpriseRow(row[0], row[1], row[2], frozenset(s for s, flag in zip(SECTOR_COLUMNS, row[3:], strict=True) if flag))
        for row in rows
    ]  # fmt: skip


def answers_of(session: DbSession, inspection_ids: Iterable[Any]) -> dict[Any, dict[str, ItemResultValue]]:
    """The answers of each inspection, folded in SQL into one string per inspection (in batches of ids)."""
    answer = key(ItemResult.item_code) + ":" + key(ItemResult.result)
    out: dict[Any, dict[str, ItemResultValue]] = {}
    for ids in batches(set(inspection_ids)):
        rows = session.execute(
            sa.select(key(ItemResult.inspection_id), sa.func.aggregate_strings(answer, ","))
            .where(ItemResult.inspection_id.in_(uuids(ids)), ItemResult.deleted_at.is_(None))
            .group_by(ItemResult.inspection_id)
        )
        for inspection_id, folded in rows:
            pairs = (p.partition(":") for p in (folded or "").split(",") if p)
            out[inspection_id] = {code: _RESULTS[result] for code, _, result in pairs}
    return out


@dataclass(frozen=True)
class ClearanceAsOf:
    """One enterprise's 清零 verdict at a moment, with the region it is counted in."""

    enterprise_id: Any
    region_id: int
    inspected: bool
    verdict: Clearance


def decide(
    session: DbSession,
    enterprises: Iterable[EnterpriseRow],
    latest: dict[Any, Visit],
    answers: dict[Any, dict[str, ItemResultValue]],
    links: dict[Any, list[LinkedHazard]],
    day: date,
    reuse: dict[tuple[Any, ...], Clearance] | None = None,
) -> dict[Any, ClearanceAsOf]:
    """The 清零 verdict of each enterprise from its latest counting visit, that visit's answers and its item-linked
    hazards' states, by the domain rule (server.domain.clearance), as server.services.oversight.clearances does.
    ``reuse`` keeps verdicts by their inputs across moments: most enterprises' inputs stay the same."""
    reuse = {} if reuse is None else reuse
    default_catalogue = current_catalogue_id(session, day)
    catalogue_ids = {v.catalogue_id for v in latest.values()}
    if default_catalogue is not None:
        catalogue_ids.add(default_catalogue)
    key_items = _key_items(session, catalogue_ids)
    applicable: dict[tuple[Any, ...], list[str]] = {}
    verdicts: dict[Any, ClearanceAsOf] = {}
    for row in enterprises:
        visit = latest.get(row.id)
        catalogue_id = visit.catalogue_id if visit is not None else default_catalogue
        items = key_items.get(catalogue_id) if catalogue_id is not None else None
        # Enterprises share a handful of profiles: decide applicability once per profile.
        profile_key = (catalogue_id, row.sectors, row.dust_workers)
        if profile_key not in applicable:
            profile = EnterpriseProfile(sectors=row.sectors, dust_workers=row.dust_workers)
            applicable[profile_key] = items.applicable(profile) if items else []
        summary = None
        if visit is not None:
            summary = InspectionSummary(
                str(visit.id), visit.kind, "submitted", visit.finished_at, answers.get(visit.id, {})
            )
        verdict = clearance(
            applicable[profile_key],
            summary,
            links.get(row.id, []),
            all_key_codes=items.codes if items else None,
        )
        verdicts[row.id] = ClearanceAsOf(row.id, row.region_id, visit is not None, verdict)
    return verdicts


# --- the figures ------------------------------------------------------------------------------------------------


@dataclass
class SourceFigures:
    """Hazards found and rectified, from one source (regulators' inspections, or the enterprises' own ledgers)."""

    general: int = 0
    major: int = 0
    rectified: int = 0

    @property
    def total(self) -> int:
        """Hazards found from this source."""
        return self.general + self.major


@dataclass
class UnitFigures:
    """One row of the form: a county's (or the total's) figures as of the cut-off."""

    unit: ReportUnit
    # 1. inspection groups
    groups: int = 0
    inspectors: int = 0
    experts: int = 0
    # 2. supervising departments
    county_inspections: int = 0
    city_inspections: int = 0
    enterprises_covered: int = 0
    enterprises_in_scope: int = 0
    cleared: int = 0
    # 3. hazard rectification
    self_inspected: int = 0
    hazards_general: int = 0
    hazards_major: int = 0
    rectified_general: int = 0
    rectified_major: int = 0
    funds_yuan: Decimal = Decimal("0")
    overdue: int = 0
    listed: int = 0
    by_source: dict[str, SourceFigures] = field(
        default_factory=lambda: {"regulator": SourceFigures(), "self": SourceFigures()}
    )

    @property
    def inspections(self) -> int:
        """County and city inspections together."""
        return self.county_inspections + self.city_inspections

    @property
    def hazards(self) -> int:
        """Hazards found, general and major."""
        return self.hazards_general + self.hazards_major

    @property
    def rectified(self) -> int:
        """Hazards rectified (accepted or closed), general and major."""
        return self.rectified_general + self.rectified_major

    @property
    def rectification_rate(self) -> float | None:
        """Rectified / found, in percent (None when nothing was found)."""
        return 100.0 * self.rectified / self.hazards if self.hazards else None

    @property
    def coverage_rate(self) -> float | None:
        """Enterprises covered / in scope, in percent (None when nothing is in scope)."""
        return (
            100.0 * self.enterprises_covered / self.enterprises_in_scope
            if self.enterprises_in_scope
            else None
        )

    @property
    def funds_wan(self) -> Decimal:
        """Funds in 万元 (10,000 yuan), two decimals, as the form asks."""
        return yuan_to_wan(self.funds_yuan) or Decimal("0.00")


#: The notice's attachment: its title and the labels of its parts, word for word.
FORM_TITLE = "冶金工贸行业安全生产大检查大整治大提升专项行动统计报表"
ITEM_COLUMN = "统计项"
MAJOR_TITLE = "专项行动检查发现重大隐患明细"
FILLED_BY, FILLED_ON, UNIT, PHONE = "填表人", "填表日期", "填报单位", "联系电话"


def yuan_to_wan(yuan: Decimal | None) -> Decimal | None:
    """An amount in yuan as 万元 (10,000 yuan), two decimals: the unit the form's money columns name."""
    if yuan is None:
        return None
    return (Decimal(yuan) / 10000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


#: The form's columns: (section, key of UnitFigures, Chinese label, English label, kind of value).
SECTIONS: list[tuple[str, str, list[tuple[str, str, str, str]]]] = [
    ("一、成立检查组", "Inspection groups", [
        ("groups", "检查组（个）", "groups", "int"),
        ("inspectors", "执法检查人员（人）", "inspectors", "int"),
        ("experts", "参与专家（人）", "experts", "int"),
    ]),
    ("二、督查监管部门情况", "Supervising departments", [
        ("county_inspections", "县级检查（家次）", "county inspections", "int"),
        ("city_inspections", "市级抽查（家次）", "city sampling", "int"),
        ("enterprises_covered", "检查覆盖企业（家）", "enterprises covered", "int"),
        ("enterprises_in_scope", "纳入行动企业（家）", "enterprises in scope", "int"),
        ("coverage_rate", "覆盖率（%）", "coverage", "rate"),
        ("cleared", "重点事项清零企业（家）", "enterprises with every key item cleared", "int"),
    ]),
    ("三、企业隐患排查整治进展情况", "Enterprises' hazard rectification", [
        ("self_inspected", "开展自查企业（家）", "enterprises self-inspected", "int"),
        ("hazards", "排查发现隐患（项）", "hazards found", "int"),
        ("hazards_major", "其中重大隐患（项）", "of which major", "int"),
        ("rectified", "已整改（项）", "rectified", "int"),
        ("rectified_major", "其中重大隐患已整改（项）", "major rectified", "int"),
        ("rectification_rate", "整改率（%）", "rectification rate", "rate"),
        ("funds_wan", "整改资金（万元）", "funds (10k yuan)", "money"),
        ("overdue", "逾期未整改（项）", "overdue", "int"),
    ]),
]  # fmt: skip
COLUMNS: list[tuple[str, str, str, str]] = [column for _, _, columns in SECTIONS for column in columns]


@dataclass(frozen=True)
class MajorHazardRow:
    """One line of the itemised list of major hazards (重大事故隐患清单), as of the cut-off."""

    serial: int
    hazard_id: uuid.UUID
    unit: str
    enterprise: str
    description: str
    place: str
    source: str
    found_on: date
    measures: str
    responsible_person: str
    deadline: date | None
    state: HazardState
    overdue: bool
    #: 挂牌督办 as of the cut-off: level and number, "已摘牌 …" once delisted, "" when never listed.
    supervision: str
    funds_yuan: Decimal | None

    @property
    def funds_wan(self) -> Decimal | None:
        """The hazard's rectification funds in 万元, as the list's column names them."""
        return yuan_to_wan(self.funds_yuan)

    @property
    def progress(self) -> str:
        """The state's Chinese label, with 已逾期 when the deadline has passed without a reported fix."""
        return self.state.label_zh + ("（已逾期）" if self.overdue else "")


@dataclass(frozen=True)
class PhaseUnit:
    """One row's coverage and 清零 in one phase."""

    unit: ReportUnit
    in_scope: int
    inspected: int
    cleared: int | None


@dataclass(frozen=True)
class PhaseProgress:
    """Coverage and 清零 of one campaign phase, as the report's cut-off knows them."""

    code: str
    name: str
    starts_on: date
    ends_on: date
    #: "ended", "current" (running on the cut-off day) or "future".
    status: str
    #: The day 清零 is taken at the end of (the phase's last day, or the cut-off day); None for a future phase.
    as_of: date | None
    total: PhaseUnit
    units: list[PhaseUnit]

    @property
    def status_zh(self) -> str:
        """The phase's status in Chinese."""
        return {"ended": "已结束", "current": "进行中", "future": "未开始"}[self.status]


@dataclass(frozen=True)
class ProgressReport:
    """The monthly report (or final summary) as of its cut-off, ready for the page, the workbook and JSON."""

    cutoff: Cutoff
    provisional: bool
    campaign_name: str | None
    campaign_code: str | None
    #: The phase running on the cut-off day, and on the day the report was made.
    phase_at_cutoff: str | None
    phase_today: str | None
    #: 填报单位, 填报人, 联系电话, 填报日期.
    unit_name: str
    filled_by: str
    phone: str
    filled_on: date
    scope_name: str
    rows: list[UnitFigures]
    total: UnitFigures
    majors: list[MajorHazardRow]
    phases: list[PhaseProgress]
    #: The day overdue is counted on: the cut-off day, or today while the report is provisional.
    as_of: date | None = None
    #: The campaign's first day, and the hazards found before it or after its last day (on record by the cut-off):
    #: listed apart, not counted.
    campaign_starts_on: date | None = None
    before_campaign: int = 0
    after_campaign: int = 0

    @property
    def title(self) -> str:
        """The attachment's own title, word for word (the period is on its own line: ``period``)."""
        return FORM_TITLE

    @property
    def period(self) -> str:
        """The report's period, e.g. （2026年7月，截至7月23日） or （工作总结，截至2026年11月15日）."""
        day = self.cutoff.day
        if self.cutoff.final:
            return f"（工作总结，截至{day.year}年{day.month}月{day.day}日）"
        return f"（{self.cutoff.label}，截至{day.month}月{day.day}日）"


def build_report(
    session: DbSession,
    user: User,
    period: Period,
    *,
    zone: tzinfo,
    now: datetime | None = None,
    authority_fallback: str = "应急管理局",
) -> ProgressReport:
    """The monthly report of ``period`` (any day of the month) or the final summary ("final") in the user's scope."""
    now = now or datetime.now(UTC)
    today = now.astimezone(zone).date()
    campaign = campaign_for(session, user)
    cutoff = report_cutoff(period, zone, campaign_year(campaign, today))
    scope = report_scope(session, user)
    known = cutoff.end
    ids = enterprises_in_scope(scope, known)
    # Everything is read once, as of the cut-off (and the ends of the phases before it); then counted here.
    enterprises = load_enterprises(session, ids)
    # Campaign figures take only what happened from the campaign's first day; earlier hazards are counted apart.
    window = campaign_window(campaign, zone)
    visits = load_visits(session, ids, known, window)
    counted = counting_at(visits, known)
    moments = _phase_moments(campaign, cutoff, zone, counted)
    hazards = load_hazards(session, ids, known, window)
    found = statuses_as_of(session, hazards, ids, [known, *(m for *_, m in moments if m is not None)], known)
    at_cutoff = list(found[known].values())
    figures = {unit.id: UnitFigures(unit) for unit in scope.units}
    enterprise_unit = {e.id: scope.unit_of.get(e.region_id) for e in enterprises}

    def row_of(enterprise_id: Any) -> UnitFigures | None:
        unit_id = enterprise_unit.get(enterprise_id)
        return figures.get(unit_id) if unit_id is not None else None

    for e in enterprises:
        if (f := row_of(e.id)) is not None:
            f.enterprises_in_scope += 1
    teams = _inspection_counts(session, ids, known, counted, enterprise_unit, figures, window)
    # Overdue as of the report's day: the cut-off day, or today while the report is provisional (as the dashboard).
    as_of = clock.as_of_day(cutoff.day, today)
    _hazard_counts(at_cutoff, as_of, row_of)
    _self_inspected(session, ids, known, at_cutoff, row_of, window)
    verdicts = _Verdicts(session, enterprises, visits, found)
    verdicts.prefetch([known, *(m for *_, m in moments if m is not None)])
    for verdict in verdicts.at(known, cutoff.day).values():
        if verdict.verdict.cleared and (f := row_of(verdict.enterprise_id)) is not None:
            f.cleared += 1
    # A row of the city's own shows only when something is registered there.
    rows = [f for f in figures.values() if not f.unit.extra or _has_data(f)]
    region = user.region if user.role != Role.admin else _single_root(session)
    authority = region.issuing_authority() if region is not None else None
    return ProgressReport(
        cutoff=cutoff,
        provisional=now < cutoff.end,
        campaign_name=campaign.name if campaign else None,
        campaign_code=campaign.code if campaign else None,
        phase_at_cutoff=_phase_name(campaign, cutoff.day),
        phase_today=_phase_name(campaign, today),
        unit_name=authority
        or (f"{scope.name}{authority_fallback}" if user.role != Role.admin else authority_fallback),
        filled_by=user.display_name,
        phone=(region.contact_phone if region is not None else None) or user.phone or "",
        filled_on=min(cutoff.day, today),
        scope_name=scope.name,
        rows=rows,
        total=_total(rows, teams),
        majors=major_hazards(session, scope, at_cutoff, enterprise_unit, cutoff, zone, as_of),
        phases=_phases(scope, moments, zone, counted, enterprise_unit, verdicts),
        as_of=as_of,
        campaign_starts_on=window.starts_on if window is not None else None,
        before_campaign=_found_outside(session, ids, known, window.before if window is not None else None),
        after_campaign=_found_outside(session, ids, known, window.after if window is not None else None),
    )


class _Verdicts:
    """清零 at the moments one report needs (the cut-off and the ends of the phases), sharing what they read."""

    def __init__(
        self,
        session: DbSession,
        enterprises: list[EnterpriseRow],
        visits: list[Visit],
        found: dict[datetime, dict[Any, HazardAsOf]],
    ) -> None:
        self.session, self.enterprises, self.visits, self.found = session, enterprises, visits, found
        self.memo: dict[datetime, dict[Any, ClearanceAsOf]] = {}
        self.answers: dict[Any, dict[str, ItemResultValue]] = {}
        self.reuse: dict[tuple[Any, ...], Clearance] = {}
        #: Visits whose answers held now differ from those their device sealed: they never count.
        self.altered: set[Any] = set()

    def latest(self, valid: datetime) -> dict[Any, Visit]:
        """Each enterprise's latest visit counting at ``valid`` that a supervisor had approved by the cut-off
        (server.domain.counting: 清零 needs an approval) and whose answers equal the sealed ones."""
        approved = [v for v in counting_at(self.visits, valid) if v.approved and v.id not in self.altered]
        return latest_by_enterprise(approved)

    def prefetch(self, moments: Iterable[datetime]) -> None:
        """Read the answers of every moment's latest visits in one go, comparing each with its seal; a visit whose
        answers were altered is passed over, and the one before it read in turn."""
        points = list(moments)
        while True:
            wanted = {v.id for valid in points for v in self.latest(valid).values()} - set(self.answers)
            if not wanted:
                return
            self.answers.update(answers_of(self.session, wanted))
            sealed = sealed_answers_of(self.session, uuids(wanted))
            self.altered |= {
                id_ for id_ in wanted
                if counting.answers_differ(
                    sealed.get(uuid.UUID(str(id_))), {c: r.value for c, r in self.answers.get(id_, {}).items()}
                )
            }  # fmt: skip

    def at(self, valid: datetime, day: date) -> dict[Any, ClearanceAsOf]:
        """The verdicts at ``valid`` (one of the moments the statuses were replayed for)."""
        if valid not in self.memo:
            latest = self.latest(valid)
            self.prefetch([valid])
            links = linked(self.found[valid].values())
            self.memo[valid] = decide(
                self.session, self.enterprises, latest, self.answers, links, day, self.reuse
            )
        return self.memo[valid]


#: A telephone number as a bureau writes it: digits, spaces, hyphens, brackets, a leading plus, an extension.
PHONE_CHARS = frozenset("0123456789 -()+（）转")
MAX_PHONE = 32


def set_report_phone(session: DbSession, user: User, phone: str) -> Region:
    """Set the 联系电话 the user's bureau prints on its reports (its region's; an admin's is the single city's);
    audited. PeriodError (the form's refusal) when the number is not one."""
    from server.services import audit

    region = user.region if user.role != Role.admin else _single_root(session)
    if region is None:
        raise PeriodError("没有可设置联系电话的填报单位 / no filing unit to set the phone of")
    text = " ".join(phone.split())
    if (
        not text
        or len(text) > MAX_PHONE
        or not set(text) <= PHONE_CHARS
        or sum(c.isdigit() for c in text) < 5
    ):
        raise PeriodError(
            f"联系电话“{phone.strip()}”无效：应为电话号码（数字、空格、连字符、括号，不超过 {MAX_PHONE} 个字符） / "
            "not a telephone number"
        )
    before = region.contact_phone
    region.contact_phone = text
    session.flush()
    audit.record(session, user, "report.phone", "region", region.id, {"before": before, "after": text})
    return region


def _found_outside(session: DbSession, ids: Any, known: datetime, outside: Any) -> int:
    """Hazards on record by the cut-off but found outside the campaign's days (``outside``: the window's before or
    after): counted apart, not in the figures."""
    if outside is None:
        return 0
    return (
        session.scalar(
            sa.select(sa.func.count()).where(
                Hazard.enterprise_id.in_(ids),
                outside(Hazard.found_at),
                Hazard.created_at < known,
                alive(Hazard, known),
            )
        )
        or 0
    )


def _single_root(session: DbSession) -> Region | None:
    """The one top region (the city), when there is exactly one: whose bureau an admin's report is filed for."""
    roots = session.scalars(sa.select(Region).where(Region.parent_id.is_(None)).limit(2)).all()
    return roots[0] if len(roots) == 1 else None


def _phase_name(campaign: Campaign | None, day: date) -> str | None:
    phase = campaign.phase_on(day) if campaign is not None else None
    return phase.name if phase is not None else None


def _has_data(figures: UnitFigures) -> bool:
    return bool(figures.enterprises_in_scope or figures.inspections or figures.hazards)


@dataclass
class _Teams:
    """Who inspected, per row: the inspector sets (groups), inspectors and experts."""

    groups: dict[int | None, set[frozenset[str]]] = field(default_factory=lambda: defaultdict(set))
    inspectors: dict[int | None, set[str]] = field(default_factory=lambda: defaultdict(set))
    experts: dict[int | None, set[str]] = field(default_factory=lambda: defaultdict(set))


def _person(user_id: int | None, name: str, badge_no: str | None) -> str:
    """A participant's identity: the account when there is one, else the name and badge number."""
    return f"user:{user_id}" if user_id is not None else f"name:{name.strip()}|{(badge_no or '').strip()}"


def _inspection_counts(
    session: DbSession,
    ids: Any,
    known: datetime,
    counted: list[Visit],
    enterprise_unit: dict[Any, int | None],
    figures: dict[int, UnitFigures],
    window: Window | None,
) -> _Teams:
    covered: dict[int | None, set[Any]] = defaultdict(set)
    unit_of_visit: dict[Any, int | None] = {}
    for visit in counted:
        unit_id = unit_of_visit[visit.id] = enterprise_unit.get(visit.enterprise_id)
        covered[unit_id].add(visit.enterprise_id)
        if unit_id is not None and (f := figures.get(unit_id)) is not None:
            if visit.kind == InspectionKind.city_sampling.value:
                f.city_inspections += 1
            else:
                f.county_inspections += 1
    for unit_id, f in figures.items():
        f.enterprises_covered = len(covered.get(unit_id, ()))
    reviewed = reviewed_inspections(ids, known, window).subquery()
    people = session.execute(
        sa.select(
            key(InspectionParticipant.inspection_id), InspectionParticipant.role, InspectionParticipant.user_id,
            InspectionParticipant.name, InspectionParticipant.badge_no,
        ).where(
            key(InspectionParticipant.inspection_id).in_(sa.select(reviewed.c[0])),
            InspectionParticipant.role.in_(("inspector", "expert")),
        )
    )  # fmt: skip
    teams = _Teams()
    members: dict[Any, set[str]] = defaultdict(set)
    for inspection_id, role, user_id, name, badge_no in people:
        if inspection_id not in unit_of_visit:
            continue  # superseded by a correction
        unit_id, who = unit_of_visit[inspection_id], _person(user_id, name, badge_no)
        if role == "inspector":
            members[inspection_id].add(who)
            teams.inspectors[unit_id].add(who)
        else:
            teams.experts[unit_id].add(who)
    for inspection_id, team in members.items():
        teams.groups[unit_of_visit[inspection_id]].add(frozenset(team))
    for unit_id, f in figures.items():
        f.groups = len(teams.groups.get(unit_id, ()))
        f.inspectors = len(teams.inspectors.get(unit_id, ()))
        f.experts = len(teams.experts.get(unit_id, ()))
    return teams


def _hazard_counts(found: list[HazardAsOf], day: date, row_of: Any) -> None:
    for h in found:
        f = row_of(h.hazard.enterprise_id)
        if f is None:
            continue
        major, resolved = h.hazard.level == HazardLevel.major, h.status.is_resolved
        if major:
            f.hazards_major += 1
            f.rectified_major += resolved
        else:
            f.hazards_general += 1
            f.rectified_general += resolved
        f.overdue += h.overdue(day)
        f.listed += h.status.listed
        f.funds_yuan += h.hazard.funds_yuan or Decimal(0)
        part = f.by_source["regulator" if h.hazard.source in _REGULATOR_SOURCES else "self"]
        if major:
            part.major += 1
        else:
            part.general += 1
        part.rectified += resolved


def _self_inspected(
    session: DbSession,
    ids: Any,
    known: datetime,
    found: list[HazardAsOf],
    row_of: Any,
    window: Window | None,
) -> None:
    assessed = set(
        session.scalars(
            sa.select(key(Inspection.enterprise_id))
            .where(
                Inspection.enterprise_id.in_(ids),
                Inspection.kind == InspectionKind.self_check,
                Inspection.submitted_received_at < known,
                Inspection.finished_at < known,
                window.inside(Inspection.finished_at) if window is not None else sa.true(),
                alive(Inspection, known),
            )
            .distinct()
        )
    )
    assessed |= {h.hazard.enterprise_id for h in found if h.hazard.source == HazardSource.self_ledger.value}
    for enterprise_id in assessed:
        if (f := row_of(enterprise_id)) is not None:
            f.self_inspected += 1


_ADDITIVE = (
    "county_inspections", "city_inspections", "enterprises_covered", "enterprises_in_scope", "cleared",
    "self_inspected", "hazards_general", "hazards_major", "rectified_general", "rectified_major", "funds_yuan",
    "overdue", "listed",
)  # fmt: skip


def _total(rows: list[UnitFigures], teams: _Teams) -> UnitFigures:
    """The 合计 row: counts added up (each enterprise is in one row), people and teams counted once."""
    total = UnitFigures(ReportUnit(0, "合计"))
    for row in rows:
        for name in _ADDITIVE:
            setattr(total, name, getattr(total, name) + getattr(row, name))
        for source, part in row.by_source.items():
            mine = total.by_source[source]
            mine.general += part.general
            mine.major += part.major
            mine.rectified += part.rectified
    units = {row.unit.id for row in rows}
    total.groups = len(set().union(*(teams.groups.get(u, set()) for u in units)))
    total.inspectors = len(set().union(*(teams.inspectors.get(u, set()) for u in units)))
    total.experts = len(set().union(*(teams.experts.get(u, set()) for u in units)))
    return total


# --- per phase ------------------------------------------------------------------------------------------------

#: A phase, its status at the cut-off ("ended", "current", "future"), the day 清零 is taken at the end of, and the
#: moment that is (None when 清零 is not meaningful then: a future phase, or no regulator's inspection yet).
PhasePlan = tuple[CampaignPhase, str, date | None, datetime | None]


def _phase_moments(
    campaign: Campaign | None, cutoff: Cutoff, zone: tzinfo, counting: list[Visit]
) -> list[PhasePlan]:
    """When each phase's 清零 is taken: the end of its last day, or of the cut-off day for the phase running then."""
    plan: list[PhasePlan] = []
    for phase in campaign.phases if campaign is not None else []:
        if phase.starts_on > cutoff.day:
            plan.append((phase, "future", None, None))
            continue
        ended = phase.ends_on < cutoff.day
        day = phase.ends_on if ended else cutoff.day
        moment = min(local_end_of(day, zone), cutoff.end)
        # 清零 needs a regulator's inspection: before the first one had been finished there is nothing to clear.
        meaningful = any(v.finished_at < moment for v in counting)
        plan.append((phase, "ended" if ended else "current", day, moment if meaningful else None))
    return plan


def _phases(
    scope: ReportScope,
    plan: list[PhasePlan],
    zone: tzinfo,
    counting: list[Visit],
    enterprise_unit: dict[Any, int | None],
    verdicts: _Verdicts,
) -> list[PhaseProgress]:
    """Coverage and 清零 of each phase as the cut-off knows them (rules in the module docstring)."""
    in_scope: dict[int | None, int] = defaultdict(int)
    for unit_id in enterprise_unit.values():
        in_scope[unit_id] += 1
    units = [u for u in scope.units if in_scope.get(u.id)]
    result: list[PhaseProgress] = []
    for phase, status, as_of, moment in plan:
        start, end = local_start_of(phase.starts_on, zone), local_end_of(phase.ends_on, zone)
        covered: dict[int | None, set[Any]] = defaultdict(set)
        for visit in counting:
            if start <= visit.finished_at < end:
                covered[enterprise_unit.get(visit.enterprise_id)].add(visit.enterprise_id)
        cleared: dict[int | None, int] | None = None
        if moment is not None and as_of is not None:
            cleared = defaultdict(int)
            for verdict in verdicts.at(moment, as_of).values():
                if verdict.verdict.cleared:
                    cleared[enterprise_unit.get(verdict.enterprise_id)] += 1
        per_unit = [
            PhaseUnit(u, in_scope.get(u.id, 0), len(covered.get(u.id, ())), None if cleared is None else cleared.get(u.id, 0))
            for u in units
        ]  # fmt: skip
        total = PhaseUnit(
            ReportUnit(0, "合计"),
            sum(p.in_scope for p in per_unit),
            sum(p.inspected for p in per_unit),
            None if cleared is None else sum(p.cleared or 0 for p in per_unit),
        )
        result.append(PhaseProgress(phase.code, phase.name, phase.starts_on, phase.ends_on, status, as_of, total,
                                    per_unit))  # fmt: skip
    return result


# --- the itemised list of major hazards -------------------------------------------------------------------


def major_hazards(
    session: DbSession,
    scope: ReportScope,
    found: list[HazardAsOf],
    enterprise_unit: dict[Any, int | None],
    cutoff: Cutoff,
    zone: tzinfo,
    as_of: date,
) -> list[MajorHazardRow]:
    """Every major hazard found by the cut-off (``found``: the hazards with their status then), with its state,
    deadline and listing as of the cut-off and whether it was overdue on ``as_of``, in the order they were found."""
    majors = {h.hazard.id: h for h in found if h.hazard.level == HazardLevel.major}
    details: list[Any] = []
    for ids in batches(majors):
        details += session.execute(
            sa.select(
                key(Hazard.id), Hazard.found_at, Hazard.description, Hazard.place, key(Hazard.source), Hazard.terms,
                Hazard.treatment_plan, Enterprise.name,
            )
            .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
            .where(Hazard.id.in_(uuids(ids)))
        ).all()  # fmt: skip
    details.sort(key=lambda row: (row[1], str(row[0])))
    listings = _listings(session, list(majors), cutoff.end)
    names = {unit.id: unit.name for unit in scope.units}
    rows: list[MajorHazardRow] = []
    for serial, (id_, found_at, description, place, source, terms, plan, enterprise) in enumerate(details, 1):
        h = majors[id_]
        terms = terms or {}
        supervision = ""
        listing = listings.get(id_)
        if listing is not None and h.status.ever_listed:
            level = str(listing.get("supervision_level") or "")
            number = f"（{listing['supervision_no']}）" if listing.get("supervision_no") else ""
            supervision = (
                f"{level}挂牌督办{number}" if h.status.listed else f"已摘牌（原{level}挂牌督办{number}）"
            )
        unit_id = enterprise_unit.get(h.hazard.enterprise_id)
        rows.append(
            MajorHazardRow(
                serial=serial, hazard_id=uuid.UUID(str(id_)), unit=names.get(unit_id, "") if unit_id else "",
                enterprise=enterprise, description=description, place=place or "",
                source="企业自查" if source == HazardSource.self_ledger.value else "监管检查",
                found_on=found_at.astimezone(zone).date(),
                measures=str(terms.get("measures") or plan or ""),
                responsible_person=str(terms.get("responsible_person") or ""), deadline=h.status.deadline,
                state=h.state, overdue=h.overdue(as_of), supervision=supervision, funds_yuan=h.hazard.funds_yuan,
            )
        )  # fmt: skip
    return rows


def _listings(session: DbSession, hazard_ids: list[Any], before: datetime) -> dict[Any, dict[str, Any]]:
    """The data of each hazard's latest 'listed' event on record before the moment (level and number of 挂牌督办)."""
    out: dict[Any, dict[str, Any]] = {}
    for ids in batches(hazard_ids):
        events = session.execute(
            sa.select(key(HazardEvent.hazard_id), HazardEvent.data)
            .where(
                HazardEvent.hazard_id.in_(uuids(ids)),
                HazardEvent.kind == HazardEventKind.listed,
                HazardEvent.at < before,
                HazardEvent.received_at < before,
            )
            .order_by(HazardEvent.at, HazardEvent.received_at, HazardEvent.id)
        )
        out.update({hazard_id: dict(data or {}) for hazard_id, data in events})
    return out

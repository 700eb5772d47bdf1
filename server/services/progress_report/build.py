"""Building a report: the figures per county and in total, as of the cut-off (and the phone number it carries)."""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from server import clock
from server.domain.hazards import HazardLevel
from server.domain.inspections import InspectionKind
from server.domain.roles import Role
from server.errors import no_filing_unit, report_phone_invalid
from server.models import (
    Campaign,
    Enterprise,
    Hazard,
    HazardEvent,
    HazardSource,
    Inspection,
    InspectionParticipant,
    Region,
    ReviewDecision,
    User,
)
from server.services import DbSession
from server.services.oversight import (
    Window,
    campaign_for,
    campaign_window,
    changed_enterprises,
)
from server.services.oversight.stamped import StampedCache, change_stamp
from server.services.progress_report.as_of import (
    HazardAsOf,
    HazardRecord,
    Visit,
    counting_at,
    load_hazards,
    load_visits,
    reviewed_inspections,
    statuses_as_of,
)
from server.services.progress_report.clearance import ClearanceAsOf, EnterpriseRow, Verdicts, load_enterprises
from server.services.progress_report.figures import MajorHazardRow, PhaseProgress, ProgressReport, UnitFigures
from server.services.progress_report.majors import MajorDetails, major_details, major_hazards
from server.services.progress_report.period import Cutoff, Period, campaign_year, local_end_of, report_cutoff
from server.services.progress_report.phases import phase_moments, phase_progress
from server.services.progress_report.units import (
    ReportScope,
    ReportUnit,
    alive,
    batches,
    enterprises_in_scope,
    key,
    report_scope,
)

_REGULATOR_SOURCES = (HazardSource.inspection.value, HazardSource.city_sampling.value)


class ReportCache(StampedCache):
    """Built reports' figures per scope, period and day, each stamped with the change counter it was counted at.

    Every write of an inspection, answer, review decision, hazard, hazard event, enterprise, user or catalogue
    takes a new change number at commit (server.sync_handlers.changes), so an unchanged counter means unchanged
    figures; what no synced row holds (the regions and their names, the campaign's phases, the zone) is in the
    key, and the report's heading (who files it, the phone, provisional or not) is made anew on every view."""

    def __init__(self, size: int = 16, readings: int = 4) -> None:
        super().__init__(size)
        #: How many of the most recently used reports keep what they read (a province's takes some 100 MB).
        self.readings = readings

    def latest(self, key: tuple[Any, ...]) -> tuple[int, Any] | None:
        """The newest figures kept under ``key`` whatever their stamp, with that stamp: what a page may show,
        labelled with the moment they were counted, while they are counted again (or what a count patches)."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key: tuple[Any, ...], stamp: int, value: Any) -> None:
        """Keep ``value`` as StampedCache does; reports beyond the newest ``readings`` drop what they read (their
        next count reads everything again)."""
        super().put(key, stamp, value)
        with self._lock:
            for name in list(self._entries)[: -self.readings]:
                kept, counted = self._entries[name]
                if isinstance(counted, _Counted) and counted.read is not None:
                    self._entries[name] = (kept, replace(counted, read=None))


@dataclass(frozen=True)
class _Counted:
    """The counted part of a report (everything but its heading): what the cache keeps."""

    rows: list[UnitFigures]
    total: UnitFigures
    majors: list[MajorHazardRow]
    phases: list[PhaseProgress]
    before_campaign: int
    after_campaign: int
    #: When they were counted (server clock): shown with figures that are no longer the latest.
    counted_at: datetime
    drawn: dict[Any, bytes] = field(default_factory=dict)
    #: What was read to count them, kept by the newest few reports only: the next count patches it.
    read: _Read | None = None


def build_report(
    session: DbSession,
    user: User,
    period: Period,
    *,
    zone: tzinfo,
    now: datetime | None = None,
    authority_fallback: str = "应急管理局",
    cache: StampedCache | None = None,
    stale_ok: bool = False,
) -> ProgressReport:
    """The monthly report of ``period`` (any day of the month) or the final summary ("final") in the user's scope;
    with ``cache``, the figures are counted again only after something was written. With ``stale_ok`` (a page,
    never the workbook) and a ReportCache holding an earlier count of the same report, that count is returned at
    once, marked ``stale`` with its ``counted_at``: the caller has it counted again in the background."""
    now = now or datetime.now(UTC)
    today = now.astimezone(zone).date()
    # Read before the data: rows committed meanwhile can only make the figures newer than the stamp.
    stamp = change_stamp(session) if cache is not None else 0
    campaign = campaign_for(session, user)
    cutoff = report_cutoff(period, zone, campaign_year(campaign, today))
    scope = report_scope(session, user)
    window = campaign_window(campaign, zone)
    # Overdue as of the report's day: the cut-off day, or today while the report is provisional (as the dashboard).
    as_of = clock.as_of_day(cutoff.day, today)
    counted: _Counted | None = None
    key: tuple[Any, ...] = ()
    stale = False
    if cache is not None:
        phases = (
            tuple((p.id, p.code, p.name, p.starts_on, p.ends_on) for p in campaign.phases) if campaign else ()
        )
        # Sorted, not a set: the key's text names the recount job, the same in every process.
        key = (
            "progress_report", None if scope.regions is None else tuple(sorted(scope.regions)), tuple(scope.units),
            tuple(sorted(scope.unit_of.items())), cutoff, as_of, campaign.id if campaign else None, phases, str(zone),
        )  # fmt: skip
        counted = cache.get(key, stamp)
        if counted is None and stale_ok and isinstance(cache, ReportCache):
            earlier = cache.latest(key)
            if earlier is not None and earlier[0] < stamp:
                counted, stale = earlier[1], True
    if counted is None:
        # An earlier count of the same report: only the enterprises written since its stamp are counted again.
        earlier = cache.latest(key) if isinstance(cache, ReportCache) else None
        held = (earlier[0], earlier[1].read) if earlier and earlier[0] <= stamp and earlier[1].read else None
        counted = _count(session, scope, campaign, cutoff, zone, window, as_of, held, stamp)
        if cache is not None:
            cache.put(key, stamp, counted)
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
        rows=counted.rows,
        total=counted.total,
        majors=counted.majors,
        phases=counted.phases,
        as_of=as_of,
        campaign_starts_on=window.starts_on if window is not None else None,
        before_campaign=counted.before_campaign,
        after_campaign=counted.after_campaign,
        drawn=counted.drawn,
        counted_at=counted.counted_at,
        stale=stale,
        count_key=hashlib.sha256(repr(key).encode()).hexdigest()[:32] if key else "",
    )


@dataclass(frozen=True)
class _Read:
    """What a count read, by enterprise (ids as key() reads them), so that a count after a write reads and
    decides again only the enterprises written since: the hazards' statuses replayed at every moment the report
    may need, the participants of each visit, the 清零 verdicts at the moments decided."""

    enterprises: dict[Any, EnterpriseRow]
    visits: dict[Any, list[Visit]]
    hazards: dict[Any, dict[Any, HazardRecord]]
    statuses: dict[datetime, dict[Any, HazardAsOf]]
    #: By visit: the inspectors' and experts' identities (role, person).
    people: dict[Any, list[tuple[str, str]]]
    #: Enterprises with a self-assessment submitted (a self-inspection ledger entry counts apart).
    assessed: frozenset[Any]
    #: By enterprise: hazards found before and after the campaign's days.
    outside: dict[Any, tuple[int, int]]
    #: By hazard: what the list of major hazards shows of the scope's major ones.
    majors: dict[Any, MajorDetails]
    verdicts: dict[datetime, dict[Any, ClearanceAsOf]] = field(default_factory=dict)
    #: By enterprise: its share of its row's figures, as of the cut-off.
    tallies: dict[Any, _Tally] = field(default_factory=dict)


@dataclass(frozen=True)
class _Tally:
    """One enterprise's share of its row: the figures that add up (_counts), and who inspected it (united per row)."""

    counts: tuple[Any, ...]
    groups: frozenset[frozenset[str]]
    inspectors: frozenset[str]
    experts: frozenset[str]


#: Beyond this many enterprises written since the last count, counting afresh costs about what patching does.
PATCH_LIMIT = 2000


def _count(
    session: DbSession,
    scope: ReportScope,
    campaign: Campaign | None,
    cutoff: Cutoff,
    zone: tzinfo,
    window: Window | None,
    as_of: date,
    held: tuple[int, _Read] | None = None,
    stamp: int = 0,
) -> _Counted:
    """Every figure of the report as of the cut-off, per county and in total; with ``held`` (an earlier count's
    reading and the change counter it was read at), only the enterprises written since are read again."""
    counted_at = datetime.now(UTC)
    known = cutoff.end
    points = _moments(campaign, cutoff, zone)
    changed = _changed_since(session, held[0], stamp) if held is not None else None
    if held is None or changed is None or len(changed) > PATCH_LIMIT:
        read = _read(session, enterprises_in_scope(scope, known), known, window, points)
        return _figures(session, scope, campaign, cutoff, zone, as_of, read, None, counted_at)
    ids = enterprises_in_scope(scope, known).where(Enterprise.id.in_(list(changed)))
    if changed:
        fresh = _read(session, ids, known, window, points)
        read = _patched(held[1], fresh, _keys(session, changed))
    else:  # only rows the report does not read were written
        fresh, read = _Read({}, {}, {}, {}, {}, frozenset(), {}, {}), held[1]
    if _corrections_cross(read):
        read = _read(session, enterprises_in_scope(scope, known), known, window, points)
        return _figures(session, scope, campaign, cutoff, zone, as_of, read, None, counted_at)
    return _figures(session, scope, campaign, cutoff, zone, as_of, read, fresh, counted_at)


def _moments(campaign: Campaign | None, cutoff: Cutoff, zone: tzinfo) -> list[datetime]:
    """Every moment a report of ``cutoff`` may take 清零 at: the cut-off and the end of each phase begun by then
    (whether a phase's is shown depends on the data; replaying all of them keeps a reading patchable)."""
    moments = {cutoff.end}
    for phase in campaign.phases if campaign is not None else []:
        if phase.starts_on <= cutoff.day:
            day = phase.ends_on if phase.ends_on < cutoff.day else cutoff.day
            moments.add(min(local_end_of(day, zone), cutoff.end))
    return sorted(moments)


def _read(
    session: DbSession, ids: Any, known: datetime, window: Window | None, points: list[datetime]
) -> _Read:
    """Everything the report counts of the enterprises ``ids``, as of ``known`` (read once; counted by _figures)."""
    enterprises = {e.id: e for e in load_enterprises(session, ids)}
    visits: dict[Any, list[Visit]] = defaultdict(list)
    for visit in load_visits(session, ids, known, window):
        visits[visit.enterprise_id].append(visit)
    records = load_hazards(session, ids, known, window)
    hazards: dict[Any, dict[Any, HazardRecord]] = defaultdict(dict)
    for record in records.values():
        hazards[record.enterprise_id][record.id] = record
    return _Read(
        enterprises=enterprises,
        visits=dict(visits),
        hazards=dict(hazards),
        statuses=statuses_as_of(session, records, ids, points, known),
        people=_people(session, ids, known, window),
        assessed=_assessed(session, ids, known, window),
        outside=_outside(session, ids, known, window),
        majors=major_details(session, [h for h, r in records.items() if r.level == HazardLevel.major], known),
    )


def _patched(held: _Read, fresh: _Read, changed: set[Any]) -> _Read:
    """``held`` with the enterprises ``changed`` taken from ``fresh`` (absent there: gone from the scope)."""

    def merged(old: dict[Any, Any], new: dict[Any, Any]) -> dict[Any, Any]:
        out = dict(old)
        for k in changed:
            out.pop(k, None)
        out.update(new)
        return out

    dropped_visits = {v.id for e in changed for v in held.visits.get(e, ())}
    dropped_hazards = {h for e in changed for h in held.hazards.get(e, ())}
    majors = {h: d for h, d in held.majors.items() if h not in dropped_hazards}
    majors.update(fresh.majors)
    people = {k: v for k, v in held.people.items() if k not in dropped_visits}
    people.update(fresh.people)
    statuses: dict[datetime, dict[Any, HazardAsOf]] = {}
    for moment, table in held.statuses.items():
        found = statuses[moment] = dict(table)
        for hazard_id in dropped_hazards:
            found.pop(hazard_id, None)
        found.update(fresh.statuses.get(moment, {}))
    # Only the unchanged enterprises' verdicts are kept: the changed ones are decided again by _figures.
    verdicts: dict[datetime, dict[Any, ClearanceAsOf]] = {}
    for moment, earlier in held.verdicts.items():
        decided = verdicts[moment] = dict(earlier)
        for enterprise_id in changed:
            decided.pop(enterprise_id, None)
    return _Read(
        enterprises=merged(held.enterprises, fresh.enterprises),
        visits=merged(held.visits, fresh.visits),
        hazards=merged(held.hazards, fresh.hazards),
        statuses=statuses,
        people=people,
        assessed=(held.assessed - changed) | fresh.assessed,
        outside=merged(held.outside, fresh.outside),
        majors=majors,
        verdicts=verdicts,
        tallies=merged(held.tallies, {}),
    )


def _corrections_cross(read: _Read) -> bool:
    """Whether a visit corrects one of another enterprise (never made by the app): the enterprises' readings
    would then not be independent, and the report is read afresh."""
    enterprise_of = {v.id: e for e, visits in read.visits.items() for v in visits}
    return any(
        v.corrects_id is not None and enterprise_of.get(v.corrects_id, e) != e
        for e, visits in read.visits.items()
        for v in visits
    )


def _keys(session: DbSession, enterprise_ids: set[uuid.UUID]) -> set[Any]:
    """The enterprises' ids as key() reads them (hex on SQLite, dashed on PostgreSQL)."""
    out: set[Any] = set()
    for ids in batches(enterprise_ids):
        out.update(session.scalars(sa.select(key(Enterprise.id)).where(Enterprise.id.in_(ids))))
    return out


def _changed_since(session: DbSession, after: int, upto: int) -> set[uuid.UUID] | None:
    """Enterprises whose report inputs were written with change numbers in (after, upto]: their rows, inspections,
    answers and hazards (server.services.oversight.changed_enterprises), their hazards' events and their
    inspections' reviews; None when a catalogue changed (every verdict may move)."""
    changed = changed_enterprises(session, after, upto)
    if changed is None:
        return None
    numbered = (after + 1, upto)
    changed |= set(
        session.scalars(
            sa.union(
                sa.select(Hazard.enterprise_id)
                .join(HazardEvent, HazardEvent.hazard_id == Hazard.id)
                .where(HazardEvent.change_no.between(*numbered)),
                sa.select(Inspection.enterprise_id)
                .join(ReviewDecision, ReviewDecision.inspection_id == Inspection.id)
                .where(ReviewDecision.change_no.between(*numbered)),
            )
        )
    )
    return changed


def _figures(
    session: DbSession,
    scope: ReportScope,
    campaign: Campaign | None,
    cutoff: Cutoff,
    zone: tzinfo,
    as_of: date,
    read: _Read,
    fresh: _Read | None,
    counted_at: datetime,
) -> _Counted:
    """The figures of ``read``; 清零 decided for every enterprise, or with ``fresh`` (a patch) for its enterprises
    only, the others' verdicts kept in ``read``."""
    known = cutoff.end
    enterprises = list(read.enterprises.values())
    visits = [v for mine in read.visits.values() for v in mine]
    counted = counting_at(visits, known)
    moments = phase_moments(campaign, cutoff, zone, counted)
    found = read.statuses
    at_cutoff = list(found[known].values())
    figures = {unit.id: UnitFigures(unit) for unit in scope.units}
    enterprise_unit = {e.id: scope.unit_of.get(e.region_id) for e in enterprises}

    def row_of(enterprise_id: Any) -> UnitFigures | None:
        unit_id = enterprise_unit.get(enterprise_id)
        return figures.get(unit_id) if unit_id is not None else None

    # Each enterprise's share, counted again only for the enterprises read again (all of them from scratch).
    table = found[known]
    tallies = dict(read.tallies) if fresh is not None else {}
    counted_by: dict[Any, list[Visit]] = defaultdict(list)
    for visit in counted:
        counted_by[visit.enterprise_id].append(visit)
    for e in enterprises:
        if e.id not in tallies:
            tallies[e.id] = _tally(e.id, read, counted_by.get(e.id, []), table, as_of)
    teams = _Teams()
    shares: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for enterprise_id, tally in tallies.items():
        unit_id = enterprise_unit.get(enterprise_id)
        if unit_id is None or unit_id not in figures:
            continue
        shares[unit_id].append(tally.counts)
        teams.groups[unit_id] |= tally.groups
        teams.inspectors[unit_id] |= tally.inspectors
        teams.experts[unit_id] |= tally.experts
    for unit_id, counts in shares.items():
        # Column by column: ten thousand shares added in C, not attribute by attribute.
        _add_counts(figures[unit_id], [sum(column) for column in zip(*counts, strict=True)])
    for unit_id, row in figures.items():
        row.groups = len(teams.groups.get(unit_id, ()))
        row.inspectors = len(teams.inspectors.get(unit_id, ()))
        row.experts = len(teams.experts.get(unit_id, ()))
    # Each moment with the day it is decided on (the cut-off's first: a phase running then shares its moment).
    days = {known: cutoff.day}
    for _, _, day, moment in moments:
        if moment is not None and day is not None:
            days.setdefault(moment, day)
    verdicts = _verdicts(session, read, fresh, days)
    for verdict in verdicts[known].values():
        if verdict.verdict.cleared and (f := row_of(verdict.enterprise_id)) is not None:
            f.cleared += 1
    # A row of the city's own shows only when something is registered there.
    rows = [f for f in figures.values() if not f.unit.extra or _has_data(f)]
    outside = read.outside.values()
    return _Counted(
        rows=rows,
        total=_total(rows, teams),
        majors=major_hazards(scope, at_cutoff, read.majors, enterprise_unit, zone, as_of),
        phases=phase_progress(scope, moments, zone, counted, enterprise_unit, verdicts),
        before_campaign=sum(before for before, _ in outside),
        after_campaign=sum(after for _, after in outside),
        counted_at=counted_at,
        read=replace(read, verdicts=verdicts, tallies=tallies),
    )


def _verdicts(
    session: DbSession, read: _Read, fresh: _Read | None, days: dict[datetime, date]
) -> dict[datetime, dict[Any, ClearanceAsOf]]:
    """清零 at each moment of ``days``: the verdicts ``read`` keeps, with those of ``fresh``'s enterprises (or, at a
    moment ``read`` has none for, of every enterprise) decided again."""
    out: dict[datetime, dict[Any, ClearanceAsOf]] = {}
    anew = [m for m in days if fresh is None or m not in read.verdicts]
    if anew:
        every = Verdicts(
            session, list(read.enterprises.values()), [v for mine in read.visits.values() for v in mine],
            read.statuses,
        )  # fmt: skip
        every.prefetch(anew)
        for moment in anew:
            out[moment] = every.at(moment, days[moment])
    kept = [m for m in days if m not in out]
    if kept and fresh is not None:
        hazards = {h for e in fresh.enterprises for h in read.hazards.get(e, ())}
        statuses = {m: {h: s for h in hazards if (s := read.statuses[m].get(h)) is not None} for m in kept}
        some = Verdicts(
            session, list(fresh.enterprises.values()), [v for mine in fresh.visits.values() for v in mine], statuses
        )  # fmt: skip
        some.prefetch(kept)
        for moment in kept:
            out[moment] = {**read.verdicts[moment], **some.at(moment, days[moment])}
    return out


PHONE_CHARS = frozenset("0123456789 -()+（）转")
MAX_PHONE = 32


def set_report_phone(session: DbSession, user: User, phone: str) -> Region:
    """Set the 联系电话 the user's bureau prints on its reports (its region's; an admin's is the single city's);
    audited; report_phone_invalid or no_filing_unit when refused."""
    from server.services import audit

    region = user.region if user.role != Role.admin else _single_root(session)
    if region is None:
        raise no_filing_unit()
    text = " ".join(phone.split())
    if (
        not text
        or len(text) > MAX_PHONE
        or not set(text) <= PHONE_CHARS
        or sum(c.isdigit() for c in text) < 5
    ):
        raise report_phone_invalid(value=phone.strip(), limit=MAX_PHONE)
    before = region.contact_phone
    region.contact_phone = text
    session.flush()
    audit.record(session, user, "report.phone", "region", region.id, {"before": before, "after": text})
    return region


def _outside(
    session: DbSession, ids: Any, known: datetime, window: Window | None
) -> dict[Any, tuple[int, int]]:
    """Hazards on record by the cut-off but found outside the campaign's days (before, after), by enterprise:
    counted apart, not in the figures."""
    if window is None:
        return {}
    rows = session.execute(
        sa.select(
            key(Hazard.enterprise_id),
            sa.func.sum(sa.case((window.before(Hazard.found_at), 1), else_=0)),
            sa.func.sum(sa.case((window.after(Hazard.found_at), 1), else_=0)),
        )
        .where(
            Hazard.enterprise_id.in_(ids),
            sa.or_(window.before(Hazard.found_at), window.after(Hazard.found_at)),
            Hazard.created_at < known,
            alive(Hazard, known),
        )
        .group_by(Hazard.enterprise_id)
    )
    return {enterprise_id: (int(before or 0), int(after or 0)) for enterprise_id, before, after in rows}


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


def _people(
    session: DbSession, ids: Any, known: datetime, window: Window | None
) -> dict[Any, list[tuple[str, str]]]:
    """The inspectors and experts of each of the enterprises' reviewed inspections: (role, person) by visit."""
    reviewed = reviewed_inspections(ids, known, window).subquery()
    rows = session.execute(
        sa.select(
            key(InspectionParticipant.inspection_id), InspectionParticipant.role, InspectionParticipant.user_id,
            InspectionParticipant.name, InspectionParticipant.badge_no,
        ).where(
            key(InspectionParticipant.inspection_id).in_(sa.select(reviewed.c[0])),
            InspectionParticipant.role.in_(("inspector", "expert")),
        )
    )  # fmt: skip
    people: dict[Any, list[tuple[str, str]]] = defaultdict(list)
    for inspection_id, role, user_id, name, badge_no in rows:
        people[inspection_id].append((role, _person(user_id, name, badge_no)))
    return dict(people)


#: The row an enterprise's share is counted in before it is added to its county's.
_ONE = ReportUnit(0, "")


def _tally(
    enterprise_id: Any, read: _Read, counted: list[Visit], table: dict[Any, HazardAsOf], as_of: date
) -> _Tally:
    """One enterprise's share of its row (``counted``: its visits that count at the cut-off; ``table``: the hazards
    found by the cut-off with their status then)."""
    f = UnitFigures(_ONE)
    f.enterprises_in_scope = 1
    f.enterprises_covered = 1 if counted else 0
    groups: set[frozenset[str]] = set()
    inspectors: set[str] = set()
    experts: set[str] = set()
    for visit in counted:
        if visit.kind == InspectionKind.city_sampling.value:
            f.city_inspections += 1
        else:
            f.county_inspections += 1
        team = set()
        for role, who in read.people.get(visit.id, ()):
            if role == "inspector":
                team.add(who)
                inspectors.add(who)
            else:
                experts.add(who)
        if team:
            groups.add(frozenset(team))
    found = [status for h in read.hazards.get(enterprise_id, ()) if (status := table.get(h)) is not None]
    _hazard_counts(found, as_of, lambda _: f)
    ledger = any(h.hazard.source == HazardSource.self_ledger.value for h in found)
    f.self_inspected = int(enterprise_id in read.assessed or ledger)
    return _Tally(_counts(f), frozenset(groups), frozenset(inspectors), frozenset(experts))


def _add(row: UnitFigures, share: UnitFigures) -> None:
    """Add a row's figures to another's (the total's)."""
    _add_counts(row, _counts(share))


#: The parts of a row's split by source, in the order _counts gives them after the additive figures.
_PARTS = tuple(
    (source, part) for source in ("regulator", "self") for part in ("general", "major", "rectified")
)


def _counts(figures: UnitFigures) -> tuple[Any, ...]:
    """The figures that add up, in the order of _ADDITIVE, then the split by source in the order of _PARTS."""
    return (
        *(getattr(figures, name) for name in _ADDITIVE),
        *(getattr(figures.by_source[source], part) for source, part in _PARTS),
    )


def _add_counts(row: UnitFigures, counts: Any) -> None:
    """Add ``counts`` (as _counts orders them) to a row's figures."""
    for name, value in zip(_ADDITIVE, counts, strict=False):
        setattr(row, name, getattr(row, name) + value)
    for (source, part), value in zip(_PARTS, counts[len(_ADDITIVE) :], strict=True):
        mine = row.by_source[source]
        setattr(mine, part, getattr(mine, part) + value)


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


def _assessed(session: DbSession, ids: Any, known: datetime, window: Window | None) -> frozenset[Any]:
    """The enterprises with a self-assessment (an inspection of kind 'self') submitted by the cut-off."""
    return frozenset(
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


_ADDITIVE = (
    "county_inspections", "city_inspections", "enterprises_covered", "enterprises_in_scope", "cleared",
    "self_inspected", "hazards_general", "hazards_major", "rectified_general", "rectified_major", "funds_yuan",
    "overdue", "listed",
)  # fmt: skip


def _total(rows: list[UnitFigures], teams: _Teams) -> UnitFigures:
    """The 合计 row: counts added up (each enterprise is in one row), people and teams counted once."""
    total = UnitFigures(ReportUnit(0, "合计"))
    for row in rows:
        _add(total, row)
    units = {row.unit.id for row in rows}
    total.groups = len(set().union(*(teams.groups.get(u, set()) for u in units)))
    total.inspectors = len(set().union(*(teams.inspectors.get(u, set()) for u in units)))
    total.experts = len(set().union(*(teams.experts.get(u, set()) for u in units)))
    return total

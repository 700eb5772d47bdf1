"""Building a report: the figures per county and in total, as of the cut-off (and the phone number it carries)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
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
    Hazard,
    HazardSource,
    Inspection,
    InspectionParticipant,
    Region,
    User,
)
from server.services import DbSession
from server.services.oversight import (
    Window,
    campaign_for,
    campaign_window,
)
from server.services.oversight.stamped import StampedCache, change_stamp
from server.services.progress_report.as_of import (
    HazardAsOf,
    Visit,
    counting_at,
    load_hazards,
    load_visits,
    reviewed_inspections,
    statuses_as_of,
)
from server.services.progress_report.clearance import Verdicts, load_enterprises
from server.services.progress_report.figures import MajorHazardRow, PhaseProgress, ProgressReport, UnitFigures
from server.services.progress_report.majors import major_hazards
from server.services.progress_report.period import Cutoff, Period, campaign_year, report_cutoff
from server.services.progress_report.phases import phase_moments, phase_progress
from server.services.progress_report.units import (
    ReportScope,
    ReportUnit,
    alive,
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

    def __init__(self, size: int = 16) -> None:
        super().__init__(size)

    def latest(self, key: tuple[Any, ...]) -> tuple[int, Any] | None:
        """The newest figures kept under ``key`` whatever their stamp, with that stamp: what a page may show,
        labelled with the moment they were counted, while they are counted again."""
        with self._lock:
            return self._entries.get(key)


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
        counted = _count(session, scope, campaign, cutoff, zone, window, as_of)
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


def _count(
    session: DbSession,
    scope: ReportScope,
    campaign: Campaign | None,
    cutoff: Cutoff,
    zone: tzinfo,
    window: Window | None,
    as_of: date,
) -> _Counted:
    """Every figure of the report as of the cut-off, per county and in total."""
    counted_at = datetime.now(UTC)
    known = cutoff.end
    ids = enterprises_in_scope(scope, known)
    # Everything is read once, as of the cut-off (and the ends of the phases before it); then counted here.
    enterprises = load_enterprises(session, ids)
    # Campaign figures take only what happened from the campaign's first day; earlier hazards are counted apart.
    visits = load_visits(session, ids, known, window)
    counted = counting_at(visits, known)
    moments = phase_moments(campaign, cutoff, zone, counted)
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
    _hazard_counts(at_cutoff, as_of, row_of)
    _self_inspected(session, ids, known, at_cutoff, row_of, window)
    verdicts = Verdicts(session, enterprises, visits, found)
    verdicts.prefetch([known, *(m for *_, m in moments if m is not None)])
    for verdict in verdicts.at(known, cutoff.day).values():
        if verdict.verdict.cleared and (f := row_of(verdict.enterprise_id)) is not None:
            f.cleared += 1
    # A row of the city's own shows only when something is registered there.
    rows = [f for f in figures.values() if not f.unit.extra or _has_data(f)]
    return _Counted(
        rows=rows,
        total=_total(rows, teams),
        majors=major_hazards(session, scope, at_cutoff, enterprise_unit, cutoff, zone, as_of),
        phases=phase_progress(scope, moments, zone, counted, enterprise_unit, verdicts),
        before_campaign=_found_outside(session, ids, known, window.before if window is not None else None),
        after_campaign=_found_outside(session, ids, known, window.after if window is not None else None),
        counted_at=counted_at,
    )


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

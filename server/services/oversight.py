"""What supervisors watch: coverage per phase, 清零 per enterprise and sector, hazard counts, devices.

Everything is computed with a few aggregate queries over the user's scope, never by loading every row:
the county has thousands of enterprises and hundreds of thousands of item results.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa

from server import clock
from server.domain import counting
from server.domain.applicability import ApplicabilityRule, EnterpriseProfile, applies
from server.domain.clearance import (
    Clearance,
    InspectionSummary,
    ItemResultValue,
    LinkedHazard,
    clearance,
)
from server.domain.hazards import OPEN_STATES, HazardLevel, HazardState
from server.domain.inspections import InspectionStatus
from server.domain.roles import Role
from server.domain.sectors import Sector
from server.models import (
    Campaign,
    CampaignPhase,
    Catalogue,
    CatalogueItem,
    ChangeCounter,
    Device,
    Enterprise,
    Hazard,
    Inspection,
    ItemResult,
    Quarantine,
    User,
)
from server.models.enterprise import SECTOR_COLUMNS
from server.services import DbSession
from server.services.scope import visible_enterprise_ids, visible_region_ids

#: States in which the rectification is the enterprise's to do, so a passed deadline makes it overdue
#: (a reported rectification waits on the regulator, see server.domain.hazards.HazardStatus.is_overdue).
AWAITING_ENTERPRISE = tuple(s.value for s in OPEN_STATES if s is not HazardState.reported)


# --- campaign and coverage ----------------------------------------------------------------------------


def campaign_for(session: DbSession, user: User) -> Campaign | None:
    """The newest campaign run by a region the user sees, or by one above the user's region."""
    regions = visible_region_ids(session, user)
    query = sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(1)
    if regions is not None:
        above = {r.id for r in user.region.ancestors_and_self()} if user.region is not None else set()
        query = query.where(Campaign.region_id.in_(regions | above))
    return session.scalar(query)


def campaign_of_region(session: DbSession, region: Any) -> Campaign | None:
    """The newest campaign run by ``region`` or a region above it (the campaign its enterprises are under)."""
    if region is None:
        return None
    above = [r.id for r in region.ancestors_and_self()]
    return session.scalar(
        sa.select(Campaign)
        .where(Campaign.region_id.in_(above))
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class PhaseCoverage:
    """How many enterprises in scope had a counting inspection finished within one phase."""

    phase: CampaignPhase
    inspected: int
    in_scope: int
    current: bool

    @property
    def percent(self) -> float:
        """Coverage as a percentage (0 when nothing is in scope)."""
        return 100.0 * self.inspected / self.in_scope if self.in_scope else 0.0


def enterprise_ids_of(session: DbSession, user: User | None) -> sa.Select[Any]:
    """Ids of the enterprises ``user`` may see; every enterprise when ``user`` is None."""
    if user is None:
        return sa.select(Enterprise.id).where(Enterprise.deleted_at.is_(None))
    return visible_enterprise_ids(session, user)


def evidence_holds() -> sa.ColumnElement[bool]:
    """SQL: the inspection carries a device seal that verified (server.domain.counting.standing's seal rule).

    Whether the answers held still equal the sealed ones is checked on the inspections whose answers a figure
    reads (each enterprise's latest, see clearances) and on every page that shows one inspection.
    """
    return sa.and_(Inspection.sealed_record.is_not(None), Inspection.seal_verified.is_(True))


def counting_inspections(
    session: DbSession, user: User | None, statuses: frozenset[str] = counting.COVERAGE_STATUSES
) -> sa.Select[uuid.UUID]:
    """Ids of a regulator's finished inspections in ``statuses`` whose seal verified, in the user's scope
    (the default statuses are those that count for coverage; server.domain.counting decides)."""
    return sa.select(Inspection.id).where(
        Inspection.enterprise_id.in_(enterprise_ids_of(session, user)),
        Inspection.deleted_at.is_(None),
        Inspection.status.in_(sorted(statuses)),
        Inspection.kind != counting.SELF_KIND,
        Inspection.finished_at.is_not(None),
        evidence_holds(),
    )


def inspected_in(
    session: DbSession, user: User, starts_on: date, ends_on: date, tz: tzinfo
) -> sa.Select[Any]:
    """Ids of enterprises in scope with a counting inspection finished between the two days (inclusive)."""
    return (
        sa.select(Inspection.enterprise_id)
        .where(
            Inspection.id.in_(counting_inspections(session, user)),
            Inspection.finished_at >= clock.day_start(starts_on, tz),
            Inspection.finished_at < clock.day_end(ends_on, tz),
        )
        .distinct()
    )


def coverage_by_phase(
    session: DbSession, user: User, campaign: Campaign | None, today: date, tz: tzinfo
) -> list[PhaseCoverage]:
    """Coverage of every phase of the campaign; the phase running today is marked current.

    One pass over the counting inspections: phases do not overlap, so each inspection falls in at most one.
    """
    if campaign is None:
        return []
    in_scope = session.scalar(
        sa.select(sa.func.count()).select_from(visible_enterprise_ids(session, user).subquery())
    )
    phases = list(campaign.phases)
    counts: dict[int, int] = {}
    if phases:
        phase_of = sa.case(
            *(
                (
                    sa.and_(
                        Inspection.finished_at >= clock.day_start(p.starts_on, tz),
                        Inspection.finished_at < clock.day_end(p.ends_on, tz),
                    ),
                    p.id,
                )
                for p in phases
            ),
            else_=None,
        ).label("phase_id")
        rows = (
            sa.select(phase_of, Inspection.enterprise_id)
            .where(Inspection.id.in_(counting_inspections(session, user)))
            .distinct()
            .subquery()
        )
        grouped = session.execute(
            sa.select(rows.c.phase_id, sa.func.count())
            .where(rows.c.phase_id.is_not(None))
            .group_by(rows.c.phase_id)
        )
        counts = {phase_id: n for phase_id, n in grouped.all()}  # noqa: C416 (rows, not pairs)
    return [
        PhaseCoverage(p, counts.get(p.id, 0), in_scope or 0, p.starts_on <= today <= p.ends_on)
        for p in phases
    ]


# --- 清零 ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnterpriseClearance:
    """One enterprise's 清零 verdict, with what the sector breakdown needs.

    ``verdict`` rests on the latest approved inspection whose evidence holds (the official 清零); ``pending`` on a
    later one still awaiting review (shown apart as 待审核, never as 已清零); ``excluded`` counts the submitted or
    approved inspections that do not count because their seal failed or is missing, or their answers no longer
    equal the sealed record (the enterprise page says which and why).
    """

    enterprise_id: uuid.UUID
    sectors: frozenset[Sector]
    inspected: bool
    verdict: Clearance
    pending: Clearance | None = None
    excluded: int = 0
    #: When the inspection the official verdict rests on was finished (None: no such inspection); the
    #: dashboard's 清零 chart places each enterprise cleared now in the phase that inspection fell in.
    decided_by: datetime | None = None

    @property
    def status(self) -> counting.ClearanceStatus:
        """已清零, 待审核, 未清零 or 尚未检查."""
        return counting.clearance_status(
            official=self.verdict.cleared,
            pending=self.pending is not None and self.pending.cleared,
            inspected=self.inspected,
        )


@dataclass
class _KeyItems:
    """A catalogue version's key items with their applicability rules."""

    codes: list[str]
    rules: dict[str, ApplicabilityRule] = field(default_factory=dict)

    def applicable(self, profile: EnterpriseProfile) -> list[str]:
        return [code for code in self.codes if applies(self.rules[code], profile)]


def _key_items(session: DbSession, catalogue_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, _KeyItems]:
    rows = session.execute(
        sa.select(CatalogueItem.catalogue_id, CatalogueItem.code, CatalogueItem.applies_when)
        .where(CatalogueItem.catalogue_id.in_(set(catalogue_ids)), CatalogueItem.section == "key")
        .order_by(CatalogueItem.catalogue_id, CatalogueItem.ordinal)
    )
    by_catalogue: dict[uuid.UUID, _KeyItems] = {}
    for catalogue_id, code, applies_when in rows:
        items = by_catalogue.setdefault(catalogue_id, _KeyItems([]))
        items.codes.append(code)
        items.rules[code] = ApplicabilityRule.from_dict(applies_when)
    return by_catalogue


def current_catalogue_id(session: DbSession, today: date) -> uuid.UUID | None:
    """The catalogue version in force today (the newest one that has started)."""
    return session.scalar(
        sa.select(Catalogue.id)
        .where(Catalogue.deleted_at.is_(None), Catalogue.effective_from <= today)
        .order_by(Catalogue.effective_from.desc(), Catalogue.version.desc())
        .limit(1)
    )


def latest_inspections(
    session: DbSession,
    enterprise_ids: Any,
    user: User | None,
    statuses: frozenset[str] = counting.CLEARANCE_STATUSES,
    passed_over: Iterable[uuid.UUID] = (),
) -> sa.Subquery:
    """Each enterprise's latest inspection in each of ``statuses`` that counts (id, enterprise_id, catalogue_id, kind,
    status, finished_at), leaving out ``passed_over`` (inspections whose answers differ from their seal)."""
    where = [
        Inspection.id.in_(counting_inspections(session, user, statuses)),
        Inspection.enterprise_id.in_(enterprise_ids),
    ]
    if skip := list(passed_over):
        where.append(Inspection.id.not_in(skip))
    ranked = (
        sa.select(
            Inspection.id, Inspection.enterprise_id, Inspection.catalogue_id, Inspection.kind, Inspection.status,
            Inspection.finished_at,
            sa.func.row_number().over(
                partition_by=(Inspection.enterprise_id, Inspection.status),
                order_by=(Inspection.finished_at.desc(), Inspection.id.desc()),
            ).label("rank"),
        )
        .where(*where)
        .subquery()
    )  # fmt: skip
    return sa.select(ranked).where(ranked.c.rank == 1).subquery()


def sealed_answers_of(
    session: DbSession, inspection_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, str] | None]:
    """The answers each inspection's device sealed (item code → result; None when the record is unreadable)."""
    sealed: dict[uuid.UUID, dict[str, str] | None] = {}
    for inspection_id, text in session.execute(
        sa.select(Inspection.id, Inspection.sealed_record).where(Inspection.id.in_(list(inspection_ids)))
    ):
        try:
            record = json.loads(text) if text else None
        except ValueError:
            record = None
        sealed[inspection_id] = counting.sealed_answers(record)
    return sealed


def _latest_summaries(
    session: DbSession, ids: Any, user: User | None
) -> tuple[dict[tuple[uuid.UUID, str], tuple[uuid.UUID, InspectionSummary]], dict[uuid.UUID, int]]:
    """Each enterprise's latest approved and latest submitted inspection whose evidence holds, keyed by (enterprise,
    status), as (catalogue id, summary), and how many were passed over per enterprise because their answers differ
    from the sealed record.

    The answers come folded into one string per enterprise: turning a county's ~50,000 answer rows into Python
    objects one by one costs far more than the query itself. An inspection passed over makes the next latest
    one be looked at, so the loop runs once more only for enterprises whose latest record was altered.
    """
    answer = (
        sa.type_coerce(ItemResult.item_code, sa.String) + ":" + sa.type_coerce(ItemResult.result, sa.String)
    )
    passed_over: set[uuid.UUID] = set()
    excluded: Counter[uuid.UUID] = Counter()
    summaries: dict[tuple[uuid.UUID, str], tuple[uuid.UUID, InspectionSummary]] = {}
    wanted = ids
    while True:
        latest = latest_inspections(session, wanted, user, counting.COVERAGE_STATUSES, passed_over)
        answers = session.execute(
            sa.select(
                latest.c.enterprise_id, latest.c.id, latest.c.catalogue_id, latest.c.kind, latest.c.status,
                latest.c.finished_at, sa.func.aggregate_strings(answer, ",").label("answers"),
            )
            .select_from(latest)
            .outerjoin(ItemResult, sa.and_(ItemResult.inspection_id == latest.c.id, ItemResult.deleted_at.is_(None)))
            .group_by(latest.c.enterprise_id, latest.c.id, latest.c.catalogue_id, latest.c.kind, latest.c.status,
                      latest.c.finished_at)
        ).all()  # fmt: skip
        sealed = sealed_answers_of(session, [row.id for row in answers])
        altered: list[uuid.UUID] = []
        for row in answers:
            pairs = (p.partition(":") for p in row.answers.split(",")) if row.answers else ()
            results = {code: _RESULTS[result] for code, _, result in pairs}
            if counting.answers_differ(sealed.get(row.id), {code: r.value for code, r in results.items()}):
                passed_over.add(row.id)
                excluded[row.enterprise_id] += 1
                altered.append(row.enterprise_id)
                continue
            status = InspectionStatus(row.status).value
            summaries[row.enterprise_id, status] = (row.catalogue_id, InspectionSummary(
                id=str(row.id), kind=str(row.kind), status=status, finished_at=row.finished_at,
                results=results,
            ))  # fmt: skip
        if not altered:
            return summaries, dict(excluded)
        wanted = altered


@dataclass(frozen=True)
class CachedClearances:
    """A scope's verdicts and the change counter they are true at."""

    stamp: int
    verdicts: dict[uuid.UUID, EnterpriseClearance]


class ClearanceCache:
    """The 清零 verdicts of whole scopes, each stamped with the change counter it was computed at.

    Every write of an inspection, answer, hazard, enterprise or catalogue takes a new change number at
    commit, in commit order (server.sync_handlers.changes), so the rows written since a stamp name exactly
    the enterprises whose verdicts may have moved: only those are decided again. The dashboard is opened
    far more often than devices sync, and deciding a whole county costs a few hundred milliseconds.
    """

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], CachedClearances] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> CachedClearances | None:
        """The verdicts stored under ``key``, if any."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], entry: CachedClearances) -> None:
        """Keep ``entry`` under ``key``, dropping the least recently used beyond ``size``."""
        with self._lock:
            current = self._entries.get(key)
            if current is None or current.stamp <= entry.stamp:
                self._entries[key] = entry
                self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


#: Beyond this many changed enterprises, deciding the whole scope again is as quick as patching it.
PATCH_LIMIT = 300


def changed_enterprises(session: DbSession, after: int, upto: int) -> set[uuid.UUID] | None:
    """Enterprises whose 清零 inputs were written with change numbers in (after, upto]; None when a
    catalogue changed (every verdict may move). Each query is a range scan of a change_no index."""
    window = (after, upto)

    def numbered(model: Any) -> Any:
        return model.change_no.between(window[0] + 1, window[1])

    if session.scalar(sa.select(sa.func.count()).where(numbered(Catalogue))):
        return None
    queries = [
        sa.select(Enterprise.id).where(numbered(Enterprise)),
        sa.select(Inspection.enterprise_id).where(numbered(Inspection)),
        sa.select(Inspection.enterprise_id).join(ItemResult, ItemResult.inspection_id == Inspection.id)
        .where(numbered(ItemResult)),
        sa.select(Hazard.enterprise_id).where(numbered(Hazard)),
    ]  # fmt: skip
    return set(session.scalars(sa.union(*queries)))


def scope_clearances(
    session: DbSession, user: User, today: date, cache: ClearanceCache | None = None
) -> dict[uuid.UUID, EnterpriseClearance]:
    """The 清零 verdict of every enterprise in the user's scope.

    With ``cache``, the verdicts of all enterprises are kept once for every viewer (an enterprise's verdict
    does not depend on who looks), and only the enterprises written since the cached stamp are decided
    again; each scope then takes its own enterprises from them.
    """
    if cache is None:
        return clearances(session, user, today)
    verdicts = all_clearances(session, today, cache)
    return {
        eid: verdicts[eid]
        for eid in session.scalars(visible_enterprise_ids(session, user))
        if eid in verdicts
    }


def all_clearances(
    session: DbSession, today: date, cache: ClearanceCache
) -> dict[uuid.UUID, EnterpriseClearance]:
    """The verdicts of every enterprise, from ``cache`` patched with what was written since its stamp."""
    # Read before the data: rows committed meanwhile can only make the verdicts newer than the stamp.
    stamp = session.scalar(sa.select(ChangeCounter.value).where(ChangeCounter.id == 1)) or 0
    key = ("all", today)
    cached = cache.get(key)
    if cached is not None and cached.stamp == stamp:
        return cached.verdicts
    changed = changed_enterprises(session, cached.stamp, stamp) if cached is not None else None
    if cached is None or changed is None or len(changed) > PATCH_LIMIT:
        verdicts = clearances(session, None, today)
    else:
        verdicts = dict(cached.verdicts)
        fresh = clearances(session, None, today, list(changed)) if changed else {}
        for enterprise_id in changed:
            if enterprise_id in fresh:
                verdicts[enterprise_id] = fresh[enterprise_id]
            else:  # deleted
                verdicts.pop(enterprise_id, None)
    cache.put(key, CachedClearances(stamp, verdicts))
    return verdicts


def clearances(
    session: DbSession, user: User | None, today: date, enterprise_ids: Any | None = None
) -> dict[uuid.UUID, EnterpriseClearance]:
    """The 清零 verdict of every enterprise in scope (or of ``enterprise_ids`` within it), by the domain rules.

    The official verdict rests on each enterprise's latest approved inspection whose evidence holds; a later
    submitted one awaiting review gives the 待审核 verdict shown apart (server.domain.counting).
    """
    ids = enterprise_ids_of(session, user)
    if enterprise_ids is not None:
        ids = ids.where(Enterprise.id.in_(enterprise_ids))
    sector_columns = [getattr(Enterprise, column) for column in SECTOR_COLUMNS.values()]
    enterprises = session.execute(
        sa.select(Enterprise.id, Enterprise.dust_workers, *sector_columns).where(Enterprise.id.in_(ids))
    ).all()
    latest, excluded = _latest_summaries(session, ids, user)
    official = {
        eid: entry for (eid, status), entry in latest.items() if status in counting.CLEARANCE_STATUSES
    }
    pending = {eid: entry for (eid, status), entry in latest.items() if status == counting.PENDING_STATUS}
    # Only a review not yet made of a later inspection is pending: an older submitted one was superseded.
    pending = {
        eid: entry for eid, entry in pending.items()
        if eid not in official or _later(entry[1], official[eid][1])
    }  # fmt: skip
    failed = dict(session.execute(
        sa.select(Inspection.enterprise_id, sa.func.count())
        .where(
            Inspection.enterprise_id.in_(ids), Inspection.deleted_at.is_(None),
            Inspection.status.in_(sorted(counting.COVERAGE_STATUSES)), Inspection.kind != counting.SELF_KIND,
            Inspection.finished_at.is_not(None), sa.not_(evidence_holds()),
        )
        .group_by(Inspection.enterprise_id)
    ).all())  # fmt: skip
    linked = sa.type_coerce(Hazard.item_code, sa.String) + ":" + sa.type_coerce(Hazard.state, sa.String)
    hazard_rows = session.execute(
        sa.select(Hazard.enterprise_id, sa.func.aggregate_strings(linked, ","))
        .where(Hazard.enterprise_id.in_(ids), Hazard.item_code.is_not(None), Hazard.deleted_at.is_(None))
        .group_by(Hazard.enterprise_id)
    ).all()
    # A county has ~20,000 hazards but only (items × states) distinct links: one shared object per link.
    links: dict[str, LinkedHazard] = {}
    hazards: dict[uuid.UUID, list[LinkedHazard]] = {}
    for enterprise_id, folded in hazard_rows:
        for pair in (folded or "").split(","):
            if not pair:
                continue
            if (link := links.get(pair)) is None:
                code, _, state = pair.partition(":")
                link = links[pair] = LinkedHazard(code, _STATES[state])
            hazards.setdefault(enterprise_id, []).append(link)

    default_catalogue = current_catalogue_id(session, today)
    catalogue_ids = {catalogue_id for catalogue_id, _ in (*official.values(), *pending.values())}
    if default_catalogue is not None:
        catalogue_ids.add(default_catalogue)
    key_items = _key_items(session, catalogue_ids)
    applicable_cache: dict[tuple[Any, ...], list[str]] = {}

    def decide(
        entry: tuple[uuid.UUID | None, InspectionSummary | None], sectors: frozenset[Sector], row: Any
    ) -> Clearance:
        catalogue_id, summary = entry
        items = key_items.get(catalogue_id) if catalogue_id is not None else None
        # Enterprises share a handful of profiles: decide applicability once per profile.
        key = (catalogue_id, sectors, row.dust_workers)
        if key not in applicable_cache:
            profile = EnterpriseProfile(sectors=sectors, dust_workers=row.dust_workers)
            applicable_cache[key] = items.applicable(profile) if items else []
        return clearance(
            applicable_cache[key],
            summary,
            hazards.get(row.id, []),
            all_key_codes=items.codes if items else None,
        )

    verdicts: dict[uuid.UUID, EnterpriseClearance] = {}
    for row in enterprises:
        sectors = frozenset(s for s, flag in zip(SECTOR_COLUMNS, row[2:], strict=True) if flag)
        entry = official.get(row.id, (default_catalogue, None))
        waiting = pending.get(row.id)
        verdicts[row.id] = EnterpriseClearance(
            row.id, sectors, row.id in official or waiting is not None, decide(entry, sectors, row),
            decide(waiting, sectors, row) if waiting is not None else None,
            excluded.get(row.id, 0) + failed.get(row.id, 0),
            entry[1].finished_at if entry[1] is not None else None,
        )  # fmt: skip
    return verdicts


def standings(
    session: DbSession, inspections: Iterable[Inspection]
) -> dict[uuid.UUID, counting.InspectionStanding]:
    """How each inspection stands for the figures (server.domain.counting), its answers compared with its seal."""
    rows = list(inspections)
    answers: dict[uuid.UUID, dict[str, str]] = {}
    for inspection_id, code, result in session.execute(
        sa.select(ItemResult.inspection_id, ItemResult.item_code, ItemResult.result).where(
            ItemResult.inspection_id.in_([i.id for i in rows if i.sealed_record]),
            ItemResult.deleted_at.is_(None),
        )
    ):
        answers.setdefault(inspection_id, {})[code] = ItemResultValue(result).value
    sealed = sealed_answers_of(session, [i.id for i in rows if i.sealed_record])
    decided: dict[uuid.UUID, counting.InspectionStanding] = {}
    for i in rows:
        differ = counting.answers_differ(sealed.get(i.id), answers.get(i.id, {})) if i.sealed_record else None
        facts = counting.CountingFacts(
            kind=i.kind.value, status=i.status.value, finished=i.finished_at is not None,
            has_seal=i.sealed_record is not None, seal_verified=i.seal_verified, seal_problem=i.seal_problem,
            answers_differ=differ,
        )  # fmt: skip
        decided[i.id] = counting.standing(facts)
    return decided


def _later(a: InspectionSummary, b: InspectionSummary) -> bool:
    """Whether inspection ``a`` finished after ``b`` (ties broken by id, as the domain's latest does)."""
    return (a.finished_at, a.id) > (b.finished_at, b.id)


# Item codes hold no ':' or ',', so the folded strings split unambiguously.
# Looked up rather than constructed: an Enum call costs microseconds, and a county has ~70,000 of them.
_STATES = {state.value: state for state in HazardState}
_RESULTS = {result.value: result for result in ItemResultValue}


@dataclass(frozen=True)
class SectorClearance:
    """清零 counts for the enterprises carrying one sector flag (sector None: all enterprises)."""

    sector: Sector | None
    enterprises: int
    inspected: int
    cleared: int
    #: Not cleared officially, but cleared by an inspection awaiting review (待审核, shown apart).
    pending: int = 0

    @property
    def not_cleared(self) -> int:
        """Enterprises not (yet) cleared, inspected or not."""
        return self.enterprises - self.cleared


def clearance_by_sector(verdicts: Iterable[EnterpriseClearance]) -> list[SectorClearance]:
    """Totals per sector flag, then for all enterprises; an enterprise with several flags counts in each."""
    totals: Counter[tuple[Sector | None, str]] = Counter()
    for verdict in verdicts:
        for sector in (*verdict.sectors, None):
            totals[sector, "enterprises"] += 1
            totals[sector, "inspected"] += verdict.inspected
            totals[sector, "cleared"] += verdict.verdict.cleared
            totals[sector, "pending"] += verdict.status is counting.ClearanceStatus.pending_review
    return [
        SectorClearance(
            s, totals[s, "enterprises"], totals[s, "inspected"], totals[s, "cleared"], totals[s, "pending"]
        )
        for s in (*Sector, None)
        if totals[s, "enterprises"] or s is None
    ]


# --- hazards ------------------------------------------------------------------------------------------


def recorded_for_good() -> sa.ColumnElement[bool]:
    """SQL: the hazard is not a finding of an inspection still in draft (the tablet may still change or drop it);
    the figures and the monthly report count a finding once its inspection is submitted."""
    drafts = sa.select(Inspection.id).where(Inspection.status == "draft")
    return sa.or_(Hazard.inspection_id.is_(None), Hazard.inspection_id.not_in(drafts))


def overdue_condition(today: date) -> sa.ColumnElement[bool]:
    """SQL condition: the rectification is the enterprise's to do and its deadline has passed."""
    return sa.and_(
        Hazard.state.in_(AWAITING_ENTERPRISE), Hazard.deadline.is_not(None), Hazard.deadline < today
    )


@dataclass(frozen=True)
class HazardFigures:
    """Hazards in scope by level and state, and the two figures supervisors chase."""

    by_level_state: dict[tuple[HazardLevel, HazardState], int]
    overdue: int
    listed: int
    stop_production: int
    #: The campaign's days the figures are limited to (None: no campaign), and the hazards found outside them.
    window: Window | None = None
    before_campaign: int = 0
    after_campaign: int = 0

    @property
    def query(self) -> str:
        """The hazard list's query string that shows exactly the hazards counted here (empty: all)."""
        if self.window is None:
            return ""
        return f"found_from={self.window.starts_on.isoformat()}&found_to={self.window.ends_on.isoformat()}&counted=1"

    @property
    def before_query(self) -> str:
        """The hazard list's query string for the hazards found before the campaign's first day."""
        return (
            ""
            if self.window is None
            else f"found_to={(self.window.starts_on - timedelta(days=1)).isoformat()}"
        )

    @property
    def after_query(self) -> str:
        """The hazard list's query string for the hazards found after the campaign's last day."""
        return (
            ""
            if self.window is None
            else f"found_from={(self.window.ends_on + timedelta(days=1)).isoformat()}"
        )

    def total(self, level: HazardLevel | None = None, state: HazardState | None = None) -> int:
        """Count for one level and/or state (None: any)."""
        return sum(
            n for (lv, st), n in self.by_level_state.items() if level in (None, lv) and state in (None, st)
        )

    @property
    def open(self) -> int:
        """Hazards whose rectification is not yet accepted."""
        return sum(n for (_, st), n in self.by_level_state.items() if st in OPEN_STATES)


@dataclass(frozen=True)
class Window:
    """The campaign's days (first phase's start to last phase's end, inclusive) in the bureau's zone: campaign
    figures take only records found inside it, and list the others apart."""

    starts_on: date
    ends_on: date
    tz: tzinfo

    def inside(self, column: Any) -> sa.ColumnElement[bool]:
        """SQL: ``column`` (an aware timestamp) falls within the campaign's days."""
        return sa.and_(
            column >= clock.day_start(self.starts_on, self.tz), column < clock.day_end(self.ends_on, self.tz)
        )

    def before(self, column: Any) -> sa.ColumnElement[bool]:
        """SQL: ``column`` falls before the campaign's first day."""
        return column < clock.day_start(self.starts_on, self.tz)

    def after(self, column: Any) -> sa.ColumnElement[bool]:
        """SQL: ``column`` falls after the campaign's last day."""
        return column >= clock.day_end(self.ends_on, self.tz)


def campaign_window(campaign: Campaign | None, tz: tzinfo) -> Window | None:
    """The campaign's days (None: no campaign or no phases, so no date limit)."""
    phases = list(campaign.phases) if campaign is not None else []
    if not phases:
        return None
    return Window(min(p.starts_on for p in phases), max(p.ends_on for p in phases), tz)


def counted_hazards(session: DbSession, user: User, window: Window | None = None) -> sa.ColumnElement[bool]:
    """SQL: the hazards the dashboard counts for ``user``: in scope, not deleted, recorded for good and, with
    ``window``, found within the campaign's days (the dashboard's charts count the same hazards)."""
    visible = sa.and_(
        Hazard.enterprise_id.in_(visible_enterprise_ids(session, user)), Hazard.deleted_at.is_(None),
        recorded_for_good(),
    )  # fmt: skip
    return visible if window is None else sa.and_(visible, window.inside(Hazard.found_at))


def hazard_figures(
    session: DbSession, user: User, today: date, window: Window | None = None
) -> HazardFigures:
    """Hazard counts in scope (found within ``window`` when given), by level and state, with overdue, 挂牌督办
    and stop-production counts, and how many were found before or after the window (listed apart)."""
    visible = counted_hazards(session, user)
    in_scope = counted_hazards(session, user, window)
    grouped = session.execute(
        sa.select(Hazard.level, Hazard.state, sa.func.count())
        .where(in_scope)
        .group_by(Hazard.level, Hazard.state)
    )
    by_level_state = {(HazardLevel(lv), HazardState(st)): n for lv, st, n in grouped}
    open_states = [s.value for s in OPEN_STATES]
    row = session.execute(
        sa.select(
            sa.func.count().filter(overdue_condition(today)),
            sa.func.count().filter(Hazard.listed.is_(True)),
            sa.func.count().filter(Hazard.stop_production.is_(True), Hazard.state.in_(open_states)),
        ).where(in_scope)
    ).one()
    earlier = later = 0
    if window is not None:
        earlier, later = session.execute(
            sa.select(
                sa.func.count().filter(window.before(Hazard.found_at)),
                sa.func.count().filter(window.after(Hazard.found_at)),
            ).where(visible)
        ).one()
    return HazardFigures(by_level_state, row[0], row[1], row[2], window, earlier, later)


# --- devices and quarantine ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceRow:
    """A registered device, whose it is, when it last synced and what of it waits in quarantine."""

    device: Device
    user: User
    quarantined: int


def devices_in_scope(session: DbSession, user: User, limit: int = 200) -> list[DeviceRow]:
    """Devices of users in the user's regions (every device for an admin), the longest silent first."""
    query: Any = (
        sa.select(Device, User).join(User, Device.user_id == User.id).where(User.role != Role.enterprise)
    )
    regions = visible_region_ids(session, user)
    if regions is not None:
        query = query.where(User.region_id.in_(regions))
    pending = (
        sa.select(Quarantine.device_id, sa.func.count().label("n"))
        .where(Quarantine.resolved_at.is_(None))
        .group_by(Quarantine.device_id)
        .subquery()
    )
    query = query.add_columns(sa.func.coalesce(pending.c.n, 0)).outerjoin(
        pending, pending.c.device_id == Device.id
    )
    query = query.order_by(
        Device.revoked_at.is_not(None), Device.last_seen_at.is_(None).desc(), Device.last_seen_at
    )
    return [DeviceRow(device, owner, count) for device, owner, count in session.execute(query.limit(limit))]


def quarantine_pending(session: DbSession, user: User) -> int:
    """Refused mutations not yet resolved, from devices the user's scope covers."""
    query = sa.select(sa.func.count()).select_from(Quarantine).where(Quarantine.resolved_at.is_(None))
    regions = visible_region_ids(session, user)
    if regions is not None:
        devices = (
            sa.select(Device.id).join(User, Device.user_id == User.id).where(User.region_id.in_(regions))
        )
        query = query.where(Quarantine.device_id.in_(devices))
    return session.scalar(query) or 0


# --- the dashboard ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows."""

    today: date
    campaign: Campaign | None
    coverage: list[PhaseCoverage]
    sectors: list[SectorClearance]
    hazards: HazardFigures
    devices: list[DeviceRow]
    quarantined: int


def dashboard(
    session: DbSession, user: User, today: date, tz: tzinfo, cache: ClearanceCache | None = None
) -> Dashboard:
    """The supervisor's overview for ``today`` (a day in the bureau's zone ``tz``), within the user's scope."""
    campaign = campaign_for(session, user)
    return Dashboard(
        today=today,
        campaign=campaign,
        coverage=coverage_by_phase(session, user, campaign, today, tz),
        sectors=clearance_by_sector(scope_clearances(session, user, today, cache).values()),
        hazards=hazard_figures(session, user, today, campaign_window(campaign, tz)),
        devices=devices_in_scope(session, user),
        quarantined=quarantine_pending(session, user),
    )


# --- lists --------------------------------------------------------------------------------------------

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of a list, with how many rows match in all."""

    rows: list[Any]
    total: int
    page: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        """Number of pages (at least 1, so an empty list still has its page)."""
        return max(1, -(-self.total // self.size))


def paged(session: DbSession, query: Any, page: int, size: int = PAGE_SIZE) -> Page:
    """Run ``query`` for one page, and count all its rows."""
    page = max(1, page)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.execute(query.limit(size).offset((page - 1) * size)).all())
    return Page(rows, total, page, size)


@dataclass(frozen=True)
class HazardFilters:
    """What the hazard ledger may be narrowed to; None means any."""

    enterprise_id: uuid.UUID | None = None
    q: str | None = None
    sector: Sector | None = None
    level: HazardLevel | None = None
    state: HazardState | None = None
    source: str | None = None
    overdue: bool = False
    listed: bool = False
    open_only: bool = False
    stop_production: bool = False
    #: Only hazards found on or after / on or before these days (the bureau's days; the dashboard's window).
    found_from: date | None = None
    found_to: date | None = None
    #: Only what the figures count: not a finding of an inspection still in draft.
    counted: bool = False


def hazard_list(
    session: DbSession, user: User, filters: HazardFilters, today: date, tz: tzinfo, page: int = 1
) -> Page:
    """Hazards in scope matching ``filters``, the nearest deadline first; rows are (Hazard, enterprise name)."""
    query = (
        sa.select(Hazard, Enterprise.name)
        .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
        .where(Hazard.enterprise_id.in_(visible_enterprise_ids(session, user)), Hazard.deleted_at.is_(None))
    )
    if filters.enterprise_id is not None:
        query = query.where(Hazard.enterprise_id == filters.enterprise_id)
    if filters.q:
        like = f"%{filters.q.strip()}%"
        query = query.where(
            sa.or_(Enterprise.name.like(like), Hazard.description.like(like), Hazard.place.like(like))
        )
    if filters.sector is not None:
        query = query.where(getattr(Enterprise, SECTOR_COLUMNS[filters.sector]).is_(True))
    if filters.level is not None:
        query = query.where(Hazard.level == filters.level)
    if filters.state is not None:
        query = query.where(Hazard.state == filters.state)
    if filters.source:
        query = query.where(Hazard.source == filters.source)
    if filters.counted:
        query = query.where(recorded_for_good())
    if filters.found_from is not None:
        query = query.where(Hazard.found_at >= clock.day_start(filters.found_from, tz))
    if filters.found_to is not None:
        query = query.where(Hazard.found_at < clock.day_end(filters.found_to, tz))
    if filters.overdue:
        query = query.where(overdue_condition(today))
    if filters.listed:
        query = query.where(Hazard.listed.is_(True))
    if filters.open_only:
        query = query.where(Hazard.state.in_([s.value for s in OPEN_STATES]))
    if filters.stop_production:
        query = query.where(
            Hazard.stop_production.is_(True), Hazard.state.in_([s.value for s in OPEN_STATES])
        )
    query = query.order_by(Hazard.deadline.is_(None), Hazard.deadline, Hazard.found_at.desc(), Hazard.id)
    return paged(session, query, page)


@dataclass(frozen=True)
class EnterpriseFilters:
    """What the enterprise list may be narrowed to."""

    q: str | None = None
    sector: Sector | None = None
    region_id: int | None = None
    #: Only enterprises (not) inspected within a phase: (starts_on, ends_on, inspected?).
    inspected_between: tuple[date, date, bool] | None = None
    #: Only enterprises whose 清零 verdict is this (True: 已清零; False: not 已清零, 待审核 included).
    cleared: bool | None = None
    #: Only enterprises whose 清零 waits on an inspection under review (待审核).
    pending: bool = False


def enterprise_list(
    session: DbSession,
    user: User,
    filters: EnterpriseFilters,
    today: date,
    page: int = 1,
    cache: ClearanceCache | None = None,
    tz: tzinfo | None = None,
) -> Page:
    """Enterprises in scope matching ``filters``, by name; rows are (Enterprise, region name, 清零 verdict).

    ``tz`` (the bureau's zone) is needed only to filter by a phase's days."""
    from server.models import Region

    ids = visible_enterprise_ids(session, user)
    query = (
        sa.select(Enterprise, Region.name)
        .join(Region, Region.id == Enterprise.region_id)
        .where(Enterprise.id.in_(ids))
    )
    if filters.q:
        like = f"%{filters.q.strip()}%"
        query = query.where(
            sa.or_(
                Enterprise.name.like(like), Enterprise.credit_code.like(like), Enterprise.address.like(like)
            )
        )
    if filters.sector is not None:
        query = query.where(getattr(Enterprise, SECTOR_COLUMNS[filters.sector]).is_(True))
    if filters.region_id is not None:
        query = query.where(Enterprise.region_id == filters.region_id)
    if filters.inspected_between is not None:
        starts_on, ends_on, inspected = filters.inspected_between
        if tz is None:
            raise ValueError("a phase filter needs the bureau's time zone")
        covered = Enterprise.id.in_(inspected_in(session, user, starts_on, ends_on, tz))
        query = query.where(covered if inspected else sa.not_(covered))
    query = query.order_by(Enterprise.name, Enterprise.id)
    if filters.cleared is not None or filters.pending:
        # 清零 is derived, not stored: decide it for the candidates, then page what remains.
        verdicts = scope_clearances(session, user, today, cache)
        keep = [
            eid for eid, v in verdicts.items()
            if (filters.cleared is None or v.verdict.cleared == filters.cleared)
            and (not filters.pending or v.status is counting.ClearanceStatus.pending_review)
        ]  # fmt: skip
        query = query.where(Enterprise.id.in_(keep))
        result = paged(session, query, page)
        return Page([(e, region, verdicts[e.id]) for e, region in result.rows], result.total, result.page)
    result = paged(session, query, page)
    verdicts = clearances(session, user, today, [e.id for e, _ in result.rows])
    return Page([(e, region, verdicts.get(e.id)) for e, region in result.rows], result.total, result.page)

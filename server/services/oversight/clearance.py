"""清零 per enterprise and per sector, decided with a few aggregate queries and cached per scope by change number."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from server.domain import counting
from server.domain.applicability import ApplicabilityRule, EnterpriseProfile, applies
from server.domain.clearance import Clearance, InspectionSummary, ItemResultValue, LinkedHazard, clearance
from server.domain.hazards import HazardState
from server.domain.inspections import InspectionStatus
from server.domain.roles import Role
from server.domain.sectors import Sector
from server.models import (
    Catalogue,
    CatalogueItem,
    Enterprise,
    Hazard,
    HazardEvent,
    Inspection,
    ItemResult,
    User,
)
from server.models.enterprise import SECTOR_COLUMNS
from server.services import DbSession
from server.services.oversight.coverage import counting_inspections, enterprise_ids_of, evidence_holds
from server.services.oversight.stamped import PatchedCache, change_stamp, shared_id, transaction_memo
from server.services.scope import visible_enterprise_ids, visible_region_ids

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
    #: The enterprise's region when decided, so that a scope takes its verdicts from the cached ones without
    #: reading its enterprises' ids back (10,000 UUIDs cost ~0.2 s at province scale).
    region_id: int | None = None

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
    # The ids go with the execution, not in the statement: SQLAlchemy keeps the first statement of each shape in
    # its compiled cache, and with it a province's 15,000 ids, for every full garbage collection to walk.
    for inspection_id, text in session.execute(
        sa.select(Inspection.id, Inspection.sealed_record).where(
            Inspection.id.in_(sa.bindparam("inspection_ids", expanding=True))
        ),
        {"inspection_ids": list(inspection_ids)},
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


class ClearanceCache(PatchedCache[CachedClearances]):
    """The 清零 verdicts of whole scopes, each stamped with the change counter it was computed at.

    Every write of an inspection, answer, hazard, enterprise or catalogue takes a new change number at
    commit, in commit order (server.sync_handlers.changes), so the rows written since a stamp name exactly
    the enterprises whose verdicts may have moved: only those are decided again. The dashboard is opened
    far more often than devices sync, and deciding a whole county costs a few hundred milliseconds.
    """


#: Beyond this many changed enterprises, deciding the whole scope again is as quick as patching it.
PATCH_LIMIT = 300


def changed_enterprises(session: DbSession, after: int, upto: int) -> set[uuid.UUID] | None:
    """Enterprises whose 清零 or dashboard inputs (enterprise, inspections, answers, hazards and their events)
    were written with change numbers in (after, upto]; None when a catalogue changed (every verdict may move).
    Each query is a range scan of a change_no index."""
    # The dashboard's caches patch from the same stamps in one request: ask once per session and window (the
    # answer for committed change numbers never changes).
    memo: dict[tuple[int, int], set[uuid.UUID] | None] = transaction_memo(session).setdefault("changed", {})
    if (after, upto) in memo:
        found = memo[after, upto]
        return None if found is None else set(found)
    window = (after, upto)

    def numbered(model: Any) -> Any:
        return model.change_no.between(window[0] + 1, window[1])

    if session.scalar(sa.select(sa.func.count()).where(numbered(Catalogue))):
        memo[after, upto] = None
        return None
    queries = [
        sa.select(Enterprise.id).where(numbered(Enterprise)),
        sa.select(Inspection.enterprise_id).where(numbered(Inspection)),
        sa.select(Inspection.enterprise_id).join(ItemResult, ItemResult.inspection_id == Inspection.id)
        .where(numbered(ItemResult)),
        sa.select(Hazard.enterprise_id).where(numbered(Hazard)),
        # An event alone (synced apart from its hazard) moves the week a hazard counts as rectified in.
        sa.select(Hazard.enterprise_id).join(HazardEvent, HazardEvent.hazard_id == Hazard.id)
        .where(numbered(HazardEvent)),
    ]  # fmt: skip
    changed = set(session.scalars(sa.union(*queries)))
    memo[after, upto] = changed
    return set(changed)


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
    if user.role == Role.enterprise:
        return {
            eid: verdicts[eid]
            for eid in session.scalars(visible_enterprise_ids(session, user))
            if eid in verdicts
        }
    # The cache holds every enterprise not deleted, each with its region as of the stamp: the same rows as
    # scope.visible_enterprises (not deleted, in the user's regions).
    regions = visible_region_ids(session, user)
    if regions is None:
        return dict(verdicts)
    # The dashboard asks twice per request (its table and its chart): pick a province's 10,000 verdicts once.
    wanted = frozenset(regions)
    memo = transaction_memo(session)
    found = memo.get("scope_clearances")
    if found is not None and found[0] is verdicts and found[1] == wanted:
        return dict(found[2])
    picked = {eid: v for eid, v in verdicts.items() if v.region_id in wanted}
    memo["scope_clearances"] = (verdicts, wanted, picked)
    return dict(picked)


def all_clearances(
    session: DbSession, today: date, cache: ClearanceCache
) -> dict[uuid.UUID, EnterpriseClearance]:
    """The verdicts of every enterprise, from ``cache`` patched with what was written since its stamp."""
    # Read before the data: rows committed meanwhile can only make the verdicts newer than the stamp.
    stamp = change_stamp(session)
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
        sa.select(Enterprise.id, Enterprise.dust_workers, Enterprise.region_id, *sector_columns).where(
            Enterprise.id.in_(ids)
        )
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
    # Kept for every enterprise, yet a province has a few dozen sets of sectors: one shared frozenset per set
    # (the verdicts themselves are shared by the domain), so a full garbage collection has less to walk.
    sector_sets: dict[tuple[Any, ...], frozenset[Sector]] = {}
    for row in enterprises:
        flags = tuple(row[3:])
        if (sectors := sector_sets.get(flags)) is None:
            sectors = sector_sets[flags] = frozenset(
                s for s, flag in zip(SECTOR_COLUMNS, flags, strict=True) if flag
            )
        entry = official.get(row.id, (default_catalogue, None))
        waiting = pending.get(row.id)
        enterprise_id = shared_id(row.id)
        verdicts[enterprise_id] = EnterpriseClearance(
            enterprise_id, sectors, row.id in official or waiting is not None, decide(entry, sectors, row),
            decide(waiting, sectors, row) if waiting is not None else None,
            excluded.get(row.id, 0) + failed.get(row.id, 0),
            entry[1].finished_at if entry[1] is not None else None, row.region_id,
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
    # A province's 10,000 verdicts fall into a few dozen kinds: tally the kinds, then spread them over sectors.
    return sectors_of_kinds(Counter(kind_of(v) for v in verdicts))


def kind_of(v: EnterpriseClearance) -> tuple[frozenset[Sector], bool, bool, bool]:
    """What ``clearance_by_sector`` counts of a verdict: its sectors, inspected, cleared, cleared pending review."""
    return (v.sectors, v.inspected, v.verdict.cleared, v.pending is not None and v.pending.cleared)


def sectors_of_kinds(kinds: Counter[tuple[frozenset[Sector], bool, bool, bool]]) -> list[SectorClearance]:
    """``clearance_by_sector`` of verdicts tallied by ``kind_of``."""
    totals: Counter[tuple[Sector | None, str]] = Counter()
    for (sectors, inspected, cleared, pending_cleared), n in kinds.items():
        status = counting.clearance_status(official=cleared, pending=pending_cleared, inspected=inspected)
        for sector in (*sectors, None):
            totals[sector, "enterprises"] += n
            totals[sector, "inspected"] += n * inspected
            totals[sector, "cleared"] += n * cleared
            totals[sector, "pending"] += n * (status is counting.ClearanceStatus.pending_review)
    return [
        SectorClearance(
            s, totals[s, "enterprises"], totals[s, "inspected"], totals[s, "cleared"], totals[s, "pending"]
        )
        for s in (*Sector, None)
        if totals[s, "enterprises"] or s is None
    ]

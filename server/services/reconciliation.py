"""Reconciling inspector findings with enterprises' self-inspection ledgers, for one enterprise or a whole scope.

The rules (what counts for a phase, matching, categories, reliability) are in server.domain.reconciliation.
Here they are fed: five queries load a whole scope's findings, ledger entries, self-assessments, inspector
results and supervisors' latest decision per pair at once, selecting only the columns the matcher needs (never one
query per enterprise), and the pure matcher then runs per enterprise. A county (2,000 enterprises, 20,000 hazards)
takes about a second against the 2 s target (bench/_reconcile.py, bench/reconcile_decisions.py); with a
ReconciliationCache an unchanged database is not reconciled twice, and after a write only the enterprises written
since (their rows, hazards, events, inspections, answers, supervisors' decisions) are reconciled again.

Supervisors record their decisions here too (``decide``, ``confirm_all``): append-only rows, each audited; only
supervisors (county, city, admin) within their scope decide.
"""

from __future__ import annotations

import gc
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa

from server.domain.clearance import COUNTING_STATUSES, SELF_INSPECTION_KIND, ItemResultValue
from server.domain.hazards import HazardEventKind
from server.domain.reconciliation import (
    Finding,
    LedgerEntry,
    Match,
    PairVerdict,
    Reconciliation,
    TextCache,
    reconcile,
)
from server.domain.roles import SUPERVISOR_ROLES
from server.errors import (
    decision_not_a_finding,
    decision_not_its_ledger,
    decision_nothing_to_undo,
    decision_reason_required,
    entry_confirmed_elsewhere,
    field_too_long,
    finding_confirmed_elsewhere,
    hand_pair_reason_required,
    phase_unknown,
    reconciliation_pair_not_found,
)
from server.models import (
    Campaign,
    CampaignPhase,
    CatalogueItem,
    Enterprise,
    Hazard,
    HazardEvent,
    HazardSource,
    Inspection,
    ItemResult,
    ReconciliationDecision,
    Region,
    User,
)
from server.services import DbSession, audit, oversight
from server.services.oversight import evidence_holds
from server.services.oversight.stamped import StampedCache, change_stamp, shared_id
from server.services.scope import visible_enterprise_ids, visible_region_ids

#: Hazard sources whose hazards are inspectors' findings.
FINDING_SOURCES = (HazardSource.inspection.value, HazardSource.city_sampling.value)
#: Events by which the enterprise declares a ledger entry fixed (the first one is the claim's time).
CLAIM_KINDS = (
    HazardEventKind.rectification_reported.value,
    HazardEventKind.accepted.value,
    HazardEventKind.closed.value,
)
#: Keys of a ledger entry's 五定 terms that date its completion or acceptance (an Excel ledger has them).
CLAIM_TERMS = ("completed_on", "accepted_on")


@dataclass(frozen=True)
class PhaseWindow:
    """A campaign phase and the instants it spans: [starts, ends), local midnights as aware UTC."""

    campaign: Campaign
    phase: CampaignPhase
    starts: datetime
    ends: datetime


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """00:00 of ``day`` in ``zone``, as aware UTC."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def resolve_phase(
    session: DbSession, user: User, code: str | None, today: date, zone: tzinfo
) -> PhaseWindow | None:
    """The phase ``code`` of the user's campaign; without a code the phase running today, else the latest
    one begun, else the first. None when there is no campaign or it has no phases; the catalogue's phase_unknown for a bad code."""
    campaign = oversight.campaign_for(session, user)
    phases = list(campaign.phases) if campaign is not None else []
    if campaign is None or not phases:
        if code:
            raise phase_unknown(value=code)
        return None
    if code:
        phase = next((p for p in phases if p.code == code), None)
        if phase is None:
            raise phase_unknown(value=code)
    else:
        phase = _default_phase(session, user, campaign, today, zone)
    return _window(campaign, phase, zone)


def _window(campaign: Campaign, phase: CampaignPhase, zone: tzinfo) -> PhaseWindow:
    return PhaseWindow(
        campaign, phase, local_midnight(phase.starts_on, zone), local_midnight(phase.ends_on + timedelta(days=1), zone)
    )  # fmt: skip


def _default_phase(
    session: DbSession, user: User, campaign: Campaign, today: date, zone: tzinfo
) -> CampaignPhase:
    """The phase a page opens on: the one running today if it holds records, else the latest begun one that
    does (not an empty 回头看 just begun), else the running one, the latest begun or the first."""
    phases = list(campaign.phases)
    begun = [p for p in phases if p.starts_on <= today]
    running = campaign.phase_on(today)
    candidates = ([running] if running is not None else []) + [p for p in reversed(begun) if p is not running]
    for phase in candidates:
        if _has_records(session, user, _window(campaign, phase, zone)):
            return phase
    return running or (begun[-1] if begun else phases[0])


def _has_records(session: DbSession, user: User, window: PhaseWindow) -> bool:
    """Whether anything to reconcile happened in the phase: a hazard found (by an inspector or in a ledger) or
    an inspection finished, at an enterprise in the user's scope."""
    enterprises = visible_enterprise_ids(session, user)
    hazard = sa.select(Hazard.id).where(
        Hazard.enterprise_id.in_(enterprises), Hazard.deleted_at.is_(None),
        Hazard.found_at >= window.starts, Hazard.found_at < window.ends,
    )  # fmt: skip
    inspection = sa.select(Inspection.id).where(
        Inspection.enterprise_id.in_(enterprises), Inspection.deleted_at.is_(None),
        Inspection.finished_at >= window.starts, Inspection.finished_at < window.ends,
    )  # fmt: skip
    return bool(session.scalar(sa.select(sa.or_(sa.exists(hazard), sa.exists(inspection)))))


# --- loading --------------------------------------------------------------------------------------------


@dataclass
class _Inputs:
    """One enterprise's share of the loaded rows."""

    findings: list[Finding]
    entries: list[LedgerEntry]
    self_assessment: dict[str, ItemResultValue]
    inspector_results: dict[str, ItemResultValue]
    self_inspection_id: uuid.UUID | None = None
    inspection_id: uuid.UUID | None = None


# Looked up rather than constructed: an Enum call costs microseconds, and a county has tens of thousands.
_RESULTS = {r.value: r for r in ItemResultValue}


def _text(column: Any) -> Any:
    """A UUID ``column`` read as text: a county has ~100,000 of them, and making each a uuid.UUID (in
    SQLAlchemy on SQLite, in the driver on PostgreSQL) costs more than the query. Enterprise ids are grouped
    on as they come; hazard ids are made canonical by _uuid_text."""
    return sa.cast(column, sa.String)


def _uuid_text(raw: Any) -> str:
    """A UUID read by _text as canonical text (SQLite keeps 32 hex digits, PostgreSQL gives it dashed)."""
    raw = str(raw)
    if len(raw) == 32:
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    return raw


def _claim_date(raw: Any, zone: tzinfo) -> datetime | None:
    """A completion/acceptance date of the terms as the end of that local day (the hour is unknown: the
    enterprise is given the benefit of the doubt against a finding made the same day)."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(str(raw).strip()[:10])
    except ValueError:
        return None
    return local_midnight(day + timedelta(days=1), zone)


def _latest_answers(
    session: DbSession, ids: Any, conditions: Iterable[sa.ColumnElement[bool]]
) -> dict[Any, tuple[uuid.UUID, dict[str, ItemResultValue]]]:
    """Each enterprise's latest inspection meeting ``conditions`` (by finish time, then id), with its answers
    folded into one string per enterprise (as server.services.oversight.clearances does); keyed as _load."""
    ranked = (
        sa.select(
            Inspection.id, Inspection.enterprise_id,
            sa.func.row_number().over(
                partition_by=Inspection.enterprise_id, order_by=(Inspection.finished_at.desc(), Inspection.id.desc())
            ).label("rank"),
        )
        .where(Inspection.enterprise_id.in_(ids), Inspection.deleted_at.is_(None), Inspection.finished_at.is_not(None),
               *conditions)
        .subquery()
    )  # fmt: skip
    latest = sa.select(ranked.c.id, ranked.c.enterprise_id).where(ranked.c.rank == 1).subquery()
    answer = (
        sa.type_coerce(ItemResult.item_code, sa.String) + ":" + sa.type_coerce(ItemResult.result, sa.String)
    )
    rows = session.execute(
        sa.select(_text(latest.c.enterprise_id), latest.c.id, sa.func.aggregate_strings(answer, ","))
        .outerjoin(ItemResult, sa.and_(ItemResult.inspection_id == latest.c.id, ItemResult.deleted_at.is_(None)))
        .group_by(latest.c.enterprise_id, latest.c.id)
    ).all()  # fmt: skip
    out: dict[Any, tuple[uuid.UUID, dict[str, ItemResultValue]]] = {}
    for enterprise_id, inspection_id, folded in rows:
        pairs = (p.partition(":") for p in folded.split(",")) if folded else ()
        out[enterprise_id] = (inspection_id, {code: _RESULTS[value] for code, _, value in pairs})
    return out


def _load(session: DbSession, ids: Any, window: PhaseWindow, zone: tzinfo) -> dict[Any, _Inputs]:
    """Findings, ledger entries, self-assessments and inspector results of the enterprises ``ids``, keyed by
    the enterprise id as the driver gives it (see _raw)."""
    inputs: dict[Any, _Inputs] = {}

    def of(enterprise_id: Any) -> _Inputs:
        found = inputs.get(enterprise_id)
        if found is None:
            found = inputs[enterprise_id] = _Inputs([], [], {}, {})
        return found

    findings = session.execute(
        sa.select(_text(Hazard.enterprise_id), _text(Hazard.id), Hazard.item_code, Hazard.place, Hazard.description,
                  Hazard.found_at, Hazard.level, Hazard.state, Hazard.deadline, Hazard.listed,
                  _text(Hazard.inspection_id))
        .join(Inspection, Inspection.id == Hazard.inspection_id)
        .where(Hazard.enterprise_id.in_(ids), Hazard.deleted_at.is_(None), Hazard.source.in_(FINDING_SOURCES),
               Hazard.found_at >= window.starts, Hazard.found_at < window.ends,
               Inspection.deleted_at.is_(None), Inspection.status.in_(sorted(COUNTING_STATUSES)),
               Inspection.kind != SELF_INSPECTION_KIND, evidence_holds())
    )  # fmt: skip
    for (
        enterprise_id,
        hazard_id,
        code,
        place,
        text,
        found_at,
        level,
        state,
        deadline,
        listed,
        inspection_id,
    ) in findings:
        of(enterprise_id).findings.append(Finding(
            _uuid_text(hazard_id), code, place, text, found_at, level, state, deadline, bool(listed),
            _uuid_text(inspection_id),
        ))  # fmt: skip

    # Each entry's first claim. Measured at county scale: SQLite is quickest with one index lookup per entry
    # (a correlated subquery), PostgreSQL with one grouped pass over the events joined by hash.
    claims = sa.and_(HazardEvent.kind.in_(CLAIM_KINDS), HazardEvent.deleted_at.is_(None))
    completed, accepted = (Hazard.terms[key].as_string() for key in CLAIM_TERMS)
    columns = (_text(Hazard.enterprise_id), _text(Hazard.id), Hazard.item_code, Hazard.place, Hazard.description,
               Hazard.found_at, Hazard.level, Hazard.state, Hazard.deadline, Hazard.listed, Hazard.ledger_no)  # fmt: skip
    if session.get_bind().dialect.name == "sqlite":
        first = sa.select(sa.func.min(HazardEvent.at)).where(HazardEvent.hazard_id == Hazard.id, claims)
        query = sa.select(*columns, first.scalar_subquery(), completed, accepted)
    else:
        grouped = (
            sa.select(HazardEvent.hazard_id, sa.func.min(HazardEvent.at).label("at"))
            .where(claims)
            .group_by(HazardEvent.hazard_id)
            .subquery()
        )
        query = sa.select(*columns, grouped.c.at, completed, accepted).outerjoin(
            grouped, grouped.c.hazard_id == Hazard.id
        )
    entries = session.execute(
        query.where(Hazard.enterprise_id.in_(ids), Hazard.deleted_at.is_(None),
                    Hazard.source == HazardSource.self_ledger.value, Hazard.found_at < window.ends)
    )  # fmt: skip
    for (enterprise_id, hazard_id, code, place, text, found_at, level, state, deadline, listed, number, claimed,
         completed_on, accepted_on) in entries:  # fmt: skip
        for raw in (completed_on, accepted_on):
            if raw:  # an Excel ledger's dates (rarely set): the earliest claim counts
                dated = _claim_date(raw, zone)
                if dated is not None and (claimed is None or dated < claimed):
                    claimed = dated
        of(enterprise_id).entries.append(LedgerEntry(
            _uuid_text(hazard_id), code, place, text, found_at, level, state, claimed, deadline, bool(listed), number,
        ))  # fmt: skip

    statuses = sorted(COUNTING_STATUSES)
    own = _latest_answers(session, ids, [
        Inspection.kind == SELF_INSPECTION_KIND, Inspection.status.in_(statuses), Inspection.finished_at < window.ends,
    ])  # fmt: skip
    for enterprise_id, (inspection_id, results) in own.items():
        target = of(enterprise_id)
        target.self_inspection_id, target.self_assessment = inspection_id, results
    # The regulator's answers count only from an inspection whose device seal verified (server.domain.counting).
    theirs = _latest_answers(session, ids, [
        Inspection.kind != SELF_INSPECTION_KIND, Inspection.status.in_(statuses),
        Inspection.finished_at >= window.starts, Inspection.finished_at < window.ends, evidence_holds(),
    ])  # fmt: skip
    for enterprise_id, (inspection_id, results) in theirs.items():
        target = of(enterprise_id)
        target.inspection_id, target.inspector_results = inspection_id, results
    return inputs


def _latest_decision_ids(ids: Any) -> Any:
    """The id of the latest decision on each pair of the enterprises ``ids`` (a subquery)."""
    d = ReconciliationDecision
    return (
        sa.select(sa.func.max(d.id)).where(d.enterprise_id.in_(ids)).group_by(d.finding_id, d.entry_id)
    ).scalar_subquery()


def _load_decisions(session: DbSession, ids: Any) -> dict[Any, dict[tuple[str, str], PairVerdict]]:
    """The latest verdict on each decided pair of the enterprises ``ids``, in one query; keyed as _load."""
    d = ReconciliationDecision
    rows = session.execute(
        sa.select(_text(d.enterprise_id), _text(d.finding_id), _text(d.entry_id), d.verdict).where(
            d.id.in_(_latest_decision_ids(ids)), d.verdict != PairVerdict.withdrawn
        )
    )
    out: dict[Any, dict[tuple[str, str], PairVerdict]] = {}
    for enterprise_id, finding_id, entry_id, verdict in rows:
        out.setdefault(enterprise_id, {})[(_uuid_text(finding_id), _uuid_text(entry_id))] = verdict
    return out


def key_items(session: DbSession, today: date) -> list[tuple[str, str]]:
    """The key items (code, text) of the catalogue in force, in catalogue order."""
    catalogue_id = oversight.current_catalogue_id(session, today)
    if catalogue_id is None:
        return []
    rows = session.execute(
        sa.select(CatalogueItem.code, CatalogueItem.text)
        .where(CatalogueItem.catalogue_id == catalogue_id, CatalogueItem.section == "key")
        .order_by(CatalogueItem.ordinal)
    )
    return [(code, text) for code, text in rows]


# --- results --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnterpriseReconciliation:
    """One enterprise's reconciliation for the phase, with the inspections its item comparison came from."""

    enterprise_id: uuid.UUID
    name: str
    region: str
    result: Reconciliation
    self_inspection_id: uuid.UUID | None
    inspection_id: uuid.UUID | None

    @property
    def has_data(self) -> bool:
        """Whether there is anything to reconcile: a finding, a ledger entry or an item compared."""
        return bool(self.result.findings or self.result.entries or self.result.items)


class _CollectorPause:
    """Who is pausing the collector now. It is one switch for the whole process, and a worker's threads may
    reconcile at once: the first pause turns it off, and only the last one to end turns it on again, if it
    was on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.was_enabled = False


_PAUSE = _CollectorPause()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a county's rows become objects.

    Reconciling a county makes some 200,000 short-lived objects, and each full collection walks every object
    the process holds (the app's included): measured, the collections cost as much as the queries. Nothing
    made here forms a cycle, so reference counting frees it all the same; the collector runs again after the
    last overlapping pause.
    """
    with _PAUSE.lock:
        if _PAUSE.holders == 0:
            _PAUSE.was_enabled = gc.isenabled()
            gc.disable()
        _PAUSE.holders += 1
    try:
        yield
    finally:
        with _PAUSE.lock:
            _PAUSE.holders -= 1
            if _PAUSE.holders == 0 and _PAUSE.was_enabled:
                gc.enable()


def _reconcile_all(
    session: DbSession, ids: Any, window: PhaseWindow, today: date, zone: tzinfo
) -> list[EnterpriseReconciliation]:
    with _collector_paused():
        return _reconcile_each(session, ids, window, today, zone)


def _reconcile_each(
    session: DbSession, ids: Any, window: PhaseWindow, today: date, zone: tzinfo
) -> list[EnterpriseReconciliation]:
    names = session.execute(
        sa.select(_text(Enterprise.id), Enterprise.name, Region.name)
        .join(Region, Region.id == Enterprise.region_id)
        .where(Enterprise.id.in_(ids))
    ).all()
    inputs = _load(session, ids, window, zone)
    decided = _load_decisions(session, ids)
    order = [code for code, _ in key_items(session, today)]
    out = []
    cache = TextCache()
    # Most enterprises have nothing to reconcile but their items' comparison, and those results repeat: one shared
    # (immutable) result per value spares a worker's full garbage collections a kept copy per enterprise. Keyed by
    # the items' identities (the comparisons are shared too, and the kept result holds them alive meanwhile).
    bare: dict[tuple[int, ...], Reconciliation] = {}
    for raw_id, name, region in names:
        got = inputs.get(raw_id) or _Inputs([], [], {}, {})
        result = reconcile(
            got.findings, got.entries, today, self_assessment=got.self_assessment,
            inspector_results=got.inspector_results, item_order=order, cache=cache, decisions=decided.get(raw_id),
        )  # fmt: skip
        if not (
            result.self_reported or result.claimed_fixed_but_present or result.missed or result.recorded_after
            or result.ledger_only or result.overdue
        ):  # fmt: skip
            result = bare.setdefault(tuple(map(id, result.items)), result)
        out.append(EnterpriseReconciliation(
            shared_id(uuid.UUID(_uuid_text(raw_id))), name, region, result, got.self_inspection_id, got.inspection_id
        ))  # fmt: skip
    return out


def reconcile_enterprise(
    session: DbSession, user: User, enterprise_id: uuid.UUID, window: PhaseWindow, today: date,
    zone: tzinfo,
) -> EnterpriseReconciliation | None:  # fmt: skip
    """One enterprise's reconciliation for the phase; None when it is unknown or outside the user's scope."""
    ids = visible_enterprise_ids(session, user).where(Enterprise.id == enterprise_id)
    found = _reconcile_all(session, ids, window, today, zone)
    return found[0] if found else None


#: How the county table can be ordered: key → (label, sort key). Reliability None (no findings) sorts last.
SORTS: dict[str, str] = {
    "reliability": "可信度从低到高 / least reliable first",
    "confirmed": "已确认可信度从低到高 / least confirmed reliability first",
    "awaiting": "待确认最多 / most awaiting confirmation",
    "-reliability": "可信度从高到低 / most reliable first",
    "missed": "自查不到位最多 / most missed",
    "claimed": "整改不实最多 / most claimed fixed but present",
    "overstated": "自评不实最多 / most overstated self-assessments",
    "overdue": "逾期最多 / most overdue",
    "name": "企业名称 / name",
}


def _sort_key(sort: str) -> Any:
    def ties(row: EnterpriseReconciliation) -> tuple[Any, ...]:
        r = row.result
        return (-len(r.missed), -len(r.claimed_fixed_but_present), -r.overstated_items, -len(r.overdue),
                row.name, str(row.enterprise_id))  # fmt: skip

    def reliability(row: EnterpriseReconciliation) -> tuple[Any, ...]:
        value = row.result.reliability
        return (value is None, value if value is not None else 0.0, *ties(row))

    def confirmed(row: EnterpriseReconciliation) -> tuple[Any, ...]:
        value = row.result.confirmed_reliability
        return (value is None, value if value is not None else 0.0, *ties(row))

    keys = {
        "reliability": reliability,
        "confirmed": confirmed,
        "awaiting": lambda row: (-row.result.awaiting_confirmation, *reliability(row)),
        "-reliability": lambda row: (row.result.reliability is None, -(row.result.reliability or 0.0), *ties(row)),
        "missed": lambda row: (-len(row.result.missed), *reliability(row)),
        "claimed": lambda row: (-len(row.result.claimed_fixed_but_present), *reliability(row)),
        "overstated": lambda row: (-row.result.overstated_items, *reliability(row)),
        "overdue": lambda row: (-len(row.result.overdue), *reliability(row)),
        "name": lambda row: (row.name, str(row.enterprise_id)),
    }  # fmt: skip
    return keys[sort]


@dataclass(frozen=True)
class Totals:
    """The scope's figures summed over its enterprises."""

    enterprises: int
    with_data: int
    findings: int
    ledger_entries: int
    self_reported: int
    #: Self-reported findings whose pair a supervisor confirmed (the only ones a scored figure counts).
    confirmed_self_reported: int
    #: Pairs the matcher proposed that no supervisor confirmed yet (待确认).
    awaiting_confirmation: int
    missed: int
    claimed_fixed_but_present: int
    recorded_after: int
    ledger_only: int
    overdue: int
    overstated_items: int
    differing_items: int

    @property
    def reliability(self) -> float | None:
        """The scope's share of findings the ledgers held and did not claim fixed, as proposed."""
        return self.self_reported / self.findings if self.findings else None

    @property
    def confirmed_reliability(self) -> float | None:
        """The same share counting pairs a supervisor confirmed only."""
        return self.confirmed_self_reported / self.findings if self.findings else None


@dataclass(frozen=True)
class ScopeReconciliation:
    """Every enterprise in scope with something to reconcile, ranked; and the totals."""

    window: PhaseWindow
    rows: list[EnterpriseReconciliation]
    totals: Totals


class ReconciliationCache(StampedCache):
    """Whole scopes' reconciliations, each stamped with the change counter it was computed at, kept per enterprise.

    Every write of a hazard, hazard event, inspection, answer, enterprise or catalogue takes a new change
    number at commit (server.sync_handlers.changes), in commit order, so the rows written since a stamp name
    the enterprises whose reconciliation may have moved: only those are reconciled again (as the 清零 cache
    does), and paging or re-sorting the county table, or opening its JSON, costs nothing. A supervisor's decision
    adds a row to an append-only table that takes no change number: the decisions' count and highest id are kept
    with the rows, and the decisions added since name their enterprises too.
    """

    def __init__(self, size: int = 8) -> None:
        super().__init__(size)

    def latest(self, key: tuple[Any, ...]) -> tuple[int, _ScopeRows] | None:
        """The newest rows kept under ``key`` whatever their stamp, with that stamp: what a patch starts from."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found


@dataclass(frozen=True)
class _Decided:
    """How many decisions there were, and the highest id among them (one statement: one snapshot)."""

    count: int
    highest: int


@dataclass(frozen=True)
class _ScopeRows:
    """A scope's reconciliations by enterprise, and the decisions they saw."""

    decided: _Decided
    rows: dict[uuid.UUID, EnterpriseReconciliation]


def _decided_since(session: DbSession, highest: int) -> tuple[_Decided, int]:
    """The decisions now, and how many of them have an id above ``highest``, read in one statement."""
    d = ReconciliationDecision
    count, top, above = session.execute(
        sa.select(sa.func.count(d.id), sa.func.max(d.id), sa.func.sum(sa.case((d.id > highest, 1), else_=0)))
    ).one()
    return _Decided(int(count or 0), int(top or 0)), int(above or 0)


def _changed_since(
    session: DbSession, after: int, upto: int, before: _Decided, now: _Decided, above: int
) -> set[uuid.UUID] | None:
    """Enterprises whose reconciliation inputs were written with change numbers in (after, upto] or that got a
    decision since ``before``; None when every row may have moved (a catalogue changed) or when a decision with
    a lower id than one already seen committed late (ids are taken before commit): then the scope is redone."""
    changed = oversight.changed_enterprises(session, after, upto)
    if changed is None:
        return None
    # A ledger entry's claim is the first of its claim events: an event written alone moves it too.
    changed |= set(
        session.scalars(
            sa.select(Hazard.enterprise_id)
            .join(HazardEvent, HazardEvent.hazard_id == Hazard.id)
            .where(HazardEvent.change_no.between(after + 1, upto))
            .distinct()
        )
    )
    if now != before:
        # Never changed nor deleted, so every decision added since is either above the highest seen or late.
        if before.count + above != now.count:
            return None
        d = ReconciliationDecision
        changed |= set(
            session.scalars(
                sa.select(d.enterprise_id).where(d.id > before.highest, d.id <= now.highest).distinct()
            )
        )
    return changed


def _scope_rows(
    session: DbSession,
    user: User,
    window: PhaseWindow,
    today: date,
    zone: tzinfo,
    cache: ReconciliationCache | None,
) -> list[EnterpriseReconciliation]:
    if cache is None:
        return _reconcile_all(session, visible_enterprise_ids(session, user), window, today, zone)
    # Read before the data: rows committed meanwhile can only make the result newer than its stamp.
    stamp = change_stamp(session)
    regions = visible_region_ids(session, user)
    # The regions' names are shown in the rows and take no change number: a renamed region reconciles afresh.
    names = tuple(
        (id_, name) for id_, name in session.execute(sa.select(Region.id, Region.name).order_by(Region.id))
    )
    key = (user.role.value, user.enterprise_id, None if regions is None else tuple(sorted(regions)), window.phase.id,
           window.starts, window.ends, today, names)  # fmt: skip
    held = cache.latest(key)
    decided, above = _decided_since(session, held[1].decided.highest if held is not None else 0)
    if held is not None and held[0] == stamp and held[1].decided == decided:
        return list(held[1].rows.values())
    changed = (
        _changed_since(session, held[0], stamp, held[1].decided, decided, above) if held is not None else None
    )
    if held is None or changed is None or len(changed) > oversight.PATCH_LIMIT:
        fresh = _reconcile_all(session, visible_enterprise_ids(session, user), window, today, zone)
        rows = {row.enterprise_id: row for row in fresh}
    else:
        rows = dict(held[1].rows)
        if changed:
            ids = visible_enterprise_ids(session, user).where(Enterprise.id.in_(list(changed)))
            patched = _reconcile_all(session, ids, window, today, zone)
            for enterprise_id in changed:  # gone from the scope unless reconciled again
                rows.pop(enterprise_id, None)
            rows.update((row.enterprise_id, row) for row in patched)
    cache.put(key, stamp, _ScopeRows(decided, rows))
    return list(rows.values())


def reconcile_scope(
    session: DbSession, user: User, window: PhaseWindow, today: date, *, sort: str = "reliability",
    zone: tzinfo, cache: ReconciliationCache | None = None,
) -> ScopeReconciliation:  # fmt: skip
    """Every enterprise in the user's scope reconciled for the phase, ranked by ``sort`` (a key of SORTS;
    by default the least reliable self-inspection first). Enterprises with nothing to reconcile are counted
    in the totals but not listed. With ``cache``, an unchanged database is not reconciled again."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    everything = _scope_rows(session, user, window, today, zone, cache)
    rows = sorted((row for row in everything if row.has_data), key=_sort_key(sort))
    results = [row.result for row in rows]
    totals = Totals(
        enterprises=len(everything),
        with_data=len(rows),
        findings=sum(r.findings for r in results),
        ledger_entries=sum(r.entries for r in results),
        self_reported=sum(len(r.self_reported) for r in results),
        confirmed_self_reported=sum(r.confirmed_self_reported for r in results),
        awaiting_confirmation=sum(r.awaiting_confirmation for r in results),
        missed=sum(len(r.missed) for r in results),
        claimed_fixed_but_present=sum(len(r.claimed_fixed_but_present) for r in results),
        recorded_after=sum(len(r.recorded_after) for r in results),
        ledger_only=sum(len(r.ledger_only) for r in results),
        overdue=sum(len(r.overdue) for r in results),
        overstated_items=sum(r.overstated_items for r in results),
        differing_items=sum(r.differing_items for r in results),
    )
    return ScopeReconciliation(window, rows, totals)


# --- supervisors' decisions -----------------------------------------------------------------------------

#: The longest reason a decision keeps.
REASON_LIMIT = 500


@dataclass(frozen=True)
class DecisionView:
    """The latest decision on a pair, as the page shows it: what, why, who and when."""

    id: int
    finding_id: str
    entry_id: str
    verdict: PairVerdict
    reason: str | None
    decided_by: str
    decided_at: datetime


def enterprise_decisions(session: DbSession, enterprise_id: uuid.UUID) -> dict[tuple[str, str], DecisionView]:
    """The latest decision on each decided pair of one enterprise (withdrawn ones left out), by (finding, entry)."""
    d = ReconciliationDecision
    rows = session.execute(
        sa.select(d.id, _text(d.finding_id), _text(d.entry_id), d.verdict, d.reason, User.display_name, d.decided_at)
        .join(User, User.id == d.decided_by_id)
        .where(d.id.in_(_latest_decision_ids([enterprise_id])), d.verdict != PairVerdict.withdrawn)
    )  # fmt: skip
    out = {}
    for row_id, finding_id, entry_id, verdict, reason, by, at in rows:
        view = DecisionView(row_id, _uuid_text(finding_id), _uuid_text(entry_id), verdict, reason, by, at)
        out[(view.finding_id, view.entry_id)] = view
    return out


def _latest_verdict(session: DbSession, finding_id: uuid.UUID, entry_id: uuid.UUID) -> PairVerdict | None:
    d = ReconciliationDecision
    return session.scalar(
        sa.select(d.verdict)
        .where(d.finding_id == finding_id, d.entry_id == entry_id)
        .order_by(d.id.desc())
        .limit(1)
    )


def _confirmed_elsewhere(session: DbSession, finding: Hazard, entry: Hazard, window: PhaseWindow) -> None:
    """Refuse to confirm a pair when the finding is confirmed with another entry, or the entry with another finding
    of the same phase (in a later phase the inspector may find the hazard the entry recorded again: 回头看)."""
    d = ReconciliationDecision

    def latest(column: Any, record_id: uuid.UUID) -> Any:
        return (
            sa.select(sa.func.max(d.id))
            .where(column == record_id)
            .group_by(d.finding_id, d.entry_id)
            .scalar_subquery()
        )

    other_entry = session.scalar(
        sa.select(d.entry_id)
        .where(
            d.id.in_(latest(d.finding_id, finding.id)), d.verdict == PairVerdict.same, d.entry_id != entry.id
        )
        .limit(1)
    )
    if other_entry is not None:
        raise finding_confirmed_elsewhere(entry=_short(session.get(Hazard, other_entry)))
    other_finding = session.scalar(
        sa.select(d.finding_id)
        .join(Hazard, Hazard.id == d.finding_id)
        .where(d.id.in_(latest(d.entry_id, entry.id)), d.verdict == PairVerdict.same, d.finding_id != finding.id,
               Hazard.found_at >= window.starts, Hazard.found_at < window.ends)
        .limit(1)
    )  # fmt: skip
    if other_finding is not None:
        raise entry_confirmed_elsewhere(finding=_short(session.get(Hazard, other_finding)))


def _short(hazard: Hazard | None) -> str:
    """A record named in a refusal: its ledger number and the start of its description."""
    if hazard is None:
        return ""
    text = hazard.description if len(hazard.description) <= 40 else hazard.description[:40] + "…"
    return f"{hazard.ledger_no} {text}" if hazard.ledger_no else text


def _pair_in_scope(
    session: DbSession, user: User, finding_id: uuid.UUID, entry_id: uuid.UUID
) -> tuple[Hazard, Hazard]:
    """The finding and the ledger entry of a pair a supervisor may decide, or the catalogue's refusal."""
    if user.role not in SUPERVISOR_ROLES:
        raise reconciliation_pair_not_found()
    visible = visible_enterprise_ids(session, user)
    found = {
        h.id: h
        for h in session.scalars(
            sa.select(Hazard).where(
                Hazard.id.in_([finding_id, entry_id]),
                Hazard.deleted_at.is_(None),
                Hazard.enterprise_id.in_(visible),
            )
        )
    }
    finding, entry = found.get(finding_id), found.get(entry_id)
    if finding is None or entry is None:
        raise reconciliation_pair_not_found()
    if finding.source.value not in FINDING_SOURCES:
        raise decision_not_a_finding(description=_short(finding))
    if entry.enterprise_id != finding.enterprise_id or entry.source != HazardSource.self_ledger:
        raise decision_not_its_ledger(description=_short(entry))
    return finding, entry


def _proposed(session: DbSession, user: User, finding: Hazard, entry: Hazard, window: PhaseWindow, today: date,
              zone: tzinfo) -> bool:  # fmt: skip
    """Whether the matcher proposes the pair in the phase (so confirming it needs no reason)."""
    row = reconcile_enterprise(session, user, finding.enterprise_id, window, today, zone)
    pair = (str(finding.id), str(entry.id))
    return row is not None and any((m.finding.id, m.entry.id) == pair for m in row.result.pairs)


def _append(
    session: DbSession, user: User, finding: Hazard, entry: Hazard, verdict: PairVerdict, reason: str | None,
    previous: PairVerdict | None, *, by_hand: bool = False, bulk: bool = False,
) -> ReconciliationDecision:  # fmt: skip
    row = ReconciliationDecision(
        finding_id=finding.id, entry_id=entry.id, enterprise_id=finding.enterprise_id, verdict=verdict, reason=reason,
        decided_by_id=user.id,
    )  # fmt: skip
    session.add(row)
    session.flush()
    data: dict[str, Any] = {
        "finding_id": str(finding.id), "entry_id": str(entry.id), "enterprise_id": str(finding.enterprise_id),
        "verdict": verdict.value, "reason": reason, "previous": previous.value if previous else None,
    }  # fmt: skip
    if by_hand:
        data["by_hand"] = True
    if bulk:
        data["confirm_all"] = True
    audit.record(session, user, f"reconciliation.{verdict.value}", "reconciliation_decision", row.id, data)
    return row


def decide(
    session: DbSession, user: User, enterprise_id: uuid.UUID, finding_id: uuid.UUID, entry_id: uuid.UUID,
    verdict: PairVerdict, reason: str | None, window: PhaseWindow, today: date, zone: tzinfo,
) -> ReconciliationDecision | None:  # fmt: skip
    """Record a supervisor's decision on a pair of one enterprise (confirm, reject, pair by hand, or undo with
    ``withdrawn``), audited; the catalogue's refusals otherwise. None when the pair already stands so (a repeated
    click). Caller commits."""
    # Decided one at a time: a check below passing for two supervisors at once would confirm one finding twice.
    audit.serialise(session)
    finding, entry = _pair_in_scope(session, user, finding_id, entry_id)
    if finding.enterprise_id != enterprise_id:
        raise reconciliation_pair_not_found()
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > REASON_LIMIT:
        raise field_too_long(field="理由", field_en="Reason", length=len(reason), limit=REASON_LIMIT)
    previous = _latest_verdict(session, finding.id, entry.id)
    by_hand = False
    if verdict is PairVerdict.withdrawn:
        if previous in (None, PairVerdict.withdrawn):
            raise decision_nothing_to_undo()
    elif verdict is previous:
        return None
    elif verdict is PairVerdict.different:
        if reason is None:
            raise decision_reason_required()
    else:
        _confirmed_elsewhere(session, finding, entry, window)
        by_hand = not _proposed(session, user, finding, entry, window, today, zone)
        if by_hand and reason is None:
            raise hand_pair_reason_required()
    return _append(session, user, finding, entry, verdict, reason, previous, by_hand=by_hand)


def confirm_all(
    session: DbSession, user: User, enterprise_id: uuid.UUID, window: PhaseWindow, today: date, zone: tzinfo
) -> list[Match]:
    """Confirm every pair the matcher proposes for one enterprise in the phase, one audited decision each; the pairs
    confirmed. Caller commits."""
    if user.role not in SUPERVISOR_ROLES:
        raise reconciliation_pair_not_found()
    audit.serialise(session)  # as in decide: the proposals are read after any decision committed meanwhile
    row = reconcile_enterprise(session, user, enterprise_id, window, today, zone)
    if row is None:
        raise reconciliation_pair_not_found()
    proposals = [m for m in row.result.pairs if not m.confirmed]
    hazards = {
        h.id: h
        for h in session.scalars(
            sa.select(Hazard).where(
                Hazard.id.in_([uuid.UUID(i) for m in proposals for i in (m.finding.id, m.entry.id)])
            )
        )
    }
    for m in proposals:
        finding, entry = hazards[uuid.UUID(m.finding.id)], hazards[uuid.UUID(m.entry.id)]
        # None, or withdrawn: a pair with a standing decision is either confirmed already or never proposed.
        previous = _latest_verdict(session, finding.id, entry.id)
        _append(session, user, finding, entry, PairVerdict.same, None, previous, bulk=True)
    return proposals

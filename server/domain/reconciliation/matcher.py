"""One enterprise's reconciliation: one-to-one greedy matching in two passes, the categories, overdue records and reliability."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from server.domain.clearance import ItemResultValue
from server.domain.hazards import HazardStatus
from server.domain.reconciliation.decisions import Decisions, PairVerdict
from server.domain.reconciliation.places import _sides_conflict
from server.domain.reconciliation.scoring import (
    Finding,
    LedgerEntry,
    Match,
    PairScore,
    TextCache,
    _acts_conflict,
    _compatible,
    _order,
    _pair,
    _place_agreement,
    _Prepared,
)
from server.domain.reconciliation.self_assessment import ItemComparison, ItemVerdict, compare_items
from server.domain.reconciliation.text import (
    _LEAST_CONCEPT_DESCRIPTION,
    _LEAST_DESCRIPTION,
    ABSENT,
    BROKEN,
    CONCEPT_BONUS,
    ITEM_BONUS,
    PLACE_MIN,
    PLACE_WEIGHT,
)

# --- reconciliation -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Overdue:
    """A finding or ledger entry past its rectification deadline; ``days`` past it."""

    record: Finding | LedgerEntry
    days: int

    @property
    def is_finding(self) -> bool:
        """True for an inspector's finding, False for a ledger entry."""
        return isinstance(self.record, Finding)


@dataclass(frozen=True)
class Reconciliation:
    """The findings and ledger entries of one enterprise and phase, sorted into the categories."""

    self_reported: tuple[Match, ...]
    claimed_fixed_but_present: tuple[Match, ...]
    missed: tuple[Finding, ...]
    recorded_after: tuple[Match, ...]
    ledger_only: tuple[LedgerEntry, ...]
    overdue: tuple[Overdue, ...]
    items: tuple[ItemComparison, ...] = field(default=())

    @property
    def findings(self) -> int:
        """How many findings were reconciled."""
        return len(self.self_reported) + len(self.claimed_fixed_but_present) + len(self.missed)

    @property
    def entries(self) -> int:
        """How many ledger entries were reconciled."""
        return (
            len(self.self_reported)
            + len(self.claimed_fixed_but_present)
            + len(self.recorded_after)
            + len(self.ledger_only)
        )

    @property
    def reliability(self) -> float | None:
        """Share of findings the ledger already held and did not claim fixed, as proposed; None with no findings."""
        return len(self.self_reported) / self.findings if self.findings else None

    @property
    def confirmed_self_reported(self) -> int:
        """Self-reported findings whose pair a supervisor confirmed: the only ones a scored figure counts."""
        return sum(1 for m in self.self_reported if m.confirmed)

    @property
    def confirmed_reliability(self) -> float | None:
        """Share of findings the ledger held, counting confirmed pairs only; None with no findings."""
        return self.confirmed_self_reported / self.findings if self.findings else None

    @property
    def pairs(self) -> tuple[Match, ...]:
        """Every pair, confirmed or proposed, of every category."""
        return (*self.self_reported, *self.claimed_fixed_but_present, *self.recorded_after)

    @property
    def awaiting_confirmation(self) -> int:
        """Pairs the matcher proposed that no supervisor has confirmed yet (待确认), in every category."""
        return sum(1 for m in self.pairs if not m.confirmed)

    @property
    def overstated_items(self) -> int:
        """Key items the enterprise assessed compliant (or not applicable) that the inspector found not."""
        return sum(1 for i in self.items if i.verdict is ItemVerdict.overstated)

    @property
    def differing_items(self) -> int:
        """Key items where the two sides disagree in some other way."""
        return sum(1 for i in self.items if i.verdict is ItemVerdict.differ)


#: A candidate pair as the greedy assignment sorts it: best score first, the same item before the same
#: words, then the earlier finding and the earlier entry (their positions in found-time order).
_Candidate = tuple[float, bool, int, int, PairScore]


def _greedy(
    candidates: list[_Candidate], findings: Sequence[Finding], entries: Sequence[LedgerEntry],
    taken_f: set[int], taken_e: set[int],
) -> list[Match]:  # fmt: skip
    """One-to-one assignment, best score first; ties by the earlier finding, then the earlier entry."""
    candidates.sort()  # (finding, entry) positions are unique, so PairScore is never compared
    matches = []
    for _, _, fi, ei, similarity in candidates:
        if fi in taken_f or ei in taken_e:
            continue
        taken_f.add(fi)
        taken_e.add(ei)
        matches.append(Match(findings[fi], entries[ei], similarity))
    return matches


def match(
    findings: Iterable[Finding], entries: Iterable[LedgerEntry], cache: TextCache | None = None,
    decisions: Decisions | None = None,
) -> tuple[list[Match], list[Match]]:  # fmt: skip
    """Pair findings with entries one-to-one: (pairs with an entry written on or before the finding,
    pairs of the remaining findings with entries written after them), supervisors' ``decisions`` first.
    Ids are taken to be unique."""
    return _match(sorted(findings, key=_order), sorted(entries, key=_order), cache or TextCache(), decisions)


def _decided(
    fs: list[Finding], es: list[LedgerEntry], decisions: Decisions, cache: TextCache
) -> tuple[list[tuple[int, int, Match]], dict[int, set[int]]]:
    """The pairs declared one hazard, one-to-one (finding order, then entry order, decide between two claims on one
    record), as (finding position, entry position, match); and per finding the entry positions declared another."""
    f_at = {f.id: i for i, f in enumerate(fs)}
    e_at = {e.id: i for i, e in enumerate(es)}
    same: list[tuple[int, int]] = []
    apart: dict[int, set[int]] = {}
    for (finding_id, entry_id), verdict in decisions.items():
        fi, ei = f_at.get(finding_id), e_at.get(entry_id)
        if fi is None or ei is None:
            continue  # a decision on a record outside this phase
        if verdict is PairVerdict.same:
            same.append((fi, ei))
        elif verdict is PairVerdict.different:
            apart.setdefault(fi, set()).add(ei)
    forced: list[tuple[int, int, Match]] = []
    taken_f: set[int] = set()
    taken_e: set[int] = set()
    for fi, ei in sorted(same):
        if fi in taken_f or ei in taken_e:
            continue
        taken_f.add(fi)
        taken_e.add(ei)
        score = _pair(_Prepared.of(fs[fi], cache), _Prepared.of(es[ei], cache), cache)
        forced.append((fi, ei, Match(fs[fi], es[ei], score, confirmed=True)))
    return forced, apart


def _match(
    fs: list[Finding], es: list[LedgerEntry], cache: TextCache, decisions: Decisions | None = None
) -> tuple[list[Match], list[Match]]:
    """``match`` for findings and entries already in found-time order."""
    forced, apart = _decided(fs, es, decisions, cache) if decisions else ([], {})
    taken_f = {fi for fi, _, _ in forced}
    taken_e = {ei for _, ei, _ in forced}
    # Entries by item code (None: no code): a coded finding meets only its item's entries and the uncoded ones.
    by_code: dict[str | None, list[tuple[int, _Prepared, datetime]]] = {}
    for ei, entry in enumerate(es):
        pe = _Prepared.of(entry, cache)
        by_code.setdefault(pe.item_code, []).append((ei, pe, entry.found_at))
    everything = [e for group in by_code.values() for e in group]
    before: list[_Candidate] = []
    after: list[_Candidate] = []
    # A county runs this for some 200,000 pairs, so the rules of _pair are written out here: the cheap
    # refusals first, the caches' dictionaries read directly (two method calls per pair are a tenth of the
    # time), and a PairScore made only for the compatible pairs.
    places, descriptions = cache._place_pairs, cache._description_pairs
    for fi, finding in enumerate(fs):
        if fi in taken_f:
            continue  # paired by a supervisor
        pf = _Prepared.of(finding, cache)
        banned = apart.get(fi)
        code, units, kinds, equipment, found_at, ideas = (
            pf.item_code, pf.units, pf.safeguards, pf.equipment, finding.found_at, pf.concepts
        )  # fmt: skip
        defect, named, missing, there = pf.defect, pf.named, pf.missing, pf.there
        place_text, description_text, area = pf.place.grams.text, pf.description.text, pf.place.area
        sides = pf.place.sides
        candidates = everything if code is None else by_code.get(code, []) + by_code.get(None, [])
        for ei, pe, written in candidates:
            if banned and ei in banned:
                continue  # a supervisor said: two hazards
            same_item = code is not None and code == pe.item_code
            if units and pe.units and not (units <= pe.units or pe.units <= units):
                continue
            if sides and pe.place.sides and _sides_conflict(pf.place, pe.place):
                continue
            if not same_item and (
                (kinds and pe.safeguards and not (kinds <= pe.safeguards or pe.safeguards <= kinds))
                or (equipment and pe.equipment and not (equipment & pe.equipment))
                or (ideas and pe.concepts and not (ideas & pe.concepts))
                or _acts_conflict(kinds, pe.safeguards, ideas, pe.concepts)
            ):
                continue
            description = descriptions.get((description_text, pe.description.text))
            if description is None:
                description = cache.description_similarity(pf.description, pe.description)
            same_concept = bool(ideas and ideas & pe.concepts)
            if not same_item and description < (
                _LEAST_CONCEPT_DESCRIPTION if same_concept else _LEAST_DESCRIPTION
            ):
                continue  # too few words in common whatever the places: spares comparing them (most pairs)
            if (
                (defect * pe.defect == ABSENT * BROKEN and named & pe.named)
                or (missing and (missing & pe.there) - there - pe.missing)
                or (pe.missing and (pe.missing & there) - pe.there - missing)
            ):
                continue  # one says missing what the other says is there (text._contradict)
            key = (place_text, pe.place.grams.text)
            place = places[key] if key in places else cache.place_similarity(pf.place, pe.place)
            if place is not None and place < PLACE_MIN:
                place = _place_agreement(pf, pe, place)
            same_kind = bool(kinds and kinds & pe.safeguards)
            if _compatible(
                same_item, place, description, bool(area) and area == pe.place.area, same_kind, same_concept
            ):
                score = (
                    description + PLACE_WEIGHT * (place or 0.0) + (ITEM_BONUS if same_item else 0.0)
                    + (CONCEPT_BONUS if same_concept else 0.0)
                )  # fmt: skip
                similarity = PairScore(True, same_item, place, description, score)
                (before if written <= found_at else after).append((-score, not same_item, fi, ei, similarity))
    first = _greedy(before, fs, es, taken_f, taken_e)
    second = _greedy(after, fs, es, taken_f, taken_e)
    # A confirmed pair falls in the pass of when its entry was written, as any other.
    for _, ei, pair in forced:
        (first if es[ei].found_at <= pair.finding.found_at else second).append(pair)
    return first, second


def rank_for_pairing(
    finding: Finding, entries: Iterable[LedgerEntry], cache: TextCache | None = None
) -> list[tuple[LedgerEntry, PairScore]]:
    """Ledger entries a supervisor may pair with ``finding`` by hand, most alike first (score, then the earlier
    entry), each with its similarity: the matcher's rules set none of them aside, since a person decides."""
    cache = cache or TextCache()
    prepared = _Prepared.of(finding, cache)
    scored = [(entry, _pair(prepared, _Prepared.of(entry, cache), cache)) for entry in entries]
    return sorted(scored, key=lambda pair: (-pair[1].score, _order(pair[0])))


def _overdue_days(record: Finding | LedgerEntry, today: date) -> int | None:
    if record.deadline is None or record.deadline >= today:
        return None  # never overdue, whatever the state: spares building a status for most records
    status = HazardStatus(
        state=record.state, level=record.level, deadline=record.deadline, listed=record.listed,
        ever_listed=record.listed, events=1,
    )  # fmt: skip
    return (today - record.deadline).days if status.is_overdue(today) else None


def reconcile(
    findings: Iterable[Finding],
    entries: Iterable[LedgerEntry],
    today: date,
    *,
    self_assessment: Mapping[str, ItemResultValue] | None = None,
    inspector_results: Mapping[str, ItemResultValue] | None = None,
    item_order: Sequence[str] = (),
    cache: TextCache | None = None,
    decisions: Decisions | None = None,
) -> Reconciliation:
    """Sort one enterprise's findings and ledger entries of one phase into the categories of the module
    docstring, with overdue records and the per-item comparison, supervisors' ``decisions`` (the latest verdict
    per (finding id, entry id)) first; ``cache`` may be shared between calls."""
    findings = sorted({f.id: f for f in findings}.values(), key=_order)
    entries = sorted({e.id: e for e in entries}.values(), key=_order)
    first, second = _match(findings, entries, cache or TextCache(), decisions)
    claimed = [
        m
        for m in first
        if m.entry.claimed_fixed_at is not None and m.entry.claimed_fixed_at <= m.finding.found_at
    ]
    claimed_ids = {m.finding.id for m in claimed}
    self_reported = [m for m in first if m.finding.id not in claimed_ids]
    matched_f = {m.finding.id for m in first}
    matched_e = {m.entry.id for m in (*first, *second)}
    overdue = []
    records: list[Finding | LedgerEntry] = [*findings, *entries]
    for record in records:
        days = _overdue_days(record, today)
        if days is not None:
            overdue.append(Overdue(record, days))
    overdue.sort(key=lambda o: (-o.days, not o.is_finding, _order(o.record)))

    def by_finding(matches: list[Match]) -> tuple[Match, ...]:
        return tuple(sorted(matches, key=lambda m: _order(m.finding)))

    return Reconciliation(
        self_reported=by_finding(self_reported),
        claimed_fixed_but_present=by_finding(claimed),
        missed=tuple(f for f in findings if f.id not in matched_f),
        recorded_after=by_finding(second),
        ledger_only=tuple(e for e in entries if e.id not in matched_e),
        overdue=tuple(overdue),
        items=compare_items(self_assessment or {}, inspector_results or {}, item_order),
    )

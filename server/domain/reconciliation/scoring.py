"""Scoring one finding against one ledger entry: the records, what sets them apart, what makes their words agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from server.domain.hazards import HazardLevel, HazardState
from server.domain.reconciliation.places import _Place, _place_similarity, _sides_conflict, _units_conflict
from server.domain.reconciliation.text import (
    ACT_CONCEPTS,
    CONCEPT_BONUS,
    CONCEPT_DESCRIPTION_MIN,
    CONCEPT_PLACELESS_MIN,
    DESCRIPTION_ALONE_MIN,
    DESCRIPTION_MIN,
    ITEM_BONUS,
    MIN_CONTAINED,
    PLACE_MIN,
    PLACE_NEAR,
    PLACE_WEIGHT,
    PRESUPPOSING,
    SAME_KIND_DESCRIPTION_MIN,
    _contradict,
    _Description,
    _description_similarity,
    _Grams,
)


class TextCache:
    """Prepared texts shared by many reconciliations (a county's): wording repeats — catalogue texts, place
    names — so each distinct text is normalised once, and each pair of places compared once."""

    def __init__(self) -> None:
        self._descriptions: dict[str, _Description] = {}
        self._places: dict[str | None, _Place] = {}
        self._place_pairs: dict[tuple[str, str], float | None] = {}
        self._description_pairs: dict[tuple[str, str], float] = {}

    def description(self, text: str) -> _Description:
        """The description prepared for comparison."""
        found = self._descriptions.get(text)
        if found is None:
            found = self._descriptions[text] = _Description.of(text)
        return found

    def place(self, text: str | None) -> _Place:
        """The place prepared for comparison."""
        found = self._places.get(text)
        if found is None:
            found = self._places[text] = _Place.of(text)
        return found

    def place_similarity(self, a: _Place, b: _Place) -> float | None:
        """``_place_similarity``, remembered per pair of places."""
        key = (a.grams.text, b.grams.text)
        if key not in self._place_pairs:
            self._place_pairs[key] = _place_similarity(a, b)
        return self._place_pairs[key]

    def description_similarity(self, a: _Grams, b: _Grams) -> float:
        """``_description_similarity`` of two descriptions, remembered per pair of texts: inspectors often keep the
        catalogue item's own text as the description, and intersecting two long bigram sets is the costliest
        step of matching."""
        key = (a.text, b.text)
        found = self._description_pairs.get(key)
        if found is None:
            found = self._description_pairs[key] = _description_similarity(a, b)
        return found


# --- the records -------------------------------------------------------------------------------------

# The records below are values, never changed once made; they are not frozen dataclasses only because a
# county makes some 150,000 of them and a frozen dataclass takes five times as long to build.


@dataclass(slots=True)
class Finding:
    """A hazard an inspector found (in a counting inspection within the phase)."""

    id: str
    item_code: str | None
    place: str | None
    description: str
    found_at: datetime
    level: HazardLevel
    state: HazardState
    deadline: date | None = None
    listed: bool = False
    inspection_id: str | None = None


@dataclass(slots=True)
class LedgerEntry:
    """An entry of the enterprise's self-inspection ledger; ``claimed_fixed_at`` is when the enterprise first
    declared it fixed (None: never)."""

    id: str
    item_code: str | None
    place: str | None
    description: str
    found_at: datetime
    level: HazardLevel
    state: HazardState
    claimed_fixed_at: datetime | None = None
    deadline: date | None = None
    listed: bool = False
    ledger_no: str | None = None


def _order(record: Finding | LedgerEntry) -> tuple[datetime, str]:
    return (record.found_at, record.id)


@dataclass(frozen=True, slots=True)
class _Prepared:
    # The description's readings are copied flat from _Description (not held as one field): the matcher's
    # inner loop reads them for some 200,000 pairs a county, where every attribute hop counts.
    item_code: str | None
    place: _Place
    description: _Grams
    #: Unit numbers the record names: every number of its place, and the "N#"/"N号" of its description.
    units: frozenset[str]
    #: The kinds of safeguard its description names (``SAFEGUARDS``).
    safeguards: frozenset[str]
    #: The equipment its description names (``EQUIPMENT``).
    equipment: frozenset[str]
    #: Its description with the fillers kept.
    plain: str
    #: The kind of defect its description states (``ABSENT``, ``UNSURE``, ``PRESENT``, ``BROKEN``).
    defect: int
    #: The hazard concepts its description names.
    concepts: frozenset[str]
    #: The safeguards and equipment its description names, says are missing and says are there.
    named: frozenset[str]
    missing: frozenset[str]
    there: frozenset[str]

    @classmethod
    def of(cls, record: Finding | LedgerEntry, cache: TextCache) -> _Prepared:
        place = cache.place(record.place)
        d = cache.description(record.description or "")
        units = place.numbers | d.units if d.units else place.numbers
        return cls(
            record.item_code or None, place, d.grams, units, d.safeguards, d.equipment, d.plain, d.defect,
            d.concepts, d.named, d.missing, d.there,
        )  # fmt: skip


def _kinds_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both name kinds of safeguard, and neither's kinds include the other's ("安全阀"+"校验" vs
    "压力表"+"校验": two devices with the same defect)."""
    return bool(a and b) and not (a <= b or b <= a)


def _acts_conflict(
    a: frozenset[str], b: frozenset[str], a_ideas: frozenset[str], b_ideas: frozenset[str]
) -> bool:
    """Both name kinds of safeguard, and one names an act on a thing that is there (``PRESUPPOSING``: 联锁, 校验,
    探伤) the other names none of, nor its hazard concept (``ACT_CONCEPTS``: "报警了炉子还能倾动" is the interlock
    missing): the act left undone is one defect, anything else wrong with the thing another ("报警未与排风机联锁" /
    "报警信号没接到中控室", "液位报警探头坏了")."""
    acts_a, acts_b = a & PRESUPPOSING, b & PRESUPPOSING
    if not (a and b) or not (acts_a or acts_b) or (acts_a and acts_b):
        return False
    acts, other = (acts_a, b_ideas) if acts_a else (acts_b, a_ideas)
    return not any(ACT_CONCEPTS.get(act) in other for act in acts)


def _equipment_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both name equipment, and none in common ("砂轮机防护罩" vs "台钻防护罩")."""
    return bool(a and b) and not (a & b)


def _place_agreement(f: _Prepared, e: _Prepared, place: float | None) -> float | None:
    """The places' similarity, or 1 when one record's place, or its head, is named in the other's description:
    places are written at several depths ("铸造车间" with "浇铸炉出口…" / "浇铸炉出口"; "转炉煤气回收" with
    "风机房…" / "煤气风机房"), the description carries the rest."""
    if place is None or place >= PLACE_MIN:
        return place
    fp, ep = f.place, e.place
    if (
        (len(fp.core) >= MIN_CONTAINED and fp.core in e.plain)
        or (len(ep.core) >= MIN_CONTAINED and ep.core in f.plain)
        or (fp.head and fp.head in e.plain)
        or (ep.head and ep.head in f.plain)
    ):
        return 1.0
    return place


@dataclass(slots=True)
class PairScore:
    """How alike a finding and a ledger entry are, and whether they may be matched at all."""

    compatible: bool
    same_item: bool
    place: float | None
    description: float
    score: float


def _compatible(
    same_item: bool, place: float | None, description: float, areas: bool, same_kind: bool,
    same_concept: bool = False,
) -> bool:  # fmt: skip
    """Whether a pair that names neither two key items nor two units may match (package docstring); ``areas``:
    both places name an area of the same kind; ``same_kind``: both descriptions name a kind of safeguard, and
    the same; ``same_concept``: both name a hazard concept, and one in common."""
    if same_item:
        return True
    if place is not None and place >= PLACE_MIN:
        if same_concept and description >= CONCEPT_DESCRIPTION_MIN:
            return True
        return description >= (SAME_KIND_DESCRIPTION_MIN if same_kind else DESCRIPTION_MIN)
    if (
        same_concept
        and description >= CONCEPT_PLACELESS_MIN
        and (place is None or (place >= PLACE_NEAR and not areas))
    ):
        return True  # a place missing, or near and not two areas of one kind: the shared concept decides
    if areas:
        return False  # two stores (stations, rooms) not alike are two places, whatever the words
    return description >= DESCRIPTION_ALONE_MIN


def _concepts_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both name hazard concepts, and none in common ("积尘未清扫" vs "镁粉桶受潮")."""
    return bool(a and b) and not (a & b)


def _pair(f: _Prepared, e: _Prepared, cache: TextCache) -> PairScore:
    same_item = f.item_code is not None and f.item_code == e.item_code
    apart = (
        (f.item_code is not None and e.item_code is not None and not same_item)
        or _units_conflict(f.units, e.units)
        or _sides_conflict(f.place, e.place)
        or (not same_item and _kinds_conflict(f.safeguards, e.safeguards))
        or (not same_item and _acts_conflict(f.safeguards, e.safeguards, f.concepts, e.concepts))
        or (not same_item and _equipment_conflict(f.equipment, e.equipment))
        or (not same_item and _concepts_conflict(f.concepts, e.concepts))
        or _contradict(f.defect, f.named, f.missing, f.there, e.defect, e.named, e.missing, e.there)
    )
    place = _place_agreement(f, e, cache.place_similarity(f.place, e.place))
    description = _description_similarity(f.description, e.description)
    same_concept = bool(f.concepts & e.concepts)
    score = (
        description + PLACE_WEIGHT * (place or 0.0) + (ITEM_BONUS if same_item else 0.0)
        + (CONCEPT_BONUS if same_concept else 0.0)
    )  # fmt: skip
    return PairScore(
        not apart
        and _compatible(
            same_item,
            place,
            description,
            bool(f.place.area) and f.place.area == e.place.area,
            bool(f.safeguards & e.safeguards),
            same_concept,
        ),
        same_item,
        place,
        description,
        score,
    )


def pair_score(finding: Finding, entry: LedgerEntry) -> PairScore:
    """Score a finding against a ledger entry by the rules of the package docstring."""
    cache = TextCache()
    return _pair(_Prepared.of(finding, cache), _Prepared.of(entry, cache), cache)


@dataclass(slots=True)
class Match:
    """A finding paired with a ledger entry, and how alike they are; ``confirmed`` when a supervisor declared them
    one hazard (else the matcher proposed the pair)."""

    finding: Finding
    entry: LedgerEntry
    similarity: PairScore
    confirmed: bool = False

"""The 清零 rule: whether an enterprise's key items are cleared, derived from inspections and hazards."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from server.domain.counting import COVERAGE_STATUSES, SELF_KIND
from server.domain.hazards import RESOLVED_STATES, HazardState


class ItemResultValue(StrEnum):
    """The result recorded for one checklist item in one inspection."""

    compliant = "compliant"
    non_compliant = "non_compliant"
    not_applicable = "not_applicable"
    not_checked = "not_checked"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return _RESULT_ZH[self]


_RESULT_ZH = {
    ItemResultValue.compliant: "符合",
    ItemResultValue.non_compliant: "不符合",
    ItemResultValue.not_applicable: "不适用",
    ItemResultValue.not_checked: "未检查",
}

COUNTING_STATUSES: frozenset[str] = COVERAGE_STATUSES
"""Inspection statuses that may count at all (a returned or draft one never does); which of them count for
coverage and which for 清零, and what their evidence must show, is server.domain.counting's business."""

SELF_INSPECTION_KIND = SELF_KIND
"""An enterprise's self-assessment never clears an item: only a regulator's inspection does."""


@dataclass(frozen=True)
class InspectionSummary:
    """What the 清零 rule needs from one inspection: its kind, status, finish time and item results."""

    id: str
    kind: str
    status: str
    finished_at: datetime | None
    results: Mapping[str, ItemResultValue]


@dataclass(frozen=True)
class LinkedHazard:
    """A hazard's link to a checklist item (None: not linked) and its current state."""

    item_code: str | None
    state: HazardState


@dataclass(frozen=True)
class ItemClearance:
    """Whether one key item is cleared, with the Chinese reason when it is not."""

    code: str
    cleared: bool
    reason: str | None


@dataclass(frozen=True)
class Clearance:
    """The 清零 verdict for an enterprise: overall, per applicable key item, and open key-item hazards."""

    cleared: bool
    items: tuple[ItemClearance, ...]
    open_hazards: int


def latest_counting_inspection(inspections: Iterable[InspectionSummary]) -> InspectionSummary | None:
    """Return the latest submitted/approved non-self inspection by finished_at, or None.

    An inspection without finished_at is skipped: its place in time is unknown, and a submitted
    inspection always has one. Equal finish times are broken by id so the answer is deterministic.
    """
    counting = [
        i
        for i in inspections
        if i.status in COUNTING_STATUSES and i.kind != SELF_INSPECTION_KIND and i.finished_at is not None
    ]
    if not counting:
        return None
    return max(counting, key=lambda i: (i.finished_at, i.id))


def clearance(
    applicable_key_codes: Sequence[str],
    latest: InspectionSummary | None,
    hazards: Iterable[LinkedHazard],
    *,
    all_key_codes: Collection[str] | None = None,
) -> Clearance:
    """Decide 清零 for an enterprise from its applicable key items, latest counting inspection and hazards.

    An item is cleared when its latest result is compliant or not applicable and no open hazard is
    linked to it, or when it is non_compliant, has at least one linked hazard, and every hazard linked
    to it is accepted or closed (the acceptance of the rectification is the verification). A
    non_compliant item with no hazard, a not_checked or missing result, or no counting inspection at all
    is not cleared. Any open hazard linked to a key item (even one not applicable) blocks 清零.
    `all_key_codes` names the catalogue's key items; without it every hazard with an item code is
    taken to be linked to a key item, so the caller must then pass only key-item hazards.
    """
    codes = list(dict.fromkeys(applicable_key_codes))
    key_codes = (set(codes) | set(all_key_codes)) if all_key_codes is not None else None
    by_item: dict[str, list[HazardState]] = {}
    for hazard in hazards:
        if hazard.item_code is None or (key_codes is not None and hazard.item_code not in key_codes):
            continue
        if hazard.state is HazardState.withdrawn:
            continue  # recorded by mistake and withdrawn before submission: no hazard at all
        by_item.setdefault(hazard.item_code, []).append(hazard.state)
    open_hazards = sum(1 for states in by_item.values() for s in states if s not in RESOLVED_STATES)

    decided = tuple(_item_verdict(code, latest, by_item.get(code, [])) for code in codes)
    cleared = latest is not None and open_hazards == 0 and all(item[1] for item in decided)
    return _shared_clearance(cleared, decided, open_hazards)


# A province keeps ~20,000 verdicts of ~10 items each, yet they take a few hundred distinct values: one shared
# (immutable) object per value spares a worker's full garbage collection from walking 100,000 copies. Bounded,
# so that no odd value is kept for ever; a value pushed out is only shared less, never decided differently.
_SHARED_VALUES = 4096


@lru_cache(maxsize=_SHARED_VALUES)
def _shared_item(code: str, cleared: bool, reason: str | None) -> ItemClearance:
    """The one shared ItemClearance of this value."""
    return ItemClearance(code, cleared, reason)


@lru_cache(maxsize=_SHARED_VALUES)
def _shared_clearance(
    cleared: bool, decided: tuple[tuple[str, bool, str | None], ...], open_hazards: int
) -> Clearance:
    """The one shared Clearance of this value (its items given as plain tuples: they hash without Python code)."""
    return Clearance(
        cleared=cleared, items=tuple(_shared_item(*item) for item in decided), open_hazards=open_hazards
    )


def _item_verdict(
    code: str, latest: InspectionSummary | None, states: list[HazardState]
) -> tuple[str, bool, str | None]:
    """Decide one item from its latest result and the states of the hazards linked to it: (code, cleared, reason)."""
    if latest is None:
        return (code, False, "尚无计入清零的检查（企业自查不计入）")
    result = latest.results.get(code)
    open_count = sum(1 for s in states if s not in RESOLVED_STATES)
    if result is None:
        return (code, False, "最近一次检查未记录该项")
    if result == ItemResultValue.not_checked:
        return (code, False, "最近一次检查未检查该项")
    if open_count:
        return (code, False, f"该项有 {open_count} 条隐患尚未验收")
    if result == ItemResultValue.non_compliant and not states:
        return (code, False, "最近一次检查不符合，且未登记隐患")
    return (code, True, None)

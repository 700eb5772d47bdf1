"""The 清零 rule: whether an enterprise's key items are cleared, derived from inspections and hazards."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

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

    items = tuple(_item_clearance(code, latest, by_item.get(code, [])) for code in codes)
    cleared = latest is not None and open_hazards == 0 and all(i.cleared for i in items)
    return Clearance(cleared=cleared, items=items, open_hazards=open_hazards)


def _item_clearance(code: str, latest: InspectionSummary | None, states: list[HazardState]) -> ItemClearance:
    """Decide one item from its latest result and the states of the hazards linked to it."""
    if latest is None:
        return ItemClearance(code, False, "尚无计入清零的检查（企业自查不计入）")
    result = latest.results.get(code)
    open_count = sum(1 for s in states if s not in RESOLVED_STATES)
    if result is None:
        return ItemClearance(code, False, "最近一次检查未记录该项")
    if result == ItemResultValue.not_checked:
        return ItemClearance(code, False, "最近一次检查未检查该项")
    if open_count:
        return ItemClearance(code, False, f"该项有 {open_count} 条隐患尚未验收")
    if result == ItemResultValue.non_compliant and not states:
        return ItemClearance(code, False, "最近一次检查不符合，且未登记隐患")
    return ItemClearance(code, True, None)

"""The enterprise's self-assessment set against the inspector's result, key item by key item."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from server.domain.clearance import ItemResultValue

# --- self-assessment against the inspector's result -----------------------------------------------------


class ItemVerdict(StrEnum):
    """How the enterprise's self-assessment of a key item compares with the inspector's result."""

    agree = "agree"
    overstated = "overstated"
    differ = "differ"
    incomplete = "incomplete"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return _VERDICT_ZH[self]


_VERDICT_ZH = {
    ItemVerdict.agree: "一致",
    ItemVerdict.overstated: "自评不实",
    ItemVerdict.differ: "不一致",
    ItemVerdict.incomplete: "无法比较",
}
_ANSWERED = frozenset(
    {ItemResultValue.compliant, ItemResultValue.non_compliant, ItemResultValue.not_applicable}
)


@dataclass(slots=True)
class ItemComparison:
    """One key item: the enterprise's self-assessment, the inspector's result, and the verdict."""

    code: str
    self_result: ItemResultValue | None
    inspector_result: ItemResultValue | None
    verdict: ItemVerdict


def compare_item(
    self_result: ItemResultValue | None, inspector_result: ItemResultValue | None
) -> ItemVerdict:
    """The verdict for one item (see the package docstring)."""
    if self_result not in _ANSWERED or inspector_result not in _ANSWERED:
        return ItemVerdict.incomplete
    if self_result == inspector_result:
        return ItemVerdict.agree
    if inspector_result == ItemResultValue.non_compliant:
        return ItemVerdict.overstated
    return ItemVerdict.differ


def compare_items(
    self_results: Mapping[str, ItemResultValue],
    inspector_results: Mapping[str, ItemResultValue],
    order: Sequence[str] = (),
) -> tuple[ItemComparison, ...]:
    """Every item either side answered, in ``order`` first and then by code."""
    codes = self_results.keys() | inspector_results.keys()
    ordered = [code for code in dict.fromkeys(order) if code in codes]
    if len(ordered) < len(codes):
        ordered += sorted(codes.difference(ordered))
    comparisons = []
    for code in ordered:
        mine, theirs = self_results.get(code), inspector_results.get(code)
        comparisons.append(ItemComparison(code, mine, theirs, compare_item(mine, theirs)))
    return tuple(comparisons)

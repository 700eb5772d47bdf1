"""Tests for the 清零 rule."""

from __future__ import annotations

from datetime import UTC, datetime

from server.domain.clearance import (
    InspectionSummary,
    ItemClearance,
    ItemResultValue,
    LinkedHazard,
    clearance,
    latest_counting_inspection,
)
from server.domain.hazards import HazardState

R = ItemResultValue
S = HazardState
CODES = ["DU-1", "DU-2", "CS-1"]


def insp(
    results: dict[str, ItemResultValue],
    *,
    id: str = "i1",
    kind: str = "county",
    status: str = "submitted",
    day: int | None = 1,
) -> InspectionSummary:
    finished = datetime(2022, 6, day, 12, tzinfo=UTC) if day is not None else None
    return InspectionSummary(id=id, kind=kind, status=status, finished_at=finished, results=results)


ALL_OK = insp({"DU-1": R.compliant, "DU-2": R.not_applicable, "CS-1": R.compliant})


def test_all_compliant_or_not_applicable_clears() -> None:
    result = clearance(CODES, ALL_OK, [])
    assert result.cleared
    assert result.open_hazards == 0
    assert result.items == tuple(ItemClearance(c, True, None) for c in CODES)


def test_no_counting_inspection_is_not_cleared() -> None:
    result = clearance(CODES, None, [])
    assert not result.cleared
    assert all(not i.cleared and "尚无计入清零的检查" in (i.reason or "") for i in result.items)


def test_no_inspection_and_no_applicable_items_is_not_cleared() -> None:
    assert not clearance([], None, []).cleared


def test_inspected_enterprise_with_no_applicable_key_items_is_cleared() -> None:
    assert clearance([], insp({}), []).cleared


def test_not_checked_is_not_cleared() -> None:
    latest = insp({"DU-1": R.compliant, "DU-2": R.not_checked, "CS-1": R.compliant})
    result = clearance(CODES, latest, [])
    assert not result.cleared
    assert result.items[1] == ItemClearance("DU-2", False, "最近一次检查未检查该项")


def test_missing_result_is_not_cleared() -> None:
    latest = insp({"DU-1": R.compliant, "CS-1": R.compliant})
    result = clearance(CODES, latest, [])
    assert not result.cleared
    assert result.items[1] == ItemClearance("DU-2", False, "最近一次检查未记录该项")


def test_non_compliant_without_hazard_is_not_cleared() -> None:
    latest = insp({"DU-1": R.non_compliant, "DU-2": R.compliant, "CS-1": R.compliant})
    result = clearance(CODES, latest, [])
    assert not result.cleared
    assert result.items[0] == ItemClearance("DU-1", False, "最近一次检查不符合，且未登记隐患")


def test_non_compliant_with_open_hazard_is_not_cleared() -> None:
    latest = insp({"DU-1": R.non_compliant, "DU-2": R.compliant, "CS-1": R.compliant})
    result = clearance(CODES, latest, [LinkedHazard("DU-1", S.reported)])
    assert not result.cleared
    assert result.open_hazards == 1
    assert result.items[0].reason == "该项有 1 条隐患尚未验收"


def test_non_compliant_with_all_hazards_resolved_is_cleared() -> None:
    latest = insp({"DU-1": R.non_compliant, "DU-2": R.compliant, "CS-1": R.compliant})
    hazards = [LinkedHazard("DU-1", S.accepted), LinkedHazard("DU-1", S.closed)]
    result = clearance(CODES, latest, hazards)
    assert result.cleared
    assert result.items[0] == ItemClearance("DU-1", True, None)


def test_non_compliant_with_one_of_two_hazards_open_is_not_cleared() -> None:
    latest = insp({"DU-1": R.non_compliant, "DU-2": R.compliant, "CS-1": R.compliant})
    hazards = [LinkedHazard("DU-1", S.accepted), LinkedHazard("DU-1", S.rejected)]
    result = clearance(CODES, latest, hazards)
    assert not result.cleared
    assert result.items[0].reason == "该项有 1 条隐患尚未验收"


def test_compliant_item_with_open_hazard_is_not_cleared() -> None:
    # e.g. a hazard from the enterprise's own ledger still open after a compliant on-site check.
    result = clearance(CODES, ALL_OK, [LinkedHazard("CS-1", S.found)])
    assert not result.cleared
    assert result.items[2] == ItemClearance("CS-1", False, "该项有 1 条隐患尚未验收")


def test_open_hazard_on_non_applicable_key_item_blocks() -> None:
    result = clearance(CODES, ALL_OK, [LinkedHazard("ST-3", S.planned)], all_key_codes=["ST-3", *CODES])
    assert not result.cleared
    assert result.open_hazards == 1
    assert all(i.cleared for i in result.items)


def test_without_all_key_codes_every_item_linked_hazard_counts() -> None:
    result = clearance(CODES, ALL_OK, [LinkedHazard("ST-3", S.planned)])
    assert not result.cleared
    assert result.open_hazards == 1


def test_hazard_on_management_item_or_unlinked_does_not_block() -> None:
    hazards = [LinkedHazard("MG-2", S.found), LinkedHazard(None, S.found)]
    result = clearance(CODES, ALL_OK, hazards, all_key_codes=CODES)
    assert result.cleared
    assert result.open_hazards == 0


def test_resolved_hazards_on_compliant_items_do_not_block() -> None:
    hazards = [LinkedHazard("DU-1", S.closed), LinkedHazard("ST-1", S.accepted)]
    assert clearance(CODES, ALL_OK, hazards).cleared


def test_plain_string_values_from_storage_are_understood() -> None:
    latest = insp({"DU-1": "non_compliant", "DU-2": "not_checked", "CS-1": "compliant"})  # type: ignore[dict-item]
    result = clearance(CODES, latest, [LinkedHazard("DU-1", "accepted")])  # type: ignore[arg-type]
    assert [i.cleared for i in result.items] == [True, False, True]


def test_duplicate_codes_are_reported_once() -> None:
    result = clearance(["DU-1", "DU-1"], insp({"DU-1": R.compliant}), [])
    assert len(result.items) == 1


def test_latest_counting_inspection_ignores_self_draft_and_returned() -> None:
    county = insp({}, id="a", day=1)
    later_self = insp({}, id="b", kind="self", day=5)
    later_draft = insp({}, id="c", status="draft", day=6)
    later_returned = insp({}, id="d", status="returned", day=7)
    assert latest_counting_inspection([later_self, county, later_draft, later_returned]) is county


def test_latest_counting_inspection_picks_latest_finished() -> None:
    a = insp({}, id="a", day=3, status="approved")
    b = insp({}, id="b", day=9, kind="city_sampling")
    c = insp({}, id="c", day=5, kind="unannounced")
    assert latest_counting_inspection([a, b, c]) is b


def test_latest_counting_inspection_none_and_unfinished() -> None:
    assert latest_counting_inspection([]) is None
    assert latest_counting_inspection([insp({}, kind="self")]) is None
    assert latest_counting_inspection([insp({}, day=None)]) is None


def test_latest_counting_inspection_ties_are_deterministic() -> None:
    a = insp({}, id="a", day=3)
    b = insp({}, id="b", day=3)
    assert latest_counting_inspection([a, b]) is b
    assert latest_counting_inspection([b, a]) is b


def test_self_inspection_never_clears() -> None:
    only_self = insp(dict.fromkeys(CODES, R.compliant), kind="self")
    latest = latest_counting_inspection([only_self])
    assert not clearance(CODES, latest, []).cleared


def test_labels() -> None:
    assert [r.label_zh for r in ItemResultValue] == ["符合", "不符合", "不适用", "未检查"]


def test_a_withdrawn_hazard_blocks_nothing() -> None:
    """A hazard withdrawn before submission (the answer changed to 符合) is no hazard: 清零 is unaffected."""
    result = clearance(CODES, ALL_OK, [LinkedHazard("DU-1", S.withdrawn)])
    assert result.cleared and result.open_hazards == 0

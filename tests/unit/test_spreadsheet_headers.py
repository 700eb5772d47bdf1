"""The one header reader (server.services.spreadsheet.find_header) with the ledger's column map: each usual
variant of each header, units in headers, a header on any of the first rows, merged group headers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from server.services.ledger_excel import header_spec
from server.services.spreadsheet import find_header

REQUIRED = ["检查时间", "隐患描述"]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        *[
            (h, "place")
            for h in ("隐患部位", "排查部位", "场所", "位置", "排查部位/场所", "隐患部位（场所）", "地点")
        ],
        *[(h, "responsible_person") for h in ("整改责任人", "责任人", "整改负责人")],
        *[(h, "level") for h in ("隐患等级", "隐患级别", "级别", "等级")],
        *[(h, "deadline") for h in ("整改时限", "完成时限", "整改期限", "要求完成时间")],
        *[
            (h, "funds_yuan")
            for h in ("整改资金", "投入资金", "整改资金（万元）", "投入资金(元)", "资金（单位：万元）")
        ],
        *[(h, "category") for h in ("隐患类别", "隐患类型", "类别")],
        *[(h, "ledger_state") for h in ("整改状态", "整改情况", "状态", "完成情况")],
        *[(h, "found_at") for h in ("排查日期", "检查日期", "检查时间", "发现时间")],
        *[(h, "description") for h in ("隐患描述", "隐患内容", "存在问题", "问题描述")],
        ("备注", "remarks"),
    ],
)
def test_each_usual_header_is_recognised(header: str, field: str) -> None:
    required = {"found_at": header, "description": "隐患描述"} if field == "found_at" else {
        "found_at": "检查时间", "description": header if field == "description" else "隐患描述"}  # fmt: skip
    row = [required["found_at"], required["description"]] + ([] if field in required else [header])
    found = find_header([row], header_spec({}))
    assert found.found and found.columns[field][1] == header.replace(" ", "")


def test_units_are_read_from_the_header() -> None:
    wan = find_header([[*REQUIRED, "整改资金（万元）"]], header_spec({}))
    yuan = find_header([[*REQUIRED, "整改资金(元)"]], header_spec({}))
    plain = find_header([[*REQUIRED, "投入资金"]], header_spec({}))
    assert wan.units["funds_yuan"] == Decimal(10000) and yuan.units["funds_yuan"] == Decimal(1)
    assert "funds_yuan" not in plain.units


def test_a_header_below_title_rows_and_unknown_columns_named() -> None:
    rows = [
        ["某公司2026年隐患台账"],
        ["填报单位：", None, "填报日期："],
        [*REQUIRED, "排查方式", "隐患部位"],
        ["2026-05-12", "x"],
    ]
    found = find_header(rows, header_spec({}))
    assert found.index == 2 and found.ignored == ["排查方式"] and found.shown("place") == "隐患部位"


def test_a_group_header_merged_over_sub_headers() -> None:
    top = ["排查日期", "隐患内容", "整改情况", None, None]
    sub = [None, None, "整改状态", "完成时间", "整改责任人"]
    found = find_header([["标题"], top, sub], header_spec({}))
    assert found.found and found.index == 2
    assert {k: c[0] for k, c in found.columns.items()} == {
        "found_at": 0, "description": 1, "ledger_state": 2, "completed_on": 3, "responsible_person": 4
    }  # fmt: skip
    assert found.repeats_in(top) and found.repeats_in(sub) and not found.repeats_in(["2026-05-12", "积水"])


def test_no_header_says_what_is_missing() -> None:
    found = find_header([["日子", "毛病"], ["2026-05-12", "积水"]], header_spec({}))
    assert not found.found and found.missing() == ["检查时间", "隐患描述"]
    learned = find_header([["日子", "毛病"]], header_spec({"日子": "found_at", "毛病": "description"}))
    assert learned.found

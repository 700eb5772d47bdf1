"""Ledgers as enterprises really keep them (issue 14): header variants and units, amounts with their unit,
dates without a year, usual words for levels and states, place/category/state kept, unknown columns named,
rows outside the campaign listed apart, and a column map remembered per enterprise."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask

from server.domain.hazards import HazardLevel, HazardState
from server.extensions import db
from server.services.ledger_excel import NOT_IMPORTED, export_ledger
from server.services.spreadsheet import key
from tests.integration.test_ledger_excel import errors_of, ledger, run_import, xlsx

pytestmark = pytest.mark.integration

#: The demo campaign is laid on the current year; the workbook is written for it.
YEAR = date.today().year

TOP = ["序号", "排查日期", "排查部位/场所", "隐患类别", "隐患内容", "隐患级别", "整改措施", "整改责任人", "完成时限",
       "整改资金（万元）", "整改情况", None, "排查方式"]  # fmt: skip
SUB = [None, None, None, None, None, None, None, None, None, None, "整改状态", "完成时间", None]


def real_ledger() -> bytes:
    """The issue's kind of ledger: a merged title naming the year, a two-row header with a unit in it, ten data
    rows of which seven are valid, blank, repeated-header, subtotal and total rows."""
    rows: list[list[Any]] = [
        [f"山西晋兴特钢有限公司{YEAR}年隐患排查治理台账"],  # row 1, merged over the columns
        ["单位（盖章）：", None, None, None, None, None, None, None, None, "填表日期："],
        TOP,  # rows 3-4: a group 整改情况 over 整改状态 / 完成时间
        SUB,
        # row 5: "3万元" in a 万元 column (its own unit wins), a year-less date, 已整改 with a completion date
        [1, "5月12日", "炼钢车间1#转炉平台", "设备设施", "转炉平台防护栏杆缺失", "一般", "补装栏杆", "王强",
         "5月20日", "3万元", "已整改", "5月18日", "日常排查"],
        # row 6: 12.5 in the 万元 column → 125 000 yuan; a full-width date
        [2, "２０２６年５月１３日".replace("２０２６", str(YEAR).translate(str.maketrans("0123456789", "０１２３４５６７８９"))),
         "煤气柜区域", "作业环境", "煤气柜区域未设置固定式CO报警仪", "重大事故隐患", "加装报警仪", "李明",
         f"{YEAR}/6/30", 12.5, "整改中", None, "专项检查"],
        [None] * 13,  # row 7: blank
        # row 8: "5.12" as a number cell, 1.5万 as text; 未整改
        [3, 5.12, "除尘系统", "设备设施", "布袋除尘器泄爆口朝向人员通道", "一般隐患", "调整泄爆口方向", "赵刚",
         f"{YEAR}.6.1", "1.5万", "未整改", None, "日常排查"],
        TOP,  # row 9: a header repeated by a multi-page print
        # row 10: a date with its year, 30,000元 in the 万元 column (its own unit), 已验收
        [4, f"{YEAR}/5/14", "铸造车间", "作业环境", "铝液浇注区地面有积水", "一般", "清理积水并设置挡水坎", "孙伟",
         f"{YEAR}-05-20", "30,000元", "已验收", f"{YEAR}年5月19日", "日常排查"],
        ["小计", None, None, None, None, None, None, None, None, 4.8],  # row 11
        # row 12: before the campaign (2022): kept, listed apart
        [5, "2022-05-12", "轧钢车间", "安全管理", "有限空间作业未审批", "一般", "完善审批", "周强", "2022-05-20",
         0.3, "已整改", "2022-05-18", "日常排查"],
        # row 13: full-width digits; no level (a blank level cell is refused: the column exists)
        [6, f"{YEAR}-05-15", "原料场", "作业环境", "皮带机拉绳开关失效", None, "更换", "钱进", None, "0.2", None,
         None, "日常排查"],
        # rows 14-16: three truly bad rows
        [7, "5月40日", "配电室", "设备设施", "配电柜前未铺绝缘垫", "一般", None, None, None, None, None, None, None],
        [8, f"{YEAR}-05-16", "行车", "设备设施", "行车限位器失效", "较大", None, None, None, "约3万", None, None, None],
        [9, f"{YEAR}-05-16", "天车", "设备设施", "天车制动器磨损", "一般", None, None, None, None, "未整改",
         f"{YEAR}-05-17", None],
        # row 17: valid, 已整改 with no completion date: kept, not recorded as fixed, and said so
        [10, "5.13", "铸造车间", "设备设施", "熔炼炉冷却水无断水报警", "一般", "加装断水报警", "孙伟", "5.30", "0.8",
         "已整改", None, "日常排查"],
        ["合计", None, None, None, None, None, None, None, None, 21.3],  # row 18
    ]  # fmt: skip
    return xlsx(rows, merge=["A1:M1", "K3:L3", "A3:A4", "B3:B4", "C3:C4", "E3:E4"])


def test_a_real_ledger_keeps_every_valid_row_exactly(app: Flask, ctx: None) -> None:
    report = run_import(real_ledger())

    assert errors_of(report) == {
        (13, "隐患级别", "400.20"),
        (14, "排查日期", "400.28"),
        (15, "隐患级别", "400.60"),
        (15, "整改资金（万元）", "400.62"),
        (16, "整改状态", "400.69"),
    }
    by_row = {(e.row, e.code): e for e in report.errors}
    assert "约3万" in by_row[(15, "400.62")].reason
    # Each refusal names its row, column, the value as written and the reason, Chinese first.
    assert (by_row[(14, "400.28")].column, by_row[(14, "400.28")].value) == ("排查日期", "5月40日")
    assert (by_row[(15, "400.60")].value, by_row[(13, "400.20")].value) == ("较大", "")
    assert by_row[(16, "400.69")].value == "未整改"
    assert "第 15 行 [整改资金（万元）]：整改资金有误：“约3万”不是有效金额" in report.as_text()
    assert "第 16 行 [整改状态]：整改状态“未整改”与" in report.as_text()
    assert "矛盾" in by_row[(16, "400.69")].reason and f"{YEAR}-05-17" in by_row[(16, "400.69")].reason
    assert (report.created, report.skipped_blank, report.skipped_total) == (6, 1, 2)
    assert report.skipped_other == 1  # the repeated header
    # The unknown column is named, not lost.
    assert any("排查方式" in note.zh for note in report.notes)
    # The year-less dates say which year they were read in.
    assert any(
        f"按表格标题中的年份 {YEAR} 读取" in note.zh and "5、8、17" in note.zh for note in report.notes
    )
    assert any("未写年份，按检查时间推定" in note.zh for note in report.notes)
    assert any("已整改" in note.zh and "未填完成日期" in note.zh and "17" in note.zh for note in report.notes)
    # The 2022 row is kept, and counted and listed apart.
    assert report.outside_campaign == [(12, date(2022, 5, 12))]
    assert "不计入专项行动统计" in report.as_text() and "12（2022-05-12）" in report.as_text()

    entries = {h.ledger_no: h for h in ledger()}
    assert set(entries) == {"1", "2", "3", "4", "5", "10"}
    one, two, three, four, five, ten = (entries[n] for n in ("1", "2", "3", "4", "5", "10"))
    assert [h.funds_yuan for h in (one, two, three, four, five, ten)] == [
        Decimal("30000.00"), Decimal("125000.00"), Decimal("15000.00"), Decimal("30000.00"), Decimal("3000.00"),
        Decimal("8000.00"),
    ]  # fmt: skip
    assert one.place == "炼钢车间1#转炉平台" and one.terms["category"] == "设备设施"
    assert one.terms["ledger_state"] == "已整改" and one.state is HazardState.reported
    assert one.deadline == date(YEAR, 5, 20) and one.terms["completed_on"] == f"{YEAR}-05-18"
    assert two.level is HazardLevel.major and two.terms["ledger_state"] == "整改中"
    assert (two.deadline, two.place) == (date(YEAR, 6, 30), "煤气柜区域")
    assert three.found_at.date() == date(YEAR, 5, 12) and three.terms["ledger_state"] == "未整改"
    assert four.terms["ledger_state"] == "已验收" and four.state is HazardState.reported
    assert ten.state is HazardState.found and ten.deadline == date(YEAR, 5, 30)

    again = run_import(real_ledger())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 6)


def test_place_category_state_and_funds_are_exported_in_the_unit_the_header_names(
    app: Flask, ctx: None
) -> None:
    from tests.integration.test_ledger_excel import enterprise

    run_import(real_ledger())
    book = openpyxl.load_workbook(io.BytesIO(export_ledger(db.session, enterprise())))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[2]]
    rows = {r[0]: dict(zip(headers, r, strict=False)) for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows["2"]["整改资金（元）"] == 125000 and rows["2"]["隐患部位"] == "煤气柜区域"
    assert rows["1"]["隐患类别"] == "设备设施" and rows["1"]["整改状态"] == "已整改"
    book.close()


def test_the_import_result_page_lists_rows_outside_the_campaign_and_each_refusal(app: Flask) -> None:
    from tests.conftest import login

    client = app.test_client()
    token = login(client, "qy_jinxing")
    response = client.post("/portal/ledger/import", data={
        "csrf_token": token, "file": (io.BytesIO(real_ledger()), "台账.xlsx")}, content_type="multipart/form-data")  # fmt: skip
    html = response.get_data(as_text=True)
    outside = html.split('id="outside-campaign"')[1].split("</div>")[0]
    assert "专项行动期外 1 行" in outside and "<td>12</td><td>2022-05-12</td>" in outside
    errors = html.split('id="import-errors"')[1].split("</table>")[0]
    assert "<td>15</td><td>整改资金（万元）</td><td>约3万</td>" in errors
    assert "<td>13</td><td>隐患级别</td><td>（空）</td>" in errors


def test_the_ledger_page_shows_place_category_and_state(app: Flask) -> None:
    from tests.conftest import login

    with app.app_context():
        run_import(real_ledger())
    client = app.test_client()
    login(client, "qy_jinxing")
    html = client.get("/portal/ledger").get_data(as_text=True)
    assert "隐患类别" in html and "设备设施" in html and "煤气柜区域" in html and "整改中" in html
    assert "125000.00" in html


def test_year_from_a_neighbouring_row_then_from_the_campaign(app: Flask, ctx: None) -> None:
    header = ["序号", "检查日期", "隐患部位", "隐患描述", "隐患等级"]
    report = run_import(xlsx([
        ["隐患自查台账"],  # a title without a year
        header,
        [1, "5月12日", "A", "甲隐患", "一般"],  # nothing above: the row below gives the year
        [2, "2025-05-13", "B", "乙隐患", "一般"],
        [3, "5月14日", "C", "丙隐患", "一般"],  # the row above gives 2025
    ]))  # fmt: skip
    assert report.errors == []
    found = {h.ledger_no: h.found_at.date() for h in ledger()}
    assert found == {"1": date(2025, 5, 12), "2": date(2025, 5, 13), "3": date(2025, 5, 14)}
    assert any("下方相邻行" in note.zh and "第 3 行" in note.zh for note in report.notes)
    assert any("上方相邻行" in note.zh and "第 5 行" in note.zh for note in report.notes)

    only_yearless = run_import(xlsx([header, [9, "5月20日", "D", "丁隐患", "一般"]]))
    assert only_yearless.errors == []
    assert any(f"按专项行动中的年份 {YEAR} 读取" in note.zh for note in only_yearless.notes)


def test_headers_nobody_recognises_are_mapped_once_and_remembered(app: Flask, ctx: None) -> None:
    from tests.integration.test_ledger_excel import enterprise

    data = xlsx(
        [["日子", "毛病", "啥地方", "花了多少（万元）", "谁管"], ["2026-05-12", "围栏缺失", "料场", 2, "王"]]
    )
    with pytest.raises(Exception) as refused:
        run_import(data)
    assert getattr(refused.value, "code", None) == "400.9"
    db.session.rollback()

    chosen = {key("日子"): "found_at", key("毛病"): "description", key("啥地方"): "place",
              key("花了多少（万元）"): "funds_yuan", key("谁管"): NOT_IMPORTED}  # fmt: skip
    report = run_import(data, column_map=chosen)
    assert report.errors == [] and report.created == 1
    assert enterprise().ledger_column_map == chosen
    (entry,) = ledger()
    assert (entry.place, entry.funds_yuan) == ("料场", Decimal("20000.00"))

    later = run_import(xlsx([["日子", "毛病", "啥地方"], ["2026-05-13", "梯子损坏", "仓库"]]))
    assert later.created == 1  # the remembered map, with no question asked


def test_the_portal_asks_what_each_column_is_and_remembers_it(app: Flask) -> None:
    from tests.conftest import login

    client = app.test_client()
    token = login(client, "qy_jinxing")
    data = xlsx([
        ["晋兴特钢自查记录"],
        ["日子", "毛病", "啥地方", "花了多少（万元）", "备注"],
        [f"{YEAR}-05-12", "围栏缺失", "料场", 2, "无"],
    ])  # fmt: skip
    asked = client.post("/portal/ledger/import", data={"csrf_token": token, "file": (io.BytesIO(data), "自查.xlsx")},
                        content_type="multipart/form-data")  # fmt: skip
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and 'id="ledger-mapping"' in html
    assert "围栏缺失" in html and "表头在第 2 行" in html  # the preview, under the header it found
    assert 'name="column:备注"' in html and '<option value="remarks" selected>' in html  # a guess kept
    pending = html.split('name="token" value="')[1].split('"')[0]

    incomplete = client.post("/portal/ledger/import/mapped", data={
        "csrf_token": token, "token": pending, "filename": "自查.xlsx", "column:日子": "found_at"})  # fmt: skip
    assert incomplete.status_code == 400 and "隐患描述" in incomplete.get_data(as_text=True)

    done = client.post("/portal/ledger/import/mapped", data={
        "csrf_token": token, "token": pending, "filename": "自查.xlsx", "column:日子": "found_at",
        "column:毛病": "description", "column:啥地方": "place", "column:花了多少(万元)": "funds_yuan",
        "column:备注": "-"})  # fmt: skip
    assert done.status_code == 200 and 'id="import-summary"' in done.get_data(as_text=True)
    with app.app_context():
        (entry,) = ledger()
        assert (entry.place, entry.funds_yuan, entry.description) == ("料场", Decimal("20000.00"), "围栏缺失")
    gone = client.post("/portal/ledger/import/mapped", data={"csrf_token": token, "token": pending})
    assert gone.status_code == 400 and "过期" in gone.get_data(as_text=True)

    again = client.post("/portal/ledger/import", data={"csrf_token": token, "file": (io.BytesIO(data), "自查.xlsx")},
                        content_type="multipart/form-data")  # fmt: skip
    assert again.status_code == 200 and 'id="import-summary"' in again.get_data(as_text=True)
    assert "<th>未变</th>" in again.get_data(as_text=True)


def test_amounts_stored_10000_times_too_low_are_corrected_by_importing_the_file_again(
    app: Flask, ctx: None
) -> None:
    """The data already stored by the old reading of a 万元 column is repaired by re-importing its file: the
    amount is a changed field, updated and audited with its old and new value."""
    from server.models import AuditEvent, Hazard

    run_import(real_ledger())
    two = next(h for h in ledger() if h.ledger_no == "2")
    two.funds_yuan = Decimal("12.50")  # what the old import stored for 12.5 in 整改资金（万元）
    db.session.commit()

    again = run_import(real_ledger())

    assert again.updated == 1
    assert db.session.get(Hazard, two.id).funds_yuan == Decimal("125000.00")  # type: ignore[union-attr]
    audit_row = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "ledger.import").order_by(AuditEvent.id.desc())
    ).first()
    assert audit_row is not None
    (change,) = audit_row.data["updates"]
    assert change["changes"]["funds_yuan"] == {"from": "12.50", "to": "125000.00"}


def test_the_api_sends_the_amount_in_yuan_as_an_exact_decimal_string(app: Flask) -> None:
    from tests.conftest import login

    with app.app_context():
        run_import(real_ledger())
        two = next(h for h in ledger() if h.ledger_no == "2")
        hazard_id = two.id
    client = app.test_client()
    login(client, "xx_sup")
    body = client.get(f"/api/hazards/{hazard_id}").get_json()
    assert body["funds_yuan"] == "125000.00"

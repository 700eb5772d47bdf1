"""The self-inspection ledger (隐患自查台账) in and out of Excel: import, template, export, web and CLI."""

from __future__ import annotations

import html as html_lib
import io
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.domain.hazards import HazardEventKind as K
from server.domain.hazards import HazardLevel, HazardState
from server.domain.inspections import InspectionKind, InspectionStatus
from server.extensions import db
from server.models import (
    AuditEvent,
    Catalogue,
    Enterprise,
    Hazard,
    HazardEvent,
    HazardSource,
    Inspection,
    User,
)
from server.services.hazards import record_hazard
from server.services.ledger_excel import (
    COLUMNS,
    LedgerImportReport,
    entry_id,
    export_ledger,
    import_ledger,
    ledger_template,
)
from tests.conftest import login

pytestmark = pytest.mark.integration

JINXING = "兴县晋兴特钢有限公司"
HEADER = ["序号", "检查时间", "检查人", "隐患部位", "隐患描述", "隐患等级", "关联检查事项", "整改措施", "责任人",
          "整改期限", "整改资金（元）", "完成日期", "整改完成人", "验收情况", "验收人", "验收日期"]  # fmt: skip
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def enterprise(name: str = JINXING) -> Enterprise:
    """A demo enterprise by name."""
    found = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == name))
    assert found is not None
    return found


def user(username: str) -> User:
    """A demo user."""
    found = db.session.scalar(sa.select(User).where(User.username == username))
    assert found is not None
    return found


def row(**values: Any) -> list[Any]:
    """A data row under HEADER (资金 stands for 整改资金（元）, not a Python name)."""
    values.setdefault("整改资金（元）", values.pop("资金", None))
    return [values.get(h) for h in HEADER]


def xlsx(rows: Sequence[Sequence[Any]], *, merge: Sequence[str] = ()) -> bytes:
    """An .xlsx with ``rows`` from row 1 and the ``merge`` ranges merged."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for values in rows:
        sheet.append(list(values))
    for cells in merge:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def ledger() -> list[Hazard]:
    """The demo steel plant's self-ledger entries, by ledger number."""
    return list(
        db.session.scalars(
            sa.select(Hazard)
            .where(Hazard.enterprise_id == enterprise().id, Hazard.source == HazardSource.self_ledger)
            .order_by(Hazard.ledger_no)
        )
    )


def counts() -> tuple[int, int]:
    """How many hazards and hazard events are stored."""
    hazards = db.session.scalar(sa.select(sa.func.count()).select_from(Hazard)) or 0
    events = db.session.scalar(sa.select(sa.func.count()).select_from(HazardEvent)) or 0
    return hazards, events


def errors_of(report: LedgerImportReport) -> set[tuple[int, str, str]]:
    """The report's errors as (row, column, problem code)."""
    return {(e.row, e.column, e.code) for e in report.errors}


def run_import(data: bytes, name: str = "台账.xlsx", **options: Any) -> LedgerImportReport:
    """Import ``data`` as qy_jinxing into the demo steel plant and commit."""
    report = import_ledger(db.session, enterprise(), data, actor=user("qy_jinxing"), filename=name, **options)
    db.session.commit()
    return report


# --- A messy real-world workbook --------------------------------------------------------------------------------


def messy_workbook() -> bytes:
    """Title rows with merged cells over a header on row 3, mixed date forms, blank/total rows and bad rows."""
    rows: list[Sequence[Any]] = [
        ["兴县晋兴特钢有限公司隐患排查治理台账（2022年）"],
        ["填报部门：安全环保部", None, None, None, None, None, None, None, None, "填报日期：2022年6月1日"],
        [f" {h} " if h == "隐患描述" else h for h in HEADER],  # row 3: a header with stray spaces
        # row 4: general, accepted by the enterprise; text dates in three forms, amount as text with 元
        row(
            序号=1,
            检查时间="2022.5.3",
            检查人="张建国",
            隐患部位="炼钢车间",
            隐患描述="1号转炉平台防护栏杆缺失 ",
            隐患等级="一般",
            整改措施="补装防护栏杆",
            责任人="王强",
            整改期限="2022-05-10",
            资金="1,200元",
            完成日期="2022年5月8日",
            整改完成人="赵刚",
            验收情况="合格",
            验收人="李明",
            验收日期="2022/5/9",
        ),
        # row 5: major with a completion: stays reported; an Excel serial check date, full-width item code
        row(
            序号="２",
            检查时间=44684,
            隐患部位="转炉煤气区域",
            隐患描述="主控室未设置固定式一氧化碳监测报警装置",
            隐患等级="重大事故隐患",
            关联检查事项="ＳＴ－６",
            整改期限=datetime(2022, 6, 30),
            资金="１２０００",
            完成日期=44700,
            验收人="县应急管理局",
            验收日期="2022-06-01",
        ),
        [],  # row 6: blank
        # row 7: found only, with its deadline; a datetime check date
        row(
            序号=3,
            检查时间=datetime(2022, 5, 3, 9, 30),
            隐患部位="轧钢车间",
            隐患描述="配电柜前未铺设绝缘胶垫",
            隐患等级="一般事故隐患",
            整改期限="2022-05-20",
        ),
        # rows 8-12: one problem each
        row(序号=4, 检查时间="2022-05-03", 隐患部位="原料场", 隐患等级="一般"),
        row(序号=5, 检查时间="2022-05-03", 隐患描述="消防通道堆放杂物", 隐患等级="较大"),
        row(序号=6, 检查时间="2022-13-45", 隐患描述="安全警示标志缺失", 隐患等级="一般"),
        row(序号=7, 检查时间="2022-05-03", 隐患描述="行车限位器失效", 隐患等级="一般", 完成日期="2022-05-01"),
        row(序号=8, 检查时间="2022-05-03", 隐患描述="除尘器积灰", 隐患等级="一般", 资金=-50),
        ["合计", None, None, None, None, None, None, None, None, None, 13150],  # row 13
    ]
    return xlsx(rows, merge=["A1:P1", "A2:I2"])


def test_a_messy_workbook_writes_good_rows_and_reports_each_bad_one(app: Flask, ctx: None) -> None:
    hazards_before, events_before = counts()

    report = run_import(messy_workbook())

    assert errors_of(report) == {
        (8, "隐患描述", "400.20"),
        (9, "隐患等级", "400.60"),
        (10, "检查时间", "400.28"),
        (11, "完成日期", "400.63"),
        (12, "整改资金（元）", "400.62"),
    }
    by_row = {e.row: e for e in report.errors}
    assert "较大" in by_row[9].reason and "not a hazard level" in by_row[9].reason_en
    assert "2022-05-01" in by_row[11].reason and "go back" in by_row[11].reason_en
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    assert (report.skipped_blank, report.skipped_total) == (1, 1)
    assert report.events_appended == 3
    assert any("监管部门验收" in note.zh and "regulator" in note.en for note in report.notes)

    accepted, major, found = ledger()
    assert (accepted.ledger_no, accepted.state, accepted.level) == (
        "1",
        HazardState.accepted,
        HazardLevel.general,
    )
    assert [e.kind for e in sorted(accepted.events, key=lambda e: e.at)] == [
        K.found,
        K.rectification_reported,
        K.accepted,
    ]
    assert accepted.description == "1号转炉平台防护栏杆缺失" and accepted.funds_yuan == 1200
    assert accepted.terms == {
        "checked_by": "张建国", "measures": "补装防护栏杆", "responsible_person": "王强", "completed_on": "2022-05-08",
        "completed_by": "赵刚", "acceptance": "合格", "accepted_by": "李明", "accepted_on": "2022-05-09",
    }  # fmt: skip
    # A ledger gives days: each step is logged at noon in the bureau's zone (Asia/Shanghai, UTC+8).
    assert accepted.found_at == datetime(2022, 5, 3, 4, tzinfo=UTC) and accepted.deadline == date(2022, 5, 10)
    assert (major.ledger_no, major.state, major.level) == ("2", HazardState.reported, HazardLevel.major)
    assert major.item_code == "ST-6" and major.funds_yuan == 12000 and major.deadline == date(2022, 6, 30)
    assert (found.state, found.deadline) == (HazardState.found, date(2022, 5, 20))
    assert {h.source for h in (accepted, major, found)} == {HazardSource.self_ledger}
    assert counts() == (hazards_before + 3, events_before + 6)
    # Ids are stable: the number decides them.
    assert accepted.id == entry_id(enterprise().id, "1", date(2022, 5, 3), None, "")

    audit_row = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "ledger.import"))
    assert audit_row is not None and audit_row.actor_id == user("qy_jinxing").id
    assert (audit_row.data["created"], audit_row.data["error_rows"]) == (3, 5)


def test_reimport_is_idempotent_and_a_later_completion_appends_one_event(app: Flask, ctx: None) -> None:
    run_import(messy_workbook())
    snapshot = counts()

    again = run_import(messy_workbook())

    assert (again.created, again.updated, again.unchanged, again.events_appended) == (0, 0, 3, 0)
    assert counts() == snapshot

    later = xlsx([
        HEADER,
        row(序号=3, 检查时间="2022-05-03", 隐患部位="轧钢车间", 隐患描述="配电柜前未铺设绝缘胶垫", 隐患等级="一般事故隐患",
            整改期限="2022-05-20", 完成日期="2022-05-18", 整改完成人="赵刚"),
        row(序号=1, 检查时间="2022.5.3", 隐患部位="炼钢车间", 隐患描述="1号转炉平台两侧防护栏杆缺失", 隐患等级="一般"),
    ])  # fmt: skip
    report = run_import(later, "台账-6月.xlsx")

    assert (report.created, report.updated, report.unchanged, report.events_appended) == (0, 2, 0, 1)
    assert counts() == (snapshot[0], snapshot[1] + 1)
    accepted, _major, found = ledger()
    assert found.state == HazardState.reported and found.terms["completed_by"] == "赵刚"
    # A changed description updates the entry; its past events stay as they were.
    assert accepted.description == "1号转炉平台两侧防护栏杆缺失" and accepted.state == HazardState.accepted
    assert len(accepted.events) == 3
    audit_row = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "ledger.import").order_by(AuditEvent.id.desc())
    ).first()
    assert audit_row is not None
    changed = {u["ledger_no"]: u for u in audit_row.data["updates"]}
    assert changed["1"]["changes"]["description"]["to"] == "1号转炉平台两侧防护栏杆缺失"
    assert changed["3"]["events"] == ["rectification_reported"]


def test_two_header_rows_repeated_headers_example_rows_and_strict_or_dry_runs(app: Flask, ctx: None) -> None:
    top = [
        "序号",
        "排查日期",
        "隐患内容",
        "隐患级别",
        "五到位",
        None,
        None,
        None,
        None,
        "整改情况",
        None,
        None,
    ]
    sub = [None, None, None, None, "措施", "责任", "资金", "时限", "预案", "完成时间", "复查人", "备注"]
    data = xlsx(
        [
            ["台账"],
            top,
            sub,
            ["示例", "2022-01-01", "示例：这一行会被跳过", "一般", "是", "是", "是", "是", "是", None, None, None],
            ["A-1", "2022-05-03", "煤气管道未设置隔断装置", "重大", "是", "是", "否", "是", "是", None, None, None],
            top,  # a multi-page export repeats its header
            sub,
            ["A-2", "2022-05-04", "高炉值班室未设置一氧化碳报警器", "重大", "√", "√", "√", "√", "√", "2022-05-20", "王",
             None],
            ["A-3", "2022-05-04", "本次检查未发现隐患", None, None, None, None, None, None, None, None, None],
            ["A-4", "2022-05-04", "铁水罐耳轴未定期探伤", "一般", None, None, None, None, None, "2022-05-01", None, None],
        ],
        merge=["A1:L1", "E2:I2", "J2:L2", "A2:A3", "B2:B3", "C2:C3", "D2:D3"],
    )  # fmt: skip

    dry = run_import(data, dry_run=True)
    assert (dry.created, dry.written) == (2, False) and ledger() == []
    strict = run_import(data, strict=True)
    assert strict.errors and not strict.written and ledger() == []
    assert errors_of(strict) == {(10, "完成时间", "400.63")}

    report = run_import(data)

    assert report.created == 2 and report.skipped_other == 4  # example, two header rows, no hazard
    first, second = ledger()
    assert first.five_in_place == {"measures": True, "responsibility": True, "funds": False, "time_limit": True,
                                   "contingency_plan": True}  # fmt: skip
    assert (first.state, second.state) == (HazardState.found, HazardState.reported)
    assert second.terms["recheck_by"] == "王"


def test_gb18030_csv(app: Flask, ctx: None) -> None:
    lines = [
        "序号,排查日期,排查人,地点,隐患内容,隐患等级,整改措施,责任人,整改期限,完成日期,验收人,验收日期",
        "C1,2022/5/3,张建国,煤气柜,煤气柜区域警示标志缺失,一般,补设标志,王强,2022/5/6,2022/5/5,李明,2022/5/6",
        "C2,2022年5月4日,张建国,加热炉,加热炉煤气管道吹扫设施缺失,重大,增设吹扫设施,王强,2022/7/1,,,",
        "合计,,,,,,,,,,,",
    ]
    data = ("\r\n".join(lines) + "\r\n").encode("gb18030")

    report = run_import(data, "台账.csv")

    assert report.errors == [] and report.created == 2 and report.skipped_total == 1
    accepted, open_major = ledger()
    assert accepted.state == HazardState.accepted and accepted.terms["checked_by"] == "张建国"
    assert open_major.state == HazardState.found and open_major.deadline == date(2022, 7, 1)


# --- Template and export --------------------------------------------------------------------------------------


def test_the_template_has_headers_validations_an_example_and_a_guide(app: Flask, ctx: None) -> None:
    book = openpyxl.load_workbook(io.BytesIO(ledger_template()))
    sheet = book.worksheets[0]

    assert book.sheetnames == ["隐患自查台账", "说明"]
    assert [c.value for c in sheet[2]] == [c.header for c in COLUMNS]
    assert sheet.freeze_panes == "A3" and all(c.font.bold for c in sheet[2])
    assert sheet.page_setup.orientation == "landscape" and sheet.print_title_rows == "$2:$2"
    rules = {(v.type, v.formula1) for v in sheet.data_validations.dataValidation}
    assert ("list", '"一般事故隐患,重大事故隐患"') in rules and ("list", '"是,否"') in rules
    assert ("decimal", "0") in rules and any(kind == "date" for kind, _ in rules)
    assert sheet["A3"].value == "示例"
    guide = [c.value for c in book["说明"]["A"]]
    assert "隐患描述" in guide and "整改期限" in guide
    book.close()

    report = run_import(ledger_template(), "模板.xlsx")
    assert (report.created, report.skipped_other, report.errors) == (0, 1, [])


def _inspection(status: InspectionStatus, description: str) -> None:
    """An inspection of the steel plant in ``status`` with one hazard."""
    plant = enterprise()
    catalogue = db.session.scalar(sa.select(Catalogue).limit(1))
    assert catalogue is not None
    inspection = Inspection(enterprise_id=plant.id, catalogue_id=catalogue.id, kind=InspectionKind.unannounced,
                            status=status, started_at=datetime(2026, 5, 1, 2, tzinfo=UTC))  # fmt: skip
    db.session.add(inspection)
    db.session.flush()
    record_hazard(db.session, enterprise=plant, description=description, level=HazardLevel.general,
                  found_at=datetime(2026, 5, 1, 3, tzinfo=UTC), deadline=date(2026, 6, 1),
                  source=HazardSource.inspection, inspection_id=inspection.id)  # fmt: skip
    db.session.commit()


def test_export_then_reimport_is_a_no_op_and_unreleased_findings_stay_secret(app: Flask, ctx: None) -> None:
    run_import(messy_workbook())
    _inspection(InspectionStatus.draft, "暗访草稿中的隐患：不应出现")
    _inspection(InspectionStatus.returned, "退回更正中的隐患：不应出现")
    _inspection(InspectionStatus.submitted, "暗访已提交的隐患：应当出现")
    snapshot = counts()

    exported = export_ledger(db.session, enterprise())
    report = run_import(exported, "导出.xlsx")

    assert (report.created, report.updated, report.unchanged, report.events_appended) == (0, 0, 3, 0)
    assert report.errors == [] and counts() == snapshot
    book = openpyxl.load_workbook(io.BytesIO(exported))
    own, found_by_regulators = book.worksheets
    assert [c.value for c in own[2]][: len(COLUMNS)] == [c.header for c in COLUMNS]
    assert own.page_setup.orientation == "landscape" and own.print_title_rows == "$2:$2"
    states = {r[0].value: r[len(COLUMNS)].value for r in own.iter_rows(min_row=3)}
    assert states == {"1": "已验收", "2": "已报整改待验收", "3": "待整改"}
    regulator_rows = [r[4].value for r in found_by_regulators.iter_rows(min_row=3)]
    assert "暗访已提交的隐患：应当出现" in regulator_rows
    assert (
        "暗访草稿中的隐患：不应出现" not in regulator_rows
        and "退回更正中的隐患：不应出现" not in regulator_rows
    )
    book.close()


# --- The web ---------------------------------------------------------------------------------------------------


def _upload(client: FlaskClient, data: bytes, token: str | None, name: str = "台账.xlsx", **form: str) -> Any:
    fields: dict[str, Any] = {"file": (io.BytesIO(data), name), **form}
    if token is not None:
        fields["csrf_token"] = token
    return client.post("/portal/ledger/import", data=fields, content_type="multipart/form-data")


def test_an_enterprise_user_downloads_imports_and_exports_on_the_web(app: Flask, client: FlaskClient) -> None:
    token = login(client, "qy_jinxing")
    with client.get("/portal/ledger/template.xlsx") as response:
        assert response.status_code == 200 and response.mimetype == XLSX
        assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
        openpyxl.load_workbook(io.BytesIO(response.data)).close()

    refused = _upload(client, messy_workbook(), None)
    assert refused.status_code == 403
    with app.app_context():
        assert ledger() == []

    response = _upload(client, messy_workbook(), token)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    # The rows' reasons in the reader's one language (Chinese unless English is asked for).
    assert 'id="import-errors"' in html and "不是有效的隐患等级" in html and "not a hazard level" not in html
    with app.app_context():
        assert len(ledger()) == 3
    # The same report for a reader who chose English: each row's reason in English alone.
    client.set_cookie("lang", "en")
    english = _upload(client, messy_workbook(), token, dry_run="1").get_data(as_text=True)
    assert 'id="import-errors"' in english and "较大" in english and "hazard level" in english
    assert "不是有效的隐患等级" not in english
    client.delete_cookie("lang")
    with app.app_context():
        assert len(ledger()) == 3

    unreadable = _upload(client, b"not a workbook", token)
    assert unreadable.status_code == 400 and "400.5" not in unreadable.get_data(as_text=True)
    assert "无法读取" in unreadable.get_data(as_text=True)
    missing = client.post("/portal/ledger/import", data={"csrf_token": token})
    assert missing.status_code == 400

    with client.get("/portal/ledger/export.xlsx") as response:
        assert response.status_code == 200 and response.mimetype == XLSX
        book = openpyxl.load_workbook(io.BytesIO(response.data))
        assert book.worksheets[0].max_row == 5  # title, header, three entries
        book.close()


def _summary(html: str) -> tuple[str, list[str]]:
    """The result page's outcome line and its notes, as the reader sees them."""
    section = re.search(r'<section class="card" id="import-summary">(.*?)</section>', html, re.S)
    assert section is not None
    outcome = re.search(r'<p class="(?:error|ok)">(.*?)</p>', section.group(1), re.S)
    assert outcome is not None
    notes = re.findall(r"<li>(.*?)</li>", section.group(1), re.S)
    return html_lib.unescape(outcome.group(1)).strip(), [html_lib.unescape(n).strip() for n in notes]


def test_the_import_report_speaks_the_readers_one_language(app: Flask, client: FlaskClient) -> None:
    """The outcome and every note of an import are shown in the reader's language alone; a note naming the
    file's own (Chinese) column keeps that name, which is data."""
    token = login(client, "qy_jinxing")
    data = xlsx([
        [*HEADER, "排查方式"],  # a column nobody recognises: named in a note
        row(序号=1, 检查时间="2022-05-03", 隐患描述="主控室未设置一氧化碳报警装置", 隐患等级="重大事故隐患",
            完成日期="2022-05-20"),  # a major hazard stays reported: noted
        row(序号=2, 检查时间="2022-05-03", 隐患描述="消防通道堆放杂物", 隐患等级="较大"),  # a row error
    ])  # fmt: skip
    han = re.compile(r"[\u3400-\u9fff]")

    chinese_outcome, chinese_notes = _summary(
        _upload(client, data, token, dry_run="1").get_data(as_text=True)
    )
    assert chinese_outcome.startswith("试运行") and not re.search(r"[A-Za-z]", chinese_outcome)
    assert any("未识别的列已忽略" in n and "排查方式" in n for n in chinese_notes)
    assert any("须由监管部门验收" in n for n in chinese_notes)
    assert chinese_notes and not [n for n in chinese_notes if re.search(r"[A-Za-z]{3,}", n)]

    client.set_cookie("lang", "en")
    english_outcome, english_notes = _summary(
        _upload(client, data, token, dry_run="1").get_data(as_text=True)
    )
    client.delete_cookie("lang")
    assert english_outcome.lower().startswith("dry run") and not han.search(english_outcome)
    assert any("columns ignored" in n.lower() and "排查方式" in n for n in english_notes)
    assert any("regulator" in n for n in english_notes)
    assert len(english_notes) == len(chinese_notes)
    assert not [n for n in english_notes if han.search(n.replace("排查方式", ""))]


def test_a_too_large_upload_is_refused_with_413(app: Flask, client: FlaskClient) -> None:
    login(client, "qy_jinxing")
    # A raw body (a multipart one over 500 KB would sit in a temporary file the refusal never reads).
    body = b"x" * (10 * 1024 * 1024 + 1)
    response = client.post("/portal/ledger/import", data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 413 and "10 MB" in response.get_data(as_text=True)


@pytest.mark.parametrize("username", ["xx_sup", "xx_insp1", "admin"])
def test_other_roles_get_404_on_the_enterprise_pages(app: Flask, client: FlaskClient, username: str) -> None:
    token = login(client, username)
    for url in ("/portal/ledger/template.xlsx", "/portal/ledger/export.xlsx"):
        with client.get(url) as response:
            assert response.status_code == 404
    assert _upload(client, messy_workbook(), token).status_code == 404


def test_signed_out_users_are_sent_to_the_login_page(app: Flask, client: FlaskClient) -> None:
    with client.get("/portal/ledger/template.xlsx") as response:
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_supervisor_exports_an_enterprise_in_scope_only(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        jinxing = enterprise().id
        linxian = db.session.scalar(
            sa.select(Enterprise.id).join(Enterprise.region).where(sa.text("region.code = '141124'")).limit(1)
        )
    login(client, "xx_sup")
    with client.get(f"/enterprises/{jinxing}/ledger.xlsx") as response:
        assert response.status_code == 200 and response.mimetype == XLSX
    with client.get(f"/enterprises/{linxian}/ledger.xlsx") as response:
        assert response.status_code == 404
    enterprise_client = app.test_client()
    login(enterprise_client, "qy_jinxing")
    with enterprise_client.get(f"/enterprises/{jinxing}/ledger.xlsx") as response:
        assert response.status_code == 404


def test_the_cli_writes_the_template_imports_and_exports(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        credit_code = enterprise().credit_code
    runner = app.test_cli_runner()
    template = tmp_path / "template.xlsx"
    assert runner.invoke(args=["ledger", "template", str(template)]).exit_code == 0
    workbook = tmp_path / "ledger.xlsx"
    workbook.write_bytes(messy_workbook())

    dry = runner.invoke(args=["ledger", "import", credit_code, str(workbook), "--dry-run"])
    assert dry.exit_code == 1 and "dry run" in dry.output.lower() and "第 9 行" in dry.output
    result = runner.invoke(args=["ledger", "import", credit_code, str(workbook)])
    assert result.exit_code == 1 and "新增 3" in result.output
    exported = tmp_path / "export.xlsx"
    assert runner.invoke(args=["ledger", "export", credit_code, str(exported)]).exit_code == 0
    again = runner.invoke(args=["ledger", "import", credit_code, str(exported)])
    assert again.exit_code == 0 and "未变 3" in again.output
    unknown = runner.invoke(args=["ledger", "export", "911411230000000000", str(exported)])
    assert unknown.exit_code == 1

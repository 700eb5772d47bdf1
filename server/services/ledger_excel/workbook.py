"""Writing ledger workbooks: the empty template and the enterprise's export."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from server.domain.hazards import is_overdue
from server.models import Enterprise, Hazard, HazardSource, Inspection
from server.services import DbSession
from server.services.ledger_excel.columns import (
    _DATE_TERMS,
    COLUMN_BY_KEY,
    COLUMNS,
    FIVE_IN_PLACE_COLUMN,
    FIVE_IN_PLACE_KEYS,
    LEVEL_LABELS,
    TERM_KEYS,
    Column,
    local_date,
    zone,
)
from server.services.ledger_excel.planning import _effective_terms
from server.services.portal import released_inspections
from server.services.xlsx_cells import write_cell

# --- Writing workbooks ------------------------------------------------------------------------------------------

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TITLE_ROW, HEADER_ROW = 1, 2
FIRST_DATA_ROW = HEADER_ROW + 1
#: How far down the template's drop-downs and checks reach.
TEMPLATE_ROWS = 2000


def _styles() -> dict[str, Any]:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="999999")
    return {
        "title": Font(bold=True, size=14),
        "header_font": Font(bold=True),
        "header_fill": PatternFill("solid", fgColor="DDEBF7"),
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "center": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "wrap": Alignment(vertical="top", wrap_text=True),
        "example": Font(italic=True, color="808080"),
    }


def _sheet_frame(sheet: Any, title: str, headers: list[tuple[str, float]], styles: dict[str, Any]) -> None:
    """Title row merged over the columns, a bold frozen header row, column widths and a print layout."""
    from openpyxl.utils import get_column_letter

    write_cell(sheet, TITLE_ROW, 1, title).font = styles["title"]
    sheet.cell(TITLE_ROW, 1).alignment = styles["center"]
    sheet.merge_cells(start_row=TITLE_ROW, start_column=1, end_row=TITLE_ROW, end_column=len(headers))
    sheet.row_dimensions[TITLE_ROW].height = 28
    for col, (header, width) in enumerate(headers, start=1):
        cell = write_cell(sheet, HEADER_ROW, col, header)
        cell.font, cell.fill = styles["header_font"], styles["header_fill"]
        cell.border, cell.alignment = styles["border"], styles["center"]
        sheet.column_dimensions[get_column_letter(col)].width = width
    sheet.row_dimensions[HEADER_ROW].height = 32
    sheet.freeze_panes = sheet.cell(FIRST_DATA_ROW, 1)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.print_options.horizontalCentered = True


def _column_formats(sheet: Any, columns: Sequence[Column]) -> None:
    from openpyxl.utils import get_column_letter

    for col, column in enumerate(columns, start=1):
        if column.kind in ("date", "past_date"):
            sheet.column_dimensions[get_column_letter(col)].number_format = "yyyy-mm-dd"
        elif column.kind == "money":
            sheet.column_dimensions[get_column_letter(col)].number_format = "#,##0.00"


def _validations(sheet: Any, last_row: int) -> None:
    """Drop-downs for level and 是/否, date and amount checks, each with a Chinese message."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    def rng(field_key: str) -> str:
        letter = get_column_letter(list(COLUMN_BY_KEY).index(field_key) + 1)
        return f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}"

    level = DataValidation(type="list", formula1='"一般事故隐患,重大事故隐患"', allow_blank=True,
                           errorTitle="隐患等级", error="请从下拉列表选择：一般事故隐患 或 重大事故隐患",
                           promptTitle="隐患等级", prompt="一般事故隐患 / 重大事故隐患")  # fmt: skip
    level.add(rng("level"))
    yes_no = DataValidation(type="list", formula1='"是,否"', allow_blank=True, errorTitle="是/否",
                            error="请填“是”或“否”")  # fmt: skip
    dates = DataValidation(type="date", operator="between", formula1="DATE(1990,1,1)", formula2="DATE(2100,12,31)",
                           allow_blank=True, errorTitle="日期", error="请填写日期，例如 2022-05-03",
                           promptTitle="日期", prompt="例如 2022-05-03")  # fmt: skip
    money = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                           errorTitle="整改资金", error="请填写不小于 0 的金额（元）")  # fmt: skip
    for column in COLUMNS:
        if column.kind == "flag":
            yes_no.add(rng(column.key))
        elif column.kind in ("date", "past_date"):
            dates.add(rng(column.key))
        elif column.kind == "money":
            money.add(rng(column.key))
    for validation in (level, yes_no, dates, money):
        validation.showErrorMessage = True
        sheet.add_data_validation(validation)


_EXAMPLE: dict[str, Any] = {
    "ledger_no": "示例", "found_at": date(2022, 5, 3), "checked_by": "李明、王强", "place": "炼钢车间 1 号转炉煤气区域",
    "description": "主控室未设置固定式一氧化碳监测报警装置", "level": "重大事故隐患", "item_code": "ST-6",
    "measures": "安装固定式一氧化碳监测报警装置并接入中控室", "responsible_person": "张建国",
    "deadline": date(2022, 6, 3), "funds_yuan": 12000, "completed_on": date(2022, 5, 28), "completed_by": "赵强",
    "recheck_on": date(2022, 5, 30), "recheck_by": "李明", "acceptance": "合格", "accepted_by": "县应急管理局",
    "accepted_on": None, "treatment_plan": "见《转炉煤气区域一氧化碳报警治理方案》", "five:measures": "是",
    "five:responsibility": "是", "five:funds": "是", "five:time_limit": "是", "five:contingency_plan": "是",
    "reported_to_regulator_on": date(2022, 5, 4), "reported_to_workers_congress_on": date(2022, 5, 9),
    "category": "设备设施", "ledger_state": "已整改",
    "stop_production": "否",
}  # fmt: skip


def _save(book: Any) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def ledger_template() -> bytes:
    """An empty ledger workbook: title, headers, drop-downs and checks, an example row and a 说明 sheet."""
    import openpyxl
    from openpyxl.comments import Comment

    styles = _styles()
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "隐患自查台账"
    _sheet_frame(sheet, "隐患排查治理台账（企业自查）", [(c.header, c.width) for c in COLUMNS], styles)
    _column_formats(sheet, COLUMNS)
    _validations(sheet, TEMPLATE_ROWS)
    for col, column in enumerate(COLUMNS, start=1):
        cell = write_cell(sheet, FIRST_DATA_ROW, col, _EXAMPLE.get(column.key))
        cell.font, cell.alignment = styles["example"], styles["wrap"]
        if column.kind in ("date", "past_date"):
            cell.number_format = "yyyy-mm-dd"
        sheet.cell(HEADER_ROW, col).comment = Comment(f"{column.help_zh}\n{column.help_en}", "台账模板")
    sheet.cell(FIRST_DATA_ROW, 1).comment = Comment(
        "示例行：导入时自动跳过，可删除。\nExample row: skipped on import.", "台账模板"
    )

    guide = book.create_sheet("说明")
    guide.append(["列名 / column", "必填 / required", "填写说明", "notes (English)"])
    for cell in guide[1]:
        cell.font, cell.fill, cell.border = styles["header_font"], styles["header_fill"], styles["border"]
    for column in (*COLUMNS, FIVE_IN_PLACE_COLUMN):
        help_zh = column.help_zh
        if column is FIVE_IN_PLACE_COLUMN:
            help_zh = "也可用一列“五到位”代替五列：填“是”（全部到位）或列出已到位的项，如“措施、责任、资金”"
        guide.append([column.header, "是" if column.required else "", help_zh,
                      column.help_en if column is not FIVE_IN_PLACE_COLUMN else "one column instead of the five"])  # fmt: skip
    guide.append([])
    for line in (
        "每行一条隐患；标题行、空行、合计/小计行、重复的表头行和示例行在导入时自动跳过。",
        "日期可写作 2022-05-03、2022/5/3、2022.5.3 或 2022年5月3日，也可以是 Excel 日期；只写月日（5月3日、5.3）时，"
        "年份取表格标题中的年份（如“2022年隐患台账”），没有时取相邻行或专项行动的年份，导入结果会说明。",
        "金额可写作 3000、30,000元、3万元 或 1.5万；表头写“整改资金（万元）”时，不带单位的数字按万元计。",
        "填写完成日期后记为“报告整改完成”；一般事故隐患同时填写验收日期和验收人后记为“验收通过”；"
        "重大事故隐患须由监管部门验收。",
        "重复导入同一文件不会产生重复记录：按“序号/编号”（没有编号时按检查时间、部位和描述）识别同一条隐患；"
        "已记录的整改过程不会被改写，只追加新的进展。",
        "Each row is one hazard. Re-importing the same file changes nothing; later files add only new progress.",
    ):
        guide.append([line])
    guide.column_dimensions["A"].width = 20
    guide.column_dimensions["B"].width = 14
    guide.column_dimensions["C"].width = 70
    guide.column_dimensions["D"].width = 50
    for row in guide.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = styles["wrap"]
    return _save(book)


def _row_values(hazard: Hazard, tz: tzinfo) -> list[Any]:
    """A hazard as a row under the template's headers, the way the import reads it back."""
    terms = _effective_terms(hazard, tz)
    five = hazard.five_in_place or {}

    def flag(value: Any) -> str | None:
        return None if value is None else ("是" if value else "否")

    def term(name: str) -> Any:
        value = terms.get(name)
        if value in (None, ""):
            return None
        if name in _DATE_TERMS:
            try:
                return date.fromisoformat(str(value))
            except ValueError:
                return str(value)
        return str(value)

    values: dict[str, Any] = {
        "ledger_no": hazard.ledger_no, "found_at": local_date(hazard.found_at, tz), "place": hazard.place,
        "description": hazard.description, "level": LEVEL_LABELS[hazard.level], "item_code": hazard.item_code,
        "deadline": hazard.deadline, "funds_yuan": hazard.funds_yuan,
        "treatment_plan": hazard.treatment_plan, "reported_to_regulator_on": hazard.reported_to_regulator_on,
        "reported_to_workers_congress_on": hazard.reported_to_workers_congress_on,
        "stop_production": flag(hazard.stop_production),
        **{f"five:{k}": flag(five.get(k)) for k in FIVE_IN_PLACE_KEYS},
        **{k: term(k) for k in TERM_KEYS},
    }  # fmt: skip
    return [values.get(column.key) for column in COLUMNS]


def _fill(sheet: Any, hazards: Sequence[Hazard], extra: Any, tz: tzinfo, styles: dict[str, Any]) -> None:
    row = FIRST_DATA_ROW
    formats = {i: "yyyy-mm-dd" for i, c in enumerate(COLUMNS, start=1) if c.kind in ("date", "past_date")}
    formats.update({i: "#,##0.00" for i, c in enumerate(COLUMNS, start=1) if c.kind == "money"})
    for hazard in hazards:
        for col, value in enumerate([*_row_values(hazard, tz), *extra(hazard)], start=1):
            cell = write_cell(sheet, row, col, value)
            cell.border, cell.alignment = styles["border"], styles["wrap"]
            if col in formats and value is not None:
                cell.number_format = formats[col]
        row += 1


def export_ledger(session: DbSession, enterprise: Enterprise, *, today: date | None = None) -> bytes:
    """The enterprise's ledger as .xlsx: its own entries, and the regulators' findings of submitted inspections."""
    import openpyxl

    tz = zone()
    today = today or datetime.now(tz).date()
    styles = _styles()
    own = session.scalars(
        sa.select(Hazard)
        .where(Hazard.enterprise_id == enterprise.id, Hazard.source == HazardSource.self_ledger,
               Hazard.deleted_at.is_(None))
        .options(selectinload(Hazard.events))
        .order_by(Hazard.found_at, Hazard.ledger_no, Hazard.id)
    ).all()  # fmt: skip
    # 四不两直: a regulator's findings reach the enterprise only once released (submitted or approved; never a
    # draft, nor a returned record being corrected): the portal's rule, shared so the two cannot differ.
    found_by_regulators = session.execute(
        sa.select(Hazard, Inspection)
        .join(Inspection, Hazard.inspection_id == Inspection.id)
        .where(Hazard.enterprise_id == enterprise.id, Hazard.source != HazardSource.self_ledger,
               Hazard.deleted_at.is_(None), Inspection.id.in_(released_inspections()))
        .options(selectinload(Hazard.events))
        .order_by(Hazard.found_at, Hazard.id)
    ).all()  # fmt: skip
    kinds = {h.id: i.kind.label_zh for h, i in found_by_regulators}

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "隐患自查台账"
    headers = [(c.header, c.width) for c in COLUMNS] + [("当前状态", 14), ("是否逾期", 8)]
    _sheet_frame(
        sheet, f"{enterprise.name} 隐患排查治理台账（企业自查） 导出日期 {today.isoformat()}", headers, styles
    )

    def state(hazard: Hazard) -> list[Any]:
        return [hazard.state.label_zh, "是" if is_overdue(hazard.state, hazard.deadline, today) else "否"]

    _fill(sheet, own, state, tz, styles)
    second = book.create_sheet("监管检查发现隐患")
    _sheet_frame(second, f"{enterprise.name} 监管部门检查发现的隐患 导出日期 {today.isoformat()}",
                 [*headers, ("检查类型", 16)], styles)  # fmt: skip
    _fill(second, [h for h, _ in found_by_regulators], lambda h: [*state(h), kinds[h.id]], tz, styles)
    return _save(book)

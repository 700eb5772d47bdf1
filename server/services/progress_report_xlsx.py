"""The progress report as an Excel workbook laid out like the notice's form, ready to print and stamp.

Sheet 1 进展情况统计表: the title, the 填报单位 / 填报人 / 联系电话 / 填报日期 line, the form's table with its
section headers merged over their columns (一、成立检查组情况 / 二、监管部门开展工作情况 / 三、企业隐患整改进展
情况), a row per county and the 合计 row, then the split of hazards by source and the counting rules.
Sheet 2 重大事故隐患清单: the itemised list of major hazards. Sheet 3 各阶段覆盖与清零: each phase's coverage and
清零. Every sheet prints on A4 landscape, fitted to the page width, with its header rows repeated on each page.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from server.services.progress_report import COLUMNS, SECTIONS, ProgressReport, UnitFigures
from server.services.xlsx_cells import write_cell

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAIN_SHEET, MAJOR_SHEET, PHASE_SHEET = "进展情况统计表", "重大事故隐患清单", "各阶段覆盖与清零"
#: Rows of the main sheet: title, the unit line, the section headers, the column headers, then the data.
TITLE_ROW, INFO_ROW, SECTION_ROW, HEADER_ROW = 1, 2, 3, 4
FIRST_DATA_ROW = HEADER_ROW + 1

#: Counting rules printed under the table (the full rules: server/services/progress_report.py).
NOTES = [
    "统计口径：各项数字为专项行动开始至截止时间的累计数；截止时间为当月23日24时（总结为11月15日24时，北京时间），"
    "以记录发生时间和服务器收到时间均早于截止时间为准，截止后补报的记录计入下期。",
    "检查组：共同完成至少一次有效检查的执法人员组合（专家随行不另计）；有效检查指已提交、未被退回、未被更正替代的"
    "监管部门检查（不含企业自查）。",
    "整改率＝已整改（已验收或已销号）隐患数÷排查发现隐患数；逾期未整改指截止日尚未报告整改完成且已过整改期限的隐患。",
    "开展自查企业：提交了自查自评或自查台账中登记了隐患的企业。重点事项清零：按最近一次有效检查和截止时关联隐患状态判定。",
]


def _styles() -> dict[str, Any]:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="000000")
    return {
        "title": Font(name="宋体", bold=True, size=16),
        "bold": Font(name="宋体", bold=True, size=10),
        "plain": Font(name="宋体", size=10),
        "note": Font(name="宋体", size=9),
        "fill": PatternFill("solid", fgColor="F2F2F2"),
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "center": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "left": Alignment(horizontal="left", vertical="center", wrap_text=True),
        "top_left": Alignment(horizontal="left", vertical="top", wrap_text=True),
    }


def _print_layout(sheet: Any, title_rows: str) -> None:
    """A4 landscape, fitted to the page width, ``title_rows`` repeated on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = title_rows
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.5


def _cell(sheet: Any, row: int, col: int, value: Any, styles: dict[str, Any], *, bold: bool = False,
          align: str = "center", fill: bool = False, fmt: str | None = None) -> Any:  # fmt: skip
    """Write one bordered cell of a table."""
    cell = write_cell(sheet, row, col, value)
    cell.font = styles["bold" if bold else "plain"]
    cell.alignment = styles[align]
    cell.border = styles["border"]
    if fill:
        cell.fill = styles["fill"]
    if fmt:
        cell.number_format = fmt
    return cell


def _merged(
    sheet: Any, row: int, first: int, last: int, value: Any, styles: dict[str, Any], **kw: Any
) -> None:
    """A value merged over columns ``first``..``last`` of ``row``, every cell of it bordered."""
    _cell(sheet, row, first, value, styles, **kw)
    for col in range(first + 1, last + 1):
        _cell(sheet, row, col, None, styles, **kw)
    if last > first:
        sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)


def _value(figures: UnitFigures, key: str, kind: str) -> Any:
    """A figure as the sheet holds it: rates as fractions (shown as %), money as a number of 万元."""
    value = getattr(figures, key)
    if kind == "rate":
        return None if value is None else round(value / 100, 4)
    if kind == "money":
        return float(value) if isinstance(value, Decimal) else value
    return value


_FORMATS = {"int": "0", "rate": "0.0%", "money": "0.00"}


def _main_sheet(
    sheet: Any, report: ProgressReport, styles: dict[str, Any], audit_head: str | None = None
) -> None:
    from openpyxl.utils import get_column_letter

    width = 1 + len(COLUMNS)
    sheet.title = MAIN_SHEET
    title = report.title
    if report.provisional:
        title += "（临时，未到截止时间）"
    write_cell(sheet, TITLE_ROW, 1, title).font = styles["title"]
    sheet.cell(TITLE_ROW, 1).alignment = styles["center"]
    sheet.merge_cells(start_row=TITLE_ROW, start_column=1, end_row=TITLE_ROW, end_column=width)
    sheet.row_dimensions[TITLE_ROW].height = 34
    # The unit line: four labelled parts merged over the width, as on the printed form.
    quarter = width // 4
    parts = [
        f"填报单位（盖章）：{report.unit_name}",
        f"填报人：{report.filled_by}",
        f"联系电话：{report.phone}",
        f"填报日期：{report.filled_on.year}年{report.filled_on.month}月{report.filled_on.day}日",
    ]
    for index, text in enumerate(parts):
        first = 1 + index * quarter
        last = width if index == len(parts) - 1 else first + quarter - 1
        cell = write_cell(sheet, INFO_ROW, first, text)
        cell.font, cell.alignment = styles["plain"], styles["left"]
        sheet.merge_cells(start_row=INFO_ROW, start_column=first, end_row=INFO_ROW, end_column=last)
    sheet.row_dimensions[INFO_ROW].height = 22
    # Headers: the unit column spans both header rows, each section spans its columns.
    _cell(sheet, SECTION_ROW, 1, "填报单位", styles, bold=True, fill=True)
    _cell(sheet, HEADER_ROW, 1, None, styles, bold=True, fill=True)
    sheet.merge_cells(start_row=SECTION_ROW, start_column=1, end_row=HEADER_ROW, end_column=1)
    col = 2
    for section, _en, columns in SECTIONS:
        _merged(sheet, SECTION_ROW, col, col + len(columns) - 1, section, styles, bold=True, fill=True)
        for _key, label, _en_label, _kind in columns:
            _cell(sheet, HEADER_ROW, col, label, styles, bold=True, fill=True)
            col += 1
    sheet.row_dimensions[SECTION_ROW].height = 24
    sheet.row_dimensions[HEADER_ROW].height = 58
    rows = [*report.rows, report.total] if len(report.rows) > 1 else list(report.rows)
    row_no = FIRST_DATA_ROW
    for figures in rows:
        is_total = figures is report.total
        _cell(sheet, row_no, 1, figures.unit.name, styles, bold=is_total)
        for offset, (key, _label, _en_label, kind) in enumerate(COLUMNS, start=2):
            _cell(
                sheet, row_no, offset, _value(figures, key, kind), styles, bold=is_total, fmt=_FORMATS[kind]
            )
        sheet.row_dimensions[row_no].height = 22
        row_no += 1
    # Where the hazards came from, then the counting rules.
    total = report.total
    regulator, own = total.by_source["regulator"], total.by_source["self"]
    lines = [
        f"其中：监管部门检查发现隐患 {regulator.total} 项（重大 {regulator.major} 项），已整改 {regulator.rectified} 项；"
        f"企业自查发现隐患 {own.total} 项（重大 {own.major} 项），已整改 {own.rectified} 项。"
        f"截止时挂牌督办重大隐患 {total.listed} 项。",
        *NOTES,
        *([f"审计链头（打印时）/ audit chain head when printed: {audit_head}"] if audit_head else []),
    ]
    row_no += 1
    for text in lines:
        cell = write_cell(sheet, row_no, 1, text)
        cell.font, cell.alignment = styles["note"], styles["top_left"]
        sheet.merge_cells(start_row=row_no, start_column=1, end_row=row_no, end_column=width)
        sheet.row_dimensions[row_no].height = 30
        row_no += 1
    sheet.column_dimensions["A"].width = 16
    for col in range(2, width + 1):
        sheet.column_dimensions[get_column_letter(col)].width = 9.5
    sheet.freeze_panes = sheet.cell(FIRST_DATA_ROW, 2)
    _print_layout(sheet, f"{SECTION_ROW}:{HEADER_ROW}")


#: The itemised list's columns: (header, width).
MAJOR_COLUMNS = [
    ("序号", 6), ("县（区）", 10), ("企业名称", 24), ("隐患描述", 40), ("发现日期", 12), ("整改措施", 40),
    ("责任人", 10), ("整改期限", 12), ("整改进展", 16), ("挂牌督办", 22),
]  # fmt: skip


def _major_sheet(sheet: Any, report: ProgressReport, styles: dict[str, Any]) -> None:
    from openpyxl.utils import get_column_letter

    width = len(MAJOR_COLUMNS)
    title = f"重大事故隐患清单（{report.scope_name}，截至{report.cutoff.day.year}年{report.cutoff.day.month}月{report.cutoff.day.day}日）"
    write_cell(sheet, 1, 1, title).font = styles["title"]
    sheet.cell(1, 1).alignment = styles["center"]
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.row_dimensions[1].height = 34
    info = write_cell(
        sheet,
        2,
        1,
        f"填报单位（盖章）：{report.unit_name}    填报人：{report.filled_by}    联系电话：{report.phone}",
    )
    info.font, info.alignment = styles["plain"], styles["left"]
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    for col, (header, column_width) in enumerate(MAJOR_COLUMNS, start=1):
        _cell(sheet, 3, col, header, styles, bold=True, fill=True)
        sheet.column_dimensions[get_column_letter(col)].width = column_width
    sheet.row_dimensions[3].height = 24
    row_no = 4
    for m in report.majors:
        values = [m.serial, m.unit, m.enterprise, m.description, m.found_on, m.measures, m.responsible_person,
                  m.deadline, m.progress, m.supervision or "否"]  # fmt: skip
        for col, value in enumerate(values, start=1):
            wide = col in (3, 4, 6)
            _cell(sheet, row_no, col, value, styles, align="left" if wide else "center",
                  fmt="yyyy-mm-dd" if col in (5, 8) else None)  # fmt: skip
        row_no += 1
    if not report.majors:
        _merged(sheet, row_no, 1, width, "截至截止时间未发现重大事故隐患", styles)
    sheet.freeze_panes = "A4"
    _print_layout(sheet, "3:3")


def _phase_sheet(sheet: Any, report: ProgressReport, styles: dict[str, Any]) -> None:
    from openpyxl.utils import get_column_letter

    headers = [("阶段", 16), ("起止日期", 24), ("截止时状态", 11), ("县（区）", 12), ("纳入行动企业（家）", 12),
               ("本阶段检查覆盖（家）", 12), ("覆盖率", 10), ("清零判定日", 12), ("已清零企业（家）", 12), ("清零率", 10)]  # fmt: skip
    width = len(headers)
    write_cell(
        sheet, 1, 1, f"各阶段检查覆盖与重点事项清零（{report.scope_name}，{report.cutoff.label}）"
    ).font = styles["title"]
    sheet.cell(1, 1).alignment = styles["center"]
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.row_dimensions[1].height = 34
    for col, (header, column_width) in enumerate(headers, start=1):
        _cell(sheet, 2, col, header, styles, bold=True, fill=True)
        sheet.column_dimensions[get_column_letter(col)].width = column_width
    row_no = 3
    for phase in report.phases:
        parts = [phase.total] if len(phase.units) <= 1 else [*phase.units, phase.total]
        first = row_no
        for part in parts:
            coverage = part.inspected / part.in_scope if part.in_scope else None
            rate = None if part.cleared is None or not part.in_scope else part.cleared / part.in_scope
            name = part.unit.name if len(parts) > 1 else report.scope_name
            values = [phase.name, f"{phase.starts_on.isoformat()} 至 {phase.ends_on.isoformat()}", phase.status_zh,
                      name, part.in_scope, part.inspected, coverage, phase.as_of,
                      "—" if part.cleared is None else part.cleared, rate]  # fmt: skip
            for col, value in enumerate(values, start=1):
                fmt = "0.0%" if col in (7, 10) else "yyyy-mm-dd" if col == 8 else None
                _cell(sheet, row_no, col, value, styles, bold=part is phase.total and len(parts) > 1, fmt=fmt)
            row_no += 1
        if row_no - first > 1:
            for col in (1, 2, 3, 8):
                sheet.merge_cells(start_row=first, start_column=col, end_row=row_no - 1, end_column=col)
    note = write_cell(sheet, row_no + 1, 1, "清零按阶段末日（进行中的阶段按截止日）判定：该日前完成的最近一次有效检查、该日前发现的隐患及其当日状态；"
                      "尚无监管部门有效检查时显示“—”。")  # fmt: skip
    note.font, note.alignment = styles["note"], styles["top_left"]
    sheet.merge_cells(start_row=row_no + 1, start_column=1, end_row=row_no + 1, end_column=width)
    sheet.row_dimensions[row_no + 1].height = 30
    _print_layout(sheet, "2:2")


def report_xlsx(report: ProgressReport, *, audit_head: str | None = None) -> bytes:
    """The report as .xlsx bytes: the form, the list of major hazards, and the phases; ``audit_head`` (the audit
    chain's head label) is printed under the form."""
    from openpyxl import Workbook

    book = Workbook()
    styles = _styles()
    _main_sheet(book.active, report, styles, audit_head)
    _major_sheet(book.create_sheet(MAJOR_SHEET), report, styles)
    _phase_sheet(book.create_sheet(PHASE_SHEET), report, styles)
    book.properties.title = report.title
    book.properties.creator = report.filled_by
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report_filename(report: ProgressReport) -> str:
    """The download's name, e.g. 进展情况统计表-兴县-2026-07.xlsx."""
    kind = "工作总结" if report.cutoff.final else "进展情况统计表"
    return f"{kind}-{report.scope_name}-{report.cutoff.param}.xlsx"

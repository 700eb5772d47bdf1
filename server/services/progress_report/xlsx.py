"""The progress report as an Excel workbook laid out like the notice's form, ready to print and stamp.

Sheet 1 统计报表: the attachment's title word for word (冶金工贸行业安全生产大检查大整治大提升专项行动统计报表), the
period, the 填报单位 and 联系电话 line, the form's table: a 统计项 column with the items grouped as the attachment groups
them (一、成立检查组 / 二、督查监管部门情况 / 三、企业隐患排查整治进展情况) and a column per unit with the 合计, then the
split of hazards by source, the counting rules and 填表人 / 填表日期. Sheet 2 专项行动检查发现重大隐患明细: the
itemised list of major hazards, each row as tall as its longest text. Sheet 3 各阶段覆盖与清零: each phase's coverage and
清零. Every sheet prints on A4 landscape, fitted to the page width, with its header rows repeated on each page.
"""

from __future__ import annotations

import io
from copy import copy
from dataclasses import fields
from decimal import Decimal
from functools import lru_cache
from typing import Any

from server.services.progress_report import (
    FILLED_BY,
    FILLED_ON,
    ITEM_COLUMN,
    MAJOR_TITLE,
    PHONE,
    SECTIONS,
    UNIT,
    ProgressReport,
    UnitFigures,
)
from server.services.xlsx_cells import evaluable, write_cell

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAIN_SHEET, MAJOR_SHEET, PHASE_SHEET = "统计报表", MAJOR_TITLE, "各阶段覆盖与清零"
#: Rows of the main sheet: the title, the period, the unit line, the header (类别, 统计项, a column per unit).
TITLE_ROW, PERIOD_ROW, INFO_ROW, HEADER_ROW = 1, 2, 3, 4
FIRST_DATA_ROW = HEADER_ROW + 1
#: Points per printed line of 10-point 宋体 in a wrapped cell, and the padding above and below.
LINE_PT, PAD_PT = 13.5, 5.0

#: Counting rules printed under the table (the full rules: server/services/progress_report/).
NOTES = [
    "统计口径：各项数字为专项行动开始至截止时间的累计数；截止时间为当月23日24时（总结为11月15日24时），"
    "以记录发生时间和服务器收到时间均早于截止时间为准，截止后补报的记录计入下期；行动开始前发现的隐患不计入。",
    "有效检查：监管部门已提交、未被退回、未被更正替代、且执法终端签名封存验证通过的检查（不含企业自查）；"
    "检查组为共同完成至少一次有效检查的执法人员组合（专家随行不另计）。",
    "整改率＝已整改（已验收或已销号）隐患数÷排查发现隐患数；逾期未整改指截止日（临时报表为填表日）尚未报告整改完成"
    "且整改期限早于该日的隐患。整改资金以万元计。",
    "开展自查企业：提交了自查自评或自查台账中登记了隐患的企业。重点事项清零：按截止前经审核通过、检查结果与封存记录"
    "一致的最近一次有效检查和截止时关联隐患状态判定。",
]


def text_width(text: str) -> float:
    """How wide ``text`` prints, in Excel's column-width units (a CJK character is about two)."""
    return sum(2.0 if ord(char) > 0x2E7F else 1.1 for char in text)


def row_height(texts_and_widths: list[tuple[str, float]], *, minimum: float = 22.0) -> float:
    """A row tall enough for each wrapped cell's text in its column width (points): rows grow with their text,
    so a long description never prints over the next row."""
    lines = max((_wrapped_lines(text, width) for text, width in texts_and_widths), default=1)
    return max(minimum, max(lines, 1) * LINE_PT + PAD_PT)


@lru_cache(maxsize=8192)
def _wrapped_lines(text: str, width: float) -> int:
    """How many lines ``text`` wraps to in a column ``width`` wide (kept: a province's list of major hazards
    repeats its units, measures, progress and many descriptions thousands of times)."""
    usable = max(width - 1.5, 1.0)
    return sum(max(1, -(-int(text_width(part) * 100) // int(usable * 100))) for part in text.split("\n"))


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
    # Setting a style looks it up in the workbook's lists by hashing it (most of the time of a province's workbook,
    # with thousands of major hazards): each combination is set once, later cells take its indices.
    combination = ("cell", bold, align, fill, fmt, bool(cell.quotePrefix))
    memo: dict[tuple[Any, ...], Any] = styles.setdefault("indices", {})
    indices = memo.get(combination)
    if indices is not None:
        cell._style = copy(indices)
        return cell
    cell.font = styles["bold" if bold else "plain"]
    cell.alignment = styles[align]
    cell.border = styles["border"]
    if fill:
        cell.fill = styles["fill"]
    if fmt:
        cell.number_format = fmt
    memo[combination] = copy(cell._style)
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


def _two_parts(sheet: Any, row: int, width: int, left: str, right: str, styles: dict[str, Any]) -> None:
    """A line of the form in two labelled halves (填报单位 | 联系电话, 填表人 | 填表日期), each merged over its half."""
    half = max(2, width // 2)
    for first, last, text in ((1, half, left), (half + 1, width, right)):
        cell = write_cell(sheet, row, first, text)
        cell.font, cell.alignment = styles["plain"], styles["left"]
        if last > first:
            sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
    sheet.row_dimensions[row].height = 22


def _main_sheet(
    sheet: Any, report: ProgressReport, styles: dict[str, Any], audit_head: str | None = None
) -> None:
    """The attachment's form: its title, the unit line, a row per 统计项 grouped as the form groups them, a column
    per unit (the 合计 last), the notes, and 填表人 / 填表日期 at the foot."""
    from openpyxl.utils import get_column_letter

    units = [*report.rows, report.total] if len(report.rows) > 1 else list(report.rows)
    width = 2 + max(1, len(units))
    widths = {1: 16.0, 2: 24.0, **dict.fromkeys(range(3, width + 1), 12.0)}
    sheet.title = MAIN_SHEET
    write_cell(sheet, TITLE_ROW, 1, report.title).font = styles["title"]
    sheet.cell(TITLE_ROW, 1).alignment = styles["center"]
    sheet.merge_cells(start_row=TITLE_ROW, start_column=1, end_row=TITLE_ROW, end_column=width)
    sheet.row_dimensions[TITLE_ROW].height = 34
    period = report.period + ("（临时，未到截止时间）" if report.provisional else "")
    write_cell(sheet, PERIOD_ROW, 1, period).font = styles["plain"]
    sheet.cell(PERIOD_ROW, 1).alignment = styles["center"]
    sheet.merge_cells(start_row=PERIOD_ROW, start_column=1, end_row=PERIOD_ROW, end_column=width)
    _two_parts(
        sheet, INFO_ROW, width, f"{UNIT}（盖章）：{report.unit_name}", f"{PHONE}：{report.phone}", styles
    )
    _cell(sheet, HEADER_ROW, 1, "类别", styles, bold=True, fill=True)
    _cell(sheet, HEADER_ROW, 2, ITEM_COLUMN, styles, bold=True, fill=True)
    for col, figures in enumerate(units, start=3):
        _cell(
            sheet,
            HEADER_ROW,
            col,
            "合计" if figures is report.total else figures.unit.name,
            styles,
            bold=True,
            fill=True,
        )
    sheet.row_dimensions[HEADER_ROW].height = 24
    row_no = FIRST_DATA_ROW
    for section, _en, columns in SECTIONS:
        first = row_no
        for key, label, _en_label, kind in columns:
            _cell(sheet, row_no, 1, section if row_no == first else None, styles, bold=True)
            _cell(sheet, row_no, 2, label, styles, align="left")
            for col, figures in enumerate(units, start=3):
                _cell(sheet, row_no, col, _value(figures, key, kind), styles, bold=figures is report.total,
                      fmt=_FORMATS[kind])  # fmt: skip
            sheet.row_dimensions[row_no].height = row_height([(label, widths[2])])
            row_no += 1
        sheet.merge_cells(start_row=first, start_column=1, end_row=row_no - 1, end_column=1)
    total = report.total
    regulator, own = total.by_source["regulator"], total.by_source["self"]
    lines = [
        f"其中：监管部门检查发现隐患 {regulator.total} 项（重大 {regulator.major} 项），已整改 {regulator.rectified} 项；"
        f"企业自查发现隐患 {own.total} 项（重大 {own.major} 项），已整改 {own.rectified} 项。"
        f"截止时挂牌督办重大隐患 {total.listed} 项。",
        *(
            [f"另有 {report.before_campaign} 项隐患发现于专项行动开始之前，不计入本表。"]
            if report.before_campaign
            else []
        ),
        *NOTES,
        *([f"审计链头（打印时）/ audit chain head when printed: {audit_head}"] if audit_head else []),
    ]
    row_no += 1
    table_width = sum(widths.values())
    for text in lines:
        cell = write_cell(sheet, row_no, 1, text)
        cell.font, cell.alignment = styles["note"], styles["top_left"]
        sheet.merge_cells(start_row=row_no, start_column=1, end_row=row_no, end_column=width)
        sheet.row_dimensions[row_no].height = row_height([(text, table_width * 1.1)], minimum=16)
        row_no += 1
    row_no += 1
    filled_on = report.filled_on
    _two_parts(
        sheet, row_no, width, f"{FILLED_BY}：{report.filled_by}",
        f"{FILLED_ON}：{filled_on.year}年{filled_on.month}月{filled_on.day}日", styles,
    )  # fmt: skip
    for col, column_width in widths.items():
        sheet.column_dimensions[get_column_letter(col)].width = column_width
    sheet.freeze_panes = sheet.cell(FIRST_DATA_ROW, 3)
    _print_layout(sheet, f"{HEADER_ROW}:{HEADER_ROW}")


#: The itemised list's columns: (header, width).
MAJOR_COLUMNS = [
    ("序号", 6), ("县（区）", 10), ("企业名称", 24), ("隐患描述", 40), ("发现日期", 12), ("整改措施", 40),
    ("责任人", 10), ("整改期限", 12), ("整改资金（万元）", 11), ("整改进展", 16), ("挂牌督办", 22),
]  # fmt: skip


def _major_sheet(sheet: Any, report: ProgressReport, styles: dict[str, Any]) -> Any:
    """The itemised list of major hazards: its title, unit line and header drawn here, its rows kept as raw rows
    (xlsx_rows: thousands at province scale) that _draw puts into the saved sheet; returns them."""
    from openpyxl.utils import get_column_letter

    from server.services.progress_report.xlsx_rows import RawRows

    width = len(MAJOR_COLUMNS)
    title = f"{MAJOR_TITLE}{report.period}"
    write_cell(sheet, 1, 1, title).font = styles["title"]
    sheet.cell(1, 1).alignment = styles["center"]
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.row_dimensions[1].height = 34
    info = write_cell(
        sheet,
        2,
        1,
        f"{UNIT}（盖章）：{report.unit_name}    {FILLED_BY}：{report.filled_by}    {PHONE}：{report.phone}",
    )
    info.font, info.alignment = styles["plain"], styles["left"]
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    for col, (header, column_width) in enumerate(MAJOR_COLUMNS, start=1):
        _cell(sheet, 3, col, header, styles, bold=True, fill=True)
        sheet.column_dimensions[get_column_letter(col)].width = column_width
    sheet.row_dimensions[3].height = 24
    rows = RawRows(sheet)

    def style(col: int, value: Any) -> int:
        """The style _cell gives the column's cells (left-aligned wide text, dates and money formatted)."""
        align = "left" if col in (3, 4, 6, 11) else "center"
        fmt = "yyyy-mm-dd" if col in (5, 8) else "0.00" if col == 9 else None
        quoted = evaluable(value)

        def apply(cell: Any) -> None:
            cell.font, cell.alignment, cell.border = styles["plain"], styles[align], styles["border"]
            if fmt:
                cell.number_format = fmt
            cell.quotePrefix = quoted

        return rows.style((col, quoted), apply)

    row_no = 4
    for m in report.majors:
        description = m.description + (f"（部位：{m.place}）" if m.place else "")
        funds = float(m.funds_wan) if m.funds_wan is not None else None
        values = [m.serial, m.unit, m.enterprise, description, m.found_on, m.measures, m.responsible_person,
                  m.deadline, funds, m.progress, m.supervision or "否"]  # fmt: skip
        # The row grows with its longest wrapped text, so descriptions never print over each other.
        height = row_height(
            [(str(v), MAJOR_COLUMNS[col][1]) for col, v in enumerate(values) if isinstance(v, str)]
        )
        rows.append(row_no, [(col, v, style(col, v)) for col, v in enumerate(values, start=1)], height)
        row_no += 1
    if not report.majors:
        _merged(sheet, row_no, 1, width, "截至截止时间未发现重大事故隐患", styles)
    sheet.freeze_panes = "A4"
    _print_layout(sheet, "3:3")
    return rows


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
    """The report as .xlsx bytes: the form, the list of major hazards, and the phases (drawn once per heading and
    audit head for the same cached figures)."""
    heading = tuple(getattr(report, f.name) for f in fields(report) if f.name not in _COUNTED)
    drawn = report.drawn.get((heading, audit_head))
    if drawn is None:
        drawn = _draw(report, audit_head)
        if len(report.drawn) >= _DRAWN:
            report.drawn.clear()
        report.drawn[(heading, audit_head)] = drawn
    return drawn


#: The report's fields that are its counted figures (the rest is its heading), and how many drawn workbooks each
#: set of figures keeps.
_COUNTED = frozenset({"rows", "total", "majors", "phases", "before_campaign", "after_campaign", "drawn"})
_DRAWN = 4


def _draw(report: ProgressReport, audit_head: str | None) -> bytes:
    from openpyxl import Workbook

    from server.services.progress_report.xlsx_rows import splice

    book = Workbook()
    styles = _styles()
    _main_sheet(book.active, report, styles, audit_head)
    major_rows = _major_sheet(book.create_sheet(MAJOR_SHEET), report, styles)
    _phase_sheet(book.create_sheet(PHASE_SHEET), report, styles)
    book.properties.title = report.title
    book.properties.creator = report.filled_by
    out = io.BytesIO()
    book.save(out)
    return splice(out.getvalue(), [major_rows])


def report_filename(report: ProgressReport) -> str:
    """The download's name, e.g. 统计报表-兴县-2026-07.xlsx."""
    kind = "统计报表-工作总结" if report.cutoff.final else "统计报表"
    return f"{kind}-{report.scope_name}-{report.cutoff.param}.xlsx"

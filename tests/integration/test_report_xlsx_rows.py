"""Issue 17: the list of major hazards is written as SpreadsheetML rows (xlsx_rows) instead of an openpyxl cell per
cell, and the workbook reads back the same as when every cell was drawn by openpyxl: same sheets, cell values,
fonts, alignments, borders, fills, number formats, quote prefixes, merged cells, row heights, column widths, frozen
panes and print setup, with texts that need escaping, spaces kept, formula-like text and empty values."""

from __future__ import annotations

import dataclasses
import io
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from server.extensions import db
from server.models import User
from server.services import progress_report
from server.services.progress_report import MAJOR_TITLE, PHONE, UNIT, xlsx
from server.services.progress_report.xlsx import FILLED_BY, MAJOR_COLUMNS, row_height
from server.services.progress_report.xlsx_rows import RawRows, splice
from server.services.xlsx_cells import write_cell

CHINA = ZoneInfo("Asia/Shanghai")


def major_sheet_cell_by_cell(sheet: Any, report: Any, styles: dict[str, Any]) -> RawRows:
    """The list of major hazards as it was drawn before xlsx_rows: every cell an openpyxl cell (the reference)."""
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
        xlsx._cell(sheet, 3, col, header, styles, bold=True, fill=True)
        sheet.column_dimensions[get_column_letter(col)].width = column_width
    sheet.row_dimensions[3].height = 24
    row_no = 4
    for m in report.majors:
        description = m.description + (f"（部位：{m.place}）" if m.place else "")
        funds = float(m.funds_wan) if m.funds_wan is not None else None
        values = [m.serial, m.unit, m.enterprise, description, m.found_on, m.measures, m.responsible_person,
                  m.deadline, funds, m.progress, m.supervision or "否"]  # fmt: skip
        for col, value in enumerate(values, start=1):
            wide = col in (3, 4, 6, 11)
            fmt = "yyyy-mm-dd" if col in (5, 8) else "0.00" if col == 9 else None
            xlsx._cell(sheet, row_no, col, value, styles, align="left" if wide else "center", fmt=fmt)
        sheet.row_dimensions[row_no].height = row_height(
            [(str(v), MAJOR_COLUMNS[col][1]) for col, v in enumerate(values) if isinstance(v, str)]
        )
        row_no += 1
    if not report.majors:
        xlsx._merged(sheet, row_no, 1, width, "截至截止时间未发现重大事故隐患", styles)
    sheet.freeze_panes = "A4"
    xlsx._print_layout(sheet, "3:3")
    return RawRows(sheet)  # none: every row is in the sheet


def _cell(c: Any) -> tuple[Any, ...]:
    styles = (c.font, c.alignment, c.border, c.fill)
    return (c.coordinate, c.value, c.data_type, *map(repr, styles), c.number_format, c.quotePrefix)


def read_back(data: bytes) -> dict[str, Any]:
    """Everything a reader sees of a workbook, styles compared by their text (not by their index in the file)."""
    book = load_workbook(io.BytesIO(data))
    sheets = {}
    for sheet in book.worksheets:
        setup = sheet.page_setup
        sheets[sheet.title] = {
            "dimensions": sheet.dimensions,
            "cells": [
                (
                    c.coordinate,
                    c.value,
                    c.data_type,
                    *map(repr, (c.font, c.alignment, c.border, c.fill)),
                    c.number_format,
                    c.quotePrefix,
                )
                for row in sheet.iter_rows()
                for c in row
            ],
            "merged": sorted(str(r) for r in sheet.merged_cells.ranges),
            "rows": {i: (d.height, d.customHeight) for i, d in sheet.row_dimensions.items()},
            "columns": {k: (d.width, d.customWidth) for k, d in sheet.column_dimensions.items()},
            "frozen": sheet.freeze_panes,
            "print": (
                setup.orientation,
                setup.paperSize,
                setup.fitToWidth,
                setup.fitToHeight,
                sheet.sheet_properties.pageSetUpPr.fitToPage,
                sheet.print_title_rows,
                sheet.print_options.horizontalCentered,
                repr(sheet.page_margins),
            ),
        }
    return {
        "sheets": list(sheets.items()),
        "title": book.properties.title,
        "creator": book.properties.creator,
    }


def _report(app: Flask, username: str) -> Any:
    """The user's final report, its list of major hazards grown with texts that need escaping, keep their spaces,
    would be evaluated, span lines, or are empty, and with funds set."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        report = progress_report.build_report(db.session, user, "final", zone=CHINA)
    assert report.majors
    first = report.majors[0]
    texts = [
        '=HYPERLINK("x") 重大隐患 <a> & "b"',
        "  前后有空格的描述  ",
        "@SUM(A1) 换行\n第二行",
        "-1",
        "",
        " ",
    ]
    for serial, text in enumerate(texts, start=len(report.majors) + 1):
        report.majors.append(
            dataclasses.replace(first, serial=serial, description=text, measures=text, place="",
                                funds_yuan=Decimal("12345.67") if serial % 2 else None)
        )  # fmt: skip
    return report


@pytest.mark.parametrize("username", ["ll_city", "xx_sup"])
def test_the_workbook_reads_back_as_drawn_cell_by_cell(
    app: Flask, monkeypatch: pytest.MonkeyPatch, username: str
) -> None:
    report = _report(app, username)
    drawn = xlsx._draw(report, "head")
    monkeypatch.setattr(xlsx, "_major_sheet", major_sheet_cell_by_cell)
    reference = xlsx._draw(report, "head")
    assert read_back(drawn) == read_back(reference)
    cells = dict(read_back(drawn)["sheets"])[MAJOR_TITLE]["cells"]
    assert any(c[-1] for c in cells)  # a quote prefix
    assert any(isinstance(c[1], str) and c[1].startswith("  ") for c in cells)


def test_an_empty_list_reads_back_as_drawn_cell_by_cell(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    report = _report(app, "xx_sup")
    report.majors.clear()
    drawn = xlsx._draw(report, None)
    monkeypatch.setattr(xlsx, "_major_sheet", major_sheet_cell_by_cell)
    assert read_back(drawn) == read_back(xlsx._draw(report, None))


def test_raw_rows_write_what_openpyxl_writes() -> None:
    """Each kind of value, in a workbook of its own: read back, the raw row equals the openpyxl row."""
    values = [None, "", "text", " spaced ", "a<b>&c", "x\ny", 0, -3, 2.5, 1e20, Decimal("1.10"), True]
    day = date(2026, 12, 5)

    def drawn(raw: bool) -> dict[str, Any]:
        book = Workbook()
        sheet = book.active
        write_cell(sheet, 1, 1, "header")
        if raw:
            rows = RawRows(sheet)
            plain = rows.style(("plain",), lambda c: None)
            dated = rows.style(("date",), lambda c: setattr(c, "number_format", "yyyy-mm-dd"))
            cells = [(col, v, plain) for col, v in enumerate(values, 1)]
            rows.append(2, [*cells, (len(values) + 1, day, dated)], height=30.5)
        else:
            for col, v in enumerate(values, 1):
                write_cell(sheet, 2, col, v)
            write_cell(sheet, 2, len(values) + 1, day).number_format = "yyyy-mm-dd"
            sheet.row_dimensions[2].height = 30.5
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
        return read_back(splice(data, [rows]) if raw else data)

    assert drawn(True) == drawn(False)

"""The workbook's cells take their style indices from the first cell styled alike: every cell of every sheet reads
back with the same value, font, alignment, border, fill, number format and quote prefix as when each cell is styled
one by one (a formula-like text keeps its quote prefix)."""

from __future__ import annotations

import io
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from openpyxl import load_workbook

from server.extensions import db
from server.models import Hazard, User
from server.services import progress_report
from server.services.progress_report import xlsx
from server.services.xlsx_cells import write_cell

CHINA = ZoneInfo("Asia/Shanghai")


def _styled_one_by_one(sheet: Any, row: int, col: int, value: Any, styles: dict[str, Any], *, bold: bool = False,
                       align: str = "center", fill: bool = False, fmt: str | None = None) -> Any:  # fmt: skip
    """The cell as the workbook was drawn before (each style set on each cell)."""
    cell = write_cell(sheet, row, col, value)
    cell.font = styles["bold" if bold else "plain"]
    cell.alignment = styles[align]
    cell.border = styles["border"]
    if fill:
        cell.fill = styles["fill"]
    if fmt:
        cell.number_format = fmt
    return cell


def _cells(data: bytes) -> list[tuple[Any, ...]]:
    book = load_workbook(io.BytesIO(data))
    # Styles compared by their text: openpyxl's objects of two workbooks are not equal by identity of parts.
    return [
        (
            sheet.title,
            c.coordinate,
            c.value,
            *map(repr, (c.font, c.alignment, c.border, c.fill)),
            c.number_format,
            c.quotePrefix,
        )
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for c in row
    ]


def test_cells_styled_by_index_read_back_as_styled_one_by_one(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        hazard = db.session.scalar(sa.select(Hazard).where(Hazard.level == "major").limit(1))
        assert hazard is not None
        hazard.description = '=HYPERLINK("x") 重大隐患'  # a formula-like text among the plain ones
        db.session.commit()
        user = db.session.scalar(sa.select(User).where(User.username == "ll_city"))
        assert user is not None
        report = progress_report.build_report(db.session, user, "final", zone=CHINA)
        assert report.majors
        by_index = xlsx._draw(report, "head")
        monkeypatch.setattr(xlsx, "_cell", _styled_one_by_one)
        one_by_one = xlsx._draw(report, "head")
    cells = _cells(by_index)
    assert cells == _cells(one_by_one)
    assert any(c[-1] for c in cells)

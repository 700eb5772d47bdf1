"""Rows of a sheet written straight as SpreadsheetML: a province's list of major hazards has thousands of rows, and
openpyxl spends most of a workbook's time making a cell object per cell and serialising each through its pure-Python
XML writer. Those rows are kept here as the text openpyxl would have written for the same cells (inline strings,
numbers and dates as serials, each cell's style index in the workbook, each row's height) and put into the saved
workbook's sheet, after the rows openpyxl wrote (the title and header rows).

A cell's style is registered in the workbook (fonts, borders, number formats, the cell style list) exactly as when
a cell is styled, from one scratch cell per combination, so the styles part lists every style the rows use.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.utils.exceptions import IllegalCharacterError

#: Text longer than this is cut, as openpyxl cuts it (Excel's limit for a cell).
MAX_TEXT = 32767
_DIMENSION = re.compile(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_END_OF_ROWS = b"</sheetData>"


class RawRows:
    """Rows (after those openpyxl holds) of one openpyxl sheet, kept as SpreadsheetML text until the workbook is
    saved (splice puts them in)."""

    def __init__(self, sheet: Any) -> None:
        """Rows for ``sheet`` (a sheet of a workbook openpyxl draws in its normal mode)."""
        self.sheet = sheet
        self._parts: list[str] = []
        self._styles: dict[tuple[Any, ...], int] = {}
        self.last_row = 0
        self.last_col = 0

    def style(self, key: tuple[Any, ...], apply: Any) -> int:
        """The workbook's index of the cell style ``apply(cell)`` gives a cell, registered once per ``key``."""
        found = self._styles.get(key)
        if found is None:
            cell = _scratch_cell(self.sheet)
            apply(cell)
            found = self._styles[key] = self.sheet.parent._cell_styles.add(cell._style or StyleArray())
        return found

    def append(self, row: int, cells: list[tuple[int, Any, int]], height: float | None = None) -> None:
        """Row ``row`` (after every row written so far) with ``cells`` as (column, value, style index) and,
        when given, a custom ``height`` in points."""
        if row <= self.last_row:
            raise ValueError(f"row {row} is not after row {self.last_row}")
        attrs = f' ht="{_number(height)}" customHeight="1"' if height else ""
        parts = [f'<row r="{row}"{attrs}>']
        for col, value, style in cells:
            parts.append(_cell(f"{_column(col)}{row}", value, style, self.sheet.parent.epoch))
            self.last_col = max(self.last_col, col)
        parts.append("</row>")
        self._parts.append("".join(parts))
        self.last_row = row

    def splice(self, sheet_xml: bytes) -> bytes:
        """The sheet's part as openpyxl saved it, with these rows after its rows and its dimension grown to them."""
        if not self._parts:
            return sheet_xml
        end = sheet_xml.rfind(_END_OF_ROWS)
        if end < 0:
            raise ValueError("the sheet has no rows to add to")
        xml = sheet_xml[:end] + "".join(self._parts).encode() + sheet_xml[end:]
        return _DIMENSION.sub(self._dimension, xml, count=1)

    def _dimension(self, match: re.Match[bytes]) -> bytes:
        first = match.group(1) + match.group(2)
        last_col = max(_column_index(match.group(3) or match.group(1)), self.last_col)
        last_row = max(int(match.group(4) or match.group(2)), self.last_row)
        return b'<dimension ref="' + first + b":" + f"{_column(last_col)}{last_row}".encode() + b'"'


def splice(workbook: bytes, rows: list[RawRows]) -> bytes:
    """The saved ``workbook`` with each sheet's raw rows put into its part (the other parts copied as they are)."""
    by_part = {r.sheet.path.lstrip("/"): r for r in rows}
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(workbook)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename in by_part:
                data = by_part[info.filename].splice(data)
            target.writestr(info, data)
    return out.getvalue()


def _scratch_cell(sheet: Any) -> Any:
    """A cell of ``sheet`` that the sheet does not hold (styling it registers the style in the workbook)."""
    return Cell(sheet, row=1, column=1)


def _number(value: float | int | Decimal) -> str:
    """A number as openpyxl writes it (its "%.16g", which reads a Decimal as a float)."""
    return f"{float(value):.16g}"


def _cell(ref: str, value: Any, style: int, epoch: datetime) -> str:
    """One cell as openpyxl's writer puts it in a sheet (data as data: text is never a formula)."""
    head = f'<c r="{ref}" s="{style}"'
    if value is None:
        return head + ' t="n" />'
    if isinstance(value, str):
        text = value[:MAX_TEXT]
        if ILLEGAL_CHARACTERS_RE.search(text):
            raise IllegalCharacterError(f"{text} cannot be used in worksheets.")
        if text == "":
            return head + ' t="inlineStr" />'
        space = ' xml:space="preserve"' if text.strip() and text != text.strip() else ""
        return f'{head} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'
    if isinstance(value, bool):
        return f'{head} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float, Decimal)):
        return f'{head} t="n"><v>{_number(value)}</v></c>'
    if isinstance(value, (date, datetime, time, timedelta)):
        if isinstance(value, (datetime, time)) and value.tzinfo is not None:
            raise TypeError("Excel does not support timezones in datetimes.")
        return f'{head} t="n"><v>{_number(to_excel(value, epoch))}</v></c>'
    raise ValueError(f"Cannot convert {value!r} to Excel")


def _column(index: int) -> str:
    return get_column_letter(index)


def _column_index(letters: bytes) -> int:
    return column_index_from_string(letters.decode())

"""Writing spreadsheet cells safely: every workbook we produce writes its cells through write_cell, so that text
which a spreadsheet would evaluate (=, +, -, @, a tab or CR first, DDE links) stays text.

Such text is stored as a string cell (never a formula) carrying Excel's quote prefix (``quotePrefix``: shown and
edited as text, even after the cell is edited), and its value is left exactly as typed: an export imports back
to the same text, with no apostrophe to strip."""

from __future__ import annotations

from typing import Any

#: First characters that make Excel, LibreOffice or WPS evaluate a cell (OWASP's CSV-injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def evaluable(value: object) -> bool:
    """True for text a spreadsheet would read as a formula (or a DDE link), leading spaces ignored."""
    if not isinstance(value, str) or not value:
        return False
    return value.startswith(FORMULA_STARTS) or value.lstrip(" ").startswith(FORMULA_STARTS)


def write_cell(sheet: Any, row: int, col: int, value: Any = None) -> Any:
    """Put ``value`` in the cell at (row, col) of an openpyxl sheet as data, never as a formula; returns the cell."""
    cell = sheet.cell(row, col)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would store a leading '=' as a formula
        if evaluable(value):
            cell.quotePrefix = True
    return cell

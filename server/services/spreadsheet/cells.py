"""Cells and the problems they give: text, folded keys, blanks and totals, dates, yes/no flags, RowError."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from server.domain.typed_cells import CellRefused, ReadDate
from server.domain.typed_cells import parse_date as read_date
from server.errors import (  # the catalogue's entries this module raises
    cell_refused,
    date_invalid,
    flag_invalid,
    import_file_invalid,
)
from sync.problems import Problem

TRUE_WORDS = frozenset({"是", "√", "✓", "✔", "y", "yes", "1", "true", "有", "涉及"})
FALSE_WORDS = frozenset({"否", "×", "✗", "✘", "n", "no", "0", "false", "无", "不涉及", ""})
NONE_WORDS = frozenset({"无", "-", "—", "/", "none"})
TOTAL_WORDS = ("合计", "总计", "小计")

EARLIEST_DATE = date(1900, 1, 1)


# --- The report's unit -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem of one row: the row number as Excel shows it, the column header, the cell's value as
    written (blank for a missing value), the reason."""

    row: int
    column: str
    reason: str
    reason_en: str = ""
    code: str = ""
    value: str = ""

    @classmethod
    def of(cls, row: int, column: str, problem: Problem, value: Any = None) -> RowError:
        """A row error whose reason is a catalogue problem, with the refused cell's value."""
        written = "" if value is None or is_blank(value) else shown(value)
        return cls(row, column, problem.message("zh"), problem.message("en"), problem.code, written)

    def reason_in(self, lang: str) -> str:
        """The reason in ``lang`` (the Chinese one when no English was recorded)."""
        return self.reason_en if lang.startswith("en") and self.reason_en else self.reason

    def as_text(self) -> str:
        """One line: 第 7 行 [统一社会信用代码]：校验位错误 (check digit wrong)；填写的值 / value：“9114…”
        (the value only when the reason does not already quote it)."""
        english = f" ({self.reason_en})" if self.reason_en else ""
        value = f"；填写的值 / value：“{self.value}”" if self.value and self.value not in self.reason else ""
        return f"第 {self.row} 行 [{self.column}]：{self.reason}{english}{value}"


def file_invalid(zh: str, en: str) -> Problem:
    """The whole file cannot be used (400.5), with the reason in Chinese and English."""
    return import_file_invalid(reason=zh, reason_en=en)


# --- Cells -------------------------------------------------------------------------------------------------


def key(value: Any) -> str:
    """A header or label folded for matching: NFKC (full-width to half-width), no spaces, no '*', lower."""
    folded = unicodedata.normalize("NFKC", str(value))
    return "".join(folded.split()).strip("*:").lower()


def loose_key(folded: str) -> str:
    """The key without bracketed remarks, so 联系电话(手机) matches 联系电话."""
    return re.sub(r"\(.*?\)|\[.*?\]|【.*?】", "", folded)


def text(value: Any) -> str:
    """A cell as text: numbers without a spurious '.0', dates as ISO, surrounding space removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def shown(value: Any, limit: int = 40) -> str:
    """A cell value as quoted in a message, cut short when long."""
    as_text = text(value)
    return as_text if len(as_text) <= limit else as_text[: limit - 1] + "…"


def is_blank(value: Any) -> bool:
    """True for an empty cell or one holding only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def starts_as_total(cells: Sequence[Any]) -> bool:
    """Whether the row's first filled cell reads 合计/总计/小计: a total row, unless the importer's key column
    holds a real value (the importer decides)."""
    first = next((text(c) for c in cells if not is_blank(c)), "")
    return first.startswith(TOTAL_WORDS)


def header_text(value: Any) -> str:
    """A header cell as shown in messages: its text without any spaces or line breaks."""
    return "".join(str(value).split())


def refused(error: CellRefused) -> Problem:
    """A domain refusal of a cell as the catalogue's problem (400.30), its reason in Chinese and English."""
    return cell_refused(reason=error.message("zh"), reason_en=error.message("en"))


def read_date_cell(
    value: Any, latest: date, earliest: date = EARLIEST_DATE, default_year: int | None = None
) -> ReadDate:
    """A date in the forms of ``server.domain.typed_cells.parse_date`` (a year-less one only with
    ``default_year``, and then marked so); outside [earliest, latest] it is refused (400.28)."""
    try:
        found = read_date(value, default_year)
    except CellRefused as error:
        if error.reason == "date":
            raise date_invalid(value=shown(value)) from None
        raise refused(error) from None
    if not earliest <= found.day <= latest:
        raise date_invalid(value=shown(value))
    return found


def parse_date(value: Any, latest: date, earliest: date = EARLIEST_DATE) -> date:
    """A full date (with its year) from a cell; outside [earliest, latest] it is refused (400.28)."""
    return read_date_cell(value, latest, earliest).day


def parse_flag(value: Any) -> bool:
    """是/否 and its spellings (√/×, Y/N, 1/0, true/false); anything else is refused (400.26)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    folded = key(text(value))
    if folded in TRUE_WORDS:
        return True
    if folded in FALSE_WORDS:
        return False
    raise flag_invalid(value=shown(value))


class Note(NamedTuple):
    """A text of the report in Chinese and in English; the reader is shown one of them."""

    zh: str
    en: str

    def in_language(self, lang: str) -> str:
        """The text in ``lang`` ("zh" or "en"; Chinese for anything else)."""
        return self.en if lang.startswith("en") else self.zh

"""One ledger row: skipped or not, every cell checked, and the year a year-less date is read in."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from server.domain.hazards import HazardLevel
from server.domain.typed_cells import (
    YUAN,
    CellRefused,
    LedgerState,
    ReadDate,
    year_named_in,
)
from server.domain.typed_cells import parse_date as read_date
from server.errors import (
    # the catalogue's entries this module raises
    date_goes_back,
    date_invalid,
    ledger_state_contradicts,
)
from server.services.ledger_excel.cells import _clean, _five_list, _item_code, _level, _money, _number, _state
from server.services.ledger_excel.columns import (
    _EXAMPLE_WORDS,
    _HAZARD_ATTRS,
    _NO_HAZARD,
    COLUMN_BY_KEY,
    COLUMNS,
    FIVE_IN_PLACE_KEYS,
    LATEST_DEADLINE,
    LEVEL_LABELS,
    TERM_KEYS,
    _field_of,
    _norm,
)
from server.services.spreadsheet import (
    TOTAL_WORDS,
    Header,
    RowCheck,
    RowError,
    is_blank,
    key,
    parse_flag,
    read_date_cell,
    shown,
    starts_as_total,
    text,
)

# --- Rows ------------------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    """A row that passed every cell check: what the ledger says about one hazard."""

    line: int
    header: Header
    found_on: date
    description: str
    level: HazardLevel | None
    ledger_no: str | None = None
    deadline: date | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    terms: dict[str, str] = field(default_factory=dict)
    completed_on: date | None = None
    accepted_on: date | None = None
    #: What the import should tell about this row without refusing it (a year it supplied, a state it did
    #: not record), Chinese and English.
    warnings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def place(self) -> str | None:
        return self.fields.get("place")

    def column(self, field_key: str) -> str:
        return self.header.shown(field_key)

    def value(self, field_key: str) -> Any:
        """The row's value of a field, as read (for a refusal that comes from the row as a whole)."""
        read = {"found_at": self.found_on, "description": self.description, "ledger_no": self.ledger_no,
                "deadline": self.deadline, "completed_on": self.completed_on, "accepted_on": self.accepted_on,
                "level": LEVEL_LABELS[self.level] if self.level else None}  # fmt: skip
        return read[field_key] if field_key in read else self.fields.get(field_key, self.terms.get(field_key))


def _skip_reason(cells: Sequence[Any], header: Header) -> str | None:
    """Why a row is not an entry ('blank', 'total', 'header', 'example', 'no_hazard'), or None."""
    used = {col for col, _ in header.columns.values()}
    filled = {col for col, cell in enumerate(cells) if not is_blank(cell) and col in used}
    # A printed ledger numbers its empty rows, and a check date merged over a check's rows fills them too.
    prefilled = {header.columns[k][0] for k in ("ledger_no", "found_at", "checked_by") if k in header.columns}
    if not filled:
        return "blank"
    description = text(header.cell(cells, "description"))
    if starts_as_total(cells) and (not description or description.startswith(TOTAL_WORDS)):
        return "total"
    if filled <= prefilled and not description:
        return "blank"
    if (
        _field_of(description) == "description"
        or _field_of(text(header.cell(cells, "found_at"))) == "found_at"
    ):
        return "header"
    if header.repeats_in(cells):
        return "header"
    number = key(text(header.cell(cells, "ledger_no")))
    if number.startswith(_EXAMPLE_WORDS) or re.match(r"^[(（【\[]?示例", description):
        return "example"
    if _NO_HAZARD.match(_norm(description)):
        return "no_hazard"
    return None


@dataclass(frozen=True)
class YearHint:
    """The year a check date written without one is read in, and where that year was found."""

    year: int
    source_zh: str
    source_en: str


def _parse_row(
    cells: Sequence[Any], line: int, header: Header, today: date, year_hint: YearHint | None = None
) -> tuple[_Entry | None, list[RowError]]:
    """Check every cell of one row; the entry, or None and all its problems."""
    row_check = RowCheck(cells, line, header)
    errors = row_check.errors
    warnings: list[tuple[str, str]] = []

    def dated(raw: Any, latest: date, field_key: str) -> date:
        """A date cell; a year-less check date takes the hint's year, a later year-less date the check
        date's year (the next one when that would put it before the check): both are warned about."""
        found_on = values.get("found_at")
        if field_key == "found_at":
            default = year_hint.year if year_hint else None
        else:
            default = found_on.year if found_on else None
        read: ReadDate = read_date_cell(raw, latest, default_year=default)
        if not read.year_supplied:
            return read.day
        column = header.shown(field_key)
        if field_key == "found_at" and year_hint is not None:
            warnings.append((f"“{column}”未写年份，按{year_hint.source_zh}中的年份 {year_hint.year} 读取",
                             f"'{column}' has no year: read in {year_hint.year}, the year of {year_hint.source_en}"))  # fmt: skip
            return read.day
        day = read.day
        if found_on is not None and day < found_on:
            try:
                day = day.replace(year=day.year + 1)
            except ValueError:  # 2月29日 of a year after a leap year
                raise date_invalid(value=shown(raw)) from None
        if day > latest:
            raise date_invalid(value=shown(raw))
        warnings.append((f"“{column}”未写年份，按检查时间推定为 {day.year} 年（早于检查时间时取次年）",
                         f"'{column}' has no year: read in the check date's year (the next one if earlier)"))  # fmt: skip
        return day

    def check(field_key: str, parse: Any, *args: Any) -> Any:
        column = COLUMN_BY_KEY.get(field_key)
        # A level column, once there, is filled on every row: which level a blank means is not guessed.
        required = (column is not None and column.required) or (
            field_key == "level" and "level" in header.columns
        )
        return row_check(field_key, parse, *args, required=required)

    values: dict[str, Any] = {}
    for column in COLUMNS:
        if column.key not in header.columns and not column.required:
            continue
        if column.kind == "text":
            values[column.key] = check(column.key, _clean, column.limit) or None
        elif column.kind == "number":
            values[column.key] = check(column.key, _number, column.limit) or None
        elif column.kind == "past_date":
            values[column.key] = check(column.key, dated, today, column.key)
        elif column.kind == "date":
            values[column.key] = check(column.key, dated, LATEST_DEADLINE, column.key)
        elif column.kind == "level":
            values[column.key] = check(column.key, _level)
        elif column.kind == "state":
            values[column.key] = check(column.key, _state)
        elif column.kind == "item":
            values[column.key] = check(column.key, _item_code)
        elif column.kind == "money":
            values[column.key] = check(column.key, _money, header.units.get(column.key, YUAN))
        elif column.kind == "flag":
            values[column.key] = check(column.key, parse_flag)
    five: dict[str, bool] = {}
    if "five_in_place" in header.columns:
        five.update(check("five_in_place", _five_list) or {})
    for name in FIVE_IN_PLACE_KEYS:
        if values.get(f"five:{name}") is not None:
            five[name] = bool(values[f"five:{name}"])

    found_on, description = values.get("found_at"), values.get("description")
    deadline = values.get("deadline")
    if found_on is not None and deadline is not None and deadline < found_on:
        errors.append(RowError.of(line, header.shown("deadline"), value=header.cell(cells, "deadline"), problem=date_goes_back(
            value=deadline.isoformat(), other=header.shown("found_at"), other_en="the check date",
            other_value=found_on.isoformat())))  # fmt: skip
    state: LedgerState | None = values.get("ledger_state")
    completed_on = values.get("completed_on")
    if state is not None and completed_on is not None and not state.claims_fixed:
        errors.append(RowError.of(line, header.shown("ledger_state"), value=header.cell(cells, "ledger_state"), problem=ledger_state_contradicts(
            value=text(header.cell(cells, "ledger_state")), other=header.shown("completed_on"),
            other_en="the completion date", other_value=completed_on.isoformat())))  # fmt: skip
    if errors or found_on is None or description is None:
        return None, errors
    if state is not None:
        values["ledger_state"] = state.label_zh
        if state.claims_fixed and completed_on is None and values.get("accepted_on") is None:
            warnings.append((f"整改状态为“{state.label_zh}”，但未填完成日期：系统未记为整改完成（须有完成日期）",
                             f"the state says {state.value} but there is no completion date: not recorded as "
                             "reported fixed (a date is needed)"))  # fmt: skip

    entry = _Entry(line=line, header=header, found_on=found_on, description=description, level=values.get("level"),
                   ledger_no=values.get("ledger_no"), deadline=deadline, completed_on=values.get("completed_on"),
                   accepted_on=values.get("accepted_on"), warnings=warnings)  # fmt: skip
    for attr in _HAZARD_ATTRS:
        if attr != "five_in_place" and values.get(attr) is not None:
            entry.fields[attr] = values[attr]
    if five:
        entry.fields["five_in_place"] = five
    for term in TERM_KEYS:
        value = values.get(term)
        if value is not None:
            entry.terms[term] = value.isoformat() if isinstance(value, date) else str(value)
    return entry, []


def _year_hints(rows: Sequence[Sequence[Any]], header: Header, campaign_year: int | None) -> Any:
    """For a data row, the year its year-less check date is read in: the one the sheet's title names, else
    the nearest row above (then below) whose check date carries one, else the campaign's first year."""
    first_header_row = header.index + 1 - len(header.rows)
    title = " ".join(text(c) for row in rows[:first_header_row] for c in row if not is_blank(c))
    title_year = year_named_in(title) if title else None
    if title_year is not None:
        fixed = YearHint(title_year, "表格标题", "the sheet's title")
        return lambda index: fixed
    years: dict[int, int] = {}
    column = header.columns.get("found_at")
    if column is not None:
        for index in range(header.index + 1, len(rows)):
            cells = rows[index]
            if column[0] < len(cells) and not is_blank(cells[column[0]]):
                try:
                    years[index] = read_date(cells[column[0]]).day.year
                except CellRefused:
                    continue
    ordered = sorted(years)
    fallback = YearHint(campaign_year, "专项行动", "the campaign") if campaign_year else None

    def hint(index: int) -> YearHint | None:
        position = bisect.bisect_left(ordered, index)
        if position > 0:
            return YearHint(
                years[ordered[position - 1]], "上方相邻行的检查时间", "the check date of a row above"
            )
        if position < len(ordered):
            return YearHint(years[ordered[position]], "下方相邻行的检查时间", "the check date of a row below")
        return fallback

    return hint

"""Finding a sheet's header (one row or a group over sub-headers) and checking each row's cells under it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from server.domain.typed_cells import unit_of_header
from server.errors import (  # the catalogue's entries this module raises
    value_missing,
)
from server.services.spreadsheet.cells import Note, RowError, header_text, is_blank, key, text
from sync.problems import Problem

# --- Headers -----------------------------------------------------------------------------------------------

#: How many rows from the top a header is looked for in (title and 填报 rows come above it).
HEADER_SEARCH_ROWS = 10


@dataclass(frozen=True)
class HeaderSpec:
    """What an importer recognises in a header: the field a header text names (None: not one of its columns),
    the fields every header must name, each field's label for messages, and header texts (folded with ``key``)
    passed over without a note."""

    field_of: Callable[[str], str | None]
    required: tuple[str, ...]
    labels: Mapping[str, str]
    silent: frozenset[str] = frozenset()


@dataclass
class Header:
    """Where the header ends (its last row) and which column holds which field."""

    spec: HeaderSpec
    index: int = -1
    columns: dict[str, tuple[int, str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    #: The header rows' cells, folded, to recognise a header repeated further down (multi-page exports).
    rows: list[list[str]] = field(default_factory=list)
    #: The unit a column's header names ("整改资金（万元）": 10000), for the columns whose header names one.
    units: dict[str, Decimal] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        """Whether this is a header naming every required field."""
        return self.index >= 0 and not self.missing()

    def missing(self) -> list[str]:
        """The labels of the required fields it does not name."""
        return [self.spec.labels.get(k, k) for k in self.spec.required if k not in self.columns]

    def notes(self) -> list[Note]:
        """What an import says of this header: the columns it ignored, unknown or named twice."""
        notes = []
        if self.ignored:
            notes.append(
                Note(
                    f"未识别的列已忽略：{'、'.join(self.ignored)}",
                    f"Columns ignored: {', '.join(self.ignored)}",
                )
            )
        if self.duplicates:
            notes.append(
                Note(
                    f"重复的列已忽略：{'、'.join(self.duplicates)}",
                    f"Duplicate columns ignored: {', '.join(self.duplicates)}",
                )
            )
        return notes

    def shown(self, field_key: str) -> str:
        """The column's header as written in the file (or the field's label, when the file has none)."""
        column = self.columns.get(field_key)
        return column[1] if column else self.spec.labels.get(field_key, field_key)

    def cell(self, cells: Sequence[Any], field_key: str) -> Any:
        """The row's value in the field's column (None when there is no such column or cell)."""
        column = self.columns.get(field_key)
        if column is None or column[0] >= len(cells):
            return None
        return cells[column[0]]

    def repeats_in(self, cells: Sequence[Any]) -> bool:
        """Whether ``cells`` are (mostly) one of the header rows again."""
        filled = [(col, key(text(c))) for col, c in enumerate(cells) if not is_blank(c)]
        for labels in self.rows:
            same = sum(col < len(labels) and labels[col] == folded for col, folded in filled)
            if len(filled) >= 2 and same * 5 >= len(filled) * 3:
                return True
        return False

    def add(self, col: int, field_key: str | None, label: str, own: str | None = None) -> None:
        """Map column ``col`` to ``field_key`` (None: not a known column); ``own`` is the cell's own text."""
        if field_key is None:
            if label.strip() and key(own or label) not in self.spec.silent:
                self.ignored.append(label)
        elif field_key in self.columns:
            self.duplicates.append(f"{label}（同“{self.columns[field_key][1]}”）")
        else:
            self.columns[field_key] = (col, label)
            unit = unit_of_header(label)
            if unit is not None:
                self.units[field_key] = unit


def _folded_row(cells: Sequence[Any]) -> list[str]:
    return [key(text(c)) if not is_blank(c) else "" for c in cells]


def _map_single(cells: Sequence[Any], index: int, spec: HeaderSpec) -> Header:
    header = Header(spec, index=index, rows=[_folded_row(cells)])
    for col, cell in enumerate(cells):
        if not is_blank(cell):
            label = header_text(cell)
            header.add(col, spec.field_of(label), label)
    return header


def _map_pair(top: Sequence[Any], bottom: Sequence[Any], index: int, spec: HeaderSpec) -> Header:
    """Two header rows, a group row (五到位, 整改情况, 验收…) over a row of sub-headers."""
    header = Header(spec, index=index, rows=[_folded_row(top), _folded_row(bottom)])
    field_of = spec.field_of
    group = ""
    for col in range(max(len(top), len(bottom))):
        upper = top[col] if col < len(top) else None
        lower = bottom[col] if col < len(bottom) else None
        # A group header merged over several columns is written once; in a CSV the rest are blank.
        if not is_blank(upper):
            group = header_text(upper)
        elif is_blank(lower):
            group = ""
        if is_blank(lower):
            if not is_blank(upper):
                header.add(col, field_of(group), group)
            continue
        sub = header_text(lower)
        if sub == group:  # merged vertically over both rows
            header.add(col, field_of(sub), sub)
            continue
        combined = field_of(group + sub) if group else None
        if combined:
            header.add(col, combined, f"{group}/{sub}")
        elif (found := field_of(sub)) is not None:
            header.add(col, found, sub)
        elif group and (found := field_of(group)) is not None and is_blank(upper) is False:
            header.add(col, found, group)
        else:
            header.add(col, None, f"{group}/{sub}" if group else sub, sub)
    return header


def find_header(rows: Sequence[Sequence[Any]], spec: HeaderSpec) -> Header:
    """The header: one row, or a group row over a sub-header row, within the first ``HEADER_SEARCH_ROWS``
    rows; when none names every required field, the closest one (not ``found``)."""
    limit = min(HEADER_SEARCH_ROWS, len(rows))
    singles = [_map_single(rows[index], index, spec) for index in range(limit)]
    best = Header(spec)
    for index in range(limit):
        single = singles[index]
        if index + 1 < limit:
            # Two rows only when together they name more columns than either alone (a title over the
            # header, or the header over a data row, adds nothing).
            pair = _map_pair(rows[index], rows[index + 1], index + 1, spec)
            alone = max(len(single.columns), len(singles[index + 1].columns))
            if pair.found and len(pair.columns) > alone:
                return pair
        if single.found:
            return single
        if len(single.columns) > len(best.columns):
            best = single
    best.index = -1
    return best


class RowCheck:
    """The cells of one row checked one by one: each parser's value, or its problem kept as a RowError (row,
    column as written, value as written, reason), so that every problem of the row is reported."""

    def __init__(self, cells: Sequence[Any], line: int, header: Header) -> None:
        self.cells, self.line, self.header = cells, line, header
        self.errors: list[RowError] = []

    def __call__(self, field_key: str, parse: Callable[..., Any], *args: Any, required: bool = False) -> Any:
        """``parse(cell, *args)`` for the field's cell; None when it is blank (a problem when ``required``) or
        refused."""
        raw = self.header.cell(self.cells, field_key)
        if is_blank(raw):
            if required:
                self.fail(field_key, value_missing())
            return None
        try:
            return parse(raw, *args)
        except Problem as problem:
            self.fail(field_key, problem, raw)
            return None

    def fail(self, field_key: str, problem: Problem, value: Any = None) -> None:
        """Record a problem of the field's column."""
        self.errors.append(RowError.of(self.line, self.header.shown(field_key), problem, value))


def first_header(sheets: Sequence[list[list[Any]]], spec: HeaderSpec) -> tuple[list[list[Any]], Header]:
    """The first sheet with a header, and the header; with none, no rows and the closest header (not found)."""
    best = Header(spec)
    for rows in sheets:
        header = find_header(rows, spec)
        if header.found:
            return rows, header
        if len(header.columns) > len(best.columns):
            best = header
    return [], best

"""Reading the spreadsheets offices actually keep: .xlsx or .csv, Chinese headers, tolerant cell parsing.

Shared by the importers (enterprise registry, self-inspection ledger). Everything here is about cells and
files, nothing about what a row means: each importer maps its own columns and builds its own rows.

- files: .xlsx (optionally with merged cells filled in, so a value merged over several rows or columns
  reads as if it were written in each) and .csv in UTF-8 (with or without BOM), UTF-16 with a BOM, or
  GB18030/GBK, with the delimiter (, ; TAB) under which the caller's header is found;
- cells: text with a spurious '.0' removed, header keys folded (NFKC, no spaces, lower case), dates in
  the forms Chinese offices type them or as Excel serials, yes/no flags in their many spellings;
- headers: found on any of the first rows, as one row or a group row over sub-headers (merged or not), each
  column mapped by the importer's own ``HeaderSpec`` (its spellings), unknown columns named, a unit written
  in a header ("（万元）") kept for its column, the header recognised again when a printout repeats it;
- problems: every refused cell is a catalogue problem reported as a RowError (row as Excel numbers it,
  column header as written in the file, reason in Chinese and English).

Each importer keeps only its column map and its row rules.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from server.domain.typed_cells import CellRefused, ReadDate, unit_of_header
from server.domain.typed_cells import parse_date as read_date
from server.errors import (  # the catalogue's entries this module raises
    cell_refused,
    date_invalid,
    flag_invalid,
    import_file_invalid,
    value_missing,
)
from sync.problems import Problem

TRUE_WORDS = frozenset({"是", "√", "✓", "✔", "y", "yes", "1", "true", "有", "涉及"})
FALSE_WORDS = frozenset({"否", "×", "✗", "✘", "n", "no", "0", "false", "无", "不涉及", ""})
NONE_WORDS = frozenset({"无", "-", "—", "/", "none"})
TOTAL_WORDS = ("合计", "总计", "小计")

EARLIEST_DATE = date(1900, 1, 1)
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"


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


# --- Files -------------------------------------------------------------------------------------------------


def decode(data: bytes, name: str) -> str:
    """CSV text: UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030 (a superset of the GBK offices export)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise file_invalid(
        f"{name} 的文字编码无法识别（应为 UTF-8 或 GBK/GB18030）",
        f"the text encoding of {name} is not recognised (expected UTF-8 or GBK/GB18030)",
    )


#: Limits that keep a hostile workbook (a zip bomb, a sheet claiming a billion rows) from taking the worker:
#: checked on the archive's directory before anything is inflated, and on the rows while they are read.
#: A 15,000-row ledger is about 12 MB of XML and 15,000 rows.
MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024
MAX_PART_BYTES = 48 * 1024 * 1024
MAX_ROWS = 60_000
MAX_COLUMNS = 256
#: How far into an XML part its prolog (where a DOCTYPE would be) is looked for.
_PROLOG_BYTES = 64 * 1024
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ROOT_TAG = re.compile(rb"<[A-Za-z_]")
_ROW_NUMBER = re.compile(rb"<(?:\w+:)?row\b[^>]*?\sr=\"(\d{1,12})\"")


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def check_xlsx_archive(data: bytes, name: str) -> None:
    """Refuse (400.5) a workbook that is not a whole zip, would inflate beyond the limits, or declares a DTD
    or entities in any XML part — before any XML parser sees it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise file_invalid(
            f"{name} 不是完整的 .xlsx 文件（文件已损坏或不完整，请重新保存后上传）",
            f"{name} is not a complete .xlsx file (damaged or cut short; save it again)",
        ) from error
    total = sum(member.file_size for member in members)
    largest = max((member.file_size for member in members), default=0)
    if total > MAX_UNCOMPRESSED_BYTES or largest > MAX_PART_BYTES:
        raise file_invalid(
            f"{name} 解压后过大（{_mib(total)}，上限 {_mib(MAX_UNCOMPRESSED_BYTES)}），请删去图片、拆分后再上传",
            f"{name} inflates to {_mib(total)}, beyond the {_mib(MAX_UNCOMPRESSED_BYTES)} limit; remove pictures "
            f"or split it",
        )
    with archive:
        for member in members:
            if not member.filename.lower().endswith((".xml", ".rels", ".vml")):
                continue
            try:
                with archive.open(member) as part:
                    head = part.read(_PROLOG_BYTES)
            except Exception as error:  # zlib, CRC and header errors of a damaged archive
                raise file_invalid(
                    f"{name} 已损坏：无法读取其中的 {member.filename}",
                    f"{name} is damaged: {member.filename} cannot be read",
                ) from error
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                head = head.decode("utf-16", errors="replace").encode()
            root = _ROOT_TAG.search(head)
            prolog = head[: root.start()] if root else head
            if _DOCTYPE.search(prolog):
                raise file_invalid(
                    f"{name} 含有 XML 实体或文档类型声明（{member.filename}），出于安全原因不予读取",
                    f"{name} declares an XML DTD or entities ({member.filename}); refused for safety",
                )
            if member.filename.lower().startswith("xl/worksheets/") and _last_row(archive, member) > MAX_ROWS:
                raise file_invalid(
                    f"{name} 的工作表（{member.filename}）超过 {MAX_ROWS} 行，请拆分后再上传",
                    f"a sheet of {name} ({member.filename}) has more than {MAX_ROWS} rows; split it",
                )


def _last_row(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> int:
    """The highest row number a sheet's XML names (its rows are numbered; the reader would fill any gap up
    to it with empty rows, so a single row numbered a billion is a billion rows)."""
    highest, carry = 0, b""
    with archive.open(member) as part:
        while chunk := part.read(1024 * 1024):
            text_ = carry + chunk
            for found in _ROW_NUMBER.finditer(text_):
                highest = max(highest, int(found[1]))
            carry = text_[-64:]
    return highest


def read_xlsx(source: Path | bytes, name: str, *, fill_merged: bool = False) -> list[list[list[Any]]]:
    """Every sheet's rows, each row a list of cell values (rows may differ in length).

    With ``fill_merged`` a merged range's value is copied into each of its cells (real ledgers merge a
    check date over the rows of one check, or a group header over its columns). The archive is checked
    first (``check_xlsx_archive``) and reading stops at ``MAX_ROWS`` rows; any failure of the reader on a
    malformed workbook is a 400.5 with its reason, never an internal error.
    """
    data = source if isinstance(source, bytes) else source.read_bytes()
    check_xlsx_archive(data, name)
    import openpyxl

    try:
        # Office files often carry extensions openpyxl does not support; it warns and reads the data.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zip, XML and key errors for damaged files
        raise _unreadable(name, error) from error
    try:
        sheets = []
        for sheet in book.worksheets:
            # Some exporters write a wrong sheet dimension, and read-only mode would stop at it.
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()
            rows: list[list[Any]] = []
            # Bounded on both axes, so that a row at XFD1048576 costs nothing: the reader pads up to the bound.
            for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS, max_row=MAX_ROWS + 1):
                if len(rows) >= MAX_ROWS:
                    raise file_invalid(
                        f"{name} 的工作表“{sheet.title}”超过 {MAX_ROWS} 行，请拆分后再上传",
                        f"sheet '{sheet.title}' of {name} has more than {MAX_ROWS} rows; split it",
                    )
                rows.append(_trimmed(row))
            if fill_merged:
                _fill_merged(_merged_ranges(book, sheet), rows)
            sheets.append(rows)
        return sheets
    except Problem:
        raise
    except Exception as error:  # XML errors (defusedxml's refusals among them) met while reading rows
        raise _unreadable(name, error) from error
    finally:
        book.close()


def _trimmed(row: Sequence[Any]) -> list[Any]:
    """The row without the empty cells after its last value (the reader pads every row to MAX_COLUMNS)."""
    end = len(row)
    while end and row[end - 1] is None:
        end -= 1
    return list(row[:end])


def _unreadable(name: str, error: Exception) -> Problem:
    return file_invalid(
        f"{name} 不是有效的 .xlsx 文件（{type(error).__name__}）",
        f"{name} is not a readable .xlsx file ({type(error).__name__})",
    )


_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+):([A-Z]+[0-9]+)"')


def _merged_ranges(book: Any, sheet: Any) -> list[tuple[int, int, int, int]]:
    """The sheet's merged ranges as (min_col, min_row, max_col, max_row), read from its XML.

    Read-only mode (twice as fast on a 5,000-row ledger) does not parse merges; they sit after the cell
    data in the sheet's XML, so a scan of its tail finds them.
    """
    from openpyxl.utils.cell import range_boundaries

    archive, part = getattr(book, "_archive", None), getattr(sheet, "_worksheet_path", None)
    if archive is None or part is None:
        return []
    try:
        xml = archive.read(part)
    except KeyError:
        return []
    tail = xml[max(xml.rfind(b"sheetData>"), 0) :]
    ranges = []
    for match in _MERGE_RE.finditer(tail):
        min_col, min_row, max_col, max_row = range_boundaries(f"{match[1].decode()}:{match[2].decode()}")
        if None not in (min_col, min_row, max_col, max_row):
            ranges.append((int(min_col or 0), int(min_row or 0), int(max_col or 0), int(max_row or 0)))
    return ranges


def _fill_merged(ranges: Sequence[tuple[int, int, int, int]], rows: list[list[Any]]) -> None:
    """Copy each merged range's top-left value into the range's other cells (within the read rows)."""
    for min_col, min_row, max_col, max_row in ranges:
        top, left = min_row - 1, min_col - 1
        if top >= len(rows) or left >= len(rows[top]):
            continue
        value = rows[top][left]
        if value is None:
            continue
        for r in range(top, min(max_row, len(rows))):
            row = rows[r]
            if len(row) < max_col:
                row.extend([None] * (max_col - len(row)))
            for c in range(left, max_col):
                row[c] = value


def read_csv(data: bytes, name: str, has_header: Callable[[list[list[Any]]], bool]) -> list[list[Any]]:
    """The CSV's records; the delimiter is the one of , ; TAB under which ``has_header`` holds."""
    decoded = decode(data, name)
    candidates = (",", ";", "\t")
    parsed: dict[str, list[list[Any]]] = {}
    try:
        for delimiter in candidates:
            rows: list[list[Any]] = list(csv.reader(io.StringIO(decoded, newline=""), delimiter=delimiter))
            if has_header(rows):
                return rows
            parsed[delimiter] = rows
    except csv.Error as error:
        raise file_invalid(
            f"{name} 不是有效的 CSV 文件：{error}", f"{name} is not valid CSV: {error}"
        ) from error
    # No header under any delimiter: report against the likeliest one, the most frequent.
    sample = decoded[:4096]
    best = max(candidates, key=sample.count)
    return parsed[best]


def kind_of(data: bytes, name: str) -> str:
    """'xlsx' or 'csv', from the file name's suffix or, lacking one, from the content; else 400.5."""
    suffix = Path(name).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix == ".xls" or data.startswith(_XLS_MAGIC):
        raise file_invalid(
            f"不支持旧版 .xls 文件（{name}），请在 Excel 中另存为 .xlsx",
            f"old .xls files ({name}) are not supported; save it as .xlsx in Excel",
        )
    if not suffix and data.startswith(_XLSX_MAGIC) and zipfile.is_zipfile(io.BytesIO(data)):
        return "xlsx"
    if not suffix:
        return "csv"
    raise file_invalid(
        f"不支持的文件类型“{suffix}”，只接受 .xlsx 或 .csv",
        f"unsupported file type '{suffix}'; only .xlsx or .csv",
    )


def read_tables(
    source: Path | bytes,
    name: str,
    has_header: Callable[[list[list[Any]]], bool],
    *,
    fill_merged: bool = False,
) -> list[list[list[Any]]]:
    """The sheets of an .xlsx, or the one table of a .csv, from a path or the file's bytes (400.5 if unusable)."""
    if isinstance(source, Path):
        if not source.is_file():
            raise file_invalid(f"找不到文件 {name}", f"file {name} not found")
        try:
            data = source.read_bytes()
        except OSError as error:
            raise file_invalid(f"无法读取 {name}：{error}", f"cannot read {name}: {error}") from error
    else:
        data = source
    if not data:
        raise file_invalid(f"{name} 是空文件", f"{name} is empty")
    if kind_of(data, name) == "xlsx":
        return read_xlsx(data, name, fill_merged=fill_merged)
    if len(data) > MAX_UNCOMPRESSED_BYTES:
        raise file_invalid(
            f"{name} 过大（{_mib(len(data))}，上限 {_mib(MAX_UNCOMPRESSED_BYTES)}），请拆分后再导入",
            f"{name} is {_mib(len(data))}, beyond the {_mib(MAX_UNCOMPRESSED_BYTES)} limit; split it",
        )
    rows = read_csv(data, name, has_header)
    if len(rows) > MAX_ROWS:
        raise file_invalid(
            f"{name} 超过 {MAX_ROWS} 行，请拆分后再导入", f"{name} has more than {MAX_ROWS} rows; split it"
        )
    return [rows]

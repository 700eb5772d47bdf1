"""Reading .xlsx (checked against bombs first, merged cells filled in) and .csv (its encoding and delimiter found)."""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from server.services.spreadsheet.cells import file_invalid
from sync.problems import Problem

_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"


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

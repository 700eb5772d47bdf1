"""Hostile workbooks and how fast the spreadsheet reader refuses them (target: each within 2 s, worker memory
flat). Prints one line per workbook: its size, what it would inflate to, the time to refusal and the reason.

    .venv/bin/python bench/xlsx_bombs.py

The generators are shared with tests/integration/test_xlsx_bombs.py, which checks that each is a 400 with a
reason on the portal, in the CLI and in the services (it does not time them).
"""

from __future__ import annotations

import io
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
_HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>检查时间</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>隐患描述</t></is></c></row>'
    '<row r="2"><c r="A2" t="inlineStr"><is><t>2026-05-12</t></is></c>'
    '<c r="B2" t="inlineStr"><is><t>围栏缺失</t></is></c></row>'
)
_EMPTY_STRINGS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"/>'
)
MIB = 1024 * 1024


def _chunks(head: str, filler: bytes, size: int, tail: str) -> Iterator[bytes]:
    yield head.encode()
    block = filler * (MIB // len(filler))
    for _ in range(size // len(block)):
        yield block
    yield tail.encode()


def workbook(sheet: Iterator[bytes] | str, strings: Iterator[bytes] | str = _EMPTY_STRINGS) -> bytes:
    """An .xlsx from its sheet and shared strings parts (text, or chunks streamed into the zip)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                              ("xl/workbook.xml", _WORKBOOK), ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
                              ("xl/worksheets/sheet1.xml", sheet), ("xl/sharedStrings.xml", strings)):  # fmt: skip
            if isinstance(content, str):
                archive.writestr(name, content)
            else:
                with archive.open(name, "w", force_zip64=True) as part:
                    for chunk in content:
                        part.write(chunk)
    return buffer.getvalue()


def plain() -> bytes:
    """A small well-formed ledger (the control: it must import)."""
    return workbook(f"{_SHEET_HEAD}<sheetData>{_HEADER_ROW}</sheetData></worksheet>")


def zip_bomb(inflated: int = 400 * MIB) -> bytes:
    """A sheet whose one cell holds ``inflated`` bytes of spaces: about 400 KB zipped, 400 MB inflated."""
    head = f'{_SHEET_HEAD}<sheetData>{_HEADER_ROW}<row r="3"><c r="A3" t="inlineStr"><is><t xml:space="preserve">'
    return workbook(_chunks(head, b" ", inflated, "</t></is></c></row></sheetData></worksheet>"))


def huge_shared_strings(inflated: int = 200 * MIB) -> bytes:
    """A sharedStrings part of ``inflated`` bytes (one enormous string) behind a small sheet."""
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>'
    )
    sheet = f"{_SHEET_HEAD}<sheetData>{_HEADER_ROW}</sheetData></worksheet>"
    return workbook(sheet, _chunks(head, b"A", inflated, "</t></si></sst>"))


def billion_row_dimension() -> bytes:
    """A sheet claiming A1:XFD1000000000 with a cell at its far corner."""
    far = '<row r="1000000000"><c r="XFD1000000000" t="inlineStr"><is><t>x</t></is></c></row>'
    return workbook(
        f'{_SHEET_HEAD}<dimension ref="A1:XFD1000000000"/><sheetData>{_HEADER_ROW}{far}</sheetData></worksheet>'
    )


def lying_dimension() -> bytes:
    """A sheet claiming a billion rows while holding two: not hostile, read as the two rows it has."""
    return workbook(
        f'{_SHEET_HEAD}<dimension ref="A1:XFD1000000000"/><sheetData>{_HEADER_ROW}</sheetData></worksheet>'
    )


def entity_declaration() -> bytes:
    """A sheet declaring entities (the billion-laughs shape, kept small)."""
    dtd = '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    body = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        f'{_HEADER_ROW}<row r="3"><c r="A3" t="inlineStr"><is><t>&b;</t></is></c></row></sheetData></worksheet>'
    )
    return workbook('<?xml version="1.0" encoding="UTF-8"?>' + dtd + body)


def entity_in_shared_strings() -> bytes:
    """An external entity declared in the shared strings (read when the workbook is opened)."""
    strings = (
        '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE sst [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        "<si><t>&x;</t></si></sst>"
    )
    return workbook(f"{_SHEET_HEAD}<sheetData>{_HEADER_ROW}</sheetData></worksheet>", strings)


def cut_in_half() -> bytes:
    """A real workbook whose second half is missing (an interrupted upload)."""
    data = plain()
    return data[: len(data) // 2]


def malformed_sheet() -> bytes:
    """A whole archive whose sheet XML is broken (an unclosed element)."""
    return workbook(f'{_SHEET_HEAD}<sheetData><row r="1"><c r="A1"><v>1</v></row>')


HOSTILE: dict[str, Callable[[], bytes]] = {
    "zip bomb (400 MB of spaces)": zip_bomb,
    "huge sharedStrings (200 MB)": huge_shared_strings,
    "billion-row dimension with a far cell": billion_row_dimension,
    "entity declaration": entity_declaration,
    "external entity in sharedStrings": entity_in_shared_strings,
    "cut in half": cut_in_half,
    "malformed sheet XML": malformed_sheet,
}


def main() -> None:
    """Time the refusal of each hostile workbook by the ledger's reader."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    import openpyxl  # noqa: F401  (loaded once by a running server: not part of a refusal's time)

    from server.services.spreadsheet import read_tables
    from sync.problems import Problem

    print(f"{'workbook':<42} {'zipped':>10} {'refused in':>11} {'peak MB':>8}  reason")
    for name, make in HOSTILE.items():
        data = make()
        tracemalloc.start()
        started = time.perf_counter()
        try:
            read_tables(data, "bomb.xlsx", lambda rows: True, fill_merged=True)
            outcome = "read (not refused)"
        except Problem as problem:
            outcome = problem.message("en")[:70]
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / MIB
        tracemalloc.stop()
        print(f"{name:<42} {len(data) / 1024:>8.0f}KB {elapsed:>10.3f}s {peak:>8.1f}  {outcome}")


if __name__ == "__main__":
    main()

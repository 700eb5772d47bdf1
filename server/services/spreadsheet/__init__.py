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

from server.services.spreadsheet.cells import (
    EARLIEST_DATE,
    FALSE_WORDS,
    NONE_WORDS,
    TOTAL_WORDS,
    TRUE_WORDS,
    Note,
    RowError,
    file_invalid,
    header_text,
    is_blank,
    key,
    loose_key,
    parse_date,
    parse_flag,
    read_date_cell,
    refused,
    shown,
    starts_as_total,
    text,
)
from server.services.spreadsheet.files import (
    MAX_COLUMNS,
    MAX_PART_BYTES,
    MAX_ROWS,
    MAX_UNCOMPRESSED_BYTES,
    check_xlsx_archive,
    decode,
    kind_of,
    read_csv,
    read_tables,
    read_xlsx,
)
from server.services.spreadsheet.headers import (
    HEADER_SEARCH_ROWS,
    Header,
    HeaderSpec,
    RowCheck,
    find_header,
    first_header,
)

__all__ = [
    "EARLIEST_DATE",
    "FALSE_WORDS",
    "HEADER_SEARCH_ROWS",
    "MAX_COLUMNS",
    "MAX_PART_BYTES",
    "MAX_ROWS",
    "MAX_UNCOMPRESSED_BYTES",
    "NONE_WORDS",
    "TOTAL_WORDS",
    "TRUE_WORDS",
    "Header",
    "HeaderSpec",
    "Note",
    "RowCheck",
    "RowError",
    "check_xlsx_archive",
    "decode",
    "file_invalid",
    "find_header",
    "first_header",
    "header_text",
    "is_blank",
    "key",
    "kind_of",
    "loose_key",
    "parse_date",
    "parse_flag",
    "read_csv",
    "read_date_cell",
    "read_tables",
    "read_xlsx",
    "refused",
    "shown",
    "starts_as_total",
    "text",
]

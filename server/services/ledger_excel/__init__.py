"""The enterprise's self-inspection ledger (隐患自查台账) in and out of Excel: template, import, export."""

from __future__ import annotations

from server.services.ledger_excel.importer import (
    COLUMNS,
    NOT_IMPORTED,
    XLSX_MIMETYPE,
    Column,
    ColumnPreview,
    LedgerImportReport,
    Progress,
    entry_id,
    export_ledger,
    header_spec,
    import_ledger,
    ledger_template,
    mappable_fields,
    preview_columns,
)

__all__ = [
    "COLUMNS",
    "NOT_IMPORTED",
    "XLSX_MIMETYPE",
    "Column",
    "ColumnPreview",
    "LedgerImportReport",
    "Progress",
    "entry_id",
    "export_ledger",
    "header_spec",
    "import_ledger",
    "ledger_template",
    "mappable_fields",
    "preview_columns",
]

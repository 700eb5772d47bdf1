"""The long work the web runs as background jobs: the registry import, the monthly report workbook and the
enforcement documents (the ledger import is declared next to its pages, which keep its mapping step).

Each work function gets a :class:`~server.jobs.JobContext` and returns a
:class:`~server.jobs.JobOutput`; a Problem it raises fails the job with that problem's message.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app

from server import clock
from server.documents.pdf import render
from server.documents.records import DocKind, load_documents
from server.jobs import JobContext, JobOutput, register
from server.services import audit, progress_report
from server.services.enterprise_import import import_enterprises
from server.services.progress_report.xlsx import report_filename, report_xlsx
from server.services.spreadsheet import RowError
from sync import problems

#: Row problems kept in a job's result (a 10,000-row file with a wrong column would otherwise keep 10,000).
MAX_ROW_ERRORS = 500


def row_errors(errors: list[RowError]) -> dict[str, Any]:
    """Row problems as the job keeps them: the first few hundred, sorted by row, and how many there were."""
    ordered = sorted(errors, key=lambda e: e.row)
    return {
        "errors": [
            {"row": e.row, "column": e.column, "value": e.value, "reason": e.reason, "reason_en": e.reason_en}
            for e in ordered[:MAX_ROW_ERRORS]
        ],
        "error_count": len(ordered),
        "error_rows": len({e.row for e in ordered}),
    }


@register("registry_import")
def registry_import(context: JobContext) -> JobOutput:
    """Import the enterprise registry (企业名录) from the uploaded file; a dry run writes nothing."""

    if context.upload is None:
        raise problems.not_found()
    params = context.params
    report = import_enterprises(
        context.session, context.upload, default_region_code=params.get("region") or None,
        dry_run=bool(params.get("dry_run")), strict=bool(params.get("strict")), progress=context.progress,
    )  # fmt: skip
    if not report.written:
        context.session.rollback()
    result: dict[str, Any] = {
        "source": report.source,
        "counts": {"created": report.created, "updated": report.updated, "unchanged": report.unchanged},
        "written": report.written,
        "dry_run": report.dry_run,
        "notes": report.notes,
        **row_errors(report.errors),
    }
    return JobOutput(result=result, value=report)


@register("progress_report")
def progress_report_workbook(context: JobContext) -> JobOutput:
    """The monthly progress report (月报) of the owner's scope as an Excel workbook."""

    params = context.params
    context.progress(0, 2, "counting")
    # A bad month is a catalogue problem (month_invalid, month_not_begun): it fails the job with its message.
    period = progress_report.parse_period(params.get("month"), params.get("final"), clock.today())
    report = progress_report.build_report(
        context.session, context.owner, period, zone=clock.zone(),
        authority_fallback=current_app.config.get("DEFAULT_AUTHORITY_NAME") or "应急管理局",
    )  # fmt: skip
    context.progress(1, 2, "drawing")
    head = audit.current_head(context.session)
    data = report_xlsx(report, audit_head=head.label() if head else None)
    name = report_filename(report)
    return JobOutput(result={"file_name": name}, file_bytes=data, file_name=name)


@register("document")
def document_pdf(context: JobContext) -> JobOutput:
    """现场检查记录 or 责令限期整改指令书 of an inspection in the owner's scope, as a PDF."""

    kind = DocKind(context.params["kind"])
    context.progress(0, 2, "collecting")
    docs = load_documents(
        context.session, context.owner, uuid.UUID(context.params["inspection_id"]),
        current_app.extensions["sync"].blobs, base_url=str(current_app.config["PUBLIC_BASE_URL"]),
        default_authority=str(current_app.config.get("DEFAULT_AUTHORITY_NAME") or "应急管理局"),
        photos=kind is DocKind.order,
    )  # fmt: skip
    if docs is None or kind not in docs.kinds:
        raise problems.not_found()
    context.progress(1, 2, "drawing")
    head = audit.current_head(context.session)
    rendered = render(docs, kind, audit_head=head.label() if head else None)
    return JobOutput(
        result={"file_name": rendered.filename}, file_bytes=rendered.data, file_name=rendered.filename
    )

"""The long work the web runs as background jobs: the registry import, the monthly report workbook and the
enforcement documents (the ledger import is declared next to its pages, which keep its mapping step).

Each work function gets a :class:`~server.jobs.JobContext` and returns a
:class:`~server.jobs.JobOutput`; a Problem it raises fails the job with that problem's message.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from server import clock, jobs
from server.caches import report_cache
from server.documents.pdf import render
from server.documents.records import DocKind, load_documents
from server.i18n import tr
from server.jobs import JobContext, JobOutput, register
from server.models import User
from server.models.base import utcnow
from server.models.job import BackgroundJob, JobStatus
from server.services import DbSession, audit, progress_report
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
    # The app's cache answers only at the current change counter: the workbook is never older than the request.
    report = progress_report.build_report(
        context.session, context.owner, period, zone=clock.zone(),
        authority_fallback=current_app.config.get("DEFAULT_AUTHORITY_NAME") or "应急管理局", cache=report_cache(),
    )  # fmt: skip
    context.progress(1, 2, "drawing")
    head = audit.current_head(context.session)
    data = report_xlsx(report, audit_head=head.label() if head else None)
    name = report_filename(report)
    return JobOutput(result={"file_name": name}, file_bytes=data, file_name=name)


@register("report_recount")
def report_recount(context: JobContext) -> JobOutput:
    """Count a monthly report again into this process's report cache, for the pages showing its last count."""
    params = context.params
    period = progress_report.parse_period(params.get("month"), params.get("final"), clock.today())
    report = progress_report.build_report(
        context.session, context.owner, period, zone=clock.zone(),
        authority_fallback=current_app.config.get("DEFAULT_AUTHORITY_NAME") or "应急管理局", cache=report_cache(),
    )  # fmt: skip
    return JobOutput(result={"counted_at": report.counted_at.isoformat() if report.counted_at else None})


#: Held while looking for a running recount and starting one, so this process's requests start one at a time.
_RECOUNTING = threading.Lock()

#: How long a finished recount's row is kept: its figures live in the cache and no page lists it, so older rows
#: are deleted when the next recount starts (a page open through a sync storm starts one per write burst).
RECOUNTS_KEPT = timedelta(hours=1)


def report_for_page(
    session: DbSession, user: User, month: str | None, final: str | None
) -> progress_report.ProgressReport:
    """The report a page (or its JSON) shows: counted at the current change counter, or else the last count of
    the same report at once, marked stale, while one background job (per report, seen by every server through
    the job table) counts it again. With no earlier count it is counted in the request. Refused periods raise
    their Problem."""
    period = progress_report.parse_period(month, final, clock.today())
    report = progress_report.build_report(
        session, user, period, zone=clock.zone(), stale_ok=True,
        authority_fallback=current_app.config.get("DEFAULT_AUTHORITY_NAME") or "应急管理局", cache=report_cache(),
    )  # fmt: skip
    if report.stale:
        job = recount(session, user, {"month": month or None, "final": final or None}, report.count_key)
        if (
            job.status is JobStatus.done
        ):  # JOBS_MODE inline (tests, scripts): counted already, in this process
            return progress_report.build_report(
                session, user, period, zone=clock.zone(),
                authority_fallback=current_app.config.get("DEFAULT_AUTHORITY_NAME") or "应急管理局",
                cache=report_cache(),
            )  # fmt: skip
    return report


def stale_notice(report: progress_report.ProgressReport) -> str:
    """What a page (and its JSON) says over figures that are no longer the latest, in the reader's language;
    empty when they are."""
    if not report.stale or report.counted_at is None:
        return ""
    local = report.counted_at.astimezone(clock.zone())
    at = local.strftime("%H:%M" if local.date() == clock.today() else "%Y-%m-%d %H:%M")
    return tr(
        "以下数字截至 {at}（北京时间）计算，正在重新统计，完成后本页自动更新",
        "Figures as counted at {at}; being recounted, this page will update when done",
        at=at,
    )


def recount(session: DbSession, user: User, params: dict[str, Any], key: str) -> BackgroundJob:
    """The job counting the report named ``key`` again: the one queued or running, else a new one."""
    with _RECOUNTING:
        running = session.scalars(
            sa.select(BackgroundJob).where(
                BackgroundJob.kind == "report_recount",
                BackgroundJob.status.in_((JobStatus.queued, JobStatus.running)),
            )
        ).all()
        for job in running:
            # A recount whose process is gone is marked failed by check_stale, and another is started.
            mine = (job.params or {}).get("key") == key
            if mine and jobs.check_stale(session, job).status in (JobStatus.queued, JobStatus.running):
                return job
        session.execute(
            sa.delete(BackgroundJob).where(
                BackgroundJob.kind == "report_recount",
                BackgroundJob.status.in_((JobStatus.done, JobStatus.failed)),
                BackgroundJob.finished_at < utcnow() - RECOUNTS_KEPT,
            )
        )
        job, _ = jobs.submit(session, user, "report_recount", {**params, "key": key}, wait=0)
        return job


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

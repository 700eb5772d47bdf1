"""The self-inspection ledger (隐患自查台账) in and out of Excel on the web: the template, the upload of an
enterprise's ledger, its export, and a supervisor's export of an enterprise in scope."""

from __future__ import annotations

import io
import re
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from server import jobs
from server.errors import header_unmatched, ledger_file_too_large, upload_expired, upload_missing
from server.extensions import db
from server.i18n import tr
from server.job_kinds import row_errors
from server.models import Enterprise
from server.services.ledger_excel import (
    NOT_IMPORTED,
    XLSX_MIMETYPE,
    LedgerImportReport,
    export_ledger,
    import_ledger,
    ledger_template,
    mappable_fields,
    preview_columns,
)
from server.services.scope import visible_enterprises
from server.web.access import (
    current_enterprise_user,
    current_supervisor,
    enterprise_required,
    supervisor_required,
)
from server.web.forms import tr_problem
from sync import problems
from sync.problems import Problem

bp = Blueprint("ledger_io", __name__)

#: The largest ledger accepted (a 5,000-row ledger is well under 1 MB).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


@bp.url_value_preprocessor
def _limit_upload(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Cap the upload before anything reads the body (the CSRF check reads the form right after this)."""
    if endpoint in ("ledger_io.import_ledger_page", "ledger_io.import_mapped"):
        request.max_content_length = MAX_UPLOAD_BYTES


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> Any:
    return _result(
        None, error=tr_problem(ledger_file_too_large(limit_mb=MAX_UPLOAD_BYTES // (1024 * 1024))), status=413
    )


def _xlsx(data: bytes, filename: str) -> Response:
    """An .xlsx download (werkzeug sends the Chinese name as filename*, with an ASCII fallback)."""
    response = send_file(io.BytesIO(data), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=filename)
    # A ledger names people and hazards: no shared cache keeps it.
    response.headers["Cache-Control"] = "no-store"
    return response


def _own_enterprise() -> Enterprise:
    enterprise = db.session.get(Enterprise, current_enterprise_user().enterprise_id)
    if enterprise is None or enterprise.deleted_at is not None:
        abort(404)
    return enterprise


def _result(report: LedgerImportReport | None, *, error: str | None = None, status: int = 200) -> Any:
    return render_template("ledger_import_result.html", report=report, error=error), status


def _fields() -> list[tuple[str, str]]:
    """The fields a column may be mapped to: the ledger workbook's own (Chinese) column names, and "not imported"
    in the reader's language."""
    return [
        (key, tr("不导入", "Not imported") if key == NOT_IMPORTED else label)
        for key, label in mappable_fields()
    ]


@bp.route("/portal/ledger/template.xlsx")
@enterprise_required
def template() -> Response:
    """The empty ledger template with its drop-downs, an example row and the 说明 sheet."""
    return _xlsx(ledger_template(), "隐患自查台账模板.xlsx")


@bp.route("/portal/ledger/import", methods=["POST"])
@enterprise_required
def import_ledger_page() -> Any:
    """Import the uploaded ledger into the signed-in user's enterprise and show the report (or, when its
    header is not recognised, the column-mapping step)."""
    enterprise = _own_enterprise()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _result(
            None,
            error=tr_problem(upload_missing()),
            status=400,
        )
    data = upload.read()
    dry_run = request.form.get("dry_run", "") in ("1", "on", "true")
    return _import(enterprise, data, upload.filename, dry_run, None)[0]


#: Uploads waiting for their columns to be mapped are kept this long.
PENDING_SECONDS = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _pending_dir(enterprise: Enterprise) -> Path:
    return Path(current_app.instance_path) / "ledger-uploads" / str(enterprise.id)


def _keep_pending(enterprise: Enterprise, data: bytes) -> str:
    """Keep an upload for the mapping step (dropping the enterprise's stale ones); its token."""
    folder = _pending_dir(enterprise)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.upload"):
        if time.time() - stale.stat().st_mtime > PENDING_SECONDS:
            stale.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.upload").write_bytes(data)
    return token


def _pending(enterprise: Enterprise, token: str) -> Path | None:
    if not _TOKEN.fullmatch(token):
        return None
    path = _pending_dir(enterprise) / f"{token}.upload"
    return path if path.is_file() else None


def _import(
    enterprise: Enterprise,
    data: bytes,
    filename: str,
    dry_run: bool,
    column_map: dict[str, str] | None,
    token: str | None = None,
) -> tuple[Any, bool]:
    """Run the import as a background job: the response, and whether it is the mapping step. A quick import
    answers with its report at once (as it always did); a slow one sends the user to the job's progress page.
    A header nobody recognises leads to the mapping step instead of to a refusal (the upload kept meanwhile)."""
    params = {"enterprise_id": str(enterprise.id), "filename": filename, "dry_run": dry_run,
              "column_map": column_map, "token": token}  # fmt: skip
    job, outcome = jobs.submit(
        db.session, current_enterprise_user(), "ledger_import", params, upload=data, upload_name=filename
    )
    if outcome is None:
        return redirect(url_for("jobs.show", job_id=job.id)), False
    if isinstance(outcome, Problem):
        return _result(None, error=f"{outcome.message('zh')} / {outcome.message('en')}", status=400), False
    if isinstance(outcome.value, Problem):
        kept = outcome.result["mapping"]
        return _mapping(enterprise, data, filename, kept["token"], dry_run, outcome.value, column_map), True
    return _result(outcome.value), False


@jobs.register("ledger_import")
def _ledger_job(context: jobs.JobContext) -> jobs.JobOutput:
    """The ledger import's work (in the background job); an unrecognised header keeps the upload for the
    mapping step and says so in the result."""
    params = context.params
    enterprise = context.session.get(Enterprise, uuid.UUID(params["enterprise_id"]))
    if enterprise is None or enterprise.deleted_at is not None:
        raise problems.not_found()
    data = context.upload_bytes()
    try:
        report = import_ledger(
            context.session, enterprise, data, actor=context.owner, filename=params["filename"],
            dry_run=bool(params["dry_run"]), column_map=params.get("column_map"), progress=context.progress,
        )  # fmt: skip
    except Problem as problem:
        if problem.kind is not header_unmatched:
            raise
        context.session.rollback()
        token = params.get("token")
        if not token or _pending(enterprise, token) is None:
            token = _keep_pending(enterprise, data)
        mapping = {"token": token, "details": problem.details}
        return jobs.JobOutput(result={"mapping": mapping, "filename": params["filename"]}, value=problem)
    if not report.written:
        context.session.rollback()
    elif params.get("token"):
        pending = _pending(enterprise, params["token"])
        if pending is not None:
            pending.unlink(missing_ok=True)
    result = {"source": report.source, "enterprise": report.enterprise, "counts": report.counts(),
              "written": report.written, "dry_run": report.dry_run, "strict": report.strict, "notes": report.notes,
              "outside_campaign": report.outside_campaign_note(), **row_errors(report.errors)}  # fmt: skip
    return jobs.JobOutput(result=result, value=report)


@bp.route("/portal/ledger/import/jobs/<uuid:job_id>/mapping")
@enterprise_required
def mapping_of_job(job_id: uuid.UUID) -> Any:
    """The mapping step of an import that ran in the background and did not recognise the file's header."""
    enterprise = _own_enterprise()
    job = jobs.visible_job(db.session, current_enterprise_user(), job_id)
    mapping = ((job.result or {}).get("mapping") if job is not None else None) or {}
    path = _pending(enterprise, str(mapping.get("token", "")))
    if job is None or path is None:
        abort(404)
    problem = header_unmatched(**mapping.get("details", {}))
    filename = str((job.result or {}).get("filename") or "ledger.xlsx")
    return _mapping(enterprise, path.read_bytes(), filename, mapping["token"], bool(job.params.get("dry_run")),
                    problem, None)  # fmt: skip


def _mapping(
    enterprise: Enterprise,
    data: bytes,
    filename: str,
    token: str,
    dry_run: bool,
    problem: Problem,
    chosen: dict[str, str] | None,
) -> Any:
    """The column-mapping step: each column of the likeliest header row, a choice of field, the first rows."""
    try:
        preview = preview_columns(data, filename, {**(enterprise.ledger_column_map or {}), **(chosen or {})})
    except Problem as unreadable:
        return _result(None, error=tr_problem(unreadable), status=400)
    status = 400 if chosen is not None else 200
    return render_template("ledger_mapping.html", preview=preview, fields=_fields(), token=token,
                           filename=filename, dry_run=dry_run, problem=problem, retried=chosen is not None,
                           not_imported=NOT_IMPORTED), status  # fmt: skip


@bp.route("/portal/ledger/import/mapped", methods=["POST"])
@enterprise_required
def import_mapped() -> Any:
    """Import a kept upload with the columns the user mapped; the mapping is remembered for next time."""
    enterprise = _own_enterprise()
    token = request.form.get("token", "")
    path = _pending(enterprise, token)
    if path is None:
        return _result(None, error=tr_problem(upload_expired()),
                       status=400)  # fmt: skip
    known = {key for key, _ in mappable_fields()}
    column_map: dict[str, str] = {}
    for name, value in request.form.items():
        if name.startswith("column:") and value in known:
            column_map[name.removeprefix("column:")] = value
    filename = request.form.get("filename", "") or "ledger.xlsx"
    dry_run = request.form.get("dry_run", "") in ("1", "on", "true")
    response, mapping_again = _import(enterprise, path.read_bytes(), filename, dry_run, column_map, token)
    if not mapping_again:
        path.unlink(missing_ok=True)
    return response


@bp.route("/portal/ledger/export.xlsx")
@enterprise_required
def export_own() -> Response:
    """The signed-in enterprise's ledger as .xlsx."""
    enterprise = _own_enterprise()
    return _xlsx(export_ledger(db.session, enterprise), f"{enterprise.name}-隐患台账.xlsx")


@bp.route("/enterprises/<uuid:enterprise_id>/ledger.xlsx")
@supervisor_required
def export_enterprise(enterprise_id: uuid.UUID) -> Response:
    """An enterprise's ledger for a supervisor whose scope covers it (404 otherwise)."""
    query = visible_enterprises(db.session, current_supervisor()).where(Enterprise.id == enterprise_id)
    enterprise = db.session.scalar(query)
    if enterprise is None:
        abort(404)
    return _xlsx(export_ledger(db.session, enterprise), f"{enterprise.name}-隐患台账.xlsx")

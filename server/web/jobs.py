"""Long work on the web: the user's jobs (``/jobs``), one job's progress and result (``/jobs/<id>``, polled as
``/jobs/<id>.json``), its produced file, and the pages that start the registry import, the monthly report
workbook and a document as jobs. Only a job's owner, or an admin, sees it (anyone else gets 404)."""

from __future__ import annotations

import io
import mimetypes
import uuid
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import send_file as flask_send_file

from server import job_kinds, jobs, security
from server.domain.roles import Role
from server.extensions import db
from server.i18n import current_language, tr
from server.models.job import BackgroundJob, JobStatus
from server.web.access import current_supervisor, supervisor_required
from server.web.reports import admin_required

bp = Blueprint("jobs", __name__)

#: The kinds register themselves when their module is imported (job_kinds is imported for that).
REGISTERED_BY = job_kinds.__name__

#: Kinds the app starts by itself, left out of the user's list of jobs.
BACKGROUND_ONLY = frozenset({"report_recount"})

#: What each kind of job is called, and what each stage key means, in both languages.
KINDS = {
    "ledger_import": ("隐患自查台账导入", "Self-inspection ledger import"),
    "registry_import": ("企业名录导入", "Enterprise registry import"),
    "progress_report": ("月报 Excel", "Monthly report workbook"),
    "report_recount": ("月报重新统计", "Monthly report recount"),
    "document": ("执法文书 PDF", "Enforcement document PDF"),
}
STAGES = {
    "reading": ("读取文件", "Reading the file"),
    "checking": ("检查各行", "Checking the rows"),
    "planning": ("比对已有记录", "Comparing with stored records"),
    "writing": ("写入", "Writing"),
    "counting": ("统计", "Counting"),
    "collecting": ("汇集检查记录", "Collecting the record"),
    "drawing": ("生成文件", "Drawing the file"),
}
STATUSES = {
    JobStatus.queued: ("排队中", "Queued"),
    JobStatus.running: ("进行中", "Running"),
    JobStatus.done: ("已完成", "Done"),
    JobStatus.failed: ("失败", "Failed"),
}
COUNTS = {
    "created": ("新增", "created"),
    "updated": ("更新", "updated"),
    "unchanged": ("未变", "unchanged"),
    "skipped": ("跳过", "skipped"),
    "skipped_blank": ("空行", "blank rows"),
    "skipped_total": ("合计行", "total rows"),
    "error_rows": ("有误的行", "rows with errors"),
    "events_appended": ("新增进展", "events appended"),
    "outside_campaign": ("专项行动期外", "outside the campaign"),
}


def _label(table: dict[Any, tuple[str, str]], key: Any) -> str:
    pair = table.get(key)
    return tr(*pair) if pair else str(key or "")


def _in_language(text: Any) -> str:
    """A text a job kept: a (Chinese, English) pair, shown in the reader's language; a plain text (a registry
    import's note, a job kept before the pairs) as it is."""
    if isinstance(text, list | tuple) and len(text) == 2:
        return tr(str(text[0]), str(text[1]))
    return str(text or "")


def _job_or_404(job_id: uuid.UUID) -> BackgroundJob:
    job = jobs.visible_job(db.session, g.user, job_id)
    if job is None:
        abort(404)
    return job


def _state(job: BackgroundJob) -> dict[str, Any]:
    """The job as the page and its JSON show it, in the reader's language."""
    state = jobs.job_view(job, current_language())
    state["kind_label"] = _label(KINDS, job.kind)
    state["status_label"] = _label(STATUSES, job.status)
    state["stage_label"] = _label(STAGES, job.stage) if job.stage else ""
    return state


def _file_name(job: BackgroundJob) -> str:
    return str((job.result or {}).get("file_name") or "result")


@bp.route("/jobs")
@security.login_required
def index() -> Any:
    """The signed-in user's recent jobs, newest first: come back to one after leaving."""
    # The report's recounts are started by viewing it (one per write, while a sync runs): not the user's work.
    mine = [job for job in jobs.recent_jobs(db.session, g.user, limit=200) if job.kind not in BACKGROUND_ONLY]
    rows = [(job, _state(job)) for job in mine[:30]]
    return render_template("jobs.html", rows=rows, is_admin=g.user.role == Role.admin)


@bp.route("/jobs/<uuid:job_id>")
@security.login_required
def show(job_id: uuid.UUID) -> Any:
    """One job: a progress bar while it runs (refreshing itself), then its result."""
    job = _job_or_404(job_id)
    result = job.result or {}
    mapping_url = None
    if job.kind == "ledger_import" and result.get("mapping"):
        mapping_url = url_for("ledger_io.mapping_of_job", job_id=job.id)
    page = render_template(
        "job.html", job=job, state=_state(job), result=result, counts=COUNTS, label=_label, text=_in_language,
        mapping_url=mapping_url, file_name=_file_name(job) if job.result_file else None,
    )  # fmt: skip
    response = Response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/jobs/<uuid:job_id>.json")
@security.login_required
def state(job_id: uuid.UUID) -> Any:
    """The job's progress as JSON, for the page's few lines of polling script."""
    response = jsonify(_state(_job_or_404(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/jobs/<uuid:job_id>/file")
@security.login_required
def download(job_id: uuid.UUID) -> Any:
    """The file the job produced (a workbook, a PDF), read from the store every server shares."""
    job = _job_or_404(job_id)
    if job.status is not JobStatus.done or not (job.result_file or "").startswith("blob:"):
        abort(404)
    store = current_app.extensions["sync"].blobs
    with store.open(str(job.result_file).removeprefix("blob:")) as handle:
        data = handle.read()
    name = _file_name(job)
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = flask_send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- starting the jobs that have no page of their own --------------------------------------------------------


@bp.route("/admin/enterprises/import", methods=["GET", "POST"])
@admin_required
def registry_import() -> Any:
    """The admin uploads the enterprise registry (企业名录, .xlsx or .csv); it is imported as a job."""
    if request.method == "GET":
        return render_template("registry_import.html", error=None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        error = tr("请选择要导入的企业名录文件（.xlsx 或 .csv）", "Choose a registry file (.xlsx or .csv)")
        return render_template("registry_import.html", error=error), 400
    params = {
        "region": request.form.get("region", "").strip() or None,
        "dry_run": request.form.get("dry_run", "") in ("1", "on", "true"),
        "strict": request.form.get("strict", "") in ("1", "on", "true"),
    }
    job, _ = jobs.submit(
        db.session,
        g.user,
        "registry_import",
        params,
        upload=upload.read(),
        upload_name=upload.filename,
        wait=0,
    )
    return redirect(url_for("jobs.show", job_id=job.id), 303)


@bp.route("/reports/monthly/job", methods=["POST"])
@supervisor_required
def report_job() -> Any:
    """Make the monthly report workbook in the background (a city's report can take a while)."""
    params = {"month": request.form.get("month") or None, "final": request.form.get("final") or None}
    job, _ = jobs.submit(db.session, current_supervisor(), "progress_report", params, wait=0)
    return redirect(url_for("jobs.show", job_id=job.id), 303)


@bp.route("/inspections/<uuid:inspection_id>/documents/<any(record, order):kind>/job", methods=["POST"])
@supervisor_required
def document_job(inspection_id: uuid.UUID, kind: str) -> Any:
    """Draw an enforcement document in the background (an order with many photos takes a while)."""
    params = {"inspection_id": str(inspection_id), "kind": kind}
    job, _ = jobs.submit(db.session, current_supervisor(), "document", params, wait=0)
    return redirect(url_for("jobs.show", job_id=job.id), 303)

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

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from server.errors import header_unmatched, ledger_file_too_large, upload_expired, upload_missing
from server.extensions import db
from server.i18n import tr
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
    """Run the import: the response, and whether it is the mapping step (a header nobody recognises leads
    there instead of to a refusal; the upload is kept under ``token`` meanwhile)."""
    user = current_enterprise_user()
    try:
        report = import_ledger(
            db.session,
            enterprise,
            data,
            actor=user,
            filename=filename,
            dry_run=dry_run,
            column_map=column_map,
        )
    except Problem as problem:
        db.session.rollback()
        if problem.kind is header_unmatched:
            token = token or _keep_pending(enterprise, data)
            return _mapping(enterprise, data, filename, token, dry_run, problem, column_map), True
        return _result(None, error=tr_problem(problem), status=400), False
    if report.written:
        db.session.commit()
    else:
        db.session.rollback()
    return _result(report), False


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

"""The self-inspection ledger (隐患自查台账) in and out of Excel on the web: the template, the upload of an
enterprise's ledger, its export, and a supervisor's export of an enterprise in scope."""

from __future__ import annotations

import io
import uuid
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from server.extensions import db
from server.models import Enterprise
from server.services.ledger_excel import (
    XLSX_MIMETYPE,
    LedgerImportReport,
    export_ledger,
    import_ledger,
    ledger_template,
)
from server.services.scope import visible_enterprises
from server.web.access import (
    current_enterprise_user,
    current_supervisor,
    enterprise_required,
    supervisor_required,
)
from sync.problems import Problem

bp = Blueprint("ledger_io", __name__)

#: The largest ledger accepted (a 5,000-row ledger is well under 1 MB).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
_TOO_LARGE = (
    f"文件过大：台账文件不能超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB，请删去图片或拆分后再上传 / "
    f"the file is too large: a ledger may be at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"
)


@bp.url_value_preprocessor
def _limit_upload(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Cap the upload before anything reads the body (the CSRF check reads the form right after this)."""
    if endpoint == "ledger_io.import_ledger_page":
        request.max_content_length = MAX_UPLOAD_BYTES


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> Any:
    return _result(None, error=_TOO_LARGE, status=413)


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


@bp.route("/portal/ledger/template.xlsx")
@enterprise_required
def template() -> Response:
    """The empty ledger template with its drop-downs, an example row and the 说明 sheet."""
    return _xlsx(ledger_template(), "隐患自查台账模板.xlsx")


@bp.route("/portal/ledger/import", methods=["POST"])
@enterprise_required
def import_ledger_page() -> Any:
    """Import the uploaded ledger into the signed-in user's enterprise and show the report."""
    user = current_enterprise_user()
    enterprise = _own_enterprise()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _result(
            None,
            error="请选择要导入的台账文件（.xlsx 或 .csv） / choose a ledger file (.xlsx or .csv)",
            status=400,
        )
    data = upload.read()
    dry_run = request.form.get("dry_run", "") in ("1", "on", "true")
    try:
        report = import_ledger(
            db.session, enterprise, data, actor=user, filename=upload.filename, dry_run=dry_run
        )
    except Problem as problem:
        db.session.rollback()
        return _result(None, error=f"{problem.message('zh')} / {problem.message('en')}", status=400)
    if report.written:
        db.session.commit()
    else:
        db.session.rollback()
    return _result(report)


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

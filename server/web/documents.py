"""执法文书的下载与核验 / Enforcement documents: supervisors download them as PDF; anyone verifies a printed one.

The downloads are scoped like the review page (404 outside the supervisor's scope, for a draft, and for an
order when nothing was found). The verification page is public, as the enterprise QR landing page is: it shows
only what the printed document already says, and nothing at all to whoever holds a wrong hash.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template

from server.documents.pdf import render
from server.documents.records import DocKind, load_documents
from server.documents.verify import verify_document
from server.extensions import current_backend, db
from server.services import audit
from server.web.access import current_supervisor, supervisor_required

bp = Blueprint("documents", __name__, template_folder="templates")


def _default_authority() -> str:
    return str(current_app.config.get("DEFAULT_AUTHORITY_NAME") or "应急管理局")


@bp.route("/inspections/<uuid:inspection_id>/documents/<any(record, order):kind>.pdf")
@supervisor_required
def download(inspection_id: uuid.UUID, kind: str) -> Any:
    """现场检查记录 or 责令限期整改指令书 of a submitted inspection in the supervisor's scope, as a PDF."""
    document_kind = DocKind(kind)
    docs = load_documents(
        db.session, current_supervisor(), inspection_id, current_backend().blobs,
        base_url=str(current_app.config["PUBLIC_BASE_URL"]), default_authority=_default_authority(),
        photos=document_kind is DocKind.order,
    )  # fmt: skip
    if docs is None or document_kind not in docs.kinds:
        abort(404)
    head = audit.current_head(db.session)
    rendered = render(docs, document_kind, audit_head=head.label() if head else None)
    response = Response(rendered.data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = rendered.content_disposition
    # Made afresh from the record each time, and only for this supervisor's eyes.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/d/<kind>/<uuid:inspection_id>/<sha256>")
def verify(kind: str, inspection_id: uuid.UUID, sha256: str) -> Any:
    """文书有效 or 文书与存档记录不符 (with the reason) for a printed document's QR code. Public."""
    verdict = verify_document(db.session, kind, inspection_id, sha256, default_authority=_default_authority())
    if verdict is None:
        response = Response(render_template("document_verify.html", verdict=None), 404)
    else:
        response = Response(render_template("document_verify.html", verdict=verdict))
    # Always checked live: a record altered later must not be vouched for by a cached page.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response

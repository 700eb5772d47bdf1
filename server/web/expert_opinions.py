"""Expert opinions on the supervisors' side: the list of an inspection's opinions with their seal, the 专家检查意见书
PDF, and the public check of a printed one (/d/expert/…)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template

from server.documents.expert_opinion_pdf import NUMBER_CODE, OpinionDocument, render_opinion
from server.documents.records import SignatureImage, authority_prefix, document_header, zh_date, zh_time
from server.domain.inspections import InspectionStatus
from server.extensions import current_backend, db
from server.models import ExpertOpinion, Inspection
from server.services.expert_opinions import OpinionView, opinions_for
from server.services.scope import visible_inspections
from server.web.access import current_supervisor, supervisor_required
from server.web.stop_orders import public_check

bp = Blueprint("expert_opinions", __name__)
#: Largest signature image read into a document.
MAX_SIGNATURE_BYTES = 5 * 1024 * 1024


def _inspection(inspection_id: uuid.UUID) -> Inspection:
    """A submitted inspection in the supervisor's scope (404 otherwise, drafts included)."""
    inspection = db.session.scalar(
        visible_inspections(db.session, current_supervisor()).where(Inspection.id == inspection_id)
    )
    if inspection is None or inspection.status == InspectionStatus.draft:
        abort(404)
    return inspection


def _authority() -> str:
    return str(current_app.config.get("DEFAULT_AUTHORITY_NAME") or "应急管理局")


def _number(inspection: Inspection, opinion: ExpertOpinion) -> str:
    header = document_header(inspection, _authority())
    return f"{authority_prefix(header.authority)}{NUMBER_CODE}〔{header.year}〕{opinion.id.hex[:8].upper()}号"


def _verify_path(inspection: Inspection, opinion: ExpertOpinion) -> str | None:
    return f"/d/expert/{opinion.id}/{inspection.sealed_sha256}" if inspection.sealed_sha256 else None


@bp.route("/inspections/<uuid:inspection_id>/expert-opinions")
@supervisor_required
def opinion_list(inspection_id: uuid.UUID) -> Any:
    """The inspection's expert opinions, each with its seal and its PDF."""
    inspection = _inspection(inspection_id)
    return render_template(
        "expert_opinions.html", inspection=inspection, views=opinions_for(db.session, inspection)
    )


def _signature(view: OpinionView) -> SignatureImage | None:
    signature = view.row.signature or {}
    sha = signature.get("sha256")
    if not sha:
        return None
    store = current_backend().blobs
    image = None
    if store.has(sha):
        with store.open(sha) as handle:
            data = handle.read(MAX_SIGNATURE_BYTES + 1)
        image = data if len(data) <= MAX_SIGNATURE_BYTES else None
    at = view.row.signed_at
    return SignatureImage("expert", view.row.expert_name, zh_time(at) if at else "", image)


@bp.route("/inspections/<uuid:inspection_id>/documents/expert/<uuid:opinion_id>.pdf")
@supervisor_required
def opinion_pdf(inspection_id: uuid.UUID, opinion_id: uuid.UUID) -> Any:
    """专家检查意见书 of a submitted inspection in the supervisor's scope."""
    inspection = _inspection(inspection_id)
    view = next((v for v in opinions_for(db.session, inspection) if v.row.id == opinion_id), None)
    if view is None:
        abort(404)
    base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    path = _verify_path(inspection, view.row)
    lines = [(str(line["problem"]), str(line["suggestion"]), str(line.get("item_code") or ""),
              line["hazard"].description if line.get("hazard") is not None else "") for line in view.lines]  # fmt: skip
    day = view.row.signed_at or inspection.finished_at or inspection.received_at
    document = OpinionDocument(
        number=_number(inspection, view.row), authority=document_header(inspection, _authority()).authority,
        enterprise_name=inspection.enterprise.name,
        inspected=f"{zh_time(inspection.started_at)} 至 {zh_time(inspection.finished_at)}",
        expert_name=view.row.expert_name, opinion=view.row.opinion, lines=lines, signature=_signature(view),
        sealed=view.seal.sealed, seal_problem=view.seal.problem, verify_url=base + path if path else None,
        issued_on=zh_date(day.date()) if day else "",
    )  # fmt: skip
    data, disposition = render_opinion(document)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/d/expert/<uuid:opinion_id>/<sha256>")
def verify(opinion_id: uuid.UUID, sha256: str) -> Any:
    """Whether a printed 专家检查意见书 is sealed with its inspection (public; facts only for the right hash)."""
    opinion = db.session.get(ExpertOpinion, opinion_id)
    inspection = opinion.inspection if opinion is not None and opinion.deleted_at is None else None
    view = None
    if inspection is not None and inspection.sealed_sha256 == sha256:
        view = next((v for v in opinions_for(db.session, inspection) if v.row.id == opinion_id), None)
    html = render_template("expert_opinion_verify.html", view=view, inspection=inspection if view else None,
                           number=_number(inspection, view.row) if inspection and view else None)  # fmt: skip
    return public_check(html, view is not None)

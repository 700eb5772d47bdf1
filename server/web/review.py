"""The supervisor's review of inspections: the list, one inspection with its photo evidence and flags, the
decision (approve, or return with a comment), and the photo bytes themselves (scope-checked)."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from typing import Any, BinaryIO
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wsgi import wrap_file

from server import clock, security
from server.caches import contribution_cache
from server.domain.inspections import InspectionKind, InspectionStatus, ReviewOutcome
from server.domain.roles import SUPERVISOR_ROLES, Role
from server.errors import photo_bytes_missing, photo_file_lost, review_outcome_missing
from server.extensions import current_backend, db
from server.i18n import tr
from server.media.store import thumbnail_of
from server.models import Inspection
from server.services import portal, review
from server.services.scope import visible_inspections
from server.web.access import current_supervisor, supervisor_required
from server.web.forms import tr_problem
from server.web.labels import members, pairs
from sync import problems
from sync.problems import Problem

bp = Blueprint("review", __name__, template_folder="templates")

#: Photos never change (they are named by their hash), but scope may: browsers keep them a day, privately.
PHOTO_CACHE_CONTROL = "private, max-age=86400"
#: The seal filter of the inspection list (the keys of review.SEAL_FILTERS).
SEAL_FILTERS = {
    "verified": ("签名已验证", "Seal verified"),
    "failed": ("签名验证失败", "Seal failed"),
    "missing": ("未封存", "Not sealed"),
}


@bp.app_template_filter("review_time")
def review_time(value: datetime | None, seconds: bool = False) -> str:
    """A timestamp on the bureau's clock, or a dash."""
    if value is None:
        return "—"
    return clock.local_text(value, clock.zone(), "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


@bp.app_template_filter("review_duration")
def review_duration(value: timedelta | None) -> str:
    """A signed duration in the largest units that read well ("3 小时 5 分", "-40 秒")."""
    if value is None:
        return "—"
    sign = "-" if value < timedelta(0) else ""
    seconds = int(abs(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return sign + tr("{d} 天 {h} 小时", "{d} d {h} h", d=days, h=hours)
    if hours:
        return sign + tr("{h} 小时 {m} 分", "{h} h {m} min", h=hours, m=minutes)
    if minutes:
        return sign + tr("{m} 分 {s} 秒", "{m} min {s} s", m=minutes, s=secs)
    return sign + tr("{s} 秒", "{s} s", s=secs)


@bp.app_template_filter("review_metres")
def review_metres(value: float | None) -> str:
    """A distance in metres, or kilometres past one."""
    if value is None:
        return "—"
    return f"{value:.0f} m" if value < 1000 else f"{value / 1000:.2f} km"


def _enum_arg(name: str, enum: Any) -> Any:
    """A filter value of ``enum`` from the query string; an unknown value is ignored (and shown unselected)."""
    raw = request.args.get(name, "").strip()
    try:
        return enum(raw) if raw else None
    except ValueError:
        return None


@bp.route("/inspections")
@supervisor_required
def inspection_list() -> Any:
    """Inspections in the supervisor's scope, newest first, 50 a page, with filters."""
    seal = request.args.get("seal", "").strip()
    filters = review.InspectionFilters(
        status=_enum_arg("status", InspectionStatus),
        kind=_enum_arg("kind", InspectionKind),
        enterprise=request.args.get("enterprise", "").strip() or None,
        seal=seal if seal in review.SEAL_FILTERS else None,
        doubtful={"1": True, "0": False}.get(request.args.get("doubtful", "").strip()),
    )
    page_no = request.args.get("page", "1")
    page = review.list_inspections(
        db.session, current_supervisor(), filters, int(page_no) if page_no.isdigit() else 1,
        counts=contribution_cache(),
    )  # fmt: skip
    kept = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "review_list.html", page=page, filters=filters, query=urlencode(kept), statuses=members(review.STATUS_ZH),
        kinds=list(InspectionKind), seals={k: v for k, v in pairs(SEAL_FILTERS).items() if k in review.SEAL_FILTERS},
    )  # fmt: skip


def _render_review(
    inspection_id: uuid.UUID, *, comment: str = "", error: str | None = None, status: int = 200
) -> Any:
    """The review page, with a refused decision's message and the comment as typed."""
    data = review.load_review(db.session, current_supervisor(), inspection_id, current_backend().blobs)
    if data is None:
        abort(404)
    return render_template(
        "review_detail.html", data=data, inspection=data.inspection, statuses=members(review.STATUS_ZH),
        outcomes=members(review.OUTCOME_ZH), comment=comment, error=error,
    ), status  # fmt: skip


@bp.route("/inspections/<uuid:inspection_id>")
@supervisor_required
def inspection_review(inspection_id: uuid.UUID) -> Any:
    """One inspection with every answer, hazard and photo, its evidence flagged, and the review form."""
    return _render_review(inspection_id)


def _outcome(value: str) -> ReviewOutcome:
    """The button pressed (approve or return); anything else is refused as an invalid field."""
    try:
        return ReviewOutcome(value)
    except ValueError:
        # Still the request's invalid field (400.2, as devices and tests know it), explained in one language.
        raise problems.invalid_fields(fields=f"outcome: {tr_problem(review_outcome_missing())}") from None


@bp.route("/inspections/<uuid:inspection_id>/review", methods=["POST"])
@supervisor_required
def submit_review(inspection_id: uuid.UUID) -> Any:
    """Approve or return the inspection; a refusal shows on the page with the typed comment kept."""
    reviewer = current_supervisor()
    comment = request.form.get("comment", "")
    inspection = db.session.scalar(
        visible_inspections(db.session, reviewer).where(Inspection.id == inspection_id)
    )
    if inspection is None:
        abort(404)
    data = review.load_review(db.session, reviewer, inspection_id, current_backend().blobs)
    try:
        outcome = _outcome(request.form.get("outcome", ""))
        review.review_inspection(
            db.session, inspection, reviewer, outcome, comment, doubts=data.doubtful if data else 0,
            confirmed=request.form.get("confirm_flags", "") in ("1", "on"),
        )  # fmt: skip
    except Problem as problem:
        db.session.rollback()
        return _render_review(
            inspection_id, comment=comment, error=tr_problem(problem), status=problem.status
        )
    db.session.commit()
    flash(
        tr("已通过此检查记录。", "The inspection was approved.")
        if outcome is ReviewOutcome.approve
        else tr("已退回此检查记录。", "The inspection was returned."),
        "review",
    )
    return redirect(url_for("review.inspection_review", inspection_id=inspection_id), 303)


def _visible_photo(photo_id: uuid.UUID) -> Any:
    """The photo and its blob if the signed-in user may see what it is evidence for: a supervisor within scope,
    an enterprise its own hazards' and self-assessment's photos (nothing of an unsubmitted inspection); else None."""
    user = g.user
    if user.role in SUPERVISOR_ROLES:
        return review.visible_photo(db.session, user, photo_id)
    if user.role == Role.enterprise and user.enterprise_id is not None:
        return portal.visible_photo(db.session, user.enterprise_id, photo_id)
    return None


def _photo_response(photo_id: uuid.UUID, *, thumbnail: bool) -> Any:
    found = _visible_photo(photo_id)
    if found is None:
        abort(404)
    photo, blob = found
    store = current_backend().blobs
    if blob is None:
        raise photo_bytes_missing()
    if not store.has(photo.sha256):
        raise photo_file_lost()
    if thumbnail:
        jpeg = thumbnail_of(store, photo.sha256)
        response = _send_bytes(io.BytesIO(jpeg), len(jpeg), "image/jpeg", f"{photo.sha256}-thumb")
    else:
        handle = store.open(photo.sha256)
        size = handle.seek(0, io.SEEK_END)
        handle.seek(0)
        # The bytes never change (write-once, named by their hash): the hash is the ETag.
        response = _send_bytes(handle, size, blob.mime, photo.sha256)
    response.headers["Cache-Control"] = PHOTO_CACHE_CONTROL
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _send_bytes(handle: BinaryIO, size: int, mime: str, etag: str) -> Response:
    """Stream an open file with its ETag, answering If-None-Match (304) and Range requests."""
    body = wrap_file(request.environ, handle)
    response = current_app.response_class(body, mimetype=mime, direct_passthrough=True)
    response.content_length = size
    response.set_etag(etag)
    response.make_conditional(request.environ, accept_ranges=True, complete_length=size)
    return response


@bp.route("/photos/<uuid:photo_id>")
@security.login_required
def photo_full(photo_id: uuid.UUID) -> Any:
    """A photo's bytes as stored (hash-verified), for anyone who may see what it is evidence for."""
    return _photo_response(photo_id, thumbnail=False)


@bp.route("/photos/<uuid:photo_id>/thumb")
@security.login_required
def photo_thumbnail(photo_id: uuid.UUID) -> Any:
    """A photo's upright JPEG thumbnail (long edge 480 px)."""
    return _photo_response(photo_id, thumbnail=True)

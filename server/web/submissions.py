"""Enterprises' submissions (四（四）): the portal's list and forms, the county's matrix enterprise × submission,
the versions behind a cell, and the admin's requirements of a campaign."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, send_file, url_for

from server import clock
from server.domain.submissions import SubmissionKind, Timeliness, due_dates
from server.extensions import current_backend, db
from server.media.documents import SUFFIXES
from server.models import Campaign, EnterpriseSubmission
from server.services import campaigns, oversight, submissions
from server.web.access import (
    current_enterprise_user,
    current_supervisor,
    enterprise_required,
    supervisor_required,
)
from server.web.forms import commit_or_errors
from server.web.portal import _enterprise
from server.web.reports import admin_required

bp = Blueprint("submissions", __name__)


def _zone() -> ZoneInfo:
    return clock.zone()


@bp.route("/portal/submissions")
@enterprise_required
def portal_list() -> Any:
    """Every submission the enterprise owes the campaign, its standing and its versions."""
    enterprise = _enterprise()
    campaign = campaigns.campaign_of_enterprise(db.session, enterprise)
    today = clock.today()
    periods = (
        submissions.enterprise_periods(db.session, enterprise, campaign, today, _zone()) if campaign else []
    )
    return render_template("portal_submissions.html", enterprise=enterprise, campaign=campaign, periods=periods,
                           today=today, is_open=submissions.is_open)  # fmt: skip


def _period_arg(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(404)


@bp.route("/portal/submissions/<int:requirement_id>/<period>", methods=["GET", "POST"])
@enterprise_required
def portal_submit(requirement_id: int, period: str) -> Any:
    """Fill the monthly progress (prefilled from the enterprise's books) or upload the plan/summary file."""
    enterprise = _enterprise()
    today = clock.today()
    status = submissions.find_period(
        db.session, enterprise, requirement_id, _period_arg(period), today, _zone()
    )
    if status is None:
        abort(404)
    errors: dict[str, str] = {}
    values = (
        dict(status.latest.figures["values"]) if status.latest and status.latest.figures
        else submissions.prefilled_progress(db.session, enterprise.id, status.period, _zone())
    )  # fmt: skip
    code = 200
    if request.method == "POST":

        def submit() -> Any:
            if status.requirement.kind is SubmissionKind.progress:
                return submissions.submit_progress(
                    db.session, g.user, enterprise, status, request.form, today, _zone()
                )
            return submissions.submit_document(
                db.session, current_backend().blobs, g.user, enterprise, status, request.files.get("file"), today,
                max_bytes=current_app.config["SUBMISSION_MAX_BYTES"], max_pixels=current_app.config["MAX_PHOTO_PIXELS"],
                note=request.form.get("note", ""),
            )  # fmt: skip

        saved, errors, code = commit_or_errors(submit)
        if saved is not None:
            return redirect(url_for("submissions.portal_list", done=1), 303)
        values = {key: request.form.get(key, "") for key, *_ in submissions.PROGRESS_FIELDS}
    prefilled = submissions.prefilled_progress(db.session, enterprise.id, status.period, _zone())
    return render_template("portal_submission_form.html", enterprise=enterprise, status=status, values=values,
                           prefilled=prefilled, fields=submissions.PROGRESS_FIELDS, errors=errors,
                           is_open=submissions.is_open(status.period, today)), code  # fmt: skip


def _send(row: EnterpriseSubmission) -> Any:
    if row.sha256 is None:
        abort(404)
    store = current_backend().blobs
    if not store.has(row.sha256):
        abort(404)
    name = f"{row.requirement.code}-{row.period.isoformat()}-v{row.version}{SUFFIXES.get(row.mime or '', '')}"
    # Through the store's interface (a local folder or S3), never a path.
    return send_file(store.open(row.sha256), mimetype=row.mime, as_attachment=True, download_name=name)


@bp.route("/portal/submissions/file/<uuid:submission_id>")
@enterprise_required
def portal_file(submission_id: uuid.UUID) -> Any:
    """A file the enterprise handed in."""
    row = submissions.visible_submission(db.session, current_enterprise_user(), submission_id)
    if row is None:
        abort(404)
    return _send(row)


@bp.route("/submissions")
@supervisor_required
def matrix() -> Any:
    """Enterprise × submission: on time, late, missing (overdue) or not yet due."""
    campaign = oversight.campaign_for(db.session, current_supervisor())
    today = clock.today()
    view = (
        submissions.matrix(db.session, current_supervisor(), campaign, today, _zone()) if campaign else None
    )
    return render_template("submissions_matrix.html", m=view, today=today, Timeliness=Timeliness)


@bp.route("/submissions/<uuid:submission_id>")
@supervisor_required
def submission_page(submission_id: uuid.UUID) -> Any:
    """One version an enterprise handed in, beside the other versions of its period."""
    row = submissions.visible_submission(db.session, current_supervisor(), submission_id)
    if row is None:
        abort(404)
    siblings = db.session.scalars(
        db.select(EnterpriseSubmission).where(
            EnterpriseSubmission.requirement_id == row.requirement_id,
            EnterpriseSubmission.enterprise_id == row.enterprise_id, EnterpriseSubmission.period == row.period,
        ).order_by(EnterpriseSubmission.version)
    ).all()  # fmt: skip
    return render_template("submission.html", row=row, versions=siblings, fields=submissions.PROGRESS_FIELDS)


@bp.route("/submissions/<uuid:submission_id>/file")
@supervisor_required
def submission_file(submission_id: uuid.UUID) -> Any:
    """The file of one version."""
    row = submissions.visible_submission(db.session, current_supervisor(), submission_id)
    if row is None:
        abort(404)
    return _send(row)


@bp.route("/admin/campaigns/<int:campaign_id>/submissions", methods=["GET", "POST"])
@admin_required
def requirements(campaign_id: int) -> Any:
    """The admin's list of what enterprises must submit, with a form to add or change one."""
    campaign = db.get_or_404(Campaign, campaign_id)
    errors: dict[str, str] = {}
    code = 200
    if request.method == "POST":
        raw_id = request.form.get("id", "").strip()
        _, errors, code = commit_or_errors(lambda: submissions.save_requirement(
            db.session, current_supervisor(), campaign, request.form, int(raw_id) if raw_id.isdigit() else None))  # fmt: skip
        if not errors:
            return redirect(url_for("submissions.requirements", campaign_id=campaign.id), 303)
    rows = submissions.requirements(db.session, campaign)
    return render_template("admin_submissions.html", campaign=campaign, rows=rows, errors=errors,
                           kinds=list(SubmissionKind), form=request.form), code  # fmt: skip


@bp.route("/submissions/figures")
@supervisor_required
def figures() -> Any:
    """The monthly hazard figures per county with the enterprises' own reports standing in where the system has
    no figures of an enterprise (?period=YYYY-MM-DD, a monthly due date; the latest one passed by default)."""
    user = current_supervisor()
    campaign = oversight.campaign_for(db.session, user)
    if campaign is None:
        abort(404)
    periods = sorted({p for r in submissions.requirements(db.session, campaign) if r.kind is SubmissionKind.progress
                      for p in due_dates(r.schedule)})  # fmt: skip
    raw = request.args.get("period", "")
    past = [p for p in periods if p <= clock.today()]
    chosen = _period_arg(raw) if raw else (past[-1] if past else (periods[0] if periods else None))
    if chosen is None or chosen not in periods:
        abort(404)
    rows, known = submissions.filled_figures(db.session, user, campaign, chosen, _zone())
    return render_template("submission_figures.html", rows=rows, period=chosen, periods=periods, known=known,
                           fields=submissions.PROGRESS_FIELDS)  # fmt: skip

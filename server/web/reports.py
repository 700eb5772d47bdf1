"""The monthly progress report (月报) on screen and as Excel, and the admin's campaign pages (专项行动).

``/reports/monthly?month=2026-07`` (or ``?final=1``) shows the report as of its cut-off, laid out like the
notice's form; ``/reports/monthly.xlsx`` downloads the same as a workbook. A county supervisor reports their
county, the city supervisor the city with a row per county. ``/admin/campaigns`` lets the admin set the
campaign's name, sampling percent and each phase's name and dates (everyone else gets 404).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

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
    send_file,
    url_for,
)

from server import clock, job_kinds, security
from server.caches import report_cache
from server.domain.roles import Role
from server.errors import FormProblems, Problem
from server.extensions import db
from server.i18n import current_language
from server.models import Campaign
from server.services import audit, progress_report
from server.services import campaigns as campaign_rules
from server.services.oversight import campaign_for
from server.services.progress_report import ProgressReport
from server.services.progress_report.xlsx import XLSX_MIMETYPE, report_filename, report_xlsx
from server.web.access import current_supervisor, supervisor_required

bp = Blueprint("reports", __name__)

F = TypeVar("F", bound=Callable[..., Any])


def _report(*, stale_ok: bool = True) -> tuple[ProgressReport | None, str | None]:
    """The report the query string asks for, or the reason it cannot be made; with ``stale_ok`` (the page) the
    last count, marked stale, while it is counted again (job_kinds.report_for_page)."""
    month, final = request.args.get("month"), request.args.get("final")
    try:
        if stale_ok:
            return job_kinds.report_for_page(db.session, current_supervisor(), month, final), None
        period = progress_report.parse_period(month, final, clock.today())
    except Problem as error:
        return None, error.message(current_language())
    report = progress_report.build_report(
        db.session, current_supervisor(), period, zone=clock.zone(),
        authority_fallback=current_app.config.get("DEFAULT_AUTHORITY_NAME") or "应急管理局", cache=report_cache(),
    )  # fmt: skip
    return report, None


#: Major hazards listed per page of the report (the workbook lists them all).
MAJORS_PER_PAGE = 50


@bp.route("/reports/monthly")
@supervisor_required
def monthly() -> Any:
    """The monthly report (or the final summary) in the signed-in supervisor's scope."""
    report, error = _report()
    today = clock.today()
    campaign = campaign_for(db.session, current_supervisor())
    majors = report.majors if report is not None else []
    pages = max(1, -(-len(majors) // MAJORS_PER_PAGE))
    page = min(max(request.args.get("majors", 1, type=int) or 1, 1), pages)
    response = Response(render_template(
        "report_monthly.html", r=report, error=error, months=progress_report.report_months(campaign, today),
        month_arg=request.args.get("month", ""), final=request.args.get("final", "") in ("1", "true", "on"),
        sections=progress_report.SECTIONS, audit_head=_audit_head(), stale_notice=job_kinds.stale_notice(report) if report is not None else "",
        majors=majors[(page - 1) * MAJORS_PER_PAGE : page * MAJORS_PER_PAGE], majors_page=page, majors_pages=pages,
    ), status=400 if error else 200)  # fmt: skip
    if report is not None and report.stale:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/reports/monthly/counted.json")
@supervisor_required
def counted() -> Any:
    """When the page's figures were counted and whether they are still the latest, for the few lines of script
    that reload a stale page once its recount is done (and start one when none runs)."""
    report, error = _report()
    if report is None:
        return jsonify({"error": error}), 400
    response = jsonify(
        {"counted_at": report.counted_at.isoformat() if report.counted_at else None, "stale": report.stale}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _audit_head() -> str | None:
    """The audit chain's head label, printed on the report so that a later database edit shows."""
    head = audit.current_head(db.session)
    return head.label() if head else None


@bp.route("/reports/phone", methods=["POST"])
@supervisor_required
def report_phone() -> Any:
    """Set the 联系电话 the supervisor's bureau prints on its reports, then show the report again."""
    phone = request.form.get("phone", "")
    try:
        progress_report.set_report_phone(db.session, current_supervisor(), phone)
    except Problem as refused:
        db.session.rollback()
        report, _ = _report()
        campaign = campaign_for(db.session, current_supervisor())
        return render_template(
            "report_monthly.html", r=report, error=None, phone_error=refused.message(current_language()), phone_typed=phone,
            months=progress_report.report_months(campaign, clock.today()), month_arg="", final=False,
            sections=progress_report.SECTIONS, stale_notice="", majors=report.majors[:MAJORS_PER_PAGE] if report else [],
            majors_page=1, majors_pages=1,
        ), 400  # fmt: skip
    db.session.commit()
    month = request.form.get("month", "").strip()
    target = url_for("reports.monthly", month=month) if month else url_for("reports.monthly")
    return redirect(target)


@bp.route("/reports/monthly.xlsx")
@supervisor_required
def monthly_xlsx() -> Any:
    """The same report as an Excel workbook laid out like the form."""
    report, _error = _report(stale_ok=False)  # the document filed upward is never stale
    if report is None:
        return monthly()
    return xlsx_response(report_xlsx(report, audit_head=_audit_head()), report_filename(report))


# --- the admin's campaign pages ------------------------------------------------------------------------------


def admin_required(view: F) -> F:
    """Signed in (else the login page) and an admin (else 404: the page's existence is not revealed)."""

    @security.login_required
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.user.role != Role.admin:
            abort(404)
        return view(*args, **kwargs)

    return cast(F, wrapper)


@bp.route("/admin/campaigns")
@admin_required
def campaign_list() -> Any:
    """Every campaign with its phases and the phase running today."""
    today = clock.today()
    rows = [
        (c, campaign_rules.ordered_phases(c), campaign_rules.current_phase(c, today))
        for c in campaign_rules.campaigns(db.session)
    ]
    return render_template("admin_campaigns.html", rows=rows, today=today)


@bp.route("/admin/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@admin_required
def campaign_page(campaign_id: int) -> Any:
    """Edit a campaign's name, sampling percent and phases; a refused form keeps what was typed."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    errors: dict[str, str] = {}
    form = campaign_rules.form_values(campaign)
    if request.method == "POST":
        form = {key: request.form.get(key, "") for key in form}
        try:
            changed = campaign_rules.update_campaign(db.session, g.user, campaign, form)
        except FormProblems as refused:
            db.session.rollback()
            errors = refused.field_messages(current_language())
            campaign = db.session.get(Campaign, campaign_id) or abort(404)
        else:
            db.session.commit()
            return redirect(
                url_for("reports.campaign_page", campaign_id=campaign.id, done=1 if changed else 0)
            )
    today = clock.today()
    return render_template(
        "admin_campaign.html", c=campaign, phases=campaign_rules.ordered_phases(campaign), form=form, errors=errors,
        field=campaign_rules.phase_field, current=campaign_rules.current_phase(campaign, today), today=today,
        done=request.args.get("done"),
    ), (400 if errors else 200)  # fmt: skip


def xlsx_response(data: bytes, filename: str) -> Response:
    """An .xlsx download; the report names people and enterprises, so no shared cache keeps it."""
    response = send_file(io.BytesIO(data), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=filename)
    response.headers["Cache-Control"] = "no-store"
    return response

"""The enterprise portal (企业端): home, the self-inspection ledger (隐患自查台账), the hazards to rectify and the
per-phase self-assessment (自评). An enterprise user sees only its own enterprise, and nothing of a regulator's
inspection before it is submitted (四不两直)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from server import clock
from server.domain.clearance import ItemResultValue
from server.domain.hazards import FIVE_IN_PLACE, HazardEventKind, HazardLevel
from server.errors import FormProblems, Problem, filter_invalid, portal_action_unknown
from server.extensions import current_backend, db
from server.models import Enterprise, Hazard, HazardSource, Photo
from server.models.base import utcnow
from server.services import campaigns, hazard_views, portal
from server.services.web_photos import MAX_FILES, store_uploaded_photos
from server.web.access import current_enterprise_user, enterprise_required
from server.web.forms import form_errors, tr_problem
from server.web.labels import pairs

bp = Blueprint("portal", __name__, url_prefix="/portal")

#: What the hazard page says after each action succeeded.
DONE = {
    "created": ("已登记到自查台账", "Recorded in the self-inspection ledger"),
    "updated": ("台账已更新", "Ledger entry updated"),
    "plan": ("已记录整改措施", "Rectification measures recorded"),
    "report": ("已报告整改完成", "Rectification reported done"),
    "accept": ("已验收", "Accepted"),
}
#: The portal lists' filters (the keys of portal.STATUS_FILTERS and portal.FINDER_FILTERS).
STATUS_FILTERS = {
    "open": ("未闭环", "Open"),
    "overdue": ("逾期", "Overdue"),
    "done": ("已验收或销号", "Accepted or closed"),
}
FINDER_FILTERS = {
    "self": ("企业自查", "Our own ledger"),
    "regulator": ("监管部门检查", "Regulators' inspections"),
}
#: The answers of a self-assessment (the keys of portal.SELF_RESULTS).
SELF_RESULTS = {
    ItemResultValue.compliant: ("符合", "Compliant"),
    ItemResultValue.non_compliant: ("不符合", "Not compliant"),
    ItemResultValue.not_applicable: ("不涉及", "Not applicable"),
}


def _enterprise() -> Enterprise:
    """The signed-in user's enterprise (404 if it has been removed)."""
    enterprise = db.session.get(Enterprise, current_enterprise_user().enterprise_id)
    if enterprise is None or enterprise.deleted_at is not None:
        abort(404)
    return enterprise


def _hazard(enterprise: Enterprise, hazard_id: uuid.UUID) -> Hazard:
    """A hazard the enterprise may see; 404 for another enterprise's or one of an unsubmitted inspection."""
    hazard = portal.find_hazard(db.session, enterprise.id, hazard_id)
    if hazard is None:
        abort(404)
    return hazard


def _photo_saver(entity_type: str, field: str, error_key: str) -> Callable[[uuid.UUID], list[Photo]]:
    """Stores the request's files of ``field`` against an entity; a refusal becomes the field's error."""

    def save(entity_id: uuid.UUID) -> list[Photo]:
        files: list[FileStorage] = request.files.getlist(field)
        try:
            return store_uploaded_photos(
                db.session, current_backend().blobs, files, entity_type, entity_id,
                max_bytes=current_app.config["SYNC_MAX_PHOTO_BYTES"], max_pixels=current_app.config["MAX_PHOTO_PIXELS"],
            )  # fmt: skip
        except FormProblems as refused:
            # The saver's refusal is the form's field ``error_key`` (which photo input it came from).
            raise FormProblems({error_key: [p for found in refused.fields.values() for p in found]},
                               refused.status) from None  # fmt: skip

    return save


@bp.route("")
@enterprise_required
def home() -> Any:
    """The enterprise, the campaign phase running today and its open, overdue and to-rectify figures."""
    return render_template("portal_home.html", d=portal.home(db.session, _enterprise(), clock.today()))


def _list_filters(errors: list[str]) -> tuple[portal.ListFilters, int]:
    """The list's filters and page from the query string; a bad value is reported and ignored."""
    status = request.args.get("status", "").strip() or None
    if status is not None and status not in portal.STATUS_FILTERS:
        errors.append(tr_problem(filter_invalid(label="状态", label_en="status", value=status)))
        status = None
    finder = request.args.get("finder", "").strip() or None
    if finder is not None and finder not in portal.FINDER_FILTERS:
        errors.append(tr_problem(filter_invalid(label="来源", label_en="finder", value=finder)))
        finder = None
    level = None
    raw_level = request.args.get("level", "").strip()
    if raw_level:
        try:
            level = HazardLevel(raw_level)
        except ValueError:
            errors.append(tr_problem(filter_invalid(label="隐患等级", label_en="level", value=raw_level)))
    raw_page = request.args.get("page", "1")
    page = int(raw_page) if raw_page.isdigit() else 1
    return portal.ListFilters(status=status, level=level, finder=finder), page


def _query_without_page() -> str:
    from urllib.parse import urlencode

    return urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "page" and v])


@bp.route("/ledger")
@enterprise_required
def ledger() -> Any:
    """The self-inspection ledger with every field of the reference, filtered by status and level."""
    return _hazard_list("portal_ledger.html", ledger=True)


@bp.route("/hazards")
@enterprise_required
def hazards() -> Any:
    """Every hazard the enterprise must rectify: its own ledger's and those regulators found (once submitted)."""
    return _hazard_list("portal_hazards.html", ledger=False)


def _hazard_list(template: str, *, ledger: bool) -> Any:
    enterprise = _enterprise()
    errors: list[str] = []
    filters, page_no = _list_filters(errors)
    today = clock.today()
    page = portal.hazard_page(db.session, enterprise.id, filters, today, page_no, ledger=ledger)
    return render_template(
        template, enterprise=enterprise, page=page, filters=filters, errors=errors, today=today,
        statuses=pairs(STATUS_FILTERS), finders=pairs(FINDER_FILTERS), levels=list(HazardLevel),
        query=_query_without_page(),
    ), (400 if errors else 200)  # fmt: skip


def _render_ledger_form(
    hazard: Hazard | None, values: Any, errors: dict[str, str] | None = None, status: int = 200
) -> Any:
    return render_template(
        "portal_ledger_form.html", h=hazard, form=values, errors=errors or {}, labels=portal.LEDGER_LABELS,
        five_in_place=pairs(FIVE_IN_PLACE), levels=list(HazardLevel),
    ), status  # fmt: skip


@bp.route("/ledger/new", methods=["GET", "POST"])
@enterprise_required
def ledger_new() -> Any:
    """Record a hazard found in the enterprise's own check (a self_ledger hazard, 五定 and, if major, 五到位)."""
    enterprise = _enterprise()
    if request.method == "GET":
        now = datetime.now(clock.zone()).strftime("%Y-%m-%dT%H:%M")
        return _render_ledger_form(None, {"found_at": now, "level": HazardLevel.general.value})
    try:
        data = portal.parse_ledger_form(
            request.form, found_on=None, today=clock.today(), now=utcnow(), zone=clock.zone()
        )
        hazard = portal.create_ledger_entry(db.session, current_enterprise_user(), enterprise, data)
    except Problem as refused:
        db.session.rollback()
        return _render_ledger_form(None, request.form, form_errors(refused), refused.status)
    db.session.commit()
    return redirect(url_for("portal.hazard_page", hazard_id=hazard.id, done="created"), 303)


@bp.route("/ledger/<uuid:hazard_id>/edit", methods=["GET", "POST"])
@enterprise_required
def ledger_edit(hazard_id: uuid.UUID) -> Any:
    """Change an entry of the enterprise's own ledger (the check time stays; a deadline only moves later)."""
    enterprise = _enterprise()
    hazard = _hazard(enterprise, hazard_id)
    if hazard.source != HazardSource.self_ledger:
        abort(404)
    if request.method == "GET":
        return _render_ledger_form(hazard, portal.ledger_form_values(hazard, clock.zone()))
    found_on = hazard.found_at.astimezone(clock.zone()).date()
    try:
        data = portal.parse_ledger_form(
            request.form, found_on=found_on, today=clock.today(), now=utcnow(), zone=clock.zone()
        )
        portal.update_ledger_entry(db.session, current_enterprise_user(), hazard, data, utcnow())
    except Problem as refused:
        db.session.rollback()
        hazard = _hazard(enterprise, hazard_id)
        values = {
            **request.form.to_dict(),
            "found_at": portal.ledger_form_values(hazard, clock.zone())["found_at"],
        }
        return _render_ledger_form(hazard, values, form_errors(refused), refused.status)
    db.session.commit()
    return redirect(url_for("portal.hazard_page", hazard_id=hazard_id, done="updated"), 303)


def _act(hazard: Hazard, action: str) -> None:
    """Apply one of the enterprise's actions on a hazard (the caller commits or rolls back)."""
    user, now = current_enterprise_user(), utcnow()
    form = request.form
    if action == "plan":
        portal.plan_rectification(db.session, user, hazard, form.get("measures"), now)
    elif action == "report":
        save = _photo_saver("hazard_event", "photos", "photos")
        portal.report_rectification(db.session, user, hazard, form.get("note"), now, save)
    elif action == "accept":
        portal.accept_own(
            db.session, user, hazard, form.get("acceptor"), form.get("opinion"), now, clock.today()
        )
    else:
        raise portal_action_unknown(value=action)


@bp.route("/hazards/<uuid:hazard_id>", methods=["GET", "POST"])
@enterprise_required
def hazard_page(hazard_id: uuid.UUID) -> Any:
    """One hazard: terms, timeline, photos; plan the rectification, report it done with after-photos, and for a
    general hazard of the own ledger record the enterprise's acceptance."""
    enterprise = _enterprise()
    hazard = _hazard(enterprise, hazard_id)
    errors: dict[str, str] = {}
    status = 200
    action = request.form.get("action", "") if request.method == "POST" else ""
    if request.method == "POST":
        try:
            _act(hazard, action)
        except Problem as refused:
            errors, status = form_errors(refused), refused.status
        else:
            db.session.commit()
            return redirect(url_for("portal.hazard_page", hazard_id=hazard_id, done=action), 303)
        db.session.rollback()
        hazard = _hazard(enterprise, hazard_id)
    view = hazard_views.hazard_view(db.session, hazard, clock.today())
    return render_template(
        "portal_hazard.html", h=hazard, v=view, errors=errors, form=request.form, action=action,
        done=pairs(DONE).get(request.args.get("done", "")), kinds=HazardEventKind, labels=portal.LEDGER_LABELS,
        five_in_place=pairs(FIVE_IN_PLACE), may_accept=portal.may_accept_own(hazard), max_files=MAX_FILES,
    ), status  # fmt: skip


@bp.route("/self-assessment", methods=["GET", "POST"])
@enterprise_required
def self_assessment() -> Any:
    """The self-assessment of one campaign phase (``?phase=<code>``, default: the running one): 符合 / 不符合 /
    不涉及 per applicable key item, with a note and evidence photos; a draft until submitted, then read-only."""
    enterprise = _enterprise()
    today = clock.today()
    campaign = campaigns.campaign_of_enterprise(db.session, enterprise)
    code = request.args.get("phase", "").strip()
    phase = portal.default_phase(campaign, today) if campaign is not None else None
    if campaign is not None and code:
        phase = next((p for p in campaign.phases if p.code == code), None)
        if phase is None:
            abort(404)
    context: dict[str, Any] = {
        "campaign": campaign,
        "phase": phase,
        "today": today,
        "results": {
            value: text for value, text in pairs(SELF_RESULTS).items() if value in portal.SELF_RESULTS
        },
    }
    if campaign is None or phase is None or phase.starts_on > today:
        status = 400 if phase is not None else 200
        return render_template("portal_self_assessment.html", a=None, **context), status
    context["phases"] = portal.begun_phases(campaign, today)
    assessment = portal.load_assessment(db.session, enterprise, campaign, phase, today)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        codes = [i.item.code for i in assessment.items]
        chosen = {c for c in codes if any(f.filename for f in request.files.getlist(f"photos-{c}"))}
        submitting = request.form.get("action") == "submit"
        try:
            answers = portal.parse_assessment_form(
                request.form, codes, submitting=submitting, with_photos=chosen
            )
            portal.save_assessment(
                db.session, current_enterprise_user(), enterprise, campaign, assessment, answers, submit=submitting,
                now=utcnow(), attach_photos=lambda c, result_id: _photo_saver("item_result", f"photos-{c}",
                                                                              f"photos-{c}")(result_id),
            )  # fmt: skip
        except Problem as refused:
            db.session.rollback()
            errors, status = form_errors(refused), refused.status
            assessment = portal.load_assessment(db.session, enterprise, campaign, phase, today)
        else:
            db.session.commit()
            done = "submitted" if submitting else "saved"
            return redirect(url_for("portal.self_assessment", phase=phase.code, done=done), 303)
    values = request.form if errors else _assessment_values(assessment)
    return render_template(
        "portal_self_assessment.html", a=assessment, errors=errors, form=values, done=request.args.get("done"),
        max_files=MAX_FILES, **context,
    ), status  # fmt: skip


def _assessment_values(assessment: portal.Assessment) -> dict[str, str]:
    """The stored answers as the form's field values."""
    values: dict[str, str] = {}
    for entry in assessment.items:
        if entry.result is not None:
            values[f"result-{entry.item.code}"] = entry.result.result.value
            values[f"note-{entry.item.code}"] = entry.result.note or ""
    return values

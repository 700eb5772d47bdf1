"""The supervisor's pages: dashboard, hazard ledger and hazard page, enterprise list and enterprise page."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for

from server import clock
from server.caches import clearance_cache, contribution_cache, dashboard_cache, trends_cache
from server.domain import hazards as rules
from server.domain.hazards import HazardEventKind, HazardLevel, HazardState
from server.domain.sectors import Sector
from server.errors import (
    deadline_invalid,
    filter_date_invalid,
    filter_invalid,
    page_number_invalid,
    phase_unknown,
)
from server.extensions import db
from server.i18n import tr
from server.models import Hazard, HazardSource, Region
from server.services import hazard_views, oversight, submissions, trends
from server.services.hazards import supervise
from server.services.scope import visible_hazards, visible_region_ids
from server.web import charts
from server.web.access import current_supervisor, supervisor_required
from server.web.forms import tr_problem
from server.web.labels import pairs
from sync.problems import Problem

bp = Blueprint("supervise", __name__)

#: 五到位 as the pages label it (the domain's list).
#: The levels a major hazard may be listed at for supervision (the Chinese name is what is stored).
SUPERVISION_LEVELS = (("省级", "Provincial"), ("市级", "City"), ("县级", "County"))


def _enum_arg(name: str, enum: Any, label: str) -> Any:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return enum(raw)
    except ValueError:
        raise filter_invalid(label=label, label_en=name, value=raw) from None


def _int_arg(name: str, default: int | None = None) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise page_number_invalid(name=name, value=raw)
    return int(raw)


def _flag(name: str) -> bool:
    return request.args.get(name, "") in ("1", "true", "on")


def _parse(parsers: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    """Run each filter parser, collecting its problem in the reader's language instead of failing (the list
    still shows, unfiltered by it)."""
    values: dict[str, Any] = {}
    for key, parse in parsers.items():
        try:
            values[key] = parse()
        except Problem as error:
            errors.append(tr_problem(error))
    return values


@bp.route("/dashboard")
@supervisor_required
def dashboard() -> Any:
    """Coverage, 清零 by sector, hazards by level and state, overdue, 挂牌督办, devices, quarantine."""
    user = current_supervisor()
    zone = clock.zone()
    figures = oversight.dashboard(
        db.session, user, clock.today(zone), zone, clearance_cache(), dashboard_cache(), contribution_cache()
    )

    def verdicts() -> Any:
        return oversight.scope_clearances(db.session, user, figures.today, clearance_cache()).values()

    def all_verdicts() -> Any:
        return oversight.all_clearances(db.session, figures.today, clearance_cache())

    trend = trends.trends(
        db.session, user, figures.campaign, figures.today, zone, verdicts, trends_cache(), contribution_cache(),
        all_verdicts,
    )  # fmt: skip
    return render_template(
        "dashboard.html",
        d=figures,
        trend=trend,
        charts=charts.dashboard_charts(trend),
        sector_name=charts.sector_name,
        levels=list(HazardLevel),
        states=list(HazardState),
        now=clock.day_start(figures.today, zone),
        overdue_submissions=submissions.overdue_count(
            db.session, user, figures.campaign, figures.today, zone
        ),
    )


@bp.route("/hazards")
@supervisor_required
def hazard_list() -> Any:
    """The hazard ledger in scope, filtered and paged."""
    user = current_supervisor()
    errors: list[str] = []
    args = _parse(
        {
            "enterprise_id": lambda: _uuid_arg("enterprise"),
            "sector": lambda: _enum_arg("sector", Sector, "行业"),
            "level": lambda: _enum_arg("level", HazardLevel, "隐患等级"),
            "state": lambda: _enum_arg("state", HazardState, "隐患状态"),
            "source": lambda: _enum_arg("source", HazardSource, "来源"),
            "found_from": lambda: _date_arg("found_from", "发现日期起"),
            "found_to": lambda: _date_arg("found_to", "发现日期止"),
            "page": lambda: _int_arg("page", 1),
        },
        errors,
    )
    filters = oversight.HazardFilters(
        enterprise_id=args.get("enterprise_id"), q=request.args.get("q", "").strip() or None, sector=args.get("sector"),
        level=args.get("level"), state=args.get("state"), source=args.get("source"), overdue=_flag("overdue"),
        listed=_flag("listed"), open_only=_flag("open"), stop_production=_flag("stop"),
        found_from=args.get("found_from"), found_to=args.get("found_to"), counted=_flag("counted"),
    )  # fmt: skip
    zone = clock.zone()
    today = clock.today(zone)
    page = oversight.hazard_list(db.session, user, filters, today, zone, args.get("page") or 1)
    return render_template(
        "hazards.html", page=page, filters=filters, errors=errors, today=today, sectors=list(Sector),
        levels=list(HazardLevel), states=list(HazardState), sources=list(HazardSource), query=_query_without_page(),
    ), (400 if errors else 200)  # fmt: skip


def _date_arg(name: str, label: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise filter_date_invalid(label=label, label_en=name, value=raw) from None


def _uuid_arg(name: str) -> uuid.UUID | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise filter_invalid(label="编号", label_en=name, value=raw) from None


def _query_without_page() -> str:
    """The current filters as a query string, for the pager's links."""
    from urllib.parse import urlencode

    return urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "page"])


def _visible_hazard(hazard_id: uuid.UUID) -> Hazard:
    hazard = db.session.scalar(
        visible_hazards(db.session, current_supervisor()).where(Hazard.id == hazard_id)
    )
    if hazard is None:
        abort(404)
    return hazard


@bp.route("/hazards/<uuid:hazard_id>", methods=["GET", "POST"])
@supervisor_required
def hazard_page(hazard_id: uuid.UUID) -> Any:
    """One hazard: its terms, timeline and photos; POST applies a supervisor's action."""
    user = current_supervisor()
    hazard = _visible_hazard(hazard_id)
    error, status = None, 200
    form: dict[str, str] = {}
    if request.method == "POST":
        form = {
            k: request.form.get(k, "")
            for k in (
                "action",
                "comment",
                "deadline",
                "supervision_level",
                "supervision_no",
                "completed_by",
                "waiver",
            )
        }
        try:
            deadline = _form_date(form["deadline"])
            supervise(
                db.session, hazard, user, form["action"], comment=form["comment"], deadline=deadline,
                supervision_level=form["supervision_level"], supervision_no=form["supervision_no"],
                completed_by=form["completed_by"], waiver=form["waiver"],
            )  # fmt: skip
        except Problem as problem:
            db.session.rollback()
            error, status = tr_problem(problem), problem.status
            hazard = _visible_hazard(hazard_id)
        else:
            db.session.commit()
            return redirect(url_for("supervise.hazard_page", hazard_id=hazard.id, done=form["action"]))
    view = hazard_views.hazard_view(db.session, hazard, clock.today())
    return render_template(
        "hazard.html", h=hazard, v=view, error=error, form=form, done=request.args.get("done"),
        five_in_place=pairs(rules.FIVE_IN_PLACE), supervision_levels=SUPERVISION_LEVELS, kinds=HazardEventKind, min_waiver=rules.MIN_WAIVER_CHARS,
        missing_five=rules.five_in_place_missing(hazard.level, hazard.five_in_place),
    ), status  # fmt: skip


def _form_date(raw: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise deadline_invalid(value=raw) from None


@bp.route("/enterprises")
@supervisor_required
def enterprise_list() -> Any:
    """Enterprises in scope with their 清零 state, filtered and paged."""
    user = current_supervisor()
    errors: list[str] = []
    today = clock.today()
    campaign = oversight.campaign_for(db.session, user)
    phases = {p.code: p for p in campaign.phases} if campaign else {}
    args = _parse(
        {
            "sector": lambda: _enum_arg("sector", Sector, "行业"),
            "region": lambda: _int_arg("region"),
            "page": lambda: _int_arg("page", 1),
        },
        errors,
    )
    inspected_between = None
    phase_code = request.args.get("phase", "").strip()
    if phase_code:
        phase = phases.get(phase_code)
        if phase is None:
            errors.append(tr_problem(phase_unknown(value=phase_code)))
        else:
            inspected_between = (phase.starts_on, phase.ends_on, request.args.get("inspected", "1") != "0")
    cleared_arg = request.args.get("cleared", "")
    filters = oversight.EnterpriseFilters(
        q=request.args.get("q", "").strip() or None, sector=args.get("sector"), region_id=args.get("region"),
        inspected_between=inspected_between,
        cleared=None if cleared_arg in ("", "pending") else cleared_arg == "1", pending=cleared_arg == "pending",
    )  # fmt: skip
    page = oversight.enterprise_list(
        db.session, user, filters, today, args.get("page") or 1, clearance_cache(), clock.zone()
    )
    regions = visible_region_ids(db.session, user)
    region_query = sa.select(Region).order_by(Region.code)
    if regions is not None:
        region_query = region_query.where(Region.id.in_(regions))
    return render_template(
        "enterprises.html", page=page, filters=filters, errors=errors, sectors=list(Sector), phases=phases,
        phase_code=phase_code, regions=db.session.scalars(region_query).all(), query=_query_without_page(),
    ), (400 if errors else 200)  # fmt: skip


@bp.route("/enterprises/<uuid:enterprise_id>")
@supervisor_required
def enterprise_page(enterprise_id: uuid.UUID) -> Any:
    """One enterprise: profile, location, inspections, hazards and 清零 per key item."""
    user = current_supervisor()
    view = hazard_views.enterprise_view(db.session, user, enterprise_id, clock.today())
    if view is None:
        abort(404)
    from server.web.map import map_context, with_map_policy

    html = render_template(
        "enterprise.html", v=view, e=view.enterprise, states=HazardState, **map_context(enterprise_id)
    )
    return with_map_policy(html)


def register_filters(app: Any) -> None:
    """Template filters the supervisor's pages use."""

    @app.template_filter("local")
    def _local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return "—"
        return clock.local_text(value, clock.zone(), fmt)

    @app.template_filter("yesno")
    def _yesno(value: bool | None) -> str:
        return "—" if value is None else (tr("是", "Yes") if value else tr("否", "No"))

    @app.template_filter("allowed")
    def _allowed(status: rules.HazardStatus | None) -> frozenset[HazardEventKind]:
        return rules.allowed_events(status)

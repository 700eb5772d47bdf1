"""The supervisor's pages: dashboard, hazard ledger and hazard page, enterprise list and enterprise page."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from server import clock
from server.domain import hazards as rules
from server.domain.hazards import HazardEventKind, HazardLevel, HazardState
from server.domain.sectors import Sector
from server.extensions import db
from server.models import Hazard, HazardSource, Region
from server.services import hazard_views, oversight, submissions, trends
from server.services.hazards import supervise
from server.services.scope import visible_hazards, visible_region_ids
from server.web import charts
from server.web.access import current_supervisor, supervisor_required
from sync.problems import Problem

bp = Blueprint("supervise", __name__)

#: 五到位 as the pages label it (the domain's list).
FIVE_IN_PLACE_ZH = {key: zh for key, (zh, _en) in rules.FIVE_IN_PLACE.items()}


def clearance_cache() -> oversight.ClearanceCache:
    """This app's cache of 清零 verdicts (stamped with the change counter, so never stale)."""
    return current_app.extensions.setdefault("clearance_cache", oversight.ClearanceCache())


def trends_cache() -> trends.TrendsCache:
    """This app's cache of the dashboard's weekly trends (stamped with the change counter, so never stale)."""
    return current_app.extensions.setdefault("trends_cache", trends.TrendsCache())


def warm_clearance_cache(app: Any) -> None:
    """Decide every enterprise's 清零 once, so that the first dashboard after a (re)start is not the one
    that pays for it; run by gunicorn in a thread as each worker starts (deploy/gunicorn.conf.py)."""
    with app.app_context():
        try:
            oversight.all_clearances(db.session, clock.today(), clearance_cache())
        except Exception:  # a cold cache is only slower: never let warming take a worker down
            current_app.logger.exception("warming the 清零 cache failed")
        finally:
            db.session.remove()


class FilterError(ValueError):
    """A query-string filter that cannot be understood; shown to the user, the filter ignored."""


def _enum_arg(name: str, enum: Any, label: str) -> Any:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return enum(raw)
    except ValueError:
        raise FilterError(f"{label}“{raw}”无效 / invalid {name}") from None


def _int_arg(name: str, default: int | None = None) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise FilterError(f"参数 {name}“{raw}”应为正整数 / {name} must be a positive integer")
    return int(raw)


def _flag(name: str) -> bool:
    return request.args.get(name, "") in ("1", "true", "on")


def _parse(parsers: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    """Run each filter parser, collecting errors instead of failing (the list still shows, unfiltered by it)."""
    values: dict[str, Any] = {}
    for key, parse in parsers.items():
        try:
            values[key] = parse()
        except FilterError as error:
            errors.append(str(error))
    return values


@bp.route("/dashboard")
@supervisor_required
def dashboard() -> Any:
    """Coverage, 清零 by sector, hazards by level and state, overdue, 挂牌督办, devices, quarantine."""
    user = current_supervisor()
    zone = clock.zone()
    figures = oversight.dashboard(db.session, user, clock.today(zone), zone, clearance_cache())
    verdicts = oversight.scope_clearances(db.session, user, figures.today, clearance_cache()).values()
    trend = trends.trends(db.session, user, figures.campaign, figures.today, zone, verdicts, trends_cache())
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
            db.session, user, oversight.campaign_for(db.session, user), figures.today, zone
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
        raise FilterError(f"{label}“{raw}”无效，应为 YYYY-MM-DD / {name} must be YYYY-MM-DD") from None


def _uuid_arg(name: str) -> uuid.UUID | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise FilterError(f"编号“{raw}”无效 / invalid {name}") from None


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
    error = None
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
            error = problem.message("zh")
            hazard = _visible_hazard(hazard_id)
        else:
            db.session.commit()
            return redirect(url_for("supervise.hazard_page", hazard_id=hazard.id, done=form["action"]))
    view = hazard_views.hazard_view(db.session, hazard, clock.today())
    status = 200 if error is None else 409 if "状态" in error else 400
    return render_template(
        "hazard.html", h=hazard, v=view, error=error, form=form, done=request.args.get("done"),
        five_in_place=FIVE_IN_PLACE_ZH, kinds=HazardEventKind, min_waiver=rules.MIN_WAIVER_CHARS,
        missing_five=rules.five_in_place_missing(hazard.level, hazard.five_in_place),
    ), status  # fmt: skip


def _form_date(raw: str) -> date | None:
    from sync.problems import invalid_fields

    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid_fields(fields=f"deadline: 日期“{raw}”无效，应为 YYYY-MM-DD / not a date") from None


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
            errors.append(f"阶段“{phase_code}”不存在 / unknown phase")
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
        return "—" if value is None else ("是" if value else "否")

    @app.template_filter("allowed")
    def _allowed(status: rules.HazardStatus | None) -> frozenset[HazardEventKind]:
        return rules.allowed_events(status)

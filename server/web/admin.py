"""The admin's pages for a first install and the account chores: regions, campaigns with their phases, users
(add, disable, enable, reset a password). Each form calls the same services as the command line
(server.services.administration, server.services.users), so the rules live once; each change is audited with
the admin as its actor, and every refusal is a catalogue problem shown in the reader's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from server import security
from server.domain.roles import Role
from server.errors import (
    FormProblems,
    Problem,
    enterprise_code_unknown,
    field_choice_invalid,
    field_date_invalid,
    field_whole_number,
    refuse_fields,
    region_code_unknown,
    role_unknown,
)
from server.extensions import db
from server.models import Campaign, Enterprise, Region, RegionLevel, User
from server.services import administration, audit, users
from server.web.forms import form_errors

bp = Blueprint("admin", __name__)

F = TypeVar("F", bound=Callable[..., Any])


def admin_only(view: F) -> F:
    """Signed in (else the login page) and an admin: 403 for the bureau's other staff, who know these pages
    exist; 404 for an enterprise, to whom no staff page is revealed (as supervisor_required does)."""

    @security.login_required
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.user.role == Role.enterprise:
            abort(404)
        if g.user.role != Role.admin:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _no_store(html: str, status: int = 200) -> tuple[str, int, dict[str, str]]:
    """A page that may show a one-time password: never kept by the browser or a proxy."""
    return html, status, {"Cache-Control": "no-store"}


@bp.route("/admin")
@admin_only
def index() -> Any:
    """What an admin sets up and looks after, with the figures of each."""
    counts = {
        "regions": db.session.scalar(sa.select(sa.func.count()).select_from(Region)) or 0,
        "campaigns": db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) or 0,
        "users": db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0,
    }
    return render_template("admin_index.html", counts=counts)


# --- regions ---------------------------------------------------------------------------------------------------


def _regions() -> list[Region]:
    return list(db.session.scalars(sa.select(Region).order_by(Region.code)))


@bp.route("/admin/regions", methods=["GET", "POST"])
@admin_only
def regions() -> Any:
    """Every region; POST adds one under its parent (a city has none, a county sits in a city, a zone in a county)."""
    errors: dict[str, str] = {}
    form = {key: request.form.get(key, "") for key in ("code", "name", "level", "parent", "authority")}
    status = 200
    if request.method == "POST":
        try:
            level = RegionLevel(form["level"])
        except ValueError:
            level = None
        try:
            if level is None:
                raise FormProblems(
                    {"level": field_choice_invalid(label="级别", label_en="The level", value=form["level"])}
                )
            region = administration.create_region(
                db.session, code=form["code"], name=form["name"], level=level, parent_code=form["parent"] or None,
                authority=form["authority"], actor=g.user,
            )  # fmt: skip
        except Problem as refused:
            db.session.rollback()
            errors, status = form_errors(refused), refused.status
        else:
            db.session.commit()
            return redirect(url_for("admin.regions", added=region.code), 303)
    return render_template(
        "admin_regions.html", regions=_regions(), levels=list(RegionLevel), form=form, errors=errors,
        added=request.args.get("added"),
    ), status  # fmt: skip


# --- campaigns -------------------------------------------------------------------------------------------------


def _phase_plans(form: dict[str, str]) -> list[administration.PhasePlan]:
    """The phases the form gives dates for, in the campaign's order; FormProblems for a date that is not one."""
    plans: list[administration.PhasePlan] = []
    problems: dict[str, Problem] = {}
    for code, name in administration.PHASE_NAMES.items():
        raw_start, raw_end = (
            form.get(f"{code}_starts_on", "").strip(),
            form.get(f"{code}_ends_on", "").strip(),
        )
        if not raw_start and not raw_end:
            continue
        days: list[date] = []
        for key, raw, label_en in (
            (f"{code}_starts_on", raw_start, "start"),
            (f"{code}_ends_on", raw_end, "end"),
        ):
            try:
                days.append(date.fromisoformat(raw))
            except ValueError:
                problems[key] = field_date_invalid(label=name, label_en=f"The {code} {label_en}", value=raw)
        if len(days) == 2:
            plans.append(administration.PhasePlan(code, days[0], days[1]))
    refuse_fields(problems)
    return plans


@bp.route("/admin/campaigns/new", methods=["GET", "POST"])
@admin_only
def campaign_new() -> Any:
    """The campaigns, and a form to add one with its phases (each phase given by its start and end dates)."""
    errors: dict[str, str] = {}
    status = 200
    form = request.form.to_dict() if request.method == "POST" else {"sampling_percent": "10"}
    if request.method == "POST":
        try:
            raw_percent = form.get("sampling_percent", "").strip()
            if not raw_percent.isdigit():
                raise FormProblems({"sampling_percent": field_whole_number(
                    label="抽查比例", label_en="The sampling share", value=raw_percent)})  # fmt: skip
            campaign = administration.create_campaign(
                db.session, code=form.get("code", ""), name=form.get("name", ""),
                region_code=form.get("region", ""), sampling_percent=int(raw_percent),
                phases=_phase_plans(form), actor=g.user,
            )  # fmt: skip
        except Problem as refused:
            db.session.rollback()
            errors, status = form_errors(refused), refused.status
        else:
            db.session.commit()
            return redirect(url_for("admin.campaign_new", added=campaign.code), 303)
    campaigns = list(
        db.session.scalars(sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc()))
    )
    return render_template(
        "admin_campaign_new.html", campaigns=campaigns, regions=_regions(), phase_names=administration.PHASE_NAMES,
        form=form, errors=errors, added=request.args.get("added"),
    ), status  # fmt: skip


# --- users -----------------------------------------------------------------------------------------------------


def _new_password(form: dict[str, str]) -> tuple[str, bool]:
    """The password the admin typed, or a generated one (shown once); True when generated."""
    if form.get("password_mode", "generate") == "set":
        return form.get("password", ""), False
    return users.generate_password(), True


@bp.route("/admin/users", methods=["GET", "POST"])
@admin_only
def user_list() -> Any:
    """Every account with its role, scope and state; POST adds one (with a generated or a typed password)."""
    errors: dict[str, str] = {}
    status = 200
    shown_password: tuple[str, str] | None = None
    form = request.form.to_dict() if request.method == "POST" else {"password_mode": "generate"}
    if request.method == "POST":
        try:
            user, password, generated = _create_user(form)
        except Problem as refused:
            db.session.rollback()
            errors, status = form_errors(refused), refused.status
        else:
            db.session.commit()
            form = {"password_mode": "generate"}
            if generated:
                shown_password = (user.username, password)
            else:
                return redirect(url_for("admin.user_list", added=user.username), 303)
    accounts = list(db.session.scalars(sa.select(User).order_by(User.role, User.username)))
    html = render_template(
        "admin_users.html", accounts=accounts, roles=list(Role), regions=_regions(), form=form, errors=errors,
        shown_password=shown_password, added=request.args.get("added"), done=request.args.get("done"),
        who=request.args.get("who"), min_chars=users.MIN_PASSWORD_CHARS,
    )  # fmt: skip
    return _no_store(html, status)


def _create_user(form: dict[str, str]) -> tuple[User, str, bool]:
    """Create the account the form describes (audited as ``user.create``); the password and whether it was made."""
    try:
        role = Role(form.get("role", ""))
    except ValueError:
        raise FormProblems({"role": role_unknown(value=form.get("role", ""))}) from None
    region = enterprise = None
    if code := form.get("region", "").strip():
        region = db.session.scalar(sa.select(Region).where(Region.code == code))
        if region is None:
            raise FormProblems({"region": region_code_unknown(code=code)})
    if credit_code := form.get("enterprise", "").strip():
        enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == credit_code))
        if enterprise is None:
            raise FormProblems({"enterprise": enterprise_code_unknown(value=credit_code)})
    password, generated = _new_password(form)
    user = users.create_user(
        db.session, username=form.get("username", ""), password=password, display_name=form.get("display_name", ""),
        role=role, region=region, enterprise=enterprise, badge_no=form.get("badge_no", "").strip() or None,
    )  # fmt: skip
    audit.record(db.session, g.user, "user.create", "user", user.id, {
        "username": user.username, "role": role.value, "region_id": user.region_id,
        "enterprise_id": str(user.enterprise_id) if user.enterprise_id else None, "password_generated": generated,
    })  # fmt: skip
    return user, password, generated


def _account(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/admin/users/<int:user_id>/active", methods=["POST"])
@admin_only
def user_active(user_id: int) -> Any:
    """Disable an account (its sessions and tablets stop working at once) or enable it again."""
    user = _account(user_id)
    active = request.form.get("active") == "1"
    try:
        administration.set_active(db.session, user.username, active, actor=g.user)
    except Problem as refused:
        db.session.rollback()
        return _users_with_error(refused)
    db.session.commit()
    return redirect(
        url_for("admin.user_list", done="enabled" if active else "disabled", who=user.username), 303
    )


@bp.route("/admin/users/<int:user_id>/password", methods=["GET", "POST"])
@admin_only
def user_password(user_id: int) -> Any:
    """Reset an account's password: a generated one shown once, or one the admin types (strong enough)."""
    user = _account(user_id)
    errors: dict[str, str] = {}
    status = 200
    shown: str | None = None
    form = request.form.to_dict() if request.method == "POST" else {"password_mode": "generate"}
    if request.method == "POST":
        password, generated = _new_password(form)
        try:
            administration.reset_password(db.session, user.username, password, actor=g.user)
        except Problem as refused:
            db.session.rollback()
            errors, status = form_errors(refused), refused.status
        else:
            db.session.commit()
            if not generated:
                return redirect(url_for("admin.user_list", done="password", who=user.username), 303)
            shown = password
    html = render_template("admin_password.html", account=user, form=form, errors=errors, shown=shown,
                           min_chars=users.MIN_PASSWORD_CHARS)  # fmt: skip
    return _no_store(html, status)


def _users_with_error(refused: Problem) -> Any:
    """The user list again, with the refusal on top."""
    accounts = list(db.session.scalars(sa.select(User).order_by(User.role, User.username)))
    html = render_template(
        "admin_users.html", accounts=accounts, roles=list(Role), regions=_regions(), form={"password_mode": "generate"},
        errors=form_errors(refused), shown_password=None, added=None, done=None, who=None,
        min_chars=users.MIN_PASSWORD_CHARS,
    )  # fmt: skip
    return _no_store(html, refused.status)

"""Sign-in, sign-out, home, and the page a phone's camera opens from an enterprise QR code."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from server import security
from server.extensions import db
from server.models import Quarantine
from server.services import qr, throttle
from server.services.quarantine import reapply
from server.services.users import sign_in
from server.web.forms import tr_problem
from sync.problems import Problem

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
)


def _safe_next(target: str | None) -> str:
    """Only redirect within this site after sign-in (no open redirect)."""
    if not target:
        return url_for("web.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form."""
    error = None
    status = 200
    if request.method == "POST":
        try:
            user = sign_in(db.session, request.form.get("username", "")[:64], request.form.get("password", "")[:256],
                           address=request.remote_addr or "", limits=throttle.limits_from(current_app.config))  # fmt: skip
        except Problem as problem:
            error = tr_problem(problem)
            status = problem.status
        else:
            db.session.commit()
            security.login_session(user)
            return redirect(_safe_next(request.args.get("next")))
    status = status if error else 200
    return render_template("login.html", error=error, next=request.args.get("next", "")), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """Sign out (POST with the CSRF token, so a foreign page cannot sign anyone out)."""
    security.logout_session()
    return redirect(url_for("web.login"))


@bp.route("/")
@security.login_required
def home() -> Any:
    """The signed-in user's start page."""
    return render_template("home.html", user=g.user)


@bp.route("/q/<path:rest>")
def qr_landing(rest: str) -> Any:
    """What a phone's ordinary camera shows for an enterprise QR code: which enterprise, and whether
    the code is genuine and current. Public: it reveals only what the poster at the gate already says."""
    enterprise = None
    error = None
    try:
        resolved = qr.resolve(db.session, request.path)
        enterprise = resolved.enterprise
    except Problem as problem:
        error = problem
    status = 200 if enterprise is not None else (error.status if error else 404)
    return render_template("qr_landing.html", enterprise=enterprise, error=error), status


def _admin() -> Any:
    """The signed-in admin; anyone else is told the page does not exist (scope is never revealed)."""
    from server.domain.roles import Role

    if g.get("user") is None or g.user.role != Role.admin:
        abort(404)
    return g.user


@bp.route("/quarantine")
@security.login_required
def quarantine_list() -> Any:
    """Sync mutations that were refused, newest first (admin)."""
    _admin()
    rows = db.session.scalars(sa.select(Quarantine).order_by(Quarantine.id.desc()).limit(500)).all()
    return render_template("quarantine.html", rows=rows, row=None)


@bp.route("/quarantine/<int:row_id>", methods=["GET", "POST"])
@security.login_required
def quarantine_detail(row_id: int) -> Any:
    """One refused mutation, kept whole: its reason and content; the admin may correct and apply it."""
    admin = _admin()
    row = db.session.get(Quarantine, row_id)
    if row is None:
        abort(404)
    error = None
    data_text = json.dumps(row.payload.get("data", {}), ensure_ascii=False, indent=2)
    if request.method == "POST":
        data_text = request.form.get("data", "")
        try:
            reapply(db.session, current_app.extensions["sync"].registry, row, data_text, admin)
        except Problem as problem:
            db.session.rollback()
            error = tr_problem(problem)
        else:
            db.session.commit()
            return redirect(url_for("web.quarantine_detail", row_id=row.id))
    payload = json.dumps(row.payload, ensure_ascii=False, indent=2)
    return render_template(
        "quarantine.html", rows=None, row=row, payload=payload, data_text=data_text, error=error
    )

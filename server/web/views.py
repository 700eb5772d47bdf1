"""Sign-in, sign-out, home, and the page a phone's camera opens from an enterprise QR code."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, render_template, request, url_for

from server import security
from server.extensions import db
from server.services import qr
from server.services.users import authenticate
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
    if request.method == "POST":
        try:
            user = authenticate(
                db.session, request.form.get("username", ""), request.form.get("password", "")
            )
        except Problem as problem:
            error = problem.message("zh")
        else:
            db.session.commit()
            security.login_session(user.id)
            return redirect(_safe_next(request.args.get("next")))
    status = 401 if error else 200
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

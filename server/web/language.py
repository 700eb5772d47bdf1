"""The language switch in every page's header (中文 | English): a signed-in user's choice is kept on the user,
a visitor's in a cookie, so the choice survives signing out and in again."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, redirect, request, url_for

from server import i18n
from server.extensions import db

bp = Blueprint("language", __name__)

#: A year: the choice is a preference, not a secret.
COOKIE_AGE = 365 * 24 * 3600


def _back(target: str | None, referrer: str | None) -> str:
    """Where to go after the switch: ``next`` if given, else the page the switch was used on (the Referer), both
    on this site only; else the home page. The page does not echo its own address into the form (a 404 page
    must not repeat the id it was asked for)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    if referrer:
        parts = urlsplit(referrer)
        if parts.netloc == request.host and parts.path.startswith("/") and not parts.path.startswith("//"):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return url_for("web.home")


@bp.route("/language", methods=["POST"])
def choose() -> Any:
    """Set the reader's language (form field ``lang``: zh or en) and go back to the page it was chosen on."""
    chosen = i18n.normalise(request.form.get("lang"))
    if chosen is None:
        abort(400)
    user = g.get("user")
    if user is not None:
        user.language = chosen
        db.session.commit()
    response = redirect(_back(request.form.get("next"), request.referrer))
    response.set_cookie(i18n.COOKIE, chosen, max_age=COOKIE_AGE, samesite="Lax", httponly=True,
                        secure=request.is_secure)  # fmt: skip
    return response

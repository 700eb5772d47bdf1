"""Sign-in and sign-out for the API (session cookie + CSRF token)."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from flask_smorest import Blueprint

from server import security
from server.api.access import signed_in
from server.api.schemas import LoginSchema, PasswordChangeSchema, ProblemSchema, SessionSchema, UserSchema
from server.extensions import db
from server.services import throttle
from server.services.users import change_password, sign_in
from sync import problems

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Sign-in / 登录")


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(200, SessionSchema)
@blp.alt_response(401, schema=ProblemSchema)
@security.csrf_exempt
def login(credentials: dict[str, str]) -> dict[str, Any]:
    """Sign in with user name and password; starts a session and returns its CSRF token."""
    if not request.is_json:
        # JSON only: a foreign page cannot post JSON here without a CORS preflight we never grant.
        raise problems.invalid_json()
    user = sign_in(db.session, credentials["username"], credentials["password"], address=request.remote_addr or "",
                   limits=throttle.limits_from(current_app.config))  # fmt: skip
    db.session.commit()
    security.login_session(user)
    return {"user": user, "csrf_token": security.csrf_token()}


@blp.route("/logout", methods=["POST"])
@blp.response(204)
def logout() -> None:
    """End the session."""
    security.logout_session()


@blp.route("/password", methods=["POST"])
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@blp.alt_response(400, schema=ProblemSchema)
@blp.alt_response(401, schema=ProblemSchema)
@signed_in
def password(payload: dict[str, str]) -> None:
    """Change the signed-in user's password; every other session of the user ends."""
    change_password(db.session, g.user, payload["current_password"], payload["new_password"],
                    keep_session=security.current_session_id())  # fmt: skip
    db.session.commit()


@blp.route("/me", methods=["GET"])
@blp.response(200, SessionSchema)
@blp.alt_response(401, schema=ProblemSchema)
@signed_in
def me() -> dict[str, Any]:
    """The signed-in user and the session's CSRF token."""
    return {"user": g.user, "csrf_token": security.csrf_token()}


__all__ = ["UserSchema", "blp"]

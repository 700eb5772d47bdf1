"""Who is asking, per request: sessions, bearer devices and CSRF (the hashes behind them: server/credentials.py)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, g, request, session

from server import credentials
from server.errors import csrf_failed
from server.extensions import db
from server.models import Device
from server.models.base import utcnow
from server.services import sessions
from server.services.devices import device_for_token
from server.services.users import active_user_by_id
from sync import problems

F = TypeVar("F", bound=Callable[..., Any])

CSRF_SESSION_KEY = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return cast(str, token)


def csrf_exempt(view: F) -> F:
    """Mark a view that authenticates by bearer token only, so a session's CSRF check does not apply."""
    view._csrf_exempt = True  # type: ignore[attr-defined]
    return view


def _check_csrf() -> None:
    """Refuse unsafe requests riding on a session cookie unless they carry the session's token."""
    if request.method in SAFE_METHODS:
        return
    view = request.endpoint and request.url_rule and _view_function()
    if view is not None and getattr(view, "_csrf_exempt", False):
        return
    if request.headers.get("Authorization", "").startswith("Bearer "):
        # Bearer requests carry no ambient credential a foreign page could borrow.
        return
    if request.path.startswith("/api/") and "user_id" not in session:
        # No signed-in session to ride on: the endpoint's own auth check answers (401).
        return
    expected = session.get(CSRF_SESSION_KEY)
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FORM_FIELD)
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        raise csrf_failed()


def _has_nul(value: Any) -> bool:
    """True when a NUL character hides anywhere in a parsed JSON value (PostgreSQL can store none)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _json_may_hold_nul(body: bytes) -> bool:
    """False only when the decoded JSON of ``body`` cannot hold a NUL: UTF-8 JSON writes one as the escape
    \\u0000 (a raw NUL byte is refused by the decoder), and other encodings hold NUL bytes anyway."""
    return b"\\u0000" in body or b"\x00" in body


def refuse_nul_characters() -> None:
    """Refuse any request whose query, form or JSON text holds a NUL character: it is never valid text, and one
    reaching PostgreSQL would fail the request with a 500 instead of a clear 400."""
    texts = [*request.args.values(), *request.form.values()]
    # The raw scan spares decoding (and walking) a push's body twice when no NUL can be in it: the usual case.
    may_hold_nul = request.is_json and _json_may_hold_nul(request.get_data(cache=True))
    if any("\x00" in text for text in texts) or (may_hold_nul and _has_nul(request.get_json(silent=True))):
        raise problems.invalid_fields(
            fields="a NUL character (U+0000) is not allowed in text / 文字中不能含空字符"
        )


def _view_function() -> Any:
    from flask import current_app

    return current_app.view_functions.get(request.endpoint or "")


SESSION_ID_KEY = "sid"


def login_session(user: Any) -> None:
    """Start a fresh session for ``user``, recorded server-side (a new session id defeats session fixation)."""
    from flask import current_app

    session.clear()
    token = sessions.start(db.session, user, address=request.remote_addr, user_agent=request.headers.get("User-Agent"),
                           lifetime=current_app.permanent_session_lifetime)  # fmt: skip
    db.session.commit()
    session["user_id"] = user.id
    session[SESSION_ID_KEY] = token
    session.permanent = True
    csrf_token()


def current_session_id() -> object:
    """The id of the request's server-side session (None when signed out)."""
    return session.get(SESSION_ID_KEY)


def logout_session() -> None:
    """End the session, server-side too: a copy of the cookie is worthless afterwards."""
    sessions.end(db.session, session.get(SESSION_ID_KEY))
    db.session.commit()
    session.clear()


def bearer_device(*, allow_revoked: bool = False, with_scope_stamp: bool = False) -> Device:
    """The device behind the request's bearer token (401 when there is none, or it is revoked unless
    ``allow_revoked``: sync then keeps what it pushes in quarantine); ``with_scope_stamp``: see
    ``device_for_token``."""
    device = g.get("device")
    if device is not None:
        return cast(Device, device)
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise problems.unauthenticated()
    token = header.removeprefix("Bearer ").strip()
    device = device_for_token(
        db.session, token, allow_revoked=allow_revoked, with_scope_stamp=with_scope_stamp
    )
    now = utcnow()
    # Refreshed at most once a minute, so that reads (pulls) do not each become a write.
    if device.last_seen_at is None or now - device.last_seen_at > LAST_SEEN_RESOLUTION:
        device.last_seen_at = now
    if device.revoked_at is None:
        g.device = device  # a revoked device is never remembered as the request's caller
    return device


def login_required(view: F) -> F:
    """Require a signed-in user (session); JSON 401 for the API, redirect to the login page otherwise."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            if request.path.startswith("/api/"):
                raise problems.unauthenticated()
            from flask import redirect, url_for

            return redirect(url_for("web.login", next=request.full_path))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def init_app(app: Flask) -> None:
    """Load the signed-in user for each request, check CSRF, and expose the token to templates."""
    credentials.init_app(app)

    @app.before_request
    def _load_user() -> None:
        user_id = session.get("user_id")
        g.user = active_user_by_id(db.session, user_id) if user_id is not None else None
        if g.user is not None and not sessions.is_live(
            db.session, g.user.id, session.get(SESSION_ID_KEY), app.permanent_session_lifetime
        ):
            g.user = None  # signed out elsewhere, a new password, or revoked: the cookie no longer counts
        if user_id is not None and g.user is None:
            session.clear()
        _check_csrf()
        refuse_nul_characters()

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        return {"csrf_token": csrf_token, "current_user": g.get("user")}

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault(
            "Content-Security-Policy",
            # 'wasm-unsafe-eval' lets the app compile its own QR decoder (WebAssembly) and nothing else.
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "
            "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        personal = g.get("user") is not None or request.headers.get("Authorization", "").startswith("Bearer ")
        if personal or response.mimetype == "application/json":
            # Nothing signed-in (or any JSON) stays in a shared or back-button cache; views that chose their own
            # caching (photos, hashed assets) keep it.
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

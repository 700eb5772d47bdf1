"""Who is calling: the signed-in user (session) or a registered device (bearer token)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from server.extensions import db
from server.models import Device, User
from server.models.base import utcnow
from server.services.devices import device_for_token
from sync import problems

F = TypeVar("F", bound=Callable[..., Any])
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def current_user() -> User:
    """The caller's user, from the session or from the bearer token's device."""
    user = g.get("user")
    if user is None:
        device = bearer_device()
        user = device.user
    return cast(User, user)


def bearer_device(*, allow_revoked: bool = False) -> Device:
    """The device behind the request's bearer token (401 when there is none, or it is revoked unless
    ``allow_revoked``: sync then keeps what it pushes in quarantine)."""
    device = g.get("device")
    if device is not None:
        return cast(Device, device)
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise problems.unauthenticated()
    device = device_for_token(db.session, header.removeprefix("Bearer ").strip(), allow_revoked=allow_revoked)
    now = utcnow()
    # Refreshed at most once a minute, so that reads (pulls) do not each become a write.
    if device.last_seen_at is None or now - device.last_seen_at > LAST_SEEN_RESOLUTION:
        device.last_seen_at = now
    if device.revoked_at is None:
        g.device = device  # a revoked device is never remembered as the request's caller
    return device


def signed_in(view: F) -> F:
    """Require a signed-in session user (not a device token)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            raise problems.unauthenticated()
        return view(*args, **kwargs)

    return cast(F, wrapper)


def supervisor_user() -> User:
    """The caller, when a supervisor, city supervisor or admin; 404 for anyone else (scope is never revealed)."""
    from server.web.access import SUPERVISOR_ROLES

    user = current_user()
    if user.role not in SUPERVISOR_ROLES:
        raise problems.not_found()
    return user

"""Who is calling: the signed-in user (session) or a registered device (bearer token)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g

from server.domain.roles import SUPERVISOR_ROLES
from server.models import User
from server.security import bearer_device
from sync import problems

F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> User:
    """The caller's user, from the session or from the bearer token's device."""
    user = g.get("user")
    if user is None:
        device = bearer_device()
        user = device.user
    return cast(User, user)


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
    user = current_user()
    if user.role not in SUPERVISOR_ROLES:
        raise problems.not_found()
    return user

"""Who may use the supervisor's pages, and looking rows up within the signed-in user's scope."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, g

from server import security
from server.domain.roles import SUPERVISOR_ROLES, Role
from server.models import User

F = TypeVar("F", bound=Callable[..., Any])


def supervisor_required(view: F) -> F:
    """Signed in (else the login page) and a supervisor, city supervisor or admin (else 404: the
    pages' existence is not revealed to other roles)."""

    @security.login_required
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.user.role not in SUPERVISOR_ROLES:
            abort(404)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def current_supervisor() -> User:
    """The signed-in user of a supervisor page."""
    return cast(User, g.user)


def enterprise_required(view: F) -> F:
    """Signed in (else the login page) and an enterprise user with an enterprise (else 404: the
    enterprise's pages are not revealed to other roles)."""

    @security.login_required
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.user.role != Role.enterprise or g.user.enterprise_id is None:
            abort(404)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def current_enterprise_user() -> User:
    """The signed-in user of an enterprise page (its ``enterprise_id`` is set)."""
    return cast(User, g.user)

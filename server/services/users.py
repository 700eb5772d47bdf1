"""Creating users, signing in, and finding the signed-in user."""

from __future__ import annotations

import secrets
import string

import sqlalchemy as sa

from server import credentials
from server.domain.roles import Role, scope_problem
from server.errors import (
    account_disabled,
    bad_credentials,
    password_too_weak,
    password_unchanged,
    role_scope_invalid,
    user_exists,
    username_invalid,
)
from server.models import Enterprise, Region, User
from server.models.base import utcnow
from server.services import DbSession, audit, sessions, throttle
from server.services.scope import visible_region_ids
from sync.problems import Problem

#: The shortest password an admin may give an account (a generated one is longer).
MIN_PASSWORD_CHARS = 10
#: A generated password's alphabet: no 0/O, 1/l/I, so it can be read out over the telephone.
_READABLE = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


def password_problem(password: str, username: str) -> Problem | None:
    """Why ``password`` is too weak for the account ``username`` (the one rule for the CLI and the admin page):
    at least MIN_PASSWORD_CHARS characters, at least two kinds (letters, digits, others), and not the user name."""
    kinds = sum(
        any(test(c) for c in password) for test in (str.isalpha, str.isdigit, lambda c: not c.isalnum())
    )
    if len(password) < MIN_PASSWORD_CHARS:
        return password_too_weak(reason=f"至少 {MIN_PASSWORD_CHARS} 个字符",
                                 reason_en=f"at least {MIN_PASSWORD_CHARS} characters")  # fmt: skip
    if len(password) > 256:
        return password_too_weak(reason="不超过 256 个字符", reason_en="at most 256 characters")
    if kinds < 2:
        return password_too_weak(reason="须含字母、数字、符号中的至少两类",
                                 reason_en="mix at least two of letters, digits and symbols")  # fmt: skip
    if username.strip() and username.strip().lower() in password.lower():
        return password_too_weak(reason="不能包含用户名", reason_en="it must not contain the user name")
    return None


def generate_password() -> str:
    """A strong one-time password from the cryptographic random source (14 readable characters, with digits)."""
    while True:
        password = "".join(secrets.choice(_READABLE) for _ in range(14))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def create_user(
    session: DbSession,
    *,
    username: str,
    password: str,
    display_name: str,
    role: Role,
    region: Region | None = None,
    enterprise: Enterprise | None = None,
    badge_no: str | None = None,
    phone: str | None = None,
) -> User:
    """Add a user after checking the name is free and the role fits the scope given."""
    username = username.strip()
    if not username or len(username) > 64:
        raise username_invalid()
    if (weak := password_problem(password, username)) is not None:
        raise weak
    if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise user_exists(username=username)
    if enterprise is not None and region is None:
        region = enterprise.region
    problem = scope_problem(role, has_region=region is not None, has_enterprise=enterprise is not None)
    if problem:
        raise role_scope_invalid(reason=problem[0], reason_en=problem[1])
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=credentials.hash_password(password),
        role=role,
        region=region,
        enterprise=enterprise,
        badge_no=badge_no,
        phone=phone,
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: DbSession, username: str, password: str) -> User:
    """The active user with these credentials; raises a catalogue problem otherwise."""
    user = session.scalar(sa.select(User).where(User.username == username.strip()))
    if not credentials.verify_password(user.password_hash if user else None, password):
        raise bad_credentials()
    assert user is not None
    if not user.active:
        raise account_disabled()
    if credentials.password_needs_rehash(user.password_hash):
        user.password_hash = credentials.hash_password(password)
    user.last_login_at = utcnow()
    return user


def sign_in(
    session: DbSession, username: str, password: str, *, address: str, limits: throttle.Limits
) -> User:
    """Authenticate, throttled per account and per address: a refusal is counted, audited and committed
    before it is raised (it must outlive the request's rollback)."""
    throttle.check(session, username, address, limits)
    try:
        user = authenticate(session, username, password)
    except Problem:
        session.rollback()
        throttle.failed(session, username, address, limits)
        session.commit()
        raise
    throttle.succeeded(session, username)
    return user


def change_password(session: DbSession, user: User, current: str, new: str, *, keep_session: object) -> None:
    """Set a new password (strong enough: password_problem) after checking the current one; every other session of
    the user ends."""
    if not credentials.verify_password(user.password_hash, current):
        raise bad_credentials()
    if len(new) < 8 or len(new) > 256 or new == current:
        raise password_unchanged()
    if (weak := password_problem(new, user.username)) is not None:
        raise weak  # the same rule as an admin's reset and the command line
    user.password_hash = credentials.hash_password(new)
    ended = sessions.end_all(session, user.id, keep=keep_session)
    audit.record(session, user, "user.password_change", "user", user.id, {"sessions_ended": ended})


def sign_out_everywhere(session: DbSession, user: User, by: User, reason: str) -> int:
    """End every session of ``user`` (audited); the caller commits."""
    ended = sessions.end_all(session, user.id)
    audit.record(
        session, by, "user.sign_out_everywhere", "user", user.id, {"sessions_ended": ended, "reason": reason}
    )
    return ended


#: Roles a supervisor manages (sessions, tablets) within the regions under them; an admin manages everyone.
MANAGED_BY_SUPERVISORS = frozenset({Role.inspector, Role.expert, Role.enterprise})


def may_manage(session: DbSession, actor: User, user: User, *, regions: set[int] | None = None) -> bool:
    """True when ``actor`` may end ``user``'s sessions and revoke their tablets: an admin, the user themself,
    or a supervisor whose regions include the user's (``regions``: the actor's, when already known)."""
    if actor.role == Role.admin or actor.id == user.id:
        return True
    if actor.role not in (Role.supervisor, Role.city_supervisor) or user.role not in MANAGED_BY_SUPERVISORS:
        return False
    regions = regions if regions is not None else visible_region_ids(session, actor)
    return regions is None or user.region_id in regions


def active_user_by_id(session: DbSession, user_id: object) -> User | None:
    """The active user with this id, or None (a deleted or disabled account ends its sessions)."""
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id)
    return user if user is not None and user.active else None

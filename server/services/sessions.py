"""Server-side sign-in sessions: the cookie carries a random id whose digest must still be a row here, so that
signing out, a new password, an admin's "sign out everywhere" and a revoked tablet end sessions at once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa

from server.models import User, WebSession
from server.models.base import utcnow
from server.services import DbSession


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: DbSession, user: User, *, address: str | None, user_agent: str | None,
          lifetime: timedelta) -> str:  # fmt: skip
    """Record a new session for ``user`` (dropping the user's expired ones) and return the id for the cookie."""
    token = secrets.token_urlsafe(32)
    session.execute(
        sa.delete(WebSession).where(
            WebSession.user_id == user.id, WebSession.created_at < utcnow() - lifetime
        )
    )
    session.add(WebSession(id=_digest(token), user_id=user.id, created_at=utcnow(),
                           address=(address or "")[:64] or None, user_agent=(user_agent or "")[:255] or None))  # fmt: skip
    session.flush()
    return token


def is_live(session: DbSession, user_id: int, token: object, lifetime: timedelta) -> bool:
    """True while the session was neither ended nor outlived its lifetime."""
    if not isinstance(token, str) or not token:
        return False
    row = session.get(WebSession, _digest(token))
    return row is not None and row.user_id == user_id and row.created_at >= utcnow() - lifetime


def end(session: DbSession, token: object) -> None:
    """End one session (sign-out)."""
    if isinstance(token, str) and token:
        session.execute(sa.delete(WebSession).where(WebSession.id == _digest(token)))


def end_all(session: DbSession, user_id: int, *, keep: object = None) -> int:
    """End every session of a user except ``keep`` (the caller's own, after a password change); returns how many."""
    query = sa.delete(WebSession).where(WebSession.user_id == user_id)
    if isinstance(keep, str) and keep:
        query = query.where(WebSession.id != _digest(keep))
    result = session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)

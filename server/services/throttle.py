"""Login throttling: too many refused sign-ins for one account, or from one address, within a window refuse
further attempts (even with the right password) until the window has passed. Every refusal is audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from server.errors import login_throttled
from server.models import LoginFailure
from server.models.base import utcnow
from server.services import DbSession, audit


@dataclass(frozen=True)
class Limits:
    """How many refused sign-ins are allowed per account and per address within ``window``."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


def limits_from(config: Mapping[str, Any]) -> Limits:
    """The limits an app is configured with."""
    return Limits(per_account=int(config.get("LOGIN_FAILURES_PER_ACCOUNT", 5)),
                  per_address=int(config.get("LOGIN_FAILURES_PER_ADDRESS", 20)),
                  window=timedelta(minutes=int(config.get("LOGIN_THROTTLE_MINUTES", 15))))  # fmt: skip


def _key(username: str) -> str:
    return username.strip().casefold()[:64]


def _counts(session: DbSession, username: str, address: str, limits: Limits) -> tuple[int, int]:
    since = utcnow() - limits.window
    account = session.scalar(sa.select(sa.func.count()).select_from(LoginFailure).where(
        LoginFailure.username == _key(username), LoginFailure.at >= since))  # fmt: skip
    by_address = session.scalar(sa.select(sa.func.count()).select_from(LoginFailure).where(
        LoginFailure.address == address[:64], LoginFailure.at >= since))  # fmt: skip
    return int(account or 0), int(by_address or 0)


def check(session: DbSession, username: str, address: str, limits: Limits) -> None:
    """Refuse (429, audited) when the account or the address has used up its attempts; the caller commits."""
    account, by_address = _counts(session, username, address, limits)
    if account >= limits.per_account or by_address >= limits.per_address:
        audit.record(session, None, "login.throttled", "user", _key(username),
                     {"address": address[:64], "by": "account" if account >= limits.per_account else "address"})  # fmt: skip
        session.commit()
        minutes = int(limits.window.total_seconds() // 60)
        raise login_throttled(minutes=minutes)


def failed(session: DbSession, username: str, address: str, limits: Limits) -> None:
    """Count and audit a refused sign-in (forgetting those older than the window); the caller commits."""
    session.execute(sa.delete(LoginFailure).where(LoginFailure.at < utcnow() - limits.window))
    session.add(LoginFailure(at=utcnow(), username=_key(username), address=address[:64]))
    audit.record(session, None, "login.failed", "user", _key(username), {"address": address[:64]})


def succeeded(session: DbSession, username: str) -> None:
    """A right password clears the account's count (not the address's: a guesser may know one password)."""
    session.execute(sa.delete(LoginFailure).where(LoginFailure.username == _key(username)))

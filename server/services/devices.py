"""Registering devices (one per installed app), authenticating them, revoking their tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from server import credentials
from server.domain.roles import Role
from server.errors import device_blocked
from server.models import Device, DeviceKey, User
from server.models.base import utcnow
from server.services import DbSession, audit, sessions
from server.services.scope import DEVICE_USER_SCOPE_STAMP, remember_scope_stamp
from sync import problems

_JWK_P256_KEYS = {"kty", "crv", "x", "y"}


def validate_public_jwk(jwk: dict[str, Any] | None) -> dict[str, str] | None:
    """Keep only the public part of an ECDSA P-256 JWK; refuse anything else (a private 'd' above all)."""
    if jwk is None:
        return None
    if "d" in jwk:
        raise problems.invalid_fields(fields="public_key: a private key was sent; send the public key only")
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise problems.invalid_fields(fields="public_key: must be an EC P-256 JWK")
    if not all(isinstance(jwk.get(k), str) and jwk.get(k) for k in ("x", "y")):
        raise problems.invalid_fields(fields="public_key: x and y are required")
    return {k: str(jwk[k]) for k in _JWK_P256_KEYS}


def register_device(
    session: DbSession,
    user: User,
    *,
    device_id: uuid.UUID | None = None,
    public_key_jwk: dict[str, Any] | None = None,
    label: str | None = None,
    user_agent: str | None = None,
) -> tuple[Device, str]:
    """Register a device for ``user`` and return it with its bearer token (shown only this once).

    Registering an id the same user already has re-issues its token (a reinstall keeps its history);
    an id that belongs to someone else is refused.
    """
    key = validate_public_jwk(public_key_jwk)
    token = credentials.new_bearer_token()
    device = session.get(Device, device_id) if device_id else None
    if device is not None and device.user_id != user.id:
        raise problems.forbidden()
    if device is not None and device.revoked_at is not None:
        # A revoked (perhaps lost) tablet comes back only through an admin's reinstate_device.
        raise device_blocked()
    if device is None:
        device = Device(id=device_id or uuid.uuid4(), user_id=user.id, last_seq=0)
        session.add(device)
    device.token_hash = credentials.token_digest(token)
    keep_key_history(session, device, key)
    device.public_key_jwk = key
    device.label = (label or "")[:100] or None
    device.user_agent = (user_agent or "")[:255] or None
    device.last_seen_at = utcnow()
    session.flush()
    return device, token


def keep_key_history(session: DbSession, device: Device, new_key: dict[str, str] | None) -> None:
    """Record ``new_key`` as the device's key from now on, closing the period of the one it replaces; a device whose
    key was never recorded first gets its current key recorded from its creation (so no key is ever forgotten)."""
    now = utcnow()
    history = session.scalars(
        sa.select(DeviceKey).where(DeviceKey.device_id == device.id).order_by(DeviceKey.valid_from, DeviceKey.id)
    ).all() if device.id is not None else []  # fmt: skip
    if not history and device.public_key_jwk:
        history = [
            DeviceKey(
                device_id=device.id, public_key_jwk=device.public_key_jwk, valid_from=device.created_at or now
            )
        ]
        session.add(history[0])
    current = next((k for k in history if k.valid_to is None), None)
    if current is not None and current.public_key_jwk == new_key:
        return
    if current is not None:
        current.valid_to = now
    if new_key:
        session.add(DeviceKey(device_id=device.id, public_key_jwk=new_key, valid_from=now))


def key_in_force(session: DbSession, device: Device, moment: datetime) -> dict[str, str] | None:
    """The public key the device had at ``moment`` (server time), from its key history; its current key when no
    history was ever recorded for it."""
    key = session.scalar(
        sa.select(DeviceKey.public_key_jwk)
        .where(
            DeviceKey.device_id == device.id, DeviceKey.valid_from <= moment,
            sa.or_(DeviceKey.valid_to.is_(None), DeviceKey.valid_to > moment),
        )
        .order_by(DeviceKey.valid_from.desc(), DeviceKey.id.desc())
        .limit(1)
    )  # fmt: skip
    if key is not None:
        return dict(key)
    recorded = session.scalar(sa.select(sa.func.count()).where(DeviceKey.device_id == device.id))
    return None if recorded else device.public_key_jwk


# The user comes in the same query: every sync request checks them and builds their scope. Built once, as
# every sync request runs it.
_DEVICE_BY_TOKEN = (
    sa.select(Device)
    .options(orm.joinedload(Device.user))
    .where(Device.token_hash == sa.bindparam("token_hash", type_=Device.token_hash.type))
)


#: The same with the user's scope stamp: a sync request checks its cached scope next (server.services.scope).
_DEVICE_BY_TOKEN_WITH_STAMP = _DEVICE_BY_TOKEN.add_columns(*DEVICE_USER_SCOPE_STAMP)


def device_for_token(
    session: DbSession, token: str, *, allow_revoked: bool = False, with_scope_stamp: bool = False
) -> Device:
    """The device owning this bearer token; a revoked token (unless ``allow_revoked``) or disabled user is refused.
    ``with_scope_stamp`` reads the user's scope stamp in the same statement, for the transaction's scope check."""
    digest = {"token_hash": credentials.token_digest(token)}
    if with_scope_stamp:
        row = session.execute(_DEVICE_BY_TOKEN_WITH_STAMP, digest).one_or_none()
        device = None if row is None else row[0]
        if row is not None:
            remember_scope_stamp(session, row[0].user_id, tuple(row)[1:])
    else:
        device = session.scalar(_DEVICE_BY_TOKEN, digest)
    if device is None:
        raise problems.unauthenticated()
    if device.revoked_at is not None and not allow_revoked:
        raise problems.device_revoked()
    if not device.user.active:
        raise problems.unauthenticated()
    return device


def revoke_device(session: DbSession, device: Device, by: User, *, keep_session: object = None) -> int:
    """Revoke a device (lost, stolen) in one step: its token stops working, its id cannot register again without
    an admin, and every session of its user ends but ``keep_session`` (the caller's own, when users revoke their
    own tablet). Audited; returns how many sessions ended. The caller commits."""
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        device.revoked_by_id = by.id
    ended = sessions.end_all(session, device.user_id, keep=keep_session if by.id == device.user_id else None)
    session.flush()
    audit.record(
        session, by, "device.revoke", "device", device.id, {"owner": device.user_id, "sessions_ended": ended}
    )
    return ended


def reinstate_device(session: DbSession, device: Device, by: User) -> None:
    """An admin lets a revoked device id register again (found again, checked); audited, the caller commits.
    Its old token stays dead: the user signs in on it to get a new one."""
    if by.role != Role.admin:
        raise problems.forbidden()
    if device.revoked_at is not None:
        device.revoked_at = None
        device.revoked_by_id = None
        device.token_hash = credentials.token_digest(credentials.new_bearer_token())
    session.flush()
    audit.record(session, by, "device.reinstate", "device", device.id, {"owner": device.user_id})

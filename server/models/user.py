"""Users (one role each, a region scope or an enterprise) and their registered devices."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.domain.roles import Role

from .base import Base, SyncMixin, TimestampMixin, UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:
    from .enterprise import Enterprise
    from .region import Region


class User(TimestampMixin, SyncMixin, Base):
    """A person who signs in: inspector, supervisor, city supervisor, enterprise, expert or admin."""

    __tablename__ = "user_account"
    # Devices receive names and badge numbers (the team picker); a sign-in or a new password is no news to them.
    unsynced_fields = frozenset({"last_login_at", "password_hash", "updated_at", "devices"})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, 24))
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id"), index=True)
    enterprise_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    #: 执法证号 of an inspector, printed on enforcement documents.
    badge_no: Mapped[str | None] = mapped_column(sa.String(32))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The language the user chose for the web ("zh" or "en"); None follows the browser, then Chinese.
    language: Mapped[str | None] = mapped_column(sa.String(8))

    region: Mapped[Region | None] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()
    devices: Mapped[list[Device]] = relationship(back_populates="user", foreign_keys="Device.user_id")


class Device(Base):
    """One installed copy of the app: a bearer token (stored hashed) and an ECDSA P-256 public key."""

    __tablename__ = "device"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The device's public key as a JWK (P-256), used to verify sealed inspections.
    public_key_jwk: Mapped[dict[str, str] | None] = mapped_column(sa.JSON)
    label: Mapped[str | None] = mapped_column(sa.String(100))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Highest mutation sequence number applied from this device (gapless, starts at 0).
    last_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(back_populates="devices", foreign_keys=[user_id])


class WebSession(Base):
    """A signed-in browser session, checked on every request: deleting the row ends the session at once
    (sign-out, a new password, an admin's "sign out everywhere", a revoked tablet)."""

    __tablename__ = "web_session"

    #: SHA-256 of the random session id the cookie carries (a database reader cannot replay it).
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    address: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))


class LoginFailure(Base):
    """A refused sign-in (wrong password or unknown user), counted per account and per address for throttling."""

    __tablename__ = "login_failure"
    __table_args__ = (
        sa.Index("ix_login_failure_username_at", "username", "at"),
        sa.Index("ix_login_failure_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    username: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(64))


class DeviceKey(Base):
    """Every public key a device ever had, with when it was in force: a seal made with an earlier key (before the
    device registered again) still verifies against the key of its day."""

    __tablename__ = "device_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("device.id"), index=True)
    public_key_jwk: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    #: In force from this moment until ``valid_to`` (None: still in force), both server time.
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime())

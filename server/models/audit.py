"""The append-only audit log; each row carries the keyed hash of the previous one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    """Who changed what, when; rows are never updated or deleted."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(64))
    entity_type: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: 1: plain SHA-256 (rows written before the chain was keyed); 2: HMAC-SHA-256 with the instance's audit key.
    scheme: Mapped[int] = mapped_column(sa.SmallInteger, default=2, server_default="1")


class AuditHead(Base):
    """The chain's one head row: every append locks it first, so appends are serialised on every database
    (PostgreSQL's row lock, SQLite's write lock) and no two rows can name the same predecessor."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    row_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    hash: Mapped[str] = mapped_column(sa.String(64))
    rows: Mapped[int] = mapped_column(sa.BigInteger, default=0)

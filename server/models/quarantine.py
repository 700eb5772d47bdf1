"""Sync mutations that could not be applied, kept whole with the reason."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class Quarantine(Base):
    """A mutation refused on push (invalid, or a duplicate seq with other content); an admin may fix it."""

    __tablename__ = "quarantine"
    __table_args__ = (sa.Index("ix_quarantine_device_seq", "device_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("device.id"))
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    entity: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[str | None] = mapped_column(sa.String(64))
    op: Mapped[str | None] = mapped_column(sa.String(16))
    #: The mutation exactly as received.
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    payload_sha256: Mapped[str] = mapped_column(sa.String(64))
    reason_code: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    resolution: Mapped[str | None] = mapped_column(sa.Text)

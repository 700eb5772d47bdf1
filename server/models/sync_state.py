"""The one-row change counter that numbers writes in commit order for pull."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class ChangeCounter(Base):
    """A single row whose value each writing transaction increments under a row lock; a plain
    sequence would hand out numbers in start order, so a pull could skip a row committed late."""

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class SyncMutation(Base):
    """Every mutation a device's seq numbered, processed exactly once: what it was and what became of it.

    The primary key (device, seq) is what makes a replayed batch a no-op; the digest tells a true
    duplicate from a reused seq with other content.
    """

    __tablename__ = "sync_mutation"

    device_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("device.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    digest: Mapped[str] = mapped_column(sa.String(64))
    entity: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[str] = mapped_column(sa.String(64))
    #: "applied" or "quarantined".
    outcome: Mapped[str] = mapped_column(sa.String(16))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

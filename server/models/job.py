"""Long work done in the background (imports, reports, documents): its progress and its result."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, enum_column, new_uuid, utcnow


class JobStatus(enum.StrEnum):
    """Where a background job is: waiting, running, finished well, or failed with a problem."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class BackgroundJob(Base):
    """One piece of long work a user started; they may leave the page and come back to it."""

    __tablename__ = "background_job"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    #: What the work is, e.g. "ledger_import", "registry_import", "progress_report", "document".
    kind: Mapped[str] = mapped_column(sa.String(40))
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus, 16), default=JobStatus.queued)
    #: Steps done out of steps known (rows read, pages drawn); total is None while unknown.
    done_steps: Mapped[int] = mapped_column(sa.Integer, default=0)
    total_steps: Mapped[int | None] = mapped_column(sa.Integer)
    #: What the job is doing now, shown next to the bar.
    stage: Mapped[str | None] = mapped_column(sa.String(200))
    #: The arguments the work was started with (JSON-safe), so it can be described and retried.
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: The outcome to show when done (counts, row problems, a link to the produced file).
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    #: A produced file's key in the instance or photo store, downloadable by the owner.
    result_file: Mapped[str | None] = mapped_column(sa.String(255))
    #: The problem code and parameters when the job failed (rendered in the reader's language).
    error: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Touched every few seconds by the process running the job; stale means that process is gone.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (sa.Index("ix_background_job_owner_created", "owner_id", "created_at"),)

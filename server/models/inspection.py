"""Inspections made on a device, their participants, item results and supervisors' review decisions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.domain.clearance import ItemResultValue
from server.domain.inspections import InspectionKind, InspectionStatus, ReviewOutcome

from .base import Base, SyncMixin, TimestampMixin, UTCDateTime, enum_column, new_uuid, utcnow

if TYPE_CHECKING:
    from .catalogue import Catalogue
    from .enterprise import Enterprise
    from .user import User


#: The partial index ix_inspection_counting's condition, as migration 0014 wrote it: a regulator's finished
#: inspection whose seal verified (server.domain.counting; a query must say the same for the index to serve).
COUNTING_INSPECTION_PREDICATE = (
    "deleted_at IS NULL AND finished_at IS NOT NULL AND sealed_record IS NOT NULL AND seal_verified IS TRUE "
    "AND kind <> 'self'"
)
#: The review queue's order (server.services.review.list_inspections: newest first, then by id) as the index
#: ix_inspection_review_queue holds it (migration 0016); the queue must order by this very expression for the
#: index to give the order.
REVIEW_QUEUE_NEWEST_FIRST = "coalesce(finished_at, started_at, received_at) DESC"


class Inspection(TimestampMixin, SyncMixin, Base):
    """One visit to one enterprise against one catalogue version; sealed by the device once submitted."""

    __tablename__ = "inspection"
    __table_args__ = (
        # Drafts (left out of every figure) and the review queue are found by status (migration 0014).
        sa.Index("ix_inspection_status", "status"),
        # The map's latest inspections, newest started first, then the never started by arrival
        # (server.services.mappoints.latest_first walks both from their ends; migration 0014).
        sa.Index("ix_inspection_started_at", "started_at"),
        sa.Index(
            "ix_inspection_unstarted", "received_at",
            postgresql_where=sa.text("started_at IS NULL"), sqlite_where=sa.text("started_at IS NULL"),
        ),
        # The inspections that may count (oversight.counting_conditions, less the statuses), read from this
        # index alone by the dashboard's coverage and its weeks instead of from the wide rows (migration 0014).
        sa.Index(
            "ix_inspection_counting", "enterprise_id", "finished_at", "status",
            postgresql_where=sa.text(COUNTING_INSPECTION_PREDICATE),
            sqlite_where=sa.text(COUNTING_INSPECTION_PREDICATE),
        ),
        # A status's page of the review queue read in order from here, instead of sorting every inspection of
        # that status in the scope on each request (migration 0016).
        sa.Index(
            "ix_inspection_review_queue", "status", sa.text(REVIEW_QUEUE_NEWEST_FIRST), "id",
            postgresql_where=sa.text("deleted_at IS NULL"), sqlite_where=sa.text("deleted_at IS NULL"),
        ),
    )  # fmt: skip

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    enterprise_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    catalogue_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("catalogue.id"), index=True)
    kind: Mapped[InspectionKind] = mapped_column(enum_column(InspectionKind, 24))
    status: Mapped[InspectionStatus] = mapped_column(
        enum_column(InspectionStatus, 16), default=InspectionStatus.draft
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("device.id"), index=True)
    #: Device clock times, as the inspector's tablet recorded them.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Server clock: when the record (and its submission) first reached the server.
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    start_lat: Mapped[float | None] = mapped_column(sa.Float)
    start_lon: Mapped[float | None] = mapped_column(sa.Float)
    start_accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    end_lat: Mapped[float | None] = mapped_column(sa.Float)
    end_lon: Mapped[float | None] = mapped_column(sa.Float)
    end_accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    #: Hand signatures: [{"role": "inspector"|"enterprise_rep", "name": ..., "photo_sha256": ..., "at": ...}].
    signatures: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    #: SHA-256 of the sealed record's canonical JSON and the device's ECDSA P-256 signature over it.
    sealed_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    device_signature: Mapped[str | None] = mapped_column(sa.Text)
    #: The canonical JSON text the device signed, kept so the signature can be checked again at any time.
    sealed_record: Mapped[str | None] = mapped_column(sa.Text)
    #: None until a seal arrives; then whether hash, signature and content agree, and if not, why.
    seal_verified: Mapped[bool | None] = mapped_column(sa.Boolean)
    seal_problem: Mapped[str | None] = mapped_column(sa.Text)
    #: A correction is a new record that references the sealed one it corrects.
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("inspection.id"), index=True)
    summary_note: Mapped[str | None] = mapped_column(sa.Text)

    enterprise: Mapped[Enterprise] = relationship()
    catalogue: Mapped[Catalogue] = relationship()
    created_by: Mapped[User | None] = relationship()
    participants: Mapped[list[InspectionParticipant]] = relationship(
        back_populates="inspection", cascade="all, delete-orphan", order_by="InspectionParticipant.ordinal"
    )
    results: Mapped[list[ItemResult]] = relationship(
        back_populates="inspection", cascade="all, delete-orphan"
    )
    decisions: Mapped[list[ReviewDecision]] = relationship(
        back_populates="inspection", order_by="ReviewDecision.decided_at"
    )


class InspectionParticipant(Base):
    """An inspector (≥ 2 per inspection), an expert or the enterprise's representative."""

    __tablename__ = "inspection_participant"
    __table_args__ = (sa.UniqueConstraint("inspection_id", "ordinal"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("inspection.id"), index=True)
    ordinal: Mapped[int] = mapped_column(sa.Integer)
    #: "inspector", "expert" or "enterprise_rep".
    role: Mapped[str] = mapped_column(sa.String(16))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    badge_no: Mapped[str | None] = mapped_column(sa.String(32))

    inspection: Mapped[Inspection] = relationship(back_populates="participants")


class ItemResult(TimestampMixin, SyncMixin, Base):
    """The answer to one catalogue item in one inspection."""

    __tablename__ = "item_result"
    __table_args__ = (sa.UniqueConstraint("inspection_id", "item_code"),)

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    inspection_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("inspection.id"), index=True)
    item_code: Mapped[str] = mapped_column(sa.String(16))
    result: Mapped[ItemResultValue] = mapped_column(enum_column(ItemResultValue, 16))
    note: Mapped[str | None] = mapped_column(sa.Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    inspection: Mapped[Inspection] = relationship(back_populates="results")


class ReviewDecision(SyncMixin, Base):
    """A supervisor approving or returning a submitted inspection; flows back to the device."""

    __tablename__ = "review_decision"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    inspection_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("inspection.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    outcome: Mapped[ReviewOutcome] = mapped_column(enum_column(ReviewOutcome, 16))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    inspection: Mapped[Inspection] = relationship(back_populates="decisions")
    reviewer: Mapped[User] = relationship()

"""Hazards (事故隐患) and their append-only event log; a hazard's state is derived from its events."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.domain.hazards import HazardEventKind, HazardLevel, HazardState, is_overdue

from .base import Base, SyncMixin, TimestampMixin, UTCDateTime, enum_column, new_uuid, utcnow

if TYPE_CHECKING:
    from .enterprise import Enterprise
    from .inspection import Inspection


#: The partial index ix_hazard_open's condition: not deleted, in an open state (server.domain.hazards.OPEN_STATES,
#: spelled out as migration 0014 wrote it; a test holds the two equal).
OPEN_HAZARD_PREDICATE = "deleted_at IS NULL AND state IN ('found', 'planned', 'reported', 'rejected')"


class HazardSource(StrEnum):
    """Who found the hazard."""

    inspection = "inspection"
    self_ledger = "self_ledger"
    city_sampling = "city_sampling"


class Hazard(TimestampMixin, SyncMixin, Base):
    """A hazard found at an enterprise, with its 五定 terms and, if major, 五到位 / 双报告 / 挂牌督办."""

    __tablename__ = "hazard"
    __table_args__ = (
        # The open hazards of a scope (the supervisors' map draws or clusters every one of them): read from
        # this index alone, not from the table's wide rows (migration 0014).
        sa.Index(
            "ix_hazard_open", "enterprise_id", "level", "state", "deadline",
            postgresql_where=sa.text(OPEN_HAZARD_PREDICATE), sqlite_where=sa.text(OPEN_HAZARD_PREDICATE),
        ),
    )  # fmt: skip

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    enterprise_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    inspection_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("inspection.id"), index=True)
    source: Mapped[HazardSource] = mapped_column(enum_column(HazardSource, 16))
    item_code: Mapped[str | None] = mapped_column(sa.String(16), index=True)
    #: Number in the enterprise's own ledger (台账编号), when it came from one.
    ledger_no: Mapped[str | None] = mapped_column(sa.String(32))
    place: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    level: Mapped[HazardLevel] = mapped_column(enum_column(HazardLevel, 16))
    #: Why the level differs from the catalogue item's default (required when it does).
    level_reason: Mapped[str | None] = mapped_column(sa.Text)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: 五定 terms keyed as the catalogue's five_terms (responsible_person, measures, ...).
    terms: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    funds_yuan: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    # Major hazards only.
    five_in_place: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    treatment_plan: Mapped[str | None] = mapped_column(sa.Text)
    reported_to_regulator_on: Mapped[date | None] = mapped_column(sa.Date)
    reported_to_workers_congress_on: Mapped[date | None] = mapped_column(sa.Date)
    supervision_level: Mapped[str | None] = mapped_column(sa.String(16))
    supervision_no: Mapped[str | None] = mapped_column(sa.String(64))
    stop_production: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # Projections of the event log, recomputed by server.domain.hazards.replay whenever an event is added;
    # kept as columns so that lists can filter and sort on them. Never written from outside.
    state: Mapped[HazardState] = mapped_column(enum_column(HazardState, 16), default=HazardState.found)
    deadline: Mapped[date | None] = mapped_column(sa.Date, index=True)
    listed: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    enterprise: Mapped[Enterprise] = relationship()
    # Declared (even where only the id is set) so that a flush inserts the inspection first.
    inspection: Mapped[Inspection | None] = relationship()
    events: Mapped[list[HazardEvent]] = relationship(
        back_populates="hazard", order_by="(HazardEvent.at, HazardEvent.received_at)"
    )

    def overdue_on(self, today: date) -> bool:
        """Whether the rectification is overdue on ``today`` (the domain rule, on the projected state)."""
        return is_overdue(self.state, self.deadline, today)


class HazardEvent(SyncMixin, Base):
    """One step in a hazard's life: found, planned, reported fixed, accepted/rejected, extended, closed."""

    __tablename__ = "hazard_event"
    # The latest acceptance or closing of given hazards (the dashboard's rectified per week), from the index
    # alone (migration 0014).
    __table_args__ = (sa.Index("ix_hazard_event_kind_hazard_at", "kind", "hazard_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    hazard_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("hazard.id"), index=True)
    kind: Mapped[HazardEventKind] = mapped_column(enum_column(HazardEventKind, 32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("device.id"))
    deadline: Mapped[date | None] = mapped_column(sa.Date)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    hazard: Mapped[Hazard] = relationship(back_populates="events")

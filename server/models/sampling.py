"""The city's 双随机 draws and the inspector assignments they make (synced to the drawn inspectors)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, SyncMixin, UTCDateTime, new_uuid, utcnow

if TYPE_CHECKING:
    from .campaign import Campaign
    from .enterprise import Enterprise
    from .user import User


class SamplingDraw(Base):
    """One draw: who drew, with which seed and share; ``notes`` keeps the population and roster it was
    drawn from, so that the draw can be reproduced from its seed whatever changes later."""

    __tablename__ = "sampling_draw"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id"), index=True)
    drawn_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    seed: Mapped[str] = mapped_column(sa.Text)
    percent: Mapped[int] = mapped_column(sa.Integer)
    stratified: Mapped[bool] = mapped_column(sa.Boolean)
    population_size: Mapped[int] = mapped_column(sa.Integer)
    sample_size: Mapped[int] = mapped_column(sa.Integer)
    #: {"population": [...], "roster": [...], "strata": [...], "inspectors_per_enterprise": n, ...}.
    notes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    campaign: Mapped[Campaign] = relationship()
    drawn_by: Mapped[User] = relationship()
    assignments: Mapped[list[SamplingAssignment]] = relationship(
        back_populates="draw", order_by="SamplingAssignment.ordinal"
    )


class SamplingAssignment(SyncMixin, Base):
    """One inspector assigned to one drawn enterprise; pulled by that inspector's devices only."""

    __tablename__ = "sampling_assignment"
    __table_args__ = (sa.UniqueConstraint("draw_id", "enterprise_id", "inspector_id"),)

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    draw_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("sampling_draw.id"), index=True)
    enterprise_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    #: Position in the draw (enterprise order, then the order the inspectors were drawn in).
    ordinal: Mapped[int] = mapped_column(sa.Integer)
    #: The inspector is of the enterprise's own county (not enough others on the roster).
    own_county: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    draw: Mapped[SamplingDraw] = relationship(back_populates="assignments")
    enterprise: Mapped[Enterprise] = relationship()
    inspector: Mapped[User] = relationship()

"""Campaigns and their phases; the dates are data, set per region."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin

if TYPE_CHECKING:
    from .region import Region


class Campaign(TimestampMixin, Base):
    """A campaign (e.g. 大检查大整治大提升) run by a region's bureau."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    #: Minimum share of county-checked enterprises the city samples (双随机), in percent.
    sampling_percent: Mapped[int] = mapped_column(sa.Integer, default=10)

    region: Mapped[Region] = relationship()
    phases: Mapped[list[CampaignPhase]] = relationship(
        back_populates="campaign", order_by="CampaignPhase.starts_on", cascade="all, delete-orphan"
    )

    def phase_on(self, day: date) -> CampaignPhase | None:
        """The phase running on ``day``, if any."""
        return next((p for p in self.phases if p.starts_on <= day <= p.ends_on), None)


class CampaignPhase(Base):
    """One phase: deployment, self-inspection, county coverage, city sampling, look-back."""

    __tablename__ = "campaign_phase"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(100))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)

    campaign: Mapped[Campaign] = relationship(back_populates="phases")

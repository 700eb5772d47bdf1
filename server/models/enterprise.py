"""Enterprises under supervision and the QR tokens posted at their gates."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.domain.applicability import EnterpriseProfile
from server.domain.sectors import Sector

from .base import Base, SyncMixin, TimestampMixin, UTCDateTime, new_uuid, utcnow

if TYPE_CHECKING:
    from .region import Region

#: Enterprise column holding each sector flag.
SECTOR_COLUMNS: dict[Sector, str] = {sector: f"sector_{sector.value}" for sector in Sector}


class Enterprise(TimestampMixin, SyncMixin, Base):
    """An enterprise of the campaign, identified by its 统一社会信用代码."""

    __tablename__ = "enterprise"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(sa.String(200))
    credit_code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    address: Mapped[str | None] = mapped_column(sa.String(300))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    #: Registered location, WGS-84.
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    sector_steel: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    sector_aluminium_casting: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    sector_dust_explosion: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    sector_ammonia_refrigeration: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    sector_confined_space: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    sector_hazardous_work: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    sector_major_hazard_source: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    sector_gas_area: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    dust_workers: Mapped[int | None] = mapped_column(sa.Integer)
    main_person: Mapped[str | None] = mapped_column(sa.String(50))
    main_person_phone: Mapped[str | None] = mapped_column(sa.String(32))
    established_on: Mapped[date | None] = mapped_column(sa.Date)
    #: The current QR token; older ones stay in qr_token with their revocation time.
    qr_token: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    #: The columns of its ledger workbooks the enterprise mapped by hand (folded header → ledger field),
    #: used again by its next imports.
    ledger_column_map: Mapped[dict[str, str] | None] = mapped_column(sa.JSON)

    region: Mapped[Region] = relationship()
    qr_tokens: Mapped[list[QrToken]] = relationship(back_populates="enterprise")

    @property
    def sectors(self) -> frozenset[Sector]:
        """The sector flags that are set."""
        return frozenset(s for s, column in SECTOR_COLUMNS.items() if getattr(self, column))

    @sectors.setter
    def sectors(self, value: frozenset[Sector] | set[Sector]) -> None:
        for sector, column in SECTOR_COLUMNS.items():
            setattr(self, column, sector in value)

    def profile(self) -> EnterpriseProfile:
        """What the applicability rules look at."""
        return EnterpriseProfile(sectors=self.sectors, dust_workers=self.dust_workers)


class QrToken(Base):
    """Every QR token ever issued to an enterprise; re-issuing revokes the previous one."""

    __tablename__ = "qr_token"

    token: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    enterprise_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("enterprise.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    enterprise: Mapped[Enterprise] = relationship(back_populates="qr_tokens")

"""Versioned checklist catalogues and their items (the catalogue is data, never code)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.domain.hazards import HazardLevel

from .base import Base, SyncMixin, TimestampMixin, enum_column, new_uuid


class Catalogue(TimestampMixin, SyncMixin, Base):
    """One version of a checklist catalogue; immutable once an inspection uses it."""

    __tablename__ = "catalogue"
    __table_args__ = (sa.UniqueConstraint("code", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    code: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[int] = mapped_column(sa.Integer)
    title: Mapped[str] = mapped_column(sa.String(200))
    source: Mapped[str] = mapped_column(sa.Text)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    effective_from: Mapped[date] = mapped_column(sa.Date)
    effective_to: Mapped[date | None] = mapped_column(sa.Date)
    #: The 五定 term keys and labels this catalogue's hazards carry, e.g. [["deadline", "整改期限"], ...].
    five_terms: Mapped[list[Any]] = mapped_column(sa.JSON)
    #: SHA-256 of the file it was imported from, so the same file is never imported twice.
    content_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)

    items: Mapped[list[CatalogueItem]] = relationship(
        back_populates="catalogue", order_by="CatalogueItem.ordinal", cascade="all, delete-orphan"
    )


class CatalogueItem(Base):
    """One check of a catalogue: a key item (25项重点检查事项) or a management item."""

    __tablename__ = "catalogue_item"
    __table_args__ = (sa.UniqueConstraint("catalogue_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    catalogue_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("catalogue.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(16))
    ordinal: Mapped[int] = mapped_column(sa.Integer)
    #: "key" (重点检查事项) or "management" (管理类检查内容).
    section: Mapped[str] = mapped_column(sa.String(16))
    sector: Mapped[str] = mapped_column(sa.String(32))
    text: Mapped[str] = mapped_column(sa.Text)
    legal_basis: Mapped[str | None] = mapped_column(sa.Text)
    default_level: Mapped[HazardLevel] = mapped_column(enum_column(HazardLevel, 16))
    #: The ApplicabilityRule as a dict, e.g. {"sectors_any": ["dust_explosion"], "min_dust_workers": 10}.
    applies_when: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    source: Mapped[str | None] = mapped_column(sa.Text)
    verification: Mapped[str] = mapped_column(sa.String(32))

    catalogue: Mapped[Catalogue] = relationship(back_populates="items")

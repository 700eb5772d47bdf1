"""Administrative regions: city ▸ county ▸ development zone."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, enum_column


class RegionLevel(StrEnum):
    """Where a region sits in the hierarchy."""

    city = "city"
    county = "county"
    zone = "zone"


class Region(TimestampMixin, Base):
    """A city, county or development zone; scopes users and enterprises."""

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel, 16))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id"), index=True)
    #: The bureau that issues QR codes and documents for this region, e.g. 兴县应急管理局.
    authority_name: Mapped[str | None] = mapped_column(sa.String(100))
    #: The bureau's 联系电话 printed on its reports (set by its supervisors on the report page).
    contact_phone: Mapped[str | None] = mapped_column(sa.String(32))

    parent: Mapped[Region | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Region]] = relationship(back_populates="parent")

    def ancestors_and_self(self) -> list[Region]:
        """This region and every region above it, nearest first."""
        chain: list[Region] = []
        node: Region | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    def issuing_authority(self) -> str | None:
        """The nearest authority name at or above this region."""
        return next((r.authority_name for r in self.ancestors_and_self() if r.authority_name), None)


class RegionVersion(Base):
    """The region tree's stamp: one row (id 1) whose value the database itself draws anew on every write that can
    change the tree (a region added, removed, moved or renumbered), through triggers on ``region`` (migration
    0015), whoever writes: the app, a bulk statement, psql, another server. Sync requests and pages read this row
    instead of summing the whole region table. A random value rather than a counter: a writer that rolled back
    leaves no number for the next writer to reuse, so a tree read inside a rolled-back transaction can never be
    taken for a committed one. (SQLite drops a table's triggers when a batch migration copies it: a migration
    that rebuilds ``region`` must create them again, see 0015.)"""

    __tablename__ = "region_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger)

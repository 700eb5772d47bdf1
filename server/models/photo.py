"""Photo evidence: metadata records and the content-addressed blobs they point at."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, SyncMixin, UTCDateTime, new_uuid, utcnow


class Blob(Base):
    """Bytes kept in the media store under their SHA-256; written once, verified before kept."""

    __tablename__ = "blob"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    #: 100: an enterprise's Word submission's type is 71 characters long.
    mime: Mapped[str] = mapped_column(sa.String(100))
    width: Mapped[int | None] = mapped_column(sa.Integer)
    height: Mapped[int | None] = mapped_column(sa.Integer)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # What the image's own EXIF says, read once on ingest and copied to every photo record using it.
    exif_taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exif_lat: Mapped[float | None] = mapped_column(sa.Float)
    exif_lon: Mapped[float | None] = mapped_column(sa.Float)
    exif_orientation: Mapped[int | None] = mapped_column(sa.SmallInteger)
    #: Whether a web thumbnail was made (stored beside the blob).
    has_thumbnail: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())


class Photo(SyncMixin, Base):
    """A photo taken as evidence: where, when and by which device, linked to what it proves."""

    __tablename__ = "photo"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    #: Not a foreign key: the metadata may arrive before the bytes.
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    original_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    mime: Mapped[str | None] = mapped_column(sa.String(64))
    width: Mapped[int | None] = mapped_column(sa.Integer)
    height: Mapped[int | None] = mapped_column(sa.Integer)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    fix_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    device_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("device.id"), index=True)
    #: What the photo is evidence for: "item_result", "hazard", "hazard_event" or "inspection".
    entity_type: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    # Read from the image's own EXIF on ingest, to compare with what the device claimed.
    exif_taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exif_lat: Mapped[float | None] = mapped_column(sa.Float)
    exif_lon: Mapped[float | None] = mapped_column(sa.Float)
    exif_orientation: Mapped[int | None] = mapped_column(sa.SmallInteger)

"""Recording a verified blob: check it is an image, thumbnail it, store its facts and share them with photos.

Photo metadata (a sync mutation) and photo bytes (an upload) arrive in either order: the facts are copied
onto photo records that already exist here, and ``facts_for_photo`` gives them to records made later.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.media.images import ingest_image
from server.models import Blob, Photo
from sync.blobs import BlobStore


def on_blob_complete(session: Session, sha256: str, *, store: BlobStore, max_pixels: int) -> None:
    """Accept a complete, hash-verified blob: refuse non-images and bombs (Problems), else record it.

    Idempotent: a blob already recorded is not inspected again, only its facts are (re)copied onto the
    photo records using it. The caller commits.
    """
    if session.execute(_RECORDED, {"sha": sha256}).first() is None:
        with store.open(sha256) as handle:
            facts, thumbnail = ingest_image(handle, max_pixels=max_pixels)
            size = handle.seek(0, io.SEEK_END)
        store.write_thumbnail(sha256, thumbnail)
        photo_facts = {
            "size": size,
            "mime": facts.mime,
            "width": facts.width,
            "height": facts.height,
            "exif_taken_at": facts.taken_at,
            "exif_lat": facts.lat,
            "exif_lon": facts.lon,
            "exif_orientation": facts.orientation,
        }
        if insert_blob_once(session, sha256=sha256, has_thumbnail=True, **photo_facts):
            copy_facts_to_photos(session, sha256, photo_facts)
            return
    # Recorded before (or by a concurrent upload of the same bytes just now): the record's facts are the truth.
    copy_facts_to_photos(session, sha256)


# Built once, on the tables rather than the ORM classes: an upload's few statements cost more CPU to build and
# route through the ORM than the database takes to answer them.
_BLOB_TABLE = cast(sa.Table, Blob.__table__)
_PHOTO_TABLE = cast(sa.Table, Photo.__table__)
_RECORDED = sa.select(_BLOB_TABLE.c.sha256).where(_BLOB_TABLE.c.sha256 == sa.bindparam("sha"))
_PHOTOS_USING = sa.select(_PHOTO_TABLE.c.id).where(_PHOTO_TABLE.c.sha256 == sa.bindparam("sha"))
_INSERT_ONCE = {
    # ON CONFLICT rather than a savepoint: pysqlite's implicit transactions make SAVEPOINT unreliable,
    # and on PostgreSQL it waits for a concurrent insert to commit, then quietly does nothing.
    "postgresql": postgresql.insert(_BLOB_TABLE).on_conflict_do_nothing(index_elements=["sha256"]),
    "sqlite": sqlite.insert(_BLOB_TABLE).on_conflict_do_nothing(index_elements=["sha256"]),
}


def accepted_blobs(session: Session, shas: Sequence[str]) -> set[str]:
    """The hashes among ``shas`` whose Blob record is committed (their acceptance finished)."""
    if not shas:
        return set()
    return set(session.scalars(sa.select(Blob.sha256).where(Blob.sha256.in_(list(shas)))))


def insert_blob_once(session: Session, **values: Any) -> bool:
    """Insert a Blob row unless one with this sha256 exists (another upload of the same bytes won); True
    when this call inserted it."""
    insert = _INSERT_ONCE.get(session.get_bind(mapper=Blob).dialect.name)
    if insert is not None:
        result = cast(sa.CursorResult[Any], session.execute(insert, values))
        return result.rowcount == 1
    if session.get(Blob, values["sha256"]) is None:
        session.add(Blob(**values))
        session.flush()
        return True
    return False


def facts_for_photo(session: Session, sha256: str) -> dict[str, Any] | None:
    """The stored facts of blob ``sha256`` as Photo column values, or None while its bytes are not in."""
    blob = session.get(Blob, sha256)
    if blob is None:
        return None
    return {
        "size": blob.size,
        "mime": blob.mime,
        "width": blob.width,
        "height": blob.height,
        "exif_taken_at": blob.exif_taken_at,
        "exif_lat": blob.exif_lat,
        "exif_lon": blob.exif_lon,
        "exif_orientation": blob.exif_orientation,
    }


def facts_for_photos(session: Session, shas: Iterable[str]) -> dict[str, dict[str, Any]]:
    """facts_for_photo for many blobs in one query (those whose bytes are in)."""
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    blobs = session.scalars(sa.select(Blob).where(Blob.sha256.in_(wanted))).all()
    return {
        blob.sha256: facts for blob in blobs if (facts := facts_for_photo(session, blob.sha256)) is not None
    }


def copy_facts_to_photos(session: Session, sha256: str, facts: dict[str, Any] | None = None) -> int:
    """Copy blob ``sha256``'s facts (``facts`` when the caller has just recorded them) onto every photo record
    using it; return how many records changed."""
    # Usually none: a device uploads a photo's bytes before pushing its record. A bare id query says so cheaply.
    if session.execute(_PHOTOS_USING, {"sha": sha256}).first() is None:
        return 0
    facts = facts if facts is not None else facts_for_photo(session, sha256)
    if facts is None:
        return 0
    changed = 0
    # Through the ORM, not a bulk UPDATE: the sync layer numbers changed rows from the session, so
    # devices pull the new facts; rows already right are not touched (and not re-sent).
    for photo in session.scalars(sa.select(Photo).where(Photo.sha256 == sha256)):
        differs = {key: value for key, value in facts.items() if getattr(photo, key) != value}
        for key, value in differs.items():
            setattr(photo, key, value)
        changed += bool(differs)
    session.flush()
    return changed

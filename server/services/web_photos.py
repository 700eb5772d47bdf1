"""Photos uploaded through a web form, kept exactly as synced photos are: bytes in the blob store under their
SHA-256 (hash-verified, write-once), ingested by on_blob_complete (type and bomb checks, EXIF, thumbnail), and a
Photo record pointing at what the photo is evidence for."""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, cast

from sqlalchemy.orm import Session

from server.errors import FormProblems, photo_refused, too_many_photos
from server.media.images import inspect_image
from server.media.ingest import facts_for_photo, on_blob_complete
from server.models import Photo
from server.models.base import utcnow
from server.services import DbSession
from sync import problems
from sync.blobs import PIECE, BlobStore

#: At most this many photos per form submission.
MAX_FILES = 5


class Upload(Protocol):
    """An uploaded file as a web framework hands it over (werkzeug's FileStorage is one)."""

    filename: str | None
    stream: IO[bytes]


@dataclass(frozen=True)
class _Checked:
    """An upload copied to a temporary file, hashed and found to be an acceptable image."""

    path: Path
    sha256: str


def store_uploaded_photos(
    session: DbSession,
    store: BlobStore,
    files: Iterable[Upload],
    entity_type: str,
    entity_id: uuid.UUID,
    *,
    max_bytes: int,
    max_pixels: int,
    max_files: int = MAX_FILES,
) -> list[Photo]:
    """Check every upload (all must be intact images within the limits) and only then store them all, each
    with a Photo record of ``entity_type``/``entity_id``; raise FormProblems naming every bad file (under ``photos``).

    Empty file fields (a form sent with no file chosen) are skipped. The caller commits.
    """
    chosen = [f for f in files if f.filename]
    if len(chosen) > max_files:
        raise FormProblems({"photos": too_many_photos(limit=max_files, count=len(chosen))})
    with tempfile.TemporaryDirectory(prefix="web-photos-") as tmp:
        checked: list[_Checked] = []
        errors: list[problems.Problem] = []
        statuses: list[int] = []
        for number, upload in enumerate(chosen, start=1):
            try:
                checked.append(_check(upload, Path(tmp) / str(number), max_bytes, max_pixels))
            except problems.Problem as problem:
                errors.append(photo_refused(number=number, name=upload.filename,
                                            reason=problem.message("zh"), reason_en=problem.message("en")))  # fmt: skip
                statuses.append(problem.status)
        if errors:
            raise FormProblems({"photos": errors}, status=statuses[0])
        return [_keep(session, store, c, entity_type, entity_id, max_pixels) for c in checked]


def _check(upload: Upload, path: Path, max_bytes: int, max_pixels: int) -> _Checked:
    """Copy the upload to ``path`` while hashing it; refuse what is empty, too large, not an image or a bomb."""
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as out:
        while piece := upload.stream.read(PIECE):
            size += len(piece)
            if size > max_bytes:
                raise problems.photo_too_large(limit=max_bytes)
            digest.update(piece)
            out.write(piece)
    if size == 0:
        raise problems.blob_not_image(allowed="JPEG, PNG, WEBP", reason="empty file / 空文件")
    # Checked before a byte reaches the store: a refused file never becomes a blob.
    inspect_image(path, max_pixels=max_pixels)
    return _Checked(path, digest.hexdigest())


def _keep(
    session: DbSession,
    store: BlobStore,
    checked: _Checked,
    entity_type: str,
    entity_id: uuid.UUID,
    max_pixels: int,
) -> Photo:
    """Put the checked bytes in the store (as an upload does), ingest them and record the photo."""
    sha = checked.sha256
    if not store.has(sha):
        put_file(store, sha, checked.path)
    # db.session is a scoped_session, which hands every call on to the Session it stands for.
    plain = cast(Session, session)
    on_blob_complete(plain, sha, store=store, max_pixels=max_pixels)
    now = utcnow()
    facts = facts_for_photo(plain, sha) or {}
    photo = Photo(
        id=uuid.uuid4(), sha256=sha, entity_type=entity_type, entity_id=entity_id, device_id=None,
        # No device claimed a time: the camera's own EXIF time if it wrote one, else the moment it arrived.
        captured_at=facts.get("exif_taken_at") or now, received_at=now, row_version=1, **facts,
    )  # fmt: skip
    session.add(photo)
    return photo


def put_file(store: BlobStore, sha: str, path: Path) -> None:
    """Append the file to the store and complete it; a partial left by someone else's upload is continued."""
    size = path.stat().st_size
    for attempt in (1, 2):
        offset = store.received(sha)
        if offset > size:
            store.delete(sha)  # a partial longer than the photo cannot be it (and the blob is not complete)
            offset = 0
        with path.open("rb") as source:
            source.seek(offset)
            store.append(sha, offset, source, size)
        try:
            store.complete(sha)
            return
        except problems.Problem as problem:
            # A partial holding other bytes under this name fails the hash check and is discarded: start again.
            if problem.kind is not problems.blob_hash_mismatch or attempt == 2:
                raise

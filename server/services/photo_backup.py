"""Copying the photo store out for a backup and back in on restore, whatever the store (folder or bucket).

The copy is driven by the database's blob records, so no photo record of the backup lacks its file: a blob
the store cannot give is reported (and the backup fails) instead of being skipped. Every copied file is hashed
on the way and must match its name; files already in the previous backup are hard-linked, not copied again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa

from server.models import Blob
from server.services import DbSession
from sync.blobs import PIECE, BlobStore, check_sha256
from sync.problems import Problem


@dataclass
class CopyReport:
    """What a copy did: files copied, linked from the previous backup or already there, and failures."""

    copied: int = 0
    linked: int = 0
    present: int = 0
    missing: list[str] = field(default_factory=list)

    def as_text(self) -> str:
        """One line for the operator (and the missing hashes, if any)."""
        text = f"copied {self.copied}, linked {self.linked}, already there {self.present}, missing {len(self.missing)}"
        return "\n".join([text, *(f"missing: {sha}" for sha in self.missing)])


def _layout(root: Path, sha: str) -> Path:
    """Where a blob sits in a backup: the local store's own layout, so a restore is a plain copy."""
    return root / sha[:2] / sha[2:4] / sha


def recorded_blobs(session: DbSession) -> Iterator[str]:
    """Every blob hash the database records, in order."""
    yield from session.scalars(sa.select(Blob.sha256).order_by(Blob.sha256)).yield_per(1000)


def export_blobs(
    session: DbSession, store: BlobStore, dest: Path, previous: Path | None = None
) -> CopyReport:
    """Copy every recorded blob into ``dest`` (mode 0600 files), hash-checked, linking what ``previous`` has."""
    report = CopyReport()
    for sha in recorded_blobs(session):
        target = _layout(dest, sha)
        if target.is_file():
            report.present += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        earlier = _layout(previous, sha) if previous is not None else None
        if earlier is not None and earlier.is_file():
            with contextlib.suppress(OSError):
                os.link(earlier, target)
                report.linked += 1
                continue
        try:
            with store.open(sha) as source:
                _write_verified(source, target, sha)
        except (Problem, ValueError):
            report.missing.append(sha)
            continue
        report.copied += 1
    return report


def import_blobs(store: BlobStore, source: Path) -> CopyReport:
    """Put every blob file under ``source`` (backup layout) into ``store`` through the upload path (verified)."""
    report = CopyReport()
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        try:
            sha = check_sha256(path.name)
        except Problem:
            continue  # not a blob (a thumbnail, a stray file)
        if store.has(sha):
            report.present += 1
            continue
        if store.received(sha):
            store.delete(sha)  # a partial upload: start it again from the verified file
        size = path.stat().st_size
        with path.open("rb") as handle:
            store.append(sha, 0, handle, size)
        try:
            store.complete(sha)
        except Problem:
            report.missing.append(sha)  # the backup's file does not match its name
            continue
        report.copied += 1
    return report


def _write_verified(source: BinaryIO, target: Path, sha: str) -> None:
    """Write ``source`` to ``target`` through a temporary file; raise ValueError if its hash is not ``sha``."""
    digest = hashlib.sha256()
    temporary = target.with_name(f".{target.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            while piece := source.read(PIECE):
                digest.update(piece)
                out.write(piece)
        if digest.hexdigest() != sha:
            raise ValueError(f"{sha}: the store gave other bytes")
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)

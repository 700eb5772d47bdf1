"""Content-addressed, write-once, resumable blob storage (photo bytes keyed by their SHA-256).

An upload grows a partial chunk by chunk; once all bytes are in, the partial is hashed and, only if the
hash matches its name, kept. A complete blob is never rewritten. This module holds the interface and the
local folder; ``sync.s3blobs`` keeps the same in S3-compatible object storage.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, BinaryIO, Protocol

from sync import problems

#: Streaming piece size: uploads and hashing never hold a whole photo in memory.
PIECE = 64 * 1024

_SHA256 = re.compile(r"[0-9a-f]{64}")


def check_sha256(value: object) -> str:
    """Return ``value`` if it is a SHA-256 in 64 lowercase hex digits; else raise invalid_fields."""
    # fullmatch, not match with "$": "$" would accept a trailing newline, and the name becomes a path.
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise problems.invalid_fields(fields="sha256 (64 lowercase hex digits)")
    return value


#: Seconds a device waits before retrying when the store is full or cannot be reached.
STORAGE_RETRY_AFTER = 30


class BlobStore(Protocol):
    """Where verified photo bytes live, keyed by SHA-256; uploads are resumable and blobs write-once.

    Readers never assume a local path: bytes are read through ``open`` (a seekable file) and thumbnails
    through ``read_thumbnail``, so the store may be a folder or an S3 bucket shared by several servers.
    """

    def has(self, sha256: str) -> bool:
        """Whether the blob is complete and verified."""
        ...

    def received(self, sha256: str) -> int:
        """Bytes received so far: the partial upload's size, the full size if complete, 0 if none."""
        ...

    def append(self, sha256: str, offset: int, stream: IO[bytes], max_bytes: int) -> int:
        """Append ``stream`` at ``offset`` (which must equal ``received``); return the new received count."""
        ...

    def complete(self, sha256: str) -> None:
        """Verify the partial upload's hash and keep it (write-once)."""
        ...

    def size(self, sha256: str) -> int:
        """The complete blob's size in bytes (not_found if it is not complete)."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """Open a complete blob for reading (seekable; not_found if it is not complete)."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the blob, any partial upload of it and its thumbnail."""
        ...

    def read_thumbnail(self, sha256: str) -> bytes | None:
        """The blob's web thumbnail (JPEG bytes), None when none is stored."""
        ...

    def write_thumbnail(self, sha256: str, jpeg: bytes) -> None:
        """Store (or replace) the blob's web thumbnail; it is derived data, made again if lost."""
        ...

    def check(self) -> None:
        """Raise storage_unavailable unless the store can be read and written now (for /readyz)."""
        ...


def copy_within(stream: IO[bytes], write: Callable[[bytes], object], room: int) -> tuple[int, bool]:
    """Copy ``stream`` into ``write`` piece by piece while it fits in ``room`` bytes; return the bytes copied
    and whether the stream held more (then the rest is left unread)."""
    copied = 0
    while piece := stream.read(PIECE):
        if copied + len(piece) > room:
            return copied, True
        write(piece)
        copied += len(piece)
    return copied, False


def storage_error(error: OSError) -> problems.Problem | None:
    """The retryable problem an OS error on the store means (disk or quota full), None for any other."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return problems.storage_full(retry_after=STORAGE_RETRY_AFTER)
    return None


@contextlib.contextmanager
def full_disk_as_problem() -> Iterator[None]:
    """Turn a full disk into storage_full (507, retry later) instead of a server error."""
    try:
        yield
    except OSError as error:
        problem = storage_error(error)
        if problem is None:
            raise
        raise problem from error


class FilesystemBlobStore:
    """A BlobStore in a folder: ``ab/cd/<sha>`` complete, ``.partial/<sha>`` uploading, ``thumbs/ab/<sha>.jpg``.

    Appends and completion of one blob are serialised by an exclusive ``flock`` on
    ``.partial/<sha>.lock``, so two devices uploading the same photo at once cannot interleave bytes.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._partials = self.root / ".partial"
        self._thumbs = self.root / "thumbs"

    def path(self, sha256: str) -> Path:
        """Where the complete blob is (or would be) stored."""
        sha = check_sha256(sha256)
        return self.root / sha[:2] / sha[2:4] / sha

    def thumbnail_path(self, sha256: str) -> Path:
        """Where the blob's web thumbnail (JPEG) is (or would be) stored."""
        sha = check_sha256(sha256)
        return self._thumbs / sha[:2] / f"{sha}.jpg"

    def _partial_path(self, sha: str) -> Path:
        return self._partials / sha

    def has(self, sha256: str) -> bool:
        """Whether the blob is complete and verified (only verified bytes are ever moved into place)."""
        return self.path(sha256).is_file()

    def received(self, sha256: str) -> int:
        """Bytes received so far: the partial upload's size, the full size if complete, 0 if none."""
        sha = check_sha256(sha256)
        # Partial first: completion renames it to the final path, so looking in this order never
        # misses both while a blob is being completed.
        for candidate in (self._partial_path(sha), self.path(sha)):
            with contextlib.suppress(FileNotFoundError):
                return candidate.stat().st_size
        return 0

    def append(self, sha256: str, offset: int, stream: IO[bytes], max_bytes: int) -> int:
        """Append ``stream`` at ``offset`` (which must equal ``received``); return the new received count.

        Raises blob_offset_mismatch when ``offset`` is not the received count, and photo_too_large (the
        partial is then discarded: it can never become a valid blob) when the blob would grow beyond
        ``max_bytes``. If the stream breaks off, the bytes read so far are kept, so the upload resumes there.
        A blob that is already complete is left alone and its size returned.
        """
        sha = check_sha256(sha256)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise problems.invalid_fields(fields="Upload-Offset")
        with self._locked(sha) as drop_lock:
            final = self.path(sha)
            if final.is_file():
                return final.stat().st_size
            partial = self._partial_path(sha)
            # Re-read under the lock: another upload of the same bytes may have appended meanwhile.
            try:
                have = partial.stat().st_size
            except FileNotFoundError:
                have = 0
            if offset != have:
                raise problems.blob_offset_mismatch(received=have, offset=offset)
            with full_disk_as_problem():
                fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                with os.fdopen(fd, "ab") as out:
                    try:
                        taken, too_large = copy_within(stream, out.write, max_bytes - have)
                        have += taken
                    finally:
                        # Even when the client breaks off: what we report as received must be on disk.
                        out.flush()
                        os.fsync(out.fileno())
            if too_large:
                partial.unlink(missing_ok=True)
                drop_lock()
                raise problems.photo_too_large(limit=max_bytes)
            return have

    def complete(self, sha256: str) -> None:
        """Verify the partial upload's hash and move it into place (write-once).

        On a hash mismatch the partial is discarded (so a fresh upload can start from 0) and
        blob_hash_mismatch is raised. If the blob is already complete the existing file is kept.
        """
        sha = check_sha256(sha256)
        with self._locked(sha) as drop_lock:
            final = self.path(sha)
            partial = self._partial_path(sha)
            if final.is_file():
                partial.unlink(missing_ok=True)
                drop_lock()
                return
            try:
                with partial.open("rb") as handle:
                    actual = hashlib.file_digest(handle, "sha256").hexdigest()
            except FileNotFoundError:
                # No partial means no bytes: only the hash of the empty file can match that.
                actual = hashlib.sha256(b"").hexdigest()
                if actual == sha:
                    with full_disk_as_problem():
                        partial.touch(0o600, exist_ok=True)
            if actual != sha:
                partial.unlink(missing_ok=True)
                drop_lock()
                raise problems.blob_hash_mismatch(sha256=sha, actual=actual)
            # Read-only: a stored blob is evidence and must never be edited in place.
            partial.chmod(0o444)
            try:
                partial.replace(final)  # os.replace: atomic within one file system
            except FileNotFoundError:
                # The first blob of its folder (the partial is there: it was just read under the lock).
                with full_disk_as_problem():
                    _make_durable_dirs(final.parent)
                partial.replace(final)
            _fsync_dir(final.parent)
            drop_lock()

    def open(self, sha256: str) -> BinaryIO:
        """Open a complete blob for reading (not_found if it is not complete)."""
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError:
            raise problems.not_found() from None

    def size(self, sha256: str) -> int:
        """The complete blob's size in bytes (not_found if it is not complete)."""
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            raise problems.not_found() from None

    def read_thumbnail(self, sha256: str) -> bytes | None:
        """The blob's web thumbnail (JPEG bytes), None when none is stored."""
        try:
            return self.thumbnail_path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def write_thumbnail(self, sha256: str, jpeg: bytes) -> None:
        """Store the thumbnail through a temporary file and a rename: readers never see half of one."""
        dest = self.thumbnail_path(sha256)
        with full_disk_as_problem():
            try:
                fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".", suffix=".tmp")
            except FileNotFoundError:
                dest.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".", suffix=".tmp")
            tmp = Path(tmp_name)
            try:
                # No fsync: a thumbnail is derived data, cheap to make again if lost.
                with os.fdopen(fd, "wb") as out:
                    out.write(jpeg)
                tmp.chmod(0o644)
                tmp.replace(dest)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise

    def check(self) -> None:
        """Raise storage_unavailable unless the folder exists (made if missing) and this process may write in it."""
        with contextlib.suppress(OSError):
            self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root.is_dir() and os.access(self.root, os.W_OK | os.X_OK)):
            raise problems.storage_unavailable(retry_after=STORAGE_RETRY_AFTER)

    def delete(self, sha256: str) -> None:
        """Remove the blob, any partial upload of it and its thumbnail."""
        sha = check_sha256(sha256)
        with self._locked(sha) as drop_lock:
            for leftover in (self.path(sha), self._partial_path(sha), self.thumbnail_path(sha)):
                leftover.unlink(missing_ok=True)
            drop_lock()

    @contextlib.contextmanager
    def _locked(self, sha: str) -> Iterator[_DropLock]:
        """Hold the blob's exclusive lock; the yielded callable removes the lock file before release.

        Lock files are removed once a blob is done with, so a waiter may end up holding a lock on a file
        that was unlinked meanwhile: it then locks nothing, so it checks the inode and tries again.
        """
        lock_path = self._partials / f"{sha}.lock"
        while True:
            with full_disk_as_problem():
                try:
                    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                except FileNotFoundError:
                    self._partials.mkdir(parents=True, exist_ok=True)
                    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    current = lock_path.stat()
                except FileNotFoundError:
                    current = None
                mine = os.fstat(fd)
                if current is not None and (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
                    break
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        try:
            yield _DropLock(lock_path)
        finally:
            os.close(fd)


class _DropLock:
    """Removes a lock file while it is still held (unlinking after release would race a new holder)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def __call__(self) -> None:
        self._path.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (the rename lives in the directory, not the file)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_durable_dirs(directory: Path) -> None:
    """Make ``directory`` and its missing parents, each new name made durable in its parent's folder.

    A rename made durable by fsyncing its folder is only found after a crash if that folder's own name is.
    """
    if directory.is_dir():
        return
    _make_durable_dirs(directory.parent)
    # Made by a concurrent upload meanwhile: its name may not be durable yet, so it is fsynced here as well.
    with contextlib.suppress(FileExistsError):
        directory.mkdir()
    _fsync_dir(directory.parent)

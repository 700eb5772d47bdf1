"""The BlobStore in S3-compatible object storage (AWS S3, MinIO, Ceph RGW, Aliyun OSS, SeaweedFS) via boto3.

Several app servers share one bucket, so everything an upload needs lives in the bucket, never on one
server's disk: each chunk a device sends is its own object ``partial/<sha>/<offset>``, and the received
count is how far the chunks reach from 0 without a gap. Any server therefore answers ``HEAD`` truthfully and
continues an upload another server began. Completion streams the chunks in order through SHA-256 into a
temporary file and only a matching result becomes ``blobs/ab/cd/<sha>`` (write-once: a blob already there is
never replaced), after which the chunks are deleted. S3 multipart uploads were not used: their parts must be
at least 5 MiB while tablets send smaller chunks, and an unfinished multipart upload cannot be read back to
verify or resume from an arbitrary offset.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from typing import IO, Any, BinaryIO

from sync import problems
from sync.blobs import PIECE, STORAGE_RETRY_AFTER, check_sha256, copy_within, full_disk_as_problem

#: boto3 ships no type hints; its client is typed loosely here.
S3Client = Any

#: A blob read back is kept in memory up to this size, beyond it in a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024

#: Error codes an S3 server uses for "no such object / bucket".
_MISSING_CODES = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
#: ... and for "no room left".
_FULL_CODES = {"507", "InsufficientStorage", "QuotaExceeded", "XMinioStorageFull"}


class S3BlobStore:
    """A BlobStore in one bucket: ``blobs/ab/cd/<sha>``, ``partial/<sha>/<offset>``, ``thumbs/ab/<sha>.jpg``."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        access_key: str | None,
        secret_key: str | None,
        region: str | None = None,
        prefix: str = "",
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._settings = {
            "endpoint_url": endpoint_url or None,
            "aws_access_key_id": access_key or None,
            "aws_secret_access_key": secret_key or None,
            "region_name": region or "us-east-1",
        }
        self._lock = threading.Lock()
        self._made_in: int | None = None
        self._s3: S3Client | None = None

    # --- keys and the client ---------------------------------------------------------------------------

    def _key(self, sha: str) -> str:
        return f"{self.prefix}blobs/{sha[:2]}/{sha[2:4]}/{sha}"

    def _thumb_key(self, sha: str) -> str:
        return f"{self.prefix}thumbs/{sha[:2]}/{sha}.jpg"

    def _chunk_prefix(self, sha: str) -> str:
        return f"{self.prefix}partial/{sha}/"

    def _client(self) -> S3Client:
        """One client per process, made on first use (a client made before gunicorn forks is not reused)."""
        with self._lock:
            if self._s3 is None or self._made_in != os.getpid():
                import boto3
                from botocore.config import Config

                config = Config(
                    s3={"addressing_style": "path"},
                    retries={"mode": "standard", "max_attempts": 3},
                    connect_timeout=5,
                    read_timeout=30,
                    # Plain Content-MD5-free PUTs: not every S3-compatible server understands the
                    # streaming checksums newer boto3 sends by default.
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                )
                self._s3 = boto3.client("s3", config=config, **self._settings)
                self._made_in = os.getpid()
            return self._s3

    # --- the BlobStore interface -----------------------------------------------------------------------

    def has(self, sha256: str) -> bool:
        """Whether the blob is complete and verified (only verified bytes are ever stored under its key)."""
        return self._head(self._key(check_sha256(sha256))) is not None

    def size(self, sha256: str) -> int:
        """The complete blob's size in bytes (not_found if it is not complete)."""
        size = self._head(self._key(check_sha256(sha256)))
        if size is None:
            raise problems.not_found()
        return size

    def received(self, sha256: str) -> int:
        """Bytes received so far: how far the chunks reach, the full size if complete, 0 if none."""
        sha = check_sha256(sha256)
        # Chunks first: completion stores the blob before deleting them, so never both are missed.
        reach = _reach(self._chunks(sha))
        if reach:
            return reach
        return self._head(self._key(sha)) or 0

    def append(self, sha256: str, offset: int, stream: IO[bytes], max_bytes: int) -> int:
        """Store ``stream`` as the chunk at ``offset`` (which must equal ``received``); return the new count.

        Raises blob_offset_mismatch when ``offset`` is not the received count, and photo_too_large (the chunks
        are then discarded) past ``max_bytes``. If the stream breaks off, what was read is still stored, so
        the upload resumes there. Two servers writing the same offset at once store the same key: one chunk
        wins, and the received count stays what the bucket holds.
        """
        sha = check_sha256(sha256)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise problems.invalid_fields(fields="Upload-Offset")
        complete = self._head(self._key(sha))
        if complete is not None:
            return complete
        have = _reach(self._chunks(sha))
        if offset != have:
            raise problems.blob_offset_mismatch(received=have, offset=offset)
        room = max_bytes - have
        with full_disk_as_problem(), tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as chunk:
            too_large = False
            try:
                _, too_large = copy_within(stream, chunk.write, room)
            finally:
                # Even when the client breaks off: keep what arrived, so the upload resumes after it.
                taken = chunk.tell()
                if taken and not too_large:
                    chunk.seek(0)
                    key = f"{self._chunk_prefix(sha)}{offset:016d}"
                    with _s3_errors():
                        self._client().put_object(
                            Bucket=self.bucket, Key=key, Body=chunk, ContentLength=taken
                        )
        if too_large:
            self._delete_chunks(sha)
            raise problems.photo_too_large(limit=max_bytes)
        return have + taken

    def complete(self, sha256: str) -> None:
        """Verify the chunks' hash and store them as the blob (write-once); a mismatch discards them."""
        sha = check_sha256(sha256)
        key = self._key(sha)
        if self._head(key) is not None:
            self._delete_chunks(sha)
            return
        with full_disk_as_problem(), tempfile.TemporaryFile() as whole:
            digest = hashlib.sha256()
            end = 0
            for chunk_offset, chunk_size in self._chunks(sha):
                if chunk_offset > end:
                    break  # a gap: what lies beyond it was never part of this upload's bytes
                if chunk_offset + chunk_size <= end:
                    continue
                skip = end - chunk_offset
                with _s3_errors():
                    try:
                        body = self._client().get_object(
                            Bucket=self.bucket, Key=f"{self._chunk_prefix(sha)}{chunk_offset:016d}"
                        )["Body"]
                    except Exception as error:
                        if not _is_missing(error):
                            raise
                        # Another server completed (or discarded) this upload meanwhile.
                        if self._head(key) is not None:
                            return
                        raise problems.blob_offset_mismatch(received=self.received(sha), offset=end) from None
                    while piece := body.read(PIECE):
                        if skip:
                            cut = min(skip, len(piece))
                            piece, skip = piece[cut:], skip - cut
                        whole.write(piece)
                        digest.update(piece)
                        end += len(piece)
            actual = digest.hexdigest()
            if actual != sha:
                # Another server may have completed this upload after the look above and taken its chunks, so
                # that fewer (or no) bytes were read here: the blob it stored was verified, the upload succeeded.
                if self._head(key) is not None:
                    return
                self._delete_chunks(sha)
                raise problems.blob_hash_mismatch(sha256=sha, actual=actual)
            whole.seek(0)
            with _s3_errors():
                # Another server may have stored the same verified bytes meanwhile: identical, so harmless.
                self._client().put_object(Bucket=self.bucket, Key=key, Body=whole, ContentLength=end)
        self._delete_chunks(sha)

    def open(self, sha256: str) -> BinaryIO:
        """The complete blob as a seekable file (memory up to SPOOL_BYTES, else a temporary file)."""
        sha = check_sha256(sha256)
        copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (handed to the caller)
        try:
            with full_disk_as_problem(), _s3_errors():
                try:
                    body = self._client().get_object(Bucket=self.bucket, Key=self._key(sha))["Body"]
                except Exception as error:
                    if _is_missing(error):
                        raise problems.not_found() from None
                    raise
                while piece := body.read(PIECE):
                    copy.write(piece)
            copy.seek(0)
        except BaseException:
            copy.close()
            raise
        return copy  # type: ignore[return-value]

    def delete(self, sha256: str) -> None:
        """Remove the blob, any chunks of an upload of it and its thumbnail."""
        sha = check_sha256(sha256)
        self._delete_chunks(sha)
        with _s3_errors():
            for key in (self._key(sha), self._thumb_key(sha)):
                self._client().delete_object(Bucket=self.bucket, Key=key)

    def read_thumbnail(self, sha256: str) -> bytes | None:
        """The blob's web thumbnail (JPEG bytes), None when none is stored."""
        sha = check_sha256(sha256)
        with _s3_errors():
            try:
                return self._client().get_object(Bucket=self.bucket, Key=self._thumb_key(sha))["Body"].read()
            except Exception as error:
                if _is_missing(error):
                    return None
                raise

    def write_thumbnail(self, sha256: str, jpeg: bytes) -> None:
        """Store (or replace) the blob's web thumbnail."""
        sha = check_sha256(sha256)
        with _s3_errors():
            self._client().put_object(
                Bucket=self.bucket, Key=self._thumb_key(sha), Body=jpeg, ContentType="image/jpeg"
            )

    def check(self) -> None:
        """Raise storage_unavailable unless the bucket answers."""
        with _s3_errors():
            try:
                self._client().head_bucket(Bucket=self.bucket)
            except Exception as error:
                if _is_missing(error):
                    raise problems.storage_unavailable(retry_after=STORAGE_RETRY_AFTER) from error
                raise

    def create_bucket(self) -> bool:
        """Create the bucket if it does not exist yet; return whether it was created."""
        with _s3_errors():
            try:
                self._client().head_bucket(Bucket=self.bucket)
                return False
            except Exception as error:
                if not _is_missing(error):
                    raise
            self._client().create_bucket(Bucket=self.bucket)
            return True

    # --- helpers ---------------------------------------------------------------------------------------

    def _head(self, key: str) -> int | None:
        """The object's size, None if there is none."""
        with _s3_errors():
            try:
                return int(self._client().head_object(Bucket=self.bucket, Key=key)["ContentLength"])
            except Exception as error:
                if _is_missing(error):
                    return None
                raise

    def _chunks(self, sha: str) -> list[tuple[int, int]]:
        """The stored chunks of an upload of ``sha`` as (offset, size), by offset."""
        prefix = self._chunk_prefix(sha)
        found: list[tuple[int, int]] = []
        with _s3_errors():
            paginator = self._client().get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    name = item["Key"][len(prefix) :]
                    if name.isdigit():
                        found.append((int(name), int(item["Size"])))
        return sorted(found)

    def _delete_chunks(self, sha: str) -> None:
        with _s3_errors():
            for chunk_offset, _ in self._chunks(sha):
                self._client().delete_object(
                    Bucket=self.bucket, Key=f"{self._chunk_prefix(sha)}{chunk_offset:016d}"
                )


def _reach(chunks: list[tuple[int, int]]) -> int:
    """How far chunks (offset, size), sorted by offset, cover the bytes from 0 without a gap."""
    end = 0
    for offset, size in chunks:
        if offset > end:
            break
        end = max(end, offset + size)
    return end


def _is_missing(error: BaseException) -> bool:
    """Whether a boto3 error means "no such object" (or bucket)."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    status = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return code in _MISSING_CODES or status == "404"


@contextlib.contextmanager
def _s3_errors() -> Iterator[None]:
    """Turn the object store failing (unreachable, erroring, full) into a retryable problem, never a 500."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        if _is_missing(error):
            raise
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = str(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if code in _FULL_CODES or status in _FULL_CODES:
            raise problems.storage_full(retry_after=STORAGE_RETRY_AFTER) from error
        raise problems.storage_unavailable(retry_after=STORAGE_RETRY_AFTER) from error
    except BotoCoreError as error:
        raise problems.storage_unavailable(retry_after=STORAGE_RETRY_AFTER) from error

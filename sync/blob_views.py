"""HTTP endpoints for photo bytes: which blobs are missing, resumable chunked upload, upload status.

Uploads follow the shape of the IETF resumable-uploads draft: ``HEAD`` tells the received offset,
``PUT`` with ``Upload-Offset`` continues, ``Upload-Length`` or ``Upload-Complete: ?1`` finishes.
A blob is kept only once its bytes match its SHA-256 and the application accepted it.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, after_this_request, current_app, request
from flask_smorest import Blueprint

from sync import problems
from sync.backend import BackendGetter, SyncBackend
from sync.blobs import check_sha256
from sync.protocol import BlobMissingReplySchema, BlobMissingRequestSchema, BlobStatusSchema, ProblemSchema

_DOC_AUTH = "Requires `Authorization: Bearer <device token>`."

_OFFSET_HEADER = {
    "description": "Bytes of this blob the server holds (its full size once complete).",
    "schema": {"type": "integer", "minimum": 0},
}
_COMPLETE_HEADER = {
    "description": "`?1` when the blob is complete and verified, `?0` otherwise (structured-field boolean).",
    "schema": {"type": "string", "enum": ["?1", "?0"]},
}
_LIMIT_HEADER = {
    "description": "The largest blob accepted, as `max-size=<bytes>`.",
    "schema": {"type": "string", "example": "max-size=20971520"},
}
_SHA_PARAMETER = {
    "in": "path",
    "name": "sha256",
    "required": True,
    "description": "SHA-256 of the whole file, 64 lowercase hex digits.",
    "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
}
_PUT_PARAMETERS = [
    {
        "in": "header",
        "name": "Upload-Offset",
        "required": True,
        "description": "Where this chunk starts; must equal the server's received count (see HEAD).",
        "schema": {"type": "integer", "minimum": 0},
    },
    {
        "in": "header",
        "name": "Upload-Length",
        "required": False,
        "description": "Total size of the blob; the upload completes when the server has this many bytes.",
        "schema": {"type": "integer", "minimum": 0},
    },
    {
        "in": "header",
        "name": "Upload-Complete",
        "required": False,
        "description": "`?1` completes the upload with this chunk, whatever `Upload-Length` says.",
        "schema": {"type": "string", "enum": ["?1", "?0"]},
    },
]

_DIGITS = re.compile(r"[0-9]{1,18}")


def register_blob_routes(blp: Blueprint, backend: BackendGetter) -> None:
    """Add ``POST /blobs/missing``, ``HEAD /blobs/<sha256>`` and ``PUT /blobs/<sha256>`` to ``blp``."""

    @blp.route("/blobs/missing", methods=["POST"], endpoint="blobs_missing")
    @blp.arguments(BlobMissingRequestSchema)
    @blp.response(200, BlobMissingReplySchema)
    @blp.alt_response(400, schema=ProblemSchema, description="400.2: a hash is not 64 lowercase hex digits.")
    @blp.alt_response(401, schema=ProblemSchema, description="401.1 / 401.2: no valid device token.")
    @blp.doc(description=_DOC_AUTH + " Lists the given hashes the server does not hold completely.")
    def blobs_missing(payload: dict[str, Any]) -> dict[str, Any]:
        """Which of these photos the server still needs."""
        sync = backend()
        sync.authenticate()
        wanted = list(dict.fromkeys(payload["sha256"]))  # dedupe, keep the client's order
        held = held_blobs(sync, wanted)
        return {"missing": [sha for sha in wanted if sha not in held]}

    @blp.route("/blobs/<sha256>", methods=["HEAD"], endpoint="blobs_status")
    @blp.response(
        200,
        description="Upload state in headers, no body.",
        headers={
            "Upload-Offset": _OFFSET_HEADER,
            "Upload-Complete": _COMPLETE_HEADER,
            "Upload-Limit": _LIMIT_HEADER,
        },
    )
    @blp.alt_response(400, schema=ProblemSchema, description="400.2: not a SHA-256.")
    @blp.alt_response(401, schema=ProblemSchema, description="401.1 / 401.2: no valid device token.")
    @blp.doc(
        parameters=[_SHA_PARAMETER],
        description=_DOC_AUTH + " Headers `Upload-Offset` (bytes received; resume a PUT there) and "
        "`Upload-Complete` (`?1` once the blob is verified and kept). An unknown blob has offset 0.",
    )
    def blobs_status(sha256: str) -> Response:
        """How much of this photo the server has."""
        sync = backend()
        sync.authenticate()
        sha = check_sha256(sha256)
        return _status_headers(Response(status=200), sync, sha)

    @blp.route("/blobs/<sha256>", methods=["PUT"], endpoint="blobs_upload")
    @blp.response(200, BlobStatusSchema, headers={"Upload-Offset": _OFFSET_HEADER})
    @blp.alt_response(400, schema=ProblemSchema, description="400.2: bad sha256 or upload headers.")
    @blp.alt_response(401, schema=ProblemSchema, description="401.1 / 401.2: no valid device token.")
    @blp.alt_response(
        409,
        schema=ProblemSchema,
        description="409.40: `Upload-Offset` is not what the server holds; the `Upload-Offset` response "
        "header (and `details.received`) says where to resume.",
        headers={"Upload-Offset": _OFFSET_HEADER},
    )
    @blp.alt_response(413, schema=ProblemSchema, description="413.4: the photo is larger than the limit.")
    @blp.alt_response(
        415, schema=ProblemSchema, description="415.40: not an allowed image (nothing is kept)."
    )
    @blp.alt_response(
        422,
        schema=ProblemSchema,
        description="422.40: the bytes do not match the SHA-256 (discarded: upload again from 0); "
        "422.41: too many pixels (nothing is kept).",
    )
    @blp.doc(
        parameters=[_SHA_PARAMETER, *_PUT_PARAMETERS],
        requestBody={
            "required": True,
            "description": "Raw bytes of one chunk, starting at `Upload-Offset`.",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        },
        description=_DOC_AUTH + " Uploads one chunk (resumable). Headers: `Upload-Offset` (required), "
        "`Upload-Length` (total size, optional), `Upload-Complete: ?1` (optional). When the server holds "
        "`Upload-Length` bytes, or on `Upload-Complete: ?1`, it verifies the SHA-256 and keeps the photo. "
        "A PUT for a photo already complete answers `complete: true` and changes nothing.",
    )
    def blobs_upload(sha256: str) -> dict[str, Any]:
        """Upload a chunk of this photo."""
        sync = backend()
        principal = sync.authenticate()
        sha = check_sha256(sha256)
        offset = _int_header("Upload-Offset")
        if offset is None:
            raise problems.invalid_fields(fields="Upload-Offset (required)")
        length = _int_header("Upload-Length")
        finish = _bool_header("Upload-Complete")
        limit = sync.limits.max_blob_bytes
        # Refuse what cannot fit before reading a byte of it.
        if length is not None and length > limit:
            raise problems.photo_too_large(limit=limit)
        chunk = request.content_length
        if chunk is not None and offset + chunk > limit:
            raise problems.photo_too_large(limit=limit)
        if length is not None and chunk is not None and offset + chunk > length:
            raise problems.invalid_fields(
                fields="Upload-Length (smaller than Upload-Offset + Content-Length)"
            )

        if sync.blobs.has(sha):
            # Re-running the (idempotent) acceptance heals a blob whose first acceptance failed after
            # its bytes were kept, e.g. on a database error or a server killed in between.
            _accept(sync, sha)
            return _held(sync.blobs.received(sha), sha)
        try:
            # Never beyond the announced length either: such bytes could only fail the hash check.
            most = limit if length is None else min(limit, length)
            received = sync.blobs.append(sha, offset, request.stream, most)
        except problems.Problem as problem:
            if problem.kind is problems.blob_offset_mismatch:
                _add_offset_header(int(problem.details["received"]))
            raise
        if finish or (length is not None and received >= length):
            sync.blobs.complete(sha)
            _accept(sync, sha)
            current_app.logger.info(
                "blob %s complete (%d bytes) from device %s", sha, received, principal.device_id
            )
            # Verified bytes in place (complete() raises otherwise) and their acceptance committed: held.
            return _held(received, sha)
        return _status(sync, sha)


def _accept(sync: SyncBackend, sha: str) -> None:
    """Let the application accept the verified blob in one transaction; a refusal deletes it."""
    session = sync.session()
    try:
        sync.on_blob_complete(session, sha)
        session.commit()
    except problems.Problem as problem:
        session.rollback()
        # Only a verdict on the bytes (4xx) deletes them; a full or unreachable store (5xx) is retried.
        if problem.status < 500:
            sync.blobs.delete(sha)
        raise
    except BaseException:
        # Not a verdict on the bytes (the database failed, say): keep them, the next PUT retries.
        session.rollback()
        raise


def held_blobs(sync: SyncBackend, shas: list[str]) -> set[str]:
    """The blobs whose bytes and acceptance are both durable.

    Bytes in place without an accepted record are what a server killed mid-acceptance leaves: the
    acceptance is finished here, or undone when the application refuses the bytes (they are deleted and
    the device uploads again). If it cannot be finished now (the database failing), the blob is not held,
    so the device keeps its copy and retries.
    """
    in_store = [sha for sha in shas if sync.blobs.has(sha)]
    if not in_store:
        return set()
    held = sync.accepted_blobs(sync.session(), in_store)
    for sha in in_store:
        if sha in held:
            continue
        try:
            _accept(sync, sha)
        except problems.Problem:
            continue  # refused and deleted: missing, and the next PUT says why
        except Exception:
            current_app.logger.exception("blob %s: acceptance could not be finished now", sha)
            continue
        held.add(sha)
    return held


def _held(received: int, sha: str) -> dict[str, Any]:
    """The reply for a blob this request has just seen in the store and accepted (no need to ask again)."""
    _add_offset_header(received)
    return {"sha256": sha, "received": received, "complete": True}


def _status(sync: SyncBackend, sha: str) -> dict[str, Any]:
    complete = sha in held_blobs(sync, [sha])
    received = sync.blobs.received(sha)
    _add_offset_header(received)
    return {"sha256": sha, "received": received, "complete": complete}


def _status_headers(response: Response, sync: SyncBackend, sha: str) -> Response:
    complete = sha in held_blobs(sync, [sha])
    response.headers["Upload-Offset"] = str(sync.blobs.received(sha))
    response.headers["Upload-Complete"] = "?1" if complete else "?0"
    response.headers["Upload-Limit"] = f"max-size={sync.limits.max_blob_bytes}"
    # An offset is only true now: no cache (a service worker's included) may answer it later.
    response.headers["Cache-Control"] = "no-store"
    return response


def _add_offset_header(received: int) -> None:
    """Send ``Upload-Offset`` with whatever response this request ends with (a problem's included)."""

    @after_this_request
    def _header(response: Response) -> Response:
        response.headers["Upload-Offset"] = str(received)
        response.headers["Cache-Control"] = "no-store"
        return response


def _int_header(name: str) -> int | None:
    """A non-negative integer header, None when absent; invalid_fields if malformed."""
    value = request.headers.get(name)
    if value is None:
        return None
    value = value.strip()
    if not _DIGITS.fullmatch(value):
        raise problems.invalid_fields(fields=f"{name} (a non-negative integer)")
    return int(value)


def _bool_header(name: str) -> bool:
    """A structured-field boolean header (``?1`` / ``?0``), false when absent."""
    value = request.headers.get(name)
    if value is None:
        return False
    value = value.strip()
    if value not in ("?1", "?0"):
        raise problems.invalid_fields(fields=f"{name} (?1 or ?0)")
    return value == "?1"

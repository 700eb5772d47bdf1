"""The reference sync client: a durable SQLite outbox and replica, and push / pull / photo upload over HTTP.

Usable as a library (tests, tools) and as a command that simulates an inspector's day::

    python -m sync.client simulate --base-url http://127.0.0.1:8000 --username xx_insp1 --password … \
        --inspections 3 --photos-per-hazard 2

It follows DESIGN §4: outbox entries are frozen once written and numbered without gaps; nothing is dropped
before a validated reply for this very device acknowledges it; a bad record never blocks the queue.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import gzip
import hashlib
import http.client
import io
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

from marshmallow import ValidationError

from sync.protocol import (
    SCHEMA_VERSION,
    BlobMissingReplySchema,
    BlobStatusSchema,
    MutationSchema,
    PullReplySchema,
    PushReplySchema,
)

T = TypeVar("T")

#: Codes a blob is set aside with when its local bytes are gone or no longer match their hash.
LOCAL_FILE_MISSING = "local.missing"
LOCAL_FILE_CHANGED = "local.changed"
#: What the server's BlobMissingRequestSchema accepts in one request.
MAX_BLOBS_PER_QUERY = 1000

# Statuses that say "not now" rather than "never": retried with backoff like a 5xx.
_RETRYABLE_4XX = frozenset({408, 425, 429})


# --- transport -------------------------------------------------------------------------------------------


class TransportError(Exception):
    """The request or its reply was lost: connection refused or broken, or a timeout."""


class Headers(Mapping[str, str]):
    """Response headers with case-insensitive lookups; a repeated header keeps every value (``get_all``)."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._values: dict[str, list[str]] = {}
        self._names: dict[str, str] = {}
        for name, value in pairs:
            key = name.lower()
            self._values.setdefault(key, []).append(value)
            self._names.setdefault(key, name)

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def get_all(self, name: str) -> list[str]:
        """Every value of a header that may repeat (Set-Cookie)."""
        return list(self._values.get(name.lower(), []))


@dataclass(frozen=True)
class Response:
    """What a transport brings back: status, headers (case-insensitive) and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))

    def header_values(self, name: str) -> list[str]:
        """Every value of a repeatable header."""
        assert isinstance(self.headers, Headers)
        return self.headers.get_all(name)

    def json(self) -> Any:
        """The body parsed as JSON (ValueError when it is not)."""
        return json.loads(self.body.decode("utf-8"))


class Transport(Protocol):
    """Sends one HTTP request to the server; raises TransportError when the exchange is lost."""

    def request(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None) -> Response:
        """Send ``method path`` (path includes any query string) and return the reply, whatever its status."""
        ...


class UrllibTransport:
    """A Transport over http.client with one kept-alive connection (reopened when it breaks)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base URL must be http(s)://host[:port][/prefix], got {base_url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None
        #: Bytes of reply bodies as they came over the network (compressed or not).
        self.wire_bytes = 0

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = kind(self._host, self._port, timeout=self.timeout)
        return self._connection

    def close(self) -> None:
        """Close the kept-alive connection, if any."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> UrllibTransport:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None) -> Response:
        """Send the request; a lost exchange raises TransportError."""
        for attempt in range(2):
            reused = self._connection is not None
            connection = self._connect()
            try:
                # Pull pages are JSON that gzip shrinks to about a fifth: ask for it, and undo it here.
                sent = {"Accept-Encoding": "gzip", **headers}
                connection.request(method, self._prefix + path, body=body, headers=sent)
                raw = connection.getresponse()
                data = raw.read()
                self.wire_bytes += len(data)
                if (raw.getheader("Content-Encoding") or "").strip().lower() == "gzip":
                    data = gzip.decompress(data)
                reply = Response(raw.status, Headers(raw.getheaders()), data)
                if raw.will_close:
                    self.close()
                return reply
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                self.close()
                # A kept-alive connection the server closed while idle: one immediate retry on a fresh one
                # (every request of the protocol is safe to repeat).
                if reused and attempt == 0:
                    continue
                raise TransportError(f"{method} {path}: {error!r}") from error
            except (OSError, http.client.HTTPException) as error:
                self.close()
                raise TransportError(f"{method} {path}: {error!r}") from error
        raise AssertionError("unreachable")


# --- errors ----------------------------------------------------------------------------------------------


class SyncError(Exception):
    """The server refused a request for good (a 4xx problem), or the client gave up retrying."""

    def __init__(
        self, code: str, message: str, *, status: int | None = None, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details: dict[str, Any] = dict(details or {})


class AuthError(SyncError):
    """401: the device token is missing, unknown or revoked, or the credentials are wrong; sign in again."""


class RetriesExhausted(SyncError):
    """Every attempt failed with a transient error (5xx, lost connection, invalid reply)."""


class _Retry(Exception):
    """A transient failure: a 5xx, a 408/425/429, or a reply that does not validate."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def _problem_of(response: Response) -> tuple[str, str, dict[str, Any]]:
    """Code, message and details of an error reply (a problem body, or the bare status)."""
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            details = body.get("details")
            return body["code"], str(body.get("message") or ""), details if isinstance(details, dict) else {}
    return str(response.status), response.body[:200].decode("utf-8", "replace"), {}


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare enough to fall back to our own backoff


def _check_status(response: Response) -> None:
    """Return on 2xx; raise AuthError (401), _Retry (5xx, 408, 425, 429) or SyncError (other 4xx)."""
    if 200 <= response.status < 300:
        return
    code, message, details = _problem_of(response)
    if response.status == 401:
        raise AuthError(code, message, status=401, details=details)
    if response.status >= 500 or response.status in _RETRYABLE_4XX:
        raise _Retry(f"HTTP {response.status} {code}: {message}", _retry_after(response))
    raise SyncError(code, message, status=response.status, details=details)


# --- the durable outbox ----------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    device_id TEXT,
    token TEXT,
    user_json TEXT,
    last_acked_seq INTEGER NOT NULL DEFAULT 0,
    cursor TEXT
);
INSERT OR IGNORE INTO meta (id) VALUES (1);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    op TEXT NOT NULL,
    base_version INTEGER,
    data TEXT NOT NULL,
    at TEXT NOT NULL,
    created TEXT NOT NULL
);
-- Frozen once written: a later edit is a new mutation.
CREATE TRIGGER IF NOT EXISTS outbox_frozen BEFORE UPDATE ON outbox
BEGIN SELECT RAISE(ABORT, 'outbox entries are frozen'); END;
-- Gapless: the server stops a batch at a gap, so a hole would block the queue forever.
CREATE TRIGGER IF NOT EXISTS outbox_gapless BEFORE INSERT ON outbox
WHEN NEW.seq != (SELECT max(coalesce((SELECT max(seq) FROM outbox), 0), last_acked_seq) + 1 FROM meta)
BEGIN SELECT RAISE(ABORT, 'outbox seqs must be gapless'); END;
-- Only what the server acknowledged may go.
CREATE TRIGGER IF NOT EXISTS outbox_ack_only BEFORE DELETE ON outbox
WHEN OLD.seq > (SELECT last_acked_seq FROM meta)
BEGIN SELECT RAISE(ABORT, 'only acknowledged outbox entries may be dropped'); END;
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    uploaded INTEGER NOT NULL DEFAULT 0,
    rejected TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    added TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS replica (
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    data TEXT,
    PRIMARY KEY (entity, id)
);
"""


def _json_default(value: Any) -> Any:
    """Values a caller may put in mutation data, as they travel (converted once, then frozen)."""
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("datetimes in mutation data must carry a time zone")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(value: Any) -> str:
    # allow_nan=False: NaN is not JSON, and a push the server cannot parse would block the queue.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=False, default=_json_default)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BlobRecord:
    """A photo's bytes known to the outbox: where they are, and whether the server has them."""

    sha256: str
    path: str
    size: int
    uploaded: bool
    rejected: str | None


class Outbox:
    """A device's durable state in one SQLite file: the outbox, photo blobs, the replica and the cursor.

    WAL with synchronous=FULL: a committed mutation survives a crash or power loss.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # Autocommit mode: every write below opens its own explicit BEGIN IMMEDIATE transaction.
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        # executescript commits any open transaction first, so the script brings its own.
        self._db.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")

    def close(self) -> None:
        """Close the file (everything committed is already durable)."""
        self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # meta

    def _meta(self, column: str) -> Any:
        return self._db.execute(f"SELECT {column} FROM meta WHERE id = 1").fetchone()[0]

    @property
    def device_id(self) -> str | None:
        """This device's id, once chosen."""
        return self._meta("device_id")

    @property
    def token(self) -> str | None:
        """The bearer token from registration."""
        return self._meta("token")

    @property
    def user(self) -> dict[str, Any] | None:
        """The signed-in user as the server described it at registration."""
        text = self._meta("user_json")
        return json.loads(text) if text else None

    @property
    def last_acked_seq(self) -> int:
        """The highest seq the server acknowledged (and this outbox dropped)."""
        return int(self._meta("last_acked_seq"))

    @property
    def cursor(self) -> str | None:
        """The pull cursor of the replica."""
        return self._meta("cursor")

    def set_device(self, device_id: str, token: str | None, user: Mapping[str, Any] | None = None) -> None:
        """Remember the device id (and its token once issued); the id cannot change after numbering began."""
        with self._transaction() as db:
            current, acked = db.execute("SELECT device_id, last_acked_seq FROM meta WHERE id = 1").fetchone()
            numbered = acked > 0 or db.execute("SELECT 1 FROM outbox LIMIT 1").fetchone() is not None
            if current is not None and current != device_id and numbered:
                # The seqs belong to the old device: under a new id the server would see a gap forever.
                raise ValueError("this outbox already numbered mutations for another device id")
            db.execute(
                "UPDATE meta SET device_id = ?, token = ?, user_json = coalesce(?, user_json) WHERE id = 1",
                (device_id, token, _dumps(dict(user)) if user is not None else None),
            )

    # outbox

    def add(
        self,
        entity: str,
        id: str | uuid.UUID,
        data: Mapping[str, Any],
        op: str = "upsert",
        *,
        at: datetime | None = None,
        base_version: int | None = None,
    ) -> int:
        """Append a frozen mutation and return its seq (the next one, assigned in the same transaction)."""
        when = at or _now()
        if when.tzinfo is None:
            raise ValueError("a mutation's time must carry a time zone")
        try:
            id_text = str(id if isinstance(id, uuid.UUID) else uuid.UUID(str(id)))
        except ValueError:
            raise ValueError(f"a mutation's id must be a UUID, got {id!r}") from None
        message = {"seq": 1, "entity": entity, "id": id_text, "op": op, "base_version": base_version,
                   "data": json.loads(_dumps(dict(data))), "at": when.isoformat()}  # fmt: skip
        # Validated now: a malformed entry would make the server refuse every batch containing it.
        errors = MutationSchema().validate(message)
        if errors:
            raise ValueError(f"invalid mutation: {errors}")
        with self._transaction() as db:
            seq = int(db.execute(
                "SELECT max(coalesce((SELECT max(seq) FROM outbox), 0), last_acked_seq) + 1 FROM meta"
            ).fetchone()[0])  # fmt: skip
            db.execute(
                "INSERT INTO outbox (seq, entity, id, op, base_version, data, at, created) VALUES (?,?,?,?,?,?,?,?)",
                (seq, entity, message["id"], op, base_version, _dumps(message["data"]), message["at"],
                 _now().isoformat()),
            )  # fmt: skip
        return seq

    def pending(self, limit: int = 100) -> list[dict[str, Any]]:
        """The oldest unacknowledged mutations, in seq order, as they travel in a push."""
        rows = self._db.execute(
            "SELECT seq, entity, id, op, base_version, data, at FROM outbox ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [{"seq": seq, "entity": entity, "id": id_, "op": op, "base_version": base_version,
                 "data": json.loads(data), "at": at} for seq, entity, id_, op, base_version, data, at in rows]  # fmt: skip

    def pending_count(self) -> int:
        """How many mutations wait for the server."""
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def ack(self, upto_seq: int) -> int:
        """Drop the entries with seq <= ``upto_seq``; returns how many were dropped."""
        with self._transaction() as db:
            # Never beyond what exists: acknowledging a seq not yet written would leave a gap for the next add.
            top = db.execute("SELECT max(seq) FROM outbox WHERE seq <= ?", (upto_seq,)).fetchone()[0]
            if top is None:
                return 0
            db.execute("UPDATE meta SET last_acked_seq = max(last_acked_seq, ?) WHERE id = 1", (top,))
            return db.execute("DELETE FROM outbox WHERE seq <= ?", (top,)).rowcount

    # blobs

    def add_blob(self, path: str | Path) -> str:
        """Register a file's bytes for upload under their SHA-256, which is returned."""
        file = Path(path).resolve()
        with file.open("rb") as handle:
            sha = hashlib.file_digest(handle, "sha256").hexdigest()
        size = file.stat().st_size
        with self._transaction() as db:
            db.execute(
                "INSERT INTO blobs (sha256, path, size, added) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (sha256) DO UPDATE SET path = excluded.path WHERE blobs.uploaded = 0",
                (sha, str(file), size, _now().isoformat()),
            )
        return sha

    def blob(self, sha256: str) -> BlobRecord | None:
        """The record of one blob."""
        row = self._db.execute(
            "SELECT sha256, path, size, uploaded, rejected FROM blobs WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return BlobRecord(row[0], row[1], row[2], bool(row[3]), row[4]) if row else None

    def blobs_to_upload(self) -> list[BlobRecord]:
        """Blobs the server has not confirmed and has not refused, oldest first."""
        rows = self._db.execute(
            # Those that failed before go last: one blob the server keeps choking on must not hold up the rest.
            "SELECT sha256, path, size, uploaded, rejected FROM blobs WHERE uploaded = 0 AND rejected IS NULL "
            "ORDER BY failures, added, sha256"
        ).fetchall()
        return [BlobRecord(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]

    def mark_uploaded(self, sha256: str) -> None:
        """The server confirmed it holds the complete, verified blob."""
        with self._transaction() as db:
            db.execute("UPDATE blobs SET uploaded = 1 WHERE sha256 = ?", (sha256,))

    def note_blob_failure(self, sha256: str) -> None:
        """An upload of this blob gave up on transient errors: offer it after the others next time."""
        with self._transaction() as db:
            db.execute("UPDATE blobs SET failures = failures + 1 WHERE sha256 = ?", (sha256,))

    def mark_rejected(self, sha256: str, code: str) -> None:
        """The server refused the blob for good (not an image, too large …): stop offering it."""
        with self._transaction() as db:
            db.execute("UPDATE blobs SET rejected = ? WHERE sha256 = ?", (code, sha256))

    # replica

    def apply_page(self, changes: Iterable[Mapping[str, Any]], cursor: str, *, reset: bool = False) -> int:
        """Apply a pulled page and store its cursor in one transaction (dropping the replica first on reset)."""
        count = 0
        with self._transaction() as db:
            if reset:
                db.execute("DELETE FROM replica")
            for change in changes:
                deleted = bool(change["deleted"])
                data = None if deleted or change.get("data") is None else _dumps(change["data"])
                db.execute(
                    "INSERT INTO replica (entity, id, version, deleted, data) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (entity, id) DO UPDATE SET version = excluded.version, "
                    "deleted = excluded.deleted, data = excluded.data",
                    (change["entity"], str(change["id"]), int(change["version"]), int(deleted), data),
                )
                count += 1
            db.execute("UPDATE meta SET cursor = ? WHERE id = 1", (cursor,))
        return count

    def reset_replica(self) -> None:
        """Drop every replicated row and the cursor (never the outbox): the next pull starts from zero."""
        with self._transaction() as db:
            db.execute("DELETE FROM replica")
            db.execute("UPDATE meta SET cursor = NULL WHERE id = 1")

    def replica(self, entity: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Replicated rows of one entity, by id: dicts shaped like pull changes."""
        rows = self._db.execute(
            "SELECT entity, id, version, deleted, data FROM replica WHERE entity = ? "
            + ("" if include_deleted else "AND deleted = 0 ")
            + "ORDER BY id",
            (entity,),
        ).fetchall()
        return [_replica_row(row) for row in rows]

    def replica_get(self, entity: str, id: str) -> dict[str, Any] | None:
        """One replicated row (tombstones included), or None."""
        row = self._db.execute(
            "SELECT entity, id, version, deleted, data FROM replica WHERE entity = ? AND id = ?", (entity, id)
        ).fetchone()
        return _replica_row(row) if row else None


def _replica_row(row: tuple[Any, ...]) -> dict[str, Any]:
    entity, id_, version, deleted, data = row
    return {"entity": entity, "id": id_, "version": version, "deleted": bool(deleted),
            "data": json.loads(data) if data is not None else None}  # fmt: skip


# --- the client ------------------------------------------------------------------------------------------


@dataclass
class PushSummary:
    """What a push achieved."""

    batches: int = 0
    sent: int = 0
    applied: int = 0
    duplicate: int = 0
    quarantined: int = 0
    not_processed: int = 0
    dropped: int = 0
    last_seq: int | None = None
    #: Results that carry a problem code (quarantined, or a reused seq with other content).
    problems: list[dict[str, Any]] = field(default_factory=list)
    #: The server is behind this outbox (a gap it cannot fill): nothing more can be pushed now.
    stalled: bool = False


@dataclass
class SyncSummary:
    """What one sync() did: blobs confirmed, the push, and changes pulled."""

    uploaded: int
    push: PushSummary
    pulled: int


class SyncClient:
    """Push, pull and photo uploads for one device, on top of an Outbox and a Transport.

    Transient failures (5xx, lost exchanges, replies that do not validate) are retried with exponential
    backoff and jitter, using only ``sleep`` and ``rng``: with a fake sleep and a seeded rng it is
    deterministic.
    """

    def __init__(
        self,
        transport: Transport,
        outbox: Outbox,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 8,
        backoff_base: float = 0.5,
        backoff_cap: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.transport = transport
        self.outbox = outbox
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.rng = rng if rng is not None else random.Random()
        #: Counters for reports: retries made, requests sent, request and reply bytes.
        self.retries = 0
        self.requests = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    # plumbing

    def _send(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None,
        json_body: Any = None, auth: bool = True,
    ) -> Response:  # fmt: skip
        all_headers = {"Accept": "application/json", **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, allow_nan=False).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        if auth:
            token = self.outbox.token
            if not token:
                raise AuthError("401.1", "this device is not registered: call register() first", status=401)
            all_headers["Authorization"] = f"Bearer {token}"
        self.requests += 1
        self.bytes_sent += len(body or b"")
        response = self.transport.request(method, path, headers=all_headers, body=body)
        self.bytes_received += len(response.body)
        return response

    def _backoff(self, failures: int, retry_after: float | None = None) -> None:
        """Sleep before attempt ``failures + 1``: exponential, capped, jittered, at least any Retry-After."""
        delay = min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1))
        # Equal jitter: many tablets reconnecting at once after an outage must not retry in lockstep.
        delay = delay / 2 + self.rng.random() * delay / 2
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_cap))
        self.retries += 1
        self.sleep(delay)

    def _exchange(self, method: str, path: str, parse: Callable[[Response], T], **send: Any) -> T:
        """Send until a reply passes ``parse``: transient failures are retried, a 4xx raises."""
        failures = 0
        while True:
            try:
                response = self._send(method, path, **send)
                _check_status(response)
                return parse(response)
            except (TransportError, _Retry) as error:
                failures += 1
                if failures >= self.max_attempts:
                    raise RetriesExhausted("retries_exhausted", f"{method} {path}: {error}") from error
                self._backoff(failures, error.retry_after if isinstance(error, _Retry) else None)

    @property
    def device_id(self) -> str:
        """This device's id (AuthError when not registered)."""
        device_id = self.outbox.device_id
        if not device_id or not self.outbox.token:
            raise AuthError("401.1", "this device is not registered: call register() first", status=401)
        return device_id

    # registration

    def register(self, username: str, password: str, label: str | None = None) -> str:
        """Sign in and register this device; stores its id and bearer token in the outbox and returns the id.

        The id is chosen (or kept, on a re-registration) before asking, so a retried registration, or one
        after a revoked token, continues the same device and its seq numbering.
        """
        device_id = self.outbox.device_id or str(uuid.uuid4())
        self.outbox.set_device(device_id, self.outbox.token)
        login = self._exchange(
            "POST", "/api/auth/login", _parse_login, json_body={"username": username, "password": password},
            auth=False,
        )  # fmt: skip
        cookie, csrf, user = login
        body: dict[str, Any] = {"device_id": device_id}
        if label:
            body["label"] = label
        token = self._exchange(
            "POST", "/api/devices", functools.partial(_parse_registration, device_id), json_body=body,
            headers={"Cookie": cookie, "X-CSRF-Token": csrf}, auth=False,
        )  # fmt: skip
        self.outbox.set_device(device_id, token, user)
        return device_id

    # push

    def push(self, batch_size: int = 100) -> PushSummary:
        """Push every pending mutation in batches; drop each only once a validated reply acknowledges it."""
        device_id = self.device_id
        summary = PushSummary()
        size = max(1, batch_size)
        while True:
            batch = self.outbox.pending(size)
            if not batch:
                return summary
            body = {"device_id": device_id, "schema": SCHEMA_VERSION, "mutations": batch}
            seqs = [m["seq"] for m in batch]
            try:
                reply = self._exchange(
                    "POST", "/api/sync/push", functools.partial(_parse_push_reply, device_id, frozenset(seqs)),
                    json_body=body,
                )  # fmt: skip
            except SyncError as error:
                if error.status == 413 and size > 1:
                    # Too many mutations or bytes for one request: split the batch and go on.
                    size = max(1, min(size, len(batch)) // 2)
                    continue
                raise
            summary.batches += 1
            summary.sent += len(batch)
            summary.last_seq = reply["last_seq"]
            for result in reply["results"]:
                status = result["status"]
                setattr(summary, status, getattr(summary, status) + 1)
                if result.get("code"):
                    summary.problems.append(result)
            # Only what this batch carried, and only up to what the server says it has processed.
            upto = min(reply["last_seq"], seqs[-1])
            if upto >= seqs[0]:
                summary.dropped += self.outbox.ack(upto)
            if upto < seqs[-1]:
                # A gap on the server side (it is behind this outbox): the rest stays queued.
                summary.stalled = True
                return summary

    # pull

    def pull(self, limit: int = 500) -> int:
        """Pull pages until none is left, applying each page with its cursor atomically; returns the changes."""
        total = 0
        restarted = False
        while True:
            cursor = self.outbox.cursor
            query = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
            try:
                page = self._exchange(
                    "GET", "/api/sync/pull?" + urllib.parse.urlencode(query), _parse_pull_reply
                )
            except SyncError as error:
                if error.code == "400.41" and cursor and not restarted:
                    # The server no longer knows our cursor (e.g. its secret changed): resync from zero.
                    self.outbox.reset_replica()
                    restarted = True
                    continue
                raise
            total += self.outbox.apply_page(page["changes"], page["cursor"], reset=page["reset"])
            if not page["has_more"]:
                return total

    # photos

    def add_photo(self, path: str | Path) -> str:
        """Register a photo file's bytes for upload; returns their SHA-256 (the metadata is a mutation)."""
        return self.outbox.add_blob(path)

    def upload_blobs(self, chunk_size: int = 256 * 1024) -> int:
        """Upload every blob the server lacks, resumably; returns how many the server confirmed complete."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        records = self.outbox.blobs_to_upload()
        if not records:
            return 0
        missing: set[str] = set()
        for start in range(0, len(records), MAX_BLOBS_PER_QUERY):
            asked = [r.sha256 for r in records[start : start + MAX_BLOBS_PER_QUERY]]
            reply = self._exchange(
                "POST", "/api/sync/blobs/missing", _parse_missing, json_body={"sha256": asked}
            )
            missing.update(reply)
        confirmed = 0
        # Those the server says it holds first: each is still confirmed by a HEAD before it is marked (a bare
        # list is no proof), and if the HEAD disagrees it is uploaded after all.
        for record in sorted(records, key=lambda r: r.sha256 in missing):
            try:
                # A blob the server lacks starts at 0 without a HEAD first: should a partial upload exist
                # after all, the server's 409 names its offset and the upload continues from there.
                first_offset = 0 if record.sha256 in missing else None
                done = self._upload_one(record, chunk_size, first_offset)
            except RetriesExhausted:
                self.outbox.note_blob_failure(record.sha256)
                raise
            confirmed += int(done)
        return confirmed

    def _upload_one(self, record: BlobRecord, chunk_size: int, start: int | None = None) -> bool:
        """Bring one blob to complete on the server; False when the server refused it for good.

        ``start`` is where to begin without asking; None asks the server (HEAD) first."""
        path = f"/api/sync/blobs/{record.sha256}"
        failures = 0
        restarts = 0
        offset: int | None = start
        try:
            handle = Path(record.path).open("rb")  # noqa: SIM115  (closed by the with below)
        except FileNotFoundError:
            # The bytes are gone from this device: no retry can bring them back, so stop offering them.
            self.outbox.mark_rejected(record.sha256, LOCAL_FILE_MISSING)
            return False
        with handle:
            while True:
                try:
                    if offset is None:
                        offset, complete = self._blob_offset(path)
                        if complete:
                            self.outbox.mark_uploaded(record.sha256)
                            return True
                    if offset > record.size:
                        raise SyncError(
                            "blob_offset", f"the server holds {offset} bytes of a {record.size}-byte blob"
                        )
                    handle.seek(offset)
                    wanted = min(chunk_size, record.size - offset)
                    chunk = handle.read(wanted)
                    if len(chunk) < wanted:
                        # The file shrank since it was registered: these are no longer the bytes of the hash.
                        self.outbox.mark_rejected(record.sha256, LOCAL_FILE_CHANGED)
                        return False
                    response = self._send("PUT", path, body=chunk, headers={
                        "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset),
                        "Upload-Length": str(record.size)})  # fmt: skip
                    if response.status == 409:
                        # Someone (our own lost attempt, most likely) moved the offset: continue from there.
                        offset = _header_int(response, "Upload-Offset")
                        failures += 1
                        if failures >= self.max_attempts:
                            raise RetriesExhausted("retries_exhausted", f"PUT {path}: offsets keep moving")
                        continue
                    if response.status == 422 and _problem_of(response)[0] == "422.40":
                        # The bytes did not hash to the name: the server dropped them; start again from zero,
                        # unless it is our copy that changed since it was registered.
                        handle.seek(0)
                        if hashlib.file_digest(handle, "sha256").hexdigest() != record.sha256:
                            self.outbox.mark_rejected(record.sha256, LOCAL_FILE_CHANGED)
                            return False
                        restarts += 1
                        if restarts > 2:
                            raise SyncError("422.40", f"{record.sha256}: the server keeps rejecting the bytes' hash",
                                            status=422)  # fmt: skip
                        offset = 0
                        continue
                    try:
                        _check_status(response)
                    except SyncError as error:
                        if isinstance(error, AuthError) or error.status == 404:
                            raise
                        if "." not in error.code:
                            # No problem body: a proxy's page, a cut reply. Only the app's verdict is final.
                            raise _Retry(f"HTTP {error.status} without a problem body") from None
                        # Not an image, too large, a decompression bomb …: never accepted, never retried.
                        self.outbox.mark_rejected(record.sha256, error.code)
                        return False
                    status = _parse_blob_status(record.sha256, response)
                    if status["complete"]:
                        self.outbox.mark_uploaded(record.sha256)
                        return True
                    if status["received"] <= offset:
                        raise _Retry(f"no progress: {status['received']} bytes after a chunk at {offset}")
                    offset = status["received"]
                    failures = 0
                except (TransportError, _Retry) as error:
                    failures += 1
                    if failures >= self.max_attempts:
                        raise RetriesExhausted(
                            "retries_exhausted", f"upload {record.sha256}: {error}"
                        ) from error
                    self._backoff(failures, error.retry_after if isinstance(error, _Retry) else None)
                    offset = None  # we do not know what arrived: ask again

    def _blob_offset(self, path: str) -> tuple[int, bool]:
        """HEAD: how many bytes the server holds, and whether the blob is complete."""
        response = self._send("HEAD", path)
        if response.status == 404:
            return 0, False
        _check_status(response)
        complete = response.headers.get("Upload-Complete")
        if complete not in ("?1", "?0"):
            raise _Retry(f"HEAD {path}: no valid Upload-Complete header")
        return _header_int(response, "Upload-Offset"), complete == "?1"

    # everything

    def sync(
        self, *, batch_size: int = 100, pull_limit: int = 500, chunk_size: int = 256 * 1024
    ) -> SyncSummary:
        """Upload photos, push the outbox, then pull: one full round.

        Photo uploads that give up do not hold back the push and the pull (metadata may travel before its
        bytes); their error is raised once those are done.
        """
        upload_error: RetriesExhausted | None = None
        try:
            uploaded = self.upload_blobs(chunk_size)
        except RetriesExhausted as error:
            uploaded, upload_error = 0, error
        pushed = self.push(batch_size)
        pulled = self.pull(pull_limit)
        if upload_error is not None:
            raise upload_error
        return SyncSummary(uploaded=uploaded, push=pushed, pulled=pulled)


def _header_int(response: Response, name: str) -> int:
    value = response.headers.get(name, "")
    if not value.isdigit():
        raise _Retry(f"reply without a valid {name} header")
    return int(value)


def _load(schema: Any, response: Response) -> dict[str, Any]:
    """The reply body validated against ``schema``; anything else is a transient failure."""
    try:
        return dict(schema.load(response.json()))
    except (ValueError, UnicodeDecodeError, ValidationError, TypeError) as error:
        raise _Retry(f"invalid reply ({type(error).__name__}): {str(error)[:200]}") from None


def _parse_login(response: Response) -> tuple[str, str, dict[str, Any]]:
    try:
        body = response.json()
        csrf = body["csrf_token"]
        user = body.get("user") or {}
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
        raise _Retry("invalid login reply") from None
    # The session cookie, sent back verbatim: name=value of each Set-Cookie (attributes are ours to ignore).
    cookie = "; ".join(h.split(";", 1)[0].strip() for h in response.header_values("Set-Cookie"))
    if not cookie or not isinstance(csrf, str):
        raise _Retry("login reply without a session cookie or CSRF token")
    return cookie, csrf, user if isinstance(user, dict) else {}


def _parse_registration(device_id: str, response: Response) -> str:
    try:
        body = response.json()
        registered, token = str(body["device"]["id"]), body["token"]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise _Retry("invalid registration reply") from None
    if registered != device_id or not isinstance(token, str) or not token:
        raise _Retry("the registration reply is not for this device")
    return token


def _parse_push_reply(device_id: str, seqs: frozenset[int], response: Response) -> dict[str, Any]:
    reply = _load(PushReplySchema(), response)
    if str(reply["device_id"]) != device_id:
        # Someone else's reply (a confused proxy, a bug): acting on it could drop entries never applied.
        raise _Retry(f"push reply for device {reply['device_id']}, not {device_id}")
    if any(r["seq"] not in seqs for r in reply["results"]):
        raise _Retry("push reply with results for seqs that were not sent")
    return reply


def _parse_pull_reply(response: Response) -> dict[str, Any]:
    return _load(PullReplySchema(), response)


def _parse_missing(response: Response) -> list[str]:
    return list(_load(BlobMissingReplySchema(), response)["missing"])


def _parse_blob_status(sha256: str, response: Response) -> dict[str, Any]:
    status = _load(BlobStatusSchema(), response)
    if status["sha256"] != sha256:
        raise _Retry(f"upload reply for blob {status['sha256']}, not {sha256}")
    return status


# --- simulation ------------------------------------------------------------------------------------------

#: Colleagues who may accompany the signed-in inspector (an inspection needs two inspectors).
INSPECTORS = (("张建国", "14112301001"), ("刘晓燕", "14112301002"), ("王志强", "14112301003"),
              ("李红梅", "14112301004"), ("赵永刚", "14112301005"), ("陈海燕", "14112301006"))  # fmt: skip
PLACES = ("炼钢车间", "砂光车间", "铸造车间", "除尘器房", "液氨储罐区", "配电室", "原料库", "煤气柜区域")
MEASURES = ("立即停止相关作业，加装安全防护设施", "制定整改方案，落实专人负责", "完善操作规程并组织全员培训",
            "更换老化设备，委托有资质单位检测")  # fmt: skip
RESPONSIBLE = ("王建平", "孙立新", "周国庆", "吴淑芬")
CHINA_TIME = timezone(timedelta(hours=8))
#: Where the demo county is, for enterprises without coordinates.
DEFAULT_POSITION = (38.47, 111.15)

# A valid 8×8 grey JPEG, used when Pillow is not installed (a comment segment makes each one unique).
_TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hn"
    "Pk1xeXBkeFxlZ2P/wAALCAAIAAgBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AP//Z"
)


def item_applies(rule: Mapping[str, Any] | None, sectors: Iterable[str], dust_workers: int | None) -> bool:
    """Whether a catalogue item's ``applies_when`` covers an enterprise (an unknown worker count applies)."""
    rule = rule or {}
    wanted = set(rule.get("sectors_any") or ())
    if wanted and not wanted & set(sectors):
        return False
    minimum = rule.get("min_dust_workers")
    return minimum is None or dust_workers is None or dust_workers >= minimum


def applicable_items(catalogue: Mapping[str, Any], enterprise: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The items of a replicated catalogue that apply to a replicated enterprise, in catalogue order."""
    sectors = enterprise.get("sectors") or []
    workers = enterprise.get("dust_workers")
    return [
        dict(i) for i in catalogue.get("items") or [] if item_applies(i.get("applies_when"), sectors, workers)
    ]


def current_catalogue(rows: Sequence[Mapping[str, Any]], today: date) -> Mapping[str, Any] | None:
    """The replicated catalogue row in force on ``today`` (the highest version), else the highest version."""

    def in_force(row: Mapping[str, Any]) -> bool:
        data = row["data"] or {}
        start, end = data.get("effective_from"), data.get("effective_to")
        return (not start or str(start) <= today.isoformat()) and (not end or str(end) >= today.isoformat())

    candidates = [r for r in rows if in_force(r)] or list(rows)
    return max(candidates, key=lambda r: (r["data"] or {}).get("version") or 0, default=None)


def make_jpeg(
    rng: random.Random,
    label: str,
    taken_at: datetime,
    size: tuple[int, int] = (1024, 768),
    position: tuple[float, float] | None = None,
) -> bytes:
    """A unique, valid JPEG standing in for a site photo, with EXIF time (and GPS) like a camera's.

    Made with Pillow when it is installed; else a tiny fixed image made unique by a comment segment.
    """
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        comment = f"{label} {taken_at.isoformat()} {rng.getrandbits(64):016x}".encode()
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        return _TINY_JPEG[:2] + segment + _TINY_JPEG[2:]
    width, height = size
    image = Image.new("RGB", size, (rng.randrange(40, 200), rng.randrange(40, 200), rng.randrange(40, 200)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        box = (x0, y0, min(width, x0 + rng.randrange(20, 200)), min(height, y0 + rng.randrange(20, 150)))
        draw.rectangle(box, fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    # Seeded grain: flat shapes alone compress to a few kB, far smaller than a site photo.
    grain = Image.frombytes("L", size, rng.randbytes(width * height)).convert("RGB")
    image = Image.blend(image, grain, 0.15)
    local = taken_at.astimezone(CHINA_TIME)
    ImageDraw.Draw(image).text((10, 10), f"{label} {local:%Y-%m-%d %H:%M:%S}", fill=(255, 255, 255))
    exif = Image.Exif()
    exif[0x010F] = "sync.client"  # Make
    exif[0x0110] = "simulate"  # Model
    details = exif.get_ifd(0x8769)  # Exif IFD
    details[0x9003] = local.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal, local time as cameras write it
    details[0x9011] = "+08:00"  # OffsetTimeOriginal
    if position is not None:
        gps = exif.get_ifd(0x8825)
        lat, lon = position
        gps[1], gps[2] = ("N" if lat >= 0 else "S"), _dms(abs(lat))
        gps[3], gps[4] = ("E" if lon >= 0 else "W"), _dms(abs(lon))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


def _dms(degrees: float) -> tuple[float, float, float]:
    """Degrees as EXIF's (degrees, minutes, seconds)."""
    whole = int(degrees)
    minutes = (degrees - whole) * 60
    return float(whole), float(int(minutes)), round((minutes - int(minutes)) * 60, 4)


@dataclass
class SimulatedInspection:
    """What simulate_inspection put in the outbox."""

    inspection_id: str
    mutations: int
    items: int
    hazards: int
    photos: list[str]
    photo_bytes: int


def _new_id() -> str:
    # Ids stay random even with a seed: a rerun against the same server must not collide with old records.
    return str(uuid.uuid4())


def simulate_inspection(
    outbox: Outbox,
    enterprise: Mapping[str, Any],
    catalogue: Mapping[str, Any],
    *,
    rng: random.Random,
    photo_dir: Path,
    photos_per_hazard: int = 1,
    me: Mapping[str, Any] | None = None,
    non_compliant_rate: float = 0.15,
    now: datetime | None = None,
    photo_size: tuple[int, int] = (1024, 768),
) -> SimulatedInspection:
    """Record a whole inspection as a tablet would: header, answers, hazards with photos, then the submit.

    ``enterprise`` and ``catalogue`` are replica rows. Every applicable item is answered; at least one is
    non-compliant (so each inspection exercises hazards and photos), each non-compliant one gets a hazard
    at the item's default level and ``photos_per_hazard`` photos.
    """
    finished = now or _now()
    started = finished - timedelta(minutes=rng.randrange(40, 180))
    data, catalogue_data = enterprise["data"] or {}, catalogue["data"] or {}
    lat, lon = data.get("lat") or DEFAULT_POSITION[0], data.get("lon") or DEFAULT_POSITION[1]
    items = applicable_items(catalogue_data, data)
    if not items:
        raise ValueError(f"no catalogue item applies to {data.get('name')}")
    colleagues = rng.sample(INSPECTORS, 2)
    lead = {"role": "inspector", "user_id": me.get("id"), "name": me.get("display_name") or colleagues[0][0],
            "badge_no": me.get("badge_no") or colleagues[0][1]} if me else \
        {"role": "inspector", "name": colleagues[0][0], "badge_no": colleagues[0][1]}  # fmt: skip
    second = next(c for c in colleagues if c[0] != lead["name"])
    inspection_id = _new_id()
    seqs = [outbox.add("inspection", inspection_id, {
        "enterprise_id": enterprise["id"], "catalogue_id": catalogue["id"], "kind": "unannounced",
        "started_at": started, "start_lat": round(lat + rng.uniform(-2e-4, 2e-4), 6),
        "start_lon": round(lon + rng.uniform(-2e-4, 2e-4), 6), "start_accuracy_m": round(rng.uniform(4, 25), 1),
        "participants": [lead, {"role": "inspector", "name": second[0], "badge_no": second[1]}],
    }, at=started)]  # fmt: skip
    failing = {i["code"] for i in items if rng.random() < non_compliant_rate} or {rng.choice(items)["code"]}
    step = (finished - started) / (len(items) + 2)
    for index, item in enumerate(items, 1):
        answered = started + step * index
        bad = item["code"] in failing
        seqs.append(outbox.add("item_result", _new_id(), {
            "inspection_id": inspection_id, "item_code": item["code"],
            "result": "non_compliant" if bad else "compliant",
            "note": "现场检查发现问题，已拍照取证" if bad else "现场查看，符合要求", "answered_at": answered,
        }, at=answered))  # fmt: skip
    photos: list[str] = []
    photo_bytes = 0
    photo_dir.mkdir(parents=True, exist_ok=True)
    for item in (i for i in items if i["code"] in failing):
        hazard_id = _new_id()
        found = started + step * (len(items) + 1)
        seqs.append(outbox.add("hazard", hazard_id, {
            "enterprise_id": enterprise["id"], "inspection_id": inspection_id, "item_code": item["code"],
            "description": f"检查发现：{item.get('text') or item['code']}", "level": item.get("default_level") or "general",
            "found_at": found, "deadline": (found + timedelta(days=30)).date(), "place": rng.choice(PLACES),
            "terms": {"responsible_person": rng.choice(RESPONSIBLE), "measures": rng.choice(MEASURES)},
        }, at=found))  # fmt: skip
        for number in range(photos_per_hazard):
            taken = found + timedelta(seconds=20 * (number + 1))
            where = (round(lat + rng.uniform(-3e-4, 3e-4), 6), round(lon + rng.uniform(-3e-4, 3e-4), 6))
            jpeg = make_jpeg(rng, f"{item['code']} {hazard_id[:8]} #{number + 1}", taken, photo_size, where)
            sha = hashlib.sha256(jpeg).hexdigest()
            file = photo_dir / f"{sha}.jpg"
            file.write_bytes(jpeg)
            outbox.add_blob(file)
            photos.append(sha)
            photo_bytes += len(jpeg)
            seqs.append(outbox.add("photo", _new_id(), {
                "sha256": sha, "entity_type": "hazard", "entity_id": hazard_id, "captured_at": taken,
                "lat": where[0], "lon": where[1], "accuracy_m": round(rng.uniform(3, 15), 1), "mime": "image/jpeg",
                "size": len(jpeg), "width": photo_size[0], "height": photo_size[1],
            }, at=taken))  # fmt: skip
    seqs.append(outbox.add("inspection", inspection_id, {
        "status": "submitted", "finished_at": finished, "end_lat": round(lat + rng.uniform(-2e-4, 2e-4), 6),
        "end_lon": round(lon + rng.uniform(-2e-4, 2e-4), 6), "end_accuracy_m": round(rng.uniform(4, 25), 1),
    }, at=finished))  # fmt: skip
    return SimulatedInspection(inspection_id, len(seqs), len(items), len(failing), photos, photo_bytes)


TransportFactory = Callable[[str, float], Transport]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sync.client", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sim = commands.add_parser("simulate", help="register, pull, record inspections with photos, sync, report")
    sim.add_argument("--base-url", required=True, help="the server, e.g. http://127.0.0.1:8000")
    sim.add_argument("--username", required=True)
    sim.add_argument("--password", default=os.environ.get("SYNC_PASSWORD"),
                     help="the user's password (default: $SYNC_PASSWORD)")  # fmt: skip
    sim.add_argument("--inspections", type=int, default=1, metavar="N")
    sim.add_argument("--photos-per-hazard", type=int, default=1, metavar="K")
    sim.add_argument(
        "--state", type=Path, help="the device's SQLite file, kept between runs (default: temporary)"
    )
    sim.add_argument("--seed", type=int, help="seed for choices, photos and backoff jitter")
    sim.add_argument("--label", default="sync.client simulate", help="the device label shown to admins")
    sim.add_argument("--non-compliant-rate", type=float, default=0.15)
    sim.add_argument("--batch-size", type=int, default=100)
    sim.add_argument("--chunk-size", type=int, default=256 * 1024)
    sim.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request")
    return parser


def main(argv: Sequence[str] | None = None, *, transport_factory: TransportFactory | None = None) -> int:
    """Run the command line; ``transport_factory(base_url, timeout)`` lets tests talk to an in-process app."""
    args = _parser().parse_args(argv)
    if not args.password:
        print("error: --password (or $SYNC_PASSWORD) is required", file=sys.stderr)
        return 2
    if args.inspections < 0 or args.photos_per_hazard < 0:
        print("error: --inspections and --photos-per-hazard must not be negative", file=sys.stderr)
        return 2
    factory: TransportFactory = transport_factory or UrllibTransport
    with contextlib.ExitStack() as stack:
        if args.state is None:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sync-simulate-")))
            state, photo_dir = scratch / "device.sqlite3", scratch / "photos"
        else:
            state, photo_dir = args.state, args.state.with_name(args.state.name + ".photos")
        transport = factory(args.base_url, args.timeout)
        if isinstance(transport, contextlib.AbstractContextManager):
            stack.enter_context(transport)
        outbox = stack.enter_context(Outbox(state))
        try:
            return _simulate(args, transport, outbox, photo_dir)
        except (SyncError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    raise AssertionError("unreachable")


def _simulate(args: argparse.Namespace, transport: Transport, outbox: Outbox, photo_dir: Path) -> int:
    started = time.monotonic()
    rng = random.Random(args.seed)
    client = SyncClient(transport, outbox, rng=random.Random(rng.getrandbits(64)))
    if not outbox.token:
        client.register(args.username, args.password, args.label)
    client.pull()
    enterprises = outbox.replica("enterprise")
    catalogue = current_catalogue(outbox.replica("catalogue"), _now().date())
    if not enterprises or catalogue is None:
        print("error: the replica holds no enterprise or no catalogue for this user", file=sys.stderr)
        return 1
    made: list[SimulatedInspection] = []
    for _ in range(args.inspections):
        enterprise = rng.choice(enterprises)
        made.append(simulate_inspection(
            outbox, enterprise, catalogue, rng=rng, photo_dir=photo_dir, photos_per_hazard=args.photos_per_hazard,
            me=outbox.user, non_compliant_rate=args.non_compliant_rate,
        ))  # fmt: skip
    summary = client.sync(batch_size=args.batch_size, chunk_size=args.chunk_size)
    report = {
        "device_id": outbox.device_id,
        "inspections": len(made),
        "mutations": sum(m.mutations for m in made),
        "hazards": sum(m.hazards for m in made),
        "photos": sum(len(m.photos) for m in made),
        "photo_bytes": sum(m.photo_bytes for m in made),
        "blobs_uploaded": summary.uploaded,
        "applied": summary.push.applied,
        "duplicate": summary.push.duplicate,
        "quarantined": summary.push.quarantined,
        "pending": outbox.pending_count(),
        "blobs_pending": len(outbox.blobs_to_upload()),
        "pulled": summary.pulled,
        "requests": client.requests,
        "bytes_sent": client.bytes_sent,
        "bytes_received": client.bytes_received,
        "retries": client.retries,
        "seconds": round(time.monotonic() - started, 3),
    }
    print(json.dumps(report, ensure_ascii=False))
    for problem in summary.push.problems:
        print(
            f"seq {problem['seq']}: {problem['status']} {problem['code']} {problem['message']}",
            file=sys.stderr,
        )
    clean = not summary.push.quarantined and not report["pending"] and not report["blobs_pending"]
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""The device's durable SQLite file: the frozen, gapless outbox, the photos waiting to upload, and the replica."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sync.protocol import MutationSchema

#: Codes a blob is set aside with when its local bytes are gone or no longer match their hash.
LOCAL_FILE_MISSING = "local.missing"
LOCAL_FILE_CHANGED = "local.changed"

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

"""The audit log: every change made on the web (or by an admin command) is an append-only row that carries the
keyed hash (HMAC-SHA-256) of the row before it, so that an edited, inserted or deleted row breaks the chain.

Three things make the chain defensible: appends are serialised on the one ``audit_head`` row (no fork under
concurrent writers); the key lives in a file outside the database (whoever can edit the database cannot
recompute valid hashes); and each committed row's hash is appended to an anchor file outside the database, and the
head is printed on the monthly report and enforcement documents, so that deleting the newest rows, or recomputing
the whole chain with a stolen key, still differs from what was anchored."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from server.models import AuditEvent, AuditHead, User
from server.models.base import utcnow
from server.services import DbSession
from sync.protocol import canonical_json

#: The hash the first row chains to.
GENESIS = "0" * 64
#: Rows written before the chain was keyed (migration 0005) keep their plain SHA-256.
SCHEME_PLAIN = 1
SCHEME_HMAC = 2
_HEAD_ID = 1
_PENDING = "audit_anchor_pending"


@dataclass(frozen=True)
class ChainSettings:
    """Where the chain's secrets live, outside the database."""

    key: bytes
    anchor_file: Path


def settings() -> ChainSettings:
    """The running app's chain settings (made by init_app)."""
    from flask import current_app

    value: ChainSettings = current_app.extensions["audit_chain"]
    return value


def chain_key() -> bytes:
    """The running app's HMAC key."""
    return settings().key


def event_hash(prev_hash: str, at: datetime, actor_id: int | None, action: str, entity_type: str, entity_id: str,
               data: dict[str, Any], *, key: bytes | None) -> str:  # fmt: skip
    """HMAC-SHA-256 (plain SHA-256 when ``key`` is None) over the previous hash and the row's content."""
    body = {"prev": prev_hash, "at": at.isoformat(), "actor": actor_id, "action": action, "entity_type": entity_type,
            "entity_id": entity_id, "data": data}  # fmt: skip
    if key is None:
        return hashlib.sha256(canonical_json(body)).hexdigest()
    return hmac.new(key, canonical_json(body), hashlib.sha256).hexdigest()


def _lock_head(session: DbSession) -> str:
    """Take the head row's lock (held until commit) and return the hash the next row chains to.

    The UPDATE comes first: it is what makes SQLite take its write lock and PostgreSQL its row lock before the
    head is read, so a second writer waits and then reads the head the first one left."""
    locked = session.execute(
        sa.update(AuditHead).where(AuditHead.id == _HEAD_ID).values(rows=AuditHead.rows + 1)
    )
    if getattr(locked, "rowcount", 1) == 0:  # a database made without the migrations: start the head here
        session.add(AuditHead(id=_HEAD_ID, row_id=None, hash=GENESIS, rows=1))
        session.flush()
        return GENESIS
    return session.scalar(sa.select(AuditHead.hash).where(AuditHead.id == _HEAD_ID)) or GENESIS


def serialise(session: DbSession) -> None:
    """Take the head row's lock now, without appending (held until commit): a use case whose checks must not race
    another audited write (two supervisors confirming one finding with two entries) reads only after this, so the
    second waits and then sees what the first committed."""
    session.execute(sa.update(AuditHead).where(AuditHead.id == _HEAD_ID).values(rows=AuditHead.rows))


def record(session: DbSession, actor: User | None, action: str, entity_type: str, entity_id: object,
           data: dict[str, Any] | None = None) -> AuditEvent:  # fmt: skip
    """Append one event in the caller's transaction (which commits it together with the change itself)."""
    chain = settings()
    prev = _lock_head(session)
    at = utcnow().replace(microsecond=0)
    payload = dict(data or {})
    row = AuditEvent(
        at=at, actor_id=actor.id if actor else None, action=action, entity_type=entity_type, entity_id=str(entity_id),
        data=payload, prev_hash=prev, scheme=SCHEME_HMAC,
        hash=event_hash(prev, at, actor.id if actor else None, action, entity_type, str(entity_id), payload,
                        key=chain.key),
    )  # fmt: skip
    session.add(row)
    session.flush()
    session.execute(sa.update(AuditHead).where(AuditHead.id == _HEAD_ID).values(row_id=row.id, hash=row.hash))
    session.info.setdefault(_PENDING, []).append((chain.anchor_file, f"{row.id}\t{row.hash}\n", row))
    return row


# --- the anchor file -----------------------------------------------------------------------------------------


def _write_anchors(session: Session) -> None:
    """After a commit, append the committed rows' hashes to the anchor file (O_APPEND: whole lines, never
    rewritten). A crash between commit and append only leaves the anchor behind, never wrong."""
    for path, line, row in session.info.pop(_PENDING, []):
        if not sa.inspect(row).persistent:
            continue  # appended inside a savepoint that was rolled back: the row was never committed
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("ascii"))
        finally:
            os.close(fd)


def _drop_all_anchors(session: Session) -> None:
    session.info.pop(_PENDING, None)


def install_anchor_writer(session_class: type[Session] = Session) -> None:
    """Write anchors after every commit; forget them when the transaction rolls back."""
    if not event.contains(session_class, "after_commit", _write_anchors):
        event.listen(session_class, "after_commit", _write_anchors)
        event.listen(session_class, "after_rollback", _drop_all_anchors)


def read_anchors(path: Path) -> tuple[dict[int, str], list[str]]:
    """Row id → anchored hash, and the problems of the file itself (malformed lines, an id anchored twice
    with different hashes)."""
    anchors: dict[int, str] = {}
    problems: list[str] = []
    if not path.exists():
        return anchors, problems
    for number, line in enumerate(path.read_text(encoding="ascii", errors="replace").splitlines(), start=1):
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].isdigit() or len(parts[1]) != 64:
            problems.append(f"anchor file line {number} is malformed")
            continue
        row_id, digest = int(parts[0]), parts[1]
        if anchors.get(row_id, digest) != digest:
            problems.append(f"anchor file names row {row_id} twice with different hashes")
        anchors[row_id] = digest
    return anchors, problems


# --- verification and the head -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    """A row (or the anchor) that does not hold: its id and why."""

    row_id: int | None
    reason: str


@dataclass(frozen=True)
class Head:
    """The newest row of the chain, as printed on reports and documents."""

    row_id: int
    hash: str

    def label(self) -> str:
        """Short form for print: the row number and the first 16 hex digits of its hash."""
        return f"#{self.row_id} {self.hash[:16]}"


def current_head(session: DbSession) -> Head | None:
    """The chain's newest row, or None while the log is empty."""
    row = session.execute(
        sa.select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return Head(row.id, row.hash) if row is not None else None


def rows(session: DbSession, batch: int = 1000) -> Iterator[AuditEvent]:
    """Every audit row in order, fetched in batches (the log only grows)."""
    after = 0
    while True:
        page = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not page:
            return
        yield from page
        after = page[-1].id


def verify(session: DbSession, chain: ChainSettings | None = None) -> tuple[int, ChainBreak | None]:
    """Check the whole chain; returns how many rows held and the first break, if any (see verify_all)."""
    held, breaks = verify_all(session, chain or settings())
    return held, breaks[0] if breaks else None


def verify_all(session: DbSession, chain: ChainSettings) -> tuple[int, list[ChainBreak]]:
    """Check the whole chain against its key and its anchor file; returns how many rows held and EVERY break.

    After a break the check goes on from the row as it stands, so one edit is one break and an edit further on
    is still reported."""
    anchors, anchor_problems = read_anchors(chain.anchor_file)
    breaks = [ChainBreak(None, text) for text in anchor_problems]
    prev = GENESIS
    held = 0
    keyed_seen = False
    last: AuditEvent | None = None
    for row in rows(session):
        problems: list[str] = []
        if row.prev_hash != prev:
            problems.append("prev_hash does not match the row before it (a row was removed or inserted)")
        if row.scheme == SCHEME_PLAIN and keyed_seen:
            problems.append("an unkeyed row after the chain was keyed (a row was inserted or rewritten)")
        if row.scheme not in (SCHEME_PLAIN, SCHEME_HMAC):
            problems.append(f"unknown hash scheme {row.scheme}")
        else:
            key = chain.key if row.scheme == SCHEME_HMAC else None
            expected = event_hash(row.prev_hash, row.at, row.actor_id, row.action, row.entity_type, row.entity_id,
                                  row.data, key=key)  # fmt: skip
            if not hmac.compare_digest(row.hash, expected):
                problems.append("content does not match its hash (the row was edited)")
        anchored = anchors.pop(row.id, None)
        if anchored is not None and anchored != row.hash:
            problems.append("hash differs from the anchor file (the chain was recomputed)")
        keyed_seen = keyed_seen or row.scheme == SCHEME_HMAC
        breaks.extend(ChainBreak(row.id, text) for text in problems)
        held += not problems
        prev = row.hash
        last = row
    for row_id in sorted(anchors):
        breaks.append(
            ChainBreak(row_id, "missing: the anchor file names it but the log does not (rows were deleted)")
        )
    head = session.execute(
        sa.select(AuditHead.row_id, AuditHead.hash).where(AuditHead.id == _HEAD_ID)
    ).first()
    if head is not None and (head.row_id, head.hash) != ((last.id, last.hash) if last else (None, GENESIS)):
        breaks.append(
            ChainBreak(head.row_id, "the head row does not name the newest row (rows were deleted)")
        )
    if keyed_seen and not chain.anchor_file.exists():
        breaks.append(ChainBreak(None, "the anchor file is missing"))
    return held, breaks


def init_app(app: Any) -> None:
    """Load (or create once) the chain's key and note where its anchor file is."""
    from server.config import read_or_create_secret

    key = read_or_create_secret(Path(app.config["AUDIT_KEY_FILE"]))
    app.extensions["audit_chain"] = ChainSettings(key.encode("ascii"), Path(app.config["AUDIT_ANCHOR_FILE"]))
    install_anchor_writer()

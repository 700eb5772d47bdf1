"""The audit log: every change made on the web (or by an admin command) is an append-only row that
carries the hash of the row before it, so that an edited or deleted row breaks the chain visibly."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from server.models import AuditEvent, ChangeCounter, User
from server.models.base import utcnow
from server.services import DbSession
from sync.protocol import canonical_json

#: The hash the first row chains to.
GENESIS = "0" * 64


def event_hash(prev_hash: str, at: datetime, actor_id: int | None, action: str, entity_type: str, entity_id: str,
               data: dict[str, Any]) -> str:  # fmt: skip
    """SHA-256 over the previous hash and the row's own content, in canonical JSON."""
    body = {"prev": prev_hash, "at": at.isoformat(), "actor": actor_id, "action": action, "entity_type": entity_type,
            "entity_id": entity_id, "data": data}  # fmt: skip
    return hashlib.sha256(canonical_json(body)).hexdigest()


def record(session: DbSession, actor: User | None, action: str, entity_type: str, entity_id: object,
           data: dict[str, Any] | None = None) -> AuditEvent:  # fmt: skip
    """Append one event in the caller's transaction (which commits it together with the change itself)."""
    # One writer at a time extends the chain: the counter row's lock serialises them on PostgreSQL,
    # as SQLite's write lock does anyway; otherwise two rows could name the same predecessor.
    session.execute(sa.select(ChangeCounter.id).where(ChangeCounter.id == 1).with_for_update())
    last = session.scalar(sa.select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    prev = last or GENESIS
    at = utcnow().replace(microsecond=0)
    payload = dict(data or {})
    row = AuditEvent(
        at=at, actor_id=actor.id if actor else None, action=action, entity_type=entity_type, entity_id=str(entity_id),
        data=payload, prev_hash=prev,
        hash=event_hash(prev, at, actor.id if actor else None, action, entity_type, str(entity_id), payload),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class ChainBreak:
    """The first row that does not hold: its id and why."""

    row_id: int
    reason: str


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


def verify(session: DbSession) -> tuple[int, ChainBreak | None]:
    """Check the whole chain; returns how many rows held and the first break, if any."""
    prev = GENESIS
    count = 0
    for row in rows(session):
        if row.prev_hash != prev:
            return count, ChainBreak(
                row.id, "prev_hash does not match row before it (a row was removed or inserted)"
            )
        expected = event_hash(
            row.prev_hash, row.at, row.actor_id, row.action, row.entity_type, row.entity_id, row.data
        )
        if row.hash != expected:
            return count, ChainBreak(row.id, "content does not match its hash (the row was edited)")
        prev = row.hash
        count += 1
    return count, None

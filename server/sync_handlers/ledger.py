"""The sync engine's per-device state in our tables: device.last_seq, sync_mutation, quarantine."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.extensions import BinaryArray
from server.models import ChangeCounter, Device, Quarantine, SyncMutation
from server.models.base import utcnow
from server.sync_handlers.changes import number_on_flush
from server.sync_handlers.common import forget_batch_state
from sync.engine import Mutation
from sync.problems import Problem
from sync.protocol import canonical_json

_PENDING = "sync_ledger_pending"


#: The ledger's columns and their PostgreSQL array types, for the one-statement insert of a batch's rows.
_LEDGER_COLUMNS = {"device_id": "uuid", "seq": "bigint", "digest": "varchar", "entity": "varchar",
                   "entity_id": "varchar", "outcome": "varchar", "processed_at": "timestamptz"}  # fmt: skip
#: The batch's ledger rows and the device's new last seq in one statement (the UPDATE waits for nothing: the
#: push holds the device's row lock since ``lock``).
_INSERT_UNNEST_AND_SEQ = sa.text(
    f"WITH recorded AS (INSERT INTO sync_mutation ({', '.join(_LEDGER_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"CAST(:{key} AS {kind}[])" for key, kind in _LEDGER_COLUMNS.items())
    + ")) UPDATE device SET last_seq = :last_seq WHERE device.id = :device"
)


_DEVICE = cast(sa.Table, Device.__table__)
#: The device's lock (built once, on the table: an ORM-enabled UPDATE costs a push more CPU than its SQL).
_LOCK = (
    sa.update(_DEVICE)
    .where(_DEVICE.c.id == sa.bindparam("device"))
    .values(last_seen_at=sa.bindparam("now"))
    .returning(_DEVICE.c.last_seq)
)


class SqlDeviceLedger:
    """DeviceLedger on the server's database."""

    def lock(self, session: Session, device_id: uuid.UUID) -> int:
        """Lock by writing: an UPDATE takes the row lock on PostgreSQL and the write lock on SQLite
        before anything is read, so two pushes of one device queue up instead of both reading last_seq."""
        session.info.pop(_PENDING, None)
        forget_batch_state(session)
        number_on_flush(session)
        last_seq = session.execute(_LOCK, {"device": device_id, "now": utcnow()}).scalar_one()
        return int(last_seq)

    def set_last_seq(self, session: Session, device_id: uuid.UUID, last_seq: int) -> None:
        """Store the new last seq and the batch's ledger rows (the device's row lock keeps them ours)."""
        pending = session.info.pop(_PENDING, [])
        if pending and session.get_bind().dialect.name == "postgresql":
            # One statement with one binary array per column (psycopg sends an executemany as one query per row), which
            # sets the last seq too.
            arrays = {key: BinaryArray(row[key] for row in pending) for key in _LEDGER_COLUMNS}
            session.execute(_INSERT_UNNEST_AND_SEQ, {**arrays, "last_seq": last_seq, "device": device_id})
        else:
            if pending:
                session.execute(sa.insert(SyncMutation), pending)
            session.execute(
                sa.update(Device).where(Device.id == device_id).values(last_seq=last_seq)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
        device = session.get(Device, device_id)
        if device is not None:
            session.expire(device, ["last_seq", "last_seen_at"])

    def digest_of(self, session: Session, device_id: uuid.UUID, seq: int) -> str | None:
        """The digest recorded for (device, seq), in this batch or an earlier one."""
        for row in session.info.get(_PENDING, []):
            if row["device_id"] == device_id and row["seq"] == seq:
                return str(row["digest"])
        return session.scalar(
            sa.select(SyncMutation.digest).where(SyncMutation.device_id == device_id, SyncMutation.seq == seq)
        )

    def quarantined_as(
        self, session: Session, device_id: uuid.UUID, seq: int, digest: str
    ) -> tuple[str, str] | None:
        """The code and English message of the refusal kept in quarantine for (device, seq, digest)."""
        row = session.scalars(
            sa.select(Quarantine).where(
                Quarantine.device_id == device_id, Quarantine.seq == seq, Quarantine.payload_sha256 == digest
            )
        ).first()
        if row is None:
            return None
        # The reason is kept as "中文 / English" (quarantine); the reply carries the English half, as at first.
        return row.reason_code, row.reason.split(" / ", 1)[-1]

    def record(self, session: Session, device_id: uuid.UUID, mutation: Mutation, outcome: str) -> None:
        """One row per processed seq, written in one statement with the new last seq (the primary key
        refuses a second row for a seq, whatever happens)."""
        session.info.setdefault(_PENDING, []).append(
            {"device_id": device_id, "seq": mutation.seq, "digest": mutation.digest, "entity": mutation.entity[:32],
             "entity_id": str(mutation.id), "outcome": outcome, "processed_at": utcnow()}
        )  # fmt: skip

    def quarantine(
        self,
        session: Session,
        device_id: uuid.UUID,
        mutation: Mapping[str, Any],
        problem: Problem,
        digest: str,
    ) -> None:
        """Keep the refused mutation whole; a retried batch does not add the same row twice."""
        seq = int(mutation.get("seq") or 0)
        exists = session.scalar(
            sa.select(Quarantine.id).where(
                Quarantine.device_id == device_id, Quarantine.seq == seq, Quarantine.payload_sha256 == digest
            )
        )
        if exists is not None:
            return
        payload = _json_safe(mutation)
        session.add(
            Quarantine(
                device_id=device_id, seq=seq, entity=str(mutation.get("entity") or "")[:32],
                entity_id=str(mutation.get("id") or "")[:64] or None, op=str(mutation.get("op") or "")[:16] or None,
                payload=payload, payload_sha256=digest, reason_code=problem.code,
                reason=f"{problem.message('zh')} / {problem.message('en')}",
            )
        )  # fmt: skip
        session.flush()

    def committed_high_water(self, session: Session) -> int:
        """The counter's committed value: every change number up to it belongs to a committed transaction."""
        return int(session.scalar(sa.select(ChangeCounter.value).where(ChangeCounter.id == 1)) or 0)


def _json_safe(value: Mapping[str, Any]) -> dict[str, Any]:
    """The mutation as plain JSON values (dates and ids as text), the way it travelled."""
    return dict(json.loads(canonical_json(dict(value))))

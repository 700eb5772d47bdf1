"""Quarantined sync mutations: an admin reads one, corrects its data and applies it after all."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from server.models import Device, Quarantine, User
from server.models.base import utcnow
from server.services import DbSession, audit
from server.services.scope import principal_for
from sync import problems
from sync.engine import BAD_DATA_ERRORS, HandlerRegistry, Mutation, checked_handler
from sync.protocol import mutation_digest


def reapply(
    session: DbSession, registry: HandlerRegistry, row: Quarantine, data_text: str, admin: User
) -> None:
    """Apply the quarantined mutation with corrected ``data`` as its device would have; on success the row
    is resolved and the act audited. Refusals raise the handler's Problem and change nothing."""
    if row.resolved_at is not None:
        raise problems.invalid_fields(fields="already resolved")
    try:
        data = json.loads(data_text)
    except json.JSONDecodeError as error:
        raise problems.invalid_fields(fields=f"data: {error}") from None
    if not isinstance(data, dict):
        raise problems.invalid_fields(fields="data: a JSON object is required")
    device = session.get(Device, row.device_id)
    if device is None:
        raise problems.not_found()
    raw: dict[str, Any] = {**row.payload, "data": data}
    try:
        mutation = Mutation(
            seq=int(row.seq), entity=str(raw.get("entity") or ""), id=uuid.UUID(str(raw.get("id"))),
            op=str(raw.get("op") or "upsert"), base_version=None, data=data,
            at=datetime.fromisoformat(str(raw.get("at"))) if raw.get("at") else utcnow(), raw=raw,
            digest=mutation_digest(raw),
        )  # fmt: skip
    except (ValueError, TypeError):
        raise problems.invalid_fields(fields="the quarantined mutation's id or time is malformed") from None
    try:
        with session.begin_nested():
            handler = checked_handler(registry, mutation)
            # The sync engine works on a plain Session; Flask-SQLAlchemy's scoped one is called to get it.
            plain = session() if callable(session) else session
            handler.apply(plain, principal_for(session, device), mutation)
            session.flush()
    except BAD_DATA_ERRORS as error:
        # Refused by the database (a constraint, a value out of range): as the push would have quarantined it.
        raise problems.invalid_mutation(
            reason=str(getattr(error, "orig", None) or error).splitlines()[0][:300]
        ) from None
    row.resolved_at = utcnow()
    row.resolved_by_id = admin.id
    row.resolution = f"re-applied with corrected data by {admin.username}"
    audit.record(session, admin, "quarantine.reapply", "quarantine", row.id, {"seq": row.seq, "data": data})

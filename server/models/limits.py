"""The text limits of server/domain/limits.py made real: a CHECK constraint per bounded column (created by
migration 0005), and a flush guard that refuses an oversized text with a clear problem before the database
would (so a sync push quarantines that mutation and a form shows the error, instead of a bare IntegrityError)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import conv

from server.domain.limits import TEXT_LIMITS, check_name

from .base import Base


def attach_length_checks() -> None:
    """Declare the CHECK constraints on the mapped tables (once; the migration creates them)."""
    tables = Base.metadata.tables
    for (table_name, column), limit in TEXT_LIMITS.items():
        table = tables[table_name]
        name = check_name(table_name, column)
        if not any(getattr(c, "name", None) == name for c in table.constraints):
            # conv(): the name is final, not a token for the metadata's naming convention.
            table.append_constraint(sa.CheckConstraint(f"length({column}) <= {limit}", name=conv(name)))


def _limits_by_table() -> dict[str, dict[str, int]]:
    by_table: dict[str, dict[str, int]] = {}
    for (table_name, column), limit in TEXT_LIMITS.items():
        by_table.setdefault(table_name, {})[column] = limit
    return by_table


_BY_TABLE = _limits_by_table()


def _refuse_oversized(session: Session, _context: Any, _instances: Any) -> None:
    from server.errors import field_too_long

    for row in (*session.new, *session.dirty):
        table = getattr(row, "__tablename__", None)
        for column, limit in _BY_TABLE.get(table or "", {}).items():
            value = getattr(row, column, None)
            if isinstance(value, str) and len(value) > limit:
                raise field_too_long(field=f"{table}.{column}", limit=limit, length=len(value))


def install_length_guard(session_class: type[Session] = Session) -> None:
    """Check every bounded text before each flush."""
    if not event.contains(session_class, "before_flush", _refuse_oversized):
        event.listen(session_class, "before_flush", _refuse_oversized)

"""Change numbers in commit order: each writing transaction numbers its synced rows just before commit,
under the one-row counter's lock, which it then holds until the commit itself."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from server.models import ChangeCounter
from server.models.base import SyncMixin

_TOUCHED = "sync_touched_rows"
_NUMBERING = "sync_numbering"


def _collect(session: Session, _context: Any) -> None:
    """After each flush, remember the synced rows it wrote (new or changed)."""
    if session.info.get(_NUMBERING):
        return
    touched = session.info.setdefault(_TOUCHED, {})
    # session.new builds a new set on every access: taken once, or a big flush costs rows² set builds.
    new = session.new
    for obj in [*new, *session.dirty]:
        if isinstance(obj, SyncMixin) and (obj in new or _synced_change(session, obj)):
            touched[id(obj)] = obj


def _synced_change(session: Session, obj: SyncMixin) -> bool:
    """Whether a field devices receive changed (a sign-in's last_login_at is no news to any device)."""
    skip = obj.unsynced_fields
    if not skip:
        return session.is_modified(obj)
    return any(attr.history.has_changes() for attr in sa.inspect(obj).attrs if attr.key not in skip)


def _number(session: Session) -> None:
    """Give every row this transaction wrote its own change number, in one reservation."""
    if session.info.get(_NUMBERING) or session.in_nested_transaction():
        return  # a savepoint being released: the outer commit numbers everything once
    session.flush()
    touched = session.info.pop(_TOUCHED, {})
    if not touched:
        return
    rows = list(touched.values())
    session.info[_NUMBERING] = True
    try:
        top = session.execute(
            sa.update(ChangeCounter)
            .where(ChangeCounter.id == 1)
            .values(value=ChangeCounter.value + len(rows))
            .returning(ChangeCounter.value)
        ).scalar_one()
        for offset, obj in enumerate(rows):
            obj.change_no = int(top) - len(rows) + 1 + offset
        session.flush()
    finally:
        session.info.pop(_NUMBERING, None)


def _forget(session: Session, transaction: Any) -> None:
    """A rolled-back outer transaction wrote nothing; savepoints ending do not clear the list."""
    if transaction.parent is None:
        session.info.pop(_TOUCHED, None)


def install(session_class: type[Session] = Session) -> None:
    """Number synced rows on every commit of sessions of ``session_class`` (idempotent)."""
    for name, listener in (
        ("after_flush", _collect),
        ("before_commit", _number),
        ("after_transaction_end", _forget),
    ):
        if not event.contains(session_class, name, listener):
            event.listen(session_class, name, listener)

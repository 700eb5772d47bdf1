"""Change numbers in commit order: each writing transaction numbers its synced rows just before commit,
under the one-row counter's lock, which it then holds until the commit itself.

A push numbers its rows earlier, as they are written, so that they are inserted with their number instead of
inserted and then updated: its new rows as the one statement that inserts them takes the numbers
(``server.sync_handlers.bulk.insert_tables``), any other row as the batch's flush writes it
(``number_on_flush``). The counter's lock is then held from there to the commit, a few statements later."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from server.models import ChangeCounter
from server.models.base import SyncMixin
from server.sync_handlers.bulk import Numbering, take_numbers

_TOUCHED = "sync_touched_rows"
_NUMBERING = "sync_numbering"
_ON_FLUSH = "sync_number_on_flush"
_NUMBERED = "sync_numbered_this_flush"


def number_on_flush(session: Session) -> None:
    """Number this transaction's synced rows as each flush writes them (a push; see the module docstring)."""
    session.info[_ON_FLUSH] = True


#: Change numbers: the one-row counter each writing transaction increments (see the module docstring).
CHANGE_NUMBERS = Numbering("change_no", cast(sa.Table, ChangeCounter.__table__))


def reserve(session: Session, count: int) -> int:
    """Take ``count`` consecutive change numbers and return the first; the counter's row stays locked by
    this transaction until it ends, so no transaction committing later can hold lower numbers."""
    return take_numbers(session.connection(), CHANGE_NUMBERS, count)


def _number_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """In a push, give the rows this flush will write their change numbers before they are written."""
    session.info.pop(_NUMBERED, None)
    if not session.info.get(_ON_FLUSH) or session.info.get(_NUMBERING):
        return
    new = session.new
    rows = [o for o in new if isinstance(o, SyncMixin)]
    rows += [
        o for o in session.dirty if isinstance(o, SyncMixin) and o not in new and _synced_change(session, o)
    ]
    if not rows:
        return
    first = reserve(session, len(rows))
    for offset, obj in enumerate(rows):
        obj.change_no = first + offset
    session.info[_NUMBERED] = {id(o) for o in rows}


def _collect(session: Session, _context: Any) -> None:
    """After each flush, remember the synced rows it wrote (new or changed)."""
    if session.info.get(_NUMBERING):
        return
    numbered = session.info.pop(_NUMBERED, ())
    touched = session.info.setdefault(_TOUCHED, {})
    # session.new builds a new set on every access: taken once, or a big flush costs rows² set builds.
    new = session.new
    for obj in [*new, *session.dirty]:
        if id(obj) in numbered:
            touched.pop(id(obj), None)  # numbered by this very flush, before it wrote the row
        elif isinstance(obj, SyncMixin) and (obj in new or _synced_change(session, obj)):
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
        session.info.pop(_ON_FLUSH, None)
        session.info.pop(_NUMBERED, None)


def install(session_class: type[Session] = Session) -> None:
    """Number synced rows on every commit of sessions of ``session_class`` (idempotent)."""
    for name, listener in (
        ("before_flush", _number_before_flush),
        ("after_flush", _collect),
        ("before_commit", _number),
        ("after_transaction_end", _forget),
    ):
        if not event.contains(session_class, name, listener):
            event.listen(session_class, name, listener)

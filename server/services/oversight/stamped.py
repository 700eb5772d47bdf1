"""A small cache of figures stamped with the change counter they are true at: any write of a synced row moves
the counter (server.sync_handlers.changes), and the next reader counts again."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.models import ChangeCounter
from server.services import DbSession

#: Where a session keeps what the figures read once per transaction (``transaction_memo``).
_MEMO = "oversight_transaction_memo"


def transaction_memo(session: DbSession) -> dict[Any, Any]:
    """Answers kept for the rest of the session's transaction, forgotten at its next flush or its end: the
    dashboard's figures ask the same (the stamp, the enterprises written since, their regions) several times."""
    memo: dict[Any, Any] = session.info.setdefault(_MEMO, {})
    return memo


def _forget(session: Any, *_: Any) -> None:
    session.info.pop(_MEMO, None)


sa.event.listen(Session, "after_flush", _forget)
sa.event.listen(Session, "after_transaction_end", _forget)


def change_stamp(session: DbSession) -> int:
    """The change counter now; read it before the data, so rows committed meanwhile only make figures newer
    (read once per transaction: every figure of a request is then true at the same stamp)."""
    memo = transaction_memo(session)
    if "change_stamp" not in memo:
        memo["change_stamp"] = (
            session.scalar(sa.select(ChangeCounter.value).where(ChangeCounter.id == 1)) or 0
        )
    stamp: int = memo["change_stamp"]
    return stamp


#: Beyond this many ids the table starts again: an id dropped is only shared less, never read wrong.
_SHARED_IDS_LIMIT = 100_000
_shared_ids: dict[uuid.UUID, uuid.UUID] = {}


def shared_id(enterprise_id: uuid.UUID) -> uuid.UUID:
    """The one UUID object of this value that every kept cache of the process holds.

    Each cache reads its ids from its own query, so a province's 10,000 enterprises were 10,000 UUID objects per
    cache (a UUID is an object the garbage collector tracks) and every full collection walked them all."""
    found = _shared_ids.get(enterprise_id)
    if found is None:
        if len(_shared_ids) >= _SHARED_IDS_LIMIT:
            _shared_ids.clear()
        found = _shared_ids.setdefault(enterprise_id, enterprise_id)
    return found


class StampedCache:
    """Values under keys, each kept with the change counter it was computed at and returned only at that
    same counter; the least recently used go beyond ``size``."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], stamp: int) -> Any | None:
        """What was stored under ``key`` at ``stamp``, if anything."""
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != stamp:
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key: tuple[Any, ...], stamp: int, value: Any) -> None:
        """Keep ``value`` under ``key`` unless a newer one is there (a slow reader finishing late), dropping the
        least recently used beyond ``size``."""
        with self._lock:
            current = self._entries.get(key)
            if current is None or current[0] <= stamp:
                self._entries[key] = (stamp, value)
                self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


class _Stamped(Protocol):
    @property
    def stamp(self) -> int: ...


_Entry = TypeVar("_Entry", bound=_Stamped)


class PatchedCache(Generic[_Entry]):
    """Entries under keys, each carrying the change counter it is true at and patched forward from it by its
    reader (so returned at whatever stamp); a slower reader's older entry never replaces a newer one, and the
    least recently used go beyond ``size``."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> _Entry | None:
        """The entry stored under ``key``, if any (at whatever stamp)."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], entry: _Entry) -> None:
        """Keep ``entry`` under ``key`` unless a newer one is there (a slow reader finishing late)."""
        with self._lock:
            current = self._entries.get(key)
            if current is None or current.stamp <= entry.stamp:
                self._entries[key] = entry
                self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

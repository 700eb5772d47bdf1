"""A first-come, first-served gate for pushes, for databases with a single writer (SQLite).

SQLite lets one transaction write at a time and wakes waiting writers by polling, so under load a push can
wait its whole busy timeout while later ones get in first, then fail. Pushes of one server process queue here
in arrival order instead, so at most one per process competes for the database's write lock; a push that
cannot get its turn in time is answered "busy, retry after" (503) before it has changed anything.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Iterator

from sync import problems


class FairLock:
    """A lock handed to its waiters in the order they arrived; acquiring may time out."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for the lock, behind everyone who asked earlier."""
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over between the timeout and now
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        """Hand the lock to the longest waiter, or free it."""
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()  # stays held: ownership passes directly
            else:
                self._held = False


class PushGate:
    """Pushes of this process one at a time, in arrival order, each waiting at most ``wait_seconds``."""

    def __init__(self, wait_seconds: float, retry_after: int) -> None:
        self._lock = FairLock()
        self.wait_seconds = wait_seconds
        self.retry_after = retry_after

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        """Hold the gate for one push; server_busy (503) if the turn does not come in time."""
        if not self._lock.acquire(self.wait_seconds):
            raise problems.server_busy(retry_after=self.retry_after)
        try:
            yield
        finally:
            self._lock.release()

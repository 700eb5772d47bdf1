"""gunicorn's threaded worker, made to take a new connection only when one of its threads is free.

gunicorn's ``gthread`` worker accepts every connection it can, busy or not (gunicorn issues #908 and #3433), and a
kept-alive connection stays with the worker that accepted it. When many tablets sync at once, one worker can hold
most of their connections: its requests queue behind its own threads, on one core (the GIL), while the other
workers sit idle. Measured with 20 tablets pushing at once on 4 workers: one worker used 0.91 s of CPU, the other
three 0.15, 0.30 and 0.11 s, and the machine's two cores were a third idle.
"""

from __future__ import annotations

from typing import Any

from gunicorn.workers.gthread import ThreadWorker


class BalancedThreadWorker(ThreadWorker):
    """A ``gthread`` worker that stops accepting connections while all its threads are busy, so that a new
    connection waits in the listen queue for whichever worker frees a thread first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Requests handed to the thread pool and not yet finished (read and written on the main thread only).
        self.running = 0

    def set_accept_enabled(self, enabled: bool) -> None:
        """Accept only while connections are allowed and a thread is free."""
        super().set_accept_enabled(enabled and self.running < self.cfg.threads)

    def enqueue_req(self, conn: Any) -> None:
        """Hand a connection's request to a thread; stop accepting once every thread has one."""
        self.running += 1
        if self.running >= self.cfg.threads:
            super().set_accept_enabled(False)
        super().enqueue_req(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        """A thread is free again: the main loop accepts again on its next turn."""
        self.running -= 1
        super().finish_request(conn, fs)

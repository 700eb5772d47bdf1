"""Pushes on a single-writer database queue first come, first served, and a push that waits too long is told
to retry (503) instead of failing."""

from __future__ import annotations

import sqlite3
import threading
import time

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from server.errors import is_contention
from sync import problems
from sync.gate import FairLock, PushGate


def test_waiters_get_the_lock_in_the_order_they_asked() -> None:
    lock = FairLock()
    assert lock.acquire(1)
    order: list[int] = []
    threads = []
    for number in range(8):
        thread = threading.Thread(target=lambda n=number: (lock.acquire(10), order.append(n), lock.release()))
        thread.start()
        threads.append(thread)
        time.sleep(0.02)  # each asks after the previous one is queued
    lock.release()
    for thread in threads:
        thread.join(5)
    assert order == list(range(8))


def test_a_waiter_that_gives_up_leaves_the_queue() -> None:
    lock = FairLock()
    assert lock.acquire(1)
    assert lock.acquire(0.05) is False
    lock.release()
    assert lock.acquire(0.05) is True  # nobody left waiting ahead


def test_a_push_that_cannot_get_its_turn_is_told_to_retry() -> None:
    gate = PushGate(wait_seconds=0.05, retry_after=3)
    with gate():
        seen: list[BaseException] = []

        def second() -> None:
            try:
                with gate():
                    pass
            except problems.Problem as problem:
                seen.append(problem)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(5)
    [problem] = seen
    assert isinstance(problem, problems.Problem)
    assert (problem.status, problem.code, problem.details) == (503, "503.1", {"retry_after": 3})


@pytest.mark.parametrize(
    ("orig", "busy"),
    [
        (sqlite3.OperationalError("database is locked"), True),
        (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"), True),
        (psycopg.errors.DeadlockDetected("deadlock detected"), True),
        (psycopg.errors.SerializationFailure("could not serialize access"), True),
        (sqlite3.OperationalError("no such table: device"), False),
        (psycopg.errors.UndefinedTable("relation does not exist"), False),
    ],
)
def test_only_contention_is_answered_busy(orig: Exception, busy: bool) -> None:
    assert is_contention(OperationalError("UPDATE device ...", {}, orig)) is busy

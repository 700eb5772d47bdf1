"""Reconciling a county pauses Python's garbage collector, which is one switch for the whole process: two
requests reconciling at once must not turn it back on while the other still runs, nor leave it off after both."""

from __future__ import annotations

import gc
import threading

from server.services.reconciliation import _collector_paused


def test_overlapping_pauses_keep_the_collector_off_until_the_last_ends() -> None:
    assert gc.isenabled()
    first, second = _collector_paused(), _collector_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    try:
        assert not gc.isenabled(), "the first request's end turned the collector on under the second"
    finally:
        second.__exit__(None, None, None)
    assert gc.isenabled()


def test_pauses_in_threads_leave_the_collector_as_they_found_it() -> None:
    inside = threading.Barrier(4)

    def reconcile() -> None:
        with _collector_paused():
            inside.wait(timeout=10)

    threads = [threading.Thread(target=reconcile) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with _collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()

"""Races the database must settle: one batch pushed twice at once, and writers committing out of order."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.models import Enterprise, SyncMutation
from server.sync_handlers import changes
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch


def test_the_same_batch_sent_twice_at_the_same_moment_is_applied_once(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    start = threading.Barrier(2)
    replies: list[Any] = [None, None]

    def send(slot: int) -> None:
        client = app.test_client()  # its own request context, session and connection
        start.wait()
        replies[slot] = client.post(
            "/api/sync/push",
            json={"device_id": device.device_id, "schema": 1, "mutations": batch},
            headers=device.headers,
        )

    threads = [threading.Thread(target=send, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None and r.status_code == 200 for r in replies), [r and r.get_json() for r in replies]
    statuses = sorted(tuple(sorted({r["status"] for r in reply.get_json()["results"]})) for reply in replies)  # type: ignore[union-attr]
    assert statuses == [("applied",), ("duplicate",)]
    with app.app_context():
        seqs = db.session.scalars(sa.select(SyncMutation.seq).order_by(SyncMutation.seq)).all()
    assert seqs == list(range(1, len(batch) + 1))


def test_a_pull_never_skips_a_row_committed_late(app: Flask) -> None:
    """Writer A numbers its row first but commits last; B writes meanwhile. However the commits
    interleave, a puller that has seen B's row has also seen A's."""
    with app.app_context():
        first, second = db.session.scalars(sa.select(Enterprise.id).order_by(Enterprise.name).limit(2)).all()
    device = Device(app, "ll_city")  # the city sees every enterprise
    _, cursor, _ = device.pull_all()
    a_numbered = threading.Event()
    release_a = threading.Event()
    b_done = threading.Event()
    seen: list[list[str]] = []

    def writer_a() -> None:
        with app.app_context():
            enterprise = db.session.get(Enterprise, first)
            assert enterprise is not None
            enterprise.main_person = "A 先编号后提交"
            db.session.flush()
            changes._number(db.session())  # take the number (and the counter's lock) now …
            a_numbered.set()
            release_a.wait(timeout=30)
            db.session.commit()  # … and commit only later

    def writer_b() -> None:
        a_numbered.wait(timeout=30)
        with app.app_context():
            enterprise = db.session.get(Enterprise, second)
            assert enterprise is not None
            enterprise.main_person = "B 后编号先写"
            db.session.commit()
        b_done.set()

    errors: list[BaseException] = []

    def puller() -> None:
        try:
            _pull_until_both_seen()
        except BaseException as error:  # surfaced by the main thread's assertion
            errors.append(error)

    def _pull_until_both_seen() -> None:
        nonlocal cursor
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            page, cursor, _ = device.pull_all(cursor)
            ids = [c["id"] for c in page if c["entity"] == "enterprise"]
            if ids:
                seen.append(ids)
            if sum(len(s) for s in seen) >= 2:
                return
            time.sleep(0.02)

    threads = [threading.Thread(target=f) for f in (writer_a, writer_b, puller)]
    for thread in threads:
        thread.start()
    a_numbered.wait(timeout=30)
    # B cannot get ahead of A: it waits for the counter (PostgreSQL) or the write lock (SQLite).
    assert not b_done.wait(timeout=1.0)
    release_a.set()
    for thread in threads:
        thread.join(timeout=60)
    assert b_done.is_set()
    assert errors == []
    flat = [i for ids in seen for i in ids]
    assert set(flat) == {str(first), str(second)}
    assert flat.index(str(first)) <= flat.index(str(second)) or any(
        str(first) in ids and str(second) in ids for ids in seen
    )
    with app.app_context():
        numbers = {
            row.id: row.change_no
            for row in db.session.scalars(sa.select(Enterprise).where(Enterprise.id.in_([first, second])))
        }
    assert numbers[first] < numbers[second]


def test_change_numbers_are_unique_and_increase_with_each_commit(app: Flask) -> None:
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.max(Enterprise.change_no))) or 0
        rows = db.session.scalars(sa.select(Enterprise).limit(3)).all()
        for row in rows:
            row.main_person = f"负责人{uuid.uuid4().hex[:4]}"
        db.session.commit()
        numbers = sorted(r.change_no for r in rows)
        assert numbers[0] > before and len(set(numbers)) == 3
        all_numbers = db.session.scalars(sa.select(Enterprise.change_no)).all()
        assert len(all_numbers) == len(set(all_numbers))

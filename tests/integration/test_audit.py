"""The audit log's hash chain: web changes are recorded; `flask audit verify` names the first broken row."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.models import AuditEvent
from sync.protocol import canonical_json
from tests.conftest import login


def _make_events(app: Flask, count: int) -> list[int]:
    client = app.test_client()
    csrf = login(client, "xx_insp1")
    for _ in range(count):
        reply = client.post("/api/devices", json={"label": "平板"}, headers={"X-CSRF-Token": csrf})
        assert reply.status_code == 201
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id)))


def _verify(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def test_web_changes_are_chained_and_the_chain_verifies(app: Flask) -> None:
    ids = _make_events(app, 3)
    assert len(ids) == 3
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["device.register"] * 3
        assert events[0].prev_hash == "0" * 64
        assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    code, output = _verify(app)
    assert code == 0 and "3 rows" in output


def test_an_edited_row_is_named(app: Flask) -> None:
    ids = _make_events(app, 3)
    with app.app_context():
        db.session.execute(
            sa.update(AuditEvent).where(AuditEvent.id == ids[1]).values(data={"label": "改过"})
        )
        db.session.commit()
    code, output = _verify(app)
    assert code == 1 and f"row {ids[1]}" in output and "edited" in output


def test_a_removed_row_breaks_the_chain_at_the_next_one(app: Flask) -> None:
    ids = _make_events(app, 3)
    with app.app_context():
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == ids[1]))
        db.session.commit()
    code, output = _verify(app)
    assert code == 1 and f"row {ids[2]}" in output and "removed" in output


# --- issue 16: the chain holds under concurrency, verify names every break, keyed and anchored -------------


def _concurrent_revokes(app: Flask, writers: int, rounds: int) -> None:
    """Several signed-in clients at once, each registering a tablet and revoking it again and again (each call
    audited, most revocations changing nothing but the log)."""
    start = threading.Barrier(writers)
    failures: list[object] = []

    def work(username: str) -> None:
        client = app.test_client()
        csrf = login(client, username)
        reply = client.post("/api/devices", json={"label": "并发"}, headers={"X-CSRF-Token": csrf})
        device_id = reply.get_json()["device"]["id"]
        start.wait()
        for _ in range(rounds):
            reply = client.post(f"/api/devices/{device_id}/revoke", headers={"X-CSRF-Token": csrf})
            if reply.status_code != 200:
                failures.append(reply.get_json())

    users = ["xx_insp1", "xx_insp2", "xx_insp3", "xx_insp4", "lx_insp1", "lx_insp2"][:writers]
    threads = [threading.Thread(target=work, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures


def test_concurrent_writers_never_fork_the_chain(app: Flask) -> None:
    _concurrent_revokes(app, writers=4, rounds=15)
    with app.app_context():
        prevs = db.session.scalars(sa.select(AuditEvent.prev_hash)).all()
    assert len(prevs) == 4 + 4 * 15
    assert len(set(prevs)) == len(prevs), "two rows name the same predecessor: the chain forked"
    code, output = _verify(app)
    assert code == 0, output


def test_verify_names_every_break_not_only_the_first(app: Flask) -> None:
    ids = _make_events(app, 6)
    with app.app_context():
        for row_id in (ids[1], ids[4]):
            db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == row_id).values(action="forged"))
        db.session.commit()
    code, output = _verify(app)
    assert code == 1 and f"row {ids[1]}" in output and f"row {ids[4]}" in output, output


def test_removing_the_newest_rows_is_detected(app: Flask) -> None:
    ids = _make_events(app, 3)
    with app.app_context():
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == ids[-1]))
        db.session.commit()
    code, output = _verify(app)
    assert code == 1 and f"row {ids[-1]}" in output and "missing" in output, output


def _recompute(app: Flask, from_id: int, hasher: Callable[..., str]) -> None:
    """What someone with database access does after editing a row: recompute every later hash."""
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        prev = rows[0].prev_hash
        for row in rows:
            if row.id >= from_id:
                row.prev_hash = prev
                row.hash = hasher(prev, row)
            prev = row.hash
        db.session.commit()


def test_an_edit_with_the_later_hashes_recomputed_is_detected(app: Flask) -> None:
    ids = _make_events(app, 4)
    with app.app_context():
        db.session.execute(
            sa.update(AuditEvent).where(AuditEvent.id == ids[1]).values(data={"label": "改过"})
        )
        db.session.commit()

    def unkeyed(prev: str, row: AuditEvent) -> str:
        body = {"prev": prev, "at": row.at.isoformat(), "actor": row.actor_id, "action": row.action,
                "entity_type": row.entity_type, "entity_id": row.entity_id, "data": row.data}  # fmt: skip
        return hashlib.sha256(canonical_json(body)).hexdigest()

    _recompute(app, ids[1], unkeyed)
    code, output = _verify(app)
    assert code == 1 and f"row {ids[1]}" in output, output


def test_even_with_the_key_a_recomputed_chain_differs_from_its_anchor(app: Flask) -> None:
    """Someone who also stole the key recomputes validly keyed hashes: the append-only anchor still differs."""
    from server.services import audit

    ids = _make_events(app, 4)
    with app.app_context():
        db.session.execute(
            sa.update(AuditEvent).where(AuditEvent.id == ids[1]).values(data={"label": "改过"})
        )
        db.session.commit()
        key = audit.chain_key()

    def keyed(prev: str, row: AuditEvent) -> str:
        return audit.event_hash(prev, row.at, row.actor_id, row.action, row.entity_type, row.entity_id, row.data,
                                key=key)  # fmt: skip

    _recompute(app, ids[1], keyed)
    code, output = _verify(app)
    assert code == 1 and "anchor" in output, output


def test_the_key_file_is_made_once_by_many_starting_workers(tmp_path: Path) -> None:
    from server.config import read_or_create_secret

    path = tmp_path / "audit-key"
    start = threading.Barrier(8)
    seen: list[str] = []

    def worker() -> None:
        start.wait()
        seen.append(read_or_create_secret(path))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1 and seen[0] and path.read_text().strip() == seen[0]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_the_current_head_names_the_newest_row(app: Flask) -> None:
    from server.services import audit

    ids = _make_events(app, 2)
    with app.app_context():
        head = audit.current_head(db.session)
        newest = db.session.get(AuditEvent, ids[-1])
        assert newest is not None and head is not None
        assert (head.row_id, head.hash) == (newest.id, newest.hash)
        assert head.label().startswith(f"#{newest.id} ")


def test_the_head_is_printed_on_the_monthly_report_and_its_workbook(app: Flask) -> None:
    import io

    import openpyxl

    from server.services import audit

    _make_events(app, 1)
    with app.app_context():
        head = audit.current_head(db.session)
        assert head is not None
    client = app.test_client()
    login(client, "ll_city")
    assert head.label() in client.get("/reports/monthly").get_data(as_text=True)
    book = openpyxl.load_workbook(io.BytesIO(client.get("/reports/monthly.xlsx").data))
    texts = [c.value for row in book.worksheets[0].iter_rows() for c in row if isinstance(c.value, str)]
    assert any(head.label() in text for text in texts)


def test_a_row_rolled_back_with_its_savepoint_is_not_anchored(app: Flask) -> None:
    from server.services import audit

    ids = _make_events(app, 1)
    with app.app_context():
        nested = db.session.begin_nested()
        audit.record(db.session, None, "test.rolled_back", "test", "x")
        nested.rollback()
        audit.record(db.session, None, "test.kept", "test", "y")
        db.session.commit()
    code, output = _verify(app)
    assert code == 0, output
    assert len(Path(app.config["AUDIT_ANCHOR_FILE"]).read_text().splitlines()) == len(ids) + 1

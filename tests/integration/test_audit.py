"""The audit log's hash chain: web changes are recorded; `flask audit verify` names the first broken row."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.models import AuditEvent
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

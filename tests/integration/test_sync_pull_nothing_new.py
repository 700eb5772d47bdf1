"""A tablet polling with nothing new: the pull answers from the change counter alone."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event

from server.extensions import db
from server.models import Enterprise, Region
from tests.integration.sync_helpers import Device


def _pull(device: Device, cursor: str) -> Any:
    return device.client.get(
        "/api/sync/pull", query_string={"limit": 500, "cursor": cursor}, headers=device.headers
    )


def test_a_pull_with_nothing_new_reads_no_entity_table_and_the_next_change_still_comes(app: Flask) -> None:
    """A tablet polling at the high-water mark costs a few statements, not one per entity; the first change
    committed afterwards is in its next pull."""
    device = Device(app, "xx_insp1")
    _, cursor, _ = device.pull_all()
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        reply = _pull(device, cursor)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    body = reply.get_json()
    assert reply.status_code == 200 and body["changes"] == [] and body["has_more"] is False
    assert body["reset"] is False
    read = [
        s for s in statements if re.search(r"\bFROM (inspection|hazard|item_result|enterprise|photo)\b", s)
    ]
    assert read == []
    with app.app_context():
        enterprise = db.session.scalar(
            sa.select(Enterprise).where(
                Enterprise.region_id == sa.select(Region.id).where(Region.code == "141123").scalar_subquery()
            )
        )
        assert enterprise is not None
        enterprise.address = "兴县蔚汾镇新街 1 号"
        changed = str(enterprise.id)
        db.session.commit()
    reply = _pull(device, body["cursor"])
    assert [(c["entity"], c["id"]) for c in reply.get_json()["changes"]] == [("enterprise", changed)]

"""A pull asks first, in one statement, which entities' tables hold any change in its range, and queries only
those: the pages are exactly those of asking every handler (checked at every cursor of a history), and a pull
after one pushed inspection runs one query per entity it carries, not one per entity there is."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Flask

from server.caches import scope_cache
from server.extensions import db
from server.models import Device as DeviceRow
from server.services.scope import principal_for
from sync import engine
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch, statements_run


def _page(app: Flask, device: Device, cursor: str | None, limit: int, *, probe: bool) -> dict[str, Any]:
    sync = app.extensions["sync"]
    with app.test_request_context():
        row = db.session.get(DeviceRow, uuid.UUID(device.device_id))
        assert row is not None
        principal = principal_for(db.session, row, scope_cache())
        page = engine.changes_since(db.session, sync.registry, sync.ledger, principal, cursor, limit,
                                    sync.cursor_secret, max_bytes=sync.limits.max_pull_bytes, probe=probe)  # fmt: skip
        db.session.rollback()
        db.session.remove()
    return page


def test_pages_with_and_without_the_probe_are_the_same_at_every_cursor(app: Flask) -> None:
    mine = Device(app, "xx_insp1")
    other = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    for device in (mine, other, mine):
        assert device.push(inspection_batch(device, enterprise_id, catalogue_id, codes)[1]).status_code == 200
    for limit in (7, 40, 500):
        cursor: str | None = None
        while True:
            probed = _page(app, mine, cursor, limit, probe=True)
            assert probed == _page(app, mine, cursor, limit, probe=False)
            cursor = probed["cursor"]
            if not probed["has_more"]:
                break
        assert _page(app, mine, cursor, limit, probe=True) == _page(app, mine, cursor, limit, probe=False)


def test_a_pull_after_one_inspection_queries_only_the_entities_it_changed(app: Flask) -> None:
    device = Device(app, "xx_insp1")
    _, cursor, _ = device.pull_all()
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    assert device.push(inspection_batch(device, enterprise_id, catalogue_id, codes)[1]).status_code == 200
    with statements_run(app) as seen:
        changes, _, _ = device.pull_all(cursor)
    entities = {c["entity"] for c in changes}
    assert entities == {"inspection", "item_result", "hazard", "hazard_event"}, entities
    # Each entity's query pages its rows in change-number order (row_changes).
    queried = {m.group(1) for s in seen if (m := re.search(r'ORDER BY "?(\w+)"?\.change_no', s))}
    assert queried == {"inspection", "item_result", "hazard", "hazard_event"}, queried

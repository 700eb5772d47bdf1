"""Caches that live in a worker stay right when another server (or worker) writes: the 清零 verdict cache is
stamped with the database's change counter, so a write committed anywhere is seen by every cache."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa

from server import create_app
from server.domain.hazards import HazardState
from server.extensions import db
from server.models import Hazard
from server.services import oversight
from tests.conftest import app_config, dispose


def test_a_write_on_one_server_reaches_the_other_servers_cached_verdicts(
    database_url: str, tmp_path: Path, qr_key_file: str
) -> None:
    """Two app servers on one database, each with its own cache: B closes open key-item hazards, and A's
    cached 清零 verdicts change exactly as a fresh computation says."""
    a = create_app(app_config(database_url, tmp_path / "a", QR_SIGNING_KEY_FILE=qr_key_file))
    b = create_app(app_config(database_url, tmp_path / "b", QR_SIGNING_KEY_FILE=qr_key_file))
    today = date(2026, 7, 20)
    cache_a = oversight.ClearanceCache()
    try:
        with a.app_context():
            before = oversight.all_clearances(db.session, today, cache_a)
            db.session.remove()
        blocked = {eid for eid, c in before.items() if c.verdict.open_hazards > 0}
        assert blocked, "the demo county has enterprises held back by open key-item hazards"
        with b.app_context():
            hazards = db.session.scalars(
                sa.select(Hazard).where(Hazard.enterprise_id.in_(blocked), Hazard.state != HazardState.closed)
            ).all()
            for hazard in hazards:
                hazard.state = HazardState.closed
            db.session.commit()
        with a.app_context():
            after = oversight.all_clearances(db.session, today, cache_a)
            fresh = oversight.clearances(db.session, None, today)
            db.session.remove()
    finally:
        dispose(a)
        dispose(b)
    assert after == fresh, "server A's cache saw server B's write"
    assert all(after[eid].verdict.open_hazards == 0 for eid in blocked)
    assert after != before

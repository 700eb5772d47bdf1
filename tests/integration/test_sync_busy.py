"""A push that cannot get the single writer's lock in time is told to retry (503, Retry-After), never 500,
and changes nothing; the same push goes through once the database is free."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from server import create_app
from server.extensions import db
from server.models import SyncMutation
from tests.conftest import TEST_DATABASE_URL, app_config, dispose
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch

pytestmark = pytest.mark.skipif(
    TEST_DATABASE_URL.startswith("postgresql"), reason="SQLite's single writer (PostgreSQL locks rows)"
)


@pytest.fixture
def impatient_app(database_url: str, tmp_path: Path, qr_key_file: str) -> Iterator[Flask]:
    """The app with short waits, so the test does not sit through the production ones."""
    application = create_app(app_config(database_url, tmp_path / "instance", QR_SIGNING_KEY_FILE=qr_key_file,
                                        SQLITE_BUSY_TIMEOUT_MS=200, SYNC_PUSH_QUEUE_SECONDS=0.2,
                                        RETRY_AFTER_SECONDS=3))  # fmt: skip
    yield application
    dispose(application)


def test_a_push_blocked_by_another_writer_is_asked_to_retry_and_changes_nothing(impatient_app: Flask) -> None:
    app = impatient_app
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    path = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    assert path
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process writing (a long import, say)
        reply = device.push(batch)
        assert reply.status_code == 503, reply.get_json()
        assert reply.headers["Retry-After"] == "3"
        assert reply.get_json()["code"] == "503.1"
        assert "重试" in reply.get_json()["messages"]["zh-CN"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SyncMutation)) == 0
    again = device.push(batch)
    assert again.status_code == 200
    assert {r["status"] for r in again.get_json()["results"]} == {"applied"}

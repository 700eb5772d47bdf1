"""A pooled PostgreSQL connection that died under the app (the server restarted, a backend was killed, a failover)
costs the one request that meets it a retryable 503 (never a 500), writes nothing, and the pool is then renewed:
the next request succeeds and a retried push is applied exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.test import TestResponse

from server import create_app
from server.extensions import db
from server.models import Inspection, SyncMutation
from tests.conftest import TEST_DATABASE_URL, app_config, dispose, login
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"), reason="a SQLite file has no connection to lose"
)


@pytest.fixture
def pg_app(database_url: str, tmp_path: Path, qr_key_file: str) -> Iterator[Flask]:
    """The app as deployed (its default engine options), with a short Retry-After to recognise."""
    application = create_app(app_config(database_url, tmp_path / "instance", QR_SIGNING_KEY_FILE=qr_key_file,
                                        RETRY_AFTER_SECONDS=4))  # fmt: skip
    yield application
    dispose(application)


def kill_app_connections(database_url: str) -> int:
    """Terminate every backend of the test database but our own, as a restart would; how many were killed."""
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            killed = connection.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )).all()  # fmt: skip
    finally:
        engine.dispose()
    return len(killed)


def assert_database_lost(reply: TestResponse, retry_after: str = "4") -> None:
    """The reply is the catalogue's retryable 503 for a lost database connection."""
    assert reply.status_code == 503, reply.get_data(as_text=True)[:500]
    assert reply.headers["Retry-After"] == retry_after


def test_a_page_meeting_a_dead_connection_is_answered_503_then_the_next_succeeds(pg_app: Flask) -> None:
    client = pg_app.test_client()
    login(client, "xx_sup")
    assert client.get("/dashboard").status_code == 200
    assert kill_app_connections(pg_app.config["DATABASE_URL"]) >= 1
    lost = client.get("/dashboard")
    assert_database_lost(lost)
    html = lost.get_data(as_text=True)
    assert "503.2" in html and "数据库" in html  # the reader's page, in Chinese, with the stable code
    assert client.get("/dashboard").status_code == 200


def test_json_clients_get_the_problem_in_both_languages(pg_app: Flask) -> None:
    client = pg_app.test_client()
    login(client, "xx_sup")
    assert client.get("/api/dashboard").status_code == 200
    kill_app_connections(pg_app.config["DATABASE_URL"])
    lost = client.get("/api/dashboard?lang=en")
    assert_database_lost(lost)
    body = lost.get_json()
    assert body["code"] == "503.2"
    assert "database" in body["message"].lower()
    assert "数据库" in body["messages"]["zh-CN"] and "retry" in body["messages"]["en"].lower()
    assert body["details"]["retry_after"] == 4
    assert client.get("/api/dashboard").status_code == 200


def test_a_push_meeting_a_dead_connection_writes_nothing_and_its_retry_applies_once(pg_app: Flask) -> None:
    app = pg_app
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    assert device.client.get("/api/sync/pull", headers=device.headers).status_code == 200
    with app.app_context():
        ledger_before = db.session.scalar(sa.select(sa.func.count()).select_from(SyncMutation))
    kill_app_connections(app.config["DATABASE_URL"])
    lost = device.push(batch)
    assert_database_lost(lost)
    assert lost.get_json()["code"] == "503.2"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SyncMutation)) == ledger_before
        assert db.session.get(Inspection, uuid.UUID(inspection_id)) is None
    again = device.push(batch)  # what the reference client and the PWA do with a 503
    assert again.status_code == 200, again.get_json()
    assert {r["status"] for r in again.get_json()["results"]} == {"applied"}
    once_more = device.push(batch)  # the reply was lost: the same batch again is a no-op
    assert once_more.status_code == 200
    assert {r["status"] for r in once_more.get_json()["results"]} == {"duplicate"}
    with app.app_context():
        ledger_after = db.session.scalar(sa.select(sa.func.count()).select_from(SyncMutation))
    assert ledger_after == ledger_before + len(batch)

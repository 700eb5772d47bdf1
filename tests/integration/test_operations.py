"""What an operator relies on: /healthz, /readyz, Prometheus metrics (also summed over gunicorn's workers),
request ids, the client address from X-Forwarded-For only behind a configured proxy, and the log format."""

from __future__ import annotations

import io
import json
import logging
import re
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from server import create_app
from server.extensions import db
from server.models import Quarantine
from server.observability import _Formatter, _RequestIdFilter
from server.services import operations
from sync import problems
from tests.conftest import app_config, dispose
from tests.integration.gunicorn_server import Server, gunicorn_env
from tests.integration.sync_helpers import register_device

ROOT = Path(__file__).resolve().parents[2]


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def test_healthz_says_up_and_which_version(app: Flask) -> None:
    reply = app.test_client().get("/healthz")
    assert reply.status_code == 200
    assert reply.get_json() == {"status": "ok", "version": project_version()}


def test_readyz_checks_the_database_and_the_photo_store(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["checks"] == {"database": "ok", "photo_store": "ok"}

    def unreachable() -> None:
        raise problems.storage_unavailable(retry_after=30)

    monkeypatch.setattr(app.extensions["sync"].blobs, "check", unreachable)
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.get_json()["checks"] == {"database": "ok", "photo_store": "unreachable: 503.40"}


def test_readyz_is_not_ready_on_a_database_behind_the_code(app: Flask) -> None:
    with app.app_context():
        db.session.execute(db.text("UPDATE alembic_version SET version_num = '0001'"))
        db.session.commit()
    reply = app.test_client().get("/readyz")
    assert reply.status_code == 503
    assert "code expects" in reply.get_json()["checks"]["database"]


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        metric, _, value = line.rpartition(" ")
        base, _, label_text = metric.partition("{")
        if base == name and ",".join(sorted(label_text.rstrip("}").split(","))) == wanted:
            return float(value)
    return 0.0


def test_metrics_count_sync_latency_quarantine_and_pending_photos(app: Flask) -> None:
    _, token = register_device(app, "xx_insp1")
    client = app.test_client()
    for _ in range(3):
        assert (
            client.get("/api/sync/pull?limit=10", headers={"Authorization": f"Bearer {token}"}).status_code
            == 200
        )
    with app.app_context():
        backlog = operations.backlog(db.session)
        quarantined = db.session.query(Quarantine).filter(Quarantine.resolved_at.is_(None)).count()
    text = client.get("/metrics").get_data(as_text=True)
    assert _sample(text, "sync_request_duration_seconds_count", route="pull", status="200") == 3
    assert _sample(text, "sync_request_duration_seconds_bucket", route="pull", status="200", le="+Inf") == 3
    assert _sample(text, "sync_quarantined_mutations") == quarantined == backlog.quarantined
    assert _sample(text, "sync_pending_photo_uploads") == backlog.pending_uploads
    # Not for the outside world: only the configured addresses may scrape.
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outside.status_code == 404


def test_every_reply_carries_a_request_id(app: Flask) -> None:
    client = app.test_client()
    made = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert (
        client.get("/healthz", headers={"X-Request-ID": "nginx-abc.123"}).headers["X-Request-ID"]
        == "nginx-abc.123"
    )
    forged = client.get("/healthz", headers={"X-Request-ID": 'bad id" INJECTED'}).headers["X-Request-ID"]
    assert "INJECTED" not in forged


@pytest.fixture
def request_log() -> Iterator[io.StringIO]:
    """What the app logs about requests, in JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(_Formatter("Asia/Shanghai", as_json=True))
    logger = logging.getLogger("server.request")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


@pytest.mark.parametrize("hops", [0, 1])
def test_client_address_from_x_forwarded_for_only_behind_a_configured_proxy(
    database_url: str, tmp_path: Path, qr_key_file: str, request_log: io.StringIO, hops: int
) -> None:
    app = create_app(
        app_config(database_url, tmp_path / "i", QR_SIGNING_KEY_FILE=qr_key_file, PROXY_HOPS=hops)
    )
    try:
        reply = app.test_client().get(
            "/healthz",
            headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Request-ID": "r-1"},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )
        assert reply.status_code == 200
    finally:
        dispose(app)
    [line] = [json.loads(text) for text in request_log.getvalue().splitlines()]
    # One proxy (nginx) is believed for the last address it added, a forged earlier one never.
    assert line["client"] == ("203.0.113.9" if hops else "127.0.0.1")
    assert (line["request_id"], line["method"], line["path"], line["status"]) == (
        "r-1",
        "GET",
        "/healthz",
        200,
    )
    assert line["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00", line["time"]), line["time"]


def test_metrics_add_up_over_gunicorn_workers(database_url: str, tmp_path: Path, qr_key_file: str) -> None:
    env = gunicorn_env(database_url, tmp_path / "instance", qr_key_file, workers=3)
    server = Server(env, tmp_path / "server.log")
    server.start()
    try:
        for _ in range(12):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"{server.url}/api/sync/pull")  # no token
            assert refused.value.code == 401
            refused.value.close()
        with urllib.request.urlopen(f"{server.url}/metrics") as reply:
            text = reply.read().decode()
    finally:
        server.kill()
    # Twelve refused pulls, answered by whichever workers took them, all counted in one scrape.
    assert _sample(text, "sync_request_duration_seconds_count", route="pull", status="401") == 12


def test_readyz_says_an_unreachable_database_is_unreachable(
    database_url: str, tmp_path: Path, qr_key_file: str
) -> None:
    dead = "postgresql+psycopg://nobody@127.0.0.1:9/none" if database_url.startswith("postgresql") else (
        f"sqlite:///{tmp_path / 'no-such-folder' / 'app.db'}")  # fmt: skip
    app = create_app(app_config(dead, tmp_path / "i", QR_SIGNING_KEY_FILE=qr_key_file))
    try:
        reply = app.test_client().get("/readyz")
    finally:
        dispose(app)
    assert reply.status_code == 503
    assert reply.get_json()["checks"]["database"].startswith("unreachable")
    assert app.test_client().get("/healthz").status_code == 200, "alive all the same"

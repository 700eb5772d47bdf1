"""The reference client asks its last push for the pull page that follows it, and skips the pull when the page
says it is caught up; against a server that does not answer with a page, it pulls as before."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from sync.client import Outbox, Response, SyncClient, current_catalogue, simulate_inspection
from tests.conftest import DEMO_PASSWORD
from tests.integration.client_transport import FlaskClientTransport

NOW = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)


class OldServerTransport(FlaskClientTransport):
    """The app as a server from before pages in push replies: the page is taken out of every push reply."""

    def request(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None) -> Response:
        reply = super().request(method, path, headers=headers, body=body)
        if path == "/api/sync/push" and reply.status == 200:
            message = json.loads(reply.body)
            message.pop("pull", None)
            return Response(reply.status, reply.headers, json.dumps(message).encode())
        return reply


def _device(
    app: Flask, folder: Path, transport: FlaskClientTransport, username: str = "xx_insp1"
) -> SyncClient:
    outbox = Outbox(folder / "device.sqlite3")
    client = SyncClient(transport, outbox, sleep=lambda _s: None, rng=random.Random(1))
    client.register(username, DEMO_PASSWORD)
    client.pull()
    return client


def _inspect(client: SyncClient, folder: Path, seed: int) -> str:
    outbox = client.outbox
    catalogue = current_catalogue(outbox.replica("catalogue"), NOW.date())
    assert catalogue is not None
    made = simulate_inspection(
        outbox, outbox.replica("enterprise")[0], catalogue, rng=random.Random(seed), photo_dir=folder / "photos",
        photos_per_hazard=1, me=outbox.user, now=NOW, photo_size=(64, 48),
    )  # fmt: skip
    return made.inspection_id


@pytest.fixture
def folders(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    yield first, second


def test_a_sync_takes_its_pull_from_the_push_reply(app: Flask, folders: tuple[Path, Path]) -> None:
    transport = FlaskClientTransport.for_app(app)
    client = _device(app, folders[0], transport)
    inspection_id = _inspect(client, folders[0], seed=3)
    transport.log.clear()
    summary = client.sync()
    assert summary.push.quarantined == 0 and summary.pulled > 0
    assert ("GET", "/api/sync/pull") not in transport.log
    mine = client.outbox.replica_get("inspection", inspection_id)
    assert mine is not None and mine["data"]["status"] == "submitted"
    assert client.pull() == 0  # caught up: nothing was left behind
    client.outbox.close()


def test_the_replica_is_the_one_an_old_style_sync_makes(app: Flask, folders: tuple[Path, Path]) -> None:
    """Two tablets of one inspector: one syncs through the push reply, the other against an 'old' server (pull);
    after each has synced the other's work too, both replicas are the same."""
    new = _device(app, folders[0], FlaskClientTransport.for_app(app))
    old_transport = OldServerTransport(app.test_client(use_cookies=False))
    old = _device(app, folders[1], old_transport)
    _inspect(new, folders[0], seed=3)
    _inspect(old, folders[1], seed=4)
    new.sync()
    old_transport.log.clear()
    old.sync()
    assert ("GET", "/api/sync/pull") in old_transport.log  # no page in the reply: the old client's pull
    new.sync()
    old.sync()
    entities = ("inspection", "item_result", "hazard", "photo", "enterprise", "catalogue")
    for entity in entities:
        assert new.outbox.replica(entity, include_deleted=True) == old.outbox.replica(
            entity, include_deleted=True
        )
    new.outbox.close()
    old.outbox.close()


def test_another_tablets_change_made_before_the_push_reaches_the_replica(
    app: Flask, folders: tuple[Path, Path]
) -> None:
    transport = FlaskClientTransport.for_app(app)
    mine = _device(app, folders[0], transport)
    other = _device(app, folders[1], FlaskClientTransport.for_app(app))
    theirs = _inspect(other, folders[1], seed=5)
    other.sync()  # committed after my last pull, before my push
    _inspect(mine, folders[0], seed=6)
    transport.log.clear()
    mine.sync()
    assert ("GET", "/api/sync/pull") not in transport.log
    assert mine.outbox.replica_get("inspection", theirs) is not None
    mine.outbox.close()
    other.outbox.close()


def test_a_push_alone_asks_for_no_page(app: Flask, folders: tuple[Path, Path]) -> None:
    transport = FlaskClientTransport.for_app(app)
    client = _device(app, folders[0], transport)
    cursor = client.outbox.cursor
    _inspect(client, folders[0], seed=7)
    client.upload_blobs()
    summary = client.push()
    assert summary.pulled == 0 and client.outbox.cursor == cursor
    client.outbox.close()

"""A device's keep-alive connection survives any reply, even one sent before its request body was read.

The server may answer a PUT without reading its body (the photo is already complete, the offset is wrong, the
body is too large); the next request on the same connection must still get its reply.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import DEMO_PASSWORD
from tests.integration.gunicorn_server import Server, gunicorn_env


@pytest.fixture
def server(database_url: str, tmp_path: Path, qr_key_file: str) -> Iterator[Server]:
    """gunicorn (the deploy configuration: threads, keep-alive) with one worker, so one connection's
    requests all meet the same process."""
    running = Server(gunicorn_env(database_url, tmp_path / "instance", qr_key_file, 1), tmp_path / "s.log")
    running.start()
    yield running
    running.kill()


def _token(connection: http.client.HTTPConnection) -> str:
    connection.request("POST", "/api/auth/login", json.dumps({"username": "xx_insp1", "password": DEMO_PASSWORD}),
                       {"Content-Type": "application/json"})  # fmt: skip
    reply = connection.getresponse()
    body, cookie = json.loads(reply.read()), reply.getheader("Set-Cookie", "").split(";")[0]
    connection.request("POST", "/api/devices", json.dumps({"device_id": str(uuid.uuid4())}),
                       {"Content-Type": "application/json", "X-CSRF-Token": body["csrf_token"], "Cookie": cookie})  # fmt: skip
    return str(json.loads(connection.getresponse().read())["token"])


def _photo() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((700, 500), 60).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def _put(connection: http.client.HTTPConnection, token: str, sha: str, body: bytes, offset: int) -> Any:
    connection.request("PUT", f"/api/sync/blobs/{sha}", body, {
        "Authorization": f"Bearer {token}", "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": str(offset), "Upload-Length": str(len(body) + offset)})  # fmt: skip
    reply = connection.getresponse()
    return reply.status, reply.read()


def test_a_reused_connection_gets_its_reply_after_unread_bodies(server: Server) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        token = _token(connection)
        photo = _photo()
        sha = hashlib.sha256(photo).hexdigest()
        assert _put(connection, token, sha, photo, 0)[0] == 200
        outcomes = []
        for attempt in range(6):
            # Complete already (body unread), then a wrong offset (409, body unread), then a harmless GET.
            outcomes.append(_put(connection, token, sha, photo, 0)[0])
            outcomes.append(_put(connection, token, hashlib.sha256(b"%d" % attempt).hexdigest(), photo, 5)[0])
            connection.request("GET", "/api/sync/pull?limit=1", headers={"Authorization": f"Bearer {token}"})
            pulled = connection.getresponse()
            pulled.read()
            outcomes.append(pulled.status)
    finally:
        connection.close()
    assert outcomes == [200, 409, 200] * 6

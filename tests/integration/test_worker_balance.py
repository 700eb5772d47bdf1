"""A gunicorn worker whose threads are all busy leaves new connections to the workers that are free.

gunicorn's threaded worker accepts connections busy or not, and a kept-alive connection stays with the worker that
took it: a tablet slow to send its request (a weak field connection) held one worker's only thread, and about half
the requests that came next waited behind it while the other worker sat idle. In a sync storm the same greed gave
one worker most of the tablets' connections, and the machine's two cores were a third idle.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.gunicorn_server import Server, gunicorn_env


@pytest.fixture
def server(database_url: str, tmp_path: Path, qr_key_file: str) -> Iterator[Server]:
    """gunicorn with the deploy configuration, two workers of one thread each."""
    env = {**gunicorn_env(database_url, tmp_path / "instance", qr_key_file, 2), "GUNICORN_THREADS": "1"}
    running = Server(env, tmp_path / "s.log")
    running.start()
    yield running
    running.kill()


def _answered_before(url: str, released: threading.Event, answers: list[bool]) -> None:
    """GET /healthz on a new connection; record whether it was answered before the slow client was released."""
    with urllib.request.urlopen(f"{url}/healthz", timeout=60) as reply:
        reply.read()
    answers.append(not released.is_set())


def test_a_worker_busy_with_a_slow_client_takes_no_new_connection(server: Server) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    slow = socket.create_connection((host, int(port)))
    try:
        # Half a request: the worker that takes it keeps its one thread waiting for the rest.
        slow.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n".encode())
        time.sleep(1.0)  # let a worker take it (the assertions below do not depend on how long that takes)
        released = threading.Event()
        answers: list[bool] = []
        clients = [
            threading.Thread(target=_answered_before, args=(server.url, released, answers)) for _ in range(12)
        ]
        for client in clients:
            client.start()
            client.join(timeout=5)  # one after another, each on a new connection
        released.set()
        slow.sendall(b"\r\n")  # the slow client finishes: requests stuck behind it are answered now
        assert slow.recv(65536).startswith(b"HTTP/1.1 200")
        for client in clients:
            client.join(timeout=60)
    finally:
        slow.close()
    assert len(answers) == 12
    assert all(answers), f"{answers.count(False)} of 12 new connections waited behind the busy worker"

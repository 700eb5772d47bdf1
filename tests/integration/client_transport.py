"""Transports for driving sync.client against the in-process app: direct, logged, and deliberately flaky."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from flask import Flask
from flask.testing import FlaskClient

from sync.client import Headers, Response, Transport, TransportError


class FlaskClientTransport:
    """A Transport over Flask's test client: the whole app in-process, no sockets."""

    def __init__(self, test_client: FlaskClient) -> None:
        self.client = test_client
        #: Every request as (method, path), for tests that check what was (not) sent.
        self.log: list[tuple[str, str]] = []

    @classmethod
    def for_app(cls, app: Flask) -> FlaskClientTransport:
        """A transport with a cookie-less test client: the sync client carries its own cookies, as over HTTP."""
        return cls(app.test_client(use_cookies=False))

    def request(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None) -> Response:
        """Run the request through the app and return its reply."""
        self.log.append((method, path.split("?", 1)[0]))
        reply = self.client.open(path, method=method, headers=headers, data=body)
        return Response(reply.status_code, Headers(reply.headers.items()), reply.get_data())


@dataclass
class FlakyTransport:
    """Wraps a transport and loses requests (never reaching the server) or replies (after the server acted).

    It may also answer with a 503 or a truncated body instead of the real reply; all of it decided by a
    seeded rng, so a failing run can be replayed.
    """

    inner: Transport
    rng: random.Random
    drop_request: float = 0.1
    drop_reply: float = 0.1
    garble_reply: float = 0.05
    unavailable: float = 0.05
    faults: dict[str, int] = field(default_factory=dict)

    def _fault(self, kind: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1

    def request(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None) -> Response:
        """Forward the request, unless this one is to be lost somewhere."""
        if self.rng.random() < self.drop_request:
            self._fault("request lost")
            raise TransportError(f"{method} {path}: connection reset before the request arrived")
        if self.rng.random() < self.unavailable:
            self._fault("503")
            return Response(503, {"Content-Type": "application/json", "Retry-After": "1"},
                            b'{"code":"500.1","message":"upstream unavailable"}')  # fmt: skip
        reply = self.inner.request(method, path, headers=headers, body=body)
        if self.rng.random() < self.drop_reply:
            self._fault("reply lost")
            raise TransportError(f"{method} {path}: timed out waiting for the reply")
        if reply.body and self.rng.random() < self.garble_reply:
            self._fault("reply truncated")
            return Response(reply.status, reply.headers, reply.body[: len(reply.body) // 2])
        return reply

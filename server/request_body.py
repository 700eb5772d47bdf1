"""Request bodies read to their end before the reply goes out, so a keep-alive connection stays usable.

A view may answer without reading the body (the photo is already complete, the offset is wrong, the token is
bad). gunicorn then drains at most 64 KiB before reusing the connection and otherwise drops it silently, after
a reply that promised keep-alive: the device's next request on it fails with "connection closed without
response". Reading what is left here, up to the largest body the server accepts anyway, keeps the connection
clean. A body declared larger than that is refused before it is read (413) and its connection is not reused:
nginx in front answers those itself (``client_max_body_size``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

from flask import Flask

PIECE = 64 * 1024


class _CountingInput:
    """``wsgi.input`` that counts what the application read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.consumed += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._stream.readline(size)
        self.consumed += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class DrainUnreadBody:
    """WSGI middleware: after the application answered, read and discard the rest of the request body."""

    def __init__(self, wsgi_app: Any, max_drain: int) -> None:
        self.wsgi_app = wsgi_app
        self.max_drain = max_drain

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Run the application, then drain what it left of a body of at most ``max_drain`` bytes."""
        try:
            declared = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        counting = _CountingInput(environ["wsgi.input"])
        environ["wsgi.input"] = counting
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            left = declared - counting.consumed
            if 0 < left <= self.max_drain:
                try:
                    while left > 0 and (piece := counting.read(min(PIECE, left))):
                        left -= len(piece)
                except OSError:
                    pass  # the client went away: nothing to keep clean


def init_app(app: Flask) -> None:
    """Wrap the app so that every body up to the largest accepted request is read to its end."""
    largest = max(app.config["SYNC_MAX_PUSH_BYTES"], app.config["SYNC_MAX_PHOTO_BYTES"], 1024 * 1024)
    if app.config.get("MAX_CONTENT_LENGTH"):
        largest = max(largest, int(app.config["MAX_CONTENT_LENGTH"]))
    app.wsgi_app = DrainUnreadBody(app.wsgi_app, largest)  # type: ignore[method-assign]

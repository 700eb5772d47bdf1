"""gzip for JSON replies when the client accepts it, so a tablet's first pull costs a fraction of the bytes.

Kept in the app for the embedded setup (gunicorn alone); behind nginx, nginx compresses too and leaves replies
that already carry a Content-Encoding alone. Photos (already compressed JPEG) and streamed files are never
touched.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

#: Replies smaller than this gain nothing from compression (the gzip header alone is 18 bytes).
MIN_BYTES = 1024
#: Level 6: most of level 9's gain at a fraction of the CPU (pulls are compressed on every request).
LEVEL = 6
_COMPRESSIBLE = ("application/json", "application/problem+json", "application/geo+json")


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (``gzip;q=0`` refuses it; ``*`` allows it)."""
    allowed: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name.strip():
            allowed[name.strip().lower()] = quality
    if "gzip" in allowed:
        return allowed["gzip"] > 0
    return allowed.get("*", 0) > 0


def compress_response(response: Response) -> Response:
    """gzip ``response`` in place when it is JSON of some size and the request accepts gzip."""
    if (
        response.direct_passthrough
        or response.status_code < 200
        or response.status_code in (204, 206, 304)
        or "Content-Encoding" in response.headers
        or response.mimetype not in _COMPRESSIBLE
    ):
        return response
    response.vary.add("Accept-Encoding")
    if not accepts_gzip(request.headers.get("Accept-Encoding", "")):
        return response
    body = response.get_data()
    if len(body) < MIN_BYTES:
        return response
    # mtime=0: the same reply compresses to the same bytes (caches and tests can compare them).
    response.set_data(gzip.compress(body, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    # A strong ETag names the uncompressed bytes; the compressed ones are only weakly the same.
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)
    return response


def init_app(app: Flask) -> None:
    """Compress JSON replies (HEAD replies carry no body and are left as they are)."""

    @app.after_request
    def _compress(response: Response) -> Response:
        if request.method == "HEAD":
            return response
        return compress_response(response)

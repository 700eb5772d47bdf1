"""Compressed sync: JSON replies gzip-compressed when accepted, a first pull at most a quarter of its bytes, and
pull pages sized by bytes as well as by count (nothing lost or repeated across the pages)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server import create_app
from server.compression import accepts_gzip
from tests.conftest import app_config, dispose
from tests.integration.sync_helpers import register_device


def pull_all(app: Flask, token: str, *, encoding: str | None, limit: int = 500) -> tuple[list[Any], int, int]:
    """A device's first pull, page by page: (changes, bytes on the wire, bytes of JSON)."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    if encoding is not None:
        headers["Accept-Encoding"] = encoding
    changes: list[Any] = []
    wire = plain = 0
    cursor = None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        reply = client.get(f"/api/sync/pull{query}", headers=headers)
        assert reply.status_code == 200
        assert "Accept-Encoding" in reply.headers.get("Vary", "")
        body = reply.get_data()
        wire += len(body)
        if reply.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        plain += len(body)
        page = json.loads(body)
        changes.extend(page["changes"])
        cursor = page["cursor"]
        if not page["has_more"]:
            return changes, wire, plain


def test_a_first_pull_is_compressed_to_at_most_a_quarter(app: Flask) -> None:
    _, token = register_device(app, "xx_insp1")
    compressed, wire, plain = pull_all(app, token, encoding="gzip, deflate, br")
    uncompressed, wire_plain, _ = pull_all(app, token, encoding=None)
    assert compressed == uncompressed, "the same changes either way"
    assert wire_plain == plain, "not compressed unless asked"
    assert len(compressed) > 100
    assert wire <= plain / 4, f"first pull {wire} B compressed of {plain} B"


@pytest.mark.parametrize("header", ["gzip;q=0", "identity", "br"])
def test_no_gzip_unless_accepted(app: Flask, header: str) -> None:
    _, token = register_device(app, "xx_insp1")
    reply = app.test_client().get(
        "/api/sync/pull?limit=50", headers={"Authorization": f"Bearer {token}", "Accept-Encoding": header}
    )
    assert reply.status_code == 200 and "Content-Encoding" not in reply.headers
    assert reply.get_json()["changes"]


def test_small_replies_and_photos_are_left_alone(app: Flask) -> None:
    reply = app.test_client().get("/api/sync/pull", headers={"Accept-Encoding": "gzip"})
    assert reply.status_code == 401 and "Content-Encoding" not in reply.headers, "a short problem stays plain"


def test_accept_encoding_parsing() -> None:
    assert accepts_gzip("gzip") and accepts_gzip("deflate, gzip;q=0.5") and accepts_gzip("*")
    assert not accepts_gzip("") and not accepts_gzip("gzip;q=0") and not accepts_gzip("*, gzip;q=0")
    assert not accepts_gzip("identity") and not accepts_gzip("gzip;q=bad")


def test_pull_pages_are_sized_by_bytes_and_lose_nothing(
    database_url: str, tmp_path: Path, qr_key_file: str, app: Flask
) -> None:
    _, token = register_device(app, "xx_insp1")
    whole, _, plain = pull_all(app, token, encoding=None, limit=2000)
    budget = 16 * 1024
    small = create_app(
        app_config(
            database_url, tmp_path / "small", QR_SIGNING_KEY_FILE=qr_key_file, SYNC_PULL_PAGE_BYTES=budget
        )
    )
    try:
        client = small.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        paged: list[Any] = []
        cursor, pages = None, 0
        while True:
            query = "?limit=2000" + (f"&cursor={cursor}" if cursor else "")
            page = client.get(f"/api/sync/pull{query}", headers=headers).get_json()
            sizes = [len(json.dumps(c, ensure_ascii=False).encode()) for c in page["changes"]]
            # Within the budget, but for the change that crossed it (a page always carries one).
            assert sum(sizes[:-1]) <= budget
            paged.extend(page["changes"])
            pages += 1
            cursor = page["cursor"]
            if not page["has_more"]:
                break
    finally:
        dispose(small)
    assert pages >= plain // budget
    assert [(c["entity"], c["id"]) for c in paged] == [(c["entity"], c["id"]) for c in whole]
    assert paged == whole

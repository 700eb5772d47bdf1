"""Compressed sync: the bytes of an inspector's first pull of the demo county, with and without gzip, and
the time gzip costs the server. Prints figures and ratios (no assertions).

    .venv/bin/python bench/compression.py [--user xx_insp1]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import fresh_database, seeded_app
from server.extensions import db

#: Each pull is timed this many times; the median is printed.
REPEAT = 7


def first_pull(app: Flask, token: str, encoding: str | None) -> tuple[int, int, int, float]:
    """(pages, bytes on the wire, bytes of JSON, seconds) of one full first pull."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    if encoding:
        headers["Accept-Encoding"] = encoding
    pages = wire = plain = 0
    cursor = None
    started = time.perf_counter()
    while True:
        query = "?limit=500" + (f"&cursor={cursor}" if cursor else "")
        reply = client.get(f"/api/sync/pull{query}", headers=headers)
        body = reply.get_data()
        wire += len(body)
        if reply.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        plain += len(body)
        page = json.loads(body)
        pages += 1
        cursor = page["cursor"]
        if not page["has_more"]:
            return pages, wire, plain, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--user", default="xx_insp1", help="whose first pull (a demo login)")
    user = parser.parse_args().user
    with tempfile.TemporaryDirectory() as folder, fresh_database("sqlite") as url:
        app = seeded_app(url, Path(folder))
        client = app.test_client()
        login = client.post("/api/auth/login", json={"username": user, "password": "jiancha-2026"})
        csrf = login.get_json()["csrf_token"]
        token = client.post("/api/devices", json={"device_id": str(uuid.uuid4())},
                            headers={"X-CSRF-Token": csrf}).get_json()["token"]  # fmt: skip
        first_pull(app, token, None)  # warm caches
        raw = [first_pull(app, token, None) for _ in range(REPEAT)]
        packed = [first_pull(app, token, "gzip") for _ in range(REPEAT)]
        pages, raw_wire, raw_plain, _ = raw[0]
        gz_pages, gz_wire, _, _ = packed[0]
        raw_s = statistics.median(run[3] for run in raw)
        gz_s = statistics.median(run[3] for run in packed)
        with app.app_context():
            db.session.remove()
    print(f"first pull of the demo county as {user}: {pages} pages, {raw_plain} B of JSON")
    print(f"  uncompressed on the wire: {raw_wire} B in {raw_s * 1000:.0f} ms (median of {REPEAT})")
    print(f"  gzip on the wire:         {gz_wire} B in {gz_s * 1000:.0f} ms ({gz_pages} pages)")
    print(f"  ratio compressed/uncompressed bytes: {gz_wire / raw_wire:.3f} (target <= 0.25)")
    print(f"  ratio compressed/uncompressed server time: {gz_s / raw_s:.2f}")


if __name__ == "__main__":
    main()

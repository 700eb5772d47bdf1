"""One tiny photo's upload in server CPU, before and after: a PUT's cost counted in trivial requests.

    .venv/bin/python bench/photo_upload.py [--against main] [--rounds 5] [--photos 100]
                                           [--database-url sqlite | postgresql+psycopg://…/NAME]
    .venv/bin/python bench/photo_upload.py --profile tottime [--database-url …]   (this tree, cProfile)

The end-of-day storm is photo-bound: every device sends each tiny photo in one PUT. Each round runs one fresh
process per code tree, alternating (``--against``'s tree, exported with ``git archive``, then this one), so
both see the same machine load. A process builds a migrated demo database (a SQLite file, or on PostgreSQL a
new database named after the one in ``--database-url`` plus a suffix, dropped afterwards), registers a device,
warms up with 50 PUTs, times 200 ``GET /healthz`` (the trivial request), then ``--photos`` PUTs of 64×48 JPEGs
in one piece, through the Flask test client (no network). Prints per round and as medians (range): CPU ms per
PUT, the ratio PUT / trivial request, the device authentication's CPU ms per PUT (shared by every sync request)
and the ratio without it, wall ms per PUT (fsyncs and the commit included) and SQL statements per PUT. No assertions: tests/integration/test_blob_uploads.py holds the answers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 50
TRIVIAL = 200


def _database(url: str) -> Any:
    """A context manager giving a new empty database URL: a SQLite file, or a PostgreSQL database named
    after ``url``'s with a suffix (dropped afterwards)."""
    import contextlib
    import uuid

    import sqlalchemy as sa

    @contextlib.contextmanager
    def made() -> Any:
        if url == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                yield f"sqlite:///{Path(folder) / 'bench.db'}"
            return
        base = sa.make_url(url)
        name = f"{base.database}_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    return made()


def measure(url: str, photos: int, profile: str | None) -> dict[str, float]:
    """In this process, with the code on sys.path: the figures of ``photos`` one-piece PUTs."""
    import cProfile
    import hashlib
    import logging
    import pstats
    import random
    import time
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from bench._common import seeded_app
    from server.extensions import db
    from sync.client.simulate import make_jpeg
    from tests.integration.sync_helpers import Device

    logging.disable(logging.INFO)
    rng = random.Random(1)
    taken = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    jpegs = [make_jpeg(rng, f"p{i}", taken, size=(64, 48)) for i in range(WARM_UP + photos)]
    with _database(url) as database_url, tempfile.TemporaryDirectory() as folder:
        app = seeded_app(database_url, Path(folder))
        device = Device(app, "xx_insp1")
        client = device.client
        # The device's authentication is timed apart: it is shared with every sync request, not the photo's.
        backend = app.extensions["sync"]
        authenticate, auth_cpu = backend.authenticate, [0.0]

        def timed_authenticate() -> Any:
            started = time.process_time()
            try:
                return authenticate()
            finally:
                auth_cpu[0] += time.process_time() - started

        backend.authenticate = timed_authenticate
        statements = [0]
        with app.app_context():
            sa.event.listen(
                db.engine,
                "before_cursor_execute",
                lambda *_a, **_k: statements.__setitem__(0, statements[0] + 1),
            )

        def put(data: bytes) -> None:
            sha = hashlib.sha256(data).hexdigest()
            headers = {**device.headers, "Content-Type": "application/offset+octet-stream",
                       "Upload-Offset": "0", "Upload-Length": str(len(data))}  # fmt: skip
            reply = client.put(f"/api/sync/blobs/{sha}", data=data, headers=headers)
            assert reply.status_code == 200 and reply.get_json()["complete"], reply.get_json()

        for data in jpegs[:WARM_UP]:
            put(data)
        started = time.process_time()
        for _ in range(TRIVIAL):
            client.get("/healthz")
        trivial = (time.process_time() - started) / TRIVIAL
        profiler = cProfile.Profile() if profile else None
        statements[0], auth_cpu[0] = 0, 0.0
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for data in jpegs[WARM_UP:]:
            put(data)
        if profiler:
            profiler.disable()
        cpu, wall = (time.process_time() - cpu) / photos, (time.perf_counter() - wall) / photos
        if profiler:
            stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats(*profile.split(","))
            stats.print_stats(
                *[int(x) if x.isdigit() else x for x in os.environ.get("PROFILE_FILTER", "45").split(",")]
            )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    auth = auth_cpu[0] / photos
    return {"cpu_ms": cpu * 1000, "trivial_ms": trivial * 1000, "ratio": cpu / trivial,
            "auth_ms": auth * 1000, "ratio_sans_auth": (cpu - auth) / trivial,
            "wall_ms": wall * 1000, "statements": statements[0] / photos}  # fmt: skip


def _export(rev: str, into: Path) -> Path:
    """The tree of git revision ``rev`` as files under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def _run_in(tree: Path, url: str, photos: int) -> dict[str, float]:
    """One measuring process with ``tree``'s code."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    reply = subprocess.run(
        [sys.executable, __file__, "--worker", str(tree), "--database-url", url, "--photos", str(photos)],
        cwd=tree, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(reply.stdout.strip().splitlines()[-1])


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f} ({min(values):.2f}–{max(values):.2f})"


def main() -> int:
    """Parse the flags; alternate the trees, or measure (``--worker``) or profile (``--profile``) here."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", default="main", help="the git revision to compare with (default main)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--photos", type=int, default=100, help="timed PUTs per process")
    parser.add_argument("--database-url", default="sqlite",
                        help="sqlite, or a PostgreSQL URL whose database name prefixes the ones made")  # fmt: skip
    parser.add_argument(
        "--profile", metavar="SORT", help="profile this tree's PUTs in this process (tottime…)"
    )
    parser.add_argument("--worker", metavar="TREE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker or args.profile:
        if args.worker:
            sys.path.insert(0, args.worker)
        else:
            sys.path.insert(0, str(ROOT))
        print(json.dumps(measure(args.database_url, args.photos, args.profile)))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        trees = {args.against: _export(args.against, Path(folder)), "this tree": ROOT}
        results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for number in range(1, args.rounds + 1):
            for name, tree in trees.items():
                figures = _run_in(tree, args.database_url, args.photos)
                results[name].append(figures)
                print(f"round {number} {name:>10}: " + "  ".join(f"{k} {v:.2f}" for k, v in figures.items()),
                      flush=True)  # fmt: skip
    print(f"\n{args.photos} PUTs × {args.rounds} rounds on {args.database_url.split('://')[0]}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; median (range)")  # fmt: skip
    keys = ("cpu_ms", "trivial_ms", "ratio", "auth_ms", "ratio_sans_auth", "wall_ms", "statements")
    print(f"{'':>12} " + " ".join(f"{k:>20}" for k in keys))
    for name, rows in results.items():
        print(f"{name:>12} " + " ".join(f"{_summary([r[k] for r in rows]):>20}" for k in keys))
    base, mine = results[args.against], results["this tree"]
    for key in ("cpu_ms", "ratio", "ratio_sans_auth", "wall_ms"):
        ratios = [m[key] / b[key] for b, m in zip(base, mine, strict=True)]
        print(f"this tree / {args.against} {key}: median {_summary(ratios)} (per round, same load)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

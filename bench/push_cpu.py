"""Server CPU of a push, this tree against a baseline commit, alternating in one script.

    .venv/bin/python bench/push_cpu.py --baseline REF [--database sqlite|postgresql] [--per-push 1 10]
        [--rounds 7] [--pushes 20] [--profile]

Two worker processes, one per tree (the baseline is exported with ``git archive`` into a temporary folder),
each on its own fresh database. The script asks them in turn, round after round, to time ``--pushes`` pushes
of ``--per-push`` realistic inspections (header, every applicable answer, a hazard, the submission) and
trivial requests (GET /healthz) with ``time.process_time``; the bodies are encoded before the clock starts.
Prints per round and as medians: CPU per inspection, in trivial requests, the ratio new/old, and the SQL
statements of one push. With ``--profile`` the workers also print cProfile's own-CPU top entries at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def worker(root: Path, database: str, profile: bool) -> None:
    """Serve measurement requests ("<per_push> <pushes>" per line) on stdin, one JSON line each on stdout."""
    sys.path.insert(0, str(root))
    import cProfile
    import logging
    import pstats

    import sqlalchemy as sa

    from bench._common import fresh_database, seeded_app
    from server.extensions import db
    from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch

    logging.disable(logging.WARNING)
    profiler = cProfile.Profile(time.process_time) if profile else None
    with fresh_database(database) as url, tempfile.TemporaryDirectory() as folder:
        app = seeded_app(url, Path(folder))
        device = Device(app, "xx_insp1")
        enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
        client = app.test_client()
        with app.app_context():
            engine = db.engine
        seen: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))

        def bodies(per_push: int, pushes: int) -> list[bytes]:
            made = []
            for _ in range(pushes):
                batch: list[dict[str, Any]] = []
                for _ in range(per_push):
                    batch += inspection_batch(device, enterprise_id, catalogue_id, codes)[1]
                body = {"device_id": device.device_id, "schema": 1, "mutations": batch}
                made.append(json.dumps(body).encode())
            return made

        headers = {**device.headers, "Content-Type": "application/json"}
        for body in bodies(1, 3):  # warm: caches, the first catalogue load
            assert client.post("/api/sync/push", data=body, headers=headers).status_code == 200
        for line in sys.stdin:
            per_push, pushes = (int(word) for word in line.split())
            ready = bodies(per_push, pushes)
            seen.clear()
            started = time.process_time()
            if profiler:
                profiler.enable()
            replies = [client.post("/api/sync/push", data=body, headers=headers) for body in ready]
            if profiler:
                profiler.disable()
            push_cpu = (time.process_time() - started) / pushes
            statements = len(seen) / pushes
            for reply in replies:
                assert reply.status_code == 200, reply.get_json()
                assert {r["status"] for r in reply.get_json()["results"]} == {"applied"}, reply.get_json()
            started = time.process_time()
            for _ in range(pushes * 10):
                client.get("/healthz")
            trivial_cpu = (time.process_time() - started) / (pushes * 10)
            print(
                json.dumps({"push": push_cpu, "trivial": trivial_cpu, "statements": statements}), flush=True
            )
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(45)
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(60)
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(r"/(server|sync)/", 60)
            sys.stderr.write(out.getvalue())
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def export(ref: str, folder: Path) -> Path:
    """The tree of ``ref`` written into ``folder`` (git archive: the repository itself is left untouched)."""
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def main() -> int:
    """Run the two workers in turn and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", default="HEAD", help="the commit to compare this tree with")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--per-push", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.database, args.profile)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        trees = {"old": export(args.baseline, Path(folder)), "new": ROOT}
        command = [sys.executable, str(Path(__file__).resolve()), "--database", args.database]
        workers = {
            name: subprocess.Popen(
                [*command, "--worker", str(tree), *(["--profile"] if args.profile else [])],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=tree,
                env={**os.environ},
            )
            for name, tree in trees.items()
        }
        figures: dict[tuple[str, int], list[dict[str, float]]] = {}
        try:
            for round_no in range(args.rounds):
                for per_push in args.per_push:
                    # The order within a round alternates too, so that neither tree always runs second.
                    for name in ("old", "new") if round_no % 2 == 0 else ("new", "old"):
                        process = workers[name]
                        assert process.stdin is not None and process.stdout is not None
                        process.stdin.write(f"{per_push} {args.pushes}\n")
                        process.stdin.flush()
                        figure = json.loads(process.stdout.readline())
                        figures.setdefault((name, per_push), []).append(figure)
                print(f"round {round_no + 1}: load average {os.getloadavg()[0]:.2f}", flush=True)
        finally:
            for process in workers.values():
                assert process.stdin is not None
                process.stdin.close()
            for process in workers.values():
                process.wait()
        for per_push in args.per_push:
            print(
                f"--- pushes of {per_push} inspection(s), {args.database}, {args.rounds} rounds of {args.pushes}"
            )
            per_inspection: dict[str, float] = {}
            for name in ("old", "new"):
                rows = figures[(name, per_push)]
                push = statistics.median(r["push"] for r in rows) / per_push
                trivial = statistics.median(r["trivial"] for r in rows)
                in_trivial = statistics.median(r["push"] / per_push / r["trivial"] for r in rows)
                per_inspection[name] = push
                print(f"  {name}: {push * 1000:6.2f} ms CPU per inspection (range "
                      f"{min(r['push'] for r in rows) / per_push * 1000:.2f}-{max(r['push'] for r in rows) / per_push * 1000:.2f}), "
                      f"trivial GET {trivial * 1000:.3f} ms, {in_trivial:5.1f} trivial requests per inspection, "
                      f"{rows[0]['statements']:.0f} statements per push")  # fmt: skip
            ratios = [
                n["push"] / o["push"]
                for o, n in zip(figures[("old", per_push)], figures[("new", per_push)], strict=True)
            ]
            print(
                f"  new/old per round: {' '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

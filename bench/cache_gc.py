"""What a full garbage collection costs in a worker that holds the kept caches (清零 verdicts, map layers, the
dashboard's and the reconciliation's figures) of a database, e.g. one filled by ``bench/province.py --no-storm
--keep --database-name NAME``.

    .venv/bin/python bench/cache_gc.py --database-url URL [--collections 7] [--pages] [--no-freeze]
                                                      [--save F] [--against F]

One process does what a gunicorn worker does (deploy/gunicorn.conf.py): loads the app, collects and freezes
it, then warms the caches and freezes them as ``post_worker_init`` does (``--no-freeze``: warms only, as
before), and with ``--pages`` serves the supervisors' pages once each, so that the caches those pages fill are
kept too. It then prints the tracked objects the collector walks (``gc.get_objects()``, the frozen ones left
out), those reachable from each kept cache (and from all of them), and the time of ``--collections`` full
collections (min, median, max). ``--save``/``--against`` compare with an earlier run
(e.g. of the base commit) as ``before → after`` with their ratio. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import bench_config  # noqa: E402

#: Pages served once with ``--pages``: those whose figures the worker keeps.
PAGES = ("/dashboard", "/map", "/api/map/points", "/enterprises", "/reconciliation")
USERS = ("xx_sup", "ll_city")


def tracked_reachable(root: Any, walked: set[int]) -> int:
    """How many objects the collector walks (tracked, not frozen: in ``walked``) are reachable from ``root``
    through such objects, each counted once per call."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        for ref in gc.get_referents(obj):
            key = id(ref)
            if key in walked and key not in seen:
                seen.add(key)
                stack.append(ref)
    return len(seen)


def full_collections(count: int) -> list[float]:
    """The seconds each of ``count`` full collections took."""
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        gc.collect()
        seconds.append(time.perf_counter() - started)
    return seconds


def measure(url: str, collections: int, pages: bool, no_freeze: bool = False) -> dict[str, Any]:
    """Load the app as a worker does, warm its caches, and measure what a full collection walks and costs."""
    from server import create_app
    from server.caches import warm_and_freeze_caches, warm_clearance_cache
    from server.demo.county import DEMO_PASSWORD
    from server.extensions import db

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(bench_config(url, Path(folder)))
        gc.collect()
        gc.freeze()  # as post_worker_init does
        frozen = gc.get_freeze_count()
        started = time.perf_counter()
        (warm_clearance_cache if no_freeze else warm_and_freeze_caches)(app)
        warmed = time.perf_counter() - started
        frozen_warm = gc.get_freeze_count() - frozen
        if pages:
            for username in USERS:
                client = app.test_client()
                client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
                for path in PAGES:
                    client.get(path).get_data()
        with app.app_context():
            db.session.remove()
        gc.collect()
        walked = {id(o) for o in gc.get_objects()}
        per_cache = {
            name: tracked_reachable(cache, walked)
            for name, cache in sorted(app.extensions.items())
            if name.endswith("_cache")
        }
        per_cache["all kept caches"] = tracked_reachable(
            [cache for name, cache in app.extensions.items() if name.endswith("_cache")], walked
        )
        del walked
        gc.collect()
        tracked = len(gc.get_objects())
        seconds = full_collections(collections)
        result = {
            "frozen_app_objects": frozen,
            "warm_seconds": round(warmed, 2),
            "frozen_after_warm": frozen_warm,
            "tracked_objects": tracked,
            "reachable_from_caches": per_cache,
            "full_collection_ms": {
                "min": round(min(seconds) * 1000, 2),
                "median": round(statistics.median(seconds) * 1000, 2),
                "max": round(max(seconds) * 1000, 2),
            },
        }
        with app.app_context():
            db.engine.dispose()
    return result


def flatten(figures: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """``figures`` as one level of dotted names."""
    flat: dict[str, float] = {}
    for name, value in figures.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{name}."))
        else:
            flat[prefix + name] = value
    return flat


def report(figures: dict[str, Any], before: dict[str, Any] | None) -> None:
    """Print each figure, as ``before → now (ratio)`` when there is an earlier run."""
    old = flatten(before) if before else {}
    for name, value in flatten(figures).items():
        if name in old:
            ratio = f"  ×{value / old[name]:.3f}" if old[name] else ""
            print(f"{name:45} {old[name]:>12} → {value:<12}{ratio}")
        else:
            print(f"{name:45} {value:>12}")


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--collections", type=int, default=7)
    parser.add_argument("--pages", action="store_true", help="also serve the supervisors' pages once each")
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="warm without freezing (as workers did before; old code: ignored)",
    )
    parser.add_argument("--save", help="write the figures to this JSON file")
    parser.add_argument("--against", help="print an earlier run's figures (--save) before these")
    args = parser.parse_args(argv)
    figures = measure(args.database_url, args.collections, args.pages, args.no_freeze)
    before = json.loads(Path(args.against).read_text()) if args.against else None
    report(figures, before)
    if args.save:
        Path(args.save).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

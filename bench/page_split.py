"""Where a supervisor's page spends its time: SQL, template and the rest (Python), from scratch and repeated, with
the kept figures (the dashboard's and the review queue's contributions, oversight.contributions, and the map's
layers, mapclusters.MapLayersCache) on and off in alternating rounds of the same run, so that both sides see the
same load (the region tree stays kept on both sides).

    .venv/bin/python bench/page_split.py URL [--rounds 5] [--repeat 4] [--only dashboard map]

URL is a database kept by ``bench/province.py --keep`` (or a copy of one). "From scratch" is just after one hazard
changed as a sync would (every cache stamped with the change counter counts again); "repeated" is the same page
again with nothing written. Prints, per page, viewer and side, the median of each part and the range of the total.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import before_render_template, template_rendered

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import bench_config  # noqa: E402
from bench.province import PAGES  # noqa: E402
from bench.web import _simulate_write  # noqa: E402
from server import create_app, jobs  # noqa: E402
from server.demo.county import DEMO_PASSWORD  # noqa: E402
from server.extensions import db  # noqa: E402

#: The views that take the kept figures by name, so that a round can run without them (the plain recount):
#: the dashboard's and the review queue's contributions, and the map's layers.
_USERS = (
    ("server.web.supervise", "contribution_cache"),
    ("server.api.dashboard", "contribution_cache"),
    ("server.web.review", "contribution_cache"),
    ("server.web.map", "map_layers_cache"),
    ("server.api.map", "map_layers_cache"),
)


class Split:
    """Seconds spent in SQL and in templates during one request (signals and engine events add them up)."""

    def __init__(self) -> None:
        self.sql = 0.0
        self.template = 0.0
        self._sql_started: list[float] = []
        self._template_started: list[float] = []

    def before_sql(self, *_: Any, **__: Any) -> None:
        self._sql_started.append(time.perf_counter())

    def after_sql(self, *_: Any, **__: Any) -> None:
        self.sql += time.perf_counter() - self._sql_started.pop()

    def before_template(self, *_: Any, **__: Any) -> None:
        self._template_started.append(time.perf_counter())

    def after_template(self, *_: Any, **__: Any) -> None:
        self.template += time.perf_counter() - self._template_started.pop()


@contextmanager
def kept(app: Any, on: bool) -> Iterator[None]:
    """With ``on`` False, the pages recount their figures plainly (no kept contributions or map layers)."""
    import importlib

    users = [(importlib.import_module(module), name) for module, name in _USERS]
    saved = [getattr(module, name) for module, name in users]
    if not on:
        for module, name in users:
            setattr(module, name, lambda: None)
    try:
        yield
    finally:
        for (module, name), original in zip(users, saved, strict=True):
            setattr(module, name, original)


def run(url: str, rounds: int, repeat: int, only: tuple[str, ...]) -> None:
    """Time the pages in alternating rounds (kept contributions on, off) and print the medians."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(bench_config(url, Path(folder)))
        app.config["PROPAGATE_EXCEPTIONS"] = True
        split = Split()
        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", split.before_sql)
        sa.event.listen(engine, "after_cursor_execute", split.after_sql)
        before_render_template.connect(split.before_template, app)
        template_rendered.connect(split.after_template, app)
        pages = [(label, path) for label, path in PAGES if not only or label.startswith(only)]
        samples: dict[tuple[str, str, str, str], list[tuple[float, float, float]]] = {}
        for username in ("xx_sup", "ll_city"):
            client = app.test_client()
            client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            for label, path in pages:
                client.get(path).get_data()  # builds what the worker keeps
                for _ in range(rounds):
                    for side in ("kept", "plain"):
                        with kept(app, side == "kept"):
                            client.get(path).get_data()  # this side's caches as they would be
                            for which in ("scratch", "repeated"):
                                for _ in range(repeat):
                                    if which == "scratch":
                                        _simulate_write(app)
                                    split.sql = split.template = 0.0
                                    started = time.perf_counter()
                                    client.get(path).get_data()
                                    total = time.perf_counter() - started
                                    samples.setdefault((username, label, which, side), []).append(
                                        (total, split.sql, split.template)
                                    )
        jobs.wait_for_running()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    print(f"  {'viewer':<8} {'page':<26} {'':<9} {'side':<6} {'total p50':>9} {'range':>13} {'SQL':>6} "
          f"{'tmpl':>6} {'python':>6}  (ms)")  # fmt: skip
    for (username, label, which, side), values in samples.items():
        totals = [t for t, _, _ in values]
        sql = statistics.median(s for _, s, _ in values)
        template = statistics.median(t for _, _, t in values)
        total = statistics.median(totals)
        print(f"  {username:<8} {label[:26]:<26} {which:<9} {side:<6} {total * 1000:9.0f} "
              f"{min(totals) * 1000:6.0f}–{max(totals) * 1000:<6.0f} {sql * 1000:6.0f} {template * 1000:6.0f} "
              f"{(total - sql - template) * 1000:6.0f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="a province database (bench/province.py --keep)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (kept, plain)")
    parser.add_argument("--repeat", type=int, default=4, help="requests per round, from scratch and repeated")
    parser.add_argument("--only", nargs="+", default=["dashboard"], metavar="LABEL")
    args = parser.parse_args(argv)
    run(args.url, args.rounds, args.repeat, tuple(args.only))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

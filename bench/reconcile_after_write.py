"""The reconciliation of a whole scope right after a write, patched, against reconciling it whole, in the same run.

    .venv/bin/python bench/reconcile_after_write.py --database-url URL [--repeat 5]

On a kept database (e.g. bench/province.py's ``--keep``, or a copy of one), as the 兴县 county supervisor
(``xx_sup``) and the 吕梁市 city supervisor (``ll_city``), for the phase the reconciliation page opens on, each round
times in turn: the scope reconciled whole (what every view after a write cost before the cache patched its rows:
``reconcile_scope`` without a cache), then one hazard changed as a sync would (bench/web.py's _simulate_write) and
the scope reconciled through a ReconciliationCache kept across rounds (only that enterprise reconciled again).
Prints medians and ranges in ms, the ratio, the load average, and whether the last patched result equals a
reconciliation from scratch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import bench_config
from bench.web import _simulate_write
from server import clock, create_app
from server.extensions import db
from server.models import User
from server.services.reconciliation import ReconciliationCache, reconcile_scope, resolve_phase


def _reconciled(app: Any, username: str, cache: ReconciliationCache | None) -> tuple[float, Any]:
    """Seconds to reconcile the viewer's scope for the default phase, and what it shows (comparable)."""
    started = time.perf_counter()
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        window = resolve_phase(db.session, user, None, clock.today(), clock.zone())
        assert window is not None, "no campaign phase"
        result = reconcile_scope(db.session, user, window, clock.today(), zone=clock.zone(), cache=cache)
        db.session.remove()
    return time.perf_counter() - started, ([(r.enterprise_id, r.result) for r in result.rows], result.totals)


def _spread(seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return f"{statistics.median(ms):7.0f} ms ({min(ms):.0f}–{max(ms):.0f})"


def main() -> int:
    """Time both ways, alternating, for both supervisors."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(bench_config(args.database_url, Path(folder)))
        for username in ("xx_sup", "ll_city"):
            cache = ReconciliationCache()
            _reconciled(app, username, cache)
            whole, patched = [], []
            for _ in range(args.repeat):
                whole.append(_reconciled(app, username, None)[0])
                _simulate_write(app)
                seconds, shown = _reconciled(app, username, cache)
                patched.append(seconds)
            same = shown == _reconciled(app, username, None)[1]
            print(f"  {username:<8} whole scope {_spread(whole)}   after a write, patched {_spread(patched)}"
                  f"   ratio {statistics.median(patched) / statistics.median(whole):.3f}"
                  f"   equal to a reconciliation from scratch: {'yes' if same else 'NO'}")  # fmt: skip
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    print(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

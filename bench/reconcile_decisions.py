"""自查核对 at county scale with supervisors' decisions: what reading and applying them costs.

Fills the county as bench/_reconcile.py does (2,000 enterprises, 20,000 findings and their ledgers at ``--scale 1``),
then times ``reconcile_scope`` for the county-coverage phase as the 吕梁市 city supervisor (every enterprise), with
nothing cached: first with no decision, then after supervisors have confirmed every proposed pair of half the
enterprises and declared a tenth of the other half's proposals two hazards (bulk inserts; half of those confirmed
are then withdrawn and confirmed again, so that the latest-per-pair query has history to skip). Also times a cached
read (the change counter and the decision count, which key the cache). Prints the medians and the ratio
with decisions / without, the proposed and confirmed reliability, and the pairs awaiting confirmation.

    .venv/bin/python bench/reconcile_decisions.py [--scale 1.0] [--db sqlite|postgres|both] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import postgres_available
from bench._reconcile import PHASE, _align_phase, _local_today, _seconds, add_ledgers
from bench.web import filled_county
from server import clock
from server.domain.reconciliation import PairVerdict
from server.extensions import db
from server.models import ReconciliationDecision, User
from server.models.base import utcnow
from server.services.reconciliation import ReconciliationCache, reconcile_scope, resolve_phase


def _decide_half(session: Any, user: User, rows: list[Any]) -> dict[str, int]:
    """Confirm every proposal of every other enterprise, reject a tenth of the rest's; withdraw and confirm again half
    of the confirmed (history). Rows written, by verdict."""
    now = utcnow()
    values: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        for n, pair in enumerate(row.result.pairs):
            common = {"finding_id": uuid.UUID(pair.finding.id), "entry_id": uuid.UUID(pair.entry.id),
                      "enterprise_id": row.enterprise_id, "decided_by_id": user.id, "decided_at": now}  # fmt: skip
            if index % 2 == 0:
                values.append({**common, "verdict": PairVerdict.same, "reason": None})
                if n % 2 == 0:
                    later.append({**common, "verdict": PairVerdict.withdrawn, "reason": None})
                    later.append({**common, "verdict": PairVerdict.same, "reason": None})
            elif n % 10 == 0:
                values.append({**common, "verdict": PairVerdict.different, "reason": "不是同一隐患"})
    table = ReconciliationDecision.__table__
    for batch in (values, later):
        if batch:
            session.execute(sa.insert(table), batch)
    session.commit()
    counts: dict[str, int] = {}
    for item in values + later:
        counts[item["verdict"].value] = counts.get(item["verdict"].value, 0) + 1
    return counts


def run_one(kind: str, scale: float, repeat: int, seed: int) -> None:
    """Fill a fresh database of ``kind`` and time the reconciliation without and with decisions."""
    today = _local_today()

    def add_ledgers_and_phase(conn: sa.Connection) -> None:
        add_ledgers(conn, seed, today)
        _align_phase(conn, today)

    with (
        filled_county(kind, scale, seed, today=today, extend=add_ledgers_and_phase) as (app, _),
        app.app_context(),
    ):
        user = db.session.scalar(sa.select(User).where(User.username == "ll_city"))
        assert user is not None
        window = resolve_phase(db.session, user, PHASE, today, clock.zone())
        assert window is not None

        def scope() -> Any:
            return reconcile_scope(db.session, user, window, today, zone=clock.zone())

        cache = ReconciliationCache()

        def cached() -> Any:
            return reconcile_scope(db.session, user, window, today, zone=clock.zone(), cache=cache)

        before = _seconds(scope, repeat)
        before_cached = _seconds(cached, repeat)
        result = scope()
        written = _decide_half(db.session, user, result.rows)
        after = _seconds(scope, repeat)
        after_cached = _seconds(cached, repeat)
        t = scope().totals
        print(f"  as ll_city: {t.enterprises:,} enterprises, {t.findings:,} findings; decisions written "
              + ", ".join(f"{v} {n:,}" for v, n in sorted(written.items())))  # fmt: skip
        print(
            f"  reliability proposed {100 * (t.reliability or 0):.1f} %, confirmed "
            f"{100 * (t.confirmed_reliability or 0):.1f} %; {t.awaiting_confirmation:,} pairs awaiting confirmation"
        )
        for label, (wall_0, cpu_0), (wall_1, cpu_1) in (
            ("reconcile_scope, nothing cached", before, after),
            ("reconcile_scope, cached", before_cached, after_cached),
        ):
            w0, w1 = statistics.median(wall_0), statistics.median(wall_1)
            c0, c1 = statistics.median(cpu_0), statistics.median(cpu_1)
            print(f"  {label:<34} wall p50 {w0:.3f} s → {w1:.3f} s (×{w1 / w0:.2f}); "
                  f"CPU {c0:.3f} s → {c1:.3f} s (×{c1 / c0:.2f})")  # fmt: skip
        db.session.remove()


def main() -> int:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="row counts factor (0.1 for a quick run)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each")
    parser.add_argument("--seed", type=int, default=20260601)
    args = parser.parse_args()
    print(f"自查核对 with supervisors' decisions, phase {PHASE}; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")  # fmt: skip
    if args.db in ("sqlite", "both"):
        run_one("sqlite", args.scale, args.repeat, args.seed)
    if args.db in ("postgres", "both"):
        if postgres_available():
            run_one("postgresql", args.scale, args.repeat, args.seed)
        else:
            print("postgresql: not reachable (set BENCH_DATABASE_URL)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What the dashboard's trend charts cost at county scale: server time of the dashboard's tables
(oversight.dashboard, 清零 cache warm) against each trend (server.services.trends), and the whole page, in one run.

    .venv/bin/python bench/dashboard_trends.py [--scale 1.0] [--db sqlite|postgres|both] [--repeat 10]

Prints p50 in ms and each figure's ratio to the dashboard's tables (the baseline of the same run).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from bench.web import county_main, filled_county
from server import clock
from server.extensions import db
from server.models import User
from server.services import oversight, trends
from server.web.supervise import clearance_cache
from tests.conftest import DEMO_PASSWORD


def _median_ms(call: Callable[[], Any], repeat: int) -> float:
    call()  # warm-up (caches, statement compilation)
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000


def _time_user(app: Any, username: str, repeat: int) -> dict[str, float]:
    """p50 of the dashboard's tables, each trend and the whole page, for one user."""
    with app.test_request_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        zone = clock.zone()
        today = clock.today(zone)
        campaign = oversight.campaign_for(db.session, user)
        cache = clearance_cache()
        verdicts = oversight.scope_clearances(db.session, user, today, cache)
        figures: dict[str, Callable[[], Any]] = {
            "dashboard tables (baseline)": lambda: oversight.dashboard(db.session, user, today, zone, cache),
            "coverage per week": lambda: trends.coverage_by_week(db.session, user, campaign, today, zone),
            "hazards per week": lambda: trends.hazards_by_week(db.session, user, campaign, today, zone),
            "清零 per phase (cached verdicts)": lambda: trends.clearance_by_phase(
                campaign, today, zone, oversight.scope_clearances(db.session, user, today, cache).values()
            ),
        }
        timed = {label: _median_ms(call, repeat) for label, call in figures.items()}
        assert verdicts
    client = app.test_client()
    client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    timed["whole /dashboard page"] = _median_ms(lambda: client.get("/dashboard").get_data(), repeat)
    return timed


def run(kind: str, scale: float, repeat: int, seed: int) -> None:
    """Time the dashboard's tables, each trend and the whole page on one filled county."""
    with filled_county(kind, scale, seed) as (app, _summary):
        for username in ("xx_sup", "ll_city"):
            timed = _time_user(app, username, repeat)
            base = timed["dashboard tables (baseline)"]
            print(f"\n  {kind} as {username} (scale {scale})")
            print(f"  {'figure':<34} {'p50 ms':>8} {'× tables':>9}")
            for label, ms in timed.items():
                print(f"  {label:<34} {ms:8.1f} {ms / base:9.2f}")


if __name__ == "__main__":
    sys.exit(county_main(__doc__ or "", run, repeat=10, what="the dashboard's trends"))

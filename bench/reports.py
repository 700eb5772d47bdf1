"""The monthly progress report at county scale: server time of the page and of the Excel workbook.

Fills a freshly migrated, demo-seeded database with a county's campaign by bench.web.fill_county (at
``--scale 1``: 2,000 enterprises, 10,000 inspections, 250,000 item results, 20,000 hazards with some 60,000
events), then signs in as the 吕梁市 city supervisor (``ll_city``, a row per county) and the 兴县 county
supervisor (``xx_sup``, three quarters of the data) and times, through Flask's test client in this process
(server time only, no network), the report of the month the county-coverage phase ends in and the final
summary: on screen (/reports/monthly) and as a workbook (/reports/monthly.xlsx). One warm-up request, then
``--repeat`` timed ones; p50 and the slowest are printed.

    .venv/bin/python bench/reports.py [--scale 1.0] [--db sqlite|postgres|both] [--repeat 5]
    .venv/bin/python bench/reports.py --database-url URL [--repeat 10] [--profile]

With ``--database-url`` it fills nothing and times the reports on a database an earlier run kept (e.g.
bench/province.py's ``--keep``): per supervisor and view, each request first from scratch (the app's report
cache emptied) and then repeated (cached until the next write), p50 and nearest-rank p95, with the SQL
statements a request from scratch runs, then right after a write (the change counter moved, as a sync moves it):
the page answers from the last count, marked stale, while one background recount runs (column "stale": how many
of those views were answered stale); a workbook right after a write is always counted anew.
``--profile`` prints the cProfile of one request from scratch. ``--after-write`` times, per supervisor and report,
alternating in each of ``--repeat`` rounds: a count from scratch (what every count after a write cost before the
reports kept their reading) and a count right after one hazard was changed as a sync would (only that enterprise
read and decided again), then the workbook right after a write, its list of major hazards drawn cell by cell (as
before) and as raw rows (now) in turn; medians and ranges, and whether the last patched count equals one from
scratch. ``--draw`` times the drawing alone on a report counted once, before and now alternating, and checks that
both workbooks read back the same.

Target: ≤ 5 s each, on SQLite and on PostgreSQL. Every figure is computed as of the report's cut-off from
the event log and the inspections' timestamps (server/services/progress_report/); the pages keep the counted
figures in the app's report cache until the next write (so the timed repeats here are the cached view: use
``--database-url`` for the view from scratch).
PostgreSQL is ``BENCH_DATABASE_URL`` or postgresql+psycopg://postgres@127.0.0.1:5432/test; a scratch database
is created beside it and dropped afterwards (ANALYZEd after the fill, as autovacuum would do).
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import bench_config
from bench.web import county_main, filled_county, nearest_rank
from server import jobs
from server.demo.county import DEMO_PASSWORD
from server.extensions import db
from server.models import CampaignPhase
from server.services.progress_report import xlsx
from tests.integration.test_report_xlsx_rows import major_sheet_cell_by_cell, read_back

#: The list of major hazards as the app draws it (bench swaps in the drawing from before to compare).
xlsx_major_sheet = xlsx._major_sheet

TARGET_S = 5.0


def _month(app: Any) -> date:
    """The month the county-coverage phase ends in (where fill_county puts the inspections), or this month."""
    with app.app_context():
        ends = db.session.scalar(
            sa.select(CampaignPhase.ends_on).where(CampaignPhase.code == "county_coverage").limit(1)
        )
        db.session.remove()
    today = date.today()
    return min(ends, today).replace(day=1) if ends else today.replace(day=1)


def time_reports(
    app: Any, username: str, month: date, repeat: int
) -> list[tuple[str, int, list[float], int]]:
    """Sign in as ``username`` and time each report view: (label, status, seconds, bytes)."""
    client = app.test_client()
    login = client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    if login.status_code != 200:
        return [("sign-in", login.status_code, [], 0)]
    views = [
        (f"month {month:%Y-%m}, page", f"/reports/monthly?month={month:%Y-%m}"),
        (f"month {month:%Y-%m}, xlsx", f"/reports/monthly.xlsx?month={month:%Y-%m}"),
        ("final summary, page", "/reports/monthly?final=1"),
        ("final summary, xlsx", "/reports/monthly.xlsx?final=1"),
        (f"month {month:%Y-%m}, JSON", f"/api/reports/monthly?month={month:%Y-%m}"),
    ]
    results = []
    for label, path in views:
        with client.get(path) as response:
            status, size = response.status_code, len(response.data)
        seconds: list[float] = []
        if status == 200:
            for _ in range(repeat):
                started = time.perf_counter()
                with client.get(path) as response:
                    response.get_data()
                seconds.append(time.perf_counter() - started)
        results.append((label, status, seconds, size))
    return results


def report(kind: str, username: str, results: list[tuple[str, int, list[float], int]]) -> None:
    """Print one user's table."""
    print(f"\n  {kind} as {username}")
    print(f"  {'view':<28} {'status':>6} {'p50 s':>7} {'max s':>7} {'bytes':>9}  target ≤ {TARGET_S:.0f} s")
    for label, status, seconds, size in results:
        if not seconds:
            print(f"  {label:<28} {status:>6} {'—':>7} {'—':>7} {size:>9}  not timed")
            continue
        p50, slowest = statistics.median(seconds), max(seconds)
        verdict = "ok" if slowest <= TARGET_S else "SLOW"
        print(f"  {label:<28} {status:>6} {p50:7.2f} {slowest:7.2f} {size:>9,}  {verdict}")


def run(kind: str, scale: float, repeat: int, seed: int) -> None:
    """Fill a fresh database of ``kind`` at ``scale`` and time the reports as both supervisors."""
    with filled_county(kind, scale, seed) as (app, _summary):
        month = _month(app)
        for username in ("ll_city", "xx_sup"):
            report(kind, username, time_reports(app, username, month, repeat))


def _views(month: date) -> list[tuple[str, str]]:
    """The report views timed on a kept database: this month's page and workbook, and the phase month's."""
    return [
        ("this month, page", "/reports/monthly"),
        ("this month, xlsx", "/reports/monthly.xlsx"),
        (f"month {month:%Y-%m}, page", f"/reports/monthly?month={month:%Y-%m}"),
        (f"month {month:%Y-%m}, xlsx", f"/reports/monthly.xlsx?month={month:%Y-%m}"),
        ("final summary, page", "/reports/monthly?final=1"),
    ]


def time_kept(url: str, repeat: int, profile: bool) -> None:
    """Time the report views on an existing database: from scratch (cache emptied) and repeated."""
    import cProfile
    import pstats
    import tempfile

    from server import create_app

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(bench_config(url, Path(folder)))
        app.config["PROPAGATE_EXCEPTIONS"] = True
        statements = [0]
        with app.app_context():
            sa.event.listen(
                db.engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1)
            )
        month = _month(app)
        for username in ("xx_sup", "ll_city"):
            client = app.test_client()
            login = client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            assert login.status_code == 200, login.status_code
            print(
                f"\n  {username}: {'view':<24} {'scratch p50':>11} {'p95':>7} {'stmts':>6} {'repeat p50':>10} {'p95':>7}"
                f" {'after-write p50':>15} {'p95':>7} {'stale':>5}"
            )
            for label, path in _views(month):
                scratch, repeated, counts = [], [], []
                for _ in range(max(1, repeat // 3)):
                    app.extensions.pop("report_cache", None)
                    statements[0] = 0
                    started = time.perf_counter()
                    with client.get(path) as response:
                        response.get_data()
                        assert response.status_code == 200, (path, response.status_code)
                    scratch.append(time.perf_counter() - started)
                    counts.append(statements[0])
                for _ in range(repeat):
                    started = time.perf_counter()
                    with client.get(path) as response:
                        response.get_data()
                    repeated.append(time.perf_counter() - started)
                # Right after a sync: the change counter moves (as any synced write moves it; the figures stay the
                # same), and the supervisor opens the page again while the recount runs in this process's thread.
                after, stale = [], 0
                for _ in range(
                    max(1, repeat // 2)
                    if path.startswith("/reports/monthly?") or path == "/reports/monthly"
                    else 1
                ):
                    _bump_counter(app)
                    started = time.perf_counter()
                    with client.get(path) as response:
                        body = response.get_data()
                    after.append(time.perf_counter() - started)
                    stale += b'id="report-stale"' in body
                _wait_recounts(app)
                print(f"  {'':<{len(username)}}  {label:<24} {statistics.median(scratch) * 1000:9.0f}ms "
                      f"{nearest_rank(scratch, 0.95) * 1000:5.0f}ms {max(counts):6d} "
                      f"{statistics.median(repeated) * 1000:8.1f}ms {nearest_rank(repeated, 0.95) * 1000:5.1f}ms "
                      f"{statistics.median(after) * 1000:13.1f}ms {nearest_rank(after, 0.95) * 1000:5.1f}ms "
                      f"{stale:>2}/{len(after)}")  # fmt: skip
            if profile:
                app.extensions.pop("report_cache", None)
                profiler = cProfile.Profile()
                profiler.enable()
                client.get(_views(month)[0][1]).get_data()
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        jobs.wait_for_running()  # recounts the stale pages started
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def time_after_write(url: str, rounds: int) -> None:
    """Counts from scratch against counts right after a write (patched), alternating, and the workbook after a
    write; medians and ranges in seconds."""
    import tempfile

    from bench.web import _simulate_write
    from server import create_app
    from server.models import User
    from server.services import progress_report

    zone = ZoneInfo("Asia/Shanghai")

    def figures(report: Any) -> Any:
        return ([vars(r) for r in [*report.rows, report.total]], report.majors, report.phases,
                report.before_campaign, report.after_campaign)  # fmt: skip

    def count(username: str, period: Any, cache: Any) -> tuple[float, Any]:
        started = time.perf_counter()
        with app.app_context():
            user = db.session.scalar(sa.select(User).where(User.username == username))
            report = progress_report.build_report(db.session, user, period, zone=zone, cache=cache)
            db.session.remove()
        return time.perf_counter() - started, report

    def spread(values: list[float]) -> str:
        return f"{statistics.median(values):6.2f} s ({min(values):.2f}–{max(values):.2f})"

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(bench_config(url, Path(folder)))
        app.config["PROPAGATE_EXCEPTIONS"] = True
        month = _month(app)
        for username in ("xx_sup", "ll_city"):
            for period in (month, "final"):
                cache = progress_report.ReportCache()
                count(username, period, cache)
                scratch, patched = [], []
                for _ in range(rounds):
                    scratch.append(count(username, period, None)[0])
                    _simulate_write(app)
                    seconds, last = count(username, period, cache)
                    patched.append(seconds)
                same = figures(last) == figures(count(username, period, None)[1])
                name = period if isinstance(period, str) else f"{period:%Y-%m}"
                print(f"  {username} {name:<8} from scratch {spread(scratch)}   after a write {spread(patched)}"
                      f"   ratio {statistics.median(patched) / statistics.median(scratch):.3f}"
                      f"   equal to a count from scratch: {'yes' if same else 'NO'}")  # fmt: skip
            client = app.test_client()
            login = client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            assert login.status_code == 200, login.status_code
            path = f"/reports/monthly.xlsx?month={month:%Y-%m}"
            client.get(path).get_data()
            # The workbook right after a write, alternating its list of major hazards drawn cell by cell by
            # openpyxl (as before xlsx_rows) and written as raw rows (now).
            workbook: dict[str, list[float]] = {"before": [], "now": []}
            for _ in range(rounds):
                for which, drawer in (("before", major_sheet_cell_by_cell), ("now", xlsx_major_sheet)):
                    xlsx._major_sheet = drawer  # type: ignore[assignment]
                    _simulate_write(app)
                    started = time.perf_counter()
                    client.get(path).get_data()
                    workbook[which].append(time.perf_counter() - started)
            xlsx._major_sheet = xlsx_major_sheet  # type: ignore[assignment]
            print(f"  {username} workbook {month:%Y-%m} after a write: cell by cell {spread(workbook['before'])}"
                  f"   raw rows {spread(workbook['now'])}"
                  f"   ratio {statistics.median(workbook['now']) / statistics.median(workbook['before']):.3f}")  # fmt: skip
        import resource

        # The cache keeps the readings of its newest reports: what patching costs in memory.
        print(
            f"  peak memory of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
        jobs.wait_for_running()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def time_drawing(url: str, rounds: int) -> None:
    """The workbook's drawing alone, per supervisor, on the report counted once: its list of major hazards drawn
    cell by cell by openpyxl (before) and as raw rows (now), alternating in each round; medians, ratio, and
    whether both read back the same (values, styles, merges, dimensions, panes, print setup)."""
    import tempfile

    from server import create_app
    from server.models import User
    from server.services import progress_report

    zone = ZoneInfo("Asia/Shanghai")
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(bench_config(url, Path(folder)))
        month = _month(app)
        for username in ("xx_sup", "ll_city"):
            with app.app_context():
                user = db.session.scalar(sa.select(User).where(User.username == username))
                report = progress_report.build_report(db.session, user, month, zone=zone)
                db.session.remove()
            times: dict[str, list[float]] = {"before": [], "now": []}
            drawn: dict[str, bytes] = {}
            for _ in range(rounds):
                for which, drawer in (("before", major_sheet_cell_by_cell), ("now", xlsx_major_sheet)):
                    xlsx._major_sheet = drawer  # type: ignore[assignment]
                    started = time.perf_counter()
                    drawn[which] = xlsx._draw(report, "head")
                    times[which].append(time.perf_counter() - started)
            xlsx._major_sheet = xlsx_major_sheet  # type: ignore[assignment]
            before, now = (statistics.median(times[w]) for w in ("before", "now"))
            same = read_back(drawn["before"]) == read_back(drawn["now"])
            print(f"  {username} {len(report.majors)} major hazards: cell by cell {before:.3f} s, raw rows "
                  f"{now:.3f} s, ratio {now / before:.3f}, same workbook read back: {'yes' if same else 'NO'}")  # fmt: skip
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _bump_counter(app: Any) -> None:
    """Move the change counter as a sync's write does (no figure changes)."""
    with app.app_context():
        db.session.execute(sa.text("UPDATE change_counter SET value = value + 1 WHERE id = 1"))
        db.session.commit()
        db.session.remove()


def _wait_recounts(app: Any, seconds: float = 120) -> None:
    """Wait for the background recounts the timed views started, so that they slow no later timing."""
    from server.models.job import BackgroundJob, JobStatus

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with app.app_context():
            running = db.session.scalar(
                sa.select(sa.func.count()).where(
                    BackgroundJob.kind == "report_recount",
                    BackgroundJob.status.in_((JobStatus.queued, JobStatus.running)),
                )
            )
            db.session.remove()
        if not running:
            return
        time.sleep(0.2)


def main() -> int:
    """Parse the flags and run on the databases asked for (or time a kept database with --database-url)."""
    if "--database-url" in sys.argv:
        import argparse

        parser = argparse.ArgumentParser(
            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        parser.add_argument("--database-url", required=True)
        parser.add_argument("--repeat", type=int, default=10)
        parser.add_argument("--profile", action="store_true")
        parser.add_argument(
            "--after-write", action="store_true", help="counts from scratch against after a write"
        )
        parser.add_argument(
            "--draw", action="store_true", help="the workbook's drawing alone: before and now, alternating"
        )
        args = parser.parse_args()
        if args.draw:
            print(f"  load average {' '.join(f'{x:.2f}' for x in __import__('os').getloadavg())}")
            time_drawing(args.database_url, args.repeat)
            return 0
        if args.after_write:
            print(f"  load average {' '.join(f'{x:.2f}' for x in __import__('os').getloadavg())}")
            time_after_write(args.database_url, args.repeat)
            return 0
        time_kept(args.database_url, args.repeat, args.profile)
        return 0
    return county_main(__doc__ or "", run, repeat=5, what="view")


if __name__ == "__main__":
    raise SystemExit(main())

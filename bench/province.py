"""A province in one run: a season's records, then the end-of-day storm, then the supervisors' pages.

    .venv/bin/python bench/province.py [--scale 1.0] [--database-url URL] [--workers 4] [--concurrency 50]
                                       [--repeat 10] [--keep]

1. Builds a database (PostgreSQL: a database ``province_<hex>`` created beside ``--database-url``, dropped
   afterwards unless ``--keep``; or a SQLite file when the URL is ``sqlite:///…``), migrates it, loads the demo
   county, and fills it by bulk Core inserts (bench/web.py's generator) with a province's season at scale 1:
   10,000 enterprises, 40,000 inspections with 1,000,000 item results, 60,000 hazards with their event logs,
   300,000 photo rows (rows only: a quarter have blob rows, no bytes). The data sits in the demo city's two
   counties, so the city supervisor (ll_city) sees all of it and the county supervisor (xx_sup) three quarters.
2. Registers 500 tablets (one inspector each, split over the two counties) through the real API, records each
   device's day offline with the reference client (sync/client.py): 3 inspections, each with one hazard and 10
   tiny photos, then lets every device upload its photos and push at once (``--concurrency`` at a time)
   against gunicorn as deployed (deploy/gunicorn.conf.py, ``--workers`` workers).
3. Prints the time to drain the storm, push p50/p95, what was lost or duplicated, and the p50/p95 server time
   (Flask test client, no network) of the supervisors' pages at that scale: dashboard, hazards, enterprises,
   map (page and points), reconciliation, the review queue and the monthly report, each ``--repeat`` times
   from scratch (just after one hazard was changed as a sync would: every cache stamped with the change
   counter counts again) and ``--repeat`` times repeated. Target: p95 ≤ 300 ms.

``--scale 0.01`` gives a smoke run (100 enterprises, 5 devices) in about a minute; a test runs it tinier.
``--no-storm --keep --database-name NAME`` only fills a database to time pages on (about 3 minutes at scale 1);
``--pages-only URL --save before.json``, then after a change ``--pages-only URL --against before.json``, prints
each p95 as ``before → after`` (``--only dashboard map`` narrows the pages; the monthly report alone takes
minutes at scale 1).
Memory stays well under 4 GB at scale 1 (the generator keeps one row per item result in memory).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import logging
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import PG_DEFAULT, seeded_app, serve, stop  # noqa: E402
from bench.devices import TimedTransport  # noqa: E402
from bench.web import TARGET_MS, _simulate_write, fill_county, nearest_rank  # noqa: E402
from server import jobs  # noqa: E402
from server.demo.county import DEMO_PASSWORD  # noqa: E402
from server.extensions import db  # noqa: E402
from server.models import Enterprise, Inspection, Photo, Quarantine, Region, SyncMutation  # noqa: E402
from server.models.enterprise import SECTOR_COLUMNS  # noqa: E402
from sync.client import (  # noqa: E402
    Outbox,
    SyncClient,
    UrllibTransport,
    current_catalogue,
    simulate_inspection,
    submits_inspection,
)

#: A province's season at scale 1 (item results follow: one per key item of each inspection, 25 each).
PROVINCE = {"enterprises": 10_000, "inspections": 40_000, "hazards": 60_000, "photos": 300_000}
DEVICES = 500
INSPECTIONS_PER_DAY = 3
PHOTOS_PER_INSPECTION = 10
#: Tiny photos: the storm measures the sync path, not JPEG transfer (bench/devices.py does that).
PHOTO_SIZE = (64, 48)
#: The counties the generator fills, with the inspectors' share.
COUNTIES = ("141123", "141124")
PAGES = [
    ("dashboard", "/dashboard"),
    ("hazards: page 1", "/hazards"),
    ("hazards: overdue", "/hazards?overdue=1"),
    ("hazards: major, found", "/hazards?level=major&state=found"),
    ("enterprises: page 1", "/enterprises"),
    ("map", "/map"),
    ("map points (JSON)", "/api/map/points"),
    ("reconciliation", "/reconciliation"),
    ("inspections: review queue", "/inspections?status=submitted"),
    ("enterprises: not cleared", "/enterprises?cleared=0"),
    ("monthly report", "/reports/monthly"),
]


@contextmanager
def province_database(url: str, keep: bool, name: str | None = None) -> Iterator[str]:
    """A new database for the run: ``name`` (default ``province_<hex>``) beside a PostgreSQL URL, or the
    SQLite file named."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if path.exists():
            raise SystemExit(f"{path} exists: give a new SQLite file")
        try:
            yield url
        finally:
            if not keep:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = name or f"province_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Device:
    """One tablet of the storm: its inspector, outbox file, county, and what it recorded and timed."""

    username: str
    county: str
    folder: Path
    latencies: list[float] = field(default_factory=list)
    device_id: str = ""
    seqs: int = 0
    inspections: int = 0
    photos: int = 0
    retries: int = 0
    error: str | None = None
    #: Seconds from the storm's start until this device's photos were all uploaded (its push follows).
    uploads_done: float = 0.0

    def client(self, url: str) -> tuple[SyncClient, Outbox]:
        """A client on this device's outbox (an outbox is a SQLite connection of the thread that opens it)."""
        outbox = Outbox(self.folder / "outbox.sqlite3")
        return SyncClient(
            TimedTransport(url, self.latencies, timeout=300),
            outbox,
            rng=random.Random(self.username),
            batch_end=submits_inspection,
        ), outbox


def make_inspectors(app: Any, count: int) -> list[tuple[str, str]]:
    """``count`` inspector accounts, alternating between the two counties: (username, county code)."""
    from server.domain.roles import Role
    from server.services.users import create_user

    made = []
    with app.app_context():
        regions = {r.code: r for r in db.session.scalars(sa.select(Region).where(Region.code.in_(COUNTIES)))}
        for number in range(count):
            county = COUNTIES[number % len(COUNTIES)]
            name = f"prov_insp{number:04d}"
            create_user(db.session, username=name, password=DEMO_PASSWORD, display_name=f"检查员{number:04d}",
                        role=Role.inspector, region=regions[county], badge_no=f"{county}{number:05d}")  # fmt: skip
            made.append((name, county))
        db.session.commit()
        db.session.remove()
    return made


def register(devices: list[Device], url: str, concurrency: int) -> dict[str, Any]:
    """Register every device; the first also pulls (on the demo data, before the fill) for the catalogue."""
    catalogue: dict[str, Any] = {}

    def one(device: Device) -> None:
        device.folder.mkdir(parents=True)
        client, outbox = device.client(url)
        try:
            device.device_id = client.register(device.username, DEMO_PASSWORD, f"province {device.username}")
            if device is devices[0]:
                client.pull()
                found = current_catalogue(outbox.replica("catalogue"), datetime.date.today())
                catalogue.update(found or {})
        finally:
            outbox.close()
            cast(UrllibTransport, client.transport).close()

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, devices))
    if not catalogue:
        raise RuntimeError("the first device pulled no catalogue")
    return catalogue


def enterprises_by_county(app: Any) -> dict[str, list[dict[str, Any]]]:
    """The filled enterprises shaped as a tablet's replica rows (what simulate_inspection reads)."""
    columns = [
        Enterprise.id,
        Enterprise.name,
        Enterprise.lat,
        Enterprise.lon,
        Enterprise.dust_workers,
        Region.code,
    ]
    columns += [getattr(Enterprise, column) for column in SECTOR_COLUMNS.values()]
    out: dict[str, list[dict[str, Any]]] = {county: [] for county in COUNTIES}
    with app.app_context():
        rows = db.session.execute(
            sa.select(*columns)
            .join(Region, Region.id == Enterprise.region_id)
            .where(Enterprise.deleted_at.is_(None))
        ).all()
        db.session.remove()
    for row in rows:
        county = row.code[:6]
        if county not in out:
            continue
        sectors = [s.value for s, column in SECTOR_COLUMNS.items() if getattr(row, column)]
        data = {
            "name": row.name,
            "lat": row.lat,
            "lon": row.lon,
            "dust_workers": row.dust_workers,
            "sectors": sectors,
        }
        out[county].append({"id": str(row.id), "version": 1, "deleted": False, "data": data})
    return out


def record_days(
    devices: list[Device], catalogue: dict[str, Any], sites: dict[str, list[dict[str, Any]]], concurrency: int
) -> None:
    """Each device records its day offline: 3 inspections, each one hazard with 10 photos."""

    def one(index: int) -> None:
        device = devices[index]
        rng = random.Random(index)
        outbox = Outbox(device.folder / "outbox.sqlite3")
        try:
            me = outbox.user
            for _ in range(INSPECTIONS_PER_DAY):
                made = simulate_inspection(
                    outbox, rng.choice(sites[device.county]), catalogue, rng=rng, photo_dir=device.folder / "photos",
                    photos_per_hazard=PHOTOS_PER_INSPECTION, me=me, non_compliant_rate=0.0, photo_size=PHOTO_SIZE,
                )  # fmt: skip
                device.inspections += 1
                device.photos += len(made.photos)
            device.seqs = outbox.pending_count()
        finally:
            outbox.close()

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(len(devices))))


def storm(devices: list[Device], url: str, concurrency: int) -> float:
    """Every device uploads its photos and pushes its outbox; the seconds until the last one is done."""

    def one(device: Device) -> None:
        client, outbox = device.client(url)
        try:
            client.upload_blobs()
            device.uploads_done = time.perf_counter() - started
            client.push(batch_size=200)
        except Exception as error:  # reported, not raised: the figures say what failed
            device.error = repr(error)
        finally:
            device.retries = client.retries
            outbox.close()
            cast(UrllibTransport, client.transport).close()

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, devices))
    return time.perf_counter() - started


def check_storm(app: Any, devices: list[Device]) -> dict[str, int]:
    """What the server holds against what each device sent."""
    lost = duplicated = quarantined = photos_held = 0
    with app.app_context():
        for device in devices:
            device_id = uuid.UUID(device.device_id)
            held = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(SyncMutation)
                .where(SyncMutation.device_id == device_id)
            )
            stored = db.session.scalar(
                sa.select(sa.func.count()).select_from(Inspection).where(Inspection.device_id == device_id)
            )
            lost += max(0, device.seqs - (held or 0)) + max(0, device.inspections - (stored or 0))
            duplicated += max(0, (held or 0) - device.seqs) + max(0, (stored or 0) - device.inspections)
            quarantined += (
                db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Quarantine)
                    .where(Quarantine.device_id == device_id)
                )
                or 0
            )
            photos_held += (
                db.session.scalar(
                    sa.select(sa.func.count()).select_from(Photo).where(Photo.device_id == device_id)
                )
                or 0
            )
        db.session.remove()
    return {"lost": lost, "duplicated": duplicated, "quarantined": quarantined, "photos_held": photos_held}


@dataclass(frozen=True)
class PageTiming:
    """One page's timings for one viewer: right after a sync changed something (every cache stamped with the
    change counter counts again) and repeated with nothing written in between."""

    label: str
    status: int
    scratch: list[float]
    repeated: list[float]

    def p95_ms(self, which: str) -> float | None:
        """The nearest-rank p95 of ``which`` ("scratch" or "repeated") in ms (None: not timed)."""
        seconds = getattr(self, which)
        return nearest_rank(seconds, 0.95) * 1000 if seconds else None

    def p50_ms(self, which: str) -> float | None:
        """The median of ``which`` in ms (None: not timed): with 10 samples p95 is the slowest, which on a busy
        machine is often a garbage collection or a neighbour's burst."""
        seconds = getattr(self, which)
        return statistics.median(seconds) * 1000 if seconds else None


def time_pages(app: Any, username: str, repeat: int, only: tuple[str, ...] = ()) -> list[PageTiming]:
    """Sign in as ``username`` and time each page (server time; with ``only``, the pages whose label starts
    with one of them) ``repeat`` times from scratch (a hazard changed as a sync would, just before) and
    ``repeat`` times repeated; a page answering other than 200 is not timed."""
    # As deployed: a gunicorn worker freezes the loaded app out of the collector's scans (deploy/gunicorn.conf.py,
    # post_worker_init). Without it every full collection here also walked the app's ≈200,000 objects and this
    # process's own, and one request in ten or twenty showed a pause the workers do not have.
    gc.collect()
    gc.freeze()
    client = app.test_client()
    login = client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    if login.status_code != 200:
        return [PageTiming("sign-in", login.status_code, [], [])]

    def timed(path: str) -> float:
        started = time.perf_counter()
        client.get(path).get_data()
        return time.perf_counter() - started

    results = []
    for label, path in PAGES:
        if only and not label.startswith(only):
            continue
        first = client.get(path)
        first.get_data()
        scratch: list[float] = []
        repeated: list[float] = []
        if first.status_code == 200:
            for _ in range(repeat):
                _simulate_write(app)
                scratch.append(timed(path))
            client.get(path).get_data()  # warm-up
            repeated = [timed(path) for _ in range(repeat)]
        results.append(PageTiming(label, first.status_code, scratch, repeated))
    return results


def print_pages(
    username: str, results: list[PageTiming], before: dict[str, dict[str, float | None]] | None = None
) -> None:
    """One viewer's table: status, p95 from scratch and repeated (with ``before``, an earlier run's p95s
    before each, as ``before → after``) and the verdict against the target."""
    print(f"\n  pages as {username} (ms over {max((len(r.scratch) for r in results), default=0)} requests)")
    print(f"  {'page':<28} {'status':>6} {'from scratch p95':>18} {'(p50)':>6} {'repeated p95':>18} {'(p50)':>6}"
          f"  target p95 ≤ {TARGET_MS:.0f} ms")  # fmt: skip

    def cell(result: PageTiming, which: str) -> str:
        now = result.p95_ms(which)
        if now is None:
            return "—"
        was = (before or {}).get(result.label, {}).get(which)
        return f"{was:.0f} → {now:.0f}" if was is not None else f"{now:.0f}"

    for result in results:
        if not result.scratch:
            print(f"  {result.label:<28} {result.status:>6} {'—':>18} {'':>6} {'—':>18} {'':>6}  not timed")
            continue
        worst = max(result.p95_ms("scratch") or 0.0, result.p95_ms("repeated") or 0.0)
        print(f"  {result.label:<28} {result.status:>6} {cell(result, 'scratch'):>18} "
              f"{result.p50_ms('scratch') or 0:6.0f} {cell(result, 'repeated'):>18} "
              f"{result.p50_ms('repeated') or 0:6.0f}  {'ok' if worst <= TARGET_MS else 'SLOW'}")  # fmt: skip


def figures_of(results: list[PageTiming]) -> dict[str, dict[str, float | None]]:
    """The p95s of one viewer's pages, as --save writes them and --against reads them."""
    return {r.label: {"scratch": r.p95_ms("scratch"), "repeated": r.p95_ms("repeated")} for r in results}


def _group_cpu_seconds(group: int) -> float:
    """CPU seconds (user and system) used so far by the live processes of process group ``group`` (Linux)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # After the command's closing parenthesis: state, ppid, pgrp, … utime and stime are fields 14-15.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[2]) == group:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def play_storm(
    args: argparse.Namespace,
    app: Any,
    url: str,
    instance: Path,
    devices: list[Device],
    catalogue: dict[str, Any],
    figures: dict[str, Any],
) -> None:
    """Each device records its day offline, then all push at once; prints and records the storm's figures."""
    n_devices = len(devices)
    started = time.perf_counter()
    record_days(devices, catalogue, enterprises_by_county(app), args.concurrency)
    print(f"  {n_devices} devices recorded their day offline in {time.perf_counter() - started:.1f} s")

    process, server = serve(url, instance, workers=args.workers)
    try:
        server_cpu, own_cpu = _group_cpu_seconds(process.pid), time.process_time()
        seconds = storm(devices, server, args.concurrency)
        server_cpu, own_cpu = _group_cpu_seconds(process.pid) - server_cpu, time.process_time() - own_cpu
    finally:
        stop(process)
    held = check_storm(app, devices)
    latencies = sorted(x for d in devices for x in d.latencies)
    inspections = sum(d.inspections for d in devices)
    photos = sum(d.photos for d in devices)
    figures.update(held, drain_seconds=seconds, pushes=len(latencies), inspections=inspections, photos=photos,
                   errors=[f"{d.username}: {d.error}" for d in devices if d.error],
                   push_p50_ms=statistics.median(latencies) * 1000 if latencies else 0.0,
                   push_p95_ms=nearest_rank(latencies, 0.95) * 1000 if latencies else 0.0)  # fmt: skip
    print(f"\n  storm: {n_devices} devices × {INSPECTIONS_PER_DAY} inspections ({photos} photos) against gunicorn "
          f"with {args.workers} workers, {args.concurrency} devices at a time")  # fmt: skip
    print(f"  drained in {seconds:.1f} s ({inspections / seconds:.1f} inspections/s); push p50 "
          f"{figures['push_p50_ms']:.0f} ms, p95 {figures['push_p95_ms']:.0f} ms ({len(latencies)} pushes)")  # fmt: skip
    print(f"  errors {len(figures['errors'])}  retries {sum(d.retries for d in devices)}  quarantined "
          f"{held['quarantined']}  lost {held['lost']}  duplicated {held['duplicated']}  photos held "
          f"{held['photos_held']}/{photos}")  # fmt: skip
    uploads = sorted(d.uploads_done for d in devices)
    figures.update(uploads_drain_seconds=uploads[-1], uploads_p50_seconds=statistics.median(uploads))
    print(f"  photos: the last device had uploaded all its photos after {uploads[-1]:.1f} s (p50 of devices "
          f"{figures['uploads_p50_seconds']:.1f} s; {photos / max(uploads[-1], 1e-9):.0f} photos/s)")  # fmt: skip
    figures.update(server_cpu_seconds=server_cpu, client_cpu_seconds=own_cpu)
    print(f"  CPU during the storm: gunicorn {server_cpu:.1f} s, the devices (this process) {own_cpu:.1f} s, "
          f"of {seconds * (os.cpu_count() or 1):.1f} s on {os.cpu_count()} cores; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
    for error in figures["errors"][:10]:
        print(f"  ! {error}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole run; returns the figures it printed (the smoke test reads them)."""
    figures: dict[str, Any] = {}
    scale = args.scale
    n_devices = max(2, round(DEVICES * scale))
    with (
        province_database(args.database_url, args.keep, args.database_name) as url,
        tempfile.TemporaryDirectory() as folder,
    ):
        root = Path(folder)
        instance = root / "instance"
        logging.disable(logging.INFO)  # the migrations' own logging would print every step
        try:
            app = seeded_app(url, instance)
        finally:
            logging.disable(logging.NOTSET)
        app.config["PROPAGATE_EXCEPTIONS"] = True
        users = [] if args.no_storm else make_inspectors(app, n_devices)
        with app.app_context():
            db.engine.dispose()
        devices = [
            Device(name, county, root / "devices" / f"{i:04d}") for i, (name, county) in enumerate(users)
        ]

        catalogue: dict[str, Any] = {}
        if not args.no_storm:
            process, server = serve(url, instance, workers=args.workers)
            try:
                catalogue = register(devices, server, args.concurrency)
            finally:
                stop(process)

        started = time.perf_counter()
        with app.app_context():
            summary = fill_county(db.engine, scale, args.seed, counts=PROVINCE)
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect() as conn:
                    conn.execute(sa.text("ANALYZE"))
                    conn.commit()
            db.session.remove()
            db.engine.dispose()
        figures["fill_seconds"] = time.perf_counter() - started
        figures["rows"] = dict(summary.rows)
        print(f"{sa.make_url(url).get_backend_name()}: filled in {figures['fill_seconds']:.1f} s (scale {scale:g}): "
              + ", ".join(f"{t} {n:,}" for t, n in summary.rows.items()))  # fmt: skip

        if not args.no_storm:
            play_storm(args, app, url, instance, devices, catalogue, figures)

        figures["pages"] = {}
        for username in ("xx_sup", "ll_city"):
            results = time_pages(app, username, args.repeat)
            print_pages(username, results)
            figures["pages"][username] = results
        jobs.wait_for_running()  # the monthly report's page starts recounts in the background
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        print(f"\n  peak memory of this process {_peak_rss_mb():.0f} MB; disk free "
              f"{shutil.disk_usage(root).free / 2**30:.1f} GB")  # fmt: skip
    return figures


def pages_only(
    url: str, repeat: int, only: tuple[str, ...] = (), save: str | None = None, against: str | None = None
) -> None:
    """Time the pages again on a database kept by an earlier run (``--keep``), e.g. after adding an index;
    ``save`` writes the p95s to a JSON file, ``against`` prints such a file's p95s before this run's."""
    from bench._common import bench_config
    from server import create_app

    before = json.loads(Path(against).read_text()) if against else {}
    saved: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(bench_config(url, Path(folder)))
        app.config["PROPAGATE_EXCEPTIONS"] = True
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect() as conn:
                    conn.execute(sa.text("ANALYZE"))
                    conn.commit()
        for username in ("xx_sup", "ll_city"):
            results = time_pages(app, username, repeat, only)
            print_pages(username, results, before.get(username))
            saved[username] = figures_of(results)
        jobs.wait_for_running()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if save:
        Path(save).write_text(json.dumps(saved, indent=1, ensure_ascii=False))


def parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="row and device counts factor (0.01: smoke run)"
    )
    parser.add_argument("--database-url", default=PG_DEFAULT,
                        help="PostgreSQL server to create province_<hex> on, or a new sqlite:///file")  # fmt: skip
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=50, help="devices syncing at the same moment")
    parser.add_argument("--repeat", type=int, default=10, help="timed requests per page")
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--database-name", help="PostgreSQL: the new database's name (default province_<hex>)"
    )
    parser.add_argument("--no-storm", action="store_true",
                        help="fill the province and time the pages, without the devices' storm")  # fmt: skip
    parser.add_argument("--pages-only", metavar="URL", help="only time the pages on a database a run kept")
    parser.add_argument("--only", nargs="+", default=[], metavar="LABEL",
                        help="with --pages-only: time only the pages whose label starts so, e.g. dashboard hazards")  # fmt: skip
    parser.add_argument(
        "--save", metavar="FILE", help="with --pages-only: write the pages' p95s to FILE (JSON)"
    )
    parser.add_argument("--against", metavar="FILE",
                        help="with --pages-only: print FILE's p95s (an earlier --save) as before → after")  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the flags and run."""
    args = parser().parse_args(argv)
    if args.pages_only:
        pages_only(args.pages_only, args.repeat, tuple(args.only), args.save, args.against)
    else:
        run(args)
    return 0


if __name__ == "__main__":
    threading.excepthook = lambda hook: print(f"  ! thread {hook.thread}: {hook.exc_value!r}")
    raise SystemExit(main())

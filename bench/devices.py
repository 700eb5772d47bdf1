"""N simulated tablets, each syncing a day's work at once, against gunicorn on PostgreSQL.

    .venv/bin/python bench/devices.py [--devices 4] [--inspections 20] [--photos-per-hazard 3] [--workers 4]
                                      [--database postgresql|sqlite] [--split] [--warm] [--batch-size 200]
                                      [--rounds 1] [--trivial-seconds 5]

Each device records its inspections offline first (every applicable item answered, a hazard per
non-compliant item, photos per hazard), then all devices sync concurrently. Prints inspections/s,
p50/p95 push latency, errors, and what the server holds against what was sent: lost and duplicated.
Then, against the same server, as many clients as devices ask for `/healthz` for a few seconds: the
trivial-request rate, and what one inspection's sync costs in trivial requests (`--photos-per-hazard 0`
leaves photos out; `--split` has every device push before any device pulls, so that the push's CPU is printed
on its own; `--warm` has each device sync one inspection before the clock starts). CPU per inspection is printed
for gunicorn, the devices and, on PostgreSQL, the database's backends (the part of wall × cores the app's own CPU
does not explain).

With `--split`, a pushed inspection's cost by rates (trivial GETs/s against inspections/s pushed) is printed too.
One push phase of 20 devices lasts about a second, so one disturbed second of a shared machine moves it by a
fifth: `--rounds K` has every device record and push `--inspections` K times, each round followed by its own
trivial-GET measurement, and prints every round's figure and their median.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import fresh_database, postgres_available, seeded_app, serve, stop  # noqa: E402
from server.extensions import db  # noqa: E402
from server.models import Inspection, Photo, Quarantine, SyncMutation  # noqa: E402
from sync.client import (  # noqa: E402
    Outbox,
    Response,
    SyncClient,
    UrllibTransport,
    current_catalogue,
    simulate_inspection,
    submits_inspection,
)
from tests.conftest import DEMO_PASSWORD  # noqa: E402

#: What the PWA uploads: photos re-encoded to a long edge of 2048 px.
PHOTO_SIZE = (2048, 1536)
#: The demo county's inspectors; more are added for the bench when more devices run (one user per device,
#: as in the field: a tablet is an inspector's own, and only inspectors' inspections are accepted).
DEMO_INSPECTORS = ["xx_insp1", "xx_insp2", "xx_insp3", "xx_insp4"]


def inspector_names(app: Any, count: int) -> list[str]:
    """``count`` inspector accounts of the demo county: the demo's, then bench_insp05… created as needed."""
    from server.domain.roles import Role
    from server.models import Region, User
    from server.services.users import create_user

    names = [*DEMO_INSPECTORS, *(f"bench_insp{n:02d}" for n in range(len(DEMO_INSPECTORS) + 1, count + 1))]
    with app.app_context():
        region = db.session.scalar(sa.select(User.region_id).where(User.username == DEMO_INSPECTORS[0]))
        for name in names[len(DEMO_INSPECTORS) : count]:
            create_user(db.session, username=name, password=DEMO_PASSWORD, display_name=f"检查员{name[-2:]}",
                        role=Role.inspector, region=db.session.get(Region, region), badge_no=f"1411239{name[-2:]}")  # fmt: skip
        db.session.commit()
        db.session.remove()
    return names[:count]


class TimedTransport(UrllibTransport):
    """Records how long each push takes."""

    def __init__(self, base_url: str, latencies: list[float], timeout: float = 120) -> None:
        super().__init__(base_url, timeout=timeout)
        self.latencies = latencies
        #: Pull requests sent (a push that carried its pull page spares one).
        self.pulls = 0

    def request(self, method: str, path: str, *, headers: dict[str, str], body: bytes | None) -> Response:
        """Time the pushes; pass everything else through."""
        started = time.perf_counter()
        self.pulls += path.startswith("/api/sync/pull")
        try:
            return super().request(method, path, headers=headers, body=body)
        finally:
            if path.startswith("/api/sync/push"):
                self.latencies.append(time.perf_counter() - started)


def prepare_device(
    url: str, username: str, folder: Path, args: argparse.Namespace, seed: int
) -> dict[str, Any]:
    """Register, pull, and sync the --warm inspection (nothing timed yet); record_round() records the day."""
    latencies: list[float] = []
    transport = TimedTransport(url, latencies)
    folder = folder / f"device{seed:03d}"  # one outbox (and photo folder) per device
    folder.mkdir()
    outbox = Outbox(folder / "outbox.sqlite3")
    client = SyncClient(transport, outbox, rng=random.Random(seed), batch_end=submits_inspection)
    client.register(username, DEMO_PASSWORD, f"bench {username}")
    client.pull()
    rng = random.Random(seed)
    enterprises = [e for e in outbox.replica("enterprise") if str(e["data"]["name"]).startswith("兴县")]
    catalogue = current_catalogue(outbox.replica("catalogue"), datetime.date.today())

    def record(count: int) -> list[Any]:
        return [simulate_inspection(outbox, rng.choice(enterprises), catalogue, rng=rng, photo_dir=folder / "photos",
                                    photos_per_hazard=args.photos_per_hazard, me=outbox.user, photo_size=PHOTO_SIZE)
                for _ in range(count)]  # fmt: skip

    # --warm: an inspection synced earlier in the day, so that the workers have served pushes before the clock starts.
    warm = record(1) if args.warm else []
    if warm:
        client.upload_blobs()
        client.push(args.batch_size)
    warm_seqs = outbox.last_acked_seq
    latencies.clear()
    transport.pulls = 0
    return {"username": username, "client": client, "transport": transport, "outbox": outbox, "made": [], "latencies": latencies,
            "seqs": 0, "device_id": outbox.device_id, "warm": warm, "warm_seqs": warm_seqs, "record": record}  # fmt: skip


def record_round(device: dict[str, Any], count: int) -> None:
    """Record ``count`` more inspections offline on ``device`` (nothing timed: the clock starts after)."""
    device["made"] += device["record"](count)
    device["seqs"] += device["outbox"].pending_count()


def run(args: argparse.Namespace) -> None:
    """Set up, sync all devices at once, and report."""
    with fresh_database(args.database) as database_url, tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        app = seeded_app(database_url, root / "instance")
        users = inspector_names(app, args.devices)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        process, url = serve(database_url, root / "instance", workers=args.workers)
        try:
            devices: list[dict[str, Any]] = [{} for _ in range(args.devices)]
            errors: list[str] = []
            ready = threading.Barrier(args.devices + 1)
            go = threading.Barrier(args.devices + 1)
            pushed = threading.Barrier(args.devices + 1)
            # A round's trivial GETs are measured with nothing else running.
            measured = threading.Barrier(args.devices + 1)

            def work(slot: int) -> None:
                # Each device lives in its own thread: its outbox is a SQLite connection of that thread.
                username = users[slot]
                try:
                    devices[slot] = prepare_device(url, username, root, args, seed=slot)
                finally:
                    ready.wait()
                client = devices[slot]["client"]
                for _ in range(args.rounds):
                    record_round(devices[slot], args.inspections)
                    go.wait()
                    try:
                        if args.split:
                            client.upload_blobs()
                            client.push(args.batch_size)
                        else:
                            devices[slot]["summary"] = client.sync(batch_size=args.batch_size)
                    except Exception as error:  # reported, not raised: the figures say what failed
                        errors.append(f"{username}: {error!r}")
                    if args.split:
                        pushed.wait()
                        measured.wait()
                try:
                    if args.split:  # every device has pushed: now all pull
                        client.pull()
                except Exception as error:
                    errors.append(f"{username} (pull): {error!r}")
                finally:
                    devices[slot]["outbox"].close()

            threads = [threading.Thread(target=work, args=(slot,)) for slot in range(args.devices)]
            for thread in threads:
                thread.start()
            ready.wait()  # every device has registered
            # gunicorn answers once its first worker is up: the others may still be importing the app, CPU that
            # is no push's. The clock starts once the server is idle.
            wait_until_idle(process.pid)
            rounds: list[dict[str, Any]] = []
            if args.split:
                for number in range(1, args.rounds + 1):
                    go.wait()  # the devices have recorded this round's inspections
                    before = snapshot(process.pid, database_url)
                    pushed.wait()
                    rounds.append(used(before, snapshot(process.pid, database_url)))
                    if args.rounds > 1:  # each round's own trivial rate, measured right after its pushes
                        rounds[-1]["trivial"] = trivial_rate(url, args.devices, args.trivial_seconds)[0]
                    if number == args.rounds:
                        # The pulls' clock: they start as soon as the devices pass the barrier.
                        before = snapshot(process.pid, database_url)
                    measured.wait()
                # A worker that took most of the devices' connections serves them on one core while others idle.
                shares: dict[int, float] = {}
                for push_round in rounds:
                    for pid, cpu in push_round["workers"].items():
                        shares[pid] = shares.get(pid, 0.0) + cpu
                print("  pushes alone, CPU of each gunicorn process (s): "
                      + " ".join(f"{cpu:.2f}" for cpu in sorted(shares.values(), reverse=True)))  # fmt: skip
            else:
                before = snapshot(process.pid, database_url)
                go.wait()
            for thread in threads:
                thread.join()
            whole = used(before, snapshot(process.pid, database_url))
            push = {key: sum(r[key] for r in rounds) for key in ("seconds", "server", "client", "database")}
            seconds, server_cpu, client_cpu, database = (whole[key] + push.get(key, 0.0)
                                                         for key in ("seconds", "server", "client", "database"))  # fmt: skip
            inspections = sum(len(d["made"]) for d in devices)
            print(f"  CPU per inspection: gunicorn {server_cpu / inspections * 1000:6.1f} ms   devices (this process) "
                  f"{client_cpu / inspections * 1000:6.1f} ms   database {database / inspections * 1000:6.1f} ms   "
                  f"wall × cores {seconds * (os.cpu_count() or 1) / inspections * 1000:6.1f} ms")  # fmt: skip
            trivial_cpu = group_cpu_seconds(process.pid)
            trivial, requests = trivial_rate(url, args.devices, args.trivial_seconds)
            trivial_cpu = group_cpu_seconds(process.pid) - trivial_cpu
            # CPU against CPU holds on a machine shared with other work, where rates against rates do not.
            if requests and trivial_cpu > 0:
                per_request = trivial_cpu / requests
                print(f"  gunicorn CPU per trivial request {per_request * 1000:6.2f} ms: one inspection's sync costs "
                      f"{server_cpu / inspections / per_request:5.1f} trivial requests of server CPU")  # fmt: skip
                if args.split:
                    push_cpu, pull_cpu = push["server"], whole["server"]
                    print(f"  pushes alone (every device, then every device pulls): {inspections / push['seconds']:7.1f} "
                          f"inspections/s, gunicorn CPU per inspection {push_cpu / inspections * 1000:6.1f} ms = "
                          f"{push_cpu / inspections / per_request:5.1f} trivial requests; the pulls after: "
                          f"{pull_cpu / inspections * 1000:6.1f} ms = {pull_cpu / inspections / per_request:5.1f} "
                          "trivial requests per inspection")  # fmt: skip
                    print(f"  pushes alone, CPU per inspection: gunicorn {push_cpu / inspections * 1000:6.2f} ms   devices "
                          f"(this process) {push['client'] / inspections * 1000:6.2f} ms   database "
                          f"{push['database'] / inspections * 1000:6.2f} ms   wall × cores "
                          f"{push['seconds'] * (os.cpu_count() or 1) / inspections * 1000:6.2f} ms")  # fmt: skip
            if args.split:
                if args.rounds == 1:
                    rounds[0]["trivial"] = trivial
                print_by_rates(rounds, args.devices * args.inspections)
            report(app, devices, errors, seconds, args, trivial)
        finally:
            stop(process)


def snapshot(group: int, database_url: str) -> dict[str, Any]:
    """The clock and the CPU used so far by the server, this process and the database, for used()."""
    database = database_cpu(database_url)  # (a query: read first on the way in, last on the way out)
    workers = process_cpu_seconds(group)
    return {"database": database, "workers": workers, "wall": time.perf_counter(),
            "server": sum(workers.values()), "client": time.process_time()}  # fmt: skip


def used(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What a phase between two snapshots took: seconds, and CPU seconds of gunicorn (with each process's share,
    by pid), this process and the database's backends."""
    return {
        "seconds": after["wall"] - before["wall"],
        "server": after["server"] - before["server"],
        "client": after["client"] - before["client"],
        "database": sum(cpu - before["database"].get(pid, 0.0) for pid, cpu in after["database"].items()),
        "workers": {pid: cpu - before["workers"].get(pid, 0.0) for pid, cpu in after["workers"].items()},
    }


def print_by_rates(rounds: list[dict[str, Any]], inspections: int) -> None:
    """The issue's own reckoning of a push: trivial GETs/s against inspections/s pushed, round by round (each
    round's trivial rate measured right after its pushes), and their median."""
    ratios = []
    for number, push in enumerate(rounds, 1):
        rate = inspections / push["seconds"]
        ratios.append(push["trivial"] / rate)
        print(f"  round {number}: pushes {rate:7.1f} inspections/s, trivial GET {push['trivial']:7.1f} requests/s: "
              f"a pushed inspection costs {ratios[-1]:5.2f} trivial requests by rates")  # fmt: skip
    if len(ratios) > 1:
        print(f"  by rates over {len(ratios)} rounds: median {statistics.median(ratios):5.2f} trivial requests "
              f"(min {min(ratios):5.2f}, max {max(ratios):5.2f})")  # fmt: skip


def wait_until_idle(group: int, timeout: float = 60.0) -> None:
    """Return once process group ``group`` uses almost no CPU for half a second (or after ``timeout``)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        before = group_cpu_seconds(group)
        time.sleep(0.5)
        if group_cpu_seconds(group) - before < 0.03:
            return


def group_cpu_seconds(group: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of process group ``group`` (Linux /proc;
    0 elsewhere): the server's share of the machine during the run."""
    return sum(process_cpu_seconds(group).values())


def process_cpu_seconds(group: int) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each live process of process group ``group`` (Linux /proc;
    none elsewhere): how evenly gunicorn's workers share the work."""
    used = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # fields after the name: state, ppid, pgrp, ... utime at 11, stime at 12
            used[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def database_cpu(database_url: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend serving ``database_url``'s database (its server on this
    machine, /proc readable; empty for SQLite, whose work is the app's own): the database's share of a run."""
    if not database_url.startswith("postgresql"):
        return {}
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            pids = conn.scalars(
                sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
    finally:
        engine.dispose()
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def trivial_rate(url: str, clients: int, seconds: float) -> tuple[float, int]:
    """Requests/s of a trivial GET (/healthz) from ``clients`` concurrent kept-alive clients, as the devices use,
    and how many were answered."""
    counts = [0] * clients
    stop_at = time.perf_counter() + seconds

    def hammer(slot: int) -> None:
        with UrllibTransport(url, timeout=30) as transport:
            while time.perf_counter() < stop_at:
                reply = transport.request("GET", "/healthz", headers={}, body=None)
                if reply.status == 200:
                    counts[slot] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=hammer, args=(slot,)) for slot in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started), sum(counts)


def report(
    app: Any,
    devices: list[dict[str, Any]],
    errors: list[str],
    seconds: float,
    args: argparse.Namespace,
    trivial: float,
) -> None:
    """Compare what the server holds with what each device sent, and print the figures."""
    inspections = sum(len(d["made"]) for d in devices)
    photos = sum(len(m.photos) for d in devices for m in d["made"])
    latencies = sorted(x for d in devices for x in d["latencies"])
    lost = duplicated = quarantined = 0
    with app.app_context():
        for device in devices:
            device_id = uuid.UUID(device["device_id"])
            held = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(SyncMutation)
                .where(SyncMutation.device_id == device_id)
            )
            sent = device["warm_seqs"] + device["seqs"]
            lost += max(0, sent - held)
            duplicated += max(0, held - sent)
            stored = db.session.scalar(
                sa.select(sa.func.count()).select_from(Inspection).where(Inspection.device_id == device_id)
            )
            recorded = len(device["warm"]) + len(device["made"])
            duplicated += max(0, stored - recorded)
            lost += max(0, recorded - stored)
            quarantined += db.session.scalar(
                sa.select(sa.func.count()).select_from(Quarantine).where(Quarantine.device_id == device_id)
            )
        device_ids = [uuid.UUID(d["device_id"]) for d in devices]
        photos_held = db.session.scalar(
            sa.select(sa.func.count()).select_from(Photo).where(Photo.device_id.in_(device_ids))
        )
        db.session.remove()
        db.engine.dispose()
    retries = sum(d["client"].retries for d in devices)
    pulls = sum(d["transport"].pulls for d in devices)
    p50 = statistics.median(latencies) if latencies else 0.0
    # Nearest-rank percentile: with few pushes the 95th is the slowest, never below the median.
    p95 = latencies[max(0, math.ceil(0.95 * len(latencies)) - 1)] if latencies else 0.0
    print(f"{args.database}: {args.devices} devices × {args.inspections} inspections ({photos} photos) "
          f"against gunicorn with {args.workers} workers")  # fmt: skip
    print(f"  {inspections / seconds:7.1f} inspections/s   {seconds:6.2f} s wall   push p50 {p50 * 1000:6.1f} ms "
          f"p95 {p95 * 1000:6.1f} ms ({len(latencies)} pushes, {pulls} pulls)")  # fmt: skip
    print(f"  errors {len(errors)}  retries {retries}  quarantined {quarantined}  lost {lost}  duplicated {duplicated}  "
          f"photos held {photos_held}/{photos}")  # fmt: skip
    rate = inspections / seconds
    print(f"  trivial GET /healthz {trivial:7.1f} requests/s   one inspection's sync costs "
          f"{trivial / rate if rate else math.inf:5.1f} trivial requests (ratio {rate / trivial if trivial else 0:.3f})")  # fmt: skip
    for error in errors:
        print(f"  ! {error}")


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--inspections", type=int, default=20)
    parser.add_argument("--photos-per-hazard", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument(
        "--split",
        action="store_true",
        help="every device pushes first (no pull carried), then every device pulls: the push's CPU on its own",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="each device first syncs one inspection (untimed), as on a server that has served pushes before: a "
        "worker's first push compiles the statements it runs",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="with --split: push rounds of --inspections per device each, every round followed by its own "
        "trivial-GET measurement; prints each round's cost by rates and their median",
    )
    parser.add_argument(
        "--trivial-seconds", type=float, default=5.0, help="how long to measure the trivial GET"
    )
    args = parser.parse_args()
    if args.rounds < 1 or (args.rounds > 1 and not args.split):
        parser.error("--rounds needs --split (and at least 1)")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.database == "postgresql" and not postgres_available():
        print("postgresql: not reachable (set BENCH_DATABASE_URL, or use --database sqlite)")
        return 1
    run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

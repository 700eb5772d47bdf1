"""What one push of a whole inspection costs the server, in process: SQL statements, CPU against a trivial
request, and where the time goes.

    .venv/bin/python bench/push_profile.py [--database sqlite|postgresql] [--pushes 40] [--top 25]
    .venv/bin/python bench/push_profile.py --auth [--database sqlite|postgresql]
    .venv/bin/python bench/push_profile.py --auth --database-url URL [--zones 10000] [--username xx_insp1]

Each push carries one realistic inspection (header, every applicable answer, a hazard, the submission; no
photos), as bench/devices.py's tablets send it. Prints the statements of one push (by kind), the CPU of a
push in trivial requests (GET /healthz through the same test client) and, with --top, cProfile's top entries.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import logging
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import bench_config, fresh_database, postgres_available, seeded_app  # noqa: E402
from server.extensions import db  # noqa: E402
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch  # noqa: E402


def statements_of(app: Any, action: Any) -> list[str]:
    """The SQL statements the app's engine runs during ``action()``."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    return seen


def kind(statement: str) -> str:
    """A statement's verb and table, e.g. 'INSERT item_result'."""
    words = statement.replace('"', "").split()
    verb = words[0]
    if verb == "INSERT":
        return f"INSERT {words[2]}"
    if verb == "UPDATE":
        return f"UPDATE {words[1]}"
    if verb == "SELECT" and " FROM " in statement:
        return "SELECT " + statement.split(" FROM ", 1)[1].split()[0].replace('"', "")
    return verb


def print_groups(stats: pstats.Stats) -> None:
    """Own time by package (third-party) or by file (ours), with the database's replies apart."""
    groups: collections.Counter[str] = collections.Counter()
    for (file, _line, name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if file.endswith("psycopg/connection.py") and name == "wait":
            group = "waiting for the database"
        elif "site-packages/" in file:
            group = file.split("site-packages/", 1)[1].split("/", 1)[0]
        elif file.startswith(str(ROOT)):
            group = file[len(str(ROOT)) + 1 :]
        else:
            group = "stdlib " + file.rsplit("/", 1)[-1]
        groups[group] += own
    total = sum(groups.values())
    print(f"  own time by package or file (profiled, {total:.2f} s):")
    for group, own in groups.most_common(20):
        print(f"    {own:7.3f} s {100 * own / total:5.1f} %  {group}")


def _scanning_stamp_statement() -> Any:
    """scope_stamp's statement before region_version (built once, as it was): the user's assignments and four
    aggregates over every region."""
    from server.models import Region, SamplingAssignment

    assigned = sa.select(SamplingAssignment).where(
        SamplingAssignment.inspector_id == sa.bindparam("inspector_id", type_=sa.Integer)
    )
    parent = sa.func.coalesce(Region.parent_id, 0)
    columns = (sa.func.count(Region.id), sa.func.sum(parent), sa.func.sum(Region.id * parent),
               sa.func.max(Region.updated_at))  # fmt: skip
    return sa.select(
        assigned.with_only_columns(sa.func.count()).scalar_subquery(),
        assigned.with_only_columns(sa.func.max(SamplingAssignment.change_no)).scalar_subquery(),
        *(sa.select(column).scalar_subquery() for column in columns),
    )


def _device_row_statement() -> Any:
    """The device and its user's few scope columns as one Core row (the alternative to the ORM load, measured)."""
    from server.models import Device, User

    columns = (Device.id, Device.user_id, Device.revoked_at, Device.last_seen_at, User.active, User.role,
               User.region_id, User.enterprise_id)  # fmt: skip
    return (
        sa.select(*columns)
        .join(User, User.id == Device.user_id)
        .where(Device.token_hash == sa.bindparam("token_hash", type_=Device.token_hash.type))
    )


def _ratio_line(name: str, values: list[float], base: list[float], unit: str = "ms") -> str:
    """One variant's median, range and ratio to the baseline's median."""
    import statistics

    median = statistics.median(values)
    return (f"    {name:<44} median {median * 1000:6.3f} {unit} (range {min(values) * 1000:6.3f}-"
            f"{max(values) * 1000:6.3f}), x{median / statistics.median(base):5.3f}")  # fmt: skip


def bearer_user(app: Any, device: Any) -> Any:
    """The user behind the tablet's token (inside an app context)."""
    from server.services.devices import device_for_token

    return device_for_token(db.session, device.token).user


def measure_authentication(app: Any, pinged: Any, device: Any, rounds: int = 7, calls: int = 200) -> None:
    """What a sync request's authentication (token → device → cached scope, its own checkout from the pool)
    costs, CPU and wall per call, in four variants alternating in rounds: the pool's pre-ping on (``pinged``, an
    app on the same database with pool_pre_ping) or off (``app``, as configured now), and the region stamp read
    from region_version (now) or summed over the region table (before). Then the device lookup alone: the ORM
    load kept against one Core row."""
    from server import credentials
    from server.services import scope as scope_module
    from server.services.devices import device_for_token
    from server.sync_handlers.principal import authenticate

    current = scope_module.scope_stamp
    scanning = _scanning_stamp_statement()

    def scanning_stamp(session: Any, user: Any) -> tuple[Any, ...]:
        row = session.execute(scanning, {"inspector_id": user.id}).one()
        return (user.role, user.region_id, user.enterprise_id, *tuple(row))

    variants = {
        "before: pre-ping, region table summed": (pinged, scanning_stamp),
        "pre-ping, region_version": (pinged, current),
        "no pre-ping, region table summed": (app, scanning_stamp),
        "now: no pre-ping, region_version": (app, current),
    }
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    wall: dict[str, list[float]] = {name: [] for name in variants}

    def timed(name: str, keep: bool = True) -> None:
        target, stamp = variants[name]
        scope_module.scope_stamp = stamp
        try:
            started, clock = time.process_time(), time.perf_counter()
            for _ in range(calls):
                with target.test_request_context(headers=device.headers):
                    authenticate()
                    db.session.rollback()
            if keep:
                cpu[name].append((time.process_time() - started) / calls)
                wall[name].append((time.perf_counter() - clock) / calls)
        finally:
            scope_module.scope_stamp = current

    for name in variants:  # warm every pool and cache
        timed(name, keep=False)
    for _ in range(rounds):
        for name in variants:
            timed(name)
    base = next(iter(variants))
    print(
        f"  authentication per sync request ({rounds} rounds of {calls} calls, alternating; ratio to '{base}'):"
    )
    for label, figures in (("CPU", cpu), ("wall", wall)):
        print(f"   {label}:")
        for name, values in figures.items():
            print(_ratio_line(name, values, figures[base]))

    from server.services.scope import Scope, scope_for

    with app.app_context():
        user = bearer_user(app, device)
        scope = scope_for(db.session, user)
        db.session.remove()
    kept: dict[str, list[float]] = {
        "fingerprint worked out per call (before)": [],
        "kept with the scope (now)": [],
    }
    for index in range(rounds + 1):
        for name in kept:
            started = time.process_time()
            for _ in range(calls):
                if name.startswith("kept"):
                    scope.fingerprint()
                else:
                    Scope._fingerprint.func(scope)  # type: ignore[attr-defined]
            if index:
                kept[name].append((time.process_time() - started) / calls)
    print(
        f"   the scope's fingerprint ({len(scope.region_ids or ())} regions in scope), CPU ({rounds} rounds of {calls}):"
    )
    first_kept = next(iter(kept.values()))
    for name, values in kept.items():
        print(_ratio_line(name, values, first_kept))

    statement = _device_row_statement()
    digest = credentials.token_digest(device.token)
    lookups: dict[str, list[float]] = {"device_for_token (ORM, kept)": [], "one Core row (not adopted)": []}
    with app.app_context():
        for index in range(rounds + 1):
            for name in lookups:
                started = time.process_time()
                for _ in range(calls):
                    if name.startswith("device_for_token"):
                        device_for_token(db.session, device.token)
                    else:
                        db.session.execute(statement, {"token_hash": digest}).one()
                    db.session.rollback()
                if index:  # the first round warms
                    lookups[name].append((time.process_time() - started) / calls)
        db.session.remove()
    print(f"   device lookup alone, CPU ({rounds} rounds of {calls}, alternating):")
    first = next(iter(lookups.values()))
    for name, values in lookups.items():
        print(_ratio_line(name, values, first))


def measure_reply_dumps(changes: list[dict[str, Any]], rounds: int = 7, calls: int = 50) -> None:
    """CPU of dumping a push reply of 200 results and a pull page of these changes: marshmallow's own dump
    (the baseline) against the schemas' quick path, alternating in rounds; prints medians and ranges."""
    import statistics
    import uuid

    from marshmallow import Schema

    from sync.protocol import PullReplySchema, PushReplySchema

    results = [
        {"seq": n, "status": "applied", "code": None, "message": None, "version": 1} for n in range(1, 201)
    ]
    push = (PushReplySchema(), {"device_id": uuid.uuid4(), "last_seq": 200, "results": results})
    pull = (PullReplySchema(), {"changes": changes, "cursor": "c", "has_more": False, "reset": False})
    for label, (schema, reply) in (
        ("push reply, 200 results", push),
        (f"pull page, {len(changes)} changes", pull),
    ):
        assert schema.dump(reply) == Schema.dump(schema, reply)
        figures: dict[str, list[float]] = {"marshmallow": [], "quick": []}
        for _ in range(rounds):
            for name, dump in (("marshmallow", Schema.dump), ("quick", type(schema).dump)):
                started = time.process_time()
                for _ in range(calls):
                    dump(schema, reply)
                figures[name].append((time.process_time() - started) / calls)
        for name, values in figures.items():
            print(f"  {label}, {name}: median {statistics.median(values) * 1000:6.3f} ms "
                  f"(range {min(values) * 1000:6.3f}-{max(values) * 1000:6.3f}, {rounds} rounds of {calls})")  # fmt: skip


def add_zones(app: Any, count: int) -> None:
    """``count`` more development zones under the demo county (a province's towns), in one statement."""
    from server.models import Region, RegionLevel

    with app.app_context():
        county = db.session.scalar(sa.select(Region.id).where(Region.code == "141123"))
        db.session.execute(sa.insert(Region), [
            {"code": f"bench-{n:06d}", "name": f"测试镇{n}", "level": RegionLevel.zone, "parent_id": county}
            for n in range(count)
        ])  # fmt: skip
        db.session.commit()
        print(f"  regions: {db.session.scalar(sa.select(sa.func.count()).select_from(Region))}")
        db.session.remove()


def run_auth(url: str, folder: Path, username: str, zones: int, rounds: int) -> None:
    """The --auth figures on the database at ``url`` (migrated to head first: a copy of the province's works)."""
    import flask_migrate

    from server import create_app

    app = create_app(bench_config(url, folder / "a"))
    pinged = create_app(
        {**bench_config(url, folder / "b"), "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}}
    )
    with app.app_context():
        flask_migrate.upgrade()
    if zones:
        add_zones(app, zones)
    device = Device(app, username)
    # One page is enough to dump (a province's whole pull is hundreds of thousands of rows).
    page = device.client.get("/api/sync/pull", query_string={"limit": 500}, headers=device.headers)
    changes = page.get_json()["changes"]
    measure_authentication(app, pinged, device, rounds)
    measure_reply_dumps(changes[:440])
    for each in (app, pinged):
        with each.app_context():
            db.session.remove()
            db.engine.dispose()


def run(
    database: str, pushes: int, top: int, per_push: int, dump: str | None = None, auth_only: bool = False
) -> None:
    """Measure on a fresh database of ``database``."""
    with fresh_database(database) as url, tempfile.TemporaryDirectory() as folder:
        app = seeded_app(url, Path(folder))
        if auth_only:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            run_auth(url, Path(folder), "xx_insp1", 0, 7)
            return
        device = Device(app, "xx_insp1")
        enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)

        def push_one() -> None:
            batch: list[dict[str, Any]] = []
            for _ in range(per_push):
                batch += inspection_batch(device, enterprise_id, catalogue_id, codes)[1]
            reply = device.push(batch)
            assert reply.status_code == 200, reply.get_json()
            assert {r["status"] for r in reply.get_json()["results"]} == {"applied"}, reply.get_json()

        push_one()  # warm: caches, the first catalogue load
        cursor = device.pull_all()[1]

        def pull_after() -> None:
            nonlocal cursor
            cursor = device.pull_all(cursor)[1]

        seen = statements_of(app, push_one)
        mutations = (1 + len(codes) + 2) * per_push
        print(
            f"{database}: one push of {per_push} inspection(s) ({mutations} mutations): {len(seen)} SQL statements"
        )
        for name, count in sorted(collections.Counter(kind(s) for s in seen).items()):
            print(f"    {count:3d}  {name}")
        trivial = app.test_client()
        for _ in range(50):
            trivial.get("/healthz")
        started = time.process_time()
        for _ in range(pushes * 10):
            trivial.get("/healthz")
        per_trivial = (time.process_time() - started) / (pushes * 10)
        profile = cProfile.Profile()
        started = time.process_time()
        profile.enable() if top else None
        for _ in range(pushes):
            push_one()
        profile.disable() if top else None
        per_push_cpu = (time.process_time() - started) / pushes
        pull_cpu = 0.0
        pull_after()  # the pushes above: not part of the pull after one push
        pull_profile = cProfile.Profile()
        for _ in range(pushes):
            push_one()
            started = time.process_time()
            pull_profile.enable() if top else None
            pull_after()
            pull_profile.disable() if top else None
            pull_cpu += time.process_time() - started
        print(f"  CPU of the pull after a push {pull_cpu / pushes * 1000:6.1f} ms: {pull_cpu / pushes / per_push / per_trivial:5.1f} "
              "trivial requests per inspection")  # fmt: skip
        # A sync as the clients now make it: the push asks for the page that follows it, and no pull is sent.
        with_page_cpu = 0.0
        for _ in range(pushes):
            batch = []
            for _ in range(per_push):
                batch += inspection_batch(device, enterprise_id, catalogue_id, codes)[1]
            body = {"device_id": device.device_id, "schema": 1, "mutations": batch,
                    "pull": {"cursor": cursor, "limit": 500}}  # fmt: skip
            started = time.process_time()
            reply = device.client.post("/api/sync/push", json=body, headers=device.headers)
            with_page_cpu += time.process_time() - started
            page = reply.get_json().get("pull")
            if reply.status_code != 200 or page is None or page["has_more"]:
                print("  (this server does not carry the pull page in a push reply)")
                break
            cursor = page["cursor"]
        else:
            print(f"  CPU of a push carrying its pull page {with_page_cpu / pushes * 1000:6.1f} ms, against a push then "
                  f"a pull {(per_push_cpu + pull_cpu / pushes) * 1000:6.1f} ms: {with_page_cpu / pushes / per_push / per_trivial:5.1f} "
                  "trivial requests per inspection")  # fmt: skip
        print(f"  CPU per push {per_push_cpu * 1000:6.1f} ms, per trivial GET {per_trivial * 1000:5.2f} ms: one inspection's "
              f"push costs {per_push_cpu / per_push / per_trivial:5.1f} trivial requests (in process, database CPU not "
              f"counted{', under cProfile' if top else ''})")  # fmt: skip
        for name, profiled in (("push", profile), ("pull after a push", pull_profile)) if top else ():
            print(f"--- {name}")
            if dump:
                profiled.dump_stats(f"{dump}.{name.split()[0]}")
            print_groups(pstats.Stats(profiled))
            pstats.Stats(profiled).sort_stats("cumulative").print_stats(top)
            pstats.Stats(profiled).sort_stats("tottime").print_stats(top)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="sqlite")
    parser.add_argument("--pushes", type=int, default=40)
    parser.add_argument("--dump", help="with --top: also write the profiles to DUMP.push and DUMP.pull")
    parser.add_argument("--per-push", type=int, default=1, help="inspections per push")
    parser.add_argument(
        "--top", type=int, default=0, help="print cProfile's top entries (cumulative, own time)"
    )
    parser.add_argument(
        "--auth",
        action="store_true",
        help="only what every sync request pays: authentication (pool pre-ping on and off, the region stamp read "
        "from region_version and summed over the table, the device's ORM load and a Core row) and the reply dumps "
        "(against marshmallow's own)",
    )
    parser.add_argument("--database-url", help="with --auth: measure on this existing database (e.g. a copy of the "
                        "province's; it is migrated to head) instead of a fresh demo one")  # fmt: skip
    parser.add_argument(
        "--username", default="xx_insp1", help="with --database-url: the inspector whose tablet signs in"
    )
    parser.add_argument(
        "--zones", type=int, default=0, help="with --database-url: add this many regions first"
    )
    parser.add_argument("--rounds", type=int, default=7, help="with --database-url: alternating rounds")
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.database_url:
        with tempfile.TemporaryDirectory() as folder:
            run_auth(args.database_url, Path(folder), args.username, args.zones, args.rounds)
        return 0
    if args.database == "postgresql" and not postgres_available():
        print("postgresql: not reachable (set BENCH_DATABASE_URL, or use --database sqlite)")
        return 1
    run(args.database, args.pushes, args.top, args.per_push, args.dump, args.auth)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What one push of a whole inspection costs the server, in process: SQL statements, CPU against a trivial
request, and where the time goes.

    .venv/bin/python bench/push_profile.py [--database sqlite|postgresql] [--pushes 40] [--top 25]

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

from bench._common import fresh_database, postgres_available, seeded_app  # noqa: E402
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


def _stamp_built_per_call(session: Any, user: Any) -> tuple[Any, ...]:
    """The baseline: scope_stamp as it was, its statement built anew on every call."""
    from server.models import Region, SamplingAssignment

    assigned = sa.select(SamplingAssignment).where(SamplingAssignment.inspector_id == user.id)
    parent = sa.func.coalesce(Region.parent_id, 0)
    row = session.execute(
        sa.select(
            assigned.with_only_columns(sa.func.count()).scalar_subquery(),
            assigned.with_only_columns(sa.func.max(SamplingAssignment.change_no)).scalar_subquery(),
            sa.select(sa.func.count()).select_from(Region).scalar_subquery(),
            sa.select(sa.func.sum(parent)).scalar_subquery(),
            sa.select(sa.func.sum(Region.id * parent)).scalar_subquery(),
            sa.select(sa.func.max(Region.updated_at)).scalar_subquery(),
        )
    ).one()
    return (user.role, user.region_id, user.enterprise_id, *tuple(row))


def measure_authentication(app: Any, device: Any, rounds: int = 7, calls: int = 200) -> None:
    """CPU of a sync request's authentication (token → device → cached scope), this tree's scope_stamp against
    the baseline built per call, alternating in rounds; prints medians and ranges."""
    import statistics

    from server.services import scope as scope_module
    from server.sync_handlers.principal import authenticate

    current = scope_module.scope_stamp
    figures: dict[str, list[float]] = {"baseline (stamp built per call)": [], "this tree": []}

    def timed(stamp: Any) -> float:
        scope_module.scope_stamp = stamp
        try:
            started = time.process_time()
            for _ in range(calls):
                with app.test_request_context(headers=device.headers):
                    authenticate()
                    db.session.rollback()
            return (time.process_time() - started) / calls
        finally:
            scope_module.scope_stamp = current

    timed(current), timed(_stamp_built_per_call)  # warm both
    for _ in range(rounds):
        for name, stamp in (
            ("baseline (stamp built per call)", _stamp_built_per_call),
            ("this tree", current),
        ):
            figures[name].append(timed(stamp))
    for name, values in figures.items():
        print(f"  authentication CPU, {name}: median {statistics.median(values) * 1000:5.3f} ms "
              f"(range {min(values) * 1000:5.3f}-{max(values) * 1000:5.3f}, {rounds} rounds of {calls})")  # fmt: skip


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


def run(
    database: str, pushes: int, top: int, per_push: int, dump: str | None = None, auth_only: bool = False
) -> None:
    """Measure on a fresh database of ``database``."""
    with fresh_database(database) as url, tempfile.TemporaryDirectory() as folder:
        app = seeded_app(url, Path(folder))
        device = Device(app, "xx_insp1")
        enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
        if auth_only:
            changes = device.pull_all()[0]
            measure_authentication(app, device)
            measure_reply_dumps(changes[:440])
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            return

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
        help="only the CPU every sync request pays: authentication (against the stamp built per call) and the reply "
        "dumps (against marshmallow's own)",
    )
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.database == "postgresql" and not postgres_available():
        print("postgresql: not reachable (set BENCH_DATABASE_URL, or use --database sqlite)")
        return 1
    run(args.database, args.pushes, args.top, args.per_push, args.dump, args.auth)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""自查核对 at county scale: reconciling every enterprise's findings with its self-inspection ledger.

Fills a freshly migrated, demo-seeded database with bench/web.py's county (``fill_county``: 2,000
enterprises, 10,000 inspections, 20,000 findings at ``--scale 1``), then adds what the enterprises themselves
keep, by bulk Core inserts: for 60 % of the findings a similar self-inspection ledger entry (the item's text
cut down or reworded, the same or a similar place, the item code on half of them; most written before the
inspector came, some after, a share declared fixed), ledger-only entries (30 % of the findings' number) with
their event logs, and a self-assessment (a submitted ``self`` inspection answering every key item) for 70 % of
the enterprises. Then it times ``server.services.reconciliation.reconcile_scope`` for the county-coverage
phase as the 兴县 supervisor (``xx_sup``, three quarters of the county) and the 吕梁市 city supervisor
(``ll_city``, everything), and the page and the JSON that show it. Target: ≤ 2 s on SQLite and PostgreSQL.

    .venv/bin/python bench/_reconcile.py [--scale 1.0] [--db sqlite|postgres|both] [--repeat 5]

bench/ledger.py calls ``run(args)`` with the same flags (only ``args.db`` is required).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import postgres_available
from bench.web import _STATE_EVENTS, _window, _Writer, filled_county
from server import clock
from server.demo.county import DEMO_PASSWORD
from server.domain.hazards import HazardEventKind, HazardState
from server.extensions import db
from server.models import (
    Campaign,
    CampaignPhase,
    Catalogue,
    CatalogueItem,
    ChangeCounter,
    Enterprise,
    Hazard,
    HazardEvent,
    Inspection,
    ItemResult,
    User,
)
from server.services.reconciliation import reconcile_scope, resolve_phase

TARGET_S = 2.0
PHASE = "county_coverage"
#: Share of findings with a similar ledger entry, ledger-only entries per finding, enterprises self-assessed.
SIMILAR_SHARE = 0.6
LEDGER_ONLY_PER_FINDING = 0.3
SELF_ASSESSED_SHARE = 0.7
#: Of the similar entries: written after the inspector came (补录), and declared fixed at some point.
RECORDED_AFTER_SHARE = 0.1
_CLAIM_STATES = [
    (HazardState.found, 0.35),
    (HazardState.planned, 0.25),
    (HazardState.reported, 0.15),
    (HazardState.accepted, 0.15),
    (HazardState.closed, 0.10),
]
_LEDGER_ONLY = [
    ("消防通道堆放杂物，影响疏散", "成品仓库"),
    ("配电箱未可靠接地", "配电室"),
    ("安全警示标识缺失", "生产车间"),
    ("部分作业人员未正确佩戴劳动防护用品", "生产车间"),
    ("灭火器过期未及时更换", "办公楼"),
    ("应急照明灯损坏", "原料库"),
    ("安全培训记录不完整", "安全科"),
    ("行车限位开关失灵", "铸造车间"),
    ("氧气乙炔瓶间距不足", "检修车间"),
    ("除尘管道积灰未定期清理", "除尘系统"),
]
_FILLERS = ["存在", "现场检查发现", "自查发现", ""]


def _reword(rng: random.Random, text: str) -> str:
    """A ledger's wording of a catalogue item: one or two of its clauses, negations and fillers varied."""
    clauses = [c for c in text.replace("；", "，").replace("。", "").split("，") if c]
    start = rng.randrange(len(clauses))
    kept = "，".join(clauses[start : start + rng.choice((1, 2))])
    if rng.random() < 0.5:
        kept = kept.replace("未", "没有", 1)
    return f"{rng.choice(_FILLERS)}{kept}{rng.choice(('问题', '', '，需整改'))}"


def _similar_place(rng: random.Random, place: str | None) -> str | None:
    if place is None or rng.random() < 0.6:
        return place
    return rng.choice([f"{place}区域", f"1#{place}", place[:2] + "区域", None])


class _Ledgers:
    """Adds the enterprises' own records to a filled county."""

    def __init__(self, conn: sa.Connection, seed: int, today: date) -> None:
        self.conn = conn
        self.rng = random.Random(seed + 1)
        self.today = today
        counter = conn.scalar(sa.select(ChangeCounter.value).where(ChangeCounter.id == 1)) or 0
        self.out = _Writer(conn, int(counter))
        self.events: list[dict[str, Any]] = []
        self.number = 0

    def uid(self) -> uuid.UUID:
        """A random (seeded) version-4 UUID."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def sync(self, at: datetime, version: int = 1) -> dict[str, Any]:
        """SyncMixin and TimestampMixin columns."""
        return {"row_version": version, "change_no": self.out.next_change(), "deleted_at": None,
                "created_at": at, "updated_at": at}  # fmt: skip

    def run(self) -> dict[str, int]:
        """Write the ledger entries, their events and the self-assessments; move the change counter on."""
        self.out.insert(Hazard, self._entries())
        self.out.insert(HazardEvent, self.events)
        answers: list[dict[str, Any]] = []
        self.out.insert(Inspection, self._self_assessments(answers))
        self.out.insert(ItemResult, answers)
        self.conn.execute(
            sa.update(ChangeCounter).where(ChangeCounter.id == 1).values(value=self.out.change_no)
        )
        return dict(self.out.rows)

    def _entry(
        self,
        enterprise_id: uuid.UUID,
        item_code: str | None,
        place: str | None,
        description: str,
        found: datetime,
    ) -> dict[str, Any]:
        rng = self.rng
        state = rng.choices([s for s, _ in _CLAIM_STATES], weights=[w for _, w in _CLAIM_STATES])[0]
        kinds = [HazardEventKind.found, *_STATE_EVENTS[state]]
        deadline = found.date() + timedelta(days=rng.randrange(7, 120))
        hazard_id = self.uid()
        at = found
        for step, kind in enumerate(kinds):
            if step:
                at = min(at + timedelta(days=rng.uniform(0.5, 15)), datetime.now(UTC) - timedelta(minutes=5))
            self.events.append({"id": self.uid(), "hazard_id": hazard_id, "kind": kind.value, "at": at, "received_at": at,
                                "actor_id": None, "device_id": None, "deadline": deadline if step == 0 else None,
                                "comment": None, "data": {}, **self.sync(at)})  # fmt: skip
        self.number += 1
        terms: dict[str, Any] = {
            "responsible_person": "企业安全员",
            "measures": "按要求整改",
            "deadline": deadline.isoformat(),
        }
        if state in (HazardState.accepted, HazardState.closed):
            terms["completed_on"] = at.date().isoformat()
        return {
            "id": hazard_id, "enterprise_id": enterprise_id, "inspection_id": None, "source": "self_ledger",
            "item_code": item_code, "ledger_no": f"ZC-{self.number:06d}", "place": place, "description": description,
            "level": "general", "level_reason": None, "found_at": found, "terms": terms, "funds_yuan": None,
            "five_in_place": None, "treatment_plan": None, "reported_to_regulator_on": None,
            "reported_to_workers_congress_on": None, "supervision_level": None, "supervision_no": None,
            "stop_production": False, "state": state.value, "deadline": deadline, "listed": False,
            **self.sync(at, len(kinds)),
        }  # fmt: skip

    def _entries(self) -> Iterator[dict[str, Any]]:
        """Similar entries for a share of the findings, then ledger-only ones."""
        rng = self.rng
        texts = dict(self.conn.execute(sa.select(CatalogueItem.code, CatalogueItem.text)).all())
        findings = self.conn.execute(
            sa.select(Hazard.enterprise_id, Hazard.item_code, Hazard.place, Hazard.found_at)
            .where(Hazard.source == "inspection")
            .order_by(Hazard.found_at, Hazard.id)
        ).all()
        enterprises = sorted({f.enterprise_id for f in findings})
        for enterprise_id, item_code, place, found_at in findings:
            if rng.random() >= SIMILAR_SHARE or item_code not in texts:
                continue
            if rng.random() < RECORDED_AFTER_SHARE:
                written = min(
                    found_at + timedelta(days=rng.uniform(0.5, 10)), datetime.now(UTC) - timedelta(days=1)
                )
            else:
                written = found_at - timedelta(days=rng.uniform(1, 60))
            code = item_code if rng.random() < 0.5 else None
            yield self._entry(
                enterprise_id, code, _similar_place(rng, place), _reword(rng, texts[item_code]), written
            )
        if not enterprises:
            return
        first, last = min(f.found_at for f in findings), max(f.found_at for f in findings)
        for _ in range(round(LEDGER_ONLY_PER_FINDING * len(findings))):
            description, place = rng.choice(_LEDGER_ONLY)
            written = first - timedelta(days=30) + (last - first + timedelta(days=30)) * rng.random()
            yield self._entry(rng.choice(enterprises), None, place, description, written)

    def _self_assessments(self, answers: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """A submitted self-assessment answering every key item, for a share of the enterprises."""
        rng = self.rng
        catalogue_id = self.conn.scalar(
            sa.select(Catalogue.id).order_by(Catalogue.effective_from.desc(), Catalogue.version.desc())
        )
        codes = list(self.conn.scalars(
            sa.select(CatalogueItem.code)
            .where(CatalogueItem.catalogue_id == catalogue_id, CatalogueItem.section == "key")
            .order_by(CatalogueItem.ordinal)
        ))  # fmt: skip
        start = self.conn.scalar(sa.select(sa.func.min(Inspection.finished_at))) or datetime.now(UTC)
        for (enterprise_id,) in self.conn.execute(sa.select(Enterprise.id).order_by(Enterprise.id)):
            if rng.random() >= SELF_ASSESSED_SHARE:
                continue
            finished = start - timedelta(days=rng.uniform(3, 30))
            inspection_id = self.uid()
            for code in codes:
                result = rng.choices(["compliant", "non_compliant", "not_applicable"], weights=[92, 3, 5])[0]
                answers.append({"id": self.uid(), "inspection_id": inspection_id, "item_code": code, "result": result,
                                "note": None, "answered_at": finished, **self.sync(finished)})  # fmt: skip
            yield {
                "id": inspection_id, "enterprise_id": enterprise_id, "catalogue_id": catalogue_id, "kind": "self",
                "status": "submitted", "created_by_id": None, "device_id": None,
                "started_at": finished - timedelta(hours=3), "finished_at": finished, "received_at": finished,
                "submitted_received_at": finished, "start_lat": None, "start_lon": None, "start_accuracy_m": None,
                "end_lat": None, "end_lon": None, "end_accuracy_m": None, "signatures": [], "sealed_sha256": None,
                "device_signature": None, "sealed_record": None, "seal_verified": None, "seal_problem": None,
                "corrects_id": None, "summary_note": "企业自查", **self.sync(finished, 2),
            }  # fmt: skip


def add_ledgers(target: Any, seed: int = 20260601, today: date | None = None) -> dict[str, int]:
    """Add the enterprises' ledgers and self-assessments to a county filled by ``fill_county``; rows written.

    ``target`` is an Engine (one transaction, committed) or a Connection."""
    if isinstance(target, sa.Engine):
        with target.begin() as conn:
            return add_ledgers(conn, seed, today)
    return _Ledgers(target, seed, today or date.today()).run()


def _align_phase(conn: sa.Connection, today: date) -> None:
    """Put the county-coverage phase where fill_county put the inspections (a year back before it begins)."""
    start, _ = _window(conn, today)
    for phase_id, starts_on, ends_on in conn.execute(
        sa.select(CampaignPhase.id, CampaignPhase.starts_on, CampaignPhase.ends_on)
        .join(Campaign, Campaign.id == CampaignPhase.campaign_id)
    ).all():  # fmt: skip
        shift = starts_on.year - start.year
        if shift:
            conn.execute(sa.update(CampaignPhase).where(CampaignPhase.id == phase_id).values(
                starts_on=starts_on.replace(year=starts_on.year - shift), ends_on=ends_on.replace(year=ends_on.year - shift)
            ))  # fmt: skip


def _local_today() -> date:
    """Today in the bureau's zone (the TIMEZONE the bench's app is given), as the pages count it."""
    return clock.today(clock.zone_named(os.environ.get("TIMEZONE")))


def _seconds(call: Any, repeat: int, before: Any = None) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``repeat`` calls after one warm-up; ``before`` runs untimed before each."""
    call()
    wall, cpu = [], []
    for _ in range(repeat):
        if before is not None:
            before()
        started, used = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    return wall, cpu


def _line(label: str, seconds: tuple[list[float], list[float]], target: bool = True) -> str:
    wall, cpu = seconds
    verdict = ("ok" if max(wall) <= TARGET_S else "SLOW") if target else ""
    return (f"  {label:<48} {statistics.median(wall):7.3f} {max(wall):7.3f} {statistics.median(cpu):7.3f}"
            f"  {verdict}")  # fmt: skip


def _busiest(session: Any, user: User, window: Any) -> uuid.UUID | None:
    """The enterprise in the user's scope with the most findings in the phase."""
    from server.services.scope import visible_enterprise_ids

    return session.scalar(
        sa.select(Hazard.enterprise_id)
        .where(Hazard.enterprise_id.in_(visible_enterprise_ids(session, user)), Hazard.source == "inspection",
               Hazard.found_at >= window.starts, Hazard.found_at < window.ends)
        .group_by(Hazard.enterprise_id)
        .order_by(sa.func.count().desc(), Hazard.enterprise_id)
        .limit(1)
    )  # fmt: skip


def _time(app: Any, username: str, repeat: int) -> None:
    """Time the service, the pages and the JSON as ``username``: with nothing cached (the target) and cached."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        today = _local_today()
        window = resolve_phase(db.session, user, PHASE, today, clock.zone())
        assert window is not None
        result = reconcile_scope(db.session, user, window, today, zone=clock.zone())
        busiest = _busiest(db.session, user, window)
        t = result.totals
        print(f"\n  as {username}: {t.enterprises:,} enterprises, {t.with_data:,} with data; {t.findings:,} findings, "
              f"{t.ledger_entries:,} ledger entries; self-reported {t.self_reported:,}, missed {t.missed:,}, "
              f"claimed fixed but present {t.claimed_fixed_but_present:,}, recorded after {t.recorded_after:,}, "
              f"ledger only {t.ledger_only:,}, overdue {t.overdue:,}, overstated items {t.overstated_items:,}; "
              f"reliability {100 * (t.reliability or 0):.0f} %")  # fmt: skip
        print(f"  {'what':<48} {'p50 s':>7} {'max s':>7} {'CPU s':>7}  target ≤ {TARGET_S:.0f} s (wall, max)")
        service = _seconds(
            lambda: reconcile_scope(db.session, user, window, today, zone=clock.zone()), repeat
        )
        print(_line("reconcile_scope, nothing cached", service))
        db.session.remove()
    client = app.test_client()
    login = client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert login.status_code == 200

    def forget() -> None:
        app.extensions.pop("reconciliation_cache", None)

    timings = [
        ("page /reconciliation, first view", f"/reconciliation?phase={PHASE}", forget, True),
        ("JSON /api/reconciliation, all rows, first view", f"/api/reconciliation?phase={PHASE}&per_page=5000",
         forget, True),
        ("page /reconciliation, sorted again (cached)", f"/reconciliation?phase={PHASE}&sort=missed", None, False),
        ("enterprise page (most findings)", f"/enterprises/{busiest}/reconciliation?phase={PHASE}", None, True),
    ]  # fmt: skip
    for label, path, before, target in timings:
        status = client.get(path).status_code
        if status != 200:
            print(f"  {label:<48} status {status}: not timed")
            continue
        print(_line(label, _seconds(lambda path=path: client.get(path).get_data(), repeat, before), target))


def run_one(kind: str, scale: float, repeat: int, seed: int) -> None:
    """Fill a fresh database of ``kind``, add the ledgers and time the reconciliation as both supervisors."""
    today = _local_today()
    added: dict[str, int] = {}

    def add_ledgers_and_phase(conn: sa.Connection) -> None:
        added.update(add_ledgers(conn, seed, today))
        _align_phase(conn, today)

    with filled_county(kind, scale, seed, today=today, extend=add_ledgers_and_phase) as (app, summary):
        print(f"  {summary.rows.get('hazard', 0):,} findings; ledgers and self-assessments added: "
              + ", ".join(f"{table} {n:,}" for table, n in added.items()))  # fmt: skip
        for username in ("xx_sup", "ll_city"):
            _time(app, username, repeat)


def run(args: Any) -> None:
    """Run on the databases ``args.db`` names ("sqlite", "postgres" or "both"); ``args.scale``, ``args.repeat``
    and ``args.seed`` are used when present."""
    scale = float(getattr(args, "scale", 1.0) or 1.0)
    repeat = int(getattr(args, "repeat", 5) or 5)
    seed = int(getattr(args, "seed", 20260601) or 20260601)
    print(f"自查核对 / reconciliation of a whole county, phase {PHASE}: target ≤ {TARGET_S:.0f} s")
    # Wall time on a shared machine moves with its load; the CPU column (this process's) moves far less.
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.db in ("sqlite", "both"):
        run_one("sqlite", scale, repeat, seed)
    if args.db in ("postgres", "both"):
        if postgres_available():
            run_one("postgresql", scale, repeat, seed)
        else:
            print("postgresql: not reachable (set BENCH_DATABASE_URL)")


def main() -> int:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="row counts factor (0.1 for a quick run)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each")
    parser.add_argument("--seed", type=int, default=20260601)
    run(parser.parse_args())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

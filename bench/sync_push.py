"""Push-apply rate of realistic batches, as a ratio to a raw bulk insert of the same rows into the same
database, measured side by side (SQLite, and PostgreSQL when it answers).

    .venv/bin/python bench/sync_push.py [--inspections 20] [--rounds 3]

Prints mutations/s for both paths and their ratio (target: push ≥ 0.5 of the raw rate).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import fresh_database, postgres_available, seeded_app
from server.domain.applicability import ApplicabilityRule, applicable_items
from server.extensions import db
from server.models import Catalogue, Enterprise, Hazard, HazardEvent, Inspection, ItemResult, Photo
from tests.conftest import DEMO_PASSWORD

T0 = datetime(2026, 6, 10, 1, 0, tzinfo=UTC)


def realistic_outbox(app: Any, inspections: int) -> list[dict[str, Any]]:
    """A day of an inspector's work: inspections with every applicable answer, hazards and photo records."""
    with app.app_context():
        catalogue = db.session.scalar(sa.select(Catalogue))
        enterprises = db.session.scalars(sa.select(Enterprise).where(Enterprise.name.like("兴县%"))).all()
        plans = []
        for index in range(inspections):
            enterprise = enterprises[index % len(enterprises)]
            items = applicable_items(
                catalogue.items, enterprise.profile(), lambda i: ApplicabilityRule.from_dict(i.applies_when)
            )
            plans.append((str(enterprise.id), [i.code for i in items], items[0].default_level.value))
        catalogue_id = str(catalogue.id)
    outbox: list[dict[str, Any]] = []

    def add(entity: str, data: dict[str, Any], entity_id: str | None = None) -> str:
        entity_id = entity_id or str(uuid.uuid4())
        outbox.append({"seq": len(outbox) + 1, "entity": entity, "id": entity_id, "op": "upsert", "base_version": None,
                       "data": data, "at": (T0 + timedelta(seconds=len(outbox))).isoformat()})  # fmt: skip
        return entity_id

    for enterprise_id, codes, first_level in plans:
        inspection = add("inspection", {"enterprise_id": enterprise_id, "catalogue_id": catalogue_id, "kind": "county",
                                        "started_at": T0.isoformat(), "participants": [
                                            {"role": "inspector", "name": "张建国"}, {"role": "inspector", "name": "刘晓燕"}]})  # fmt: skip
        for position, code in enumerate(codes):
            add("item_result", {"inspection_id": inspection, "item_code": code,
                                "result": "non_compliant" if position == 0 else "compliant", "note": "现场核查"})  # fmt: skip
        hazard = add("hazard", {"enterprise_id": enterprise_id, "inspection_id": inspection, "item_code": codes[0],
                                "description": "未设置监测报警装置", "level": first_level, "found_at": T0.isoformat(),
                                "deadline": "2026-07-10", "terms": {"responsible_person": "王建平"}})  # fmt: skip
        for photo in range(3):
            add("photo", {"sha256": uuid.uuid4().hex + uuid.uuid4().hex, "entity_type": "hazard", "entity_id": hazard,
                          "captured_at": T0.isoformat(), "lat": 38.46, "lon": 111.12 + photo / 1000})  # fmt: skip
        add(
            "inspection",
            {"status": "submitted", "finished_at": (T0 + timedelta(hours=2)).isoformat()},
            inspection,
        )
    return outbox


def time_push(app: Any, outbox: list[dict[str, Any]], batch_size: int = 100) -> float:
    """Seconds to push the whole outbox through HTTP (test client) in batches."""
    client = app.test_client()
    login = client.post(
        "/api/auth/login", json={"username": "xx_insp1", "password": DEMO_PASSWORD}
    ).get_json()
    device_id = str(uuid.uuid4())
    token = client.post("/api/devices", json={"device_id": device_id},
                        headers={"X-CSRF-Token": login["csrf_token"]}).get_json()["token"]  # fmt: skip
    pusher = app.test_client()
    started = time.perf_counter()
    for start in range(0, len(outbox), batch_size):
        reply = pusher.post("/api/sync/push", headers={"Authorization": f"Bearer {token}"},
                            json={"device_id": device_id, "schema": 1, "mutations": outbox[start : start + batch_size]})  # fmt: skip
        body = reply.get_json()
        assert reply.status_code == 200 and all(r["status"] == "applied" for r in body["results"]), body
    return time.perf_counter() - started


def time_raw_insert(app: Any, outbox: list[dict[str, Any]]) -> float:
    """Seconds to insert the same rows with executemany in one transaction (no HTTP, checks or ledger)."""
    rows: dict[Any, list[dict[str, Any]]] = {
        Inspection: [],
        ItemResult: [],
        Hazard: [],
        HazardEvent: [],
        Photo: [],
    }
    now = datetime.now(UTC)
    with app.app_context():
        user_id = db.session.execute(
            sa.text("SELECT id FROM user_account WHERE username = 'xx_insp1'")
        ).scalar_one()
    for m in outbox:
        d, new_id = m["data"], uuid.uuid4()
        common = {"id": new_id, "row_version": 1, "change_no": 0}
        if m["entity"] == "inspection" and "enterprise_id" in d:
            rows[Inspection].append({**common, "enterprise_id": uuid.UUID(d["enterprise_id"]), "catalogue_id": uuid.UUID(d["catalogue_id"]),
                                     "kind": "county", "status": "draft", "created_by_id": user_id, "started_at": T0,
                                     "received_at": now, "signatures": [], "created_at": now, "updated_at": now})  # fmt: skip
            last_inspection = new_id
        elif m["entity"] == "item_result":
            rows[ItemResult].append({**common, "inspection_id": last_inspection, "item_code": d["item_code"],
                                     "result": d["result"], "note": d["note"], "created_at": now, "updated_at": now})  # fmt: skip
        elif m["entity"] == "hazard":
            rows[Hazard].append({**common, "enterprise_id": uuid.UUID(d["enterprise_id"]), "inspection_id": last_inspection,
                                 "source": "inspection", "item_code": d["item_code"], "description": d["description"],
                                 "level": "major", "found_at": T0, "terms": d["terms"], "state": "found",
                                 "stop_production": False, "listed": False, "created_at": now, "updated_at": now})  # fmt: skip
            rows[HazardEvent].append({"id": uuid.uuid4(), "row_version": 1, "change_no": 0, "hazard_id": new_id,
                                      "kind": "found", "at": T0, "received_at": now, "data": {}})  # fmt: skip
            last_hazard = new_id
        elif m["entity"] == "photo":
            rows[Photo].append({**common, "sha256": d["sha256"], "entity_type": "hazard", "entity_id": last_hazard,
                                "received_at": now, "lat": d["lat"], "lon": d["lon"]})  # fmt: skip
    with app.app_context():
        started = time.perf_counter()
        with db.engine.begin() as conn:
            for model, values in rows.items():
                if values:
                    conn.execute(sa.insert(model), values)
        return time.perf_counter() - started


def run(kind: str, inspections: int, rounds: int) -> None:
    """Measure both paths ``rounds`` times each on a fresh database of ``kind``."""
    with fresh_database(kind) as url, tempfile.TemporaryDirectory() as folder:
        app = seeded_app(url, Path(folder))
        push_rates, raw_rates = [], []
        for _ in range(rounds):
            outbox = realistic_outbox(app, inspections)
            push_rates.append(len(outbox) / time_push(app, outbox))
            raw_rates.append(len(outbox) / time_raw_insert(app, outbox))
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    push, raw = statistics.median(push_rates), statistics.median(raw_rates)
    print(f"{kind:<10} batch of {len(outbox)} mutations ({inspections} inspections): "
          f"push {push:8.0f} mutations/s   raw insert {raw:8.0f} rows/s   ratio {push / raw:.3f}")  # fmt: skip


def main() -> int:
    """Run on SQLite, then on PostgreSQL if it answers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inspections", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    run("sqlite", args.inspections, args.rounds)
    if postgres_available():
        run("postgresql", args.inspections, args.rounds)
    else:
        print("postgresql: not reachable (set BENCH_DATABASE_URL)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

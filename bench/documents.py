"""Enforcement documents at county scale: server time to make the 现场检查记录 and the 责令限期整改指令书 of one
inspection with 25 answered items, 5 hazards with photos, 3 signatures and a seal.

Fills a freshly migrated, demo-seeded database with a county's campaign (bench/web.py's ``fill_county``), picks
the 兴县 submitted inspection with the most hazards, brings it to 5 hazards, and gives it what the fill leaves
out: real JPEG photos (one per hazard, 4032×3024 as a tablet takes them, thumbnails not yet made), the three
signatures as PNGs and a sealed record, all stored in the blob store as uploads are. Then signs in as
``xx_sup`` and times both downloads through Flask's test client (server time only, no network): the first
request of the process (the font face opened, photo thumbnails made), then ``--repeat`` timed ones, p50 and
nearest-rank p95.

    .venv/bin/python bench/documents.py [--scale 1.0] [--db sqlite|postgres|both] [--repeat 10]

Target: each document in at most 2 s (p95) on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.web import county_main, filled_county, nearest_rank
from server.demo.county import DEMO_PASSWORD
from server.domain.clearance import ItemResultValue
from server.domain.hazards import HazardLevel, HazardState
from server.domain.inspections import InspectionStatus
from server.extensions import current_backend, db
from server.models import Blob, Enterprise, Hazard, HazardSource, Inspection, ItemResult, Photo, Region

TARGET_S = 2.0
HAZARDS = 5
PHOTO_SIZE = (4032, 3024)


def _jpeg(seed: int) -> bytes:
    """A full-size site photo (noise over a gradient: it compresses as a real one does, to a few MB)."""
    rng = random.Random(seed)
    small = Image.effect_noise((PHOTO_SIZE[0] // 8, PHOTO_SIZE[1] // 8), 60).convert("RGB")
    image = small.resize(PHOTO_SIZE, Image.Resampling.BILINEAR)
    pen = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(PHOTO_SIZE[0]), rng.randrange(PHOTO_SIZE[1])
        pen.rectangle(
            (x, y, x + rng.randrange(200, 900), y + rng.randrange(200, 700)), fill=(rng.randrange(256),) * 3
        )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _signature(seed: int) -> bytes:
    """A signature as the tablet's pad saves it: strokes on a white 600×180 PNG."""
    rng = random.Random(seed)
    image = Image.new("L", (600, 180), 255)
    pen = ImageDraw.Draw(image)
    points = [(40 + 40 * n, rng.randrange(30, 150)) for n in range(13)]
    pen.line(points, fill=20, width=4, joint="curve")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _store(data: bytes) -> str:
    """Keep ``data`` in the app's blob store as an upload does; return its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    store = current_backend().blobs
    if not store.has(sha):
        store.append(sha, 0, io.BytesIO(data), len(data))
        store.complete(sha)
    return sha


def prepare(app: Flask) -> tuple[uuid.UUID, dict[str, int]]:
    """The 兴县 submitted inspection with the most hazards, completed to 5 hazards with photos, signatures and
    a seal; returns its id and its counts."""
    with app.app_context():
        session = db.session
        county = session.scalar(sa.select(Region.id).where(Region.code == "141123"))
        hazards_of = (
            sa.select(Inspection.id, sa.func.count(Hazard.id).label("n"))
            .join(Enterprise, Enterprise.id == Inspection.enterprise_id)
            .join(Region, Region.id == Enterprise.region_id)
            .outerjoin(Hazard, Hazard.inspection_id == Inspection.id)
            .where(
                sa.or_(Region.id == county, Region.parent_id == county),
                Inspection.status.in_([InspectionStatus.submitted, InspectionStatus.approved]),
                Inspection.sealed_record.is_(None),
            )
            .group_by(Inspection.id)
            .having(sa.func.count(Hazard.id) <= HAZARDS)
            .order_by(sa.desc("n"), Inspection.id)
            .limit(1)
        )
        inspection_id = session.execute(hazards_of).one()[0]
        inspection = session.get(Inspection, inspection_id)
        assert inspection is not None and inspection.started_at is not None
        results = session.scalars(
            sa.select(ItemResult)
            .where(ItemResult.inspection_id == inspection_id)
            .order_by(ItemResult.item_code)
        ).all()
        hazards = list(session.scalars(sa.select(Hazard).where(Hazard.inspection_id == inspection_id)))
        have = {h.item_code for h in hazards}
        for row in results:
            if len(hazards) >= HAZARDS:
                break
            if row.item_code in have:
                continue
            row.result = ItemResultValue.non_compliant
            row.note = "现场检查发现该项不符合要求，已责令整改。"
            found = inspection.started_at + timedelta(minutes=20 + 5 * len(hazards))
            hazard = Hazard(
                id=uuid.uuid4(), enterprise_id=inspection.enterprise_id, inspection_id=inspection_id,
                source=HazardSource.inspection, item_code=row.item_code, place="生产车间",
                description=f"{row.item_code} 检查项不符合要求：现场设施、制度或记录缺失，存在事故隐患。",
                level=HazardLevel.general, found_at=found, terms={"responsible_person": "王建平"},
                state=HazardState.found, deadline=found.date() + timedelta(days=30), row_version=1,
            )  # fmt: skip
            session.add(hazard)
            hazards.append(hazard)
        session.flush()
        photos = 0
        for number, hazard in enumerate(hazards):
            data = _jpeg(number)
            sha = _store(data)
            if session.get(Blob, sha) is None:
                session.add(Blob(sha256=sha, size=len(data), mime="image/jpeg", width=PHOTO_SIZE[0],
                                 height=PHOTO_SIZE[1], has_thumbnail=False))  # fmt: skip
            session.add(Photo(id=uuid.uuid4(), sha256=sha, size=len(data), mime="image/jpeg", width=PHOTO_SIZE[0],
                              height=PHOTO_SIZE[1], captured_at=hazard.found_at, entity_type="hazard",
                              entity_id=hazard.id, row_version=1))  # fmt: skip
            photos += 1
        finished = inspection.finished_at or inspection.started_at + timedelta(hours=2)
        signers = [(p.role, p.name) for p in inspection.participants if p.role == "inspector"] + [
            ("enterprise_rep", "郝志刚")
        ]
        inspection.signatures = [
            {"role": role, "name": name, "sha256": _store(_signature(n)), "at": finished.isoformat()}
            for n, (role, name) in enumerate(signers)
        ]
        record = {"v": 1, "inspection": {"id": str(inspection_id)}, "results": [
            [r.item_code, r.result.value, r.note] for r in results
        ], "hazards": [{"id": str(h.id), "deadline": h.deadline.isoformat() if h.deadline else None} for h in hazards]}  # fmt: skip
        text = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        inspection.sealed_record = text
        inspection.sealed_sha256 = hashlib.sha256(text.encode()).hexdigest()
        session.commit()
        counts = {"items": len(results), "hazards": len(hazards), "photos": photos,
                  "signatures": len(inspection.signatures)}  # fmt: skip
        session.remove()
    return inspection_id, counts


def time_documents(
    app: Flask, inspection_id: uuid.UUID, repeat: int
) -> list[tuple[str, int, float, list[float]]]:
    """Sign in as xx_sup; per document: status, the first (cold) request and ``repeat`` timed ones."""
    client = app.test_client()
    login = client.post("/api/auth/login", json={"username": "xx_sup", "password": DEMO_PASSWORD})
    assert login.status_code == 200, login.get_json()
    results = []
    for kind in ("record", "order"):
        path = f"/inspections/{inspection_id}/documents/{kind}.pdf"
        seconds = []
        status = 0
        size = 0
        for _ in range(repeat + 1):
            started = time.perf_counter()
            with client.get(path) as response:
                size = len(response.get_data())
                status = response.status_code
            seconds.append(time.perf_counter() - started)
            if status != 200:
                break
        results.append((f"{kind}.pdf ({size // 1024} KiB)", status, seconds[0], seconds[1:]))
    return results


def run(kind: str, scale: float, repeat: int, seed: int) -> None:
    """Fill a fresh database of ``kind`` at ``scale``, prepare the inspection and time both documents."""
    with filled_county(kind, scale, seed) as (app, _summary):
        inspection_id, counts = prepare(app)
        print("  inspection " + str(inspection_id) + ": " + ", ".join(f"{n} {k}" for k, n in counts.items()))
        print(
            f"  {'document':<28} {'status':>6} {'first s':>8} {'p50 s':>7} {'p95 s':>7}  target ≤ {TARGET_S:.0f} s"
        )
        for label, status, first, seconds in time_documents(app, inspection_id, repeat):
            if status != 200 or not seconds:
                print(f"  {label:<28} {status:>6} {first:8.2f} {'—':>7} {'—':>7}  not timed")
                continue
            p50, p95 = statistics.median(seconds), nearest_rank(seconds, 0.95)
            verdict = "ok" if max(p95, first) <= TARGET_S else "SLOW"
            print(f"  {label:<28} {status:>6} {first:8.2f} {p50:7.2f} {p95:7.2f}  {verdict}")


def main() -> int:
    """Parse the flags and run on the databases asked for."""
    return county_main(__doc__ or "", run, repeat=10, what="document")


if __name__ == "__main__":
    raise SystemExit(main())

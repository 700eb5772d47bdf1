"""An inspector's simulated day (inspections, hazards, photos) and the ``python -m sync.client`` command."""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import io
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sync.client.outbox import Outbox, _now
from sync.client.sync_client import SyncClient
from sync.client.transport import SyncError, Transport, UrllibTransport

# --- simulation ------------------------------------------------------------------------------------------

#: Colleagues who may accompany the signed-in inspector (an inspection needs two inspectors).
INSPECTORS = (("张建国", "14112301001"), ("刘晓燕", "14112301002"), ("王志强", "14112301003"),
              ("李红梅", "14112301004"), ("赵永刚", "14112301005"), ("陈海燕", "14112301006"))  # fmt: skip
PLACES = ("炼钢车间", "砂光车间", "铸造车间", "除尘器房", "液氨储罐区", "配电室", "原料库", "煤气柜区域")
MEASURES = ("立即停止相关作业，加装安全防护设施", "制定整改方案，落实专人负责", "完善操作规程并组织全员培训",
            "更换老化设备，委托有资质单位检测")  # fmt: skip
RESPONSIBLE = ("王建平", "孙立新", "周国庆", "吴淑芬")
CHINA_TIME = timezone(timedelta(hours=8))
#: Where the demo county is, for enterprises without coordinates.
DEFAULT_POSITION = (38.47, 111.15)

# A valid 8×8 grey JPEG, used when Pillow is not installed (a comment segment makes each one unique).
_TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hn"
    "Pk1xeXBkeFxlZ2P/wAALCAAIAAgBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AP//Z"
)


def item_applies(rule: Mapping[str, Any] | None, sectors: Iterable[str], dust_workers: int | None) -> bool:
    """Whether a catalogue item's ``applies_when`` covers an enterprise (an unknown worker count applies)."""
    rule = rule or {}
    wanted = set(rule.get("sectors_any") or ())
    if wanted and not wanted & set(sectors):
        return False
    minimum = rule.get("min_dust_workers")
    return minimum is None or dust_workers is None or dust_workers >= minimum


def applicable_items(catalogue: Mapping[str, Any], enterprise: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The items of a replicated catalogue that apply to a replicated enterprise, in catalogue order."""
    sectors = enterprise.get("sectors") or []
    workers = enterprise.get("dust_workers")
    return [
        dict(i) for i in catalogue.get("items") or [] if item_applies(i.get("applies_when"), sectors, workers)
    ]


def current_catalogue(rows: Sequence[Mapping[str, Any]], today: date) -> Mapping[str, Any] | None:
    """The replicated catalogue row in force on ``today`` (the highest version), else the highest version."""

    def in_force(row: Mapping[str, Any]) -> bool:
        data = row["data"] or {}
        start, end = data.get("effective_from"), data.get("effective_to")
        return (not start or str(start) <= today.isoformat()) and (not end or str(end) >= today.isoformat())

    candidates = [r for r in rows if in_force(r)] or list(rows)
    return max(candidates, key=lambda r: (r["data"] or {}).get("version") or 0, default=None)


def make_jpeg(
    rng: random.Random,
    label: str,
    taken_at: datetime,
    size: tuple[int, int] = (1024, 768),
    position: tuple[float, float] | None = None,
) -> bytes:
    """A unique, valid JPEG standing in for a site photo, with EXIF time (and GPS) like a camera's.

    Made with Pillow when it is installed; else a tiny fixed image made unique by a comment segment.
    """
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        comment = f"{label} {taken_at.isoformat()} {rng.getrandbits(64):016x}".encode()
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        return _TINY_JPEG[:2] + segment + _TINY_JPEG[2:]
    width, height = size
    image = Image.new("RGB", size, (rng.randrange(40, 200), rng.randrange(40, 200), rng.randrange(40, 200)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        box = (x0, y0, min(width, x0 + rng.randrange(20, 200)), min(height, y0 + rng.randrange(20, 150)))
        draw.rectangle(box, fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    # Seeded grain: flat shapes alone compress to a few kB, far smaller than a site photo.
    grain = Image.frombytes("L", size, rng.randbytes(width * height)).convert("RGB")
    image = Image.blend(image, grain, 0.15)
    local = taken_at.astimezone(CHINA_TIME)
    ImageDraw.Draw(image).text((10, 10), f"{label} {local:%Y-%m-%d %H:%M:%S}", fill=(255, 255, 255))
    exif = Image.Exif()
    exif[0x010F] = "sync.client"  # Make
    exif[0x0110] = "simulate"  # Model
    details = exif.get_ifd(0x8769)  # Exif IFD
    details[0x9003] = local.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal, local time as cameras write it
    details[0x9011] = "+08:00"  # OffsetTimeOriginal
    if position is not None:
        gps = exif.get_ifd(0x8825)
        lat, lon = position
        gps[1], gps[2] = ("N" if lat >= 0 else "S"), _dms(abs(lat))
        gps[3], gps[4] = ("E" if lon >= 0 else "W"), _dms(abs(lon))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


def _dms(degrees: float) -> tuple[float, float, float]:
    """Degrees as EXIF's (degrees, minutes, seconds)."""
    whole = int(degrees)
    minutes = (degrees - whole) * 60
    return float(whole), float(int(minutes)), round((minutes - int(minutes)) * 60, 4)


@dataclass
class SimulatedInspection:
    """What simulate_inspection put in the outbox."""

    inspection_id: str
    mutations: int
    items: int
    hazards: int
    photos: list[str]
    photo_bytes: int


def _new_id() -> str:
    # Ids stay random even with a seed: a rerun against the same server must not collide with old records.
    return str(uuid.uuid4())


def simulate_inspection(
    outbox: Outbox,
    enterprise: Mapping[str, Any],
    catalogue: Mapping[str, Any],
    *,
    rng: random.Random,
    photo_dir: Path,
    photos_per_hazard: int = 1,
    me: Mapping[str, Any] | None = None,
    non_compliant_rate: float = 0.15,
    now: datetime | None = None,
    photo_size: tuple[int, int] = (1024, 768),
) -> SimulatedInspection:
    """Record a whole inspection as a tablet would: header, answers, hazards with photos, then the submit.

    ``enterprise`` and ``catalogue`` are replica rows. Every applicable item is answered; at least one is
    non-compliant (so each inspection exercises hazards and photos), each non-compliant one gets a hazard
    at the item's default level and ``photos_per_hazard`` photos.
    """
    finished = now or _now()
    started = finished - timedelta(minutes=rng.randrange(40, 180))
    data, catalogue_data = enterprise["data"] or {}, catalogue["data"] or {}
    lat, lon = data.get("lat") or DEFAULT_POSITION[0], data.get("lon") or DEFAULT_POSITION[1]
    items = applicable_items(catalogue_data, data)
    if not items:
        raise ValueError(f"no catalogue item applies to {data.get('name')}")
    colleagues = rng.sample(INSPECTORS, 2)
    lead = {"role": "inspector", "user_id": me.get("id"), "name": me.get("display_name") or colleagues[0][0],
            "badge_no": me.get("badge_no") or colleagues[0][1]} if me else \
        {"role": "inspector", "name": colleagues[0][0], "badge_no": colleagues[0][1]}  # fmt: skip
    second = next(c for c in colleagues if c[0] != lead["name"])
    inspection_id = _new_id()
    seqs = [outbox.add("inspection", inspection_id, {
        "enterprise_id": enterprise["id"], "catalogue_id": catalogue["id"], "kind": "unannounced",
        "started_at": started, "start_lat": round(lat + rng.uniform(-2e-4, 2e-4), 6),
        "start_lon": round(lon + rng.uniform(-2e-4, 2e-4), 6), "start_accuracy_m": round(rng.uniform(4, 25), 1),
        "participants": [lead, {"role": "inspector", "name": second[0], "badge_no": second[1]}],
    }, at=started)]  # fmt: skip
    failing = {i["code"] for i in items if rng.random() < non_compliant_rate} or {rng.choice(items)["code"]}
    step = (finished - started) / (len(items) + 2)
    for index, item in enumerate(items, 1):
        answered = started + step * index
        bad = item["code"] in failing
        seqs.append(outbox.add("item_result", _new_id(), {
            "inspection_id": inspection_id, "item_code": item["code"],
            "result": "non_compliant" if bad else "compliant",
            "note": "现场检查发现问题，已拍照取证" if bad else "现场查看，符合要求", "answered_at": answered,
        }, at=answered))  # fmt: skip
    photos: list[str] = []
    photo_bytes = 0
    photo_dir.mkdir(parents=True, exist_ok=True)
    for item in (i for i in items if i["code"] in failing):
        hazard_id = _new_id()
        found = started + step * (len(items) + 1)
        seqs.append(outbox.add("hazard", hazard_id, {
            "enterprise_id": enterprise["id"], "inspection_id": inspection_id, "item_code": item["code"],
            "description": f"检查发现：{item.get('text') or item['code']}", "level": item.get("default_level") or "general",
            "found_at": found, "deadline": (found + timedelta(days=30)).date(), "place": rng.choice(PLACES),
            "terms": {"responsible_person": rng.choice(RESPONSIBLE), "measures": rng.choice(MEASURES)},
        }, at=found))  # fmt: skip
        for number in range(photos_per_hazard):
            taken = found + timedelta(seconds=20 * (number + 1))
            where = (round(lat + rng.uniform(-3e-4, 3e-4), 6), round(lon + rng.uniform(-3e-4, 3e-4), 6))
            jpeg = make_jpeg(rng, f"{item['code']} {hazard_id[:8]} #{number + 1}", taken, photo_size, where)
            sha = hashlib.sha256(jpeg).hexdigest()
            file = photo_dir / f"{sha}.jpg"
            file.write_bytes(jpeg)
            outbox.add_blob(file)
            photos.append(sha)
            photo_bytes += len(jpeg)
            seqs.append(outbox.add("photo", _new_id(), {
                "sha256": sha, "entity_type": "hazard", "entity_id": hazard_id, "captured_at": taken,
                "lat": where[0], "lon": where[1], "accuracy_m": round(rng.uniform(3, 15), 1), "mime": "image/jpeg",
                "size": len(jpeg), "width": photo_size[0], "height": photo_size[1],
            }, at=taken))  # fmt: skip
    seqs.append(outbox.add("inspection", inspection_id, {
        "status": "submitted", "finished_at": finished, "end_lat": round(lat + rng.uniform(-2e-4, 2e-4), 6),
        "end_lon": round(lon + rng.uniform(-2e-4, 2e-4), 6), "end_accuracy_m": round(rng.uniform(4, 25), 1),
    }, at=finished))  # fmt: skip
    return SimulatedInspection(inspection_id, len(seqs), len(items), len(failing), photos, photo_bytes)


def submits_inspection(mutation: Mapping[str, Any]) -> bool:
    """Whether a mutation submits an inspection: the end of the record, where a push had best end (cut_batch)."""
    data = mutation.get("data")
    return (
        mutation.get("entity") == "inspection"
        and isinstance(data, Mapping)
        and data.get("status") == "submitted"
    )


TransportFactory = Callable[[str, float], Transport]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sync.client", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sim = commands.add_parser("simulate", help="register, pull, record inspections with photos, sync, report")
    sim.add_argument("--base-url", required=True, help="the server, e.g. http://127.0.0.1:8000")
    sim.add_argument("--username", required=True)
    sim.add_argument("--password", default=os.environ.get("SYNC_PASSWORD"),
                     help="the user's password (default: $SYNC_PASSWORD)")  # fmt: skip
    sim.add_argument("--inspections", type=int, default=1, metavar="N")
    sim.add_argument("--photos-per-hazard", type=int, default=1, metavar="K")
    sim.add_argument(
        "--state", type=Path, help="the device's SQLite file, kept between runs (default: temporary)"
    )
    sim.add_argument("--seed", type=int, help="seed for choices, photos and backoff jitter")
    sim.add_argument("--label", default="sync.client simulate", help="the device label shown to admins")
    sim.add_argument("--non-compliant-rate", type=float, default=0.15)
    sim.add_argument("--batch-size", type=int, default=100)
    sim.add_argument("--chunk-size", type=int, default=256 * 1024)
    sim.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request")
    return parser


def main(argv: Sequence[str] | None = None, *, transport_factory: TransportFactory | None = None) -> int:
    """Run the command line; ``transport_factory(base_url, timeout)`` lets tests talk to an in-process app."""
    args = _parser().parse_args(argv)
    if not args.password:
        print("error: --password (or $SYNC_PASSWORD) is required", file=sys.stderr)
        return 2
    if args.inspections < 0 or args.photos_per_hazard < 0:
        print("error: --inspections and --photos-per-hazard must not be negative", file=sys.stderr)
        return 2
    factory: TransportFactory = transport_factory or UrllibTransport
    with contextlib.ExitStack() as stack:
        if args.state is None:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sync-simulate-")))
            state, photo_dir = scratch / "device.sqlite3", scratch / "photos"
        else:
            state, photo_dir = args.state, args.state.with_name(args.state.name + ".photos")
        transport = factory(args.base_url, args.timeout)
        if isinstance(transport, contextlib.AbstractContextManager):
            stack.enter_context(transport)
        outbox = stack.enter_context(Outbox(state))
        try:
            return _simulate(args, transport, outbox, photo_dir)
        except (SyncError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    raise AssertionError("unreachable")


def _simulate(args: argparse.Namespace, transport: Transport, outbox: Outbox, photo_dir: Path) -> int:
    started = time.monotonic()
    rng = random.Random(args.seed)
    client = SyncClient(
        transport, outbox, rng=random.Random(rng.getrandbits(64)), batch_end=submits_inspection
    )
    if not outbox.token:
        client.register(args.username, args.password, args.label)
    client.pull()
    enterprises = outbox.replica("enterprise")
    catalogue = current_catalogue(outbox.replica("catalogue"), _now().date())
    if not enterprises or catalogue is None:
        print("error: the replica holds no enterprise or no catalogue for this user", file=sys.stderr)
        return 1
    made: list[SimulatedInspection] = []
    for _ in range(args.inspections):
        enterprise = rng.choice(enterprises)
        made.append(simulate_inspection(
            outbox, enterprise, catalogue, rng=rng, photo_dir=photo_dir, photos_per_hazard=args.photos_per_hazard,
            me=outbox.user, non_compliant_rate=args.non_compliant_rate,
        ))  # fmt: skip
    summary = client.sync(batch_size=args.batch_size, chunk_size=args.chunk_size)
    report = {
        "device_id": outbox.device_id,
        "inspections": len(made),
        "mutations": sum(m.mutations for m in made),
        "hazards": sum(m.hazards for m in made),
        "photos": sum(len(m.photos) for m in made),
        "photo_bytes": sum(m.photo_bytes for m in made),
        "blobs_uploaded": summary.uploaded,
        "applied": summary.push.applied,
        "duplicate": summary.push.duplicate,
        "quarantined": summary.push.quarantined,
        "pending": outbox.pending_count(),
        "blobs_pending": len(outbox.blobs_to_upload()),
        "pulled": summary.pulled,
        "requests": client.requests,
        "bytes_sent": client.bytes_sent,
        "bytes_received": client.bytes_received,
        "retries": client.retries,
        "seconds": round(time.monotonic() - started, 3),
    }
    print(json.dumps(report, ensure_ascii=False))
    for problem in summary.push.problems:
        print(
            f"seq {problem['seq']}: {problem['status']} {problem['code']} {problem['message']}",
            file=sys.stderr,
        )
    clean = not summary.push.quarantined and not report["pending"] and not report["blobs_pending"]
    return 0 if clean else 1

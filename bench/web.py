"""The supervisor web at county scale: server time of the pages supervisors open every day.

Fills a freshly migrated, demo-seeded database with a county's campaign (at ``--scale 1``: 2,000
enterprises, 10,000 inspections with 2 inspectors each, 250,000 item results, 20,000 hazards with their
event logs, 100,000 photo records, a share of them with blobs) by bulk Core inserts, then signs in as the
兴县 supervisor (``xx_sup``, whose county holds three quarters of the data) and as the 吕梁市 city
supervisor (``ll_city``) and times each page through Flask's test client in this process — server time
only, no network: warm-up requests, then ``--repeat`` timed ones, p50 and nearest-rank p95.

    .venv/bin/python bench/web.py [--scale 1.0] [--db sqlite|postgres|both] [--repeat 30]

Pages: /dashboard; /hazards filtered and paged (level, state, overdue, page 50); /inspections; the review
page of the inspection with the most photos; the page of the enterprise with the most inspections; also
/enterprises and the hazard page with the longest event log. ``fill_county()`` is importable (a test runs it
at 1 % scale); it is deterministic for a given seed and day.
Target: p95 ≤ 300 ms on SQLite and on PostgreSQL. A page that answers other than 200 (not written yet,
say) is reported with its status and not timed. On PostgreSQL the tables are ANALYZEd after the fill, as
autovacuum would do within a minute of such a load; SQLite gets no statistics (a plain deployment has none).
PostgreSQL is ``BENCH_DATABASE_URL`` or postgresql+psycopg://postgres@127.0.0.1:5432/test; a scratch
database is created beside it and dropped afterwards.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import math
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import fresh_database, postgres_available, seeded_app
from server.demo.county import DEMO_PASSWORD
from server.domain.credit_code import make_credit_code
from server.domain.hazards import FIVE_IN_PLACE, HazardEventKind, HazardLevel, HazardState
from server.extensions import db
from server.models import (
    Blob,
    Campaign,
    CampaignPhase,
    Catalogue,
    CatalogueItem,
    ChangeCounter,
    Device,
    Enterprise,
    Hazard,
    HazardEvent,
    Inspection,
    InspectionParticipant,
    ItemResult,
    Photo,
    Region,
    ReviewDecision,
    User,
)
from server.models.enterprise import SECTOR_COLUMNS

#: Row counts at scale 1 (item results follow: one per key item of each inspection).
COUNTS = {"enterprises": 2000, "inspections": 10000, "hazards": 20000, "photos": 100000}
CHUNK = 5000
TARGET_MS = 300.0
WARM_UP = 3

# Where the enterprises are: (region code, share, centre lat, centre lon).
_PLACES = [
    ("141123", 0.40, 38.4622, 111.1221),
    ("141123-Z1", 0.20, 38.4390, 111.1540),
    ("141123-Z2", 0.15, 38.5210, 111.0660),
    ("141124", 0.25, 37.9590, 110.9920),
]
_COUNTY_NAMES = {"141123": "兴县", "141124": "临县"}
_BRANDS = "晋兴蔚汾恒通鑫源华泰宏达盛世国新永安瑞丰金泰博远鼎盛精工昌隆湫水碛口黄河吕梁"
_TOWNS = [
    "蔚汾镇",
    "魏家滩镇",
    "瓦塘镇",
    "康宁镇",
    "高家村镇",
    "蔡家会镇",
    "固贤乡",
    "奥家湾乡",
    "城庄镇",
    "临泉镇",
]
_SURNAMES = "王李张刘陈杨赵黄周吴郝马高孙"
_GIVEN = ["建平", "文华", "国强", "海军", "秀英", "志刚", "晓燕", "俊峰", "丽萍", "永红"]
# Primary sector → (weight, what the name says).
_PRIMARY = {
    "steel": (0.25, ["钢铁", "特钢", "铸钢", "炉料"]),
    "aluminium_casting": (0.25, ["铝业", "铝型材", "铝合金", "铝棒"]),
    "dust_explosion": (0.35, ["面粉", "木业", "饲料", "金属抛光", "粮油"]),
    "ammonia_refrigeration": (0.15, ["冷链物流", "冷冻食品", "冷藏储运"]),
}
_KINDS = [("county", 0.30), ("unannounced", 0.35), ("look_back", 0.35)]
_STATUSES = [("approved", 0.55), ("submitted", 0.35), ("returned", 0.05), ("draft", 0.05)]
# Hazard state → its events after 'found' (listed hazards get 'listed' right after 'found').
_STATE_EVENTS = {
    HazardState.found: [],
    HazardState.planned: [HazardEventKind.rectification_planned],
    HazardState.reported: [HazardEventKind.rectification_planned, HazardEventKind.rectification_reported],
    HazardState.accepted: [
        HazardEventKind.rectification_planned,
        HazardEventKind.rectification_reported,
        HazardEventKind.accepted,
    ],
    HazardState.closed: [
        HazardEventKind.rectification_planned,
        HazardEventKind.rectification_reported,
        HazardEventKind.accepted,
        HazardEventKind.closed,
    ],
}
_STATE_SHARES = [
    (HazardState.found, 0.30),
    (HazardState.planned, 0.20),
    (HazardState.reported, 0.15),
    (HazardState.accepted, 0.15),
    (HazardState.closed, 0.20),
]


@dataclass
class FillSummary:
    """What fill_county() wrote, and the rows worth opening a page for."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: The 兴县 inspection with the most photos (its review page) and the 兴县 enterprise inspected most.
    review_inspection_id: uuid.UUID | None = None
    busy_enterprise_id: uuid.UUID | None = None
    busy_enterprise_inspections: int = 0
    review_inspection_photos: int = 0
    #: A 兴县 hazard with the longest event log.
    detail_hazard_id: uuid.UUID | None = None


class _Site(NamedTuple):
    """An enterprise as later tables need it."""

    id: uuid.UUID
    county: str
    lat: float
    lon: float


class _Visit(NamedTuple):
    """An inspection as later tables need it."""

    id: uuid.UUID
    enterprise: int
    county: str
    started: datetime
    finished: datetime | None
    submitted: datetime | None
    decided: datetime | None
    status: str
    author: int
    partner: int


#: The order of the P-256 group: a private key is a number below it.
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class _Writer:
    """Bulk inserts in chunks, numbering the synced rows' change_no in insert order."""

    def __init__(self, conn: sa.Connection, first_change_no: int) -> None:
        self.conn = conn
        self.change_no = first_change_no
        self.rows: dict[str, int] = {}

    def next_change(self) -> int:
        """The next change number."""
        self.change_no += 1
        return self.change_no

    def insert(self, model: Any, rows: Iterable[dict[str, Any]]) -> None:
        """Insert ``rows`` into ``model``'s table, CHUNK at a time (executemany)."""
        table: sa.Table = model.__table__
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                self._flush(table, batch)
                batch = []
        if batch:
            self._flush(table, batch)

    def _flush(self, table: sa.Table, batch: list[dict[str, Any]]) -> None:
        if table.name not in self.rows:
            _check_required(table, batch[0])
        self.conn.execute(sa.insert(table), batch)
        self.rows[table.name] = self.rows.get(table.name, 0) + len(batch)


def _check_required(table: sa.Table, row: dict[str, Any]) -> None:
    """Fail early when a row leaves out a NOT NULL column that has no server default (Core skips the ORM)."""
    missing = [
        c.name
        for c in table.columns
        if not c.nullable
        and c.server_default is None
        and c.name not in row
        and not (c.primary_key and isinstance(c.type, sa.Integer))
    ]
    if missing:
        raise ValueError(f"{table.name}: rows lack NOT NULL columns {missing}")


def _weighted(rng: random.Random, pairs: list[tuple[Any, float]]) -> Any:
    """One value of ``pairs`` drawn by weight."""
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _midnight(day: date) -> datetime:
    """00:00 UTC of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _window(conn: sa.Connection, today: date) -> tuple[date, date]:
    """The county-coverage phase's days before ``today`` (a year earlier if the phase has not begun)."""
    phase = conn.execute(
        sa.select(CampaignPhase.starts_on, CampaignPhase.ends_on)
        .join(Campaign, Campaign.id == CampaignPhase.campaign_id)
        .where(CampaignPhase.code == "county_coverage")
        .order_by(CampaignPhase.starts_on.desc())
    ).first()
    start, end = (phase[0], phase[1]) if phase else (today - timedelta(days=150), today - timedelta(days=60))
    while start >= today - timedelta(days=7):
        start, end = start.replace(year=start.year - 1), end.replace(year=end.year - 1)
    return start, min(end, today - timedelta(days=2))


def fill_county(
    target: Any,
    scale: float = 1.0,
    seed: int = 20260601,
    today: date | None = None,
    counts: dict[str, int] | None = None,
) -> FillSummary:
    """Fill a migrated, demo-seeded database with a county's campaign at ``scale`` (deterministic per ``seed``).

    ``target`` is an Engine (one transaction, committed), a Connection or a Session (the caller commits).
    ``counts`` replaces the row counts at scale 1 (COUNTS), e.g. a province's (bench/province.py)."""
    if isinstance(target, sa.Engine):
        with target.begin() as conn:
            return fill_county(conn, scale, seed, today, counts)
    conn = target if isinstance(target, sa.Connection) else target.connection()
    started = time.perf_counter()
    summary = _Filler(conn, scale, seed, today or date.today(), counts).run()
    summary.seconds = time.perf_counter() - started
    return summary


class _Filler:
    """One fill: reads what the demo seed made, then writes every table in dependency order."""

    def __init__(
        self, conn: sa.Connection, scale: float, seed: int, today: date, counts: dict[str, int] | None = None
    ) -> None:
        self.conn = conn
        self.rng = random.Random(seed)
        self.today = today
        self.ref = _midnight(today)
        self.n = {name: max(1, round(count * scale)) for name, count in (counts or COUNTS).items()}
        counter = conn.scalar(sa.select(ChangeCounter.value).where(ChangeCounter.id == 1)) or 0
        self.out = _Writer(conn, int(counter))
        self.window = _window(conn, today)
        regions = dict(conn.execute(sa.select(Region.code, Region.id)).all())
        self.region_ids = {code: regions[code] for code, *_ in _PLACES}
        users = conn.execute(
            sa.select(User.id, User.username, User.display_name, User.badge_no, User.role, Region.code)
            .join(Region, Region.id == User.region_id)
            .order_by(User.username)
        ).all()
        self.inspectors = {
            county: [u for u in users if u.role == "inspector" and u.code == county]
            for county in _COUNTY_NAMES
        }
        self.supervisors = {
            county: next(u.id for u in users if u.role == "supervisor" and u.code == county)
            for county in _COUNTY_NAMES
        }
        catalogue = conn.execute(
            sa.select(Catalogue.id).order_by(Catalogue.effective_from.desc(), Catalogue.version.desc())
        ).first()
        if catalogue is None or not all(self.inspectors.values()):
            raise RuntimeError("fill_county needs the demo seed (catalogue, regions, users) first")
        self.catalogue_id = catalogue[0]
        self.items = conn.execute(
            sa.select(CatalogueItem.code, CatalogueItem.default_level, CatalogueItem.text)
            .where(CatalogueItem.catalogue_id == self.catalogue_id, CatalogueItem.section == "key")
            .order_by(CatalogueItem.ordinal)
        ).all()
        self.n["item_results"] = self.n["inspections"] * len(self.items)
        self.n["hazards"] = min(self.n["hazards"], self.n["item_results"])
        # Filled as the tables are written, for the tables that follow.
        self.enterprises: list[_Site] = []
        self.inspections: list[_Visit] = []
        self.item_ids: list[uuid.UUID] = []
        self.hazards: list[tuple[uuid.UUID, int, datetime, int]] = []  # id, inspection number, found, events
        #: Each inspection's answers as its tablet seals them: [code, result, note].
        self.answers: dict[uuid.UUID, list[list[Any]]] = {}
        self.sealed_hazards: dict[uuid.UUID, list[dict[str, Any]]] = {}

    def uid(self) -> uuid.UUID:
        """A random (seeded) version-4 UUID."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def sync_columns(self, at: datetime | None = None, version: int = 1) -> dict[str, Any]:
        """SyncMixin columns, plus TimestampMixin ones when ``at`` (the last write) is given."""
        row: dict[str, Any] = {
            "row_version": version,
            "change_no": self.out.next_change(),
            "deleted_at": None,
        }
        if at is not None:
            row["created_at"] = row["updated_at"] = at
        return row

    def run(self) -> FillSummary:
        """Write every table, then move the change counter past the numbers used."""
        self.out.insert(Enterprise, self._enterprises())
        self.out.insert(Inspection, self._inspections())
        self.out.insert(InspectionParticipant, self._participants())
        self.out.insert(ReviewDecision, self._decisions())
        flats = sorted(self.rng.sample(range(self.n["item_results"]), self.n["hazards"]))
        self.out.insert(ItemResult, self._item_results(set(flats)))
        events: list[dict[str, Any]] = []
        self.out.insert(Hazard, self._kept_for_seal(self._hazards(flats, events)))
        self._seal()
        self.out.insert(HazardEvent, events)
        blobs: list[dict[str, Any]] = []
        photo_counts: Counter[int] = Counter()
        self.out.insert(Photo, self._photos(blobs, photo_counts))
        self.out.insert(Blob, blobs)
        self.conn.execute(
            sa.update(ChangeCounter).where(ChangeCounter.id == 1).values(value=self.out.change_no)
        )
        summary = FillSummary(rows=dict(self.out.rows))
        self._pick_pages(summary, photo_counts)
        return summary

    def _enterprises(self) -> Iterator[dict[str, Any]]:
        """Enterprises over 兴县 (three quarters, zones included) and 临县, with random sector flags."""
        rng = self.rng
        names: set[str] = set()
        created = self.ref - timedelta(days=200)
        for index in range(self.n["enterprises"]):
            code, _, lat0, lon0 = _weighted(rng, [(p, p[1]) for p in _PLACES])
            county = code[:6]
            primary = _weighted(rng, [(k, v[0]) for k, v in _PRIMARY.items()])
            sectors = {primary}
            for extra, share in (
                ("confined_space", 0.4),
                ("hazardous_work", 0.4),
                ("major_hazard_source", 0.1),
            ):
                if rng.random() < share:
                    sectors.add(extra)
            if primary == "steel" and rng.random() < 0.6:
                sectors.add("gas_area")
            if primary != "dust_explosion" and rng.random() < 0.1:
                sectors.add("dust_explosion")
            brand = rng.choice(_BRANDS) + rng.choice(_BRANDS)
            name = f"{_COUNTY_NAMES[county]}{brand}{rng.choice(_PRIMARY[primary][1])}有限公司"
            while name in names:
                name = name.replace("有限公司", f"有限公司第{rng.randrange(2, 99)}分厂")
            names.add(name)
            lat = round(lat0 + rng.uniform(-0.05, 0.05), 6)
            lon = round(lon0 + rng.uniform(-0.06, 0.06), 6)
            row = {
                "id": self.uid(), "name": name, "region_id": self.region_ids[code], "lat": lat, "lon": lon,
                "credit_code": make_credit_code("9", "1", county, f"MB{index:06d}"),
                "address": f"山西省吕梁市{_COUNTY_NAMES[county]}{rng.choice(_TOWNS)}工业路{rng.randrange(1, 200)}号",
                "dust_workers": rng.randrange(3, 40) if "dust_explosion" in sectors else None,
                "main_person": rng.choice(_SURNAMES) + rng.choice(_GIVEN),
                "main_person_phone": f"0358-6{rng.randrange(100000, 999999)}",
                "established_on": date(1995 + rng.randrange(28), rng.randrange(1, 13), rng.randrange(1, 29)),
                "qr_token": None, **self.sync_columns(created),
            }  # fmt: skip
            for sector, column in SECTOR_COLUMNS.items():
                row[column] = sector.value in sectors
            self.enterprises.append(_Site(row["id"], county, lat, lon))
            yield row

    def _kept_for_seal(self, hazards: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Pass the hazard rows on, keeping each as its inspection's tablet seals it."""
        for row in hazards:
            self.sealed_hazards.setdefault(row["inspection_id"], []).append({
                "id": str(row["id"]), "item_code": row["item_code"], "level": row["level"],
                "description": row["description"], "deadline": row["terms"]["deadline"],
            })  # fmt: skip
            yield row

    def _seal(self) -> None:
        """Seal every submitted inspection as its author's tablet does (server.services.seal's canonical record,
        signed with the tablet's P-256 key), so that the figures count them as they count synced ones."""
        keys: dict[int, ec.EllipticCurvePrivateKey] = {}
        devices: dict[int, uuid.UUID] = {}
        rows: list[dict[str, Any]] = []
        for author in sorted({v.author for v in self.inspections}):
            keys[author] = ec.derive_private_key(self.rng.randrange(1, _P256_ORDER), ec.SECP256R1())
            devices[author] = self.uid()
            numbers = keys[author].public_key().public_numbers()
            rows.append({
                "id": devices[author], "user_id": author, "token_hash": f"{self.rng.getrandbits(256):064x}",
                "public_key_jwk": {"kty": "EC", "crv": "P-256", "x": _b64url(numbers.x.to_bytes(32, "big")),
                                   "y": _b64url(numbers.y.to_bytes(32, "big"))},
                "label": "基准测试平板", "user_agent": None, "created_at": self.ref - timedelta(days=400),
                "last_seen_at": self.ref, "last_seq": 0, "revoked_at": None, "revoked_by_id": None,
            })  # fmt: skip
        self.out.insert(Device, rows)
        table = Inspection.__table__
        update = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values(device_id=sa.bindparam("b_device"), sealed_record=sa.bindparam("b_record"),
                    sealed_sha256=sa.bindparam("b_sha"), device_signature=sa.bindparam("b_signature"),
                    seal_verified=True)
        )  # fmt: skip
        batch: list[dict[str, Any]] = []
        for visit in self.inspections:
            if visit.submitted is None:
                continue
            hazards = sorted(self.sealed_hazards.get(visit.id, []), key=lambda h: h["id"])
            record = {"v": 1, "inspection": {"id": str(visit.id)}, "results": sorted(self.answers.get(visit.id, [])),
                      "hazards": hazards, "photos": []}  # fmt: skip
            data = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
                "utf-8"
            )
            r, s_ = decode_dss_signature(keys[visit.author].sign(data, ec.ECDSA(hashes.SHA256())))
            batch.append({
                "b_id": visit.id, "b_device": devices[visit.author], "b_record": data.decode("utf-8"),
                "b_sha": hashlib.sha256(data).hexdigest(), "b_signature": _b64url(r.to_bytes(32, "big") + s_.to_bytes(32, "big")),
            })  # fmt: skip
            if len(batch) >= CHUNK:
                self.conn.execute(update, batch)
                batch = []
        if batch:
            self.conn.execute(update, batch)

    def _inspections(self) -> Iterator[dict[str, Any]]:
        """Every enterprise covered once (county), the rest spread unevenly, as real attention is."""
        rng = self.rng
        n_ent = len(self.enterprises)
        weights = [min(rng.paretovariate(1.3), 40.0) for _ in range(n_ent)]
        extra = max(0, self.n["inspections"] - n_ent)
        targets = list(range(min(n_ent, self.n["inspections"]))) + rng.choices(range(n_ent), weights, k=extra)
        first_day, last_day = self.window
        days = (last_day - first_day).days + 1
        for position, enterprise in enumerate(targets):
            site = self.enterprises[enterprise]
            team = self.inspectors[site.county]
            kind = "county" if position < n_ent else _weighted(rng, _KINDS)
            status = _weighted(rng, _STATUSES)
            day = first_day + timedelta(days=rng.randrange(days))
            started = _midnight(day) + timedelta(minutes=30 + rng.randrange(450))  # 08:30–16:00 in China
            finished = None if status == "draft" else started + timedelta(minutes=rng.randrange(90, 240))
            received = started + timedelta(minutes=rng.randrange(1, 30))
            submitted = finished + timedelta(minutes=rng.randrange(1, 600)) if finished else None
            decided = None
            if status in ("approved", "returned") and submitted is not None:
                decided = min(
                    submitted + timedelta(hours=rng.randrange(2, 96)), self.ref - timedelta(minutes=5)
                )
            author, partner = rng.sample(range(len(team)), 2)
            visit = _Visit(self.uid(), enterprise, site.county, started, finished, submitted, decided, status,
                           team[author].id, team[partner].id)  # fmt: skip
            self.inspections.append(visit)
            last_write = decided or submitted or received
            yield {
                "id": visit.id, "enterprise_id": site.id, "catalogue_id": self.catalogue_id, "kind": kind,
                "status": status, "created_by_id": visit.author, "device_id": None,
                "started_at": started, "finished_at": finished, "received_at": received,
                "submitted_received_at": submitted,
                "start_lat": site.lat + rng.uniform(-4e-4, 4e-4), "start_lon": site.lon + rng.uniform(-5e-4, 5e-4),
                "start_accuracy_m": round(rng.uniform(4, 35), 1),
                "end_lat": site.lat + rng.uniform(-4e-4, 4e-4) if finished else None,
                "end_lon": site.lon + rng.uniform(-5e-4, 5e-4) if finished else None,
                "end_accuracy_m": round(rng.uniform(4, 35), 1) if finished else None,
                "signatures": [], "sealed_sha256": None, "device_signature": None, "sealed_record": None,
                "seal_verified": None, "seal_problem": None, "corrects_id": None,
                "summary_note": "检查发现的问题已当场告知企业主要负责人" if rng.random() < 0.3 else None,
                **self.sync_columns(received, 1 if submitted is None else 2), "updated_at": last_write,
            }  # fmt: skip

    def _participants(self) -> Iterator[dict[str, Any]]:
        """Two inspectors per inspection (the author first), with their names and badge numbers."""
        people = {u.id: u for team in self.inspectors.values() for u in team}
        for visit in self.inspections:
            for ordinal, user_id in enumerate((visit.author, visit.partner)):
                user = people[user_id]
                yield {"inspection_id": visit.id, "ordinal": ordinal, "role": "inspector", "user_id": user_id,
                       "name": user.display_name, "badge_no": user.badge_no}  # fmt: skip

    def _decisions(self) -> Iterator[dict[str, Any]]:
        """The county supervisor's decision on each approved or returned inspection."""
        for visit in self.inspections:
            if visit.decided is None:
                continue
            approve = visit.status == "approved"
            yield {"id": self.uid(), "inspection_id": visit.id, "reviewer_id": self.supervisors[visit.county],
                   "outcome": "approve" if approve else "return", "decided_at": visit.decided,
                   "comment": None if approve else "隐患照片不清晰，请补拍后重新提交", **self.sync_columns()}  # fmt: skip

    def _item_results(self, non_compliant: set[int]) -> Iterator[dict[str, Any]]:
        """One answer per key item per inspection; the chosen ones non-compliant, the rest mostly compliant."""
        rng = self.rng
        per = len(self.items)
        for number, visit in enumerate(self.inspections):
            for position, item in enumerate(self.items):
                flat = number * per + position
                answered = visit.started + timedelta(minutes=4 * position + 3)
                if flat in non_compliant:
                    result, note = "non_compliant", "现场检查不符合要求，已拍照取证"
                else:
                    result, note = ("compliant", None) if rng.random() < 0.88 else ("not_applicable", None)
                item_id = self.uid()
                self.item_ids.append(item_id)
                self.answers.setdefault(visit.id, []).append([item.code, result, note])
                yield {"id": item_id, "inspection_id": visit.id, "item_code": item.code, "result": result,
                       "note": note, "answered_at": answered,
                       **self.sync_columns(answered + timedelta(minutes=2))}  # fmt: skip

    def _hazards(self, flats: list[int], events: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """A hazard per non-compliant answer; its event log and the projection columns agree."""
        rng = self.rng
        per = len(self.items)
        for flat in flats:
            visit = self.inspections[flat // per]
            item = self.items[flat % per]
            found_at = visit.started + timedelta(minutes=4 * (flat % per) + 4)
            level = HazardLevel.major if rng.random() < 0.05 else HazardLevel.general
            state = _weighted(rng, _STATE_SHARES)
            listed = level is HazardLevel.major and rng.random() < 0.1
            if listed and state is HazardState.closed:
                state = HazardState.accepted  # a listed hazard is delisted before closing
            kinds = (
                [HazardEventKind.found] + ([HazardEventKind.listed] if listed else []) + _STATE_EVENTS[state]
            )
            offset = rng.randrange(-60, 91)
            deadline = max(found_at.date() + timedelta(days=7), self.today + timedelta(days=offset))
            hazard_id = self.uid()
            span = self.ref - timedelta(minutes=30) - found_at
            last_received = found_at
            for step, kind in enumerate(kinds):
                at = (
                    found_at
                    if step == 0
                    else found_at + span * ((step - 1 + rng.uniform(0.1, 0.9)) / len(kinds))
                )
                last_received = at + timedelta(minutes=5)
                actor = {HazardEventKind.found: visit.author, HazardEventKind.listed: self.supervisors[visit.county],
                         HazardEventKind.accepted: self.supervisors[visit.county],
                         HazardEventKind.closed: self.supervisors[visit.county]}.get(kind)  # fmt: skip
                data = (
                    {"supervision_level": "县级", "supervision_no": None}
                    if kind is HazardEventKind.listed
                    else {}
                )
                events.append({"id": self.uid(), "hazard_id": hazard_id, "kind": kind.value, "at": at,
                               "received_at": last_received, "actor_id": actor, "device_id": None,
                               "deadline": deadline if step == 0 else None, "comment": None, "data": data,
                               **self.sync_columns()})  # fmt: skip
            major = level is HazardLevel.major
            self.hazards.append((hazard_id, flat // per, found_at, len(kinds)))
            yield {
                "id": hazard_id, "enterprise_id": self.enterprises[visit.enterprise].id, "inspection_id": visit.id,
                "source": "inspection", "item_code": item.code, "ledger_no": None,
                "place": rng.choice(["生产车间", "原料库", "配电室", "除尘系统", "熔炼炉区", "冷库机房"]),
                "description": item.text, "level": level.value,
                "level_reason": None if level.value == item.default_level else "经现场核实，判定等级与目录默认不同",
                "found_at": found_at,
                "terms": {"responsible_person": rng.choice(_SURNAMES) + rng.choice(_GIVEN),
                          "measures": "立即停用并按标准整改", "deadline": deadline.isoformat()},
                "funds_yuan": Decimal(rng.randrange(5, 500) * 100) if rng.random() < 0.5 else None,
                "five_in_place": dict.fromkeys(FIVE_IN_PLACE, True) if major else None,
                "treatment_plan": "制定专项治理方案，落实五到位" if major else None,
                "reported_to_regulator_on": found_at.date() + timedelta(days=1) if major else None,
                "reported_to_workers_congress_on": found_at.date() + timedelta(days=3) if major else None,
                "supervision_level": "县级" if listed else None, "supervision_no": None,
                "stop_production": major and rng.random() < 0.3,
                "state": state.value, "deadline": deadline, "listed": listed,
                **self.sync_columns(found_at + timedelta(minutes=5), len(kinds)), "updated_at": last_received,
            }  # fmt: skip

    def _photos(self, blobs: list[dict[str, Any]], per_inspection: Counter[int]) -> Iterator[dict[str, Any]]:
        """Photo records: two fifths on hazards (each hazard at least one), the rest on item results."""
        rng = self.rng
        total = self.n["photos"]
        on_hazards = min(total, round(0.4 * total)) if self.hazards else 0
        owners = list(range(len(self.hazards)))[:on_hazards]
        owners += [rng.randrange(len(self.hazards)) for _ in range(on_hazards - len(owners))]
        per = len(self.items)
        for number in range(total):
            if number < on_hazards:
                hazard_id, visit_no, moment, _ = self.hazards[owners[number]]
                entity_type, entity_id = "hazard", hazard_id
            else:
                flat = rng.randrange(len(self.item_ids))
                visit_no = flat // per
                moment = self.inspections[visit_no].started + timedelta(minutes=4 * (flat % per) + 3)
                entity_type, entity_id = "item_result", self.item_ids[flat]
            per_inspection[visit_no] += 1
            site = self.enterprises[self.inspections[visit_no].enterprise]
            captured = moment + timedelta(seconds=rng.randrange(10, 300))
            received = captured + timedelta(minutes=rng.randrange(1, 240))
            sha256 = f"{rng.getrandbits(256):064x}"
            stored = rng.random() < 0.25
            width, height = (4032, 3024) if stored else (None, None)
            size = rng.randrange(900_000, 4_000_000) if stored else None
            if stored:
                blobs.append({"sha256": sha256, "size": size, "mime": "image/jpeg", "width": width, "height": height,
                              "stored_at": received + timedelta(minutes=1), "exif_taken_at": captured,
                              "exif_lat": site.lat, "exif_lon": site.lon, "exif_orientation": 1,
                              "has_thumbnail": False})  # fmt: skip
            yield {
                "id": self.uid(), "sha256": sha256, "original_sha256": None, "size": size,
                "mime": "image/jpeg" if stored else None, "width": width, "height": height,
                "captured_at": captured, "received_at": received,
                "lat": site.lat + rng.uniform(-3e-4, 3e-4), "lon": site.lon + rng.uniform(-3e-4, 3e-4),
                "accuracy_m": round(rng.uniform(3, 40), 1), "fix_at": captured, "device_id": None,
                "entity_type": entity_type, "entity_id": entity_id,
                "exif_taken_at": captured if stored else None, "exif_lat": site.lat if stored else None,
                "exif_lon": site.lon if stored else None, "exif_orientation": 1 if stored else None,
                **self.sync_columns(),
            }  # fmt: skip

    def _pick_pages(self, summary: FillSummary, photos_per_inspection: Counter[int]) -> None:
        """The 兴县 inspection with the most photos and the 兴县 enterprise with the most inspections."""
        xingxian = [n for n, v in enumerate(self.inspections) if v.county == "141123"]
        if not xingxian:
            return
        best = max(xingxian, key=lambda n: (photos_per_inspection[n], -n))
        summary.review_inspection_id = self.inspections[best].id
        summary.review_inspection_photos = photos_per_inspection[best]
        visits = Counter(self.inspections[n].enterprise for n in xingxian)
        enterprise, count = max(visits.items(), key=lambda pair: (pair[1], -pair[0]))
        summary.busy_enterprise_id = self.enterprises[enterprise].id
        summary.busy_enterprise_inspections = count
        busy_hazards = [h for h in self.hazards if self.inspections[h[1]].county == "141123"]
        if busy_hazards:
            summary.detail_hazard_id = max(busy_hazards, key=lambda h: h[3])[0]


# --- timing -------------------------------------------------------------------------------------------


#: The dashboard timed as it is opened after a device synced a change to one enterprise's hazard: the 清零
#: cache (server.services.oversight.ClearanceCache) then decides that enterprise again, not the county.
AFTER_WRITE = "dashboard, after a sync (one hazard changed)"
#: The dashboard with its 清零 cache dropped: the whole computation. (Under gunicorn each worker warms the
#: cache as it starts, so a supervisor meets this only if they open the dashboard within a second of it.)
FIRST_VIEW = "dashboard, cache dropped (cold)"


def _simulate_write(app: Any) -> None:
    """Change one hazard as a sync would: the ORM write takes a new change number at commit."""
    with app.app_context():
        hazard = db.session.scalar(sa.select(Hazard).order_by(sa.func.random()).limit(1))
        if hazard is not None:
            hazard.row_version += 1
            db.session.commit()
        db.session.remove()


def pages(summary: FillSummary) -> list[tuple[str, str]]:
    """The pages to time: (label, path)."""
    return [
        ("dashboard", "/dashboard"),
        (AFTER_WRITE, "/dashboard"),
        (FIRST_VIEW, "/dashboard"),
        ("hazards: major, found, page 2", "/hazards?level=major&state=found&page=2"),
        ("hazards: overdue", "/hazards?overdue=1"),
        ("hazards: page 1", "/hazards"),
        ("hazards: page 50", "/hazards?page=50"),
        ("inspections: page 1", "/inspections"),
        (f"inspection review ({summary.review_inspection_photos} photos)",
         f"/inspections/{summary.review_inspection_id}"),
        (f"enterprise ({summary.busy_enterprise_inspections} inspections)",
         f"/enterprises/{summary.busy_enterprise_id}"),
        ("enterprises: page 1", "/enterprises"),
        ("hazard detail (longest log)", f"/hazards/{summary.detail_hazard_id}"),
    ]  # fmt: skip


def nearest_rank(values: list[float], share: float) -> float:
    """The nearest-rank percentile (with few samples p95 is the slowest, never below the median)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def time_pages(
    app: Any, username: str, summary: FillSummary, repeat: int
) -> list[tuple[str, int, list[float]]]:
    """Sign in as ``username`` and time each page; a page answering other than 200 is not timed."""
    client = app.test_client()
    login = client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    if login.status_code != 200:
        return [("sign-in", login.status_code, [])]
    results = []
    for label, path in pages(summary):
        try:
            status = client.get(path).status_code
            if status == 200:
                for _ in range(WARM_UP - 1):
                    client.get(path)
                seconds = []
                for _ in range(repeat):
                    if label == AFTER_WRITE:
                        _simulate_write(app)
                    if label == FIRST_VIEW:
                        app.extensions.pop("clearance_cache", None)
                    started = time.perf_counter()
                    response = client.get(path)
                    response.get_data()
                    seconds.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        status = response.status_code
            else:
                seconds = []
        except Exception as error:  # a page being written may still raise; report it and carry on
            print(f"  {username} {path}: {type(error).__name__}: {str(error).splitlines()[0][:160]}")
            status, seconds = 500, []
        results.append((label, status, seconds))
    return results


def report(kind: str, username: str, results: list[tuple[str, int, list[float]]]) -> None:
    """Print one user's table: status, p50, p95 and whether p95 meets the target."""
    print(f"\n  {kind} as {username}")
    print(f"  {'page':<44} {'status':>6} {'p50 ms':>8} {'p95 ms':>8}  target ≤ {TARGET_MS:.0f} ms")
    for label, status, seconds in results:
        if not seconds:
            print(f"  {label:<44} {status:>6} {'—':>8} {'—':>8}  not timed")
            continue
        p50 = statistics.median(seconds) * 1000
        p95 = nearest_rank(seconds, 0.95) * 1000
        verdict = "ok" if p95 <= TARGET_MS else "SLOW"
        print(f"  {label:<44} {status:>6} {p50:8.1f} {p95:8.1f}  {verdict}")


@contextmanager
def filled_county(
    kind: str,
    scale: float,
    seed: int,
    *,
    today: date | None = None,
    extend: Callable[[sa.Connection], None] | None = None,
) -> Iterator[tuple[Any, FillSummary]]:
    """A fresh, demo-seeded database of ``kind`` filled at ``scale`` (then by ``extend``, in one transaction,
    before statistics are gathered) and its app; disposed afterwards."""
    with fresh_database(kind) as url, tempfile.TemporaryDirectory() as folder:
        logging.disable(logging.INFO)  # the migrations' own logging configuration would print every step
        try:
            app = seeded_app(url, Path(folder))
        finally:
            logging.disable(logging.NOTSET)
        # A page that fails raises here instead of logging a traceback; the timing code prints one line.
        app.config["PROPAGATE_EXCEPTIONS"] = True
        with app.app_context():
            summary = fill_county(db.engine, scale, seed, today)
            if extend is not None:
                with db.engine.begin() as conn:
                    extend(conn)
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect() as conn:
                    conn.execute(sa.text("ANALYZE"))
                    conn.commit()
            db.session.remove()
        print(f"\n{kind}: generated in {summary.seconds:.1f} s (scale {scale:g}); rows written "
              + ", ".join(f"{t} {n:,}" for t, n in summary.rows.items()))  # fmt: skip
        try:
            yield app, summary
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def run(kind: str, scale: float, repeat: int, seed: int) -> None:
    """Fill a fresh database of ``kind`` at ``scale`` and time the pages as both supervisors."""
    with filled_county(kind, scale, seed) as (app, summary):
        with app.app_context():
            counts = {
                table: db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
                for table in summary.rows
            }
            db.session.remove()
        print(
            "  rows in the database (demo county included): "
            + ", ".join(f"{t} {n:,}" for t, n in counts.items())
        )
        for username in ("xx_sup", "ll_city"):
            report(kind, username, time_pages(app, username, summary, repeat))


def county_main(doc: str, run: Callable[[str, float, int, int], None], *, repeat: int, what: str) -> int:
    """The command line the county-scale benches share: --scale, --db, --repeat, --seed."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="row counts factor (0.1 for a quick run)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=repeat, help=f"timed requests per {what}")
    parser.add_argument("--seed", type=int, default=20260601)
    args = parser.parse_args()
    if args.db in ("sqlite", "both"):
        run("sqlite", args.scale, args.repeat, args.seed)
    if args.db in ("postgres", "both"):
        if postgres_available():
            run("postgresql", args.scale, args.repeat, args.seed)
        else:
            print("postgresql: not reachable (set BENCH_DATABASE_URL)")
    return 0


def main() -> int:
    """Parse the flags and run on the databases asked for."""
    return county_main(__doc__ or "", run, repeat=30, what="page")


if __name__ == "__main__":
    raise SystemExit(main())

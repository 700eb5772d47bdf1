"""Demo activity: tablets, inspections, answers, hazards through every state, photos and seals.

The supervisors' pages (coverage, 清零, hazard ledger, review with photo evidence, devices) are empty on a
fresh demo county; this adds what a few months of the campaign would have left behind. Everything is
deterministic (fixed ids from uuid5, seeded random streams) and laid relative to ``today``, and it is
written the way the sync path writes it: hazards through record_hazard/append_event, photo bytes through
the app's blob store and on_blob_complete, seals checked by the server's own check_seal.

A few records are wrong on purpose, for the review page to flag: an inspection whose recorded positions
are 5 km from the enterprise, a seal whose answers differ from those stored, photos whose EXIF position
or time disagree with what the device claimed, a photo without EXIF, a fix 80 m uncertain, and an
answer note holding markup that the pages must show as text.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import math
import random
import secrets
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from PIL import ExifTags, Image, ImageDraw, ImageFont
from sqlalchemy.orm import Session

from server import security
from server.domain.applicability import ApplicabilityRule, applicable_items
from server.domain.clearance import ItemResultValue
from server.domain.hazards import FIVE_IN_PLACE, HazardEventKind, HazardLevel
from server.domain.inspections import InspectionKind, InspectionStatus, ReviewOutcome, status_after_review
from server.media.images import CHINA_TIME
from server.models import (
    Campaign,
    Catalogue,
    Device,
    Enterprise,
    Hazard,
    HazardSource,
    Inspection,
    InspectionParticipant,
    ItemResult,
    Photo,
    ReviewDecision,
    User,
)
from server.models.base import utcnow
from server.services import DbSession
from server.services.hazards import append_event, record_hazard
from server.services.seal import check_seal
from sync.backend import SyncBackend
from sync.blobs import BlobStore

#: Every demo id is uuid5 of this namespace and a readable name, so a second run finds the first's rows.
NAMESPACE = uuid.UUID("5b0c7a2e-3f41-4d8e-9c6b-20260502d3a0")

#: The P-256 group order: a private key is an integer in [1, ORDER - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


#: Demo photos' size: half of it is exactly the thumbnail, which libjpeg then decodes at 1/2 scale, cheaply.
PHOTO_SIZE = (960, 720)


def demo_id(name: str) -> uuid.UUID:
    """The fixed id of the demo row called ``name``."""
    return uuid.uuid5(NAMESPACE, name)


@dataclass
class ActivitySummary:
    """What this run created (zero everywhere on a second run)."""

    devices: int = 0
    inspections: int = 0
    hazards: int = 0
    photos: int = 0
    blobs: int = 0


# --- what happened: devices, visits, findings ----------------------------------------------------------

_UA = "Mozilla/5.0 (Linux; Android 13; {model}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"

# user name, device label, camera make and model (user agent and EXIF), how long ago it last synced
_DEVICES: list[tuple[str, str, tuple[str, str], timedelta]] = [
    ("xx_insp1", "执法平板 兴县-01", ("HUAWEI", "BAH3-W09"), timedelta(hours=2, minutes=10)),
    ("xx_insp2", "执法平板 兴县-02", ("HUAWEI", "HEY2-W09"), timedelta(hours=26, minutes=40)),
    # Silent for ten days: the dashboard's "devices not seen lately" has something to show.
    ("lx_insp1", "执法平板 临县-01", ("Xiaomi", "23043RP34C"), timedelta(days=10, hours=3)),
]

_DOWNGRADE = "现场核实该问题范围局限、可立即整改，不符合重大事故隐患判定标准情形，按一般事故隐患处理。"

# The hazard's path after 'found' (its final state is where the path ends).
_PATHS: dict[str, tuple[HazardEventKind, ...]] = {
    "overdue": (),
    "open": (),
    "planned": (HazardEventKind.rectification_planned,),
    "listed": (HazardEventKind.listed, HazardEventKind.rectification_planned),
    "reported": (HazardEventKind.rectification_planned, HazardEventKind.rectification_reported),
    "rejected": (
        HazardEventKind.rectification_planned,
        HazardEventKind.rectification_reported,
        HazardEventKind.rejected,
        HazardEventKind.deadline_extended,
    ),
    "accepted": (
        HazardEventKind.rectification_planned,
        HazardEventKind.rectification_reported,
        HazardEventKind.accepted,
    ),
    "closed": (
        HazardEventKind.rectification_planned,
        HazardEventKind.rectification_reported,
        HazardEventKind.accepted,
        HazardEventKind.closed,
    ),
}

# Where in the time between finding and now each kind of event falls (as a share of up to 40 days).
_EVENT_SHARE = {
    HazardEventKind.listed: 0.05,
    HazardEventKind.rectification_planned: 0.10,
    HazardEventKind.rectification_reported: 0.45,
    HazardEventKind.rejected: 0.55,
    HazardEventKind.accepted: 0.60,
    HazardEventKind.deadline_extended: 0.62,
    HazardEventKind.closed: 0.75,
}


@dataclass(frozen=True)
class _Major:
    """The extra record a major hazard carries: 五到位, treatment plan, 停产, funds."""

    treatment_plan: str
    funds: int
    five_in_place: dict[str, bool]
    stop_production: bool = False


@dataclass(frozen=True)
class _Finding:
    """A non-compliant item and the hazard recorded for it."""

    code: str
    path: str
    place: str
    description: str
    measures: str
    major: _Major | None = None
    #: Why the acceptance failed (path "rejected").
    rejection: str = ""
    photos: int = 1
    #: A deliberate oddity on the hazard's first photo: gps_off, time_off, no_exif or coarse.
    evidence: str = ""


@dataclass(frozen=True)
class _Visit:
    """One inspection: where, what kind, by whom, how it ended and what was found."""

    key: str
    enterprise: str
    kind: InspectionKind
    status: InspectionStatus
    inspector: str
    partner: str
    #: Where in its phase's days the visit falls, 0..1 (the draft is yesterday instead).
    when: float
    findings: tuple[_Finding, ...] = ()
    expert: bool = False
    #: Start and end positions some 5 km from the enterprise.
    far: bool = False
    #: The sealed record's answers differ from those stored.
    broken_seal: bool = False
    #: Notes on compliant answers, by item code.
    notes: dict[str, str] = field(default_factory=dict)
    #: The review's comment when the supervisor returned it.
    returned_because: str = ""


def _all_five(**overrides: bool) -> dict[str, bool]:
    return {key: overrides.get(key, True) for key in FIVE_IN_PLACE}


K, S = InspectionKind, InspectionStatus
# fmt: off
_VISITS: list[_Visit] = [
    _Visit("xx-01", "兴县晋兴特钢有限公司", K.county, S.approved, "xx_insp1", "xx_insp3", 0.10, expert=True, findings=(
        _Finding("ST-6", "listed", "炼铁厂1#高炉主控室及煤气加压站",
                 "1#高炉主控室、煤气加压站值班室未设置固定式一氧化碳监测报警装置，现场仅配备2台便携式报警仪。",
                 "在主控室、加压站值班室等6处人员集中场所安装固定式一氧化碳报警装置并接入DCS声光报警。",
                 major=_Major("一、立即在主控室、加压站配备便携式一氧化碳报警仪并实行双人值守；二、委托有资质单位设计"
                              "固定式报警系统，报警信号接入DCS及中控室声光报警；三、安装调试后组织验收并报县应急管理局。",
                              86000, _all_five(contingency_plan=False))),
        _Finding("CS-2", "closed", "煤气管网2#排水器井", "煤气排水器井入口未设置有限空间安全警示标志。",
                 "设置“有限空间 未经许可严禁入内”警示标志并登记有限空间台账。"),
    )),
    _Visit("xx-02", "兴县蔚汾钢铁有限责任公司", K.county, S.approved, "xx_insp2", "xx_insp4", 0.15, findings=(
        _Finding("ST-2", "accepted", "炼钢车间3#铸造起重机",
                 "3#铸造起重机钢丝绳端头固定压板1处松动，近两个月点检记录缺失。",
                 "紧固压板，补做钢丝绳及龙门钩专项检查，恢复每周点检并建立记录。"),
        _Finding("HW-1", "closed", "轧钢车间加热炉检修现场", "动火作业票未注明气体检测结果即开始动火作业。",
                 "停止作业，补做气体检测，对作业审批人及监护人开展危险作业制度培训。"),
    )),
    _Visit("xx-03", "山西吕梁兴达铸钢有限公司", K.county, S.submitted, "xx_insp1", "xx_insp4", 0.22, far=True),
    _Visit("xx-04", "兴县恒通球墨铸管有限公司", K.county, S.submitted, "xx_insp2", "xx_insp3", 0.30, findings=(
        _Finding("ST-7", "overdue", "退火车间煤气管道末端", "退火炉煤气管道末端未设置吹扫放散管，隔断装置仅有单阀。",
                 "增设氮气吹扫接口及放散管，隔断处改为“阀门+盲板”。", photos=2),
    )),
    _Visit("xx-05", "兴县汾源钢结构制品有限公司", K.unannounced, S.submitted, "xx_insp1", "xx_insp2", 0.36, findings=(
        _Finding("DU-6", "reported", "抛丸车间", "抛丸工位地面及设备顶部积尘厚度超过1毫米，未见当班清扫记录。",
                 "制定粉尘清理制度，每班清扫并记录，设备顶部每周清理一次。", evidence="gps_off"),
    )),
    _Visit("xx-06", "兴县晋铝铸造有限公司", K.county, S.submitted, "xx_insp2", "xx_insp4", 0.42, findings=(
        _Finding("AL-1", "rejected", "熔铸车间2#熔铝炉", "熔铝炉冷却水应急水池液位低于下限，应急水泵未接入保安电源。",
                 "恢复应急水池液位并设液位报警，应急水泵接入保安电源，每月试车一次。",
                 rejection="复查发现应急水泵仍未接入保安电源，整改不到位。", evidence="time_off"),
    )),
    _Visit("xx-07", "兴县华通铝合金有限公司", K.county, S.approved, "xx_insp1", "xx_insp3", 0.48, expert=True),
    _Visit("xx-08", "兴县铝镁新材料有限公司", K.unannounced, S.submitted, "xx_insp1", "xx_insp4", 0.55, expert=True,
           findings=(
        _Finding("DU-2", "reported", "镁合金抛光车间干式除尘器",
                 "镁合金抛光粉尘干式除尘器未设置泄爆装置，也未采取惰化、抑爆等控爆措施。",
                 "除尘器加装泄爆片及无焰泄爆装置，增设火花探测熄灭系统，改造完成前停止抛光作业。", photos=2,
                 evidence="coarse",
                 major=_Major("一、抛光工序立即停产，切断除尘系统电源；二、委托设计单位按GB 15577编制除尘系统"
                              "改造方案；三、安装泄爆及火花探测熄灭装置，经专家论证验收后方可复产。",
                              240000, _all_five(), stop_production=True)),
        _Finding("MG-2", "planned", "镁粉仓库", "重大危险源登记建档资料未更新，在线监测数据未接入监管平台。",
                 "更新重大危险源档案，完成监测数据联网。"),
    )),
    _Visit("xx-09", "兴县丰源面粉有限公司", K.county, S.submitted, "xx_insp2", "xx_insp4", 0.62, findings=(
        _Finding("DU-5", "open", "制粉车间1#磨粉机", "磨粉机进料口磁选装置失效，未设置杂物去除措施。",
                 "更换永磁筒并建立每班清理记录。", evidence="no_exif"),
        _Finding("CS-2", "accepted", "3#面粉筒仓", "面粉筒仓入口未设置有限空间安全警示标志。",
                 "设置有限空间警示标志并落实“先通风、再检测、后作业”告知。"),
    )),
    _Visit("xx-10", "兴县黄土坡杂粮食品有限公司", K.county, S.returned, "xx_insp1", "xx_insp3", 0.68,
           returned_because="CS-2 隐患未附整改期限说明，有限空间作业审批单未拍照留存，请补充后重新提交。", findings=(
        _Finding("CS-2", "overdue", "地下料坑", "地下料坑入口警示标志脱落，未设置防护栏。",
                 "恢复警示标志，增设防护栏并上锁管理。"),
    )),
    _Visit("xx-11", "兴县红枣冷藏储运有限公司", K.county, S.submitted, "xx_insp2", "xx_insp3", 0.74, broken_seal=True,
           findings=(
        _Finding("CS-2", "closed", "制冷机房集液器检修坑", "氨机房集液器检修坑未设置有限空间安全警示标志。",
                 "设置警示标志并纳入有限空间台账。"),
    )),
    _Visit("xx-12", "兴县汾河酿造有限公司", K.county, S.submitted, "xx_insp1", "xx_insp4", 0.80,
           # Markup typed into a note is evidence like any other text: pages must show it, escaped.
           notes={"CS-2": "发酵罐区警示标志齐全。<script>alert(1)</script>"}),
    _Visit("xx-13", "兴县盛达煤气化有限公司", K.county, S.approved, "xx_insp2", "xx_insp3", 0.86, findings=(
        _Finding("CS-1", "accepted", "2#气化炉", "气化炉检修进入炉膛作业未制定有限空间作业方案，作业审批单无审批人签字。",
                 "停止进入作业，制定有限空间作业方案并履行审批，作业前检测分析并全程监护。",
                 major=_Major("一、立即停止气化炉内部检修作业；二、编制有限空间作业方案并经主要负责人审批；"
                              "三、对作业及监护人员开展专项培训考核；四、完善审批流程后方可恢复作业。",
                              35000, _all_five())),
        _Finding("HW-1", "closed", "净化工段", "煤气区域盲板抽堵作业未办理危险作业票。",
                 "补办作业票，明确盲板抽堵作业审批及监护要求。"),
    )),
    _Visit("xx-14", "兴县盛达煤气化有限公司", K.look_back, S.submitted, "xx_insp2", "xx_insp4", 0.50),
    _Visit("xx-15", "兴县鑫钢炉料有限公司", K.unannounced, S.draft, "xx_insp1", "xx_insp2", 0.0),
    _Visit("lx-01", "临县湫水钢铁有限公司", K.county, S.submitted, "lx_insp1", "lx_insp2", 0.25, findings=(
        _Finding("ST-3", "overdue", "炼钢车间转炉跨", "转炉跨铁水吊运影响范围内设置临时休息室。",
                 "拆除临时休息室，另行选址设置。"),
    )),
    _Visit("lx-02", "临县碛口铝业有限公司", K.county, S.submitted, "lx_insp1", "lx_insp2", 0.45),
    _Visit("lx-03", "临县昌盛木业有限公司", K.unannounced, S.approved, "lx_insp1", "lx_insp2", 0.60, findings=(
        _Finding("DU-6", "closed", "砂光车间", "砂光机周边及除尘管道积尘未及时清扫。",
                 "每班清扫，除尘管道每周清灰并记录。"),
    )),
]
# fmt: on
del K, S

# Who approves or returns, by the inspector's county; who lists a hazard for city supervision.
_REVIEWERS = {"xx": "xx_sup", "lx": "lx_sup"}
_CITY = "ll_city"
_EXPERT = "xx_expert"
# Enterprises with their own accounts record their rectification plans themselves.
_ENTERPRISE_ACCOUNTS = {"兴县晋兴特钢有限公司": "qy_jinxing", "兴县丰源面粉有限公司": "qy_fengyuan"}

_SURNAMES = "王李张刘陈杨赵黄周吴郭马"
_GIVEN = ["海军", "建平", "晓东", "国庆", "丽娟", "志刚", "文斌", "玉梅", "永红", "卫东"]
_PLAIN_NOTES = ["现场查看符合要求。", "查阅台账及记录，符合要求。", "抽查2处，符合要求。"]
_NOT_APPLICABLE = {"MG-3": "企业无发包、出租的生产经营项目。", "MG-5": "近三年无新建、改建、扩建项目。"}


# --- the run ----------------------------------------------------------------------------------------------


def seed_activity(
    session: DbSession, backend: SyncBackend, catalogue: Catalogue, today: date
) -> ActivitySummary:
    """Create whatever part of the demo activity is missing (each inspection whole, or not at all)."""
    summary = ActivitySummary()
    # Writing a blob syncs it to disk twice; a few threads overlap that waiting with the drawing.
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="demo-blobs") as writers:
        run = _Run(session, backend, catalogue, today, summary, writers)
        for visit in _VISITS:
            if session.get(Inspection, demo_id(f"inspection/{visit.key}")) is None:
                run.visit(visit)
        run.finish()
    session.flush()
    return summary


class _Run:
    """One seeding run: the users, devices, clock and phase windows every visit needs."""

    def __init__(
        self,
        session: DbSession,
        backend: SyncBackend,
        catalogue: Catalogue,
        today: date,
        summary: ActivitySummary,
        writers: ThreadPoolExecutor,
    ) -> None:
        self.session, self.backend, self.catalogue = session, backend, catalogue
        self.today, self.summary, self.writers = today, summary, writers
        #: Blobs being written (sha256 → whether this run stored it), ingested in finish().
        self.blobs: dict[str, Future[bool]] = {}
        # Never later than the real clock, so that "last seen 2 hours ago" is true when seeding today.
        self.now = min(utcnow(), datetime.combine(today, time(18, 0), tzinfo=CHINA_TIME).astimezone(UTC))
        self.users = {u.username: u for u in session.scalars(sa.select(User))}
        self.items = sorted(catalogue.items, key=lambda i: i.ordinal)
        self.terms = [str(term[0]) for term in catalogue.five_terms or [] if str(term[0]) != "deadline"]
        self.county_window, self.look_back_window = self._windows()
        # Mutations each device would have pushed, for the sequence number of devices made now.
        self.writes: Counter[uuid.UUID] = Counter()
        self.created_devices: set[uuid.UUID] = set()
        self.devices = {
            name: self._device(name, label, camera[1], seen) for name, label, camera, seen in _DEVICES
        }
        self.cameras = {demo_id(f"device/{name}"): camera for name, _label, camera, _seen in _DEVICES}

    # -- time ----------------------------------------------------------------------------------------------

    def _windows(self) -> tuple[tuple[date, date], tuple[date, date]]:
        """The days county inspections and look-back inspections fall in, from the campaign's phases."""
        code = f"xingxian-{self.today.year}-dajiancha"
        campaign = self.session.scalar(sa.select(Campaign).where(Campaign.code == code))
        phases = {p.code: p for p in campaign.phases} if campaign is not None else {}
        fallback = (self.today - timedelta(days=80), self.today - timedelta(days=5))
        county = fallback
        if "county_coverage" in phases:
            phase = phases["county_coverage"]
            end = min(phase.ends_on, self.today - timedelta(days=2))
            # Early in the year the phase has not run yet: the visits then fall in the weeks before today.
            if (end - phase.starts_on).days >= 14:
                county = (phase.starts_on, end)
        look_back = county
        if "look_back" in phases:
            phase = phases["look_back"]
            end = min(phase.ends_on, self.today - timedelta(days=1))
            if end > phase.starts_on:
                look_back = (phase.starts_on, end)
        return county, look_back

    def _day(self, visit: _Visit) -> date:
        start, end = self.look_back_window if visit.kind == InspectionKind.look_back else self.county_window
        return start + timedelta(days=round(visit.when * (end - start).days))

    # -- devices -------------------------------------------------------------------------------------------

    def _device(self, username: str, label: str, model: str, silent: timedelta) -> Device:
        device_id = demo_id(f"device/{username}")
        device = self.session.get(Device, device_id)
        if device is not None:
            return device
        key = _device_key(device_id)
        numbers = key.public_key().public_numbers()
        device = Device(
            id=device_id,
            user_id=self.users[username].id,
            # A token nobody was ever shown: the demo tablets exist, but no one can sync as them.
            token_hash=security.token_digest(secrets.token_urlsafe(32)),
            public_key_jwk={
                "kty": "EC",
                "crv": "P-256",
                "x": _b64url(numbers.x.to_bytes(32, "big")),
                "y": _b64url(numbers.y.to_bytes(32, "big")),
            },
            label=label,
            user_agent=_UA.format(model=model),
            created_at=datetime.combine(self.county_window[0] - timedelta(days=6), time(1, 30), tzinfo=UTC),
            last_seen_at=self.now - silent,
            last_seq=0,
        )
        self.session.add(device)
        self.created_devices.add(device_id)
        self.summary.devices += 1
        return device

    def finish(self) -> None:
        """Ingest the blobs written, and give new devices the sequence number their pushes reached."""
        # As when a tablet's photo records arrive before their bytes: ingest copies each blob's facts
        # (type, size, EXIF) onto the photo records naming it.
        for sha, written in self.blobs.items():
            self.summary.blobs += written.result()
            # db.session is a scoped_session, which hands every call on to the Session it stands for.
            self.backend.on_blob_complete(cast(Session, self.session), sha)
        for device in self.devices.values():
            if device.id in self.created_devices:
                device.last_seq = self.writes[device.id]

    # -- one visit -----------------------------------------------------------------------------------------

    def visit(self, visit: _Visit) -> None:
        """Create one inspection with its answers, hazards, photos, signatures, seal and review."""
        session, rng = self.session, random.Random(f"demo-activity/{visit.key}")
        enterprise = session.scalar(sa.select(Enterprise).where(Enterprise.name == visit.enterprise))
        if enterprise is None or enterprise.lat is None or enterprise.lon is None:
            return  # the county was edited; there is nothing to inspect
        inspector, partner = self.users[visit.inspector], self.users[visit.partner]
        device = self.devices[visit.inspector]
        draft = visit.status == InspectionStatus.draft
        if draft:
            # Yesterday afternoon, still open: the inspector has not finished the checklist yet.
            yesterday = datetime.combine(self.today - timedelta(days=1), time(14, 10), tzinfo=CHINA_TIME)
            started = yesterday.astimezone(UTC) + timedelta(minutes=rng.randrange(0, 50))
        else:
            day = self._day(visit)
            started = datetime.combine(day, time(8, 40), tzinfo=CHINA_TIME).astimezone(UTC)
            started += timedelta(minutes=rng.randrange(0, 110))
        duration = timedelta(minutes=rng.randrange(100, 200))
        finished = None if draft else started + duration
        # Offline on site: everything reaches the server when the tablet is back in coverage.
        received = started + duration + timedelta(minutes=rng.randrange(20, 180))
        base = (enterprise.lat, enterprise.lon)
        if visit.far:
            base = _offset(base, rng.uniform(4800, 5300), rng.uniform(0, 360))
        start_pos = _offset(base, rng.uniform(15, 90), rng.uniform(0, 360))
        end_pos = _offset(base, rng.uniform(15, 90), rng.uniform(0, 360))

        inspection = Inspection(
            id=demo_id(f"inspection/{visit.key}"),
            enterprise=enterprise,
            enterprise_id=enterprise.id,
            catalogue=self.catalogue,
            catalogue_id=self.catalogue.id,
            kind=visit.kind,
            status=InspectionStatus.draft if draft else InspectionStatus.submitted,
            created_by_id=inspector.id,
            device_id=device.id,
            started_at=started,
            finished_at=finished,
            received_at=received,
            submitted_received_at=None if draft else received,
            start_lat=round(start_pos[0], 6),
            start_lon=round(start_pos[1], 6),
            start_accuracy_m=round(rng.uniform(5, 25), 1),
            end_lat=None if draft else round(end_pos[0], 6),
            end_lon=None if draft else round(end_pos[1], 6),
            end_accuracy_m=None if draft else round(rng.uniform(5, 25), 1),
            created_at=received,
            updated_at=received,
        )
        participants = [
            InspectionParticipant(ordinal=0, role="inspector", user_id=inspector.id, name=inspector.display_name,
                                  badge_no=inspector.badge_no),
            InspectionParticipant(ordinal=1, role="inspector", user_id=partner.id, name=partner.display_name,
                                  badge_no=partner.badge_no),
        ]  # fmt: skip
        if visit.expert:
            expert = self.users[_EXPERT]
            participants.append(
                InspectionParticipant(ordinal=2, role="expert", user_id=expert.id, name=expert.display_name)
            )
        rep = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        if not draft:
            participants.append(
                InspectionParticipant(ordinal=len(participants), role="enterprise_rep", name=rep)
            )
        inspection.participants = participants
        session.add(inspection)
        session.flush()
        self.summary.inspections += 1
        self.writes[device.id] += 3  # started, signed, submitted

        # Answers: every item that applies, in catalogue order; a draft is half done.
        needed = applicable_items(
            self.items, enterprise.profile(), lambda i: ApplicabilityRule.from_dict(i.applies_when)
        )
        findings = {f.code: f for f in visit.findings}
        for code in findings:
            if code not in {i.code for i in needed}:
                raise ValueError(f"demo finding {code} does not apply to {enterprise.name}")
        answered = needed[: len(needed) // 2] if draft else needed
        step = (duration - timedelta(minutes=25)) / max(1, len(answered))
        results: dict[str, ItemResult] = {}
        for index, item in enumerate(answered):
            value, note = ItemResultValue.compliant, visit.notes.get(item.code)
            if item.code in findings:
                value, note = ItemResultValue.non_compliant, findings[item.code].description
            elif item.code in _NOT_APPLICABLE and rng.random() < 0.5:
                value, note = ItemResultValue.not_applicable, _NOT_APPLICABLE[item.code]
            elif note is None and rng.random() < 0.2:
                note = rng.choice(_PLAIN_NOTES)
            row = ItemResult(
                id=demo_id(f"item_result/{visit.key}/{item.code}"),
                inspection=inspection,
                inspection_id=inspection.id,
                item_code=item.code,
                result=value,
                note=note,
                answered_at=(started + timedelta(minutes=10) + step * index).replace(microsecond=0),
                created_at=received,
                updated_at=received,
            )
            session.add(row)
            results[item.code] = row
            self.writes[device.id] += 1
        session.flush()

        # Evidence photos of compliant answers: one per visit, two when an expert came along.
        sealed_photos: list[str] = []
        compliant = [
            c for c, r in results.items() if r.result == ItemResultValue.compliant and not c.startswith("MG")
        ]
        for n, code in enumerate(rng.sample(compliant, min(len(compliant), 2 if visit.expert else 1))):
            row = results[code]
            assert row.answered_at is not None
            photo = self._photo(
                f"{visit.key}/item/{code}", "item_result", row.id, device, row.answered_at + timedelta(seconds=40),
                received, _offset(start_pos, rng.uniform(10, 60), rng.uniform(0, 360)), rng, scene=f"{visit.key}/item{n}",
            )  # fmt: skip
            sealed_photos.append(photo.sha256)

        hazards = [
            self._hazard(visit, finding, inspection, results[finding.code], device, received, start_pos, rng,
                         sealed_photos)
            for finding in visit.findings
        ]  # fmt: skip
        if draft:
            return

        assert finished is not None
        signatures = []
        for role, name, before in (
            ("inspector", inspector.display_name, 7),
            ("inspector", partner.display_name, 5),
            ("enterprise_rep", rep, 3),
        ):
            sha = self._store(_signature_png(random.Random(f"{visit.key}/signature/{name}")))
            signatures.append(
                {"role": role, "name": name, "sha256": sha, "at": _iso(finished - timedelta(minutes=before))}
            )
        inspection.signatures = signatures
        inspection.summary_note = _summary_note(visit, len(answered))
        self._seal(visit, inspection, device, participants, results, hazards, sealed_photos)
        self._review(visit, inspection, received, rng)

    # -- sealing and review --------------------------------------------------------------------------------

    def _seal(
        self,
        visit: _Visit,
        inspection: Inspection,
        device: Device,
        participants: list[InspectionParticipant],
        results: dict[str, ItemResult],
        hazards: list[tuple[Hazard, date]],
        photos: list[str],
    ) -> None:
        """Sign the record as the PWA does (src/domain/seal.js) and check it as the sync path does."""
        assert inspection.started_at is not None and inspection.finished_at is not None
        answers = [[code, row.result.value, row.note] for code, row in sorted(results.items())]
        if visit.broken_seal:
            # The device sealed a finding that the stored answers no longer show.
            flipped = next(a for a in answers if a[1] == ItemResultValue.compliant.value)
            flipped[1], flipped[2] = ItemResultValue.non_compliant.value, "现场发现问题，待补充隐患记录。"
        sealed_hazards = [
            {"id": str(h.id), "item_code": h.item_code, "level": h.level.value, "description": h.description,
             "deadline": deadline.isoformat()}
            for h, deadline in sorted(hazards, key=lambda pair: str(pair[0].id))
        ]  # fmt: skip
        record = {
            "v": 1,
            "inspection": {
                "id": str(inspection.id),
                "enterprise_id": str(inspection.enterprise_id),
                "catalogue_id": str(inspection.catalogue_id),
                "kind": inspection.kind.value,
                "started_at": _iso(inspection.started_at),
                "finished_at": _iso(inspection.finished_at),
                # As the tablet held them when sealing: the enterprise's representative is added on submit.
                "participants": [
                    {"role": p.role, "user_id": p.user_id, "name": p.name, "badge_no": p.badge_no}
                    for p in participants
                    if p.role != "enterprise_rep"
                ],
                "signatures": inspection.signatures,
            },
            "results": answers,
            "hazards": sealed_hazards,
            "photos": sorted(photos),
        }
        text = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        data = text.encode("utf-8")
        r, s = decode_dss_signature(_device_key(device.id).sign(data, ec.ECDSA(hashes.SHA256())))
        inspection.sealed_record = text
        inspection.sealed_sha256 = hashlib.sha256(data).hexdigest()
        inspection.device_signature = _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        check = check_seal(
            record_text=text,
            sealed_sha256=inspection.sealed_sha256,
            signature=inspection.device_signature,
            jwk=device.public_key_jwk,
            inspection_id=str(inspection.id),
            results={code: str(row.result) for code, row in results.items()},
        )
        inspection.seal_verified, inspection.seal_problem = check.verified, check.problem

    def _review(self, visit: _Visit, inspection: Inspection, received: datetime, rng: random.Random) -> None:
        """The county supervisor's decision, a day or three after the inspection came in."""
        if visit.status not in (InspectionStatus.approved, InspectionStatus.returned):
            return
        outcome = (
            ReviewOutcome.approve if visit.status == InspectionStatus.approved else ReviewOutcome.return_
        )
        decided = received + timedelta(days=rng.randrange(1, 4), hours=rng.randrange(0, 6))
        decided = max(received + timedelta(hours=1), min(decided, self.now - timedelta(hours=3)))
        reviewer = self.users[_REVIEWERS[visit.key[:2]]]
        self.session.add(
            ReviewDecision(
                id=demo_id(f"review/{visit.key}"),
                inspection=inspection,
                inspection_id=inspection.id,
                reviewer_id=reviewer.id,
                reviewer=reviewer,
                outcome=outcome,
                comment=visit.returned_because or None,
                decided_at=decided,
            )
        )
        inspection.status = status_after_review(inspection.status, outcome) or inspection.status
        inspection.updated_at = decided
        inspection.row_version += 1

    # -- hazards -------------------------------------------------------------------------------------------

    def _hazard(
        self,
        visit: _Visit,
        finding: _Finding,
        inspection: Inspection,
        answer: ItemResult,
        device: Device,
        received: datetime,
        site: tuple[float, float],
        rng: random.Random,
        sealed_photos: list[str],
    ) -> tuple[Hazard, date]:
        """Record the hazard of a finding, take its photos and walk it along its path to today."""
        assert answer.answered_at is not None
        item = next(i for i in self.items if i.code == finding.code)
        found_at = answer.answered_at + timedelta(minutes=2)
        major = finding.major is not None
        level = HazardLevel.major if major else HazardLevel.general
        # Deadlines are chosen so that each hazard sits where its path says, relative to today.
        deadline = found_at.date() + timedelta(days=60 if major else 20)
        if finding.path == "overdue":
            deadline = max(
                found_at.date(), min(found_at.date() + timedelta(days=15), self.today - timedelta(days=1))
            )
        elif finding.path == "open":
            deadline = self.today + timedelta(days=15)
        elif finding.path == "planned":
            deadline = self.today + timedelta(days=12)
        elif finding.path == "listed":
            deadline = self.today + timedelta(days=45)
        account = _ENTERPRISE_ACCOUNTS.get(visit.enterprise)
        path = _PATHS[finding.path]
        worker = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        # Who fixed it and who accepted it are filled in once that has happened.
        people = {
            "responsible_person": inspection.enterprise.main_person or "",
            "measures": finding.measures,
            "completed_by": worker if HazardEventKind.rectification_reported in path else "",
            "accepted_by": self.users[visit.inspector].display_name
            if HazardEventKind.accepted in path
            else "",
        }
        terms = {key: people.get(key, "") for key in self.terms}
        extra: dict[str, Any] = {}
        if finding.major is not None:
            extra = {
                "five_in_place": finding.major.five_in_place,
                "treatment_plan": finding.major.treatment_plan,
                "stop_production": finding.major.stop_production,
                "reported_to_regulator_on": found_at.date() + timedelta(days=1),
                "reported_to_workers_congress_on": found_at.date() + timedelta(days=6),
            }
        funds = finding.major.funds if finding.major else rng.randrange(8, 120) * 100
        hazard_id = demo_id(f"hazard/{visit.key}/{finding.code}")
        hazard = record_hazard(
            self.session, enterprise=inspection.enterprise, description=finding.description, level=level,
            found_at=found_at, deadline=deadline, source=HazardSource.inspection, hazard_id=hazard_id,
            found_event_id=uuid.uuid5(hazard_id, "found"), device=device, actor=None, inspection_id=inspection.id,
            item_code=finding.code, place=finding.place,
            level_reason=None if level == item.default_level else _DOWNGRADE,
            terms=terms, funds_yuan=Decimal(funds), **extra,
        )  # fmt: skip
        hazard.created_at = hazard.updated_at = received
        for event in hazard.events:
            event.received_at = received
        self.summary.hazards += 1
        self.writes[device.id] += 1

        for n in range(finding.photos):
            taken = found_at + timedelta(seconds=30 + 50 * n)
            photo = self._photo(
                f"{visit.key}/hazard/{finding.code}/{n}", "hazard", hazard.id, device, taken, received,
                _offset(site, rng.uniform(10, 60), rng.uniform(0, 360)), rng, scene=f"{visit.key}/{finding.code}/{n}",
                evidence=finding.evidence if n == 0 else "",
            )  # fmt: skip
            sealed_photos.append(photo.sha256)

        self._events(visit, finding, hazard, path, found_at, deadline, device, account, site, rng)
        return hazard, deadline

    def _events(
        self,
        visit: _Visit,
        finding: _Finding,
        hazard: Hazard,
        path: tuple[HazardEventKind, ...],
        found_at: datetime,
        deadline: date,
        device: Device,
        account: str | None,
        site: tuple[float, float],
        rng: random.Random,
    ) -> None:
        """Append the path's events, each by whoever records it in practice, spaced out until now."""
        span = min(self.now - timedelta(hours=12) - found_at, timedelta(days=40))
        supervisor = self.users[_REVIEWERS[visit.key[:2]]]
        for kind in path:
            at = found_at + span * (_EVENT_SHARE[kind] + rng.uniform(0, 0.015))
            at = at.replace(microsecond=0)
            actor, comment, data = self.users[visit.inspector], None, None
            by_device: Device | None = device
            event_deadline = None
            if kind == HazardEventKind.rectification_planned:
                comment = "已制定整改方案，明确责任人、资金和期限。"
                if account is not None:
                    actor, by_device = self.users[account], None
            elif kind == HazardEventKind.rectification_reported:
                comment = "整改完成，附整改后照片。"
            elif kind == HazardEventKind.rejected:
                comment = finding.rejection
            elif kind == HazardEventKind.accepted:
                comment = "复查验收合格。"
            elif kind == HazardEventKind.deadline_extended:
                actor, by_device = supervisor, None
                comment = "验收未通过，限期重新整改。"
                event_deadline = max(self.today + timedelta(days=14), deadline + timedelta(days=7))
            elif kind == HazardEventKind.closed:
                actor, by_device, comment = supervisor, None, "整改验收合格，予以销号。"
            elif kind == HazardEventKind.listed:
                actor, by_device, comment = self.users[_CITY], None, "重大事故隐患，实行市级挂牌督办。"
                data = {"supervision_level": "市级", "supervision_no": f"吕安办督〔{found_at.year}〕7号"}
            event = append_event(
                self.session, hazard, kind, at, deadline=event_deadline, comment=comment, actor=actor,
                device=by_device, data=data, event_id=uuid.uuid5(hazard.id, kind.value),
            )  # fmt: skip
            # Tablets sync some hours later; the web writes at once.
            event.received_at = at + timedelta(minutes=rng.randrange(30, 300)) if by_device else at
            hazard.updated_at = event.received_at
            if by_device is not None:
                self.writes[by_device.id] += 1
            if data is not None:
                hazard.supervision_level, hazard.supervision_no = (
                    data["supervision_level"],
                    data["supervision_no"],
                )
            if kind == HazardEventKind.rectification_reported:
                # The same spot after the fix, so that a page can set the two side by side.
                self._photo(
                    f"{visit.key}/after/{finding.code}", "hazard_event", event.id, device, at - timedelta(minutes=12),
                    event.received_at, _offset(site, rng.uniform(10, 60), rng.uniform(0, 360)), rng,
                    scene=f"{visit.key}/{finding.code}/0", fixed=True,
                )  # fmt: skip

    # -- photos and blobs ----------------------------------------------------------------------------------

    def _photo(
        self,
        name: str,
        entity_type: str,
        entity_id: uuid.UUID,
        device: Device,
        taken: datetime,
        received: datetime,
        position: tuple[float, float],
        rng: random.Random,
        *,
        scene: str,
        fixed: bool = False,
        evidence: str = "",
    ) -> Photo:
        """A photo record and its JPEG, stored as an upload would store it; ``evidence`` makes it odd."""
        taken = taken.replace(microsecond=0)
        accuracy = 80.0 if evidence == "coarse" else round(rng.uniform(4, 18), 1)
        exif_position: tuple[float, float] | None = _offset(position, rng.uniform(2, 8), rng.uniform(0, 360))
        exif_time: datetime | None = taken + timedelta(seconds=rng.randrange(0, 3))
        if evidence == "gps_off":
            exif_position = _offset(position, rng.uniform(2900, 3200), rng.uniform(0, 360))
        elif evidence == "time_off":
            # Taken some two hours before the visit, not a whole number of hours (which would read as a
            # camera set to another time zone rather than a photo from another time).
            exif_time = taken - timedelta(hours=2, minutes=17, seconds=40)
        elif evidence == "no_exif":
            exif_position = exif_time = None
        jpeg = _photo_jpeg(
            random.Random(scene), fixed=fixed, stamp=(taken, position, accuracy), exif_time=exif_time,
            exif_position=exif_position, camera=self.cameras.get(device.id, ("HUAWEI", "BAH3-W09")),
        )  # fmt: skip
        sha = self._store(jpeg)
        photo = Photo(
            id=demo_id(f"photo/{name}"),
            sha256=sha,
            captured_at=taken,
            received_at=received,
            lat=round(position[0], 6),
            lon=round(position[1], 6),
            accuracy_m=accuracy,
            fix_at=taken - timedelta(seconds=rng.randrange(2, 40)),
            device_id=device.id,
            entity_type=entity_type,
            entity_id=entity_id,
            mime="image/jpeg",
            size=len(jpeg),
            width=PHOTO_SIZE[0],
            height=PHOTO_SIZE[1],
        )
        self.session.add(photo)
        self.summary.photos += 1
        self.writes[device.id] += 1
        return photo

    def _store(self, data: bytes) -> str:
        """Start keeping ``data`` in the blob store; return its SHA-256 (finish() ingests it)."""
        sha = hashlib.sha256(data).hexdigest()
        if sha not in self.blobs:
            self.blobs[sha] = self.writers.submit(_write_blob, self.backend.blobs, sha, data)
        return sha


# --- helpers ----------------------------------------------------------------------------------------------


def _write_blob(store: BlobStore, sha: str, data: bytes) -> bool:
    """Keep ``data`` as an upload does (append, then hash-checked completion); False if already kept.

    Runs in a worker thread: it touches only the file system, never the session.
    """
    if store.has(sha):
        return False
    if store.received(sha):
        store.delete(sha)  # a partial left by an interrupted run; start again from 0
    store.append(sha, 0, io.BytesIO(data), len(data))
    store.complete(sha)
    return True


def _device_key(device_id: uuid.UUID) -> ec.EllipticCurvePrivateKey:
    """The demo tablet's P-256 key, derived from its id so that a later run can still sign with it.

    A real tablet's key never leaves it; this one is demo data like the rest, and the bearer token,
    which is what sync trusts, stays a random secret nobody has.
    """
    secret = int.from_bytes(hashlib.sha256(f"demo device key/{device_id}".encode()).digest(), "big")
    return ec.derive_private_key(secret % (_P256_ORDER - 1) + 1, ec.SECP256R1())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _iso(moment: datetime) -> str:
    """A time as JavaScript's toISOString writes it (what the PWA records and seals)."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _offset(origin: tuple[float, float], metres: float, bearing_deg: float) -> tuple[float, float]:
    """The point ``metres`` from ``origin`` towards ``bearing_deg`` (flat-earth: a few km at most)."""
    lat, lon = origin
    bearing = math.radians(bearing_deg)
    dlat = metres * math.cos(bearing) / 111_320
    dlon = metres * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def _summary_note(visit: _Visit, answered: int) -> str:
    """The inspection's closing note, as an inspector would write it."""
    if visit.kind == InspectionKind.look_back and not visit.findings:
        return "回头看复查：前次检查发现的隐患均已整改并验收销号，本次未发现新的事故隐患。"
    if not visit.findings:
        return f"共检查{answered}项重点及管理事项，均符合要求，未发现事故隐患。"
    majors = sum(1 for f in visit.findings if f.major is not None)
    found = f"发现事故隐患{len(visit.findings)}处" + (f"（其中重大事故隐患{majors}处）" if majors else "")
    return f"共检查{answered}项重点及管理事项，{found}，已当场向企业负责人反馈并下达整改要求。"


@functools.cache
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's own font for the burnt-in stamp (time and position are ASCII)."""
    try:
        return ImageFont.load_default(size=20)
    except (OSError, ValueError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _photo_jpeg(
    rng: random.Random,
    *,
    fixed: bool,
    stamp: tuple[datetime, tuple[float, float], float],
    exif_time: datetime | None,
    exif_position: tuple[float, float] | None,
    camera: tuple[str, str],
) -> bytes:
    """A JPEG that passes for a site photo: a plant scene, grain, the PWA's stamp, camera EXIF.

    The same ``rng`` seed gives the same scene; ``fixed`` adds what the rectification installed.
    """
    width, height = PHOTO_SIZE
    # Drawn at half size and enlarged: quicker, and the softened edges look less like a drawing.
    image = _scene(rng, width // 2, height // 2, fixed).resize((width, height), Image.Resampling.BILINEAR)
    # Sensor grain, seeded: flat shapes alone look drawn, and compress to a few kB.
    grain = Image.frombytes("L", (width, height), rng.randbytes(width * height)).convert("RGB")
    image = Image.blend(image, grain, 0.07)
    taken, (lat, lon), accuracy = stamp
    # The stamp the PWA burns in (time and position; the enterprise's name would need a CJK font).
    band = image.crop((0, height - 60, width, height)).point(lambda v: v * 45 // 100)
    image.paste(band, (0, height - 60))
    pen = ImageDraw.Draw(image)
    pen.text(
        (14, height - 55),
        taken.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S"),
        fill="white",
        font=_font(),
    )
    pen.text((14, height - 29), f"{lat:.6f}, {lon:.6f} ±{round(accuracy)}m", fill="white", font=_font())
    out = io.BytesIO()
    if exif_time is None and exif_position is None:
        image.save(out, "JPEG", quality=80)
        return out.getvalue()
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = camera
    if exif_time is not None:
        details = exif.get_ifd(ExifTags.IFD.Exif)
        # Cameras write local time; the offset tag says which zone it is.
        details[ExifTags.Base.DateTimeOriginal] = exif_time.astimezone(CHINA_TIME).strftime(
            "%Y:%m:%d %H:%M:%S"
        )
        details[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    if exif_position is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", _dms(exif_position[0])
        gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", _dms(exif_position[1])
    image.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


def _dms(degrees: float) -> tuple[float, float, float]:
    """Degrees as EXIF's (degrees, minutes, seconds)."""
    whole = int(degrees)
    minutes = (degrees - whole) * 60
    return float(whole), float(int(minutes)), round((minutes - int(minutes)) * 60, 4)


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    r, g, b = colour
    return min(255, int(r * factor)), min(255, int(g * factor)), min(255, int(b * factor))


def _scene(rng: random.Random, width: int, height: int, fixed: bool) -> Image.Image:
    """A plant scene: outdoors (sky, sheds, pipe racks) or indoors (wall, machine, ducts, gauges).

    Laid out on an 800×600 grid and drawn at ``width``×``height``.
    """
    k = width / 800

    def box(*values: float) -> list[int]:
        return [round(v * k) for v in values]

    indoor = rng.random() < 0.5
    horizon = rng.randrange(200, 300) if not indoor else rng.randrange(360, 480)
    upper = (rng.randrange(110, 150), rng.randrange(140, 175), rng.randrange(185, 225))
    if indoor:
        upper = (rng.randrange(150, 200), rng.randrange(145, 190), rng.randrange(130, 170))
    lower = (rng.randrange(95, 130), rng.randrange(90, 115), rng.randrange(80, 100))
    gradient = Image.linear_gradient("L")
    image = Image.new("RGB", (width, height))
    # Sky (or wall) lightens downwards, ground (or floor) darkens towards the camera.
    top = gradient.resize((width, round(horizon * k)))
    image.paste(
        Image.merge("RGB", [top.point(lambda v, c=c: c + (235 - c) * v // 400) for c in upper]), (0, 0)
    )
    bottom = gradient.resize((width, height - round(horizon * k)))
    lower_part = Image.merge("RGB", [bottom.point(lambda v, c=c: c * (255 - v // 3) // 255) for c in lower])
    image.paste(lower_part, (0, round(horizon * k)))
    pen = ImageDraw.Draw(image)
    steel = (rng.randrange(105, 150),) * 3
    rust = (rng.randrange(130, 170), rng.randrange(70, 95), rng.randrange(40, 60))
    if not indoor:
        for _ in range(rng.randrange(2, 5)):  # sheds with roofs and doors
            x, w, h = rng.randrange(-60, 720), rng.randrange(150, 330), rng.randrange(90, 200)
            wall = rng.choice([(188, 190, 192), (176, 172, 160), (150, 162, 175), (196, 186, 170)])
            pen.rectangle(box(x, horizon + 20 - h, x + w, horizon + 20), fill=wall, outline=_shade(wall, 0.7))
            roof = box(x - 8, horizon + 20 - h, x + w // 2, horizon - h - 25, x + w + 8, horizon + 20 - h)
            pen.polygon(roof, fill=rng.choice([(70, 95, 140), (120, 60, 50), (90, 100, 105)]))
            door = rng.randrange(x + 20, x + max(21, w - 70))
            pen.rectangle(box(door, horizon - 50, door + 50, horizon + 20), fill=_shade(wall, 0.55))
        for _ in range(rng.randrange(1, 3)):  # chimneys and silos
            x = rng.randrange(0, 760)
            pen.rectangle(
                box(x, horizon - rng.randrange(150, 240), x + rng.randrange(18, 40), horizon + 10), fill=steel
            )
        for _ in range(rng.randrange(1, 3)):  # a pipe rack across the yard
            y = rng.randrange(horizon - 60, horizon + 10)
            pen.line(
                box(0, y, 800, y + rng.randrange(-15, 15)), fill=rust, width=round(rng.randrange(8, 16) * k)
            )
    else:
        x, w, h = rng.randrange(60, 380), rng.randrange(220, 360), rng.randrange(160, 260)
        pen.rounded_rectangle(box(x, horizon - h, x + w, horizon + 10), radius=round(14 * k), fill=steel,
                              outline=_shade(steel, 0.6))  # fmt: skip
        for n in range(rng.randrange(1, 4)):  # gauges
            cx, cy = x + 30 + 55 * n, horizon - h + 40
            pen.ellipse(
                box(cx - 18, cy - 18, cx + 18, cy + 18), fill=(235, 235, 230), outline=(40, 40, 40), width=2
            )
            pen.line(box(cx, cy, cx + rng.randrange(-14, 14), cy - 12), fill=(180, 20, 20), width=2)
        for _ in range(rng.randrange(2, 4)):  # ducts and pipes on the wall
            px = rng.randrange(0, 770)
            pen.rectangle(
                box(px, 0, px + rng.randrange(14, 34), horizon), fill=rng.choice([rust, (60, 110, 70), steel])
            )
        for _ in range(rng.randrange(20, 60)):  # dust on the floor
            dx, dy = rng.randrange(800), rng.randrange(horizon, 600)
            pen.ellipse(box(dx, dy, dx + rng.randrange(3, 8), dy + rng.randrange(2, 5)), fill=(205, 200, 190))
    if fixed:
        # What the rectification installed: a warning sign and a new alarm box with its green light.
        sx, sy = rng.randrange(80, 580), rng.randrange(90, max(91, horizon - 140))
        pen.polygon(
            box(sx, sy + 70, sx + 40, sy, sx + 80, sy + 70), fill=(250, 204, 21), outline=(20, 20, 20)
        )
        pen.line(box(sx + 40, sy + 25, sx + 40, sy + 50), fill=(20, 20, 20), width=max(1, round(6 * k)))
        pen.rectangle(
            box(sx + 110, sy + 10, sx + 180, sy + 80), fill=(230, 232, 228), outline=(60, 60, 60), width=2
        )
        pen.ellipse(box(sx + 135, sy + 22, sx + 155, sy + 42), fill=(40, 200, 90))
    return image


def _signature_png(rng: random.Random) -> bytes:
    """A hand signature as the PWA's pad saves it: dark strokes on a white 600×180 PNG."""
    # Greyscale: the ink is one colour, and the pad's size and look are what matter.
    image = Image.new("L", (600, 180), 255)
    pen = ImageDraw.Draw(image)
    x = rng.randrange(40, 90)
    for _ in range(rng.randrange(3, 6)):
        y = rng.randrange(60, 120)
        points = [(x, y)]
        for _ in range(rng.randrange(6, 14)):
            x += rng.randrange(6, 22)
            y = min(165, max(15, y + rng.randrange(-30, 31)))
            points.append((x, y))
        pen.line(points, fill=30, width=3, joint="curve")
        x += rng.randrange(12, 34)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()

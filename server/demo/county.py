"""The demo county: regions, users of every role, enterprises across the sectors, catalogue, campaign,
and the campaign's activity so far (tablets, inspections, hazards, photos: server/demo/activity.py).

Idempotent: everything is found by its natural key (region code, user name, credit code, or the fixed
uuid5 id of a demo record) and created only when missing, so `flask seed-demo` may run on every `make run`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from server.catalogue.loader import default_catalogue_path, load_catalogue_file
from server.domain.credit_code import make_credit_code
from server.domain.roles import Role
from server.domain.sectors import Sector
from server.models import Campaign, CampaignPhase, Enterprise, Region, RegionLevel, User
from server.services import DbSession, scoring, submissions
from server.services.catalogues import import_catalogue
from server.services.qr import ensure_token
from server.services.users import create_user

#: Shared by every demo account; demo data is for trying the system, never for production.
DEMO_PASSWORD = "jiancha-2026"

S = Sector
_REGIONS = [
    # code, name, level, parent code, issuing authority
    ("141100", "吕梁市", RegionLevel.city, None, "吕梁市应急管理局"),
    ("141123", "兴县", RegionLevel.county, "141100", "兴县应急管理局"),
    ("141123-Z1", "兴县经济技术开发区", RegionLevel.zone, "141123", None),
    ("141123-Z2", "魏家滩工业园区", RegionLevel.zone, "141123", None),
    ("141124", "临县", RegionLevel.county, "141100", "临县应急管理局"),
]

# name, region code, sectors, dust workers, (lat offset, lon offset) from the region's centre, address
_ENTERPRISES: list[tuple[str, str, set[Sector], int | None, tuple[float, float], str]] = [
    (
        "兴县晋兴特钢有限公司",
        "141123-Z1",
        {S.steel, S.gas_area, S.confined_space, S.hazardous_work, S.major_hazard_source},
        None,
        (0.004, 0.006),
        "冶炼路18号",
    ),
    (
        "兴县蔚汾钢铁有限责任公司",
        "141123-Z1",
        {S.steel, S.gas_area, S.confined_space, S.hazardous_work},
        None,
        (-0.006, 0.011),
        "蔚汾大道66号",
    ),
    (
        "山西吕梁兴达铸钢有限公司",
        "141123-Z1",
        {S.steel, S.hazardous_work},
        None,
        (0.010, -0.004),
        "铸造园区3号",
    ),
    (
        "兴县恒通球墨铸管有限公司",
        "141123-Z2",
        {S.steel, S.gas_area, S.hazardous_work},
        None,
        (0.003, 0.002),
        "魏家滩镇工业路9号",
    ),
    ("兴县汾源钢结构制品有限公司", "141123", {S.steel, S.dust_explosion}, 14, (0.021, 0.015), "蔚汾镇北坡村"),
    (
        "兴县鑫钢炉料有限公司",
        "141123-Z2",
        {S.steel, S.gas_area, S.confined_space},
        None,
        (-0.008, 0.009),
        "魏家滩镇园区南路2号",
    ),
    (
        "兴县晋铝铸造有限公司",
        "141123-Z1",
        {S.aluminium_casting, S.hazardous_work, S.confined_space},
        None,
        (-0.012, -0.007),
        "铝业大道1号",
    ),
    (
        "兴县华通铝合金有限公司",
        "141123-Z1",
        {S.aluminium_casting, S.dust_explosion},
        18,
        (0.015, 0.012),
        "铝业大道27号",
    ),
    (
        "兴县铝镁新材料有限公司",
        "141123-Z1",
        {S.aluminium_casting, S.dust_explosion, S.major_hazard_source},
        10,
        (-0.002, 0.019),
        "新材料园5号",
    ),
    ("兴县瓦塘铝型材有限公司", "141123", {S.aluminium_casting}, None, (0.045, -0.031), "瓦塘镇工业园"),
    (
        "兴县黄河铝业深加工有限公司",
        "141123-Z2",
        {S.aluminium_casting, S.hazardous_work},
        None,
        (0.011, -0.006),
        "魏家滩镇黄河路12号",
    ),
    (
        "兴县恒泰铝棒有限公司",
        "141123-Z2",
        {S.aluminium_casting, S.confined_space},
        None,
        (-0.004, -0.013),
        "魏家滩镇园区北路7号",
    ),
    (
        "兴县晟达铝轮毂有限公司",
        "141123-Z1",
        {S.aluminium_casting, S.dust_explosion},
        9,
        (0.018, -0.011),
        "铝业大道40号",
    ),
    (
        "兴县丰源面粉有限公司",
        "141123",
        {S.dust_explosion, S.confined_space},
        12,
        (-0.015, 0.008),
        "蔚汾镇南关街15号",
    ),
    (
        "兴县绿源饲料有限公司",
        "141123",
        {S.dust_explosion, S.confined_space},
        8,
        (-0.021, -0.012),
        "蔚汾镇城南工业区",
    ),
    (
        "兴县森宇木业有限公司",
        "141123",
        {S.dust_explosion, S.hazardous_work},
        25,
        (0.032, 0.021),
        "高家村镇工业园",
    ),
    ("兴县金泰金属抛光有限公司", "141123-Z1", {S.dust_explosion}, 15, (0.007, -0.016), "新材料园12号"),
    ("兴县枣乡红枣粉加工有限公司", "141123", {S.dust_explosion}, 6, (-0.034, 0.027), "康宁镇枣园村"),
    (
        "兴县黄土坡杂粮食品有限公司",
        "141123",
        {S.dust_explosion, S.confined_space},
        11,
        (0.026, -0.024),
        "蔡家会镇杂粮产业园",
    ),
    ("兴县鑫源淀粉制品有限公司", "141123", {S.dust_explosion}, None, (-0.027, -0.019), "蔚汾镇西关村"),
    ("兴县宏达木制品加工厂", "141123", {S.dust_explosion}, 10, (0.038, 0.008), "奥家湾乡工业点"),
    (
        "兴县晋西冷链物流有限公司",
        "141123",
        {S.ammonia_refrigeration, S.confined_space},
        None,
        (-0.009, 0.031),
        "蔚汾镇物流园2号",
    ),
    (
        "兴县红枣冷藏储运有限公司",
        "141123",
        {S.ammonia_refrigeration, S.confined_space, S.major_hazard_source},
        None,
        (-0.031, 0.035),
        "康宁镇冷库区",
    ),
    ("兴县汾河酿造有限公司", "141123", {S.confined_space}, None, (0.013, 0.028), "蔚汾镇东关街8号"),
    (
        "兴县洁源污水处理运营有限公司",
        "141123-Z1",
        {S.confined_space, S.hazardous_work},
        None,
        (-0.016, -0.018),
        "开发区污水厂",
    ),
    (
        "兴县博远机械加工有限公司",
        "141123-Z1",
        {S.hazardous_work, S.dust_explosion},
        13,
        (0.020, 0.002),
        "装备制造园9号",
    ),
    (
        "兴县新宇再生金属有限公司",
        "141123-Z2",
        {S.aluminium_casting, S.steel, S.gas_area},
        None,
        (0.009, 0.014),
        "魏家滩镇循环经济园",
    ),
    (
        "兴县盛达煤气化有限公司",
        "141123-Z2",
        {S.gas_area, S.hazardous_work, S.major_hazard_source, S.confined_space},
        None,
        (-0.013, 0.004),
        "魏家滩镇化工路1号",
    ),
    (
        "兴县鼎盛耐火材料有限公司",
        "141123-Z2",
        {S.dust_explosion, S.hazardous_work},
        20,
        (0.016, -0.015),
        "魏家滩镇园区西路11号",
    ),
    ("兴县精工铸件有限公司", "141123", {S.steel, S.aluminium_casting}, None, (0.028, -0.036), "固贤乡工业点"),
    (
        "兴县国盛粮油加工有限公司",
        "141123",
        {S.dust_explosion, S.ammonia_refrigeration},
        16,
        (-0.040, -0.005),
        "蔚汾镇粮站路4号",
    ),
    (
        "兴县晋通包装材料有限公司",
        "141123-Z1",
        {S.dust_explosion, S.hazardous_work},
        10,
        (0.001, -0.021),
        "新材料园20号",
    ),
    (
        "临县湫水钢铁有限公司",
        "141124",
        {S.steel, S.gas_area, S.hazardous_work},
        None,
        (0.012, 0.010),
        "城庄镇工业园",
    ),
    ("临县碛口铝业有限公司", "141124", {S.aluminium_casting}, None, (-0.018, 0.021), "碛口镇工业点"),
    (
        "临县红枣深加工有限公司",
        "141124",
        {S.dust_explosion, S.ammonia_refrigeration},
        12,
        (0.007, -0.014),
        "临泉镇枣业园",
    ),
    ("临县昌盛木业有限公司", "141124", {S.dust_explosion}, 22, (0.025, 0.004), "安业乡工业点"),
    (
        "临县兴旺冷冻食品有限公司",
        "141124",
        {S.ammonia_refrigeration, S.confined_space},
        None,
        (-0.009, -0.027),
        "临泉镇冷链园",
    ),
]

_CENTRES = {
    "141123": (38.4622, 111.1221),
    "141123-Z1": (38.4390, 111.1540),
    "141123-Z2": (38.5210, 111.0660),
    "141124": (37.9590, 110.9920),
}

# user name, display name, role, region code, badge number
_USERS = [
    ("admin", "系统管理员", Role.admin, None, None),
    ("ll_city", "吕梁市应急局 王监管", Role.city_supervisor, "141100", None),
    ("xx_sup", "兴县应急局 李科长", Role.supervisor, "141123", None),
    ("xx_insp1", "张建国", Role.inspector, "141123", "14112301001"),
    ("xx_insp2", "刘晓燕", Role.inspector, "141123", "14112301002"),
    ("xx_insp3", "赵志强", Role.inspector, "141123", "14112301003"),
    ("xx_insp4", "高文斌", Role.inspector, "141123", "14112301004"),
    ("xx_expert", "孙工（注册安全工程师）", Role.expert, "141123", None),
    ("xx_legal", "兴县应急局 法规科 周审核", Role.legal_reviewer, "141123", None),
    ("lx_sup", "临县应急局 陈科长", Role.supervisor, "141124", None),
    ("lx_insp1", "马俊", Role.inspector, "141124", "14112401001"),
    ("lx_insp2", "郝丽", Role.inspector, "141124", "14112401002"),
]
# enterprise user name → the enterprise's name
_ENTERPRISE_USERS = {
    "qy_jinxing": "兴县晋兴特钢有限公司",
    "qy_fengyuan": "兴县丰源面粉有限公司",
}


@dataclass
class SeedSummary:
    """What seeding created this time (zero everywhere on a second run)."""

    regions: int = 0
    users: int = 0
    enterprises: int = 0
    catalogue: str = ""
    campaign: bool = False
    devices: int = 0
    inspections: int = 0
    hazards: int = 0
    photos: int = 0

    def __str__(self) -> str:
        return (
            f"demo county: {self.regions} regions, {self.users} users, {self.enterprises} enterprises "
            f"created; catalogue {self.catalogue}; campaign {'created' if self.campaign else 'present'}; "
            f"activity: {self.devices} devices, {self.inspections} inspections, {self.hazards} hazards, "
            f"{self.photos} photos created"
        )


def _credit_code(index: int, division: str) -> str:
    """A valid, stable credit code for the index-th demo enterprise (MA-series, as issued since 2015)."""
    return make_credit_code("9", "1", division[:6], f"MA0{index:05d}")


def seed_demo(session: DbSession, today: date | None = None) -> SeedSummary:
    """Create whatever part of the demo county is missing (inside an app context: photos go to its store)."""
    from server.demo.activity import seed_activity
    from server.extensions import current_backend

    today = today or date.today()
    summary = SeedSummary()
    regions = _seed_regions(session, summary)
    outcome = import_catalogue(session, load_catalogue_file(default_catalogue_path()))
    summary.catalogue = f"{outcome.catalogue.code} v{outcome.catalogue.version} {outcome.action}"
    jitter = random.Random(20220502)
    for index, (name, region_code, sectors, dust, (dlat, dlon), street) in enumerate(_ENTERPRISES, 1):
        code = _credit_code(index, region_code)
        if session.scalar(sa.select(Enterprise.id).where(Enterprise.credit_code == code)) is not None:
            continue
        lat0, lon0 = _CENTRES[region_code]
        region = regions[region_code]
        county = region if region.level != RegionLevel.zone else region.parent
        enterprise = Enterprise(
            name=name,
            credit_code=code,
            address=f"山西省吕梁市{county.name if county else ''}{street}",
            region=region,
            lat=round(lat0 + dlat + jitter.uniform(-0.0005, 0.0005), 6),
            lon=round(lon0 + dlon + jitter.uniform(-0.0005, 0.0005), 6),
            dust_workers=dust,
            main_person=jitter.choice("王李张刘陈杨赵黄周吴")
            + jitter.choice(["建平", "文华", "国强", "海军", "秀英"]),
            main_person_phone=f"0358-63{jitter.randrange(10000, 99999)}",
            established_on=date(2005 + index % 15, 1 + index % 12, 1 + index % 27),
        )
        enterprise.sectors = frozenset(sectors)
        session.add(enterprise)
        session.flush()
        ensure_token(session, enterprise)
        summary.enterprises += 1
    _seed_users(session, regions, summary)
    summary.campaign = _seed_campaign(session, regions["141123"], today)
    session.flush()
    activity = seed_activity(session, current_backend(), outcome.catalogue, today)
    summary.devices, summary.inspections = activity.devices, activity.inspections
    summary.hazards, summary.photos = activity.hazards, activity.photos
    return summary


def _seed_regions(session: DbSession, summary: SeedSummary) -> dict[str, Region]:
    regions: dict[str, Region] = {}
    for code, name, level, parent_code, authority in _REGIONS:
        region = session.scalar(sa.select(Region).where(Region.code == code))
        if region is None:
            region = Region(
                code=code,
                name=name,
                level=level,
                parent=regions.get(parent_code) if parent_code else None,
                authority_name=authority,
            )
            session.add(region)
            summary.regions += 1
        regions[code] = region
    session.flush()
    return regions


def _seed_users(session: DbSession, regions: dict[str, Region], summary: SeedSummary) -> None:
    existing = set(session.scalars(sa.select(User.username)))
    for username, display, role, region_code, badge in _USERS:
        if username in existing:
            continue
        create_user(
            session,
            username=username,
            password=DEMO_PASSWORD,
            display_name=display,
            role=role,
            region=regions[region_code] if region_code else None,
            badge_no=badge,
        )
        summary.users += 1
    for username, enterprise_name in _ENTERPRISE_USERS.items():
        if username in existing:
            continue
        enterprise = session.scalar(sa.select(Enterprise).where(Enterprise.name == enterprise_name))
        if enterprise is None:
            continue
        create_user(
            session,
            username=username,
            password=DEMO_PASSWORD,
            display_name=f"{enterprise_name} 安全管理员",
            role=Role.enterprise,
            enterprise=enterprise,
        )
        summary.users += 1


def _seed_campaign(session: DbSession, county: Region, today: date) -> bool:
    """The seed notice's phases, laid on the current year (the dates are data; edit them freely)."""
    code = f"xingxian-{today.year}-dajiancha"
    if session.scalar(sa.select(Campaign.id).where(Campaign.code == code)) is not None:
        return False
    year = today.year
    campaign = Campaign(
        code=code,
        name=f"兴县冶金工贸行业安全生产大检查大整治大提升（{year}年）",
        region=county,
        sampling_percent=10,
    )
    campaign.phases = [
        CampaignPhase(
            code="deployment", name="动员部署", starts_on=date(year, 4, 20), ends_on=date(year, 5, 2)
        ),
        CampaignPhase(
            code="self_inspection", name="企业自查自改", starts_on=date(year, 5, 3), ends_on=date(year, 5, 31)
        ),
        CampaignPhase(
            code="county_coverage",
            name="县级全覆盖检查",
            starts_on=date(year, 6, 1),
            ends_on=date(year, 8, 31),
        ),
        CampaignPhase(
            code="city_sampling", name="市级督导抽查", starts_on=date(year, 9, 1), ends_on=date(year, 10, 31)
        ),
        CampaignPhase(
            code="look_back", name="回头看", starts_on=date(year, 11, 1), ends_on=date(year, 11, 30)
        ),
    ]
    session.add(campaign)
    submissions.add_default_requirements(session, campaign, year)
    scoring.add_default_criteria(session, campaign)
    return True


def demo_logins_text() -> str:
    """The demo accounts, for `make run` to print."""
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    for username, display, role, region_code, _badge in _USERS:
        region = next((r[1] for r in _REGIONS if r[0] == region_code), "全部")
        lines.append(f"  {username:<12} {role.value:<16} {region:<6} {display}")
    for username, enterprise_name in _ENTERPRISE_USERS.items():
        lines.append(f"  {username:<12} {Role.enterprise.value:<16} {'':<6} {enterprise_name}")
    return "\n".join(lines)

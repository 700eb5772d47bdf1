"""What the demo campaign did: the tablets, the visits and what each found, who reviewed, who approved
(the data server/demo/activity.py writes the way sync writes it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from server.domain.hazards import FIVE_IN_PLACE, HazardEventKind
from server.domain.inspections import InspectionKind, InspectionStatus

# --- what happened: devices, visits, findings ----------------------------------------------------------

UA = "Mozilla/5.0 (Linux; Android 13; {model}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"

# user name, device label, camera make and model (user agent and EXIF), how long ago it last synced
DEVICES: list[tuple[str, str, tuple[str, str], timedelta]] = [
    ("xx_insp1", "执法平板 兴县-01", ("HUAWEI", "BAH3-W09"), timedelta(hours=2, minutes=10)),
    ("xx_insp2", "执法平板 兴县-02", ("HUAWEI", "HEY2-W09"), timedelta(hours=26, minutes=40)),
    # Silent for ten days: the dashboard's "devices not seen lately" has something to show.
    ("lx_insp1", "执法平板 临县-01", ("Xiaomi", "23043RP34C"), timedelta(days=10, hours=3)),
]

DOWNGRADE = "现场核实该问题范围局限、可立即整改，不符合重大事故隐患判定标准情形，按一般事故隐患处理。"

# The hazard's path after 'found' (its final state is where the path ends).
PATHS: dict[str, tuple[HazardEventKind, ...]] = {
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
EVENT_SHARE = {
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
class Finding:
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
class Visit:
    """One inspection: where, what kind, by whom, how it ended and what was found."""

    key: str
    enterprise: str
    kind: InspectionKind
    status: InspectionStatus
    inspector: str
    partner: str
    #: Where in its phase's days the visit falls, 0..1 (the draft is yesterday instead).
    when: float
    findings: tuple[Finding, ...] = ()
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
VISITS: list[Visit] = [
    Visit("xx-01", "兴县晋兴特钢有限公司", K.county, S.approved, "xx_insp1", "xx_insp3", 0.10, expert=True, findings=(
        Finding("ST-6", "listed", "炼铁厂1#高炉主控室及煤气加压站",
                 "1#高炉主控室、煤气加压站值班室未设置固定式一氧化碳监测报警装置，现场仅配备2台便携式报警仪。",
                 "在主控室、加压站值班室等6处人员集中场所安装固定式一氧化碳报警装置并接入DCS声光报警。",
                 major=_Major("一、立即在主控室、加压站配备便携式一氧化碳报警仪并实行双人值守；二、委托有资质单位设计"
                              "固定式报警系统，报警信号接入DCS及中控室声光报警；三、安装调试后组织验收并报县应急管理局。",
                              86000, _all_five(contingency_plan=False))),
        Finding("CS-2", "closed", "煤气管网2#排水器井", "煤气排水器井入口未设置有限空间安全警示标志。",
                 "设置“有限空间 未经许可严禁入内”警示标志并登记有限空间台账。"),
    )),
    Visit("xx-02", "兴县蔚汾钢铁有限责任公司", K.county, S.approved, "xx_insp2", "xx_insp4", 0.15, findings=(
        Finding("ST-2", "accepted", "炼钢车间3#铸造起重机",
                 "3#铸造起重机钢丝绳端头固定压板1处松动，近两个月点检记录缺失。",
                 "紧固压板，补做钢丝绳及龙门钩专项检查，恢复每周点检并建立记录。"),
        Finding("HW-1", "closed", "轧钢车间加热炉检修现场", "动火作业票未注明气体检测结果即开始动火作业。",
                 "停止作业，补做气体检测，对作业审批人及监护人开展危险作业制度培训。"),
    )),
    Visit("xx-03", "山西吕梁兴达铸钢有限公司", K.county, S.submitted, "xx_insp1", "xx_insp4", 0.22, far=True),
    Visit("xx-04", "兴县恒通球墨铸管有限公司", K.county, S.submitted, "xx_insp2", "xx_insp3", 0.30, findings=(
        Finding("ST-7", "overdue", "退火车间煤气管道末端", "退火炉煤气管道末端未设置吹扫放散管，隔断装置仅有单阀。",
                 "增设氮气吹扫接口及放散管，隔断处改为“阀门+盲板”。", photos=2),
    )),
    Visit("xx-05", "兴县汾源钢结构制品有限公司", K.unannounced, S.submitted, "xx_insp1", "xx_insp2", 0.36, findings=(
        Finding("DU-6", "reported", "抛丸车间", "抛丸工位地面及设备顶部积尘厚度超过1毫米，未见当班清扫记录。",
                 "制定粉尘清理制度，每班清扫并记录，设备顶部每周清理一次。", evidence="gps_off"),
    )),
    Visit("xx-06", "兴县晋铝铸造有限公司", K.county, S.submitted, "xx_insp2", "xx_insp4", 0.42, findings=(
        Finding("AL-1", "rejected", "熔铸车间2#熔铝炉", "熔铝炉冷却水应急水池液位低于下限，应急水泵未接入保安电源。",
                 "恢复应急水池液位并设液位报警，应急水泵接入保安电源，每月试车一次。",
                 rejection="复查发现应急水泵仍未接入保安电源，整改不到位。", evidence="time_off"),
    )),
    Visit("xx-07", "兴县华通铝合金有限公司", K.county, S.approved, "xx_insp1", "xx_insp3", 0.48, expert=True),
    Visit("xx-08", "兴县铝镁新材料有限公司", K.unannounced, S.submitted, "xx_insp1", "xx_insp4", 0.55, expert=True,
           findings=(
        Finding("DU-2", "reported", "镁合金抛光车间干式除尘器",
                 "镁合金抛光粉尘干式除尘器未设置泄爆装置，也未采取惰化、抑爆等控爆措施。",
                 "除尘器加装泄爆片及无焰泄爆装置，增设火花探测熄灭系统，改造完成前停止抛光作业。", photos=2,
                 evidence="coarse",
                 major=_Major("一、抛光工序立即停产，切断除尘系统电源；二、委托设计单位按GB 15577编制除尘系统"
                              "改造方案；三、安装泄爆及火花探测熄灭装置，经专家论证验收后方可复产。",
                              240000, _all_five(), stop_production=True)),
        Finding("MG-2", "planned", "镁粉仓库", "重大危险源登记建档资料未更新，在线监测数据未接入监管平台。",
                 "更新重大危险源档案，完成监测数据联网。"),
    )),
    Visit("xx-09", "兴县丰源面粉有限公司", K.county, S.submitted, "xx_insp2", "xx_insp4", 0.62, findings=(
        Finding("DU-5", "open", "制粉车间1#磨粉机", "磨粉机进料口磁选装置失效，未设置杂物去除措施。",
                 "更换永磁筒并建立每班清理记录。", evidence="no_exif"),
        Finding("CS-2", "accepted", "3#面粉筒仓", "面粉筒仓入口未设置有限空间安全警示标志。",
                 "设置有限空间警示标志并落实“先通风、再检测、后作业”告知。"),
    )),
    Visit("xx-10", "兴县黄土坡杂粮食品有限公司", K.county, S.returned, "xx_insp1", "xx_insp3", 0.68,
           returned_because="CS-2 隐患未附整改期限说明，有限空间作业审批单未拍照留存，请补充后重新提交。", findings=(
        Finding("CS-2", "overdue", "地下料坑", "地下料坑入口警示标志脱落，未设置防护栏。",
                 "恢复警示标志，增设防护栏并上锁管理。"),
    )),
    Visit("xx-11", "兴县红枣冷藏储运有限公司", K.county, S.submitted, "xx_insp2", "xx_insp3", 0.74, broken_seal=True,
           findings=(
        Finding("CS-2", "closed", "制冷机房集液器检修坑", "氨机房集液器检修坑未设置有限空间安全警示标志。",
                 "设置警示标志并纳入有限空间台账。"),
    )),
    Visit("xx-12", "兴县汾河酿造有限公司", K.county, S.submitted, "xx_insp1", "xx_insp4", 0.80,
           # Markup typed into a note is evidence like any other text: pages must show it, escaped.
           notes={"CS-2": "发酵罐区警示标志齐全。<script>alert(1)</script>"}),
    Visit("xx-13", "兴县盛达煤气化有限公司", K.county, S.approved, "xx_insp2", "xx_insp3", 0.86, findings=(
        Finding("CS-1", "accepted", "2#气化炉", "气化炉检修进入炉膛作业未制定有限空间作业方案，作业审批单无审批人签字。",
                 "停止进入作业，制定有限空间作业方案并履行审批，作业前检测分析并全程监护。",
                 major=_Major("一、立即停止气化炉内部检修作业；二、编制有限空间作业方案并经主要负责人审批；"
                              "三、对作业及监护人员开展专项培训考核；四、完善审批流程后方可恢复作业。",
                              35000, _all_five())),
        Finding("HW-1", "closed", "净化工段", "煤气区域盲板抽堵作业未办理危险作业票。",
                 "补办作业票，明确盲板抽堵作业审批及监护要求。"),
    )),
    Visit("xx-14", "兴县盛达煤气化有限公司", K.look_back, S.submitted, "xx_insp2", "xx_insp4", 0.50),
    Visit("xx-15", "兴县鑫钢炉料有限公司", K.unannounced, S.draft, "xx_insp1", "xx_insp2", 0.0),
    Visit("lx-01", "临县湫水钢铁有限公司", K.county, S.submitted, "lx_insp1", "lx_insp2", 0.25, findings=(
        Finding("ST-3", "overdue", "炼钢车间转炉跨", "转炉跨铁水吊运影响范围内设置临时休息室。",
                 "拆除临时休息室，另行选址设置。"),
    )),
    Visit("lx-02", "临县碛口铝业有限公司", K.county, S.submitted, "lx_insp1", "lx_insp2", 0.45),
    Visit("lx-03", "临县昌盛木业有限公司", K.unannounced, S.approved, "lx_insp1", "lx_insp2", 0.60, findings=(
        Finding("DU-6", "closed", "砂光车间", "砂光机周边及除尘管道积尘未及时清扫。",
                 "每班清扫，除尘管道每周清灰并记录。"),
    )),
]
# fmt: on
del K, S

# Who approves or returns, by the inspector's county; who lists a hazard for city supervision.
REVIEWERS = {"xx": "xx_sup", "lx": "lx_sup"}
CITY = "ll_city"
EXPERT = "xx_expert"
# Enterprises with their own accounts record their rectification plans themselves.
ENTERPRISE_ACCOUNTS = {"兴县晋兴特钢有限公司": "qy_jinxing", "兴县丰源面粉有限公司": "qy_fengyuan"}

SURNAMES = "王李张刘陈杨赵黄周吴郭马"
GIVEN = ["海军", "建平", "晓东", "国庆", "丽娟", "志刚", "文斌", "玉梅", "永红", "卫东"]
PLAIN_NOTES = ["现场查看符合要求。", "查阅台账及记录，符合要求。", "抽查2处，符合要求。"]
NOT_APPLICABLE = {"MG-3": "企业无发包、出租的生产经营项目。", "MG-5": "近三年无新建、改建、扩建项目。"}

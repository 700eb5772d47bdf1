"""The report's figures and form: per-county counts, the sections and columns of the notice's table, and the report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from server.domain.hazards import HazardState
from server.services.progress_report.period import Cutoff
from server.services.progress_report.units import ReportUnit

# --- the figures ------------------------------------------------------------------------------------------------


@dataclass
class SourceFigures:
    """Hazards found and rectified, from one source (regulators' inspections, or the enterprises' own ledgers)."""

    general: int = 0
    major: int = 0
    rectified: int = 0

    @property
    def total(self) -> int:
        """Hazards found from this source."""
        return self.general + self.major


@dataclass
class UnitFigures:
    """One row of the form: a county's (or the total's) figures as of the cut-off."""

    unit: ReportUnit
    # 1. inspection groups
    groups: int = 0
    inspectors: int = 0
    experts: int = 0
    # 2. supervising departments
    county_inspections: int = 0
    city_inspections: int = 0
    enterprises_covered: int = 0
    enterprises_in_scope: int = 0
    cleared: int = 0
    # 3. hazard rectification
    self_inspected: int = 0
    hazards_general: int = 0
    hazards_major: int = 0
    rectified_general: int = 0
    rectified_major: int = 0
    funds_yuan: Decimal = Decimal("0")
    overdue: int = 0
    listed: int = 0
    by_source: dict[str, SourceFigures] = field(
        default_factory=lambda: {"regulator": SourceFigures(), "self": SourceFigures()}
    )

    @property
    def inspections(self) -> int:
        """County and city inspections together."""
        return self.county_inspections + self.city_inspections

    @property
    def hazards(self) -> int:
        """Hazards found, general and major."""
        return self.hazards_general + self.hazards_major

    @property
    def rectified(self) -> int:
        """Hazards rectified (accepted or closed), general and major."""
        return self.rectified_general + self.rectified_major

    @property
    def rectification_rate(self) -> float | None:
        """Rectified / found, in percent (None when nothing was found)."""
        return 100.0 * self.rectified / self.hazards if self.hazards else None

    @property
    def coverage_rate(self) -> float | None:
        """Enterprises covered / in scope, in percent (None when nothing is in scope)."""
        return (
            100.0 * self.enterprises_covered / self.enterprises_in_scope
            if self.enterprises_in_scope
            else None
        )

    @property
    def funds_wan(self) -> Decimal:
        """Funds in 万元 (10,000 yuan), two decimals, as the form asks."""
        return yuan_to_wan(self.funds_yuan) or Decimal("0.00")


#: The notice's attachment: its title and the labels of its parts, word for word.
FORM_TITLE = "冶金工贸行业安全生产大检查大整治大提升专项行动统计报表"
ITEM_COLUMN = "统计项"
MAJOR_TITLE = "专项行动检查发现重大隐患明细"
FILLED_BY, FILLED_ON, UNIT, PHONE = "填表人", "填表日期", "填报单位", "联系电话"


def yuan_to_wan(yuan: Decimal | None) -> Decimal | None:
    """An amount in yuan as 万元 (10,000 yuan), two decimals: the unit the form's money columns name."""
    if yuan is None:
        return None
    return (Decimal(yuan) / 10000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


#: The form's columns: (section, key of UnitFigures, Chinese label, English label, kind of value).
SECTIONS: list[tuple[str, str, list[tuple[str, str, str, str]]]] = [
    ("一、成立检查组", "Inspection groups", [
        ("groups", "检查组（个）", "groups", "int"),
        ("inspectors", "执法检查人员（人）", "inspectors", "int"),
        ("experts", "参与专家（人）", "experts", "int"),
    ]),
    ("二、督查监管部门情况", "Supervising departments", [
        ("county_inspections", "县级检查（家次）", "county inspections", "int"),
        ("city_inspections", "市级抽查（家次）", "city sampling", "int"),
        ("enterprises_covered", "检查覆盖企业（家）", "enterprises covered", "int"),
        ("enterprises_in_scope", "纳入行动企业（家）", "enterprises in scope", "int"),
        ("coverage_rate", "覆盖率（%）", "coverage", "rate"),
        ("cleared", "重点事项清零企业（家）", "enterprises with every key item cleared", "int"),
    ]),
    ("三、企业隐患排查整治进展情况", "Enterprises' hazard rectification", [
        ("self_inspected", "开展自查企业（家）", "enterprises self-inspected", "int"),
        ("hazards", "排查发现隐患（项）", "hazards found", "int"),
        ("hazards_major", "其中重大隐患（项）", "of which major", "int"),
        ("rectified", "已整改（项）", "rectified", "int"),
        ("rectified_major", "其中重大隐患已整改（项）", "major rectified", "int"),
        ("rectification_rate", "整改率（%）", "rectification rate", "rate"),
        ("funds_wan", "整改资金（万元）", "funds (10k yuan)", "money"),
        ("overdue", "逾期未整改（项）", "overdue", "int"),
    ]),
]  # fmt: skip
COLUMNS: list[tuple[str, str, str, str]] = [column for _, _, columns in SECTIONS for column in columns]


@dataclass(frozen=True)
class MajorHazardRow:
    """One line of the itemised list of major hazards (重大事故隐患清单), as of the cut-off."""

    serial: int
    hazard_id: uuid.UUID
    unit: str
    enterprise: str
    description: str
    place: str
    source: str
    found_on: date
    measures: str
    responsible_person: str
    deadline: date | None
    state: HazardState
    overdue: bool
    #: 挂牌督办 as of the cut-off: level and number, "已摘牌 …" once delisted, "" when never listed.
    supervision: str
    funds_yuan: Decimal | None

    @property
    def funds_wan(self) -> Decimal | None:
        """The hazard's rectification funds in 万元, as the list's column names them."""
        return yuan_to_wan(self.funds_yuan)

    @property
    def progress(self) -> str:
        """The state's Chinese label, with 已逾期 when the deadline has passed without a reported fix."""
        return self.state.label_zh + ("（已逾期）" if self.overdue else "")


@dataclass(frozen=True)
class PhaseUnit:
    """One row's coverage and 清零 in one phase."""

    unit: ReportUnit
    in_scope: int
    inspected: int
    cleared: int | None


@dataclass(frozen=True)
class PhaseProgress:
    """Coverage and 清零 of one campaign phase, as the report's cut-off knows them."""

    code: str
    name: str
    starts_on: date
    ends_on: date
    #: "ended", "current" (running on the cut-off day) or "future".
    status: str
    #: The day 清零 is taken at the end of (the phase's last day, or the cut-off day); None for a future phase.
    as_of: date | None
    total: PhaseUnit
    units: list[PhaseUnit]

    @property
    def status_zh(self) -> str:
        """The phase's status in Chinese."""
        return {"ended": "已结束", "current": "进行中", "future": "未开始"}[self.status]


@dataclass(frozen=True)
class ProgressReport:
    """The monthly report (or final summary) as of its cut-off, ready for the page, the workbook and JSON."""

    cutoff: Cutoff
    provisional: bool
    campaign_name: str | None
    campaign_code: str | None
    #: The phase running on the cut-off day, and on the day the report was made.
    phase_at_cutoff: str | None
    phase_today: str | None
    #: 填报单位, 填报人, 联系电话, 填报日期.
    unit_name: str
    filled_by: str
    phone: str
    filled_on: date
    scope_name: str
    rows: list[UnitFigures]
    total: UnitFigures
    majors: list[MajorHazardRow]
    phases: list[PhaseProgress]
    #: The day overdue is counted on: the cut-off day, or today while the report is provisional.
    as_of: date | None = None
    #: The campaign's first day, and the hazards found before it or after its last day (on record by the cut-off):
    #: listed apart, not counted.
    campaign_starts_on: date | None = None
    before_campaign: int = 0
    after_campaign: int = 0
    #: Workbooks drawn of these very figures, by heading and audit head (shared with the cached figures, so a
    #: repeated download is not drawn again; see xlsx.report_xlsx).
    drawn: dict[Any, bytes] = field(default_factory=dict, compare=False, repr=False)
    #: When the figures were counted (server clock), and whether the data changed since (a page showing the last
    #: count while it is counted again; the workbook is never stale).
    counted_at: datetime | None = field(default=None, compare=False)
    stale: bool = field(default=False, compare=False)
    #: The counted figures' key (scope, period, day…) as text: names the one recount of them at a time.
    count_key: str = field(default="", compare=False)

    @property
    def title(self) -> str:
        """The attachment's own title, word for word (the period is on its own line: ``period``)."""
        return FORM_TITLE

    @property
    def period(self) -> str:
        """The report's period, e.g. （2026年7月，截至7月23日） or （工作总结，截至2026年11月15日）."""
        day = self.cutoff.day
        if self.cutoff.final:
            return f"（工作总结，截至{day.year}年{day.month}月{day.day}日）"
        return f"（{self.cutoff.label}，截至{day.month}月{day.day}日）"

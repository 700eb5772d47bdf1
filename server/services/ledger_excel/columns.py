"""The ledger's columns (template headers, accepted spellings, kinds), its header rules and an entry's identity."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from typing import Any

from server import clock
from server.domain.hazards import FIVE_IN_PLACE, HazardEventKind, HazardLevel
from server.services.spreadsheet import (
    HeaderSpec,
    key,
    loose_key,
)

# --- Columns --------------------------------------------------------------------------------------------------

#: Far enough for any deadline, near enough to catch a typed 2202.
LATEST_DEADLINE = date(2100, 12, 31)
LEDGER_NAMESPACE = uuid.UUID("0d5c3f3e-6f0a-4c59-9a43-2026a1ed9e70")
LEVEL_LABELS = {HazardLevel.general: "一般事故隐患", HazardLevel.major: "重大事故隐患"}
FIVE_IN_PLACE_KEYS = tuple(FIVE_IN_PLACE)
TERM_KEYS = ("responsible_person", "measures", "completed_by", "accepted_by", "checked_by", "completed_on",
             "recheck_on", "recheck_by", "acceptance", "accepted_on", "category", "ledger_state", "remarks")  # fmt: skip
_DATE_TERMS = frozenset({"completed_on", "recheck_on", "accepted_on"})


@dataclass(frozen=True)
class Column:
    """A ledger column: its key, its template header, accepted spellings, width, kind and help text."""

    key: str
    header: str
    aliases: tuple[str, ...]
    width: float
    kind: str  # text, number, date, past_date, level, state, item, money, flag
    help_zh: str
    help_en: str
    required: bool = False
    limit: int = 1000


COLUMNS: tuple[Column, ...] = (
    Column("ledger_no", "序号", ("序号", "编号", "隐患编号", "台账编号", "no", "no.", "number", "ledger no"), 7,
           "number", "条目编号，同一企业内唯一；重新导入时按编号识别同一条隐患。可不填（按检查时间+部位+描述识别）",
           "entry number, unique in the enterprise; re-imports match entries by it (optional)", limit=32),
    Column("found_at", "检查时间", ("检查时间", "检查日期", "排查日期", "排查时间", "发现时间", "发现日期",
                                    "自查日期", "date", "check date", "found at", "found on"), 12,
           "past_date", "发现隐患的日期，如 2022-05-03、2022/5/3、2022年5月3日", "date the hazard was found",
           required=True),
    Column("checked_by", "检查人", ("检查人", "排查人", "检查人员", "排查人员", "自查人", "checked by", "inspector"),
           10, "text", "检查（排查）人员姓名，多人用顿号分隔", "who checked (names)", limit=200),
    Column("place", "隐患部位", ("隐患部位", "地点", "隐患地点", "部位", "检查部位", "场所", "隐患部位(地点)",
                                 "排查部位", "隐患场所", "排查场所", "检查场所", "位置", "隐患位置", "所在部位",
                                 "所在位置", "区域", "隐患区域", "车间/部位", "部位/场所", "排查部位/场所",
                                 "隐患部位/场所", "隐患部位(场所)", "排查部位(场所)", "place", "location"), 16, "text",
           "车间、装置或设备的位置", "where", limit=200),
    Column("description", "隐患描述", ("隐患描述", "隐患内容", "隐患情况", "存在问题", "存在的问题", "问题描述",
                                       "隐患描述(内容)", "description", "hazard"), 36, "text",
           "隐患的具体情况（必填）", "what is wrong (required)", required=True, limit=10000),
    Column("level", "隐患等级", ("隐患等级", "隐患级别", "等级", "级别", "隐患等级(一般/重大)", "level"), 13, "level",
           "一般事故隐患 或 重大事故隐患（下拉选择）", "一般事故隐患 (general) or 重大事故隐患 (major)"),
    Column("category", "隐患类别", ("隐患类别", "隐患类型", "类别", "类型", "隐患分类", "问题类别", "问题类型",
                                    "category"), 12, "text", "隐患类别，如 设备设施、作业环境、安全管理",
           "category, e.g. equipment, environment, management", limit=64),
    Column("item_code", "关联检查事项", ("关联检查事项", "检查事项", "重点检查事项", "事项编号", "关联事项",
                                         "item", "item code", "key item"), 12, "item",
           "对应的重点检查事项编号，如 ST-6（可不填）", "key item code such as ST-6 (optional)", limit=16),
    Column("measures", "整改措施", ("整改措施", "治理措施", "措施", "measures"), 28, "text",
           "五定：整改措施", "五定: measures"),
    Column("responsible_person", "责任人", ("责任人", "整改责任人", "责任人员", "整改负责人", "负责人",
                                             "responsible person"), 10,
           "text", "五定：整改责任人", "五定: responsible person", limit=200),
    Column("deadline", "整改期限", ("整改期限", "整改时限", "完成期限", "完成时限", "期限", "时限",
                                    "要求完成时间", "要求完成日期", "计划完成时间", "计划完成日期", "整改期限(日期)",
                                    "deadline"), 12, "date",
           "五定：整改完成期限（日期）", "五定: deadline (date)"),
    Column("funds_yuan", "整改资金（元）", ("整改资金(元)", "整改资金", "资金", "资金(元)", "治理资金",
                                          "投入资金", "整改金额", "投入金额", "金额", "整改投入", "资金投入", "整改费用",
                                          "funds", "funds (yuan)"), 12, "money",
           "整改投入资金，单位元（表头写明“万元”时按万元），不小于 0；也可写 3万元、1.5万、30,000元",
           "funds in yuan (in 万元 when the header says so), 0 or more; 3万元 and 30,000元 also work"),
    Column("completed_on", "完成日期", ("完成日期", "整改完成时间", "整改完成日期", "完成时间", "completed on",
                                        "completion date"), 12, "past_date",
           "整改完成日期；填写后记为“报告整改完成”", "completion date: recorded as reported fixed"),
    Column("ledger_state", "整改状态", ("整改状态", "整改情况", "治理状态", "完成情况", "整改进度", "状态",
                                        "整改结果", "治理情况", "state"), 10, "state",
           "未整改、整改中、已整改 或 已验收；已整改须同时填写完成日期", "未整改 / 整改中 / 已整改 / 已验收"),
    Column("completed_by", "整改完成人", ("整改完成人", "完成人", "整改人", "completed by"), 10, "text",
           "五定：整改完成人", "五定: who completed it", limit=200),
    Column("recheck_on", "复查日期", ("复查日期", "复查时间", "recheck date", "rechecked on"), 12, "past_date",
           "复查日期", "re-check date"),
    Column("recheck_by", "复查人", ("复查人", "复查人员", "rechecked by"), 10, "text", "复查人", "who re-checked",
           limit=200),
    Column("acceptance", "验收情况", ("验收情况", "验收结论", "验收意见", "验收结果", "acceptance"), 14, "text",
           "验收结论，如“合格”", "acceptance conclusion, e.g. 合格"),
    Column("accepted_by", "验收人", ("验收人", "验收人员", "accepted by"), 10, "text",
           "五定：验收人", "五定: who accepted", limit=200),
    Column("accepted_on", "验收日期", ("验收日期", "验收时间", "accepted on"), 12, "past_date",
           "验收日期；一般事故隐患填写验收日期和验收人后记为“验收通过”，重大事故隐患由监管部门验收",
           "acceptance date: a general hazard with date and acceptor is accepted; a major one awaits the regulator"),
    Column("treatment_plan", "治理方案", ("治理方案", "整改方案", "重大隐患治理方案", "treatment plan"), 24, "text",
           "重大事故隐患的治理方案（目标任务、方法措施、经费物资、机构人员、时限要求、安全措施和应急预案）",
           "major hazards: the treatment plan", limit=10000),
    Column("remarks", "备注", ("备注", "说明", "备注说明", "remarks", "notes"), 16, "text", "备注", "remarks"),
    Column("five:measures", "措施到位", ("措施到位", "整改措施到位", "五到位措施", "五到位措施到位"), 8, "flag",
           "五到位：措施到位（是/否）", "五到位: measures in place (yes/no)"),
    Column("five:responsibility", "责任到位", ("责任到位", "五到位责任", "五到位责任到位"), 8, "flag",
           "五到位：责任到位（是/否）", "五到位: responsibility in place"),
    Column("five:funds", "资金到位", ("资金到位", "五到位资金", "五到位资金到位"), 8, "flag",
           "五到位：资金到位（是/否）", "五到位: funds in place"),
    Column("five:time_limit", "时限到位", ("时限到位", "时间到位", "五到位时限", "五到位时限到位", "五到位时间"), 8,
           "flag", "五到位：时限到位（是/否）", "五到位: time limit in place"),
    Column("five:contingency_plan", "预案到位", ("预案到位", "应急预案到位", "五到位预案", "五到位预案到位",
                                               "五到位应急预案"), 8, "flag",
           "五到位：应急预案到位（是/否）", "五到位: contingency plan in place"),
    Column("reported_to_regulator_on", "报告监管部门日期", ("报告监管部门日期", "报告监管部门时间",
                                                            "向监管部门报告日期", "报监管部门日期",
                                                            "reported to regulator"), 12, "past_date",
           "双报告：重大事故隐患报告负有监管职责部门的日期", "major hazards: reported to the regulator on"),
    Column("reported_to_workers_congress_on", "报告职代会日期", ("报告职代会日期", "报告职代会时间",
                                                                 "向职代会报告日期", "报职代会日期",
                                                                 "reported to workers congress"), 12,
           "past_date", "双报告：重大事故隐患报告职工大会或职工代表大会的日期",
           "major hazards: reported to the workers' congress on"),
    Column("stop_production", "是否停产", ("是否停产", "停产", "是否停产整改", "停产整改", "stop production"), 8,
           "flag", "是否停产（停业）整改（是/否）", "production stopped (yes/no)"),
)  # fmt: skip
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
#: One column naming what of 五到位 is in place, instead of five.
FIVE_IN_PLACE_COLUMN = Column("five_in_place", "五到位", ("五到位", "五到位情况", "five in place"), 20, "five",
                              "五到位", "五到位")  # fmt: skip
#: Columns an export adds, ignored on import.
EXPORT_ONLY = ("当前状态", "是否逾期", "检查类型", "检查记录状态")
_EXPORT_ONLY_KEYS = frozenset(key(h) for h in (*EXPORT_ONLY, "逾期", "overdue"))
_ALIASES: dict[str, str] = {
    key(a): c.key for c in (*COLUMNS, FIVE_IN_PLACE_COLUMN) for a in (c.header, *c.aliases)
}
REQUIRED = ("found_at", "description")
_LABELS = {c.key: c.header for c in (*COLUMNS, FIVE_IN_PLACE_COLUMN)}

_FIVE_WORDS: dict[str, str] = {
    **dict.fromkeys(("措施", "整改措施", "措施到位", "measures"), "measures"),
    **dict.fromkeys(("责任", "责任到位", "responsibility"), "responsibility"),
    **dict.fromkeys(("资金", "资金到位", "funds"), "funds"),
    **dict.fromkeys(("时限", "时间", "时限到位", "time limit", "timelimit"), "time_limit"),
    **dict.fromkeys(
        ("预案", "应急预案", "预案到位", "contingency plan", "contingencyplan"), "contingency_plan"
    ),
}
_NEGATIVE_ACCEPTANCE = ("不合格", "未通过", "不通过", "不同意", "未验收", "待验收", "不予验收")
_NO_HAZARD = re.compile(r"^(本次)?(检查|排查)?(未发现|无)(安全|事故)?(隐患|问题)?[。.]?$")
_EXAMPLE_WORDS = ("示例", "例", "example", "样例")
_MAX_FUNDS = Decimal("999999999999.99")
#: The Hazard columns a row may fill besides description, level, ledger number and terms.
_HAZARD_ATTRS = ("place", "item_code", "funds_yuan", "treatment_plan", "reported_to_regulator_on",
                 "reported_to_workers_congress_on", "stop_production", "five_in_place")  # fmt: skip
#: Entries written between flushes.
FLUSH_EVERY = 100
#: Minutes after noon at which each kind of event is stamped, so that same-day steps keep their order.
_STAMP_MINUTE = {
    HazardEventKind.found: 0,
    HazardEventKind.rectification_reported: 1,
    HazardEventKind.accepted: 2,
}


def zone() -> tzinfo:
    """The bureau's time zone (server.clock), in which a ledger's days are counted."""

    return clock.zone()


def local_date(at: datetime, tz: tzinfo) -> date:
    """The day ``at`` falls on in ``tz``."""
    return at.astimezone(tz).date()


def stamp(day: date, kind: HazardEventKind, tz: tzinfo) -> datetime:
    """When an event of ``kind`` on ``day`` is logged: noon of that day in ``tz`` (plus the kind's minute), UTC."""
    return datetime.combine(day, time(12, _STAMP_MINUTE.get(kind, 0)), tzinfo=tz).astimezone(UTC)


def _norm(value: Any) -> str:
    """Text folded for identity and comparison: NFKC, no whitespace at all, lower case."""
    return "".join(unicodedata.normalize("NFKC", str(value or "")).split()).lower()


def entry_id(enterprise_id: uuid.UUID, ledger_no: str | None, found_on: date, place: str | None,
             description: str) -> uuid.UUID:  # fmt: skip
    """The entry's stable id: by its number, or without one by its check date, place and description."""
    if ledger_no:
        return uuid.uuid5(LEDGER_NAMESPACE, f"{enterprise_id}|no|{_norm(ledger_no)}")
    return uuid.uuid5(
        LEDGER_NAMESPACE, f"{enterprise_id}|row|{found_on.isoformat()}|{_norm(place)}|{_norm(description)}"
    )


#: Hears how far a long import got: steps done, steps known (None while unknown), and the stage's key.
Progress = Callable[[int, int | None, str], None]


def _no_progress(_done: int, _total: int | None, _stage: str) -> None:
    """Nobody is watching."""


# --- Finding the header ------------------------------------------------------------------------------------------


#: What the user chose for a column in the mapping step: a field key, or this for "not a ledger column".
NOT_IMPORTED = "-"


def _field_of(label: Any, learned: Mapping[str, str] | None = None) -> str | None:
    """The field a header names: the user's own choice for it first (remembered per enterprise), then the
    known spellings, then the spellings without a bracketed remark or unit ("整改资金（万元）")."""
    folded = key(label)
    if learned and folded in learned:
        chosen = learned[folded]
        return None if chosen == NOT_IMPORTED else chosen
    return _ALIASES.get(folded) or _ALIASES.get(loose_key(folded))


def header_spec(learned: Mapping[str, str]) -> HeaderSpec:
    """The ledger's header rules, with the columns the user mapped by hand."""
    return HeaderSpec(lambda label: _field_of(label, learned), REQUIRED, _LABELS, _EXPORT_ONLY_KEYS)

"""The enterprise's self-inspection ledger (隐患自查台账) in and out of Excel: template, import, export.

A ledger entry is a Hazard of the enterprise with ``source = self_ledger`` (the same rows the PWA's
``ledger_entry`` sync entity writes). Its state comes only from its event log, so the import writes through
``record_hazard`` / ``append_event`` and never sets a state.

Where each column goes (headers as in the template; common variants and English are accepted too):

=========================  ==================================================================
序号 / 编号                 Hazard.ledger_no
检查时间 / 排查日期          Hazard.found_at, the time of the 'found' event
检查人 / 排查人              terms["checked_by"]
隐患部位 / 地点              Hazard.place
隐患描述 / 隐患内容          Hazard.description
隐患等级                    Hazard.level (一般事故隐患 → general, 重大事故隐患 → major)
关联检查事项                Hazard.item_code (a catalogue item code such as ST-6)
整改措施                    terms["measures"]
责任人                      terms["responsible_person"]
整改期限                    the 'found' event's deadline (so Hazard.deadline, its projection)
整改资金（元）/（万元）       Hazard.funds_yuan, in yuan exactly: the header's unit, or the cell's own ("3万元")
隐患类别                    terms["category"]
整改状态 / 整改情况          terms["ledger_state"] (未整改/整改中/已整改/已验收, as the ledger says; the hazard's
                           state still comes only from its events: a state claiming a fix with no completion
                           date is noted, one denying a fix that has a completion date is a row error)
备注                        terms["remarks"]
完成日期 / 整改完成时间       terms["completed_on"] (ISO date) and a 'rectification_reported' event
整改完成人                  terms["completed_by"]
复查日期 / 复查人            terms["recheck_on"] (ISO date) / terms["recheck_by"]
验收情况 / 验收结论          terms["acceptance"] (also the 'accepted' event's comment)
验收人 / 验收日期            terms["accepted_by"] / terms["accepted_on"] (ISO date)
治理方案                    Hazard.treatment_plan
措施/责任/资金/时限/预案到位  Hazard.five_in_place {measures, responsibility, funds, time_limit,
                           contingency_plan}; one column 五到位 listing them (or 是/否) also works
报告监管部门日期             Hazard.reported_to_regulator_on
报告职代会日期               Hazard.reported_to_workers_congress_on
是否停产                    Hazard.stop_production
=========================  ==================================================================

The terms keys are the catalogue's 五定 keys (responsible_person, measures, completed_by, accepted_by) plus
the ledger's own facts (checked_by, completed_on, recheck_on, recheck_by, acceptance, accepted_on, category,
ledger_state, remarks).

Dates written without a year ("5月12日", "5.12") take, for the check date, the year the sheet's title names,
else the year of the nearest row above (then below) whose check date has one, else the campaign's; a later
date of the row (deadline, completion…) takes the check date's year, or the next when that would put it
before the check. Each such row is listed in a note saying which year was used. A row whose check date falls
outside the campaign's dates is imported like any other and listed apart (it is the enterprise's record;
campaign figures leave it out). A column nobody recognises is named in a note; when the required columns
are not recognised at all, the portal asks the user what each column is and remembers the answer
(Enterprise.ledger_column_map).

Events a row makes, in time order: 'found' at the check date with the deadline; 'rectification_reported'
at the completion date; for a GENERAL hazard with an acceptance date and an acceptor, 'accepted' (the
enterprise accepts its own general hazards). A MAJOR hazard stays reported until the regulator accepts it
(the report says so in a note). An acceptance without a completion date records the completion at the
acceptance date (noted). A ledger gives days, not times: each event is stamped at noon, in the bureau's time
zone, of its day (found 12:00, reported 12:01, accepted 12:02, so same-day steps keep their order, and never
before an event already logged that day). A date before the step before it is refused, as the state
machine refuses it.

Identity and re-import: an entry's id is uuid5 of (enterprise id, ledger number) or, with no number, of
(check date, place, description), normalised (NFKC, no spaces, lower case); a stored entry with the same
number or the same date/place/description (one made on a tablet, say) is the same entry. Re-importing the
same file changes nothing; a later file appends only the events not yet in the log; a changed description
or terms updates the hazard's fields (listed in the ``ledger.import`` audit event) but never rewrites past
events: a different check date for a known number is a row error, a changed level too (the regulator's
business), and a changed deadline only a note (extensions are made on the web). A blank cell keeps what is
stored. Every cell of a row is checked, and the row's dates replayed through the state machine, before
anything of it is written: a bad row is reported (row, column, reason in Chinese and English), never
half-written.
"""

from __future__ import annotations

import bisect
import io
import re
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from server.domain import hazards as rules
from server.domain.hazards import FIVE_IN_PLACE, HazardEventKind, HazardLevel, HazardState
from server.domain.typed_cells import (
    YUAN,
    CellRefused,
    LedgerState,
    ReadDate,
    parse_amount,
    parse_ledger_state,
    parse_level,
    year_named_in,
)
from server.domain.typed_cells import parse_date as read_date
from server.errors import (
    # the catalogue's entries this module raises
    date_goes_back,
    date_invalid,
    entry_repeated,
    five_in_place_invalid,
    funds_invalid,
    header_unmatched,
    item_unknown,
    ledger_state_contradicts,
    level_invalid,
    level_locked,
    number_reused,
    state_refused,
    text_too_long,
)
from server.models import CatalogueItem, Enterprise, Hazard, HazardSource, Inspection, User
from server.services import DbSession, audit
from server.services.hazards import append_event, record_hazard
from server.services.oversight import campaign_window
from server.services.portal import campaign_of, released_inspections
from server.services.spreadsheet import (
    HEADER_SEARCH_ROWS,
    TOTAL_WORDS,
    Header,
    HeaderSpec,
    RowCheck,
    RowError,
    file_invalid,
    find_header,
    first_header,
    header_text,
    is_blank,
    key,
    loose_key,
    parse_flag,
    read_date_cell,
    read_tables,
    refused,
    shown,
    starts_as_total,
    text,
)
from server.services.xlsx_cells import write_cell
from sync.problems import Problem

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
    from server import clock

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


# --- The report ---------------------------------------------------------------------------------------------


@dataclass
class LedgerImportReport:
    """What a ledger import did (or, in a dry run or a refused strict run, would have done)."""

    source: str = ""
    enterprise: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_blank: int = 0
    skipped_total: int = 0
    skipped_other: int = 0
    events_appended: int = 0
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    strict: bool = False
    #: Rows kept in the ledger whose check date falls outside the campaign (row, date): not campaign figures.
    outside_campaign: list[tuple[int, date]] = field(default_factory=list)
    campaign_window: tuple[date, date] | None = None

    @property
    def skipped(self) -> int:
        """Rows passed over on purpose: blank, total, repeated header, example or no-hazard rows."""
        return self.skipped_blank + self.skipped_total + self.skipped_other

    @property
    def written(self) -> bool:
        """Whether the good rows were written to the session."""
        return not self.dry_run and not (self.strict and self.errors)

    @property
    def error_rows(self) -> list[int]:
        """The numbers of the rows that have at least one problem."""
        return sorted({e.row for e in self.errors})

    def counts(self) -> dict[str, int]:
        """The counts, as recorded in the audit event."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "skipped": self.skipped, "skipped_blank": self.skipped_blank, "skipped_total": self.skipped_total,
                "error_rows": len(self.error_rows), "events_appended": self.events_appended,
                "outside_campaign": len(self.outside_campaign)}  # fmt: skip

    def outside_campaign_text(self) -> str:
        """The rows outside the campaign's dates, one line, Chinese first ('' when there are none)."""
        if not self.outside_campaign or self.campaign_window is None:
            return ""
        start, end = (d.isoformat() for d in self.campaign_window)
        rows = "、".join(f"{line}（{day.isoformat()}）" for line, day in self.outside_campaign[:50])
        more = "等" if len(self.outside_campaign) > 50 else ""
        return (
            f"{len(self.outside_campaign)} 行的检查时间不在专项行动期间（{start} 至 {end}），已记入台账，"
            f"但不计入专项行动统计：第 {rows}{more} 行 / {len(self.outside_campaign)} rows dated outside the "
            f"campaign ({start} to {end}) are kept in the ledger but not counted in campaign figures"
        )

    def summary(self) -> str:
        """One line of counts, Chinese first."""
        bad = len(self.error_rows)
        return (
            f"新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}，跳过 {self.skipped}"
            f"（空行 {self.skipped_blank}，合计行 {self.skipped_total}），有误 {bad} 行，新增事件 {self.events_appended} / "
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, skipped {self.skipped} "
            f"(blank {self.skipped_blank}, total {self.skipped_total}), rows with errors {bad}, "
            f"events appended {self.events_appended}"
        )

    def outcome(self) -> str:
        """What was written, in one line."""
        if self.dry_run:
            return "试运行：未写入任何数据（以上为将会发生的变化） / dry run: nothing was written"
        if self.strict and self.errors:
            return (
                "严格模式：文件有误，未写入任何数据 / strict mode: the file has errors, nothing was written"
            )
        if self.errors:
            return "有误的行未导入，其余各行已导入 / rows with errors were skipped, the others imported"
        return "已全部导入 / all rows imported"

    def as_text(self) -> str:
        """A multi-line summary: counts, what was written, notes, then one line per problem."""
        title = "隐患自查台账导入 / self-inspection ledger import"
        lines = [f"{title}: {self.enterprise} {self.source}".rstrip(), self.summary(), self.outcome()]
        if self.outside_campaign_text():
            lines.append(f"专项行动期外 / outside the campaign: {self.outside_campaign_text()}")
        lines.extend(f"说明 / note: {note}" for note in self.notes)
        lines.extend(error.as_text() for error in sorted(self.errors, key=lambda e: e.row))
        return "\n".join(lines)


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


# --- Cells -----------------------------------------------------------------------------------------------------


def _clean(value: Any, limit: int) -> str:
    """Text with surrounding space removed and runs of spaces collapsed, line breaks kept."""
    lines = (" ".join(line.split()) for line in text(value).splitlines())
    cleaned = "\n".join(line for line in lines if line)
    if len(cleaned) > limit:
        raise text_too_long(value=shown(cleaned, 20), limit=limit)
    return cleaned


def _number(value: Any, limit: int) -> str:
    """A ledger number: full-width digits and letters folded (２ is 2), no spaces."""
    return _clean("".join(unicodedata.normalize("NFKC", text(value)).split()), limit)


def _level(value: Any) -> HazardLevel:
    try:
        return parse_level(value)
    except CellRefused:
        raise level_invalid(value=shown(value)) from None


def _state(value: Any) -> LedgerState:
    try:
        return parse_ledger_state(value)
    except CellRefused as error:
        raise refused(error) from None


def _item_code(value: Any) -> str:
    folded = "".join(unicodedata.normalize("NFKC", text(value)).split()).upper()
    match = re.fullmatch(r"([A-Z]{2,3})[-_]?(\d{1,2})", folded)
    if match is None:
        raise item_unknown(value=shown(value))
    return f"{match[1]}-{int(match[2])}"


def _money(value: Any, unit: Decimal) -> Decimal:
    """An amount in yuan, exact: the cell's own unit ("3万元") or else its column's (the header's)."""
    try:
        amount = parse_amount(value, unit)
    except CellRefused as error:
        raise funds_invalid(reason=error.message("zh"), reason_en=error.message("en")) from None
    if amount > _MAX_FUNDS:
        raise funds_invalid(
            reason=f"金额“{shown(value)}”过大", reason_en=f"the amount '{shown(value)}' is too large"
        )
    return amount


def _five_list(value: Any) -> dict[str, bool]:
    """One 五到位 column: 是/否 for all five, or the list of those in place (措施、责任、资金…)."""
    try:
        flag = parse_flag(value)
    except Problem:
        pass
    else:
        return dict.fromkeys(FIVE_IN_PLACE_KEYS, flag)
    chosen: set[str] = set()
    for part in re.split(r"[、,，;；/\s]+", unicodedata.normalize("NFKC", text(value))):
        part = part.strip().removesuffix("到位") or part
        if not part:
            continue
        found = _FIVE_WORDS.get(part.lower()) or _FIVE_WORDS.get(part)
        if found is None:
            raise five_in_place_invalid(value=shown(value))
        chosen.add(found)
    return {k: k in chosen for k in FIVE_IN_PLACE_KEYS}


# --- Rows ------------------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    """A row that passed every cell check: what the ledger says about one hazard."""

    line: int
    header: Header
    found_on: date
    description: str
    level: HazardLevel | None
    ledger_no: str | None = None
    deadline: date | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    terms: dict[str, str] = field(default_factory=dict)
    completed_on: date | None = None
    accepted_on: date | None = None
    #: What the import should tell about this row without refusing it (a year it supplied, a state it did
    #: not record), Chinese and English.
    warnings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def place(self) -> str | None:
        return self.fields.get("place")

    def column(self, field_key: str) -> str:
        return self.header.shown(field_key)

    def value(self, field_key: str) -> Any:
        """The row's value of a field, as read (for a refusal that comes from the row as a whole)."""
        read = {"found_at": self.found_on, "description": self.description, "ledger_no": self.ledger_no,
                "deadline": self.deadline, "completed_on": self.completed_on, "accepted_on": self.accepted_on,
                "level": LEVEL_LABELS[self.level] if self.level else None}  # fmt: skip
        return read[field_key] if field_key in read else self.fields.get(field_key, self.terms.get(field_key))


def _skip_reason(cells: Sequence[Any], header: Header) -> str | None:
    """Why a row is not an entry ('blank', 'total', 'header', 'example', 'no_hazard'), or None."""
    used = {col for col, _ in header.columns.values()}
    filled = {col for col, cell in enumerate(cells) if not is_blank(cell) and col in used}
    # A printed ledger numbers its empty rows, and a check date merged over a check's rows fills them too.
    prefilled = {header.columns[k][0] for k in ("ledger_no", "found_at", "checked_by") if k in header.columns}
    if not filled:
        return "blank"
    description = text(header.cell(cells, "description"))
    if starts_as_total(cells) and (not description or description.startswith(TOTAL_WORDS)):
        return "total"
    if filled <= prefilled and not description:
        return "blank"
    if (
        _field_of(description) == "description"
        or _field_of(text(header.cell(cells, "found_at"))) == "found_at"
    ):
        return "header"
    if header.repeats_in(cells):
        return "header"
    number = key(text(header.cell(cells, "ledger_no")))
    if number.startswith(_EXAMPLE_WORDS) or re.match(r"^[(（【\[]?示例", description):
        return "example"
    if _NO_HAZARD.match(_norm(description)):
        return "no_hazard"
    return None


@dataclass(frozen=True)
class YearHint:
    """The year a check date written without one is read in, and where that year was found."""

    year: int
    source_zh: str
    source_en: str


def _parse_row(
    cells: Sequence[Any], line: int, header: Header, today: date, year_hint: YearHint | None = None
) -> tuple[_Entry | None, list[RowError]]:
    """Check every cell of one row; the entry, or None and all its problems."""
    row_check = RowCheck(cells, line, header)
    errors = row_check.errors
    warnings: list[tuple[str, str]] = []

    def dated(raw: Any, latest: date, field_key: str) -> date:
        """A date cell; a year-less check date takes the hint's year, a later year-less date the check
        date's year (the next one when that would put it before the check): both are warned about."""
        found_on = values.get("found_at")
        if field_key == "found_at":
            default = year_hint.year if year_hint else None
        else:
            default = found_on.year if found_on else None
        read: ReadDate = read_date_cell(raw, latest, default_year=default)
        if not read.year_supplied:
            return read.day
        column = header.shown(field_key)
        if field_key == "found_at" and year_hint is not None:
            warnings.append((f"“{column}”未写年份，按{year_hint.source_zh}中的年份 {year_hint.year} 读取",
                             f"'{column}' has no year: read in {year_hint.year}, the year of {year_hint.source_en}"))  # fmt: skip
            return read.day
        day = read.day
        if found_on is not None and day < found_on:
            try:
                day = day.replace(year=day.year + 1)
            except ValueError:  # 2月29日 of a year after a leap year
                raise date_invalid(value=shown(raw)) from None
        if day > latest:
            raise date_invalid(value=shown(raw))
        warnings.append((f"“{column}”未写年份，按检查时间推定为 {day.year} 年（早于检查时间时取次年）",
                         f"'{column}' has no year: read in the check date's year (the next one if earlier)"))  # fmt: skip
        return day

    def check(field_key: str, parse: Any, *args: Any) -> Any:
        column = COLUMN_BY_KEY.get(field_key)
        # A level column, once there, is filled on every row: which level a blank means is not guessed.
        required = (column is not None and column.required) or (
            field_key == "level" and "level" in header.columns
        )
        return row_check(field_key, parse, *args, required=required)

    values: dict[str, Any] = {}
    for column in COLUMNS:
        if column.key not in header.columns and not column.required:
            continue
        if column.kind == "text":
            values[column.key] = check(column.key, _clean, column.limit) or None
        elif column.kind == "number":
            values[column.key] = check(column.key, _number, column.limit) or None
        elif column.kind == "past_date":
            values[column.key] = check(column.key, dated, today, column.key)
        elif column.kind == "date":
            values[column.key] = check(column.key, dated, LATEST_DEADLINE, column.key)
        elif column.kind == "level":
            values[column.key] = check(column.key, _level)
        elif column.kind == "state":
            values[column.key] = check(column.key, _state)
        elif column.kind == "item":
            values[column.key] = check(column.key, _item_code)
        elif column.kind == "money":
            values[column.key] = check(column.key, _money, header.units.get(column.key, YUAN))
        elif column.kind == "flag":
            values[column.key] = check(column.key, parse_flag)
    five: dict[str, bool] = {}
    if "five_in_place" in header.columns:
        five.update(check("five_in_place", _five_list) or {})
    for name in FIVE_IN_PLACE_KEYS:
        if values.get(f"five:{name}") is not None:
            five[name] = bool(values[f"five:{name}"])

    found_on, description = values.get("found_at"), values.get("description")
    deadline = values.get("deadline")
    if found_on is not None and deadline is not None and deadline < found_on:
        errors.append(RowError.of(line, header.shown("deadline"), value=header.cell(cells, "deadline"), problem=date_goes_back(
            value=deadline.isoformat(), other=header.shown("found_at"), other_en="the check date",
            other_value=found_on.isoformat())))  # fmt: skip
    state: LedgerState | None = values.get("ledger_state")
    completed_on = values.get("completed_on")
    if state is not None and completed_on is not None and not state.claims_fixed:
        errors.append(RowError.of(line, header.shown("ledger_state"), value=header.cell(cells, "ledger_state"), problem=ledger_state_contradicts(
            value=text(header.cell(cells, "ledger_state")), other=header.shown("completed_on"),
            other_en="the completion date", other_value=completed_on.isoformat())))  # fmt: skip
    if errors or found_on is None or description is None:
        return None, errors
    if state is not None:
        values["ledger_state"] = state.label_zh
        if state.claims_fixed and completed_on is None and values.get("accepted_on") is None:
            warnings.append((f"整改状态为“{state.label_zh}”，但未填完成日期：系统未记为整改完成（须有完成日期）",
                             f"the state says {state.value} but there is no completion date: not recorded as "
                             "reported fixed (a date is needed)"))  # fmt: skip

    entry = _Entry(line=line, header=header, found_on=found_on, description=description, level=values.get("level"),
                   ledger_no=values.get("ledger_no"), deadline=deadline, completed_on=values.get("completed_on"),
                   accepted_on=values.get("accepted_on"), warnings=warnings)  # fmt: skip
    for attr in _HAZARD_ATTRS:
        if attr != "five_in_place" and values.get(attr) is not None:
            entry.fields[attr] = values[attr]
    if five:
        entry.fields["five_in_place"] = five
    for term in TERM_KEYS:
        value = values.get(term)
        if value is not None:
            entry.terms[term] = value.isoformat() if isinstance(value, date) else str(value)
    return entry, []


# --- Planning: what each entry changes, checked before anything is written -------------------------------------


@dataclass
class _NewEvent:
    kind: HazardEventKind
    at: datetime
    comment: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Plan:
    entry: _Entry
    hazard_id: uuid.UUID
    existing: Hazard | None
    level: HazardLevel
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    events: list[_NewEvent] = field(default_factory=list)


class _Notes:
    """Notes gathered by kind, each listing its rows, so a 5,000-row file gives a few lines, not thousands."""

    LIMIT = 20

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[int]] = defaultdict(list)

    def add(self, zh: str, en: str, line: int) -> None:
        self.rows[(zh, en)].append(line)

    def lines(self) -> list[str]:
        out = []
        for (zh, en), lines in self.rows.items():
            first = [str(n) for n in lines[: self.LIMIT]]
            more = len(lines) > self.LIMIT
            listed_zh = "、".join(first) + ("等" if more else "")
            listed_en = ", ".join(first) + (", …" if more else "")
            out.append(f"第 {listed_zh} 行（共 {len(lines)} 行）：{zh} / rows {listed_en}: {en}")
        return out


def _acceptance_negative(entry: _Entry) -> bool:
    conclusion = entry.terms.get("acceptance", "")
    return any(word in conclusion for word in _NEGATIVE_ACCEPTANCE)


def _wanted_events(
    entry: _Entry, level: HazardLevel, tz: tzinfo, notes: _Notes
) -> list[tuple[_NewEvent, str]]:
    """The events after 'found' the row asks for, each with the column its date comes from."""
    wanted: list[tuple[_NewEvent, str]] = []
    accepted_by = entry.terms.get("accepted_by")
    accepts = level is HazardLevel.general and entry.accepted_on is not None and accepted_by is not None
    if accepts and _acceptance_negative(entry):
        notes.add("验收结论为不合格，未记为验收通过", "the acceptance conclusion is negative: not recorded as accepted",
                  entry.line)  # fmt: skip
        accepts = False
    if entry.completed_on is not None:
        data = {"via": "ledger_import"}
        wanted.append((_NewEvent(HazardEventKind.rectification_reported,
                                 stamp(entry.completed_on, HazardEventKind.rectification_reported, tz),
                                 data=data), "completed_on"))  # fmt: skip
    elif accepts and entry.accepted_on is not None:
        notes.add("未填完成日期，按验收日期记为整改完成", "no completion date: completion recorded at the acceptance date",
                  entry.line)  # fmt: skip
        wanted.append((_NewEvent(HazardEventKind.rectification_reported,
                                 stamp(entry.accepted_on, HazardEventKind.rectification_reported, tz),
                                 data={"via": "ledger_import", "completion_inferred": True}), "accepted_on"))  # fmt: skip
    if accepts and entry.accepted_on is not None:
        wanted.append((_NewEvent(HazardEventKind.accepted, stamp(entry.accepted_on, HazardEventKind.accepted, tz),
                                 comment=entry.terms.get("acceptance"), data={"via": "ledger_import"}),
                       "accepted_on"))  # fmt: skip
    elif level is HazardLevel.general and (entry.accepted_on is None) != (accepted_by is None):
        notes.add(
            "验收日期和验收人须同时填写，未记为验收通过",
            "acceptance needs both the date and the acceptor: not recorded as accepted",
            entry.line,
        )
    return wanted


def _domain(events: Iterable[Any]) -> list[rules.HazardEvent]:
    return [rules.HazardEvent(kind=e.kind, at=e.at, deadline=e.deadline, reason=e.comment or "")
            for e in sorted(events, key=lambda e: e.at)]  # fmt: skip


def _effective_terms(hazard: Hazard, tz: tzinfo) -> dict[str, Any]:
    """The stored terms, with the completion and acceptance dates of the log where the terms lack them
    (an entry made on a tablet records them as events only)."""
    terms = dict(hazard.terms or {})
    for kind, term in (
        (HazardEventKind.rectification_reported, "completed_on"),
        (HazardEventKind.accepted, "accepted_on"),
    ):
        if not terms.get(term):
            at = max((e.at for e in hazard.events if e.kind == kind), default=None)
            if at is not None:
                terms[term] = local_date(at, tz).isoformat()
    return terms


def _same(stored: Any, new: Any) -> bool:
    if isinstance(new, str) or isinstance(stored, str):
        return _norm(stored) == _norm(new)
    if isinstance(new, Decimal) and stored is not None:
        return Decimal(stored) == new
    return bool(stored == new)


class _Planner:
    """Decides, for each parsed entry, whether it is new, changed or unchanged and which events it adds."""

    def __init__(self, session: DbSession, enterprise: Enterprise, tz: tzinfo) -> None:
        self.enterprise = enterprise
        self.tz = tz
        self.notes = _Notes()
        # One query for the enterprise's whole ledger, one for its events: no query per row.
        stored = session.scalars(
            sa.select(Hazard)
            .where(Hazard.enterprise_id == enterprise.id, Hazard.source == HazardSource.self_ledger)
            .options(selectinload(Hazard.events))
        ).all()
        self.by_id = {h.id: h for h in stored}
        self.by_number: dict[str, Hazard] = {}
        self.by_content: dict[tuple[date, str, str], Hazard] = {}
        for hazard in sorted(stored, key=lambda h: h.deleted_at is not None):  # live entries win
            if hazard.ledger_no:
                self.by_number.setdefault(_norm(hazard.ledger_no), hazard)
            content = (local_date(hazard.found_at, tz), _norm(hazard.place), _norm(hazard.description))
            self.by_content.setdefault(content, hazard)
        self.codes = set(session.scalars(sa.select(CatalogueItem.code).distinct()))
        self.codes.update(h.item_code for h in stored if h.item_code)

    def find(self, entry: _Entry, hazard_id: uuid.UUID) -> Hazard | None:
        """The stored entry this row describes: same id, same number, or same date, place and description."""
        found = self.by_id.get(hazard_id)
        if found is None and entry.ledger_no:
            found = self.by_number.get(_norm(entry.ledger_no))
        if found is None:
            found = self.by_content.get((entry.found_on, _norm(entry.place), _norm(entry.description)))
        return found

    def plan(self, entry: _Entry) -> _Plan:
        """The plan for one entry, or a Problem (raised) naming the column that makes it impossible."""
        hazard_id = entry_id(
            self.enterprise.id, entry.ledger_no, entry.found_on, entry.place, entry.description
        )
        existing = self.find(entry, hazard_id)
        item = entry.fields.get("item_code")
        if item is not None and self.codes and item not in self.codes:
            raise _ColumnProblem("item_code", item_unknown(value=item))
        if existing is None:
            return self._plan_new(entry, hazard_id)
        return self._plan_existing(entry, existing)

    def _plan_new(self, entry: _Entry, hazard_id: uuid.UUID) -> _Plan:
        level = entry.level or HazardLevel.general
        plan = _Plan(entry, hazard_id, None, level)
        found = rules.HazardEvent(HazardEventKind.found, stamp(entry.found_on, HazardEventKind.found, self.tz),
                                  deadline=entry.deadline)  # fmt: skip
        status = rules.apply_event(None, found, level)
        previous = ("found_at", entry.found_on)
        for event, column in _wanted_events(entry, level, self.tz, self.notes):
            day = local_date(event.at, self.tz)
            if day < previous[1]:
                raise _ColumnProblem(column, date_goes_back(
                    value=day.isoformat(), other=entry.column(previous[0]), other_en=_english(previous[0]),
                    other_value=previous[1].isoformat()))  # fmt: skip
            status = self._apply(status, event, level, column)
            plan.events.append(event)
            previous = (column, day)
        self._note_major(entry, level, status)
        return plan

    def _plan_existing(self, entry: _Entry, hazard: Hazard) -> _Plan:
        plan = _Plan(entry, hazard.id, hazard, hazard.level)
        stored_on = local_date(hazard.found_at, self.tz)
        if stored_on != entry.found_on:
            raise _ColumnProblem(
                "found_at", number_reused(value=entry.ledger_no or "", found_on=stored_on.isoformat())
            )
        if entry.level is not None and entry.level != hazard.level:
            raise _ColumnProblem("level", level_locked(stored=LEVEL_LABELS[hazard.level], stored_en=hazard.level.value,
                                                      value=LEVEL_LABELS[entry.level]))  # fmt: skip
        self._diff(entry, hazard, plan)
        if entry.deadline is not None and entry.deadline != hazard.deadline:
            self.notes.add("整改期限与已记录的不同，未更改（延期请在系统中办理）",
                           "the deadline differs from the recorded one and was not changed (extend it on the web)",
                           entry.line)  # fmt: skip
        try:
            status: rules.HazardStatus | None = rules.replay(_domain(hazard.events), hazard.level)
        except (rules.IllegalTransition, ValueError):
            status = None
        if status is None:
            return plan
        kinds = {e.kind for e in hazard.events}
        for event, column in _wanted_events(entry, hazard.level, self.tz, self.notes):
            if event.kind in kinds or status.state in (HazardState.accepted, HazardState.closed):
                continue
            if event.kind not in rules.allowed_events(status):
                self.notes.add(f"隐患当前为“{status.state.label_zh}”，台账中的“{event.kind.label_zh}”未导入",
                               f"the hazard is {status.state.value}: the ledger's {event.kind.value} was not recorded",
                               entry.line)  # fmt: skip
                break
            last = status.last_event_at
            if last is not None and event.at < last:
                day, last_day = local_date(event.at, self.tz), local_date(last, self.tz)
                if day < last_day:
                    raise _ColumnProblem(column, date_goes_back(
                        value=day.isoformat(), other="该隐患已记录的上一步", other_en="the hazard's last recorded step",
                        other_value=last_day.isoformat()))  # fmt: skip
                # Same day, but the last step was logged later in it: the ledger gives no time, so follow it.
                event.at = last + timedelta(minutes=1)
            status = self._apply(status, event, hazard.level, column)
            plan.events.append(event)
            kinds.add(event.kind)
        self._note_major(entry, hazard.level, status)
        return plan

    def _diff(self, entry: _Entry, hazard: Hazard, plan: _Plan) -> None:
        """The fields and terms the row changes (a blank cell keeps what is stored)."""
        if entry.ledger_no and not hazard.ledger_no:
            plan.changes["ledger_no"] = (None, entry.ledger_no)
        if not _same(hazard.description, entry.description):
            plan.changes["description"] = (hazard.description, entry.description)
        for attr, value in entry.fields.items():
            stored = getattr(hazard, attr)
            if attr == "five_in_place":
                merged = {**(stored or {}), **value}
                if merged != (stored or {}):
                    plan.changes[attr] = (stored, merged)
            elif not _same(stored, value):
                plan.changes[attr] = (stored, value)
        effective = _effective_terms(hazard, self.tz)
        changed_terms = {k: v for k, v in entry.terms.items() if not _same(effective.get(k), v)}
        if changed_terms:
            plan.changes["terms"] = (hazard.terms, {**(hazard.terms or {}), **changed_terms})
        if hazard.deleted_at is not None:
            # The enterprise's ledger lists it again, so it is back.
            plan.changes["deleted_at"] = (hazard.deleted_at, None)

    @staticmethod
    def _apply(
        status: rules.HazardStatus, event: _NewEvent, level: HazardLevel, column: str
    ) -> rules.HazardStatus:
        try:
            return rules.apply_event(
                status, rules.HazardEvent(event.kind, event.at, reason=event.comment or ""), level
            )
        except rules.IllegalTransition as illegal:
            raise _ColumnProblem(
                column, state_refused(why_zh=illegal.why_zh, why_en=illegal.why_en)
            ) from None

    def _note_major(self, entry: _Entry, level: HazardLevel, status: rules.HazardStatus) -> None:
        if level is HazardLevel.major and status.state is HazardState.reported:
            self.notes.add(
                "重大事故隐患已记为“报告整改完成”，须由监管部门验收",
                "major hazards are recorded as reported fixed; the regulator accepts them",
                entry.line,
            )


class _ColumnProblem(Exception):
    """A plan that cannot be made: the column to blame and the reason."""

    def __init__(self, column: str, problem: Problem) -> None:
        super().__init__(problem.message("en"))
        self.column = column
        self.problem = problem


def _english(field_key: str) -> str:
    return {
        "found_at": "the check date",
        "completed_on": "the completion date",
        "accepted_on": "the acceptance date",
    }.get(field_key, field_key)


# --- The import -------------------------------------------------------------------------------------------------


def _load(source: Path | bytes, name: str, learned: Mapping[str, str]) -> tuple[list[list[Any]], Header]:
    spec = header_spec(learned)
    sheets = read_tables(source, name, lambda rows: find_header(rows, spec).found, fill_merged=True)
    rows, header = first_header(sheets, spec)
    if header.found:
        return rows, header
    missing = "、".join(header.missing())
    raise header_unmatched(
        reason=f"前 {HEADER_SEARCH_ROWS} 行中找不到台账表头，缺少必需的列：{missing}（表头须含“检查时间”和“隐患描述”）",
        reason_en=f"no ledger header in the first {HEADER_SEARCH_ROWS} rows; missing required column(s): {missing} "
        f"(the header must name 检查时间 (check date) and 隐患描述 (description))",
    )


#: The fields a user may give a column in the mapping step, with their labels (template header first).
def mappable_fields() -> list[tuple[str, str]]:
    """(field key, label) for each ledger field, then the one-column 五到位, then "not imported"."""
    fields = [(c.key, c.header) for c in COLUMNS]
    return [
        *fields,
        (FIVE_IN_PLACE_COLUMN.key, FIVE_IN_PLACE_COLUMN.header),
        (NOT_IMPORTED, "不导入 / not imported"),
    ]


@dataclass(frozen=True)
class ColumnPreview:
    """What the mapping step shows: the likeliest header row, each column's folded key and present guess,
    and the first rows below it."""

    header_row: int
    headers: list[str]
    keys: list[str]
    guesses: list[str | None]
    rows: list[list[str]]


#: How many rows under the header the mapping step shows.
PREVIEW_ROWS = 5


def preview_columns(
    source: Path | bytes, name: str, learned: Mapping[str, str] | None = None
) -> ColumnPreview:
    """The columns of a workbook whose header was not recognised: the first sheet's row (of the first 10) with
    the most text cells, taken as its header, with what each column is taken to be so far (400.5 if unusable)."""
    sheets = read_tables(source, name, lambda rows: True, fill_merged=True)
    rows = next((sheet for sheet in sheets if any(not is_blank(c) for row in sheet for c in row)), [])
    if not rows:
        raise file_invalid(f"{name} 中没有数据", f"{name} holds no data")

    def texts(row: Sequence[Any]) -> int:
        return sum(1 for c in row if isinstance(c, str) and c.strip() and not re.fullmatch(r"[\d\s./:-]+", c))

    candidates = rows[:HEADER_SEARCH_ROWS]
    index = max(range(len(candidates)), key=lambda i: (texts(candidates[i]), -i))
    width = max((len(row) for row in rows[index : index + 1 + PREVIEW_ROWS * 2]), default=0)
    header_cells = list(rows[index]) + [None] * (width - len(rows[index]))
    headers = [header_text(c) if not is_blank(c) else "" for c in header_cells]
    body = [row for row in rows[index + 1 :] if any(not is_blank(c) for c in row)][:PREVIEW_ROWS]
    return ColumnPreview(
        header_row=index + 1,
        headers=headers,
        keys=[key(h) for h in headers],
        guesses=[_field_of(h, learned) if h else None for h in headers],
        rows=[[shown(row[col]) if col < len(row) else "" for col in range(width)] for row in body],
    )


def import_ledger(
    session: DbSession,
    enterprise: Enterprise,
    file_bytes_or_path: bytes | Path | str,
    *,
    actor: User | None,
    filename: str | None = None,
    dry_run: bool = False,
    strict: bool = False,
    today: date | None = None,
    column_map: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> LedgerImportReport:
    """Import an enterprise's self-inspection ledger (.xlsx or .csv); bad rows are reported, never half-written.

    ``column_map`` (folded header → field key, or NOT_IMPORTED) is what the user chose in the mapping step;
    it is remembered for the enterprise when the import is written, and used by its later imports.
    ``progress(done, total, stage)`` hears how far it got (stages "reading", "checking", "planning", "writing").
    """
    step = progress or _no_progress
    step(0, None, "reading")
    source: Path | bytes = (
        Path(file_bytes_or_path) if isinstance(file_bytes_or_path, str) else file_bytes_or_path
    )
    name = filename or (source.name if isinstance(source, Path) else "ledger")
    report = LedgerImportReport(source=name, enterprise=enterprise.name, dry_run=dry_run, strict=strict)
    tz = zone()
    today = today or datetime.now(tz).date()
    learned = dict(enterprise.ledger_column_map or {})
    learned.update(column_map or {})
    rows, header = _load(source, name, learned)
    if "level" not in header.columns:
        report.notes.append(
            "文件没有“隐患等级”列，条目均按一般事故隐患导入 / no 隐患等级 column: entries are general hazards"
        )
    if header.ignored:
        report.notes.append(f"未识别的列已忽略 / columns ignored: {'、'.join(header.ignored)}")
    if header.duplicates:
        report.notes.append(f"重复的列已忽略 / duplicate columns ignored: {'、'.join(header.duplicates)}")

    entries: list[_Entry] = []
    blank_run = 0
    skipped_examples: list[int] = []
    campaign = campaign_of(session, enterprise)
    found = campaign_window(campaign, tz)
    window = (found.starts_on, found.ends_on) if found is not None else None
    hints = _year_hints(rows, header, window[0].year if window else None)
    row_notes = _Notes()
    data_rows = len(rows) - header.index - 1
    for index in range(header.index + 1, len(rows)):
        step(index - header.index - 1, data_rows, "checking")
        cells = rows[index]
        reason = _skip_reason(cells, header)
        if reason == "blank":
            blank_run += 1  # counted only when a later row shows it was inside the data
            continue
        report.skipped_blank += blank_run
        blank_run = 0
        if reason == "total":
            report.skipped_total += 1
        elif reason is not None:
            report.skipped_other += 1
            if reason == "example":
                skipped_examples.append(index + 1)
        else:
            entry, errors = _parse_row(cells, index + 1, header, today, hints(index))
            report.errors.extend(errors)
            if entry is not None:
                entries.append(entry)
                for zh, en in entry.warnings:
                    row_notes.add(zh, en, entry.line)
    report.notes.extend(row_notes.lines())
    if skipped_examples:
        report.notes.append(f"示例行已跳过 / example rows skipped: {', '.join(map(str, skipped_examples))}")

    step(data_rows, data_rows, "checking")
    planner = _Planner(session, enterprise, tz)
    plans = _plans_without_repeats(planner, entries, report, step)
    report.notes.extend(planner.notes.lines())
    if window is not None:
        report.campaign_window = window
    for plan in plans:
        if window is not None and not window[0] <= plan.entry.found_on <= window[1]:
            report.outside_campaign.append((plan.entry.line, plan.entry.found_on))
        if plan.existing is None:
            report.created += 1
        elif plan.changes or plan.events:
            report.updated += 1
        else:
            report.unchanged += 1
        report.events_appended += len(plan.events)
    if report.written:
        step(0, len(plans), "writing")
        _write(session, enterprise, plans, report, actor, tz, step)
        if column_map and learned != (enterprise.ledger_column_map or {}):
            enterprise.ledger_column_map = learned
    return report


def _year_hints(rows: Sequence[Sequence[Any]], header: Header, campaign_year: int | None) -> Any:
    """For a data row, the year its year-less check date is read in: the one the sheet's title names, else
    the nearest row above (then below) whose check date carries one, else the campaign's first year."""
    first_header_row = header.index + 1 - len(header.rows)
    title = " ".join(text(c) for row in rows[:first_header_row] for c in row if not is_blank(c))
    title_year = year_named_in(title) if title else None
    if title_year is not None:
        fixed = YearHint(title_year, "表格标题", "the sheet's title")
        return lambda index: fixed
    years: dict[int, int] = {}
    column = header.columns.get("found_at")
    if column is not None:
        for index in range(header.index + 1, len(rows)):
            cells = rows[index]
            if column[0] < len(cells) and not is_blank(cells[column[0]]):
                try:
                    years[index] = read_date(cells[column[0]]).day.year
                except CellRefused:
                    continue
    ordered = sorted(years)
    fallback = YearHint(campaign_year, "专项行动", "the campaign") if campaign_year else None

    def hint(index: int) -> YearHint | None:
        position = bisect.bisect_left(ordered, index)
        if position > 0:
            return YearHint(
                years[ordered[position - 1]], "上方相邻行的检查时间", "the check date of a row above"
            )
        if position < len(ordered):
            return YearHint(years[ordered[position]], "下方相邻行的检查时间", "the check date of a row below")
        return fallback

    return hint


def _plans_without_repeats(
    planner: _Planner, entries: list[_Entry], report: LedgerImportReport, step: Progress
) -> list[_Plan]:
    """Plan each entry; rows describing the same stored or new entry are all refused (which is right is unknown)."""
    planned: list[_Plan] = []
    for position, entry in enumerate(entries):
        step(position, len(entries), "planning")
        try:
            planned.append(planner.plan(entry))
        except _ColumnProblem as failure:
            report.errors.append(RowError.of(entry.line, entry.column(failure.column), failure.problem,
                                             entry.value(failure.column)))  # fmt: skip
    lines: dict[uuid.UUID, list[_Plan]] = defaultdict(list)
    for plan in planned:
        lines[plan.hazard_id].append(plan)
    kept = []
    for plan in planned:
        same = lines[plan.hazard_id]
        if len(same) == 1:
            kept.append(plan)
            continue
        rows = ", ".join(str(p.entry.line) for p in same)
        numbered = plan.entry.ledger_no is not None
        what = f"编号“{plan.entry.ledger_no}”" if numbered else "检查时间、部位和描述相同"
        what_en = f"number '{plan.entry.ledger_no}'" if numbered else "same date, place and description"
        column = "ledger_no" if numbered else "description"
        problem = entry_repeated(rows=rows, what=what, what_en=what_en)
        report.errors.append(
            RowError.of(plan.entry.line, plan.entry.column(column), problem, plan.entry.value(column))
        )
    return kept


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _write(session: DbSession, enterprise: Enterprise, plans: list[_Plan], report: LedgerImportReport,
           actor: User | None, tz: tzinfo, step: Progress) -> None:  # fmt: skip
    """Write the plans (checked already) through record_hazard/append_event, then one audit event."""
    updates: list[dict[str, Any]] = []
    for position, plan in enumerate(plans, start=1):
        step(position - 1, len(plans), "writing")
        if position % FLUSH_EVERY == 0:
            # Flushing in slices keeps each flush's unit of work (and the change-numbering hook, which
            # walks every new row of a flush) small; one flush of 15,000 rows is many times slower.
            session.flush()
        entry = plan.entry
        hazard = plan.existing
        if hazard is None:
            # Every new row names the same columns (None where blank), so that the flush inserts them in
            # a few multi-row statements: rows naming different columns are inserted in separate batches.
            fields = {attr: entry.fields.get(attr) for attr in _HAZARD_ATTRS}
            fields["stop_production"] = bool(fields["stop_production"])
            hazard = record_hazard(
                session, enterprise=enterprise, description=entry.description, level=plan.level,
                found_at=stamp(entry.found_on, HazardEventKind.found, tz), deadline=entry.deadline,
                source=HazardSource.self_ledger, hazard_id=plan.hazard_id,
                found_event_id=uuid.uuid5(plan.hazard_id, "found"), actor=actor, ledger_no=entry.ledger_no,
                terms=dict(entry.terms), inspection_id=None, level_reason=None, **fields,
            )  # fmt: skip
            found = hazard.events[0]
            found.comment, found.data = None, {}
        elif plan.changes:
            for attr, (_, new) in plan.changes.items():
                setattr(hazard, attr, new)
            hazard.row_version += 1
        for event in plan.events:
            append_event(session, hazard, event.kind, event.at, comment=event.comment, actor=actor, data=event.data,
                         event_id=uuid.uuid5(hazard.id, f"ledger/{event.kind.value}"))  # fmt: skip
        if plan.existing is not None and (plan.changes or plan.events):
            updates.append({"hazard_id": str(hazard.id), "row": entry.line, "ledger_no": hazard.ledger_no,
                            "changes": {k: {"from": _jsonable(old), "to": _jsonable(new)}
                                        for k, (old, new) in plan.changes.items()},
                            "events": [e.kind.value for e in plan.events]})  # fmt: skip
    session.flush()
    audit.record(session, actor, "ledger.import", "enterprise", enterprise.id,
                 {"file": report.source, **report.counts(), "updates": updates})  # fmt: skip


# --- Writing workbooks ------------------------------------------------------------------------------------------

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TITLE_ROW, HEADER_ROW = 1, 2
FIRST_DATA_ROW = HEADER_ROW + 1
#: How far down the template's drop-downs and checks reach.
TEMPLATE_ROWS = 2000


def _styles() -> dict[str, Any]:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="999999")
    return {
        "title": Font(bold=True, size=14),
        "header_font": Font(bold=True),
        "header_fill": PatternFill("solid", fgColor="DDEBF7"),
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "center": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "wrap": Alignment(vertical="top", wrap_text=True),
        "example": Font(italic=True, color="808080"),
    }


def _sheet_frame(sheet: Any, title: str, headers: list[tuple[str, float]], styles: dict[str, Any]) -> None:
    """Title row merged over the columns, a bold frozen header row, column widths and a print layout."""
    from openpyxl.utils import get_column_letter

    write_cell(sheet, TITLE_ROW, 1, title).font = styles["title"]
    sheet.cell(TITLE_ROW, 1).alignment = styles["center"]
    sheet.merge_cells(start_row=TITLE_ROW, start_column=1, end_row=TITLE_ROW, end_column=len(headers))
    sheet.row_dimensions[TITLE_ROW].height = 28
    for col, (header, width) in enumerate(headers, start=1):
        cell = write_cell(sheet, HEADER_ROW, col, header)
        cell.font, cell.fill = styles["header_font"], styles["header_fill"]
        cell.border, cell.alignment = styles["border"], styles["center"]
        sheet.column_dimensions[get_column_letter(col)].width = width
    sheet.row_dimensions[HEADER_ROW].height = 32
    sheet.freeze_panes = sheet.cell(FIRST_DATA_ROW, 1)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.print_options.horizontalCentered = True


def _column_formats(sheet: Any, columns: Sequence[Column]) -> None:
    from openpyxl.utils import get_column_letter

    for col, column in enumerate(columns, start=1):
        if column.kind in ("date", "past_date"):
            sheet.column_dimensions[get_column_letter(col)].number_format = "yyyy-mm-dd"
        elif column.kind == "money":
            sheet.column_dimensions[get_column_letter(col)].number_format = "#,##0.00"


def _validations(sheet: Any, last_row: int) -> None:
    """Drop-downs for level and 是/否, date and amount checks, each with a Chinese message."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    def rng(field_key: str) -> str:
        letter = get_column_letter(list(COLUMN_BY_KEY).index(field_key) + 1)
        return f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}"

    level = DataValidation(type="list", formula1='"一般事故隐患,重大事故隐患"', allow_blank=True,
                           errorTitle="隐患等级", error="请从下拉列表选择：一般事故隐患 或 重大事故隐患",
                           promptTitle="隐患等级", prompt="一般事故隐患 / 重大事故隐患")  # fmt: skip
    level.add(rng("level"))
    yes_no = DataValidation(type="list", formula1='"是,否"', allow_blank=True, errorTitle="是/否",
                            error="请填“是”或“否”")  # fmt: skip
    dates = DataValidation(type="date", operator="between", formula1="DATE(1990,1,1)", formula2="DATE(2100,12,31)",
                           allow_blank=True, errorTitle="日期", error="请填写日期，例如 2022-05-03",
                           promptTitle="日期", prompt="例如 2022-05-03")  # fmt: skip
    money = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                           errorTitle="整改资金", error="请填写不小于 0 的金额（元）")  # fmt: skip
    for column in COLUMNS:
        if column.kind == "flag":
            yes_no.add(rng(column.key))
        elif column.kind in ("date", "past_date"):
            dates.add(rng(column.key))
        elif column.kind == "money":
            money.add(rng(column.key))
    for validation in (level, yes_no, dates, money):
        validation.showErrorMessage = True
        sheet.add_data_validation(validation)


_EXAMPLE: dict[str, Any] = {
    "ledger_no": "示例", "found_at": date(2022, 5, 3), "checked_by": "李明、王强", "place": "炼钢车间 1 号转炉煤气区域",
    "description": "主控室未设置固定式一氧化碳监测报警装置", "level": "重大事故隐患", "item_code": "ST-6",
    "measures": "安装固定式一氧化碳监测报警装置并接入中控室", "responsible_person": "张建国",
    "deadline": date(2022, 6, 3), "funds_yuan": 12000, "completed_on": date(2022, 5, 28), "completed_by": "赵强",
    "recheck_on": date(2022, 5, 30), "recheck_by": "李明", "acceptance": "合格", "accepted_by": "县应急管理局",
    "accepted_on": None, "treatment_plan": "见《转炉煤气区域一氧化碳报警治理方案》", "five:measures": "是",
    "five:responsibility": "是", "five:funds": "是", "five:time_limit": "是", "five:contingency_plan": "是",
    "reported_to_regulator_on": date(2022, 5, 4), "reported_to_workers_congress_on": date(2022, 5, 9),
    "category": "设备设施", "ledger_state": "已整改",
    "stop_production": "否",
}  # fmt: skip


def _save(book: Any) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def ledger_template() -> bytes:
    """An empty ledger workbook: title, headers, drop-downs and checks, an example row and a 说明 sheet."""
    import openpyxl
    from openpyxl.comments import Comment

    styles = _styles()
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "隐患自查台账"
    _sheet_frame(sheet, "隐患排查治理台账（企业自查）", [(c.header, c.width) for c in COLUMNS], styles)
    _column_formats(sheet, COLUMNS)
    _validations(sheet, TEMPLATE_ROWS)
    for col, column in enumerate(COLUMNS, start=1):
        cell = write_cell(sheet, FIRST_DATA_ROW, col, _EXAMPLE.get(column.key))
        cell.font, cell.alignment = styles["example"], styles["wrap"]
        if column.kind in ("date", "past_date"):
            cell.number_format = "yyyy-mm-dd"
        sheet.cell(HEADER_ROW, col).comment = Comment(f"{column.help_zh}\n{column.help_en}", "台账模板")
    sheet.cell(FIRST_DATA_ROW, 1).comment = Comment(
        "示例行：导入时自动跳过，可删除。\nExample row: skipped on import.", "台账模板"
    )

    guide = book.create_sheet("说明")
    guide.append(["列名 / column", "必填 / required", "填写说明", "notes (English)"])
    for cell in guide[1]:
        cell.font, cell.fill, cell.border = styles["header_font"], styles["header_fill"], styles["border"]
    for column in (*COLUMNS, FIVE_IN_PLACE_COLUMN):
        help_zh = column.help_zh
        if column is FIVE_IN_PLACE_COLUMN:
            help_zh = "也可用一列“五到位”代替五列：填“是”（全部到位）或列出已到位的项，如“措施、责任、资金”"
        guide.append([column.header, "是" if column.required else "", help_zh,
                      column.help_en if column is not FIVE_IN_PLACE_COLUMN else "one column instead of the five"])  # fmt: skip
    guide.append([])
    for line in (
        "每行一条隐患；标题行、空行、合计/小计行、重复的表头行和示例行在导入时自动跳过。",
        "日期可写作 2022-05-03、2022/5/3、2022.5.3 或 2022年5月3日，也可以是 Excel 日期；只写月日（5月3日、5.3）时，"
        "年份取表格标题中的年份（如“2022年隐患台账”），没有时取相邻行或专项行动的年份，导入结果会说明。",
        "金额可写作 3000、30,000元、3万元 或 1.5万；表头写“整改资金（万元）”时，不带单位的数字按万元计。",
        "填写完成日期后记为“报告整改完成”；一般事故隐患同时填写验收日期和验收人后记为“验收通过”；"
        "重大事故隐患须由监管部门验收。",
        "重复导入同一文件不会产生重复记录：按“序号/编号”（没有编号时按检查时间、部位和描述）识别同一条隐患；"
        "已记录的整改过程不会被改写，只追加新的进展。",
        "Each row is one hazard. Re-importing the same file changes nothing; later files add only new progress.",
    ):
        guide.append([line])
    guide.column_dimensions["A"].width = 20
    guide.column_dimensions["B"].width = 14
    guide.column_dimensions["C"].width = 70
    guide.column_dimensions["D"].width = 50
    for row in guide.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = styles["wrap"]
    return _save(book)


def _row_values(hazard: Hazard, tz: tzinfo) -> list[Any]:
    """A hazard as a row under the template's headers, the way the import reads it back."""
    terms = _effective_terms(hazard, tz)
    five = hazard.five_in_place or {}

    def flag(value: Any) -> str | None:
        return None if value is None else ("是" if value else "否")

    def term(name: str) -> Any:
        value = terms.get(name)
        if value in (None, ""):
            return None
        if name in _DATE_TERMS:
            try:
                return date.fromisoformat(str(value))
            except ValueError:
                return str(value)
        return str(value)

    values: dict[str, Any] = {
        "ledger_no": hazard.ledger_no, "found_at": local_date(hazard.found_at, tz), "place": hazard.place,
        "description": hazard.description, "level": LEVEL_LABELS[hazard.level], "item_code": hazard.item_code,
        "deadline": hazard.deadline, "funds_yuan": hazard.funds_yuan,
        "treatment_plan": hazard.treatment_plan, "reported_to_regulator_on": hazard.reported_to_regulator_on,
        "reported_to_workers_congress_on": hazard.reported_to_workers_congress_on,
        "stop_production": flag(hazard.stop_production),
        **{f"five:{k}": flag(five.get(k)) for k in FIVE_IN_PLACE_KEYS},
        **{k: term(k) for k in TERM_KEYS},
    }  # fmt: skip
    return [values.get(column.key) for column in COLUMNS]


def _overdue(hazard: Hazard, today: date) -> bool:
    """Rectification still the enterprise's to do and past its deadline (as HazardStatus.is_overdue)."""
    waiting = hazard.state in (HazardState.found, HazardState.planned, HazardState.rejected)
    return waiting and hazard.deadline is not None and today > hazard.deadline


def _fill(sheet: Any, hazards: Sequence[Hazard], extra: Any, tz: tzinfo, styles: dict[str, Any]) -> None:
    row = FIRST_DATA_ROW
    formats = {i: "yyyy-mm-dd" for i, c in enumerate(COLUMNS, start=1) if c.kind in ("date", "past_date")}
    formats.update({i: "#,##0.00" for i, c in enumerate(COLUMNS, start=1) if c.kind == "money"})
    for hazard in hazards:
        for col, value in enumerate([*_row_values(hazard, tz), *extra(hazard)], start=1):
            cell = write_cell(sheet, row, col, value)
            cell.border, cell.alignment = styles["border"], styles["wrap"]
            if col in formats and value is not None:
                cell.number_format = formats[col]
        row += 1


def export_ledger(session: DbSession, enterprise: Enterprise, *, today: date | None = None) -> bytes:
    """The enterprise's ledger as .xlsx: its own entries, and the regulators' findings of submitted inspections."""
    import openpyxl

    tz = zone()
    today = today or datetime.now(tz).date()
    styles = _styles()
    own = session.scalars(
        sa.select(Hazard)
        .where(Hazard.enterprise_id == enterprise.id, Hazard.source == HazardSource.self_ledger,
               Hazard.deleted_at.is_(None))
        .options(selectinload(Hazard.events))
        .order_by(Hazard.found_at, Hazard.ledger_no, Hazard.id)
    ).all()  # fmt: skip
    # 四不两直: a regulator's findings reach the enterprise only once released (submitted or approved; never a
    # draft, nor a returned record being corrected): the portal's rule, shared so the two cannot differ.
    found_by_regulators = session.execute(
        sa.select(Hazard, Inspection)
        .join(Inspection, Hazard.inspection_id == Inspection.id)
        .where(Hazard.enterprise_id == enterprise.id, Hazard.source != HazardSource.self_ledger,
               Hazard.deleted_at.is_(None), Inspection.id.in_(released_inspections()))
        .options(selectinload(Hazard.events))
        .order_by(Hazard.found_at, Hazard.id)
    ).all()  # fmt: skip
    kinds = {h.id: i.kind.label_zh for h, i in found_by_regulators}

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "隐患自查台账"
    headers = [(c.header, c.width) for c in COLUMNS] + [("当前状态", 14), ("是否逾期", 8)]
    _sheet_frame(
        sheet, f"{enterprise.name} 隐患排查治理台账（企业自查） 导出日期 {today.isoformat()}", headers, styles
    )

    def state(hazard: Hazard) -> list[Any]:
        return [hazard.state.label_zh, "是" if _overdue(hazard, today) else "否"]

    _fill(sheet, own, state, tz, styles)
    second = book.create_sheet("监管检查发现隐患")
    _sheet_frame(second, f"{enterprise.name} 监管部门检查发现的隐患 导出日期 {today.isoformat()}",
                 [*headers, ("检查类型", 16)], styles)  # fmt: skip
    _fill(second, [h for h, _ in found_by_regulators], lambda h: [*state(h), kinds[h.id]], tz, styles)
    return _save(book)

"""What people type into spreadsheet cells, read as typed values: amounts, dates, hazard levels, ledger states.

Pure parsing, shared by every importer (the spreadsheet reader turns a refusal into a row problem).
Each reader raises ``CellRefused`` with a reason key (see ``REASONS``) rather than guessing: a value that can
be read two ways is refused, never silently changed.

Amounts
-------
Stored in yuan as exact decimals (never float). A cell may carry its own unit ("3万元", "1.5万", "30,000元",
"２０００元"); otherwise the column's unit applies, read from its header ("整改资金（万元）" → 10 000,
"(元)" → 1, no unit → yuan). The cell's own unit wins over the header's: it is the more specific statement.
A result with more than two decimals in yuan (less than a fen) is refused; a float cell's binary noise
(0.30000000000000004) is not "more decimals" and is rounded off.

Dates
-----
A datetime, an Excel serial, or text: 2022-05-12, 2022/5/12, 2022.5.12, 2022年5月12日, 20220512, with or
without a time after it. Without a year ("5月12日", "5.12", "5/12") the caller must say which year to use
(the sheet title's, a neighbouring row's, the campaign's) and is told the year was supplied, so that it can
warn. A number cell such as 5.1 (typed "5.10" and shortened by Excel, or "5.1") is refused as ambiguous.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from server.domain.hazards import HazardLevel

#: Excel serials below this (1927) are more likely a bare year or a stray number than a date.
MIN_SERIAL = 10000
#: Day 0 of Excel's 1900 date system (after its phantom 1900-02-29; serials below 61 are never read here).
_EXCEL_EPOCH = date(1899, 12, 30)
YUAN = Decimal(1)
WAN = Decimal(10000)
FEN = Decimal("0.01")

REASONS = {
    "amount": ("“{value}”不是有效金额（例如 3000、30,000元、3万元、1.5万）",
               "'{value}' is not an amount (e.g. 3000, 30,000元, 3万元, 1.5万)"),
    "amount_negative": ("金额“{value}”不能为负数", "the amount '{value}' cannot be negative"),
    "amount_fraction": ("金额“{value}”折合 {yuan} 元，超过两位小数（分）", "'{value}' is {yuan} yuan: more than two decimals"),
    "date": ("“{value}”不是有效日期（例如 2022-05-12、2022/5/12、2022年5月12日、5月12日）",
             "'{value}' is not a valid date (e.g. 2022-05-12, 2022/5/12, 2022.5.12)"),
    "date_no_year": ("日期“{value}”没有年份，表格标题、相邻行和专项行动中都找不到可用的年份，请写明年份",
                     "the date '{value}' has no year and none could be found in the title, nearby rows or "
                     "the campaign; write the year"),
    "date_ambiguous": ("“{value}”是数字，无法确定是 {month}月{day}日 还是 {month}月{day}0日，请写成 {month}月{day}日 或 "
                       "完整日期", "'{value}' is a number: it could be month {month} day {day} or day {day}0; "
                       "write a full date"),
    "level": ("“{value}”不是有效的隐患等级，请填“一般事故隐患”或“重大事故隐患”（也可写 一般、重大）",
              "'{value}' is not a hazard level: general (一般) or major (重大)"),
    "state": ("“{value}”不是可识别的整改状态（未整改、整改中、已整改、已验收）",
              "'{value}' is not a rectification state (未整改, 整改中, 已整改, 已验收)"),
}  # fmt: skip


class CellRefused(ValueError):
    """A cell that cannot be read as the value its column asks for; ``reason`` is a key of ``REASONS``."""

    def __init__(self, reason: str, **details: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details

    def message(self, lang: str = "zh") -> str:
        """The reason in Chinese (or English) with the cell's details filled in."""
        zh, en = REASONS[self.reason]
        return (zh if lang == "zh" else en).format(**self.details)


def fold(value: object) -> str:
    """Text as compared: NFKC (full-width digits and punctuation to ASCII), surrounding space removed."""
    return unicodedata.normalize("NFKC", str(value)).strip()


def _quoted(value: object) -> str:
    shown = fold(value) if not isinstance(value, float) else repr(value)
    return shown if len(shown) <= 40 else shown[:39] + "…"


# --- Amounts ------------------------------------------------------------------------------------------------

_UNITS = {"万元": WAN, "万": WAN, "千元": Decimal(1000), "元": YUAN, "人民币元": YUAN}
_HEADER_UNIT = re.compile(
    r"[(\[【]\s*(?:单位\s*[:：]?\s*)?(万元|千元|元)\s*[)\]】]|[/／]\s*(万元|千元|元)\s*$|(万元|元)\s*$"
)
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(万元|万|千元|元|人民币元)?")


def unit_of_header(header: str) -> Decimal | None:
    """The unit a header names ("整改资金（万元）" → 10000, "资金(元)" → 1), None when it names none."""
    match = _HEADER_UNIT.search(fold(header).replace(" ", ""))
    if match is None:
        return None
    return _UNITS[next(group for group in match.groups() if group)]


def parse_amount(value: object, unit: Decimal = YUAN) -> Decimal:
    """An amount in yuan, exact to the fen, from a number (in ``unit``) or text that may name its own unit."""
    if isinstance(value, bool) or value is None:
        raise CellRefused("amount", value=_quoted(value))
    if isinstance(value, int | Decimal):
        number, noisy = Decimal(value), False
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CellRefused("amount", value=_quoted(value))
        number, noisy = Decimal(repr(value)), True
    else:
        folded = re.sub(r"[\s,¥￥]", "", fold(value)).removeprefix("人民币")
        match = _AMOUNT.fullmatch(folded)
        negative = folded.startswith("-") and _AMOUNT.fullmatch(folded[1:]) is not None
        if negative:
            raise CellRefused("amount_negative", value=_quoted(value))
        if match is None:
            raise CellRefused("amount", value=_quoted(value))
        try:
            number = Decimal(match[1])
        except InvalidOperation:
            raise CellRefused("amount", value=_quoted(value)) from None
        noisy = False
        if match[2]:
            unit = _UNITS[match[2]]
    if number < 0:
        raise CellRefused("amount_negative", value=_quoted(value))
    yuan = number * unit
    exact = yuan.quantize(FEN, rounding=ROUND_HALF_UP)
    if exact != yuan and not (noisy and abs(exact - yuan) < Decimal("1e-6") * max(Decimal(1), abs(yuan))):
        raise CellRefused("amount_fraction", value=_quoted(value), yuan=f"{yuan.normalize():f}")
    return exact


def amount_in(yuan: Decimal, unit: Decimal) -> Decimal:
    """An amount in yuan shown in another unit (万元: four more decimals, so nothing is rounded away)."""
    places = Decimal(1).scaleb(-(2 + max(0, unit.adjusted())))
    return (yuan / unit).quantize(places)


# --- Dates --------------------------------------------------------------------------------------------------

_FULL_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_NO_YEAR = re.compile(r"(\d{1,2})\s*(?:月\s*(\d{1,2})\s*[日号]?|[./](\d{1,2}))")
_TIME = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_YEAR_IN_TEXT = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*(?:年|年度)?(?!\d)")


@dataclass(frozen=True)
class ReadDate:
    """A date read from a cell, and whether its year was supplied by the caller (the cell had none)."""

    day: date
    year_supplied: bool = False


def from_serial(serial: float) -> date:
    """The day an Excel serial (1900 date system) names; the fraction (time of day) is dropped."""
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def parse_date(value: object, default_year: int | None = None) -> ReadDate:
    """A date from a datetime, an Excel serial or text (module docstring); a year-less date takes
    ``default_year`` (refused when there is none)."""
    try:
        return _parse_date(value, default_year)
    except (ValueError, OverflowError) as error:
        if isinstance(error, CellRefused):
            raise
        raise CellRefused("date", value=_quoted(value)) from None


def _parse_date(value: object, default_year: int | None) -> ReadDate:
    if isinstance(value, datetime):
        return ReadDate(value.date())
    if isinstance(value, date):
        return ReadDate(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise CellRefused("date", value=_quoted(value))
        if value >= MIN_SERIAL:
            return ReadDate(from_serial(float(value)))
        return _month_day_number(float(value), default_year)
    folded = _TIME.sub("", fold(value)).strip()
    if match := _FULL_DATE.fullmatch(folded):
        return ReadDate(date(int(match[1]), int(match[2]), int(match[3])))
    if re.fullmatch(r"\d{8}", folded):
        return ReadDate(date(int(folded[:4]), int(folded[4:6]), int(folded[6:])))
    if re.fullmatch(r"\d{5}(\.0+)?", folded) and float(folded) >= MIN_SERIAL:
        return ReadDate(from_serial(float(folded)))
    if match := _NO_YEAR.fullmatch(folded):
        if default_year is None:
            raise CellRefused("date_no_year", value=_quoted(value))
        day = int(match[2] or match[3])
        return ReadDate(date(default_year, int(match[1]), day), year_supplied=True)
    raise CellRefused("date", value=_quoted(value))


def _month_day_number(number: float, default_year: int | None) -> ReadDate:
    """A number typed as month.day ("5.12" stored as 5.12); 5.1 could be the 1st or the 10th: refused."""
    text = repr(number)
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})", text)
    if match is None:
        raise CellRefused("date", value=_quoted(number))
    month, digits = int(match[1]), match[2]
    if len(digits) == 1 and digits != "0":
        try:
            date(2000, month, int(digits) * 10)  # a leap year: the widest calendar
        except ValueError:
            pass  # "2.3" cannot be the 30th of February: it is the 3rd
        else:
            raise CellRefused("date_ambiguous", value=text, month=str(month), day=digits)
    if default_year is None:
        raise CellRefused("date_no_year", value=text)
    return ReadDate(date(default_year, month, int(digits)), year_supplied=True)


def year_named_in(text: str) -> int | None:
    """The one year a title names ("2022年隐患排查治理台账" → 2022); None when none or several differ."""
    years = {int(y) for y in _YEAR_IN_TEXT.findall(fold(text))}
    return years.pop() if len(years) == 1 else None


# --- Levels and states ------------------------------------------------------------------------------------------

_LEVEL_WORDS: dict[str, HazardLevel] = {
    **dict.fromkeys(("一般", "一般隐患", "一般事故隐患", "一般安全隐患", "一般级", "一般安全生产事故隐患", "general",
                     "g"), HazardLevel.general),
    **dict.fromkeys(("重大", "重大隐患", "重大事故隐患", "重大安全隐患", "重大级", "重大安全生产事故隐患", "major"),
                    HazardLevel.major),
}  # fmt: skip


def _word(value: object) -> str:
    return "".join(fold(value).split()).strip("*:：。.").lower()


def parse_level(value: object) -> HazardLevel:
    """一般/一般隐患/一般事故隐患 → general, 重大/重大事故隐患 → major (and their usual spellings)."""
    level = _LEVEL_WORDS.get(_word(value))
    if level is None:
        raise CellRefused("level", value=_quoted(value))
    return level


class LedgerState(StrEnum):
    """The rectification state a ledger writes in its own words (the system's state comes from events)."""

    open = "open"
    in_progress = "in_progress"
    rectified = "rectified"
    accepted = "accepted"

    @property
    def label_zh(self) -> str:
        """The usual Chinese word."""
        return {"open": "未整改", "in_progress": "整改中", "rectified": "已整改", "accepted": "已验收"}[
            self.value
        ]

    @property
    def claims_fixed(self) -> bool:
        """Whether the ledger says the hazard is fixed."""
        return self in (LedgerState.rectified, LedgerState.accepted)


_STATE_WORDS: dict[str, LedgerState] = {
    **dict.fromkeys(("未整改", "待整改", "未完成", "未开始", "未处理", "未落实", "open"), LedgerState.open),
    **dict.fromkeys(("整改中", "正在整改", "治理中", "处理中", "整改未完成", "进行中", "in progress", "in_progress"),
                    LedgerState.in_progress),
    **dict.fromkeys(("已整改", "整改完成", "整改完毕", "已完成", "完成", "已处理", "已落实", "已整改完成", "rectified",
                     "fixed"), LedgerState.rectified),
    **dict.fromkeys(("已验收", "验收合格", "验收通过", "已销号", "销号", "已闭环", "闭环", "accepted"),
                    LedgerState.accepted),
}  # fmt: skip


def parse_ledger_state(value: object) -> LedgerState:
    """未整改/整改中/已整改/已验收 and their usual spellings."""
    state = _STATE_WORDS.get(_word(value))
    if state is None:
        raise CellRefused("state", value=_quoted(value))
    return state

"""Each form of amount, date, level and state people type into a ledger, read exactly or refused plainly."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from server.domain.hazards import HazardLevel
from server.domain.typed_cells import (
    WAN,
    YUAN,
    CellRefused,
    LedgerState,
    ReadDate,
    amount_in,
    parse_amount,
    parse_date,
    parse_ledger_state,
    parse_level,
    unit_of_header,
    year_named_in,
)


@pytest.mark.parametrize(
    ("header", "unit"),
    [
        ("整改资金（万元）", WAN),
        ("整改资金(万元)", WAN),
        ("投入资金【万元】", WAN),
        ("资金（单位：万元）", WAN),
        ("整改资金/万元", WAN),
        ("整改资金（元）", YUAN),
        ("资金(元)", YUAN),
        ("投入资金 (千元)", Decimal(1000)),
        ("整改资金", None),
        ("funds", None),
    ],
)
def test_unit_read_from_header(header: str, unit: Decimal | None) -> None:
    assert unit_of_header(header) == unit


@pytest.mark.parametrize(
    ("value", "unit", "yuan"),
    [
        ("3万元", YUAN, "30000.00"),
        ("1.5万", YUAN, "15000.00"),
        ("30,000元", YUAN, "30000.00"),
        ("3000", YUAN, "3000.00"),
        ("３０００元", YUAN, "3000.00"),  # full-width digits
        ("１．５万", YUAN, "15000.00"),
        ("￥1,200.50", YUAN, "1200.50"),
        ("人民币800元", YUAN, "800.00"),
        (12.5, WAN, "125000.00"),  # 12.5 in a 整改资金（万元） column: the 10,000× error
        ("12.5", WAN, "125000.00"),
        ("3000元", WAN, "3000.00"),  # the cell's own unit wins over the header's
        (0.1 + 0.2, YUAN, "0.30"),  # a float cell's binary noise is not a third decimal
        (1.23456, WAN, "12345.60"),
        (12000, YUAN, "12000.00"),
        (Decimal("99.99"), YUAN, "99.99"),
        ("0", YUAN, "0.00"),
    ],
)
def test_amounts_are_exact_yuan(value: object, unit: Decimal, yuan: str) -> None:
    amount = parse_amount(value, unit)
    assert isinstance(amount, Decimal) and amount == Decimal(yuan) and str(amount) == yuan


@pytest.mark.parametrize(
    ("value", "unit", "reason"),
    [
        ("约3万", YUAN, "amount"),
        ("3-5万", YUAN, "amount"),
        ("三万元", YUAN, "amount"),
        ("-200", YUAN, "amount_negative"),
        (-5, YUAN, "amount_negative"),
        ("1.234", YUAN, "amount_fraction"),  # less than a fen: refused, never rounded silently
        ("0.0000001万", YUAN, "amount_fraction"),  # 0.001 yuan
        (float("nan"), YUAN, "amount"),
        (True, YUAN, "amount"),
    ],
)
def test_amounts_that_cannot_be_read_exactly_are_refused(value: object, unit: Decimal, reason: str) -> None:
    with pytest.raises(CellRefused) as refused:
        parse_amount(value, unit)
    assert refused.value.reason == reason
    assert "“" in refused.value.message("zh")


def test_amount_shown_in_wan_keeps_every_fen() -> None:
    assert amount_in(Decimal("125000.00"), WAN) == Decimal("12.500000")
    assert amount_in(Decimal("1.01"), WAN) == Decimal("0.000101")


@pytest.mark.parametrize(
    ("value", "day"),
    [
        (datetime(2022, 5, 12, 9, 30), date(2022, 5, 12)),
        (date(2022, 5, 12), date(2022, 5, 12)),
        (44693, date(2022, 5, 12)),  # an Excel serial
        (44693.75, date(2022, 5, 12)),  # a serial with a time
        ("44693", date(2022, 5, 12)),
        ("2022-05-12", date(2022, 5, 12)),
        ("2022/5/12", date(2022, 5, 12)),
        ("2022.5.12", date(2022, 5, 12)),
        ("2022年5月12日", date(2022, 5, 12)),
        ("2022 年 5 月 12 日", date(2022, 5, 12)),
        ("２０２２年５月１２日", date(2022, 5, 12)),
        ("20220512", date(2022, 5, 12)),
        ("2022-05-12 08:30:00", date(2022, 5, 12)),
        ("2022/5/12 8:30", date(2022, 5, 12)),
    ],
)
def test_dates_with_their_year(value: object, day: date) -> None:
    assert parse_date(value) == ReadDate(day)
    assert parse_date(value, 1999) == ReadDate(day)  # a given year never overrides a written one


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("5月12日", date(2022, 5, 12)),
        ("5月12号", date(2022, 5, 12)),
        ("5.12", date(2022, 5, 12)),
        ("5/12", date(2022, 5, 12)),
        ("１２月３日", date(2022, 12, 3)),
        (5.12, date(2022, 5, 12)),  # "5.12" typed into a number cell
        (2.3, date(2022, 2, 3)),  # cannot be the 30th of February
    ],
)
def test_dates_without_a_year_take_the_given_year_and_say_so(value: object, day: date) -> None:
    assert parse_date(value, 2022) == ReadDate(day, year_supplied=True)
    with pytest.raises(CellRefused) as refused:
        parse_date(value)
    assert refused.value.reason == "date_no_year"
    assert "没有年份" in refused.value.message("zh")


@pytest.mark.parametrize("value", [5.1, 10.2, 3.3])
def test_a_number_that_lost_its_trailing_zero_is_ambiguous(value: float) -> None:
    with pytest.raises(CellRefused) as refused:
        parse_date(value, 2022)
    assert refused.value.reason == "date_ambiguous"
    assert "还是" in refused.value.message("zh")


@pytest.mark.parametrize("value", ["2022-13-01", "2022-02-30", "5月32日", "明天", "2022", 2022, "13.5", 0])
def test_impossible_dates_are_refused(value: object) -> None:
    with pytest.raises(CellRefused):
        parse_date(value, 2022)


@pytest.mark.parametrize(
    ("title", "year"),
    [
        ("兴县晋兴特钢有限公司隐患排查治理台账（2022年）", 2022),
        ("2023年度安全隐患自查台账", 2023),
        ("２０２２年隐患台账", 2022),
        ("隐患排查治理台账", None),
        ("2022年—2023年隐患台账", None),  # two years: which one is unknown
        ("编号 20220512", None),
    ],
)
def test_year_named_in_a_title(title: str, year: int | None) -> None:
    assert year_named_in(title) == year


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("一般", HazardLevel.general),
        ("一般隐患", HazardLevel.general),
        ("一般事故隐患", HazardLevel.general),
        (" 一般事故隐患 ", HazardLevel.general),
        ("重大", HazardLevel.major),
        ("重大隐患", HazardLevel.major),
        ("重大事故隐患", HazardLevel.major),
        ("Major", HazardLevel.major),
    ],
)
def test_levels_in_their_usual_words(value: str, level: HazardLevel) -> None:
    assert parse_level(value) is level


@pytest.mark.parametrize("value", ["较大", "严重", "A级", ""])
def test_unknown_levels_are_refused(value: str) -> None:
    with pytest.raises(CellRefused) as refused:
        parse_level(value)
    assert refused.value.reason == "level"


@pytest.mark.parametrize(
    ("value", "state"),
    [
        ("未整改", LedgerState.open),
        ("待整改", LedgerState.open),
        ("整改中", LedgerState.in_progress),
        ("正在整改", LedgerState.in_progress),
        ("已整改", LedgerState.rectified),
        ("整改完成", LedgerState.rectified),
        ("已完成", LedgerState.rectified),
        ("已验收", LedgerState.accepted),
        ("验收合格", LedgerState.accepted),
        ("已销号", LedgerState.accepted),
    ],
)
def test_states_in_their_usual_words(value: str, state: LedgerState) -> None:
    assert parse_ledger_state(value) is state
    assert state.claims_fixed is (state in (LedgerState.rectified, LedgerState.accepted))


def test_unknown_state_is_refused_with_the_words_to_use() -> None:
    with pytest.raises(CellRefused) as refused:
        parse_ledger_state("差不多了")
    assert "未整改、整改中、已整改、已验收" in refused.value.message("zh")

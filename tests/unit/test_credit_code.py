"""Tests for the 统一社会信用代码 validator."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.credit_code import (
    CHARSET,
    REGISTRATION_AUTHORITIES,
    InvalidCreditCode,
    credit_code_check_char,
    is_valid_credit_code,
    make_credit_code,
    normalize_credit_code,
    validate_credit_code,
)

# Codes as published by the enterprises / the national credit system. Each passes both the GB 11714
# organisation-code check and the GB 32100 check independently, so a misremembered code would fail.
PUBLISHED = [
    "91350100M000100Y43",  # the example commonly cited with GB 32100
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91330100716105852F",  # 阿里巴巴（中国）有限公司
    "91110000710925462X",  # 中国石油天然气股份有限公司
    "9111000071093123XX",  # 国家电网有限公司
]


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code: str) -> None:
    assert validate_credit_code(code) == code
    assert is_valid_credit_code(code)
    assert credit_code_check_char(code[:17]) == code[17]


def test_weights_are_powers_of_three_mod_31() -> None:
    from server.domain.credit_code import WEIGHTS

    assert list(WEIGHTS) == [pow(3, i, 31) for i in range(17)]
    assert len(CHARSET) == 31
    assert not set("IOZSV") & set(CHARSET)


def test_make_credit_code_builds_a_code_that_validates() -> None:
    code = make_credit_code("9", "1", "130522", "MA0G4K2U")
    assert len(code) == 18
    assert code.startswith("91130522MA0G4K2U")
    assert validate_credit_code(code) == code


def test_make_credit_code_reproduces_published_code() -> None:
    assert make_credit_code("9", "1", "350100", "M000100Y") == "91350100M000100Y43"
    assert make_credit_code("9", "1", "110000", "71093123") == "9111000071093123XX"


def test_make_credit_code_rejects_wrong_part_lengths() -> None:
    with pytest.raises(ValueError, match="1 \\+ 1 \\+ 6 \\+ 8"):
        make_credit_code("91", "1", "13052", "MA0G4K2U")


def test_make_credit_code_rejects_letters_not_in_charset() -> None:
    with pytest.raises(InvalidCreditCode) as err:
        make_credit_code("9", "1", "130522", "MA0G4KIU")
    assert err.value.reason == "charset"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("91350100m000100y43", "91350100M000100Y43"),
        ("  91350100M000100Y43\n", "91350100M000100Y43"),
        ("9135 0100 M000 100Y 43", "91350100M000100Y43"),
        ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43"),  # full-width
        ("9135\u30000100M000100Y43", "91350100M000100Y43"),  # ideographic space
        ("\t９１３５０１００ｍ000100ｙ43 ", "91350100M000100Y43"),
    ],
)
def test_normalisation(raw: str, expected: str) -> None:
    assert normalize_credit_code(raw) == expected
    assert validate_credit_code(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason", "position"),
    [
        ("91350100M000100Y4", "length", None),
        ("91350100M000100Y433", "length", None),
        ("", "length", None),
        ("91350100M000100I43", "charset", 16),  # I is not in the charset
        ("91350100M000100Y4-", "charset", 18),
        ("O1350100M000100Y43", "charset", 1),
        ("B1350100M000100Y43", "registration_authority", 1),
        ("9135010AM000100Y43", "division_code", 8),
        ("91A50100M000100Y43", "division_code", 3),
        ("91350100M000100Y53", "org_code_check", 17),
        ("91350100M000100Y44", "check_digit", 18),
    ],
)
def test_each_failure_reason(raw: str, reason: str, position: int | None) -> None:
    with pytest.raises(InvalidCreditCode) as err:
        validate_credit_code(raw)
    assert err.value.reason == reason
    assert err.value.position == position
    assert isinstance(err.value, ValueError)
    assert "统一社会信用代码" in str(err.value)
    assert not is_valid_credit_code(raw)


def test_message_names_expected_check_char() -> None:
    with pytest.raises(InvalidCreditCode, match="expected '3'"):
        validate_credit_code("91350100M000100Y44")


@pytest.mark.parametrize("authority", sorted(REGISTRATION_AUTHORITIES))
def test_every_listed_registration_authority_is_accepted(authority: str) -> None:
    assert is_valid_credit_code(make_credit_code(authority, "1", "130522", "12345678"))


def test_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="17"):
        credit_code_check_char("1234")
    with pytest.raises(ValueError, match="charset"):
        credit_code_check_char("91350100M000100I4")


_BODY = st.text(alphabet=CHARSET, min_size=8, max_size=8)
_DIVISION = st.text(alphabet="0123456789", min_size=6, max_size=6)
_AUTHORITY = st.sampled_from(sorted(REGISTRATION_AUTHORITIES))
_TYPE = st.sampled_from(CHARSET)


@given(_AUTHORITY, _TYPE, _DIVISION, _BODY)
def test_made_codes_always_validate(authority: str, type_code: str, division: str, body: str) -> None:
    code = make_credit_code(authority, type_code, division, body)
    assert validate_credit_code(code) == code


@given(
    _AUTHORITY,
    _TYPE,
    _DIVISION,
    _BODY,
    st.integers(min_value=0, max_value=17),
    st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
)
def test_any_single_substitution_is_detected(
    authority: str, type_code: str, division: str, body: str, position: int, replacement: str
) -> None:
    code = make_credit_code(authority, type_code, division, body)
    if code[position] == replacement:
        replacement = "0" if replacement != "0" else "1"
    mutated = code[:position] + replacement + code[position + 1 :]
    assert not is_valid_credit_code(mutated)

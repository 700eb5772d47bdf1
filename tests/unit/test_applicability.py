"""Tests for item applicability: the edge cases a regulator would argue about."""

from __future__ import annotations

import pytest

from server.domain.applicability import (
    ApplicabilityRule,
    EnterpriseProfile,
    applicable_items,
    applies,
    why_not,
)
from server.domain.sectors import Sector

DUST = ApplicabilityRule(frozenset({Sector.dust_explosion}), min_dust_workers=10)
STEEL = ApplicabilityRule(frozenset({Sector.steel}))
CONFINED = ApplicabilityRule(frozenset({Sector.confined_space}))
EVERYONE = ApplicabilityRule()


def profile(*sectors: Sector, dust_workers: int | None = None) -> EnterpriseProfile:
    return EnterpriseProfile(frozenset(sectors), dust_workers)


@pytest.mark.parametrize(
    ("workers", "expected"), [(9, False), (10, True), (11, True), (0, False), (500, True)]
)
def test_dust_worker_threshold_is_inclusive(workers: int, expected: bool) -> None:
    assert applies(DUST, profile(Sector.dust_explosion, dust_workers=workers)) is expected


def test_nine_dust_workers_reason() -> None:
    assert (
        why_not(DUST, profile(Sector.dust_explosion, dust_workers=9)) == "粉尘涉爆作业人数 9 人，少于 10 人"
    )


def test_unknown_dust_worker_count_applies() -> None:
    # The inspector must check the item rather than skip it because the register lacks a number.
    assert applies(DUST, profile(Sector.dust_explosion, dust_workers=None))
    assert why_not(DUST, profile(Sector.dust_explosion, dust_workers=None)) is None


def test_many_dust_workers_without_dust_flag_does_not_apply() -> None:
    assert why_not(DUST, profile(Sector.steel, dust_workers=50)) == "企业无粉尘涉爆作业"


def test_enterprise_with_no_flags() -> None:
    bare = profile()
    assert applies(EVERYONE, bare)
    assert not applies(STEEL, bare)
    assert why_not(STEEL, bare) == "企业不属于钢铁行业"
    assert not applies(DUST, bare)


def test_multiple_sectors() -> None:
    both = profile(Sector.steel, Sector.dust_explosion, dust_workers=12)
    assert applies(STEEL, both)
    assert applies(DUST, both)
    assert not applies(CONFINED, both)


def test_rule_with_several_sectors_needs_any_one() -> None:
    rule = ApplicabilityRule(frozenset({Sector.steel, Sector.gas_area}))
    assert applies(rule, profile(Sector.gas_area))
    assert applies(rule, profile(Sector.steel))
    assert why_not(rule, profile(Sector.dust_explosion)) == "企业不涉及钢铁、煤气区域中的任何一项"


def test_confined_space_only_enterprise() -> None:
    cs = profile(Sector.confined_space)
    assert applies(CONFINED, cs)
    assert applies(EVERYONE, cs)
    assert not applies(STEEL, cs)
    assert why_not(DUST, cs) == "企业无粉尘涉爆作业"


def test_threshold_without_sector_applies_to_all_with_enough_workers() -> None:
    rule = ApplicabilityRule(min_dust_workers=10)
    assert applies(rule, profile(dust_workers=10))
    assert not applies(rule, profile(dust_workers=3))
    assert applies(rule, profile())


def test_applicable_items_keeps_order() -> None:
    items = [("ST-1", STEEL), ("X-1", EVERYONE), ("DU-1", DUST), ("CS-1", CONFINED), ("ST-2", STEEL)]
    got = applicable_items(items, profile(Sector.steel, Sector.confined_space), lambda it: it[1])
    assert [code for code, _ in got] == ["ST-1", "X-1", "CS-1", "ST-2"]


def test_from_dict_and_to_dict_round_trip() -> None:
    rule = ApplicabilityRule.from_dict({"sectors_any": ["dust_explosion"], "min_dust_workers": 10})
    assert rule == DUST
    assert rule.to_dict() == {"sectors_any": ["dust_explosion"], "min_dust_workers": 10}
    assert ApplicabilityRule.from_dict(rule.to_dict()) == rule
    assert ApplicabilityRule.from_dict({}) == EVERYONE
    assert EVERYONE.to_dict() == {"sectors_any": [], "min_dust_workers": None}


def test_to_dict_uses_declaration_order() -> None:
    rule = ApplicabilityRule.from_dict({"sectors_any": ["gas_area", "steel"]})
    assert rule.to_dict()["sectors_any"] == ["steel", "gas_area"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sectors": ["steel"]}, "unknown key.*'sectors'"),
        ({"sectors_any": ["stell"]}, "sectors_any: unknown sector 'stell'"),
        ({"sectors_any": "steel"}, "sectors_any must be a list"),
        ({"sectors_any": [1]}, "sectors_any must contain sector names"),
        ({"min_dust_workers": -1}, "must not be negative, got -1"),
        ({"min_dust_workers": "10"}, "min_dust_workers must be an integer"),
        ({"min_dust_workers": True}, "min_dust_workers must be an integer"),
        ({"min_dust_workers": 9.5}, "min_dust_workers must be an integer"),
    ],
)
def test_from_dict_rejects_bad_input(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ApplicabilityRule.from_dict(data)


def test_from_dict_rejects_non_mapping() -> None:
    with pytest.raises(ValueError, match="must be a table"):
        ApplicabilityRule.from_dict(["steel"])  # type: ignore[arg-type]

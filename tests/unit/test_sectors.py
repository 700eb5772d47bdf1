"""Tests for the sector flags."""

from __future__ import annotations

import pytest

from server.domain.sectors import SECTOR_LABELS_EN, SECTOR_LABELS_ZH, Sector, parse_sector


def test_values_and_chinese_labels() -> None:
    assert [s.value for s in Sector] == [
        "steel",
        "aluminium_casting",
        "dust_explosion",
        "ammonia_refrigeration",
        "confined_space",
        "hazardous_work",
        "major_hazard_source",
        "gas_area",
    ]
    assert [s.label_zh for s in Sector] == [
        "钢铁",
        "铝加工（深井铸造）",
        "粉尘涉爆",
        "涉氨制冷",
        "有限空间作业",
        "危险作业",
        "重大危险源",
        "煤气区域",
    ]


def test_every_sector_has_both_labels() -> None:
    assert set(SECTOR_LABELS_ZH) == set(Sector) == set(SECTOR_LABELS_EN)
    assert all(s.label_en for s in Sector)


def test_is_a_str() -> None:
    assert Sector.steel == "steel"
    assert f"{Sector.dust_explosion}" == "dust_explosion"


def test_parse_sector() -> None:
    assert parse_sector("gas_area") is Sector.gas_area
    with pytest.raises(ValueError, match=r"unknown sector 'stell'.*steel"):
        parse_sector("stell")

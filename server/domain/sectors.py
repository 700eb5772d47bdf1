"""Sector flags of an enterprise (行业/作业类别), with Chinese and English labels."""

from __future__ import annotations

from enum import StrEnum


class Sector(StrEnum):
    """A sector or activity flag that decides which checklist items apply to an enterprise."""

    steel = "steel"
    aluminium_casting = "aluminium_casting"
    dust_explosion = "dust_explosion"
    ammonia_refrigeration = "ammonia_refrigeration"
    confined_space = "confined_space"
    hazardous_work = "hazardous_work"
    major_hazard_source = "major_hazard_source"
    gas_area = "gas_area"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return SECTOR_LABELS_ZH[self]

    @property
    def label_en(self) -> str:
        """Return the English label."""
        return SECTOR_LABELS_EN[self]


SECTOR_LABELS_ZH: dict[Sector, str] = {
    Sector.steel: "钢铁",
    Sector.aluminium_casting: "铝加工（深井铸造）",
    Sector.dust_explosion: "粉尘涉爆",
    Sector.ammonia_refrigeration: "涉氨制冷",
    Sector.confined_space: "有限空间作业",
    Sector.hazardous_work: "危险作业",
    Sector.major_hazard_source: "重大危险源",
    Sector.gas_area: "煤气区域",
}

SECTOR_LABELS_EN: dict[Sector, str] = {
    Sector.steel: "Steel",
    Sector.aluminium_casting: "Aluminium (deep-well casting)",
    Sector.dust_explosion: "Combustible dust",
    Sector.ammonia_refrigeration: "Ammonia refrigeration",
    Sector.confined_space: "Confined-space work",
    Sector.hazardous_work: "Hazardous work (permits)",
    Sector.major_hazard_source: "Major hazard source",
    Sector.gas_area: "Gas (coal-gas) area",
}


def parse_sector(name: str) -> Sector:
    """Return the Sector named `name`, or raise ValueError listing the known names."""
    try:
        return Sector(name)
    except ValueError:
        known = ", ".join(s.value for s in Sector)
        raise ValueError(f"unknown sector {name!r} (known: {known})") from None

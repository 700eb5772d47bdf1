"""Which catalogue items apply to an enterprise, decided from its sector flags and dust-worker count."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from server.domain.sectors import Sector, parse_sector

T = TypeVar("T")

_RULE_KEYS = frozenset({"sectors_any", "min_dust_workers"})

# How an inspector would say "the enterprise does not have this": the bare label reads badly for some.
_LACKS_ZH: dict[Sector, str] = {
    Sector.steel: "企业不属于钢铁行业",
    Sector.aluminium_casting: "企业无铝加工（深井铸造）工艺",
    Sector.dust_explosion: "企业无粉尘涉爆作业",
    Sector.ammonia_refrigeration: "企业无涉氨制冷",
    Sector.confined_space: "企业无有限空间作业",
    Sector.hazardous_work: "企业无危险作业",
    Sector.major_hazard_source: "企业无重大危险源",
    Sector.gas_area: "企业无煤气区域",
}


@dataclass(frozen=True)
class EnterpriseProfile:
    """What applicability needs to know about an enterprise; dust_workers None means unknown."""

    sectors: frozenset[Sector]
    dust_workers: int | None


@dataclass(frozen=True)
class ApplicabilityRule:
    """An item applies when the enterprise has any of `sectors_any` (empty: every enterprise)
    and, if `min_dust_workers` is set, at least that many dust workers (unknown counts as enough)."""

    sectors_any: frozenset[Sector] = frozenset()
    min_dust_workers: int | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ApplicabilityRule:
        """Build a rule from a mapping such as a TOML inline table; raise ValueError naming a bad key."""
        if not isinstance(d, Mapping):
            raise ValueError(f"applicability rule must be a table, got {type(d).__name__}")
        unknown = sorted(set(d) - _RULE_KEYS)
        if unknown:
            raise ValueError(
                f"unknown key(s) {', '.join(map(repr, unknown))} in applicability rule "
                f"(allowed: sectors_any, min_dust_workers)"
            )
        raw_sectors = d.get("sectors_any", [])
        if isinstance(raw_sectors, str) or not isinstance(raw_sectors, list | tuple | frozenset | set):
            raise ValueError(f"sectors_any must be a list of sector names, got {raw_sectors!r}")
        sectors: set[Sector] = set()
        for name in raw_sectors:
            if not isinstance(name, str):
                raise ValueError(f"sectors_any must contain sector names, got {name!r}")
            try:
                sectors.add(parse_sector(name))
            except ValueError as exc:
                raise ValueError(f"sectors_any: {exc}") from None
        minimum = d.get("min_dust_workers")
        # bool is an int subclass; `true` in a TOML file is a typo, not a worker count.
        if minimum is not None and (isinstance(minimum, bool) or not isinstance(minimum, int)):
            raise ValueError(f"min_dust_workers must be an integer, got {minimum!r}")
        if minimum is not None and minimum < 0:
            raise ValueError(f"min_dust_workers must not be negative, got {minimum}")
        return cls(sectors_any=frozenset(sectors), min_dust_workers=minimum)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping that from_dict accepts (sectors in declaration order)."""
        return {
            "sectors_any": [s.value for s in Sector if s in self.sectors_any],
            "min_dust_workers": self.min_dust_workers,
        }


def why_not(rule: ApplicabilityRule, profile: EnterpriseProfile) -> str | None:
    """Return a Chinese reason why the rule excludes the enterprise, or None when it applies.

    An unknown dust-worker count (None) does not exclude: an inspector must check the item
    rather than skip it because a number is missing from the register.
    """
    if rule.sectors_any and not (rule.sectors_any & profile.sectors):
        wanted = [s for s in Sector if s in rule.sectors_any]
        if len(wanted) == 1:
            return _LACKS_ZH[wanted[0]]
        return "企业不涉及" + "、".join(s.label_zh for s in wanted) + "中的任何一项"
    if (
        rule.min_dust_workers is not None
        and profile.dust_workers is not None
        and profile.dust_workers < rule.min_dust_workers
    ):
        return f"粉尘涉爆作业人数 {profile.dust_workers} 人，少于 {rule.min_dust_workers} 人"
    return None


def applies(rule: ApplicabilityRule, profile: EnterpriseProfile) -> bool:
    """Return True when the item governed by `rule` applies to the enterprise (unknown count applies)."""
    return why_not(rule, profile) is None


def applicable_items(
    items: Iterable[T], profile: EnterpriseProfile, rule_of: Callable[[T], ApplicabilityRule]
) -> list[T]:
    """Return the items whose rule applies to the enterprise, in their original order."""
    return [item for item in items if applies(rule_of(item), profile)]

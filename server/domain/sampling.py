"""市级"双随机"抽查 / the city's random draw: which county-checked enterprises are sampled, and which
inspectors (drawn at random from the roster) check each of them.

Rules decided here (pure, deterministic for a seed and an input set):

- Sample size: ⌈percent % × population⌉, at least 1 when the population is not empty, at most all of it.
- Stratified by sector: each enterprise belongs to exactly one stratum, the first of its sectors in the
  fixed order ``sector_order`` (the order of server.domain.sectors.Sector: 钢铁 first, then 铝加工, 粉尘涉爆 …);
  an enterprise with no sector flag is in the stratum ``NO_SECTOR``. The sample size is split over the
  strata in proportion to their sizes by the largest-remainder method (ties: stratum key order), so each
  stratum's count is within 1 of its exact share; no enterprise can be drawn twice.
- Inspectors: ``inspectors_per_enterprise`` (≥ 2) distinct ones per drawn enterprise, taken from those NOT
  of the enterprise's county (city-level inspectors are never "own county" to a county's enterprise); only
  when there are not enough of those are own-county inspectors added, and the assignment says so. Among the
  candidates the ones with the fewest assignments so far come first, random among ties (workload balance).
- Randomness: one ``random.Random(str(seed))`` only, consumed in a fixed order over inputs sorted by id;
  Python seeds a ``str`` through SHA-512, so the stream does not depend on the process or the platform.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

#: The stratum of an enterprise that has no sector flag, and the one stratum of an unstratified draw.
NO_SECTOR = "none"
UNSTRATIFIED = "all"
#: At least two inspectors per enterprise (两人以上执法).
MIN_INSPECTORS = 2
#: The notice's floor: the city samples 不少于10% of the county-checked enterprises; no setting goes below it.
MIN_SHARE_PERCENT = 10
#: A re-draw replaces the phase's official draw only with a written reason at least this long.
MIN_REDRAW_REASON = 6


def share_problem(percent: int) -> str | None:
    """Why a sampling share (a whole percent) is not allowed, or None (the floor is the notice's 10 %)."""
    if not 1 <= percent <= 100:
        return "抽查比例应为 1–100 的整数 / the share must be a whole number from 1 to 100"
    if percent < MIN_SHARE_PERCENT:
        return (
            f"抽查比例不得低于通知规定的 {MIN_SHARE_PERCENT}%（不少于10%） / "
            f"the share may not be below the notice's {MIN_SHARE_PERCENT}%"
        )
    return None


@dataclass(frozen=True)
class Unit:
    """An enterprise of the population: id, county (None: directly under the city) and sector flags."""

    id: str
    county: str | None
    sectors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inspector:
    """An inspector of the roster: id and county (None: a city-level inspector, nobody's own county)."""

    id: str
    county: str | None


@dataclass(frozen=True)
class Assignment:
    """One drawn enterprise with its inspectors, in the order they were drawn."""

    enterprise_id: str
    stratum: str
    inspector_ids: tuple[str, ...]
    #: Inspectors of the enterprise's own county who had to be used (not enough others on the roster).
    own_county_ids: tuple[str, ...] = ()

    @property
    def short(self) -> bool:
        """Fewer inspectors than required (the whole roster is smaller than that)."""
        return len(self.inspector_ids) < MIN_INSPECTORS


@dataclass(frozen=True)
class Stratum:
    """One stratum: its key, how many enterprises it has and how many were drawn from it."""

    key: str
    population: int
    sample: int


@dataclass(frozen=True)
class Draw:
    """The outcome of a draw: what was asked, the strata and the assignments (sorted by enterprise id)."""

    seed: str
    percent: int
    stratified: bool
    inspectors_per_enterprise: int
    population_size: int
    strata: tuple[Stratum, ...]
    assignments: tuple[Assignment, ...] = field(default_factory=tuple)

    @property
    def sample_size(self) -> int:
        """How many enterprises were drawn."""
        return len(self.assignments)

    @property
    def fallbacks(self) -> tuple[Assignment, ...]:
        """Assignments that had to use own-county inspectors or have too few inspectors."""
        return tuple(a for a in self.assignments if a.own_county_ids or a.short)


def new_seed() -> str:
    """A fresh seed from the system's cryptographic random source (128 bits, as 32 hex digits): never typed,
    so no one can choose the outcome; it is shown and kept so that anyone can reproduce the draw."""
    return secrets.token_hex(16)


def sample_size(population: int, percent: int) -> int:
    """⌈percent % of population⌉, at least 1 when there is anyone, never more than the population."""
    if population <= 0:
        return 0
    return min(population, max(1, -(-population * percent // 100)))


def stratum_of(unit: Unit, sector_order: Sequence[str]) -> str:
    """The enterprise's stratum: its first sector in ``sector_order`` (unknown flags after them, by name)."""
    if not unit.sectors:
        return NO_SECTOR
    rank = {s: i for i, s in enumerate(sector_order)}
    return min(unit.sectors, key=lambda s: (rank.get(s, len(rank)), s))


def allocate(sizes: dict[str, int], total: int) -> dict[str, int]:
    """Split ``total`` over strata in proportion to ``sizes`` by largest remainder (ties: key order)."""
    whole = sum(sizes.values())
    if whole == 0:
        return dict.fromkeys(sizes, 0)
    # Integer arithmetic: quota = size × total / whole exactly, as floor and remainder numerator.
    floors = {key: size * total // whole for key, size in sizes.items()}
    remainders = {key: size * total % whole for key, size in sizes.items()}
    left = total - sum(floors.values())
    for key in sorted(sizes, key=lambda k: (-remainders[k], k))[:left]:
        floors[key] += 1
    return floors


def draw(
    population: Iterable[Unit],
    roster: Iterable[Inspector],
    *,
    percent: int,
    seed: str | int,
    stratify_by_sector: bool,
    inspectors_per_enterprise: int = MIN_INSPECTORS,
    sector_order: Sequence[str] = (),
) -> Draw:
    """Draw ⌈percent %⌉ of the population (optionally per sector stratum) and assign inspectors to each."""
    if not 1 <= percent <= 100:
        raise ValueError("percent must be between 1 and 100")
    if inspectors_per_enterprise < MIN_INSPECTORS:
        raise ValueError(f"at least {MIN_INSPECTORS} inspectors per enterprise")
    units = sorted({u.id: u for u in population}.values(), key=lambda u: u.id)
    inspectors = sorted({i.id: i for i in roster}.values(), key=lambda i: i.id)
    seed_text = str(seed)
    rng = random.Random(seed_text)
    total = sample_size(len(units), percent)

    groups: dict[str, list[Unit]] = {}
    for unit in units:
        key = stratum_of(unit, sector_order) if stratify_by_sector else UNSTRATIFIED
        groups.setdefault(key, []).append(unit)
    quotas = allocate({key: len(members) for key, members in groups.items()}, total)
    drawn: list[tuple[str, Unit]] = []
    strata = []
    for key in sorted(groups):
        chosen = rng.sample(groups[key], quotas[key])
        drawn.extend((key, unit) for unit in chosen)
        strata.append(Stratum(key, len(groups[key]), quotas[key]))

    load = {i.id: 0 for i in inspectors}
    assignments = []
    for key, unit in sorted(drawn, key=lambda pair: pair[1].id):
        # "Own county" is the enterprise's county; for an enterprise directly under the city (county None)
        # the city-level inspectors are its own, so they come last for it.
        own = [i.id for i in inspectors if i.county == unit.county]
        others = [i.id for i in inspectors if i.county != unit.county]
        picked = _pick(rng, others, load, inspectors_per_enterprise)
        fallback = _pick(rng, own, load, inspectors_per_enterprise - len(picked))
        assignments.append(Assignment(unit.id, key, tuple(picked + fallback), tuple(fallback)))
    return Draw(
        seed=seed_text, percent=percent, stratified=stratify_by_sector,
        inspectors_per_enterprise=inspectors_per_enterprise, population_size=len(units), strata=tuple(strata),
        assignments=tuple(assignments),
    )  # fmt: skip


def _pick(rng: random.Random, candidates: list[str], load: dict[str, int], count: int) -> list[str]:
    """Up to ``count`` distinct candidates, fewest assignments first, random among ties; updates ``load``."""
    left = list(candidates)
    picked: list[str] = []
    while left and len(picked) < count:
        least = min(load[c] for c in left)
        choice = rng.choice([c for c in left if load[c] == least])
        left.remove(choice)
        picked.append(choice)
        load[choice] += 1
    return picked

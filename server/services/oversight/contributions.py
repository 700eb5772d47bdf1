"""Figures kept as each enterprise's contribution, summed per region, and patched after a write.

A dashboard figure (coverage, hazard counts, the weekly trends) is a sum over the enterprises of a scope. Counted
anew, a province's figure reads every inspection or hazard (~100 ms each); kept per enterprise, a write only
makes the enterprises it touched be counted again (oversight.changed_enterprises names them exactly, as for the
清零 verdicts), and a scope's figure is the sum of its regions' totals: a few hundred small tallies. Every entry
is stamped with the change counter it is true at, so a figure is never shown stale.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from server.domain.roles import Role
from server.models import User
from server.services import DbSession
from server.services.oversight.clearance import PATCH_LIMIT, changed_enterprises
from server.services.oversight.coverage import enterprise_regions
from server.services.oversight.stamped import PatchedCache, shared_id
from server.services.scope import visible_enterprise_ids, visible_region_ids

#: A tally: what one enterprise (or a region, or a scope) adds to a figure, by what it counts (whole numbers).
Tally = dict[Hashable, int]
#: Counts the tallies of the enterprises ``ids`` selects (a select of ids, or a list; None: every one), by
#: enterprise; enterprises deleted may be counted too (a scope leaves them out by region).
Counting = Callable[[Any | None], dict[uuid.UUID, Tally]]


def add_into(total: Tally, tally: Tally, sign: int = 1) -> None:
    """Add ``tally`` to ``total`` (subtract with ``sign`` -1), dropping what comes to zero."""
    for name, n in tally.items():
        value = total.get(name, 0) + sign * n
        if value:
            total[name] = value
        else:
            total.pop(name, None)


def summed(tallies: Iterable[Tally]) -> Tally:
    """The sum of ``tallies``."""
    total: Tally = {}
    for tally in tallies:
        add_into(total, tally)
    return total


class _Shared:
    """One shared, never mutated, (region, tally) pair per distinct value.

    A province keeps ~10,000 tallies per figure, and most repeat (one inspection in phase 3, in region 2): kept
    once per value, a worker's full garbage collection walks a few thousand objects instead of three per
    enterprise and figure. The table lives only while one entry is built or patched, so it keeps nothing."""

    def __init__(self) -> None:
        self.tallies: dict[frozenset[tuple[Hashable, int]], Tally] = {}
        self.pairs: dict[tuple[int, int], tuple[int, Tally]] = {}
        self.names: dict[Hashable, Hashable] = {}

    def pair(self, region_id: int, tally: Tally) -> tuple[int, Tally]:
        """The shared ``(region_id, tally)`` of this value."""
        value = frozenset(tally.items())
        if (kept := self.tallies.get(value)) is None:
            # A name may hold enum members (then the collector tracks it): one shared name per value too.
            kept = self.tallies[value] = {self.names.setdefault(name, name): n for name, n in tally.items()}
        return self.pairs.setdefault((region_id, id(kept)), (region_id, kept))


@dataclass
class Contributions:
    """One figure's tallies per enterprise (with its region) and per region, true at ``stamp``."""

    stamp: int
    by_enterprise: dict[uuid.UUID, tuple[int, Tally]]
    by_region: dict[int, Tally]

    @classmethod
    def of(cls, stamp: int, regions: dict[uuid.UUID, int], tallies: dict[uuid.UUID, Tally]) -> Contributions:
        """Contributions of the enterprises in ``regions`` (enterprise → region), ``tallies`` the counted ones."""
        by_enterprise: dict[uuid.UUID, tuple[int, Tally]] = {}
        by_region: dict[int, Tally] = {}
        shared = _Shared()
        for enterprise_id, region_id in regions.items():
            tally = tallies.get(enterprise_id)
            if tally:
                by_enterprise[shared_id(enterprise_id)] = shared.pair(region_id, tally)
                add_into(by_region.setdefault(region_id, {}), tally)
        return cls(stamp, by_enterprise, by_region)

    def patched(
        self,
        stamp: int,
        changed: set[uuid.UUID],
        regions: dict[uuid.UUID, int],
        tallies: dict[uuid.UUID, Tally],
    ) -> Contributions:
        """A copy at ``stamp`` where the ``changed`` enterprises contribute their new ``tallies`` in their
        ``regions`` now (none when deleted). Tallies are counts, so taking the old ones off a region's total
        and adding the new ones is exact."""
        by_enterprise = dict(self.by_enterprise)
        by_region = dict(self.by_region)
        copied: set[int] = set()
        shared = _Shared()

        def region_total(region_id: int) -> Tally:
            if region_id not in copied:  # the entry being patched may still be read by another request
                by_region[region_id] = dict(by_region.get(region_id, {}))
                copied.add(region_id)
            return by_region[region_id]

        for enterprise_id in changed:
            old = by_enterprise.pop(enterprise_id, None)
            if old is not None:
                add_into(region_total(old[0]), old[1], -1)
            region_id = regions.get(enterprise_id)
            tally = tallies.get(enterprise_id)
            if region_id is not None and tally:
                by_enterprise[shared_id(enterprise_id)] = shared.pair(region_id, tally)
                add_into(region_total(region_id), tally)
        return Contributions(stamp, by_enterprise, by_region)

    def total(self, regions: set[int] | None) -> Tally:
        """The sum over ``regions`` (None: every region)."""
        if regions is None:
            return summed(self.by_region.values())
        return summed(t for r, t in self.by_region.items() if r in regions)


class ContributionCache(PatchedCache[Contributions]):
    """Figures' contributions under keys (what a figure depends on besides the synced rows), each patched
    forward from its stamp; the least recently used go beyond ``size``."""


def scope_tally(
    session: DbSession,
    user: User,
    stamp: int,
    key: tuple[Any, ...],
    count: Counting,
    cache: ContributionCache | None,
) -> Tally:
    """The figure ``count`` tallies, summed over ``user``'s scope, true at ``stamp`` (read before the data).

    With ``cache``, each enterprise's tally is kept under ``key`` and only the enterprises written since are
    counted again; an enterprise user (whose scope is one enterprise, not regions) is counted directly."""
    if cache is None or user.role == Role.enterprise:
        return summed(count(visible_enterprise_ids(session, user)).values())
    cached = cache.get(key)
    if cached is None or cached.stamp != stamp:
        changed = changed_enterprises(session, cached.stamp, stamp) if cached is not None else None
        if cached is None or changed is None or len(changed) > PATCH_LIMIT:
            regions = enterprise_regions(session)
            cached = Contributions.of(stamp, regions, count(None))
        elif changed:
            ids = sorted(changed)
            cached = cached.patched(stamp, changed, enterprise_regions(session, ids), count(ids))
        else:
            cached = Contributions(stamp, cached.by_enterprise, cached.by_region)
        cache.put(key, cached)
    return cached.total(visible_region_ids(session, user))

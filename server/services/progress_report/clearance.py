"""清零 as of a moment: each enterprise's verdict from its latest counting visit and the hazards then open."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from server.domain import counting
from server.domain.applicability import EnterpriseProfile
from server.domain.clearance import (
    Clearance,
    InspectionSummary,
    ItemResultValue,
    LinkedHazard,
    clearance,
)
from server.domain.sectors import Sector
from server.models import (
    Enterprise,
    ItemResult,
)
from server.models.enterprise import SECTOR_COLUMNS
from server.services import DbSession
from server.services.oversight.clearance import _key_items, current_catalogue_id, sealed_answers_of
from server.services.progress_report.as_of import HazardAsOf, Visit, counting_at, latest_by_enterprise, linked
from server.services.progress_report.units import batches, key, uuids

_RESULTS = {result.value: result for result in ItemResultValue}


# --- 清零 as of a moment ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnterpriseRow:
    """What 清零 needs of an enterprise: where it is and what applies to it."""

    id: Any
    region_id: int
    dust_workers: int | None
    sectors: frozenset[Sector]


def load_enterprises(session: DbSession, enterprise_ids: Any) -> list[EnterpriseRow]:
    """The enterprises of ``enterprise_ids`` with their sector flags."""
    sector_columns = [getattr(Enterprise, column) for column in SECTOR_COLUMNS.values()]
    rows = session.execute(
        sa.select(key(Enterprise.id), Enterprise.region_id, Enterprise.dust_workers, *sector_columns).where(
            Enterprise.id.in_(enterprise_ids)
        )
    )
    return [
        EnterpriseRow(row[0], row[1], row[2], frozenset(s for s, flag in zip(SECTOR_COLUMNS, row[3:], strict=True) if flag))
        for row in rows
    ]  # fmt: skip


def answers_of(session: DbSession, inspection_ids: Iterable[Any]) -> dict[Any, dict[str, ItemResultValue]]:
    """The answers of each inspection, folded in SQL into one string per inspection (in batches of ids)."""
    answer = key(ItemResult.item_code) + ":" + key(ItemResult.result)
    out: dict[Any, dict[str, ItemResultValue]] = {}
    for ids in batches(set(inspection_ids)):
        rows = session.execute(
            sa.select(key(ItemResult.inspection_id), sa.func.aggregate_strings(answer, ","))
            .where(ItemResult.inspection_id.in_(uuids(ids)), ItemResult.deleted_at.is_(None))
            .group_by(ItemResult.inspection_id)
        )
        for inspection_id, folded in rows:
            pairs = (p.partition(":") for p in (folded or "").split(",") if p)
            out[inspection_id] = {code: _RESULTS[result] for code, _, result in pairs}
    return out


@dataclass(frozen=True)
class ClearanceAsOf:
    """One enterprise's 清零 verdict at a moment, with the region it is counted in."""

    enterprise_id: Any
    region_id: int
    inspected: bool
    verdict: Clearance


def decide(
    session: DbSession,
    enterprises: Iterable[EnterpriseRow],
    latest: dict[Any, Visit],
    answers: dict[Any, dict[str, ItemResultValue]],
    links: dict[Any, list[LinkedHazard]],
    day: date,
    reuse: Reuse | None = None,
) -> dict[Any, ClearanceAsOf]:
    """The 清零 verdict of each enterprise from its latest counting visit, that visit's answers and its item-linked
    hazards' states, by the domain rule (server.domain.clearance), as server.services.oversight.clearances does.
    ``reuse`` keeps verdicts by their inputs across moments: most enterprises' inputs stay the same."""
    reuse = Reuse() if reuse is None else reuse
    default_catalogue = current_catalogue_id(session, day)
    catalogue_ids = {v.catalogue_id for v in latest.values()}
    if default_catalogue is not None:
        catalogue_ids.add(default_catalogue)
    key_items = _key_items(session, catalogue_ids)
    applicable = reuse.applicable
    # Numbers of this call's link objects by identity (linked() shares one object per item and state; all are
    # alive while ``links`` is), each numbered by its value once.
    link_numbers: dict[int, int] = {}
    verdicts: dict[Any, ClearanceAsOf] = {}
    for row in enterprises:
        visit = latest.get(row.id)
        catalogue_id = visit.catalogue_id if visit is not None else default_catalogue
        items = key_items.get(catalogue_id) if catalogue_id is not None else None
        # Enterprises share a handful of profiles: decide applicability once per profile.
        profile_key = (catalogue_id, row.sectors, row.dust_workers)
        if profile_key not in applicable:
            profile = EnterpriseProfile(sectors=row.sectors, dust_workers=row.dust_workers)
            applicable[profile_key] = items.applicable(profile) if items else []
        mine = links.get(row.id, [])
        # The domain rule reads only these inputs (the visit's answers, not which visit gave them): equal inputs,
        # equal verdict, whichever enterprise or moment asks.
        inputs = (
            reuse.number(profile_key),
            None if visit is None else reuse.answers_number(visit.id, answers.get(visit.id, {})),
            tuple([link_numbers.get(id(link)) or _link_number(link_numbers, reuse, link) for link in mine]),
        )
        verdict = reuse.verdicts.get(inputs)
        if verdict is None:
            summary = None
            if visit is not None:
                summary = InspectionSummary(
                    str(visit.id), visit.kind, "submitted", visit.finished_at, answers.get(visit.id, {})
                )
            verdict = reuse.verdicts[inputs] = clearance(
                applicable[profile_key], summary, mine, all_key_codes=items.codes if items else None
            )
        verdicts[row.id] = ClearanceAsOf(row.id, row.region_id, visit is not None, verdict)
    return verdicts


def _link_number(numbers: dict[int, int], reuse: Reuse, link: LinkedHazard) -> int:
    """A link object's number (by its value), remembered by its identity for the rest of the call."""
    number = numbers[id(link)] = reuse.number(link)
    return number


class Reuse:
    """What decide keeps across moments: verdicts by their inputs, each input numbered once (hashing enums is slow,
    hashing small numbers is not)."""

    def __init__(self) -> None:
        self.verdicts: dict[tuple[Any, ...], Clearance] = {}
        self.numbers: dict[Any, int] = {}
        self.by_visit: dict[Any, int] = {}
        #: The applicable key items per profile (catalogue, sectors, dust workers).
        self.applicable: dict[tuple[Any, ...], list[str]] = {}

    def number(self, value: Any) -> int:
        """The number of an input value, equal for equal values (never 0, so that ``or`` may follow a lookup)."""
        return self.numbers.setdefault(value, len(self.numbers) + 1)

    def answers_number(self, visit_id: Any, answers: dict[str, ItemResultValue]) -> int:
        """The number of a visit's answers (equal answers, equal number), worked out once per visit."""
        found = self.by_visit.get(visit_id)
        if found is None:
            found = self.by_visit[visit_id] = self.number(("answers", *sorted(answers.items())))
        return found


class Verdicts:
    """清零 at the moments one report needs (the cut-off and the ends of the phases), sharing what they read."""

    def __init__(
        self,
        session: DbSession,
        enterprises: list[EnterpriseRow],
        visits: list[Visit],
        found: dict[datetime, dict[Any, HazardAsOf]],
    ) -> None:
        self.session, self.enterprises, self.visits, self.found = session, enterprises, visits, found
        self.memo: dict[datetime, dict[Any, ClearanceAsOf]] = {}
        self.answers: dict[Any, dict[str, ItemResultValue]] = {}
        self.reuse = Reuse()
        #: Visits whose answers held now differ from those their device sealed: they never count.
        self.altered: set[Any] = set()
        self.latests: dict[datetime, tuple[int, dict[Any, Visit]]] = {}

    def latest(self, valid: datetime) -> dict[Any, Visit]:
        """Each enterprise's latest visit counting at ``valid`` that a supervisor had approved by the cut-off
        (server.domain.counting: 清零 needs an approval) and whose answers equal the sealed ones."""
        # Kept per moment until another visit is found altered (the set only grows).
        held = self.latests.get(valid)
        if held is None or held[0] != len(self.altered):
            approved = [v for v in counting_at(self.visits, valid) if v.approved and v.id not in self.altered]
            held = self.latests[valid] = (len(self.altered), latest_by_enterprise(approved))
        return held[1]

    def prefetch(self, moments: Iterable[datetime]) -> None:
        """Read the answers of every moment's latest visits in one go, comparing each with its seal; a visit whose
        answers were altered is passed over, and the one before it read in turn."""
        points = list(moments)
        while True:
            wanted = {v.id for valid in points for v in self.latest(valid).values()} - set(self.answers)
            if not wanted:
                return
            self.answers.update(answers_of(self.session, wanted))
            sealed = sealed_answers_of(self.session, uuids(wanted))
            self.altered |= {
                id_ for id_ in wanted
                if counting.answers_differ(
                    sealed.get(uuid.UUID(str(id_))), {c: r.value for c, r in self.answers.get(id_, {}).items()}
                )
            }  # fmt: skip

    def at(self, valid: datetime, day: date) -> dict[Any, ClearanceAsOf]:
        """The verdicts at ``valid`` (one of the moments the statuses were replayed for)."""
        if valid not in self.memo:
            latest = self.latest(valid)
            self.prefetch([valid])
            links = linked(self.found[valid].values())
            self.memo[valid] = decide(
                self.session, self.enterprises, latest, self.answers, links, day, self.reuse
            )
        return self.memo[valid]


#: A telephone number as a bureau writes it: digits, spaces, hyphens, brackets, a leading plus, an extension.

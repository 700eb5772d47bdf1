"""The reporting scope: which regions a report covers, one row per county, and the queries every part shares."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from server.domain.roles import Role
from server.models import (
    Enterprise,
    Region,
    RegionLevel,
    User,
)
from server.services import DbSession
from server.services.scope import visible_region_ids

# --- the reporting scope: which regions, and one row per county -------------------------------------------


@dataclass(frozen=True)
class ReportUnit:
    """A row of the report: a county (or the reporting region itself); ``extra`` for a row of the enterprises
    registered above any county (directly under the city), shown only when it has any."""

    id: int
    name: str
    extra: bool = False


@dataclass(frozen=True)
class ReportScope:
    """The regions a report covers and the row each region's enterprises are counted in."""

    #: None: every region (admin).
    regions: set[int] | None
    units: list[ReportUnit]
    unit_of: dict[int, int]
    name: str

    def unit_column(self, region_id: Any) -> Any:
        """SQL: the row (unit id) of the enterprise whose region is ``region_id``."""
        if not self.unit_of:
            return sa.literal(None, sa.Integer)
        return sa.case(self.unit_of, value=region_id, else_=sa.null())


def report_scope(session: DbSession, user: User) -> ReportScope:
    """The user's regions, with a row per county for a city (or admin) and one row for a county or zone."""
    rows = session.execute(
        sa.select(Region.id, Region.code, Region.name, Region.level, Region.parent_id)
    ).all()
    by_id = {r.id: r for r in rows}
    visible = visible_region_ids(session, user)
    in_scope = set(by_id) if visible is None else visible & set(by_id)
    root = by_id.get(user.region_id) if user.region_id is not None and user.role != Role.admin else None
    if root is None or root.level == RegionLevel.city:
        units = {rid for rid in in_scope if by_id[rid].level == RegionLevel.county}
    else:
        units = {root.id}
    unit_of: dict[int, int] = {}
    extra: set[int] = set()
    for rid in in_scope:
        node, top = by_id.get(rid), rid
        while node is not None and node.id not in units:
            top = node.id
            node = by_id.get(node.parent_id) if node.parent_id in in_scope else None
        if node is not None:
            unit_of[rid] = node.id
        else:
            unit_of[rid] = top
            extra.add(top)

    def unit(rid: int, is_extra: bool) -> ReportUnit:
        region = by_id[rid]
        name = f"{region.name}（市直）" if is_extra and region.level == RegionLevel.city else str(region.name)
        return ReportUnit(rid, name, is_extra)

    report_units = [unit(rid, False) for rid in sorted(units, key=lambda rid: by_id[rid].code)]
    report_units += [unit(rid, True) for rid in sorted(extra - units, key=lambda rid: by_id[rid].code)]
    if root is not None:
        name = str(root.name)
    else:
        roots = [r for r in rows if r.parent_id is None]
        name = str(roots[0].name) if len(roots) == 1 else "全部地区"
    return ReportScope(
        regions=None if visible is None else in_scope, units=report_units, unit_of=unit_of, name=name
    )


def alive(model: Any, known: datetime) -> sa.ColumnElement[bool]:
    """SQL: the row was not deleted before ``known``."""
    return sa.or_(model.deleted_at.is_(None), model.deleted_at >= known)


def enterprises_in_scope(scope: ReportScope, known: datetime) -> sa.Select[Any]:
    """Ids of the scope's enterprises not deleted before ``known``."""
    query = sa.select(Enterprise.id).where(alive(Enterprise, known))
    if scope.regions is not None:
        query = query.where(Enterprise.region_id.in_(scope.regions))
    return query


def key(column: Any) -> Any:
    """``column`` (a uuid column) read as text, without building uuid.UUID objects (see above)."""
    return sa.cast(column, sa.String)


def uuids(keys: Iterable[Any]) -> list[uuid.UUID]:
    """Keys back as UUIDs, to bind against a uuid column (so that its index serves the IN list)."""
    return [uuid.UUID(str(k)) for k in keys]


#: Ids per IN list: well under SQLite's limit of bound parameters.
BATCH = 2000


def batches(keys: Iterable[Any]) -> Iterable[list[Any]]:
    """``keys`` in lists of at most BATCH."""
    ordered = list(keys)
    for start in range(0, len(ordered), BATCH):
        yield ordered[start : start + BATCH]

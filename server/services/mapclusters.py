"""The supervisors' map at province scale: the points inside the visible box, or counts per grid cell.

A province holds ~50,000 points (21 MB of JSON); a browser can neither fetch nor draw them quickly. The map
asks for its visible box and zoom: up to ``CLUSTER_ABOVE`` points inside it are returned one by one (what a
county map always got), more are summed in SQL per grid cell and per layer (enterprise, inspection, general
and major hazards), so the legend's colours keep their meaning and a cell's counts add up to its points.
"""

from __future__ import annotations

import math
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from server.domain.hazards import OPEN_STATES, HazardLevel, HazardState, is_overdue
from server.domain.roles import Role
from server.models import Enterprise, Hazard, Inspection, User
from server.services import DbSession
from server.services.mappoints import (
    INSPECTION_LIMIT,
    Box,
    MapPoint,
    MapPoints,
    PointKind,
    inspection_points,
    latest_first,
    map_points,
)
from server.services.oversight.clearance import PATCH_LIMIT, changed_enterprises
from server.services.oversight.stamped import change_stamp, shared_id
from server.services.scope import (
    visible_enterprises,
    visible_hazards,
    visible_inspections,
    visible_region_ids,
)

#: Above this many points in the box the map gets clusters: ~3,000 canvas circles still pan smoothly (the
#: app's MAP_CLUSTER_ABOVE, from the environment, defaults to it).
CLUSTER_ABOVE = 3000
#: A cell is about this many screen pixels wide at the requested zoom (256-pixel Web Mercator tiles).
CELL_PX = 64
#: The zoom used when a caller gives a box but no zoom: about a province on a screen.
DEFAULT_ZOOM = 8
LAYERS = ("enterprise", "inspection", "hazard_general", "hazard_major")


@dataclass(frozen=True)
class Cluster:
    """The points of one layer in one grid cell: their count, mean position, and overdue hazards among them."""

    layer: str
    lat: float
    lon: float
    count: int
    overdue: int = 0


@dataclass(frozen=True)
class MapView:
    """What the map draws for a box: single points, or clusters when there are more than ``cluster_above``."""

    points: list[MapPoint] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    clustered: bool = False
    total: int = 0
    inspection_limit: int = INSPECTION_LIMIT
    inspections_truncated: bool = False


def cell_degrees(zoom: int) -> float:
    """The width of a grid cell in degrees at ``zoom``."""
    return 360.0 / (2 ** max(0, min(zoom, 22))) * CELL_PX / 256


def map_view(
    session: DbSession,
    user: User,
    *,
    kinds: list[PointKind],
    today: date,
    box: Box | None = None,
    zoom: int | None = None,
    cluster_above: int = CLUSTER_ABOVE,
    inspection_limit: int = INSPECTION_LIMIT,
    kept: MapLayersCache | None = None,
) -> MapView:
    """The map of ``user``'s scope inside ``box`` (all of it when None) at ``zoom``: clusters per cell when
    more than ``cluster_above`` points are inside, else the points themselves (as ``map_points`` gives them).
    With ``kept``, the enterprise and hazard layers are summed from each enterprise's kept place and open
    hazards, counted again only for the enterprises written since (``MapLayersCache``)."""
    cell = cell_degrees(DEFAULT_ZOOM if zoom is None else zoom)
    groups, truncated, unlocated_ids = _grouped(
        session, user, kinds, today, box, cell, inspection_limit, kept
    )
    total = sum(g["count"] for g in groups)
    if total > cluster_above:
        # Points without coordinates are in no cell: the whole map lists them (无坐标) beside the clusters.
        unlocated: list[MapPoint] = []
        if box is None:
            others = [k for k in kinds if k != PointKind.inspection]
            unlocated = map_points(session, user, kinds=others, today=today, unlocated_only=True).points
            unlocated += inspection_points(session, user, unlocated_ids)
        return MapView(
            points=unlocated,
            clusters=_clusters(groups),
            clustered=True,
            total=total,
            inspection_limit=inspection_limit,
            inspections_truncated=truncated,
        )
    result: MapPoints = map_points(
        session, user, kinds=kinds, today=today, inspection_limit=inspection_limit, box=box
    )
    return MapView(
        points=result.points,
        total=total,  # the located ones: what the clusters would have counted
        inspection_limit=result.inspection_limit,
        inspections_truncated=result.inspections_truncated,
    )


def _in_box(query: Any, lat: Any, lon: Any, box: Box | None) -> Any:
    if box is None:
        return query.where(lat.is_not(None), lon.is_not(None))
    return query.where(lat.between(box.south, box.north), lon.between(box.west, box.east))


def _cell(column: Any, cell: float) -> Any:
    return sa.func.floor(column / cell)


def _grouped(
    session: DbSession,
    user: User,
    kinds: list[PointKind],
    today: date,
    box: Box | None,
    cell: float,
    inspection_limit: int,
    kept: MapLayersCache | None = None,
) -> tuple[list[dict[str, Any]], bool, list[uuid.UUID]]:
    """Counts and coordinate sums per cell and layer, in SQL: a province in three grouped queries (with
    ``kept``, the enterprise and hazard layers from the kept layers instead); also whether older inspections
    were left out, and which of the latest have no coordinates."""
    groups: list[dict[str, Any]] = []
    truncated = False
    unlocated: list[uuid.UUID] = []
    if kept is not None and user.role != Role.enterprise:
        layers = kept.layers(session, today)
        groups += layers.groups(
            visible_region_ids(session, user),
            box,
            cell,
            PointKind.enterprise in kinds,
            PointKind.hazard in kinds,
        )
        kinds = [k for k in kinds if k == PointKind.inspection]
    if PointKind.enterprise in kinds:
        lat, lon = Enterprise.lat, Enterprise.lon
        base = _in_box(visible_enterprises(session, user), lat, lon, box)
        query = base.with_only_columns(
            _cell(lat, cell).label("cy"),
            _cell(lon, cell).label("cx"),
            sa.func.count().label("n"),
            sa.func.sum(lat).label("slat"),
            sa.func.sum(lon).label("slon"),
        ).group_by("cy", "cx")
        groups += [_group("enterprise", row) for row in session.execute(query)]
    if PointKind.inspection in kinds:
        # The map draws only the latest inspections: the clusters count the same ones.
        recorded = sa.and_(Inspection.start_lat.is_not(None), Inspection.start_lon.is_not(None))
        latest = latest_first(
            visible_inspections(session, user)
            .with_only_columns(
                Inspection.id,
                sa.case((recorded, Inspection.start_lat), else_=Enterprise.lat).label("lat"),
                sa.case((recorded, Inspection.start_lon), else_=Enterprise.lon).label("lon"),
            )
            .select_from(Inspection)
            .join(Enterprise, Enterprise.id == Inspection.enterprise_id),
            inspection_limit + 1,
        )
        # At most limit + 1 small rows: summed here, one ordered query instead of a count and a grouping.
        rows = session.execute(latest).all()
        truncated = len(rows) > inspection_limit
        cells: dict[tuple[int, int], list[float]] = {}
        for inspection_id, lat, lon in rows[:inspection_limit]:
            if lat is None or lon is None:
                unlocated.append(inspection_id)
                continue
            if box is not None and not box.contains(lat, lon):
                continue
            sums = cells.setdefault((math.floor(lat / cell), math.floor(lon / cell)), [0, 0.0, 0.0])
            sums[0] += 1
            sums[1] += lat
            sums[2] += lon
        groups += [
            {"layer": "inspection", "cell": key, "count": int(n), "slat": slat, "slon": slon, "overdue": 0}
            for key, (n, slat, slon) in cells.items()
        ]
    if PointKind.hazard in kinds:
        lat, lon = Enterprise.lat, Enterprise.lon
        past_deadline = sa.case((Hazard.deadline < today, True), else_=False).label("past")
        base = _in_box(visible_hazards(session, user), lat, lon, box)
        query = (
            base.with_only_columns(
                _cell(lat, cell).label("cy"),
                _cell(lon, cell).label("cx"),
                Hazard.level,
                Hazard.state,
                past_deadline,
                sa.func.count().label("n"),
                sa.func.sum(lat).label("slat"),
                sa.func.sum(lon).label("slon"),
            )
            .select_from(Hazard)
            .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
            .where(Hazard.state.in_(OPEN_STATES))
            .group_by("cy", "cx", Hazard.level, Hazard.state, past_deadline)
        )
        for row in session.execute(query):
            layer = "hazard_major" if row.level == HazardLevel.major else "hazard_general"
            groups.append(_group(layer, row, overdue=_overdue(row.state, bool(row.past), today)))
    return groups, truncated, unlocated


def _overdue(state: HazardState, past_deadline: bool, today: date) -> bool:
    """The domain's rule, asked with a deadline equivalent to the group's (past, or none/not yet)."""
    return is_overdue(state, today - timedelta(days=1) if past_deadline else None, today)


def _group(layer: str, row: Any, *, overdue: bool = False) -> dict[str, Any]:
    return {
        "layer": layer,
        "cell": (int(row.cy), int(row.cx)),
        "count": int(row.n),
        "slat": float(row.slat),
        "slon": float(row.slon),
        "overdue": int(row.n) if overdue else 0,
    }


def _clusters(groups: list[dict[str, Any]]) -> list[Cluster]:
    """One cluster per cell and layer (hazard groups of a cell split by state are summed again)."""
    merged: dict[tuple[str, tuple[int, int]], dict[str, Any]] = {}
    for group in groups:
        key = (group["layer"], group["cell"])
        if key in merged:
            into = merged[key]
            for name in ("count", "slat", "slon", "overdue"):
                into[name] += group[name]
        else:
            merged[key] = dict(group)
    return [
        Cluster(
            layer=g["layer"],
            lat=round(g["slat"] / g["count"], 6),
            lon=round(g["slon"] / g["count"], 6),
            count=g["count"],
            overdue=g["overdue"],
        )
        for g in sorted(merged.values(), key=lambda g: (LAYERS.index(g["layer"]), g["cell"]))
        if math.isfinite(g["slat"])
    ]


# --- the enterprise and hazard layers kept per enterprise ---------------------------------------------------


#: One located enterprise on the map: (region, lat, lon, general, general overdue, major, major overdue).
_Row = tuple[int, float, float, int, int, int, int]


@dataclass(frozen=True)
class MapLayers:
    """Every located enterprise not deleted, with its region, location and open hazards (general and major,
    and how many of each are overdue on ``today``), true at ``stamp``."""

    stamp: int
    today: date
    rows: dict[uuid.UUID, _Row]
    #: Every enterprise id ever kept, by its bytes, with its place in ``sequence`` (its row, None when it is
    #: deleted or not located): the coordinate sums add up in the same order whatever was patched.
    order: list[uuid.UUID]
    position: dict[uuid.UUID, int]
    sequence: list[_Row | None]

    @classmethod
    def ordered(
        cls, stamp: int, today: date, rows: dict[uuid.UUID, _Row], order: list[uuid.UUID] | None = None
    ) -> MapLayers:
        """The layers of ``rows`` in ``order`` (default: by the ids' bytes)."""
        order = sorted(rows, key=lambda e: e.bytes) if order is None else order
        position = {enterprise_id: index for index, enterprise_id in enumerate(order)}
        return cls(stamp, today, rows, order, position, [rows.get(e) for e in order])

    def patched(self, stamp: int, ids: list[uuid.UUID], fresh: dict[uuid.UUID, _Row]) -> MapLayers:
        """These layers at ``stamp``, the enterprises ``ids`` given their ``fresh`` rows (none: gone)."""
        rows = dict(self.rows)
        for enterprise_id in ids:
            rows.pop(enterprise_id, None)
        rows.update(fresh)
        if any(e not in self.position for e in fresh):
            order = sorted({*self.order, *fresh}, key=lambda e: e.bytes)
            return MapLayers.ordered(stamp, self.today, rows, order)
        sequence = list(self.sequence)
        for enterprise_id in ids:
            if enterprise_id in self.position:
                sequence[self.position[enterprise_id]] = rows.get(enterprise_id)
        return MapLayers(stamp, self.today, rows, self.order, self.position, sequence)

    def groups(
        self, regions: set[int] | None, box: Box | None, cell: float, enterprises: bool, hazards: bool
    ) -> list[dict[str, Any]]:
        """The enterprise and hazard layers' counts and coordinate sums per cell, as ``_grouped`` counts them
        in SQL, for the enterprises in ``regions`` (None: all) located inside ``box``."""
        layers = (("enterprise", enterprises), ("hazard_general", hazards), ("hazard_major", hazards))
        cells: list[dict[tuple[int, int], list[Any]]] = [{}, {}, {}]
        floor = math.floor
        for row in self.sequence:
            if row is None:
                continue
            region_id, lat, lon, general, general_overdue, major, major_overdue = row
            if regions is not None and region_id not in regions:
                continue
            if box is not None and not (box.south <= lat <= box.north and box.west <= lon <= box.east):
                continue
            key = (floor(lat / cell), floor(lon / cell))
            for index, n, overdue in ((0, 1, 0), (1, general, general_overdue), (2, major, major_overdue)):
                if n and layers[index][1]:
                    sums = cells[index].get(key)
                    if sums is None:
                        cells[index][key] = [n, lat * n, lon * n, overdue]
                    else:
                        sums[0] += n
                        sums[1] += lat * n
                        sums[2] += lon * n
                        sums[3] += overdue
        return [
            {
                "layer": layers[index][0],
                "cell": key,
                "count": n,
                "slat": slat,
                "slon": slon,
                "overdue": overdue,
            }
            for index in range(3)
            for key, (n, slat, slon, overdue) in cells[index].items()
        ]


def _rows(session: DbSession, today: date, ids: list[uuid.UUID] | None) -> dict[uuid.UUID, _Row]:
    """The map rows of every located enterprise not deleted (of ``ids`` only, when given)."""
    places = sa.select(Enterprise.id, Enterprise.region_id, Enterprise.lat, Enterprise.lon).where(
        Enterprise.deleted_at.is_(None), Enterprise.lat.is_not(None), Enterprise.lon.is_not(None)
    )
    past_deadline = sa.case((Hazard.deadline < today, True), else_=False).label("past")
    hazards = (
        sa.select(Hazard.enterprise_id, Hazard.level, Hazard.state, past_deadline, sa.func.count())
        .where(Hazard.deleted_at.is_(None), Hazard.state.in_(OPEN_STATES))
        .group_by(Hazard.enterprise_id, Hazard.level, Hazard.state, past_deadline)
    )
    if ids is not None:
        places = places.where(Enterprise.id.in_(ids))
        hazards = hazards.where(Hazard.enterprise_id.in_(ids))
    counts: dict[uuid.UUID, list[int]] = {}
    decided: dict[tuple[Any, bool], bool] = {}
    for enterprise_id, level, state, past, n in session.execute(hazards):
        if (state, past) not in decided:
            decided[state, past] = _overdue(HazardState(state), bool(past), today)
        tally = counts.setdefault(enterprise_id, [0, 0, 0, 0])
        major = 2 if HazardLevel(level) == HazardLevel.major else 0
        tally[major] += n
        if decided[state, past]:
            tally[major + 1] += n
    none = (0, 0, 0, 0)
    return {
        shared_id(row.id): (row.region_id, row.lat, row.lon, *counts.get(row.id, none))
        for row in session.execute(places)
    }


class MapLayersCache:
    """The map's enterprise and hazard layers kept per enterprise, stamped with the change counter and patched
    with the enterprises written since (oversight.changed_enterprises): the open hazards of a province took
    ~100 ms to group by cell on every view; summed from the kept rows, a view costs a pass over 10,000
    enterprises in Python."""

    def __init__(self) -> None:
        self._kept: MapLayers | None = None
        self._lock = threading.Lock()

    @property
    def kept(self) -> MapLayers | None:
        """The layers kept now, if any (at whatever stamp)."""
        with self._lock:
            return self._kept

    def layers(self, session: DbSession, today: date) -> MapLayers:
        """The layers true now (read before the data: rows committed meanwhile only make them newer)."""
        stamp = change_stamp(session)
        with self._lock:
            kept = self._kept
        if kept is not None and kept.stamp == stamp and kept.today == today:
            return kept
        changed = (
            changed_enterprises(session, kept.stamp, stamp)
            if kept is not None and kept.today == today
            else None
        )
        if kept is None or changed is None or len(changed) > PATCH_LIMIT:
            fresh = MapLayers.ordered(stamp, today, _rows(session, today, None))
        else:
            ids = sorted(changed)
            fresh = kept.patched(stamp, ids, _rows(session, today, ids))
        with self._lock:
            if self._kept is None or self._kept.stamp <= fresh.stamp:
                self._kept = fresh
        return fresh

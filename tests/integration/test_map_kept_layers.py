"""Issue 17, item 5: the map's enterprise and hazard layers kept per enterprise and patched after writes
(mapclusters.MapLayersCache) equal the clusters grouped in SQL after any sequence of writes, in every scope, for
the whole map and for boxes, at several zooms, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from hypothesis import strategies as st

from server import clock
from server.domain.hazards import HazardLevel, HazardState
from server.extensions import db
from server.models import Enterprise, Hazard, HazardSource, Region, User
from server.services.hazards import record_hazard
from server.services.mapclusters import MapLayersCache, map_view
from server.services.mappoints import Box, PointKind
from tests.integration.random_writes import check_after_writes

SCOPES = ("xx_sup", "lx_sup", "ll_city", "admin")
WRITES = st.lists(
    st.tuples(
        st.sampled_from(["hazard", "hazard_deleted", "new_hazard", "move", "place", "delete"]),
        st.integers(0, 10_000),
        st.integers(0, 10_000),
    ),
    min_size=1,
    max_size=6,
)


def _pick(model: Any, index: int) -> Any:
    rows = db.session.scalars(sa.select(model).order_by(model.id)).all()
    return rows[index % len(rows)]


def _write(kind: str, index: int, value: int) -> None:
    """One write through the ORM, so that it takes a change number."""
    now = datetime.now(UTC)
    if kind == "hazard":
        hazard = _pick(Hazard, index)
        hazard.state = list(HazardState)[value % len(HazardState)]
        hazard.level = list(HazardLevel)[value % 2]
        hazard.deadline = None if value % 5 == 0 else clock.today() + timedelta(days=(value % 41) - 20)
    elif kind == "hazard_deleted":
        hazard = _pick(Hazard, index)
        hazard.deleted_at = None if hazard.deleted_at is not None else now
    elif kind == "new_hazard":
        record_hazard(
            db.session, enterprise=_pick(Enterprise, index), description=f"随机写入 {value}",
            level=list(HazardLevel)[value % 2], found_at=now, deadline=clock.today() - timedelta(days=value % 3),
            source=HazardSource.inspection,
        )  # fmt: skip
    elif kind == "move":
        regions = db.session.scalars(sa.select(Region.id).order_by(Region.id)).all()
        _pick(Enterprise, index).region_id = regions[value % len(regions)]
    elif kind == "place":
        enterprise = _pick(Enterprise, index)
        if value % 4 == 0:
            enterprise.lat = enterprise.lon = None
        else:
            enterprise.lat = 38.0 + (value % 200) / 100
            enterprise.lon = 110.5 + (value % 300) / 100
    elif kind == "delete":
        enterprise = _pick(Enterprise, index)
        enterprise.deleted_at = None if enterprise.deleted_at is not None else now
    db.session.commit()


def _same(kept: Any, plain: Any) -> None:
    assert kept.clustered == plain.clustered
    assert kept.total == plain.total
    assert [(c.layer, c.count, c.overdue) for c in kept.clusters] == [
        (c.layer, c.count, c.overdue) for c in plain.clusters
    ]
    # The coordinates are means of sums taken in another order (SQL's, Python's): equal to the 6 decimals shown,
    # give or take the last one.
    for a, b in zip(kept.clusters, plain.clusters, strict=True):
        assert abs(a.lat - b.lat) <= 2e-6 and abs(a.lon - b.lon) <= 2e-6
    assert kept.points == plain.points


def _assert_kept_equals_grouped(cache: MapLayersCache) -> None:
    today = clock.today()
    boxes = (None, Box(38.0, 110.0, 39.0, 112.0), Box(38.3, 110.8, 38.6, 111.3))
    for username in SCOPES:
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        for box in boxes:
            for zoom in (6, 10, 13):
                args: dict[str, Any] = {"kinds": list(PointKind), "today": today, "box": box, "zoom": zoom}
                # cluster_above 0: always clusters, so that every count is compared.
                kept = map_view(db.session, user, cluster_above=0, kept=cache, **args)
                _same(kept, map_view(db.session, user, cluster_above=0, **args))
        whole = {"kinds": [PointKind.hazard], "today": today}
        _same(map_view(db.session, user, kept=cache, **whole), map_view(db.session, user, **whole))


def test_the_kept_map_layers_equal_the_sql_grouping_after_random_writes(app: Flask) -> None:
    cache = MapLayersCache()
    with app.app_context():
        _assert_kept_equals_grouped(cache)

        check_after_writes(WRITES, _write, lambda: _assert_kept_equals_grouped(cache))


def test_the_layers_are_kept_as_a_worker_starts(app: Flask) -> None:
    from server.caches import map_layers_cache, warm_clearance_cache

    warm_clearance_cache(app)  # what each gunicorn worker does as it starts
    with app.app_context():
        kept = map_layers_cache().kept
        assert kept is not None and kept.today == clock.today() and kept.rows

"""A worker warms its 清零 cache and map layers and freezes them out of the collector's full scans
(server.caches.warm_and_freeze_caches): the frozen entries are still freed when a patch replaces them, so
freezing keeps nothing longer than before."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from server import clock
from server.caches import clearance_cache, map_layers_cache, warm_and_freeze_caches
from server.domain.hazards import HazardState
from server.extensions import db
from server.models import Hazard
from server.services import oversight


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Leave the process's collector as it was: nothing frozen (the other tests' objects must be collected)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_warmed_caches_are_frozen_and_still_freed_when_replaced(app: Flask) -> None:
    """After warming, the kept verdicts and layers are not walked by a full collection; once a write makes the
    next reader patch them, the replaced entries go at once (by reference counting), frozen as they were."""
    warm_and_freeze_caches(app)
    assert gc.get_freeze_count() > 0
    with app.app_context():
        today = clock.today()
        kept = clearance_cache().get(("all", today))
        layers = map_layers_cache().layers(db.session, today)
        assert kept is not None and kept.verdicts
        walked = {id(o) for o in gc.get_objects()}
        assert id(kept) not in walked and id(kept.verdicts) not in walked and id(layers.rows) not in walked
        gone = [weakref.ref(kept), weakref.ref(layers)]
        del kept, layers

        hazard = db.session.scalars(
            sa.select(Hazard).where(Hazard.state != HazardState.closed).limit(1)
        ).one()
        hazard.state = HazardState.closed
        db.session.commit()
        patched = oversight.all_clearances(db.session, today, clearance_cache())
        map_layers_cache().layers(db.session, today)
        assert patched == oversight.clearances(db.session, None, today)
        db.session.remove()
    assert [ref() for ref in gone] == [None, None], "the frozen entries were freed when replaced"

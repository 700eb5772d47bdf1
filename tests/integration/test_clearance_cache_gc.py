"""The kept 清零 verdicts cost a full garbage collection little: repeated values (an item's verdict, a whole
verdict, a set of sectors) are one shared object, so the collector walks about two objects per enterprise (its
verdict and its id) however many key items each has; and sharing changes no verdict."""

from __future__ import annotations

import gc
from datetime import date
from enum import Enum
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from flask import Flask

from server.domain.clearance import Clearance
from server.domain.hazards import HazardState
from server.extensions import db
from server.models import Hazard
from server.services import oversight

TODAY = date(2026, 7, 20)


def tracked_under(root: Any) -> int:
    """How many objects the cyclic collector tracks are reachable from ``root`` (types, modules and enum members
    left out: they live as long as the process, frozen with the app in a worker)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        for ref in gc.get_referents(stack.pop()):
            if id(ref) in seen or not gc.is_tracked(ref) or isinstance(ref, type | ModuleType | Enum):
                continue
            seen.add(id(ref))
            stack.append(ref)
    return len(seen) - 1


def plain(verdict: Clearance | None) -> Any:
    """A verdict as plain values, so that a comparison cannot pass by sharing one object."""
    if verdict is None:
        return None
    return (
        verdict.cleared,
        verdict.open_hazards,
        tuple((i.code, i.cleared, i.reason) for i in verdict.items),
    )


def test_kept_verdicts_hold_each_repeated_value_once(app: Flask) -> None:
    """The collector walks two objects per enterprise (its verdict and its id) and one per distinct value: an
    item's verdict, a whole verdict and its tuple of items, a set of sectors. Before, every enterprise kept its
    own items (one object each), their tuple, its verdict and its sectors."""
    with app.app_context():
        verdicts = oversight.all_clearances(db.session, TODAY, oversight.ClearanceCache())
        db.session.remove()
    decided = [c for v in verdicts.values() for c in (v.verdict, v.pending) if c is not None]
    items = sum(len(c.items) for c in decided)
    assert len(verdicts) >= 20 and items >= 5 * len(verdicts), "enough enterprises with key items to tell"
    distinct = (
        2 * len({plain(c) for c in decided})
        + len({(i.code, i.cleared, i.reason) for c in decided for i in c.items})
        + len({v.sectors for v in verdicts.values()})
    )
    assert distinct < items, "values repeat across enterprises"
    gc.collect()  # a tuple of untracked atoms is untracked when the collector first meets it
    assert tracked_under(verdicts) <= 2 * len(verdicts) + distinct


def test_shared_verdicts_equal_fresh_ones_before_and_after_a_patch(app: Flask) -> None:
    """The cached verdicts, built at once and then patched after hazards close, are the freshly decided ones,
    compared as plain values, with cleared and not-cleared items among them."""
    cache = oversight.ClearanceCache()
    with app.app_context():
        before = oversight.all_clearances(db.session, TODAY, cache)
        fresh = oversight.clearances(db.session, None, TODAY)
        blocked = {eid for eid, v in before.items() if v.verdict.open_hazards > 0}
        for hazard in db.session.scalars(
            sa.select(Hazard).where(Hazard.enterprise_id.in_(blocked), Hazard.state != HazardState.closed)
        ):
            hazard.state = HazardState.closed
        db.session.commit()
        after = oversight.all_clearances(db.session, TODAY, cache)
        fresh_after = oversight.clearances(db.session, None, TODAY)
        db.session.remove()
    reasons = {i.reason for v in before.values() for i in v.verdict.items}
    assert None in reasons and len(reasons) > 2, "cleared items and several reasons for not cleared ones"
    assert blocked and after != before
    for kept, decided in ((before, fresh), (after, fresh_after)):
        assert kept == decided
        assert {e: (plain(v.verdict), plain(v.pending), sorted(v.sectors)) for e, v in kept.items()} == {
            e: (plain(v.verdict), plain(v.pending), sorted(v.sectors)) for e, v in decided.items()
        }

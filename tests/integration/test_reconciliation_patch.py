"""The cached reconciliation patched after writes (only the enterprises written since its stamp reconciled again)
equals a reconciliation from scratch, whatever was written: hazards, events, inspections, answers, enterprises,
supervisors' decisions (a late-committed one included)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings

from server import clock
from server.extensions import db
from server.models import User
from server.services import reconciliation as service
from server.services.reconciliation import ReconciliationCache, reconcile_scope, resolve_phase
from tests.integration.random_writes import Write, apply, writes
from tests.integration.test_reconciliation_pages import PHASE, Scenario, scenario

__all__ = ["scenario"]

VIEWERS = ("xx_sup", "ll_city")


def _shown(app: Flask, cache: ReconciliationCache | None) -> dict[str, Any]:
    """Each viewer's ranked rows and totals for the phase, comparable."""
    shown = {}
    with app.app_context():
        for username in VIEWERS:
            user = db.session.scalar(sa.select(User).where(User.username == username))
            assert user is not None
            window = resolve_phase(db.session, user, PHASE, clock.today(), clock.zone())
            assert window is not None
            result = reconcile_scope(db.session, user, window, clock.today(), zone=clock.zone(), cache=cache)
            shown[username] = (
                [(r.enterprise_id, r.name, r.region, r.result) for r in result.rows],
                result.totals,
            )
        db.session.remove()
    return shown


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many enterprises each reconciliation run took (a whole scope, or a patch)."""
    sizes: list[int] = []
    run = service._reconcile_each

    def spy(*args: Any) -> Any:
        rows = run(*args)
        sizes.append(len(rows))
        return rows

    monkeypatch.setattr(service, "_reconcile_each", spy)
    return sizes


def test_a_write_reconciles_only_the_enterprises_it_touched(
    app: Flask, scenario: Scenario, counted: list[int]
) -> None:
    cache = ReconciliationCache()
    whole = _shown(app, cache)
    scope_sizes = list(counted)
    assert min(scope_sizes) > 1
    counted.clear()
    assert _shown(app, cache) == whole and counted == []  # nothing written: nothing reconciled
    with app.app_context():
        apply(Write("hazard_description", 0, 1, 1))
        db.session.remove()
    patched = _shown(app, cache)
    assert counted and max(counted) <= 1, counted  # the one enterprise written, per viewer
    assert patched == _shown(app, None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=writes)
def test_patched_reconciliation_equals_one_from_scratch(
    app: Flask, scenario: Scenario, batch: list[Write]
) -> None:
    # The app (its database and its cache) lives across examples: each patches the last one's reconciliation.
    cache = app.extensions.setdefault("reconciliation_patch_test", ReconciliationCache())
    _shown(app, cache)
    with app.app_context():
        done = [apply(w) for w in batch]
        db.session.remove()
    assert _shown(app, cache) == _shown(app, None), done


def test_a_decision_committed_late_is_seen_by_the_patched_reconciliation(
    app: Flask, scenario: Scenario
) -> None:
    cache = ReconciliationCache()
    before = _shown(app, cache)
    with app.app_context():
        # The missed finding and the ledger-only entry declared one hazard, by a decision whose id was taken before
        # every other's but committed after them (ids are taken before commit).
        _late_pair(scenario)
        db.session.remove()
    after = _shown(app, cache)
    assert after == _shown(app, None)
    assert after != before


def _late_pair(scenario: Scenario) -> None:
    from server.domain.reconciliation import PairVerdict
    from server.models import ReconciliationDecision

    supervisor = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
    assert supervisor is not None
    lowest = db.session.scalar(sa.select(sa.func.min(ReconciliationDecision.id))) or 0
    db.session.add(ReconciliationDecision(
        id=min(lowest, 0) - 1, finding_id=scenario.missed, entry_id=scenario.ledger_only,
        enterprise_id=scenario.enterprise, verdict=PairVerdict.same, reason="同一隐患", decided_by_id=supervisor.id,
    ))  # fmt: skip
    db.session.commit()


def test_a_renamed_region_shows_at_the_next_view(app: Flask, scenario: Scenario) -> None:
    from server.models import Region

    cache = ReconciliationCache()
    _shown(app, cache)
    with app.app_context():
        region = db.session.scalar(sa.select(Region).where(Region.code == "141123"))
        assert region is not None
        region.name = "兴县（新）"
        db.session.commit()
        db.session.remove()
    after = _shown(app, cache)
    assert after == _shown(app, None)
    assert any(region == "兴县（新）" for _, _, region, _ in after["xx_sup"][0])

"""The monthly report counted after a write from the last count's reading (only the enterprises written since read,
replayed and decided again) equals the report counted from scratch, whatever was written: hazards, events,
inspections, answers, reviews, enterprises moved or deleted."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings

from bench.web import fill_county
from server import clock
from server.extensions import db
from server.models import User
from server.services import progress_report
from server.services.progress_report import build as building
from tests.integration.random_writes import Write, apply, writes
from tests.integration.test_report_cache import CHINA, FILLED_ON, _figures

VIEWERS = ("ll_city", "xx_sup")


def _periods() -> list[Any]:
    """The final summary, the generated county's month and this month's report."""
    return ["final", FILLED_ON.replace(day=1), clock.today().replace(day=1)]


@pytest.fixture
def filled(app: Flask) -> Flask:
    """The demo county with a generated county's campaign (bench/web.py at 1 % scale) on top."""
    with app.app_context():
        fill_county(db.session, 0.01, seed=11, today=FILLED_ON)
        db.session.commit()
        db.session.remove()
    return app


def _reports(cache: progress_report.ReportCache | None) -> dict[tuple[str, str], Any]:
    """Every viewer's reports' figures, comparable (in an app context)."""
    out = {}
    for username in VIEWERS:
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        for period in _periods():
            report = progress_report.build_report(db.session, user, period, zone=CHINA, cache=cache)
            out[username, str(period)] = _figures(report)
    return out


@pytest.fixture
def read_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many enterprises each reading took (a whole scope, or the enterprises written since)."""
    sizes: list[int] = []
    read = building._read

    def spy(*args: Any) -> Any:
        done = read(*args)
        sizes.append(len(done.enterprises))
        return done

    monkeypatch.setattr(building, "_read", spy)
    return sizes


def test_a_write_reads_again_only_the_enterprise_it_touched(filled: Flask, read_sizes: list[int]) -> None:
    with filled.app_context():
        cache = progress_report.ReportCache(readings=8)
        _reports(cache)
        assert min(read_sizes) > 1
        read_sizes.clear()
        apply(Write("hazard_level", 3, 0, 1))
        patched = _reports(cache)
        assert read_sizes and max(read_sizes) <= 1, read_sizes
        assert patched == _reports(None)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=writes)
def test_a_patched_report_equals_one_counted_from_scratch(filled: Flask, batch: list[Write]) -> None:
    # The app (its database and its cache) lives across examples: each patches the last one's count.
    cache = filled.extensions.setdefault("report_patch_test", progress_report.ReportCache(readings=8))
    with filled.app_context():
        _reports(cache)
        done = [apply(w) for w in batch]
        assert _reports(cache) == _reports(None), done
        db.session.remove()


def test_an_event_written_alone_is_counted_after_a_write(filled: Flask) -> None:
    from datetime import timedelta

    from server.domain.hazards import HazardEventKind
    from server.models import Hazard, HazardEvent

    with filled.app_context():
        cache = progress_report.ReportCache(readings=8)
        before = _reports(cache)
        # The 'found' event of a hazard the final summary counts, moved past every cut-off: no longer found.
        event = db.session.scalar(
            sa.select(HazardEvent)
            .join(Hazard, Hazard.id == HazardEvent.hazard_id)
            .where(HazardEvent.kind == HazardEventKind.found, Hazard.deleted_at.is_(None))
            .order_by(HazardEvent.at.desc())
            .limit(1)
        )
        assert event is not None
        event.at = event.at + timedelta(days=800)
        db.session.commit()
        after = _reports(cache)
        assert after == _reports(None)
        assert after != before

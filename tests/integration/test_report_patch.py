"""The monthly report counted after a write from the last count's reading (only the enterprises written since read,
replayed and decided again) equals the report counted from scratch, whatever was written: hazards, events,
inspections, answers, reviews, enterprises moved or deleted."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings

from server import clock
from server.extensions import db
from server.models import User
from server.services import progress_report
from server.services.progress_report import build as building
from tests.integration.random_writes import Write, apply, writes
from tests.integration.test_report_cache import CHINA, _figures

VIEWERS = ("ll_city", "xx_sup")


def _periods() -> list[Any]:
    """The final summary and this month's report (the demo's activity runs up to today)."""
    return ["final", clock.today().replace(day=1)]


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


def test_a_write_reads_again_only_the_enterprise_it_touched(app: Flask, read_sizes: list[int]) -> None:
    with app.app_context():
        cache = progress_report.ReportCache()
        _reports(cache)
        assert min(read_sizes) > 1
        read_sizes.clear()
        apply(Write("hazard_level", 3, 0, 1))
        patched = _reports(cache)
        assert read_sizes and max(read_sizes) <= 1, read_sizes
        assert patched == _reports(None)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=writes)
def test_a_patched_report_equals_one_counted_from_scratch(app: Flask, batch: list[Write]) -> None:
    # The app (its database and its cache) lives across examples: each patches the last one's count.
    cache = app.extensions.setdefault("report_patch_test", progress_report.ReportCache())
    with app.app_context():
        _reports(cache)
        done = [apply(w) for w in batch]
        assert _reports(cache) == _reports(None), done
        db.session.remove()

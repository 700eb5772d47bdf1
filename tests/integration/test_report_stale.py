"""The monthly report's cache everywhere a report is counted for a viewer (the workbook job, the scoreboard), and
stale-while-revalidate: after a write the page and its JSON answer at once with the last count, saying so in the
reader's language, while one background recount runs; the workbook is never stale."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server import job_kinds, jobs
from server.extensions import db
from server.models import Enterprise
from server.models.base import utcnow
from server.models.job import BackgroundJob, JobStatus
from server.services.progress_report import build as building
from tests.conftest import login

STALE_ZH = "正在重新统计，完成后本页自动更新"
STALE_EN = "being recounted, this page will update when done"


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per report counted from scratch."""
    counted: list[int] = []
    count = building._count

    def spy(*args: Any) -> Any:
        counted.append(1)
        return count(*args)

    monkeypatch.setattr(building, "_count", spy)
    return counted


def _write(app: Flask) -> None:
    """A write of a synced row (an enterprise leaves the registry long ago): the change counter moves."""
    with app.app_context():
        enterprise = db.session.scalars(
            sa.select(Enterprise).where(Enterprise.deleted_at.is_(None)).order_by(Enterprise.name)
        ).first()
        assert enterprise is not None
        enterprise.deleted_at = utcnow() - timedelta(days=800)
        db.session.commit()
        db.session.remove()


def _recounts(app: Flask) -> list[BackgroundJob]:
    with app.app_context():
        found = list(
            db.session.scalars(sa.select(BackgroundJob).where(BackgroundJob.kind == "report_recount"))
        )
        db.session.remove()
        return found


def test_the_workbook_job_and_the_scoreboard_count_once_until_something_is_written(
    app: Flask, client: FlaskClient, counts: list[int]
) -> None:
    token = login(client, "ll_city")
    for _ in range(2):
        reply = client.post("/reports/monthly/job", data={"csrf_token": token, "final": "1"})
        assert reply.status_code in (302, 303)
    assert len(counts) == 1
    for _ in range(2):
        assert client.get("/scoring.json?final=1").status_code == 200
    assert len(counts) == 1  # the same scope and period: the workbook's count serves the scoreboard
    _write(app)
    assert client.get("/scoring.json?final=1").status_code == 200
    assert len(counts) == 2


def test_after_a_write_the_page_shows_the_last_count_labelled_while_one_recount_runs(
    app: Flask, counts: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    app.config["JOBS_MODE"] = "defer"  # the recount stays queued until the test runs it
    zh, en = app.test_client(), app.test_client()
    login(zh, "ll_city")
    login(en, "ll_city")
    first = zh.get("/api/reports/monthly?final=1").get_json()
    assert first["stale"] is False and first["counted_at"] is None and first["stale_notice"] is None
    page = zh.get("/reports/monthly?final=1").get_data(as_text=True)
    assert STALE_ZH not in page and 'id="report-stale"' not in page
    assert len(counts) == 1
    in_scope = first["total"]["enterprises_in_scope"]

    _write(app)
    stale = en.get("/api/reports/monthly?final=1", headers={"Accept-Language": "en"}).get_json()
    assert stale["stale"] is True and stale["counted_at"]
    assert STALE_EN in stale["stale_notice"]
    assert stale["total"]["enterprises_in_scope"] == in_scope  # the last count, as labelled
    page = zh.get("/reports/monthly?final=1", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f"以下数字截至 {_hhmm(app, stale['counted_at'])}（北京时间）计算，{STALE_ZH}" in page
    assert 'id="report-stale"' in page and 'http-equiv="refresh"' in page
    english = en.get("/reports/monthly?final=1", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"Figures as counted at {_hhmm(app, stale['counted_at'])}; {STALE_EN}" in english
    polled = zh.get("/reports/monthly/counted.json?final=1").get_json()
    assert polled["stale"] is True
    assert len(counts) == 1  # nothing counted in the requests
    recounts = _recounts(app)
    assert len(recounts) == 1 and recounts[0].status is JobStatus.queued  # four views, one recount

    assert isinstance(jobs.run_job(app, recounts[0].id), jobs.JobOutput)
    assert len(counts) == 2
    fresh = zh.get("/api/reports/monthly?final=1").get_json()
    assert fresh["stale"] is False and fresh["total"]["enterprises_in_scope"] == in_scope - 1
    assert fresh["counted_at"] is None
    assert 'id="report-stale"' not in zh.get("/reports/monthly?final=1").get_data(as_text=True)
    assert zh.get("/reports/monthly/counted.json?final=1").get_json()["stale"] is False
    assert len(counts) == 2 and len(_recounts(app)) == 1
    assert "/jobs/" not in zh.get("/jobs").get_data(as_text=True)  # started by the app, not the user's work


def test_a_recount_whose_process_is_gone_is_started_again(app: Flask) -> None:
    app.config["JOBS_MODE"] = "defer"
    client = app.test_client()
    login(client, "xx_sup")
    client.get("/reports/monthly?final=1")
    _write(app)
    client.get("/reports/monthly?final=1")
    (lost,) = _recounts(app)
    with app.app_context():
        db.session.execute(
            sa.update(BackgroundJob)
            .where(BackgroundJob.id == lost.id)
            .values(created_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
        db.session.remove()
    client.get("/reports/monthly?final=1")
    statuses = sorted(job.status.value for job in _recounts(app))
    assert statuses == ["failed", "queued"]


def test_the_workbook_is_never_stale(app: Flask, counts: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    app.config["JOBS_MODE"] = "defer"
    drawn: list[Any] = []
    draw = job_kinds.report_xlsx

    def spy(report: Any, **kwargs: Any) -> bytes:
        drawn.append(report)
        return draw(report, **kwargs)

    monkeypatch.setattr(job_kinds, "report_xlsx", spy)
    client = app.test_client()
    token = login(client, "ll_city")
    in_scope = client.get("/api/reports/monthly?final=1").get_json()["total"]["enterprises_in_scope"]
    _write(app)
    assert client.get("/api/reports/monthly?final=1").get_json()["stale"] is True
    client.post("/reports/monthly/job", data={"csrf_token": token, "final": "1"})
    with app.app_context():
        job = db.session.scalars(
            sa.select(BackgroundJob).where(BackgroundJob.kind == "progress_report")
        ).one()
        db.session.remove()
    jobs.run_job(app, job.id)
    (report,) = drawn
    assert report.stale is False and report.total.enterprises_in_scope == in_scope - 1
    # The workbook downloaded directly is counted anew too (the cached count is older than the request).
    with client.get("/reports/monthly.xlsx?final=1") as reply:
        assert reply.status_code == 200
    assert len(counts) == 2  # the first view, then the workbook's own count, which the download reuses


def _hhmm(app: Flask, iso: str) -> str:
    from datetime import datetime

    from server import clock

    with app.app_context():
        local = datetime.fromisoformat(iso).astimezone(clock.zone())
        return local.strftime("%H:%M" if local.date() == clock.today() else "%Y-%m-%d %H:%M")


def test_the_page_lists_the_major_hazards_a_page_at_a_time(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.web import reports as report_views

    client = app.test_client()
    login(client, "ll_city")
    everything = client.get("/api/reports/monthly?final=1").get_json()["majors"]
    assert len(everything) >= 2, "the demo needs two major hazards"
    monkeypatch.setattr(report_views, "MAJORS_PER_PAGE", 1)
    shown = []
    for page in range(1, len(everything) + 1):
        html = client.get(
            f"/reports/monthly?final=1&majors={page}", headers={"Accept-Language": "en"}
        ).get_data(as_text=True)
        rows = [m["hazard_id"] for m in everything if f'data-hazard="{m["hazard_id"]}"' in html]
        assert len(rows) == 1 and f"Page {page} of {len(everything)}" in html
        assert ('rel="next"' in html) == (page < len(everything)) and ('rel="prev"' in html) == (page > 1)
        shown += rows
    assert shown == [m["hazard_id"] for m in everything]


def test_finished_recounts_are_pruned_when_the_next_one_starts(app: Flask) -> None:
    """A page open through a sync storm starts a recount per write burst: the job table keeps the recent ones
    only (they are listed nowhere and their figures live in the cache)."""
    app.config["JOBS_MODE"] = "defer"
    client = app.test_client()
    login(client, "xx_sup")
    client.get("/reports/monthly?final=1")
    with app.app_context():
        owner = db.session.scalar(sa.select(BackgroundJob.owner_id).limit(1))
        user_id = owner if owner is not None else 1
        finished = utcnow() - job_kinds.RECOUNTS_KEPT - timedelta(minutes=1)
        for status in (JobStatus.done, JobStatus.failed):
            db.session.add(BackgroundJob(kind="report_recount", owner_id=user_id, status=status, params={},
                                         created_at=finished, finished_at=finished))  # fmt: skip
        db.session.add(BackgroundJob(kind="report_recount", owner_id=user_id, status=JobStatus.done, params={},
                                     created_at=utcnow(), finished_at=utcnow()))  # fmt: skip
        db.session.add(BackgroundJob(kind="ledger_import", owner_id=user_id, status=JobStatus.done, params={},
                                     created_at=finished, finished_at=finished))  # fmt: skip
        db.session.commit()
        db.session.remove()
    _write(app)
    client.get("/reports/monthly?final=1")
    assert sorted(job.status.value for job in _recounts(app)) == ["done", "queued"]
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(BackgroundJob.kind == "ledger_import")) == 1
        ), "other jobs are the user's own: never pruned here"
        db.session.remove()

"""Long work as background jobs (server.jobs): imports, the report workbook and documents run off the
request, show their progress on /jobs/<id> while they run, can be left and come back to, are seen only by their
owner (or an admin), and a job whose process died is marked failed with a retryable message."""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server import create_app, jobs
from server.demo.activity import demo_id
from server.extensions import db
from server.jobs import JobContext, JobOutput
from server.models import Enterprise, Hazard, User
from server.models.base import utcnow
from server.models.job import BackgroundJob, JobStatus
from tests.conftest import app_config, dispose, login
from tests.integration.test_enterprise_import import code
from tests.integration.test_ledger_excel import HEADER, messy_workbook, row

JINXING = "兴县晋兴特钢有限公司"


def _app(database_url: str, tmp_path: Path, qr_key_file: str, **extra: Any) -> Flask:
    return create_app(
        app_config(database_url, tmp_path / "instance", QR_SIGNING_KEY_FILE=qr_key_file, **extra)
    )


@pytest.fixture
def threaded(database_url: str, tmp_path: Path, qr_key_file: str) -> Iterator[Flask]:
    """An app that runs jobs in threads as production does, answering at once (no wait for a quick job)."""
    application = _app(
        database_url,
        tmp_path,
        qr_key_file,
        JOBS_MODE="thread",
        JOBS_WAIT_SECONDS=0,
        JOBS_HEARTBEAT_SECONDS=0.05,
    )
    yield application
    dispose(application)


@pytest.fixture
def deferred(database_url: str, tmp_path: Path, qr_key_file: str) -> Iterator[Flask]:
    """An app that leaves jobs queued: the test runs them, step by step."""
    application = _app(database_url, tmp_path, qr_key_file, JOBS_MODE="defer", JOBS_HEARTBEAT_SECONDS=0.05)
    yield application
    dispose(application)


def _job_id(response: Any) -> uuid.UUID:
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert "/jobs/" in location
    return uuid.UUID(location.rstrip("/").rsplit("/", 1)[-1])


def _wait(client: FlaskClient, job_id: uuid.UUID, seconds: float = 60) -> dict[str, Any]:
    """Poll the job's JSON as the page's script does, until it finished."""
    deadline = time.monotonic() + seconds
    while True:
        state = client.get(f"/jobs/{job_id}.json").get_json()
        if state["finished"] or time.monotonic() > deadline:
            return dict(state)
        time.sleep(0.05)


def _upload(client: FlaskClient, token: str, data: bytes, name: str = "台账.xlsx") -> Any:
    fields = {"csrf_token": token, "file": (io.BytesIO(data), name)}
    return client.post("/portal/ledger/import", data=fields, content_type="multipart/form-data")


def _ledger_count(app: Flask) -> int:
    with app.app_context():
        enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == JINXING))
        assert enterprise is not None
        count = db.session.scalar(sa.select(sa.func.count()).where(Hazard.enterprise_id == enterprise.id))
        return int(count or 0)


def test_a_ledger_import_runs_in_the_background_to_its_result(threaded: Flask) -> None:
    client = threaded.test_client()
    token = login(client, "qy_jinxing")
    before = _ledger_count(threaded)

    job_id = _job_id(_upload(client, token, messy_workbook()))
    state = _wait(client, job_id)

    assert state["status"] == "done" and state["percent"] == 100 and state["error"] is None
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'id="job-counts"' in page and 'id="job-errors"' in page
    assert "较大" in page  # the refused level is quoted in its row's problem
    assert 'http-equiv="refresh"' not in page  # a finished job's page stops refreshing
    # The notes in the reader's one language (the major hazard awaits the regulator's acceptance).
    assert "须由监管部门验收" in page and "the regulator accepts" not in page
    english = client.get(f"/jobs/{job_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "the regulator accepts" in english and "须由监管部门验收" not in english
    assert _ledger_count(threaded) == before + 3
    with threaded.app_context():
        job = db.session.get(BackgroundJob, job_id)
        assert job is not None and job.result is not None
        assert job.result["counts"]["created"] == 3 and job.result["error_rows"] >= 1
        uploads = Path(threaded.instance_path) / "job-uploads" / str(job_id)
        assert not uploads.exists()  # kept while the job ran, removed once it finished
    listing = client.get("/jobs").get_data(as_text=True)
    assert f"/jobs/{job_id}" in listing


def test_progress_is_visible_while_the_job_runs(deferred: Flask) -> None:
    client = deferred.test_client()
    token = login(client, "qy_jinxing")
    job_id = _job_id(_upload(client, token, messy_workbook()))
    assert client.get(f"/jobs/{job_id}.json").get_json()["status"] == "queued"

    reached, release = threading.Event(), threading.Event()

    def hold_mid_way(context: JobContext) -> None:
        done, total, stage = context._steps
        if stage == "checking" and total and 0 < done < total and not reached.is_set():
            reached.set()
            assert release.wait(30)

    jobs.PROGRESS_EVERY_SECONDS, saved = 0.0, jobs.PROGRESS_EVERY_SECONDS
    worker = threading.Thread(target=jobs.run_job, args=(deferred, job_id, [hold_mid_way]))
    try:
        worker.start()
        assert reached.wait(30)
        state = client.get(f"/jobs/{job_id}.json").get_json()
        assert state["status"] == "running" and state["stage"] == "checking"
        assert 0 < state["done_steps"] < state["total_steps"] and 0 < state["percent"] < 100
        page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
        assert 'id="job-bar"' in page and f"{state['done_steps']} / {state['total_steps']}" in page
        assert 'http-equiv="refresh"' in page  # works without script
        assert "jobs.js" in page
        with deferred.app_context():
            first = db.session.get(BackgroundJob, job_id)
            assert first is not None and first.heartbeat_at is not None
            beat = first.heartbeat_at
        time.sleep(0.3)
        with deferred.app_context():
            later = db.session.get(BackgroundJob, job_id)
            assert later is not None and later.heartbeat_at is not None and later.heartbeat_at > beat
        assert _ledger_count(deferred) == _ledger_count(deferred)  # nothing of the import is visible yet
    finally:
        release.set()
        worker.join(60)
        jobs.PROGRESS_EVERY_SECONDS = saved
    assert client.get(f"/jobs/{job_id}.json").get_json()["status"] == "done"


def test_an_unreadable_registry_fails_the_job_and_writes_nothing(app: Flask, client: FlaskClient) -> None:
    token = login(client, "admin")
    assert client.get("/admin/enterprises/import").status_code == 200
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Enterprise))

    fields = {"csrf_token": token, "file": (io.BytesIO(b"\x00\x01not a workbook"), "名录.xlsx")}
    job_id = _job_id(
        client.post("/admin/enterprises/import", data=fields, content_type="multipart/form-data")
    )

    state = client.get(f"/jobs/{job_id}.json").get_json()
    assert state["status"] == "failed" and "无法读取" in state["error"]
    page = client.get(f"/jobs/{job_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'id="job-error"' in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enterprise)) == before


def test_a_registry_import_job_reports_counts_and_row_problems(app: Flask, client: FlaskClient) -> None:
    token = login(client, "admin")
    body = "企业名称,统一社会信用代码,所属区域\n兴县甲钢铁有限公司,{},141123\n兴县乙铸造有限公司,bad,141123\n"
    data = body.format(code(41)).encode("utf-8")
    fields = {"csrf_token": token, "file": (io.BytesIO(data), "名录.csv")}
    job_id = _job_id(
        client.post("/admin/enterprises/import", data=fields, content_type="multipart/form-data")
    )

    state = client.get(f"/jobs/{job_id}.json").get_json()
    assert state["status"] == "done"
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'id="job-errors"' in page and "名录.csv" in page
    with app.app_context():
        job = db.session.get(BackgroundJob, job_id)
        assert job is not None and job.result is not None
        assert job.result["counts"]["created"] == 1 and job.result["error_rows"] == 1
        assert db.session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == code(41))) is not None


def test_a_crash_fails_the_job_with_a_retryable_message_and_rolls_the_work_back(
    app: Flask, client: FlaskClient
) -> None:
    @jobs.register("test_crash")
    def crash(context: JobContext) -> JobOutput:
        enterprise = context.session.scalar(sa.select(Enterprise).where(Enterprise.name == JINXING))
        assert enterprise is not None
        enterprise.name = "改了一半"
        context.session.flush()
        raise RuntimeError("the disk fell off")

    login(client, "xx_sup")
    with app.app_context(), app.test_request_context():
        user = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        assert user is not None
        job, outcome = jobs.submit(db.session, user, "test_crash", {})
        job_id = job.id
    assert outcome is not None
    state = client.get(f"/jobs/{job_id}.json", headers={"Accept-Language": "en"}).get_json()
    assert state["status"] == "failed" and state["retryable"] and str(job_id) in state["error"]
    with app.app_context():
        assert db.session.scalar(sa.select(Enterprise).where(Enterprise.name == JINXING)) is not None


def test_only_the_owner_or_an_admin_sees_a_job(app: Flask) -> None:
    owner = app.test_client()
    token = login(owner, "xx_sup")
    assert "/reports/monthly/job" in owner.get("/reports/monthly").get_data(as_text=True)
    job_id = _job_id(owner.post("/reports/monthly/job", data={"csrf_token": token}))
    assert owner.get(f"/jobs/{job_id}.json").get_json()["status"] == "done"
    with owner.get(f"/jobs/{job_id}/file") as response:
        assert response.status_code == 200
        openpyxl.load_workbook(io.BytesIO(response.data)).close()

    stranger = app.test_client()
    login(stranger, "qy_jinxing")
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}.json", f"/jobs/{job_id}/file"):
        assert stranger.get(path).status_code == 404
    assert f"/jobs/{job_id}" not in stranger.get("/jobs").get_data(as_text=True)
    other_supervisor = app.test_client()
    login(other_supervisor, "ll_city")
    assert other_supervisor.get(f"/jobs/{job_id}").status_code == 404

    admin = app.test_client()
    login(admin, "admin")
    assert admin.get(f"/jobs/{job_id}").status_code == 200
    assert app.test_client().get(f"/jobs/{job_id}").status_code == 302  # signed out: to the login page


def test_a_document_is_drawn_as_a_job(app: Flask, client: FlaskClient) -> None:
    token = login(client, "xx_sup")
    inspection = demo_id("inspection/xx-03")
    job_id = _job_id(
        client.post(f"/inspections/{inspection}/documents/record/job", data={"csrf_token": token})
    )
    assert client.get(f"/jobs/{job_id}.json").get_json()["status"] == "done"
    assert 'id="job-file"' in client.get(f"/jobs/{job_id}").get_data(as_text=True)
    with client.get(f"/jobs/{job_id}/file") as response:
        assert response.status_code == 200 and response.data.startswith(b"%PDF")


@pytest.mark.parametrize("status", [JobStatus.running, JobStatus.queued])
def test_a_job_whose_process_died_is_marked_failed_on_the_next_look(
    app: Flask, client: FlaskClient, status: JobStatus
) -> None:
    login(client, "xx_sup")
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        assert user is not None
        long_ago = utcnow() - timedelta(minutes=10)
        beat = long_ago if status is JobStatus.running else None
        dead = BackgroundJob(kind="registry_import", owner_id=user.id, status=status, params={}, done_steps=4,
                             total_steps=10, created_at=long_ago, started_at=beat, heartbeat_at=beat)  # fmt: skip
        alive = BackgroundJob(kind="registry_import", owner_id=user.id, status=JobStatus.running, params={},
                              done_steps=4, total_steps=10, started_at=utcnow(), heartbeat_at=utcnow())  # fmt: skip
        db.session.add_all([dead, alive])
        db.session.commit()
        dead_id, alive_id = dead.id, alive.id

    state = client.get(f"/jobs/{dead_id}.json").get_json()
    assert state["status"] == "failed" and state["retryable"] and "重新开始" in state["error"]
    english = client.get(f"/jobs/{dead_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "interrupted" in english
    assert client.get(f"/jobs/{alive_id}.json").get_json()["status"] == "running"
    with app.app_context():
        job = db.session.get(BackgroundJob, dead_id)
        assert job is not None and job.status is JobStatus.failed and job.finished_at is not None
        # A runner that is in fact alive cannot be overtaken by a late look: its next touch only updates a
        # running row, and the failed row stays failed.
        jobs._touch(app, dead_id, done_steps=9)
        db.session.refresh(job)
        assert job.status is JobStatus.failed and job.done_steps == 4


def test_an_unknown_header_in_a_background_import_leads_to_the_mapping_step(threaded: Flask) -> None:
    client = threaded.test_client()
    token = login(client, "qy_jinxing")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["日期", "地点", "问题", "措施"])
    sheet.append(["2022-05-03", "炼钢车间", "平台栏杆缺失", "补装"])
    data = io.BytesIO()
    book.save(data)

    job_id = _job_id(_upload(client, token, data.getvalue()))
    assert _wait(client, job_id)["status"] == "done"
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    mapping = f"/portal/ledger/import/jobs/{job_id}/mapping"
    assert mapping in page
    step = client.get(mapping)
    assert step.status_code == 200 and 'name="token"' in step.get_data(as_text=True)
    assert row and HEADER  # the ledger module's helpers are shared with its tests


def test_a_registry_import_job_shows_its_notes_in_one_language(app: Flask, client: FlaskClient) -> None:
    token = login(client, "admin")
    body = "企业名称,统一社会信用代码,所属区域,排查方式\n兴县丙铸造有限公司,{},141123,自查\n"
    fields = {"csrf_token": token, "file": (io.BytesIO(body.format(code(42)).encode("utf-8")), "名录.csv")}
    job_id = _job_id(
        client.post("/admin/enterprises/import", data=fields, content_type="multipart/form-data")
    )

    chinese = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "未识别的列已忽略：排查方式" in chinese and "Columns ignored" not in chinese
    client.set_cookie("lang", "en")
    english = client.get(f"/jobs/{job_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Columns ignored: 排查方式" in english and "未识别的列已忽略" not in english

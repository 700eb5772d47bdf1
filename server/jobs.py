"""Long work off the request: a job row records it, a thread of the same process runs it, anyone may look.

Why a thread of the process that took the request (rather than a separate worker claiming queued rows):
nothing else has to be installed, started or monitored by a bureau's IT contractor; an upload never has to
travel to another machine, since the process that received it is the one that reads it; and every state a
user can see lives in the shared database, so any gunicorn worker of any server answers ``/jobs/<id>``. What a
thread cannot survive is its process ending (a restart, a deploy, gunicorn recycling a worker). So the runner
touches the row's ``heartbeat_at`` every few seconds, and whoever looks at a job whose heartbeat stopped (or a
queued job nobody took) marks it failed with a retryable message. The work's writes and the job's "done" are
committed in one transaction, so an interrupted job has written nothing.

``JOBS_MODE`` picks how a submitted job runs: ``thread`` (the default), ``inline`` (in the request itself, for
tests and scripts), or ``defer`` (left queued; tests then call :func:`run_job`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import scoped_session

from server.domain.roles import Role
from server.errors import job_crashed, job_interrupted
from server.extensions import db
from server.models import User
from server.models.base import utcnow
from server.models.job import BackgroundJob, JobStatus
from server.services import DbSession
from sync.problems import Problem

log = logging.getLogger(__name__)

#: How often a running job's heartbeat is touched, and after how long without one it counts as dead.
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 60.0
#: Progress is written at most this often (a 5,000-row ledger would otherwise write 5,000 times).
PROGRESS_EVERY_SECONDS = 0.5


#: The job table for the short statements written beside the work's own transaction.
_TABLE = cast(sa.Table, BackgroundJob.__table__)


@dataclass
class JobOutput:
    """What a piece of work hands back: the result to show, an optional produced file, and (for the request
    that waits for a quick job) the rich object the old synchronous page rendered."""

    result: dict[str, Any]
    file_bytes: bytes | None = None
    file_name: str | None = None
    value: Any = None


#: One kind of work: it gets its context, and returns its output or raises a Problem.
Work = Callable[["JobContext"], JobOutput]

_KINDS: dict[str, Work] = {}


def register(kind: str) -> Callable[[Work], Work]:
    """Declare the function that does the work of ``kind``."""

    def decorate(work: Work) -> Work:
        _KINDS[kind] = work
        return work

    return decorate


@dataclass
class JobContext:
    """What a running job sees: its row's id and parameters, its owner, its upload, and a progress pen."""

    app: Flask
    job_id: uuid.UUID
    kind: str
    params: dict[str, Any]
    owner: User
    session: DbSession
    upload: Path | None
    _last_write: float = 0.0
    _steps: tuple[int, int | None, str | None] = (0, None, None)
    on_progress: list[Callable[[JobContext], None]] = field(default_factory=list)

    def progress(self, done: int, total: int | None = None, stage: str | None = None) -> None:
        """Record ``done`` of ``total`` steps and the stage, for whoever watches (written at most twice a
        second, and always when the stage changes)."""
        stage_changed = stage is not None and stage != self._steps[2]
        self._steps = (done, total if total is not None else self._steps[1], stage or self._steps[2])
        now = time.monotonic()
        if not stage_changed and now - self._last_write < PROGRESS_EVERY_SECONDS and done != total:
            return
        self._last_write = now
        done_now, total_now, stage_now = self._steps
        if not _holds_sqlite_write_lock(self.session):
            _touch(self.app, self.job_id, done_steps=done_now, total_steps=total_now, stage=stage_now)
        for hook in self.on_progress:
            hook(self)

    def upload_bytes(self) -> bytes:
        """The uploaded file the job was started with."""
        if self.upload is None:
            raise ValueError("this job has no upload")
        return self.upload.read_bytes()


def _holds_sqlite_write_lock(session: Any) -> bool:
    """Whether the work's own SQLite connection is writing: SQLite has one writer, so a progress line written
    on another connection would wait for the work to commit (PostgreSQL locks rows, and never waits here)."""
    if isinstance(session, scoped_session):
        session = session()
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return False
    raw = session.connection().connection.dbapi_connection
    return bool(getattr(raw, "in_transaction", False))


def _touch(app: Flask, job_id: uuid.UUID, **values: Any) -> None:
    """Update the job row in a transaction of its own (the work's transaction stays open and unseen), with a
    fresh heartbeat. Best effort: a lost progress line must never fail the work."""
    table = _TABLE
    try:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(
                sa.update(table)
                .where(table.c.id == job_id, table.c.status == JobStatus.running.value)
                .values(heartbeat_at=utcnow(), **values)
            )
    except SQLAlchemyError:
        log.warning("job %s: progress not recorded", job_id, exc_info=True)


def upload_folder(app: Flask, job_id: uuid.UUID) -> Path:
    """Where a job's upload is kept until the job finishes (the instance folder of the server that took it)."""
    return Path(app.instance_path) / "job-uploads" / str(job_id)


def _upload_of(app: Flask, job_id: uuid.UUID) -> Path | None:
    folder = upload_folder(app, job_id)
    found = sorted(folder.glob("*")) if folder.is_dir() else []
    return found[0] if found else None


def _safe_name(name: str) -> str:
    """The file's own name, without any folder part or control character (it is shown, never trusted)."""
    base = re.sub(r"[\x00-\x1f/\\]", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return base[:120] or "upload"


def submit(
    session: DbSession,
    owner: User,
    kind: str,
    params: dict[str, Any],
    *,
    upload: bytes | None = None,
    upload_name: str = "upload",
    wait: float | None = None,
) -> tuple[BackgroundJob, JobOutput | Problem | None]:
    """Record a job and start it as ``JOBS_MODE`` says; the job, and its outcome when it already finished
    (inline, or a thread that finished within ``wait`` seconds, by default ``JOBS_WAIT_SECONDS``)."""
    if kind not in _KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    job = BackgroundJob(kind=kind, owner_id=owner.id, status=JobStatus.queued, params=params, done_steps=0)
    session.add(job)
    session.flush()
    if upload is not None:
        folder = upload_folder(app, job.id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / _safe_name(upload_name)).write_bytes(upload)
    session.commit()
    mode = app.config.get("JOBS_MODE", "thread")
    if mode == "defer":
        return job, None
    if mode == "inline":
        outcome = run_job(app, job.id)
        session.refresh(job)
        return job, outcome
    holder: dict[str, JobOutput | Problem | None] = {}
    thread = threading.Thread(
        target=lambda: holder.update(outcome=run_job(app, job.id)), name=f"job-{kind}-{job.id}", daemon=True
    )
    thread.start()
    thread.join(float(app.config.get("JOBS_WAIT_SECONDS", 0)) if wait is None else wait)
    if thread.is_alive():
        return job, None
    session.refresh(job)
    return job, holder.get("outcome")


def wait_for_running(timeout: float = 120.0) -> None:
    """Wait for this process's job threads to end: a script or bench calls it before it drops its database, so that
    no job (a report recount a page started) is cut off holding a connection."""
    for thread in threading.enumerate():
        if thread.name.startswith("job-") and thread is not threading.current_thread():
            thread.join(timeout)


def _claim(app: Flask, job_id: uuid.UUID) -> bool:
    """Take a queued job (only one runner can: the update names the status it expects)."""
    table = _TABLE
    now = utcnow()
    with app.app_context(), db.engine.begin() as conn:
        taken = conn.execute(
            sa.update(table)
            .where(table.c.id == job_id, table.c.status == JobStatus.queued.value)
            .values(status=JobStatus.running.value, started_at=now, heartbeat_at=now, stage=None)
        )
        return cast(CursorResult[Any], taken).rowcount == 1


class _Heartbeat:
    """Touches the job's heartbeat every few seconds from its own thread, so a long single step (reading a
    large workbook) does not look like a dead process."""

    def __init__(self, app: Flask, job_id: uuid.UUID, every: float) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, args=(app, job_id, every), daemon=True)

    def _beat(self, app: Flask, job_id: uuid.UUID, every: float) -> None:
        while not self.stop.wait(every):
            _touch(app, job_id)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        # Not waited for long: on SQLite a touch may be queued behind the work's own write lock until the work
        # commits or rolls back, which happens after this; a late touch changes only a row still running.
        self.thread.join(timeout=1.0)


def run_job(app: Flask, job_id: uuid.UUID, hooks: Iterable[Callable[[JobContext], None]] = ()) -> Any:
    """Run a queued job to its end in this thread: the work's writes and the "done" row commit together;
    a problem or a crash rolls the work back and records the failure. Returns the output or the problem."""
    if not _claim(app, job_id):
        return None
    upload = _upload_of(app, job_id)
    with app.app_context():
        session = db.session
        job = session.get(BackgroundJob, job_id)
        assert job is not None
        owner = session.get(User, job.owner_id)
        assert owner is not None
        context = JobContext(
            app=app, job_id=job.id, kind=job.kind, params=dict(job.params or {}), owner=owner, session=session,
            upload=upload, on_progress=list(hooks),
        )  # fmt: skip
        beat = float(app.config.get("JOBS_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS))
        outcome: JobOutput | Problem
        try:
            with _Heartbeat(app, job_id, beat):
                outcome = _KINDS[job.kind](context)
                job = session.get(BackgroundJob, job_id)
                assert job is not None
                _finish(app, job, outcome)
                session.commit()
        except Problem as problem:
            session.rollback()
            outcome = problem
            _fail(job_id, problem)
        except Exception:
            log.exception("job %s (%s) failed", job_id, context.kind)
            session.rollback()
            outcome = job_crashed(job=str(job_id))
            _fail(job_id, outcome)
        finally:
            shutil.rmtree(upload_folder(app, job_id), ignore_errors=True)
            session.remove()
        return outcome


def _finish(app: Flask, job: BackgroundJob, output: JobOutput) -> None:
    """Mark the job done with its result (and its file kept in the shared store, which every server reads)."""
    if output.file_bytes is not None:
        digest = hashlib.sha256(output.file_bytes).hexdigest()
        store = app.extensions["sync"].blobs
        if not store.has(digest):
            store.append(
                digest, store.received(digest), io.BytesIO(output.file_bytes), len(output.file_bytes)
            )
            store.complete(digest)
        job.result_file = f"blob:{digest}"
        output.result.setdefault("file_name", output.file_name or "result")
    job.status = JobStatus.done
    job.result = output.result
    job.stage = None
    if job.total_steps is not None:
        job.done_steps = job.total_steps
    job.finished_at = job.heartbeat_at = utcnow()


def _fail(job_id: uuid.UUID, problem: Problem) -> None:
    """Record the failure in a transaction of its own."""
    session = db.session
    job = session.get(BackgroundJob, job_id)
    if job is None:
        return
    job.status = JobStatus.failed
    job.error = problem.to_dict()
    job.finished_at = job.heartbeat_at = utcnow()
    session.commit()


def check_stale(
    session: DbSession, job: BackgroundJob, *, stale_seconds: float | None = None
) -> BackgroundJob:
    """A running job whose heartbeat stopped, or a queued one nobody took, is marked failed (retryable): the
    process that ran or would have run it is gone. Returns the job as it now stands."""
    limit = timedelta(
        seconds=stale_seconds
        if stale_seconds is not None
        else float(current_app.config.get("JOBS_STALE_SECONDS", STALE_SECONDS))
    )
    if job.status not in (JobStatus.queued, JobStatus.running):
        return job
    last: datetime = job.heartbeat_at or job.started_at or job.created_at
    if utcnow() - last <= limit:
        return job
    table = _TABLE
    # Conditional on the heartbeat still being the stale one: a live runner's touch meanwhile wins.
    marked = session.execute(
        sa.update(table)
        .where(table.c.id == job.id, table.c.status == job.status.value)
        .where(
            table.c.heartbeat_at == job.heartbeat_at if job.heartbeat_at else table.c.heartbeat_at.is_(None)
        )
        .values(status=JobStatus.failed.value, error=job_interrupted().to_dict(), finished_at=utcnow())
    )
    session.commit()
    if cast(CursorResult[Any], marked).rowcount:
        log.warning("job %s: no heartbeat since %s, marked failed", job.id, last.isoformat())
    session.refresh(job)
    return job


def visible_job(session: DbSession, user: User, job_id: uuid.UUID) -> BackgroundJob | None:
    """The job if ``user`` owns it or is an admin (anyone else is told it does not exist), checked for
    staleness."""
    job = session.get(BackgroundJob, job_id)
    if job is None or (job.owner_id != user.id and user.role != Role.admin):
        return None
    return check_stale(session, job)


def recent_jobs(session: DbSession, user: User, limit: int = 30) -> list[BackgroundJob]:
    """The user's latest jobs, newest first, each checked for staleness."""
    rows = session.scalars(
        sa.select(BackgroundJob)
        .where(BackgroundJob.owner_id == user.id)
        .order_by(BackgroundJob.created_at.desc())
        .limit(limit)
    ).all()
    return [check_stale(session, job) for job in rows]


def job_view(job: BackgroundJob, lang: str) -> dict[str, Any]:
    """The JSON the progress page polls: status, steps, stage, percent, and the problem in ``lang``."""
    percent = None
    if job.total_steps:
        percent = min(100, round(100 * job.done_steps / job.total_steps))
    if job.status is JobStatus.done:
        percent = 100
    error = None
    if job.error:
        messages = job.error.get("messages") or {}
        error = messages.get("en" if lang == "en" else "zh-CN") or job.error.get("message")
    return {
        "id": str(job.id),
        "kind": job.kind,
        "status": job.status.value,
        "done_steps": job.done_steps,
        "total_steps": job.total_steps,
        "percent": percent,
        "stage": job.stage,
        "finished": job.status in (JobStatus.done, JobStatus.failed),
        "error": error,
        "retryable": bool(job.error and str(job.error.get("code", "")).startswith("5")),
    }

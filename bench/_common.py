"""Shared set-up for the benchmarks: a migrated, demo-seeded database on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from server import create_app
from server.extensions import db

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parent.parent


def bench_config(database_url: str, instance: Path) -> dict[str, object]:
    """The configuration of a benchmark app (cheap password hashing: seeding is not what is measured)."""
    return {"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "SECRET_KEY": "bench",
            "PASSWORD_HASH_PROFILE": "cheapest", "MEDIA_ROOT": str(instance / "media"),
            "LOG_REQUESTS": False}  # fmt: skip


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """A new empty database URL of ``kind`` ("sqlite" or "postgresql"), removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    base = os.environ.get("BENCH_DATABASE_URL") or PG_DEFAULT
    # A shared server may reserve name prefixes per user: BENCH_DATABASE_PREFIX chooses this run's.
    name = f"{os.environ.get('BENCH_DATABASE_PREFIX') or 'bench'}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seeded_app(database_url: str, instance: Path) -> Flask:
    """An app on ``database_url`` migrated to head and loaded with the demo county."""
    import flask_migrate

    from server.demo.county import seed_demo

    app = create_app(bench_config(database_url, instance))
    with app.app_context():
        flask_migrate.upgrade()
        seed_demo(db.session)
        db.session.commit()
    return app


def postgres_available() -> bool:
    """Whether the local PostgreSQL answers."""
    try:
        engine = sa.create_engine(os.environ.get("BENCH_DATABASE_URL") or PG_DEFAULT)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


def serve(database_url: str, instance: Path, *, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn as deployed (deploy/gunicorn.conf.py) on ``database_url``; returns the process group and URL.

    The environment is passed on, so PWA_DIST or QR_SIGNING_KEY_FILE set by the caller apply."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "SECRET_KEY": "scripts",
           "MEDIA_ROOT": str(instance / "media"), "HOST": "127.0.0.1", "PORT": str(port),
           "WEB_CONCURRENCY": str(workers), "PYTHONPATH": str(ROOT), "LOG_LEVEL": "warning"}  # fmt: skip
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", str(ROOT / "deploy/gunicorn.conf.py"),
         "--access-logfile", "/dev/null", "server:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise RuntimeError("gunicorn did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started by serve(), workers included."""
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)

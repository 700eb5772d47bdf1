"""deploy/backup.sh and deploy/restore.sh: a backup restores to the same data, and damage is detected."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.models import Enterprise

ROOT = Path(__file__).resolve().parents[2]


def _count(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(Enterprise)).scalar_one())
    finally:
        engine.dispose()


def test_backup_then_restore_gives_the_same_data(app: Flask, tmp_path: Path) -> None:
    url = app.config["DATABASE_URL"]
    if not url.startswith("sqlite"):
        pytest.skip("the SQLite path of the scripts; pg_dump/pg_restore are PostgreSQL's own tools")
    media = Path(app.config["MEDIA_ROOT"])
    (media / "ab").mkdir(parents=True, exist_ok=True)
    (media / "ab" / "photo.jpg").write_bytes(b"\xff\xd8 evidence")
    with app.app_context():
        expected = db.session.scalar(sa.select(sa.func.count()).select_from(Enterprise))
    env = {**os.environ, "DATABASE_URL": url, "INSTANCE_PATH": app.config["INSTANCE_PATH"],
           "MEDIA_ROOT": str(media)}  # fmt: skip
    Path(app.config["INSTANCE_PATH"], "secret_key").write_text("s3cret\n")
    made = subprocess.run(
        ["bash", str(ROOT / "deploy/backup.sh"), str(tmp_path / "backups")],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    backup = Path(made.stdout.strip().splitlines()[-1])
    assert (backup / "SHA256SUMS").exists()

    target = tmp_path / "restored"
    restored_url = f"sqlite:///{target / 'app.db'}"
    env2 = {**os.environ, "DATABASE_URL": restored_url, "INSTANCE_PATH": str(target),
            "MEDIA_ROOT": str(target / "media")}  # fmt: skip
    subprocess.run(
        ["bash", str(ROOT / "deploy/restore.sh"), str(backup)], env=env2, check=True, capture_output=True
    )
    assert _count(restored_url) == expected
    assert (target / "media" / "ab" / "photo.jpg").read_bytes() == b"\xff\xd8 evidence"
    assert (target / "secret_key").read_text() == "s3cret\n"

    (backup / "media" / "ab" / "photo.jpg").write_bytes(b"tampered")
    env3 = {
        **env2,
        "INSTANCE_PATH": str(tmp_path / "again"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'again.db'}",
    }
    damaged = subprocess.run(
        ["bash", str(ROOT / "deploy/restore.sh"), str(backup)], env=env3, capture_output=True, text=True
    )
    assert damaged.returncode != 0
    assert "damaged" in damaged.stderr

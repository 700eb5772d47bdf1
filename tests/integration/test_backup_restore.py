"""deploy/backup.sh and deploy/restore.sh: a backup restores to the same data, every recorded photo has its file
(from the local folder or the S3 bucket), keys and the environment file are kept, everything is owner-only,
old backups are pruned, and damage or a lost photo is detected."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.models import Blob, Enterprise
from tests.conftest import StoreCase

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


def _count(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(Enterprise)).scalar_one())
    finally:
        engine.dispose()


def _script(name: str, arg: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(ROOT / "deploy" / name), str(arg)], env=env, capture_output=True, text=True,
                          cwd=ROOT, check=False)  # fmt: skip


def test_backup_then_restore_gives_the_same_data_and_every_photo(
    app: Flask, demo_media: Path, tmp_path: Path, store_case: StoreCase
) -> None:
    url = app.config["DATABASE_URL"]
    if not url.startswith("sqlite"):
        pytest.skip("the SQLite path of the scripts; pg_dump/pg_restore are PostgreSQL's own tools")
    with app.app_context():
        expected = db.session.scalar(sa.select(sa.func.count()).select_from(Enterprise))
        shas = set(db.session.scalars(sa.select(Blob.sha256)))
    assert shas, "the demo records photos"
    qr_key = tmp_path / "qr-signing-key.pem"
    qr_key.write_text("-----BEGIN PRIVATE KEY-----\nkept\n-----END PRIVATE KEY-----\n")
    env_file = tmp_path / "field-inspection.env"
    env_file.write_text("SECRET_KEY=from-env\n")
    Path(app.config["INSTANCE_PATH"], "secret_key").write_text("s3cret\n")
    base = {**os.environ, "FLASK": FLASK, "FLASK_APP": "server:create_app", "PYTHONPATH": str(ROOT), "QR_SIGNING_KEY_FILE": str(qr_key),
            "SECRET_KEY": "test-secret", "PASSWORD_HASH_PROFILE": "cheapest"}  # fmt: skip
    env = {**base, **store_case.settings, "DATABASE_URL": url, "INSTANCE_PATH": app.config["INSTANCE_PATH"],
           "MEDIA_ROOT": str(demo_media), "ENV_FILE": str(env_file), "KEEP_BACKUPS": "2"}  # fmt: skip
    if store_case.kind == "s3":
        # The server's photos live in the bucket: put the demo's there first.
        moved = subprocess.run([FLASK, "photo-store", "import", str(demo_media / "blobs")], env=env, cwd=ROOT,
                               capture_output=True, text=True, check=False)  # fmt: skip
        assert moved.returncode == 0, moved.stderr + moved.stdout
        env["MEDIA_ROOT"] = str(tmp_path / "no-local-media")

    made = _script("backup.sh", tmp_path / "backups", env)
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip().splitlines()[-1])
    assert (backup / "SHA256SUMS").exists()
    stored = {p.name for p in (backup / "media" / "blobs").rglob("*") if p.is_file()}
    assert stored == shas, "every recorded photo, and only those, is in the backup"
    for path in [backup, *backup.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}: owner only"
    assert (backup / "field-inspection.env").read_text() == "SECRET_KEY=from-env\n"
    assert (backup / "qr-signing-key.pem").read_bytes() == qr_key.read_bytes()

    # Retention: two backups kept; the later ones link the photos the earlier one holds.
    for _ in range(2):
        assert _script("backup.sh", tmp_path / "backups", env).returncode == 0
    kept = sorted((tmp_path / "backups").iterdir())
    assert len(kept) == 2 and backup not in kept
    backup = kept[-1]
    some = next(p for p in (backup / "media" / "blobs").rglob("*") if p.is_file())
    assert some.stat().st_nlink >= 2, "unchanged photos are hard links, not copies"

    target = tmp_path / "restored"
    restored_url = f"sqlite:///{target / 'app.db'}"
    fresh = store_case.fresh()
    store_settings = dict(store_case.settings)
    if store_case.kind == "s3":
        store_settings["S3_PREFIX"] = fresh.prefix
    env2 = {**base, **store_settings, "DATABASE_URL": restored_url, "INSTANCE_PATH": str(target),
            "MEDIA_ROOT": str(target / "media"), "QR_SIGNING_KEY_FILE": str(target / "qr.pem")}  # fmt: skip
    restored = _script("restore.sh", backup, env2)
    assert restored.returncode == 0, restored.stderr + restored.stdout
    assert _count(restored_url) == expected
    assert (target / "secret_key").read_text() == "s3cret\n"
    assert (target / "qr.pem").read_bytes() == qr_key.read_bytes()
    checked = subprocess.run([FLASK, "photo-store", "check"], env=env2, cwd=ROOT, capture_output=True, text=True,
                             check=False)  # fmt: skip
    assert checked.returncode == 0 and "0 recorded photos lack their bytes" in checked.stdout, checked.stdout

    some.chmod(0o600)
    some.unlink()
    some.write_bytes(b"tampered")
    env3 = {
        **env2,
        "INSTANCE_PATH": str(tmp_path / "again"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'again.db'}",
    }
    damaged = _script("restore.sh", backup, env3)
    assert damaged.returncode != 0
    assert "damaged" in damaged.stderr


def test_a_backup_with_a_photo_missing_from_the_store_fails_loudly(app: Flask, demo_media: Path, tmp_path: Path,
                                                                    qr_key_file: str) -> None:  # fmt: skip
    url = app.config["DATABASE_URL"]
    if not url.startswith("sqlite"):
        pytest.skip("the SQLite path of the scripts")
    with app.app_context():
        lost = db.session.scalars(sa.select(Blob.sha256).limit(1)).one()
    (demo_media / "blobs" / lost[:2] / lost[2:4] / lost).unlink()
    env = {**os.environ, "FLASK": FLASK, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "SECRET_KEY": "test-secret",
           "INSTANCE_PATH": app.config["INSTANCE_PATH"], "MEDIA_ROOT": str(demo_media),
           "QR_SIGNING_KEY_FILE": qr_key_file, "ENV_FILE": str(tmp_path / "none")}  # fmt: skip
    made = _script("backup.sh", tmp_path / "backups", env)
    assert made.returncode == 1
    assert f"missing: {lost}" in made.stderr and "backup incomplete" in made.stderr

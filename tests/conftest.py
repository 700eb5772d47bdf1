"""Shared fixtures: an app on a freshly migrated, demo-seeded database per test.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (CI sets it). Each test gets its own copy
of a template database made once per session (a file copy on SQLite, CREATE DATABASE … TEMPLATE on
PostgreSQL), so tests never see each other's writes and the schema is the migrated one.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server import create_app
from server.extensions import db
from tests.seaweed import Seaweed, start_seaweed

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
DEMO_PASSWORD = "jiancha-2026"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/integration talks to a database: mark it so `-m integration` selects it."""
    for item in items:
        if "tests/integration/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.integration)


def app_config(database_url: str, instance: Path, **extra: Any) -> dict[str, Any]:
    """The configuration every test app uses."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(instance),
        "MEDIA_ROOT": str(instance / "media"),
        "SECRET_KEY": "test-secret",
        "PUBLIC_BASE_URL": "https://jc.example.cn",
        "PASSWORD_HASH_PROFILE": "cheapest",
        # Background jobs run inside the request in tests (tests/integration/test_jobs.py runs them in threads).
        "JOBS_MODE": "inline",
        **extra,
    }


def dispose(app: Flask) -> None:
    """Close every pooled connection of the app (no leaked connections between tests)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


class Databases:
    """Makes empty databases and copies of a template, on SQLite or PostgreSQL."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pg = TEST_DATABASE_URL.startswith("postgresql")
        self.prefix = f"t{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []

    def _admin(self) -> sa.Engine:
        return sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")

    def _pg_url(self, name: str) -> str:
        return sa.make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)

    def empty(self, name: str) -> str:
        """A new, empty database."""
        if not self.pg:
            return f"sqlite:///{self.root / (name + '.db')}"
        full = f"{self.prefix}_{name}"
        engine = self._admin()
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{full}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{full}"'))
        engine.dispose()
        self.created.append(full)
        return self._pg_url(full)

    def copy(self, template_url: str, name: str) -> str:
        """A new database with the template's content."""
        if not self.pg:
            source = Path(sa.make_url(template_url).database or "")
            target = self.root / f"{name}.db"
            shutil.copyfile(source, target)
            return f"sqlite:///{target}"
        template = sa.make_url(template_url).database
        full = f"{self.prefix}_{name}"
        engine = self._admin()
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{full}" TEMPLATE "{template}"'))
        engine.dispose()
        self.created.append(full)
        return self._pg_url(full)

    def drop(self, url: str) -> None:
        """Remove a database made here."""
        if not self.pg:
            path = Path(sa.make_url(url).database or "")
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            return
        name = sa.make_url(url).database
        engine = self._admin()
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        """Remove every database still left."""
        for name in list(self.created):
            self.drop(self._pg_url(name))


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """The session's database maker; drops what it made at the end."""
    maker = Databases(tmp_path_factory.mktemp("db"))
    yield maker
    maker.drop_all()


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    """One real SeaweedFS (S3 gateway) for the session; tests take a bucket of their own from it."""
    server = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    yield server
    server.stop()


class StoreCase:
    """A blob store of one backend for one test, and what it holds underneath (files or object keys)."""

    def __init__(self, kind: str, tmp_path: Path, seaweed: Seaweed | None) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.seaweed = seaweed
        self.settings: dict[str, Any] = (
            seaweed.settings()
            if seaweed is not None
            else {"PHOTO_STORE": "local", "MEDIA_ROOT": str(tmp_path)}
        )
        self.store = self.fresh()

    def fresh(self) -> Any:
        """Another empty store of the same backend (a new folder, or a new prefix in the bucket)."""
        from server.media.store import build_blob_store

        settings: dict[str, Any] = dict(self.settings)
        if self.kind == "local":
            settings["MEDIA_ROOT"] = str(Path(tempfile.mkdtemp(dir=self.tmp_path)))
        else:
            settings["S3_PREFIX"] = f"p{uuid.uuid4().hex[:12]}/"
        store = build_blob_store(settings)
        if self.kind == "s3":
            store.create_bucket()
        return store

    def lose_blob(self, digest: str) -> None:
        """Remove a complete blob's bytes behind the store's back (a restore from an old backup, say)."""
        if self.kind == "local":
            self.store.path(digest).unlink()
        else:
            self.store._client().delete_object(Bucket=self.store.bucket, Key=self.store._key(digest))

    def leftovers(self, store: Any = None) -> list[str]:
        """Everything the store keeps: files under its folder, or its keys in the bucket."""
        store = store or self.store
        if self.kind == "local":
            names = [p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file()]
            # Named as the bucket names them: complete blobs sit at the top of the local folder.
            return sorted(n if n.startswith(("thumbs/", ".partial/")) else f"blobs/{n}" for n in names)
        client = store._client()
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix=store.prefix)
        return sorted(item["Key"][len(store.prefix) :] for page in pages for item in page.get("Contents", []))


@pytest.fixture(params=["local", "s3"])
def store_case(request: pytest.FixtureRequest, tmp_path: Path) -> StoreCase:
    """The test once with the local folder store and once with the S3 store on a real SeaweedFS."""
    seaweed = request.getfixturevalue("seaweed") if request.param == "s3" else None
    return StoreCase(request.param, tmp_path, seaweed)


@pytest.fixture(scope="session")
def qr_key_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One QR signing key for the whole session (made on first use by the app)."""
    return str(tmp_path_factory.mktemp("keys") / "qr-signing-key.pem")


@pytest.fixture(scope="session")
def migrated_template(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory, qr_key_file: str
) -> str:
    """A database migrated to head and holding no data."""
    import flask_migrate

    url = databases.empty("migrated")
    app = create_app(app_config(url, tmp_path_factory.mktemp("migrated"), QR_SIGNING_KEY_FILE=qr_key_file))
    with app.app_context():
        flask_migrate.upgrade()
    dispose(app)
    _checkpoint(databases, url)
    return url


@pytest.fixture(scope="session")
def seeded_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The instance folder the demo county is seeded in: its media hold the demo's photos."""
    return tmp_path_factory.mktemp("seeded")


@pytest.fixture(scope="session")
def seeded_template(
    databases: Databases, migrated_template: str, seeded_instance: Path, qr_key_file: str
) -> str:
    """The migrated database loaded with the demo county, copied for each test."""
    from server.demo.county import seed_demo

    url = databases.copy(migrated_template, "seeded")
    app = create_app(app_config(url, seeded_instance, QR_SIGNING_KEY_FILE=qr_key_file))
    with app.app_context():
        seed_demo(db.session)
        db.session.commit()
    dispose(app)
    _checkpoint(databases, url)
    return url


def link_media(source: Path, target: Path) -> None:
    """Give a copy of the seeded database the photo files it names, as hard links where possible.

    Linking is safe: a stored blob is never written again, and thumbnails are replaced by renaming a new
    file over them, so no test can change the seeded files through its links.
    """

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:  # another file system
            shutil.copy2(src, dst)

    if source.is_dir():
        shutil.copytree(source, target, copy_function=link, dirs_exist_ok=True)


def _checkpoint(databases: Databases, url: str) -> None:
    """Fold SQLite's WAL into the main file, so that copying the file copies everything."""
    if databases.pg:
        return
    conn = sqlite3.connect(sa.make_url(url).database or "")
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


@pytest.fixture
def database_url(databases: Databases, seeded_template: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """This test's own copy of the seeded database."""
    url = databases.copy(seeded_template, f"w{uuid.uuid4().hex[:10]}")
    yield url
    databases.drop(url)


@pytest.fixture
def app(database_url: str, tmp_path: Path, qr_key_file: str) -> Iterator[Flask]:
    """An app on this test's seeded database (use ``with app.app_context():`` for direct DB work, so that
    each request of the test client gets its own context, as in production)."""
    application = create_app(app_config(database_url, tmp_path / "instance", QR_SIGNING_KEY_FILE=qr_key_file))
    yield application
    dispose(application)


@pytest.fixture
def demo_media(app: Flask, seeded_instance: Path) -> Path:
    """The demo's photo files in this test's media folder, for a test that reads them (most do not, and
    linking a few hundred files into every test's folder would cost more than the rest of its set-up)."""
    target = Path(app.config["MEDIA_ROOT"])
    link_media(seeded_instance / "media", target)
    return target


@pytest.fixture
def empty_app(
    databases: Databases, migrated_template: str, tmp_path: Path, qr_key_file: str
) -> Iterator[Flask]:
    """An app on a migrated database of its own with no data at all (tests build what they need)."""
    url = databases.copy(migrated_template, f"e{uuid.uuid4().hex[:10]}")
    application = create_app(app_config(url, tmp_path / "instance", QR_SIGNING_KEY_FILE=qr_key_file))
    yield application
    dispose(application)
    databases.drop(url)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """Run the test inside an application context (of whichever ``app`` the module uses)."""
    with app.app_context():
        yield


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


def add_county_regions(session: Any) -> tuple[Any, Any, Any]:
    """吕梁市 ▸ 兴县 ▸ 兴县经济技术开发区, for tests that start from an empty database."""
    from server.models import Region, RegionLevel

    city = Region(code="141100", name="吕梁市", level=RegionLevel.city, authority_name="吕梁市应急管理局")
    county = Region(
        code="141123", name="兴县", level=RegionLevel.county, parent=city, authority_name="兴县应急管理局"
    )
    zone = Region(code="141123-01", name="兴县经济技术开发区", level=RegionLevel.zone, parent=county)
    session.add_all([city, county, zone])
    return city, county, zone


def login(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in through the JSON API and return the session's CSRF token."""
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["csrf_token"])

"""Photo uploads over HTTP: missing, HEAD, chunked resumable PUT, verification, refusal, idempotence.

Runs the blob routes on a minimal app of their own (a blueprint at /api/sync, a test backend with a fixed
bearer token, a database made from the models — SQLite, or PostgreSQL when TEST_DATABASE_URL is set —,
the real store — a local folder, and S3 on a real SeaweedFS — and image ingest).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import io
import os
import struct
import threading
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, request
from flask.testing import FlaskClient
from flask_smorest import Blueprint
from PIL import ExifTags, Image
from sqlalchemy.orm import scoped_session, sessionmaker

from server import errors
from server.extensions import ProblemApi
from server.media.ingest import accepted_blobs, facts_for_photo, insert_blob_once, on_blob_complete
from server.models import Base, Blob, ChangeCounter, Photo
from sync import blobs as blobs_module
from sync import problems
from sync.backend import Limits, Principal, SyncBackend
from sync.blob_views import register_blob_routes
from sync.blobs import BlobStore, FilesystemBlobStore
from tests.conftest import Databases, StoreCase

TOKEN = "device-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_BYTES = 2 * 1024 * 1024


@dataclass
class Harness:
    """The app under test and what a test looks at behind it."""

    app: Flask
    client: FlaskClient
    store: BlobStore
    session: scoped_session[Any]
    case: StoreCase
    backend: SyncBackend

    def leftovers(self) -> list[str]:
        """What the store keeps (files or object keys), lock files aside."""
        return [name for name in self.case.leftovers() if not name.endswith(".lock")]

    def read(self, digest: str) -> bytes:
        with self.store.open(digest) as handle:
            return handle.read()


@pytest.fixture
def harness(databases: Databases, store_case: StoreCase) -> Iterator[Harness]:
    """A minimal app with the blob routes on /api/sync and a database of its own."""
    url = databases.empty(f"b{uuid.uuid4().hex[:10]}")
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    session = scoped_session(sessionmaker(engine))
    session.add(ChangeCounter(id=1, value=0))  # in case the sync engine's numbering is installed
    session.commit()
    store = store_case.store

    def authenticate() -> Principal:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            raise problems.unauthenticated()
        return Principal(device_id=uuid.UUID(int=7), user_id=1, fingerprint="test")

    backend = SyncBackend(
        authenticate=authenticate,
        session=session,
        registry=None,  # type: ignore[arg-type]  # not used by the blob routes
        ledger=None,  # type: ignore[arg-type]
        blobs=store,
        cursor_secret=b"test",
        on_blob_complete=functools.partial(on_blob_complete, store=store, max_pixels=50_000_000),
        accepted_blobs=accepted_blobs,
        limits=Limits(max_blob_bytes=MAX_BYTES),
    )
    app = Flask(__name__)
    app.config.update(
        TESTING=True,
        API_TITLE="test",
        API_VERSION="1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = ProblemApi(app)
    blp = Blueprint("sync", __name__, url_prefix="/api/sync")
    register_blob_routes(blp, lambda: backend)
    api.register_blueprint(blp)
    errors.init_app(app)
    app.teardown_appcontext(lambda _exc: session.remove())
    yield Harness(app, app.test_client(), store, session, store_case, backend)
    session.remove()
    engine.dispose()
    databases.drop(url)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def jpeg(seed: int = 1, size: tuple[int, int] = (640, 480)) -> bytes:
    """A photo with EXIF time, place and orientation; ``seed`` makes different photos."""
    img = Image.effect_noise(size, 40 + seed).convert("RGB")
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:07:01 09:00:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (38.0, 27.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (111.0, 15.0, 0.0)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def put(
    client: FlaskClient,
    digest: str,
    chunk: bytes,
    offset: int,
    total: int | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    sent = {**AUTH, "Upload-Offset": str(offset), **(headers or {})}
    if total is not None:
        sent["Upload-Length"] = str(total)
    return client.put(
        f"/api/sync/blobs/{digest}",
        data=chunk,
        headers=sent,
        content_type="application/offset+octet-stream",
        **kwargs,
    )


def head(client: FlaskClient, digest: str) -> tuple[int, str | None]:
    response = client.head(f"/api/sync/blobs/{digest}", headers=AUTH)
    assert response.status_code == 200
    assert response.data == b""
    complete = response.headers["Upload-Complete"]
    assert complete in ("?0", "?1")
    return int(response.headers["Upload-Offset"]), complete


def upload(client: FlaskClient, data: bytes, chunks: int = 3) -> Any:
    digest = sha(data)
    step = -(-len(data) // chunks)
    response = None
    for start in range(0, len(data), step):
        response = put(client, digest, data[start : start + step], start, len(data))
        assert response.status_code == 200, response.get_json()
    return response


def nothing_kept(h: Harness, digest: str) -> None:
    assert head(h.client, digest) == (0, "?0")
    assert h.leftovers() == []
    assert h.session.get(Blob, digest) is None
    h.session.remove()


def test_upload_in_three_chunks(harness: Harness) -> None:
    h = harness
    data = jpeg()
    digest = sha(data)
    assert head(h.client, digest) == (0, "?0")
    third = len(data) // 3
    cuts = [(0, third), (third, 2 * third), (2 * third, len(data))]
    for number, (start, end) in enumerate(cuts, 1):
        response = put(h.client, digest, data[start:end], start, len(data))
        assert response.status_code == 200
        body = response.get_json()
        assert body == {"sha256": digest, "received": end, "complete": number == 3}
        assert response.headers["Upload-Offset"] == str(end)
        assert head(h.client, digest) == (end, "?1" if number == 3 else "?0")

    assert h.read(digest) == data
    blob = h.session.get(Blob, digest)
    assert blob is not None
    assert (blob.size, blob.mime, blob.width, blob.height) == (len(data), "image/jpeg", 640, 480)
    assert (blob.exif_orientation, blob.has_thumbnail) == (6, True)
    assert blob.exif_taken_at == datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
    assert (blob.exif_lat, blob.exif_lon) == (pytest.approx(38.45), pytest.approx(111.25))
    with Image.open(io.BytesIO(h.store.read_thumbnail(digest) or b"")) as thumb:
        assert thumb.size == (360, 480)


def test_upload_complete_header_finishes_without_a_length(harness: Harness) -> None:
    h = harness
    data = jpeg(2)
    digest = sha(data)
    assert put(h.client, digest, data[:1000], 0).get_json()["complete"] is False
    response = put(h.client, digest, data[1000:], 1000, headers={"Upload-Complete": "?1"})
    assert response.get_json() == {"sha256": digest, "received": len(data), "complete": True}


def test_resume_after_a_cut(harness: Harness) -> None:
    h = harness
    data = jpeg(3)
    digest = sha(data)
    cut = len(data) // 2 + 123
    # The tablet loses its connection after `cut` bytes of a request announcing the whole file.
    response = h.client.put(
        f"/api/sync/blobs/{digest}",
        input_stream=io.BytesIO(data[:cut]),
        headers={**AUTH, "Upload-Offset": "0", "Upload-Length": str(len(data))},
        environ_overrides={"CONTENT_LENGTH": str(len(data))},
    )
    assert response.status_code == 400  # nobody reads it: the client is gone
    assert head(h.client, digest) == (cut, "?0")

    response = put(h.client, digest, data[cut:], cut, len(data))
    assert response.get_json() == {"sha256": digest, "received": len(data), "complete": True}
    assert h.read(digest) == data


def test_a_wrong_offset_is_a_conflict_telling_where_to_resume(harness: Harness) -> None:
    h = harness
    data = jpeg(4)
    digest = sha(data)
    put(h.client, digest, data[:5000], 0, len(data))
    for wrong in (0, 4999, 6000):
        response = put(h.client, digest, data[wrong : wrong + 100], wrong, len(data))
        assert response.status_code == 409
        assert response.headers["Upload-Offset"] == "5000"
        body = response.get_json()
        assert body["code"] == "409.40"
        assert body["details"] == {"received": 5000, "offset": wrong}
    assert head(h.client, digest) == (5000, "?0")


def test_corrupted_bytes_are_refused_and_a_clean_upload_then_works(harness: Harness) -> None:
    h = harness
    data = jpeg(5)
    digest = sha(data)
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0x40
    first = put(h.client, digest, bytes(damaged[:3000]), 0, len(data))
    assert first.status_code == 200
    response = put(h.client, digest, bytes(damaged[3000:]), 3000, len(data))
    assert response.status_code == 422
    assert response.get_json()["code"] == "422.40"
    nothing_kept(h, digest)
    missing = h.client.post("/api/sync/blobs/missing", json={"sha256": [digest]}, headers=AUTH)
    assert missing.get_json() == {"missing": [digest]}

    assert upload(h.client, data).get_json()["complete"] is True
    assert h.read(digest) == data


def test_a_file_that_is_not_an_image_is_refused_and_not_kept(harness: Harness) -> None:
    h = harness
    data = "检查记录：这不是照片。\n".encode() * 100
    digest = sha(data)
    response = put(h.client, digest, data, 0, len(data))
    assert response.status_code == 415
    body = response.get_json()
    assert body["code"] == "415.40"
    assert "JPEG" in body["messages"]["en"]
    nothing_kept(h, digest)


def test_a_decompression_bomb_is_refused_and_not_kept(harness: Harness) -> None:
    h = harness
    out = io.BytesIO()
    Image.new("1", (8, 8)).save(out, "PNG")
    raw = bytearray(out.getvalue())
    raw[16:24] = struct.pack(">II", 30_000, 30_000)
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(raw[12:29])))
    data = bytes(raw)
    digest = sha(data)
    response = put(h.client, digest, data, 0, len(data))
    assert response.status_code == 422
    assert response.get_json()["code"] == "422.41"
    nothing_kept(h, digest)


def test_too_large_is_refused_before_reading(harness: Harness) -> None:
    h = harness
    digest = sha(b"x")
    response = put(h.client, digest, b"x" * 10, 0, MAX_BYTES + 1)
    assert (response.status_code, response.get_json()["code"]) == (413, "413.4")
    response = put(h.client, digest, os.urandom(MAX_BYTES + 1), 0)
    assert (response.status_code, response.get_json()["code"]) == (413, "413.4")
    assert head(h.client, digest) == (0, "?0")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Upload-Offset": "-1"},
        {"Upload-Offset": "ten"},
        {"Upload-Offset": "0", "Upload-Length": "1.5"},
        {"Upload-Offset": "0", "Upload-Complete": "yes"},
        {"Upload-Offset": "0", "Upload-Length": "3"},  # shorter than the chunk
    ],
)
def test_bad_upload_headers(harness: Harness, headers: dict[str, str]) -> None:
    response = harness.client.put(
        f"/api/sync/blobs/{sha(b'data')}", data=b"data", headers={**AUTH, **headers}
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "400.2"


@pytest.mark.parametrize("bad", ["A" * 64, "a" * 63, "..%2F..%2Fsecret" + "a" * 48, "a" * 64 + ".jpg"])
def test_bad_hashes_in_the_path(harness: Harness, bad: str) -> None:
    h = harness
    assert h.client.put(
        f"/api/sync/blobs/{bad}", data=b"x", headers={**AUTH, "Upload-Offset": "0"}
    ).status_code in (
        400,
        404,
    )
    assert h.client.head(f"/api/sync/blobs/{bad}", headers=AUTH).status_code in (400, 404)
    assert h.leftovers() == []


def test_two_devices_uploading_the_same_photo_interleaved_make_one_blob(harness: Harness) -> None:
    h = harness
    data = jpeg(6)
    digest = sha(data)
    a, b = h.app.test_client(), h.app.test_client()
    step = len(data) // 4
    assert put(a, digest, data[:step], 0, len(data)).status_code == 200
    # Device B asks where to resume and continues A's upload (same bytes, same hash).
    offset, _ = head(b, digest)
    assert offset == step
    assert put(b, digest, data[step : 2 * step], step, len(data)).status_code == 200
    # Device A, unaware, sends its second chunk: told where to resume instead.
    conflict = put(a, digest, data[step : 2 * step], step, len(data))
    assert (conflict.status_code, conflict.headers["Upload-Offset"]) == (409, str(2 * step))
    assert put(a, digest, data[2 * step :], 2 * step, len(data)).get_json()["complete"] is True
    stored = h.store.path(digest).stat() if isinstance(h.store, FilesystemBlobStore) else None

    # B finishes its own plan later: answered complete, nothing rewritten.
    late = put(b, digest, data[2 * step :], 2 * step, len(data))
    assert late.get_json() == {"sha256": digest, "received": len(data), "complete": True}
    again = put(b, digest, b"", 0, len(data))
    assert again.get_json()["complete"] is True
    if isinstance(h.store, FilesystemBlobStore):
        assert stored is not None and h.store.path(digest).stat().st_ino == stored.st_ino
    assert h.read(digest) == data
    assert h.session.scalar(sa.select(sa.func.count()).select_from(Blob)) == 1
    assert [n for n in h.leftovers() if not n.startswith("thumbs/")] == [
        f"blobs/{digest[:2]}/{digest[2:4]}/{digest}"
    ]


def test_two_devices_uploading_the_same_photo_at_the_same_moment(harness: Harness) -> None:
    h = harness
    data = jpeg(11, size=(1200, 900))
    digest = sha(data)
    start = threading.Barrier(3)
    replies: list[Any] = []

    def device() -> None:
        client = h.app.test_client()
        start.wait()
        replies.append(put(client, digest, data, 0, len(data)))

    threads = [threading.Thread(target=device) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(reply.status_code for reply in replies)
    assert len(statuses) == 3 and statuses[0] == 200 and set(statuses) <= {200, 409}, [
        r.get_json() for r in replies
    ]
    for reply in replies:
        # A loser is told the server holds every byte: its HEAD then finds the photo complete.
        assert reply.headers["Upload-Offset"] == str(len(data))
    assert head(h.client, digest) == (len(data), "?1")
    assert h.read(digest) == data
    assert h.session.scalar(sa.select(sa.func.count()).select_from(Blob)) == 1


def test_missing_before_and_after(harness: Harness) -> None:
    h = harness
    first, second = jpeg(7), jpeg(8)
    hashes = [sha(first), sha(second)]
    body = {"sha256": [*hashes, hashes[0]]}
    response = h.client.post("/api/sync/blobs/missing", json=body, headers=AUTH)
    assert response.get_json() == {"missing": hashes}

    put(h.client, hashes[1], second[:100], 0, len(second))  # started is not held
    upload(h.client, first)
    response = h.client.post("/api/sync/blobs/missing", json=body, headers=AUTH)
    assert response.get_json() == {"missing": [hashes[1]]}

    bad = h.client.post("/api/sync/blobs/missing", json={"sha256": ["../x"]}, headers=AUTH)
    assert (bad.status_code, bad.get_json()["code"]) == (400, "400.2")


def test_every_route_needs_the_device_token(harness: Harness) -> None:
    h = harness
    digest = sha(b"x")
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        missing = h.client.post("/api/sync/blobs/missing", json={"sha256": [digest]}, headers=headers)
        assert (missing.status_code, missing.get_json()["code"]) == (401, "401.1")
        assert h.client.head(f"/api/sync/blobs/{digest}", headers=headers).status_code == 401
        upload_response = h.client.put(
            f"/api/sync/blobs/{digest}", data=b"x", headers={**headers, "Upload-Offset": "0"}
        )
        assert (upload_response.status_code, upload_response.get_json()["code"]) == (401, "401.1")
    assert h.leftovers() == []


def test_a_photo_recorded_before_its_bytes_gets_their_facts(harness: Harness) -> None:
    h = harness
    data = jpeg(9)
    digest = sha(data)
    photo_id = uuid.uuid4()
    h.session.add(
        Photo(id=photo_id, sha256=digest, entity_type="hazard", entity_id=uuid.uuid4(), mime="image/jpeg")
    )
    h.session.commit()
    h.session.remove()
    assert facts_for_photo(h.session(), digest) is None

    upload(h.client, data)
    photo = h.session.get(Photo, photo_id)
    assert photo is not None
    assert (photo.size, photo.mime, photo.width, photo.height) == (len(data), "image/jpeg", 640, 480)
    assert photo.exif_taken_at == datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
    assert (photo.exif_lat, photo.exif_lon, photo.exif_orientation) == (
        pytest.approx(38.45),
        pytest.approx(111.25),
        6,
    )
    # A photo recorded after its bytes takes the same facts from the blob.
    facts = facts_for_photo(h.session(), digest)
    assert facts is not None
    assert {key: getattr(photo, key) for key in facts} == facts


def test_a_repeated_put_heals_a_blob_whose_record_was_lost(harness: Harness) -> None:
    h = harness
    data = jpeg(10)
    digest = sha(data)
    upload(h.client, data)
    # As if the first acceptance's transaction had failed after the bytes were kept.
    h.session.execute(sa.delete(Blob))
    h.session.commit()
    h.session.remove()
    response = put(h.client, digest, data, 0, len(data))
    assert response.get_json()["complete"] is True
    assert h.session.get(Blob, digest) is not None


def test_recording_the_same_blob_twice_keeps_the_first(harness: Harness) -> None:
    session = harness.session()
    digest = sha(b"raced")
    for size in (100, 200):  # two uploads of the same bytes finishing together
        insert_blob_once(session, sha256=digest, size=size, mime="image/jpeg", width=1, height=1)
    session.commit()
    [blob] = session.scalars(sa.select(Blob)).all()
    assert (blob.sha256, blob.size) == (digest, 100)
    assert blob.stored_at is not None


def test_the_routes_are_documented(harness: Harness) -> None:
    spec = harness.client.get("/api/openapi.json").get_json()
    paths = spec["paths"]
    assert set(paths["/api/sync/blobs/{sha256}"]) >= {"head", "put"}
    upload_doc = paths["/api/sync/blobs/{sha256}"]["put"]
    assert {p["name"] for p in upload_doc["parameters"]} >= {"Upload-Offset", "Upload-Length", "sha256"}
    assert "Upload-Offset" in upload_doc["responses"]["409"]["headers"]
    assert {"200", "401", "409", "413", "415", "422"} <= set(upload_doc["responses"])
    assert "Upload-Complete" in paths["/api/sync/blobs/{sha256}"]["head"]["responses"]["200"]["headers"]
    assert "post" in paths["/api/sync/blobs/missing"]


def _bytes_in_place_without_a_record(h: Harness, data: bytes) -> str:
    """The state a SIGKILL leaves between moving verified bytes into place and committing their record."""
    digest = sha(data)
    h.store.append(digest, 0, io.BytesIO(data), MAX_BYTES)
    h.store.complete(digest)
    assert h.store.has(digest) and h.session.get(Blob, digest) is None
    h.session.remove()
    return digest


def test_a_half_accepted_photo_is_never_reported_held_and_head_finishes_it(harness: Harness) -> None:
    h = harness
    data = jpeg(11)
    digest = _bytes_in_place_without_a_record(h, data)
    # HEAD may only say complete once the record is durable: here it finishes the acceptance first.
    assert head(h.client, digest) == (len(data), "?1")
    blob = h.session.get(Blob, digest)
    assert blob is not None and blob.size == len(data) and blob.has_thumbnail
    assert h.store.read_thumbnail(digest)


def test_missing_lists_a_half_accepted_photo_it_cannot_finish(harness: Harness) -> None:
    h = harness
    data = jpeg(12)
    digest = _bytes_in_place_without_a_record(h, data)
    broken = RuntimeError("database unavailable")

    def failing(*_args: Any) -> None:
        raise broken

    real = h.backend.on_blob_complete
    h.backend.on_blob_complete = failing
    try:
        response = h.client.post("/api/sync/blobs/missing", json={"sha256": [digest]}, headers=AUTH)
        assert response.get_json() == {"missing": [digest]}  # not held: the device keeps its copy
        assert head(h.client, digest)[1] == "?0"
    finally:
        h.backend.on_blob_complete = real
    # Once the database is back, the next look finishes it.
    response = h.client.post("/api/sync/blobs/missing", json={"sha256": [digest]}, headers=AUTH)
    assert response.get_json() == {"missing": []}
    assert h.session.get(Blob, digest) is not None


def test_half_accepted_bytes_that_are_not_an_image_are_undone(harness: Harness) -> None:
    h = harness
    digest = _bytes_in_place_without_a_record(h, b"%PDF-1.4 not a photo")
    response = h.client.post("/api/sync/blobs/missing", json={"sha256": [digest]}, headers=AUTH)
    assert response.get_json() == {"missing": [digest]}
    nothing_kept(h, digest)


def test_a_record_whose_bytes_were_lost_is_missing(harness: Harness) -> None:
    h = harness
    data = jpeg(13)
    digest = sha(data)
    upload(h.client, data)
    h.case.lose_blob(digest)  # restored from an old backup, say
    response = h.client.post("/api/sync/blobs/missing", json={"sha256": [digest]}, headers=AUTH)
    assert response.get_json() == {"missing": [digest]}
    assert head(h.client, digest) == (0, "?0")
    upload(h.client, data)
    assert head(h.client, digest) == (len(data), "?1")


class _FullDisk:
    """A file whose writes fail as on a full disk (ENOSPC)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._real.close()

    def write(self, _data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def _fill_the_store(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the store's next write fail the way a full disk (or a full bucket) fails."""
    if isinstance(h.store, FilesystemBlobStore):
        real_fdopen = os.fdopen
        monkeypatch.setattr(blobs_module.os, "fdopen", lambda *a, **k: _FullDisk(real_fdopen(*a, **k)))
    else:
        from botocore.exceptions import ClientError

        def full(**_kwargs: Any) -> None:
            error = {"Code": "InsufficientStorage", "Message": "full"}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 507}}, "PutObject")

        monkeypatch.setattr(h.store._client(), "put_object", full)  # type: ignore[attr-defined]


def test_a_full_store_is_a_retryable_507_and_keeps_what_arrived(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    data = jpeg(14)
    digest = sha(data)
    half = len(data) // 2
    assert put(h.client, digest, data[:half], 0, len(data)).status_code == 200
    with monkeypatch.context() as patch:
        _fill_the_store(h, patch)
        full = put(h.client, digest, data[half:], half, len(data))
        assert full.status_code == 507, full.get_data(as_text=True)
        assert full.get_json()["code"] == "507.40"
        assert int(full.headers["Retry-After"]) > 0
        assert "存储空间已满" in full.get_json()["message"]
    # Space again: the upload resumes where the store says, and nothing earlier was lost.
    offset, _ = head(h.client, digest)
    assert offset == half
    assert put(h.client, digest, data[half:], half, len(data)).get_json()["complete"] is True
    assert h.read(digest) == data


def test_an_unreachable_store_is_a_retryable_503(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = harness
    data = jpeg(15)
    digest = sha(data)
    if isinstance(h.store, FilesystemBlobStore):
        blocked = h.case.tmp_path / "not-a-folder"
        blocked.write_bytes(b"")  # a file where the store's folder should be: it can be neither made nor used
        monkeypatch.setattr(h.store, "root", blocked / "blobs")
        with pytest.raises(problems.Problem) as caught:
            h.store.check()
        assert caught.value.code == "503.40"
        return
    from sync.s3blobs import S3BlobStore

    assert isinstance(h.store, S3BlobStore)
    dead = S3BlobStore(
        bucket=h.store.bucket, endpoint_url="http://127.0.0.1:9", access_key="x", secret_key="y"
    )
    h.backend.blobs = dead
    response = put(h.client, digest, data, 0, len(data))
    assert response.status_code == 503 and response.get_json()["code"] == "503.40"
    assert "Retry-After" in response.headers
    with pytest.raises(problems.Problem) as caught:
        dead.check()
    assert caught.value.code == "503.40"


def test_a_full_store_while_accepting_keeps_the_verified_bytes_and_retries(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills between the verified bytes and their thumbnail: 507 and retry, never a refusal that deletes."""
    h = harness
    data = jpeg(16)
    digest = sha(data)

    def full(_sha: str, _jpeg: bytes) -> None:
        raise problems.storage_full(retry_after=30)

    with monkeypatch.context() as patch:
        patch.setattr(h.store, "write_thumbnail", full)
        reply = put(h.client, digest, data, 0, len(data))
        assert (reply.status_code, reply.get_json()["code"]) == (507, "507.40")
        assert h.store.has(digest), "the verified bytes are kept"
        assert head(h.client, digest) == (len(data), "?0"), "not held while unaccepted"
    # Space again: the next look finishes the acceptance.
    assert head(h.client, digest) == (len(data), "?1")
    assert h.read(digest) == data and h.store.read_thumbnail(digest)


def _statements_of(h: Harness, action: Any) -> list[str]:
    """The SQL statements ``action`` runs on the harness's database."""
    seen: list[str] = []
    engine = h.session.get_bind()

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    return seen


def test_a_new_photo_in_one_put_asks_the_database_three_times(harness: Harness) -> None:
    """Whether it is recorded, its record, the photo records to give its facts: its reply comes from what
    the request just did, not from asking again."""
    h = harness
    data = jpeg(17)
    digest = sha(data)
    replies: list[Any] = []
    statements = _statements_of(h, lambda: replies.append(put(h.client, digest, data, 0, len(data))))
    assert replies[0].get_json() == {"sha256": digest, "received": len(data), "complete": True}
    assert len(statements) <= 3, statements
    assert head(h.client, digest) == (len(data), "?1")


def test_a_repeated_put_of_a_held_photo_answers_complete_without_writing(harness: Harness) -> None:
    h = harness
    data = jpeg(18)
    digest = sha(data)
    upload(h.client, data)
    statements = _statements_of(h, lambda: put(h.client, digest, data, 0, len(data)))
    assert not [s for s in statements if not s.lstrip().upper().startswith("SELECT")], statements
    assert put(h.client, digest, data, 0, len(data)).get_json() == {
        "sha256": digest,
        "received": len(data),
        "complete": True,
    }


def test_a_chunk_that_finds_the_photo_completed_by_another_device_says_so(harness: Harness) -> None:
    """The reply to a chunk is read from the store and the database when it does not complete the upload
    itself: another device may have completed it meanwhile."""
    h = harness
    data = jpeg(19)
    digest = sha(data)
    half = len(data) // 2
    assert put(h.client, digest, data[:half], 0).get_json()["complete"] is False
    other = h.app.test_client()
    assert put(other, digest, data[half:], half, len(data)).get_json()["complete"] is True
    # This device's own plan had no Upload-Length: its chunk lands on a complete blob.
    late = put(h.client, digest, data[half:], half)
    assert late.get_json() == {"sha256": digest, "received": len(data), "complete": True}

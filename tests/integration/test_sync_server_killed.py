"""gunicorn with several workers, killed with SIGKILL in the middle of pushes and started again:
the devices retry, and every mutation is held exactly once, in order."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from server.models import Blob, Quarantine, SyncMutation
from sync.blobs import FilesystemBlobStore
from sync.client import Outbox, SyncClient, SyncError, UrllibTransport
from sync.protocol import mutation_digest
from tests.conftest import DEMO_PASSWORD
from tests.integration.gunicorn_server import Server, gunicorn_env
from tests.integration.sync_helpers import T0, enterprise_and_catalogue

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(database_url: str, tmp_path: Path, qr_key_file: str) -> Iterator[Server]:
    """gunicorn with three workers on this test's database."""
    running = Server(gunicorn_env(database_url, tmp_path / "instance", qr_key_file), tmp_path / "server.log")
    running.start()
    yield running
    if running.process and running.process.poll() is None:
        running.kill()


def _call(
    url: str, body: dict[str, Any] | None, headers: dict[str, str], timeout: float = 10
) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", **headers},
                                     method="POST" if body is not None else "GET")  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _register(server: Server, username: str) -> tuple[str, str]:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    login = urllib.request.Request(f"{server.url}/api/auth/login", method="POST", headers={"Content-Type": "application/json"},
                                   data=json.dumps({"username": username, "password": DEMO_PASSWORD}).encode())  # fmt: skip
    csrf = json.loads(opener.open(login, timeout=10).read())["csrf_token"]
    device_id = str(uuid.uuid4())
    register = urllib.request.Request(f"{server.url}/api/devices", method="POST",
                                      headers={"Content-Type": "application/json", "X-CSRF-Token": csrf},
                                      data=json.dumps({"device_id": device_id}).encode())  # fmt: skip
    token = json.loads(opener.open(register, timeout=10).read())["token"]
    return device_id, token


def _outbox(enterprise_id: str, catalogue_id: str, codes: list[str], count: int) -> list[dict[str, Any]]:
    inspection_id = str(uuid.uuid4())
    entries: list[dict[str, Any]] = [
        {
            "entity": "inspection",
            "id": inspection_id,
            "data": {
                "enterprise_id": enterprise_id,
                "catalogue_id": catalogue_id,
                "kind": "county",
                "started_at": T0.isoformat(),
            },
        }
    ]
    answers: dict[str, str] = {}
    for index in range(count - 1):
        code = codes[index % len(codes)]
        answer_id = answers.setdefault(code, str(uuid.uuid4()))
        entries.append(
            {
                "entity": "item_result",
                "id": answer_id,
                "data": {
                    "inspection_id": inspection_id,
                    "item_code": code,
                    "result": "compliant",
                    "note": f"第 {index} 次",
                },
            }
        )
    return [{"seq": seq, "op": "upsert", "base_version": None, "at": T0.isoformat(), **entry}
            for seq, entry in enumerate(entries, 1)]  # fmt: skip


def test_devices_retry_through_sigkills_and_nothing_is_lost_or_doubled(app: Any, server: Server) -> None:
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    devices = []
    for username in ("xx_insp1", "xx_insp2", "xx_insp3"):
        device_id, token = _register(server, username)
        devices.append(
            {"id": device_id, "token": token, "outbox": _outbox(enterprise_id, catalogue_id, codes, 240)}
        )
    stop = time.monotonic() + 90
    retries = [0]
    failures: list[str] = []

    def run(device: dict[str, Any]) -> None:
        acked, rng = 0, random.Random(device["id"])
        headers = {"Authorization": f"Bearer {device['token']}"}
        while acked < len(device["outbox"]) and time.monotonic() < stop:
            batch = device["outbox"][acked : acked + rng.randint(1, 6)]
            try:
                status, body = _call(f"{server.url}/api/sync/push",
                                     {"device_id": device["id"], "schema": 1, "mutations": batch}, headers)  # fmt: skip
            except (OSError, http.client.HTTPException):
                # A server killed mid-reply leaves a short body (IncompleteRead): no answer, so retry as a device does.
                status, body = 0, None
            if status == 200 and body["device_id"] == device["id"]:
                acked = device["progress"] = body["last_seq"]
            else:
                retries[0] += 1
                if status and status < 500:
                    failures.append(f"{status} {body}")
                    return
                time.sleep(0.05 + rng.random() * 0.1)
        device["acked"] = acked

    threads = [threading.Thread(target=run, args=(d,)) for d in devices]
    for thread in threads:
        thread.start()
    # Kill when the devices are a fifth, a half and four fifths through (not after fixed pauses: a fast server
    # would have taken every push before the first kill).
    total = sum(len(d["outbox"]) for d in devices)
    for share in (0.2, 0.5, 0.8):
        while sum(d.get("progress", 0) for d in devices) < share * total and time.monotonic() < stop:
            time.sleep(0.005)
        server.kill()
        time.sleep(0.2)
        server.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert retries[0] > 0, "the kills happened while devices were pushing"
    engine = sa.create_engine(server.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            for device in devices:
                assert device.get("acked") == len(device["outbox"])
                rows = conn.execute(sa.select(SyncMutation.seq, SyncMutation.digest, SyncMutation.outcome)
                                    .where(SyncMutation.device_id == uuid.UUID(device["id"])).order_by(SyncMutation.seq)).all()  # fmt: skip
                assert [r.seq for r in rows] == [m["seq"] for m in device["outbox"]]
                assert [r.digest for r in rows] == [mutation_digest(m) for m in device["outbox"]]
                assert {r.outcome for r in rows} == {"applied"}
            assert conn.execute(sa.select(sa.func.count()).select_from(Quarantine)).scalar() == 0
    finally:
        engine.dispose()


def test_the_same_batch_reaching_two_workers_at_once_is_applied_once(app: Any, server: Server) -> None:
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    device_id, token = _register(server, "xx_insp1")
    batch = _outbox(enterprise_id, catalogue_id, codes, 40)
    body = {"device_id": device_id, "schema": 1, "mutations": batch}
    start = threading.Barrier(3)
    replies: list[Any] = []

    def send() -> None:
        start.wait()
        replies.append(_call(f"{server.url}/api/sync/push", body, {"Authorization": f"Bearer {token}"}))

    # Three connections at the same instant: gunicorn hands them to different workers.
    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [status for status, _ in replies] == [200, 200, 200]
    kinds = sorted(tuple(sorted({r["status"] for r in reply["results"]})) for _, reply in replies)
    assert kinds == [("applied",), ("duplicate",), ("duplicate",)]
    engine = sa.create_engine(server.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            seqs = conn.execute(sa.select(SyncMutation.seq).where(SyncMutation.device_id == uuid.UUID(device_id))
                                .order_by(SyncMutation.seq)).scalars().all()  # fmt: skip
    finally:
        engine.dispose()
    assert seqs == list(range(1, len(batch) + 1))


def _photo(seed: int, size: tuple[int, int]) -> bytes:
    """A camera-like JPEG (smooth scene, some grain) of ``size``; ``seed`` makes different photos."""
    scene = Image.linear_gradient("L").resize(size).convert("RGB")
    grain = Image.effect_noise(size, 12 + seed % 7).convert("RGB")
    out = io.BytesIO()
    Image.blend(scene, grain, 0.25).save(out, "JPEG", quality=88)
    return out.getvalue()


def _device_outbox(client: SyncClient, enterprise_id: str, catalogue_id: str, codes: list[str],
                   photos: list[Path]) -> dict[str, str]:  # fmt: skip
    """A submitted inspection whose answers carry the photos; returns photo id → sha256."""
    inspection_id = str(uuid.uuid4())
    client.outbox.add("inspection", inspection_id, {
        "enterprise_id": enterprise_id, "catalogue_id": catalogue_id, "kind": "county", "started_at": T0.isoformat(),
        "participants": [{"role": "inspector", "name": "张建国"}, {"role": "inspector", "name": "刘晓燕"}],
    })  # fmt: skip
    answers = []
    for code in codes:
        answers.append(str(uuid.uuid4()))
        client.outbox.add("item_result", answers[-1], {"inspection_id": inspection_id, "item_code": code,
                                                       "result": "compliant", "note": "现场核查"})  # fmt: skip
    shas = {}
    for index, path in enumerate(photos):
        sha, photo_id = client.add_photo(path), str(uuid.uuid4())
        client.outbox.add("photo", photo_id, {"sha256": sha, "entity_type": "item_result",
                                              "entity_id": answers[index % len(answers)],
                                              "captured_at": T0.isoformat()})  # fmt: skip
        shas[photo_id] = sha
    client.outbox.add("inspection", inspection_id, {"status": "submitted",
                                                    "finished_at": (T0.replace(hour=5)).isoformat()})  # fmt: skip
    return shas


def test_no_photo_is_lost_when_the_server_is_killed_during_uploads_and_acceptance(
    app: Any, server: Server, tmp_path: Path
) -> None:
    """Two devices upload 16 photos (two of 12 MP) while the server is SIGKILLed: at the instant a photo's
    verified bytes land in the store (before its record is committed) and at random instants. Afterwards every
    photo is recorded, served by the web and hash-checked."""
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    store = FilesystemBlobStore(Path(server.env["INSTANCE_PATH"]) / "media" / "blobs")
    users = ("xx_insp1", "xx_insp2")
    photos: dict[int, list[Path]] = {}
    for number in range(len(users)):
        for index in range(8):
            path = tmp_path / f"d{number}-{index}.jpg"
            path.write_bytes(_photo(number * 10 + index, (4000, 3000) if index == 0 else (1600, 1200)))
            photos.setdefault(number, []).append(path)
    wanted = {hashlib.sha256(p.read_bytes()).hexdigest() for paths in photos.values() for p in paths}
    expected: dict[str, str] = {}
    ready = threading.Barrier(len(users) + 1)
    deadline = time.monotonic() + 150
    done = [False] * len(users)

    def run(number: int) -> None:
        # The outbox's SQLite connection belongs to the thread that opened it.
        transport = UrllibTransport(server.url)
        client = SyncClient(transport, Outbox(tmp_path / f"outbox{number}.sqlite"),
                            max_attempts=3, backoff_base=0.05, backoff_cap=0.3)  # fmt: skip
        client.register(users[number], DEMO_PASSWORD)
        expected.update(_device_outbox(client, enterprise_id, catalogue_id, codes, photos[number]))
        ready.wait()
        while time.monotonic() < deadline:
            try:
                client.push(batch_size=20)
                client.upload_blobs(chunk_size=512 * 1024)
                if client.outbox.pending_count() == 0 and not client.outbox.blobs_to_upload():
                    done[number] = True
                    break
            except (SyncError, OSError):
                time.sleep(0.1)
        transport.close()
        client.outbox.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(users))]
    for thread in threads:
        thread.start()
    ready.wait(timeout=60)
    rng = random.Random(11)
    kills = {"between file and record": 0, "random": 0}
    seen: set[str] = set()
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        if kills["between file and record"] < 3:
            # The instant verified bytes are moved into place, before the acceptance commits their record.
            arrived = {sha for sha in wanted - seen if store.has(sha)}
            if not arrived:
                time.sleep(0.001)
                continue
            seen |= arrived
            kind = "between file and record"
        else:
            time.sleep(rng.uniform(0.1, 1.0))
            kind = "random"
        server.kill()
        kills[kind] += 1
        server.start()
    for thread in threads:
        thread.join(timeout=60)
    assert kills["between file and record"] == 3 and kills["random"] >= 1, kills
    assert all(done), "every device confirmed every photo"

    engine = sa.create_engine(server.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            recorded = set(conn.execute(sa.select(Blob.sha256).where(Blob.sha256.in_(wanted))).scalars())
    finally:
        engine.dispose()
    assert recorded == wanted
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    login = urllib.request.Request(f"{server.url}/api/auth/login", method="POST",
                                   headers={"Content-Type": "application/json"},
                                   data=json.dumps({"username": "xx_sup", "password": DEMO_PASSWORD}).encode())  # fmt: skip
    opener.open(login, timeout=10).read()
    for photo_id, sha in expected.items():
        with opener.open(f"{server.url}/photos/{photo_id}", timeout=30) as response:
            assert hashlib.sha256(response.read()).hexdigest() == sha
        with opener.open(f"{server.url}/photos/{photo_id}/thumb", timeout=30) as response:
            assert response.headers["Content-Type"] == "image/jpeg"

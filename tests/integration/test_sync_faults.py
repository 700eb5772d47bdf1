"""Fault injection as a hypothesis state machine: several devices, requests and replies dropped, batches
duplicated and reordered, uploads cut and corrupted, clients crashing between steps.

Invariant: the server holds each device's mutations exactly once and in order, and every photo a
record refers to is held and verified once the devices get a clean connection.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from PIL import Image

from server.extensions import db
from server.models import Blob, ItemResult, Photo, Quarantine, SyncMutation
from server.models import Device as DeviceRow
from sync.protocol import mutation_digest
from tests.integration.sync_helpers import enterprise_and_catalogue, register_device

EXAMPLES = 200 if os.environ.get("CI") == "true" else 25
T0 = datetime(2026, 6, 10, 1, 0, tzinfo=UTC)


def _jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), ((seed * 37) % 256, (seed * 91) % 256, (seed * 13) % 256)).save(buffer, "JPEG")
    return buffer.getvalue()


class SimulatedDevice:
    """A tablet: a durable outbox (frozen entries, gapless seqs), an acknowledged mark, photos to upload."""

    def __init__(
        self, app: Flask, username: str, enterprise_id: str, catalogue_id: str, codes: list[str]
    ) -> None:
        self.device_id, token = register_device(app, username)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.client = app.test_client()
        self.outbox: list[dict[str, Any]] = []
        self.acked = 0
        self.codes = codes
        self.answer_ids: dict[str, str] = {}
        self.photos: dict[str, bytes] = {}
        self.uploaded: set[str] = set()
        self.inspection_id = str(uuid.uuid4())
        self.add("inspection", {"enterprise_id": enterprise_id, "catalogue_id": catalogue_id, "kind": "county",
                                "started_at": T0.isoformat()}, self.inspection_id)  # fmt: skip

    def add(self, entity: str, data: dict[str, Any], entity_id: str | None = None) -> None:
        """Write an outbox entry; it never changes afterwards."""
        seq = len(self.outbox) + 1
        self.outbox.append({"seq": seq, "entity": entity, "id": entity_id or str(uuid.uuid4()), "op": "upsert",
                            "base_version": None, "data": data, "at": (T0 + timedelta(seconds=seq)).isoformat()})  # fmt: skip

    def push(self, batch: list[dict[str, Any]]) -> Any:
        """Send a batch; returns the reply (the caller may pretend it was lost)."""
        body = {"device_id": self.device_id, "schema": 1, "mutations": batch}
        return self.client.post("/api/sync/push", json=body, headers=self.headers)

    def accept_reply(self, reply: Any) -> None:
        """Drop outbox entries up to last_seq, but only after checking the echo."""
        assert reply.status_code == 200, reply.get_json()
        body = reply.get_json()
        assert body["device_id"] == self.device_id
        assert body["last_seq"] >= self.acked
        self.acked = body["last_seq"]

    def upload(self, sha: str, *, chunk: int, cut: int | None = None, corrupt: bool = False) -> Any:
        """Send one chunk from where the server says it stands."""
        offset = int(
            self.client.head(f"/api/sync/blobs/{sha}", headers=self.headers).headers["Upload-Offset"]
        )
        data = self.photos[sha]
        if offset >= len(data):
            return None
        piece = data[offset : offset + chunk]
        if cut is not None:
            piece = piece[: max(1, min(cut, len(piece)))]
        if corrupt:
            piece = bytes([piece[0] ^ 0xFF]) + piece[1:]
        headers = {**self.headers, "Upload-Offset": str(offset), "Upload-Length": str(len(data)),
                   "Content-Type": "application/octet-stream"}  # fmt: skip
        return self.client.put(f"/api/sync/blobs/{sha}", data=piece, headers=headers)


class FaultyFleet(RuleBasedStateMachine):
    """Devices working offline and syncing over a bad network."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app
        self.devices: list[SimulatedDevice] = []
        self.photo_seed = 0

    @initialize(count=st.integers(min_value=2, max_value=3))
    def make_devices(self, count: int) -> None:
        """Two or three inspectors, each starting an inspection."""
        enterprise_id, catalogue_id, codes = enterprise_and_catalogue(self.app)
        for index in range(count):
            self.devices.append(
                SimulatedDevice(self.app, f"xx_insp{index + 1}", enterprise_id, catalogue_id, codes)
            )

    @rule(
        which=st.integers(0, 2),
        item=st.integers(0, 30),
        result=st.sampled_from(["compliant", "non_compliant", "not_applicable"]),
    )
    def answer(self, which: int, item: int, result: str) -> None:
        """Answer (or re-answer) an item: a new outbox entry every time."""
        device = self.devices[which % len(self.devices)]
        code = device.codes[item % len(device.codes)]
        answer_id = device.answer_ids.setdefault(code, str(uuid.uuid4()))
        device.add("item_result", {"inspection_id": device.inspection_id, "item_code": code, "result": result,
                                   "note": f"{result} {len(device.outbox)}"}, answer_id)  # fmt: skip

    @rule(which=st.integers(0, 2))
    def take_photo(self, which: int) -> None:
        """A photo of the inspection: its record in the outbox, its bytes waiting for upload."""
        device = self.devices[which % len(self.devices)]
        self.photo_seed += 1
        data = _jpeg(self.photo_seed % 7)  # a few identical photos: two devices may share a blob
        sha = hashlib.sha256(data).hexdigest()
        device.photos[sha] = data
        device.add("photo", {"sha256": sha, "entity_type": "inspection", "entity_id": device.inspection_id,
                             "captured_at": T0.isoformat(), "lat": 38.46, "lon": 111.12})  # fmt: skip

    @precondition(lambda self: any(d.acked < len(d.outbox) for d in self.devices))
    @rule(which=st.integers(0, 2), size=st.integers(1, 6), drop_request=st.booleans(), drop_reply=st.booleans(),
          reorder=st.booleans(), duplicate=st.booleans(), skip_first=st.booleans())  # fmt: skip
    def push(self, which: int, size: int, drop_request: bool, drop_reply: bool, reorder: bool, duplicate: bool,
             skip_first: bool) -> None:  # fmt: skip
        """Push part of the outbox over a network that may lose either direction."""
        device = self.devices[which % len(self.devices)]
        batch = device.outbox[device.acked : device.acked + size]
        if not batch or drop_request:
            return
        if skip_first and len(batch) > 1:
            batch = batch[1:]  # a gap: nothing in this batch may be applied
        if reorder:
            batch = list(reversed(batch))
        reply = device.push(batch)
        if duplicate:
            reply = device.push(batch)
        if not drop_reply:
            device.accept_reply(reply)

    @precondition(lambda self: any(d.acked > 0 for d in self.devices))
    @rule(which=st.integers(0, 2), upto=st.integers(1, 10))
    def replay_old_batch(self, which: int, upto: int) -> None:
        """A stale retry of entries already applied: all duplicates, nothing changes."""
        device = self.devices[which % len(self.devices)]
        batch = device.outbox[: min(upto, device.acked)]
        if not batch:
            return
        body = device.push(batch).get_json()
        assert {r["status"] for r in body["results"]} == {"duplicate"}
        assert all(r["code"] is None for r in body["results"])

    @precondition(lambda self: any(set(d.photos) - d.uploaded for d in self.devices))
    @rule(which=st.integers(0, 2), chunk=st.integers(50, 4000), cut=st.none() | st.integers(1, 400),
          corrupt=st.booleans(), drop_reply=st.booleans())  # fmt: skip
    def upload(self, which: int, chunk: int, cut: int | None, corrupt: bool, drop_reply: bool) -> None:
        """Upload a chunk of a photo: cut short, corrupted or its reply lost."""
        device = self.devices[which % len(self.devices)]
        pending = sorted(set(device.photos) - device.uploaded)
        if not pending:
            return
        sha = pending[0]
        reply = device.upload(sha, chunk=chunk, cut=cut, corrupt=corrupt)
        if reply is None:
            device.uploaded.add(sha)  # the server already had it (another device's, or our lost reply)
            return
        assert reply.status_code in (200, 409, 422), reply.get_json()
        if reply.status_code == 422:
            assert reply.get_json()["code"] == "422.40"
        if not drop_reply and reply.status_code == 200 and reply.get_json()["complete"]:
            device.uploaded.add(sha)

    @rule(which=st.integers(0, 2))
    def crash(self, which: int) -> None:
        """The app is killed and restarted: only what was durable survives (the outbox, the acked mark)."""
        device = self.devices[which % len(self.devices)]
        device.uploaded = {sha for sha in device.uploaded if sha in device.photos}

    @invariant()
    def server_holds_a_prefix_exactly_once(self) -> None:
        """Whatever happened so far, each device's processed seqs are 1..last_seq with no hole or repeat."""
        with self.app.app_context():
            for device in self.devices:
                seqs = db.session.scalars(
                    sa.select(SyncMutation.seq).where(SyncMutation.device_id == uuid.UUID(device.device_id))
                    .order_by(SyncMutation.seq)
                ).all()  # fmt: skip
                last = db.session.scalar(
                    sa.select(DeviceRow.last_seq).where(DeviceRow.id == uuid.UUID(device.device_id))
                )
                assert list(seqs) == list(range(1, len(seqs) + 1))
                assert last == len(seqs) >= device.acked
                assert len(seqs) <= len(device.outbox)

    def teardown(self) -> None:
        """The network recovers: everything arrives, exactly once, in order, photos verified."""
        for device in self.devices:
            for _ in range(len(device.outbox) + 1):
                if device.acked == len(device.outbox):
                    break
                device.accept_reply(device.push(device.outbox[device.acked : device.acked + 50]))
            for sha in device.photos:
                for _ in range(100):
                    reply = device.upload(sha, chunk=100_000)
                    if reply is None or (reply.status_code == 200 and reply.get_json()["complete"]):
                        break
                else:
                    raise AssertionError(f"photo {sha} never completed")
        with self.app.app_context():
            for device in self.devices:
                device_uuid = uuid.UUID(device.device_id)
                rows = db.session.scalars(
                    sa.select(SyncMutation)
                    .where(SyncMutation.device_id == device_uuid)
                    .order_by(SyncMutation.seq)
                ).all()
                assert [r.seq for r in rows] == [m["seq"] for m in device.outbox]
                assert [r.digest for r in rows] == [mutation_digest(m) for m in device.outbox]
                assert {r.outcome for r in rows} <= {"applied"}
                assert db.session.scalar(sa.select(sa.func.count()).select_from(Quarantine).where(
                    Quarantine.device_id == device_uuid)) == 0  # fmt: skip
                latest: dict[str, dict[str, Any]] = {}
                for mutation in device.outbox:
                    if mutation["entity"] == "item_result":
                        latest[mutation["id"]] = mutation["data"]
                for answer_id, data in latest.items():
                    stored = db.session.get(ItemResult, uuid.UUID(answer_id))
                    assert stored is not None
                    assert (stored.result.value, stored.note) == (data["result"], data["note"])
                photos = db.session.scalars(sa.select(Photo).where(Photo.device_id == device_uuid)).all()
                assert len(photos) == sum(1 for m in device.outbox if m["entity"] == "photo")
                for photo in photos:
                    blob = db.session.get(Blob, photo.sha256)
                    assert blob is not None and photo.width == blob.width
                    stored_bytes = self.app.extensions["sync"].blobs.path(photo.sha256).read_bytes()
                    assert hashlib.sha256(stored_bytes).hexdigest() == photo.sha256


def test_devices_under_injected_faults_sync_exactly_once(app: Flask) -> None:
    run_state_machine_as_test(
        lambda: FaultyFleet(app),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )

"""Building devices and realistic mutations for sync tests."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from flask import Flask
from flask.testing import FlaskClient

from server.domain.applicability import ApplicabilityRule, applicable_items
from server.extensions import db
from server.models import Catalogue, Enterprise
from tests.conftest import login

T0 = datetime(2026, 6, 10, 1, 30, tzinfo=UTC)


def register_device(app: Flask, username: str) -> tuple[str, str]:
    """Sign in as ``username`` and register a device; returns (device_id, bearer token)."""
    client = app.test_client()
    csrf = login(client, username)
    device_id = str(uuid.uuid4())
    reply = client.post("/api/devices", json={"device_id": device_id}, headers={"X-CSRF-Token": csrf})
    assert reply.status_code == 201, reply.get_json()
    return device_id, reply.get_json()["token"]


class Device:
    """A simulated tablet: numbers its mutations and pushes them."""

    def __init__(self, app: Flask, username: str) -> None:
        self.app = app
        self.device_id, self.token = register_device(app, username)
        self.client: FlaskClient = app.test_client()
        self.seq = 0
        self.username = username

    @property
    def headers(self) -> dict[str, str]:
        """The bearer header."""
        return {"Authorization": f"Bearer {self.token}"}

    def mutation(
        self, entity: str, data: dict[str, Any], *, id: str | None = None, op: str = "upsert"
    ) -> dict[str, Any]:
        """The next outbox entry."""
        self.seq += 1
        return {"seq": self.seq, "entity": entity, "id": id or str(uuid.uuid4()), "op": op, "base_version": None,
                "data": data, "at": (T0 + timedelta(seconds=self.seq)).isoformat()}  # fmt: skip

    def push(self, mutations: list[dict[str, Any]], *, device_id: str | None = None) -> Any:
        """POST a batch; returns the response."""
        body = {"device_id": device_id or self.device_id, "schema": 1, "mutations": mutations}
        return self.client.post("/api/sync/push", json=body, headers=self.headers)

    def pull_all(self, cursor: str | None = None, limit: int = 500) -> tuple[list[dict[str, Any]], str, bool]:
        """Pull every page; returns (changes, final cursor, whether the first page was a reset)."""
        changes: list[dict[str, Any]] = []
        first_reset = None
        while True:
            query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            reply = self.client.get("/api/sync/pull", query_string=query, headers=self.headers)
            assert reply.status_code == 200, reply.get_json()
            body = reply.get_json()
            first_reset = body["reset"] if first_reset is None else first_reset
            changes.extend(body["changes"])
            cursor = body["cursor"]
            if not body["has_more"]:
                return changes, cursor, bool(first_reset)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SigningDevice(Device):
    """A simulated tablet with a P-256 key registered on the server, as the PWA makes one."""

    def __init__(self, app: Flask, username: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": _b64url(numbers.x.to_bytes(32, "big")),
               "y": _b64url(numbers.y.to_bytes(32, "big"))}  # fmt: skip
        client = app.test_client()
        csrf = login(client, username)
        reply = client.post("/api/devices", json={"device_id": str(uuid.uuid4()), "public_key": jwk},
                            headers={"X-CSRF-Token": csrf}).get_json()  # fmt: skip
        self.app, self.device_id, self.token = app, reply["device"]["id"], reply["token"]
        self.client, self.seq, self.username = app.test_client(), 0, username

    def seal(self, record: dict[str, Any], key: ec.EllipticCurvePrivateKey | None = None) -> dict[str, str]:
        """The seal fields of a submit mutation: canonical text, its hash and the raw r‖s signature."""
        text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        r, s = decode_dss_signature((key or self.key).sign(text.encode(), ec.ECDSA(hashes.SHA256())))
        return {"sealed_record": text, "sealed_sha256": hashlib.sha256(text.encode()).hexdigest(),
                "device_signature": _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}  # fmt: skip


def enterprise_and_catalogue(app: Flask, name: str = "兴县森宇木业有限公司") -> tuple[str, str, list[str]]:
    """An enterprise's id, the catalogue's id and the codes of the items that apply to it."""
    with app.app_context():
        enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == name))
        catalogue = db.session.scalar(sa.select(Catalogue))
        assert enterprise is not None and catalogue is not None
        items = applicable_items(
            catalogue.items, enterprise.profile(), lambda i: ApplicabilityRule.from_dict(i.applies_when)
        )
        return str(enterprise.id), str(catalogue.id), [i.code for i in items]


def inspection_batch(device: Device, enterprise_id: str, catalogue_id: str, codes: list[str], *,
                     submit: bool = True, photo_sha: str | None = None) -> tuple[str, list[dict[str, Any]]]:  # fmt: skip
    """A whole inspection as a device makes it: header, answers, one hazard with a photo, submission."""
    inspection_id = str(uuid.uuid4())
    batch = [device.mutation("inspection", {
        "enterprise_id": enterprise_id, "catalogue_id": catalogue_id, "kind": "unannounced",
        "started_at": T0.isoformat(), "start_lat": 38.47, "start_lon": 111.15, "start_accuracy_m": 12.0,
        "participants": [{"role": "inspector", "name": "张建国", "badge_no": "14112301001"},
                         {"role": "inspector", "name": "刘晓燕", "badge_no": "14112301002"}],
    }, id=inspection_id)]  # fmt: skip
    for index, code in enumerate(codes):
        result = "non_compliant" if index == 0 else "compliant"
        batch.append(device.mutation("item_result", {"inspection_id": inspection_id, "item_code": code,
                                                     "result": result, "note": f"检查 {code}"}))  # fmt: skip
    hazard_id = str(uuid.uuid4())
    batch.append(device.mutation("hazard", {
        "enterprise_id": enterprise_id, "inspection_id": inspection_id, "item_code": codes[0],
        "description": "除尘系统未采取控爆措施", "level": "major", "found_at": T0.isoformat(), "deadline": "2026-07-10",
        "place": "砂光车间", "terms": {"responsible_person": "王建平", "measures": "加装泄爆片"},
    }, id=hazard_id))  # fmt: skip
    if photo_sha:
        batch.append(device.mutation("photo", {"sha256": photo_sha, "entity_type": "hazard", "entity_id": hazard_id,
                                               "captured_at": T0.isoformat(), "lat": 38.47, "lon": 111.15,
                                               "accuracy_m": 8.0}))  # fmt: skip
    if submit:
        batch.append(device.mutation("inspection", {"status": "submitted", "finished_at": (T0 + timedelta(hours=2)).isoformat()},
                                     id=inspection_id))  # fmt: skip
    return inspection_id, batch


@contextmanager
def statements_run(app: Flask, *, unquoted: bool = False) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block, whitespace collapsed (``unquoted``: without the
    identifiers' double quotes, so one text matches both engines)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join((statement.replace('"', "") if unquoted else statement).split()))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)

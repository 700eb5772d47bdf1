"""A submitted inspection's seal: the device signs the canonical record with its P-256 key; the server
checks hash, signature and content, and flags — never hides — a seal that fails."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from flask import Flask

from server.extensions import db
from server.models import Inspection
from tests.conftest import login
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch


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


def _submit_with_seal(app: Flask, tamper: str | None) -> Inspection:
    device = SigningDevice(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    results = [
        [m["data"]["item_code"], m["data"]["result"], m["data"]["note"]]
        for m in batch
        if m["entity"] == "item_result"
    ]
    if tamper == "answers":
        results[0][1] = "compliant"  # the seal says compliant where the device sent non-compliant
    record = {"v": 1, "inspection": {"id": inspection_id}, "results": sorted(results), "photos": []}
    stranger = ec.generate_private_key(ec.SECP256R1()) if tamper == "key" else None
    batch[-1]["data"].update(device.seal(record, stranger))
    reply = device.push(batch).get_json()
    assert {r["status"] for r in reply["results"]} == {"applied"}, reply
    with app.app_context():
        inspection = db.session.get(Inspection, uuid.UUID(inspection_id))
        assert inspection is not None
        db.session.expunge(inspection)
        return inspection


def test_a_good_seal_verifies(app: Flask) -> None:
    inspection = _submit_with_seal(app, None)
    assert inspection.status.value == "submitted"
    assert (inspection.seal_verified, inspection.seal_problem) == (True, None)


@pytest.mark.parametrize(("tamper", "reason"), [("answers", "answers differ"), ("key", "does not verify")])
def test_a_failing_seal_is_flagged_not_hidden(app: Flask, tamper: str, reason: str) -> None:
    inspection = _submit_with_seal(app, tamper)
    assert inspection.status.value == "submitted"  # the evidence is kept …
    assert inspection.seal_verified is False  # … and flagged
    assert reason in (inspection.seal_problem or "")

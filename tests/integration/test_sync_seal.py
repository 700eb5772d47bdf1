"""A submitted inspection's seal: the device signs the canonical record with its P-256 key; the server
checks hash, signature and content, and flags — never hides — a seal that fails."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask

from server.extensions import db
from server.models import Inspection
from tests.integration.sync_helpers import SigningDevice, enterprise_and_catalogue, inspection_batch


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

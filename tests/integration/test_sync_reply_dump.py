"""The push and pull replies skip marshmallow's per-field work for their usual shape: every reply a real sync
makes (a whole inspection pushed, a duplicate, a quarantined mutation, the pull page a push carries, a pull of
every entity) dumps exactly as the OpenAPI schemas themselves would dump it, keys in the same order."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema

from sync import protocol
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch


def _spy(monkeypatch: pytest.MonkeyPatch, name: str, schema: Schema) -> list[tuple[Any, Any]]:
    """Record, for each reply, the quick dump and marshmallow's own dump of the same value."""
    quick, seen = getattr(protocol, name), []

    def compared(reply: Any) -> Any:
        result = quick(reply)
        seen.append((result, Schema.dump(schema, reply)))
        return result

    monkeypatch.setattr(protocol, name, compared)
    return seen


def _same(pairs: list[tuple[Any, Any]]) -> None:
    for quick, schema_dump in pairs:
        assert quick is not None  # the usual shape takes the quick path
        assert json.dumps(quick, ensure_ascii=False) == json.dumps(schema_dump, ensure_ascii=False)


def test_push_and_pull_replies_equal_the_schema_dumps(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pushes (applied, duplicate, quarantined, with their pull page) and pulls of every entity."""
    pushes = _spy(monkeypatch, "_quick_push_reply", protocol.PushReplySchema())
    pulls = _spy(monkeypatch, "_quick_pull_reply", protocol.PullReplySchema())
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    changes, cursor, _ = device.pull_all()
    _, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    assert device.push(batch).status_code == 200
    assert device.push(batch).status_code == 200  # every one a duplicate now
    bad = device.mutation("inspection", {"enterprise_id": str(uuid.uuid4())}, id=str(uuid.uuid4()))
    assert [r["status"] for r in device.push([bad]).get_json()["results"]] == ["quarantined"]
    _, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    body = {
        "device_id": device.device_id,
        "schema": 1,
        "mutations": batch,
        "pull": {"cursor": cursor, "limit": 500},
    }
    carried = device.client.post("/api/sync/push", json=body, headers=device.headers)
    assert carried.status_code == 200 and "pull" in carried.get_json()
    after, _, _ = device.pull_all(cursor)
    entities = {c["entity"] for c in changes + after}
    assert entities >= {"enterprise", "catalogue", "inspection", "item_result", "hazard"}, entities
    print(sorted(entities))
    # Pages (a pull's, and the one a push carries) are written from each change's text: test_sync_pull_bytes
    # compares them with the plain dump byte for byte; here only a page of an unusual shape would be dumped.
    assert len(pushes) == 4
    _same(pushes)
    _same(pulls)


def test_unusual_shapes_take_the_schema_path() -> None:
    """A value of another type than the usual (a bool for an int, an id object for a string) is left to
    marshmallow, which converts it."""
    assert protocol._quick_pull_reply({"changes": [{"entity": "x", "id": uuid.uuid4(), "version": 1,
                                                     "deleted": False, "data": None}]}) is None  # fmt: skip
    assert protocol._quick_push_reply({"last_seq": True}) is None
    reply = {"device_id": uuid.uuid4(), "last_seq": 3, "results": [{"seq": 1, "status": "applied",
             "code": None, "message": None, "version": 2, "extra": 1}]}  # fmt: skip
    assert protocol.PushReplySchema().dump(reply) == Schema.dump(protocol.PushReplySchema(), reply)

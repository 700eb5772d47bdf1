"""A pull reply is the same JSON, byte for byte, as the plain serialisation from ORM rows gives (the way pulls
were made before rows were read as plain columns and the reply joined from each change's text): same changes,
order, keys, values, cursor, has_more, reset and byte-budget cuts, for every role, at several page sizes and
byte budgets, on a history holding tombstones, dates, offsets, decimals, JSON fields, participants and Chinese.

The reference below keeps that plain serialisation: each entity's rows loaded as ORM instances, their data
built attribute by attribute and made JSON-safe by an isinstance chain, the page cut by the byte budget, and
the whole reply dumped by the app's JSON provider."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server.caches import scope_cache
from server.extensions import db
from server.models import Device as DeviceRow
from server.models import ExpertOpinion, Hazard, HazardEvent, Inspection, ItemResult, Photo, User
from server.services.scope import principal_for
from server.sync_handlers import common
from server.sync_handlers.pull_rows import PulledColumns
from sync import engine
from sync.engine import Change, Cursor
from sync.protocol import PullReplySchema
from tests.integration.sync_helpers import T0, Device, enterprise_and_catalogue, inspection_batch
from tests.integration.test_expert_opinions import opinion_batch


def _plain_jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_jsonable(v) for v in value]
    return value


def _hazard(h: Hazard) -> dict[str, Any]:
    return {
        "enterprise_id": h.enterprise_id, "inspection_id": h.inspection_id, "source": h.source, "item_code": h.item_code,
        "ledger_no": h.ledger_no, "place": h.place, "description": h.description, "level": h.level,
        "level_reason": h.level_reason, "found_at": h.found_at, "terms": h.terms, "funds_yuan": h.funds_yuan,
        "five_in_place": h.five_in_place, "treatment_plan": h.treatment_plan,
        "reported_to_regulator_on": h.reported_to_regulator_on,
        "reported_to_workers_congress_on": h.reported_to_workers_congress_on, "supervision_level": h.supervision_level,
        "supervision_no": h.supervision_no, "stop_production": h.stop_production, "state": h.state,
        "deadline": h.deadline, "listed": h.listed,
    }  # fmt: skip


def _inspection(i: Inspection) -> dict[str, Any]:
    return {
        "enterprise_id": i.enterprise_id, "catalogue_id": i.catalogue_id, "kind": i.kind, "status": i.status,
        "started_at": i.started_at, "finished_at": i.finished_at, "received_at": i.received_at,
        "start_lat": i.start_lat, "start_lon": i.start_lon, "start_accuracy_m": i.start_accuracy_m,
        "end_lat": i.end_lat, "end_lon": i.end_lon, "end_accuracy_m": i.end_accuracy_m,
        "participants": [{"role": p.role, "user_id": p.user_id, "name": p.name, "badge_no": p.badge_no}
                         for p in i.participants],
        "signatures": i.signatures, "summary_note": i.summary_note, "sealed_sha256": i.sealed_sha256,
        "device_signature": i.device_signature, "corrects_id": i.corrects_id,
    }  # fmt: skip


#: Each table's model and, per entity, its data as built from an ORM row.
_PLAIN: dict[str, tuple[Any, Any]] = {
    "hazard": (Hazard, _hazard),
    "ledger_entry": (Hazard, _hazard),
    "inspection": (Inspection, _inspection),
    "hazard_event": (HazardEvent, lambda e: {"hazard_id": e.hazard_id, "kind": e.kind, "at": e.at, "deadline": e.deadline,
                                             "comment": e.comment, "data": e.data, "received_at": e.received_at}),
    "item_result": (ItemResult, lambda r: {"inspection_id": r.inspection_id, "item_code": r.item_code, "result": r.result,
                                           "note": r.note, "answered_at": r.answered_at}),
    "photo": (Photo, lambda p: {
        "sha256": p.sha256, "original_sha256": p.original_sha256, "captured_at": p.captured_at,
        "received_at": p.received_at, "lat": p.lat, "lon": p.lon, "accuracy_m": p.accuracy_m,
        "fix_at": p.fix_at, "entity_type": p.entity_type, "entity_id": p.entity_id, "mime": p.mime,
        "size": p.size, "width": p.width, "height": p.height}),
    "expert_opinion": (ExpertOpinion, lambda o: {
        "inspection_id": o.inspection_id, "expert_user_id": o.expert_user_id, "expert_name": o.expert_name,
        "opinion": o.opinion, "items": o.items, "signature": o.signature, "signed_at": o.signed_at}),
    "colleague": (User, lambda u: {"user_id": u.id, "display_name": u.display_name, "badge_no": u.badge_no,
                                   "region_id": u.region_id, "active": u.active}),
}  # fmt: skip


def _plain_changes(
    self: PulledColumns,
    session: Any,
    entity: str,
    visible: Any,
    after: int,
    upto: int,
    limit: int,
    fill: Any = None,
    *,
    key: Any = None,
) -> list[Change]:
    """A handler's page from ORM rows, with the same visibility condition the handler gives."""
    model, to_data = _PLAIN[entity]
    query = sa.select(model).where(model.change_no > after, model.change_no <= upto)
    condition = visible()
    if condition is not None:
        query = query.where(condition)
    rows = session.scalars(query.order_by(model.change_no).limit(limit)).all()
    return [Change(change_no=r.change_no, entity=entity, id=str(r.id), version=r.row_version,
                   deleted=r.deleted_at is not None,
                   data=None if r.deleted_at is not None else _plain_jsonable(to_data(r)))
            for r in rows]  # fmt: skip


def _plain_within_bytes(page: list[Change], messages: list[dict[str, Any]], max_bytes: int) -> int:
    used, cut = 0, len(messages)
    for index, message in enumerate(messages):
        used += len(json.dumps(message, default=str, ensure_ascii=False).encode("utf-8"))
        if used > max_bytes and index > 0:
            cut = index
            break
    if cut == len(messages):
        return cut
    number, kept = page[cut].change_no, cut
    while kept > 0 and page[kept - 1].change_no == number:
        kept -= 1
    if kept == 0:
        kept = cut
        while kept < len(page) and page[kept].change_no == number:
            kept += 1
    return kept


@contextmanager
def _plain_rows(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with monkeypatch.context() as patched:
        patched.setattr(PulledColumns, "changes", _plain_changes)
        patched.setattr(common, "jsonable", _plain_jsonable)
        yield


def _principal(app: Flask, device: Device) -> Any:
    row = db.session.get(DeviceRow, uuid.UUID(device.device_id))
    assert row is not None
    return principal_for(db.session, row, scope_cache())


def _expected(
    app: Flask, monkeypatch: pytest.MonkeyPatch, device: Device, cursor: str | None, limit: int
) -> bytes:
    """The reply the plain serialisation gives, as the app's JSON provider writes it."""
    sync = app.extensions["sync"]
    with app.test_request_context(), _plain_rows(monkeypatch):
        principal = _principal(app, device)
        reset = False
        decoded = engine.decode_cursor(cursor, sync.cursor_secret) if cursor else None
        if decoded is None or decoded.fingerprint != principal.fingerprint:
            decoded, reset = Cursor(0, principal.fingerprint), True
        upto = sync.ledger.committed_high_water(db.session)
        candidates: list[Change] = []
        if upto > decoded.after:
            for handler in sync.registry:
                candidates.extend(handler.changes(db.session, principal, decoded.after, upto, limit + 1))
        candidates.sort(key=lambda c: c.change_no)
        page, has_more = candidates[:limit], len(candidates) > limit
        messages = [c.to_message() for c in page]
        kept = _plain_within_bytes(page, messages, sync.limits.max_pull_bytes)
        if kept < len(page):
            page, messages, has_more = page[:kept], messages[:kept], True
        last = page[-1].change_no if has_more else max(decoded.after, upto)
        reply = {"changes": messages, "cursor": engine.encode_cursor(Cursor(last, principal.fingerprint),
                 sync.cursor_secret), "has_more": has_more, "reset": reset}  # fmt: skip
        body = app.json.response(PullReplySchema().dump(reply)).get_data()
        db.session.rollback()
        db.session.remove()
    return body


def _history(app: Flask) -> dict[str, Device]:
    """Inspections with participants, answers, hazards (a decimal, JSON fields, dates, offsets), a photo, an
    expert's opinion, a withdrawn hazard and a deleted ledger entry (tombstones), an enterprise's ledger."""
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspector = Device(app, "xx_insp1")
    for photo in ("a1" * 32, None):
        _, batch = inspection_batch(inspector, enterprise_id, catalogue_id, codes, photo_sha=photo)
        assert inspector.push(batch).status_code == 200
    draft_id, batch = inspection_batch(inspector, enterprise_id, catalogue_id, codes, submit=False)
    hazard_id = str(uuid.uuid4())
    batch.append(inspector.mutation("hazard", {
        "enterprise_id": enterprise_id, "inspection_id": draft_id, "item_code": codes[1], "level": "general",
        "level_reason": "现场判定，风险较低", "description": "配电箱前堆放杂物 \"临时\"\\n", "found_at": "2026-06-10T09:45:00.123456+08:00",
        "deadline": "2026-06-30", "funds_yuan": "12345.60", "place": "二号车间 ✓",
        "terms": {"responsible_person": "李四", "funds": "1.5万元", "nested": {"k": [1, 2.5, None, True]}},
        "five_in_place": {"measures": "清理", "time": "三天内"}, "reported_to_regulator_on": "2026-06-11",
        "treatment_plan": "每日巡查 🔥", "stop_production": True,
    }, id=hazard_id))  # fmt: skip
    assert {r["status"] for r in inspector.push(batch).get_json()["results"]} == {"applied"}
    withdraw = inspector.mutation("hazard_event", {"hazard_id": hazard_id, "kind": "withdrawn",
                                                   "at": "2026-06-10T10:00:00-05:30", "comment": "误报"})  # fmt: skip
    assert [r["status"] for r in inspector.push([withdraw]).get_json()["results"]] == ["applied"]
    expert_device, _, _, batch = opinion_batch(app)
    assert {r["status"] for r in expert_device.push(batch).get_json()["results"]} == {"applied"}
    enterprise = Device(app, "qy_jinxing")
    entries = [str(uuid.uuid4()), str(uuid.uuid4())]
    with app.app_context():
        own = db.session.scalar(sa.select(User.enterprise_id).where(User.username == "qy_jinxing"))
    for entry in entries:
        assert enterprise.push([enterprise.mutation("ledger_entry", {
            "enterprise_id": str(own), "description": "自查：消防通道堵塞", "level": "general",
            "found_at": T0.isoformat(), "funds_yuan": "0.50", "terms": {}, "ledger_no": "ZC-2026-01",
        }, id=entry)]).get_json()["results"][0]["status"] == "applied"  # fmt: skip
    deleted = enterprise.mutation("ledger_entry", {"description": "已删除"}, id=entries[0], op="delete")
    assert enterprise.push([deleted]).get_json()["results"][0]["status"] == "applied"
    return {"inspector": inspector, "expert": expert_device, "enterprise": enterprise,
            "supervisor": Device(app, "xx_sup"), "city": Device(app, "ll_city"), "admin": Device(app, "admin")}  # fmt: skip


def _walk(
    app: Flask, monkeypatch: pytest.MonkeyPatch, device: Device, limit: int, cursor: str | None
) -> list[dict[str, Any]]:
    """Every page from ``cursor`` on, each compared with the plain serialisation; the changes pulled."""
    pulled: list[dict[str, Any]] = []
    while True:
        expected = _expected(app, monkeypatch, device, cursor, limit)
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        reply = device.client.get("/api/sync/pull", query_string=query, headers=device.headers)
        assert reply.status_code == 200 and reply.mimetype == "application/json"
        assert reply.get_data() == expected
        body = reply.get_json()
        pulled.extend(body["changes"])
        cursor = body["cursor"]
        if not body["has_more"]:
            return pulled


def test_pull_replies_equal_the_plain_serialisation_byte_for_byte(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = _history(app)
    sync = app.extensions["sync"]
    with app.test_request_context():
        since = sync.ledger.committed_high_water(db.session)
        fingerprints = {name: _principal(app, device).fingerprint for name, device in devices.items()}
        db.session.remove()
    pulled: list[dict[str, Any]] = []
    for name, device in devices.items():
        assert _walk(app, monkeypatch, device, 500, None), name  # the whole county, at the usual budget
    for budget in (2500, 1):
        monkeypatch.setattr(sync, "limits", dataclasses.replace(sync.limits, max_pull_bytes=budget))
        for name, device in devices.items():
            # Smaller pages and budgets over the history made above (a whole county's would take too long).
            recent = engine.encode_cursor(Cursor(since - 80, fingerprints[name]), sync.cursor_secret)
            for limit in (3, 500):
                pulled += _walk(app, monkeypatch, device, limit, recent)
    entities = {c["entity"] for c in pulled}
    assert entities >= {"inspection", "item_result", "hazard", "hazard_event", "photo", "expert_opinion",
                        "ledger_entry"}, entities  # fmt: skip
    assert any(c["deleted"] for c in pulled if c["entity"] == "hazard")
    assert any(c["deleted"] for c in pulled if c["entity"] == "ledger_entry")


def test_the_page_a_push_carries_equals_the_plain_serialisation(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The push reply, its results as dumped before and its page as a plain pull's, byte for byte."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _, cursor, _ = device.pull_all()
    sync = app.extensions["sync"]
    for budget, limit in ((sync.limits.max_pull_bytes, 500), (sync.limits.max_pull_bytes, 7), (1, 500)):
        monkeypatch.setattr(sync, "limits", dataclasses.replace(sync.limits, max_pull_bytes=budget))
        _, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
        body = {"device_id": device.device_id, "schema": 1, "mutations": batch,
                "pull": {"cursor": cursor, "limit": limit}}  # fmt: skip
        reply = device.client.post("/api/sync/push", json=body, headers=device.headers)
        assert reply.status_code == 200 and reply.mimetype == "application/json"
        carried = reply.get_json()
        page = json.loads(_expected(app, monkeypatch, device, cursor, limit))
        assert carried["pull"]["changes"], carried["pull"]
        expected = app.json.response({**carried, "pull": page}).get_data()
        assert reply.get_data() == expected
        cursor = device.pull_all(carried["pull"]["cursor"])[1]

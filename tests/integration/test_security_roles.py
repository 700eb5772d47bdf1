"""Issue 16, items 3 and 4: who may create what is the server's decision by role, and what an enterprise may read
follows who made the record, never a field the device sent. Attacks through real device pushes and HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import Flask

from server.domain.inspections import InspectionKind, InspectionStatus
from server.extensions import db
from server.models import Catalogue, Inspection, User
from server.models.base import utcnow
from tests.conftest import login
from tests.integration.sync_helpers import T0, Device, enterprise_and_catalogue
from tests.integration.test_secrecy import JINXING, _upload, jpeg, sha


def _statuses(reply: Any) -> list[tuple[str, str | None]]:
    body = reply.get_json()
    return [(r["status"], r["code"]) for r in body["results"]]


def _self_kind_draft(
    device: Device, enterprise_id: str, catalogue_id: str, code: str, photo: bytes
) -> list[Any]:
    inspection_id = str(uuid.uuid4())
    answer_id = str(uuid.uuid4())
    return [
        device.mutation("inspection", {"enterprise_id": enterprise_id, "catalogue_id": catalogue_id, "kind": "self",
                                       "started_at": T0.isoformat()}, id=inspection_id),
        device.mutation("item_result", {"inspection_id": inspection_id, "item_code": code, "result": "compliant"},
                        id=answer_id),
        device.mutation("photo", {"sha256": sha(photo), "entity_type": "item_result", "entity_id": answer_id,
                                  "captured_at": T0.isoformat()}),
    ]  # fmt: skip


def test_an_inspector_cannot_create_a_self_assessment(app: Flask) -> None:
    inspector = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app, JINXING)
    photo = jpeg(7)
    reply = inspector.push(_self_kind_draft(inspector, enterprise_id, catalogue_id, codes[0], photo))
    assert reply.status_code == 200
    assert _statuses(reply)[0][0] != "applied", reply.get_json()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Inspection).where(
            Inspection.kind == InspectionKind.self_check)) == 0  # fmt: skip


def test_an_inspector_cannot_turn_an_inspection_into_a_self_assessment(app: Flask) -> None:
    inspector = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, _codes = enterprise_and_catalogue(app, JINXING)
    inspection_id = str(uuid.uuid4())
    created = inspector.mutation("inspection", {"enterprise_id": enterprise_id, "catalogue_id": catalogue_id,
                                                "kind": "unannounced", "started_at": T0.isoformat()}, id=inspection_id)  # fmt: skip
    changed = inspector.mutation("inspection", {"kind": "self"}, id=inspection_id)
    statuses = _statuses(inspector.push([created, changed]))
    assert statuses[0][0] == "applied" and statuses[1][0] != "applied", statuses
    with app.app_context():
        inspection = db.session.get(Inspection, uuid.UUID(inspection_id))
        assert inspection is not None and inspection.kind == InspectionKind.unannounced


def test_an_inspectors_record_marked_self_is_never_shown_to_the_enterprise(app: Flask) -> None:
    """Even a row already stored with kind 'self' (say from before the fix) stays hidden: the enterprise sees a
    self-assessment's photos only when one of its own accounts made the record."""
    inspector = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app, JINXING)
    photo = jpeg(8)
    batch = _self_kind_draft(inspector, enterprise_id, catalogue_id, codes[0], photo)
    batch[0]["data"]["kind"] = "unannounced"
    reply = inspector.push(batch)
    assert {s for s, _ in _statuses(reply)} == {"applied"}, reply.get_json()
    _upload(inspector, photo)
    with app.app_context():
        db.session.execute(sa.update(Inspection).where(Inspection.id == uuid.UUID(batch[0]["id"])).values(
            kind=InspectionKind.self_check))  # fmt: skip
        db.session.commit()
    enterprise = app.test_client()
    login(enterprise, "qy_jinxing")
    photo_id = batch[2]["id"]
    assert enterprise.get(f"/photos/{photo_id}").status_code == 404
    assert enterprise.get(f"/photos/{photo_id}/thumb").status_code == 404


def _own_self_assessment(app: Flask) -> tuple[str, str]:
    """A self-assessment the enterprise made itself (as the portal does); returns (inspection id, enterprise id)."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "qy_jinxing"))
        catalogue = db.session.scalar(sa.select(Catalogue))
        assert user is not None and catalogue is not None and user.enterprise_id is not None
        inspection = Inspection(
            id=uuid.uuid4(), enterprise_id=user.enterprise_id, catalogue_id=catalogue.id,
            kind=InspectionKind.self_check, status=InspectionStatus.draft, created_by_id=user.id,
            started_at=utcnow(), received_at=utcnow(),
        )  # fmt: skip
        db.session.add(inspection)
        db.session.commit()
        return str(inspection.id), str(user.enterprise_id)


def test_an_enterprise_cannot_record_a_regulators_hazard(app: Flask) -> None:
    inspection_id, enterprise_id = _own_self_assessment(app)
    device = Device(app, "qy_jinxing")
    hazard = device.mutation("hazard", {
        "enterprise_id": enterprise_id, "inspection_id": inspection_id, "description": "伪造的监管检查隐患",
        "level": "general", "found_at": T0.isoformat(),
    })  # fmt: skip
    statuses = _statuses(device.push([hazard]))
    assert statuses[0][0] != "applied", statuses
    supervisor = app.test_client()
    login(supervisor, "xx_sup")
    assert "伪造的监管检查隐患" not in supervisor.get("/hazards").get_data(as_text=True)


def test_an_enterprise_cannot_create_an_inspection_of_a_regulators_kind(app: Flask) -> None:
    device = Device(app, "qy_jinxing")
    enterprise_id, catalogue_id, _codes = enterprise_and_catalogue(app, JINXING)
    for kind in ("county", "unannounced", "city_sampling", "self"):
        mutation = device.mutation("inspection", {"enterprise_id": enterprise_id, "catalogue_id": catalogue_id,
                                                  "kind": kind, "started_at": T0.isoformat()})  # fmt: skip
        assert _statuses(device.push([mutation]))[0][0] != "applied", kind

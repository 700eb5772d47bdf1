"""Issue 16, item 8: every free text is bounded in the schema and in the database. Attacks: a tablet pushing
3 MiB in level_reason and treatment_plan, a supervisor's form with a 3 MiB comment, and a write that bypasses the
application (the database itself refuses)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from flask import Flask

from server.domain.hazards import OPEN_STATES, HazardLevel
from server.extensions import db
from server.models import Hazard, HazardEvent
from tests.conftest import login
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch

HUGE = "隐" * (3 * 1024 * 1024 // 3)


@pytest.mark.parametrize("field", ["level_reason", "treatment_plan", "description", "place"])
def test_a_tablet_cannot_store_megabytes_in_a_hazard_field(app: Flask, field: str) -> None:
    app.config["SYNC_MAX_PUSH_BYTES"] = 16 * 1024 * 1024
    tablet = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    _inspection_id, batch = inspection_batch(tablet, enterprise_id, catalogue_id, codes, submit=False)
    hazard = next(m for m in batch if m["entity"] == "hazard")
    hazard["data"][field] = HUGE
    reply = tablet.push(batch)
    assert reply.status_code in (200, 413), reply.status_code
    if reply.status_code == 200:
        result = next(r for r in reply.get_json()["results"] if r["seq"] == hazard["seq"])
        assert result["status"] == "quarantined", result
    with app.app_context():
        assert db.session.get(Hazard, uuid.UUID(hazard["id"])) is None


def test_a_supervisors_form_cannot_store_megabytes(app: Flask) -> None:
    with app.app_context():
        hazard_id = db.session.scalar(sa.select(Hazard.id).where(
            Hazard.level == HazardLevel.major, Hazard.listed.is_(False), Hazard.state.in_(OPEN_STATES)).limit(1))  # fmt: skip
        before = db.session.scalar(sa.select(sa.func.count()).select_from(HazardEvent))
    client = app.test_client()
    csrf = login(client, "ll_city")
    form = {"csrf_token": csrf, "action": "list", "supervision_level": "市级", "comment": HUGE}
    reply = client.post(f"/hazards/{hazard_id}", data=form)
    assert reply.status_code == 400
    assert "过长" in reply.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(HazardEvent)) == before


def test_the_database_refuses_an_oversized_text_written_around_the_application(app: Flask) -> None:
    with app.app_context():
        hazard_id = db.session.scalar(sa.select(Hazard.id).limit(1))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("UPDATE hazard SET level_reason = :text WHERE id = :id"),
                               {"text": "x" * 10_001, "id": hazard_id.hex if db.engine.dialect.name == "sqlite" else hazard_id})  # fmt: skip
        db.session.rollback()


def test_a_nul_character_is_a_clear_400_not_a_500(app: Flask) -> None:
    client = app.test_client()
    reply = client.post("/api/auth/login", json={"username": "xx_sup\u0000", "password": "x"})
    assert reply.status_code == 400 and reply.get_json()["code"] == "400.2"
    login(client, "xx_sup")
    assert client.get("/api/enterprises", query_string={"q": "晋\u0000兴"}).status_code == 400

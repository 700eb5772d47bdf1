"""The quarantine page: an admin sees a refused mutation whole, corrects it and applies it as its device
would have; nobody else sees the page; the act is audited."""

from __future__ import annotations

import json
import re
import uuid

import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.models import (
    AuditEvent,
    Campaign,
    Inspection,
    ItemResult,
    Quarantine,
    SamplingAssignment,
    SamplingDraw,
    User,
)
from tests.conftest import login
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch


def _quarantined(app: Flask) -> tuple[int, str, list[str]]:
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    wrong = device.mutation("item_result", {"inspection_id": inspection_id, "item_code": "XX-99", "result": "compliant",
                                            "note": "<script>alert(1)</script>"})  # fmt: skip
    answers = [m for m in batch if m["entity"] == "item_result"]
    batch = [batch[0], *answers[1:], wrong]  # the first item is left for the correction
    for index, mutation in enumerate(batch, 1):
        mutation["seq"] = index
    reply = device.push(batch).get_json()
    assert reply["results"][-1]["status"] == "quarantined"
    with app.app_context():
        row = db.session.scalar(sa.select(Quarantine))
        assert row is not None
        return row.id, inspection_id, codes


def _form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_admin_corrects_and_applies_a_quarantined_mutation(app: Flask) -> None:
    row_id, inspection_id, codes = _quarantined(app)
    admin = app.test_client()
    login(admin, "admin")
    listing = admin.get("/quarantine")
    assert listing.status_code == 200 and f"/quarantine/{row_id}" in listing.get_data(as_text=True)
    page = admin.get(f"/quarantine/{row_id}")
    html = page.get_data(as_text=True)
    assert "XX-99" in html and "422.44" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html  # shown as text
    fixed = f'{{"inspection_id": "{inspection_id}", "item_code": "{codes[0]}", "result": "non_compliant"}}'
    refused = admin.post(
        f"/quarantine/{row_id}", data={"csrf_token": _form_token(html), "data": '{"item_code": "XX-99"}'}
    )
    assert refused.status_code == 200 and "有误" in refused.get_data(as_text=True)
    applied = admin.post(f"/quarantine/{row_id}", data={"csrf_token": _form_token(html), "data": fixed})
    assert applied.status_code == 302
    with app.app_context():
        row = db.session.get(Quarantine, row_id)
        assert row is not None and row.resolved_at is not None
        answer = db.session.scalar(
            sa.select(ItemResult).where(
                ItemResult.inspection_id == uuid.UUID(inspection_id), ItemResult.item_code == codes[0]
            )
        )
        assert answer is not None and answer.result.value == "non_compliant"
        assert (
            db.session.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1))
            == "quarantine.reapply"
        )


def test_only_admins_see_the_page_and_forged_posts_are_refused(app: Flask) -> None:
    row_id, _inspection_id, _codes = _quarantined(app)
    supervisor = app.test_client()
    login(supervisor, "xx_sup")
    assert supervisor.get("/quarantine").status_code == 404
    assert supervisor.get(f"/quarantine/{row_id}").status_code == 404
    admin = app.test_client()
    login(admin, "admin")
    forged = admin.post(f"/quarantine/{row_id}", data={"data": "{}"})
    assert forged.status_code == 403


def test_a_quarantined_mutation_for_an_enterprise_the_draw_assigned_can_be_reapplied(app: Flask) -> None:
    """Re-applying builds the device's scope as sync does, 双随机 assignments included."""
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)  # a 兴县 enterprise
    with app.app_context():
        inspector = db.session.scalar(sa.select(User).where(User.username == "lx_insp1"))  # 临县
        city = db.session.scalar(sa.select(User).where(User.username == "ll_city"))
        campaign = db.session.scalar(sa.select(Campaign))
        assert inspector is not None and city is not None and campaign is not None
        draw = SamplingDraw(campaign_id=campaign.id, drawn_by_id=city.id, seed="test", percent=10, stratified=False,
                            population_size=10, sample_size=1, notes={})  # fmt: skip
        db.session.add(draw)
        db.session.add(SamplingAssignment(draw=draw, enterprise_id=uuid.UUID(enterprise_id), inspector_id=inspector.id,
                                          ordinal=1, own_county=False))  # fmt: skip
        db.session.commit()
    device = Device(app, "lx_insp1")
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    start = batch[0]
    start["data"]["kind"] = "sampling"  # not a kind: refused, kept whole
    reply = device.push([start]).get_json()
    assert [r["status"] for r in reply["results"]] == ["quarantined"], reply
    admin = app.test_client()
    login(admin, "admin")
    with app.app_context():
        row_id = db.session.scalar(sa.select(Quarantine.id))
    html = admin.get(f"/quarantine/{row_id}").get_data(as_text=True)
    fixed = json.dumps({**start["data"], "kind": "city_sampling"})
    applied = admin.post(f"/quarantine/{row_id}", data={"csrf_token": _form_token(html), "data": fixed})
    assert applied.status_code == 302, applied.get_data(as_text=True)
    with app.app_context():
        inspection = db.session.get(Inspection, uuid.UUID(inspection_id))
        assert inspection is not None and inspection.kind.value == "city_sampling"

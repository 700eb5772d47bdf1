"""专家检查意见 (issue 18, notice 三（七）): pushed by a tablet as a sync entity with its inspection, sealed with it
(the device-signed record carries the opinion), frozen once the inspection is submitted, linked only to that
inspection's findings, written only by an expert taking part; printed as a 专家检查意见书 PDF with a public check."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.models import ExpertOpinion, Quarantine
from sync import problems
from tests.conftest import login
from tests.integration.sync_helpers import T0, SigningDevice, enterprise_and_catalogue, inspection_batch

EXPERT = "孙工（注册安全工程师）"


def opinion_data(inspection_id: str, hazard_id: str, code: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "inspection_id": inspection_id, "expert_name": EXPERT, "opinion": "除尘系统存在粉尘爆炸风险，须立即整改。",
        "items": [{"hazard_id": hazard_id, "item_code": code, "problem": "未设置泄爆装置",
                   "suggestion": "按GB 15577加装泄爆片并定期检查"},
                  {"item_code": code, "problem": "清扫制度未落实", "suggestion": "建立每班清扫记录"}],
        "signature": {"sha256": "ab" * 32, "at": (T0 + timedelta(minutes=90)).isoformat()},
        "signed_at": (T0 + timedelta(minutes=90)).isoformat(),
    }  # fmt: skip
    data.update(overrides)
    return data


def sealed_copy(opinion_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The opinion as the tablet puts it in the inspection's sealed record."""
    items = [
        {k: line.get(k) for k in ("item_code", "hazard_id", "problem", "suggestion")}
        for line in data["items"]
    ]
    return {"id": opinion_id, "expert_name": data["expert_name"], "opinion": data["opinion"], "items": items,
            "signature_sha256": data["signature"]["sha256"]}  # fmt: skip


def opinion_batch(
    app: Flask, *, tamper: bool = False
) -> tuple[SigningDevice, str, str, list[dict[str, Any]]]:
    """An inspection with an expert taking part and the expert's opinion, sealed and submitted."""
    device = SigningDevice(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes)
    batch[0]["data"]["participants"].append({"role": "expert", "name": EXPERT})
    hazard_id = next(m["id"] for m in batch if m["entity"] == "hazard")
    opinion_id = str(uuid.uuid4())
    data = opinion_data(inspection_id, hazard_id, codes[0])
    submit = batch.pop()
    device.seq = submit["seq"] - 1  # the opinion takes the submission's place in the outbox, which follows it
    batch.append(device.mutation("expert_opinion", data, id=opinion_id))
    submit["seq"] = device.seq = device.seq + 1
    sealed = sealed_copy(opinion_id, data)
    if tamper:
        sealed["opinion"] = "无问题。"  # the stored opinion is not what the device sealed
    results = sorted([m["data"]["item_code"], m["data"]["result"], m["data"]["note"]]
                     for m in batch if m["entity"] == "item_result")  # fmt: skip
    record = {"v": 1, "inspection": {"id": inspection_id}, "results": results, "photos": [],
              "expert_opinions": [sealed]}  # fmt: skip
    submit["data"].update(device.seal(record))
    batch.append(submit)
    return device, inspection_id, opinion_id, batch


def test_an_opinion_pushed_as_a_device_would_arrives_sealed_with_its_inspection(app: Flask) -> None:
    device, inspection_id, opinion_id, batch = opinion_batch(app)
    reply = device.push(batch).get_json()
    assert {r["status"] for r in reply["results"]} == {"applied"}, reply
    with app.app_context():
        row = db.session.get(ExpertOpinion, uuid.UUID(opinion_id))
        assert row is not None and len(row.items) == 2 and row.inspection.status.value == "submitted"
    sup = app.test_client()
    login(sup, "xx_sup")
    page = sup.get(f"/inspections/{inspection_id}/expert-opinions").get_data(as_text=True)
    assert f'data-opinion-id="{opinion_id}" data-sealed="yes"' in page
    assert "expert-opinions" in sup.get(f"/inspections/{inspection_id}").get_data(as_text=True)
    pdf = sup.get(f"/inspections/{inspection_id}/documents/expert/{opinion_id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    with app.app_context():
        row = db.session.get(ExpertOpinion, uuid.UUID(opinion_id))
        assert row is not None
        sha = row.inspection.sealed_sha256
    public = app.test_client()
    checked = public.get(f"/d/expert/{opinion_id}/{sha}").get_data(as_text=True)
    assert 'data-verdict="valid"' in checked and EXPERT not in checked
    assert public.get(f"/d/expert/{opinion_id}/{'0' * 64}").status_code == 404
    other = app.test_client()
    login(other, "lx_sup")
    assert other.get(f"/inspections/{inspection_id}/documents/expert/{opinion_id}.pdf").status_code == 404
    # The expert's own device pulls it with the inspection.
    changes, _, _ = device.pull_all()
    assert any(c["entity"] == "expert_opinion" and c["id"] == opinion_id for c in changes)


def test_an_opinion_differing_from_the_seal_is_kept_and_flagged(app: Flask) -> None:
    device, inspection_id, opinion_id, batch = opinion_batch(app, tamper=True)
    assert {r["status"] for r in device.push(batch).get_json()["results"]} == {"applied"}
    sup = app.test_client()
    login(sup, "xx_sup")
    page = sup.get(f"/inspections/{inspection_id}/expert-opinions").get_data(as_text=True)
    assert f'data-opinion-id="{opinion_id}" data-sealed="no"' in page and "不一致" in page


def test_after_submission_the_opinion_is_sealed_and_refused_changes_are_quarantined(app: Flask) -> None:
    device, _, opinion_id, batch = opinion_batch(app)
    device.push(batch)
    late = device.mutation("expert_opinion", {"opinion": "补充：无"}, id=opinion_id)
    reply = device.push([late]).get_json()
    assert reply["results"][0]["status"] == "quarantined"
    assert reply["results"][0]["code"] == problems.record_sealed().code
    with app.app_context():
        row = db.session.get(ExpertOpinion, uuid.UUID(opinion_id))
        assert row is not None and row.opinion.startswith("除尘系统")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Quarantine)) >= 1


def test_only_an_expert_on_the_inspection_links_only_its_findings(app: Flask) -> None:
    device = SigningDevice(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False)
    hazard_id = next(m["id"] for m in batch if m["entity"] == "hazard")
    not_on_it = device.mutation("expert_opinion", opinion_data(inspection_id, hazard_id, codes[0]))
    reply = device.push([*batch, not_on_it]).get_json()
    assert reply["results"][-1]["status"] == "quarantined"
    assert "expert must take part" in reply["results"][-1]["message"]
    add_expert = device.mutation("inspection", {"participants": [
        *batch[0]["data"]["participants"], {"role": "expert", "name": EXPERT}]}, id=inspection_id)  # fmt: skip
    stranger_hazard = device.mutation(
        "expert_opinion", opinion_data(inspection_id, str(uuid.uuid4()), codes[0])
    )
    bad_code = device.mutation("expert_opinion", opinion_data(inspection_id, hazard_id, "ZZ-99"))
    unlinked = device.mutation("expert_opinion", opinion_data(
        inspection_id, hazard_id, codes[0], items=[{"problem": "x", "suggestion": "y"}]))  # fmt: skip
    reply = device.push([add_expert, stranger_hazard, bad_code, unlinked]).get_json()
    assert [r["status"] for r in reply["results"]] == [
        "applied",
        "quarantined",
        "quarantined",
        "quarantined",
    ], reply
    messages = " ".join(r["message"] for r in reply["results"][1:])
    assert "is not of this inspection" in messages and "ZZ-99" in messages and "link it" in messages
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ExpertOpinion)) == 0
    # With the expert taking part and the findings linked, the same opinion is accepted.
    good = device.mutation("expert_opinion", opinion_data(inspection_id, hazard_id, codes[0]))
    assert device.push([good]).get_json()["results"][0]["status"] == "applied"

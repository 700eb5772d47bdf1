"""Issue 13's findings on printed documents: they print what the device sealed, warn on their first page where
the server's rows differ, the verification page shows what they state, and a device registering again with a
new key does not turn genuine earlier documents invalid."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from server.demo.activity import demo_id
from server.documents.records import DocKind, verify_path, zh_date
from server.domain.clearance import ItemResultValue
from server.extensions import db
from server.models import Device, Hazard, Inspection, ItemResult, User
from tests.conftest import login
from tests.sealing import jwk_of

#: 兴县红枣冷藏储运有限公司: the device sealed a 不符合 that the stored answers show as 符合.
TAMPERED = demo_id("inspection/xx-11")
#: 兴县晋兴特钢有限公司: two hazards (one major), sealed and verified.
WITH_HAZARDS = demo_id("inspection/xx-01")


def squash(text: str) -> str:
    """Text without whitespace (extractors break lines where the layout did)."""
    return "".join(text.split())


def first_page(data: bytes) -> str:
    """The first page's text, squashed."""
    return squash(PdfReader(io.BytesIO(data)).pages[0].extract_text())


def all_pages(data: bytes) -> str:
    """Every page's text, squashed."""
    return squash("".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def changed_answer(app: Flask) -> tuple[str, str, str]:
    """The item code whose stored answer differs from the sealed one, with the sealed and stored results."""
    with app.app_context():
        inspection = db.session.get(Inspection, TAMPERED)
        assert inspection is not None and inspection.sealed_record
        sealed = {code: result for code, result, *_ in json.loads(inspection.sealed_record)["results"]}
        stored = {
            r.item_code: r.result.value
            for r in db.session.scalars(sa.select(ItemResult).where(ItemResult.inspection_id == TAMPERED))
        }
        code = next(c for c in sorted(sealed) if sealed[c] != stored.get(c))
        return code, sealed[code], stored[code]


def test_a_tampered_inspection_never_clears_and_its_pdf_warns_and_prints_the_sealed_answers(
    app: Flask, client: FlaskClient, demo_media: Path
) -> None:
    code, sealed, stored = changed_answer(app)
    assert (sealed, stored) == (ItemResultValue.non_compliant.value, ItemResultValue.compliant.value)
    login(client, "xx_sup")
    with app.app_context():
        inspection = db.session.get(Inspection, TAMPERED)
        assert inspection is not None
        enterprise_id = inspection.enterprise_id
    page = client.get(f"/enterprises/{enterprise_id}").get_data(as_text=True)
    assert 'data-clearance="cleared"' not in page and 'id="evidence-warning"' in page
    # The pages of its hazards say why too.
    with app.app_context():
        hazard_ids = db.session.scalars(sa.select(Hazard.id).where(Hazard.inspection_id == TAMPERED)).all()
    assert hazard_ids
    for hazard_id in hazard_ids:
        shown = client.get(f"/hazards/{hazard_id}").get_data(as_text=True)
        assert 'id="evidence-warning"' in shown and "设备签名封存验证未通过" in shown
    with client.get(f"/inspections/{TAMPERED}/documents/record.pdf") as response:
        assert response.status_code == 200
        data = response.get_data()
    head = first_page(data)
    assert "警示" in head and squash("与执法终端现场封存的记录不一致") in head
    assert squash(f"改动：{code}") in head
    # The checklist row of the changed item prints the sealed 不符合, not the stored 符合.
    text = all_pages(data)
    row = re.search(rf"{re.escape(code)}(.*?)(?={code[:3]}\d|$)", text.split("一、检查情况", 1)[1])
    assert row is not None and "不符合" in row.group(1)


def test_a_genuine_document_has_no_warning(app: Flask, client: FlaskClient, demo_media: Path) -> None:
    login(client, "xx_sup")
    with client.get(f"/inspections/{WITH_HAZARDS}/documents/record.pdf") as response:
        assert response.status_code == 200
        assert "警示" not in first_page(response.get_data())


def test_the_verification_page_shows_the_findings_and_deadlines_sealed(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        inspection = db.session.get(Inspection, WITH_HAZARDS)
        assert inspection is not None and inspection.sealed_sha256 and inspection.sealed_record
        sha = inspection.sealed_sha256
        record = json.loads(inspection.sealed_record)
        hazards = db.session.scalars(sa.select(Hazard).where(Hazard.inspection_id == WITH_HAZARDS)).all()
        assert hazards
    html = client.get(verify_path(DocKind.order, WITH_HAZARDS, sha)).get_data(as_text=True)
    assert 'data-verdict="valid"' in html and 'id="sealed-content"' in html
    for code, result, *_ in record["results"]:
        if result == ItemResultValue.non_compliant.value:
            assert f'data-finding="{code}"' in html
    for sealed in record["hazards"]:
        assert sealed["description"] in html
        assert zh_date(date.fromisoformat(sealed["deadline"][:10])) in html
    assert html.count("data-sealed-hazard") == len(record["hazards"])


def test_a_device_registering_again_keeps_its_earlier_documents_valid(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        inspection = db.session.get(Inspection, WITH_HAZARDS)
        assert inspection is not None and inspection.device_id is not None and inspection.sealed_sha256
        device = db.session.get(Device, inspection.device_id)
        assert device is not None
        owner = db.session.get(User, device.user_id)
        assert owner is not None
        username, device_id, sha = owner.username, str(device.id), inspection.sealed_sha256
    path = verify_path(DocKind.record, WITH_HAZARDS, sha)
    assert 'data-verdict="valid"' in client.get(path).get_data(as_text=True)
    # The tablet is reinstalled: the same device id registers again with a brand-new key.
    tablet = app.test_client()
    token = login(tablet, username)
    new_key = jwk_of(ec.generate_private_key(ec.SECP256R1()))
    response = tablet.post(
        "/api/devices", json={"device_id": device_id, "public_key": new_key, "label": "重装后的平板"},
        headers={"X-CSRF-Token": token},
    )  # fmt: skip
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        device = db.session.get(Device, inspection.device_id)
        assert device is not None and device.public_key_jwk == new_key
    html = client.get(path).get_data(as_text=True)
    assert 'data-verdict="valid"' in html, "a genuine earlier document still verifies"

"""四不两直: an enterprise never sees an inspection (nor its answers, hazards, photos or review) before it is
submitted, nor while it is returned for correction; once submitted, the hazards found are its to rectify.

Checked through every page and JSON endpoint an enterprise account can reach (enumerated from the app's URL
map, ids of the secret records substituted), the photo routes, and sync pull for an enterprise device."""

from __future__ import annotations

import hashlib
import io
import itertools
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from server.extensions import db
from server.models import Enterprise, Hazard, HazardEvent, Inspection, ItemResult
from tests.conftest import login
from tests.integration.sync_helpers import T0, Device, enterprise_and_catalogue, inspection_batch

JINXING = "兴县晋兴特钢有限公司"
DRAFT_TEXT = "暗访草稿隐患：炼钢车间氧枪冷却水无流量差报警"
RETURNED_TEXT = "退回检查隐患：煤气加压站未设隔断装置"
SUBMITTED_TEXT = "已提交检查隐患：铸造起重机钢丝绳断丝超标"


def jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((160, 120), 20 + seed).convert("RGB").save(out, "JPEG", quality=70)
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Secrets:
    """What an inspector recorded at 晋兴 that the enterprise must not see, and what it must."""

    inspector: Device
    enterprise_id: str
    draft_id: str
    draft_hazard: str
    draft_answer: str
    draft_photo: str
    draft_answer_photo: str
    draft_sha: str
    returned_id: str
    returned_hazard: str
    submitted_id: str
    submitted_hazard: str

    @property
    def hidden_ids(self) -> list[str]:
        """Ids that must appear in nothing the enterprise receives."""
        return [self.draft_id, self.draft_hazard, self.draft_answer, self.draft_photo, self.draft_answer_photo,
                self.returned_id, self.returned_hazard]  # fmt: skip

    @property
    def hidden_texts(self) -> list[str]:
        """Texts that must appear in nothing the enterprise receives."""
        return [DRAFT_TEXT, RETURNED_TEXT, *self.hidden_ids]


def _visit(device: Device, enterprise_id: str, catalogue_id: str, codes: list[str], text: str, *,
           submit: bool, photo: bytes | None = None) -> tuple[str, str, list[dict[str, Any]]]:  # fmt: skip
    """An inspection batch whose hazard has ``text`` as its description; returns (inspection, hazard, batch)."""
    inspection_id, batch = inspection_batch(
        device, enterprise_id, catalogue_id, codes, submit=submit, photo_sha=sha(photo) if photo else None
    )
    hazard = next(m for m in batch if m["entity"] == "hazard")
    hazard["data"]["description"] = text
    return inspection_id, hazard["id"], batch


def _push(device: Device, batch: list[dict[str, Any]]) -> None:
    reply = device.push(batch).get_json()
    assert {r["status"] for r in reply["results"]} == {"applied"}, reply


def _upload(device: Device, data: bytes) -> None:
    headers = {**device.headers, "Upload-Offset": "0", "Upload-Length": str(len(data)),
               "Content-Type": "application/offset+octet-stream"}  # fmt: skip
    assert device.client.put(f"/api/sync/blobs/{sha(data)}", data=data, headers=headers).status_code == 200


def make_secrets(app: Flask) -> Secrets:
    """A draft, a returned and a submitted inspection of 晋兴, each with a hazard; the draft with photos."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app, JINXING)
    photo = jpeg(1)
    draft_id, draft_hazard, batch = _visit(device, enterprise_id, catalogue_id, codes, DRAFT_TEXT, submit=False,
                                           photo=photo)  # fmt: skip
    draft_photo = next(m["id"] for m in batch if m["entity"] == "photo")
    answer = next(m for m in batch if m["entity"] == "item_result")
    answer_photo = jpeg(2)
    answer_photo_mutation = device.mutation("photo", {
        "sha256": sha(answer_photo), "entity_type": "item_result", "entity_id": answer["id"],
        "captured_at": T0.isoformat(),
    })  # fmt: skip
    _push(device, [*batch, answer_photo_mutation])
    _upload(device, photo)
    _upload(device, answer_photo)

    returned_id, returned_hazard, batch = _visit(device, enterprise_id, catalogue_id, codes, RETURNED_TEXT,
                                                 submit=True)  # fmt: skip
    _push(device, batch)
    supervisor = app.test_client()
    csrf = login(supervisor, "xx_sup")
    reply = supervisor.post(f"/api/inspections/{returned_id}/review", json={"outcome": "return",
                            "comment": "请补充照片"}, headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert reply.status_code == 201 and reply.get_json()["status"] == "returned", reply.get_json()

    submitted_id, submitted_hazard, batch = _visit(device, enterprise_id, catalogue_id, codes, SUBMITTED_TEXT,
                                                   submit=True)  # fmt: skip
    _push(device, batch)
    return Secrets(
        device, enterprise_id, draft_id, draft_hazard, answer["id"], draft_photo, answer_photo_mutation["id"],
        sha(photo), returned_id, returned_hazard, submitted_id, submitted_hazard,
    )  # fmt: skip


@pytest.fixture
def secrets(app: Flask) -> Secrets:
    return make_secrets(app)


def enterprise_client(app: Flask, username: str = "qy_jinxing") -> FlaskClient:
    client = app.test_client()
    login(client, username)
    return client


def body_text(response: Any) -> str:
    """Everything a response carries, as text; an .xlsx (a zip) is unpacked so its cells are searched too."""
    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return data.decode("utf-8", "replace")


def assert_reveals_nothing(response: Any, secrets: Secrets, where: str) -> None:
    text = body_text(response)
    for hidden in secrets.hidden_texts:
        assert hidden not in text, (where, hidden)


def candidate_urls(app: Flask, secrets: Secrets, prefix: str) -> list[str]:
    """Every GET route under ``prefix``, each argument filled with every secret id (and the enterprise's own)."""
    values = {
        "uuid": [*secrets.hidden_ids, secrets.enterprise_id, secrets.submitted_id, secrets.submitted_hazard],
        "default": [secrets.draft_id, secrets.draft_sha],
        "int": ["1"],
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or not rule.rule.startswith(prefix):
            continue
        names = sorted(rule.arguments)
        choices = []
        for name in names:
            converter = type(rule._converters[name]).__name__.lower()
            kind = "uuid" if "uuid" in converter else "int" if "integer" in converter else "default"
            choices.append(values[kind])
        for combination in itertools.product(*choices):
            url = rule.rule
            for name, value in zip(names, combination, strict=True):
                url = re.sub(rf"<(?:[^:<>]+:)?{name}>", value, url)
            urls.append(url)
    return sorted(set(urls))


# --- pages ---------------------------------------------------------------------------------------------------


def test_portal_pages_show_only_released_findings(app: Flask, secrets: Secrets) -> None:
    client = enterprise_client(app)
    for url in ("/portal", "/portal/ledger", "/portal/hazards", "/portal/hazards?finder=regulator",
                "/portal/hazards?status=open", "/portal/self-assessment", "/portal/ledger/export.xlsx"):  # fmt: skip
        with client.get(url) as reply:
            assert reply.status_code == 200, url
            assert_reveals_nothing(reply, secrets, url)
    listed = client.get("/portal/hazards?finder=regulator").get_data(as_text=True)
    assert SUBMITTED_TEXT in listed and secrets.submitted_hazard in listed
    for hidden in (secrets.draft_hazard, secrets.returned_hazard):
        assert client.get(f"/portal/hazards/{hidden}").status_code == 404
        assert client.get(f"/portal/ledger/{hidden}/edit").status_code == 404
    page = client.get(f"/portal/hazards/{secrets.submitted_hazard}")
    assert page.status_code == 200 and SUBMITTED_TEXT in page.get_data(as_text=True)


def test_home_figures_ignore_unreleased_findings(app: Flask) -> None:
    client = enterprise_client(app)
    before = client.get("/portal").get_data(as_text=True)
    secrets = make_secrets(app)
    after = enterprise_client(app).get("/portal").get_data(as_text=True)

    def figure(html: str, name: str) -> int:
        start = html.index(f'id="figure-{name}"')
        return int(html[html.index("<strong>", start) + 8 : html.index("</strong>", start)])

    assert figure(after, "awaiting") == figure(before, "awaiting") + 1  # the submitted one only
    assert figure(after, "open-ledger") == figure(before, "open-ledger")
    assert secrets.submitted_hazard


def test_every_enterprise_reachable_page_keeps_the_secrets(app: Flask, secrets: Secrets) -> None:
    client = enterprise_client(app)
    skipped = ("/api", "/static", "/app", "/web-assets", "/q/")
    pages = [u for u in candidate_urls(app, secrets, "/") if not u.startswith(skipped)]
    # The probes answer anyone (a load balancer signs in as nobody) and name no record: /metrics only counts.
    # /gongshi is public by design (行政执法公示): it must still reveal nothing of a draft, as checked below.
    probes = {"/healthz", "/readyz", "/metrics"}
    supervisor_only = [
        u
        for u in pages
        if not u.startswith(("/portal", "/photos", "/login", "/jobs"))  # /jobs: an enterprise's own imports
        and u not in ("/", "/gongshi")
        and u not in probes
    ]
    assert {"/dashboard", "/inspections", "/hazards", "/enterprises", "/map"} <= set(supervisor_only)
    assert (
        f"/inspections/{secrets.draft_id}" in supervisor_only and f"/hazards/{secrets.draft_hazard}" in pages
    )
    for url in pages:
        with client.get(url) as reply:
            assert_reveals_nothing(reply, secrets, url)
            if url in supervisor_only:
                assert reply.status_code == 404, url
    for photo in (secrets.draft_photo, secrets.draft_answer_photo):
        for url in (f"/photos/{photo}", f"/photos/{photo}/thumb"):
            with client.get(url) as reply:
                assert reply.status_code == 404, url
    # The supervisor sees them: the photos exist, they are only hidden from the enterprise.
    supervisor = app.test_client()
    login(supervisor, "xx_sup")
    with supervisor.get(f"/photos/{secrets.draft_photo}") as reply:
        assert reply.status_code == 200


def test_no_api_get_reveals_the_secrets(app: Flask, secrets: Secrets) -> None:
    client = enterprise_client(app)
    device = Device(app, "qy_jinxing")
    urls = candidate_urls(app, secrets, "/api/")
    assert f"/api/inspections/{secrets.draft_id}" in urls and f"/api/hazards/{secrets.draft_hazard}" in urls
    for url in urls:
        for headers in ({}, device.headers):
            reply = client.get(url, headers=headers)
            assert reply.status_code in (200, 401, 404), (url, reply.status_code)
            assert_reveals_nothing(reply, secrets, url)
    for url in (f"/api/inspections/{secrets.draft_id}", f"/api/hazards/{secrets.draft_hazard}",
                f"/api/hazards/{secrets.submitted_hazard}", "/api/hazards", "/api/dashboard", "/api/map/points"):  # fmt: skip
        assert client.get(url).status_code == 404, url


# --- sync ----------------------------------------------------------------------------------------------------


def test_enterprise_device_pulls_released_hazards_only(app: Flask, secrets: Secrets) -> None:
    device = Device(app, "qy_jinxing")
    changes, _cursor, reset = device.pull_all()
    assert reset
    entities = {c["entity"] for c in changes}
    assert not entities & {"inspection", "item_result", "review_decision", "photo"}
    text = str(changes)
    for hidden in secrets.hidden_texts:
        assert hidden not in text, hidden
    hazards = {c["id"] for c in changes if c["entity"] == "hazard"}
    assert secrets.submitted_hazard in hazards
    with app.app_context():
        enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == JINXING))
        assert enterprise is not None
        # Every hazard of 晋兴 found by a submitted or approved inspection, and none other.
        released = set(
            db.session.scalars(
                sa.select(Hazard.id)
                .join(Inspection, Inspection.id == Hazard.inspection_id)
                .where(
                    Hazard.enterprise_id == enterprise.id, Inspection.status.in_(["submitted", "approved"])
                )
            )
        )
        events = set(db.session.scalars(sa.select(HazardEvent.id).where(HazardEvent.hazard_id.in_(released))))
    assert hazards == {str(h) for h in released}
    assert {c["id"] for c in changes if c["entity"] == "hazard_event"} == {str(e) for e in events}


def test_a_finding_reaches_the_enterprise_when_its_inspection_is_submitted(app: Flask) -> None:
    """Hazards pushed while the inspection was a draft got change numbers the enterprise pulled past;
    submission numbers them again, so the enterprise's next pull brings them."""
    inspector = Device(app, "xx_insp1")
    enterprise = Device(app, "qy_jinxing")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app, JINXING)
    inspection_id, hazard_id, batch = _visit(inspector, enterprise_id, catalogue_id, codes, DRAFT_TEXT,
                                             submit=False)  # fmt: skip
    _push(inspector, batch)
    changes, cursor, _reset = enterprise.pull_all()
    assert hazard_id not in {c["id"] for c in changes}
    # The enterprise cannot act on it either while it is hidden.
    event = enterprise.mutation("hazard_event", {"hazard_id": hazard_id, "kind": "rectification_planned",
                                                 "at": (T0 + timedelta(hours=3)).isoformat(), "comment": "x"})  # fmt: skip
    result = enterprise.push([event]).get_json()["results"][0]
    assert (result["status"], result["code"]) == ("quarantined", "422.47")
    submit = inspector.mutation("inspection", {"status": "submitted",
                                               "finished_at": (T0 + timedelta(hours=2)).isoformat()},
                                id=inspection_id)  # fmt: skip
    _push(inspector, [submit])
    changes, _cursor, reset = enterprise.pull_all(cursor)
    assert not reset
    pulled = {c["id"]: c for c in changes}
    assert hazard_id in pulled and pulled[hazard_id]["data"]["description"] == DRAFT_TEXT
    found = uuid.uuid5(uuid.UUID(hazard_id), "found")
    assert str(found) in pulled and pulled[str(found)]["entity"] == "hazard_event"
    assert not {c["entity"] for c in changes} & {"inspection", "item_result"}
    # Now it is the enterprise's to rectify from its tablet.
    planned = enterprise.mutation("hazard_event", {"hazard_id": hazard_id, "kind": "rectification_planned",
                                                   "at": (T0 + timedelta(hours=4)).isoformat(), "comment": "更换"})  # fmt: skip
    assert enterprise.push([planned]).get_json()["results"][0]["status"] == "applied"
    with app.app_context():
        hazard = db.session.get(Hazard, uuid.UUID(hazard_id))
        assert hazard is not None and hazard.state.value == "planned"
        answers = db.session.scalar(
            sa.select(sa.func.count()).where(ItemResult.inspection_id == uuid.UUID(inspection_id))
        )
        assert answers == len(codes)

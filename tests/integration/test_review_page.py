"""Reviewing an inspection: the list and the review page with every answer and photo's evidence, flags for
what is suspicious, scope (404 outside it), CSRF, the decision audited and pulled back by the tablet."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import ExifTags, Image
from sqlalchemy import event

from server.extensions import db
from server.models import AuditEvent, Enterprise, Inspection, ReviewDecision
from server.services import audit
from tests.conftest import login
from tests.integration.sync_helpers import T0, Device, enterprise_and_catalogue, inspection_batch

SCRIPT_NOTE = "<script>alert(1)</script>"
FAR_NOTE = "这张照片是在别处拍的"


def jpeg(seed: int, *, exif_time: str | None = None) -> bytes:
    """A small photo; ``exif_time`` as a camera writes it (local time, no zone)."""
    img = Image.effect_noise((320, 240), 30 + seed).convert("RGB")
    exif = Image.Exif()
    if exif_time:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = exif_time
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80, exif=exif)
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Made:
    """An inspection pushed by a simulated tablet, and what the tests look for in it."""

    device: Device
    inspection_id: str
    hazard_id: str
    near_photo: str
    far_photo: str
    missing_photo: str
    hazard_photo: str
    codes: list[str]
    photo_bytes: bytes


def upload(device: Device, data: bytes) -> None:
    """Send a photo's bytes in one chunk, as the tablet does after pushing its record."""
    headers = {**device.headers, "Upload-Offset": "0", "Upload-Length": str(len(data)),
               "Content-Type": "application/offset+octet-stream"}  # fmt: skip
    reply = device.client.put(f"/api/sync/blobs/{sha(data)}", data=data, headers=headers)
    assert reply.status_code == 200, reply.get_json()


def make_inspection(app: Flask, *, submit: bool = True) -> Made:
    """A whole inspection through real sync pushes: answers (one note hostile), a hazard, four photos
    (near the plant with agreeing EXIF, 5 km away, one whose bytes never come, one of the hazard)."""
    device = Device(app, "xx_insp1")
    enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
    with app.app_context():
        enterprise = db.session.get(Enterprise, uuid.UUID(enterprise_id))
        assert enterprise is not None and enterprise.lat is not None and enterprise.lon is not None
        plant = (enterprise.lat, enterprise.lon)
    hazard_bytes, near_bytes, far_bytes, missing_bytes = (
        jpeg(1),
        jpeg(2, exif_time="2026:06:10 09:40:00"),
        jpeg(3),
        jpeg(4),
    )
    inspection_id, batch = inspection_batch(device, enterprise_id, catalogue_id, codes, submit=False,
                                            photo_sha=sha(hazard_bytes))  # fmt: skip
    answers = {m["data"]["item_code"]: m for m in batch if m["entity"] == "item_result"}
    answers[codes[0]]["data"]["note"] = SCRIPT_NOTE
    answers[codes[1]]["data"]["note"] = FAR_NOTE
    hazard_id = next(m["id"] for m in batch if m["entity"] == "hazard")
    hazard_photo = next(m["id"] for m in batch if m["entity"] == "photo")
    # The inspection starts, and the hazard's photo is taken, at the plant's registered location.
    batch[0]["data"].update(start_lat=plant[0], start_lon=plant[1])
    next(m for m in batch if m["entity"] == "photo")["data"].update(lat=plant[0], lon=plant[1])

    def photo(data: bytes, answer: str, lat: float, lon: float) -> dict[str, Any]:
        return device.mutation("photo", {"sha256": sha(data), "entity_type": "item_result", "entity_id": answer,
                                         "captured_at": (T0 + timedelta(minutes=10)).isoformat(), "lat": lat,
                                         "lon": lon, "accuracy_m": 6.0,
                                         "fix_at": (T0 + timedelta(minutes=9, seconds=50)).isoformat()})  # fmt: skip

    near = photo(near_bytes, answers[codes[0]]["id"], plant[0] + 0.0003, plant[1])
    far = photo(far_bytes, answers[codes[1]]["id"], plant[0] + 0.045, plant[1])
    missing = photo(missing_bytes, answers[codes[2]]["id"], plant[0], plant[1] + 0.0002)
    batch += [near, far, missing]
    if submit:
        batch.append(device.mutation("inspection", {
            "status": "submitted", "finished_at": (T0 + timedelta(hours=2)).isoformat(), "end_lat": plant[0],
            "end_lon": plant[1], "end_accuracy_m": 9.0,
        }, id=inspection_id))  # fmt: skip
    for seq, mutation in enumerate(batch, 1):
        mutation["seq"] = seq
    device.seq = len(batch)
    reply = device.push(batch).get_json()
    assert {r["status"] for r in reply["results"]} == {"applied"}, reply
    for data in (hazard_bytes, near_bytes, far_bytes):
        upload(device, data)
    return Made(device, inspection_id, hazard_id, near["id"], far["id"], missing["id"], hazard_photo, codes,
                near_bytes)  # fmt: skip


def signed_in(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, login(client, username)


def fetch(client: FlaskClient, url: str) -> Any:
    """GET ``url`` and read the whole body, closing the file a streamed response holds open."""
    with client.get(url) as response:
        response.get_data()
        return response


def form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def status_of(app: Flask, inspection_id: str) -> str:
    with app.app_context():
        inspection = db.session.get(Inspection, uuid.UUID(inspection_id))
        assert inspection is not None
        return inspection.status.value


def decisions(app: Flask, inspection_id: str) -> int:
    with app.app_context():
        return (
            db.session.scalar(
                sa.select(sa.func.count()).where(ReviewDecision.inspection_id == uuid.UUID(inspection_id))
            )
            or 0
        )


def test_the_supervisor_sees_the_list_and_every_answer_with_its_evidence(app: Flask) -> None:
    made = make_inspection(app)
    sup, _csrf = signed_in(app, "xx_sup")
    listing = sup.get("/inspections")
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200 and "script-src 'self'" in listing.headers["Content-Security-Policy"]
    assert f"/inspections/{made.inspection_id}" in html and "兴县森宇木业有限公司" in html
    assert "张建国" in html and "待审核" in html
    filtered = sup.get("/inspections", query_string={"status": "approved", "enterprise": "森宇"})
    assert f"/inspections/{made.inspection_id}" not in filtered.get_data(as_text=True)
    by_name = sup.get(
        "/inspections", query_string={"status": "submitted", "enterprise": "森宇", "seal": "missing"}
    )
    assert f"/inspections/{made.inspection_id}" in by_name.get_data(as_text=True)

    page = sup.get(f"/inspections/{made.inspection_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for code in made.codes:
        assert f'data-code="{code}"' in html
    assert "不符合" in html and "符合" in html and "除尘系统未采取控爆措施" in html
    assert f'href="/hazards/{made.hazard_id}"' in html
    assert SCRIPT_NOTE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text
    assert FAR_NOTE in html
    # Every photo with its facts; the far one and the one without bytes are flagged; the seal is missing.
    for photo_id in (made.near_photo, made.far_photo, made.missing_photo, made.hazard_photo):
        assert f'id="photo-{photo_id}"' in html
    assert f'href="/photos/{made.near_photo}"' in html and f'src="/photos/{made.near_photo}/thumb"' in html
    assert f'src="/photos/{made.missing_photo}/thumb"' not in html and "照片文件尚未上传" in html
    far_card = html[html.index(f'id="photo-{made.far_photo}"') :].split("</figure>")[0]
    assert 'data-code="far_from_enterprise"' in far_card and "5 km（超过 1 km）" in far_card
    near_card = html[html.index(f'id="photo-{made.near_photo}"') :].split("</figure>")[0]
    assert "review-flags" not in near_card and "SHA-256 已校验" in near_card
    assert "2026-06-10 09:40:00" in near_card and "相差 0 秒" in near_card  # EXIF (China time) agrees
    assert 'data-code="seal_missing"' in html and 'data-code="start_no_position"' not in html
    doubts = re.search(r"(\d+) 项存疑", html)
    assert doubts and int(doubts.group(1)) == 3  # far photo, missing bytes, no seal
    # CSP: no inline script, no inline style; the viewer is a file of our own.
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None and " style=" not in html
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert '<script src="/static/review.js" defer></script>' in html
    assert fetch(sup, "/static/review.js").status_code == 200


def test_photo_bytes_are_served_privately_and_missing_bytes_say_so(app: Flask) -> None:
    made = make_inspection(app)
    sup, _csrf = signed_in(app, "xx_sup")
    full = fetch(sup, f"/photos/{made.near_photo}")
    assert full.status_code == 200 and full.data == made.photo_bytes and full.mimetype == "image/jpeg"
    assert full.headers["Cache-Control"].startswith("private")
    assert full.headers["X-Content-Type-Options"] == "nosniff"
    store = app.extensions["sync"].blobs
    store.thumbnail_path(sha(made.photo_bytes)).unlink()  # derived data: made again when asked for
    thumb = fetch(sup, f"/photos/{made.near_photo}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg" and thumb.data[:2] == b"\xff\xd8"
    assert thumb.headers["Cache-Control"].startswith("private")
    assert fetch(sup, f"/photos/{made.hazard_photo}/thumb").status_code == 200  # through its hazard
    missing = fetch(sup, f"/photos/{made.missing_photo}")
    assert missing.status_code == 404 and "尚未上传" in missing.get_data(as_text=True)
    assert fetch(sup, f"/photos/{uuid.uuid4()}").status_code == 404
    # Bytes received once but gone from the store (lost media): flagged on the page, a clear 404.
    store.path(sha(made.photo_bytes)).unlink()
    lost = fetch(sup, f"/photos/{made.near_photo}")
    assert lost.status_code == 404 and "存储中找不到" in lost.get_data(as_text=True)
    html = sup.get(f"/inspections/{made.inspection_id}").get_data(as_text=True)
    card = html[html.index(f'id="photo-{made.near_photo}"') :].split("</figure>")[0]
    assert 'data-code="file_lost"' in card and "/thumb" not in card


def test_scope_other_counties_inspectors_and_enterprises_get_404(app: Flask) -> None:
    made = make_inspection(app)
    urls = [f"/inspections/{made.inspection_id}", f"/photos/{made.near_photo}", f"/photos/{made.near_photo}/thumb",
            f"/photos/{made.hazard_photo}"]  # fmt: skip
    api = f"/api/inspections/{made.inspection_id}"
    for username in ("lx_sup", "xx_insp1", "qy_jinxing"):
        client, _csrf = signed_in(app, username)
        for url in urls:
            assert client.get(url).status_code == 404, (username, url)
        reply = client.get(api)
        assert reply.status_code == 404 and reply.get_json()["code"] == "404.1", username
    lx_sup, _csrf = signed_in(app, "lx_sup")
    assert f"/inspections/{made.inspection_id}" not in lx_sup.get("/inspections").get_data(as_text=True)
    assert lx_sup.get(f"/inspections/{uuid.uuid4()}").status_code == 404  # the same as out of scope
    city, _csrf = signed_in(app, "ll_city")
    assert city.get(f"/inspections/{made.inspection_id}").status_code == 200
    assert fetch(city, f"/photos/{made.near_photo}").status_code == 200
    body = city.get(api).get_json()
    assert body["status"] == "submitted" and body["enterprise"]["name"] == "兴县森宇木业有限公司"
    far = next(p for item in body["items"] for p in item["photos"] if p["id"] == made.far_photo)
    assert [f["code"] for f in far["flags"]] == ["far_from_enterprise"] and far["distance_m"] > 4900
    assert body["doubtful"] == 3 and [f["code"] for f in body["flags"]] == ["seal_missing"]
    anonymous = app.test_client()
    assert anonymous.get(f"/inspections/{made.inspection_id}").status_code == 302  # to the sign-in page
    assert anonymous.get(api).status_code == 401


@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_a_forged_review_is_refused_and_changes_nothing(app: Flask, token: str | None) -> None:
    made = make_inspection(app)
    sup, _csrf = signed_in(app, "xx_sup")
    form = {"outcome": "return", "comment": "伪造", **({"csrf_token": token} if token else {})}
    refused = sup.post(f"/inspections/{made.inspection_id}/review", data=form)
    assert refused.status_code == 403 and "403.2" in refused.get_data(as_text=True)  # a page, not JSON
    headers = {"X-CSRF-Token": token} if token else {}
    api = sup.post(
        f"/api/inspections/{made.inspection_id}/review", json={"outcome": "approve"}, headers=headers
    )
    assert api.status_code == 403 and api.get_json()["code"] == "403.2"
    assert status_of(app, made.inspection_id) == "submitted" and decisions(app, made.inspection_id) == 0


def test_a_return_needs_a_comment_then_reaches_the_tablet_audited(app: Flask) -> None:
    made = make_inspection(app)
    _changes, cursor, _reset = made.device.pull_all()
    sup, _csrf = signed_in(app, "xx_sup")
    url = f"/inspections/{made.inspection_id}"
    token = form_token(sup.get(url).get_data(as_text=True))
    refused = sup.post(f"{url}/review", data={"csrf_token": token, "outcome": "return", "comment": "  "})
    assert refused.status_code == 400 and "必须填写意见" in refused.get_data(as_text=True)
    unclear = sup.post(
        f"{url}/review", data={"csrf_token": token, "outcome": "maybe", "comment": "保留这段文字"}
    )
    assert unclear.status_code == 400 and ">保留这段文字</textarea>" in unclear.get_data(as_text=True)
    assert status_of(app, made.inspection_id) == "submitted" and decisions(app, made.inspection_id) == 0

    returned = sup.post(
        f"{url}/review", data={"csrf_token": token, "outcome": "return", "comment": "照片不清晰，请补拍"}
    )
    assert returned.status_code == 303 and returned.headers["Location"].endswith(url)
    shown = sup.get(url).get_data(as_text=True)
    assert "已退回此检查记录" in shown and "照片不清晰，请补拍" in shown and 'name="outcome"' not in shown
    with app.app_context():
        inspection = db.session.get(Inspection, uuid.UUID(made.inspection_id))
        assert inspection is not None and inspection.status.value == "returned"
        (decision,) = inspection.decisions
        assert (decision.outcome.value, decision.comment, decision.reviewer.username) == (
            "return", "照片不清晰，请补拍", "xx_sup")  # fmt: skip
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert event is not None and event.action == "inspection.return"
        assert event.entity_id == made.inspection_id and event.data["comment"] == "照片不清晰，请补拍"
        count, broken = audit.verify(db.session)
        assert broken is None and count >= 1

    changes, _cursor, reset = made.device.pull_all(cursor)
    assert not reset
    pulled = {(c["entity"], c["id"]): c for c in changes}
    assert pulled[("inspection", made.inspection_id)]["data"]["status"] == "returned"
    review = next(c for c in changes if c["entity"] == "review_decision")
    assert (
        review["data"]["inspection_id"] == made.inspection_id
        and review["data"]["comment"] == "照片不清晰，请补拍"
    )

    # Returned: neither approved nor returned again; the typed comment stays in the form.
    again = sup.post(f"{url}/review", data={"csrf_token": token, "outcome": "approve", "comment": "补充说明"})
    assert again.status_code == 409 and "不能审核" in again.get_data(as_text=True)
    assert status_of(app, made.inspection_id) == "returned" and decisions(app, made.inspection_id) == 1


def test_approving_through_the_api_and_a_refused_comment_is_kept(app: Flask) -> None:
    made = make_inspection(app)
    sup, csrf = signed_in(app, "xx_sup")
    url = f"/inspections/{made.inspection_id}"
    token = form_token(sup.get(url).get_data(as_text=True))
    # The record is flagged: approving it needs the confirmation and a comment saying how the flags were checked.
    refused = sup.post(f"/api{url}/review", json={"outcome": "approve"}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 400 and refused.get_json()["code"] == "400.31"
    reply = sup.post(
        f"/api{url}/review", json={"outcome": "approve", "confirm_flags": True, "comment": "存疑之处已逐项核实"},
        headers={"X-CSRF-Token": csrf},
    )  # fmt: skip
    assert reply.status_code == 201, reply.get_json()
    assert (
        reply.get_json()["status"] == "approved"
        and reply.get_json()["decision"]["reviewer"] == "兴县应急局 李科长"
    )
    conflict = sup.post(
        f"/api{url}/review", json={"outcome": "return", "comment": "x"}, headers={"X-CSRF-Token": csrf}
    )
    assert conflict.status_code == 409 and conflict.get_json()["code"] == "409.6"
    # A supervisor still on the old page: refused, and what they typed is shown, not lost.
    late = sup.post(
        f"{url}/review", data={"csrf_token": token, "outcome": "return", "comment": "第三项照片模糊"}
    )
    html = late.get_data(as_text=True)
    assert late.status_code == 409 and "已通过" in html and "第三项照片模糊" in html
    body = sup.get(f"/api{url}").get_json()
    assert body["status"] == "approved" and [d["outcome"] for d in body["decisions"]] == ["approve"]
    assert body["reviewable"] is False
    with app.app_context():
        assert audit.verify(db.session)[1] is None


def test_a_draft_cannot_be_reviewed(app: Flask) -> None:
    made = make_inspection(app, submit=False)
    sup, csrf = signed_in(app, "xx_sup")
    page = sup.get(f"/inspections/{made.inspection_id}").get_data(as_text=True)
    assert 'name="outcome"' not in page and "检查中（草稿）" in page
    reply = sup.post(f"/api/inspections/{made.inspection_id}/review", json={"outcome": "approve"},
                     headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert reply.status_code == 409 and reply.get_json()["code"] == "409.6"
    bad = sup.post(f"/api/inspections/{made.inspection_id}/review", json={"outcome": "maybe"},
                   headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert bad.status_code in (400, 422) and bad.get_json()["code"] == "400.2"
    assert status_of(app, made.inspection_id) == "draft" and decisions(app, made.inspection_id) == 0


def test_the_review_page_takes_a_handful_of_queries(app: Flask) -> None:
    made = make_inspection(app)
    sup, _csrf = signed_in(app, "xx_sup")
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert sup.get(f"/inspections/{made.inspection_id}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The signed-in user, the scope's regions, then one query per kind of row, however many photos.
    photo_queries = [s for s in statements if s.lstrip().startswith("SELECT photo.")]
    assert len(photo_queries) == 1 and len(statements) <= 14, statements

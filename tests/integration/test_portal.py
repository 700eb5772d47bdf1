"""The enterprise portal: the self-inspection ledger (validation errors kept next to their fields, major-hazard
fields), the enterprise's side of rectification (plan, report with after-photos stored like synced ones, its own
acceptance of general ledger hazards only), the per-phase self-assessment, CSRF, scope and the audit chain."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import ExifTags, Image

from server.domain.hazards import HazardEventKind, HazardLevel, HazardState
from server.domain.inspections import InspectionKind, InspectionStatus
from server.extensions import current_backend, db
from server.models import (
    AuditEvent,
    Blob,
    Campaign,
    Enterprise,
    Hazard,
    HazardEvent,
    HazardSource,
    Inspection,
    ItemResult,
    Photo,
    User,
)
from server.services import audit, oversight, portal
from tests.conftest import login

JINXING = "兴县晋兴特钢有限公司"
FENGYUAN = "兴县丰源面粉有限公司"
CHINA = ZoneInfo("Asia/Shanghai")


def signed_in(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, login(client, username)


def jpeg(seed: int = 1, *, exif_time: str | None = "2026:07:01 09:00:00") -> bytes:
    """A small photo as a phone makes it; ``exif_time`` is the camera's local time."""
    img = Image.effect_noise((320, 240), 30 + seed).convert("RGB")
    exif = Image.Exif()
    if exif_time:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = exif_time
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80, exif=exif)
    return out.getvalue()


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("L", size).save(out, "PNG")
    return out.getvalue()


def enterprise_id(app: Flask, name: str) -> uuid.UUID:
    with app.app_context():
        found = db.session.scalar(sa.select(Enterprise.id).where(Enterprise.name == name))
        assert found is not None
        return found


def local_now() -> datetime:
    return datetime.now(CHINA).replace(second=0, microsecond=0)


def ledger_form(csrf: str, **overrides: Any) -> dict[str, Any]:
    """A complete, valid general-hazard ledger form."""
    now = local_now() - timedelta(hours=1)
    form = {
        "csrf_token": csrf, "found_at": now.strftime("%Y-%m-%dT%H:%M"), "ledger_no": "ZC-2026-001",
        "checked_by": "安全科 李明", "place": "炼钢车间2#转炉平台", "level": "general",
        "description": "转炉平台防护栏杆一处松动。", "measures": "紧固栏杆并全面排查平台护栏。",
        "responsible_person": "王建平", "deadline": (now.date() + timedelta(days=7)).isoformat(),
        "completed_by": "维修班 赵强", "accepted_by": "安全科 李明", "funds_yuan": "1200.50",
    }  # fmt: skip
    form.update(overrides)
    return form


def new_entry(client: FlaskClient, csrf: str, **overrides: Any) -> uuid.UUID:
    """Record a ledger entry through the form; its id from the redirect."""
    reply = client.post("/portal/ledger/new", data=ledger_form(csrf, **overrides))
    assert reply.status_code == 303, reply.get_data(as_text=True)
    found = re.search(r"/portal/hazards/([0-9a-f-]{36})\?done=created", reply.headers["Location"])
    assert found is not None
    return uuid.UUID(found.group(1))


def error_of(html: str, key: str) -> str:
    """The error shown next to field ``key`` ('' when none)."""
    found = re.search(
        rf'<span class="field-error" id="error-{re.escape(key)}" role="alert">([^<]*)</span>', html
    )
    return found.group(1) if found else ""


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def chain_holds(app: Flask) -> None:
    with app.app_context():
        count, broken = audit.verify(db.session)
        assert broken is None and count > 0


# --- pages and who may see them ------------------------------------------------------------------------------


def test_home_shows_the_enterprise_phase_and_figures(app: Flask) -> None:
    client, _csrf = signed_in(app, "qy_fengyuan")
    html = client.get("/portal").get_data(as_text=True)
    assert FENGYUAN in html and 'id="current-phase"' in html
    for link in ('href="/portal/ledger"', 'href="/portal/self-assessment"', 'href="/portal/hazards"'):
        assert link in html  # the enterprise's nav
    assert 'href="/dashboard"' not in html
    # 丰源's submitted county inspection found DU-5 (open) and CS-2 (accepted): one awaits rectification.
    awaiting = re.search(r'id="figure-awaiting"[^>]*><strong>(\d+)</strong>', html)
    assert awaiting is not None and awaiting.group(1) == "1"
    listed = client.get("/portal/hazards?finder=regulator").get_data(as_text=True)
    assert "磨粉机进料口磁选装置失效" in listed and "面粉筒仓入口" in listed
    assert client.get("/portal/hazards?status=bogus").status_code == 400


@pytest.mark.parametrize("username", ["xx_sup", "xx_insp1", "admin", "xx_expert"])
def test_the_portal_is_404_for_other_roles(app: Flask, username: str) -> None:
    client, _csrf = signed_in(app, username)
    for url in (
        "/portal",
        "/portal/ledger",
        "/portal/ledger/new",
        "/portal/hazards",
        "/portal/self-assessment",
    ):
        assert client.get(url).status_code == 404, (username, url)


def test_anonymous_is_sent_to_sign_in(client: FlaskClient) -> None:
    reply = client.get("/portal/ledger")
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]


# --- the ledger ----------------------------------------------------------------------------------------------


def test_ledger_form_errors_sit_next_to_their_fields_and_keep_what_was_typed(app: Flask) -> None:
    client, csrf = signed_in(app, "qy_jinxing")
    assert client.get("/portal/ledger/new").status_code == 200
    future = (local_now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    reply = client.post("/portal/ledger/new", data=ledger_form(
        csrf, place="", description="", measures="  ", responsible_person="", checked_by="", found_at=future,
        funds_yuan="一千", ledger_no="ZC-KEEP-ME",
    ))  # fmt: skip
    html = reply.get_data(as_text=True)
    assert reply.status_code == 400
    for key in (
        "place",
        "description",
        "measures",
        "responsible_person",
        "checked_by",
        "found_at",
        "funds_yuan",
    ):
        assert error_of(html, key), key
    # One language at a time: the reader's (Chinese by default, English when the browser asks for it).
    assert "请填写隐患部位" in error_of(html, "place") and "required" not in error_of(html, "place")
    assert "不能晚于现在" in error_of(html, "found_at")
    english = client.post("/portal/ledger/new", data=ledger_form(csrf, place="", found_at=future),
                          headers={"Accept-Language": "en"}).get_data(as_text=True)  # fmt: skip
    assert error_of(english, "place") == "Place is required."
    assert "请填写" not in error_of(english, "place") and "future" in error_of(english, "found_at")
    assert not error_of(html, "deadline") and not error_of(html, "ledger_no")
    # Nothing typed is lost: the good values and the bad ones come back in their fields.
    assert 'value="ZC-KEEP-ME"' in html and 'value="一千"' in html and 'value="王建平"' not in html
    assert 'value="维修班 赵强"' in html
    earlier = (local_now() - timedelta(days=10)).date().isoformat()
    html = client.post("/portal/ledger/new", data=ledger_form(
        csrf, deadline=earlier, completed_on="2020-13-01", recheck_on=date.today().isoformat(), level="serious",
    )).get_data(as_text=True)  # fmt: skip
    assert "不能早于检查时间" in error_of(html, "deadline")
    assert "不是有效日期" in error_of(html, "completed_on")
    assert "复查人" in error_of(html, "recheck_by")  # a re-check date needs who re-checked
    assert "隐患等级" in error_of(html, "level")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Hazard.ledger_no == "ZC-KEEP-ME")) == 0


def test_ledger_entry_created_listed_filtered_and_edited(app: Flask) -> None:
    client, csrf = signed_in(app, "qy_jinxing")
    hazard_id = new_entry(client, csrf)
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        user = db.session.scalar(sa.select(User).where(User.username == "qy_jinxing"))
        assert hazard is not None and user is not None
        assert hazard.source == HazardSource.self_ledger and hazard.enterprise.name == JINXING
        assert hazard.ledger_no == "ZC-2026-001" and hazard.place == "炼钢车间2#转炉平台"
        assert hazard.terms == {
            "checked_by": "安全科 李明", "responsible_person": "王建平", "completed_by": "维修班 赵强",
            "accepted_by": "安全科 李明", "measures": "紧固栏杆并全面排查平台护栏。",
        }  # fmt: skip
        assert str(hazard.funds_yuan) == "1200.50" and hazard.five_in_place is None
        [found] = hazard.events
        assert found.kind == HazardEventKind.found and found.actor_id == user.id
        deadline = found.deadline
        assert deadline is not None and deadline == hazard.deadline == hazard.found_at.astimezone(
            CHINA
        ).date() + timedelta(days=7)
    page = client.get(f"/portal/hazards/{hazard_id}?done=created").get_data(as_text=True)
    assert "已登记到自查台账" in page and "紧固栏杆并全面排查平台护栏" in page and "维修班 赵强" in page
    ledger = client.get("/portal/ledger").get_data(as_text=True)
    assert str(hazard_id) in ledger and "ZC-2026-001" in ledger and "1200.50" in ledger
    assert str(hazard_id) in client.get("/portal/ledger?status=open&level=general").get_data(as_text=True)
    assert str(hazard_id) not in client.get("/portal/ledger?level=major").get_data(as_text=True)
    assert str(hazard_id) not in client.get("/portal/ledger?status=overdue").get_data(as_text=True)
    bad = client.get("/portal/ledger?level=huge")
    assert bad.status_code == 400 and "隐患等级“huge”无效" in bad.get_data(as_text=True)
    # A regulator's finding is not part of the enterprise's own ledger.
    assert "1#高炉主控室" not in ledger

    form = client.get(f"/portal/ledger/{hazard_id}/edit").get_data(as_text=True)
    assert 'value="ZC-2026-001"' in form and f'value="{deadline.isoformat()}"' in form
    # The deadline moves only later: an earlier one is refused next to its field, the rest kept.
    earlier = (deadline - timedelta(days=3)).isoformat()
    refused = client.post(f"/portal/ledger/{hazard_id}/edit",
                          data=ledger_form(csrf, deadline=earlier, place="新部位"))  # fmt: skip
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "须晚于原期限" in error_of(html, "deadline")
    assert 'value="新部位"' in html
    later = (deadline + timedelta(days=5)).isoformat()
    done = client.post(f"/portal/ledger/{hazard_id}/edit",
                       data=ledger_form(csrf, deadline=later, place="新部位", recheck_on="", acceptance="待复查"))  # fmt: skip
    assert done.status_code == 303 and "done=updated" in done.headers["Location"]
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        assert (
            hazard is not None and hazard.place == "新部位" and hazard.deadline == date.fromisoformat(later)
        )
        assert [e.kind for e in hazard.events] == [HazardEventKind.found, HazardEventKind.deadline_extended]
        assert hazard.terms["acceptance"] == "待复查"
    # A second entry cannot take the same number.
    clash = client.post("/portal/ledger/new", data=ledger_form(csrf))
    assert clash.status_code == 400 and "已被另一条隐患使用" in error_of(
        clash.get_data(as_text=True), "ledger_no"
    )
    actions = audit_actions(app)
    assert actions.count("ledger.create") == 1 and actions.count("ledger.update") == 1
    chain_holds(app)


def test_major_hazard_needs_its_plan_and_stops_production_without_measures(app: Flask) -> None:
    client, csrf = signed_in(app, "qy_jinxing")
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    html = client.post("/portal/ledger/new", data=ledger_form(
        csrf, level="major", ledger_no="ZC-M-1", reported_to_regulator_on=tomorrow,
    )).get_data(as_text=True)  # fmt: skip
    assert "请填写治理方案" in error_of(html, "treatment_plan")
    assert "停产停业整改" in error_of(html, "stop_production")
    assert "不能晚于今天" in error_of(html, "reported_to_regulator_on")
    today = local_now().date().isoformat()
    hazard_id = new_entry(client, csrf, level="major", ledger_no="ZC-M-1", treatment_plan="一、停产；二、改造。",
                          five_in_place_responsibility="1", five_in_place_funds="1", stop_production="1",
                          reported_to_regulator_on=today, reported_to_workers_congress_on=today)  # fmt: skip
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        assert hazard is not None and hazard.level == HazardLevel.major and hazard.stop_production
        assert hazard.five_in_place == {"measures": False, "responsibility": True, "funds": True,
                                        "time_limit": False, "contingency_plan": False}  # fmt: skip
        assert hazard.treatment_plan == "一、停产；二、改造。"
        assert (
            hazard.reported_to_regulator_on
            == hazard.reported_to_workers_congress_on
            == date.fromisoformat(today)
        )
    page = client.get(f"/portal/hazards/{hazard_id}").get_data(as_text=True)
    assert 'id="major"' in page and "✘ 整改措施到位" in page and "✔ 责任到位" in page
    # With every measure in place the same major hazard needs no stop.
    new_entry(
        client, csrf, level="major", ledger_no="ZC-M-2", treatment_plan="方案", five_in_place_measures="1"
    )


# --- rectification -------------------------------------------------------------------------------------------


def test_own_ledger_hazard_planned_reported_with_photo_and_accepted(app: Flask) -> None:
    client, csrf = signed_in(app, "qy_jinxing")
    hazard_id = new_entry(client, csrf)
    url = f"/portal/hazards/{hazard_id}"
    refused = client.post(url, data={"csrf_token": csrf, "action": "plan", "measures": " "})
    assert refused.status_code == 400 and "请填写整改措施" in error_of(
        refused.get_data(as_text=True), "measures"
    )
    assert (
        client.post(url, data={"csrf_token": csrf, "action": "plan", "measures": "更换紧固件"}).status_code
        == 303
    )

    def report(files: list[tuple[bytes, str]], note: str = "已紧固并复查") -> Any:
        data = {"csrf_token": csrf, "action": "report", "note": note,
                "photos": [(io.BytesIO(b), name) for b, name in files]}  # fmt: skip
        return client.post(url, data=data, content_type="multipart/form-data")

    none = report([])
    html = none.get_data(as_text=True)
    assert none.status_code == 400 and "至少 1 张" in error_of(html, "photos") and "已紧固并复查" in html
    pdf = report([(b"%PDF-1.4 not an image", "report.pdf")])
    assert pdf.status_code == 415 and "report.pdf" in error_of(pdf.get_data(as_text=True), "photos")
    assert "不是允许的图片类型" in error_of(pdf.get_data(as_text=True), "photos")
    app.config["MAX_PHOTO_PIXELS"] = 10_000
    bomb = report([(jpeg(1), "ok.jpg"), (png((200, 200)), "bomb.png")])
    assert bomb.status_code == 422 and "解压炸弹" in error_of(bomb.get_data(as_text=True), "photos")
    app.config["MAX_PHOTO_PIXELS"] = 50_000_000
    too_many = report([(jpeg(i), f"{i}.jpg") for i in range(6)])
    assert too_many.status_code == 400 and "最多上传 5 张" in error_of(
        too_many.get_data(as_text=True), "photos"
    )
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        assert hazard is not None and hazard.state == HazardState.planned
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Blob).where(Blob.width == 200)) == 0

    after = jpeg(7, exif_time="2026:07:01 09:00:00")
    done = report([(after, "after.jpg"), (jpeg(8, exif_time=None), "after2.jpg")])
    assert done.status_code == 303 and "done=report" in done.headers["Location"]
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        assert hazard is not None and hazard.state == HazardState.reported
        reported = next(e for e in hazard.events if e.kind == HazardEventKind.rectification_reported)
        photos = db.session.scalars(sa.select(Photo).where(Photo.entity_id == reported.id)).all()
        assert len(photos) == 2 and {p.entity_type for p in photos} == {"hazard_event"}
        first = next(p for p in photos if p.exif_taken_at is not None)
        second = next(p for p in photos if p.exif_taken_at is None)
        assert first.device_id is None and first.captured_at == datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
        assert second.captured_at is not None and second.captured_at >= reported.received_at - timedelta(
            minutes=1
        )
        assert first.mime == "image/jpeg" and first.width == 320 and first.size == len(after)
        blob = db.session.get(Blob, first.sha256)
        store = current_backend().blobs
        assert blob is not None and blob.has_thumbnail and store.has(first.sha256)
        assert store.thumbnail_path(first.sha256).is_file()
        assert hazard.terms["completed_on"]  # the ledger's completion date, filled in
        photo_id = first.id
    page = client.get(url).get_data(as_text=True)
    assert f"/photos/{photo_id}/thumb" in page and 'id="accept-form"' in page
    with client.get(f"/photos/{photo_id}") as full:
        assert full.status_code == 200 and full.get_data() == after
    with client.get(f"/photos/{photo_id}/thumb") as thumb:
        assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    other, _ = signed_in(app, "qy_fengyuan")
    with other.get(f"/photos/{photo_id}") as hidden:
        assert hidden.status_code == 404
    supervisor, _ = signed_in(app, "xx_sup")
    with supervisor.get(f"/photos/{photo_id}/thumb") as seen:
        assert seen.status_code == 200

    nobody = client.post(
        url, data={"csrf_token": csrf, "action": "accept", "acceptor": "", "opinion": "合格"}
    )
    assert nobody.status_code == 400 and "请填写验收人" in error_of(nobody.get_data(as_text=True), "acceptor")
    accepted = client.post(url, data={"csrf_token": csrf, "action": "accept", "acceptor": "安全科 李明",
                                      "opinion": "合格"})  # fmt: skip
    assert accepted.status_code == 303
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        assert hazard is not None and hazard.state == HazardState.accepted
        assert hazard.events[-1].comment == "验收人：安全科 李明；验收意见：合格"
        assert hazard.terms["acceptance"] == "合格" and hazard.terms["accepted_on"]
    actions = audit_actions(app)
    for action in ("ledger.create", "hazard.plan", "hazard.report", "hazard.accept_own"):
        assert action in actions
    chain_holds(app)


def test_a_regulators_finding_is_rectified_but_not_accepted_by_the_enterprise(app: Flask) -> None:
    client, csrf = signed_in(app, "qy_fengyuan")
    with app.app_context():
        hazard = db.session.scalar(sa.select(Hazard).where(Hazard.description.like("磨粉机进料口%")))
        assert hazard is not None and hazard.state == HazardState.found and hazard.inspection_id is not None
        hazard_id = hazard.id
    url = f"/portal/hazards/{hazard_id}"
    page = client.get(url).get_data(as_text=True)
    assert "执法检查" in page and "由监管部门验收" in page and 'id="plan-form"' in page
    assert (
        client.post(url, data={"csrf_token": csrf, "action": "plan", "measures": "更换永磁筒"}).status_code
        == 303
    )
    data = {
        "csrf_token": csrf,
        "action": "report",
        "note": "已更换",
        "photos": [(io.BytesIO(jpeg(3)), "a.jpg")],
    }
    assert client.post(url, data=data, content_type="multipart/form-data").status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert 'id="accept-form"' not in page and "等待监管部门验收" in page
    forged = client.post(url, data={"csrf_token": csrf, "action": "accept", "acceptor": "厂长"})
    assert forged.status_code == 403 and "由监管部门验收" in forged.get_data(as_text=True)
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        assert hazard is not None and hazard.state == HazardState.reported
    # The ledger form edits only the own ledger's entries.
    assert client.get(f"/portal/ledger/{hazard_id}/edit").status_code == 404
    # A planned state is not the enterprise's to leave by planning again.
    again = client.post(url, data={"csrf_token": csrf, "action": "plan", "measures": "再次"})
    assert again.status_code == 409 and "状态" in again.get_data(as_text=True)


def test_another_enterprises_hazard_is_404(app: Flask) -> None:
    jinxing, csrf_j = signed_in(app, "qy_jinxing")
    own = new_entry(jinxing, csrf_j)
    other, csrf = signed_in(app, "qy_fengyuan")
    with app.app_context():
        regulator_found = db.session.scalar(
            sa.select(Hazard.id).where(Hazard.description.like("1#高炉主控室%"))
        )
    for hazard_id in (own, regulator_found, uuid.uuid4()):
        assert other.get(f"/portal/hazards/{hazard_id}").status_code == 404
        assert other.get(f"/portal/ledger/{hazard_id}/edit").status_code == 404
        posted = other.post(f"/portal/hazards/{hazard_id}", data={"csrf_token": csrf, "action": "plan",
                                                                  "measures": "x"})  # fmt: skip
        assert posted.status_code == 404
        assert other.post(f"/portal/ledger/{hazard_id}/edit", data=ledger_form(csrf)).status_code == 404
    assert str(own) not in other.get("/portal/ledger").get_data(as_text=True)
    assert str(own) not in other.get("/portal/hazards").get_data(as_text=True)


def test_forged_posts_are_refused(app: Flask) -> None:
    client, csrf = signed_in(app, "qy_jinxing")
    hazard_id = new_entry(client, csrf)
    before = audit_actions(app)
    posts = [
        ("/portal/ledger/new", ledger_form("", ledger_no="FORGED")),
        (f"/portal/ledger/{hazard_id}/edit", ledger_form("wrong-token", place="伪造")),
        (f"/portal/hazards/{hazard_id}", {"action": "plan", "measures": "伪造"}),
        ("/portal/self-assessment", {"action": "save"}),
    ]
    for url, data in posts:
        data = {k: v for k, v in data.items() if v != ""}
        reply = client.post(url, data=data)
        # A page (issue 16: never raw JSON on a form), naming the catalogue's code.
        assert reply.status_code == 403 and "403.2" in reply.get_data(as_text=True), url
    assert audit_actions(app) == before
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        assert hazard is not None and hazard.state == HazardState.found and hazard.place != "伪造"


# --- the self-assessment -------------------------------------------------------------------------------------


def phases_around_today(app: Flask) -> None:
    """Lay the demo campaign's phases so that self-inspection runs today and county coverage is still to come."""
    today = datetime.now(CHINA).date()
    spans = {"deployment": (-40, -31), "self_inspection": (-30, 5), "county_coverage": (6, 60),
             "city_sampling": (61, 90), "look_back": (91, 120)}  # fmt: skip
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign))
        assert campaign is not None
        for phase in campaign.phases:
            start, end = spans[phase.code]
            phase.starts_on, phase.ends_on = today + timedelta(days=start), today + timedelta(days=end)
        db.session.commit()


def test_self_assessment_saved_submitted_and_read_only(app: Flask) -> None:
    phases_around_today(app)
    client, csrf = signed_in(app, "qy_jinxing")
    ent = enterprise_id(app, JINXING)
    with app.app_context():
        supervisor = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        assert supervisor is not None
        before = oversight.clearances(db.session, supervisor, date.today(), [ent])[ent]
    html = client.get("/portal/self-assessment").get_data(as_text=True)
    codes = re.findall(r'<article class="card portal-item" id="item-([A-Z]+-\d+)">', html)
    assert codes and all(c.startswith(("ST-", "CS-", "HW-", "DU-", "AL-")) for c in codes)
    assert "企业自查自改" in html and 'id="assessment-status">未开始' in html
    assert client.get("/portal/self-assessment?phase=county_coverage").status_code == 400  # not begun
    assert client.get("/portal/self-assessment?phase=nonsense").status_code == 404

    first, second = codes[0], codes[1]
    bad = client.post("/portal/self-assessment", data={
        "csrf_token": csrf, "action": "save", f"result-{first}": "non_compliant", f"note-{first}": "",
        f"result-{second}": "maybe", f"note-{second}": "保留这段说明",
    })  # fmt: skip
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "请说明不符合的情况" in error_of(html, f"note-{first}")
    assert error_of(html, f"result-{second}") and "保留这段说明" in html
    photo = jpeg(5)
    saved = client.post("/portal/self-assessment", data={
        "csrf_token": csrf, "action": "save", f"result-{first}": "compliant", f"note-{first}": "已安装",
        f"photos-{first}": [(io.BytesIO(photo), "evidence.jpg")],
    }, content_type="multipart/form-data")  # fmt: skip
    assert saved.status_code == 303 and "done=saved" in saved.headers["Location"]
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign))
        assert campaign is not None
        phase = next(p for p in campaign.phases if p.code == "self_inspection")
        inspection = db.session.get(Inspection, portal.self_assessment_id(ent, campaign, phase))
        assert inspection is not None and inspection.kind == InspectionKind.self_check
        assert inspection.status == InspectionStatus.draft and inspection.created_by.username == "qy_jinxing"
        [result] = inspection.results
        assert (result.item_code, result.result.value, result.note) == (first, "compliant", "已安装")
        [evidence] = db.session.scalars(sa.select(Photo).where(Photo.entity_id == result.id)).all()
        assert evidence.entity_type == "item_result" and evidence.device_id is None
        inspection_id, evidence_id = inspection.id, evidence.id
    with client.get(f"/photos/{evidence_id}/thumb") as thumb:
        assert thumb.status_code == 200
    draft = client.get("/portal/self-assessment").get_data(as_text=True)
    assert 'id="assessment-status">草稿' in draft and f"/photos/{evidence_id}/thumb" in draft

    incomplete = client.post("/portal/self-assessment", data={"csrf_token": csrf, "action": "submit",
                                                              f"result-{first}": "compliant"})  # fmt: skip
    assert incomplete.status_code == 400 and "提交前须逐项自评" in error_of(incomplete.get_data(as_text=True),
                                                                           f"result-{second}")  # fmt: skip
    answers: dict[str, Any] = {"csrf_token": csrf, "action": "submit"}
    for code in codes:
        answers[f"result-{code}"] = "compliant"
    answers[f"result-{second}"], answers[f"note-{second}"] = "not_applicable", "本厂无此设备"
    submitted = client.post("/portal/self-assessment", data=answers)
    assert submitted.status_code == 303 and "done=submitted" in submitted.headers["Location"]
    with app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        assert inspection is not None and inspection.status == InspectionStatus.submitted
        assert inspection.finished_at is not None and len(inspection.results) == len(codes)
        # Self-assessments never count towards 清零.
        after = oversight.clearances(db.session, supervisor, date.today(), [ent])[ent]
        assert after == before
    page = client.get("/portal/self-assessment").get_data(as_text=True)
    assert 'id="assessment-form"' not in page and "不可修改" in page and "本厂无此设备" in page
    again = client.post("/portal/self-assessment", data={**answers, "action": "save"})
    assert again.status_code == 409 and "已提交" in again.get_data(as_text=True)
    with app.app_context():
        changed = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ItemResult)
            .where(ItemResult.inspection_id == inspection_id)
        )
        assert changed == len(codes)
    # A supervisor reviews it like any record; returned, it opens again with the comment shown.
    supervisor_client, sup_csrf = signed_in(app, "xx_sup")
    assert supervisor_client.get(f"/inspections/{inspection_id}").status_code == 200
    returned = supervisor_client.post(f"/api/inspections/{inspection_id}/review", json={
        "outcome": "return", "comment": "ST 项佐证照片不足，请补充。"}, headers={"X-CSRF-Token": sup_csrf})  # fmt: skip
    assert returned.status_code == 201
    page = client.get("/portal/self-assessment").get_data(as_text=True)
    assert 'id="assessment-form"' in page and "ST 项佐证照片不足" in page
    assert client.post("/portal/self-assessment", data=answers).status_code == 303
    with app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        assert inspection is not None and inspection.status == InspectionStatus.submitted
    actions = audit_actions(app)
    assert actions.count("self_assessment.save") == 1 and actions.count("self_assessment.submit") == 2
    chain_holds(app)


def test_each_phase_has_its_own_self_assessment(app: Flask) -> None:
    phases_around_today(app)
    client, csrf = signed_in(app, "qy_fengyuan")
    html = client.get("/portal/self-assessment?phase=deployment").get_data(as_text=True)
    [code, *_] = re.findall(r'id="item-([A-Z]+-\d+)"', html)
    for phase in ("deployment", "self_inspection"):
        reply = client.post(f"/portal/self-assessment?phase={phase}",
                            data={"csrf_token": csrf, "action": "save", f"result-{code}": "compliant"})  # fmt: skip
        assert reply.status_code == 303 and f"phase={phase}" in reply.headers["Location"]
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Inspection).where(Inspection.kind == InspectionKind.self_check.value)
        ).all()
        assert len(rows) == 2 and len({r.id for r in rows}) == 2
        assert {r.summary_note.rsplit("（", 1)[1] for r in rows if r.summary_note} == {
            "deployment）",
            "self_inspection）",
        }
    audit_rows = audit_actions(app)
    assert audit_rows.count("self_assessment.save") == 2
    chain_holds(app)


def test_events_a_device_pulls_include_the_web_records(app: Flask) -> None:
    """What the enterprise records on the web reaches its own tablet (ledger entries and their events)."""
    from tests.integration.sync_helpers import Device

    client, csrf = signed_in(app, "qy_jinxing")
    hazard_id = new_entry(client, csrf)
    device = Device(app, "qy_jinxing")
    changes, _cursor, _reset = device.pull_all()
    entries = {c["id"]: c for c in changes if c["entity"] == "ledger_entry"}
    assert (
        str(hazard_id) in entries and entries[str(hazard_id)]["data"]["terms"]["checked_by"] == "安全科 李明"
    )
    with app.app_context():
        found = db.session.scalar(sa.select(HazardEvent.id).where(HazardEvent.hazard_id == hazard_id))
    assert str(found) in {c["id"] for c in changes if c["entity"] == "hazard_event"}

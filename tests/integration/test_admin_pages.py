"""The admin's pages: regions, campaigns with phases, users (add, disable, enable, reset a password) through the
same services as the command line, audited with the admin as actor; refusals from the catalogue; 403 for others."""

from __future__ import annotations

import html as html_lib
import re

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.models import AuditEvent, Campaign, Region, User
from tests.conftest import login

HTML = {"Accept": "text/html"}


def _admin(app: Flask) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, login(client, "admin")


def _audited(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def _admin_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == "admin")) or 0


def _user_id(app: Flask, username: str) -> int:
    with app.app_context():
        found = db.session.scalar(sa.select(User.id).where(User.username == username))
        assert found is not None
        return found


def _signs_in(app: Flask, username: str, password: str) -> int:
    return (
        app.test_client()
        .post("/api/auth/login", json={"username": username, "password": password})
        .status_code
    )


def test_only_an_admin_may_use_the_pages(app: Flask) -> None:
    anonymous = app.test_client().get("/admin/users", headers=HTML)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    supervisor = app.test_client()
    csrf = login(supervisor, "xx_sup")
    for path in ("/admin", "/admin/regions", "/admin/campaigns/new", "/admin/users"):
        reply = supervisor.get(path, headers=HTML)
        assert reply.status_code == 403 and "无权执行此操作" in reply.get_data(as_text=True), path
    made = supervisor.post("/admin/users", data={"csrf_token": csrf, "username": "sneaky", "role": "admin",
                                                  "password_mode": "set", "password": "Sneaky-pass-1"})  # fmt: skip
    assert made.status_code == 403 and _signs_in(app, "sneaky", "Sneaky-pass-1") == 401
    assert 'href="/admin"' not in supervisor.get("/dashboard").get_data(as_text=True)
    admin, _ = _admin(app)
    assert 'href="/admin"' in admin.get("/dashboard").get_data(as_text=True)
    assert admin.get("/admin").status_code == 200


def test_regions_are_listed_added_audited_and_refused_in_the_readers_language(app: Flask) -> None:
    admin, csrf = _admin(app)
    listed = admin.get("/admin/regions").get_data(as_text=True)
    assert "141123" in listed and "兴县" in listed
    added = admin.post("/admin/regions", data={"csrf_token": csrf, "code": "141199", "name": "测试县",
                                               "level": "county", "parent": "141100", "authority": "测试县应急管理局"})  # fmt: skip
    assert added.status_code == 303
    assert "141199" in admin.get(added.headers["Location"]).get_data(as_text=True)
    events = _audited(app, "region.create")
    assert events and events[-1].actor_id == _admin_id(app)
    wrong = admin.post("/admin/regions", data={"csrf_token": csrf, "code": "1411990", "name": "错",
                                               "level": "zone", "parent": "141100"})  # fmt: skip
    assert wrong.status_code == 400 and "上级区域不符：园区须以县为上级" in wrong.get_data(as_text=True)
    english = admin.post("/admin/regions", data={"csrf_token": csrf, "code": "141199", "name": "again",
                                                 "level": "county", "parent": "141100"}, headers={"Accept-Language": "en"})  # fmt: skip
    text = english.get_data(as_text=True)
    assert (
        english.status_code == 400 and "Code: region 141199 exists already." in text and "已存在" not in text
    )
    unsigned = admin.post("/admin/regions", data={"code": "141198", "name": "无令牌", "level": "county",
                                                  "parent": "141100"}, headers=HTML)  # fmt: skip
    assert unsigned.status_code == 403 and "CSRF" in unsigned.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Region).where(Region.code == "141198")) is None


def test_a_campaign_is_added_with_its_phases(app: Flask) -> None:
    admin, csrf = _admin(app)
    form = {"csrf_token": csrf, "code": "xx-2027", "name": "兴县2027年大检查", "region": "141123",
            "sampling_percent": "15", "deployment_starts_on": "2027-04-20", "deployment_ends_on": "2027-05-02",
            "county_coverage_starts_on": "2027-06-01", "county_coverage_ends_on": "2027-08-31"}  # fmt: skip
    overlapping = admin.post("/admin/campaigns/new", data={**form, "deployment_ends_on": "2027-06-05"})
    assert overlapping.status_code == 400 and "与上一阶段重叠" in overlapping.get_data(as_text=True)
    bad_date = admin.post("/admin/campaigns/new", data={**form, "deployment_ends_on": "2027-02-30"})
    assert bad_date.status_code == 400 and "不是有效日期" in bad_date.get_data(as_text=True)
    added = admin.post("/admin/campaigns/new", data=form)
    assert added.status_code == 303
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.code == "xx-2027"))
        assert campaign is not None and campaign.sampling_percent == 15
        assert [(p.code, p.name) for p in campaign.phases] == [
            ("deployment", "动员部署"),
            ("county_coverage", "县级全覆盖检查"),
        ]
    assert "兴县2027年大检查" in admin.get("/admin/campaigns/new").get_data(as_text=True)
    assert _audited(app, "campaign.create")[-1].actor_id == _admin_id(app)


def test_users_are_added_with_a_one_time_password_or_a_strong_typed_one(app: Flask) -> None:
    admin, csrf = _admin(app)
    base = {"csrf_token": csrf, "role": "inspector", "region": "141123", "display_name": "新检查员"}
    weak = admin.post("/admin/users", data={**base, "username": "xx_new1", "password_mode": "set",
                                            "password": "short"})  # fmt: skip
    assert weak.status_code == 400 and "密码不够安全：至少 10 个字符" in weak.get_data(as_text=True)
    named = admin.post("/admin/users", data={**base, "username": "xx_new1", "password_mode": "set",
                                             "password": "xx_new1-2027"})  # fmt: skip
    assert named.status_code == 400 and "不能包含用户名" in named.get_data(as_text=True)
    no_region = admin.post("/admin/users", data={**base, "region": "", "username": "xx_new1",
                                                 "password_mode": "set", "password": "Good-pass-2027"})  # fmt: skip
    assert no_region.status_code == 400 and "该角色必须指定管辖区域" in no_region.get_data(as_text=True)
    assert _signs_in(app, "xx_new1", "Good-pass-2027") == 401

    generated = admin.post("/admin/users", data={**base, "username": "xx_new2", "password_mode": "generate"})
    html = generated.get_data(as_text=True)
    assert generated.status_code == 200 and generated.headers["Cache-Control"] == "no-store"
    match = re.search(r"<code data-password>([^<]+)</code>", html)
    assert match and len(match.group(1)) >= 14
    assert _signs_in(app, "xx_new2", match.group(1)) == 200
    assert match.group(1) not in admin.get("/admin/users").get_data(as_text=True)  # shown once only

    typed = admin.post("/admin/users", data={**base, "username": "xx_new3", "password_mode": "set",
                                             "password": "Good-pass-2027"})  # fmt: skip
    assert typed.status_code == 303 and _signs_in(app, "xx_new3", "Good-pass-2027") == 200
    created = _audited(app, "user.create")
    assert [e.actor_id for e in created[-2:]] == [_admin_id(app)] * 2
    duplicate = admin.post("/admin/users", data={**base, "username": "xx_new3", "password_mode": "generate"},
                           headers={"Accept-Language": "en"})  # fmt: skip
    assert duplicate.status_code == 409
    assert "User name 'xx_new3' already exists." in html_lib.unescape(duplicate.get_data(as_text=True))


def test_disabling_enabling_and_resetting_a_password(app: Flask) -> None:
    admin, csrf = _admin(app)
    target = _user_id(app, "xx_insp1")
    inspector = app.test_client()
    login(inspector, "xx_insp1")
    assert (
        admin.post(f"/admin/users/{target}/active", data={"csrf_token": csrf, "active": "0"}).status_code
        == 303
    )
    assert _signs_in(app, "xx_insp1", "jiancha-2026") == 403
    assert inspector.get("/api/auth/me").status_code in (401, 403)
    assert (
        admin.post(f"/admin/users/{target}/active", data={"csrf_token": csrf, "active": "1"}).status_code
        == 303
    )
    assert _signs_in(app, "xx_insp1", "jiancha-2026") == 200
    assert [e.actor_id for e in _audited(app, "user.disable") + _audited(app, "user.enable")] == [
        _admin_id(app)
    ] * 2
    itself = admin.post(f"/admin/users/{_admin_id(app)}/active", data={"csrf_token": csrf, "active": "0"})
    assert itself.status_code == 409 and "不能停用自己的账号" in itself.get_data(as_text=True)

    weak = admin.post(f"/admin/users/{target}/password", data={"csrf_token": csrf, "password_mode": "set",
                                                               "password": "aaaaaaaaaaaa"})  # fmt: skip
    assert weak.status_code == 400 and "至少两类" in weak.get_data(as_text=True)
    reset = admin.post(
        f"/admin/users/{target}/password", data={"csrf_token": csrf, "password_mode": "generate"}
    )
    match = re.search(r"<code data-password>([^<]+)</code>", reset.get_data(as_text=True))
    assert reset.status_code == 200 and match and reset.headers["Cache-Control"] == "no-store"
    assert _signs_in(app, "xx_insp1", "jiancha-2026") == 401
    assert _signs_in(app, "xx_insp1", match.group(1)) == 200
    typed = admin.post(f"/admin/users/{target}/password", data={"csrf_token": csrf, "password_mode": "set",
                                                                "password": "Another-pass-9"})  # fmt: skip
    assert typed.status_code == 303 and _signs_in(app, "xx_insp1", "Another-pass-9") == 200
    assert all(e.actor_id == _admin_id(app) for e in _audited(app, "user.reset_password"))


def test_a_users_own_new_password_meets_the_same_rule(app: Flask) -> None:
    client = app.test_client()
    csrf = login(client, "xx_insp1")

    def change(new: str) -> int:
        return client.post("/api/auth/password", json={"current_password": "jiancha-2026", "new_password": new},
                           headers={"X-CSRF-Token": csrf}).status_code  # fmt: skip

    assert change("abcdefghij") == 400  # one kind of character only
    assert change("xx_insp1-2027") == 400  # the user name inside
    assert _signs_in(app, "xx_insp1", "jiancha-2026") == 200
    assert change("Field-day-2027") in (200, 204)
    assert _signs_in(app, "xx_insp1", "Field-day-2027") == 200

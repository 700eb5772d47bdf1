"""Issue 16, items 6, 7 and 10, attacked over HTTP: a session cookie saved before sign-out, a new password or an
admin's "sign out everywhere" no longer works; password guessing is throttled per account and per address (with
a clear Chinese message, and audited); a lost tablet revoked from the web stays revoked, ends its user's
sessions, and what it pushes if it comes back is kept in quarantine, never applied."""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.models import AuditEvent, Device, Inspection, Quarantine, User
from tests.conftest import DEMO_PASSWORD, login
from tests.integration.sync_helpers import T0, enterprise_and_catalogue
from tests.integration.sync_helpers import Device as Tablet


def _replay(app: Flask, stolen: str) -> FlaskClient:
    """A new browser holding a copy of a session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    return thief


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_a_cookie_saved_before_api_logout_no_longer_works(app: Flask) -> None:
    client = app.test_client()
    csrf = login(client, "xx_sup")
    stolen = _cookie(client)
    assert _replay(app, stolen).get("/api/auth/me").status_code == 200
    assert client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert _replay(app, stolen).get("/api/auth/me").status_code == 401
    assert _replay(app, stolen).get("/dashboard").status_code == 302


def test_a_cookie_saved_before_the_web_logout_no_longer_works(app: Flask) -> None:
    client = app.test_client()
    csrf = login(client, "xx_sup")
    stolen = _cookie(client)
    client.post("/logout", data={"csrf_token": csrf})
    assert _replay(app, stolen).get("/api/auth/me").status_code == 401


def test_changing_the_password_ends_every_other_session(app: Flask) -> None:
    other = app.test_client()
    login(other, "xx_insp2")
    client = app.test_client()
    csrf = login(client, "xx_insp2")
    reply = client.post("/api/auth/password", json={"current_password": DEMO_PASSWORD, "new_password": "新密码-2026-x"},
                        headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert reply.status_code == 204, reply.get_json()
    assert other.get("/api/auth/me").status_code == 401
    assert client.get("/api/auth/me").status_code == 200
    assert app.test_client().post("/api/auth/login", json={"username": "xx_insp2", "password": "新密码-2026-x"}).status_code == 200  # fmt: skip


def test_a_wrong_current_password_changes_nothing(app: Flask) -> None:
    client = app.test_client()
    csrf = login(client, "xx_insp2")
    reply = client.post("/api/auth/password", json={"current_password": "wrong-one", "new_password": "新密码-2026-x"},
                        headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert reply.status_code == 401
    login(app.test_client(), "xx_insp2")


def test_an_admin_signs_a_user_out_everywhere(app: Flask) -> None:
    victim = app.test_client()
    login(victim, "xx_insp3")
    admin = app.test_client()
    csrf = login(admin, "admin")
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.username == "xx_insp3"))
    reply = admin.post(f"/api/users/{user_id}/sign-out", headers={"X-CSRF-Token": csrf})
    assert reply.status_code == 204, reply.get_json()
    assert victim.get("/api/auth/me").status_code == 401
    supervisor = app.test_client()
    csrf = login(supervisor, "lx_sup")  # another county's supervisor may not
    assert (
        supervisor.post(f"/api/users/{user_id}/sign-out", headers={"X-CSRF-Token": csrf}).status_code == 404
    )


# --- throttling ------------------------------------------------------------------------------------------------


def _attempt(
    client: FlaskClient, username: str, password: str, address: str = "203.0.113.7"
) -> tuple[int, dict]:
    reply = client.post("/api/auth/login", json={"username": username, "password": password},
                        environ_base={"REMOTE_ADDR": address}, headers={"Accept-Language": "zh-CN"})  # fmt: skip
    return reply.status_code, reply.get_json()


def test_guessing_one_accounts_password_is_throttled(app: Flask) -> None:
    client = app.test_client()
    codes = [_attempt(client, "xx_insp4", f"guess-{n}")[0] for n in range(12)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes
    status, body = _attempt(client, "xx_insp4", DEMO_PASSWORD)
    assert status == 429 and "登录" in body["message"] and body["messages"]["en"], body
    # Another address is throttled too: the account's own counter holds, whoever guesses.
    assert _attempt(client, "xx_insp4", DEMO_PASSWORD, address="198.51.100.9")[0] == 429
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action.like("login.%"))
        ).all()
    assert actions.count("login.failed") == 5 and "login.throttled" in actions, actions
    # The web form says so in a page, not in JSON.
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf is not None
    page = client.post("/login", data={"username": "xx_insp4", "password": DEMO_PASSWORD, "csrf_token": csrf[1]},
                       environ_base={"REMOTE_ADDR": "203.0.113.7"})  # fmt: skip
    assert page.status_code == 429 and "登录" in page.get_data(as_text=True)


def test_guessing_many_accounts_from_one_address_is_throttled(app: Flask) -> None:
    client = app.test_client()
    names = [f"nobody{n}" for n in range(40)]
    codes = [_attempt(client, name, "guess")[0] for name in names]
    assert 429 in codes and codes.index(429) <= 30, codes
    # The real users are not locked out from their own addresses.
    assert _attempt(client, "xx_sup", DEMO_PASSWORD, address="192.0.2.44")[0] == 200


# --- lost tablets ----------------------------------------------------------------------------------------------


def _device_id(app: Flask, tablet: Tablet) -> uuid.UUID:
    return uuid.UUID(tablet.device_id)


def test_a_supervisor_revokes_a_lost_tablet_from_the_web_in_one_step(app: Flask) -> None:
    tablet = Tablet(app, "xx_insp1")
    owner = app.test_client()
    owner_csrf = login(owner, "xx_insp1")
    supervisor = app.test_client()
    csrf = login(supervisor, "xx_sup")
    page = supervisor.get("/devices")
    assert page.status_code == 200 and tablet.device_id in page.get_data(as_text=True)
    reply = supervisor.post(f"/devices/{tablet.device_id}/revoke", data={"csrf_token": csrf})
    assert reply.status_code == 302
    with app.app_context():
        device = db.session.get(Device, _device_id(app, tablet))
        assert device is not None and device.revoked_at is not None
    # The user's sessions ended with it: the 31-day cookie cannot register the tablet again.
    assert owner.post("/api/devices", json={"device_id": tablet.device_id},
                      headers={"X-CSRF-Token": owner_csrf}).status_code == 401  # fmt: skip
    # Nor can a fresh sign-in: a revoked id needs an admin.
    fresh = app.test_client()
    fresh_csrf = login(fresh, "xx_insp1")
    refused = fresh.post(
        "/api/devices", json={"device_id": tablet.device_id}, headers={"X-CSRF-Token": fresh_csrf}
    )
    assert refused.status_code == 403 and refused.get_json()["code"] == "403.90", refused.get_json()
    assert tablet.client.get("/api/sync/pull", headers=tablet.headers).status_code == 401
    # Another county's supervisor may not revoke this user's tablets.
    other = app.test_client()
    other_csrf = login(other, "lx_sup")
    assert (
        other.post(f"/devices/{tablet.device_id}/revoke", data={"csrf_token": other_csrf}).status_code == 404
    )


def test_an_admin_lets_a_revoked_tablet_register_again(app: Flask) -> None:
    tablet = Tablet(app, "xx_insp1")
    admin = app.test_client()
    csrf = login(admin, "admin")
    assert admin.post(f"/devices/{tablet.device_id}/revoke", data={"csrf_token": csrf}).status_code == 302
    assert (
        admin.post(f"/api/devices/{tablet.device_id}/reinstate", headers={"X-CSRF-Token": csrf}).status_code
        == 200
    )
    user = app.test_client()
    user_csrf = login(user, "xx_insp1")
    assert user.post("/api/devices", json={"device_id": tablet.device_id},
                     headers={"X-CSRF-Token": user_csrf}).status_code == 201  # fmt: skip


def test_what_a_revoked_tablet_pushes_is_quarantined_not_applied(app: Flask) -> None:
    tablet = Tablet(app, "xx_insp1")
    enterprise_id, catalogue_id, _codes = enterprise_and_catalogue(app)
    admin = app.test_client()
    csrf = login(admin, "admin")
    assert admin.post(f"/devices/{tablet.device_id}/revoke", data={"csrf_token": csrf}).status_code == 302
    inspection_id = str(uuid.uuid4())
    mutation = tablet.mutation("inspection", {"enterprise_id": enterprise_id, "catalogue_id": catalogue_id,
                                              "kind": "county", "started_at": T0.isoformat()}, id=inspection_id)  # fmt: skip
    reply = tablet.push([mutation])
    assert reply.status_code == 200, reply.get_json()
    assert [r["status"] for r in reply.get_json()["results"]] == ["quarantined"]
    assert reply.get_json()["results"][0]["code"] == "401.2"
    with app.app_context():
        assert db.session.get(Inspection, uuid.UUID(inspection_id)) is None
        kept = db.session.scalars(
            sa.select(Quarantine).where(Quarantine.device_id == uuid.UUID(tablet.device_id))
        ).all()
        assert [q.entity_id for q in kept] == [inspection_id]

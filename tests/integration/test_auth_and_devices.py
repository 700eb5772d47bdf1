"""Sign-in (web and API), CSRF, roles and device registration with bearer tokens."""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.models import Device, User
from tests.conftest import DEMO_PASSWORD, login

JWK = {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
       "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}  # fmt: skip


def _form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def test_web_login_logout_round_trip(client: FlaskClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    token = _form_token(page.get_data(as_text=True))
    response = client.post(
        "/login", data={"username": "xx_sup", "password": DEMO_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "兴县应急局 李科长" in home.get_data(as_text=True)
    logout_token = _form_token(home.get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": logout_token}).status_code == 302
    assert client.get("/").status_code == 302  # back to the login page


def test_web_login_wrong_password_says_so_in_chinese(client: FlaskClient) -> None:
    token = _form_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": "xx_sup", "password": "wrong-pass", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_forged_form_post_without_csrf_token_is_rejected(client: FlaskClient) -> None:
    response = client.post("/login", data={"username": "xx_sup", "password": DEMO_PASSWORD})
    assert response.status_code == 403
    login(client, "xx_sup")
    forged = client.post("/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert client.get("/api/auth/me").status_code == 200  # still signed in


def test_login_redirect_never_leaves_the_site(client: FlaskClient) -> None:
    token = _form_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=https://evil.example/",
        data={"username": "xx_sup", "password": DEMO_PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_api_login_returns_user_and_csrf_token(client: FlaskClient) -> None:
    response = client.post("/api/auth/login", json={"username": "xx_insp1", "password": DEMO_PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["role"] == "inspector"
    assert body["user"]["region"]["code"] == "141123"
    assert body["csrf_token"]
    assert "password" not in body["user"]


def test_api_login_errors_come_from_the_catalogue_in_both_languages(client: FlaskClient) -> None:
    wrong = client.post("/api/auth/login", json={"username": "xx_insp1", "password": "nope-nope"})
    assert wrong.status_code == 401
    assert wrong.get_json()["code"] == "401.3"
    assert wrong.get_json()["messages"]["en"] == "Wrong user name or password."
    english = client.post(
        "/api/auth/login",
        json={"username": "nobody", "password": "nope-nope"},
        headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    assert english.get_json()["message"] == "Wrong user name or password."
    missing = client.post("/api/auth/login", json={"username": "xx_insp1"})
    assert missing.status_code == 400
    assert missing.get_json()["code"] == "400.2"
    assert "password" in missing.get_json()["message"]
    form = client.post("/api/auth/login", data={"username": "xx_insp1", "password": DEMO_PASSWORD})
    assert form.status_code in (400, 415)


def test_disabled_account_cannot_sign_in_and_loses_its_session(app: Flask, client: FlaskClient) -> None:
    login(client, "xx_insp2")
    with app.app_context():
        db.session.execute(sa.update(User).where(User.username == "xx_insp2").values(active=False))
        db.session.commit()
    assert client.get("/api/auth/me").status_code == 401
    response = client.post("/api/auth/login", json={"username": "xx_insp2", "password": DEMO_PASSWORD})
    assert response.status_code == 403
    assert response.get_json()["code"] == "403.3"


def test_device_registration_needs_session_and_csrf(client: FlaskClient) -> None:
    assert client.post("/api/devices", json={"public_key": JWK}).status_code == 401
    csrf = login(client, "xx_insp1")
    assert client.post("/api/devices", json={"public_key": JWK}).status_code == 403  # no CSRF header
    response = client.post(
        "/api/devices", json={"public_key": JWK, "label": "平板 1"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 201
    body = response.get_json()
    assert len(body["token"]) >= 40
    assert body["device"]["last_seq"] == 0


def test_bearer_token_is_stored_hashed_and_can_be_revoked(app: Flask, client: FlaskClient) -> None:
    csrf = login(client, "xx_insp1")
    device_id = str(uuid.uuid4())
    body = client.post(
        "/api/devices", json={"device_id": device_id, "public_key": JWK}, headers={"X-CSRF-Token": csrf}
    ).get_json()
    token = body["token"]
    with app.app_context():
        device = db.session.get(Device, uuid.UUID(device_id))
        assert device is not None
        assert token not in device.token_hash
        assert device.public_key_jwk == JWK
    bearer = app.test_client()
    listed = bearer.get("/api/devices", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    with app.app_context():
        own = db.session.scalars(
            sa.select(Device.id).join(User, Device.user_id == User.id).where(User.username == "xx_insp1")
        )
        own_ids = {str(i) for i in own}
    # The user's own devices and no one else's: the new one, and the tablet the demo gives xx_insp1.
    assert device_id in own_ids
    assert {d["id"] for d in listed.get_json()} == own_ids
    assert bearer.get("/api/devices", headers={"Authorization": "Bearer not-a-token"}).status_code == 401

    admin = app.test_client()
    admin_csrf = login(admin, "admin")
    revoked = admin.post(f"/api/devices/{device_id}/revoke", headers={"X-CSRF-Token": admin_csrf})
    assert revoked.status_code == 200
    after = bearer.get("/api/devices", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401
    assert after.get_json()["code"] == "401.2"


def test_device_registration_refuses_private_keys_and_other_users_devices(
    client: FlaskClient, app: Flask
) -> None:
    csrf = login(client, "xx_insp1")
    headers = {"X-CSRF-Token": csrf}
    private = client.post("/api/devices", json={"public_key": {**JWK, "d": "secret"}}, headers=headers)
    assert private.status_code == 400
    wrong_curve = client.post("/api/devices", json={"public_key": {**JWK, "crv": "P-384"}}, headers=headers)
    assert wrong_curve.status_code == 400
    device_id = client.post("/api/devices", json={}, headers=headers).get_json()["device"]["id"]
    other = app.test_client()
    other_csrf = login(other, "xx_insp2")
    stolen = other.post("/api/devices", json={"device_id": device_id}, headers={"X-CSRF-Token": other_csrf})
    assert stolen.status_code == 403
    foreign_revoke = other.post(f"/api/devices/{device_id}/revoke", headers={"X-CSRF-Token": other_csrf})
    assert foreign_revoke.status_code == 404


def test_passwords_are_argon2_hashes(app: Flask) -> None:
    with app.app_context():
        hashes = db.session.scalars(sa.select(User.password_hash)).all()
    assert hashes
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert DEMO_PASSWORD not in "".join(hashes)

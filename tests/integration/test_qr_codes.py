"""QR codes: signed payloads checked offline by key, revocation on re-issue, and the public landing page."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.models import Enterprise
from server.qrcodes import signing
from server.services import qr
from sync.problems import Problem
from tests.conftest import login


def _enterprise(name: str = "兴县晋兴特钢有限公司") -> Enterprise:
    enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == name))
    assert enterprise is not None
    return enterprise


def test_every_demo_enterprise_has_a_token_and_a_payload_that_verifies(app: Flask) -> None:
    with app.app_context():
        public = qr.signing_key().public_key()
        enterprises = db.session.scalars(sa.select(Enterprise)).all()
        assert enterprises
        for enterprise in enterprises:
            payload = qr.payload_for(enterprise)
            assert payload.startswith("https://jc.example.cn/q/1/")
            assert len(payload) < 200  # stays a low-density code, readable on a worn poster
            claim = signing.verify_payload(public, payload)
            assert claim.credit_code == enterprise.credit_code
            assert claim.token == enterprise.qr_token


def test_signature_is_raw_p256_as_webcrypto_expects(app: Flask) -> None:
    with app.app_context():
        payload = qr.payload_for(_enterprise())
    signature = payload.rsplit("/", 1)[1]
    assert len(base64.urlsafe_b64decode(signature + "==")) == 64
    with app.app_context():
        jwk = signing.public_jwk(qr.signing_key())
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and "d" not in jwk


def test_forged_payloads_are_refused(app: Flask) -> None:
    with app.app_context():
        enterprise = _enterprise()
        genuine = qr.payload_for(enterprise)
        other = _enterprise("兴县丰源面粉有限公司")
        # The same signature on another enterprise's credit code.
        swapped = genuine.replace(enterprise.credit_code, other.credit_code)
        with pytest.raises(Problem) as forged:
            qr.resolve(db.session, swapped)
        assert forged.value.code == "400.6"
        # A code signed by someone else's key.
        stranger = ec.generate_private_key(ec.SECP256R1())
        foreign = signing.sign_payload(
            stranger, "https://jc.example.cn", enterprise.credit_code, enterprise.qr_token or ""
        )
        with pytest.raises(Problem) as foreign_error:
            qr.resolve(db.session, foreign)
        assert foreign_error.value.code == "400.6"
        for junk in ("", "hello", "https://jc.example.cn/q/2/x", genuine[:-5]):
            with pytest.raises(Problem) as malformed:
                qr.resolve(db.session, junk)
            assert malformed.value.code == "400.7"


def test_reissuing_revokes_the_old_code(app: Flask) -> None:
    with app.app_context():
        enterprise = _enterprise()
        old = qr.payload_for(enterprise)
        qr.issue_token(db.session, enterprise)
        db.session.commit()
        new = qr.payload_for(enterprise)
        assert new != old
        assert qr.resolve(db.session, new).enterprise.id == enterprise.id
        with pytest.raises(Problem) as revoked:
            qr.resolve(db.session, old)
        assert revoked.value.code == "409.3"


def test_genuine_code_for_an_unknown_token_is_reported_unknown(app: Flask) -> None:
    with app.app_context():
        enterprise = _enterprise()
        unknown = signing.sign_payload(
            qr.signing_key(), "https://x", enterprise.credit_code, signing.new_token()
        )
        with pytest.raises(Problem) as error:
            qr.resolve(db.session, unknown)
        assert error.value.code == "404.2"


def test_phone_camera_landing_page_names_the_enterprise(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        enterprise = _enterprise()
        payload = qr.payload_for(enterprise)
        name, code = enterprise.name, enterprise.credit_code
    path = payload.removeprefix("https://jc.example.cn")
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert name in html and code in html and "兴县应急管理局" in html
    tampered = client.get(path[:-3] + "AAA")
    assert tampered.status_code == 400
    assert "签名无效" in tampered.get_data(as_text=True)


def test_api_resolve_and_public_key(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        payload = qr.payload_for(_enterprise())
    assert client.post("/api/qr/resolve", json={"payload": payload}).status_code == 401
    login(client, "xx_insp1")
    key = client.get("/api/qr/public-key").get_json()
    assert key["crv"] == "P-256" and "d" not in key
    csrf = client.get("/api/auth/me").get_json()["csrf_token"]
    resolved = client.post("/api/qr/resolve", json={"payload": payload}, headers={"X-CSRF-Token": csrf})
    assert resolved.status_code == 200
    assert resolved.get_json()["enterprise"]["name"] == "兴县晋兴特钢有限公司"
    bad = client.post(
        "/api/qr/resolve", json={"payload": payload[:-4] + "AAAA"}, headers={"X-CSRF-Token": csrf}
    )
    assert bad.status_code == 400
    assert bad.get_json()["code"] == "400.6"

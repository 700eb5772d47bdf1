"""In a real browser against the real server: sign in and out, and a phone opening an enterprise QR code."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from server import create_app
from server.extensions import db
from server.models import Enterprise
from server.services import qr
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e


def test_supervisor_signs_in_and_out(live_server: LiveServer, page: Any) -> None:
    page.goto(f"{live_server.url}/")
    assert "/login" in page.url
    page.fill("input[name=username]", "xx_sup")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert "兴县应急局 李科长" in page.inner_text("main")
    page.click("text=退出")
    page.wait_for_url("**/login")
    page.goto(f"{live_server.url}/")
    assert "/login" in page.url


def test_wrong_password_is_shown_in_chinese(live_server: LiveServer, page: Any) -> None:
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", "xx_sup")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.inner_text("[role=alert]")


def test_phone_camera_opens_the_enterprise_page(live_server: LiveServer, page: Any) -> None:
    app = create_app({"DATABASE_URL": live_server.env["DATABASE_URL"], "INSTANCE_PATH": live_server.env["INSTANCE_PATH"],
                      "QR_SIGNING_KEY_FILE": live_server.env["QR_SIGNING_KEY_FILE"],
                      "PUBLIC_BASE_URL": live_server.url, "SECRET_KEY": "e2e-secret"})  # fmt: skip
    with app.app_context():
        enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == "兴县森宇木业有限公司"))
        assert enterprise is not None
        payload = qr.payload_for(enterprise)
        db.session.remove()
        db.engine.dispose()
    page.goto(payload)
    text = page.inner_text("main")
    assert "兴县森宇木业有限公司" in text
    assert "真实有效" in text

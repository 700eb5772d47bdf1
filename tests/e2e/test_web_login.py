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


def test_the_language_switch_is_remembered_across_sign_ins(live_server: LiveServer, browser: Any) -> None:
    first = browser.new_context(locale="zh-CN")
    page = first.new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", "xx_sup")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/hazards?level=major")
    assert page.get_attribute("html", "lang") == "zh-CN" and "隐患台账" in page.inner_text("h1")
    page.click("button[name=lang][value=en]")
    page.wait_for_url("**/hazards?level=major")
    assert page.get_attribute("html", "lang") == "en" and "Hazard ledger" in page.inner_text("h1")
    assert "退出" not in page.inner_text("header")
    page.click("text=Sign out")
    page.wait_for_url("**/login")
    assert "Sign in" in page.inner_text("h1")  # signed out, the browser's cookie keeps the choice
    first.close()

    # Another browser, Chinese by its settings: the choice was kept on the user.
    second = browser.new_context(locale="zh-CN")
    page = second.new_page()
    page.goto(f"{live_server.url}/login")
    assert "登录" in page.inner_text("h1")
    page.fill("input[name=username]", "xx_sup")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/dashboard")
    assert page.get_attribute("html", "lang") == "en" and "Coverage by phase" in page.inner_text("main")
    page.click("button[name=lang][value=zh]")
    page.wait_for_url("**/dashboard")
    assert "检查覆盖" in page.inner_text("main") and "Coverage by phase" not in page.inner_text("main")
    second.close()


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

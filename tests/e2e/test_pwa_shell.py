"""The inspectors' app in Chromium against the real server: signed in once online, it then opens and
shows the region's enterprises with no network — after a reload, and after the browser is closed and
started again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, sign_in_app, wait_for_service_worker

pytestmark = pytest.mark.e2e


def _enterprise_count(page: Any) -> int:
    return int(page.locator("ul.enterprises li").count())


def test_signed_in_once_then_works_offline_across_restarts(
    built_app: None, live_server: LiveServer, open_profile: Any
) -> None:
    context = open_profile()
    page = context.pages[0] if context.pages else context.new_page()
    sign_in_app(page, live_server.url, "xx_insp1")
    assert _enterprise_count(page) >= 30
    assert page.locator("text=临县湫水钢铁有限公司").count() == 0  # another county's enterprise
    wait_for_service_worker(page)
    assert page.locator("[data-testid=last-sync]").inner_text() not in ("从未", "never")

    context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    page.wait_for_selector("ul.enterprises li")
    assert _enterprise_count(page) >= 30
    assert page.locator("[data-testid=network]").inner_text() == "离线"
    page.fill("input[type=search]", "森宇")
    assert page.locator("ul.enterprises li .name").all_inner_texts() == ["兴县森宇木业有限公司"]
    context.close()

    again = open_profile(offline=True)
    page = again.pages[0] if again.pages else again.new_page()
    page.goto(f"{live_server.url}/app/")
    page.wait_for_selector("ul.enterprises li", timeout=20_000)
    assert _enterprise_count(page) >= 30


def test_wrong_password_is_explained_in_chinese(built_app: None, live_server: LiveServer, page: Any) -> None:
    page.goto(f"{live_server.url}/app/")
    page.fill("input[name=username]", "xx_insp1")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.locator("[role=alert]").inner_text()

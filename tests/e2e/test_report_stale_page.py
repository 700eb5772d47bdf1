"""The monthly report page right after a write, in Chromium against gunicorn: it answers with the last count and
says so (axe-clean, in the reader's language), then reloads itself with the recounted figures once the
background recount is done."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest
import sqlalchemy as sa

from tests.e2e import webpages
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e

PAGE = "/reports/monthly?final=1"


def _bump_counter(live_server: LiveServer) -> None:
    """Move the change counter as a sync's write does (no figure changes, so other tests see the same data)."""
    database = sa.make_url(live_server.env["DATABASE_URL"]).database
    with sqlite3.connect(database or "", timeout=10) as connection:
        connection.execute("UPDATE change_counter SET value = value + 1 WHERE id = 1")


def _stale_page(page: Any, live_server: LiveServer) -> None:
    """Open the report after a write until a worker that counted it before answers (either of gunicorn's two)."""
    for _ in range(10):
        page.goto(f"{live_server.url}{PAGE}")
        page.goto(f"{live_server.url}{PAGE}")
        _bump_counter(live_server)
        page.goto(f"{live_server.url}{PAGE}")
        if page.locator("#report-stale").count():
            return
    pytest.fail("no view of the report was answered from its last count")


@pytest.mark.parametrize(("locale", "text"), [("zh-CN", "正在重新统计，完成后本页自动更新"),
                                              ("en", "being recounted, this page will update when done")])  # fmt: skip
def test_a_stale_report_says_so_and_updates_itself(
    live_server: LiveServer, browser: Any, locale: str, text: str
) -> None:
    assert webpages.AXE.is_file(), "axe-core is missing: run `npm ci` in pwa/"
    context = browser.new_context(locale=locale, viewport=webpages.LAPTOP, bypass_csp=True)
    try:
        page = context.new_page()
        webpages.sign_in(page, live_server.url, "ll_city")
        _stale_page(page, live_server)
        assert text in page.locator("#report-stale").inner_text()
        result = webpages.run_axe(page, PAGE)
        assert not result.serious(), result.serious()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if (
                    page.locator("#report-table, #report").count()
                    and not page.locator("#report-stale").count()
                ):
                    return
            except Exception:  # the page is reloading itself
                pass
            page.wait_for_timeout(500)
        pytest.fail("the stale page never showed the recounted figures")
    finally:
        context.close()

"""The rectification loop closed with evidence, in the browsers of the three people who close it: a hazard
found offline on the tablet, its fix reported with a photo by the enterprise on the web, accepted by a
supervisor (or by an inspector on a look-back visit, offline), and the enterprise cleared (清零)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from server.models import Enterprise, Hazard, HazardEvent
from tests.e2e.conftest import LiveServer, sign_in_app

pytestmark = pytest.mark.e2e


def _engine(live_server: LiveServer) -> sa.Engine:
    return sa.create_engine(live_server.env["DATABASE_URL"])


def _wait_until_sent(page: Any) -> None:
    """Until the tablet has no unsent change left (it syncs by itself when the network returns)."""
    for _ in range(300):
        if page.locator("[data-testid=unsent-changes]").inner_text() == "0":
            return
        page.wait_for_timeout(100)
    raise AssertionError("the tablet did not send its changes")


def test_an_inspector_accepts_a_reported_fix_offline_on_a_look_back_visit(
    built_app: None, live_server: LiveServer, page: Any
) -> None:
    engine = _engine(live_server)
    try:
        with engine.connect() as conn:
            # A fix the enterprise reported (the demo county has some), in the inspector's county.
            row = conn.execute(
                sa.select(Hazard.id, Enterprise.name)
                .join(Enterprise, Enterprise.id == Hazard.enterprise_id)
                .where(Hazard.state == "reported", Hazard.source == "inspection", Enterprise.name != "兴县丰源面粉有限公司")
                .order_by(Enterprise.name)
                .limit(1)
            ).one()  # fmt: skip
    finally:
        engine.dispose()
    hazard_id, enterprise = uuid.UUID(str(row.id)), row.name
    sign_in_app(page, live_server.url, "xx_insp2")
    page.context.set_offline(True)
    page.locator("li[data-enterprise-id]", has_text=enterprise).click()
    item = page.locator(f"[data-testid=follow-up] li[data-hazard-id='{hazard_id}']")
    item.wait_for()
    assert "已报整改待验收" in item.inner_text()
    item.locator("button", has_text="验收不通过").click()  # a rejection needs a reason
    assert "须填写理由" in page.locator("[data-testid=follow-up] .error").inner_text()
    item.locator("input").fill("现场复核：泄爆片已安装，符合要求")
    item.locator("button", has_text="验收通过").click()
    item.locator("[data-testid=decision]").wait_for()
    assert "待同步" in item.locator("[data-testid=decision]").inner_text()
    page.context.set_offline(False)
    page.goto(f"{live_server.url}/app/")
    page.wait_for_selector("[data-testid=unsent-changes]")
    page.click("text=立即同步")
    _wait_until_sent(page)
    engine = _engine(live_server)
    try:
        with engine.connect() as conn:
            state = conn.execute(sa.select(Hazard.state).where(Hazard.id == hazard_id)).scalar_one()
            last = conn.execute(
                sa.select(HazardEvent.kind, HazardEvent.comment, HazardEvent.device_id)
                .where(HazardEvent.hazard_id == hazard_id)
                .order_by(HazardEvent.at.desc())
                .limit(1)
            ).one()
    finally:
        engine.dispose()
    assert state == "accepted"
    assert (
        last.kind == "accepted"
        and last.comment == "现场复核：泄爆片已安装，符合要求"
        and last.device_id is not None
    )

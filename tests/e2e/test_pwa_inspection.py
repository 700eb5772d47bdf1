"""An inspection made offline in the app reaches the server exactly once, whole — after the browser was
closed and reopened in the middle of it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from server.models import Enterprise, Hazard, Inspection, ItemResult, SyncMutation
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import LiveServer, wait_for_service_worker

pytestmark = pytest.mark.e2e
ENTERPRISE = "兴县森宇木业有限公司"


def _answer(page: Any, code: str, result: str) -> None:
    page.locator(f"article.item[data-code='{code}'] button.choice.{result}").click()
    page.wait_for_selector(f"article.item[data-code='{code}'] button.choice.{result}[aria-pressed='true']")


def _codes(page: Any) -> list[str]:
    return [
        str(c) for c in page.locator("article.item").evaluate_all("items => items.map(i => i.dataset.code)")
    ]


def test_offline_inspection_survives_a_restart_and_arrives_once(
    built_app: None, live_server: LiveServer, open_profile: Any
) -> None:
    context = open_profile()
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{live_server.url}/app/")
    page.fill("input[name=username]", "xx_insp1")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("ul.enterprises li", timeout=20_000)
    wait_for_service_worker(page)

    context.set_offline(True)
    page.locator("ul.enterprises li", has_text=ENTERPRISE).click()
    page.fill("input[name=second]", "刘晓燕")
    page.fill("input[name=secondBadge]", "14112301002")
    page.click("text=开始检查")
    page.wait_for_selector("article.item")
    codes = _codes(page)
    assert "DU-1" in codes and "ST-1" not in codes  # applicability: dust (25 workers), no steel
    half = len(codes) // 2
    for code in codes[:half]:
        _answer(page, code, "compliant")
    assert page.locator("[data-testid=progress]").inner_text().endswith(f"{half}/{len(codes)}")
    context.close()

    # The tablet restarts with no network: the draft and its answers are still there.
    again = open_profile(offline=True)
    page = again.pages[0] if again.pages else again.new_page()
    page.goto(f"{live_server.url}/app/")
    page.locator("li[data-inspection-id]").first.click()
    page.wait_for_selector("article.item")
    assert page.locator("[data-testid=progress]").inner_text().endswith(f"{half}/{len(codes)}")
    for code in codes[half:]:
        _answer(page, code, "compliant")
    _answer(page, codes[0], "non_compliant")  # changed mind: a hazard on the first item
    form = page.locator(f"form.hazard[data-item='{codes[0]}']")
    form.locator("textarea[name=description]").fill("除尘系统未设置泄爆装置")
    form.locator("input[name=place]").fill("砂光车间")
    form.locator("input[name=responsible]").fill("王建平")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(f"form.hazard[data-item='{codes[0]}'] .saved")
    page.locator("button.submit").click()
    page.wait_for_selector("li[data-inspection-id]")
    assert int(page.locator("[data-testid=unsent-changes]").inner_text()) > len(codes)

    again.set_offline(False)  # back in range: the app syncs by itself on `online`
    for _ in range(200):
        if page.locator("[data-testid=unsent-changes]").inner_text() == "0":
            break
        page.wait_for_timeout(100)
    assert page.locator("[data-testid=unsent-changes]").inner_text() == "0"

    engine = sa.create_engine(live_server.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            inspections = conn.execute(
                sa.select(Inspection).join(Enterprise).where(Enterprise.name == ENTERPRISE)
            ).all()
            assert len(inspections) == 1 and inspections[0].status == "submitted"
            inspection_id = inspections[0].id
            answers = conn.execute(sa.select(ItemResult.item_code, ItemResult.result)
                                   .where(ItemResult.inspection_id == inspection_id)).all()  # fmt: skip
            assert sorted(a.item_code for a in answers) == sorted(codes)
            assert dict(answers)[codes[0]] == "non_compliant"
            hazards = conn.execute(
                sa.select(Hazard.item_code, Hazard.place).where(Hazard.inspection_id == inspection_id)
            ).all()
            assert [(h.item_code, h.place) for h in hazards] == [(codes[0], "砂光车间")]
            seqs = conn.execute(sa.select(SyncMutation.seq).where(SyncMutation.device_id == inspections[0].device_id)
                                .order_by(SyncMutation.seq)).scalars().all()  # fmt: skip
            assert seqs == list(range(1, len(seqs) + 1))
            assert isinstance(inspection_id, uuid.UUID)
    finally:
        engine.dispose()

"""The expert's opinion made offline in the app (issue 18, notice 三（七）) arrives with its inspection, sealed with it:
the device-signed record carries the opinion and the server finds the stored one equal to it."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from server.domain.expert_opinions import seal_status
from server.models import ExpertOpinion, Inspection
from server.services.expert_opinions import stored_comparable
from tests.e2e.conftest import (
    LiveServer,
    answer,
    sign_in_app,
    sign_pad,
    start_inspection,
    wait_for_service_worker,
    wait_until_sent,
)

pytestmark = pytest.mark.e2e
ENTERPRISE = "兴县汾河酿造有限公司"
EXPERT = "孙工"


def test_an_opinion_written_offline_arrives_sealed_with_its_inspection(
    built_app: None, live_server: LiveServer, page: Any
) -> None:
    sign_in_app(page, live_server.url, "xx_insp1")
    wait_for_service_worker(page)
    page.context.set_offline(True)
    codes = start_inspection(page, ENTERPRISE, "刘晓燕")
    for code in codes:
        answer(page, code, "compliant")

    panel = page.locator("[data-testid=expert-opinions]")
    panel.locator("[data-testid=new-expert]").fill(EXPERT)
    panel.get_by_role("button", name="添加", exact=True).click()
    panel.locator("[data-testid=expert-name]").select_option(EXPERT)
    panel.locator("[data-testid=expert-opinion-text]").fill("现场管理总体规范，建议加强有限空间作业审批。")
    line = panel.locator("[data-testid=expert-line-0]")
    line.locator("select").first.select_option(codes[0])
    line.locator("input").nth(0).fill("作业审批记录不全")
    line.locator("input").nth(1).fill("补全审批记录并培训")
    panel.locator("[data-testid=save-expert-opinion]").click()
    assert "请专家签名" in panel.inner_text()  # not without the expert's signature
    sign_pad(page, "sign-expert", 3)
    panel.locator("[data-testid=save-expert-opinion]").click()
    panel.locator("article.opinion").wait_for()

    sign_pad(page, "sign-inspector-张建国", 2)
    sign_pad(page, "sign-inspector-刘晓燕", 4)
    page.fill("input[name=rep]", "王建平")
    sign_pad(page, "sign-enterprise-rep", 5)
    page.locator("button.submit").click()
    page.wait_for_selector("li[data-inspection-id]")

    page.context.set_offline(False)
    wait_until_sent(page, photos=False)

    engine = sa.create_engine(live_server.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            opinion = conn.execute(sa.select(ExpertOpinion)).one()  # the demo county has none of its own
            inspection = conn.execute(
                sa.select(Inspection).where(Inspection.id == opinion.inspection_id)
            ).one()
    finally:
        engine.dispose()
    assert inspection.status == "submitted" and inspection.seal_verified is True, inspection.seal_problem
    assert opinion.expert_name == EXPERT and opinion.items[0]["item_code"] == codes[0]
    status = seal_status(inspection.sealed_record, inspection.seal_verified, str(opinion.id),
                         stored_comparable(opinion))  # fmt: skip
    assert status.sealed, status.problem

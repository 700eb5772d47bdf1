"""The rectification loop closed with evidence, in the browsers of the three people who close it: a hazard
found offline on the tablet, its fix reported with a photo by the enterprise on the web, accepted by a
supervisor (or by an inspector on a look-back visit, offline), and the enterprise cleared (清零)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from server.models import Enterprise, Hazard, HazardEvent
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import LiveServer, answer, sign_in_app, sign_pad, start_inspection, wait_until_sent

pytestmark = pytest.mark.e2e


def _engine(live_server: LiveServer) -> sa.Engine:
    return sa.create_engine(live_server.env["DATABASE_URL"])


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
    wait_until_sent(page, photos=False)
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


def _resolve_earlier_hazards(live_server: LiveServer, enterprise: str) -> None:
    """Arrange: the enterprise's earlier findings were fixed and accepted before this visit."""
    from datetime import timedelta

    from server import create_app
    from server.domain.hazards import OPEN_STATES
    from server.domain.hazards import HazardEventKind as K
    from server.extensions import db
    from server.models.base import utcnow
    from server.services.hazards import append_event

    app = create_app({"DATABASE_URL": live_server.env["DATABASE_URL"], "INSTANCE_PATH": live_server.env["INSTANCE_PATH"],
                      "SECRET_KEY": "e2e-secret", "QR_SIGNING_KEY_FILE": live_server.env["QR_SIGNING_KEY_FILE"]})  # fmt: skip
    with app.app_context():
        hazards = db.session.scalars(
            sa.select(Hazard).join(Enterprise, Enterprise.id == Hazard.enterprise_id)
            .where(Enterprise.name == enterprise, Hazard.state.in_([s.value for s in OPEN_STATES]))
        ).all()  # fmt: skip
        for hazard in hazards:
            at = max(e.at for e in hazard.events) + timedelta(minutes=1)
            if hazard.state != "reported":
                append_event(db.session, hazard, K.rectification_reported, min(at, utcnow()))
            append_event(
                db.session, hazard, K.accepted, min(at + timedelta(minutes=1), utcnow()), comment="复查合格"
            )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _web_sign_in(context: Any, url: str, username: str, path: str) -> Any:
    page = context.new_page()
    page.goto(f"{url}{path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_a_hazard_found_offline_is_fixed_by_the_enterprise_accepted_on_the_web_and_the_enterprise_clears(
    built_app: None, live_server: LiveServer, browser: Any, page: Any, tmp_path: Any
) -> None:
    enterprise = "兴县丰源面粉有限公司"
    _resolve_earlier_hazards(live_server, enterprise)
    # 1. The inspector, offline at the plant, finds one hazard and submits the signed inspection.
    sign_in_app(page, live_server.url, "xx_insp1")
    page.context.set_offline(True)
    codes = start_inspection(page, enterprise, "刘晓燕")
    for code in codes:
        answer(page, code, "compliant")
    answer(page, "CS-2", "non_compliant")
    form = page.locator("form.hazard[data-item='CS-2']")
    form.locator("textarea[name=description]").fill("原料仓入口未设置有限空间安全警示标志")
    form.locator("input[name=place]").fill("1号原料仓")
    form.locator("input[name='term.responsible_person']").fill("李红梅")
    form.locator("input[name='term.measures']").fill("设置有限空间警示标志并张贴作业审批流程")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("form.hazard[data-item='CS-2'] .saved")
    sign_pad(page, "sign-inspector-张建国", 2)
    sign_pad(page, "sign-inspector-刘晓燕", 3)
    page.fill("input[name=rep]", "李红梅")
    sign_pad(page, "sign-enterprise-rep", 4)
    page.locator("button.submit").click()
    page.wait_for_selector("li[data-inspection-id]")
    page.context.set_offline(False)  # back in range: the app sends everything by itself
    wait_until_sent(page, photos=False)
    engine = _engine(live_server)
    try:
        with engine.connect() as conn:
            hazard_id, enterprise_id, state = conn.execute(
                sa.select(Hazard.id, Hazard.enterprise_id, Hazard.state)
                .where(Hazard.description == "原料仓入口未设置有限空间安全警示标志")
            ).one()  # fmt: skip
    finally:
        engine.dispose()
    assert state == "found"
    hazard_id, enterprise_id = uuid.UUID(str(hazard_id)), uuid.UUID(str(enterprise_id))

    # 2. The enterprise, on its portal, reports the fix with an after-photo.
    after = tmp_path / "after.jpg"
    Image.new("RGB", (1200, 900), (200, 180, 40)).save(after, "JPEG", quality=85)
    firm = browser.new_context(locale="zh-CN")
    portal = _web_sign_in(firm, live_server.url, "qy_fengyuan", f"/portal/hazards/{hazard_id}")
    assert "原料仓入口未设置有限空间安全警示标志" in portal.inner_text("main")
    portal.fill("#report-form textarea[name=note]", "已在原料仓入口设置警示标志，张贴审批流程")
    portal.set_input_files("#report-form input[name=photos]", str(after))
    portal.click("#report-form button[type=submit]")
    portal.wait_for_load_state()
    assert "已报整改待验收" in portal.inner_text("main")
    firm.close()

    # 3. The county supervisor sees the before/after photos and accepts on the web.
    desk = browser.new_context(locale="zh-CN")
    web = _web_sign_in(desk, live_server.url, "xx_sup", f"/hazards/{hazard_id}")
    assert web.locator("img[src$='/thumb']").count() >= 1  # the after-photo, made into a thumbnail
    web.fill("#actions input[name=completed_by]", "李红梅")  # 五定: who did the work is named on acceptance
    web.fill("#actions textarea[name=comment]", "现场照片核实，整改到位")
    web.click("#actions button[value=accept]")
    web.wait_for_load_state()
    assert "已验收" in web.inner_text("h1")

    # 4. Until a supervisor approves the inspection, its 清零 is shown apart as 待审核, never as 已清零.
    web.goto(f"{live_server.url}/enterprises/{enterprise_id}")
    assert "待审核" in web.inner_text("h1") and "已清零" not in web.inner_text("h1")
    web.click("#inspections a")
    web.wait_for_load_state()
    if web.locator("input[name=confirm_flags]").count():
        web.check("input[name=confirm_flags]")
    web.fill("#review textarea[name=comment]", "检查记录完整，签名封存验证通过")
    web.click("#review button[value=approve]")
    web.wait_for_load_state()

    # 5. 清零: every applicable key item of the enterprise is now cleared, on an approved, sealed inspection.
    web.goto(f"{live_server.url}/enterprises/{enterprise_id}")
    assert "已清零" in web.inner_text("h1")
    desk.close()

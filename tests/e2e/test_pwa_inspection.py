"""An inspection made offline in the app reaches the server exactly once, whole — after the browser was
closed and reopened in the middle of it."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from server.models import (
    Blob,
    Enterprise,
    Hazard,
    Inspection,
    ItemResult,
    Photo,
    SyncMutation,
)
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import (
    LiveServer,
    answer,
    choose_partner,
    fake_camera,
    qr_video,
    sign_in_app,
    sign_pad,
    signed_payload,
    wait_for_service_worker,
    wait_until_sent,
)

pytestmark = pytest.mark.e2e
ENTERPRISE = "兴县森宇木业有限公司"


def _codes(page: Any) -> list[str]:
    return [
        str(c) for c in page.locator("article.item").evaluate_all("items => items.map(i => i.dataset.code)")
    ]


GPS = {
    "geolocation": {"latitude": 38.4921, "longitude": 111.1545, "accuracy": 8},
    "permissions": ["geolocation"],
}


def _return_on_the_web(web: Any, url: str, inspection_id: str, comment: str) -> None:
    """As xx_sup on the web: find the inspection, check its seal and photos, return it with ``comment``."""
    web.goto(f"{url}/inspections")
    web.fill("input[name=username]", "xx_sup")  # sent to sign in first, and back here after
    web.fill("input[name=password]", DEMO_PASSWORD)
    web.click("button[type=submit]")
    web.wait_for_selector("form.review-filters")
    web.fill("input[name=enterprise]", "森宇")
    web.click("form.review-filters button[type=submit]")
    web.click(f"a[href='/inspections/{inspection_id}']")
    web.wait_for_selector("[data-testid=seal]")
    assert "设备签名已验证" in web.inner_text("[data-testid=seal]")
    # What the server holds is what the tablet sealed: answers, hazards and exactly this inspection's photos.
    assert "封存记录" not in web.inner_text("main")
    thumbnails = web.locator("figure[data-testid=photo] a.photo-link img")
    assert thumbnails.count() == 2  # the answer's photo and the hazard's
    for index in range(2):
        thumbnail = thumbnails.nth(index)
        thumbnail.scroll_into_view_if_needed()  # they load lazily
        for _ in range(100):
            if thumbnail.evaluate("img => img.complete && img.naturalWidth > 0"):
                break
            web.wait_for_timeout(100)
        assert thumbnail.evaluate("img => img.naturalWidth") == 480  # the thumbnail's long edge
    thumbnails.first.click()  # the viewer shows the photo itself, full size
    full = web.locator("dialog.photo-viewer[open] img")
    full.wait_for()
    for _ in range(100):
        if full.evaluate("img => img.complete && img.naturalWidth > 0"):
            break
        web.wait_for_timeout(100)
    assert full.evaluate("img => img.naturalWidth") == 2048
    web.click("dialog.photo-viewer .photo-viewer-close")
    web.fill("textarea[name=comment]", comment)
    web.click("button[name=outcome][value=return]")
    web.wait_for_selector("[role=status]")
    assert "已退回" in web.inner_text("[data-testid=status]")


def test_offline_inspection_survives_a_restart_and_arrives_once(
    built_app: None, live_server: LiveServer, open_profile: Any, browser: Any, tmp_path: Path
) -> None:
    photo = tmp_path / "evidence.jpg"
    Image.new("RGB", (3000, 2000), (120, 90, 60)).save(photo, "JPEG", quality=80)
    camera = fake_camera(qr_video(signed_payload(live_server, ENTERPRISE), tmp_path / "poster.y4m"))
    context = open_profile(camera, **GPS)
    page = context.pages[0] if context.pages else context.new_page()
    sign_in_app(page, live_server.url, "xx_insp1")
    wait_for_service_worker(page)

    context.set_offline(True)
    page.click("button.scan-button")  # the poster at the gate: scanned and checked offline
    page.wait_for_selector(".enterprise-page h2", timeout=20_000)
    assert page.locator(".enterprise-page h2").inner_text() == ENTERPRISE
    choose_partner(page, "刘晓燕", "14112301002")  # picked from the region's inspectors, synced at sign-in
    page.click("text=开始检查")
    page.wait_for_selector("article.item")
    codes = _codes(page)
    assert "DU-1" in codes and "ST-1" not in codes  # applicability: dust (25 workers), no steel
    half = len(codes) // 2
    for code in codes[:half]:
        answer(page, code, "compliant")
    assert page.locator("[data-testid=progress]").inner_text().endswith(f"{half}/{len(codes)}")
    context.close()

    # The tablet restarts with no network: the draft and its answers are still there.
    again = open_profile(camera, offline=True, **GPS)
    page = again.pages[0] if again.pages else again.new_page()
    page.goto(f"{live_server.url}/app/")
    page.locator("li[data-inspection-id]").first.click()
    page.wait_for_selector("article.item")
    assert page.locator("[data-testid=progress]").inner_text().endswith(f"{half}/{len(codes)}")
    for code in codes[half:]:
        answer(page, code, "compliant")
    answer(page, codes[0], "non_compliant")  # changed mind: a hazard on the first item
    page.locator(f"article.item[data-code='{codes[0]}'] .photos input[type=file]").set_input_files(str(photo))
    page.wait_for_selector(f"article.item[data-code='{codes[0]}'] .photos .thumb")
    form = page.locator(f"form.hazard[data-item='{codes[0]}']")
    form.locator("textarea[name=description]").fill("除尘系统未设置泄爆装置")
    form.locator("input[name=place]").fill("砂光车间")
    form.locator("input[name='term.responsible_person']").fill("王建平")
    form.locator("input[name='term.measures']").fill("加装泄爆片，停用相关设备")
    form.locator("input[name='five.measures']").check()  # DU-1 is a major hazard: 五到位 applies
    form.locator("input[name='five.funds']").check()
    form.locator("button[type=submit]").click()
    page.wait_for_selector(f"form.hazard[data-item='{codes[0]}'] .saved")
    hazard_photo = tmp_path / "hazard.jpg"
    Image.new("RGB", (1600, 1200), (30, 140, 60)).save(hazard_photo, "JPEG", quality=80)
    page.locator(f"article.item[data-code='{codes[0]}'] .hazard-photos input[type=file]").set_input_files(
        str(hazard_photo)
    )
    page.wait_for_selector(f"article.item[data-code='{codes[0]}'] .hazard-photos .thumb")
    assert page.locator("button.submit").is_disabled()  # not before both inspectors and the enterprise sign
    sign_pad(page, "sign-inspector-张建国", 2)
    sign_pad(page, "sign-inspector-刘晓燕", 3)
    page.fill("input[name=rep]", "王建平")
    sign_pad(page, "sign-enterprise-rep", 4)
    page.locator("button.submit").click()
    page.wait_for_selector("li[data-inspection-id]")
    assert int(page.locator("[data-testid=unsent-changes]").inner_text()) > len(codes)

    again.set_offline(False)  # back in range: the app syncs by itself on `online`
    wait_until_sent(page)
    # Pulled back: the home list now shows the enterprise's open hazard, its deadline and the inspection.
    row = page.locator("li[data-enterprise-id]", has_text=ENTERPRISE)
    row.locator("[data-testid=open-hazards]").wait_for(timeout=20_000)
    assert "未整改隐患 1" in row.inner_text() and "上次检查" in row.inner_text()

    engine = sa.create_engine(live_server.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            inspections = conn.execute(
                sa.select(Inspection).join(Enterprise).where(Enterprise.name == ENTERPRISE)
            ).all()
            assert len(inspections) == 1 and inspections[0].status == "submitted"
            assert inspections[0].seal_verified is True, inspections[
                0
            ].seal_problem  # the device key's seal holds
            assert sorted(sig["role"] for sig in inspections[0].signatures) == [
                "enterprise_rep",
                "inspector",
                "inspector",
            ]
            signature_blobs = [sig["sha256"] for sig in inspections[0].signatures]
            assert (
                conn.execute(
                    sa.select(sa.func.count()).select_from(Blob).where(Blob.sha256.in_(signature_blobs))
                ).scalar()
                == 3
            )
            inspection_id = inspections[0].id
            answers = conn.execute(sa.select(ItemResult.item_code, ItemResult.result)
                                   .where(ItemResult.inspection_id == inspection_id)).all()  # fmt: skip
            assert sorted(a.item_code for a in answers) == sorted(codes)
            assert dict(answers)[codes[0]] == "non_compliant"
            hazards = conn.execute(sa.select(Hazard).where(Hazard.inspection_id == inspection_id)).all()
            assert [(h.item_code, h.place, h.level) for h in hazards] == [(codes[0], "砂光车间", "major")]
            assert hazards[0].terms["responsible_person"] == "王建平"
            assert hazards[0].five_in_place["measures"] is True and hazards[0].five_in_place["funds"] is True
            assert hazards[0].five_in_place["contingency_plan"] is False
            # This tablet's photos only: the demo county holds photos of its own.
            photos = conn.execute(sa.select(Photo.sha256, Photo.entity_type, Photo.lat, Blob.width, Blob.height)
                                  .join(Blob, Blob.sha256 == Photo.sha256)
                                  .where(Photo.device_id == inspections[0].device_id)).all()  # fmt: skip
            by_kind = {p.entity_type: p for p in photos}
            assert len(photos) == 2 and set(by_kind) == {"item_result", "hazard"}
            assert (by_kind["item_result"].width, by_kind["item_result"].height) == (2048, 1365)
            assert (by_kind["hazard"].width, by_kind["hazard"].height) == (1600, 1200)  # never scaled up
            assert abs(by_kind["item_result"].lat - 38.4921) < 1e-6
            for photo in photos:
                stored = (Path(live_server.env["INSTANCE_PATH"]) / "media" / "blobs").rglob(photo.sha256)
                assert [hashlib.sha256(f.read_bytes()).hexdigest() for f in stored] == [photo.sha256]
            seqs = conn.execute(sa.select(SyncMutation.seq).where(SyncMutation.device_id == inspections[0].device_id)
                                .order_by(SyncMutation.seq)).scalars().all()  # fmt: skip
            assert seqs == list(range(1, len(seqs) + 1))
            assert isinstance(inspection_id, uuid.UUID)
    finally:
        engine.dispose()

    # A supervisor at a desk (a browser of their own) opens it on the web, sees the seal verified and the
    # photos, and returns it with a comment: at the next sync the tablet shows the comment on the inspection.
    desk = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        _return_on_the_web(desk.new_page(), live_server.url, str(inspection_id), "照片不清晰，请补拍")
    finally:
        desk.close()
    page.click("text=立即同步")
    page.wait_for_selector("[data-testid=returned-comment]", timeout=20_000)
    assert "照片不清晰，请补拍" in page.locator("[data-testid=returned-comment]").inner_text()
    assert "已退回" in page.locator("li[data-inspection-id]").first.inner_text()

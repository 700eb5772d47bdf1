"""The tablet hardened in the field (issues 11 and 15): an offline day whose outbox leaves in several pushes and
arrives submitted and sealed; a change of mind after a saved hazard; typing that survives a killed browser; a
retaken photo and a redone signature; a team picked from the region's inspectors; Chinese messages throughout."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from server.models import (
    Blob,
    Enterprise,
    Hazard,
    HazardEvent,
    Inspection,
    ItemResult,
    Photo,
    Quarantine,
    SyncMutation,
    User,
)
from tests.e2e.conftest import (
    LiveServer,
    answer,
    choose_partner,
    sign_in_app,
    sign_pad,
    start_inspection,
    wait_for_service_worker,
    wait_for_sync,
    wait_until_sent,
)

pytestmark = pytest.mark.e2e
GPS = {
    "geolocation": {"latitude": 38.4921, "longitude": 111.1545, "accuracy": 8},
    "permissions": ["geolocation"],
}


def _photo(path: Path, colour: tuple[int, int, int]) -> str:
    Image.new("RGB", (1200, 900), colour).save(path, "JPEG", quality=80)
    return str(path)


def _save_hazard(page: Any, code: str, fields: dict[str, str]) -> None:
    """Fill an item's hazard form (``fields`` by input name; a level reason when the form asks) and save it."""
    form = page.locator(f"form.hazard[data-item='{code}']")
    for name, value in fields.items():
        form.locator(f"[name='{name}']").fill(value)
    if form.locator("input[name=level_reason]").count():
        form.locator("input[name=level_reason]").fill("现场复核")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(f"form.hazard[data-item='{code}'] .saved")


def _engine(live_server: LiveServer) -> sa.Engine:
    return sa.create_engine(live_server.env["DATABASE_URL"])


def _kill_browser(profile: Path) -> None:
    """SIGKILL the Chromium of this profile (a tablet's app killed: no blur, no unload, nothing flushed)."""
    marker = f"--user-data-dir={profile}"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.decode(errors="replace") == marker for arg in args) and not any(
            arg.startswith(b"--type=") for arg in args
        ):
            os.kill(int(entry.name), signal.SIGKILL)


def test_an_offline_day_cut_mid_work_arrives_submitted_and_sealed_over_several_pushes(
    built_app: None, live_server: LiveServer, open_profile: Any, tmp_path: Path
) -> None:
    """Issue 11: the network goes mid-inspection and comes back; the outbox leaves in several pushes (the start
    and first answers online, the rest after the outage) and the server ends with the inspection submitted,
    its seal verified, nothing quarantined. Issue 15 items 5–8 on the way."""
    context = open_profile(**GPS)
    page = context.pages[0] if context.pages else context.new_page()
    pushes: list[int] = []
    page.on(
        "request",
        lambda r: pushes.append(1) if r.method == "POST" and r.url.endswith("/api/sync/push") else None,
    )
    sign_in_app(page, live_server.url, "xx_insp2")
    wait_for_service_worker(page)
    codes = start_inspection(page, "兴县枣乡红枣粉加工有限公司", "张建国")
    assert len(codes) >= 4
    for code in codes[:2]:
        answer(page, code, "compliant")
    # Online: the app sends as it goes; the sync state stays in view on the checklist (sticky bar).
    badge = page.locator("[data-testid=inspection-bar] [data-testid=sync-badge]")
    wait_for_sync(badge, "已全部同步")
    online_pushes = len(pushes)
    assert online_pushes >= 1

    context.set_offline(True)  # the outage, mid-inspection
    page.wait_for_selector("[data-testid=offline-why]")
    assert "联网后会自动同步" in page.inner_text("[data-testid=offline-why]")
    for code in codes[2:]:
        answer(page, code, "compliant")
    assert badge.inner_text().startswith("未同步")
    finding = codes[1]
    answer(page, finding, "non_compliant")  # 存在此问题: changed from 未发现此问题, no hazard yet
    item = page.locator(f"article.item[data-code='{finding}']")
    assert item.locator("button.choice.non_compliant").inner_text() == "存在此问题"
    assert item.locator("button.choice.compliant").inner_text() == "未发现此问题"
    # Photos of the hazard: the form says to save it first (item 7); the signatures show and say why not yet.
    assert "先点下方“保存隐患”" in item.locator("[data-testid=hazard-photo-hint]").inner_text()
    form = item.locator("form.hazard")
    form.locator("textarea[name=description]").fill("粉碎工序未采取火花探测消除措施")
    page.wait_for_timeout(400)
    blockers = page.locator("[data-testid=submit-blockers]").inner_text()
    assert f"第 2 项（{finding}）的隐患未保存" in blockers
    assert page.locator("[data-testid=signatures]").is_visible()
    assert "才能签名" in page.inner_text("[data-testid=sign-later]")
    assert page.locator("button.submit").is_disabled()
    assert "年" in form.locator("[data-testid=deadline-words]").inner_text()  # 2026年7月…, never mm/dd/yyyy
    _save_hazard(
        page,
        finding,
        {"place": "粉碎车间", "term.responsible_person": "李建业", "term.measures": "加装火花探测熄灭装置"},
    )

    # A photo taken, then retaken (item 6): only the kept one is uploaded.
    photos = item.locator(".photos").first
    photos.locator("input[type=file]").set_input_files(_photo(tmp_path / "blurred.jpg", (90, 90, 90)))
    photos.locator("figure.photo").wait_for()
    with page.expect_file_chooser() as chooser:
        photos.locator("button.retake-photo").click()
    chooser.value.set_files(_photo(tmp_path / "sharp.jpg", (160, 60, 40)))
    page.wait_for_timeout(300)
    for _ in range(100):
        if photos.locator("figure.photo").count() == 1 and not photos.locator(".placeholder").count():
            break
        page.wait_for_timeout(100)
    assert photos.locator("figure.photo").count() == 1
    hazard_photos = item.locator(".hazard-photos .photos")
    hazard_photos.locator("input[type=file]").set_input_files(_photo(tmp_path / "hazard.jpg", (30, 140, 60)))
    hazard_photos.locator("figure.photo").wait_for()

    # Signatures, one redone after looking at it (item 6).
    sign_pad(page, "sign-inspector-刘晓燕", 2)
    sign_pad(page, "sign-inspector-张建国", 3)
    redo = page.locator("[data-testid='sign-inspector-张建国']")
    redo.locator("img.signature-image").wait_for()
    redo.locator("button.redo-signature").click()
    page.wait_for_selector("[data-testid='sign-inspector-张建国'] canvas")
    sign_pad(page, "sign-inspector-张建国", 4)
    page.fill("input[name=rep]", "李建业")
    sign_pad(page, "sign-enterprise-rep", 5)
    assert not page.locator("[data-testid=submit-blockers]").count()
    page.locator("button.submit").click()
    page.wait_for_selector("li[data-inspection-id]")

    context.set_offline(False)  # back in range: the app sends the rest by itself
    wait_until_sent(page)
    assert len(pushes) > online_pushes  # more than one push carried this outbox

    engine = _engine(live_server)
    try:
        with engine.connect() as conn:
            user_id = conn.execute(sa.select(User.id).where(User.username == "xx_insp2")).scalar_one()
            inspection = conn.execute(
                sa.select(Inspection)
                .join(Enterprise)
                .where(Enterprise.name == "兴县枣乡红枣粉加工有限公司", Inspection.created_by_id == user_id)
            ).one()
            assert inspection.status == "submitted"
            assert inspection.seal_verified is True, inspection.seal_problem
            devices = [inspection.device_id]  # this tablet (the demo gave the user devices of its own)
            assert (
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(Quarantine)
                    .where(Quarantine.device_id.in_(devices))
                ).scalar_one()
                == 0
            )
            seqs = conn.execute(sa.select(SyncMutation.seq).where(SyncMutation.device_id.in_(devices))
                                .order_by(SyncMutation.seq)).scalars().all()  # fmt: skip
            assert seqs == list(range(1, len(seqs) + 1))
            taken = conn.execute(sa.select(Photo.sha256, Photo.deleted_at, Photo.entity_type)
                                 .where(Photo.device_id.in_(devices))).all()  # fmt: skip
            live = [p for p in taken if p.deleted_at is None]
            gone = [p for p in taken if p.deleted_at is not None]
            assert (
                len(live) == 2 and len(gone) == 1
            )  # the kept answer photo and the hazard's; the blurred one taken back
            held = set(
                conn.execute(
                    sa.select(Blob.sha256).where(Blob.sha256.in_([p.sha256 for p in taken]))
                ).scalars()
            )
            assert held == {p.sha256 for p in live}  # the retaken photo's bytes never left the tablet
            signatures = {sig["sha256"] for sig in inspection.signatures}
            assert len(signatures) == 3
            assert (
                set(conn.execute(sa.select(Blob.sha256).where(Blob.sha256.in_(signatures))).scalars())
                == signatures
            )
            hazards = conn.execute(sa.select(Hazard.item_code, Hazard.deleted_at)
                                   .where(Hazard.inspection_id == inspection.id)).all()  # fmt: skip
            assert [(h.item_code, h.deleted_at) for h in hazards] == [(finding, None)]
    finally:
        engine.dispose()


def test_typing_survives_a_kill_and_a_change_of_mind_withdraws_the_saved_hazard(
    built_app: None, live_server: LiveServer, open_profile: Any, tmp_path: Path
) -> None:
    """Issue 15 items 1 and 3: a note, an unsaved hazard form and the representative's name typed and then the
    browser SIGKILLed: all there on reopen. Then 不符合 → 符合 after a saved hazard: asked, withdrawn, and after
    sync the server holds no live hazard for the item (the withdrawal on its log)."""
    context = open_profile(**GPS)
    page = context.pages[0] if context.pages else context.new_page()
    sign_in_app(page, live_server.url, "xx_insp4")
    wait_for_service_worker(page)
    context.set_offline(True)
    codes = start_inspection(page, "兴县鑫源淀粉制品有限公司", "刘晓燕")
    changed, noted, drafted = codes[0], codes[1], codes[2]
    answer(page, changed, "non_compliant")
    _save_hazard(page, changed, {"description": "除尘器未设置泄爆装置", "term.responsible_person": "王建平"})
    answer(page, noted, "compliant")
    answer(page, drafted, "non_compliant")
    page.locator(f"form.hazard[data-item='{drafted}'] textarea[name=description]").type("积尘厚度超过1毫米")
    page.locator("input[name=rep]").type("赵德明")
    note = page.locator(f"article.item[data-code='{noted}'] textarea")
    note.click()
    note.type("泄爆口朝向人员通道，已口头提醒")  # no blur follows: the browser is killed mid-typing
    page.wait_for_timeout(350)  # the brief's bound: every keystroke on disk within ~300 ms
    _kill_browser(tmp_path / "profile")
    with contextlib.suppress(Exception):  # the browser is already gone; only the profile matters now
        context.close()

    again = open_profile(offline=True, **GPS)
    page = again.pages[0] if again.pages else again.new_page()
    page.goto(f"{live_server.url}/app/")
    page.locator("li[data-inspection-id]").first.click()
    page.wait_for_selector("article.item")
    assert (
        page.locator(f"article.item[data-code='{noted}'] textarea").input_value()
        == "泄爆口朝向人员通道，已口头提醒"
    )
    assert (
        page.locator(f"form.hazard[data-item='{drafted}'] textarea[name=description]").input_value()
        == "积尘厚度超过1毫米"
    )
    assert page.locator("input[name=rep]").input_value() == "赵德明"
    third = codes.index(drafted) + 1
    assert f"第 {third} 项（{drafted}）的隐患未保存" in page.inner_text("[data-testid=submit-blockers]")

    # Change of mind on the saved hazard: asked, then withdrawn.
    page.locator(f"article.item[data-code='{changed}'] button.choice.compliant").click()
    ask = page.locator(f"article.item[data-code='{changed}'] [data-testid=withdraw-ask]")
    assert "撤回这条隐患" in ask.inner_text()
    ask.locator("text=撤回隐患并修改结论").click()
    page.wait_for_selector(
        f"article.item[data-code='{changed}'] button.choice.compliant[aria-pressed='true']"
    )
    assert not page.locator(f"form.hazard[data-item='{changed}']").count()

    again.set_offline(False)
    page.click("text=返回")
    wait_until_sent(page)
    engine = _engine(live_server)
    try:
        with engine.connect() as conn:
            user_id = conn.execute(sa.select(User.id).where(User.username == "xx_insp4")).scalar_one()
            inspection_id = conn.execute(
                sa.select(Inspection.id).where(Inspection.created_by_id == user_id)
            ).scalar_one()
            rows = conn.execute(sa.select(Hazard.id, Hazard.item_code, Hazard.state, Hazard.deleted_at)
                                .where(Hazard.inspection_id == inspection_id)).all()  # fmt: skip
            assert [(h.item_code, h.state) for h in rows] == [(changed, "withdrawn")]
            assert rows[0].deleted_at is not None  # no live hazard on the server
            kinds = (
                conn.execute(sa.select(HazardEvent.kind).where(HazardEvent.hazard_id == rows[0].id))
                .scalars()
                .all()
            )
            assert sorted(kinds) == ["found", "withdrawn"]
            results = dict(conn.execute(sa.select(ItemResult.item_code, ItemResult.result)
                                        .where(ItemResult.inspection_id == inspection_id)).all())  # fmt: skip
            assert results[changed] == "compliant"
            notes = dict(conn.execute(sa.select(ItemResult.item_code, ItemResult.note)
                                      .where(ItemResult.inspection_id == inspection_id)).all())  # fmt: skip
            assert notes[noted] == "泄爆口朝向人员通道，已口头提醒"  # the recovered draft was saved and sent
    finally:
        engine.dispose()


def test_a_tablet_without_persistent_storage_warns_while_changes_wait(
    built_app: None, live_server: LiveServer, page: Any
) -> None:
    """Safari may evict a site's data; a tablet whose storage is not persistent says so while anything waits."""
    page.add_init_script("navigator.storage.persisted = () => Promise.resolve(false);")
    sign_in_app(page, live_server.url, "lx_insp1")
    assert page.locator("[data-testid=eviction-warning]").count() == 0  # nothing waits: nothing to lose
    page.context.set_offline(True)
    start_inspection(page, "临县昌盛木业有限公司", "郝丽")
    for _ in range(50):
        if page.locator("[data-testid=eviction-warning]").count():
            break
        page.wait_for_timeout(100)
    assert "尽快联网同步" in page.inner_text("[data-testid=eviction-warning]")
    page.context.set_offline(False)


def test_the_team_is_picked_and_remembered_and_every_message_is_chinese(
    built_app: None, live_server: LiveServer, page: Any
) -> None:
    """Issue 15 item 10: an offline first sign-in says it needs the network; the second inspector is picked
    from the region's inspectors (name and badge number) and remembered; validation speaks Chinese."""
    page.goto(f"{live_server.url}/app/")
    page.wait_for_selector("input[name=username]")
    page.context.set_offline(True)
    page.fill("input[name=username]", "lx_insp2")
    page.fill("input[name=password]", "jiancha-2026")
    page.click("button[type=submit]")
    page.wait_for_selector("form.login [role=alert]")
    message = page.inner_text("form.login [role=alert]")
    assert "首次登录需要联网" in message and "Failed to fetch" not in message
    page.context.set_offline(False)
    page.fill("input[name=username]", "")
    page.click("button[type=submit]")
    assert page.eval_on_selector("input[name=username]", "e => e.validationMessage") == "请填写此项。"
    sign_in_app(page, live_server.url, "lx_insp2")

    page.locator("li[data-enterprise-id]", has_text="临县昌盛木业有限公司").click()
    picker = page.locator("select[name=partner]")
    labels = picker.locator("option").all_inner_texts()
    assert "马俊（14112401001）" in labels
    assert not [label for label in labels if "张建国" in label]  # another county's inspectors are not offered
    picker.select_option("other")
    page.click("text=开始检查")
    assert page.eval_on_selector("input[name=second]", "e => e.validationMessage") == "请填写此项。"
    page.fill(
        "input[name=second]", "郝丽"
    )  # the signed-in inspector herself: one signature would count twice
    page.click("text=开始检查")
    page.wait_for_selector(".enterprise-page [role=alert]")
    assert "不能是您本人" in page.inner_text(".enterprise-page [role=alert]")
    choose_partner(page, "马俊")
    page.click("text=开始检查")
    page.wait_for_selector("article.item")
    page.click("text=返回")
    page.locator("li[data-enterprise-id]", has_text="临县碛口铝业有限公司").click()
    for _ in range(50):  # the remembered partner is read from the device as the card opens
        chosen = page.locator("select[name=partner] option:checked").inner_text()
        if chosen != "请选择":
            break
        page.wait_for_timeout(100)
    assert chosen.startswith("马俊（14112401001）") and "上次同行" in chosen

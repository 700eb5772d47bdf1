"""Issue 13's findings on what the figures count: a tampered or unverified inspection never counts, 清零 needs an
approval (pending ones are shown apart as 待审核), overdue and the campaign window agree between the dashboard
and the report, and the bureau's TIMEZONE moves the dashboard and the map."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server import clock, create_app
from server.domain.clearance import ItemResultValue
from server.domain.hazards import HazardLevel
from server.domain.inspections import InspectionKind, InspectionStatus
from server.extensions import db
from server.models import (
    Campaign,
    Catalogue,
    CatalogueItem,
    Enterprise,
    Hazard,
    HazardSource,
    Inspection,
    ItemResult,
    User,
)
from server.services import progress_report
from server.services.hazards import record_hazard
from tests.conftest import app_config, dispose, login
from tests.sealing import Tablet, approve

TAMPERED = "兴县红枣冷藏储运有限公司"
#: A steel plant the demo has not inspected: its figures move only with what a test adds.
UNINSPECTED_STEEL = "兴县精工铸件有限公司"


def _enterprise(name: str) -> Enterprise:
    enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == name))
    assert enterprise is not None
    return enterprise


def _user(username: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    assert user is not None
    return user


def _figure(html: str, name: str) -> int:
    match = re.search(rf'data-figure="{re.escape(name)}">(?:<strong>)?(\d+)<', html)
    assert match, name
    return int(match.group(1))


def _key_codes(enterprise: Enterprise) -> list[str]:
    from server.domain.applicability import ApplicabilityRule, applies

    items = db.session.scalars(
        sa.select(CatalogueItem).where(CatalogueItem.section == "key").order_by(CatalogueItem.ordinal)
    ).all()
    profile = enterprise.profile()
    return [i.code for i in items if applies(ApplicabilityRule.from_dict(i.applies_when), profile)]


def _campaign_day(offset_from_end: int = 10) -> datetime:
    """A moment inside the demo campaign's days (its figures take only those)."""
    campaign = db.session.scalar(sa.select(Campaign))
    assert campaign is not None
    last = max(p.ends_on for p in campaign.phases)
    return datetime.combine(
        last - timedelta(days=offset_from_end), datetime.min.time(), tzinfo=UTC
    ) + timedelta(hours=3)


def _clearing_inspection(enterprise: Enterprise, *, approved: bool) -> Inspection:
    """A county inspection answering every applicable key item compliant, sealed by its tablet."""
    catalogue = db.session.scalar(sa.select(Catalogue))
    assert catalogue is not None
    inspector = _user("xx_insp1")
    finished = _campaign_day()
    inspection = Inspection(
        enterprise_id=enterprise.id, catalogue_id=catalogue.id, kind=InspectionKind.county,
        status=InspectionStatus.submitted, created_by_id=inspector.id, started_at=finished - timedelta(hours=2),
        finished_at=finished, submitted_received_at=finished + timedelta(hours=1),
    )  # fmt: skip
    db.session.add(inspection)
    db.session.flush()
    for code in _key_codes(enterprise):
        db.session.add(
            ItemResult(inspection_id=inspection.id, item_code=code, result=ItemResultValue.compliant)
        )
    db.session.flush()
    Tablet(db.session, inspector.id).seal(db.session, inspection)
    if approved:
        approve(db.session, inspection, _user("xx_sup").id)
    return inspection


@pytest.fixture
def supervisor(client: FlaskClient) -> FlaskClient:
    login(client, "xx_sup")
    return client


def test_a_tampered_inspection_never_makes_its_enterprise_cleared_and_its_pages_say_why(
    app: Flask, supervisor: FlaskClient
) -> None:
    with app.app_context():
        enterprise_id = _enterprise(TAMPERED).id
    page = supervisor.get(f"/enterprises/{enterprise_id}").get_data(as_text=True)
    assert 'data-clearance="cleared"' not in page
    assert 'id="evidence-warning"' in page and "设备签名封存验证未通过" in page
    # CS-1 rests on the tampered record: it is not 已清零 either.
    row = re.search(r'<tr data-item="CS-1"[^>]*>(.*?)</tr>', page, re.S)
    assert row is not None and "已清零" not in row.group(1)
    listed = supervisor.get(f"/enterprises?q={TAMPERED}").get_data(as_text=True)
    assert 'data-clearance="cleared"' not in listed and "存疑不计入" in listed
    # Coverage: the county phase's list of inspected enterprises leaves it out.
    covered = supervisor.get("/enterprises?phase=county_coverage&inspected=1").get_data(as_text=True)
    assert TAMPERED not in covered
    assert TAMPERED in supervisor.get("/enterprises?phase=county_coverage&inspected=0").get_data(as_text=True)


def test_clearance_needs_an_approval_and_a_pending_one_is_shown_apart(
    app: Flask, supervisor: FlaskClient
) -> None:
    with app.app_context():
        steel = _enterprise(UNINSPECTED_STEEL)
        steel_id = steel.id
        before = supervisor.get("/dashboard").get_data(as_text=True)
        inspection = _clearing_inspection(steel, approved=False)
        db.session.commit()
        pending = supervisor.get("/dashboard").get_data(as_text=True)
        assert _figure(pending, "cleared-all") == _figure(before, "cleared-all")
        assert _figure(pending, "pending-all") == _figure(before, "pending-all") + 1
        page = supervisor.get(f"/enterprises/{steel_id}").get_data(as_text=True)
        assert 'data-clearance="pending_review"' in page and 'data-clearance="cleared"' not in page
        assert UNINSPECTED_STEEL in supervisor.get("/enterprises?cleared=pending").get_data(as_text=True)
        assert UNINSPECTED_STEEL not in supervisor.get("/enterprises?cleared=1").get_data(as_text=True)
        approve(db.session, inspection, _user("xx_sup").id)
        db.session.commit()
    approved = supervisor.get("/dashboard").get_data(as_text=True)
    assert _figure(approved, "cleared-all") == _figure(before, "cleared-all") + 1
    assert 'data-clearance="cleared"' in supervisor.get(f"/enterprises/{steel_id}").get_data(as_text=True)


def test_the_demo_counts_only_approved_verified_inspections_as_cleared(
    app: Flask, supervisor: FlaskClient
) -> None:
    with app.app_context():
        from server.services.oversight import clearances

        verdicts = clearances(db.session, _user("xx_sup"), clock.today())
        for enterprise_id, verdict in verdicts.items():
            if not verdict.verdict.cleared:
                continue
            latest = db.session.scalars(
                sa.select(Inspection).where(
                    Inspection.enterprise_id == enterprise_id, Inspection.kind != InspectionKind.self_check,
                    Inspection.status == InspectionStatus.approved, Inspection.seal_verified.is_(True),
                )
            ).all()  # fmt: skip
            assert latest, f"{enterprise_id} is 已清零 without an approved, verified inspection"


def test_answers_altered_after_sealing_never_count(app: Flask, supervisor: FlaskClient) -> None:
    with app.app_context():
        steel = _enterprise(UNINSPECTED_STEEL)
        steel_id = steel.id
        before = supervisor.get("/dashboard").get_data(as_text=True)
        inspection = _clearing_inspection(steel, approved=True)
        db.session.commit()
        assert (
            _figure(supervisor.get("/dashboard").get_data(as_text=True), "cleared-all")
            == _figure(before, "cleared-all") + 1
        )
        # A write after sealing (sync refuses one, so only another path could make it) turns a sealed 符合 into
        # 不适用: the seal still reads verified, but the answers no longer are what the device sealed.
        row = db.session.scalars(
            sa.select(ItemResult).where(ItemResult.inspection_id == inspection.id)
        ).first()
        assert row is not None
        row.result = ItemResultValue.not_applicable
        db.session.commit()
    after = supervisor.get("/dashboard").get_data(as_text=True)
    assert _figure(after, "cleared-all") == _figure(before, "cleared-all")
    page = supervisor.get(f"/enterprises/{steel_id}").get_data(as_text=True)
    assert 'data-clearance="cleared"' not in page
    assert "服务器上的检查结果与设备封存记录不一致" in page


def _overdue_hazard(
    enterprise: Enterprise, found_at: datetime, deadline: date, source: HazardSource
) -> Hazard:
    return record_hazard(
        db.session, enterprise=enterprise, description="除尘系统未按规定设置锁气卸灰装置", level=HazardLevel.general,
        found_at=found_at, deadline=deadline, source=source, item_code=None, place="除尘器",
        terms={"responsible_person": "王建平", "measures": "加装锁气卸灰装置"},
    )  # fmt: skip


def test_a_provisional_report_counts_overdue_as_of_today_like_the_dashboard(
    app: Flask, supervisor: FlaskClient
) -> None:
    with app.app_context():
        steel = _enterprise(UNINSPECTED_STEEL)
        zone = clock.zone()
        today = clock.today(zone)
        # Found in the campaign; due in two days: not overdue today, though before the report's cut-off.
        _overdue_hazard(steel, _campaign_day(), today + timedelta(days=2), HazardSource.inspection)
        db.session.commit()
        # Next month's report is provisional today whatever today's date: its cut-off (the 23rd) is to come.
        month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        report = progress_report.build_report(db.session, _user("xx_sup"), month, zone=zone)
        assert report.provisional
    dashboard = _figure(supervisor.get("/dashboard").get_data(as_text=True), "overdue")
    assert report.total.overdue == dashboard
    assert report.as_of == today
    assert all(not m.overdue or (m.deadline is not None and m.deadline < today) for m in report.majors)


def test_records_before_the_campaign_are_listed_apart_not_counted(
    app: Flask, supervisor: FlaskClient
) -> None:
    with app.app_context():
        steel = _enterprise(UNINSPECTED_STEEL)
        zone = clock.zone()
        today = clock.today(zone)
        user = _user("xx_sup")
        before_dash = supervisor.get("/dashboard").get_data(as_text=True)
        before_report = progress_report.build_report(db.session, user, today, zone=zone)
        # Two ledger rows from 2022, long overdue.
        old = datetime(2022, 3, 1, 2, 0, tzinfo=UTC)
        for _ in range(2):
            _overdue_hazard(steel, old, date(2022, 4, 1), HazardSource.self_ledger)
        db.session.commit()
        after_report = progress_report.build_report(db.session, user, today, zone=zone)
    after_dash = supervisor.get("/dashboard").get_data(as_text=True)
    assert _figure(after_dash, "overdue") == _figure(before_dash, "overdue")
    assert _figure(after_dash, "before-campaign") == 2
    assert after_report.total.hazards == before_report.total.hazards
    assert after_report.total.overdue == before_report.total.overdue
    assert after_report.before_campaign == before_report.before_campaign + 2


@pytest.fixture
def zoned_apps(database_url: str, tmp_path: Path, qr_key_file: str) -> Iterator[tuple[Flask, Flask]]:
    """Two apps on the same data, one at UTC+14 and one at UTC-12: their days always differ."""
    east = create_app(app_config(database_url, tmp_path / "east", QR_SIGNING_KEY_FILE=qr_key_file,
                                 TIMEZONE="Etc/GMT-14"))  # fmt: skip
    west = create_app(app_config(database_url, tmp_path / "west", QR_SIGNING_KEY_FILE=qr_key_file,
                                 TIMEZONE="Etc/GMT+12"))  # fmt: skip
    yield east, west
    dispose(east)
    dispose(west)


def test_the_bureaus_time_zone_moves_the_dashboard_and_the_map(zoned_apps: tuple[Flask, Flask]) -> None:
    east, west = zoned_apps
    with west.app_context():
        west_today = datetime.now(ZoneInfo("Etc/GMT+12")).date()
        assert clock.today() == west_today
        steel = _enterprise(UNINSPECTED_STEEL)
        # Due on the western day: overdue in the east (whose day is later), not in the west.
        hazard = _overdue_hazard(steel, _campaign_day(), west_today, HazardSource.inspection)
        db.session.commit()
        hazard_id = str(hazard.id)
    figures = {}
    for name, app in (("east", east), ("west", west)):
        client = app.test_client()
        login(client, "xx_sup")
        figures[name] = _figure(client.get("/dashboard").get_data(as_text=True), "overdue")
        points = client.get("/api/map/points?kind=hazard").get_json()["points"]
        point = next(p for p in points if p["id"] == hazard_id)
        assert point.get("overdue", False) is (name == "east"), name
    assert figures["east"] == figures["west"] + 1


def test_the_sampling_seed_cannot_be_typed_redraws_need_a_reason_and_the_share_a_floor(app: Flask) -> None:
    client = app.test_client()
    login(client, "ll_city")

    def token() -> str:
        html = client.get("/sampling").get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert match
        return match.group(1)

    typed = client.post("/sampling", data={"csrf_token": token(), "percent": "10", "seed": "12345"})
    assert typed.status_code == 400 and "不能输入" in typed.get_data(as_text=True)
    low = client.post("/sampling", data={"csrf_token": token(), "percent": "5"})
    assert low.status_code == 400 and "10%" in low.get_data(as_text=True)
    first = client.post("/sampling", data={"csrf_token": token(), "percent": "10"})
    assert first.status_code == 302
    again = client.post("/sampling", data={"csrf_token": token(), "percent": "10"})
    assert again.status_code == 400 and "理由" in again.get_data(as_text=True)
    unconfirmed = client.post(
        "/sampling", data={"csrf_token": token(), "percent": "10", "reason": "抽取时名册有误，需要重新抽取"}
    )
    assert unconfirmed.status_code == 400 and "确认" in unconfirmed.get_data(as_text=True)
    redraw = client.post(
        "/sampling",
        data={
            "csrf_token": token(),
            "percent": "10",
            "reason": "抽取时名册有误，需要重新抽取",
            "confirm": "1",
        },
    )
    assert redraw.status_code == 302
    with app.app_context():
        from server.models import AuditEvent, SamplingAssignment, SamplingDraw

        draws = db.session.scalars(sa.select(SamplingDraw).order_by(SamplingDraw.drawn_at)).all()
        assert len(draws) == 2 and draws[1].notes["replaces"] == str(draws[0].id)
        assert all(len(d.seed) == 32 and d.seed != "12345" for d in draws)
        live = db.session.scalars(
            sa.select(SamplingAssignment).where(SamplingAssignment.draw_id == draws[0].id)
        ).all()
        assert live and all(a.deleted_at is not None for a in live)
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action.like("sampling.%"))
        ).all()
        assert sorted(actions) == ["sampling.draw", "sampling.redraw"]
    listing = client.get("/sampling").get_data(as_text=True)
    assert (
        listing.count('data-draw-status="replaced"') == 1
        and listing.count('data-draw-status="official"') == 1
    )
    # The admin's campaign form refuses a share below the notice's 10 %.
    from server.domain.sampling import share_problem

    assert share_problem(5) is not None and share_problem(10) is None


def _csrf(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


def test_accepting_a_major_hazard_needs_its_five_in_place_and_records_who(
    app: Flask, supervisor: FlaskClient
) -> None:
    from server.demo.activity import demo_id
    from server.domain.hazards import HazardEventKind
    from server.services.hazards import append_event

    with app.app_context():
        hazard = db.session.scalar(
            sa.select(Hazard).where(
                Hazard.inspection_id == demo_id("inspection/xx-01"), Hazard.item_code == "ST-6"
            )
        )
        assert (
            hazard is not None and hazard.listed and not (hazard.five_in_place or {}).get("contingency_plan")
        )
        at = max(e.at for e in hazard.events) + timedelta(minutes=1)
        append_event(
            db.session, hazard, HazardEventKind.rectification_reported, at, comment="已安装固定式报警装置"
        )
        db.session.commit()
        path = f"/hazards/{hazard.id}"
    page = supervisor.get(path).get_data(as_text=True)
    assert 'id="five-in-place-missing"' in page and "应急预案到位" in page
    one_click = supervisor.post(path, data={"csrf_token": _csrf(supervisor, path), "action": "accept"})
    assert one_click.status_code == 400
    no_reason = supervisor.post(
        path, data={"csrf_token": _csrf(supervisor, path), "action": "accept", "completed_by": "王建平"}
    )
    assert no_reason.status_code == 400 and "应急预案到位" in no_reason.get_data(as_text=True)
    accepted = supervisor.post(path, data={
        "csrf_token": _csrf(supervisor, path), "action": "accept", "completed_by": "王建平",
        "waiver": "应急预案已报县局备案，纸质文本存档待扫描上传",
    })  # fmt: skip
    assert accepted.status_code == 302
    with app.app_context():
        hazard = db.session.get(Hazard, hazard.id)
        assert hazard is not None
        assert hazard.terms["accepted_by"] == _user("xx_sup").display_name
        assert hazard.terms["completed_by"] == "王建平"
        event = max(hazard.events, key=lambda e: e.at)
        assert event.kind == HazardEventKind.accepted and event.data["waiver"].startswith("应急预案已报")
    shown = supervisor.get(path).get_data(as_text=True)
    assert "王建平" in shown and _user_name(app, "xx_sup") in shown


def _user_name(app: Flask, username: str) -> str:
    with app.app_context():
        return _user(username).display_name


def test_approving_a_flagged_inspection_needs_a_confirmation_and_a_comment(
    app: Flask, supervisor: FlaskClient
) -> None:
    from server.demo.activity import demo_id

    far = demo_id("inspection/xx-03")
    path = f"/inspections/{far}"
    listed = supervisor.get("/inspections?doubtful=1").get_data(as_text=True)
    assert "山西吕梁兴达铸钢有限公司" in listed and "存疑" in listed
    assert "山西吕梁兴达铸钢有限公司" not in supervisor.get("/inspections?doubtful=0").get_data(as_text=True)
    one_click = supervisor.post(
        f"{path}/review", data={"csrf_token": _csrf(supervisor, path), "outcome": "approve"}
    )
    assert one_click.status_code == 400 and "存疑" in one_click.get_data(as_text=True)
    no_comment = supervisor.post(
        f"{path}/review",
        data={"csrf_token": _csrf(supervisor, path), "outcome": "approve", "confirm_flags": "1"},
    )
    assert no_comment.status_code == 400
    approved = supervisor.post(f"{path}/review", data={
        "csrf_token": _csrf(supervisor, path), "outcome": "approve", "confirm_flags": "1",
        "comment": "已电话核实：当日检查组在企业新厂区，定位偏差属实",
    })  # fmt: skip
    assert approved.status_code == 303
    with app.app_context():
        inspection = db.session.get(Inspection, far)
        assert inspection is not None and inspection.status == InspectionStatus.approved


def test_the_ledger_import_says_how_many_rows_fall_outside_the_campaign(app: Flask) -> None:
    import io as _io

    import openpyxl

    from server.services.ledger_excel import import_ledger

    header = ["序号", "检查时间", "隐患部位", "隐患描述", "隐患等级", "整改期限"]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    with app.app_context():
        inside = _campaign_day().astimezone(clock.zone()).date()
    sheet.append([1, "2022-03-01", "炼钢车间", "转炉平台护栏缺失", "一般", "2022-04-01"])
    sheet.append([2, "2022-06-09", "轧钢车间", "配电柜前未铺设绝缘胶垫", "一般", "2022-07-01"])
    sheet.append(
        [
            3,
            inside.isoformat(),
            "原料库",
            "消防通道堆放杂物",
            "一般",
            (inside + timedelta(days=20)).isoformat(),
        ]
    )
    data = _io.BytesIO()
    book.save(data)
    with app.app_context():
        report = import_ledger(
            db.session, _enterprise("兴县晋兴特钢有限公司"), data.getvalue(), actor=_user("qy_jinxing"),
            filename="台账.xlsx",
        )  # fmt: skip
        db.session.commit()
    assert report.created == 3
    assert [line for line, _day in report.outside_campaign] == [2, 3]
    outside = report.outside_campaign_note()
    assert outside is not None and outside.zh.startswith("2 行的检查时间不在专项行动期间")


def test_the_reconciliation_never_compares_with_a_tampered_inspection(app: Flask) -> None:
    from server.demo.activity import demo_id
    from server.services.reconciliation import reconcile_enterprise, resolve_phase

    with app.app_context():
        user, zone, today = _user("xx_sup"), clock.zone(), clock.today()
        window = resolve_phase(db.session, user, "county_coverage", today, zone)
        assert window is not None
        tampered = _enterprise(TAMPERED)
        row = reconcile_enterprise(db.session, user, tampered.id, window, today, zone)
        assert row is not None and row.inspection_id != demo_id("inspection/xx-11")

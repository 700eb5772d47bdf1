"""The supervisor's dashboard, hazard ledger, hazard page and enterprise pages, with scope and actions."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server import clock
from server.domain.clearance import ItemResultValue
from server.domain.hazards import HazardEventKind as K
from server.domain.hazards import HazardLevel, HazardState
from server.domain.inspections import InspectionKind, InspectionStatus
from server.extensions import db
from server.models import (
    AuditEvent,
    Catalogue,
    CatalogueItem,
    Enterprise,
    Hazard,
    HazardEvent,
    HazardSource,
    Inspection,
    ItemResult,
    User,
)
from server.services import audit
from server.services.hazards import append_event, record_hazard
from tests.conftest import login
from tests.sealing import Tablet, approve

XINGXIAN_STEEL = "兴县晋兴特钢有限公司"
#: A steel plant the demo's activity has not inspected: its 清零 changes only with what a test adds.
UNINSPECTED_STEEL = "兴县精工铸件有限公司"


def _enterprise(name: str = XINGXIAN_STEEL) -> Enterprise:
    enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == name))
    assert enterprise is not None
    return enterprise


def _linxian_enterprise() -> Enterprise:
    enterprise = db.session.scalar(
        sa.select(Enterprise).join(Enterprise.region).where(sa.text("region.code = '141124'")).limit(1)
    )
    assert enterprise is not None
    return enterprise


def _hazard(enterprise: Enterprise, *, level: HazardLevel = HazardLevel.general, days_ago: int = 30,
            deadline_in: int = -5, description: str = "除尘器泄爆口朝向人员密集区域", item_code: str = "DU-1") -> Hazard:  # fmt: skip
    found_at = datetime.now(UTC) - timedelta(days=days_ago)
    return record_hazard(
        db.session, enterprise=enterprise, description=description, level=level, found_at=found_at,
        deadline=local_today_utc() + timedelta(days=deadline_in), source=HazardSource.inspection, item_code=item_code,
        place="布袋除尘器", terms={"responsible_person": "王建平", "measures": "更换泄爆口导向装置"},
    )  # fmt: skip


def local_today_utc() -> date:
    return datetime.now(UTC).date()


def _submitted_inspection(
    enterprise: Enterprise, results: dict[str, ItemResultValue], finished: datetime, *, approved: bool = True
) -> Inspection:
    """A county inspection sealed by a tablet of its own and, unless ``approved`` is False, approved."""
    catalogue = db.session.scalar(sa.select(Catalogue))
    assert catalogue is not None
    creator = db.session.scalar(sa.select(User).where(User.username == "xx_insp1"))
    inspection = Inspection(
        enterprise_id=enterprise.id, catalogue_id=catalogue.id, kind=InspectionKind.county,
        status=InspectionStatus.submitted, created_by_id=creator.id if creator else None,
        started_at=finished - timedelta(hours=2), finished_at=finished,
    )  # fmt: skip
    db.session.add(inspection)
    db.session.flush()
    for code, result in results.items():
        db.session.add(ItemResult(inspection_id=inspection.id, item_code=code, result=result))
    db.session.flush()
    assert creator is not None
    Tablet(db.session, creator.id).seal(db.session, inspection)
    if approved:
        reviewer = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        assert reviewer is not None
        approve(db.session, inspection, reviewer.id)
    return inspection


def _applicable_key_codes(enterprise: Enterprise) -> list[str]:
    from server.domain.applicability import ApplicabilityRule, applies

    items = db.session.scalars(
        sa.select(CatalogueItem).where(CatalogueItem.section == "key").order_by(CatalogueItem.ordinal)
    ).all()
    profile = enterprise.profile()
    return [i.code for i in items if applies(ApplicabilityRule.from_dict(i.applies_when), profile)]


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _figure(html: str, name: str) -> int:
    match = re.search(rf'data-figure="{re.escape(name)}">(?:<strong>)?(\d+)<', html)
    assert match, name
    return int(match.group(1))


def _link(html: str, name: str) -> str:
    """The address a dashboard figure links to."""
    match = re.search(rf'<a href="([^"]+)"[^>]*data-figure="{re.escape(name)}"', html)
    assert match, name
    return match.group(1).replace("&amp;", "&")


@pytest.fixture
def supervisor(client: FlaskClient) -> FlaskClient:
    login(client, "xx_sup")
    return client


def test_pages_are_for_supervisors_only(app: Flask) -> None:
    anonymous = app.test_client()
    assert anonymous.get("/dashboard").status_code == 302
    for username in ("xx_insp1", "qy_jinxing", "xx_expert"):
        client = app.test_client()
        login(client, username)
        for path in ("/dashboard", "/hazards", "/enterprises"):
            assert client.get(path).status_code == 404, (username, path)
    for username in ("xx_sup", "ll_city", "admin"):
        client = app.test_client()
        login(client, username)
        for path in ("/dashboard", "/hazards", "/enterprises"):
            assert client.get(path).status_code == 200, (username, path)


def test_dashboard_counts_hazards_clearance_and_links_to_the_lists(
    app: Flask, supervisor: FlaskClient
) -> None:
    with app.app_context():
        steel = _enterprise(UNINSPECTED_STEEL)
        codes = _applicable_key_codes(steel)
        before = supervisor.get("/dashboard").get_data(as_text=True)
        base_cleared = _figure(before, "cleared-all")
        base_overdue = _figure(before, "overdue")
        # Every applicable item compliant: cleared; then a major hazard open on one item: not cleared.
        _submitted_inspection(
            steel, dict.fromkeys(codes, ItemResultValue.compliant), datetime.now(UTC) - timedelta(days=3)
        )
        db.session.commit()
        cleared = supervisor.get("/dashboard").get_data(as_text=True)
        assert _figure(cleared, "cleared-all") == base_cleared + 1
        assert _figure(cleared, "cleared-steel") >= 1
        hazard = _hazard(steel, level=HazardLevel.major, item_code=codes[0])
        append_event(db.session, hazard, K.listed, hazard.found_at + timedelta(hours=1))
        db.session.commit()
        hazard_id = hazard.id
    html = supervisor.get("/dashboard").get_data(as_text=True)
    assert _figure(html, "cleared-all") == base_cleared
    assert _figure(html, "overdue") == base_overdue + 1
    assert _figure(html, "listed") >= 1
    assert _figure(html, "hazards-major-found") >= 1
    # The numbers link to the lists behind them (within the campaign's days), and those lists hold what was counted.
    overdue_link, listed_link = _link(html, "overdue"), _link(html, "listed")
    assert "overdue=1" in overdue_link and "listed=1" in listed_link
    overdue = supervisor.get(overdue_link).get_data(as_text=True)
    assert f'data-hazard-id="{hazard_id}"' in overdue and "逾期" in overdue
    listed = supervisor.get(listed_link).get_data(as_text=True)
    assert f'data-hazard-id="{hazard_id}"' in listed
    not_cleared = supervisor.get("/enterprises?cleared=0&sector=steel").get_data(as_text=True)
    assert UNINSPECTED_STEEL in not_cleared
    assert UNINSPECTED_STEEL not in supervisor.get("/enterprises?cleared=1").get_data(as_text=True)


def test_hazard_list_filters_pages_and_refuses_bad_filters(app: Flask, supervisor: FlaskClient) -> None:
    with app.app_context():
        steel = _enterprise()
        ids = [_hazard(steel, description=f"隐患{i:03d}", deadline_in=i).id for i in range(60)]
        major = _hazard(steel, level=HazardLevel.major, description="重大隐患：煤气柜未设泄漏报警").id
        db.session.commit()
    first = supervisor.get("/hazards?level=general").get_data(as_text=True)
    assert "第 1 / 2 页" in first and first.count("data-hazard-id=") == 50
    second = supervisor.get("/hazards?level=general&page=2").get_data(as_text=True)
    assert second.count("data-hazard-id=") >= 10
    shown = set(re.findall(r'data-hazard-id="([^"]+)"', first + second))
    assert {str(i) for i in ids} <= shown and str(major) not in shown
    majors = supervisor.get("/hazards?level=major&state=found").get_data(as_text=True)
    assert str(major) in majors and str(ids[0]) not in majors
    assert str(major) in supervisor.get("/hazards?q=煤气柜").get_data(as_text=True)
    bad = supervisor.get("/hazards?level=severe&page=x")
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "隐患等级“severe”无效" in text and "page" in text


def test_a_rejection_without_a_reason_asks_for_the_reason_and_does_not_blame_the_state(
    app: Flask, supervisor: FlaskClient
) -> None:
    with app.app_context():
        hazard = _hazard(_enterprise(), deadline_in=10)
        append_event(db.session, hazard, K.rectification_reported, hazard.found_at + timedelta(days=1))
        db.session.commit()
        url = f"/hazards/{hazard.id}"
    token = _token(supervisor.get(url).get_data(as_text=True))
    refused = supervisor.post(url, data={"csrf_token": token, "action": "reject", "comment": " "})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "驳回整改必须填写理由" in html
    assert "状态不允许" not in html and "A rejection needs a reason" not in html
    english = supervisor.post(url, data={"csrf_token": token, "action": "reject", "comment": ""},
                              headers={"Accept-Language": "en"})  # fmt: skip
    assert english.status_code == 400 and "A rejection needs a reason" in english.get_data(as_text=True)
    assert "驳回整改必须填写理由" not in english.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Hazard, hazard.id).state == HazardState.reported


def test_hazard_page_accepts_rejects_extends_and_lists_each_as_an_audited_event(
    app: Flask, supervisor: FlaskClient
) -> None:
    with app.app_context():
        hazard = _hazard(_enterprise(), level=HazardLevel.major, deadline_in=10)
        append_event(db.session, hazard, K.rectification_reported, hazard.found_at + timedelta(days=1))
        db.session.commit()
        hazard_id = hazard.id
    url = f"/hazards/{hazard_id}"
    page = supervisor.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "五到位" in html and "王建平" in html and "验收通过" in html
    token = _token(html)
    refused = supervisor.post(url, data={"csrf_token": token, "action": "reject", "comment": " "})
    assert refused.status_code == 400 and "驳回整改必须填写理由" in refused.get_data(as_text=True)
    rejected = supervisor.post(
        url, data={"csrf_token": token, "action": "reject", "comment": "泄爆口仍朝向通道"}
    )
    assert rejected.status_code == 302
    extend_bad = supervisor.post(
        url, data={"csrf_token": token, "action": "extend", "deadline": "2026-13-01", "comment": "x"}
    )
    assert extend_bad.status_code == 400 and "日期" in extend_bad.get_data(as_text=True)
    new_deadline = (local_today_utc() + timedelta(days=40)).isoformat()
    extended = supervisor.post(
        url,
        data={"csrf_token": token, "action": "extend", "deadline": new_deadline, "comment": "设备到货延迟"},
    )
    assert extended.status_code == 302
    no_level = supervisor.post(url, data={"csrf_token": token, "action": "list", "supervision_level": ""})
    assert no_level.status_code == 400 and "督办级别" in no_level.get_data(as_text=True)
    listed = supervisor.post(
        url,
        data={
            "csrf_token": token,
            "action": "list",
            "supervision_level": "市级",
            "supervision_no": "吕安委督〔2026〕3号",
        },
    )
    assert listed.status_code == 302
    forged = supervisor.post(url, data={"csrf_token": "forged", "action": "delist"})
    assert forged.status_code == 403
    with app.app_context():
        stored = db.session.get(Hazard, hazard_id)
        assert stored is not None
        assert (stored.state, stored.listed, stored.deadline.isoformat() if stored.deadline else None) == (
            HazardState.rejected, True, new_deadline,
        )  # fmt: skip
        assert stored.supervision_no == "吕安委督〔2026〕3号"
        kinds = [e.kind for e in sorted(stored.events, key=lambda e: e.at)]
        assert kinds == [K.found, K.rectification_reported, K.rejected, K.deadline_extended, K.listed]
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.entity_id == str(hazard_id))
        ).all()
        assert actions == ["hazard.reject", "hazard.extend", "hazard.list"]
        assert audit.verify(db.session)[1] is None
        # The events made on the web flow to devices like any other: they carry change numbers.
        assert all(
            e.change_no > 0
            for e in db.session.scalars(sa.select(HazardEvent).where(HazardEvent.hazard_id == hazard_id))
        )
    shown = supervisor.get(url).get_data(as_text=True)
    assert "泄爆口仍朝向通道" in shown and "市级" in shown and "延长整改期限" in shown


def test_other_county_and_unknown_hazards_and_enterprises_are_404(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        linxian = _linxian_enterprise()
        hazard_id = _hazard(linxian).id
        enterprise_id = linxian.id
        db.session.commit()
    login(client, "xx_sup")
    assert client.get(f"/hazards/{hazard_id}").status_code == 404
    assert client.get(f"/enterprises/{enterprise_id}").status_code == 404
    assert client.get(f"/hazards/{uuid.uuid4()}").status_code == 404
    assert str(hazard_id) not in client.get("/hazards").get_data(as_text=True)
    city = FlaskClient(app, app.response_class, use_cookies=True)
    login(city, "ll_city")
    assert city.get(f"/hazards/{hazard_id}").status_code == 200
    assert city.get(f"/enterprises/{enterprise_id}").status_code == 200


def test_enterprise_page_shows_clearance_per_item_and_text_as_text(
    app: Flask, supervisor: FlaskClient
) -> None:
    with app.app_context():
        steel = _enterprise()
        codes = _applicable_key_codes(steel)
        results = dict.fromkeys(codes, ItemResultValue.compliant)
        results[codes[1]] = ItemResultValue.non_compliant
        _submitted_inspection(steel, results, datetime.now(UTC) - timedelta(days=2))
        _hazard(steel, item_code=codes[1], description="<script>alert(1)</script>")
        db.session.commit()
        enterprise_id = steel.id
    page = supervisor.get(f"/enterprises/{enterprise_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and XINGXIAN_STEEL in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    row = re.search(rf'data-item="{codes[1]}" class="([^"]+)"', html)
    assert row and row.group(1) == "not-cleared"
    cleared_row = re.search(rf'data-item="{codes[0]}" class="([^"]+)"', html)
    assert cleared_row and cleared_row.group(1) == "cleared"
    assert "尚未验收" in html
    assert (
        "Content-Security-Policy" in page.headers
        and "script-src 'self'" in page.headers["Content-Security-Policy"]
    )
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]


def test_local_today_uses_the_bureau_time_zone(app: Flask) -> None:
    with app.test_request_context():
        assert abs((clock.today() - datetime.now(UTC).date()).days) <= 1


def _csrf(client: FlaskClient) -> str:
    return _token(client.get("/dashboard").get_data(as_text=True))


def test_hazard_api_enforces_scope_and_records_actions(app: Flask) -> None:
    with app.app_context():
        linxian_id = _hazard(_linxian_enterprise()).id
        hazard = _hazard(_enterprise(), deadline_in=20)
        append_event(db.session, hazard, K.rectification_reported, hazard.found_at + timedelta(days=1))
        db.session.commit()
        hazard_id = hazard.id
    county = app.test_client()
    login(county, "xx_sup")
    assert county.get(f"/api/hazards/{linxian_id}").status_code == 404
    assert county.get(f"/api/hazards/{linxian_id}").get_json()["code"] == "404.1"
    listing = county.get("/api/hazards?state=reported").get_json()
    assert str(hazard_id) in {h["id"] for h in listing["items"]}
    assert str(linxian_id) not in {h["id"] for h in county.get("/api/hazards").get_json()["items"]}
    assert county.get("/api/hazards?level=severe").get_json()["code"] == "400.2"
    token = _csrf(county)
    assert county.post(f"/api/hazards/{hazard_id}/events", json={"action": "accept"}).status_code == 403
    nobody = county.post(f"/api/hazards/{hazard_id}/events", json={"action": "accept", "comment": "现场复核已整改"},
                         headers={"X-CSRF-Token": token})  # fmt: skip
    assert (
        nobody.status_code == 400 and nobody.get_json()["code"] == "400.33"
    )  # who did the work (五定) is named
    accepted = county.post(f"/api/hazards/{hazard_id}/events",
                           json={"action": "accept", "comment": "现场复核已整改", "completed_by": "王建平"},
                           headers={"X-CSRF-Token": token})  # fmt: skip
    assert accepted.status_code == 201 and accepted.get_json()["kind"] == "accepted"
    again = county.post(
        f"/api/hazards/{hazard_id}/events", json={"action": "accept"}, headers={"X-CSRF-Token": token}
    )
    assert again.status_code == 409 and again.get_json()["code"] == "409.5"
    detail = county.get(f"/api/hazards/{hazard_id}").get_json()
    assert detail["state"] == "accepted" and [e["kind"] for e in detail["events"]][-1] == "accepted"
    city = app.test_client()
    login(city, "ll_city")
    assert city.get(f"/api/hazards/{linxian_id}").status_code == 200
    inspector = app.test_client()
    login(inspector, "xx_insp1")
    assert inspector.get(f"/api/hazards/{hazard_id}").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "hazard.accept")) == 1


def test_dashboard_api_counts_only_the_callers_scope(app: Flask) -> None:
    with app.app_context():
        _hazard(_linxian_enterprise(), level=HazardLevel.major)
        db.session.commit()
    totals, majors = {}, {}
    for username in ("xx_sup", "lx_sup", "ll_city"):
        client = app.test_client()
        login(client, username)
        body = client.get("/api/dashboard").get_json()
        totals[username] = next(c["enterprises"] for c in body["clearance"] if c["sector"] is None)
        majors[username] = sum(h["count"] for h in body["hazards"] if h["level"] == "major")
    assert totals["xx_sup"] + totals["lx_sup"] == totals["ll_city"]
    assert majors["lx_sup"] >= 1 and majors["xx_sup"] + majors["lx_sup"] == majors["ll_city"]
    inspector = app.test_client()
    login(inspector, "xx_insp1")
    assert inspector.get("/api/dashboard").status_code == 404


def test_the_pages_stylesheet_is_served(client: FlaskClient) -> None:
    with client.get("/static/site.css") as response:
        assert response.status_code == 200 and "nav.main" in response.get_data(as_text=True)


def test_cached_verdicts_patched_after_writes_equal_a_full_recompute(app: Flask) -> None:
    from server.services.oversight import ClearanceCache, clearances, scope_clearances

    cache = ClearanceCache()
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "ll_city"))
        assert user is not None
        today = local_today_utc()
        first = scope_clearances(db.session, user, today, cache)
        assert scope_clearances(db.session, user, today, cache) == first  # nothing written: the same verdicts
        steel = _enterprise(UNINSPECTED_STEEL)
        codes = _applicable_key_codes(steel)
        _submitted_inspection(
            steel, dict.fromkeys(codes, ItemResultValue.compliant), datetime.now(UTC) - timedelta(days=1)
        )
        db.session.commit()
        patched = scope_clearances(db.session, user, today, cache)
        assert patched[steel.id].verdict.cleared and not first[steel.id].verdict.cleared
        _hazard(steel, item_code=codes[0])
        linxian = _linxian_enterprise()
        linxian.dust_workers = 3  # a profile change moves which items apply
        db.session.commit()
        patched = scope_clearances(db.session, user, today, cache)
        assert not patched[steel.id].verdict.cleared
        assert patched == clearances(db.session, user, today)


def test_one_cache_serves_every_scope_and_is_warmed_at_start(app: Flask) -> None:
    from server.caches import clearance_cache, warm_clearance_cache
    from server.services.oversight import clearances, scope_clearances

    warm_clearance_cache(app)  # what each gunicorn worker does as it starts
    with app.app_context():
        cache = clearance_cache()
        assert cache.get(("all", clock.today())) is not None
        for username in ("xx_sup", "lx_sup", "ll_city"):
            user = db.session.scalar(sa.select(User).where(User.username == username))
            assert user is not None
            assert scope_clearances(db.session, user, clock.today(), cache) == clearances(
                db.session, user, clock.today()
            )

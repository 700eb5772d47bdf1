"""自查核对 pages and JSON: inspector findings against an enterprise's self-inspection ledger, scoped."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.domain.clearance import ItemResultValue
from server.domain.hazards import HazardEventKind, HazardLevel
from server.domain.inspections import InspectionKind, InspectionStatus
from server.extensions import db
from server.models import (
    Campaign,
    CampaignPhase,
    Catalogue,
    Enterprise,
    Hazard,
    HazardSource,
    Inspection,
    ItemResult,
    User,
)
from server.services.hazards import append_event, record_hazard
from tests.conftest import login
from tests.sealing import Tablet

#: A 兴县 steel plant the demo's activity has not inspected: all its findings and ledger entries are the test's.
STEEL = "兴县精工铸件有限公司"
PHASE = "county_coverage"
SHANGHAI = ZoneInfo("Asia/Shanghai")
R = ItemResultValue


@dataclass
class Scenario:
    """The ids the assertions look for."""

    enterprise: uuid.UUID
    self_reported: tuple[uuid.UUID, uuid.UUID]
    claimed: tuple[uuid.UUID, uuid.UUID]
    missed: uuid.UUID
    ledger_only: uuid.UUID
    ignored: list[uuid.UUID]
    linxian: uuid.UUID


def _phase() -> CampaignPhase:
    phase = db.session.scalar(
        sa.select(CampaignPhase)
        .join(Campaign)
        .where(CampaignPhase.code == PHASE)
        .order_by(Campaign.id.desc())
    )
    assert phase is not None
    return phase


def _at(day: date, hour: int = 10) -> datetime:
    """``hour`` o'clock of ``day`` in the bureau's zone, as UTC."""
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI).astimezone(UTC)


def _inspection(
    enterprise: Enterprise, kind: InspectionKind, status: InspectionStatus, finished: datetime,
    results: dict[str, ItemResultValue],
) -> Inspection:  # fmt: skip
    catalogue = db.session.scalar(sa.select(Catalogue))
    creator = db.session.scalar(sa.select(User).where(User.username == "xx_insp1"))
    assert catalogue is not None and creator is not None
    inspection = Inspection(
        enterprise_id=enterprise.id, catalogue_id=catalogue.id, kind=kind, status=status, created_by_id=creator.id,
        started_at=finished - timedelta(hours=2), finished_at=finished if status != InspectionStatus.draft else None,
    )  # fmt: skip
    db.session.add(inspection)
    db.session.flush()
    for code, result in results.items():
        db.session.add(ItemResult(inspection_id=inspection.id, item_code=code, result=result))
    db.session.flush()
    if kind != InspectionKind.self_check and status != InspectionStatus.draft:
        # A regulator's record counts only when its tablet's seal verified, as a synced one does.
        Tablet(db.session, creator.id).seal(db.session, inspection)
    return inspection


def _hazard(
    enterprise: Enterprise, description: str, place: str, found_at: datetime, *, item: str | None = None,
    inspection: Inspection | None = None, deadline: date | None = None,
) -> Hazard:  # fmt: skip
    source = HazardSource.inspection if inspection is not None else HazardSource.self_ledger
    return record_hazard(
        db.session, enterprise=enterprise, description=description, level=HazardLevel.general, found_at=found_at,
        deadline=deadline or datetime.now(SHANGHAI).date() + timedelta(days=30), source=source, item_code=item, place=place,
        inspection_id=inspection.id if inspection else None, terms={"responsible_person": "王建平"},
    )  # fmt: skip


@pytest.fixture
def scenario(app: Flask) -> Scenario:
    """Three findings in the phase (self-reported, claimed fixed but present, missed), a ledger-only entry,
    a self-assessment, and findings that must not count (draft inspection, before the phase)."""
    with app.app_context():
        steel = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == STEEL))
        assert steel is not None
        phase = _phase()
        start = phase.starts_on
        visit = _inspection(steel, InspectionKind.county, InspectionStatus.submitted, _at(start + timedelta(days=10), 12),
                            {"ST-6": R.non_compliant, "ST-7": R.non_compliant, "ST-1": R.compliant})  # fmt: skip
        found = _at(start + timedelta(days=10))
        f1 = _hazard(
            steel,
            "1#高炉主控室未设置固定式一氧化碳报警装置",
            "1#高炉主控室",
            found,
            item="ST-6",
            inspection=visit,
        )
        f2 = _hazard(steel, "除尘器泄爆口朝向人员通道", "除尘器", found, inspection=visit)
        overdue_on = datetime.now(SHANGHAI).date() - timedelta(days=3)
        f3 = _hazard(steel, "转炉煤气管道未设置隔断装置和吹扫设施", "转炉", found, item="ST-7", inspection=visit,
                     deadline=overdue_on)  # fmt: skip
        # The enterprise's ledger, kept before the inspector came.
        e1 = _hazard(
            steel,
            "高炉主控室没有安装一氧化碳报警器",
            "高炉主控室",
            _at(start - timedelta(days=20)),
            item="ST-6",
        )
        e2 = _hazard(steel, "除尘系统泄爆口正对人员通行通道", "除尘系统", _at(start - timedelta(days=15)))
        append_event(db.session, e2, HazardEventKind.rectification_reported, _at(start - timedelta(days=5)))
        e3 = _hazard(steel, "消防通道堆放杂物", "成品仓库", _at(start - timedelta(days=12)))
        # Not counted: a draft inspection's finding, and a finding before the phase.
        draft = _inspection(
            steel, InspectionKind.unannounced, InspectionStatus.draft, _at(start + timedelta(days=11)), {}
        )
        d1 = _hazard(
            steel, "钢丝绳断丝超标未更换", "炼钢车间", _at(start + timedelta(days=11)), inspection=draft
        )
        earlier = _inspection(
            steel, InspectionKind.county, InspectionStatus.approved, _at(start - timedelta(days=3)), {}
        )
        d2 = _hazard(steel, "氧枪冷却水出水温度报警装置缺失", "转炉", _at(start - timedelta(days=3)), item="ST-5",
                     inspection=earlier)  # fmt: skip
        # The enterprise's self-assessment: ST-6 and ST-7 said fine, the inspector found otherwise.
        _inspection(steel, InspectionKind.self_check, InspectionStatus.submitted, _at(start - timedelta(days=25)),
                    {"ST-6": R.compliant, "ST-7": R.not_applicable, "ST-1": R.compliant})  # fmt: skip
        linxian = db.session.scalar(
            sa.select(Enterprise).join(Enterprise.region).where(sa.text("region.code = '141124'")).limit(1)
        )
        assert linxian is not None
        _hazard(linxian, "配电箱未接地", "配电室", found, inspection=_inspection(
            linxian, InspectionKind.county, InspectionStatus.submitted, _at(start + timedelta(days=10), 12), {}))  # fmt: skip
        db.session.commit()
        return Scenario(steel.id, (f1.id, e1.id), (f2.id, e2.id), f3.id, e3.id, [d1.id, d2.id], linxian.id)


def _supervisor(app: Flask, username: str = "xx_sup") -> FlaskClient:
    client = app.test_client()
    login(client, username)
    return client


def _row(html: str, enterprise_id: uuid.UUID) -> dict[str, str]:
    match = re.search(rf'<tr data-enterprise-id="{enterprise_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, "the enterprise's row is missing"
    return dict(re.findall(r'data-col="([^"]+)">([^<]*)<', match.group(1)))


def test_county_page_ranks_enterprises_with_the_categories(app: Flask, scenario: Scenario) -> None:
    client = _supervisor(app)
    page = client.get(f"/reconciliation?phase={PHASE}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "企业自查核对" in html and 'href="/reconciliation"' in html
    row = _row(html, scenario.enterprise)
    assert row == {"findings": "3", "self-reported": "1", "missed": "1", "claimed": "1", "recorded-after": "0",
                   "ledger-only": "1", "overdue": "1", "overstated": "2", "reliability": "33%",
                   "confirmed-reliability": "0%", "awaiting": "2"}  # fmt: skip
    assert f'href="/enterprises/{scenario.enterprise}/reconciliation?phase={PHASE}"' in html
    # Scope: the other county's enterprise is not listed for a county supervisor, but is for the city.
    assert str(scenario.linxian) not in html
    city = _supervisor(app, "ll_city").get(f"/reconciliation?phase={PHASE}").get_data(as_text=True)
    assert f'data-enterprise-id="{scenario.linxian}"' in city
    # Least reliable first; the other orders work too.
    ranked = re.findall(r'data-col="reliability">([^<]*)<', html)
    numbers = [int(v.rstrip("%")) for v in ranked if v != "—"]
    assert numbers == sorted(numbers)
    assert ranked[len(numbers) :] == ["—"] * (len(ranked) - len(numbers))
    orders = ("-reliability", "missed", "claimed", "overstated", "overdue", "name", "confirmed", "awaiting")
    for sort in orders:
        assert client.get(f"/reconciliation?phase={PHASE}&sort={sort}").status_code == 200, sort


def test_enterprise_page_shows_pairs_side_by_side_and_every_category(app: Flask, scenario: Scenario) -> None:
    client = _supervisor(app)
    page = client.get(f"/enterprises/{scenario.enterprise}/reconciliation?phase={PHASE}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and STEEL in html

    def section(name: str) -> str:
        match = re.search(rf'<section class="card" id="{name}"[^>]*>(.*?)</section>', html, re.S)
        assert match, name
        return match.group(1)

    finding, entry = scenario.self_reported
    assert f'data-finding="{finding}" data-entry="{entry}"' in section("self-reported")
    assert "同一重点事项" in section("self-reported")
    finding, entry = scenario.claimed
    claimed = section("claimed")
    assert f'data-finding="{finding}" data-entry="{entry}"' in claimed and "报称已整改" in claimed
    assert re.search(r"描述相似度 \d+%", claimed)
    assert f'data-finding="{scenario.missed}"' in section("missed")
    assert f'data-entry="{scenario.ledger_only}"' in section("ledger-only")
    assert f'data-hazard="{scenario.missed}"' in section("overdue")
    items = section("items")
    assert 'data-item="ST-6" data-verdict="overstated"' in items
    assert 'data-item="ST-7" data-verdict="overstated"' in items
    assert 'data-item="ST-1" data-verdict="agree"' in items
    for ignored in scenario.ignored:
        assert str(ignored) not in html
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]


def test_json_endpoints_agree_with_the_pages(app: Flask, scenario: Scenario) -> None:
    client = _supervisor(app)
    body = client.get(f"/api/reconciliation?phase={PHASE}&per_page=5000").get_json()
    assert body["phase"]["code"] == PHASE and body["sort"] == "reliability"
    mine = next(i for i in body["items"] if i["enterprise_id"] == str(scenario.enterprise))
    assert {k: mine[k] for k in ("findings", "ledger_entries", "self_reported", "missed", "claimed_fixed_but_present",
                                 "ledger_only", "overdue", "overstated_items")} == {
        "findings": 3, "ledger_entries": 3, "self_reported": 1, "missed": 1, "claimed_fixed_but_present": 1,
        "ledger_only": 1, "overdue": 1, "overstated_items": 2,
    }  # fmt: skip
    assert mine["reliability"] == pytest.approx(1 / 3)
    assert body["totals"]["findings"] >= 3 and body["total"] == len(body["items"])
    assert str(scenario.linxian) not in {i["enterprise_id"] for i in body["items"]}

    detail = client.get(f"/api/enterprises/{scenario.enterprise}/reconciliation?phase={PHASE}").get_json()
    assert [(p["finding"]["id"], p["entry"]["id"]) for p in detail["self_reported"]] == [
        tuple(map(str, scenario.self_reported))
    ]
    pair = detail["claimed_fixed_but_present"][0]
    assert (pair["finding"]["id"], pair["entry"]["id"]) == tuple(map(str, scenario.claimed))
    assert pair["entry"]["claimed_fixed_at"] and 0 < pair["similarity"]["description"] <= 1
    assert [f["id"] for f in detail["missed"]] == [str(scenario.missed)]
    assert [e["id"] for e in detail["ledger_only"]] == [str(scenario.ledger_only)]
    assert [(o["source"], o["id"]) for o in detail["overdue"]] == [("finding", str(scenario.missed))]
    verdicts = {i["code"]: i["verdict"] for i in detail["items"]}
    assert verdicts == {"ST-1": "agree", "ST-6": "overstated", "ST-7": "overstated"}
    assert detail["self_inspection_id"] and detail["inspection_id"]


def test_scope_and_roles_are_enforced(app: Flask, scenario: Scenario) -> None:
    county = _supervisor(app)
    for path in (
        f"/enterprises/{scenario.linxian}/reconciliation",
        f"/enterprises/{uuid.uuid4()}/reconciliation",
    ):
        assert county.get(path).status_code == 404
        assert county.get(f"/api{path}").status_code == 404
    assert county.get(f"/api/enterprises/{scenario.linxian}/reconciliation").get_json()["code"] == "404.1"
    city = _supervisor(app, "ll_city")
    assert city.get(f"/enterprises/{scenario.linxian}/reconciliation?phase={PHASE}").status_code == 200
    assert city.get(f"/api/enterprises/{scenario.linxian}/reconciliation?phase={PHASE}").status_code == 200
    for username in ("xx_insp1", "qy_jinxing"):
        other = _supervisor(app, username)
        assert other.get("/reconciliation").status_code == 404
        assert other.get(f"/enterprises/{scenario.enterprise}/reconciliation").status_code == 404
        assert other.get("/api/reconciliation").status_code == 404
    assert app.test_client().get("/reconciliation").status_code == 302
    # 临县 runs no campaign of its own: nothing to reconcile, said so, and still scoped.
    linxian = _supervisor(app, "lx_sup")
    page = linxian.get("/reconciliation")
    assert page.status_code == 200 and "尚未设置专项行动阶段" in page.get_data(as_text=True)
    assert linxian.get(f"/enterprises/{scenario.linxian}/reconciliation").status_code == 200
    assert linxian.get(f"/enterprises/{scenario.enterprise}/reconciliation").status_code == 404
    assert linxian.get("/api/reconciliation").status_code == 404


def test_bad_phase_and_sort_are_refused(app: Flask, scenario: Scenario) -> None:
    client = _supervisor(app)
    page = client.get("/reconciliation?phase=nope&sort=bogus")
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and "阶段“nope”不存在" in text and "排序“bogus”无效" in text
    assert client.get(f"/enterprises/{scenario.enterprise}/reconciliation?phase=nope").status_code == 400
    assert client.get("/api/reconciliation?phase=nope").get_json()["code"] == "400.2"
    assert client.get("/api/reconciliation?sort=bogus").status_code == 400
    # Without ?phase the phase running today (or the latest begun) is shown.
    assert client.get("/reconciliation").status_code == 200
    assert client.get("/api/reconciliation").status_code == 200


def test_a_write_after_a_view_shows_at_the_next_view(app: Flask, scenario: Scenario) -> None:
    client = _supervisor(app)
    path = f"/reconciliation?phase={PHASE}"
    assert _row(client.get(path).get_data(as_text=True), scenario.enterprise)["ledger-only"] == "1"
    assert (
        _row(client.get(path + "&sort=name").get_data(as_text=True), scenario.enterprise)["ledger-only"]
        == "1"
    )
    with app.app_context():
        steel = db.session.get(Enterprise, scenario.enterprise)
        assert steel is not None
        _hazard(steel, "配电箱未可靠接地", "配电室", _at(_phase().starts_on - timedelta(days=2)))
        db.session.commit()
    assert _row(client.get(path).get_data(as_text=True), scenario.enterprise)["ledger-only"] == "2"
    body = client.get(f"/api/reconciliation?phase={PHASE}&per_page=5000").get_json()
    mine = next(i for i in body["items"] if i["enterprise_id"] == str(scenario.enterprise))
    assert mine["ledger_only"] == 2

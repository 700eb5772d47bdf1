"""The monthly progress report (月报) and the admin's campaign pages.

The report's figures are checked against the demo county counted by hand: from the demo's own definitions
(server/demo/activity.py) where the count does not depend on the day the tests run, and otherwise by a
plain count over the rows in Python, with the state machine replaying each hazard's events: never through the
report's own queries.
"""

from __future__ import annotations

import io
import re
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server import clock
from server.demo.activity import demo_id
from server.domain import hazards as rules
from server.domain.applicability import ApplicabilityRule, applicable_items
from server.domain.clearance import InspectionSummary, ItemResultValue, LinkedHazard, clearance
from server.domain.hazards import HazardEventKind, HazardLevel, HazardState
from server.domain.inspections import InspectionKind, InspectionStatus, ReviewOutcome
from server.extensions import db
from server.models import (
    AuditEvent,
    Campaign,
    CatalogueItem,
    Enterprise,
    Hazard,
    HazardSource,
    Inspection,
    InspectionParticipant,
    ItemResult,
    ReviewDecision,
    User,
)
from server.models.base import utcnow
from server.services import audit
from server.services.hazards import append_event, record_hazard
from server.services.progress_report import (
    COLUMNS,
    FORM_TITLE,
    ProgressReport,
    build_report,
    enterprises_in_scope,
    load_hazards,
    local_end_of,
    report_cutoff,
    report_scope,
    statuses_as_of,
)
from tests.conftest import login
from tests.sealing import Tablet, approve

CHINA = ZoneInfo("Asia/Shanghai")
COUNTIES = {"兴县": "141123", "临县": "141124"}
#: A steel plant the demo has not inspected: its figures move only with what a test adds.
UNINSPECTED_STEEL = "兴县精工铸件有限公司"


def _user(username: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    assert user is not None
    return user


def _enterprise(name: str) -> Enterprise:
    enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == name))
    assert enterprise is not None
    return enterprise


def _report(username: str, period: Any, now: datetime | None = None) -> ProgressReport:
    return build_report(db.session, _user(username), period, zone=CHINA, now=now)


def _far_month() -> date:
    """A month whose 23rd is after everything the demo holds (its events are all in the past)."""
    return (datetime.now(CHINA).date() + timedelta(days=400)).replace(day=1)


def _row(report: ProgressReport, name: str) -> Any:
    return next(r for r in [*report.rows, report.total] if r.unit.name == name)


FIELDS = (
    "groups", "inspectors", "experts", "county_inspections", "city_inspections", "enterprises_covered",
    "enterprises_in_scope", "cleared", "self_inspected", "hazards", "hazards_major", "rectified", "rectified_major",
    "funds_yuan", "overdue", "listed",
)  # fmt: skip


def _figures(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in FIELDS}


# --- counting by hand ------------------------------------------------------------------------------------------


def _county_of(enterprise: Enterprise) -> str:
    return enterprise.region.code[:6]


def _replayed(hazard: Hazard, end: datetime, known: datetime | None = None) -> rules.HazardStatus:
    """The hazard's status replayed from its events dated before ``end`` that the server had before ``known``."""
    known = known or end
    events = sorted(
        (e for e in hazard.events if e.at < end and e.received_at < known),
        key=lambda e: (e.at, e.received_at, e.id),
    )
    return rules.replay(
        [rules.HazardEvent(e.kind, e.at, e.deadline, e.comment or "") for e in events], hazard.level
    )


def _by_hand(end: datetime, day: date) -> dict[str, dict[str, Any]]:
    """The report's figures per county code (and "total"), counted row by row in Python.

    Only inspections whose device seal verified count; 清零 takes only those a supervisor approved by the cut-off
    and whose answers are the sealed ones; hazards found before the campaign's first day are left out; overdue
    is counted as of the cut-off day, or today while the report is provisional."""
    day = min(day, datetime.now(CHINA).date())
    campaign = db.session.scalar(sa.select(Campaign))
    assert campaign is not None
    starts = datetime.combine(min(p.starts_on for p in campaign.phases), datetime.min.time(), tzinfo=CHINA)
    enterprises = [e for e in db.session.scalars(sa.select(Enterprise)) if e.deleted_at is None]
    county = {e.id: _county_of(e) for e in enterprises}
    decisions = db.session.scalars(sa.select(ReviewDecision)).all()
    returned = {
        d.inspection_id for d in decisions if d.outcome == ReviewOutcome.return_ and d.decided_at < end
    }
    approved = {
        d.inspection_id for d in decisions if d.outcome == ReviewOutcome.approve and d.decided_at < end
    }
    inspections = db.session.scalars(sa.select(Inspection)).all()
    counting = [
        i for i in inspections
        if i.enterprise_id in county and i.kind != InspectionKind.self_check and i.submitted_received_at is not None
        and i.submitted_received_at < end and i.finished_at is not None and starts <= i.finished_at < end
        and i.deleted_at is None and i.id not in returned and i.sealed_record is not None and i.seal_verified is True
    ]  # fmt: skip
    assert not any(i.corrects_id for i in inspections), "the hand count leaves corrections out"
    out: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    teams: dict[str, dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
    for key in (*COUNTIES.values(), "total"):
        out[key]["funds_yuan"] = Decimal(0)
    for e in enterprises:
        for key in (county[e.id], "total"):
            out[key]["enterprises_in_scope"] += 1
    for i in counting:
        inspectors = frozenset(p.user_id for p in i.participants if p.role == "inspector")
        for key in (county[i.enterprise_id], "total"):
            teams[key]["groups"].add(inspectors)
            teams[key]["inspectors"] |= inspectors
            teams[key]["experts"] |= {p.user_id for p in i.participants if p.role == "expert"}
            teams[key]["covered"].add(i.enterprise_id)
            kind = "city_inspections" if i.kind == InspectionKind.city_sampling else "county_inspections"
            out[key][kind] += 1
    self_inspected: dict[str, set[uuid.UUID]] = defaultdict(set)
    for i in inspections:
        if i.kind == InspectionKind.self_check and i.submitted_received_at and i.submitted_received_at < end:
            for key in (county[i.enterprise_id], "total"):
                self_inspected[key].add(i.enterprise_id)
    states: dict[uuid.UUID, list[LinkedHazard]] = defaultdict(list)
    for h in db.session.scalars(sa.select(Hazard)):
        found = next(e for e in h.events if e.kind == HazardEventKind.found)
        sealed = h.inspection is None or (
            h.inspection.submitted_received_at is not None and h.inspection.submitted_received_at < end
        )
        if h.enterprise_id not in county or not (
            starts <= h.found_at < end and found.received_at < end and sealed
        ):
            continue
        if h.deleted_at is not None and h.deleted_at < end:
            continue
        status = _replayed(h, end)
        if h.item_code:
            states[h.enterprise_id].append(LinkedHazard(h.item_code, status.state))
        for key in (county[h.enterprise_id], "total"):
            row = out[key]
            row["hazards"] += 1
            row["hazards_major"] += h.level == HazardLevel.major
            row["rectified"] += status.is_resolved
            row["rectified_major"] += status.is_resolved and h.level == HazardLevel.major
            row["overdue"] += status.is_overdue(day)
            row["listed"] += status.listed
            row["funds_yuan"] += h.funds_yuan or Decimal(0)
            if h.source == HazardSource.self_ledger:
                self_inspected[key].add(h.enterprise_id)
    key_items = db.session.scalars(sa.select(CatalogueItem).where(CatalogueItem.section == "key")).all()
    for e in enterprises:
        mine = [i for i in counting if i.enterprise_id == e.id and i.id in approved and _as_sealed(i)]
        latest = max(mine, key=lambda i: (i.finished_at, i.id), default=None)
        codes = [i.code for i in applicable_items(key_items, e.profile(), lambda i: ApplicabilityRule.from_dict(i.applies_when))]  # fmt: skip
        summary = None
        if latest is not None:
            results = {r.item_code: r.result for r in latest.results if r.deleted_at is None}
            summary = InspectionSummary(
                str(latest.id), latest.kind.value, "submitted", latest.finished_at, results
            )
        verdict = clearance(codes, summary, states[e.id], all_key_codes=[i.code for i in key_items])
        for key in (county[e.id], "total"):
            out[key]["cleared"] += verdict.cleared
    for key, sets in teams.items():
        out[key]["groups"] = len(sets["groups"])
        out[key]["inspectors"] = len(sets["inspectors"])
        out[key]["experts"] = len(sets["experts"])
        out[key]["enterprises_covered"] = len(sets["covered"])
    for key, ids in self_inspected.items():
        out[key]["self_inspected"] = len(ids)
    return {key: {name: row.get(name, 0) for name in FIELDS} for key, row in out.items()}


def _as_sealed(inspection: Inspection) -> bool:
    """Whether the inspection's answers are those its device sealed."""
    import json

    sealed = {
        code: result for code, result, *_ in json.loads(inspection.sealed_record or "{}").get("results", [])
    }
    return sealed == {r.item_code: r.result.value for r in inspection.results if r.deleted_at is None}


def _month_of(visit: str) -> date:
    """The month in which a demo visit's inspection finished (bureau time)."""
    inspection = db.session.get(Inspection, demo_id(f"inspection/{visit}"))
    assert inspection is not None and inspection.finished_at is not None
    return inspection.finished_at.astimezone(CHINA).date().replace(day=1)


# --- the figures ------------------------------------------------------------------------------------------------


def test_the_whole_demo_counted_from_its_definitions(app: Flask) -> None:
    """Once everything the demo holds is before the cut-off, the figures are the demo's visits and findings."""
    with app.app_context():
        city = _report("ll_city", _far_month())
        xing, lin, total = _row(city, "兴县"), _row(city, "临县"), city.total
        # 兴县: visits xx-01…xx-14 less the returned xx-10, the draft xx-15 and xx-11 whose seal fails (its answers
        # differ from the sealed ones); xx-13 and xx-14 are one plant.
        # Teams (insp1+3, 2+4, 1+4, 2+3, 1+2), four inspectors, one expert (xx-01, xx-07, xx-08).
        assert (xing.groups, xing.inspectors, xing.experts) == (5, 4, 1)
        assert (xing.county_inspections, xing.city_inspections, xing.enterprises_covered) == (12, 0, 11)
        assert xing.enterprises_in_scope == 32
        # 15 findings (the returned xx-10's included), 3 major (ST-6, DU-2, CS-1); accepted or closed: xx-01 CS-2,
        # xx-02 ST-2 and HW-1, xx-09 CS-2, xx-11 CS-2, xx-13 CS-1 and HW-1; of the majors only CS-1.
        assert (xing.hazards, xing.hazards_major, xing.rectified, xing.rectified_major) == (15, 3, 7, 1)
        # The report is provisional (its cut-off is still to come): overdue is counted as of today, as on the
        # dashboard. Not reported fixed and past their deadline today: xx-04's DU-5 and xx-10's CS-2.
        assert (xing.overdue, xing.listed, xing.self_inspected) == (2, 1, 0)
        assert (lin.groups, lin.inspectors, lin.experts, lin.county_inspections, lin.enterprises_covered) == (
            1,
            2,
            0,
            3,
            3,
        )
        assert (lin.enterprises_in_scope, lin.hazards, lin.hazards_major, lin.rectified, lin.overdue) == (
            5,
            2,
            0,
            1,
            1,
        )
        assert (total.groups, total.inspectors, total.experts, total.county_inspections) == (6, 6, 1, 15)
        assert (total.enterprises_in_scope, total.hazards, total.rectified) == (37, 17, 8)
        assert total.rectification_rate == pytest.approx(100 * 8 / 17)
        assert total.by_source["regulator"].total == 17 and total.by_source["self"].total == 0
        funds = db.session.scalar(sa.select(sa.func.sum(Hazard.funds_yuan)))
        assert total.funds_yuan == funds and total.funds_wan == (funds / 10000).quantize(Decimal("0.01"))
        # The itemised list: the three majors in the order they were found, with their 挂牌督办.
        assert [(m.serial, m.enterprise, m.state) for m in city.majors] == [
            (1, "兴县晋兴特钢有限公司", HazardState.planned),
            (2, "兴县铝镁新材料有限公司", HazardState.reported),
            (3, "兴县盛达煤气化有限公司", HazardState.accepted),
        ]
        first = city.majors[0]
        assert first.supervision.startswith("市级挂牌督办（吕安办督〔") and first.responsible_person
        assert first.measures.startswith("在主控室") and first.unit == "兴县"
        assert city.majors[1].supervision == "" and city.majors[2].progress == "已验收"
        # A county's report is its own row; the numbers are the city's row of that county.
        county = _report("xx_sup", _far_month())
        assert [r.unit.name for r in county.rows] == ["兴县"] and _figures(county.rows[0]) == _figures(xing)
        assert len(county.majors) == 3 and county.unit_name == "兴县应急管理局"
        assert (city.unit_name, city.filled_by, city.scope_name) == (
            "吕梁市应急管理局",
            "吕梁市应急局 王监管",
            "吕梁市",
        )
        assert _figures(total) == _by_hand(city.cutoff.end, city.cutoff.day)["total"]


def test_a_past_month_is_what_the_server_had_by_its_cutoff(app: Flask) -> None:
    with app.app_context():
        month = _month_of("xx-08")
        for username in ("ll_city", "xx_sup"):
            report = _report(username, month)
            assert report.cutoff.day == month.replace(day=23) and not report.provisional
            assert report.cutoff.end == datetime.combine(month.replace(day=24), time.min, tzinfo=CHINA)
            hand = _by_hand(report.cutoff.end, report.cutoff.day)
            for row in report.rows:
                assert _figures(row) == hand[COUNTIES[row.unit.name]], (username, row.unit.name)
            if username == "ll_city":
                assert _figures(report.total) == hand["total"]
        later = _report("ll_city", _far_month())
        assert report.total.county_inspections < later.total.county_inspections
        assert report.filled_on == report.cutoff.day


def test_statuses_replayed_to_now_are_the_stored_projections(app: Flask) -> None:
    """Replayed up to now, every hazard's status is what its projection columns hold (written by the same rules);
    replayed to a moment, it is what replaying only the events then gives."""
    with app.app_context():
        ids = enterprises_in_scope(report_scope(db.session, _user("admin")), utcnow() + timedelta(days=1))
        known = utcnow() + timedelta(seconds=1)
        hazards = load_hazards(db.session, ids, known)
        stored = {
            key: h
            for h in db.session.scalars(sa.select(Hazard))
            for key in hazards
            if str(key).replace("-", "") == h.id.hex
        }
        middle = min(h.found_at for h in stored.values()) + timedelta(days=30)
        found = statuses_as_of(db.session, hazards, ids, [middle, known], known)
        assert (
            len(found[known])
            == len(stored)
            == db.session.scalar(sa.select(sa.func.count()).select_from(Hazard))
        )
        for key, h in stored.items():
            status = found[known][key].status
            assert (status.state, status.deadline, status.listed) == (h.state, h.deadline, h.listed), (
                h.description
            )
            if h.found_at < middle:
                assert found[middle][key].status == _replayed(h, middle, known)
            else:
                assert key not in found[middle]
        assert 0 < len(found[middle]) < len(found[known])


def _snapshot(client: FlaskClient, query: str) -> tuple[dict[str, Any], list[list[Any]]]:
    with client.get(f"/api/reports/monthly?{query}") as response:
        assert response.status_code == 200
        data = response.get_json()
    with client.get(f"/reports/monthly.xlsx?{query}") as response:
        assert response.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(response.data))
    cells = [[c.value for row in sheet.iter_rows() for c in row] for sheet in book.worksheets]
    return data, cells


def test_later_writes_do_not_change_a_past_month(app: Flask, client: FlaskClient) -> None:
    login(client, "ll_city")
    with app.app_context():
        month = _month_of("xx-08")
        cutoff = report_cutoff(month, CHINA, month.year)
    query = f"month={month:%Y-%m}"
    before, before_cells = _snapshot(client, query)
    far_query = f"month={_far_month():%Y-%m}"
    with app.app_context():
        far_before = _report("ll_city", _far_month())
    with client.get(f"/api/reports/monthly?{far_query}") as refused:
        assert refused.status_code == 400  # a month not yet begun cannot be asked for
    with app.app_context():
        now = utcnow()
        steel = _enterprise(UNINSPECTED_STEEL)
        # A new hazard, found now.
        record_hazard(
            db.session, enterprise=steel, description="新发现：煤气管道未设吹扫放散管", level=HazardLevel.major,
            found_at=now, deadline=now.date() + timedelta(days=30), source=HazardSource.self_ledger,
            terms={"measures": "增设放散管", "responsible_person": "王建平"}, funds_yuan=Decimal(50000),
        )  # fmt: skip
        # A later event: the reported fix of the DU-2 major hazard accepted today.
        reported = db.session.scalar(sa.select(Hazard).where(Hazard.item_code == "DU-2"))
        assert reported is not None and reported.state == HazardState.reported
        append_event(db.session, reported, HazardEventKind.accepted, now)
        # A tablet syncing late: an event dated before the cut-off reaches the server only now.
        waiting = db.session.scalar(sa.select(Hazard).where(Hazard.item_code == "ST-7"))
        assert waiting is not None and waiting.found_at < cutoff.end - timedelta(days=1)
        append_event(
            db.session, waiting, HazardEventKind.rectification_planned, cutoff.end - timedelta(hours=2)
        )
        # An inspection finished before the cut-off but submitted only now, and a self-assessment submitted now.
        for kind in (InspectionKind.county, InspectionKind.self_check):
            _inspection(steel, kind, finished=cutoff.end - timedelta(hours=3), received=now)
        # A review returning, today, an inspection that counted at the cut-off.
        counted = db.session.scalar(
            sa.select(Inspection).where(Inspection.status == InspectionStatus.submitted, Inspection.submitted_received_at < cutoff.end)
            .order_by(Inspection.finished_at).limit(1)
        )  # fmt: skip
        assert counted is not None
        db.session.add(ReviewDecision(inspection_id=counted.id, reviewer_id=_user("xx_sup").id,
                                      outcome=ReviewOutcome.return_, comment="照片不清", decided_at=now))  # fmt: skip
        counted.status = InspectionStatus.returned
        db.session.commit()
    after, after_cells = _snapshot(client, query)
    assert after == before
    assert after_cells == before_cells
    with app.app_context():
        far_after = _report("ll_city", _far_month())
    # The same writes do show in a report whose cut-off is after them.
    # The new hazard counts if found within the campaign's days; found after its last day, it is listed apart.
    assert (far_after.total.hazards + far_after.after_campaign) == (
        far_before.total.hazards + far_before.after_campaign + 1
    )
    assert far_after.total.rectified == far_before.total.rectified + 1
    assert far_after.total.county_inspections == far_before.total.county_inspections  # one in, one returned
    assert far_after.total.self_inspected == far_before.total.self_inspected + 1


def _inspection(
    enterprise: Enterprise,
    kind: InspectionKind,
    *,
    finished: datetime,
    received: datetime,
    results: dict[str, ItemResultValue] | None = None,
    approved: bool = False,
) -> Inspection:
    """A regulator's inspection sealed by its tablet (and approved an hour after receipt when ``approved``)."""
    catalogue_id = db.session.scalar(sa.select(CatalogueItem.catalogue_id).limit(1))
    one, two = _user("xx_insp1"), _user("xx_insp2")
    inspection = Inspection(
        enterprise_id=enterprise.id, catalogue_id=catalogue_id, kind=kind, status=InspectionStatus.submitted,
        created_by_id=one.id, started_at=finished - timedelta(hours=2), finished_at=finished, received_at=received,
        submitted_received_at=received,
    )  # fmt: skip
    inspection.participants = [
        InspectionParticipant(ordinal=0, role="inspector", user_id=one.id, name=one.display_name),
        InspectionParticipant(ordinal=1, role="inspector", user_id=two.id, name=two.display_name),
    ]
    db.session.add(inspection)
    db.session.flush()
    for code, result in (results or {}).items():
        db.session.add(ItemResult(inspection_id=inspection.id, item_code=code, result=result))
    db.session.flush()
    Tablet(db.session, one.id).seal(db.session, inspection)
    if approved:
        approve(db.session, inspection, _user("xx_sup").id)
        inspection.decisions[-1].decided_at = received + timedelta(hours=1)
    return inspection


def _key_codes(enterprise: Enterprise) -> list[str]:
    items = db.session.scalars(sa.select(CatalogueItem).where(CatalogueItem.section == "key")).all()
    return [i.code for i in applicable_items(items, enterprise.profile(), lambda i: ApplicabilityRule.from_dict(i.applies_when))]  # fmt: skip


def test_the_cutoff_is_the_end_of_the_23rd_in_the_bureaus_time(app: Flask) -> None:
    with app.app_context():
        month = date(clock.today().year - 1, 3, 1)  # before any demo activity
        # The campaign's dates are data: here it began the year before, so that this March is inside it.
        campaign = db.session.scalar(sa.select(Campaign))
        assert campaign is not None
        min(campaign.phases, key=lambda p: p.starts_on).starts_on = date(month.year, 1, 1)
        steel = _enterprise(UNINSPECTED_STEEL)
        late_evening = datetime(month.year, 3, 23, 23, 30, tzinfo=CHINA)
        after_midnight = datetime(month.year, 3, 24, 0, 10, tzinfo=CHINA)
        _inspection(
            steel, InspectionKind.county, finished=late_evening, received=late_evening + timedelta(minutes=20)
        )
        _inspection(steel, InspectionKind.unannounced, finished=late_evening, received=after_midnight)
        _inspection(steel, InspectionKind.city_sampling, finished=after_midnight, received=after_midnight)
        due = record_hazard(
            db.session, enterprise=steel, description="到期当日", level=HazardLevel.general, found_at=late_evening,
            deadline=date(month.year, 3, 23), source=HazardSource.inspection,
        )  # fmt: skip
        record_hazard(
            db.session, enterprise=steel, description="期限已过", level=HazardLevel.general, found_at=late_evening,
            deadline=date(month.year, 3, 22), source=HazardSource.inspection,
        )  # fmt: skip
        for hazard in db.session.scalars(sa.select(Hazard).where(Hazard.enterprise_id == steel.id)):
            for found in hazard.events:
                found.received_at = late_evening  # the tablet synced at once
        event = append_event(
            db.session, due, HazardEventKind.rectification_reported, late_evening + timedelta(minutes=25)
        )
        event.received_at = after_midnight
        db.session.commit()
        march = _row(_report("xx_sup", month), "兴县")
        assert (march.county_inspections, march.city_inspections, march.groups, march.inspectors) == (
            1,
            0,
            1,
            2,
        )
        # Due on the 23rd is not overdue on the 23rd; due on the 22nd is. The fix reached the server after midnight.
        assert (march.hazards, march.overdue, march.rectified) == (2, 1, 0)
        april = _row(_report("xx_sup", month.replace(month=4)), "兴县")
        assert (april.county_inspections, april.city_inspections, april.enterprises_covered) == (2, 1, 1)
        final = _report("xx_sup", "final")
        assert final.cutoff.day == date(final.cutoff.day.year, 11, 15)
        assert final.cutoff.end == local_end_of(final.cutoff.day, CHINA)


def test_clearance_per_phase_is_taken_at_each_phases_end(app: Flask) -> None:
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign))
        assert campaign is not None
        phases = {p.code: p for p in campaign.phases}
        before = {p.code: p for p in _report("xx_sup", _far_month()).phases}
        steel = _enterprise(UNINSPECTED_STEEL)
        start = phases["city_sampling"].starts_on + timedelta(days=1)
        visit = datetime.combine(start, time(10, 0), tzinfo=CHINA)
        _inspection(steel, InspectionKind.city_sampling, finished=visit, received=visit + timedelta(hours=1),
                    results=dict.fromkeys(_key_codes(steel), ItemResultValue.compliant), approved=True)  # fmt: skip
        db.session.commit()
        after = {p.code: p for p in _report("xx_sup", _far_month()).phases}
    county, sampling, look_back = (after[c] for c in ("county_coverage", "city_sampling", "look_back"))
    assert county.status == sampling.status == "ended" and county.as_of == phases["county_coverage"].ends_on
    assert county.total == before["county_coverage"].total
    assert sampling.total.inspected == before["city_sampling"].total.inspected + 1
    assert sampling.total.cleared == (before["city_sampling"].total.cleared or 0) + 1
    assert look_back.total.cleared == (before["look_back"].total.cleared or 0) + 1
    # Before any regulator's inspection there is nothing to clear: shown as "—", not as 0.
    assert after["deployment"].total.cleared is None and after["deployment"].total.in_scope == 32
    # The city's report: a line per county, each county's own.
    with app.app_context():
        city = {p.code: p for p in _report("ll_city", _far_month()).phases}
    assert [u.unit.name for u in city["city_sampling"].units] == ["兴县", "临县"]
    assert city["city_sampling"].units[0].cleared == sampling.total.cleared


# --- the workbook -------------------------------------------------------------------------------------------


def test_the_workbook_is_laid_out_like_the_form(app: Flask, client: FlaskClient) -> None:
    login(client, "ll_city")
    month = None
    with app.app_context():
        month = _month_of("xx-08")
        report = _report("ll_city", month)
    with client.get(f"/reports/monthly.xlsx?month={month:%Y-%m}") as response:
        assert response.status_code == 200
        assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
        assert response.headers["Cache-Control"] == "no-store"
        book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["统计报表", "专项行动检查发现重大隐患明细", "各阶段覆盖与清零"]
    sheet = book["统计报表"]
    # The attachment's own title, word for word, whoever files it; the period on its own line.
    assert sheet["A1"].value == "冶金工贸行业安全生产大检查大整治大提升专项行动统计报表" == report.title
    assert sheet["A2"].value == f"（{month.year}年{month.month}月，截至{month.month}月23日）"
    assert sheet["A3"].value == "填报单位（盖章）：吕梁市应急管理局" and "兴县" not in str(sheet["A1"].value)
    # A 统计项 column, the items grouped under the attachment's headings, a column per county and the 合计.
    assert [sheet.cell(4, c).value for c in range(1, 6)] == ["类别", "统计项", "兴县", "临县", "合计"]
    items = {sheet.cell(r, 2).value: r for r in range(5, 5 + len(COLUMNS))}
    groups = [sheet.cell(r, 1).value for r in range(5, 5 + len(COLUMNS)) if sheet.cell(r, 1).value]
    assert groups == ["一、成立检查组", "二、督查监管部门情况", "三、企业隐患排查整治进展情况"]
    assert list(items)[:3] == ["检查组（个）", "执法检查人员（人）", "参与专家（人）"]
    assert "排查发现隐患（项）" in items and "整改率（%）" in items and "整改资金（万元）" in items
    columns = {"兴县": 3, "临县": 4, "合计": 5}
    for name, figures in (("兴县", _row(report, "兴县")), ("合计", report.total)):
        c = columns[name]
        assert sheet.cell(items["检查组（个）"], c).value == figures.groups
        assert sheet.cell(items["县级检查（家次）"], c).value == figures.county_inspections
        assert sheet.cell(items["排查发现隐患（项）"], c).value == figures.hazards
        assert sheet.cell(items["已整改（项）"], c).value == figures.rectified
        assert sheet.cell(items["整改资金（万元）"], c).value == pytest.approx(float(figures.funds_wan))
        rate = sheet.cell(items["整改率（%）"], c)
        assert rate.number_format == "0.0%"
        assert rate.value == pytest.approx((figures.rectification_rate or 0) / 100, abs=1e-4)
    assert sheet.cell(items["检查组（个）"], 5).font.bold
    assert sheet.cell(5, 2).border.left.style == "thin"
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$4:$4"
    texts = [str(sheet.cell(r, 1).value) for r in range(5 + len(COLUMNS), sheet.max_row + 1)]
    notes = " ".join(texts)
    assert "监管部门检查发现隐患" in notes and "统计口径" in notes
    assert "填表人：吕梁市应急局 王监管" in texts
    assert any(t == f"填表日期：{month.year}年{month.month}月23日" for t in (
        str(sheet.cell(r, c).value) for r in range(1, sheet.max_row + 1) for c in range(1, 6)
    ))  # fmt: skip
    majors = book["专项行动检查发现重大隐患明细"]
    assert str(majors["A1"].value).startswith("专项行动检查发现重大隐患明细")
    assert [majors.cell(3, c).value for c in range(1, 12)] == [
        "序号", "县（区）", "企业名称", "隐患描述", "发现日期", "整改措施", "责任人", "整改期限", "整改资金（万元）",
        "整改进展", "挂牌督办",
    ]  # fmt: skip
    listed = [majors.cell(r, c).value for r in range(4, 4 + len(report.majors)) for c in (1, 3, 10, 11)]
    assert listed == [
        v for m in report.majors for v in (m.serial, m.enterprise, m.progress, m.supervision or "否")
    ]
    for r, m in enumerate(report.majors, start=4):
        # Money in the unit the column names: 万元.
        assert majors.cell(r, 9).value == pytest.approx(float(m.funds_yuan or 0) / 10000, abs=0.005)
        # The row grows with its longest text (the descriptions and measures run to several lines).
        assert (majors.row_dimensions[r].height or 0) >= 2 * 13.5
    assert majors.print_title_rows == "$3:$3" and majors.page_setup.orientation == "landscape"
    phases = book["各阶段覆盖与清零"]
    assert phases.cell(2, 1).value == "阶段" and phases.cell(3, 1).value == report.phases[0].name
    assert phases.page_setup.fitToWidth == 1


# --- pages, scope and the API -------------------------------------------------------------------------------


def _figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{re.escape(name)}">([^<]*)<', html)
    assert match, name
    return match.group(1).strip()


def test_pages_and_api_are_scoped_and_hidden_from_others(app: Flask) -> None:
    with app.app_context():
        month = _month_of("xx-08")
        city = _report("ll_city", month)
    query = f"month={month:%Y-%m}"
    county = app.test_client()
    login(county, "xx_sup")
    html = county.get(f"/reports/monthly?{query}").get_data(as_text=True)
    assert "兴县应急管理局" in html and 'data-figure="临县:' not in html and 'data-figure="total:' not in html
    assert _figure(html, "兴县:hazards") == str(_row(city, "兴县").hazards)
    assert _figure(html, "兴县:county_inspections") == str(_row(city, "兴县").county_inspections)
    assert 'href="/reports/monthly.xlsx?month=' in html and "月报" in html
    data = county.get(f"/api/reports/monthly?{query}").get_json()
    assert [r["unit"] for r in data["rows"]] == ["兴县"] and data["rows"][0]["hazards"] == _row(
        city, "兴县"
    ).hazards
    linxian = app.test_client()
    login(linxian, "lx_sup")
    other = linxian.get(f"/api/reports/monthly?{query}").get_json()
    assert [r["unit"] for r in other["rows"]] == ["临县"] and not other["majors"]
    boss = app.test_client()
    login(boss, "ll_city")
    page = boss.get(f"/reports/monthly?{query}").get_data(as_text=True)
    assert _figure(page, "total:hazards") == str(city.total.hazards)
    assert _figure(page, "临县:enterprises_in_scope") == "5"
    assert _figure(page, "unit") == "吕梁市应急管理局" and _figure(page, "filled-on") == f"{month:%Y-%m}-23"
    api = boss.get(f"/api/reports/monthly?{query}").get_json()
    assert [r["unit"] for r in api["rows"]] == ["兴县", "临县"] and api["total"][
        "hazards"
    ] == city.total.hazards
    assert api["period"] == f"{month:%Y-%m}" and api["provisional"] is False
    assert boss.get("/api/reports/monthly?final=1").get_json()["final"] is True
    # Inspectors, experts and enterprises are told the pages do not exist; so are supervisors, of the admin's.
    for username in ("xx_insp1", "xx_expert", "qy_jinxing"):
        other_client = app.test_client()
        login(other_client, username)
        for path in (
            "/reports/monthly",
            f"/reports/monthly.xlsx?{query}",
            "/admin/campaigns",
            "/admin/campaigns/1",
        ):
            with other_client.get(path) as response:
                assert response.status_code == 404, (username, path)
        assert other_client.get(f"/api/reports/monthly?{query}").status_code == 404
    for client in (county, boss):
        assert client.get("/admin/campaigns").status_code == 404
        assert client.post("/admin/campaigns/1", data={"name": "x"}).status_code in (403, 404)
    assert app.test_client().get("/reports/monthly").status_code == 302


def test_a_bad_month_is_refused_and_kept(app: Flask, client: FlaskClient) -> None:
    login(client, "xx_sup")
    bad = client.get("/reports/monthly?month=2026-13")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "月份“2026-13”无效" in html and 'value="2026-13"' in html
    future = (local_today_in(app) + timedelta(days=40)).strftime("%Y-%m")
    assert client.get(f"/reports/monthly?month={future}").status_code == 400
    with client.get("/reports/monthly.xlsx?month=abc") as response:
        assert response.status_code == 400
    problem = client.get("/api/reports/monthly?month=abc").get_json()
    assert problem["code"] == "400.2" and "YYYY-MM" in problem["message"]
    current = client.get("/reports/monthly")
    assert current.status_code == 200 and FORM_TITLE in current.get_data(as_text=True)


def local_today_in(app: Flask) -> date:
    with app.test_request_context():
        return clock.today()


# --- the admin's campaign pages -----------------------------------------------------------------------------


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _campaign_form(app: Flask) -> tuple[int, dict[str, str], list[int]]:
    from server.services.campaigns import form_values, ordered_phases

    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign))
        assert campaign is not None
        return campaign.id, form_values(campaign), [p.id for p in ordered_phases(campaign)]


def test_campaign_edits_are_checked_field_by_field_and_keep_what_was_typed(
    app: Flask, client: FlaskClient
) -> None:
    login(client, "admin")
    campaign_id, form, phase_ids = _campaign_form(app)
    url = f"/admin/campaigns/{campaign_id}"
    token = _token(client.get(url).get_data(as_text=True))
    deployment, self_check, county, _city, look_back = phase_ids
    bad = {
        **form, "csrf_token": token, "name": "  ", "sampling_percent": "101",
        f"phase-{deployment}-name": "",
        f"phase-{self_check}-ends_on": "2026-02-30",
        f"phase-{county}-starts_on": "2026-08-31", f"phase-{county}-ends_on": "2026-06-01",
        f"phase-{look_back}-starts_on": form[f"phase-{_city}-ends_on"],
    }  # fmt: skip
    response = client.post(url, data=bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "请填写专项行动名称" in html and "抽查比例应为 1–100 的整数" in html and "请填写阶段名称" in html
    assert "“2026-02-30”不是有效日期" in html and "早于开始日期" in html
    assert "阶段须按顺序且不得重叠" in html and 'value="2026-02-30"' in html and 'value="101"' in html
    assert f'id="error-phase-{look_back}-starts_on"' in html
    for percent in ("0", "abc", "12.5"):
        refused = client.post(url, data={**form, "csrf_token": token, "sampling_percent": percent})
        assert refused.status_code == 400 and "抽查比例" in refused.get_data(as_text=True)
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.sampling_percent == 10 and campaign.name == form["name"]
        assert not db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "campaign.update"))
    assert client.post(url, data={**form, "csrf_token": "forged"}).status_code == 403


def test_a_campaign_edit_is_saved_audited_and_moves_the_current_phase(
    app: Flask, client: FlaskClient
) -> None:
    login(client, "admin")
    campaign_id, form, phase_ids = _campaign_form(app)
    url = f"/admin/campaigns/{campaign_id}"
    token = _token(client.get(url).get_data(as_text=True))
    today = local_today_in(app)
    # Lay the phases so that today is the city's sampling phase.
    spans = [(-100, -90), (-89, -60), (-59, -1), (0, 10), (11, 40)]
    new = {
        **form,
        "csrf_token": token,
        "name": "兴县冶金工贸安全生产大检查（调整后）",
        "sampling_percent": "15",
    }
    for phase_id, (first, last) in zip(phase_ids, spans, strict=True):
        new[f"phase-{phase_id}-starts_on"] = (today + timedelta(days=first)).isoformat()
        new[f"phase-{phase_id}-ends_on"] = (today + timedelta(days=last)).isoformat()
    new[f"phase-{phase_ids[3]}-name"] = "市级双随机抽查"
    saved = client.post(url, data=new)
    assert saved.status_code == 302 and saved.headers["Location"].endswith("done=1")
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "已保存" in page and _figure(page, "current-phase") == "市级双随机抽查"
    listing = client.get("/admin/campaigns").get_data(as_text=True)
    assert _figure(listing, f"current-phase-{campaign_id}") == "市级双随机抽查" and "15%" in listing
    # Saving the same again changes nothing and records nothing.
    again = client.post(url, data=new)
    assert again.headers["Location"].endswith("done=0")
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.sampling_percent == 15
        from server.services.campaigns import current_phase

        codes = [
            getattr(current_phase(campaign, today + timedelta(days=d)), "code", None) for d in (-1, 0, 10, 11)
        ]
        assert codes == ["county_coverage", "city_sampling", "city_sampling", "look_back"]
        assert current_phase(campaign, today + timedelta(days=41)) is None
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "campaign.update")).all()
        assert (
            len(rows) == 1 and rows[0].entity_id == str(campaign_id) and rows[0].actor_id == _user("admin").id
        )
        data = rows[0].data
        assert data["before"]["name"] == form["name"] and data["after"]["name"].endswith("（调整后）")
        assert data["before"]["sampling_percent"] == 10 and data["after"]["sampling_percent"] == 15
        assert data["after"]["phases"][3] == {
            "code": "city_sampling", "name": "市级双随机抽查", "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=10)).isoformat(),
        }  # fmt: skip
        assert audit.verify(db.session)[1] is None
        # The report follows the campaign's dates: the phase running on its cut-off day comes from them.
        report = _report("xx_sup", "final")
        assert report.phase_today == "市级双随机抽查"
    current = client.get("/reports/monthly").get_data(as_text=True)
    assert "兴县冶金工贸安全生产大检查（调整后）" in current


def test_the_admin_cannot_set_the_sampling_share_below_the_notices_ten_percent(
    app: Flask, client: FlaskClient
) -> None:
    login(client, "admin")
    campaign_id, form, _phases = _campaign_form(app)
    url = f"/admin/campaigns/{campaign_id}"
    token = _token(client.get(url).get_data(as_text=True))
    response = client.post(url, data={**form, "csrf_token": token, "sampling_percent": "5"})
    assert response.status_code == 400 and "不少于10%" in response.get_data(as_text=True)
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.sampling_percent >= 10

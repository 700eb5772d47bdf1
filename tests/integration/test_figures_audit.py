"""The figures audit: every figure of the dashboard and of the monthly report, for the demo county and for a county
built by bench/web.py, recomputed from the raw rows by separate, simple Python over plain queries, and compared.

The recount follows the counting rules as written (server/domain/counting.py), not the services' queries:
- an inspection counts for coverage when it is a regulator's (not 'self'), submitted or approved, finished, not
  deleted, and carries a device seal that verified;
- 清零 rests on the latest such inspection a supervisor approved whose stored answers equal the sealed ones;
- hazards count when found within the campaign's days (bureau time); overdue = open, not reported, deadline
  before today.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server import clock
from server.domain.applicability import ApplicabilityRule, applies
from server.domain.clearance import InspectionSummary, ItemResultValue, LinkedHazard, clearance
from server.domain.hazards import HazardLevel, HazardState
from server.domain.sectors import Sector
from server.extensions import db
from server.models import (
    Campaign,
    CatalogueItem,
    Enterprise,
    EnterpriseSubmission,
    Hazard,
    Inspection,
    ItemResult,
    Region,
    ReviewDecision,
    SubmissionRequirement,
    User,
)
from server.services import progress_report
from tests.conftest import login


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.zone()).astimezone(UTC)


def _in_scope(username: str) -> list[Enterprise]:
    """The enterprises a supervisor sees: those of their region and the regions below it."""
    user = db.session.scalar(sa.select(User).where(User.username == username))
    assert user is not None and user.region is not None
    regions = {r.id: r for r in db.session.scalars(sa.select(Region))}

    def under(region_id: int | None) -> bool:
        while region_id is not None:
            if region_id == user.region_id:
                return True
            region_id = regions[region_id].parent_id
        return False

    return [
        e for e in db.session.scalars(sa.select(Enterprise)) if e.deleted_at is None and under(e.region_id)
    ]


def _counts(inspection: Inspection) -> bool:
    """Coverage's rule, restated."""
    return (
        inspection.kind.value != "self" and inspection.status.value in ("submitted", "approved")
        and inspection.finished_at is not None and inspection.deleted_at is None
        and inspection.sealed_record is not None and inspection.seal_verified is True
    )  # fmt: skip


def _as_sealed(inspection: Inspection, answers: dict[str, str]) -> bool:
    sealed = {
        code: result for code, result, *_ in json.loads(inspection.sealed_record or "{}").get("results", [])
    }
    return sealed == answers


def _recount(username: str, today: date) -> dict[str, int]:
    """Every dashboard figure, from the raw rows."""
    enterprises = _in_scope(username)
    ids = {e.id for e in enterprises}
    campaign = db.session.scalars(
        sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    ).first()
    assert campaign is not None
    inspections = [
        i for i in db.session.scalars(sa.select(Inspection)) if i.enterprise_id in ids and _counts(i)
    ]
    answers: dict[Any, dict[str, str]] = defaultdict(dict)
    for row in db.session.scalars(sa.select(ItemResult).where(ItemResult.deleted_at.is_(None))):
        answers[row.inspection_id][row.item_code] = row.result.value
    out: dict[str, int] = {}
    for phase in campaign.phases:
        start, end = _day_start(phase.starts_on), _day_start(phase.ends_on + timedelta(days=1))
        out[f"coverage-{phase.code}"] = len(
            {i.enterprise_id for i in inspections if start <= i.finished_at < end}
        )
    items = db.session.scalars(sa.select(CatalogueItem).where(CatalogueItem.section == "key")).all()
    every = [
        h for h in db.session.scalars(sa.select(Hazard)) if h.enterprise_id in ids and h.deleted_at is None
    ]
    drafts = {i.id for i in db.session.scalars(sa.select(Inspection)) if i.status.value == "draft"}
    # The hazard figures count a finding once its inspection is submitted (a draft's may still change on the
    # tablet); 清零 looks at every hazard linked to a key item, whatever its inspection.
    hazards = [h for h in every if h.inspection_id not in drafts]
    links: dict[Any, list[LinkedHazard]] = defaultdict(list)
    for h in every:
        if h.item_code:
            links[h.enterprise_id].append(LinkedHazard(h.item_code, h.state))

    def verdict(enterprise: Enterprise, status: str) -> tuple[bool, bool]:
        mine = [i for i in inspections if i.enterprise_id == enterprise.id and i.status.value == status
                and _as_sealed(i, answers[i.id])]  # fmt: skip
        latest = max(mine, key=lambda i: (i.finished_at, str(i.id)), default=None)
        catalogue = latest.catalogue_id if latest else max(items, key=lambda i: i.catalogue_id).catalogue_id
        key_items = [i for i in items if i.catalogue_id == catalogue]
        codes = [i.code for i in sorted(key_items, key=lambda i: i.ordinal)
                 if applies(ApplicabilityRule.from_dict(i.applies_when), enterprise.profile())]  # fmt: skip
        summary = None
        if latest is not None:
            results = {c: ItemResultValue(r) for c, r in answers[latest.id].items()}
            summary = InspectionSummary(
                str(latest.id), latest.kind.value, status, latest.finished_at, results
            )
        result = clearance(codes, summary, links[enterprise.id], all_key_codes=[i.code for i in key_items])
        return result.cleared, latest is not None

    cleared, pending = Counter[str](), Counter[str]()
    for e in enterprises:
        official, _ = verdict(e, "approved")
        waiting, _ = verdict(e, "submitted")
        approved_latest = max((i.finished_at for i in inspections if i.enterprise_id == e.id
                               and i.status.value == "approved" and _as_sealed(i, answers[i.id])), default=None)  # fmt: skip
        submitted_latest = max((i.finished_at for i in inspections if i.enterprise_id == e.id
                                and i.status.value == "submitted" and _as_sealed(i, answers[i.id])), default=None)  # fmt: skip
        is_pending = (not official and waiting and submitted_latest is not None
                      and (approved_latest is None or submitted_latest >= approved_latest))  # fmt: skip
        for key in (*(s.value for s in e.sectors), "all"):
            cleared[key] += official
            pending[key] += is_pending
    for key in (*(s.value for s in Sector), "all"):
        if key == "all" or any(key in {s.value for s in e.sectors} for e in enterprises):
            out[f"cleared-{key}"] = cleared[key]
            out[f"pending-{key}"] = pending[key]
    first = _day_start(min(p.starts_on for p in campaign.phases))
    last = _day_start(max(p.ends_on for p in campaign.phases) + timedelta(days=1))
    inside = [h for h in hazards if first <= h.found_at < last]
    out["before-campaign"] = sum(1 for h in hazards if h.found_at < first)
    waiting_on_enterprise = {HazardState.found, HazardState.planned, HazardState.rejected}
    out["overdue"] = sum(
        1 for h in inside if h.state in waiting_on_enterprise and h.deadline and h.deadline < today
    )
    out["listed"] = sum(1 for h in inside if h.listed)
    resolved = {HazardState.accepted, HazardState.closed}
    out["stop"] = sum(1 for h in inside if h.stop_production and h.state not in resolved)
    # Submissions the notice requires, due before today and never handed in (a month by the 23rd, or one date).
    regions = {r.id: r for r in db.session.scalars(sa.select(Region))}

    def in_campaign_region(region_id: int | None) -> bool:
        while region_id is not None:
            if region_id == campaign.region_id:
                return True
            region_id = regions[region_id].parent_id
        return False

    campaign_ids = {e.id for e in enterprises if in_campaign_region(e.region_id)}
    handed_in = {
        (s.requirement_id, s.enterprise_id, s.period)
        for s in db.session.scalars(sa.select(EnterpriseSubmission))
    }
    missing = 0
    for requirement in db.session.scalars(
        sa.select(SubmissionRequirement).where(SubmissionRequirement.campaign_id == campaign.id)
    ):
        dues = [requirement.due_on] if requirement.due_on else [
            date(y, m, requirement.due_day)
            for y in range(requirement.first_month.year, requirement.last_month.year + 1)
            for m in range(1, 13)
            if requirement.first_month <= date(y, m, 1) <= requirement.last_month
        ]  # fmt: skip
        missing += sum(
            1
            for e in campaign_ids
            for due in dues
            if due < today and (requirement.id, e, due) not in handed_in
        )
    out["overdue-submissions"] = missing
    for level in HazardLevel:
        for state in HazardState:
            out[f"hazards-{level.value}-{state.value}"] = sum(
                1 for h in inside if (h.level, h.state) == (level, state)
            )
    return out


def _page_figures(html: str) -> dict[str, int]:
    return {
        name: int(value) for name, value in re.findall(r'data-figure="([^"]+)">(?:<strong>)?(\d+)<', html)
    }


def _bench_county(app: Flask) -> None:
    from bench.web import fill_county

    with app.app_context():
        fill_county(db.session, 0.01, seed=7, today=clock.today())
        db.session.commit()


@pytest.mark.parametrize("county", ["demo", "bench"])
@pytest.mark.parametrize("username", ["xx_sup", "ll_city"])
def test_every_dashboard_figure_recounted_from_the_rows(app: Flask, county: str, username: str) -> None:
    if county == "bench":
        _bench_county(app)
    client = app.test_client()
    login(client, username)
    shown = _page_figures(client.get("/dashboard").get_data(as_text=True))
    with app.app_context():
        expected = _recount(username, clock.today())
    shown.pop("quarantine", None)
    if "before-campaign" not in shown:
        shown["before-campaign"] = 0
    assert {k: shown.get(k) for k in expected} == expected
    assert set(shown) <= set(expected) | {"after-campaign"}


@pytest.mark.parametrize("county", ["demo", "bench"])
def test_the_reports_figures_recounted_from_the_rows(app: Flask, county: str) -> None:
    """Next month's report (provisional today, so counted as of today) against the same recount and the dashboard."""
    if county == "bench":
        _bench_county(app)
    with app.app_context():
        today = clock.today()
        user = db.session.scalar(sa.select(User).where(User.username == "ll_city"))
        assert user is not None
        month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        report = progress_report.build_report(db.session, user, month, zone=clock.zone())
        expected = _recount("ll_city", today)
        enterprises = _in_scope("ll_city")
        ids = {e.id for e in enterprises}
        campaign = db.session.scalars(sa.select(Campaign).order_by(Campaign.created_at.desc())).first()
        assert campaign is not None
        first = _day_start(min(p.starts_on for p in campaign.phases))
        last = _day_start(max(p.ends_on for p in campaign.phases) + timedelta(days=1))
        returned = {
            d.inspection_id
            for d in db.session.scalars(sa.select(ReviewDecision))
            if d.outcome.value == "return"
        }
        counted = [i for i in db.session.scalars(sa.select(Inspection))
                   if i.enterprise_id in ids and _counts(i) and i.id not in returned and first <= i.finished_at < last
                   and i.submitted_received_at is not None]  # fmt: skip
        drafts = {i.id for i in db.session.scalars(sa.select(Inspection)) if i.status.value == "draft"}
        hazards = [h for h in db.session.scalars(sa.select(Hazard))
                   if h.enterprise_id in ids and h.deleted_at is None and first <= h.found_at < last
                   and h.inspection_id not in drafts]  # fmt: skip
    total = report.total
    assert total.enterprises_in_scope == len(enterprises)
    assert total.county_inspections + total.city_inspections == len(counted)
    assert total.enterprises_covered == len({i.enterprise_id for i in counted})
    assert total.hazards == len(hazards)
    assert total.hazards_major == sum(1 for h in hazards if h.level == HazardLevel.major)
    assert total.rectified == sum(1 for h in hazards if h.state in (HazardState.accepted, HazardState.closed))
    # Overdue as of today, the same figure the dashboard shows; 清零 the same as the dashboard's.
    assert total.overdue == expected["overdue"]
    assert total.cleared == expected["cleared-all"]
    assert total.listed == sum(1 for h in hazards if h.listed)
    assert len(report.majors) == total.hazards_major

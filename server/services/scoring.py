"""The city's 打分排队 of its counties for a report period: each criterion's figures taken from the services that
already count them, never counted again here:

- coverage and 清零: the monthly report's county rows as of the period's cut-off (server.services.progress_report:
  enterprises covered / in scope, enterprises cleared / in scope);
- overdue share: the same rows' hazards overdue at the cut-off / hazards found;
- reliability of self-inspection: the reconciliation of the phase running on the cut-off day
  (server.services.reconciliation: findings the enterprises' ledgers held, in pairs a supervisor confirmed /
  inspectors' findings, summed per county): a scored figure never rests on the matcher's unconfirmed proposals;
- timeliness of submissions: the submissions matrix as of the cut-off day (periods answered on time / periods due).

The points and the weighted mean are server.domain.scoring's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

import sqlalchemy as sa

from server.domain import scoring as rules
from server.domain.scoring import Measure, Metric
from server.domain.submissions import Timeliness
from server.errors import Problem, refuse_fields, weight_invalid, weights_all_zero
from server.models import Campaign, Enterprise, ScoringCriterion, User
from server.services import DbSession, audit, submissions
from server.services.oversight import campaign_for
from server.services.progress_report import (
    Period,
    ProgressReport,
    ReportCache,
    ReportUnit,
    build_report,
    report_scope,
)
from server.services.reconciliation import ReconciliationCache, reconcile_scope, resolve_phase


def add_default_criteria(session: DbSession, campaign: Campaign) -> list[ScoringCriterion]:
    """Give ``campaign`` the default criteria it lacks (by code)."""
    have = {c.code for c in criteria(session, campaign)}
    added = [ScoringCriterion(campaign=campaign, code=code, metric=metric, weight=weight)
             for code, metric, weight in rules.DEFAULT_CRITERIA if code not in have]  # fmt: skip
    session.add_all(added)
    return added


def criteria(session: DbSession, campaign: Campaign) -> list[ScoringCriterion]:
    """The campaign's criteria, in a stable order."""
    query = sa.select(ScoringCriterion).where(ScoringCriterion.campaign_id == campaign.id)
    return list(session.scalars(query.order_by(ScoringCriterion.id)))


def save_weights(session: DbSession, actor: User, campaign: Campaign, form: Mapping[str, str]) -> None:
    """Set the criteria's weights from an admin's form (whole numbers 0–100, at least one above 0); audited."""
    rows = criteria(session, campaign)
    errors: dict[str, Problem] = {}
    weights: dict[int, int] = {}
    for row in rows:
        raw = form.get(f"weight_{row.id}", "").strip()
        if not raw.isdigit() or not 0 <= int(raw) <= 100:
            errors[f"weight_{row.id}"] = weight_invalid(label=row.metric.label_zh, label_en=row.metric.value)
        else:
            weights[row.id] = int(raw)
    if not errors and not any(weights.values()):
        errors[""] = weights_all_zero()
    refuse_fields(errors)
    before = {row.code: row.weight for row in rows}
    for row in rows:
        row.weight = weights[row.id]
    session.flush()
    audit.record(session, actor, "scoring.weights", "campaign", campaign.id,
                 {"before": before, "after": {row.code: row.weight for row in rows}})  # fmt: skip


@dataclass(frozen=True)
class Part:
    """One criterion of one county: its figures, its points and where the figures come from."""

    criterion: ScoringCriterion
    measure: Measure
    points: float | None


@dataclass(frozen=True)
class CountyScore:
    """A county's parts, score and rank."""

    unit: ReportUnit
    parts: list[Part]
    score: float | None
    rank: int | None


@dataclass(frozen=True)
class Scoreboard:
    """The ranking for a period, with the report and phase its figures were taken from."""

    report: ProgressReport
    phase_code: str | None
    rows: list[CountyScore]
    criteria: list[ScoringCriterion]


def _reliability(
    session: DbSession, user: User, day: date, zone: tzinfo, unit_of: Mapping[int, int],
    cache: ReconciliationCache | None,
) -> tuple[str | None, dict[int, Measure]]:  # fmt: skip
    """Per county: inspectors' findings the enterprises' ledgers held (not claimed fixed), in pairs a supervisor
    confirmed / findings."""
    window = resolve_phase(session, user, None, day, zone)
    if window is None:
        return None, {}
    result = reconcile_scope(session, user, window, day, zone=zone, cache=cache)
    ids = [r.enterprise_id for r in result.rows]
    query = sa.select(Enterprise.id, Enterprise.region_id).where(Enterprise.id.in_(ids))
    regions: dict[Any, int] = {row[0]: row[1] for row in session.execute(query)}
    held: dict[int, int] = defaultdict(int)
    found: dict[int, int] = defaultdict(int)
    for row in result.rows:
        unit = unit_of.get(regions.get(row.enterprise_id, -1))
        if unit is not None:
            held[unit] += row.result.confirmed_self_reported
            found[unit] += row.result.findings
    return window.phase.code, {unit: Measure(held[unit], found[unit]) for unit in found}


def _timeliness(
    session: DbSession,
    user: User,
    campaign: Campaign | None,
    day: date,
    zone: tzinfo,
    unit_of: Mapping[int, int],
) -> dict[int, Measure]:
    """Per county: submission periods answered on time / periods due by ``day``."""
    if campaign is None:
        return {}
    view = submissions.matrix(session, user, campaign, day, zone)
    on_time: dict[int, int] = defaultdict(int)
    due: dict[int, int] = defaultdict(int)
    for enterprise, cells in view.rows:
        unit = unit_of.get(enterprise.region_id)
        if unit is None:
            continue
        for cell in cells:
            if cell.timeliness is not Timeliness.pending:
                due[unit] += 1
                on_time[unit] += cell.timeliness is Timeliness.on_time
    return {unit: Measure(on_time[unit], due[unit]) for unit in due}


def scoreboard(
    session: DbSession, user: User, period: Period, *, zone: tzinfo, now: datetime | None = None,
    cache: ReconciliationCache | None = None, report_cache: ReportCache | None = None,
) -> Scoreboard:  # fmt: skip
    """Every county in ``user``'s scope scored for ``period`` and ranked (the report's figures from
    ``report_cache`` when they were counted at the current change counter)."""
    report = build_report(session, user, period, zone=zone, now=now, cache=report_cache)
    campaign = campaign_for(session, user)
    rows_of = criteria(session, campaign) if campaign else []
    unit_of = report_scope(session, user).unit_of
    day = report.cutoff.day
    phase_code, reliability = _reliability(session, user, day, zone, unit_of, cache)
    timeliness = _timeliness(session, user, campaign, day, zone, unit_of)
    scored: list[tuple[ReportUnit, list[Part], float | None]] = []
    for figures in report.rows:
        unit_id = figures.unit.id
        measures = {
            Metric.coverage: Measure(figures.enterprises_covered, figures.enterprises_in_scope),
            Metric.clearance: Measure(figures.cleared, figures.enterprises_in_scope),
            Metric.overdue_share: Measure(figures.overdue, figures.hazards),
            Metric.reliability: reliability.get(unit_id, Measure(0, 0)),
            Metric.timeliness: timeliness.get(unit_id, Measure(0, 0)),
        }
        parts = [Part(c, measures[c.metric], rules.points(c.metric, measures[c.metric])) for c in rows_of]
        scored.append(
            (figures.unit, parts, rules.weighted_score([(p.criterion.weight, p.points) for p in parts]))
        )
    ranks = rules.ranks([score for *_, score in scored])
    rows = [
        CountyScore(unit, parts, score, rank)
        for (unit, parts, score), rank in zip(scored, ranks, strict=True)
    ]
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.unit.name))
    return Scoreboard(report, phase_code, rows, rows_of)


def as_json(board: Scoreboard) -> dict[str, Any]:
    """The ranking with every figure a score rests on."""
    return {
        "period": board.report.cutoff.param, "cutoff": board.report.cutoff.day.isoformat(),
        "reconciliation_phase": board.phase_code,
        "criteria": [{"code": c.code, "metric": c.metric.value, "weight": c.weight} for c in board.criteria],
        "counties": [{
            "region_id": row.unit.id, "name": row.unit.name, "score": row.score, "rank": row.rank,
            "parts": [{"code": p.criterion.code, "metric": p.criterion.metric.value, "weight": p.criterion.weight,
                       "numerator": p.measure.numerator, "denominator": p.measure.denominator,
                       "share": p.measure.share, "points": p.points} for p in row.parts],
        } for row in board.rows],
    }  # fmt: skip

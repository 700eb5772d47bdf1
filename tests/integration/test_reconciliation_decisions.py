"""Supervisors confirm reconciliation pairs (issue 14): only confirmed pairs count in 自查可靠率, decisions are
scoped, refused from the catalogue, audited and seen by the cached reconciliation at the next request."""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.models import AuditEvent, ReconciliationDecision
from tests.conftest import login
from tests.integration.test_reconciliation_pages import PHASE, Scenario, _phase, _row, scenario

__all__ = ["scenario"]  # the fixture, shared with the pages' tests


def signed_in(app: Flask, username: str = "xx_sup") -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, login(client, username)


def _month_in_phase(app: Flask, client: FlaskClient) -> str:
    """A report month whose scoreboard takes its reliability from the scenario's phase."""
    with app.app_context():
        phase = _phase()
        months = sorted({f"{d.year}-{d.month:02d}" for d in (phase.starts_on, phase.ends_on)})
    for month in months:
        reply = client.get(f"/scoring.json?month={month}")
        if reply.status_code == 200 and reply.get_json()["reconciliation_phase"] == PHASE:
            return month
    raise AssertionError(f"no report month reconciles {PHASE}")


def _reliability_part(client: FlaskClient, month: str) -> dict[str, int]:
    board = client.get(f"/scoring.json?month={month}").get_json()
    county = next(c for c in board["counties"] if c["name"] == "兴县")
    part: dict[str, int] = next(p for p in county["parts"] if p["metric"] == "reliability")
    return part


def _decide(
    client: FlaskClient, csrf: str, enterprise: uuid.UUID, finding: uuid.UUID, entry: uuid.UUID, verdict: str,
    reason: str = "", phase: str = PHASE,
) -> object:  # fmt: skip
    return client.post(
        f"/enterprises/{enterprise}/reconciliation/decisions",
        data={"csrf_token": csrf, "finding": str(finding), "entry": str(entry), "verdict": verdict, "reason": reason,
              "phase": phase},
    )  # fmt: skip


def test_scored_reliability_counts_only_pairs_a_supervisor_confirmed(app: Flask, scenario: Scenario) -> None:
    client, csrf = signed_in(app)
    month = _month_in_phase(app, client)
    proposed = client.get(f"/api/reconciliation?phase={PHASE}&per_page=5000").get_json()["totals"]
    part = _reliability_part(client, month)
    # The matcher proposes pairs in 兴县; none is confirmed, so none counts in the scored figure.
    assert proposed["self_reported"] > 0 and part["denominator"] == proposed["findings"]
    assert part["numerator"] == 0
    finding, entry = scenario.self_reported
    assert _decide(client, csrf, scenario.enterprise, finding, entry, "same").status_code == 303
    assert _reliability_part(client, month)["numerator"] == 1

"""Supervisors confirm reconciliation pairs (issue 14): only confirmed pairs count in 自查可靠率, decisions are
scoped, refused from the catalogue, audited and seen by the cached reconciliation at the next request."""

from __future__ import annotations

import io
import re
import threading
import time as time_module
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from server import clock
from server.domain.hazards import HazardLevel, HazardState
from server.domain.reconciliation import Finding, LedgerEntry, PairVerdict, rank_for_pairing
from server.errors import Problem
from server.extensions import db
from server.models import AuditEvent, Hazard, ReconciliationDecision, User
from server.services.reconciliation import confirm_all, decide, resolve_phase
from tests.conftest import login
from tests.integration.test_reconciliation_pages import PHASE, Scenario, _phase, _row, scenario

__all__ = ["scenario"]  # the fixture, shared with the pages' tests


def signed_in(app: Flask, username: str = "xx_sup") -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, login(client, username)


def english(client: FlaskClient, path: str) -> str:
    """The page in English (a browser asking for it, no choice stored)."""
    client.set_cookie("lang", "en")
    try:
        return client.get(path).get_data(as_text=True)
    finally:
        client.delete_cookie("lang")


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
    # The page and the exported notice say what the figure counts.
    assert "经督查人员确认" in client.get(f"/scoring?month={month}").get_data(as_text=True)
    assert "confirmed by a supervisor" in english(client, f"/scoring?month={month}")
    reply = client.get(f"/scoring.xlsx?month={month}")
    try:
        sheet = load_workbook(io.BytesIO(reply.data)).active
    finally:
        reply.close()
    assert sheet is not None
    assert any("经督查人员确认" in str(cell.value or "") for line in sheet.iter_rows() for cell in line)


def _html(client: FlaskClient, enterprise: uuid.UUID) -> str:
    reply = client.get(f"/enterprises/{enterprise}/reconciliation?phase={PHASE}")
    assert reply.status_code == 200
    return reply.get_data(as_text=True)


def _pair_row(html: str, finding: uuid.UUID, entry: uuid.UUID) -> str:
    match = re.search(rf'<tr data-finding="{finding}" data-entry="{entry}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, "the pair is not shown"
    return match.group(0)


def test_confirm_reject_pair_by_hand_and_undo_on_the_pages(app: Flask, scenario: Scenario) -> None:
    client, csrf = signed_in(app)
    county = f"/reconciliation?phase={PHASE}"
    row = _row(client.get(county).get_data(as_text=True), scenario.enterprise)  # cached from here on
    assert (row["reliability"], row["confirmed-reliability"], row["awaiting"]) == ("33%", "0%", "2")
    f1, e1 = scenario.self_reported
    html = _html(client, scenario.enterprise)
    pair = _pair_row(html, f1, e1)
    assert (
        'data-confirmed="no"' in pair and 'data-verdict="same"' in pair and 'data-verdict="different"' in pair
    )
    assert 'id="confirm-all"' in html and 'name="csrf_token"' in pair

    # Confirm: the cached county table sees it at the next request, the page says who, and it is audited.
    assert _decide(client, csrf, scenario.enterprise, f1, e1, "same").status_code == 303
    row = _row(client.get(county).get_data(as_text=True), scenario.enterprise)
    assert (row["reliability"], row["confirmed-reliability"], row["awaiting"]) == ("33%", "33%", "1")
    pair = _pair_row(_html(client, scenario.enterprise), f1, e1)
    assert 'data-confirmed="yes"' in pair and "李科长" in pair and 'data-verdict="withdrawn"' in pair
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert event is not None and event.action == "reconciliation.same"
        assert event.entity_type == "reconciliation_decision"
        assert (event.data["finding_id"], event.data["entry_id"], event.data["previous"]) == (
            str(f1),
            str(e1),
            None,
        )

    # Not the same hazard: a reason is required; then the pair is never proposed again and is listed apart.
    f2, e2 = scenario.claimed
    refused = _decide(client, csrf, scenario.enterprise, f2, e2, "different")
    assert refused.status_code == 400 and "须填写理由" in refused.get_data(as_text=True)
    assert (
        _decide(
            client, csrf, scenario.enterprise, f2, e2, "different", "泄爆口已改向，台账记的是另一台除尘器"
        ).status_code
        == 303
    )
    html = _html(client, scenario.enterprise)
    rejected = re.search(r'<section class="card" id="rejected"[^>]*>(.*?)</section>', html, re.S)
    assert rejected and f'data-finding="{f2}" data-entry="{e2}"' in rejected.group(1)
    assert "另一台除尘器" in rejected.group(1)
    claimed = re.search(r'<section class="card" id="claimed"[^>]*>(.*?)</section>', html, re.S)
    assert claimed and str(f2) not in claimed.group(1)

    # By hand: the missed finding with the ledger-only entry, with a reason.
    refused = _decide(client, csrf, scenario.enterprise, scenario.missed, scenario.ledger_only, "same")
    assert refused.status_code == 400 and "手工配对须填写理由" in refused.get_data(as_text=True)
    assert _decide(client, csrf, scenario.enterprise, scenario.missed, scenario.ledger_only, "same",
                   "台账写的是同一条煤气管道").status_code == 303  # fmt: skip
    pair = _pair_row(_html(client, scenario.enterprise), scenario.missed, scenario.ledger_only)
    assert 'data-confirmed="yes"' in pair
    row = _row(client.get(county).get_data(as_text=True), scenario.enterprise)
    assert (row["self-reported"], row["confirmed-reliability"], row["awaiting"]) == ("2", "67%", "0")

    # A finding confirmed with one entry cannot be confirmed with another: the refusal names the entry.
    refused = _decide(client, csrf, scenario.enterprise, f1, e2, "same", "重复")
    assert refused.status_code == 409 and "高炉主控室没有安装一氧化碳报警器" in refused.get_data(as_text=True)

    # Undo is a new decision: the pair goes back to being a proposal; nothing to undo twice.
    assert _decide(client, csrf, scenario.enterprise, f1, e1, "withdrawn").status_code == 303
    assert 'data-confirmed="no"' in _pair_row(_html(client, scenario.enterprise), f1, e1)
    assert _decide(client, csrf, scenario.enterprise, f1, e1, "withdrawn").status_code == 409
    assert _decide(client, csrf, scenario.enterprise, f2, e2, "withdrawn").status_code == 303
    assert 'data-confirmed="no"' in _pair_row(_html(client, scenario.enterprise), f2, e2)
    with app.app_context():
        verdicts = db.session.scalars(
            sa.select(ReconciliationDecision.verdict).order_by(ReconciliationDecision.id)
        )
        assert [v.value for v in verdicts] == ["same", "different", "same", "withdrawn", "withdrawn"]

    # Confirm all: every proposal of the enterprise at once, one audited decision each.
    reply = client.post(f"/enterprises/{scenario.enterprise}/reconciliation/confirm-all",
                        data={"csrf_token": csrf, "phase": PHASE})  # fmt: skip
    assert reply.status_code == 303
    row = _row(client.get(county).get_data(as_text=True), scenario.enterprise)
    assert (row["confirmed-reliability"], row["awaiting"]) == ("67%", "0")
    with app.app_context():
        bulk = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "reconciliation.same"))
        previous = [e.data["previous"] for e in bulk if e.data.get("confirm_all")]
        assert previous == ["withdrawn", "withdrawn"]
    assert "已确认 2 对建议配对" in client.get(reply.headers["Location"]).get_data(as_text=True)


def test_decisions_are_refused_with_the_catalogues_codes(app: Flask, scenario: Scenario) -> None:
    with app.app_context():
        sup = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        other = db.session.scalar(sa.select(User).where(User.username == "lx_sup"))
        inspector = db.session.scalar(sa.select(User).where(User.username == "xx_insp1"))
        assert sup is not None and other is not None and inspector is not None
        today, zone = clock.today(), clock.zone()
        window = resolve_phase(db.session, sup, PHASE, today, zone)
        assert window is not None
        f1, e1 = scenario.self_reported
        f2, e2 = scenario.claimed
        same, different = PairVerdict.same, PairVerdict.different

        def record(
            user: User, finding: uuid.UUID, entry: uuid.UUID, verdict: PairVerdict, reason: str = ""
        ) -> Any:
            return decide(
                db.session, user, scenario.enterprise, finding, entry, verdict, reason, window, today, zone
            )

        def code(
            user: User, finding: uuid.UUID, entry: uuid.UUID, verdict: PairVerdict, reason: str = ""
        ) -> str:
            try:
                record(user, finding, entry, verdict, reason)
            except Problem as problem:
                db.session.rollback()
                return problem.code
            raise AssertionError("not refused")

        assert code(inspector, f1, e1, same) == "404.210"  # inspectors see, supervisors decide
        assert code(sup, f1, uuid.uuid4(), same) == "404.210"
        linxian = db.session.scalar(
            sa.select(Hazard.id).where(Hazard.enterprise_id == scenario.linxian).limit(1)
        )
        assert linxian is not None and code(sup, linxian, e1, same) == "404.210"  # out of scope
        assert code(sup, e1, e2, same) == "422.210"  # a ledger entry is not a finding
        assert code(sup, f1, f2, same) == "422.211"  # a finding is not a ledger entry
        assert code(sup, f1, e1, different) == "400.210"
        assert code(sup, scenario.missed, scenario.ledger_only, same) == "400.211"
        assert code(sup, f1, e1, PairVerdict.withdrawn) == "409.212"
        assert code(sup, f1, e1, same, "x" * 501) == "400.90"
        record(sup, f1, e1, same)
        db.session.commit()
        assert code(sup, f1, e2, same, "x") == "409.210"
        assert code(sup, f2, e1, same, "x") == "409.211"
        assert record(sup, f1, e1, same) is None, "a repeated click records nothing"
        try:
            confirm_all(db.session, other, scenario.enterprise, window, today, zone)
        except Problem as problem:
            assert problem.code == "404.210"
        else:
            raise AssertionError("another county's supervisor confirmed")
        db.session.rollback()


def test_only_supervisors_in_scope_reach_the_decisions(app: Flask, scenario: Scenario) -> None:
    f1, e1 = scenario.self_reported
    for username in ("xx_insp1", "qy_jinxing", "lx_sup"):
        client, csrf = signed_in(app, username)
        assert _decide(client, csrf, scenario.enterprise, f1, e1, "same").status_code == 404, username
        reply = client.post(f"/enterprises/{scenario.enterprise}/reconciliation/confirm-all",
                            data={"csrf_token": csrf, "phase": PHASE})  # fmt: skip
        assert reply.status_code == 404, username
    city, csrf = signed_in(app, "ll_city")
    assert _decide(city, csrf, scenario.enterprise, f1, e1, "same").status_code == 303
    sup, csrf = signed_in(app, "xx_sup")
    assert _decide(sup, csrf, scenario.enterprise, f1, e1, "bogus").status_code == 400
    assert sup.post(f"/enterprises/{scenario.enterprise}/reconciliation/decisions",
                    data={"finding": str(f1), "entry": str(e1), "verdict": "same"}).status_code in (400, 403)  # fmt: skip
    # The pair must be the enterprise's own: another enterprise's page does not decide it.
    assert _decide(sup, csrf, uuid.uuid4(), f1, e1, "withdrawn").status_code == 404


def test_the_api_says_which_pairs_a_supervisor_confirmed(app: Flask, scenario: Scenario) -> None:
    client, csrf = signed_in(app)
    f1, e1 = scenario.self_reported
    assert _decide(client, csrf, scenario.enterprise, f1, e1, "same").status_code == 303

    detail = client.get(f"/api/enterprises/{scenario.enterprise}/reconciliation?phase={PHASE}").get_json()
    confirmed = {(p["finding"]["id"], p["entry"]["id"]): p["confirmed"] for p in detail["self_reported"]}
    assert confirmed[(str(f1), str(e1))] is True and list(confirmed.values()).count(True) == 1
    counts = detail["counts"]
    assert (counts["confirmed_self_reported"], counts["awaiting_confirmation"]) == (1, 1)
    assert counts["confirmed_reliability"] == 1 / counts["findings"]
    totals = client.get(f"/api/reconciliation?phase={PHASE}&per_page=5000").get_json()["totals"]
    assert totals["confirmed_self_reported"] == 1 and totals["awaiting_confirmation"] >= 1
    assert totals["confirmed_reliability"] == 1 / totals["findings"]


def test_a_missed_finding_is_offered_every_unpaired_entry_most_alike_first(
    app: Flask, scenario: Scenario
) -> None:
    client, csrf = signed_in(app)
    f2, e2 = scenario.claimed
    assert _decide(client, csrf, scenario.enterprise, f2, e2, "different", "另一台除尘器").status_code == 303
    html = _html(client, scenario.enterprise)
    row = re.search(rf'<tr data-finding="{scenario.missed}">(.*?)</tr>', html, re.S)
    assert row, "the missed finding is not listed"
    offered = re.findall(r'<option value="([0-9a-f-]+)">[^<]*文字相似度 \d+%</option>', row.group(1))
    assert {uuid.UUID(value) for value in offered} == {scenario.ledger_only, e2}

    # In the order the domain ranks them, from the records as the API gives them.
    detail = client.get(f"/api/enterprises/{scenario.enterprise}/reconciliation?phase={PHASE}").get_json()

    def record(kind: type[Any], data: dict[str, Any]) -> Any:
        return kind(
            id=data["id"], item_code=data["item_code"], place=data["place"], description=data["description"],
            found_at=datetime.fromisoformat(data["found_at"]), level=HazardLevel(data["level"]),
            state=HazardState(data["state"]), deadline=None,
        )  # fmt: skip

    (missed,) = (record(Finding, f) for f in detail["missed"] if f["id"] == str(scenario.missed))
    free = [record(LedgerEntry, e) for e in detail["ledger_only"]]
    assert offered == [e.id for e, _ in rank_for_pairing(missed, free)]


def test_two_supervisors_confirming_one_finding_at_once_leave_one_pair(
    app: Flask, scenario: Scenario
) -> None:
    """Two supervisors confirm the same finding with two different ledger entries at the same moment: the one who
    commits second is refused (409.210) with the first pair named, instead of both checks passing before either
    decision is written and the finding standing confirmed twice."""
    f1, e1 = scenario.self_reported
    _f2, e2 = scenario.claimed
    first_written, second_started = threading.Event(), threading.Event()
    outcome: dict[str, str] = {}

    def confirm(entry: uuid.UUID, name: str, reason: str) -> None:
        with app.app_context():
            sup = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
            assert sup is not None
            today, zone = clock.today(), clock.zone()
            window = resolve_phase(db.session, sup, PHASE, today, zone)
            assert window is not None
            try:
                if name == "second":
                    first_written.wait(10)
                    second_started.set()
                decide(
                    db.session,
                    sup,
                    scenario.enterprise,
                    f1,
                    entry,
                    PairVerdict.same,
                    reason,
                    window,
                    today,
                    zone,
                )
                if name == "first":
                    first_written.set()
                    # Hold the transaction open while the other supervisor decides.
                    second_started.wait(10)
                    time_module.sleep(0.5)
                db.session.commit()
                outcome[name] = "written"
            except Problem as problem:
                db.session.rollback()
                outcome[name] = problem.code
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=confirm, args=(e1, "first", "")),
        threading.Thread(target=confirm, args=(e2, "second", "同一隐患，台账写法不同")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcome == {"first": "written", "second": "409.210"}
    with app.app_context():
        standing = db.session.scalars(
            sa.select(ReconciliationDecision.entry_id).where(
                ReconciliationDecision.finding_id == f1, ReconciliationDecision.verdict == PairVerdict.same
            )
        ).all()
    assert standing == [e1]

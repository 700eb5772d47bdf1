"""The paperwork's pure rules (issue 18): due dates and timeliness of submissions, the stop-production order's
legal-review state machine, and an expert opinion's seal."""

from __future__ import annotations

import json
from datetime import date

import pytest

from server.domain.expert_opinions import comparable, seal_status
from server.domain.roles import Role
from server.domain.stop_orders import IllegalOrderStep, OrderAction, OrderState, allowed_actions, next_state
from server.domain.submissions import Schedule, Timeliness, due_dates, schedule_problem, timeliness


def test_monthly_due_dates_run_from_the_first_to_the_last_month_across_a_year_end() -> None:
    schedule = Schedule(due_day=23, first_month=date(2026, 11, 1), last_month=date(2027, 2, 1))
    assert due_dates(schedule) == [
        date(2026, 11, 23),
        date(2026, 12, 23),
        date(2027, 1, 23),
        date(2027, 2, 23),
    ]
    assert due_dates(Schedule(due_on=date(2026, 5, 5))) == [date(2026, 5, 5)]


@pytest.mark.parametrize(
    "schedule",
    [Schedule(), Schedule(due_on=date(2026, 5, 5), due_day=23), Schedule(due_day=31, first_month=date(2026, 5, 1),
     last_month=date(2026, 6, 1)), Schedule(due_day=23, first_month=date(2026, 7, 1), last_month=date(2026, 6, 1)),
     Schedule(due_day=23)],
)  # fmt: skip
def test_a_schedule_must_be_one_date_or_a_whole_monthly_rule(schedule: Schedule) -> None:
    assert schedule_problem(schedule) is not None


def test_timeliness_is_the_first_versions_day_against_the_due_date() -> None:
    due = date(2026, 7, 23)
    assert timeliness(due, date(2026, 7, 23), date(2026, 9, 1)) is Timeliness.on_time
    assert timeliness(due, date(2026, 7, 24), date(2026, 9, 1)) is Timeliness.late
    assert timeliness(due, None, date(2026, 7, 23)) is Timeliness.pending  # due today: not yet overdue
    assert timeliness(due, None, date(2026, 7, 24)) is Timeliness.missing


def test_an_order_is_issued_only_after_a_legal_reviewer_approved_it() -> None:
    state = OrderState.draft
    with pytest.raises(IllegalOrderStep):
        next_state(state, OrderAction.issue, Role.supervisor, "")
    state = next_state(state, OrderAction.submit, Role.supervisor, "")
    for role in (Role.supervisor, Role.city_supervisor, Role.admin, Role.inspector):
        with pytest.raises(IllegalOrderStep):
            next_state(state, OrderAction.approve, role, "")
    with pytest.raises(IllegalOrderStep):
        next_state(state, OrderAction.return_, Role.legal_reviewer, "  ")  # comments are required
    assert next_state(state, OrderAction.return_, Role.legal_reviewer, "依据有误") is OrderState.returned
    assert next_state(state, OrderAction.approve, Role.legal_reviewer, "") is OrderState.approved
    with pytest.raises(IllegalOrderStep):
        next_state(OrderState.approved, OrderAction.issue, Role.legal_reviewer, "")
    assert next_state(OrderState.approved, OrderAction.issue, Role.supervisor, "") is OrderState.issued
    with pytest.raises(IllegalOrderStep):
        next_state(
            OrderState.issued, OrderAction.withdraw, Role.supervisor, "撤回"
        )  # an issued order is a legal act
    assert allowed_actions(OrderState.issued, Role.supervisor) == [OrderAction.resume]
    assert allowed_actions(OrderState.in_review, Role.legal_reviewer) == [
        OrderAction.approve,
        OrderAction.return_,
    ]
    assert (
        not OrderState.in_review.editable
        and not OrderState.approved.editable
        and OrderState.returned.editable
    )


def test_an_opinion_is_sealed_only_as_the_verified_record_holds_it() -> None:
    stored = comparable("孙工", "意见", [{"item_code": "DU-1", "problem": "p", "suggestion": "s"}], "ab" * 32)
    sealed_copy = {"id": "o1", "expert_name": "孙工", "opinion": "意见", "signature_sha256": "ab" * 32,
                   "items": [{"item_code": "DU-1", "hazard_id": None, "problem": "p", "suggestion": "s"}]}  # fmt: skip
    record = json.dumps({"expert_opinions": [sealed_copy]})
    assert seal_status(record, True, "o1", stored).sealed
    assert not seal_status(record, False, "o1", stored).sealed  # the inspection's own seal failed
    assert not seal_status(record, True, "o2", stored).sealed  # not in the record
    assert not seal_status(None, None, "o1", stored).sealed  # not sealed yet
    changed = comparable(
        "孙工", "意见（改）", [{"item_code": "DU-1", "problem": "p", "suggestion": "s"}], "ab" * 32
    )
    assert "differs" in (seal_status(record, True, "o1", changed).problem or "")
    assert not seal_status("{not json", True, "o1", stored).sealed

"""The review life cycle of an inspection and the roles' scope rules."""

from __future__ import annotations

import pytest

from server.domain.inspections import InspectionStatus as S
from server.domain.inspections import ReviewOutcome as R
from server.domain.inspections import status_after_review
from server.domain.roles import Role, scope_problem


@pytest.mark.parametrize(
    ("status", "outcome", "expected"),
    [
        (S.submitted, R.approve, S.approved),
        (S.submitted, R.return_, S.returned),
        (S.draft, R.approve, None),  # nothing to review before submission
        (S.approved, R.return_, None),  # a decision is final; a correction is a new record
        (S.returned, R.approve, None),
    ],
)
def test_only_a_submitted_inspection_can_be_reviewed(status: S, outcome: R, expected: S | None) -> None:
    assert status_after_review(status, outcome) == expected


def test_scope_rules_of_roles() -> None:
    assert scope_problem(Role.enterprise, has_region=True, has_enterprise=False) is not None
    assert scope_problem(Role.inspector, has_region=True, has_enterprise=True) is not None
    assert scope_problem(Role.inspector, has_region=False, has_enterprise=False) is not None
    assert scope_problem(Role.admin, has_region=False, has_enterprise=False) is None
    assert scope_problem(Role.enterprise, has_region=True, has_enterprise=True) is None
    assert all(role.label_zh for role in Role)


def test_only_a_draft_may_still_change() -> None:
    from server.domain.inspections import InspectionStatus, is_sealed

    assert [s.value for s in InspectionStatus if not is_sealed(s)] == ["draft"]

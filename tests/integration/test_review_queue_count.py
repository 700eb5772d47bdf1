"""Issue 17, item 5: the review queue's total, kept counted per enterprise by status and kind and patched after
writes, equals the list's own count after any sequence of writes, for every filter it answers, in every scope."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask
from hypothesis import strategies as st

from server.domain.inspections import InspectionKind, InspectionStatus
from server.extensions import db
from server.models import Enterprise, Inspection, Region, User
from server.services import review
from server.services.oversight.contributions import ContributionCache
from tests.integration.random_writes import check_after_writes

SCOPES = ("xx_sup", "lx_sup", "ll_city", "admin")
FILTERS = [
    review.InspectionFilters(),
    *(review.InspectionFilters(status=s) for s in InspectionStatus),
    review.InspectionFilters(kind=InspectionKind.county),
    review.InspectionFilters(status=InspectionStatus.submitted, kind=InspectionKind.unannounced),
]
WRITES = st.lists(
    st.tuples(
        st.sampled_from(["status", "deleted", "move", "delete"]),
        st.integers(0, 10_000),
        st.integers(0, 10_000),
    ),
    min_size=1,
    max_size=5,
)


def _write(kind: str, index: int, value: int) -> None:
    if kind in ("status", "deleted"):
        rows = db.session.scalars(sa.select(Inspection).order_by(Inspection.id)).all()
        inspection = rows[index % len(rows)]
        if kind == "status":
            inspection.status = list(InspectionStatus)[value % len(InspectionStatus)]
            inspection.kind = list(InspectionKind)[value % len(InspectionKind)]
        else:
            inspection.deleted_at = None if inspection.deleted_at is not None else datetime.now(UTC)
    else:
        enterprises = db.session.scalars(sa.select(Enterprise).order_by(Enterprise.id)).all()
        enterprise = enterprises[index % len(enterprises)]
        if kind == "move":
            regions = db.session.scalars(sa.select(Region.id).order_by(Region.id)).all()
            enterprise.region_id = regions[value % len(regions)]
        else:
            enterprise.deleted_at = None if enterprise.deleted_at is not None else datetime.now(UTC)
    db.session.commit()


def _assert_kept_equals_counted(cache: ContributionCache) -> None:
    for username in SCOPES:
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        for filters in FILTERS:
            kept = review.list_inspections(db.session, user, filters, counts=cache)
            plain = review.list_inspections(db.session, user, filters)
            assert (kept.total, kept.pages, [r.id for r in kept.rows]) == (
                plain.total, plain.pages, [r.id for r in plain.rows]
            ), (username, filters)  # fmt: skip


def test_the_kept_review_count_equals_the_lists_count_after_random_writes(app: Flask) -> None:
    cache = ContributionCache()
    with app.app_context():
        _assert_kept_equals_counted(cache)

        check_after_writes(WRITES, _write, lambda: _assert_kept_equals_counted(cache))

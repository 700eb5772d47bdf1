"""The dashboard's count of overdue, missing submissions is counted in the database: the same figure as the
submissions matrix, for every scope, with versions on time, late and repeated."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from server import clock
from server.domain.submissions import Timeliness
from server.extensions import db
from server.models import User
from server.services import oversight, submissions
from tests.integration.test_submissions import FENGYUAN, JINXING, add_version, past_campaign

assert past_campaign  # the fixture, used by name below


@pytest.mark.parametrize("today", [date(2025, 6, 30), date(2026, 1, 10)])
def test_the_overdue_count_equals_the_matrix_in_every_scope(
    app: Flask, past_campaign: dict[str, int], today: date
) -> None:
    monthly, plan = past_campaign["monthly"], past_campaign["plan"]
    add_version(app, monthly, JINXING, date(2025, 6, 23), datetime(2025, 6, 23, 15, 0, tzinfo=UTC))
    add_version(app, monthly, JINXING, date(2025, 6, 23), datetime(2025, 8, 1, 2, 0, tzinfo=UTC))
    add_version(app, monthly, FENGYUAN, date(2025, 6, 23), datetime(2025, 6, 23, 16, 30, tzinfo=UTC))
    add_version(app, plan, FENGYUAN, date(2025, 5, 5), datetime(2025, 5, 1, 2, 0, tzinfo=UTC))
    with app.app_context():
        zone = clock.zone()
        seen = []
        for username in ("xx_sup", "ll_city", "admin"):
            user = db.session.scalar(sa.select(User).where(User.username == username))
            assert user is not None
            campaign = oversight.campaign_for(db.session, user)
            assert campaign is not None
            expected = submissions.matrix(db.session, user, campaign, today, zone).counts[Timeliness.missing]
            assert submissions.overdue_count(db.session, user, campaign, today, zone) == expected
            seen.append(expected)
        assert seen[0] > 0 and seen[1] >= seen[0]

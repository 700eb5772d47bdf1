"""Issue 17, item 5: the enterprise list narrowed by 清零 verdict (already cleared, not cleared, awaiting review)
lists, page after page, exactly the enterprises in scope whose verdict matches, by name, whether the filter is
sent as the ids that match or as the fewer ids that do not."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server import clock
from server.domain import counting
from server.extensions import db
from server.models import Enterprise, Hazard, User
from server.services import oversight
from server.services.oversight import lists

SCOPES = ("xx_sup", "ll_city", "admin")


@pytest.mark.parametrize("username", SCOPES)
def test_the_list_by_verdict_equals_the_verdicts_filtered_in_python(
    app: Flask, username: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lists, "PAGE_SIZE", 4)
    with app.app_context():
        today = clock.today()
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        cache = oversight.ClearanceCache()
        verdicts = oversight.clearances(db.session, user, today)
        names = {e.id: e.name for e in db.session.scalars(sa.select(Enterprise))}
        kinds = 0
        for filters, wanted in (
            (oversight.EnterpriseFilters(cleared=True), lambda v: v.verdict.cleared),
            (oversight.EnterpriseFilters(cleared=False), lambda v: not v.verdict.cleared),
            (
                oversight.EnterpriseFilters(pending=True),
                lambda v: v.status is counting.ClearanceStatus.pending_review,
            ),
        ):
            expected = sorted((e for e, v in verdicts.items() if wanted(v)), key=lambda e: (names[e], e))
            listed: list[Any] = []
            first = oversight.enterprise_list(db.session, user, filters, today, 1, cache)
            for number in range(1, first.pages + 1):
                page = oversight.enterprise_list(db.session, user, filters, today, number, cache)
                assert page.total == len(expected)
                listed += [(e.id, v) for e, _, v in page.rows]
            assert [e for e, _ in listed] == expected
            assert all(v == verdicts[e] for e, v in listed)
            kinds += bool(expected)
        assert kinds >= 2


@pytest.mark.parametrize("username", SCOPES)
def test_the_plain_list_shows_the_kept_verdicts_and_decides_none_itself(
    app: Flask, username: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a verdict filter, the page's 清零 verdicts come from the kept verdicts of every enterprise (patched
    after a write), not from deciding the page's enterprises again on every request; they are the same."""
    monkeypatch.setattr(lists, "PAGE_SIZE", 4)
    decided: list[Any] = []
    original = lists.clearances

    def counting_clearances(*args: Any, **kwargs: Any) -> Any:
        decided.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(lists, "clearances", counting_clearances)
    with app.app_context():
        today = clock.today()
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert user is not None
        cache = oversight.ClearanceCache()
        plain = oversight.EnterpriseFilters()
        for written in (False, True):
            if written:  # one enterprise's answers change: the kept verdicts are patched for it
                hazard = db.session.scalar(sa.select(Hazard).order_by(Hazard.id).limit(1))
                assert hazard is not None
                hazard.deleted_at = clock.now()
                db.session.commit()
            expected = oversight.clearances(db.session, user, today)
            first = oversight.enterprise_list(db.session, user, plain, today, 1, cache)
            decided.clear()
            listed = []
            for number in range(1, first.pages + 1):
                listed += oversight.enterprise_list(db.session, user, plain, today, number, cache).rows
            assert decided == []
            assert len(listed) == len(expected)
            assert all(v == expected[e.id] for e, _, v in listed)

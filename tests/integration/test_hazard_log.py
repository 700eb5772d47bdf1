"""Hazards in the database: the state columns always equal the replay of the event log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from server.domain.hazards import HazardEventKind as K
from server.domain.hazards import HazardLevel, HazardState
from server.extensions import db
from server.models import Enterprise, Hazard, HazardSource
from server.services.hazards import append_event, record_hazard
from sync.problems import Problem

T0 = datetime(2026, 6, 3, 9, 30, tzinfo=UTC)


def _hazard(level: HazardLevel = HazardLevel.major) -> Hazard:
    enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == "兴县晋兴特钢有限公司"))
    assert enterprise is not None
    return record_hazard(
        db.session, enterprise=enterprise, description="主控室未设置固定式一氧化碳监测报警装置", level=level,
        found_at=T0, deadline=date(2026, 6, 30), source=HazardSource.inspection, item_code="ST-6",
        place="1号高炉主控室", terms={"responsible_person": "王建平"},
    )  # fmt: skip


def test_major_hazard_goes_through_listing_to_closure(app: Flask) -> None:
    with app.app_context():
        hazard = _hazard()
        assert hazard.state == HazardState.found and hazard.deadline == date(2026, 6, 30)
        append_event(db.session, hazard, K.listed, T0 + timedelta(days=1))
        append_event(db.session, hazard, K.rectification_planned, T0 + timedelta(days=2))
        append_event(db.session, hazard, K.deadline_extended, T0 + timedelta(days=20),
                     deadline=date(2026, 7, 31), comment="设备到货延迟")  # fmt: skip
        append_event(db.session, hazard, K.rectification_reported, T0 + timedelta(days=40))
        append_event(db.session, hazard, K.accepted, T0 + timedelta(days=42))
        append_event(db.session, hazard, K.delisted, T0 + timedelta(days=43))
        append_event(db.session, hazard, K.closed, T0 + timedelta(days=44))
        db.session.commit()
        stored = db.session.get(Hazard, hazard.id)
        assert stored is not None
        assert (stored.state, stored.deadline, stored.listed) == (
            HazardState.closed,
            date(2026, 7, 31),
            False,
        )
        assert [e.kind for e in stored.events] == [
            K.found, K.listed, K.rectification_planned, K.deadline_extended,
            K.rectification_reported, K.accepted, K.delisted, K.closed,
        ]  # fmt: skip


def test_illegal_event_is_refused_and_nothing_is_written(app: Flask) -> None:
    with app.app_context():
        hazard = _hazard(HazardLevel.general)
        db.session.commit()
        with pytest.raises(Problem) as refused:
            append_event(db.session, hazard, K.accepted, T0 + timedelta(days=1))
        assert refused.value.code == "409.5"
        with pytest.raises(Problem):
            append_event(
                db.session, hazard, K.listed, T0 + timedelta(days=1)
            )  # general hazards are not listed
        db.session.rollback()
        stored = db.session.get(Hazard, hazard.id)
        assert stored is not None and len(stored.events) == 1 and stored.state == HazardState.found

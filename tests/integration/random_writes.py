"""Random writes of the rows the supervisors' figures read, as hypothesis draws them: a property test applies a
few, then compares what a cache patched since its last count shows with a count from scratch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import orm

from server.domain.clearance import ItemResultValue
from server.domain.hazards import HazardLevel
from server.domain.inspections import InspectionStatus, ReviewOutcome
from server.domain.reconciliation import PairVerdict
from server.extensions import db
from server.models import (
    Enterprise,
    Hazard,
    HazardEvent,
    HazardSource,
    Inspection,
    ItemResult,
    ReconciliationDecision,
    Region,
    RegionLevel,
    ReviewDecision,
    User,
)
from server.models.base import utcnow

#: What a write changes (each picks its rows by the drawn numbers, modulo how many there are).
KINDS = (
    "hazard_description", "hazard_deleted", "hazard_found_at", "hazard_level", "event_at", "event_deleted",
    "inspection_status", "inspection_deleted", "inspection_finished_at", "answer", "enterprise_region",
    "enterprise_deleted", "pair_decision", "late_pair_decision", "review_decision", "enterprise_dust_workers",
)  # fmt: skip


@dataclass(frozen=True)
class Write:
    """One random write: its kind and the numbers that pick its rows and values."""

    kind: str
    first: int
    second: int
    shift: int


writes = st.lists(
    st.builds(
        Write,
        st.sampled_from(KINDS),
        st.integers(0, 10_000),
        st.integers(0, 10_000),
        st.integers(-20, 20),
    ),
    min_size=1,
    max_size=4,
)


def _pick(query: Any, number: int) -> Any:
    """The ``number``-th row (modulo their count) of ``query``, in a stable order; None when there is none."""
    rows = db.session.scalars(query).all()
    return rows[number % len(rows)] if rows else None


def apply(write: Write) -> str:
    """Make ``write`` as the app would (ORM, committed: synced rows take a change number); what it did, for a
    failing example's report."""
    done = _apply(write)
    db.session.commit()
    return done


def _apply(w: Write) -> str:
    days = timedelta(days=w.shift or 1)
    if w.kind.startswith("hazard_"):
        hazard = _pick(sa.select(Hazard).order_by(Hazard.id), w.first)
        if hazard is None:
            return "no hazard"
        if w.kind == "hazard_description":
            other = _pick(sa.select(Hazard).order_by(Hazard.id), w.second)
            hazard.description = other.description + ("" if w.shift % 2 else "，未整改")
        elif w.kind == "hazard_deleted":
            hazard.deleted_at = None if hazard.deleted_at is not None else utcnow() + timedelta(days=w.shift)
        elif w.kind == "hazard_found_at":
            hazard.found_at = hazard.found_at + days
        else:
            hazard.level = HazardLevel.major if hazard.level == HazardLevel.general else HazardLevel.general
        return f"{w.kind} {hazard.id}"
    if w.kind.startswith("event_"):
        event = _pick(sa.select(HazardEvent).order_by(HazardEvent.id), w.first)
        if event is None:
            return "no event"
        if w.kind == "event_at":  # by weeks: across the ends of phases and the cut-offs
            event.at = event.at + timedelta(weeks=w.shift)
        else:
            event.deleted_at = None if event.deleted_at is not None else utcnow()
        return f"{w.kind} {event.id}"
    if w.kind.startswith("inspection_"):
        inspection = _pick(sa.select(Inspection).order_by(Inspection.id), w.first)
        if inspection is None:
            return "no inspection"
        if w.kind == "inspection_status":
            statuses = [s for s in InspectionStatus if s != InspectionStatus.draft]
            inspection.status = statuses[w.second % len(statuses)]
            if inspection.finished_at is None:
                inspection.finished_at = utcnow() - timedelta(days=30)
        elif w.kind == "inspection_deleted":
            inspection.deleted_at = (
                None if inspection.deleted_at is not None else utcnow() - timedelta(days=400)
            )
        elif inspection.finished_at is not None:
            inspection.finished_at = inspection.finished_at + days
        return f"{w.kind} {inspection.id}"
    if w.kind == "answer":
        answer = _pick(sa.select(ItemResult).order_by(ItemResult.id), w.first)
        if answer is None:
            return "no answer"
        values = list(ItemResultValue)
        answer.result = values[(values.index(answer.result) + 1 + w.second) % len(values)]
        return f"answer {answer.id}"
    if w.kind.startswith("enterprise_"):
        enterprise = _pick(sa.select(Enterprise).order_by(Enterprise.id), w.first)
        if enterprise is None:
            return "no enterprise"
        if w.kind == "enterprise_region":
            region = _pick(
                sa.select(Region).where(Region.level == RegionLevel.county).order_by(Region.id), w.second
            )
            enterprise.region_id = region.id
        elif w.kind == "enterprise_deleted":
            enterprise.deleted_at = (
                None if enterprise.deleted_at is not None else utcnow() - timedelta(days=w.shift)
            )
        else:
            enterprise.dust_workers = (enterprise.dust_workers or 0) + w.shift + 21
        return f"{w.kind} {enterprise.id}"
    if w.kind in ("pair_decision", "late_pair_decision"):
        return _pair_decision(w)
    if w.kind == "review_decision":
        inspection = _pick(
            sa.select(Inspection).where(Inspection.finished_at.is_not(None)).order_by(Inspection.id), w.first
        )
        reviewer = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
        if inspection is None or reviewer is None:
            return "no inspection"
        outcome = ReviewOutcome.approve if w.second % 2 else ReviewOutcome.return_
        db.session.add(ReviewDecision(
            inspection_id=inspection.id, reviewer_id=reviewer.id, outcome=outcome,
            decided_at=utcnow() - timedelta(days=abs(w.shift) * 10),
        ))  # fmt: skip
        return f"review {outcome.value} {inspection.id}"
    raise AssertionError(w.kind)


def _pair_decision(w: Write) -> str:
    """A supervisor's decision on a finding and a ledger entry of one enterprise; a "late" one takes an id below
    every other, as a decision whose id was taken before another's but committed after it."""
    # A finding whose enterprise keeps a ledger: a decision elsewhere could not pair anything.
    finding_of, entry_of = orm.aliased(Hazard), orm.aliased(Hazard)
    ledger = sa.exists().where(
        entry_of.source == HazardSource.self_ledger, entry_of.enterprise_id == finding_of.enterprise_id
    )
    finding = _pick(
        sa.select(finding_of)
        .where(finding_of.source == HazardSource.inspection, ledger)
        .order_by(finding_of.id),
        w.first,
    )
    if finding is None:
        return "no finding"
    entry = _pick(
        sa.select(Hazard)
        .where(Hazard.source == HazardSource.self_ledger, Hazard.enterprise_id == finding.enterprise_id)
        .order_by(Hazard.id),
        w.second,
    )
    supervisor = db.session.scalar(sa.select(User).where(User.username == "xx_sup"))
    if entry is None or supervisor is None:
        return "no entry"
    verdicts = [PairVerdict.same, PairVerdict.different, PairVerdict.same, PairVerdict.withdrawn]
    row = ReconciliationDecision(
        finding_id=finding.id, entry_id=entry.id, enterprise_id=finding.enterprise_id,
        verdict=verdicts[w.shift % len(verdicts)], reason="随机", decided_by_id=supervisor.id,
    )  # fmt: skip
    if w.kind == "late_pair_decision":
        lowest = db.session.scalar(sa.select(sa.func.min(ReconciliationDecision.id))) or 0
        row.id = min(lowest, 0) - 1
    db.session.add(row)
    return f"{w.kind} {finding.id} {entry.id}"


def check_after_writes(
    writes: Any, write: Callable[[str, int, int], Any], check: Callable[[], None], examples: int = 10
) -> None:
    """Draw ``writes`` (lists of (kind, number, value)), apply each with ``write`` and run ``check`` after every
    list: the kept figures must equal a recount after whatever was written before (inside an app context)."""

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(drawn=writes)
    def after(drawn: list[tuple[str, int, int]]) -> None:
        for kind, number, value in drawn:
            write(kind, number, value)
        check()

    after()

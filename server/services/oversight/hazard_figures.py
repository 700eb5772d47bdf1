"""Hazard counts for the dashboard: what is counted, overdue, and the campaign's time window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa

from server import clock
from server.domain.hazards import OPEN_STATES, HazardLevel, HazardState
from server.models import Campaign, Hazard, Inspection, User
from server.services import DbSession
from server.services.scope import visible_enterprise_ids

#: States in which the rectification is the enterprise's to do, so a passed deadline makes it overdue
#: (a reported rectification waits on the regulator, see server.domain.hazards.HazardStatus.is_overdue).
AWAITING_ENTERPRISE = tuple(s.value for s in OPEN_STATES if s is not HazardState.reported)

# --- hazards ------------------------------------------------------------------------------------------


def recorded_for_good() -> sa.ColumnElement[bool]:
    """SQL: the hazard is not a finding of an inspection still in draft (the tablet may still change or drop it);
    the figures and the monthly report count a finding once its inspection is submitted."""
    drafts = sa.select(Inspection.id).where(Inspection.status == "draft")
    return sa.or_(Hazard.inspection_id.is_(None), Hazard.inspection_id.not_in(drafts))


def recorded_for_good_by_row() -> sa.ColumnElement[bool]:
    """SQL: ``recorded_for_good`` asked per hazard (its inspection looked up by key): the same rule, for a
    handful of enterprises' hazards, where reading the set of every draft costs ~20 ms at province scale (for
    all hazards the set is the quicker)."""
    drafted = sa.exists().where(Inspection.id == Hazard.inspection_id, Inspection.status == "draft")
    return sa.or_(Hazard.inspection_id.is_(None), sa.not_(drafted))


def overdue_condition(today: date) -> sa.ColumnElement[bool]:
    """SQL condition: the rectification is the enterprise's to do and its deadline has passed."""
    return sa.and_(
        Hazard.state.in_(AWAITING_ENTERPRISE), Hazard.deadline.is_not(None), Hazard.deadline < today
    )


@dataclass(frozen=True)
class HazardFigures:
    """Hazards in scope by level and state, and the two figures supervisors chase."""

    by_level_state: dict[tuple[HazardLevel, HazardState], int]
    overdue: int
    listed: int
    stop_production: int
    #: The campaign's days the figures are limited to (None: no campaign), and the hazards found outside them.
    window: Window | None = None
    before_campaign: int = 0
    after_campaign: int = 0

    @property
    def query(self) -> str:
        """The hazard list's query string that shows exactly the hazards counted here (empty: all)."""
        if self.window is None:
            return ""
        return f"found_from={self.window.starts_on.isoformat()}&found_to={self.window.ends_on.isoformat()}&counted=1"

    @property
    def before_query(self) -> str:
        """The hazard list's query string for the hazards found before the campaign's first day."""
        return (
            ""
            if self.window is None
            else f"found_to={(self.window.starts_on - timedelta(days=1)).isoformat()}"
        )

    @property
    def after_query(self) -> str:
        """The hazard list's query string for the hazards found after the campaign's last day."""
        return (
            ""
            if self.window is None
            else f"found_from={(self.window.ends_on + timedelta(days=1)).isoformat()}"
        )

    def total(self, level: HazardLevel | None = None, state: HazardState | None = None) -> int:
        """Count for one level and/or state (None: any)."""
        return sum(
            n for (lv, st), n in self.by_level_state.items() if level in (None, lv) and state in (None, st)
        )

    @property
    def open(self) -> int:
        """Hazards whose rectification is not yet accepted."""
        return sum(n for (_, st), n in self.by_level_state.items() if st in OPEN_STATES)


@dataclass(frozen=True)
class Window:
    """The campaign's days (first phase's start to last phase's end, inclusive) in the bureau's zone: campaign
    figures take only records found inside it, and list the others apart."""

    starts_on: date
    ends_on: date
    tz: tzinfo

    def inside(self, column: Any) -> sa.ColumnElement[bool]:
        """SQL: ``column`` (an aware timestamp) falls within the campaign's days."""
        return sa.and_(
            column >= clock.day_start(self.starts_on, self.tz), column < clock.day_end(self.ends_on, self.tz)
        )

    def before(self, column: Any) -> sa.ColumnElement[bool]:
        """SQL: ``column`` falls before the campaign's first day."""
        return column < clock.day_start(self.starts_on, self.tz)

    def after(self, column: Any) -> sa.ColumnElement[bool]:
        """SQL: ``column`` falls after the campaign's last day."""
        return column >= clock.day_end(self.ends_on, self.tz)


def campaign_window(campaign: Campaign | None, tz: tzinfo) -> Window | None:
    """The campaign's days (None: no campaign or no phases, so no date limit)."""
    phases = list(campaign.phases) if campaign is not None else []
    if not phases:
        return None
    return Window(min(p.starts_on for p in phases), max(p.ends_on for p in phases), tz)


def counted_hazards(session: DbSession, user: User, window: Window | None = None) -> sa.ColumnElement[bool]:
    """SQL: the hazards the dashboard counts for ``user``: in scope, not deleted, recorded for good and, with
    ``window``, found within the campaign's days (the dashboard's charts count the same hazards)."""
    visible = sa.and_(
        Hazard.enterprise_id.in_(visible_enterprise_ids(session, user)), Hazard.deleted_at.is_(None),
        recorded_for_good(),
    )  # fmt: skip
    return visible if window is None else sa.and_(visible, window.inside(Hazard.found_at))


def _found_inside_and_outside(window: Window | None) -> tuple[Any, tuple[Any, Any]]:
    """SQL: a hazard found inside ``window``, and before or after it (everything is inside when there is none)."""
    if window is None:
        return sa.true(), (sa.false(), sa.false())
    return window.inside(Hazard.found_at), (window.before(Hazard.found_at), window.after(Hazard.found_at))


def hazard_figures(
    session: DbSession, user: User, today: date, window: Window | None = None
) -> HazardFigures:
    """Hazard counts in scope (found within ``window`` when given), by level and state, with overdue, 挂牌督办
    and stop-production counts, and how many were found before or after the window (listed apart)."""
    # One pass over the scope's hazards: each count is a FILTER of the same scan (three scans took ~0.2 s at
    # province scale), and a (level, state) group found only outside the window is left out as before.
    inside, outside = _found_inside_and_outside(window)
    open_states = [s.value for s in OPEN_STATES]
    grouped = session.execute(
        sa.select(
            Hazard.level, Hazard.state,
            sa.func.count().filter(inside),
            sa.func.count().filter(inside, overdue_condition(today)),
            sa.func.count().filter(inside, Hazard.listed.is_(True)),
            sa.func.count().filter(inside, Hazard.stop_production.is_(True), Hazard.state.in_(open_states)),
            sa.func.count().filter(outside[0]),
            sa.func.count().filter(outside[1]),
        )
        .where(counted_hazards(session, user))
        .group_by(Hazard.level, Hazard.state)
    ).all()  # fmt: skip
    by_level_state = {(HazardLevel(lv), HazardState(st)): n for lv, st, n, *_ in grouped if n}
    overdue, listed, stop, earlier, later = (sum(int(row[i] or 0) for row in grouped) for i in range(3, 8))
    return HazardFigures(by_level_state, overdue, listed, stop, window, earlier, later)


def hazard_tallies(session: DbSession, today: date, window: Window | None) -> Any:
    """Counts each enterprise's part of ``hazard_figures`` (an oversight.contributions.Counting): by
    ``("found", level, state)`` inside the window, and ``"overdue"``, ``"listed"``, ``"stop"``, ``"before"``
    and ``"after"``, under the same conditions as ``hazard_figures``; ``figures_of_tally`` reads them back."""
    inside, outside = _found_inside_and_outside(window)
    open_states = [s.value for s in OPEN_STATES]

    def count(ids: Any | None) -> dict[Any, dict[Any, int]]:
        query = (
            sa.select(
                Hazard.enterprise_id, Hazard.level, Hazard.state,
                sa.func.count().filter(inside),
                sa.func.count().filter(inside, overdue_condition(today)),
                sa.func.count().filter(inside, Hazard.listed.is_(True)),
                sa.func.count().filter(inside, Hazard.stop_production.is_(True), Hazard.state.in_(open_states)),
                sa.func.count().filter(outside[0]),
                sa.func.count().filter(outside[1]),
            )
            .where(Hazard.deleted_at.is_(None))
            .group_by(Hazard.enterprise_id, Hazard.level, Hazard.state)
        )  # fmt: skip
        query = query.where(recorded_for_good_by_row() if isinstance(ids, list) else recorded_for_good())
        if ids is not None:
            query = query.where(Hazard.enterprise_id.in_(ids))
        tallies: dict[Any, dict[Any, int]] = {}
        for enterprise_id, level, state, n, *counts in session.execute(query):
            tally = tallies.setdefault(enterprise_id, {})
            if n:
                tally["found", HazardLevel(level), HazardState(state)] = n
            for name, value in zip(_COUNTED, counts, strict=True):
                if value:
                    tally[name] = tally.get(name, 0) + value
        return tallies

    return count


#: The figures a hazard tally carries besides its counts by level and state, in hazard_tallies' order.
_COUNTED = ("overdue", "listed", "stop", "before", "after")


def figures_of_tally(tally: dict[Any, int], window: Window | None) -> HazardFigures:
    """The ``HazardFigures`` of a scope's summed hazard tally (``hazard_tallies``)."""
    by_level_state = {(key[1], key[2]): int(n) for key, n in tally.items() if isinstance(key, tuple) and n}
    overdue, listed, stop, before, after = (int(tally.get(name, 0)) for name in _COUNTED)
    return HazardFigures(by_level_state, overdue, listed, stop, window, before, after)

"""What each parsed entry changes (new, changed or unchanged, and its events), checked before anything is written."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from server.domain import hazards as rules
from server.domain.hazards import HazardEventKind, HazardLevel, HazardState
from server.errors import (
    # the catalogue's entries this module raises
    date_goes_back,
    item_unknown,
    level_locked,
    number_reused,
    state_refused,
)
from server.models import CatalogueItem, Enterprise, Hazard, HazardSource
from server.services import DbSession
from server.services.ledger_excel.columns import (
    _NEGATIVE_ACCEPTANCE,
    LEVEL_LABELS,
    _norm,
    entry_id,
    local_date,
    stamp,
)
from server.services.ledger_excel.report import _Notes
from server.services.ledger_excel.rows import _Entry
from sync.problems import Problem

# --- Planning: what each entry changes, checked before anything is written -------------------------------------


@dataclass
class _NewEvent:
    kind: HazardEventKind
    at: datetime
    comment: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Plan:
    entry: _Entry
    hazard_id: uuid.UUID
    existing: Hazard | None
    level: HazardLevel
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    events: list[_NewEvent] = field(default_factory=list)


def _acceptance_negative(entry: _Entry) -> bool:
    conclusion = entry.terms.get("acceptance", "")
    return any(word in conclusion for word in _NEGATIVE_ACCEPTANCE)


def _wanted_events(
    entry: _Entry, level: HazardLevel, tz: tzinfo, notes: _Notes
) -> list[tuple[_NewEvent, str]]:
    """The events after 'found' the row asks for, each with the column its date comes from."""
    wanted: list[tuple[_NewEvent, str]] = []
    accepted_by = entry.terms.get("accepted_by")
    accepts = level is HazardLevel.general and entry.accepted_on is not None and accepted_by is not None
    if accepts and _acceptance_negative(entry):
        notes.add("验收结论为不合格，未记为验收通过", "the acceptance conclusion is negative: not recorded as accepted",
                  entry.line)  # fmt: skip
        accepts = False
    if entry.completed_on is not None:
        data = {"via": "ledger_import"}
        wanted.append((_NewEvent(HazardEventKind.rectification_reported,
                                 stamp(entry.completed_on, HazardEventKind.rectification_reported, tz),
                                 data=data), "completed_on"))  # fmt: skip
    elif accepts and entry.accepted_on is not None:
        notes.add("未填完成日期，按验收日期记为整改完成", "no completion date: completion recorded at the acceptance date",
                  entry.line)  # fmt: skip
        wanted.append((_NewEvent(HazardEventKind.rectification_reported,
                                 stamp(entry.accepted_on, HazardEventKind.rectification_reported, tz),
                                 data={"via": "ledger_import", "completion_inferred": True}), "accepted_on"))  # fmt: skip
    if accepts and entry.accepted_on is not None:
        wanted.append((_NewEvent(HazardEventKind.accepted, stamp(entry.accepted_on, HazardEventKind.accepted, tz),
                                 comment=entry.terms.get("acceptance"), data={"via": "ledger_import"}),
                       "accepted_on"))  # fmt: skip
    elif level is HazardLevel.general and (entry.accepted_on is None) != (accepted_by is None):
        notes.add(
            "验收日期和验收人须同时填写，未记为验收通过",
            "acceptance needs both the date and the acceptor: not recorded as accepted",
            entry.line,
        )
    return wanted


def _domain(events: Iterable[Any]) -> list[rules.HazardEvent]:
    return [rules.HazardEvent(kind=e.kind, at=e.at, deadline=e.deadline, reason=e.comment or "")
            for e in sorted(events, key=lambda e: e.at)]  # fmt: skip


def _effective_terms(hazard: Hazard, tz: tzinfo) -> dict[str, Any]:
    """The stored terms, with the completion and acceptance dates of the log where the terms lack them
    (an entry made on a tablet records them as events only)."""
    terms = dict(hazard.terms or {})
    for kind, term in (
        (HazardEventKind.rectification_reported, "completed_on"),
        (HazardEventKind.accepted, "accepted_on"),
    ):
        if not terms.get(term):
            at = max((e.at for e in hazard.events if e.kind == kind), default=None)
            if at is not None:
                terms[term] = local_date(at, tz).isoformat()
    return terms


def _same(stored: Any, new: Any) -> bool:
    if isinstance(new, str) or isinstance(stored, str):
        return _norm(stored) == _norm(new)
    if isinstance(new, Decimal) and stored is not None:
        return Decimal(stored) == new
    return bool(stored == new)


class _Planner:
    """Decides, for each parsed entry, whether it is new, changed or unchanged and which events it adds."""

    def __init__(self, session: DbSession, enterprise: Enterprise, tz: tzinfo) -> None:
        self.enterprise = enterprise
        self.tz = tz
        self.notes = _Notes()
        # One query for the enterprise's whole ledger, one for its events: no query per row.
        stored = session.scalars(
            sa.select(Hazard)
            .where(Hazard.enterprise_id == enterprise.id, Hazard.source == HazardSource.self_ledger)
            .options(selectinload(Hazard.events))
        ).all()
        self.by_id = {h.id: h for h in stored}
        self.by_number: dict[str, Hazard] = {}
        self.by_content: dict[tuple[date, str, str], Hazard] = {}
        for hazard in sorted(stored, key=lambda h: h.deleted_at is not None):  # live entries win
            if hazard.ledger_no:
                self.by_number.setdefault(_norm(hazard.ledger_no), hazard)
            content = (local_date(hazard.found_at, tz), _norm(hazard.place), _norm(hazard.description))
            self.by_content.setdefault(content, hazard)
        self.codes = set(session.scalars(sa.select(CatalogueItem.code).distinct()))
        self.codes.update(h.item_code for h in stored if h.item_code)

    def find(self, entry: _Entry, hazard_id: uuid.UUID) -> Hazard | None:
        """The stored entry this row describes: same id, same number, or same date, place and description."""
        found = self.by_id.get(hazard_id)
        if found is None and entry.ledger_no:
            found = self.by_number.get(_norm(entry.ledger_no))
        if found is None:
            found = self.by_content.get((entry.found_on, _norm(entry.place), _norm(entry.description)))
        return found

    def plan(self, entry: _Entry) -> _Plan:
        """The plan for one entry, or a Problem (raised) naming the column that makes it impossible."""
        hazard_id = entry_id(
            self.enterprise.id, entry.ledger_no, entry.found_on, entry.place, entry.description
        )
        existing = self.find(entry, hazard_id)
        item = entry.fields.get("item_code")
        if item is not None and self.codes and item not in self.codes:
            raise _ColumnProblem("item_code", item_unknown(value=item))
        if existing is None:
            return self._plan_new(entry, hazard_id)
        return self._plan_existing(entry, existing)

    def _plan_new(self, entry: _Entry, hazard_id: uuid.UUID) -> _Plan:
        level = entry.level or HazardLevel.general
        plan = _Plan(entry, hazard_id, None, level)
        found = rules.HazardEvent(HazardEventKind.found, stamp(entry.found_on, HazardEventKind.found, self.tz),
                                  deadline=entry.deadline)  # fmt: skip
        status = rules.apply_event(None, found, level)
        previous = ("found_at", entry.found_on)
        for event, column in _wanted_events(entry, level, self.tz, self.notes):
            day = local_date(event.at, self.tz)
            if day < previous[1]:
                raise _ColumnProblem(column, date_goes_back(
                    value=day.isoformat(), other=entry.column(previous[0]), other_en=_english(previous[0]),
                    other_value=previous[1].isoformat()))  # fmt: skip
            status = self._apply(status, event, level, column)
            plan.events.append(event)
            previous = (column, day)
        self._note_major(entry, level, status)
        return plan

    def _plan_existing(self, entry: _Entry, hazard: Hazard) -> _Plan:
        plan = _Plan(entry, hazard.id, hazard, hazard.level)
        stored_on = local_date(hazard.found_at, self.tz)
        if stored_on != entry.found_on:
            raise _ColumnProblem(
                "found_at", number_reused(value=entry.ledger_no or "", found_on=stored_on.isoformat())
            )
        if entry.level is not None and entry.level != hazard.level:
            raise _ColumnProblem("level", level_locked(stored=LEVEL_LABELS[hazard.level], stored_en=hazard.level.value,
                                                      value=LEVEL_LABELS[entry.level]))  # fmt: skip
        self._diff(entry, hazard, plan)
        if entry.deadline is not None and entry.deadline != hazard.deadline:
            self.notes.add("整改期限与已记录的不同，未更改（延期请在系统中办理）",
                           "the deadline differs from the recorded one and was not changed (extend it on the web)",
                           entry.line)  # fmt: skip
        try:
            status: rules.HazardStatus | None = rules.replay(_domain(hazard.events), hazard.level)
        except (rules.IllegalTransition, ValueError):
            status = None
        if status is None:
            return plan
        kinds = {e.kind for e in hazard.events}
        for event, column in _wanted_events(entry, hazard.level, self.tz, self.notes):
            if event.kind in kinds or status.state in (HazardState.accepted, HazardState.closed):
                continue
            if event.kind not in rules.allowed_events(status):
                self.notes.add(f"隐患当前为“{status.state.label_zh}”，台账中的“{event.kind.label_zh}”未导入",
                               f"the hazard is {status.state.value}: the ledger's {event.kind.value} was not recorded",
                               entry.line)  # fmt: skip
                break
            last = status.last_event_at
            if last is not None and event.at < last:
                day, last_day = local_date(event.at, self.tz), local_date(last, self.tz)
                if day < last_day:
                    raise _ColumnProblem(column, date_goes_back(
                        value=day.isoformat(), other="该隐患已记录的上一步", other_en="the hazard's last recorded step",
                        other_value=last_day.isoformat()))  # fmt: skip
                # Same day, but the last step was logged later in it: the ledger gives no time, so follow it.
                event.at = last + timedelta(minutes=1)
            status = self._apply(status, event, hazard.level, column)
            plan.events.append(event)
            kinds.add(event.kind)
        self._note_major(entry, hazard.level, status)
        return plan

    def _diff(self, entry: _Entry, hazard: Hazard, plan: _Plan) -> None:
        """The fields and terms the row changes (a blank cell keeps what is stored)."""
        if entry.ledger_no and not hazard.ledger_no:
            plan.changes["ledger_no"] = (None, entry.ledger_no)
        if not _same(hazard.description, entry.description):
            plan.changes["description"] = (hazard.description, entry.description)
        for attr, value in entry.fields.items():
            stored = getattr(hazard, attr)
            if attr == "five_in_place":
                merged = {**(stored or {}), **value}
                if merged != (stored or {}):
                    plan.changes[attr] = (stored, merged)
            elif not _same(stored, value):
                plan.changes[attr] = (stored, value)
        effective = _effective_terms(hazard, self.tz)
        changed_terms = {k: v for k, v in entry.terms.items() if not _same(effective.get(k), v)}
        if changed_terms:
            plan.changes["terms"] = (hazard.terms, {**(hazard.terms or {}), **changed_terms})
        if hazard.deleted_at is not None:
            # The enterprise's ledger lists it again, so it is back.
            plan.changes["deleted_at"] = (hazard.deleted_at, None)

    @staticmethod
    def _apply(
        status: rules.HazardStatus, event: _NewEvent, level: HazardLevel, column: str
    ) -> rules.HazardStatus:
        try:
            return rules.apply_event(
                status, rules.HazardEvent(event.kind, event.at, reason=event.comment or ""), level
            )
        except rules.IllegalTransition as illegal:
            raise _ColumnProblem(
                column, state_refused(why_zh=illegal.why_zh, why_en=illegal.why_en)
            ) from None

    def _note_major(self, entry: _Entry, level: HazardLevel, status: rules.HazardStatus) -> None:
        if level is HazardLevel.major and status.state is HazardState.reported:
            self.notes.add(
                "重大事故隐患已记为“报告整改完成”，须由监管部门验收",
                "major hazards are recorded as reported fixed; the regulator accepts them",
                entry.line,
            )


class _ColumnProblem(Exception):
    """A plan that cannot be made: the column to blame and the reason."""

    def __init__(self, column: str, problem: Problem) -> None:
        super().__init__(problem.message("en"))
        self.column = column
        self.problem = problem


def _english(field_key: str) -> str:
    return {
        "found_at": "the check date",
        "completed_on": "the completion date",
        "accepted_on": "the acceptance date",
    }.get(field_key, field_key)

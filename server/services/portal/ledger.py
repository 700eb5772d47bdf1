"""The enterprise's self-inspection ledger (隐患自查台账): the form, its checks, and creating or updating an entry."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from server.domain.hazards import FIVE_IN_PLACE, HazardEventKind, HazardLevel
from server.domain.typed_cells import CellRefused, parse_amount
from server.errors import (
    FormProblems,
    field_before,
    field_date_invalid,
    field_in_future,
    field_pair_missing,
    field_required,
    field_too_many_chars,
    funds_invalid,
    funds_too_large,
    hazard_level_required,
    ledger_no_taken,
    listed_level_locked,
    major_hazard_must_stop,
    not_own_ledger,
    refuse_fields,
    time_of_check_in_future,
    time_of_check_invalid,
)
from server.models import Enterprise, Hazard, HazardSource, User
from server.services import DbSession, audit
from server.services.hazards import append_event, project, record_hazard
from server.services.portal.rectification import _next_at
from sync.problems import Problem

# --- the self-inspection ledger -----------------------------------------------------------------------------

#: Ledger facts kept in Hazard.terms, besides the 五定 keys the catalogue names (the Excel template uses them too).
LEDGER_TERM_KEYS = (
    "checked_by", "responsible_person", "measures", "completed_by", "accepted_by", "completed_on", "recheck_on",
    "recheck_by", "acceptance", "accepted_on",
)  # fmt: skip
#: 五到位 keys, as the tablet records them (the domain's list).
FIVE_IN_PLACE_KEYS = tuple(FIVE_IN_PLACE)

#: Each ledger field's label, Chinese and English (the form shows both; errors name the field).
LEDGER_LABELS: dict[str, tuple[str, str]] = {
    "found_at": ("检查时间", "time of check"),
    "place": ("隐患部位", "place"),
    "ledger_no": ("台账编号", "number"),
    "level": ("隐患等级", "level"),
    "description": ("隐患描述", "description"),
    "checked_by": ("检查人", "checked by"),
    "responsible_person": ("整改责任人", "responsible person"),
    "measures": ("整改措施", "measures"),
    "deadline": ("整改期限", "deadline"),
    "completed_by": ("整改完成人", "completed by"),
    "accepted_by": ("验收人", "accepted by"),
    "funds_yuan": ("整改资金（元）", "funds (yuan)"),
    "completed_on": ("整改完成日期", "completion date"),
    "recheck_on": ("复查日期", "re-check date"),
    "recheck_by": ("复查人", "re-checked by"),
    "acceptance": ("验收意见", "acceptance"),
    "accepted_on": ("验收日期", "acceptance date"),
    "treatment_plan": ("治理方案", "treatment plan"),
    "five_in_place": ("五到位", "five in place"),
    "reported_to_regulator_on": ("报告监管部门日期", "reported to the regulator on"),
    "reported_to_workers_congress_on": ("报告职代会日期", "reported to the workers' congress on"),
    "stop_production": ("停产停业整改", "production stopped"),
}
FIVE_IN_PLACE_LABELS = {key: zh for key, (zh, _en) in FIVE_IN_PLACE.items()}
MAX_FUNDS = Decimal("999999999999.99")


@dataclass(frozen=True)
class LedgerInput:
    """A ledger form, checked and typed; ``found_at`` is None when editing (the check time is fixed)."""

    found_at: datetime | None
    place: str
    ledger_no: str | None
    level: HazardLevel
    description: str
    deadline: date
    terms: dict[str, str]
    funds_yuan: Decimal | None
    treatment_plan: str | None
    five_in_place: dict[str, bool] | None
    reported_to_regulator_on: date | None
    reported_to_workers_congress_on: date | None
    stop_production: bool


class _Reader:
    """Reads a form's fields one by one, collecting an error per bad field instead of stopping at the first."""

    def __init__(self, form: Mapping[str, str]) -> None:
        self.form = form
        self.errors: dict[str, Problem] = {}

    def fail(self, key: str, problem: Problem) -> None:
        self.errors.setdefault(key, problem)

    def text(self, key: str, *, required: bool = False, max_len: int = 200) -> str | None:
        value = (self.form.get(key) or "").strip()
        zh, en = LEDGER_LABELS.get(key, (key, key))
        if not value:
            if required:
                self.fail(key, field_required(label=zh, label_en=en.capitalize()))
            return None
        if len(value) > max_len:
            self.fail(key, field_too_many_chars(label=zh, label_en=en.capitalize(), limit=max_len))
        return value

    def day(self, key: str, *, required: bool = False, not_before: date | None = None, after_key: str = "found_at",
            not_after: date | None = None) -> date | None:  # fmt: skip
        """A date field; ``not_before`` is the day of the field ``after_key`` (named in the error)."""
        raw = (self.form.get(key) or "").strip()
        zh, en = LEDGER_LABELS.get(key, (key, key))
        if not raw:
            if required:
                self.fail(key, field_required(label=zh, label_en=en.capitalize()))
            return None
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            self.fail(key, field_date_invalid(label=zh, label_en=en.capitalize(), value=raw))
            return None
        if not_before is not None and value < not_before:
            before_zh, before_en = LEDGER_LABELS[after_key]
            self.fail(key, field_before(label=zh, label_en=en.capitalize(), value=value.isoformat(), other=before_zh,
                                        other_en=before_en, other_value=not_before.isoformat()))  # fmt: skip
        elif not_after is not None and value > not_after:
            self.fail(key, field_in_future(label=zh, label_en=en.capitalize(), today=not_after.isoformat()))
        return value

    def checked(self, key: str) -> bool:
        return self.form.get(key) in ("1", "on", "true", "yes")


def _local_datetime(raw: str, zone: ZoneInfo) -> datetime | None:
    """A ``datetime-local`` value (or a bare date) on the bureau's clock, as an aware datetime; None if invalid."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        try:
            value = datetime.combine(date.fromisoformat(raw), time(0, 0))
        except ValueError:
            return None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)


def parse_ledger_form(
    form: Mapping[str, str], *, found_on: date | None, today: date, now: datetime, zone: ZoneInfo
) -> LedgerInput:
    """Check a ledger form (``found_on`` is the fixed check day when editing, None when creating); raise
    FormProblems naming every bad field."""
    read = _Reader(form)
    found_at = None
    if found_on is None:
        raw = (form.get("found_at") or "").strip()
        if not raw:
            read.fail("found_at", field_required(label="检查时间", label_en="The time of check"))
        else:
            found_at = _local_datetime(raw, zone)
            if found_at is None:
                read.fail("found_at", time_of_check_invalid(value=raw))
            elif found_at > now:
                read.fail("found_at", time_of_check_in_future())
        found_on = found_at.astimezone(zone).date() if found_at is not None and found_at <= now else None
    level_raw = (form.get("level") or "").strip()
    level = None
    try:
        level = HazardLevel(level_raw)
    except ValueError:
        read.fail("level", hazard_level_required())
    place = read.text("place", required=True)
    ledger_no = read.text("ledger_no", max_len=32)
    description = read.text("description", required=True, max_len=10000)
    terms: dict[str, str] = {}
    for key in ("checked_by", "responsible_person", "completed_by", "accepted_by", "recheck_by"):
        value = read.text(key, required=key in ("checked_by", "responsible_person"), max_len=100)
        if value:
            terms[key] = value
    for key in ("measures", "acceptance"):
        value = read.text(key, required=key == "measures", max_len=4000)
        if value:
            terms[key] = value
    deadline = read.day("deadline", required=True, not_before=found_on)
    completed_on = read.day("completed_on", not_before=found_on, not_after=today)
    after = "completed_on" if completed_on else "found_at"
    recheck_on = read.day("recheck_on", not_before=completed_on or found_on, after_key=after, not_after=today)
    accepted_on = read.day(
        "accepted_on", not_before=completed_on or found_on, after_key=after, not_after=today
    )
    for key, day in (
        ("completed_on", completed_on),
        ("recheck_on", recheck_on),
        ("accepted_on", accepted_on),
    ):
        if day is not None:
            terms[key] = day.isoformat()
    if recheck_on is not None and "recheck_by" not in terms:
        read.fail("recheck_by", field_pair_missing(label="复查人", label_en="re-checker", other="复查日期",
                                                   other_en="re-check date"))  # fmt: skip
    if "recheck_by" in terms and recheck_on is None:
        read.fail("recheck_on", field_pair_missing(label="复查日期", label_en="re-check date", other="复查人",
                                                   other_en="re-checker"))  # fmt: skip
    funds = _funds(read, (form.get("funds_yuan") or "").strip())
    major = level is HazardLevel.major
    treatment_plan = read.text("treatment_plan", required=major, max_len=10000) if major else None
    five = {key: read.checked(f"five_in_place_{key}") for key in FIVE_IN_PLACE_KEYS} if major else None
    stop = major and read.checked("stop_production")
    if five is not None and not five["measures"] and not stop:
        read.fail("stop_production", major_hazard_must_stop())
    to_regulator = (
        read.day("reported_to_regulator_on", not_before=found_on, not_after=today) if major else None
    )
    to_congress = (
        read.day("reported_to_workers_congress_on", not_before=found_on, not_after=today) if major else None
    )
    refuse_fields(read.errors)
    assert level is not None and place is not None and description is not None and deadline is not None
    return LedgerInput(
        found_at=found_at, place=place, ledger_no=ledger_no, level=level, description=description, deadline=deadline,
        terms=terms, funds_yuan=funds, treatment_plan=treatment_plan, five_in_place=five,
        reported_to_regulator_on=to_regulator, reported_to_workers_congress_on=to_congress, stop_production=stop,
    )  # fmt: skip


def _funds(read: _Reader, raw: str) -> Decimal | None:
    """The form's amount in yuan, exact, read as the ledger import reads one ("3000", "30,000元", "3万元")."""
    if not raw:
        return None
    try:
        value = parse_amount(raw)
    except CellRefused as refused:
        read.fail("funds_yuan", funds_invalid(reason=refused.message("zh"), reason_en=refused.message("en")))
        return None
    if value > MAX_FUNDS:
        read.fail("funds_yuan", funds_too_large())
        return None
    return value


def ledger_form_values(hazard: Hazard, zone: ZoneInfo) -> dict[str, str]:
    """A ledger entry as its form's field values (for editing)."""
    terms = hazard.terms or {}
    values = {key: str(terms.get(key) or "") for key in LEDGER_TERM_KEYS}
    values.update(
        found_at=hazard.found_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"), place=hazard.place or "",
        ledger_no=hazard.ledger_no or "", level=hazard.level.value, description=hazard.description,
        deadline=hazard.deadline.isoformat() if hazard.deadline else "",
        funds_yuan=str(hazard.funds_yuan) if hazard.funds_yuan is not None else "",
        treatment_plan=hazard.treatment_plan or "",
        reported_to_regulator_on=hazard.reported_to_regulator_on.isoformat() if hazard.reported_to_regulator_on else "",
        reported_to_workers_congress_on=(
            hazard.reported_to_workers_congress_on.isoformat() if hazard.reported_to_workers_congress_on else ""
        ),
        stop_production="1" if hazard.stop_production else "",
    )  # fmt: skip
    for key in FIVE_IN_PLACE_KEYS:
        values[f"five_in_place_{key}"] = "1" if (hazard.five_in_place or {}).get(key) else ""
    return values


def _columns(data: LedgerInput) -> dict[str, Any]:
    """The hazard columns a ledger form sets (besides description, level and the deadline)."""
    return {
        "place": data.place, "ledger_no": data.ledger_no, "terms": data.terms, "funds_yuan": data.funds_yuan,
        "treatment_plan": data.treatment_plan, "five_in_place": data.five_in_place,
        "reported_to_regulator_on": data.reported_to_regulator_on,
        "reported_to_workers_congress_on": data.reported_to_workers_congress_on,
        "stop_production": data.stop_production,
    }  # fmt: skip


def _check_number_free(
    session: DbSession, enterprise_id: uuid.UUID, number: str | None, hazard_id: Any
) -> None:
    """A ledger number names one entry of the enterprise's ledger (the Excel import finds entries by it)."""
    if not number:
        return
    clash = session.scalar(
        sa.select(Hazard.id).where(
            Hazard.enterprise_id == enterprise_id,
            Hazard.source == HazardSource.self_ledger,
            Hazard.deleted_at.is_(None),
            Hazard.ledger_no == number,
            Hazard.id != hazard_id,
        )
    )
    if clash is not None:
        raise FormProblems({"ledger_no": ledger_no_taken(value=number)})


def create_ledger_entry(session: DbSession, user: User, enterprise: Enterprise, data: LedgerInput) -> Hazard:
    """A new self-inspection ledger entry: a self_ledger hazard with its 'found' event (deadline on it); audited."""
    assert data.found_at is not None
    _check_number_free(session, enterprise.id, data.ledger_no, None)
    hazard = record_hazard(
        session, enterprise=enterprise, description=data.description, level=data.level, found_at=data.found_at,
        deadline=data.deadline, source=HazardSource.self_ledger, actor=user, **_columns(data),
    )  # fmt: skip
    session.flush()
    audit.record(session, user, "ledger.create", "hazard", hazard.id, {
        "ledger_no": data.ledger_no, "level": data.level.value, "deadline": data.deadline.isoformat(),
    })  # fmt: skip
    return hazard


def update_ledger_entry(
    session: DbSession, user: User, hazard: Hazard, data: LedgerInput, now: datetime
) -> list[str]:
    """Change an own ledger entry; a later deadline is a 'deadline_extended' event (the log stays append-only,
    so a deadline is never moved earlier); audited. Returns the names of the fields that changed."""
    if hazard.source != HazardSource.self_ledger:
        raise not_own_ledger()
    _check_number_free(session, hazard.enterprise_id, data.ledger_no, hazard.id)
    columns = {**_columns(data), "description": data.description}
    changed = [key for key, value in columns.items() if getattr(hazard, key) != value]
    if data.level != hazard.level:
        if hazard.listed:
            raise FormProblems({"level": listed_level_locked()})
        hazard.level = data.level
        try:
            project(hazard, list(hazard.events))  # the state machine's rules depend on the level
        except Problem as problem:
            raise FormProblems({"level": problem}) from None
        changed.append("level")
    if data.deadline != hazard.deadline:
        try:
            append_event(
                session, hazard, HazardEventKind.deadline_extended, _next_at(hazard, now), deadline=data.deadline,
                comment="企业修改自查台账整改期限 / deadline changed in the ledger", actor=user,
            )  # fmt: skip
        except Problem as problem:
            raise FormProblems({"deadline": problem}) from None
        changed.append("deadline")
    if not changed:
        return []
    for key, value in columns.items():
        setattr(hazard, key, value)
    hazard.row_version += 1
    session.flush()
    audit.record(session, user, "ledger.update", "hazard", hazard.id, {"changed": sorted(changed)})
    return changed

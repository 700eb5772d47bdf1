"""The enterprise portal's use cases: what an enterprise may see (四不两直: nothing of an inspection before it is
submitted), its self-inspection ledger (隐患自查台账), its side of the rectification loop, and its per-phase
self-assessment (自评). Every change is audited; the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from server.domain.applicability import ApplicabilityRule, applicable_items
from server.domain.clearance import ItemResultValue
from server.domain.hazards import FIVE_IN_PLACE, OPEN_STATES, HazardEventKind, HazardLevel, HazardState
from server.domain.inspections import InspectionKind, InspectionStatus
from server.domain.roles import Role
from server.domain.typed_cells import CellRefused, parse_amount
from server.errors import (
    FormProblems,
    after_photo_required,
    answer_before_photos,
    answer_invalid,
    answer_note_required,
    answer_note_too_long,
    answer_required,
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
    no_catalogue_in_force,
    not_own_ledger,
    refuse_fields,
    regulator_accepts,
    self_assessment_sealed,
    time_of_check_in_future,
    time_of_check_invalid,
)
from server.models import (
    Blob,
    Campaign,
    CampaignPhase,
    CatalogueItem,
    Enterprise,
    Hazard,
    HazardEvent,
    HazardSource,
    Inspection,
    ItemResult,
    Photo,
    User,
)
from server.services import DbSession, audit, oversight
from server.services.hazards import append_event, project, record_hazard
from sync.problems import Problem

# --- what an enterprise may see (四不两直) -------------------------------------------------------------------

#: Statuses of a regulator's inspection whose findings the enterprise sees: never a draft (the visit may still be
#: under way, unannounced), nor a returned one (it is being corrected and may change).
RELEASED_STATUSES: tuple[str, ...] = (InspectionStatus.submitted.value, InspectionStatus.approved.value)


def released_inspections() -> sa.Select[uuid.UUID]:
    """Ids of inspections whose findings are released to the enterprise (submitted or approved)."""
    return sa.select(Inspection.id).where(
        Inspection.status.in_(RELEASED_STATUSES), Inspection.deleted_at.is_(None)
    )


def hazard_released() -> sa.ColumnElement[bool]:
    """SQL condition on Hazard: its enterprise may see it (its own ledger entry, or a released inspection's)."""
    return sa.or_(Hazard.source == HazardSource.self_ledger, Hazard.inspection_id.in_(released_inspections()))


def enterprise_hazards(enterprise_id: uuid.UUID) -> sa.Select[Hazard]:
    """The hazards of the enterprise that it may see."""
    return sa.select(Hazard).where(
        Hazard.enterprise_id == enterprise_id, Hazard.deleted_at.is_(None), hazard_released()
    )


def find_hazard(session: DbSession, enterprise_id: uuid.UUID, hazard_id: uuid.UUID) -> Hazard | None:
    """One hazard the enterprise may see, or None (unknown, another enterprise's, or not yet released)."""
    return session.scalar(enterprise_hazards(enterprise_id).where(Hazard.id == hazard_id))


def own_self_assessments(enterprise_id: uuid.UUID) -> sa.Select[uuid.UUID]:
    """Ids of the enterprise's own self-assessments (the only inspections it ever sees): decided by who made the
    record (one of the enterprise's own accounts), never by the kind a device wrote on it."""
    own_accounts = sa.select(User.id).where(User.enterprise_id == enterprise_id, User.role == Role.enterprise)
    return sa.select(Inspection.id).where(
        Inspection.enterprise_id == enterprise_id,
        Inspection.kind == InspectionKind.self_check.value,
        Inspection.created_by_id.in_(own_accounts),
        Inspection.deleted_at.is_(None),
    )


def visible_photo(
    session: DbSession, enterprise_id: uuid.UUID, photo_id: uuid.UUID
) -> tuple[Photo, Blob | None] | None:
    """A photo of something the enterprise may see (its hazards, their events, its self-assessment answers)."""
    photo = session.get(Photo, photo_id)
    if photo is None or photo.deleted_at is not None:
        return None
    hazard_id: Any = None
    if photo.entity_type == "hazard":
        hazard_id = photo.entity_id
    elif photo.entity_type == "hazard_event":
        hazard_id = session.scalar(sa.select(HazardEvent.hazard_id).where(HazardEvent.id == photo.entity_id))
    elif photo.entity_type == "item_result":
        own = session.scalar(
            sa.select(ItemResult.id).where(
                ItemResult.id == photo.entity_id,
                ItemResult.inspection_id.in_(own_self_assessments(enterprise_id)),
            )
        )
        return (photo, session.get(Blob, photo.sha256)) if own is not None else None
    if hazard_id is None or find_hazard(session, enterprise_id, hazard_id) is None:
        return None
    return photo, session.get(Blob, photo.sha256)


# --- the home page ------------------------------------------------------------------------------------------


def campaign_of(session: DbSession, enterprise: Enterprise) -> Campaign | None:
    """The newest campaign run by the enterprise's region or a region above it."""
    regions = [r.id for r in enterprise.region.ancestors_and_self()]
    return session.scalar(
        sa.select(Campaign)
        .where(Campaign.region_id.in_(regions))
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Home:
    """What the portal's home shows."""

    enterprise: Enterprise
    campaign: Campaign | None
    phase: CampaignPhase | None
    open_ledger: int
    overdue: int
    #: Found by regulators, the rectification still the enterprise's to do.
    awaiting: int


def _count(session: DbSession, query: sa.Select[Any]) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0


def home(session: DbSession, enterprise: Enterprise, today: date) -> Home:
    """The enterprise, the campaign phase running today and the figures it must chase."""
    campaign = campaign_of(session, enterprise)
    hazards = enterprise_hazards(enterprise.id)
    open_values = [s.value for s in OPEN_STATES]
    return Home(
        enterprise=enterprise,
        campaign=campaign,
        phase=campaign.phase_on(today) if campaign else None,
        open_ledger=_count(
            session, hazards.where(Hazard.source == HazardSource.self_ledger, Hazard.state.in_(open_values))
        ),
        overdue=_count(session, hazards.where(oversight.overdue_condition(today))),
        awaiting=_count(
            session,
            hazards.where(
                Hazard.source != HazardSource.self_ledger, Hazard.state.in_(oversight.AWAITING_ENTERPRISE)
            ),
        ),
    )


# --- lists --------------------------------------------------------------------------------------------------

#: The status filters of the portal's lists.
STATUS_FILTERS = {"open": "未闭环 / open", "overdue": "逾期 / overdue", "done": "已验收或销号 / done"}
#: Who found a hazard, as the rectification list filters it.
FINDER_FILTERS = {"self": "企业自查 / own ledger", "regulator": "监管部门检查 / regulators"}


@dataclass(frozen=True)
class ListFilters:
    """What a portal list may be narrowed to; None means any."""

    status: str | None = None
    level: HazardLevel | None = None
    finder: str | None = None


def hazard_page(
    session: DbSession,
    enterprise_id: uuid.UUID,
    filters: ListFilters,
    today: date,
    page: int,
    *,
    ledger: bool,
) -> oversight.Page:
    """One page of the enterprise's hazards: its own ledger (newest check first) or every hazard it may see
    (the nearest deadline first); rows are 1-tuples of Hazard."""
    query = enterprise_hazards(enterprise_id)
    if ledger or filters.finder == "self":
        query = query.where(Hazard.source == HazardSource.self_ledger)
    elif filters.finder == "regulator":
        query = query.where(Hazard.source != HazardSource.self_ledger)
    if filters.status == "open":
        query = query.where(Hazard.state.in_([s.value for s in OPEN_STATES]))
    elif filters.status == "overdue":
        query = query.where(oversight.overdue_condition(today))
    elif filters.status == "done":
        query = query.where(Hazard.state.in_([HazardState.accepted.value, HazardState.closed.value]))
    if filters.level is not None:
        query = query.where(Hazard.level == filters.level)
    if ledger:
        query = query.order_by(Hazard.found_at.desc(), Hazard.id)
    else:
        query = query.order_by(Hazard.deadline.is_(None), Hazard.deadline, Hazard.found_at.desc(), Hazard.id)
    return oversight.paged(session, query, page)


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


# --- the enterprise's side of the closed loop ---------------------------------------------------------------


def _next_at(hazard: Hazard, now: datetime) -> datetime:
    """The web's clock, never before the log's last event (a tablet's fast clock may have logged one 'later')."""
    last = max((e.at for e in hazard.events), default=None)
    return max(now, last) if last is not None else now


def _required(value: str | None, key: str, zh: str, en: str, max_len: int = 4000) -> str:
    text = (value or "").strip()
    if not text:
        raise FormProblems({key: field_required(label=zh, label_en=en)})
    if len(text) > max_len:
        raise FormProblems({key: field_too_many_chars(label=zh, label_en=en, limit=max_len)})
    return text


def plan_rectification(session: DbSession, user: User, hazard: Hazard, measures: str | None,
                       now: datetime) -> HazardEvent:  # fmt: skip
    """Record the enterprise's rectification plan (its measures); audited. 409 Problem if the state forbids it."""
    text = _required(measures, "measures", "整改措施", "The measures")
    event = append_event(
        session, hazard, HazardEventKind.rectification_planned, _next_at(hazard, now), comment=text, actor=user,
        data={"measures": text},
    )  # fmt: skip
    session.flush()
    audit.record(
        session, user, "hazard.plan", "hazard", hazard.id, {"event_id": str(event.id), "measures": text}
    )
    return event


def report_rectification(
    session: DbSession, user: User, hazard: Hazard, note: str | None, now: datetime,
    attach_photos: Callable[[uuid.UUID], list[Photo]],
) -> HazardEvent:  # fmt: skip
    """Report the rectification done, with 1–5 after-photos that ``attach_photos`` stores against the new event;
    audited. On own ledger entries the completion date is filled in when it is still empty."""
    text = _required(note, "note", "整改情况", "What was done")
    event = append_event(
        session,
        hazard,
        HazardEventKind.rectification_reported,
        _next_at(hazard, now),
        comment=text,
        actor=user,
    )
    photos = attach_photos(event.id)
    if not photos:
        raise FormProblems({"photos": after_photo_required()})
    if hazard.source == HazardSource.self_ledger and not (hazard.terms or {}).get("completed_on"):
        hazard.terms = {**(hazard.terms or {}), "completed_on": now.date().isoformat()}
    session.flush()
    audit.record(session, user, "hazard.report", "hazard", hazard.id, {
        "event_id": str(event.id), "note": text, "photos": [str(p.id) for p in photos],
        "sha256": [p.sha256 for p in photos],
    })  # fmt: skip
    return event


def may_accept_own(hazard: Hazard) -> bool:
    """An enterprise accepts only general hazards of its own ledger; a regulator's finding is accepted by one."""
    return hazard.source == HazardSource.self_ledger and hazard.level == HazardLevel.general


def accept_own(session: DbSession, user: User, hazard: Hazard, acceptor: str | None, opinion: str | None,
               now: datetime, today: date) -> HazardEvent:  # fmt: skip
    """The enterprise's own acceptance of a general ledger hazard's rectification (acceptor named); audited."""
    if not may_accept_own(hazard):
        raise regulator_accepts()
    who = _required(acceptor, "acceptor", "验收人", "The acceptor", max_len=100)
    view = (opinion or "").strip()
    comment = f"验收人：{who}" + (f"；验收意见：{view}" if view else "")
    event = append_event(
        session, hazard, HazardEventKind.accepted, _next_at(hazard, now), comment=comment, actor=user,
        data={"acceptor": who},
    )  # fmt: skip
    terms = dict(hazard.terms or {})
    terms.setdefault("accepted_by", who)
    terms["accepted_on"] = today.isoformat()
    if view:
        terms["acceptance"] = view
    hazard.terms = terms
    session.flush()
    audit.record(session, user, "hazard.accept_own", "hazard", hazard.id, {
        "event_id": str(event.id), "acceptor": who, "opinion": view or None,
    })  # fmt: skip
    return event


# --- the per-phase self-assessment (自评) --------------------------------------------------------------------

#: Namespace of self-assessment ids: one stable id per (enterprise, campaign, phase).
SELF_ASSESSMENT_NAMESPACE = uuid.UUID("6f1d2a0e-7c4b-5e21-9a43-5b8f0c1d2e3f")
#: The answers a self-assessment gives, as the portal names them.
SELF_RESULTS = {
    ItemResultValue.compliant: "符合",
    ItemResultValue.non_compliant: "不符合",
    ItemResultValue.not_applicable: "不涉及",
}
MAX_NOTE = 2000


def self_assessment_id(enterprise_id: uuid.UUID, campaign: Campaign, phase: CampaignPhase) -> uuid.UUID:
    """The id of the enterprise's self-assessment for one phase (the same on every call)."""
    return uuid.uuid5(SELF_ASSESSMENT_NAMESPACE, f"{enterprise_id}/{campaign.code}/{phase.code}")


def begun_phases(campaign: Campaign, today: date) -> list[CampaignPhase]:
    """The campaign's phases that have started, in order (a phase to come cannot be assessed yet)."""
    return [p for p in campaign.phases if p.starts_on <= today]


def default_phase(campaign: Campaign, today: date) -> CampaignPhase | None:
    """The phase running today, else the last one that has begun."""
    return campaign.phase_on(today) or next(reversed(begun_phases(campaign, today)), None)


@dataclass(frozen=True)
class AssessmentItem:
    """One applicable key item with the enterprise's answer (None: not yet) and its evidence photos."""

    item: CatalogueItem
    result: ItemResult | None
    photos: list[Photo]


@dataclass(frozen=True)
class Assessment:
    """One phase's self-assessment: the stored record (None before the first save) and every applicable item."""

    phase: CampaignPhase
    inspection: Inspection | None
    catalogue_id: uuid.UUID | None
    items: list[AssessmentItem]

    @property
    def editable(self) -> bool:
        """Until submitted, and again once a supervisor returns it for correction."""
        return self.inspection is None or self.inspection.status in (
            InspectionStatus.draft,
            InspectionStatus.returned,
        )

    @property
    def returned_because(self) -> str | None:
        """The supervisor's comment when the submitted self-assessment was returned."""
        if self.inspection is None or self.inspection.status != InspectionStatus.returned:
            return None
        decisions = self.inspection.decisions
        return (decisions[-1].comment or "") if decisions else ""

    @property
    def answered(self) -> int:
        """How many items have an answer."""
        return sum(1 for i in self.items if i.result is not None)


def load_assessment(
    session: DbSession, enterprise: Enterprise, campaign: Campaign, phase: CampaignPhase, today: date
) -> Assessment:
    """The phase's self-assessment of every key item that applies to the enterprise."""
    inspection = session.get(Inspection, self_assessment_id(enterprise.id, campaign, phase))
    if inspection is not None and (
        inspection.enterprise_id != enterprise.id or inspection.deleted_at is not None
    ):
        inspection = None
    catalogue_id = inspection.catalogue_id if inspection else oversight.current_catalogue_id(session, today)
    items: list[CatalogueItem] = []
    if catalogue_id is not None:
        keys = session.scalars(
            sa.select(CatalogueItem)
            .where(CatalogueItem.catalogue_id == catalogue_id, CatalogueItem.section == "key")
            .order_by(CatalogueItem.ordinal)
        ).all()
        items = applicable_items(
            keys, enterprise.profile(), lambda i: ApplicabilityRule.from_dict(i.applies_when)
        )
    results: dict[str, ItemResult] = {}
    photos: dict[uuid.UUID, list[Photo]] = {}
    if inspection is not None:
        results = {r.item_code: r for r in inspection.results if r.deleted_at is None}
        for photo in session.scalars(
            sa.select(Photo)
            .where(Photo.entity_type == "item_result", Photo.deleted_at.is_(None),
                   Photo.entity_id.in_([r.id for r in results.values()]))
            .order_by(Photo.received_at, Photo.id)
        ):  # fmt: skip
            photos.setdefault(photo.entity_id, []).append(photo)
    return Assessment(
        phase=phase, inspection=inspection, catalogue_id=catalogue_id,
        items=[
            AssessmentItem(i, results.get(i.code), photos.get(results[i.code].id, []) if i.code in results else [])
            for i in items
        ],
    )  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """One item's answer as typed: no result yet, or one of SELF_RESULTS with a note."""

    result: ItemResultValue | None
    note: str


def parse_assessment_form(
    form: Mapping[str, str], codes: list[str], *, submitting: bool, with_photos: Collection[str] = ()
) -> dict[str, Answer]:
    """Check the answers (``result-<code>``, ``note-<code>``); a 不符合 or 不涉及 needs a note, submitting needs
    every item answered, photos need an answer; raise FormProblems naming every bad field."""
    errors: dict[str, Problem] = {}
    answers: dict[str, Answer] = {}
    for code in codes:
        raw = (form.get(f"result-{code}") or "").strip()
        note = (form.get(f"note-{code}") or "").strip()
        result = None
        if raw:
            try:
                result = ItemResultValue(raw)
            except ValueError:
                result = None
            if result not in SELF_RESULTS:
                errors[f"result-{code}"] = answer_invalid(item=code)
                continue
        if len(note) > MAX_NOTE:
            errors[f"note-{code}"] = answer_note_too_long(item=code, limit=MAX_NOTE)
        elif result in (ItemResultValue.non_compliant, ItemResultValue.not_applicable) and not note:
            compliant = result is ItemResultValue.non_compliant
            errors[f"note-{code}"] = answer_note_required(
                item=code, why="不符合的情况" if compliant else "不涉及的理由",
                why_en="what does not comply" if compliant else "why it does not apply",
            )  # fmt: skip
        if result is None and submitting:
            errors[f"result-{code}"] = answer_required(item=code)
        if result is None and code in with_photos:
            errors[f"photos-{code}"] = answer_before_photos(item=code)
        answers[code] = Answer(result, note)
    refuse_fields(errors)
    return answers


def save_assessment(
    session: DbSession, user: User, enterprise: Enterprise, campaign: Campaign, assessment: Assessment,
    answers: Mapping[str, Answer], *, submit: bool, now: datetime,
    attach_photos: Callable[[str, uuid.UUID], list[Photo]],
) -> Inspection:  # fmt: skip
    """Save the phase's self-assessment (a 'self' inspection made by the enterprise user, one per phase), and with
    ``submit`` seal it (submitted, read-only); ``attach_photos(code, result_id)`` stores an item's new evidence.
    Audited. Self-assessments never count towards 清零 (server.domain.clearance leaves kind 'self' out)."""
    if not assessment.editable:
        raise self_assessment_sealed()
    if assessment.catalogue_id is None:
        raise no_catalogue_in_force()
    inspection = assessment.inspection
    created = inspection is None
    if inspection is None:
        phase = assessment.phase
        inspection = Inspection(
            id=self_assessment_id(enterprise.id, campaign, phase), enterprise_id=enterprise.id,
            catalogue_id=assessment.catalogue_id, kind=InspectionKind.self_check, status=InspectionStatus.draft,
            created_by_id=user.id, started_at=now, received_at=now, row_version=1,
            summary_note=f"企业自评：{campaign.name} {phase.name}（{phase.code}）",
        )  # fmt: skip
        session.add(inspection)
    rows = {r.item_code: r for r in inspection.results}
    photo_ids: list[str] = []
    for code, answer in answers.items():
        row = rows.get(code)
        if answer.result is None:
            if row is not None and row.deleted_at is None:
                row.deleted_at = now  # a cleared answer of a draft: a tombstone, as sync keeps deletions
                row.row_version += 1
            continue
        if row is None:
            row = ItemResult(id=uuid.uuid4(), inspection_id=inspection.id, item_code=code, row_version=0)
            inspection.results.append(row)
        new = (answer.result, answer.note or None)
        if row.deleted_at is not None or (row.result, row.note) != new:
            row.result, row.note = new
            row.deleted_at = None
            row.answered_at = now
            row.row_version += 1
        photo_ids += [str(p.id) for p in attach_photos(code, row.id)]
    if submit:
        inspection.status = InspectionStatus.submitted
        inspection.finished_at = now
        inspection.submitted_received_at = now
    if not created:
        inspection.row_version += 1
    session.flush()
    audit.record(session, user, "self_assessment.submit" if submit else "self_assessment.save", "inspection",
                 inspection.id, {
        "phase": assessment.phase.code, "answered": sum(1 for a in answers.values() if a.result is not None),
        "items": len(answers), "photos": photo_ids,
    })  # fmt: skip
    return inspection

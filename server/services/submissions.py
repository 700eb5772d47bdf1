"""Enterprises' submissions to the campaign (四（四）): the requirements (data an admin edits), an enterprise handing
in its monthly progress (prefilled from its own hazard books) or a plan/summary file, every version kept, and the
county's matrix enterprise × submission with what is overdue.

Timeliness is decided in server.domain.submissions (first version, bureau's day). The monthly figures an
enterprise enters are kept beside what its books said at the due date (``prefilled``), so a reader sees both.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.domain import submissions as rules
from server.domain.submissions import Schedule, SubmissionKind, Timeliness
from server.errors import (
    Problem,
    document_too_large,
    field_date_invalid,
    field_required,
    field_too_many_chars,
    field_whole_number,
    figure_invalid,
    rectified_exceeds_found,
    refuse_fields,
    requirement_code_invalid,
    requirement_code_taken,
    requirement_has_submissions,
    requirement_kind_invalid,
    requirement_unknown,
    schedule_invalid,
    submission_invalid,
)
from server.media.documents import document_mime
from server.media.ingest import insert_blob_once
from server.models import Campaign, Enterprise, EnterpriseSubmission, SubmissionRequirement, User
from server.models.base import utcnow
from server.services import DbSession, audit
from server.services.campaigns import campaign_of_enterprise
from server.services.progress_report import (
    ReportUnit,
    UnitFigures,
    _hazard_counts,
    load_hazards,
    local_end_of,
    report_scope,
    statuses_as_of,
)
from server.services.scope import region_subtree_ids, visible_enterprises
from server.services.web_photos import Upload, put_file
from sync.blobs import PIECE, BlobStore

#: A period can be answered from this many days before its due date (not December's progress in May).
OPENS_DAYS_BEFORE = 31

#: The monthly progress form: (key, Chinese label, English label, kind), the enterprise-level figures of the
#: attachment's part 三 (企业隐患整改进展情况), cumulative from the campaign's start.
PROGRESS_FIELDS: list[tuple[str, str, str, str]] = [
    ("hazards_general", "排查发现一般隐患（项）", "general hazards found", "int"),
    ("hazards_major", "排查发现重大隐患（项）", "major hazards found", "int"),
    ("rectified_general", "一般隐患已整改（项）", "general hazards rectified", "int"),
    ("rectified_major", "重大隐患已整改（项）", "major hazards rectified", "int"),
    ("funds_wan", "整改资金（万元）", "funds (10k yuan)", "money"),
]
_INT = re.compile(r"\d{1,9}")
_MONEY = re.compile(r"\d{1,12}(\.\d{1,2})?")


# --- requirements ------------------------------------------------------------------------------------------------


def add_default_requirements(
    session: DbSession, campaign: Campaign, year: int
) -> list[SubmissionRequirement]:
    """Give ``campaign`` the notice's three submissions of ``year`` (those it lacks, by code)."""
    have = {r.code for r in requirements(session, campaign)}
    added = [
        SubmissionRequirement(campaign=campaign, code=code, name=name, kind=kind, due_on=s.due_on,
                              due_day=s.due_day, first_month=s.first_month, last_month=s.last_month)
        for code, name, kind, s in rules.default_schedules(year) if code not in have
    ]  # fmt: skip
    session.add_all(added)
    return added


def requirements(session: DbSession, campaign: Campaign) -> list[SubmissionRequirement]:
    """The campaign's requirements, by first due date."""
    found = session.scalars(
        sa.select(SubmissionRequirement).where(SubmissionRequirement.campaign_id == campaign.id)
    )
    return sorted(found, key=lambda r: (rules.due_dates(r.schedule)[0], r.id))


def _form_date(raw: str, label: str, label_en: str, errors: dict[str, Problem], key: str) -> date | None:
    text = raw.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[key] = field_date_invalid(label=label, label_en=label_en, value=text)
        return None


def save_requirement(
    session: DbSession, actor: User, campaign: Campaign, form: Mapping[str, str], requirement_id: int | None
) -> SubmissionRequirement:
    """Create or change one requirement from an admin's form (validated, audited); raise FormProblems."""
    errors: dict[str, Problem] = {}
    code = form.get("code", "").strip()
    name = form.get("name", "").strip()
    if not re.fullmatch(r"[a-z0-9_]{1,32}", code):
        errors["code"] = requirement_code_invalid()
    if not name:
        errors["name"] = field_required(label="名称", label_en="The name")
    elif len(name) > 100:
        errors["name"] = field_too_many_chars(label="名称", label_en="The name", limit=100)
    try:
        kind = SubmissionKind(form.get("kind", ""))
    except ValueError:
        errors["kind"] = requirement_kind_invalid()
        kind = SubmissionKind.document
    due_on = _form_date(form.get("due_on", ""), "截止日期", "The due date", errors, "due_on")
    first = _form_date(form.get("first_month", ""), "起始月份", "The first month", errors, "first_month")
    last = _form_date(form.get("last_month", ""), "结束月份", "The last month", errors, "last_month")
    day_raw = form.get("due_day", "").strip()
    due_day = int(day_raw) if _INT.fullmatch(day_raw) else None
    if day_raw and due_day is None:
        errors["due_day"] = field_whole_number(
            label="每月截止日", label_en="The monthly due day", value=day_raw
        )
    schedule = Schedule(due_on, due_day, first and first.replace(day=1), last and last.replace(day=1))
    if not errors and (problem := rules.schedule_problem(schedule)):
        errors["schedule"] = schedule_invalid(reason=problem[0], reason_en=problem[1])
    row = session.get(SubmissionRequirement, requirement_id) if requirement_id is not None else None
    if requirement_id is not None and (row is None or row.campaign_id != campaign.id):
        errors["id"] = requirement_unknown()
    clash = session.scalar(sa.select(SubmissionRequirement.id).where(
        SubmissionRequirement.campaign_id == campaign.id, SubmissionRequirement.code == code))  # fmt: skip
    if clash is not None and clash != requirement_id:
        errors["code"] = requirement_code_taken(value=code)
    if (
        row is not None
        and _has_submissions(session, row.id)
        and (kind != row.kind or schedule != row.schedule)
    ):
        errors["schedule"] = requirement_has_submissions()
    refuse_fields(errors)
    before = _snapshot(row) if row is not None else None
    if row is None:
        row = SubmissionRequirement(campaign_id=campaign.id)
        session.add(row)
    row.code, row.name, row.kind = code, name, kind
    row.due_on, row.due_day, row.first_month, row.last_month = (
        schedule.due_on, schedule.due_day, schedule.first_month, schedule.last_month)  # fmt: skip
    session.flush()
    audit.record(session, actor, "submission_requirement.saved", "submission_requirement", row.id,
                 {"campaign_id": campaign.id, "before": before, "after": _snapshot(row)})  # fmt: skip
    return row


def _has_submissions(session: DbSession, requirement_id: int) -> bool:
    query = sa.select(EnterpriseSubmission.id).where(EnterpriseSubmission.requirement_id == requirement_id)
    return session.scalar(query.limit(1)) is not None


def _snapshot(row: SubmissionRequirement) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "kind": row.kind.value,
            **{k: (str(v) if v is not None else None) for k, v in vars(row.schedule).items()}}  # fmt: skip


# --- an enterprise's side ----------------------------------------------------------------------------------------


def is_open(period: date, today: date) -> bool:
    """Whether a period may be answered today (from OPENS_DAYS_BEFORE days before its due date, and ever after)."""
    return today >= period - timedelta(days=OPENS_DAYS_BEFORE)


@dataclass
class PeriodStatus:
    """One period of one requirement for one enterprise: its standing and every version handed in."""

    requirement: SubmissionRequirement
    period: date
    timeliness: Timeliness
    versions: list[EnterpriseSubmission] = field(default_factory=list)

    @property
    def latest(self) -> EnterpriseSubmission | None:
        """The version that stands (the newest)."""
        return self.versions[-1] if self.versions else None


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The bureau's day of a moment."""
    return moment.astimezone(zone).date()


def enterprise_periods(
    session: DbSession, enterprise: Enterprise, campaign: Campaign, today: date, zone: tzinfo
) -> list[PeriodStatus]:
    """Every period of every requirement of ``campaign`` for one enterprise, with its versions."""
    found = session.scalars(
        sa.select(EnterpriseSubmission).where(EnterpriseSubmission.enterprise_id == enterprise.id)
        .order_by(EnterpriseSubmission.version)
    ).all()  # fmt: skip
    out = []
    for requirement in requirements(session, campaign):
        for period in rules.due_dates(requirement.schedule):
            versions = [s for s in found if s.requirement_id == requirement.id and s.period == period]
            first = local_day(versions[0].submitted_at, zone) if versions else None
            out.append(PeriodStatus(requirement, period, rules.timeliness(period, first, today), versions))
    return out


def find_period(
    session: DbSession, enterprise: Enterprise, requirement_id: int, period: date, today: date, zone: tzinfo
) -> PeriodStatus | None:
    """One period of the enterprise's campaign, or None when it is not one of its requirements' due dates."""
    campaign = campaign_of_enterprise(session, enterprise)
    if campaign is None:
        return None
    return next(
        (p for p in enterprise_periods(session, enterprise, campaign, today, zone)
         if p.requirement.id == requirement_id and p.period == period),
        None,
    )  # fmt: skip


def prefilled_progress(
    session: DbSession, enterprise_id: uuid.UUID, period: date, zone: tzinfo
) -> dict[str, str]:
    """What the enterprise's own books say at the end of ``period`` (or now, if earlier), counted exactly as the
    county's monthly report counts (server.services.progress_report): every hazard of the enterprise it may
    see (its ledger's, and those of submitted inspections), cumulative."""
    known = min(utcnow(), local_end_of(period, zone))
    ids = [enterprise_id]
    hazards = load_hazards(session, ids, known)
    found = list(statuses_as_of(session, hazards, ids, [known], known)[known].values())
    figures = UnitFigures(ReportUnit(0, ""))
    _hazard_counts(found, local_day(known, zone), lambda _: figures)
    return {"hazards_general": str(figures.hazards_general), "hazards_major": str(figures.hazards_major),
            "rectified_general": str(figures.rectified_general), "rectified_major": str(figures.rectified_major),
            "funds_wan": str(figures.funds_wan)}  # fmt: skip


def parse_progress(form: Mapping[str, str]) -> dict[str, str]:
    """The monthly figures of a form, exact (full-width digits read as digits, nothing rounded); raise
    FormProblems naming every bad field."""
    errors: dict[str, Problem] = {}
    values: dict[str, str] = {}
    for key, label, label_en, kind in PROGRESS_FIELDS:
        raw = unicodedata.normalize("NFKC", form.get(key, "")).strip()
        pattern = _INT if kind == "int" else _MONEY
        if not pattern.fullmatch(raw):
            whole = kind == "int"
            errors[key] = figure_invalid(
                label=label, label_en=label_en.capitalize(), value=raw,
                expected="非负整数" if whole else "最多两位小数的金额",
                expected_en="a whole number of 0 or more" if whole else "an amount with at most two decimals",
            )  # fmt: skip
            continue
        values[key] = str(int(raw)) if kind == "int" else str(Decimal(raw))
    for part in ("general", "major"):
        done, found = f"rectified_{part}", f"hazards_{part}"
        if done in values and found in values and int(values[done]) > int(values[found]):
            errors[done] = rectified_exceeds_found()
    note = form.get("note", "").strip()
    if len(note) > 2000:
        errors["note"] = field_too_many_chars(label="说明", label_en="The note", limit=2000)
    refuse_fields(errors)
    return values


def _next_version(session: DbSession, status: PeriodStatus) -> int:
    return (status.latest.version if status.latest else 0) + 1


def _check_can_submit(status: PeriodStatus, kind: SubmissionKind, today: date) -> None:
    if status.requirement.kind is not kind:
        raise submission_invalid(
            reason="此项不是这种报送方式", reason_en="wrong kind of submission for this item"
        )
    if not is_open(status.period, today):
        raise submission_invalid(
            reason=f"{status.period} 截止的报送尚未开始", reason_en="this period is not open yet"
        )


def submit_progress(
    session: DbSession, actor: User, enterprise: Enterprise, status: PeriodStatus, form: Mapping[str, str],
    today: date, zone: tzinfo,
) -> EnterpriseSubmission:  # fmt: skip
    """Record a new version of the monthly progress (validated; audited). The caller commits."""
    _check_can_submit(status, SubmissionKind.progress, today)
    values = parse_progress(form)
    row = EnterpriseSubmission(
        requirement_id=status.requirement.id, enterprise_id=enterprise.id, period=status.period,
        version=_next_version(session, status), submitted_at=utcnow(), submitted_by_id=actor.id,
        figures={"values": values, "prefilled": prefilled_progress(session, enterprise.id, status.period, zone)},
        note=form.get("note", "").strip() or None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, actor, "submission.progress", "enterprise_submission", row.id,
                 {"requirement": status.requirement.code, "period": str(status.period), "version": row.version,
                  "values": values})  # fmt: skip
    return row


def submit_document(
    session: DbSession, store: BlobStore, actor: User, enterprise: Enterprise, status: PeriodStatus,
    upload: Upload | None, today: date, *, max_bytes: int, max_pixels: int, note: str = "",
) -> EnterpriseSubmission:  # fmt: skip
    """Check an uploaded plan/summary by its content and size, keep its bytes in the blob store (hash-verified,
    write-once) and record a new version (audited). Nothing is stored when it is refused. The caller commits."""
    _check_can_submit(status, SubmissionKind.document, today)
    if upload is None or not upload.filename:
        raise submission_invalid(reason="请选择文件", reason_en="choose a file")
    with tempfile.TemporaryDirectory(prefix="submission-") as tmp:
        path = Path(tmp) / "upload"
        digest, size = hashlib.sha256(), 0
        with path.open("wb") as out:
            while piece := upload.stream.read(PIECE):
                size += len(piece)
                if size > max_bytes:
                    raise document_too_large(limit=max_bytes)
                digest.update(piece)
                out.write(piece)
        if size == 0:
            raise submission_invalid(reason="文件为空", reason_en="the file is empty")
        mime = document_mime(path, max_pixels=max_pixels)
        sha = digest.hexdigest()
        if not store.has(sha):
            put_file(store, sha, path)
    # The Blob row marks the bytes as accepted, so no later check of the store takes them for an unfinished upload.
    insert_blob_once(_plain(session), sha256=sha, size=size, mime=mime, has_thumbnail=False)
    row = EnterpriseSubmission(
        requirement_id=status.requirement.id, enterprise_id=enterprise.id, period=status.period,
        version=_next_version(session, status), submitted_at=utcnow(), submitted_by_id=actor.id, sha256=sha,
        filename=Path(upload.filename.replace("\\", "/")).name[:200], mime=mime, size=size,
        note=note.strip()[:2000] or None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, actor, "submission.document", "enterprise_submission", row.id,
                 {"requirement": status.requirement.code, "period": str(status.period), "version": row.version,
                  "sha256": sha, "size": size, "mime": mime})  # fmt: skip
    return row


def _plain(session: DbSession) -> Session:
    """The Session behind Flask-SQLAlchemy's scoped one (insert_blob_once asks for a plain Session)."""
    return session if isinstance(session, Session) else session()


# --- the county's side -------------------------------------------------------------------------------------------


@dataclass
class MatrixCell:
    """An enterprise's standing on one column (a requirement's period)."""

    timeliness: Timeliness
    versions: int
    latest_id: uuid.UUID | None


@dataclass
class Matrix:
    """Enterprise × submission for a campaign, with the counts per standing."""

    campaign: Campaign
    columns: list[tuple[SubmissionRequirement, date]]
    rows: list[tuple[Enterprise, list[MatrixCell]]]
    counts: dict[Timeliness, int]


def _campaign_enterprises(session: DbSession, user: User, campaign: Campaign) -> list[Enterprise]:
    regions = region_subtree_ids(session, campaign.region_id)
    query = visible_enterprises(session, user).where(Enterprise.region_id.in_(regions))
    return list(session.scalars(query.order_by(Enterprise.name)))


def matrix(session: DbSession, user: User, campaign: Campaign, today: date, zone: tzinfo) -> Matrix:
    """The matrix for the enterprises of ``campaign`` that ``user`` may see."""
    enterprises = _campaign_enterprises(session, user, campaign)
    reqs = requirements(session, campaign)
    columns = [(r, period) for r in reqs for period in rules.due_dates(r.schedule)]
    firsts: dict[tuple[int, uuid.UUID, date], tuple[datetime, int, uuid.UUID]] = {}
    if reqs and enterprises:
        rows = session.execute(
            sa.select(EnterpriseSubmission.requirement_id, EnterpriseSubmission.enterprise_id,
                      EnterpriseSubmission.period, EnterpriseSubmission.submitted_at, EnterpriseSubmission.version,
                      EnterpriseSubmission.id)
            .where(EnterpriseSubmission.requirement_id.in_([r.id for r in reqs]),
                   EnterpriseSubmission.enterprise_id.in_([e.id for e in enterprises]))
            .order_by(EnterpriseSubmission.version)
        )  # fmt: skip
        for req_id, ent_id, period, at, version, row_id in rows:
            first = firsts.get((req_id, ent_id, period))
            firsts[(req_id, ent_id, period)] = (first[0] if first else at, version, row_id)
    counts = dict.fromkeys(Timeliness, 0)
    out = []
    for enterprise in enterprises:
        cells = []
        for requirement, period in columns:
            seen = firsts.get((requirement.id, enterprise.id, period))
            standing = rules.timeliness(period, local_day(seen[0], zone) if seen else None, today)
            counts[standing] += 1
            cells.append(MatrixCell(standing, seen[1] if seen else 0, seen[2] if seen else None))
        out.append((enterprise, cells))
    return Matrix(campaign, columns, out, counts)


def overdue_count(
    session: DbSession, user: User, campaign: Campaign | None, today: date, zone: tzinfo
) -> int:
    """How many submissions are overdue and still missing in ``user``'s scope (the dashboard's figure).

    Counted in the database: the same figure as ``matrix(...).counts[Timeliness.missing]``, which loads every
    enterprise of the scope and walks every cell (1.6 s of a province's dashboard). A cell is missing when its
    period is past due and the enterprise handed in no version at all (``zone`` decides only on time or late)."""
    if campaign is None:
        return 0
    due = [
        (requirement.id, period)
        for requirement in requirements(session, campaign)
        for period in rules.due_dates(requirement.schedule)
        if rules.timeliness(period, None, today) is Timeliness.missing
    ]
    if not due:
        return 0
    regions = region_subtree_ids(session, campaign.region_id)
    ids = (
        visible_enterprises(session, user)
        .where(Enterprise.region_id.in_(regions))
        .with_only_columns(Enterprise.id)
    )
    enterprises = session.scalar(sa.select(sa.func.count()).select_from(ids.subquery())) or 0
    if not enterprises:
        return 0
    counted = (
        sa.select(EnterpriseSubmission.requirement_id, EnterpriseSubmission.period,
                  sa.func.count(sa.distinct(EnterpriseSubmission.enterprise_id)))
        .where(EnterpriseSubmission.requirement_id.in_({requirement_id for requirement_id, _ in due}),
               EnterpriseSubmission.enterprise_id.in_(ids))
        .group_by(EnterpriseSubmission.requirement_id, EnterpriseSubmission.period)
    )  # fmt: skip
    handed_in = {
        (requirement_id, period): count for requirement_id, period, count in session.execute(counted)
    }
    return sum(enterprises - handed_in.get(cell, 0) for cell in due)


def visible_submission(
    session: DbSession, user: User, submission_id: uuid.UUID
) -> EnterpriseSubmission | None:
    """A submission of an enterprise ``user`` may see, or None."""
    query = sa.select(EnterpriseSubmission).where(
        EnterpriseSubmission.id == submission_id,
        EnterpriseSubmission.enterprise_id.in_(
            visible_enterprises(session, user).with_only_columns(Enterprise.id)
        ),
    )
    return session.scalar(query)


# --- the enterprises' figures beside the county's own ---------------------------------------------------------


@dataclass
class FilledFigures:
    """A county's hazard figures for one monthly period, each enterprise counted from ONE source: the system's own
    books (its ledger and the regulators' inspections) when they hold any hazard of it by the cut-off, else the
    monthly progress it submitted (its latest version handed in by the cut-off), else nothing."""

    unit: ReportUnit
    values: dict[str, Decimal] = field(
        default_factory=lambda: {key: Decimal(0) for key, *_ in PROGRESS_FIELDS}
    )
    from_books: int = 0
    from_submissions: int = 0
    without_data: int = 0
    #: Enterprises whose submitted figures were used, by name (so a reader can open each one).
    submitted: list[tuple[str, uuid.UUID]] = field(default_factory=list)


def filled_figures(
    session: DbSession, user: User, campaign: Campaign, period: date, zone: tzinfo
) -> tuple[list[FilledFigures], datetime]:
    """Per county of ``user``'s scope: the hazard figures of ``period`` (a due date of the monthly requirement),
    with the enterprises' submitted figures standing in for enterprises the system has no figures of."""
    known = local_end_of(period, zone)
    scope = report_scope(session, user)
    enterprises = _campaign_enterprises(session, user, campaign)
    ids = [e.id for e in enterprises]
    hazards = load_hazards(session, ids, known)
    found = statuses_as_of(session, hazards, ids, [known], known)[known].values() if ids else []
    # The report reads ids as text (progress_report.key): back to UUIDs to match the enterprises.
    books: dict[uuid.UUID, UnitFigures] = {}
    for hazard in found:
        books.setdefault(uuid.UUID(str(hazard.hazard.enterprise_id)), UnitFigures(ReportUnit(0, "")))
    _hazard_counts(list(found), period, lambda eid: books.get(uuid.UUID(str(eid))))
    monthly = [r.id for r in requirements(session, campaign) if r.kind is SubmissionKind.progress]
    latest: dict[uuid.UUID, EnterpriseSubmission] = {}
    if monthly and ids:
        for row in session.scalars(
            sa.select(EnterpriseSubmission).where(
                EnterpriseSubmission.requirement_id.in_(monthly), EnterpriseSubmission.period == period,
                EnterpriseSubmission.enterprise_id.in_(ids), EnterpriseSubmission.submitted_at < known,
            ).order_by(EnterpriseSubmission.version)
        ):  # fmt: skip
            latest[row.enterprise_id] = row
    units = {u.id: FilledFigures(u) for u in scope.units}
    for enterprise in enterprises:
        unit = units.get(scope.unit_of.get(enterprise.region_id, -1))
        if unit is None:
            continue
        own = books.get(enterprise.id)
        if own is not None:
            unit.from_books += 1
            for key, *_ in PROGRESS_FIELDS:
                unit.values[key] += Decimal(getattr(own, key))
        elif (answer := latest.get(enterprise.id)) is not None and answer.figures:
            unit.from_submissions += 1
            unit.submitted.append((enterprise.name, answer.id))
            for key, value in answer.figures["values"].items():
                unit.values[key] += Decimal(value)
        else:
            unit.without_data += 1
    return [u for u in units.values() if not u.unit.extra or u.from_books or u.from_submissions], known

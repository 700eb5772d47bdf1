"""The ledger import use case: load the workbook, check and plan every row, then write the good ones."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from server.domain.hazards import HazardEventKind
from server.errors import (
    # the catalogue's entries this module raises
    entry_repeated,
    header_unmatched,
)
from server.models import Enterprise, HazardSource, User
from server.services import DbSession, audit
from server.services.campaigns import campaign_of_enterprise
from server.services.hazards import append_event, record_hazard
from server.services.ledger_excel.columns import (
    _HAZARD_ATTRS,
    COLUMNS,
    FIVE_IN_PLACE_COLUMN,
    FLUSH_EVERY,
    NOT_IMPORTED,
    Progress,
    _field_of,
    _no_progress,
    header_spec,
    stamp,
    zone,
)
from server.services.ledger_excel.planning import _ColumnProblem, _Plan, _Planner
from server.services.ledger_excel.report import LedgerImportReport, Note, _Notes
from server.services.ledger_excel.rows import _Entry, _parse_row, _skip_reason, _year_hints
from server.services.oversight import campaign_window
from server.services.spreadsheet import (
    HEADER_SEARCH_ROWS,
    Header,
    RowError,
    file_invalid,
    find_header,
    first_header,
    header_text,
    is_blank,
    key,
    read_tables,
    shown,
)

# --- The import -------------------------------------------------------------------------------------------------


def _load(source: Path | bytes, name: str, learned: Mapping[str, str]) -> tuple[list[list[Any]], Header]:
    spec = header_spec(learned)
    sheets = read_tables(source, name, lambda rows: find_header(rows, spec).found, fill_merged=True)
    rows, header = first_header(sheets, spec)
    if header.found:
        return rows, header
    missing = "、".join(header.missing())
    raise header_unmatched(
        reason=f"前 {HEADER_SEARCH_ROWS} 行中找不到台账表头，缺少必需的列：{missing}（表头须含“检查时间”和“隐患描述”）",
        reason_en=f"no ledger header in the first {HEADER_SEARCH_ROWS} rows; missing required column(s): {missing} "
        f"(the header must name 检查时间 (check date) and 隐患描述 (description))",
    )


#: The fields a user may give a column in the mapping step, with their labels (template header first).
def mappable_fields() -> list[tuple[str, str]]:
    """(field key, label) for each ledger field, then the one-column 五到位, then "not imported"."""
    fields = [(c.key, c.header) for c in COLUMNS]
    return [
        *fields,
        (FIVE_IN_PLACE_COLUMN.key, FIVE_IN_PLACE_COLUMN.header),
        (NOT_IMPORTED, "不导入 / not imported"),
    ]


@dataclass(frozen=True)
class ColumnPreview:
    """What the mapping step shows: the likeliest header row, each column's folded key and present guess,
    and the first rows below it."""

    header_row: int
    headers: list[str]
    keys: list[str]
    guesses: list[str | None]
    rows: list[list[str]]


#: How many rows under the header the mapping step shows.
PREVIEW_ROWS = 5


def preview_columns(
    source: Path | bytes, name: str, learned: Mapping[str, str] | None = None
) -> ColumnPreview:
    """The columns of a workbook whose header was not recognised: the first sheet's row (of the first 10) with
    the most text cells, taken as its header, with what each column is taken to be so far (400.5 if unusable)."""
    sheets = read_tables(source, name, lambda rows: True, fill_merged=True)
    rows = next((sheet for sheet in sheets if any(not is_blank(c) for row in sheet for c in row)), [])
    if not rows:
        raise file_invalid(f"{name} 中没有数据", f"{name} holds no data")

    def texts(row: Sequence[Any]) -> int:
        return sum(1 for c in row if isinstance(c, str) and c.strip() and not re.fullmatch(r"[\d\s./:-]+", c))

    candidates = rows[:HEADER_SEARCH_ROWS]
    index = max(range(len(candidates)), key=lambda i: (texts(candidates[i]), -i))
    width = max((len(row) for row in rows[index : index + 1 + PREVIEW_ROWS * 2]), default=0)
    header_cells = list(rows[index]) + [None] * (width - len(rows[index]))
    headers = [header_text(c) if not is_blank(c) else "" for c in header_cells]
    body = [row for row in rows[index + 1 :] if any(not is_blank(c) for c in row)][:PREVIEW_ROWS]
    return ColumnPreview(
        header_row=index + 1,
        headers=headers,
        keys=[key(h) for h in headers],
        guesses=[_field_of(h, learned) if h else None for h in headers],
        rows=[[shown(row[col]) if col < len(row) else "" for col in range(width)] for row in body],
    )


def import_ledger(
    session: DbSession,
    enterprise: Enterprise,
    file_bytes_or_path: bytes | Path | str,
    *,
    actor: User | None,
    filename: str | None = None,
    dry_run: bool = False,
    strict: bool = False,
    today: date | None = None,
    column_map: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> LedgerImportReport:
    """Import an enterprise's self-inspection ledger (.xlsx or .csv); bad rows are reported, never half-written.

    ``column_map`` (folded header → field key, or NOT_IMPORTED) is what the user chose in the mapping step;
    it is remembered for the enterprise when the import is written, and used by its later imports.
    ``progress(done, total, stage)`` hears how far it got (stages "reading", "checking", "planning", "writing").
    """
    step = progress or _no_progress
    step(0, None, "reading")
    source: Path | bytes = (
        Path(file_bytes_or_path) if isinstance(file_bytes_or_path, str) else file_bytes_or_path
    )
    name = filename or (source.name if isinstance(source, Path) else "ledger")
    report = LedgerImportReport(source=name, enterprise=enterprise.name, dry_run=dry_run, strict=strict)
    tz = zone()
    today = today or datetime.now(tz).date()
    learned = dict(enterprise.ledger_column_map or {})
    learned.update(column_map or {})
    rows, header = _load(source, name, learned)
    if "level" not in header.columns:
        report.notes.append(
            Note(
                "文件没有“隐患等级”列，条目均按一般事故隐患导入",
                "No hazard level (隐患等级) column: the entries are imported as general hazards",
            )
        )
    report.notes.extend(header.notes())

    entries: list[_Entry] = []
    blank_run = 0
    skipped_examples: list[int] = []
    campaign = campaign_of_enterprise(session, enterprise)
    found = campaign_window(campaign, tz)
    window = (found.starts_on, found.ends_on) if found is not None else None
    hints = _year_hints(rows, header, window[0].year if window else None)
    row_notes = _Notes()
    data_rows = len(rows) - header.index - 1
    for index in range(header.index + 1, len(rows)):
        step(index - header.index - 1, data_rows, "checking")
        cells = rows[index]
        reason = _skip_reason(cells, header)
        if reason == "blank":
            blank_run += 1  # counted only when a later row shows it was inside the data
            continue
        report.skipped_blank += blank_run
        blank_run = 0
        if reason == "total":
            report.skipped_total += 1
        elif reason is not None:
            report.skipped_other += 1
            if reason == "example":
                skipped_examples.append(index + 1)
        else:
            entry, errors = _parse_row(cells, index + 1, header, today, hints(index))
            report.errors.extend(errors)
            if entry is not None:
                entries.append(entry)
                for zh, en in entry.warnings:
                    row_notes.add(zh, en, entry.line)
    report.notes.extend(row_notes.lines())
    if skipped_examples:
        report.notes.append(
            Note(
                f"示例行已跳过：第 {'、'.join(map(str, skipped_examples))} 行",
                f"Example rows skipped: {', '.join(map(str, skipped_examples))}",
            )
        )

    step(data_rows, data_rows, "checking")
    planner = _Planner(session, enterprise, tz)
    plans = _plans_without_repeats(planner, entries, report, step)
    report.notes.extend(planner.notes.lines())
    if window is not None:
        report.campaign_window = window
    for plan in plans:
        if window is not None and not window[0] <= plan.entry.found_on <= window[1]:
            report.outside_campaign.append((plan.entry.line, plan.entry.found_on))
        if plan.existing is None:
            report.created += 1
        elif plan.changes or plan.events:
            report.updated += 1
        else:
            report.unchanged += 1
        report.events_appended += len(plan.events)
    if report.written:
        step(0, len(plans), "writing")
        _write(session, enterprise, plans, report, actor, tz, step)
        if column_map and learned != (enterprise.ledger_column_map or {}):
            enterprise.ledger_column_map = learned
    return report


def _plans_without_repeats(
    planner: _Planner, entries: list[_Entry], report: LedgerImportReport, step: Progress
) -> list[_Plan]:
    """Plan each entry; rows describing the same stored or new entry are all refused (which is right is unknown)."""
    planned: list[_Plan] = []
    for position, entry in enumerate(entries):
        step(position, len(entries), "planning")
        try:
            planned.append(planner.plan(entry))
        except _ColumnProblem as failure:
            report.errors.append(RowError.of(entry.line, entry.column(failure.column), failure.problem,
                                             entry.value(failure.column)))  # fmt: skip
    lines: dict[uuid.UUID, list[_Plan]] = defaultdict(list)
    for plan in planned:
        lines[plan.hazard_id].append(plan)
    kept = []
    for plan in planned:
        same = lines[plan.hazard_id]
        if len(same) == 1:
            kept.append(plan)
            continue
        rows = ", ".join(str(p.entry.line) for p in same)
        numbered = plan.entry.ledger_no is not None
        what = f"编号“{plan.entry.ledger_no}”" if numbered else "检查时间、部位和描述相同"
        what_en = f"number '{plan.entry.ledger_no}'" if numbered else "same date, place and description"
        column = "ledger_no" if numbered else "description"
        problem = entry_repeated(rows=rows, what=what, what_en=what_en)
        report.errors.append(
            RowError.of(plan.entry.line, plan.entry.column(column), problem, plan.entry.value(column))
        )
    return kept


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _write(session: DbSession, enterprise: Enterprise, plans: list[_Plan], report: LedgerImportReport,
           actor: User | None, tz: tzinfo, step: Progress) -> None:  # fmt: skip
    """Write the plans (checked already) through record_hazard/append_event, then one audit event."""
    updates: list[dict[str, Any]] = []
    for position, plan in enumerate(plans, start=1):
        step(position - 1, len(plans), "writing")
        if position % FLUSH_EVERY == 0:
            # Flushing in slices keeps each flush's unit of work (and the change-numbering hook, which
            # walks every new row of a flush) small; one flush of 15,000 rows is many times slower.
            session.flush()
        entry = plan.entry
        hazard = plan.existing
        if hazard is None:
            # Every new row names the same columns (None where blank), so that the flush inserts them in
            # a few multi-row statements: rows naming different columns are inserted in separate batches.
            fields = {attr: entry.fields.get(attr) for attr in _HAZARD_ATTRS}
            fields["stop_production"] = bool(fields["stop_production"])
            hazard = record_hazard(
                session, enterprise=enterprise, description=entry.description, level=plan.level,
                found_at=stamp(entry.found_on, HazardEventKind.found, tz), deadline=entry.deadline,
                source=HazardSource.self_ledger, hazard_id=plan.hazard_id,
                found_event_id=uuid.uuid5(plan.hazard_id, "found"), actor=actor, ledger_no=entry.ledger_no,
                terms=dict(entry.terms), inspection_id=None, level_reason=None, **fields,
            )  # fmt: skip
            found = hazard.events[0]
            found.comment, found.data = None, {}
        elif plan.changes:
            for attr, (_, new) in plan.changes.items():
                setattr(hazard, attr, new)
            hazard.row_version += 1
        for event in plan.events:
            append_event(session, hazard, event.kind, event.at, comment=event.comment, actor=actor, data=event.data,
                         event_id=uuid.uuid5(hazard.id, f"ledger/{event.kind.value}"))  # fmt: skip
        if plan.existing is not None and (plan.changes or plan.events):
            updates.append({"hazard_id": str(hazard.id), "row": entry.line, "ledger_no": hazard.ledger_no,
                            "changes": {k: {"from": _jsonable(old), "to": _jsonable(new)}
                                        for k, (old, new) in plan.changes.items()},
                            "events": [e.kind.value for e in plan.events]})  # fmt: skip
    session.flush()
    audit.record(session, actor, "ledger.import", "enterprise", enterprise.id,
                 {"file": report.source, **report.counts(), "updates": updates})  # fmt: skip

"""What a ledger import did: counts, notes gathered by kind, and the rows with problems."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from server.services.spreadsheet import Note, RowError

# --- The report ---------------------------------------------------------------------------------------------


@dataclass
class LedgerImportReport:
    """What a ledger import did (or, in a dry run or a refused strict run, would have done)."""

    source: str = ""
    enterprise: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_blank: int = 0
    skipped_total: int = 0
    skipped_other: int = 0
    events_appended: int = 0
    errors: list[RowError] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    dry_run: bool = False
    strict: bool = False
    #: Rows kept in the ledger whose check date falls outside the campaign (row, date): not campaign figures.
    outside_campaign: list[tuple[int, date]] = field(default_factory=list)
    campaign_window: tuple[date, date] | None = None

    @property
    def skipped(self) -> int:
        """Rows passed over on purpose: blank, total, repeated header, example or no-hazard rows."""
        return self.skipped_blank + self.skipped_total + self.skipped_other

    @property
    def written(self) -> bool:
        """Whether the good rows were written to the session."""
        return not self.dry_run and not (self.strict and self.errors)

    @property
    def error_rows(self) -> list[int]:
        """The numbers of the rows that have at least one problem."""
        return sorted({e.row for e in self.errors})

    def counts(self) -> dict[str, int]:
        """The counts, as recorded in the audit event."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "skipped": self.skipped, "skipped_blank": self.skipped_blank, "skipped_total": self.skipped_total,
                "error_rows": len(self.error_rows), "events_appended": self.events_appended,
                "outside_campaign": len(self.outside_campaign)}  # fmt: skip

    def outside_campaign_note(self) -> Note | None:
        """The rows outside the campaign's dates, one line in each language (None when there are none)."""
        if not self.outside_campaign or self.campaign_window is None:
            return None
        start, end = (d.isoformat() for d in self.campaign_window)
        n = len(self.outside_campaign)
        first = self.outside_campaign[:50]
        rows_zh = "、".join(f"{line}（{day.isoformat()}）" for line, day in first)
        rows_en = ", ".join(f"{line} ({day.isoformat()})" for line, day in first)
        more = n > 50
        return Note(
            f"{n} 行的检查时间不在专项行动期间（{start} 至 {end}），已记入台账，"
            f"但不计入专项行动统计：第 {rows_zh}{'等' if more else ''} 行",
            f"{n} rows dated outside the campaign ({start} to {end}) are kept in the ledger but not counted in "
            f"campaign figures: rows {rows_en}{', …' if more else ''}",
        )

    def summary(self) -> Note:
        """One line of counts in each language."""
        bad = len(self.error_rows)
        return Note(
            f"新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}，跳过 {self.skipped}"
            f"（空行 {self.skipped_blank}，合计行 {self.skipped_total}），有误 {bad} 行，新增事件 {self.events_appended}",
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, skipped {self.skipped} "
            f"(blank {self.skipped_blank}, total {self.skipped_total}), rows with errors {bad}, "
            f"events appended {self.events_appended}",
        )

    def outcome(self) -> Note:
        """What was written, one line in each language."""
        if self.dry_run:
            return Note(
                "试运行：未写入任何数据（以上为将会发生的变化）",
                "Dry run: nothing was written (the above is what would change)",
            )
        if self.strict and self.errors:
            return Note(
                "严格模式：文件有误，未写入任何数据", "Strict mode: the file has errors, nothing was written"
            )
        if self.errors:
            return Note(
                "有误的行未导入，其余各行已导入", "Rows with errors were skipped, the others imported"
            )
        return Note("已全部导入", "All rows imported")

    def as_text(self) -> str:
        """A multi-line summary for the operator's console: counts, what was written and the notes (each in
        Chinese, its English on the line below), then one line per problem."""
        lines = [
            f"隐患自查台账导入：{self.enterprise} {self.source}".rstrip(),
            "Self-inspection ledger import",
        ]
        texts = [self.summary(), self.outcome()]
        outside = self.outside_campaign_note()
        if outside is not None:
            texts.append(Note(f"专项行动期外：{outside.zh}", f"Outside the campaign: {outside.en}"))
        texts.extend(Note(f"说明：{note.zh}", f"Note: {note.en}") for note in self.notes)
        for note in texts:
            lines.extend((note.zh, f"  {note.en}"))
        lines.extend(error.as_text() for error in sorted(self.errors, key=lambda e: e.row))
        return "\n".join(lines)


class _Notes:
    """Notes gathered by kind, each listing its rows, so a 5,000-row file gives a few lines, not thousands."""

    LIMIT = 20

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[int]] = defaultdict(list)

    def add(self, zh: str, en: str, line: int) -> None:
        self.rows[(zh, en)].append(line)

    def lines(self) -> list[Note]:
        """One note per kind, naming its rows (the first few of them)."""
        out = []
        for (zh, en), lines in self.rows.items():
            first = [str(n) for n in lines[: self.LIMIT]]
            more = len(lines) > self.LIMIT
            listed_zh = "、".join(first) + ("等" if more else "")
            listed_en = ", ".join(first) + (", …" if more else "")
            out.append(Note(f"第 {listed_zh} 行（共 {len(lines)} 行）：{zh}", f"Rows {listed_en}: {en}"))
        return out

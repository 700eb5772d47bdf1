"""What a ledger import did: counts, notes gathered by kind, and the rows with problems."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from server.services.spreadsheet import (
    RowError,
)

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
    notes: list[str] = field(default_factory=list)
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

    def outside_campaign_text(self) -> str:
        """The rows outside the campaign's dates, one line, Chinese first ('' when there are none)."""
        if not self.outside_campaign or self.campaign_window is None:
            return ""
        start, end = (d.isoformat() for d in self.campaign_window)
        rows = "、".join(f"{line}（{day.isoformat()}）" for line, day in self.outside_campaign[:50])
        more = "等" if len(self.outside_campaign) > 50 else ""
        return (
            f"{len(self.outside_campaign)} 行的检查时间不在专项行动期间（{start} 至 {end}），已记入台账，"
            f"但不计入专项行动统计：第 {rows}{more} 行 / {len(self.outside_campaign)} rows dated outside the "
            f"campaign ({start} to {end}) are kept in the ledger but not counted in campaign figures"
        )

    def summary(self) -> str:
        """One line of counts, Chinese first."""
        bad = len(self.error_rows)
        return (
            f"新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}，跳过 {self.skipped}"
            f"（空行 {self.skipped_blank}，合计行 {self.skipped_total}），有误 {bad} 行，新增事件 {self.events_appended} / "
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, skipped {self.skipped} "
            f"(blank {self.skipped_blank}, total {self.skipped_total}), rows with errors {bad}, "
            f"events appended {self.events_appended}"
        )

    def outcome(self) -> str:
        """What was written, in one line."""
        if self.dry_run:
            return "试运行：未写入任何数据（以上为将会发生的变化） / dry run: nothing was written"
        if self.strict and self.errors:
            return (
                "严格模式：文件有误，未写入任何数据 / strict mode: the file has errors, nothing was written"
            )
        if self.errors:
            return "有误的行未导入，其余各行已导入 / rows with errors were skipped, the others imported"
        return "已全部导入 / all rows imported"

    def as_text(self) -> str:
        """A multi-line summary: counts, what was written, notes, then one line per problem."""
        title = "隐患自查台账导入 / self-inspection ledger import"
        lines = [f"{title}: {self.enterprise} {self.source}".rstrip(), self.summary(), self.outcome()]
        if self.outside_campaign_text():
            lines.append(f"专项行动期外 / outside the campaign: {self.outside_campaign_text()}")
        lines.extend(f"说明 / note: {note}" for note in self.notes)
        lines.extend(error.as_text() for error in sorted(self.errors, key=lambda e: e.row))
        return "\n".join(lines)


class _Notes:
    """Notes gathered by kind, each listing its rows, so a 5,000-row file gives a few lines, not thousands."""

    LIMIT = 20

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[int]] = defaultdict(list)

    def add(self, zh: str, en: str, line: int) -> None:
        self.rows[(zh, en)].append(line)

    def lines(self) -> list[str]:
        out = []
        for (zh, en), lines in self.rows.items():
            first = [str(n) for n in lines[: self.LIMIT]]
            more = len(lines) > self.LIMIT
            listed_zh = "、".join(first) + ("等" if more else "")
            listed_en = ", ".join(first) + (", …" if more else "")
            out.append(f"第 {listed_zh} 行（共 {len(lines)} 行）：{zh} / rows {listed_en}: {en}")
        return out

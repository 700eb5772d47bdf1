"""Importing an enterprise's self-inspection ledger (隐患自查台账) at scale, and the reconciliation hook.

    .venv/bin/python bench/ledger.py [--part import|reconcile|both] [--db sqlite|postgres|both] [--rows 5000]

The import part writes a realistic workbook (a merged title row, a header on row 3, mixed date forms, merged
check dates, blank and 合计 rows, a few bad rows) into a temporary folder, imports it into a fresh
demo-seeded database through server.services.ledger_excel.import_ledger (commit included: events, change
numbers and the audit event), then imports it again (idempotent: nothing may change). It prints seconds and
rows/s against the target of at most 10 s for 5,000 rows.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import fresh_database, postgres_available, seeded_app
from server.extensions import db
from server.models import Enterprise, Hazard, HazardEvent, HazardSource, User
from server.services.ledger_excel import COLUMNS, import_ledger

TARGET_SECONDS = 10.0
ENTERPRISE = "兴县晋兴特钢有限公司"
PLACES = [
    "炼钢车间",
    "轧钢车间",
    "1号高炉",
    "转炉煤气柜",
    "原料场",
    "制氧站",
    "除尘器区域",
    "配电室",
    "行车轨道",
]
PROBLEMS = ["防护栏杆缺失", "一氧化碳报警器未定期校验", "安全警示标志缺失", "消防通道堆放杂物", "配电柜前未铺设绝缘胶垫",
            "行车限位器失效", "除尘管道积灰未清理", "煤气管道吹扫设施缺失", "有限空间未设置警示标志"]  # fmt: skip
PEOPLE = ["张建国", "王强", "李明", "赵刚", "刘晓燕", "陈伟"]


def _date_forms(day: date, rng: random.Random) -> Any:
    """A date the way real ledgers hold it: a date cell, an Excel serial or text in one of four forms."""
    form = rng.randrange(6)
    if form == 0:
        return datetime(day.year, day.month, day.day)
    if form == 1:
        return (day - date(1899, 12, 30)).days
    return [f"{day.year}.{day.month}.{day.day}", f"{day.year}年{day.month}月{day.day}日", day.isoformat(),
            f"{day.year}/{day.month}/{day.day}"][form - 2]  # fmt: skip


def write_workbook(path: Path, rows: int, seed: int = 2026) -> int:
    """A ``rows``-entry ledger at ``path``; returns how many of its rows are deliberately bad."""
    import openpyxl

    rng = random.Random(seed)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    width = len(COLUMNS)
    sheet.append([f"{ENTERPRISE}隐患排查治理台账（企业自查）"])
    sheet.append(["填报部门：安全环保部", None, None, None, None, None, None, None, "单位：元"])
    sheet.append([c.header for c in COLUMNS])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    index = {c.key: i for i, c in enumerate(COLUMNS)}
    bad = 0
    start = date(2022, 1, 3)
    line = 3
    for n in range(1, rows + 1):
        found = start + timedelta(days=(n + 8) // 8)
        values: list[Any] = [None] * width
        values[index["ledger_no"]] = f"2022-{n:05d}"
        values[index["found_at"]] = _date_forms(found, rng)
        values[index["checked_by"]] = rng.choice(PEOPLE)
        values[index["place"]] = rng.choice(PLACES)
        values[index["description"]] = f"{rng.choice(PLACES)}{rng.choice(PROBLEMS)}（第 {n} 项）"
        major = rng.random() < 0.05
        values[index["level"]] = "重大事故隐患" if major else rng.choice(["一般事故隐患", "一般"])
        values[index["measures"]] = "立即整改并举一反三"
        values[index["responsible_person"]] = rng.choice(PEOPLE)
        values[index["deadline"]] = _date_forms(found + timedelta(days=rng.randrange(3, 60)), rng)
        values[index["funds_yuan"]] = rng.choice([0, 200, "1,500", 12000.5])
        if rng.random() < 0.8:
            done = found + timedelta(days=rng.randrange(0, 20))
            values[index["completed_on"]] = _date_forms(done, rng)
            values[index["completed_by"]] = rng.choice(PEOPLE)
            if rng.random() < 0.9:
                values[index["acceptance"]] = "合格"
                values[index["accepted_by"]] = rng.choice(PEOPLE)
                values[index["accepted_on"]] = _date_forms(done + timedelta(days=rng.randrange(0, 5)), rng)
        if major:
            values[index["treatment_plan"]] = "见治理方案"
            for key in (
                "five:measures",
                "five:responsibility",
                "five:funds",
                "five:time_limit",
                "five:contingency_plan",
            ):
                values[index[key]] = "是"
            values[index["stop_production"]] = "否"
        if n % 997 == 0:  # a few bad rows: an unknown level, a date that cannot be, a blank description
            values[index["level"]] = "较大"
            bad += 1
        elif n % 1499 == 0:
            values[index["found_at"]] = "2022-13-40"
            bad += 1
        elif n % 1999 == 0:
            values[index["description"]] = None
            bad += 1
        sheet.append(values)
        line += 1
        if n % 40 == 3:  # a check's three rows (same day, no blank row between) share one merged check date
            column = index["found_at"] + 1
            sheet.merge_cells(start_row=line - 2, start_column=column, end_row=line, end_column=column)
        if n % 500 == 0:
            sheet.append([])
            line += 1
    sheet.append(["合计"])
    book.save(path)
    return bad


def _time_import(app: Any, path: Path) -> tuple[float, Any]:
    with app.app_context():
        enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.name == ENTERPRISE))
        actor = db.session.scalar(sa.select(User).where(User.username == "qy_jinxing"))
        started = time.perf_counter()
        report = import_ledger(db.session, enterprise, path, actor=actor)
        db.session.commit()
        seconds = time.perf_counter() - started
        db.session.remove()
    return seconds, report


def _stored(app: Any) -> tuple[int, int]:
    with app.app_context():
        hazards = db.session.scalar(
            sa.select(sa.func.count()).select_from(Hazard).where(Hazard.source == HazardSource.self_ledger)
        )
        events = db.session.scalar(sa.select(sa.func.count()).select_from(HazardEvent))
        db.session.remove()
    return int(hazards or 0), int(events or 0)


def import_section(kind: str, rows: int) -> None:
    """Import a ``rows``-entry ledger into a fresh seeded database of ``kind``, then again."""
    with fresh_database(kind) as url, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.xlsx"
        started = time.perf_counter()
        bad = write_workbook(path, rows)
        written = time.perf_counter() - started
        size = path.stat().st_size
        app = seeded_app(url, Path(folder))
        first, report = _time_import(app, path)
        after_first = _stored(app)
        second, again = _time_import(app, path)
        after_second = _stored(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    verdict = "ok" if first <= TARGET_SECONDS * rows / 5000 else "SLOW"
    print(f"{kind:<10} workbook of {rows} rows ({size / 1e6:.1f} MB) written in {written:.1f} s")
    print(f"{kind:<10} first import   {first:6.2f} s  {rows / first:7.0f} rows/s  created {report.created}, "
          f"events {report.events_appended}, rows with errors {len(report.error_rows)} (planted {bad})  "
          f"target <= {TARGET_SECONDS * rows / 5000:.0f} s: {verdict}")  # fmt: skip
    idempotent = (again.created, again.updated, again.events_appended) == (
        0,
        0,
        0,
    ) and after_first == after_second
    print(f"{kind:<10} re-import      {second:6.2f} s  {rows / second:7.0f} rows/s  unchanged {again.unchanged}, "
          f"{'idempotent' if idempotent else 'NOT IDEMPOTENT'}")  # fmt: skip


# --- Reconciliation (written by another engineer in bench/_reconcile.py) ---------------------------------------


def reconciliation_section(args: argparse.Namespace) -> None:
    """HOOK: run bench._reconcile.run(args) when that module exists; say so when it does not."""
    if importlib.util.find_spec("bench._reconcile") is None:
        print("reconciliation: not available")
        return
    module = importlib.import_module("bench._reconcile")
    module.run(args)


def main() -> int:
    """Run the chosen parts on the chosen databases."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=["import", "reconcile", "both"], default="both")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    kinds = (
        ["sqlite", "postgresql"]
        if args.db == "both"
        else ["postgresql" if args.db == "postgres" else "sqlite"]
    )
    if args.part in ("import", "both"):
        for kind in kinds:
            if kind == "postgresql" and not postgres_available():
                print("postgresql: not reachable (set BENCH_DATABASE_URL)")
                continue
            import_section(kind, args.rows)
    if args.part in ("reconcile", "both"):
        reconciliation_section(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

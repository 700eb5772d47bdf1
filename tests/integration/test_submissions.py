"""Enterprises' submissions (issue 18, notice 四（四）): monthly progress filled in the portal (prefilled from the
enterprise's books, exact parsing), plan/summary files checked by content and kept in the blob store with every
version, the county's matrix (on time / late / missing, judged in the bureau's day on the first version), the
dashboard's overdue count, scope and the admin's requirements."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import current_backend, db
from server.models import (
    AuditEvent,
    Blob,
    Campaign,
    Enterprise,
    EnterpriseSubmission,
    Hazard,
    SubmissionRequirement,
    User,
)
from server.services import audit
from tests.conftest import login

JINXING = "兴县晋兴特钢有限公司"
FENGYUAN = "兴县丰源面粉有限公司"
MONTHLY_JULY = date(2025, 7, 23)


@pytest.fixture
def past_campaign(app: Flask) -> dict[str, int]:
    """The demo campaign's requirements moved to 2025, so every period is due whatever day the tests run."""
    with app.app_context():
        rows = {r.code: r for r in db.session.scalars(sa.select(SubmissionRequirement))}
        assert set(rows) == {"plan", "monthly", "summary"}  # the notice's three, seeded by default
        rows["plan"].due_on = date(2025, 5, 5)
        rows["summary"].due_on = date(2025, 11, 15)
        rows["monthly"].first_month, rows["monthly"].last_month = date(2025, 5, 1), date(2025, 10, 1)
        db.session.commit()
        return {code: r.id for code, r in rows.items()}


def signed_in(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, login(client, username)


def enterprise_id(app: Flask, name: str) -> uuid.UUID:
    with app.app_context():
        found = db.session.scalar(sa.select(Enterprise.id).where(Enterprise.name == name))
        assert found is not None
        return found


def add_version(app: Flask, requirement_id: int, name: str, period: date, at: datetime) -> None:
    """A version handed in at ``at`` (a moment the test client cannot travel to)."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "qy_jinxing"))
        assert user is not None
        count = db.session.scalar(sa.select(sa.func.count()).select_from(EnterpriseSubmission).where(
            EnterpriseSubmission.enterprise_id == enterprise_id(app, name), EnterpriseSubmission.period == period,
            EnterpriseSubmission.requirement_id == requirement_id))  # fmt: skip
        db.session.add(EnterpriseSubmission(
            requirement_id=requirement_id, enterprise_id=enterprise_id(app, name), period=period,
            version=(count or 0) + 1, submitted_at=at, submitted_by_id=user.id,
            figures={"values": {}, "prefilled": {}},
        ))  # fmt: skip
        db.session.commit()


def cell(html: str, name: str, column: int) -> str:
    """The status of ``name``'s row in matrix column ``column`` (0-based over the submission columns)."""
    row = re.search(
        rf"<tr data-enterprise-id=[^>]*>\s*<td><a [^>]*>{re.escape(name)}</a></td>(.*?)</tr>", html, re.S
    )
    assert row is not None, name
    return re.findall(r'data-status="(\w+)"', row.group(1))[column]


def progress_form(csrf: str, **overrides: str) -> dict[str, str]:
    form = {"csrf_token": csrf, "hazards_general": "3", "hazards_major": "1", "rectified_general": "2",
            "rectified_major": "0", "funds_wan": "1.25", "note": "7月完成全厂自查一轮"}  # fmt: skip
    form.update(overrides)
    return form


# Column numbers of the matrix: plan (5 May), then monthly May..Oct (23rd), then summary.
PLAN, MAY, JUNE, JULY = 0, 1, 2, 3


def test_the_matrix_shows_on_time_late_and_missing_in_the_bureaus_day(
    app: Flask, past_campaign: dict[str, int]
) -> None:
    # 23:00 on the 23rd in China (15:00 UTC) is on time; 00:30 on the 24th (16:30 UTC) is late.
    add_version(
        app, past_campaign["monthly"], JINXING, date(2025, 6, 23), datetime(2025, 6, 23, 15, 0, tzinfo=UTC)
    )
    add_version(
        app, past_campaign["monthly"], FENGYUAN, date(2025, 6, 23), datetime(2025, 6, 23, 16, 30, tzinfo=UTC)
    )
    # A correction after the deadline does not make an on-time period late.
    add_version(
        app, past_campaign["monthly"], JINXING, date(2025, 6, 23), datetime(2025, 8, 1, 2, 0, tzinfo=UTC)
    )
    client, _ = signed_in(app, "xx_sup")
    html = client.get("/submissions").get_data(as_text=True)
    assert cell(html, JINXING, JUNE) == "on_time" and "（2版）" in html
    assert cell(html, FENGYUAN, JUNE) == "late"
    assert cell(html, JINXING, MAY) == "missing" and cell(html, FENGYUAN, PLAN) == "missing"


def test_an_enterprise_late_with_its_monthly_progress_shows_on_the_county_matrix(
    app: Flask, past_campaign: dict[str, int]
) -> None:
    sup, _ = signed_in(app, "xx_sup")
    before = sup.get("/dashboard").get_data(as_text=True)
    overdue_before = int(re.search(r'data-figure="overdue-submissions"><strong>(\d+)', before).group(1))  # type: ignore[union-attr]

    client, csrf = signed_in(app, "qy_jinxing")
    listing = client.get("/portal/submissions").get_data(as_text=True)
    assert 'data-period="2025-07-23" data-status="missing"' in listing
    url = f"/portal/submissions/{past_campaign['monthly']}/{MONTHLY_JULY.isoformat()}"
    form_page = client.get(url).get_data(as_text=True)
    assert 'name="hazards_general"' in form_page  # prefilled from the ledger
    reply = client.post(url, data=progress_form(csrf))
    assert reply.status_code == 303, reply.get_data(as_text=True)

    html = sup.get("/submissions").get_data(as_text=True)
    assert cell(html, JINXING, JULY) == "late"
    after = sup.get("/dashboard").get_data(as_text=True)
    overdue_after = int(re.search(r'data-figure="overdue-submissions"><strong>(\d+)', after).group(1))  # type: ignore[union-attr]
    assert overdue_after == overdue_before - 1
    # The county sees the figures entered beside what the enterprise's books said.
    with app.app_context():
        row = db.session.scalar(
            sa.select(EnterpriseSubmission).where(EnterpriseSubmission.period == MONTHLY_JULY)
        )
        assert row is not None and row.figures is not None
        assert row.figures["values"]["funds_wan"] == "1.25" and "hazards_general" in row.figures["prefilled"]
        submission_id = row.id
    page = sup.get(f"/submissions/{submission_id}").get_data(as_text=True)
    assert "7月完成全厂自查一轮" in page and 'id="progress-figures"' in page
    assert "submission.progress" in audit_actions(app)


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        count, broken = audit.verify(db.session)
        assert broken is None and count > 0
        return list(db.session.scalars(sa.select(AuditEvent.action)))


@pytest.mark.parametrize(
    ("field", "value"),
    [("hazards_general", "1.5"), ("hazards_major", "-1"), ("funds_wan", "1.234"), ("funds_wan", "1,000"),
     ("rectified_general", "9")],  # more rectified than found
)  # fmt: skip
def test_bad_progress_figures_are_refused_and_nothing_is_kept(
    app: Flask, past_campaign: dict[str, int], field: str, value: str
) -> None:
    client, csrf = signed_in(app, "qy_jinxing")
    url = f"/portal/submissions/{past_campaign['monthly']}/{MONTHLY_JULY.isoformat()}"
    reply = client.post(url, data=progress_form(csrf, **{field: value}))
    assert reply.status_code == 400
    assert "error" in reply.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EnterpriseSubmission)) == 0


def test_full_width_digits_are_read_exactly(app: Flask, past_campaign: dict[str, int]) -> None:
    client, csrf = signed_in(app, "qy_jinxing")
    url = f"/portal/submissions/{past_campaign['monthly']}/{MONTHLY_JULY.isoformat()}"
    assert (
        client.post(
            url, data=progress_form(csrf, hazards_general="１２", rectified_general="１２")
        ).status_code
        == 303
    )
    with app.app_context():
        row = db.session.scalar(sa.select(EnterpriseSubmission))
        assert (
            row is not None and row.figures is not None and row.figures["values"]["hazards_general"] == "12"
        )


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def docx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def body(client: FlaskClient, url: str) -> bytes:
    """A file's bytes (the response closed: it holds the file open)."""
    response = client.get(url)
    try:
        assert response.status_code == 200
        return response.data
    finally:
        response.close()


def upload(client: FlaskClient, csrf: str, requirement_id: int, content: bytes, name: str) -> int:
    url = f"/portal/submissions/{requirement_id}/2025-05-05"
    data = {"csrf_token": csrf, "file": (io.BytesIO(content), name), "note": "行动方案"}
    return client.post(url, data=data, content_type="multipart/form-data").status_code


def test_plan_files_are_checked_by_content_and_every_version_is_kept(
    app: Flask, past_campaign: dict[str, int]
) -> None:
    client, csrf = signed_in(app, "qy_jinxing")
    plan = past_campaign["plan"]
    assert upload(client, csrf, plan, b"just text, not a PDF", "plan.pdf") == 415
    assert upload(client, csrf, plan, pdf_bytes()[:-7], "plan.pdf") == 415  # cut off before %%EOF
    bad_zip = docx_bytes().replace(b"word/document.xml", b"word/documenX.xml")
    assert upload(client, csrf, plan, bad_zip, "plan.docx") == 415  # a ZIP, but no Word document in it
    assert upload(client, csrf, plan, b"", "plan.pdf") == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EnterpriseSubmission)) == 0
    assert upload(client, csrf, plan, pdf_bytes(), "方案.pdf") == 303
    assert (
        upload(client, csrf, plan, docx_bytes(), "plan.bin") == 303
    )  # the name says nothing; the content does
    with app.app_context():
        rows = db.session.scalars(
            sa.select(EnterpriseSubmission).order_by(EnterpriseSubmission.version)
        ).all()
        assert [(r.version, r.mime) for r in rows] == [
            (1, "application/pdf"),
            (2, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ]
        store = current_backend().blobs
        for row in rows:
            assert row.sha256 is not None and store.has(row.sha256)
            assert (
                db.session.get(Blob, row.sha256) is not None
            )  # accepted: never taken for an unfinished upload
        first = rows[0].id
    assert body(client, f"/portal/submissions/file/{first}") == pdf_bytes()
    sup, _ = signed_in(app, "xx_sup")
    assert body(sup, f"/submissions/{first}/file") == pdf_bytes()
    html = sup.get("/submissions").get_data(as_text=True)
    assert cell(html, JINXING, PLAN) == "late"
    # Another county's supervisor and another enterprise see none of it.
    other, _ = signed_in(app, "lx_sup")
    assert other.get(f"/submissions/{first}").status_code == 404
    assert JINXING not in other.get("/submissions").get_data(as_text=True)
    neighbour, _ = signed_in(app, "qy_fengyuan")
    assert neighbour.get(f"/portal/submissions/file/{first}").status_code == 404


def test_a_file_over_the_limit_is_refused(app: Flask, past_campaign: dict[str, int]) -> None:
    app.config["SUBMISSION_MAX_BYTES"] = 1000
    client, csrf = signed_in(app, "qy_jinxing")
    big = b"%PDF-1.4\n" + b"0" * 2000 + b"\n%%EOF\n"
    assert upload(client, csrf, past_campaign["plan"], big, "plan.pdf") == 413


def test_a_period_not_of_the_campaign_is_404_and_other_roles_cannot_submit(
    app: Flask, past_campaign: dict[str, int]
) -> None:
    client, _ = signed_in(app, "qy_jinxing")
    assert client.get(f"/portal/submissions/{past_campaign['monthly']}/2025-07-22").status_code == 404
    assert client.get("/submissions").status_code == 404
    inspector, _ = signed_in(app, "xx_insp1")
    assert inspector.get("/portal/submissions").status_code == 404


def test_the_admin_edits_requirements_and_cannot_move_answered_dates(
    app: Flask, past_campaign: dict[str, int]
) -> None:
    with app.app_context():
        campaign_id = db.session.scalar(sa.select(Campaign.id))
    admin, csrf = signed_in(app, "admin")
    url = f"/admin/campaigns/{campaign_id}/submissions"
    form = {"csrf_token": csrf, "code": "safety_ledger", "name": "安全培训台账", "kind": "document",
            "due_on": "2025-09-30"}  # fmt: skip
    assert admin.post(url, data=form).status_code == 303
    assert admin.post(url, data={**form, "code": "x2", "due_day": "23"}).status_code == 400  # both schedules
    client, csrf_e = signed_in(app, "qy_jinxing")
    assert upload(client, csrf_e, past_campaign["plan"], pdf_bytes(), "plan.pdf") == 303
    moved = {"csrf_token": csrf, "id": str(past_campaign["plan"]), "code": "plan", "name": "方案",
             "kind": "document", "due_on": "2025-06-05"}  # fmt: skip
    assert admin.post(url, data=moved).status_code == 400
    assert "submission_requirement.saved" in audit_actions(app)
    sup, _ = signed_in(app, "xx_sup")
    assert sup.get(url).status_code == 404


def filled_row(client: FlaskClient, period: str, county: str = "兴县") -> dict[str, str]:
    html = client.get(f"/submissions/figures?period={period}").get_data(as_text=True)
    row = re.search(rf"<tr data-region-id=[^>]*><td>{county}</td>(.*?)</tr>", html, re.S)
    assert row is not None, html
    cells = dict(re.findall(r'data-(?:key|source)="(\w+)">([^<]*)', row.group(1)))
    return cells


def test_enterprises_figures_stand_in_only_where_the_system_has_none(
    app: Flask, past_campaign: dict[str, int]
) -> None:
    sup, _ = signed_in(app, "xx_sup")
    before = filled_row(sup, "2025-07-23")
    assert before["books"] == "0"  # nothing on record in 2025: every enterprise lacks figures of its own
    on_time = datetime(2025, 7, 23, 8, 0, tzinfo=UTC)
    add_version(app, past_campaign["monthly"], JINXING, MONTHLY_JULY, on_time)
    with app.app_context():
        row = db.session.scalar(sa.select(EnterpriseSubmission))
        assert row is not None
        row.figures = {"values": {"hazards_general": "4", "hazards_major": "1", "rectified_general": "3",
                                  "rectified_major": "0", "funds_wan": "2.50"}, "prefilled": {}}  # fmt: skip
        db.session.commit()
    # A version handed in after the cut-off is not the one the period's figures use.
    add_version(app, past_campaign["monthly"], JINXING, MONTHLY_JULY, datetime(2025, 8, 1, 8, 0, tzinfo=UTC))
    after = filled_row(sup, "2025-07-23")
    assert after["submissions"].startswith("1") and int(after["none"]) == int(before["none"]) - 1
    assert (after["hazards_general"], after["hazards_major"], after["funds_wan"]) == ("4", "1", "2.50")


def test_an_enterprise_with_figures_of_its_own_is_counted_from_the_books(app: Flask) -> None:
    ahead = date.today().replace(day=1) + timedelta(
        days=40
    )  # a period whose cut-off is after all the demo's records
    with app.app_context():
        monthly = db.session.scalar(
            sa.select(SubmissionRequirement).where(SubmissionRequirement.code == "monthly")
        )
        assert monthly is not None
        monthly.first_month = monthly.last_month = ahead.replace(day=1)
        db.session.commit()
        requirement_id = monthly.id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Hazard).where(
            Hazard.enterprise_id == enterprise_id(app, JINXING)))  # fmt: skip
    period = ahead.replace(day=23).isoformat()
    sup, _ = signed_in(app, "xx_sup")
    before = filled_row(sup, period)
    assert int(before["books"]) > 0 and before["submissions"] == "0"
    add_version(app, requirement_id, JINXING, ahead.replace(day=23), datetime.now(UTC))
    with app.app_context():
        row = db.session.scalar(sa.select(EnterpriseSubmission))
        assert row is not None
        row.figures = {"values": {"hazards_general": "999", "hazards_major": "0", "rectified_general": "0",
                                  "rectified_major": "0", "funds_wan": "0"}, "prefilled": {}}  # fmt: skip
        db.session.commit()
    assert filled_row(sup, period) == before  # 晋兴 has figures of its own: its report changes nothing

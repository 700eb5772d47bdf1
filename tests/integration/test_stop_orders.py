"""停产整顿指令书 with legal review (issue 18, notice 五（三）) and the public enforcement list (执法公示): an order
cannot be issued before a legal reviewer approved it, the reviewer returns it with comments, issuing numbers it and
prints a PDF whose QR check holds, resumption closes it, every step is audited; the public page shows only issued
decisions and no personal data."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.documents.records import DocKind, document_header
from server.domain.hazards import HazardLevel
from server.domain.inspections import InspectionKind, InspectionStatus
from server.domain.stop_orders import OrderState
from server.extensions import db
from server.models import AuditEvent, Enterprise, Hazard, Inspection, StopOrder, User
from server.services import audit
from tests.conftest import login


def signed_in(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, login(client, username)


@pytest.fixture
def major(app: Flask) -> tuple[uuid.UUID, uuid.UUID, str]:
    """A 兴县 enterprise with a major hazard: (enterprise id, hazard id, enterprise name)."""
    with app.app_context():
        row = db.session.execute(
            sa.select(Hazard.enterprise_id, Hazard.id, Enterprise.name).join(Enterprise)
            .where(Hazard.level == HazardLevel.major, Enterprise.name.like("兴县%")).limit(1)
        ).one()  # fmt: skip
        return row[0], row[1], row[2]


def draft(
    app: Flask, client: FlaskClient, csrf: str, enterprise_id: uuid.UUID, hazard_id: uuid.UUID
) -> uuid.UUID:
    reply = client.post(f"/stop-orders/new?enterprise={enterprise_id}", data={
        "csrf_token": csrf, "reasons": "重大事故隐患未采取任何措施，主要负责人张三拒不整改（电话13900000000）",
        "legal_basis": "《中华人民共和国安全生产法》第六十五条", "scope": "抛光车间及除尘系统",
        "resume_conditions": "除尘系统按GB 15577改造完成并经验收合格", "hazard_ids": [str(hazard_id)],
    })  # fmt: skip
    assert reply.status_code == 303, reply.get_data(as_text=True)
    found = re.search(r"/stop-orders/([0-9a-f-]{36})", reply.headers["Location"])
    assert found is not None
    return uuid.UUID(found.group(1))


def state(app: Flask, order_id: uuid.UUID) -> OrderState:
    with app.app_context():
        order = db.session.get(StopOrder, order_id)
        assert order is not None
        return order.state


def step(client: FlaskClient, csrf: str, order_id: uuid.UUID, action: str, comment: str = "") -> int:
    return client.post(
        f"/stop-orders/{order_id}/{action}", data={"csrf_token": csrf, "comment": comment}
    ).status_code


def test_an_order_cannot_be_issued_before_legal_review(
    app: Flask, major: tuple[uuid.UUID, uuid.UUID, str]
) -> None:
    enterprise_id, hazard_id, _name = major
    sup, csrf = signed_in(app, "xx_sup")
    order_id = draft(app, sup, csrf, enterprise_id, hazard_id)
    assert step(sup, csrf, order_id, "issue") == 409  # a draft
    assert step(sup, csrf, order_id, "approve") == 409  # a supervisor cannot approve his own order
    assert step(sup, csrf, order_id, "submit") == 303
    assert step(sup, csrf, order_id, "issue") == 409  # still under review
    assert sup.get(f"/stop-orders/{order_id}/order.pdf").status_code == 404

    legal, lcsrf = signed_in(app, "xx_legal")
    assert str(order_id) in legal.get("/stop-orders").get_data(as_text=True)
    assert step(legal, lcsrf, order_id, "return") == 409  # a return needs comments
    assert step(legal, lcsrf, order_id, "return", "法律依据应引用第一百零二条") == 303
    assert state(app, order_id) is OrderState.returned
    assert "法律依据应引用第一百零二条" in sup.get(f"/stop-orders/{order_id}").get_data(as_text=True)
    assert step(sup, csrf, order_id, "issue") == 409  # returned is not approved
    edited = sup.post(f"/stop-orders/{order_id}", data={
        "csrf_token": csrf, "reasons": "重大事故隐患未采取措施", "legal_basis": "《安全生产法》第六十五条、第一百零二条",
        "scope": "抛光车间", "resume_conditions": "整改验收合格", "hazard_ids": [str(hazard_id)],
    })  # fmt: skip
    assert edited.status_code == 303
    assert step(sup, csrf, order_id, "submit") == 303
    # Under review the content is frozen.
    frozen = sup.post(f"/stop-orders/{order_id}", data={
        "csrf_token": csrf, "reasons": "改", "legal_basis": "改", "scope": "改", "resume_conditions": "改",
        "hazard_ids": [str(hazard_id)],
    })  # fmt: skip
    assert frozen.status_code == 409
    assert step(legal, lcsrf, order_id, "issue") == 409  # the reviewer does not issue
    assert step(legal, lcsrf, order_id, "approve") == 303
    assert step(sup, csrf, order_id, "issue") == 303
    with app.app_context():
        order = db.session.get(StopOrder, order_id)
        assert order is not None and order.state is OrderState.issued
        assert order.number is not None and re.fullmatch(r"兴应急停整〔\d{4}〕001号", order.number)
        assert order.issued_content is not None and order.issued_content["legal_basis"].endswith(
            "第一百零二条"
        )
        number = order.number
        actions = list(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_id == str(order_id))
                                          .order_by(AuditEvent.id)))  # fmt: skip
        assert actions == ["stop_order.drafted", "stop_order.submit", "stop_order.return", "stop_order.edited",
                           "stop_order.submit", "stop_order.approve", "stop_order.issue"]  # fmt: skip
        assert audit.verify(db.session)[1] is None

    pdf = sup.get(f"/stop-orders/{order_id}/order.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    page = sup.get(f"/stop-orders/{order_id}").get_data(as_text=True)
    verify = re.search(r'href="(/d/stop/[^"]+)"', page)
    assert verify is not None
    public = app.test_client()
    checked = public.get(verify.group(1)).get_data(as_text=True)
    assert 'data-verdict="valid"' in checked and number in checked
    assert public.get(verify.group(1)[:-4] + "0000").status_code == 404  # a wrong hash learns nothing

    assert step(sup, csrf, order_id, "resume") == 409  # resumption needs the check's findings
    assert step(sup, csrf, order_id, "resume", "复产验收合格") == 303
    assert state(app, order_id) is OrderState.resumed
    assert "已复产验收" in public.get("/gongshi").get_data(as_text=True)


def test_the_public_page_never_shows_an_unissued_decision_or_personal_data(
    app: Flask, major: tuple[uuid.UUID, uuid.UUID, str]
) -> None:
    enterprise_id, hazard_id, name = major
    sup, csrf = signed_in(app, "xx_sup")
    legal, lcsrf = signed_in(app, "xx_legal")
    pending = draft(app, sup, csrf, enterprise_id, hazard_id)
    assert step(sup, csrf, pending, "submit") == 303
    approved = draft(app, sup, csrf, enterprise_id, hazard_id)
    assert step(sup, csrf, approved, "submit") == 303 and step(legal, lcsrf, approved, "approve") == 303
    public = app.test_client()
    assert public.get("/gongshi").status_code == 200
    # Drafted, under review and approved-but-not-issued orders are not decisions yet.
    assert "责令停产整顿" not in public.get("/gongshi").get_data(as_text=True)

    assert step(sup, csrf, approved, "issue") == 303
    html = public.get("/gongshi").get_data(as_text=True)
    stop_rows = [row for row in re.findall(r"<tr>(.*?)</tr>", html, re.S) if "责令停产整顿" in row]
    assert (
        len(stop_rows) == 1
        and name in stop_rows[0]
        and "《中华人民共和国安全生产法》第六十五条" in stop_rows[0]
    )
    with app.app_context():
        people = [u.display_name for u in db.session.scalars(sa.select(User))]
        enterprises = db.session.scalars(sa.select(Enterprise)).all()
        private = [t for e in enterprises for t in (e.main_person, e.main_person_phone, e.address) if t]
        hazard_texts = [h.description for h in db.session.scalars(sa.select(Hazard))]
    for text in [*people, *private, *hazard_texts, "张三", "13900000000"]:
        assert text not in html, text
    assert "<img" not in html and "/photos/" not in html and "/media/" not in html


def test_the_public_page_lists_orders_to_rectify_of_final_inspections_only(app: Flask) -> None:
    html = app.test_client().get("/gongshi").get_data(as_text=True)
    with app.app_context():
        inspections = db.session.scalars(
            sa.select(Inspection).where(sa.exists().where(Hazard.inspection_id == Inspection.id))
        ).all()
        numbers = {i.id: document_header(i, "应急管理局").number(DocKind.order) for i in inspections}
        final = {i.id for i in inspections if i.status == InspectionStatus.approved and i.seal_verified is True
                 and i.kind != InspectionKind.self_check}  # fmt: skip
        kinds = {i.status for i in inspections if i.id not in final}
    assert final and InspectionStatus.submitted in kinds  # the demo holds both kinds
    for inspection_id, number in numbers.items():
        assert (number in html) == (inspection_id in final), number
    assert html.count("责令限期整改") == len(final)


def test_orders_are_scoped_and_closed_to_other_roles(
    app: Flask, major: tuple[uuid.UUID, uuid.UUID, str]
) -> None:
    enterprise_id, hazard_id, _ = major
    sup, csrf = signed_in(app, "xx_sup")
    order_id = draft(app, sup, csrf, enterprise_id, hazard_id)
    other, _ = signed_in(app, "lx_sup")
    assert other.get(f"/stop-orders/{order_id}").status_code == 404
    assert other.get(f"/stop-orders/new?enterprise={enterprise_id}").status_code == 404
    for username in ("xx_insp1", "qy_jinxing", "xx_expert"):
        client, _ = signed_in(app, username)
        assert client.get("/stop-orders").status_code == 404
        assert client.get(f"/stop-orders/{order_id}").status_code == 404
    legal, lcsrf = signed_in(app, "xx_legal")
    assert legal.get(f"/stop-orders/{order_id}").status_code == 200
    # A reviewer may not draft, and an order must rest on this enterprise's major hazards.
    assert legal.get(f"/stop-orders/new?enterprise={enterprise_id}").status_code == 404
    assert (
        legal.post(f"/stop-orders/new?enterprise={enterprise_id}", data={"csrf_token": lcsrf}).status_code
        == 404
    )
    bad = sup.post(f"/stop-orders/new?enterprise={enterprise_id}", data={
        "csrf_token": csrf, "reasons": "x", "legal_basis": "x", "scope": "x", "resume_conditions": "x",
        "hazard_ids": [str(uuid.uuid4())],
    })  # fmt: skip
    assert bad.status_code == 400
    none = sup.post(f"/stop-orders/new?enterprise={enterprise_id}", data={
        "csrf_token": csrf, "reasons": "", "legal_basis": "x", "scope": "x", "resume_conditions": "x"})  # fmt: skip
    assert none.status_code == 400

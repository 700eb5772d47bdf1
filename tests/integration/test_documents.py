"""执法文书: the 现场检查记录 and 责令限期整改指令书 of a demo inspection as PDFs whose text extracts as the Chinese
it says, with signatures, hazard photos and a QR code of the verification page; scope; and the verification
page itself, which fails for a wrong hash and for a stored record altered after sealing."""

from __future__ import annotations

import ast
import hashlib
import io
import re
import uuid
from datetime import date, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfReader

from server.demo.activity import demo_id
from server.documents import pdf as pdf_module
from server.documents.pdf import render
from server.documents.posters import qr_matrix
from server.documents.records import DocKind, authority_prefix, document_number, load_documents, verify_path
from server.domain.inspections import InspectionStatus
from server.extensions import current_backend, db
from server.models import Hazard, Inspection, ItemResult, User
from tests.conftest import login

CHINA = timezone(timedelta(hours=8))
#: 兴县晋兴特钢有限公司: two hazards (one major), an expert, three signatures, a photo per hazard.
WITH_HAZARDS = demo_id("inspection/xx-01")
#: 山西吕梁兴达铸钢有限公司: submitted, nothing found.
WITHOUT_HAZARDS = demo_id("inspection/xx-03")
#: 兴县鑫钢炉料有限公司: still a draft on the tablet.
DRAFT = demo_id("inspection/xx-15")
#: The demo's seal whose answers differ from those stored.
BROKEN_SEAL = demo_id("inspection/xx-11")


def squash(text: str) -> str:
    """Text without any whitespace: extractors break lines (and sometimes words) where the layout did."""
    return "".join(text.split())


def pdf_text(data: bytes) -> tuple[str, PdfReader]:
    """Every page's extracted text, and the reader (for images and metadata)."""
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def images_of(reader: PdfReader) -> list[Image.Image]:
    """Every image embedded in the document, decoded."""
    found = []
    for page in reader.pages:
        for image in page.images:
            found.append(image.image)
    return found


def facts(app: Flask, inspection_id: uuid.UUID) -> dict[str, Any]:
    """What the documents of this inspection must say, read straight from the database."""
    with app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        assert inspection is not None and inspection.started_at is not None
        hazards = db.session.scalars(sa.select(Hazard).where(Hazard.inspection_id == inspection_id)).all()
        return {
            "enterprise": inspection.enterprise.name,
            "credit_code": inspection.enterprise.credit_code,
            "sha": inspection.sealed_sha256,
            "year": inspection.started_at.astimezone(CHINA).year,
            "inspectors": [(p.name, p.badge_no) for p in inspection.participants if p.role == "inspector"],
            "experts": [p.name for p in inspection.participants if p.role == "expert"],
            "hazards": [h.description for h in hazards],
            "deadlines": [h.deadline for h in hazards],
            "signatures": len(inspection.signatures),
        }


def download(client: FlaskClient, inspection_id: uuid.UUID, kind: str) -> tuple[int, bytes, dict[str, str]]:
    with client.get(f"/inspections/{inspection_id}/documents/{kind}.pdf") as response:
        return response.status_code, response.get_data(), dict(response.headers)


def test_record_pdf_holds_the_inspection_in_chinese(
    app: Flask, client: FlaskClient, demo_media: Path
) -> None:
    known = facts(app, WITH_HAZARDS)
    login(client, "xx_sup")
    status, data, headers = download(client, WITH_HAZARDS, "record")
    assert status == 200
    assert headers["Content-Type"] == "application/pdf"
    disposition = headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "现场检查记录" in unquote(disposition.split("filename*=UTF-8''")[1])

    text, reader = pdf_text(data)
    flat = squash(text)
    number = f"兴应急检记〔{known['year']}〕{known['sha'][:8].upper()}号"
    for expected in ("兴县应急管理局", "现场检查记录", number, known["enterprise"], known["credit_code"],
                     "检查情况", "不符合", "符合", "执法证号", known["sha"], *known["experts"]):  # fmt: skip
        assert squash(expected) in flat, expected
    for name, badge in known["inspectors"]:
        assert name in flat and badge in flat
    for description in known["hazards"]:
        assert squash(description) in flat
    assert re.search(r"第1页共\d页", flat)
    assert reader.metadata is not None and number in str(reader.metadata.title)

    images = images_of(reader)
    # The QR code and every captured signature, as images (not drawn text).
    assert len(images) >= 1 + known["signatures"]
    url = f"https://jc.example.cn/d/record/{WITH_HAZARDS}/{known['sha']}"
    assert squash(url) in flat
    assert any(decodes_to(image, url) for image in images), "the QR code encodes the verification URL"


def decodes_to(image: Image.Image, url: str) -> bool:
    """Whether ``image`` is the QR code of ``url`` (drawn at whole pixels per module, quiet zone included)."""
    matrix = qr_matrix(url)
    size = len(matrix)
    if image.width != image.height or image.width % size:
        return False
    small = image.convert("L").resize((size, size), Image.Resampling.NEAREST)
    pixels = small.load()
    assert pixels is not None
    return all((pixels[x, y] < 128) == matrix[y][x] for y in range(size) for x in range(size))  # type: ignore[operator]


def test_order_pdf_has_the_legal_wording_hazards_photos_and_signatures(
    app: Flask, client: FlaskClient, demo_media: Path
) -> None:
    known = facts(app, WITH_HAZARDS)
    login(client, "xx_sup")
    status, data, headers = download(client, WITH_HAZARDS, "order")
    assert status == 200
    assert "责令限期整改指令书" in unquote(headers["Content-Disposition"])
    text, reader = pdf_text(data)
    flat = squash(text)
    number = f"兴应急责改〔{known['year']}〕{known['sha'][:8].upper()}号"
    for expected in ("责令限期整改指令书", number, f"{known['enterprise']}：", "经查，你单位存在下列问题：",
                     "依据《中华人民共和国安全生产法》第六十五条", "整改完毕", "兴县人民政府", "行政复议",
                     "兴县应急管理局（印章）", "安全生产执法人员", known["sha"]):  # fmt: skip
        assert squash(expected) in flat, expected
    for description in known["hazards"]:
        assert squash(description) in flat
    latest: date = max(known["deadlines"])
    assert f"{latest.year}年{latest.month}月{latest.day}日" in flat
    for name, _badge in known["inspectors"]:
        assert name in flat
    images = images_of(reader)
    photos = [image for image in images if image.mode == "RGB" and image.width > image.height]
    assert len(photos) == len(known["hazards"]), "a photo of each hazard"
    assert len(images) >= 1 + len(known["hazards"]) + known["signatures"]
    assert any(
        decodes_to(image, f"https://jc.example.cn/d/order/{WITH_HAZARDS}/{known['sha']}") for image in images
    )


def test_documents_are_scoped_like_the_review(app: Flask, client: FlaskClient) -> None:
    assert download(client, WITH_HAZARDS, "record")[0] == 302  # to the sign-in page
    other_county = app.test_client()
    login(other_county, "lx_sup")
    assert download(other_county, WITH_HAZARDS, "record")[0] == 404
    assert download(other_county, WITH_HAZARDS, "order")[0] == 404
    inspector = app.test_client()
    login(inspector, "xx_insp1")
    assert download(inspector, WITH_HAZARDS, "record")[0] == 404
    login(client, "xx_sup")
    assert download(client, DRAFT, "record")[0] == 404
    assert download(client, uuid.uuid4(), "record")[0] == 404
    assert download(client, WITHOUT_HAZARDS, "order")[0] == 404
    status, data, _ = download(client, WITHOUT_HAZARDS, "record")
    assert status == 200
    assert "本次检查未发现事故隐患" in squash(pdf_text(data)[0])
    with client.get(f"/inspections/{WITH_HAZARDS}") as page:
        html = page.get_data(as_text=True)
    assert f"/inspections/{WITH_HAZARDS}/documents/record.pdf" in html
    assert f"/inspections/{WITH_HAZARDS}/documents/order.pdf" in html
    with client.get(f"/inspections/{WITHOUT_HAZARDS}") as page:
        html = page.get_data(as_text=True)
    assert "documents/record.pdf" in html and "documents/order.pdf" not in html


def test_a_city_supervisor_gets_the_county_documents(app: Flask, client: FlaskClient) -> None:
    login(client, "ll_city")
    assert download(client, WITH_HAZARDS, "order")[0] == 200


def verify_page(client: FlaskClient, path: str) -> tuple[int, str]:
    with client.get(path) as response:
        assert response.headers.get("Cache-Control") == "no-store"
        return response.status_code, response.get_data(as_text=True)


def test_the_verification_page_vouches_for_the_right_hash_only(app: Flask, client: FlaskClient) -> None:
    known = facts(app, WITH_HAZARDS)
    # Public: no one is signed in.
    status, html = verify_page(client, verify_path(DocKind.order, WITH_HAZARDS, known["sha"]))
    assert status == 200
    assert 'data-verdict="valid"' in html and "文书有效" in html
    assert known["enterprise"] in html
    assert f"兴应急责改〔{known['year']}〕{known['sha'][:8].upper()}号" in html

    wrong = hashlib.sha256(b"forged").hexdigest()
    status, html = verify_page(client, verify_path(DocKind.record, WITH_HAZARDS, wrong))
    assert status == 200
    assert 'data-verdict="invalid"' in html and "文书与存档记录不符" in html
    # Whoever holds a wrong hash learns nothing about the inspection.
    assert known["enterprise"] not in html

    for path in (
        verify_path(
            DocKind.order, WITHOUT_HAZARDS, facts(app, WITHOUT_HAZARDS)["sha"]
        ),  # no order was issued
        verify_path(DocKind.record, DRAFT, wrong),
        verify_path(DocKind.record, uuid.uuid4(), wrong),
        f"/d/notice/{WITH_HAZARDS}/{known['sha']}",
    ):
        status, html = verify_page(client, path)
        assert status == 404 and "查无此文书" in html


def test_a_record_altered_after_sealing_fails_verification(app: Flask, client: FlaskClient) -> None:
    known = facts(app, WITH_HAZARDS)
    path = verify_path(DocKind.record, WITH_HAZARDS, known["sha"])
    assert 'data-verdict="valid"' in verify_page(client, path)[1]
    with app.app_context():
        inspection = db.session.get(Inspection, WITH_HAZARDS)
        assert inspection is not None and inspection.sealed_record is not None
        assert "non_compliant" in inspection.sealed_record
        inspection.sealed_record = inspection.sealed_record.replace("non_compliant", "compliant", 1)
        db.session.commit()
    status, html = verify_page(client, path)
    assert status == 200
    assert 'data-verdict="invalid"' in html and "已被改动" in html

    # Re-hashing the altered record does not help: the printed hash no longer matches, nor does the signature.
    with app.app_context():
        inspection = db.session.get(Inspection, WITH_HAZARDS)
        assert inspection is not None and inspection.sealed_record is not None
        inspection.sealed_sha256 = hashlib.sha256(inspection.sealed_record.encode()).hexdigest()
        db.session.commit()
        rehashed = inspection.sealed_sha256
    assert 'data-verdict="invalid"' in verify_page(client, path)[1]
    status, html = verify_page(client, verify_path(DocKind.record, WITH_HAZARDS, rehashed))
    assert 'data-verdict="invalid"' in html and "设备签名验证失败" in html


def test_answers_changed_after_sealing_fail_verification(app: Flask, client: FlaskClient) -> None:
    known = facts(app, WITH_HAZARDS)
    with app.app_context():
        row = db.session.scalars(
            sa.select(ItemResult)
            .where(ItemResult.inspection_id == WITH_HAZARDS)
            .order_by(ItemResult.item_code)
        ).first()
        assert row is not None
        db.session.delete(row)
        db.session.commit()
    html = verify_page(client, verify_path(DocKind.record, WITH_HAZARDS, known["sha"]))[1]
    assert 'data-verdict="invalid"' in html and "设备封存验证未通过" in html
    broken = verify_path(DocKind.record, BROKEN_SEAL, facts(app, BROKEN_SEAL)["sha"])
    assert 'data-verdict="invalid"' in verify_page(client, broken)[1]


def test_the_font_of_a_document_covers_every_fixed_text_of_the_layout() -> None:
    """Each PDF embeds a font of only the characters it prints: every literal the layout prints is in it."""
    tree = ast.parse(Path(pdf_module.__file__).read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    printed = {
        char
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        for char in node.value
        if ord(char) > 0x7E
    }
    assert printed - set("".join(pdf_module.FONT_TEXTS)) == set()


@pytest.mark.parametrize("authority", ["兴县应急管理局", "吕梁市应急管理局", "应急管理局"])
def test_document_numbers_follow_the_authority(authority: str) -> None:
    prefix = {"兴县应急管理局": "兴应急", "吕梁市应急管理局": "吕应急", "应急管理局": "应急"}[authority]
    assert authority_prefix(authority) == prefix
    assert document_number(DocKind.order, authority, 2026, "3F9A0C1B") == f"{prefix}责改〔2026〕3F9A0C1B号"


def test_demo_documents_print_every_character_and_have_stable_numbers(app: Flask, demo_media: Path) -> None:
    printed = {WITH_HAZARDS, WITHOUT_HAZARDS, BROKEN_SEAL, demo_id("inspection/lx-01")}
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
        assert admin is not None
        ids = db.session.scalars(
            sa.select(Inspection.id)
            .where(Inspection.status != InspectionStatus.draft)
            .order_by(Inspection.id)
        ).all()
        numbers: set[str] = set()
        made = 0
        for inspection_id in ids:
            docs = load_documents(
                db.session, admin, inspection_id, current_backend().blobs,
                base_url="https://jc.example.cn", default_authority="应急管理局",
            )  # fmt: skip
            assert docs is not None
            for kind in docs.kinds:
                numbers.add(docs.number(kind))
                made += 1
                if inspection_id in printed:
                    # The font made for the document holds every character it printed (labels included).
                    rendered = render(docs, kind)
                    assert not rendered.missing, (inspection_id, kind, rendered.missing)
                    assert rendered.data.startswith(b"%PDF-")
            again = load_documents(
                db.session,
                admin,
                inspection_id,
                None,
                base_url="https://jc.example.cn",
                default_authority="应急管理局",
            )
            assert again is not None and again.number(DocKind.record) == docs.number(DocKind.record)
        assert len(numbers) == made, "every document has a number of its own"
        assert any(n.startswith("临应急") for n in numbers) and any(n.startswith("兴应急") for n in numbers)


def test_signatures_print_when_captured_and_leave_a_line_when_not(app: Flask, demo_media: Path) -> None:
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
        assert admin is not None
        docs = load_documents(
            db.session, admin, WITH_HAZARDS, current_backend().blobs, base_url="https://jc.example.cn",
            default_authority="应急管理局",
        )  # fmt: skip
        assert docs is not None
        assert docs.signatures and all(s.image and s.image.startswith(b"\x89PNG") for s in docs.signatures)
        assert all(h.photo and h.photo.startswith(b"\xff\xd8") for h in docs.hazards)
        # Without the blob store (bytes not yet uploaded), the documents still print, with empty lines to sign on.
        bare = load_documents(
            db.session,
            admin,
            WITH_HAZARDS,
            None,
            base_url="https://jc.example.cn",
            default_authority="应急管理局",
        )
        assert bare is not None and all(s.image is None for s in bare.signatures)
        text = squash(pdf_text(render(bare, DocKind.order).data)[0])
        assert "未取得签名图像" in text

"""专家检查意见书 as an A4 PDF beside the 现场检查记录 and the 责令限期整改指令书: same font, page frame, headings,
signature cell and verification QR code (server.documents.pdf), from the stored opinion and its inspection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.documents.frame import attachment, render_document, title_block
from server.documents.pdf import MARGIN_X, _heading, _signature_cell, _text
from server.documents.records import SignatureImage

TITLE = "专家检查意见书"
NUMBER_CODE = "专意"
LABELS = (TITLE, "被检查单位", "检查时间", "检查专家", "一、专家检查意见", "二、问题隐患和整改建议清单", "问题：",
          "整改建议：", "对应检查项", "对应隐患", "三、专家签名", "专家（签名）", "封存核验：", "已与检查记录一并封存",
          "未封存或与封存内容不符：", "核验地址：")  # fmt: skip


@dataclass(frozen=True)
class OpinionDocument:
    """What the document prints."""

    number: str
    authority: str
    enterprise_name: str
    inspected: str
    expert_name: str
    opinion: str
    lines: list[tuple[str, str, str, str]]
    signature: SignatureImage | None
    sealed: bool
    seal_problem: str | None
    verify_url: str | None
    issued_on: str


def render_opinion(doc: OpinionDocument) -> tuple[bytes, str]:
    """The PDF bytes and an RFC 6266 Content-Disposition."""
    texts = [doc.enterprise_name, doc.inspected, doc.expert_name, doc.opinion, doc.seal_problem or "",
             doc.verify_url or "", doc.issued_on, *(t for line in doc.lines for t in line),
             doc.signature.at if doc.signature else "", *LABELS]  # fmt: skip
    data = render_document(title=TITLE, number=doc.number, authority=doc.authority, texts=texts,
                           body=lambda pdf: _body(pdf, doc))  # fmt: skip
    return data, attachment("expert-opinion.pdf", f"{TITLE}-{doc.enterprise_name}-{doc.issued_on}.pdf")


def _body(pdf: Any, doc: OpinionDocument) -> None:
    title_block(pdf, authority=doc.authority, title=TITLE, number=doc.number, verify_url=doc.verify_url)
    _text(pdf, f"被检查单位：{doc.enterprise_name}")
    _text(pdf, f"检查时间：{doc.inspected}")
    _text(pdf, f"检查专家：{doc.expert_name}")
    _heading(pdf, "一、专家检查意见")
    _text(pdf, doc.opinion, indent=True)
    _heading(pdf, "二、问题隐患和整改建议清单")
    for index, (problem, suggestion, item, hazard) in enumerate(doc.lines, start=1):
        links = "；".join(
            x for x in (f"对应检查项 {item}" if item else "", f"对应隐患：{hazard}" if hazard else "") if x
        )
        _text(pdf, f"{index}. 问题：{problem}" + (f"（{links}）" if links else ""))
        _text(pdf, f"整改建议：{suggestion}", indent=True)
    _heading(pdf, "三、专家签名")
    y = pdf.get_y()
    _signature_cell(pdf, MARGIN_X, y, "专家（签名）", doc.signature)
    pdf.set_y(y + 32)
    _text(pdf, doc.issued_on)
    pdf.ln(3)
    seal = "已与检查记录一并封存" if doc.sealed else f"未封存或与封存内容不符：{doc.seal_problem}"
    _text(pdf, f"封存核验：{seal}", size=8)
    if doc.verify_url:
        _text(pdf, f"核验地址：{doc.verify_url}", size=8)

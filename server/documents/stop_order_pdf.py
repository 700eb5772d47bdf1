"""停产整顿指令书 as an A4 PDF, laid out with the same font, page frame, headings and verification QR code as the
inspection documents (server.documents.pdf), from the content frozen when the order was issued."""

from __future__ import annotations

from typing import Any

from server.documents.frame import attachment, render_document, title_block
from server.documents.pdf import _heading, _text

TITLE = "停产整顿指令书"
LABELS = (
    TITLE, "被检查单位", "统一社会信用代码", "地址", "经检查，你单位存在下列重大事故隐患：", "一、事实和理由",
    "二、法律依据", "三、停产整顿范围", "四、恢复生产的条件", "五、要求", "发现于",
    "你单位须自收到本指令书之日起立即停止上述范围内的生产经营活动，完成整改并经本机关复产验收合格后，方可恢复生产。",
    "本决定已经法制审核", "如不服本决定，可依法申请行政复议或者提起行政诉讼。", "核验码 SHA-256：", "核验地址：",
    "（印章）", "被检查单位负责人（签收）：", "____年__月__日",
)  # fmt: skip


def render_stop_order(content: dict[str, Any], verify_url: str, sha256: str) -> tuple[bytes, str, str]:
    """The order's PDF bytes, its Chinese file name and an RFC 6266 Content-Disposition for it."""
    texts = [str(v) for v in content.values() if isinstance(v, str)]
    texts += [str(v) for h in content.get("hazards", []) for v in h.values()]
    data = render_document(
        title=TITLE, number=content["number"], authority=content["authority"],
        texts=[*texts, *LABELS, verify_url, sha256], body=lambda pdf: _body(pdf, content, verify_url, sha256),
        keywords=f"SHA-256 {sha256}",
    )  # fmt: skip
    filename = f"{TITLE}-{content['enterprise_name']}-{content['issued_on']}.pdf"
    return data, filename, attachment("stop-order.pdf", filename)


def _body(pdf: Any, c: dict[str, Any], verify_url: str, sha256: str) -> None:
    title_block(pdf, authority=c["authority"], title=TITLE, number=c["number"], verify_url=verify_url)
    _text(pdf, f"被检查单位：{c['enterprise_name']}")
    _text(pdf, f"统一社会信用代码：{c['credit_code']}")
    if c.get("address"):
        _text(pdf, f"地址：{c['address']}")
    pdf.ln(2)
    _text(pdf, "经检查，你单位存在下列重大事故隐患：", indent=True)
    for index, hazard in enumerate(c.get("hazards", []), start=1):
        place = f"（{hazard['place']}）" if hazard.get("place") else ""
        _text(pdf, f"{index}. {hazard['description']}{place}，发现于{hazard['found_on']}。", indent=True)
    for heading, key in (("一、事实和理由", "reasons"), ("二、法律依据", "legal_basis"),
                         ("三、停产整顿范围", "scope"), ("四、恢复生产的条件", "resume_conditions")):  # fmt: skip
        _heading(pdf, heading)
        _text(pdf, c[key], indent=True)
    _heading(pdf, "五、要求")
    _text(pdf, "你单位须自收到本指令书之日起立即停止上述范围内的生产经营活动，完成整改并经本机关复产验收合格后，方可恢复生产。",
          indent=True)  # fmt: skip
    _text(pdf, f"本决定已经法制审核（{c.get('reviewed_on', '')}）。如不服本决定，可依法申请行政复议或者提起行政诉讼。",
          indent=True)  # fmt: skip
    pdf.ln(6)
    _text(pdf, f"{c['authority']}（印章）")
    _text(pdf, c["issued_on"])
    pdf.ln(4)
    _text(pdf, "被检查单位负责人（签收）：                ____年__月__日")
    pdf.ln(4)
    _text(pdf, f"核验码 SHA-256：{sha256}", size=8)
    _text(pdf, f"核验地址：{verify_url}", size=8)

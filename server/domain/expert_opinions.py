"""专家检查意见 (notice 三（七）: "专家参与执法检查时，要出具专家检查意见，形成问题隐患和整改建议清单"): an expert on an
inspection writes an opinion and a list of problems with rectification suggestions, and signs; it is sealed with
the inspection.

Sealing rule: the tablet puts every opinion (its text, expert, list and signature hash) into the inspection's
sealed record under ``expert_opinions``, which the device signs with the rest. An opinion counts as sealed only
when the inspection's seal verified AND the sealed copy equals the stored opinion field by field; an opinion the
sealed record does not name, or names differently, is kept and shown, flagged with the reason (never hidden).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: The fields of one line of the list, in the order they print.
ITEM_FIELDS = ("item_code", "hazard_id", "problem", "suggestion")


def comparable(
    expert_name: str, opinion: str, items: list[dict[str, Any]], signature_sha256: str | None
) -> dict[str, Any]:
    """An opinion reduced to what the seal vouches for, in one normal form (missing item fields are None)."""
    return {
        "expert_name": expert_name, "opinion": opinion, "signature_sha256": signature_sha256,
        "items": [{key: (None if item.get(key) in (None, "") else str(item[key])) for key in ITEM_FIELDS}
                  for item in items],
    }  # fmt: skip


@dataclass(frozen=True)
class OpinionSeal:
    """Whether an opinion is sealed with its inspection, and why not."""

    sealed: bool
    problem: str | None = None


def seal_status(
    sealed_record: str | None, inspection_seal_verified: bool | None, opinion_id: str, stored: dict[str, Any]
) -> OpinionSeal:
    """The seal of one opinion (``stored`` as ``comparable`` gives it) against its inspection's sealed record."""
    if sealed_record is None:
        return OpinionSeal(False, "检查记录尚未封存 / the inspection is not sealed yet")
    if inspection_seal_verified is not True:
        return OpinionSeal(False, "检查记录的封存未通过验证 / the inspection's seal did not verify")
    try:
        listed = json.loads(sealed_record).get("expert_opinions") or []
        sealed = next((o for o in listed if str(o.get("id")) == opinion_id), None)
    except (ValueError, AttributeError, TypeError):
        return OpinionSeal(False, "封存记录的结构不正确 / the sealed record is malformed")
    if sealed is None:
        return OpinionSeal(
            False, "封存记录中没有这份专家意见 / the sealed record does not contain this opinion"
        )
    try:
        copy = comparable(str(sealed["expert_name"]), str(sealed["opinion"]), list(sealed.get("items") or []),
                          sealed.get("signature_sha256"))  # fmt: skip
    except (KeyError, TypeError, AttributeError):
        return OpinionSeal(False, "封存的专家意见结构不正确 / the sealed opinion is malformed")
    if copy != stored:
        return OpinionSeal(False, "专家意见与封存内容不一致 / the opinion differs from what was sealed")
    return OpinionSeal(True)

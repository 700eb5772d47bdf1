"""Reading one ledger cell: text, numbers, level, state, item code, money and 五到位."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from server.domain.hazards import HazardLevel
from server.domain.typed_cells import (
    CellRefused,
    LedgerState,
    parse_amount,
    parse_ledger_state,
    parse_level,
)
from server.errors import (
    # the catalogue's entries this module raises
    five_in_place_invalid,
    funds_invalid,
    item_unknown,
    level_invalid,
    text_too_long,
)
from server.services.ledger_excel.columns import _FIVE_WORDS, _MAX_FUNDS, FIVE_IN_PLACE_KEYS
from server.services.spreadsheet import (
    parse_flag,
    refused,
    shown,
    text,
)
from sync.problems import Problem

# --- Cells -----------------------------------------------------------------------------------------------------


def _clean(value: Any, limit: int) -> str:
    """Text with surrounding space removed and runs of spaces collapsed, line breaks kept."""
    lines = (" ".join(line.split()) for line in text(value).splitlines())
    cleaned = "\n".join(line for line in lines if line)
    if len(cleaned) > limit:
        raise text_too_long(value=shown(cleaned, 20), limit=limit)
    return cleaned


def _number(value: Any, limit: int) -> str:
    """A ledger number: full-width digits and letters folded (２ is 2), no spaces."""
    return _clean("".join(unicodedata.normalize("NFKC", text(value)).split()), limit)


def _level(value: Any) -> HazardLevel:
    try:
        return parse_level(value)
    except CellRefused:
        raise level_invalid(value=shown(value)) from None


def _state(value: Any) -> LedgerState:
    try:
        return parse_ledger_state(value)
    except CellRefused as error:
        raise refused(error) from None


def _item_code(value: Any) -> str:
    folded = "".join(unicodedata.normalize("NFKC", text(value)).split()).upper()
    match = re.fullmatch(r"([A-Z]{2,3})[-_]?(\d{1,2})", folded)
    if match is None:
        raise item_unknown(value=shown(value))
    return f"{match[1]}-{int(match[2])}"


def _money(value: Any, unit: Decimal) -> Decimal:
    """An amount in yuan, exact: the cell's own unit ("3万元") or else its column's (the header's)."""
    try:
        amount = parse_amount(value, unit)
    except CellRefused as error:
        raise funds_invalid(reason=error.message("zh"), reason_en=error.message("en")) from None
    if amount > _MAX_FUNDS:
        raise funds_invalid(
            reason=f"金额“{shown(value)}”过大", reason_en=f"the amount '{shown(value)}' is too large"
        )
    return amount


def _five_list(value: Any) -> dict[str, bool]:
    """One 五到位 column: 是/否 for all five, or the list of those in place (措施、责任、资金…)."""
    try:
        flag = parse_flag(value)
    except Problem:
        pass
    else:
        return dict.fromkeys(FIVE_IN_PLACE_KEYS, flag)
    chosen: set[str] = set()
    for part in re.split(r"[、,，;；/\s]+", unicodedata.normalize("NFKC", text(value))):
        part = part.strip().removesuffix("到位") or part
        if not part:
            continue
        found = _FIVE_WORDS.get(part.lower()) or _FIVE_WORDS.get(part)
        if found is None:
            raise five_in_place_invalid(value=shown(value))
        chosen.add(found)
    return {k: k in chosen for k in FIVE_IN_PLACE_KEYS}

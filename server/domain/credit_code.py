"""统一社会信用代码 (GB 32100-2015): normalisation, validation and construction."""

from __future__ import annotations

import unicodedata

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters a credit code may use (no I, O, Z, S, V)."""

WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
"""Weights of positions 1..17: 3^(i-1) mod 31."""

ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
"""Weights of the 8 body characters of a GB 11714 organisation code."""

REGISTRATION_AUTHORITIES: dict[str, str] = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}
"""Position 1 codes as GB 32100 and its later assignments list them."""

LENGTH = 18

_VALUE = {ch: i for i, ch in enumerate(CHARSET)}

_REASON_ZH = {
    "length": "长度应为 18 位",
    "charset": "含有不允许的字符",
    "registration_authority": "登记管理部门代码无效",
    "division_code": "登记管理机关行政区划码应为 6 位数字",
    "org_code_check": "组织机构代码校验位错误",
    "check_digit": "校验码错误",
}


class InvalidCreditCode(ValueError):
    """A string that is not a valid 统一社会信用代码; `reason` is a stable short key."""

    def __init__(self, code: str, reason: str, position: int | None, detail: str) -> None:
        self.code = code
        self.reason = reason
        self.position = position
        where = f"第 {position} 位" if position is not None else ""
        super().__init__(
            f"统一社会信用代码 {code!r} 无效：{where}{_REASON_ZH.get(reason, reason)} / "
            f"invalid unified social credit code {code!r}: {detail}"
        )


def normalize_credit_code(raw: str) -> str:
    """Return `raw` stripped, without inner spaces, full-width folded to half-width, upper-cased."""
    # NFKC folds full-width letters, digits and the ideographic space to ASCII.
    folded = unicodedata.normalize("NFKC", raw)
    return "".join(folded.split()).upper()


def _org_check_char(body8: str) -> str:
    """Return the GB 11714 check character of an 8-character organisation-code body."""
    total = 0
    for ch, weight in zip(body8, ORG_WEIGHTS, strict=True):
        if ch.isdigit() and ch.isascii():
            value = int(ch)
        elif "A" <= ch <= "Z":
            value = ord(ch) - ord("A") + 10
        else:
            raise ValueError(f"organisation code body character {ch!r} is not a digit or A-Z")
        total += value * weight
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def credit_code_check_char(first17: str) -> str:
    """Return the 18th (check) character for the first 17 characters of a credit code."""
    if len(first17) != LENGTH - 1:
        raise ValueError(f"expected 17 characters, got {len(first17)}")
    total = 0
    for i, ch in enumerate(first17):
        if ch not in _VALUE:
            raise ValueError(f"character {ch!r} at position {i + 1} is not in the credit-code charset")
        total += _VALUE[ch] * WEIGHTS[i]
    return CHARSET[(31 - total % 31) % 31]


def validate_credit_code(raw: str) -> str:
    """Return the normalised code, or raise InvalidCreditCode naming the first problem found."""
    code = normalize_credit_code(raw)
    if len(code) != LENGTH:
        raise InvalidCreditCode(code, "length", None, f"length is {len(code)}, expected 18")
    for i, ch in enumerate(code):
        if ch not in _VALUE:
            raise InvalidCreditCode(
                code, "charset", i + 1, f"character {ch!r} at position {i + 1} is not allowed"
            )
    if code[0] not in REGISTRATION_AUTHORITIES:
        raise InvalidCreditCode(
            code, "registration_authority", 1, f"unknown registration authority code {code[0]!r}"
        )
    for i in range(2, 8):
        if not code[i].isdigit():
            raise InvalidCreditCode(
                code, "division_code", i + 1, f"division code (positions 3-8) has {code[i]!r} at {i + 1}"
            )
    expected_org = _org_check_char(code[8:16])
    if code[16] != expected_org:
        raise InvalidCreditCode(
            code,
            "org_code_check",
            17,
            f"organisation code check character is {code[16]!r}, expected {expected_org!r}",
        )
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise InvalidCreditCode(
            code, "check_digit", 18, f"check character is {code[17]!r}, expected {expected!r}"
        )
    return code


def is_valid_credit_code(raw: str) -> bool:
    """Return True when `raw` normalises to a valid credit code."""
    try:
        validate_credit_code(raw)
    except InvalidCreditCode:
        return False
    return True


def make_credit_code(authority: str, type_code: str, division: str, org_body8: str) -> str:
    """Build a valid credit code from its parts, computing both check characters (for demo data)."""
    parts = [normalize_credit_code(p) for p in (authority, type_code, division, org_body8)]
    if [len(p) for p in parts] != [1, 1, 6, 8]:
        raise ValueError("expected 1 + 1 + 6 + 8 characters (authority, type, division, org body)")
    first16 = "".join(parts)
    for i, ch in enumerate(first16):
        if ch not in _VALUE:
            raise InvalidCreditCode(
                first16, "charset", i + 1, f"character {ch!r} at position {i + 1} is not allowed"
            )
    first17 = first16 + _org_check_char(first16[8:16])
    return validate_credit_code(first17 + credit_code_check_char(first17))

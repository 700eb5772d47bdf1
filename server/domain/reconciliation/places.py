"""Place rules: unit numbers that set places apart, areas of one kind, a place inside another, and how alike two places are."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.reconciliation.text import (
    _DIGITS,
    AREA_ENDINGS,
    GENERIC_PLACE_ENDINGS,
    MIN_CONTAINED,
    PLACE_HEAD,
    PLACE_SITE_MIN,
    SIDES,
    WHOLE_WORKS,
    _Grams,
    _grams_similarity,
    _lettered,
    _names_similarity,
    _numbers,
    normalise,
    unit_numbers_folded,
)

#: Opposite sides of a thing: a place on one side of it and one on the other are two places.
_OPPOSITE = {a: b for x, y in SIDES for a, b in ((x, y), (y, x))}


@dataclass(frozen=True, slots=True)
class _Place:
    grams: _Grams
    numbers: frozenset[str]
    #: The place without its unit numbers, looked for in the other record's description.
    core: str
    #: Its last character when that names an area of its own (``AREA_ENDINGS``), else "".
    area: str
    #: Its last ``PLACE_HEAD`` characters when it is longer, else "".
    head: str
    #: The core without a generic ending (``GENERIC_PLACE_ENDINGS``: "炼钢车间" → "炼钢"), "" when none or too short.
    site: str
    #: The core's name without its ending, generic or an area's ("喷砂房" → "喷砂"), "" when none or too short.
    name: _Grams
    #: Its sides of a thing ("炉前", "机尾": a character, or "^" at its start, and one of ``SIDES``), compared by
    #: ``_sides_conflict``.
    sides: frozenset[str]

    @classmethod
    def of(cls, place: str | None) -> _Place:
        text = normalise(place, drop_fillers=False)
        if text in WHOLE_WORKS:
            place, text = None, ""
        folded = unit_numbers_folded(place or "")
        grams = _Grams.of(text)
        core = _DIGITS.sub("", grams.text)
        area = core[-1] if core and core[-1] in AREA_ENDINGS else ""
        head = core[-PLACE_HEAD:] if len(core) > PLACE_HEAD else ""
        site = _site(core)
        name = site or (core[:-1] if area and len(core) > PLACE_SITE_MIN else "")
        return cls(
            grams,
            _numbers(_DIGITS.findall(folded)) | _lettered(folded),
            core,
            area,
            head,
            site,
            _Grams.of(name) if name else _NO_NAME,
            frozenset(("^" + core)[i : i + 2] for i in range(len(core)) if core[i] in _OPPOSITE),
        )


_NO_NAME = _Grams.of("")


def _site(core: str) -> str:
    """``core`` without its generic ending, "" when it has none or too little is left."""
    for ending in GENERIC_PLACE_ENDINGS:
        if core.endswith(ending):
            site = core[: -len(ending)]
            return site if len(site) >= PLACE_SITE_MIN else ""
    return ""


def _sides_conflict(a: _Place, b: _Place) -> bool:
    """One place is on one side of a thing and the other on the opposite side of the same thing ("转炉炉前操作室" /
    "转炉炉后操作室", "机头" / "机尾"), and neither names both."""
    return any(
        side[0] + _OPPOSITE[side[1]] in b.sides and side[0] + _OPPOSITE[side[1]] not in a.sides
        for side in a.sides - b.sides
    )


def _units_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both name numbered units, and neither's numbers include the other's ("1#高炉" vs "2#高炉")."""
    return bool(a and b) and not (a <= b or b <= a)


def _place_similarity(a: _Place, b: _Place) -> float | None:
    if not a.grams.text or not b.grams.text:
        return None
    if _units_conflict(a.numbers, b.numbers) or _sides_conflict(a, b):
        return 0.0
    short, long = sorted((a.grams.text, b.grams.text), key=len)
    if len(short) >= MIN_CONTAINED and short in long:
        return 1.0
    if a.name.text and b.name.text:
        # Both end in a generic word or an area's: the names decide ("炼钢车间" / "炼钢厂房" are one place,
        # "喷砂房" / "喷漆房" and "面粉车间" / "淀粉车间" two, though their endings make them look alike).
        return _names_similarity(a.name, b.name)
    similarity = _grams_similarity(a.grams, b.grams)
    if similarity < 1.0 and (a.site or b.site):
        # Without the generic ending: the same works named with another general word ("炼钢车间" / "炼钢厂房"),
        # or within the other's name ("煤气区域" / "煤气管道"); a shared ending alone is not a shared place.
        short, long = sorted((a.site or a.core, b.site or b.core), key=len)
        if len(short) >= PLACE_SITE_MIN and short in long:
            return 1.0
    return similarity


def place_similarity(a: str | None, b: str | None) -> float | None:
    """Similarity of two places in [0, 1] (containment counts as 1, different unit numbers as 0); None when
    either is missing."""
    return _place_similarity(_Place.of(a), _Place.of(b))

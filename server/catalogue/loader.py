"""Load and validate a checklist catalogue TOML file into frozen dataclasses.

A bad file is refused as a whole with every problem found, each naming its line and item, so that
a county can replace texts with its official copy and see at once what to fix.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from server.domain.applicability import ApplicabilityRule
from server.domain.hazards import HazardLevel
from server.domain.sectors import Sector

DEFAULT_CATALOGUE = "default-2022.toml"

MANAGEMENT_SECTOR = "management"
"""The `sector` of management items, which belong to no industry."""

ITEM_CODE_RE = re.compile(r"[A-Z]{2}-[0-9]+")
CATALOGUE_CODE_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
TERM_KEY_RE = re.compile(r"[a-z][a-z0-9_]*")

E = TypeVar("E", bound=StrEnum)


class Section(StrEnum):
    """Which part of the checklist an item belongs to."""

    key = "key"
    management = "management"


class Verification(StrEnum):
    """How well an item's text is verified against an official source."""

    official = "official"
    concordant_mirrors = "concordant_mirrors"
    single_mirror = "single_mirror"
    successor_standard = "successor_standard"
    reconstruction = "reconstruction"


@dataclass(frozen=True)
class ItemSpec:
    """One checklist item as the file describes it; `ordinal` is its 1-based position in the file."""

    code: str
    section: Section
    sector: str
    text: str
    default_level: HazardLevel
    legal_basis: str
    source: str
    verification: Verification
    applies_when: ApplicabilityRule
    ordinal: int


@dataclass(frozen=True)
class CatalogueSpec:
    """A validated catalogue version; `sha256` is the hash of its UTF-8 text."""

    code: str
    version: int
    title: str
    source: str
    effective_from: date
    effective_to: date | None
    notes: str
    five_terms: tuple[tuple[str, str], ...]
    items: tuple[ItemSpec, ...]
    sha256: str

    @property
    def key_items(self) -> tuple[ItemSpec, ...]:
        """Return the key items (重点检查事项) in file order."""
        return tuple(i for i in self.items if i.section is Section.key)

    @property
    def management_items(self) -> tuple[ItemSpec, ...]:
        """Return the management items in file order."""
        return tuple(i for i in self.items if i.section is Section.management)

    def item(self, code: str) -> ItemSpec:
        """Return the item with `code`, or raise KeyError."""
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(code)


@dataclass(frozen=True)
class CatalogueProblem:
    """One reason a catalogue file is refused; `item_index` is 0-based, the message shows it 1-based."""

    line: int | None
    item_index: int | None
    item_code: str | None
    message: str

    def describe(self, source_name: str) -> str:
        """Return the problem as one line, compiler style: `file:line: item #n (CODE): message`."""
        where = f"{source_name}:{self.line}" if self.line is not None else source_name
        what = ""
        if self.item_index is not None:
            what = f"item #{self.item_index + 1}"
            if self.item_code:
                what += f" ({self.item_code})"
            what += ": "
        return f"{where}: {what}{self.message}"


class CatalogueError(ValueError):
    """A catalogue file that was refused; `problems` lists everything found wrong."""

    def __init__(self, problems: list[CatalogueProblem], source_name: str = "<string>") -> None:
        self.problems = problems
        self.source_name = source_name
        lines = [p.describe(source_name) for p in problems]
        super().__init__(
            f"catalogue {source_name} refused, {len(problems)} problem(s):\n  " + "\n  ".join(lines)
        )


_CATALOGUE_REQUIRED = ("code", "version", "title", "source", "effective_from", "five_terms")
_CATALOGUE_OPTIONAL = ("effective_to", "notes")
_ITEM_REQUIRED = (
    "code",
    "section",
    "sector",
    "text",
    "default_level",
    "legal_basis",
    "source",
    "verification",
)
_ITEM_OPTIONAL = ("applies_when",)
_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")


class _Lines:
    """Finds the line of a table header or key in the raw text, for naming lines in semantic errors.

    tomllib keeps no positions, so this re-scans the text; lines inside multi-line strings could
    fool it, which at worst names a nearby line.
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[str, int]] = []  # (table name, 1-based line)
        for n, line in enumerate(self.lines, start=1):
            m = _HEADER_RE.match(line)
            if m:
                self.headers.append((m.group(2).strip(), n))
        self.item_headers = [n for name, n in self.headers if name == "items"]

    def _block(self, start: int) -> range:
        """Return the 1-based line numbers from header `start` up to the next header."""
        later = [n for _, n in self.headers if n > start]
        return range(start, (later[0] if later else len(self.lines) + 1))

    def _key_in(self, block: range, key: str) -> int | None:
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for n in block:
            if pattern.match(self.lines[n - 1]):
                return n
        return None

    def table(self, name: str) -> int | None:
        """Return the line of `[name]`, if present."""
        return next((n for table, n in self.headers if table == name), None)

    def table_key(self, name: str | None, key: str) -> int | None:
        """Return the line of `key` in table `name` (None: the top level), else the table header."""
        if name is None:
            first = self.headers[0][1] if self.headers else len(self.lines) + 1
            return self._key_in(range(1, first), key)
        start = self.table(name)
        if start is None:
            return None
        return self._key_in(self._block(start), key) or start

    def item(self, index: int, count: int, key: str = "code", code: str | None = None) -> int | None:
        """Return the line of `key` in item `index`, falling back to its code line, then its header."""
        if len(self.item_headers) == count:
            block = self._block(self.item_headers[index])
            return self._key_in(block, key) or self._key_in(block, "code") or self.item_headers[index]
        # Items written as an inline array: find the code's own text, if it is unique.
        if code is not None:
            pattern = re.compile(rf"\bcode\s*=\s*[\"']{re.escape(code)}[\"']")
            hits = [n for n, line in enumerate(self.lines, start=1) if pattern.search(line)]
            if len(hits) == 1:
                return hits[0]
        return None


class _Checker:
    """Collects problems while turning the parsed TOML into a CatalogueSpec."""

    def __init__(self, text: str) -> None:
        self.where = _Lines(text)
        self.problems: list[CatalogueProblem] = []

    def add(self, line: int | None, message: str, index: int | None = None, code: str | None = None) -> None:
        self.problems.append(CatalogueProblem(line, index, code, message))

    def check_catalogue(self, data: dict[str, Any]) -> dict[str, Any]:
        """Validate the top level and [catalogue]; return the header values that are usable."""
        for key in data:
            if key not in ("catalogue", "items"):
                line = self.where.table(key) or self.where.table_key(None, key)
                self.add(line, f"unknown top-level key or table {key!r} (allowed: [catalogue], [[items]])")
        header = data.get("catalogue")
        if not isinstance(header, dict):
            self.add(None, "missing [catalogue] table")
            return {}
        out: dict[str, Any] = {}

        def line_of(key: str) -> int | None:
            return self.where.table_key("catalogue", key)

        for key in header:
            if key not in _CATALOGUE_REQUIRED + _CATALOGUE_OPTIONAL:
                allowed = ", ".join(_CATALOGUE_REQUIRED + _CATALOGUE_OPTIONAL)
                hint = (
                    " (a key after [catalogue] belongs to it: write items as [[items]])"
                    if key == "items"
                    else ""
                )
                self.add(line_of(key), f"unknown key {key!r} in [catalogue] (allowed: {allowed}){hint}")
        for key in _CATALOGUE_REQUIRED:
            if key not in header:
                self.add(self.where.table("catalogue"), f"[catalogue] is missing {key!r}")

        for key in ("title", "source"):
            if key in header:
                value = header[key]
                if not isinstance(value, str) or not value.strip():
                    self.add(line_of(key), f"[catalogue] {key} must be a non-empty string")
                else:
                    out[key] = value.strip()
        if "code" in header:
            value = header["code"]
            if not isinstance(value, str) or not CATALOGUE_CODE_RE.fullmatch(value):
                self.add(
                    line_of("code"), f"[catalogue] code {value!r} must be lower-case letters, digits, '-'"
                )
            else:
                out["code"] = value
        if "version" in header:
            value = header["version"]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                self.add(line_of("version"), f"[catalogue] version must be a positive integer, got {value!r}")
            else:
                out["version"] = value
        for key in ("effective_from", "effective_to"):
            if key in header:
                value = header[key]
                # datetime is a date subclass; a time of day has no meaning for an effective date.
                if isinstance(value, datetime) or not isinstance(value, date):
                    self.add(line_of(key), f"[catalogue] {key} must be a date like 2022-05-02, got {value!r}")
                else:
                    out[key] = value
        start, end = out.get("effective_from"), out.get("effective_to")
        if start is not None and end is not None and end < start:
            self.add(line_of("effective_to"), f"effective_to {end} is before effective_from {start}")
        notes = header.get("notes", "")
        if not isinstance(notes, str):
            self.add(line_of("notes"), "[catalogue] notes must be a string")
        else:
            out["notes"] = notes.strip()
        if "five_terms" in header:
            out["five_terms"] = self._five_terms(header["five_terms"], line_of("five_terms"))
        return out

    def _five_terms(self, value: Any, line: int | None) -> tuple[tuple[str, str], ...]:
        """Validate the 五定 term list: [{key = "...", label = "..."}, ...], keys unique."""
        if not isinstance(value, list) or not value:
            self.add(line, "five_terms must be a non-empty list of {key, label} tables")
            return ()
        terms: list[tuple[str, str]] = []
        for n, term in enumerate(value, start=1):
            if not isinstance(term, dict) or set(term) != {"key", "label"}:
                self.add(line, f"five_terms entry {n} must be a table with exactly 'key' and 'label'")
                continue
            key, label = term["key"], term["label"]
            if not isinstance(key, str) or not TERM_KEY_RE.fullmatch(key):
                self.add(line, f"five_terms entry {n}: key {key!r} must be snake_case")
            elif not isinstance(label, str) or not label.strip():
                self.add(line, f"five_terms entry {n} ({key}): label must be a non-empty string")
            elif key in {k for k, _ in terms}:
                self.add(line, f"five_terms entry {n}: duplicate key {key!r}")
            else:
                terms.append((key, label.strip()))
        return tuple(terms)

    def check_items(self, raw: Any) -> list[ItemSpec]:
        """Validate every [[items]] table; return the items that passed."""
        if raw is None:
            self.add(None, "no [[items]] in the catalogue")
            return []
        if not isinstance(raw, list):
            self.add(self.where.table_key(None, "items"), "items must be an array of tables ([[items]])")
            return []
        items: list[ItemSpec] = []
        first_line: dict[str, int | None] = {}
        for index, entry in enumerate(raw):
            item = self._item(index, len(raw), entry, first_line)
            if item is not None:
                items.append(item)
        if not any(isinstance(e, dict) and e.get("section") == Section.key for e in raw):
            self.add(None, 'the catalogue has no key items (section = "key")')
        return items

    def _item(self, index: int, count: int, entry: Any, first_line: dict[str, int | None]) -> ItemSpec | None:
        """Validate one item; return it, or None after recording its problems."""
        if not isinstance(entry, dict):
            self.add(self.where.item(index, count), "item must be a table", index)
            return None
        raw_code = entry.get("code")
        code = raw_code if isinstance(raw_code, str) else None
        before = len(self.problems)

        def problem(key: str, message: str) -> None:
            self.add(self.where.item(index, count, key, code), message, index, code)

        for key in entry:
            if key not in _ITEM_REQUIRED + _ITEM_OPTIONAL:
                problem(key, f"unknown key {key!r} (allowed: {', '.join(_ITEM_REQUIRED + _ITEM_OPTIONAL)})")
        for key in _ITEM_REQUIRED:
            if key not in entry:
                problem("code", f"missing key {key!r}")
            elif not isinstance(entry[key], str):
                problem(key, f"{key} must be a string, got {type(entry[key]).__name__}")
        strings = {k: v for k, v in entry.items() if k in _ITEM_REQUIRED and isinstance(v, str)}

        if code is not None:
            if not ITEM_CODE_RE.fullmatch(code):
                problem(
                    "code", f"code {code!r} does not look like 'ST-1' (two capital letters, '-', a number)"
                )
            elif code in first_line:
                seen = first_line[code]
                also = f" (first at line {seen})" if seen is not None else ""
                problem("code", f"duplicate item code {code!r}{also}")
            else:
                first_line[code] = self.where.item(index, count, "code", code)
        for key in ("text", "source"):
            if key in strings and not strings[key].strip():
                problem(key, f"{key} must not be empty")

        section = self._choice(strings.get("section"), Section, "section", problem)
        level = self._choice(strings.get("default_level"), HazardLevel, "default_level", problem)
        verification = self._choice(strings.get("verification"), Verification, "verification", problem)
        sector = strings.get("sector")
        sectors = [s.value for s in Sector] + [MANAGEMENT_SECTOR]
        if sector is not None and sector not in sectors:
            problem("sector", f"unknown sector {sector!r} (known: {', '.join(sectors)})")
        elif (
            sector is not None
            and section is not None
            and (section is Section.management) != (sector == MANAGEMENT_SECTOR)
        ):
            problem("sector", f"sector {sector!r} does not fit section {section.value!r}")

        rule = ApplicabilityRule()
        if "applies_when" in entry:
            try:
                rule = ApplicabilityRule.from_dict(entry["applies_when"])
            except ValueError as exc:
                problem("applies_when", f"bad applies_when: {exc}")

        if len(self.problems) > before:
            return None
        assert section is not None and level is not None and verification is not None and code and sector
        return ItemSpec(
            code=code,
            section=section,
            sector=sector,
            text=strings["text"].strip(),
            default_level=level,
            legal_basis=strings["legal_basis"].strip(),
            source=strings["source"].strip(),
            verification=verification,
            applies_when=rule,
            ordinal=index + 1,
        )

    @staticmethod
    def _choice(value: str | None, enum: type[E], key: str, problem: Any) -> E | None:
        """Return `value` as a member of `enum`, or record a problem naming the allowed values."""
        if value is None:
            return None
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(m.value for m in enum)
            problem(key, f"unknown {key} {value!r} (allowed: {allowed})")
            return None


def parse_catalogue(text: str, source_name: str = "<string>") -> CatalogueSpec:
    """Parse and validate catalogue TOML `text`; raise CatalogueError listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+), column (\d+)", str(exc))
        line = int(m.group(1)) if m else None
        raise CatalogueError(
            [CatalogueProblem(line, None, None, f"TOML syntax error: {exc}")], source_name
        ) from exc
    checker = _Checker(text)
    header = checker.check_catalogue(data)
    items = checker.check_items(data.get("items"))
    if checker.problems:
        raise CatalogueError(checker.problems, source_name)
    return CatalogueSpec(
        code=header["code"],
        version=header["version"],
        title=header["title"],
        source=header["source"],
        effective_from=header["effective_from"],
        effective_to=header.get("effective_to"),
        notes=header.get("notes", ""),
        five_terms=header["five_terms"],
        items=tuple(items),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def load_catalogue_file(path: str | Path) -> CatalogueSpec:
    """Read, parse and validate the catalogue file at `path` (UTF-8, a BOM is tolerated)."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problem = CatalogueProblem(line, None, None, f"not valid UTF-8: {exc.reason} at byte {exc.start}")
        raise CatalogueError([problem], path.name) from exc
    return parse_catalogue(text, path.name)


def default_catalogue_path() -> Path:
    """Return the path of the default catalogue shipped with the code."""
    return Path(__file__).parent / DEFAULT_CATALOGUE

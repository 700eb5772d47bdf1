"""Every Chinese text in the web's templates goes through ``tr("中文", "English")``, so that a page shows one
language at a time: no Chinese left in the markup itself, no Chinese string outside ``tr``'s first argument, no
English argument with Chinese in it, and enumeration members are named with ``|label`` (not ``.label_zh``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import Environment
from jinja2.lexer import TOKEN_DATA, TOKEN_NAME, TOKEN_STRING

TEMPLATES = Path(__file__).resolve().parents[2] / "server" / "web" / "templates"
CJK = re.compile(r"[\u3400-\u9fff]")
#: The switch names each language in that language, whatever the page's language.
OWN_NAMES = {"中文"}
#: Error pages belong to the problem catalogue (server/errors.py), which renders them in the reader's language.
ERROR_PAGES = {"problem.html"}


def untranslated(source: str) -> list[str]:
    """Chinese texts of a template that do not go through ``tr``, and ``tr`` calls whose English is Chinese."""
    found: list[str] = []
    tokens = [t for t in Environment().lex(source) if t[1] != "whitespace"]
    for index, (line, kind, value) in enumerate(tokens):
        if kind == TOKEN_DATA:
            text = re.sub(r"<[^>]*>", " ", value)
            for name in OWN_NAMES:
                text = text.replace(name, "")
            for chunk in re.findall(r"[^\s<>]*[\u3400-\u9fff][^<>\n]*", text):
                found.append(f"line {line}: text {chunk.strip()!r}")
        elif kind == TOKEN_STRING and CJK.search(value):
            before = tokens[max(0, index - 2) : index]
            is_first_argument = (
                len(before) == 2
                and before[0][1] == TOKEN_NAME
                and before[0][2] == "tr"
                and before[1][2] == "("
            )
            if not is_first_argument:
                found.append(f"line {line}: string {value!r} outside tr()")
    for match in re.finditer(r"""tr\(\s*(["'])(.*?)\1\s*,\s*(["'])(.*?)\3""", source, re.S):
        if CJK.search(match.group(4)):
            found.append(f"English argument in Chinese: {match.group(4)!r}")
    found += [f"{m.group(0)} (use |label)" for m in re.finditer(r"\w+\.label_zh", source)]
    return found


@pytest.mark.parametrize(
    "name", sorted(p.name for p in TEMPLATES.glob("*.html") if p.name not in ERROR_PAGES)
)
def test_every_chinese_text_goes_through_tr(name: str) -> None:
    problems = untranslated((TEMPLATES / name).read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_the_check_finds_what_it_is_for() -> None:
    assert untranslated("<h1>检查覆盖 <small>Coverage by phase</small></h1>")
    assert untranslated("<button>{{ '退出' }}</button>")
    assert untranslated('{{ tr("退出", "退出") }}')
    assert untranslated("{{ s.label_zh }}")
    assert not untranslated('<h1>{{ tr("检查覆盖", "Coverage by phase") }}</h1> {{ s|label }} <b>中文</b>')

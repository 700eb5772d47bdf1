"""One error catalogue: every problem type is defined in server/errors.py (the sync library's own in
sync/problems.py), named by server.errors, and speaks of the same details in both languages."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from string import Formatter

import server.errors
from server.errors import FormProblems, field_required, form_invalid
from sync import problems

ROOT = Path(__file__).resolve().parents[2]
#: The only modules allowed to define problem types.
CATALOGUE_FILES = {ROOT / "server" / "errors.py", ROOT / "sync" / "problems.py"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _python_files() -> list[Path]:
    return sorted(
        p for d in ("server", "sync") for p in (ROOT / d).rglob("*.py") if "migrations" not in p.parts
    )


def _calls_define(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name == "define":
                lines.append(node.lineno)
    return lines


def test_problem_types_are_defined_only_in_the_catalogue() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _python_files()
        if path not in CATALOGUE_FILES
        for line in _calls_define(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert outside == [], f"define() outside server/errors.py and sync/problems.py: {outside}"


def test_server_errors_names_every_code_the_server_can_emit() -> None:
    named = {id(value) for value in vars(server.errors).values() if isinstance(value, problems.ProblemType)}
    missing = [code for code, kind in problems.catalogue().items() if id(kind) not in named]
    assert missing == []


def _placeholders(template: str) -> set[str]:
    """The details a template names, without the language suffix a detail carries for one language."""
    names = {field.split(".")[0].split("[")[0] for _, field, _, _ in Formatter().parse(template) if field}
    return {re.sub(r"_(zh|en)$", "", name) for name in names}


def test_every_code_names_the_same_details_in_chinese_and_english() -> None:
    differing = {
        code: (sorted(_placeholders(kind.zh)), sorted(_placeholders(kind.en)))
        for code, kind in problems.catalogue().items()
        if _placeholders(kind.zh) != _placeholders(kind.en)
    }
    assert differing == {}


def test_no_refusal_is_raised_with_a_doubled_chinese_english_text() -> None:
    """A refusal is a catalogue problem, never an inline "中文 / English" string in a raise or a form error."""
    doubled = []
    for area in ("services", "api", "sync_handlers", "web"):
        for path in sorted((ROOT / "server" / area).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Raise | ast.Return | ast.Assign):
                    continue
                if not (isinstance(node, ast.Raise) or _is_error_target(node)):
                    continue
                doubled.extend(
                    f"{path.relative_to(ROOT)}:{inner.lineno}"
                    for inner in ast.walk(node)
                    if isinstance(inner, ast.Constant)
                    and isinstance(inner.value, str)
                    and _doubled(inner.value)
                )
    assert doubled == []


def _doubled(text: str) -> bool:
    """Chinese, " / ", then English: the old way of writing one message in both languages."""
    zh, _, en = text.partition(" / ")
    return bool(en) and CJK.search(zh) is not None and en[:1].isascii()


def _is_error_target(node: ast.AST) -> bool:
    """An assignment into an ``errors[...]`` mapping, or a ``return None, "..."`` reason."""
    if isinstance(node, ast.Assign):
        return any(
            isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and "error" in t.value.id
            for t in node.targets
        )
    return isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple)


def test_a_refused_form_carries_one_problem_per_field_in_one_language_at_a_time() -> None:
    refused = FormProblems({"name": field_required(label="名称", label_en="The name")})
    assert refused.code == form_invalid.code and refused.status == 400
    assert refused.field_messages("zh") == {"name": "请填写名称。"}
    assert refused.field_messages("en") == {"name": "The name is required."}
    body = refused.to_dict("en")
    assert body["details"]["fields"]["name"][0]["code"] == field_required.code
    assert body["message"] == "1 field(s) of the form need correcting."

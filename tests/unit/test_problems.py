"""The error catalogue: stable, unique codes with messages in both languages."""

from __future__ import annotations

import re

import pytest

import server.errors  # noqa: F401  (registers the server's problems)
from sync import problems


def test_every_code_is_unique_well_formed_and_bilingual() -> None:
    catalogue = problems.catalogue()
    assert len(catalogue) >= 20
    for code, kind in catalogue.items():
        assert re.fullmatch(r"[1-5]\d\d\.\d+", code)
        assert code.split(".")[0] == str(kind.status)
        assert re.search(r"[\u4e00-\u9fff]", kind.zh), f"{code} has a Chinese message"
        assert kind.en.isascii(), f"{code} has an English message"


def test_a_code_cannot_be_redefined_differently() -> None:
    with pytest.raises(ValueError):
        problems.define("401.1", 401, "别的", "other")
    assert problems.define("401.1", 401, problems.unauthenticated.zh, problems.unauthenticated.en) is (
        problems.unauthenticated
    )
    with pytest.raises(ValueError):
        problems.define("404.99", 400, "错", "wrong status")


def test_problem_renders_details_in_both_languages() -> None:
    problem = problems.invalid_fields(fields="name")
    body = problem.to_dict("en")
    assert body["code"] == "400.2"
    assert body["message"] == "Some fields of the request are invalid: name"
    assert body["messages"]["zh-CN"] == "请求字段有误：name"
    assert body["details"] == {"fields": "name"}

"""Posting a form: run the change and commit, or roll it back and hand the page the errors to show."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from server.extensions import db
from server.services.portal import FormErrors
from sync.problems import Problem

T = TypeVar("T")


def commit_or_errors(change: Callable[[], T]) -> tuple[T | None, dict[str, str], int]:
    """``change()`` committed: (its result, {}, 200); refused (FormErrors by field, or a Problem for the form as a
    whole): rolled back, (None, the errors, the status to answer with). Nothing is half-saved."""
    try:
        result = change()
        db.session.commit()
        return result, {}, 200
    except FormErrors as refused:
        db.session.rollback()
        return None, refused.errors, refused.status
    except Problem as problem:
        db.session.rollback()
        return None, {"": f"{problem.message('zh')} / {problem.message('en')}"}, problem.status

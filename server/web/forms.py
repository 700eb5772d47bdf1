"""Posting a form: run the change and commit, or roll it back and hand the page the errors to show."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from server.errors import FormProblems, Problem
from server.extensions import db
from server.i18n import current_language

T = TypeVar("T")


def form_errors(problem: Problem) -> dict[str, str]:
    """A refusal as the page shows it, in the reader's language: by field for FormProblems, else the whole form's."""
    if isinstance(problem, FormProblems):
        return problem.field_messages(current_language())
    return {"": tr_problem(problem)}


def tr_problem(problem: Problem) -> str:
    """A problem's message in the reader's language (for a page or a flash)."""
    return problem.message(current_language())


def commit_or_errors(change: Callable[[], T]) -> tuple[T | None, dict[str, str], int]:
    """``change()`` committed: (its result, {}, 200); refused (FormProblems by field, or a Problem for the form as
    a whole): rolled back, (None, the errors in the reader's language, the status). Nothing is half-saved."""
    try:
        result = change()
        db.session.commit()
        return result, {}, 200
    except Problem as problem:
        db.session.rollback()
        return None, form_errors(problem), problem.status

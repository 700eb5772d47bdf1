"""The matcher's quality on the labelled finding/ledger pairs (bench/reconcile_quality.py): printed, and held at
least where the tuned rules stand so that a change that loses ground is seen (the targets, precision 0.95 and
recall 0.9 on unseen pairs, are not reached yet: see the figures the bench prints)."""

from __future__ import annotations

import pytest

from bench import reconcile_quality


def test_the_labelled_set_is_large_mixed_and_split() -> None:
    pairs = reconcile_quality.load_pairs()
    assert len(pairs) >= 80
    assert len({p["id"] for p in pairs}) == len(pairs)
    for split in ("tune", "holdout"):
        labels = {p["same"] for p in pairs if p["split"] == split}
        assert labels == {True, False}
    for pair in pairs:
        assert pair["finding"]["description"] and pair["entry"]["description"] and pair["what"]


def test_precision_and_recall_on_the_labelled_pairs(capsys: pytest.CaptureFixture[str]) -> None:
    figures = reconcile_quality.report(reconcile_quality.load_pairs())
    with capsys.disabled():
        print()
        for name, quality in figures.items():
            print("reconciliation", quality.line(name))
    assert figures["tune"].precision >= reconcile_quality.TARGET_PRECISION
    assert figures["all"].precision >= 0.93 and figures["all"].recall >= 0.78
    assert figures["holdout"].precision >= 0.88 and figures["holdout"].recall >= 0.67

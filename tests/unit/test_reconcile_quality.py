"""The matcher's quality on the labelled finding/ledger pairs (bench/reconcile_quality.py): printed, and held at
least where the tuned rules stand on the pairs they were tuned on, so that a change that loses ground is seen.
The holdouts' figures ('holdout-seen', the former holdout, and the fresh 'holdout') are printed, not asserted: the
targets (precision 0.95, recall 0.9 on unseen pairs) are not reached on them yet, and a floor on a holdout would
invite tuning to it."""

from __future__ import annotations

import pytest

from bench import reconcile_quality


def test_the_labelled_set_is_large_mixed_and_split() -> None:
    pairs = reconcile_quality.load_pairs()
    assert len(pairs) >= 80
    assert len({p["id"] for p in pairs}) == len(pairs)
    assert {p["split"] for p in pairs} == set(reconcile_quality.SPLITS)
    for split in reconcile_quality.SPLITS:
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
    tune = figures["tune"]
    assert (
        tune.precision >= reconcile_quality.TARGET_PRECISION
        and tune.recall >= reconcile_quality.TARGET_RECALL
    )
    assert tune.true_positive + tune.false_negative >= 80 and tune.false_positive + tune.true_negative >= 60

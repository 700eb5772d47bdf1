"""How well the reconciliation matcher pairs an inspector's finding with the enterprise's ledger entry for the
same hazard: precision and recall on the labelled pairs of tests/data/reconciliation_pairs.json.

    .venv/bin/python bench/reconcile_quality.py [--show-errors]

A pair counts as matched when ``server.domain.reconciliation.pair_score`` finds it compatible (the decision the
one-to-one assignment starts from). Prints precision, recall, F1 and the confusion counts on the 'tune' pairs (the
rules may be adjusted to them), on the 'holdout-seen' pairs (a former holdout, semi-seen: its figures and some of its
misses were read while planning a round; never tuned on), on the fresh 'holdout' pairs (never used to adjust them)
and on all; a split without pairs (between rounds) is printed as such. Targets: precision ≥ 0.95, recall ≥ 0.9 on the
holdout.

``--show-errors`` lists the tune pairs the matcher gets wrong, never the holdout's: a holdout whose errors have been
read is a tune set. ``--show-holdout-errors`` lists them too, for the note that closes a round of tuning (the pairs
shown then go to 'tune', and fresh pairs are written for the next holdout).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ROOT / "tests" / "data" / "reconciliation_pairs.json"
TARGET_PRECISION = 0.95
TARGET_RECALL = 0.9


@dataclass(frozen=True)
class Quality:
    """Counts of one set of labelled pairs and the figures drawn from them."""

    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int

    @property
    def precision(self) -> float:
        """Of the pairs matched, the share that are the same hazard (1.0 when none was matched)."""
        matched = self.true_positive + self.false_positive
        return self.true_positive / matched if matched else 1.0

    @property
    def recall(self) -> float:
        """Of the pairs that are the same hazard, the share matched (1.0 when there are none)."""
        same = self.true_positive + self.false_negative
        return self.true_positive / same if same else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (0.0 when both are 0)."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    @property
    def pairs(self) -> int:
        """How many pairs were measured."""
        return self.true_positive + self.false_positive + self.false_negative + self.true_negative

    def line(self, name: str) -> str:
        """One printed line of figures ("no pairs" for an empty split: its figures would read as perfect)."""
        total = self.pairs
        if not total:
            return f"{name:<12} pairs   0  (no pairs in this split)"
        return (
            f"{name:<12} pairs {total:>3}  precision {self.precision:.3f}  recall {self.recall:.3f}  "
            f"F1 {self.f1:.3f}  (tp {self.true_positive}, fp {self.false_positive}, fn {self.false_negative}, "
            f"tn {self.true_negative})"
        )


def load_pairs(path: Path = PAIRS) -> list[dict[str, Any]]:
    """The labelled pairs."""
    return list(json.loads(path.read_text(encoding="utf-8"))["pairs"])


def pair_score(pair: dict[str, Any]) -> Any:
    """The matcher's score of the pair's finding against its ledger entry (same dates: only wording counts)."""
    from server.domain.hazards import HazardLevel, HazardState
    from server.domain.reconciliation import Finding, LedgerEntry
    from server.domain.reconciliation import pair_score as score

    when = datetime(2026, 6, 1, tzinfo=UTC)
    f, e = pair["finding"], pair["entry"]
    finding = Finding(f"f{pair['id']}", f["item_code"], f["place"], f["description"], when, HazardLevel.general,
                      HazardState.found)  # fmt: skip
    entry = LedgerEntry(f"e{pair['id']}", e["item_code"], e["place"], e["description"], when, HazardLevel.general,
                        HazardState.found)  # fmt: skip
    return score(finding, entry)


def predicted_same(pair: dict[str, Any]) -> bool:
    """Whether the matcher would pair the finding with the entry."""
    return bool(pair_score(pair).compatible)


def measure(pairs: list[dict[str, Any]]) -> tuple[Quality, list[dict[str, Any]]]:
    """The figures for ``pairs`` and the pairs the matcher got wrong."""
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    wrong = []
    for pair in pairs:
        guess, truth = predicted_same(pair), bool(pair["same"])
        counts[("t" if guess == truth else "f") + ("p" if guess else "n")] += 1
        if guess != truth:
            wrong.append(pair)
    return Quality(counts["tp"], counts["fp"], counts["fn"], counts["tn"]), wrong


#: The splits, in the order printed: pairs the rules may be tuned on, a former holdout whose figures and some
#: misses were read while planning a round (semi-seen: reported apart, never tuned on), and the fresh holdout. A split
#: may be empty (between rounds, every pair is 'tune' until fresh pairs are added as 'holdout').
SPLITS = ("tune", "holdout-seen", "holdout")


def report(pairs: list[dict[str, Any]]) -> dict[str, Quality]:
    """Figures for each split (``SPLITS``) and the whole set."""
    figures = {name: measure([p for p in pairs if p["split"] == name])[0] for name in SPLITS}
    return {**figures, "all": measure(pairs)[0]}


def main() -> None:
    """Print precision and recall (and, with --show-errors, every pair the matcher gets wrong)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--show-errors", action="store_true", help="list the tune pairs the matcher gets wrong"
    )
    parser.add_argument(
        "--show-holdout-errors",
        action="store_true",
        help="list the holdout pairs it gets wrong too (spends them)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    pairs = load_pairs()
    same = sum(1 for p in pairs if p["same"])
    print(
        f"reconciliation quality: {len(pairs)} labelled pairs ({same} same hazard, {len(pairs) - same} not)"
    )
    for name, quality in report(pairs).items():
        print(quality.line(name))
    print(f"targets on the holdout: precision >= {TARGET_PRECISION}, recall >= {TARGET_RECALL}")
    if args.show_errors or args.show_holdout_errors:
        shown = pairs if args.show_holdout_errors else [p for p in pairs if p["split"] == "tune"]
        for pair in measure(shown)[1]:
            score = pair_score(pair)
            f, e = pair["finding"], pair["entry"]
            label = "missed" if pair["same"] else "wrongly matched"
            place = "—" if score.place is None else f"{score.place:.2f}"
            print(f"  #{pair['id']} [{pair['split']}] {label}: place {place}, description {score.description:.2f}  "
                  f"{f['place']}|{f['description']}  ~  {e['place']}|{e['description']}")  # fmt: skip


if __name__ == "__main__":
    main()

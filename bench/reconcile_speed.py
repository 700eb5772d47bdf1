"""How fast the reconciliation matcher decides the labelled pairs, against a baseline version of it in the same run.

    .venv/bin/python bench/reconcile_speed.py [--baseline main] [--repeat 7]

Loads ``server/domain/reconciliation`` as it is in the git revision ``--baseline`` (a second module, beside the
working tree's; with ``server/domain/hazard_concepts.py`` of that revision too, which it reads every text with),
and times with each: ``pair_score`` of every labelled pair of tests/data/reconciliation_pairs.json,
and ``match`` of every finding against every entry of those pairs (the matcher's hot loop, as a county runs it:
some 140,000 pairs). Prints the best of ``--repeat`` rounds (baseline and current in turn) for each and the ratio current / baseline.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reconcile_quality import load_pairs  # noqa: E402
from server.domain import reconciliation as current  # noqa: E402
from server.domain.hazards import HazardLevel, HazardState  # noqa: E402


def _git(*args: str, check: bool = True) -> str:
    """The output of a git command run in the repository."""
    return subprocess.run(["git", *args], cwd=ROOT, check=check, capture_output=True, text=True).stdout


def baseline_module(revision: str) -> ModuleType:
    """The matcher as it is in ``revision``, imported as a module of its own: one file, or (since the split) the
    package ``server/domain/reconciliation/``, copied with its imports of itself pointed at the copy."""
    folder = Path(tempfile.mkdtemp(prefix="reconcile-baseline-"))
    name = "reconciliation_baseline"
    tree = f"{revision}:server/domain/reconciliation"
    if _git("cat-file", "-t", tree, check=False).strip() == "tree":
        (folder / name).mkdir()
        concepts = _git("show", f"{revision}:server/domain/hazard_concepts.py", check=False)
        if concepts:
            (folder / f"{name}_concepts.py").write_text(concepts, encoding="utf-8")
        for file in _git("ls-tree", "--name-only", f"{tree}/").split():
            source = _git("show", f"{tree}/{file}").replace("server.domain.reconciliation", name)
            if concepts:
                source = source.replace("server.domain.hazard_concepts", f"{name}_concepts")
            (folder / name / file).write_text(source, encoding="utf-8")
        sys.path.insert(0, str(folder))
        return importlib.import_module(name)
    path = folder / f"{name}.py"
    path.write_text(_git("show", f"{tree}.py"), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def records(module: ModuleType, pairs: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """The pairs' findings and entries as ``module``'s records (one date: only wording counts)."""
    when = datetime(2026, 6, 1, tzinfo=UTC)
    findings, entries = [], []
    for pair in pairs:
        f, e = pair["finding"], pair["entry"]
        findings.append(module.Finding(f"f{pair['id']}", f["item_code"], f["place"], f["description"], when,
                                       HazardLevel.general, HazardState.found))  # fmt: skip
        entries.append(module.LedgerEntry(f"e{pair['id']}", e["item_code"], e["place"], e["description"], when,
                                          HazardLevel.general, HazardState.found))  # fmt: skip
    return findings, entries


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The shortest of ``repeat`` timed runs, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def runs(
    module: ModuleType, pairs: list[dict[str, Any]]
) -> tuple[Callable[[], object], Callable[[], object]]:
    """(pair_score of every pair, match of every finding against every entry) with ``module``."""
    findings, entries = records(module, pairs)

    def scores() -> None:
        for finding, entry in zip(findings, entries, strict=True):
            module.pair_score(finding, entry)

    return scores, lambda: module.match(findings, entries)


def timings(modules: list[ModuleType], pairs: list[dict[str, Any]], repeat: int) -> list[tuple[float, float]]:
    """For each module, the best (pair_score, match) seconds of ``repeat`` rounds; each round runs every module in
    turn, so that a busy moment of a shared machine weighs on all of them alike."""
    work = [runs(module, pairs) for module in modules]
    best = [[float("inf"), float("inf")] for _ in modules]
    for _ in range(repeat):
        for i, (scores, matching) in enumerate(work):
            best[i][0] = min(best[i][0], best_of(1, scores))
            best[i][1] = min(best[i][1], best_of(1, matching))
    return [(b[0], b[1]) for b in best]


def main() -> None:
    """Print the timings of the baseline and the current matcher and their ratio."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", default="main", help="git revision of the baseline")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    pairs = load_pairs()
    base, now = timings([baseline_module(args.baseline), current], pairs, args.repeat)
    print(f"reconciliation speed: {len(pairs)} labelled pairs, best of {args.repeat}")
    for name, b, n in (("pair_score, each pair", base[0], now[0]),
                       (f"match, {len(pairs)}x{len(pairs)}", base[1], now[1])):  # fmt: skip
        print(f"{name:<24} baseline {args.baseline} {b * 1000:8.1f} ms  current {n * 1000:8.1f} ms  "
              f"ratio {n / b:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

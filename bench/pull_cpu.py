"""Server CPU per pulled change, this tree against an earlier commit, alternating in one script.

    .venv/bin/python bench/pull_cpu.py [--database postgresql|sqlite] [--baseline HEAD~2] [--rounds 5]
                                       [--inspections 20]

One demo county is seeded; two worker processes then serve the same database, one running this tree's code and
one running the baseline commit's (extracted with ``git archive``). Each registers a supervisor's tablet and pulls
up to date; then inspections (answers, hazards, events) are pushed, and each worker in turn, round after round,
pulls them (pages of 500) through the Flask test client, then pulls as often with nothing new, and reports its
process CPU. Printed per round: CPU per change of the whole pull, and beyond an empty pull (what the changes
themselves cost), with the ratios baseline / this tree (the load on the machine varies; the ratio holds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import fresh_database, seeded_app  # noqa: E402
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch  # noqa: E402

#: The worker, run in either tree: only names both trees have (the app factory, the bench config, the test
#: device). It answers "ready" with its cursor taken, then one line of JSON per "pull" it is sent.
WORKER = """
import json, sys, time
from pathlib import Path
tree, url, instance, user, repeat = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4], int(sys.argv[5])
sys.path.insert(0, tree)
from bench._common import bench_config
from server import create_app
from tests.integration.sync_helpers import Device
app = create_app(bench_config(url, instance))
device = Device(app, user)
cursor = device.pull_all()[1]
print("ready", flush=True)
for line in sys.stdin:
    latest = device.pull_all(cursor)[1]  # warm: the statements' caches
    started, pulled = time.process_time(), 0
    for _ in range(repeat):
        pulled += len(device.pull_all(cursor)[0])
    cpu = time.process_time() - started
    started = time.process_time()
    for _ in range(repeat):
        device.pull_all(latest)
    empty = time.process_time() - started
    print(json.dumps({"cpu": cpu, "empty": empty, "changes": pulled}), flush=True)
"""


def baseline_tree(ref: str, into: Path) -> Path:
    """The files of commit ``ref`` of this repository, extracted under ``into``."""
    archive = into / "baseline.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "--output", str(archive), ref], check=True)
    tree = into / "baseline"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def run(database: str, ref: str, rounds: int, inspections: int, repeat: int, user: str) -> None:
    """Seed, start both workers, push, and alternate their pulls."""
    with fresh_database(database) as url, tempfile.TemporaryDirectory() as folder:
        app = seeded_app(url, Path(folder))
        trees = {"baseline": baseline_tree(ref, Path(folder)), "this tree": ROOT}
        workers = {
            name: subprocess.Popen(
                [sys.executable, "-c", WORKER, str(tree), url, folder, user, str(repeat)],
                cwd=tree,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for name, tree in trees.items()
        }
        try:
            for worker in workers.values():
                assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
            device = Device(app, "xx_insp1")
            enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
            for _ in range(inspections):
                assert (
                    device.push(inspection_batch(device, enterprise_id, catalogue_id, codes)[1]).status_code
                    == 200
                )
            ratios: dict[str, list[float]] = {"whole pull": [], "beyond an empty pull": []}
            for index in range(rounds):
                per_change: dict[str, dict[str, float]] = {"whole pull": {}, "beyond an empty pull": {}}
                for name, worker in workers.items():
                    assert worker.stdin is not None and worker.stdout is not None
                    worker.stdin.write("pull\n")
                    worker.stdin.flush()
                    figures = json.loads(worker.stdout.readline())
                    per_change["whole pull"][name] = figures["cpu"] / figures["changes"] * 1000
                    # What the changes themselves cost: the pull less a pull with nothing new (the request,
                    # the token, the counter's read), per change.
                    per_change["beyond an empty pull"][name] = (
                        (figures["cpu"] - figures["empty"]) / figures["changes"] * 1000
                    )
                line = []
                for kind, by_tree in per_change.items():
                    ratios[kind].append(by_tree["baseline"] / by_tree["this tree"])
                    line.append(f"{kind}: baseline {by_tree['baseline']:.3f} ms, this tree "
                                f"{by_tree['this tree']:.3f} ms, ratio {ratios[kind][-1]:.2f}")  # fmt: skip
                print(f"round {index + 1} ({figures['changes'] // repeat} changes a pull), CPU per change: "
                      + "; ".join(line), flush=True)  # fmt: skip
            for kind, values in ratios.items():
                print(f"{database}, {user}, CPU per change ({kind}): baseline {ref} / this tree, median of {rounds} "
                      f"rounds {statistics.median(values):.2f}× (min {min(values):.2f}, max {max(values):.2f})")  # fmt: skip
        finally:
            for worker in workers.values():
                if worker.stdin is not None:
                    worker.stdin.close()
                worker.wait(timeout=60)
            from server.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def main() -> None:
    """Parse the arguments and measure."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--baseline", default="HEAD~1", help="the commit to compare with (git ref)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--inspections", type=int, default=20, help="inspections pushed, then pulled each round"
    )
    parser.add_argument("--repeat", type=int, default=3, help="pulls per worker per round")
    parser.add_argument("--user", default="xx_sup", help="whose tablet pulls (a supervisor sees the region)")
    args = parser.parse_args()
    run(args.database, args.baseline, args.rounds, args.inspections, args.repeat, args.user)


if __name__ == "__main__":
    main()

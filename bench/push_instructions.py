"""Instructions the app executes for a push, counted by valgrind's callgrind: this tree against a baseline commit.

    .venv/bin/python bench/push_instructions.py [--baseline REF] [--database postgresql|sqlite] [--per-push 1 3]
        [--pushes 20]

CPU time through gunicorn varies ±20 % from run to run on a shared machine, so a change of a few per cent cannot be
told from noise; instruction counts repeat to within 0.2 %. For each tree (the baseline exported with ``git
archive``) and each batch size, a fresh database is seeded natively, then a worker runs under callgrind with
collection switched on only around ``--pushes`` in-process pushes of ``--per-push`` realistic inspections (the
bodies built before), through Flask's test client; the same for as many trivial requests (GET /healthz). Counts
the app's process only: the database server's work is not in them (bench/devices.py prints its CPU).

Needs valgrind, its headers (valgrind/callgrind.h) and a C compiler, to build the two-function library that
switches collection on and off.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import fresh_database  # noqa: E402
from bench.push_cpu import export  # noqa: E402

#: Switches callgrind's collection on (counts zeroed) and off (counts written out) around the measured part.
_TOGGLE_C = """
#include <valgrind/callgrind.h>
void measure_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void measure_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS_AT("measured"); }
"""

#: Seeds the database with the measured tree's own code (its migrations and demo data).
_SEED = """
import sys
from pathlib import Path
sys.path.insert(0, ".")
from bench._common import seeded_app
from server.extensions import db
app = seeded_app(sys.argv[1], Path(sys.argv[2]))
with app.app_context():
    db.session.remove()
    db.engine.dispose()
"""

#: Runs under callgrind in the measured tree: warm pushes, then the counted ones (or trivial requests).
_WORKER = """
import ctypes, sys
from pathlib import Path
sys.path.insert(0, ".")
from bench._common import bench_config
from server import create_app
from server.extensions import db
from tests.integration.sync_helpers import Device, enterprise_and_catalogue, inspection_batch
toggle = ctypes.CDLL(sys.argv[1])
url, instance, per_push, pushes, trivial = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1"
app = create_app(bench_config(url, instance))
device = Device(app, "xx_insp1")
enterprise_id, catalogue_id, codes = enterprise_and_catalogue(app)
def batch():
    mutations = []
    for _ in range(per_push):
        mutations += inspection_batch(device, enterprise_id, catalogue_id, codes)[1]
    return mutations
for _ in range(5):  # caches, prepared statements, the first catalogue load
    assert device.push(batch()).status_code == 200
bodies = [batch() for _ in range(pushes)]
client = app.test_client()
for _ in range(20):
    client.get("/healthz")
toggle.measure_start()
if trivial:
    for _ in range(pushes):
        client.get("/healthz")
else:
    for body in bodies:
        device.push(body)
toggle.measure_stop()
with app.app_context():
    db.session.remove()
    db.engine.dispose()
"""


def toggle_library(folder: Path) -> Path:
    """The collection switch built into ``folder``."""
    source, library = folder / "toggle.c", folder / "toggle.so"
    source.write_text(_TOGGLE_C)
    subprocess.run([os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O2", "-o", library, source], check=True)
    return library


def instructions(
    tree: Path, database: str, toggle: Path, per_push: int, pushes: int, *, trivial: bool
) -> int:
    """Instructions of ``pushes`` pushes (or trivial requests) in ``tree``'s app, on a freshly seeded database."""
    with fresh_database(database) as url, tempfile.TemporaryDirectory() as folder:
        instance = Path(folder) / "instance"
        subprocess.run(
            [sys.executable, "-c", _SEED, url, instance], cwd=tree, check=True, capture_output=True
        )
        out = Path(folder) / "callgrind.out"
        subprocess.run(
            [
                "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                sys.executable, "-c", _WORKER, str(toggle), url, str(instance), str(per_push), str(pushes),
                "1" if trivial else "0",
            ],
            cwd=tree, check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"},
        )  # fmt: skip
        # The dump made at measure_stop() is written beside the final one, with a numbered suffix.
        dumps = [path for path in Path(folder).glob("callgrind.out*") if path != out]
        totals = [re.search(r"^totals: (\d+)", dump.read_text(), re.MULTILINE) for dump in dumps]
        counted = [int(match.group(1)) for match in totals if match]
        if len(counted) != 1:
            raise RuntimeError(f"expected one measured dump, found {len(counted)}")
        return counted[0]


def main() -> int:
    """Count both trees and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", default="HEAD", help="the commit to compare this tree with")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--per-push", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--pushes", type=int, default=20)
    args = parser.parse_args()
    missing = [tool for tool in ("valgrind", os.environ.get("CC", "cc")) if shutil.which(tool) is None]
    if missing:
        print(f"needs {' and '.join(missing)} (Debian: apt-get install valgrind gcc)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        toggle = toggle_library(Path(folder))
        trees = {"old": export(args.baseline, Path(folder) / "baseline"), "new": ROOT}
        trivial = {name: instructions(tree, args.database, toggle, 1, 200, trivial=True) / 200
                   for name, tree in trees.items()}  # fmt: skip
        print(
            f"{args.database}: instructions of the app's process, per request (callgrind; the database's not counted)"
        )
        for name in trees:
            print(f"  {name}: trivial GET /healthz {trivial[name] / 1e6:8.3f} M")
        for per_push in args.per_push:
            counts = {
                name: instructions(tree, args.database, toggle, per_push, args.pushes, trivial=False)
                / args.pushes
                for name, tree in trees.items()
            }
            print(f"--- pushes of {per_push} inspection(s), {args.pushes} counted")
            for name in trees:
                per_inspection = counts[name] / per_push
                print(f"  {name}: {counts[name] / 1e6:8.2f} M per push, {per_inspection / 1e6:7.2f} M per inspection "
                      f"= {per_inspection / trivial[name]:5.1f} trivial requests")  # fmt: skip
            print(f"  new/old: {counts['new'] / counts['old']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

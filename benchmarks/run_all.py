"""Run every benchmark and regenerate benchmarks/RESULTS.md: ``python benchmarks/run_all.py``.

Each script rewrites its own section of RESULTS.md (machine and date included), so
the report is always the set of the latest runs. Extra arguments are passed to the
per-element benchmarks (``--runs``); ``--quick`` measures at 10^6 elements and 10^7
synapses only (``first_network.py --quick``: its smallest network, one process per row, printed and not
written). ``first_network.py`` runs Brian2 from ``$BRIAN2_PYTHON`` when set (Brian2 2.9 needs numpy < 2.4).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a fast look")
    args = parser.parse_args()
    sizes = ["--sizes", "1000000"] if args.quick else []
    commands = [
        ["distributions.py", "--runs", str(args.runs), *sizes],
        ["combinators.py", "--runs", str(args.runs), *sizes],
        ["ensembles.py", "--runs", str(args.runs)],
        ["topology.py", *(["--big-n", "30000"] if args.quick else [])],
        ["first_network.py", *(["--quick"] if args.quick else [])],
    ]
    for script, *rest in commands:
        print(f"== {script} {' '.join(rest)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *rest], check=True)
    print(f"\nwritten: {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()

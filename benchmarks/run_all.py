"""Run every benchmark and regenerate benchmarks/RESULTS.md: ``python benchmarks/run_all.py``.

Each script rewrites its own section of RESULTS.md (machine and date included), so the report
is always the set of the latest runs. The scripts, in order, with their time on the 2-core
machine of the figures (topology.py's from its docstring, first_network.py's and
microcircuit.py's from their last runs' records, the others estimated from their RESULTS rows):

* ``distributions.py`` (section "distributions", ~5 min: ``jax.random``'s gamma and beta at
  10⁷ take 12-21 s a call), ``combinators.py`` ("combinators", ~2 min) and ``ensembles.py``
  ("ensembles", ~2 min), with ``--runs``;
* ``topology.py`` ("topology_rules": every connectivity rule against NEST, braintools, igraph
  and networkx at 10⁶ synapses, ~15 min; "topology": the E/I and weighted builders, ~10 min);
* ``first_network.py`` ("first_network": time to first network, jaxinit against NEST and
  Brian2 in fresh processes, ~9 min; Brian2 runs from ``--brian2-python``, default
  ``$BRIAN2_PYTHON``, since Brian2 2.9 does not import beside numpy >= 2.4; without one its
  rows say why they are missing);
* ``microcircuit.py --scale 1.0 --write`` ("microcircuit": the full-scale Potjans–Diesmann
  circuit, jaxinit against NEST with 4 threads, ~5 min and 12 GiB for NEST; the first run
  appends this section at the end of RESULTS.md, beside the hand-written "Full scale" text);
* ``spatial.py`` (~3 min): "spatial" (distance_probability beside NEST's spatial
  ``pairwise_bernoulli``, distance_topology, and 10⁶ neurons cold);
* ``sharded.py`` (~4 min): "sharded" (per-device memory and time of sharded builds on 8
  emulated CPU devices).

In all about 50 minutes, estimated from those figures (not yet timed end to end; each script
prints its time as it finishes). ``--dry-run`` lists the commands without running them.
jaxinit is measured as committed at HEAD (``--jaxinit-commit``) where a script supports it.
``--quick`` runs everything at small sizes (10⁶ elements, 10⁵ synapses per rule, the
10⁴-neuron network, the microcircuit at scale 0.05; roughly 10 minutes, estimated) and leaves
RESULTS.md as it was: a smoke test of the scripts, not figures. ``--only`` runs some scripts
(by name, e.g. ``--only first_network``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"


def _commit() -> str:
    out = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "HEAD"


def commands(runs: int, quick: bool, brian2_python: str | None, commit: str) -> list[list[str]]:
    """The benchmark scripts with their arguments, in the order they run.

    Args:
      runs: warm runs per measurement for the per-element benchmarks.
      quick: small sizes and at most 3 runs, and nothing written (the scripts that can be told
        so; :func:`main` restores RESULTS.md after the others).
      brian2_python: an interpreter with Brian2 for ``first_network.py``, or ``None``.
      commit: the jaxinit revision the scripts that take ``--jaxinit-commit`` measure.

    Returns:
      One ``[script, *arguments]`` per run.

    Example:
      >>> [c[0] for c in commands(7, False, None, "HEAD")][:3]
      ['distributions.py', 'combinators.py', 'ensembles.py']
    """
    sizes = ["--sizes", "1000000"] if quick else []
    runs = min(runs, 3) if quick else runs
    brian2 = ["--brian2-python", brian2_python] if brian2_python else []
    topology = ["--rules", "pairwise_bernoulli,fixed_indegree", "--scale", "1e5", "--big-n", "30000", "--no-write"]
    return [
        ["distributions.py", "--runs", str(runs), *sizes],
        ["combinators.py", "--runs", str(runs), *sizes],
        ["ensembles.py", "--runs", str(runs)],
        ["topology.py", "--jaxinit-commit", commit, *(topology if quick else [])],
        ["first_network.py", "--jaxinit-commit", commit, *brian2, *(["--quick"] if quick else [])],
        [
            "microcircuit.py",
            "--jaxinit-commit",
            commit,
            *(["--scale", "0.05", "--repeats", "1"] if quick else ["--scale", "1.0", "--repeats", "1", "--write"]),
        ],
        ["spatial.py", *(["--skip-big"] if quick else [])],
        ["sharded.py", *(["--print"] if quick else [])],
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog="Scripts: " + ", ".join(c[0] for c in commands(7, False, None, ""))
    )
    parser.add_argument("--runs", type=int, default=7, help="warm runs per measurement (per-element benchmarks)")
    parser.add_argument("--quick", action="store_true", help="small sizes, RESULTS.md left as it was")
    parser.add_argument("--only", default="", help="comma-separated script names to run (default: all)")
    parser.add_argument("--brian2-python", default=None, help="interpreter with Brian2 (default: $BRIAN2_PYTHON)")
    parser.add_argument("--dry-run", action="store_true", help="list the commands, run nothing")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be >= 1, got {args.runs}")
    todo = commands(args.runs, args.quick, args.brian2_python, _commit())
    names = {c[0].removesuffix(".py") for c in todo}
    only = {x.removesuffix(".py") for x in args.only.split(",") if x}
    if only - names:
        parser.error(f"--only takes {', '.join(sorted(names))}; got {', '.join(sorted(only - names))}")
    todo = [c for c in todo if not only or c[0].removesuffix(".py") in only]
    if args.dry_run:
        for script, *rest in todo:
            print(" ".join([sys.executable, str(HERE / script), *rest]))
        return

    before = RESULTS.read_text() if args.quick else None
    start = time.perf_counter()
    try:
        for script, *rest in todo:
            print(f"== {script} {' '.join(rest)}", flush=True)
            began = time.perf_counter()
            subprocess.run([sys.executable, str(HERE / script), *rest], check=True)
            print(f"== {script}: {time.perf_counter() - began:.0f} s", flush=True)
    finally:
        if before is not None:  # a smoke test: the figures at small sizes are not results
            RESULTS.write_text(before)
    state = "left as it was (--quick)" if args.quick else "written"
    print(f"\nall done in {(time.perf_counter() - start) / 60:.1f} min; {RESULTS}: {state}")


if __name__ == "__main__":
    main()

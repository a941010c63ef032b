"""Sparse topologies at scale: each connectivity rule against NEST, braintools, igraph, networkx.

Run: ``python benchmarks/topology.py [--rules all] [--scale 1e6,1e7] [--builders all]``
(Linux: memory is read from ``/proc``). Every measurement is a fresh process, one at a
time. Two tables, each rewriting its own section of RESULTS.md (``--no-write`` prints only):

* ``--rules`` (section "topology_rules"): each rule (``pairwise_bernoulli`` at p = 0.1 and,
  as ``pairwise_bernoulli_sparse``, at p = 0.01, ``fixed_total_number``, ``fixed_indegree``,
  ``fixed_outdegree``, ``one_to_one``, ``all_to_all``, ``distance_probability``,
  ``small_world``, ``scale_free``, ``regular``, ``stochastic_block``, ``ring``, ``grid``;
  ``all``, ``none`` or a comma list) at each synapse count of ``--scale``, built by jaxinit
  and by every peer that has the rule (``--peers``), with the same sizes and
  autapse/multapse settings: cold time (process start, imports and XLA compilation
  included; compilations counted), warm time, peak memory, ratios against jaxinit, and a
  check that the synapse counts agree. The rules,
  peers and what is skipped (too slow or too large for a peer) are in ``_rules.py``.
  jaxinit is measured as committed (``--jaxinit-commit``, default HEAD), not from the
  working tree. ``--log FILE`` appends each result to a JSON-lines file and renders all it
  holds, so that sizes run apart end up in one table (``--render``: no measuring). Time, on
  the 2-core machine: about 15 min at ``--scale 1e6``, 25 min at ``1e7`` (networkx is not
  run past 2·10⁶ synapses; a process is stopped past ``--timeout``, 300 s, or 8 GiB).
* ``--builders`` (section "topology"): the E/I and weighted builders at ``--big-n`` and
  ``--small-n`` (about 10 min). Two memory figures there: the process's peak resident
  memory over its whole life (JAX runtime and XLA compilation included), and the bytes per
  synapse that building takes: the peak during the first call (the kernel's high-water
  mark is reset just before it) above the memory just before it; times are of the second
  call; jaxinit's compile time (lower + compile) and memory are reported apart.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


BLOCK_SIZE = 2**18  # what the `block_size` rows pass to with_weights


def _peak_bytes() -> int:
    """The process's peak resident memory over its whole life."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _measure_call(call):
    """Seconds, result and bytes above the memory before the call at the call's peak."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM, the high-water mark, to the current resident memory
    before = _status_bytes("VmRSS")
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    return seconds, result, _status_bytes("VmHWM") - before


def _jaxinit(case: str, n: int, p: float):
    import jax

    import jaxinit as ji
    from jaxinit import topology as T

    key = jax.random.key(0)
    if case == "balanced_ei_network":

        def build(k):
            return T.balanced_ei_network(k, 10, n, 10, p, 0.8, 1.0, 0.1)[1]
    elif case == "random_topology+weights":

        def build(k):
            return T.with_weights(k, T.random_topology(k, n, p=p), ji.normal(0.0, 1.0))
    elif case == "random_topology+weights, block_size":

        def build(k):
            return T.with_weights(k, T.random_topology(k, n, p=p), ji.normal(0.0, 1.0), block_size=BLOCK_SIZE)
    elif case == "fixed_indegree":

        def build(k):
            return T.fixed_indegree(k, n, None, round(p * n))
    elif case == "distance_topology":
        positions = jax.random.uniform(jax.random.key(3), (n, 2), maxval=1000.0)
        profile = ji.profiles.gaussian(100.0)

        def build(k):
            return T.distance_topology(k, positions, profile=profile, k=round(p * n))
    elif case == "excitatory_inhibitory":

        def build(k):
            return T.excitatory_inhibitory(k, n, 0.8, p, 2 * p, ji.normal(0.5, 0.1), ji.normal(1.0, 0.2))
    else:
        raise ValueError(case)
    compile_s, compiled, compile_bytes = _measure_call(lambda: jax.jit(build).lower(key).compile())
    # memory on the first run (freed buffers stay resident for the next); time on the second
    _, conn, run_bytes = _measure_call(lambda: jax.block_until_ready(compiled(jax.random.key(1))))
    del conn
    run_s, conn, _ = _measure_call(lambda: jax.block_until_ready(compiled(jax.random.key(2))))
    return {
        "nnz": conn.nnz,
        "run_s": run_s,
        "compile_s": compile_s,
        "compile_bytes": compile_bytes,
        "run_bytes": run_bytes,
        "peak": _peak_bytes(),
    }


def _numpy_result(nnz: int, run_s: float, run_bytes: int) -> dict:
    peak = _peak_bytes()
    return {"nnz": nnz, "run_s": run_s, "compile_s": 0.0, "compile_bytes": 0, "run_bytes": run_bytes, "peak": peak}


def _braintools(case: str, n: int, p: float):
    import numpy as np
    from braintools import conn

    if case == "braintools Random":
        builder = conn.Random(prob=p, seed=0) if "seed" in conn.Random.__init__.__code__.co_varnames else conn.Random(p)
    else:
        builder = conn.ExcitatoryInhibitory(exc_ratio=0.8, exc_prob=p, inh_prob=2 * p, exc_weight=1.0, inh_weight=1.0)
    np.random.seed(0)
    run_s, result, run_bytes = _measure_call(lambda: builder(pre_size=n, post_size=n))
    nnz = len(np.asarray(result.pre_indices))
    return _numpy_result(nnz, run_s, run_bytes)


def _hetero_numpy(n: int, p: float):
    """The exact-count algorithm of hetero.networks, in plain numpy: choice over N² without replacement."""
    import numpy as np

    rng = np.random.default_rng(0)
    n_syn = round(n * n * p)

    def build():
        flat = np.sort(rng.choice(n * n, n_syn, replace=False))
        rows, cols = flat // n, flat % n
        # autapses are moved to a fresh presynaptic partner, as the original does
        for i in np.flatnonzero(rows == cols):
            taken = set(cols[rows == rows[i]].tolist())
            while cols[i] in taken:
                cols[i] = rng.integers(n)
        return rows, cols, rng.normal(1.0, 0.1, n_syn)

    run_s, _, run_bytes = _measure_call(build)
    return _numpy_result(n_syn, run_s, run_bytes)


def run_one(case: str, n: int, p: float) -> dict:
    if case.startswith("braintools"):
        return _braintools(case, n, p)
    if case == "hetero (numpy)":
        return _hetero_numpy(n, p)
    return _jaxinit(case, n, p)


def measure(case: str, n: int, p: float, timeout: int = 1800) -> dict:
    command = [sys.executable, __file__, "--one", case, "--n", str(n), "--p", str(p)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if result.returncode != 0:
        # the exception's own line, not JAX's note on filtered frames that may follow it
        lines = result.stderr.strip().splitlines() or ["failed"]
        return {"error": next((x for x in reversed(lines) if "Error" in x), lines[-1]).strip()[:160]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def _row(case, n, r):
    if "error" in r:
        return f"| {case} | {n:.0e} | failed: {r['error']} | | | | | | |"
    rate = r["nnz"] / r["run_s"]
    return (
        f"| {case} | {n:.0e} | {r['nnz']:.3g} | {r['run_s']:.2f} | {r['compile_s']:.1f} | {rate:.3g} |"
        f" {r['run_bytes'] / r['nnz']:.1f} | {r['compile_bytes'] / 2**20:.0f} | {r['peak'] / 2**30:.2f} |"
    )


def _rules_header(results: list[dict], seconds: float | None) -> str:
    from benchmarks._rules import NEST_THREADS
    from benchmarks._timing import machine

    commits = sorted({r["commit"] for r in results if "commit" in r})
    versions = {}
    for r in results:
        if r.get("version") and r["library"] != "jaxinit":
            versions.setdefault(r["library"], r["version"].split(", from")[0])
    loads = [x for r in results for x in r.get("load", [])]
    load = f"load average (1 min) {min(loads):.1f}-{max(loads):.1f}" if loads else "load not recorded"
    named = ", ".join(f"{lib} {v}" for lib, v in versions.items())
    return (
        f"Machine: {machine()} (`lscpu`: AMD EPYC, family 25, 1 thread per core, KVM guest), 24 GiB shared"
        f" with other workers ({load} over the run: the machine was loaded, so the times are noisy)."
        f" jaxinit as committed at {', '.join(commits)} (exported with `git archive`); {named}."
        f" NEST ran {NEST_THREADS} threads."
    ) + (f" The run took {seconds / 60:.0f} min." if seconds else "")


def run_rules(args) -> None:
    """The per-rule table: each rule, each size, jaxinit and each peer that has the rule."""
    from benchmarks._rules import PEERS, RULES, export_jaxinit, measure, render, skip_reason

    rules = list(RULES) if args.rules == "all" else args.rules.split(",")
    peers = PEERS if args.peers == "all" else tuple(args.peers.split(","))
    scales = [float(x) for x in args.scale.split(",")]
    log = Path(args.log) if args.log else None
    jaxinit_path, commit = export_jaxinit(args.jaxinit_commit) if not args.render else (None, None)
    start = time.time()
    results = []
    for synapses in scales if not args.render else []:
        for rule in rules:
            for library in ("jaxinit", *(p for p in peers if p in RULES[rule].peers)):
                reason = None if library == "jaxinit" else skip_reason(rule, library, synapses)
                if reason:
                    r = {"rule": rule, "library": library, "synapses": synapses, "skipped": f"not run: {reason}"}
                else:
                    r = measure(rule, library, synapses, args.timeout, jaxinit_path)
                    r["commit"] = commit
                results.append(r)
                brief = {k: r.get(k) for k in ("nnz", "cold_s", "warm_s", "compiles", "warm_compiles", "error")}
                print(rule, f"{synapses:.0e}", library, brief, r.get("load"), flush=True)
                if log:
                    with log.open("a") as f:
                        f.write(json.dumps(r) + "\n")
    if log:  # everything logged so far, the latest row of each (rule, size, library)
        latest = {}
        for line in log.read_text().splitlines():
            r = json.loads(line)
            latest[(r["rule"], r["synapses"], r["library"])] = r
        results = list(latest.values())
    markdown = render(results, _rules_header(results, None if args.render else time.time() - start))
    print(markdown)
    if not args.no_write:
        from benchmarks._timing import write_section

        write_section("topology_rules", markdown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-n", type=int, default=100_000)
    parser.add_argument("--small-n", type=int, default=10_000)
    parser.add_argument("--builders", default="all", help="'all' or 'none': the builder table (section 'topology')")
    parser.add_argument("--rules", default="all", help="'all', 'none' or a comma list of rules (see _rules.RULES)")
    parser.add_argument("--scale", default="1e6", help="comma list of synapse counts per rule, e.g. 1e6,1e7")
    parser.add_argument("--peers", default="all", help="'all' or a comma list of nest,braintools,igraph,networkx")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per process")
    parser.add_argument("--log", help="append each rule's result to this JSON-lines file; render all it holds")
    parser.add_argument("--render", action="store_true", help="measure nothing: render what --log holds")
    parser.add_argument("--jaxinit-commit", default="HEAD", help="measure jaxinit as committed at this revision")
    parser.add_argument("--no-write", action="store_true", help="print, do not rewrite RESULTS.md")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--p", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.n, args.p)))
        return
    if args.rules != "none":
        run_rules(args)
    if args.builders == "none":
        return
    from benchmarks._timing import machine, write_section

    big_p = 1e8 / args.big_n**2
    ours_case = "random_topology+weights, block_size"
    rows = []
    for case in ("balanced_ei_network", ours_case, "random_topology+weights"):
        r = measure(case, args.big_n, big_p)
        rows.append((case, args.big_n, r))
        print(_row(case, args.big_n, r), flush=True)
    side_by_side = {}
    for case in (
        ours_case,
        "random_topology+weights",
        "excitatory_inhibitory",
        "fixed_indegree",
        "distance_topology",
        "braintools Random",
        "braintools ExcitatoryInhibitory",
        "hetero (numpy)",
    ):
        r = measure(case, args.small_n, 0.1)
        side_by_side[case] = r
        rows.append((case, args.small_n, r))
        print(_row(case, args.small_n, r), flush=True)

    lines = [
        "## Sparse topology (`benchmarks/topology.py`)",
        "",
        f"Machine: {machine()}.",
        "",
        "Each row in a fresh process. Run = warm call of the jitted builder (jaxinit) or one call (numpy",
        "peers); compile = jaxinit's lower + compile, timed and measured apart. Build bytes/synapse = the",
        "resident-memory high-water mark during the first call above the memory just before it; process peak =",
        "the peak over the process's life (JAX runtime and compilation included). Weights are",
        f"`ji.normal(0, 1)`; `block_size` rows pass `block_size={BLOCK_SIZE:,}` to `with_weights`. The",
        "`fixed_indegree` and `distance_topology` rows (k = p·N partners per post neuron; Gaussian profile",
        "of width 100 on a 1000 x 1000 sheet) have no weights.",
        "",
        "| builder | N | synapses | run s | compile s | synapses/s | build bytes/synapse | compile MiB"
        " | process peak GiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [_row(case, n, r) for case, n, r in rows]
    ours, theirs = side_by_side.get(ours_case, {}), side_by_side.get("braintools Random", {})
    if "run_s" in ours and "run_s" in theirs:
        speed = (ours["nnz"] / ours["run_s"]) / (theirs["nnz"] / theirs["run_s"])
        memory = theirs["run_bytes"] / max(ours["run_bytes"], 1)
        lines += [
            "",
            f"At N = {args.small_n:,}, p = 0.1: jaxinit `random_topology` + `with_weights(..., block_size)`",
            f"builds {speed:.1f}x the synapses per second of braintools.conn `Random(prob=0.1)` with {memory:.1f}x",
            "less memory while building (target: >= 5x the speed at <= 1/5 of the memory). Counting",
            f"compilation as well, jaxinit's process peak is {ours['peak'] / 2**30:.2f} GiB against braintools'"
            f" {theirs['peak'] / 2**30:.2f} GiB.",
        ]
    lines += [
        "",
        "Rows without `block_size` draw the weights in one `init(key, (nnz,))` call; XLA's CPU random",
        "generator then holds 12 bytes of temporaries per weight, hence about 24 bytes per synapse.",
    ]
    if not args.no_write:
        write_section("topology", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""The Potjans & Diesmann (2014) microcircuit at a given scale: jaxinit vs NEST, fresh processes.

Run: ``python benchmarks/microcircuit.py [--scale 1.0] [--repeats 1] [--skip jaxinit|nest]
[--threads N] [--timeout 2400] [--first-step] [--jaxinit-commit REV] [--write]``. Prints a
markdown table; ``--write`` also rewrites the "microcircuit" section of RESULTS.md
(``--no-write``, the default, only prints).

The model (``--scale`` s; 1.0 = full scale: 77,169 neurons, 298,880,970 synapses): 8 populations
of ``round(N·s)`` neurons and 55 non-empty projections of ``K = round(log(1-p) / log(1 - 1/(N_pre
N_post)) · s · s)`` synapses from the paper's full-scale sizes and probabilities (NEST's
``N_scaling = K_scaling = s``), each drawn as K uniform (pre, post) pairs with multapses and
autapses, normal weights and normal delays clipped below at 0.1 ms. Both sides build the same
synapse count per projection, and the script checks that their totals equal the sum of the K
(exit status 1 otherwise).

* NEST (``iaf_psc_alpha``, ``--threads`` threads; by default 2, or 4 from about 2.4·10⁸ synapses,
  scale 0.9: NEST 3.10 stores at most 2^27 - 2 = 134,217,726 connections per thread and synapse
  model, so the full-scale 2.99·10⁸ fail with 2 threads): ``first_network._child_nest``
  with the scale: process start -> ``import nest`` -> ``ResetKernel`` -> ``Create`` -> 55
  ``Connect(..., {"rule": "fixed_total_number", "N": K})``. Warm = the ``Connect`` calls alone.
  ``--first-step`` also times NEST's first ``Simulate`` step (it sorts the connections and builds
  its presynaptic tables), not counted in cold; off by default (more time and memory at full scale).
* jaxinit: ``first_network._child_jaxinit`` with the scale: process start -> ``import jax,
  jaxinit`` -> ``jaxinit.models.potjans_diesmann(jax.random.key(0), scale)`` ->
  ``jax.block_until_ready``; warm = a second build with another key in the same process. XLA
  compilations are counted with a ``jax.monitoring`` listener on backend-compile events.

For every process: cold seconds (from just before the process is started to network ready,
import included), import seconds, build / connect seconds, warm seconds, peak RSS
(``ru_maxrss`` of the child when its network is ready) and synapse count (``nest.num_connections``;
``conn.nnz``). A child that raises (e.g. jaxinit's ``MemoryError`` when the network would not
fit), is killed (out of memory) or runs past ``--timeout`` gives a row with the error instead of
figures. Weights differ in detail (NEST: normal(87.8, 8.78) pA, x2 for L4E -> L2/3E, x-4 from
inhibitory sources; jaxinit: 87.81 pA, clipped at 0 to keep the source's sign); timings do not
depend on them.

``--jaxinit-commit REV`` measures jaxinit as committed at REV (exported with ``git archive`` onto
the children's ``PYTHONPATH``, as in first_network.py), not the installed working tree. The
script sets its ``oom_score_adj`` to 1000, inherited by the children, so that when memory runs
out the kernel kills a child of this benchmark rather than another job on the machine.
"""

from __future__ import annotations

import time

_T_START = time.time()  # first thing the child does: the interpreter's start-up is before this

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # after the installed packages: only for `benchmarks`

from benchmarks import first_network as fn  # noqa: E402

SIDES = ("jaxinit", "nest")
# NEST 3.10: "at most 134217726 connections supported per virtual process and synapse model"
NEST_MAX_PER_VP = 2**27 - 2


def _child(args: list[str]) -> None:
    side, scale, *rest = args
    fn._T_START = _T_START  # this script's start, not first_network's import
    try:
        if side == "jaxinit":
            fn._child_jaxinit("microcircuit", None, scale=float(scale))
        else:
            fn._child_nest("microcircuit", int(rest[0]), scale=float(scale), first_step=rest[1] == "1")
    except Exception as error:  # MemoryError included: a row, not a crash
        fn._report(
            {
                "error": f"{type(error).__name__}: {error}",
                "t_start": _T_START,
                "t_ready": time.time(),
                "peak_mib": fn._peak_mib(),
            }
        )


def _measure(child_args: list[str], timeout: float, src: str | None = None) -> dict:
    start = time.time()
    try:
        r = fn._run_child(sys.executable, child_args, timeout, src, script=Path(__file__).resolve())
        if src and "jaxinit_path" in r and not r["jaxinit_path"].startswith(src):
            raise RuntimeError(f"the child imported jaxinit from {r['jaxinit_path']}, not the export in {src}")
        return r
    except subprocess.TimeoutExpired:
        return {"error": f"timeout: killed after {timeout:g} s", "cold_s": time.time() - start}
    except RuntimeError as error:  # the child died (e.g. killed when out of memory)
        return {"error": str(error), "cold_s": time.time() - start}


def _per_projection_check(scale: float, projections: list, src: str | None, skip: set) -> str:
    """Compares NEST's K per projection with jaxinit's ``models.microcircuit_sizes`` (in a child: no jax here)."""
    if "jaxinit" in skip:
        return ""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    if src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    code = f"from jaxinit.models import microcircuit_sizes as m; print(list(map(list, m({scale!r})[1])))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tempfile.gettempdir()
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return f"Per projection: jaxinit's `models.microcircuit_sizes` could not be read ({tail})."
    synapses = json.loads(proc.stdout.strip().splitlines()[-1])
    theirs = {(i, j): k for i, row in enumerate(synapses) for j, k in enumerate(row) if k}
    ours = {(i, j): k for i, j, k, *_ in projections}
    if theirs == ours:
        return (
            f"Per projection: NEST's K = jaxinit's `models.microcircuit_sizes` for all {len(ours)} projections: equal."
        )
    differ = sorted(set(theirs) | set(ours))
    differ = [
        f"{ij}: NEST {ours.get(ij, 0)}, jaxinit {theirs.get(ij, 0)}" for ij in differ if ours.get(ij) != theirs.get(ij)
    ]
    return "Per projection [target, source]: MISMATCH " + "; ".join(differ) + "."


def _detail(r: dict) -> str:
    if "error" in r:
        return f"ERROR after {r['cold_s']:.1f} s: {r['error']}"
    return f"cold {r['cold_s']:7.2f} s  " + fn._detail(r)


def _cell(results: list[dict], key: str, fmt: str = "{:.2f}") -> str:
    values = [r[key] for r in results if key in r]
    return fn._span(values, fmt) if values else "-"


def _markdown(rows, expected, sizes, load_before, load_after, wall, versions, args, per_projection="") -> str:
    import datetime
    import platform

    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "jaxinit"], capture_output=True, text=True)
    source = f"from the working tree at {head.stdout.strip()}" + (" (with uncommitted changes)" if dirty.stdout else "")
    if "jaxinit" not in versions:
        source = "not run"  # --skip jaxinit
    elif args.jaxinit_commit:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", args.jaxinit_commit], capture_output=True, text=True
        )
        source = f"from commit {commit.stdout.strip()} (exported with `--jaxinit-commit`)"
    command = " ".join(["python", "benchmarks/microcircuit.py", *sys.argv[1:]])
    lines = [
        f"## Microcircuit at scale {args.scale:g} (`benchmarks/microcircuit.py`)",
        "",
        f"Command: `{command}`.",
        "",
        f"Machine: {datetime.date.today().isoformat()}, {cpu}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, Python "
        f"{platform.python_version()}; JAX {versions.get('jaxinit', '-')} (CPU), jaxinit {source}; NEST "
        f"{versions.get('nest', '-')}. Load average (1 min) {load_before[0]:.1f} at the start, {load_after[0]:.1f} "
        f"at the end. The run took {wall / 60:.1f} min.",
        "",
        f"Potjans & Diesmann (2014) at scale {args.scale:g}: {sum(sizes):,} neurons, {expected:,} synapses in 55 "
        "projections (`fixed_total_number` with multapses; N and K scaled by the scale). Every figure comes from "
        "fresh processes (n: min-max over them). Cold = process start -> network ready, import included; warm = "
        "jaxinit's second build with another key in the same process, NEST's `Connect` calls alone; compilations = "
        "XLA programs compiled in jaxinit's cold build (warm build in brackets).",
        "",
        "| library | setting | synapses | n | cold s | import s | build / connect s | warm s | compilations "
        "| peak RSS MiB | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for lib, setting, results in rows:
        ok = [r for r in results if "error" not in r]
        errors = [r["error"] for r in results if "error" in r]
        errors = [(e if len(e) <= 300 else e[:300] + "...").replace("|", "/") for e in errors]  # markdown cells
        note = "; ".join(dict.fromkeys(errors))
        if ok:
            is_jax = lib == "jaxinit"
            build = _cell(ok, "build_s" if is_jax else "connect_s")
            warm = _cell(ok, "warm_s" if is_jax else "connect_s")
            compiles = (
                f"{fn._ints([r['compiles'] for r in ok])} ({fn._ints([r['warm_compiles'] for r in ok])})"
                if is_jax
                else "-"
            )
            if not is_jax and any("first_step_s" in r for r in ok):
                note = "; ".join(
                    filter(
                        None,
                        [
                            f"first `Simulate` step {_cell(ok, 'first_step_s')} s, peak RSS after it "
                            f"{_cell(ok, 'first_step_peak_mib', '{:.0f}')} MiB",
                            note,
                        ],
                    )
                )
            syn = fn._ints([r["nnz"] for r in ok])
            lines.append(
                f"| {lib} | {setting} | {syn} | {len(ok)} | {_cell(ok, 'cold_s')} | {_cell(ok, 'import_s')} "
                f"| {build} | {warm} | {compiles} | {_cell(ok, 'peak_mib', '{:.0f}')} | {note} |"
            )
        if errors and not ok:
            lines.append(
                f"| {lib} | {setting} | - | {len(results)} | - | - | - | - | - "
                f"| {_cell(results, 'peak_mib', '{:.0f}')} | {note} (after {_cell(results, 'cold_s', '{:.1f}')} s) |"
            )
    lines += ["", _count_check(rows, expected)]
    if per_projection:
        lines += ["", per_projection]
    return "\n".join(lines)


def _count_check(rows, expected) -> str:
    counts = {f"{lib} ({setting})": {r["nnz"] for r in results if "nnz" in r} for lib, setting, results in rows}
    counts = {name: values for name, values in counts.items() if values}
    if not counts:
        return f"Synapse counts: expected {expected:,}; no side built the network."
    listed = "; ".join(f"{name} {', '.join(f'{v:,}' for v in sorted(values))}" for name, values in counts.items())
    equal = all(values == {expected} for values in counts.values())
    verdict = "equal" if equal else "MISMATCH"
    return f"Synapse counts: expected {expected:,} (the sum of the 55 K); {listed}: {verdict}."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="N_scaling = K_scaling, in (0, 1] (default 1.0)")
    parser.add_argument(
        "--repeats", type=int, help="processes per side (default: 1 at scale >= 0.5, else 3)", default=None
    )
    parser.add_argument("--skip", default="", help="comma-separated: jaxinit,nest")
    parser.add_argument(
        "--threads",
        type=int,
        help="NEST threads (default 2, doubled while the synapses per thread exceed 90%% of NEST's 2^27 - 2 "
        "per thread and synapse model: 4 at full scale)",
    )
    parser.add_argument("--timeout", type=float, default=2400.0, help="seconds per child process")
    parser.add_argument(
        "--jaxinit-commit",
        help="measure jaxinit as committed at this git revision (exported with git archive), not the installed one",
    )
    parser.add_argument("--first-step", action="store_true", help="also time NEST's first Simulate step")
    parser.add_argument("--write", action="store_true", help="rewrite the microcircuit section of RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="print only (the default)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        _child(args.child)
        return
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must be in (0, 1], got {args.scale}")
    skip = set(filter(None, args.skip.split(",")))
    if skip - set(SIDES):
        parser.error(f"--skip takes {','.join(SIDES)}, got {args.skip}")
    repeats = args.repeats or (1 if args.scale >= 0.5 else 3)
    sizes, projections = fn.microcircuit(args.scale)
    expected = sum(k for _, _, k, *_ in projections)
    print(
        f"microcircuit at scale {args.scale:g}: {sum(sizes):,} neurons, {len(projections)} projections, "
        f"{expected:,} synapses; {repeats} process(es) per side",
        flush=True,
    )
    if args.threads is None:  # NEST stores at most 2^27 - 2 connections per thread and synapse model
        args.threads = 2
        while expected / args.threads > 0.9 * NEST_MAX_PER_VP:
            args.threads *= 2
        if args.threads > 2 and "nest" not in skip:
            print(f"NEST: {args.threads} threads ({expected:,} synapses need more than 2)", flush=True)

    try:  # children inherit it: out of memory, the kernel kills a child here rather than another job's process
        Path("/proc/self/oom_score_adj").write_text("1000")
    except OSError:
        pass
    load_before = os.getloadavg()
    wall = time.time()
    rows, versions = [], {}
    sides = []
    if "jaxinit" not in skip:
        sides.append(("jaxinit", "cold + warm build", ["jaxinit", repr(args.scale)]))
    if "nest" not in skip:
        setting = f"{args.threads} thread{'s' * (args.threads > 1)}"
        sides.append(("NEST", setting, ["nest", repr(args.scale), str(args.threads), str(int(args.first_step))]))
    tmp_holder = tempfile.TemporaryDirectory(prefix="microcircuit-")
    src = None
    if args.jaxinit_commit and "jaxinit" not in skip:  # as first_network.py: an exported jaxinit on PYTHONPATH
        src = str(Path(tmp_holder.name) / "src")
        os.makedirs(src)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.jaxinit_commit, "jaxinit"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", src], input=archive.stdout, check=True)
    for lib, setting, child_args in sides:
        results = []
        for _ in range(repeats):
            r = _measure(child_args, args.timeout, src if lib == "jaxinit" else None)
            results.append(r)
            if "version" in r:
                versions[child_args[0]] = r["version"]
            print(f"  {lib:7} {setting:18} {_detail(r)}", flush=True)
        rows.append((lib, setting, results))
    per_projection = _per_projection_check(args.scale, projections, src, skip)
    tmp_holder.cleanup()
    wall = time.time() - wall
    load_after = os.getloadavg()

    markdown = _markdown(rows, expected, sizes, load_before, load_after, wall, versions, args, per_projection)
    print()
    print(markdown)
    if args.write and not args.no_write:
        from benchmarks._timing import write_section

        write_section("microcircuit", markdown)
        print(f"\nwritten: {HERE / 'RESULTS.md'}")
    if "MISMATCH" in markdown:
        sys.exit(1)


if __name__ == "__main__":
    main()

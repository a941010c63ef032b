"""Time to first network: fresh process -> network ready, jaxinit vs NEST vs Brian2.

Run: ``python benchmarks/first_network.py [--quick] [--repeats 3]``. Every measurement
runs in a fresh Python process (``--child``); each is repeated (3 times by default) and
reported as min-max. Rewrites the "first_network" section of RESULTS.md (``--no-write``
only prints).

Networks (the same rules, weights and delays in every library; pA and ms):

* ``fi1e4`` / ``fi1e5``: 10^4 / 10^5 neurons in one recurrent population, fixed
  in-degree 100 (distinct pre neurons, no autapses: jaxinit's ``fixed_indegree``), weights
  normal(87.8, 8.78), delays normal(1.5, 0.75) clipped below at 0.1.
* ``microcircuit``: Potjans & Diesmann (2014) at scale 0.1 as NEST's former
  ``pynest/examples/Potjans_2014`` builds it (N and K both scaled by 0.1): 8 populations
  (7,717 neurons), ``K = round(log(1-p) / log(1 - 1/(N_pre·N_post)) · 0.1 · 0.1)`` from
  the full-scale sizes, rule ``fixed_total_number`` per projection (55 non-empty),
  weights normal(w, 0.1·|w|) with w = 87.8 pA, doubled for L4E -> L2/3E and -4x from
  inhibitory populations, delays normal(1.5, 0.75) ms from excitatory and
  normal(0.75, 0.375) ms from inhibitory populations, clipped below at 0.1 ms.

What each library measures:

* jaxinit cold: process start -> ``import jax, jaxinit`` -> build -> ``block_until_ready``;
  XLA compilations counted by a ``jax.monitoring`` listener on
  ``/jax/core/compile/backend_compile_duration`` (less ``/jax/compilation_cache/cache_hits``),
  with their seconds, and trace/lowering seconds; warm: a second build in the same process
  with another key. "cold, fills the cache": the cold process with JAX's persistent
  compilation cache enabled on an empty folder; "persistent cache": later processes on it.
  Networks named in ``--cold-fills-cache`` (none by default; for versions whose cold build
  takes minutes) get that one process as their only cold figure.
* NEST (``iaf_psc_alpha``): process start -> ``import nest`` -> ``ResetKernel`` ->
  ``Create`` -> ``Connect``; and ``Connect`` alone; 1 and 2 threads; for the fixed in-degree
  networks also NEST's default rule (autapses and multapses allowed: cheaper, another rule).
* Brian2: process start -> ``import brian2`` -> ``NeuronGroup`` -> ``Synapses.connect`` +
  weights + delays; and connect + values alone; the numpy target (no compiler) and the
  cython target, first with an empty code cache, then with the cache it filled. To keep the
  run near 20 minutes on 2 cores, the numpy target skips the 10^7-synapse network (about
  6 min per process) and the cython target the microcircuit (one compilation per
  ``Synapses`` object and expression, about 25 min on an empty cache) unless
  ``--brian2-numpy`` / ``--brian2-cython`` name them.

Peak RSS is ``ru_maxrss`` of the child at the moment its network is ready.
Brian2 2.9 does not import with numpy >= 2.4: ``--brian2-python`` (or ``$BRIAN2_PYTHON``) names an
interpreter that has brian2 (default: this one; its rows are skipped, with the reason, when it cannot
import it). ``--jaxinit-commit REV`` measures jaxinit as committed at REV rather than the installed
working tree (useful while the tree is being edited).
"""

from __future__ import annotations

import time

_T_START = time.time()  # first thing the child does: the interpreter's start-up is before this

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

NETWORKS = {
    "fi1e4": "10⁴ neurons, fixed in-degree 100 (10⁶ syn)",
    "fi1e5": "10⁵ neurons, fixed in-degree 100 (10⁷ syn)",
    "microcircuit": "Potjans–Diesmann, scale 0.1",
}
K_IN = 100
W_MEAN, W_REL_SD = 87.8, 0.1  # pA
D_EXC, D_INH, D_REL_SD, D_MIN = 1.5, 0.75, 0.5, 0.1  # ms

# Potjans & Diesmann (2014), as NEST's Potjans_2014 example (network_params.py, NEST 3.9)
PD_POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
PD_FULL_N = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
PD_CONN_PROBS = [  # [target][source]
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
]
PD_SCALE = 0.1  # N_scaling = K_scaling = 0.1


def microcircuit(scale: float = PD_SCALE):
    """``(sizes, projections)``; a projection is ``(target, source, K, w_mean, w_sd, d_mean, d_sd)``."""
    sizes = [int(round(n * scale)) for n in PD_FULL_N]
    projections = []
    for i in range(8):  # target
        for j in range(8):  # source
            p = PD_CONN_PROBS[i][j]
            prod = PD_FULL_N[i] * PD_FULL_N[j]
            k_full = math.log(1.0 - p) / math.log1p(-1.0 / prod)  # as jaxinit.models (log1p: exact at full scale)
            k = int(round(k_full * scale * scale))
            if k == 0:
                continue
            w = W_MEAN * (2.0 if (i, j) == (0, 2) else 1.0) * (1.0 if j % 2 == 0 else -4.0)
            d = D_EXC if j % 2 == 0 else D_INH
            projections.append((i, j, k, w, abs(w) * W_REL_SD, d, d * D_REL_SD))
    return sizes, projections


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _report(result: dict) -> None:
    print("RESULT " + json.dumps(result), flush=True)


# ----------------------------------------------------------------------------- children


def _child_jaxinit(net: str, cache: str | None, scale: float = PD_SCALE) -> None:
    t0 = time.time()
    import inspect

    import jax
    from jax import monitoring

    stats = {"compiles": 0, "compile_s": 0.0, "trace_s": 0.0, "lower_s": 0.0, "cache_hits": 0}

    by_name = {}  # compilations per jitted function name, during the cold build

    def on_duration(event, duration, fun_name="?", **_):
        if event == "/jax/core/compile/backend_compile_duration":
            stats["compiles"] += 1
            stats["compile_s"] += duration
            by_name[fun_name] = by_name.get(fun_name, 0) + 1
        elif event == "/jax/core/compile/jaxpr_trace_duration":
            stats["trace_s"] += duration
        elif event == "/jax/core/compile/jaxpr_to_mlir_module_duration":
            stats["lower_s"] += duration

    def on_event(event, **_):
        if event == "/jax/compilation_cache/cache_hits":
            stats["cache_hits"] += 1

    monitoring.register_event_duration_secs_listener(on_duration)
    monitoring.register_event_listener(on_event)
    if cache:
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)

    import jaxinit as ji
    from jaxinit import topology

    try:
        from jaxinit import models
    except ImportError:  # versions before jaxinit.models
        models = None
    t_import = time.time()
    # NEST's fixed_total_number draws with replacement; jaxinit versions without `multapses=` draw distinct pairs
    has_multapses = "multapses" in inspect.signature(topology.random_topology).parameters
    multapses = {"multapses": True} if has_multapses else {}

    def build(seed: int):
        key = jax.random.key(seed)
        if net.startswith("fi"):
            n = 10_000 if net == "fi1e4" else 100_000
            k_conn, k_w, k_d = jax.random.split(key, 3)
            conn = topology.fixed_indegree(k_conn, n, None, k=K_IN)
            conn = topology.with_weights(k_w, conn, ji.normal(W_MEAN, W_MEAN * W_REL_SD))
            conn = topology.with_delays(k_d, conn, ji.clip(ji.normal(D_EXC, D_EXC * D_REL_SD), low=D_MIN))
            return [conn]
        if models is not None:  # the microcircuit in one call (topology.network underneath)
            return [models.potjans_diesmann(key, scale).conn]
        # older versions: by hand, one random_topology per projection, weights and delays drawn per synapse
        sizes, projections = microcircuit(scale)
        conns = []
        for index, (i, j, k, w, w_sd, d, d_sd) in enumerate(projections):
            k_conn, k_w, k_d = jax.random.split(jax.random.fold_in(key, index), 3)
            conn = topology.random_topology(k_conn, sizes[j], sizes[i], n_syn=k, **multapses)
            conn = topology.with_weights(k_w, conn, ji.normal(w, w_sd))
            conn = topology.with_delays(k_d, conn, ji.clip(ji.normal(d, d_sd), low=D_MIN))
            conns.append(conn)
        return conns

    conns = jax.block_until_ready(build(0))
    t_ready = time.time()
    cold = dict(stats)
    cold_by_name = dict(sorted(by_name.items(), key=lambda item: -item[1]))
    peak = _peak_mib()
    nnz = sum(c.nnz for c in conns)
    for key in stats:
        stats[key] = 0 if isinstance(stats[key], int) else 0.0
    t = time.perf_counter()
    jax.block_until_ready(build(1))
    warm_s = time.perf_counter() - t
    _report(
        {
            "t_start": _T_START,
            "startup_import_s": t_import - _T_START,
            "import_s": t_import - t0,
            "build_s": t_ready - t_import,
            "t_ready": t_ready,
            "warm_s": warm_s,
            "nnz": int(nnz),
            "peak_mib": peak,
            **cold,
            "warm_compiles": stats["compiles"],
            "version": jax.__version__,
            "jaxinit_path": str(Path(ji.__file__).parent),
            "multapses": has_multapses,
            "by_name": cold_by_name,
        }
    )


def _child_nest(
    net: str, threads: int, default_rule: bool = False, scale: float = PD_SCALE, first_step: bool = True
) -> None:
    t0 = time.time()
    import nest

    if hasattr(nest, "VerbosityLevel"):  # NEST >= 3.10
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    t_import = time.time()
    nest.ResetKernel()
    nest.local_num_threads = threads
    nest.rng_seed = 1
    nest.resolution = D_MIN
    if net.startswith("fi"):
        n = 10_000 if net == "fi1e4" else 100_000
        pop = nest.Create("iaf_psc_alpha", n)
        tc = time.time()
        nest.Connect(
            pop,
            pop,
            # default_rule: NEST's defaults, autapses and multapses allowed (cheaper, not the same rule)
            {
                "rule": "fixed_indegree",
                "indegree": K_IN,
                "allow_autapses": default_rule,
                "allow_multapses": default_rule,
            },
            {
                "synapse_model": "static_synapse",
                "weight": nest.random.normal(mean=W_MEAN, std=W_MEAN * W_REL_SD),
                "delay": nest.math.max(nest.random.normal(mean=D_EXC, std=D_EXC * D_REL_SD), D_MIN),
            },
        )
    else:
        sizes, projections = microcircuit(scale)
        pops = [nest.Create("iaf_psc_alpha", n) for n in sizes]
        tc = time.time()
        for i, j, k, w, w_sd, d, d_sd in projections:
            nest.Connect(
                pops[j],
                pops[i],
                {"rule": "fixed_total_number", "N": k},  # multapses and autapses allowed (NEST's defaults)
                {
                    "synapse_model": "static_synapse",
                    "weight": nest.random.normal(mean=w, std=w_sd),
                    "delay": nest.math.max(nest.random.normal(mean=d, std=d_sd), D_MIN),
                },
            )
    t_ready = time.time()
    peak = _peak_mib()
    nnz = nest.num_connections
    result = {
        "t_start": _T_START,
        "import_s": t_import - t0,
        "connect_s": t_ready - tc,
        "t_ready": t_ready,
        "nnz": int(nnz),
        "peak_mib": peak,
        "version": nest.__version__,
    }
    if first_step:
        t = time.perf_counter()
        nest.Simulate(D_MIN)  # first step: NEST sorts the connections and builds its presynaptic tables
        result["first_step_s"] = time.perf_counter() - t
        result["first_step_peak_mib"] = _peak_mib()
    _report(result)


def _child_brian2(net: str, target: str, cache: str | None) -> None:
    t0 = time.time()
    import brian2 as b2
    import numpy as np

    b2.prefs.codegen.target = target
    if cache:
        b2.prefs.codegen.runtime.cython.cache_dir = cache
    b2.seed(1)
    t_import = time.time()
    model = "dv/dt = -v / (10*ms) : volt"
    spiking = {"threshold": "v > 15*mV", "reset": "v = 0*mV"}
    syn = {"model": "w : 1", "on_pre": "v += w * 0.001 * mV"}
    # constants as namespace entries, not in the code strings: one generated code for every projection
    weight, delay = "w_mean + w_sd * randn()", "clip(d_mean + d_sd * randn(), d_min, 1e9) * ms"
    groups = []
    if net.startswith("fi"):
        n = 10_000 if net == "fi1e4" else 100_000
        group = b2.NeuronGroup(n, model, method="exact", **spiking)
        values = {"w_mean": W_MEAN, "w_sd": W_MEAN * W_REL_SD, "d_mean": D_EXC, "d_sd": D_EXC * D_REL_SD}
        s = b2.Synapses(group, group, **syn, namespace={**values, "d_min": D_MIN, "k_in": K_IN})
        tc = time.time()
        # fixed in-degree: each post neuron j draws K distinct pre neurons among the other N-1
        s.connect(i="k + int(k >= j) for k in sample(N_pre - 1, size=k_in)")
        s.w = weight
        s.delay = delay
        groups = [s]
    else:
        sizes, projections = microcircuit()
        pops = [b2.NeuronGroup(n, model, method="exact", **spiking) for n in sizes]
        rng = np.random.default_rng(1)
        tc = time.time()
        for i, j, k, w, w_sd, d, d_sd in projections:
            # fixed_total_number with multapses: K uniform (pre, post) pairs, drawn with numpy
            values = {"w_mean": w, "w_sd": w_sd, "d_mean": d, "d_sd": d_sd, "d_min": D_MIN}
            s = b2.Synapses(pops[j], pops[i], **syn, namespace=values)
            s.connect(i=rng.integers(0, sizes[j], k), j=rng.integers(0, sizes[i], k))
            s.w = weight
            s.delay = delay
            groups.append(s)
    t_ready = time.time()
    _report(
        {
            "t_start": _T_START,
            "import_s": t_import - t0,
            "connect_s": t_ready - tc,
            "t_ready": t_ready,
            "nnz": int(sum(len(s) for s in groups)),
            "peak_mib": _peak_mib(),
            "version": b2.__version__,
            "target": b2.prefs.codegen.target,
        }
    )


# ----------------------------------------------------------------------------- parent


def _run_child(
    python: str, args: list[str], timeout: float, src: str | None = None, script: Path | None = None
) -> dict:
    env = dict(os.environ, PYNEST_QUIET="1", PYTHONWARNINGS="ignore")
    if src:  # an exported jaxinit ahead of the installed one
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    start = time.time()
    proc = subprocess.run(
        [python, str(script or Path(__file__).resolve()), "--child", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=tempfile.gettempdir(),  # not the repository root: children import the installed packages
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"child {' '.join(args)} failed (rc {proc.returncode}): {' | '.join(tail)}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result["cold_s"] = result["t_ready"] - start
    result["startup_s"] = result["t_start"] - start
    return result


def _span(values: list[float], fmt: str = "{:.2f}") -> str:
    lo, hi = min(values), max(values)
    return (
        fmt.format(lo) if len(values) == 1 or fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}-{fmt.format(hi)}"
    )


def _ratio(x: float) -> str:
    return f"{x:.0f}" if x >= 10 else f"{x:.2f}"


def _ints(values: list[int]) -> str:
    return str(values[0]) if len(set(values)) == 1 else f"{min(values)}-{max(values)}"


def _brian2_error(python: str) -> str | None:
    proc = subprocess.run([python, "-c", "import brian2"], capture_output=True, text=True, cwd=tempfile.gettempdir())
    if proc.returncode == 0:
        return None
    return (proc.stderr.strip().splitlines() or ["import failed"])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 10^4-neuron network only, 1 process per row")
    parser.add_argument("--repeats", type=int, default=3, help="processes per row")
    parser.add_argument(
        "--row-budget",
        type=float,
        default=100.0,
        help="no further process in a row once it has taken this many seconds",
    )
    parser.add_argument("--networks", default=",".join(NETWORKS), help="comma-separated: " + ",".join(NETWORKS))
    parser.add_argument(
        "--cold-fills-cache",
        default="",
        help="networks whose jaxinit cold process also fills the persistent cache (one process instead of n + 1: "
        "for versions whose cold build takes minutes, e.g. the microcircuit before size-generic kernels)",
    )
    parser.add_argument("--threads", default="1,2", help="NEST thread counts")
    parser.add_argument(
        "--brian2-python",
        default=os.environ.get("BRIAN2_PYTHON", sys.executable),
        help="an interpreter with brian2 (default: $BRIAN2_PYTHON, else this one)",
    )
    parser.add_argument("--skip", default="", help="comma-separated: jaxinit,cache,nest,brian2,cython")
    parser.add_argument(
        "--brian2-numpy",
        default="fi1e4,microcircuit",
        help="networks for Brian2's numpy target (its 10^7-synapse connect takes about 6 min here)",
    )
    parser.add_argument(
        "--brian2-cython",
        default="fi1e4,fi1e5",
        help="networks for Brian2's cython target (the microcircuit compiles once per Synapses: about 25 min)",
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per child process")
    parser.add_argument(
        "--jaxinit-commit",
        help="measure jaxinit as committed at this git revision (exported with git archive), not the installed one",
    )
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        lib, net, *rest = args.child
        if lib == "jaxinit":
            _child_jaxinit(net, rest[0] if rest else None)
        elif lib == "nest":
            _child_nest(net, int(rest[0]), default_rule=len(rest) > 1)
        else:
            _child_brian2(net, rest[0], rest[1] if len(rest) > 1 else None)
        return

    networks = ["fi1e4"] if args.quick else args.networks.split(",")
    repeats = 1 if args.quick else args.repeats
    threads = [int(t) for t in args.threads.split(",")]
    skip = set(filter(None, args.skip.split(",")))
    fills = set(args.cold_fills_cache.split(","))
    brian2_error = None if "brian2" in skip else _brian2_error(args.brian2_python)
    if brian2_error:
        print(f"brian2 rows skipped: {args.brian2_python} cannot import brian2 ({brian2_error})", flush=True)
    tmp_holder = tempfile.TemporaryDirectory(prefix="first-network-")
    tmp = tmp_holder.name
    src = None
    if args.jaxinit_commit:
        src = str(Path(tmp) / "src")
        os.makedirs(src)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.jaxinit_commit, "jaxinit"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", src], input=archive.stdout, check=True)
    load_before = os.getloadavg()
    wall = time.time()
    rows = []  # (library, setting, network, [results])
    versions = {}

    def measure(lib: str, setting: str, net: str, child_args: list[str], python: str = sys.executable, n: int = 0):
        results, spent = [], 0.0
        for _ in range(n or repeats):
            if spent > args.row_budget:
                break
            start = time.time()
            r = _run_child(python, child_args, args.timeout, src)
            spent += time.time() - start
            if src and "jaxinit_path" in r and not r["jaxinit_path"].startswith(src):
                raise RuntimeError(f"the child imported jaxinit from {r['jaxinit_path']}, not the export in {src}")
            results.append(r)
            versions[lib] = r["version"]
            print(f"  {lib:7} {setting:24} {net:12} cold {r['cold_s']:7.2f} s  " + _detail(r), flush=True)
        rows.append((lib, setting, net, results))

    with tmp_holder:
        for net in networks:
            print(f"== {net}: {NETWORKS[net]}", flush=True)
            cache = str(Path(tmp) / f"jax-{net}")
            if "jaxinit" not in skip:
                if net in fills and "cache" not in skip:
                    measure("jaxinit", "cold, fills the cache", net, ["jaxinit", net, cache], n=1)
                else:
                    measure("jaxinit", "cold", net, ["jaxinit", net])
                    if "cache" not in skip:
                        measure("jaxinit", "cold, fills the cache", net, ["jaxinit", net, cache], n=1)
                if "cache" not in skip:
                    measure("jaxinit", "persistent cache", net, ["jaxinit", net, cache])
            if "nest" not in skip:
                for t in threads:
                    measure("NEST", f"{t} thread{'s' * (t > 1)}", net, ["nest", net, str(t)])
                if net.startswith("fi"):
                    measure("NEST", f"{max(threads)} threads, default rule", net, ["nest", net, str(max(threads)), "1"])
            if "brian2" not in skip and not brian2_error:
                if net in args.brian2_numpy.split(","):
                    measure("Brian2", "numpy", net, ["brian2", net, "numpy"], python=args.brian2_python)
                if "cython" not in skip and net in args.brian2_cython.split(","):
                    cy = str(Path(tmp) / f"cython-{net}")
                    measure("Brian2", "cython, empty cache", net, ["brian2", net, "cython", cy], args.brian2_python, 1)
                    measure("Brian2", "cython, disk cache", net, ["brian2", net, "cython", cy], args.brian2_python)
    wall = time.time() - wall
    load_after = os.getloadavg()
    markdown = _markdown(rows, versions, load_before, load_after, wall, brian2_error, args)
    print()
    print(markdown)
    if not args.no_write and not args.quick:
        sys.path.insert(0, str(ROOT))
        from benchmarks._timing import write_section

        write_section("first_network", markdown)
        print(f"\nwritten: {HERE / 'RESULTS.md'}")


def _detail(r: dict) -> str:
    if "warm_s" in r:
        return (
            f"(import {r['import_s']:.2f}, build {r['build_s']:.2f}: {r['compiles']} compiles "
            f"{r['compile_s']:.2f} s, {r['cache_hits']} cache hits, trace {r['trace_s']:.2f}, "
            f"lower {r['lower_s']:.2f})  warm {r['warm_s']:.2f} s ({r['warm_compiles']} compiles)  "
            f"{r['nnz']:.3g} syn  {r['peak_mib']:.0f} MiB"
        )
    extra = f"  first step {r['first_step_s']:.2f} s" if "first_step_s" in r else ""
    memory = f"{r['nnz']:.3g} syn  {r['peak_mib']:.0f} MiB"
    return f"(import {r['import_s']:.2f})  connect {r['connect_s']:.2f} s  {memory}{extra}"


def _markdown(rows, versions, load_before, load_after, wall, brian2_error, args) -> str:
    import datetime
    import platform

    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    jaxinit_path = next((res[0]["jaxinit_path"] for *_, res in rows if res and "jaxinit_path" in res[0]), None)
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "jaxinit"], capture_output=True, text=True)
    if args.jaxinit_commit:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", args.jaxinit_commit], capture_output=True, text=True
        )
        source = f"commit {commit.stdout.strip()} (exported with `--jaxinit-commit`)"
    elif jaxinit_path and Path(jaxinit_path).resolve().is_relative_to(ROOT):
        source = f"the working tree at {head.stdout.strip()}" + (" (with uncommitted changes)" if dirty.stdout else "")
    else:
        source = f"`{jaxinit_path}`"
    with_multapses = next((res[0]["multapses"] for *_, res in rows if res and "multapses" in res[0]), True)
    jaxinit_rule = (
        "jaxinit `models.potjans_diesmann(key, 0.1)`: one `topology.network` of "
        "`random_topology(..., n_syn=K, multapses=True)` projections, the same rule, with weights and delays "
        "drawn inside the network kernel (versions before `jaxinit.models`: one `random_topology` per projection)"
        if with_multapses
        else "jaxinit (this version has no multapse option) `random_topology(key, N_pre, N_post, n_syn=K)` per "
        "projection, K distinct pairs (autapses allowed: two populations)"
    )
    command = " ".join(["python", "benchmarks/first_network.py", *sys.argv[1:]])
    if args.brian2_python != sys.executable and "--brian2-python" not in sys.argv:
        command = f"BRIAN2_PYTHON={args.brian2_python} {command}"
    lines = [
        "## Time to first network (`benchmarks/first_network.py`)",
        "",
        f"Command: `{command}`.",
        "",
        f"Machine: {datetime.date.today().isoformat()}, {cpu}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; JAX {versions.get('jaxinit', '-')} (CPU), jaxinit from {source}; "
        f"NEST {versions.get('NEST', '-')}; Brian2 {versions.get('Brian2', '-')}. Load average (1 min) "
        f"{load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end (`uptime`): the machine is shared "
        f"with other test runs, so timings are noisy. The whole run took {wall / 60:.0f} min.",
        "",
        "Every figure comes from fresh Python processes (n of them: min-max over them; a row stops repeating "
        f"once it has spent {args.row_budget:.0f} s). Cold = from just before the process is started to network "
        "ready (`block_until_ready`; NEST: `Connect` returned; Brian2: weights and delays set). Warm (jaxinit) = "
        "a second build in the same process with another key; connect (NEST, Brian2) = the `Connect` / `connect` "
        "+ weights + delays calls alone. Compilations = XLA programs compiled during jaxinit's cold build "
        "(`jax.monitoring` backend-compile events, less persistent-cache hits, which are counted as loaded), "
        "with their total seconds.",
        "",
        "| library | setting | network | synapses | n | cold s | warm s / connect s | compilations | compile s "
        "| import s | peak RSS MiB |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lib, setting, net, results in rows:
        if not results:
            continue
        jax_row = "warm_s" in results[0]
        second = [r["warm_s"] for r in results] if jax_row else [r["connect_s"] for r in results]
        compiles = _ints([r["compiles"] - r["cache_hits"] for r in results]) if jax_row else "-"
        if jax_row and results[0]["cache_hits"]:
            compiles += f" (+{_ints([r['cache_hits'] for r in results])} loaded)"
        compile_s = _span([r["compile_s"] for r in results]) if jax_row else "-"
        lines.append(
            f"| {lib} | {setting} | {NETWORKS[net]} | {results[0]['nnz']:.3g} | {len(results)} "
            f"| {_span([r['cold_s'] for r in results])} | {_span(second)} | {compiles} | {compile_s} "
            f"| {_span([r['import_s'] for r in results])} | {_span([r['peak_mib'] for r in results], '{:.0f}')} |"
        )
    lines += ["", "Ratios (best process / best process; NEST: its faster thread count with the same rule):", ""]
    by = {(lib, setting, net): results for lib, setting, net, results in rows if results}
    for net in dict.fromkeys(net for _, _, net, _ in rows):
        nest = [res for (lib, setting, n), res in by.items() if lib == "NEST" and n == net and "rule" not in setting]
        cold_rows = [
            res for (lib, setting, n), res in by.items() if lib == "jaxinit" and n == net and "cold" in setting
        ]
        cached = by.get(("jaxinit", "persistent cache", net))
        if not nest or not cold_rows:
            continue
        nest_cold = min(r["cold_s"] for res in nest for r in res)
        nest_conn = min(r["connect_s"] for res in nest for r in res)
        cold = min(r["cold_s"] for r in cold_rows[0])
        warm = min(r["warm_s"] for res in cold_rows for r in res)
        text = f"- {NETWORKS[net]}: jaxinit cold / NEST cold = {_ratio(cold / nest_cold)}"
        if cached:
            text += f"; with the persistent cache filled, {_ratio(min(r['cold_s'] for r in cached) / nest_cold)}"
        text += f"; jaxinit warm / NEST connect = {_ratio(warm / nest_conn)}."
        lines.append(text)
    lines += [
        "",
        "Where jaxinit's cold time goes (seconds, mean over the row's processes; trace and lowering events may "
        "nest, so that column can overcount; the rest is running the programs and Python between them):",
        "",
        "| network | setting | interpreter start | import jax + jaxinit | XLA compile | trace + lower | rest | cold |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for lib, setting, net, results in rows:
        if lib != "jaxinit" or not results:
            continue

        def mean(key, results=results):
            return sum(r[key] for r in results) / len(results)

        rest = mean("build_s") - mean("compile_s") - mean("trace_s") - mean("lower_s")
        lines.append(
            f"| {NETWORKS[net]} | {setting} | {mean('startup_s'):.2f} | {mean('import_s'):.2f} "
            f"| {mean('compile_s'):.2f} | {mean('trace_s') + mean('lower_s'):.2f} | {rest:.2f} | {mean('cold_s'):.2f} |"
        )
    lines += ["", "XLA programs of jaxinit's first cold process, by jitted function (count):", ""]
    listed = set()
    for lib, setting, net, results in rows:
        if lib == "jaxinit" and "cold" in setting and results and results[0].get("by_name") and net not in listed:
            listed.add(net)
            names = ", ".join(f"`{name}` {count}" for name, count in results[0]["by_name"].items())
            lines.append(f"- {NETWORKS[net]}: {names}.")
    lines += [
        "",
        "Rules. Fixed in-degree: no autapses and no repeated pairs in every library (NEST `fixed_indegree` with "
        "`allow_autapses=False, allow_multapses=False`; Brian2 `connect(i='k + int(k >= j) for k in "
        "sample(N_pre - 1, size=100)')`, a generator over pre neurons for each post neuron). The NEST rows "
        '"default rule" keep NEST\'s defaults (autapses and multapses allowed): cheaper, but not the same rule. '
        f"Microcircuit: NEST's `fixed_total_number` (multapses allowed) per projection; {jaxinit_rule}; "
        "Brian2 has no such rule, so its pairs are drawn with numpy and "
        "passed to `connect(i=, j=)`. Weights and delays: jaxinit `with_weights(key, conn, ji.normal(w, sd))` and "
        "`with_delays(key, conn, ji.clip(ji.normal(d, sd), low=0.1))`; NEST `nest.random.normal` and "
        "`nest.math.max(..., 0.1)`; Brian2 `randn()` and `clip()` expressions. The microcircuit's weights are "
        "87.8 pA, NEST's example value before its K-scaling compensation (timings do not depend on it). NEST's "
        "neurons are `iaf_psc_alpha`, Brian2's a one-line leaky membrane. jaxinit builds the microcircuit as one "
        "sorted `Connectivity` (before `jaxinit.models`: 55, one per projection), NEST as one network, Brian2 as 55 "
        '`Synapses`. "cold, fills the cache": a first process with JAX\'s persistent compilation cache '
        "(`jax_compilation_cache_dir`, `jax_persistent_cache_min_compile_time_secs=0`, "
        '`jax_persistent_cache_min_entry_size_bytes=-1`) enabled on an empty folder; "persistent cache": later '
        "processes on that folder. A network named in `--cold-fills-cache` (none by default) gets that one process "
        "as its only cold figure.",
    ]
    steps = {}
    for _, _, net, results in rows:
        steps.setdefault(net, []).extend(r["first_step_s"] for r in results if "first_step_s" in r)
    steps = {net: values for net, values in steps.items() if values}
    if steps:
        per_net = "; ".join(f"{NETWORKS[net]}: {_span(values)} s" for net, values in steps.items())
        lines += [
            "",
            "NEST's `Connect` leaves its connections unsorted; its first `Simulate` step (sorting them and building "
            f"the presynaptic tables) took a further {per_net} (not counted above).",
        ]
    if brian2_error:
        lines += ["", f"Brian2 not measured: `{args.brian2_python}` cannot import it ({brian2_error})."]
    else:
        lines += [
            "",
            "Brian2 2.9 does not import with numpy >= 2.4 (it wraps the removed `ndarray.ptp`), so it runs from "
            "its own interpreter (`--brian2-python`, a venv with brian2 and numpy < 2.4). Its numpy target needs no "
            "compiler; the cython target compiles its generated code on first use and keeps it in a disk cache "
            '("empty cache": a fresh cache folder; "disk cache": later processes), like JAX\'s persistent cache. '
            "Its generated code names the `Synapses` object, so each of the microcircuit's 55 objects compiles "
            "its own programs on an empty cache.",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

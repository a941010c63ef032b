"""Connectivity rules against the peers, for ``benchmarks/topology.py --rules``.

Each measurement is one fresh process (``python benchmarks/_rules.py RULE LIBRARY
SYNAPSES``, started by :func:`measure`): cold = process start -> imports -> first build
ready; warm = a second build in that process with another seed (NEST: ``Connect`` alone,
in a fresh kernel); peak = ``ru_maxrss`` at the end. The parent watches the child's
resident memory and stops it above :data:`MEMORY_CAP` (the machine is shared).
"""

from __future__ import annotations

import time

_T_START = time.time()  # before any import the cold time should include

import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

MEMORY_CAP = 8 * 2**30  # per process: the 24 GiB machine is shared with other workers
PEERS = ("nest", "braintools", "igraph", "networkx")
NEST_THREADS = 2  # the machine's cores
# Above ~2·10^6 edges a networkx graph takes minutes and several GiB (dicts per edge): not measured.
NETWORKX_MAX = 2_000_000
# Sets of (pre, post) pairs that peers build as dense n_pre x n_post arrays: skipped past this many pairs.
DENSE_MAX_PAIRS = 3 * 10**8


@dataclass
class Rule:
    """A rule at a target synapse count: its parameters, the exact or expected count, the peers."""

    title: str
    params: object  # synapses -> dict
    expected: object  # params -> (mean, sd): sd 0 for an exact count, None where no closed form
    peers: dict = field(default_factory=dict)  # library -> how it builds the same thing


def _pb(s):
    n = round(math.sqrt(s / 0.1)) + 1
    return {"n": n, "p": 0.1}


def _spatial(s):
    n = round(s / 100)
    # in-degree ~100: n · 2πσ² (1 - e^{-9/2}) = 100 on the unit square (edges lose a little)
    sigma = math.sqrt(100 / (n * 2 * math.pi * (1 - math.exp(-4.5))))
    return {"n": n, "sigma": sigma}


def _sbm(s):
    b = round(math.sqrt(s / 0.52))  # 4 blocks of b: 4·b(b-1)·0.1 + 12·b²·0.01 ≈ 0.52 b²
    return {"sizes": [b] * 4, "p_in": 0.1, "p_out": 0.01}


def _sbm_expected(q):
    b, blocks = q["sizes"][0], len(q["sizes"])
    pairs_in, pairs_out = blocks * b * (b - 1), blocks * (blocks - 1) * b * b
    mean = pairs_in * q["p_in"] + pairs_out * q["p_out"]
    var = pairs_in * q["p_in"] * (1 - q["p_in"]) + pairs_out * q["p_out"] * (1 - q["p_out"])
    return mean, math.sqrt(var)


RULES = {
    "pairwise_bernoulli": Rule(
        "pairwise Bernoulli, p = 0.1, no autapses",
        _pb,
        lambda q: (q["n"] * (q["n"] - 1) * q["p"], math.sqrt(q["n"] * (q["n"] - 1) * q["p"] * (1 - q["p"]))),
        {
            "nest": "`pairwise_bernoulli`, `allow_autapses=False`",
            "braintools": "`Random(prob=0.1)` (dense n x n draw)",
            "igraph": "`Erdos_Renyi(n, p, directed=True, loops=False)`",
            "networkx": "`fast_gnp_random_graph(n, p, directed=True)`",
        },
    ),
    "pairwise_bernoulli_sparse": Rule(
        "pairwise Bernoulli, p = 0.01, no autapses",
        lambda s: {"n": round(math.sqrt(s / 0.01)) + 1, "p": 0.01},
        lambda q: (q["n"] * (q["n"] - 1) * q["p"], math.sqrt(q["n"] * (q["n"] - 1) * q["p"] * (1 - q["p"]))),
        {
            "nest": "`pairwise_bernoulli`, `allow_autapses=False`",
            "braintools": "`Random(prob=0.01)` (dense n x n draw)",
            "igraph": "`Erdos_Renyi(n, p, directed=True, loops=False)`",
            "networkx": "`fast_gnp_random_graph(n, p, directed=True)`",
        },
    ),
    "fixed_total_number": Rule(
        "fixed total number with multapses and autapses, mean degree 100",
        lambda s: {"n": round(s / 100), "n_syn": round(s)},
        lambda q: (q["n_syn"], 0),
        {"nest": "`fixed_total_number`, multapses and autapses allowed"},
    ),
    "fixed_indegree": Rule(
        "fixed in-degree 100, no autapses, no multapses",
        lambda s: {"n": round(s / 100), "k": 100},
        lambda q: (q["n"] * q["k"], 0),
        {"nest": "`fixed_indegree`, `allow_autapses=False, allow_multapses=False`"},
    ),
    "fixed_outdegree": Rule(
        "fixed out-degree 100, no autapses, no multapses",
        lambda s: {"n": round(s / 100), "k": 100},
        lambda q: (q["n"] * q["k"], 0),
        {
            "nest": "`fixed_outdegree`, `allow_autapses=False, allow_multapses=False`",
            "braintools": "`Regular(degree=100)` (out-degree only: the same rule)",
        },
    ),
    "one_to_one": Rule(
        "one to one",
        lambda s: {"n": round(s)},
        lambda q: (q["n"], 0),
        {"nest": "`one_to_one`", "braintools": "`OneToOne()`"},
    ),
    "all_to_all": Rule(
        "all to all, no autapses",
        lambda s: {"n": round(math.sqrt(s)) + 1},
        lambda q: (q["n"] * (q["n"] - 1), 0),
        {
            "nest": "`all_to_all`, `allow_autapses=False`",
            "braintools": "`AllToAll(include_self_connections=False)`",
            "igraph": "`Full(n, directed=True)`",
            "networkx": "`complete_graph(n, DiGraph)`",
        },
    ),
    "distance_probability": Rule(
        "spatial: p = gauss(d, σ) cut at 3σ, uniform positions on the unit square (no wrap), in-degree ~100",
        _spatial,
        lambda q: (None, None),
        {
            "nest": "spatial `pairwise_bernoulli`, `p = gaussian(distance, std=σ)`, circular mask 3σ",
            "braintools": "`DistanceDependent(GaussianProfile(σ, max_distance=3σ))` (dense n x n)",
        },
    ),
    "small_world": Rule(
        "small world, k = 10, p = 0.1",
        lambda s: {"n": round(s / 10), "k": 10, "p": 0.1},
        lambda q: (q["n"] * q["k"], 0),
        {
            "braintools": "`SmallWorld(k=10, p=0.1)` (directed, as jaxinit)",
            "igraph": "`Watts_Strogatz(1, n, 5, 0.1)`: undirected, each edge 2 synapses",
            "networkx": "`watts_strogatz_graph(n, 10, 0.1)`: undirected, each edge 2 synapses",
        },
    ),
    "scale_free": Rule(
        "scale free (Barabási–Albert), m = 5, each edge 2 synapses",
        lambda s: {"n": round(s / 10) + 5, "m": 5},
        lambda q: (2 * q["m"] * (q["n"] - q["m"]), 0),
        {
            "braintools": "`ScaleFree(m=5)` (seed: a 5-clique)",
            "igraph": "`Barabasi(n, 5)` (seed: one vertex)",
            "networkx": "`barabasi_albert_graph(n, 5)`",
        },
    ),
    "regular": Rule(
        "k-regular, k = 10 (in- and out-degree)",
        lambda s: {"n": round(s / 10), "k": 10},
        lambda q: (q["n"] * q["k"], 0),
        {
            "igraph": "`K_Regular(n, 10, directed=True)` (the same rule)",
            "networkx": "`random_regular_graph(10, n)`: undirected, each edge 2 synapses",
        },
    ),
    "stochastic_block": Rule(
        "stochastic block model, 4 equal blocks, p_in = 0.1, p_out = 0.01, no autapses",
        _sbm,
        _sbm_expected,
        {
            "braintools": "`ModularRandom(4, intra_prob=0.1, inter_prob=0.01)`",
            "igraph": "`SBM(n, P, sizes, directed=True)`",
            "networkx": "`stochastic_block_model(sizes, P, directed=True)`",
        },
    ),
    "ring": Rule(
        "ring lattice, 5 neighbours per side",
        lambda s: {"n": round(s / 10), "k": 5},
        lambda q: (2 * q["n"] * q["k"], 0),
        {
            "braintools": "`Ring(neighbors=5)`",
            "igraph": "`Lattice([n], nei=5, circular=True)`: undirected, each edge 2 synapses",
            "networkx": "`circulant_graph(n, [1..5])`: undirected, each edge 2 synapses",
        },
    ),
    "grid": Rule(
        "2-D grid, von Neumann, periodic",
        lambda s: {"side": round(math.sqrt(s / 4))},
        lambda q: (4 * q["side"] ** 2, 0),
        {
            "braintools": "`Grid2d('von_neumann', periodic=True)`",
            "igraph": "`Lattice([L, L], circular=True)`: undirected, each edge 2 synapses",
            "networkx": "`grid_2d_graph(L, L, periodic=True)`: undirected, each edge 2 synapses",
        },
    ),
}


def skip_reason(rule: str, library: str, synapses: float) -> str | None:
    """Why a peer is not run at this size (before starting it), or None."""
    q = RULES[rule].params(synapses)
    n = q.get("n", 0)
    if library == "networkx" and synapses > NETWORKX_MAX:
        return f"networkx above {NETWORKX_MAX:.0e} synapses (minutes, GiBs of dicts)"
    if (
        library == "braintools"
        and rule in ("pairwise_bernoulli", "pairwise_bernoulli_sparse", "distance_probability")
        and n * n > DENSE_MAX_PAIRS
    ):
        return f"dense {n}x{n} draw (>{n * n * 17 / 2**30:.0f} GiB)"
    if library == "braintools" and rule == "stochastic_block" and synapses > 2e6:
        return "Python loop over all n² pairs (~1 min per 10⁶ synapses)"
    if library == "braintools" and rule == "scale_free" and synapses > 2e6:
        return "O(n²): each new neuron scans all degrees"
    if library == "braintools" and rule in ("ring", "grid", "fixed_outdegree") and synapses > 2e7:
        return "a Python loop per neuron (~90-280 s at 10⁷ synapses)"
    if library == "nest" and rule == "fixed_outdegree" and synapses > 2e7:
        return "88 s at 10⁷ synapses, ~15 min at 10⁸"
    if library == "nest" and rule == "one_to_one" and synapses > 2e7:
        return "10⁸ neurons in NEST"
    return None


# ----------------------------------------------------------------------------- builders


def _base(rule):
    return "pairwise_bernoulli" if rule == "pairwise_bernoulli_sparse" else rule


def _jaxinit(rule, q):
    import jax

    from jaxinit import profiles
    from jaxinit import topology as T

    if rule == "distance_probability":
        xy = jax.numpy.asarray(_positions(q["n"]))
        profile = profiles.gaussian(q["sigma"], max_distance=3 * q["sigma"])
    calls = {
        "pairwise_bernoulli": lambda key: T.pairwise_bernoulli(key, q["n"], p=q["p"]),
        "fixed_total_number": lambda key: T.random_topology(
            key, q["n"], n_syn=q["n_syn"], allow_autapse=True, multapses=True
        ),
        "fixed_indegree": lambda key: T.fixed_indegree(key, q["n"], None, q["k"]),
        "fixed_outdegree": lambda key: T.fixed_outdegree(key, q["n"], None, q["k"]),
        "one_to_one": lambda key: T.one_to_one(q["n"]),
        "all_to_all": lambda key: T.all_to_all(q["n"]),
        "distance_probability": lambda key: T.distance_probability(key, xy, profile=profile),
        "small_world": lambda key: T.small_world(key, q["n"], q["k"], q["p"]),
        "scale_free": lambda key: T.scale_free(key, q["n"], q["m"]),
        "regular": lambda key: T.regular(key, q["n"], q["k"]),
        "stochastic_block": lambda key: T.stochastic_block(key, q["sizes"], _sbm_matrix(q)),
        "ring": lambda key: T.ring(q["n"], q["k"]),
        "grid": lambda key: T.grid((q["side"], q["side"]), "von_neumann", periodic=True),
    }
    call = calls[_base(rule)]

    def build(seed):
        conn = jax.block_until_ready(call(jax.random.key(seed)))
        return conn.nnz

    return build


def _positions(n):
    import numpy as np

    return np.random.default_rng(3).uniform(0.0, 1.0, (n, 2)).astype(np.float32)


def _sbm_matrix(q):
    blocks = len(q["sizes"])
    return [[q["p_in"] if i == j else q["p_out"] for j in range(blocks)] for i in range(blocks)]


def _nest(rule, q):
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    specs = {
        "pairwise_bernoulli": {"rule": "pairwise_bernoulli", "p": q.get("p"), "allow_autapses": False},
        "fixed_total_number": {"rule": "fixed_total_number", "N": q.get("n_syn"), "allow_autapses": True,
                               "allow_multapses": True},
        "fixed_indegree": {"rule": "fixed_indegree", "indegree": q.get("k"), "allow_autapses": False,
                           "allow_multapses": False},
        "fixed_outdegree": {"rule": "fixed_outdegree", "outdegree": q.get("k"), "allow_autapses": False,
                            "allow_multapses": False},
        "one_to_one": {"rule": "one_to_one"},
        "all_to_all": {"rule": "all_to_all", "allow_autapses": False},
    }  # fmt: skip

    def build(seed):
        nest.ResetKernel()
        nest.local_num_threads = NEST_THREADS
        nest.rng_seed = seed + 1
        if rule == "distance_probability":
            sigma = q["sigma"]
            # parrot neurons: the smallest model; the rule, not the neurons, is measured
            pop = nest.Create("parrot_neuron", positions=nest.spatial.free(_positions(q["n"]).tolist()))
            spec = {
                "rule": "pairwise_bernoulli",
                "p": nest.spatial_distributions.gaussian(nest.spatial.distance, std=sigma),
                "mask": {"circular": {"radius": 3 * sigma}},
                "allow_autapses": False,
            }
        else:
            pop = nest.Create("parrot_neuron", q["n"])
            spec = specs[_base(rule)]
        start = time.perf_counter()
        nest.Connect(pop, pop, spec, {"synapse_model": "static_synapse"})
        seconds = time.perf_counter() - start
        return nest.num_connections, seconds

    return build


def _braintools(rule, q):
    import numpy as np
    from braintools import conn, init

    def make(seed):
        if _base(rule) == "pairwise_bernoulli":
            return conn.Random(prob=q["p"], seed=seed), q["n"]
        if rule == "fixed_outdegree":
            return conn.Regular(degree=q["k"], seed=seed), q["n"]
        if rule == "one_to_one":
            return conn.OneToOne(seed=seed), q["n"]
        if rule == "all_to_all":
            return conn.AllToAll(include_self_connections=False, seed=seed), q["n"]
        if rule == "distance_probability":
            profile = init.GaussianProfile(q["sigma"], max_distance=3 * q["sigma"])
            return conn.DistanceDependent(profile, seed=seed), q["n"]
        if rule == "small_world":
            return conn.SmallWorld(k=q["k"], p=q["p"], seed=seed), q["n"]
        if rule == "scale_free":
            return conn.ScaleFree(m=q["m"], seed=seed), q["n"]
        if rule == "stochastic_block":
            builder = conn.ModularRandom(len(q["sizes"]), intra_prob=q["p_in"], inter_prob=q["p_out"], seed=seed)
            return builder, sum(q["sizes"])
        if rule == "ring":
            return conn.Ring(neighbors=q["k"], seed=seed), q["n"]
        if rule == "grid":
            return conn.Grid2d(connectivity="von_neumann", periodic=True, seed=seed), (q["side"], q["side"])
        raise ValueError(rule)

    xy = _positions(q["n"]).astype(np.float64) if rule == "distance_probability" else None

    def build(seed):
        builder, size = make(seed)
        where = {"pre_positions": xy, "post_positions": xy} if xy is not None else {}
        result = builder(pre_size=size, post_size=size, **where)
        return len(np.asarray(result.pre_indices))

    return build


def _igraph(rule, q):
    import igraph as ig

    calls = {
        "pairwise_bernoulli": (lambda: ig.Graph.Erdos_Renyi(n=q["n"], p=q["p"], directed=True, loops=False), 1),
        "all_to_all": (lambda: ig.Graph.Full(q["n"], directed=True), 1),
        "small_world": (lambda: ig.Graph.Watts_Strogatz(1, q["n"], q["k"] // 2, q["p"]), 2),
        "scale_free": (lambda: ig.Graph.Barabasi(q["n"], q["m"]), 2),
        "regular": (lambda: ig.Graph.K_Regular(q["n"], q["k"], directed=True), 1),
        "stochastic_block": (
            lambda: ig.Graph.SBM(_sbm_matrix(q), q["sizes"], directed=True, allowed_edge_types="simple"),
            1,
        ),
        "ring": (lambda: ig.Graph.Lattice([q["n"]], nei=q["k"], circular=True), 2),
        "grid": (lambda: ig.Graph.Lattice([q["side"], q["side"]], circular=True), 2),
    }
    call, per_edge = calls[_base(rule)]

    def build(seed):
        import random

        random.seed(seed)  # igraph draws from Python's `random` by default
        return call().ecount() * per_edge

    return build


def _networkx(rule, q):
    import networkx as nx

    calls = {
        "pairwise_bernoulli": (lambda s: nx.fast_gnp_random_graph(q["n"], q["p"], seed=s, directed=True), 1),
        "all_to_all": (lambda s: nx.complete_graph(q["n"], create_using=nx.DiGraph), 1),
        "small_world": (lambda s: nx.watts_strogatz_graph(q["n"], q["k"], q["p"], seed=s), 2),
        "scale_free": (lambda s: nx.barabasi_albert_graph(q["n"], q["m"], seed=s), 2),
        "regular": (lambda s: nx.random_regular_graph(q["k"], q["n"], seed=s), 2),
        "stochastic_block": (
            lambda s: nx.stochastic_block_model(q["sizes"], _sbm_matrix(q), seed=s, directed=True),
            1,
        ),
        "ring": (lambda s: nx.circulant_graph(q["n"], range(1, q["k"] + 1)), 2),
        "grid": (lambda s: nx.grid_2d_graph(q["side"], q["side"], periodic=True), 2),
    }
    call, per_edge = calls[_base(rule)]
    return lambda seed: call(seed).number_of_edges() * per_edge


def _child(rule: str, library: str, synapses: float) -> dict:
    q = RULES[rule].params(synapses)
    stats = {"compiles": 0, "compile_s": 0.0}
    version = None
    if library == "jaxinit":
        import jax
        from jax import monitoring

        def on_duration(event, duration, **_):
            if event == "/jax/core/compile/backend_compile_duration":
                stats["compiles"] += 1
                stats["compile_s"] += duration

        monitoring.register_event_duration_secs_listener(on_duration)
        import jaxinit

        version = f"jax {jax.__version__}, from {Path(jaxinit.__file__).parent.parent}"
    make = {"jaxinit": _jaxinit, "nest": _nest, "braintools": _braintools, "igraph": _igraph, "networkx": _networkx}
    build = make[library](rule, q)
    t_setup = time.time()
    first = time.perf_counter()
    out = build(0)
    first_s = time.perf_counter() - first
    t_ready = time.time()
    nnz, timed = out if isinstance(out, tuple) else (out, first_s)
    cold_compiles, cold_compile_s = stats["compiles"], stats["compile_s"]
    # a later build that compiles again (a shape that depends on a drawn count) pays it warm too
    stats.update(compiles=0, compile_s=0.0)
    peak_cold = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if first_s < 60:
        start = time.perf_counter()
        out = build(1)
        warm_s = out[1] if isinstance(out, tuple) else time.perf_counter() - start
        warm_nnz = out[0] if isinstance(out, tuple) else out
        warm_is_first = False
    else:  # a minute-long build is not repeated: its first call stands for warm
        warm_s, warm_nnz, warm_is_first = timed, nnz, True
    versions = {
        "jaxinit": lambda: version,
        "nest": lambda: __import__("nest").__version__,
        "braintools": lambda: __import__("braintools").__version__,
        "igraph": lambda: __import__("igraph").__version__,
        "networkx": lambda: __import__("networkx").__version__,
    }
    return {
        "rule": rule,
        "library": library,
        "synapses": synapses,
        "params": q,
        "nnz": int(nnz),
        "warm_nnz": int(warm_nnz),
        "cold_s": t_ready - _T_START,
        "setup_s": t_setup - _T_START,
        "first_s": timed,
        "warm_s": warm_s,
        "warm_is_first": warm_is_first,
        "compiles": cold_compiles,
        "compile_s": cold_compile_s,
        "warm_compiles": stats["compiles"],
        "warm_compile_s": stats["compile_s"],
        "peak_cold": peak_cold,
        "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "version": versions[library](),
    }


# ----------------------------------------------------------------------------- parent


def _rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its children (NEST and XLA run threads, not processes)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def export_jaxinit(rev: str) -> tuple[str, str]:
    """``(folder, commit)``: jaxinit as committed at ``rev``, outside the shared working tree (whose
    uncommitted edits belong to whoever is editing it)."""
    commit = subprocess.run(["git", "rev-parse", "--short", rev], capture_output=True, text=True, cwd=ROOT, check=True)
    commit = commit.stdout.strip()
    folder = Path(f"/tmp/jaxinit-bench-{commit}")
    if not (folder / "jaxinit").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit, "jaxinit"], capture_output=True, cwd=ROOT, check=True)
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return str(folder), commit


def measure(rule: str, library: str, synapses: float, timeout: float, jaxinit_path: str | None = None) -> dict:
    """One fresh process; its result, or ``{"error": ...}`` (failed, timed out, over the memory cap)."""
    command = [sys.executable, str(HERE / "_rules.py"), rule, library, repr(float(synapses))]
    load = os.getloadavg()[0]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [jaxinit_path, str(ROOT)]))}
    started = time.time()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env) as p:
        error = None
        while p.poll() is None:
            if _rss(p.pid) > MEMORY_CAP:
                error = f"over {MEMORY_CAP / 2**30:.0f} GiB (stopped)"
            elif time.time() - started > timeout:
                error = f"over {timeout:.0f} s (stopped)"
            if error:
                p.kill()
                break
            time.sleep(0.1)
        stdout, stderr = p.communicate()
    base = {"rule": rule, "library": library, "synapses": synapses, "load": [load, os.getloadavg()[0]]}
    if error is None and p.returncode != 0:
        lines = stderr.strip().splitlines() or ["failed"]
        error = next((x for x in reversed(lines) if "Error" in x), lines[-1]).strip()[:160]
    if error is not None:
        return {**base, "error": error}
    return {**json.loads(stdout.strip().splitlines()[-1]), **base}


def _check(r: dict, jaxinit: dict | None) -> str:
    """The built count against the rule's law: exact, a z-score, or against jaxinit's count."""
    mean, sd = RULES[r["rule"]].expected(r["params"])
    nnz = r["nnz"]
    if mean is not None and sd == 0:
        if nnz == mean:
            return f"{nnz:,} (exact)"
        return f"{nnz:,} ({(nnz - mean) / mean * 100:+.2g}% vs {mean:,})"
    if mean is not None:
        return f"{nnz:,} (z = {(nnz - mean) / sd:+.1f})"
    if jaxinit is None or "nnz" not in jaxinit or r is jaxinit:
        return f"{nnz:,}"
    # both counts are sums of independent Bernoullis with the same mean: var(a - b) <= a + b
    z = (nnz - jaxinit["nnz"]) / math.sqrt(nnz + jaxinit["nnz"])
    return f"{nnz:,} (z = {z:+.1f} vs jaxinit)"


def _ratio(peer: float, ours: float) -> str:
    if ours <= 0:
        return ""
    x = peer / ours
    return f"{x:.0f}" if x >= 10 else f"{x:.2g}"


def _size(synapses: float) -> str:
    exponent = round(math.log10(synapses))
    power = "10" + str(exponent).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return power if math.isclose(synapses, 10**exponent) else f"{synapses:.2g}"


def _verdict(ratio: float) -> str:
    return f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"


def render(results: list[dict], header: str) -> str:
    """The section's markdown: one row per (rule, size, library), ratios against jaxinit in that group."""
    lines = [
        "## Connectivity rules against the peers (`benchmarks/topology.py --rules`)",
        "",
        header,
        "",
        "Each row is one fresh process. **cold**: process start -> imports -> first build done (jaxinit:",
        "tracing and XLA compilation included; NEST: `import nest`, `ResetKernel`, `Create` of parrot",
        "neurons, `Connect`); **warm**: a second build in the same process with another seed (NEST:",
        "`Connect` alone, in a fresh kernel); **peak**: `ru_maxrss` of the process. *compiles*: XLA",
        "compilations counted by a `jax.monitoring` listener, cold / warm, with their seconds (a warm",
        "compilation is a program whose shape depends on a drawn count). Ratios are peer / jaxinit from",
        "the same run: above 1 jaxinit is faster (or smaller). The count column checks that both sides",
        "built the same law: exact counts must match, random counts are z-scores against the rule's mean",
        "and standard deviation (spatial: against jaxinit's count, same positions). Peers that build an",
        "undirected graph count each edge as two synapses. A build of over a minute is not repeated: its",
        "first call stands for warm (marked *).",
        "",
        "| rule | synapses | library | synapses built (check) | cold s | warm s | compiles | peak MiB"
        " | warm ratio | cold ratio | peak ratio |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    groups: dict = {}
    for r in results:
        groups.setdefault((r["rule"], r["synapses"]), []).append(r)
    verdicts = []
    order = list(RULES)
    commits = {r["commit"] for r in results if "commit" in r and r["library"] == "jaxinit"}
    for rule, synapses in sorted(groups, key=lambda g: (order.index(g[0]), g[1])):
        rows = groups[(rule, synapses)]
        ours = next((r for r in rows if r["library"] == "jaxinit" and "nnz" in r), None)
        said = []
        for r in sorted(rows, key=lambda r: ("jaxinit", *PEERS).index(r["library"])):
            if r["library"] == "jaxinit":  # the commit, where the table mixes several
                name = f"jaxinit ({r['commit']})" if len(commits) > 1 and "commit" in r else "jaxinit"
            else:
                name = f"{r['library']}: {RULES[rule].peers[r['library']]}"
            if "nnz" not in r:
                lines.append(
                    f"| {rule} | {_size(synapses)} | {name} | {r.get('error', r.get('skipped'))} | | | | | | | |"
                )
                continue
            compiles = ""
            if r["library"] == "jaxinit":
                compiles = f"{r['compiles']} ({r['compile_s']:.1f} s) / {r['warm_compiles']}"
                compiles += f" ({r['warm_compile_s']:.1f} s)" if r["warm_compiles"] else ""
            star = "*" if r["warm_is_first"] else ""
            ratios = ["", "", ""]
            if ours is not None and r is not ours:
                ratios = [
                    _ratio(r["warm_s"], ours["warm_s"]),
                    _ratio(r["cold_s"], ours["cold_s"]),
                    _ratio(r["peak"], ours["peak"]),
                ]
                said.append(
                    f"{r['library']}: warm {_verdict(r['warm_s'] / ours['warm_s'])}, "
                    f"cold {_verdict(r['cold_s'] / ours['cold_s'])}"
                )
            lines.append(
                f"| {rule} | {_size(synapses)} | {name} | {_check(r, ours)} | {r['cold_s']:.2f}"
                f" | {r['warm_s']:.3g}{star} | {compiles} | {r['peak'] / 2**20:,.0f} | {' | '.join(ratios)} |"
            )
        if said:
            verdicts.append(f"- {rule} at {_size(synapses)}: jaxinit against {'; '.join(said)}.")
    lines += ["", 'jaxinit against each peer (warm and cold time; "faster" = jaxinit takes less):', "", *verdicts]
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], sys.argv[2], float(sys.argv[3]))))

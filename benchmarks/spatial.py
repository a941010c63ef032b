"""Spatial pairwise Bernoulli: jaxinit's distance_probability (spatial cells) beside NEST 3.10.

Run: ``python benchmarks/spatial.py [--skip-big]``. Each measurement runs in a fresh process:
*cold* is the first build in that process (jaxinit: tracing and XLA compilation included;
NEST: ``nest.Connect`` on a fresh kernel), *warm* the best of three further builds (NEST:
``ResetKernel``, ``Create`` and ``Connect`` again, the connect timed alone). Cases:

* 10^4 neurons uniform on a 1 mm torus, ``p = 0.5 · exp(−d²/2σ²)``, σ = 0.1 mm, cut at
  0.3 mm (NEST: circular mask), ~3.1·10^6 synapses, NEST with 2 threads;
* 10^6 neurons on a unit torus, ``p = exp(−d²/2σ²)``, σ = 0.001 cut at 3σ, ~6·10^6
  synapses (jaxinit only, cold).

Also ``distance_topology`` (fixed in-degree by distance) on the 10^4 case with in-degree
310 (the Bernoulli case's mean), through the cells of the cut profile. Rewrites the
"spatial" section of RESULTS.md (``--print`` only prints it). About 3 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

# distance_topology's in-degree: the Bernoulli case's mean in-degree (3.1·10^6 / 10^4)
TOPOLOGY_K = 310


def _positions(n: int):
    import numpy as np

    return np.random.default_rng(3).uniform(0.0, 1.0, (n, 2)).astype(np.float32)


def _jaxinit(n: int, sigma: float, amplitude: float, rule: str = "distance_probability") -> dict:
    start = time.perf_counter()
    import jax
    from jax import monitoring

    from jaxinit import profiles
    from jaxinit import topology as T

    compiles = {"n": 0, "s": 0.0}

    def on_duration(event, duration, **_):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles["n"] += 1
            compiles["s"] += duration

    monitoring.register_event_duration_secs_listener(on_duration)
    xy = jax.numpy.asarray(_positions(n))
    profile = profiles.gaussian(sigma, max_distance=3 * sigma, amplitude=amplitude)

    def build(seed):
        if rule == "distance_topology":
            conn = T.distance_topology(jax.random.key(seed), xy, profile=profile, k=TOPOLOGY_K, box=1.0)
        else:
            conn = T.distance_probability(jax.random.key(seed), xy, profile=profile, box=1.0)
        jax.block_until_ready(conn.pre)
        return conn

    t = time.perf_counter()
    conn = build(0)
    cold = time.perf_counter() - t
    process = time.perf_counter() - start
    cold_compiles = dict(compiles)
    warm = []
    for seed in range(1, 4):
        t = time.perf_counter()
        build(seed)
        warm.append(time.perf_counter() - t)
    return {
        "nnz": conn.nnz,
        "cold_s": cold,
        "process_s": process,
        "warm_s": min(warm),
        "compiles": cold_compiles["n"],
        "compile_s": cold_compiles["s"],
        "warm_compiles": compiles["n"] - cold_compiles["n"],
    }


def _nest(n: int, sigma: float, amplitude: float) -> dict:
    start = time.perf_counter()
    import nest

    nest.set_verbosity("M_ERROR")
    xy = _positions(n).tolist()

    def build():
        nest.ResetKernel()
        nest.SetKernelStatus({"local_num_threads": 2})
        layer = nest.Create("iaf_psc_alpha", positions=nest.spatial.free(xy, extent=[1.0, 1.0], edge_wrap=True))
        p = amplitude * nest.spatial_distributions.gaussian(nest.spatial.distance, std=sigma)
        spec = {"rule": "pairwise_bernoulli", "p": p, "mask": {"circular": {"radius": 3 * sigma}}}
        spec["allow_autapses"] = False
        t = time.perf_counter()
        nest.Connect(layer, layer, spec)
        return time.perf_counter() - t, nest.GetKernelStatus("num_connections")

    cold, nnz = build()
    process = time.perf_counter() - start
    warm = min(build()[0] for _ in range(3))
    return {"nnz": nnz, "cold_s": cold, "process_s": process, "warm_s": warm}


def measure(tool: str, n: int, sigma: float, amplitude: float) -> dict:
    args = [sys.executable, __file__, "--one", tool, str(n), str(sigma), str(amplitude)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=1800, env=os.environ.copy())
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", nargs=4)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--print", action="store_true", help="print the section, leave RESULTS.md as it is")
    args = parser.parse_args()
    if args.one:
        tool, n, sigma, amplitude = args.one
        if tool == "nest":
            print(json.dumps(_nest(int(n), float(sigma), float(amplitude))))
        else:
            print(json.dumps(_jaxinit(int(n), float(sigma), float(amplitude), rule=tool.removeprefix("jaxinit-"))))
        return
    import _timing

    load = os.getloadavg()[0]
    cases = [
        ("jaxinit-distance_probability", 10_000, 0.1, 0.5),
        ("nest", 10_000, 0.1, 0.5),
        ("jaxinit-distance_topology", 10_000, 0.1, 0.5),
    ]
    if not args.skip_big:
        cases.append(("jaxinit-distance_probability", 1_000_000, 0.001, 1.0))
    lines = [
        "## Spatial probability (`benchmarks/spatial.py`)",
        "",
        "`distance_probability` (thinned through spatial cells) beside NEST 3.10's spatial `pairwise_bernoulli`",
        "(circular mask, 2 threads), uniform positions on a unit torus, `p = A·exp(−d²/2σ²)` cut at 3σ; and",
        f"`distance_topology` (in-degree {TOPOLOGY_K}, the same profile, through the cells). Cold: first build in a",
        "fresh process (jaxinit: tracing and XLA compilation included, compilations counted); warm: best of",
        f"three more builds. {_timing.machine()}; load average {load:.1f} at the start.",
        "",
        "| case | tool | synapses | cold (s) | fresh process (s) | warm (s) | XLA compilations (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for tool, n, sigma, amplitude in cases:
        r = measure(tool, n, sigma, amplitude)
        case = f"{n:,} neurons, σ={sigma}, A={amplitude}"
        if "error" in r:
            lines.append(f"| {case} | {tool} | error: {r['error']} | | | | |")
            continue
        compiled = f"{r['compiles']} ({r['compile_s']:.1f})" if "compiles" in r else ""
        lines.append(
            f"| {case} | {tool} | {r['nnz']:,} | {r['cold_s']:.2f} | {r['process_s']:.2f} | {r['warm_s']:.2f} "
            f"| {compiled} |"
        )
        print(lines[-1], flush=True)
    markdown = "\n".join(lines)
    if args.print:
        print(markdown)
    else:
        _timing.write_section("spatial", markdown)


if __name__ == "__main__":
    main()

"""Cost of each combinator relative to its base draw, and whole block schemes vs braintools.

Run: ``python benchmarks/combinators.py [--sizes 1000000 10000000] [--runs 7]``.
Prints the tables and rewrites the "combinators" section of RESULTS.md.

1. Each combinator, jitted and warm, over n elements, as a ratio to one draw of its
   base ``normal(0.5, 0.3)`` measured in the same run.
2. The 800 E + 200 I network (four distance-modulated blocks) and the 5-cell-type
   microcircuit, built by one jitted ``blocks`` call over the full 1000 x 1000
   distance matrix, against braintools.init building the same matrix the two ways a
   braintools user would: one call per block (its fastest) and one call per pair
   (the tutorial's loop, timed on a sample of pairs and reported per synapse).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jaxinit as ji  # noqa: E402
from benchmarks._timing import machine, time_calls, write_section  # noqa: E402
from jaxinit import profiles  # noqa: E402

BASE = ji.normal(0.5, 0.3)


def combinator_cases(n: int):
    """name -> (initializer, context) for arrays of n elements."""
    side = int(math.isqrt(n))
    mask = jnp.arange(n) % 5 < 4
    distances = jnp.linspace(0.0, 500.0, n)
    return {
        "scale": (ji.scale(BASE, 2.0), {}),
        "shift": (ji.shift(BASE, 1.0), {}),
        "clip": (ji.clip(BASE, 0.2, 0.8), {}),
        "transform (abs)": (ji.transform(BASE, jnp.abs), {}),
        "add (2 draws)": (ji.add(BASE, BASE), {}),
        "multiply (bernoulli x lognormal)": (ji.multiply(ji.bernoulli(0.1), ji.lognormal(0.5, 0.3)), {}),
        "where (mask)": (ji.where(mask, BASE, ji.normal(-1.0, 0.1)), {}),
        "mixture of 3 normals": (
            ji.mixture([ji.normal(0.3, 0.05), ji.normal(1.2, 0.2), ji.normal(-1.0, 0.3)], [0.5, 0.3, 0.2]),
            {},
        ),
        "mixture of 3 families (general)": (
            ji.mixture([ji.normal(0.3, 0.05), ji.uniform(1.0, 2.0), ji.exponential(0.5)], [0.5, 0.3, 0.2]),
            {},
        ),
        "modulate_by_distance (gaussian)": (
            ji.modulate_by_distance(BASE, profiles.gaussian(100.0), min_weight=0.02),
            {"distances": distances},
        ),
        f"blocks 2x2 ({side}x{side})": (
            ji.blocks([side // 2, side - side // 2], [side // 2, side - side // 2], [[BASE, BASE], [BASE, None]]),
            {},
        ),
    }


def bench_combinators(sizes, runs):
    key = jax.random.key(0)
    rows = []
    for n in sizes:
        base = jax.jit(lambda k, n=n: BASE(k, (n,)))
        for name, (init, ctx) in combinator_cases(n).items():
            shape = (math.isqrt(n),) * 2 if name.startswith("blocks") else (n,)
            fn = jax.jit(lambda k, ctx, init=init, shape=shape: init(k, shape, **ctx))
            (_, base_t), (first, t) = time_calls([lambda f=base: f(key), lambda f=fn, c=ctx: f(key, c)], runs)
            rows.append((n, name, t, base_t, first))
            print(
                f"n={n:>10,} {name:<36} {t * 1e3:8.2f} ms  base {base_t * 1e3:7.2f} ms  x{t / base_t:5.2f}", flush=True
            )
    return rows


# --- the seed schemes -------------------------------------------------------------


def ei_scheme(ji_units, u):
    """The 800 E + 200 I network: jaxinit blocks and the braintools per-block recipe."""
    g = lambda x: x * u.nS  # noqa: E731
    um = lambda x: x * u.um  # noqa: E731
    lateral = profiles.dog(um(60.0), um(180.0), 1.2, 0.6)

    def clipped_dog(d):
        return jnp.clip(lateral(d), 0.0, 1.0)

    spec = [  # (pre, post, mean, std, jaxinit profile, floor)
        ("E", "E", 0.5, 0.05, profiles.gaussian(um(100.0)), 0.02),
        ("E", "I", 0.6, 0.08, profiles.exponential(um(150.0)), 0.05),
        ("I", "E", 1.5, 0.2, clipped_dog, 0.1),
        ("I", "I", 0.8, 0.1, profiles.gaussian(um(80.0)), 0.05),
    ]
    table = [[None, None], [None, None]]
    for pre, post, mean, std, profile, floor in spec:
        init = ji.modulate_by_distance(ji.normal(g(mean), g(std)), profile, min_weight=g(floor))
        table["EI".index(pre)]["EI".index(post)] = init if pre == "E" else ji.scale(init, -1.0)
    return ji.blocks([800, 200], [800, 200], table), spec


def braintools_ei(bt, u, spec, distances, rng, per_pair_sample=0):
    """What a braintools user writes: one DistanceModulated(...).clip(...) call per block."""
    profiles_bt = {
        ("E", "E"): bt.GaussianProfile(sigma=100.0 * u.um),
        ("E", "I"): bt.ExponentialProfile(decay_constant=150.0 * u.um),
        ("I", "E"): bt.DoGProfile(
            sigma_center=60.0 * u.um, sigma_surround=180.0 * u.um, amplitude_center=1.2, amplitude_surround=0.6
        ).clip(0.0, 1.0),
        ("I", "I"): bt.GaussianProfile(sigma=80.0 * u.um),
    }
    sizes = {"E": slice(0, 800), "I": slice(800, 1000)}
    inits = {
        (pre, post): bt.DistanceModulated(bt.Normal(mean * u.nS, std * u.nS), profiles_bt[(pre, post)]).clip(
            min_val=floor * u.nS
        )
        for pre, post, mean, std, _, floor in spec
    }
    if per_pair_sample:
        pairs = rng.integers(0, 1000, (per_pair_sample, 2))
        for i, j in pairs:
            pre, post = ("E" if i < 800 else "I"), ("E" if j < 800 else "I")
            inits[(pre, post)](1, distances=distances[i, j : j + 1], rng=rng)
        return None
    blocks = {}
    for (pre, post), init in inits.items():
        rows, cols = sizes[pre], sizes[post]
        w = init((rows.stop - rows.start, cols.stop - cols.start), distances=distances[rows, cols], rng=rng)
        blocks[(pre, post)] = w.to_decimal(u.nS) * (1 if pre == "E" else -1)
    return np.block([[blocks[("E", "E")], blocks[("E", "I")]], [blocks[("I", "E")], blocks[("I", "I")]]])


CELL_TYPES = {"Pyr_L23": 350, "Pyr_L5": 300, "PV": 150, "SST": 100, "VIP": 100}
INHIBITORY = {"PV", "SST", "VIP"}


def microcircuit_spec():
    """(pre, post) -> (mean nS, std nS, profile name, profile kwargs (µm), floor nS); the rest default."""
    return {
        ("Pyr_L23", "Pyr_L23"): (0.4, 0.08, "gaussian", {"sigma": 120.0}, 0.02),
        ("Pyr_L23", "Pyr_L5"): (0.6, 0.12, "exponential", {"decay_constant": 150.0}, 0.03),
        ("PV", "Pyr_L23"): (2.0, 0.4, "gaussian", {"sigma": 60.0}, 0.2),
        ("SST", "Pyr_L5"): (1.5, 0.3, "gaussian", {"sigma": 90.0}, 0.1),
    }, (0.3, 0.1, "gaussian", {"sigma": 100.0}, 0.01)


def microcircuit_jaxinit():
    spec, default = microcircuit_spec()
    names = list(CELL_TYPES)
    table = []
    for pre in names:
        row = []
        for post in names:
            mean, std, kind, kwargs, floor = spec.get((pre, post), default)
            init = ji.modulate_by_distance(ji.normal(mean, std), getattr(profiles, kind)(**kwargs), floor)
            row.append(ji.scale(init, -1.0) if pre in INHIBITORY else init)
        table.append(row)
    sizes = list(CELL_TYPES.values())
    return ji.blocks(sizes, sizes, table)


def microcircuit_braintools(bt, distances, rng):
    spec, default = microcircuit_spec()
    bt_profiles = {"gaussian": bt.GaussianProfile, "exponential": bt.ExponentialProfile}
    names = list(CELL_TYPES)
    starts = np.cumsum([0, *CELL_TYPES.values()])
    rows = []
    for a, pre in enumerate(names):
        row = []
        for b, post in enumerate(names):
            mean, std, kind, kwargs, floor = spec.get((pre, post), default)
            init = bt.DistanceModulated(bt.Normal(mean, std), bt_profiles[kind](**kwargs)).clip(min_val=floor)
            block = distances[starts[a] : starts[a + 1], starts[b] : starts[b + 1]]
            w = np.asarray(init(block.shape, distances=block, rng=rng))
            row.append(-w if pre in INHIBITORY else w)
        rows.append(row)
    return np.block(rows)


def bench_schemes(runs):
    import brainunit as u

    try:
        from braintools import init as bt
    except ImportError:
        bt = None
        print("braintools not installed (pip install -e '.[bench]'): its columns are left out")
    key = jax.random.key(0)
    positions = np.random.default_rng(0).uniform(0, 500, (1000, 2))
    d_plain = np.asarray(profiles.pairwise_distances(positions, positions))
    d_units = d_plain * u.um
    rows = []

    network, spec = ei_scheme(ji, u)
    ours = jax.jit(lambda k, d: network(k, (1000, 1000), distances=d))
    contenders = [lambda: ours(key, d_units)]
    if bt is not None:
        rng = np.random.default_rng(0)
        contenders.append(lambda: braintools_ei(bt, u, spec, d_units, rng))
    timings = time_calls(contenders, runs)
    per_pair = math.nan
    if bt is not None:
        sample = 300
        start = time.perf_counter()
        braintools_ei(bt, u, spec, d_units, np.random.default_rng(1), per_pair_sample=sample)
        per_pair = (time.perf_counter() - start) / sample
    rows.append(("800 E + 200 I, 4 distance-modulated blocks, units", timings, per_pair))

    circuit = microcircuit_jaxinit()
    ours_c = jax.jit(lambda k, d: circuit(k, (1000, 1000), distances=d))
    contenders = [lambda: ours_c(key, d_plain)]
    if bt is not None:
        rng = np.random.default_rng(0)
        contenders.append(lambda: microcircuit_braintools(bt, d_plain, rng))
    rows.append(("5-cell-type microcircuit, 25 blocks", time_calls(contenders, runs), math.nan))
    for name, timings, pair in rows:
        print(name, [f"{t * 1e3:.1f} ms" for _, t in timings], f"per pair {pair * 1e6:.0f} µs", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    combinator_rows = bench_combinators(args.sizes, args.runs)
    scheme_rows = bench_schemes(args.runs)

    lines = [
        "## Combinators (`benchmarks/combinators.py`)",
        "",
        f"Machine: {machine()}.",
        "",
        "Each combinator, jitted and warm (median), as a multiple of one draw of its base `normal(0.5, 0.3)`",
        "over the same n, measured in the same run (blocks: a square matrix of about n elements).",
        "",
        "| n | combinator | ms | base draw ms | cost / base draw |",
        "|---:|---|---:|---:|---:|",
    ]
    for n, name, t, base_t, _ in combinator_rows:
        lines.append(f"| {n:.0e} | {name} | {t * 1e3:.2f} | {base_t * 1e3:.2f} | {t / base_t:.2f} |")
    lines += [
        "",
        "A mixture of one location-scale family draws one standard variate plus the component index (target",
        "≤ 2.5x one draw); a mixture of different families samples every component (about k + 1 draws).",
        "",
        "Whole 1000 x 1000 schemes: jaxinit builds each with one jitted `blocks` call over the full distance",
        "matrix; braintools.init (numpy, not jittable) builds the same matrix with one",
        "`DistanceModulated(...).clip(...)` call per block, its fastest recipe; the tutorial's per-pair loop",
        "is timed on 300 pairs and extrapolated.",
        "",
        "| scheme | jaxinit ms | ns / synapse | braintools per block ms | braintools / jaxinit"
        " | braintools per-pair loop, s for all 10⁶ pairs (extrapolated) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, timings, per_pair in scheme_rows:
        ours = timings[0][1]
        theirs = timings[1][1] if len(timings) > 1 else math.nan
        pair = "n/a" if math.isnan(per_pair) else f"{per_pair * 1e6:.0f}"
        per_synapse_ns = ours * 1e9 / 1e6
        lines.append(
            f"| {name} | {ours * 1e3:.1f} | {per_synapse_ns:.1f} | {theirs * 1e3:.1f} | {theirs / ours:.1f} | {pair} |"
        )
    lines += ["", "First-call (compile) times are printed by the script."]
    write_section("combinators", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

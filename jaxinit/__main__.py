"""The demo: ``python -m jaxinit``.

By default it builds a 10⁵-neuron E/I network with distance-modulated lognormal
weights in nS on a periodic sheet in µm, and prints a summary: synapses, E and I
weight statistics with units, and the build time split into compile and run
(``--plot FILE.png`` draws weight histograms, weight against distance and the degree
distribution). ``--distributions`` instead samples every distribution with units and
prints its statistics beside the analytic values.
"""

from __future__ import annotations

import argparse
import math
import os
import time


def _truncnorm_moments(mean, std, low, high):
    a, b = (low - mean) / std, (high - mean) / std
    pdf = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * math.erfc(-z / math.sqrt(2))  # noqa: E731
    mass = cdf(b) - cdf(a)
    shift = (pdf(a) - pdf(b)) / mass
    var = 1 + (a * pdf(a) - b * pdf(b)) / mass - shift**2
    return mean + std * shift, std * math.sqrt(var)


def _weibull_moments(k, scale):
    g1, g2 = math.gamma(1 + 1 / k), math.gamma(1 + 2 / k)
    return scale * g1, scale * math.sqrt(g2 - g1 * g1)


def _cases(u):
    """(label, initializer, unit, analytic mean, analytic std, support) for each distribution."""
    import jaxinit as ji

    tn_mean, tn_std = _truncnorm_moments(0.5, 0.3, 0.0, 1.0)
    wb_mean, wb_std = _weibull_moments(1.5, 10.0)
    a, b, width = 2.0, 5.0, 20.0
    return [
        ("constant", ji.constant(0.5 * u.nS), u.nS, 0.5, 0.0, (0.5, 0.5)),
        ("uniform", ji.uniform(0.1 * u.nS, 1.0 * u.nS), u.nS, 0.55, 0.9 / math.sqrt(12), (0.1, 1.0)),
        ("normal", ji.normal(0.5 * u.nS, 150 * u.psiemens), u.nS, 0.5, 0.15, (-math.inf, math.inf)),
        (
            "truncated_normal",
            ji.truncated_normal(0.5 * u.nS, 0.3 * u.nS, low=0.0 * u.nS, high=1.0 * u.nS),
            u.nS,
            tn_mean,
            tn_std,
            (0.0, 1.0),
        ),
        ("lognormal", ji.lognormal(0.5 * u.nS, 0.2 * u.nS), u.nS, 0.5, 0.2, (0.0, math.inf)),
        ("gamma", ji.gamma(2.0, 5.0 * u.ms), u.ms, 10.0, 5.0 * math.sqrt(2.0), (0.0, math.inf)),
        ("exponential", ji.exponential(20.0 * u.Hz), u.Hz, 20.0, 20.0, (0.0, math.inf)),
        ("weibull", ji.weibull(1.5, 10.0 * u.ms), u.ms, wb_mean, wb_std, (0.0, math.inf)),
        (
            "beta",
            ji.beta(a, b, low=-70.0 * u.mV, high=-50.0 * u.mV),
            u.mV,
            -70.0 + width * a / (a + b),
            width * math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))),
            (-70.0, -50.0),
        ),
        ("bernoulli", ji.bernoulli(0.1), None, 0.1, math.sqrt(0.09), (0.0, 1.0)),
    ]


def _network_bytes(n: int, p: float) -> float:
    """What the network demo holds at its peak: positions, then per synapse pre, post,
    distance, weight and the sampler's temporaries (~32 bytes, measured in benchmarks/)."""
    return 8.0 * n + 32.0 * p * n * (n - 1)


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: no guard
        return None


def _fmt(x: float) -> str:
    return f"{x:9.4f}" if math.isfinite(x) else f"{'-inf' if x < 0 else 'inf':>9}"


def _network(args):
    import brainunit as u
    import jax
    import jax.numpy as jnp
    import numpy as np

    import jaxinit as ji
    from jaxinit import profiles, topology

    n, side = args.neurons, args.side
    n_exc = round(0.8 * n)
    key_pos, key_conn, key_w = jax.random.split(jax.random.key(args.seed), 3)
    positions = jax.random.uniform(key_pos, (n, 2), maxval=side)
    exc = ji.modulate_by_distance(ji.lognormal(0.5 * u.nS, 0.25 * u.nS), profiles.gaussian(0.2 * u.mm), 0.01 * u.nS)
    inh = ji.modulate_by_distance(ji.lognormal(2.0 * u.nS, 1.0 * u.nS), profiles.exponential(150 * u.um), 0.05 * u.nS)

    def build(key_conn, key_w, positions):
        conn = topology.random_topology(key_conn, n, p=args.p)
        d = topology.synapse_distances(conn, positions, box=side)
        init = ji.where(lambda shape, is_exc, **ctx: is_exc, exc, inh)
        w = init(key_w, (conn.nnz,), distances=d * u.um, is_exc=conn.pre < n_exc)
        signed = jnp.where(conn.pre < n_exc, w.mantissa, -w.mantissa)
        return conn, signed, d

    start = time.perf_counter()
    compiled = jax.jit(build).lower(key_conn, key_w, positions).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    conn, w, d = jax.block_until_ready(compiled(key_conn, key_w, positions))
    run_s = time.perf_counter() - start

    pre = np.asarray(conn.pre)
    weights = np.asarray(w)
    is_exc = pre < n_exc
    print(f"jaxinit demo: {n:,} neurons ({n_exc:,} E, {n - n_exc:,} I) on a {side:g} µm periodic sheet, p = {args.p}")
    print(f"synapses: {conn.nnz:,} (exactly round(p·N(N-1)), no autapses), seed {args.seed}\n")
    for label, mask in (("E -> all", is_exc), ("I -> all", ~is_exc)):
        x = weights[mask]
        print(
            f"{label}: {mask.sum():>12,} synapses  mean {x.mean():8.4f} nS  std {x.std():7.4f} nS  "
            f"min {x.min():8.4f} nS  max {x.max():8.4f} nS"
        )
    print(f"\nbuild: compile {compile_s:.2f} s, run {run_s:.2f} s ({conn.nnz / run_s:,.0f} synapses/s)")
    if args.plot:
        _plot(args.plot, weights, is_exc, np.asarray(d), np.asarray(conn.in_degree()))
        print(f"figure written to {args.plot}")


def _plot(path, weights, is_exc, distances, in_degree):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    axes[0].hist(weights[is_exc], bins=100, color="tab:red", alpha=0.7, label="E")
    axes[0].hist(weights[~is_exc], bins=100, color="tab:blue", alpha=0.7, label="I")
    axes[0].set(xlabel="weight (nS)", ylabel="synapses", title="Weights by presynaptic type", yscale="log")
    axes[0].legend()
    sample = np.random.default_rng(0).choice(weights.size, min(weights.size, 20_000), replace=False)
    colors = np.where(is_exc[sample], "tab:red", "tab:blue")
    axes[1].scatter(distances[sample], weights[sample], s=2, c=colors, alpha=0.4)
    axes[1].set(xlabel="distance (µm)", ylabel="weight (nS)", title="Weight against distance")
    axes[2].hist(in_degree, bins=np.arange(in_degree.min(), in_degree.max() + 2) - 0.5, color="gray")
    axes[2].set(xlabel="in-degree", ylabel="neurons", title="In-degree distribution")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m jaxinit",
        description="Build a 10^5-neuron E/I network with distance-modulated lognormal weights in nS and summarise it "
        "(or, with --distributions, sample every distribution and compare with the analytic values).",
    )
    parser.add_argument("--neurons", type=int, default=100_000, help="network size (default 100,000)")
    parser.add_argument("--p", type=float, default=0.001, help="connection probability (default 0.001)")
    parser.add_argument("--side", type=float, default=2000.0, help="side of the periodic sheet in µm (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    parser.add_argument("--plot", metavar="FILE.png", help="write a figure of the network")
    parser.add_argument("--distributions", action="store_true", help="sample every distribution instead")
    parser.add_argument("--n", type=int, default=1_000_000, help="samples per distribution with --distributions")
    args = parser.parse_args(argv)
    if args.n < 2:
        parser.error(f"--n must be >= 2, got {args.n}")
    if args.neurons < 2:
        parser.error(f"--neurons must be >= 2, got {args.neurons}")
    if not 0 < args.p <= 1:
        parser.error(f"--p must be in (0, 1], got {args.p}")
    if not (math.isfinite(args.side) and args.side > 0):
        parser.error(f"--side must be a finite length > 0 (µm), got {args.side}")
    if args.plot:
        folder = os.path.dirname(os.path.abspath(args.plot))
        if not os.path.isdir(folder):
            parser.error(f"--plot: the folder {folder} does not exist; create it first (nothing was built)")
    if not args.distributions:
        needed = _network_bytes(args.neurons, args.p)
        available = _physical_memory()
        if available is not None and needed > available:
            parser.error(
                f"--neurons {args.neurons:,} with --p {args.p} makes ~{args.p * args.neurons**2:.3g} synapses, "
                f"which need ~{needed / 2**30:,.1f} GiB; this machine has {available / 2**30:,.1f} GiB. "
                "Lower --neurons or --p (nothing was built)"
            )
    if args.distributions:
        _distributions(args)
    else:
        _network(args)


def _distributions(args) -> None:
    import brainunit as u
    import jax
    import numpy as np

    key = jax.random.key(args.seed)
    print(f"jaxinit demo: {args.n:,} samples per distribution on {jax.devices()[0].platform}, seed {args.seed}\n")
    header = f"{'distribution':<17}{'unit':<5}{'mean':>9} {'(exact)':>9} {'std':>9} {'(exact)':>9}"
    header += f" {'min':>9} {'max':>9} {'support':>21} {'first ms':>9} {'warm ms':>8}"
    print(header)
    print("-" * len(header))
    total = time.perf_counter()
    for index, (label, init, unit, mean, std, (low, high)) in enumerate(_cases(u)):
        draw_key = jax.random.fold_in(key, index)
        start = time.perf_counter()
        jax.block_until_ready(init(draw_key, (args.n,)))
        first = time.perf_counter() - start
        start = time.perf_counter()
        x = jax.block_until_ready(init(draw_key, (args.n,)))
        warm = time.perf_counter() - start
        values = np.asarray(x.mantissa if unit is not None else x, np.float64)
        support = f"[{_fmt(low).strip()}, {_fmt(high).strip()}]"
        print(
            f"{label:<17}{str(unit) if unit is not None else '-':<5}{_fmt(values.mean())} {_fmt(mean)} "
            f"{_fmt(values.std())} {_fmt(std)} {_fmt(values.min())} {_fmt(values.max())} {support:>21} "
            f"{first * 1e3:9.1f} {warm * 1e3:8.1f}"
        )
    print(f"\ntotal time: {time.perf_counter() - total:.2f} s (first calls include compilation)")


if __name__ == "__main__":
    main()

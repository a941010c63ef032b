"""The demo: ``python -m jaxinit``.

By default it builds a spatial network of excitatory (E) and inhibitory (I) neurons as a
modeller would set one up, in one :func:`jaxinit.topology.network` call: 80 % E and 20 % I
neurons at uniform random places on a periodic sheet (µm); every pair a synapse
independently with a probability that falls with distance, ``p(d) = p0·exp(−d²/2σ²)`` up to
3σ (each type with its own ``p0`` and ``σ``); Dale's principle (E weights positive, I
weights negative) on lognormal magnitudes in pA; and delays that grow with distance, a
synaptic delay plus conduction along the axon, in ms. It prints every projection's synapse
count beside its exact mean and standard deviation, the weights and delays beside their
laws, and the build time split into XLA compilation and running. ``--plot FILE.png`` draws
the connection probability against distance (measured, against the profile), weight and
delay histograms by type and degree distributions, each against its exact law.
``--distributions`` instead samples every distribution with units and prints its
statistics beside the analytic values.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import math
import os
import time
from typing import NamedTuple


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


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: no guard
        return None


def _fmt(x: float) -> str:
    return f"{x:9.4f}" if math.isfinite(x) else f"{'-inf' if x < 0 else 'inf':>9}"


# --- the network demo -----------------------------------------------------------------------


class CellType(NamedTuple):
    """What a presynaptic type brings to its projections."""

    name: str
    p0: float  # connection probability at distance 0
    sigma: float  # µm: width of the Gaussian profile
    weight_mean: float  # pA: mean of the lognormal weight magnitude
    weight_std: float  # pA
    sign: float  # Dale's principle: every synapse of a neuron has one sign


# Illustrative values of the order reported for rodent cortex: nearby pyramidal cells connect
# with probability ~0.1-0.3, inhibitory cells more densely and more locally; synaptic strengths
# are lognormal with a CV near 1 (Song et al. 2005, PLoS Biol 3:e68); inhibition 4x excitation
# (g = 4 in Brunel 2000 and Potjans & Diesmann 2014).
TYPES = (
    CellType("E", p0=0.3, sigma=75.0, weight_mean=100.0, weight_std=100.0, sign=1.0),
    CellType("I", p0=0.6, sigma=60.0, weight_mean=400.0, weight_std=400.0, sign=-1.0),
)
EXC_FRACTION = 0.8
CUTOFF_SIGMAS = 3.0  # the profile is 0 beyond 3σ (1.1 % of a 2-D Gaussian's mass lies further out)
SYNAPTIC_DELAY = 0.5  # ms
VELOCITY = 0.2  # mm/ms (= m/s): unmyelinated intracortical axons conduct at a few tenths of a m/s
BYTES_PER_SYNAPSE = 64  # the rule's padded pairs, the network's output with values and its sort, rounded up


def _reach(cell: CellType) -> float:
    """µm: the profile's cut-off."""
    return CUTOFF_SIGMAS * cell.sigma


def _sizes(n: int) -> tuple[int, int]:
    n_exc = round(EXC_FRACTION * n)
    return n_exc, n - n_exc


def _pair_probability(cell: CellType, area: float) -> float:
    """The probability that one pair is a synapse, positions uniform on a torus whose side is at
    least twice the reach (so the disk of radius R around a neuron lies on the torus whole):
    ∫₀ᴿ p0·exp(−r²/2σ²)·2πr dr / area."""
    s, r = cell.sigma, _reach(cell)
    return cell.p0 * 2 * math.pi * s * s * -math.expm1(-r * r / (2 * s * s)) / area


def expected_synapses(cell: CellType, n_pre: int, n_post: int | None, area: float) -> tuple[float, float]:
    """The mean and standard deviation of a projection's synapse count, over positions and draws.

    Positions are uniform on a torus, so given one neuron's place each partner is a synapse with
    the same probability q (:func:`_pair_probability`) wherever that neuron is: pairs that share
    one neuron are uncorrelated, and the count's variance is the sum of the pairs' variances,
    plus, in a recurrent population, the covariance of the pairs (i, j) and (j, i), which share
    their distance: E[p(d)²] − q².

    Args:
      cell: the presynaptic type.
      n_pre: source neurons.
      n_post: target neurons, or ``None`` for the source population itself (no autapses).
      area: the sheet's area in µm².

    Returns:
      ``(mean, sd)`` of the number of synapses.

    Example:
      >>> mean, sd = expected_synapses(TYPES[0], 800, 200, 1000.0 * 1000.0)
      >>> round(mean), round(sd)
      (1678, 41)
    """
    q = _pair_probability(cell, area)
    if n_post is not None:
        pairs = n_pre * n_post
        return pairs * q, math.sqrt(pairs * q * (1 - q))
    pairs = n_pre * (n_pre - 1)
    s, r = cell.sigma, _reach(cell)
    q2 = cell.p0**2 * math.pi * s * s * -math.expm1(-r * r / (s * s)) / area  # E[p(d)²]
    return pairs * q, math.sqrt(pairs * (q * (1 - q) + q2 - q * q))


def _mean_distance(cell: CellType) -> float:
    """µm: the mean length of a synapse, ∫ r·p(r)·2πr dr / ∫ p(r)·2πr dr over [0, R]."""
    s, x = cell.sigma, _reach(cell) / cell.sigma
    head = math.sqrt(math.pi / 2) * math.erf(x / math.sqrt(2)) - x * math.exp(-x * x / 2)
    return s * head / -math.expm1(-x * x / 2)


def _delay_range(cell: CellType) -> tuple[float, float]:
    return SYNAPTIC_DELAY, SYNAPTIC_DELAY + _reach(cell) / 1000.0 / VELOCITY


def _lognormal_sigma2(cell: CellType) -> float:
    return math.log1p((cell.weight_std / cell.weight_mean) ** 2)


def _network_bytes(n: int, side: float) -> float:
    """Bytes the network demo holds at its peak, about."""
    area = side * side
    synapses = 0.0
    for cell, n_pre in zip(TYPES, _sizes(n), strict=True):
        synapses += n_pre * n * _pair_probability(cell, area)
    return BYTES_PER_SYNAPSE * synapses + 100.0 * n


_COMPILES = {"count": 0, "seconds": 0.0, "listening": False}


def _listen_for_compilations() -> None:
    """Counts XLA compilations and their seconds (``jax.monitoring``, once per process)."""
    if _COMPILES["listening"]:
        return
    from jax import monitoring

    def on_duration(event: str, duration: float, **_) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            _COMPILES["count"] += 1
            _COMPILES["seconds"] += duration

    monitoring.register_event_duration_secs_listener(on_duration)
    _COMPILES["listening"] = True


def _conduction_delay(reach_um: float):
    """delay = synaptic delay + d / velocity (for d up to the reach) from jaxinit pieces alone, so
    that the network draws every projection's delays in one compiled program: the travel time
    over the whole reach, less the part not travelled, (reach / velocity)·(1 − d / reach), which
    is ``profiles.linear(reach)`` scaled."""
    import brainunit as u

    import jaxinit as ji
    from jaxinit import profiles

    reach = reach_um * u.um
    travel = (reach / (VELOCITY * u.mm / u.ms)).to(u.ms)
    untravelled = ji.modulate_by_distance(ji.constant(travel), profiles.linear(reach))
    return ji.shift(ji.scale(untravelled, -1.0), SYNAPTIC_DELAY * u.ms + travel)


def _build_network(n: int, side: float, seed: int):
    """The demo's network: E and I neurons on a periodic sheet, wired by distance.

    Args:
      n: neurons (80 % E, then 20 % I in the indices).
      side: µm, the side of the square periodic sheet.
      seed: the PRNG seed.

    Returns:
      ``(conn, positions)``: one :class:`~jaxinit.topology.Connectivity` over ``n`` neurons
      with weights in pA and delays in ms, and the positions (one ``(size, 2)`` Quantity in µm
      per population).
    """
    import brainunit as u
    import jax

    import jaxinit as ji
    from jaxinit import profiles, topology

    sizes = _sizes(n)
    key_positions, key_network = jax.random.split(jax.random.key(seed))
    # one draw for every neuron (one compiled program), then split by population
    places = jax.random.uniform(key_positions, (n, 2), maxval=side) * u.um
    positions = [places[: sizes[0]], places[sizes[0] :]]
    table = []
    for cell in TYPES:
        sigma = cell.sigma * u.um
        profile = profiles.gaussian(sigma, max_distance=_reach(cell) * u.um, amplitude=cell.p0)
        # Dale's principle: a positive lognormal magnitude with the type's sign; one structure for
        # both types, so all weights are one draw
        weight = ji.scale(ji.lognormal(cell.weight_mean * u.pA, cell.weight_std * u.pA), cell.sign)
        rule = functools.partial(topology.distance_probability, profile=profile)
        proj = topology.projection(rule, weight=weight, delay=_conduction_delay(_reach(cell)))
        table.append([proj, proj])  # to E and to I
    conn = topology.network(key_network, sizes, table, positions=positions, box=side * u.um)
    return conn, positions


def _network(args) -> None:
    import brainunit as u
    import jax
    import numpy as np

    _listen_for_compilations()
    n, side = args.neurons, args.side
    sizes = _sizes(n)
    area = side * side
    start, compiles, compile_s = time.perf_counter(), _COMPILES["count"], _COMPILES["seconds"]
    conn, positions = _build_network(n, side, args.seed)
    jax.block_until_ready((conn.pre, conn.post, conn.weight, conn.delay))
    total_s = time.perf_counter() - start
    compiles, compile_s = _COMPILES["count"] - compiles, _COMPILES["seconds"] - compile_s

    pre, post = np.asarray(conn.pre), np.asarray(conn.post)
    weight, delay = np.asarray(conn.weight.to_decimal(u.pA)), np.asarray(conn.delay.to_decimal(u.ms))
    source, target = (pre >= sizes[0]).astype(np.int64), (post >= sizes[0]).astype(np.int64)
    counts = np.bincount(2 * source + target, minlength=4)

    e, i = TYPES
    print(
        f"jaxinit demo: {n:,} neurons ({sizes[0]:,} E, {sizes[1]:,} I) at uniform random places on a "
        f"{side:g} x {side:g} µm periodic sheet, seed {args.seed}"
    )
    print(
        f"connection probability p(d) = p0·exp(-d²/2σ²) for d <= {CUTOFF_SIGMAS:g}σ, every pair independently "
        f"(no autapses): E p0 = {e.p0}, σ = {e.sigma:g} µm; I p0 = {i.p0}, σ = {i.sigma:g} µm"
    )
    print(
        f"weights lognormal, Dale's principle: E +{e.weight_mean:g} ± {e.weight_std:g} pA, "
        f"I -{i.weight_mean:g} ± {i.weight_std:g} pA; delays {SYNAPTIC_DELAY:g} ms + distance / "
        f"({VELOCITY:g} mm/ms)\n"
    )
    print(f"{'projection':<11}{'synapses':>11}{'expected ± sd':>22}{'z':>7}{'in-degree':>11}{'(exact)':>9}")
    for a, cell in enumerate(TYPES):
        for b, other in enumerate(TYPES):
            mean, sd = expected_synapses(cell, sizes[a], None if a == b else sizes[b], area)
            count = counts[2 * a + b]
            print(
                f"{cell.name + ' -> ' + other.name:<11}{count:>11,}{f'{mean:,.0f} ± {sd:,.0f}':>22}"
                f"{(count - mean) / sd:>+7.2f}{count / sizes[b]:>11.2f}{mean / sizes[b]:>9.2f}"
            )
    print(f"{'total':<11}{conn.nnz:>11,}")
    print(
        "(expected: pairs x q, q = p0·2πσ²(1 - exp(-R²/2σ²)) / area the chance that a pair at uniform places is a "
        "synapse, R = 3σ;\n z = (synapses - expected) / sd; in-degree: synapses per target neuron)\n"
    )

    print(f"{'weights (pA)':<14}{'mean':>9}{'(exact)':>9}{'std':>9}{'(exact)':>9}{'min':>10}{'max':>10}")
    for a, cell in enumerate(TYPES):
        x = weight[source == a]
        print(
            f"{cell.name + ' synapses':<14}{x.mean():>9.1f}{cell.sign * cell.weight_mean:>9.1f}{x.std():>9.1f}"
            f"{cell.weight_std:>9.1f}{x.min():>10.1f}{x.max():>10.1f}"
        )
    print(f"\n{'delays (ms)':<14}{'mean':>9}{'(exact)':>9}{'min':>9}{'max':>9}{'exact range':>16}")
    for a, cell in enumerate(TYPES):
        x = delay[source == a]
        low, high = _delay_range(cell)
        exact = SYNAPTIC_DELAY + _mean_distance(cell) / 1000.0 / VELOCITY
        print(
            f"{cell.name + ' synapses':<14}{x.mean():>9.3f}{exact:>9.3f}{x.min():>9.3f}{x.max():>9.3f}"
            f"{f'[{low:.3f}, {high:.3f}]':>16}"
        )
    print(
        f"\nbuild: {total_s:.2f} s = {compile_s:.2f} s compiling ({compiles} XLA programs) + "
        f"{total_s - compile_s:.2f} s running ({conn.nnz / max(total_s - compile_s, 1e-9):,.0f} synapses/s)"
    )
    if args.warm:
        start, compiles = time.perf_counter(), _COMPILES["count"]
        again, _ = _build_network(n, side, args.seed + 1)
        jax.block_until_ready((again.pre, again.weight, again.delay))
        print(
            f"warm: another network (seed {args.seed + 1}, {again.nnz:,} synapses) in "
            f"{time.perf_counter() - start:.2f} s, {_COMPILES['count'] - compiles} XLA compilations"
        )
    if args.plot:
        host_positions = [np.asarray(p.to_decimal(u.um), np.float64) for p in positions]
        _plot(args.plot, sizes, side, host_positions, pre, post, weight, delay, args.seed)
        print(f"figure written to {args.plot}")


def _torus_distance(a, b, side):
    import numpy as np

    diff = np.abs(a - b)
    diff = np.minimum(diff, side - diff)
    return np.sqrt((diff * diff).sum(-1))


def _plot(path, sizes, side, positions, pre, post, weight, delay, seed, max_targets=500):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    offsets = (0, sizes[0])
    source, target = (pre >= sizes[0]).astype(int), (post >= sizes[0]).astype(int)
    colors = {"E": "tab:red", "I": "tab:blue"}
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))

    # connection probability: synapses per distance bin over the pairs in that bin, for a sample
    # of target neurons (every pair of theirs counted, not estimated)
    ax = axes[0, 0]
    for a, cell in enumerate(TYPES):
        edges = np.linspace(0.0, 1.2 * _reach(cell), 37)
        pairs, synapses = np.zeros(36), np.zeros(36)
        for b in range(2):
            sample = rng.choice(sizes[b], min(sizes[b], max_targets), replace=False)
            d = _torus_distance(positions[b][sample, None, :], positions[a][None, :, :], side)
            if a == b:
                d[np.arange(sample.size), sample] = np.inf  # no autapses: not a pair
            pairs += np.histogram(d, edges)[0]
            chosen = np.zeros(sizes[b], bool)
            chosen[sample] = True
            mask = (source == a) & (target == b)
            mask[mask] = chosen[post[mask] - offsets[b]]
            syn_d = _torus_distance(positions[a][pre[mask] - offsets[a]], positions[b][post[mask] - offsets[b]], side)
            synapses += np.histogram(syn_d, edges)[0]
        mid = 0.5 * (edges[1:] + edges[:-1])
        ok = pairs > 0
        ax.plot(mid[ok], synapses[ok] / pairs[ok], "o", ms=4, color=colors[cell.name], label=f"{cell.name}: measured")
        d = np.linspace(0.0, edges[-1], 300)
        profile = np.where(d <= _reach(cell), cell.p0 * np.exp(-0.5 * (d / cell.sigma) ** 2), 0.0)
        ax.plot(d, profile, "-", color=colors[cell.name], lw=1, label=f"{cell.name}: p0·exp(-d²/2σ²), cut at 3σ")
    ax.set(xlabel="distance (µm)", ylabel="connection probability", title="Connection probability vs distance")
    ax.legend(fontsize=8)

    # weights: histogram by presynaptic type against the lognormal density
    ax = axes[0, 1]
    for a, cell in enumerate(TYPES):
        x = weight[source == a]
        hi = np.quantile(np.abs(x), 0.995)
        edges = cell.sign * np.linspace(0.0, hi, 81)
        edges.sort()
        ax.hist(x, edges, density=True, color=colors[cell.name], alpha=0.5, label=f"{cell.name} ({x.size:,})")
        s2 = _lognormal_sigma2(cell)
        mu = math.log(cell.weight_mean) - s2 / 2
        m = np.linspace(hi / 400, hi, 400)
        pdf = np.exp(-((np.log(m) - mu) ** 2) / (2 * s2)) / (m * math.sqrt(2 * math.pi * s2))
        ax.plot(cell.sign * m, pdf, color=colors[cell.name], lw=1)
    ax.set(xlabel="weight (pA)", ylabel="density", title="Weights by type (lines: the lognormal laws)")
    ax.legend(fontsize=8)

    # delays: d0 + d / v, with d distributed as r·p(r) on [0, R]
    ax = axes[0, 2]
    for a, cell in enumerate(TYPES):
        x = delay[source == a]
        low, high = _delay_range(cell)
        ax.hist(x, np.linspace(low, high, 61), density=True, color=colors[cell.name], alpha=0.5, label=cell.name)
        t = np.linspace(low, high, 300)
        r = (t - SYNAPTIC_DELAY) * VELOCITY * 1000.0
        s, reach = cell.sigma, _reach(cell)
        density = r * np.exp(-0.5 * (r / s) ** 2) / (s * s * -math.expm1(-0.5 * (reach / s) ** 2))
        ax.plot(t, density * VELOCITY * 1000.0, color=colors[cell.name], lw=1)
    ax.set(xlabel="delay (ms)", ylabel="density", title="Delays by type (lines: exact)")
    ax.legend(fontsize=8)

    # degrees: in-degree of E targets from E and from I, out-degree of E and I sources; exact binomials
    area = side * side
    for ax, kind in ((axes[1, 0], "in"), (axes[1, 1], "out")):
        for a, cell in enumerate(TYPES):
            mask = (source == a) & (target == 0)
            if kind == "in":
                degree = np.bincount(post[mask], minlength=sizes[0])[: sizes[0]]
                trials = sizes[a] - (a == 0)
                label = f"into E from {cell.name}"
            else:
                degree = np.bincount(pre[mask] - offsets[a], minlength=sizes[a])
                trials = sizes[0] - (a == 0)
                label = f"from {cell.name} onto E"
            q = _pair_probability(cell, area)
            k = np.arange(degree.min(), degree.max() + 1)
            ax.hist(
                degree, np.arange(k[0], k[-1] + 2) - 0.5, density=True, color=colors[cell.name], alpha=0.5, label=label
            )
            log_pmf = [
                math.lgamma(trials + 1)
                - math.lgamma(j + 1)
                - math.lgamma(trials - j + 1)
                + j * math.log(q)
                + (trials - j) * math.log1p(-q)
                for j in k
            ]
            ax.plot(k, np.exp(log_pmf), color=colors[cell.name], lw=1)
        ax.set(
            xlabel=f"{kind}-degree", ylabel="fraction of neurons", title=f"{kind.capitalize()}-degree (lines: binomial)"
        )
        ax.legend(fontsize=8)

    # one E neuron's inputs on the sheet
    ax = axes[1, 2]
    j = 0
    for a, cell in enumerate(TYPES):
        mask = (post == j) & (source == a)
        xy = positions[a][pre[mask] - offsets[a]]
        ax.scatter(xy[:, 0], xy[:, 1], s=6, color=colors[cell.name], label=f"{cell.name} inputs ({mask.sum()})")
    ax.scatter(*positions[0][j], marker="*", s=150, color="black", label="E neuron 0")
    for cell in TYPES:
        ax.add_patch(plt.Circle(positions[0][j], _reach(cell), fill=False, ls="--", color=colors[cell.name], lw=0.8))
    ax.set(
        xlim=(0, side),
        ylim=(0, side),
        aspect="equal",
        xlabel="x (µm)",
        ylabel="y (µm)",
        title="One neuron's inputs (dashed: 3σ reach)",
    )
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _paragraphs(text: str) -> str:
    """Help text wrapped to 88 columns, paragraph by paragraph (blank lines kept)."""
    import textwrap

    return "\n\n".join(textwrap.fill(p, 88) for p in text.split("\n\n"))


def main(argv: list[str] | None = None) -> None:
    """Runs the demo from the command line (``python -m jaxinit --help`` lists the options).

    Args:
      argv: the arguments; ``None`` reads ``sys.argv``.

    Example:
      >>> main(["--distributions", "--n", "1"])
      Traceback (most recent call last):
        ...
      SystemExit: 2
    """
    e, i = TYPES
    parser = argparse.ArgumentParser(
        prog="python -m jaxinit",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_paragraphs(
            "Build a spatial E/I network and check it against its exact laws (or, with --distributions, sample every "
            "distribution and compare with the analytic values).\n\n"
            f"The network: {EXC_FRACTION:.0%} excitatory (E) and {1 - EXC_FRACTION:.0%} inhibitory (I) neurons at "
            "uniform random places on a periodic square sheet; every pair a synapse independently with probability "
            f"p(d) = p0·exp(-d²/2σ²) up to {CUTOFF_SIGMAS:g}σ (E: p0 = {e.p0}, σ = {e.sigma:g} µm; I: p0 = {i.p0}, "
            f"σ = {i.sigma:g} µm); lognormal weights with Dale's principle (E {e.weight_mean:g} ± {e.weight_std:g} "
            f"pA, I -{i.weight_mean:g} ± {i.weight_std:g} pA); delays {SYNAPTIC_DELAY:g} ms + distance / "
            f"{VELOCITY:g} mm/ms. One jaxinit.topology.network call. It prints each projection's synapse count "
            "beside its exact mean and sd, weight and delay statistics beside their laws, and the build time split "
            "into XLA compilation and running."
        ),
    )
    parser.add_argument("--neurons", type=int, default=10_000, help="network size (default 10,000)")
    parser.add_argument(
        "--side",
        type=float,
        default=1000.0,
        help="side of the periodic sheet in µm (default 1000: 10^4 neurons per mm²); at least twice the longest "
        f"reach, {2 * max(map(_reach, TYPES)):g} µm",
    )
    parser.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    parser.add_argument("--warm", action="store_true", help="build a second network with another seed and time it")
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw connection probability vs distance, weights, delays and degrees against their laws "
        '(needs matplotlib: pip install "jaxinit[plot]")',
    )
    parser.add_argument("--distributions", action="store_true", help="sample every distribution instead")
    parser.add_argument("--n", type=int, default=1_000_000, help="samples per distribution with --distributions")
    args = parser.parse_args(argv)
    if args.n < 2:
        parser.error(f"--n must be >= 2, got {args.n}")
    if not 10 <= args.neurons < 2**31:
        parser.error(f"--neurons must be in [10, 2^31), got {args.neurons}")
    shortest = 2 * max(map(_reach, TYPES))
    if not (math.isfinite(args.side) and args.side >= shortest):
        parser.error(
            f"--side must be a finite length >= {shortest:g} µm (twice the longest reach, so that a neuron's "
            f"partners lie on the torus once), got {args.side}"
        )
    if args.plot:
        folder = os.path.dirname(os.path.abspath(args.plot))
        if not os.path.isdir(folder):
            parser.error(f"--plot: the folder {folder} does not exist; create it first (nothing was built)")
        if importlib.util.find_spec("matplotlib") is None:
            parser.error('--plot needs matplotlib: pip install "jaxinit[plot]" (nothing was built)')
    if not args.distributions:
        needed = _network_bytes(args.neurons, args.side)
        available = _physical_memory()
        if available is not None and needed > available:
            parser.error(
                f"--neurons {args.neurons:,} on a {args.side:g} µm sheet makes ~{needed / BYTES_PER_SYNAPSE:.3g} "
                f"synapses, which need ~{needed / 2**30:,.1f} GiB; this machine has {available / 2**30:,.1f} GiB. "
                "Lower --neurons or widen --side (nothing was built)"
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

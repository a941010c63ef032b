"""The demo: ``python -m jaxinit`` samples every distribution with physical units.

For each distribution it prints the sample mean, std, min and max beside the
analytic mean, std and support, and the time the draw took (the first call
compiles; the steady-state time is a second, warm call).
"""

from __future__ import annotations

import argparse
import math
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


def _fmt(x: float) -> str:
    return f"{x:9.4f}" if math.isfinite(x) else f"{'-inf' if x < 0 else 'inf':>9}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m jaxinit",
        description="Sample every jaxinit distribution with physical units and compare with the analytic values.",
    )
    parser.add_argument("--n", type=int, default=1_000_000, help="samples per distribution (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    args = parser.parse_args(argv)
    if args.n < 2:
        parser.error(f"--n must be >= 2, got {args.n}")

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

"""Every jaxinit distribution against the same raw jax.random computation and braintools.

Run: ``python benchmarks/distributions.py [--sizes 1000000 10000000] [--runs 7]``.
Prints the table and rewrites the "distributions" section of RESULTS.md.

Both jax columns are jitted, warm and ``block_until_ready``; the ratio is jaxinit's
median time over raw jax.random's, measured in the same run. braintools.init samples
with numpy (``rng=np.random.default_rng``) and cannot be jitted: it is timed as a
user calls it. The import time of jaxinit (without brainunit) is measured too.
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))

import jaxinit as ji  # noqa: E402
from benchmarks._timing import machine, time_calls, write_section  # noqa: E402

F32 = jnp.float32
LN_SIGMA = math.sqrt(math.log1p((0.7 / 1.5) ** 2))
LN_MU = math.log(1.5) - LN_SIGMA**2 / 2

# name: (jaxinit initializer, the same computation in raw jax.random, braintools constructor or None)
CASES = {
    "constant": (ji.constant(0.5), lambda k, n: jnp.full((n,), 0.5, F32), lambda bt: bt.Constant(0.5)),
    "uniform": (
        ji.uniform(-0.5, 2.0),
        lambda k, n: jax.random.uniform(k, (n,), F32, -0.5, 2.0),
        lambda bt: bt.Uniform(-0.5, 2.0),
    ),
    "normal": (
        ji.normal(0.5, 0.3),
        lambda k, n: 0.5 + 0.3 * jax.random.normal(k, (n,), F32),
        lambda bt: bt.Normal(0.5, 0.3),
    ),
    "truncated_normal": (
        ji.truncated_normal(0.2, 1.5, -1.0, 3.0),
        lambda k, n: 0.2 + 1.5 * jax.random.truncated_normal(k, -0.8, 1.8666666, (n,), F32),
        lambda bt: bt.TruncatedNormal(0.2, 1.5, -1.0, 3.0),
    ),
    "truncated_normal [8σ, 9σ]": (
        ji.truncated_normal(0.0, 1.0, 8.0, 9.0),
        lambda k, n: jax.random.truncated_normal(k, 8.0, 9.0, (n,), F32),
        lambda bt: bt.TruncatedNormal(0.0, 1.0, 8.0, 9.0),
    ),
    "lognormal": (
        ji.lognormal(1.5, 0.7),
        lambda k, n: jnp.exp(LN_MU + LN_SIGMA * jax.random.normal(k, (n,), F32)),
        lambda bt: bt.LogNormal(1.5, 0.7),
    ),
    "gamma": (
        ji.gamma(2.5, 0.4),
        lambda k, n: 0.4 * jax.random.gamma(k, 2.5, (n,), F32),
        lambda bt: bt.Gamma(2.5, 0.4),
    ),
    "exponential": (
        ji.exponential(2.0),
        lambda k, n: 2.0 * jax.random.exponential(k, (n,), F32),
        lambda bt: bt.Exponential(2.0),
    ),
    "weibull": (
        ji.weibull(1.7, 0.8),
        lambda k, n: jax.random.weibull_min(k, 0.8, 1.7, (n,), F32),
        lambda bt: bt.Weibull(1.7, 0.8),
    ),
    "beta": (
        ji.beta(2.0, 5.0, -1.0, 3.0),
        lambda k, n: -1.0 + 4.0 * jax.random.beta(k, 2.0, 5.0, (n,), F32),
        lambda bt: bt.Beta(2.0, 5.0, -1.0, 3.0),
    ),
    "bernoulli": (
        ji.bernoulli(0.3),
        lambda k, n: jax.random.bernoulli(k, 0.3, (n,)).astype(F32),
        None,
    ),
}


def import_time_ms() -> tuple[float, float]:
    """Cumulative import time of ``jaxinit`` and of ``jax`` itself, from ``-X importtime``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import jaxinit"], capture_output=True, text=True, check=True
    )
    cumulative = {}
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)$", line)
        if match:
            cumulative[match.group(2).strip()] = int(match.group(1)) / 1e3
    return cumulative["jaxinit"], cumulative.get("jax", float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=7, help="warm runs per measurement (median)")
    args = parser.parse_args()
    try:
        from braintools import init as bt
    except ImportError:
        bt = None
        print("braintools not installed (pip install -e '.[bench]'): its column is left out")

    key = jax.random.key(0)
    rows = []
    for n in args.sizes:
        for name, (init, raw, make_bt) in CASES.items():
            ours = jax.jit(lambda k, init=init, n=n: init(k, (n,)))
            base = jax.jit(lambda k, raw=raw, n=n: raw(k, n))
            contenders = [lambda f=ours: f(key), lambda f=base: f(key)]
            if bt is not None and make_bt is not None:
                rng = np.random.default_rng(0)
                bt_init = make_bt(bt)
                contenders.append(lambda f=bt_init, n=n, rng=rng: f(n, rng=rng))
            timings = time_calls(contenders, args.runs)
            (ours_first, ours_warm), (base_first, base_warm) = timings[:2]
            bt_warm = timings[2][1] if len(timings) > 2 else math.nan
            rows.append((n, name, ours_warm, base_warm, bt_warm, ours_first, base_first))
            print(
                f"n={n:>10,} {name:<26} jaxinit {ours_warm * 1e3:8.2f} ms  raw jax {base_warm * 1e3:8.2f} ms  "
                f"ratio {ours_warm / base_warm:5.2f}  braintools {bt_warm * 1e3:9.2f} ms  "
                f"compile {ours_first * 1e3:7.1f} / {base_first * 1e3:7.1f} ms",
                flush=True,
            )
    ours_import, jax_import = import_time_ms()

    lines = [
        "## Distributions (`benchmarks/distributions.py`)",
        "",
        f"Machine: {machine()}.",
        "",
        "Median of warm, jitted, `block_until_ready` runs; ratio = jaxinit / raw `jax.random` doing the same",
        "computation in the same run (target ≤ 1.05); braintools.init samples with numpy (not jittable),",
        "its ratio is braintools / jaxinit (> 1: jaxinit faster). First call (trace + compile + run) apart.",
        "",
        "| n | distribution | jaxinit ms | raw jax ms | jaxinit / raw | braintools ms | braintools / jaxinit |"
        " first call jaxinit / raw ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n, name, ours, base, btt, ours_first, base_first in rows:
        bt_cells = "n/a | n/a" if math.isnan(btt) else f"{btt * 1e3:.2f} | {btt / ours:.1f}"
        lines.append(
            f"| {n:.0e} | {name} | {ours * 1e3:.2f} | {base * 1e3:.2f} | {ours / base:.2f} | {bt_cells} |"
            f" {ours_first * 1e3:.0f} / {base_first * 1e3:.0f} |"
        )
    lines += [
        "",
        "gamma and beta: jaxinit uses its own exact vectorised Marsaglia–Tsang sampler (rejected elements",
        "are gathered and redrawn in a small buffer); `jax.random.gamma` runs a per-element loop with",
        "per-element keys, hence the ratio far below 1. Both pass KS against scipy.stats (tested).",
        "",
        "The truncated-normal baseline is `jax.random.truncated_normal`, which is cheaper because it is not",
        "exact: at [8σ, 9σ] it returns the bound 9.0 for every element (braintools returns 8.0), where",
        "jaxinit's log-space inverse CDF matches `scipy.stats.truncnorm` (tested).",
        "",
        f"Import time (`python -X importtime -c 'import jaxinit'`, cumulative): jaxinit {ours_import:.0f} ms,",
        f"of which jax {jax_import:.0f} ms; brainunit is not imported until a Quantity is used.",
    ]
    write_section("distributions", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

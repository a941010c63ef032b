"""Ensembles, variance scaling against jax.nn.initializers, and orthogonal at scale.

Run: ``python benchmarks/ensembles.py [--runs 7]``. Prints the tables and rewrites
the "ensembles" section of RESULTS.md.

1. A 64-member MLP ensemble (784-512-512-10) initialised by ``reinit`` under one
   jitted ``vmap`` versus a Python loop of 64 jitted single-member inits.
2. Each variance-scaling rule against the same ``jax.nn.initializers`` function,
   both jitted, same shape (target ratio <= 1.05; the values are bit-identical).
3. ``orthogonal`` at 1024^2 and 4096^2: the QR decomposition dominates.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jaxinit as ji  # noqa: E402
from benchmarks._timing import machine, time_calls, write_section  # noqa: E402

SIZES = (784, 512, 512, 10)
RULES = {"*kernel": ji.kaiming_normal(), "*bias": ji.zeros}


def mlp_params():
    return {
        f"layer_{i}": {"kernel": jnp.zeros((a, b)), "bias": jnp.zeros(b)}
        for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True))
    }


def bench_ensemble(runs, members=64):
    params = mlp_params()
    keys = jax.random.split(jax.random.key(0), members)
    one = jax.jit(lambda k: ji.reinit(k, params, RULES))
    batched = jax.jit(jax.vmap(lambda k: ji.reinit(k, params, RULES)))

    def loop():
        return [one(k) for k in keys]

    (vmap_first, vmap_t), (loop_first, loop_t) = time_calls([lambda: batched(keys), loop], runs)
    n_params = sum(a * b + b for a, b in zip(SIZES[:-1], SIZES[1:], strict=True)) * members
    return vmap_t, loop_t, vmap_first, loop_first, n_params


PAIRS = [
    ("kaiming_normal / he_normal", ji.kaiming_normal(), jax.nn.initializers.he_normal()),
    ("kaiming_uniform / he_uniform", ji.kaiming_uniform(), jax.nn.initializers.he_uniform()),
    ("xavier_normal / glorot_normal", ji.xavier_normal(), jax.nn.initializers.glorot_normal()),
    ("xavier_uniform / glorot_uniform", ji.xavier_uniform(), jax.nn.initializers.glorot_uniform()),
    ("lecun_normal", ji.lecun_normal(), jax.nn.initializers.lecun_normal()),
    ("variance_scaling(fan_avg, normal)", ji.variance_scaling(1.0, "fan_avg", "normal"), None),
]


def bench_variance(runs, shape=(2048, 2048)):
    key = jax.random.key(0)
    rows = []
    for name, ours, theirs in PAIRS:
        theirs = theirs or jax.nn.initializers.variance_scaling(1.0, "fan_avg", "normal")
        a = jax.jit(lambda k, f=ours: f(k, shape))
        b = jax.jit(lambda k, f=theirs: f(k, shape))
        (_, ta), (_, tb) = time_calls([lambda f=a: f(key), lambda f=b: f(key)], runs)
        rows.append((name, ta, tb))
    return rows


def bench_orthogonal(runs):
    key = jax.random.key(0)
    rows = []
    for n in (1024, 4096):
        ours = jax.jit(lambda k, n=n: ji.orthogonal()(k, (n, n)))
        draw = jax.jit(lambda k, n=n: jax.random.normal(k, (n, n)))
        (first, t), (_, t_draw) = time_calls([lambda f=ours: f(key), lambda f=draw: f(key)], max(3, runs // 2))
        rows.append((n, t, t_draw, first))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    vmap_t, loop_t, vmap_first, loop_first, n_params = bench_ensemble(args.runs)
    print(f"ensemble: vmap {vmap_t * 1e3:.1f} ms, loop {loop_t * 1e3:.1f} ms", flush=True)
    variance_rows = bench_variance(args.runs)
    for name, ta, tb in variance_rows:
        print(f"{name:<36} jaxinit {ta * 1e3:.2f} ms  jax {tb * 1e3:.2f} ms  ratio {ta / tb:.2f}", flush=True)
    orthogonal_rows = bench_orthogonal(args.runs)
    for n, t, t_draw, _ in orthogonal_rows:
        print(f"orthogonal {n}^2: {t * 1e3:.1f} ms (normal draw {t_draw * 1e3:.1f} ms)", flush=True)

    lines = [
        "## Ensembles, variance scaling, orthogonal (`benchmarks/ensembles.py`)",
        "",
        f"Machine: {machine()}.",
        "",
        f"64-member MLP ensemble {'-'.join(map(str, SIZES))} ({n_params / 1e6:.1f} M parameters in all),",
        "Kaiming-normal kernels and zero biases by `reinit`:",
        "",
        "| | warm ms | first call ms |",
        "|---|---:|---:|",
        f"| one jitted `vmap` over 64 keys | {vmap_t * 1e3:.1f} | {vmap_first * 1e3:.0f} |",
        f"| Python loop of 64 jitted inits | {loop_t * 1e3:.1f} | {loop_first * 1e3:.0f} |",
        f"| loop / vmap | {loop_t / vmap_t:.2f} | |",
        "",
        "Variance scaling at 2048 x 2048, jitted, warm, against the same `jax.nn.initializers` function",
        "(bit-identical values; target ratio ≤ 1.05):",
        "",
        "| rule | jaxinit ms | jax ms | jaxinit / jax |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {name} | {ta * 1e3:.2f} | {tb * 1e3:.2f} | {ta / tb:.2f} |" for name, ta, tb in variance_rows]
    lines += [
        "",
        "`orthogonal` (QR of a Gaussian matrix, as jax does), jitted, warm:",
        "",
        "| n x n | orthogonal ms | of which the Gaussian draw ms | first call ms |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {n} | {t * 1e3:.1f} | {td * 1e3:.1f} | {first * 1e3:.0f} |" for n, t, td, first in orthogonal_rows]
    lines += ["", "The QR decomposition is O(n³): it, not the random draw, sets the cost of large orthogonal kernels."]
    write_section("ensembles", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

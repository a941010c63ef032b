"""Sharded topology builds on emulated CPU devices: per-device memory and time against one device.

Run: ``python benchmarks/sharded.py [--print]`` (it restarts itself with 8 emulated CPU
devices, ``XLA_FLAGS=--xla_force_host_platform_device_count=8``). For the rules drawn where
they are kept (``fixed_outdegree``, ``fixed_indegree`` with its exchange (also with multapses),
``random_topology`` (distinct pairs, and with multapses with its sorting exchange), sparse
``pairwise_bernoulli``, block-wise ``with_weights``, the microcircuit's ``network``), on 1,
2, 4 and 8 devices: the per-device memory of the compiled program from XLA's memory analysis
(output + temporaries), the cold time (first build in the process: compilation included)
and the warm time (best of two), and the XLA compilations of the cold build
(``jax.monitoring``). The emulated devices share the machine's cores, so time does not
scale with the device count here; memory must.
Rewrites the "sharded" section of RESULTS.md. About 4 minutes.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAG = "--xla_force_host_platform_device_count=8"
N_OUT, K_OUT = 100_000, 100  # fixed_outdegree: 10^7 synapses
N_BER, P_BER = 100_000, 0.001  # pairwise_bernoulli: ~10^7 synapses
BLOCK = 1 << 18
N_DENSE, P_DENSE = 10_000, 0.1  # dense pairwise_bernoulli: ~10^7 synapses, 10^8 draws
SIGMA = 0.1  # distance_probability: 10^4 neurons on a unit torus, ~3·10^6 synapses (benchmarks/spatial.py)
PD_SCALE = 0.2  # the Potjans–Diesmann microcircuit: 1.2·10^7 synapses
N_MUL = 60_000  # random_topology with multapses: 10^7 synapses on a grid that packs into 32 bits


def _measure() -> list[dict]:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import jax
    import numpy as np
    from jax import monitoring
    from jax.sharding import NamedSharding, PartitionSpec

    import jaxinit as ji
    from jaxinit import models, profiles
    from jaxinit.topology import (
        distance_probability,
        fixed_indegree,
        fixed_outdegree,
        pairwise_bernoulli,
        random_topology,
        with_weights,
    )
    from jaxinit.topology._counts import (
        _STREAM_BLOCK,
        StreamBlock,
        _multapse_keys_program,
        _skip_pairs_sharded,
        _skip_plan,
        _sparse_row_blocks,
        bernoulli_stream,
        multapse_pairs,
    )
    from jaxinit.topology._random import _fixed_degree_pairs, _fixed_degree_sharded
    from jaxinit.topology._sampling import capacity_for, sample_pairs
    from jaxinit.topology._shard import blocks_program, packed_sort_program, pre_major_program
    from jaxinit.topology._spatial import split_callable
    from jaxinit.topology._values import _in_blocks

    compiles = {"n": 0}

    def on_event(event, duration, **_):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles["n"] += 1

    monitoring.register_event_duration_secs_listener(on_event)
    key = jax.random.key(0)
    positions = jax.random.uniform(jax.random.key(1), (10_000, 2))

    def memory(lowered) -> int:
        stats = lowered.compile().memory_analysis()
        return stats.output_size_in_bytes + stats.temp_size_in_bytes

    def with_arguments(run, args) -> int:
        stats = run.lower(*args).compile().memory_analysis()
        return stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes

    def timed(build) -> tuple[float, float, int]:
        before = compiles["n"]
        start = time.perf_counter()
        jax.block_until_ready(build())
        cold = time.perf_counter() - start
        made = compiles["n"] - before
        warm = []
        for _ in range(2):
            start = time.perf_counter()
            jax.block_until_ready(build())
            warm.append(time.perf_counter() - start)
        return cold, min(warm), made

    blocks = _sparse_row_blocks(*jax.random.split(key), N_BER, N_BER - 1, P_BER, True, BLOCK)
    weights = ji.lognormal(1.0, 0.5)
    leaves, static = split_callable("synapse_values", "init", weights, "an initializer")
    rows = []
    for count in (None, 1, 2, 4, 8):
        if count is None:
            sharding = None
        else:
            mesh = jax.make_mesh((count,), ("x",), devices=jax.devices()[:count])
            sharding = NamedSharding(mesh, PartitionSpec("x"))
        # timed first, so that the cold build compiles (the memory analysis compiles too)
        cold, warm, made = timed(lambda s=sharding: fixed_outdegree(key, N_OUT, None, K_OUT, out_sharding=s))
        if sharding is None:
            mem = memory(_fixed_degree_pairs.lower(key, N_OUT, N_OUT, K_OUT, True, False, False, BLOCK))
        else:
            mem = memory(_fixed_degree_sharded.lower(key, N_OUT, N_OUT, K_OUT, True, False, False, BLOCK, sharding))
        rows.append(dict(rule=f"fixed_outdegree {N_OUT:.0e} x k={K_OUT}", devices=count or 0, memory=mem,
                         cold=cold, warm=warm, compiles=made, nnz=N_OUT * K_OUT))  # fmt: skip
        # fixed_indegree: drawn by post, then one exchange into (pre, post) order
        cold, warm, made = timed(lambda s=sharding: fixed_indegree(key, N_OUT, None, K_OUT, out_sharding=s))
        if sharding is None or count == 1:  # one device: built whole and placed, no exchange
            mem = memory(_fixed_degree_pairs.lower(key, N_OUT, N_OUT, K_OUT, True, True, False, BLOCK))
        else:
            draw = _fixed_degree_sharded.lower(key, N_OUT, N_OUT, K_OUT, True, True, False, BLOCK, sharding)
            (partners,) = _fixed_degree_sharded(key, N_OUT, N_OUT, K_OUT, True, True, False, BLOCK, sharding)
            run, args = pre_major_program(partners, N_OUT * K_OUT, N_OUT, N_OUT, K_OUT, sharding)
            mem = max(memory(draw), with_arguments(run, args))
        rows.append(dict(rule=f"fixed_indegree {N_OUT:.0e} x k={K_OUT}", devices=count or 0, memory=mem,
                         cold=cold, warm=warm, compiles=made, nnz=N_OUT * K_OUT))  # fmt: skip
        # with replacement (past 32 bits of pairs: the distinct rule's blocks and exchange)
        build = functools.partial(fixed_indegree, key, N_OUT, None, K_OUT, multapses=True)
        cold, warm, made = timed(lambda s=sharding, b=build: b(out_sharding=s))
        nnz = N_OUT * K_OUT
        if sharding is None or count == 1:
            mem = memory(_fixed_degree_pairs.lower(key, N_OUT, N_OUT, K_OUT, True, True, True, BLOCK))
        else:
            config = (key, N_OUT, N_OUT, K_OUT, True, True, True, BLOCK, sharding)
            (partners,) = _fixed_degree_sharded(*config)
            run, args = pre_major_program(partners, nnz, N_OUT, N_OUT, K_OUT, sharding)
            mem = max(memory(_fixed_degree_sharded.lower(*config)), with_arguments(run, args))
        rows.append(dict(rule=f"fixed_indegree {N_OUT:.0e} x k={K_OUT}, multapses", devices=count or 0,
                         memory=mem, cold=cold, warm=warm, compiles=made, nnz=nnz))  # fmt: skip
        # random_topology with multapses: each device a share of the draws, then one exchange sorts them
        build = functools.partial(random_topology, key, N_MUL, n_syn=nnz, multapses=True)
        cold, warm, made = timed(lambda s=sharding, b=build: b(out_sharding=s))
        if sharding is None:
            sizes = (np.int32(N_MUL), np.int32(N_MUL - 1), np.int32(nnz))
            mem = memory(multapse_pairs.lower(key, *sizes, capacity=capacity_for(nnz), skip_diagonal=True,
                                              packed=True))  # fmt: skip
        else:
            draw = _multapse_keys_program(N_MUL, N_MUL - 1, nnz, True, sharding)
            run, args = packed_sort_program(draw(key), nnz, N_MUL, (N_MUL, N_MUL), sharding)
            mem = max(memory(draw.lower(key)), with_arguments(run, args))
        rows.append(dict(rule=f"random_topology {N_MUL:.0e}, n_syn={nnz:.0e}, multapses", devices=count or 0,
                         memory=mem, cold=cold, warm=warm, compiles=made, nnz=nnz))  # fmt: skip
        # pairwise_bernoulli, sparse: blocks of rows
        cold, warm, made = timed(lambda s=sharding: pairwise_bernoulli(key, N_BER, p=P_BER, out_sharding=s))
        if sharding is None:
            mem = 8 * int(blocks[0].sum())  # the concatenated result; one block's sampler besides
        else:
            run, args = blocks_program(*blocks, (N_BER, N_BER), sharding)
            mem = memory(run.lower(*args))
        rows.append(dict(rule=f"pairwise_bernoulli {N_BER:.0e}, p={P_BER}", devices=count or 0, memory=mem,
                         cold=cold, warm=warm, compiles=made, nnz=int(blocks[0].sum())))  # fmt: skip
        # random_topology, distinct pairs: the skip sampler's first pass on each device, then its slice
        cold, warm, made = timed(lambda s=sharding: random_topology(key, N_OUT, n_syn=N_OUT * K_OUT, out_sharding=s))
        if sharding is None:
            mem = memory(sample_pairs.lower(key, N_OUT, N_OUT - 1, N_OUT * K_OUT, 0, True, BLOCK))
        else:
            plan = _skip_plan(key, N_OUT, N_OUT - 1, N_OUT * K_OUT, BLOCK)
            config = (N_OUT, N_OUT, N_OUT - 1, N_OUT * K_OUT, True, BLOCK, sharding)
            mem = max(memory(_skip_plan.lower(key, N_OUT, N_OUT - 1, N_OUT * K_OUT, BLOCK)),
                      memory(_skip_pairs_sharded.lower(plan[:-1], *config)))  # fmt: skip
        rows.append(dict(rule=f"random_topology {N_OUT:.0e}, n_syn={N_OUT * K_OUT:.0e}", devices=count or 0,
                         memory=mem, cold=cold, warm=warm, compiles=made, nnz=N_OUT * K_OUT))  # fmt: skip
        # pairwise_bernoulli, dense: every pair decided by its own draw (the devices count, then draw)
        cold, warm, made = timed(lambda s=sharding: pairwise_bernoulli(key, N_DENSE, p=P_DENSE, out_sharding=s))
        conn = pairwise_bernoulli(key, N_DENSE, p=P_DENSE, out_sharding=sharding)
        operands = (jax.random.split(key)[1], np.int32(N_DENSE - 1), np.int32(N_DENSE * (N_DENSE - 1)),
                    np.uint32(math.ceil(P_DENSE * 2**32)), np.bool_(False))  # fmt: skip
        if sharding is None:
            mem = memory(bernoulli_stream.lower(*operands, capacity=capacity_for(conn.nnz), skip_diagonal=True))
        else:
            n_blocks = -(-N_DENSE * (N_DENSE - 1) // _STREAM_BLOCK)
            counts = np.full(n_blocks, conn.nnz // n_blocks)
            counts[: conn.nnz - counts.sum()] += 1  # the same total: the program's sizes depend on it alone
            run, args = blocks_program(counts, StreamBlock(True), operands, (N_DENSE, N_DENSE), sharding)
            mem = memory(run.lower(*args))
        rows.append(dict(rule=f"pairwise_bernoulli {N_DENSE:.0e}, p={P_DENSE} (dense)", devices=count or 0,
                         memory=mem, cold=cold, warm=warm, compiles=made, nnz=conn.nnz))  # fmt: skip
        # distance_probability: each device the pairs onto its share of the posts, then one exchange
        profile = profiles.gaussian(SIGMA, amplitude=0.5, max_distance=3 * SIGMA)
        build = functools.partial(distance_probability, key, positions, profile=profile, box=1.0)
        cold, warm, made = timed(lambda s=sharding, b=build: b(out_sharding=s))
        mem, nnz = _recorded_memory(build, sharding)
        rows.append(dict(rule=f"distance_probability {len(positions):.0e}, sigma={SIGMA}", devices=count or 0,
                         memory=mem, cold=cold, warm=warm, compiles=made, nnz=nnz))  # fmt: skip
        # weights block-wise on the sharded fixed_outdegree
        conn = fixed_outdegree(key, N_OUT, None, K_OUT, out_sharding=sharding)
        cold, warm, made = timed(lambda c=conn: with_weights(key, c, weights, block_size=BLOCK).weight)
        config = (static, None, BLOCK, (), None, conn.nnz, sharding)
        mem = memory(_in_blocks.lower(key, conn.pre, conn.post, None, leaves, {}, *config))
        rows.append(dict(rule="with_weights lognormal, block-wise", devices=count or 0, memory=mem,
                         cold=cold, warm=warm, compiles=made, nnz=N_OUT * K_OUT))  # fmt: skip
        # the microcircuit: network's host loop over blocks, each device computing those of its slice
        cold, warm, made = timed(lambda s=sharding: models.potjans_diesmann(key, PD_SCALE, out_sharding=s).conn)
        conn = models.potjans_diesmann(key, PD_SCALE, out_sharding=sharding).conn
        mem = max(sum(x.nbytes for x in shards) for shards in _by_device(conn).values()) + _block_memory(key)
        rows.append(dict(rule=f"potjans_diesmann scale {PD_SCALE}, blocks of 10^6", devices=count or 0,
                         memory=mem, cold=cold, warm=warm, compiles=made, nnz=conn.nnz))  # fmt: skip
    return rows


def _recorded_memory(build, sharding) -> tuple[int, int]:
    """The largest per-device memory of ``build``'s programs (XLA's memory analysis, arguments
    included): unsharded, the thinning loop; sharded, the devices' draw of their shares (one
    program) and the exchange. And the synapses."""
    from jaxinit.topology import _shard, _thinning

    seen = []

    def recorded(module, name, returns_program=False):
        original = getattr(module, name)

        def run(*args, **kwargs):
            out = original(*args, **kwargs)
            if returns_program:  # record the program's calls
                return lambda *operands: (seen.append((out, operands, {})), out(*operands))[1]
            seen.append((original, args, kwargs))
            return out

        return original, run

    patches = [(_thinning, "_thinned_loop", False), (_shard, "_each_device_program", True)]
    if sharding is not None:
        patches.append((_shard, "_exchange_program", True))
    originals = []
    for module, name, program in patches:
        original, run = recorded(module, name, program)
        originals.append((module, name, original))
        setattr(module, name, run)
    try:
        conn = build(out_sharding=sharding)
    finally:
        for module, name, original in originals:
            setattr(module, name, original)
    largest = 0
    for program, args, kwargs in seen:
        stats = program.lower(*args, **kwargs).compile().memory_analysis()
        largest = max(largest, stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes)
    return largest, conn.nnz


def _by_device(conn) -> dict:
    """Each device's buffers of ``conn`` (pre, post, weight, delay)."""
    held: dict = {}
    for array in (conn.pre, conn.post, conn.weight, conn.delay):
        array = getattr(array, "mantissa", array)
        for piece in array.addressable_shards:
            held.setdefault(piece.device, []).append(piece.data)
    return held


def _block_memory(key) -> int:
    """XLA's memory analysis (temporaries) of the microcircuit's block kernel, on its first block."""
    from jaxinit import models
    from jaxinit.topology import _network

    seen = []
    assemble = _network._assemble

    def recording(*args):
        seen.append(args)
        return assemble(*args)

    _network._assemble = recording
    try:
        models.potjans_diesmann(key, PD_SCALE)
    finally:
        _network._assemble = assemble
    return assemble.lower(*seen[0]).compile().memory_analysis().temp_size_in_bytes


def _table(rows: list[dict]) -> str:
    lines = [
        "| rule | devices | per-device memory (MB) | vs one device | cold (s) | warm (s) | compilations (cold) |",
        "|---|---|---|---|---|---|---|",
    ]
    base = {}
    for row in rows:
        if row["devices"] == 0:
            base[row["rule"]] = row["memory"]
    for row in rows:
        where = "unsharded" if row["devices"] == 0 else str(row["devices"])
        ratio = row["memory"] / base[row["rule"]]
        lines.append(
            f"| {row['rule']} ({row['nnz']:.2e} synapses) | {where} | {row['memory'] / 1e6:.1f} | {ratio:.2f} | "
            f"{row['cold']:.2f} | {row['warm']:.2f} | {row['compiles']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print", action="store_true", help="print the section instead of rewriting RESULTS.md")
    args = parser.parse_args()
    if FLAG not in os.environ.get("XLA_FLAGS", ""):
        env = {**os.environ, "XLA_FLAGS": os.environ.get("XLA_FLAGS", "") + " " + FLAG}
        sys.exit(subprocess.run([sys.executable, *sys.argv], env=env).returncode)
    rows = _measure()
    from _timing import machine, write_section

    text = (
        "## Sharded topology builds (emulated devices)\n\n"
        f"`python benchmarks/sharded.py` on {machine()}; 8 emulated CPU devices sharing the machine's cores "
        "(time does not scale here, memory does). Per-device memory: XLA's memory analysis of the compiled "
        "sharded program (output slice + temporaries; the unsharded row is the whole output + temporaries, for "
        "pairwise_bernoulli, built by a host loop over blocks, the concatenated result alone; for fixed_indegree "
        "the larger of its two programs, the exchange counted with its input; for the microcircuit, built by a host "
        "loop over blocks, the bytes of the device's buffers plus the block kernel's temporaries). A sharded "
        "pairwise_bernoulli compiles one program per slice length (the count is random): a repeat of the same "
        "request compiles nothing.\n\n"
        + _table(rows)
        + "\n\nOn paper, 10^10 synapses over 8 H200 (141 GB each): 1.25·10^9 synapses per device at 16 bytes "
        "(pre, post, weight, delay) is 20 GB, plus one block of temporaries (9-32 MB measured above at the "
        "default block of 2^18 synapses): it fits with room to spare. Not buildable yet in one call: a "
        "build's synapse count stays below 2^31 (int32 offsets into the sorted order); past it the offsets "
        "must be 64-bit. No GPU was lent to this work, so the per-device throughput on an H200 is not measured."
    )
    if args.print:
        print(text)
    else:
        write_section("sharded", text)
        print(text)


if __name__ == "__main__":
    main()

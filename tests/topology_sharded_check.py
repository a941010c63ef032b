"""Run as ``python -m tests.topology_sharded_check`` with 8 emulated CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=8``; test_topology_sharded.py does).

Every topology builder's ``out_sharding=`` on 1, 2, 3, 4 and 8 devices against the
unsharded build for the same key: the synapses element for element, each device's buffer
holding exactly its contiguous slice of the sorted order (padding pairs only at the end),
the Connectivity methods unchanged; the per-device memory of the rules drawn where they are
kept, from XLA's memory analysis. Prints "ok <cases> <device counts>". By default each case
runs on three meshes (8 and 3 devices, and one of the others in turn);
``python -m tests.topology_sharded_check every START STOP`` runs cases ``START:STOP`` on
every mesh (a process compiles a few hundred programs per case there, and XLA's CPU JIT runs
out of code memory if one process runs them all), then prints "ok <cases run> <counts>".
"""

import functools
import sys

import jax
import numpy as np
from jax.sharding import AxisType, NamedSharding, PartitionSpec

import jaxinit as ji
from jaxinit import models, profiles
from jaxinit.topology import (
    distance_probability,
    distance_topology,
    fixed_indegree,
    fixed_outdegree,
    network,
    pairwise_bernoulli,
    projection,
    random_topology,
    shard,
    synapse_values,
    with_delays,
    with_weights,
)
from jaxinit.topology._counts import (
    _STREAM_BLOCK,
    StreamBlock,
    _multapse_keys_program,
    _skip_pairs_sharded,
    _skip_plan,
    _sparse_row_blocks,
    degree_partners_program,
)
from jaxinit.topology._random import _fixed_degree_sharded
from jaxinit.topology._shard import blocks_program, packed_sort_program

KEY = jax.random.key(7)
POSITIONS = jax.random.uniform(jax.random.key(1), (600, 2))
WEIGHT = ji.lognormal(1.0, 0.5)


def network_case(**kw):
    table = [
        [projection(functools.partial(pairwise_bernoulli, p=0.1), weight=ji.normal(1.0, 0.1), delay=ji.constant(1.5)),
         projection(functools.partial(fixed_indegree, k=7), weight=ji.ones, delay=ji.constant(1.0))],
        [projection(functools.partial(random_topology, n_syn=999), weight=ji.constant(-2.0), delay=ji.constant(0.5)),
         None],
    ]  # fmt: skip
    return network(KEY, [300, 200], table, **kw)


def network_blocks_case(**kw):
    """Blocks of about 500 synapses: the fused projections (multapses) drawn per device,
    a built one (fixed_indegree) sliced into the blocks."""
    fused = functools.partial(random_topology, n_syn=3000, multapses=True)
    table = [
        [projection(fused, weight=ji.normal(1.0, 0.1), delay=ji.constant(1.5)),
         projection(functools.partial(fixed_indegree, k=7), weight=ji.ones, delay=ji.uniform(0.5, 1.0))],
        [projection(functools.partial(random_topology, n_syn=999, multapses=True), weight=ji.constant(-2.0), delay=0.5),
         None],
    ]  # fmt: skip
    return network(KEY, [300, 200], table, block_size=500, **kw)


# (name, build(**kw) -> Connectivity, exact): exact=False where XLA may fuse the one-draw
# arithmetic differently in the compiled sharded program (values within 2 ulp)
CASES = [
    # distinct pairs by geometric skips: a replicated first pass, then each device its slice
    ("random_topology", lambda **kw: random_topology(KEY, 500, n_syn=12_345, **kw), True),
    (
        "random_topology blocks 2 populations",
        lambda **kw: random_topology(KEY, 1000, 300, n_syn=50_000, block_size=4096, **kw),
        True,
    ),
    ("random_topology every pair", lambda **kw: random_topology(KEY, 300, n_syn=300 * 299, **kw), True),
    # multapses: each device draws a share of the slots, then one exchange sorts them by buckets
    ("random_topology multapses", lambda **kw: random_topology(KEY, 40, 30, n_syn=5_001, multapses=True, **kw), True),
    (
        "random_topology multapses recurrent",
        lambda **kw: random_topology(KEY, 3000, n_syn=40_003, multapses=True, **kw),
        True,
    ),
    # multapses past 32 bits of pairs: blocks of rows, drawn per device
    (
        "random_topology multapses blocks",
        lambda **kw: random_topology(KEY, 70_000, n_syn=30_000, multapses=True, block_size=4096, **kw),
        True,
    ),
    # dense (p > 1/64): every pair decided by its own draw; the devices count, then draw their slices
    ("pairwise_bernoulli", lambda **kw: pairwise_bernoulli(KEY, 700, p=0.05, **kw), True),
    ("pairwise_bernoulli dense 2 populations", lambda **kw: pairwise_bernoulli(KEY, 900, 400, p=0.3, **kw), True),
    ("pairwise_bernoulli p=1", lambda **kw: pairwise_bernoulli(KEY, 300, p=1.0, allow_autapse=True, **kw), True),
    # sparse and in blocks of rows: drawn per device
    ("pairwise_bernoulli blocks", lambda **kw: pairwise_bernoulli(KEY, 1500, p=0.01, block_size=2000, **kw), True),
    (
        "pairwise_bernoulli blocks 2 populations",
        lambda **kw: pairwise_bernoulli(KEY, 1200, 900, p=0.012, block_size=1500, **kw),
        True,
    ),
    ("fixed_indegree", lambda **kw: fixed_indegree(KEY, 400, None, 9, **kw), True),
    ("fixed_indegree blocks 2 populations", lambda **kw: fixed_indegree(KEY, 50, 1000, 7, block_size=64, **kw), True),
    ("fixed_outdegree", lambda **kw: fixed_outdegree(KEY, 1001, None, 7, block_size=512, **kw), True),
    ("fixed_outdegree 2 populations", lambda **kw: fixed_outdegree(KEY, 333, 120, 11, block_size=100, **kw), True),
    # with replacement: out-degrees drawn and sorted by whole rows, in-degrees by post slots then exchanged
    ("fixed_outdegree multapses", lambda **kw: fixed_outdegree(KEY, 300, None, 5, multapses=True, **kw), True),
    (
        "fixed_outdegree multapses 2 populations",
        lambda **kw: fixed_outdegree(KEY, 1001, 7, 13, multapses=True, **kw),
        True,
    ),
    ("fixed_indegree multapses", lambda **kw: fixed_indegree(KEY, 77, 501, 9, multapses=True, **kw), True),
    # past 32 bits of pairs: the distinct rule's blocks (and exchange), drawn with replacement
    (
        "fixed_indegree multapses blocks",
        lambda **kw: fixed_indegree(KEY, 70_000, 66_000, 2, multapses=True, block_size=8192, **kw),
        True,
    ),
    (
        "fixed_outdegree multapses blocks",
        lambda **kw: fixed_outdegree(KEY, 66_001, 70_000, 2, multapses=True, block_size=8192, **kw),
        True,
    ),
    (
        "distance_probability",
        lambda **kw: distance_probability(KEY, POSITIONS, profile=profiles.gaussian(0.05, max_distance=0.15), **kw),
        True,
    ),
    # each device draws the pairs onto its share of the posts, then one exchange into (pre, post) order
    (
        "distance_probability 2 populations box",
        lambda **kw: distance_probability(
            KEY, POSITIONS, POSITIONS[:450] * 0.9, box=1.0, profile=profiles.gaussian(0.1, max_distance=0.3), **kw
        ),
        True,
    ),
    (
        "distance_probability stream",
        lambda **kw: distance_probability(KEY, POSITIONS, profile=profiles.gaussian(0.2), **kw),
        True,
    ),
    (
        "distance_topology",
        lambda **kw: distance_topology(KEY, POSITIONS, profile=profiles.gaussian(0.1), k=5, box=1.0, **kw),
        True,
    ),
    ("network", network_case, True),
    ("network blocks", network_blocks_case, True),
    ("potjans_diesmann", lambda **kw: models.potjans_diesmann(KEY, 0.02, **kw).conn, True),
]


def values_cases(conn):
    """(name, build(**kw), exact) for the value builders over an unsharded ``conn``."""
    return [
        ("synapse_values blocks", lambda **kw: synapse_values(KEY, conn, WEIGHT, block_size=1000, **kw), True),
        ("synapse_values one draw", lambda **kw: synapse_values(KEY, conn, WEIGHT, **kw), False),
        ("synapse_values distances",
         lambda **kw: synapse_values(KEY, conn, ji.modulate_by_distance(ji.ones, profiles.exponential(0.2)),
                                     jax.random.uniform(KEY, (1001, 2)), block_size=999, **kw), True),
        ("with_weights blocks", lambda **kw: with_weights(KEY, conn, WEIGHT, block_size=777, **kw), True),
        ("with_delays one draw", lambda **kw: with_delays(KEY, conn, ji.uniform(1.0, 2.0), **kw), False),
    ]  # fmt: skip


def same(got, want, exact, what):
    got, want = np.asarray(getattr(got, "mantissa", got)), np.asarray(getattr(want, "mantissa", want))
    assert got.shape == want.shape, (what, got.shape, want.shape)
    if exact or not np.issubdtype(want.dtype, np.floating):
        assert np.array_equal(got, want), what
    else:
        np.testing.assert_array_max_ulp(got, want, maxulp=2)


def check_array(got, want, pad, sharding, exact, what):
    """``got``: the padded, sharded version of ``want``, each device holding its slice."""
    d = sharding.mesh.shape[sharding.spec[0]]
    per_device = -(-want.shape[0] // d)
    assert got.shape == (d * per_device,), (what, got.shape)
    assert got.sharding.is_equivalent_to(sharding, 1), (what, got.sharding)
    padded = np.concatenate([np.asarray(getattr(want, "mantissa", want)),
                             np.full(d * per_device - want.shape[0], pad, np.asarray(got).dtype)])  # fmt: skip
    starts = set()
    for piece in got.addressable_shards:  # one per device (a 2-D mesh repeats each slice)
        start = piece.index[0].start or 0
        assert piece.data.shape == (per_device,) and start % per_device == 0, (what, piece.index)
        same(piece.data, padded[start : start + per_device], exact, f"{what}: slice at {start}")
        starts.add(start)
    assert len(starts) == d, (what, starts)


def check_connectivity(got, want, sharding, exact, name, methods=True):
    assert got.nnz == want.nnz and got.n_syn == want.nnz, (name, got.nnz, want.nnz)
    check_array(got.pre, want.pre, want.n_pre, sharding, True, f"{name} pre")
    check_array(got.post, want.post, want.n_post, sharding, True, f"{name} post")
    for field in ("weight", "delay"):
        if getattr(want, field) is not None:
            check_array(getattr(got, field), getattr(want, field), 0, sharding, exact, f"{name} {field}")
    if not methods:
        return
    for method in ("out_degree", "in_degree"):
        same(getattr(got, method)(), getattr(want, method)(), True, f"{name} {method}")
    same(got.indptr, want.indptr, True, f"{name} indptr")
    same(got.by_post()[0], want.by_post()[0], True, f"{name} by_post")
    if want.n_pre * want.n_post <= 10**7:  # the grids past 32 bits of pairs stay sparse
        same(got.to_dense(), want.to_dense(), exact, f"{name} to_dense")
        same(got.to_scipy().toarray(), want.to_scipy().toarray(), exact, f"{name} to_scipy")
    else:
        same((got.to_scipy() != want.to_scipy()).nnz, 0, True, f"{name} to_scipy")


def meshes(case: int, every: bool):
    """The 1-D meshes of 1, 2, 3, 4 and 8 devices with Auto and Explicit axes, and a 4 x 2
    mesh split over one axis (replicated over the other). Unless ``every``, case ``i`` takes
    8 devices (Explicit) and 3 (Auto: uneven slices) and one more of the others in turn."""

    def one_d(count, kind):
        mesh = jax.make_mesh((count,), ("x",), devices=jax.devices()[:count], axis_types=(kind,))
        return NamedSharding(mesh, PartitionSpec("x"))

    two_d = NamedSharding(jax.make_mesh((4, 2), ("x", "y"), axis_types=(AxisType.Auto,) * 2), PartitionSpec("x"))
    every_mesh = [one_d(count, kind) for count in (1, 2, 3, 4, 8) for kind in (AxisType.Auto, AxisType.Explicit)]
    if every:
        return every_mesh + [two_d]
    others = [one_d(1, AxisType.Auto), one_d(2, AxisType.Explicit), one_d(4, AxisType.Auto), two_d]
    return [one_d(8, AxisType.Explicit), one_d(3, AxisType.Auto), others[case % len(others)]]


def check_memory():
    """Per device, the sharded fixed_outdegree and pairwise_bernoulli programs hold their
    slice and one block."""
    n, k, block = 200_000, 10, 1 << 14
    for count in (1, 2, 4, 8):
        sharding = NamedSharding(jax.make_mesh((count,), ("x",), devices=jax.devices()[:count]), PartitionSpec("x"))
        compiled = _fixed_degree_sharded.lower(KEY, n, n, k, False, False, False, block, sharding).compile()
        stats = compiled.memory_analysis()
        per_device = -(-n * k // count)
        # the two int32 slices (and a tuple's pointers); temporaries of one block, at any count
        assert 2 * 4 * per_device <= stats.output_size_in_bytes <= 2 * 4 * per_device + 64, (count, stats)
        assert stats.temp_size_in_bytes < 64 * block, (count, stats)
    n, p, block = 20_000, 0.01, 1 << 14
    key_count, key_pairs = jax.random.split(KEY)
    blocks = _sparse_row_blocks(key_count, key_pairs, n, n - 1, p, True, block)
    total = int(blocks[0].sum())
    for count in (1, 2, 4, 8):
        sharding = NamedSharding(jax.make_mesh((count,), ("x",), devices=jax.devices()[:count]), PartitionSpec("x"))
        run, args = blocks_program(*blocks, (n, n), sharding)
        stats = run.lower(*args).compile().memory_analysis()
        per_device = -(-total // count)
        assert 2 * 4 * per_device <= stats.output_size_in_bytes <= 2 * 4 * per_device + 64, (count, stats)
        # one block's sampler: its capacity (at most twice the block) at ~60 bytes a slot
        assert stats.temp_size_in_bytes < 128 * block, (count, stats)
    # random_topology (distinct pairs by geometric skips): the first pass replicated (its blocks'
    # starts and the surplus removed, O(blocks + surplus)), then each device its slice and one block
    n, k, block = 5000, 1_000_000, 1 << 14
    plan = _skip_plan(KEY, n, n - 1, k, block)
    for count in (1, 2, 4, 8):
        sharding = NamedSharding(jax.make_mesh((count,), ("x",), devices=jax.devices()[:count]), PartitionSpec("x"))
        stats = _skip_pairs_sharded.lower(plan[:-1], n, n, n - 1, k, True, block, sharding).compile().memory_analysis()
        per_device = -(-k // count)
        assert 2 * 4 * per_device <= stats.output_size_in_bytes <= 2 * 4 * per_device + 64, (count, stats)
        assert stats.temp_size_in_bytes < 64 * block, (count, stats)
    # dense pairwise_bernoulli: each device its slice and one stream block
    n, p = 3000, 0.1
    operands = (jax.random.split(KEY)[1], np.int32(n - 1), np.int32(n * (n - 1)), np.uint32(p * 2**32), np.bool_(False))
    counts = np.full(-(-n * (n - 1) // _STREAM_BLOCK), _STREAM_BLOCK // 10)  # about p of each block
    for count in (1, 2, 4, 8):
        sharding = NamedSharding(jax.make_mesh((count,), ("x",), devices=jax.devices()[:count]), PartitionSpec("x"))
        run, args = blocks_program(counts, StreamBlock(True), operands, (n, n), sharding)
        stats = run.lower(*args).compile().memory_analysis()
        per_device = -(-int(counts.sum()) // count)
        assert 2 * 4 * per_device <= stats.output_size_in_bytes <= 2 * 4 * per_device + 64, (count, stats)
        assert stats.temp_size_in_bytes < 64 * _STREAM_BLOCK, (count, stats)


def check_multapse_memory():
    """Per device, the draws with replacement hold their slice and a few like it: memory
    falls with the device count (the sort's exchange included)."""
    n, k = 100_000, 10
    for count in (1, 2, 4, 8):
        sharding = NamedSharding(jax.make_mesh((count,), ("x",), devices=jax.devices()[:count]), PartitionSpec("x"))
        slice_bytes = 4 * -(-n * k // count)
        for by_post in (False, True):
            compiled = degree_partners_program(n, n - 1, k, True, by_post, sharding).lower(KEY).compile()
            stats = compiled.memory_analysis()
            assert stats.output_size_in_bytes <= (1 if by_post else 2) * slice_bytes + 64, (count, by_post, stats)
            assert stats.temp_size_in_bytes <= 6 * slice_bytes, (count, by_post, stats)
        keys = _multapse_keys_program(n, n - 1, n * k, True, sharding)
        stats = keys.lower(KEY).compile().memory_analysis()
        assert stats.output_size_in_bytes <= slice_bytes + 64 and stats.temp_size_in_bytes <= 6 * slice_bytes
        run, args = packed_sort_program(keys(KEY), n * k, n, (n, n), sharding)
        stats = run.lower(*args).compile().memory_analysis()
        assert stats.output_size_in_bytes <= 2 * slice_bytes + 64, (count, stats)
        assert stats.temp_size_in_bytes <= 6 * slice_bytes, (count, stats)


def check_network_blocks_per_device():
    """Each device computes only the network blocks that overlap its slice, on itself."""
    from jaxinit.topology import _network

    calls = []
    assemble = _network._assemble

    def recording(shared, inputs, *rest):
        device = next(iter(inputs["fused_count"].devices())) if hasattr(inputs["fused_count"], "devices") else None
        calls.append((int(inputs["block"]), int(inputs["block_start"]), device))
        return assemble(shared, inputs, *rest)

    sharding = NamedSharding(jax.make_mesh((8,), ("x",), devices=jax.devices()[:8]), PartitionSpec("x"))
    _network._assemble = recording
    try:
        want = network_blocks_case()
        starts = {block: start for block, start, _ in calls}
        calls.clear()
        got = network_blocks_case(out_sharding=sharding)
    finally:
        _network._assemble = assemble
    check_connectivity(got, want, sharding, True, "network blocks", methods=False)
    per_device = -(-want.nnz // 8)
    edges = sorted(starts.values()) + [want.n_pre]
    # block b holds the synapses whose pre lies in [its start, the next block's start)
    first, stop = np.searchsorted(np.asarray(want.pre), edges[:-1]), np.searchsorted(np.asarray(want.pre), edges[1:])
    slice_of = {device: d for d, device in enumerate(sharding.mesh.devices.flat)}
    assert len(starts) > 8 and len(calls) <= len(starts) + 7, (len(calls), len(starts))  # boundaries: twice
    for block, _, device in calls:
        d = slice_of[device]
        assert first[block] < (d + 1) * per_device and stop[block] > d * per_device, (block, d)
    assert {slice_of[device] for _, _, device in calls} == set(range(8)), calls


def check_jit_composes():
    """A sharded connectivity passed into jit gets block-wise weights, split the same way."""
    sharding = NamedSharding(jax.make_mesh((4,), ("x",), devices=jax.devices()[:4]), PartitionSpec("x"))
    want = with_weights(KEY, fixed_outdegree(KEY, 1001, None, 7, block_size=512), WEIGHT, block_size=1000)
    conn = fixed_outdegree(KEY, 1001, None, 7, block_size=512, out_sharding=sharding)
    got = jax.jit(lambda key, conn: with_weights(key, conn, WEIGHT, block_size=1000, out_sharding=sharding))(KEY, conn)
    check_connectivity(got, want, sharding, True, "jit with_weights")


def check_shard_round_trip():
    conn = with_delays(KEY, random_topology(KEY, 50, n_syn=101), ji.constant(2.0))
    sharding = NamedSharding(jax.make_mesh((8,), ("x",)), PartitionSpec("x"))
    placed = shard(conn, sharding)
    check_connectivity(placed, conn, sharding, True, "shard")
    again = shard(placed, sharding)
    check_connectivity(again, conn, sharding, True, "shard twice")


def main():
    assert len(jax.devices()) == 8, jax.devices()
    every = sys.argv[1:2] == ["every"]
    unsharded_conn = fixed_outdegree(KEY, 1001, None, 7, block_size=512)
    cases = CASES + values_cases(unsharded_conn)
    chosen = range(*map(int, sys.argv[2:4])) if every else range(len(cases))
    if len(chosen) == 0 or chosen.stop > len(cases):
        raise SystemExit(f"every START STOP: {sys.argv[2:4]} is not a range within the {len(cases)} cases")
    counts = set()
    for i in chosen:
        name, build, exact = cases[i]
        want = build()
        if not hasattr(want, "pre"):  # synapse_values
            for sharding in meshes(i, every):
                got = build(out_sharding=sharding)
                check_array(got, want, 0, sharding, exact, name)
                counts.add(sharding.mesh.shape["x"])
            continue
        for j, sharding in enumerate(meshes(i, every)):
            got = build(out_sharding=sharding)
            check_connectivity(got, want, sharding, exact, name, methods=every or j == 0)
            counts.add(sharding.mesh.shape["x"])
        if every:
            jax.clear_caches()
    if not every:
        check_memory()
        check_multapse_memory()
        check_network_blocks_per_device()
        check_jit_composes()
        check_shard_round_trip()
    print("ok", len(chosen), sorted(counts))


if __name__ == "__main__":
    main()

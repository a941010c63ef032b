"""``capacity=`` on the rules whose synapse count is random (``pairwise_bernoulli``,
``distance_probability``, ``stochastic_block``): the count under ``jit`` and ``vmap``.

The arrays have ``capacity`` entries, the synapses then padding pairs ``(n_pre, n_post)``.
Statistical tests use fixed keys and a p-value floor of 1e-4 (each would fail with
probability 1e-4 for independent keys); moment checks allow 5 standard errors.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec
from scipy import stats

from jaxinit import profiles
from jaxinit.topology import Connectivity, distance_probability, pairwise_bernoulli, stochastic_block, with_weights
from jaxinit.topology._proximity import _bernoulli_pairs, _inputs
from jaxinit.topology._spatial import split_callable
from tests.test_topology_counts import assert_each_pair_with_probability, assert_valid, dense, keys

P_FLOOR = 1e-4

# (n_pre, n_post, p, capacity): the count drawn on the device, then distinct pairs (a space
# past 2**16 pairs, p <= 1/64); a small space and a dense request, each pair decided by its draw
PATHS = {
    "device count": (1000, None, 0.005, 6000),
    "small space": (60, 50, 0.01, 100),
    "dense": (300, None, 0.2, 20_000),
}


def build_many(n_pre, n_post, p, capacity, n_keys, seed=0):
    return jax.vmap(lambda k: pairwise_bernoulli(k, n_pre, n_post, p=p, capacity=capacity))(keys(n_keys, seed))


def builds(stacked: Connectivity) -> list[Connectivity]:
    """Each key's build of a vmapped ``capacity=`` request, its padding cut off on the host
    (checked to be a tail of padding pairs)."""
    pre, post = np.asarray(stacked.pre), np.asarray(stacked.post)
    out = []
    for row_pre, row_post in zip(pre, post, strict=True):
        count = int(np.sum(row_pre < stacked.n_pre))
        assert (row_pre[count:] == stacked.n_pre).all() and (row_post[count:] == stacked.n_post).all()
        out.append(Connectivity(row_pre[:count], row_post[:count], n_pre=stacked.n_pre, n_post=stacked.n_post))
    return out


@pytest.mark.parametrize("path", list(PATHS))
def test_count_is_binomial(path):
    """Counts over 250 keys: mean and variance of Binomial(allowed, p); for the device's
    count, also a chi-square of its histogram against the binomial pmf (6 bins)."""
    n_pre, n_post, p, capacity = PATHS[path]
    n_keys = 250
    allowed = n_pre * (n_pre - 1 if n_post is None else n_post)
    stacked = build_many(n_pre, n_post, p, capacity, n_keys)
    counts = np.asarray(jnp.sum(stacked.pre < n_pre, axis=1))
    mean, var = allowed * p, allowed * p * (1 - p)
    assert abs(counts.mean() - mean) < 5 * np.sqrt(var / n_keys)
    assert abs(counts.var(ddof=1) - var) < 5 * var * np.sqrt(2 / (n_keys - 1)) * 1.1
    if path == "device count":
        edges = mean + np.sqrt(var) * np.array([-1.5, -0.75, 0, 0.75, 1.5])
        expected = np.diff(np.concatenate([[0], stats.binom.cdf(np.floor(edges), allowed, p), [1]]))
        observed = np.bincount(np.searchsorted(np.floor(edges), counts, side="left"), minlength=6)
        assert stats.chisquare(observed, expected * n_keys).pvalue > P_FLOOR


@pytest.mark.parametrize("n_pre,n_post,p,capacity,n_keys", [(20, 20, 0.02, 64, 300), (5, None, 0.8, 32, 200)])
def test_every_allowed_pair_with_probability_p(n_pre, n_post, p, capacity, n_keys):
    """Each allowed pair's count over keys is Binomial(keys, p) (chi-square of the grid, both
    tails), never a forbidden pair; sorted, distinct, in range once unpadded."""
    stacked = build_many(n_pre, n_post, p, capacity, n_keys, seed=1)
    assert_each_pair_with_probability(builds(stacked), p, recurrent=n_post is None)


def test_device_count_pairs_are_uniform():
    """The device-count path's pairs: pre and post uniform over 10 bins of 100 neurons
    (chi-square over 50 keys), no autapse, distinct."""
    n_pre, _, p, capacity = PATHS["device count"]
    stacked = build_many(n_pre, None, p, capacity, 50, seed=2)
    pre_bins, post_bins = np.zeros(10), np.zeros(10)
    for conn in builds(stacked):
        assert_valid(conn, recurrent_no_autapse=True, distinct=True)
        pre_bins += np.bincount(np.asarray(conn.pre) // 100, minlength=10)
        post_bins += np.bincount(np.asarray(conn.post) // 100, minlength=10)
    assert stats.chisquare(pre_bins).pvalue > P_FLOOR and stats.chisquare(post_bins).pvalue > P_FLOOR


@pytest.mark.parametrize("path", list(PATHS))
def test_jit_equals_eager_and_vmap_equals_loop(path):
    n_pre, n_post, p, capacity = PATHS[path]

    def build(k):
        return pairwise_bernoulli(k, n_pre, n_post, p=p, capacity=capacity)

    key = jax.random.key(5)
    eager, jitted = build(key), jax.jit(build)(key)
    assert eager.pre.shape == (capacity,)
    np.testing.assert_array_equal(eager.pre, jitted.pre)
    np.testing.assert_array_equal(eager.post, jitted.post)
    batch = keys(3, seed=6)
    stacked = jax.vmap(build)(batch)
    for i, k in enumerate(batch):
        one = build(k)
        np.testing.assert_array_equal(stacked.pre[i], one.pre)
        np.testing.assert_array_equal(stacked.post[i], one.post)


def test_padding_is_ignored():
    """The methods see only the synapses: degrees, indptr, the dense matrix, the CSC view,
    scipy, and values drawn on the padded arrays."""
    n = 200
    conn = pairwise_bernoulli(jax.random.key(3), n, p=0.05, capacity=4096)
    count = int(np.sum(np.asarray(conn.pre) < n))
    assert 0 < count < 4096 and (np.asarray(conn.pre)[count:] == n).all() and (np.asarray(conn.post)[count:] == n).all()
    plain = conn.unpadded()
    assert plain.nnz == count and plain.n_syn is None
    assert_valid(plain, recurrent_no_autapse=True, distinct=True)
    assert int(conn.out_degree().sum()) == count and int(conn.in_degree().sum()) == count
    assert int(conn.indptr[-1]) == count
    np.testing.assert_array_equal(conn.to_dense(), plain.to_dense())
    assert (conn.to_scipy() != plain.to_scipy()).nnz == 0
    indptr, _ = conn.by_post()
    np.testing.assert_array_equal(indptr, plain.by_post()[0])
    weighted = with_weights(jax.random.key(4), conn, lambda k, shape, dtype=None, **_: jnp.ones(shape))
    np.testing.assert_array_equal(weighted.to_dense(), plain.to_dense())
    jitted = jax.jit(lambda c: c.out_degree())(conn)  # a padded pytree through jit
    np.testing.assert_array_equal(jitted, plain.out_degree())


def test_a_count_above_capacity_raises():
    key = jax.random.key(0)
    count = int(np.sum(np.asarray(pairwise_bernoulli(key, 1000, p=0.01, capacity=12_000).pre) < 1000))
    too_small = count - 1
    message = rf"pairwise_bernoulli: drew {count:,} synapses, more than capacity={too_small:,}"
    with pytest.raises(ValueError, match=message):
        pairwise_bernoulli(key, 1000, p=0.01, capacity=too_small)
    with pytest.raises(Exception, match=rf"more than capacity={too_small:,}"):  # the program fails when it runs
        jax.block_until_ready(jax.jit(lambda k: pairwise_bernoulli(k, 1000, p=0.01, capacity=too_small).pre)(key))
    # a count equal to the capacity fills it exactly
    full = pairwise_bernoulli(key, 1000, p=0.01, capacity=count)
    assert (np.asarray(full.pre) < 1000).all()


def test_bad_capacity_is_refused_before_any_work():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="pairwise_bernoulli: capacity must be >= 1, got 0"):
        pairwise_bernoulli(key, 10, p=0.1, capacity=0)
    with pytest.raises(TypeError, match="pairwise_bernoulli: capacity must be an int"):
        pairwise_bernoulli(key, 10, p=0.1, capacity=10.5)
    sharding = NamedSharding(jax.make_mesh((1,), ("x",)), PartitionSpec("x"))
    with pytest.raises(ValueError, match="pairwise_bernoulli: capacity= and out_sharding= cannot be combined"):
        pairwise_bernoulli(key, 10, p=0.1, capacity=100, out_sharding=sharding)
    with pytest.raises(ValueError, match=r"pairwise_bernoulli: with capacity=, p=0.5 > 1/64 .* fewer than 2\*\*31"):
        pairwise_bernoulli(key, 60_000, p=0.5, capacity=1000)
    with pytest.raises(TypeError, match="or give a static capacity="):
        jax.jit(lambda k: pairwise_bernoulli(k, 10, p=0.1).pre)(key)


# --- distance_probability ------------------------------------------------------------------

POSITIONS = jax.random.uniform(jax.random.key(1), (400, 2))
NEAR = profiles.gaussian(0.1, max_distance=0.3)


def test_distance_capacity_is_the_all_candidates_draw_under_jit_and_vmap():
    """The same synapses eagerly (through the cells), under jit with the positions traced too
    (every pair streamed) and from the eager all-candidates path without capacity; vmap
    over keys equals the loop."""
    key = jax.random.key(0)
    args = dict(profile=NEAR, box=1.0, capacity=12_000)
    eager = distance_probability(key, POSITIONS, **args)
    traced = jax.jit(lambda k, x: distance_probability(k, x, **args))(key, POSITIONS)
    inputs = _inputs("test", POSITIONS, None, 1.0)
    split = split_callable("test", "profile", NEAR, "a profile")
    pre, post, n = _bernoulli_pairs(key, NEAR, split, 0.3, *inputs, True, path="cells")
    n = int(n)
    assert eager.pre.shape == (12_000,) and int(eager.out_degree().sum()) == n
    for conn in (eager, traced):
        np.testing.assert_array_equal(conn.pre[:n], pre[:n])
        np.testing.assert_array_equal(conn.post[:n], post[:n])
        assert (np.asarray(conn.pre[n:]) == 400).all() and (np.asarray(conn.post[n:]) == 400).all()
    batch = keys(3, seed=8)
    stacked = jax.vmap(lambda k: distance_probability(k, POSITIONS, **args))(batch)
    for i, k in enumerate(batch):
        np.testing.assert_array_equal(stacked.pre[i], distance_probability(k, POSITIONS, **args).pre)


def test_distance_capacity_pairs_at_the_profiles_probability():
    """30 neurons on a line (gaussian of sigma 3, no cut: every pair streamed): over 300 keys,
    each pair's count is Binomial(300, p(d)); the standardized squares of the pairs with
    0.05 < p < 0.95 sum to ~ chi2 (both tails at the floor); never an autapse."""
    x = jnp.arange(30.0)[:, None]
    profile = profiles.gaussian(3.0)
    n_keys = 300
    stacked = jax.vmap(lambda k: distance_probability(k, x, profile=profile, capacity=900))(keys(n_keys, seed=9))
    total = np.zeros((30, 30))
    for conn in builds(stacked):
        assert_valid(conn, recurrent_no_autapse=True, distinct=True)
        total += dense(conn)
    d = np.abs(np.arange(30)[:, None] - np.arange(30)[None, :])
    p = np.exp(-(d**2) / (2 * 3.0**2))
    used = (p > 0.05) & (p < 0.95) & (d > 0)
    chi2 = np.sum((total[used] - n_keys * p[used]) ** 2 / (n_keys * p[used] * (1 - p[used])))
    assert stats.chi2.sf(chi2, used.sum()) > P_FLOOR and stats.chi2.cdf(chi2, used.sum()) > P_FLOOR
    assert np.trace(total) == 0


def test_distance_capacity_overflow_and_bad_input():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match=r"distance_probability: drew 9,819 synapses, more than capacity=8,192"):
        distance_probability(key, POSITIONS, profile=NEAR, box=1.0, capacity=8192)
    with pytest.raises(Exception, match="more than capacity=8,192"):
        build = jax.jit(lambda k: distance_probability(k, POSITIONS, profile=NEAR, box=1.0, capacity=8192).pre)
        jax.block_until_ready(build(key))
    with pytest.raises(ValueError, match="distance_probability: capacity must be >= 1, got 0"):
        distance_probability(key, POSITIONS, profile=NEAR, capacity=0)
    sharding = NamedSharding(jax.make_mesh((1,), ("x",)), PartitionSpec("x"))
    with pytest.raises(ValueError, match="distance_probability: capacity= and out_sharding= cannot be combined"):
        distance_probability(key, POSITIONS, profile=NEAR, capacity=100, out_sharding=sharding)
    with pytest.raises(TypeError, match="or give a static capacity="):
        jax.jit(lambda k: distance_probability(k, POSITIONS, profile=NEAR).pre)(key)


# --- stochastic_block ----------------------------------------------------------------------

SIZES, BLOCK_P = [30, 20, 10], [[0.5, 0.1, 0.0], [0.2, 0.9, 0.3], [0.0, 0.4, 1.0]]


def test_stochastic_block_capacity_block_counts():
    """Over 100 keys under vmap: each block pair's count has the mean and variance of
    Binomial(its allowed pairs, p) (5 standard errors; p = 0 and p = 1 exactly), no autapse,
    sorted and distinct once unpadded."""
    n_keys = 100
    stacked = jax.vmap(lambda k: stochastic_block(k, SIZES, BLOCK_P, capacity=2000))(keys(n_keys, seed=10))
    starts = np.cumsum([0, *SIZES])
    counts = np.zeros((n_keys, 3, 3))
    for i, conn in enumerate(builds(stacked)):
        assert_valid(conn, recurrent_no_autapse=True, distinct=True)
        block_pre = np.searchsorted(starts, np.asarray(conn.pre), side="right") - 1
        block_post = np.searchsorted(starts, np.asarray(conn.post), side="right") - 1
        np.add.at(counts[i], (block_pre, block_post), 1)
    for bi in range(3):
        for bj in range(3):
            allowed = SIZES[bi] * (SIZES[bj] - (bi == bj))
            p = BLOCK_P[bi][bj]
            mean, var = allowed * p, allowed * p * (1 - p)
            if var == 0:
                assert (counts[:, bi, bj] == mean).all()
                continue
            assert abs(counts[:, bi, bj].mean() - mean) < 5 * np.sqrt(var / n_keys), (bi, bj)
            assert abs(counts[:, bi, bj].var(ddof=1) - var) < 5 * var * np.sqrt(2 / (n_keys - 1)) * 1.1, (bi, bj)


def test_stochastic_block_capacity_jit_vmap_and_overflow():
    def build(k, capacity=2000):
        return stochastic_block(k, SIZES, BLOCK_P, capacity=capacity)

    key = jax.random.key(11)
    eager, jitted = build(key), jax.jit(build)(key)
    np.testing.assert_array_equal(eager.pre, jitted.pre)
    np.testing.assert_array_equal(eager.post, jitted.post)
    batch = keys(3, seed=12)
    stacked = jax.vmap(build)(batch)
    for i, k in enumerate(batch):
        np.testing.assert_array_equal(stacked.pre[i], build(k).pre)
    count = int(eager.out_degree().sum())
    with pytest.raises(ValueError, match=rf"stochastic_block: drew {count:,} synapses, more than capacity=1,000"):
        build(key, 1000)
    with pytest.raises(ValueError, match="stochastic_block: capacity must be >= 1, got 0"):
        build(key, 0)

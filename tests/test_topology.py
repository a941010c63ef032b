"""Sparse topologies: exactness invariants, uniformity against exact laws, helpers, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxinit as ji
from jaxinit import profiles
from jaxinit import topology as T
from jaxinit.topology._sampling import DEFAULT_BLOCK, sample_by_draws
from tests.helpers import run_with_x64

KEY = jax.random.key(0)
P_FLOOR = 1e-3


def _pairs(conn):
    return np.asarray(conn.pre, np.int64), np.asarray(conn.post, np.int64)


def assert_exact(conn, nnz, autapses=False):
    """Exact count, strictly sorted by (pre, post) (hence distinct), in range, int32."""
    pre, post = _pairs(conn)
    assert conn.pre.dtype == jnp.int32 and conn.post.dtype == jnp.int32
    assert conn.nnz == nnz == pre.size
    flat = pre * conn.n_post + post
    assert np.all(np.diff(flat) > 0)
    assert pre.min(initial=0) >= 0 and pre.max(initial=0) < conn.n_pre
    assert post.min(initial=0) >= 0 and post.max(initial=0) < conn.n_post
    if not autapses:
        assert np.all(pre != post)


def chi_square_pvalue(observed, expected, min_expected=5.0):
    """Chi-square goodness of fit, pooling cells with small expectation into one."""
    observed, expected = np.asarray(observed, float), np.asarray(expected, float)
    small = expected < min_expected
    if small.any():
        observed = np.append(observed[~small], observed[small].sum())
        expected = np.append(expected[~small], expected[small].sum())
    expected = expected * observed.sum() / expected.sum()
    return stats.chisquare(observed, expected).pvalue


def assert_hypergeometric_degrees(degrees, population, successes, draws):
    """Degrees of a uniform k-subset: each row's count is hypergeometric(M, row size, k)."""
    degrees = np.asarray(degrees)
    law = stats.hypergeom(population, successes, draws)
    support = np.arange(degrees.max() + 1)
    observed = np.bincount(degrees, minlength=support.size)
    expected = law.pmf(support) * degrees.size
    expected[-1] += law.sf(support[-1]) * degrees.size
    assert chi_square_pvalue(observed, expected) > P_FLOOR


# --- random_topology --------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_pre, n_post, n_syn, autapse",
    [(1000, None, 99_900, False), (300, 200, 6000, True), (500, None, 2000, True), (40, None, 40 * 39, False)],
)
def test_random_topology_is_exact(n_pre, n_post, n_syn, autapse):
    conn = T.random_topology(KEY, n_pre, n_post, n_syn=n_syn, allow_autapse=autapse)
    assert_exact(conn, n_syn, autapses=autapse or n_post is not None)


def test_probability_gives_the_rounded_count():
    conn = T.random_topology(KEY, 1234, 567, p=0.0321)
    assert_exact(conn, round(0.0321 * 1234 * 567), autapses=True)
    assert T.random_topology(KEY, 10, p=0.0).nnz == 0


def test_beyond_int32_pair_space_with_x64_off():
    # 10^10 allowed pairs (> 2^31) and a few million synapses, in 32-bit JAX
    assert not jax.config.jax_enable_x64
    conn = T.random_topology(KEY, 100_000, n_syn=3_000_000)
    assert_exact(conn, 3_000_000)
    pre, post = _pairs(conn)
    # rows and columns cover the whole range, not a wrapped-around part of it
    assert pre.max() > 99_000 and post.max() > 99_000 and pre.min() < 1000
    assert_hypergeometric_degrees(conn.out_degree(), 100_000 * 99_999, 99_999, 3_000_000)


def test_builders_run_with_x64_and_strict_promotion():
    script = """
import jax
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
import numpy as np
import jaxinit as ji
from jaxinit import profiles, topology as T
key = jax.random.key(0)
conn = T.random_topology(key, 500, p=0.1)
flat = np.asarray(conn.pre, np.int64) * 500 + np.asarray(conn.post)
assert conn.nnz == round(0.1 * 500 * 499) and conn.pre.dtype == np.int32 and (np.diff(flat) > 0).all()
assert (np.asarray(T.fixed_indegree(key, 300, None, 20).in_degree()) == 20).all()
assert (np.asarray(T.fixed_outdegree(key, 300, None, 250).out_degree()) == 250).all()
xy = jax.random.uniform(key, (200, 2))
conn = T.distance_topology(key, xy, profile=profiles.gaussian(0.2), k=10)
assert (np.asarray(conn.in_degree()) == 10).all()
assert T.with_weights(key, conn, ji.normal(), xy, block_size=64).weight.dtype == np.float64
assert T.balanced_ei_network(key, 3, 400, 2, 0.1, 0.8, 1.0, 0.1)[1].weight.dtype == np.float64
assert T.excitatory_inhibitory(key, 300, exc_weight=ji.normal(0.5, 0.1)).weight.dtype == np.float64
small = T.random_topology(key, 10, n_syn=5)  # unweighted conversions use the default float
assert small.to_dense().dtype == np.float64 and small.to_bcoo().data.dtype == np.float64
assert small.to_bcsr().data.dtype == np.float64 and small.to_scipy().dtype == np.float64
big = T.random_topology(key, 2, 1_073_741_823, n_syn=10_000)  # tall-thin pair spaces with x64 too
pre, post = np.asarray(big.pre, np.int64), np.asarray(big.post, np.int64)
assert pre.max() <= 1 and (np.diff(pre * 1_073_741_823 + post) > 0).all()
print("ok")
"""
    assert run_with_x64(script) == "ok"


def test_very_sparse_requests_take_the_independent_draw_path():
    conn = T.random_topology(KEY, 100_000, n_syn=5000)  # density 5e-7
    assert_exact(conn, 5000)


@pytest.fixture(params=[DEFAULT_BLOCK, 7], ids=["default blocks", "tiny blocks"])
def block_size(request):
    """Runs a test as is, and again with the block-wise passes cut into blocks of 7 elements
    (many candidate and output blocks, and a last block moved back to end in place)."""
    return request.param


@pytest.mark.parametrize("n_syn", [30, 2, 97])
def test_every_pair_is_equally_likely(n_syn, block_size):
    # inclusion frequency of each of the 100 pairs over many independent draws (geometric-skip path)
    n_pre, n_post, draws = 10, 10, 4000
    keys = jax.random.split(KEY, draws)
    conns = jax.vmap(lambda k: T.random_topology(k, n_pre, n_post, n_syn=n_syn, block_size=block_size))(keys)
    counts = np.bincount(np.asarray(conns.pre * n_post + conns.post).ravel(), minlength=100)
    assert counts.sum() == draws * n_syn
    assert chi_square_pvalue(counts, np.full(100, draws * n_syn / 100)) > P_FLOOR


def test_pair_inclusion_is_uniform_on_the_draw_path():
    keys = jax.random.split(KEY, 3000)
    conns = jax.vmap(lambda k: sample_by_draws(k, 8, 9, 3))(keys)
    flat = np.asarray(conns[0] * 9 + conns[1])
    assert np.all(np.diff(flat, axis=1) > 0)  # distinct and sorted in every draw
    counts = np.bincount(flat.ravel(), minlength=72)
    assert chi_square_pvalue(counts, np.full(72, 3000 * 3 / 72)) > P_FLOOR


def test_degrees_follow_the_hypergeometric_law(block_size):
    n = 2000
    conn = T.random_topology(KEY, n, p=0.05, block_size=block_size)
    k = conn.nnz
    assert_hypergeometric_degrees(conn.out_degree(), n * (n - 1), n - 1, k)
    assert_hypergeometric_degrees(conn.in_degree(), n * (n - 1), n - 1, k)


def test_jit_equals_eager_and_keys_differ():
    eager = T.random_topology(KEY, 500, p=0.1)
    jitted = jax.jit(lambda k: T.random_topology(k, 500, p=0.1))(KEY)
    np.testing.assert_array_equal(eager.pre, jitted.pre)
    np.testing.assert_array_equal(eager.post, jitted.post)
    other = T.random_topology(jax.random.key(1), 500, p=0.1)
    assert not np.array_equal(eager.post, other.post)


# --- fixed degrees -----------------------------------------------------------------------


@pytest.mark.parametrize("n_post, autapse", [(None, False), (70, True), (None, True)])
def test_fixed_indegree_and_outdegree_are_exact(n_post, autapse, block_size):
    conn = T.fixed_indegree(KEY, 100, n_post, k=12, allow_autapse=autapse, block_size=block_size)
    assert_exact(conn, 12 * (n_post or 100), autapses=autapse or n_post is not None)
    assert np.all(np.asarray(conn.in_degree()) == 12)
    conn = T.fixed_outdegree(KEY, 100, n_post, k=9, allow_autapse=autapse, block_size=block_size)
    assert_exact(conn, 9 * 100, autapses=autapse or n_post is not None)
    assert np.all(np.asarray(conn.out_degree()) == 9)


def test_all_partners_and_nearly_all_are_fast_and_exact():
    # k = n - 1 without autapses: every pair but the diagonal (picks the 0 left out)
    conn = T.fixed_outdegree(KEY, 300, None, k=299)
    assert_exact(conn, 300 * 299)
    conn = T.fixed_indegree(KEY, 300, 200, k=299)
    assert_exact(conn, 200 * 299, autapses=True)
    assert np.all(np.asarray(conn.in_degree()) == 299)


@pytest.mark.parametrize("k", [4, 2, 15])
def test_fixed_indegree_partners_are_uniform(k, block_size):
    # which pre neurons the first and the last post receive from, over many draws: uniform over
    # the 19 others (with tiny blocks and k = 2, the last post is in the block moved back)
    assert_exact(T.fixed_indegree(KEY, 20, None, k=k, block_size=block_size), 20 * k)
    keys = jax.random.split(KEY, 3000)
    conns = jax.vmap(lambda key: T.fixed_indegree(key, 20, None, k=k, block_size=block_size))(keys)
    pres, posts = np.asarray(conns.pre), np.asarray(conns.post)
    for post in (0, 19):
        counts = np.bincount(pres[posts == post], minlength=20)
        assert counts[post] == 0 and counts.sum() == 3000 * k
        others = np.delete(counts, post)
        assert chi_square_pvalue(others, np.full(19, others.sum() / 19)) > P_FLOOR


# --- distance_topology ----------------------------------------------------------------------


def test_empty_requests_give_empty_connectivity():
    xy = jnp.zeros((5, 2))
    for conn in (
        T.distance_topology(KEY, xy, profile=profiles.gaussian(1.0), k=0),
        T.fixed_indegree(KEY, 5, 0, 2),
        T.fixed_outdegree(KEY, 0, 5, 2),
        T.random_topology(KEY, 5, n_syn=0),
        T.with_weights(KEY, T.random_topology(KEY, 5, n_syn=0), ji.normal(), block_size=4),
        T.balanced_ei_network(KEY, 1, 2, 1, p=0.1, f=0.5, mu_e=1.0, sigma_0=0.1)[1],  # round(4 · 0.1) = 0
    ):
        assert conn.nnz == 0 and conn.pre.dtype == jnp.int32


@pytest.mark.parametrize("n, k", [(101, 3), (64, 1)])
def test_distance_topology_is_exact_in_any_blocks(n, k, block_size):
    # with tiny blocks, 101 posts in blocks of 2 make the last block move back
    xy = jax.random.uniform(jax.random.key(8), (n, 2), maxval=100.0)
    conn = T.distance_topology(KEY, xy, profile=profiles.exponential(30.0), k=k, chunk=16, block_size=block_size)
    assert_exact(conn, n * k)
    assert np.all(np.asarray(conn.in_degree()) == k)


def test_distance_topology_degrees_and_no_autapses():
    xy = jax.random.uniform(jax.random.key(1), (600, 2), maxval=1000.0)
    conn = T.distance_topology(KEY, xy, profile=profiles.gaussian(150.0), k=20, chunk=64)
    assert_exact(conn, 600 * 20)
    assert np.all(np.asarray(conn.in_degree()) == 20)
    # partners are near: the mean synapse distance is far below the mean pair distance
    d = np.asarray(T.synapse_distances(conn, xy))
    assert d.mean() < 0.5 * np.asarray(profiles.pairwise_distances(xy, xy)).mean()


def test_distance_topology_probability_is_proportional_to_the_profile():
    pre = jnp.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
    post = jnp.array([[0.0]])
    profile = profiles.exponential(1.0)
    keys = jax.random.split(KEY, 20_000)
    chosen = jax.vmap(lambda k: T.distance_topology(k, pre, post, profile=profile, k=1).pre)(keys)
    counts = np.bincount(np.asarray(chosen).ravel(), minlength=5)
    weights = np.exp(-np.array([0.0, 1.0, 2.0, 3.0, 10.0]))
    assert chi_square_pvalue(counts, weights / weights.sum() * 20_000) > P_FLOOR


@pytest.mark.parametrize("k", [1, 2])
def test_distance_topology_through_cells_follows_the_successive_sampling_law(k):
    # 200 pre neurons on a line, 2000 post neurons at x = 100, profile exp(-d) cut at 4.5: the
    # spatial cells hold pres 96..104 as candidates; each post draws k of them without
    # replacement by weight. k = 1: P(i) = w_i / W; k = 2: P({i, j}) = w_i w_j / W (1/(W - w_i) +
    # 1/(W - w_j)). Chi-square over 5 keys x 2000 posts at P_FLOOR.
    from jaxinit.topology import _proximity, _spatial

    pre = jnp.arange(200.0)[:, None]
    post = jnp.full((2000, 1), 100.0)
    profile = profiles.exponential(1.0, max_distance=4.5)
    split = _spatial.split_callable("test", "profile", profile, "")
    w = np.exp(-np.abs(np.arange(96, 105) - 100.0))
    W = w.sum()
    counts = {}
    for key in jax.random.split(KEY, 5):
        chosen, shortfall = _proximity.topk_through_cells("test", key, profile, pre, post, None, None, split, k, False)
        picks = np.sort(np.asarray(chosen)[: 2000 * k].reshape(2000, k), axis=1)
        assert int(shortfall[2]) == 0 and picks.min() >= 96 and picks.max() <= 104
        for row in map(tuple, picks.tolist()):
            counts[row] = counts.get(row, 0) + 1
    if k == 1:
        sets = [(i,) for i in range(96, 105)]
        p = w / W
    else:
        sets = [(i, j) for i in range(96, 105) for j in range(i + 1, 105)]
        wi = {i: w[i - 96] for i in range(96, 105)}
        p = np.array([wi[i] * wi[j] / W * (1 / (W - wi[i]) + 1 / (W - wi[j])) for i, j in sets])
    observed = np.array([counts.get(s_, 0) for s_ in sets])
    assert observed.sum() == 10_000
    expected = p / p.sum() * 10_000
    big = expected >= 5  # chi-square needs expected counts of 5 or more; pool the rest
    if not big.all():
        observed = np.append(observed[big], observed[~big].sum())
        expected = np.append(expected[big], expected[~big].sum())
    assert chi_square_pvalue(observed, expected) > P_FLOOR


def test_distance_topology_with_a_cut_takes_the_cells_and_stays_exact():
    # a cut profile on concrete positions: the public builder draws through the cells (the same
    # synapses as the cells path), exactly k per post, no autapses, none beyond the cut
    from jaxinit.topology import _proximity, _spatial
    from jaxinit.topology._sampling import to_pre_major

    xy = jax.random.uniform(jax.random.key(4), (1500, 2), maxval=1.0)
    profile = profiles.gaussian(0.03, max_distance=0.09)
    conn = T.distance_topology(KEY, xy, profile=profile, k=8, box=1.0)
    assert_exact(conn, 1500 * 8)
    assert np.all(np.asarray(conn.in_degree()) == 8)
    assert float(T.synapse_distances(conn, xy, box=1.0).max()) <= 0.09
    split = _spatial.split_callable("test", "profile", profile, "")
    box = jnp.asarray(1.0)
    chosen, _ = _proximity.topk_through_cells("test", KEY, profile, xy, xy, box, None, split, 8, True)
    pre, post = to_pre_major(chosen[: 1500 * 8], 1500, 1500, 8, 1 << 18)
    np.testing.assert_array_equal(np.asarray(conn.pre), np.asarray(pre))
    np.testing.assert_array_equal(np.asarray(conn.post), np.asarray(post))


def test_distance_topology_with_units_and_a_periodic_box():
    import brainunit as u

    xy = jax.random.uniform(jax.random.key(2), (200, 2), maxval=1.0)
    conn = T.distance_topology(KEY, xy * u.mm, profile=profiles.gaussian(100 * u.um), k=5, box=1.0 * u.mm)
    assert_exact(conn, 1000)


# --- values per synapse ----------------------------------------------------------------------


def test_synapse_distances_match_the_dense_matrix():
    xy = jax.random.uniform(jax.random.key(3), (300, 2), maxval=500.0)
    conn = T.random_topology(KEY, 300, p=0.05)
    captured = {}

    def spy(key, shape, dtype=None, distances=None, **ctx):
        captured["d"] = distances
        return jnp.zeros(shape)

    T.synapse_values(KEY, conn, spy, xy, box=500.0)
    dense = np.asarray(profiles.pairwise_distances(xy, xy, box=500.0))
    np.testing.assert_allclose(captured["d"], dense[np.asarray(conn.pre), np.asarray(conn.post)], rtol=1e-5)


def test_with_weights_distance_modulated_lognormal_in_units():
    import brainunit as u

    xy = jax.random.uniform(jax.random.key(4), (400, 2), maxval=500.0) * u.um
    conn = T.random_topology(KEY, 400, p=0.1)
    init = ji.modulate_by_distance(ji.lognormal(0.5 * u.nS, 0.2 * u.nS), profiles.gaussian(0.1 * u.mm), 0.01 * u.nS)
    weighted = T.with_weights(jax.random.key(5), conn, init, xy)
    assert weighted.weight.unit == u.nS and weighted.weight.shape == (conn.nnz,)
    assert float(weighted.weight.mantissa.min()) >= 0.01 * (1 - 1e-6)
    np.testing.assert_array_equal(weighted.pre, conn.pre)


def _distances_as_values(key, shape, dtype=None, distances=None, **ctx):
    return distances


@pytest.mark.parametrize("block_size", [None, 1000, 999_999])
def test_block_wise_values_see_their_own_synapses_distances(block_size):
    import brainunit as u

    xy = jax.random.uniform(jax.random.key(3), (300, 2), maxval=500.0)
    conn = T.random_topology(KEY, 300, p=0.05)
    values = T.synapse_values(KEY, conn, _distances_as_values, xy * u.um, box=500.0 * u.um, block_size=block_size)
    dense = np.asarray(profiles.pairwise_distances(xy, xy, box=500.0))
    assert values.unit == u.um
    np.testing.assert_allclose(values.mantissa, dense[np.asarray(conn.pre), np.asarray(conn.post)], rtol=1e-5)


def test_block_wise_values_have_the_distribution():
    conn = T.random_topology(KEY, 1000, n_syn=50_000)
    values = np.asarray(T.synapse_values(jax.random.key(7), conn, ji.normal(2.0, 3.0), block_size=4096))
    assert stats.kstest(values, stats.norm(2.0, 3.0).cdf).pvalue > P_FLOOR
    # blocks draw independently: neighbouring blocks (and the last, moved back) are uncorrelated
    assert abs(np.corrcoef(values[:4096], values[4096:8192])[0, 1]) < 5 / math.sqrt(4096)
    assert abs(np.corrcoef(values[-4096:], values[-8192:-4096])[0, 1]) < 5 / math.sqrt(4096)


def test_block_wise_values_jit_equals_eager_and_vmap_equals_loop():
    conn = T.random_topology(KEY, 200, n_syn=3000)
    init = ji.mixture([ji.normal(1.0, 0.1), ji.lognormal(2.0, 0.5)], [0.3, 0.7])

    def draw(key):
        return T.synapse_values(key, conn, init, block_size=256)

    eager = draw(KEY)
    np.testing.assert_array_equal(jax.jit(draw)(KEY), eager)
    keys = jax.random.split(KEY, 3)
    np.testing.assert_array_equal(jax.vmap(draw)(keys), np.stack([draw(k) for k in keys]))


def test_one_block_is_the_plain_draw():
    conn = T.random_topology(KEY, 100, n_syn=500)
    plain = T.synapse_values(KEY, conn, ji.normal())
    np.testing.assert_array_equal(T.synapse_values(KEY, conn, ji.normal(), block_size=500), plain)
    np.testing.assert_array_equal(ji.normal()(KEY, (500,)), plain)


# --- E/I networks -------------------------------------------------------------------------------


def test_excitatory_inhibitory_counts_and_dale():
    n = 1000
    conn = T.excitatory_inhibitory(KEY, n, 0.8, 0.1, 0.2, ji.normal(0.5, 0.5), ji.normal(-1.0, 1.0))
    pre = np.asarray(conn.pre)
    assert np.sum(pre < 800) == round(0.1 * 800 * (n - 1))
    assert np.sum(pre >= 800) == round(0.2 * 200 * (n - 1))
    assert_exact(conn, conn.nnz)
    w = np.asarray(conn.weight)
    assert np.all(w[pre < 800] >= 0) and np.all(w[pre >= 800] <= 0)
    # magnitudes: |N(0.5, 0.5²)| has the folded-normal mean
    folded = stats.foldnorm(1.0, scale=0.5)
    assert abs(w[pre < 800].mean() - folded.mean()) < 5 * folded.std() / math.sqrt((pre < 800).sum())


def test_balanced_network_means_and_shapes(block_size):
    n, p, f, mu_e, sigma = 2000, 0.1, 0.8, 1.0, 0.2
    w_in, w_rec, w_out = T.balanced_ei_network(KEY, 50, n, 3, p, f, mu_e, sigma, block_size=block_size)
    assert w_in.shape == (n, 50) and w_out.shape == (3, n)
    assert_exact(w_rec, round(n * n * p))
    pre, w = np.asarray(w_rec.pre), np.asarray(w_rec.weight, np.float64)
    scale = math.sqrt(n * p)
    exc, inh = pre < round(n * f), pre >= round(n * f)
    se = sigma / scale
    assert abs(w[exc].mean() - mu_e / scale) < 5 * se / math.sqrt(exc.sum())
    assert abs(w[inh].mean() - (-f / (1 - f) * mu_e / scale)) < 5 * se / math.sqrt(inh.sum())
    assert abs(w[exc].std() - se) < 5 * se / math.sqrt(2 * exc.sum())
    assert abs(float(np.std(w_in)) - 1 / math.sqrt(50)) < 5 / math.sqrt(50) / math.sqrt(2 * w_in.size)


@pytest.mark.parametrize("f, inhibitory_mean", [(0.0, -1.0), (1.0, None)])
def test_balanced_network_special_cases(f, inhibitory_mean):
    _, w_rec, _ = T.balanced_ei_network(KEY, 1, 500, 1, 0.2, f, 1.0, 0.0)
    w = np.asarray(w_rec.weight) * math.sqrt(500 * 0.2)
    if inhibitory_mean is None:
        np.testing.assert_allclose(w, 1.0, rtol=1e-5)  # every neuron excitatory
    else:
        np.testing.assert_allclose(w, inhibitory_mean, rtol=1e-5)  # every neuron inhibitory, mu_i = -mu_e


# --- helpers against dense references ------------------------------------------------------------


def test_helpers_agree_with_dense_references():
    conn = T.with_weights(jax.random.key(6), T.random_topology(KEY, 60, 40, p=0.2), ji.normal())
    dense = np.zeros((60, 40), np.float32)
    dense[np.asarray(conn.pre), np.asarray(conn.post)] = np.asarray(conn.weight)
    np.testing.assert_array_equal(conn.to_dense(), dense)
    np.testing.assert_array_equal(conn.to_scipy().toarray(), dense)
    np.testing.assert_array_equal(conn.to_bcoo().todense(), dense)
    np.testing.assert_array_equal(conn.out_degree(), (dense != 0).sum(axis=1))
    np.testing.assert_array_equal(conn.in_degree(), (dense != 0).sum(axis=0))
    np.testing.assert_array_equal(conn.indptr, np.searchsorted(np.asarray(conn.pre), np.arange(61)))
    x = np.random.default_rng(0).normal(size=40).astype(np.float32)
    np.testing.assert_allclose(conn.to_bcoo() @ x, dense @ x, rtol=1e-5, atol=1e-5)


def test_connectivity_is_a_pytree():
    conn = T.random_topology(KEY, 30, n_syn=50)
    leaves = jax.tree_util.tree_leaves(conn)
    assert len(leaves) == 2
    doubled = jax.jit(lambda c: c)(conn)
    assert doubled.n_pre == 30 and doubled.nnz == 50


# --- bad input ----------------------------------------------------------------------------------


def _values_for_huge_network():
    # 2·10¹⁰ synapses, abstract under eval_shape: nothing is allocated before the check
    index = jnp.zeros(20_000_000_000, jnp.int32)
    return T.synapse_values(KEY, T.Connectivity(index, index, n_pre=200_000, n_post=200_000), ji.normal())


BAD = [
    (
        lambda: T.synapse_values(KEY, T.random_topology(KEY, 10, n_syn=5), ji.normal(), block_size=0),
        ValueError,
        "block_size must be >= 1, got 0",
    ),
    (lambda: T.random_topology(KEY, 10, n_syn=91), ValueError, "n_syn must be <= the 90 allowed pairs"),
    (lambda: T.random_topology(KEY, 10, p=1.5), ValueError, r"p must be in \[0, 1\]"),
    (lambda: T.random_topology(KEY, 10), ValueError, "give exactly one of n_syn"),
    (lambda: T.random_topology(KEY, 10, n_syn=5, p=0.1), ValueError, "give exactly one of n_syn"),
    (lambda: T.random_topology(KEY, -1, n_syn=0), ValueError, "n_pre must be >= 0, got -1"),
    (lambda: T.random_topology(KEY, 10.5, n_syn=0), TypeError, "n_pre must be an int"),
    (lambda: T.fixed_indegree(KEY, 10, None, k=10), ValueError, r"k must be <= n_pre - 1 = 9 \(no autapses\)"),
    (lambda: T.fixed_outdegree(KEY, 10, 5, k=6), ValueError, "k must be <= n_post = 5"),
    (
        lambda: T.distance_topology(KEY, jnp.zeros((5, 2)), jnp.zeros((4, 3)), profile=profiles.gaussian(1.0), k=1),
        ValueError,
        "differ in dimension",
    ),
    (
        lambda: T.distance_topology(KEY, jnp.zeros((5, 2)), profile=profiles.gaussian(1.0), k=5),
        ValueError,
        "k must be <= 4",
    ),
    (lambda: T.balanced_ei_network(KEY, 1, 10, 1, 1.0, 0.8, 1.0, 0.1), ValueError, "exceed the 90 pairs"),
    (lambda: T.balanced_ei_network(KEY, 1, 10, 1, 0.1, 1.2, 1.0, 0.1), ValueError, r"f must be in \[0, 1\]"),
    (lambda: T.excitatory_inhibitory(KEY, 10, p_exc=-0.1), ValueError, r"p_exc must be in \[0, 1\]"),
    (lambda: T.random_topology(KEY, 100_000, n_syn=200_000_000), MemoryError, "GiB while building"),
    (lambda: T.random_topology(KEY, 10_000_000, p=0.5), ValueError, r"more than the 2\*\*31 - 1 that int32"),
    (lambda: jax.eval_shape(_values_for_huge_network), MemoryError, "pass block_size=2"),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_input_fails_before_any_work(call, error, message, monkeypatch):
    monkeypatch.setenv("JAXINIT_MEMORY_LIMIT", "1GiB")  # the guard's limit, the same on every machine
    with pytest.raises(error, match=message):
        call()

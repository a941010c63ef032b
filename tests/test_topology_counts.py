"""Count rules (issue 12 item 1): pairwise_bernoulli, draws with replacement, one_to_one,
all_to_all; and their size-generic kernels (issue 11 item 3).

Statistical tests use fixed keys (deterministic) and a p-value floor of 1e-4: with
independent keys each would fail with probability 1e-4; moment checks allow 5 standard
errors.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxinit as ji
from jaxinit.topology import (
    Connectivity,
    all_to_all,
    fixed_indegree,
    fixed_outdegree,
    one_to_one,
    pairwise_bernoulli,
    random_topology,
    with_delays,
    with_weights,
)
from jaxinit.topology._sampling import capacity_for, trim
from tests.helpers import count_compilations

P_FLOOR = 1e-4
KEY = jax.random.key(0)


def keys(n, seed=0):
    return jax.random.split(jax.random.key(seed), n)


def dense(conn: Connectivity) -> np.ndarray:
    """The synapse-count matrix in NumPy (no XLA program per synapse count)."""
    out = np.zeros((conn.n_pre, conn.n_post))
    np.add.at(out, (np.asarray(conn.pre), np.asarray(conn.post)), 1)
    return out


def assert_valid(conn: Connectivity, *, recurrent_no_autapse: bool = False, distinct: bool = False):
    pre, post = np.asarray(conn.pre), np.asarray(conn.post)
    assert conn.pre.dtype == jnp.int32 and conn.post.dtype == jnp.int32
    assert pre.shape == post.shape == (conn.nnz,)
    if conn.nnz:
        assert pre.min() >= 0 and pre.max() < conn.n_pre and post.min() >= 0 and post.max() < conn.n_post
    flat = pre.astype(np.int64) * conn.n_post + post
    assert np.all(np.diff(flat) >= 0), "not sorted by (pre, post)"
    if distinct:
        assert np.all(np.diff(flat) > 0), "repeated pair"
    if recurrent_no_autapse:
        assert not np.any(pre == post)


# --- deterministic rules ----------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 5, 1030])
def test_one_to_one_exact(n):
    conn = one_to_one(n)
    assert (conn.n_pre, conn.n_post, conn.nnz) == (n, n, n)
    np.testing.assert_array_equal(conn.pre, np.arange(n))
    np.testing.assert_array_equal(conn.post, np.arange(n))
    assert_valid(conn, distinct=True)


@pytest.mark.parametrize(
    "n_pre,n_post,allow_autapse", [(0, None, False), (1, None, False), (1, None, True), (4, None, False), (7, 3, False)]
)
def test_all_to_all_exact(n_pre, n_post, allow_autapse):
    conn = all_to_all(n_pre, n_post, allow_autapse)
    dense = np.ones((n_pre, n_pre if n_post is None else n_post))
    if n_post is None and not allow_autapse:
        np.fill_diagonal(dense, 0)
    np.testing.assert_array_equal(conn.to_dense(), dense)
    assert_valid(conn, distinct=True)


def test_deterministic_rules_jit_equal_eager():
    for build in (lambda: one_to_one(33), lambda: all_to_all(9), lambda: all_to_all(4, 6)):
        eager, jitted = build(), jax.jit(build)()
        np.testing.assert_array_equal(eager.pre, jitted.pre)
        np.testing.assert_array_equal(eager.post, jitted.post)


# --- pairwise_bernoulli ---------------------------------------------------------------------


def test_pairwise_bernoulli_count_law():
    """Counts over keys: mean and variance of Binomial(allowed, p), and a chi-square of the
    count histogram against the binomial pmf."""
    n_pre, n_post, p, n_keys = 60, 50, 0.01, 400
    allowed = n_pre * n_post
    counts = np.array([pairwise_bernoulli(k, n_pre, n_post, p=p).nnz for k in keys(n_keys)])
    mean, var = allowed * p, allowed * p * (1 - p)
    assert abs(counts.mean() - mean) < 5 * np.sqrt(var / n_keys)
    # the standard error of a sample variance: sqrt((mu4 - var**2 (n-3)/(n-1)) / n), ~ var sqrt(2/n)
    assert abs(counts.var(ddof=1) - var) < 5 * var * np.sqrt(2 / (n_keys - 1)) * 1.1
    edges = np.arange(int(mean - 3 * np.sqrt(var)), int(mean + 3 * np.sqrt(var)) + 1)
    observed = np.array([np.sum(counts < edges[0])] + [np.sum(counts == e) for e in edges] + [0])
    observed[-1] = n_keys - observed[:-1].sum()
    cdf = stats.binom.cdf
    expected = np.concatenate(
        [[cdf(edges[0] - 1, allowed, p)], stats.binom.pmf(edges, allowed, p), [1 - cdf(edges[-1], allowed, p)]]
    )
    assert stats.chisquare(observed, expected * n_keys / expected.sum()).pvalue > P_FLOOR


@pytest.mark.parametrize(
    "n_pre,n_post,p,n_keys",
    [
        (20, 20, 0.02, 500),  # a subset of linear indices
        (5, None, 0.8, 300),  # recurrent, past p = 1/2: the complement of a subset
    ],
)
def test_pairwise_bernoulli_pair_inclusion(n_pre, n_post, p, n_keys):
    """Every allowed pair is included with probability p (chi-square over the grid), never a
    forbidden one; outputs sorted, distinct, int32, in range."""
    conns = [pairwise_bernoulli(k, n_pre, n_post, p=p) for k in keys(n_keys, seed=1)]
    assert_each_pair_with_probability(conns, p, recurrent=n_post is None)


def assert_each_pair_with_probability(conns: list[Connectivity], p: float, recurrent: bool):
    """Over the builds ``conns`` (one per key; ``recurrent``: no autapse), each allowed pair's
    count is Binomial(builds, p): the standardized squares sum to ~ chi2(cells), checked in
    both tails; never a forbidden pair; each build sorted, distinct, int32, in range."""
    n_keys = len(conns)
    total = 0
    for conn in conns:
        assert_valid(conn, recurrent_no_autapse=recurrent, distinct=True)
        total = total + dense(conn)
    allowed = np.ones_like(total, bool)
    if recurrent:
        np.fill_diagonal(allowed, False)
        assert total[~allowed].sum() == 0
    observed = total[allowed]
    chi2 = np.sum((observed - n_keys * p) ** 2 / (n_keys * p * (1 - p)))
    assert stats.chi2.sf(chi2, observed.size) > P_FLOOR
    assert stats.chi2.cdf(chi2, observed.size) > P_FLOOR


def test_pairwise_bernoulli_large_space_marginals():
    """Past 2**16 pairs (distinct draws): pre and post marginals uniform (chi-square), and
    the count law's mean."""
    n_pre, n_post, p, n_keys = 300, 250, 0.004, 150
    pre_counts, post_counts, nnz = np.zeros(n_pre), np.zeros(n_post), []
    for k in keys(n_keys, seed=5):
        conn = pairwise_bernoulli(k, n_pre, n_post, p=p)
        assert_valid(conn, distinct=True)
        pre_counts += np.bincount(np.asarray(conn.pre), minlength=n_pre)
        post_counts += np.bincount(np.asarray(conn.post), minlength=n_post)
        nnz.append(conn.nnz)
    mean, var = n_pre * n_post * p, n_pre * n_post * p * (1 - p)
    assert abs(np.mean(nnz) - mean) < 5 * np.sqrt(var / n_keys)
    assert stats.chisquare(pre_counts).pvalue > P_FLOOR
    assert stats.chisquare(post_counts).pvalue > P_FLOOR


def test_pairwise_bernoulli_dense_large_space():
    """Past 2**16 pairs and p > 1/64 (a draw per pair): each of the 89,700 allowed pairs of a
    recurrent population is in Binomial(60, 0.3) of 60 builds (chi-square of the standardized
    squares, both tails at P_FLOOR), the total count's mean within 5 sd, no autapse, sorted and
    distinct; p = 1 gives every allowed pair; a second size of the same capacity class compiles
    nothing."""
    n, p, n_keys = 300, 0.3, 60
    total, nnz = np.zeros((n, n)), []
    for k in keys(n_keys, seed=8):
        conn = pairwise_bernoulli(k, n, p=p)
        assert_valid(conn, recurrent_no_autapse=True, distinct=True)
        total += dense(conn)
        nnz.append(conn.nnz)
    allowed = ~np.eye(n, dtype=bool)
    assert total[~allowed].sum() == 0
    chi2 = np.sum((total[allowed] - n_keys * p) ** 2 / (n_keys * p * (1 - p)))
    assert stats.chi2.sf(chi2, allowed.sum()) > P_FLOOR and stats.chi2.cdf(chi2, allowed.sum()) > P_FLOOR
    mean, var = allowed.sum() * p, allowed.sum() * p * (1 - p)
    assert abs(np.mean(nnz) - mean) < 5 * np.sqrt(var / n_keys)
    np.testing.assert_array_equal(pairwise_bernoulli(KEY, n, p=1.0).to_dense(), allowed.astype(np.float32))
    pairwise_bernoulli(KEY, 290, p=0.3)
    with count_compilations() as compiled:
        pairwise_bernoulli(KEY, 295, p=0.29)
    assert compiled == []


def test_random_topology_small_dense_requests_converge():
    """The exact k-subset sampler on small, dense requests (the surplus of candidates a
    large share of them): every key succeeds and pairs stay uniform."""
    total = np.zeros((5, 5))
    for k in keys(120, seed=6):
        conn = random_topology(k, 5, n_syn=5)
        assert_valid(conn, recurrent_no_autapse=True, distinct=True)
        total += dense(conn)
    assert stats.chisquare(total[~np.eye(5, dtype=bool)]).pvalue > P_FLOOR


def test_pairwise_bernoulli_edges_and_large_spaces():
    assert pairwise_bernoulli(KEY, 0, 5, p=0.5).nnz == 0
    assert pairwise_bernoulli(KEY, 30, p=0.0).nnz == 0
    assert pairwise_bernoulli(KEY, 1, p=1.0).nnz == 0  # a single neuron, no autapse
    full = pairwise_bernoulli(KEY, 6, p=1.0)
    np.testing.assert_array_equal(full.to_dense(), 1 - np.eye(6))
    assert pairwise_bernoulli(KEY, 6, p=1.0, allow_autapse=True).nnz == 36
    # 4e12 pairs with x64 off: the count is exact, the indices stay in int32 range
    conn = pairwise_bernoulli(KEY, 2_000_000, p=5e-10)
    assert abs(conn.nnz - 2000) < 5 * np.sqrt(2000)
    assert_valid(conn, recurrent_no_autapse=True, distinct=True)


def test_pairwise_bernoulli_bad_input():
    with pytest.raises(ValueError, match=r"pairwise_bernoulli: p .*\[0, 1\].*1.5"):
        pairwise_bernoulli(KEY, 10, p=1.5)
    with pytest.raises(ValueError, match="pairwise_bernoulli: n_pre must be >= 0, got -1"):
        pairwise_bernoulli(KEY, -1, p=0.1)
    with pytest.raises(TypeError, match="pairwise_bernoulli: n_post must be an int"):
        pairwise_bernoulli(KEY, 10, 2.5, p=0.1)
    with pytest.raises(ValueError, match="pairwise_bernoulli: p=0.9 .* 2\\*\\*31"):
        pairwise_bernoulli(KEY, 100_000, p=0.9)
    with pytest.raises(TypeError, match="pairwise_bernoulli: key must be concrete"):
        jax.jit(lambda k: pairwise_bernoulli(k, 10, p=0.1).pre)(KEY)
    with pytest.raises(TypeError, match="pairwise_bernoulli: p must be a concrete number"):
        jax.jit(lambda p: pairwise_bernoulli(KEY, 10, p=p).pre)(0.1)


# --- draws with replacement -------------------------------------------------------------------


def test_random_topology_multapses_uniform_pairs():
    """n_syn independent uniform pairs: every allowed pair equally often (chi-square), repeats
    adjacent, exactly n_syn synapses even beyond the number of allowed pairs."""
    n, n_syn, n_keys = 4, 50, 200  # 12 allowed pairs, so most networks repeat pairs
    build = jax.vmap(lambda k: random_topology(k, n, n_syn=n_syn, multapses=True))
    stacked = build(keys(n_keys, seed=2))
    assert stacked.pre.shape == (n_keys, n_syn)
    total = np.zeros((n, n))
    for i in range(n_keys):
        conn = Connectivity(stacked.pre[i], stacked.post[i], n_pre=n, n_post=n)
        assert_valid(conn, recurrent_no_autapse=True)
        total += dense(conn)
    allowed = ~np.eye(n, dtype=bool)
    assert total[~allowed].sum() == 0 and total.sum() == n_keys * n_syn
    assert stats.chisquare(total[allowed]).pvalue > P_FLOOR


def test_random_topology_multapses_past_32_bits_of_pairs():
    """70,000 x 69,999 allowed pairs do not pack into 32 bits: the rows are cut into blocks (here
    12 blocks of 6,116 rows, about 2**18 synapses each) with multinomial counts. Exactly n_syn
    synapses, sorted, no autapse; pre and post uniform over 14 bins of 5,000 neurons (bins
    straddle block edges), chi-square at P_FLOOR each; the self-pair rule holds across the
    block edges."""
    n, n_syn = 70_000, 3_000_000  # ~5 autapses expected in the second block if its offset were lost
    conn = random_topology(KEY, n, n_syn=n_syn, multapses=True)
    assert conn.nnz == n_syn
    assert_valid(conn, recurrent_no_autapse=True)
    pre, post = np.asarray(conn.pre), np.asarray(conn.post)
    assert stats.chisquare(np.bincount(pre // 5000, minlength=14)).pvalue > P_FLOOR
    assert stats.chisquare(np.bincount(post // 5000, minlength=14)).pvalue > P_FLOOR


def test_random_topology_multapses_repeats_at_binomial_rate():
    """The number of distinct pairs among n_syn draws from M cells has mean M (1 - (1 - 1/M)^n)."""
    n_pre, n_post, n_syn, n_keys = 10, 10, 100, 300
    stacked = jax.vmap(lambda k: random_topology(k, n_pre, n_post, n_syn=n_syn, multapses=True))(keys(n_keys, 3))
    flat = np.asarray(stacked.pre) * n_post + np.asarray(stacked.post)
    distinct = np.array([np.unique(row).size for row in flat])
    m = n_pre * n_post
    mean = m * (1 - (1 - 1 / m) ** n_syn)
    var = m * (1 - 1 / m) ** n_syn + m * (m - 1) * (1 - 2 / m) ** n_syn - (m * (1 - 1 / m) ** n_syn) ** 2
    assert abs(distinct.mean() - mean) < 5 * np.sqrt(var / n_keys)


@pytest.mark.parametrize("rule", [fixed_indegree, fixed_outdegree])
@pytest.mark.parametrize("n_pre,n_post,k", [(5, None, 7), (6, 4, 3)])
def test_fixed_degree_multapses(rule, n_pre, n_post, k):
    """Exact degrees (k may exceed the candidates), partners uniform (chi-square), sorted."""
    by_post = rule is fixed_indegree
    n_keys = 150
    stacked = jax.vmap(lambda key: rule(key, n_pre, n_post, k, multapses=True))(keys(n_keys, 4))
    n_post_ = n_pre if n_post is None else n_post
    total = np.zeros((n_pre, n_post_))
    for i in range(n_keys):
        conn = Connectivity(stacked.pre[i], stacked.post[i], n_pre=n_pre, n_post=n_post_)
        assert_valid(conn, recurrent_no_autapse=n_post is None)
        degrees = conn.in_degree() if by_post else conn.out_degree()
        np.testing.assert_array_equal(degrees, k)
        total += dense(conn)
    allowed = np.ones_like(total, bool)
    if n_post is None:
        np.fill_diagonal(allowed, False)
    assert total[~allowed].sum() == 0
    # per owner, its n_keys * k partners are uniform over its candidates
    owners = total.T if by_post else total
    mask = allowed.T if by_post else allowed
    for counts, ok in zip(owners, mask, strict=True):
        assert stats.chisquare(counts[ok]).pvalue > P_FLOOR / owners.shape[0]


@pytest.mark.parametrize("rule", [fixed_indegree, fixed_outdegree])
def test_fixed_degree_multapses_past_32_bits_of_pairs(rule):
    """70,000 neurons: pairs do not pack into 32 bits, so the rows are drawn in blocks with
    replacement and put in order by the distinct rule's counting sort. Exact degrees, sorted,
    no autapse; partners uniform over 14 bins (chi-square); repeated pairs (adjacent) at the
    rate of draws with replacement: Poisson with mean n · C(k, 2) / (n - 1), within 5 sd."""
    n, k = 70_000, 12
    conn = rule(KEY, n, None, k, multapses=True, block_size=1 << 16)
    assert conn.nnz == n * k
    assert_valid(conn, recurrent_no_autapse=True)
    degrees = conn.in_degree() if rule is fixed_indegree else conn.out_degree()
    assert (np.asarray(degrees) == k).all()
    partners = np.asarray(conn.pre if rule is fixed_indegree else conn.post)
    assert stats.chisquare(np.bincount(partners // 5000, minlength=14)).pvalue > P_FLOOR
    pre, post = np.asarray(conn.pre), np.asarray(conn.post)
    repeats = int(np.sum((pre[1:] == pre[:-1]) & (post[1:] == post[:-1])))
    mean = n * k * (k - 1) / 2 / (n - 1)
    assert abs(repeats - mean) < 5 * np.sqrt(mean), (repeats, mean)


def test_multapse_builders_jit_equal_eager():
    builders = [
        lambda k: random_topology(k, 30, 20, n_syn=500, multapses=True),
        lambda k: fixed_indegree(k, 30, None, 40, multapses=True),
        lambda k: fixed_outdegree(k, 30, 8, 5, allow_autapse=True, multapses=True),
        lambda k: fixed_indegree(k, 70_000, 66_000, 1, multapses=True),  # blocks past 32 bits of pairs
    ]
    for build in builders:
        eager, jitted = build(KEY), jax.jit(build)(KEY)
        np.testing.assert_array_equal(eager.pre, jitted.pre)
        np.testing.assert_array_equal(eager.post, jitted.post)


def test_multapse_empty_requests_and_bad_input():
    assert random_topology(KEY, 5, n_syn=0, multapses=True).nnz == 0
    assert random_topology(KEY, 0, 3, n_syn=0, multapses=True).nnz == 0
    assert fixed_indegree(KEY, 5, 0, 3, multapses=True).nnz == 0
    assert fixed_outdegree(KEY, 5, None, 0, multapses=True).nnz == 0
    with pytest.raises(ValueError, match="random_topology: n_syn=3 .* no allowed pair"):
        random_topology(KEY, 1, n_syn=3, multapses=True)
    with pytest.raises(ValueError, match="fixed_indegree: k=2 .* no allowed partner"):
        fixed_indegree(KEY, 1, None, 2, multapses=True)
    with pytest.raises(ValueError, match="random_topology: n_syn must be >= 0, got -1"):
        random_topology(KEY, 5, n_syn=-1, multapses=True)
    # without multapses the old bound holds
    with pytest.raises(ValueError, match="fixed_indegree: k must be <="):
        fixed_indegree(KEY, 5, None, 7)


# --- size-generic kernels ----------------------------------------------------------------------


def test_capacity_classes_and_trim():
    assert [capacity_for(n) for n in (0, 1, 1024, 1025, 5000, 2**20)] == [1024, 1024, 1024, 2048, 8192, 2**20]
    assert capacity_for(2**30 + 1) == 2**30 + 1
    a, b = trim((jnp.arange(8), jnp.arange(8) * 2), 3)
    assert a.tolist() == [0, 1, 2] and b.tolist() == [0, 2, 4]


KEY_9 = jax.random.key(9)  # made here: a key made inside the counted call would compile its seeding
SIZE_PAIRS = {
    "random_topology multapses": (
        lambda: random_topology(KEY, 100, n_syn=5000, multapses=True),
        lambda: random_topology(KEY, 77, n_syn=7000, multapses=True),
    ),
    "fixed_indegree multapses": (
        lambda: fixed_indegree(KEY, 100, 50, 100, multapses=True),
        lambda: fixed_indegree(KEY, 333, 70, 100, multapses=True),
    ),
    "fixed_outdegree multapses": (
        lambda: fixed_outdegree(KEY, 50, None, 100, multapses=True),
        lambda: fixed_outdegree(KEY, 70, None, 110, multapses=True),
    ),
    "all_to_all": (lambda: all_to_all(60, 70), lambda: all_to_all(80, 90)),
    "one_to_one": (lambda: one_to_one(5000), lambda: one_to_one(7000)),
    "pairwise_bernoulli sparse": (
        lambda: pairwise_bernoulli(KEY, 1000, p=0.005),
        lambda: pairwise_bernoulli(KEY_9, 1200, p=0.0045),
    ),
}


@pytest.mark.parametrize("name", list(SIZE_PAIRS))
def test_second_size_in_capacity_class_compiles_nothing(name):
    first, second = SIZE_PAIRS[name]
    a = first()
    assert capacity_for(a.nnz) == 8192  # both sizes sit in the same class
    with count_compilations() as compiled:
        b = second()
    assert capacity_for(b.nnz) == 8192 and a.nnz != b.nnz
    assert compiled == [], f"{name}: {len(compiled)} XLA compilations for a second size in the same capacity class"
    assert_valid(b)  # the padding was cut off: exact length, no sentinel


def test_with_delays_on_multapses_keeps_weights():
    conn = fixed_indegree(KEY, 20, None, 30, multapses=True)
    conn = with_delays(jax.random.key(1), with_weights(jax.random.key(2), conn, ji.ones), ji.constant(1.5))
    assert conn.delay.shape == (conn.nnz,) and float(conn.delay.mean()) == 1.5
    assert float(conn.weight.sum()) == conn.nnz

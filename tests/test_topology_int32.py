"""The 2³¹ promise for every shape of pair space (issue 10 item 12) and sizes past int32 (item 18).

The pair space may hold far more than 2³¹ pairs while indices stay int32: tall-thin spaces
(few pre neurons, ~2³¹ post neurons) used to overflow the block positions (pre == 2, pre == -1,
unsorted, or a retry loop that never ended).
"""

import jax
import numpy as np
import pytest
from scipy import stats

from jaxinit import profiles
from jaxinit import topology as T

KEY = jax.random.key(0)
P_FLOOR = 1e-3


def assert_exact(conn, n_pre, n_post, nnz, recurrent=False):
    """Exact count, int32, strictly sorted by (pre, post), in range, no autapses when recurrent."""
    pre, post = np.asarray(conn.pre, np.int64), np.asarray(conn.post, np.int64)
    assert conn.pre.dtype == np.int32 and conn.post.dtype == np.int32
    assert (conn.n_pre, conn.n_post, conn.nnz, pre.size) == (n_pre, n_post, nnz, nnz)
    assert pre.min() >= 0 and pre.max() < n_pre and post.min() >= 0 and post.max() < n_post
    assert np.all(np.diff(pre * n_post + post) > 0)
    if recurrent:
        assert np.all(pre != post)
    return pre, post


def test_tall_thin_pair_spaces_from_the_issue():
    # the user's calls: (2, 2**30 - 1) returned pre == 2 and a non-uniform law
    n_post = 1_073_741_823
    pre, post = assert_exact(T.random_topology(KEY, 2, n_post, n_syn=10**6), 2, n_post, 10**6)
    # pre 0's count is hypergeometric(2 n_post, n_post, 10**6): mean 500,000, sd ~500 (5 sd: rate 6e-7)
    law = stats.hypergeom(2 * n_post, n_post, 10**6)
    assert abs(np.sum(pre == 0) - law.mean()) < 5 * law.std()
    assert stats.kstest(post / n_post, "uniform").pvalue > P_FLOOR
    # (1, 2**31 - 1) returned 9,191 synapses with pre == -1, unsorted
    pre, post = assert_exact(T.random_topology(KEY, 1, 2**31 - 1, n_syn=10**6), 1, 2**31 - 1, 10**6)
    assert stats.kstest(post / (2**31 - 1), "uniform").pvalue > P_FLOOR
    # (44, 5e7) never finished
    pre, _ = assert_exact(T.random_topology(KEY, 44, 50_000_000, n_syn=10**6), 44, 50_000_000, 10**6)
    counts = np.bincount(pre, minlength=44)
    assert stats.chisquare(counts).pvalue > P_FLOOR


GRID = [
    (1, 2**31 - 1, 10**5),
    (2, 2**30, 10**5),
    (3, 715_827_882, 10**5),
    (10, 220_000_000, 10**6),
    (20, 110_000_000, 10**6),
    (50, 50_000_000, 10**6),
    (46_341, 46_341, 10**5),  # just past 2**31 pairs
    (46_340, 46_342, 10**4),  # just below, the independent-draw path
    (65_536, 32_768, 10**5),
    (2**30, 2, 10**5),
    (2**31 - 1, 1, 10**5),
    (50_000_000, 44, 10**6),
    (2**31 - 1, None, 10**4),  # recurrent, 4.6e18 pairs
    (46_341, None, 10**5),
]


@pytest.mark.slow
@pytest.mark.parametrize("n_pre, n_post, n_syn", GRID, ids=[f"{a}x{b}" for a, b, _ in GRID])
def test_pair_spaces_around_the_int32_limits(n_pre, n_post, n_syn):
    conn = T.random_topology(KEY, n_pre, n_post, n_syn=n_syn)
    assert_exact(conn, n_pre, n_post or n_pre, n_syn, recurrent=n_post is None)


@pytest.mark.parametrize("n_pre, n_post, n_syn", [(2, 37, 20), (1, 64, 9)])
def test_thin_pair_spaces_are_uniform(n_pre, n_post, n_syn):
    # pair inclusion frequencies over 3000 draws, with blocks of 7 elements (block edges, a moved-back block)
    keys = jax.random.split(KEY, 3000)
    conns = jax.vmap(lambda k: T.random_topology(k, n_pre, n_post, n_syn=n_syn, block_size=7))(keys)
    flat = np.asarray(conns.pre, np.int64) * n_post + np.asarray(conns.post)
    assert np.all(np.diff(flat, axis=1) > 0)
    counts = np.bincount(flat.ravel(), minlength=n_pre * n_post)
    assert stats.chisquare(counts).pvalue > P_FLOOR


BIG = 2**31
SIZES = [
    (lambda: T.random_topology(KEY, BIG, n_syn=1), "random_topology: n_pre must be < 2\\*\\*31"),
    (lambda: T.random_topology(KEY, 10, BIG, n_syn=1), "random_topology: n_post must be < 2\\*\\*31"),
    (lambda: T.random_topology(KEY, 100_000, n_syn=BIG), "random_topology: n_syn must be < 2\\*\\*31"),
    (lambda: T.fixed_indegree(KEY, 10, BIG, 1), "fixed_indegree: n_post must be < 2\\*\\*31"),
    (lambda: T.fixed_outdegree(KEY, 100_000, 100_000, 30_000), "more than the 2\\*\\*31 - 1 that int32"),
    (lambda: T.excitatory_inhibitory(KEY, BIG), "excitatory_inhibitory: n must be < 2\\*\\*31"),
    (lambda: T.balanced_ei_network(KEY, BIG, 10, 1, 0.1, 0.8, 1.0, 0.1), "n_input must be < 2\\*\\*31"),
    (
        lambda: T.distance_topology(KEY, np.zeros((5, 2)), profile=profiles.gaussian(1.0), k=BIG),
        "distance_topology: k must be < 2\\*\\*31",
    ),
]


@pytest.mark.parametrize("call, message", SIZES, ids=[m.split(":")[0] + str(i) for i, (_, m) in enumerate(SIZES)])
def test_sizes_past_int32_are_clear_errors(call, message):
    # used to be numpy's OverflowError about maxval, or a silent wrap-around
    with pytest.raises(ValueError, match=message):
        call()


def test_size_error_shows_the_value():
    with pytest.raises(ValueError, match=f"got {BIG:,}"):
        T.random_topology(KEY, BIG, n_syn=1)
    assert T.random_topology(KEY, 2**31 - 1, 1, n_syn=3).n_pre == 2**31 - 1  # the largest size works

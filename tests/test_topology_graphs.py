"""Lattices, graph models and set algebra: exact neighbour sets against brute force, laws
against their analytic distributions (z-tests at |z| < 4.89: a false failure rate of
1e-6 per check), exact invariants over many keys, and bad input.

The registry (tests/topology_cases.py) gives every builder the generic contract.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize, special, stats

from jaxinit import topology as T

KEY = jax.random.key(0)
Z = 4.89  # two-sided normal quantile for a false failure rate of 1e-6


def pairs(conn):
    return set(zip(np.asarray(conn.pre).tolist(), np.asarray(conn.post).tolist(), strict=True))


def assert_simple(conn):
    """Sorted, distinct, no autapse: the exact invariants every graph model keeps."""
    pre, post = np.asarray(conn.pre), np.asarray(conn.post)
    assert (np.lexsort((post, pre)) == np.arange(pre.size)).all()
    assert ((pre[1:] != pre[:-1]) | (post[1:] != post[:-1])).all(), "a repeated pair"
    assert not (pre == post).any(), "an autapse"


# --- lattices --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, k, bidirectional", [(1, 0, True), (7, 3, True), (12, 2, True), (9, 8, False), (6, 2, False)]
)
def test_ring_is_the_brute_force_neighbour_set(n, k, bidirectional):
    sides = (1, -1) if bidirectional else (1,)
    expected = {(i, (i + s * d) % n) for i in range(n) for d in range(1, k + 1) for s in sides}
    conn = T.ring(n, k, bidirectional)
    assert pairs(conn) == expected and conn.nnz == len(expected)
    assert_simple(conn)


def _grid_brute_force(shape, neighborhood, periodic):
    sites = list(itertools.product(*(range(s) for s in shape)))  # row-major
    expected = set()
    for (i, a), (j, b) in itertools.product(enumerate(sites), repeat=2):
        if i == j:
            continue
        steps = [abs(x - y) for x, y in zip(a, b, strict=True)]
        if periodic:
            steps = [min(d, s - d) for d, s in zip(steps, shape, strict=True)]
        if neighborhood == "moore" and max(steps) <= 1:
            expected.add((i, j))
        if neighborhood == "von_neumann" and sorted(steps)[-1] == 1 and sum(steps) == 1:
            expected.add((i, j))
    return expected


@pytest.mark.parametrize("shape", [(3, 4), (1, 5), (2, 3), (3, 2, 2), (5,), (4, 3, 3)])  # periodic (1, 5): host
@pytest.mark.parametrize("neighborhood", ["von_neumann", "moore"])
@pytest.mark.parametrize("periodic", [False, True])
def test_grid_is_the_brute_force_neighbour_set(shape, neighborhood, periodic):
    conn = T.grid(shape, neighborhood, periodic)
    assert conn.n_pre == conn.n_post == math.prod(shape)
    assert pairs(conn) == _grid_brute_force(shape, neighborhood, periodic)
    assert_simple(conn)


# --- small-world ---------------------------------------------------------------------------


def test_small_world_without_rewiring_is_the_ring_lattice():
    lattice = T.ring(50, 3)
    for seed in range(3):
        conn = T.small_world(jax.random.key(seed), 50, 6, 0.0)
        np.testing.assert_array_equal(np.asarray(conn.pre), np.asarray(lattice.pre))
        np.testing.assert_array_equal(np.asarray(conn.post), np.asarray(lattice.post))


def test_small_world_never_repeats_a_pair_or_makes_an_autapse_over_many_keys():
    # dense and heavily rewired (k = n/2 - 1, p = 0.8): replacements collide with kept
    # targets and with each other on most rows, so a sampler that drops or ignores
    # collisions shows a repeat here at once
    n, k = 30, 14
    keys = jax.random.split(KEY, 200)
    batch = jax.vmap(lambda key: T.small_world(key, n, k, 0.8))(keys)
    post = np.asarray(batch.post).reshape(len(keys), n, k)
    assert (np.diff(post, axis=2) > 0).all(), "a repeated pair (rows are sorted)"
    assert not (post == np.arange(n)[None, :, None]).any(), "an autapse"


def _lattice_kept_moments(n, k, p):
    """Mean and variance of a row's number of lattice targets present: ``r ~ Binomial(k, p)``
    rewired, ``k - r`` kept, and the ``r`` replacements a uniform ``r``-subset of the
    ``n - 1 - (k - r)`` allowed neurons, ``r`` of which are the rewired-away lattice targets."""
    mean = second = 0.0
    for r in range(k + 1):
        weight = stats.binom.pmf(r, k, p)
        back = stats.hypergeom(n - 1 - k + r, r, r) if r else None
        m1 = (k - r) + (back.mean() if back else 0.0)
        var = back.var() if back else 0.0
        mean += weight * m1
        second += weight * (var + m1**2)
    return mean, second - mean**2


@pytest.mark.parametrize("n, k, p", [(2000, 10, 0.3), (40, 12, 0.6)])
def test_small_world_keeps_lattice_synapses_by_the_exact_law(n, k, p):
    # rows are independent, so the count of lattice synapses present over all rows is a
    # sum of n i.i.d. row counts: z-test against its exact mean and variance; with n=40,
    # k=12 a replacement often lands back on a rewired-away lattice target (the law's
    # correction to 1 - p is large), with n=2000 it is ~1 - p
    reps = 1 if n > 100 else 50
    keys = jax.random.split(KEY, reps)
    lattice = np.zeros((n, n), bool)
    ring = T.ring(n, k // 2)
    lattice[np.asarray(ring.pre), np.asarray(ring.post)] = True
    present = 0
    for key in keys:
        conn = T.small_world(key, n, k, p)
        present += int(lattice[np.asarray(conn.pre), np.asarray(conn.post)].sum())
    mean, var = _lattice_kept_moments(n, k, p)
    rows = n * reps
    z = (present - rows * mean) / math.sqrt(rows * var)
    assert abs(z) < Z, (present / (rows * k), mean / k, z)


def test_small_world_replacements_are_uniform_over_the_other_neurons():
    # at p = 1 every target is a replacement: a uniform k-subset of the n - 1 others, so
    # each cyclic offset 1..n-1 is hit n·k/(n-1) times in expectation (chi-square, p > 1e-6)
    n, k = 101, 10
    conn = T.small_world(KEY, n, k, 1.0)
    offsets = (np.asarray(conn.post) - np.asarray(conn.pre)) % n
    counts = np.bincount(offsets, minlength=n)[1:]
    assert stats.chisquare(counts).pvalue > 1e-6


# --- scale-free -------------------------------------------------------------------------------


def _zeta_fit(degrees, d_min):
    """Discrete power-law MLE over ``d >= d_min`` (Clauset, Shalizi & Newman 2009, eq. 3.5):
    maximizes ``-alpha · sum(log d) - N log zeta(alpha, d_min)``; and its standard error
    ``1 / sqrt(N · Var[log d])`` under the fitted law (the Fisher information)."""
    tail = degrees[degrees >= d_min].astype(float)
    total = np.log(tail).sum()

    def negative_log_likelihood(alpha):
        return alpha * total + tail.size * np.log(special.zeta(alpha, d_min))

    alpha = optimize.minimize_scalar(negative_log_likelihood, bounds=(1.5, 6.0), method="bounded").x
    d = np.arange(d_min, 10**6, dtype=float)
    law = d**-alpha / special.zeta(alpha, d_min)
    var_log = (law * np.log(d) ** 2).sum() - (law * np.log(d)).sum() ** 2
    return alpha, 1 / math.sqrt(tail.size * var_log)


def _ba_alpha_star(m, d_min):
    """The exponent the MLE converges to on the exact asymptotic Barabási–Albert law
    ``P(d) = 2m(m+1) / (d(d+1)(d+2))`` (Bollobás et al. 2001) restricted to ``d >= d_min``:
    slightly below 3, since the law is d⁻³ only asymptotically."""
    d = np.arange(d_min, 10**6, dtype=float)
    law = 1 / (d * (d + 1) * (d + 2))
    law /= law.sum()
    mean_log = (law * np.log(d)).sum()
    return optimize.minimize_scalar(
        lambda a: a * mean_log + np.log(special.zeta(a, d_min)), bounds=(1.5, 6.0), method="bounded"
    ).x


def test_scale_free_is_symmetric_with_the_exact_edge_count():
    n, m = 300, 4
    conn = T.scale_free(KEY, n, m)
    assert conn.nnz == 2 * m * (n - m)
    assert_simple(conn)
    assert pairs(conn) == {(j, i) for i, j in pairs(conn)}
    degree = np.asarray(conn.out_degree())
    assert degree.min() >= 1 and (degree[m + 1 :] >= m).all()
    # the seed is the star 0 - 1..m; neuron t > m attaches only to earlier neurons
    later = np.asarray(conn.pre) > np.asarray(conn.post)
    assert (np.bincount(np.asarray(conn.pre)[later], minlength=n)[m + 1 :] == m).all()


def _scale_free_degrees(n, m, seeds):
    return np.concatenate([np.asarray(T.scale_free(jax.random.key(s), n, m).out_degree()) for s in seeds])


def test_scale_free_degree_law():
    # P(d = m) -> 2/(m + 2) (Bollobás et al. 2001); z-test with the binomial SE inflated
    # 2x for the weak dependence between degrees in one graph
    n, m = 20_000, 3
    degrees = _scale_free_degrees(n, m, [0])
    share = (degrees == m).mean()
    assert abs(share - 2 / (m + 2)) < 2 * Z * math.sqrt(0.4 * 0.6 / n), share
    # degree-tail exponent by discrete MLE over d >= 10 (~2,200 neurons): compared with the
    # exponent the MLE reaches on the exact BA law (2.96 here, not 3: the law is
    # 2m(m+1)/(d(d+1)(d+2))), within 5 SE (SE ~0.04); the finite-n cutoff (~m·sqrt(n) ~ 420)
    # moves it by well under one SE at this d_min
    alpha, se = _zeta_fit(degrees, 10)
    assert abs(alpha - _ba_alpha_star(m, 10)) < 5 * se, (alpha, se)


@pytest.mark.slow
def test_scale_free_degree_tail_at_scale():
    n, m = 200_000, 5
    degrees = _scale_free_degrees(n, m, [1])
    alpha, se = _zeta_fit(degrees, 20)
    assert abs(alpha - _ba_alpha_star(m, 20)) < 5 * se, (alpha, se)


def test_scale_free_matches_networkx_statistics():
    nx = pytest.importorskip("networkx")
    n, m, graphs = 3000, 3, 8
    ours = _scale_free_degrees(n, m, range(graphs))
    theirs = np.concatenate(
        [np.array([d for _, d in nx.barabasi_albert_graph(n, m, seed=s).degree()]) for s in range(graphs)]
    )
    # the same law: shares of degrees m, m + 1, m + 2 and the log-degree mean agree within
    # 2·Z standard errors of a difference of two samples (SE doubled for within-graph dependence)
    for d in (m, m + 1, m + 2):
        a, b = (ours == d).mean(), (theirs == d).mean()
        se = math.sqrt(2 * a * (1 - a) / ours.size)
        assert abs(a - b) < 2 * Z * se, (d, a, b)
    a, b = np.log(ours).mean(), np.log(theirs).mean()
    assert abs(a - b) < 2 * Z * np.log(ours).std() * math.sqrt(2 / ours.size), (a, b)
    assert ours.sum() == theirs.sum()


# --- regular -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n, k", [(2, 1), (5, 2), (5, 3), (5, 4), (30, 3), (31, 20), (200, 7)])
def test_regular_degrees_are_exact(n, k):
    for seed in range(3):
        conn = T.regular(jax.random.key(seed), n, k)
        assert conn.nnz == n * k
        assert (np.asarray(conn.in_degree()) == k).all() and (np.asarray(conn.out_degree()) == k).all()
        assert_simple(conn)


def test_regular_is_close_to_uniform_on_a_small_case():
    # 1-regular digraphs on 4 neurons are the 9 derangements. The law is not exactly
    # uniform (a repaired configuration model; measured over 20,000 keys: frequencies
    # 0.078 to 0.130 against 1/9): this bounds the bias at +-50% (SE of each frequency
    # here ~0.005), it does not claim uniformity
    keys = jax.random.split(KEY, 4000)
    posts = np.asarray(jax.vmap(lambda key: T.regular(key, 4, 1).post)(keys))
    _, counts = np.unique(posts, axis=0, return_counts=True)
    assert counts.size == 9
    assert np.abs(counts / len(keys) * 9 - 1).max() < 0.5, counts / len(keys)


# --- stochastic block model ---------------------------------------------------------------------


def test_stochastic_block_counts_follow_the_binomial_law():
    sizes = [30, 50, 20]
    p = np.array([[0.5, 0.05, 0.0], [0.1, 0.3, 0.2], [1.0, 0.02, 0.9]])
    offsets = np.cumsum([0] + sizes)
    counts = np.zeros((3, 3), int)
    reps = 8
    for key in jax.random.split(KEY, reps):
        conn = T.stochastic_block(key, sizes, p)
        assert_simple(conn)
        block_pre = np.searchsorted(offsets, np.asarray(conn.pre), side="right") - 1
        block_post = np.searchsorted(offsets, np.asarray(conn.post), side="right") - 1
        np.add.at(counts, (block_pre, block_post), 1)
    for i, j in itertools.product(range(3), repeat=2):
        allowed = reps * sizes[i] * (sizes[j] - (i == j))
        mean, var = allowed * p[i, j], allowed * p[i, j] * (1 - p[i, j])
        if var == 0:
            assert counts[i, j] == mean
        else:
            assert abs(counts[i, j] - mean) < Z * math.sqrt(var), (i, j, counts[i, j], mean)


# --- set algebra --------------------------------------------------------------------------------


def _random_conn(rng, n_pre, n_post, nnz, values=True):
    linear = rng.choice(n_pre * n_post, nnz, replace=False)
    weight = rng.normal(size=nnz).astype(np.float32) if values else None
    delay = rng.uniform(1, 2, size=nnz).astype(np.float32) if values else None
    return T.Connectivity.from_pairs(
        linear // n_post, linear % n_post, n_pre=n_pre, n_post=n_post, weight=weight, delay=delay
    )


def _values(conn):
    return {
        pair: (w, d)
        for pair, w, d in zip(
            zip(np.asarray(conn.pre).tolist(), np.asarray(conn.post).tolist(), strict=True),
            np.asarray(conn.weight).tolist(),
            np.asarray(conn.delay).tolist(),
            strict=True,
        )
    }


@pytest.mark.parametrize("seed", range(4))
def test_set_algebra_matches_python_sets_and_carries_values(seed):
    rng = np.random.default_rng(seed)
    n_pre, n_post = 13, 17
    a = _random_conn(rng, n_pre, n_post, int(rng.integers(0, 120)))
    b = _random_conn(rng, n_pre, n_post, int(rng.integers(0, 120)))
    va, vb = _values(a), _values(b)
    cases = [
        (T.union(a, b), set(va) | set(vb)),
        (T.intersection(a, b), set(va) & set(vb)),
        (T.difference(a, b), set(va) - set(vb)),
    ]
    for result, expected in cases:
        assert result.n_pre == n_pre and result.n_post == n_post
        assert pairs(result) == expected and result.nnz == len(expected)
        assert result.pre.dtype == jnp.int32
        pre, post = np.asarray(result.pre), np.asarray(result.post)
        assert (np.lexsort((post, pre)) == np.arange(pre.size)).all()
        got = _values(result)
        assert got == {pair: va[pair] if pair in va else vb[pair] for pair in expected}


def test_set_algebra_values_rules():
    rng = np.random.default_rng(7)
    a = _random_conn(rng, 5, 6, 10)
    b = _random_conn(rng, 5, 6, 10, values=False)
    # intersection and difference keep a's fields whatever b has
    assert T.intersection(a, b).weight is not None and T.difference(b, a).weight is None
    with pytest.raises(ValueError, match=r"union: a has a weight but b has none"):
        T.union(a, b)
    assert T.union(b, b).weight is None and pairs(T.union(b, b)) == pairs(b)


def test_set_algebra_with_quantities_converts_b_to_a_unit():
    u = pytest.importorskip("brainunit")
    a = T.Connectivity.from_pairs([0], [1], n_pre=2, n_post=2, weight=u.math.asarray([1.0]) * u.nS)
    b = T.Connectivity.from_pairs([1], [0], n_pre=2, n_post=2, weight=u.math.asarray([2.0]) * u.uS)
    c = T.union(a, b)
    np.testing.assert_allclose(np.asarray(c.weight.to_decimal(u.nS)), [1.0, 2000.0])


# --- bad input ----------------------------------------------------------------------------------

_A = T.Connectivity.from_pairs([0, 1], [1, 0], n_pre=2, n_post=2)
_MULTI = T.Connectivity.from_pairs([0, 0], [1, 1], n_pre=2, n_post=2, multapses=True)

BAD = [
    (lambda: T.ring(5, 3), ValueError, r"ring: k must be <= \(n - 1\) // 2 = 2 for n=5 .* got 3"),
    (lambda: T.ring(5, 5, bidirectional=False), ValueError, r"ring: k must be <= n - 1 = 4 .* got 5"),
    (lambda: T.ring(5, -1), ValueError, r"ring: k must be >= 0, got -1"),
    (lambda: T.ring(5.0, 1), TypeError, r"ring: n must be an int"),
    (lambda: T.grid((3, 3), "hex"), ValueError, r"grid: neighborhood must be 'von_neumann' or 'moore', got 'hex'"),
    (lambda: T.grid((3, -1)), ValueError, r"grid: shape\[1\] must be >= 0, got -1"),
    (lambda: T.small_world(KEY, 10, 3, 0.1), ValueError, r"small_world: k must be even .* got 3"),
    (lambda: T.small_world(KEY, 10, 4, 1.5), ValueError, r"small_world: p must be in \[0, 1\], got 1.5"),
    (lambda: T.small_world(KEY, 10, 4, -0.1), ValueError, r"small_world: p must be in \[0, 1\], got -0.1"),
    (lambda: T.small_world(KEY, 10, 10, 0.0), ValueError, r"small_world: k / 2 must be <= \(n - 1\) // 2 = 4"),
    (lambda: T.small_world(KEY, 10, 8, 0.1), ValueError, r"small_world: k must be <= \(n \+ 1\) / 2 = 5.5"),
    (lambda: T.scale_free(KEY, 5, 5), ValueError, r"scale_free: m must be < n=5 .* got 5"),
    (lambda: T.scale_free(KEY, 5, 9), ValueError, r"scale_free: m must be < n=5"),
    (lambda: T.scale_free(KEY, 5, -1), ValueError, r"scale_free: m must be >= 0, got -1"),
    (lambda: T.regular(KEY, 5, 5), ValueError, r"regular: k must be <= n - 1 = 4 .* got 5"),
    (lambda: T.regular(KEY, 0, 1), ValueError, r"regular: k must be <= n - 1 = -1 .* got 1"),
    (lambda: T.stochastic_block(KEY, [3, 4], [[0.1, 0.2]]), ValueError, r"p must have shape .* \(2, 2\) .* \(1, 2\)"),
    (lambda: T.stochastic_block(KEY, [3, 4], [[0.1, 1.2], [0, 0]]), ValueError, r"stochastic_block: p must be in"),
    (lambda: T.stochastic_block(KEY, 7, [[0.1]]), TypeError, r"stochastic_block: sizes must be a sequence"),
    (lambda: T.stochastic_block(KEY, [3, -1], np.zeros((2, 2))), ValueError, r"sizes\[1\] must be >= 0, got -1"),
    (lambda: T.union(_A, T.ring(3, 1)), ValueError, r"union: a and b must have the same sizes, got a \(n_pre=2, "),
    (lambda: T.intersection(_A, T.ring(3, 1)), ValueError, r"n_pre=3, n_post=3"),
    (lambda: T.difference(_MULTI, _A), ValueError, r"difference: a has repeated pairs \(multapses\)"),
    (lambda: T.union(_A, np.zeros(3)), TypeError, r"union: b must be a Connectivity, got ndarray"),
]


@pytest.mark.parametrize("build, error, message", BAD, ids=range(len(BAD)))
def test_bad_input_is_refused_before_any_work(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_set_algebra_refuses_traced_operands():
    with pytest.raises(TypeError, match=r"union: a must be concrete"):
        jax.jit(lambda conn: T.union(conn, conn))(_A)

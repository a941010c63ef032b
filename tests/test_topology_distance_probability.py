"""distance_probability and kernel_connectivity (issue 12 items 3 and 5): the pair law, the
cells against streaming and brute force, periodic boxes in 1-3 D, units, bad input."""

import brainunit as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxinit import profiles
from jaxinit import topology as T
from jaxinit.profiles import _tail_bound
from jaxinit.topology import _cells, _proximity, _spatial, _thinning

KEY = jax.random.key(0)


def _by_path(path, key, xy, profile, box=None, post_xy=None, post_range=None):
    """distance_probability (recurrent without autapses, or onto ``post_xy``) through one named
    path: ``"thin"`` visits at the rate of the profile's tail bound, ``"cells"`` every candidate,
    ``"stream"`` every pair; ``post_range``: the pairs onto those posts only."""
    pre_pos, post_pos, box_, unit, host_pre, host_post, host_box = _proximity._inputs("test", xy, post_xy, box)
    split = _spatial.split_callable("test", "profile", profile, "")
    max_distance = profile.params["max_distance"]
    cutoff = None if path == "stream" else _proximity._cutoff("test", "max_distance", max_distance, unit, profile.unit)
    recurrent = post_xy is None
    pre, post, nnz = _proximity._bernoulli_pairs(
        key, profile, split, cutoff, pre_pos, post_pos, box_, unit, host_pre, host_post, host_box, recurrent, path=path,
        post_ranges=None if post_range is None else [post_range],
    )  # fmt: skip
    return np.asarray(pre)[:nnz], np.asarray(post)[:nnz]


@pytest.mark.parametrize("path", ["thin", "cells", "stream"])
def test_shares_of_the_posts_draw_the_whole_draws_pairs(path):
    # a sharded build draws each device's share of the post neurons on its own: the shares'
    # pairs, put together, are exactly the whole draw's (each pair's draw is its own; the
    # thinning's hits are numbered globally)
    xy, post_xy = _points(600, 2, seed=3), _points(450, 2, seed=4)
    profile = profiles.gaussian(0.1, amplitude=0.8, max_distance=0.3)
    for post in (None, post_xy):
        pre_whole, post_whole = _by_path(path, KEY, xy, profile, box=1.0, post_xy=post)
        n_post = 600 if post is None else 450
        bounds = [0, 1, n_post // 3, n_post // 3, n_post - 7, n_post]  # an empty share, a share of one post
        shares = list(zip(bounds[:-1], bounds[1:], strict=True))
        pieces = [_by_path(path, KEY, xy, profile, box=1.0, post_xy=post, post_range=share) for share in shares]
        for (_, post_), (lo, hi) in zip(pieces, shares, strict=True):
            assert ((post_ >= lo) & (post_ < hi)).all()
        pre = np.concatenate([p for p, _ in pieces])
        post_all = np.concatenate([q for _, q in pieces])
        order = np.lexsort((post_all, pre))
        assert pre_whole.shape[0] > 1000
        np.testing.assert_array_equal(pre[order], pre_whole)
        np.testing.assert_array_equal(post_all[order], post_whole)


def _points(n, dim, seed=1, side=1.0):
    return jax.random.uniform(jax.random.key(seed), (n, dim), maxval=side)


def _dense_distances(pre, post, box):
    return np.asarray(profiles.pairwise_distances(pre, post, box=box))


@pytest.mark.parametrize("path, amplitude", [("thin", 1.3), ("thin", 0.5), ("cells", 1.3)])
def test_pair_frequencies_follow_the_profile(path, amplitude):
    # 30 fixed points, 200 keys: every pair's count is Binomial(200, clip(profile(d), 0, 1)).
    # Two-sided binomial tests at 1e-6 / pairs each: the whole test fails by chance with
    # probability <= 1e-6 (Bonferroni). Amplitude 1.3: the profile exceeds 1 near 0 (and the
    # thinning enumerates the near cells, thins the far ones); 0.5: every cell thinned.
    xy = _points(30, 2, seed=7)
    n_keys = 200
    counts = np.zeros((30, 30), np.int64)
    profile = profiles.dog(0.2, 1.0, amplitude_center=amplitude, amplitude_surround=0.0, max_distance=0.35)
    for key in jax.random.split(KEY, n_keys):
        pre, post = _by_path(path, key, xy, profile, box=1.0)
        assert (np.diff(pre.astype(np.int64) * 30 + post) > 0).all()  # sorted, no pair twice
        counts[pre, post] += 1
    d = _dense_distances(xy, xy, 1.0)
    p = np.clip(amplitude * np.exp(-0.5 * (d / 0.2) ** 2) * (d <= 0.35), 0, 1)
    np.fill_diagonal(p, 0.0)
    assert (counts[p == 0] == 0).all() and (counts[p == 1] == n_keys).all()
    inner = (p > 0) & (p < 1)
    k, q = counts[inner], p[inner]
    pvalue = 2 * np.minimum(stats.binom.cdf(k, n_keys, q), stats.binom.sf(k - 1, n_keys, q))
    assert pvalue.min() > 1e-6 / inner.sum(), (pvalue.min(), inner.sum())


@pytest.mark.parametrize(
    "dim, box, recurrent",
    [(dim, box, True) for dim in (1, 2, 3) for box in (None, 1.0)] + [(2, None, False), (3, 1.0, False)],
)
def test_thinning_count_and_invariants(dim, box, recurrent):
    # the count is a sum of independent Bernoullis: mean sum p, variance sum p(1 - p) over the
    # pairs of these fixed points; within 5 sd (two-sided, chance failure < 6e-7 by the normal
    # approximation of a sum of ~10^4 terms). Sorted, distinct, no autapses, within the cut.
    xy = _points(600, dim, seed=dim)
    post_xy = None if recurrent else _points(450, dim, seed=dim + 10)
    cut = 0.15
    profile = profiles.exponential(0.1, max_distance=cut)
    pre, post = _by_path("thin", KEY, xy, profile, box=box, post_xy=post_xy)
    d = _dense_distances(xy, xy if recurrent else post_xy, box)
    p = np.where(d <= cut, np.exp(-d / 0.1), 0.0)
    if recurrent:
        np.fill_diagonal(p, 0.0)
    mean, sd = p.sum(), np.sqrt((p * (1 - p)).sum())
    assert abs(pre.shape[0] - mean) < 5 * sd, (pre.shape[0], mean, sd)
    assert (np.diff(pre.astype(np.int64) * d.shape[1] + post) > 0).all()
    assert d[pre, post].max() <= cut and not (recurrent and (pre == post).any())


def test_the_thinning_is_taken_where_it_saves_work():
    # NEST's spatial case at 1/10 of the neurons: amplitude 0.5 within 3 sigma, most candidates
    # far from certain; the tail bound is known, so the thinned path is chosen
    xy = np.asarray(_points(2000, 2, seed=3), np.float64)
    profile = profiles.dog(0.1, 1.0, amplitude_center=0.5, amplitude_surround=0.0, max_distance=0.3)
    _, cost = _cells.best_refine(xy, xy, np.asarray(1.0), 0.3)
    bound_fn = _thinning.bound_lookup(_tail_bound(profile), 0.3, None)
    assert _thinning.choose_layout(xy, xy, np.asarray(1.0), 0.3, bound_fn, cost) is not None
    # no known bound (a sum of two bumps): never thinned
    assert _tail_bound(profiles.bimodal(0.1, 0.2, max_distance=0.3)) is None


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("box", [None, 1.0])
def test_cells_equal_streaming_and_stay_within_the_cut(dim, box):
    # per-pair randomness: the cells and the streaming path give the very same synapses; none
    # beyond the cut-off
    xy = _points(600, dim, seed=dim)
    cut = 0.15
    profile = profiles.exponential(0.1, max_distance=cut)
    plan = _cells.best_plan(np.asarray(xy, np.float64), np.asarray(xy, np.float64), box, cut)
    assert plan.kind.startswith("cells")
    cells = _by_path("cells", KEY, xy, profile, box=box)
    stream = _by_path("stream", KEY, xy, profile, box=box)
    assert cells[0].shape[0] > 0
    np.testing.assert_array_equal(cells[0], stream[0])
    np.testing.assert_array_equal(cells[1], stream[1])
    d = _dense_distances(xy, xy, box)[cells[0], cells[1]]
    assert d.max() <= cut and not (cells[0] == cells[1]).any()


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("box", [None, 1.0])
def test_kernel_pairs_and_weights_match_brute_force(dim, box):
    # exactly the pairs within the radius (periodic distances), weights = the kernel at the
    # brute-force displacement pre - post
    pre, post = _points(400, dim, seed=3), _points(300, dim, seed=4)
    radius = 0.2
    direction = jnp.arange(1.0, dim + 1.0) / dim

    def gabor(v):
        return jnp.exp(-jnp.sum(v * v, axis=-1) / 0.02) * jnp.cos(20.0 * (v @ direction))

    conn = T.kernel_connectivity(pre, post, kernel=gabor, radius=radius, box=box)
    d = _dense_distances(pre, post, box)
    np.testing.assert_array_equal(np.asarray(conn.to_dense()) != 0, d <= radius)
    diff = np.asarray(pre)[np.asarray(conn.pre)] - np.asarray(post)[np.asarray(conn.post)]
    if box is not None:
        diff = diff - box * np.round(diff / box)
    np.testing.assert_allclose(np.asarray(conn.weight), np.asarray(gabor(jnp.asarray(diff))), rtol=1e-5, atol=1e-6)
    radial = T.kernel_connectivity(pre, post, kernel=profiles.mexican_hat(0.1), radius=radius, box=box)
    np.testing.assert_array_equal(np.asarray(radial.pre), np.asarray(conn.pre))
    expected = np.asarray(profiles.mexican_hat(0.1)(jnp.asarray(d[np.asarray(conn.pre), np.asarray(conn.post)])))
    np.testing.assert_allclose(np.asarray(radial.weight), expected, rtol=1e-5, atol=1e-6)


def test_a_radius_larger_than_the_box_and_a_tiny_population():
    # periodic boxes smaller than three cells: every pair once, never twice
    xy = _points(50, 2, seed=5, side=1.0)
    conn = T.kernel_connectivity(xy, kernel=lambda v: jnp.ones(v.shape[0]), radius=0.9, box=1.0)
    assert conn.nnz == 50 * 49
    conn = T.kernel_connectivity(xy[:1], kernel=lambda v: jnp.ones(v.shape[0]), radius=0.1, allow_autapse=True)
    assert conn.pre.tolist() == [0] and conn.post.tolist() == [0]


def test_units_convert():
    # positions in µm, profile in mm, box in mm: the same synapses as the plain build in µm
    xy = _points(300, 2, seed=6, side=1000.0)
    plain = T.distance_probability(KEY, xy, profile=profiles.gaussian(100.0, max_distance=250.0), box=1000.0)
    units = T.distance_probability(
        KEY, xy * u.um, profile=profiles.gaussian(0.1 * u.mm, max_distance=0.25 * u.mm), box=1.0 * u.mm
    )
    # the thinned path (taken here) visits by a bound tabulated in float32, in mm on one side: the
    # last bits of some visiting rates differ, so the visits and synapses do too; each build
    # follows the law (count within 5 sd of sum p; a conversion wrong by 10^3 misses by far),
    # and the cells path, whose draws are per pair, gives the very same synapses
    p = np.exp(-0.5 * (_dense_distances(xy, xy, 1000.0) / 100.0) ** 2) * (_dense_distances(xy, xy, 1000.0) <= 250.0)
    np.fill_diagonal(p, 0.0)
    mean, sd = p.sum(), np.sqrt((p * (1 - p)).sum())
    for conn in (plain, units):
        assert abs(conn.nnz - mean) < 5 * sd, (conn.nnz, mean, sd)
    profile_mm = profiles.gaussian(0.1 * u.mm, max_distance=0.25 * u.mm)
    cells_units = _by_path("cells", KEY, xy * u.um, profile_mm, box=1.0 * u.mm)
    cells_plain = _by_path("cells", KEY, xy, profiles.gaussian(100.0, max_distance=250.0), box=1000.0)
    np.testing.assert_array_equal(cells_units[0], cells_plain[0])
    np.testing.assert_array_equal(cells_units[1], cells_plain[1])
    conn = T.kernel_connectivity(xy * u.um, kernel=profiles.gaussian(0.1 * u.mm), radius=0.2 * u.mm)
    d = _dense_distances(xy, xy, None)
    expected = d <= 200.0
    np.fill_diagonal(expected, False)
    np.testing.assert_array_equal(np.asarray(conn.to_dense()) != 0, expected)


BAD = [
    (dict(pre=np.full((5, 2), np.nan)), ValueError, r"pre_positions must be finite, got \[nan, nan\] for neuron 0"),
    (dict(pre=np.zeros((5, 4))), ValueError, r"1 to 3 coordinates per neuron, got shape \(5, 4\)"),
    (dict(pre=np.zeros((5, 2, 2))), ValueError, r"pre_positions must be an \(n, dim\) array, got shape \(5, 2, 2\)"),
    (dict(box=[1.0, 1.0, 1.0]), ValueError, r"one side length or one per axis \(2\), got shape \(3,\)"),
    (dict(box=-1.0), ValueError, "box must be > 0, got -1.0"),
    (dict(profile=3.0), TypeError, "profile must be a callable distance profile .* got 3.0"),
    (dict(profile=profiles.gaussian(0.1 * u.mm)), ValueError, "profile cannot take the positions' distances"),
    (dict(post=np.zeros((5, 3))), ValueError, "differ in dimension"),
]


@pytest.mark.parametrize("args, error, message", BAD, ids=[m[:40] for _, _, m in BAD])
def test_bad_input_is_refused_before_any_work(args, error, message):
    pre = args.get("pre", np.zeros((5, 2), np.float32))
    profile = args.get("profile", profiles.gaussian(0.1))
    with pytest.raises(error, match=message):
        T.distance_probability(KEY, pre, args.get("post"), profile=profile, box=args.get("box"))


def test_traced_keys_and_bad_kernels_are_refused():
    xy = _points(10, 2)
    with pytest.raises(TypeError, match="key must be concrete"):
        jax.jit(lambda key: T.distance_probability(key, xy, profile=profiles.gaussian(0.1)))(KEY)
    with pytest.raises(TypeError, match="kernel must be a callable"):
        T.kernel_connectivity(xy, kernel=2.0, radius=0.1)
    with pytest.raises(ValueError, match=r"one weight per synapse, shape \(nnz,\), got shape \(1, 2\)"):
        T.kernel_connectivity(xy, kernel=lambda v: v, radius=0.1)
    with pytest.raises(ValueError, match="radius must be > 0, got 0.0"):
        T.kernel_connectivity(xy, kernel=profiles.gaussian(0.1), radius=0.0)
    with pytest.raises(ValueError, match="radius is a plain number"):
        T.kernel_connectivity(xy * u.mm, kernel=profiles.gaussian(0.1 * u.mm), radius=0.1)


@pytest.mark.slow
def test_mean_degree_on_a_large_torus():
    # 10^5 neurons on a unit torus, gaussian(σ = 0.003) cut at 3σ: the synapse count is a sum of
    # independent Bernoullis with mean Σ p and variance Σ p(1 - p), here ≈ n² · 2πσ²(1 - e^{-4.5});
    # within 6 standard deviations (plus the density's own fluctuation, bounded by the cell check)
    n, sigma = 100_000, 0.003
    xy = _points(n, 2, seed=11)
    conn = T.distance_probability(KEY, xy, profile=profiles.gaussian(sigma, max_distance=3 * sigma), box=1.0)
    mean = n * (n - 1) * 2 * np.pi * sigma**2 * (1 - np.exp(-4.5))
    # uniform positions add a Poisson-like spread of the pair count around its mean: ~sqrt(2 · mean · k)
    spread = np.sqrt(mean) + np.sqrt(2 * mean * (mean / n))
    assert abs(conn.nnz - mean) < 6 * spread, (conn.nnz, mean, spread)
    assert float(T.synapse_distances(conn, xy, box=1.0).max()) <= 3 * sigma

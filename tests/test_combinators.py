"""Combinators: analytic statistics, independence of children, units, errors, seed schemes."""

import math

import brainunit as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxinit as ji
from jaxinit import profiles

N = 200_000
P_FLOOR = 1e-3
KEY = jax.random.key(0)


def _np(x):
    return np.asarray(x.mantissa if isinstance(x, u.Quantity) else x, np.float64)


class NormalMixture:
    """The law of a mixture of normals, for KS tests and moments."""

    def __init__(self, weights, means, stds):
        self.w = np.asarray(weights, float) / np.sum(weights)
        self.m, self.s = np.asarray(means, float), np.asarray(stds, float)

    def cdf(self, x):
        return np.sum(self.w * stats.norm.cdf((np.asarray(x)[..., None] - self.m) / self.s), axis=-1)

    def mean(self):
        return float(np.sum(self.w * self.m))

    def var(self):
        return float(np.sum(self.w * (self.s**2 + self.m**2)) - self.mean() ** 2)


# --- mixture ------------------------------------------------------------------------


@pytest.mark.parametrize("weights", [[0.7, 0.3], None])
def test_weak_strong_synapse_mixture(weights):
    # the two-component scheme braintools users know: 70% weak, 30% strong synapses
    init = ji.mixture([ji.normal(0.3, 0.05), ji.normal(1.2, 0.2)], weights=weights)
    law = NormalMixture(weights or [1, 1], [0.3, 1.2], [0.05, 0.2])
    x = _np(init(KEY, (N,)))
    assert stats.kstest(x, law.cdf).pvalue > P_FLOOR
    assert abs(x.mean() - law.mean()) < 5 * math.sqrt(law.var() / N)
    strong = 1 - law.cdf(0.75)
    assert abs((x > 0.75).mean() - strong) < 5 * math.sqrt(strong * (1 - strong) / N)


def test_mixture_of_one_family_draws_once():
    # the one-draw path: many components cost no more draws (the jaxpr has one normal)
    init = ji.mixture([ji.normal(float(m), 0.1) for m in range(8)])
    text = str(jax.make_jaxpr(lambda k: init(k, (100,)))(KEY))
    assert text.count("erf_inv") == 1
    law = NormalMixture([1] * 8, list(range(8)), [0.1] * 8)
    assert stats.kstest(_np(init(KEY, (N,))), law.cdf).pvalue > P_FLOOR


def test_mixture_of_uniforms_and_of_mixed_families():
    uniforms = ji.mixture([ji.uniform(0.0, 1.0), ji.uniform(2.0, 4.0)], weights=[1, 3])
    x = _np(uniforms(KEY, (N,)))
    cdf = lambda v: 0.25 * stats.uniform(0, 1).cdf(v) + 0.75 * stats.uniform(2, 2).cdf(v)  # noqa: E731
    assert stats.kstest(x, cdf).pvalue > P_FLOOR
    mixed = ji.mixture([ji.normal(-2.0, 0.5), ji.exponential(1.0), ji.uniform(5.0, 6.0)], weights=[2, 1, 1])
    y = _np(mixed(KEY, (N,)))
    cdf = lambda v: (  # noqa: E731
        0.5 * stats.norm(-2, 0.5).cdf(v) + 0.25 * stats.expon().cdf(v) + 0.25 * stats.uniform(5, 1).cdf(v)
    )
    assert stats.kstest(y, cdf).pvalue > P_FLOOR


def test_mixture_with_traced_weights_under_vmap():
    init = lambda w: ji.mixture([ji.constant(0.0), ji.constant(1.0)], weights=jnp.stack([1 - w, w]))  # noqa: E731
    fractions = jax.vmap(lambda w: init(w)(KEY, (N,)).mean())(jnp.array([0.1, 0.5, 0.9]))
    np.testing.assert_allclose(fractions, [0.1, 0.5, 0.9], atol=5 * math.sqrt(0.25 / N))


def test_mixture_components_in_nanosiemens_and_picosiemens():
    for init in (
        ji.mixture([ji.normal(0.3 * u.nS, 50 * u.psiemens), ji.normal(1200 * u.psiemens, 0.2 * u.nS)], [0.7, 0.3]),
        ji.mixture([ji.normal(0.3 * u.nS, 50 * u.psiemens), ji.truncated_normal(1.2 * u.nS, 0.2 * u.nS)], [0.7, 0.3]),
    ):
        x = init(KEY, (N,))
        assert x.unit == u.nS
        law = NormalMixture([0.7, 0.3], [0.3, 1.2], [0.05, 0.2])
        assert abs(_np(x).mean() - law.mean()) < 5 * math.sqrt(law.var() / N)


# --- where ------------------------------------------------------------------------


def test_e_versus_i_truncated_normals_chosen_by_neuron_index():
    # rows are pre neurons: the first 800 excitatory, the rest inhibitory
    exc = ji.truncated_normal(0.8, 0.2, low=0.2, high=2.0)
    inh = ji.truncated_normal(2.5, 0.5, low=1.0, high=5.0)
    init = ji.where(lambda shape, **ctx: (jnp.arange(shape[0]) < ctx["n_exc"])[:, None], exc, inh)
    w = _np(init(KEY, (1000, 400), n_exc=800))
    assert stats.kstest(w[:800].ravel(), stats.truncnorm(-3, 6, 0.8, 0.2).cdf).pvalue > P_FLOOR
    assert stats.kstest(w[800:].ravel(), stats.truncnorm(-3, 5, 2.5, 0.5).cdf).pvalue > P_FLOOR


def test_where_children_use_independent_keys():
    x = _np(ji.where(jnp.ones((N,), bool), ji.normal(), ji.normal())(KEY, (N,)))
    y = _np(ji.where(jnp.zeros((N,), bool), ji.normal(), ji.normal())(KEY, (N,)))
    assert abs(np.corrcoef(x, y)[0, 1]) < 5 / math.sqrt(N)


@pytest.mark.parametrize("condition", [jnp.arange(3), np.array([1, 0, 1]), "mask", 1.0])
def test_where_rejects_non_bool_conditions(condition):
    with pytest.raises(TypeError, match="condition must be a bool array broadcastable to the shape, or a callable"):
        ji.where(condition, ji.ones, ji.zeros)


def test_where_callable_must_return_bool_and_mask_must_broadcast():
    with pytest.raises(TypeError, match="must return a bool array"):
        ji.where(lambda shape, **ctx: jnp.ones(shape), ji.ones, ji.zeros)(KEY, (3,))
    with pytest.raises(ValueError, match=r"condition has shape \(4,\), which does not broadcast to the shape \(2, 3\)"):
        ji.where(jnp.ones(4, bool), ji.ones, ji.zeros)(KEY, (2, 3))


# --- scale, shift, clip, transform, add, multiply ----------------------------------------


def test_scaled_and_clipped_normals():
    scaled = _np(ji.scale(ji.normal(0.5, 0.1), 1.5)(KEY, (N,)))
    assert stats.kstest(scaled, stats.norm(0.75, 0.15).cdf).pvalue > P_FLOOR
    clipped = _np(ji.clip(ji.normal(0.5, 0.3), low=0.2, high=0.8)(KEY, (N,)))
    below, above = stats.norm(0.5, 0.3).cdf(0.2), stats.norm(0.5, 0.3).sf(0.8)
    # mass piles up at the bounds, as much as the normal has beyond them
    assert abs((clipped == np.float32(0.2)).mean() - below) < 5 * math.sqrt(below * (1 - below) / N)
    assert abs((clipped == np.float32(0.8)).mean() - above) < 5 * math.sqrt(above * (1 - above) / N)
    one_sided = _np(ji.clip(ji.normal(0.0, 1.0), low=0.0)(KEY, (N,)))
    assert one_sided.min() == 0.0 and abs((one_sided == 0).mean() - 0.5) < 5 * math.sqrt(0.25 / N)


def test_scale_by_column_and_by_quantity():
    x = ji.scale(ji.normal(0.0, 1.0), jnp.array([1.0, 10.0]))(KEY, (N // 2, 2))
    np.testing.assert_allclose(_np(x).std(axis=0), [1.0, 10.0], rtol=5 / math.sqrt(N / 2))
    q = ji.scale(ji.normal(0.0, 1.0), 0.5 * u.nS)(KEY, (N,))
    assert q.unit == u.nS and abs(_np(q).std() - 0.5) < 5 * 0.5 / math.sqrt(2 * N)


def test_shift_gives_a_minimum_delay_in_units():
    delays = ji.shift(ji.exponential(2.0 * u.ms), 500 * u.us)(KEY, (N,))
    assert delays.unit == u.ms
    assert stats.kstest(_np(delays), stats.expon(0.5, 2.0).cdf).pvalue > P_FLOOR


def test_transform_applies_the_function():
    x = _np(ji.transform(ji.normal(0.0, 2.0), jnp.abs)(KEY, (N,)))
    assert stats.kstest(x, stats.halfnorm(scale=2.0).cdf).pvalue > P_FLOOR


def test_add_and_multiply_use_independent_keys():
    total = _np(ji.add(ji.normal(), ji.normal())(KEY, (N,)))
    assert stats.kstest(total, stats.norm(0, math.sqrt(2)).cdf).pvalue > P_FLOOR  # std √2, not 2
    product = _np(ji.multiply(ji.normal(), ji.normal())(KEY, (N,)))
    # the product of two independent standard normals has variance 1 (the same draw squared: mean 1)
    assert abs(product.mean()) < 5 / math.sqrt(N)
    masked = _np(ji.multiply(ji.bernoulli(0.1), ji.lognormal(1.0, 0.5))(KEY, (N,)))
    assert abs((masked > 0).mean() - 0.1) < 5 * math.sqrt(0.09 / N)
    assert abs(masked[masked > 0].mean() - 1.0) < 5 * 0.5 / math.sqrt(0.1 * N)


def test_add_converts_units_and_multiply_multiplies_them():
    total = ji.add(ji.constant(1.0 * u.nS), ji.constant(500 * u.psiemens))(KEY, (3,))
    assert total.unit == u.nS and np.allclose(_np(total), 1.5)
    product = ji.multiply(ji.constant(2.0 * u.nS), ji.constant(3.0 * u.mV))(KEY, (3,))
    assert np.allclose(_np(product.to(u.nS * u.mV)), 6.0)


@pytest.mark.parametrize("factor", [jnp.arange(3.0), 2.0, 0.5 * u.nS])
def test_vmap_over_a_traced_factor(factor):
    factors = jnp.array([0.5, 1.0, 2.0])
    batched = jax.vmap(lambda f: ji.scale(ji.normal(), f)(KEY, (4,)))(factors)
    stacked = jnp.stack([ji.scale(ji.normal(), f)(KEY, (4,)) for f in factors])
    np.testing.assert_allclose(batched, stacked, rtol=1e-6)


# --- modulate_by_distance -----------------------------------------------------------------


def test_modulation_is_the_base_draw_times_the_profile_with_a_floor():
    d = jnp.linspace(0.0, 600.0, 1000)
    base = ji.normal(1.0, 0.2)
    for profile in (
        profiles.gaussian(100.0),
        profiles.exponential(150.0),
        lambda r: jnp.clip(profiles.dog(60.0, 180.0, 0.5, 0.6)(r), 0.0, 1.0),
        profiles.step(200.0, outside=0.2),
    ):
        w = ji.modulate_by_distance(base, profile, min_weight=0.05)(KEY, (1000,), distances=d)
        # the base receives the key unchanged, so the draw underneath is base(KEY, ...)
        expected = jnp.maximum(base(KEY, (1000,)) * profile(d), 0.05)
        np.testing.assert_allclose(w, expected, rtol=1e-6)


def test_floored_modulated_normal_has_the_analytic_mean():
    # all elements at one distance: w = max(X·f, m) with X ~ N(μ, σ²), E[max(Y, m)] in closed form
    mu, sigma, floor, distance = 0.5, 0.1, 0.05, 150.0
    f = math.exp(-(distance**2) / (2 * 100.0**2))
    init = ji.modulate_by_distance(ji.normal(mu, sigma), profiles.gaussian(100.0), min_weight=floor)
    w = _np(init(KEY, (N,), distances=jnp.full((N,), distance)))
    my, sy = mu * f, sigma * f
    a = (floor - my) / sy
    mean = floor * stats.norm.cdf(a) + my * stats.norm.sf(a) + sy * stats.norm.pdf(a)
    assert abs(w.mean() - mean) < 5 * sy / math.sqrt(N)
    assert w.min() == np.float32(floor)


def test_missing_distances_says_how_to_pass_them():
    init = ji.modulate_by_distance(ji.ones, profiles.gaussian(1.0))
    with pytest.raises(ValueError, match=r"needs the context array `distances`; call init\(key, shape, distances=d\)"):
        init(KEY, (3,))


def test_distances_in_micrometres_with_sigma_in_millimetres():
    init = ji.modulate_by_distance(ji.constant(1.0 * u.nS), profiles.gaussian(0.1 * u.mm), min_weight=10 * u.psiemens)
    w = init(KEY, (3,), distances=jnp.array([0.0, 100.0, 1000.0]) * u.um)
    assert w.unit == u.nS
    np.testing.assert_allclose(_np(w), [1.0, math.exp(-0.5), 0.01], rtol=1e-5)


# --- blocks --------------------------------------------------------------------------------


def test_blocks_assemble_zeros_and_slice_context():
    d = jnp.arange(20.0).reshape(4, 5)
    init = ji.blocks(
        [3, 1],
        [2, 3],
        [[ji.modulate_by_distance(ji.ones, lambda r: r), None], [ji.constant(-1.0), ji.constant(7.0)]],
    )
    w = np.asarray(init(KEY, (4, 5), distances=d))
    np.testing.assert_array_equal(w[:3, :2], np.asarray(d)[:3, :2])  # the block saw its own slice of distances
    np.testing.assert_array_equal(w[:3, 2:], 0.0)
    np.testing.assert_array_equal(w[3], [-1.0, -1.0, 7.0, 7.0, 7.0])


def test_blocks_give_each_block_its_own_key():
    init = ji.blocks([500, 500], [400], [[ji.normal()], [ji.normal()]])
    w = _np(init(KEY, (1000, 400)))
    assert abs(np.corrcoef(w[:500].ravel(), w[500:].ravel())[0, 1]) < 5 / math.sqrt(200_000)


def test_blocks_errors():
    with pytest.raises(ValueError, match=r"blocks: shape must be \(sum\(pre_sizes\), sum\(post_sizes\)\) = \(3, 2\)"):
        ji.blocks([2, 1], [2], [[ji.ones], [ji.ones]])(KEY, (3, 3))
    with pytest.raises(ValueError, match="table must have one row per pre population"):
        ji.blocks([2, 1], [2], [[ji.ones]])
    with pytest.raises(ValueError, match=r"table\[0\] must have one entry per post population"):
        ji.blocks([2], [2, 2], [[ji.ones]])
    with pytest.raises(TypeError, match=r"table\[0\]\[1\] must be an initializer"):
        ji.blocks([2], [2, 2], [[ji.ones, 3.0]])
    with pytest.raises(ValueError, match="pre_sizes must be a non-empty sequence of sizes >= 0"):
        ji.blocks([-1], [2], [[ji.ones]])
    with pytest.raises(ValueError, match="context array 'distances' has shape"):
        ji.blocks([2], [2], [[ji.ones]])(KEY, (2, 2), distances=jnp.ones((3, 2)))


def _recurrent_blocks(autapses):
    """Three populations, one diagonal block empty (None) and one with units and distances."""
    ee = ji.modulate_by_distance(ji.normal(0.5 * u.nS, 0.1 * u.nS), profiles.gaussian(100 * u.um))
    table = [
        [ee, ji.lognormal(0.6 * u.nS, 0.2 * u.nS), ji.constant(0.3 * u.nS)],
        [ji.scale(ji.uniform(1 * u.nS, 2 * u.nS), -1.0), None, ji.normal(1 * u.nS, 1 * u.nS)],
        [ji.constant(-2 * u.nS), ji.normal(0 * u.nS, 1 * u.nS), ji.uniform(1 * u.nS, 2 * u.nS)],
    ]
    return ji.blocks([30, 7, 13], [30, 7, 13], table, autapses=autapses)


POSITIONS = jax.random.uniform(jax.random.key(3), (50, 2), maxval=300.0) * u.um
DISTANCES = profiles.pairwise_distances(POSITIONS, POSITIONS)


def test_blocks_without_autapses_zero_the_diagonal_and_nothing_else():
    with_self = _recurrent_blocks(True)(KEY, (50, 50), distances=DISTANCES)
    without = _recurrent_blocks(False)(KEY, (50, 50), distances=DISTANCES)
    assert without.unit == u.nS and without.shape == (50, 50)
    w, w_self = np.asarray(without.mantissa), np.asarray(with_self.mantissa)
    off = ~np.eye(50, dtype=bool)
    assert np.all(np.diag(w) == 0.0)
    np.testing.assert_array_equal(w[off], w_self[off])  # bit-identical off the diagonal
    assert np.all(np.diag(w_self)[:30] != 0.0)  # the test can fail: the diagonal really was drawn


def test_blocks_without_autapses_jit_equals_eager_and_vmap_equals_loop():
    init = _recurrent_blocks(False)
    eager = np.asarray(init(KEY, (50, 50), distances=DISTANCES).mantissa)
    jitted = np.asarray(jax.jit(lambda k, d: init(k, (50, 50), distances=d))(KEY, DISTANCES).mantissa)
    assert np.all(np.diag(jitted) == 0.0)
    np.testing.assert_array_max_ulp(jitted, eager, maxulp=4)
    keys = jax.random.split(KEY, 4)
    batched = jax.vmap(lambda k: init(k, (50, 50), distances=DISTANCES))(keys)
    looped = np.stack([np.asarray(init(k, (50, 50), distances=DISTANCES).mantissa) for k in keys])
    np.testing.assert_array_max_ulp(np.asarray(batched.mantissa), looped, maxulp=4)
    assert np.all(np.diagonal(np.asarray(batched.mantissa), axis1=1, axis2=2) == 0.0)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.int32, jnp.bool_])
def test_blocks_without_autapses_keep_the_dtype(dtype):
    init = ji.blocks([3, 2], [3, 2], [[ji.ones, ji.ones], [ji.ones, ji.ones]], autapses=False)
    w = init(KEY, (5, 5), dtype)
    assert w.dtype == dtype
    np.testing.assert_array_equal(np.asarray(w, np.float64), 1.0 - np.eye(5))


def test_blocks_autapses_is_part_of_the_value():
    tables = [[ji.ones]]
    assert ji.blocks([2], [2], tables, autapses=False) == ji.blocks([2], [2], tables, autapses=False)
    assert ji.blocks([2], [2], tables, autapses=False) != ji.blocks([2], [2], tables)
    assert (
        repr(ji.blocks([2], [2], tables)) == "blocks(pre_sizes=(2,), post_sizes=(2,), table=([constant(value=1.0)],))"
    )
    assert repr(ji.blocks([2], [2], tables, autapses=False)).endswith(", autapses=False)")


def test_blocks_autapses_errors():
    with pytest.raises(
        ValueError,
        match=r"blocks: autapses=False needs .* \(post_sizes == pre_sizes\), got "
        r"pre_sizes=\(2, 1\), post_sizes=\(1, 2\)",
    ):
        ji.blocks([2, 1], [1, 2], [[ji.ones, ji.ones], [ji.ones, ji.ones]], autapses=False)
    with pytest.raises(ValueError, match=r"post_sizes=\(3,\)"):
        ji.blocks([2, 1], [3], [[ji.ones], [ji.ones]], autapses=False)
    with pytest.raises(TypeError, match="blocks: autapses must be True or False, got 'no'"):
        ji.blocks([2], [2], [[ji.ones]], autapses="no")


def _standardized_block(w, f, mean, std, floor):
    """Checks a block w = max(N(mean, std²)·f, floor): elements above the floor, divided by
    f, are N(mean, std²); elements at the floor are exactly the floor."""
    w, f = np.abs(_np(w)).ravel(), np.asarray(f, np.float64).ravel()
    free = (mean - 6 * std) * f > floor  # the floor cannot bind here
    z = (w[free] / f[free] - mean) / std
    assert z.size > 1000
    assert abs(z.mean()) < 5 / math.sqrt(z.size)
    assert abs(z.std() - 1) < 5 / math.sqrt(2 * z.size)
    assert np.all(w >= floor * (1 - 1e-6))


def test_ei_network_of_four_distance_modulated_blocks_in_one_call():
    n_exc, n_inh = 800, 200
    positions = jax.random.uniform(jax.random.key(1), (n_exc + n_inh, 2), minval=0.0, maxval=500.0) * u.um
    d = profiles.pairwise_distances(positions, positions)
    lateral = profiles.dog(60.0 * u.um, 180.0 * u.um, 1.2, 0.6)

    def clipped_dog(r):
        return jnp.clip(lateral(r), 0.0, 1.0)

    ee = ji.modulate_by_distance(ji.normal(0.5 * u.nS, 0.05 * u.nS), profiles.gaussian(100 * u.um), 0.02 * u.nS)
    ei = ji.modulate_by_distance(ji.normal(0.6 * u.nS, 0.08 * u.nS), profiles.exponential(150 * u.um), 0.05 * u.nS)
    ie = ji.modulate_by_distance(ji.normal(1.5 * u.nS, 0.2 * u.nS), clipped_dog, 0.1 * u.nS)
    ii = ji.modulate_by_distance(ji.normal(0.8 * u.nS, 0.1 * u.nS), profiles.gaussian(80 * u.um), 0.05 * u.nS)
    network = ji.blocks([n_exc, n_inh], [n_exc, n_inh], [[ee, ei], [ji.scale(ie, -1.0), ji.scale(ii, -1.0)]])
    w = jax.jit(lambda k, d: network(k, (1000, 1000), distances=d))(KEY, d)
    assert w.unit == u.nS and w.shape == (1000, 1000)
    m = d.to_decimal(u.um)
    e, i = slice(0, n_exc), slice(n_exc, None)
    assert np.all(_np(w)[e] > 0) and np.all(_np(w)[i] < 0)  # Dale's principle by rows
    _standardized_block(w[e, e], profiles.gaussian(100.0)(m[e, e]), 0.5, 0.05, 0.02)
    _standardized_block(w[e, i], profiles.exponential(150.0)(m[e, i]), 0.6, 0.08, 0.05)
    _standardized_block(w[i, e], jnp.clip(profiles.dog(60.0, 180.0, 1.2, 0.6)(m[i, e]), 0, 1), 1.5, 0.2, 0.1)
    _standardized_block(w[i, i], profiles.gaussian(80.0)(m[i, i]), 0.8, 0.1, 0.05)


CELL_TYPES = {"Pyr_L23": 350, "Pyr_L5": 300, "PV": 150, "SST": 100, "VIP": 100}
INHIBITORY = {"PV", "SST", "VIP"}
# (pre, post): (mean nS, std nS, profile, floor nS); every other pair uses DEFAULT
CONNECTIONS = {
    ("Pyr_L23", "Pyr_L23"): (0.4, 0.08, profiles.gaussian(120.0), 0.02),
    ("Pyr_L23", "Pyr_L5"): (0.6, 0.12, profiles.exponential(150.0), 0.03),
    ("Pyr_L5", "Pyr_L5"): (0.8, 0.15, profiles.bimodal(80.0, 200.0, 0.0, 300.0, 0.8, 0.3), 0.05),
    ("PV", "Pyr_L23"): (2.0, 0.4, profiles.gaussian(60.0), 0.2),
    ("SST", "Pyr_L5"): (1.5, 0.3, lambda d: jnp.clip(profiles.dog(50.0, 150.0, 0.8, 0.4)(d), 0, 1), 0.1),
}
DEFAULT = (0.3, 0.1, profiles.gaussian(100.0), 0.01)


def test_five_cell_type_cortical_microcircuit_in_one_call():
    names = list(CELL_TYPES)
    table = []
    for pre in names:
        row = []
        for post in names:
            mean, std, profile, floor = CONNECTIONS.get((pre, post), DEFAULT)
            init = ji.modulate_by_distance(ji.normal(mean, std), profile, min_weight=floor)
            row.append(ji.scale(init, -1.0) if pre in INHIBITORY else init)
        table.append(row)
    sizes = list(CELL_TYPES.values())
    circuit = ji.blocks(sizes, sizes, table)
    positions = jax.random.uniform(jax.random.key(2), (1000, 2), minval=0.0, maxval=600.0)
    d = profiles.pairwise_distances(positions, positions)
    w = jax.jit(lambda k: circuit(k, (1000, 1000), distances=d))(KEY)
    starts = np.cumsum([0, *sizes])
    for a, pre in enumerate(names):
        rows = slice(starts[a], starts[a + 1])
        assert np.all(np.sign(_np(w[rows])) == (-1 if pre in INHIBITORY else 1))
        for b, post in enumerate(names):
            cols = slice(starts[b], starts[b + 1])
            mean, std, profile, floor = CONNECTIONS.get((pre, post), DEFAULT)
            f = np.asarray(profile(d[rows, cols]))
            free = (mean - 6 * std) * f > floor
            if free.sum() > 1000:  # blocks with enough unfloored synapses for the statistics
                _standardized_block(w[rows, cols], f, mean, std, floor)
            assert np.all(np.abs(_np(w[rows, cols])) >= floor * (1 - 1e-6))


# --- errors at construction -----------------------------------------------------------------

BAD = [
    (lambda: ji.mixture([]), ValueError, "mixture: components must be a non-empty sequence of initializers"),
    (lambda: ji.mixture(ji.normal()), TypeError, "mixture: components must be a non-empty sequence"),
    (lambda: ji.mixture([ji.normal(), 3.0]), TypeError, r"mixture: components\[1\] must be an initializer"),
    (lambda: ji.mixture([ji.normal()], weights=[1.0, 2.0]), ValueError, r"one entry per component \(1\)"),
    (lambda: ji.mixture([ji.normal(), ji.normal()], weights=[1.0, -1.0]), ValueError, "weights must be >= 0"),
    (lambda: ji.mixture([ji.normal(), ji.normal()], weights=[0.0, 0.0]), ValueError, "must not all be 0"),
    (lambda: ji.mixture([ji.normal(1 * u.nS, 1 * u.nS), ji.normal()]), ValueError, r"components\[1\] is unit-free"),
    (lambda: ji.mixture([ji.normal(1 * u.nS, 1 * u.nS), ji.normal(1 * u.mV, 1 * u.mV)]), ValueError, "mV"),
    (lambda: ji.where(jnp.ones(3, bool), ji.ones, "x"), TypeError, "where: if_false must be an initializer"),
    (lambda: ji.scale("x", 2.0), TypeError, "scale: init must be an initializer"),
    (lambda: ji.scale(ji.normal(), math.nan), ValueError, "scale: factor must not be NaN"),
    (lambda: ji.shift(ji.normal(), math.inf), ValueError, "shift: offset must be finite"),
    (lambda: ji.shift(ji.normal(1 * u.nS, 1 * u.nS), 1 * u.mV), ValueError, "offset is in mV, which cannot be"),
    (lambda: ji.shift(ji.normal(), 1 * u.mV), ValueError, r"shift: offset is in mV but the values .* are unit-free"),
    (lambda: ji.clip(ji.normal()), ValueError, "clip: give low, high or both"),
    (lambda: ji.clip(ji.normal(), low=1.0, high=0.0), ValueError, "clip: low must be < high"),
    (lambda: ji.clip(ji.normal(1 * u.nS, 1 * u.nS), low=0 * u.mV), ValueError, "low is in mV"),
    (lambda: ji.transform(ji.normal(), 3.0), TypeError, "transform: fn must be a callable"),
    (lambda: ji.add(), ValueError, "add: inits must be a non-empty sequence"),
    (lambda: ji.multiply(ji.normal(), None), TypeError, r"multiply: inits\[1\] must be an initializer"),
    (lambda: ji.modulate_by_distance(ji.ones, 3.0), TypeError, "profile must be a function of the distances"),
    (
        lambda: ji.modulate_by_distance(ji.normal(1 * u.nS, 1 * u.nS), profiles.gaussian(1.0), 1 * u.mV),
        ValueError,
        "min_weight is in mV",
    ),
]


@pytest.mark.parametrize("build, error, message", BAD, ids=[m for _, _, m in BAD])
def test_construction_errors(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_unit_errors_of_nested_parts_are_found_when_built_and_name_both():
    with pytest.raises(ValueError, match=r"add: inits\[1\] is in mV, which cannot be converted to nS"):
        ji.add(ji.normal(1 * u.nS, 1 * u.nS), ji.scale(ji.normal(), 1 * u.mV))


def test_repr_shows_the_whole_tree():
    init = ji.clip(ji.mixture([ji.normal(0.5, 0.3), ji.uniform()], weights=[0.8, 0.2]), low=0.2)
    assert repr(init) == (
        "clip(init=mixture(components=[normal(mean=0.5, std=0.3), uniform(low=0.0, high=1.0)], "
        "weights=[0.8, 0.2]), low=0.2, high=None)"
    )

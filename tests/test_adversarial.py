"""Issue 10: the calls that once gave a wrong answer silently, hung, or crashed unclearly.

Each test is the user's call that went wrong. ``ATTACKS`` is the table of bad inputs
and the clear error each must now raise, before any work; the tests below it check
the silent-wrong-result cases against the law they must follow.
"""

import math

import brainunit as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxinit as ji
from jaxinit import profiles

KEY = jax.random.key(0)


def _plain(x):
    return np.asarray(x.mantissa if isinstance(x, u.Quantity) else x)


# --- the table: attack -> the error it must raise ------------------------------------

ATTACKS = [
    # (id, call, error type, words the message must contain)
    ("complex std", lambda: ji.normal(0.0, 1 + 1j), TypeError, ["normal", "std", "real"]),
    ("complex mean", lambda: ji.uniform(1j, 2.0), TypeError, ["uniform", "low", "real"]),
    ("string p", lambda: ji.bernoulli("0.1"), TypeError, ["bernoulli", "p"]),
    ("p above 1", lambda: ji.bernoulli(1.5), ValueError, ["bernoulli", "p", "[0, 1]", "1.5"]),
    ("nan std", lambda: ji.normal(0.0, float("nan")), ValueError, ["std", "NaN"]),
    ("low = +inf", lambda: ji.truncated_normal(0.0, 1.0, low=math.inf), ValueError, ["low", "inf"]),
    ("high = -inf", lambda: ji.truncated_normal(0.0, 1.0, high=-math.inf), ValueError, ["high", "inf"]),
    ("negative std", lambda: ji.truncated_normal(0.0, -1.0), ValueError, [">= 0", "-1.0"]),
    ("constant 1e39 in float32", lambda: ji.constant(1e39)(KEY, (3,)), ValueError, ["value", "float32", "1e+39"]),
    ("normal mean 1e39", lambda: ji.normal(1e39, 1.0)(KEY, (3,)), ValueError, ["mean", "float32"]),
    ("constant 1e5 in float16", lambda: ji.constant(1e5)(KEY, (3,), jnp.float16), ValueError, ["float16"]),
    ("blocks with a float size", lambda: ji.blocks([2.5], [2], [[ji.zeros]]), TypeError, ["pre_sizes", "ints"]),
    (
        "block initializer returning the wrong shape",
        lambda: ji.blocks([2], [3], [[lambda key, shape, dtype=None, **_: jnp.zeros((5,))]])(KEY, (2, 3)),
        ValueError,
        ["table[0][0]", "(5,)", "(2, 3)"],
    ),
    (
        "delta_orthogonal column_axis 2",
        lambda: ji.delta_orthogonal(column_axis=2),
        ValueError,
        ["column_axis", "2"],
    ),
    ("delta_orthogonal column_axis str", lambda: ji.delta_orthogonal(column_axis="x"), TypeError, ["column_axis"]),
    ("integer normal", lambda: ji.normal()(KEY, (3,), jnp.int32), TypeError, ["normal", "dtype", "int32"]),
    ("complex uniform", lambda: ji.uniform()(KEY, (3,), jnp.complex64), TypeError, ["uniform", "complex"]),
    (
        "mixture weight list of the wrong length",
        lambda: ji.mixture([ji.normal(), ji.normal()], weights=[1.0]),
        ValueError,
        ["weights", "one entry per component"],
    ),
    ("mixture weights all 0", lambda: ji.mixture([ji.normal()], weights=[0.0]), ValueError, ["weights", "0"]),
    (
        "add of nS and unit-free",
        lambda: ji.add(ji.normal(1 * u.nS, 0.1 * u.nS), ji.normal(1.0, 0.1)),
        ValueError,
        ["add", "unit-free", "nS"],
    ),
    (
        "add of nS and mV",
        lambda: ji.add(ji.normal(1 * u.nS, 0.1 * u.nS), ji.normal(1 * u.mV, 0.1 * u.mV)),
        ValueError,
        ["add", "mV", "nS"],
    ),
    (
        "shift of nS by a plain number",
        lambda: ji.shift(ji.scale(ji.normal(1 * u.nS, 0.1 * u.nS), 2.0), 0.5),
        ValueError,
        ["shift", "offset"],
    ),
    (
        "clip of mV by nS",
        lambda: ji.clip(ji.normal(1 * u.mV, 0.1 * u.mV), low=0 * u.nS),
        ValueError,
        ["clip", "low"],
    ),
    (
        "where of nS and mV",
        lambda: ji.where(jnp.ones(3, bool), ji.constant(1 * u.nS), ji.constant(1 * u.mV)),
        ValueError,
        ["where", "if_false"],
    ),
]


@pytest.mark.parametrize("call, error, words", [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_attack_raises_a_clear_error(call, error, words):
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    for word in words:
        assert word in message, (word, message)


def test_unit_errors_come_before_any_sampling():
    calls = []

    def spy(key, shape, dtype=None, **ctx):
        calls.append(shape)
        return jnp.zeros(shape)

    with pytest.raises(ValueError):
        ji.add(ji.normal(1 * u.nS, 0.1 * u.nS), ji.normal(1.0, 0.1), spy)
    assert calls == []


# --- item 2: mixture selection is exact ------------------------------------------------


def test_mixture_never_draws_a_zero_weight_component():
    # 5e7 draws once gave 8 of the last component; its threshold is now +inf
    init = ji.mixture(
        [ji.constant(0.0), ji.constant(1.0), ji.constant(2.0), ji.constant(3.0), ji.constant(4.0)],
        weights=[0.637, 0.270, 0.041, 0.0165, 0.0],
    )
    for seed in range(5):
        x = init(jax.random.key(seed), (10_000_000,))
        assert int((x == 4.0).sum()) == 0


def test_mixture_of_a_zero_weight_component_in_the_middle_and_the_fast_path():
    init = ji.mixture([ji.normal(0.0, 1.0), ji.normal(100.0, 1.0), ji.normal(-100.0, 1.0)], weights=[1.0, 0.0, 1.0])
    x = np.asarray(init(KEY, (2_000_000,)))
    assert not (np.abs(x - 100.0) < 50).any()
    # binomial count of the first component: 5 sigma
    n_first = (np.abs(x) < 50).sum()
    assert abs(n_first - 1_000_000) < 5 * math.sqrt(2_000_000 * 0.25)


@pytest.mark.parametrize("weights", [[1e38, 1e38], [3e38, 1e38, 3e38]])
def test_mixture_weights_that_overflow_a_float32_sum(weights):
    comps = [ji.constant(float(i)) for i in range(len(weights))]
    x = np.asarray(ji.mixture(comps, weights=weights)(KEY, (400_000,)))
    p = np.asarray(weights) / np.sum(weights)
    counts = np.bincount(x.astype(int), minlength=len(weights))
    chi2 = stats.chisquare(counts, p * x.size)
    assert chi2.pvalue > 1e-4


def test_mixture_with_a_subnormal_weight_never_picks_the_zero_one():
    x = ji.mixture([ji.constant(0.0), ji.constant(1.0)], weights=[0.0, 1e-40])(KEY, (100_000,))
    assert float(x.min()) == 1.0


# --- item 4: half precision respects the support ---------------------------------------


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_half_precision_uniform_never_returns_its_upper_bound(dtype):
    x = ji.uniform(0.0, 1.0)(KEY, (1_000_000,), dtype)
    assert x.dtype == dtype
    assert float(x.max()) < 1.0 and float(x.min()) >= 0.0


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_half_precision_truncated_normal_stays_within_its_bounds(dtype):
    low, high = 0.1, 0.3  # neither is exactly representable in bf16/f16
    x = np.asarray(ji.truncated_normal(0.2, 1.0, low=low, high=high)(KEY, (1_000_000,), dtype), np.float64)
    assert x.min() >= low and x.max() <= high


def test_float32_uniform_never_returns_high_from_rounding():
    # low + width·u rounds to high for u close to 1 when |low| >> width
    x = ji.uniform(1e4, 1e4 + 1e-3)(KEY, (1_000_000,))
    assert float(x.max()) < 1e4 + 1e-3


# --- item 5: out_sharding -------------------------------------------------------------


def test_out_sharding_is_honoured_on_one_device():
    mesh = jax.make_mesh((1,), ("x",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("x"))
    for init in [ji.normal(), ji.kaiming_normal(), ji.mixture([ji.normal(), ji.uniform()]), ji.constant(-7.0)]:
        out = init(KEY, (8, 2), jnp.float32, out_sharding=sharding)
        assert out.sharding.is_equivalent_to(sharding, 2)
        np.testing.assert_allclose(np.asarray(out), np.asarray(init(KEY, (8, 2))), rtol=1e-6)


def test_out_sharding_keeps_units():
    mesh = jax.make_mesh((1,), ("x",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("x"))
    out = ji.normal(1 * u.nS, 0.1 * u.nS)(KEY, (4,), out_sharding=sharding)
    assert isinstance(out, u.Quantity) and out.unit == u.nS


# --- item 7: complex and integer dtypes ------------------------------------------------


@pytest.mark.parametrize("dtype", [jnp.complex64])
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (ji.normal(0.0, 0.5), jax.nn.initializers.normal(0.5)),
        (ji.kaiming_normal(), jax.nn.initializers.he_normal()),
        (ji.xavier_uniform(), jax.nn.initializers.glorot_uniform()),
        (ji.variance_scaling(2.0, "fan_avg", "normal"), jax.nn.initializers.variance_scaling(2.0, "fan_avg", "normal")),
        (ji.orthogonal(), jax.nn.initializers.orthogonal()),
    ],
    ids=["normal", "kaiming_normal", "xavier_uniform", "variance_normal", "orthogonal"],
)
def test_complex_dtypes_are_bit_identical_to_jax(ours, theirs, dtype):
    shape = (6, 4)
    np.testing.assert_array_equal(np.asarray(ours(KEY, shape, dtype)), np.asarray(theirs(KEY, shape, dtype)))


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.uint8, jnp.bool_, jnp.int8])
def test_constant_zeros_ones_take_integer_and_bool_dtypes(dtype):
    for init, value in [(ji.zeros, 0), (ji.ones, 1), (ji.constant(3.0), 3)]:
        out = init(KEY, (2, 3), dtype)
        assert out.dtype == dtype
        np.testing.assert_array_equal(np.asarray(out), np.full((2, 3), value, dtype))


# --- item 8: profiles with units -------------------------------------------------------


def test_bimodal_with_units_and_default_centres():
    profile = profiles.bimodal(30 * u.um, 50 * u.um)
    factor = profile(jnp.array([0.0, 30.0]) * u.um)
    np.testing.assert_allclose(np.asarray(factor), [2.0, math.exp(-0.5) + math.exp(-0.5 * 0.36)], rtol=1e-6)


# --- item 9: traced scale, std = 0 -----------------------------------------------------


def test_variance_scaling_with_a_traced_scale_matches_jax_under_vmap():
    scales = jnp.array([0.5, 1.0, 2.0])
    ours = jax.vmap(lambda s: ji.variance_scaling(s, "fan_in", "normal")(KEY, (30, 20)))(scales)
    theirs = jax.vmap(lambda s: jax.nn.initializers.variance_scaling(s, "fan_in", "normal")(KEY, (30, 20)))(scales)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6)


@pytest.mark.parametrize(
    "mean, low, high, expected", [(0.5, 0.0, 1.0, 0.5), (2.0, 0.0, 1.0, 1.0), (-3.0, -1.0, None, -1.0)]
)
def test_truncated_normal_with_std_0_is_the_mean_clamped_into_the_bounds(mean, low, high, expected):
    x = ji.truncated_normal(mean, 0.0, low=low, high=high)(KEY, (5,))
    np.testing.assert_array_equal(np.asarray(x), np.full(5, expected, np.float32))


# --- item 10: pytrees compared by value ------------------------------------------------


def test_equal_constructions_are_equal_and_hash_equal():
    assert profiles.gaussian(100.0) == profiles.gaussian(100.0)
    assert hash(profiles.gaussian(100.0)) == hash(profiles.gaussian(100.0))
    assert profiles.gaussian(100.0) != profiles.gaussian(200.0)
    a = ji.mixture([ji.normal(0.0, 1.0), ji.clip(ji.uniform(), 0.1, 0.9)], weights=[0.3, 0.7])
    b = ji.mixture([ji.normal(0.0, 1.0), ji.clip(ji.uniform(), 0.1, 0.9)], weights=[0.3, 0.7])
    assert a == b and hash(a) == hash(b)
    assert ji.normal(1 * u.nS, 0.1 * u.nS) != ji.normal(1 * u.mV, 0.1 * u.mV)


def test_a_fresh_profile_passed_to_a_jitted_function_does_not_recompile():
    traces = []

    @jax.jit
    def apply(profile, d):
        traces.append(1)
        return profile(d)

    d = jnp.linspace(0.0, 300.0, 7)
    for sigma in (100.0, 100.0, 150.0):  # a new value is a new leaf, not a new program
        apply(profiles.gaussian(sigma), d)
    assert len(traces) == 1


def test_vmap_over_a_profile_sigma():
    d = jnp.array([0.0, 100.0])
    out = jax.vmap(lambda p: p(d))(profiles.gaussian(jnp.array([100.0, 200.0])))
    np.testing.assert_allclose(np.asarray(out), [[1.0, math.exp(-0.5)], [1.0, math.exp(-0.125)]], rtol=1e-6)


def test_vmap_over_an_initializer_built_from_arrays_equals_the_loop():
    stds = jnp.array([0.1, 1.0, 10.0])
    batched = jax.vmap(lambda init: init(KEY, (5,)))(ji.normal(jnp.zeros(3), stds))
    for i, s in enumerate(stds):
        np.testing.assert_allclose(np.asarray(batched[i]), np.asarray(ji.normal(0.0, s)(KEY, (5,))), rtol=1e-6)


# --- item 13: no hangs on traced bad parameters ----------------------------------------


@pytest.mark.parametrize("bad", [-1.0, 0.0, float("nan"), float("inf")])
def test_gamma_with_a_traced_invalid_concentration_gives_nan(bad):
    x = jax.jit(lambda c: ji.gamma(c)(KEY, (1000,)))(bad)
    assert bool(jnp.isnan(x).all())


def test_one_bad_value_in_a_vmapped_sweep_does_not_hang_the_sweep():
    out = jax.vmap(lambda c: ji.beta(c, 2.0)(KEY, (1000,)))(jnp.array([2.0, float("nan"), 0.5]))
    assert bool(jnp.isnan(out[1]).all())
    assert bool(jnp.isfinite(out[0]).all() and jnp.isfinite(out[2]).all())


# --- item 15: float32 edges ------------------------------------------------------------


def test_truncated_normal_far_beyond_float32_tail_is_the_bound():
    x = ji.truncated_normal(0.0, 1.0, low=1e20)(KEY, (1000,))
    assert bool(jnp.isfinite(x).all()) and float(x.min()) >= 1e20
    np.testing.assert_allclose(np.asarray(x), 1e20, rtol=1e-6)


def test_uniform_over_almost_all_of_float32():
    x = np.asarray(ji.uniform(-3e38, 3e38)(KEY, (200_000,)), np.float64)
    assert np.isfinite(x).all() and x.min() >= -3e38 and x.max() < 3e38
    assert abs(x.mean()) < 5 * 3e38 / math.sqrt(3 * x.size)


@pytest.mark.slow
def test_bernoulli_of_a_tiny_probability_is_exact():
    # p = 1e-8 is far below float32's uniform resolution (2^-23): once 13 ones in 1e8
    n, p = 100_000_000, 1e-8
    total = sum(int(ji.bernoulli(p)(jax.random.key(s), (n // 10,), jnp.bool_).sum()) for s in range(10))
    assert stats.poisson(n * p).sf(total - 1) > 1e-4 and stats.poisson(n * p).cdf(total) > 1e-4


def test_bernoulli_below_float32_resolution_has_the_right_rate():
    # p = 3e-8 < 2^-23: 3e7 draws expect 0.9; the old rounding gave p = 2^-23 (3.6 expected)
    # and p = 2e-7: the rate must be p itself, not a multiple of 2^-23 (1.19e-7)
    n = 30_000_000
    ones = int(ji.bernoulli(2e-7)(KEY, (n,), jnp.bool_).sum())
    assert stats.poisson(n * 2e-7).sf(ones - 1) > 1e-4 and stats.poisson(n * 2e-7).cdf(ones) > 1e-4


def test_bernoulli_count_is_binomial_for_a_per_element_p():
    p = jnp.array([0.0, 0.25, 0.5, 1.0])
    x = np.asarray(ji.bernoulli(p)(KEY, (200_000, 4)))
    assert x[:, 0].sum() == 0 and x[:, 3].sum() == 200_000
    for col, q in ((1, 0.25), (2, 0.5)):
        assert abs(x[:, col].sum() - 200_000 * q) < 5 * math.sqrt(200_000 * q * (1 - q))


# --- item 19: units are checked when built and attached once ---------------------------


def test_units_of_nested_combinators_are_known_when_built():
    init = ji.shift(ji.scale(ji.normal(1 * u.nS, 0.1 * u.nS), 2.0), 0.5 * u.nS)
    assert init.unit == u.nS
    x = init(KEY, (1000,))
    assert x.unit == u.nS
    assert abs(float(x.mantissa.mean()) - 2.5) < 0.05
    assert ji.scale(ji.normal(), 2 * u.mV).unit == u.mV
    assert ji.multiply(ji.constant(2 * u.nS), ji.constant(3 * u.mV))(KEY, (2,)).unit == u.pA


def test_parts_in_different_units_of_one_dimension_are_converted():
    x = ji.add(ji.constant(1 * u.nS), ji.constant(500 * u.psiemens))(KEY, (3,))
    assert x.unit == u.nS
    np.testing.assert_allclose(np.asarray(x.mantissa), 1.5, rtol=1e-6)


def test_a_plain_function_returning_a_quantity_is_named():
    def in_nanosiemens(key, shape, dtype=None, **ctx):
        return jnp.ones(shape) * u.nS

    with pytest.raises(ValueError, match="components\\[1\\].*nS"):
        ji.mixture([ji.normal(), in_nanosiemens])(KEY, (3,))


# --- also mended -----------------------------------------------------------------------


def test_pairwise_distances_of_one_population():
    pos = jnp.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(np.asarray(profiles.pairwise_distances(pos)), [[0.0, 5.0], [5.0, 0.0]])


def test_blocks_of_only_none_follow_the_dtype_rule():
    out = ji.blocks([2], [3], [[None]])(KEY, (2, 3))
    assert out.dtype == jax.dtypes.canonicalize_dtype(float)
    assert ji.blocks([2], [3], [[None]])(KEY, (2, 3), jnp.bfloat16).dtype == jnp.bfloat16


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    assert ji.__version__ == version("jaxinit")


def test_public_modules_declare_all():
    import jaxinit.profiles
    import jaxinit.topology

    for module in (jaxinit.profiles, jaxinit.topology):
        assert module.__all__ and all(hasattr(module, name) for name in module.__all__)

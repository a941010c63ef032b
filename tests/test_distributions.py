"""Statistics of every distribution against scipy.stats, and every parameter rule."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import jaxinit as ji
from tests.cases import RANDOM_CASES

N = 200_000
# With a fixed key these tests are deterministic; the floor is the false-alarm rate
# they would have if the key were drawn afresh.
P_FLOOR = 1e-3

continuous = [c for c in RANDOM_CASES if not c.discrete]


def _draw(init, seed=0, n=N):
    return np.asarray(init(jax.random.key(seed), (n,)), np.float64)


@pytest.mark.parametrize("case", continuous, ids=lambda c: c.id)
def test_kolmogorov_smirnov_against_scipy(case):
    result = stats.kstest(_draw(case.init), case.reference.cdf)
    assert result.pvalue > P_FLOOR, result


@pytest.mark.parametrize("case", RANDOM_CASES, ids=lambda c: c.id)
def test_mean_and_variance_within_five_standard_errors(case):
    x = _draw(case.init, seed=1)
    mean, var, excess_kurtosis = (float(v) for v in case.reference.stats(moments="mvk"))
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / N)
    # Var(s²) ≈ (μ4 − σ⁴)/n with μ4 = (excess kurtosis + 3)·σ⁴
    assert abs(x.var() - var) < 5 * math.sqrt((excess_kurtosis + 2) * var**2 / N)


@pytest.mark.parametrize("case", RANDOM_CASES, ids=lambda c: c.id)
def test_values_stay_in_the_support(case):
    x = _draw(case.init, seed=2)
    assert x.min() >= case.low and x.max() <= case.high


def test_bernoulli_count_is_binomial():
    x = _draw(ji.bernoulli(0.3), seed=3)
    assert set(np.unique(x)) == {0.0, 1.0}
    assert stats.binomtest(int(x.sum()), N, 0.3).pvalue > P_FLOOR


@pytest.mark.parametrize("dtype", [jnp.bool_, jnp.int32, jnp.uint8, jnp.float32])
def test_bernoulli_any_dtype(dtype):
    x = ji.bernoulli(0.5)(jax.random.key(0), (100,), dtype)
    assert x.dtype == dtype
    assert set(np.unique(np.asarray(x, np.float32))) <= {0.0, 1.0}


def test_bernoulli_edge_probabilities():
    key = jax.random.key(0)
    assert float(ji.bernoulli(0.0)(key, (1000,)).sum()) == 0.0
    assert float(ji.bernoulli(1.0)(key, (1000,)).sum()) == 1000.0


@pytest.mark.parametrize(
    "low_sigmas, high_sigmas",
    [(5.0, None), (8.0, 9.0), (20.0, 21.0), (None, -12.0), (-21.0, -20.0), (-2.0, 2.0), (-1.0, 30.0)],
)
def test_truncated_normal_is_exact_in_the_far_tail(low_sigmas, high_sigmas):
    mean, std = 1.0, 2.0
    low = None if low_sigmas is None else mean + low_sigmas * std
    high = None if high_sigmas is None else mean + high_sigmas * std
    x = _draw(ji.truncated_normal(mean, std, low, high), seed=4)
    assert np.all(np.isfinite(x))
    assert low is None or x.min() >= low
    assert high is None or x.max() <= high
    a = -np.inf if low_sigmas is None else low_sigmas
    b = np.inf if high_sigmas is None else high_sigmas
    reference = stats.truncnorm(a, b, loc=mean, scale=std)
    assert stats.kstest(x, reference.cdf).pvalue > P_FLOOR
    # the mean is the sharpest summary of where in the tail the mass sits
    assert abs(x.mean() - reference.mean()) < 5 * reference.std() / math.sqrt(N)


def test_truncated_normal_far_tail_under_vmap_over_bounds():
    lows = jnp.array([0.0, 8.0, 20.0])
    draws = jax.vmap(lambda lo: ji.truncated_normal(0.0, 1.0, lo, lo + 1.0)(jax.random.key(5), (20_000,)))(lows)
    for lo, x in zip([0.0, 8.0, 20.0], np.asarray(draws, np.float64), strict=True):
        reference = stats.truncnorm(lo, lo + 1.0)
        assert stats.kstest(x, reference.cdf).pvalue > P_FLOOR


def test_truncated_normal_with_infinite_bounds_is_normal():
    x = _draw(ji.truncated_normal(0.5, 2.0, -np.inf, np.inf), seed=6)
    assert stats.kstest(x, stats.norm(0.5, 2.0).cdf).pvalue > P_FLOOR


def test_zero_std_gives_the_mean():
    x = ji.normal(0.7, 0.0)(jax.random.key(0), (10,))
    np.testing.assert_array_equal(x, jnp.full((10,), 0.7, jnp.float32))
    np.testing.assert_allclose(ji.lognormal(2.0, 0.0)(jax.random.key(0), (10,)), 2.0, rtol=1e-6)


def test_lognormal_parameterisation_matches_the_result_moments():
    x = _draw(ji.lognormal(0.2, 0.05), seed=7)
    assert abs(x.mean() - 0.2) < 5 * 0.05 / math.sqrt(N)
    assert abs(np.log(x).std() - math.sqrt(math.log1p(0.0625))) < 0.01


# --- every parameter rule ------------------------------------------------------

BAD = [
    (lambda: ji.normal(std=-1.0), ValueError, "normal: std must be >= 0, got -1.0"),
    (lambda: ji.normal(mean=math.nan), ValueError, "normal: mean must not be NaN, got nan"),
    (lambda: ji.normal(mean=math.inf), ValueError, "normal: mean must be finite, got inf"),
    (lambda: ji.normal(std=np.array([1.0, -2.0])), ValueError, r"normal: std must be >= 0, got -2.0 at index \(1,\)"),
    (lambda: ji.normal(mean="a"), TypeError, "normal: mean must be a number or an array of numbers, got 'a'"),
    (lambda: ji.uniform(1.0, 1.0), ValueError, "uniform: low must be < high, got low=1.0, high=1.0"),
    (lambda: ji.uniform(2.0, 1.0), ValueError, "uniform: low must be < high"),
    (lambda: ji.uniform(-math.inf, 1.0), ValueError, "uniform: low must be finite"),
    (lambda: ji.uniform(np.zeros(3), np.ones(2)), ValueError, "uniform: low .* and high .* must broadcast together"),
    (lambda: ji.truncated_normal(std=-1.0), ValueError, "truncated_normal: std must be >= 0, got -1.0"),
    (lambda: ji.truncated_normal(low=2.0, high=1.0), ValueError, "truncated_normal: low must be < high"),
    (lambda: ji.truncated_normal(low=math.nan), ValueError, "truncated_normal: low must not be NaN"),
    (lambda: ji.truncated_normal(mean=math.inf), ValueError, "truncated_normal: mean must be finite"),
    (lambda: ji.lognormal(0.0, 1.0), ValueError, "lognormal: mean must be > 0, got 0.0"),
    (lambda: ji.lognormal(-1.0, 1.0), ValueError, "lognormal: mean must be > 0"),
    (lambda: ji.lognormal(1.0, -0.1), ValueError, "lognormal: std must be >= 0"),
    (lambda: ji.gamma(0.0), ValueError, "gamma: concentration must be > 0, got 0.0"),
    (lambda: ji.gamma(1.0, -1.0), ValueError, "gamma: scale must be >= 0"),
    (lambda: ji.exponential(-1.0), ValueError, "exponential: scale must be >= 0, got -1.0"),
    (lambda: ji.weibull(-2.0), ValueError, "weibull: concentration must be > 0"),
    (lambda: ji.weibull(1.0, -3.0), ValueError, "weibull: scale must be >= 0"),
    (lambda: ji.beta(0.0, 1.0), ValueError, "beta: alpha must be > 0"),
    (lambda: ji.beta(1.0, -1.0), ValueError, "beta: beta must be > 0"),
    (lambda: ji.beta(1.0, 1.0, low=1.0, high=0.0), ValueError, "beta: low must be < high"),
    (lambda: ji.bernoulli(1.5), ValueError, r"bernoulli: p must be in \[0, 1\], got 1.5"),
    (lambda: ji.bernoulli(-0.1), ValueError, r"bernoulli: p must be in \[0, 1\]"),
    (lambda: ji.constant(math.nan), ValueError, "constant: value must not be NaN"),
    (lambda: ji.constant(None), TypeError, "constant: value must be a number"),
]


@pytest.mark.parametrize("build, error, message", BAD, ids=[m.split(",")[0] for _, _, m in BAD])
def test_every_parameter_rule_raises_at_construction(build, error, message):
    with pytest.raises(error, match=message):
        build()


# --- random parameters and shapes (hypothesis, deterministic) --------------------

shapes = st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple)
positive = st.floats(0.05, 20.0)
real = st.floats(-50.0, 50.0)

FAMILIES = {
    "uniform": (st.tuples(real, positive), lambda lo, w: (ji.uniform(lo, lo + w), lo, lo + w)),
    "normal": (st.tuples(real, positive), lambda m, s: (ji.normal(m, s), -np.inf, np.inf)),
    "truncated_normal": (
        st.tuples(real, positive, st.floats(-30.0, 30.0), st.floats(0.01, 5.0)),
        lambda m, s, a, w: (ji.truncated_normal(m, s, m + a * s, m + (a + w) * s), m + a * s, m + (a + w) * s),
    ),
    "lognormal": (st.tuples(positive, positive), lambda m, s: (ji.lognormal(m, s), 0.0, np.inf)),
    "gamma": (st.tuples(positive, positive), lambda k, s: (ji.gamma(k, s), 0.0, np.inf)),
    "exponential": (st.tuples(positive), lambda s: (ji.exponential(s), 0.0, np.inf)),
    "weibull": (st.tuples(st.floats(0.3, 10.0), positive), lambda k, s: (ji.weibull(k, s), 0.0, np.inf)),
    "beta": (
        st.tuples(positive, positive, real, positive),
        lambda a, b, lo, w: (ji.beta(a, b, lo, lo + w), lo, lo + w),
    ),
    "bernoulli": (st.tuples(st.floats(0.0, 1.0)), lambda p: (ji.bernoulli(p), 0.0, 1.0)),
}


@pytest.mark.parametrize("family", FAMILIES)
@settings(derandomize=True, database=None, deadline=None, max_examples=12)  # each example compiles a new shape
@given(data=st.data(), shape=shapes)
def test_random_parameters_give_finite_values_in_the_support(family, data, shape):
    strategy, build = FAMILIES[family]
    init, low, high = build(*data.draw(strategy))
    x = init(jax.random.key(0), shape)
    assert x.shape == shape and x.dtype == jnp.float32
    values = np.asarray(x)
    assert np.all(np.isfinite(values))
    # bounds computed in float64 here may round by one float32 ulp inside the sampler
    slack = (
        4
        * np.finfo(np.float32).eps
        * max(1.0, abs(low) if np.isfinite(low) else 0, abs(high) if np.isfinite(high) else 0)
    )
    assert np.all(values >= low - slack) and np.all(values <= high + slack)


# --- the gamma sampler (also behind beta) ------------------------------------------


@pytest.mark.parametrize("concentration", [0.3, 1.0, 2.5, 30.0, 1000.0])
def test_gamma_across_concentrations(concentration):
    x = _draw(ji.gamma(concentration, 2.0), seed=8)
    assert stats.kstest(x, stats.gamma(concentration, scale=2.0).cdf).pvalue > P_FLOOR


@pytest.mark.parametrize("alpha, beta", [(0.5, 2.0), (50.0, 3.0), (0.2, 0.3)])
def test_beta_across_concentrations(alpha, beta):
    x = _draw(ji.beta(alpha, beta), seed=9)
    assert stats.kstest(x, stats.beta(alpha, beta).cdf).pvalue > P_FLOOR


def test_gamma_with_a_concentration_per_column():
    concentration = jnp.array([0.3, 1.0, 7.0])
    x = np.asarray(ji.gamma(concentration)(jax.random.key(10), (N // 2, 3)), np.float64)
    for column, k in enumerate([0.3, 1.0, 7.0]):
        assert stats.kstest(x[:, column], stats.gamma(k).cdf).pvalue > P_FLOOR


def test_gamma_redraw_when_more_are_rejected_than_the_buffer_holds():
    from jaxinit.distributions import _redraw_rejected

    # every element marked rejected: 16 passes over a buffer of n/16 slots
    n, concentration = 8192, 1.0
    d = jnp.full((n,), concentration - 1 / 3, jnp.float32)
    c = jax.lax.rsqrt(9 * d)
    log_g = _redraw_rejected(jax.random.key(11), d, c, jnp.full((n,), jnp.nan, jnp.float32), jnp.zeros(n, bool))
    x = np.exp(np.asarray(log_g, np.float64))
    assert np.all(np.isfinite(x))
    assert stats.kstest(x, stats.gamma(concentration).cdf).pvalue > P_FLOOR

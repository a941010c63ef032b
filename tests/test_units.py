"""Physical units through the brainunit wrapper."""

import math
import pickle

import brainunit as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit as ji

N = 200_000
KEY = jax.random.key(0)


def test_normal_in_nanosiemens_with_std_in_picosiemens():
    x = ji.normal(0.5 * u.nS, 100 * u.psiemens)(KEY, (N,))
    assert isinstance(x, u.Quantity) and x.unit == u.nS
    values = np.asarray(x.mantissa, np.float64)
    assert abs(values.mean() - 0.5) < 5 * 0.1 / math.sqrt(N)
    assert abs(values.std() - 0.1) < 5 * 0.1 / math.sqrt(2 * N)


UNIT_CASES = [
    (ji.constant(2.0 * u.mV), u.mV),
    (ji.uniform(0.1 * u.nS, 1.0 * u.nS), u.nS),
    (ji.normal(-65.0 * u.mV, 2.0 * u.mV), u.mV),
    (ji.truncated_normal(1.0 * u.ms, 0.5 * u.ms, low=0.2 * u.ms), u.ms),
    (ji.lognormal(0.5 * u.nS, 200 * u.psiemens), u.nS),
    (ji.gamma(2.0, 3.0 * u.ms), u.ms),
    (ji.exponential(5.0 * u.Hz), u.Hz),
    (ji.weibull(1.5, 2.0 * u.ms), u.ms),
    (ji.beta(2.0, 3.0, low=-70.0 * u.mV, high=-50.0 * u.mV), u.mV),
]


@pytest.mark.parametrize("init, unit", UNIT_CASES, ids=lambda v: repr(v) if not isinstance(v, u.Unit) else "")
def test_every_dimensional_distribution_returns_a_quantity_in_the_first_unit(init, unit):
    x = init(KEY, (100,))
    assert isinstance(x, u.Quantity) and x.unit == unit
    assert x.shape == (100,) and x.mantissa.dtype == jnp.float32
    assert bool(jnp.all(jnp.isfinite(x.mantissa)))


@pytest.mark.parametrize("init, unit", UNIT_CASES[:4], ids=lambda v: repr(v) if not isinstance(v, u.Unit) else "")
def test_quantities_under_jit_vmap_and_pickle(init, unit):
    eager = init(KEY, (5,))
    jitted = jax.jit(init, static_argnums=1)(KEY, (5,))
    np.testing.assert_allclose(jitted.mantissa, eager.mantissa, rtol=1e-6)
    keys = jax.random.split(KEY, 3)
    batched = jax.vmap(lambda k: init(k, (5,)))(keys)
    assert batched.unit == unit
    np.testing.assert_allclose(batched.mantissa, jnp.stack([init(k, (5,)).mantissa for k in keys]), rtol=1e-6)
    restored = pickle.loads(pickle.dumps(init))
    np.testing.assert_array_equal(restored(KEY, (5,)).mantissa, eager.mantissa)


def test_unit_free_calls_return_plain_arrays_even_with_brainunit_loaded():
    x = ji.normal(0.5, 0.1)(KEY, (3,))
    assert isinstance(x, jax.Array) and not isinstance(x, u.Quantity)


def test_repr_shows_the_quantities_in_the_initializer_unit():
    assert repr(ji.normal(0.5 * u.nS, 100 * u.psiemens)) == "normal(mean=0.5 nS, std=0.1 nS)"
    assert repr(ji.scale(ji.normal(), 2 * u.mV)) == "scale(init=normal(mean=0.0, std=1.0), factor=2 mV)"


def test_incompatible_units_fail_early_naming_both():
    with pytest.raises(ValueError, match=r"normal: std is in mV, which cannot be converted to nS"):
        ji.normal(0.5 * u.nS, 1 * u.mV)


def test_plain_number_beside_a_quantity_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"normal: std is a plain number \(1.0\) but mean is a Quantity"):
        ji.normal(0.5 * u.nS, 1.0)
    with pytest.raises(ValueError, match=r"uniform: low is a plain number"):
        ji.uniform(0.0, 1.0 * u.nS)


@pytest.mark.parametrize(
    "build, param",
    [(lambda: ji.gamma(2.0 * u.nS), "concentration"), (lambda: ji.bernoulli(0.5 * u.nS), "p")],
)
def test_dimensionless_parameters_reject_quantities(build, param):
    with pytest.raises(ValueError, match=f"{param} is dimensionless and must be a plain number"):
        build()


def test_rules_are_checked_after_conversion_and_name_the_unit():
    with pytest.raises(ValueError, match=r"normal: std must be >= 0, got -0.001 \(in nS\)"):
        ji.normal(0.0 * u.nS, -1.0 * u.psiemens)
    with pytest.raises(ValueError, match=r"uniform: low must be < high, got low=1.0, high=0.5 \(in nS\)"):
        ji.uniform(1.0 * u.nS, 500.0 * u.psiemens)


def test_bounds_in_other_units_are_converted():
    x = ji.truncated_normal(1.0 * u.ms, 1.0 * u.ms, low=500.0 * u.us, high=2000.0 * u.us)(KEY, (10_000,))
    assert x.unit == u.ms
    assert float(x.mantissa.min()) >= 0.5 and float(x.mantissa.max()) <= 2.0

"""E/I builders: units, Dale's principle in a signed float dtype, traced parameters, positions
(issue 10 items 8, 16, 18; issue 11 Build 2)."""

import brainunit as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit as ji
from jaxinit import profiles
from jaxinit import topology as T

KEY = jax.random.key(0)


def _split(conn, n_exc):
    pre = np.asarray(conn.pre)
    weight = conn.weight.mantissa if hasattr(conn.weight, "mantissa") else conn.weight
    return np.asarray(weight[pre < n_exc]), np.asarray(weight[pre >= n_exc])


def test_weights_in_units():
    # braintools' own example: exc_weight=1.0 * u.nS used to raise a TypeError
    conn = T.excitatory_inhibitory(KEY, 100, exc_weight=1.0 * u.nS)
    assert conn.weight.unit == u.nS
    exc, inh = _split(conn, 80)
    assert np.all(exc == 1.0) and np.all(inh == -1.0)  # the default inhibitory weight takes the unit
    conn = T.excitatory_inhibitory(KEY, 100, 0.8, 0.1, 0.2, exc_weight=1.0 * u.nS, inh_weight=-800 * u.psiemens)
    exc, inh = _split(conn, 80)
    assert np.all(exc == 1.0) and np.allclose(inh, -0.8)
    conn = T.excitatory_inhibitory(KEY, 100, exc_weight=ji.lognormal(0.5 * u.nS, 0.1 * u.nS), inh_weight=2 * u.nS)
    exc, inh = _split(conn, 80)
    assert conn.weight.unit == u.nS and np.all(exc > 0) and np.all(inh == -2.0)


@pytest.mark.parametrize(
    "weights, message",
    [
        (dict(exc_weight=1.0 * u.nS, inh_weight=2.0), r"inh_weight is a plain number \(2.0\) but exc_weight is in nS"),
        (dict(exc_weight=1.0 * u.nS, inh_weight=1.0 * u.mV), "inh_weight is in mV, which cannot be converted to nS"),
        (dict(exc_weight=ji.normal(1.0 * u.nS, 0.1 * u.nS), inh_weight=ji.normal(1.0, 0.1)), "give inh_weight in"),
    ],
)
def test_mixed_units_fail_before_sampling(weights, message, monkeypatch):
    def no_sampling(*args, **kwargs):
        raise AssertionError("sampled before the unit check")

    monkeypatch.setattr(T._ei, "sample_pairs", no_sampling)
    with pytest.raises(ValueError, match=message):
        T.excitatory_inhibitory(KEY, 50, **weights)


def test_dale_signs_in_a_signed_float():
    # uint8 inhibitory weights came out +249; an f16 excitatory init down-cast f32 inhibitory ones
    def uint8_sevens(key, shape, dtype=None, **ctx):
        return jnp.full(shape, 7, jnp.uint8)

    conn = T.excitatory_inhibitory(KEY, 100, exc_weight=uint8_sevens, inh_weight=uint8_sevens)
    exc, inh = _split(conn, 80)
    assert conn.weight.dtype == jax.dtypes.canonicalize_dtype(float)
    assert np.all(exc == 7.0) and np.all(inh == -7.0)

    def f16_thirds(key, shape, dtype=None, **ctx):
        return jnp.full(shape, 1 / 3, jnp.float16)

    conn = T.excitatory_inhibitory(KEY, 100, exc_weight=f16_thirds, inh_weight=ji.constant(1 / 3))
    exc, inh = _split(conn, 80)
    assert conn.weight.dtype == jnp.float32
    assert np.all(exc == np.float32(np.float16(1 / 3))) and np.all(inh == -np.float32(1 / 3))


TRACED = [
    (lambda r: T.excitatory_inhibitory(KEY, 100, exc_ratio=r), "exc_ratio must be a concrete number"),
    (lambda p: T.excitatory_inhibitory(KEY, 100, p_inh=p), "p_inh must be a concrete number"),
    (lambda f: T.balanced_ei_network(KEY, 2, 100, 2, 0.1, f, 1.0, 0.1), "f must be a concrete number"),
    (lambda p: T.balanced_ei_network(KEY, 2, 100, 2, p, 0.8, 1.0, 0.1), "balanced_ei_network: p must be a concrete"),
    (lambda p: T.random_topology(KEY, 100, p=p), "random_topology: p must be a concrete number"),
]


@pytest.mark.parametrize("call, message", TRACED, ids=[m.split(" must")[0] for _, m in TRACED])
def test_traced_size_parameters_are_named(call, message):
    with pytest.raises(TypeError, match=message):
        jax.jit(call)(0.5)


def test_traced_weight_parameters_work():
    def recurrent(mu_e, sigma_0):
        return T.balanced_ei_network(KEY, 2, 100, 2, 0.1, 0.8, mu_e, sigma_0)[1].weight

    np.testing.assert_allclose(jax.jit(recurrent)(1.0, 0.1), recurrent(1.0, 0.1), rtol=1e-6)


def test_excitatory_inhibitory_with_positions():
    # weights built by synapse_values: a distance-dependent initializer sees each synapse's distance
    xy = jax.random.uniform(jax.random.key(4), (100, 2), maxval=400.0)
    exc = ji.modulate_by_distance(ji.ones, profiles.gaussian(100.0))
    conn = T.excitatory_inhibitory(KEY, 100, exc_weight=exc, inh_weight=0.5, positions=xy, box=400.0)
    d = np.asarray(T.synapse_distances(conn, xy, box=400.0))
    is_exc = np.asarray(conn.pre) < 80
    np.testing.assert_allclose(np.asarray(conn.weight)[is_exc], np.exp(-(d[is_exc] ** 2) / 2e4), rtol=1e-5)
    assert np.all(np.asarray(conn.weight)[~is_exc] == -0.5)

"""The initializer protocol, checked for every registered initializer."""

import pickle
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit as ji
from tests.cases import CASES
from tests.helpers import run_with_x64

case_ids = [c.id for c in CASES]


def _call(case, key, dtype=None, **extra):
    """The case's initializer at the contract shape, with the context it needs."""
    return case.init(key, case.shape, dtype, **case.ctx(case.shape), **extra)


def _expected_shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


@pytest.mark.parametrize(
    "case, shape", [(c, s) for c in CASES for s in c.shapes], ids=[f"{c.id}-{s}" for c in CASES for s in c.shapes]
)
def test_shape_and_default_dtype(case, shape):
    x = case.init(jax.random.key(0), shape, **case.ctx(shape))
    assert x.shape == _expected_shape(shape)
    assert x.dtype == jnp.float32
    assert bool(jnp.all(jnp.isfinite(x)))


@pytest.mark.parametrize("case", CASES, ids=case_ids)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
def test_float_dtypes_are_kept_and_stay_in_support(case, dtype):
    x = _call(case, jax.random.key(1), dtype)
    assert x.dtype == dtype
    values = np.asarray(x, np.float32)
    assert np.all(np.isfinite(values))
    # rounding to a half type may land on a bound of the support, never beyond it
    assert values.min() >= np.float32(jnp.asarray(case.low, dtype)) if np.isfinite(case.low) else True
    assert values.max() <= np.float32(jnp.asarray(case.high, dtype)) if np.isfinite(case.high) else True


@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_half_precision_is_the_rounded_float32_draw(case):
    key = jax.random.key(2)
    reference = _call(case, key, jnp.float32)
    np.testing.assert_array_equal(_call(case, key, jnp.bfloat16), reference.astype(jnp.bfloat16))


@pytest.mark.parametrize("case", [c for c in CASES if not c.any_dtype], ids=lambda c: c.id)
@pytest.mark.parametrize("dtype", [jnp.int32, jnp.uint8, jnp.bool_])
def test_integer_and_bool_dtypes_are_rejected(case, dtype):
    with pytest.raises(TypeError, match="dtype must be a floating"):
        _call(case, jax.random.key(0), dtype)


@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_typed_and_legacy_keys_give_the_same_values(case):
    typed = _call(case, jax.random.key(3))
    legacy = _call(case, jax.random.PRNGKey(3))
    np.testing.assert_array_equal(typed, legacy)


@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_same_key_same_values_and_jit_matches_eager(case):
    key = jax.random.key(4)
    eager = _call(case, key)
    np.testing.assert_array_equal(eager, _call(case, key))
    jitted = jax.jit(lambda k, ctx: case.init(k, case.shape, **ctx))(key, case.ctx(case.shape))
    np.testing.assert_allclose(jitted, eager, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_vmap_over_keys_equals_stacked_calls(case):
    keys = jax.random.split(jax.random.key(5), 6)
    batched = jax.vmap(lambda k: _call(case, k))(keys)
    stacked = jnp.stack([_call(case, k) for k in keys])
    np.testing.assert_allclose(batched, stacked, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_unknown_context_is_ignored(case):
    key = jax.random.key(6)
    with_context = _call(case, key, unused_array=jnp.ones(case.shape), neuron_type="E")
    np.testing.assert_array_equal(with_context, _call(case, key))


@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_no_recompilation_for_a_new_key(case):
    traces = []

    def draw(key):
        traces.append(None)
        return _call(case, key)

    jitted = jax.jit(draw)
    jitted(jax.random.key(0)).block_until_ready()
    jitted(jax.random.key(1)).block_until_ready()
    assert len(traces) == 1


@pytest.mark.parametrize("case", CASES, ids=case_ids)
def test_positional_flax_convention(case):
    x = case.init(jax.random.key(0), case.shape, jnp.float32, **case.ctx(case.shape))
    assert x.shape == case.shape and x.dtype == jnp.float32


@pytest.mark.parametrize("case", [c for c in CASES if "callable" not in c.id], ids=lambda c: c.id)
def test_pickle_round_trip_keeps_values_and_repr(case):
    restored = pickle.loads(pickle.dumps(case.init))
    assert repr(restored) == repr(case.init)
    restored_values = restored(jax.random.key(7), case.shape, **case.ctx(case.shape))
    np.testing.assert_array_equal(restored_values, _call(case, jax.random.key(7)))


def test_repr_shows_how_it_was_built():
    assert repr(ji.normal(mean=0.5, std=0.3)) == "normal(mean=0.5, std=0.3)"
    assert repr(ji.truncated_normal(0.0, 1.0, high=2.0)) == "truncated_normal(mean=0.0, std=1.0, low=None, high=2.0)"
    assert repr(ji.uniform(jnp.array([0.0, 1.0]), 2.0)) == "uniform(low=[0.0, 1.0], high=2.0)"
    assert repr(ji.normal(jnp.zeros(100), 1.0)) == "normal(mean=float32[100], std=1.0)"


@pytest.mark.parametrize(
    "key, message",
    [
        (0, "key must be a PRNG key"),
        (np.zeros(3, np.float32), "key must be a PRNG key"),
        (jax.random.split(jax.random.key(0), 2), "single PRNG key"),
    ],
)
def test_bad_key_is_a_type_error(key, message):
    with pytest.raises(TypeError, match=message):
        ji.normal()(key, (3,))


@pytest.mark.parametrize(
    "shape, error", [((2, -1), ValueError), (2.5, TypeError), ("3", TypeError), ((2, None), TypeError)]
)
def test_bad_shape(shape, error):
    with pytest.raises(error, match="normal: shape"):
        ji.normal()(jax.random.key(0), shape)


def test_numpy_integer_shapes_are_accepted():
    assert ji.normal()(jax.random.key(0), (np.int64(2), np.int32(3))).shape == (2, 3)


def test_array_parameters_broadcast_per_column():
    std = jnp.array([0.0, 1.0, 10.0])
    x = ji.normal(0.0, std)(jax.random.key(0), (20_000, 3))
    assert x.shape == (20_000, 3)
    assert float(x[:, 0].std()) == 0.0
    np.testing.assert_allclose(x[:, 1:].std(axis=0), [1.0, 10.0], rtol=0.03)


@pytest.mark.parametrize("std_shape", [(4,), (2, 1, 3)])
def test_parameter_that_would_change_the_shape_is_rejected(std_shape):
    with pytest.raises(
        ValueError, match=r"normal: std has shape .* does not broadcast to the requested shape \(2, 3\)"
    ):
        ji.normal(0.0, jnp.ones(std_shape))(jax.random.key(0), (2, 3))


def test_vmap_over_a_traced_hyperparameter():
    key = jax.random.key(8)
    stds = jnp.array([0.5, 1.0, 2.0])
    batched = jax.vmap(lambda s: ji.normal(1.0, s)(key, (1000,)))(stds)
    stacked = jnp.stack([ji.normal(1.0, s)(key, (1000,)) for s in stds])
    np.testing.assert_allclose(batched, stacked, rtol=1e-6, atol=1e-6)


def test_traced_parameters_skip_validation_inside_jit():
    # -1 is invalid, but under jit the value is unknown at build time and must not break tracing
    x = jax.jit(lambda s: ji.normal(0.0, s)(jax.random.key(0), (3,)))(jnp.float32(-1.0))
    assert x.shape == (3,)


def test_float64_under_x64_in_its_own_process():
    script = (
        "import jax, jax.numpy as jnp, jaxinit as ji\n"
        "x = ji.normal(0.0, 1.0)(jax.random.key(0), (4,))\n"
        "y = ji.truncated_normal(0.0, 1.0, low=20.0, high=21.0)(jax.random.key(0), (1000,))\n"
        "assert x.dtype == jnp.float64, x.dtype\n"
        "assert y.dtype == jnp.float64 and float(y.min()) >= 20.0 and float(y.max()) <= 21.0\n"
        "assert ji.normal()(jax.random.key(0), (2,), jnp.float32).dtype == jnp.float32\n"
        "print('ok')\n"
    )
    assert run_with_x64(script) == "ok"


def test_importing_jaxinit_does_not_import_brainunit():
    script = "import sys, jaxinit; print('brainunit' in sys.modules or 'saiunit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"

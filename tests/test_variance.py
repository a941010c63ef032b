"""Variance scaling: bit-identity with jax.nn.initializers, statistics, and the errors jax lacks."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxinit as ji
from tests.helpers import run_with_x64

J = jax.nn.initializers
KEY = jax.random.key(7)

PAIRS = [
    ("kaiming_normal", ji.kaiming_normal, J.he_normal),
    ("kaiming_uniform", ji.kaiming_uniform, J.he_uniform),
    ("he_normal", ji.he_normal, J.he_normal),
    ("xavier_normal", ji.xavier_normal, J.glorot_normal),
    ("xavier_uniform", ji.xavier_uniform, J.glorot_uniform),
    ("glorot_uniform", ji.glorot_uniform, J.glorot_uniform),
    ("lecun_normal", ji.lecun_normal, J.lecun_normal),
    ("lecun_uniform", ji.lecun_uniform, J.lecun_uniform),
]
LAYOUTS = [  # (shape, in_axis, out_axis, batch_axis)
    ((64, 32), -2, -1, ()),  # dense
    ((3, 3, 16, 32), -2, -1, ()),  # conv HWIO
    ((5, 3, 3, 8, 16), -2, -1, 0),  # a stack of conv kernels
    ((8, 12), 1, 0, ()),  # (out, in), as Equinox stores Linear weights
    ((4, 6, 10), (0, 1), 2, ()),  # several input axes
    ((32, 3, 3, 16), 3, 0, ()),  # OHWI
]


@pytest.mark.parametrize("name, ours, theirs", PAIRS, ids=[p[0] for p in PAIRS])
@pytest.mark.parametrize("shape, in_axis, out_axis, batch_axis", LAYOUTS, ids=str)
def test_named_rules_are_bit_identical_to_jax(name, ours, theirs, shape, in_axis, out_axis, batch_axis):
    a = ours(in_axis, out_axis, batch_axis)(KEY, shape)
    b = theirs(in_axis, out_axis, batch_axis)(KEY, shape)
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "uniform"])
def test_variance_scaling_is_bit_identical_to_jax(mode, distribution):
    for shape, in_axis, out_axis, batch_axis in LAYOUTS:
        a = ji.variance_scaling(0.7, mode, distribution, in_axis, out_axis, batch_axis)(KEY, shape)
        b = J.variance_scaling(0.7, mode, distribution, in_axis, out_axis, batch_axis)(KEY, shape)
        np.testing.assert_array_equal(a, b)


def test_legacy_keys_and_jit_keep_the_identity():
    legacy = jax.random.PRNGKey(3)
    np.testing.assert_array_equal(ji.kaiming_normal()(legacy, (20, 30)), J.he_normal()(legacy, (20, 30)))
    jitted = jax.jit(lambda k: ji.xavier_uniform()(k, (20, 30)))(KEY)
    np.testing.assert_array_equal(jitted, J.glorot_uniform()(KEY, (20, 30)))


def test_orthogonal_and_delta_orthogonal_are_bit_identical_to_jax():
    for shape in [(6, 6), (4, 9), (9, 4), (3, 3, 5, 7)]:
        np.testing.assert_array_equal(ji.orthogonal()(KEY, shape), J.orthogonal()(KEY, shape))
        np.testing.assert_array_equal(ji.orthogonal(2.0, 0)(KEY, shape), J.orthogonal(2.0, 0)(KEY, shape))
    for shape in [(3, 4, 4), (3, 3, 4, 8), (3, 3, 3, 2, 2)]:
        np.testing.assert_array_equal(ji.delta_orthogonal(1.5)(KEY, shape), J.delta_orthogonal(1.5)(KEY, shape))


def test_float64_identity_in_its_own_process():
    script = (
        "import jax, jax.numpy as jnp, numpy as np, jaxinit as ji\n"
        "J = jax.nn.initializers; k = jax.random.key(1)\n"
        "for ours, theirs in [(ji.kaiming_normal(), J.he_normal()), (ji.xavier_uniform(), J.glorot_uniform()),\n"
        "                     (ji.orthogonal(), J.orthogonal())]:\n"
        "    a, b = ours(k, (16, 24)), theirs(k, (16, 24))\n"
        "    assert a.dtype == jnp.float64 == b.dtype\n"
        "    np.testing.assert_array_equal(a, b)\n"
        "print('ok')\n"
    )
    assert run_with_x64(script) == "ok"


def test_fans_match_jax_and_context_sets_the_layout():
    from jax._src.nn.initializers import _compute_fans

    for shape, in_axis, out_axis, batch_axis in LAYOUTS:
        assert ji.compute_fans(shape, in_axis, out_axis, batch_axis) == _compute_fans(
            shape, in_axis, out_axis, batch_axis
        )
    # an Equinox Linear(400, 10) stores its weight (10, 400): fan-in 400 from the context
    w = ji.variance_scaling(2.0, "fan_in", "normal")(KEY, (10, 400), in_axis=-1, out_axis=-2)
    np.testing.assert_array_equal(w, J.variance_scaling(2.0, "fan_in", "normal", -1, -2)(KEY, (10, 400)))
    # constructor axes win over the context
    fixed = ji.variance_scaling(2.0, "fan_in", "normal", in_axis=0, out_axis=1)
    np.testing.assert_array_equal(fixed(KEY, (10, 400), in_axis=-1, out_axis=-2), fixed(KEY, (10, 400)))


@pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "uniform"])
def test_variance_is_scale_over_fan(distribution):
    w = np.asarray(ji.variance_scaling(2.0, "fan_in", distribution)(KEY, (250, 800)), np.float64).ravel()
    target = 2.0 / 250
    kurtosis = {"truncated_normal": stats.truncnorm(-2, 2).stats("k"), "normal": 0.0, "uniform": -1.2}[distribution]
    assert abs(w.var() - target) < 5 * target * math.sqrt((float(kurtosis) + 2) / w.size)
    assert abs(w.mean()) < 5 * math.sqrt(target / w.size)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_half_precision_is_sampled_in_float32(dtype):
    a = ji.kaiming_normal()(KEY, (32, 16), dtype)
    np.testing.assert_array_equal(a, J.he_normal()(KEY, (32, 16), jnp.float32).astype(dtype))
    q = ji.orthogonal()(KEY, (64, 64), dtype)
    assert q.dtype == dtype
    np.testing.assert_allclose(np.asarray(q, np.float32) @ np.asarray(q, np.float32).T, np.eye(64), atol=0.05)


def test_orthogonal_with_a_batch_axis_orthogonalises_each_matrix():
    w = ji.orthogonal(batch_axis=0)(KEY, (5, 8, 8))
    for matrix in np.asarray(w):
        np.testing.assert_allclose(matrix @ matrix.T, np.eye(8), atol=1e-5)
    assert not np.allclose(w[0], w[1])
    stacked = ji.orthogonal(batch_axis=1)(KEY, (6, 3, 4))  # batch in the middle, columns last
    for b in range(3):
        m = np.asarray(stacked[:, b, :])
        np.testing.assert_allclose(m.T @ m, np.eye(4), atol=1e-5)


def test_identity():
    np.testing.assert_array_equal(ji.identity(0.5)(KEY, (3, 3)), 0.5 * np.eye(3))
    np.testing.assert_array_equal(ji.identity()(KEY, (2, 3, 4)), np.broadcast_to(np.eye(3, 4), (2, 3, 4)))


BAD = [
    (lambda: ji.variance_scaling(1.0, "fan_bogus", "normal"), ValueError, "mode must be one of 'fan_in'"),
    (lambda: ji.variance_scaling(1.0, "fan_in", "cauchy"), ValueError, "distribution must be one of"),
    (lambda: ji.variance_scaling(-1.0, "fan_in", "normal"), ValueError, "scale must be >= 0, got -1.0"),
    (lambda: ji.kaiming_normal(in_axis=-1, out_axis=-1), ValueError, "in_axis and out_axis must differ"),
    (lambda: ji.kaiming_normal(in_axis="0"), TypeError, "in_axis must be an int or a sequence of ints"),
    (lambda: ji.kaiming_normal()(KEY, (5,)), ValueError, "no input axis at the default in_axis=-2"),
    (lambda: ji.kaiming_normal()(KEY, (0, 5)), ValueError, "zero-size axis, so the fans are 0"),
    (lambda: ji.kaiming_normal(in_axis=2)(KEY, (3, 4)), ValueError, "in_axis=2 is out of range"),
    (lambda: ji.kaiming_normal(batch_axis=1)(KEY, (3, 4)), ValueError, "axis 1 is both out_axis and batch_axis"),
    (lambda: ji.orthogonal()(KEY, (5,)), ValueError, "orthogonal: needs a shape with at least 2 dimensions"),
    (lambda: ji.orthogonal(column_axis=1, batch_axis=1)(KEY, (3, 4)), ValueError, "also a batch_axis"),
    (lambda: ji.delta_orthogonal()(KEY, (3, 3)), ValueError, "needs a 3-, 4- or 5-dimensional"),
    (lambda: ji.delta_orthogonal()(KEY, (3, 3, 8, 4)), ValueError, "must not exceed the output channels"),
    (lambda: ji.identity()(KEY, (3,)), ValueError, "identity: needs a shape with at least 2"),
    (lambda: ji.kaiming_normal()(KEY, (3, 4), jnp.int32), TypeError, "dtype must be a floating"),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=[m for _, _, m in BAD])
def test_errors_jax_does_not_give(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_repr_names_the_rule():
    assert repr(ji.kaiming_normal()) == "kaiming_normal(in_axis=None, out_axis=None, batch_axis=())"
    assert repr(ji.variance_scaling(1.0, "fan_avg", "uniform")).startswith("variance_scaling(scale=1.0, mode='fan_avg'")

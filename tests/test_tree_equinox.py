"""reinit on every Equinox layer that holds a weight: the fans, layouts and bias context it passes.

Equinox stores weights ``(out, in)`` (``Linear``, the projections of ``MultiheadAttention``,
gate blocks of ``GRUCell``/``LSTMCell``) and ``(out, in, *spatial)`` (``Conv``,
``ConvTranspose``). Statistical checks compare a sample standard deviation with its target
within 5 standard errors (SE of a normal sample's std: sigma / sqrt(2 n); smaller for the
truncated normal and the uniform).
"""

import math

import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit as ji

KEY = jax.random.key(0)
MODES = {  # the denominator of each variance-scaling mode, from (fan_in, fan_out)
    "fan_in": lambda fan_in, fan_out: fan_in,
    "fan_out": lambda fan_in, fan_out: fan_out,
    "fan_avg": lambda fan_in, fan_out: (fan_in + fan_out) / 2,
}


def torch_bias(key, shape, dtype=None, fan_in=None, **ctx):
    """PyTorch's default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in from the context reinit passes."""
    bound = 1.0 / math.sqrt(fan_in)
    return jax.random.uniform(key, shape, dtype, -bound, bound)


def _assert_std(x, target):
    """The sample std of ``x`` is within 5 standard errors (normal sample: target / sqrt(2 n)) of ``target``."""
    std, tolerance = float(jnp.std(x)), 5 * target / math.sqrt(2 * np.size(x))
    assert abs(std - target) < tolerance, f"std {std:.4f}, expected {target:.4f} +- {tolerance:.4f}"


def _assert_uniform_bound(x, bound):
    """Inside ``[-bound, bound]`` and reaching past 0.9 bound (P(miss) = 0.9**n, below 1e-6 for n >= 132)."""
    top = float(jnp.abs(x).max())
    assert 0.9 * bound < top <= bound, f"max |x| {top:.4f}, expected just under {bound:.4f}"


def test_gru_weight_ih_kaiming_fan_in_is_the_input_size():
    # the call: weight_ih is (150, 10); the std was 0.115 (fan-in 150), not sqrt(2/10) = 0.447
    cell = eqx.nn.GRUCell(10, 50, key=KEY)
    new = ji.reinit(KEY, cell, {"weight_ih": ji.kaiming_normal()})
    _assert_std(new.weight_ih, math.sqrt(2 / 10))
    np.testing.assert_array_equal(new.weight_hh, cell.weight_hh)


def _flax_cell_kernels(cell_type, n_in, hidden, init):
    """Flax's own cell with ``init`` for every kernel: ``{"input": [kernels], "hidden": [kernels]}``."""
    cell = cell_type(features=hidden, kernel_init=init, recurrent_kernel_init=init)
    x = jnp.ones((1, n_in), jnp.float32)  # Flax's param dtype, also under x64 and strict promotion
    params = cell.init(KEY, cell.initialize_carry(KEY, x.shape), x)["params"]
    return {
        "input": [p["kernel"] for name, p in sorted(params.items()) if name.startswith("i")],
        "hidden": [p["kernel"] for name, p in sorted(params.items()) if name.startswith("h")],
    }


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize(
    "flax_cell, eqx_cell, gates", [(nn.GRUCell, eqx.nn.GRUCell, 3), (nn.LSTMCell, eqx.nn.LSTMCell, 4)]
)
def test_recurrent_cells_have_the_per_gate_fans_flax_computes(mode, flax_cell, eqx_cell, gates):
    n_in, hidden = 32, 48
    init = ji.variance_scaling(1.0, mode, "normal")
    flax_kernels = _flax_cell_kernels(flax_cell, n_in, hidden, init)
    new = ji.reinit(KEY, eqx_cell(n_in, hidden, key=KEY), {"weight_*": init})
    for kind, weight in (("input", new.weight_ih), ("hidden", new.weight_hh)):
        kernels = flax_kernels[kind]
        assert len(kernels) == gates
        fan_in, fan_out = kernels[0].shape  # Flax's rule: each gate its own Dense kernel (in, hidden)
        target = math.sqrt(1.0 / MODES[mode](fan_in, fan_out))
        _assert_std(jnp.concatenate(kernels, axis=1), target)  # Flax's own cell draws that law
        assert weight.shape == (gates * hidden, fan_in)
        _assert_std(weight, target)  # and so does the Equinox cell reinit redraws


@pytest.mark.parametrize("cell_type, gates", [(eqx.nn.GRUCell, 3), (eqx.nn.LSTMCell, 4)])
def test_orthogonal_recurrent_weight_is_orthogonal_per_gate(cell_type, gates):
    # Flax's default recurrent_kernel_init: one orthogonal (hidden, hidden) kernel per gate
    hidden = 32
    new = ji.reinit(KEY, cell_type(16, hidden, key=KEY), {"weight_hh": ji.orthogonal()})
    blocks = np.split(np.asarray(new.weight_hh), gates)
    for block in blocks:
        np.testing.assert_allclose(block @ block.T, np.eye(hidden), atol=1e-5)
    assert not np.allclose(blocks[0], blocks[1])  # one key per gate


def test_recurrent_cell_biases_get_the_fan_in_of_the_weight_they_are_added_to():
    # Equinox adds GRUCell.bias to weight_ih @ x (Flax: the input kernels carry it) and bias_n to the
    # hidden n-gate (Flax: 'hn'); LSTMCell.bias sits on the hidden kernels in Flax. It was None: a crash.
    gru = ji.reinit(KEY, eqx.nn.GRUCell(10, 50, key=KEY), {"bias*": torch_bias})
    _assert_uniform_bound(gru.bias, 1 / math.sqrt(10))
    lstm = ji.reinit(KEY, eqx.nn.LSTMCell(10, 50, key=KEY), {"bias": torch_bias})
    _assert_uniform_bound(lstm.bias, 1 / math.sqrt(50))
    big = ji.reinit(KEY, eqx.nn.GRUCell(10, 200, key=KEY), {"bias_n": torch_bias})  # 200 draws for the bound
    _assert_uniform_bound(big.bias_n, 1 / math.sqrt(200))


def test_multihead_attention_projections_are_out_in():
    mha = eqx.nn.MultiheadAttention(4, 64, 32, 48, 16, key=KEY)  # query 64, key 32, value 48, output 16
    new = ji.reinit(KEY, mha, {"*_proj/weight": ji.kaiming_normal()})
    for proj, n_in in (("query_proj", 64), ("key_proj", 32), ("value_proj", 48), ("output_proj", 64)):
        weight = getattr(new, proj).weight
        assert weight.shape[1] == n_in
        _assert_std(weight, math.sqrt(2 / n_in))


CONVS = [  # (layer, in, out, kernel size): out >= 132 for the bias bound check
    (eqx.nn.Conv1d, 16, 160, 5),
    (eqx.nn.Conv2d, 8, 144, 3),
    (eqx.nn.Conv3d, 4, 140, 3),
    (eqx.nn.ConvTranspose1d, 16, 160, 5),
    (eqx.nn.ConvTranspose2d, 8, 144, 3),
    (eqx.nn.ConvTranspose3d, 4, 140, 3),
]


@pytest.mark.parametrize("layer, n_in, n_out, size", CONVS, ids=lambda v: getattr(v, "__name__", ""))
def test_conv_and_conv_transpose_fans(layer, n_in, n_out, size):
    conv = layer(n_in, n_out, size, key=KEY)
    assert conv.weight.shape[:2] == (n_out, n_in)  # Equinox: (out, in, *spatial) for both
    field = size**conv.num_spatial_dims
    new = ji.reinit(KEY, conv, {"weight": ji.variance_scaling(1.0, "fan_avg", "normal"), "bias": torch_bias})
    _assert_std(new.weight, math.sqrt(2 / ((n_in + n_out) * field)))
    _assert_uniform_bound(new.bias, 1 / math.sqrt(n_in * field))


def test_grouped_conv_fan_in_is_the_group_input():
    conv = eqx.nn.Conv2d(16, 32, 3, groups=4, key=KEY)  # weight (32, 4, 3, 3), as Flax's (3, 3, 4, 32)
    new = ji.reinit(KEY, conv, {"weight": ji.kaiming_normal()})
    _assert_std(new.weight, math.sqrt(2 / (4 * 9)))


@pytest.mark.parametrize("layer, centre", [(eqx.nn.Conv1d, (1,)), (eqx.nn.Conv2d, (1, 1)), (eqx.nn.Conv3d, (1, 1, 1))])
def test_delta_orthogonal_on_an_equinox_conv_is_orthogonal_at_the_centre(layer, centre):
    # it put the orthogonal block across the spatial axes (9 non-zeros of 128 for a Conv2d)
    conv = layer(16, 32, 3, key=KEY)
    w = np.asarray(ji.reinit(KEY, conv, {"weight": ji.delta_orthogonal()}).weight)
    middle = w[(slice(None), slice(None), *centre)]  # (out, in) at the spatial centre
    np.testing.assert_allclose(middle.T @ middle, np.eye(16), atol=1e-5)
    rest = w.copy()
    rest[(slice(None), slice(None), *centre)] = 0.0
    np.testing.assert_array_equal(rest, 0.0)
    # jax's own delta_orthogonal in its layout (*spatial, in, out), for the leaf's key, transposed
    flax_layout = jax.nn.initializers.delta_orthogonal()(jax.random.fold_in(KEY, 0), (3,) * len(centre) + (16, 32))
    np.testing.assert_allclose(w, np.moveaxis(np.asarray(flax_layout), (-1, -2), (0, 1)), atol=1e-6)


def test_orthogonal_on_an_equinox_conv_has_orthonormal_filters():
    # as on a Flax kernel: the columns are the output channels, each filter (in x spatial) a unit vector
    w = ji.reinit(KEY, eqx.nn.Conv2d(16, 32, 3, key=KEY), {"weight": ji.orthogonal()}).weight
    filters = np.asarray(w).reshape(32, -1)
    np.testing.assert_allclose(filters @ filters.T, np.eye(32), atol=1e-5)


def test_embedding_fan_in_is_the_embedding_size_as_in_flax_embed():
    # Flax's nn.Embed default: variance_scaling(1.0, 'fan_in', 'normal', out_axis=0) on (num_embeddings, features),
    # whose fan_in is the embedding size: std 1/sqrt(64). reinit reads Equinox's table (out, in) to match.
    table = eqx.nn.Embedding(1000, 64, key=KEY)
    new = ji.reinit(KEY, table, {"weight": ji.variance_scaling(1.0, "fan_in", "normal")})
    _assert_std(new.weight, 1 / math.sqrt(64))
    _assert_std(nn.linear.default_embed_init(KEY, (1000, 64)), 1 / math.sqrt(64))


def test_linear_weights_are_drawn_as_stored():
    # Linear needs no transposition: the values are the initializer's for the leaf's shape and the (out, in) axes
    layer = eqx.nn.Linear(30, 20, key=KEY)
    new = ji.reinit(KEY, layer, {"weight": ji.kaiming_normal()})
    expected = ji.kaiming_normal(in_axis=-1, out_axis=-2)(jax.random.fold_in(KEY, 0), (20, 30))
    np.testing.assert_array_equal(new.weight, expected)


def test_gated_cells_under_jit_and_vmap():
    cell = eqx.nn.LSTMCell(8, 16, key=KEY)
    rules = {"weight_ih": ji.xavier_uniform(), "weight_hh": ji.orthogonal(), "bias": torch_bias}
    eager = ji.reinit(KEY, cell, rules)
    jitted = eqx.filter_jit(ji.reinit)(KEY, cell, rules)
    np.testing.assert_allclose(jitted.weight_hh, eager.weight_hh, atol=1e-6)
    members = eqx.filter_vmap(lambda k: ji.reinit(k, cell, rules))(jax.random.split(KEY, 3))
    assert members.weight_hh.shape == (3, 64, 16)
    np.testing.assert_allclose(
        members.weight_hh[0], ji.reinit(jax.random.split(KEY, 3)[0], cell, rules).weight_hh, atol=1e-5
    )


def test_a_rule_returning_the_wrong_shape_names_the_leaf():
    def wrong(key, shape, dtype=None, **ctx):
        return jnp.zeros((3,), dtype)

    with pytest.raises(
        ValueError, match=r"reinit: the rule 'weight_ih' on 'weight_ih' returned shape \(3,\), .*\(50, 10\)"
    ):
        ji.reinit(KEY, eqx.nn.GRUCell(10, 50, key=KEY), {"weight_ih": wrong})

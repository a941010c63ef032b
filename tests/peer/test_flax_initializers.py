# Ported from google/flax, commit 18f8f311c275d57f46d95e41b15aa97b454754c0:
#   tests/linen/initializers_test.py  (InitializersTest: all of it)
#   tests/linen/linen_linear_test.py  (LinearTest: the Dense/DenseGeneral/Conv cases whose
#                                      expected outputs follow from kernel_init/bias_init)
#   tests/nnx/rngs_test.py            (TestRngs.test_random_helpers: initializer values vs jax)
#   tests/nnx/nn/linear_test.py       (TestLayersSameGraph: initializers never enter the graph)
# Copyright 2024 The Flax Authors. Licensed under the Apache License, Version 2.0
# (http://www.apache.org/licenses/LICENSE-2.0); changes: `flax.linen.initializers`,
# `nnx.initializers` and `jax.nn.initializers` are jaxinit's, reached through
# tests/peer/_shim.py; absltest/parameterized is plain pytest.
#
# Not ported from linen_linear_test.py: the einsum, circular-padding, dilation and
# vs-numpy cases (they check the layers' contractions and padding; their random kernels
# are rank 4-5, each a multi-second XLA compile) and the complex-parameter cases (they
# use Flax's default initializers, not one under test).
"""Flax's own initializer tests, run against jaxinit (issue 10, "Tests and evidence")."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn
from flax import nnx
from jax import random

from tests.peer._shim import flax_initializers, jax_initializers

initializers = flax_initializers  # `from flax.linen import initializers` in the peer


# --- tests/linen/initializers_test.py: InitializersTest ------------------------------------------


@pytest.mark.parametrize(
    ("builder_fn", "params_shape", "expected_params"),
    [
        (initializers.zeros_init, (2, 3), jnp.zeros((2, 3))),
        (initializers.ones_init, (3, 2), jnp.ones((3, 2))),
    ],
)
def test_call_builder(builder_fn, params_shape, expected_params):
    params = builder_fn()(random.key(42), params_shape, jnp.float32)
    np.testing.assert_allclose(params, expected_params)


@pytest.mark.parametrize(
    ("builder_fn", "expected_params"),
    [
        (initializers.zeros_init, jnp.zeros((2, 5))),
        (initializers.ones_init, jnp.ones((2, 5))),
    ],
)
def test_kernel_builder(builder_fn, expected_params):
    layer = nn.Dense(5, kernel_init=builder_fn())
    params = layer.init(random.key(42), jnp.empty((3, 2)))["params"]
    np.testing.assert_allclose(params["kernel"], expected_params)


# --- tests/linen/linen_linear_test.py: LinearTest (`from jax.nn import initializers`) -------------


class TestLinear:
    initializers = jax_initializers

    def test_dense(self):
        rng = dict(params=random.key(0))
        x = jnp.ones((1, 3))
        dense_module = nn.Dense(
            features=4,
            kernel_init=self.initializers.ones,
            bias_init=self.initializers.ones,
        )
        y, _ = dense_module.init_with_output(rng, x)
        assert y.shape == (1, 4)
        assert y.dtype == jnp.float32
        np.testing.assert_allclose(y, np.full((1, 4), 4.0))

    def test_dense_extra_batch_dims(self):
        rng = dict(params=random.key(0))
        x = jnp.ones((1, 2, 3))
        dense_module = nn.Dense(
            features=4,
            kernel_init=self.initializers.ones,
            bias_init=self.initializers.ones,
        )
        y, _ = dense_module.init_with_output(rng, x)
        np.testing.assert_allclose(y, np.full((1, 2, 4), 4.0))

    def test_dense_no_bias(self):
        rng = dict(params=random.key(0))
        x = jnp.ones((1, 3))
        dense_module = nn.Dense(
            features=4,
            use_bias=False,
            kernel_init=self.initializers.ones,
        )
        y, _ = dense_module.init_with_output(rng, x)
        np.testing.assert_allclose(y, np.full((1, 4), 3.0))

    def test_dense_is_dense_general(self):
        x = jax.random.normal(random.key(0), (5, 3))
        dense_module = nn.Dense(
            features=4,
            use_bias=True,
            bias_init=self.initializers.normal(),
        )
        y1, _ = dense_module.init_with_output(dict(params=random.key(1)), x)
        dg_module = nn.DenseGeneral(
            features=4,
            use_bias=True,
            bias_init=self.initializers.normal(),
        )
        y2, _ = dg_module.init_with_output(dict(params=random.key(1)), x)

        np.testing.assert_allclose(y1, y2)

    def test_dense_general_batch_dim_raises(self):
        rng = dict(params=random.key(0))
        x = jnp.ones((1, 3, 2, 5))
        with pytest.raises(ValueError):
            dg_module = nn.DenseGeneral(
                features=4,
                batch_dims=(0, 2),
                kernel_init=self.initializers.ones,
                bias_init=self.initializers.ones,
            )
            dg_module.init_with_output(rng, x)

    def test_dense_general_two_out(self):
        rng = dict(params=random.key(0))
        x = jnp.ones((1, 3))
        dg_module = nn.DenseGeneral(
            features=(2, 2),
            kernel_init=self.initializers.ones,
            bias_init=self.initializers.ones,
        )
        y, _ = dg_module.init_with_output(rng, x)
        np.testing.assert_allclose(y, np.full((1, 2, 2), 4.0))

    def test_dense_general_two_in(self):
        rng = dict(params=random.key(0))
        x = jnp.ones((1, 2, 2))
        dg_module = nn.DenseGeneral(
            features=3,
            axis=(-2, 2),
            kernel_init=self.initializers.ones,
            bias_init=self.initializers.ones,
        )
        y, _ = dg_module.init_with_output(rng, x)
        np.testing.assert_allclose(y, np.full((1, 3), 5.0))

    def test_dense_general_batch_dim(self):
        rng = dict(params=random.key(0))
        x = jnp.ones((2, 1, 3, 5))

        state = {"counter": 0.0}

        def _counter_init(rng, shape, dtype, state):
            del rng, dtype
            state["counter"] += 1.0
            return jnp.full(shape, state["counter"])

        counter_init = functools.partial(_counter_init, state=state)

        dg_module = nn.DenseGeneral(
            features=7,
            axis=(3, -2),
            batch_dims=0,
            bias_init=self.initializers.ones,
            kernel_init=counter_init,
        )
        y, _ = dg_module.init_with_output(rng, x)
        target = np.full((2, 1, 7), 16.0)
        np.testing.assert_allclose(y, target)

    @pytest.mark.parametrize("use_bias", [True, False])
    def test_conv(self, use_bias):
        rng = dict(params=random.key(0))
        x = jnp.ones((1, 8, 3))
        conv_module = nn.Conv(
            features=4,
            use_bias=use_bias,
            kernel_size=(3,),
            padding="VALID",
            kernel_init=self.initializers.ones,
            bias_init=self.initializers.ones,
        )
        y, initial_params = conv_module.init_with_output(rng, x)
        assert initial_params["params"]["kernel"].shape == (3, 3, 4)
        expected = 10.0 if use_bias else 9.0
        np.testing.assert_allclose(y, np.full((1, 6, 4), expected))

    @pytest.mark.parametrize("use_bias", [True, False])
    def test_multibatch_input_conv(self, use_bias):
        rng = dict(params=random.key(0))
        x = jnp.ones((2, 5, 8, 3))
        conv_module = nn.Conv(
            features=4,
            use_bias=use_bias,
            kernel_size=(3,),
            padding="VALID",
            kernel_init=self.initializers.ones,
            bias_init=self.initializers.ones,
        )
        y, initial_params = conv_module.init_with_output(rng, x)
        assert initial_params["params"]["kernel"].shape == (3, 3, 4)
        expected = 10.0 if use_bias else 9.0
        np.testing.assert_allclose(y, np.full((2, 5, 6, 4), expected))

    def test_conv_local(self):
        rng = dict(params=random.key(0))
        x = jnp.ones((1, 8, 2))
        conv_module = nn.ConvLocal(
            features=4,
            kernel_size=(3,),
            padding="VALID",
            kernel_init=self.initializers.ones,
            bias_init=self.initializers.ones,
        )
        y, initial_params = conv_module.init_with_output(rng, x)
        assert initial_params["params"]["kernel"].shape == (6, 3 * 2, 4)
        np.testing.assert_allclose(y, np.full((1, 6, 4), 7.0))

    def test_single_input_conv(self):
        rng = dict(params=random.key(0))
        x = jnp.ones((8, 3))
        conv_module = nn.Conv(
            features=4,
            kernel_size=(3,),
            padding="VALID",
            kernel_init=self.initializers.ones,
            bias_init=self.initializers.ones,
        )
        y, initial_params = conv_module.init_with_output(rng, x)
        assert initial_params["params"]["kernel"].shape == (3, 3, 4)
        np.testing.assert_allclose(y, np.full((6, 4), 10.0))

    def test_single_input_masked_conv(self):
        rng = dict(params=random.key(0))
        x = jnp.ones((8, 3))
        m = jnp.tril(jnp.ones((3, 3, 4)))
        conv_module = nn.Conv(
            features=4,
            kernel_size=(3,),
            padding="VALID",
            mask=m,
            kernel_init=self.initializers.ones,
            bias_init=self.initializers.ones,
        )
        expected = jnp.array([[10.0, 7.0, 4.0, 1.0]] * 6)
        y, initial_params = conv_module.init_with_output(rng, x)
        assert initial_params["params"]["kernel"].shape == (3, 3, 4)
        np.testing.assert_allclose(y, expected)

    def test_single_input_conv_local(self):
        rng = dict(params=random.key(0))
        x = jnp.ones((8, 2))
        conv_module = nn.ConvLocal(
            features=4,
            kernel_size=(3,),
            padding="VALID",
            kernel_init=self.initializers.ones,
            bias_init=self.initializers.ones,
        )
        y, initial_params = conv_module.init_with_output(rng, x)
        assert initial_params["params"]["kernel"].shape == (6, 3 * 2, 4)
        np.testing.assert_allclose(y, np.full((6, 4), 7.0))

    def test_group_conv(self):
        rng = dict(params=random.key(0))
        x = jnp.ones((1, 8, 4))
        conv_module = nn.Conv(
            features=4,
            kernel_size=(3,),
            feature_group_count=2,
            padding="VALID",
            kernel_init=self.initializers.ones,
            bias_init=self.initializers.ones,
        )
        y, initial_params = conv_module.init_with_output(rng, x)
        assert initial_params["params"]["kernel"].shape == (3, 2, 4)
        np.testing.assert_allclose(y, np.full((1, 6, 4), 7.0))


# --- tests/nnx/rngs_test.py: TestRngs.test_random_helpers -----------------------------------------
# The peer checks that nnx.Rngs' helpers (rngs.normal, rngs.uniform, rngs.lecun_normal(),
# rngs.lecun_uniform()) draw exactly what jax draws from the stream's key; here the same
# draws come from jaxinit's initializers, called with the key each stream would use.


def test_random_helpers():
    default_key = functools.partial(jax.random.fold_in, jax.random.key(0))  # nnx.Rngs(0, params=1)
    params_key = functools.partial(jax.random.fold_in, jax.random.key(1))

    x_nnx = flax_initializers.normal(1.0)(default_key(0), (2, 3))  # rngs.normal((2, 3))
    x_jax = jax.random.normal(jax.random.fold_in(jax.random.key(0), 0), (2, 3))
    np.testing.assert_allclose(x_nnx, x_jax)

    x_nnx = flax_initializers.uniform(1.0)(params_key(0), (2, 3))  # rngs.params.uniform((2, 3))
    x_jax = jax.random.uniform(jax.random.fold_in(jax.random.key(1), 0), (2, 3))
    np.testing.assert_allclose(x_nnx, x_jax)

    x_nnx = flax_initializers.lecun_normal()(default_key(1), (2, 3))  # rngs.lecun_normal()((2, 3))
    x_jax = jax.nn.initializers.lecun_normal()(jax.random.fold_in(jax.random.key(0), 1), (2, 3))
    np.testing.assert_allclose(x_nnx, x_jax)

    x_nnx = flax_initializers.lecun_uniform()(params_key(1), (2, 3))  # rngs.params.lecun_uniform()((2, 3))
    x_jax = jax.nn.initializers.lecun_uniform()(jax.random.fold_in(jax.random.key(1), 1), (2, 3))
    np.testing.assert_allclose(x_nnx, x_jax)


# --- tests/nnx/nn/linear_test.py: TestLayersSameGraph ------------------------------------------------


@pytest.mark.parametrize(
    "module_args_kwargs_initargs",
    [
        (nnx.LinearGeneral, (2, (3, 4)), ("kernel_init", "bias_init")),
        (nnx.Linear, (2, 4), ("kernel_init", "bias_init")),
        (nnx.Einsum, ("ik,kj->ij", (5, 4), 5), ("kernel_init", "bias_init")),
        (nnx.Conv, (2, 4, 3), ("kernel_init", "bias_init")),
        (nnx.ConvTranspose, (2, 4, 3), ("kernel_init", "bias_init")),
        (nnx.Embed, (2, 4), ("embedding_init",)),
        (
            nnx.MultiHeadAttention,
            (8, 5, 16),
            ("kernel_init", "out_kernel_init", "bias_init", "out_bias_init"),
        ),
        (nnx.BatchNorm, (3,), ("scale_init", "bias_init")),
        (nnx.LayerNorm, (3,), ("scale_init", "bias_init")),
        (nnx.RMSNorm, (3,), ("scale_init",)),
        (nnx.GroupNorm, (6, 3), ("scale_init", "bias_init")),
        (nnx.InstanceNorm, (6,), ("scale_init", "bias_init")),
        (nnx.LSTMCell, (4, 5), ("kernel_init", "recurrent_kernel_init", "bias_init")),
        (nnx.OptimizedLSTMCell, (4, 5), ("kernel_init", "recurrent_kernel_init", "bias_init")),
        (nnx.SimpleCell, (4, 5), ("kernel_init", "recurrent_kernel_init", "bias_init")),
        (nnx.GRUCell, (4, 5), ("kernel_init", "recurrent_kernel_init", "bias_init")),
    ],
    ids=lambda case: case[0].__name__,
)
def test_layers_same_graph(module_args_kwargs_initargs):
    module_cls, args, init_argnames = module_args_kwargs_initargs
    kwargs = {"rngs": nnx.Rngs(0)}
    init_zeros = flax_initializers.zeros
    init_ones = flax_initializers.ones
    init1_kwargs = {k: init_zeros for k in init_argnames}
    init2_kwargs = {k: init_ones for k in init_argnames}
    mod1 = module_cls(*args, **init1_kwargs, **kwargs)
    mod2 = module_cls(*args, **init2_kwargs, **kwargs)
    g1, g2 = nnx.graphdef(mod1), nnx.graphdef(mod2)
    assert g1 == g2

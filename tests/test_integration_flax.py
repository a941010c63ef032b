"""Every jaxinit initializer as a Flax kernel_init / bias_init (Flax passes (key, shape, dtype))."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxinit as ji
from tests.cases import CASES

KEY = jax.random.key(0)


# a kernel shape every non-contextual case accepts: blocks and delta_orthogonal have their own
KERNEL_CASES = [c for c in CASES if not c.ctx(c.shape) and len(c.shape) == 2 and c.id != "blocks"]
BIAS_CASES = [c for c in CASES if not c.ctx(c.shape) and 7 in c.shapes]


@pytest.mark.parametrize("case", KERNEL_CASES, ids=lambda c: c.id)
def test_kernel_init_in_nnx_and_linen_dense(case):
    n_in, n_out = case.shape
    layer = nnx.Linear(n_in, n_out, kernel_init=case.init, rngs=nnx.Rngs(0))
    assert layer.kernel[...].shape == (n_in, n_out) and layer.kernel[...].dtype == jnp.float32
    params = nn.Dense(n_out, kernel_init=case.init).init(KEY, jnp.ones((1, n_in)))
    kernel = params["params"]["kernel"]
    assert kernel.shape == (n_in, n_out)
    # linen hands the initializer its own key for the kernel; the values are the initializer's
    assert bool(jnp.all(jnp.isfinite(kernel)))


@pytest.mark.parametrize("case", BIAS_CASES, ids=lambda c: c.id)
def test_bias_init_in_nnx_linear(case):
    layer = nnx.Linear(3, 7, bias_init=case.init, rngs=nnx.Rngs(0))
    assert layer.bias[...].shape == (7,)


@pytest.mark.parametrize(
    "init", [ji.kaiming_normal(), ji.orthogonal(), ji.delta_orthogonal(), ji.normal(0.0, 0.02)], ids=repr
)
def test_conv_kernel_init(init):
    conv = nnx.Conv(4, 8, kernel_size=(3, 3), kernel_init=init, rngs=nnx.Rngs(0))
    assert conv.kernel[...].shape == (3, 3, 4, 8)
    params = nn.Conv(8, (3, 3), kernel_init=init).init(KEY, jnp.ones((1, 5, 5, 4)))
    assert params["params"]["kernel"].shape == (3, 3, 4, 8)


def test_kaiming_in_flax_equals_jax_he_normal_in_flax():
    ours = nnx.Linear(64, 32, kernel_init=ji.kaiming_normal(), rngs=nnx.Rngs(3))
    theirs = nnx.Linear(64, 32, kernel_init=jax.nn.initializers.he_normal(), rngs=nnx.Rngs(3))
    np.testing.assert_array_equal(ours.kernel[...], theirs.kernel[...])


def test_with_partitioning():
    init = nnx.with_partitioning(ji.xavier_uniform(), (None, "model"))
    mesh = jax.make_mesh((1,), ("model",))
    with jax.set_mesh(mesh):
        layer = nnx.Linear(16, 8, kernel_init=init, rngs=nnx.Rngs(0))
    assert layer.kernel[...].shape == (16, 8)
    assert tuple(layer.kernel.get_metadata()["out_sharding"]) == (None, "model")
    assert layer.kernel[...].sharding.spec == jax.sharding.PartitionSpec(None, "model")

"""Ensembles: vmapped initialisation and an optax training loop over all members at once."""

import sys
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jaxinit as ji

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from ensemble_training import make_member, train_ensemble  # noqa: E402


def test_vmapped_members_are_independent_and_match_single_calls():
    keys = jax.random.split(jax.random.key(0), 8)
    ensemble = eqx.filter_vmap(make_member)(keys)
    weights = np.asarray(ensemble.layers[1].weight)
    assert weights.shape == (8, 32, 32)
    correlations = np.corrcoef(weights.reshape(8, -1))[np.triu_indices(8, 1)]
    assert np.all(np.abs(correlations) < 5 / np.sqrt(32 * 32))
    np.testing.assert_allclose(weights[3], make_member(keys[3]).layers[1].weight, rtol=1e-6)


def test_every_member_of_an_eight_member_ensemble_learns():
    # optax mixes Python floats with int32 step counts: relax the suite's strict promotion for it
    with jax.numpy_dtype_promotion("standard"):
        before, after = train_ensemble(n_members=8, steps=200)
    assert before.shape == after.shape == (8,)
    assert bool(jnp.all(after < 0.2 * before)), (before, after)


def test_vmap_over_a_flax_constructor_with_jaxinit_kernels():
    from flax import nnx

    @nnx.vmap(in_axes=0, out_axes=0)
    def make(key):
        return nnx.Linear(64, 16, kernel_init=ji.kaiming_normal(), rngs=nnx.Rngs(params=key))

    models = make(jax.random.split(jax.random.key(1), 4))
    kernels = np.asarray(models.kernel[...])
    assert kernels.shape == (4, 64, 16)
    assert not np.allclose(kernels[0], kernels[1])
    np.testing.assert_allclose(kernels.std(axis=(1, 2)), np.sqrt(2 / 64), rtol=0.15)

"""Train an ensemble of 8 MLPs at once: jaxinit initialises, optax trains, one vmapped jitted step.

Run: ``python examples/ensemble_training.py``. Each member is an Equinox MLP whose
weights ``reinit`` redraws with Kaiming normal (fan-in from the Equinox layout) and
whose biases start at zero; ``eqx.filter_vmap`` builds all members from a batch of
keys, and every training step updates all of them in one compiled call.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

import jaxinit as ji

RULES = {"layers/*/weight": ji.kaiming_normal(), "layers/*/bias": ji.zeros}


def make_member(key: jax.Array) -> eqx.nn.MLP:
    key_model, key_init = jax.random.split(key)
    model = eqx.nn.MLP(1, 1, 32, 2, activation=jnp.tanh, key=key_model)
    return ji.reinit(key_init, model, RULES)


def train_ensemble(n_members: int = 8, steps: int = 300, seed: int = 0):
    """Returns the per-member losses before and after training, shape (n_members,) each."""
    key = jax.random.key(seed)
    ensemble = eqx.filter_vmap(make_member)(jax.random.split(key, n_members))
    params, static = eqx.partition(ensemble, eqx.is_array)
    x = jnp.linspace(-2.0, 2.0, 128)[:, None]
    y = jnp.sin(2.0 * x)
    optimizer = optax.adam(1e-2)

    def loss(member_params):
        model = eqx.combine(member_params, static)
        return jnp.mean((jax.vmap(model)(x) - y) ** 2)

    def update(member_params, opt_state):
        value, grads = jax.value_and_grad(loss)(member_params)
        updates, opt_state = optimizer.update(grads, opt_state, member_params)
        return optax.apply_updates(member_params, updates), opt_state, value

    step = jax.jit(jax.vmap(update))
    opt_state = jax.vmap(optimizer.init)(params)
    initial = jax.vmap(loss)(params)
    for _ in range(steps):
        params, opt_state, _ = step(params, opt_state)
    return initial, jax.vmap(loss)(params)


if __name__ == "__main__":
    before, after = train_ensemble()
    for i, (b, a) in enumerate(zip(before.tolist(), after.tolist(), strict=True)):
        print(f"member {i}: loss {b:.4f} -> {a:.4f}")

"""Excitatory/inhibitory builders: Dale's principle over the sampling core."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit._core import Initializer
from jaxinit.topology._checks import check_size
from jaxinit.topology._connectivity import Connectivity
from jaxinit.topology._memory import check_memory
from jaxinit.topology._sampling import DEFAULT_BLOCK, fill, sample_pairs


def _one_unit(name, values, labels):
    """Values as plain arrays in the unit of the first (all Quantities, or none)."""
    with_unit = [_core.is_quantity(v) for v in values]
    if not any(with_unit):
        return values, None
    if not all(with_unit):
        raise ValueError(f"{name}: give every one of {', '.join(labels)} in units, or none of them")
    from jaxinit import units

    unit = values[0].unit
    return [units.to_plain(name, label, v, unit) for v, label in zip(values, labels, strict=True)], unit


def _weights_by_type(key, init_or_value, n):
    if callable(init_or_value):
        return init_or_value(key, (n,))
    return jnp.full((n,), init_or_value, jax.dtypes.canonicalize_dtype(float))


def excitatory_inhibitory(
    key: ArrayLike,
    n: int,
    exc_ratio: float = 0.8,
    p_exc: float = 0.1,
    p_inh: float = 0.2,
    exc_weight: Initializer | float = 1.0,
    inh_weight: Initializer | float = 1.0,
    allow_autapse: bool = False,
    *,
    block_size: int = DEFAULT_BLOCK,
) -> Connectivity:
    """A recurrent E/I population with Dale's principle enforced.

    The first ``round(exc_ratio · n)`` neurons are excitatory. Excitatory neurons
    together make exactly ``round(p_exc · their allowed pairs)`` synapses and
    inhibitory ones ``round(p_inh · theirs)``, uniform over the allowed pairs. Weights
    are drawn per synapse by the pre neuron's type and signed by it: excitatory
    ``|w|``, inhibitory ``-|w|`` (magnitudes or signed draws both work).

    Args:
      key: a PRNG key.
      n: number of neurons.
      exc_ratio: fraction of excitatory neurons, in [0, 1].
      p_exc: connection probability of excitatory neurons, in [0, 1].
      p_inh: connection probability of inhibitory neurons, in [0, 1].
      exc_weight: initializer (or number) for excitatory weights.
      inh_weight: initializer (or number) for inhibitory weights.
      allow_autapse: allow ``pre == post``.
      block_size: elements drawn at once in the block-wise passes.

    Returns:
      A :class:`Connectivity` with weights, sorted by ``(pre, post)``.

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> conn = excitatory_inhibitory(jax.random.key(0), 500, exc_weight=ji.lognormal(0.5, 0.2))
      >>> bool((conn.weight[conn.pre < 400] > 0).all()), bool((conn.weight[conn.pre >= 400] < 0).all())
      (True, True)
    """
    name = "excitatory_inhibitory"
    n = check_size(name, "n", n)
    block = check_size(name, "block_size", block_size, 1)
    _core.validate(
        name,
        {"exc_ratio": exc_ratio, "p_exc": p_exc, "p_inh": p_inh},
        {"exc_ratio": _core.PROBABILITY, "p_exc": _core.PROBABILITY, "p_inh": _core.PROBABILITY},
    )
    for param, value in (("exc_weight", exc_weight), ("inh_weight", inh_weight)):
        if not callable(value):
            _core.validate(name, {param: value}, {param: _core.REAL})
    n_exc = round(exc_ratio * n)
    n_cols = n - 1 if not allow_autapse else n
    k_exc, k_inh = round(p_exc * n_exc * n_cols), round(p_inh * (n - n_exc) * n_cols)
    check_memory(name, k_exc + k_inh)
    key = _core.check_key(name, key)
    key_exc, key_inh, key_we, key_wi = jax.random.split(key, 4)
    pre_e, post_e = sample_pairs(key_exc, n_exc, n_cols, k_exc, 0, not allow_autapse, block)
    pre_i, post_i = sample_pairs(key_inh, n - n_exc, n_cols, k_inh, n_exc, not allow_autapse, block)
    w_exc = _weights_by_type(key_we, exc_weight, k_exc)
    w_inh = _weights_by_type(key_wi, inh_weight, k_inh)
    (w_exc, w_inh), unit = _one_unit(name, [w_exc, w_inh], ["exc_weight", "inh_weight"])
    weight = _core.attach_unit(jnp.concatenate([jnp.abs(w_exc), -jnp.abs(w_inh).astype(w_exc.dtype)]), unit)
    return Connectivity(jnp.concatenate([pre_e, pre_i]), jnp.concatenate([post_e, post_i]), weight, n, n)


def balanced_ei_network(
    key: ArrayLike,
    n_input: int,
    n: int,
    n_output: int,
    p: float,
    f: float,
    mu_e: float,
    sigma_0: float,
    *,
    block_size: int = DEFAULT_BLOCK,
) -> tuple[jax.Array, Connectivity, jax.Array]:
    """An E/I-balanced recurrent network with input and output weights.

    ``w_rec`` has exactly ``round(n² p)`` synapses, uniform over the ``n(n-1)`` pairs
    without autapses. Pre neurons ``< round(n f)`` are excitatory with weights
    ``N(mu_e, sigma_0²)``, the others inhibitory with ``N(mu_i, sigma_0²)``,
    ``mu_i = −f/(1−f)·mu_e`` (``f = 0``: ``mu_i = −mu_e``; ``f = 1``: no inhibitory
    neurons); recurrent weights are divided by ``√(n p)``, so the summed input to a
    neuron is balanced. ``w_in ~ N(0, 1)/√n_input``, ``w_out ~ N(0, 1)/√n_output``.

    Args:
      key: a PRNG key.
      n_input: number of inputs.
      n: number of recurrent neurons.
      n_output: number of outputs.
      p: recurrent connection probability, in (0, 1].
      f: fraction of excitatory neurons, in [0, 1].
      mu_e: mean excitatory weight (before the 1/√(np) scaling).
      sigma_0: weight standard deviation, ``>= 0``.
      block_size: elements drawn at once in the block-wise passes.

    Returns:
      ``(w_in (n, n_input), w_rec, w_out (n_output, n))``.

    Raises:
      ValueError: bad sizes or parameters, or ``round(n² p) > n(n−1)``.

    Example:
      >>> import jax
      >>> w_in, w_rec, w_out = balanced_ei_network(jax.random.key(0), 10, 1000, 2, p=0.1, f=0.8, mu_e=1.0, sigma_0=0.1)
      >>> w_in.shape, w_rec.nnz, w_out.shape
      ((1000, 10), 100000, (2, 1000))
    """
    name = "balanced_ei_network"
    n_input = check_size(name, "n_input", n_input)
    n = check_size(name, "n", n, 1)
    n_output = check_size(name, "n_output", n_output)
    block = check_size(name, "block_size", block_size, 1)
    _core.validate(
        name,
        {"p": p, "f": f, "mu_e": mu_e, "sigma_0": sigma_0},
        {"p": _core.PROBABILITY, "f": _core.PROBABILITY, "mu_e": _core.REAL, "sigma_0": _core.NONNEGATIVE},
    )
    if p == 0:
        raise ValueError(f"{name}: p must be > 0 (the weights are divided by sqrt(n p)), got {p}")
    k = round(n * n * p)
    if k > n * (n - 1):
        raise ValueError(
            f"{name}: round(n² p) = {k:,} synapses exceed the {n * (n - 1):,} pairs without autapses; lower p"
        )
    check_memory(name, k)
    key = _core.check_key(name, key)
    key_in, key_rec, key_w, key_out = jax.random.split(key, 4)
    dtype = jax.dtypes.canonicalize_dtype(float)
    w_in = jax.random.normal(key_in, (n, n_input), dtype) / jnp.sqrt(jnp.asarray(max(n_input, 1), dtype))
    w_out = jax.random.normal(key_out, (n_output, n), dtype) / jnp.sqrt(jnp.asarray(max(n_output, 1), dtype))
    pre, post = sample_pairs(key_rec, n, n - 1, k, 0, True, block)
    mu_i = -mu_e if f == 0 else (0.0 if f == 1 else -f / (1 - f) * mu_e)
    params = (jnp.asarray(x, dtype) for x in (mu_e, mu_i, sigma_0, math.sqrt(n * p)))
    weight = _balanced_weights(key_w, pre, round(n * f), min(block, k), *params) if k else jnp.zeros(0, dtype)
    return w_in, Connectivity(pre, post, weight, n, n), w_out


@functools.partial(jax.jit, static_argnums=(2, 3))
def _balanced_weights(key, pre, n_exc, block, mu_e, mu_i, sigma_0, scale):
    """``N(mu_e or mu_i by pre type, sigma_0²) / scale`` per synapse, a block at a time."""

    def draw_block(b, start):
        mean = jnp.where(lax.dynamic_slice(pre, (start,), (block,)) < n_exc, mu_e, mu_i)
        noise = jax.random.normal(jax.random.fold_in(key, b), (block,), scale.dtype)
        return ((mean + sigma_0 * noise) / scale,)

    return fill(pre.shape[0], block, draw_block)[0]

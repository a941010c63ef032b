"""Distance rules: partners drawn by a profile of the distance between neuron positions."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit.profiles import _minimum_image
from jaxinit.topology._checks import check_size
from jaxinit.topology._connectivity import Connectivity, empty
from jaxinit.topology._memory import check_memory
from jaxinit.topology._sampling import DEFAULT_BLOCK, fill, to_pre_major


def _positions(name: str, param: str, positions: Any) -> tuple[jax.Array, Any]:
    """Positions as a plain ``(n, dim)`` array and their unit (or None)."""
    unit = None
    if _core.is_quantity(positions):
        unit = positions.unit
        positions = positions.mantissa
    array = jnp.asarray(positions)
    array = array[:, None] if array.ndim == 1 else array
    if array.ndim != 2:
        raise ValueError(f"{name}: {param} must be an (n, dim) array, got shape {array.shape}")
    return array, unit


def position_pair(name: str, pre_positions: Any, post_positions: Any) -> tuple[jax.Array, jax.Array, Any]:
    """Plain pre and post positions (``None`` post: the pre ones) in one length unit (or None)."""
    pre_pos, unit = _positions(name, "pre_positions", pre_positions)
    if post_positions is None:
        return pre_pos, pre_pos, unit
    post_pos, post_unit = _positions(name, "post_positions", post_positions)
    if pre_pos.shape[1] != post_pos.shape[1]:
        raise ValueError(
            f"{name}: pre_positions {pre_pos.shape} and post_positions {post_pos.shape} differ in dimension"
        )
    if (unit is None) != (post_unit is None):
        raise ValueError(f"{name}: give both position arrays with units, or neither")
    if unit is not None and post_unit != unit:
        from jaxinit import units

        post_pos = units.to_plain(name, "post_positions", units.attach(post_pos, post_unit), unit)
    return pre_pos, post_pos, unit


def distance(diff: jax.Array, box: jax.Array | None) -> jax.Array:
    """Euclidean length of coordinate differences ``(..., dim)``, the shorter way round a
    periodic ``box``: the one distance formula of the topology builders."""
    return jnp.sqrt(jnp.sum(jnp.square(_minimum_image(diff, box)), axis=-1))


def pair_distances(pre_pos, post_pos, pre, post, box):
    """Distances of the synapses ``(pre, post)``, O(nnz)."""
    return distance(pre_pos[pre] - post_pos[post], box)


def distance_topology(
    key: ArrayLike,
    pre_positions: ArrayLike,
    post_positions: ArrayLike | None = None,
    *,
    profile: Callable[[jax.Array], jax.Array],
    k: int,
    box: ArrayLike | None = None,
    allow_autapse: bool = False,
    chunk: int = 256,
    block_size: int = DEFAULT_BLOCK,
) -> Connectivity:
    """Every post neuron draws ``k`` distinct pre neurons with probability ∝ ``profile(distance)``.

    Sampling without replacement uses the Gumbel top-k trick, one chunk of post
    neurons at a time, so memory is ``O(chunk · n_pre + nnz)``, never
    ``O(n_pre · n_post)``. Profile values below 0 count as 0; each post neuron needs
    at least ``k`` pre neurons with a positive profile value.

    Args:
      key: a PRNG key.
      pre_positions: ``(n_pre, dim)`` coordinates (plain or a Quantity).
      post_positions: ``(n_post, dim)`` coordinates, or ``None`` for a recurrent
        population at ``pre_positions`` (autapses then excluded unless allowed).
      profile: a distance profile, e.g. ``jaxinit.profiles.gaussian(100.0)``.
      k: the in-degree.
      box: periodic box side(s), or ``None``.
      allow_autapse: allow ``pre == post`` in a recurrent population.
      chunk: post neurons processed at once (memory ``chunk · n_pre``).
      block_size: synapses sorted at once (bounds the temporaries).

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)``.

    Raises:
      ValueError: positions of different dimension, or ``k`` too large.

    Example:
      >>> import jax
      >>> from jaxinit import profiles
      >>> xy = jax.random.uniform(jax.random.key(1), (200, 2), maxval=1000.0)
      >>> conn = distance_topology(jax.random.key(0), xy, profile=profiles.gaussian(100.0), k=10)
      >>> conn.in_degree().tolist() == [10] * 200
      True
    """
    name = "distance_topology"
    pre_pos, post_pos, unit = position_pair(name, pre_positions, post_positions)
    recurrent = post_positions is None
    n_pre, n_post = pre_pos.shape[0], post_pos.shape[0]
    k = check_size(name, "k", k)
    skip_diagonal = recurrent and not allow_autapse
    limit = n_pre - 1 if skip_diagonal else n_pre
    if k > limit:
        raise ValueError(f"{name}: k must be <= {limit} (the candidate pre neurons per post neuron), got {k}")
    chunk = check_size(name, "chunk", chunk, 1)
    block = check_size(name, "block_size", block_size, 1)
    check_memory(name, n_post * k)
    key = _core.check_key(name, key)
    if n_post * k == 0:
        return empty(n_pre, n_post)
    pre, post = _distance_pairs(key, pre_pos, post_pos, box, profile, unit, k, min(chunk, n_post), skip_diagonal, block)
    return Connectivity(pre, post, None, n_pre, n_post)


@functools.partial(jax.jit, static_argnums=(4, 5, 6, 7, 8, 9))
def _distance_pairs(key, pre_pos, post_pos, box, profile, unit, k, chunk, skip_diagonal, block):
    n_pre, n_post = pre_pos.shape[0], post_pos.shape[0]
    pre_index = jnp.arange(n_pre, dtype=jnp.int32)

    def pick(b, start):
        first = start // k  # the chunk's first post neuron
        positions = lax.dynamic_slice_in_dim(post_pos, first, chunk)
        d = distance(positions[:, None, :] - pre_pos[None, :, :], box)
        weights = profile(_core.attach_unit(d, unit))
        logits = jnp.log(jnp.maximum(jnp.asarray(weights, jnp.float32), 0.0))
        if skip_diagonal:
            post_index = first + jnp.arange(chunk, dtype=jnp.int32)
            logits = jnp.where(pre_index[None, :] == post_index[:, None], -jnp.inf, logits)
        gumbel = jax.random.gumbel(jax.random.fold_in(key, b), logits.shape, jnp.float32)
        return (lax.top_k(logits + gumbel, k)[1].astype(jnp.int32).reshape(-1),)

    (chosen,) = fill(n_post * k, chunk * k, pick)
    return to_pre_major(chosen, n_pre, n_post, k, block)

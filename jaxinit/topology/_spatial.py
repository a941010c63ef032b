"""Distance rules: partners drawn by a profile of the distance between neuron positions.

Positions and the periodic ``box`` follow one convention: plain numbers together, or
Quantities of length together (converted to the pre positions' unit); a plain box
beside Quantity positions, or the reverse, is an error rather than a guess.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import NamedSharding
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit.profiles import _minimum_image
from jaxinit.topology._checks import check_count, check_size
from jaxinit.topology._connectivity import Connectivity, empty
from jaxinit.topology._memory import check_memory
from jaxinit.topology._sampling import DEFAULT_BLOCK, block_loop, put, to_pre_major
from jaxinit.topology._shard import built_whole

# bytes per (post in a chunk) x (pre) candidate at the peak of a chunk: distances, profile
# values, logits, Gumbel noise and its generator's temporaries, top-k, and the coordinate
# differences per axis (XLA's memory analysis on CPU: 24, 28, 28 B for 1-3 axes; plus a margin)
_BYTES_PER_CANDIDATE, _BYTES_PER_CANDIDATE_AXIS = 32, 4
# the default chunk keeps a chunk's candidates within this many bytes (at most 256 posts)
_CHUNK_BYTES = 2**27


# --- positions, box, profile --------------------------------------------------------------


def _positions(name: str, param: str, positions: Any) -> tuple[jax.Array, Any]:
    """Positions as a plain float ``(n, dim)`` array and their unit (or None)."""
    unit = None
    if _core.is_quantity(positions):
        unit = positions.unit
        positions = positions.mantissa
    array = jnp.asarray(positions)
    array = array[:, None] if array.ndim == 1 else array
    if array.ndim != 2:
        raise ValueError(f"{name}: {param} must be an (n, dim) array, got shape {array.shape}")
    if not jnp.issubdtype(array.dtype, jnp.floating):
        array = array.astype(jax.dtypes.canonicalize_dtype(float))
    return array, unit


def _box(name: str, box: Any, unit: Any, dim: int, dtype: Any) -> jax.Array | None:
    """The periodic box as plain side lengths in the positions' unit, checked ``> 0``."""
    if box is None:
        return None
    if _core.is_quantity(box):
        if unit is None:
            raise ValueError(
                f"{name}: box is a Quantity ({box}) but the positions are plain numbers; give both in units "
                "of length, or both plain"
            )
        from jaxinit import units

        box = units.to_plain(name, "box", box, unit)
    elif unit is not None:
        raise ValueError(
            f"{name}: box is a plain number ({box!r}) but the positions are in {unit}; give box in units "
            f"of length too, e.g. box=... * u.{unit}"
        )
    if not _core.is_traced(box):
        _core.validate(name, {"box": box}, {"box": _core.POSITIVE})
    side = jnp.asarray(box, dtype)
    if side.ndim > 1 or side.size not in (1, dim):
        raise ValueError(f"{name}: box must be one side length or one per axis ({dim}), got shape {side.shape}")
    return side


def spatial_inputs(
    name: str, pre_positions: Any, post_positions: Any, box: Any
) -> tuple[jax.Array, jax.Array, jax.Array | None, Any]:
    """Plain pre and post positions (``None`` post: the pre ones), box sides, and their one
    length unit (or None)."""
    pre_pos, unit = _positions(name, "pre_positions", pre_positions)
    post_pos = pre_pos
    if post_positions is not None:
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
        if post_pos.dtype != pre_pos.dtype:
            post_pos = post_pos.astype(pre_pos.dtype)
    return pre_pos, post_pos, _box(name, box, unit, pre_pos.shape[1], pre_pos.dtype), unit


def distance(diff: jax.Array, box: jax.Array | None) -> jax.Array:
    """Euclidean length of coordinate differences ``(..., dim)``, the shorter way round a
    periodic ``box``: the one distance formula of the topology builders."""
    return jnp.sqrt(jnp.sum(jnp.square(_minimum_image(diff, box)), axis=-1))


def pair_distances(pre_pos, post_pos, pre, post, box):
    """Distances of the synapses ``(pre, post)``, O(nnz)."""
    return distance(pre_pos[pre] - post_pos[post], box)


def split_callable(name: str, param: str, fn: Any, example: str) -> tuple[tuple[Any, ...], Any]:
    """``fn`` as ``(leaves, static)`` for a jitted kernel: a pytree callable (profiles and
    initializers are pytrees compared by value) passes its leaves as traced values and its
    structure as the static part, so equal constructions share one compiled kernel; any
    other callable is static itself (hashed as it hashes). :func:`join_callable` puts it
    back together."""
    if not callable(fn):
        raise TypeError(f"{name}: {param} must be {example}, got {fn!r}")
    leaves, treedef = jax.tree_util.tree_flatten(fn)
    if treedef.num_leaves == 1 and leaves[0] is fn:
        return (), fn
    return tuple(leaves), treedef


def join_callable(leaves: tuple[Any, ...], static: Any) -> Callable[..., Any]:
    return jax.tree_util.tree_unflatten(static, leaves) if leaves or not callable(static) else static


# --- distance_topology --------------------------------------------------------------------


def candidate_bytes(n_pre: int, dim: int) -> int:
    """Bytes one post neuron's candidates take at the peak of a chunk."""
    return n_pre * (_BYTES_PER_CANDIDATE + _BYTES_PER_CANDIDATE_AXIS * dim)


def default_chunk(n_pre: int, dim: int) -> int:
    """The largest power of two up to 256 whose candidates fit in ``_CHUNK_BYTES``."""
    fits = _CHUNK_BYTES // max(candidate_bytes(n_pre, dim), 1)
    return 1 << max(0, min(8, fits.bit_length() - 1))


@built_whole
def distance_topology(
    key: ArrayLike,
    pre_positions: ArrayLike,
    post_positions: ArrayLike | None = None,
    *,
    profile: Callable[[jax.Array], jax.Array],
    k: int,
    box: ArrayLike | None = None,
    allow_autapse: bool = False,
    chunk: int | None = None,
    block_size: int = DEFAULT_BLOCK,
    out_sharding: NamedSharding | None = None,
) -> Connectivity:
    """Every post neuron draws ``k`` distinct pre neurons with probability ∝ ``profile(distance)``.

    Sampling without replacement uses the Gumbel top-k trick, one chunk of post
    neurons at a time, so memory is about ``nnz · 20 B + chunk · n_pre · (32 + 4·dim) B``,
    never ``O(n_pre · n_post)``. When ``profile`` is a :class:`~jaxinit.profiles.Profile`
    with a ``max_distance`` and the key and positions are concrete, each post neuron's
    candidates are only the pre neurons in the spatial cells within that distance
    (O(n + candidates) work instead of O(n_pre · n_post); the same law).

    Profile values that are not ``> 0`` (negative, zero, NaN) make a pair impossible;
    a post neuron with fewer than ``k`` possible pre neurons is an error naming it,
    never a forbidden synapse.

    The check runs before sampling whenever the positions, box and profile are
    concrete (eagerly, and inside ``jit`` when they are closed over). When they are
    traced it runs on the device, inside the compiled program, and the same
    ``ValueError`` fails the computation (raised by a host callback, so it surfaces as
    a ``JaxRuntimeError`` carrying the message when the result is computed).

    Args:
      key: a PRNG key.
      pre_positions: ``(n_pre, dim)`` coordinates (plain or a Quantity of length).
      post_positions: ``(n_post, dim)`` coordinates, or ``None`` for a recurrent
        population at ``pre_positions`` (autapses then excluded unless allowed).
      profile: a distance profile, e.g. ``jaxinit.profiles.gaussian(100.0)``.
      k: the in-degree.
      box: periodic box side(s), ``> 0`` (a Quantity when the positions are one), or
        ``None``.
      allow_autapse: allow ``pre == post`` in a recurrent population.
      chunk: post neurons processed at once; ``None`` chooses the largest power of
        two up to 256 whose candidates fit in 128 MiB.
      block_size: synapses sorted at once (bounds the temporaries).
      out_sharding: a ``NamedSharding(mesh, PartitionSpec(axis))``: split the synapses
        over its devices (equal to the unsharded build; padding as in
        :func:`~jaxinit.topology.shard`). This rule is built whole on one device, then placed.

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)``.

    Raises:
      TypeError: ``profile`` not callable, sizes that are not ints.
      ValueError: positions of different dimension or unit convention, a bad ``box``,
        ``k`` too large, or a post neuron with fewer than ``k`` candidates of positive
        profile value.
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> import jax
      >>> from jaxinit import profiles
      >>> xy = jax.random.uniform(jax.random.key(1), (200, 2), maxval=1000.0)
      >>> conn = distance_topology(jax.random.key(0), xy, profile=profiles.gaussian(100.0), k=10)
      >>> conn.in_degree().tolist() == [10] * 200
      True
    """
    name = "distance_topology"
    leaves, static = split_callable(
        name, "profile", profile, "a callable distance profile such as jaxinit.profiles.gaussian(100.0)"
    )
    pre_pos, post_pos, box, unit = spatial_inputs(name, pre_positions, post_positions, box)
    recurrent = post_positions is None
    n_pre = check_size(name, "pre_positions.shape[0]", pre_pos.shape[0])
    n_post = check_size(name, "post_positions.shape[0]", post_pos.shape[0])
    k = check_size(name, "k", k)
    skip_diagonal = recurrent and not allow_autapse
    limit = n_pre - 1 if skip_diagonal else n_pre
    if k > limit:
        raise ValueError(f"{name}: k must be <= {limit} (the candidate pre neurons per post neuron), got {k}")
    per_post = candidate_bytes(n_pre, pre_pos.shape[1])
    chunk = default_chunk(n_pre, pre_pos.shape[1]) if chunk is None else check_size(name, "chunk", chunk, 1)
    chunk = min(chunk, max(n_post, 1))
    block = check_size(name, "block_size", block_size, 1)
    check_memory(
        name,
        check_count(name, n_post * k),
        extra=chunk * per_post,
        extra_what=f"a chunk of {chunk} post neurons x {n_pre:,} candidates",
        advice="lower k, or pass a smaller chunk=",
    )
    key = _core.check_key(name, key)
    if n_post * k == 0:
        return empty(n_pre, n_post)
    spatial = (pre_pos, post_pos, box, leaves)
    config = (static, unit, chunk, skip_diagonal, k)
    concrete = not any(_core.is_traced(x) for x in jax.tree_util.tree_leaves(spatial))
    cutoff = getattr(profile, "params", {}).get("max_distance") if concrete else None
    if cutoff is not None and not _core.is_traced(key):
        from jaxinit.topology import _proximity  # built on this module's distances

        pairs = _proximity.topk_through_cells(name, key, profile, pre_pos, post_pos, box, unit, (leaves, static), k,
                                              skip_diagonal)  # fmt: skip
        if pairs is not None:
            chosen, shortfall = pairs
            _raise_if_short(name, k, skip_diagonal, *shortfall)
            return Connectivity(*to_pre_major(chosen, n_pre, n_post, k, block), n_pre=n_pre, n_post=n_post)
    pre, post, shortfall = _distance_pairs(key, *spatial, *config, block, not concrete)
    if not _core.is_traced(shortfall[0]):  # eager: checked on the pass that sampled
        _raise_if_short(name, k, skip_diagonal, *shortfall)
    elif concrete:  # inside a jit that closes over the positions: checked now, before anything runs
        with jax.ensure_compile_time_eval():
            _raise_if_short(name, k, skip_diagonal, *_shortfall(*spatial, *config))
    return Connectivity(pre, post, n_pre=n_pre, n_post=n_post)


def _raise_if_short(name: str, k: int, skip_diagonal: bool, first: Any, have: Any, n_short: Any) -> None:
    """Raises for the first post neuron with fewer than ``k`` candidates (``first < n_post``)."""
    first, have, n_short = (np.atleast_1d(np.asarray(x)).reshape(-1) for x in (first, have, n_short))
    if n_short.max(initial=0) > 0:
        at = int(np.argmin(np.where(n_short > 0, first, np.iinfo(np.int32).max)))  # a vmapped batch: the first
        raise ValueError(
            f"{name}: post neuron {first[at]} has only {have[at]} candidate pre neurons with a positive profile "
            f"value{' (autapses excluded)' if skip_diagonal else ''}, fewer than k={k}; every post neuron needs "
            f"k of them ({n_short[at]:,} post neurons fall short): lower k or widen the profile"
        )


def _chunk_logits(pre_pos, post_pos, box, profile, unit, first, chunk, skip_diagonal):
    """Log profile values of the pairs (pre, posts first .. first + chunk - 1), ``-inf``
    where the profile is not ``> 0`` or the pair is an excluded autapse, and where it is."""
    positions = lax.dynamic_slice_in_dim(post_pos, first, chunk)
    d = distance(positions[:, None, :] - pre_pos[None, :, :], box)
    weights = jnp.asarray(profile(_core.attach_unit(d, unit)), jnp.float32)
    possible = weights > 0
    if skip_diagonal:
        pre_index = jnp.arange(pre_pos.shape[0], dtype=jnp.int32)
        possible &= pre_index[None, :] != first + jnp.arange(chunk, dtype=jnp.int32)[:, None]
    return jnp.where(possible, jnp.log(jnp.where(possible, weights, 1.0)), -jnp.inf), possible


def _tally(shortfall, possible, first, fresh, k, n_post):
    """``(first post short of k candidates, its count, how many are short)`` updated with the
    chunk of posts from ``first`` (``fresh``: not counted by an earlier chunk)."""
    found, have, n_short = shortfall
    counts = jnp.sum(possible, axis=1, dtype=jnp.int32)
    short = (counts < k) & fresh
    at = jnp.argmax(short)
    here = jnp.where(short[at], first + at.astype(jnp.int32), n_post)
    return (
        jnp.minimum(found, here),
        jnp.where(here < found, counts[at], have),
        n_short + jnp.sum(short, dtype=jnp.int32),
    )


def _no_shortfall(n_post):
    return jnp.int32(n_post), jnp.int32(0), jnp.int32(0)


@functools.partial(jax.jit, static_argnums=(4, 5, 6, 7, 8))
def _shortfall(pre_pos, post_pos, box, leaves, static, unit, chunk, skip_diagonal, k):
    """The candidate check alone: :func:`_tally` over every chunk of post neurons."""
    profile = join_callable(leaves, static)
    n_post = post_pos.shape[0]

    def step(b, start, index, shortfall):
        _, possible = _chunk_logits(pre_pos, post_pos, box, profile, unit, start, chunk, skip_diagonal)
        return _tally(shortfall, possible, start, index >= 0, k, n_post)

    return block_loop(n_post, chunk, step, _no_shortfall(n_post))


@functools.partial(jax.jit, static_argnums=(5, 6, 7, 8, 9, 10, 11))
def _distance_pairs(key, pre_pos, post_pos, box, leaves, static, unit, chunk, skip_diagonal, k, block, device_check):
    """Sampled pairs in (pre, post) order and the candidate check, in one pass over chunks of
    post neurons; with ``device_check`` a host callback raises if the check fails."""
    profile = join_callable(leaves, static)
    n_pre, n_post = pre_pos.shape[0], post_pos.shape[0]

    def step(b, start, index, state):
        chosen, shortfall = state
        first = start // k
        logits, possible = _chunk_logits(pre_pos, post_pos, box, profile, unit, first, chunk, skip_diagonal)
        shortfall = _tally(shortfall, possible, first, index[::k] >= 0, k, n_post)
        gumbel = jax.random.gumbel(jax.random.fold_in(key, b), logits.shape, jnp.float32)
        picked = lax.top_k(logits + gumbel, k)[1].astype(jnp.int32).reshape(-1)
        return put(chosen, start, picked, index < 0), shortfall

    state = (jnp.empty(n_post * k, jnp.int32), _no_shortfall(n_post))
    chosen, shortfall = block_loop(n_post * k, chunk * k, step, state)
    if device_check:
        jax.debug.callback(functools.partial(_raise_if_short, "distance_topology", k, skip_diagonal), *shortfall)
    return (*to_pre_major(chosen, n_pre, n_post, k, block), shortfall)

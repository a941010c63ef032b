"""Values per synapse: weights, delays, anything an initializer draws, and distances."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import NamedSharding
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit._core import Initializer
from jaxinit.topology._checks import check_size
from jaxinit.topology._connectivity import Connectivity, global_view
from jaxinit.topology._memory import check_memory
from jaxinit.topology._sampling import fill
from jaxinit.topology._shard import check_out_sharding, devices, shard, sharded_fill, slice_length
from jaxinit.topology._spatial import join_callable, pair_distances, spatial_inputs, split_callable


def _geometry(name: str, conn: Connectivity, pre_positions: Any, post_positions: Any, box: Any):
    """Plain positions (checked against the connectivity's sizes), box and unit; or None
    without positions."""
    if pre_positions is None:
        for param, value in (("post_positions", post_positions), ("box", box)):
            if value is not None:
                raise ValueError(f"{name}: {param} was given without pre_positions; give pre_positions too")
        return None
    pre_pos, post_pos, box, unit = spatial_inputs(name, pre_positions, post_positions, box)
    rows = (("pre_positions", pre_pos, "n_pre", conn.n_pre), ("post_positions", post_pos, "n_post", conn.n_post))
    for param, positions, size_name, size in rows:
        if post_positions is None and param == "post_positions":
            param = "pre_positions (also the post positions, as post_positions is None)"
        if positions.shape[0] != size:
            raise ValueError(
                f"{name}: {param} must have one row per neuron ({size_name}={size}), got {positions.shape[0]} rows"
            )
    return pre_pos, post_pos, box, unit


def synapse_distances(
    conn: Connectivity,
    pre_positions: ArrayLike,
    post_positions: ArrayLike | None = None,
    box: ArrayLike | None = None,
) -> jax.Array:
    """The length of every synapse, O(nnz): ``|pre_positions[pre] - post_positions[post]|``.

    Args:
      conn: the connectivity.
      pre_positions: ``(n_pre, dim)`` coordinates (plain or a Quantity of length).
      post_positions: ``(n_post, dim)`` coordinates; ``None`` reuses ``pre_positions``.
      box: periodic box side(s) (the shorter way round each axis), or ``None``.

    Returns:
      ``(nnz,)`` distances, in the positions' unit when they carry one.

    Raises:
      ValueError: positions whose rows do not match ``n_pre``/``n_post``, a box that
        is not ``> 0``, or units mixed with plain numbers.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxinit.topology import Connectivity
      >>> conn = Connectivity(jnp.array([0, 0]), jnp.array([1, 2]), n_pre=3, n_post=3)
      >>> xy = jnp.array([[0.0, 0.0], [3.0, 4.0], [9.0, 0.0]])
      >>> synapse_distances(conn, xy, box=10.0).tolist()
      [5.0, 1.0]
    """
    pre_pos, post_pos, box, unit = _geometry("synapse_distances", conn, pre_positions, post_positions, box)
    return _core.attach_unit(pair_distances(pre_pos, post_pos, conn.pre, conn.post, box), unit)


def synapse_values(
    key: ArrayLike,
    conn: Connectivity,
    init: Initializer,
    pre_positions: ArrayLike | None = None,
    post_positions: ArrayLike | None = None,
    box: ArrayLike | None = None,
    dtype: Any = None,
    block_size: int | None = None,
    out_sharding: NamedSharding | None = None,
    **ctx: Any,
) -> jax.Array:
    """One value per synapse from ``init``: weights, delays, anything.

    Calls ``init(key, (nnz,), dtype, pre=conn.pre, post=conn.post, distances=..., **ctx)``:
    every initializer sees each synapse's ``pre`` and ``post`` index (so
    ``where(lambda shape, pre, **_: pre < n_exc, ...)`` picks values by population), and
    the distances are computed per synapse (O(nnz)) when positions are given, so
    distance-dependent initializers such as ``modulate_by_distance`` work on sparse
    networks.

    With ``block_size``, the values are drawn ``block_size`` synapses at a time
    instead, block ``b`` by ``init(fold_in(key, b), (block_size,), ...)`` with its
    synapses' distances (the last block is moved back to end at ``nnz``). For an
    elementwise initializer (every distribution, and combinators of them) the values
    have the same distribution, while the random generator's temporaries (on CPU 12
    bytes per value for a one-shot draw) and the distances stay O(block_size): use it
    for networks of 10⁸ synapses. Initializers that read the shape (fan-based ones)
    see the block's shape, so keep those to the default. The block loop is one compiled
    kernel per kind of initializer: jaxinit initializers are compared by value (a fresh
    ``normal(2.0, 0.1)`` reuses the kernel of ``normal(1.0, 0.5)``), array context is
    traced and other context is static.

    Args:
      key: a PRNG key.
      conn: the connectivity.
      init: any jaxinit initializer (units and combinators included).
      pre_positions: ``(n_pre, dim)`` coordinates, or ``None``.
      post_positions: ``(n_post, dim)`` coordinates; ``None`` reuses ``pre_positions``.
      box: periodic box side(s) for the distances, or ``None``.
      dtype: the values' dtype (default float).
      block_size: draw this many values at a time (see above), or ``None`` for one draw.
      out_sharding: a ``NamedSharding(mesh, PartitionSpec(axis))``: the values split over
        its devices like a sharded connectivity's synapses (padded with zeros, see
        :func:`~jaxinit.topology.shard`), each device drawing only its own slice, equal
        to the unsharded values. Taken from ``conn`` when it is sharded and this is
        ``None``; ``conn`` is placed this way first when it is not.
      **ctx: more context for ``init`` (given to every block as is).

    Returns:
      ``(nnz,)`` values (a Quantity if ``init`` has units); sharded, the padded length of
      ``conn``'s arrays.

    Raises:
      ValueError: positions whose rows do not match ``n_pre``/``n_post``, a box that
        is not ``> 0``, positions together with ``distances=`` in ``ctx``, or ``pre``/
        ``post`` in ``ctx``.
      MemoryError: the values would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> from jaxinit.topology import random_topology
      >>> conn = random_topology(jax.random.key(0), 100, n_syn=1000)
      >>> synapse_values(jax.random.key(1), conn, ji.lognormal(1.0, 0.5)).shape
      (1000,)
      >>> synapse_values(jax.random.key(1), conn, ji.lognormal(1.0, 0.5), block_size=256).shape
      (1000,)
      >>> from_first_80 = ji.where(lambda shape, pre, **_: pre < 80, ji.ones, ji.zeros)
      >>> int(synapse_values(jax.random.key(1), conn, from_first_80).sum()) == int((conn.pre < 80).sum())
      True
    """
    name = "synapse_values"
    for param in ("pre", "post"):
        if param in ctx:
            raise ValueError(
                f"{name}: {param}= is set by synapse_values itself (each synapse's {param} index); "
                "give your context another name"
            )
    geometry = _geometry(name, conn, pre_positions, post_positions, box)
    if geometry is not None and "distances" in ctx:
        raise ValueError(
            f"{name}: give positions (the distances are then computed per synapse) or distances= in the "
            "context, not both"
        )
    if block_size is not None:
        block_size = check_size(name, "block_size", block_size, 1)
    in_blocks = block_size is not None and conn.nnz > block_size
    if in_blocks:
        check_memory(name, conn.nnz, "synapse_values in blocks")
    else:
        check_memory(name, conn.nnz, advice="pass block_size=2**18 to draw the values in blocks (4 bytes each)")

    conn, out_sharding = _split_as(name, conn, out_sharding)
    if not in_blocks:
        if out_sharding is None:
            return _one_draw(init, key, conn.pre, conn.post, geometry, dtype, ctx)
        return _one_draw_sharded(init, key, conn, geometry, dtype, ctx, out_sharding)
    key = _core.check_key(name, key)
    leaves, static = split_callable(name, "init", init, "an initializer such as jaxinit.normal()")
    dynamic_ctx = {p: v for p, v in ctx.items() if isinstance(v, (jax.Array, np.ndarray)) or _core.is_quantity(v)}
    static_ctx = tuple(sorted((p, v) for p, v in ctx.items() if p not in dynamic_ctx))
    dtype = None if dtype is None else jnp.dtype(dtype)
    places, unit = (None, None) if geometry is None else (geometry[:3], geometry[3])
    args = (key, conn.pre, conn.post, places, leaves, dynamic_ctx)
    config = (static, dtype, block_size, static_ctx, unit, conn.nnz, out_sharding)
    try:
        hash(config)
    except TypeError:  # unhashable pieces (a plain context object): run the loop uncompiled
        return _in_blocks.__wrapped__(*args, *config)
    return _in_blocks(*args, *config)


def _placed(conn: Connectivity, out_sharding: NamedSharding) -> Connectivity:
    """``conn`` split as ``out_sharding`` splits synapses (moved only when it is not)."""
    length = devices(out_sharding) * slice_length(conn.nnz, out_sharding)
    padded = conn.n_syn is not None and conn.pre.shape[-1] == length
    if _core.is_traced(conn.pre):
        if not padded:
            raise ValueError(
                "a Connectivity traced under jit with out_sharding= must already be split that way: build it "
                "with the same out_sharding= (or topology.shard) outside jit and pass it in"
            )
        return conn  # under jit the program's shardings place it
    return conn if padded and conn.pre.sharding == out_sharding else shard(conn, out_sharding)


def _split_as(name: str, conn: Connectivity, out_sharding: Any) -> tuple[Connectivity, NamedSharding | None]:
    """``conn`` split as its values will be, and that split: ``out_sharding`` when given
    (``conn`` placed so), else ``conn``'s own when it is sharded, else none (padding that
    is not a split across devices is dropped)."""
    out_sharding = check_out_sharding(name, out_sharding)
    if out_sharding is None and conn.n_syn is not None:
        own = None if _core.is_traced(conn.pre) else getattr(conn.pre, "sharding", None)
        if isinstance(own, NamedSharding) and len(own.spec) == 1 and isinstance(own.spec[0], str):
            out_sharding = own
        else:
            return conn.unpadded(), None
    return (conn, None) if out_sharding is None else (_placed(conn, out_sharding), out_sharding)


def _one_draw(init, key, pre, post, geometry, dtype, ctx):
    more = {"pre": pre, "post": post}
    if geometry is not None:
        more["distances"] = _distances(*geometry, pre, post)
    return init(key, (pre.shape[-1],), dtype, **ctx, **more)


def _one_draw_sharded(init, key, conn, geometry, dtype, ctx, out_sharding):
    """The one-draw values of the synapses, padded with zeros and split: XLA partitions
    the draw (jax's threefry is partitionable), so each device computes its own slice."""
    n, length = conn.nnz, conn.pre.shape[-1]
    found_unit = []

    def padded(key, pre, post):
        values = _one_draw(init, key, pre[:n], post[:n], geometry, dtype, ctx)
        if _core.is_quantity(values):
            found_unit[:] = [values.unit]
            values = values.mantissa
        return jnp.pad(values, (0, length - n))

    values = jax.jit(padded, out_shardings=out_sharding)(key, global_view(conn.pre), global_view(conn.post))
    return _core.attach_unit(values, found_unit[0] if found_unit else None)


def _distances(pre_pos, post_pos, box, unit, pre, post):
    return _core.attach_unit(pair_distances(pre_pos, post_pos, pre, post, box), unit)


@functools.partial(jax.jit, static_argnums=(6, 7, 8, 9, 10, 11, 12))
def _in_blocks(key, pre, post, places, leaves, dynamic_ctx, static, dtype, block, static_ctx, unit, n, out_sharding):
    """``init``'s values ``block`` synapses at a time, in one compiled loop (split over the
    devices of ``out_sharding`` when given): equal initializers (pytrees compared by value)
    and context share one kernel."""
    init = join_callable(leaves, static)
    ctx = {**dynamic_ctx, **dict(static_ctx)}
    found_unit = []

    def draw_block(operands, window, b, start):
        key, places = operands
        pre_b, post_b = window
        more = {"pre": pre_b, "post": post_b}
        if places is not None:
            more["distances"] = _distances(*places, unit, pre_b, post_b)
        values = init(jax.random.fold_in(key, b), (block,), dtype, **ctx, **more)
        if _core.is_quantity(values):
            found_unit[:] = [values.unit]
            values = values.mantissa
        return (values,)

    if out_sharding is None:
        window = lambda start: tuple(lax.dynamic_slice(x, (start,), (block,)) for x in (pre, post))  # noqa: E731
        (values,) = fill(n, block, lambda b, start: draw_block((key, places), window(start), b, start))
    else:
        (values,) = sharded_fill(n, block, draw_block, (key, places), (0,), out_sharding, split=(pre, post))
    return _core.attach_unit(values, found_unit[0] if found_unit else None)


def with_weights(
    key: ArrayLike,
    conn: Connectivity,
    init: Initializer,
    pre_positions: ArrayLike | None = None,
    post_positions: ArrayLike | None = None,
    box: ArrayLike | None = None,
    block_size: int | None = None,
    out_sharding: NamedSharding | None = None,
    **ctx: Any,
) -> Connectivity:
    """``conn`` with ``weight`` drawn by :func:`synapse_values`.

    Args:
      key: a PRNG key.
      conn: the connectivity.
      init: the weight initializer.
      pre_positions: coordinates for per-synapse distances, or ``None``.
      post_positions: post coordinates; ``None`` reuses ``pre_positions``.
      box: periodic box side(s), or ``None``.
      block_size: draw this many weights at a time, bounding the temporaries
        (see :func:`synapse_values`), or ``None`` for one draw.
      out_sharding: split ``conn`` and its values over these devices (see
        :func:`synapse_values`), or ``None`` (a sharded ``conn`` stays as it is).
      **ctx: more context for ``init``.

    Returns:
      A :class:`Connectivity` with weights (its delays, if any, kept).

    Raises:
      ValueError, MemoryError: as :func:`synapse_values`.

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> from jaxinit.topology import random_topology
      >>> conn = with_weights(jax.random.key(1), random_topology(jax.random.key(0), 50, n_syn=100), ji.ones)
      >>> float(conn.weight.sum())
      100.0
    """
    conn, out_sharding = _split_as("with_weights", conn, out_sharding)
    weight = synapse_values(
        key, conn, init, pre_positions, post_positions, box, block_size=block_size, out_sharding=out_sharding, **ctx
    )
    return dataclasses.replace(conn, weight=weight)


def with_delays(
    key: ArrayLike,
    conn: Connectivity,
    init: Initializer,
    pre_positions: ArrayLike | None = None,
    post_positions: ArrayLike | None = None,
    box: ArrayLike | None = None,
    block_size: int | None = None,
    out_sharding: NamedSharding | None = None,
    **ctx: Any,
) -> Connectivity:
    """``conn`` with ``delay`` drawn by :func:`synapse_values` (e.g. proportional to distance).

    Args:
      key: a PRNG key.
      conn: the connectivity.
      init: the delay initializer.
      pre_positions: coordinates for per-synapse distances, or ``None``.
      post_positions: post coordinates; ``None`` reuses ``pre_positions``.
      box: periodic box side(s), or ``None``.
      block_size: draw this many delays at a time (see :func:`synapse_values`).
      out_sharding: split ``conn`` and its values over these devices (see
        :func:`synapse_values`), or ``None`` (a sharded ``conn`` stays as it is).
      **ctx: more context for ``init``.

    Returns:
      A :class:`Connectivity` with delays (its weights, if any, kept).

    Raises:
      ValueError, MemoryError: as :func:`synapse_values`.

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> from jaxinit.topology import random_topology
      >>> conn = with_delays(jax.random.key(1), random_topology(jax.random.key(0), 50, n_syn=100), ji.constant(1.5))
      >>> float(conn.delay.mean()), conn.weight is None
      (1.5, True)
    """
    conn, out_sharding = _split_as("with_delays", conn, out_sharding)
    delay = synapse_values(
        key, conn, init, pre_positions, post_positions, box, block_size=block_size, out_sharding=out_sharding, **ctx
    )
    return dataclasses.replace(conn, delay=delay)

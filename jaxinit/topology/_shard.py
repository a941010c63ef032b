"""Sharded builds: synapses split along one mesh axis in contiguous slices of the sorted order.

JAX's ``NamedSharding`` needs shards of equal length, so a sharded :class:`Connectivity`
has arrays of ``devices · ceil(nnz / devices)`` entries: the synapses in their global
``(pre, post)`` order, then padding pairs ``(n_pre, n_post)`` with values 0, which sort
after every synapse and which every method of ``Connectivity`` ignores
(``Connectivity.n_syn`` holds the number of synapses). Padding is only ever at the end of
the last shards: device ``d`` holds synapses ``[d·S, (d+1)·S)``, the same ones at every
device count's ``S``, element for element equal to the unsharded build.

Rules whose sorted order is a sequence of blocks, each drawn from its own key, are
written by :func:`sharded_fill` (blocks of one length, as
:func:`~jaxinit.topology._sampling.fill` writes them) or :func:`sharded_blocks` (blocks of
counts known on the host), or :func:`sharded_host_blocks` for a builder that prepares
each block's inputs on the host: each device draws only the blocks that overlap its slice,
so its memory is its slice plus one block. A rule drawn by post (``fixed_indegree``, or
``distance_probability`` by shares of the post neurons) is moved into (pre, post) order by
one exchange (:func:`exchange_program`); pairs drawn in no order (with replacement) are
sorted across the devices by one exchange of key ranges (:func:`sorted_packed_pairs`).
Every other rule is built whole and then placed with :func:`shard`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import NamedSharding, PartitionSpec

from jaxinit import _core
from jaxinit.topology._connectivity import Connectivity, empty
from jaxinit.topology._sampling import packable, sort_valid_pairs


def check_out_sharding(name: str, out_sharding: Any) -> NamedSharding | None:
    """``out_sharding`` if it splits one axis over one mesh axis (or ``None``); else a clear error."""
    if out_sharding is None:
        return None
    spec = getattr(out_sharding, "spec", None)
    if not (isinstance(out_sharding, NamedSharding) and len(spec) == 1 and isinstance(spec[0], str)):
        raise ValueError(
            f"{name}: out_sharding must be a NamedSharding that splits the synapses over one mesh axis, "
            f"e.g. NamedSharding(mesh, PartitionSpec('x')), got {out_sharding!r}"
        )
    return out_sharding


def devices(out_sharding: NamedSharding) -> int:
    """How many slices ``out_sharding`` cuts the synapse axis into."""
    return out_sharding.mesh.shape[out_sharding.spec[0]]


def slice_length(nnz: int, out_sharding: NamedSharding) -> int:
    """Synapses per device (the last devices' slices end in padding)."""
    return -(-nnz // devices(out_sharding))


def shard(conn: Connectivity, out_sharding: NamedSharding) -> Connectivity:
    """``conn`` split along its synapses over the devices of ``out_sharding``.

    The arrays are padded to a multiple of the device count (padding pairs
    ``(n_pre, n_post)`` with values 0 at the end, ``n_syn`` set; every method of
    :class:`Connectivity` ignores them) and placed slice by slice: device ``d`` holds
    synapses ``[d·S, (d+1)·S)`` of the sorted order. ``conn`` must fit on the host; the
    builders' ``out_sharding=`` draws the slices on their devices instead where the rule
    allows it.

    Args:
      conn: any connectivity (one already sharded is re-placed).
      out_sharding: a ``NamedSharding(mesh, PartitionSpec(axis))``.

    Returns:
      The sharded :class:`Connectivity` (equal to ``conn`` after :meth:`~Connectivity.unpadded`).

    Raises:
      ValueError: an ``out_sharding`` that does not split one axis over one mesh axis.

    Example:
      >>> import jax
      >>> from jax.sharding import NamedSharding, PartitionSpec
      >>> from jaxinit.topology import random_topology, shard
      >>> mesh = jax.make_mesh((1,), ("x",))
      >>> conn = shard(random_topology(jax.random.key(0), 10, n_syn=7), NamedSharding(mesh, PartitionSpec("x")))
      >>> conn.nnz, conn.pre.sharding.spec == PartitionSpec("x")
      (7, True)
    """
    out_sharding = check_out_sharding("shard", out_sharding)
    conn = conn.unpadded()
    length = devices(out_sharding) * slice_length(conn.nnz, out_sharding)

    def place(values, pad):
        if values is None:
            return None
        unit = values.unit if _core.is_quantity(values) else None
        host = np.asarray(values.mantissa if unit is not None else values)
        host = np.concatenate([host, np.full(length - host.shape[0], pad, host.dtype)])
        return _core.attach_unit(jax.device_put(host, out_sharding), unit)

    return dataclasses.replace(
        conn, pre=place(conn.pre, conn.n_pre), post=place(conn.post, conn.n_post),
        weight=place(conn.weight, 0), delay=place(conn.delay, 0), n_syn=conn.nnz,
    )  # fmt: skip


def built_whole(builder: Callable[..., Connectivity]) -> Callable[..., Connectivity]:
    """``builder``'s ``out_sharding=`` keyword for a rule that is built on one device and
    then placed by :func:`shard`: checked before any work; the builder itself never sees it."""

    @functools.wraps(builder)
    def build(*args: Any, out_sharding: NamedSharding | None = None, **kwargs: Any) -> Connectivity:
        out_sharding = check_out_sharding(builder.__name__, out_sharding)
        return sharded(builder(*args, **kwargs), out_sharding)

    return build


def sharded(conn: Connectivity, out_sharding: NamedSharding | None) -> Connectivity:
    """``conn`` placed by :func:`shard` when ``out_sharding`` is given (already checked)."""
    return conn if out_sharding is None else shard(conn, out_sharding)


def sharded_fill(
    n: int,
    block: int,
    compute_block: Callable[..., tuple[jax.Array, ...]],
    operands: tuple[Any, ...],
    pads: tuple[Any, ...],
    out_sharding: NamedSharding,
    split: tuple[jax.Array, ...] = (),
) -> tuple[jax.Array, ...]:
    """What :func:`~jaxinit.topology._sampling.fill` writes, split over the devices of
    ``out_sharding`` and padded with ``pads``: each device draws only the blocks that
    overlap its slice, ``compute_block(operands, window, b, start)``, so its temporaries
    are one block. ``operands`` are replicated; ``split`` are arrays split like the
    output, and ``window`` holds their entries at the block's positions (positions
    outside the device's slice get its nearest entry: their values are dropped, so
    ``compute_block`` must treat each position on its own there). Element ``i < n``
    comes from block ``i // block`` at the start ``fill`` gives it, so the values equal
    ``fill``'s bit for bit."""
    axis = out_sharding.spec[0]
    per_device = slice_length(n, out_sharding)
    window = tuple(jax.ShapeDtypeStruct((block,), x.dtype) for x in split)
    shapes = jax.eval_shape(compute_block, operands, window, 0, 0)

    def local(*arrays):
        operands, split = arrays[: len(arrays) - len(window)], arrays[len(arrays) - len(window) :]
        begin = lax.axis_index(axis) * per_device
        end = jnp.minimum(begin + per_device, n)

        def body(b, buffers):
            start = jnp.minimum(b * block, n - block)
            i = start + jnp.arange(block, dtype=jnp.int32)
            # earlier blocks wrote below b * block (the last block is moved back over them)
            mine = (i >= b * block) & (i >= begin) & (i < end)
            where = jnp.where(mine, i - begin, per_device)  # out of range: dropped
            nearest = jnp.clip(i - begin, 0, per_device - 1)
            values = compute_block(operands, tuple(x[nearest] for x in split), b, start)
            return write_at(buffers, where, values)

        buffers = blank_slices(pads, shapes, per_device, axis)
        return lax.fori_loop(begin // block, (end + block - 1) // block, body, buffers)

    spec = PartitionSpec(axis)
    run = jax.shard_map(
        local, mesh=out_sharding.mesh, in_specs=(PartitionSpec(),) * len(operands) + (spec,) * len(split),
        out_specs=(spec,) * len(shapes),
    )  # fmt: skip
    return run(*operands, *split)


def blank_slices(pads, shapes, per_device: int, axis: str) -> tuple[jax.Array, ...]:
    """A device's slices, all padding. They differ per device, which JAX must be told (they
    vary along the mesh axis) to carry them through a loop inside ``shard_map``."""
    return tuple(
        lax.pcast(jnp.full((per_device,), pad, s.dtype), (axis,), to="varying")
        for pad, s in zip(pads, shapes, strict=True)
    )


def write_at(buffers: tuple[jax.Array, ...], where: jax.Array, values: tuple[jax.Array, ...]) -> tuple[jax.Array, ...]:
    """``values`` written at ``where`` in each slice (positions out of range are dropped)."""
    return tuple(buf.at[where].set(v, mode="drop") for buf, v in zip(buffers, values, strict=True))


def block_offsets(counts: np.ndarray) -> np.ndarray:
    """Where each block's synapses start in the sorted order (and the total, last)."""
    return np.concatenate([[0], np.cumsum(np.asarray(counts, np.int64))])


def blocks_in_order(counts: np.ndarray, compute_block: Callable[..., tuple[jax.Array, ...]], operands: tuple) -> tuple:
    """Blocks of different lengths one after another, on one device: block ``b``'s first
    ``counts[b]`` entries of ``compute_block(operands, b)`` (padded arrays of one static
    capacity), concatenated on the host (slicing on the device would compile a program
    per length)."""
    pieces = [
        tuple(np.asarray(x)[:count] for x in compute_block(operands, np.int32(b)))
        for b, count in enumerate(counts)
        if count
    ]
    return tuple(jnp.asarray(np.concatenate(column)) for column in zip(*pieces, strict=True))


def connectivity_from_blocks(blocks: tuple, n_pre: int, n_post: int, out_sharding: NamedSharding | None):
    """The :class:`Connectivity` of ``blocks = (counts, compute_block, operands)`` giving
    ``(pre, post)`` blocks in sorted order: drawn on one device, or each device its slice."""
    counts = blocks[0]
    if not counts.any():
        return sharded(empty(n_pre, n_post), out_sharding)
    if out_sharding is None:
        pre, post = blocks_in_order(*blocks)
        return Connectivity(pre, post, n_pre=n_pre, n_post=n_post)
    pre, post = sharded_blocks(*blocks, (n_pre, n_post), out_sharding)
    return Connectivity(pre, post, n_pre=n_pre, n_post=n_post, n_syn=int(counts.sum()))


def sharded_blocks(
    counts: np.ndarray,
    compute_block: Callable[..., tuple[jax.Array, ...]],
    operands: tuple,
    pads: tuple[Any, ...],
    out_sharding: NamedSharding,
) -> tuple[jax.Array, ...]:
    """What :func:`blocks_in_order` gives, split over the devices of ``out_sharding`` and
    padded with ``pads``: each device computes only the blocks that overlap its slice
    (found on the host from the counts, O(blocks)), so its temporaries are one block.
    ``operands`` are replicated; ``compute_block`` must give the same values inside the
    sharded program as alone (integer draws and sorts do)."""
    run, args = blocks_program(counts, compute_block, operands, pads, out_sharding)
    return run(*args)


def blocks_program(counts, compute_block, operands, pads, out_sharding):
    """The jitted program of :func:`sharded_blocks` and its arguments (``run.lower(*args)``
    gives XLA's memory analysis per device)."""
    offsets = block_offsets(counts)
    total = int(offsets[-1])
    per_device, count = slice_length(total, out_sharding), devices(out_sharding)
    begins = np.arange(count, dtype=np.int64) * per_device
    ends = np.minimum(begins + per_device, total)
    # the blocks [first, stop) overlapping each slice (none for a slice of padding only)
    first = np.searchsorted(offsets, begins, side="right") - 1
    stop = np.where(ends > begins, np.searchsorted(offsets, ends, side="left"), first)
    split = NamedSharding(out_sharding.mesh, PartitionSpec(out_sharding.spec[0]))
    first, stop = (jax.device_put(x.astype(np.int32), split) for x in (first, stop))
    run = _blocks_runner(compute_block, tuple(pads), out_sharding, per_device, len(operands))
    return run, (first, stop, offsets.astype(np.int32), *operands)


@functools.lru_cache(maxsize=64)
def _blocks_runner(compute_block, pads, out_sharding, per_device, n_operands):
    """One compiled program per kind of block (``compute_block`` compared by value), pads,
    split and slice length: a second build of the same shape compiles nothing."""
    axis = out_sharding.spec[0]

    def local(first, stop, offsets, *operands):
        begin = lax.axis_index(axis) * per_device
        shapes = jax.eval_shape(compute_block, operands, 0)
        capacity = shapes[0].shape[0]

        def body(b, buffers):
            i = offsets[b] + jnp.arange(capacity, dtype=jnp.int32)
            mine = (i < offsets[b + 1]) & (i >= begin) & (i < begin + per_device)
            where = jnp.where(mine, i - begin, per_device)  # out of range: dropped
            values = compute_block(operands, b)
            return write_at(buffers, where, values)

        buffers = blank_slices(pads, shapes, per_device, axis)
        return lax.fori_loop(first[0], stop[0], body, buffers)

    spec = PartitionSpec(axis)
    return jax.jit(
        jax.shard_map(
            local, mesh=out_sharding.mesh,
            in_specs=(spec, spec, PartitionSpec()) + (PartitionSpec(),) * n_operands,
            out_specs=(spec,) * len(pads),
        )
    )  # fmt: skip


def sharded_host_blocks(
    counts: np.ndarray,
    compute_block: Callable[[int, jax.Device], tuple[jax.Array, ...]],
    pads: tuple[Any, ...],
    out_sharding: NamedSharding,
) -> tuple[jax.Array, ...]:
    """Blocks of host-known ``counts`` laid end to end (block ``b``: the first
    ``counts[b]`` entries of ``compute_block(b, device)``), split over the devices of
    ``out_sharding`` and padded with ``pads``, for a builder that loops over its blocks on
    the host (each block its own kernel call, its inputs prepared there).

    Slice by slice, only the blocks that overlap the slice are computed, on a device that
    keeps it, copied into one host buffer of the slice's length and placed; a block
    crossing a boundary is computed for both slices (the same values: the same kernel and
    inputs). So a device holds its slice plus one block, the host one slice plus one
    block, and in a multi-process run each process computes its own devices' slices."""
    offsets = block_offsets(counts)
    total = int(offsets[-1])
    per_device = slice_length(total, out_sharding)
    shape = (per_device * devices(out_sharding),)
    holders: dict[int, list[jax.Device]] = {}  # a slice's start -> the devices keeping it
    for device, index in out_sharding.addressable_devices_indices_map(shape).items():
        holders.setdefault(index[0].start or 0, []).append(device)
    placed: dict[jax.Device, list[jax.Array]] = {}
    dtypes = None  # the blocks' (known once one is computed)
    for begin, keepers in sorted(holders.items()):
        end = min(begin + per_device, total)
        host = None
        b = int(np.searchsorted(offsets, begin, side="right")) - 1
        while begin < end and offsets[b] < end:
            lo, hi = max(int(offsets[b]), begin), min(int(offsets[b + 1]), end)
            if hi > lo:
                out = compute_block(b, keepers[0])
                dtypes = [x.dtype for x in out]
                if host is None:
                    host = [np.full(per_device, pad, dtype) for pad, dtype in zip(pads, dtypes, strict=True)]
                for buffer, x in zip(host, out, strict=True):
                    buffer[lo - begin : hi - begin] = np.asarray(x)[lo - offsets[b] : hi - offsets[b]]
            b += 1
        if host is None:  # a slice of padding only (this process may hold no synapse at all)
            if dtypes is None:
                dtypes = [x.dtype for x in jax.eval_shape(lambda: compute_block(0, None))]
            host = [np.full(per_device, pad, dtype) for pad, dtype in zip(pads, dtypes, strict=True)]
        for device in keepers:
            placed[device] = [jax.device_put(buffer, device) for buffer in host]
    return tuple(
        jax.make_array_from_single_device_arrays(shape, out_sharding, [pieces[a] for pieces in placed.values()])
        for a in range(len(pads))
    )


def on_each_device(
    kernel: Callable[..., tuple[jax.Array, ...]],
    shares: list[tuple[np.ndarray, ...]],
    replicated: tuple[Any, ...],
    static: dict[str, Any],
    out_sharding: NamedSharding,
) -> tuple[jax.Array, ...]:
    """``kernel(*shares[d], *replicated, **static)`` on the devices of ``out_sharding``'s axis,
    device ``d`` with its own share's operands (NumPy arrays alike in shape across the shares),
    in one SPMD program compiled once (not once per device): its outputs, arrays and scalars,
    laid end to end along the axis. ``kernel`` is a module-level function (the program is
    cached by it, ``static`` and the sharding)."""
    split = NamedSharding(out_sharding.mesh, PartitionSpec(out_sharding.spec[0]))
    stacked = tuple(jax.device_put(np.stack(column), split) for column in zip(*shares, strict=True))
    run = _each_device_program(kernel, tuple(sorted(static.items())), out_sharding, len(stacked), len(replicated))
    return run(*stacked, *replicated)


@functools.lru_cache(maxsize=64)
def _each_device_program(kernel, static, out_sharding, n_split, n_replicated):
    axis = out_sharding.spec[0]

    def local(*operands):
        mine, rest = operands[:n_split], operands[n_split:]
        out = kernel(*(x[0] for x in mine), *rest, **dict(static))
        return tuple(jnp.reshape(x, (-1,)) for x in out)

    spec = PartitionSpec(axis)
    in_specs = (spec,) * n_split + (PartitionSpec(),) * n_replicated
    # the kernel is a one-device program with no collectives: its loops' carries need not be
    # typed as varying over the axis (check_vma would ask every kernel for lax.pcast)
    run = jax.shard_map(local, mesh=out_sharding.mesh, in_specs=in_specs, out_specs=spec, check_vma=False)
    return jax.jit(run)


def sharded_to_pre_major(
    partners: jax.Array, n: int, n_pre: int, n_post: int, k: int, out_sharding: NamedSharding
) -> tuple[jax.Array, jax.Array]:
    """Post-major synapses (slot ``i < n`` from pre ``partners[i]`` onto post ``i // k``),
    split over the devices of ``out_sharding``, moved into ``(pre, post)`` order, split the
    same way: the one collective exchange of a rule drawn by post (see
    :func:`exchange_program`)."""
    run, args = pre_major_program(partners, n, n_pre, n_post, k, out_sharding)
    return run(*args)


def pre_major_program(partners, n, n_pre, n_post, k, out_sharding):
    """The exchange program of :func:`sharded_to_pre_major` and its arguments, after the
    per-pre counts it needs (``run.lower(*args)`` gives XLA's memory analysis)."""
    local = PostMajor(n, n_pre, n_post, k, slice_length(n, out_sharding))
    return exchange_program(local, (partners,), n, out_sharding)


def sharded_pairs_to_pre_major(pre, post, first_post, span, n_syn, n_pre, n_post, out_sharding):
    """Pairs held by post ranges (device ``d`` holds, sorted or not, the pairs onto posts
    ``first_post[d]`` to ``first_post[d] + span - 1``, padded with pre ``n_pre``) moved into
    ``(pre, post)`` order, ``n_syn`` synapses split over the devices of ``out_sharding``:
    one exchange (see :func:`exchange_program`)."""
    local = PostRanges(n_pre, n_post, span)
    split = NamedSharding(out_sharding.mesh, PartitionSpec(out_sharding.spec[0]))
    run, args = exchange_program(local, (pre, post, jax.device_put(first_post, split)), n_syn, out_sharding)
    return run(*args)


@dataclasses.dataclass(frozen=True)
class PostMajor:
    """A device's slice of ``n`` post-major synapses (slot ``i`` from pre ``partners[i]``
    onto post ``i // k``), ``length`` slots per device, as ``(pre, post, valid, first post,
    posts spanned)``."""

    n: int
    n_pre: int
    n_post: int
    k: int
    length: int

    @property
    def span(self) -> int:
        return self.length // self.k + 2

    def __call__(self, axis, partners):
        slot = lax.axis_index(axis) * self.length + jnp.arange(self.length, dtype=jnp.int32)
        valid = slot < self.n
        pre = jnp.where(valid, partners, self.n_pre)
        first_post = lax.axis_index(axis) * self.length // self.k
        return pre, jnp.where(valid, slot // self.k, self.n_post), valid, first_post


@dataclasses.dataclass(frozen=True)
class PostRanges:
    """A device's pairs onto posts ``first_post`` to ``first_post + span - 1`` (padding:
    pre ``n_pre``) as ``(pre, post, valid, first post)``."""

    n_pre: int
    n_post: int
    span: int

    def __call__(self, axis, pre, post, first_post):
        valid = pre < self.n_pre
        return pre, jnp.where(valid, post, self.n_post), valid, first_post[0]


def exchange_program(local, operands, n_syn, out_sharding):
    """The exchange that moves synapses held by post ranges (earlier devices, earlier posts;
    ``local(axis, *operands)`` gives a device's ``(pre, post, valid, first post)``) into
    ``(pre, post)`` order, and its arguments.

    Each device counts its synapses per pre; from those counts the host knows where every
    device's synapses of each pre start in the global order (a pre's synapses from earlier
    devices, which hold earlier posts, come first) and how many each device sends to each
    other. Each device then sorts its synapses by pre, sends each to the device whose slice
    holds its position (one ``all_to_all`` of buffers sized by the largest such count) and
    writes what it receives into its slice. Memory per device: its synapses, the buffers
    (about three slices) and ``O(n_pre)`` counts. ``run.lower(*args)`` gives XLA's memory
    analysis."""
    count, per_device = devices(out_sharding), slice_length(n_syn, out_sharding)
    per_pre = np.asarray(_histogram_program(local, out_sharding)(*operands)).astype(np.int64)
    indptr = np.concatenate([[0], np.cumsum(per_pre.sum(0))])
    before = np.cumsum(per_pre, axis=0) - per_pre  # each pre's synapses on earlier devices
    starts = indptr[:-1][None] + before  # where device d's synapses of pre i start
    # how many of device d's synapses land in device r's slice: the widest message
    bounds = np.arange(count + 1, dtype=np.int64) * per_device
    sends = np.diff(np.stack([_count_below(starts[d], per_pre[d], bounds) for d in range(count)]), axis=1)
    run = _exchange_program(local, per_device, _message_width(int(sends.max())), out_sharding, len(operands))
    split = NamedSharding(out_sharding.mesh, PartitionSpec(out_sharding.spec[0]))
    return run, (*operands, jax.device_put(starts.astype(np.int32), split))


@functools.lru_cache(maxsize=64)
def _histogram_program(local, out_sharding):
    """Each device's synapses per pre, ``(devices, n_pre)``."""
    axis = out_sharding.spec[0]

    def histogram(*operands):
        pre, _, _, _ = local(axis, *operands)
        return jnp.bincount(pre, length=local.n_pre)[None]  # padding (n_pre) is dropped

    spec = PartitionSpec(axis)
    return jax.jit(jax.shard_map(histogram, mesh=out_sharding.mesh, in_specs=spec, out_specs=spec))


@functools.lru_cache(maxsize=64)
def _exchange_program(local, per_device, width, out_sharding, n_operands):
    """The exchange of :func:`exchange_program`, for messages of ``width`` synapses."""
    axis, count = out_sharding.spec[0], devices(out_sharding)
    n_pre, n_post, span = local.n_pre, local.n_post, local.span
    packed = packable(n_pre, span)

    def exchange(*operands):
        *operands, starts = operands
        pre, post, valid, first_post = local(axis, *operands)
        # by post in, (pre, post) out; padding last
        pre, post = sort_valid_pairs(pre, post - first_post, valid, jnp.int32(span) if packed else None)
        valid = pre < n_pre
        post = post + first_post
        index = jnp.arange(pre.shape[0], dtype=jnp.int32)
        position = starts[0, jnp.where(valid, pre, 0)] + _rank_in_run(pre, index)
        target = jnp.where(valid, position // per_device, count)
        rank = _rank_in_run(target, index)  # slot within the message (targets rise along the order)
        where = jnp.where(valid, target * width + rank, count * width)

        def send(values, blank):  # row r of what arrives came from device r
            message = jnp.full(count * width, blank, jnp.int32).at[where].set(values, mode="drop")
            return lax.all_to_all(message.reshape(count, width), axis, 0, 0, tiled=True).reshape(-1)

        slot = send(position % per_device, per_device)  # blank slots land out of range: dropped
        out_pre = jnp.full(per_device, n_pre, jnp.int32).at[slot].set(send(pre, n_pre), mode="drop")
        return out_pre, jnp.full(per_device, n_post, jnp.int32).at[slot].set(send(post, n_post), mode="drop")

    spec = PartitionSpec(axis)
    return jax.jit(
        jax.shard_map(exchange, mesh=out_sharding.mesh, in_specs=(spec,) * (n_operands + 1), out_specs=(spec, spec))
    )


def _message_width(widest: int) -> int:
    """The length of the exchange's messages: ``widest`` rounded up to a sixteenth of an
    octave, so that requests of about one size share one compiled program."""
    widest = max(1, widest)
    step = 1 << max(0, widest.bit_length() - 4)
    return -(-widest // step) * step


_LAST = np.uint32(2**32 - 1)  # the padding key: sorts after every pair


def sorted_packed_pairs(
    keys: jax.Array, n: int, width: int, pads: tuple[int, int], out_sharding: NamedSharding
) -> tuple[jax.Array, jax.Array]:
    """Pairs packed as ``row · width + column``, rows below ``pads[0]`` (uint32; ``keys`` split evenly over the
    devices of ``out_sharding``, its first ``n`` entries the pairs, the rest ignored), sorted
    and unpacked, ``n`` pairs split over the same devices in slices of the sorted order,
    padded with ``pads``: the one exchange of a rule whose pairs are drawn in no order.

    Each device sorts its share of the keys and counts it by buckets (runs of ``2**shift``
    key values, ``2**16`` buckets over the keys' range). From the counts the host knows
    which buckets hold each device's slice of the sorted order and where each device's
    sorted share enters them; each device then sends every other one the run of its share
    in that device's buckets (a bucket at a slice's edge goes to both sides), in one
    ``all_to_all`` of messages sized by the longest run, sorts what it receives and keeps
    its ranks. For uniform pairs a message is about a slice over the device count, so
    memory per device is about five slices of keys and the counts."""
    run, args = packed_sort_program(keys, n, width, pads, out_sharding)
    return run(*args)


def packed_sort_program(keys, n, width, pads, out_sharding):
    """The exchange program of :func:`sorted_packed_pairs` and its arguments, after the
    bucket counts it needs (``run.lower(*args)`` gives XLA's memory analysis)."""
    count, per_device = devices(out_sharding), slice_length(n, out_sharding)
    top = max(1, (int(width) * int(pads[0]) - 1).bit_length())  # the keys' bits (rows below pads[0])
    shift = max(0, top - 16)
    n_buckets = ((1 << top) >> shift) or 1
    shares, per_bucket = _bucket_program(n, shift, n_buckets, out_sharding)(keys)
    per_bucket = np.asarray(per_bucket).astype(np.int64)  # (devices, buckets)
    starts = np.concatenate([[0], np.cumsum(per_bucket.sum(0))])  # where each bucket starts in the order
    within = np.concatenate([np.zeros((count, 1), np.int64), np.cumsum(per_bucket, axis=1)], axis=1)
    begins = np.arange(count, dtype=np.int64) * per_device
    ends = np.minimum(begins + per_device, n)
    first = np.searchsorted(starts, begins, side="right") - 1  # the bucket holding a slice's first synapse
    last = np.searchsorted(starts, ends, side="left") - 1  # and its last
    has = ends > begins
    lo = np.where(has[None], within[:, np.clip(first, 0, n_buckets)], 0)  # lo[d, t]: device d's run for t
    hi = np.where(has[None], within[:, np.clip(last + 1, 0, n_buckets)], 0)
    offsets = np.where(has, starts[np.clip(first, 0, n_buckets)], begins)  # rank of what t receives first
    run = _sort_exchange_program(per_device, _message_width(int((hi - lo).max())), width, pads, out_sharding)
    split = NamedSharding(out_sharding.mesh, PartitionSpec(out_sharding.spec[0]))
    operands = (lo.astype(np.int32), hi.astype(np.int32), offsets.astype(np.int32))
    return run, (shares, *(jax.device_put(x, split) for x in operands))


@functools.lru_cache(maxsize=16)
def _bucket_program(n, shift, n_buckets, out_sharding):
    """Each device's share of the keys, sorted (padding last), and its counts per bucket."""
    axis = out_sharding.spec[0]

    def local(keys):
        slot = lax.axis_index(axis) * keys.shape[0] + jnp.arange(keys.shape[0], dtype=jnp.int32)
        keys = jnp.sort(jnp.where(slot < n, keys, _LAST))
        bucket = jnp.where(keys != _LAST, keys >> shift, n_buckets).astype(jnp.int32)
        return keys, jnp.bincount(bucket, length=n_buckets + 1)[None, :n_buckets]

    spec = PartitionSpec(axis)
    return jax.jit(jax.shard_map(local, mesh=out_sharding.mesh, in_specs=spec, out_specs=(spec, spec)))


@functools.lru_cache(maxsize=16)
def _sort_exchange_program(per_device, message, width, pads, out_sharding):
    """The exchange of :func:`sorted_packed_pairs`, for messages of ``message`` keys."""
    axis = out_sharding.spec[0]

    def local(keys, lo, hi, offset):
        index = lo[0][:, None] + jnp.arange(message, dtype=jnp.int32)
        sent = jnp.where(index < hi[0][:, None], keys[jnp.minimum(index, keys.shape[0] - 1)], _LAST)
        received = jnp.sort(lax.all_to_all(sent, axis, 0, 0, tiled=True).reshape(-1))
        rank = lax.axis_index(axis) * per_device - offset[0] + jnp.arange(per_device, dtype=jnp.int32)
        mine = jnp.where(rank < received.shape[0], received[jnp.minimum(rank, received.shape[0] - 1)], _LAST)
        ok = mine != _LAST
        width_ = jnp.uint32(width)
        return (
            jnp.where(ok, (mine // width_).astype(jnp.int32), pads[0]),
            jnp.where(ok, (mine % width_).astype(jnp.int32), pads[1]),
        )

    spec = PartitionSpec(axis)
    return jax.jit(jax.shard_map(local, mesh=out_sharding.mesh, in_specs=(spec,) * 4, out_specs=(spec, spec)))


def _rank_in_run(sorted_values: jax.Array, index: jax.Array) -> jax.Array:
    """Each element's place among the equal ones before it in a sorted array: O(n), where a
    search per element would be O(n log n) (2-3x slower on CPU at 10^7)."""
    starts = jnp.concatenate([jnp.ones(1, bool), sorted_values[1:] != sorted_values[:-1]])
    return index - lax.cummax(jnp.where(starts, index, 0))


def _count_below(starts: np.ndarray, counts: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many of one device's synapses have positions below each bound: its synapses of
    pre ``i`` fill ``[starts[i], starts[i] + counts[i])``, runs that rise with ``i``."""
    has = counts > 0
    starts, counts = starts[has], counts[has]
    if starts.size == 0:
        return np.zeros(bounds.shape, np.int64)
    done = np.concatenate([[0], np.cumsum(counts)])
    run = np.searchsorted(starts, bounds, side="right") - 1  # the last run starting at or below
    inside = np.where(run >= 0, np.minimum(bounds - starts[np.maximum(run, 0)], counts[np.maximum(run, 0)]), 0)
    return done[np.maximum(run, 0)] * (run >= 0) + inside

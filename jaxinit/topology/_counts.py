"""Count rules: deterministic wiring, a pairwise Bernoulli law, and draws with replacement.

The kernels here are *size-generic*: sizes and synapse counts enter the compiled program
as traced int32 scalars, and the outputs have a static capacity
(:func:`~jaxinit.topology._sampling.capacity_for`: the next power of two, at least 1024).
Slots past the requested count are padding, sorted to the end as a sentinel pair and cut
off by :func:`~jaxinit.topology._sampling.trim` outside the kernel, so one compiled
program serves every size of a rule within a capacity class and padding never leaks.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import NamedSharding, PartitionSpec
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit.topology._checks import INDEX_LIMIT, check_concrete, check_count, check_size
from jaxinit.topology._connectivity import Connectivity, auto_axes, empty
from jaxinit.topology._memory import check_memory
from jaxinit.topology._sampling import (
    DEFAULT_BLOCK,
    MIN_SKIP_DENSITY,
    bounded_while,
    capacity_for,
    check_ok,
    distinct_sorted,
    host_rng,
    kept_in_block,
    packable,
    padded_within,
    sample_pairs,
    skip_candidates,
    skip_plan,
    sort_valid_pairs,
    trim,
)
from jaxinit.topology._shard import (
    blank_slices,
    check_out_sharding,
    connectivity_from_blocks,
    devices,
    sharded,
    sharded_blocks,
    slice_length,
    sorted_packed_pairs,
    write_at,
)

# pair spaces up to this size are subsets of linear indices, one program per capacity class
# of the pair space; larger ones draw distinct pairs directly (one program per capacity class
# of the count) up to this density, and denser requests use the exact k-subset sampler
_SMALL_SPACE = 1 << 16
_DRAWS_MAX_DENSITY = 1 / 64


def _population(name: str, n_pre: Any, n_post: Any, allow_autapse: bool) -> tuple[int, int, bool, int]:
    """``(n_pre, n_post, skip_diagonal, n_cols)``: ``n_cols`` allowed posts per pre."""
    n_pre = check_size(name, "n_pre", n_pre)
    recurrent = n_post is None
    n_post = n_pre if recurrent else check_size(name, "n_post", n_post)
    skip_diagonal = recurrent and not allow_autapse
    return n_pre, n_post, skip_diagonal, max(n_post - 1, 0) if skip_diagonal else n_post


def _skip(owners: jax.Array, partners: jax.Array, valid: jax.Array) -> jax.Array:
    """Partner ``j`` of owner ``i`` in a population without autapses: ``j + (j >= i)``."""
    return jnp.where(valid & (partners >= owners), partners + 1, partners)


# --- kernels (traced sizes, static capacity) ----------------------------------------------


@functools.partial(jax.jit, static_argnames=("capacity", "skip_diagonal"))
def _all_pairs(n_cols, nnz, *, capacity, skip_diagonal):
    i = jnp.arange(capacity, dtype=jnp.int32)
    n_cols = jnp.maximum(n_cols, 1)
    pre, post = i // n_cols, i % n_cols
    if skip_diagonal:
        post = _skip(pre, post, i < nnz)
    return pre, post


@functools.partial(jax.jit, static_argnames=("capacity",))
def _diagonal(*, capacity):
    i = jnp.arange(capacity, dtype=jnp.int32)
    return i, i


@functools.partial(jax.jit, static_argnames=("capacity", "skip_diagonal", "packed"))
def multapse_pairs(key, n_rows, n_cols, nnz, row_offset=0, *, capacity, skip_diagonal, packed=False):
    """``nnz`` independent uniform pairs of the ``n_rows x n_cols`` grid (with replacement),
    sorted, padded to ``capacity`` with the sentinel pair. Sizes may be traced. ``packed``:
    rows x (columns + 1) fits 32 bits (one sort key). ``row_offset``: the grid's rows are
    neurons ``row_offset`` on (for the diagonal; the rows returned stay local)."""
    rows, cols, valid = _multapse_draw(key, n_rows, n_cols, nnz, capacity, skip_diagonal, row_offset)
    return sort_valid_pairs(rows, cols, valid, n_cols + 1 if packed else None)


def _multapse_draw(key, n_rows, n_cols, nnz, length, skip_diagonal, row_offset=0):
    """The first ``length`` slots of :func:`multapse_pairs`' draw, unsorted, and which of
    them are pairs. Slot ``i`` depends on the key and ``i`` alone (jax's threefry is
    partitionable), not on ``length`` or on how the draw is split over devices."""
    key_row, key_col = jax.random.split(key)
    rows = jax.random.randint(key_row, (length,), 0, n_rows, dtype=jnp.int32)
    cols = jax.random.randint(key_col, (length,), 0, n_cols, dtype=jnp.int32)
    valid = jnp.arange(length, dtype=jnp.int32) < nnz
    if skip_diagonal:
        cols = _skip(rows + row_offset, cols, valid)
    return rows, cols, valid


def sharded_multapse_pairs(key, n_pre, n_post, n_cols, nnz, skip_diagonal, out_sharding):
    """What :func:`multapse_pairs` draws on a grid whose pairs pack into 32 bits, split over
    the devices of ``out_sharding``: each device draws a slice of the slots (XLA splits the
    draw), then :func:`~jaxinit.topology._shard.sorted_packed_pairs` sorts them across the
    devices. Equal to the unsharded pairs element for element."""
    keys = _multapse_keys_program(n_pre, n_cols, nnz, skip_diagonal, out_sharding)(key)
    return sorted_packed_pairs(keys, nnz, n_cols + 1, (n_pre, n_post), out_sharding)


@functools.lru_cache(maxsize=16)
def _multapse_keys_program(n_rows, n_cols, nnz, skip_diagonal, out_sharding):
    length = devices(out_sharding) * slice_length(nnz, out_sharding)

    def draw(key):
        rows, cols, valid = _multapse_draw(key, n_rows, n_cols, nnz, length, skip_diagonal)
        keys = rows.astype(jnp.uint32) * jnp.uint32(n_cols + 1) + cols.astype(jnp.uint32)
        return jnp.where(valid, keys, jnp.uint32(2**32 - 1))

    return jax.jit(draw, out_shardings=out_sharding)


@functools.partial(jax.jit, static_argnames=("capacity", "skip_diagonal", "by_post", "packed"))
def multapse_degree_pairs(key, n_choices, k, nnz, *, capacity, skip_diagonal, by_post, packed=False):
    """Owner ``i // k`` (a post neuron if ``by_post``, else a pre neuron) with ``k`` partners
    drawn uniformly with replacement from ``n_choices``, for the first ``nnz`` slots; sorted
    by ``(pre, post)``, padded to ``capacity``. Sizes may be traced. ``packed``: pre x post
    neurons fit 32 bits (one sort key)."""
    owners, partners, valid = _degree_draw(key, n_choices, k, nnz, capacity, skip_diagonal)
    pre, post = (partners, owners) if by_post else (owners, partners)
    # the columns stay below the owners' count (by post) or the partners' (+1 past the diagonal)
    width = (nnz + k - 1) // jnp.maximum(k, 1) if by_post else n_choices + 1
    return sort_valid_pairs(pre, post, valid, width if packed else None)


def _degree_draw(key, n_choices, k, nnz, length, skip_diagonal):
    """The first ``length`` slots of :func:`multapse_degree_pairs`' draw (slot ``i``: owner
    ``i // k``), unsorted: ``(owners, partners, valid)``. Slot ``i`` depends on the key and
    ``i`` alone, as in :func:`_multapse_draw`."""
    i = jnp.arange(length, dtype=jnp.int32)
    owners = i // jnp.maximum(k, 1)
    partners = jax.random.randint(key, (length,), 0, n_choices, dtype=jnp.int32)
    valid = i < nnz
    if skip_diagonal:
        partners = _skip(owners, partners, valid)
    return owners, partners, valid


@functools.lru_cache(maxsize=16)
def degree_partners_program(n_rows, n_choices, k, skip_diagonal, by_post, out_sharding):
    """The program drawing what :func:`multapse_degree_pairs` draws, split over the devices of
    ``out_sharding`` in slices of ``n_rows · k`` slots (``program(key)``). Out-degrees
    (``by_post`` false) give the sorted ``(pre, post)`` slices: each device draws and sorts
    whole rows, then XLA shifts the rows' edges into the slices (a neighbour exchange, no
    gather). In-degrees give each post slot's pre, padded with ``n_choices``'s bound, for
    :func:`~jaxinit.topology._shard.sharded_to_pre_major`."""
    count, nnz = devices(out_sharding), n_rows * k
    length = count * slice_length(nnz, out_sharding)
    auto = auto_axes(out_sharding)
    rows = NamedSharding(auto.mesh, PartitionSpec(auto.spec[0], None))
    n_pre, n_post = (n_choices + skip_diagonal, n_rows) if by_post else (n_rows, n_choices + skip_diagonal)

    def draw(key):
        if by_post:
            _, partners, valid = _degree_draw(key, n_choices, k, nnz, length, skip_diagonal)
            return (jnp.where(valid, partners, n_pre),)
        per_row = -(-n_rows // count) * count * k  # whole rows on each device
        owners, partners, valid = _degree_draw(key, n_choices, k, nnz, per_row, skip_diagonal)
        partners = jnp.sort(lax.with_sharding_constraint(partners.reshape(-1, k), rows), axis=1)
        owners, partners, valid = (x.reshape(-1)[:length] for x in (owners, partners.reshape(-1), valid))
        return jnp.where(valid, owners, n_pre), jnp.where(valid, partners, n_post)

    return jax.jit(draw, out_shardings=auto)


@functools.partial(jax.jit, static_argnames=("capacity", "skip_diagonal", "packed"))
def distinct_pairs(key, n_rows, n_cols, nnz, row_offset=0, *, capacity, skip_diagonal, packed=False):
    """``nnz`` distinct pairs, uniform over the ``n_rows x n_cols`` grid, sorted and padded to
    ``capacity``; and whether they are distinct (the retries are bounded by
    :data:`~jaxinit.topology._sampling.MAX_ROUNDS`). ``row_offset``: the grid's rows are
    neurons ``row_offset`` on (for the diagonal; the rows returned stay local). Independent uniform draws whose repeats
    are redrawn until none is left (the draws are exchangeable, so the set is a uniform
    ``nnz``-subset): for sparse requests, where few rounds are needed."""
    valid = jnp.arange(capacity, dtype=jnp.int32) < nnz

    def draw(key):
        key_row, key_col = jax.random.split(key)
        rows = jax.random.randint(key_row, (capacity,), 0, n_rows, dtype=jnp.int32)
        return rows, jax.random.randint(key_col, (capacity,), 0, n_cols, dtype=jnp.int32)

    def sort_and_mark(rows, cols):
        # the valid pairs sort first, so `valid` also marks them after the sort
        rows, cols = sort_valid_pairs(rows, cols, valid, n_cols if packed else None)
        repeated = (rows[1:] == rows[:-1]) & (cols[1:] == cols[:-1])
        return rows, cols, jnp.concatenate([jnp.zeros(1, bool), repeated]) & valid

    def redraw(state):
        key, rows, cols, repeated = state
        key, key_new = jax.random.split(key)
        new_rows, new_cols = draw(key_new)
        return (key, *sort_and_mark(jnp.where(repeated, new_rows, rows), jnp.where(repeated, new_cols, cols)))

    key, key_first = jax.random.split(key)
    state = bounded_while(lambda s: jnp.any(s[3]), redraw, (key, *sort_and_mark(*draw(key_first))))
    _, rows, cols, repeated = state
    if skip_diagonal:
        cols = _skip(rows + row_offset, cols, valid)
    return rows, cols, ~jnp.any(repeated)


@functools.partial(jax.jit, static_argnames=("capacity", "skip_diagonal"))
def small_subset(key, n_cols, allowed, nnz, *, capacity, skip_diagonal):
    """A uniform ``nnz``-subset of the ``allowed = n_rows · n_cols <= capacity`` row-major
    pairs, sorted, padded to ``capacity``; and whether the draw succeeded. The subset is
    drawn directly when ``nnz <= allowed / 2``, else as the complement of a uniform
    ``allowed - nnz``-subset; sizes may be traced."""
    direct = 2 * nnz <= allowed
    excluded = allowed - nnz
    chosen, ok = distinct_sorted(key, allowed, jnp.where(direct, nnz, excluded), capacity)
    j = jnp.arange(capacity, dtype=jnp.int32)
    # the j-th index not chosen is j + #{q : chosen[q] - q <= j}
    shifted = jnp.where(j < excluded, chosen - j, jnp.iinfo(jnp.int32).max)
    complement = j + jnp.searchsorted(shifted, j, side="right").astype(jnp.int32)
    valid = j < nnz
    linear = jnp.where(valid, jnp.where(direct, chosen, complement), 0)
    n_cols = jnp.maximum(n_cols, 1)
    rows, cols = linear // n_cols, linear % n_cols
    if skip_diagonal:
        cols = _skip(rows, cols, valid)
    return rows, cols, ok


# --- builders -------------------------------------------------------------------------------


def one_to_one(n: int) -> Connectivity:
    """Neuron ``i`` onto neuron ``i``, for ``i < n``.

    Memory: 8 bytes per synapse (two int32 indices), padded to the capacity class.

    Args:
      n: the number of neurons in each population.

    Returns:
      A :class:`Connectivity` of ``n`` synapses with ``n_pre = n_post = n``.

    Raises:
      TypeError: ``n`` not an int.
      ValueError: ``n`` outside ``[0, 2**31)``.

    Example:
      >>> conn = one_to_one(4)
      >>> conn.pre.tolist(), conn.post.tolist(), conn.pre.dtype
      ([0, 1, 2, 3], [0, 1, 2, 3], dtype('int32'))
    """
    n = check_size("one_to_one", "n", n)
    if n == 0:
        return empty(0, 0)
    pre, post = trim(_diagonal(capacity=capacity_for(n)), n)
    return Connectivity(pre, post, n_pre=n, n_post=n)


def all_to_all(n_pre: int, n_post: int | None = None, allow_autapse: bool = False) -> Connectivity:
    """Every allowed pair, once.

    Memory: 8 bytes per synapse, padded to the capacity class.

    Args:
      n_pre: number of presynaptic neurons.
      n_post: number of postsynaptic neurons; ``None`` for one recurrent population (then
        autapses ``pre == post`` are excluded unless ``allow_autapse``).
      allow_autapse: allow ``pre == post`` in a recurrent population.

    Returns:
      A :class:`Connectivity` of ``n_pre · n_post`` synapses (``n · (n - 1)`` without
      autapses), sorted by ``(pre, post)``.

    Raises:
      TypeError: sizes that are not ints.
      ValueError: sizes outside ``[0, 2**31)``, or more than ``2**31 - 1`` pairs.
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> conn = all_to_all(3)
      >>> list(zip(conn.pre.tolist(), conn.post.tolist()))
      [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
    """
    name = "all_to_all"
    n_pre, n_post, skip_diagonal, n_cols = _population(name, n_pre, n_post, allow_autapse)
    nnz = check_count(name, n_pre * n_cols)
    capacity = capacity_for(nnz)
    check_memory(name, capacity, "random_topology")
    if nnz == 0:
        return empty(n_pre, n_post)
    arrays = _all_pairs(np.int32(n_cols), np.int32(nnz), capacity=capacity, skip_diagonal=skip_diagonal)
    pre, post = trim(arrays, nnz)
    return Connectivity(pre, post, n_pre=n_pre, n_post=n_post)


# pairs decided at once by the streaming Bernoulli kernel
_STREAM_BLOCK = 1 << 16


def _stream_block(key, b, n_cols, allowed, threshold, certain, skip_diagonal):
    """Stream block ``b`` of :func:`bernoulli_stream`: its pairs ``(pre, post)`` (row-major
    linear indices ``b · _STREAM_BLOCK + lane``) and which are kept."""
    index = b * _STREAM_BLOCK + jnp.arange(_STREAM_BLOCK, dtype=jnp.int32)
    bits = jax.random.bits(jax.random.fold_in(key, b), (_STREAM_BLOCK,), jnp.uint32)
    keep = (index < allowed) & (certain | (bits < threshold))
    pre, post = index // n_cols, index % n_cols
    if skip_diagonal:
        post = _skip(pre, post, keep)
    return pre, post, keep


def _kept_first(pre, post, keep):
    """A stream block's kept pairs moved to its front, in order (zeros after them)."""
    at = jnp.where(keep, jnp.cumsum(keep, dtype=jnp.int32) - 1, _STREAM_BLOCK)
    chunk_pre = jnp.zeros(_STREAM_BLOCK, jnp.int32).at[at].set(pre, mode="drop")
    return chunk_pre, jnp.zeros(_STREAM_BLOCK, jnp.int32).at[at].set(post, mode="drop")


@functools.partial(jax.jit, static_argnames=("capacity", "skip_diagonal"))
def bernoulli_stream(key, n_cols, allowed, threshold, certain, *, capacity, skip_diagonal):
    """Every allowed pair (row-major linear index below ``allowed``) kept independently when its
    32-bit draw is below ``threshold`` (or always, ``certain``): ``(pre, post)`` in order, in
    ``capacity`` slots, and how many were kept (also past ``capacity``: those are dropped). One
    draw per pair, so the work is O(allowed); sizes and the threshold are traced."""
    n_cols = jnp.maximum(n_cols, 1)

    def body(b, state):
        out_pre, out_post, count = state
        pre, post, keep = _stream_block(key, b, n_cols, allowed, threshold, certain, skip_diagonal)
        chunk_pre, chunk_post = _kept_first(pre, post, keep)
        start = jnp.minimum(count, capacity)
        out_pre = jax.lax.dynamic_update_slice(out_pre, chunk_pre, (start,))
        out_post = jax.lax.dynamic_update_slice(out_post, chunk_post, (start,))
        return out_pre, out_post, count + jnp.sum(keep, dtype=jnp.int32)

    n_blocks = (allowed + _STREAM_BLOCK - 1) // _STREAM_BLOCK
    empty_ = jnp.zeros(capacity + _STREAM_BLOCK, jnp.int32)
    out_pre, out_post, count = jax.lax.fori_loop(0, n_blocks, body, (empty_, empty_, jnp.int32(0)))
    return out_pre[:capacity], out_post[:capacity], count


@dataclasses.dataclass(frozen=True)
class StreamBlock:
    """Stream block ``b``'s kept pairs, first in its slots, for :func:`sharded_blocks` (compared by
    value: one sharded program for every dense request with the same diagonal rule)."""

    skip_diagonal: bool

    def __call__(self, operands, b):
        key, n_cols, allowed, threshold, certain = operands
        return _kept_first(*_stream_block(key, b, n_cols, allowed, threshold, certain, self.skip_diagonal))


@functools.lru_cache(maxsize=16)
def _stream_counts_program(out_sharding: NamedSharding, per_device: int):
    """Each device counts the kept pairs of its share of the stream blocks (``per_device``
    of them, a power of two: one program per capacity class)."""
    axis = out_sharding.spec[0]

    def local(key, n_cols, allowed, threshold, certain):
        first = lax.axis_index(axis) * per_device
        n_blocks = (allowed + _STREAM_BLOCK - 1) // _STREAM_BLOCK

        def body(i, counts):
            b = first + i
            _, _, keep = _stream_block(key, b, n_cols, allowed, threshold, certain, False)
            return counts.at[i].set(jnp.where(b < n_blocks, jnp.sum(keep, dtype=jnp.int32), 0))

        counts = lax.pcast(jnp.zeros(per_device, jnp.int32), (axis,), to="varying")
        return lax.fori_loop(0, jnp.clip(n_blocks - first, 0, per_device), body, counts)

    replicated = PartitionSpec()
    run = jax.shard_map(local, mesh=out_sharding.mesh, in_specs=(replicated,) * 5, out_specs=PartitionSpec(axis))
    return jax.jit(run)


def sharded_bernoulli_stream(key, n_pre, n_post, n_cols, allowed, threshold, certain, skip_diagonal, out_sharding):
    """:func:`bernoulli_stream`'s pairs split over the devices of ``out_sharding``: the devices
    count the stream blocks' kept pairs, a share each, then each draws the blocks that
    overlap its slice again and keeps those (two draws per pair in all, spread over the
    devices; memory per device: its slice plus one block)."""
    operands = (key, np.int32(max(n_cols, 1)), np.int32(allowed), threshold, np.bool_(certain))
    n_blocks = -(-allowed // _STREAM_BLOCK)
    per_device = capacity_for(-(-n_blocks // devices(out_sharding)))
    counts = np.asarray(_stream_counts_program(out_sharding, per_device)(*operands))[:n_blocks]
    if not counts.any():
        return sharded(empty(n_pre, n_post), out_sharding)
    pre, post = sharded_blocks(counts, StreamBlock(skip_diagonal), operands, (n_pre, n_post), out_sharding)
    return Connectivity(pre, post, n_pre=n_pre, n_post=n_post, n_syn=int(counts.sum()))


def subset_pairs(name, key, n_pre, n_post, n_cols, k, skip_diagonal, block, out_sharding) -> Connectivity:
    """A uniform ``k``-subset of the allowed pairs by the exact sampler
    (:func:`~jaxinit.topology._sampling.sample_pairs`). Under ``out_sharding``, at a density
    of at least ``MIN_SKIP_DENSITY`` (the geometric-skip sampler), its first pass runs once
    and each device writes only the blocks of its slice (memory: the slice plus one block);
    sparser requests are built whole, then placed."""
    if out_sharding is not None and k > 0 and k / (n_pre * n_cols) >= MIN_SKIP_DENSITY:
        check_memory(name, slice_length(k, out_sharding))  # each device writes its slice
        plan = _skip_plan(key, n_pre, n_cols, k, block)
        check_ok(name, plan[-1])
        pre, post = _skip_pairs_sharded(plan[:-1], n_pre, n_post, n_cols, k, skip_diagonal, block, out_sharding)
        return Connectivity(pre, post, n_pre=n_pre, n_post=n_post, n_syn=k)
    check_memory(name, k)
    pre, post, ok = sample_pairs(key, n_pre, n_cols, k, 0, skip_diagonal, block)
    check_ok(name, ok)
    return sharded(Connectivity(pre, post, n_pre=n_pre, n_post=n_post), out_sharding)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _skip_plan(key, n_rows, n_cols, k, block):
    return skip_plan(key, n_rows, n_cols, k, block)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6, 7))
def _skip_pairs_sharded(plan, n_rows, n_post, n_cols, k, skip_diagonal, block, out_sharding):
    """What :func:`~jaxinit.topology._sampling.sample_pairs` draws by geometric skips, split
    over the devices of ``out_sharding``: the first pass (``plan``, O(blocks + surplus)) is
    replicated, then each device writes the blocks of candidates whose outputs overlap its
    slice (memory: its slice plus one block)."""
    axis = out_sharding.spec[0]
    per_device = slice_length(k, out_sharding)

    def local(key_skips, starts, removed, count):
        candidates = skip_candidates(key_skips, n_rows, n_cols, k, block)
        begin = lax.axis_index(axis) * per_device
        end = jnp.minimum(begin + per_device, k)
        # block b's outputs start at b · block minus the removals before it (non-decreasing)
        n_blocks = candidates.keys.shape[0]
        firsts = jnp.arange(n_blocks, dtype=jnp.int32) * candidates.block
        firsts = firsts - jnp.searchsorted(removed, firsts, side="left").astype(jnp.int32)
        lo = jnp.searchsorted(firsts, begin, side="right").astype(jnp.int32) - 1
        hi = jnp.where(end > begin, jnp.searchsorted(firsts, end, side="left").astype(jnp.int32), lo)

        def body(b, buffers):
            first, n_kept, rows, cols = kept_in_block(candidates, starts, removed, count, b)
            i = first + jnp.arange(candidates.block, dtype=jnp.int32)
            mine = (i < first + n_kept) & (i >= begin) & (i < end)
            if skip_diagonal:
                cols = cols + (cols >= rows).astype(jnp.int32)
            return write_at(buffers, jnp.where(mine, i - begin, per_device), (rows, cols))

        shapes = (jax.ShapeDtypeStruct((per_device,), jnp.int32),) * 2
        return lax.fori_loop(jnp.maximum(lo, 0), hi, body, blank_slices((n_rows, n_post), shapes, per_device, axis))

    replicated = PartitionSpec()
    run = jax.shard_map(local, mesh=out_sharding.mesh, in_specs=(replicated,) * 4, out_specs=(PartitionSpec(axis),) * 2)
    return run(*plan)


def binomial_count(key: jax.Array, n: int, p: float) -> int:
    """An exact ``Binomial(n, p)`` draw for ``n`` up to ``2**63 - 1``, from a concrete key.

    NumPy's generator (BTPE for large means, inversion for small ones; exact up to
    float64 rounding) is seeded with 128 bits drawn from ``key``: JAX's own
    ``jax.random.binomial`` computes in the float dtype, which with x64 off cannot even
    represent counts past 2**24.
    """
    seed = np.asarray(jax.random.bits(key, (4,), jnp.uint32)).tolist()
    return int(np.random.default_rng(seed).binomial(n, p))


def pairwise_bernoulli(
    key: ArrayLike,
    n_pre: int,
    n_post: int | None = None,
    *,
    p: float,
    allow_autapse: bool = False,
    capacity: int | None = None,
    block_size: int = DEFAULT_BLOCK,
    out_sharding: NamedSharding | None = None,
) -> Connectivity:
    """Every allowed pair a synapse independently with probability ``p`` (NEST's
    ``pairwise_bernoulli``, Brian2's ``p=``, braintools' ``Random``).

    The synapse count ``K ~ Binomial(allowed pairs, p)`` is drawn first (exactly, for up
    to ``(2**31 - 1)**2`` pairs), then a uniform ``K``-subset of the allowed pairs: given
    its size, a Bernoulli subset is uniform, so this is exactly the Bernoulli law.

    Because ``K`` sets the output's length, it is drawn eagerly from a concrete key. The
    pairs are then drawn by programs compiled once per capacity class (sizes and ``K``
    enter as traced values, see :func:`~jaxinit.topology._sampling.capacity_for`): over
    at most 2**16 pairs, a subset of linear indices (or its complement past ``p = 1/2``);
    beyond, independent draws with repeats redrawn while ``K`` is at most 1/64 of the
    pairs. A sparse request (``p <= 1/64``) of more than about ``block_size`` synapses is
    drawn in blocks of rows instead: each block's count an independent ``Binomial(block
    pairs, p)`` (disjoint pairs, so exactly the same law), its pairs as above, one compiled
    program for every block; these are the blocks each device draws under ``out_sharding``.
    Denser requests (``p > 1/64``) decide every pair by its own 32-bit draw, kept
    below ``ceil(p · 2**32)`` (O(allowed pairs) work, at most 64 draws per synapse; one
    program per capacity class), and the count is that draw's own; spaces of 2³¹ pairs
    or more use the exact ``K``-subset sampler of :func:`random_topology`, which compiles
    once per ``K``.

    Memory: about 14 bytes per synapse while building, 8 in the result.

    Args:
      key: a concrete PRNG key (not traced: see Raises).
      n_pre: number of presynaptic neurons.
      n_post: number of postsynaptic neurons; ``None`` for one recurrent population (then
        autapses ``pre == post`` are excluded unless ``allow_autapse``).
      p: the connection probability, in [0, 1].
      allow_autapse: allow ``pre == post`` in a recurrent population.
      capacity: a static length for the arrays, which makes the build work under ``jit``
        and ``vmap`` (a traced key): the synapses, then padding pairs ``(n_pre, n_post)``
        up to ``capacity``, which every method ignores (as ``BCOO`` ignores indices out
        of range; :meth:`~jaxinit.topology.Connectivity.unpadded` drops them from concrete
        arrays; the count is ``conn.out_degree().sum()``). The count is then drawn on the
        device (``jax.random.binomial``, a sum over chunks of ``2**24`` pairs, whose counts
        float32 holds exactly) and the pairs by the same kernels as below; a denser request
        (``p > 1/64``) or a space of at most 2**16 pairs is decided pair by pair. A count
        above ``capacity`` raises (``ValueError`` eagerly; under ``jit`` the program fails
        with that message), never truncates: ask for about ``mean + 6·sd``.
      block_size: synapses expected per block of rows of the sparse sampler, and elements
        drawn at once by the dense one (bounds the temporaries; the law does not depend on
        it, the bits do).
      out_sharding: a ``NamedSharding(mesh, PartitionSpec(axis))``: split the synapses
        over its devices, equal to the unsharded build (padding as in
        :func:`~jaxinit.topology.shard`). A sparse request in blocks of rows is drawn on
        the devices, each only the blocks of its slice (memory: the slice plus one block);
        so is a dense one decided pair by pair (the devices first count a share of the
        pairs each, to know where each slice starts: two draws per pair in all); any other
        is built whole on one device, then placed.

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)``, distinct pairs, without weights.

    Raises:
      TypeError: sizes that are not ints, a traced ``p``, or a traced key without
        ``capacity`` (the count is random and sets the arrays' length).
      ValueError: sizes outside ``[0, 2**31)``, ``p`` outside [0, 1], a request whose
        mean count reaches ``2**31`` synapses, ``capacity`` with ``out_sharding`` or
        below 1, or a drawn count above ``capacity``.
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> import jax
      >>> conn = pairwise_bernoulli(jax.random.key(0), 1000, p=0.01)
      >>> conn.nnz, conn.pre.dtype, bool((conn.pre != conn.post).all())
      (10047, dtype('int32'), True)
    """
    name = "pairwise_bernoulli"
    out_sharding = check_out_sharding(name, out_sharding)
    n_pre, n_post, skip_diagonal, n_cols = _population(name, n_pre, n_post, allow_autapse)
    block = check_size(name, "block_size", block_size, 1)
    check_concrete(name, "p", p, "the synapse count's law")
    _core.validate(name, {"p": p}, {"p": _core.PROBABILITY})
    p = float(p)
    allowed = n_pre * n_cols
    mean, sd = allowed * p, math.sqrt(allowed * p * (1 - p))
    if mean + 6 * sd > INDEX_LIMIT:
        raise ValueError(
            f"{name}: p={p} over {allowed:,} allowed pairs makes ~{mean:,.0f} synapses, more than the 2**31 - 1 "
            "that int32 indices address; lower p or build the network in parts"
        )
    in_row_blocks = allowed > _SMALL_SPACE and p <= _DRAWS_MAX_DENSITY and n_pre > _rows_per_block(n_cols, p, block)
    streamed = p > _DRAWS_MAX_DENSITY and _SMALL_SPACE < allowed < INDEX_LIMIT - _STREAM_BLOCK
    share = 1 if out_sharding is None or not (in_row_blocks or streamed) else devices(out_sharding)
    if capacity is not None:
        capacity = check_size(name, "capacity", capacity, 1)
        if out_sharding is not None:
            raise ValueError(f"{name}: capacity= and out_sharding= cannot be combined; give one of them")
        if p > _DRAWS_MAX_DENSITY and allowed >= INDEX_LIMIT - _STREAM_BLOCK:
            raise ValueError(
                f"{name}: with capacity=, p={p} > 1/64 is decided pair by pair, which needs fewer than 2**31 "
                f"allowed pairs, got {allowed:,}; build it eagerly without capacity="
            )
        check_memory(name, capacity, "fixed_indegree")
        return _bernoulli_within(name, _core.check_key(name, key), n_pre, n_post, n_cols, p, skip_diagonal, capacity)
    check_memory(name, capacity_for(min(allowed, math.ceil((mean + 6 * sd) / share))), "fixed_indegree")
    key = _core.check_key(name, key)
    if _core.is_traced(key):
        raise TypeError(
            f"{name}: key must be concrete, got a traced key: the synapse count is random (Binomial(allowed pairs, "
            "p)) and sets the output's length, so it is drawn eagerly; call pairwise_bernoulli outside jit/vmap "
            "and pass the Connectivity (a pytree) into the jitted function, or give a static capacity="
        )
    key_count, key_pairs = jax.random.split(key)
    if in_row_blocks:  # sparse and large: blocks of rows, each device drawing its own
        blocks = _sparse_row_blocks(key_count, key_pairs, n_pre, n_cols, p, skip_diagonal, block)
        return connectivity_from_blocks(blocks, n_pre, n_post, out_sharding)
    nnz = check_count(name, binomial_count(key_count, allowed, p))
    if nnz == 0:
        return sharded(empty(n_pre, n_post), out_sharding)
    if allowed <= _SMALL_SPACE:
        sizes = (np.int32(n_cols), np.int32(allowed), np.int32(nnz))
        arrays = small_subset(key_pairs, *sizes, capacity=capacity_for(allowed), skip_diagonal=skip_diagonal)
        *pairs, ok = arrays
        pre, post = trim(tuple(pairs), nnz)
    elif nnz <= allowed * _DRAWS_MAX_DENSITY:
        sizes = (np.int32(n_pre), np.int32(n_cols), np.int32(nnz))
        *pairs, ok = distinct_pairs(
            key_pairs, *sizes, capacity=capacity_for(nnz), skip_diagonal=skip_diagonal, packed=packable(n_pre, n_cols)
        )
        pre, post = trim(tuple(pairs), nnz)
    elif allowed < INDEX_LIMIT - _STREAM_BLOCK:
        # dense: a draw per pair, one program per capacity class (the exact k-subset sampler
        # would compile for every count); the count is then the kernel's own Binomial draw
        threshold = np.uint32(min(math.ceil(p * 2**32), 2**32 - 1))
        if out_sharding is not None:  # each device counts a share, then draws its slice
            return sharded_bernoulli_stream(
                key_pairs, n_pre, n_post, n_cols, allowed, threshold, p >= 1, skip_diagonal, out_sharding
            )
        args = (key_pairs, np.int32(n_cols), np.int32(allowed), threshold, np.bool_(p >= 1))
        capacity = capacity_for(min(allowed, math.ceil(mean + 6 * sd) + 1))
        pre, post, count = bernoulli_stream(*args, capacity=capacity, skip_diagonal=skip_diagonal)
        if int(count) > capacity:  # past 6 sd: the exact count is known now
            pre, post, count = bernoulli_stream(*args, capacity=capacity_for(int(count)), skip_diagonal=skip_diagonal)
        nnz = check_count(name, int(count))
        if nnz == 0:
            return sharded(empty(n_pre, n_post), out_sharding)
        pre, post = trim((pre, post), nnz)
        ok = True
    else:  # dense over 2**31 pairs or more: the exact k-subset sampler, each device its slice
        return subset_pairs(name, key_pairs, n_pre, n_post, n_cols, nnz, skip_diagonal, block, out_sharding)
    check_ok(name, ok)
    return sharded(Connectivity(pre, post, n_pre=n_pre, n_post=n_post), out_sharding)


def _bernoulli_within(name, key, n_pre, n_post, n_cols, p, skip_diagonal, capacity) -> Connectivity:
    """:func:`pairwise_bernoulli` in ``capacity`` slots, the count drawn on the device (so the
    key may be traced): the synapses, then padding pairs ``(n_pre, n_post)``."""
    allowed = n_pre * n_cols
    key_count, key_pairs = jax.random.split(key)
    if p > _DRAWS_MAX_DENSITY or allowed <= _SMALL_SPACE:  # every pair decided by its own draw
        threshold = np.uint32(min(math.ceil(p * 2**32), 2**32 - 1))
        args = (key_pairs, np.int32(n_cols), np.int32(allowed), threshold, np.bool_(p >= 1))
        pre, post, count = bernoulli_stream(*args, capacity=capacity, skip_diagonal=skip_diagonal)
        ok = jnp.bool_(True)
    else:
        count = _device_binomial(key_count, allowed, p)
        sizes = (np.int32(n_pre), np.int32(n_cols), jnp.minimum(count, capacity))
        pre, post, ok = distinct_pairs(
            key_pairs, *sizes, capacity=capacity, skip_diagonal=skip_diagonal, packed=packable(n_pre, n_cols)
        )
    pre, post = padded_within(name, pre, post, count, ok, n_pre, n_post)
    return Connectivity(pre, post, n_pre=n_pre, n_post=n_post)


def _device_binomial(key: jax.Array, n: int, p: float) -> jax.Array:
    """An int32 ``Binomial(n, p)`` draw that runs under ``jit``: a sum of
    ``jax.random.binomial`` draws over chunks of at most ``2**24`` trials (counts float32
    holds exactly)."""
    chunk = 1 << 24
    sizes = np.full(-(-n // chunk), chunk, np.float32)
    if n:
        sizes[-1] = n - chunk * (sizes.size - 1)
    return jnp.sum(jax.random.binomial(key, jnp.asarray(sizes), p).astype(jnp.int32))


def _rows_per_block(n_cols: int, p: float, block: int) -> int:
    """Rows of a block of the sparse sampler: about ``block`` synapses expected, and pairs
    that pack into one 32-bit sort key."""
    expected_per_row = max(n_cols * p, 1e-300)
    return max(1, min(int(block / expected_per_row), (2**32 - 2) // (n_cols + 1) - 1))


def _sparse_row_blocks(key_count, key_pairs, n_pre, n_cols, p, skip_diagonal, block):
    """A sparse Bernoulli grid in blocks of rows (see :func:`row_blocks`). Block counts are
    independent ``Binomial(block pairs, p)`` draws (disjoint pairs: exactly the Bernoulli
    law), on the host from ``key_count``; each block's pairs a uniform subset of that size."""
    starts, sizes = row_starts(n_pre, _rows_per_block(n_cols, p, block))
    counts = host_rng(jax.random.bits(key_count, (4,), jnp.uint32)).binomial(sizes * n_cols, p)
    return row_blocks(distinct_pairs, key_pairs, n_cols, starts, sizes, counts, skip_diagonal)


def row_starts(n_rows: int, rows_per_block: int) -> tuple[np.ndarray, np.ndarray]:
    """The first row and the number of rows of each block."""
    starts = np.arange(0, n_rows, rows_per_block)
    return starts, np.minimum(starts + rows_per_block, n_rows) - starts


def row_blocks(kernel, key, n_cols, starts, sizes, counts, skip_diagonal):
    """``(counts, compute_block, operands)`` for :func:`~jaxinit.topology._shard.blocks_in_order`
    and :func:`~jaxinit.topology._shard.sharded_blocks`: block ``b`` holds ``counts[b]``
    pairs of rows ``starts[b]`` on, drawn by ``kernel`` (:func:`distinct_pairs` or
    :func:`multapse_pairs`) from ``fold_in(key, b)``; one compiled kernel for every block."""
    compute_block = RowBlock(kernel, capacity_for(int(counts.max())), skip_diagonal)
    operands = (key, np.int32(n_cols), *(jnp.asarray(x, jnp.int32) for x in (starts, sizes, counts)))
    return counts, compute_block, operands


@dataclasses.dataclass(frozen=True)
class RowBlock:
    """Block ``b`` of :func:`row_blocks`: compared by value, so that the sharded program of
    every request with the same kernel, capacity and diagonal rule is compiled once."""

    kernel: Any
    capacity: int
    skip_diagonal: bool

    def __call__(self, operands, b):
        key, n_cols, starts, sizes, counts = operands
        pre, post = self.kernel(
            jax.random.fold_in(key, b), sizes[b], n_cols, counts[b], starts[b],
            capacity=self.capacity, skip_diagonal=self.skip_diagonal, packed=True,
        )[:2]  # fmt: skip
        return pre + starts[b], post

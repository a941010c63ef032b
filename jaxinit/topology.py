"""Sparse connectivity: exact, uniform, jittable, and never an ``n_pre x n_post`` array.

The core problem is drawing ``k`` distinct pairs uniformly out of ``M`` allowed
pairs in O(k) memory, sorted by ``(pre, post)``, with ``M`` beyond 2³¹ while JAX
runs in 32 bits. Dense enough requests use *geometric skips*: a Bernoulli(p')
subset of the row-major pair space is the running sum of geometric gaps, so it comes
out sorted and duplicate-free; p' is set a few standard deviations above k/M, the
surplus is removed uniformly at random (a uniform subset of a uniform subset is
uniform), and the rare draw with too few pairs is redrawn. Positions are carried as
``(row, column)`` through block-wise sums, so nothing overflows int32. Very sparse
requests draw pairs independently and redraw duplicates (exchangeable, hence
uniform), then sort.

Memory is the output and O(block): the candidates are drawn twice from the same
per-block keys (once to count them, once to write the kept pairs in place) rather
than stored, and ``balanced_ei_network`` draws its weights block by block. On CPU a
one-shot ``jax.random`` draw needs 12 bytes of temporaries per value, three times
the value itself.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import sys
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit._core import Initializer
from jaxinit.profiles import _minimum_image

# gaps below this p' would be too long for int32 blocks: such sparse requests draw pairs directly
_MIN_SKIP_DENSITY = 1e-5
# how many standard deviations p' sits above the target count, and the buffer beyond it
_SURPLUS_SIGMAS, _BUFFER_SIGMAS = 6.0, 12.0
# bytes a synapse costs at the peak of each builder (XLA's memory analysis, plus a margin)
_BYTES_PER_SYNAPSE = {
    "random_topology": 9,
    "fixed_indegree": 14,
    "fixed_outdegree": 9,
    "distance_topology": 20,
    "excitatory_inhibitory": 23,
    "balanced_ei_network": 13,
    "synapse_values": 16,  # 4 for the values, 12 for the random generator's temporaries
    "synapse_values in blocks": 4,
}
# elements drawn or computed at once in the large passes: bounds their temporaries
_BLOCK = 1 << 18


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Connectivity:
    """Synapses as sorted coordinate lists: a pytree that jit and vmap carry.

    Attributes:
      pre: int32 ``(nnz,)`` presynaptic indices, sorted by ``(pre, post)``.
      post: int32 ``(nnz,)`` postsynaptic indices.
      weight: ``(nnz,)`` values per synapse, or ``None``.
      n_pre: number of presynaptic neurons (static).
      n_post: number of postsynaptic neurons (static).

    Example:
      >>> import jax
      >>> conn = random_topology(jax.random.key(0), 100, n_syn=500)
      >>> conn.nnz, int(conn.out_degree().sum()), conn.to_dense().shape
      (500, 500, (100, 100))
    """

    pre: jax.Array
    post: jax.Array
    weight: jax.Array | None = None
    n_pre: int = dataclasses.field(default=0, metadata=dict(static=True))
    n_post: int = dataclasses.field(default=0, metadata=dict(static=True))

    @property
    def nnz(self) -> int:
        """Number of synapses."""
        return self.pre.shape[0]

    @property
    def indptr(self) -> jax.Array:
        """CSR row pointers by pre neuron: synapses of pre ``i`` are ``indptr[i]:indptr[i+1]``."""
        return jnp.searchsorted(self.pre, jnp.arange(self.n_pre + 1, dtype=jnp.int32)).astype(jnp.int32)

    def out_degree(self) -> jax.Array:
        """Synapses per pre neuron, ``(n_pre,)``."""
        return jnp.bincount(self.pre, length=self.n_pre)

    def in_degree(self) -> jax.Array:
        """Synapses per post neuron, ``(n_post,)``."""
        return jnp.bincount(self.post, length=self.n_post)

    def to_dense(self) -> jax.Array:
        """The ``(n_pre, n_post)`` matrix: weights (or ones) at the synapses, zeros elsewhere."""
        values = jnp.ones(self.nnz, jnp.float32) if self.weight is None else self.weight
        return jnp.zeros((self.n_pre, self.n_post), values.dtype).at[self.pre, self.post].set(values)

    def to_bcoo(self):
        """A ``jax.experimental.sparse.BCOO`` matrix ``(n_pre, n_post)``."""
        from jax.experimental import sparse

        values = jnp.ones(self.nnz, jnp.float32) if self.weight is None else self.weight
        indices = jnp.stack([self.pre, self.post], axis=1)
        return sparse.BCOO((values, indices), shape=(self.n_pre, self.n_post), indices_sorted=True, unique_indices=True)

    def to_scipy(self):
        """A ``scipy.sparse.csr_matrix`` ``(n_pre, n_post)`` (needs scipy)."""
        from scipy import sparse

        values = np.ones(self.nnz, np.float32) if self.weight is None else np.asarray(self.weight)
        return sparse.csr_matrix(
            (values, np.asarray(self.post), np.asarray(self.indptr)), shape=(self.n_pre, self.n_post)
        )


# --- checks ---------------------------------------------------------------------


def _check_size(name: str, param: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: {param} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: {param} must be >= {minimum}, got {value}")
    return int(value)


def _available_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _check_memory(
    name: str,
    nnz: int,
    estimate: str | None = None,
    advice: str = "ask for fewer synapses or build the network in parts",
) -> None:
    """Refuses, with the estimate, a request whose arrays cannot fit in memory."""
    per_synapse = _BYTES_PER_SYNAPSE[estimate or name]
    need = nnz * per_synapse
    available = _available_bytes()
    if available is not None and need > available:
        raise MemoryError(
            f"{name}: {nnz:,} synapses need about {need / 2**30:.1f} GiB while building "
            f"(~{per_synapse} bytes each), but only {available / 2**30:.1f} GiB is available; {advice}"
        )


def _syn_count(name: str, allowed: int, n_syn: Any, p: Any) -> int:
    if (n_syn is None) == (p is None):
        raise ValueError(f"{name}: give exactly one of n_syn (a count) or p (a probability)")
    if p is not None:
        if _core.is_traced(p):
            raise TypeError(f"{name}: p must be a concrete number (it sets the static synapse count)")
        _core.validate(name, {"p": p}, {"p": _core.PROBABILITY})
        return round(float(p) * allowed)
    n_syn = _check_size(name, "n_syn", n_syn)
    if n_syn > allowed:
        raise ValueError(f"{name}: n_syn must be <= the {allowed:,} allowed pairs, got {n_syn:,}")
    return n_syn


# --- the exact k-subset sampler ------------------------------------------------------


def _uniform_32bit(key, shape):
    """Uniform on (0, 1] from all 32 bits (fine resolution near 0 for long geometric gaps)."""
    bits = jax.random.bits(key, shape, jnp.uint32)
    return (bits.astype(jnp.float32) + 0.5) * jnp.float32(2.0**-32)


def _fill(n, block, compute_block):
    """Arrays of length ``n`` written ``block`` elements at a time: ``compute_block(b, start)``
    gives a tuple of the values at ``start + arange(block)``. The last block is moved back to
    end at ``n``, so it must be a function of the positions alone (or any valid draw, for
    random values). XLA updates the buffers in place, so temporaries stay O(block)."""
    block = min(block, n)
    out_dtypes = [out.dtype for out in jax.eval_shape(compute_block, 0, 0)]
    if n == 0:
        return tuple(jnp.zeros(0, dtype) for dtype in out_dtypes)

    def body(b, buffers):
        start = jnp.minimum(b * block, n - block)
        values = compute_block(b, start)
        return tuple(lax.dynamic_update_slice(buf, v, (start,)) for buf, v in zip(buffers, values, strict=True))

    empty = tuple(jnp.empty((n,), dtype) for dtype in out_dtypes)
    return lax.fori_loop(0, -(-n // block), body, empty)


class _Candidates:
    """A Bernoulli(density) subset of the row-major ``n_rows x n_cols`` pair space, in order.

    Candidates are the running sums of geometric gaps, drawn in blocks of ``block``
    from one key each. They are never stored: a first pass keeps each block's total
    (where the block starts, as ``(row, col)``: cumulative sums of quotient and
    remainder never overflow int32) and a second pass redraws each block as it writes
    the kept pairs, so memory is the output plus O(block).
    """

    def __init__(self, key, n_rows, n_cols, density, slots):
        self.n_rows, self.n_cols, self.density = n_rows, n_cols, density
        self.gaps_max = 1 + math.ceil(-math.log(2.0**-33) / -math.log1p(-density)) if density < 1 else 1
        # a power of two: XLA's CPU loops run 3-4x slower on odd lengths such as 471,767
        block = min(_BLOCK, 1 << ((2**30) // self.gaps_max).bit_length() - 1)
        self.block = slots if slots < block else block
        self.keys = jax.random.split(key, -(-slots // self.block))
        self.slots = self.keys.shape[0] * self.block

    def sums(self, b):
        """Offsets of block ``b``'s candidates from the block's start, plus one (< 2**30)."""
        if self.density == 1:
            return jnp.arange(1, self.block + 1, dtype=jnp.int32)
        u = _uniform_32bit(self.keys[b], (self.block,))
        gaps = 1 + jnp.floor(jnp.log(u) / jnp.float32(math.log1p(-self.density))).astype(jnp.int32)
        # associative_scan: ~1.7x faster than cumsum's reduce-window on CPU
        return lax.associative_scan(jnp.add, jnp.minimum(gaps, self.gaps_max))

    def locate(self):
        """Where each block starts, ``(row_start, col_start)``, and how many candidates fall
        inside the space."""
        totals = lax.map(lambda b: self.sums(b)[-1], jnp.arange(self.keys.shape[0]))
        q, r = totals // self.n_cols, totals % self.n_cols
        r_before = jnp.cumsum(r) - r
        row_start = jnp.cumsum(q) - q + r_before // self.n_cols
        col_start = r_before % self.n_cols
        # positions left before the end, per block (capped: block sums stay below 2**30)
        rows_left = jnp.clip(self.n_rows - row_start, -1, 2**30 // self.n_cols + 1)
        room = jnp.minimum(rows_left * self.n_cols - col_start, 2**30)
        full = totals <= room
        # blocks are full up to the one that crosses the end: redraw that one to count in it
        crossing = jnp.minimum(jnp.sum(full, dtype=jnp.int32), self.keys.shape[0] - 1)
        partial = jnp.searchsorted(self.sums(crossing), room[crossing], side="right").astype(jnp.int32)
        count = jnp.sum(full, dtype=jnp.int32) * self.block + jnp.where(full[crossing], 0, partial)
        return (row_start, col_start), count

    def position(self, starts, b, offset):
        """Rows and columns of block ``b``'s candidates at ``offset`` (from :meth:`sums`)."""
        row_start, col_start = starts
        col = col_start[b] + offset - 1
        return row_start[b] + col // self.n_cols, col % self.n_cols


def _choose_removals(key, count, k, spare):
    """``count - k`` distinct indices in ``[0, count)``, uniformly, as a sorted ``(spare,)``
    array padded with int32 max; and whether the draw succeeded."""
    surplus = count - k
    key_draw, key_order = jax.random.split(key)
    draws = jax.random.randint(key_draw, (spare,), 0, jnp.maximum(count, 1), dtype=jnp.int32)
    draws = jnp.sort(draws)
    distinct = jnp.concatenate([jnp.ones(1, bool), draws[1:] != draws[:-1]]) if spare else jnp.ones(0, bool)
    # among the distinct values, keep a uniformly random `surplus` of them
    scores = jnp.where(distinct, jax.random.uniform(key_order, (spare,)), 2.0)
    _, chosen = lax.sort((scores, draws), num_keys=1)
    keep = jnp.arange(spare, dtype=jnp.int32) < surplus
    removed = jnp.sort(jnp.where(keep, chosen, jnp.iinfo(jnp.int32).max))
    return removed, jnp.sum(distinct, dtype=jnp.int32) >= surplus


def _kept_positions(candidates, starts, removed, count, k):
    """Rows and columns of the candidates in ``[0, count)`` left after removing the sorted
    indices ``removed``: ``k`` of them, written block by block in place."""
    block, width = candidates.block, min(candidates.block, k)
    spare_index = jnp.arange(removed.shape[0], dtype=jnp.int32)

    def write_block(b, buffers):
        first = b * block
        lo, hi = jnp.searchsorted(removed, jnp.stack([first, first + block]), side="left").astype(jnp.int32)
        out_start = first - lo  # kept candidates before this block
        n_kept = jnp.clip(count - first, 0, block) - (hi - lo)
        # kept j of this block is candidate j + #{its removals q : removed[q] - first - (q - lo) <= j}
        mine = (spare_index >= lo) & (spare_index < hi)
        hits = jnp.zeros(block + 1, jnp.int32).at[jnp.where(mine, removed - first - spare_index + lo, block)].add(1)
        skipped = lax.associative_scan(jnp.add, hits[:block])
        # the window written: `width` outputs from `start`, moved back to end at k; outputs in it
        # that are not this block's keep their values
        start = jnp.minimum(out_start, k - width)
        j = start - out_start + jnp.arange(width, dtype=jnp.int32)
        mine = (j >= 0) & (j < n_kept)
        j = jnp.clip(j, 0, block - 1)
        rows, cols = candidates.position(starts, b, candidates.sums(b)[j + skipped[j]])
        return tuple(
            lax.dynamic_update_slice(buf, jnp.where(mine, new, lax.dynamic_slice(buf, (start,), (width,))), (start,))
            for buf, new in ((buffers[0], rows), (buffers[1], cols))
        )

    empty = (jnp.zeros(k, jnp.int32), jnp.zeros(k, jnp.int32))
    return lax.fori_loop(0, candidates.keys.shape[0], write_block, empty)


def _sample_by_skips(key, n_rows, n_cols, k):
    allowed = n_rows * n_cols
    sigma = math.sqrt(k * (1 - k / allowed)) if allowed else 0.0
    density = min(1.0, (k + _SURPLUS_SIGMAS * sigma + 4) / allowed)
    slots = min(allowed + 1, math.ceil(allowed * density + _BUFFER_SIGMAS * sigma + 16))

    def attempt(key):
        key_skips, key_removal = jax.random.split(key)
        candidates = _Candidates(key_skips, n_rows, n_cols, density, slots)
        starts, count = candidates.locate()
        removed, removal_ok = _choose_removals(key_removal, count, k, slots - k)
        # the subset is a true Bernoulli draw only if the candidates reached past the end
        ok = (count >= k) & (count < candidates.slots) & removal_ok
        return key_skips, starts, removed, count, ok

    def retry(state):
        key, *_ = state
        key, key_attempt = jax.random.split(key)
        return (key, *attempt(key_attempt))

    key, key_attempt = jax.random.split(key)
    _, key_skips, starts, removed, count, _ = lax.while_loop(lambda s: ~s[-1], retry, (key, *attempt(key_attempt)))
    candidates = _Candidates(key_skips, n_rows, n_cols, density, slots)
    return _kept_positions(candidates, starts, removed, count, k)


def _sample_by_draws(key, n_rows, n_cols, k):
    """Independent pairs, duplicates redrawn until all are distinct, then sorted."""

    def draw(key, shape):
        key_row, key_col = jax.random.split(key)
        rows = jax.random.randint(key_row, shape, 0, n_rows, dtype=jnp.int32)
        cols = jax.random.randint(key_col, shape, 0, n_cols, dtype=jnp.int32)
        return rows, cols

    def sort_and_mark(rows, cols):
        rows, cols = lax.sort((rows, cols), num_keys=2)
        repeated = jnp.concatenate([jnp.zeros(1, bool), (rows[1:] == rows[:-1]) & (cols[1:] == cols[:-1])])
        return rows, cols, repeated

    def redraw(state):
        key, rows, cols, repeated = state
        key, key_new = jax.random.split(key)
        new_rows, new_cols = draw(key_new, (k,))
        rows, cols = jnp.where(repeated, new_rows, rows), jnp.where(repeated, new_cols, cols)
        return (key, *sort_and_mark(rows, cols))

    key, key_first = jax.random.split(key)
    state = (key, *sort_and_mark(*draw(key_first, (k,))))
    _, rows, cols, _ = lax.while_loop(lambda s: jnp.any(s[3]), redraw, state)
    return rows, cols


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def _sample_pairs(key, n_rows, n_cols, k, row_offset=0, skip_diagonal=False):
    """``k`` distinct pairs, uniform over the ``n_rows x n_cols`` grid, sorted.

    With ``skip_diagonal``, column ``j`` of global row ``i`` means post ``j + (j >= i)``
    (``n_cols`` is then one less than the number of posts): autapses are never drawn.
    """
    if k == 0:
        empty = jnp.zeros(0, jnp.int32)
        return empty, empty
    allowed = n_rows * n_cols
    if k / allowed >= _MIN_SKIP_DENSITY:
        rows, cols = _sample_by_skips(key, n_rows, n_cols, k)
    else:
        rows, cols = _sample_by_draws(key, n_rows, n_cols, k)
    rows = rows + jnp.int32(row_offset)
    if skip_diagonal:
        cols = cols + (cols >= rows).astype(jnp.int32)
    return rows, cols


# --- builders ---------------------------------------------------------------------


def random_topology(
    key: ArrayLike,
    n_pre: int,
    n_post: int | None = None,
    *,
    n_syn: int | None = None,
    p: float | None = None,
    allow_autapse: bool = False,
) -> Connectivity:
    """Exactly ``n_syn`` distinct synapses, uniform over all allowed pairs.

    Args:
      key: a PRNG key.
      n_pre: number of presynaptic neurons.
      n_post: number of postsynaptic neurons; ``None`` for one recurrent population
        (then autapses ``pre == post`` are excluded unless ``allow_autapse``).
      n_syn: the number of synapses; or give
      p: the connection probability: ``n_syn = round(p · allowed pairs)``.
      allow_autapse: allow ``pre == post`` in a recurrent population.

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)``, without weights.

    Raises:
      ValueError: bad sizes, both or neither of ``n_syn``/``p``, ``p`` outside
        [0, 1], or ``n_syn`` above the number of allowed pairs.
      MemoryError: the arrays would not fit in the available memory.

    Example:
      >>> import jax
      >>> conn = random_topology(jax.random.key(0), 1000, p=0.1)
      >>> conn.nnz, bool((conn.pre != conn.post).all())
      (99900, True)
    """
    name = "random_topology"
    n_pre = _check_size(name, "n_pre", n_pre)
    recurrent = n_post is None
    n_post = n_pre if recurrent else _check_size(name, "n_post", n_post)
    skip_diagonal = recurrent and not allow_autapse
    n_cols = n_post - 1 if skip_diagonal else n_post
    allowed = n_pre * max(n_cols, 0)
    k = _syn_count(name, allowed, n_syn, p)
    _check_memory(name, k)
    key = _core.check_key(name, key)
    pre, post = _sample_pairs(key, n_pre, n_cols, k, skip_diagonal=skip_diagonal)
    return Connectivity(pre, post, None, n_pre, n_post)


def _distinct_per_row(key, n_rows, n_choices, k):
    """``(n_rows, k)`` sorted, distinct picks from ``[0, n_choices)`` per row, uniform."""
    if 2 * k > n_choices:
        # redrawing repeats would take ~n_choices rounds near k = n_choices: pick the
        # n_choices - k left out instead (a uniform subset's complement is uniform); the
        # j-th value kept is j + #{q : excluded[q] - q <= j}
        left_out = _distinct_per_row(key, n_rows, n_choices, n_choices - k)
        shifted = left_out - jnp.arange(n_choices - k, dtype=jnp.int32)[None, :]
        kept = jnp.arange(k, dtype=jnp.int32)
        return kept[None, :] + jax.vmap(lambda row: jnp.searchsorted(row, kept, side="right"))(shifted).astype(
            jnp.int32
        )

    def sort_and_mark(values):
        values = jnp.sort(values, axis=1)
        repeated = jnp.concatenate([jnp.zeros((n_rows, 1), bool), values[:, 1:] == values[:, :-1]], axis=1)
        return values, repeated

    def redraw(state):
        key, values, repeated = state
        key, key_new = jax.random.split(key)
        fresh = jax.random.randint(key_new, values.shape, 0, n_choices, dtype=jnp.int32)
        return (key, *sort_and_mark(jnp.where(repeated, fresh, values)))

    key, key_first = jax.random.split(key)
    first = jax.random.randint(key_first, (n_rows, k), 0, n_choices, dtype=jnp.int32)
    _, values, _ = lax.while_loop(lambda s: jnp.any(s[2]), redraw, (key, *sort_and_mark(first)))
    return values


def _fixed_degree(name, key, n_pre, n_post, k, allow_autapse, by_post):
    n_pre = _check_size(name, "n_pre", n_pre)
    recurrent = n_post is None
    n_post = n_pre if recurrent else _check_size(name, "n_post", n_post)
    k = _check_size(name, "k", k)
    skip_diagonal = recurrent and not allow_autapse
    n_rows, n_partners = (n_post, n_pre) if by_post else (n_pre, n_post)
    n_choices = n_partners - 1 if skip_diagonal else n_partners
    partner = "n_pre" if by_post else "n_post"
    if k > n_choices:
        rule = f"{partner} - 1 = {n_choices} (no autapses)" if skip_diagonal else f"{partner} = {n_choices}"
        raise ValueError(f"{name}: k must be <= {rule}, got {k}")
    _check_memory(name, n_rows * k)
    key = _core.check_key(name, key)
    if n_rows * k == 0:
        empty = jnp.zeros(0, jnp.int32)
        return Connectivity(empty, empty, None, n_pre, n_post)
    pre, post = _fixed_degree_pairs(key, n_pre, n_post, k, skip_diagonal, by_post)
    return Connectivity(pre, post, None, n_pre, n_post)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def _fixed_degree_pairs(key, n_pre, n_post, k, skip_diagonal, by_post):
    n_rows, n_partners = (n_post, n_pre) if by_post else (n_pre, n_post)
    n_choices = n_partners - 1 if skip_diagonal else n_partners
    rows_per_block = max(1, min(n_rows, _BLOCK // k))

    def draw_rows(b, start):
        partners = _distinct_per_row(jax.random.fold_in(key, b), rows_per_block, n_choices, k)
        owners = jnp.broadcast_to(start // k + jnp.arange(rows_per_block, dtype=jnp.int32)[:, None], partners.shape)
        if skip_diagonal:
            partners = partners + (partners >= owners).astype(jnp.int32)
        return (partners.reshape(-1),) if by_post else (owners.reshape(-1), partners.reshape(-1))

    drawn = _fill(n_rows * k, rows_per_block * k, draw_rows)
    return _to_pre_major(drawn[0], n_pre, n_post, k) if by_post else drawn


def _counts(values, n, length):
    """``bincount(values[:n], length=length)``, a block at a time: a one-shot bincount
    materializes its indices and a ones array, 8 bytes per value."""
    block = min(_BLOCK, n)

    def count_block(b, counts):
        start = b * block
        lo = jnp.minimum(start, n - block)
        fresh = lo + jnp.arange(block, dtype=jnp.int32) >= start
        return counts.at[jnp.where(fresh, lax.dynamic_slice(values, (lo,), (block,)), length)].add(1, mode="drop")

    return lax.fori_loop(0, -(-n // block), count_block, jnp.zeros(length, jnp.int32))


def _to_pre_major(pre, n_pre, n_post, k):
    """Synapse ``i < n_post · k`` from ``pre[i]`` onto post ``i // k`` (``pre`` may run on),
    reordered to (pre, post) order: a counting sort, one block of posts at a time (4-5x
    faster than a two-key sort on CPU)."""
    n = n_post * k
    # (pre, post within the block) is packed into one int32 key per synapse
    posts_per_block = max(1, min(n_post, _BLOCK // k, (2**31 - 1) // (n_pre + 1)))
    block = posts_per_block * k
    counts = _counts(pre, n, n_pre)
    first = jnp.cumsum(counts) - counts  # where each pre's synapses start

    def place_block(b, state):
        pre_out, post_out, placed = state
        start = b * block
        lo = jnp.minimum(start, n - block)  # the last block is moved back; its repeats are masked
        local_post = jnp.arange(block, dtype=jnp.int32) // k
        packed = lax.dynamic_slice(pre, (lo,), (block,)) * posts_per_block + local_post
        fresh = lo + jnp.arange(block, dtype=jnp.int32) >= start
        packed = jnp.sort(jnp.where(fresh, packed, jnp.iinfo(jnp.int32).max))
        p, q = packed // posts_per_block, lo // k + packed % posts_per_block
        valid = p < n_pre
        # rank among this block's synapses of the same pre (sorted by post), after those placed before
        rank = jnp.arange(block, dtype=jnp.int32) - jnp.searchsorted(packed, p * posts_per_block).astype(jnp.int32)
        p_safe = jnp.where(valid, p, 0)
        where_to = jnp.where(valid, first[p_safe] + placed[p_safe] + rank, n)
        return (
            pre_out.at[where_to].set(p, mode="drop"),
            post_out.at[where_to].set(q, mode="drop"),
            placed.at[jnp.where(valid, p, n_pre)].add(1, mode="drop"),
        )

    start = (jnp.empty(n, jnp.int32), jnp.empty(n, jnp.int32), jnp.zeros(n_pre, jnp.int32))
    pre_out, post_out, _ = lax.fori_loop(0, -(-n // block), place_block, start)
    return pre_out, post_out


def fixed_indegree(key: ArrayLike, n_pre: int, n_post: int | None, k: int, allow_autapse: bool = False) -> Connectivity:
    """Every post neuron receives exactly ``k`` synapses from distinct pre neurons, uniformly.

    Args:
      key: a PRNG key.
      n_pre: number of presynaptic neurons.
      n_post: number of postsynaptic neurons, or ``None`` for a recurrent population.
      k: the in-degree, ``<= n_pre`` (``<= n_pre - 1`` without autapses).
      allow_autapse: allow ``pre == post`` in a recurrent population.

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)``.

    Raises:
      ValueError: bad sizes or ``k`` too large.

    Example:
      >>> import jax
      >>> conn = fixed_indegree(jax.random.key(0), 50, 20, k=5)
      >>> conn.in_degree().tolist() == [5] * 20
      True
    """
    return _fixed_degree("fixed_indegree", key, n_pre, n_post, k, allow_autapse, by_post=True)


def fixed_outdegree(
    key: ArrayLike, n_pre: int, n_post: int | None, k: int, allow_autapse: bool = False
) -> Connectivity:
    """Every pre neuron makes exactly ``k`` synapses onto distinct post neurons, uniformly.

    Args:
      key: a PRNG key.
      n_pre: number of presynaptic neurons.
      n_post: number of postsynaptic neurons, or ``None`` for a recurrent population.
      k: the out-degree, ``<= n_post`` (``<= n_pre - 1`` without autapses).
      allow_autapse: allow ``pre == post`` in a recurrent population.

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)``.

    Raises:
      ValueError: bad sizes or ``k`` too large.

    Example:
      >>> import jax
      >>> conn = fixed_outdegree(jax.random.key(0), 20, None, k=3)
      >>> conn.out_degree().tolist() == [3] * 20
      True
    """
    return _fixed_degree("fixed_outdegree", key, n_pre, n_post, k, allow_autapse, by_post=False)


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


def _position_pair(name: str, pre_positions: Any, post_positions: Any) -> tuple[jax.Array, jax.Array, Any]:
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


def _pair_distances(pre_pos, post_pos, pre, post, box):
    diff = _minimum_image(pre_pos[pre] - post_pos[post], box)
    return jnp.sqrt(jnp.sum(jnp.square(diff), axis=-1))


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
    pre_pos, post_pos, unit = _position_pair(name, pre_positions, post_positions)
    recurrent = post_positions is None
    n_pre, n_post = pre_pos.shape[0], post_pos.shape[0]
    k = _check_size(name, "k", k)
    skip_diagonal = recurrent and not allow_autapse
    limit = n_pre - 1 if skip_diagonal else n_pre
    if k > limit:
        raise ValueError(f"{name}: k must be <= {limit} (the candidate pre neurons per post neuron), got {k}")
    chunk = _check_size(name, "chunk", chunk, 1)
    _check_memory(name, n_post * k)
    key = _core.check_key(name, key)
    if n_post * k == 0:
        empty = jnp.zeros(0, jnp.int32)
        return Connectivity(empty, empty, None, n_pre, n_post)
    pre, post = _distance_pairs(key, pre_pos, post_pos, box, profile, unit, k, chunk, skip_diagonal)
    return Connectivity(pre, post, None, n_pre, n_post)


@functools.partial(jax.jit, static_argnums=(4, 5, 6, 7, 8))
def _distance_pairs(key, pre_pos, post_pos, box, profile, unit, k, chunk, skip_diagonal):
    n_pre, n_post = pre_pos.shape[0], post_pos.shape[0]
    n_chunks = -(-n_post // chunk)
    padded = jnp.concatenate([post_pos, jnp.zeros((n_chunks * chunk - n_post, post_pos.shape[1]), post_pos.dtype)])
    pre_index = jnp.arange(n_pre, dtype=jnp.int32)

    def pick(args):
        chunk_key, positions, first = args
        diff = _minimum_image(positions[:, None, :] - pre_pos[None, :, :], box)
        d = jnp.sqrt(jnp.sum(jnp.square(diff), axis=-1))
        weights = profile(_core.attach_unit(d, unit))
        logits = jnp.log(jnp.maximum(jnp.asarray(weights, jnp.float32), 0.0))
        if skip_diagonal:
            post_index = first + jnp.arange(chunk, dtype=jnp.int32)
            logits = jnp.where(pre_index[None, :] == post_index[:, None], -jnp.inf, logits)
        gumbel = jax.random.gumbel(chunk_key, logits.shape, jnp.float32)
        return lax.top_k(logits + gumbel, k)[1].astype(jnp.int32)

    keys = jax.random.split(key, n_chunks)
    starts = jnp.arange(n_chunks, dtype=jnp.int32) * chunk
    chosen = lax.map(pick, (keys, padded.reshape(n_chunks, chunk, -1), starts))
    return _to_pre_major(chosen.reshape(-1), n_pre, n_post, k)


def synapse_values(
    key: ArrayLike,
    conn: Connectivity,
    init: Initializer,
    pre_positions: ArrayLike | None = None,
    post_positions: ArrayLike | None = None,
    box: ArrayLike | None = None,
    dtype: Any = None,
    block_size: int | None = None,
    **ctx: Any,
) -> jax.Array:
    """One value per synapse from ``init``: weights, delays, anything.

    Calls ``init(key, (nnz,), dtype, distances=..., **ctx)``; the distances are
    computed per synapse (O(nnz)) when positions are given, so distance-dependent
    initializers such as ``modulate_by_distance`` work on sparse networks.

    With ``block_size``, the values are drawn ``block_size`` synapses at a time
    instead, block ``b`` by ``init(fold_in(key, b), (block_size,), ...)`` with its
    synapses' distances (the last block is moved back to end at ``nnz``). For an
    elementwise initializer (every distribution, and combinators of them) the values
    have the same distribution, while the random generator's temporaries (on CPU 12
    bytes per value for a one-shot draw) and the distances stay O(block_size): use it
    for networks of 10⁸ synapses. Initializers that read the shape (fan-based ones)
    see the block's shape, so keep those to the default.

    Args:
      key: a PRNG key.
      conn: the connectivity.
      init: any jaxinit initializer (units and combinators included).
      pre_positions: ``(n_pre, dim)`` coordinates, or ``None``.
      post_positions: ``(n_post, dim)`` coordinates; ``None`` reuses ``pre_positions``.
      box: periodic box side(s) for the distances, or ``None``.
      dtype: the values' dtype (default float).
      block_size: draw this many values at a time (see above), or ``None`` for one draw.
      **ctx: more context for ``init`` (given to every block as is).

    Returns:
      ``(nnz,)`` values (a Quantity if ``init`` has units).

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> conn = random_topology(jax.random.key(0), 100, n_syn=1000)
      >>> synapse_values(jax.random.key(1), conn, ji.lognormal(1.0, 0.5)).shape
      (1000,)
      >>> synapse_values(jax.random.key(1), conn, ji.lognormal(1.0, 0.5), block_size=256).shape
      (1000,)
    """
    name = "synapse_values"
    if block_size is not None:
        block_size = _check_size(name, "block_size", block_size, 1)
    in_blocks = block_size is not None and conn.nnz > block_size
    if in_blocks:
        _check_memory(name, conn.nnz, "synapse_values in blocks")
    else:
        _check_memory(name, conn.nnz, advice="pass block_size=2**18 to draw the values in blocks (4 bytes each)")
    distances = None
    if pre_positions is not None:
        pre_pos, post_pos, unit = _position_pair(name, pre_positions, post_positions)

        def distances(pre, post):
            d = _pair_distances(pre_pos, post_pos, pre, post, box)
            return {"distances": _core.attach_unit(d, unit)}

    if not in_blocks:
        more = {} if distances is None else distances(conn.pre, conn.post)
        return init(key, (conn.nnz,), dtype, **ctx, **more)
    key = _core.check_key(name, key)
    found_unit = []

    def draw_block(b, start):
        more = {}
        if distances is not None:
            pre, post = (lax.dynamic_slice(x, (start,), (block_size,)) for x in (conn.pre, conn.post))
            more = distances(pre, post)
        values = init(jax.random.fold_in(key, b), (block_size,), dtype, **ctx, **more)
        if _core.is_quantity(values):
            found_unit[:] = [values.unit]
            values = values.mantissa
        return (values,)

    (values,) = _fill(conn.nnz, block_size, draw_block)
    return _core.attach_unit(values, found_unit[0] if found_unit else None)


def with_weights(
    key: ArrayLike,
    conn: Connectivity,
    init: Initializer,
    pre_positions: ArrayLike | None = None,
    post_positions: ArrayLike | None = None,
    box: ArrayLike | None = None,
    block_size: int | None = None,
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
      **ctx: more context for ``init``.

    Returns:
      A :class:`Connectivity` with weights.

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> conn = with_weights(jax.random.key(1), random_topology(jax.random.key(0), 50, n_syn=100), ji.ones)
      >>> float(conn.weight.sum())
      100.0
    """
    weight = synapse_values(key, conn, init, pre_positions, post_positions, box, block_size=block_size, **ctx)
    return dataclasses.replace(conn, weight=weight)


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
    n = _check_size(name, "n", n)
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
    _check_memory(name, k_exc + k_inh)
    key = _core.check_key(name, key)
    key_exc, key_inh, key_we, key_wi = jax.random.split(key, 4)
    pre_e, post_e = _sample_pairs(key_exc, n_exc, n_cols, k_exc, 0, not allow_autapse)
    pre_i, post_i = _sample_pairs(key_inh, n - n_exc, n_cols, k_inh, n_exc, not allow_autapse)
    w_exc = _weights_by_type(key_we, exc_weight, k_exc)
    w_inh = _weights_by_type(key_wi, inh_weight, k_inh)
    unit = None
    if "brainunit" in sys.modules:
        from jaxinit import units

        (w_exc, w_inh), unit = units.common_unit(name, [w_exc, w_inh], ["exc_weight", "inh_weight"])
    weight = _core.attach_unit(jnp.concatenate([jnp.abs(w_exc), -jnp.abs(w_inh).astype(w_exc.dtype)]), unit)
    return Connectivity(jnp.concatenate([pre_e, pre_i]), jnp.concatenate([post_e, post_i]), weight, n, n)


def balanced_ei_network(
    key: ArrayLike, n_input: int, n: int, n_output: int, p: float, f: float, mu_e: float, sigma_0: float
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
    n_input = _check_size(name, "n_input", n_input)
    n = _check_size(name, "n", n, 1)
    n_output = _check_size(name, "n_output", n_output)
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
    _check_memory(name, k)
    key = _core.check_key(name, key)
    key_in, key_rec, key_w, key_out = jax.random.split(key, 4)
    dtype = jax.dtypes.canonicalize_dtype(float)
    w_in = jax.random.normal(key_in, (n, n_input), dtype) / jnp.sqrt(jnp.asarray(max(n_input, 1), dtype))
    w_out = jax.random.normal(key_out, (n_output, n), dtype) / jnp.sqrt(jnp.asarray(max(n_output, 1), dtype))
    pre, post = _sample_pairs(key_rec, n, n - 1, k, 0, True)
    mu_i = -mu_e if f == 0 else (0.0 if f == 1 else -f / (1 - f) * mu_e)
    params = (jnp.asarray(x, dtype) for x in (mu_e, mu_i, sigma_0, math.sqrt(n * p)))
    weight = _balanced_weights(key_w, pre, round(n * f), *params)
    return w_in, Connectivity(pre, post, weight, n, n), w_out


@functools.partial(jax.jit, static_argnums=(2,))
def _balanced_weights(key, pre, n_exc, mu_e, mu_i, sigma_0, scale):
    """``N(mu_e or mu_i by pre type, sigma_0²) / scale`` per synapse, a block at a time."""
    block = min(_BLOCK, pre.shape[0])

    def draw_block(b, start):
        mean = jnp.where(lax.dynamic_slice(pre, (start,), (block,)) < n_exc, mu_e, mu_i)
        noise = jax.random.normal(jax.random.fold_in(key, b), (block,), scale.dtype)
        return ((mean + sigma_0 * noise) / scale,)

    return _fill(pre.shape[0], block, draw_block)[0]

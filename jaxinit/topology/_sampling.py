"""The exact sampling core: k-subsets of a grid, block loops, counting sorts.

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
than stored. On CPU a one-shot ``jax.random`` draw needs 12 bytes of temporaries
per value, three times the value itself.

Every block-wise pass goes through :func:`block_loop`: blocks of a fixed size cover
``[0, n)``, the last one moved back to end at ``n``, and the elements it covers again
are masked so that each element is written or counted once.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

# elements drawn or computed at once in the large passes: bounds their temporaries
DEFAULT_BLOCK = 1 << 18
# gaps below this p' would be too long for int32 blocks: such sparse requests draw pairs directly
MIN_SKIP_DENSITY = 1e-5
# how many standard deviations p' sits above the target count, and the buffer beyond it
_SURPLUS_SIGMAS, _BUFFER_SIGMAS = 6.0, 12.0
_INT32_MAX = jnp.iinfo(jnp.int32).max
# retry loops stop after this many rounds, so that no input can hang them: a draw that
# still fails (each round fails with probability < 1e-8 for the skips and < 1/2 per pair
# for the redraws) is reported by ``ok`` and raised by :func:`check_ok`
MAX_ROUNDS = 256


# --- uniform integers below traced bounds -------------------------------------------------


def _mulhi(a: jax.Array, b: jax.Array) -> jax.Array:
    """The high 32 bits of the 64-bit product of two uint32 arrays (16-bit limbs: XLA
    has no 64-bit integers while x64 is off)."""
    mask = jnp.uint32(0xFFFF)
    a0, a1, b0, b1 = a & mask, a >> 16, b & mask, b >> 16
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    middle = (p00 >> 16) + (p01 & mask) + (p10 & mask)
    return p11 + (p01 >> 16) + (p10 >> 16) + (middle >> 16)


def uniform_below(key: jax.Array, span: jax.Array) -> jax.Array:
    """One uniform integer in ``[0, span)`` per element of ``span`` (uint32, each >= 1).

    ``floor(span * R / 2**64)`` for a uniform 64-bit ``R`` (two 32-bit words): each
    value has probability ``1/span`` within ``2**-64`` for any span below 2³², so one
    draw covers a whole grid of ``rows x columns`` pairs. ``jax.random.randint`` also
    draws two words per value, but combines them in 32-bit arithmetic whose bias its
    source puts at order ``span**2 / 2**64`` (1e-4 for a 4.7·10⁷-pair grid). Same
    speed (4·10⁶ values with per-element bounds on CPU: 136 ms, randint 142 ms).
    """
    high, low = jax.random.bits(key, (2, *span.shape), jnp.uint32)
    product_low = high * span
    total_low = product_low + _mulhi(span, low)
    carry = (total_low < product_low).astype(jnp.uint32)
    return _mulhi(span, high) + carry


def host_rng(seed: jax.Array) -> np.random.Generator:
    """A NumPy generator seeded from four random words drawn from a key: counts that only
    the host needs (they set array sizes) are drawn there, still determined by the key."""
    return np.random.Generator(np.random.Philox(key=int.from_bytes(np.asarray(seed).tobytes(), "little")))


# --- block loops ------------------------------------------------------------------------


def window(first: Any, width: int, n: int) -> tuple[jax.Array, jax.Array]:
    """Where a run of ``width`` elements meant to start at ``first`` goes in an array of
    length ``n >= width``: moved back to end at ``n`` when it would run past it.

    Returns ``(start, index)``: the run occupies ``[start, start + width)`` and
    ``index = start - first + arange(width)`` is each slot's place relative to ``first``;
    it is negative in the part moved back over, which belongs to earlier runs.
    """
    start = jnp.minimum(first, n - width)
    return start, start - first + jnp.arange(width, dtype=jnp.int32)


def put(buffer: jax.Array, start: Any, values: jax.Array, keep: jax.Array) -> jax.Array:
    """``buffer`` with ``values`` written at ``[start, start + len(values))``, except where
    ``keep`` is True (those slots keep what they held). XLA updates in place."""
    old = lax.dynamic_slice(buffer, (start,), values.shape)
    return lax.dynamic_update_slice(buffer, jnp.where(keep, old, values), (start,))


def block_loop(n: int, block: int, step: Callable[..., Any], carry: Any) -> Any:
    """Runs ``carry = step(b, start, index, carry)`` over blocks of ``block`` elements that
    cover ``[0, n)``, where ``(start, index) = window(b * block, block, n)``: the last block
    is moved back to end at ``n``, and its slots with ``index < 0`` were covered by the
    blocks before (mask them). ``1 <= block <= n``, or ``n == 0`` (no steps)."""
    if n == 0:
        return carry

    def body(b, carry):
        start, index = window(b * block, block, n)
        return step(b, start, index, carry)

    return lax.fori_loop(0, -(-n // block), body, carry)


def fill(n: int, block: int, compute_block: Callable[[Any, Any], tuple[jax.Array, ...]]) -> tuple[jax.Array, ...]:
    """Arrays of length ``n`` written ``block`` elements at a time (``block <= n``):
    ``compute_block(b, start)`` gives a tuple of ``(block,)`` arrays, the values at
    ``start + arange(block)``. In the last block, moved back, the slots already written
    keep their values. Temporaries stay O(block)."""
    if n == 0:
        dtypes = [out.dtype for out in jax.eval_shape(compute_block, 0, 0)]
        return tuple(jnp.zeros(0, dtype) for dtype in dtypes)
    shapes = jax.eval_shape(compute_block, 0, 0)

    def step(b, start, index, buffers):
        values = compute_block(b, start)
        return tuple(put(buf, start, v, index < 0) for buf, v in zip(buffers, values, strict=True))

    empty = tuple(jnp.empty((n,), out.dtype) for out in shapes)
    return block_loop(n, block, step, empty)


def _bounded_while(cond, body, state):
    """``lax.while_loop`` stopped after :data:`MAX_ROUNDS` rounds."""

    def bounded_body(carry):
        rounds, state = carry
        return rounds + 1, body(state)

    _, state = lax.while_loop(lambda c: cond(c[1]) & (c[0] < MAX_ROUNDS), bounded_body, (jnp.int32(0), state))
    return state


bounded_while = _bounded_while


def check_ok(name: str, ok: Any) -> None:
    """Raises when a bounded retry loop gave up (checked when the flag is concrete)."""
    if not isinstance(ok, jax.core.Tracer) and not bool(jnp.all(ok)):
        raise RuntimeError(f"{name}: the exact sampler did not converge in {MAX_ROUNDS} rounds; please report this")


def padded_within(
    name: str, pre: jax.Array, post: jax.Array, count: Any, ok: Any, n_pre: int, n_post: int
) -> tuple[jax.Array, jax.Array]:
    """A ``capacity=`` build's arrays: the first ``count`` pairs kept, then padding pairs
    ``(n_pre, n_post)``. A count above the capacity (the arrays' length) or a failed exact
    sampler (``ok`` false) raises: at once when they are concrete, else when the program
    runs (a callback: the program fails with the message), never a silent truncation."""
    capacity = pre.shape[-1]
    kept = jnp.arange(capacity, dtype=jnp.int32) < count
    check = functools.partial(_raise_if_over, name, capacity)
    if isinstance(count, jax.core.Tracer) or isinstance(ok, jax.core.Tracer):
        jax.debug.callback(check, count, ok)
    else:
        check(count, ok)
    return jnp.where(kept, pre, n_pre), jnp.where(kept, post, n_post)


def _raise_if_over(name: str, capacity: int, count: Any, ok: Any) -> None:
    count = np.asarray(count)
    if (count > capacity).any():
        raise ValueError(
            f"{name}: drew {int(count.max()):,} synapses, more than capacity={capacity:,}; give a capacity of about "
            "the count's mean + 6 sd so that this does not happen"
        )
    check_ok(name, np.asarray(ok))


# --- counting sorts -----------------------------------------------------------------------


def counts(values: jax.Array, n: int, length: int, block: int) -> jax.Array:
    """``bincount(values[:n], length=length)``, a block at a time: a one-shot bincount
    materializes its indices and a ones array, 8 bytes per value."""
    block = min(block, n)

    def count_block(b, start, index, counts):
        chunk = lax.dynamic_slice(values, (start,), (block,))
        return counts.at[jnp.where(index >= 0, chunk, length)].add(1, mode="drop")

    return block_loop(n, block, count_block, jnp.zeros(length, jnp.int32))


def to_pre_major(pre: jax.Array, n_pre: int, n_post: int, k: int, block: int) -> tuple[jax.Array, jax.Array]:
    """Synapse ``i < n_post · k`` from ``pre[i]`` onto post ``i // k`` (``pre`` may run on),
    reordered to (pre, post) order: a counting sort, one block of posts at a time (4-5x
    faster than a two-key sort on CPU)."""
    n = n_post * k
    # (pre, post within the block) is packed into one int32 key per synapse
    posts_per_block = max(1, min(n_post, block // k, (2**31 - 1) // (n_pre + 1)))
    width = posts_per_block * k
    first = counts(pre, n, n_pre, block)
    first = jnp.cumsum(first) - first  # where each pre's synapses start

    def place_block(b, start, index, state):
        pre_out, post_out, placed = state
        local_post = jnp.arange(width, dtype=jnp.int32) // k
        packed = lax.dynamic_slice(pre, (start,), (width,)) * posts_per_block + local_post
        packed = jnp.sort(jnp.where(index >= 0, packed, _INT32_MAX))  # slots moved back over go last
        p, q = packed // posts_per_block, start // k + packed % posts_per_block
        valid = p < n_pre
        # rank among this block's synapses of the same pre (sorted by post), after those placed before
        rank = jnp.arange(width, dtype=jnp.int32) - jnp.searchsorted(packed, p * posts_per_block).astype(jnp.int32)
        p_safe = jnp.where(valid, p, 0)
        where_to = jnp.where(valid, first[p_safe] + placed[p_safe] + rank, n)
        return (
            pre_out.at[where_to].set(p, mode="drop"),
            post_out.at[where_to].set(q, mode="drop"),
            placed.at[jnp.where(valid, p, n_pre)].add(1, mode="drop"),
        )

    state = (jnp.empty(n, jnp.int32), jnp.empty(n, jnp.int32), jnp.zeros(n_pre, jnp.int32))
    pre_out, post_out, _ = block_loop(n, width, place_block, state)
    return pre_out, post_out


# --- the exact k-subset sampler ------------------------------------------------------------


def _uniform_32bit(key, shape):
    """Uniform on (0, 1] from all 32 bits (fine resolution near 0 for long geometric gaps)."""
    bits = jax.random.bits(key, shape, jnp.uint32)
    return (bits.astype(jnp.float32) + 0.5) * jnp.float32(2.0**-32)


def _advance(row, col, steps, n_rows, n_cols):
    """The cell ``steps`` (int32, >= 0) cells after ``(row, col)`` in the row-major order of an
    ``n_rows x n_cols`` grid, with no int32 overflow for any sides below 2**31 (the grid itself
    may hold far more than 2**31 cells); cells past the end come out with ``row == n_rows``."""
    q, r = steps // n_cols, steps % n_cols
    wrap = col >= n_cols - r  # col + r >= n_cols, without computing col + r
    col = jnp.where(wrap, col - (n_cols - r), col + r)
    rows = q + wrap.astype(jnp.int32)
    return jnp.where(row >= n_rows - rows, n_rows, row + rows), col


def _room(row, col, n_rows, n_cols, cap):
    """``min(cap, cells from (row, col) to the end of the grid)``, ``cap <= 2**30``, without
    int32 overflow."""
    in_row = jnp.minimum(n_cols - col, cap)
    # ceil(cap / n_cols) full rows reach cap, and that many rows times n_cols stays below 2**31
    full_rows = jnp.clip(n_rows - row - 1, 0, -(-cap // n_cols))
    return jnp.where(row < n_rows, in_row + jnp.minimum(full_rows * n_cols, cap - in_row), 0)


class _Candidates:
    """A Bernoulli(density) subset of the row-major ``n_rows x n_cols`` pair space, in order.

    Candidates are the running sums of geometric gaps, drawn in blocks from one key
    each. They are never stored: a first pass keeps where each block starts, as
    ``(row, col)`` advanced by :func:`_advance` (no int32 overflow for any shape of grid,
    tall-thin ones included), and a second pass redraws each block as it writes the kept
    pairs, so memory is the output plus O(block).
    """

    def __init__(self, key, n_rows, n_cols, density, slots, block):
        self.n_rows, self.n_cols, self.density = n_rows, n_cols, density
        self.slots_requested = slots  # (``slots`` below is rounded up to whole blocks)
        self.gaps_max = 1 + math.ceil(-math.log(2.0**-33) / -math.log1p(-density)) if density < 1 else 1
        # a power of two: XLA's CPU loops run 3-4x slower on odd lengths such as 471,767
        self.block = min(slots, block, 1 << ((2**30) // self.gaps_max).bit_length() - 1)
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

        def start_next(position, b):
            total = self.sums(b)[-1]
            return _advance(*position, total, self.n_rows, self.n_cols), (position, total)

        origin = (jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))
        _, (starts, totals) = lax.scan(start_next, origin, jnp.arange(self.keys.shape[0]))
        room = _room(*starts, self.n_rows, self.n_cols, 2**30)  # block sums stay <= 2**30
        full = totals <= room
        # blocks are full up to the one that crosses the end: redraw that one to count in it
        crossing = jnp.minimum(jnp.sum(full, dtype=jnp.int32), self.keys.shape[0] - 1)
        partial = jnp.searchsorted(self.sums(crossing), room[crossing], side="right").astype(jnp.int32)
        count = jnp.sum(full, dtype=jnp.int32) * self.block + jnp.where(full[crossing], 0, partial)
        return starts, count

    def position(self, starts, b, offset):
        """Rows and columns of block ``b``'s candidates at ``offset`` (from :meth:`sums`)."""
        row_start, col_start = starts
        if self.n_cols <= 2**30 and self.n_rows + 2**31 // self.n_cols < 2**31:
            # col_start + offset < 2**31 and the rows it adds cannot overflow: plain sums (faster)
            col = col_start[b] + offset - 1
            return row_start[b] + col // self.n_cols, col % self.n_cols
        return _advance(row_start[b], col_start[b], offset - 1, self.n_rows, self.n_cols)


def _distinct_sorted(key, n, m, size):
    """``m`` distinct values uniform in ``[0, n)`` (``m <= size``, ``2 m <= n``; both may be
    traced), sorted into a ``(size,)`` array padded with int32 max; and whether they are
    distinct. Independent draws whose repeats are redrawn (exchangeable, hence a uniform
    subset); a draw repeats with probability ``<= 1/2``, so the rounds stay few."""
    valid = jnp.arange(size, dtype=jnp.int32) < m
    n = jnp.maximum(n, 1)

    def sort_and_mark(values):
        values = jnp.sort(jnp.where(valid, values, _INT32_MAX))
        repeated = jnp.concatenate([jnp.zeros(1, bool), values[1:] == values[:-1]]) if size else valid
        return values, repeated & valid

    def redraw(state):
        key, values, repeated = state
        key, key_new = jax.random.split(key)
        fresh = jax.random.randint(key_new, (size,), 0, n, dtype=jnp.int32)
        return (key, *sort_and_mark(jnp.where(repeated, fresh, values)))

    key, key_first = jax.random.split(key)
    first = jax.random.randint(key_first, (size,), 0, n, dtype=jnp.int32)
    _, values, repeated = _bounded_while(lambda s: jnp.any(s[2]), redraw, (key, *sort_and_mark(first)))
    return values, ~jnp.any(repeated)


distinct_sorted = _distinct_sorted


def _choose_removals(key, count, k, spare):
    """``count - k`` distinct indices in ``[0, count)``, uniformly, as a sorted ``(spare,)``
    array padded with int32 max (``count - k < spare``); and whether the draw succeeded.

    When the surplus is at most half the candidates it is drawn directly; otherwise the
    ``k < count / 2`` kept indices are drawn and the surplus is their complement (the
    complement of a uniform subset is uniform): either way each draw repeats with
    probability ``<= 1/2``.
    """
    surplus = count - k
    direct = 2 * surplus <= count
    chosen, ok = _distinct_sorted(key, count, jnp.where(direct, surplus, k), spare)
    # the j-th index not chosen is j + #{q : chosen[q] - q <= j} (chosen - q is non-decreasing)
    j = jnp.arange(spare, dtype=jnp.int32)
    shifted = jnp.where(j < k, chosen - j, _INT32_MAX)
    complement = j + jnp.searchsorted(shifted, j, side="right").astype(jnp.int32)
    removed = jnp.where(direct, chosen, jnp.where(j < surplus, complement, _INT32_MAX))
    return removed, ok


def kept_in_block(candidates, starts, removed, count, b):
    """Block ``b``'s candidates left after removing the sorted indices ``removed``: they are
    outputs ``first`` onwards, ``n_kept`` of them; ``(first, n_kept, rows, cols)`` with
    ``(block,)`` rows and columns, output ``first + j`` at ``j < n_kept``."""
    block = candidates.block
    spare_index = jnp.arange(removed.shape[0], dtype=jnp.int32)
    start = b * block
    lo, hi = jnp.searchsorted(removed, jnp.stack([start, start + block]), side="left").astype(jnp.int32)
    n_kept = jnp.clip(count - start, 0, block) - (hi - lo)
    # kept j of this block is candidate j + #{its removals q : removed[q] - start - (q - lo) <= j}
    mine = (spare_index >= lo) & (spare_index < hi)
    hits = jnp.zeros(block + 1, jnp.int32).at[jnp.where(mine, removed - start - spare_index + lo, block)].add(1)
    skipped = lax.associative_scan(jnp.add, hits[:block])
    j = jnp.arange(block, dtype=jnp.int32)
    rows, cols = candidates.position(starts, b, candidates.sums(b)[jnp.minimum(j + skipped, block - 1)])
    return start - lo, n_kept, rows, cols


def _kept_positions(candidates, starts, removed, count, k):
    """Rows and columns of the candidates in ``[0, count)`` left after removing the sorted
    indices ``removed``: ``k`` of them, written block by block in place."""
    block, width = candidates.block, min(candidates.block, k)

    def write_block(b, buffers):
        first, n_kept, rows, cols = kept_in_block(candidates, starts, removed, count, b)
        # a window of `width` outputs from `first` (moved back to end at k) keeps the slots
        # that are not this block's own
        start, j = window(first, width, k)
        ours = (j >= 0) & (j < n_kept)
        j = jnp.clip(j, 0, block - 1)
        return put(buffers[0], start, rows[j], ~ours), put(buffers[1], start, cols[j], ~ours)

    empty = (jnp.zeros(k, jnp.int32), jnp.zeros(k, jnp.int32))
    return lax.fori_loop(0, candidates.keys.shape[0], write_block, empty)


def skip_candidates(key_skips, n_rows, n_cols, k, block):
    """The :class:`_Candidates` that the geometric-skip sampler draws ``k`` pairs from: a
    Bernoulli subset a few standard deviations larger than ``k``, from ``key_skips``."""
    allowed = n_rows * n_cols
    sigma = math.sqrt(k * (1 - k / allowed)) if allowed else 0.0
    density = min(1.0, (k + _SURPLUS_SIGMAS * sigma + 4) / allowed)
    slots = min(allowed + 1, math.ceil(allowed * density + _BUFFER_SIGMAS * sigma + 16))
    return _Candidates(key_skips, n_rows, n_cols, density, slots, block)


def skip_plan(key, n_rows, n_cols, k, block):
    """The first pass of the geometric-skip sampler: ``(key_skips, starts, removed, count,
    ok)``, after which :func:`kept_in_block` gives any block's outputs on its own (the
    candidates from :func:`skip_candidates`); O(blocks + surplus) memory."""

    def attempt(key):
        key_skips, key_removal = jax.random.split(key)
        candidates = skip_candidates(key_skips, n_rows, n_cols, k, block)
        starts, count = candidates.locate()
        removed, removal_ok = _choose_removals(key_removal, count, k, candidates.slots_requested - k)
        # the subset is a true Bernoulli draw only if the candidates reached past the end
        ok = (count >= k) & (count < candidates.slots) & removal_ok
        return key_skips, starts, removed, count, ok

    def retry(state):
        key, *_ = state
        key, key_attempt = jax.random.split(key)
        return (key, *attempt(key_attempt))

    key, key_attempt = jax.random.split(key)
    _, *plan = _bounded_while(lambda s: ~s[-1], retry, (key, *attempt(key_attempt)))
    return tuple(plan)


def _sample_by_skips(key, n_rows, n_cols, k, block):
    key_skips, starts, removed, count, ok = skip_plan(key, n_rows, n_cols, k, block)
    candidates = skip_candidates(key_skips, n_rows, n_cols, k, block)
    return (*_kept_positions(candidates, starts, removed, count, k), ok)


def sample_by_draws(key, n_rows, n_cols, k):
    """``k`` independent uniform pairs, duplicates redrawn until all are distinct, then sorted;
    and whether they are (see :data:`MAX_ROUNDS`)."""

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
    _, rows, cols, repeated = _bounded_while(lambda s: jnp.any(s[3]), redraw, state)
    return rows, cols, ~jnp.any(repeated)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6))
def sample_pairs(key, n_rows, n_cols, k, row_offset=0, skip_diagonal=False, block=DEFAULT_BLOCK):
    """``k`` distinct pairs, uniform over the ``n_rows x n_cols`` grid, sorted, and whether
    the draw succeeded (see :data:`MAX_ROUNDS`).

    With ``skip_diagonal``, column ``j`` of global row ``i`` means post ``j + (j >= i)``
    (``n_cols`` is then one less than the number of posts): autapses are never drawn.
    """
    if k == 0:
        empty = jnp.zeros(0, jnp.int32)
        return empty, empty, jnp.ones((), bool)
    allowed = n_rows * n_cols
    if k / allowed >= MIN_SKIP_DENSITY:
        rows, cols, ok = _sample_by_skips(key, n_rows, n_cols, k, block)
    else:
        rows, cols, ok = sample_by_draws(key, n_rows, n_cols, k)
    rows = rows + jnp.int32(row_offset)
    if skip_diagonal:
        cols = cols + (cols >= rows).astype(jnp.int32)
    return rows, cols, ok


def distinct_per_row(key, n_rows, n_choices, k):
    """``(n_rows, k)`` sorted, distinct picks from ``[0, n_choices)`` per row, uniform."""
    if 2 * k > n_choices:
        # redrawing repeats would take ~n_choices rounds near k = n_choices: pick the
        # n_choices - k left out instead (a uniform subset's complement is uniform); the
        # j-th value kept is j + #{q : excluded[q] - q <= j}
        left_out = distinct_per_row(key, n_rows, n_choices, n_choices - k)
        shifted = left_out - jnp.arange(n_choices - k, dtype=jnp.int32)[None, :]
        kept = jnp.arange(k, dtype=jnp.int32)
        kept = kept[None, :] + jax.vmap(lambda row: jnp.searchsorted(row, kept, side="right"))(shifted)
        return kept.astype(jnp.int32)

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
    # each round a repeat stays with probability <= 1/2 (2k <= n_choices): the bound is never reached
    _, values, _ = _bounded_while(lambda s: jnp.any(s[2]), redraw, (key, *sort_and_mark(first)))
    return values


# --- size-generic kernels: static capacities, traced sizes ------------------------------------

# the smallest capacity: below it, padding costs less than a compilation
MIN_CAPACITY = 1 << 10
# above this count, capacities are exact (a power of two past 2**30 would not fit int32 indices)
_MAX_POW2_CAPACITY = 1 << 30


def capacity_for(nnz: int) -> int:
    """The static length of a size-generic kernel's output for ``nnz`` synapses: the next
    power of two ``>= nnz``, at least :data:`MIN_CAPACITY` (exactly ``nnz`` past 2**30).

    Every request in one capacity class runs the same compiled program (its sizes and
    counts enter as traced int32 scalars); the padding costs at most 2x the output.
    """
    if nnz > _MAX_POW2_CAPACITY:
        return nnz
    return max(MIN_CAPACITY, 1 << max(nnz - 1, 0).bit_length())


def fine_capacity(n: int) -> int:
    """A static length for ``n`` slots that a kernel sorts whole: the next multiple of an eighth
    of the power of two below ``n`` (at most 1/8 padding, eight classes per octave), at least
    :data:`MIN_CAPACITY`."""
    if n <= MIN_CAPACITY:
        return MIN_CAPACITY
    step = 1 << max((n - 1).bit_length() - 4, 0)
    return -(-n // step) * step


def trim(arrays: tuple[jax.Array, ...], nnz: int) -> tuple[jax.Array, ...]:
    """The first ``nnz`` entries of each padded kernel output, without compiling a program
    per length.

    A slice ``x[:nnz]`` (and even ``jnp.asarray`` of a NumPy array, which stages an
    identity program per shape) would be one more XLA compilation for every
    ``(capacity, nnz)``. On CPU the arrays are sliced as NumPy views of their buffers and
    handed back with ``jax.device_put``, which compiles nothing; the result may share the
    padded buffer (at most twice the output, see :func:`capacity_for`) rather than copy it.
    Elsewhere (GPU, TPU), where a NumPy view would be a round trip through the host, and
    under tracing (``nnz`` is static, so the slice is part of the caller's program),
    ``x[:nnz]`` is used: a small slice program per length.
    """
    if any(isinstance(x, jax.core.Tracer) for x in arrays):
        return tuple(x[:nnz] for x in arrays)
    if all(x.shape[0] == nnz for x in arrays):
        return tuple(arrays)
    if all(device.platform == "cpu" for x in arrays for device in x.devices()):
        return tuple(jax.device_put(np.asarray(x)[:nnz]) for x in arrays)
    return tuple(x[:nnz] for x in arrays)


def packable(n_rows: int, width: int) -> bool:
    """Whether pairs of ``n_rows`` rows and columns below ``width`` pack into one uint32 sort
    key (see :func:`sort_valid_pairs`)."""
    return n_rows * width < 2**32 - 1


def sort_valid_pairs(
    rows: jax.Array, cols: jax.Array, valid: jax.Array, width: jax.Array | None = None
) -> tuple[jax.Array, jax.Array]:
    """``(rows, cols)`` sorted by ``(row, col)`` with the invalid slots (padding) moved to the
    end: they become the sentinel pair ``(int32 max, int32 max)``, which sorts last. With
    ``width`` (above every column, and ``rows x width`` below 2**32 - 1, which the caller
    checks) the pairs sort as one packed uint32 key: on CPU about ten times faster than two."""
    if width is None:
        rows = jnp.where(valid, rows, _INT32_MAX)
        cols = jnp.where(valid, cols, _INT32_MAX)
        return lax.sort((rows, cols), num_keys=2)
    width = width.astype(jnp.uint32)
    last = jnp.uint32(2**32 - 1)
    key = jnp.sort(jnp.where(valid, rows.astype(jnp.uint32) * width + cols.astype(jnp.uint32), last))
    ok = key != last
    return (
        jnp.where(ok, (key // width).astype(jnp.int32), _INT32_MAX),
        jnp.where(ok, (key % width).astype(jnp.int32), _INT32_MAX),
    )


def drop_repeats(rows: jax.Array, cols: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Pairs sorted by :func:`sort_valid_pairs` with each pair kept once, moved to the front
    (sentinel pairs after them); and how many there are."""
    capacity = rows.shape[0]
    changed = jnp.concatenate([jnp.ones(1, bool), (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])])
    new = changed & (rows != _INT32_MAX)
    at = jnp.where(new, jnp.cumsum(new, dtype=jnp.int32) - 1, capacity)
    rows = jnp.full(capacity, _INT32_MAX).at[at].set(rows, mode="drop")
    cols = jnp.full(capacity, _INT32_MAX).at[at].set(cols, mode="drop")
    return rows, cols, jnp.sum(new, dtype=jnp.int32)

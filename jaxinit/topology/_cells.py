"""Spatial cells: the candidate pairs of a distance rule in O(n + candidates), never all pairs.

Space is cut into a grid of cells (periodic along a ``box``, else spanning the
positions). Pre neurons are sorted by cell (row-major, last axis fastest), so every
cell is a contiguous run of the sorted pre neurons, and a row of neighbouring cells
along the last axis is one run too (two where it wraps round a periodic box). A post
neuron's *candidates* are the pre neurons of the cells whose nearest points lie within
the cut-off of its own cell: a short list of runs, its *ranges*. With cells of side
``cutoff / r`` (``r`` = 1, 2 or 3, chosen per request to make the least work) the
candidates cover about ``(1 + 2/r)^dim`` times the cut-off's ball, every pair within
the cut-off among them.

The pair work is one compiled loop over *rows*: a row is ``width`` consecutive
candidates of one post neuron (a post with more candidates has several rows), and a
block is ``rows_per_block`` rows. Without a cut-off, every post neuron has one range,
all pre neurons (the streaming path: O(n_pre · n_post) work, O(block + nnz) memory).

Each pair's randomness is a function of the pair alone: ``threefry2x32(seed, (pre,
post))``, kept when its 32 bits fall below ``ceil(p · 2**32)``. So the result depends
neither on the cells, the blocks nor the path: cells and streaming give the same
synapses for the same key, and the law is exactly Bernoulli(p) per pair (to the
2**-32 resolution of the threshold).

Arrays entering the compiled loop are padded to powers of two (rows, neurons, ranges
are values inside static shapes), so one program serves many sizes.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.random import threefry_2x32
from jax.sharding import NamedSharding

from jaxinit import _core
from jaxinit.topology._sampling import MIN_CAPACITY, capacity_for, packable, sort_valid_pairs
from jaxinit.topology._shard import on_each_device
from jaxinit.topology._spatial import _no_shortfall, _tally, distance, join_callable

# candidates handled at once (rows_per_block x width)
BLOCK = 1 << 15
# the widest row: a post neuron with more candidates has several rows
MAX_WIDTH = 1 << 14
# the cell grid holds at most this many cells per neuron (a sparse population in a large box)
_CELLS_PER_NEURON = 2
# the cells path is taken when it evaluates at most this fraction of all pairs
_CELLS_WORTH = 0.75
# a stencil cell is a candidate when its nearest points are within cutoff * (1 + _SLACK)
# (positions are float32: a pair at the cut-off may round either way)
_SLACK = 1e-5
_UINT32_SPAN = float(2**32)
# up to this many candidates the output has room for all of them (no count estimate)
_SMALL = 1 << 16


def _pow2(n: int, minimum: int = 1) -> int:
    return max(minimum, 1 << max(int(n) - 1, 0).bit_length())


# --- plans: ranges of candidates per post neuron ---------------------------------------------


class Plan:
    """Candidates per post neuron: ``pre_order`` (pre neurons in cell order), and for post
    ``j`` the runs ``pre_order[start[j, s] : start[j, s] + length[j, s]]``; ``post_order``
    lists the post neurons in the order their rows run (index order: the kept pairs come
    out grouped by post in order, so one stable sort by pre puts them in (pre, post)
    order)."""

    def __init__(self, pre_order, post_order, start, length, kind):
        self.pre_order, self.post_order, self.start, self.length, self.kind = (
            pre_order,
            post_order,
            start,
            length,
            kind,
        )
        self.counts = length.sum(axis=1, dtype=np.int64)

    @property
    def total(self) -> int:
        return int(self.counts.sum())


def stream_plan(n_pre: int, n_post: int) -> Plan:
    """Every post neuron's candidates are all pre neurons, in index order."""
    start = np.zeros((n_post, 1), np.int64)
    length = np.full((n_post, 1), n_pre, np.int64)
    return Plan(np.arange(n_pre), np.arange(n_post), start, length, "stream")


def _grid(pre, post, box, cutoff, refine):
    """Cells per axis, their side and origin for cells of side ``>= cutoff / refine``."""
    dim = pre.shape[1]
    if box is not None:
        lo, extent = np.zeros(dim), np.broadcast_to(np.asarray(box, np.float64), (dim,)).copy()
    else:
        both = np.concatenate([pre, post]) if post is not pre else pre
        lo, hi = both.min(axis=0), both.max(axis=0)
        extent = np.maximum(hi - lo, cutoff * 1e-3)
    target = cutoff / refine
    n_cells = np.maximum(1, np.floor(extent / target)).astype(np.int64)
    limit = max(64, _CELLS_PER_NEURON * max(pre.shape[0], post.shape[0]))
    while np.prod(n_cells, dtype=np.float64) > limit:  # too fine for so few neurons: coarser cells
        scale = (np.prod(n_cells, dtype=np.float64) / limit) ** (1 / dim)
        n_cells = np.maximum(1, np.floor(n_cells / scale)).astype(np.int64)
    return n_cells, extent / n_cells, lo


def _cell_coords(x, lo, side, n_cells, box):
    if box is not None:
        x = np.mod(x, np.broadcast_to(np.asarray(box, np.float64), (x.shape[1],)))
    return np.clip(np.floor((x - lo) / side).astype(np.int64), 0, n_cells - 1)


def _axis_offsets(n, refine, side, periodic):
    """``(offsets, gaps)`` along one axis: distinct neighbour shifts and the smallest distance
    between points of cells that far apart."""
    if periodic:
        shifts = [m for m in range(n) if min(m, n - m) <= refine]
        return shifts, [max(min(m, n - m) - 1, 0) * side for m in shifts]
    shifts = list(range(-min(refine, n - 1), min(refine, n - 1) + 1))
    return shifts, [max(abs(m) - 1, 0) * side for m in shifts]


def cell_plan(pre, post, box, cutoff, refine) -> Plan:
    """Candidates through cells of side ``>= cutoff / refine``. ``pre``, ``post``: float64
    ``(n, dim)`` host arrays (``post`` is ``pre`` for one population); ``box``: sides or None."""
    dim = pre.shape[1]
    n_cells, side, lo = _grid(pre, post, box, cutoff, refine)
    periodic = box is not None
    strides = np.concatenate([np.cumprod(n_cells[::-1])[::-1][1:], [1]])  # row-major, last axis fastest
    pre_c = _cell_coords(pre, lo, side, n_cells, box)
    post_c = pre_c if post is pre else _cell_coords(post, lo, side, n_cells, box)
    pre_cell = pre_c @ strides
    pre_order = np.argsort(pre_cell, kind="stable")
    first = np.zeros(int(np.prod(n_cells)) + 1, np.int64)
    np.cumsum(np.bincount(pre_cell, minlength=int(np.prod(n_cells))), out=first[1:])
    reach = (cutoff * (1 + _SLACK)) ** 2
    # rows of the stencil: a shift along every axis but the last, then a run along the last
    leading = [_axis_offsets(int(n_cells[a]), refine, side[a], periodic) for a in range(dim - 1)]
    n_last, side_last = int(n_cells[-1]), side[-1]
    starts, lengths = [], []
    for combo in np.ndindex(*[len(s) for s, _ in leading]):
        gap2 = sum(leading[a][1][i] ** 2 for a, i in enumerate(combo))
        if gap2 > reach:
            continue
        # the run along the last axis: shifts up to w whose gap (w - 1) * side fits what is left
        w = min(refine, int(math.floor(math.sqrt(reach - gap2) / side_last + _SLACK)) + 1)
        base = np.zeros(post_c.shape[0], np.int64)
        valid = np.ones(post_c.shape[0], bool)
        for a, i in enumerate(combo):
            c = post_c[:, a] + leading[a][0][i]
            if periodic:
                c = np.mod(c, n_cells[a])
            else:
                valid &= (c >= 0) & (c < n_cells[a])
            base += np.clip(c, 0, n_cells[a] - 1) * strides[a]
        last = post_c[:, -1]
        if periodic and 2 * w + 1 >= n_last:  # the run covers the whole axis: one run
            pieces = [(np.zeros_like(last), np.full_like(last, n_last - 1))]
        elif periodic:  # the run may wrap round: the part inside the axis and the part past one end
            lo_c, hi_c = last - w, last + w
            wrapped_lo = np.where(lo_c < 0, lo_c + n_last, np.where(hi_c >= n_last, 0, 1))
            wrapped_hi = np.where(lo_c < 0, n_last - 1, np.where(hi_c >= n_last, hi_c - n_last, 0))
            pieces = [(np.maximum(lo_c, 0), np.minimum(hi_c, n_last - 1)), (wrapped_lo, wrapped_hi)]
        else:
            pieces = [(np.maximum(last - w, 0), np.minimum(last + w, n_last - 1))]
        for a_lo, a_hi in pieces:
            ok = valid & (a_hi >= a_lo)
            s = first[base + np.where(ok, a_lo, 0)]
            e = first[base + np.where(ok, a_hi, 0) + 1]
            starts.append(np.where(ok, s, 0))
            lengths.append(np.where(ok, e - s, 0))
    return Plan(
        pre_order, np.arange(post.shape[0]), np.stack(starts, 1), np.stack(lengths, 1), f"cells (refine {refine})"
    )


def _stencil_size(pre, post, box, cutoff, refine) -> tuple[float, int]:
    """The fraction of all cells a post neuron's stencil covers, and its number of runs."""
    n_cells, side, _ = _grid(pre, post, box, cutoff, refine)
    periodic = box is not None
    reach = (cutoff * (1 + _SLACK)) ** 2
    leading = [_axis_offsets(int(n_cells[a]), refine, side[a], periodic) for a in range(pre.shape[1] - 1)]
    cells, runs = 0, 0
    for combo in np.ndindex(*[len(s) for s, _ in leading]):
        gap2 = sum(leading[a][1][i] ** 2 for a, i in enumerate(combo))
        if gap2 <= reach:
            w = min(refine, int(math.floor(math.sqrt(reach - gap2) / side[-1] + _SLACK)) + 1)
            cells += min(2 * w + 1, int(n_cells[-1]))
            runs += 2 if periodic else 1
    return cells / float(np.prod(n_cells, dtype=np.float64)), runs


def best_refine(pre, post, box, cutoff) -> tuple[int | None, float]:
    """The ``r`` whose cells of side ``cutoff / r`` hold the fewest candidates (at uniform
    density; each run costs some work per candidate too) and its cost in candidates, or
    ``None`` and the cost of streaming when cells would not save enough."""
    n_pre, n_post = pre.shape[0], post.shape[0]
    best, best_cost = None, float(n_pre) * n_post * _CELLS_WORTH
    for refine in (1, 2, 3) if pre.shape[1] < 3 else (1, 2):
        fraction, runs = _stencil_size(pre, post, box, cutoff, refine)
        cost = float(n_pre) * n_post * fraction * (1 + runs / 32) + n_post * runs
        if cost < best_cost:
            best, best_cost = refine, cost
    return best, best_cost


def best_plan(pre, post, box, cutoff) -> Plan:
    """The plan that makes the least work: cells of side ``cutoff / r`` for the best ``r``, or
    the streaming plan when cells would not save enough."""
    refine, _ = best_refine(pre, post, box, cutoff)
    return stream_plan(pre.shape[0], post.shape[0]) if refine is None else cell_plan(pre, post, box, cutoff, refine)


def _rows(plan: Plan) -> tuple[int, np.ndarray, np.ndarray]:
    """The row width (a power of two that wastes least padding) and each row's post neuron and
    first candidate, posts in ``plan.post_order``."""
    counts = plan.counts[plan.post_order]
    best = None
    for width in (1 << b for b in range(4, MAX_WIDTH.bit_length())):
        rows = -(-counts // width)
        cost = int(rows.sum()) * (width + 64)
        if best is None or cost < best[0]:
            best = (cost, width)
    width = best[1]
    per_post = -(-counts // width)
    posts = np.repeat(plan.post_order, per_post)
    row_first = np.cumsum(per_post) - per_post
    k0 = (np.arange(posts.shape[0]) - np.repeat(row_first, per_post)) * width
    return width, posts, k0


def _padded(array: np.ndarray, length: int, dtype) -> np.ndarray:
    out = np.zeros((length,) + array.shape[1:], dtype)
    out[: array.shape[0]] = array
    return out


def padded_positions(positions: jax.Array, length: int, order: np.ndarray | None = None) -> jax.Array:
    """``positions`` (in ``order``) padded with zeros to ``length`` rows, on the host: no XLA
    program per shape for a gather and a scatter."""
    if _core.is_traced(positions):  # under jit (a build given capacity=)
        ordered = positions if order is None else positions[jnp.asarray(order)]
        return jnp.pad(ordered, ((0, length - ordered.shape[0]),) + ((0, 0),) * (ordered.ndim - 1))
    host = np.asarray(positions)
    return jnp.asarray(_padded(host if order is None else host[order], length, host.dtype))


# --- the compiled pair loop ------------------------------------------------------------------


def candidates(post: jax.Array, kk: jax.Array, range_start: jax.Array, range_end: jax.Array):
    """For posts ``(P,)`` and places ``(P, C)`` in their candidate lists: the index of each
    candidate into the cell-ordered pre neurons, and whether the place is inside the list
    (``range_end``: cumulative ends of each post's ranges)."""
    ends = range_end[post]  # (P, S)
    delta = range_start[post] - jnp.concatenate([jnp.zeros((post.shape[0], 1), jnp.int32), ends[:, :-1]], axis=1)
    idx = kk + delta[:, :1]
    for s in range(1, range_start.shape[1]):  # idx = kk + start_s - begin_s for the range s holding kk
        idx = idx + jnp.where(kk >= ends[:, s - 1 : s], delta[:, s : s + 1] - delta[:, s - 1 : s], 0)
    return idx, kk < ends[:, -1:]


@functools.partial(
    jax.jit,
    static_argnames=("width", "rows_per_block", "capacity", "static", "unit", "skip_diagonal", "bernoulli", "packed"),
)
def _pair_loop(
    seed,
    rows_post,
    rows_k0,
    n_rows,
    block_stride,
    range_start,
    range_end,
    pre_pos,
    pre_id,
    post_pos,
    box,
    leaves,
    radius,
    n_post,
    *,
    width,
    rows_per_block,
    capacity,
    static,
    unit,
    skip_diagonal,
    bernoulli,
    packed,
):
    """The kept pairs of rows ``[0, n_rows)`` (every ``block_stride``-th block), sorted by
    ``(pre, post)`` into ``capacity`` slots (sentinel pairs after them), and how many were
    kept (also those past ``capacity``, which are dropped)."""
    P, C = rows_per_block, width
    k = jnp.arange(C, dtype=jnp.int32)
    profile = join_callable(leaves, static) if bernoulli else None

    def body(b, state):
        out_pre, out_post, count = state
        r = b * block_stride * P + jnp.arange(P, dtype=jnp.int32)
        row_ok = r < n_rows
        r = jnp.where(row_ok, r, 0)
        post = rows_post[r]
        kk = rows_k0[r][:, None] + k[None, :]  # (P, C): place in the post's candidate list
        idx, valid = candidates(post, kk, range_start, range_end)
        valid = valid & row_ok[:, None]
        idx = jnp.where(valid, idx, 0)
        d = distance(pre_pos[idx] - post_pos[post][:, None, :], box)
        pre = pre_id[idx]
        posts = jnp.broadcast_to(post[:, None], (P, C))
        if bernoulli:
            p = jnp.asarray(profile(_core.attach_unit(d, unit)), jnp.float32)
            p = jnp.where(p > 0, p, jnp.float32(0))  # NaN and negative: never
            threshold = jnp.ceil(jnp.where(p >= 1, 0, p) * jnp.float32(_UINT32_SPAN)).astype(jnp.uint32)
            bits = threefry_2x32(seed, jnp.stack([pre.astype(jnp.uint32), posts.astype(jnp.uint32)]))[0]
            keep = valid & ((p >= 1) | (bits < threshold))
        else:
            keep = valid & (d <= radius)
        if skip_diagonal:
            keep = keep & (pre != posts)
        # the kept pairs to the front of a block-sized chunk, written at `count` in place (a
        # scatter into the whole output would copy it every block)
        keep = keep.reshape(-1)
        at = jnp.where(keep, jnp.cumsum(keep, dtype=jnp.int32) - 1, P * C)
        chunk_pre = jnp.zeros(P * C, jnp.int32).at[at].set(pre.reshape(-1), mode="drop")
        chunk_post = jnp.zeros(P * C, jnp.int32).at[at].set(posts.reshape(-1), mode="drop")
        start = jnp.minimum(count, capacity)  # past the capacity the count goes on; the pairs are dropped
        out_pre = lax.dynamic_update_slice(out_pre, chunk_pre, (start,))
        out_post = lax.dynamic_update_slice(out_post, chunk_post, (start,))
        return out_pre, out_post, count + jnp.sum(keep, dtype=jnp.int32)

    n_blocks = (n_rows + block_stride * P - 1) // (block_stride * P)
    empty = jnp.zeros(capacity + P * C, jnp.int32)  # room for the last chunk past the capacity
    out_pre, out_post, count = lax.fori_loop(0, n_blocks, body, (empty, empty, jnp.int32(0)))
    valid = jnp.arange(capacity, dtype=jnp.int32) < count
    out_pre, out_post = sort_valid_pairs(out_pre[:capacity], out_post[:capacity], valid, n_post if packed else None)
    return out_pre, out_post, count


def find_pairs(
    plan: Plan,
    pre_pos: jax.Array,
    post_pos: jax.Array,
    box: jax.Array | None,
    *,
    skip_diagonal: bool,
    seed: jax.Array | None = None,
    profile: tuple[tuple[Any, ...], Any] | None = None,
    unit: Any = None,
    radius: float | None = None,
    post_ranges: list[tuple[int, int]] | None = None,
    out_sharding: NamedSharding | None = None,
    capacity: int | None = None,
) -> tuple[jax.Array, jax.Array, Any]:
    """The pairs of ``plan``'s candidates kept by a Bernoulli(``profile(d)``) draw per pair
    (``seed``, ``profile = (leaves, static)``) or, without a seed, by ``d <= radius``; sorted
    by ``(pre, post)``, padded to a capacity class, and their count.

    ``post_ranges``: shares ``(lo, hi)`` of the post neurons, each with only the rows of its
    posts (each pair's draw is its own, so these are the whole draw's pairs onto them). One
    share is drawn here; with ``out_sharding``, device ``d`` draws share ``d`` (one program for
    all) and the arrays are the devices' padded shares end to end, the counts one per device.
    ``capacity``: the caller's static capacity (the key and positions may be traced): one
    run, the count as drawn (past the capacity, the pairs beyond are dropped)."""
    n_pre, n_post = pre_pos.shape[0], post_pos.shape[0]
    width, posts, k0 = _rows(plan)
    P = max(1, BLOCK // width)
    ranges = [(0, n_post)] if post_ranges is None else post_ranges
    rows = [np.searchsorted(posts, r) for r in ranges]  # the rows run in post order
    m_cap = _pow2(max(hi - lo for lo, hi in rows), P)
    pre_cap, post_cap = _pow2(n_pre, 8), _pow2(n_post, 8)
    order = plan.pre_order
    ends = np.cumsum(plan.length, axis=1)
    shares = [
        (_padded(posts[lo:hi], m_cap, np.int32), _padded(k0[lo:hi], m_cap, np.int32), np.int32(hi - lo))
        for lo, hi in rows
    ]
    spatial = (
        jnp.asarray(_padded(plan.start, post_cap, np.int32)),
        jnp.asarray(_padded(ends, post_cap, np.int32)),
        padded_positions(pre_pos, pre_cap, order),
        jnp.asarray(_padded(order, pre_cap, np.int32)),
        padded_positions(post_pos, post_cap),
        box,
    )
    leaves, static = profile if profile is not None else ((), None)
    bernoulli = seed is not None
    seed = seed if bernoulli else jnp.zeros(2, jnp.uint32)
    radius = jnp.asarray(0.0 if radius is None else radius, pre_pos.dtype)
    config = dict(
        width=width,
        rows_per_block=P,
        static=static,
        unit=unit,
        skip_diagonal=skip_diagonal,
        bernoulli=bernoulli,
        packed=packable(n_pre, n_post),
    )
    n_blocks = np.asarray([-(-(hi - lo) // P) for lo, hi in rows])
    if capacity is not None:
        (mine,) = shares
        return _pair_share(*mine, seed, np.int32(1), *spatial, leaves, radius, np.int32(n_post), capacity=capacity,
                           **config)  # fmt: skip

    def run(capacity, stride):
        replicated = (seed, np.int32(stride), *spatial, leaves, radius, np.int32(n_post))
        if out_sharding is not None:
            pre, post, counts = on_each_device(_pair_share, shares, replicated, {**config, "capacity": capacity},
                                               out_sharding)  # fmt: skip
            return pre, post, np.asarray(counts)
        (mine,) = shares
        pre, post, count = _pair_share(*mine, *replicated, capacity=capacity, **config)
        return pre, post, np.asarray([count])

    total = max(int(plan.counts[lo:hi].sum()) for lo, hi in ranges)
    if total <= _SMALL:  # room for every candidate
        capacity = capacity_for(total)
    else:  # estimate the count from a sample of blocks spread over the space
        stride = max(1, int(n_blocks.max()) // 32)
        sampled = run(MIN_CAPACITY, stride)[2]
        estimate = float(np.max(sampled * n_blocks / np.maximum(-(-n_blocks // stride), 1)))
        capacity = capacity_for(int(estimate * 1.1 + 8 * math.sqrt(estimate) + 64))
    pre, post, counts = run(capacity, 1)
    if counts.max() > capacity:  # the sample fell short: the exact count is known now
        pre, post, counts = run(capacity_for(int(counts.max())), 1)
    return pre, post, (counts if out_sharding is not None else int(counts[0]))


def _pair_share(rows_post, rows_k0, n_rows, *rest, **static):
    """:func:`_pair_loop` with a share's operands first (see :func:`on_each_device`)."""
    seed, *rest = rest
    return _pair_loop(seed, rows_post, rows_k0, n_rows, *rest, **static)


# --- k pre neurons per post by the profile: Gumbel top-k over the candidates ---------------


@functools.partial(jax.jit, static_argnames=("width", "rows_per_block", "k", "static", "unit", "skip_diagonal"))
def _topk_loop(
    key, n_post, range_start, range_end, pre_pos, pre_id, post_pos, box, leaves, *, width, rows_per_block, k, static,
    unit, skip_diagonal,
):  # fmt: skip
    """Per post neuron, ``k`` distinct candidates with probability ∝ ``profile(d)`` (Gumbel
    top-k over its candidate list, one row of ``width`` each), post by post; and the
    candidate check of :func:`._spatial._tally`."""
    P, C = rows_per_block, width
    profile = join_callable(leaves, static)
    kk = jnp.broadcast_to(jnp.arange(C, dtype=jnp.int32), (P, C))

    def body(b, state):
        chosen, shortfall = state
        first = b * P
        post = first + jnp.arange(P, dtype=jnp.int32)
        ok = post < n_post
        post = jnp.where(ok, post, 0)
        idx, valid = candidates(post, kk, range_start, range_end)
        idx = jnp.where(valid, idx, 0)
        pre = pre_id[idx]
        d = distance(pre_pos[idx] - post_pos[post][:, None, :], box)
        weights = jnp.asarray(profile(_core.attach_unit(d, unit)))
        possible = valid & (weights > 0)
        if skip_diagonal:
            possible = possible & (pre != post[:, None])
        logits = jnp.where(possible, jnp.log(jnp.where(possible, weights, 1.0)), -jnp.inf).astype(jnp.float32)
        gumbel = jax.random.gumbel(jax.random.fold_in(key, b), (P, C), jnp.float32)
        picked = jnp.take_along_axis(pre, lax.top_k(logits + gumbel, k)[1], axis=1)
        shortfall = _tally(shortfall, possible, first, ok, k, n_post)
        return lax.dynamic_update_slice(chosen, picked.reshape(-1), (first * k,)), shortfall

    n_blocks = (n_post + P - 1) // P
    chosen = jnp.zeros((range_start.shape[0] + P) * k, jnp.int32)
    return lax.fori_loop(0, n_blocks, body, (chosen, _no_shortfall(n_post)))


def topk_per_post(plan: Plan, key, pre_pos, post_pos, box, profile, unit, k: int, skip_diagonal: bool):
    """``k`` pre neurons per post neuron of ``plan`` with probability ∝ ``profile(d)``, distinct:
    ``(n_post · k,)`` pre indices, post-major, and the candidate check; ``None`` when a post
    neuron's candidates would not fit one row (:data:`MAX_WIDTH`)."""
    n_pre, n_post = pre_pos.shape[0], post_pos.shape[0]
    widest = int(plan.counts.max(initial=0))
    if widest > MAX_WIDTH or widest < k:
        return None
    width = _pow2(widest, 8)
    P = max(1, BLOCK // width)
    pre_cap, post_cap = _pow2(n_pre, 8), _pow2(n_post, 8)
    order = plan.pre_order
    chosen, shortfall = _topk_loop(
        key,
        np.int32(n_post),
        jnp.asarray(_padded(plan.start, post_cap, np.int32)),
        jnp.asarray(_padded(np.cumsum(plan.length, axis=1), post_cap, np.int32)),
        padded_positions(pre_pos, pre_cap, order),
        jnp.asarray(_padded(order, pre_cap, np.int32)),
        padded_positions(post_pos, post_cap),
        box,
        profile[0],
        width=width,
        rows_per_block=P,
        k=k,
        static=profile[1],
        unit=unit,
        skip_diagonal=skip_diagonal,
    )
    return chosen, shortfall

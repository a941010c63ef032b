"""Spatial Bernoulli pairs by thinning: visit about as many candidates as there are synapses.

:func:`._cells.find_pairs` draws one number per candidate pair within the cut-off. When
the connection probability is well below 1 over most of that ball (a Gaussian of
amplitude 0.5 has mean probability ~0.1 within 3σ), most of that work is spent on pairs
that are not kept. This path visits candidates at the rate of an upper bound instead.

Space is cut into small cells; for a post neuron ``j`` and a cell ``c`` within reach, the
profile's tail bound at the nearest point of the cell bounds the probability ``p(d)`` of
every pre neuron in it: ``q = bound(dmin(j, c))``. Each such *segment* is either

* *enumerated* (``q > 1 - 1/e``, where visiting every candidate costs less): every
  candidate is visited once and kept with probability ``p(d)``; or
* *thinned*: a Poisson process of rate ``λ = -log(1 - q)`` per candidate hits each
  candidate at least once with probability ``q``, independently; a hit candidate is kept
  with probability ``p(d) / q``.

Every pair is then kept with probability exactly ``p(d)``, independently of the others.
A candidate's keep-or-not draw is a function of the key and the pair alone (as in
``_cells``), so a candidate hit twice is decided the same way twice; the duplicates are
removed after the sort. A segment's hits are ``Poisson(λ · n_c)`` for its ``n_c``
candidates, drawn on the host from the key (they size the arrays), each on a uniform
candidate of the segment (the high word of a 32-bit draw times ``n_c``: within
``n_c / 2**32`` of uniform).
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
from jaxinit.topology._cells import _cell_coords, _grid, _padded, _pow2, padded_positions
from jaxinit.topology._sampling import _mulhi, drop_repeats, fine_capacity, host_rng, packable, sort_valid_pairs
from jaxinit.topology._shard import on_each_device
from jaxinit.topology._spatial import distance, join_callable

# a segment is enumerated above this bound: a Poisson rate past 1 per candidate costs more
_ENUMERATE_ABOVE = 1 - math.exp(-1)
# arrivals handled at once in the compiled loop
_BLOCK = 1 << 16
# the bound is taken a little inside the cell (positions are float32 on the device)
_SLACK = 1e-5
# posts sampled to choose the cell size
_SAMPLE = 512
# relative costs (measured on CPU): a visit (two threefry draws, gathers, one sort of every
# visit), a (post, stencil cell) pair on the host, a candidate of the all-candidates path
_COST_ARRIVAL, _COST_SEGMENT, _COST_CANDIDATE = 1.0, 1.0, 0.35
# (post, stencil cell) pairs the host handles at most (a few float64 arrays of them)
_MAX_SEGMENT_WORK = 4e7


class Segments:
    """Segments ``(post, cell)`` within reach, flattened in post order: the post, the first
    candidate (into the cell-ordered pre neurons), the count of candidates, and ``q``: the
    bound at the cell's nearest point, or 1 where the segment is enumerated."""

    def __init__(self, post, first, count, bound):
        self.post, self.first, self.count = post, first, count
        self.enumerated = bound > _ENUMERATE_ABOVE
        self.q = np.where(self.enumerated, 1.0, bound)
        self.rate = np.where(self.enumerated, 0.0, -np.log1p(-np.minimum(bound, _ENUMERATE_ABOVE)))

    def expected_arrivals(self) -> float:
        return float(np.sum(np.where(self.enumerated, self.count, self.rate * self.count)))


class Layout:
    """Pre neurons sorted into cells of side about ``cutoff / refine`` and the stencil of cell
    offsets within reach of a cell."""

    def __init__(self, pre, post, box, cutoff, refine):
        self.dim = pre.shape[1]
        self.box = box
        self.n_cells, self.side, self.lo = _grid(pre, post, box, cutoff, refine)
        self.reach = np.floor(cutoff / self.side).astype(np.int64) + 1
        # a periodic axis too short for the stencil would visit a cell twice
        self.valid = box is None or bool(np.all(self.n_cells >= 2 * self.reach + 1))
        self.strides = np.concatenate([np.cumprod(self.n_cells[::-1])[::-1][1:], [1]])
        self._pre = pre
        grids = np.meshgrid(*[np.arange(-r, r + 1) for r in self.reach], indexing="ij")
        offsets = np.stack([g.ravel() for g in grids], 1)
        gap = np.maximum(np.abs(offsets) - 1, 0) * self.side
        self.offsets = offsets[np.sum(gap**2, axis=1) <= (cutoff * (1 + _SLACK)) ** 2]
        self.cutoff = cutoff
        self._table = None

    @functools.cached_property
    def _cell(self) -> np.ndarray:
        return _cell_coords(self._pre, self.lo, self.side, self.n_cells, self.box) @ self.strides

    @functools.cached_property
    def first(self) -> np.ndarray:
        """Where each cell's run of pre neurons starts in cell order (and the total at the end)."""
        first = np.zeros(int(np.prod(self.n_cells)) + 1, np.int64)
        np.cumsum(np.bincount(self._cell, minlength=int(np.prod(self.n_cells))), out=first[1:])
        return first

    @functools.cached_property
    def pre_order(self) -> np.ndarray:
        """The pre neurons in cell order (sorted only for the layout chosen)."""
        return np.argsort(self._cell, kind="stable")

    def _neighbours(self, cells: np.ndarray) -> np.ndarray:
        """Per cell of ``cells`` and stencil offset: the neighbour cell, or -1 past an open
        boundary. For many posts, one table over all cells, built once (a cell's post neurons
        share its row); for a few (a cost estimate), their rows alone."""
        total = int(np.prod(self.n_cells))
        if self._table is None and cells.shape[0] < total:
            return self._rows(cells)
        if self._table is None:
            self._table = self._rows(np.arange(total))
        return self._table[cells]

    def _rows(self, cells: np.ndarray) -> np.ndarray:
        coords = np.stack(np.unravel_index(cells, self.n_cells), 1)
        neighbours = coords[:, None, :] + self.offsets[None, :, :]
        if self.box is None:
            outside = np.any((neighbours < 0) | (neighbours >= self.n_cells), axis=2)
        else:
            neighbours, outside = np.mod(neighbours, self.n_cells), np.zeros(neighbours.shape[:2], bool)
        return np.where(outside, -1, np.clip(neighbours, 0, self.n_cells - 1) @ self.strides)

    def segments(self, post: np.ndarray, bound_fn) -> Segments:
        """The segments of the post neurons at ``post`` (float64 ``(m, dim)``)."""
        if self.box is not None:
            post = np.mod(post, np.broadcast_to(self.box, (self.dim,)))
        coords = _cell_coords(post, self.lo, self.side, self.n_cells, self.box)
        within = post - (self.lo + coords * self.side)  # place inside the own cell, per axis
        dmin2 = 0.0
        for a in range(self.dim):
            shift = np.arange(-self.reach[a], self.reach[a] + 1)
            # distance along axis a from the post to the cells `shift` cells away
            gap = np.where(shift < 0, within[:, a : a + 1] + (-shift - 1) * self.side[a], shift * self.side[a])
            gap = np.where(shift > 0, gap - within[:, a : a + 1], np.where(shift < 0, gap, 0.0))
            dmin2 = dmin2 + np.square(gap)[:, self.offsets[:, a] + self.reach[a]]
        dmin = np.sqrt(dmin2) * (1 - _SLACK)
        neighbour = self._neighbours(coords @ self.strides)
        count = np.where(neighbour >= 0, self.first[neighbour + 1] - self.first[neighbour], 0)
        keep = np.nonzero((count > 0) & (dmin <= self.cutoff))
        bound = bound_fn(dmin[keep])
        positive = bound > 0
        keep = tuple(k[positive] for k in keep)
        return Segments(keep[0], self.first[neighbour[keep]], count[keep], bound[positive])


# the tail bound is tabulated at this many steps of the cut-off (looked up below each distance)
_TABLE = 4096


@functools.partial(jax.jit, static_argnames=("static", "unit"))
def _bound_table(leaves, cutoff, *, static, unit):
    d = jnp.arange(_TABLE + 1, dtype=jnp.float32) * (cutoff / _TABLE)
    return join_callable(leaves, static)(_core.attach_unit(d, unit))


def bound_lookup(bound: Any, cutoff: float, unit: Any):
    """``bound_fn(dmin)`` for float64 host distances: the profile's tail bound at the table step
    at or below each distance (the bound never rises, so this still bounds it), in [0, 1]."""
    leaves, static = jax.tree_util.tree_flatten(bound)
    table = np.asarray(_bound_table(tuple(leaves), np.float32(cutoff), static=static, unit=unit), np.float64)
    table = np.where(np.isnan(table), 1.0, np.clip(table, 0.0, 1.0))

    def bound_fn(dmin):
        return table[np.minimum(np.floor(dmin * (_TABLE / cutoff)), _TABLE).astype(np.int64)]

    return bound_fn


def _estimate(pre, post, box, cutoff, refine, bound_fn) -> tuple[float, Layout | None]:
    """The relative cost of thinning with cells of side ``cutoff / refine``, from a sample of posts:
    the visits, and the host's work on every (post, stencil cell) pair, empty or not."""
    layout = Layout(pre, post, box, cutoff, refine)
    pairs = float(post.shape[0]) * layout.offsets.shape[0]
    if not layout.valid or pairs > _MAX_SEGMENT_WORK:
        return math.inf, None
    step = max(1, post.shape[0] // _SAMPLE)
    sample = layout.segments(post[::step], bound_fn)
    visits = sample.expected_arrivals() * post.shape[0] / post[::step].shape[0]
    return _COST_ARRIVAL * visits + _COST_SEGMENT * pairs, layout


def choose_layout(pre, post, box, cutoff, bound_fn, candidates: float) -> Layout | None:
    """The cell layout that thins at least cost, or ``None`` when visiting the ``candidates``
    of the enumerating path costs less."""
    best, best_cost = None, _COST_CANDIDATE * candidates
    for refine in (1, 2, 3, 4, 6, 8) if pre.shape[1] < 3 else (1, 2, 3, 4):
        cost, layout = _estimate(pre, post, box, cutoff, refine, bound_fn)
        if cost < best_cost:
            best, best_cost = layout, cost
    return best


@functools.partial(jax.jit, static_argnames=("capacity", "static", "unit", "skip_diagonal", "packed"))
def _thinned_loop(
    pair_seed,
    hit_seed,
    first_arrival,
    n_arrivals,
    seg_start,
    seg_post,
    seg_first,
    seg_count,
    seg_q,
    pre_pos,
    pre_id,
    post_pos,
    box,
    leaves,
    n_post,
    *,
    capacity,
    static,
    unit,
    skip_diagonal,
    packed,
):
    """The kept pairs of ``n_arrivals`` arrivals (segment ``s`` owns arrivals ``seg_start[s]``
    on), sorted by ``(pre, post)`` without repeats in ``capacity`` slots, and how many. The
    arrivals are numbered from ``first_arrival`` on (a device's share of the segments draws
    the same hits as the whole)."""
    profile = join_callable(leaves, static)
    # arrival -> segment: segments' first arrivals marked, then a running count
    marks = jnp.zeros(capacity + _BLOCK, jnp.int32).at[seg_start[1:]].add(1, mode="drop")
    owner = jnp.cumsum(marks)
    pre_x = tuple(pre_pos[:, a] for a in range(pre_pos.shape[1]))

    def body(b, state):
        out_pre, out_post = state
        r = b * _BLOCK + jnp.arange(_BLOCK, dtype=jnp.int32)
        ok = r < n_arrivals
        s = lax.dynamic_slice(owner, (b * _BLOCK,), (_BLOCK,))
        j, q = seg_post[s], seg_q[s]
        # enumerated segments visit their candidates in turn; thinned ones a uniform candidate per hit
        numbered = (r + first_arrival).astype(jnp.uint32)
        hit = threefry_2x32(hit_seed, jnp.stack([numbered, jnp.zeros(_BLOCK, jnp.uint32)]))[0]
        local = jnp.where(q >= 1, r - seg_start[s], _mulhi(hit, seg_count[s].astype(jnp.uint32)).astype(jnp.int32))
        idx = jnp.where(ok, seg_first[s] + local, 0)
        pre = pre_id[idx]
        diff = jnp.stack([x[idx] for x in pre_x], axis=-1) - post_pos[j]
        p = jnp.asarray(profile(_core.attach_unit(distance(diff, box), unit)), jnp.float32)
        ratio = jnp.where(p > 0, p / q, jnp.float32(0))  # NaN and negative: never
        threshold = jnp.ceil(jnp.where(ratio >= 1, 0, ratio) * jnp.float32(2**32)).astype(jnp.uint32)
        bits = threefry_2x32(pair_seed, jnp.stack([pre.astype(jnp.uint32), j.astype(jnp.uint32)]))[0]
        keep = ok & ((ratio >= 1) | (bits < threshold))
        if skip_diagonal:
            keep = keep & (pre != j)
        # most visits are kept: every visit keeps its slot, the rejected ones marked
        out_pre = lax.dynamic_update_slice(out_pre, jnp.where(keep, pre, -1), (b * _BLOCK,))
        out_post = lax.dynamic_update_slice(out_post, j, (b * _BLOCK,))
        return out_pre, out_post

    n_blocks = (n_arrivals + _BLOCK - 1) // _BLOCK
    empty = jnp.full(capacity + _BLOCK, -1, jnp.int32)
    out_pre, out_post = lax.fori_loop(0, n_blocks, body, (empty, empty))
    out_pre, out_post = out_pre[:capacity], out_post[:capacity]
    out_pre, out_post = sort_valid_pairs(out_pre, out_post, out_pre >= 0, n_post if packed else None)
    return drop_repeats(out_pre, out_post)


def thinned_pairs(
    layout: Layout,
    host_post: np.ndarray,
    bound_fn,
    pre_pos: jax.Array,
    post_pos: jax.Array,
    box: jax.Array | None,
    *,
    key: jax.Array,
    profile: tuple[tuple[Any, ...], Any],
    unit: Any,
    skip_diagonal: bool,
    post_ranges: list[tuple[int, int]] | None = None,
    out_sharding: NamedSharding | None = None,
) -> tuple[jax.Array, jax.Array, Any]:
    """The pairs kept with probability ``profile(d)`` each, through ``layout``'s cells: sorted
    by ``(pre, post)``, padded to a capacity class, and their count.

    ``post_ranges``: shares ``(lo, hi)`` of the post neurons, each drawing only the pairs onto
    its posts (the same pairs as the whole draw has there: the segments run in post order, so
    a share is a run of them, and its hits keep their global numbers). One share is drawn here;
    with ``out_sharding``, device ``d`` draws share ``d`` (one program for all) and the arrays
    are the devices' padded shares end to end, the counts one per device."""
    n_pre, n_post = pre_pos.shape[0], post_pos.shape[0]
    # the pairs' keep-or-not draws, the hits' places and the host's hit counts: eight words
    words = np.asarray(jax.random.bits(key, (8,), jnp.uint32))
    seg = layout.segments(host_post, bound_fn)
    # hits per thinned segment: Poisson(rate x count), drawn on the host (they size the arrays)
    rng = host_rng(words[4:])
    arrivals = np.where(seg.enumerated, seg.count, rng.poisson(seg.rate * seg.count))
    used = np.nonzero(arrivals)[0]
    arrivals = arrivals[used]
    if int(arrivals.sum()) >= 2**31 - 2 * _BLOCK:
        raise ValueError(
            f"distance_probability: {int(arrivals.sum())} candidate visits would overflow int32 indices; build the "
            "network in parts (fewer post neurons per call)"
        )
    post_of_run = seg.post[used]
    runs = [(0, used.shape[0])] if post_ranges is None else [np.searchsorted(post_of_run, r) for r in post_ranges]
    # one sort over every visit: a capacity class within 1/8 of the visits (a power of two could double the sort)
    capacity = fine_capacity(max(int(arrivals[lo:hi].sum()) for lo, hi in runs))
    n_seg = _pow2(max(hi - lo for lo, hi in runs), 8)
    padding = capacity + _BLOCK  # past every arrival: unused segments own none

    def share(lo, hi):
        mine, counts = used[lo:hi], arrivals[lo:hi]
        start = np.cumsum(counts) - counts
        return (
            np.int32(arrivals[:lo].sum()),
            np.int32(counts.sum()),
            np.concatenate([start, np.full(n_seg - mine.shape[0], padding)]).astype(np.int32),
            _padded(seg.post[mine], n_seg, np.int32),
            _padded(seg.first[mine], n_seg, np.int32),
            _padded(seg.count[mine], n_seg, np.int32),
            _padded(seg.q[mine], n_seg, np.float32),
        )

    order = layout.pre_order
    replicated = (
        jnp.asarray(words[:2]),
        jnp.asarray(words[2:4]),
        padded_positions(pre_pos, _pow2(n_pre, 8), order),
        jnp.asarray(_padded(order, _pow2(n_pre, 8), np.int32)),
        padded_positions(post_pos, _pow2(n_post, 8)),
        box,
        profile[0],
        np.int32(n_post),
    )
    static = dict(capacity=capacity, static=profile[1], unit=unit, skip_diagonal=skip_diagonal,
                  packed=packable(n_pre, n_post))  # fmt: skip
    shares = [share(lo, hi) for lo, hi in runs]
    if out_sharding is not None:
        return on_each_device(_thinned_share, shares, replicated, static, out_sharding)
    (mine,) = shares
    pre, post, count = _thinned_share(*mine, *replicated, **static)
    return pre, post, int(count)


def _thinned_share(first_arrival, n_arrivals, *rest, **static):
    """:func:`_thinned_loop` with a share's operands first (see :func:`on_each_device`)."""
    *segments, pair_seed, hit_seed, pre_pos, pre_id, post_pos, box, leaves, n_post = rest
    return _thinned_loop(
        pair_seed, hit_seed, first_arrival, n_arrivals, *segments, pre_pos, pre_id, post_pos, box, leaves, n_post,
        **static,
    )  # fmt: skip

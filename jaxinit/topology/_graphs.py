"""Lattices and graph models: rings, grids, small-world, scale-free, regular and block networks.

The lattices (:func:`ring`, :func:`grid`) are deterministic. The graph models draw
exactly what they promise: no autapse, no repeated pair, and the degrees or counts the
model fixes. Repeats are removed by redrawing them (the draws are exchangeable, so the
result has the law of a draw that never repeats), never by dropping synapses.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit.topology._checks import check_count, check_size
from jaxinit.topology._connectivity import Connectivity, empty
from jaxinit.topology._counts import pairwise_bernoulli
from jaxinit.topology._memory import check_memory
from jaxinit.topology._sampling import (
    MAX_ROUNDS,
    bounded_while,
    capacity_for,
    check_ok,
    packable,
    padded_within,
    sort_valid_pairs,
    trim,
)

_NEIGHBORHOODS = ("von_neumann", "moore")


# --- ring lattices ------------------------------------------------------------------------


def _interval(pre, n, k, bidirectional):
    """The cyclic interval of ``pre``'s ring neighbours: ``(start, wrapped, self_rank)``.

    The interval is ``[start, start + length)`` modulo ``n`` (``length = 2k + 1`` around
    ``pre`` when bidirectional, else the ``k`` after it); in sorted order its first
    ``wrapped`` values are ``0 .. wrapped - 1`` and the rest ``start, start + 1, ...``;
    ``self_rank`` is where ``pre`` itself sits in that order (bidirectional only).
    """
    length = 2 * k + 1 if bidirectional else k
    start = (pre - k) % n if bidirectional else (pre + 1) % n
    wrapped = jnp.maximum(length - (n - start), 0)  # no int32 overflow for any n < 2**31
    self_rank = jnp.where(pre < wrapped, pre, wrapped + (pre - start))
    return start, wrapped, self_rank


@functools.partial(jax.jit, static_argnames=("capacity", "bidirectional"))
def _ring_pairs(n, k, *, capacity, bidirectional):
    """Pre ``i // per`` onto its ``j = i % per``-th ring neighbour in sorted order, for the
    first ``n · per`` slots (``per = 2k`` or ``k``). Sizes are traced: one program per
    capacity class."""
    n = jnp.maximum(n, 1)
    per = jnp.maximum(2 * k if bidirectional else k, 1)
    i = jnp.arange(capacity, dtype=jnp.int32)
    pre, j = i // per, i % per
    start, wrapped, self_rank = _interval(pre, n, k, bidirectional)
    if bidirectional:
        j = j + (j >= self_rank).astype(jnp.int32)  # skip pre itself
    post = jnp.where(j < wrapped, j, start + (j - wrapped))
    return pre, post


def _ring_limit(name: str, n: int, k: int, per_side: str, bidirectional: bool) -> None:
    limit = max((n - 1) // 2 if bidirectional else n - 1, 0)
    if k > limit:
        rule = "(n - 1) // 2" if bidirectional else "n - 1"
        raise ValueError(
            f"{name}: {per_side} must be <= {rule} = {limit} for n={n} (the neighbours must be distinct "
            f"neurons other than the neuron itself), got {k}"
        )


def ring(n: int, k: int, bidirectional: bool = True) -> Connectivity:
    """Each neuron onto its ``k`` nearest neighbours per side on a ring.

    Neuron ``i`` connects to ``i ± 1, ..., i ± k`` (modulo ``n``); with
    ``bidirectional=False`` to ``i + 1, ..., i + k`` only. Deterministic (no key). The
    pairs are computed in closed form by one program per capacity class of the synapse
    count (sizes enter as traced values). Memory: 8 bytes per synapse, padded to the
    capacity class.

    Args:
      n: number of neurons.
      k: neighbours per side.
      bidirectional: both sides (``2k`` synapses per neuron) or the forward side only (``k``).

    Returns:
      A :class:`Connectivity` of ``n · 2k`` (or ``n · k``) synapses, sorted, distinct, no autapses.

    Raises:
      TypeError: ``n`` or ``k`` not an int.
      ValueError: negative sizes, or ``k > (n - 1) // 2`` (bidirectional) or ``k > n - 1``
        (forward only): the neighbours would repeat or include the neuron itself.
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> conn = ring(5, 1)
      >>> list(zip(conn.pre.tolist(), conn.post.tolist()))[:4]
      [(0, 1), (0, 4), (1, 0), (1, 2)]
      >>> ring(5, 2, bidirectional=False).post.tolist()[:4]
      [1, 2, 2, 3]
    """
    name = "ring"
    n = check_size(name, "n", n)
    k = check_size(name, "k", k)
    _ring_limit(name, n, k, "k", bidirectional)
    nnz = check_count(name, n * (2 * k if bidirectional else k))
    check_memory(name, capacity_for(nnz), "fixed_outdegree")
    if nnz == 0:
        return empty(n, n)
    arrays = _ring_pairs(np.int32(n), np.int32(k), capacity=capacity_for(nnz), bidirectional=bidirectional)
    pre, post = trim(arrays, nnz)
    return Connectivity(pre, post, n_pre=n, n_post=n)


# --- grids ----------------------------------------------------------------------------------


def _grid_offsets(ndim: int, neighborhood: str) -> np.ndarray:
    if neighborhood == "von_neumann":
        eye = np.eye(ndim, dtype=np.int64)
        return np.concatenate([-eye, eye]) if ndim else np.zeros((0, 0), np.int64)
    offsets = np.array(list(itertools.product((-1, 0, 1), repeat=ndim)), np.int64).reshape(-1, ndim)
    return offsets[np.any(offsets != 0, axis=1)]


def grid(shape: Sequence[int], neighborhood: str = "von_neumann", periodic: bool = False) -> Connectivity:
    """Each site of a lattice onto its nearest neighbours, sites numbered in row-major order.

    ``"von_neumann"``: the ``2 · ndim`` sites one step along an axis; ``"moore"``: the
    ``3**ndim - 1`` sites differing by at most one along every axis (the 8 around a
    site in 2-D). Without ``periodic``, neighbours past an edge are missing; with it the
    lattice wraps around (a torus), and along an axis of length 1 or 2 a neighbour
    reached twice is one synapse, never an autapse. Deterministic; computed on the device
    (one program per shape: each site's neighbours by arithmetic on its coordinates), or
    on the host with NumPy when a periodic axis is shorter than 3.

    Args:
      shape: the lattice's size along each axis (any number of axes).
      neighborhood: ``"von_neumann"`` or ``"moore"``.
      periodic: wrap around every axis.

    Returns:
      A :class:`Connectivity` over ``prod(shape)`` neurons, sorted, distinct, no autapses.

    Raises:
      TypeError: a size that is not an int.
      ValueError: negative sizes, more than ``2**31 - 1`` sites, or an unknown ``neighborhood``.
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> conn = grid((2, 3))
      >>> conn.out_degree().tolist()
      [2, 3, 2, 2, 3, 2]
      >>> grid((3, 3), "moore", periodic=True).nnz
      72
    """
    name = "grid"
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    shape = tuple(check_size(name, f"shape[{axis}]", size) for axis, size in enumerate(shape))
    if neighborhood not in _NEIGHBORHOODS:
        raise ValueError(f"{name}: neighborhood must be 'von_neumann' or 'moore', got {neighborhood!r}")
    n = check_size(name, "prod(shape)", math.prod(shape))
    offsets = _grid_offsets(len(shape), neighborhood)
    check_memory(name, check_count(name, n * len(offsets)), "distance_topology")
    if n == 0 or len(offsets) == 0:
        return empty(n, n)
    if not periodic or min(shape) >= 3:  # no neighbour reached twice, none the site itself
        spans = np.maximum(np.asarray(shape, np.int64)[None] - np.abs(offsets), 0)
        count = n * len(offsets) if periodic else int(np.prod(spans, axis=1).sum())
        if count == 0:
            return empty(n, n)
        pre, post = _grid_pairs(shape, tuple(map(tuple, offsets.tolist())), bool(periodic), check_count(name, count))
        return Connectivity(pre, post, n_pre=n, n_post=n)
    sizes = np.array(shape, np.int64)
    coords = np.stack(np.unravel_index(np.arange(n, dtype=np.int64), shape), axis=1)  # (n, ndim)
    posts = []
    for offset in offsets:
        moved = coords + offset
        inside = np.all((moved >= 0) & (moved < sizes), axis=1)
        moved = moved % sizes
        index = np.ravel_multi_index(tuple(moved.T), shape)
        posts.append(np.where(inside | periodic, index, -1))
    post = np.sort(np.stack(posts, axis=1), axis=1)  # (n, offsets), missing (-1) first
    pre = np.broadcast_to(np.arange(n, dtype=np.int64)[:, None], post.shape)
    repeated = np.concatenate([np.zeros((n, 1), bool), post[:, 1:] == post[:, :-1]], axis=1)
    keep = (post >= 0) & (post != pre) & ~repeated
    pre, post = pre[keep].astype(np.int32), post[keep].astype(np.int32)
    return Connectivity(jax.device_put(pre), jax.device_put(post), n_pre=n, n_post=n)


def _blocks_within(name, keys, sizes, offsets, probabilities, capacity) -> Connectivity:
    """:func:`stochastic_block` in ``capacity`` slots: each block pair's padded draw offset,
    all merged by one sort (padding last), the total checked against the capacity."""
    blocks, n = len(sizes), offsets[-1]
    pres, posts, counts = [], [], []
    for bi, bj in itertools.product(range(blocks), range(blocks)):
        n_post = None if bi == bj else sizes[bj]
        part = pairwise_bernoulli(keys[bi * blocks + bj], sizes[bi], n_post, p=float(probabilities[bi, bj]),
                                  capacity=capacity)  # fmt: skip
        kept = part.pre < sizes[bi]
        pres.append(jnp.where(kept, part.pre + offsets[bi], n))
        posts.append(jnp.where(kept, part.post + offsets[bj], n))
        counts.append(jnp.sum(kept, dtype=jnp.int32))
    pre, post = jnp.concatenate(pres), jnp.concatenate(posts)
    valid = pre < n
    pre, post = sort_valid_pairs(pre, post, valid, jnp.int32(n + 1) if packable(n + 1, n + 1) else None)
    pre, post = padded_within(name, pre[:capacity], post[:capacity], sum(counts), True, n, n)
    return Connectivity(pre, post, n_pre=n, n_post=n)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _grid_pairs(shape, offsets, periodic, count):
    """The lattice's ``count`` synapses on the device, when no neighbour is reached twice:
    each site's neighbours by arithmetic on its coordinates, sorted within the site's row
    (a missing neighbour is ``n``, sorted last), the missing ones dropped."""
    n = math.prod(shape)
    strides = [math.prod(shape[a + 1 :]) for a in range(len(shape))]
    site = jnp.arange(n, dtype=jnp.int32)
    coords = [(site // stride) % size for stride, size in zip(strides, shape, strict=True)]
    posts = []
    for offset in offsets:
        inside, index = jnp.ones(n, bool), jnp.zeros(n, jnp.int32)
        for coord, step, stride, size in zip(coords, offset, strides, shape, strict=True):
            moved = coord + step
            if not periodic:
                inside = inside & (moved >= 0) & (moved < size)
            index = index + jnp.remainder(moved, size) * stride
        posts.append(jnp.where(inside, index, n))
    post = jnp.sort(jnp.stack(posts, axis=1), axis=1).reshape(-1)
    if periodic:  # every neighbour present
        return jnp.repeat(site, len(offsets), total_repeat_length=count), post
    (kept,) = jnp.nonzero(post < n, size=count)
    return (kept // len(offsets)).astype(jnp.int32), post[kept]


# --- small-world ----------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnums=(2, 3))
def _small_world_targets(key, p, n, k):
    """``(n, k)`` sorted targets per neuron: the ring lattice's ``k/2`` per side, each
    replaced with probability ``p`` by a uniform neuron that is neither the neuron itself
    nor one of its kept lattice targets, the replacements distinct (repeats redrawn)."""
    half = k // 2
    rows = jnp.arange(n, dtype=jnp.int32)[:, None]
    _, lattice = _ring_pairs(np.int32(n), np.int32(half), capacity=n * k, bidirectional=True)
    lattice = lattice.reshape(n, k)
    key_mask, key_draws = jax.random.split(key)
    rewired = jax.random.bernoulli(key_mask, p, (n, k))
    slots = jnp.broadcast_to(jnp.arange(k, dtype=jnp.int32), (n, k))

    def draw(key):
        values = jax.random.randint(key, (n, k), 0, n - 1, dtype=jnp.int32)
        return values + (values >= rows).astype(jnp.int32)  # never the neuron itself

    def mark(values):
        # a replacement is bad when it equals a kept target or an earlier replacement: sorted
        # by (value, replaced), a kept target comes first among equal values
        sorted_values, sorted_rewired, sorted_slots = lax.sort((values, rewired, slots), dimension=1, num_keys=2)
        same = jnp.concatenate([jnp.zeros((n, 1), bool), sorted_values[:, 1:] == sorted_values[:, :-1]], axis=1)
        bad = jnp.zeros((n, k), bool).at[rows, sorted_slots].set(same & sorted_rewired)
        return bad

    def redraw(state):
        key, values, bad = state
        key, key_new = jax.random.split(key)
        values = jnp.where(bad, draw(key_new), values)
        return key, values, mark(values)

    key, key_first = jax.random.split(key_draws)
    values = jnp.where(rewired, draw(key_first), lattice)
    # a draw is refused with probability <= (k - 1) / (n - 1) <= 1/2 (k <= (n + 1) / 2)
    _, values, bad = bounded_while(lambda s: jnp.any(s[2]), redraw, (key, values, mark(values)))
    return jnp.sort(values, axis=1).reshape(-1), ~jnp.any(bad)


def small_world(key: ArrayLike, n: int, k: int, p: float) -> Connectivity:
    """Directed Watts–Strogatz small-world network: a rewired ring lattice.

    Start from the ring lattice with ``k/2`` neighbours per side (:func:`ring`); each of
    its ``n · k`` synapses keeps its target with probability ``1 - p`` and otherwise has
    it replaced (independently) by a uniform neuron that is neither the neuron itself
    nor one of its kept lattice targets nor another replacement: given how many of a
    neuron's ``k`` synapses are rewired, ``r``, its replacements are a uniform
    ``r``-subset of the ``n - 1 - (k - r)`` allowed neurons (a replacement may land on
    a lattice target that was itself rewired away). Out-degrees stay exactly ``k``;
    ``p = 0`` is the ring lattice and ``p = 1`` a uniform ``k``-out random graph.
    Replacements are drawn for all neurons at once and repeats redrawn (exchangeable
    draws, so the subset is uniform). Runs under ``jit`` and ``vmap`` (the count is
    fixed); one program per ``(n, k)``.

    Args:
      key: a PRNG key.
      n: number of neurons.
      k: lattice neighbours in all, ``k/2`` per side (even).
      p: rewiring probability, in [0, 1].

    Returns:
      A :class:`Connectivity` of ``n · k`` synapses, sorted, distinct, no autapses.

    Raises:
      TypeError: ``n`` or ``k`` not an int, ``p`` not a number.
      ValueError: odd ``k``; ``k > n - 1`` (the lattice needs ``k`` distinct neighbours);
        ``k > (n + 1) / 2`` when ``p > 0`` (a replacement is drawn by rejection and must
        be accepted with probability at least 1/2); ``p`` outside [0, 1].
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> import jax
      >>> conn = small_world(jax.random.key(0), 100, 4, 0.1)
      >>> conn.nnz, conn.out_degree().min().item(), bool((conn.pre != conn.post).all())
      (400, 4, True)
      >>> bool((small_world(jax.random.key(0), 10, 4, 0.0).post == ring(10, 2).post).all())
      True
    """
    name = "small_world"
    n = check_size(name, "n", n)
    k = check_size(name, "k", k)
    if k % 2:
        raise ValueError(f"{name}: k must be even (k/2 neighbours per side), got {k}")
    _core.validate(name, {"p": p}, {"p": _core.PROBABILITY})
    _ring_limit(name, n, k // 2, "k / 2", True)
    may_rewire = _core.is_traced(p) or float(p) > 0
    if may_rewire and 2 * k > n + 1:
        raise ValueError(
            f"{name}: k must be <= (n + 1) / 2 = {(n + 1) / 2:g} when p > 0 (rewired targets are drawn by "
            f"rejection among the other neurons), got k={k} for n={n}"
        )
    nnz = check_count(name, n * k)
    check_memory(name, nnz, "distance_topology")
    key = _core.check_key(name, key)
    if nnz == 0:
        return empty(n, n)
    post, ok = _small_world_targets(key, jnp.asarray(p, jnp.float32), n, k)
    check_ok(name, ok)
    pre = jnp.repeat(jnp.arange(n, dtype=jnp.int32), k, total_repeat_length=nnz)
    return Connectivity(pre, post, n_pre=n, n_post=n)


# --- scale-free -----------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnums=(1, 2))
def _preferential_targets(key, n, m):
    """Targets of the ``m (n - m)`` undirected edges of a Barabási–Albert graph.

    Edge ``e`` has two endpoint slots, ``2e`` (its source) and ``2e + 1`` (its target).
    The seed is a star: edge ``e < m`` joins leaf ``e + 1`` to the centre 0. Neuron
    ``t > m`` owns edges ``m (t - m) .. m (t - m + 1) - 1`` and picks each target as the
    neuron at a uniform slot among the ``2 m (t - m)`` slots before its own, that is
    with probability proportional to degree (Batagelj–Brandes); repeats among its ``m``
    targets are redrawn until they are distinct. Sources are arithmetic, so only targets
    are stored, and one scan over the neurons resolves each target from earlier ones.
    """
    n_edges = m * (n - m)

    def source(edge):
        return jnp.where(edge < m, edge + 1, m + 1 + (edge - m) // m)

    def attach(targets, t):
        first = m * (t - m)

        def at(slot):
            edge = slot // 2
            return jnp.where(slot % 2 == 0, source(edge), targets[edge])

        def draw(key):
            return at(jax.random.randint(key, (m,), 0, 2 * first, dtype=jnp.int32))

        def sort_and_mark(values):
            values = jnp.sort(values)
            return values, jnp.concatenate([jnp.zeros(1, bool), values[1:] == values[:-1]])

        def redraw(state):
            rounds, key, values, repeated = state
            key, key_new = jax.random.split(key)
            return (rounds + 1, key, *sort_and_mark(jnp.where(repeated, draw(key_new), values)))

        key_t, key_first = jax.random.split(jax.random.fold_in(key, t))
        # the slowest node is the first one (m of the m + 1 star nodes, a leaf drawn with
        # probability 1/(2m)): 64 m extra rounds fail with probability < e**-32
        limit = MAX_ROUNDS + 64 * m
        state = (jnp.int32(0), key_t, *sort_and_mark(draw(key_first)))
        rounds, _, values, repeated = lax.while_loop(lambda s: jnp.any(s[3]) & (s[0] < limit), redraw, state)
        return lax.dynamic_update_slice(targets, values, (first,)), ~jnp.any(repeated)

    targets, ok = lax.scan(attach, jnp.zeros(n_edges, jnp.int32), jnp.arange(m + 1, n, dtype=jnp.int32))
    sources = source(jnp.arange(n_edges, dtype=jnp.int32))
    pre, post = lax.sort((jnp.concatenate([sources, targets]), jnp.concatenate([targets, sources])), num_keys=2)
    return pre, post, jnp.all(ok)


def scale_free(key: ArrayLike, n: int, m: int) -> Connectivity:
    """Barabási–Albert preferential attachment: a scale-free network, degree tail ∝ d⁻³.

    The seed is a star of ``m + 1`` neurons (neuron 0 joined to ``1 .. m``, as in
    ``networkx.barabasi_albert_graph``); each later neuron ``t = m + 1, ..., n - 1``
    joins ``m`` distinct earlier neurons, each drawn with probability proportional to
    its degree at that time, a repeat redrawn (the first ``m`` distinct draws, as
    networkx does). Each undirected edge is two synapses, one each way, so the graph
    has ``2 m (n - m)`` synapses and every neuron's in- and out-degree are equal.

    Targets are drawn with the Batagelj–Brandes edge-list trick (a uniform endpoint
    slot is a degree-weighted neuron), all at once; they are resolved by one
    ``lax.scan`` over the neurons, each step O(m), because a slot may hold the target of
    an earlier step. Runs under ``jit`` and ``vmap``; one program per ``(n, m)``.

    Args:
      key: a PRNG key.
      n: number of neurons.
      m: edges each new neuron makes (``0 <= m < n``; ``m = 0`` gives no synapse).

    Returns:
      A :class:`Connectivity` of ``2 m (n - m)`` synapses, sorted, distinct, no autapses,
      symmetric (``(i, j)`` present iff ``(j, i)`` is).

    Raises:
      TypeError: ``n`` or ``m`` not an int.
      ValueError: negative sizes, ``m >= n`` (the seed needs ``m + 1`` neurons), or more
        than ``2**31 - 1`` synapses.
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> import jax
      >>> conn = scale_free(jax.random.key(0), 100, 2)
      >>> conn.nnz, conn.out_degree().min().item(), bool((conn.in_degree() == conn.out_degree()).all())
      (392, 2, True)
    """
    name = "scale_free"
    n = check_size(name, "n", n)
    m = check_size(name, "m", m)
    if m >= n:
        raise ValueError(f"{name}: m must be < n={n} (the seed star has m + 1 neurons), got {m}")
    nnz = check_count(name, 2 * m * (n - m))
    check_memory(name, nnz, "distance_topology")
    key = _core.check_key(name, key)
    if nnz == 0:
        return empty(n, n)
    pre, post, ok = _preferential_targets(key, n, m)
    check_ok(name, ok)
    return Connectivity(pre, post, n_pre=n, n_post=n)


# --- regular digraphs -------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnums=(1, 2))
def _regular_targets(key, n, k):
    """``(n, k)`` sorted targets: a uniform matching of ``k`` in-stubs per neuron to ``k``
    out-stubs per neuron (the configuration model), whose autapses and repeated pairs are
    repaired by swapping targets with uniformly chosen other synapses until none is left."""
    nnz = n * k
    index = jnp.arange(nnz, dtype=jnp.int32)
    pre = index // k
    key_stubs, key = jax.random.split(key)
    post = jax.random.permutation(key_stubs, index // k)

    def mark(post):
        sorted_pre, sorted_post, order = lax.sort((pre, post, index), num_keys=2)
        same = (sorted_pre[1:] == sorted_pre[:-1]) & (sorted_post[1:] == sorted_post[:-1])
        repeated = jnp.concatenate([jnp.zeros(1, bool), same])
        return jnp.zeros(nnz, bool).at[order].set(repeated | (sorted_pre == sorted_post))

    def repair(state):
        key, post, bad = state
        key, key_partner = jax.random.split(key)
        partner = jax.random.randint(key_partner, (nnz,), 0, nnz, dtype=jnp.int32)
        # a synapse takes part in one swap at most: a partner goes to its lowest-numbered
        # claimant, and a bad synapse that is itself claimed waits for the next round
        owner = jnp.full(nnz, nnz, jnp.int32).at[partner].min(jnp.where(bad, index, nnz))
        swap = bad & (owner[partner] == index) & (owner == nnz)
        swapped = jnp.where(swap, post[partner], post).at[jnp.where(swap, partner, nnz)].set(post, mode="drop")
        return key, swapped, mark(swapped)

    _, post, bad = _bounded_repair(repair, (key, post, mark(post)))
    return jnp.sort(post.reshape(n, k), axis=1), ~jnp.any(bad)


def _bounded_repair(repair, state):
    """Repair rounds until no bad synapse is left, at most ``16 · MAX_ROUNDS``."""

    def body(carry):
        rounds, state = carry
        return rounds + 1, repair(state)

    _, state = lax.while_loop(lambda c: jnp.any(c[1][2]) & (c[0] < 16 * MAX_ROUNDS), body, (jnp.int32(0), state))
    return state


@functools.partial(jax.jit, static_argnums=(1, 2))
def _complement_rows(excluded, n, k):
    """Per row, the ``k`` values of ``[0, n)`` not in the sorted row ``excluded`` (``n - k``
    of them, distinct): the ``j``-th kept value is ``j + #{q : excluded[q] - q <= j}``."""
    shifted = excluded - jnp.arange(excluded.shape[1], dtype=jnp.int32)[None, :]
    kept = jnp.arange(k, dtype=jnp.int32)
    return kept[None, :] + jax.vmap(lambda row: jnp.searchsorted(row, kept, side="right").astype(jnp.int32))(shifted)


def regular(key: ArrayLike, n: int, k: int) -> Connectivity:
    """A random ``k``-regular digraph: every neuron has in-degree and out-degree exactly ``k``.

    No autapses, no repeated pairs. The law: the configuration model (each neuron's
    ``k`` out-stubs matched to a uniform permutation of all ``n · k`` in-stubs) repaired
    by random switches: a synapse that is an autapse or a repeat swaps its target with a
    uniformly chosen other synapse, which keeps every degree, until none is left. A
    configuration-model draw that happens to be simple is exactly uniform over
    ``k``-regular digraphs; the repairs (a draw has about ``k`` autapses and ``k²/2``
    repeated pairs) bias the law, so it is close to, but **not exactly**, uniform over
    ``k``-regular digraphs (measured on the smallest cases, 1-regular on 4 and 2-regular
    on 5 neurons: frequencies within ±35% of uniform); the bias fades as ``k²/n → 0``.
    When ``k > (n - 1) / 2`` the graph is the complement (without autapses) of an
    ``(n - 1 - k)``-regular one drawn this way. Runs under ``jit`` and ``vmap`` (the
    count is fixed); one program per ``(n, k)``.

    Args:
      key: a PRNG key.
      n: number of neurons.
      k: the in- and out-degree of every neuron.

    Returns:
      A :class:`Connectivity` of ``n · k`` synapses, sorted, distinct, no autapses.

    Raises:
      TypeError: ``n`` or ``k`` not an int.
      ValueError: negative sizes, or ``k > n - 1`` (a neuron has only ``n - 1`` partners).
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> import jax
      >>> conn = regular(jax.random.key(0), 50, 3)
      >>> conn.nnz, set(conn.in_degree().tolist()), set(conn.out_degree().tolist())
      (150, {3}, {3})
    """
    name = "regular"
    n = check_size(name, "n", n)
    k = check_size(name, "k", k)
    if k > max(n - 1, 0):
        raise ValueError(f"{name}: k must be <= n - 1 = {n - 1} (no autapses, no repeated pairs), got {k}")
    nnz = check_count(name, n * k)
    check_memory(name, nnz, "distance_topology", extra=16 * nnz, extra_what="the repair's sorts")
    key = _core.check_key(name, key)
    if nnz == 0:
        return empty(n, n)
    sparse_k = min(k, n - 1 - k)
    if sparse_k == 0:
        sparse = jnp.zeros((n, 0), jnp.int32)
        ok = True
    else:
        sparse, ok = _regular_targets(key, n, sparse_k)
        check_ok(name, ok)
    if sparse_k == k:
        post = sparse.reshape(-1)
    else:
        rows = jnp.arange(n, dtype=jnp.int32)[:, None]
        excluded = jnp.sort(jnp.concatenate([sparse, rows], axis=1), axis=1)
        post = _complement_rows(excluded, n, k).reshape(-1)
    pre = jnp.repeat(jnp.arange(n, dtype=jnp.int32), k, total_repeat_length=nnz)
    return Connectivity(pre, post, n_pre=n, n_post=n)


# --- stochastic block model -------------------------------------------------------------------


def stochastic_block(key: ArrayLike, sizes: Sequence[int], p: Any, *, capacity: int | None = None) -> Connectivity:
    """The stochastic block model: pair ``(i, j)`` a synapse with probability ``p[bi][bj]``.

    Neurons are laid out block after block (block ``b`` holds ``sizes[b]`` neurons);
    every pair from block ``bi`` to block ``bj`` is a synapse independently with
    probability ``p[bi][bj]`` (no autapses). Each block pair is one
    :func:`pairwise_bernoulli` draw, offset and merged into ``(pre, post)`` order on the
    host; its count is Binomial and drawn eagerly, so the key must be concrete (not
    under ``jit``/``vmap``), unless a static ``capacity`` is given.

    Modular, hierarchical and core–periphery networks are special cases, e.g. (``a``
    dense, ``b`` sparse)::

      modular:         p = [[a, b, b], [b, a, b], [b, b, a]]
      hierarchical:    p = [[a, m, b, b], [m, a, b, b], [b, b, a, m], [b, b, m, a]]  (b < m < a)
      core-periphery:  p = [[a, m], [m, b]]  (the core is block 0)

    Args:
      key: a concrete PRNG key.
      sizes: the neurons in each block (ints).
      p: a ``(blocks, blocks)`` nested sequence or array of probabilities in [0, 1].
      capacity: a static length for the arrays, which makes the build work under ``jit``
        and ``vmap`` (a traced key): every block pair drawn by
        ``pairwise_bernoulli(capacity=capacity)`` on the device, merged by one sort, the
        synapses then padding pairs ``(n, n)`` (see :func:`pairwise_bernoulli`); a total
        above ``capacity`` raises. Memory while building: ``blocks² · capacity`` pairs.

    Returns:
      A :class:`Connectivity` over ``sum(sizes)`` neurons, sorted, distinct, no autapses.

    Raises:
      TypeError: a size that is not an int, a traced key or ``p``.
      ValueError: negative sizes, ``p`` not of shape ``(blocks, blocks)``, or entries
        outside [0, 1].
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> import jax
      >>> conn = stochastic_block(jax.random.key(0), [30, 20], [[0.5, 0.0], [0.1, 0.9]])
      >>> dense = conn.to_dense()
      >>> int(dense[:30, 30:].sum()), int(dense[30:, :30].sum()) > 0, conn.n_pre
      (0, True, 50)
    """
    name = "stochastic_block"
    if isinstance(sizes, (int, np.integer)) or not isinstance(sizes, Sequence):
        raise TypeError(f"{name}: sizes must be a sequence of ints (neurons per block), got {sizes!r}")
    sizes = [check_size(name, f"sizes[{b}]", size) for b, size in enumerate(sizes)]
    if _core.is_traced(p):
        raise TypeError(f"{name}: p must be concrete (it sets each block's count law), not a traced value")
    probabilities = np.asarray(p, dtype=np.float64) if not isinstance(p, jax.Array) else np.asarray(p)
    blocks = len(sizes)
    if probabilities.shape != (blocks, blocks):
        raise ValueError(
            f"{name}: p must have shape (blocks, blocks) = ({blocks}, {blocks}) for {blocks} sizes, "
            f"got shape {probabilities.shape}"
        )
    _core.validate(name, {"p": probabilities}, {"p": _core.PROBABILITY})
    n = check_size(name, "sum(sizes)", sum(sizes))
    key = _core.check_key(name, key)
    offsets = np.cumsum([0, *sizes]).tolist()
    keys = jax.random.split(key, blocks * blocks)
    if capacity is not None:
        capacity = check_size(name, "capacity", capacity, 1)
        check_memory(name, blocks * blocks * capacity, "fixed_indegree")
        return _blocks_within(name, keys, sizes, offsets, probabilities, capacity)
    pres, posts = [], []
    for bi, bj in itertools.product(range(blocks), range(blocks)):
        n_post = None if bi == bj else sizes[bj]
        part = pairwise_bernoulli(keys[bi * blocks + bj], sizes[bi], n_post, p=float(probabilities[bi, bj]))
        pres.append(np.asarray(part.pre) + np.int32(offsets[bi]))
        posts.append(np.asarray(part.post) + np.int32(offsets[bj]))
    pre, post = np.concatenate(pres), np.concatenate(posts)
    check_count(name, pre.size)
    if pre.size == 0:
        return empty(n, n)
    # block rows come in pre order, and within a block row the blocks in post order: a
    # stable sort by pre alone gives (pre, post) order. Merged on the host: the count is
    # random, and a device program would compile once per count
    order = np.argsort(pre, kind="stable")
    pre, post = jax.device_put(pre[order]), jax.device_put(post[order])
    return Connectivity(pre, post, n_pre=n, n_post=n)

"""Random and degree rules: a fixed total number of synapses, fixed in- and out-degrees."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit.topology._checks import check_concrete, check_count, check_size
from jaxinit.topology._connectivity import Connectivity, empty
from jaxinit.topology._counts import (
    degree_partners_program,
    multapse_degree_pairs,
    multapse_pairs,
    row_blocks,
    row_starts,
    sharded_multapse_pairs,
    subset_pairs,
)
from jaxinit.topology._memory import check_memory
from jaxinit.topology._sampling import (
    DEFAULT_BLOCK,
    capacity_for,
    distinct_per_row,
    fill,
    host_rng,
    packable,
    to_pre_major,
    trim,
)
from jaxinit.topology._shard import (
    check_out_sharding,
    connectivity_from_blocks,
    devices,
    sharded,
    sharded_fill,
    sharded_to_pre_major,
    slice_length,
)


def _syn_count(name: str, allowed: int, n_syn: Any, p: Any, multapses: bool = False) -> int:
    if (n_syn is None) == (p is None):
        raise ValueError(f"{name}: give exactly one of n_syn (a count) or p (a probability)")
    if p is not None:
        check_concrete(name, "p", p, "the synapse count")
        _core.validate(name, {"p": p}, {"p": _core.PROBABILITY})
        return check_count(name, round(float(p) * allowed))
    n_syn = check_size(name, "n_syn", n_syn)
    if multapses:
        if n_syn > 0 and allowed == 0:
            raise ValueError(f"{name}: n_syn={n_syn:,} synapses were asked for but there is no allowed pair")
        return n_syn
    if n_syn > allowed:
        raise ValueError(f"{name}: n_syn must be <= the {allowed:,} allowed pairs, got {n_syn:,}")
    return n_syn


def _multapse_row_blocks(key, n_pre: int, n_cols: int, k: int, skip_diagonal: bool, block: int):
    """``k`` uniform pairs with replacement over a grid whose pairs do not pack into 32 bits, in
    blocks of rows (see :func:`~jaxinit.topology._counts.row_blocks`): a block's pairs pack
    (XLA's CPU sort of two arrays is ~30x slower than of one) and about ``block`` are expected
    in it; the counts are one exact multinomial draw (on the host, from the key)."""
    rows_per_block = max(1, min((2**32 - 2) // (n_cols + 1) - 1, int(block * n_pre / k)))
    starts, sizes = row_starts(n_pre, rows_per_block)
    counts = host_rng(jax.random.bits(key, (4,), jnp.uint32)).multinomial(k, sizes / n_pre)
    return row_blocks(multapse_pairs, key, n_cols, starts, sizes, counts, skip_diagonal)


def fixed_total_request(
    name: str, n_pre: Any, n_post: Any, n_syn: Any, p: Any, allow_autapse: bool, multapses: bool
) -> tuple[int, int, int, int, bool]:
    """A checked :func:`random_topology` request: ``(n_pre, n_post, n_cols, k,
    skip_diagonal)``, ``n_cols`` allowed posts per pre and ``k`` synapses."""
    n_pre = check_size(name, "n_pre", n_pre)
    recurrent = n_post is None
    n_post = n_pre if recurrent else check_size(name, "n_post", n_post)
    skip_diagonal = recurrent and not allow_autapse
    n_cols = n_post - 1 if skip_diagonal else n_post
    k = _syn_count(name, n_pre * max(n_cols, 0), n_syn, p, multapses)
    return n_pre, n_post, n_cols, k, skip_diagonal


def random_topology(
    key: ArrayLike,
    n_pre: int,
    n_post: int | None = None,
    *,
    n_syn: int | None = None,
    p: float | None = None,
    allow_autapse: bool = False,
    multapses: bool = False,
    block_size: int = DEFAULT_BLOCK,
    out_sharding: NamedSharding | None = None,
) -> Connectivity:
    """Exactly ``n_syn`` distinct synapses, uniform over all allowed pairs.

    Exact for every shape of pair space, including far more than 2³¹ pairs with x64
    off (sizes below 2³¹ each). Memory: about 9 B per synapse at the peak.

    With ``multapses=True``, ``n_syn`` independent uniform pairs instead (with
    replacement: NEST's ``fixed_total_number`` with ``allow_multapses``), so ``n_syn``
    may exceed the number of allowed pairs; a repeated pair is a multapse, adjacent in
    the sorted order. That draw runs in one compiled program per capacity class of
    ``n_syn`` (sizes traced, see :func:`~jaxinit.topology._sampling.capacity_for`); about
    12 bytes per padded slot while building.

    Args:
      key: a PRNG key.
      n_pre: number of presynaptic neurons.
      n_post: number of postsynaptic neurons; ``None`` for one recurrent population
        (then autapses ``pre == post`` are excluded unless ``allow_autapse``).
      n_syn: the number of synapses; or give
      p: the connection probability: ``n_syn = round(p · allowed pairs)``.
      allow_autapse: allow ``pre == post`` in a recurrent population.
      multapses: draw with replacement (repeated pairs allowed).
      block_size: elements drawn at once in the block-wise passes (bounds the
        temporaries; the law of the result does not depend on it, its bits do).
      out_sharding: a ``NamedSharding(mesh, PartitionSpec(axis))``: split the synapses
        over its devices, equal to the unsharded build (padding as in
        :func:`~jaxinit.topology.shard`). Distinct pairs (at least 1 in 10⁵ of the allowed
        pairs: the geometric-skip sampler) are drawn on the devices: the sampler's first
        pass (where each block of candidates starts, the surplus to remove) is repeated on
        each, then each writes only the blocks of its slice. With ``multapses``, each
        device draws a share of the pairs, then one exchange sorts them across the devices
        (each device counts its share by ranges of pairs, then sends every other one the
        pairs of its slice; memory per device about five slices); over more pairs than pack
        into 32 bits (the rows then go in blocks of about ``block_size`` synapses, each
        block's count from one multinomial draw), each device draws only the blocks of its
        slice. Rarer distinct pairs are built whole on one device, then placed.

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)``, without weights.

    Raises:
      TypeError: sizes that are not ints, or a traced ``p``.
      ValueError: sizes outside ``[0, 2**31)``, both or neither of ``n_syn``/``p``,
        ``p`` outside [0, 1], or ``n_syn`` above the number of allowed pairs (without
        multapses; with them, any ``n_syn`` when there is an allowed pair).
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> import jax
      >>> conn = random_topology(jax.random.key(0), 1000, p=0.1)
      >>> conn.nnz, bool((conn.pre != conn.post).all())
      (99900, True)
      >>> conn = random_topology(jax.random.key(0), 3, 2, n_syn=10, multapses=True)
      >>> conn.nnz, int(conn.to_dense().sum())
      (10, 10)
    """
    name = "random_topology"
    out_sharding = check_out_sharding(name, out_sharding)
    n_pre, n_post, n_cols, k, skip_diagonal = fixed_total_request(
        name, n_pre, n_post, n_syn, p, allow_autapse, multapses
    )
    block = check_size(name, "block_size", block_size, 1)
    key = _core.check_key(name, key)
    if multapses:
        if k == 0:
            return sharded(empty(n_pre, n_post), out_sharding)
        packed = packable(n_pre, n_cols + 1)
        if not packed and not _core.is_traced(key):  # blocks of rows, each device drawing its own
            check_memory(name, capacity_for(-(-k // (1 if out_sharding is None else devices(out_sharding)))))
            blocks = _multapse_row_blocks(key, n_pre, n_cols, k, skip_diagonal, block)
            return connectivity_from_blocks(blocks, n_pre, n_post, out_sharding)
        if out_sharding is not None:  # each device draws a share, then one exchange sorts them
            check_memory(name, capacity_for(slice_length(k, out_sharding)), "fixed_outdegree")
            pre, post = sharded_multapse_pairs(key, n_pre, n_post, n_cols, k, skip_diagonal, out_sharding)
            return Connectivity(pre, post, n_pre=n_pre, n_post=n_post, n_syn=k)
        capacity = capacity_for(k)
        check_memory(name, capacity, "fixed_outdegree")
        sizes = (np.int32(n_pre), np.int32(n_cols), np.int32(k))
        pairs = multapse_pairs(key, *sizes, capacity=capacity, skip_diagonal=skip_diagonal, packed=packed)
        pre, post = trim(pairs, k)
        return sharded(Connectivity(pre, post, n_pre=n_pre, n_post=n_post), out_sharding)
    return subset_pairs(name, key, n_pre, n_post, n_cols, k, skip_diagonal, block, out_sharding)


def _fixed_degree(name, key, n_pre, n_post, k, allow_autapse, block_size, by_post, multapses, out_sharding):
    out_sharding = check_out_sharding(name, out_sharding)
    n_pre = check_size(name, "n_pre", n_pre)
    recurrent = n_post is None
    n_post = n_pre if recurrent else check_size(name, "n_post", n_post)
    k = check_size(name, "k", k)
    block = check_size(name, "block_size", block_size, 1)
    skip_diagonal = recurrent and not allow_autapse
    n_rows, n_partners = (n_post, n_pre) if by_post else (n_pre, n_post)
    n_choices = n_partners - 1 if skip_diagonal else n_partners
    partner = "n_pre" if by_post else "n_post"
    if multapses and k > 0 and n_rows > 0 and n_choices == 0:
        raise ValueError(f"{name}: k={k} partners were asked for but there is no allowed partner")
    if not multapses and k > n_choices:
        rule = f"{partner} - 1 = {n_choices} (no autapses)" if skip_diagonal else f"{partner} = {n_choices}"
        raise ValueError(f"{name}: k must be <= {rule}, got {k}")
    nnz = check_count(name, n_rows * k)
    key = _core.check_key(name, key)
    if nnz == 0:
        return sharded(empty(n_pre, n_post), out_sharding)
    if multapses and packable(n_pre, n_post + 1):  # one size-generic draw, sorted as one packed key
        if out_sharding is not None:  # each device draws the rows of its slice
            check_memory(name, capacity_for(slice_length(nnz, out_sharding)), "fixed_outdegree")
            drawn = degree_partners_program(n_rows, n_choices, k, skip_diagonal, by_post, out_sharding)(key)
            drawn = tuple(jax.device_put(x, out_sharding) for x in drawn)
            pre, post = sharded_to_pre_major(drawn[0], nnz, n_pre, n_post, k, out_sharding) if by_post else drawn
            return Connectivity(pre, post, n_pre=n_pre, n_post=n_post, n_syn=nnz)
        capacity = capacity_for(nnz)
        check_memory(name, capacity, "fixed_outdegree")
        sizes = (np.int32(n_choices), np.int32(k), np.int32(nnz))
        arrays = multapse_degree_pairs(
            key, *sizes, capacity=capacity, skip_diagonal=skip_diagonal, by_post=by_post, packed=True
        )  # fmt: skip
        pre, post = trim(arrays, nnz)
        return sharded(Connectivity(pre, post, n_pre=n_pre, n_post=n_post), out_sharding)
    # blocks of rows, each from its own key (with multapses too, past 32 bits of pairs: a
    # counting sort, not a sort of two arrays); the rows' blocks drawn where they are kept
    # (an exchange over one device would only cost memory)
    if out_sharding is not None and not (by_post and devices(out_sharding) == 1):
        check_memory(name, slice_length(nnz, out_sharding))
        config = (n_pre, n_post, k, skip_diagonal, by_post, multapses, block, out_sharding)
        if by_post:  # then moved into (pre, post) order by one exchange
            (partners,) = _fixed_degree_sharded(key, *config)
            pre, post = sharded_to_pre_major(partners, nnz, n_pre, n_post, k, out_sharding)
        else:
            pre, post = _fixed_degree_sharded(key, *config)
        return Connectivity(pre, post, n_pre=n_pre, n_post=n_post, n_syn=nnz)
    check_memory(name, nnz)
    pre, post = _fixed_degree_pairs(key, n_pre, n_post, k, skip_diagonal, by_post, multapses, block)
    return sharded(Connectivity(pre, post, n_pre=n_pre, n_post=n_post), out_sharding)


def _degree_blocks(n_pre, n_post, k, skip_diagonal, by_post, multapses, block):
    """The rows of a fixed-degree rule in blocks: ``(synapses per block, draw)``, where
    ``draw(key, b, start)`` gives block ``b``'s synapses from ``start`` on (owner-major: for
    out-degrees the ``(pre, post)`` arrays, for in-degrees the pre of each post slot). Each
    row's partners: ``k`` distinct, or ``k`` uniform with replacement (``multapses``)."""
    n_rows, n_partners = (n_post, n_pre) if by_post else (n_pre, n_post)
    n_choices = n_partners - 1 if skip_diagonal else n_partners
    rows_per_block = max(1, min(n_rows, block // k))

    def draw(key, b, start):
        key_b = jax.random.fold_in(key, b)
        if multapses:  # in-degrees are put in order by the counting sort after
            partners = jax.random.randint(key_b, (rows_per_block, k), 0, n_choices, jnp.int32)
            partners = partners if by_post else jnp.sort(partners, axis=1)
        else:
            partners = distinct_per_row(key_b, rows_per_block, n_choices, k)
        owners = jnp.broadcast_to(start // k + jnp.arange(rows_per_block, dtype=jnp.int32)[:, None], partners.shape)
        if skip_diagonal:
            partners = partners + (partners >= owners).astype(jnp.int32)
        return (partners.reshape(-1),) if by_post else (owners.reshape(-1), partners.reshape(-1))

    return rows_per_block * k, draw


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6, 7))
def _fixed_degree_pairs(key, n_pre, n_post, k, skip_diagonal, by_post, multapses, block):
    per_block, draw = _degree_blocks(n_pre, n_post, k, skip_diagonal, by_post, multapses, block)
    n_rows = n_post if by_post else n_pre
    drawn = fill(n_rows * k, per_block, lambda b, start: draw(key, b, start))
    return to_pre_major(drawn[0], n_pre, n_post, k, block) if by_post else drawn


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6, 7, 8))
def _fixed_degree_sharded(key, n_pre, n_post, k, skip_diagonal, by_post, multapses, block, out_sharding):
    """The blocks of :func:`_fixed_degree_pairs`, each device drawing those of its slice
    (for in-degrees the post-major partners, still to be moved into (pre, post) order)."""
    per_block, draw = _degree_blocks(n_pre, n_post, k, skip_diagonal, by_post, multapses, block)
    n_rows = n_post if by_post else n_pre
    pads = (n_pre,) if by_post else (n_pre, n_post)
    return sharded_fill(
        n_rows * k, per_block, lambda operands, _, b, start: draw(operands[0], b, start), (key,), pads,
        out_sharding,
    )  # fmt: skip


def fixed_indegree(
    key: ArrayLike,
    n_pre: int,
    n_post: int | None,
    k: int,
    allow_autapse: bool = False,
    multapses: bool = False,
    *,
    block_size: int = DEFAULT_BLOCK,
    out_sharding: NamedSharding | None = None,
) -> Connectivity:
    """Every post neuron receives exactly ``k`` synapses from distinct pre neurons, uniformly.

    Memory: about 14 B per synapse at the peak (the counting sort into (pre, post) order).

    Args:
      key: a PRNG key.
      n_pre: number of presynaptic neurons.
      n_post: number of postsynaptic neurons, or ``None`` for a recurrent population.
      k: the in-degree, ``<= n_pre`` (``<= n_pre - 1`` without autapses).
      allow_autapse: allow ``pre == post`` in a recurrent population.
      multapses: draw the ``k`` partners with replacement (then any ``k`` is allowed, and
        the draw runs in one compiled program per capacity class of ``n · k``).
      block_size: synapses drawn and sorted at once (bounds the temporaries).
      out_sharding: a ``NamedSharding(mesh, PartitionSpec(axis))``: split the synapses
        over its devices, element for element equal to the unsharded build (see
        :func:`~jaxinit.topology.shard` for the padding). Each device draws the posts of
        its share, then one exchange between the devices moves every synapse to the
        device whose slice of the (pre, post) order holds it (memory per device: about
        four slices and the per-pre counts; over one device it is built whole and placed);
        with ``multapses`` alike, each device drawing the post slots of its slice.

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)``.

    Raises:
      TypeError: sizes that are not ints.
      ValueError: sizes outside ``[0, 2**31)`` or ``k`` too large.
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> import jax
      >>> conn = fixed_indegree(jax.random.key(0), 50, 20, k=5)
      >>> conn.in_degree().tolist() == [5] * 20
      True
    """
    return _fixed_degree(
        "fixed_indegree", key, n_pre, n_post, k, allow_autapse, block_size, True, multapses, out_sharding
    )


def fixed_outdegree(
    key: ArrayLike,
    n_pre: int,
    n_post: int | None,
    k: int,
    allow_autapse: bool = False,
    multapses: bool = False,
    *,
    block_size: int = DEFAULT_BLOCK,
    out_sharding: NamedSharding | None = None,
) -> Connectivity:
    """Every pre neuron makes exactly ``k`` synapses onto distinct post neurons, uniformly.

    Memory: about 9 B per synapse at the peak.

    Args:
      key: a PRNG key.
      n_pre: number of presynaptic neurons.
      n_post: number of postsynaptic neurons, or ``None`` for a recurrent population.
      k: the out-degree, ``<= n_post`` (``<= n_pre - 1`` without autapses).
      allow_autapse: allow ``pre == post`` in a recurrent population.
      multapses: draw the ``k`` partners with replacement (then any ``k`` is allowed, and
        the draw runs in one compiled program per capacity class of ``n · k``).
      block_size: synapses drawn at once (bounds the temporaries).
      out_sharding: a ``NamedSharding(mesh, PartitionSpec(axis))``: split the synapses
        over its devices, each drawing only its own slice of the sorted order (memory:
        the slice plus one block), element for element equal to the unsharded build
        (see :func:`~jaxinit.topology.shard` for the padding). With ``multapses`` each
        device draws and sorts the whole rows overlapping its slice (memory: a few slices).

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)``.

    Raises:
      TypeError: sizes that are not ints.
      ValueError: sizes outside ``[0, 2**31)`` or ``k`` too large.
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> import jax
      >>> conn = fixed_outdegree(jax.random.key(0), 20, None, k=3)
      >>> conn.out_degree().tolist() == [3] * 20
      True
    """
    return _fixed_degree(
        "fixed_outdegree", key, n_pre, n_post, k, allow_autapse, block_size, False, multapses, out_sharding
    )

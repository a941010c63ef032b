"""Networks of populations: the sparse counterpart of :func:`jaxinit.blocks`.

:func:`network` lays populations out one after another and builds every projection of a
table in one call. The projections' pairs come from their rules (size-generic kernels,
so projections of different sizes share compiled programs); their weights and delays
are drawn together, one draw per kind of initializer for the whole network (the
parameters of each projection gathered per synapse), and everything is placed into the
global ``(pre, post)`` order by one sort per block of source neurons, each block a call
of one compiled kernel whose sizes are traced inside static capacities. Building the
Potjans–Diesmann microcircuit's 55 projections this way compiles a handful of programs
instead of one per projection, and its 3·10⁸ synapses at full scale fit in the output
plus one block.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import NamedSharding
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit.topology._checks import INDEX_LIMIT, check_size
from jaxinit.topology._connectivity import Connectivity
from jaxinit.topology._memory import check_memory
from jaxinit.topology._sampling import capacity_for, host_rng, trim, uniform_below
from jaxinit.topology._shard import check_out_sharding, sharded_host_blocks, slice_length
from jaxinit.topology._spatial import pair_distances, spatial_inputs
from jaxinit.topology._values import synapse_values

_KINDS = ("weight", "delay")
_INT32_MAX = 2**31 - 1
# synapses expected per block of a network: one kernel call each, below the capacity
# class 2**20 by ~50 standard deviations of the count (blocks of 10**6 built the
# full-scale microcircuit as fast as 4·10**6, in less memory: XLA's sort is ~15 % faster
# per element at 2**20 than at 2**22); and the bytes a slot costs at the kernel's peak
# (pairs, projection ids, the sort, values; measured 91 at 2.7e7)
NETWORK_BLOCK = 1_000_000
BYTES_PER_SLOT = 100
IN_FLIGHT = 1  # blocks computed while one is copied out (2 measured no faster on 2 cores)


def _value_init(value: Any) -> Any:
    """A weight or delay as an initializer: numbers and Quantities become constants."""
    if value is None or callable(value):
        return value
    from jaxinit.distributions import constant

    return constant(value)


@dataclasses.dataclass(frozen=True)
class Projection:
    """A connection rule with the weights and delays of its synapses (see :func:`projection`)."""

    rule: Callable[..., Connectivity]
    weight: Any = None
    delay: Any = None

    def connect(self, key: jax.Array, n_pre: int, n_post: int | None, ctx: dict) -> Connectivity:
        """The rule's pairs, without values."""
        return _call_rule(self.rule, key, n_pre, n_post, ctx)

    def __call__(self, key: ArrayLike, n_pre: int, n_post: int | None = None, **ctx: Any) -> Connectivity:
        """Builds this projection alone: pairs from the rule, then weights and delays.

        Args:
          key: a PRNG key.
          n_pre: size of the source population.
          n_post: size of the target population; ``None`` for a recurrent projection.
          **ctx: ``pre_positions``, ``post_positions`` and ``box`` for spatial rules and
            distance-dependent values.

        Returns:
          A :class:`Connectivity` with the weights and delays that were given.
        """
        key = _core.check_key("projection", key)
        key_rule, key_weight, key_delay = jax.random.split(key, 3)
        conn = self.connect(key_rule, n_pre, n_post, ctx)
        geometry = _geometry_args(ctx)
        values = {}
        for kind, key_kind in zip(_KINDS, (key_weight, key_delay), strict=True):
            init = _value_init(getattr(self, kind))
            if init is not None:
                values[kind] = synapse_values(key_kind, conn, init, *geometry)
        return dataclasses.replace(conn, **values)


def projection(rule: Callable[..., Connectivity], weight: Any = None, delay: Any = None) -> Projection:
    """A projection for :func:`network`: a connection rule plus its synapses' values.

    ``rule`` is any builder with its parameters bound (``functools.partial``); the
    network calls it with the populations' sizes, or with their positions when its first
    parameter after the key is ``pre_positions`` (spatial rules such as
    :func:`~jaxinit.topology.distance_topology`); builders without a key
    (:func:`~jaxinit.topology.all_to_all`, :func:`~jaxinit.topology.one_to_one`) get
    none. Weights and delays are initializers (they see each synapse's ``pre``,
    ``post`` and, with positions, ``distances``), numbers or Quantities.

    Args:
      rule: a builder, e.g. ``functools.partial(pairwise_bernoulli, p=0.1)``.
      weight: the synapses' weights, or ``None`` for none.
      delay: the synapses' delays, or ``None`` for none.

    Returns:
      A :class:`Projection`; calling it as ``proj(key, n_pre, n_post=None, **ctx)``
      builds it alone.

    Raises:
      TypeError: ``rule`` is not callable, or ``weight``/``delay`` is neither an
        initializer, a number nor a Quantity.

    Example:
      >>> import functools, jax
      >>> import jaxinit as ji
      >>> from jaxinit.topology import fixed_indegree
      >>> proj = projection(functools.partial(fixed_indegree, k=10), weight=ji.normal(1.0, 0.1), delay=1.5)
      >>> conn = proj(jax.random.key(0), 100, 50)
      >>> conn.nnz, float(conn.delay.min())
      (500, 1.5)
    """
    if not callable(rule):
        raise TypeError(f"projection: rule must be a connection builder (callable), got {rule!r}")
    for kind, value in (("weight", weight), ("delay", delay)):
        if value is None or callable(value):
            continue
        if _core.is_quantity(value):
            _core.validate("projection", {kind: value.mantissa}, {kind: _core.REAL})
        elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            _core.validate("projection", {kind: value}, {kind: _core.REAL})
        else:
            raise TypeError(
                f"projection: {kind} must be an initializer, a number or a Quantity, got {type(value).__name__}"
            )
    return Projection(rule, weight, delay)


def _parameters(rule: Callable) -> list[str]:
    try:
        return list(inspect.signature(rule).parameters)
    except (TypeError, ValueError):
        return []


def _call_rule(rule: Callable, key: jax.Array, n_pre: int, n_post: int | None, ctx: dict) -> Connectivity:
    """Calls a builder the way its signature asks: with or without a key, with sizes or
    with positions."""
    params = _parameters(rule)
    takes_key = bool(params) and params[0] == "key"
    rest = params[1:] if takes_key else params
    args: list[Any] = [key] if takes_key else []
    if rest and rest[0] == "pre_positions":
        if ctx.get("pre_positions") is None:
            raise ValueError("a spatial rule needs positions: pass positions= to network (one array per population)")
        args += [ctx["pre_positions"], ctx.get("post_positions")]
        return rule(*args, box=ctx.get("box")) if "box" in rest else rule(*args)
    if rest and rest[0] == "n" and "n_post" not in rest:
        # one_to_one(n): a pairing of two populations of one size
        if n_post is not None and n_post != n_pre:
            raise ValueError(f"a one-to-one rule needs populations of one size, got {n_pre} and {n_post}")
        return rule(*args, n_pre)
    return rule(*args, n_pre, n_post)


def _geometry_args(ctx: dict) -> tuple:
    if ctx.get("pre_positions") is None:
        return ()
    return (ctx["pre_positions"], ctx.get("post_positions"), ctx.get("box"))


def population_of(sizes: Sequence[int], index: ArrayLike) -> jax.Array:
    """Which population of a :func:`network` each neuron index belongs to.

    Args:
      sizes: the populations' sizes, as given to :func:`network`.
      index: neuron indices (an int or an array, e.g. ``conn.pre``).

    Returns:
      int32 population numbers, the shape of ``index``.

    Example:
      >>> population_of([3, 2], [0, 2, 3, 4]).tolist()
      [0, 0, 1, 1]
    """
    starts = np.cumsum([0, *[check_size("population_of", "sizes", s) for s in sizes]])[1:-1]
    return jnp.searchsorted(jnp.asarray(starts, jnp.int32), jnp.asarray(index, jnp.int32), side="right").astype(
        jnp.int32
    )


# --- building ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Group:
    """Projections whose initializers for one kind of value share a structure: drawn in one
    call with each synapse's parameters gathered from ``leaves`` (one row per member)."""

    treedef: Any
    members: tuple[int, ...]
    factor: float  # into the network's unit


def _check_table(name: str, sizes: Any, table: Any) -> tuple[list[int], list[tuple[int, int, Any]]]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) == 0:
        raise TypeError(f"{name}: sizes must be a non-empty sequence of population sizes, got {sizes!r}")
    sizes = [check_size(name, f"sizes[{i}]", s) for i, s in enumerate(sizes)]
    for i, s in enumerate(sizes):
        if s == 0:
            raise ValueError(f"{name}: population {i} has size 0; leave it out of sizes and table")
    if sum(sizes) >= INDEX_LIMIT:
        raise ValueError(f"{name}: the populations hold {sum(sizes):,} neurons, more than int32 indices address")
    n = len(sizes)
    if (
        not isinstance(table, Sequence)
        or len(table) != n
        or any(not isinstance(row, Sequence) or len(row) != n for row in table)
    ):
        shape = (
            f"{len(table)} rows of lengths {[len(r) if isinstance(r, Sequence) else None for r in table]}"
            if isinstance(table, Sequence)
            else type(table).__name__
        )
        raise ValueError(f"{name}: table must be {n} x {n} (one row per source population), got {shape}")
    entries = []
    for i, row in enumerate(table):
        for j, proj in enumerate(row):
            if proj is None:
                continue
            if not callable(proj):
                raise TypeError(f"{name}: table[{i}][{j}] must be None or a projection, got {type(proj).__name__}")
            entries.append((i, j, proj))
    return sizes, entries


def _positions_ctx(positions, box, i, j) -> dict:
    if positions is None:
        return {}
    pre_pos, post_pos = positions[i], positions[j]
    return {"pre_positions": pre_pos, "post_positions": None if i == j else post_pos, "box": box}


def _check_positions(name: str, positions: Any, sizes: list[int]) -> None:
    if positions is None:
        return
    if not isinstance(positions, Sequence) or len(positions) != len(sizes):
        raise ValueError(f"{name}: positions must be one (size, dim) array per population ({len(sizes)})")
    for i, (pos, size) in enumerate(zip(positions, sizes, strict=True)):
        rows = np.shape(pos.mantissa if _core.is_quantity(pos) else pos)
        if len(rows) != 2 or rows[0] != size:
            raise ValueError(f"{name}: positions[{i}] must have shape ({size}, dim), got {rows}")


def network(
    key: ArrayLike,
    sizes: Sequence[int],
    table: Sequence[Sequence[Any]],
    *,
    positions: Sequence[ArrayLike] | None = None,
    box: ArrayLike | None = None,
    block_size: int = NETWORK_BLOCK,
    out_sharding: NamedSharding | None = None,
) -> Connectivity:
    """Populations laid out one after another, wired by a table of projections: the sparse
    counterpart of :func:`jaxinit.blocks`.

    Population ``i`` holds neurons ``sum(sizes[:i])`` to ``sum(sizes[:i + 1]) - 1``;
    ``table[i][j]`` is ``None`` or the projection from population ``i`` to population
    ``j``: a :func:`projection`, or any callable ``proj(key, n_pre, n_post, **ctx) ->
    Connectivity`` (``n_post=None`` on the diagonal: one recurrent population, no
    autapses unless its rule allows them; ``ctx`` holds ``pre_positions``,
    ``post_positions`` and ``box`` when positions are given). Each projection gets its
    own key (``fold_in(key, i * len(sizes) + j)``).

    The weights and delays of :func:`projection` entries are drawn together: the
    initializers of one structure (``normal`` with any parameters, say) are one draw
    over the network with each synapse's parameters gathered from its projection, and
    every synapse is placed into the global ``(pre, post)`` order by one sort, in one
    kernel whose sizes are traced inside static capacities. So a network of many
    projections compiles a few programs, and rebuilding it (another key, other sizes in
    the same capacity classes) compiles none.

    Large networks are built in blocks: runs of source neurons expected to hold about
    ``block_size`` synapses each (and, for the one-key sort, few enough neurons that a
    pair packs into an int32), one kernel call per block, written into the output one
    after another. The blocks follow from the sizes, counts and ``block_size`` alone, so
    a key gives the same network on every machine. Memory: the output (8 bytes per
    synapse plus 4 per value) plus one block's working arrays, about 100 bytes per slot
    of its padded capacity (measured at 2.7·10⁷ synapses with weights and delays): about
    100 MiB at the default. The full-scale Potjans–Diesmann microcircuit (3·10⁸
    synapses) peaks at 5.1 GiB.

    Args:
      key: a PRNG key.
      sizes: the populations' sizes (each > 0).
      table: ``len(sizes) x len(sizes)`` entries, ``table[source][target]``.
      positions: one ``(size, dim)`` array per population (same unit), for spatial rules
        and distance-dependent values; or ``None``.
      box: periodic box side(s) for the distances, or ``None``.
      block_size: synapses expected per block (bounds the working memory; part of what
        the key means: another ``block_size`` draws another network).
      out_sharding: a ``NamedSharding(mesh, PartitionSpec(axis))``: split the synapses
        over its devices (equal to the unsharded build; padding as in
        :func:`~jaxinit.topology.shard`). Each device computes the blocks that overlap its
        slice, so it holds its slice plus one block; projections the kernel does not draw
        itself (rules other than ``random_topology(..., multapses=True)``) are built whole
        first, then cut into the blocks.

    Returns:
      One :class:`Connectivity` over ``sum(sizes)`` neurons, sorted by ``(pre, post)``,
      with ``weight``/``delay`` when the projections give them (in one unit: that of the
      first projection with one). :func:`population_of` tells a neuron's population.

    Raises:
      TypeError, ValueError: a table of the wrong shape, an entry that is not a
        projection, a population of size 0, positions missing for a spatial rule or of
        the wrong shape, a projection whose rule returns other sizes than its
        populations', weights (or delays) given on some projections but not others, or
        in units that do not agree; each names the projection ``(i, j)``.
      MemoryError: the network would not fit in memory.

    Example:
      >>> import functools, jax
      >>> import jaxinit as ji
      >>> from jaxinit.topology import random_topology
      >>> exc = projection(functools.partial(random_topology, n_syn=400), weight=ji.normal(1.0, 0.1), delay=1.5)
      >>> inh = projection(functools.partial(random_topology, n_syn=200), weight=ji.normal(-4.0, 0.4), delay=0.8)
      >>> conn = network(jax.random.key(0), [80, 20], [[exc, exc], [inh, inh]])
      >>> conn.nnz, conn.n_pre
      (1200, 100)
      >>> bool((conn.weight[conn.pre < 80] > 0).all()), bool((conn.weight[conn.pre >= 80] < 0).all())
      (True, True)
      >>> population_of([80, 20], conn.post[:3]).tolist()
      [0, 0, 0]
    """
    name = "network"
    out_sharding = check_out_sharding(name, out_sharding)
    sizes, entries = _check_table(name, sizes, table)
    _check_positions(name, positions, sizes)
    if positions is not None:
        spatial_inputs(name, positions[0], None, box)  # checks the box and units up front
    block_size = check_size(name, "block_size", block_size, 1)
    key = _core.check_key(name, key)
    n_pops = len(sizes)
    offsets = [int(x) for x in np.cumsum([0, *sizes])]
    n_total = offsets[-1]

    # pairs first: fused into the network kernel where the rule allows it, else the rule's own
    built, fused, value_inits = {}, {}, {kind: [] for kind in _KINDS}
    # every projection's keys (rule, weight, delay) and the fused draw's, in one program
    codes = np.asarray([i * n_pops + j for i, j, _ in entries] + [n_pops * n_pops], np.uint32)
    keys, seed = _projection_keys(key, codes)
    unstacked: list[Any] = []

    def key_of(p: int, what: int) -> jax.Array:
        if not unstacked:
            unstacked.extend(zip(*(list(keys[:, c]) for c in range(3)), strict=True))
        return unstacked[p][what]

    for p, (i, j, proj) in enumerate(entries):
        ctx = _positions_ctx(positions, box, i, j)
        n_post = None if i == j else sizes[j]
        try:
            if isinstance(proj, Projection):
                inits = {kind: _value_init(getattr(proj, kind)) for kind in _KINDS}
                request = _fused_request(proj.rule, sizes[i], n_post)
                if request is not None and all(map(_groupable, inits.values())):
                    fused[p] = request
                else:
                    built[p] = proj.connect(key_of(p, 0), sizes[i], n_post, ctx)
            else:
                inits = {kind: None for kind in _KINDS}
                built[p] = proj(key_of(p, 0), sizes[i], n_post, **ctx)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{name}: projection ({i}, {j}): {error}") from error
        if p in built:
            conn = built[p]
            if not isinstance(conn, Connectivity) or (conn.n_pre, conn.n_post) != (sizes[i], sizes[j]):
                got = (conn.n_pre, conn.n_post) if isinstance(conn, Connectivity) else type(conn).__name__
                raise ValueError(
                    f"{name}: projection ({i}, {j}) must connect {sizes[i]} -> {sizes[j]} neurons, its rule "
                    f"returned {got}"
                )
        for kind in _KINDS:
            given = getattr(built[p], kind) if inits[kind] is None and p in built else None
            value_inits[kind].append(inits[kind] if inits[kind] is not None else given)

    nnz = [built[p].nnz if p in built else fused[p][2] for p in range(len(entries))]
    total = sum(nnz)
    labels = [f"projection ({i}, {j})" for i, j, _ in entries]
    static = {"length_unit": None}
    geometry = None
    if positions is not None:
        all_positions = _concatenate_positions(name, positions)
        pre_pos, _, box_plain, static["length_unit"] = spatial_inputs(name, all_positions, None, box)
        geometry = (pre_pos, box_plain)

    # pairs pack into one int32 sort key while a block spans few enough neurons (values
    # that a projection brought along would need the sort to carry them: then the pairs
    # sort as two keys)
    packed = all(init is None or (callable(init) and _groupable(init)) for kind in _KINDS for init in value_inits[kind])
    blocks = _plan_blocks(sizes, entries, nnz, block_size, n_total if packed else None)
    check_memory(
        name,
        total if out_sharding is None else slice_length(total, out_sharding),
        "network",
        extra=max(capacity_for(int(e)) for _, _, e in blocks) * BYTES_PER_SLOT,
        extra_what="one block's working arrays",
    )
    value_plans, value_static = {}, {}
    for index, kind in enumerate(_KINDS):
        inits = value_inits[kind]
        if all(init is None for init in inits):
            continue
        drawn = _draw_alone(name, inits, built, lambda p, c=index + 1: key_of(p, c), entries, positions, box)
        groups, stacked, given, unit = _plan_values(name, kind, inits, drawn, labels)
        value_plans[kind] = (index + 1, stacked, given)
        value_static[kind] = (tuple(groups), unit)
    fused_order = sorted(fused)
    source_offset = [offsets[i] for i, _, _ in entries]
    fused_counts = _split_fused(
        seed,
        [fused[p] for p in fused_order],
        [source_offset[p] for p in fused_order],
        [sizes[entries[p][0]] for p in fused_order],
        blocks,
    )
    projection_of = np.full((n_pops, n_pops), -1, np.int32)
    for p, (i, j, _) in enumerate(entries):
        projection_of[i, j] = p
    shared = {
        "keys": keys,
        "fused": np.asarray(fused_order, np.int32),
        "fused_cols": np.asarray([fused[p][1] for p in fused_order], np.int32),
        "fused_skip": np.asarray([fused[p][3] for p in fused_order], bool),
        "pre_offset": np.asarray(source_offset, np.int32),
        "post_offset": np.asarray([offsets[j] for _, j, _ in entries], np.int32),
        "n_total": np.int32(n_total),
        "population_start": np.asarray(offsets, np.int32),
        "projection_of": projection_of,
    }
    leaves = {kind: stacked for kind, (_, stacked, _) in value_plans.items()}
    order = sorted(built)
    # the built projections' arrays on the host once: each block takes a slice of them
    host = {
        p: {
            "pre": np.asarray(built[p].pre),
            "post": np.asarray(built[p].post),
            **{kind: np.asarray(given[p]) for kind, (_, _, given) in value_plans.items() if given[p] is not None},
        }
        for p in order
    }

    def block_pieces(c: int) -> tuple[list, list]:
        """Block ``c``'s slice ``(lo, hi)`` of every built projection (sorted by pre: a
        contiguous run) and each fused projection's rows in it."""
        start, stop, _ = blocks[c]
        lo_hi = [np.searchsorted(host[p]["pre"], [start - source_offset[p], stop - source_offset[p]]) for p in order]
        row_lo = np.asarray([max(start - source_offset[p], 0) for p in fused_order], np.int32)
        row_hi = np.asarray([min(stop - source_offset[p], sizes[entries[p][0]]) for p in fused_order], np.int32)
        return lo_hi, (row_lo, row_hi)

    def block_count(c: int) -> int:
        lo_hi, _ = block_pieces(c)
        return sum(int(hi - lo) for lo, hi in lo_hi) + (int(fused_counts[:, c].sum()) if fused else 0)

    def run_block(c: int, device: jax.Device | None = None) -> tuple:
        lo_hi, (row_lo, row_hi) = block_pieces(c)
        counts = [int(hi - lo) for lo, hi in lo_hi]
        caps = tuple(capacity_for(n) for n in counts)
        fused_total = int(fused_counts[:, c].sum()) if fused else 0
        inputs = {
            "block": np.int32(c),
            "block_start": np.int32(blocks[c][0]),
            "pre": _slices(host, order, lo_hi, caps, "pre"),
            "post": _slices(host, order, lo_hi, caps, "post"),
            "built": np.asarray(order, np.int32),
            "built_count": np.asarray(counts, np.int32),
            "fused_count": np.asarray(fused_counts[:, c] if fused else [], np.int32),
            "fused_rows": np.stack([row_lo, row_hi], axis=1).reshape(-1, 2),
        }
        value_inputs = {
            kind: {"leaves": leaves[kind], "given": _slices(host, order, lo_hi, caps, kind), "column": column}
            for kind, (column, _, _) in value_plans.items()
        }
        widths = row_hi - row_lo
        block_static = {
            **static,
            "caps": caps,
            "fused_cap": capacity_for(fused_total) if fused else 0,
            "packed": packed,
            # a pair is one draw while rows x columns fit int32 and rows stay below 2**22
            "one_word_pairs": bool(
                fused
                and int(widths.max(initial=0)) < 1 << 22
                and int((widths.astype(np.int64) * shared["fused_cols"]).max(initial=0)) <= _INT32_MAX
            ),
        }
        operands = (shared, inputs, value_inputs, geometry)
        if device is not None:  # computed where its slice is kept
            operands = jax.device_put(operands, device)
        return _assemble(*operands, _freeze(block_static), _freeze(value_static))

    if out_sharding is None:
        output = _Output(total, len(blocks))
        for c in range(len(blocks)):
            output.add(run_block(c), block_count(c))
        pre, post, *values = output.arrays()
    else:
        pads = (n_total, n_total) + (0,) * len(value_plans)
        counts = np.asarray([block_count(c) for c in range(len(blocks))], np.int64)
        pre, post, *values = sharded_host_blocks(counts, run_block, pads, out_sharding)
    result = {kind: _core.attach_unit(v, value_static[kind][1]) for kind, v in zip(value_plans, values, strict=True)}
    n_syn = None if out_sharding is None else total
    return Connectivity(pre, post, n_pre=n_total, n_post=n_total, n_syn=n_syn, **result)


def _slices(host: dict, order: list[int], lo_hi: list, caps: tuple, name: str) -> tuple:
    """Each built projection's ``name`` array, sliced to a block and padded to its
    capacity (``None`` where the projection has no such array)."""
    return tuple(
        _pad((host[p][name][lo:hi],), cap)[0] if name in host[p] else None
        for p, (lo, hi), cap in zip(order, lo_hi, caps, strict=True)
    )


def _groupable(init: Any) -> bool:
    """Whether an initializer can join a grouped draw: a jaxinit initializer of scalar
    parameters (or no value at all)."""
    if init is None:
        return True
    return isinstance(init, _core.Base) and all(np.ndim(x) == 0 for x in jax.tree_util.tree_leaves(init))


def _fused_request(rule: Callable, n_pre: int, n_post: int | None):
    """``(n_rows, n_cols, nnz, skip_diagonal)`` for a rule the network kernel draws
    itself (``random_topology`` with ``multapses=True``: independent uniform pairs, so all
    such projections are one draw), else None."""
    from jaxinit.topology._random import fixed_total_request, random_topology

    if not isinstance(rule, functools.partial) or rule.func is not random_topology or rule.args:
        return None
    keywords = dict(rule.keywords)
    if not keywords.pop("multapses", False) or set(keywords) - {"n_syn", "p", "allow_autapse", "block_size"}:
        return None
    request = fixed_total_request(
        "random_topology",
        n_pre,
        n_post,
        keywords.get("n_syn"),
        keywords.get("p"),
        keywords.get("allow_autapse", False),
        True,
    )
    n_rows, _, n_cols, k, skip_diagonal = request
    return (n_rows, n_cols, k, skip_diagonal)


def _draw_alone(name, inits, built, key_of, entries, positions, box) -> list[Any]:
    """Values that cannot join a grouped draw, per projection: plain functions and
    initializers with array parameters are drawn on their own (values a projection
    already carries are kept); ``None`` for the grouped ones."""
    out = []
    for p, (init, (i, j, _)) in enumerate(zip(inits, entries, strict=True)):
        if init is not None and not callable(init):
            out.append(init)  # values the projection's own call returned
        elif _groupable(init):
            out.append(None)
        else:
            ctx = _positions_ctx(positions, box, i, j)
            out.append(synapse_values(key_of(p), built[p], init, *_geometry_args(ctx)))
    return out


def _freeze(mapping: dict) -> tuple:
    return tuple(sorted(mapping.items()))


def _pad(arrays: tuple, capacity: int) -> tuple:
    """Arrays padded with zeros to ``capacity`` without compiling a program per length (NumPy
    on the host; the kernel masks the padding by count)."""
    out = []
    for x in arrays:
        n = x.shape[0]
        if n == capacity:
            out.append(x)
            continue
        host = np.zeros((capacity,), np.asarray(x).dtype)
        host[:n] = np.asarray(x)
        out.append(jax.device_put(host))
    return tuple(out)


def _concatenate_positions(name: str, positions: Sequence[Any]) -> Any:
    if any(_core.is_quantity(p) for p in positions):
        from jaxinit import units

        if not all(_core.is_quantity(p) for p in positions):
            raise ValueError(f"{name}: give every population's positions in units, or none of them")
        unit = positions[0].unit
        plain = [units.to_plain(name, f"positions[{i}]", p, unit) for i, p in enumerate(positions)]
        return units.attach(jnp.concatenate([jnp.asarray(p) for p in plain]), unit)
    return jnp.concatenate([jnp.asarray(p) for p in positions])


def _plan_values(name: str, kind: str, inits: list[Any], drawn: list[Any], labels: list[str]):
    """How one kind of value is drawn: groups of initializers of one structure (their
    parameters stacked, one row per member), the values drawn alone (in the network's
    unit), and that unit (the first projection's with one)."""
    missing = [label for label, init in zip(labels, inits, strict=True) if init is None]
    if missing:
        having = next(label for label, init in zip(labels, inits, strict=True) if init is not None)
        raise ValueError(
            f"{name}: {having} gives a {kind} but {missing[0]} does not; give every projection a {kind}, or none"
        )
    unit_list = [
        (d.unit if _core.is_quantity(d) else None) if d is not None else _core.unit_of(init)
        for init, d in zip(inits, drawn, strict=True)
    ]
    unit = None
    if any(x is not None for x in unit_list):
        from jaxinit import units

        unit = units.common_unit(name, unit_list, [f"the {kind} of {label}" for label in labels])
    groups: dict[Any, list[int]] = {}
    given: list[Any] = []
    for p, (init, d) in enumerate(zip(inits, drawn, strict=True)):
        if d is None:
            groups.setdefault(jax.tree_util.tree_structure(init), []).append(p)
            given.append(None)
        else:
            given.append(_in_unit(d, unit))
    stacked, group_list = [], []
    for treedef, members in groups.items():
        rows = [jax.tree_util.tree_leaves(inits[p]) for p in members]
        stacked.append(tuple(np.asarray([row[q] for row in rows], np.float64) for q in range(treedef.num_leaves)))
        group_unit = _core.unit_of(inits[members[0]])
        factor = 1.0
        if unit is not None and group_unit != unit:
            from jaxinit import units

            factor = units.conversion_factor(group_unit, unit)
        group_list.append(_Group(treedef, tuple(members), factor))
    return group_list, tuple(stacked), given, unit


def _in_unit(values: Any, unit: Any) -> jax.Array:
    """Plain values in ``unit`` (values without a unit when ``unit`` is None)."""
    if unit is None or not _core.is_quantity(values):
        return jnp.asarray(values)
    from jaxinit import units

    return jnp.asarray(units.to_plain("network", "values", values, unit))


@jax.jit
def _projection_keys(key: jax.Array, codes: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(len(codes), 3)`` keys: ``split(fold_in(key, code), 3)`` for each code; and four
    random words from the last row (they seed the split of fused draws into blocks)."""
    keys = jax.vmap(lambda code: jax.random.split(jax.random.fold_in(key, code), 3))(codes)
    return keys, jax.random.bits(keys[-1, 1], (4,), jnp.uint32)


def _plan_blocks(
    sizes: list[int], entries: list, nnz: list[int], block_size: int, pack_total: int | None
) -> list[tuple[int, int, float]]:
    """The network's blocks: runs of source neurons ``[start, stop)`` expected to hold at
    most ``block_size`` synapses each, ``(start, stop, expected)``. With
    ``pack_total`` a block also spans few enough neurons that its pairs pack into one
    int32 sort key (``(pre - start) * pack_total + post``). The plan depends on the
    sizes and counts only, never on the key or the machine, so a network is the same
    wherever it is built."""
    density = np.zeros(len(sizes))
    for (i, _, _), k in zip(entries, nnz, strict=True):
        density[i] += k / sizes[i]
    cumulative = np.concatenate([[0.0], np.cumsum(np.repeat(density, sizes))])
    n = int(cumulative.shape[0] - 1)
    width = n if pack_total is None else max(1, _INT32_MAX // pack_total)
    blocks, start = [], 0
    while start < n:
        stop = int(np.searchsorted(cumulative, cumulative[start] + block_size, side="right")) - 1
        stop = min(max(stop, start + 1), start + width, n)
        blocks.append((start, stop, float(cumulative[stop] - cumulative[start])))
        start = stop
    return blocks


def _split_fused(
    seed: jax.Array, requests: list, pre_offsets: list[int], pre_sizes: list[int], blocks: list
) -> np.ndarray:
    """How many of each fused projection's synapses have their source in each block:
    ``(len(requests), len(blocks))`` counts. The pairs are independent and uniform, so
    the counts are multinomial with the blocks' shares of the source population; drawn
    exactly (NumPy's integer multinomial, seeded from the key)."""
    counts = np.zeros((len(requests), len(blocks)), np.int64)
    if not requests:
        return counts
    if len(blocks) == 1:
        counts[:, 0] = [request[2] for request in requests]
        return counts
    rng = host_rng(seed)
    starts = np.asarray([start for start, _, _ in blocks])
    stops = np.asarray([stop for _, stop, _ in blocks])
    for r, (request, offset, size) in enumerate(zip(requests, pre_offsets, pre_sizes, strict=True)):
        overlap = np.clip(np.minimum(stops, offset + size) - np.maximum(starts, offset), 0, None)
        counts[r] = rng.multinomial(request[2], overlap / size)
    return counts


def _aligned_empty(n: int, dtype: Any) -> np.ndarray:
    """An uninitialised host array on a 64-byte boundary: ``jax.device_put`` on CPU then
    uses its memory instead of copying it."""
    dtype = np.dtype(dtype)
    raw = np.empty(n * dtype.itemsize + 64, np.uint8)
    offset = -raw.ctypes.data % 64
    return raw[offset : offset + n * dtype.itemsize].view(dtype)


class _Output:
    """The blocks' padded outputs, trimmed and laid end to end (their sources are
    increasing runs, so this is the global (pre, post) order). XLA runs asynchronously:
    a block is copied into one host buffer per array while the next ``IN_FLIGHT`` are
    computed, so the peak holds the output once plus a few blocks."""

    def __init__(self, total: int, n_blocks: int):
        self.total, self.n_blocks = total, n_blocks
        self.pending: list[tuple[tuple, int]] = []
        self.buffers: list[np.ndarray] = []
        self.position = 0

    def add(self, out: tuple, count: int) -> None:
        self.pending.append((out, count))
        if self.n_blocks > 1 and len(self.pending) > IN_FLIGHT:
            self._flush_one()

    def _flush_one(self) -> None:
        out, count = self.pending.pop(0)
        if not self.buffers:
            self.buffers = [_aligned_empty(self.total, x.dtype) for x in out]
        for buffer, x in zip(self.buffers, out, strict=True):
            buffer[self.position : self.position + count] = np.asarray(x)[:count]
        self.position += count

    def arrays(self) -> tuple:
        if self.n_blocks == 1:
            out, count = self.pending[0]
            return trim(tuple(out), count)
        while self.pending:
            self._flush_one()
        return tuple(jax.device_put(buffer) for buffer in self.buffers)


@functools.partial(jax.jit, static_argnums=(4, 5))
def _assemble(shared, inputs, value_inputs, geometry, static, value_static):
    """One block of the network in (pre, post) order: the built projections' padded pairs
    with sources in the block and the fused projections' draw of this block's counts,
    offset to global indices, values drawn per synapse, one sort. Sizes, counts and the
    block's bounds are traced; only the capacities are static."""
    static, value_static = dict(static), dict(value_static)
    caps, fused_cap = static["caps"], static["fused_cap"]
    parts_proj, parts_valid, parts_pre, parts_post = [], [], [], []
    for b, cap in enumerate(caps):
        parts_proj.append(jnp.full(cap, inputs["built"][b], jnp.int32))
        parts_valid.append(jnp.arange(cap, dtype=jnp.int32) < inputs["built_count"][b])
        parts_pre.append(inputs["pre"][b])
        parts_post.append(inputs["post"][b])
    if fused_cap:
        slot = jnp.arange(fused_cap, dtype=jnp.int32)
        counts = inputs["fused_count"]
        ends = jnp.cumsum(counts)
        # each slot's projection: how many projections end at or before it
        which = jnp.cumsum(jnp.zeros(fused_cap, jnp.int32).at[ends].add(1, mode="drop"))
        which = jnp.minimum(which, counts.shape[0] - 1)
        row_lo, row_hi = inputs["fused_rows"][which, 0], inputs["fused_rows"][which, 1]
        width, n_cols = jnp.maximum(row_hi - row_lo, 1), jnp.maximum(shared["fused_cols"][which], 1)
        key_pairs = jax.random.fold_in(shared["keys"][-1, 0], inputs["block"])
        if static["one_word_pairs"]:
            # one 64-bit draw per pair over the block's rows x columns, split by division
            index = uniform_below(key_pairs, (width * n_cols).astype(jnp.uint32)).astype(jnp.int32)
            rows, cols = _divmod_small(index, n_cols)
        else:
            key_rows, key_cols = jax.random.split(key_pairs)
            rows = uniform_below(key_rows, width.astype(jnp.uint32)).astype(jnp.int32)
            cols = uniform_below(key_cols, n_cols.astype(jnp.uint32)).astype(jnp.int32)
        rows = rows + row_lo
        cols = jnp.where(shared["fused_skip"][which] & (cols >= rows), cols + 1, cols)
        parts_proj.append(shared["fused"][which])
        parts_valid.append(slot < ends[-1])
        parts_pre.append(rows)
        parts_post.append(cols)
    proj, valid = jnp.concatenate(parts_proj), jnp.concatenate(parts_valid)
    pre_local, post_local = jnp.concatenate(parts_pre), jnp.concatenate(parts_post)
    sentinel = jnp.iinfo(jnp.int32).max
    pre = jnp.where(valid, pre_local + shared["pre_offset"][proj], sentinel)
    post = jnp.where(valid, post_local + shared["post_offset"][proj], sentinel)
    if static["packed"]:
        # XLA's CPU sort is ~8x faster on one int32 key without payload than on two keys: sort the
        # pairs packed, then draw the values in sorted order (they are independent per synapse
        # given its projection, which the populations of (pre, post) tell)
        n_total, start = shared["n_total"], inputs["block_start"]
        packed = jnp.sort(jnp.where(valid, (pre - start) * n_total + post, sentinel))
        valid = packed != sentinel
        pre = jnp.where(valid, packed // n_total + start, sentinel)
        post = jnp.where(valid, packed % n_total, sentinel)
        starts = shared["population_start"]
        # a few populations: comparing with every start is vectorised, a binary search is not
        method = "compare_all" if starts.shape[0] <= 65 else "scan"
        pop_pre = jnp.searchsorted(starts[1:], jnp.where(valid, pre, 0), side="right", method=method)
        pop_post = jnp.searchsorted(starts[1:], jnp.where(valid, post, 0), side="right", method=method)
        proj = jnp.maximum(shared["projection_of"][pop_pre, pop_post], 0)
        pre_local, post_local = pre - starts[pop_pre], post - starts[pop_post]
    locals_ = (proj, pre_local, post_local, pre, post, geometry, static)
    values = [
        _draw_values(value_inputs[kind], shared["keys"], inputs["block"], value_static[kind][0], *locals_)
        for kind in _KINDS
        if kind in value_inputs
    ]
    if static["packed"]:
        return (pre, post, *values)
    # padding carries the sentinel pair, which sorts last and is cut off outside
    return lax.sort((pre, post, *values), num_keys=2)


def _divmod_small(value: jax.Array, divisor: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(value // divisor, value % divisor)`` for quotients below 2**22: a float32
    estimate is then off by at most one, and one correction makes it exact (integer
    division by per-element divisors is not vectorised on CPU)."""
    quotient = (value.astype(jnp.float32) * (1.0 / divisor.astype(jnp.float32))).astype(jnp.int32)
    remainder = value - quotient * divisor
    quotient = jnp.where(remainder < 0, quotient - 1, jnp.where(remainder >= divisor, quotient + 1, quotient))
    return quotient, value - quotient * divisor


def _draw_values(inputs, keys, block, groups, proj, pre_local, post_local, pre, post, geometry, static):
    caps = static["caps"]
    given = [jnp.zeros(cap, jnp.float32) if g is None else g for g, cap in zip(inputs["given"], caps, strict=True)]
    if static["fused_cap"]:
        given.append(jnp.zeros(static["fused_cap"], jnp.float32))
    values = jnp.concatenate(given)
    ctx = {"pre": pre_local, "post": post_local}
    if geometry is not None:
        positions, box = geometry
        safe = jnp.minimum(pre, positions.shape[0] - 1), jnp.minimum(post, positions.shape[0] - 1)
        distances = pair_distances(positions, positions, *safe, box)
        ctx["distances"] = _core.attach_unit(distances, static["length_unit"])
    n_proj = keys.shape[0] - 1  # the last row is the fused draw's
    for group, leaves in zip(groups, inputs["leaves"], strict=True):
        # each synapse's parameters are its projection's: one draw for the whole group
        row = jnp.asarray(_row_of(group.members, n_proj))[proj]
        init = jax.tree_util.tree_unflatten(group.treedef, [leaf[row] for leaf in leaves])
        key = jax.random.fold_in(keys[group.members[0], inputs["column"]], block)
        drawn = init.plain(key, (proj.shape[0],), None, ctx)
        if group.factor != 1.0:
            drawn = drawn * group.factor
        member = jnp.asarray(np.isin(np.arange(n_proj), group.members))[proj]
        values = jnp.where(member, drawn.astype(values.dtype), values)
    return values


def _row_of(members: tuple[int, ...], n_proj: int) -> np.ndarray:
    rows = np.zeros(n_proj, np.int32)
    rows[list(members)] = np.arange(len(members))
    return rows

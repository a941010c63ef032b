"""Networks of populations: the sparse counterpart of :func:`jaxinit.blocks`.

:func:`network` lays populations out one after another and builds every projection of a
table in one call. The projections' pairs come from their rules (size-generic kernels,
so projections of different sizes share compiled programs); their weights and delays
are drawn together, one draw per kind of initializer for the whole network (the
parameters of each projection gathered per synapse), and everything is placed into the
global ``(pre, post)`` order by a counting sort, in one compiled kernel whose sizes are
traced inside static capacities. Building the Potjans–Diesmann microcircuit's 55
projections this way compiles a handful of programs instead of one per projection.
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
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit.topology._checks import INDEX_LIMIT, check_size
from jaxinit.topology._connectivity import Connectivity
from jaxinit.topology._memory import check_memory
from jaxinit.topology._sampling import capacity_for, trim
from jaxinit.topology._spatial import pair_distances, spatial_inputs
from jaxinit.topology._values import synapse_values

_KINDS = ("weight", "delay")
_INT32_MAX = 2**31 - 1


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
    the same capacity classes) compiles none. Memory: about 100 bytes per slot of the
    padded capacity (the next power of two above the synapse count) at the peak,
    measured at 2.7·10⁷ synapses with weights and delays; the output is 8 bytes per
    synapse plus 4 per value.

    Args:
      key: a PRNG key.
      sizes: the populations' sizes (each > 0).
      table: ``len(sizes) x len(sizes)`` entries, ``table[source][target]``.
      positions: one ``(size, dim)`` array per population (same unit), for spatial rules
        and distance-dependent values; or ``None``.
      box: periodic box side(s) for the distances, or ``None``.

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
    sizes, entries = _check_table(name, sizes, table)
    _check_positions(name, positions, sizes)
    if positions is not None:
        spatial_inputs(name, positions[0], None, box)  # checks the box and units up front
    key = _core.check_key(name, key)
    n_pops = len(sizes)
    offsets = [int(x) for x in np.cumsum([0, *sizes])]
    n_total = offsets[-1]

    # pairs first: fused into the network kernel where the rule allows it, else the rule's own
    built, fused, value_inits = {}, {}, {kind: [] for kind in _KINDS}
    # every projection's keys (rule, weight, delay) and the fused draw's, in one program
    codes = np.asarray([i * n_pops + j for i, j, _ in entries] + [n_pops * n_pops], np.uint32)
    keys = _projection_keys(key, codes)
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
    check_memory(name, capacity_for(total), "network")
    labels = [f"projection ({i}, {j})" for i, j, _ in entries]
    order = sorted(built)  # built projections' slots first, then one block for the fused ones
    caps = tuple(capacity_for(nnz[p]) for p in order)
    padded = [_pad((built[p].pre, built[p].post), cap) for p, cap in zip(order, caps, strict=True)]
    fused_order = sorted(fused)
    fused_cap = capacity_for(sum(nnz[p] for p in fused_order)) if fused else 0
    inputs = {
        "pre": tuple(x[0] for x in padded),
        "post": tuple(x[1] for x in padded),
        "built": np.asarray(order, np.int32),
        "fused": np.asarray(fused_order, np.int32),
        "fused_sizes": np.asarray([fused[p][:3] for p in fused_order], np.int32).reshape(-1, 3),
        "fused_skip": np.asarray([fused[p][3] for p in fused_order], bool),
        "keys": keys,
        "nnz": np.asarray(nnz, np.int32),
        "pre_offset": np.asarray([offsets[i] for i, _, _ in entries], np.int32),
        "post_offset": np.asarray([offsets[j] for _, j, _ in entries], np.int32),
    }
    projection_of = np.full((n_pops, n_pops), -1, np.int32)
    for p, (i, j, _) in enumerate(entries):
        projection_of[i, j] = p
    inputs["n_total"] = np.int32(n_total)
    inputs["population_start"] = np.asarray(offsets, np.int32)
    inputs["projection_of"] = projection_of
    # pairs pack into one int32 sort key below 46,341 neurons (values that a projection
    # brought along would need the sort to carry them: then the pairs sort as two keys)
    static = {"caps": caps, "fused_cap": fused_cap, "length_unit": None, "packed": n_total**2 < _INT32_MAX}
    geometry = None
    if positions is not None:
        all_positions = _concatenate_positions(name, positions)
        pre_pos, _, box_plain, static["length_unit"] = spatial_inputs(name, all_positions, None, box)
        geometry = (pre_pos, box_plain)

    value_inputs, value_static = {}, {}
    for index, kind in enumerate(_KINDS):
        inits = value_inits[kind]
        if all(init is None for init in inits):
            continue
        drawn = _draw_alone(name, inits, built, lambda p, c=index + 1: key_of(p, c), entries, positions, box)
        groups, stacked, given, unit = _plan_values(name, kind, inits, drawn, labels)
        value_inputs[kind] = {
            "leaves": stacked,
            "given": tuple(
                None if given[p] is None else _pad((given[p],), cap)[0] for p, cap in zip(order, caps, strict=True)
            ),
            "column": index + 1,
        }
        value_static[kind] = (tuple(groups), unit)
        if any(g is not None for g in given):
            static["packed"] = False
    out = _assemble(inputs, value_inputs, geometry, _freeze(static), _freeze(value_static))
    pre, post, *values = trim(tuple(out), total)
    result = {kind: _core.attach_unit(v, value_static[kind][1]) for kind, v in zip(value_inputs, values, strict=True)}
    return Connectivity(pre, post, n_pre=n_total, n_post=n_total, **result)


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
def _projection_keys(key: jax.Array, codes: jax.Array) -> jax.Array:
    """``(len(codes), 3)`` keys: ``split(fold_in(key, code), 3)`` for each code."""
    return jax.vmap(lambda code: jax.random.split(jax.random.fold_in(key, code), 3))(codes)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _assemble(inputs, value_inputs, geometry, static, value_static):
    """The network's synapses in (pre, post) order: the built projections' padded pairs and
    the fused projections' draw, offset to global indices, values drawn per synapse, one
    sort. Sizes and counts are traced; only the capacities are static."""
    static, value_static = dict(static), dict(value_static)
    caps, fused_cap = static["caps"], static["fused_cap"]
    parts_proj, parts_valid, parts_pre, parts_post = [], [], [], []
    for b, cap in enumerate(caps):
        p = inputs["built"][b]
        parts_proj.append(jnp.full(cap, p, jnp.int32))
        parts_valid.append(jnp.arange(cap, dtype=jnp.int32) < inputs["nnz"][p])
        parts_pre.append(inputs["pre"][b])
        parts_post.append(inputs["post"][b])
    if fused_cap:
        slot = jnp.arange(fused_cap, dtype=jnp.int32)
        counts = inputs["fused_sizes"][:, 2]
        ends = jnp.cumsum(counts)
        which = jnp.minimum(jnp.searchsorted(ends, slot, side="right"), counts.shape[0] - 1).astype(jnp.int32)
        n_rows, n_cols = inputs["fused_sizes"][which, 0], inputs["fused_sizes"][which, 1]
        key_rows, key_cols = jax.random.split(inputs["keys"][-1, 0])
        rows = jax.random.randint(key_rows, (fused_cap,), 0, n_rows, dtype=jnp.int32)
        cols = jax.random.randint(key_cols, (fused_cap,), 0, jnp.maximum(n_cols, 1), dtype=jnp.int32)
        cols = jnp.where(inputs["fused_skip"][which] & (cols >= rows), cols + 1, cols)
        parts_proj.append(inputs["fused"][which])
        parts_valid.append(slot < ends[-1])
        parts_pre.append(rows)
        parts_post.append(cols)
    proj, valid = jnp.concatenate(parts_proj), jnp.concatenate(parts_valid)
    pre_local, post_local = jnp.concatenate(parts_pre), jnp.concatenate(parts_post)
    sentinel = jnp.iinfo(jnp.int32).max
    pre = jnp.where(valid, pre_local + inputs["pre_offset"][proj], sentinel)
    post = jnp.where(valid, post_local + inputs["post_offset"][proj], sentinel)
    if static["packed"]:
        # XLA's CPU sort is ~8x faster on one int32 key without payload than on two keys: sort the
        # pairs packed, then draw the values in sorted order (they are independent per synapse
        # given its projection, which the populations of (pre, post) tell)
        n_total = inputs["n_total"]
        packed = jnp.sort(jnp.where(valid, pre * n_total + post, sentinel))
        valid = packed != sentinel
        pre, post = jnp.where(valid, packed // n_total, sentinel), jnp.where(valid, packed % n_total, sentinel)
        starts = inputs["population_start"]
        pop_pre = jnp.searchsorted(starts[1:], jnp.where(valid, pre, 0), side="right")
        pop_post = jnp.searchsorted(starts[1:], jnp.where(valid, post, 0), side="right")
        proj = jnp.maximum(inputs["projection_of"][pop_pre, pop_post], 0)
        pre_local, post_local = pre - starts[pop_pre], post - starts[pop_post]
    locals_ = (proj, pre_local, post_local, pre, post, geometry, static)
    values = [
        _draw_values(value_inputs[kind], inputs["keys"], value_static[kind][0], *locals_)
        for kind in _KINDS
        if kind in value_inputs
    ]
    if static["packed"]:
        return (pre, post, *values)
    # padding carries the sentinel pair, which sorts last and is cut off outside
    return lax.sort((pre, post, *values), num_keys=2)


def _draw_values(inputs, keys, groups, proj, pre_local, post_local, pre, post, geometry, static):
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
        drawn = init.plain(keys[group.members[0], inputs["column"]], (proj.shape[0],), None, ctx)
        if group.factor != 1.0:
            drawn = drawn * group.factor
        member = jnp.asarray(np.isin(np.arange(n_proj), group.members))[proj]
        values = jnp.where(member, drawn.astype(values.dtype), values)
    return values


def _row_of(members: tuple[int, ...], n_proj: int) -> np.ndarray:
    rows = np.zeros(n_proj, np.int32)
    rows[list(members)] = np.arange(len(members))
    return rows

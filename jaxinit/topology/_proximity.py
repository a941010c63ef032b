"""Proximity rules: pairs by their distance, through spatial cells (:mod:`._cells`).

:func:`distance_probability` keeps every pair independently with probability
``clip(profile(d), 0, 1)``; :func:`kernel_connectivity` keeps every pair within a radius
and weights it by a kernel of the displacement. With a cut-off (the profile's
``max_distance``, the kernel's ``radius``) the work is O(n + candidates) through spatial
cells, the candidates a few times the pairs within the cut-off, or, for a distance
probability with a known tail bound, O(n + nnz) by thinning (:mod:`._thinning`); without
a cut-off, the pairs are streamed in blocks (O(n_pre · n_post) work, O(block + nnz) memory).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit.profiles import Profile, _minimum_image, _tail_bound
from jaxinit.topology import _thinning
from jaxinit.topology._cells import best_plan, best_refine, cell_plan, find_pairs, stream_plan, topk_per_post
from jaxinit.topology._checks import check_size
from jaxinit.topology._connectivity import Connectivity, empty
from jaxinit.topology._memory import check_memory
from jaxinit.topology._sampling import padded_within, trim
from jaxinit.topology._shard import check_out_sharding, devices, sharded, sharded_pairs_to_pre_major
from jaxinit.topology._spatial import spatial_inputs, split_callable


def _inputs(name: str, pre_positions: Any, post_positions: Any, box: Any, traced_ok: bool = False):
    """Checked plain positions (device and float64 host copies, ``None`` for traced ones
    where ``traced_ok``), box and unit."""
    for param, value in (("pre_positions", pre_positions), ("post_positions", post_positions), ("box", box)):
        if not traced_ok and value is not None and any(_core.is_traced(x) for x in jax.tree_util.tree_leaves(value)):
            raise TypeError(
                f"{name}: {param} must be concrete, not traced: the spatial cells are laid out on the host before "
                "the pairs are drawn; call it outside jit/vmap and pass the Connectivity in"
            )
    pre_pos, post_pos, box, unit = spatial_inputs(name, pre_positions, post_positions, box)
    _check_dim(name, pre_pos, post_pos)
    # under jit even constant positions or box come out of spatial_inputs traced: no host copies
    if traced_ok and any(_core.is_traced(x) for x in (pre_pos, post_pos, box)):
        return pre_pos, post_pos, box, unit, None, None, None
    host_pre = np.asarray(pre_pos, np.float64)
    host_post = host_pre if post_positions is None else np.asarray(post_pos, np.float64)
    for param, host in (("pre_positions", host_pre), ("post_positions", host_post)):
        if not np.isfinite(host).all():
            at = int(np.argmax(~np.isfinite(host).all(axis=1)))
            raise ValueError(f"{name}: {param} must be finite, got {host[at].tolist()} for neuron {at}")
    host_box = None if box is None else np.asarray(box, np.float64)
    return pre_pos, post_pos, box, unit, host_pre, host_post, host_box


def _check_dim(name: str, pre_pos: Any, post_pos: Any) -> None:
    dim = pre_pos.shape[1]
    if not 1 <= dim <= 3:
        raise ValueError(f"{name}: positions must have 1 to 3 coordinates per neuron, got shape {pre_pos.shape}")
    check_size(name, "pre_positions.shape[0]", pre_pos.shape[0])
    check_size(name, "post_positions.shape[0]", post_pos.shape[0])


def _cutoff(name: str, param: str, value: Any, unit: Any, value_unit: Any = None) -> float:
    """A cut-off length as a plain number in the positions' unit, checked ``> 0``."""
    if value_unit is not None:
        value = _core.attach_unit(value, value_unit)
    if _core.is_quantity(value):
        if unit is None:
            raise ValueError(
                f"{name}: {param} is a Quantity ({value}) but the positions are plain numbers; give both in units "
                "of length, or both plain"
            )
        from jaxinit import units

        value = units.to_plain(name, param, value, unit)
    elif unit is not None:
        raise ValueError(
            f"{name}: {param} is a plain number ({value!r}) but the positions are in {unit}; give it in units of "
            "length too"
        )
    _core.validate(name, {param: value}, {param: _core.POSITIVE})
    return float(np.max(np.asarray(value, np.float64)))


def _probe(name: str, param: str, fn: Callable, value: Any, what: str) -> Any:
    """``fn(value)`` on a tiny input, so that a unit mismatch fails before any work."""
    try:
        return fn(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: {param} cannot take {what}: {error}") from error


def distance_probability(
    key: ArrayLike,
    pre_positions: ArrayLike,
    post_positions: ArrayLike | None = None,
    *,
    profile: Callable[[jax.Array], jax.Array],
    box: ArrayLike | None = None,
    allow_autapse: bool = False,
    capacity: int | None = None,
    out_sharding: NamedSharding | None = None,
) -> Connectivity:
    """Every pair a synapse independently with probability ``clip(profile(distance), 0, 1)``
    (NEST's spatial ``pairwise_bernoulli``, braintools' ``DistanceDependent``).

    When ``profile`` is a :class:`~jaxinit.profiles.Profile` with a ``max_distance``, only
    pairs in neighbouring spatial cells are visited (never all pairs), by whichever of two
    exact paths makes less work:

    * *thinning* (profiles whose tail bound is known: gaussian, exponential, linear,
      sigmoid, power_law, dog, mexican_hat with amplitude >= 0, step): candidates are
      visited at the rate of the profile's bound over each small cell (Poisson visits
      drawn from the key, a visited pair kept with probability ``p(d) / bound``), so the
      work is about ``1.5-3 x nnz`` rather than every candidate within ``max_distance``;
    * *all candidates* (any profile): every pair within the cut-off's cells gets a draw
      that is a function of the key and the pair alone (``threefry2x32`` of ``(pre,
      post)``, kept below ``ceil(p · 2**32)``).

    Otherwise every pair is visited in blocks: O(n_pre · n_post) work, O(block + nnz)
    memory (the same synapses as the all-candidates path for the same key). Either way
    each pair is a synapse with probability exactly ``p(d)``, independently.

    The synapse count is random and sets the output's length, so the key and positions
    must be concrete (call it outside ``jit``) unless a static ``capacity`` is given.
    Memory: 8 bytes per synapse (two int32 indices); while building, about 20 bytes per
    visit (thinning) or per synapse padded to a power of two (all candidates), plus
    ``(n_pre + n_post)`` times a few dozen bytes for the cells.

    Args:
      key: a concrete PRNG key.
      pre_positions: ``(n_pre, dim)`` coordinates, ``dim`` 1 to 3 (``(n,)`` for 1-D);
        plain, or a Quantity of length.
      post_positions: ``(n_post, dim)`` coordinates, or ``None`` for a recurrent
        population at ``pre_positions`` (autapses then excluded unless allowed).
      profile: a callable of distances, e.g. ``jaxinit.profiles.gaussian(0.1,
        max_distance=0.3)``; values are clipped to [0, 1] (NaN counts as 0). Its
        lengths in units when the positions are (converted: ``sigma`` in mm beside
        positions in µm is fine).
      box: periodic box side(s), ``> 0`` (a Quantity when the positions are one), or
        ``None`` for open boundaries.
      allow_autapse: allow ``pre == post`` in a recurrent population.
      capacity: a static length for the arrays, which makes the build work under ``jit``
        and ``vmap`` (a traced key; traced positions too): the synapses, then padding pairs
        ``(n_pre, n_post)``, which every method ignores (see
        :func:`~jaxinit.topology.pairwise_bernoulli`). The pairs are those of the
        all-candidates path (the same synapses as streaming for the same key): through
        the cells when the positions are concrete and the profile has a ``max_distance``,
        else every pair (O(n_pre · n_post) work). A count above ``capacity`` raises
        (``ValueError`` eagerly; under ``jit`` the program fails with that message).
      out_sharding: a ``NamedSharding(mesh, PartitionSpec(axis))``: split the synapses
        over its devices (equal to the unsharded build; padding as in
        :func:`~jaxinit.topology.shard`). Each device draws the pairs onto its share of the
        post neurons (its share of the cells' visits), then one exchange between the
        devices puts them in ``(pre, post)`` order: memory per device about its share of
        the visits plus the exchange's buffers (a few slices). Over one device it is built
        whole and placed.

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)``, distinct pairs, int32 indices.

    Raises:
      TypeError: a traced key, positions or box without ``capacity``; ``profile`` not
        callable.
      ValueError: positions of the wrong shape, of more than 3 dimensions, not finite,
        or of different dimension or unit convention; a bad ``box``; a profile that
        cannot take the positions' distances (units that disagree).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxinit import profiles
      >>> from jaxinit.topology import synapse_distances
      >>> grid = jnp.stack(jnp.meshgrid(jnp.arange(20.0), jnp.arange(20.0)), -1).reshape(-1, 2)
      >>> conn = distance_probability(jax.random.key(0), grid, profile=profiles.gaussian(2.0, max_distance=4.0))
      >>> conn.nnz, conn.pre.dtype, float(synapse_distances(conn, grid).max()) <= 4.0
      (7062, dtype('int32'), True)
    """
    name = "distance_probability"
    out_sharding = check_out_sharding(name, out_sharding)
    split = split_callable(
        name, "profile", profile, "a callable distance profile such as jaxinit.profiles.gaussian(0.1, max_distance=0.3)"
    )
    if capacity is not None:
        capacity = check_size(name, "capacity", capacity, 1)
        if out_sharding is not None:
            raise ValueError(f"{name}: capacity= and out_sharding= cannot be combined; give one of them")
    inputs = _inputs(name, pre_positions, post_positions, box, traced_ok=capacity is not None)
    pre_pos, post_pos, box, unit, host_pre, host_post, host_box = inputs
    # abstractly: a unit mismatch fails while tracing, and no program is compiled
    _probe(name, "profile", lambda d: jax.eval_shape(profile, d), _core.attach_unit(jnp.zeros(1, pre_pos.dtype), unit),
           "the positions' distances")  # fmt: skip
    cutoff = None
    if isinstance(profile, Profile) and profile.params.get("max_distance") is not None:
        cutoff = _cutoff(name, "profile's max_distance", profile.params["max_distance"], unit, profile.unit)
    key = _core.check_key(name, key)
    skip_diagonal = post_positions is None and not allow_autapse
    if capacity is not None:
        check_memory(name, capacity, "fixed_indegree")
        return _pairs_within(key, split, cutoff, inputs, skip_diagonal, capacity)
    if _core.is_traced(key):
        raise TypeError(
            f"{name}: key must be concrete, got a traced key: the synapse count is random and sets the output's "
            "length; call distance_probability outside jit/vmap and pass the Connectivity into the jitted "
            "function, or give a static capacity="
        )
    n_pre, n_post = pre_pos.shape[0], post_pos.shape[0]
    if n_pre * n_post == 0:
        return empty(n_pre, n_post)
    args = (key, profile, split, cutoff, pre_pos, post_pos, box, unit, host_pre, host_post, host_box, skip_diagonal)
    if out_sharding is not None and devices(out_sharding) > 1:  # one device: no exchange, just placed
        return _sharded_bernoulli_pairs(args, out_sharding)
    pre, post, nnz = _bernoulli_pairs(*args)
    pre, post = trim((pre, post), nnz)
    return sharded(Connectivity(pre, post, n_pre=n_pre, n_post=n_post), out_sharding)


def _pairs_within(key, split, cutoff, inputs, skip_diagonal, capacity) -> Connectivity:
    """:func:`distance_probability`'s all-candidates pairs in ``capacity`` slots, then padding
    (the key and positions may be traced)."""
    pre_pos, post_pos, box, unit, host_pre, host_post, host_box = inputs
    n_pre, n_post = pre_pos.shape[0], post_pos.shape[0]
    if n_pre * n_post == 0:
        pre, post = jnp.full(capacity, n_pre, jnp.int32), jnp.full(capacity, n_post, jnp.int32)
        return Connectivity(pre, post, n_pre=n_pre, n_post=n_post)
    refine = None if cutoff is None or host_pre is None else best_refine(host_pre, host_post, host_box, cutoff)[0]
    plan = stream_plan(n_pre, n_post) if refine is None else cell_plan(host_pre, host_post, host_box, cutoff, refine)
    seed = jax.random.bits(key, (2,), jnp.uint32)
    pre, post, count = find_pairs(
        plan, pre_pos, post_pos, box, skip_diagonal=skip_diagonal, seed=seed, profile=split, unit=unit,
        capacity=capacity,
    )  # fmt: skip
    pre, post = padded_within("distance_probability", pre, post, count, True, n_pre, n_post)
    return Connectivity(pre, post, n_pre=n_pre, n_post=n_post)


def _sharded_bernoulli_pairs(args, out_sharding) -> Connectivity:
    """:func:`distance_probability`'s pairs split over the devices of ``out_sharding``: device
    ``d`` draws the pairs onto its share of the post neurons (the same pairs as the whole draw
    has there: each pair's draw is its own), all in one program, then one exchange puts them
    in ``(pre, post)`` order (:func:`~jaxinit.topology._shard.sharded_pairs_to_pre_major`)."""
    n_pre, n_post = args[4].shape[0], args[5].shape[0]
    count = devices(out_sharding)
    bounds = [d * n_post // count for d in range(count + 1)]
    shares = list(zip(bounds[:-1], bounds[1:], strict=True))
    pre, post, counts = _bernoulli_pairs(*args, post_ranges=shares, out_sharding=out_sharding)
    nnz = int(np.sum(counts))
    if nnz == 0:
        return sharded(empty(n_pre, n_post), out_sharding)
    span = max(hi - lo for lo, hi in shares) + 1
    first_post = np.asarray(bounds[:-1], np.int32)
    pre, post = sharded_pairs_to_pre_major(pre, post, first_post, span, nnz, n_pre, n_post, out_sharding)
    return Connectivity(pre, post, n_pre=n_pre, n_post=n_post, n_syn=nnz)


def _bernoulli_pairs(
    key,
    profile,
    split,
    cutoff,
    pre_pos,
    post_pos,
    box,
    unit,
    host_pre,
    host_post,
    host_box,
    skip_diagonal,
    path="auto",
    post_ranges=None,
    out_sharding=None,
):
    """The pairs of :func:`distance_probability` (padded, and their count) by the path that makes
    the least work: ``"thin"`` (visits at the rate of the profile's tail bound: needs a
    :class:`Profile` kind with a known bound and a cut-off), ``"cells"`` (every candidate within
    the cut-off's cells) or ``"stream"`` (every pair). ``split``: the profile as ``(leaves,
    static)``. Tests name a path. ``post_ranges``, ``out_sharding``: shares of the post neurons,
    drawn by the devices (see :func:`~jaxinit.topology._cells.find_pairs`; the path is chosen
    for the whole)."""
    n_pre, n_post = pre_pos.shape[0], post_pos.shape[0]
    refine, cost = (None, None) if cutoff is None else best_refine(host_pre, host_post, host_box, cutoff)
    bound = None if cutoff is None or path in ("cells", "stream") else _tail_bound(profile)
    if bound is not None:
        bound_fn = _thinning.bound_lookup(bound, cutoff, unit)
        layout = _thinning.choose_layout(
            host_pre, host_post, host_box, cutoff, bound_fn, math.inf if path == "thin" else cost
        )
        if layout is not None:
            return _thinning.thinned_pairs(
                layout, host_post, bound_fn, pre_pos, post_pos, box, key=key, profile=split, unit=unit,
                skip_diagonal=skip_diagonal, post_ranges=post_ranges, out_sharding=out_sharding,
            )  # fmt: skip
    if path == "thin":
        raise ValueError("distance_probability: no thinning for this profile and layout")
    if refine is None or path == "stream":
        plan = stream_plan(n_pre, n_post)
    else:
        plan = cell_plan(host_pre, host_post, host_box, cutoff, refine)
    seed = jax.random.bits(key, (2,), jnp.uint32)
    return find_pairs(
        plan, pre_pos, post_pos, box, skip_diagonal=skip_diagonal, seed=seed, profile=split, unit=unit,
        post_ranges=post_ranges, out_sharding=out_sharding,
    )  # fmt: skip


def kernel_connectivity(
    pre_positions: ArrayLike,
    post_positions: ArrayLike | None = None,
    *,
    kernel: Callable[[jax.Array], jax.Array],
    radius: ArrayLike,
    box: ArrayLike | None = None,
    allow_autapse: bool = False,
) -> Connectivity:
    """Every pair within ``radius``, weighted by a kernel of the displacement (a
    convolution between sheets: braintools' Conv2d, Gaussian, Gabor, DoG, Mexican hat,
    Sobel, Laplacian and custom kernels).

    The pairs are found through spatial cells of side about ``radius`` (O(n + nnz)
    work, never all pairs); each synapse's weight is then ``kernel(displacement)``, one
    call on all synapses at once. The displacement is ``pre − post`` (the presynaptic
    neuron's place relative to the postsynaptic one, the shorter way round a periodic
    ``box``), so a kernel reads as a receptive field centred on each post neuron, as a
    convolution's taps are. Deterministic: no key.

    Memory: 12 bytes per synapse (two int32 indices and a float32 weight); while building,
    the pairs padded to a power of two and the cells (a few dozen bytes per neuron).

    Args:
      pre_positions: ``(n_pre, dim)`` coordinates, ``dim`` 1 to 3 (``(n,)`` for 1-D);
        plain, or a Quantity of length.
      post_positions: ``(n_post, dim)`` coordinates, or ``None`` for a recurrent
        population at ``pre_positions`` (autapses then excluded unless allowed).
      kernel: either a callable of displacements ``(nnz, dim) -> (nnz,)`` weights (in
        the positions' unit when they are Quantities; its weights may be Quantities),
        or a radial :class:`~jaxinit.profiles.Profile` such as
        ``profiles.dog(1.0, 3.0)``, applied to the distance.
      radius: pairs with distance ``<= radius`` are connected, ``> 0`` (a Quantity when
        the positions are one).
      box: periodic box side(s), ``> 0``, or ``None`` for open boundaries.
      allow_autapse: allow ``pre == post`` in a recurrent population.

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)`` with ``weight``.

    Raises:
      TypeError: traced positions or box; ``kernel`` not callable.
      ValueError: bad positions, box or radius (see :func:`distance_probability`); a
        kernel that cannot take the displacements or does not return one weight per
        synapse.

    Example:
      A 3 x 3 Sobel filter from one 8 x 8 sheet onto another (the same grid), as taps
      indexed by the integer displacement:

      >>> import jax.numpy as jnp
      >>> grid = jnp.stack(jnp.meshgrid(jnp.arange(8.0), jnp.arange(8.0), indexing="ij"), -1).reshape(-1, 2)
      >>> taps = jnp.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
      >>> def sobel(v):
      ...     i, j = (jnp.round(v).astype(jnp.int32) + 1).T
      ...     return taps[i, j]
      >>> conn = kernel_connectivity(grid, grid, kernel=sobel, radius=1.5)
      >>> conn.nnz, conn.in_degree()[9].item(), conn.to_dense()[:, 9].reshape(8, 8)[:3, :3].tolist()
      (484, 9, [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    """
    name = "kernel_connectivity"
    if not callable(kernel):
        raise TypeError(
            f"{name}: kernel must be a callable of displacements (nnz, dim) -> (nnz,) or a radial profile such as "
            f"jaxinit.profiles.gaussian(1.0), got {kernel!r}"
        )
    pre_pos, post_pos, box, unit, host_pre, host_post, host_box = _inputs(name, pre_positions, post_positions, box)
    cutoff = _cutoff(name, "radius", radius, unit)
    radial = isinstance(kernel, Profile)
    dim = pre_pos.shape[1]

    def weigh(diff):  # plain displacements in, the kernel's weights out
        if radial:
            return kernel(_core.attach_unit(jnp.sqrt(jnp.sum(jnp.square(diff), axis=-1)), unit))
        return kernel(_core.attach_unit(diff, unit))

    probe = _probe(name, "kernel", weigh, jnp.zeros((1, dim), pre_pos.dtype), "displacements (1, dim)")
    if getattr(probe, "shape", None) != (1,):
        raise ValueError(
            f"{name}: kernel must return one weight per synapse, shape (nnz,), got shape "
            f"{getattr(probe, 'shape', None)} for displacements of shape (1, {dim})"
        )
    n_pre, n_post = pre_pos.shape[0], post_pos.shape[0]
    skip_diagonal = post_positions is None and not allow_autapse
    if n_pre * n_post == 0:
        pre = post = jnp.zeros(0, jnp.int32)
    else:
        plan = best_plan(host_pre, host_post, host_box, cutoff)
        pre, post, nnz = find_pairs(plan, pre_pos, post_pos, box, skip_diagonal=skip_diagonal, radius=cutoff)
        pre, post = trim((pre, post), nnz)
    weight = weigh(_minimum_image(pre_pos[pre] - post_pos[post], box))
    return Connectivity(pre, post, n_pre=n_pre, n_post=n_post, weight=weight)


def topk_through_cells(name, key, profile, pre_pos, post_pos, box, unit, split, k, skip_diagonal):
    """:func:`~jaxinit.topology.distance_topology`'s draw through the spatial cells of the
    profile's ``max_distance`` (O(n + candidates) work): post-major pre neurons and the
    candidate check, or ``None`` where cells would not save work or a candidate list would
    not fit one row."""
    cutoff = _cutoff(name, "profile's max_distance", profile.params["max_distance"], unit, profile.unit)
    host_pre = np.asarray(pre_pos, np.float64)
    host_post = host_pre if post_pos is pre_pos else np.asarray(post_pos, np.float64)
    host_box = None if box is None else np.asarray(box, np.float64)
    refine, _ = best_refine(host_pre, host_post, host_box, cutoff)
    if refine is None:
        return None
    plan = cell_plan(host_pre, host_post, host_box, cutoff, refine)
    return topk_per_post(plan, key, pre_pos, post_pos, box, split, unit, k, skip_diagonal)

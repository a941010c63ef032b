"""Combinators: initializers built from initializers.

Each combinator takes initializers (and numbers, arrays or Quantities) and returns
an initializer with the same protocol, so they nest freely and run under ``jit``
and ``vmap``. A combinator splits its key so that no two children share one, and
passes ``dtype`` and the context (``**ctx``) to every child unchanged. Children
with units are converted to one unit (that of the first); mixing unit-free and
unit-carrying parts is an error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit._core import NONNEGATIVE, REAL, ContextInitializer, Initializer, ParametricInitializer
from jaxinit.distributions import affine_form

# --- shared helpers -------------------------------------------------------------


def _units():
    from jaxinit import units

    return units


def _common_unit(name: str, values: Sequence[Any], labels: Sequence[str]) -> tuple[list[Any], Any]:
    if "brainunit" not in sys.modules:
        return list(values), None
    return _units().common_unit(name, values, labels)


def _in_unit(name: str, param: str, value: Any, unit: Any) -> Any:
    """``value`` as a plain number in ``unit`` (``None``: ``value`` must be unit-free)."""
    if unit is not None:
        return _units().to_plain(name, param, value, unit)
    if _core.is_quantity(value):
        raise ValueError(f"{name}: {param} is in {value.unit} but the values it applies to are unit-free")
    return value


def _fit(name: str, param: str, value: Any, like: jax.Array) -> jax.Array:
    """``value`` cast to ``like``'s dtype and lifted to its rank; must broadcast to its shape."""
    array = jnp.asarray(value, like.dtype)
    extra = like.ndim - array.ndim
    if extra < 0 or any(d not in (1, t) for d, t in zip(array.shape, like.shape[extra:], strict=True)):
        raise ValueError(f"{name}: {param} has shape {array.shape}, which does not broadcast to the shape {like.shape}")
    return array.reshape((1,) * extra + array.shape)


def _operand(name: str, param: str, value: Any, like: Any) -> Any:
    """Like :func:`_fit`, keeping the unit of a Quantity ``value``."""
    base = like.mantissa if _core.is_quantity(like) else like
    if _core.is_quantity(value):
        return _core.attach_unit(_fit(name, param, value.mantissa, base), value.unit)
    return _fit(name, param, value, base)


def _check_initializer(name: str, param: str, init: Any) -> None:
    if not callable(init):
        raise TypeError(f"{name}: {param} must be an initializer init(key, shape, dtype=None, **ctx), got {init!r}")


def _check_initializers(name: str, param: str, inits: Sequence[Any]) -> tuple[Initializer, ...]:
    if isinstance(inits, (str, bytes)) or not isinstance(inits, Sequence) or len(inits) == 0:
        raise TypeError(f"{name}: {param} must be a non-empty sequence of initializers, got {inits!r}")
    for i, init in enumerate(inits):
        _check_initializer(name, f"{param}[{i}]", init)
    return tuple(inits)


def _check_number(name: str, param: str, value: Any, rule: _core.Rule = REAL) -> None:
    """Validates a numeric argument, in its own unit when it is a Quantity."""
    plain = value.mantissa if _core.is_quantity(value) else value
    _core.validate(name, {param: plain}, {param: rule})


def _draw(init: Initializer, key: jax.Array, shape, dtype, ctx) -> Any:
    return init(key, shape, dtype, **ctx)


# --- mixture ------------------------------------------------------------------------


def _component_index(key, probabilities, shape):
    """Index of the component of each element: one uniform draw against the CDF."""
    cumulative = jnp.cumsum(probabilities)[:-1]
    u = jax.random.uniform(key, shape, cumulative.dtype)
    index = jnp.zeros(shape, jnp.int32)
    for i in range(cumulative.shape[0]):
        index = index + (u >= cumulative[i]).astype(jnp.int32)
    return index


def _affine_mixture(components):
    """``(standard sampler, locs, scales, unit)`` when every component is ``loc + scale·Z``
    for the same standard Z with scalar parameters; else ``None``."""
    forms = [affine_form(c) for c in components]
    if any(f is None for f in forms) or len({f[0] for f in forms}) != 1:
        return None
    if any(np.ndim(f[1]) or np.ndim(f[2]) for f in forms):
        return None
    units = [c.unit for c in components]
    if all(unit is None for unit in units):
        return forms[0][0], [f[1] for f in forms], [f[2] for f in forms], None
    if any(unit is None for unit in units):
        return None  # the general path reports the mix of unit-free and unit-carrying parts
    target = units[0]
    factors = [_units().to_plain("mixture", f"components[{i}]", 1 * unit, target) for i, unit in enumerate(units)]
    locs = [f[1] * factor for f, factor in zip(forms, factors, strict=True)]
    scales = [f[2] * factor for f, factor in zip(forms, factors, strict=True)]
    return forms[0][0], locs, scales, target


def _mixture(key, shape, dtype, ctx, *, components, weights):
    key_index, key_draw = jax.random.split(key)
    k = len(components)
    weights = jnp.full((k,), 1.0 / k) if weights is None else jnp.asarray(weights)
    probabilities = weights / jnp.sum(weights)
    index = _component_index(key_index, probabilities, shape)
    affine = _affine_mixture(components)
    if affine is not None:
        # one standard draw serves every component: cost ~ one draw plus the index
        standard, locs, scales, unit = affine
        out_dtype, sample_dtype = _core.resolve_dtype("mixture", dtype)
        z = standard(key_draw, shape, sample_dtype)
        loc = jnp.take(jnp.stack([jnp.asarray(v, sample_dtype) for v in locs]), index)
        scale = jnp.take(jnp.stack([jnp.asarray(v, sample_dtype) for v in scales]), index)
        return _core.attach_unit((loc + scale * z).astype(out_dtype), unit)
    keys = jax.random.split(key_draw, k)
    draws = [_draw(c, kk, shape, dtype, ctx) for c, kk in zip(components, keys, strict=True)]
    draws, unit = _common_unit("mixture", draws, [f"components[{i}]" for i in range(k)])
    out = draws[0]
    for i in range(1, k):
        out = jnp.where(index == i, draws[i], out)
    return _core.attach_unit(out, unit)


def mixture(components: Sequence[Initializer], weights: ArrayLike | None = None) -> ContextInitializer:
    """Each element drawn independently from component ``i`` with probability ``weights[i]``.

    When all components are of one location-scale family (all ``normal``, all
    ``uniform`` or all ``exponential``, with scalar parameters) the mixture draws one
    standard variate per element and picks the component's location and scale:
    about the cost of one draw, whatever the number of components. Otherwise every
    component is sampled for every element and the chosen values kept (exact, but
    ``k`` times the cost).

    Args:
      components: initializers (at least one).
      weights: non-negative weights, one per component, normalised to sum to 1;
        ``None`` for equal weights.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      TypeError: ``components`` is not a non-empty sequence of initializers.
      ValueError: ``weights`` has the wrong length, a negative entry or a zero sum.

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> weak_strong = mixture([ji.normal(0.3, 0.05), ji.normal(1.2, 0.2)], weights=[0.7, 0.3])
      >>> x = weak_strong(jax.random.key(0), (100_000,))
      >>> round(float(x.mean()), 2)  # 0.7·0.3 + 0.3·1.2
      0.57
    """
    shown = {"components": list(components) if isinstance(components, Sequence) else components}
    components = _check_initializers("mixture", "components", components)
    with_units = [(i, c) for i, c in enumerate(components) if isinstance(c, ParametricInitializer)]
    known = [(i, c.unit) for i, c in with_units if c.unit is not None]
    if known and len(known) < len(with_units):
        plain = next(i for i, c in with_units if c.unit is None)
        raise ValueError(
            f"mixture: components[{plain}] is unit-free but components[{known[0][0]}] is in {known[0][1]}; "
            "give every component in units"
        )
    for i, unit in known[1:]:
        _units().to_plain("mixture", f"components[{i}]", 1 * unit, known[0][1])
    if weights is not None and not _core.is_traced(weights):
        _core.validate("mixture", {"weights": weights}, {"weights": NONNEGATIVE})
        w = np.asarray(weights, np.float64)
        if w.shape != (len(components),):
            raise ValueError(
                f"mixture: weights must have one entry per component ({len(components)}), got shape {w.shape}"
            )
        if w.sum() <= 0:
            raise ValueError(f"mixture: weights must not all be 0, got {w.tolist()}")
    params = {"components": components, "weights": weights}
    return ContextInitializer("mixture", _mixture, params, {**shown, "weights": weights})


# --- where --------------------------------------------------------------------------


def _is_bool_array(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    if dtype is None and isinstance(value, (bool, list, tuple)):
        dtype = np.asarray(value).dtype
    return dtype is not None and np.dtype(dtype) == np.bool_


def _where(key, shape, dtype, ctx, *, condition, if_true, if_false):
    mask = condition(shape, **ctx) if callable(condition) else condition
    if not _is_bool_array(mask):
        raise TypeError(
            f"where: the condition callable must return a bool array, got {type(mask).__name__} "
            f"with dtype {getattr(mask, 'dtype', None)}"
        )
    key_true, key_false = jax.random.split(key)
    a = _draw(if_true, key_true, shape, dtype, ctx)
    b = _draw(if_false, key_false, shape, dtype, ctx)
    (a, b), unit = _common_unit("where", [a, b], ["if_true", "if_false"])
    mask = _fit("where", "condition", mask, jnp.zeros(shape, bool))
    return _core.attach_unit(jnp.where(mask, a, b), unit)


def where(
    condition: ArrayLike | Callable[..., jax.Array], if_true: Initializer, if_false: Initializer
) -> ContextInitializer:
    """Elementwise choice between two initializers.

    Both children are sampled over the whole shape (each with its own key) and the
    condition picks per element.

    Args:
      condition: a bool array broadcastable to the shape (``(n_pre, 1)`` picks per
        row), or a callable ``condition(shape, **ctx)`` returning one, so the choice
        can depend on context such as neuron types.
      if_true: initializer where the condition holds.
      if_false: initializer elsewhere.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      TypeError: ``condition`` is neither a bool array nor a callable, or a child is
        not an initializer.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> import jaxinit as ji
      >>> is_exc = (jnp.arange(1000) < 800)[:, None]  # rows are pre neurons
      >>> init = where(is_exc, ji.constant(1.0), ji.constant(-4.0))
      >>> w = init(jax.random.key(0), (1000, 10))
      >>> float(w[0].sum()), float(w[999].sum())
      (10.0, -40.0)
    """
    if not callable(condition) and not _is_bool_array(condition):
        raise TypeError(
            "where: condition must be a bool array broadcastable to the shape, or a callable "
            f"condition(shape, **ctx) returning one; got {type(condition).__name__}"
            + (f" with dtype {condition.dtype} (use mask.astype(bool))" if hasattr(condition, "dtype") else "")
        )
    _check_initializer("where", "if_true", if_true)
    _check_initializer("where", "if_false", if_false)
    return ContextInitializer("where", _where, {"condition": condition, "if_true": if_true, "if_false": if_false})


# --- elementwise arithmetic ------------------------------------------------------------


def _scale(key, shape, dtype, ctx, *, init, factor):
    x = _draw(init, key, shape, dtype, ctx)
    return x * _operand("scale", "factor", factor, x)


def scale(init: Initializer, factor: ArrayLike) -> ContextInitializer:
    """``factor * init(...)``.

    Args:
      init: the initializer to scale.
      factor: a number, an array broadcastable to the shape, or a Quantity (which
        gives the result its unit: ``scale(ji.normal(), 1 * u.nS)``).

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> x = scale(ji.normal(0.0, 1.0), 0.5)(jax.random.key(0), (100_000,))
      >>> round(float(x.std()), 2)
      0.5
    """
    _check_initializer("scale", "init", init)
    _check_number("scale", "factor", factor)
    return ContextInitializer("scale", _scale, {"init": init, "factor": factor})


def _shift(key, shape, dtype, ctx, *, init, offset):
    x = _draw(init, key, shape, dtype, ctx)
    (plain,), unit = _common_unit("shift", [x], ["init"])
    offset = _in_unit("shift", "offset", offset, unit)
    return _core.attach_unit(plain + _fit("shift", "offset", offset, plain), unit)


def shift(init: Initializer, offset: ArrayLike) -> ContextInitializer:
    """``init(...) + offset``, e.g. a minimum synaptic delay.

    Args:
      init: the initializer to shift.
      offset: a number, an array broadcastable to the shape, or a Quantity in the
        dimension of ``init``'s values.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> delays = shift(ji.exponential(1.0), 0.5)(jax.random.key(0), (100_000,))
      >>> round(float(delays.min()), 2), round(float(delays.mean()), 1)
      (0.5, 1.5)
    """
    _check_initializer("shift", "init", init)
    _check_number("shift", "offset", offset)
    _check_unit_of("shift", "offset", offset, init)
    return ContextInitializer("shift", _shift, {"init": init, "offset": offset})


def _check_unit_of(name: str, param: str, value: Any, init: Any) -> None:
    """Fails at construction when ``init``'s unit is known and ``value`` cannot match it."""
    if value is None or not isinstance(init, ParametricInitializer):
        return
    if init.unit is None and _core.is_quantity(value):
        raise ValueError(f"{name}: {param} is in {value.unit} but {init!r} is unit-free")
    if init.unit is not None:
        _units().to_plain(name, param, value, init.unit)


def _clip(key, shape, dtype, ctx, *, init, low, high):
    x = _draw(init, key, shape, dtype, ctx)
    (plain,), unit = _common_unit("clip", [x], ["init"])
    low = None if low is None else _fit("clip", "low", _in_unit("clip", "low", low, unit), plain)
    high = None if high is None else _fit("clip", "high", _in_unit("clip", "high", high, unit), plain)
    return _core.attach_unit(jnp.clip(plain, low, high), unit)


def clip(init: Initializer, low: ArrayLike | None = None, high: ArrayLike | None = None) -> ContextInitializer:
    """Clamps ``init``'s values to ``[low, high]``.

    Unlike :func:`jaxinit.truncated_normal` this changes the distribution: the mass
    beyond a bound piles up on it.

    Args:
      init: the initializer to clamp.
      low: lower bound, or ``None``; a number, array or Quantity.
      high: upper bound, or ``None``; must exceed ``low`` when both are given.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      ValueError: both bounds are ``None``, or ``low >= high``.

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> x = clip(ji.normal(0.5, 0.3), low=0.2, high=0.8)(jax.random.key(0), (100_000,))
      >>> round(float(x.min()), 6), round(float(x.max()), 6)
      (0.2, 0.8)
    """
    _check_initializer("clip", "init", init)
    if low is None and high is None:
        raise ValueError("clip: give low, high or both (both None would change nothing)")
    for param, value in (("low", low), ("high", high)):
        if value is not None:
            _check_number("clip", param, value)
            _check_unit_of("clip", param, value, init)
    if low is not None and high is not None:
        (lo, hi), _ = _common_unit("clip", [low, high], ["low", "high"])
        _core.validate("clip", {"low": lo, "high": hi}, {}, ordered=("low", "high"))
    return ContextInitializer("clip", _clip, {"init": init, "low": low, "high": high})


def _transform(key, shape, dtype, ctx, *, init, fn):
    return fn(_draw(init, key, shape, dtype, ctx))


def transform(init: Initializer, fn: Callable[[jax.Array], jax.Array]) -> ContextInitializer:
    """``fn(init(...))`` for an elementwise ``fn``, e.g. ``jnp.abs``.

    Args:
      init: the initializer whose values are transformed.
      fn: an elementwise function (pass a module-level function, not a lambda, if
        the initializer must be picklable).

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> import jaxinit as ji
      >>> x = transform(ji.normal(), jnp.abs)(jax.random.key(0), (1000,))
      >>> bool(x.min() >= 0)
      True
    """
    _check_initializer("transform", "init", init)
    if not callable(fn):
        raise TypeError(f"transform: fn must be a callable applied elementwise, got {fn!r}")
    return ContextInitializer("transform", _transform, {"init": init, "fn": fn})


def _add(key, shape, dtype, ctx, *, inits):
    keys = jax.random.split(key, len(inits))
    draws = [_draw(init, k, shape, dtype, ctx) for init, k in zip(inits, keys, strict=True)]
    draws, unit = _common_unit("add", draws, [f"inits[{i}]" for i in range(len(inits))])
    total = draws[0]
    for x in draws[1:]:
        total = total + x
    return _core.attach_unit(total, unit)


def add(*inits: Initializer) -> ContextInitializer:
    """Elementwise sum of independent draws, one key per initializer.

    Args:
      *inits: one or more initializers; with units, all of one dimension.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> x = add(ji.normal(), ji.normal())(jax.random.key(0), (200_000,))
      >>> round(float(x.std()), 2)  # √2: independent draws
      1.41
    """
    inits = _check_initializers("add", "inits", inits)
    return ContextInitializer("add", _add, {"inits": inits})


def _multiply(key, shape, dtype, ctx, *, inits):
    keys = jax.random.split(key, len(inits))
    product = _draw(inits[0], keys[0], shape, dtype, ctx)
    for init, k in zip(inits[1:], keys[1:], strict=True):
        product = product * _draw(init, k, shape, dtype, ctx)
    return product


def multiply(*inits: Initializer) -> ContextInitializer:
    """Elementwise product of independent draws, e.g. a sparse mask times weights.

    Args:
      *inits: one or more initializers; units multiply.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> sparse = multiply(ji.bernoulli(0.1), ji.lognormal(1.0, 0.5))
      >>> x = sparse(jax.random.key(0), (100_000,))
      >>> round(float((x > 0).mean()), 2), round(float(x.mean()), 2)
      (0.1, 0.1)
    """
    inits = _check_initializers("multiply", "inits", inits)
    return ContextInitializer("multiply", _multiply, {"inits": inits})


# --- distance and blocks --------------------------------------------------------------

_DISTANCES_HELP = (
    "modulate_by_distance: needs the context array `distances`; call init(key, shape, distances=d) with d "
    "broadcastable to shape, e.g. d = jaxinit.profiles.pairwise_distances(pre_positions, post_positions)"
)


def _modulate_by_distance(key, shape, dtype, ctx, *, base, profile, min_weight):
    if "distances" not in ctx:
        raise ValueError(_DISTANCES_HELP)
    w = _draw(base, key, shape, dtype, ctx)
    (plain,), unit = _common_unit("modulate_by_distance", [w], ["base"])
    factor = _fit("modulate_by_distance", "profile(distances)", profile(ctx["distances"]), plain)
    plain = plain * factor
    if min_weight is not None:
        floor = _in_unit("modulate_by_distance", "min_weight", min_weight, unit)
        plain = jnp.maximum(plain, _fit("modulate_by_distance", "min_weight", floor, plain))
    return _core.attach_unit(plain, unit)


def modulate_by_distance(
    base: Initializer, profile: Callable[[jax.Array], jax.Array], min_weight: ArrayLike | None = None
) -> ContextInitializer:
    """``base(...) * profile(distances)``, floored at ``min_weight``.

    The distances come from the context: ``init(key, shape, distances=d)``.

    Args:
      base: the initializer of the weights before modulation.
      profile: a distance profile (see :mod:`jaxinit.profiles`) or any function of
        the distances returning a dimensionless factor.
      min_weight: floor applied after modulation, or ``None``; in ``base``'s unit
        when it has one.

    Returns:
      An initializer ``init(key, shape, dtype=None, distances=..., **ctx)``.

    Raises:
      ValueError: at call time, when ``distances`` is not in the context.

    Example:
      >>> import jax, jax.numpy as jnp, numpy as np
      >>> import jaxinit as ji
      >>> init = modulate_by_distance(ji.constant(1.0), ji.profiles.gaussian(100.0), min_weight=0.05)
      >>> np.asarray(init(jax.random.key(0), (3,), distances=jnp.array([0.0, 100.0, 1000.0]))).round(3)
      array([1.   , 0.607, 0.05 ], dtype=float32)
    """
    _check_initializer("modulate_by_distance", "base", base)
    if not callable(profile):
        raise TypeError(f"modulate_by_distance: profile must be a function of the distances, got {profile!r}")
    if min_weight is not None:
        _check_number("modulate_by_distance", "min_weight", min_weight)
        _check_unit_of("modulate_by_distance", "min_weight", min_weight, base)
    return ContextInitializer(
        "modulate_by_distance", _modulate_by_distance, {"base": base, "profile": profile, "min_weight": min_weight}
    )


def _slice_context(value: Any, rows: slice, cols: slice, full: tuple[int, int], name: str) -> Any:
    """A 2-D context array cut to one block (axes of size 1 broadcast and stay)."""
    if getattr(value, "ndim", 0) != 2:
        return value
    for axis, size in enumerate(value.shape):
        if size not in (1, full[axis]):
            raise ValueError(
                f"blocks: context array {name!r} has shape {tuple(value.shape)}, which does not broadcast to "
                f"the full matrix shape {full}"
            )
    return value[rows if value.shape[0] != 1 else slice(None), cols if value.shape[1] != 1 else slice(None)]


def _blocks(key, shape, dtype, ctx, *, pre_sizes, post_sizes, table):
    full = (sum(pre_sizes), sum(post_sizes))
    if shape != full:
        raise ValueError(f"blocks: shape must be (sum(pre_sizes), sum(post_sizes)) = {full}, got {shape}")
    keys = jax.random.split(key, len(pre_sizes) * len(post_sizes))
    row_starts = np.cumsum([0, *pre_sizes])
    col_starts = np.cumsum([0, *post_sizes])
    parts, labels = [], []
    for i, row in enumerate(table):
        rows = slice(int(row_starts[i]), int(row_starts[i + 1]))
        for j, init in enumerate(row):
            cols = slice(int(col_starts[j]), int(col_starts[j + 1]))
            labels.append(f"table[{i}][{j}]")
            if init is None:
                parts.append(None)
                continue
            block_ctx = {name: _slice_context(v, rows, cols, full, name) for name, v in ctx.items()}
            parts.append(_draw(init, keys[i * len(post_sizes) + j], (pre_sizes[i], post_sizes[j]), dtype, block_ctx))
    parts, unit = _common_unit("blocks", parts, labels)
    given = next((p for p in parts if p is not None), None)
    zeros_dtype = given.dtype if given is not None else _core.resolve_dtype("blocks", dtype, any_dtype=True)[0]
    grid = [
        [
            jnp.zeros((pre_sizes[i], post_sizes[j]), zeros_dtype)
            if parts[i * len(post_sizes) + j] is None
            else parts[i * len(post_sizes) + j]
            for j in range(len(post_sizes))
        ]
        for i in range(len(pre_sizes))
    ]
    return _core.attach_unit(jnp.block(grid), unit)


def _check_sizes(param: str, sizes: Any) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in sizes)
    except (TypeError, ValueError):
        raise TypeError(f"blocks: {param} must be a sequence of ints, got {sizes!r}") from None
    if not sizes or any(s < 0 for s in sizes):
        raise ValueError(f"blocks: {param} must be a non-empty sequence of sizes >= 0, got {sizes}")
    return sizes


def blocks(
    pre_sizes: Sequence[int], post_sizes: Sequence[int], table: Sequence[Sequence[Initializer | None]]
) -> ContextInitializer:
    """A 2-D matrix assembled from one initializer per (pre population, post population).

    Called with shape ``(sum(pre_sizes), sum(post_sizes))``; block ``(i, j)`` is
    ``table[i][j](key_ij, (pre_sizes[i], post_sizes[j]), dtype, **ctx_ij)``, where
    each 2-D context array (e.g. the full distance matrix) is cut to the block. One
    call builds a whole E/I or multi-cell-type weight matrix.

    Args:
      pre_sizes: sizes of the pre (row) populations.
      post_sizes: sizes of the post (column) populations.
      table: ``len(pre_sizes)`` rows of ``len(post_sizes)`` initializers; ``None``
        for a block of zeros.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      TypeError, ValueError: the sizes or the table are malformed (at construction),
        or the shape is not ``(sum(pre_sizes), sum(post_sizes))`` (at call time).

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> ei = blocks([3, 1], [3, 1], [[ji.constant(1.0), ji.constant(2.0)], [ji.constant(-4.0), None]])
      >>> ei(jax.random.key(0), (4, 4))
      Array([[ 1.,  1.,  1.,  2.],
             [ 1.,  1.,  1.,  2.],
             [ 1.,  1.,  1.,  2.],
             [-4., -4., -4.,  0.]], dtype=float32)
    """
    pre_sizes = _check_sizes("pre_sizes", pre_sizes)
    post_sizes = _check_sizes("post_sizes", post_sizes)
    if isinstance(table, (str, bytes)) or not isinstance(table, Sequence) or len(table) != len(pre_sizes):
        raise ValueError(f"blocks: table must have one row per pre population ({len(pre_sizes)} rows), got {table!r}")
    rows = []
    for i, row in enumerate(table):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence) or len(row) != len(post_sizes):
            raise ValueError(
                f"blocks: table[{i}] must have one entry per post population ({len(post_sizes)}), got {row!r}"
            )
        for j, init in enumerate(row):
            if init is not None:
                _check_initializer("blocks", f"table[{i}][{j}]", init)
        rows.append(tuple(row))
    return ContextInitializer(
        "blocks", _blocks, {"pre_sizes": pre_sizes, "post_sizes": post_sizes, "table": tuple(rows)}
    )

"""Combinators: initializers built from initializers.

Each combinator takes initializers (and numbers, arrays or Quantities) and returns
an initializer with the same protocol, so they nest freely and run under ``jit``
and ``vmap``. A combinator splits its key so that no two children share one, and
passes ``dtype`` and the context (``**ctx``) to every child unchanged. Children
with units are converted to one unit (that of the first); mixing unit-free and
unit-carrying parts is an error.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit._core import NONNEGATIVE, REAL, ContextInitializer, Initializer
from jaxinit.distributions import affine_form

# --- shared helpers -------------------------------------------------------------


def _units():
    from jaxinit import units

    return units


def _common_unit(name: str, inits: Sequence[Any], labels: Sequence[str]) -> Any:
    """The unit of the children's values, checked when the combinator is built.

    Plain functions (not jaxinit initializers) have no known unit and are left out;
    :func:`jaxinit._core.draw` checks what they return.
    """
    known = [(_core.unit_of(i), label) for i, label in zip(inits, labels, strict=True) if isinstance(i, _core.Base)]
    if not known or all(unit is None for unit, _ in known):
        return None
    return _units().common_unit(name, [unit for unit, _ in known], [label for _, label in known])


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


def _mantissa(value: Any) -> Any:
    return value.mantissa if _core.is_quantity(value) else value


def _check_initializer(name: str, param: str, init: Any) -> None:
    if not callable(init):
        raise TypeError(f"{name}: {param} must be an initializer init(key, shape, dtype=None, **ctx), got {init!r}")


def _check_initializers(name: str, param: str, inits: Sequence[Any]) -> tuple[Initializer, ...]:
    if isinstance(inits, (str, bytes)) or not isinstance(inits, Sequence):
        raise TypeError(f"{name}: {param} must be a non-empty sequence of initializers, got {inits!r}")
    if len(inits) == 0:
        raise ValueError(f"{name}: {param} must be a non-empty sequence of initializers, got an empty one")
    for i, init in enumerate(inits):
        _check_initializer(name, f"{param}[{i}]", init)
    return tuple(inits)


def _check_number(name: str, param: str, value: Any, rule: _core.Rule = REAL) -> None:
    """Validates a numeric argument, in its own unit when it is a Quantity."""
    _core.validate(name, {param: _mantissa(value)}, {param: rule})


def _check_unit_of(name: str, param: str, value: Any, unit: Any) -> None:
    """Fails at construction when ``value`` cannot be expressed in ``unit`` (the values' unit)."""
    if value is not None:
        _in_unit(name, param, value, unit)


# --- mixture ------------------------------------------------------------------------


def _thresholds(weights: jax.Array) -> jax.Array:
    """Cumulative thresholds of the component choice, exact for zero weights.

    Weights are divided by their largest entry before summing, so huge or tiny
    (subnormal) weights neither overflow nor underflow. The rounded cumulative sum
    may end just below 1: every threshold from the last positive weight on is +inf,
    so a zero-weight component is never chosen, and a zero weight in the middle
    leaves an empty interval because adding 0 repeats the threshold exactly.
    """
    w = weights / jnp.max(weights)
    cumulative = jnp.cumsum(w / jnp.sum(w))[:-1]
    last_positive = jnp.max(jnp.where(w > 0, jnp.arange(w.shape[0]), 0))
    return jnp.where(jnp.arange(w.shape[0] - 1) >= last_positive, jnp.inf, cumulative)


def _component_index(key, weights, shape):
    """Index of the component of each element: one uniform draw against the thresholds."""
    thresholds = _thresholds(weights)
    u = jax.random.uniform(key, shape, thresholds.dtype)
    index = jnp.zeros(shape, jnp.int32)
    for i in range(thresholds.shape[0]):
        index = index + (u >= thresholds[i]).astype(jnp.int32)
    return index


def _affine_mixture(components, unit):
    """``(standard sampler, locs, scales)`` when every component is ``loc + scale·Z`` for the
    same standard Z with scalar parameters (locs and scales in ``unit``); else ``None``."""
    forms = [affine_form(c) for c in components]
    if any(f is None for f in forms) or len({f[0] for f in forms}) != 1:
        return None
    if any(np.ndim(f[1]) or np.ndim(f[2]) for f in forms):
        return None
    factors = [1.0 if unit is None or c.unit == unit else _units().conversion_factor(c.unit, unit) for c in components]
    locs = [f[1] * factor for f, factor in zip(forms, factors, strict=True)]
    scales = [f[2] * factor for f, factor in zip(forms, factors, strict=True)]
    return forms[0][0], locs, scales


def _mixture(key, shape, dtype, ctx, *, components, weights, unit):
    key_index, key_draw = jax.random.split(key)
    k = len(components)
    if weights is None:
        weights = np.ones(k)
    elif isinstance(weights, np.ndarray):
        weights = weights / weights.max()  # in float64, before a narrower cast can overflow or flush to 0
    weights = jnp.asarray(weights, jax.dtypes.canonicalize_dtype(float))
    index = _component_index(key_index, weights, shape)
    affine = _affine_mixture(components, unit)
    if affine is not None:
        # one standard draw serves every component: cost ~ one draw plus the index
        standard, locs, scales = affine
        out_dtype, sample_dtype = _core.resolve_dtype("mixture", dtype)
        z = standard(key_draw, shape, sample_dtype)
        loc = jnp.take(jnp.stack([jnp.asarray(v, sample_dtype) for v in locs]), index)
        scale = jnp.take(jnp.stack([jnp.asarray(v, sample_dtype) for v in scales]), index)
        return (loc + scale * z).astype(out_dtype)
    keys = jax.random.split(key_draw, k)
    draws = [
        _core.draw("mixture", f"components[{i}]", c, kk, shape, dtype, ctx, unit)
        for i, (c, kk) in enumerate(zip(components, keys, strict=True))
    ]
    out = draws[0]
    for i in range(1, k):
        out = jnp.where(index == i, draws[i], out)
    return out


def mixture(components: Sequence[Initializer], weights: ArrayLike | None = None) -> Initializer:
    """Each element drawn independently from component ``i`` with probability ``weights[i]``.

    When all components are of one location-scale family (all ``normal``, all
    ``uniform`` or all ``exponential``, with scalar parameters) the mixture draws one
    standard variate per element and picks the component's location and scale:
    about the cost of one draw, whatever the number of components. Otherwise every
    component is sampled for every element and the chosen values kept (exact, but
    ``k`` times the cost). The choice is exact: a component of weight 0 is never
    drawn.

    Args:
      components: initializers (at least one); with units, all of one dimension.
      weights: non-negative weights, one per component, normalised to sum to 1;
        ``None`` for equal weights.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      TypeError: ``components`` is not a sequence of initializers.
      ValueError: ``components`` is empty.
      ValueError: ``weights`` has the wrong length, a negative entry or a zero sum, or
        the components' units disagree.

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> weak_strong = mixture([ji.normal(0.3, 0.05), ji.normal(1.2, 0.2)], weights=[0.7, 0.3])
      >>> x = weak_strong(jax.random.key(0), (100_000,))
      >>> round(float(x.mean()), 2)  # 0.7·0.3 + 0.3·1.2
      0.57
    """
    components = _check_initializers("mixture", "components", components)
    labels = [f"components[{i}]" for i in range(len(components))]
    unit = _common_unit("mixture", components, labels)
    if weights is not None and not _core.is_traced(weights):
        _core.validate("mixture", {"weights": weights}, {"weights": NONNEGATIVE})
        w = np.asarray(weights, np.float64)
        if w.shape != (len(components),):
            raise ValueError(
                f"mixture: weights must have one entry per component ({len(components)}), got shape {w.shape}"
            )
        if not w.any():
            raise ValueError(f"mixture: weights must not all be 0, got {w.tolist()}")
        weights = w
    params = {"components": components, "weights": weights, "unit": unit}
    return ContextInitializer("mixture", _mixture, params, ("components", "weights"), static=("unit",), unit=unit)


# --- where --------------------------------------------------------------------------


def _is_bool_array(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    if dtype is None and isinstance(value, (bool, list, tuple)):
        dtype = np.asarray(value).dtype
    return dtype is not None and np.dtype(dtype) == np.bool_


def _where(key, shape, dtype, ctx, *, condition, if_true, if_false, unit):
    mask = condition(shape, **ctx) if callable(condition) else condition
    if not _is_bool_array(mask):
        raise TypeError(
            f"where: the condition callable must return a bool array, got {type(mask).__name__} "
            f"with dtype {getattr(mask, 'dtype', None)}"
        )
    key_true, key_false = jax.random.split(key)
    a = _core.draw("where", "if_true", if_true, key_true, shape, dtype, ctx, unit)
    b = _core.draw("where", "if_false", if_false, key_false, shape, dtype, ctx, unit)
    mask = _fit("where", "condition", mask, jnp.zeros(shape, bool))
    return jnp.where(mask, a, b)


def where(condition: ArrayLike | Callable[..., jax.Array], if_true: Initializer, if_false: Initializer) -> Initializer:
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
    unit = _common_unit("where", [if_true, if_false], ["if_true", "if_false"])
    params = {"condition": condition, "if_true": if_true, "if_false": if_false, "unit": unit}
    return ContextInitializer(
        "where", _where, params, ("condition", "if_true", "if_false"), static=("unit",), unit=unit
    )


# --- elementwise arithmetic ------------------------------------------------------------


def _scale(key, shape, dtype, ctx, *, init, factor):
    x = _core.draw("scale", "init", init, key, shape, dtype, ctx)
    return x * _fit("scale", "factor", _mantissa(factor), x)


def scale(init: Initializer, factor: ArrayLike) -> Initializer:
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
    factor_unit = factor.unit if _core.is_quantity(factor) else None
    unit = _units().product(_core.unit_of(init), factor_unit) if factor_unit is not None else _core.unit_of(init)
    return ContextInitializer("scale", _scale, {"init": init, "factor": factor}, unit=unit)


def _shift(key, shape, dtype, ctx, *, init, offset):
    x = _core.draw("shift", "init", init, key, shape, dtype, ctx)
    return x + _fit("shift", "offset", _in_unit("shift", "offset", offset, _core.unit_of(init)), x)


def shift(init: Initializer, offset: ArrayLike) -> Initializer:
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
    _check_unit_of("shift", "offset", offset, _core.unit_of(init))
    return ContextInitializer("shift", _shift, {"init": init, "offset": offset}, unit=_core.unit_of(init))


def _clip(key, shape, dtype, ctx, *, init, low, high):
    x = _core.draw("clip", "init", init, key, shape, dtype, ctx)
    unit = _core.unit_of(init)
    low = None if low is None else _fit("clip", "low", _in_unit("clip", "low", low, unit), x)
    high = None if high is None else _fit("clip", "high", _in_unit("clip", "high", high, unit), x)
    return jnp.clip(x, low, high)


def clip(init: Initializer, low: ArrayLike | None = None, high: ArrayLike | None = None) -> Initializer:
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
            _check_unit_of("clip", param, value, _core.unit_of(init))
    if low is not None and high is not None:
        unit = _core.unit_of(init)
        lo, hi = _in_unit("clip", "low", low, unit), _in_unit("clip", "high", high, unit)
        _core.validate("clip", {"low": lo, "high": hi}, {}, ordered=("low", "high"))
    return ContextInitializer("clip", _clip, {"init": init, "low": low, "high": high}, unit=_core.unit_of(init))


def _transform(key, shape, dtype, ctx, *, init, fn):
    x = _core.draw("transform", "init", init, key, shape, dtype, ctx)
    unit = _core.unit_of(init)
    if unit is None:
        return fn(x)
    # fn sees the values as the user does, in their unit, and must keep their dimension
    return _in_unit("transform", "fn(values)", fn(_core.attach_unit(x, unit)), unit)


def transform(init: Initializer, fn: Callable[[jax.Array], jax.Array]) -> Initializer:
    """``fn(init(...))`` for an elementwise ``fn``, e.g. ``jnp.abs``.

    Args:
      init: the initializer whose values are transformed.
      fn: an elementwise function (pass a module-level function, not a lambda, if
        the initializer must be picklable). When ``init`` has units, ``fn`` receives
        the Quantity (``lambda x: u.math.maximum(x, 1.0 * u.nS)`` works) and must
        return values of the same dimension.

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
    return ContextInitializer("transform", _transform, {"init": init, "fn": fn}, unit=_core.unit_of(init))


def _add(key, shape, dtype, ctx, *, inits, unit):
    keys = jax.random.split(key, len(inits))
    draws = [
        _core.draw("add", f"inits[{i}]", init, k, shape, dtype, ctx, unit)
        for i, (init, k) in enumerate(zip(inits, keys, strict=True))
    ]
    total = draws[0]
    for x in draws[1:]:
        total = total + x
    return total


def add(*inits: Initializer) -> Initializer:
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
    unit = _common_unit("add", inits, [f"inits[{i}]" for i in range(len(inits))])
    return ContextInitializer("add", _add, {"inits": inits, "unit": unit}, ("inits",), static=("unit",), unit=unit)


def _multiply(key, shape, dtype, ctx, *, inits):
    keys = jax.random.split(key, len(inits))
    product = _core.draw("multiply", "inits[0]", inits[0], keys[0], shape, dtype, ctx)
    for i, (init, k) in enumerate(zip(inits[1:], keys[1:], strict=True), start=1):
        product = product * _core.draw("multiply", f"inits[{i}]", init, k, shape, dtype, ctx)
    return product


def multiply(*inits: Initializer) -> Initializer:
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
    unit = None
    for init in inits:
        unit = _units().product(unit, _core.unit_of(init)) if _core.unit_of(init) is not None else unit
    return ContextInitializer("multiply", _multiply, {"inits": inits}, unit=unit)


# --- distance and blocks --------------------------------------------------------------

_DISTANCES_HELP = (
    "modulate_by_distance: needs the context array `distances`; call init(key, shape, distances=d) with d "
    "broadcastable to shape, e.g. d = jaxinit.profiles.pairwise_distances(pre_positions, post_positions)"
)


def _modulate_by_distance(key, shape, dtype, ctx, *, base, profile, min_weight):
    if "distances" not in ctx:
        raise ValueError(_DISTANCES_HELP)
    w = _core.draw("modulate_by_distance", "base", base, key, shape, dtype, ctx)
    w = w * _fit("modulate_by_distance", "profile(distances)", profile(ctx["distances"]), w)
    if min_weight is not None:
        floor = _in_unit("modulate_by_distance", "min_weight", min_weight, _core.unit_of(base))
        w = jnp.maximum(w, _fit("modulate_by_distance", "min_weight", floor, w))
    return w


def modulate_by_distance(
    base: Initializer, profile: Callable[[jax.Array], jax.Array], min_weight: ArrayLike | None = None
) -> Initializer:
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
        _check_unit_of("modulate_by_distance", "min_weight", min_weight, _core.unit_of(base))
    params = {"base": base, "profile": profile, "min_weight": min_weight}
    return ContextInitializer("modulate_by_distance", _modulate_by_distance, params, unit=_core.unit_of(base))


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


def _blocks(key, shape, dtype, ctx, *, pre_sizes, post_sizes, table, unit, autapses):
    full = (sum(pre_sizes), sum(post_sizes))
    if shape != full:
        raise ValueError(f"blocks: shape must be (sum(pre_sizes), sum(post_sizes)) = {full}, got {shape}")
    keys = jax.random.split(key, len(pre_sizes) * len(post_sizes))
    row_starts = np.cumsum([0, *pre_sizes])
    col_starts = np.cumsum([0, *post_sizes])
    parts = {}
    for i, row in enumerate(table):
        rows = slice(int(row_starts[i]), int(row_starts[i + 1]))
        for j, init in enumerate(row):
            if init is not None:
                cols = slice(int(col_starts[j]), int(col_starts[j + 1]))
                block_ctx = {name: _slice_context(v, rows, cols, full, name) for name, v in ctx.items()}
                block_key = keys[i * len(post_sizes) + j]
                block_shape = (pre_sizes[i], post_sizes[j])
                parts[i, j] = _core.draw(
                    "blocks", f"table[{i}][{j}]", init, block_key, block_shape, dtype, block_ctx, unit
                )
    zeros_dtype = (
        next(iter(parts.values())).dtype if parts else _core.resolve_dtype("blocks", dtype, _core.ANY_DTYPE)[0]
    )
    grid = [
        [parts.get((i, j), jnp.zeros((pre_sizes[i], post_sizes[j]), zeros_dtype)) for j in range(len(post_sizes))]
        for i in range(len(pre_sizes))
    ]
    out = jnp.block(grid)
    if autapses:
        return out
    # zeroed after drawing, so that every other element is bit-identical to autapses=True
    diagonal = jnp.arange(full[0])
    return out.at[diagonal, diagonal].set(jnp.zeros((), out.dtype))


def _check_sizes(param: str, sizes: Any) -> tuple[int, ...]:
    try:
        sizes = tuple(operator.index(s) for s in sizes)
    except TypeError:
        raise TypeError(f"blocks: {param} must be a sequence of ints, got {sizes!r}") from None
    if not sizes or any(s < 0 for s in sizes):
        raise ValueError(f"blocks: {param} must be a non-empty sequence of sizes >= 0, got {sizes}")
    return sizes


def blocks(
    pre_sizes: Sequence[int],
    post_sizes: Sequence[int],
    table: Sequence[Sequence[Initializer | None]],
    *,
    autapses: bool = True,
) -> Initializer:
    """A 2-D matrix assembled from one initializer per (pre population, post population).

    Called with shape ``(sum(pre_sizes), sum(post_sizes))``; block ``(i, j)`` is
    ``table[i][j](key_ij, (pre_sizes[i], post_sizes[j]), dtype, **ctx_ij)``, where
    each 2-D context array (e.g. the full distance matrix) is cut to the block. One
    call builds a whole E/I or multi-cell-type weight matrix.

    With ``autapses=False`` the rows and the columns are the same neurons (a
    recurrent matrix), and no neuron connects to itself: ``w[i, i] = 0`` on the
    diagonal of every diagonal block ``(k, k)``, which is the diagonal of the whole
    matrix. Every other element is bit-identical to ``autapses=True`` for the same
    key (the diagonal is drawn, then zeroed).

    Args:
      pre_sizes: sizes of the pre (row) populations.
      post_sizes: sizes of the post (column) populations.
      table: ``len(pre_sizes)`` rows of ``len(post_sizes)`` initializers; ``None``
        for a block of zeros.
      autapses: keep self-connections (default). ``False`` zeroes the diagonal and
        needs ``post_sizes == pre_sizes`` (one recurrent set of populations).

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      TypeError, ValueError: the sizes, the table or ``autapses`` are malformed, or
        ``autapses=False`` with ``post_sizes != pre_sizes`` (at construction), or the
        shape is not ``(sum(pre_sizes), sum(post_sizes))`` (at call time).

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> ei = blocks([3, 1], [3, 1], [[ji.constant(1.0), ji.constant(2.0)], [ji.constant(-4.0), None]])
      >>> ei(jax.random.key(0), (4, 4))
      Array([[ 1.,  1.,  1.,  2.],
             [ 1.,  1.,  1.,  2.],
             [ 1.,  1.,  1.,  2.],
             [-4., -4., -4.,  0.]], dtype=float32)
      >>> recurrent = blocks([3, 1], [3, 1], [[ji.constant(1.0), ji.constant(2.0)], [ji.constant(-4.0), None]],
      ...                    autapses=False)
      >>> recurrent(jax.random.key(0), (4, 4))
      Array([[ 0.,  1.,  1.,  2.],
             [ 1.,  0.,  1.,  2.],
             [ 1.,  1.,  0.,  2.],
             [-4., -4., -4.,  0.]], dtype=float32)
    """
    pre_sizes = _check_sizes("pre_sizes", pre_sizes)
    post_sizes = _check_sizes("post_sizes", post_sizes)
    if not isinstance(autapses, (bool, np.bool_)):
        raise TypeError(f"blocks: autapses must be True or False, got {autapses!r}")
    autapses = bool(autapses)
    if not autapses and post_sizes != pre_sizes:
        raise ValueError(
            "blocks: autapses=False needs the same populations for rows and columns (post_sizes == pre_sizes), "
            f"got pre_sizes={pre_sizes}, post_sizes={post_sizes}; zero the diagonal yourself if your "
            "populations line up differently"
        )
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
    table = tuple(rows)
    labels = [f"table[{i}][{j}]" for i, row in enumerate(table) for j in range(len(row))]
    unit = _common_unit("blocks", [init for row in table for init in row], labels)
    params = {"pre_sizes": pre_sizes, "post_sizes": post_sizes, "table": table, "unit": unit, "autapses": autapses}
    # the repr names autapses only when it differs from the default, so existing reprs are unchanged
    shown = ("pre_sizes", "post_sizes", "table") + (() if autapses else ("autapses",))
    return ContextInitializer(
        "blocks",
        _blocks,
        params,
        shown,
        static=("pre_sizes", "post_sizes", "unit", "autapses"),
        unit=unit,
    )

"""The initializer protocol: key, shape and dtype handling, and parameter validation.

Every jaxinit initializer is called as ``init(key, shape, dtype=None, **ctx)``. The
checks on those arguments and on constructor parameters live here, once, so that
every initializer rejects bad input with the same kind of message.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

Shape = int | Sequence[int]


class Initializer(Protocol):
    """What every jaxinit initializer is: ``init(key, shape, dtype=None, **ctx)``.

    Positional ``(key, shape, dtype)`` is the ``jax.nn.initializers`` and Flax
    ``kernel_init`` calling convention; ``ctx`` holds named context arrays (such as
    ``distances``) that initializers which do not use them ignore.
    """

    def __call__(self, key: ArrayLike, shape: Shape, dtype: DTypeLike | None = None, **ctx: Any) -> jax.Array: ...


# --- parameter rules -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rule:
    """A constraint on a numeric constructor parameter.

    ``text`` completes the sentence "<param> must be ...". An ``optional`` parameter
    (a bound, a cut-off) may be ``None`` or ±inf for "none"; NaN is never accepted.
    """

    text: str
    holds: Callable[[np.ndarray], np.ndarray]
    optional: bool = False


REAL = Rule("a real number", lambda v: np.ones(v.shape, bool))
NONNEGATIVE = Rule(">= 0", lambda v: v >= 0)
POSITIVE = Rule("> 0", lambda v: v > 0)
PROBABILITY = Rule("in [0, 1]", lambda v: (v >= 0) & (v <= 1))
BOUND = Rule("a real number, +-inf or None", lambda v: np.ones(v.shape, bool), optional=True)
OPTIONAL_POSITIVE = Rule("> 0 (or None)", lambda v: v > 0, optional=True)


def is_traced(value: Any) -> bool:
    return isinstance(value, jax.core.Tracer)


def is_quantity(value: Any) -> bool:
    """Whether ``value`` is a brainunit Quantity; never imports brainunit (no Quantity can
    exist before the user has)."""
    if "brainunit" not in sys.modules:
        return False
    from jaxinit import units

    return units.is_quantity(value)


def attach_unit(values: Any, unit: Any) -> Any:
    """``values`` as a Quantity in ``unit``, or unchanged when ``unit`` is None (no brainunit import)."""
    if unit is None:
        return values
    from jaxinit import units

    return units.attach(values, unit)


def _show_bad(values: np.ndarray, bad: np.ndarray) -> str:
    if values.ndim == 0:
        return repr(values.item())
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"{values[index].item()!r} at index {index}"


def _as_numbers(name: str, param: str, value: Any) -> np.ndarray:
    try:
        values = np.asarray(value)
    except Exception:  # anything numpy cannot read is reported by the check below
        values = np.asarray(None)
    if values.dtype == object or not (np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.bool_)):
        raise TypeError(f"{name}: {param} must be a number or an array of numbers, got {value!r}")
    return values


def validate(
    name: str,
    params: Mapping[str, Any],
    rules: Mapping[str, Rule],
    ordered: tuple[str, str] | None = None,
    units: Mapping[str, Any] | None = None,
) -> None:
    """Checks concrete parameters against their rules; traced ones pass untouched.

    ``units`` maps a parameter converted from a Quantity to its unit, for messages.

    Raises:
      TypeError: a parameter is not numeric.
      ValueError: a parameter breaks its rule, or ``ordered=(low, high)`` is given
        and ``low < high`` fails somewhere.
    """
    units = units or {}
    for param, rule in rules.items():
        value = params[param]
        in_unit = f" (in {units[param]})" if param in units else ""
        if (value is None and rule.optional) or is_traced(value):
            continue
        values = _as_numbers(name, param, value)
        nan = np.isnan(values) if np.issubdtype(values.dtype, np.floating) else np.zeros(values.shape, bool)
        infinite = np.isinf(values) & ~nan if np.issubdtype(values.dtype, np.floating) else nan
        if nan.any():
            raise ValueError(f"{name}: {param} must not be NaN, got {_show_bad(values, nan)}{in_unit}")
        if infinite.any() and not rule.optional:
            raise ValueError(f"{name}: {param} must be finite, got {_show_bad(values, infinite)}{in_unit}")
        ok = rule.holds(values)
        if not ok.all():
            raise ValueError(f"{name}: {param} must be {rule.text}, got {_show_bad(values, ~ok)}{in_unit}")
    if ordered is None:
        return
    low_name, high_name = ordered
    low, high = params[low_name], params[high_name]
    in_unit = f" (in {units[low_name]})" if low_name in units else ""
    if low is None or high is None or is_traced(low) or is_traced(high):
        return
    low, high = np.asarray(low), np.asarray(high)
    try:
        ok = low < high
    except ValueError:
        raise ValueError(
            f"{name}: {low_name} (shape {low.shape}) and {high_name} (shape {high.shape}) must broadcast together"
        ) from None
    bad = ~np.asarray(ok)
    if bad.any():
        low, high = np.broadcast_arrays(low, high)
        raise ValueError(
            f"{name}: {low_name} must be < {high_name}, "
            f"got {low_name}={_show_bad(low, bad)}, {high_name}={_show_bad(high, bad)}{in_unit}"
        )


# --- call arguments --------------------------------------------------------------


def check_key(name: str, key: Any) -> jax.Array:
    """Accepts one typed key (``jax.random.key``) or one legacy uint32 key."""
    dtype = getattr(key, "dtype", None)
    key_shape = getattr(key, "shape", None)
    if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key):
        if key_shape == ():
            return key
        raise TypeError(
            f"{name}: key must be a single PRNG key, got a batch of keys with shape {key_shape}; "
            "use jax.vmap(init, in_axes=(0, None)) to initialise once per key"
        )
    if dtype == np.uint32 and key_shape is not None and len(key_shape) == 1:
        return key
    shown = f"{type(key).__name__} with shape {key_shape} and dtype {dtype}" if dtype is not None else repr(key)
    raise TypeError(f"{name}: key must be a PRNG key such as jax.random.key(0) or jax.random.PRNGKey(0), got {shown}")


def canonical_shape(name: str, shape: Any) -> tuple[int, ...]:
    """``int`` -> ``(n,)``; any sequence of ints -> tuple; negative sizes are errors."""
    try:
        dims = (operator.index(shape),) if not isinstance(shape, Sequence) else tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(f"{name}: shape must be an int or a sequence of ints, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"{name}: shape must not contain negative sizes, got {dims}")
    return dims


def resolve_dtype(name: str, dtype: DTypeLike | None, any_dtype: bool = False) -> tuple[np.dtype, np.dtype]:
    """Returns ``(output dtype, dtype to sample in)``.

    ``None`` means JAX's default float. Half-precision outputs are sampled in float32
    and cast, so their distribution is the float32 one rounded.
    """
    default = jax.dtypes.canonicalize_dtype(float)
    if dtype is None:
        return default, default
    try:
        dtype = jax.dtypes.canonicalize_dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: dtype must be a floating dtype such as jnp.float32, got {dtype!r}") from None
    if not jnp.issubdtype(dtype, jnp.floating):
        if any_dtype:
            return dtype, default
        raise TypeError(
            f"{name}: dtype must be a floating dtype (float32, float64, bfloat16, float16), got {dtype}; "
            "integer and bool outputs come only from bernoulli"
        )
    return dtype, (np.dtype(np.float32) if dtype.itemsize < 4 else dtype)


def _prepare_param(name: str, param: str, value: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    """Casts a numeric parameter to the sampling dtype and lifts it to ``len(shape)`` dims.

    Lifting the rank here keeps samplers free of implicit rank promotion, and the
    broadcast check stops a parameter from silently enlarging the output.
    """
    if value is None:
        return None
    array = jnp.asarray(value, dtype)
    if array.ndim == 0:
        return array
    if not _broadcasts_to(array.shape, shape):
        raise ValueError(
            f"{name}: {param} has shape {array.shape}, which does not broadcast to the requested shape {shape}"
        )
    return array.reshape((1,) * (len(shape) - array.ndim) + array.shape)


def _broadcasts_to(source: tuple[int, ...], target: tuple[int, ...]) -> bool:
    if len(source) > len(target):
        return False
    return all(d in (1, t) for d, t in zip(reversed(source), reversed(target), strict=False))


# --- the concrete initializer ----------------------------------------------------


def show_value(value: Any) -> str:
    """How a constructor argument appears in a ``repr``."""
    if is_traced(value):
        return f"<traced {value.dtype}{list(value.shape)}>"
    if isinstance(value, (np.ndarray, jax.Array)):
        if value.size <= 4:
            return repr(np.asarray(value).tolist())
        return f"{value.dtype}{list(value.shape)}"
    if isinstance(value, list):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(show_value(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if is_quantity(value):
        return str(value)
    if callable(value) and not isinstance(value, Described) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', None) or ''}.{value.__qualname__}".lstrip(".")
    return repr(value)


class Described:
    """Shared by initializers and profiles: a name, the arguments as given, pickling.

    The ``repr`` shows how the object was built, ``name(arg=value, ...)``. Pickling
    goes through the slots, so every callable held must be a module-level function.
    """

    __slots__ = ("name", "shown", "__weakref__")
    repr_prefix = ""

    def __repr__(self) -> str:
        args = ", ".join(f"{p}={show_value(v)}" for p, v in self.shown.items())
        return f"{self.repr_prefix}{self.name}({args})"

    def __getstate__(self):
        slots = [s for cls in type(self).__mro__ for s in getattr(cls, "__slots__", ()) if s != "__weakref__"]
        return {slot: getattr(self, slot) for slot in slots}

    def __setstate__(self, state):
        for slot, value in state.items():
            setattr(self, slot, value)


@functools.partial(jax.jit, static_argnums=(0, 2, 3, 4))
def _sample(sampler, key, shape, sample_dtype, dtype, params):
    # One compiled kernel per (sampler, shape, dtypes): eager calls run as fast as
    # jitted ones and give the same bits; inside a user's jit this is inlined.
    return sampler(key, shape, sample_dtype, **params).astype(dtype)


class ParametricInitializer(Described):
    """An initializer defined by a sampling function and named parameters.

    ``sampler(key, shape, dtype, **params)`` receives a checked key, a tuple shape,
    the dtype to sample in and the parameters already cast to it. Holding the
    sampler as a module-level function (not a closure) is what makes initializers
    picklable; holding the parameters by name is what gives the readable ``repr``.
    """

    __slots__ = ("sampler", "params", "unit", "any_dtype")

    def __init__(
        self,
        name: str,
        sampler: Callable[..., jax.Array],
        params: Mapping[str, Any],
        *,
        shown: Mapping[str, Any] | None = None,
        unit: Any = None,
        any_dtype: bool = False,
    ):
        self.name = name
        self.sampler = sampler
        self.params = dict(params)
        self.shown = dict(params if shown is None else shown)
        self.unit = unit
        self.any_dtype = any_dtype

    def __call__(self, key: ArrayLike, shape: Shape, dtype: DTypeLike | None = None, **ctx: Any) -> jax.Array:
        key = check_key(self.name, key)
        shape = canonical_shape(self.name, shape)
        dtype, sample_dtype = resolve_dtype(self.name, dtype, self.any_dtype)
        params = {p: _prepare_param(self.name, p, v, shape, sample_dtype) for p, v in self.params.items()}
        out = _sample(self.sampler, key, shape, sample_dtype, dtype, params)
        if self.unit is not None:
            from jaxinit import units

            return units.attach(out, self.unit)
        return out


class ContextInitializer(Described):
    """An initializer computed by ``combine(key, shape, dtype, ctx, **params)``.

    For initializers that read the context (fan axes, distances) or call other
    initializers (the combinators). The key and shape are checked here; the dtype
    and the context go to ``combine`` as given, so children apply their own rules.
    """

    __slots__ = ("combine", "params")

    def __init__(
        self,
        name: str,
        combine: Callable[..., Any],
        params: Mapping[str, Any],
        shown: Mapping[str, Any] | None = None,
    ):
        self.name = name
        self.combine = combine
        self.params = dict(params)
        self.shown = dict(params if shown is None else shown)

    def __call__(self, key: ArrayLike, shape: Shape, dtype: DTypeLike | None = None, **ctx: Any) -> jax.Array:
        key = check_key(self.name, key)
        shape = canonical_shape(self.name, shape)
        if dtype is None or not jnp.issubdtype(dtype, jnp.floating) or jnp.dtype(dtype).itemsize >= 4:
            return self.combine(key, shape, dtype, ctx, **self.params)
        # half precision: combine in float32 like the children sample, round once at the end
        out = self.combine(key, shape, jnp.float32, ctx, **self.params)
        if is_quantity(out):
            from jaxinit import units

            return units.attach(out.mantissa.astype(dtype), out.unit)
        return out.astype(dtype)


def build(
    name: str,
    sampler: Callable[..., jax.Array],
    params: Mapping[str, Any],
    *,
    rules: Mapping[str, Rule],
    dimensional: tuple[str, ...] = (),
    ordered: tuple[str, str] | None = None,
    any_dtype: bool = False,
) -> ParametricInitializer:
    """Validates ``params`` (after unit conversion) and returns the initializer.

    ``dimensional`` names the parameters that may carry physical units. Quantities
    can only exist once the user has imported brainunit, so unit-free use never
    imports it.
    """
    unit = None
    plain = dict(params)
    if "brainunit" in sys.modules:
        from jaxinit import units

        plain, unit = units.split_units(name, params, dimensional)
    validate(name, plain, rules, ordered, {p: unit for p in dimensional} if unit is not None else None)
    return ParametricInitializer(name, sampler, plain, shown=params, unit=unit, any_dtype=any_dtype)

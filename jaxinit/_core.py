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
LOWER_BOUND = Rule("a real number, -inf or None (+inf leaves nothing above it)", lambda v: v < np.inf, optional=True)
UPPER_BOUND = Rule("a real number, +inf or None (-inf leaves nothing below it)", lambda v: v > -np.inf, optional=True)
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
    if np.issubdtype(values.dtype, np.complexfloating):
        raise TypeError(
            f"{name}: {param} must be real, got {value!r}; complex outputs come from a complex dtype "
            "(init(key, shape, jnp.complex64)), not from complex parameters"
        )
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


FLOAT = frozenset({"float"})
FLOAT_OR_COMPLEX = frozenset({"float", "complex"})
ANY_DTYPE = frozenset({"float", "complex", "integer", "bool"})


def resolve_dtype(name: str, dtype: DTypeLike | None, kinds: frozenset[str] = FLOAT) -> tuple[np.dtype, np.dtype]:
    """Returns ``(output dtype, dtype to sample in)``.

    ``None`` means JAX's default float. Half-precision outputs are sampled in float32
    and cast, so their distribution is the float32 one rounded; integer and bool
    outputs (for the ``kinds`` that allow them) are computed in the default float.
    """
    default = jax.dtypes.canonicalize_dtype(float)
    if dtype is None:
        return default, default
    try:
        dtype = jax.dtypes.canonicalize_dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: dtype must be a numeric dtype such as jnp.float32, got {dtype!r}") from None
    kind = (
        "float"
        if jnp.issubdtype(dtype, jnp.floating)
        else "complex"
        if jnp.issubdtype(dtype, jnp.complexfloating)
        else "bool"
        if dtype == np.bool_
        else "integer"
    )
    if kind not in kinds:
        accepted = "floating (float32, float64, bfloat16, float16)" + (" or complex" if "complex" in kinds else "")
        raise TypeError(
            f"{name}: dtype must be a {accepted} dtype, got {dtype}; integer and bool outputs come from "
            "constant, zeros, ones and bernoulli"
        )
    if kind in ("integer", "bool"):
        return dtype, default
    return dtype, (np.dtype(np.float32) if dtype.itemsize < 4 else dtype)


def _prepare_param(name: str, param: str, value: Any, shape: tuple[int, ...], dtypes: tuple[np.dtype, ...]) -> Any:
    """Casts a numeric parameter to the sampling dtype (``dtypes[-1]``) and lifts it to ``len(shape)`` dims.

    A concrete parameter that is finite but overflows one of ``dtypes`` (say 1e39 in
    float32) is an error here, before any sampling. Lifting the rank keeps samplers
    free of implicit rank promotion, and the broadcast check stops a parameter from
    silently enlarging the output.
    """
    if value is None:
        return None
    if not is_traced(value):
        _check_representable(name, param, value, dtypes)
    array = jnp.asarray(value, dtypes[-1])
    if array.ndim == 0:
        return array
    if not _broadcasts_to(array.shape, shape):
        raise ValueError(
            f"{name}: {param} has shape {array.shape}, which does not broadcast to the requested shape {shape}"
        )
    return array.reshape((1,) * (len(shape) - array.ndim) + array.shape)


def _check_representable(name: str, param: str, value: Any, dtypes: tuple[np.dtype, ...]) -> None:
    values = np.asarray(value)
    if not np.issubdtype(values.dtype, np.floating) and not np.issubdtype(values.dtype, np.integer):
        return
    finite = np.isfinite(values)
    for dtype in dtypes:
        if not jnp.issubdtype(dtype, jnp.inexact):
            continue
        real = float(jnp.finfo(dtype).max)
        overflow = finite & (np.abs(values.astype(np.float64)) > real)
        if overflow.any():
            raise ValueError(
                f"{name}: {param} must fit in {np.dtype(dtype).name} (|value| <= {real:.4g}), "
                f"got {_show_bad(values, overflow)}; sample in a wider dtype or rescale"
            )


def _broadcasts_to(source: tuple[int, ...], target: tuple[int, ...]) -> bool:
    if len(source) > len(target):
        return False
    return all(d in (1, t) for d, t in zip(reversed(source), reversed(target), strict=False))


# --- initializers and profiles as pytrees compared by value ------------------------


def is_dynamic(value: Any) -> bool:
    """Whether a parameter is data (a pytree leaf or subtree) rather than structure.

    Numbers, arrays, Quantities and initializers (or sequences of them) are data: they
    become leaves, so ``jit`` and ``vmap`` see through an initializer and equal values
    give equal structure. Strings, ``None``, plain functions and anything else are
    structure, compared by equality.
    """
    if isinstance(value, (Described, jax.Array, np.ndarray, np.number, jax.core.Tracer)) or is_quantity(value):
        return True
    if isinstance(value, (int, float, complex)) and not isinstance(value, bool):
        return True
    if isinstance(value, (tuple, list)) and value:
        return all(v is None or is_dynamic(v) for v in value)
    return False


def _leaf_key(leaf: Any) -> Any:
    if is_traced(leaf):
        raise TypeError("a jaxinit initializer or profile holding traced parameters cannot be hashed")
    if isinstance(leaf, (jax.Array, np.ndarray, np.number)):
        array = np.asarray(leaf)
        return (array.dtype.str, array.shape, array.tobytes())
    return (type(leaf).__name__, leaf)


class Described:
    """Shared by initializers and profiles: a name, named parameters, a unit, pytree by value.

    ``params`` holds the parameters as the object computes with them (plain numbers,
    in ``unit`` when it has one); ``shown`` names those the ``repr`` shows, and
    ``static`` those that are structure even when numeric (axes, sizes). Subclasses
    list their other attributes in ``fields``. Every subclass is a pytree whose leaves
    are the numeric parameters, and equality and hashing go by value, so two equal
    constructions are interchangeable as ``jit`` static arguments.
    """

    __slots__ = ("name", "params", "shown", "static", "unit", "__weakref__")
    repr_prefix = ""
    fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        jax.tree_util.register_pytree_node(cls, cls._flatten, cls._unflatten)

    def _init(self, name: str, params: Mapping[str, Any], shown: Sequence[str] | None, static: Sequence[str], unit):
        self.name = name
        self.params = dict(params)
        self.shown = tuple(self.params if shown is None else shown)
        self.static = tuple(static)
        self.unit = unit

    def _flatten(self):
        dynamic = tuple(p for p in self.params if p not in self.static and is_dynamic(self.params[p]))
        structure = tuple((p, v) for p, v in self.params.items() if p not in dynamic)
        extra = tuple(getattr(self, f) for f in self.fields)
        aux = (self.name, dynamic, structure, self.shown, self.static, self.unit, extra)
        return tuple(self.params[p] for p in dynamic), aux

    @classmethod
    def _unflatten(cls, aux, children):
        name, dynamic, structure, shown, static, unit, extra = aux
        obj = object.__new__(cls)
        obj._init(name, {**dict(structure), **dict(zip(dynamic, children, strict=True))}, shown, static, unit)
        for field, value in zip(cls.fields, extra, strict=True):
            setattr(obj, field, value)
        return obj

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        mine, my_tree = jax.tree_util.tree_flatten(self)
        theirs, their_tree = jax.tree_util.tree_flatten(other)
        if my_tree != their_tree:
            return False
        try:
            return all(_leaf_key(a) == _leaf_key(b) for a, b in zip(mine, theirs, strict=True))
        except TypeError:  # traced leaves: equal only if they are the same objects
            return all(a is b for a, b in zip(mine, theirs, strict=True))

    def __hash__(self) -> int:
        leaves, tree = jax.tree_util.tree_flatten(self)
        return hash((tree, tuple(_leaf_key(leaf) for leaf in leaves)))

    def __repr__(self) -> str:
        args = ", ".join(f"{p}={self._show(p)}" for p in self.shown)
        return f"{self.repr_prefix}{self.name}({args})"

    def _show(self, param: str) -> str:
        shown = show_value(self.params[param])
        if self.unit is not None and param in getattr(self, "dimensional", ()) and self.params[param] is not None:
            return f"{shown} {self.unit}"
        return shown

    def __getstate__(self):
        slots = [s for cls in type(self).__mro__ for s in getattr(cls, "__slots__", ()) if s != "__weakref__"]
        return {slot: getattr(self, slot) for slot in slots}

    def __setstate__(self, state):
        for slot, value in state.items():
            setattr(self, slot, value)


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
    if isinstance(value, tuple) and value and all(callable(v) or v is None for v in value):
        return show_value(list(value))  # initializers, as the user listed them
    if isinstance(value, tuple):
        return "(" + ", ".join(show_value(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, np.number):
        return repr(value.item())
    if is_quantity(value):
        return str(value)
    if callable(value) and not isinstance(value, Described) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', None) or ''}.{value.__qualname__}".lstrip(".")
    return repr(value)


# --- initializers ----------------------------------------------------------------


class Base(Described):
    """What every jaxinit initializer shares: the call protocol and the unit on top.

    ``plain(key, shape, dtype, ctx)`` computes the values without their unit, for an
    already checked key and shape; combinators call it on their children, so the unit
    is attached exactly once, at the top. ``out_sharding`` is jax's keyword: the
    values are computed under ``jit`` with that output sharding (each device draws
    its own shard, equal to the unsharded values).
    """

    __slots__ = ()

    def plain(self, key: jax.Array, shape: tuple[int, ...], dtype: DTypeLike | None, ctx: dict) -> jax.Array:
        raise NotImplementedError

    def __call__(
        self, key: ArrayLike, shape: Shape, dtype: DTypeLike | None = None, *, out_sharding: Any = None, **ctx: Any
    ) -> jax.Array:
        key = check_key(self.name, key)
        shape = canonical_shape(self.name, shape)
        if out_sharding is not None:
            static_ctx = tuple(sorted((k, v) for k, v in ctx.items() if not is_dynamic(v)))
            dynamic_ctx = {k: v for k, v in ctx.items() if is_dynamic(v)}
            out = _sharded_plain(self, key, shape, dtype, out_sharding, static_ctx, dynamic_ctx)
        else:
            out = self.plain(key, shape, dtype, ctx)
        return attach_unit(out, self.unit)


def _sharded_plain(init, key, shape, dtype, out_sharding, static_ctx, ctx):
    return _sharded_kernel(out_sharding)(init, key, shape, dtype, static_ctx, ctx)


def _plain_resharded(init, key, shape, dtype, static_ctx, ctx, *, out_sharding):
    out = init.plain(key, shape, dtype, {**dict(static_ctx), **ctx})
    if isinstance(out_sharding, jax.sharding.Sharding):
        return out  # the jit's out_shardings place it
    return jax.sharding.reshard(out, out_sharding)  # a PartitionSpec, under the user's mesh


@functools.lru_cache(maxsize=64)
def _sharded_kernel(out_sharding):
    # A Sharding goes to jit's out_shardings, so XLA partitions the draw and each
    # device computes only its shard; a bare PartitionSpec needs the user's mesh
    # context (jax.set_mesh), as in jax's own initializers.
    body = functools.partial(_plain_resharded, out_sharding=out_sharding)
    shardings = out_sharding if isinstance(out_sharding, jax.sharding.Sharding) else None
    return jax.jit(body, static_argnums=(2, 3, 4), out_shardings=shardings)


@functools.partial(jax.jit, static_argnums=(0, 2, 3, 4, 5))
def _sample(sampler, key, shape, sample_dtype, dtype, support, params):
    # One compiled kernel per (sampler, shape, dtypes): eager calls run as fast as
    # jitted ones and give the same bits; inside a user's jit this is inlined.
    out = sampler(key, shape, sample_dtype, **params)
    if support is not None:
        out = _within_support(out, dtype, support(**params))
    return out.astype(dtype)


def _within_support(x: jax.Array, dtype: np.dtype, support: tuple) -> jax.Array:
    """``x`` clamped to where its values will lie after rounding to ``dtype``.

    ``support`` is ``(low, high, high_is_open)`` (``None``: unbounded). A bound is
    replaced by the nearest value of ``dtype`` inside it, so that rounding to a
    narrower dtype (bf16, f16), or float rounding of ``low + (high - low)·u``, can
    never land on an open bound or outside a closed one.
    """
    low, high, high_open = support
    if not jnp.issubdtype(dtype, jnp.floating):
        return x
    if low is not None:
        lo = jnp.asarray(low, x.dtype).astype(dtype)
        lo = jnp.where(lo.astype(x.dtype) < low, jnp.nextafter(lo, jnp.asarray(jnp.inf, dtype)), lo)
        x = jnp.maximum(x, lo.astype(x.dtype))
    if high is not None:
        hi = jnp.asarray(high, x.dtype).astype(dtype)
        outside = (hi.astype(x.dtype) >= high) if high_open else (hi.astype(x.dtype) > high)
        hi = jnp.where(outside, jnp.nextafter(hi, jnp.asarray(-jnp.inf, dtype)), hi)
        x = jnp.minimum(x, hi.astype(x.dtype))
    return x


class ParametricInitializer(Base):
    """An initializer defined by a sampling function and named parameters.

    ``sampler(key, shape, dtype, **params)`` receives a checked key, a tuple shape,
    the dtype to sample in and the parameters already cast to it. ``support(**params)``
    (optional) gives ``(low, high, high_is_open)`` so the values stay inside it after
    the cast to the output dtype. Holding the sampler as a module-level function (not
    a closure) is what makes initializers picklable; holding the parameters by name is
    what gives the readable ``repr``.
    """

    __slots__ = ("sampler", "support", "kinds", "dimensional")
    fields = ("sampler", "support", "kinds", "dimensional")

    def __init__(
        self,
        name: str,
        sampler: Callable[..., jax.Array],
        params: Mapping[str, Any],
        *,
        unit: Any = None,
        kinds: frozenset[str] = FLOAT,
        support: Callable[..., tuple] | None = None,
        dimensional: tuple[str, ...] = (),
    ):
        self._init(name, params, None, (), unit)
        self.sampler = sampler
        self.support = support
        self.kinds = kinds
        self.dimensional = dimensional

    def plain(self, key, shape, dtype, ctx):
        dtype, sample_dtype = resolve_dtype(self.name, dtype, self.kinds)
        dtypes = (dtype, sample_dtype) if jnp.issubdtype(dtype, jnp.inexact) else (sample_dtype,)
        params = {p: _prepare_param(self.name, p, v, shape, dtypes) for p, v in self.params.items()}
        return _sample(self.sampler, key, shape, sample_dtype, dtype, self.support, params)


class ContextInitializer(Base):
    """An initializer computed by ``combine(key, shape, dtype, ctx, **params)``.

    For initializers that read the context (fan axes, distances) or draw from other
    initializers (the combinators). ``combine`` returns values without their unit;
    ``unit`` is worked out by the constructor from the children before any sampling.
    Half-precision requests are combined in float32 and rounded once at the end.
    """

    __slots__ = ("combine",)
    fields = ("combine",)

    def __init__(
        self,
        name: str,
        combine: Callable[..., Any],
        params: Mapping[str, Any],
        shown: Sequence[str] | None = None,
        *,
        static: Sequence[str] = (),
        unit: Any = None,
    ):
        self._init(name, params, shown, static, unit)
        self.combine = combine

    def plain(self, key, shape, dtype, ctx):
        if dtype is None or not jnp.issubdtype(dtype, jnp.floating) or jnp.dtype(dtype).itemsize >= 4:
            return self.combine(key, shape, dtype, ctx, **self.params)
        return self.combine(key, shape, jnp.float32, ctx, **self.params).astype(dtype)


def unit_of(init: Any) -> Any:
    """The unit of an initializer's values, known when it is built (``None``: unit-free).

    A callable that is not a jaxinit initializer counts as unit-free; if it returns a
    Quantity, :func:`draw` says so.
    """
    return init.unit if isinstance(init, Base) else None


def draw(name: str, label: str, init: Any, key, shape, dtype, ctx, unit: Any = None) -> jax.Array:
    """A child's values as a plain array in ``unit`` (its own unit when ``unit`` is None).

    Checks the shape, so that an initializer returning the wrong shape is an error
    naming it rather than a silent broadcast.
    """
    if isinstance(init, Base):
        out = init.plain(key, shape, dtype, ctx)
        if unit is not None and init.unit is not None and init.unit != unit:
            from jaxinit import units

            out = out * units.conversion_factor(init.unit, unit)
    else:
        out = init(key, shape, dtype, **ctx)
        if is_quantity(out):
            if unit is None:
                raise ValueError(
                    f"{name}: {label} returned values in {out.unit}, but jaxinit cannot know the unit of a plain "
                    "function when it is built; give it as a jaxinit initializer with units, or return plain values "
                    f"and scale them (jaxinit.scale(init, 1 * {out.unit}))"
                )
            from jaxinit import units

            out = units.to_plain(name, label, out, unit)
    if tuple(jnp.shape(out)) != shape:
        raise ValueError(f"{name}: {label} returned shape {tuple(jnp.shape(out))}, expected {shape}")
    return out


def lists_as_arrays(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with lists as NumPy arrays: one leaf each, and the object stays hashable."""
    return {p: np.asarray(v) if isinstance(v, list) else v for p, v in params.items()}


def build(
    name: str,
    sampler: Callable[..., jax.Array],
    params: Mapping[str, Any],
    *,
    rules: Mapping[str, Rule],
    dimensional: tuple[str, ...] = (),
    ordered: tuple[str, str] | None = None,
    kinds: frozenset[str] = FLOAT,
    support: Callable[..., tuple] | None = None,
) -> ParametricInitializer:
    """Validates ``params`` (after unit conversion) and returns the initializer.

    ``dimensional`` names the parameters that may carry physical units. Quantities
    can only exist once the user has imported brainunit, so unit-free use never
    imports it. Lists become NumPy arrays, so that the initializer hashes.
    """
    unit = None
    plain = lists_as_arrays(params)
    if "brainunit" in sys.modules:
        from jaxinit import units

        plain, unit = units.split_units(name, plain, dimensional)
    validate(name, plain, rules, ordered, {p: unit for p in dimensional} if unit is not None else None)
    return ParametricInitializer(
        name, sampler, plain, unit=unit, kinds=kinds, support=support, dimensional=dimensional if unit else ()
    )

"""Variance scaling (Kaiming/He, Xavier/Glorot, LeCun), orthogonal and identity initializers.

For the same key, shape, dtype (float32 or float64) and axes, every initializer here
returns bit-identical values to the same-named ``jax.nn.initializers`` function. On
top of that, bad arguments fail when the initializer is built (jax fails at call
time, or returns NaN for a negative scale), half precision is sampled in float32
and cast, and the fan axes can come from the context (``in_axis``/``out_axis``), so
a caller that knows the layout, such as :func:`jaxinit.reinit` on an Equinox model,
gets the right fans.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit._core import FLOAT_OR_COMPLEX, NONNEGATIVE, ContextInitializer, Initializer

Axes = int | Sequence[int]
MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")
# structure, not data: axes index the shape
_AXES = ("in_axis", "out_axis", "batch_axis", "column_axis")

# the standard deviation of a standard normal truncated to (-2, 2), as in jax
_TRUNCATED_STD = 0.87962566103423978
# ... and of a standard complex normal whose modulus is truncated to 2
_COMPLEX_TRUNCATED_STD = 0.95311164380491208


def _axes_tuple(name: str, param: str, axes: Any) -> tuple[int, ...]:
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        return (int(axes),)
    if isinstance(axes, Sequence) and not isinstance(axes, str) and all(isinstance(a, (int, np.integer)) for a in axes):
        return tuple(int(a) for a in axes)
    raise TypeError(f"{name}: {param} must be an int or a sequence of ints, got {axes!r}")


def _hashable(axes: Any) -> Any:
    return tuple(axes) if isinstance(axes, list) else axes


def _normalized(name: str, param: str, axes: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: {param}={a} is out of range for a {ndim}-dimensional shape")
    return tuple(a % ndim for a in axes)


def compute_fans(
    shape: Sequence[int], in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = ()
) -> tuple[float, float]:
    """Fan-in and fan-out of a dense or convolutional kernel, as ``jax.nn.initializers`` counts them.

    Axes in none of ``in_axis``, ``out_axis``, ``batch_axis`` form the receptive field
    (the spatial axes of a convolution kernel), which multiplies both fans.

    Args:
      shape: the kernel's shape.
      in_axis: the input axis or axes (default −2).
      out_axis: the output axis or axes (default −1).
      batch_axis: axes that index independent kernels, ignored by the fans.

    Returns:
      ``(fan_in, fan_out)`` as floats.

    Raises:
      TypeError: an axis is not an int or a sequence of ints.
      ValueError: an axis is out of range, two roles share an axis, or a fan is 0.

    Example:
      >>> compute_fans((3, 3, 16, 32))  # a 3x3 conv kernel in HWIO layout
      (144.0, 288.0)
    """
    name = "compute_fans"
    shape = _core.canonical_shape(name, shape)
    roles = {p: _axes_tuple(name, p, a) for p, a in (("in_axis", in_axis), ("out_axis", out_axis))}
    roles["batch_axis"] = _axes_tuple(name, "batch_axis", batch_axis) if batch_axis != () else ()
    if len(shape) < 2 and roles["in_axis"] == (-2,):
        raise ValueError(
            f"{name}: a kernel of shape {shape} has no input axis at the default in_axis=-2; "
            "give a shape with at least 2 dimensions or set in_axis explicitly"
        )
    normalized = {p: _normalized(name, p, a, len(shape)) for p, a in roles.items()}
    seen: dict[int, str] = {}
    for p, axes in normalized.items():
        for a in axes:
            if a in seen:
                raise ValueError(f"{name}: axis {a} is both {seen[a]} and {p}; each axis has one role")
            seen[a] = p
    if 0 in shape:
        raise ValueError(f"{name}: shape {shape} has a zero-size axis, so the fans are 0 (nothing to scale by)")
    # the same float arithmetic as jax, so that the variances agree bit for bit
    in_size = math.prod(shape[a] for a in normalized["in_axis"])
    out_size = math.prod(shape[a] for a in normalized["out_axis"])
    batch_size = math.prod(shape[a] for a in normalized["batch_axis"])
    receptive_field_size = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive_field_size, out_size * receptive_field_size


def _variance_scaling(key, shape, dtype, ctx, *, scale, mode, distribution, in_axis, out_axis, batch_axis):
    in_axis = ctx.get("in_axis", -2) if in_axis is None else in_axis
    out_axis = ctx.get("out_axis", -1) if out_axis is None else out_axis
    fan_in, fan_out = compute_fans(shape, in_axis, out_axis, batch_axis)
    denominator = {
        "fan_in": fan_in,
        "fan_out": fan_out,
        "fan_avg": (fan_in + fan_out) / 2,
        "fan_geo_avg": (fan_in * fan_out) ** 0.5,
    }[mode]
    dtype, _ = _core.resolve_dtype("variance_scaling", dtype, FLOAT_OR_COMPLEX)
    variance = jnp.array(scale / denominator, dtype=dtype)
    # the operations and their order are jax's, for bit-identical values
    real = jnp.issubdtype(dtype, jnp.floating)
    if distribution == "truncated_normal" and real:
        stddev = jnp.sqrt(variance) / jnp.array(_TRUNCATED_STD, dtype)
        return jax.random.truncated_normal(key, -2, 2, shape, dtype) * stddev
    if distribution == "truncated_normal":
        stddev = jnp.sqrt(variance) / jnp.array(_COMPLEX_TRUNCATED_STD, dtype)
        return _complex_truncated_normal(key, 2, shape, dtype) * stddev
    if distribution == "normal":
        return jax.random.normal(key, shape, dtype) * jnp.sqrt(variance)
    if real:
        return jax.random.uniform(key, shape, dtype, -1) * jnp.sqrt(3 * variance)
    return _complex_disk(key, shape, dtype) * jnp.sqrt(variance)


def _polar(key_theta, radius, shape, dtype):
    """``radius·e^{iθ}`` with θ uniform on [0, 2π), in jax's order of operations."""
    real_dtype = jnp.finfo(dtype).dtype
    theta = 2 * np.pi * jax.random.uniform(key_theta, shape, real_dtype).astype(dtype)
    return radius * jnp.exp(1j * theta)


def _complex_disk(key, shape, dtype):
    """Uniform on the disk of radius √2 in the complex plane: mean 0, variance 1."""
    key_radius, key_theta = jax.random.split(key)
    real_dtype = jnp.finfo(dtype).dtype
    radius = jnp.sqrt(2 * jax.random.uniform(key_radius, shape, real_dtype)).astype(dtype)
    return _polar(key_theta, radius, shape, dtype)


def _complex_truncated_normal(key, upper, shape, dtype):
    """A standard complex normal (variance 1) whose modulus is truncated to ``upper``.

    The squared modulus of a standard complex normal is exponential with mean 1, so
    the truncated modulus is its inverse CDF at a uniform scaled into ``[0, 1 − e^{−upper²})``.
    """
    key_radius, key_theta = jax.random.split(key)
    real_dtype = jnp.finfo(dtype).dtype
    mass = 1 - jnp.exp(jnp.array(-(upper**2), dtype))
    t = mass * jax.random.uniform(key_radius, shape, real_dtype).astype(dtype)
    radius = jnp.sqrt(-jnp.log(1 - t))
    return _polar(key_theta, radius, shape, dtype)


def variance_scaling(
    scale: float,
    mode: str,
    distribution: str,
    in_axis: Axes | None = None,
    out_axis: Axes | None = None,
    batch_axis: Axes = (),
) -> Initializer:
    """Zero-mean weights with variance ``scale / n``, ``n`` the fan chosen by ``mode``.

    Same semantics and values as ``jax.nn.initializers.variance_scaling``:
    ``"truncated_normal"`` is a normal truncated at ±2 standard deviations and
    rescaled to the target variance; ``"uniform"`` is ``U[-a, a)`` with
    ``a = sqrt(3·scale/n)``.

    Args:
      scale: the variance scale, ``>= 0``.
      mode: ``"fan_in"``, ``"fan_out"``, ``"fan_avg"`` or ``"fan_geo_avg"``.
      distribution: ``"truncated_normal"``, ``"normal"`` or ``"uniform"``.
      in_axis: input axis or axes; ``None`` takes ``ctx["in_axis"]`` if the caller
        passes one, else −2.
      out_axis: output axis or axes; ``None`` takes ``ctx["out_axis"]``, else −1.
      batch_axis: axes of independent kernels, ignored by the fans.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      ValueError: a bad ``mode``, ``distribution`` or ``scale``, or ``in_axis`` equal
        to ``out_axis`` (at construction); a shape with no valid fans (at call).
      TypeError: an axis is not an int or a sequence of ints.

    Example:
      >>> import jax
      >>> w = variance_scaling(2.0, "fan_in", "normal")(jax.random.key(0), (400, 1000))
      >>> round(float(w.std() ** 2 * 400), 2)  # variance 2 / fan_in
      2.0
    """
    shown = ("scale", "mode", "distribution", "in_axis", "out_axis", "batch_axis")
    return _build_variance_scaling("variance_scaling", shown, scale, mode, distribution, in_axis, out_axis, batch_axis)


def _build_variance_scaling(name, shown, scale, mode, distribution, in_axis, out_axis, batch_axis):
    """Validates the arguments once for ``variance_scaling`` and its named forms."""
    if mode not in MODES:
        raise ValueError(f"{name}: mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"{name}: distribution must be one of {', '.join(map(repr, DISTRIBUTIONS))}, got {distribution!r}"
        )
    _core.validate(name, {"scale": scale}, {"scale": NONNEGATIVE})
    given = {p: _axes_tuple(name, p, a) for p, a in (("in_axis", in_axis), ("out_axis", out_axis)) if a is not None}
    if batch_axis != ():
        _axes_tuple(name, "batch_axis", batch_axis)
    if len(given) == 2 and set(given["in_axis"]) & set(given["out_axis"]):
        raise ValueError(f"{name}: in_axis and out_axis must differ, got in_axis={in_axis}, out_axis={out_axis}")
    params = {
        "scale": scale if _core.is_traced(scale) else float(scale),
        "mode": mode,
        "distribution": distribution,
        "in_axis": _hashable(in_axis),
        "out_axis": _hashable(out_axis),
        "batch_axis": _hashable(batch_axis),
    }
    return ContextInitializer(name, _variance_scaling, params, shown, static=_AXES)


def _named(name: str, scale: float, mode: str, distribution: str):
    def constructor(in_axis: Axes | None = None, out_axis: Axes | None = None, batch_axis: Axes = ()):
        shown = ("in_axis", "out_axis", "batch_axis")
        return _build_variance_scaling(name, shown, scale, mode, distribution, in_axis, out_axis, batch_axis)

    constructor.__name__ = constructor.__qualname__ = name
    law = {"truncated_normal": "a truncated normal", "uniform": "a uniform"}[distribution]
    constructor.__doc__ = f"""{name}: {law} with variance {scale:g} / {mode.replace("_", "-")}.

    The same values as ``jax.nn.initializers.{_JAX_NAMES[name]}`` for the same key.

    Args:
      in_axis: input axis or axes; ``None`` takes ``ctx["in_axis"]``, else −2.
      out_axis: output axis or axes; ``None`` takes ``ctx["out_axis"]``, else −1.
      batch_axis: axes of independent kernels, ignored by the fans.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Example:
      >>> import jax
      >>> {name}()(jax.random.key(0), (3, 3, 16, 32)).shape
      (3, 3, 16, 32)
    """
    return constructor


_JAX_NAMES = {
    "kaiming_normal": "he_normal",
    "kaiming_uniform": "he_uniform",
    "xavier_normal": "glorot_normal",
    "xavier_uniform": "glorot_uniform",
    "lecun_normal": "lecun_normal",
    "lecun_uniform": "lecun_uniform",
}
kaiming_normal = _named("kaiming_normal", 2.0, "fan_in", "truncated_normal")
kaiming_uniform = _named("kaiming_uniform", 2.0, "fan_in", "uniform")
xavier_normal = _named("xavier_normal", 1.0, "fan_avg", "truncated_normal")
xavier_uniform = _named("xavier_uniform", 1.0, "fan_avg", "uniform")
lecun_normal = _named("lecun_normal", 1.0, "fan_in", "truncated_normal")
lecun_uniform = _named("lecun_uniform", 1.0, "fan_in", "uniform")
he_normal = kaiming_normal
he_uniform = kaiming_uniform
glorot_normal = xavier_normal
glorot_uniform = xavier_uniform


def _orthogonal(key, shape, dtype, ctx, *, scale, column_axis, batch_axis):
    name = "orthogonal"
    if len(shape) < 2:
        raise ValueError(f"{name}: needs a shape with at least 2 dimensions, got {shape}")
    out_dtype, sample_dtype = _core.resolve_dtype(name, dtype, FLOAT_OR_COMPLEX)
    if 0 in shape:
        return jnp.zeros(shape, out_dtype)
    (column_axis,) = _normalized(name, "column_axis", (column_axis,), len(shape))
    batch = _normalized(
        name, "batch_axis", _axes_tuple(name, "batch_axis", batch_axis) if batch_axis != () else (), len(shape)
    )
    if column_axis in batch:
        raise ValueError(f"{name}: column_axis {column_axis} is also a batch_axis")
    if not batch:
        # jax's construction, step for step, for bit-identical values
        n_rows, n_cols = math.prod(shape) // shape[column_axis], shape[column_axis]
        q = jax.random.orthogonal(key, n_rows, (), sample_dtype, n_cols)
        q = jnp.reshape(q, tuple(np.delete(shape, column_axis)) + (shape[column_axis],))
        q = jnp.moveaxis(q, -1, column_axis)
        return (jnp.array(scale, sample_dtype) * q).astype(out_dtype)
    # one independent orthogonal matrix per index of the batch axes
    rest = [a for a in range(len(shape)) if a not in batch and a != column_axis]
    batch_shape = tuple(shape[a] for a in batch)
    n_rows, n_cols = math.prod(shape[a] for a in rest), shape[column_axis]
    q = jax.random.orthogonal(key, n_rows, batch_shape, sample_dtype, n_cols)
    q = q.reshape(batch_shape + tuple(shape[a] for a in rest) + (n_cols,))
    q = jnp.moveaxis(q, range(q.ndim), [*batch, *rest, column_axis])
    return (jnp.array(scale, sample_dtype) * q).astype(out_dtype)


def orthogonal(scale: float = 1.0, column_axis: int = -1, batch_axis: Axes = ()) -> Initializer:
    """Uniformly distributed (Haar) orthogonal matrices, times ``scale``.

    The kernel is viewed as a matrix with ``shape[column_axis]`` columns and all
    other axes as rows; it has orthonormal rows or columns, whichever are fewer.
    With ``batch_axis``, each slice along those axes is its own orthogonal matrix
    (a stacked kernel of independent layers). Without it, the values are jax's.
    bf16/f16 kernels are orthogonalised in float32 and cast.

    Args:
      scale: multiplies the orthogonal matrix.
      column_axis: the axis holding the columns.
      batch_axis: axes indexing independent matrices.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      ValueError: at call time, a shape with fewer than 2 dimensions or an axis out
        of range.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> w = orthogonal()(jax.random.key(0), (4, 4))
      >>> bool(jnp.allclose(w @ w.T, jnp.eye(4), atol=1e-5))
      True
    """
    _core.validate("orthogonal", {"scale": scale}, {"scale": _core.REAL})
    if not isinstance(column_axis, (int, np.integer)):
        raise TypeError(f"orthogonal: column_axis must be an int, got {column_axis!r}")
    if batch_axis != ():
        _axes_tuple("orthogonal", "batch_axis", batch_axis)
    params = {"scale": scale, "column_axis": int(column_axis), "batch_axis": _hashable(batch_axis)}
    return ContextInitializer("orthogonal", _orthogonal, params, static=_AXES)


def _delta_orthogonal(key, shape, dtype, ctx, *, scale, column_axis):
    name = "delta_orthogonal"
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"{name}: needs a 3-, 4- or 5-dimensional conv kernel shape, got {shape}")
    if shape[-1] < shape[-2]:
        raise ValueError(
            f"{name}: the input channels ({shape[-2]}) must not exceed the output channels ({shape[-1]}), got {shape}"
        )
    out_dtype, sample_dtype = _core.resolve_dtype(name, dtype, FLOAT_OR_COMPLEX)
    if 0 in shape:
        return jnp.zeros(shape, out_dtype)
    matrix = _orthogonal(key, shape[-2:], sample_dtype, ctx, scale=scale, column_axis=column_axis, batch_axis=())
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    return jnp.zeros(shape, sample_dtype).at[centre].set(matrix).astype(out_dtype)


def delta_orthogonal(scale: float = 1.0, column_axis: int = -1) -> Initializer:
    """A conv kernel that is zero except an orthogonal matrix at the spatial centre.

    The delta-orthogonal initialization of Xiao et al. (2018); the same values as
    ``jax.nn.initializers.delta_orthogonal``.

    Args:
      scale: multiplies the orthogonal matrix.
      column_axis: the axis holding the columns of the central matrix.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)`` for 3-D, 4-D or 5-D
      kernels (spatial axes first, then in and out channels, in <= out).

    Example:
      >>> import jax
      >>> w = delta_orthogonal()(jax.random.key(0), (3, 3, 8, 8))
      >>> int((w != 0).any(axis=(2, 3)).sum())  # only the centre tap is non-zero
      1
    """
    _core.validate("delta_orthogonal", {"scale": scale}, {"scale": _core.REAL})
    if not isinstance(column_axis, (int, np.integer)) or isinstance(column_axis, bool):
        raise TypeError(f"delta_orthogonal: column_axis must be an int, got {column_axis!r}")
    if column_axis not in (-2, -1, 0, 1):
        raise ValueError(
            f"delta_orthogonal: column_axis must be -2, -1, 0 or 1 (an axis of the (in, out) matrix at the centre), "
            f"got {column_axis}"
        )
    params = {"scale": scale, "column_axis": int(column_axis)}
    return ContextInitializer("delta_orthogonal", _delta_orthogonal, params, static=_AXES)


def _identity(key, shape, dtype, ctx, *, scale):
    if len(shape) < 2:
        raise ValueError(f"identity: needs a shape with at least 2 dimensions, got {shape}")
    out_dtype, sample_dtype = _core.resolve_dtype("identity", dtype)
    eye = jnp.eye(shape[-2], shape[-1], dtype=sample_dtype) * jnp.asarray(scale, sample_dtype)
    return jnp.broadcast_to(eye, shape).astype(out_dtype)


def identity(scale: ArrayLike = 1.0) -> Initializer:
    """``scale`` on the diagonal of the last two axes, zeros elsewhere (rectangular allowed).

    Leading axes are treated as a batch: each ``(rows, cols)`` slice is the same
    scaled identity.

    Args:
      scale: the diagonal value.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``; the key is unused.

    Example:
      >>> import jax
      >>> identity(2.0)(jax.random.key(0), (2, 3))
      Array([[2., 0., 0.],
             [0., 2., 0.]], dtype=float32)
    """
    _core.validate("identity", {"scale": scale}, {"scale": _core.REAL})
    return ContextInitializer("identity", _identity, {"scale": scale})

"""Initializers that draw every element independently from one distribution.

Each constructor validates its parameters, then returns an initializer
``init(key, shape, dtype=None, **ctx)``. Parameters may be numbers, arrays that
broadcast to the requested shape (one value per element or per column), tracers
(to ``vmap`` over a hyperparameter) or brainunit Quantities (the result is then a
Quantity in the unit of the first dimensional parameter).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import log_ndtr, ndtri
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit._core import (
    ANY_DTYPE,
    FLOAT_OR_COMPLEX,
    LOWER_BOUND,
    NONNEGATIVE,
    POSITIVE,
    PROBABILITY,
    REAL,
    UPPER_BOUND,
    Initializer,
    ParametricInitializer,
)

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _constant(key, shape, dtype, *, value):
    return jnp.broadcast_to(value, shape)


def constant(value: ArrayLike) -> Initializer:
    """Fills the array with ``value``.

    Any output dtype works, integers and bool included (as ``jax.nn.initializers.constant``).

    Args:
      value: a number, an array broadcastable to the requested shape, or a Quantity.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``; the key is accepted
      and unused.

    Example:
      >>> import jax
      >>> constant(0.5)(jax.random.key(0), (2, 3))
      Array([[0.5, 0.5, 0.5],
             [0.5, 0.5, 0.5]], dtype=float32)
    """
    return _core.build(
        "constant", _constant, {"value": value}, rules={"value": REAL}, dimensional=("value",), kinds=ANY_DTYPE
    )


zeros = constant(0.0)
"""A ready initializer filling with 0.0 (``jax.nn.initializers.zeros`` semantics)."""

ones = constant(1.0)
"""A ready initializer filling with 1.0 (``jax.nn.initializers.ones`` semantics)."""


def _uniform(key, shape, dtype, *, low, high):
    u = jax.random.uniform(key, shape, dtype)
    width = high - low
    # the lerp form cannot overflow when high - low does (uniform(-3e38, 3e38) in float32)
    return jnp.where(jnp.isfinite(width), jnp.maximum(low, u * width + low), low * (1 - u) + high * u)


def _half_open(*, low, high):
    return low, high, True


def _closed(*, low, high, **_):
    return low, high, False


def uniform(low: ArrayLike = 0.0, high: ArrayLike = 1.0) -> Initializer:
    """Uniform on ``[low, high)``.

    ``high`` is never returned, in any dtype: values that float rounding (or the
    cast to bf16/f16) would put on it are moved to the largest value below it.

    Args:
      low: lower bound (inclusive); a number, array or Quantity.
      high: upper bound (exclusive); must exceed ``low``.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      ValueError: a bound is not finite, or ``low >= high``.

    Example:
      >>> import jax
      >>> x = uniform(0.0, 2.0)(jax.random.key(0), (10_000,))
      >>> bool(x.min() >= 0.0), bool(x.max() < 2.0), round(float(x.mean()), 1)
      (True, True, 1.0)
    """
    return _core.build(
        "uniform",
        _uniform,
        {"low": low, "high": high},
        rules={"low": REAL, "high": REAL},
        dimensional=("low", "high"),
        ordered=("low", "high"),
        support=_half_open,
    )


def _normal(key, shape, dtype, *, mean, std):
    return mean + std * jax.random.normal(key, shape, dtype)


def normal(mean: ArrayLike = 0.0, std: ArrayLike = 1.0) -> Initializer:
    """Normal ``N(mean, std²)``.

    With a complex dtype the values are ``mean + std·Z``, ``Z`` a standard complex
    normal (real and imaginary parts each of variance 1/2), as in ``jax.nn.initializers``.

    Args:
      mean: the mean; a number, array or Quantity.
      std: the standard deviation, ``>= 0`` (0 gives the constant ``mean``).

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      ValueError: ``std < 0`` or a parameter is not finite.

    Example:
      >>> import jax
      >>> x = normal(0.5, 0.1)(jax.random.key(0), (100_000,))
      >>> round(float(x.mean()), 2), round(float(x.std()), 2)
      (0.5, 0.1)
    """
    return _core.build(
        "normal",
        _normal,
        {"mean": mean, "std": std},
        rules={"mean": REAL, "std": NONNEGATIVE},
        dimensional=("mean", "std"),
        kinds=FLOAT_OR_COMPLEX,
    )


def _open_uniform(key, shape, dtype):
    """Uniform on the open interval (0, 1): bin midpoints, so never 0 or 1.

    The smallest value is 2**-(mantissa bits + 1) rather than 0, which keeps the
    inverse-CDF transforms finite without clipping.
    """
    mantissa_bits = jnp.finfo(dtype).nmant
    word = jnp.uint32 if jnp.dtype(dtype).itemsize <= 4 else jnp.uint64
    bits = jax.random.bits(key, shape, word)
    top = lax.shift_right_logical(bits, jnp.asarray(jnp.iinfo(word).bits - mantissa_bits, word))
    return (top.astype(dtype) + 0.5) * jnp.asarray(2.0**-mantissa_bits, dtype)


def _inverse_log_ndtr(log_p):
    """``x`` with ``log Φ(x) = log_p`` for ``log_p`` so small that ``exp(log_p)`` underflows.

    Starts from the asymptotic ``log Φ(x) ≈ -x²/2 - log(-x) - log √(2π)`` and takes
    two Newton steps on ``log Φ`` (its slope is the inverse Mills ratio), which
    reaches working precision from ``log_p ≈ -70`` to beyond ``-5000``.
    """
    t = -2.0 * log_p - 2.0 * _LOG_SQRT_2PI
    x = -jnp.sqrt(t - jnp.log(t))
    for _ in range(2):
        log_cdf = log_ndtr(x)
        slope = jnp.exp(-0.5 * x * x - _LOG_SQRT_2PI - log_cdf)
        x = x - (log_cdf - log_p) / slope
    return x


def _truncated_normal(key, shape, dtype, *, mean, std, low, high):
    inf = jnp.asarray(jnp.inf, dtype)
    degenerate = std == 0
    std = jnp.where(degenerate, jnp.ones_like(std), std)
    a = -inf if low is None else (low - mean) / std
    b = inf if high is None else (high - mean) / std
    # Sample the mirror image when the interval leans right, so that the far end of
    # the interval is always the left tail, where log Φ keeps full precision.
    flip = a > -b
    lo, hi = jnp.where(flip, -b, a), jnp.where(flip, -a, b)
    log_lo, log_hi = log_ndtr(lo), log_ndtr(hi)
    cdf_lo, cdf_hi = jnp.exp(log_lo), jnp.exp(log_hi)
    u = _open_uniform(key, shape, dtype)
    p = cdf_lo + u * (cdf_hi - cdf_lo)
    # Below p_min ndtri loses accuracy (and Φ underflows entirely past ~13σ in
    # float32); those elements are inverted in log space instead.
    p_min = jnp.finfo(dtype).tiny ** 0.75

    def deep_tail():
        log_p = log_hi + jnp.log(u + (1 - u) * jnp.exp(log_lo - log_hi))
        return jnp.where(p < p_min, _inverse_log_ndtr(jnp.minimum(log_p, math.log(p_min))), ndtri(p))

    x = lax.cond(jnp.any(p < p_min), deep_tail, lambda: ndtri(p))
    # Past ~1e19 σ even log Φ overflows (NaN above); the law there is a point mass
    # at the bound nearest the mean, which is hi in the mirrored frame.
    x = jnp.where(jnp.isnan(x), hi, x)
    z = jnp.where(flip, -jnp.clip(x, lo, hi), jnp.clip(x, lo, hi))
    # std = 0: the limit of the law, the mean clamped into the bounds
    return jnp.where(degenerate, jnp.clip(mean, low, high), mean + std * z)


def truncated_normal(
    mean: ArrayLike = 0.0, std: ArrayLike = 1.0, low: ArrayLike | None = None, high: ArrayLike | None = None
) -> Initializer:
    """Normal ``N(mean, std²)`` conditioned on ``low <= x <= high`` (absolute bounds).

    A true truncated normal, not clipping: no mass piles up at the bounds. It is
    sampled by inverting the CDF in log space, so it stays exact far in the tail
    (bounds at ``mean + 20 std`` give values in that interval, with the density of
    ``scipy.stats.truncnorm``), where ``jax.random.truncated_normal`` returns the
    bound or ``inf``.

    Args:
      mean: mean of the normal before truncation; a number, array or Quantity.
      std: its standard deviation, ``>= 0``; 0 gives the limit of the law, the mean
        clamped into the bounds (as scipy and braintools do).
      low: lower bound, or ``None`` (or ``-inf``) for no lower bound.
      high: upper bound, or ``None`` (or ``inf``) for no upper bound; must exceed
        ``low`` when both are given.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      ValueError: ``std < 0``, ``low >= high``, ``low = +inf``, ``high = -inf``, or a
        parameter is NaN.

    Example:
      >>> import jax
      >>> x = truncated_normal(0.0, 1.0, low=8.0, high=9.0)(jax.random.key(0), (10_000,))
      >>> bool(x.min() >= 8.0), bool(x.max() <= 9.0), round(float(x.mean()), 2)
      (True, True, 8.12)
    """
    return _core.build(
        "truncated_normal",
        _truncated_normal,
        {"mean": mean, "std": std, "low": low, "high": high},
        rules={"mean": REAL, "std": NONNEGATIVE, "low": LOWER_BOUND, "high": UPPER_BOUND},
        dimensional=("mean", "std", "low", "high"),
        ordered=("low", "high"),
        support=_closed,
    )


def _lognormal(key, shape, dtype, *, mean, std):
    sigma2 = jnp.log1p(jnp.square(std / mean))
    mu = jnp.log(mean) - 0.5 * sigma2
    return jnp.exp(mu + jnp.sqrt(sigma2) * jax.random.normal(key, shape, dtype))


def lognormal(mean: ArrayLike, std: ArrayLike) -> Initializer:
    """Log-normal with the given mean and standard deviation of the result.

    ``mean`` and ``std`` describe the values themselves (linear space), the way a
    synaptic weight is usually specified; the underlying normal has
    ``σ² = ln(1 + std²/mean²)`` and ``μ = ln(mean) − σ²/2``.

    Args:
      mean: mean of the result, ``> 0``; a number, array or Quantity.
      std: standard deviation of the result, ``>= 0``.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``; all values are ``> 0``.

    Raises:
      ValueError: ``mean <= 0``, ``std < 0`` or a parameter is not finite.

    Example:
      >>> import jax
      >>> x = lognormal(1.0, 0.5)(jax.random.key(0), (200_000,))
      >>> round(float(x.mean()), 2), round(float(x.std()), 1), bool(x.min() > 0)
      (1.0, 0.5, True)
    """
    return _core.build(
        "lognormal",
        _lognormal,
        {"mean": mean, "std": std},
        rules={"mean": POSITIVE, "std": NONNEGATIVE},
        dimensional=("mean", "std"),
    )


_MAX_ROUNDS = 64


def _marsaglia_tsang(key, d, c):
    """One Marsaglia–Tsang proposal per element: ``(log of the proposal, accepted)``."""
    key_normal, key_uniform = jax.random.split(key)
    x = jax.random.normal(key_normal, d.shape, d.dtype)
    u = _open_uniform(key_uniform, d.shape, d.dtype)
    v = 1 + c * x
    v3 = jnp.where(v > 0, v * v * v, 1)
    log_v3 = jnp.log(v3)
    accepted = (v > 0) & (jnp.log(u) < 0.5 * x * x + d - d * v3 + d * log_v3)
    return jnp.log(d) + log_v3, accepted


def _redraw_rejected(key, d, c, log_g, accepted):
    """Redraws the rejected elements until every one is accepted.

    About 5% of proposals are rejected (at most 4.9%, at concentration 1). Rather
    than redraw the whole array, which would take ~log(n)/log(20) full passes, the
    rejected elements are gathered into a buffer of n/16 slots that is redrawn until
    all are accepted; the outer loop only repeats if more than n/16 were rejected.
    """
    n = d.shape[0]
    slots = min(n, max(256, n // 16))

    def redraw_buffer(state):
        log_g, accepted, key = state
        key, key_buffer = jax.random.split(key)
        rejected = ~accepted
        rank = jnp.cumsum(rejected, dtype=jnp.int32) - 1
        index = (
            jnp.full((slots,), n, jnp.int32)
            .at[jnp.where(rejected, rank, slots)]
            .set(jnp.arange(n, dtype=jnp.int32), mode="drop")
        )
        d_buf = jnp.take(d, index, mode="fill", fill_value=1)
        c_buf = jnp.take(c, index, mode="fill", fill_value=1)

        def propose(buffer):
            log_buf, done, key = buffer
            key, key_proposal = jax.random.split(key)
            log_new, ok = _marsaglia_tsang(key_proposal, d_buf, c_buf)
            take = ok & ~done
            return jnp.where(take, log_new, log_buf), done | take, key

        def buffer_open(buffer):
            return ~jnp.all(buffer[1]) & (buffer[3] < _MAX_ROUNDS)

        def propose_counted(buffer):
            return (*propose(buffer[:3]), buffer[3] + 1)

        log_buf, done, _, _ = lax.while_loop(
            buffer_open, propose_counted, (jnp.full_like(d_buf, jnp.nan), index >= n, key_buffer, 0)
        )
        log_g = log_g.at[index].set(log_buf, mode="drop")
        accepted = accepted.at[index].set(True, mode="drop")
        return log_g, accepted, key

    def counted(state):
        return (*redraw_buffer(state[:3]), state[3] + 1)

    # Bounded: with valid parameters each proposal is accepted with probability >= 0.95,
    # so _MAX_ROUNDS rounds are never all needed (0.05**64 per element); an element still
    # open at the bound stays NaN rather than hanging the program.
    log_g, accepted, _, _ = lax.while_loop(
        lambda state: ~jnp.all(state[1]) & (state[3] < _MAX_ROUNDS), counted, (log_g, accepted, key, 0)
    )
    return jnp.where(accepted, log_g, jnp.nan)


def _log_standard_gamma(key, alpha, shape, dtype):
    """``log X`` for ``X ~ Gamma(alpha, 1)``, exact, by vectorised rejection.

    Marsaglia & Tsang (2000) for ``alpha >= 1``; for ``alpha < 1`` the boost
    ``Gamma(alpha) = Gamma(alpha + 1)·U^(1/alpha)``, in log space so that small
    ``alpha`` cannot underflow (which also lets beta be formed without 0/0).
    ``jax.random.gamma`` runs a per-element loop with per-element keys, which is
    an order of magnitude slower on CPU.
    """
    alpha = jnp.broadcast_to(alpha, shape).reshape(-1)
    # an invalid traced concentration would loop forever: it is sampled as 1, and the
    # caller masks its result with NaN (see _invalid)
    alpha = jnp.where(_invalid(alpha), jnp.ones_like(alpha), alpha)
    boost = alpha < 1
    d = jnp.where(boost, alpha + 1, alpha) - jnp.asarray(1 / 3, dtype)
    c = lax.rsqrt(9 * d)
    key_first, key_redraw, key_boost = jax.random.split(key, 3)
    log_g, accepted = _marsaglia_tsang(key_first, d, c)
    if alpha.size:
        log_g = _redraw_rejected(key_redraw, d, c, log_g, accepted)

    def boosted():
        return log_g + jnp.where(boost, jnp.log(_open_uniform(key_boost, alpha.shape, dtype)) / alpha, 0)

    log_g = lax.cond(jnp.any(boost), boosted, lambda: log_g)
    return log_g.reshape(shape)


def _invalid(concentration):
    """Where a traced concentration is <= 0, NaN or inf: the result there is NaN.

    Masked on the final values, not on log values: XLA's CPU compiler was seen to
    fold ``exp(where(bad, nan, x))`` after the rejection loop into wrong numbers.
    """
    return ~((concentration > 0) & jnp.isfinite(concentration))


def _gamma(key, shape, dtype, *, concentration, scale):
    out = scale * jnp.exp(_log_standard_gamma(key, concentration, shape, dtype))
    return jnp.where(_invalid(concentration), jnp.nan, out)


def gamma(concentration: ArrayLike, scale: ArrayLike = 1.0) -> Initializer:
    """Gamma with shape ``concentration`` and ``scale`` (mean ``concentration·scale``).

    Args:
      concentration: the shape parameter ``k > 0`` (dimensionless).
      scale: the scale ``θ >= 0``; a number, array or Quantity.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      ValueError: ``concentration <= 0``, ``scale < 0`` or a parameter is not finite.

    Example:
      >>> import jax
      >>> x = gamma(2.0, 0.5)(jax.random.key(0), (100_000,))
      >>> round(float(x.mean()), 2)
      1.0
    """
    return _core.build(
        "gamma",
        _gamma,
        {"concentration": concentration, "scale": scale},
        rules={"concentration": POSITIVE, "scale": NONNEGATIVE},
        dimensional=("scale",),
    )


def _exponential(key, shape, dtype, *, scale):
    return scale * jax.random.exponential(key, shape, dtype)


def exponential(scale: ArrayLike = 1.0) -> Initializer:
    """Exponential with mean ``scale``.

    Args:
      scale: the mean, ``>= 0``; a number, array or Quantity.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      ValueError: ``scale < 0`` or not finite.

    Example:
      >>> import jax
      >>> x = exponential(2.0)(jax.random.key(0), (100_000,))
      >>> round(float(x.mean()), 1), bool(x.min() >= 0)
      (2.0, True)
    """
    return _core.build(
        "exponential", _exponential, {"scale": scale}, rules={"scale": NONNEGATIVE}, dimensional=("scale",)
    )


def _weibull(key, shape, dtype, *, concentration, scale):
    return jax.random.weibull_min(key, scale, concentration, shape, dtype)


def weibull(concentration: ArrayLike, scale: ArrayLike = 1.0) -> Initializer:
    """Weibull: ``scale·(−ln U)^(1/concentration)`` with ``U`` uniform on (0, 1).

    Args:
      concentration: the shape parameter ``k > 0`` (dimensionless).
      scale: the scale ``λ >= 0``; a number, array or Quantity.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      ValueError: ``concentration <= 0``, ``scale < 0`` or a parameter is not finite.

    Example:
      >>> import jax
      >>> x = weibull(1.0, 3.0)(jax.random.key(0), (100_000,))  # k = 1: exponential
      >>> round(float(x.mean()), 1)
      3.0
    """
    return _core.build(
        "weibull",
        _weibull,
        {"concentration": concentration, "scale": scale},
        rules={"concentration": POSITIVE, "scale": NONNEGATIVE},
        dimensional=("scale",),
    )


def _beta(key, shape, dtype, *, alpha, beta, low, high):
    key_a, key_b = jax.random.split(key)
    log_a = _log_standard_gamma(key_a, alpha, shape, dtype)
    log_b = _log_standard_gamma(key_b, beta, shape, dtype)
    # X/(X+Y) in log space: stays finite when both gamma variates underflow
    out = low + (high - low) * jnp.exp(log_a - jnp.logaddexp(log_a, log_b))
    return jnp.where(_invalid(alpha) | _invalid(beta), jnp.nan, out)


def beta(alpha: ArrayLike, beta: ArrayLike, low: ArrayLike = 0.0, high: ArrayLike = 1.0) -> Initializer:
    """Beta(alpha, beta) rescaled from [0, 1] to ``[low, high]``.

    Args:
      alpha: first concentration, ``> 0`` (dimensionless).
      beta: second concentration, ``> 0`` (dimensionless).
      low: lower end of the support; a number, array or Quantity.
      high: upper end of the support; must exceed ``low``.

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      ValueError: a concentration is ``<= 0``, ``low >= high`` or a parameter is not
        finite.

    Example:
      >>> import jax
      >>> x = beta(2.0, 5.0, low=-1.0, high=3.0)(jax.random.key(0), (100_000,))
      >>> round(float(x.mean()), 2), bool(x.min() >= -1.0), bool(x.max() <= 3.0)  # mean -1 + 4·2/7
      (0.14, True, True)
    """
    return _core.build(
        "beta",
        _beta,
        {"alpha": alpha, "beta": beta, "low": low, "high": high},
        rules={"alpha": POSITIVE, "beta": POSITIVE, "low": REAL, "high": REAL},
        dimensional=("low", "high"),
        ordered=("low", "high"),
        support=_closed,
    )


def _bernoulli(key, shape, dtype, *, p):
    """``U < p`` with ``U`` a 64-bit uniform, exact for every ``p`` down to 2⁻⁶⁴.

    ``p·2³²`` is exact in floating point (a power-of-two scaling); a first 32-bit word
    below its integer part gives 1, above it 0, and only on a tie (probability 2⁻³²)
    does a second word decide against the fraction. A float32 uniform would round
    every ``p`` below 2⁻²³ up or down to a multiple of it.
    """
    key_first, key_second = jax.random.split(key)
    scaled = p * jnp.asarray(2.0**32, dtype)
    whole = jnp.floor(scaled)
    first_threshold = jnp.where(p < 1, whole, 0).astype(jnp.uint32)
    second_threshold = jnp.where(p < 1, jnp.floor((scaled - whole) * 2.0**32), 0).astype(jnp.uint32)
    first = jax.random.bits(key_first, shape, jnp.uint32)
    tie = first == first_threshold

    def with_second_word():
        second = jax.random.bits(key_second, shape, jnp.uint32)
        return (first < first_threshold) | (tie & (second < second_threshold))

    below = lax.cond(jnp.any(tie & (p < 1)), with_second_word, lambda: first < first_threshold)
    return below | (p >= 1)


def bernoulli(p: ArrayLike) -> Initializer:
    """A random mask: 1 with probability ``p``, else 0.

    Unlike the other distributions it accepts any output dtype, ``bool`` and
    integers included; floats give ``1.0``/``0.0``.

    Args:
      p: probability of a 1, in ``[0, 1]``; a number or an array (one per element).

    Returns:
      An initializer ``init(key, shape, dtype=None, **ctx)``.

    Raises:
      ValueError: ``p`` outside ``[0, 1]``.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> mask = bernoulli(0.1)(jax.random.key(0), (100_000,), jnp.bool_)
      >>> mask.dtype, round(float(mask.mean()), 2)
      (dtype('bool'), 0.1)
    """
    return _core.build("bernoulli", _bernoulli, {"p": p}, rules={"p": PROBABILITY}, kinds=ANY_DTYPE)


def _standard_normal(key, shape, dtype):
    return jax.random.normal(key, shape, dtype)


def _standard_uniform(key, shape, dtype):
    return jax.random.uniform(key, shape, dtype)


def _standard_exponential(key, shape, dtype):
    return jax.random.exponential(key, shape, dtype)


def affine_form(init: object):
    """``(standard sampler, loc, scale)`` if ``init`` draws ``loc + scale·Z``, else ``None``.

    Z is a standard variate of a fixed family (normal, uniform on [0, 1),
    exponential). A mixture of components of one such family needs one draw of Z
    plus the component choice, whatever the number of components.
    """
    if not isinstance(init, ParametricInitializer):
        return None
    p = init.params
    if init.sampler is _normal:
        return _standard_normal, p["mean"], p["std"]
    if init.sampler is _uniform:
        return _standard_uniform, p["low"], jnp.subtract(p["high"], p["low"])
    if init.sampler is _exponential:
        return _standard_exponential, 0.0, p["scale"]
    return None

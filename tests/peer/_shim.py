"""Peer names -> jaxinit: the thin layer that lets jax's, Flax's and braintools' own
initializer tests call jaxinit (issue 10, "Tests and evidence").

Only names, argument conventions and calling conventions are translated here; every
value a ported test checks is computed by jaxinit. What each translation does:

* ``jax_initializers`` / ``flax_initializers``: ``jax.nn.initializers`` and
  ``flax.linen.initializers`` (= ``flax.nnx.initializers``) constructors. jax's
  constructors take a ``dtype`` that becomes the call's default; jax's own default
  (``jnp.float_``) is jaxinit's ``None``. ``normal(stddev)`` is ``jaxinit.normal(0, stddev)``,
  ``uniform(scale)`` is ``jaxinit.uniform(0, scale)``, and jax's variance-preserving
  ``truncated_normal(stddev, lower, upper)`` (a standard normal cut at ``lower``/``upper``,
  times ``stddev / 0.8796``) is ``jaxinit.truncated_normal`` with those absolute bounds.
* ``braintools``: the classes of ``braintools.init`` as constructors of :class:`Init`, a
  wrapper that calls a jaxinit initializer the braintools way, ``init(size, rng=None,
  **kwargs)``: ``rng`` (a NumPy ``Generator``) gives the jax key, ``kwargs`` become jaxinit
  context. braintools' operators and methods on initializers map onto jaxinit's
  combinators (``+``: ``add``/``shift``, ``*``: ``multiply``/``scale``, ``|`` and
  ``.apply``: ``transform``, ``.clip``: ``clip``). Where braintools' conventions differ
  from jax's, the shim passes jaxinit the equivalent explicit arguments: variance
  scaling gets braintools' fan layout as the ``in_axis``/``out_axis`` context jaxinit
  reads (1-D: both fans ``n``; 2-D: ``(in, out)``; 3-D+: ``(out, in, *spatial)``), a
  ``DeltaOrthogonal`` kernel in braintools' ``(out, in, *spatial)`` layout is jaxinit's
  ``(*spatial, in, out)`` kernel transposed, and ``Conditional``'s condition on flat
  neuron indices becomes a ``where`` condition on the shape. Distance profiles wrap a
  jaxinit profile with braintools' ``probability``/``weight_scaling`` methods (DoG and
  Mexican hat clipped at 0, as DESIGN §2 says to use a signed profile as a probability).
"""

from __future__ import annotations

import functools
import itertools
import math
from types import SimpleNamespace
from typing import Any

import brainunit as u
import jax
import jax.numpy as jnp
import numpy as np

import jaxinit as ji
from jaxinit import profiles as _profiles

# --- jax.nn.initializers and flax.linen.initializers ------------------------------------

_TRUNCATED_NORMAL_STDDEV = 0.87962566103423978  # std of a standard normal cut at +-2, as in jax


def _with_default_dtype(init: Any, dtype: Any) -> Any:
    """``init`` whose ``dtype`` defaults to ``dtype`` (jax's constructor-level dtype)."""
    if dtype is None:
        return init

    def call(key, shape, dtype=dtype, **kwargs):
        return init(key, shape, dtype, **kwargs)

    return call


def _jax_uniform(scale=1e-2, dtype=None):
    return _with_default_dtype(ji.uniform(0.0, scale), dtype)


def _jax_normal(stddev=1e-2, dtype=None):
    return _with_default_dtype(ji.normal(0.0, stddev), dtype)


def _jax_truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    std = stddev / _TRUNCATED_NORMAL_STDDEV
    return _with_default_dtype(ji.truncated_normal(0.0, std, low=lower * std, high=upper * std), dtype)


def _jax_constant(value, dtype=None):
    return _with_default_dtype(ji.constant(value), dtype)


def _jax_variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    return _with_default_dtype(ji.variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis), dtype)


def _jax_named(jaxinit_constructor):
    def constructor(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
        return _with_default_dtype(jaxinit_constructor(in_axis, out_axis, batch_axis), dtype)

    return constructor


def _jax_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    return _with_default_dtype(ji.orthogonal(scale, column_axis), dtype)


def _jax_delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    return _with_default_dtype(ji.delta_orthogonal(scale, column_axis), dtype)


jax_initializers = SimpleNamespace(
    zeros=ji.zeros,
    ones=ji.ones,
    constant=_jax_constant,
    uniform=_jax_uniform,
    normal=_jax_normal,
    truncated_normal=_jax_truncated_normal,
    variance_scaling=_jax_variance_scaling,
    glorot_uniform=_jax_named(ji.glorot_uniform),
    glorot_normal=_jax_named(ji.glorot_normal),
    xavier_uniform=_jax_named(ji.xavier_uniform),
    xavier_normal=_jax_named(ji.xavier_normal),
    lecun_uniform=_jax_named(ji.lecun_uniform),
    lecun_normal=_jax_named(ji.lecun_normal),
    he_uniform=_jax_named(ji.he_uniform),
    he_normal=_jax_named(ji.he_normal),
    kaiming_uniform=_jax_named(ji.kaiming_uniform),
    kaiming_normal=_jax_named(ji.kaiming_normal),
    orthogonal=_jax_orthogonal,
    delta_orthogonal=_jax_delta_orthogonal,
)

# Flax re-exports jax's initializers and adds builders for the ready-made ones.
flax_initializers = SimpleNamespace(
    **vars(jax_initializers),
    zeros_init=lambda: ji.zeros,
    ones_init=lambda: ji.ones,
)


# --- braintools.init ----------------------------------------------------------------------

_unseeded = itertools.count(2**20)


def _key(rng: Any) -> jax.Array:
    """A jax key from braintools' ``rng``: a NumPy ``Generator`` (consumed, so each call on
    the same generator gets a fresh key, as in braintools) or ``None`` (a fresh seed)."""
    if rng is None:
        return jax.random.key(next(_unseeded))
    if isinstance(rng, np.random.Generator):
        return jax.random.key(int(rng.integers(0, 2**31 - 1)))
    raise TypeError(f"braintools shim: rng must be a numpy Generator or None, got {rng!r}")


def _shape(size: Any) -> tuple[int, ...]:
    return (int(size),) if isinstance(size, (int, np.integer)) else tuple(size)


def _divide_into(numerator: Any, values: Any) -> Any:
    return numerator / values


class Init:
    """A jaxinit initializer called as braintools calls one: ``init(size, rng=None, **kwargs)``.

    ``size`` goes to jaxinit unchanged (an int or a tuple); ``kwargs`` are jaxinit context.
    ``repr`` is jaxinit's.
    """

    def __init__(self, init: Any):
        self.init = init

    def context(self, shape: tuple[int, ...], kwargs: dict) -> dict:
        return kwargs

    def __call__(self, size, rng=None, **kwargs):
        return self.init(_key(rng), size, **self.context(_shape(size), kwargs))

    def __repr__(self) -> str:
        return repr(self.init)

    # braintools' arithmetic on initializers, as jaxinit combinators
    def __add__(self, other):
        if isinstance(other, Init):
            return Init(ji.add(self.init, other.init))
        return Init(ji.shift(self.init, other))

    def __radd__(self, other):
        return Init(ji.shift(self.init, other))

    def __sub__(self, other):
        if isinstance(other, Init):
            return Init(ji.add(self.init, ji.scale(other.init, -1.0)))
        return Init(ji.shift(self.init, -other))

    def __rsub__(self, other):
        return Init(ji.shift(ji.scale(self.init, -1.0), other))

    def __mul__(self, other):
        if isinstance(other, Init):
            return Init(ji.multiply(self.init, other.init))
        return Init(ji.scale(self.init, other))

    def __rmul__(self, other):
        return Init(ji.scale(self.init, other))

    def __truediv__(self, other):
        if isinstance(other, Init):
            return Init(ji.multiply(self.init, ji.transform(other.init, jnp.reciprocal)))
        return Init(ji.scale(self.init, 1 / other))

    def __rtruediv__(self, other):
        return Init(ji.transform(self.init, functools.partial(_divide_into, other)))

    def __or__(self, fn):
        return Init(ji.transform(self.init, fn))

    def clip(self, min_val=None, max_val=None):
        return Init(ji.clip(self.init, min_val, max_val))

    def add(self, value):
        return self + value

    def multiply(self, value):
        return self * value

    def apply(self, func):
        return Init(ji.transform(self.init, func))


def _compose(first: Init, *fns: Any) -> Init:
    """braintools' ``Compose(init, f, g, ...)``: ``transform`` applied in order."""
    out = first
    for fn in fns:
        out = out | fn
    return out


class _BraintoolsFans(Init):
    """Variance scaling with braintools' fan layout, given to jaxinit as its fan-axis context."""

    def context(self, shape, kwargs):
        if len(shape) < 2:
            axes = {"in_axis": (), "out_axis": ()}  # both fans = the whole size (1 for a scalar)
        elif len(shape) == 2:
            axes = {"in_axis": 0, "out_axis": 1}
        else:
            axes = {"in_axis": 1, "out_axis": 0}  # (out, in, *spatial)
        return {**axes, **kwargs}


class _BraintoolsDeltaOrthogonal(Init):
    """braintools' ``(out, in, *spatial)`` kernel = jaxinit's ``(*spatial, in, out)`` kernel transposed."""

    def __call__(self, size, rng=None, **kwargs):
        shape = _shape(size)
        if len(shape) < 3:  # not a conv kernel: jaxinit's own error
            return self.init(_key(rng), size, **kwargs)
        jax_shape = shape[2:] + (shape[1], shape[0])
        w = self.init(_key(rng), jax_shape, **kwargs)
        n = len(shape)
        return jnp.transpose(w, (n - 1, n - 2, *range(n - 2)))


class _BraintoolsDistanceModulated(Init):
    """``pre_positions``/``post_positions`` become the ``distances`` context (jaxinit's
    ``pairwise_distances``), as braintools computes them."""

    def context(self, shape, kwargs):
        if "distances" not in kwargs and "pre_positions" in kwargs and "post_positions" in kwargs:
            kwargs = dict(kwargs)
            pre, post = kwargs.pop("pre_positions"), kwargs.pop("post_positions")
            kwargs["distances"] = _profiles.pairwise_distances(pre, post)
        return kwargs


def _kaiming_scale(scale, nonlinearity, negative_slope):
    if scale is not None:
        return scale
    if nonlinearity == "relu":
        return 2.0
    if nonlinearity == "leaky_relu":
        return 2.0 / (1 + negative_slope**2)
    raise ValueError(f"Unsupported nonlinearity: {nonlinearity}")


def _variance(scale, mode, distribution):
    """braintools' variance scaling: jaxinit's named constructor where braintools' settings are
    exactly one (so the ``repr`` names it), else ``variance_scaling``."""
    named = {
        (2.0, "fan_in", "uniform"): ji.kaiming_uniform,
        (1.0, "fan_avg", "uniform"): ji.xavier_uniform,
        (1.0, "fan_in", "uniform"): ji.lecun_uniform,
    }
    constructor = named.get((scale, mode, distribution))
    init = constructor() if constructor is not None else ji.variance_scaling(scale, mode, distribution)
    return _BraintoolsFans(init)


class Profile:
    """A jaxinit profile with braintools' ``probability`` / ``weight_scaling`` methods."""

    def __init__(self, profile: Any, clip_negative: bool = False):
        self.profile = profile
        self.clip_negative = clip_negative

    def probability(self, distances):
        factor = self.profile(distances)
        return jnp.maximum(factor, 0.0) if self.clip_negative else factor

    weight_scaling = probability
    __call__ = probability

    def __repr__(self) -> str:
        return repr(self.profile)


def _per_length(value: Any, length: Any) -> Any:
    """A braintools rate given per unit of ``length`` (sigmoid slope, logistic growth rate)."""
    return value / u.get_unit(length) if isinstance(length, u.Quantity) else value


def _condition(condition_fn):
    """braintools' condition on flat neuron indices as a jaxinit ``where`` condition on the shape."""

    def condition(shape, neuron_indices=None, **ctx):
        n = math.prod(shape)
        indices = np.arange(n) if neuron_indices is None else np.asarray(neuron_indices)
        mask = np.asarray(condition_fn(indices))
        return mask.reshape(shape) if mask.size == n else mask

    return condition


def _dog_profile(sigma_center, sigma_surround, amplitude_center=1.0, amplitude_surround=0.5, max_distance=None):
    profile = _profiles.dog(sigma_center, sigma_surround, amplitude_center, amplitude_surround, max_distance)
    return Profile(profile, clip_negative=True)


def _mexican_hat_profile(sigma, amplitude=1.0, max_distance=None):
    return Profile(_profiles.mexican_hat(sigma, amplitude, max_distance), clip_negative=True)


def _bimodal_profile(sigma1, sigma2, center1=None, center2=None, amplitude1=1.0, amplitude2=1.0, max_distance=None):
    # braintools' centres default to 0 (in the sigmas' unit); None leaves jaxinit's own default
    centres = {k: v for k, v in (("center1", center1), ("center2", center2)) if v is not None}
    return Profile(
        _profiles.bimodal(
            sigma1, sigma2, **centres, amplitude1=amplitude1, amplitude2=amplitude2, max_distance=max_distance
        )
    )


braintools = SimpleNamespace(
    # distributions
    Constant=lambda value: Init(ji.constant(value)),
    ZeroInit=lambda unit=None: Init(ji.constant(0.0 if unit is None else 0.0 * unit)),
    Uniform=lambda low, high: Init(ji.uniform(low, high)),
    Normal=lambda mean, std: Init(ji.normal(mean, std)),
    LogNormal=lambda mean, std: Init(ji.lognormal(mean, std)),
    Gamma=lambda shape, scale: Init(ji.gamma(shape, scale)),
    Exponential=lambda scale: Init(ji.exponential(scale)),
    TruncatedNormal=lambda mean, std, low=None, high=None: Init(ji.truncated_normal(mean, std, low, high)),
    Beta=lambda alpha, beta, low, high: Init(ji.beta(alpha, beta, low, high)),
    Weibull=lambda shape, scale: Init(ji.weibull(shape, scale)),
    # variance scaling (braintools' Kaiming/Xavier/LeCun "Normal" are plain normals)
    VarianceScaling=lambda scale=1.0, mode="fan_in", distribution="normal": _variance(scale, mode, distribution),
    KaimingUniform=lambda scale=None, mode="fan_in", nonlinearity="relu", negative_slope=0.01: _variance(
        _kaiming_scale(scale, nonlinearity, negative_slope), mode, "uniform"
    ),
    KaimingNormal=lambda scale=None, mode="fan_in", nonlinearity="relu", negative_slope=0.01: _variance(
        _kaiming_scale(scale, nonlinearity, negative_slope), mode, "normal"
    ),
    XavierUniform=lambda scale=1.0: _variance(scale, "fan_avg", "uniform"),
    XavierNormal=lambda scale=1.0: _variance(scale, "fan_avg", "normal"),
    LecunUniform=lambda scale=1.0: _variance(scale, "fan_in", "uniform"),
    LecunNormal=lambda scale=1.0: _variance(scale, "fan_in", "normal"),
    # orthogonal
    Orthogonal=lambda scale=1.0: Init(ji.orthogonal(scale)),
    DeltaOrthogonal=lambda scale=1.0: _BraintoolsDeltaOrthogonal(ji.delta_orthogonal(scale)),
    Identity=lambda scale=1.0: Init(ji.identity(scale)),
    # composites
    Mixture=lambda distributions, weights=None: Init(ji.mixture([d.init for d in distributions], weights)),
    Conditional=lambda condition_fn, true_dist, false_dist: Init(
        ji.where(_condition(condition_fn), true_dist.init, false_dist.init)
    ),
    Scaled=lambda base_dist, scale_factor: Init(ji.scale(base_dist.init, scale_factor)),
    Clipped=lambda base_dist, min_val=None, max_val=None: Init(ji.clip(base_dist.init, min_val, max_val)),
    Compose=_compose,
    DistanceModulated=lambda base_dist, distance_profile: _BraintoolsDistanceModulated(
        ji.modulate_by_distance(
            base_dist.init, distance_profile.profile if isinstance(distance_profile, Profile) else distance_profile
        )
    ),
    # distance profiles
    GaussianProfile=lambda sigma, max_distance=None: Profile(_profiles.gaussian(sigma, max_distance)),
    ExponentialProfile=lambda decay_constant, max_distance=None: Profile(
        _profiles.exponential(decay_constant, max_distance)
    ),
    PowerLawProfile=lambda exponent, min_distance=1.0 * u.um, max_distance=None: Profile(
        _profiles.power_law(exponent, min_distance, max_distance)
    ),
    LinearProfile=lambda max_distance: Profile(_profiles.linear(max_distance)),
    StepProfile=lambda threshold, inside_prob=1.0, outside_prob=0.0: Profile(
        _profiles.step(threshold, inside_prob, outside_prob)
    ),
    SigmoidProfile=lambda midpoint, slope=0.05, max_distance=None: Profile(
        _profiles.sigmoid(midpoint, _per_length(slope, midpoint), max_distance)
    ),
    LogisticProfile=lambda growth_rate, midpoint, max_distance=None: Profile(
        _profiles.sigmoid(midpoint, _per_length(growth_rate, midpoint), max_distance)
    ),
    DoGProfile=_dog_profile,
    MexicanHatProfile=_mexican_hat_profile,
    BimodalProfile=_bimodal_profile,
)

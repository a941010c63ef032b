"""Distance profiles: pure functions ``profile(distances) -> factor``.

A profile maps distances to a dimensionless factor, for
:func:`jaxinit.modulate_by_distance` and distance-dependent topologies. Length
parameters may be plain numbers (then distances must be too) or brainunit
Quantities (then distances must be Quantities of length; ``sigma`` in mm against
distances in µm is converted). Every profile takes ``max_distance``: the factor is
0 beyond it. Plain Python composes them: ``lambda d: jnp.clip(p(d), 0, 1)``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxinit import _core

__all__ = [
    "Profile",
    "bimodal",
    "dog",
    "exponential",
    "gaussian",
    "linear",
    "mexican_hat",
    "pairwise_distances",
    "power_law",
    "sigmoid",
    "step",
]
from jaxinit._core import NONNEGATIVE, POSITIVE, REAL, Rule


class Profile(_core.Described):
    """A distance profile built from a formula and named parameters.

    ``formula(d, **params)`` receives plain distances and parameters in one length
    unit. Like initializers, profiles are picklable, have a readable ``repr`` and are
    pytrees compared by value: ``gaussian(100.0) == gaussian(100.0)``, and
    ``jax.vmap`` maps over a profile built from an array of ``sigma``.
    """

    __slots__ = ("formula", "dimensional")
    repr_prefix = "profiles."
    fields = ("formula", "dimensional")

    def __init__(self, name, formula, params, shown, unit, dimensional):
        self._init(name, params, shown, (), unit)
        self.formula = formula
        self.dimensional = dimensional if unit is not None else ()

    def __call__(self, distances: ArrayLike) -> jax.Array:
        if self.unit is not None:
            from jaxinit import units

            d = units.to_plain(self.name, "distances", distances, self.unit)
        elif _core.is_quantity(distances):
            raise ValueError(
                f"{self.name}: distances are a Quantity ({distances.unit}) but the profile's parameters are plain "
                "numbers; give its length parameters in units too (e.g. sigma=100 * u.um)"
            )
        else:
            d = distances
        d = jnp.asarray(d)
        if not jnp.issubdtype(d.dtype, jnp.floating):
            d = d.astype(jax.dtypes.canonicalize_dtype(float))
        params = {p: None if v is None else jnp.asarray(v, d.dtype) for p, v in self.params.items()}
        max_distance = params.pop("max_distance")
        factor = self.formula(d, **params)
        if max_distance is not None:
            factor = jnp.where(d > max_distance, jnp.zeros_like(factor), factor)
        return factor


def _build(
    name: str,
    formula: Callable[..., jax.Array],
    params: Mapping[str, Any],
    rules: Mapping[str, Rule],
    lengths: tuple[str, ...],
    inverse_length: tuple[str, ...] = (),
    shown: tuple[str, ...] | None = None,
) -> Profile:
    """Converts length parameters to one unit, validates, returns the profile."""
    unit = None
    plain = dict(params)
    if "brainunit" in sys.modules:
        from jaxinit import units

        plain, unit = units.split_units(name, params, lengths, inverse=inverse_length)
    optional = {**rules, "max_distance": _core.OPTIONAL_POSITIVE}
    _core.validate(name, plain, optional, units={p: unit for p in lengths} if unit is not None else None)
    plain = _core.lists_as_arrays(plain)
    return Profile(name, formula, plain, shown, unit, lengths)


def _gaussian(d, *, sigma, amplitude=1.0):
    return amplitude * jnp.exp(-0.5 * jnp.square(d / sigma))


def _with_amplitude(
    params: dict[str, Any], rules: dict[str, Rule], amplitude: Any
) -> tuple[dict[str, Any], dict[str, Rule]]:
    """``params`` and ``rules`` with ``amplitude`` (``>= 0``) unless it is the default 1 (left out:
    the profile keeps the leaves, repr and vmap behaviour it has without one)."""
    if isinstance(amplitude, (int, float)) and not isinstance(amplitude, bool) and amplitude == 1:
        return params, rules
    return {**params, "amplitude": amplitude}, {**rules, "amplitude": NONNEGATIVE}


def gaussian(sigma: ArrayLike, max_distance: ArrayLike | None = None, *, amplitude: ArrayLike = 1.0) -> Profile:
    """``A·exp(−d²/2σ²)``.

    Args:
      sigma: width ``σ > 0`` (a length).
      max_distance: the factor is 0 beyond this distance (``None``: no cut-off).
      amplitude: ``A >= 0``, the factor at distance 0 (dimensionless): as a connection
        probability, NEST's and braintools' ``p_max``/``max_prob``.

    Returns:
      A profile ``profile(distances) -> factor``.

    Example:
      >>> import jax.numpy as jnp, numpy as np
      >>> np.asarray(gaussian(100.0)(jnp.array([0.0, 100.0, 200.0]))).round(3)
      array([1.   , 0.607, 0.135], dtype=float32)
      >>> gaussian(100.0, max_distance=300.0, amplitude=0.5)
      profiles.gaussian(sigma=100.0, max_distance=300.0, amplitude=0.5)
    """
    return _build(
        "gaussian",
        _gaussian,
        *_with_amplitude({"sigma": sigma, "max_distance": max_distance}, {"sigma": POSITIVE}, amplitude),
        ("sigma", "max_distance"),
    )


def _exponential(d, *, decay_constant, amplitude=1.0):
    return amplitude * jnp.exp(-d / decay_constant)


def exponential(
    decay_constant: ArrayLike, max_distance: ArrayLike | None = None, *, amplitude: ArrayLike = 1.0
) -> Profile:
    """``A·exp(−d/λ)``.

    Args:
      decay_constant: length constant ``λ > 0``.
      max_distance: the factor is 0 beyond this distance.
      amplitude: ``A >= 0``, the factor at distance 0 (dimensionless).

    Returns:
      A profile ``profile(distances) -> factor``.

    Example:
      >>> import jax.numpy as jnp, numpy as np
      >>> np.asarray(exponential(50.0)(jnp.array([0.0, 50.0]))).round(3)
      array([1.   , 0.368], dtype=float32)
    """
    return _build(
        "exponential",
        _exponential,
        *_with_amplitude(
            {"decay_constant": decay_constant, "max_distance": max_distance}, {"decay_constant": POSITIVE}, amplitude
        ),
        ("decay_constant", "max_distance"),
    )


def _dog(d, *, sigma_center, sigma_surround, amplitude_center, amplitude_surround):
    return amplitude_center * _gaussian(d, sigma=sigma_center) - amplitude_surround * _gaussian(d, sigma=sigma_surround)


def dog(
    sigma_center: ArrayLike,
    sigma_surround: ArrayLike,
    amplitude_center: ArrayLike = 1.0,
    amplitude_surround: ArrayLike = 0.5,
    max_distance: ArrayLike | None = None,
) -> Profile:
    """Difference of Gaussians ``A_c·exp(−d²/2σ_c²) − A_s·exp(−d²/2σ_s²)`` (signed).

    Args:
      sigma_center: width of the centre Gaussian, ``> 0``.
      sigma_surround: width of the surround Gaussian, ``> 0``.
      amplitude_center: ``A_c`` (dimensionless).
      amplitude_surround: ``A_s`` (dimensionless).
      max_distance: the factor is 0 beyond this distance.

    Returns:
      A profile; clip it (``lambda d: jnp.clip(p(d), 0, 1)``) to use it as a probability.

    Example:
      >>> import jax.numpy as jnp, numpy as np
      >>> np.asarray(dog(50.0, 150.0)(jnp.array([0.0, 100.0]))).round(3)
      array([ 0.5  , -0.265], dtype=float32)
    """
    return _build(
        "dog",
        _dog,
        {
            "sigma_center": sigma_center,
            "sigma_surround": sigma_surround,
            "amplitude_center": amplitude_center,
            "amplitude_surround": amplitude_surround,
            "max_distance": max_distance,
        },
        {"sigma_center": POSITIVE, "sigma_surround": POSITIVE, "amplitude_center": REAL, "amplitude_surround": REAL},
        ("sigma_center", "sigma_surround", "max_distance"),
    )


def _mexican_hat(d, *, sigma, amplitude):
    r2 = jnp.square(d / sigma)
    return amplitude * (1 - r2) * jnp.exp(-0.5 * r2)


def mexican_hat(sigma: ArrayLike, amplitude: ArrayLike = 1.0, max_distance: ArrayLike | None = None) -> Profile:
    """``A·(1 − d²/σ²)·exp(−d²/2σ²)`` (signed: negative beyond ``σ``).

    Args:
      sigma: width ``σ > 0``.
      amplitude: ``A`` (dimensionless).
      max_distance: the factor is 0 beyond this distance.

    Returns:
      A profile ``profile(distances) -> factor``.

    Example:
      >>> import jax.numpy as jnp, numpy as np
      >>> np.asarray(mexican_hat(1.0)(jnp.array([0.0, 1.0, 2.0]))).round(3)
      array([ 1.   ,  0.   , -0.406], dtype=float32)
    """
    return _build(
        "mexican_hat",
        _mexican_hat,
        {"sigma": sigma, "amplitude": amplitude, "max_distance": max_distance},
        {"sigma": POSITIVE, "amplitude": REAL},
        ("sigma", "max_distance"),
    )


def _step(d, *, threshold, inside, outside):
    return jnp.where(d <= threshold, inside, outside)


def step(
    threshold: ArrayLike, inside: ArrayLike = 1.0, outside: ArrayLike = 0.0, max_distance: ArrayLike | None = None
) -> Profile:
    """``inside`` where ``d <= threshold``, else ``outside``.

    Args:
      threshold: the radius, ``>= 0``.
      inside: factor within the radius (dimensionless).
      outside: factor beyond it (dimensionless).
      max_distance: the factor is 0 beyond this distance.

    Returns:
      A profile ``profile(distances) -> factor``.

    Example:
      >>> import jax.numpy as jnp
      >>> step(100.0, outside=0.2)(jnp.array([50.0, 100.0, 150.0]))
      Array([1. , 1. , 0.2], dtype=float32)
    """
    return _build(
        "step",
        _step,
        {"threshold": threshold, "inside": inside, "outside": outside, "max_distance": max_distance},
        {"threshold": NONNEGATIVE, "inside": REAL, "outside": REAL},
        ("threshold", "max_distance"),
    )


def _linear(d, *, extent):
    return jnp.maximum(0, 1 - d / extent)


def linear(max_distance: ArrayLike) -> Profile:
    """``max(0, 1 − d/max_distance)``: falls linearly to 0 at ``max_distance``.

    Args:
      max_distance: where the factor reaches 0, ``> 0``.

    Returns:
      A profile ``profile(distances) -> factor``.

    Example:
      >>> import jax.numpy as jnp
      >>> linear(200.0)(jnp.array([0.0, 50.0, 300.0]))
      Array([1.  , 0.75, 0.  ], dtype=float32)
    """
    # the formula reaches 0 at max_distance by itself; the shared cut-off agrees with it
    return _build(
        "linear",
        _linear,
        {"extent": max_distance, "max_distance": max_distance},
        {"extent": POSITIVE},
        ("extent", "max_distance"),
        shown=("max_distance",),
    )


def _sigmoid(d, *, midpoint, slope):
    return jax.nn.sigmoid(-slope * (d - midpoint))


def sigmoid(midpoint: ArrayLike, slope: ArrayLike, max_distance: ArrayLike | None = None) -> Profile:
    """``1 / (1 + exp(slope·(d − midpoint)))``: decreasing in ``d``, 0.5 at ``midpoint``.

    Args:
      midpoint: the distance where the factor is 0.5.
      slope: steepness ``> 0``, in 1/length (``0.05 / u.um`` with units).
      max_distance: the factor is 0 beyond this distance.

    Returns:
      A profile ``profile(distances) -> factor``.

    Example:
      >>> import jax.numpy as jnp, numpy as np
      >>> np.asarray(sigmoid(100.0, 0.05)(jnp.array([0.0, 100.0, 200.0]))).round(3)
      array([0.993, 0.5  , 0.007], dtype=float32)
    """
    return _build(
        "sigmoid",
        _sigmoid,
        {"midpoint": midpoint, "slope": slope, "max_distance": max_distance},
        {"midpoint": REAL, "slope": POSITIVE},
        ("midpoint", "max_distance"),
        inverse_length=("slope",),
    )


def _power_law(d, *, exponent, min_distance):
    return jnp.power(jnp.maximum(d, min_distance) / min_distance, -exponent)


def power_law(exponent: ArrayLike, min_distance: ArrayLike, max_distance: ArrayLike | None = None) -> Profile:
    """``(max(d, d₀)/d₀)^(−exponent)``, with ``d₀ = min_distance``.

    Args:
      exponent: decay exponent, ``>= 0`` (dimensionless).
      min_distance: ``d₀ > 0``; the factor is 1 within it.
      max_distance: the factor is 0 beyond this distance.

    Returns:
      A profile ``profile(distances) -> factor``.

    Example:
      >>> import jax.numpy as jnp
      >>> power_law(2.0, 10.0)(jnp.array([5.0, 10.0, 20.0]))
      Array([1.  , 1.  , 0.25], dtype=float32)
    """
    return _build(
        "power_law",
        _power_law,
        {"exponent": exponent, "min_distance": min_distance, "max_distance": max_distance},
        {"exponent": NONNEGATIVE, "min_distance": POSITIVE},
        ("min_distance", "max_distance"),
    )


def _bimodal(d, *, sigma1, sigma2, center1, center2, amplitude1, amplitude2):
    return amplitude1 * _gaussian(d - center1, sigma=sigma1) + amplitude2 * _gaussian(d - center2, sigma=sigma2)


def bimodal(
    sigma1: ArrayLike,
    sigma2: ArrayLike,
    center1: ArrayLike | None = None,
    center2: ArrayLike | None = None,
    amplitude1: ArrayLike = 1.0,
    amplitude2: ArrayLike = 1.0,
    max_distance: ArrayLike | None = None,
) -> Profile:
    """``A₁·exp(−(d−c₁)²/2σ₁²) + A₂·exp(−(d−c₂)²/2σ₂²)``: two bumps, e.g. local and patchy.

    Args:
      sigma1: width of the first bump, ``> 0``.
      sigma2: width of the second bump, ``> 0``.
      center1: distance of the first bump's peak (``None``: 0, in the widths' unit).
      center2: distance of the second bump's peak (``None``: 0, in the widths' unit).
      amplitude1: ``A₁`` (dimensionless).
      amplitude2: ``A₂`` (dimensionless).
      max_distance: the factor is 0 beyond this distance.

    Returns:
      A profile ``profile(distances) -> factor``.

    Example:
      >>> import jax.numpy as jnp, numpy as np
      >>> local_and_patchy = bimodal(80.0, 200.0, center2=300.0, amplitude1=0.8, amplitude2=0.3)
      >>> np.asarray(local_and_patchy(jnp.array([0.0, 300.0]))).round(3)
      array([0.897, 0.301], dtype=float32)
    """
    zero = 0.0 * sigma1.unit if _core.is_quantity(sigma1) else 0.0
    center1 = zero if center1 is None else center1
    center2 = zero if center2 is None else center2
    return _build(
        "bimodal",
        _bimodal,
        {
            "sigma1": sigma1,
            "sigma2": sigma2,
            "center1": center1,
            "center2": center2,
            "amplitude1": amplitude1,
            "amplitude2": amplitude2,
            "max_distance": max_distance,
        },
        {
            "sigma1": POSITIVE,
            "sigma2": POSITIVE,
            "center1": REAL,
            "center2": REAL,
            "amplitude1": REAL,
            "amplitude2": REAL,
        },
        ("sigma1", "sigma2", "center1", "center2", "max_distance"),
    )


def _dog_bound(d, *, sigma_center, sigma_surround, amplitude_center, amplitude_surround):
    return jnp.maximum(amplitude_center, 0) * _gaussian(d, sigma=sigma_center) + jnp.maximum(
        -amplitude_surround, 0
    ) * _gaussian(d, sigma=sigma_surround)


def _mexican_hat_bound(d, *, sigma, amplitude):
    # for amplitude >= 0, (1 - r²)·exp(-r²/2) falls from 1 at r = 0 to its minimum at r² = 3, then
    # rises to 0 from below
    return jnp.maximum(_mexican_hat(d, sigma=sigma, amplitude=amplitude), 0)


def _step_bound(d, *, threshold, inside, outside):
    return jnp.where(d <= threshold, jnp.maximum(inside, outside), outside)


# sup of a profile over [d, inf) (or a value above it), per kind: the formula itself where it never rises
_TAIL_BOUNDS = {
    "gaussian": _gaussian,
    "exponential": _exponential,
    "linear": _linear,
    "sigmoid": _sigmoid,
    "power_law": _power_law,
    "dog": _dog_bound,
    "mexican_hat": _mexican_hat_bound,
    "step": _step_bound,
}


def _tail_bound(profile: Any) -> Profile | None:
    """A profile ``b`` with ``b(d) >= profile(d')`` for every ``d' >= d`` (so ``b(d)`` bounds the
    profile over any set of distances at least ``d``), or ``None`` when no such bound is known
    (another kind, array parameters, or a plain callable). Spatial rules visit candidate pairs
    by this bound and thin them by ``profile / bound``."""
    if not isinstance(profile, Profile) or profile.name not in _TAIL_BOUNDS:
        return None
    if any(v is not None and jnp.size(v) != 1 for v in profile.params.values()):
        return None
    if profile.name == "mexican_hat" and float(profile.params["amplitude"]) < 0:
        return None
    bound = Profile.__new__(Profile)
    bound._init(profile.name, profile.params, profile.shown, (), profile.unit)
    bound.formula, bound.dimensional = _TAIL_BOUNDS[profile.name], profile.dimensional
    return bound


def _minimum_image(diff: jax.Array, box: ArrayLike | None) -> jax.Array:
    """Coordinate differences ``(..., dim)`` wrapped to the nearest periodic image (``box=None``: unchanged)."""
    if box is None:
        return diff
    size = jnp.asarray(box, diff.dtype)
    size = jnp.broadcast_to(size, (1,) * (diff.ndim - 1) + (diff.shape[-1],))
    return diff - size * jnp.round(diff / size)


def pairwise_distances(
    pre_positions: ArrayLike, post_positions: ArrayLike | None = None, box: ArrayLike | None = None
) -> jax.Array:
    """The ``(n_pre, n_post)`` matrix of Euclidean distances, optionally on a torus.

    Args:
      pre_positions: ``(n_pre, dim)`` coordinates (or ``(n_pre,)`` for 1-D); plain
        or a Quantity of length.
      post_positions: ``(n_post, dim)`` coordinates in the same space; ``None`` for
        the distances within one population (``pre_positions`` again).
      box: side length(s) of a periodic box, one number or one per axis (``> 0``);
        ``None`` for open boundaries. With a box, each axis distance is the shorter
        way round.

    Returns:
      ``(n_pre, n_post)`` distances (a Quantity if the positions are).

    Raises:
      ValueError: the positions have different dimensions, or ``box`` is not ``> 0``.

    Example:
      >>> import jax.numpy as jnp
      >>> pre = jnp.array([[0.0, 0.0], [9.0, 0.0]])
      >>> pairwise_distances(pre, pre, box=10.0)
      Array([[0., 1.],
             [1., 0.]], dtype=float32)
    """
    unit = None
    post_positions = pre_positions if post_positions is None else post_positions
    values = {"pre_positions": pre_positions, "post_positions": post_positions, "box": box}
    if "brainunit" in sys.modules:
        from jaxinit import units

        values, unit = units.split_units("pairwise_distances", values, tuple(values))
    _core.validate("pairwise_distances", values, {"box": _core.OPTIONAL_POSITIVE})
    pre, post = (jnp.asarray(values[p]) for p in ("pre_positions", "post_positions"))
    pre = pre[:, None] if pre.ndim == 1 else pre
    post = post[:, None] if post.ndim == 1 else post
    if pre.ndim != 2 or post.ndim != 2 or pre.shape[1] != post.shape[1]:
        raise ValueError(
            "pairwise_distances: positions must be (n, dim) arrays of the same dim, "
            f"got pre_positions {pre.shape} and post_positions {post.shape}"
        )
    diff = pre[:, None, :] - post[None, :, :]
    diff = _minimum_image(diff, values["box"])
    distances = jnp.sqrt(jnp.sum(jnp.square(diff), axis=-1))
    if unit is not None:
        from jaxinit import units

        return units.attach(distances, unit)
    return distances

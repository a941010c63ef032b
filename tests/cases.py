"""The registry of cases: every public initializer with example arguments.

Contract tests iterate over ``CASES``; statistical tests over the entries that
name a reference ``scipy.stats`` distribution. Capabilities live here, not in skip
chains: a case says which dtypes it accepts and what its support is.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from scipy import stats

import jaxinit as ji

# the shapes every shape-free initializer is tried with; SHAPE for the other contract tests
SHAPES = ((), 7, (3, 4), [2, 3, 5], (0, 3))
SHAPE = (6, 5)


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    init: Callable
    reference: object | None = None  # a frozen scipy.stats distribution with the same law
    low: float = -math.inf  # support, inclusive
    high: float = math.inf
    any_dtype: bool = False
    discrete: bool = False
    shapes: tuple = SHAPES  # the shapes it accepts (blocks takes one)
    shape: tuple = SHAPE  # the shape of the contract tests
    ctx: Callable[[tuple], dict] = lambda shape: {}  # context it needs, for a given shape


def magnitude(x):
    """A module-level elementwise function, so that transform(..., magnitude) pickles."""
    return jnp.abs(x)


def _distances(shape):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return {"distances": jnp.linspace(0.0, 300.0, int(np.prod(shape))).reshape(shape)}


def _lognormal_reference(mean: float, std: float):
    sigma = math.sqrt(math.log1p((std / mean) ** 2))
    return stats.lognorm(s=sigma, scale=math.exp(math.log(mean) - sigma**2 / 2))


def _truncnorm(mean, std, low, high):
    a = -np.inf if low is None else (low - mean) / std
    b = np.inf if high is None else (high - mean) / std
    return stats.truncnorm(a, b, loc=mean, scale=std)


DISTRIBUTION_CASES = [
    Case("constant", ji.constant(0.25), low=0.25, high=0.25, any_dtype=True),
    Case("zeros", ji.zeros, low=0.0, high=0.0, any_dtype=True),
    Case("ones", ji.ones, low=1.0, high=1.0, any_dtype=True),
    Case("uniform", ji.uniform(-0.5, 2.0), stats.uniform(-0.5, 2.5), low=-0.5, high=2.0),
    Case("normal", ji.normal(0.5, 0.3), stats.norm(0.5, 0.3)),
    Case(
        "truncated_normal",
        ji.truncated_normal(0.2, 1.5, low=-1.0, high=3.0),
        _truncnorm(0.2, 1.5, -1.0, 3.0),
        low=-1.0,
        high=3.0,
    ),
    Case("lognormal", ji.lognormal(1.5, 0.7), _lognormal_reference(1.5, 0.7), low=0.0),
    Case("gamma", ji.gamma(2.5, 0.4), stats.gamma(2.5, scale=0.4), low=0.0),
    Case("exponential", ji.exponential(2.0), stats.expon(scale=2.0), low=0.0),
    Case("weibull", ji.weibull(1.7, 0.8), stats.weibull_min(1.7, scale=0.8), low=0.0),
    Case("beta", ji.beta(2.0, 5.0, low=-1.0, high=3.0), stats.beta(2.0, 5.0, loc=-1.0, scale=4.0), low=-1.0, high=3.0),
    Case("bernoulli", ji.bernoulli(0.3), stats.bernoulli(0.3), low=0.0, high=1.0, any_dtype=True, discrete=True),
]

COMBINATOR_CASES = [
    Case(
        "mixture-affine",
        ji.mixture([ji.normal(0.3, 0.05), ji.normal(1.2, 0.2), ji.normal(-1.0, 0.5)], weights=[0.5, 0.3, 0.2]),
    ),
    Case("mixture-general", ji.mixture([ji.normal(0.3, 0.05), ji.gamma(2.0, 0.5)], weights=[0.6, 0.4])),
    Case(
        "where",
        ji.where(jnp.array([True, False, True, True, False]), ji.uniform(0.0, 1.0), ji.normal(-3.0, 0.1)),
        shapes=((4, 5), SHAPE, (2, 3, 5)),
    ),
    Case(
        "where-callable",
        ji.where(lambda shape, **ctx: jnp.arange(math.prod(shape)).reshape(shape) % 3 == 0, ji.ones, ji.normal()),
    ),
    Case("scale", ji.scale(ji.normal(0.5, 0.3), 2.0), stats.norm(1.0, 0.6)),
    Case("shift", ji.shift(ji.exponential(2.0), 0.5), stats.expon(0.5, 2.0), low=0.5),
    Case("clip", ji.clip(ji.normal(0.5, 0.3), low=0.2, high=0.8), low=0.2, high=0.8),
    Case("transform", ji.transform(ji.normal(0.0, 2.0), magnitude), stats.halfnorm(scale=2.0), low=0.0),
    Case("add", ji.add(ji.normal(1.0, 1.0), ji.normal(-0.5, 2.0)), stats.norm(0.5, math.sqrt(5.0))),
    Case("multiply", ji.multiply(ji.bernoulli(0.3), ji.lognormal(1.0, 0.5)), low=0.0),
    Case(
        "modulate_by_distance",
        ji.modulate_by_distance(ji.normal(1.0, 0.1), ji.profiles.gaussian(100.0), min_weight=0.05),
        ctx=_distances,
    ),
    Case(
        "blocks",
        ji.blocks([4, 2], [3, 2], [[ji.normal(1.0, 0.1), None], [ji.uniform(-2.0, -1.0), ji.constant(3.0)]]),
        low=-2.0,
        shapes=(SHAPE,),
    ),
]

KERNEL_SHAPES = ((3, 4), SHAPE, (3, 3, 2, 5))
VARIANCE_CASES = [
    Case("variance_scaling", ji.variance_scaling(0.5, "fan_avg", "normal"), shapes=KERNEL_SHAPES),
    Case("kaiming_normal", ji.kaiming_normal(), shapes=KERNEL_SHAPES),
    Case("kaiming_uniform", ji.kaiming_uniform(), shapes=KERNEL_SHAPES),
    Case("xavier_normal", ji.xavier_normal(), shapes=KERNEL_SHAPES),
    Case("xavier_uniform", ji.xavier_uniform(), shapes=KERNEL_SHAPES),
    Case("lecun_normal", ji.lecun_normal(), shapes=KERNEL_SHAPES),
    Case("lecun_uniform", ji.lecun_uniform(), shapes=KERNEL_SHAPES),
    Case("orthogonal", ji.orthogonal(), shapes=(*KERNEL_SHAPES, (0, 3))),
    Case("orthogonal-batched", ji.orthogonal(batch_axis=0), shapes=((2, 4, 4), (3, 6, 5)), shape=(3, 6, 5)),
    Case("delta_orthogonal", ji.delta_orthogonal(), shapes=((3, 4, 4), (3, 3, 5, 6)), shape=(3, 3, 5, 6)),
    Case("identity", ji.identity(2.0), low=0.0, high=2.0, shapes=KERNEL_SHAPES),
]

CASES = DISTRIBUTION_CASES + COMBINATOR_CASES + VARIANCE_CASES
RANDOM_CASES = [c for c in CASES if c.reference is not None]

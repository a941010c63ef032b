"""jaxinit: JAX-native weight initializers for machine learning and neuroscience.

An initializer is a pure function ``init(key, shape, dtype=None, **ctx)``; every
public constructor below returns one.
"""

from jaxinit._core import Initializer as Initializer
from jaxinit.distributions import bernoulli as bernoulli
from jaxinit.distributions import beta as beta
from jaxinit.distributions import constant as constant
from jaxinit.distributions import exponential as exponential
from jaxinit.distributions import gamma as gamma
from jaxinit.distributions import lognormal as lognormal
from jaxinit.distributions import normal as normal
from jaxinit.distributions import ones as ones
from jaxinit.distributions import truncated_normal as truncated_normal
from jaxinit.distributions import uniform as uniform
from jaxinit.distributions import weibull as weibull
from jaxinit.distributions import zeros as zeros

__version__ = "0.1.0"

__all__ = [
    "Initializer",
    "bernoulli",
    "beta",
    "constant",
    "exponential",
    "gamma",
    "lognormal",
    "normal",
    "ones",
    "truncated_normal",
    "uniform",
    "weibull",
    "zeros",
]

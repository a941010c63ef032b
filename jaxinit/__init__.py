"""jaxinit: JAX-native weight initializers for machine learning and neuroscience.

An initializer is a pure function ``init(key, shape, dtype=None, **ctx)``; every
public constructor below returns one.
"""

from jaxinit import profiles as profiles
from jaxinit._core import Initializer as Initializer
from jaxinit.combinators import add as add
from jaxinit.combinators import blocks as blocks
from jaxinit.combinators import clip as clip
from jaxinit.combinators import mixture as mixture
from jaxinit.combinators import modulate_by_distance as modulate_by_distance
from jaxinit.combinators import multiply as multiply
from jaxinit.combinators import scale as scale
from jaxinit.combinators import shift as shift
from jaxinit.combinators import transform as transform
from jaxinit.combinators import where as where
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
    "add",
    "blocks",
    "clip",
    "mixture",
    "modulate_by_distance",
    "multiply",
    "profiles",
    "scale",
    "shift",
    "transform",
    "where",
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

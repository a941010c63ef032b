"""jaxinit: JAX-native weight initializers for machine learning and neuroscience.

An initializer is a pure function ``init(key, shape, dtype=None, **ctx)``; every
public constructor below returns one.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from jaxinit import profiles as profiles
from jaxinit import topology as topology
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
from jaxinit.tree import reinit as reinit
from jaxinit.variance import compute_fans as compute_fans
from jaxinit.variance import delta_orthogonal as delta_orthogonal
from jaxinit.variance import glorot_normal as glorot_normal
from jaxinit.variance import glorot_uniform as glorot_uniform
from jaxinit.variance import he_normal as he_normal
from jaxinit.variance import he_uniform as he_uniform
from jaxinit.variance import identity as identity
from jaxinit.variance import kaiming_normal as kaiming_normal
from jaxinit.variance import kaiming_uniform as kaiming_uniform
from jaxinit.variance import lecun_normal as lecun_normal
from jaxinit.variance import lecun_uniform as lecun_uniform
from jaxinit.variance import orthogonal as orthogonal
from jaxinit.variance import variance_scaling as variance_scaling
from jaxinit.variance import xavier_normal as xavier_normal
from jaxinit.variance import xavier_uniform as xavier_uniform

try:
    __version__ = _version("jaxinit")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Initializer",
    "add",
    "bernoulli",
    "beta",
    "blocks",
    "clip",
    "compute_fans",
    "constant",
    "delta_orthogonal",
    "exponential",
    "gamma",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "lognormal",
    "mixture",
    "modulate_by_distance",
    "multiply",
    "normal",
    "ones",
    "orthogonal",
    "profiles",
    "reinit",
    "scale",
    "topology",
    "shift",
    "transform",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "weibull",
    "where",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

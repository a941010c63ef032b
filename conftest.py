"""A strict JAX environment for the tests and doctests (equinox-style).

Implicit dtype and rank promotion raise, so an initializer that upcasts or relies
on broadcasting a lower-rank parameter fails here before it surprises a user.
"""

import jax

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

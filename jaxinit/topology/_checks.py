"""Argument checks shared by the topology builders: sizes, counts, concrete parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxinit import _core

# indices are int32: sizes and synapse counts stay below 2**31
INDEX_LIMIT = 2**31 - 1


def check_size(name: str, param: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an ``int`` in ``[minimum, 2**31)``; errors name ``param`` and the rule."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: {param} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: {param} must be >= {minimum}, got {value}")
    if value > INDEX_LIMIT:
        raise ValueError(f"{name}: {param} must be < 2**31 (indices are int32), got {value:,}")
    return int(value)


def check_count(name: str, nnz: int) -> int:
    """A synapse count that int32 indices can address."""
    if nnz > INDEX_LIMIT:
        raise ValueError(
            f"{name}: the request makes {nnz:,} synapses, more than the 2**31 - 1 that int32 indices "
            "address; build the network in parts"
        )
    return nnz


def check_concrete(name: str, param: str, value: Any, role: str) -> None:
    """Refuses a traced ``value`` for a parameter that sets static sizes (``role`` says which)."""
    if _core.is_traced(value):
        raise TypeError(
            f"{name}: {param} must be a concrete number, not a traced value (it sets {role}, which must be "
            f"static); pass it as a Python number outside jit/vmap, e.g. jax.jit(functools.partial(f, {param}=0.8))"
        )

"""Set algebra on connectivities: union, intersection and difference of synapse sets.

Both operands are sorted by ``(pre, post)``, so the three operations are one merge:
the two pair lists are concatenated and sorted lexicographically (``a``'s copy of a
shared pair first), and each pair is kept or dropped by looking at its neighbour. No
packed key is needed, so nothing overflows int32 however large ``n_pre · n_post``.

The result's length depends on the data, so the operations run eagerly on concrete
connectivities (the sort and the masks run on the device; only the count comes back).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxinit import _core
from jaxinit.topology._connectivity import Connectivity

_FIELDS = ("weight", "delay")


def _check(name: str, a: Any, b: Any) -> tuple[Connectivity, Connectivity]:
    """``a`` and ``b`` checked, without padding (set algebra runs on one device)."""
    for param, conn in (("a", a), ("b", b)):
        if not isinstance(conn, Connectivity):
            raise TypeError(f"{name}: {param} must be a Connectivity, got {type(conn).__name__}")
        if _core.is_traced(conn.pre):
            raise TypeError(
                f"{name}: {param} must be concrete, not traced: the result's length depends on the data; "
                f"call {name} outside jit/vmap"
            )
        if conn.pre.ndim != 1:
            raise ValueError(
                f"{name}: {param} must be a single connectivity (1-D pre/post), got a batch with pre of shape "
                f"{tuple(conn.pre.shape)}; apply {name} to each member"
            )
    if (a.n_pre, a.n_post) != (b.n_pre, b.n_post):
        raise ValueError(
            f"{name}: a and b must have the same sizes, got a (n_pre={a.n_pre}, n_post={a.n_post}) and "
            f"b (n_pre={b.n_pre}, n_post={b.n_post})"
        )
    a, b = a.unpadded(), b.unpadded()
    for param, conn in (("a", a), ("b", b)):
        pre, post = conn.pre, conn.post
        if conn.nnz > 1 and bool(jnp.any((pre[1:] == pre[:-1]) & (post[1:] == post[:-1]))):
            raise ValueError(
                f"{name}: {param} has repeated pairs (multapses); set algebra treats a connectivity as a set of "
                "pairs: merge the multapses first (e.g. Connectivity.from_dense(conn.to_dense()) sums them)"
            )
    return a, b


def _merge(a: Connectivity, b: Connectivity) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    """Both pair lists in ``(pre, post)`` order, ``a``'s copy of a shared pair first:
    ``(pre, post, from_b, index, same_as_next)`` (``index`` into the concatenation)."""
    from_b = jnp.concatenate([jnp.zeros(a.nnz, jnp.int32), jnp.ones(b.nnz, jnp.int32)])
    index = jnp.arange(a.nnz + b.nnz, dtype=jnp.int32)
    pre, post = jnp.concatenate([a.pre, b.pre]), jnp.concatenate([a.post, b.post])
    pre, post, from_b, index = lax.sort((pre, post, from_b, index), num_keys=3)
    same = (pre[1:] == pre[:-1]) & (post[1:] == post[:-1])
    same_as_next = jnp.concatenate([same, jnp.zeros(1, bool)])
    return pre, post, from_b.astype(bool), index, same_as_next


def _plain(name: str, param: str, values: Any, unit: Any) -> Any:
    if unit is None:
        if _core.is_quantity(values):
            raise ValueError(f"{name}: the {param} of a is unit-free but that of b carries a unit ({values.unit})")
        return jnp.asarray(values)
    if not _core.is_quantity(values):
        raise ValueError(f"{name}: the {param} of a carries a unit ({unit}) but that of b is unit-free")
    from jaxinit import units

    return units.to_plain(name, param, values, unit)


def _select(name: str, a: Connectivity, b: Connectivity, keep: jax.Array, pre, post, index) -> Connectivity:
    """The kept merged pairs, with ``a``'s values (``b``'s for pairs only in ``b``)."""
    where = jnp.asarray(np.flatnonzero(np.asarray(keep)).astype(np.int32))
    taken = index[where]
    values = {}
    for field in _FIELDS:
        mine, theirs = getattr(a, field), getattr(b, field)
        if mine is None:
            values[field] = None
            continue
        unit = mine.unit if _core.is_quantity(mine) else None
        plain = jnp.asarray(mine.mantissa if unit is not None else mine)
        if theirs is not None:
            plain = jnp.concatenate([plain, _plain(name, field, theirs, unit).astype(plain.dtype)])
        values[field] = _core.attach_unit(plain[taken], unit)
    return Connectivity(pre[where], post[where], n_pre=a.n_pre, n_post=a.n_post, **values)


def _values_rule(name: str, a: Connectivity, b: Connectivity) -> None:
    for field in _FIELDS:
        if (getattr(a, field) is None) != (getattr(b, field) is None):
            has, lacks = ("a", "b") if getattr(a, field) is not None else ("b", "a")
            raise ValueError(
                f"{name}: {has} has a {field} but {lacks} has none; the union takes each pair's values from the "
                f"operand that has it, so give both a {field} (e.g. with with_weights/with_delays) or neither"
            )


def union(a: Connectivity, b: Connectivity) -> Connectivity:
    """The synapses in ``a`` or in ``b`` (each pair once).

    Values (``weight``, ``delay``) come from ``a`` for pairs in ``a`` and from ``b`` for
    pairs only in ``b`` (converted to ``a``'s dtype and unit). A value field must be on
    both operands or on neither. Connectivities are sets of pairs here: an operand
    with multapses is refused. Eager (the count depends on the data).

    Memory: while merging, about 16 bytes per synapse of ``a`` and ``b`` together (their
    int32 indices, an operand tag and a position, sorted together); the result 8 bytes
    per synapse plus its values.

    Args:
      a: a :class:`Connectivity`.
      b: a :class:`Connectivity` with the same ``n_pre`` and ``n_post``.

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)``, distinct pairs.

    Raises:
      TypeError: an operand that is not a Connectivity, or traced (under ``jit``).
      ValueError: different sizes, multapses in an operand, a value field on only one
        operand, or values with and without a unit.

    Example:
      >>> import jax.numpy as jnp
      >>> a = Connectivity.from_pairs([0, 1], [1, 2], n_pre=3, n_post=3)
      >>> b = Connectivity.from_pairs([1, 2], [2, 0], n_pre=3, n_post=3)
      >>> c = union(a, b)
      >>> list(zip(c.pre.tolist(), c.post.tolist()))
      [(0, 1), (1, 2), (2, 0)]
    """
    name = "union"
    a, b = _check(name, a, b)
    _values_rule(name, a, b)
    pre, post, from_b, index, same_as_next = _merge(a, b)
    # a shared pair is (a's copy, b's copy), adjacent: drop b's
    duplicate = jnp.concatenate([jnp.zeros(1, bool), same_as_next[:-1]])
    return _select(name, a, b, ~duplicate, pre, post, index)


def intersection(a: Connectivity, b: Connectivity) -> Connectivity:
    """The synapses in both ``a`` and ``b``, with ``a``'s values (``b``'s are ignored).

    Connectivities are sets of pairs here: an operand with multapses is refused. Eager
    (the count depends on the data).

    Memory: while merging, about 16 bytes per synapse of ``a`` and ``b`` together (their
    int32 indices, an operand tag and a position, sorted together); the result 8 bytes
    per synapse plus its values.

    Args:
      a: a :class:`Connectivity`.
      b: a :class:`Connectivity` with the same ``n_pre`` and ``n_post``.

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)``, with ``a``'s value fields.

    Raises:
      TypeError: an operand that is not a Connectivity, or traced (under ``jit``).
      ValueError: different sizes, or multapses in an operand.

    Example:
      >>> a = Connectivity.from_pairs([0, 1], [1, 2], n_pre=3, n_post=3, weight=[0.5, 2.0])
      >>> b = Connectivity.from_pairs([1, 2], [2, 0], n_pre=3, n_post=3)
      >>> c = intersection(a, b)
      >>> c.pre.tolist(), c.post.tolist(), c.weight.tolist()
      ([1], [2], [2.0])
    """
    name = "intersection"
    a, b = _check(name, a, b)
    pre, post, from_b, index, same_as_next = _merge(a, b)
    return _select(name, a, _without_values(b), ~from_b & same_as_next, pre, post, index)


def difference(a: Connectivity, b: Connectivity) -> Connectivity:
    """The synapses in ``a`` and not in ``b``, with ``a``'s values.

    Connectivities are sets of pairs here: an operand with multapses is refused. Eager
    (the count depends on the data).

    Memory: while merging, about 16 bytes per synapse of ``a`` and ``b`` together (their
    int32 indices, an operand tag and a position, sorted together); the result 8 bytes
    per synapse plus its values.

    Args:
      a: a :class:`Connectivity`.
      b: a :class:`Connectivity` with the same ``n_pre`` and ``n_post``.

    Returns:
      A :class:`Connectivity` sorted by ``(pre, post)``, with ``a``'s value fields.

    Raises:
      TypeError: an operand that is not a Connectivity, or traced (under ``jit``).
      ValueError: different sizes, or multapses in an operand.

    Example:
      >>> a = Connectivity.from_pairs([0, 1], [1, 2], n_pre=3, n_post=3)
      >>> b = Connectivity.from_pairs([1, 2], [2, 0], n_pre=3, n_post=3)
      >>> c = difference(a, b)
      >>> c.pre.tolist(), c.post.tolist()
      ([0], [1])
    """
    name = "difference"
    a, b = _check(name, a, b)
    pre, post, from_b, index, same_as_next = _merge(a, b)
    return _select(name, a, _without_values(b), ~from_b & ~same_as_next, pre, post, index)


def _without_values(conn: Connectivity) -> Connectivity:
    return Connectivity(conn.pre, conn.post, n_pre=conn.n_pre, n_post=conn.n_post)

"""``reinit``: redraw the arrays of any parameter tree by rules over their paths.

Works on anything JAX can flatten: plain dicts, Flax linen params, Flax nnx state
and modules, Equinox modules. A leaf's path joins dict keys, attribute names and
sequence indices with ``/`` (an Equinox MLP's ``.layers[1].weight`` is
``layers/1/weight``; an nnx ``Param``'s ``.value`` is left out).
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from jax.tree_util import DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey
from jax.typing import ArrayLike

from jaxinit._core import Initializer
from jaxinit.variance import compute_fans

_MISSING = object()


def _child(obj: Any, key: Any) -> Any:
    """The object one path component below ``obj`` (``_MISSING`` if it cannot be followed)."""
    try:
        if isinstance(key, DictKey):
            return obj[key.key]
        if isinstance(key, SequenceKey):
            return obj[key.idx]
        if isinstance(key, GetAttrKey):
            if key.name == "value" and _is_nnx_variable(obj):
                return _array_of(obj)
            return getattr(obj, key.name)
    except (KeyError, IndexError, TypeError, AttributeError):
        pass
    return _MISSING


def _is_nnx_variable(obj: Any) -> bool:
    variable = getattr(sys.modules.get("flax.nnx"), "Variable", None)
    return variable is not None and isinstance(obj, variable)


def _objects_along(tree: Any, path: tuple) -> list[Any]:
    objects = [tree]
    for key in path:
        objects.append(_MISSING if objects[-1] is _MISSING else _child(objects[-1], key))
    return objects


def _path_string(path: tuple, objects: list[Any]) -> str:
    parts = []
    for key, holder in zip(path, objects, strict=False):
        if isinstance(key, GetAttrKey) and key.name == "value" and _is_nnx_variable(holder):
            continue  # an nnx Param's payload: the path names the Param
        if isinstance(key, DictKey):
            parts.append(str(key.key))
        elif isinstance(key, SequenceKey):
            parts.append(str(key.idx))
        elif isinstance(key, GetAttrKey):
            parts.append(key.name)
        elif isinstance(key, FlattenedIndexKey):
            parts.append(str(key.key))
        else:
            parts.append(str(key))
    return "/".join(parts)


def _equinox_layout(module: Any) -> dict[str, int] | None:
    """Fan axes of an Equinox layer's ``weight`` (Linear: (out, in); Conv: (out, in, *spatial))."""
    eqx = sys.modules.get("equinox")
    if eqx is None:
        return None
    if isinstance(module, eqx.nn.Linear):
        return {"in_axis": -1, "out_axis": -2}
    if isinstance(module, (eqx.nn.Conv, eqx.nn.ConvTranspose)):
        return {"in_axis": 1, "out_axis": 0}
    return None


def _array_of(obj: Any) -> Any:
    if not _is_nnx_variable(obj):
        return obj
    return obj.get_value() if hasattr(obj, "get_value") else obj.value


def _sibling_weight(owner: Any) -> Any:
    for name in ("weight", "kernel"):
        found = owner.get(name, _MISSING) if isinstance(owner, Mapping) else getattr(owner, name, _MISSING)
        if found is not _MISSING:
            return _array_of(found)
    return None


def _context(path: tuple, objects: list[Any]) -> dict[str, Any]:
    """What ``reinit`` knows about a leaf's layout: fan axes, and a bias's weight's fan-in."""
    names = [k.name if isinstance(k, GetAttrKey) else getattr(k, "key", None) for k in path]
    if names and names[-1] == "value" and len(objects) >= 2 and _is_nnx_variable(objects[-2]):
        names, objects = names[:-1], objects[:-1]
    if len(objects) < 2 or objects[-2] is _MISSING:
        return {}
    owner, leaf_name = objects[-2], names[-1]
    layout = _equinox_layout(owner)
    if leaf_name in ("weight", "kernel"):
        return dict(layout or {})
    if leaf_name == "bias":
        weight = _sibling_weight(owner)
        if weight is not None and np.ndim(weight) >= 2:
            fan_in, _ = compute_fans(np.shape(weight), **(layout or {}))
            return {"fan_in": fan_in}
    return {}


def _check_rules(rules: Any) -> dict[str, Initializer]:
    if not isinstance(rules, Mapping) or not rules:
        raise TypeError(f"reinit: rules must be a non-empty mapping of path glob -> initializer, got {rules!r}")
    for glob, init in rules.items():
        if not isinstance(glob, str):
            raise TypeError(f"reinit: rule keys must be path globs (str), got {glob!r}")
        if not callable(init):
            raise TypeError(f"reinit: the rule for {glob!r} must be an initializer, got {init!r}")
    return dict(rules)


def reinit(key: ArrayLike, tree: Any, rules: Mapping[str, Initializer]) -> Any:
    """``tree`` with every array leaf whose path matches a rule redrawn by that rule.

    Each matched leaf is replaced by ``init(fold_in(key, i), leaf.shape, leaf.dtype,
    **layout)``, ``i`` the leaf's position in the flattened tree, so every leaf has
    its own key. Rules are tried in order and the first matching glob wins
    (``fnmatch``: ``*`` also crosses ``/``); other leaves, and leaves that are not
    arrays, are kept. Fan-based initializers get the layout as context: Equinox
    ``Linear`` weights are ``(out, in)`` (``in_axis=-1, out_axis=-2``) and ``Conv``
    weights ``(out, in, *spatial)`` (``in_axis=1, out_axis=0``), so
    ``kaiming_normal()`` gets the right fan-in; a ``bias`` gets its sibling
    weight's ``fan_in``, for rules such as a PyTorch-style ``U(±1/√fan_in)``. Runs
    under ``jit`` and ``vmap`` (one call per ensemble member).

    Args:
      key: a PRNG key.
      tree: a pytree: a dict of params, Flax linen params, an nnx state or
        module, an Equinox module.
      rules: ``{glob: initializer}``, e.g. ``{"*weight": ji.kaiming_normal(),
        "*bias": ji.zeros}``.

    Returns:
      A tree of the same structure with the matched leaves redrawn.

    Raises:
      TypeError: ``rules`` is not a non-empty mapping of globs to initializers.
      ValueError: a rule matches no array leaf (a typo would otherwise leave the
        parameters silently untouched); the message lists the paths.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> import jaxinit as ji
      >>> params = {"dense": {"kernel": jnp.zeros((400, 10)), "bias": jnp.ones(10)}}
      >>> new = reinit(jax.random.key(0), params, {"*kernel": ji.kaiming_normal(), "*bias": ji.zeros})
      >>> round(float(new["dense"]["kernel"].std()), 2), float(new["dense"]["bias"].sum())
      (0.07, 0.0)
    """
    rules = _check_rules(rules)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    used: set[str] = set()
    paths, new_leaves = [], []
    for index, (path, leaf) in enumerate(leaves):
        if not isinstance(leaf, (jax.Array, np.ndarray)):
            new_leaves.append(leaf)
            continue
        objects = _objects_along(tree, path)
        name = _path_string(path, objects)
        paths.append(name)
        matching = [g for g in rules if fnmatch.fnmatchcase(name, g)]
        used.update(matching)
        if not matching:
            new_leaves.append(leaf)
            continue
        glob = matching[0]
        ctx = _context(path, objects)
        new_leaves.append(rules[glob](jax.random.fold_in(key, index), leaf.shape, leaf.dtype, **ctx))
    unmatched = [g for g in rules if g not in used]
    if unmatched:
        shown = ", ".join(paths[:20]) + (", ..." if len(paths) > 20 else "")
        raise ValueError(f"reinit: rule {unmatched[0]!r} matched no array leaf; the array paths are: {shown}")
    return jax.tree_util.tree_unflatten(treedef, new_leaves)

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
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey
from jax.typing import ArrayLike

from jaxinit import _core
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


class _Layout(NamedTuple):
    """How ``reinit`` shows a weight to its initializer.

    The leaf is cut into ``blocks`` equal blocks along axis 0 (the gates of a recurrent
    cell, each drawn as its own kernel, as Flax draws them), each block is transposed by
    ``perm`` (``None``: as stored), and the initializer gets ``ctx``: the fan axes of the
    array it is shown.
    """

    ctx: Mapping[str, int]
    blocks: int = 1
    perm: tuple[int, ...] | None = None

    def shown(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        block = (shape[0] // self.blocks, *shape[1:])
        return block if self.perm is None else tuple(block[a] for a in self.perm)

    def fans(self, shape: tuple[int, ...]) -> tuple[float, float]:
        return compute_fans(self.shown(shape), **self.ctx)


_AS_STORED = _Layout({})  # jax's layout, (..., in, out): the initializer's own defaults apply
_OUT_IN = _Layout({"in_axis": -1, "out_axis": -2})
_WEIGHT_NAMES = ("weight", "kernel")

# A leaf's role in its owner: a weight's ``_Layout``, or for a bias the names of the weights
# it may be added to (the first present gives its ``fan_in``).
_Roles = Mapping[str, _Layout | tuple[str, ...]]


def _equinox_roles(module: Any) -> _Roles | None:
    """The layouts of the weights of an Equinox layer, ``None`` if it is not one that stores its own.

    Equinox stores a weight matrix ``(out, in)``: ``Linear``, and so the projections of
    ``MultiheadAttention``; ``GRUCell``/``LSTMCell`` stack 3/4 gate blocks ``(hidden, in)``
    along axis 0; ``Embedding``'s table is ``(num_embeddings, embedding_size)``, read as
    ``(out, in)`` so ``fan_in = embedding_size`` as Flax's ``nn.Embed`` default init counts
    it. ``Conv`` and ``ConvTranspose`` weights are ``(out, in, *spatial)``: they are shown
    transposed to jax's ``(*spatial, in, out)``, the layout conv initializers
    (``delta_orthogonal``, ``orthogonal``'s columns) are written for.
    """
    eqx = sys.modules.get("equinox")
    if eqx is None or not isinstance(module, eqx.Module):
        return None
    layers = eqx.nn
    if isinstance(module, (layers.Linear, layers.Embedding)):
        return {"weight": _OUT_IN, "bias": ("weight",)}
    if isinstance(module, (layers.Conv, layers.ConvTranspose)):
        spatial = tuple(range(2, 2 + module.num_spatial_dims))
        return {"weight": _Layout({"in_axis": -2, "out_axis": -1}, perm=(*spatial, 1, 0)), "bias": ("weight",)}
    if isinstance(module, layers.GRUCell):
        # Flax's GRUCell: r, z, n input kernels carry the bias; the hidden n kernel carries bias_n
        gates = _Layout(_OUT_IN.ctx, blocks=3)
        return {"weight_ih": gates, "weight_hh": gates, "bias": ("weight_ih",), "bias_n": ("weight_hh",)}
    if isinstance(module, layers.LSTMCell):
        # Flax's LSTMCell: the hidden kernels carry the bias
        gates = _Layout(_OUT_IN.ctx, blocks=4)
        return {"weight_ih": gates, "weight_hh": gates, "bias": ("weight_hh",)}
    return None


def _roles(owner: Any) -> _Roles:
    found = _equinox_roles(owner)
    if found is not None:
        return found
    return {"weight": _AS_STORED, "kernel": _AS_STORED, "bias": _WEIGHT_NAMES}


def _array_of(obj: Any) -> Any:
    if not _is_nnx_variable(obj):
        return obj
    return obj.get_value() if hasattr(obj, "get_value") else obj.value


def _field(owner: Any, name: str) -> Any:
    found = owner.get(name, None) if isinstance(owner, Mapping) else getattr(owner, name, None)
    return None if found is None else _array_of(found)


def _layout_and_context(path: tuple, objects: list[Any]) -> tuple[_Layout | None, dict[str, Any]]:
    """How to show a leaf to its initializer, and the context it gets: fan axes, or a bias's ``fan_in``."""
    names = [k.name if isinstance(k, GetAttrKey) else getattr(k, "key", None) for k in path]
    if names and names[-1] == "value" and len(objects) >= 2 and _is_nnx_variable(objects[-2]):
        names, objects = names[:-1], objects[:-1]
    if len(objects) < 2 or objects[-2] is _MISSING:
        return None, {}
    owner, leaf_name = objects[-2], names[-1]
    roles = _roles(owner)
    role = roles.get(leaf_name)
    if isinstance(role, _Layout):
        return role, dict(role.ctx)
    for weight_name in role or ():
        weight = _field(owner, weight_name)
        if weight is not None:
            if np.ndim(weight) < 2:
                break
            return None, {"fan_in": roles[weight_name].fans(np.shape(weight))[0]}
    return None, {}


def _draw(init: Initializer, key: jax.Array, leaf: Any, layout: _Layout | None, ctx: dict, where: str) -> Any:
    """``init`` called on ``leaf`` as ``layout`` shows it (one key per gate block), put back in the leaf's layout."""
    shape = leaf.shape
    as_stored = layout is None or (layout.blocks == 1 and layout.perm is None)
    shown = shape if as_stored else layout.shown(shape)
    keys = [key] if as_stored or layout.blocks == 1 else list(jax.random.split(key, layout.blocks))
    parts = [init(k, shown, leaf.dtype, **ctx) for k in keys]
    if any(np.shape(part) != shown for part in parts):
        got = ", ".join(str(np.shape(part)) for part in parts)
        part_of = "" if as_stored else f" (its layout of the stored {shape})"
        raise ValueError(f"reinit: {where} returned shape {got}, expected {shown}{part_of}")
    if as_stored:
        return parts[0]
    unit = parts[0].unit if _core.is_quantity(parts[0]) else None
    plain = [part.mantissa if unit is not None else part for part in parts]  # one initializer: one unit
    if layout.perm is not None:
        back = tuple(int(a) for a in np.argsort(layout.perm))
        plain = [jnp.transpose(part, back) for part in plain]
    return _core.attach_unit(jnp.concatenate(plain, axis=0) if len(plain) > 1 else plain[0], unit)


def _rng_state(leaf: Any, objects: list[Any]) -> str | None:
    """What a leaf is if it is RNG state (a typed PRNG key, an nnx ``Rngs`` key or count), else ``None``."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return f"a PRNG key (dtype {leaf.dtype})"
    rng_state = getattr(sys.modules.get("flax.nnx"), "RngState", None)
    holder = objects[-2] if len(objects) >= 2 else None
    if rng_state is not None and isinstance(holder, rng_state):
        return f"nnx RNG state (an {type(holder).__name__} of dtype {leaf.dtype})"
    return None


def _check_key(key: Any) -> jax.Array:
    dtype, shape = getattr(key, "dtype", None), getattr(key, "shape", None)
    if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key) and shape != ():
        raise TypeError(
            f"reinit: key must be a single PRNG key, got a batch of keys with shape {shape}; "
            "for an ensemble use jax.vmap(lambda k: reinit(k, tree, rules))(keys)"
        )
    return _core.check_key("reinit", key)


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
    **ctx)``, ``i`` the leaf's position in the flattened tree, so every leaf has its
    own key. Rules are tried in order and the first matching glob wins (``fnmatch``:
    ``*`` also crosses ``/``); other leaves, and leaves that are not arrays, are kept.
    RNG state (typed PRNG keys, the keys and counts of nnx ``Rngs``) is not a
    parameter: it is kept, and a rule that matches it is an error. Runs under ``jit``
    and ``vmap`` (one call per ensemble member).

    Layouts. Leaves of plain dicts, Flax linen params and nnx state are drawn as
    stored, in jax's layout ``(in, out)`` or ``(*spatial, in, out)``. Equinox stores
    weights output-first; ``reinit`` shows them to the initializer so that the fans
    and the structure are those of the matching Flax layer:

    - ``Linear`` and the four projections of ``MultiheadAttention``, ``(out, in)``:
      drawn as stored, with context ``in_axis=-1, out_axis=-2``.
    - ``GRUCell``/``LSTMCell`` ``weight_ih`` ``(g·hidden, in)`` and ``weight_hh``
      ``(g·hidden, hidden)``, ``g`` = 3 or 4 gates: each gate block ``(hidden, in)``
      is drawn with its own key and ``in_axis=-1, out_axis=-2``, and the blocks are
      stacked. As in Flax's cells, whose gates are separate Dense kernels, fan-out is
      ``hidden`` (not ``g·hidden``) and ``orthogonal()`` is orthogonal per gate.
    - ``Conv``/``ConvTranspose`` (1-3D), ``(out, in, *spatial)``: drawn in jax's
      layout ``(*spatial, in, out)`` (``in_axis=-2, out_axis=-1``) and transposed
      back. Fans are ``in·k`` and ``out·k`` (``k`` the kernel volume, ``in`` per
      group); ``delta_orthogonal()`` puts its matrix at the spatial centre and
      ``orthogonal()`` makes the output filters orthonormal, as on a Flax kernel.
    - ``Embedding``, ``(num_embeddings, embedding_size)``: ``in_axis=-1,
      out_axis=-2``, so fan-in is ``embedding_size``, the fan Flax's ``nn.Embed``
      default uses: ``variance_scaling(1.0, "fan_in", "normal")`` draws its law.

    A bias gets, as context, ``fan_in`` of the weight it is added to, for rules such
    as a PyTorch-style ``U(±1/√fan_in)``: its sibling ``weight`` or ``kernel``;
    ``weight_ih`` for a ``GRUCell``'s ``bias`` and ``weight_hh`` for its ``bias_n``,
    ``weight_hh`` for an ``LSTMCell``'s ``bias`` (where Flax's cells put them).

    Args:
      key: a single PRNG key (``jax.random.key`` or ``jax.random.PRNGKey``).
      tree: a pytree: a dict of params, Flax linen params, an nnx state or
        module, an Equinox module.
      rules: ``{glob: initializer}``, e.g. ``{"*weight": ji.kaiming_normal(),
        "*bias": ji.zeros}``.

    Returns:
      A tree of the same structure with the matched leaves redrawn.

    Raises:
      TypeError: ``key`` is not a single PRNG key, ``rules`` is not a non-empty
        mapping of globs to initializers, or a rule matches RNG state (the message
        names the leaf's path); all raised before anything is drawn.
      ValueError: a rule matches no array leaf (a typo would otherwise leave the
        parameters silently untouched; the message lists the paths), or an
        initializer returns the wrong shape (the message names the leaf).

    Example:
      >>> import equinox as eqx
      >>> import jax, jax.numpy as jnp
      >>> import jaxinit as ji
      >>> params = {"dense": {"kernel": jnp.zeros((400, 10)), "bias": jnp.ones(10)}}
      >>> new = reinit(jax.random.key(0), params, {"*kernel": ji.kaiming_normal(), "*bias": ji.zeros})
      >>> round(float(new["dense"]["kernel"].std()), 2), float(new["dense"]["bias"].sum())
      (0.07, 0.0)
      >>> cell = eqx.nn.GRUCell(10, 50, key=jax.random.key(1))  # weight_ih (150, 10): 3 gates of (50, 10)
      >>> cell = reinit(jax.random.key(0), cell, {"weight_*": ji.kaiming_normal(), "bias*": ji.zeros})
      >>> round(float(cell.weight_ih.std()) / (2 / 10) ** 0.5, 1)  # std / √(2 / fan_in), fan_in = 10
      1.0
      >>> conv = eqx.nn.Conv2d(16, 32, 3, key=jax.random.key(1))  # weight (32, 16, 3, 3)
      >>> conv = reinit(jax.random.key(0), conv, {"weight": ji.delta_orthogonal()})
      >>> (conv.weight != 0).any(axis=(0, 1)).astype(int).tolist()  # only the centre tap is non-zero
      [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    """
    key = _check_key(key)
    rules = _check_rules(rules)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    used: set[str] = set()
    paths, plan = [], []
    for index, (path, leaf) in enumerate(leaves):
        if not isinstance(leaf, (jax.Array, np.ndarray)):
            continue
        objects = _objects_along(tree, path)
        name = _path_string(path, objects)
        matching = [g for g in rules if fnmatch.fnmatchcase(name, g)]
        rng_state = _rng_state(leaf, objects)
        if rng_state is not None:
            if matching:
                raise TypeError(
                    f"reinit: rule {matching[0]!r} matches {name!r}, which is {rng_state}, not a parameter; "
                    "narrow the glob (e.g. '*kernel') or reinit nnx.state(model, nnx.Param)"
                )
            continue  # RNG state is kept, and not listed among the parameters
        paths.append(name)
        used.update(matching)
        if matching:
            plan.append((index, path, objects, name, matching[0]))
    unmatched = [g for g in rules if g not in used]
    if unmatched:
        shown = ", ".join(paths[:20]) + (", ..." if len(paths) > 20 else "")
        raise ValueError(f"reinit: rule {unmatched[0]!r} matched no array leaf; the array paths are: {shown}")
    new_leaves = [leaf for _, leaf in leaves]
    for index, path, objects, name, glob in plan:
        layout, ctx = _layout_and_context(path, objects)
        where = f"the rule {glob!r} on {name!r}"
        new_leaves[index] = _draw(rules[glob], jax.random.fold_in(key, index), new_leaves[index], layout, ctx, where)
    return jax.tree_util.tree_unflatten(treedef, new_leaves)

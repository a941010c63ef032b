"""Excitatory/inhibitory builders: the sampling core for the pairs, :func:`synapse_values`
for the weights, Dale's principle on top."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit._core import Initializer
from jaxinit.topology._checks import check_concrete, check_count, check_size
from jaxinit.topology._connectivity import Connectivity
from jaxinit.topology._memory import check_memory
from jaxinit.topology._sampling import DEFAULT_BLOCK, check_ok, sample_pairs
from jaxinit.topology._values import synapse_values


class _Default(float):
    """A weight left at its default (1.0): it takes the unit of the other weight."""

    __slots__ = ()


_DEFAULT_WEIGHT = _Default(1.0)


@dataclasses.dataclass(frozen=True)
class _Constant:
    """A weight given as a number or Quantity, as an initializer (hashed by value, so a
    compiled kernel serves every call with the same weight)."""

    value: float
    unit: Any = None

    def __call__(self, key, shape, dtype=None, **ctx):
        dtype = jax.dtypes.canonicalize_dtype(float) if dtype is None else dtype
        return _core.attach_unit(jnp.full(shape, self.value, dtype), self.unit)


def _weight_inits(name: str, weights: dict[str, Any]) -> list[Initializer]:
    """Initializers for the weights given as initializers, numbers or Quantities, with their
    units checked before any sampling: all in units of one dimension or none (a weight left
    at its default takes the unit of the other). A plain function's unit is only known from
    its values, so it is checked after drawing."""
    declared = {}
    for param, value in weights.items():
        if callable(value):
            declared[param] = _core.unit_of(value)
            continue
        declared[param] = value.unit if _core.is_quantity(value) else None
        _core.validate(name, {param: value.mantissa if _core.is_quantity(value) else value}, {param: _core.REAL})
    given = [param for param, unit in declared.items() if unit is not None]
    inits = []
    for param, value in weights.items():
        if given and declared[param] is None and isinstance(value, _core.Base):
            raise ValueError(
                f"{name}: {param} is unit-free ({value!r}) but {given[0]} is in {declared[given[0]]}; give "
                f"{param} in units too"
            )
        if given and declared[param] is None and not callable(value):
            if not isinstance(value, _Default):
                raise ValueError(
                    f"{name}: {param} is a plain number ({value!r}) but {given[0]} is in {declared[given[0]]}; "
                    f"give {param} in units too (for example in {declared[given[0]]})"
                )
            value, declared[param] = value * _core.attach_unit(1.0, declared[given[0]]), declared[given[0]]
        if given and declared[param] is not None:
            from jaxinit import units

            units.to_plain(name, param, _core.attach_unit(1.0, declared[param]), declared[given[0]])
        if callable(value):
            inits.append(value)
        else:
            unit = value.unit if _core.is_quantity(value) else None
            inits.append(_Constant(float(value.mantissa if unit is not None else value), unit))
    return inits


def _one_unit(name: str, values: list[Any], labels: list[str]) -> tuple[list[Any], Any]:
    """Values as plain arrays in the unit of the first (all Quantities, or none)."""
    with_unit = [_core.is_quantity(v) for v in values]
    if not any(with_unit):
        return values, None
    if not all(with_unit):
        given = ", ".join(
            f"{label} {'in ' + str(v.unit) if q else 'unit-free'}"
            for v, q, label in zip(values, with_unit, labels, strict=True)
        )
        raise ValueError(f"{name}: give every one of {', '.join(labels)} in units, or none of them; got {given}")
    from jaxinit import units

    unit = values[0].unit
    return [units.to_plain(name, label, v, unit) for v, label in zip(values, labels, strict=True)], unit


def _signed_float(*dtypes: Any) -> Any:
    """The float dtype that holds every one of ``dtypes`` with a sign: integer and bool
    values go to the default float, floats promote (f16 with f32 gives f32)."""
    default = jax.dtypes.canonicalize_dtype(float)
    floats = [d if jnp.issubdtype(d, jnp.floating) else default for d in dtypes]
    with jax.numpy_dtype_promotion("standard"):
        return jnp.result_type(*floats)


def excitatory_inhibitory(
    key: ArrayLike,
    n: int,
    exc_ratio: float = 0.8,
    p_exc: float = 0.1,
    p_inh: float = 0.2,
    exc_weight: Initializer | Any = _DEFAULT_WEIGHT,
    inh_weight: Initializer | Any = _DEFAULT_WEIGHT,
    allow_autapse: bool = False,
    *,
    positions: ArrayLike | None = None,
    box: ArrayLike | None = None,
    block_size: int = DEFAULT_BLOCK,
) -> Connectivity:
    """A recurrent E/I population with Dale's principle enforced.

    The first ``round(exc_ratio · n)`` neurons are excitatory. Excitatory neurons
    together make exactly ``round(p_exc · their allowed pairs)`` synapses and
    inhibitory ones ``round(p_inh · theirs)``, uniform over the allowed pairs. Weights
    are drawn per synapse by :func:`synapse_values` with the pre neuron's type's
    initializer and signed by it: excitatory ``|w|``, inhibitory ``-|w|`` (magnitudes or
    signed draws both work), computed in a signed float dtype (integer draws become
    the default float; mixed precisions promote). Memory: about 23 B per synapse.

    Args:
      key: a PRNG key.
      n: number of neurons.
      exc_ratio: fraction of excitatory neurons, in [0, 1] (concrete: it sets sizes).
      p_exc: connection probability of excitatory neurons, in [0, 1] (concrete).
      p_inh: connection probability of inhibitory neurons, in [0, 1] (concrete).
      exc_weight: initializer, number or Quantity for excitatory weights (default 1.0).
      inh_weight: initializer, number or Quantity for inhibitory weights (default 1.0).
        Both in units of one dimension, or neither; one left at its default takes
        the unit of the other (``exc_weight=1.0 * u.nS`` alone gives ``±1 nS``).
      allow_autapse: allow ``pre == post``.
      positions: ``(n, dim)`` coordinates, so that weight initializers see each
        synapse's ``distances``; or ``None``.
      box: periodic box side(s) for the distances, or ``None``.
      block_size: synapses drawn at once in the block-wise passes (pairs and weights;
        initializers see ``(block_size,)`` shapes).

    Returns:
      A :class:`Connectivity` with weights, sorted by ``(pre, post)``.

    Raises:
      TypeError: a traced ``exc_ratio``, ``p_exc`` or ``p_inh``; sizes that are not ints.
      ValueError: parameters outside their ranges, or weights with and without units.
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> import jax
      >>> import jaxinit as ji
      >>> conn = excitatory_inhibitory(jax.random.key(0), 500, exc_weight=ji.lognormal(0.5, 0.2))
      >>> bool((conn.weight[conn.pre < 400] > 0).all()), bool((conn.weight[conn.pre >= 400] < 0).all())
      (True, True)
    """
    name = "excitatory_inhibitory"
    n = check_size(name, "n", n)
    block = check_size(name, "block_size", block_size, 1)
    rates = {"exc_ratio": exc_ratio, "p_exc": p_exc, "p_inh": p_inh}
    for param, value in rates.items():
        check_concrete(name, param, value, "the number of excitatory neurons" if param == "exc_ratio" else "a count")
    _core.validate(name, rates, dict.fromkeys(rates, _core.PROBABILITY))
    inits = _weight_inits(name, {"exc_weight": exc_weight, "inh_weight": inh_weight})
    n_exc = round(exc_ratio * n)
    n_cols = n - 1 if not allow_autapse else n
    counts = [round(p_exc * n_exc * n_cols), round(p_inh * (n - n_exc) * n_cols)]
    check_memory(name, check_count(name, sum(counts)))
    key = _core.check_key(name, key)
    key_exc, key_inh, key_we, key_wi = jax.random.split(key, 4)
    parts = []
    for key_pairs, key_weights, first, rows, count, init in zip(
        (key_exc, key_inh), (key_we, key_wi), (0, n_exc), (n_exc, n - n_exc), counts, inits, strict=True
    ):
        pre, post, ok = sample_pairs(key_pairs, rows, n_cols, count, first, not allow_autapse, block)
        check_ok(name, ok)
        part = Connectivity(pre, post, n_pre=n, n_post=n)
        parts.append((part, synapse_values(key_weights, part, init, positions, None, box, block_size=block)))
    (w_exc, w_inh), unit = _one_unit(name, [w for _, w in parts], ["exc_weight", "inh_weight"])
    dtype = _signed_float(w_exc.dtype, w_inh.dtype)
    weight = jnp.concatenate([jnp.abs(w_exc.astype(dtype)), -jnp.abs(w_inh.astype(dtype))])
    (exc, _), (inh, _) = parts
    pre, post = (jnp.concatenate([getattr(exc, a), getattr(inh, a)]) for a in ("pre", "post"))
    return Connectivity(pre, post, n_pre=n, n_post=n, weight=_core.attach_unit(weight, unit))


def _balanced(key, shape, dtype=None, *, pre, n_exc, mu_e, mu_i, sigma_0, scale, **ctx):
    """``N(mu_e or mu_i by the synapse's pre type, sigma_0²) / scale``."""
    dtype = mu_e.dtype if dtype is None else dtype
    mean = jnp.where(pre < n_exc, mu_e, mu_i).astype(dtype)
    noise = jax.random.normal(key, shape, dtype)
    return (mean + sigma_0.astype(dtype) * noise) / scale.astype(dtype)


def balanced_ei_network(
    key: ArrayLike,
    n_input: int,
    n: int,
    n_output: int,
    p: float,
    f: float,
    mu_e: float,
    sigma_0: float,
    *,
    block_size: int = DEFAULT_BLOCK,
) -> tuple[jax.Array, Connectivity, jax.Array]:
    """An E/I-balanced recurrent network with input and output weights.

    ``w_rec`` has exactly ``round(n² p)`` synapses, uniform over the ``n(n-1)`` pairs
    without autapses. Pre neurons ``< round(n f)`` are excitatory with weights
    ``N(mu_e, sigma_0²)``, the others inhibitory with ``N(mu_i, sigma_0²)``,
    ``mu_i = −f/(1−f)·mu_e`` (``f = 0``: ``mu_i = −mu_e``; ``f = 1``: no inhibitory
    neurons); recurrent weights are divided by ``√(n p)``, so the summed input to a
    neuron is balanced. ``w_in ~ N(0, 1)/√n_input``, ``w_out ~ N(0, 1)/√n_output``.
    The recurrent weights come from :func:`synapse_values` (by each synapse's ``pre``),
    a block at a time. Memory: about 13 B per synapse.

    Args:
      key: a PRNG key.
      n_input: number of inputs.
      n: number of recurrent neurons.
      n_output: number of outputs.
      p: recurrent connection probability, in (0, 1] (concrete: it sets the count).
      f: fraction of excitatory neurons, in [0, 1] (concrete: it sets the sizes).
      mu_e: mean excitatory weight (before the 1/√(np) scaling); may be traced.
      sigma_0: weight standard deviation, ``>= 0``; may be traced.
      block_size: synapses drawn at once in the block-wise passes.

    Returns:
      ``(w_in (n, n_input), w_rec, w_out (n_output, n))``.

    Raises:
      TypeError: a traced ``p`` or ``f``; sizes that are not ints.
      ValueError: bad sizes or parameters, or ``round(n² p) > n(n−1)``.
      MemoryError: the arrays would not fit in memory (see ``JAXINIT_MEMORY_LIMIT``).

    Example:
      >>> import jax
      >>> w_in, w_rec, w_out = balanced_ei_network(jax.random.key(0), 10, 1000, 2, p=0.1, f=0.8, mu_e=1.0, sigma_0=0.1)
      >>> w_in.shape, w_rec.nnz, w_out.shape
      ((1000, 10), 100000, (2, 1000))
    """
    name = "balanced_ei_network"
    n_input = check_size(name, "n_input", n_input)
    n = check_size(name, "n", n, 1)
    n_output = check_size(name, "n_output", n_output)
    block = check_size(name, "block_size", block_size, 1)
    check_concrete(name, "p", p, "the synapse count")
    check_concrete(name, "f", f, "the number of excitatory neurons")
    _core.validate(
        name,
        {"p": p, "f": f, "mu_e": mu_e, "sigma_0": sigma_0},
        {"p": _core.PROBABILITY, "f": _core.PROBABILITY, "mu_e": _core.REAL, "sigma_0": _core.NONNEGATIVE},
    )
    if p == 0:
        raise ValueError(f"{name}: p must be > 0 (the weights are divided by sqrt(n p)), got {p}")
    k = round(n * n * p)
    if k > n * (n - 1):
        raise ValueError(
            f"{name}: round(n² p) = {k:,} synapses exceed the {n * (n - 1):,} pairs without autapses; lower p"
        )
    check_memory(name, check_count(name, k))
    key = _core.check_key(name, key)
    key_in, key_rec, key_w, key_out = jax.random.split(key, 4)
    dtype = jax.dtypes.canonicalize_dtype(float)
    w_in = jax.random.normal(key_in, (n, n_input), dtype) / jnp.sqrt(jnp.asarray(max(n_input, 1), dtype))
    w_out = jax.random.normal(key_out, (n_output, n), dtype) / jnp.sqrt(jnp.asarray(max(n_output, 1), dtype))
    pre, post, ok = sample_pairs(key_rec, n, n - 1, k, 0, True, block)
    check_ok(name, ok)
    conn = Connectivity(pre, post, n_pre=n, n_post=n)
    n_exc, scale = round(n * f), math.sqrt(n * p)
    mu_i = -mu_e if f == 0 else (0.0 * mu_e if f == 1 else -f / (1 - f) * mu_e)

    params = {"n_exc": n_exc, "mu_e": mu_e, "mu_i": mu_i, "sigma_0": sigma_0, "scale": scale}
    params = {p: jnp.asarray(v, jnp.int32 if p == "n_exc" else dtype) for p, v in params.items()}
    weight = synapse_values(key_w, conn, _balanced, block_size=block, **params)
    return w_in, Connectivity(pre, post, n_pre=n, n_post=n, weight=weight), w_out

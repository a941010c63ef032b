"""Physical units through brainunit: the one module that imports it.

Constructors hand their parameters to :func:`split_units`, which converts every
dimensional parameter to the unit of the first one and strips it; the initializer
samples unit-free and :func:`attach` puts the unit back on the result. Nothing else
in jaxinit knows about units, and unit-free use never imports this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import brainunit as u
import jax
import numpy as np


def is_quantity(value: Any) -> bool:
    """Whether ``value`` is a brainunit Quantity.

    Args:
      value: anything.

    Returns:
      ``True`` for a ``brainunit.Quantity``, else ``False``.

    Example:
      >>> import brainunit as u
      >>> is_quantity(0.5 * u.nS), is_quantity(0.5)
      (True, False)
    """
    return isinstance(value, u.Quantity)


def split_units(
    name: str, params: Mapping[str, Any], dimensional: tuple[str, ...], inverse: tuple[str, ...] = ()
) -> tuple[dict[str, Any], Any]:
    """Strips units from ``params``, converting each to the unit of the first one.

    Args:
      name: the constructor's name, for error messages.
      params: the constructor's parameters by name (``None`` = not given).
      dimensional: the names of the parameters that may carry units; the others
        must be plain numbers.
      inverse: names of parameters in the inverse of that unit (a sigmoid's slope
        in 1/µm); converted to 1/unit.

    Returns:
      ``(plain_params, unit)``: the parameters as plain numbers or arrays, and the
      unit of the result (``None`` when no parameter is a Quantity).

    Raises:
      ValueError: a dimensionless parameter is a Quantity, a dimensional one is a
        plain number beside a Quantity, or two parameters have incompatible units.

    Example:
      >>> import brainunit as u
      >>> plain, unit = split_units("normal", {"mean": 0.5 * u.nS, "std": 100 * u.psiemens}, ("mean", "std"))
      >>> print(float(plain["mean"]), float(plain["std"]), unit)
      0.5 0.1 nS
    """
    for param, value in params.items():
        if param not in dimensional and param not in inverse and is_quantity(value):
            raise ValueError(f"{name}: {param} is dimensionless and must be a plain number, got {value}")
    given = [p for p in dimensional if params.get(p) is not None]
    with_units = [p for p in given if is_quantity(params[p])]
    if not with_units:
        return dict(params), None
    reference = with_units[0]
    unit = params[reference].unit
    plain = dict(params)
    for param in given:
        value = params[param]
        if not is_quantity(value):
            raise ValueError(
                f"{name}: {param} is a plain number ({value!r}) but {reference} is a Quantity "
                f"({params[reference]}); give {param} with units too (for example in {unit})"
            )
        if not u.have_same_dim(value, params[reference]):
            raise ValueError(
                f"{name}: {param} is in {value.unit}, which cannot be converted to {unit} "
                f"(the unit of {reference}); give every one of {', '.join(given)} in units of one dimension"
            )
        plain[param] = value.to_decimal(unit)
    for param in inverse:
        value = params.get(param)
        if value is None:
            continue
        converted = u.maybe_decimal(value * (1 * unit)) if is_quantity(value) else value
        if not is_quantity(value) or is_quantity(converted):
            raise ValueError(f"{name}: {param} must be a Quantity in 1/{unit} (e.g. 0.05 / u.{unit}), got {value}")
        plain[param] = converted
    return plain, unit


def to_plain(name: str, param: str, value: Any, unit: Any) -> Any:
    """``value`` as a plain number in ``unit``; it must be a Quantity of that dimension.

    Args:
      name: the caller's name, for error messages.
      param: the argument's name, for error messages.
      value: a Quantity.
      unit: the unit to express it in.

    Returns:
      The mantissa of ``value`` in ``unit``.

    Raises:
      ValueError: ``value`` is a plain number or has another dimension.

    Example:
      >>> import brainunit as u
      >>> float(to_plain("gaussian", "distances", 1500.0 * u.um, u.mm))
      1.5
    """
    if not is_quantity(value):
        raise ValueError(f"{name}: {param} must be a Quantity in units of {unit}, got a plain {type(value).__name__}")
    if not u.have_same_dim(value, 1 * unit):
        raise ValueError(f"{name}: {param} is in {value.unit}, which cannot be converted to {unit}")
    return value.to_decimal(unit)


def attach(values: jax.Array, unit: Any) -> u.Quantity:
    """Returns ``values`` as a Quantity in ``unit``.

    Args:
      values: a plain array.
      unit: a brainunit unit.

    Returns:
      A ``brainunit.Quantity`` whose mantissa is ``values``.

    Example:
      >>> import brainunit as u, jax.numpy as jnp
      >>> print(attach(jnp.ones(2), u.nS))
      [1. 1.] nS
    """
    return u.Quantity(values, unit=unit)


def common_unit(name: str, units: Sequence[Any], labels: Sequence[str]) -> Any:
    """The one unit of several parts, checked before any sampling.

    Args:
      name: the caller's name, for error messages.
      units: the unit of each part, ``None`` for a unit-free part.
      labels: a name for each part, for error messages.

    Returns:
      The unit of the first part that has one (``None`` when no part has a unit).

    Raises:
      ValueError: unit-free parts mix with unit-carrying ones, or their dimensions differ.

    Example:
      >>> import brainunit as u
      >>> str(common_unit("add", [u.nS, u.siemens], ["a", "b"]))
      'nS'
    """
    first = next((i for i, unit in enumerate(units) if unit is not None), None)
    if first is None:
        return None
    target = units[first]
    for unit, label in zip(units, labels, strict=True):
        if unit is None:
            raise ValueError(
                f"{name}: {label} is unit-free but {labels[first]} is in {target}; give every part in units"
            )
        if not u.have_same_dim(1 * unit, 1 * target):
            raise ValueError(
                f"{name}: {label} is in {unit}, which cannot be converted to {target} (the unit of {labels[first]})"
            )
    return target


def conversion_factor(unit: Any, target: Any) -> float:
    """The number that turns a value in ``unit`` into one in ``target`` (same dimension).

    Args:
      unit: a brainunit unit.
      target: a unit of the same dimension.

    Returns:
      ``1 unit`` expressed in ``target``.

    Example:
      >>> import brainunit as u
      >>> round(conversion_factor(u.siemens, u.nS))
      1000000000
    """
    return float((1.0 * unit).to_decimal(target))


def product(first: Any, second: Any) -> Any:
    """The unit of a product of values in ``first`` and ``second`` (``None``: unit-free).

    Args:
      first: a unit or ``None``.
      second: a unit or ``None``.

    Returns:
      Their product, or the one that is not ``None``, or ``None``.

    Example:
      >>> import brainunit as u
      >>> str(product(u.nS, u.mV))
      'pA'
    """
    if first is None or second is None:
        return first if second is None else second
    joint = 1.0 * first * second
    return joint.unit if is_quantity(joint) else None  # dimensionless: unit-free


def unit_to_json(unit: Any) -> str:
    """A brainunit unit as JSON text that :func:`unit_from_json` turns back into it.

    Holds the dimension's exponents, the scale, base, factor and names, so compound
    units (``nS / um``) round-trip as well as named ones.

    Args:
      unit: a brainunit unit.

    Returns:
      JSON text.

    Example:
      >>> import brainunit as u
      >>> unit_from_json(unit_to_json(u.nS / u.um)) == u.nS / u.um
      True
    """
    spec = {
        "dim": [float(e) if float(e) != int(e) else int(e) for e in unit.dim._dims],
        "scale": unit.scale,
        "base": unit.base,
        "factor": unit.factor,
        "name": unit.name,
        "dispname": unit.dispname,
        "is_fullname": unit.is_fullname,
        "display_parts": unit._display_parts,
    }
    return json.dumps(spec)


def unit_from_json(text: str) -> Any:
    """The brainunit unit described by :func:`unit_to_json`'s text.

    Args:
      text: JSON text from :func:`unit_to_json`.

    Returns:
      The unit.

    Raises:
      ValueError: text that does not describe a unit.

    Example:
      >>> import brainunit as u
      >>> print(unit_from_json(unit_to_json(u.pA)))
      pA
    """
    try:
        spec = json.loads(text)
        parts = spec["display_parts"]
        return u.Unit(
            dim=u.get_or_create_dimension(list(spec["dim"])),
            scale=spec["scale"],
            base=spec["base"],
            factor=spec["factor"],
            name=spec["name"],
            dispname=spec["dispname"],
            is_fullname=spec["is_fullname"],
            display_parts=None if parts is None else [tuple(part) for part in parts],
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"not a unit description: {text!r} ({error})") from None


def to_si(value: Any) -> tuple[np.ndarray, tuple[float, ...]]:
    """A Quantity's values in SI base units (float64) and its dimension's exponents.

    Args:
      value: a Quantity.

    Returns:
      ``(values, exponents)``: the values in the coherent SI unit of their dimension,
      and the exponents of metre, kilogram, second, ampere, kelvin, mole, candela.

    Example:
      >>> import brainunit as u
      >>> values, exponents = to_si(2.0 * u.nS)
      >>> print(f"{float(values):.1e}", exponents)
      2.0e-09 (-2.0, -1.0, 3.0, 2.0, 0.0, 0.0, 0.0)
    """
    si = u.Unit(dim=value.unit.dim)
    values = np.asarray(value.mantissa, np.float64) * conversion_factor(value.unit, si)
    return values, tuple(float(e) for e in value.unit.dim._dims)


def named(name: str) -> Any:
    """The brainunit unit of this name (``"pA"``, ``"ms"``, ``"nS"``).

    Args:
      name: a unit's short name as brainunit exports it.

    Returns:
      The unit.

    Raises:
      ValueError: no brainunit unit has that name.

    Example:
      >>> print(named("ms"))
      ms
    """
    unit = getattr(u, name, None)
    if not isinstance(unit, u.Unit):
        raise ValueError(f"brainunit has no unit named {name!r}")
    return unit

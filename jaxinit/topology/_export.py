"""Hand-off to simulators (NEST, Brian2, brainevent) and networks saved to a file.

The simulators are optional (``pip install "jaxinit[sim]"``) and imported only inside
the function that needs one. Units stay at this boundary: a Quantity is turned into
the simulator's numbers (NEST) or units (Brian2) here, and nowhere else.
"""

from __future__ import annotations

import importlib
import os
import zipfile
from typing import IO, Any

import jax.numpy as jnp
import numpy as np

from jaxinit import _core
from jaxinit.topology._checks import check_size
from jaxinit.topology._connectivity import Connectivity

FORMAT = "jaxinit.topology.Connectivity"
VERSION = 1
# a delay this close below the resolution is float rounding (0.1 ms as float32 from 100 us)
_DELAY_TOLERANCE = 1e-6


def _require(name: str, module: str, package: str) -> Any:
    """Imports an optional simulator, or says how to install it."""
    try:
        return importlib.import_module(module)
    except Exception as error:  # Brian2 2.9 raises AttributeError under numpy >= 2.4
        raise ImportError(
            f'{name} needs {package}: pip install "jaxinit[sim]" (or pip install {package}); '
            f"importing {module} failed: {type(error).__name__}: {error}"
        ) from error


def _plain(name: str, param: str, value: Any, unit: Any, default: str) -> np.ndarray | None:
    """Per-synapse values as float64 numbers: a Quantity in ``unit`` (``default`` when None), a plain array as-is."""
    if value is None:
        return None
    if _core.is_quantity(value):
        from jaxinit import units

        unit = units.named(default) if unit is None else unit
        return np.asarray(units.to_plain(name, param, value, unit), np.float64)
    if unit is not None:
        raise ValueError(f"{name}: {param}_unit={unit} was given but the {param}s are unit-free (plain numbers)")
    return np.asarray(value, np.float64)


def _node_ids(name: str, param: str, nodes: Any, size_name: str, size: int) -> np.ndarray:
    """NEST node ids of a population, one per neuron index, checked against its size."""
    ids = np.asarray(nodes.tolist() if hasattr(nodes, "tolist") else list(nodes))
    if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
        raise TypeError(f"{name}: {param} must be a NodeCollection or a 1-D sequence of node ids, got {nodes!r}")
    if ids.size != size:
        raise ValueError(
            f"{name}: {param} has {ids.size} nodes but the connectivity has {size_name}={size}; "
            f"pass the population whose neurons its indices number"
        )
    return ids.astype(np.int64)


def _check_concrete(name: str, conn: Connectivity) -> Connectivity:
    """``conn`` checked to be one concrete network, without the padding of a sharded build."""
    if _core.is_traced(conn.pre):
        raise TypeError(f"{name}: the connectivity must be concrete, not traced; call {name} outside jit")
    if conn.pre.ndim != 1:
        raise ValueError(
            f"{name}: expected one network, got batched indices of shape {tuple(conn.pre.shape)}; "
            "export one network at a time (e.g. jax.tree.map(lambda x: x[0], conn))"
        )
    return conn.unpadded()


def to_nest(
    conn: Connectivity,
    pre_nodes: Any,
    post_nodes: Any,
    *,
    syn_spec: dict | None = None,
    weight_unit: Any = None,
    delay_unit: Any = None,
    clip_delays: bool = False,
) -> None:
    """Creates the synapses in NEST: one ``nest.Connect`` of node-id arrays, ``one_to_one``.

    Synapse ``k`` connects ``pre_nodes[conn.pre[k]]`` to ``post_nodes[conn.post[k]]``
    with weight ``conn.weight[k]`` and delay ``conn.delay[k]`` (each only when the
    connectivity has it; else ``syn_spec``'s value or the synapse model's default).
    NEST rounds every delay to the nearest multiple of its resolution. Needs
    ``nest-simulator`` (``pip install "jaxinit[sim]"``) and NEST without MPI (NEST
    connects arrays of node ids only then).

    Args:
      conn: the connectivity.
      pre_nodes: the presynaptic population, a ``NodeCollection`` (or node ids) of
        ``conn.n_pre`` neurons.
      post_nodes: the postsynaptic population, ``conn.n_post`` neurons.
      syn_spec: further synapse parameters, as for ``nest.Connect``: ``synapse_model``
        (default ``"static_synapse"``) and values for every synapse (a number or one
        per synapse); ``weight``/``delay`` only when the connectivity has none.
      weight_unit: the unit NEST expects the weights in, when they are a Quantity:
        ``pA`` (the default) for current-based synapses, ``nS`` for conductance-based
        ones. Plain weights are passed as they are.
      delay_unit: the unit for delays that are a Quantity (default ``ms``, NEST's
        unit). Plain delays are passed as they are, in ms.
      clip_delays: raise delays below the resolution to the resolution instead of
        refusing them.

    Raises:
      ImportError: NEST is not installed.
      ValueError: populations whose sizes differ from ``n_pre``/``n_post``, a delay
        below NEST's resolution (or NaN), ``weight``/``delay`` both in the connectivity
        and in ``syn_spec``, or values whose unit is not of the given unit's dimension.

    Example:
      Needs NEST, so not run here:

      >>> import jax, brainunit as u
      >>> from jaxinit import normal
      >>> from jaxinit.topology import random_topology, to_nest, with_delays, with_weights
      >>> conn = random_topology(jax.random.key(0), 100, n_syn=500)
      >>> conn = with_weights(jax.random.key(1), conn, normal(20.0 * u.pA, 2.0 * u.pA))
      >>> conn = with_delays(jax.random.key(2), conn, normal(1.5 * u.ms, 0.2 * u.ms))
      >>> import nest  # doctest: +SKIP
      >>> neurons = nest.Create("iaf_psc_alpha", 100)  # doctest: +SKIP
      >>> to_nest(conn, neurons, neurons)  # doctest: +SKIP
      >>> len(nest.GetConnections())  # doctest: +SKIP
      500
    """
    name = "to_nest"
    conn = _check_concrete(name, conn)
    pre_ids = _node_ids(name, "pre_nodes", pre_nodes, "n_pre", conn.n_pre)
    post_ids = _node_ids(name, "post_nodes", post_nodes, "n_post", conn.n_post)
    spec = dict(syn_spec or {})
    spec.setdefault("synapse_model", "static_synapse")
    for param in ("weight", "delay"):
        if param in spec and getattr(conn, param) is not None:
            raise ValueError(
                f"{name}: syn_spec sets {param!r} but the connectivity has {param}s of its own; "
                f"drop one of them (with_{param}s sets them per synapse)"
            )
    weight = _plain(name, "weight", conn.weight, weight_unit, "pA")
    delay = _plain(name, "delay", conn.delay, delay_unit, "ms")
    nest = _require(name, "nest", "nest-simulator")
    if delay is None and "delay" in spec:
        delay = np.broadcast_to(np.asarray(spec.pop("delay"), np.float64), (conn.nnz,))
    if weight is None and "weight" in spec:
        weight = np.broadcast_to(np.asarray(spec.pop("weight"), np.float64), (conn.nnz,))
    if delay is not None:
        delay = _checked_delays(name, conn, delay, float(nest.resolution), clip_delays)
        spec["delay"] = np.ascontiguousarray(delay)
    if weight is not None:
        spec["weight"] = np.ascontiguousarray(weight)
    if conn.nnz == 0:
        return
    pre, post = pre_ids[np.asarray(conn.pre)], post_ids[np.asarray(conn.post)]
    nest.Connect(pre, post, conn_spec="one_to_one", syn_spec=spec)


def _checked_delays(name: str, conn: Connectivity, delay: np.ndarray, resolution: float, clip: bool) -> np.ndarray:
    if np.isnan(delay).any():
        at = int(np.argmax(np.isnan(delay)))
        raise ValueError(f"{name}: delays must be numbers, got NaN at synapse {at}")
    low = delay < resolution * (1 - _DELAY_TOLERANCE)
    if not low.any():
        return delay
    if clip:
        return np.maximum(delay, resolution)
    at = int(np.argmin(delay))
    pre, post = int(conn.pre[at]), int(conn.post[at])
    raise ValueError(
        f"{name}: delays must be >= NEST's resolution {resolution} ms, got {int(low.sum())} below it, the smallest "
        f"{delay[at]} ms (synapse {at}, pre={pre}, post={post}); lengthen them, set a finer nest.resolution "
        "before creating nodes, or pass clip_delays=True to raise them to the resolution"
    )


def to_brian2(synapses: Any, conn: Connectivity, *, weight: str | None = "w", delay: bool = True) -> None:
    """Creates the synapses in a Brian2 ``Synapses``: ``connect(i=pre, j=post)``, then their values.

    The new synapses are appended in ``conn``'s order; the weights go into the
    variable named ``weight`` and the delays into ``synapses.delay`` (the ``on_pre``
    pathway). A Quantity becomes the Brian2 quantity of the same value and dimension
    (``0.5 nS`` stays ``0.5 nS``); plain weights are set as they are and plain delays
    are read as ms. Needs Brian2 (``pip install brian2``).

    Args:
      synapses: a ``brian2.Synapses`` from a group of ``conn.n_pre`` neurons to one
        of ``conn.n_post`` (subgroups are fine).
      conn: the connectivity.
      weight: the synapse variable that receives the weights (``None``: leave it).
      delay: set ``synapses.delay`` from the connectivity's delays.

    Raises:
      ImportError: Brian2 is not installed (or does not import).
      ValueError: group sizes that differ from ``n_pre``/``n_post``, or a ``weight``
        variable or delay that the synapses do not have.

    Example:
      Needs Brian2, so not run here:

      >>> import jax
      >>> from jaxinit.topology import random_topology, to_brian2
      >>> conn = random_topology(jax.random.key(0), 100, n_syn=500)
      >>> import brian2 as b2  # doctest: +SKIP
      >>> group = b2.NeuronGroup(100, "dv/dt = -v / (10*ms) : volt")  # doctest: +SKIP
      >>> syn = b2.Synapses(group, group, "w : volt", on_pre="v += w")  # doctest: +SKIP
      >>> to_brian2(syn, conn)  # doctest: +SKIP
      >>> len(syn)  # doctest: +SKIP
      500
    """
    name = "to_brian2"
    conn = _check_concrete(name, conn)
    b2 = _require(name, "brian2", "brian2")
    sizes = {"source": ("n_pre", conn.n_pre), "target": ("n_post", conn.n_post)}
    for group, (size_name, size) in sizes.items():
        got = len(getattr(synapses, group))
        if got != size:
            raise ValueError(
                f"{name}: the synapses' {group} group has {got} neurons but the connectivity has "
                f"{size_name}={size}; build the Synapses between the groups its indices number"
            )
    set_weight = weight is not None and conn.weight is not None
    set_delay = delay and conn.delay is not None
    if set_weight and weight not in synapses.variables:
        raise ValueError(
            f"{name}: the synapses have no variable {weight!r}; declare it in the model (e.g. '{weight} : siemens') "
            "or pass weight= the name of the variable that holds the weights"
        )
    if set_delay and not hasattr(synapses, "pre"):
        raise ValueError(
            f"{name}: the synapses have no on_pre pathway, so no delay to set; give them on_pre= or pass delay=False"
        )
    if conn.nnz == 0:
        return  # Brian2 refuses empty index arrays
    start = len(synapses)
    synapses.connect(i=np.asarray(conn.pre, np.int64), j=np.asarray(conn.post, np.int64))
    if set_weight:
        getattr(synapses, weight)[start:] = _brian2_values(b2, conn.weight, None)
    if set_delay:
        synapses.delay[start:] = _brian2_values(b2, conn.delay, b2.ms)


def _brian2_values(b2: Any, values: Any, plain_unit: Any) -> Any:
    """A Quantity as the Brian2 quantity of equal value (both store SI); plain values times ``plain_unit``."""
    if _core.is_quantity(values):
        from jaxinit import units

        si, exponents = units.to_si(values)
        return b2.Quantity(si, dim=b2.get_or_create_dimension(exponents))
    plain = np.asarray(values, np.float64)
    return plain if plain_unit is None else plain * plain_unit


def to_brainevent(conn: Connectivity, *, unit: Any = None, backend: str | None = None) -> Any:
    """A ``brainevent.CSR`` matrix ``(n_pre, n_post)``, what brainstate/braintools models simulate with.

    Rows are pre neurons, so ``spikes @ csr`` (with ``brainevent.BinaryArray(spikes)``
    for event-driven propagation) is each post neuron's summed input; multapses stay
    separate entries and sum. Needs brainevent (``pip install brainevent``, its CPU
    kernels want ``numba``: ``pip install "brainevent[cpu]"``, or pass
    ``backend="jax_raw"``).

    Args:
      conn: the connectivity.
      unit: express weights that carry a unit as plain numbers in this unit; ``None``
        (the default) keeps the Quantity (brainevent computes with units).
      backend: brainevent's compute backend for this matrix (``None``: its default).

    Returns:
      The CSR matrix; its data are the weights (ones when the connectivity has none).

    Raises:
      ImportError: brainevent is not installed.
      ValueError: ``unit`` given for unit-free weights (or none), or of another dimension.

    Example:
      Needs brainevent, so not run here:

      >>> import jax
      >>> from jaxinit.topology import random_topology, to_brainevent
      >>> conn = random_topology(jax.random.key(0), 100, n_syn=500)
      >>> import brainevent, jax.numpy as jnp  # doctest: +SKIP
      >>> csr = to_brainevent(conn, backend="jax_raw")  # doctest: +SKIP
      >>> post_input = brainevent.BinaryArray(jnp.ones(100, bool)) @ csr  # doctest: +SKIP
      >>> post_input.shape  # doctest: +SKIP
      (100,)
    """
    name = "to_brainevent"
    brainevent = _require(name, "brainevent", "brainevent")
    conn = conn.unpadded()
    if _core.is_quantity(conn.weight) and unit is None:
        data = conn.weight
    else:
        data = conn._values(name, unit)
    return brainevent.CSR((data, conn.post, conn.indptr), shape=(conn.n_pre, conn.n_post), backend=backend)


# --- networks saved to a file ---


def save(file: str | os.PathLike | IO[bytes], conn: Connectivity) -> None:
    """Writes a connectivity to an ``.npz`` file, values with their dtypes and units.

    The file (a NumPy ``.npz`` archive, written to exactly ``file``, no suffix added)
    holds ``pre``, ``post``, ``n_pre``, ``n_post``, the weights and delays as saved
    (any dtype, ``bfloat16`` included) with their units, and a format name and
    version; :func:`load` reads it back. Reading it needs no pickle.

    Args:
      file: a path or a binary file object.
      conn: a concrete connectivity (one network, not a batch).

    Raises:
      TypeError: a traced connectivity (inside ``jit``).
      ValueError: a batched one.

    Example:
      >>> import jax, os, tempfile
      >>> from jaxinit import normal
      >>> from jaxinit.topology import load, random_topology, save, with_weights
      >>> conn = with_weights(jax.random.key(1), random_topology(jax.random.key(0), 100, n_syn=500), normal(0.5, 0.1))
      >>> path = os.path.join(tempfile.mkdtemp(), "network.npz")
      >>> save(path, conn)
      >>> again = load(path)
      >>> again.nnz, bool((again.weight == conn.weight).all()), again.weight.dtype
      (500, True, dtype('float32'))
    """
    name = "save"
    conn = _check_concrete(name, conn)
    arrays = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION),
        "pre": np.asarray(conn.pre, np.int32),
        "post": np.asarray(conn.post, np.int32),
        "n_pre": np.array(conn.n_pre, np.int64),
        "n_post": np.array(conn.n_post, np.int64),
    }
    for param in ("weight", "delay"):
        value = getattr(conn, param)
        if value is None:
            continue
        if _core.is_quantity(value):
            from jaxinit import units

            arrays[f"{param}_unit"] = np.array(units.unit_to_json(value.unit))
            value = value.mantissa
        array = np.asarray(value)
        arrays[f"{param}_dtype"] = np.array(array.dtype.name)
        if not array.dtype.isbuiltin:  # bfloat16 and other ml_dtypes: stored as their bits
            array = array.view(f"u{array.dtype.itemsize}")
        arrays[param] = array
    if isinstance(file, (str, os.PathLike)):
        with open(file, "wb") as handle:
            np.savez(handle, **arrays)
    else:
        np.savez(file, **arrays)


def load(file: str | os.PathLike | IO[bytes]) -> Connectivity:
    """Reads a connectivity written by :func:`save`, checked before it is trusted.

    Args:
      file: a path or a binary file object.

    Returns:
      The :class:`Connectivity`, values in their saved dtype (float64 needs
      ``jax_enable_x64``) and with their units (brainunit is imported only then).

    Raises:
      ValueError: a file that is not a saved connectivity, from a newer format
        version, or whose contents are inconsistent (lengths, index ranges, order).

    Example:
      >>> import jax, brainunit as u, io
      >>> from jaxinit import constant
      >>> from jaxinit.topology import load, one_to_one, save, with_delays
      >>> buffer = io.BytesIO()
      >>> save(buffer, with_delays(jax.random.key(0), one_to_one(3), constant(1.5 * u.ms)))
      >>> _ = buffer.seek(0)
      >>> print(load(buffer).delay)
      [1.5 1.5 1.5] ms
    """
    name = "load"
    where = file if isinstance(file, (str, os.PathLike)) else type(file).__name__
    try:
        archive = np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{name}: {where} is not a connectivity saved by jaxinit.topology.save ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{name}: {where} holds a single array, not a connectivity saved by jaxinit.topology.save")
    with archive:
        data = {key: archive[key] for key in archive.files}
    return _from_arrays(name, where, data)


def _from_arrays(name: str, where: Any, data: dict[str, np.ndarray]) -> Connectivity:
    def bad(what: str) -> ValueError:
        return ValueError(f"{name}: {where} is not a valid saved connectivity: {what}")

    if str(data.get("format", "")) != FORMAT:
        raise bad(f"its format is {str(data['format'])!r}" if "format" in data else "it has no 'format' entry")
    missing = [key for key in ("version", "pre", "post", "n_pre", "n_post") if key not in data]
    if missing:
        raise bad(f"missing {', '.join(missing)}")
    version = data["version"]
    if version.shape != () or not np.issubdtype(version.dtype, np.integer):
        raise bad(f"version must be an integer, got {version!r}")
    if int(version) > VERSION:
        raise ValueError(
            f"{name}: {where} has format version {int(version)}, newer than this jaxinit reads ({VERSION}); "
            "upgrade jaxinit"
        )
    sizes = {}
    for param in ("n_pre", "n_post"):
        value = data[param]
        if value.shape != () or not np.issubdtype(value.dtype, np.integer):
            raise bad(f"{param} must be an integer, got {value!r}")
        sizes[param] = check_size(name, param, int(value))
    pre, post = data["pre"], data["post"]
    for param, indices, size_name in (("pre", pre, "n_pre"), ("post", post, "n_post")):
        if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
            raise bad(f"{param} must be a 1-D integer array, got {indices.dtype}{list(indices.shape)}")
        if indices.size and (indices.min() < 0 or indices.max() >= sizes[size_name]):
            raise bad(f"{param} holds indices outside [0, {size_name}={sizes[size_name]})")
    if pre.shape != post.shape:
        raise bad(f"pre and post differ in length ({pre.size} and {post.size})")
    later = (pre[1:] > pre[:-1]) | ((pre[1:] == pre[:-1]) & (post[1:] >= post[:-1]))
    if not later.all():
        at = int(np.argmin(later))
        raise bad(f"synapses are not sorted by (pre, post) at synapse {at + 1}")
    values = {param: _values_from(data, param, pre.shape, bad) for param in ("weight", "delay")}
    return Connectivity(jnp.asarray(pre.astype(np.int32)), jnp.asarray(post.astype(np.int32)), **sizes, **values)


def _values_from(data: dict[str, np.ndarray], param: str, shape: tuple[int, ...], bad: Any) -> Any:
    if param not in data:
        for key in (f"{param}_dtype", f"{param}_unit"):
            if key in data:
                raise bad(f"it has {key} but no {param}")
        return None
    array = data[param]
    if array.shape != shape:
        raise bad(f"{param} must have one entry per synapse, shape {shape}, got {array.shape}")
    if f"{param}_dtype" in data:
        try:
            dtype = jnp.dtype(str(data[f"{param}_dtype"]))
        except TypeError:
            raise bad(f"{param}_dtype {str(data[f'{param}_dtype'])!r} is not a dtype") from None
        if array.dtype != dtype:
            if array.dtype.itemsize != dtype.itemsize:
                raise bad(f"{param} is stored as {array.dtype}, which cannot hold {dtype}")
            array = array.view(dtype)
    values = jnp.asarray(array)
    if f"{param}_unit" not in data:
        return values
    from jaxinit import units

    try:
        unit = units.unit_from_json(str(data[f"{param}_unit"]))
    except ValueError as error:
        raise bad(f"{param}_unit: {error}") from None
    return units.attach(values, unit)

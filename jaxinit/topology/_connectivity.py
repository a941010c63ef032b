"""The ``Connectivity`` type: synapses as sorted coordinate lists, and its conversions."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxinit import _core
from jaxinit.topology._checks import check_count, check_size


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Connectivity:
    """Synapses as sorted coordinate lists: a pytree that jit and vmap carry.

    Builders return it sorted by ``(pre, post)``; the constructor trusts its caller
    on the order (use :meth:`from_pairs` for pairs in any order, it sorts and checks).
    A multapse is a repeated, adjacent pair; every conversion sums its values.

    Attributes:
      pre: int32 ``(nnz,)`` presynaptic indices, sorted by ``(pre, post)``.
      post: int32 ``(nnz,)`` postsynaptic indices.
      n_pre: number of presynaptic neurons (static, required keyword).
      n_post: number of postsynaptic neurons (static, required keyword).
      weight: ``(nnz,)`` values per synapse (an array or a Quantity), or ``None``.
      delay: ``(nnz,)`` delays per synapse (an array or a Quantity), or ``None``.
      n_syn: the number of synapses when the arrays are longer: a sharded build
        (``out_sharding=``) pads them to a multiple of the device count with padding
        pairs ``(n_pre, n_post)`` (values 0) after the synapses, which sort last and
        which every method here ignores; :meth:`unpadded` drops them. ``None`` (static):
        no padding, or padding of a count that is not static (a build given
        ``capacity=``, e.g. :func:`~jaxinit.topology.pairwise_bernoulli` under ``jit``),
        which the methods ignore alike and :meth:`unpadded` drops from concrete arrays.

    Raises:
      TypeError, ValueError: sizes that are not ints in ``[0, 2**31)``, or ``pre``,
        ``post``, ``weight``, ``delay`` of different lengths.

    Example:
      >>> import jax
      >>> from jaxinit.topology import random_topology
      >>> conn = random_topology(jax.random.key(0), 100, n_syn=500)
      >>> conn.nnz, int(conn.out_degree().sum()), conn.to_dense().shape
      (500, 500, (100, 100))
    """

    pre: jax.Array
    post: jax.Array
    _: dataclasses.KW_ONLY
    n_pre: int = dataclasses.field(metadata=dict(static=True))
    n_post: int = dataclasses.field(metadata=dict(static=True))
    weight: jax.Array | None = None
    delay: jax.Array | None = None
    n_syn: int | None = dataclasses.field(default=None, metadata=dict(static=True))

    def __post_init__(self):
        # checks only what holds under every transformation (jit, vmap, grad, tree maps
        # may rebuild it with tracers, batched or placeholder leaves)
        for param in ("n_pre", "n_post"):
            object.__setattr__(self, param, check_size("Connectivity", param, getattr(self, param)))
        if self.n_syn is not None:
            object.__setattr__(self, "n_syn", check_size("Connectivity", "n_syn", self.n_syn))
        shape = getattr(self.pre, "shape", None)
        if shape is None:
            return
        if self.n_syn is not None and self.n_syn > shape[-1]:
            raise ValueError(f"Connectivity: n_syn={self.n_syn} is more than the {shape[-1]} pairs given")
        lengths = {param: getattr(getattr(self, param), "shape", None) for param in ("post", "weight", "delay")}
        for param, other in lengths.items():
            if other is not None and other[-1:] != shape[-1:]:
                raise ValueError(
                    f"Connectivity: {param} must have one entry per synapse, like pre {tuple(shape)}, "
                    f"got shape {tuple(other)}"
                )

    @property
    def nnz(self) -> int:
        """Number of synapses (a sharded build's padding not counted; a ``capacity=`` build's
        count is not static: this is then its capacity, and ``out_degree().sum()`` its count)."""
        return self.pre.shape[-1] if self.n_syn is None else self.n_syn

    def unpadded(self) -> Connectivity:
        """The synapses without the padding of a sharded build (``self`` when there is none).

        Returns:
          A :class:`Connectivity` whose arrays hold exactly :attr:`nnz` synapses (sliced,
          so the slices of a sharded build end up wherever JAX puts a slice of it).

        Example:
          >>> import jax.numpy as jnp
          >>> conn = Connectivity(jnp.array([0, 2]), jnp.array([1, 2]), n_pre=2, n_post=2, n_syn=1)
          >>> conn.unpadded().pre.tolist(), conn.unpadded().n_syn
          ([0], None)
        """
        if self.n_syn is None:
            return self._without_trailing_padding()
        n = self.n_syn

        def cut(values):
            return None if values is None else global_view(values)[..., :n]

        return Connectivity(
            cut(self.pre), cut(self.post), n_pre=self.n_pre, n_post=self.n_post,
            weight=cut(self.weight), delay=cut(self.delay),
        )  # fmt: skip

    def _without_trailing_padding(self) -> Connectivity:
        """Concrete 1-D arrays cut before their padding pairs (a ``capacity=`` build's: they
        sort last, so they are a tail); ``self`` when there are none or when traced."""
        pre = self.pre
        if _core.is_traced(pre) or pre.ndim != 1 or pre.shape[0] == 0 or int(pre[-1]) < self.n_pre:
            return self
        n = int(jnp.searchsorted(pre, self.n_pre))
        return dataclasses.replace(self, n_syn=n).unpadded()

    @property
    def indptr(self) -> jax.Array:
        """CSR row pointers by pre neuron: synapses of pre ``i`` are ``indptr[i]:indptr[i+1]``."""
        return jnp.searchsorted(global_view(self.pre), jnp.arange(self.n_pre + 1, dtype=jnp.int32)).astype(jnp.int32)

    def out_degree(self) -> jax.Array:
        """Synapses per pre neuron, ``(n_pre,)`` (a multapse counts each time)."""
        return jnp.bincount(global_view(self.pre), length=self.n_pre)  # padding (n_pre) is out of range: dropped

    def in_degree(self) -> jax.Array:
        """Synapses per post neuron, ``(n_post,)`` (a multapse counts each time)."""
        return jnp.bincount(global_view(self.post), length=self.n_post)  # padding (n_post) is out of range: dropped

    def by_post(self) -> tuple[jax.Array, jax.Array]:
        """The CSC view: ``(indptr_post, order)``, post ``j``'s synapses are
        ``order[indptr_post[j]:indptr_post[j + 1]]`` (in pre order).

        Example:
          >>> import jax.numpy as jnp
          >>> conn = Connectivity(jnp.array([0, 0, 1]), jnp.array([1, 2, 1]), n_pre=2, n_post=3)
          >>> indptr, order = conn.by_post()
          >>> indptr.tolist(), order.tolist()
          ([0, 0, 2, 3], [0, 2, 1])
        """
        index = jnp.arange(self.pre.shape[-1], dtype=jnp.int32)
        post, order = lax.sort((global_view(self.post).astype(jnp.int32), index), num_keys=1, is_stable=True)
        indptr = jnp.searchsorted(post, jnp.arange(self.n_post + 1, dtype=jnp.int32)).astype(jnp.int32)
        return indptr, order

    # --- conversions: every one sums multapses, and says how to get values out of units ---

    def _values(self, method: str, unit: Any) -> jax.Array:
        """The weights as plain values for a matrix (ones without weights, in the default float)."""
        name = f"Connectivity.{method}"
        weight = self.weight
        if weight is None:
            if unit is not None:
                raise ValueError(f"{name}: unit={unit} was given but the connectivity has no weights")
            return jnp.ones(self.pre.shape[-1], jax.dtypes.canonicalize_dtype(float))
        if _core.is_quantity(weight):
            if unit is None:
                raise ValueError(
                    f"{name}: the weights carry a unit ({weight.unit}); pass unit= to get their values in a unit "
                    f"of that dimension, e.g. conn.{method}(unit=u.{weight.unit}) with brainunit as u"
                )
            from jaxinit import units

            return units.to_plain(name, "weight", weight, unit)
        if unit is not None:
            raise ValueError(f"{name}: unit={unit} was given but the weights are unit-free")
        return jnp.asarray(weight)

    def to_dense(self, unit: Any = None) -> jax.Array:
        """The ``(n_pre, n_post)`` matrix: weights (or ones) summed at the synapses, zeros elsewhere.

        Args:
          unit: with weights in units, return plain values in this unit; ``None``
            (the default) returns a Quantity in the weights' own unit.

        Returns:
          The dense matrix (a Quantity when the weights carry a unit and ``unit`` is None).

        Raises:
          ValueError: ``unit`` given for unit-free weights, or of another dimension.

        Example:
          >>> import jax.numpy as jnp
          >>> conn = Connectivity(jnp.array([0, 1, 1]), jnp.array([1, 0, 0]), n_pre=2, n_post=2)
          >>> conn.to_dense().tolist()  # a multapse counts twice
          [[0.0, 1.0], [2.0, 0.0]]
        """
        if unit is None and _core.is_quantity(self.weight):
            values, unit = jnp.asarray(self.weight.mantissa), self.weight.unit
        else:
            values, unit = self._values("to_dense", unit), None
        # padding pairs (n_pre, n_post) fall outside the matrix and are dropped
        pre, post = global_view(self.pre), global_view(self.post)
        dense = jnp.zeros((self.n_pre, self.n_post), values.dtype).at[pre, post].add(global_view(values), mode="drop")
        return _core.attach_unit(dense, unit)

    def to_bcoo(self, unit: Any = None):
        """A ``jax.experimental.sparse.BCOO`` matrix ``(n_pre, n_post)``.

        Args:
          unit: the unit to express the weights in; required when they carry one.

        Returns:
          The BCOO matrix (multapses stay separate entries and sum in every operation).

        Raises:
          ValueError: weights in units and no ``unit`` (or ``unit`` for unit-free ones).

        Example:
          >>> import jax.numpy as jnp
          >>> conn = Connectivity(jnp.array([0, 1]), jnp.array([1, 0]), n_pre=2, n_post=2)
          >>> (conn.to_bcoo() @ jnp.array([1.0, 2.0])).tolist()
          [2.0, 1.0]
        """
        from jax.experimental import sparse

        self = self.unpadded()
        values = self._values("to_bcoo", unit)
        indices = jnp.stack([self.pre, self.post], axis=1)
        shape = (self.n_pre, self.n_post)
        return sparse.BCOO((values, indices), shape=shape, indices_sorted=True, unique_indices=False)

    def to_bcsr(self, unit: Any = None):
        """A ``jax.experimental.sparse.BCSR`` matrix ``(n_pre, n_post)``.

        Args:
          unit: the unit to express the weights in; required when they carry one.

        Returns:
          The BCSR matrix (multapses stay separate entries and sum in every operation).

        Raises:
          ValueError: weights in units and no ``unit`` (or ``unit`` for unit-free ones).

        Example:
          >>> import jax.numpy as jnp
          >>> conn = Connectivity(jnp.array([0, 1]), jnp.array([1, 0]), n_pre=2, n_post=2)
          >>> conn.to_bcsr().todense().tolist()
          [[0.0, 1.0], [1.0, 0.0]]
        """
        from jax.experimental import sparse

        self = self.unpadded()
        values = self._values("to_bcsr", unit)
        shape = (self.n_pre, self.n_post)
        return sparse.BCSR((values, self.post, self.indptr), shape=shape, indices_sorted=True, unique_indices=False)

    def to_scipy(self, unit: Any = None):
        """A ``scipy.sparse.csr_matrix`` ``(n_pre, n_post)`` with multapses summed (needs scipy).

        Args:
          unit: the unit to express the weights in; required when they carry one.

        Returns:
          The CSR matrix in canonical form (one entry per connected pair).

        Raises:
          ValueError: weights in units and no ``unit`` (or ``unit`` for unit-free ones).

        Example:
          >>> import jax.numpy as jnp
          >>> conn = Connectivity(jnp.array([0, 0]), jnp.array([1, 1]), n_pre=2, n_post=2)
          >>> conn.to_scipy().toarray().tolist()
          [[0.0, 2.0], [0.0, 0.0]]
        """
        from scipy import sparse

        self = self.unpadded()
        values = np.array(self._values("to_scipy", unit))
        shape = (self.n_pre, self.n_post)
        matrix = sparse.csr_matrix((values, np.array(self.post), np.array(self.indptr)), shape=shape)
        matrix.sum_duplicates()
        return matrix

    # --- construction from user data ---

    @classmethod
    def from_pairs(
        cls,
        pre: ArrayLike,
        post: ArrayLike,
        *,
        n_pre: int,
        n_post: int,
        weight: Any = None,
        delay: Any = None,
        multapses: bool = False,
    ) -> Connectivity:
        """Synapses from ``(pre, post)`` pairs in any order: sorted, range-checked, repeats refused.

        Weights and delays travel with their pairs. Concrete input is checked; traced
        input (inside ``jit``) is only sorted.

        Args:
          pre: ``(nnz,)`` presynaptic indices in ``[0, n_pre)``.
          post: ``(nnz,)`` postsynaptic indices in ``[0, n_post)``.
          n_pre: number of presynaptic neurons.
          n_post: number of postsynaptic neurons.
          weight: ``(nnz,)`` values per pair (array or Quantity), or ``None``.
          delay: ``(nnz,)`` delays per pair (array or Quantity), or ``None``.
          multapses: keep repeated pairs (as adjacent synapses) instead of refusing them.

        Returns:
          A :class:`Connectivity` sorted by ``(pre, post)`` (stable: repeats keep their order).

        Raises:
          TypeError: indices that are not integers.
          ValueError: indices out of range, lengths that differ, or a repeated pair
            without ``multapses=True``.

        Example:
          >>> conn = Connectivity.from_pairs([2, 0, 0], [1, 2, 1], n_pre=3, n_post=3, weight=[0.5, 1.0, 2.0])
          >>> conn.pre.tolist(), conn.post.tolist(), conn.weight.tolist()
          ([0, 0, 2], [1, 2, 1], [2.0, 1.0, 0.5])
        """
        name = "Connectivity.from_pairs"
        n_pre = check_size(name, "n_pre", n_pre)
        n_post = check_size(name, "n_post", n_post)
        pre = _indices(name, "pre", pre, "n_pre", n_pre)
        post = _indices(name, "post", post, "n_post", n_post)
        if pre.shape != post.shape:
            raise ValueError(f"{name}: pre and post must have the same length, got {pre.shape[0]} and {post.shape[0]}")
        check_count(name, pre.shape[0])
        values = {"weight": weight, "delay": delay}
        for param, value in values.items():
            length = None if value is None else np.shape(value.mantissa if _core.is_quantity(value) else value)
            if length is not None and length != pre.shape:
                raise ValueError(f"{name}: {param} must have one entry per pair, shape {pre.shape}, got {length}")
        index = jnp.arange(pre.shape[0], dtype=jnp.int32)
        pre, post, order = lax.sort((pre, post, index), num_keys=2, is_stable=True)
        if not multapses and not _core.is_traced(pre):
            _refuse_repeats(name, np.asarray(pre), np.asarray(post))
        taken = {param: None if value is None else _take(value, order) for param, value in values.items()}
        return cls(pre, post, n_pre=n_pre, n_post=n_post, **taken)

    @classmethod
    def from_dense(cls, matrix: Any) -> Connectivity:
        """Synapses at the non-zero entries of a concrete ``(n_pre, n_post)`` matrix.

        Args:
          matrix: a 2-D array or Quantity; its non-zeros become the weights (a bool
            matrix gives synapses without weights).

        Returns:
          A :class:`Connectivity` sorted by ``(pre, post)``; ``to_dense()`` gives the matrix back.

        Raises:
          TypeError: a traced matrix (the synapse count must be static).
          ValueError: a matrix that is not 2-D.

        Example:
          >>> import numpy as np
          >>> conn = Connectivity.from_dense(np.array([[0.0, 1.5], [2.0, 0.0]]))
          >>> conn.pre.tolist(), conn.post.tolist(), conn.weight.tolist()
          ([0, 1], [1, 0], [1.5, 2.0])
        """
        name = "Connectivity.from_dense"
        unit, values = None, matrix
        if _core.is_quantity(matrix):
            unit, values = matrix.unit, matrix.mantissa
        if _core.is_traced(values):
            raise TypeError(
                f"{name}: matrix must be concrete, not traced: its non-zeros set the static synapse count; "
                "call from_dense outside jit"
            )
        array = np.asarray(values)
        if array.ndim != 2:
            raise ValueError(f"{name}: matrix must be 2-D (n_pre, n_post), got shape {array.shape}")
        n_pre = check_size(name, "matrix.shape[0]", array.shape[0])
        n_post = check_size(name, "matrix.shape[1]", array.shape[1])
        pre, post = np.nonzero(array)
        check_count(name, pre.size)
        weight = None if array.dtype == bool else _core.attach_unit(jnp.asarray(array[pre, post]), unit)
        return cls(jnp.asarray(pre, jnp.int32), jnp.asarray(post, jnp.int32), n_pre=n_pre, n_post=n_post, weight=weight)


def global_view(values: Any) -> Any:
    """``values`` as the global operations here (sorts, scatters, searches) take them: an
    array split over *Explicit* mesh axes (``jax.make_mesh``'s default) is viewed over the
    same devices with Auto axes, so XLA, not the caller, chooses how to run them. A
    tracer is left as it is (its caller's mesh context decides)."""
    sharding = getattr(values, "sharding", None)
    if isinstance(values, jax.core.Tracer) or not isinstance(sharding, jax.sharding.NamedSharding):
        return values
    auto = auto_axes(sharding)
    return values if auto is sharding else jax.device_put(values, auto)


def auto_axes(sharding: jax.sharding.NamedSharding) -> jax.sharding.NamedSharding:
    """``sharding`` over the same devices with Auto mesh axes (itself if they are), so that a
    program may constrain its intermediates with ``lax.with_sharding_constraint``."""
    mesh = sharding.mesh
    if all(kind != jax.sharding.AxisType.Explicit for kind in mesh.axis_types):
        return sharding
    auto_types = (jax.sharding.AxisType.Auto,) * len(mesh.axis_names)
    auto = jax.sharding.Mesh(mesh.devices, mesh.axis_names, axis_types=auto_types)
    return jax.sharding.NamedSharding(auto, sharding.spec)


def empty(n_pre: int, n_post: int) -> Connectivity:
    """No synapses between ``n_pre`` and ``n_post`` neurons."""
    none = jnp.zeros(0, jnp.int32)
    return Connectivity(none, none, n_pre=n_pre, n_post=n_post)


def _indices(name: str, param: str, values: Any, size_name: str, size: int) -> jax.Array:
    """Indices as int32, checked to lie in ``[0, size)`` when concrete."""
    if _core.is_traced(values):
        if values.ndim != 1 or not jnp.issubdtype(values.dtype, jnp.integer):
            raise TypeError(f"{name}: {param} must be a 1-D array of integers, got {values.dtype}{list(values.shape)}")
        return values.astype(jnp.int32)
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name}: {param} must be a 1-D array of indices, got shape {array.shape}")
    if array.size == 0:
        return jnp.zeros(0, jnp.int32)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name}: {param} must hold integer indices, got dtype {array.dtype}")
    bad = (array < 0) | (array >= size)
    if bad.any():
        at = int(np.argmax(bad))
        raise ValueError(
            f"{name}: {param} must hold indices in [0, {size_name}={size}), got {array[at]} at position {at}"
        )
    return jnp.asarray(array.astype(np.int32))


def _refuse_repeats(name: str, pre: np.ndarray, post: np.ndarray) -> None:
    repeated = (pre[1:] == pre[:-1]) & (post[1:] == post[:-1])
    if repeated.any():
        at = int(np.argmax(repeated))
        times = int(np.sum((pre == pre[at]) & (post == post[at])))
        raise ValueError(
            f"{name}: the pair (pre={pre[at]}, post={post[at]}) appears {times} times; pass multapses=True "
            "to keep repeated pairs as multapses, or remove the repeats"
        )


def _take(values: Any, order: jax.Array) -> Any:
    """``values[order]``, for arrays and Quantities."""
    if _core.is_quantity(values):
        return _core.attach_unit(jnp.asarray(values.mantissa)[order], values.unit)
    return jnp.asarray(values)[order]

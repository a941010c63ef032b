"""The ``Connectivity`` type: synapses as sorted coordinate lists, and its conversions."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Connectivity:
    """Synapses as sorted coordinate lists: a pytree that jit and vmap carry.

    Attributes:
      pre: int32 ``(nnz,)`` presynaptic indices, sorted by ``(pre, post)``.
      post: int32 ``(nnz,)`` postsynaptic indices.
      weight: ``(nnz,)`` values per synapse, or ``None``.
      n_pre: number of presynaptic neurons (static).
      n_post: number of postsynaptic neurons (static).

    Example:
      >>> import jax
      >>> from jaxinit.topology import random_topology
      >>> conn = random_topology(jax.random.key(0), 100, n_syn=500)
      >>> conn.nnz, int(conn.out_degree().sum()), conn.to_dense().shape
      (500, 500, (100, 100))
    """

    pre: jax.Array
    post: jax.Array
    weight: jax.Array | None = None
    n_pre: int = dataclasses.field(default=0, metadata=dict(static=True))
    n_post: int = dataclasses.field(default=0, metadata=dict(static=True))

    @property
    def nnz(self) -> int:
        """Number of synapses."""
        return self.pre.shape[0]

    @property
    def indptr(self) -> jax.Array:
        """CSR row pointers by pre neuron: synapses of pre ``i`` are ``indptr[i]:indptr[i+1]``."""
        return jnp.searchsorted(self.pre, jnp.arange(self.n_pre + 1, dtype=jnp.int32)).astype(jnp.int32)

    def out_degree(self) -> jax.Array:
        """Synapses per pre neuron, ``(n_pre,)``."""
        return jnp.bincount(self.pre, length=self.n_pre)

    def in_degree(self) -> jax.Array:
        """Synapses per post neuron, ``(n_post,)``."""
        return jnp.bincount(self.post, length=self.n_post)

    def to_dense(self) -> jax.Array:
        """The ``(n_pre, n_post)`` matrix: weights (or ones) at the synapses, zeros elsewhere."""
        values = jnp.ones(self.nnz, jnp.float32) if self.weight is None else self.weight
        return jnp.zeros((self.n_pre, self.n_post), values.dtype).at[self.pre, self.post].set(values)

    def to_bcoo(self):
        """A ``jax.experimental.sparse.BCOO`` matrix ``(n_pre, n_post)``."""
        from jax.experimental import sparse

        values = jnp.ones(self.nnz, jnp.float32) if self.weight is None else self.weight
        indices = jnp.stack([self.pre, self.post], axis=1)
        return sparse.BCOO((values, indices), shape=(self.n_pre, self.n_post), indices_sorted=True, unique_indices=True)

    def to_scipy(self):
        """A ``scipy.sparse.csr_matrix`` ``(n_pre, n_post)`` (needs scipy)."""
        from scipy import sparse

        values = np.ones(self.nnz, np.float32) if self.weight is None else np.asarray(self.weight)
        return sparse.csr_matrix(
            (values, np.asarray(self.post), np.asarray(self.indptr)), shape=(self.n_pre, self.n_post)
        )


def empty(n_pre: int, n_post: int) -> Connectivity:
    """No synapses between ``n_pre`` and ``n_post`` neurons."""
    none = jnp.zeros(0, jnp.int32)
    return Connectivity(none, none, None, n_pre, n_post)

"""The registry of topology builders: every public rule with example arguments.

Contract tests iterate over ``BUILDERS``. A case says what the rule promises
(distinct pairs, autapses, an exact count), so the checks live in one place and every
new rule gets them by being added here.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from jaxinit import profiles
from jaxinit import topology as T


@dataclasses.dataclass(frozen=True)
class Builder:
    id: str
    build: Callable  # build(key, n) -> Connectivity, for a size n
    sizes: tuple = (40, 57)  # two sizes, for the size checks
    nnz: Callable | None = None  # the exact synapse count for size n, when the rule fixes it
    recurrent: bool = True  # pre and post are one population: no autapses
    distinct: bool = True  # no repeated (pre, post) pair
    vmap: bool = True  # runs under jax.vmap over keys
    jit: bool = True  # runs under jax.jit with a traced key (a random count needs a concrete one)
    empty: Callable | None = None  # build(key) of an empty request


def _positions(n):
    """``n`` points of a unit square lattice (fixed, so builds differ only by key)."""
    side = int(np.ceil(np.sqrt(n)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)
    return jnp.asarray(grid[:n], jnp.float32)


BUILDERS = [
    Builder(
        "random_topology",
        lambda key, n: T.random_topology(key, n, p=0.1),
        nnz=lambda n: round(0.1 * n * (n - 1)),
        empty=lambda key: T.random_topology(key, 10, n_syn=0),
    ),
    Builder(
        "random_topology-bipartite",
        lambda key, n: T.random_topology(key, n, n + 3, n_syn=3 * n),
        nnz=lambda n: 3 * n,
        recurrent=False,
        empty=lambda key: T.random_topology(key, 0, 5, n_syn=0),
    ),
    Builder(
        "random_topology-sparse-draws",
        lambda key, n: T.random_topology(key, n * 1000, n * 1000, n_syn=n),
        nnz=lambda n: n,
        recurrent=False,
    ),
    Builder(
        "random_topology-multapses",
        lambda key, n: T.random_topology(key, n, n_syn=4 * n, multapses=True),
        nnz=lambda n: 4 * n,
        distinct=False,
        empty=lambda key: T.random_topology(key, 10, n_syn=0, multapses=True),
    ),
    Builder(
        "pairwise_bernoulli",
        lambda key, n: T.pairwise_bernoulli(key, n, p=0.1),
        jit=False,
        vmap=False,
        empty=lambda key: T.pairwise_bernoulli(key, 10, p=0.0),
    ),
    Builder("one_to_one", lambda key, n: T.one_to_one(n), nnz=lambda n: n, recurrent=False),
    Builder("all_to_all", lambda key, n: T.all_to_all(n), nnz=lambda n: n * (n - 1)),
    Builder(
        "fixed_indegree-multapses",
        lambda key, n: T.fixed_indegree(key, n, None, 6, multapses=True),
        nnz=lambda n: 6 * n,
        distinct=False,
    ),
    Builder(
        "fixed_indegree",
        lambda key, n: T.fixed_indegree(key, n, None, 5),
        nnz=lambda n: 5 * n,
        empty=lambda key: T.fixed_indegree(key, 10, 0, 3),
    ),
    Builder(
        "fixed_outdegree",
        lambda key, n: T.fixed_outdegree(key, n, None, 4),
        nnz=lambda n: 4 * n,
        empty=lambda key: T.fixed_outdegree(key, 0, 10, 3),
    ),
    Builder(
        "fixed_indegree-bipartite-dense",
        lambda key, n: T.fixed_indegree(key, n, n + 1, n - 2),
        nnz=lambda n: (n + 1) * (n - 2),
        recurrent=False,
    ),
    Builder(
        "distance_topology",
        lambda key, n: T.distance_topology(key, _positions(n), profile=profiles.gaussian(3.0), k=4),
        nnz=lambda n: 4 * n,
    ),
    Builder(
        "excitatory_inhibitory",
        lambda key, n: T.excitatory_inhibitory(key, n, p_exc=0.1, p_inh=0.2),
        sizes=(50, 60),
        nnz=lambda n: round(0.1 * round(0.8 * n) * (n - 1)) + round(0.2 * (n - round(0.8 * n)) * (n - 1)),
    ),
    Builder("ring", lambda key, n: T.ring(n, 3), nnz=lambda n: 6 * n, empty=lambda key: T.ring(0, 0)),
    Builder(
        "ring-forward",
        lambda key, n: T.ring(n, n - 2, bidirectional=False),
        nnz=lambda n: n * (n - 2),
        empty=lambda key: T.ring(7, 0, bidirectional=False),
    ),
    Builder(
        "grid-von_neumann-periodic",
        lambda key, n: T.grid((4, n // 4), periodic=True),
        nnz=lambda n: 4 * 4 * (n // 4),
        empty=lambda key: T.grid((0, 5)),
    ),
    Builder("grid-moore-3d", lambda key, n: T.grid((2, 3, n // 6), "moore")),
    Builder(
        "small_world",
        lambda key, n: T.small_world(key, n, 4, 0.3),
        nnz=lambda n: 4 * n,
        empty=lambda key: T.small_world(key, 10, 0, 0.5),
    ),
    Builder("small_world-dense", lambda key, n: T.small_world(key, n, n // 2, 0.9), nnz=lambda n: n * (n // 2)),
    Builder(
        "scale_free",
        lambda key, n: T.scale_free(key, n, 3),
        nnz=lambda n: 2 * 3 * (n - 3),
        empty=lambda key: T.scale_free(key, 10, 0),
    ),
    Builder(
        "regular",
        lambda key, n: T.regular(key, n, 3),
        nnz=lambda n: 3 * n,
        empty=lambda key: T.regular(key, 10, 0),
    ),
    Builder("regular-dense", lambda key, n: T.regular(key, n, n - 4), nnz=lambda n: n * (n - 4)),
    Builder(
        "stochastic_block",
        lambda key, n: T.stochastic_block(key, [n // 2, n - n // 2], [[0.3, 0.05], [0.1, 0.2]]),
        jit=False,
        vmap=False,
        empty=lambda key: T.stochastic_block(key, [5, 5], [[0.0, 0.0], [0.0, 0.0]]),
    ),
]

BUILDERS += [
    Builder(
        "distance_probability",
        lambda key, n: T.distance_probability(key, _positions(n), profile=profiles.gaussian(2.0, max_distance=3.0)),
        jit=False,
        vmap=False,
        empty=lambda key: T.distance_probability(key, jnp.zeros((0, 2)), profile=profiles.gaussian(1.0)),
    ),
    Builder(
        "distance_probability-bipartite-streaming",
        lambda key, n: T.distance_probability(
            key, _positions(n), _positions(n + 3) + 0.5, profile=profiles.gaussian(2.0)
        ),
        recurrent=False,
        jit=False,
        vmap=False,
    ),
    Builder(
        "kernel_connectivity",
        lambda key, n: T.kernel_connectivity(_positions(n), kernel=profiles.gaussian(1.0), radius=2.0),
        jit=False,
        vmap=False,
        empty=lambda key: T.kernel_connectivity(jnp.zeros((0, 2)), kernel=profiles.gaussian(1.0), radius=1.0),
    ),
]


def _two_populations(key, n):
    """E and I populations of one network: fused multapse draws and a built fixed in-degree."""
    rule = functools.partial(T.random_topology, n_syn=3 * n, multapses=True)
    indegree = T.projection(functools.partial(T.fixed_indegree, k=2), weight=0.5)
    table = [[T.projection(rule, weight=1.0), indegree], [T.projection(rule, weight=-2.0), None]]
    return T.network(key, [n, n // 2], table)


BUILDERS += [
    Builder(
        "network",
        _two_populations,
        nnz=lambda n: 3 * n + 2 * (n // 2) + 3 * n,
        distinct=False,
        jit=False,
        vmap=False,
    ),
]

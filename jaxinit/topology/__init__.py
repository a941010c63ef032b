"""Sparse connectivity: exact, uniform, jittable, and never an ``n_pre x n_post`` array.

Builders return a :class:`Connectivity` (sorted coordinate lists, a pytree). One
private module per family of rules, over one shared sampling core:

* ``_connectivity``: the :class:`Connectivity` type and its conversions;
* ``_sampling``: the exact k-subset sampler, block loops and counting sorts;
* ``_random``: random and degree rules (:func:`random_topology`, :func:`fixed_indegree`,
  :func:`fixed_outdegree`, each with ``multapses=``);
* ``_counts``: count rules (:func:`pairwise_bernoulli`, :func:`one_to_one`,
  :func:`all_to_all`) and the size-generic kernels for draws with replacement;
* ``_spatial``: distance rules (:func:`distance_topology`);
* ``_proximity``: rules by proximity through spatial cells (:func:`distance_probability`,
  :func:`kernel_connectivity`), over ``_cells`` (the cell lists and the compiled pair loop) and
  ``_thinning`` (distance probabilities visited at the rate of a bound);
* ``_graphs``: lattices and graph models (:func:`ring`, :func:`grid`, :func:`small_world`,
  :func:`scale_free`, :func:`regular`, :func:`stochastic_block`);
* ``_algebra``: set algebra (:func:`union`, :func:`intersection`, :func:`difference`);
* ``_values``: values per synapse (:func:`synapse_values`, :func:`with_weights`,
  :func:`with_delays`, :func:`synapse_distances`);
* ``_ei``: excitatory/inhibitory builders (:func:`excitatory_inhibitory`,
  :func:`balanced_ei_network`);
* ``_network``: networks of populations (:func:`network`, :func:`projection`,
  :func:`population_of`);
* ``_export``: hand-off to simulators (:func:`to_nest`, :func:`to_brian2`,
  :func:`to_brainevent`; the simulators are optional, ``pip install "jaxinit[sim]"``)
  and networks saved to a file (:func:`save`, :func:`load`);
* ``_shard``: builds split over devices (:func:`shard`, and every builder's ``out_sharding=``);
* ``_checks`` and ``_memory``: argument checks and the memory guard.

Sizes and synapse counts stay below 2³¹ (indices are int32) while the pair space may
be far larger. Builders refuse, before any work, a request whose arrays would not fit:
the limit is the environment variable ``JAXINIT_MEMORY_LIMIT`` when set (a size such
as ``"16GB"``, or ``"off"``), else the device's ``bytes_limit`` (GPU, TPU), else the
machine's physical memory.
"""

from jaxinit.topology._algebra import difference as difference
from jaxinit.topology._algebra import intersection as intersection
from jaxinit.topology._algebra import union as union
from jaxinit.topology._connectivity import Connectivity as Connectivity
from jaxinit.topology._counts import all_to_all as all_to_all
from jaxinit.topology._counts import one_to_one as one_to_one
from jaxinit.topology._counts import pairwise_bernoulli as pairwise_bernoulli
from jaxinit.topology._ei import balanced_ei_network as balanced_ei_network
from jaxinit.topology._ei import excitatory_inhibitory as excitatory_inhibitory
from jaxinit.topology._export import load as load
from jaxinit.topology._export import save as save
from jaxinit.topology._export import to_brainevent as to_brainevent
from jaxinit.topology._export import to_brian2 as to_brian2
from jaxinit.topology._export import to_nest as to_nest
from jaxinit.topology._graphs import grid as grid
from jaxinit.topology._graphs import regular as regular
from jaxinit.topology._graphs import ring as ring
from jaxinit.topology._graphs import scale_free as scale_free
from jaxinit.topology._graphs import small_world as small_world
from jaxinit.topology._graphs import stochastic_block as stochastic_block
from jaxinit.topology._network import Projection as Projection
from jaxinit.topology._network import network as network
from jaxinit.topology._network import population_of as population_of
from jaxinit.topology._network import projection as projection
from jaxinit.topology._proximity import distance_probability as distance_probability
from jaxinit.topology._proximity import kernel_connectivity as kernel_connectivity
from jaxinit.topology._random import fixed_indegree as fixed_indegree
from jaxinit.topology._random import fixed_outdegree as fixed_outdegree
from jaxinit.topology._random import random_topology as random_topology
from jaxinit.topology._shard import shard as shard
from jaxinit.topology._spatial import distance_topology as distance_topology
from jaxinit.topology._values import synapse_distances as synapse_distances
from jaxinit.topology._values import synapse_values as synapse_values
from jaxinit.topology._values import with_delays as with_delays
from jaxinit.topology._values import with_weights as with_weights

__all__ = [
    "Connectivity",
    "Projection",
    "all_to_all",
    "balanced_ei_network",
    "difference",
    "distance_probability",
    "distance_topology",
    "excitatory_inhibitory",
    "fixed_indegree",
    "fixed_outdegree",
    "grid",
    "intersection",
    "kernel_connectivity",
    "load",
    "network",
    "one_to_one",
    "pairwise_bernoulli",
    "population_of",
    "projection",
    "random_topology",
    "regular",
    "ring",
    "save",
    "scale_free",
    "shard",
    "small_world",
    "stochastic_block",
    "synapse_distances",
    "synapse_values",
    "to_brainevent",
    "to_brian2",
    "to_nest",
    "union",
    "with_delays",
    "with_weights",
]

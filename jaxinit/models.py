"""Published network models, built in one call.

:func:`potjans_diesmann` builds the cortical microcircuit of Potjans & Diesmann (2014,
Cerebral Cortex 24:785), the field's standard benchmark model, with the parameters of
NEST's ``Potjans_2014`` example: 8 populations (L2/3, L4, L5, L6, each excitatory and
inhibitory), 77,169 neurons and about 3·10⁸ synapses at full scale.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

from jax.sharding import NamedSharding
from jax.typing import ArrayLike

from jaxinit import _core, combinators
from jaxinit.combinators import clip
from jaxinit.distributions import normal
from jaxinit.topology import Connectivity, network, projection, random_topology

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
"""The microcircuit's populations, in the order of the network's neuron indices."""

FULL_SIZES = (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)
"""Neurons per population at full scale."""

CONNECTION_PROBABILITIES = (  # [target][source], as in the paper's Table 5
    (0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0),
    (0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0),
    (0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0),
    (0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0),
    (0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0),
    (0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0),
    (0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252),
    (0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443),
)
"""Connection probabilities ``[target][source]`` between the full-scale populations."""

PSC_MEAN = 87.81  # pA: the postsynaptic current whose PSP peaks at 0.15 mV
PSC_RELATIVE_SD = 0.1
INHIBITORY_GAIN = -4.0
DELAY_MEANS = (1.5, 0.75)  # ms: excitatory, inhibitory sources
DELAY_RELATIVE_SD = 0.5
RESOLUTION = 0.1  # ms: delays are clipped here, NEST's default resolution


class Microcircuit(NamedTuple):
    """What :func:`potjans_diesmann` returns."""

    conn: Connectivity
    """The network: pre and post over all neurons, weights in pA, delays in ms."""
    sizes: tuple[int, ...]
    """Neurons per population (in :data:`POPULATIONS` order)."""
    synapses: tuple[tuple[int, ...], ...]
    """Synapses per projection ``[target][source]``."""


def microcircuit_sizes(scale: float = 1.0, k_scale: float | None = None) -> tuple[tuple[int, ...], tuple]:
    """The populations' sizes and the synapse count of every projection at a scale.

    The counts follow NEST's example: a projection of connection probability ``p``
    between full-scale populations of ``N_pre`` and ``N_post`` neurons has ``K =
    log(1 - p) / log(1 - 1 / (N_pre · N_post))`` synapses (drawn with multapses, this
    gives each pair a synapse with probability ``p``), scaled by ``scale · k_scale``.

    Args:
      scale: the fraction of neurons (NEST's ``N_scaling``), in (0, 1].
      k_scale: the fraction of in-degrees (NEST's ``K_scaling``), in (0, 1]; ``None``
        uses ``scale``.

    Returns:
      ``(sizes, synapses)``: neurons per population and synapses ``[target][source]``.

    Raises:
      ValueError: a scale outside (0, 1].

    Example:
      >>> sizes, synapses = microcircuit_sizes(0.1)
      >>> sizes
      (2068, 583, 2192, 548, 485, 106, 1440, 295)
      >>> synapses[0][0]
      454998
    """
    k_scale = scale if k_scale is None else k_scale
    for param, value in (("scale", scale), ("k_scale", k_scale)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            raise ValueError(f"potjans_diesmann: {param} must be a number in (0, 1], got {value!r}")
    sizes = tuple(int(round(n * scale)) for n in FULL_SIZES)
    synapses = []
    for target, row in enumerate(CONNECTION_PROBABILITIES):
        counts = []
        for source, p in enumerate(row):
            pairs = FULL_SIZES[source] * FULL_SIZES[target]
            full = math.log(1.0 - p) / math.log1p(-1.0 / pairs)
            counts.append(int(round(full * scale * k_scale)))
        synapses.append(tuple(counts))
    return sizes, tuple(synapses)


def potjans_diesmann(
    key: ArrayLike, scale: float = 1.0, k_scale: float | None = None, *, out_sharding: NamedSharding | None = None
) -> Microcircuit:
    """The Potjans & Diesmann (2014) cortical microcircuit, built in one call.

    Each projection draws its synapse count (see :func:`microcircuit_sizes`) as
    independent uniform pairs with multapses (NEST's ``fixed_total_number``), with
    autapses allowed as in NEST's example. Weights are normal: mean 87.81 pA (twice that
    from L4E to L2/3E, −4 times it from inhibitory sources), relative sd 0.1, clipped at
    0 so that every synapse keeps its source's sign (Dale's principle). Delays are
    normal, 1.5 ± 0.75 ms from excitatory and 0.75 ± 0.375 ms from inhibitory sources,
    clipped at 0.1 ms (NEST's example redraws instead of clipping; at most 3 % of delays
    differ). Weights are not rescaled for ``k_scale < 1`` (NEST compensates with
    ``1/sqrt(K_scaling)`` and DC input; do so in the simulation if needed).

    Args:
      key: a PRNG key.
      scale: the fraction of neurons, in (0, 1].
      k_scale: the fraction of in-degrees, in (0, 1]; ``None`` uses ``scale`` (about
        ``3·10⁸ · scale²`` synapses).
      out_sharding: a ``NamedSharding(mesh, PartitionSpec(axis))``: the synapses split
        over its devices, each device drawing its own slice (see
        :func:`~jaxinit.topology.network`); the same network as unsharded.

    Returns:
      A :class:`Microcircuit` ``(conn, sizes, synapses)``; neuron ``i`` is in population
      ``population_of(sizes, i)`` (see :data:`POPULATIONS`).

    Raises:
      ValueError: a scale outside (0, 1].
      MemoryError: the network would not fit in memory.

    Example:
      >>> import jax
      >>> model = potjans_diesmann(jax.random.key(0), scale=0.02)
      >>> model.sizes
      (414, 117, 438, 110, 97, 21, 288, 59)
      >>> model.conn.nnz == sum(map(sum, model.synapses))
      True
    """
    sizes, synapses = microcircuit_sizes(scale, k_scale)
    key = _core.check_key("potjans_diesmann", key)
    table: list[list[Any]] = [[None] * 8 for _ in range(8)]
    for source in range(8):
        inhibitory = source % 2 == 1
        delay_mean = DELAY_MEANS[inhibitory]
        delay = clip(normal(delay_mean, delay_mean * DELAY_RELATIVE_SD), low=RESOLUTION)
        for target in range(8):
            count = synapses[target][source]
            if count == 0:
                continue
            mean = PSC_MEAN * (2.0 if (target, source) == (0, 2) else 1.0) * (INHIBITORY_GAIN if inhibitory else 1.0)
            # one structure for every projection's weight (the sign a scale): one grouped draw
            magnitude = clip(normal(abs(mean), abs(mean) * PSC_RELATIVE_SD), low=0.0)
            weight = combinators.scale(magnitude, -1.0 if inhibitory else 1.0)
            rule = functools.partial(random_topology, n_syn=count, multapses=True, allow_autapse=True)
            table[source][target] = projection(rule, weight=weight, delay=delay)
    conn = network(key, sizes, table, out_sharding=out_sharding)
    return Microcircuit(conn, sizes, synapses)

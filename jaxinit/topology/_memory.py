"""The memory guard: refuse, with an estimate, a request whose arrays cannot fit.

The limit is deterministic (it does not depend on what other processes use at the
moment) and device-aware:

1. the environment variable ``JAXINIT_MEMORY_LIMIT``, when set: a size in bytes
   (``"8e9"``, ``"512MiB"``, ``"16GB"``), or ``"off"`` to turn the guard off;
2. else the default device's ``memory_stats()["bytes_limit"]`` (GPUs and TPUs);
3. else the machine's total physical memory, read once.
"""

from __future__ import annotations

import functools
import os
import re

import jax

# bytes a synapse costs at the peak of each builder (XLA's memory analysis, plus a margin)
BYTES_PER_SYNAPSE = {
    "random_topology": 9,
    "fixed_indegree": 14,
    "fixed_outdegree": 9,
    "distance_topology": 20,
    "excitatory_inhibitory": 23,
    "balanced_ei_network": 13,
    "synapse_values": 16,  # 4 for the values, 12 for the random generator's temporaries
    "synapse_values in blocks": 4,
    "network": 16,  # the output (pairs, weight, delay); plus each part's working slots, see _network
}
ENV = "JAXINIT_MEMORY_LIMIT"
_SUFFIXES = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9}
_SUFFIXES |= {"t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _parse(text: str) -> int | None:
    text = text.strip().lower()
    if text in ("off", "none", "0", "false", "no"):
        return None
    match = re.fullmatch(r"([0-9.]+(?:e[0-9]+)?)\s*([a-z]*)", text)
    if match is None or match.group(2) not in _SUFFIXES:
        raise ValueError(f"{ENV} must be a size in bytes such as '8e9', '512MiB' or '16GB', or 'off', got {text!r}")
    return int(float(match.group(1)) * _SUFFIXES[match.group(2)])


@functools.cache
def _device_limit() -> tuple[int | None, str]:
    device = jax.devices()[0]
    try:
        stats = device.memory_stats()
    except Exception:  # backends without memory statistics
        stats = None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"]), f"the {device.platform} device's bytes_limit"
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "the machine's physical memory"
    except (ValueError, OSError, AttributeError):
        return None, "no limit known"


def memory_limit() -> tuple[int | None, str]:
    """The byte limit builders check their estimates against, and where it comes from
    (``None``: no check)."""
    text = os.environ.get(ENV)
    if text is not None:
        return _parse(text), ENV
    return _device_limit()


def check_memory(
    name: str,
    nnz: int,
    estimate: str | None = None,
    advice: str = "ask for fewer synapses or build the network in parts",
    extra: int = 0,
    extra_what: str = "",
) -> None:
    """Refuses, with the estimate, a request whose arrays cannot fit: ``nnz`` synapses at
    the builder's bytes per synapse, plus ``extra`` bytes (``extra_what`` says for what)."""
    per_synapse = BYTES_PER_SYNAPSE[estimate or name]
    need = nnz * per_synapse + extra
    limit, source = memory_limit()
    if limit is not None and need > limit:
        parts = f"~{per_synapse} bytes each" + (f", plus {extra / 2**30:.1f} GiB for {extra_what}" if extra else "")
        raise MemoryError(
            f"{name}: {nnz:,} synapses need about {need / 2**30:.1f} GiB while building ({parts}), more than "
            f"the {limit / 2**30:.1f} GiB limit ({source}); {advice} (the limit: set {ENV} to a size, "
            "or to 'off' to skip this check)"
        )

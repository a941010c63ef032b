"""The memory guard: refuse, with an estimate, a request whose arrays cannot fit."""

from __future__ import annotations

import os

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
}


def _available_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(
    name: str,
    nnz: int,
    estimate: str | None = None,
    advice: str = "ask for fewer synapses or build the network in parts",
) -> None:
    """Refuses, with the estimate, a request whose arrays cannot fit in memory."""
    per_synapse = BYTES_PER_SYNAPSE[estimate or name]
    need = nnz * per_synapse
    available = _available_bytes()
    if available is not None and need > available:
        raise MemoryError(
            f"{name}: {nnz:,} synapses need about {need / 2**30:.1f} GiB while building "
            f"(~{per_synapse} bytes each), but only {available / 2**30:.1f} GiB is available; {advice}"
        )

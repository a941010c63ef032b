"""The Potjans & Diesmann (2014) cortical microcircuit, built by jaxinit in one call.

Run: ``python examples/microcircuit.py [--scale 0.1]`` prints the populations, the
synapse counts, the build time and the XLA compilations.

``--simulate MS`` (needs ``nest-simulator``) also simulates the circuit in NEST for
``MS`` milliseconds, ``--trials`` times with the connectivity built by jaxinit and
``--trials`` times with NEST's own ``fixed_total_number`` connectivity (same weights,
delays, neurons and Poisson background), and prints each population's firing rate:
mean and spread over the trials, for both. ``--json`` prints the rates as JSON (the
validation test reads them).
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

from jaxinit import models, topology

# NEST's example: current-based LIF neurons with exponential synaptic currents
NEURON = {
    "C_m": 250.0,
    "tau_m": 10.0,
    "tau_syn_ex": 0.5,
    "tau_syn_in": 0.5,
    "t_ref": 2.0,
    "E_L": -65.0,
    "V_reset": -65.0,
    "V_th": -50.0,
}
K_EXTERNAL = (1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100)  # Poisson inputs per neuron
BACKGROUND_RATE = 8.0  # Hz per input


def build(scale: float, seed: int = 0):
    compiles = []

    def listener(event, duration, **_):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    start = time.perf_counter()
    model = models.potjans_diesmann(jax.random.key(seed), scale)
    jax.block_until_ready(model.conn.weight)
    seconds = time.perf_counter() - start
    jax.monitoring.unregister_event_duration_listener(listener)
    return model, seconds, len(compiles)


def simulate(model, ms: float, own_connectivity: bool, seed: int, threads: int = 2) -> list[float]:
    """Firing rate (spikes/s) of each population in NEST, with jaxinit's connectivity or NEST's."""
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.SetKernelStatus({"local_num_threads": threads, "rng_seed": seed + 1, "resolution": models.RESOLUTION})
    pops = [nest.Create("iaf_psc_exp", n, params=NEURON) for n in model.sizes]
    for pop in pops:
        pop.V_m = nest.random.normal(-58.0, 10.0)
    everyone = pops[0]
    for pop in pops[1:]:
        everyone = everyone + pop
    if own_connectivity:
        for target in range(8):
            for source in range(8):
                count = model.synapses[target][source]
                if count == 0:
                    continue
                inhibitory = source % 2 == 1
                mean = models.PSC_MEAN * (2.0 if (target, source) == (0, 2) else 1.0)
                mean *= models.INHIBITORY_GAIN if inhibitory else 1.0
                weight = nest.random.normal(mean, abs(mean) * models.PSC_RELATIVE_SD)
                weight = nest.math.min(weight, 0.0) if inhibitory else nest.math.max(weight, 0.0)
                d = models.DELAY_MEANS[inhibitory]
                delay = nest.math.max(nest.random.normal(d, d * models.DELAY_RELATIVE_SD), models.RESOLUTION)
                rule = {"rule": "fixed_total_number", "N": count, "allow_autapses": True, "allow_multapses": True}
                nest.Connect(pops[source], pops[target], rule, {"weight": weight, "delay": delay})
    else:
        topology.to_nest(model.conn, everyone, everyone, clip_delays=True)
    for pop, k in zip(pops, K_EXTERNAL, strict=True):
        background = nest.Create("poisson_generator", params={"rate": BACKGROUND_RATE * k})
        nest.Connect(background, pop, syn_spec={"weight": models.PSC_MEAN, "delay": 1.5})
    recorder = nest.Create("spike_recorder")
    nest.Connect(everyone, recorder)
    nest.Simulate(ms)
    senders = np.asarray(recorder.get("events")["senders"])
    first = int(everyone.tolist()[0])
    population = np.asarray(topology.population_of(model.sizes, senders - first))
    counts = np.bincount(population, minlength=8)
    return [float(c / n / (ms / 1000.0)) for c, n in zip(counts, model.sizes, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1, help="fraction of neurons and in-degrees (default 0.1)")
    parser.add_argument("--simulate", type=float, default=0.0, metavar="MS", help="simulate in NEST for MS ms")
    parser.add_argument("--trials", type=int, default=3, help="simulations per connectivity (default 3)")
    parser.add_argument("--json", action="store_true", help="print the rates as JSON")
    args = parser.parse_args()

    model, seconds, compiles = build(args.scale)
    if not args.json:
        print(f"Potjans-Diesmann microcircuit at scale {args.scale}: {sum(model.sizes):,} neurons")
        for name, size, row in zip(models.POPULATIONS, model.sizes, model.synapses, strict=True):
            print(f"  {name:>5}: {size:6,} neurons, {sum(row):10,} incoming synapses")
        print(f"{model.conn.nnz:,} synapses in {seconds:.2f} s ({compiles} XLA compilations)")
    if args.simulate <= 0:
        return
    rates = {"jaxinit": [], "nest": []}
    for trial in range(args.trials):
        trial_model = build(args.scale, seed=100 + trial)[0]
        rates["jaxinit"].append(simulate(trial_model, args.simulate, own_connectivity=False, seed=trial))
        rates["nest"].append(simulate(model, args.simulate, own_connectivity=True, seed=trial))
    if args.json:
        print(json.dumps(rates))
        return
    print(f"firing rates (spikes/s) over {args.simulate:.0f} ms, mean ± sd over {args.trials} trials:")
    for p, name in enumerate(models.POPULATIONS):
        cells = [f"{np.mean([r[p] for r in rates[k]]):6.2f} ± {np.std([r[p] for r in rates[k]]):5.2f}" for k in rates]
        print(f"  {name:>5}: jaxinit {cells[0]}   NEST {cells[1]}")


if __name__ == "__main__":
    main()

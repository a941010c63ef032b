"""End-to-end validation: the microcircuit simulated in NEST with jaxinit's connectivity
fires like the one NEST connects itself (slow: about 5 minutes on 2 cores)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "microcircuit.py"


@pytest.mark.slow
def test_firing_rates_with_jaxinit_connectivity_match_nests_own():
    pytest.importorskip("nest")
    args = [sys.executable, str(EXAMPLE), "--scale", "0.1", "--simulate", "500", "--trials", "3", "--json"]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    rates = json.loads(out.stdout.strip().splitlines()[-1])
    ours, theirs = np.asarray(rates["jaxinit"]), np.asarray(rates["nest"])  # (trials, populations)
    # each population's mean rate over 3 trials differs by less than 4 standard errors of the
    # difference (run-to-run spread of both), plus 0.2 spikes/s for populations that barely vary
    spread = np.sqrt(ours.var(axis=0, ddof=1) / len(ours) + theirs.var(axis=0, ddof=1) / len(theirs))
    difference = np.abs(ours.mean(axis=0) - theirs.mean(axis=0))
    assert (difference < 4 * spread + 0.2).all(), (ours.mean(axis=0), theirs.mean(axis=0), spread)

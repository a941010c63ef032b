"""The demo, ``python -m jaxinit``, as a user runs it.

The network demo's figures are checked against laws derived here, apart from the demo's own
code: positions uniform on a torus whose side is at least twice the reach, so each pair is a
synapse with probability ``q = p0·2πσ²(1 − exp(−R²/2σ²)) / area`` wherever one of its
neurons lies.
"""

import math
import re
import subprocess
import sys

import pytest

from jaxinit.__main__ import main
from tests.cases import DISTRIBUTION_CASES

# (p0, sigma µm, weight mean pA, weight std pA, sign) per presynaptic type, as the demo states them
LAWS = {"E": (0.3, 75.0, 100.0, 100.0, 1.0), "I": (0.6, 60.0, 400.0, 400.0, -1.0)}
REACH_SIGMAS, SYNAPTIC_DELAY, VELOCITY = 3.0, 0.5, 0.2  # -, ms, mm/ms
# what `pip install jaxinit` leaves out: the extras and the test tools (scipy comes with jax)
OPTIONAL = ("matplotlib", "nest", "brian2", "brainevent", "numba", "braintools", "brainpy", "brainstate")
OPTIONAL += ("equinox", "flax", "optax", "pytest", "hypothesis", "nbclient", "networkx", "igraph")
# within the same process: first with the optional packages absent (as far as importlib can
# tell: import fails, find_spec returns None), then again with them, drawing the figure
SCRIPT = """
import sys
for name in {optional!r}:
    sys.modules[name] = None
from jaxinit.__main__ import main
main({args!r})
loaded = [k for k, v in sys.modules.items() if v is not None and k.split(".")[0] in {optional!r}]
print("optional modules loaded:", sorted(loaded))
for name in {optional!r}:
    del sys.modules[name]
print("=== with the extras")
main({args!r} + ["--plot", {figure!r}])
"""


def _run(*args):
    return subprocess.run([sys.executable, "-m", "jaxinit", *args], capture_output=True, text=True, timeout=300)


def _count_law(name, n_pre, n_post, area):
    """Mean and sd of a projection's synapse count; ``n_post=None``: recurrent, no autapses.

    Pairs sharing one neuron are uncorrelated (a pair's chance is q wherever that neuron is);
    in a recurrent population (i, j) and (j, i) share their distance: covariance E[p²] − q²."""
    p0, sigma, *_ = LAWS[name]
    reach = REACH_SIGMAS * sigma
    q = p0 * 2 * math.pi * sigma**2 * (1 - math.exp(-(reach**2) / (2 * sigma**2))) / area
    if n_post is not None:
        return n_pre * n_post * q, math.sqrt(n_pre * n_post * q * (1 - q))
    pairs = n_pre * (n_pre - 1)
    q2 = p0**2 * math.pi * sigma**2 * (1 - math.exp(-(reach**2) / sigma**2)) / area
    return pairs * q, math.sqrt(pairs * (q * (1 - q) + q2 - q * q))


def _delay_law(name):
    """Mean, sd, lowest and highest delay: d0 + r / v, r distributed as r·exp(−r²/2σ²) on [0, R]."""
    sigma = LAWS[name][1]
    x = REACH_SIGMAS
    mass = 1 - math.exp(-x * x / 2)
    r1 = sigma * (math.sqrt(math.pi / 2) * math.erf(x / math.sqrt(2)) - x * math.exp(-x * x / 2)) / mass
    r2 = 2 * sigma**2 * (1 - (1 + x * x / 2) * math.exp(-x * x / 2)) / mass
    to_ms = 1 / (1000 * VELOCITY)
    return (
        SYNAPTIC_DELAY + r1 * to_ms,
        math.sqrt(r2 - r1 * r1) * to_ms,
        SYNAPTIC_DELAY,
        SYNAPTIC_DELAY + x * sigma * to_ms,
    )


def _rows(section):
    found = re.finditer(r"^(E|I) synapses((?:\s+-?[\d.]+)+)", section, re.M)
    return {m[1]: [float(x) for x in m[2].split()] for m in found}


def test_network_demo_matches_its_laws_without_the_optional_packages(tmp_path):
    """One process: ``pip install jaxinit``'s packages alone build the demo's network, whose
    synapse counts, weights and delays follow their laws (counts within 4.5 sd: two-sided normal
    tail 7·10⁻⁶ per projection; means within 5 standard errors); then, with matplotlib, the
    same network again (no new XLA compilation) and its figure."""
    n, side, seed = 2000, 500.0, 3
    args = ["--neurons", str(n), "--side", str(side), "--seed", str(seed)]
    figure = tmp_path / "network.png"
    script = SCRIPT.format(optional=OPTIONAL, args=args, figure=str(figure))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    alone, again = result.stdout.split("=== with the extras")
    assert "optional modules loaded: []" in alone

    sizes = {"E": round(0.8 * n), "I": n - round(0.8 * n)}
    counts = {}
    for m in re.finditer(r"^(E|I) -> (E|I)\s+([\d,]+)\s+([\d,]+) ± ([\d,]+)\s+([+-][\d.]+)", alone, re.M):
        source, target = m[1], m[2]
        count, printed_mean, printed_sd = (int(m[k].replace(",", "")) for k in (3, 4, 5))
        mean, sd = _count_law(source, sizes[source], None if source == target else sizes[target], side * side)
        assert abs(printed_mean - mean) <= 1 and abs(printed_sd - sd) <= 1, (m[0], mean, sd)
        assert abs(count - mean) < 4.5 * sd, (m[0], mean, sd)
        counts[source, target] = count
    assert len(counts) == 4, alone
    assert re.search(r"^total\s+([\d,]+)", alone, re.M)[1] == f"{sum(counts.values()):,}"

    weights_section, delays_section = alone.split("weights (pA)")[1].split("delays (ms)")
    weights, delays = _rows(weights_section), _rows(delays_section)
    for name, (_, _, w_mean, w_std, sign) in LAWS.items():
        synapses = counts[name, "E"] + counts[name, "I"]
        mean, exact_mean, std, exact_std, low, high = weights[name]
        assert exact_mean == sign * w_mean and exact_std == w_std
        assert abs(mean - sign * w_mean) < 5 * w_std / math.sqrt(synapses)
        # the sample variance's standard error from the lognormal's fourth central moment
        s2 = math.log1p((w_std / w_mean) ** 2)
        kurtosis = math.exp(4 * s2) + 2 * math.exp(3 * s2) + 3 * math.exp(2 * s2) - 3
        assert abs(std**2 - w_std**2) < 5 * w_std**2 * math.sqrt((kurtosis - 1) / synapses)
        assert (low > 0 and high > 0) if sign > 0 else (low < 0 and high < 0)  # Dale's principle
        d_mean, d_sd, d_low, d_high = _delay_law(name)
        mean, exact, lowest, highest = delays[name][:4]
        assert abs(exact - d_mean) < 1e-3
        assert abs(mean - d_mean) < 5 * d_sd / math.sqrt(synapses) + 5e-4  # + the printed rounding
        assert d_low - 1e-3 <= lowest and highest <= d_high + 1e-3

    build = re.search(r"build: ([\d.]+) s = ([\d.]+) s compiling \((\d+) XLA programs\)", alone)
    assert build and int(build[3]) > 0 and float(build[2]) <= float(build[1])
    projections = re.compile(r"^(?:E|I) -> .*$", re.M)
    assert projections.findall(again) == projections.findall(alone)  # the same key, the same network
    assert "compiling (0 XLA programs)" in again, again
    assert figure.stat().st_size > 20_000 and figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_prints_every_distribution_with_units_and_timing():
    result = _run("--distributions", "--n", "20000", "--seed", "3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in {c.id for c in DISTRIBUTION_CASES} - {"zeros", "ones"}:
        assert f"\n{name} " in out, name
    for unit in ("nS", "mV", "ms", "Hz"):
        assert f" {unit} " in out
    assert "total time:" in out and "seed 3" in out


def test_demo_help_describes_the_model_and_options():
    result = _run("--help")  # the module entry point, in its own process
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for option in ("--neurons", "--side", "--seed", "--warm", "--plot", "--distributions", "--n"):
        assert option in text
    for fact in ("80% excitatory", "p0·exp(-d²/2σ²)", "Dale's principle", "pA", "mm/ms", "jaxinit[plot]"):
        assert fact in text, fact


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--distributions", "--n", "1"], "--n must be >= 2"),
        (["--neurons", "5"], "--neurons must be in [10, 2^31)"),
        (["--side", "0"], "--side must be a finite length >= 450 µm"),
        (["--side", "nan"], "--side must be a finite length"),
        (["--neurons", "1000000000"], "nothing was built"),
    ],
)
def test_demo_refuses_bad_arguments_before_building(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err, err


def test_demo_refuses_a_plot_into_a_missing_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--neurons", "1000", "--plot", str(tmp_path / "no" / "such" / "dir" / "f.png")])
    captured = capsys.readouterr()
    assert "does not exist" in captured.err and "synapses" not in captured.out

"""The demo, ``python -m jaxinit``, as a user runs it."""

import subprocess
import sys

from tests.cases import DISTRIBUTION_CASES


def _run(*args):
    return subprocess.run([sys.executable, "-m", "jaxinit", *args], capture_output=True, text=True, timeout=300)


def test_network_demo_summarises_synapses_weights_and_build_time(tmp_path):
    figure = tmp_path / "network.png"
    result = _run("--neurons", "3000", "--p", "0.01", "--seed", "2", "--plot", str(figure))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"synapses: {round(0.01 * 3000 * 2999):,}" in out
    assert "E -> all:" in out and "I -> all:" in out and " nS" in out
    assert "build: compile" in out and " run " in out
    assert figure.stat().st_size > 10_000 and figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_prints_every_distribution_with_units_and_timing():
    result = _run("--distributions", "--n", "20000", "--seed", "3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in {c.id for c in DISTRIBUTION_CASES} - {"zeros", "ones"}:
        assert f"\n{name} " in out, name
    for unit in ("nS", "mV", "ms", "Hz"):
        assert f" {unit} " in out
    assert "total time:" in out and "seed 3" in out


def test_demo_help_and_bad_arguments():
    help_text = _run("--help")
    assert help_text.returncode == 0
    for option in ("--neurons", "--p", "--seed", "--plot", "--distributions"):
        assert option in help_text.stdout
    bad = _run("--distributions", "--n", "1")
    assert bad.returncode != 0 and "--n must be >= 2" in bad.stderr
    bad = _run("--p", "1.5")
    assert bad.returncode != 0 and "--p must be in (0, 1]" in bad.stderr


def test_demo_refuses_bad_arguments_before_building(tmp_path):
    side = _run("--side", "0")
    assert side.returncode != 0 and "--side must be a finite length > 0" in side.stderr
    missing = _run("--neurons", "1000", "--plot", str(tmp_path / "no" / "such" / "dir" / "f.png"))
    assert missing.returncode != 0 and "does not exist" in missing.stderr and "synapses:" not in missing.stdout
    huge = _run("--neurons", "1000000000")
    assert huge.returncode != 0 and "GiB" in huge.stderr and "nothing was built" in huge.stderr

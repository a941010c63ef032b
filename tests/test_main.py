"""The demo, ``python -m jaxinit``, as a user runs it."""

import subprocess
import sys

from tests.cases import DISTRIBUTION_CASES


def _run(*args):
    return subprocess.run([sys.executable, "-m", "jaxinit", *args], capture_output=True, text=True, timeout=300)


def test_demo_prints_every_distribution_with_units_and_timing():
    result = _run("--n", "20000", "--seed", "3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in {c.id for c in DISTRIBUTION_CASES} - {"zeros", "ones"}:
        assert f"\n{name} " in out, name
    for unit in ("nS", "mV", "ms", "Hz"):
        assert f" {unit} " in out
    assert "total time:" in out and "seed 3" in out


def test_demo_help_and_bad_arguments():
    help_text = _run("--help")
    assert help_text.returncode == 0 and "--n" in help_text.stdout and "--seed" in help_text.stdout
    bad = _run("--n", "1")
    assert bad.returncode != 0 and "--n must be >= 2" in bad.stderr

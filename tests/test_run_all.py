"""benchmarks/run_all.py runs every benchmark script that writes RESULTS.md."""

import re
from pathlib import Path

import pytest

from benchmarks import run_all

BENCHMARKS = Path(run_all.__file__).resolve().parent


def _listed(capsys, *args):
    run_all.main(["--dry-run", *args])
    return [line.split() for line in capsys.readouterr().out.splitlines()]


def test_run_all_invokes_every_benchmark_script(capsys):
    scripts = {p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_") and p.name != "run_all.py"}
    writers = {p.name for p in BENCHMARKS.glob("*.py") if re.search(r"write_section\(\s*\"", p.read_text())}
    listed = _listed(capsys)
    invoked = {Path(cmd[1]).name for cmd in listed}
    assert writers <= scripts == invoked
    by_script = {Path(cmd[1]).name: cmd[2:] for cmd in listed}
    assert "--write" in by_script["microcircuit.py"] and "--quick" not in by_script["first_network.py"]


def test_run_all_quick_and_only(capsys):
    listed = _listed(capsys, "--quick", "--only", "first_network,microcircuit")
    assert [Path(cmd[1]).name for cmd in listed] == ["first_network.py", "microcircuit.py"]
    assert "--quick" in listed[0] and "--write" not in listed[1]
    with pytest.raises(SystemExit):
        run_all.main(["--dry-run", "--only", "no_such_benchmark"])
    assert "--only takes" in capsys.readouterr().err

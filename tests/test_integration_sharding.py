"""Sharded initialisation on a 4x2 mesh of emulated devices, in its own process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cases import CASES

ROOT = Path(__file__).resolve().parent.parent


def _check(every: int) -> None:
    flags = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XLA_FLAGS": flags}
    command = [sys.executable, "-m", "tests.sharded_check", str(every)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["ok", str(len(CASES[::every]))]


def test_every_third_initializer_shards_to_the_same_values():
    _check(3)


@pytest.mark.slow
def test_every_initializer_shards_to_the_same_values():
    _check(1)

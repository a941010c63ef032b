"""Shared by tests that need a fresh Python process (x64 mode must be set before JAX starts)."""

import os
import subprocess
import sys


def run_with_x64(script: str) -> str:
    """Runs ``script`` in a new interpreter with ``JAX_ENABLE_X64=1``; returns its stdout, failing on error."""
    env = {**os.environ, "JAX_ENABLE_X64": "1"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()

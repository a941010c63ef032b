"""Shared by tests: a fresh Python process (x64 mode must be set before JAX starts), and a
count of XLA compilations."""

import contextlib
import os
import subprocess
import sys

import jax


def run_with_x64(script: str) -> str:
    """Runs ``script`` in a new interpreter with ``JAX_ENABLE_X64=1``; returns its stdout, failing on error."""
    env = {**os.environ, "JAX_ENABLE_X64": "1"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@contextlib.contextmanager
def count_compilations():
    """Yields a list that collects one entry per XLA compilation inside the ``with`` block
    (``jax.monitoring``'s backend-compile events)."""
    counted = []

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            counted.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counted
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)

"""Shared measurement and reporting for the benchmark scripts.

Steady state and compile time are measured apart: the first call (trace, compile,
run) is reported as compile time; the median of the warm calls after it as run
time. Each script owns one section of RESULTS.md, between markers, and rewrites
only that section.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import jax

RESULTS = Path(__file__).with_name("RESULTS.md")


def time_calls(fns: list[Callable[[], object]], runs: int = 7) -> list[tuple[float, float]]:
    """``(first call seconds, median warm seconds)`` for each of ``fns``.

    The warm runs are interleaved (a, b, a, b, ...) so that a drift in the
    machine's speed during the run affects every contender alike.
    """
    first = []
    for fn in fns:
        start = time.perf_counter()
        jax.block_until_ready(fn())
        first.append(time.perf_counter() - start)
    warm = [[] for _ in fns]
    for _ in range(runs):
        for fn, times in zip(fns, warm, strict=True):
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times.append(time.perf_counter() - start)
    return [(f, statistics.median(w)) for f, w in zip(first, warm, strict=True)]


def machine() -> str:
    """One line naming the machine, the JAX backend and versions, and the date."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    device = jax.devices()[0]
    return (
        f"{datetime.date.today().isoformat()}, {cpu}, {os.cpu_count()} cores, JAX {jax.__version__} on "
        f"{device.platform} ({device.device_kind}), Python {platform.python_version()}"
    )


def write_section(name: str, markdown: str) -> None:
    """Replaces (or appends) the section ``name`` of RESULTS.md with ``markdown``."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)

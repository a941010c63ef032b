"""The test environment shared by ``tests/`` and the doctests in ``jaxinit/``.

Strict JAX (equinox-style): implicit dtype and rank promotion raise, so an
initializer that upcasts or relies on broadcasting a lower-rank parameter fails here
before it surprises a user.

Every compiled XLA program keeps a few memory mappings alive while JAX caches it
(about three per program on CPU). The suite compiles tens of thousands of programs in
one process, and Linux allows a process 65,530 mappings by default
(``vm.max_map_count``): past it, LLVM's next allocation fails inside a compilation and
the process dies with a segmentation fault. So the caches are dropped whenever the
process holds more than half that many mappings.

Those programs are small and run once or twice, so compiling them costs more than
running them: the suite turns off LLVM's optimisations and XLA's newer fusion emitters
(``XLA_FLAGS`` below, set before JAX starts and inherited by the notebooks' kernels and
the suite's subprocesses). Measured on the topology contract tests: 218 CPU-seconds with
XLA's defaults, 115 at ``-O0``, 76 with both. The large-scale checks alone (``-m slow``)
and the benchmarks run long programs, with XLA's defaults.
"""

from __future__ import annotations

import os

import jax
import pytest

_FAST_COMPILE = ("--xla_backend_optimization_level=0", "--xla_cpu_use_fusion_emitters=false")


def pytest_configure(config: pytest.Config) -> None:
    # XLA reads its flags when its backend starts, at the first computation: after this
    if config.option.markexpr.strip() == "slow":
        return
    flags = os.environ.get("XLA_FLAGS", "")
    extra = [flag for flag in _FAST_COMPILE if flag.split("=")[0] not in flags]
    os.environ["XLA_FLAGS"] = " ".join([flags, *extra]).strip()


jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

_MAPS = "/proc/self/maps"
_MAX_MAPPINGS = 65_530 // 2


def _mappings() -> int:
    with open(_MAPS, "rb") as maps:
        return sum(1 for _ in maps)


@pytest.fixture(autouse=True)
def _drop_compiled_programs_when_mappings_pile_up():
    yield
    if os.path.exists(_MAPS) and _mappings() > _MAX_MAPPINGS:
        jax.clear_caches()

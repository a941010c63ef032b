"""The README's Python snippets run as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

import jax

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run_in_order():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks
    namespace: dict = {}
    # the snippets are user code: they run with JAX's standard promotion, not the suite's strict one
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        for block in blocks:
            # at test size: the sharding recipe and the sparse networks (the README shows 10^7-synapse builds)
            for big, small in (
                ("(8192, 8192)", "(64, 64)"),
                ("10_000", "1_000"),
                ("20_000", "2_000"),
                ("5_000", "500"),
            ):
                block = block.replace(big, small)
            exec(compile(block, str(README), "exec"), namespace)


def test_readme_persistent_cache_recipe_fills_the_cache(tmp_path):
    """The README's compilation-cache lines (a ``py`` block: they change the process's JAX
    config, so they run in a fresh process with its own home folder): after a build, the
    cache folder holds the compiled programs."""
    (recipe,) = [b for b in re.findall(r"```py\n(.*?)```", README.read_text(), re.S) if "compilation_cache" in b]
    build = "from jaxinit import topology\ntopology.random_topology(jax.random.key(0), 100, n_syn=500)\n"
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", recipe + build], env=env, check=True, timeout=300)
    assert any((tmp_path / ".cache" / "jaxinit-xla").iterdir())

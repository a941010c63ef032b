"""The README's Python snippets run as written, each on its own."""

import os
import re
import subprocess
import sys
from pathlib import Path

import jax
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
# at test size: the README shows builds of 10^6-10^7 synapses
SMALLER = (("10_000", "1_000"), ("20_000", "2_000"), ("8_000, 2_000", "800, 200"), ("5_000", "500"))


def _heading(block: str) -> str:
    """The README heading above a block (outside code fences), as its test id."""
    text = README.read_text()
    prose = re.sub(r"```.*?```", "", text[: text.index(block)], flags=re.S)
    return re.findall(r"^#+ (.+)$", prose, re.M)[-1].split(" (")[0].lower().replace(" ", "-")


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{i}-{_heading(b)}" for i, b in enumerate(BLOCKS)])
def test_readme_python_block_runs_alone(block):
    """Each block in a fresh namespace, so one that leans on an earlier block's names (its
    imports, its key) fails with a NameError here as it would for a reader."""
    for big, small in SMALLER:
        block = block.replace(big, small)
    # the snippets are user code: they run with JAX's standard promotion, not the suite's strict one
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        exec(compile(block, str(README), "exec"), {"__name__": "__readme__"})


def test_readme_has_the_blocks_it_promises():
    text = README.read_text()
    assert len(BLOCKS) >= 10
    for audience in ("### Flax", "### Equinox", "### Neuroscientists"):
        assert audience in text
    # the set-up commands: install what the demo needs and run it; the tests as CI runs them
    ci = (README.parent / ".ci" / "run").read_text()
    assert 'pip install -e ".[plot]" && python -m jaxinit' in text
    assert 'pip install -e ".[test]" && python -m pytest' in text
    assert 'pip install -e ".[test]"' in ci and ci.rstrip().endswith("python -m pytest")


def test_readme_persistent_cache_recipe_fills_the_cache(tmp_path):
    """The README's compilation-cache lines (a ``py`` block: they change the process's JAX
    config, so they run in a fresh process with its own home folder): after a build, the
    cache folder holds the compiled programs."""
    (recipe,) = [b for b in re.findall(r"```py\n(.*?)```", README.read_text(), re.S) if "compilation_cache" in b]
    build = "from jaxinit import topology\ntopology.random_topology(jax.random.key(0), 100, n_syn=500)\n"
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", recipe + build], env=env, check=True, timeout=300)
    assert any((tmp_path / ".cache" / "jaxinit-xla").iterdir())

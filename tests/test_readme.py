"""The README's Python snippets run as written."""

import re
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

"""The tutorials in notebooks/ execute top to bottom without an error."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
# the Flax/Equinox/ensembles tutorial trains models (about 2 CPU-minutes): its APIs are tested in
# test_integration_*.py and test_tree*.py; the sparse-networks tutorial (about 1 CPU-minute) shows
# rules whose laws test_topology_*.py tests. Both notebooks run with the slow checks
SLOW = {"04_sparse_networks.ipynb", "05_flax_equinox_ensembles.ipynb"}


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=[pytest.mark.slow] if p.name in SLOW else []) for p in NOTEBOOKS],
    ids=lambda p: p.name,
)
def test_notebook_runs(path):
    notebook = nbformat.read(path, as_version=4)
    # a fresh kernel in the notebook's folder, as Jupyter starts it (notebook 01 imports _laws.py
    # from there); no notebook writes files. Any cell error fails the test
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    assert any(output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", []))


def test_the_tutorials_are_all_there():
    names = [p.name for p in NOTEBOOKS]
    assert names == [
        "01_distributions.ipynb",
        "02_variance_scaling.ipynb",
        "03_composite_and_distance.ipynb",
        "04_sparse_networks.ipynb",
        "05_flax_equinox_ensembles.ipynb",
        "06_microcircuit.ipynb",
    ]

"""Every analytic curve that notebook 01 plots is the exact law of the samples it shows.

The notebook and these tests read the same list, ``notebooks/_laws.py``. Each law gets a
Kolmogorov–Smirnov test of n = 200,000 fresh samples (the notebook's n), from a fixed key
of its own (not the notebook's), rejected at p < 1e-3: were every law right, a random key
would fail one of the 9 tests with probability at most 9 · 1e-3 < 1 %. The fixed keys make
the outcome reproducible. At this n the test rejects a law whose CDF is off by more than
about 1.95 / sqrt(n) ≈ 0.0044 anywhere, so a curve that misleads the eye cannot pass.
"""

import importlib.util
import json
import math
import re
from pathlib import Path

import jax
import pytest
from scipy import stats

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
N = 200_000
ALPHA = 1e-3


def _load_laws():
    spec = importlib.util.spec_from_file_location("_laws", NOTEBOOKS / "_laws.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


laws = _load_laws()


@pytest.mark.parametrize("index", range(len(laws.ALL)), ids=[law.title for law in laws.ALL])
def test_samples_follow_the_plotted_law(index):
    law = laws.ALL[index]
    x = law.draw(jax.random.fold_in(jax.random.key(20260), index), N)
    assert stats.kstest(x, law.law.cdf).pvalue > ALPHA


def test_the_lognormal_law_has_the_documented_mean_and_std():
    # lognormal(mean, std) takes the mean and std of the values: the law must have them
    law = laws.lognormal_law(0.5, 0.3)
    assert math.isclose(law.mean(), 0.5, rel_tol=1e-12)
    assert math.isclose(law.std(), 0.3, rel_tol=1e-12)


def test_the_curve_the_notebook_used_to_draw_is_rejected():
    # the curve shipped before the fix (the std taken as 0.6 nS instead of 0.3): the same
    # KS test must reject it, else these tests could not catch a wrong curve
    wrong = stats.lognorm(s=math.sqrt(math.log1p(0.36 / 0.25)), scale=0.5 / math.sqrt(1 + 0.36 / 0.25))
    lognormal = next(law for law in laws.ALL if law.title.startswith("lognormal"))
    x = lognormal.draw(jax.random.key(20260), N)
    assert stats.kstest(x, wrong.cdf).pvalue < ALPHA


def test_the_notebook_plots_only_the_shared_laws():
    # a law built in the notebook itself would escape the KS tests above
    notebook = json.loads((NOTEBOOKS / "01_distributions.ipynb").read_text())
    code = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code")
    assert "from _laws import" in code
    assert set(re.findall(r"stats\.(\w+)\(", code)) <= {"kstest"}

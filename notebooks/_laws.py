"""The distributions that notebook 01 draws, each beside the exact law of its samples.

The notebook lays each law's density over a histogram of the samples, and
``tests/test_notebook_laws.py`` runs a KS test of fresh samples against the same law:
both read this one list, so a curve that is not the law of what was drawn fails the
tests instead of misleading a reader.

Each law is written from the constructor's documented parameterisation (scipy's
parameters worked out by hand), never by calling into jaxinit: a law that reused the
library's own formulas would agree with a wrong sampler.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import brainunit as u
import jax
import numpy as np
from scipy import stats

import jaxinit as ji


class Law(NamedTuple):
    title: str
    init: ji.Initializer
    law: Any
    """The exact law of the samples, a frozen ``scipy.stats`` distribution, in ``unit``."""
    unit: Any = None
    """The unit the law is written in (``None`` for plain numbers)."""

    def draw(self, key: jax.Array, n: int) -> np.ndarray:
        """``n`` samples as float64, in ``unit``."""
        x = self.init(key, (n,))
        return np.asarray(x if self.unit is None else x.to_decimal(self.unit), np.float64)


def lognormal_law(mean: float, std: float):
    """``lognormal(mean, std)``: ``mean`` and ``std`` are those of the values themselves."""
    sigma2 = math.log1p((std / mean) ** 2)
    # scipy's lognorm(s, scale) is exp(N(log scale, s²)), whose mean is scale·exp(s²/2)
    return stats.lognorm(s=math.sqrt(sigma2), scale=mean * math.exp(-sigma2 / 2))


def truncated_normal_law(mean: float, std: float, low: float, high: float):
    """``truncated_normal(mean, std, low, high)``: absolute bounds, scipy's are in units of std."""
    return stats.truncnorm((low - mean) / std, (high - mean) / std, loc=mean, scale=std)


CONDUCTANCES = (
    Law("normal(0.5 nS, 150 pS)", ji.normal(0.5 * u.nS, 150 * u.psiemens), stats.norm(0.5, 0.15), u.nS),
    Law("lognormal(0.5 nS, 0.3 nS)", ji.lognormal(0.5 * u.nS, 0.3 * u.nS), lognormal_law(0.5, 0.3), u.nS),
    Law("gamma(2, 0.25 nS)", ji.gamma(2.0, 0.25 * u.nS), stats.gamma(2.0, scale=0.25), u.nS),
    Law(
        "truncated_normal(0.5, 0.3, [0.2, 1] nS)",
        ji.truncated_normal(0.5 * u.nS, 0.3 * u.nS, low=0.2 * u.nS, high=1.0 * u.nS),
        truncated_normal_law(0.5, 0.3, 0.2, 1.0),
        u.nS,
    ),
)
"""Synaptic conductances, in nS."""

TIMES = (
    Law("gamma(3, 2 Hz) rates", ji.gamma(3.0, 2.0 * u.Hz), stats.gamma(3.0, scale=2.0), u.Hz),
    Law(
        "0.5 ms + exponential(2 ms) delays",
        ji.shift(ji.exponential(2.0 * u.ms), 0.5 * u.ms),
        stats.expon(loc=0.5, scale=2.0),
        u.ms,
    ),
    Law("weibull(1.5, 10 ms)", ji.weibull(1.5, 10.0 * u.ms), stats.weibull_min(1.5, scale=10.0), u.ms),
)
"""Firing rates in Hz, delays and waiting times in ms."""

BOUNDED = (
    Law(
        "beta(2, 5) on [-70, -50] mV",
        ji.beta(2.0, 5.0, low=-70.0 * u.mV, high=-50.0 * u.mV),
        stats.beta(2.0, 5.0, loc=-70.0, scale=20.0),
        u.mV,
    ),
    Law(
        "normal truncated to [8σ, 9σ]",
        ji.truncated_normal(0.0, 1.0, low=8.0, high=9.0),
        truncated_normal_law(0.0, 1.0, 8.0, 9.0),
    ),
)
"""Bounded values: resting potentials in mV, and the far tail of a standard normal."""

ALL = CONDUCTANCES + TIMES + BOUNDED

"""The sampling core's uniform integers below per-element bounds (``uniform_below``)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxinit.topology._sampling import uniform_below

KEY = jax.random.key(0)


def test_uniform_below_is_the_high_word_of_span_times_a_64_bit_draw():
    """Exact: each value is floor(span * (high * 2**32 + low) / 2**64) for the two words
    that jax.random.bits gives for the same key (checked in Python integers)."""
    rng = np.random.default_rng(1)
    span = np.concatenate([[1, 2, 3, 2**16, 2**16 + 1, 2**31 - 1, 2**32 - 1], rng.integers(1, 2**32, 993)])
    span = span.astype(np.uint32)
    got = np.asarray(uniform_below(KEY, jnp.asarray(span)))
    high, low = (np.asarray(w).astype(object) for w in jax.random.bits(KEY, (2, span.size), jnp.uint32))
    want = [(int(s) * ((int(h) << 32) + int(lo))) >> 64 for s, h, lo in zip(span, high, low, strict=True)]
    np.testing.assert_array_equal(got.astype(object), np.asarray(want, dtype=object))
    assert (got < span).all()


@pytest.mark.parametrize("span", [7, 1000, 2**31 - 1])
def test_uniform_below_is_uniform(span):
    """A chi-square test over 16 equal-probability bins of [0, span) (span 7: its 7
    values), 200,000 draws: false failure 1e-6."""
    n = 200_000
    values = np.asarray(uniform_below(KEY, jnp.full((n,), span, jnp.uint32))).astype(np.int64)
    bins = span if span <= 16 else 16
    counts = np.bincount(values * bins // span, minlength=bins)
    edges = -(-np.arange(bins + 1) * span // bins)  # bin b holds ceil(b span / bins) .. ceil((b+1) span / bins) - 1
    expected = n * np.diff(edges) / span
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, bins - 1) > 1e-6


def test_uniform_below_under_jit_and_vmap():
    span = jnp.asarray([5, 9, 2**20], jnp.uint32)
    keys = jax.random.split(KEY, 4)
    eager = np.stack([np.asarray(uniform_below(k, span)) for k in keys])
    np.testing.assert_array_equal(jax.jit(jax.vmap(uniform_below, (0, None)))(keys, span), eager)

"""Values per synapse and the memory guard: positions checked against the network, the box rule,
context clashes, pre/post as context (issue 10 items 11, 14, "also mend"; issue 11 Build 2)."""

import brainunit as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit as ji
from jaxinit import profiles
from jaxinit import topology as T
from jaxinit.topology import _memory
from tests.helpers import count_compilations

KEY = jax.random.key(0)
XY = jax.random.uniform(jax.random.key(3), (100, 2), maxval=500.0)
CONN = T.random_topology(KEY, 100, n_syn=600)
INIT = ji.modulate_by_distance(ji.ones, profiles.gaussian(100.0))


@pytest.mark.parametrize("block_size", [None, 64])
def test_positions_with_the_wrong_number_of_rows_are_refused(block_size):
    # the user's call: 50 rows for 100 neurons silently computed wrong distances (JAX clamps gathers)
    message = r"pre_positions \(also the post positions, as post_positions is None\) must have one row per neuron"
    with pytest.raises(ValueError, match=rf"{message} \(n_post=100\), got 50 rows|pre_positions must have one row"):
        T.synapse_values(KEY, CONN, INIT, XY[:50], block_size=block_size)
    with pytest.raises(ValueError, match=r"pre_positions must have one row per neuron \(n_pre=100\), got 50 rows"):
        T.with_weights(KEY, CONN, INIT, XY[:50], XY, block_size=block_size)
    with pytest.raises(ValueError, match=r"post_positions must have one row per neuron \(n_post=100\), got 99 rows"):
        T.with_weights(KEY, CONN, INIT, XY, XY[:99], block_size=block_size)
    between = T.random_topology(KEY, 100, 30, n_syn=200)
    with pytest.raises(ValueError, match=rf"{message} \(n_post=30\), got 100 rows"):
        T.synapse_values(KEY, between, INIT, XY, block_size=block_size)
    with pytest.raises(ValueError, match=r"post_positions must have one row per neuron \(n_post=30\), got 100 rows"):
        T.synapse_distances(between, XY, XY)


def test_box_zero_is_refused_instead_of_nan_weights():
    for call in (
        lambda: T.with_weights(KEY, CONN, INIT, XY, box=0),
        lambda: T.synapse_values(KEY, CONN, INIT, XY, box=0.0, block_size=64),
        lambda: T.synapse_distances(CONN, XY, box=[500.0, 0.0]),
    ):
        with pytest.raises(ValueError, match="box must be > 0, got 0"):
            call()
    with pytest.raises(ValueError, match="box was given without pre_positions"):
        T.synapse_values(KEY, CONN, INIT, box=500.0)


def test_positions_and_distances_in_context_clash():
    d = T.synapse_distances(CONN, XY)
    with pytest.raises(ValueError, match="give positions .* or distances= in the context, not both"):
        T.synapse_values(KEY, CONN, INIT, XY, distances=d)
    np.testing.assert_array_equal(T.synapse_values(KEY, CONN, INIT, distances=d), T.synapse_values(KEY, CONN, INIT, XY))
    with pytest.raises(ValueError, match="pre= is set by synapse_values itself"):
        T.synapse_values(KEY, CONN, INIT, pre=jnp.zeros(600))


@pytest.mark.parametrize("block_size", [None, 7])
def test_values_by_population_from_pre_and_post(block_size):
    # issue 11 Build 2: pre and post reach the initializer, so `where` picks by population
    n_exc = 80
    init = ji.where(lambda shape, pre, **_: pre < n_exc, ji.constant(2.0), ji.constant(-1.0))
    values = T.synapse_values(KEY, CONN, init, block_size=block_size)
    np.testing.assert_array_equal(values, np.where(np.asarray(CONN.pre) < n_exc, 2.0, -1.0))
    onto_first = ji.where(lambda shape, post, **_: post == 0, ji.ones, ji.zeros)
    onto_zero = T.synapse_values(KEY, CONN, onto_first, block_size=block_size)
    np.testing.assert_array_equal(onto_zero, (np.asarray(CONN.post) == 0).astype(np.float32))


def test_synapse_distances_replace_the_private_helper():
    # what the demo and notebook 04 needed `_pair_distances` for
    dense = np.asarray(profiles.pairwise_distances(XY, XY, box=500.0))
    d = T.synapse_distances(CONN, XY, box=500.0)
    np.testing.assert_allclose(d, dense[np.asarray(CONN.pre), np.asarray(CONN.post)], rtol=1e-5)
    in_units = T.synapse_distances(CONN, XY * u.um, box=0.5 * u.mm)
    assert in_units.unit == u.um
    np.testing.assert_allclose(in_units.mantissa, d, rtol=1e-5)


# --- the memory guard: deterministic, device-aware, with a switch ---------------------------------


def test_memory_limit_from_the_environment(monkeypatch):
    for text, limit in (("1GiB", 2**30), ("512 MB", 512 * 10**6), ("8e9", 8 * 10**9), ("off", None)):
        monkeypatch.setenv("JAXINIT_MEMORY_LIMIT", text)
        assert _memory.memory_limit() == (limit, "JAXINIT_MEMORY_LIMIT")
    monkeypatch.setenv("JAXINIT_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="JAXINIT_MEMORY_LIMIT must be a size in bytes .* got 'lots'"):
        T.random_topology(KEY, 10, n_syn=5)


def _huge_values():
    index = jnp.zeros(2_000_000_000, jnp.int32)  # abstract under eval_shape: nothing allocated
    return T.synapse_values(KEY, T.Connectivity(index, index, n_pre=10, n_post=10), ji.normal())


def test_memory_guard_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("JAXINIT_MEMORY_LIMIT", "1GiB")
    with pytest.raises(MemoryError, match="more than the 1.0 GiB limit .*set JAXINIT_MEMORY_LIMIT"):
        jax.eval_shape(_huge_values)
    monkeypatch.setenv("JAXINIT_MEMORY_LIMIT", "off")
    assert jax.eval_shape(_huge_values).shape == (2_000_000_000,)


def test_memory_limit_is_the_device_limit_or_physical_memory(monkeypatch):
    monkeypatch.delenv("JAXINIT_MEMORY_LIMIT", raising=False)
    limit, source = _memory.memory_limit()
    stats = jax.devices()[0].memory_stats()
    if stats and stats.get("bytes_limit"):
        assert limit == stats["bytes_limit"] and "bytes_limit" in source
    else:  # CPU: fixed for the machine, not what other processes leave free at the moment
        import os

        assert limit == os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert _memory.memory_limit() == (limit, source)

    class Accelerator:
        platform = "gpu"

        def memory_stats(self):
            return {"bytes_limit": 123_456_789, "bytes_in_use": 5}

    _memory._device_limit.cache_clear()
    monkeypatch.setattr(jax, "devices", lambda: [Accelerator()])
    try:
        assert _memory.memory_limit() == (123_456_789, "the gpu device's bytes_limit")
        with pytest.raises(MemoryError, match=r"0.1 GiB limit \(the gpu device's bytes_limit\)"):
            T.random_topology(KEY, 10_000, n_syn=20_000_000)
    finally:
        _memory._device_limit.cache_clear()


def test_block_wise_values_compile_once_per_kind_of_initializer():
    # the block loop is one compiled kernel, keyed by the initializer's structure: a fresh
    # normal(...) with other numbers, another key or other weights compile nothing new
    T.synapse_values(KEY, CONN, ji.normal(1.0, 0.5), block_size=64)
    key_1 = jax.random.key(1)  # made outside the counted call (its seeding would count)
    with count_compilations() as compiled:
        again = T.synapse_values(key_1, CONN, ji.normal(2.0, 0.1), block_size=64)
    assert compiled == [] and again.shape == (600,)

"""Sharded topology builds (``out_sharding=``) on 8 emulated devices, in their own process;
and the padded Connectivity on one device."""

import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec

from jaxinit.topology import Connectivity, fixed_outdegree, pairwise_bernoulli, shard, synapse_values

ROOT = Path(__file__).resolve().parent.parent


def _check(*args, cases=32):
    flags = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XLA_FLAGS": flags}
    command = [sys.executable, "-m", "tests.topology_sharded_check", *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["ok", str(cases), "[1,", "2,", "3,", "4,", "8]"]


def test_every_builder_shards_to_the_unsharded_synapses_on_1_to_8_devices():
    _check()


@pytest.mark.slow
@pytest.mark.parametrize("start", range(0, 32, 4))
def test_every_builder_shards_the_same_on_every_mesh(start):
    _check("every", str(start), str(start + 4), cases=4)


def one_device():
    return NamedSharding(jax.make_mesh((1,), ("x",)), PartitionSpec("x"))


def test_padding_is_ignored_by_every_method():
    conn = Connectivity(jnp.array([0, 1, 1, 3, 3]), jnp.array([2, 0, 0, 3, 3]), n_pre=3, n_post=3,
                        weight=jnp.array([1.0, 2.0, 3.0, 0.0, 0.0]), n_syn=3)  # fmt: skip
    plain = conn.unpadded()
    assert conn.nnz == 3 and plain.nnz == 3 and plain.n_syn is None and plain.pre.tolist() == [0, 1, 1]
    assert conn.out_degree().tolist() == [1, 2, 0] and conn.in_degree().tolist() == [2, 0, 1]
    assert conn.indptr.tolist() == [0, 1, 3, 3]
    assert conn.to_dense().tolist() == [[0.0, 0.0, 1.0], [5.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert conn.to_scipy().toarray().tolist() == conn.to_dense().tolist()
    assert conn.to_bcoo().todense().tolist() == conn.to_dense().tolist()
    indptr, order = conn.by_post()
    assert indptr.tolist() == [0, 2, 2, 3] and order[:3].tolist() == [1, 2, 0]


def test_n_syn_beyond_the_arrays_is_refused():
    with pytest.raises(ValueError, match="n_syn=3 is more than the 2 pairs"):
        Connectivity(jnp.array([0, 1]), jnp.array([1, 0]), n_pre=2, n_post=2, n_syn=3)


@pytest.mark.parametrize("bad", [PartitionSpec("x"), "x", NamedSharding(jax.make_mesh((1,), ("x",)), PartitionSpec())])
def test_out_sharding_that_does_not_split_one_axis_is_refused_before_any_work(bad):
    with pytest.raises(ValueError, match="fixed_outdegree: out_sharding must be a NamedSharding"):
        fixed_outdegree(jax.random.key(0), 10, None, 2, out_sharding=bad)
    with pytest.raises(ValueError, match="pairwise_bernoulli: out_sharding must be a NamedSharding"):
        pairwise_bernoulli(jax.random.key(0), 10, p=0.1, out_sharding=bad)
    with pytest.raises(ValueError, match="shard: out_sharding must be"):
        shard(fixed_outdegree(jax.random.key(0), 10, None, 2), bad)


def test_one_device_sharding_is_the_unsharded_build():
    key = jax.random.key(3)
    want = fixed_outdegree(key, 300, None, 4, block_size=64)
    got = fixed_outdegree(key, 300, None, 4, block_size=64, out_sharding=one_device())
    assert got.n_syn == want.nnz and np.array_equal(got.pre, want.pre) and np.array_equal(got.post, want.post)
    values = synapse_values(key, got, lambda k, shape, dtype=None, **_: jax.random.normal(k, shape), block_size=100)
    assert np.array_equal(values, synapse_values(key, want, lambda k, s, d=None, **_: jax.random.normal(k, s),
                                                 block_size=100))  # fmt: skip

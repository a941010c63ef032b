"""Run as ``python -m tests.sharded_check`` with 8 emulated CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=8``; test_integration_sharding.py does).

For every registered initializer: jit with out_shardings on a 4x2 mesh, and the
``out_sharding=`` keyword of jax's initializer protocol, give the unsharded values,
and each device holds only its shard. Prints "ok <count>". ``python -m tests.sharded_check N``
checks every N-th initializer only (the default test run; the slow one checks all).
"""

import sys

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from tests.cases import CASES


def spec_for(shape):
    names, free = [], ["a", "b"]
    for size in shape:
        if free and size % {"a": 4, "b": 2}[free[0]] == 0:
            names.append(free.pop(0))
        else:
            names.append(None)
    return PartitionSpec(*names)


def main():
    assert len(jax.devices()) == 8, jax.devices()
    mesh = jax.make_mesh((4, 2), ("a", "b"))
    key = jax.random.key(0)
    checked = 0
    every = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    for case in CASES[::every]:
        shape = case.shape if len(case.shape) != 2 or case.id in ("blocks", "where") else (8, 6)
        if case.id == "where":
            shape = (8, 5)
        ctx = case.ctx(shape)
        sharding = NamedSharding(mesh, spec_for(shape))
        sharded = jax.jit(lambda k, c, init=case.init, shape=shape: init(k, shape, **c), out_shardings=sharding)(
            key, ctx
        )
        plain = case.init(key, shape, **ctx)
        np.testing.assert_allclose(np.asarray(sharded), np.asarray(plain), rtol=1e-5, atol=1e-6, err_msg=case.id)
        expected = sharding.shard_shape(shape)
        assert all(s.data.shape == expected for s in sharded.addressable_shards), (case.id, expected)
        assert len(sharded.addressable_shards) == 8
        # jax's keyword: the same values and layout, eagerly and under jit
        keyword = case.init(key, shape, out_sharding=sharding, **ctx)
        np.testing.assert_allclose(np.asarray(keyword), np.asarray(plain), rtol=1e-5, atol=1e-6, err_msg=case.id)
        assert all(s.data.shape == expected for s in keyword.addressable_shards), (case.id, expected)
        checked += 1
    print("ok", checked)


if __name__ == "__main__":
    main()

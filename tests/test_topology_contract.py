"""The contract every topology builder keeps, driven by the registry in topology_cases.py.

Exact invariants only (the laws are tested per rule): the count the rule fixes, int32
indices in range, (pre, post) order, no repeated pair where the rule draws distinct
ones, no autapse in a recurrent population, jit == eager, vmap over keys == the loop,
empty requests, and no recompilation when the same size is built again.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.helpers import count_compilations
from tests.topology_cases import BUILDERS

KEY = jax.random.key(0)
# keys are made here, not inside a counted call: making one compiles its seeding after a cache clear
KEY_1 = jax.random.key(1)
ids = [b.id for b in BUILDERS]


def _check(conn, case, n):
    pre, post = np.asarray(conn.pre), np.asarray(conn.post)
    assert conn.pre.dtype == jnp.int32 and conn.post.dtype == jnp.int32
    assert pre.shape == post.shape == (conn.nnz,)
    if case.nnz is not None:
        assert conn.nnz == case.nnz(n)
    assert ((pre >= 0) & (pre < conn.n_pre)).all() and ((post >= 0) & (post < conn.n_post)).all()
    order = np.lexsort((post, pre))
    assert (order == np.arange(pre.size)).all(), "not sorted by (pre, post)"
    if case.distinct and pre.size > 1:
        assert ((pre[1:] != pre[:-1]) | (post[1:] != post[:-1])).all(), "a repeated pair"
    if case.recurrent:
        assert conn.n_pre == conn.n_post and not (pre == post).any(), "an autapse"


@pytest.mark.parametrize("case", BUILDERS, ids=ids)
def test_builder_keeps_the_contract_at_two_sizes(case):
    for n in case.sizes:
        _check(case.build(KEY, n), case, n)


@pytest.mark.parametrize("case", [b for b in BUILDERS if b.jit], ids=[b.id for b in BUILDERS if b.jit])
def test_jit_equals_eager(case):
    n = case.sizes[0]
    eager = case.build(KEY, n)
    jitted = jax.jit(lambda key: case.build(key, n))(KEY)
    np.testing.assert_array_equal(np.asarray(jitted.pre), np.asarray(eager.pre))
    np.testing.assert_array_equal(np.asarray(jitted.post), np.asarray(eager.post))


@pytest.mark.parametrize("case", [b for b in BUILDERS if b.vmap], ids=[b.id for b in BUILDERS if b.vmap])
def test_vmap_over_keys_equals_the_loop(case):
    n = case.sizes[0]
    keys = jax.random.split(KEY, 3)
    batched = jax.vmap(lambda key: case.build(key, n))(keys)
    for i, key in enumerate(keys):
        single = case.build(key, n)
        np.testing.assert_array_equal(np.asarray(batched.pre[i]), np.asarray(single.pre))
        np.testing.assert_array_equal(np.asarray(batched.post[i]), np.asarray(single.post))


@pytest.mark.parametrize("case", [b for b in BUILDERS if b.empty], ids=[b.id for b in BUILDERS if b.empty])
def test_empty_requests_give_empty_connectivity(case):
    conn = case.empty(KEY)
    assert conn.nnz == 0 and conn.pre.dtype == jnp.int32
    assert conn.to_dense().shape == (conn.n_pre, conn.n_post)


@pytest.mark.parametrize("case", BUILDERS, ids=ids)
def test_building_the_same_size_again_compiles_nothing(case):
    n = case.sizes[0]
    jax.block_until_ready(case.build(KEY, n).pre)
    with count_compilations() as compiles:
        jax.block_until_ready(case.build(KEY_1, n).pre)
    assert compiles == []

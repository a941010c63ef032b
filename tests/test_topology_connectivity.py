"""The Connectivity type: required sizes, delays, from_pairs/from_dense, conversions that agree
(multapses summed, units, default float), pytree behaviour (issue 10 items 6 and 8)."""

import brainunit as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit as ji
from jaxinit import topology as T

KEY = jax.random.key(0)
# one small network shape for every test here: one compiled sampler serves them all
N, N_SYN = 30, 100


def _reference(pre, post, weight, shape):
    dense = np.zeros(shape, np.float64)
    np.add.at(dense, (np.asarray(pre), np.asarray(post)), np.asarray(weight, np.float64))
    return dense


def _every_format(conn, **unit):
    return {
        "to_dense": np.asarray(conn.to_dense(**unit)),
        "to_bcoo": np.asarray(conn.to_bcoo(**unit).todense()),
        "to_bcsr": np.asarray(conn.to_bcsr(**unit).todense()),
        "to_scipy": conn.to_scipy(**unit).toarray(),
    }


def test_sizes_are_required_keywords():
    index = jnp.array([0, 1], jnp.int32)
    with pytest.raises(TypeError, match="n_pre"):
        T.Connectivity(index, index)  # the old silent n_pre = n_post = 0
    with pytest.raises(TypeError):
        T.Connectivity(index, index, None, 2, 2)  # sizes by position are gone too
    conn = T.Connectivity(index, index, n_pre=2, n_post=3)
    assert (conn.n_pre, conn.n_post, conn.weight, conn.delay) == (2, 3, None, None)
    with pytest.raises(ValueError, match="n_post must be >= 0, got -1"):
        T.Connectivity(index, index, n_pre=2, n_post=-1)
    with pytest.raises(ValueError, match=r"weight must have one entry per synapse, like pre \(2,\), got shape \(3,\)"):
        T.Connectivity(index, index, n_pre=2, n_post=2, weight=jnp.ones(3))


def test_from_pairs_sorts_checks_and_carries_weights_and_delays():
    # the user's call: pairs in any order, with weights and delays (in units)
    pre, post = [3, 0, 2, 0, 3], [1, 4, 0, 2, 0]
    weight = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32)
    delay = np.array([0.1, 0.2, 0.3, 0.4, 0.5], np.float32) * u.ms
    conn = T.Connectivity.from_pairs(pre, post, n_pre=4, n_post=5, weight=weight, delay=delay)
    order = np.lexsort((post, pre))
    np.testing.assert_array_equal(conn.pre, np.array(pre)[order])
    np.testing.assert_array_equal(conn.post, np.array(post)[order])
    np.testing.assert_array_equal(conn.weight, weight[order])
    assert conn.delay.unit == u.ms
    np.testing.assert_allclose(conn.delay.mantissa, delay.mantissa[order])
    assert conn.pre.dtype == jnp.int32 and (conn.n_pre, conn.n_post) == (4, 5)


def test_from_pairs_refuses_repeats_unless_multapses():
    with pytest.raises(ValueError, match=r"the pair \(pre=1, post=2\) appears 3 times; pass multapses=True"):
        T.Connectivity.from_pairs([1, 0, 1, 1], [2, 0, 2, 2], n_pre=2, n_post=3)
    conn = T.Connectivity.from_pairs([1, 0, 1], [2, 0, 2], n_pre=2, n_post=3, weight=[1.0, 2.0, 3.0], multapses=True)
    assert conn.pre.tolist() == [0, 1, 1] and conn.post.tolist() == [0, 2, 2]
    assert conn.weight.tolist() == [2.0, 1.0, 3.0]  # stable: repeats keep their order


@pytest.mark.parametrize(
    "pre, post, error, message",
    [
        ([0, 5], [0, 1], ValueError, r"pre must hold indices in \[0, n_pre=5\), got 5 at position 1"),
        ([0, 1], [-1, 1], ValueError, r"post must hold indices in \[0, n_post=3\), got -1 at position 0"),
        ([0.0, 1.0], [0, 1], TypeError, "pre must hold integer indices, got dtype float64"),
        ([0, 1, 2], [0, 1], ValueError, "pre and post must have the same length, got 3 and 2"),
        ([[0, 1]], [[0, 1]], ValueError, r"pre must be a 1-D array of indices, got shape \(1, 2\)"),
    ],
)
def test_from_pairs_bad_input(pre, post, error, message):
    with pytest.raises(error, match=message):
        T.Connectivity.from_pairs(pre, post, n_pre=5, n_post=3)


def test_from_pairs_under_jit_sorts():
    pre, post = jnp.array([2, 0, 1]), jnp.array([0, 1, 1])
    conn = jax.jit(lambda a, b: T.Connectivity.from_pairs(a, b, n_pre=3, n_post=2))(pre, post)
    assert conn.pre.tolist() == [0, 1, 2] and conn.post.tolist() == [1, 1, 0]


def test_every_conversion_sums_multapses_the_same_way():
    # unsorted duplicates used to make to_dense (last write wins) and to_scipy/to_bcoo (sums) disagree
    pre, post, weight = [0, 2, 0, 2, 2, 1], [1, 3, 1, 3, 3, 0], [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    conn = T.Connectivity.from_pairs(pre, post, n_pre=3, n_post=4, weight=weight, multapses=True)
    expected = _reference(pre, post, weight, (3, 4))
    for method, dense in _every_format(conn).items():
        np.testing.assert_array_equal(dense, expected, err_msg=method)
    unweighted = T.Connectivity.from_pairs(pre, post, n_pre=3, n_post=4, multapses=True)
    counts = _reference(pre, post, np.ones(6), (3, 4))
    for method, dense in _every_format(unweighted).items():
        np.testing.assert_array_equal(dense, counts, err_msg=method)
    x = np.arange(4.0, dtype=np.float32)
    np.testing.assert_allclose(conn.to_bcoo() @ x, expected @ x)
    np.testing.assert_allclose(conn.to_bcsr() @ x, expected @ x)
    assert conn.to_scipy().nnz == 3  # canonical: one entry per connected pair


def test_from_dense_round_trips():
    matrix = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -3.0]], np.float32)
    conn = T.Connectivity.from_dense(matrix)
    assert (conn.n_pre, conn.n_post, conn.nnz) == (2, 3, 3)
    np.testing.assert_array_equal(conn.to_dense(), matrix)
    in_units = T.Connectivity.from_dense(matrix * u.nS)
    assert in_units.weight.unit == u.nS
    np.testing.assert_array_equal(in_units.to_dense().mantissa, matrix)
    mask = T.Connectivity.from_dense(matrix != 0)
    assert mask.weight is None and mask.nnz == 3
    with pytest.raises(ValueError, match=r"matrix must be 2-D \(n_pre, n_post\), got shape \(3,\)"):
        T.Connectivity.from_dense(np.ones(3))
    with pytest.raises(TypeError, match="matrix must be concrete"):
        jax.jit(T.Connectivity.from_dense)(jnp.ones((2, 2)))


def test_units_out_of_a_connectivity():
    # with_weights on a unit initializer, then every format (they crashed with brainunit's error)
    conn = T.with_weights(KEY, T.random_topology(KEY, N, n_syn=N_SYN), ji.lognormal(0.5 * u.nS, 0.1 * u.nS))
    dense = conn.to_dense()
    assert dense.unit == u.nS
    expected = _reference(conn.pre, conn.post, conn.weight.mantissa, (N, N))
    np.testing.assert_allclose(dense.mantissa, expected, rtol=1e-6)
    for method in ("to_bcoo", "to_bcsr", "to_scipy"):
        message = rf"the weights carry a unit \(nS\); pass unit= .*conn.{method}\(unit=u.nS\)"
        with pytest.raises(ValueError, match=message):
            getattr(conn, method)()
    for method, values in _every_format(conn, unit=u.psiemens).items():
        np.testing.assert_allclose(values, 1000 * expected, rtol=1e-5, err_msg=method)
    with pytest.raises(ValueError, match="cannot be converted to mV"):
        conn.to_bcoo(unit=u.mV)
    with pytest.raises(ValueError, match="unit=nS was given but the weights are unit-free"):
        T.with_weights(KEY, conn, ji.normal()).to_scipy(unit=u.nS)


def test_unweighted_conversions_use_the_default_float():
    conn = T.random_topology(KEY, N, n_syn=N_SYN)
    default = jax.dtypes.canonicalize_dtype(float)
    assert conn.to_dense().dtype == default and conn.to_bcoo().data.dtype == default
    assert conn.to_bcsr().data.dtype == default and conn.to_scipy().dtype == default


def test_delays_travel_with_every_operation():
    conn = T.random_topology(KEY, N, n_syn=N_SYN)
    conn = T.with_delays(jax.random.key(1), conn, ji.uniform(1.0 * u.ms, 2.0 * u.ms))
    conn = T.with_weights(jax.random.key(2), conn, ji.normal())
    assert conn.delay.unit == u.ms and conn.delay.shape == (N_SYN,)
    assert len(jax.tree_util.tree_leaves(conn)) == 4
    carried = jax.jit(lambda c: c)(conn)
    np.testing.assert_array_equal(carried.delay.mantissa, conn.delay.mantissa)
    # per-key networks with delays, stacked by vmap
    stacked = jax.vmap(lambda k: T.with_delays(k, T.random_topology(k, N, n_syn=N_SYN), ji.constant(1.0)))(
        jax.random.split(KEY, 3)
    )
    assert stacked.delay.shape == (3, N_SYN) and stacked.nnz == N_SYN and stacked.n_pre == N


def test_by_post_is_the_csc_view():
    conn = T.random_topology(KEY, N, n_syn=N_SYN)
    indptr, order = conn.by_post()
    post = np.asarray(conn.post)
    np.testing.assert_array_equal(order, np.argsort(post, kind="stable"))
    np.testing.assert_array_equal(indptr, np.searchsorted(np.sort(post), np.arange(N + 1)))

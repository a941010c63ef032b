# Ported from jax-ml/jax, commit cec06d116c05f0d52adfceee3d3b730fdbcb0ce5:
#   tests/nn_test.py   (INITIALIZER_RECS and class NNInitializersTest)
#   tests/pjit_test.py (ShardingInTypesTest.test_he_normal / test_nn_uniform / test_nn_constant)
# Copyright 2019 The JAX Authors. Licensed under the Apache License, Version 2.0
# (http://www.apache.org/licenses/LICENSE-2.0); changes: the initializers are jaxinit's,
# reached through tests/peer/_shim.py; absltest / jtu.JaxTestCase parameterisation is
# plain pytest; jtu.dtypes and assertAllClose are recreated below; the pjit cases run in
# a subprocess with 2 emulated CPU devices.
#
# Before the issue-10 fixes (at 234d179) the full grid (JAX_NUM_GENERATED_CASES=1000: 287
# cases) failed 89: 86 complex64 cases (item 7: complex dtypes refused) and the 3 pjit cases
# (item 5: out_sharding dropped); all 287 pass at a683460.
#
# Not ported: NNInitializersTest.testIdentity (it tests the activation jax.nn.identity,
# not an initializer) and memories_test.py's compute_on('device_host') lecun_normal
# check (host-offload compute, not available on the CPU backend).
"""jax's own initializer tests, run against jaxinit (issue 10, "Tests and evidence")."""

import collections
import json
import math
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import random

from tests.peer._shim import jax_initializers

ROOT = Path(__file__).resolve().parents[2]


class nn:  # noqa: N801 - stands in for ``jax.nn`` in the ported code
    initializers = jax_initializers


# --- the parts of jax._src.test_util the tests use -----------------------------------------


def _supported(dtypes):
    # jtu.dtypes: 64-bit types are only "supported" with x64 on
    x64 = jax.config.jax_enable_x64
    return [d for d in dtypes if x64 or np.dtype(d).itemsize < 8 or np.dtype(d) == np.complex64]


# jtu.sample_product draws at most JAX_NUM_GENERATED_CASES cases from each product, with a
# fixed seed. jax's default is 10; this port defaults to 4 (reduced: the grid's cost is XLA
# compilation, one program per random kernel and shape, and jax's partitionable threefry
# takes 1-3 CPU-s to compile at rank 3-4, so 10 per record costs ~45 CPU-s here against
# ~20 for 4). JAX_NUM_GENERATED_CASES=10 gives jax's own sample, 1000 every combination.
NUM_GENERATED_CASES = int(os.getenv("JAX_NUM_GENERATED_CASES", "4"))


def _choice(n, m):
    rng = np.random.RandomState(42)
    return rng.choice(n, size=m, replace=False)


def sample_product_testcases(*args, **kw):
    """jtu.sample_product_testcases: a fixed sample of the cartesian product."""
    args = [list(arg) for arg in args]
    kw = [(k, list(v)) for k, v in kw.items()]
    n = math.prod(len(a) for a in args) * math.prod(len(v) for _, v in kw)
    testcases = []
    for i in _choice(n, min(n, NUM_GENERATED_CASES)):
        testcase = {}
        for a in args:
            testcase.update(a[i % len(a)])
            i //= len(a)
        for k, v in kw:
            testcase[k] = v[i % len(v)]
            i //= len(v)
        testcases.append(testcase)
    return testcases


FLOATING = _supported([np.float32, np.float64])  # jtu.dtypes.floating
COMPLEX = _supported([np.complex64, np.complex128])  # jtu.dtypes.complex
INEXACT = FLOATING + COMPLEX  # jtu.dtypes.inexact

_DEFAULT_TOLERANCE = {
    np.dtype(jnp.bfloat16): 1e-2,
    np.dtype(np.float16): 1e-3,
    np.dtype(np.float32): 1e-6,
    np.dtype(np.float64): 1e-15,
    np.dtype(np.complex64): 1e-6,
    np.dtype(np.complex128): 1e-15,
}


def assert_all_close(x, y, *, atol=None, rtol=None, check_dtypes=True):
    """jtu.JaxTestCase.assertAllClose for arrays: same dtype and shape, per-dtype default tolerances."""
    if check_dtypes:
        assert np.asarray(x).dtype == np.asarray(y).dtype, (np.asarray(x).dtype, np.asarray(y).dtype)
    assert np.shape(x) == np.shape(y)
    default = max(_DEFAULT_TOLERANCE.get(np.asarray(v).dtype, 0) for v in (x, y))
    np.testing.assert_allclose(
        np.asarray(x), np.asarray(y), atol=default if atol is None else atol, rtol=default if rtol is None else rtol
    )


# --- nn_test.py: INITIALIZER_RECS ---------------------------------------------------------------

InitializerRecord = collections.namedtuple("InitializerRecord", ["name", "initializer", "shapes", "dtypes"])

ALL_SHAPES = [(), (2,), (2, 2), (2, 3), (3, 2), (2, 3, 4), (4, 3, 2), (2, 3, 4, 5)]


def initializer_record(name, initializer, dtypes, min_dims=2, max_dims=4):
    shapes = [shape for shape in ALL_SHAPES if min_dims <= len(shape) <= max_dims]
    return InitializerRecord(name, initializer, shapes, dtypes)


INITIALIZER_RECS = [
    initializer_record("uniform", nn.initializers.uniform, FLOATING, 1),
    initializer_record("normal", nn.initializers.normal, INEXACT, 1),
    initializer_record("he_normal", nn.initializers.he_normal, INEXACT),
    initializer_record("he_uniform", nn.initializers.he_uniform, INEXACT),
    initializer_record("glorot_normal", nn.initializers.glorot_normal, INEXACT),
    initializer_record("glorot_uniform", nn.initializers.glorot_uniform, INEXACT),
    initializer_record("lecun_normal", nn.initializers.lecun_normal, INEXACT),
    initializer_record("lecun_uniform", nn.initializers.lecun_uniform, INEXACT),
    initializer_record("orthogonal", nn.initializers.orthogonal, FLOATING, 2, 2),
    initializer_record("truncated_normal", nn.initializers.truncated_normal, FLOATING, 1),
    initializer_record("delta_orthogonal", nn.initializers.delta_orthogonal, FLOATING, 4, 4),
    initializer_record(
        "variance_scaling_fan_geo_avg",
        partial(nn.initializers.variance_scaling, 1, "fan_geo_avg", "normal"),
        FLOATING,
    ),
    initializer_record(
        "variance_scaling_fan_in",
        partial(nn.initializers.variance_scaling, 1, "fan_in", "normal", in_axis=[0], out_axis=[]),
        FLOATING,
        min_dims=1,
    ),
    initializer_record(
        "variance_scaling_fan_in",
        partial(nn.initializers.variance_scaling, 1, "fan_in", "normal", in_axis=[], out_axis=[0]),
        FLOATING,
        min_dims=1,
    ),
    initializer_record(
        "variance_scaling_fan_in",
        partial(nn.initializers.variance_scaling, 1, "fan_in", "normal", in_axis=[], out_axis=[]),
        FLOATING,
        min_dims=0,
    ),
]


def _record_cases():
    """The (record, shape, dtype) cases jtu.sample_product_testcases draws for each record."""
    for i, rec in enumerate(INITIALIZER_RECS):
        for case in sample_product_testcases([dict(rec=rec)], shape=rec.shapes, dtype=rec.dtypes):
            shape, dtype = case["shape"], case["dtype"]
            yield pytest.param(rec, shape, dtype, id=f"{rec.name}{i}-{shape}-{np.dtype(dtype).name}")


RECORD_CASES = list(_record_cases())


# --- nn_test.py: NNInitializersTest ------------------------------------------------------


@pytest.mark.parametrize(("rec", "shape", "dtype"), RECORD_CASES)
def test_initializer(rec, shape, dtype):
    initializer = rec.initializer()
    rng = random.PRNGKey(0)
    val = initializer(rng, shape, dtype)

    assert shape == jnp.shape(val)
    assert jax.dtypes.canonicalize_dtype(dtype) == val.dtype


ZERO_SIZE_CASES = sample_product_testcases(rows=range(4), cols=range(4), dtype=FLOATING)


@pytest.mark.parametrize(("rows", "cols", "dtype"), [(c["rows"], c["cols"], c["dtype"]) for c in ZERO_SIZE_CASES])
def test_initializer_orthogonal_zero_size(rows, cols, dtype):
    rng = random.PRNGKey(0)
    initializer = nn.initializers.orthogonal()
    val = initializer(rng, (rows, cols), dtype)
    assert val.shape == (rows, cols)
    assert val.dtype == dtype

    # jax loosens atol/rtol on TPU only; this suite runs on CPU/GPU
    atol = None
    rtol = None

    if rows <= cols:
        m = val @ val.T
        assert_all_close(m, jnp.eye(rows, dtype=dtype), atol=atol, rtol=rtol)

    if cols <= rows:
        m = val.T @ val
        assert_all_close(m, jnp.eye(cols, dtype=dtype), atol=atol, rtol=rtol)


@pytest.mark.parametrize(("rec", "shape", "dtype"), RECORD_CASES)
def test_initializer_provider(rec, shape, dtype):
    initializer_provider = rec.initializer
    rng = random.PRNGKey(0)
    initializer = initializer_provider(dtype=dtype)
    val = initializer(rng, shape)

    assert shape == jnp.shape(val)
    assert jax.dtypes.canonicalize_dtype(dtype) == val.dtype


def test_variance_scaling_multi_axis():
    rng = random.PRNGKey(0)
    shape = (2, 3, 4, 5)
    initializer = nn.initializers.variance_scaling(
        scale=1.0, mode="fan_avg", distribution="truncated_normal", in_axis=(0, 1), out_axis=(-2, -1)
    )
    val = initializer(rng, shape)

    assert shape == jnp.shape(val)


def test_variance_scaling_batch_axis():
    rng = random.PRNGKey(0)
    shape = (2, 3, 4, 5)
    initializer = nn.initializers.variance_scaling(
        scale=1.0, mode="fan_avg", distribution="truncated_normal", in_axis=0, out_axis=(2, 3), batch_axis=1
    )
    val = initializer(rng, shape)

    assert shape == jnp.shape(val)


def test_variance_scaling_error():
    rng = random.PRNGKey(0)
    shape = (5,)
    initializer = nn.initializers.variance_scaling(scale=1.0, mode="fan_avg", distribution="truncated_normal")

    # jax: "Can't compute input and output sizes of a 1-dimensional weights tensor with
    # default in_axis. Must be at least 2D or specify in_axis explicitly."; jaxinit words it
    # differently, so only the ValueError naming the shape and in_axis is checked
    with pytest.raises(ValueError, match=r"(?s)\(5,\).*in_axis"):
        initializer(rng, shape)


def test_accidental_upcasting():
    rng = random.PRNGKey(0)
    shape = (4, 4)
    scalar_param = jnp.array(1.0, dtype=jnp.float32)
    for init_fn in (
        nn.initializers.uniform(scalar_param, jnp.bfloat16),
        nn.initializers.normal(scalar_param, jnp.bfloat16),
        nn.initializers.truncated_normal(scalar_param, jnp.bfloat16),
    ):
        sub_rng, rng = random.split(rng)
        val = init_fn(sub_rng, shape)
        assert val.dtype == jnp.bfloat16


# --- pjit_test.py: initializers with out_sharding, on an explicit 2-device mesh ----------------
# jtu.with_explicit_mesh((2,), ('x',)) builds the mesh and sets it; these bodies are the
# peer's. They run in a subprocess (`python -m tests.peer.test_jax_nn_initializers`) since
# the device count is fixed when JAX starts.


def pjit_test_he_normal(mesh, initializers):
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    init = initializers.he_normal(in_axis=0, out_axis=1)
    key = jax.random.key(0)
    out = init(key, (8, 2), jnp.float32, out_sharding=P("x"))
    assert out.sharding == NamedSharding(mesh, P("x", None)), out.sharding


def pjit_test_nn_uniform(mesh, initializers):
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    init = initializers.uniform()
    key = jax.random.key(0)
    out = init(key, (8, 2), jnp.float32, out_sharding=P("x"))
    assert out.sharding == NamedSharding(mesh, P("x", None)), out.sharding


def pjit_test_nn_constant(mesh, initializers):
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    init = initializers.constant(-7)
    key = jax.random.key(0)
    out = init(key, (8, 2), jnp.float32, out_sharding=P("x"))
    np.testing.assert_array_equal(out, jnp.full((8, 2), -7, dtype=jnp.float32))
    assert out.sharding == NamedSharding(mesh, P("x", None)), out.sharding


PJIT_TESTS = {
    "he_normal": pjit_test_he_normal,
    "nn_uniform": pjit_test_nn_uniform,
    "nn_constant": pjit_test_nn_constant,
}


def _run_pjit_tests():
    """Runs every pjit case against jax itself (a check of the harness) and against jaxinit."""
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    jax.config.update("jax_numpy_rank_promotion", "raise")
    results = {}
    for library, initializers in (("jax", jax.nn.initializers), ("jaxinit", jax_initializers)):
        for name, test in PJIT_TESTS.items():
            mesh = jax.make_mesh((2,), ("x",), axis_types=(jax.sharding.AxisType.Explicit,))
            try:
                with jax.set_mesh(mesh):
                    test(mesh, initializers)
                results[f"{library}:{name}"] = "ok"
            except Exception as error:  # reported to the parent test
                results[f"{library}:{name}"] = f"{type(error).__name__}: {error}"
    print(json.dumps(results))


@pytest.fixture(scope="module")
def pjit_results():
    flags = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.peer.test_jax_nn_initializers"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", list(PJIT_TESTS))
def test_pjit_out_sharding(pjit_results, name):
    if pjit_results[f"jax:{name}"] != "ok":  # the harness itself must reproduce jax's own result
        pytest.skip(f"jax's own initializer fails this check here: {pjit_results[f'jax:{name}']}")
    assert pjit_results[f"jaxinit:{name}"] == "ok", pjit_results[f"jaxinit:{name}"]


if __name__ == "__main__":
    _run_pjit_tests()

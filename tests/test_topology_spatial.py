"""distance_topology: candidates, memory, positions and box, profiles (issue 10 items 1, 8, 14, 17, 18)."""

import brainunit as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxinit import profiles
from jaxinit import topology as T
from jaxinit.topology import _spatial
from tests.helpers import count_compilations

KEY = jax.random.key(0)


def _sheet(n=200, side=1000.0, seed=1):
    return jax.random.uniform(jax.random.key(seed), (n, 2), maxval=side)


def _first_short(xy, radius, k):
    """The first post neuron with fewer than k others within radius, and its count (numpy)."""
    xy = np.asarray(xy, np.float64)
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    counts = (d <= radius).sum(axis=0) - 1  # autapses excluded
    first = int(np.argmax(counts < k))
    return first, int(counts[first]), int(np.sum(counts < k))


def test_post_neurons_short_of_candidates_are_an_error():
    # the user's call: 200 neurons on a 1000 µm sheet, step(30 µm), k = 5 used to return
    # autapses and synapses where the profile is 0
    xy = _sheet()
    post, have, n_short = _first_short(xy, 30.0, 5)
    message = rf"post neuron {post} has only {have} candidate pre neurons .* fewer than k=5.*\({n_short} post neurons"
    with pytest.raises(ValueError, match=message):
        T.distance_topology(KEY, xy, profile=profiles.step(30.0), k=5)
    # at 100 µm most neurons have enough: the error names the first that has not, and its count
    post, have, n_short = _first_short(xy, 100.0, 5)
    assert 0 < post and 0 < n_short < 200
    with pytest.raises(ValueError, match=rf"post neuron {post} has only {have} candidate .*\({n_short} post neurons"):
        T.distance_topology(KEY, xy, profile=profiles.step(100.0), k=5)
    # inside jit, positions closed over: checked before the program runs
    with pytest.raises(ValueError, match=message):
        jax.jit(lambda key: T.distance_topology(key, xy, profile=profiles.step(30.0), k=5))(KEY)
    with pytest.raises(ValueError, match=message):
        jax.vmap(lambda key: T.distance_topology(key, xy, profile=profiles.step(30.0), k=5))(jax.random.split(KEY, 2))
    # positions traced: checked on the device, the computation fails with the same message
    build = jax.jit(lambda key, xy: T.distance_topology(key, xy, profile=profiles.step(30.0), k=5))
    with pytest.raises(jax.errors.JaxRuntimeError, match=message):
        jax.block_until_ready(build(KEY, xy))
    assert build(KEY, _sheet(side=100.0)).nnz == 1000  # the same program, on a dense enough sheet


def test_only_positive_profile_pairs_are_ever_drawn():
    # a 10 x 10 lattice of spacing 10 on a periodic box: exactly 8 neighbours within 15 (4 at 10,
    # 4 at 14.1), so k = 8 must pick exactly them; on open boundaries k = 3 fits the corners
    grid = jnp.stack(jnp.meshgrid(jnp.arange(10.0), jnp.arange(10.0), indexing="ij"), -1).reshape(-1, 2) * 10
    conn = T.distance_topology(KEY, grid, profile=profiles.step(15.0), k=8, box=100.0)
    d = np.asarray(T.synapse_distances(conn, grid, box=100.0))
    assert np.all(d <= 15.0) and np.all(np.asarray(conn.pre) != np.asarray(conn.post))
    expected = np.asarray(profiles.pairwise_distances(grid, grid, box=100.0)) <= 15.0
    np.fill_diagonal(expected, False)
    np.testing.assert_array_equal(np.asarray(conn.to_dense()) > 0, expected)
    conn = T.distance_topology(KEY, grid, profile=profiles.step(15.0), k=3)
    assert np.all(np.asarray(T.synapse_distances(conn, grid)) <= 15.0)


def test_memory_estimate_counts_the_chunk(monkeypatch):
    # 10^5 neurons, k = 5 at chunk 256 need ~1 GB of candidates; the estimate used to say 10 MB
    monkeypatch.setenv("JAXINIT_MEMORY_LIMIT", "512MiB")
    xy = np.zeros((100_000, 2), np.float32)
    with pytest.raises(MemoryError, match="a chunk of 256 post neurons x 100,000 candidates"):
        T.distance_topology(KEY, xy, profile=profiles.gaussian(100.0), k=5, chunk=256)
    # the default chunk fits its candidates in 128 MiB
    assert _spatial.default_chunk(100_000, 2) == 32 and _spatial.default_chunk(1000, 2) == 256
    assert _spatial.default_chunk(10**8, 3) == 1


def test_memory_estimate_bounds_what_xla_allocates():
    # XLA's own memory analysis of the whole build (compiled, not run) stays within the estimate
    n, k, chunk, dim = 20_000, 5, 256, 2
    spec = jax.ShapeDtypeStruct((n, dim), jnp.float32)
    build = jax.jit(lambda key, xy: T.distance_topology(key, xy, profile=profiles.gaussian(100.0), k=k, chunk=chunk))
    memory = build.lower(KEY, spec).compile().memory_analysis()
    used = memory.temp_size_in_bytes + memory.output_size_in_bytes
    estimate = n * k * T._memory.BYTES_PER_SYNAPSE["distance_topology"] + chunk * _spatial.candidate_bytes(n, dim)
    assert used <= estimate, (used, estimate)


def test_a_quantity_box_with_quantity_positions():
    # one convention: positions and box in units together (converted), or plain together
    xy = _sheet(side=1.0, seed=2)
    plain = T.distance_topology(KEY, xy * 1000, profile=profiles.gaussian(100.0), k=5, box=1000.0)
    in_units = T.distance_topology(KEY, xy * u.mm, profile=profiles.gaussian(100 * u.um), k=5, box=1000.0 * u.um)
    np.testing.assert_array_equal(in_units.pre, plain.pre)
    np.testing.assert_array_equal(in_units.post, plain.post)
    d = T.synapse_distances(in_units, xy * u.mm, box=1.0 * u.mm)
    assert d.unit == u.mm and float(d.mantissa.max()) <= np.sqrt(0.5) + 1e-6


BAD = [
    (dict(box=1.0, units=True), ValueError, r"box is a plain number \(1.0\) but the positions are in mm"),
    (dict(box=1.0 * u.mm, units=False), ValueError, "box is a Quantity .* but the positions are plain"),
    (dict(box=0.0, units=False), ValueError, "box must be > 0, got 0.0"),
    (dict(box=-2.0, units=False), ValueError, "box must be > 0, got -2.0"),
    (dict(box=0.0 * u.mm, units=True), ValueError, "box must be > 0, got 0.0"),
    (dict(box=np.inf, units=False), ValueError, "box must be finite, got inf"),
    (dict(box=[1.0, 1.0, 1.0], units=False), ValueError, r"one side length or one per axis \(2\), got shape \(3,\)"),
    (dict(box=1.0, units=False, profile=3.0), TypeError, "profile must be a callable distance profile .* got 3.0"),
]


@pytest.mark.parametrize("args, error, message", BAD, ids=[m[:40] for _, _, m in BAD])
def test_bad_box_and_profile(args, error, message):
    xy = _sheet(n=20, side=1.0)
    positions = xy * u.mm if args["units"] else xy
    profile = args.get("profile", profiles.gaussian(0.5 * u.mm if args["units"] else 0.5))
    with pytest.raises(error, match=message):
        T.distance_topology(KEY, positions, profile=profile, k=2, box=args["box"])
    if error is ValueError and "box" in message:  # the per-synapse helpers share the rule
        conn = T.random_topology(KEY, 20, n_syn=10)
        with pytest.raises(ValueError, match=message):
            T.synapse_distances(conn, positions, box=args["box"])


def test_equal_profiles_share_one_compiled_kernel():
    # profiles are pytrees compared by value: a fresh gaussian(100.0) must not recompile
    xy = _sheet(n=300)
    T.distance_topology(KEY, xy, profile=profiles.gaussian(100.0), k=4)
    with count_compilations() as compiled:
        T.distance_topology(KEY, xy, profile=profiles.gaussian(100.0), k=4)
        T.distance_topology(KEY, xy, profile=profiles.gaussian(120.0), k=4)  # a new sigma is a value
    assert compiled == []

"""Hand-off to simulators against the real packages (NEST, Brian2, brainevent; each test
skips when its package is missing or does not import), and save/load (issue 13 item 3)."""

import io
import subprocess
import sys

import brainunit as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxinit import topology as T

N_PRE, N_POST, N_SYN = 20, 15, 80
RNG = np.random.default_rng(0)


def _network(weight_unit=u.pA, delay_unit=u.ms, multapses=False):
    """A random network between two populations, weights and delays in units (or plain with None)."""
    if multapses:
        pre = RNG.integers(0, N_PRE, N_SYN)
        post = RNG.integers(0, N_POST, N_SYN)
        pre[1], post[1] = pre[0], post[0]  # at least one multapse
        conn = T.Connectivity.from_pairs(pre, post, n_pre=N_PRE, n_post=N_POST, multapses=True)
    else:
        flat = RNG.choice(N_PRE * N_POST, N_SYN, replace=False)
        conn = T.Connectivity.from_pairs(flat // N_POST, flat % N_POST, n_pre=N_PRE, n_post=N_POST)
    weight = jnp.asarray(RNG.normal(20.0, 5.0, conn.nnz), jnp.float32)
    delay = jnp.asarray(RNG.uniform(0.1, 3.0, conn.nnz), jnp.float32)
    attach = lambda values, unit: values if unit is None else values * unit  # noqa: E731
    return T.Connectivity(
        conn.pre,
        conn.post,
        n_pre=N_PRE,
        n_post=N_POST,
        weight=attach(weight, weight_unit),
        delay=attach(delay, delay_unit),
    )


def _plain(values, unit=None):
    return np.asarray(values if unit is None else values.to_decimal(unit), np.float64)


# --- NEST ---


@pytest.fixture
def nest():
    nest = pytest.importorskip("nest")
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    yield nest
    nest.ResetKernel()


def _read_back(nest):
    connections = nest.GetConnections()
    if len(connections) == 0:
        return np.zeros((0, 4))
    got = connections.get(["source", "target", "weight", "delay"])
    if len(connections) == 1:
        got = {key: [value] for key, value in got.items()}
    rows = np.array([got["source"], got["target"], got["weight"], got["delay"]], np.float64).T
    return rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]


def _expected(conn, pre_nodes, post_nodes, weight, delay, resolution):
    """What NEST should hold: node ids by index, the weights, delays rounded to the resolution grid."""
    pre_ids, post_ids = np.asarray(pre_nodes.tolist()), np.asarray(post_nodes.tolist())
    steps = np.floor(delay / resolution + 0.5)  # NEST rounds half up to whole steps
    rows = np.array([pre_ids[np.asarray(conn.pre)], post_ids[np.asarray(conn.post)], weight, steps * resolution])
    rows = rows.T
    return rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]


@pytest.mark.parametrize("multapses", [False, True], ids=["distinct", "multapses"])
def test_to_nest_creates_every_synapse_with_its_weight_and_delay(nest, multapses):
    conn = _network(multapses=multapses)
    pre_nodes = nest.Create("iaf_psc_alpha", N_PRE)
    post_nodes = nest.Create("iaf_psc_alpha", N_POST)
    T.to_nest(conn, pre_nodes, post_nodes)
    got = _read_back(nest)
    weight, delay = _plain(conn.weight, u.pA), _plain(conn.delay, u.ms)
    expected = _expected(conn, pre_nodes, post_nodes, weight, delay, nest.resolution)
    assert got.shape == (conn.nnz, 4)
    np.testing.assert_array_equal(got[:, :3], expected[:, :3])  # ids and float32 weights exactly
    np.testing.assert_allclose(got[:, 3], expected[:, 3], rtol=0, atol=1e-9)
    assert not np.array_equal(np.sort(delay), np.sort(got[:, 3]))  # the delays were off-grid: NEST rounded them
    assert set(nest.GetConnections().get("synapse_model")) == {"static_synapse"}


def test_to_nest_converts_units_to_the_ones_nest_expects(nest):
    # conductance-based neurons: weights in nS; given in pS and delays in us, converted
    conn = _network(weight_unit=u.psiemens, delay_unit=u.us)
    conn = T.Connectivity(conn.pre, conn.post, n_pre=N_PRE, n_post=N_POST, weight=conn.weight, delay=conn.delay * 1000)
    pre_nodes = nest.Create("iaf_cond_alpha", N_PRE)
    post_nodes = nest.Create("iaf_cond_alpha", N_POST)
    T.to_nest(conn, pre_nodes, post_nodes, weight_unit=u.nS, syn_spec={"synapse_model": "static_synapse"})
    got = _read_back(nest)
    weight, delay = _plain(conn.weight, u.nS), _plain(conn.delay, u.ms)
    expected = _expected(conn, pre_nodes, post_nodes, weight, delay, nest.resolution)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    assert 1e-3 < np.abs(got[:, 2]).max() < 1.0  # pS values near 20 arrived as nS near 0.02


def test_to_nest_plain_values_and_syn_spec(nest):
    plain = _network(weight_unit=None, delay_unit=None)
    neurons = nest.Create("iaf_psc_alpha", N_PRE + N_POST)
    T.to_nest(plain, neurons[:N_PRE], neurons[N_PRE:])
    got = _read_back(nest)
    expected = _expected(plain, neurons[:N_PRE], neurons[N_PRE:], _plain(plain.weight), _plain(plain.delay), 0.1)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    nest.ResetKernel()
    # no values on the synapses: syn_spec's numbers for all of them, node ids as plain lists
    bare = T.Connectivity(plain.pre, plain.post, n_pre=N_PRE, n_post=N_POST)
    neurons = nest.Create("iaf_psc_alpha", N_PRE + N_POST)
    ids = neurons.tolist()
    T.to_nest(bare, ids[:N_PRE], ids[N_PRE:], syn_spec={"weight": -3.0, "delay": 2.0})
    got = _read_back(nest)
    assert got.shape == (bare.nnz, 4)
    assert set(got[:, 2]) == {-3.0} and set(got[:, 3]) == {2.0}


def test_to_nest_refuses_before_connecting_anything(nest):
    conn = _network()
    pre_nodes = nest.Create("iaf_psc_alpha", N_PRE)
    post_nodes = nest.Create("iaf_psc_alpha", N_POST)
    with pytest.raises(ValueError, match=rf"post_nodes has {N_PRE} nodes but the connectivity has n_post={N_POST}"):
        T.to_nest(conn, pre_nodes, pre_nodes)
    with pytest.raises(ValueError, match="syn_spec sets 'weight' but the connectivity has weights"):
        T.to_nest(conn, pre_nodes, post_nodes, syn_spec={"weight": 1.0})
    with pytest.raises(ValueError, match="cannot be converted to"):
        T.to_nest(conn, pre_nodes, post_nodes, weight_unit=u.nS)
    with pytest.raises(ValueError, match="weight_unit=.* was given but the weights are unit-free"):
        T.to_nest(_network(weight_unit=None), pre_nodes, post_nodes, weight_unit=u.pA)
    short = conn.delay.to_decimal(u.ms).at[7].set(0.04)
    low = T.Connectivity(conn.pre, conn.post, n_pre=N_PRE, n_post=N_POST, weight=conn.weight, delay=short * u.ms)
    message = r"delays must be >= NEST's resolution 0.1 ms, got 1 below it, the smallest 0.0399.* ms \(synapse 7, "
    with pytest.raises(ValueError, match=message):
        T.to_nest(low, pre_nodes, post_nodes)
    assert len(nest.GetConnections()) == 0
    # clipped on request: the short delay becomes the resolution
    T.to_nest(low, pre_nodes, post_nodes, clip_delays=True)
    got = nest.GetConnections(source=pre_nodes[int(low.pre[7])], target=post_nodes[int(low.post[7])])
    assert got.get("delay") == pytest.approx(0.1)
    assert len(nest.GetConnections()) == conn.nnz


def test_to_nest_accepts_delays_at_the_resolution_up_to_float_rounding(nest):
    conn = _network()
    at_resolution = jnp.full(conn.nnz, 100.0, jnp.float32) * u.us  # 0.1 ms, a hair below it in float32
    conn = T.Connectivity(conn.pre, conn.post, n_pre=N_PRE, n_post=N_POST, delay=at_resolution)
    T.to_nest(conn, nest.Create("iaf_psc_alpha", N_PRE), nest.Create("iaf_psc_alpha", N_POST))
    assert set(nest.GetConnections().get("delay")) == {0.1}


def test_to_nest_without_synapses_connects_nothing(nest):
    empty = T.Connectivity(jnp.zeros(0, jnp.int32), jnp.zeros(0, jnp.int32), n_pre=3, n_post=2)
    T.to_nest(empty, nest.Create("iaf_psc_alpha", 3), nest.Create("iaf_psc_alpha", 2))
    assert len(nest.GetConnections()) == 0


def test_importing_nest_leaves_jax_and_numpy_settings_alone():
    pytest.importorskip("nest")
    script = (
        "import jax, numpy as np\n"
        "names = ['jax_enable_x64', 'jax_numpy_dtype_promotion', 'jax_numpy_rank_promotion', 'jax_platforms']\n"
        "before = ([getattr(jax.config, n) for n in names], np.get_printoptions(), np.geterr())\n"
        "import nest\n"
        "after = ([getattr(jax.config, n) for n in names], np.get_printoptions(), np.geterr())\n"
        "print('SAME' if before == after else f'CHANGED {before} {after}')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "SAME"


# --- Brian2 ---

# Brian2 2.9 calls pyparsing's camelCase names, deprecated since pyparsing 3.3
brian2_pyparsing = pytest.mark.filterwarnings(
    r"ignore:'[A-Za-z]+' (argument is )?deprecated:DeprecationWarning:(brian2|pyparsing)"
)


@pytest.fixture
def b2():
    try:
        import brian2
    except Exception as error:  # Brian2 2.9 raises AttributeError under numpy >= 2.4
        pytest.skip(f"brian2 does not import here: {type(error).__name__}: {error}")
    brian2.prefs.codegen.target = "numpy"
    brian2.BrianLogger.suppress_name("unused_brian_object")  # the groups here are never simulated
    return brian2


@brian2_pyparsing
def test_to_brian2_connects_pairs_and_sets_values_in_brian2_units(b2):
    conn = _network(multapses=True)
    source = b2.NeuronGroup(N_PRE, "v : volt", threshold="v > 0*volt", reset="")
    target = b2.NeuronGroup(N_POST, "I : amp")
    synapses = b2.Synapses(source, target, "w : amp", on_pre="I_post += w")
    T.to_brian2(synapses, conn)
    np.testing.assert_array_equal(synapses.i[:], np.asarray(conn.pre))
    np.testing.assert_array_equal(synapses.j[:], np.asarray(conn.post))
    np.testing.assert_allclose(synapses.w[:] / b2.pA, _plain(conn.weight, u.pA), rtol=1e-12)
    np.testing.assert_allclose(synapses.delay[:] / b2.ms, _plain(conn.delay, u.ms), rtol=1e-12)
    # a second projection into the same Synapses is appended, the first one untouched
    T.to_brian2(synapses, conn, delay=False)
    assert len(synapses) == 2 * conn.nnz
    np.testing.assert_allclose(synapses.w[conn.nnz :] / b2.pA, _plain(conn.weight, u.pA), rtol=1e-12)
    np.testing.assert_allclose(synapses.delay[: conn.nnz] / b2.ms, _plain(conn.delay, u.ms), rtol=1e-12)


@brian2_pyparsing
def test_to_brian2_compound_units_plain_values_and_subgroups(b2):
    conn = _network(weight_unit=u.nS / u.um, delay_unit=None)
    group = b2.NeuronGroup(N_PRE + N_POST, "g : siemens / meter", threshold="g > 0*siemens/meter", reset="")
    synapses = b2.Synapses(group[:N_PRE], group[N_PRE:], "w : siemens / meter", on_pre="g_post += w")
    T.to_brian2(synapses, conn)
    np.testing.assert_allclose(synapses.w[:] / (b2.nS / b2.um), _plain(conn.weight, u.nS / u.um), rtol=1e-12)
    np.testing.assert_allclose(synapses.delay[:] / b2.ms, _plain(conn.delay), rtol=1e-12)  # plain delays: ms


@brian2_pyparsing
def test_to_brian2_refuses_what_does_not_fit(b2):
    conn = _network()
    group = b2.NeuronGroup(N_PRE, "v : volt", threshold="v > 0*volt", reset="")
    with pytest.raises(ValueError, match=rf"target group has {N_PRE} neurons but the connectivity has n_post={N_POST}"):
        T.to_brian2(b2.Synapses(group, group, "w : amp", on_pre="v += w * ohm"), conn)
    other = b2.NeuronGroup(N_POST, "I : amp")
    with pytest.raises(ValueError, match="no variable 'weight'"):
        T.to_brian2(b2.Synapses(group, other, "w : amp", on_pre="I += w"), conn, weight="weight")
    with pytest.raises(ValueError, match="no on_pre pathway"):
        T.to_brian2(b2.Synapses(group, other, "w : amp"), conn)
    empty = T.Connectivity(jnp.zeros(0, jnp.int32), jnp.zeros(0, jnp.int32), n_pre=N_PRE, n_post=N_POST)
    synapses = b2.Synapses(group, other, "w : amp", on_pre="I += w")
    T.to_brian2(synapses, empty)
    assert len(synapses) == 0


# --- brainevent ---


@pytest.fixture
def brainevent():
    return pytest.importorskip("brainevent")


def test_to_brainevent_products_equal_the_dense_matrix(brainevent):
    conn = _network(weight_unit=None, multapses=True)  # a multapse: its weights sum
    csr = T.to_brainevent(conn, backend="jax_raw")
    assert isinstance(csr, brainevent.CSR) and csr.shape == (N_PRE, N_POST)
    dense = np.asarray(conn.to_dense(), np.float64)
    post_vector = jnp.asarray(RNG.normal(size=N_POST), jnp.float32)
    pre_vector = jnp.asarray(RNG.normal(size=N_PRE), jnp.float32)
    spikes = jnp.asarray(RNG.random(N_PRE) < 0.3)
    np.testing.assert_allclose(csr.todense(), dense, rtol=1e-6)
    np.testing.assert_allclose(csr @ post_vector, dense @ np.asarray(post_vector), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(pre_vector @ csr, np.asarray(pre_vector) @ dense, rtol=1e-5, atol=1e-4)
    events = brainevent.BinaryArray(spikes) @ csr  # event-driven propagation: each post neuron's input
    np.testing.assert_allclose(events, np.asarray(spikes, np.float64) @ dense, rtol=1e-5, atol=1e-4)
    # the same propagation in plain JAX over the CSC view (by_post), as a model without brainevent runs it
    indptr, order = conn.by_post()
    arriving = jnp.where(spikes[conn.pre], conn.weight, 0.0)[order]
    summed = jnp.concatenate([jnp.zeros(1, arriving.dtype), jnp.cumsum(arriving)])
    np.testing.assert_allclose(summed[indptr[1:]] - summed[indptr[:-1]], events, rtol=1e-5, atol=1e-4)
    bare = T.Connectivity(conn.pre, conn.post, n_pre=N_PRE, n_post=N_POST)  # no weights: ones
    np.testing.assert_array_equal(T.to_brainevent(bare, backend="jax_raw").todense(), bare.to_dense())


def test_to_brainevent_default_backend_when_numba_is_installed(brainevent):
    pytest.importorskip("numba")  # brainevent's default CPU kernels ("brainevent[cpu]", the sim extra)
    conn = _network(weight_unit=None)
    spikes = jnp.asarray(RNG.random(N_PRE) < 0.3)
    expected = np.asarray(spikes, np.float64) @ np.asarray(conn.to_dense(), np.float64)
    np.testing.assert_allclose(brainevent.BinaryArray(spikes) @ T.to_brainevent(conn), expected, rtol=1e-5, atol=1e-4)


def test_to_brainevent_keeps_units_or_gives_plain_values(brainevent):
    conn = _network(weight_unit=u.nS)
    spikes = jnp.asarray(RNG.random(N_PRE) < 0.5)
    expected = np.asarray(spikes, np.float64) @ _plain(conn.to_dense(), u.nS)
    kept = brainevent.BinaryArray(spikes) @ T.to_brainevent(conn, backend="jax_raw")
    assert kept.unit == u.nS
    np.testing.assert_allclose(kept.to_decimal(u.nS), expected, rtol=1e-5, atol=1e-4)
    plain = brainevent.BinaryArray(spikes) @ T.to_brainevent(conn, unit=u.psiemens, backend="jax_raw")
    np.testing.assert_allclose(plain, 1000 * expected, rtol=1e-5, atol=1e-1)
    with pytest.raises(ValueError, match="unit=.* was given but the weights are unit-free"):
        T.to_brainevent(_network(weight_unit=None), unit=u.nS)
    with pytest.raises(ValueError, match="cannot be converted"):
        T.to_brainevent(conn, unit=u.ms)


# --- save and load ---


def _roundtrip(conn, file=None):
    file = io.BytesIO() if file is None else file
    T.save(file, conn)
    if isinstance(file, io.BytesIO):
        file.seek(0)
    return T.load(file)


def _assert_same(again, conn):
    assert (again.n_pre, again.n_post) == (conn.n_pre, conn.n_post)
    for param in ("pre", "post", "weight", "delay"):
        value, back = getattr(conn, param), getattr(again, param)
        if value is None:
            assert back is None, param
            continue
        if isinstance(value, u.Quantity):
            assert isinstance(back, u.Quantity) and back.unit == value.unit, param
            value, back = value.mantissa, back.mantissa
        assert isinstance(back, jax.Array) and back.dtype == value.dtype, param
        np.testing.assert_array_equal(np.asarray(back), np.asarray(value), err_msg=param)


@pytest.mark.parametrize(
    "weight_unit, delay_unit, multapses",
    [(u.pA, u.ms, False), (None, u.ms, True), (u.nS / u.um, None, False), (None, None, False)],
    ids=["pA-ms", "plain-ms-multapses", "compound-plain", "plain"],
)
def test_save_load_roundtrip_keeps_arrays_dtypes_and_units(tmp_path, weight_unit, delay_unit, multapses):
    conn = _network(weight_unit=weight_unit, delay_unit=delay_unit, multapses=multapses)
    path = tmp_path / "network.bin"
    _assert_same(_roundtrip(conn, path), conn)
    assert path.exists() and not (tmp_path / "network.bin.npz").exists()  # written where asked, no suffix
    _assert_same(_roundtrip(conn, str(path)), conn)
    _assert_same(_roundtrip(conn), conn)  # a file object


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16, jnp.int32, jnp.bool_])
def test_save_load_roundtrip_of_other_dtypes(dtype):
    conn = _network(weight_unit=None, delay_unit=None)
    values = jnp.asarray(RNG.normal(size=conn.nnz) > 0 if dtype == jnp.bool_ else RNG.normal(size=conn.nnz) * 10)
    conn = T.Connectivity(conn.pre, conn.post, n_pre=N_PRE, n_post=N_POST, weight=values.astype(dtype))
    _assert_same(_roundtrip(conn), conn)


def test_save_load_without_synapses_or_values():
    for conn in (T.Connectivity(jnp.zeros(0, jnp.int32), jnp.zeros(0, jnp.int32), n_pre=0, n_post=4), T.one_to_one(5)):
        _assert_same(_roundtrip(conn), conn)


def test_save_refuses_traced_and_batched_connectivity():
    conn = _network()
    with pytest.raises(TypeError, match="save: the connectivity must be concrete"):
        jax.jit(lambda c: T.save(io.BytesIO(), c))(conn)
    batch = T.Connectivity(jnp.zeros((2, 3), jnp.int32), jnp.zeros((2, 3), jnp.int32), n_pre=2, n_post=2)
    with pytest.raises(ValueError, match="save: expected one network, got batched indices of shape"):
        T.save(io.BytesIO(), batch)


def _saved_arrays():
    buffer = io.BytesIO()
    T.save(buffer, _network())
    buffer.seek(0)
    with np.load(buffer) as archive:
        return {key: archive[key] for key in archive.files}


def _unsorted(arrays):
    arrays["pre"] = arrays["pre"][::-1].copy()
    return arrays


BAD_FILES = {
    "wrong format": (lambda a: {**a, "format": np.array("something else")}, "its format is 'something else'"),
    "no format": (lambda a: {k: v for k, v in a.items() if k != "format"}, "it has no 'format' entry"),
    "newer version": (lambda a: {**a, "version": np.array(99)}, "format version 99, newer than this jaxinit reads"),
    "missing post": (lambda a: {k: v for k, v in a.items() if k != "post"}, "missing post"),
    "negative size": (lambda a: {**a, "n_pre": np.array(-1)}, "n_pre must be >= 0"),
    "float size": (lambda a: {**a, "n_post": np.array(2.5)}, "n_post must be an integer"),
    "out of range": (lambda a: {**a, "n_post": np.array(3)}, r"post holds indices outside \[0, n_post=3\)"),
    "lengths": (lambda a: {**a, "post": a["post"][:-1]}, "pre and post differ in length"),
    "unsorted": (_unsorted, r"not sorted by \(pre, post\)"),
    "weight length": (lambda a: {**a, "weight": a["weight"][:-1]}, "weight must have one entry per synapse"),
    "orphan unit": (lambda a: {k: v for k, v in a.items() if k != "delay"}, "it has delay_dtype but no delay"),
    "bad unit": (lambda a: {**a, "weight_unit": np.array("{}")}, "weight_unit: not a unit description"),
    "bad dtype": (lambda a: {**a, "weight_dtype": np.array("complex128")}, "stored as float32, which cannot hold"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_load_refuses_bad_files_with_clear_errors(case):
    change, message = BAD_FILES[case]
    buffer = io.BytesIO()
    np.savez(buffer, **change(_saved_arrays()))
    buffer.seek(0)
    with pytest.raises(ValueError, match=message):
        T.load(buffer)


def test_load_refuses_files_that_are_not_saved_networks(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a network")
    with pytest.raises(ValueError, match="notes.txt is not a connectivity saved by jaxinit.topology.save"):
        T.load(text)
    single = tmp_path / "array.npy"
    np.save(single, np.arange(3))
    with pytest.raises(ValueError, match="holds a single array"):
        T.load(single)


def test_unit_free_save_and_load_do_not_import_brainunit(tmp_path):
    path = tmp_path / "network.npz"
    script = (
        "import sys, jax\n"
        "from jaxinit import topology as T\n"
        f"T.save({str(path)!r}, T.random_topology(jax.random.key(0), 10, n_syn=20))\n"
        f"conn = T.load({str(path)!r})\n"
        "print(conn.nnz, 'brainunit' in sys.modules or 'saiunit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["20", "False"]


def test_missing_simulator_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "brainevent", None)  # makes `import brainevent` fail
    with pytest.raises(ImportError, match=r'to_brainevent needs brainevent: pip install "jaxinit\[sim\]"'):
        T.to_brainevent(_network())

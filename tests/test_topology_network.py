"""Networks of populations (topology.network, projection, population_of) and the
Potjans–Diesmann microcircuit (jaxinit.models)."""

import functools
import json
import subprocess
import sys

import jax
import numpy as np
import pytest
from scipy import stats

import jaxinit as ji
from jaxinit import models
from jaxinit import topology as T
from tests.helpers import count_compilations

KEY = jax.random.key(0)
SIZES = [60, 30, 45]


def _counts_by_projection(conn, sizes):
    pops_pre = np.asarray(T.population_of(sizes, conn.pre))
    pops_post = np.asarray(T.population_of(sizes, conn.post))
    table = np.zeros((len(sizes), len(sizes)), int)
    np.add.at(table, (pops_pre, pops_post), 1)
    return table


def _assert_sorted_in_range(conn):
    pre, post = np.asarray(conn.pre), np.asarray(conn.post)
    assert conn.pre.dtype == np.int32 and conn.post.dtype == np.int32
    assert (np.lexsort((post, pre)) == np.arange(pre.size)).all()
    assert ((pre >= 0) & (pre < conn.n_pre)).all() and ((post >= 0) & (post < conn.n_post)).all()


def _table():
    """A mix of fused (random_topology with multapses) and built rules."""
    multapses = functools.partial(T.random_topology, multapses=True)
    exc_w, inh_w = ji.clip(ji.normal(1.0, 0.2), low=0.0), ji.clip(ji.normal(-3.0, 0.5), high=0.0)
    return [
        [
            T.projection(functools.partial(multapses, n_syn=500), exc_w, ji.constant(1.5)),
            T.projection(functools.partial(T.fixed_indegree, k=7), exc_w, 2.0),
            None,
        ],
        [
            T.projection(functools.partial(T.pairwise_bernoulli, p=0.2), inh_w, ji.uniform(0.5, 1.0)),
            None,
            T.projection(functools.partial(multapses, n_syn=300), inh_w, ji.constant(0.8)),
        ],
        [None, T.projection(functools.partial(T.all_to_all), exc_w, 1.0), None],
    ]


@pytest.mark.parametrize("block_size", [10**9, 300], ids=["one block", "blocks of 300"])
def test_network_counts_order_and_dale_signs(block_size):
    conn = T.network(KEY, SIZES, _table(), block_size=block_size)
    _assert_sorted_in_range(conn)
    counts = _counts_by_projection(conn, SIZES)
    assert counts[0, 0] == 500 and counts[0, 1] == 7 * 30 and counts[1, 2] == 300
    assert counts[2, 1] == 45 * 30 and counts[0, 2] == counts[1, 1] == counts[2, 0] == counts[2, 2] == 0
    # the Bernoulli count is random: 30 * 60 pairs with p = 0.2, within 6 sd of its mean
    assert abs(counts[1, 0] - 360) < 6 * np.sqrt(1800 * 0.2 * 0.8)
    pre_pop = np.asarray(T.population_of(SIZES, conn.pre))
    weight, delay = np.asarray(conn.weight), np.asarray(conn.delay)
    assert (weight[pre_pop != 1] >= 0).all() and (weight[pre_pop == 1] <= 0).all()
    assert (delay[pre_pop == 0] >= 1.5).all() and set(np.unique(delay[pre_pop == 2])) == {1.0}
    # no autapse on the recurrent (diagonal) projection unless its rule allows one
    diagonal = (pre_pop == 0) & (np.asarray(T.population_of(SIZES, conn.post)) == 0)
    assert not (np.asarray(conn.pre)[diagonal] == np.asarray(conn.post)[diagonal]).any()


def test_network_values_follow_each_projections_law():
    """One grouped draw for many projections: each projection's weights have its own mean
    and sd (z-tests at 6 sd: false failure < 1e-8 per check)."""
    means = [1.0, -2.0, 5.0, 0.5]
    table = [[None] * 4 for _ in range(4)]
    for i, mean in enumerate(means):
        rule = functools.partial(T.random_topology, n_syn=4000, multapses=True)
        table[i][(i + 1) % 4] = T.projection(rule, weight=ji.normal(mean, abs(mean) * 0.1))
    sizes = [100, 100, 100, 100]
    conn = T.network(KEY, sizes, table)
    pop = np.asarray(T.population_of(sizes, conn.pre))
    for i, mean in enumerate(means):
        w = np.asarray(conn.weight)[pop == i]
        sd = abs(mean) * 0.1
        assert w.size == 4000
        assert abs(w.mean() - mean) < 6 * sd / np.sqrt(w.size)
        assert abs(w.std() / sd - 1) < 6 * np.sqrt(0.5 / w.size)


@pytest.mark.parametrize("block_size", [10**9, 1500], ids=["one block", "blocks of 1500"])
def test_fused_pairs_are_uniform(block_size):
    """Fixed total number with multapses: each pre neuron's count is Binomial(K, 1/n_pre) and
    each post's Binomial(K, 1/n_post); a chi-square test of the pre counts against the
    uniform law (false failure 1e-6). In blocks, a wrong split of the count over the
    blocks (or a wrong row range) shows as uneven pre counts."""
    k, n_pre, n_post = 20000, 50, 40
    rule = functools.partial(T.random_topology, n_syn=k, multapses=True)
    conn = T.network(KEY, [n_pre, n_post], [[None, T.projection(rule)], [None, None]], block_size=block_size)
    pre = np.asarray(conn.pre)
    post = np.asarray(conn.post) - n_pre
    for counts, n in ((np.bincount(pre, minlength=n_pre), n_pre), (np.bincount(post, minlength=n_post), n_post)):
        chi2 = ((counts - k / n) ** 2 / (k / n)).sum()
        assert stats.chi2.sf(chi2, n - 1) > 1e-6


def test_values_a_rule_brings_are_the_same_in_blocks():
    """Rules that bring their own weights (drawn with the projection's key, whatever the
    blocks) sort with their pairs: in blocks, the network is the same element for element."""

    def with_weights(k, mean):
        def rule(key, n_pre, n_post, **_):
            conn = T.fixed_indegree(key, n_pre, n_post, k=k)
            return T.with_weights(key, conn, ji.normal(mean, 0.1))

        return rule

    sizes = [40, 25]
    table = [[with_weights(5, 1.0), with_weights(8, 2.0)], [with_weights(3, -1.0), None]]
    whole = T.network(KEY, sizes, table)
    blocked = T.network(KEY, sizes, table, block_size=50)
    for name in ("pre", "post", "weight"):
        np.testing.assert_array_equal(getattr(blocked, name), getattr(whole, name))


def test_networks_past_46341_neurons_are_built_in_blocks_of_packable_pairs():
    """Above 46,341 neurons a pair no longer packs into one int32 sort key: the network
    is built in blocks of fewer source neurons. The count falling in the last block is
    Binomial(K, share) (checked within 6 sd)."""
    n, k = 50_000, 3000
    rule = functools.partial(T.random_topology, n_syn=k, multapses=True, allow_autapse=True)
    conn = T.network(KEY, [n], [[T.projection(rule, weight=ji.normal(1.0, 0.1))]])
    _assert_sorted_in_range(conn)
    assert conn.nnz == k and np.isfinite(np.asarray(conn.weight)).all()
    width = (2**31 - 1) // n
    share = (n - width) / n
    tail = int((np.asarray(conn.pre) >= width).sum())
    assert abs(tail - k * share) < 6 * np.sqrt(k * share * (1 - share))


def test_rebuilding_in_the_same_capacity_classes_compiles_nothing():
    def build(key, k):
        rule = functools.partial(T.random_topology, n_syn=k, multapses=True)
        proj = T.projection(rule, weight=ji.normal(1.0, 0.1), delay=ji.clip(ji.normal(1.5, 0.7), low=0.1))
        return T.network(key, [200, 50], [[proj, proj], [proj, None]])

    jax.block_until_ready(build(KEY, 900).pre)
    key_3 = jax.random.key(3)  # made outside the counted call (its seeding would count)
    with count_compilations() as compiles:
        conn = build(key_3, 1000)  # other key, other counts: same capacity classes
        jax.block_until_ready(conn.pre)
    assert conn.nnz == 3000 and compiles == []


def test_values_see_distances_and_units():
    import brainunit as u

    pos = [np.random.default_rng(0).uniform(0, 100, (n, 2)).astype(np.float32) * u.um for n in (40, 30)]

    def by_distance(key, shape, dtype=None, *, distances, **_):
        return distances.to_decimal(u.um) * 0.001 * u.nS

    rule = functools.partial(T.fixed_outdegree, k=5)
    table = [
        [T.projection(rule, weight=by_distance), T.projection(rule, weight=ji.normal(1.0 * u.nS, 0.1 * u.nS))],
        [T.projection(rule, weight=2e-12 * u.siemens), None],
    ]
    conn = T.network(KEY, [40, 30], table, positions=pos)
    assert conn.weight.unit == u.nS
    w = np.asarray(conn.weight.to_decimal(u.nS))
    pre, post = np.asarray(conn.pre), np.asarray(conn.post)
    every = np.concatenate([np.asarray(p.to_decimal(u.um)) for p in pos])
    d = np.sqrt(((every[pre] - every[post]) ** 2).sum(-1))
    both0 = (pre < 40) & (post < 40)
    np.testing.assert_allclose(w[both0], d[both0] * 0.001, rtol=1e-5)
    np.testing.assert_allclose(w[pre >= 40], 0.002, rtol=1e-6)


def test_projection_alone_and_spatial_rules_get_positions():
    proj = T.projection(functools.partial(T.fixed_indegree, k=3), weight=0.5)
    conn = proj(KEY, 20, 10)
    assert conn.nnz == 30 and float(conn.weight.sum()) == 15.0
    pos = [np.stack(np.meshgrid(np.arange(6.0), np.arange(5.0)), -1).reshape(-1, 2).astype(np.float32)] * 2
    spatial = T.projection(functools.partial(T.distance_topology, profile=ji.profiles.gaussian(2.0), k=4))
    conn = T.network(KEY, [30, 30], [[spatial, None], [None, spatial]], positions=pos)
    assert conn.nnz == 2 * 30 * 4
    assert (np.asarray(T.population_of([30, 30], conn.pre)) == np.asarray(T.population_of([30, 30], conn.post))).all()


def test_population_of():
    assert T.population_of([2, 3, 1], np.arange(6)).tolist() == [0, 0, 1, 1, 1, 2]


@pytest.mark.parametrize(
    "sizes, table, match",
    [
        ([10, 10], [[None]], r"table must be 2 x 2"),
        ([10, 0], [[None, None], [None, None]], r"population 1 has size 0"),
        ([10, 10], [[None, 3], [None, None]], r"table\[0\]\[1\] must be None or a projection"),
        ([10, 10], [[None, lambda key, n_pre, n_post, **_: T.one_to_one(4)], [None, None]], r"projection \(0, 1\)"),
        (
            [10, 10],
            [[T.projection(functools.partial(T.distance_topology, profile=ji.profiles.gaussian(1.0), k=2)), None]] * 2,
            r"projection \(0, 0\).*positions",
        ),
        (
            [10, 10],
            [[T.projection(functools.partial(T.fixed_indegree, k=2), weight=1.0), None], [None, None]] + [],
            None,
        ),
    ],
)
def test_bad_tables_name_the_projection(sizes, table, match):
    if match is None:
        T.network(KEY, sizes, table)  # a valid control: the table above builds
        return
    with pytest.raises((ValueError, TypeError), match=match):
        T.network(KEY, sizes, table)


def test_values_on_some_projections_only_or_in_clashing_units_are_refused():
    import brainunit as u

    rule = functools.partial(T.fixed_indegree, k=2)
    some = [[T.projection(rule, weight=1.0), T.projection(rule)], [None, None]]
    with pytest.raises(ValueError, match=r"projection \(0, 0\) gives a weight but projection \(0, 1\) does not"):
        T.network(KEY, [5, 5], some)
    clash = [[T.projection(rule, weight=1.0 * u.nS), T.projection(rule, weight=1.0 * u.mV)], [None, None]]
    with pytest.raises(ValueError, match=r"projection \(0, 1\).*mV"):
        T.network(KEY, [5, 5], clash)
    with pytest.raises(TypeError, match="weight must be an initializer, a number or a Quantity"):
        T.projection(rule, weight="heavy")


def test_microcircuit_counts_signs_delays_and_indegrees():
    model = models.potjans_diesmann(KEY, scale=0.05)
    conn, sizes = model.conn, model.sizes
    _assert_sorted_in_range(conn)
    counts = _counts_by_projection(conn, sizes)
    np.testing.assert_array_equal(counts.T, np.asarray(model.synapses))  # synapses are [target][source]
    pre_pop = np.asarray(T.population_of(sizes, conn.pre))
    post_pop = np.asarray(T.population_of(sizes, conn.post))
    weight, delay = np.asarray(conn.weight), np.asarray(conn.delay)
    assert (weight[pre_pop % 2 == 0] >= 0).all() and (weight[pre_pop % 2 == 1] <= 0).all()
    assert delay.min() >= 0.1 - 1e-6
    # mean weight per projection: 87.81 pA, doubled from L4E to L2/3E, -4x from inhibitory sources
    w_l4e_l23e = weight[(pre_pop == 2) & (post_pop == 0)]
    assert abs(w_l4e_l23e.mean() - 2 * 87.81) < 6 * 17.562 / np.sqrt(w_l4e_l23e.size)
    w_l23i_l23e = weight[(pre_pop == 1) & (post_pop == 0)]
    assert abs(w_l23i_l23e.mean() + 4 * 87.81) < 6 * 35.124 / np.sqrt(w_l23i_l23e.size)
    # in-degrees from one source population: Binomial(K, 1 / N_target) per target neuron;
    # their variance over targets against K (1/N)(1 - 1/N) (6 sd of a sample variance)
    post = np.asarray(conn.post)
    offsets = np.cumsum([0, *sizes])
    for target, source in [(0, 0), (0, 2), (2, 3), (4, 5)]:
        k, n = model.synapses[target][source], sizes[target]
        indeg = np.bincount(post[(pre_pop == source) & (post_pop == target)] - offsets[target], minlength=n)
        var = k / n * (1 - 1 / n)
        assert indeg.mean() == pytest.approx(k / n)
        assert abs(indeg.var(ddof=1) / var - 1) < 6 * np.sqrt(2 / (n - 1)) + 0.05


def test_microcircuit_sizes_follow_the_paper():
    sizes, synapses = models.microcircuit_sizes(1.0)
    assert sizes == models.FULL_SIZES and sum(sizes) == 77169
    assert 2.9e8 < sum(map(sum, synapses)) < 3.1e8  # "about 3 x 10^8 synapses"
    assert synapses[0][5] == 0  # p = 0 from L5I to L2/3E
    with pytest.raises(ValueError, match=r"scale must be a number in \(0, 1\], got 0"):
        models.microcircuit_sizes(0)


_COUNT_COMPILES = """
import json, jax
compiles = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, duration, **_: compiles.append(1) if event == "/jax/core/compile/backend_compile_duration" else None
)
from jaxinit import models
model = models.potjans_diesmann(jax.random.key(0), scale=0.05)
jax.block_until_ready(model.conn.weight)
print(json.dumps({"compiles": len(compiles), "projections": sum(k > 0 for row in model.synapses for k in row)}))
"""


def test_microcircuit_compiles_at_most_16_programs_in_a_fresh_process():
    out = subprocess.run([sys.executable, "-c", _COUNT_COMPILES], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["projections"] >= 50 and result["compiles"] <= 16, result

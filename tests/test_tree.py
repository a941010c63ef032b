"""reinit on plain dicts, Flax linen/nnx and Equinox trees."""

import math

import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxinit as ji

KEY = jax.random.key(0)


def torch_bias(key, shape, dtype=None, fan_in=None, **ctx):
    """PyTorch's default bias: U(-1/√fan_in, 1/√fan_in), fan_in from the context reinit passes."""
    bound = 1.0 / math.sqrt(fan_in)
    return jax.random.uniform(key, shape, dtype, -bound, bound)


def _std_within(x, target, n=None):
    n = x.size if n is None else n
    return abs(float(jnp.std(x)) - target) < 5 * target / math.sqrt(2 * n)


def test_plain_dict_first_match_wins_and_unmatched_leaves_are_kept():
    params = {"enc": {"kernel": jnp.zeros((64, 32)), "bias": jnp.ones(32)}, "step": 3, "scale": jnp.ones(2)}
    new = ji.reinit(KEY, params, {"enc/kernel": ji.normal(0.0, 2.0), "*kernel": ji.ones, "*bias": ji.zeros})
    assert _std_within(new["enc"]["kernel"], 2.0)  # the first rule, not "*kernel"
    np.testing.assert_array_equal(new["enc"]["bias"], 0.0)
    assert new["step"] == 3
    np.testing.assert_array_equal(new["scale"], params["scale"])


def test_each_leaf_gets_its_own_key():
    params = {"a": jnp.zeros((100, 100)), "b": jnp.zeros((100, 100))}
    new = ji.reinit(KEY, params, {"*": ji.normal()})
    assert abs(np.corrcoef(np.ravel(new["a"]), np.ravel(new["b"]))[0, 1]) < 5 / 100
    again = ji.reinit(KEY, params, {"*": ji.normal()})
    np.testing.assert_array_equal(again["a"], new["a"])  # pure: same key, same values


def test_shape_and_dtype_come_from_the_leaf():
    params = {"w": jnp.zeros((3, 4), jnp.bfloat16), "mask": jnp.zeros(5, bool)}
    new = ji.reinit(KEY, params, {"w": ji.normal(), "mask": ji.bernoulli(0.5)})
    assert new["w"].dtype == jnp.bfloat16 and new["w"].shape == (3, 4)
    assert new["mask"].dtype == jnp.bool_


def test_equinox_linear_fan_in_is_the_input_size():
    layer = eqx.nn.Linear(400, 10, key=KEY)  # weight stored (10, 400)
    new = ji.reinit(KEY, layer, {"weight": ji.kaiming_normal(), "bias": torch_bias})
    assert _std_within(new.weight, math.sqrt(2 / 400))
    assert float(jnp.abs(new.bias).max()) <= 1 / math.sqrt(400)
    assert not np.allclose(new.weight, layer.weight)


def test_equinox_conv_fans_and_bias():
    conv = eqx.nn.Conv2d(16, 32, 3, key=KEY)  # weight (32, 16, 3, 3): fan-in 16·9
    new = ji.reinit(KEY, conv, {"weight": ji.variance_scaling(2.0, "fan_in", "normal"), "bias": torch_bias})
    assert _std_within(new.weight, math.sqrt(2 / 144))
    bound = 1 / math.sqrt(144)
    assert float(jnp.abs(new.bias).max()) <= bound and float(jnp.abs(new.bias).max()) > 0.5 * bound


def test_equinox_mlp_paths():
    mlp = eqx.nn.MLP(8, 2, 16, 2, key=KEY)
    new = ji.reinit(KEY, mlp, {"layers/1/weight": ji.orthogonal(), "layers/*/bias": ji.zeros})
    w = np.asarray(new.layers[1].weight)
    np.testing.assert_allclose(w @ w.T, np.eye(16), atol=1e-5)
    np.testing.assert_array_equal(new.layers[0].weight, mlp.layers[0].weight)
    assert all(float(jnp.abs(layer.bias).sum()) == 0 for layer in new.layers)


def test_flax_linen_params():
    model = nn.Sequential([nn.Dense(64), nn.relu, nn.Dense(8)])
    params = model.init(KEY, jnp.ones((1, 256), jnp.float32))
    new = ji.reinit(KEY, params, {"params/*/kernel": ji.lecun_normal(), "params/*/bias": torch_bias})
    kernel = new["params"]["layers_0"]["kernel"]
    np.testing.assert_array_equal(kernel, ji.lecun_normal()(jax.random.fold_in(KEY, 1), (256, 64), kernel.dtype))
    assert float(jnp.abs(new["params"]["layers_0"]["bias"]).max()) <= 1 / 16


def test_flax_nnx_module_and_state():
    model = nnx.Sequential(nnx.Linear(400, 30, rngs=nnx.Rngs(0)), nnx.Linear(30, 2, rngs=nnx.Rngs(1)))
    new = ji.reinit(KEY, model, {"*kernel": ji.kaiming_normal(), "*bias": torch_bias})
    assert isinstance(new, nnx.Sequential)
    assert _std_within(new.layers[0].kernel[...], math.sqrt(2 / 400))
    assert float(jnp.abs(new.layers[0].bias[...]).max()) <= 1 / 20
    graphdef, state = nnx.split(model)
    new_state = ji.reinit(KEY, state, {"layers/0/kernel": ji.zeros})
    merged = nnx.merge(graphdef, new_state)
    np.testing.assert_array_equal(merged.layers[0].kernel[...], 0.0)
    np.testing.assert_array_equal(merged.layers[1].kernel[...], model.layers[1].kernel[...])


def test_under_jit_and_vmap():
    params = {"w": jnp.zeros((20, 30)), "b": jnp.zeros(30)}
    rules = {"w": ji.xavier_uniform(), "b": ji.normal(0.0, 0.1)}
    jitted = jax.jit(lambda k, p: ji.reinit(k, p, rules))(KEY, params)
    np.testing.assert_array_equal(jitted["w"], ji.reinit(KEY, params, rules)["w"])
    keys = jax.random.split(KEY, 4)
    members = jax.vmap(lambda k: ji.reinit(k, params, rules))(keys)
    for i, k in enumerate(keys):
        np.testing.assert_allclose(members["w"][i], ji.reinit(k, params, rules)["w"], rtol=1e-6)
    assert not np.allclose(members["w"][0], members["w"][1])


def test_a_rule_that_matches_nothing_is_an_error_listing_the_paths():
    with pytest.raises(ValueError, match=r"reinit: rule '\*wieght' matched no array leaf; the array paths are: b, w"):
        ji.reinit(KEY, {"w": jnp.zeros(2), "b": jnp.zeros(2)}, {"*wieght": ji.zeros})


@pytest.mark.parametrize(
    "rules, error, message",
    [
        ({}, TypeError, "rules must be a non-empty mapping"),
        ([("w", ji.zeros)], TypeError, "rules must be a non-empty mapping"),
        ({1: ji.zeros}, TypeError, "rule keys must be path globs"),
        ({"w": 0.5}, TypeError, "the rule for 'w' must be an initializer"),
    ],
)
def test_bad_rules(rules, error, message):
    with pytest.raises(error, match=message):
        ji.reinit(KEY, {"w": jnp.zeros(2)}, rules)


@pytest.mark.parametrize(
    "key, message",
    [
        (3, r"reinit: key must be a PRNG key such as jax.random.key\(0\).*got 3"),
        (jnp.zeros(3, jnp.float32), r"reinit: key must be a PRNG key .*got ArrayImpl .* dtype float32"),
        (jax.random.split(KEY, 4), r"reinit: key must be a single PRNG key, got a batch of keys with shape \(4,\)"),
    ],
)
def test_a_bad_key_is_a_type_error_before_any_work(key, message):
    calls = []

    def spy(key, shape, dtype=None, **ctx):
        calls.append(shape)
        return jnp.zeros(shape, dtype)

    with pytest.raises(TypeError, match=message):
        ji.reinit(key, {"w": jnp.zeros((2, 3))}, {"w": spy})
    assert calls == []


class _WithDropout(nnx.Module):
    def __init__(self, rngs):
        self.lin = nnx.Linear(400, 30, rngs=rngs)
        self.drop = nnx.Dropout(0.5, rngs=rngs)


def test_nnx_rng_state_is_kept_and_a_rule_matching_it_names_the_leaf():
    model = _WithDropout(nnx.Rngs(0, dropout=1))  # holds RngKey (typed key) and RngCount (uint32) leaves
    with pytest.raises(TypeError, match=r"reinit: rule '\*' matches 'drop/rngs/count', which is nnx RNG state"):
        ji.reinit(KEY, model, {"*": ji.normal()})
    with pytest.raises(TypeError, match=r"reinit: rule '\*key' matches 'drop/rngs/key', which is a PRNG key"):
        ji.reinit(KEY, model, {"*kernel": ji.normal(), "*key": ji.normal()})
    _, state = nnx.split(model)
    with pytest.raises(TypeError, match=r"matches 'drop/rngs/count', which is nnx RNG state"):
        ji.reinit(KEY, state, {"*": ji.zeros})
    new = ji.reinit(KEY, model, {"*kernel": ji.kaiming_normal(), "*bias": ji.zeros})  # RNG state not matched: kept
    assert _std_within(new.lin.kernel[...], math.sqrt(2 / 400))
    np.testing.assert_array_equal(
        jax.random.key_data(new.drop.rngs.key[...]), jax.random.key_data(model.drop.rngs.key[...])
    )
    assert int(new.drop.rngs.count[...]) == int(model.drop.rngs.count[...])


def test_a_typed_key_leaf_is_not_a_parameter():
    params = {"w": jnp.zeros((3, 4)), "seed": jax.random.key(7)}
    with pytest.raises(TypeError, match=r"reinit: rule '\*' matches 'seed', which is a PRNG key \(dtype key<fry>\)"):
        ji.reinit(KEY, params, {"*": ji.normal()})
    with pytest.raises(ValueError, match=r"rule '\*bias' matched no array leaf; the array paths are: w$"):
        ji.reinit(KEY, params, {"w": ji.normal(), "*bias": ji.zeros})  # a key is not listed as a parameter
    new = ji.reinit(KEY, params, {"w": ji.normal()})
    assert new["seed"] is params["seed"]

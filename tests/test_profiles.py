"""Distance profiles and pairwise distances."""

import itertools
import math
import pickle

import brainunit as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial.distance import cdist

from jaxinit import profiles

D = np.linspace(0.0, 500.0, 101)

# each profile with the formula of DESIGN.md, written out in numpy
FORMULAS = [
    (profiles.gaussian(80.0), lambda d: np.exp(-(d**2) / (2 * 80.0**2))),
    (profiles.exponential(120.0), lambda d: np.exp(-d / 120.0)),
    (
        profiles.dog(50.0, 150.0, 0.8, 0.4),
        lambda d: 0.8 * np.exp(-(d**2) / (2 * 50.0**2)) - 0.4 * np.exp(-(d**2) / (2 * 150.0**2)),
    ),
    (profiles.mexican_hat(100.0, 2.0), lambda d: 2.0 * (1 - d**2 / 100.0**2) * np.exp(-(d**2) / (2 * 100.0**2))),
    (profiles.step(100.0, 1.0, 0.2), lambda d: np.where(d <= 100.0, 1.0, 0.2)),
    (profiles.linear(300.0), lambda d: np.maximum(0.0, 1 - d / 300.0)),
    (profiles.sigmoid(200.0, 0.03), lambda d: 1 / (1 + np.exp(0.03 * (d - 200.0)))),
    (profiles.power_law(1.5, 20.0), lambda d: (np.maximum(d, 20.0) / 20.0) ** -1.5),
    (
        profiles.bimodal(80.0, 60.0, 0.0, 300.0, 0.8, 0.3),
        lambda d: 0.8 * np.exp(-(d**2) / (2 * 80.0**2)) + 0.3 * np.exp(-((d - 300.0) ** 2) / (2 * 60.0**2)),
    ),
]


@pytest.mark.parametrize("profile, formula", FORMULAS, ids=lambda v: repr(v) if isinstance(v, profiles.Profile) else "")
def test_profile_matches_its_formula(profile, formula):
    np.testing.assert_allclose(profile(jnp.asarray(D, jnp.float32)), formula(D), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("profile, formula", FORMULAS, ids=lambda v: repr(v) if isinstance(v, profiles.Profile) else "")
def test_max_distance_zeroes_beyond_it(profile, formula):
    build = getattr(profiles, profile.name)
    args = {k: profile.params[k] for k in profile.shown if k != "max_distance"} if profile.name != "linear" else None
    cut = build(**args, max_distance=250.0) if args is not None else profile
    values = np.asarray(cut(jnp.asarray(D, jnp.float32)))
    limit = 250.0 if args is not None else 300.0
    assert np.all(values[D > limit] == 0.0)
    np.testing.assert_allclose(values[D <= limit], formula(D[D <= limit]), rtol=1e-5, atol=1e-6)


def test_profiles_are_picklable_jittable_and_differentiable():
    p = profiles.gaussian(100.0)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(p))(jnp.ones(3)), p(jnp.ones(3)))
    np.testing.assert_allclose(jax.jit(p)(jnp.asarray(D)), p(jnp.asarray(D)), rtol=1e-6)
    slope = jax.grad(lambda d: p(d))(100.0)
    assert math.isclose(float(slope), -100.0 / 100.0**2 * math.exp(-0.5), rel_tol=1e-5)


def test_units_are_converted_between_distances_and_parameters():
    in_mm = profiles.gaussian(0.1 * u.mm)(jnp.asarray(D) * u.um)
    plain = profiles.gaussian(100.0)(jnp.asarray(D))
    np.testing.assert_allclose(in_mm, plain, rtol=1e-5)
    sig = profiles.sigmoid(0.2 * u.mm, 0.03 / u.um)(jnp.asarray(D) * u.um)
    np.testing.assert_allclose(sig, profiles.sigmoid(200.0, 0.03)(jnp.asarray(D)), rtol=1e-5)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: profiles.gaussian(100.0 * u.um)(jnp.ones(3)), "gaussian: distances must be a Quantity in units of um"),
        (lambda: profiles.gaussian(100.0)(jnp.ones(3) * u.um), "distances are a Quantity"),
        (lambda: profiles.gaussian(100.0 * u.um)(jnp.ones(3) * u.nS), "distances is in nS, which cannot be converted"),
        (lambda: profiles.dog(50.0 * u.um, 150.0 * u.mV), "sigma_surround is in mV"),
        (lambda: profiles.gaussian(100.0 * u.um, max_distance=300.0), "max_distance is a plain number"),
        (lambda: profiles.sigmoid(100.0 * u.um, 0.05), "slope must be a Quantity in 1/um"),
    ],
)
def test_unit_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: profiles.gaussian(0.0), "gaussian: sigma must be > 0, got 0.0"),
        (lambda: profiles.exponential(-1.0), "exponential: decay_constant must be > 0"),
        (lambda: profiles.dog(1.0, -1.0), "dog: sigma_surround must be > 0"),
        (lambda: profiles.mexican_hat(math.nan), "mexican_hat: sigma must not be NaN"),
        (lambda: profiles.step(-1.0), "step: threshold must be >= 0"),
        (lambda: profiles.linear(0.0), "linear: extent must be > 0"),
        (lambda: profiles.sigmoid(1.0, 0.0), "sigmoid: slope must be > 0"),
        (lambda: profiles.power_law(-1.0, 1.0), "power_law: exponent must be >= 0"),
        (lambda: profiles.power_law(1.0, 0.0), "power_law: min_distance must be > 0"),
        (lambda: profiles.bimodal(1.0, 0.0), "bimodal: sigma2 must be > 0"),
        (lambda: profiles.gaussian(1.0, max_distance=-5.0), r"gaussian: max_distance must be > 0 \(or None\)"),
    ],
)
def test_parameter_rules(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_pairwise_distances_match_scipy():
    rng = np.random.default_rng(0)
    pre, post = rng.uniform(0, 500, (40, 2)), rng.uniform(0, 500, (30, 2))
    np.testing.assert_allclose(profiles.pairwise_distances(pre, post), cdist(pre, post), rtol=1e-5)
    pre3, post3 = rng.uniform(0, 1, (5, 3)), rng.uniform(0, 1, (7, 3))
    np.testing.assert_allclose(profiles.pairwise_distances(pre3, post3), cdist(pre3, post3), rtol=1e-5)
    line = rng.uniform(0, 10, 6)
    np.testing.assert_allclose(
        profiles.pairwise_distances(line, line), np.abs(line[:, None] - line[None, :]), atol=1e-5
    )


@pytest.mark.parametrize("box", [100.0, (100.0, 40.0)])
def test_periodic_distances_are_the_shortest_image(box):
    rng = np.random.default_rng(1)
    size = np.broadcast_to(np.asarray(box), (2,))
    pre, post = rng.uniform(0, 1, (20, 2)) * size, rng.uniform(0, 1, (15, 2)) * size
    images = [np.array(shift) * size for shift in itertools.product((-1, 0, 1), repeat=2)]
    brute = np.min([cdist(pre, post + image) for image in images], axis=0)
    np.testing.assert_allclose(profiles.pairwise_distances(pre, post, box=box), brute, rtol=1e-5, atol=1e-4)


def test_pairwise_distances_with_units():
    pre = jnp.array([[0.0, 0.0]]) * u.um
    post = jnp.array([[0.3, 0.4]]) * u.mm
    d = profiles.pairwise_distances(pre, post)
    assert d.unit == u.um
    np.testing.assert_allclose(d.mantissa, [[500.0]], rtol=1e-6)


@pytest.mark.parametrize(
    "pre, post, box, error, message",
    [
        (np.zeros((3, 2)), np.zeros((4, 3)), None, ValueError, "same dim"),
        (np.zeros((3, 2)), np.zeros((4, 2)), 0.0, ValueError, "box must be > 0"),
        (np.zeros((3, 2)), np.zeros((4, 2)), -1.0, ValueError, "box must be > 0"),
    ],
)
def test_pairwise_distances_errors(pre, post, box, error, message):
    with pytest.raises(error, match=message):
        profiles.pairwise_distances(pre, post, box=box)


def test_gaussian_and_exponential_amplitude_scale_the_factor():
    # A·f(d) against the closed forms, computed here in float64; a negative amplitude is refused
    d = np.linspace(0.0, 300.0, 7)
    np.testing.assert_allclose(
        profiles.gaussian(100.0, amplitude=0.3)(jnp.asarray(d)), 0.3 * np.exp(-0.5 * (d / 100.0) ** 2), rtol=1e-6
    )
    np.testing.assert_allclose(
        profiles.exponential(50.0, amplitude=0.7)(jnp.asarray(d)), 0.7 * np.exp(-d / 50.0), rtol=1e-6, atol=1e-12
    )
    assert profiles.gaussian(1.0, amplitude=1.0) == profiles.gaussian(1.0)
    assert profiles.gaussian(1.0, amplitude=0.5) != profiles.gaussian(1.0)
    for build in (profiles.gaussian, profiles.exponential):
        with pytest.raises(ValueError, match="amplitude must be >= 0, got -0.1"):
            build(1.0, amplitude=-0.1)

# Ported from chaobrain/braintools, commit 57d33c23f5d80805d67331d0d7a3b0386d6d750d
# (braintools/init last changed in d92bc18e717925b15ee6ab01f271d89710dcf438):
#   braintools/init/_init_base_test.py             -> "base" section
#   braintools/init/_init_basic_test.py            -> "basic" section
#   braintools/init/_init_variance_scaling_test.py -> "variance scaling" section
#   braintools/init/_init_orthogonal_test.py       -> "orthogonal" section
#   braintools/init/_init_composite_test.py        -> "composite" section
#   braintools/init/_distance_base_test.py         -> "distance base" section
#   braintools/init/_distance_impl_test.py         -> "distance profiles" section
#   braintools/init/_init_with_distance_test.py    -> "distance modulated" section
# Copyright 2025 BrainX Ecosystem Limited. Licensed under the Apache License, Version 2.0
# (http://www.apache.org/licenses/LICENSE-2.0); changes: braintools is not imported: every
# braintools.init class is the jaxinit construction tests/peer/_shim.py maps it to (an
# `rng=np.random.default_rng(seed)` becomes a jax key); unittest.TestCase classes are plain
# pytest classes (setUp -> setup_method, assert* -> assert); `repr` checks look for the
# jaxinit name of the same construction. The peer's own helper initializers in
# _init_base_test.py (SimpleInit, QuantityInit, RandomInit: subclasses returning a
# constant, a constant Quantity, a normal draw) are jaxinit's constant and normal.
# Sample sizes are the peer's. Before the issue-10 fixes (at 234d179) four more cases failed:
# the three truncated_normal(std=0) cases (item 9) and BimodalProfile's default centres
# (item 8); they pass at a683460. The unit-aware transforms (pipe/compose with a Quantity
# function) and mixture([]) raising ValueError pass from fd1f0fd.
"""braintools' own `init` tests, run against jaxinit (issue 10, "Tests and evidence")."""

import brainunit as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.peer._shim import braintools as bt

# the braintools.init names the peer tests import
Constant, ZeroInit, Uniform, Normal, LogNormal = bt.Constant, bt.ZeroInit, bt.Uniform, bt.Normal, bt.LogNormal
Gamma, Exponential, TruncatedNormal, Beta, Weibull = bt.Gamma, bt.Exponential, bt.TruncatedNormal, bt.Beta, bt.Weibull
VarianceScaling, KaimingUniform, KaimingNormal = bt.VarianceScaling, bt.KaimingUniform, bt.KaimingNormal
XavierUniform, XavierNormal, LecunUniform, LecunNormal = (
    bt.XavierUniform,
    bt.XavierNormal,
    bt.LecunUniform,
    bt.LecunNormal,
)
Orthogonal, DeltaOrthogonal, Identity = bt.Orthogonal, bt.DeltaOrthogonal, bt.Identity
Mixture, Conditional, Scaled, Clipped, Compose = bt.Mixture, bt.Conditional, bt.Scaled, bt.Clipped, bt.Compose
DistanceModulated = bt.DistanceModulated
GaussianProfile, ExponentialProfile, PowerLawProfile = bt.GaussianProfile, bt.ExponentialProfile, bt.PowerLawProfile
LinearProfile, StepProfile, SigmoidProfile, DoGProfile = (
    bt.LinearProfile,
    bt.StepProfile,
    bt.SigmoidProfile,
    bt.DoGProfile,
)
LogisticProfile, BimodalProfile, MexicanHatProfile = bt.LogisticProfile, bt.BimodalProfile, bt.MexicanHatProfile


def assert_almost_equal(first, second, places=None, delta=None):
    """unittest.TestCase.assertAlmostEqual."""
    diff = abs(first - second)
    if delta is not None:
        assert diff <= delta, f"{first} != {second} within {delta} delta ({diff} difference)"
    else:
        assert round(float(diff), 7 if places is None else places) == 0, f"{first} != {second} within {places} places"


# --- why some peer tests cannot apply to jaxinit -------------------------------------------------

NO_PARAM = pytest.mark.skip(
    reason="braintools.init.param() (materialising a parameter from an initializer, array, scalar or brainstate "
    "Param/State) has no jaxinit counterpart by design: a jaxinit initializer is called with an explicit key and shape"
)
NO_BRAINSTATE = pytest.mark.skip(
    reason="uses the brainstate.random backend; brainstate is not a jaxinit dependency (jaxinit takes a jax key)"
)
NO_UNIT_KWARG = pytest.mark.skip(
    reason="braintools' deprecated unit= argument; jaxinit takes brainunit Quantities only (DESIGN §2, Units)"
)
NO_CLASS_HIERARCHY = pytest.mark.skip(
    reason="checks braintools' class hierarchy and attributes (ZeroInit subclasses Constant; .value, .unit); "
    "jaxinit initializers are built by functions"
)
NO_PROFILE_ALGEBRA = pytest.mark.skip(
    reason="braintools' operator algebra on distance profiles (+ - * / |, .clip, .apply, separate probability and "
    "weight_scaling); jaxinit profiles are plain functions, composed with plain Python by design (DESIGN §2)"
)
SHIM_ONLY = pytest.mark.skip(
    reason="a braintools-only argument check with no jaxinit counterpart; ported, it would test the shim, not jaxinit"
)

# --- where jaxinit fails a peer test -------------------------------------------------------------

IDENTITY_1D = pytest.mark.skip(
    reason="jaxinit.identity puts scale on the diagonal of the last two axes (DESIGN §2), so a 1-D shape, which "
    "has no diagonal, is an error naming the rule; braintools' Identity fills it with scale"
)
MIXTURE_NORMALISES = pytest.mark.skip(
    reason="jaxinit's mixture normalises its weights by design (DESIGN §2); braintools requires them to sum to 1"
)


# ==================================================================================================
# base: braintools/init/_init_base_test.py
# ==================================================================================================


def SimpleInit(value):  # noqa: N802 - the peer's class name
    """Peer: an Initialization returning ``np.full(size, value)``."""
    return Constant(value)


def QuantityInit(value):  # noqa: N802
    """Peer: an Initialization returning ``u.math.full(size, value)`` (a Quantity)."""
    return Constant(value)


def RandomInit(mean, std):  # noqa: N802
    """Peer: an Initialization returning ``rng.normal(mean, std, size)``."""
    return Normal(mean, std)


class TestBasicInitialization:
    def test_simple_initialization(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)

        result = init(10, rng=rng)
        assert result.shape == (10,)
        assert np.all(result == 5.0)

    def test_quantity_initialization(self):
        rng = np.random.default_rng(42)
        init = QuantityInit(2.5 * u.nS)

        result = init(10, rng=rng)
        assert result.shape == (10,)
        assert isinstance(result, u.Quantity)
        assert np.all(result.to(u.nS).mantissa == 2.5)

    def test_random_initialization(self):
        rng = np.random.default_rng(42)
        init = RandomInit(0.0, 1.0)

        result = init(100, rng=rng)
        assert result.shape == (100,)
        assert -3.0 < result.mean() < 3.0
        assert 0.5 < result.std() < 1.5

    @SHIM_ONLY
    def test_kwargs_passing(self):
        """Peer: a custom Initialization subclass reading a call keyword; only the shim would run."""


class TestArithmeticOperations:
    def test_addition_with_scalar(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result_init = init + 3.0

        result = result_init(10, rng=rng)
        assert np.all(result == 8.0)

    def test_addition_with_quantity(self):
        rng = np.random.default_rng(42)
        init = QuantityInit(2.0 * u.nS)
        result_init = init + 1.0 * u.nS

        result = result_init(10, rng=rng)
        assert np.all(result.to(u.nS).mantissa == 3.0)

    def test_addition_with_initialization(self):
        rng = np.random.default_rng(42)
        init1 = SimpleInit(5.0)
        init2 = SimpleInit(3.0)
        result_init = init1 + init2

        result = result_init(10, rng=rng)
        assert np.all(result == 8.0)

    def test_right_addition(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result_init = 3.0 + init

        result = result_init(10, rng=rng)
        assert np.all(result == 8.0)

    def test_subtraction_with_scalar(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result_init = init - 2.0

        result = result_init(10, rng=rng)
        assert np.all(result == 3.0)

    def test_subtraction_with_initialization(self):
        rng = np.random.default_rng(42)
        init1 = SimpleInit(5.0)
        init2 = SimpleInit(2.0)
        result_init = init1 - init2

        result = result_init(10, rng=rng)
        assert np.all(result == 3.0)

    def test_right_subtraction(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result_init = 10.0 - init

        result = result_init(10, rng=rng)
        assert np.all(result == 5.0)

    def test_multiplication_with_scalar(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result_init = init * 3.0

        result = result_init(10, rng=rng)
        assert np.all(result == 15.0)

    def test_multiplication_with_initialization(self):
        rng = np.random.default_rng(42)
        init1 = SimpleInit(5.0)
        init2 = SimpleInit(3.0)
        result_init = init1 * init2

        result = result_init(10, rng=rng)
        assert np.all(result == 15.0)

    def test_right_multiplication(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result_init = 3.0 * init

        result = result_init(10, rng=rng)
        assert np.all(result == 15.0)

    def test_division_with_scalar(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(10.0)
        result_init = init / 2.0

        result = result_init(10, rng=rng)
        assert np.all(result == 5.0)

    def test_division_with_initialization(self):
        rng = np.random.default_rng(42)
        init1 = SimpleInit(10.0)
        init2 = SimpleInit(2.0)
        result_init = init1 / init2

        result = result_init(10, rng=rng)
        assert np.all(result == 5.0)

    def test_right_division(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result_init = 20.0 / init

        result = result_init(10, rng=rng)
        assert np.all(result == 4.0)

    def test_chained_arithmetic(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result_init = (init + 3.0) * 2.0 - 1.0

        result = result_init(10, rng=rng)
        assert np.all(result == 15.0)

    def test_arithmetic_with_quantities(self):
        rng = np.random.default_rng(42)
        init = QuantityInit(2.0 * u.nS)
        result_init = init * 3.0 + 1.0 * u.nS

        result = result_init(10, rng=rng)
        assert np.all(result.to(u.nS).mantissa == 7.0)


class TestTransformationMethods:
    def test_clip_both_bounds(self):
        rng = np.random.default_rng(42)
        init = RandomInit(0.0, 5.0)
        clipped = init.clip(-2.0, 2.0)

        result = clipped(100, rng=rng)
        assert np.all(result >= -2.0)
        assert np.all(result <= 2.0)

    def test_clip_min_only(self):
        rng = np.random.default_rng(42)
        init = RandomInit(0.0, 5.0)
        clipped = init.clip(min_val=0.0)

        result = clipped(100, rng=rng)
        assert np.all(result >= 0.0)

    def test_clip_max_only(self):
        rng = np.random.default_rng(42)
        init = RandomInit(0.0, 5.0)
        clipped = init.clip(max_val=2.0)

        result = clipped(100, rng=rng)
        assert np.all(result <= 2.0)

    def test_clip_with_quantities(self):
        rng = np.random.default_rng(42)
        init = QuantityInit(5.0 * u.nS)
        clipped = init.clip(1.0 * u.nS, 3.0 * u.nS)

        result = clipped(10, rng=rng)
        result_vals = result.to(u.nS).mantissa
        assert np.all(result_vals == 3.0)

    def test_add_method(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result_init = init.add(3.0)

        result = result_init(10, rng=rng)
        assert np.all(result == 8.0)

    def test_multiply_method(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result_init = init.multiply(3.0)

        result = result_init(10, rng=rng)
        assert np.all(result == 15.0)

    def test_apply_method(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result_init = init.apply(lambda x: x**2)

        result = result_init(10, rng=rng)
        assert np.all(result == 25.0)

    def test_apply_with_numpy_function(self):
        rng = np.random.default_rng(42)
        init = RandomInit(1.0, 0.1)
        result_init = init.apply(np.abs)

        result = result_init(100, rng=rng)
        assert np.all(result >= 0.0)

    def test_chained_transformations(self):
        rng = np.random.default_rng(42)
        init = RandomInit(0.0, 2.0)
        transformed = init.clip(-1.0, 1.0).add(5.0).multiply(2.0)

        result = transformed(100, rng=rng)
        assert np.all(result >= 8.0)
        assert np.all(result <= 12.0)


class TestPipeOperation:
    def test_pipe_with_function(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0) | (lambda x: x * 2)

        result = init(10, rng=rng)
        assert np.all(result == 10.0)

    def test_pipe_with_multiple_functions(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0) | (lambda x: x * 2) | (lambda x: x + 3)

        result = init(10, rng=rng)
        assert np.all(result == 13.0)

    def test_pipe_with_numpy_functions(self):
        rng = np.random.default_rng(42)
        init = RandomInit(0.0, 1.0) | np.abs | np.sqrt

        result = init(100, rng=rng)
        assert np.all(result >= 0.0)

    def test_pipe_with_quantity_function(self):
        rng = np.random.default_rng(42)
        init = QuantityInit(2.0 * u.nS) | (lambda x: u.math.maximum(x, 1.0 * u.nS))

        result = init(10, rng=rng)
        assert np.all(result.to(u.nS).mantissa == 2.0)

    def test_pipe_error_handling(self):
        init = SimpleInit(5.0)
        with pytest.raises(TypeError):
            result_init = init | 5.0
            rng = np.random.default_rng(42)
            result_init(10, rng=rng)


class TestComposeClass:
    def test_compose_single_init(self):
        rng = np.random.default_rng(42)
        init = Compose(SimpleInit(5.0))

        result = init(10, rng=rng)
        assert np.all(result == 5.0)

    def test_compose_multiple_functions(self):
        rng = np.random.default_rng(42)
        init = Compose(SimpleInit(5.0), lambda x: x * 2, lambda x: x + 3)

        result = init(10, rng=rng)
        assert np.all(result == 13.0)

    def test_compose_mixed_init_and_functions(self):
        rng = np.random.default_rng(42)
        init = Compose(RandomInit(0.0, 1.0), np.abs, lambda x: x * 10)

        result = init(100, rng=rng)
        assert np.all(result >= 0.0)

    def test_compose_with_quantities(self):
        rng = np.random.default_rng(42)
        init = Compose(QuantityInit(2.0 * u.nS), lambda x: u.math.maximum(x, 1.0 * u.nS), lambda x: x * 2.0)

        result = init(10, rng=rng)
        assert np.all(result.to(u.nS).mantissa == 4.0)

    @SHIM_ONLY
    def test_compose_empty_error(self):
        """Peer: Compose() raises ValueError (braintools' Compose class)."""

    def test_compose_repr(self):
        init = Compose(SimpleInit(5.0), lambda x: x * 2)
        repr_str = repr(init)
        assert "transform" in repr_str  # braintools: "Compose"


@NO_PARAM
class TestInitCall:
    def test_init_call_with_initialization(self): ...
    def test_init_call_with_none(self): ...
    def test_init_call_with_float(self): ...
    def test_init_call_with_int(self): ...
    def test_init_call_with_scalar_quantity(self): ...
    def test_init_call_with_array_correct_size(self): ...
    def test_init_call_with_quantity_array_correct_size(self): ...
    def test_init_call_passes_kwargs(self): ...


class TestInternalClasses:
    def test_binary_op_init_repr(self):
        init1 = SimpleInit(5.0)
        init2 = SimpleInit(3.0)

        add = init1 + init2
        assert "add(" in repr(add)  # braintools: "+"

        sub = init1 - init2
        assert "add(" in repr(sub) and "scale(" in repr(sub)  # braintools: "-"

        mul = init1 * init2
        assert "multiply(" in repr(mul)  # braintools: "*"

        div = init1 / init2
        assert "multiply(" in repr(div) and "transform(" in repr(div)  # braintools: "/"

    def test_clip_init_repr(self):
        init = SimpleInit(5.0)
        clipped = init.clip(0.0, 10.0)
        assert "clip" in repr(clipped)

    def test_apply_init_repr(self):
        init = SimpleInit(5.0)
        applied = init.apply(lambda x: x * 2)
        assert "transform" in repr(applied)  # braintools: "apply"

    def test_pipe_init_repr(self):
        init = SimpleInit(5.0) | (lambda x: x * 2)
        assert "transform" in repr(init)  # braintools: "|"


class TestEdgeCasesBase:  # peer: TestEdgeCases in _init_base_test.py
    def test_zero_size_array(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result = init(0, rng=rng)
        assert result.shape == (0,)

    def test_large_array(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result = init(100000, rng=rng)
        assert result.shape == (100000,)
        assert np.all(result == 5.0)

    def test_multidimensional_size(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(5.0)
        result = init((10, 5), rng=rng)
        assert result.shape == (10, 5)
        assert np.all(result == 5.0)

    def test_negative_values(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(-5.0)
        result = init(10, rng=rng)
        assert np.all(result == -5.0)

    def test_very_small_values(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(1e-10)
        result = init(10, rng=rng)
        assert np.allclose(result, 1e-10)

    def test_very_large_values(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(1e10)
        result = init(10, rng=rng)
        assert np.allclose(result, 1e10)

    def test_complex_nested_operations(self):
        rng = np.random.default_rng(42)
        init = SimpleInit(1.0)
        complex_init = ((init + 1) * 2 - 3) / 4
        complex_init = complex_init.clip(-10, 10).add(5).multiply(0.5)

        result = complex_init(10, rng=rng)
        assert result.shape == (10,)

    def test_operations_preserve_units(self):
        rng = np.random.default_rng(42)
        init = QuantityInit(2.0 * u.nS)

        result1 = (init * 2.0)(10, rng=rng)
        assert result1.unit == u.nS

        result2 = (init + 1.0 * u.nS)(10, rng=rng)
        assert result2.unit == u.nS

        result3 = init.clip(1.0 * u.nS, 5.0 * u.nS)(10, rng=rng)
        assert result3.unit == u.nS


@NO_PARAM
class TestParamSupport:
    def test_param_basic(self): ...
    def test_param_with_quantity(self): ...
    def test_param_2d_shape(self): ...
    def test_param_shape_mismatch(self): ...
    def test_param_with_batch_size(self): ...
    def test_param_with_batch_size_2d(self): ...
    def test_param_batch_size_already_expanded(self): ...
    def test_param_batch_size_mismatch(self): ...


@NO_PARAM
class TestParamStateSupport:
    def test_state_no_batch_returns_state(self): ...
    def test_state_batch_expand_returns_state(self): ...
    def test_state_already_batched_returns_state(self): ...
    def test_state_batch_mismatch_raises(self): ...
    def test_state_shape_mismatch_raises(self): ...


@NO_PARAM
class TestParamBatching:
    def test_param_array_with_batch_size(self): ...
    def test_param_quantity_array_with_batch_size(self): ...
    def test_param_2d_array_with_batch_size(self): ...
    def test_param_array_batch_already_expanded(self): ...
    def test_param_array_batch_mismatch(self): ...


@NO_PARAM
class TestParamCallableBatching:
    def test_callable_with_batch_size_1d(self): ...
    def test_callable_with_batch_size_2d(self): ...
    def test_callable_quantity_with_batch_size(self): ...
    def test_callable_batch_size_none_unchanged(self): ...
    def test_callable_random_independent_per_batch(self): ...
    def test_callable_forwards_kwargs_with_batch_size(self): ...


class TestPipeInitRejectsInitialization:
    @SHIM_ONLY
    def test_pipe_rejects_initialization_right_operand(self):
        """Peer: `SimpleInit(5.0) | SimpleInit(3.0)` raises TypeError when called (jaxinit's transform takes any
        callable)."""


class TestComposeRejectsLaterInitialization:
    @SHIM_ONLY
    def test_compose_rejects_initialization_after_first(self):
        """Peer: Compose(init, init) raises TypeError when called (braintools' Compose class)."""

    def test_compose_multidim_with_callables(self):
        init = Compose(SimpleInit(5.0), lambda x: x * 2.0)
        result = init((2, 3), rng=np.random.default_rng(0))
        assert result.shape == (2, 3)
        assert np.all(result == 10.0)


class TestDocumentationExamples:
    def test_basic_composition_example(self):
        rng = np.random.default_rng(42)

        init = SimpleInit(1.0) * 2.0 + 0.1
        result = init(10, rng=rng)
        assert np.allclose(result, 2.1)

    def test_pipe_example(self):
        rng = np.random.default_rng(42)

        init = SimpleInit(1.0) | (lambda x: x * 2) | (lambda x: x + 1)
        result = init(10, rng=rng)
        assert np.allclose(result, 3.0)

    def test_compose_example(self):
        rng = np.random.default_rng(42)

        init = Compose(SimpleInit(1.0), lambda x: x * 10)
        result = init(10, rng=rng)
        assert np.allclose(result, 10.0)


# ==================================================================================================
# basic: braintools/init/_init_basic_test.py
# ==================================================================================================


class TestZeroInit:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_zero_values_with_unit(self):
        init = ZeroInit(u.siemens)
        weights = init(100, rng=self.rng)
        assert weights.shape == (100,)
        assert np.all(weights == 0.0 * u.siemens)
        assert weights.unit == u.siemens

    def test_zero_values_unitless(self):
        init = ZeroInit()
        weights = init(100, rng=self.rng)
        assert weights.shape == (100,)
        assert np.all(weights == 0.0)

    def test_zero_with_tuple_size(self):
        init = ZeroInit(u.siemens)
        weights = init((10, 20), rng=self.rng)
        assert weights.shape == (10, 20)
        assert np.all(weights == 0.0 * u.siemens)

    def test_zero_with_different_units(self):
        init = ZeroInit(u.mS)
        weights = init(50, rng=self.rng)
        assert weights.shape == (50,)
        assert np.all(weights == 0.0 * u.mS)
        assert weights.unit == u.mS

    @NO_CLASS_HIERARCHY
    def test_inheritance_from_constant(self):
        """Peer: isinstance(ZeroInit(u.siemens), Constant), .value == 0.0, .unit == u.siemens."""

    def test_repr(self):
        init = ZeroInit(u.siemens)
        repr_str = repr(init)
        assert "constant" in repr_str  # braintools: "ZeroInit"
        assert "S" in repr_str  # siemens is represented as 'S'

        init_unitless = ZeroInit()
        repr_str_unitless = repr(init_unitless)
        assert "constant" in repr_str_unitless  # braintools: "ZeroInit"


class TestConstant:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_constant_value(self):
        init = Constant(0.5 * u.siemens)
        weights = init(100, rng=self.rng)
        assert weights.shape == (100,)
        assert np.all(weights == 0.5 * u.siemens)

    def test_constant_with_tuple_size(self):
        init = Constant(1.0 * u.siemens)
        weights = init((10, 20), rng=self.rng)
        assert weights.shape == (10, 20)
        assert np.all(weights == 1.0 * u.siemens)

    def test_repr(self):
        init = Constant(0.5 * u.siemens)
        repr_str = repr(init)
        assert "constant" in repr_str  # braintools: "Constant"
        assert "0.5" in repr_str


class TestUniform:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_uniform_distribution(self):
        init = Uniform(0.1 * u.siemens, 1.0 * u.siemens)
        weights = init(10000, rng=self.rng)
        assert weights.shape == (10000,)
        assert np.all(weights >= 0.1 * u.siemens)
        assert np.all(weights < 1.0 * u.siemens)

    def test_uniform_statistics(self):
        init = Uniform(0.0 * u.siemens, 1.0 * u.siemens)
        weights = init(100000, rng=self.rng)
        mean = np.mean(weights.mantissa)
        assert_almost_equal(mean, 0.5, delta=0.01)

    def test_repr(self):
        init = Uniform(0.1 * u.siemens, 1.0 * u.siemens)
        repr_str = repr(init)
        assert "uniform" in repr_str  # braintools: "Uniform"


class TestNormal:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_normal_distribution(self):
        init = Normal(0.5 * u.siemens, 0.1 * u.siemens)
        weights = init(100000, rng=self.rng)
        assert weights.shape == (100000,)

    def test_normal_statistics(self):
        init = Normal(0.5 * u.siemens, 0.1 * u.siemens)
        weights = init(100000, rng=self.rng)
        mean = np.mean(weights.mantissa)
        std = np.std(weights.mantissa)
        assert_almost_equal(mean, 0.5, delta=0.01)
        assert_almost_equal(std, 0.1, delta=0.01)

    def test_repr(self):
        init = Normal(0.5 * u.siemens, 0.1 * u.siemens)
        repr_str = repr(init)
        assert "normal" in repr_str  # braintools: "Normal"


class TestLogNormal:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_lognormal_positive(self):
        init = LogNormal(0.5 * u.siemens, 0.2 * u.siemens)
        weights = init(1000, rng=self.rng)
        assert np.all(weights > 0 * u.siemens)

    def test_lognormal_statistics(self):
        init = LogNormal(1.0 * u.siemens, 0.5 * u.siemens)
        weights = init(100000, rng=self.rng)
        mean = np.mean(weights.mantissa)
        assert_almost_equal(mean, 1.0, delta=0.05)

    def test_repr(self):
        init = LogNormal(0.5 * u.siemens, 0.2 * u.siemens)
        repr_str = repr(init)
        assert "lognormal" in repr_str  # braintools: "LogNormal"


class TestGamma:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_gamma_positive(self):
        init = Gamma(shape=2.0, scale=0.5 * u.siemens)
        weights = init(1000, rng=self.rng)
        assert np.all(weights >= 0 * u.siemens)

    def test_gamma_statistics(self):
        shape = 2.0
        scale = 0.5
        init = Gamma(shape=shape, scale=scale * u.siemens)
        weights = init(100000, rng=self.rng)
        expected_mean = shape * scale
        mean = np.mean(weights.mantissa)
        assert_almost_equal(mean, expected_mean, delta=0.05)

    def test_repr(self):
        init = Gamma(shape=2.0, scale=0.5 * u.siemens)
        repr_str = repr(init)
        assert "gamma" in repr_str  # braintools: "Gamma"


class TestExponential:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_exponential_positive(self):
        init = Exponential(0.5 * u.siemens)
        weights = init(1000, rng=self.rng)
        assert np.all(weights >= 0 * u.siemens)

    def test_exponential_statistics(self):
        scale = 0.5
        init = Exponential(scale * u.siemens)
        weights = init(100000, rng=self.rng)
        mean = np.mean(weights.mantissa)
        assert_almost_equal(mean, scale, delta=0.01)

    def test_repr(self):
        init = Exponential(0.5 * u.siemens)
        repr_str = repr(init)
        assert "exponential" in repr_str  # braintools: "Exponential"


class TestTruncatedNormal:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_truncated_normal_bounds(self):
        init = TruncatedNormal(mean=0.5 * u.siemens, std=0.2 * u.siemens, low=0.0 * u.siemens, high=1.0 * u.siemens)
        weights = init(1000, rng=self.rng)
        assert np.all(weights >= 0.0 * u.siemens)
        assert np.all(weights <= 1.0 * u.siemens)

    def test_truncated_normal_statistics(self):
        init = TruncatedNormal(mean=0.5 * u.siemens, std=0.1 * u.siemens, low=0.0 * u.siemens, high=1.0 * u.siemens)
        weights = init(100000, rng=self.rng)
        mean = np.mean(weights.mantissa)
        assert_almost_equal(mean, 0.5, delta=0.05)

    def test_scipy_import_error(self):
        # the peer checks that an ImportError surfaces only without scipy; jaxinit never needs scipy
        init = TruncatedNormal(mean=0.5 * u.siemens, std=0.2 * u.siemens)
        weights = init(100, rng=self.rng)
        assert weights.shape == (100,)

    def test_repr(self):
        init = TruncatedNormal(0.5 * u.siemens, 0.2 * u.siemens)
        repr_str = repr(init)
        assert "truncated_normal" in repr_str  # braintools: "TruncatedNormal"


class TestBeta:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_beta_bounds(self):
        init = Beta(alpha=2.0, beta=5.0, low=0.0 * u.siemens, high=1.0 * u.siemens)
        weights = init(1000, rng=self.rng)
        assert np.all(weights >= 0.0 * u.siemens)
        assert np.all(weights <= 1.0 * u.siemens)

    def test_beta_statistics(self):
        alpha, beta = 2.0, 5.0
        init = Beta(alpha=alpha, beta=beta, low=0.0 * u.siemens, high=1.0 * u.siemens)
        weights = init(100000, rng=self.rng)
        expected_mean = alpha / (alpha + beta)
        mean = np.mean(weights.mantissa)
        assert_almost_equal(mean, expected_mean, delta=0.01)

    def test_repr(self):
        init = Beta(2.0, 5.0, 0.0 * u.siemens, 1.0 * u.siemens)
        repr_str = repr(init)
        assert "beta" in repr_str  # braintools: "Beta"


class TestWeibull:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_weibull_positive(self):
        init = Weibull(shape=1.5, scale=0.5 * u.siemens)
        weights = init(1000, rng=self.rng)
        assert np.all(weights >= 0 * u.siemens)

    def test_repr(self):
        init = Weibull(1.5, 0.5 * u.siemens)
        repr_str = repr(init)
        assert "weibull" in repr_str  # braintools: "Weibull"


class TestParameterValidation:
    def test_normal_negative_std_raises(self):
        with pytest.raises(ValueError):
            Normal(0.5 * u.siemens, -0.1 * u.siemens)

    def test_normal_zero_std_allowed(self):
        init = Normal(0.5 * u.siemens, 0.0 * u.siemens)
        weights = init(10, rng=np.random.default_rng(0))
        assert np.allclose(weights.mantissa, 0.5)

    def test_lognormal_negative_std_raises(self):
        with pytest.raises(ValueError):
            LogNormal(0.5 * u.siemens, -0.2 * u.siemens)

    def test_lognormal_nonpositive_mean_raises(self):
        with pytest.raises(ValueError):
            LogNormal(0.0 * u.siemens, 0.2 * u.siemens)
        with pytest.raises(ValueError):
            LogNormal(-1.0 * u.siemens, 0.2 * u.siemens)

    def test_uniform_low_ge_high_raises(self):
        with pytest.raises(ValueError):
            Uniform(1.0 * u.siemens, 0.5 * u.siemens)

    def test_beta_low_ge_high_raises(self):
        with pytest.raises(ValueError):
            Beta(2.0, 5.0, low=1.0 * u.siemens, high=1.0 * u.siemens)

    def test_beta_nonpositive_alpha_raises(self):
        with pytest.raises(ValueError):
            Beta(-2.0, 5.0, low=0.0 * u.siemens, high=1.0 * u.siemens)
        with pytest.raises(ValueError):
            Beta(2.0, 0.0, low=0.0 * u.siemens, high=1.0 * u.siemens)

    def test_truncated_normal_low_ge_high_raises(self):
        with pytest.raises(ValueError):
            TruncatedNormal(0.5 * u.siemens, 0.2 * u.siemens, low=1.0 * u.siemens, high=0.0 * u.siemens)

    def test_truncated_normal_negative_std_raises(self):
        with pytest.raises(ValueError):
            TruncatedNormal(0.5 * u.siemens, -0.2 * u.siemens)

    def test_gamma_nonpositive_shape_raises(self):
        with pytest.raises(ValueError):
            Gamma(shape=-1.0, scale=0.5 * u.siemens)

    def test_gamma_dimensionful_shape_raises(self):
        with pytest.raises(ValueError):
            Gamma(shape=2.0 * u.siemens, scale=0.5 * u.siemens)

    def test_weibull_nonpositive_shape_raises(self):
        with pytest.raises(ValueError):
            Weibull(shape=0.0, scale=0.5 * u.siemens)

    def test_constant_none_value_raises(self):
        with pytest.raises((ValueError, TypeError)):
            Constant(None)


class TestDeprecatedUnit:
    @NO_UNIT_KWARG
    def test_deprecated_unit_with_bare_value_warns_and_applies(self): ...

    @NO_UNIT_KWARG
    def test_deprecated_unit_with_united_value_raises(self): ...

    @NO_UNIT_KWARG
    def test_weibull_accepts_unit_kwarg(self): ...


class TestTruncatedNormalBackend:
    def test_default_rng_works(self):
        init = TruncatedNormal(mean=0.5 * u.siemens, std=0.2 * u.siemens, low=0.0 * u.siemens, high=1.0 * u.siemens)
        weights = init(1000)
        assert weights.shape == (1000,)
        assert np.all(weights >= 0.0 * u.siemens)
        assert np.all(weights <= 1.0 * u.siemens)

    @NO_BRAINSTATE
    def test_brainstate_rng_explicit(self):
        """Peer: init(1000, rng=brainstate.random) keeps the bounds."""

    def test_numpy_rng_explicit(self):
        rng = np.random.default_rng(0)
        init = TruncatedNormal(mean=0.5 * u.siemens, std=0.2 * u.siemens, low=0.0 * u.siemens, high=1.0 * u.siemens)
        weights = init(1000, rng=rng)
        assert np.all(weights >= 0.0 * u.siemens)
        assert np.all(weights <= 1.0 * u.siemens)

    def test_one_sided_bounds(self):
        rng = np.random.default_rng(0)
        init = TruncatedNormal(mean=0.0 * u.siemens, std=1.0 * u.siemens, low=0.0 * u.siemens)
        weights = init(10000, rng=rng)
        assert np.all(weights >= 0.0 * u.siemens)

    def test_statistics(self):
        rng = np.random.default_rng(0)
        init = TruncatedNormal(mean=0.5 * u.siemens, std=0.1 * u.siemens, low=0.0 * u.siemens, high=1.0 * u.siemens)
        weights = init(100000, rng=rng)
        assert_almost_equal(float(np.mean(weights.mantissa)), 0.5, delta=0.02)


class TestTruncatedNormalArrayParams:
    def test_array_std_does_not_crash(self):
        rng = np.random.default_rng(0)
        init = TruncatedNormal(
            mean=np.array([0.0, 1.0]) * u.mV,
            std=np.array([0.5, 0.2]) * u.mV,
            low=-1.0 * u.mV,
            high=2.0 * u.mV,
        )
        weights = init(2, rng=rng)
        assert weights.shape == (2,)
        assert np.all(weights >= -1.0 * u.mV)
        assert np.all(weights <= 2.0 * u.mV)

    def test_array_std_with_zero_element_is_degenerate(self):
        rng = np.random.default_rng(0)
        init = TruncatedNormal(
            mean=np.array([0.5, 3.0]) * u.mV,
            std=np.array([0.0, 0.2]) * u.mV,
            low=0.0 * u.mV,
            high=1.0 * u.mV,
        )
        weights = init(2, rng=rng)
        # std==0 with in-range mean -> exactly the mean.
        assert_almost_equal(float(weights.mantissa[0]), 0.5, places=6)
        # std==0 path must not perturb the second (non-zero std) element's bounds.
        assert 0.0 <= float(weights.mantissa[1]) <= 1.0

    def test_scalar_std_zero_still_degenerate(self):
        rng = np.random.default_rng(0)
        init = TruncatedNormal(0.5 * u.mV, 0.0 * u.mV, low=0.0 * u.mV, high=1.0 * u.mV)
        weights = init(5, rng=rng)
        assert np.allclose(weights.mantissa, 0.5)

    def test_scalar_std_zero_mean_out_of_range_is_clamped(self):
        rng = np.random.default_rng(0)
        init = TruncatedNormal(5.0 * u.mV, 0.0 * u.mV, low=0.0 * u.mV, high=1.0 * u.mV)
        weights = init(3, rng=rng)
        assert np.allclose(weights.mantissa, 1.0)

    def test_array_mean_and_std_statistics(self):
        rng = np.random.default_rng(0)
        means = np.array([0.2, 0.8]) * u.mV
        init = TruncatedNormal(mean=means, std=np.array([0.05, 0.05]) * u.mV, low=0.0 * u.mV, high=1.0 * u.mV)
        weights = init((100000, 2), rng=rng)
        col_means = np.mean(weights.mantissa, axis=0)
        assert_almost_equal(float(col_means[0]), 0.2, delta=0.02)
        assert_almost_equal(float(col_means[1]), 0.8, delta=0.02)


class TestEdgeCasesBasic:  # peer: TestEdgeCases in _init_basic_test.py
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_zero_size(self):
        init = Normal(0.5 * u.siemens, 0.1 * u.siemens)
        weights = init(0, rng=self.rng)
        assert len(weights) == 0

    def test_large_size(self):
        init = Constant(0.5 * u.siemens)
        weights = init(1000000, rng=self.rng)
        assert len(weights) == 1000000

    def test_tuple_size(self):
        init = Normal(0.5 * u.siemens, 0.1 * u.siemens)
        weights = init((10, 20, 30), rng=self.rng)
        assert weights.shape == (10, 20, 30)

    def test_different_units(self):
        init = Uniform(100.0 * u.uS, 1000.0 * u.uS)
        weights = init(100, rng=self.rng)
        assert np.all(weights >= 100.0 * u.uS)
        assert np.all(weights < 1000.0 * u.uS)

    def test_unit_consistency(self):
        init = Normal(0.5 * u.siemens, 0.1 * u.siemens)
        weights = init(100, rng=self.rng)
        assert weights.unit == u.siemens


# ==================================================================================================
# variance scaling: braintools/init/_init_variance_scaling_test.py
# ==================================================================================================


class TestKaimingUniform:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_shape(self):
        init = KaimingUniform()
        weights = init((100, 50), rng=self.rng)
        assert weights.shape == (100, 50)

    def test_variance_fan_in(self):
        init = KaimingUniform(mode="fan_in")
        weights = init((1000, 100), rng=self.rng)
        fan_in = 1000
        expected_var = 2.0 / fan_in
        actual_var = np.var(weights)
        assert_almost_equal(actual_var, expected_var, delta=expected_var * 0.2)

    def test_variance_fan_out(self):
        init = KaimingUniform(mode="fan_out")
        weights = init((100, 1000), rng=self.rng)
        fan_out = 1000
        expected_var = 2.0 / fan_out
        actual_var = np.var(weights)
        assert_almost_equal(actual_var, expected_var, delta=expected_var * 0.2)

    def test_variance_fan_avg(self):
        init = KaimingUniform(mode="fan_avg")
        weights = init((100, 200), rng=self.rng)
        fan_avg = (100 + 200) / 2
        expected_var = 2.0 / fan_avg
        actual_var = np.var(weights)
        assert_almost_equal(actual_var, expected_var, delta=expected_var * 0.2)

    def test_leaky_relu(self):
        init = KaimingUniform(nonlinearity="leaky_relu", negative_slope=0.01)
        weights = init((1000, 100), rng=self.rng)
        assert weights.shape == (1000, 100)
        fan_in = 1000
        expected_var = (2.0 / (1 + 0.01**2)) / fan_in
        actual_var = np.var(weights)
        assert_almost_equal(actual_var, expected_var, delta=expected_var * 0.2)

    def test_repr(self):
        init = KaimingUniform()
        repr_str = repr(init)
        assert "kaiming_uniform" in repr_str  # braintools: "KaimingUniform"


class TestKaimingNormal:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_shape(self):
        init = KaimingNormal()
        weights = init((100, 50), rng=self.rng)
        assert weights.shape == (100, 50)

    def test_variance_fan_in(self):
        init = KaimingNormal(mode="fan_in")
        weights = init((1000, 100), rng=self.rng)
        fan_in = 1000
        expected_var = 2.0 / fan_in
        actual_var = np.var(weights)
        assert_almost_equal(actual_var, expected_var, delta=expected_var * 0.2)

    def test_mean(self):
        init = KaimingNormal()
        weights = init((1000, 100), rng=self.rng)
        assert_almost_equal(np.mean(weights), 0.0, delta=0.01)

    def test_repr(self):
        init = KaimingNormal()
        repr_str = repr(init)
        # braintools: "KaimingNormal" (a plain normal; jaxinit's kaiming_normal is jax's truncated one)
        assert "variance_scaling" in repr_str and "'normal'" in repr_str


class TestXavierUniform:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_shape(self):
        init = XavierUniform()
        weights = init((100, 50), rng=self.rng)
        assert weights.shape == (100, 50)

    def test_variance(self):
        init = XavierUniform()
        weights = init((1000, 500), rng=self.rng)
        fan_avg = (1000 + 500) / 2
        expected_var = 1.0 / fan_avg
        actual_var = np.var(weights)
        assert_almost_equal(actual_var, expected_var, delta=expected_var * 0.1)

    def test_scale(self):
        init = XavierUniform(scale=2.0)
        weights = init((1000, 500), rng=self.rng)
        fan_avg = (1000 + 500) / 2
        expected_var = 2.0 / fan_avg
        actual_var = np.var(weights)
        assert_almost_equal(actual_var, expected_var, delta=expected_var * 0.2)

    def test_repr(self):
        init = XavierUniform(scale=1.5)
        repr_str = repr(init)
        assert "variance_scaling" in repr_str  # braintools: "XavierUniform" (jaxinit's xavier_uniform has scale 1)
        assert "1.5" in repr_str


class TestXavierNormal:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_shape(self):
        init = XavierNormal()
        weights = init((100, 50), rng=self.rng)
        assert weights.shape == (100, 50)

    def test_variance(self):
        init = XavierNormal()
        weights = init((1000, 500), rng=self.rng)
        fan_avg = (1000 + 500) / 2
        expected_var = 1.0 / fan_avg
        actual_var = np.var(weights)
        assert_almost_equal(actual_var, expected_var, delta=expected_var * 0.1)

    def test_mean(self):
        init = XavierNormal()
        weights = init((1000, 500), rng=self.rng)
        assert_almost_equal(np.mean(weights), 0.0, delta=0.01)

    def test_repr(self):
        init = XavierNormal()
        repr_str = repr(init)
        assert "variance_scaling" in repr_str and "fan_avg" in repr_str  # braintools: "XavierNormal"


class TestLecunUniform:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_shape(self):
        init = LecunUniform()
        weights = init((100, 50), rng=self.rng)
        assert weights.shape == (100, 50)

    def test_variance(self):
        init = LecunUniform()
        weights = init((1000, 500), rng=self.rng)
        fan_in = 1000
        expected_var = 1.0 / fan_in
        actual_var = np.var(weights)
        assert_almost_equal(actual_var, expected_var, delta=expected_var * 0.1)

    def test_scale(self):
        init = LecunUniform(scale=1.5)
        weights = init((1000, 500), rng=self.rng)
        fan_in = 1000
        expected_var = 1.5 / fan_in
        actual_var = np.var(weights)
        assert_almost_equal(actual_var, expected_var, delta=expected_var * 0.2)

    def test_repr(self):
        init = LecunUniform()
        repr_str = repr(init)
        assert "lecun_uniform" in repr_str  # braintools: "LecunUniform"


class TestLecunNormal:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_shape(self):
        init = LecunNormal()
        weights = init((100, 50), rng=self.rng)
        assert weights.shape == (100, 50)

    def test_variance(self):
        init = LecunNormal()
        weights = init((1000, 500), rng=self.rng)
        fan_in = 1000
        expected_var = 1.0 / fan_in
        actual_var = np.var(weights)
        assert_almost_equal(actual_var, expected_var, delta=expected_var * 0.1)

    def test_mean(self):
        init = LecunNormal()
        weights = init((1000, 500), rng=self.rng)
        assert_almost_equal(np.mean(weights), 0.0, delta=0.01)

    def test_repr(self):
        init = LecunNormal()
        repr_str = repr(init)
        assert "variance_scaling" in repr_str and "fan_in" in repr_str  # braintools: "LecunNormal"


class TestTruncatedNormalDistribution:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_variance_matches_target(self):
        init = VarianceScaling(scale=2.0, mode="fan_in", distribution="truncated_normal")
        weights = np.asarray(init((2000, 100), rng=self.rng))
        fan_in = 2000
        expected_var = 2.0 / fan_in
        actual_var = np.var(weights)
        assert_almost_equal(actual_var, expected_var, delta=expected_var * 0.04)

    def test_samples_are_truncated(self):
        init = VarianceScaling(scale=2.0, mode="fan_in", distribution="truncated_normal")
        weights = np.asarray(init((2000, 100), rng=self.rng))
        variance = 2.0 / 2000
        stddev_underlying = np.sqrt(variance) / 0.8796256610342398
        bound = 2.0 * stddev_underlying
        assert np.all(np.abs(weights) <= bound + 1e-6)

    def test_mean_is_zero(self):
        init = VarianceScaling(scale=2.0, mode="fan_in", distribution="truncated_normal")
        weights = np.asarray(init((2000, 100), rng=self.rng))
        assert_almost_equal(float(np.mean(weights)), 0.0, delta=0.01)


class TestVarianceScalingValidation:
    def test_invalid_mode_raises(self):
        with pytest.raises(ValueError):
            VarianceScaling(mode="not_a_mode")

    def test_invalid_distribution_raises(self):
        with pytest.raises(ValueError):
            VarianceScaling(distribution="not_a_distribution")

    def test_valid_modes_accepted(self):
        for mode in ("fan_in", "fan_out", "fan_avg"):
            VarianceScaling(mode=mode)

    def test_valid_distributions_accepted(self):
        for dist in ("uniform", "normal", "truncated_normal"):
            VarianceScaling(distribution=dist)


class TestVarianceScalingFanConventions:
    def setup_method(self):
        self.rng = np.random.default_rng(0)

    def test_scalar_shape_uses_unit_fan(self):
        init = VarianceScaling(scale=1.0, mode="fan_in", distribution="normal")
        sample = init((), rng=self.rng)
        assert np.asarray(sample.mantissa if hasattr(sample, "mantissa") else sample).shape == ()

    def test_1d_shape_fan_in_equals_fan_out(self):
        n = 4000
        expected_var = 2.0 / n
        var_in = VarianceScaling(scale=2.0, mode="fan_in", distribution="normal")(n, rng=self.rng)
        var_out = VarianceScaling(scale=2.0, mode="fan_out", distribution="normal")(n, rng=self.rng)
        assert_almost_equal(float(np.var(var_in)), expected_var, delta=expected_var * 0.2)
        assert_almost_equal(float(np.var(var_out)), expected_var, delta=expected_var * 0.2)

    def test_conv_kernel_fan_uses_receptive_field(self):
        # shape (out, in, kh, kw) = (8, 4, 3, 3): fan_in = 4*9 = 36.
        init = VarianceScaling(scale=2.0, mode="fan_in", distribution="normal")
        weights = init((8, 4, 3, 3), rng=self.rng)
        expected_var = 2.0 / 36.0
        assert_almost_equal(float(np.var(weights)), expected_var, delta=expected_var * 0.15)

    def test_repr_contains_config(self):
        r = repr(VarianceScaling(scale=2.0, mode="fan_avg", distribution="uniform"))
        assert "variance_scaling" in r  # braintools: "VarianceScaling"
        assert "fan_avg" in r
        assert "uniform" in r


class TestKaimingNonlinearityValidation:
    @SHIM_ONLY
    def test_kaiming_uniform_rejects_unknown_nonlinearity(self):
        """Peer: KaimingUniform(nonlinearity='gelu') raises ValueError (jaxinit takes a scale, not a nonlinearity)."""

    @SHIM_ONLY
    def test_kaiming_normal_rejects_unknown_nonlinearity(self):
        """Peer: KaimingNormal(nonlinearity='gelu') raises ValueError."""

    def test_kaiming_normal_leaky_relu_scale(self):
        rng = np.random.default_rng(0)
        slope = 0.2
        fan = 2000
        init = KaimingNormal(mode="fan_in", nonlinearity="leaky_relu", negative_slope=slope)
        weights = init((fan, 1), rng=rng)
        expected_var = (2.0 / (1 + slope**2)) / fan
        assert_almost_equal(float(np.var(weights)), expected_var, delta=expected_var * 0.1)


# ==================================================================================================
# orthogonal: braintools/init/_init_orthogonal_test.py
# ==================================================================================================


def _f64(weights):
    """Materialize weights as float64 for accurate orthogonality checks (the peer's helper)."""
    return np.asarray(weights, dtype=np.float64)


class TestOrthogonal:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_square_matrix(self):
        init = Orthogonal()
        weights = init((100, 100), rng=self.rng)
        assert weights.shape == (100, 100)

        w = _f64(weights)
        product = w @ w.T
        identity = np.eye(100)
        np.testing.assert_allclose(product, identity, atol=1e-6)

    def test_rectangular_matrix_rows_gt_cols(self):
        init = Orthogonal()
        weights = init((100, 50), rng=self.rng)
        assert weights.shape == (100, 50)

        w = _f64(weights)
        product = w.T @ w
        identity = np.eye(50)
        np.testing.assert_allclose(product, identity, atol=1e-6)

    def test_rectangular_matrix_cols_gt_rows(self):
        init = Orthogonal()
        weights = init((50, 100), rng=self.rng)
        assert weights.shape == (50, 100)

        w = _f64(weights)
        product = w @ w.T
        identity = np.eye(50)
        np.testing.assert_allclose(product, identity, atol=1e-6)

    def test_gain(self):
        gain = 2.0
        init = Orthogonal(scale=gain)
        weights = init((100, 100), rng=self.rng)

        w = _f64(weights)
        product = w @ w.T
        identity = np.eye(100) * (gain**2)
        np.testing.assert_allclose(product, identity, atol=1e-5)

    def test_3d_shape(self):
        init = Orthogonal()
        weights = init((10, 20, 30), rng=self.rng)
        assert weights.shape == (10, 20, 30)

        weights_2d = _f64(weights).reshape(-1, 30)
        product = weights_2d.T @ weights_2d
        identity = np.eye(30)
        np.testing.assert_allclose(product, identity, atol=1e-6)

    def test_invalid_shape(self):
        init = Orthogonal()
        with pytest.raises(ValueError):
            init(100, rng=self.rng)  # 1D shape should raise error

    def test_repr(self):
        init = Orthogonal(scale=1.5)
        repr_str = repr(init)
        assert "orthogonal" in repr_str  # braintools: "Orthogonal"
        assert "1.5" in repr_str


class TestDeltaOrthogonal:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_conv_kernel_shape(self):
        init = DeltaOrthogonal()
        weights = init((64, 32, 3, 3), rng=self.rng)
        assert weights.shape == (64, 32, 3, 3)

    def test_center_is_orthogonal(self):
        init = DeltaOrthogonal()
        weights = init((64, 32, 3, 3), rng=self.rng)

        center = _f64(weights[:, :, 1, 1])

        if center.shape[0] >= center.shape[1]:
            product = center.T @ center
            identity = np.eye(32)
        else:
            product = center @ center.T
            identity = np.eye(64)

        np.testing.assert_allclose(product, identity, atol=1e-6)

    def test_non_center_is_zero(self):
        init = DeltaOrthogonal()
        weights = init((64, 32, 3, 3), rng=self.rng)

        for i in range(3):
            for j in range(3):
                if i == 1 and j == 1:
                    continue  # Skip center
                np.testing.assert_allclose(weights[:, :, i, j], 0.0, atol=1e-10)

    def test_1d_conv(self):
        init = DeltaOrthogonal()
        weights = init((64, 32, 5), rng=self.rng)
        assert weights.shape == (64, 32, 5)

        center = _f64(weights[:, :, 2])
        if center.shape[0] >= center.shape[1]:
            product = center.T @ center
            identity = np.eye(32)
        else:
            product = center @ center.T
            identity = np.eye(64)
        np.testing.assert_allclose(product, identity, atol=1e-6)

    def test_gain(self):
        gain = 2.0
        init = DeltaOrthogonal(scale=gain)
        weights = init((64, 32, 3, 3), rng=self.rng)

        center = _f64(weights[:, :, 1, 1])
        if center.shape[0] >= center.shape[1]:
            product = center.T @ center
            identity = np.eye(32) * (gain**2)
        else:
            product = center @ center.T
            identity = np.eye(64) * (gain**2)
        np.testing.assert_allclose(product, identity, atol=1e-5)

    def test_invalid_shape(self):
        init = DeltaOrthogonal()
        with pytest.raises(ValueError):
            init((64, 32), rng=self.rng)  # 2D shape should raise error

    def test_repr(self):
        init = DeltaOrthogonal(scale=1.5)
        repr_str = repr(init)
        assert "delta_orthogonal" in repr_str  # braintools: "DeltaOrthogonal"
        assert "1.5" in repr_str


class TestIdentity:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_square_matrix(self):
        init = Identity()
        weights = init((100, 100))
        assert weights.shape == (100, 100)
        np.testing.assert_allclose(weights, np.eye(100), atol=1e-10)

    def test_rectangular_matrix(self):
        init = Identity()
        weights = init((100, 50))
        assert weights.shape == (100, 50)
        expected = np.eye(100, 50)
        np.testing.assert_allclose(weights, expected, atol=1e-10)

    def test_gain(self):
        gain = 2.5
        init = Identity(scale=gain)
        weights = init((50, 50))
        expected = np.eye(50) * gain
        np.testing.assert_allclose(weights, expected, atol=1e-10)

    @IDENTITY_1D
    def test_1d_shape(self):
        init = Identity(scale=3.0)
        weights = init(100)
        assert weights.shape == (100,)
        expected = np.ones(100) * 3.0
        np.testing.assert_allclose(weights, expected, atol=1e-10)

    def test_3d_shape(self):
        init = Identity()
        weights = init((10, 20, 30))
        assert weights.shape == (10, 20, 30)

        for i in range(10):
            expected = np.eye(20, 30)
            np.testing.assert_allclose(weights[i], expected, atol=1e-10)

    def test_repr(self):
        init = Identity(scale=2.0)
        repr_str = repr(init)
        assert "identity" in repr_str  # braintools: "Identity"
        assert "2.0" in repr_str


class TestUnitDeprecationWarning:
    @NO_UNIT_KWARG
    def test_orthogonal_unit_warns_at_caller(self): ...

    @NO_UNIT_KWARG
    def test_delta_orthogonal_unit_warns_at_caller(self): ...


# ==================================================================================================
# composite: braintools/init/_init_composite_test.py
# ==================================================================================================


class TestMixture:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_mixture_basic(self):
        init = Mixture(distributions=[Constant(0.5 * u.siemens), Constant(1.0 * u.siemens)], weights=[0.5, 0.5])
        weights = init(10000, rng=self.rng)
        count_low = np.sum(np.abs(weights.mantissa - 0.5) < 0.01)
        count_high = np.sum(np.abs(weights.mantissa - 1.0) < 0.01)
        assert_almost_equal(count_low / 10000, 0.5, delta=0.05)
        assert_almost_equal(count_high / 10000, 0.5, delta=0.05)

    def test_mixture_equal_weights(self):
        init = Mixture(distributions=[Constant(0.3 * u.siemens), Constant(0.6 * u.siemens), Constant(0.9 * u.siemens)])
        weights = init(3000, rng=self.rng)
        assert len(weights) == 3000

    def test_repr(self):
        init = Mixture([Constant(0.5 * u.siemens)])
        assert "mixture" in repr(init)  # braintools: "Mixture"


class TestConditional:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_conditional_basic(self):
        def is_even(indices):
            return indices % 2 == 0

        init = Conditional(
            condition_fn=is_even, true_dist=Constant(0.5 * u.siemens), false_dist=Constant(1.0 * u.siemens)
        )
        weights = init(100, neuron_indices=np.arange(100), rng=self.rng)

        for i in range(100):
            if i % 2 == 0:
                assert_almost_equal(weights[i].mantissa, 0.5, delta=0.001)
            else:
                assert_almost_equal(weights[i].mantissa, 1.0, delta=0.001)

    def test_conditional_without_indices(self):
        def all_true(indices):
            return np.ones(len(indices), dtype=bool)

        init = Conditional(
            condition_fn=all_true, true_dist=Constant(0.5 * u.siemens), false_dist=Constant(1.0 * u.siemens)
        )
        weights = init(50, rng=self.rng)
        assert np.all(np.abs(weights.mantissa - 0.5) < 0.001)

    def test_repr(self):
        def dummy(x):
            return x > 0

        init = Conditional(dummy, Constant(0.5 * u.siemens), Constant(1.0 * u.siemens))
        assert "where" in repr(init)  # braintools: "Conditional"


class TestScaled:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_scaled_basic(self):
        base = Constant(1.0 * u.siemens)
        init = Scaled(base, scale_factor=0.5)
        weights = init(100, rng=self.rng)
        assert np.all(np.abs(weights.mantissa - 0.5) < 0.001)

    def test_scaled_with_quantity(self):
        base = Constant(1.0 * u.siemens)
        init = Scaled(base, scale_factor=2.0)
        weights = init(100, rng=self.rng)
        assert np.all(np.abs(weights.mantissa - 2.0) < 0.001)

    def test_scaled_statistics(self):
        base = Normal(1.0 * u.siemens, 0.1 * u.siemens)
        init = Scaled(base, scale_factor=2.0)
        weights = init(100000, rng=self.rng)
        mean = np.mean(weights.mantissa)
        assert_almost_equal(mean, 2.0, delta=0.01)

    def test_repr(self):
        base = Constant(1.0 * u.siemens)
        init = Scaled(base, 0.5)
        assert "scale" in repr(init)  # braintools: "Scaled"


class TestClipped:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_clipped_min(self):
        base = Normal(0.0 * u.siemens, 1.0 * u.siemens)
        init = Clipped(base, min_val=0.0 * u.siemens)
        weights = init(10000, rng=self.rng)
        assert np.all(weights >= 0.0 * u.siemens)

    def test_clipped_max(self):
        base = Normal(1.0 * u.siemens, 1.0 * u.siemens)
        init = Clipped(base, max_val=1.0 * u.siemens)
        weights = init(10000, rng=self.rng)
        assert np.all(weights <= 1.0 * u.siemens)

    def test_clipped_both(self):
        base = Normal(0.5 * u.siemens, 1.0 * u.siemens)
        init = Clipped(base, min_val=0.0 * u.siemens, max_val=1.0 * u.siemens)
        weights = init(10000, rng=self.rng)
        assert np.all(weights >= 0.0 * u.siemens)
        assert np.all(weights <= 1.0 * u.siemens)

    def test_clipped_statistics(self):
        base = Normal(0.5 * u.siemens, 0.1 * u.siemens)
        init = Clipped(base, min_val=0.4 * u.siemens, max_val=0.6 * u.siemens)
        weights = init(100000, rng=self.rng)
        assert np.all(weights >= 0.4 * u.siemens)
        assert np.all(weights <= 0.6 * u.siemens)

    def test_repr(self):
        base = Constant(1.0 * u.siemens)
        init = Clipped(base, min_val=0.0 * u.siemens)
        assert "clip" in repr(init)  # braintools: "Clipped"


class TestConditionalMultiDim:
    def setup_method(self):
        self.rng = np.random.default_rng(0)

    def test_conditional_2d_size(self):
        def is_low(idx):
            return idx < 6

        init = Conditional(is_low, Constant(0.5 * u.siemens), Constant(1.0 * u.siemens))
        weights = init((3, 4), rng=self.rng)
        assert weights.shape == (3, 4)
        flat = weights.mantissa.reshape(-1)
        assert np.all(np.abs(flat[:6] - 0.5) < 1e-6)
        assert np.all(np.abs(flat[6:] - 1.0) < 1e-6)

    def test_conditional_mask_length_mismatch_raises(self):
        def bad(idx):
            return np.array([True, False])  # wrong length

        init = Conditional(bad, Constant(0.5 * u.siemens), Constant(1.0 * u.siemens))
        with pytest.raises(ValueError):
            init(10, rng=self.rng)


class TestClippedUnitless:
    def setup_method(self):
        self.rng = np.random.default_rng(0)

    def test_clipped_unitless_base(self):
        base = Normal(0.0, 1.0)
        init = Clipped(base, min_val=0.0, max_val=1.0)
        weights = np.asarray(init(1000, rng=self.rng))
        assert np.all(weights >= 0.0)
        assert np.all(weights <= 1.0)

    def test_clipped_unitless_min_only(self):
        base = Normal(0.0, 1.0)
        init = Clipped(base, min_val=0.0)
        weights = np.asarray(init(1000, rng=self.rng))
        assert np.all(weights >= 0.0)


class TestMixtureValidation:
    def setup_method(self):
        self.rng = np.random.default_rng(0)

    def test_empty_distributions_raises(self):
        with pytest.raises(ValueError):
            Mixture(distributions=[])

    def test_weights_length_mismatch_raises(self):
        with pytest.raises(ValueError):
            Mixture([Constant(0.5 * u.siemens), Constant(1.0 * u.siemens)], weights=[1.0])

    @MIXTURE_NORMALISES
    def test_weights_not_sum_to_one_raises(self):
        """Peer: Mixture(..., weights=[0.5, 0.2]) raises ValueError."""

    def test_negative_weights_raises(self):
        with pytest.raises(ValueError):
            Mixture([Constant(0.5 * u.siemens), Constant(1.0 * u.siemens)], weights=[1.5, -0.5])

    def test_mixture_size_zero(self):
        init = Mixture([Constant(0.5 * u.siemens), Constant(1.0 * u.siemens)])
        weights = init(0, rng=self.rng)
        assert u.math.shape(weights) == (0,)

    def test_mixture_2d_size(self):
        init = Mixture([Constant(0.5 * u.siemens), Constant(1.0 * u.siemens)])
        weights = init((3, 4), rng=self.rng)
        assert weights.shape == (3, 4)


class TestCompositeScenarios:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_scaled_clipped_combination(self):
        base = Normal(0.5 * u.siemens, 0.2 * u.siemens)
        scaled = Scaled(base, scale_factor=2.0)
        clipped = Clipped(scaled, min_val=0.0 * u.siemens, max_val=1.5 * u.siemens)
        weights = clipped(10000, rng=self.rng)
        assert np.all(weights >= 0.0 * u.siemens)
        assert np.all(weights <= 1.5 * u.siemens)

    def test_mixture_of_conditionals(self):
        def is_even(indices):
            return indices % 2 == 0

        cond1 = Conditional(is_even, Constant(0.3 * u.siemens), Constant(0.7 * u.siemens))

        weights = cond1(1000, neuron_indices=np.arange(1000), rng=self.rng)
        assert len(weights) == 1000
        for i in range(100):
            if i % 2 == 0:
                assert_almost_equal(weights[i].mantissa, 0.3, delta=0.001)
            else:
                assert_almost_equal(weights[i].mantissa, 0.7, delta=0.001)

    def test_clipped_mixture_scaled(self):
        mix = Mixture(
            distributions=[Normal(0.5 * u.siemens, 0.1 * u.siemens), Uniform(0.3 * u.siemens, 0.7 * u.siemens)],
            weights=[0.6, 0.4],
        )
        scaled = Scaled(mix, scale_factor=2.0)
        clipped = Clipped(scaled, min_val=0.0 * u.siemens, max_val=1.5 * u.siemens)
        weights = clipped(10000, rng=self.rng)
        assert np.all(weights >= 0.0 * u.siemens)
        assert np.all(weights <= 1.5 * u.siemens)


# ==================================================================================================
# distance base: braintools/init/_distance_base_test.py
# ==================================================================================================


class TestDistanceProfiles:
    def test_gaussian_profile(self):
        profile = GaussianProfile(sigma=50.0 * u.um, max_distance=200.0 * u.um)
        distances = np.array([0, 25, 50, 100, 200, 250]) * u.um
        probs = profile.probability(distances)

        assert_almost_equal(probs[0], 1.0, delta=0.001)
        assert probs[0] > probs[1] > probs[2] > probs[3]
        assert_almost_equal(probs[4], 0.0, delta=0.001)
        assert_almost_equal(probs[5], 0.0, delta=0.001)

    def test_gaussian_weight_scaling(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        distances = np.array([0, 50, 100]) * u.um
        weights = profile.weight_scaling(distances)
        assert len(weights) == 3

    def test_exponential_profile(self):
        profile = ExponentialProfile(decay_constant=100.0 * u.um, max_distance=500.0 * u.um)
        distances = np.array([0, 100, 200, 400, 500.1, 600]) * u.um
        probs = profile.probability(distances)

        assert_almost_equal(probs[0], 1.0, delta=0.001)
        assert_almost_equal(probs[1], 1.0 / np.e, delta=0.001)
        assert probs[0] > probs[1] > probs[2] > probs[3]
        assert_almost_equal(probs[4], 0.0, delta=0.001)
        assert_almost_equal(probs[5], 0.0, delta=0.001)

    def test_power_law_profile(self):
        profile = PowerLawProfile(exponent=2.0, min_distance=1.0 * u.um, max_distance=1000.0 * u.um)
        distances = np.array([1, 10, 100, 1000, 2000]) * u.um
        probs = profile.probability(distances)

        assert probs[0] > probs[1] > probs[2] > probs[3]
        assert probs[4] == 0.0

    def test_linear_profile(self):
        profile = LinearProfile(max_distance=200.0 * u.um)
        distances = np.array([0, 50, 100, 150, 200, 250]) * u.um
        probs = profile.probability(distances)

        assert_almost_equal(probs[0], 1.0, delta=0.001)
        assert_almost_equal(probs[1], 0.75, delta=0.001)
        assert_almost_equal(probs[2], 0.5, delta=0.001)
        assert_almost_equal(probs[3], 0.25, delta=0.001)
        assert probs[4] == 0.0
        assert probs[5] == 0.0

    def test_step_profile(self):
        profile = StepProfile(threshold=100.0 * u.um, inside_prob=0.8, outside_prob=0.1)
        distances = np.array([50, 100, 150]) * u.um
        probs = profile.probability(distances)

        assert probs[0] == 0.8
        assert probs[1] == 0.8
        assert probs[2] == 0.1

    def test_profile_repr(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        assert "gaussian" in repr(profile)  # braintools: "GaussianProfile"


class TestDistanceProfileEdgeCases:
    def test_empty_distances(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        distances = np.array([]) * u.um
        probs = profile.probability(distances)
        assert len(probs) == 0

    def test_single_distance(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        distances = np.array([25]) * u.um
        probs = profile.probability(distances)
        assert len(probs) == 1
        assert 0.0 <= probs[0] <= 1.0

    def test_different_units(self):
        profile = ExponentialProfile(decay_constant=0.1 * u.mm)
        distances = np.array([0, 50, 100]) * u.um
        probs = profile.probability(distances)
        assert len(probs) == 3
        assert_almost_equal(probs[0], 1.0, delta=0.001)

    def test_large_distances(self):
        profile = LinearProfile(max_distance=100.0 * u.um)
        distances = np.array([1e6, 1e7, 1e8]) * u.um
        probs = profile.probability(distances)
        assert np.all(probs == 0.0)


@NO_PROFILE_ALGEBRA
class TestComposedProfileMethods:
    def test_composed_probability_uses_probability(self): ...
    def test_composed_weight_scaling_uses_weight_scaling(self): ...


@NO_PROFILE_ALGEBRA
class TestPipeProfileRejectsProfile:
    def test_pipe_rejects_profile_rhs_probability(self): ...
    def test_pipe_rejects_profile_rhs_weight_scaling(self): ...
    def test_pipe_accepts_callable(self): ...


@NO_PROFILE_ALGEBRA
class TestProfileArithmetic:
    def test_add_and_radd(self): ...
    def test_sub_and_rsub(self): ...
    def test_mul_and_rmul(self): ...
    def test_truediv_and_rtruediv(self): ...
    def test_compose_two_profiles_subtraction(self): ...
    def test_evaluate_rejects_bad_operand(self): ...
    def test_composed_repr(self): ...


@NO_PROFILE_ALGEBRA
class TestClipProfile:
    def test_probability_bounded(self): ...
    def test_weight_scaling_bounded(self): ...
    def test_clip_only_min(self): ...
    def test_clip_only_max(self): ...
    def test_repr(self): ...


@NO_PROFILE_ALGEBRA
class TestApplyProfile:
    def test_probability_transformed(self): ...
    def test_weight_scaling_transformed(self): ...
    def test_repr(self): ...


@NO_PROFILE_ALGEBRA
class TestPipeProfileExtras:
    def test_weight_scaling_applies_func(self): ...
    def test_non_callable_rhs_raises(self): ...
    def test_repr(self): ...


# ==================================================================================================
# distance profiles: braintools/init/_distance_impl_test.py
# ==================================================================================================


class TestGaussianProfile:
    def test_gaussian_basic(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        distances = np.array([0, 50, 100, 150]) * u.um
        probs = profile.probability(distances)

        assert_almost_equal(probs[0], 1.0, delta=0.001)
        assert probs[0] > probs[1] > probs[2] > probs[3]

    def test_gaussian_with_max_distance(self):
        profile = GaussianProfile(sigma=50.0 * u.um, max_distance=150.0 * u.um)
        distances = np.array([0, 50, 100, 150, 200]) * u.um
        probs = profile.probability(distances)

        assert_almost_equal(probs[0], 1.0, delta=0.001)
        assert probs[3] < 0.02
        assert_almost_equal(probs[4], 0.0, delta=0.001)

    def test_gaussian_weight_scaling_matches_probability(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        distances = np.array([0, 50, 100]) * u.um
        probs = profile.probability(distances)
        weights = profile.weight_scaling(distances)
        assert np.allclose(probs, weights)

    def test_repr(self):
        profile = GaussianProfile(sigma=50.0 * u.um, max_distance=200.0 * u.um)
        repr_str = repr(profile)
        assert "gaussian" in repr_str  # braintools: "GaussianProfile"
        assert "50" in repr_str


class TestExponentialProfile:
    def test_exponential_basic(self):
        profile = ExponentialProfile(decay_constant=100.0 * u.um)
        distances = np.array([0, 100, 200, 300]) * u.um
        probs = profile.probability(distances)

        assert_almost_equal(probs[0], 1.0, delta=0.001)
        assert_almost_equal(probs[1], 1.0 / np.e, delta=0.001)
        assert probs[0] > probs[1] > probs[2] > probs[3]

    def test_exponential_with_max_distance(self):
        profile = ExponentialProfile(decay_constant=100.0 * u.um, max_distance=400.0 * u.um)
        distances = np.array([0, 100, 200, 400.1, 500]) * u.um
        probs = profile.probability(distances)

        assert_almost_equal(probs[0], 1.0, delta=0.001)
        assert_almost_equal(probs[3], 0.0, delta=0.001)
        assert_almost_equal(probs[4], 0.0, delta=0.001)

    def test_exponential_weight_scaling_matches_probability(self):
        profile = ExponentialProfile(decay_constant=100.0 * u.um)
        distances = np.array([0, 50, 100]) * u.um
        probs = profile.probability(distances)
        weights = profile.weight_scaling(distances)
        assert np.allclose(probs, weights)

    def test_repr(self):
        profile = ExponentialProfile(decay_constant=100.0 * u.um, max_distance=500.0 * u.um)
        repr_str = repr(profile)
        assert "exponential" in repr_str  # braintools: "ExponentialProfile"


class TestPowerLawProfile:
    def test_power_law_basic(self):
        profile = PowerLawProfile(exponent=2.0, min_distance=1.0 * u.um)
        distances = np.array([1, 10, 100, 1000]) * u.um
        probs = profile.probability(distances)

        assert probs[0] > probs[1] > probs[2] > probs[3]

    def test_power_law_with_max_distance(self):
        profile = PowerLawProfile(exponent=2.0, min_distance=1.0 * u.um, max_distance=500.0 * u.um)
        distances = np.array([1, 10, 100, 500, 600]) * u.um
        probs = profile.probability(distances)

        assert probs[0] > probs[1] > probs[2] > probs[3]
        assert probs[4] == 0.0

    def test_power_law_min_distance_protection(self):
        profile = PowerLawProfile(exponent=2.0)
        distances = np.array([0, 0.1, 1, 10]) * u.um
        probs = profile.probability(distances)

        assert np.all(np.isfinite(probs))

    def test_repr(self):
        profile = PowerLawProfile(exponent=2.0, min_distance=1.0 * u.um)
        repr_str = repr(profile)
        assert "power_law" in repr_str  # braintools: "PowerLawProfile"


class TestLinearProfile:
    def test_linear_basic(self):
        profile = LinearProfile(max_distance=200.0 * u.um)
        distances = np.array([0, 50, 100, 150, 200]) * u.um
        probs = profile.probability(distances)

        assert_almost_equal(probs[0], 1.0, delta=0.001)
        assert_almost_equal(probs[1], 0.75, delta=0.001)
        assert_almost_equal(probs[2], 0.5, delta=0.001)
        assert_almost_equal(probs[3], 0.25, delta=0.001)
        assert probs[4] == 0.0

    def test_linear_beyond_max(self):
        profile = LinearProfile(max_distance=100.0 * u.um)
        distances = np.array([0, 50, 100, 150]) * u.um
        probs = profile.probability(distances)

        assert_almost_equal(probs[0], 1.0, delta=0.001)
        assert probs[2] == 0.0
        assert probs[3] == 0.0

    def test_linear_weight_scaling_matches_probability(self):
        profile = LinearProfile(max_distance=200.0 * u.um)
        distances = np.array([0, 50, 100]) * u.um
        probs = profile.probability(distances)
        weights = profile.weight_scaling(distances)
        assert np.allclose(probs, weights)

    def test_repr(self):
        profile = LinearProfile(max_distance=200.0 * u.um)
        repr_str = repr(profile)
        assert "linear" in repr_str  # braintools: "LinearProfile"


class TestStepProfile:
    def test_step_basic(self):
        profile = StepProfile(threshold=100.0 * u.um)
        distances = np.array([0, 50, 100, 150, 200]) * u.um
        probs = profile.probability(distances)

        assert probs[0] == 1.0
        assert probs[1] == 1.0
        assert probs[2] == 1.0
        assert probs[3] == 0.0
        assert probs[4] == 0.0

    def test_step_custom_probabilities(self):
        profile = StepProfile(threshold=100.0 * u.um, inside_prob=0.8, outside_prob=0.2)
        distances = np.array([50, 100, 150]) * u.um
        probs = profile.probability(distances)

        assert probs[0] == 0.8
        assert probs[1] == 0.8
        assert probs[2] == 0.2

    def test_step_weight_scaling_matches_probability(self):
        profile = StepProfile(threshold=100.0 * u.um, inside_prob=0.7, outside_prob=0.3)
        distances = np.array([50, 100, 150]) * u.um
        probs = profile.probability(distances)
        weights = profile.weight_scaling(distances)
        assert np.allclose(probs, weights)

    def test_repr(self):
        profile = StepProfile(threshold=100.0 * u.um, inside_prob=0.8, outside_prob=0.1)
        repr_str = repr(profile)
        assert "step" in repr_str  # braintools: "StepProfile"


class TestSigmoidProfile:
    def test_sigmoid_basic(self):
        profile = SigmoidProfile(midpoint=100.0 * u.um, slope=0.05)
        distances = np.array([0, 50, 100, 150, 200]) * u.um
        probs = profile.probability(distances)

        assert_almost_equal(probs[2], 0.5, delta=0.01)
        assert probs[0] > probs[1] > probs[2] > probs[3] > probs[4]

    def test_sigmoid_with_max_distance(self):
        profile = SigmoidProfile(midpoint=100.0 * u.um, slope=0.05, max_distance=200.0 * u.um)
        distances = np.array([0, 50, 100, 150, 200, 250]) * u.um
        probs = profile.probability(distances)

        assert_almost_equal(probs[2], 0.5, delta=0.01)
        assert_almost_equal(probs[5], 0.0, delta=0.001)

    def test_sigmoid_slope_effect(self):
        profile_steep = SigmoidProfile(midpoint=100.0 * u.um, slope=0.1)
        profile_gentle = SigmoidProfile(midpoint=100.0 * u.um, slope=0.02)
        distances = np.array([80, 100, 120]) * u.um

        probs_steep = profile_steep.probability(distances)
        probs_gentle = profile_gentle.probability(distances)

        steep_diff = probs_steep[0] - probs_steep[2]
        gentle_diff = probs_gentle[0] - probs_gentle[2]
        assert steep_diff > gentle_diff

    def test_sigmoid_weight_scaling_matches_probability(self):
        profile = SigmoidProfile(midpoint=100.0 * u.um, slope=0.05)
        distances = np.array([0, 100, 200]) * u.um
        probs = profile.probability(distances)
        weights = profile.weight_scaling(distances)
        assert np.allclose(probs, weights)

    def test_repr(self):
        profile = SigmoidProfile(midpoint=100.0 * u.um, slope=0.05, max_distance=300.0 * u.um)
        repr_str = repr(profile)
        assert "sigmoid" in repr_str  # braintools: "SigmoidProfile"
        assert "100" in repr_str


class TestDoGProfile:
    def test_dog_basic(self):
        profile = DoGProfile(
            sigma_center=30.0 * u.um, sigma_surround=90.0 * u.um, amplitude_center=1.0, amplitude_surround=0.5
        )
        distances = np.array([0, 30, 60, 90, 120]) * u.um
        probs = profile.probability(distances)

        assert probs[0] > 0
        assert np.all(probs >= 0)

    def test_dog_center_surround_pattern(self):
        profile = DoGProfile(
            sigma_center=20.0 * u.um, sigma_surround=60.0 * u.um, amplitude_center=1.0, amplitude_surround=0.8
        )
        distances = np.array([0, 20, 40, 60, 100]) * u.um
        probs = profile.probability(distances)

        assert probs[0] > 0.1
        assert probs[-1] < probs[0]

    def test_dog_with_max_distance(self):
        profile = DoGProfile(sigma_center=30.0 * u.um, sigma_surround=90.0 * u.um, max_distance=150.0 * u.um)
        distances = np.array([0, 50, 100, 150, 200]) * u.um
        probs = profile.probability(distances)

        assert probs[0] > 0
        assert_almost_equal(probs[4], 0.0, delta=0.001)

    def test_dog_weight_scaling_matches_probability(self):
        profile = DoGProfile(sigma_center=30.0 * u.um, sigma_surround=90.0 * u.um)
        distances = np.array([0, 50, 100]) * u.um
        probs = profile.probability(distances)
        weights = profile.weight_scaling(distances)
        assert np.allclose(probs, weights)

    def test_repr(self):
        profile = DoGProfile(
            sigma_center=30.0 * u.um, sigma_surround=90.0 * u.um, amplitude_center=1.0, amplitude_surround=0.5
        )
        repr_str = repr(profile)
        assert "dog" in repr_str  # braintools: "DoGProfile"


class TestLogisticProfile:
    def test_logistic_basic(self):
        profile = LogisticProfile(growth_rate=0.05, midpoint=100.0 * u.um)
        distances = np.array([0, 50, 100, 150, 200]) * u.um
        probs = profile.probability(distances)

        assert_almost_equal(probs[2], 0.5, delta=0.01)
        assert probs[0] > probs[1] > probs[2] > probs[3] > probs[4]

    def test_logistic_with_max_distance(self):
        profile = LogisticProfile(growth_rate=0.05, midpoint=100.0 * u.um, max_distance=250.0 * u.um)
        distances = np.array([0, 100, 200, 250, 300]) * u.um
        probs = profile.probability(distances)

        assert_almost_equal(probs[1], 0.5, delta=0.01)
        assert_almost_equal(probs[4], 0.0, delta=0.001)

    def test_logistic_growth_rate_effect(self):
        profile_fast = LogisticProfile(growth_rate=0.1, midpoint=100.0 * u.um)
        profile_slow = LogisticProfile(growth_rate=0.02, midpoint=100.0 * u.um)
        distances = np.array([80, 100, 120]) * u.um

        probs_fast = profile_fast.probability(distances)
        probs_slow = profile_slow.probability(distances)

        fast_diff = probs_fast[0] - probs_fast[2]
        slow_diff = probs_slow[0] - probs_slow[2]
        assert fast_diff > slow_diff

    def test_logistic_weight_scaling_matches_probability(self):
        profile = LogisticProfile(growth_rate=0.05, midpoint=100.0 * u.um)
        distances = np.array([0, 100, 200]) * u.um
        probs = profile.probability(distances)
        weights = profile.weight_scaling(distances)
        assert np.allclose(probs, weights)

    def test_repr(self):
        profile = LogisticProfile(growth_rate=0.05, midpoint=100.0 * u.um, max_distance=500.0 * u.um)
        repr_str = repr(profile)
        assert "sigmoid" in repr_str  # braintools: "LogisticProfile" (a sigmoid with slope = growth rate)
        assert "0.05" in repr_str


class TestBimodalProfile:
    def test_bimodal_basic(self):
        profile = BimodalProfile(
            sigma1=30.0 * u.um,
            sigma2=50.0 * u.um,
            center1=0.0 * u.um,
            center2=200.0 * u.um,
            amplitude1=1.0,
            amplitude2=0.8,
        )
        distances = np.array([0, 50, 100, 200, 300]) * u.um
        probs = profile.probability(distances)

        assert probs[0] > probs[1]
        assert probs[3] > probs[2]

    def test_bimodal_two_peaks(self):
        profile = BimodalProfile(
            sigma1=20.0 * u.um,
            sigma2=30.0 * u.um,
            center1=50.0 * u.um,
            center2=150.0 * u.um,
            amplitude1=1.0,
            amplitude2=1.0,
        )
        distances = np.array([0, 50, 100, 150, 200]) * u.um
        probs = profile.probability(distances)

        assert probs[1] > probs[0]
        assert probs[3] > probs[4]
        assert probs[1] > probs[2] or probs[3] > probs[2]

    def test_bimodal_different_amplitudes(self):
        profile = BimodalProfile(
            sigma1=30.0 * u.um,
            sigma2=30.0 * u.um,
            center1=0.0 * u.um,
            center2=100.0 * u.um,
            amplitude1=1.0,
            amplitude2=0.5,
        )
        distances = np.array([0, 100]) * u.um
        probs = profile.probability(distances)

        assert probs[0] > probs[1]

    def test_bimodal_with_max_distance(self):
        profile = BimodalProfile(
            sigma1=30.0 * u.um,
            sigma2=50.0 * u.um,
            center1=0.0 * u.um,
            center2=200.0 * u.um,
            max_distance=250.0 * u.um,
        )
        distances = np.array([0, 100, 200, 250, 300]) * u.um
        probs = profile.probability(distances)

        assert probs[0] > 0
        assert_almost_equal(probs[4], 0.0, delta=0.001)

    def test_bimodal_weight_scaling_matches_probability(self):
        profile = BimodalProfile(sigma1=30.0 * u.um, sigma2=50.0 * u.um, center1=0.0 * u.um, center2=200.0 * u.um)
        distances = np.array([0, 100, 200]) * u.um
        probs = profile.probability(distances)
        weights = profile.weight_scaling(distances)
        assert np.allclose(probs, weights)

    def test_repr(self):
        profile = BimodalProfile(
            sigma1=30.0 * u.um,
            sigma2=50.0 * u.um,
            center1=0.0 * u.um,
            center2=200.0 * u.um,
            amplitude1=1.0,
            amplitude2=0.8,
        )
        repr_str = repr(profile)
        assert "bimodal" in repr_str  # braintools: "BimodalProfile"


class TestMexicanHatProfile:
    def test_mexican_hat_basic(self):
        profile = MexicanHatProfile(sigma=50.0 * u.um)
        distances = np.array([0, 25, 50, 75, 100, 150]) * u.um
        probs = profile.probability(distances)

        assert probs[0] > 0
        assert np.all(probs >= 0)
        assert probs[0] >= probs[2]

    def test_mexican_hat_center_surround(self):
        profile = MexicanHatProfile(sigma=50.0 * u.um, amplitude=1.0)
        distances = np.array([0, 30, 60, 90, 120, 200]) * u.um
        probs = profile.probability(distances)

        assert probs[0] > 0
        assert probs[0] > probs[3]
        assert probs[-1] < probs[0]

    def test_mexican_hat_with_max_distance(self):
        profile = MexicanHatProfile(sigma=50.0 * u.um, amplitude=1.0, max_distance=200.0 * u.um)
        distances = np.array([0, 50, 100, 200, 250]) * u.um
        probs = profile.probability(distances)

        assert probs[0] > 0
        assert_almost_equal(probs[4], 0.0, delta=0.001)

    def test_mexican_hat_amplitude_scaling(self):
        profile1 = MexicanHatProfile(sigma=50.0 * u.um, amplitude=1.0)
        profile2 = MexicanHatProfile(sigma=50.0 * u.um, amplitude=2.0)
        distances = np.array([0, 25, 50, 100]) * u.um

        probs1 = profile1.probability(distances)
        probs2 = profile2.probability(distances)

        assert np.allclose(probs2, 2.0 * probs1, rtol=0.01)

    def test_mexican_hat_sigma_effect(self):
        profile_narrow = MexicanHatProfile(sigma=30.0 * u.um)
        profile_wide = MexicanHatProfile(sigma=100.0 * u.um)
        distances = np.array([0, 30, 60, 90, 120]) * u.um

        probs_narrow = profile_narrow.probability(distances)
        probs_wide = profile_wide.probability(distances)

        assert probs_narrow[1] / probs_narrow[0] < probs_wide[1] / probs_wide[0]

    def test_mexican_hat_shape(self):
        profile = MexicanHatProfile(sigma=50.0 * u.um)
        distances = np.linspace(0, 200, 50) * u.um
        probs = profile.probability(distances)

        max_idx = np.argmax(probs)
        assert max_idx < 5

        assert np.all(probs >= 0)

    def test_mexican_hat_weight_scaling_matches_probability(self):
        profile = MexicanHatProfile(sigma=50.0 * u.um)
        distances = np.array([0, 50, 100]) * u.um
        probs = profile.probability(distances)
        weights = profile.weight_scaling(distances)
        assert np.allclose(probs, weights)

    def test_repr(self):
        profile = MexicanHatProfile(sigma=50.0 * u.um, amplitude=1.0, max_distance=300.0 * u.um)
        repr_str = repr(profile)
        assert "mexican_hat" in repr_str  # braintools: "MexicanHatProfile"
        assert "50" in repr_str


class TestScalarDistance:
    def test_gaussian_scalar_with_max_distance(self):
        profile = GaussianProfile(sigma=50.0 * u.um, max_distance=100.0 * u.um)
        p_in = profile.probability(50.0 * u.um)
        assert np.isfinite(np.asarray(u.get_mantissa(p_in))).all()
        p_out = profile.probability(150.0 * u.um)
        assert_almost_equal(float(np.asarray(u.get_mantissa(p_out))), 0.0, delta=1e-6)

    def test_exponential_scalar_with_max_distance(self):
        profile = ExponentialProfile(decay_constant=100.0 * u.um, max_distance=200.0 * u.um)
        p = profile.probability(300.0 * u.um)
        assert_almost_equal(float(np.asarray(u.get_mantissa(p))), 0.0, delta=1e-6)

    def test_mexican_hat_scalar_with_max_distance(self):
        profile = MexicanHatProfile(sigma=50.0 * u.um, max_distance=100.0 * u.um)
        p = profile.probability(200.0 * u.um)
        assert_almost_equal(float(np.asarray(u.get_mantissa(p))), 0.0, delta=1e-6)


class TestPowerLawScaleInvariance:
    def test_same_physical_distance_same_probability(self):
        profile = PowerLawProfile(exponent=2.0, min_distance=1.0 * u.um)
        p_um = np.asarray(u.get_mantissa(profile.probability(np.array([100.0]) * u.um)))
        p_mm = np.asarray(u.get_mantissa(profile.probability(np.array([0.1]) * u.mm)))
        np.testing.assert_allclose(p_um, p_mm, rtol=1e-4)

    def test_peaks_at_one_within_reference(self):
        profile = PowerLawProfile(exponent=2.0, min_distance=10.0 * u.um)
        p = np.asarray(u.get_mantissa(profile.probability(np.array([1.0, 10.0]) * u.um)))
        np.testing.assert_allclose(p, 1.0, rtol=1e-5)


class TestMexicanHatScaleInvariance:
    def test_peak_equals_amplitude(self):
        profile = MexicanHatProfile(sigma=50.0 * u.um, amplitude=1.0)
        peak = float(np.asarray(u.get_mantissa(profile.probability(0.0 * u.um))))
        assert_almost_equal(peak, 1.0, delta=1e-5)

    def test_peak_scale_invariant(self):
        p_um = float(np.asarray(u.get_mantissa(MexicanHatProfile(sigma=50.0 * u.um).probability(0.0 * u.um))))
        p_mm = float(np.asarray(u.get_mantissa(MexicanHatProfile(sigma=0.05 * u.mm).probability(0.0 * u.mm))))
        assert_almost_equal(p_um, p_mm, delta=1e-5)


class TestProfileValidation:
    def test_gaussian_nonpositive_sigma_raises(self):
        with pytest.raises(ValueError):
            GaussianProfile(sigma=-50.0 * u.um)

    def test_exponential_nonpositive_decay_raises(self):
        with pytest.raises(ValueError):
            ExponentialProfile(decay_constant=0.0 * u.um)

    def test_gaussian_nonpositive_max_distance_raises(self):
        with pytest.raises(ValueError):
            GaussianProfile(sigma=50.0 * u.um, max_distance=-10.0 * u.um)

    def test_dog_nonpositive_sigma_raises(self):
        with pytest.raises(ValueError):
            DoGProfile(sigma_center=-30.0 * u.um, sigma_surround=90.0 * u.um)

    def test_mexican_hat_nonpositive_sigma_raises(self):
        with pytest.raises(ValueError):
            MexicanHatProfile(sigma=0.0 * u.um)


class TestBimodalDefaults:
    def test_default_centers(self):
        profile = BimodalProfile(sigma1=30.0 * u.um, sigma2=50.0 * u.um)
        probs = profile.probability(np.array([0.0, 100.0]) * u.um)
        probs = np.asarray(u.get_mantissa(probs))
        assert probs[0] > probs[1]


class TestProfileJitTraceable:
    def test_gaussian_jit(self):
        profile = GaussianProfile(sigma=50.0 * u.um, max_distance=150.0 * u.um)
        distances = np.array([0.0, 50.0, 200.0]) * u.um
        out = jax.jit(profile.probability)(distances)
        out = np.asarray(u.get_mantissa(out))
        assert_almost_equal(out[0], 1.0, delta=1e-5)
        assert_almost_equal(out[2], 0.0, delta=1e-6)

    def test_sigmoid_jit(self):
        profile = SigmoidProfile(midpoint=100.0 * u.um, slope=0.05)
        distances = np.array([0.0, 100.0, 200.0]) * u.um
        out = jax.jit(profile.probability)(distances)
        out = np.asarray(u.get_mantissa(out))
        assert_almost_equal(out[1], 0.5, delta=1e-3)


# ==================================================================================================
# distance modulated: braintools/init/_init_with_distance_test.py
# ==================================================================================================


class TestDistanceModulatedBasic:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_basic_gaussian_profile(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        base_dist = Constant(1.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.array([0, 50, 100, 150]) * u.um
        weights = init(4, distances=distances, rng=self.rng)

        assert weights.shape == (4,)
        assert_almost_equal(weights[0].mantissa, 1.0, delta=0.01)
        assert weights[0] > weights[1] > weights[2] > weights[3]

    def test_basic_exponential_profile(self):
        profile = ExponentialProfile(decay_constant=100.0 * u.um)
        base_dist = Constant(2.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.array([0, 100, 200, 300]) * u.um
        weights = init(4, distances=distances, rng=self.rng)

        assert weights.shape == (4,)
        assert_almost_equal(weights[0].mantissa, 2.0, delta=0.01)
        assert_almost_equal(weights[1].mantissa, 2.0 / np.e, delta=0.01)
        assert weights[0] > weights[1] > weights[2] > weights[3]

    def test_basic_linear_profile(self):
        profile = LinearProfile(max_distance=200.0 * u.um)
        base_dist = Constant(1.5 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.array([0, 50, 100, 150, 200]) * u.um
        weights = init(5, distances=distances, rng=self.rng)

        assert weights.shape == (5,)
        assert_almost_equal(weights[0].mantissa, 1.5, delta=0.01)
        assert_almost_equal(weights[4].mantissa, 0.0, delta=0.01)
        assert_almost_equal(weights[2].mantissa, 0.75, delta=0.01)  # 50% distance

    def test_basic_step_profile(self):
        profile = StepProfile(threshold=100.0 * u.um, inside_prob=1.0, outside_prob=0.1)
        base_dist = Constant(1.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.array([50, 100, 150]) * u.um
        weights = init(3, distances=distances, rng=self.rng)

        assert weights.shape == (3,)
        assert_almost_equal(weights[0].mantissa, 1.0, delta=0.01)
        assert_almost_equal(weights[1].mantissa, 1.0, delta=0.01)
        assert_almost_equal(weights[2].mantissa, 0.1, delta=0.01)

    def test_repr(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        base_dist = Normal(1.0 * u.nS, 0.2 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        repr_str = repr(init)
        assert "modulate_by_distance" in repr_str  # braintools: "DistanceModulated"
        assert "base" in repr_str  # braintools: "base_dist"
        assert "profile" in repr_str  # braintools: "distance_profile"


class TestDistanceModulatedWithPositions:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_1d_positions(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        base_dist = Constant(1.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        pre_positions = np.array([[0], [100]]) * u.um
        post_positions = np.array([[0], [100]]) * u.um

        weights = init((2, 2), pre_positions=pre_positions, post_positions=post_positions, rng=self.rng)

        assert weights.shape == (2, 2)
        assert_almost_equal(weights[0, 0].mantissa, 1.0, delta=0.01)
        assert_almost_equal(weights[1, 1].mantissa, 1.0, delta=0.01)
        assert weights[0, 0] > weights[0, 1]
        assert_almost_equal(weights[0, 1].mantissa, weights[1, 0].mantissa, delta=0.01)

    def test_2d_positions(self):
        profile = ExponentialProfile(decay_constant=100.0 * u.um)
        base_dist = Constant(2.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        pre_positions = np.array([[0, 0], [100, 0]]) * u.um
        post_positions = np.array([[0, 0], [0, 100]]) * u.um

        weights = init((2, 2), pre_positions=pre_positions, post_positions=post_positions, rng=self.rng)

        assert weights.shape == (2, 2)
        assert_almost_equal(weights[0, 0].mantissa, 2.0, delta=0.01)
        assert_almost_equal(weights[0, 1].mantissa, 2.0 / np.e, delta=0.1)
        assert_almost_equal(weights[1, 0].mantissa, 2.0 / np.e, delta=0.1)

    def test_3d_positions(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        base_dist = Constant(1.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        pre_positions = np.array([[0, 0, 0], [50, 0, 0]]) * u.um
        post_positions = np.array([[0, 0, 0], [0, 50, 0]]) * u.um

        weights = init((2, 2), pre_positions=pre_positions, post_positions=post_positions, rng=self.rng)

        assert weights.shape == (2, 2)
        assert_almost_equal(weights[0, 0].mantissa, 1.0, delta=0.01)
        assert np.all(weights.mantissa > 0)

    def test_missing_positions_error(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        base_dist = Constant(1.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        with pytest.raises(ValueError) as context:
            init(4, rng=self.rng)

        assert "distances" in str(context.value)
        assert "pre_positions" in str(context.value)
        assert "post_positions" in str(context.value)

    def test_incomplete_positions_error(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        base_dist = Constant(1.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        pre_positions = np.array([[0], [100]]) * u.um

        with pytest.raises(ValueError):
            init(2, pre_positions=pre_positions, rng=self.rng)


class TestDistanceModulatedWithDistributions:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_with_normal_distribution(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        base_dist = Normal(1.0 * u.nS, 0.2 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.array([0, 50, 100]) * u.um
        weights = init(3, distances=distances, rng=self.rng)

        assert weights.shape == (3,)
        assert np.all(weights.mantissa > 0)
        distances_large = np.repeat([0, 100], 1000) * u.um
        weights_large = init(2000, distances=distances_large, rng=self.rng)
        weights_near = weights_large[:1000]
        weights_far = weights_large[1000:]
        assert np.mean(weights_near.mantissa) > np.mean(weights_far.mantissa)

    def test_with_uniform_distribution(self):
        profile = ExponentialProfile(decay_constant=100.0 * u.um)
        base_dist = Uniform(0.5 * u.nS, 1.5 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.array([0, 100, 200]) * u.um
        weights = init(3, distances=distances, rng=self.rng)

        assert weights.shape == (3,)
        assert np.all(weights.mantissa > 0)
        assert weights[0] > weights[1] > weights[2]

    def test_large_scale(self):
        profile = LinearProfile(max_distance=500.0 * u.um)
        base_dist = Normal(1.0 * u.nS, 0.1 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.random.uniform(0, 500, size=10000) * u.um
        weights = init(10000, distances=distances, rng=self.rng)

        assert weights.shape == (10000,)
        far_indices = np.where(distances.mantissa > 490)
        assert np.mean(weights[far_indices].mantissa) < 0.05


class TestDistanceModulatedEdgeCases:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_zero_distance(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        base_dist = Constant(1.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.zeros(5) * u.um
        weights = init(5, distances=distances, rng=self.rng)

        assert weights.shape == (5,)
        assert np.allclose(weights.mantissa, 1.0, atol=0.01)

    def test_very_large_distances(self):
        profile = ExponentialProfile(decay_constant=10.0 * u.um)
        base_dist = Constant(1.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.array([0, 100, 1000, 10000]) * u.um
        weights = init(4, distances=distances, rng=self.rng)

        assert weights.shape == (4,)
        assert weights[3].mantissa < 1e-10

    def test_max_distance_cutoff(self):
        profile = GaussianProfile(sigma=50.0 * u.um, max_distance=150.0 * u.um)
        base_dist = Constant(1.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.array([0, 100, 200, 300]) * u.um
        weights = init(4, distances=distances, rng=self.rng)

        assert weights.shape == (4,)
        assert_almost_equal(weights[2].mantissa, 0.0, delta=0.01)
        assert_almost_equal(weights[3].mantissa, 0.0, delta=0.01)

    def test_single_connection(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        base_dist = Constant(1.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.array([50]) * u.um
        weights = init(1, distances=distances, rng=self.rng)

        assert weights.shape == (1,)
        assert weights[0].mantissa > 0


class TestDistanceModulatedComposition:
    """The peer composes profiles with braintools' operators; jaxinit composes them with plain
    Python (DESIGN §2), so each composite is the equivalent lambda."""

    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_composed_addition(self):
        profile1 = GaussianProfile(sigma=50.0 * u.um)
        profile2 = ExponentialProfile(decay_constant=100.0 * u.um)
        composed_profile = lambda d: profile1(d) * 0.5 + profile2(d) * 0.5  # noqa: E731 - peer: p1 * 0.5 + p2 * 0.5

        base_dist = Constant(1.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=composed_profile)

        distances = np.array([0, 50, 100]) * u.um
        weights = init(3, distances=distances, rng=self.rng)

        assert weights.shape == (3,)
        assert weights[0] > weights[1] > weights[2]

    def test_composed_multiplication(self):
        profile1 = GaussianProfile(sigma=50.0 * u.um)
        profile2 = ExponentialProfile(decay_constant=100.0 * u.um)
        composed_profile = lambda d: profile1(d) * profile2(d)  # noqa: E731 - peer: profile1 * profile2

        base_dist = Constant(2.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=composed_profile)

        distances = np.array([0, 50, 100]) * u.um
        weights = init(3, distances=distances, rng=self.rng)

        assert weights.shape == (3,)
        assert weights[0] > weights[1] > weights[2]

    def test_clipped_profile(self):
        gaussian = GaussianProfile(sigma=50.0 * u.um)
        profile = lambda d: jnp.clip(gaussian(d), 0.1, 0.8)  # noqa: E731 - peer: gaussian.clip(min_val=0.1, max_val=0.8)
        base_dist = Constant(1.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.array([0, 50, 200]) * u.um
        weights = init(3, distances=distances, rng=self.rng)

        assert weights.shape == (3,)
        assert_almost_equal(weights[0].mantissa, 0.8, delta=0.01)
        assert weights[2].mantissa >= 0.1


class TestDistanceModulatedPowerLaw:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_power_law_profile(self):
        profile = PowerLawProfile(exponent=2.0, min_distance=1.0 * u.um)
        base_dist = Constant(100.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.array([1, 10, 100]) * u.um
        weights = init(3, distances=distances, rng=self.rng)

        assert weights.shape == (3,)
        assert_almost_equal(weights[0].mantissa, 100.0, delta=1.0)
        assert_almost_equal(weights[1].mantissa, 1.0, delta=0.1)
        assert_almost_equal(weights[2].mantissa, 0.01, delta=0.01)

    def test_power_law_with_max_distance(self):
        profile = PowerLawProfile(exponent=2.0, min_distance=1.0 * u.um, max_distance=500.0 * u.um)
        base_dist = Constant(100.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.array([1, 100, 500, 1000]) * u.um
        weights = init(4, distances=distances, rng=self.rng)

        assert weights.shape == (4,)
        assert weights[0].mantissa > 0
        assert weights[1].mantissa > 0
        assert_almost_equal(weights[3].mantissa, 0.0, delta=0.01)


class TestDistanceModulatedMatrixShape:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_1d_array(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        base_dist = Normal(1.0 * u.nS, 0.1 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.array([0, 25, 50, 75, 100]) * u.um
        weights = init(5, distances=distances, rng=self.rng)

        assert weights.shape == (5,)
        assert np.all(weights.mantissa > 0)

    def test_2d_matrix(self):
        profile = ExponentialProfile(decay_constant=100.0 * u.um)
        base_dist = Constant(1.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.random.uniform(0, 200, size=(10, 20)) * u.um
        weights = init((10, 20), distances=distances, rng=self.rng)

        assert weights.shape == (10, 20)
        assert np.all(weights.mantissa >= 0)

    def test_3d_tensor(self):
        profile = LinearProfile(max_distance=100.0 * u.um)
        base_dist = Constant(2.0 * u.nS)
        init = DistanceModulated(base_dist=base_dist, distance_profile=profile)

        distances = np.random.uniform(0, 150, size=(5, 10, 20)) * u.um
        weights = init((5, 10, 20), distances=distances, rng=self.rng)

        assert weights.shape == (5, 10, 20)
        assert np.all(weights.mantissa >= 0)


class TestDistanceModulatedFlat1DPositions:
    def setup_method(self):
        self.rng = np.random.default_rng(42)

    def test_flat_1d_positions_accepted(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        init = DistanceModulated(base_dist=Constant(1.0 * u.nS), distance_profile=profile)

        pre_positions = np.array([0.0, 100.0]) * u.um
        post_positions = np.array([0.0, 100.0]) * u.um

        weights = init((2, 2), pre_positions=pre_positions, post_positions=post_positions, rng=self.rng)

        assert weights.shape == (2, 2)
        assert_almost_equal(weights[0, 0].mantissa, 1.0, delta=0.01)
        assert_almost_equal(weights[1, 1].mantissa, 1.0, delta=0.01)
        assert weights[0, 0] > weights[0, 1]
        assert_almost_equal(weights[0, 1].mantissa, weights[1, 0].mantissa, delta=1e-6)

    def test_flat_1d_matches_column_vector(self):
        profile = ExponentialProfile(decay_constant=100.0 * u.um)
        init = DistanceModulated(base_dist=Constant(2.0 * u.nS), distance_profile=profile)

        flat = np.array([0.0, 50.0, 120.0]) * u.um
        column = flat.reshape(3, 1)

        w_flat = init((3, 3), pre_positions=flat, post_positions=flat, rng=self.rng)
        w_col = init((3, 3), pre_positions=column, post_positions=column, rng=self.rng)

        np.testing.assert_allclose(w_flat.mantissa, w_col.mantissa, rtol=1e-6)


class TestDistanceModulatedDeterministicGain:
    def setup_method(self):
        self.rng = np.random.default_rng(0)

    def test_output_equals_base_times_profile(self):
        profile = GaussianProfile(sigma=50.0 * u.um)
        base = Constant(2.0 * u.nS)
        init = DistanceModulated(base_dist=base, distance_profile=profile)

        distances = np.array([0.0, 50.0, 100.0]) * u.um
        weights = init(3, distances=distances, rng=self.rng)

        expected = 2.0 * np.asarray(profile.weight_scaling(distances))
        np.testing.assert_allclose(weights.to(u.nS).mantissa, expected, rtol=1e-5)

    def test_no_zeros_introduced_by_modulation(self):
        profile = ExponentialProfile(decay_constant=100.0 * u.um)
        init = DistanceModulated(base_dist=Constant(1.0 * u.nS), distance_profile=profile)

        distances = np.linspace(0, 300, 50) * u.um
        weights = init(50, distances=distances, rng=self.rng)
        assert np.all(weights.mantissa > 0)

"""The `math` module (and SciPy's special functions, tests/test_scipy.py)
at second order, the spellings of math.hypot, and the functions refused.

tests/test_rules.py checks every rule's first derivatives on its rows;
here the gradient s2sad generates for each row is differentiated again,
in reverse (when it is a number) and forward mode, and checked against
central differences of it."""

import cmath
import math

import numpy as np
import pytest

import s2sad
from s2sad import errors, runtime
from s2sad.rules import registry
from tests.test_rules import (
    ALL, SPECIAL_CASES, draw_args, generated_rows, is_float, load_probe)

SECOND_ORDER_MODULES = ("math",)
# runtime helpers that exist for the math rules
MATH_HELPERS = {runtime.digamma, runtime.polygamma, runtime.hypot}


def second_order_cases(modules=SECOND_ORDER_MODULES, helpers=MATH_HELPERS):
    for rule in registry.all_rules():
        module = rule.name.split(".")[0]
        if not rule.differentiable or not (module in modules
                                           or rule.key in helpers):
            continue
        for expr, args, argnums in SPECIAL_CASES.get(rule.key) or \
                generated_rows(rule):
            yield pytest.param(rule, expr, args, argnums,
                               id=f"{rule.name}: {expr} on {args}")


def check_second_order(rule, expr, args, argnums, tmp_path, rng):
    """The gradient of `expr` (weighted as tests/test_rules.py does) with
    respect to each float input, checked by central differences in both
    modes (reverse where the gradient is a number)."""
    values = draw_args(args, rule.domain, rng)
    if argnums is ALL:
        argnums = tuple(i for i, v in enumerate(values) if is_float(v))
    namespace = {"OP": rule.key, "runtime": runtime, "math": math}
    out = load_probe(tmp_path, "primal", expr, len(values), **namespace)(
        *values)
    weight = rng.standard_normal(np.shape(out))
    probe = load_probe(tmp_path, "probe", f"np.sum(({expr}) * W)",
                       len(values), W=weight, **namespace)
    for i in argnums:
        gradient = s2sad.grad(probe, argnums=i)
        scalar = np.ndim(values[i]) == 0
        s2sad.check_grads(gradient, values, argnums=argnums,
                          modes=("fwd", "rev") if scalar else ("fwd",),
                          eps=1e-5, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("rule, expr, args, argnums",
                         list(second_order_cases()))
def test_second_derivatives_match_central_differences(
        rule, expr, args, argnums, tmp_path, rng):
    check_second_order(rule, expr, args, argnums, tmp_path, rng)


# ---- math.hypot: any number of arguments, spread or not ----


def hypot_two(x, y):
    return math.hypot(x, y)


def hypot_three(x, y, z):
    return math.hypot(x * y, y, z) * x


def hypot_spread(xs):
    return math.hypot(*xs)


def hypot_mixed(x, xs):
    return math.hypot(x, *xs, 2.0, *xs)


def hypot_one(x):
    return math.hypot(x) + math.hypot()


@pytest.mark.parametrize("f, args", [
    (hypot_two, (1.0, -2.0)),
    (hypot_three, (0.5, 2.0, -1.5)),
    (hypot_spread, ([1.0, 2.0, -3.0],)),
    (hypot_spread, ((1.0, 0.25),)),
    (hypot_spread, (np.array([1.0, 2.0, 0.5]),)),
    (hypot_mixed, (0.7, [1.0, -2.0])),
    (hypot_one, (-1.3,)),
])
def test_hypot_takes_any_number_of_arguments(f, args):
    value, _ = s2sad.value_and_grad(f)(*args)
    assert value == f(*args)
    s2sad.check_grads(f, args)
    for i, arg in enumerate(args):
        if np.ndim(arg) == 0:
            s2sad.check_grads(s2sad.grad(f, argnums=i), args, eps=1e-5,
                              rtol=1e-5, atol=1e-7)


def test_the_distance_of_a_point_keeps_the_number_path():
    """math.hypot(x, y) is a function of two numbers (the form most
    programs write), differentiated without a list: the code on numbers
    serves it, in a loop too."""
    for f in (hypot_two, hypot_three):
        source = s2sad.grad(f).source.split("_arrays(")[0]
        assert ("runtime.hypot" in source) == (f is hypot_three)
    assert "math.hypot(x, y)" in s2sad.grad(hypot_two).source


# ---- cmath: analytic functions of complex numbers ----


def gil_pelaez_term(u, sigma, T):
    # (outside attack: a characteristic-function pricer, written with
    # cmath and complex(), was refused)
    phi = cmath.exp(complex(-0.5 * sigma * sigma * T * u * u,
                            -0.5 * sigma * sigma * T * u))
    return (phi * cmath.exp(complex(0.0, -u * 0.3)) / complex(0.0, u)).real


def branches(x):
    z = complex(x, 0.5 * x)
    return (cmath.tanh(z) + cmath.atan(z) + cmath.asinh(z) + cmath.cosh(z)
            + cmath.log10(z) + cmath.log(z, 3.0) + cmath.sqrt(z)).imag + abs(
                cmath.acos(z / 4.0))


@pytest.mark.parametrize("f, args", [
    (gil_pelaez_term, (0.7, 0.3, 1.5)), (branches, (0.8,))])
def test_cmath_functions_have_their_real_twins_derivatives(f, args):
    argnums = tuple(range(len(args)))
    value, grads = s2sad.value_and_grad(f, argnums=argnums)(*args)
    assert value == f(*args)
    assert all(type(g) is float for g in grads)  # (a real input's: real)
    s2sad.check_grads(f, args, argnums=argnums)
    s2sad.check_grads(f, args, argnums=argnums, order=2)


def phase_of(x):
    return cmath.phase(complex(x, 1.0))


def test_cmath_functions_that_are_not_analytic_are_refused():
    with pytest.raises(errors.S2SADError, match="cmath.phase"):
        s2sad.grad(phase_of)(0.5)


def test_hypot_and_dist_have_gradient_zero_at_zero():
    assert s2sad.grad(hypot_two, argnums=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    assert s2sad.grad(hypot_spread)([0.0, 0.0]) == [0.0, 0.0]


def polygamma_of_gamma(x):
    return math.lgamma(x) + math.gamma(x) * x


@pytest.mark.parametrize("x", [0.3, 1.7, 4.2, 25.0])
def test_derivatives_of_gamma_to_fourth_order(x):
    f = polygamma_of_gamma
    for _ in range(3):
        f = s2sad.grad(f)
        s2sad.check_grads(f, (x,), eps=1e-5, rtol=1e-5, atol=1e-7)


def test_digamma_and_polygamma_match_known_values():
    euler = 0.5772156649015329
    assert runtime.digamma(1.0) == pytest.approx(-euler, rel=1e-15)
    assert runtime.digamma(0.5) == pytest.approx(-euler - 2 * math.log(2),
                                                 rel=1e-15)
    assert runtime.polygamma(1, 1.0) == pytest.approx(math.pi ** 2 / 6,
                                                      rel=1e-15)
    assert runtime.polygamma(2, 1.0) == pytest.approx(-2.4041138063191885,
                                                      rel=1e-14)
    assert math.isnan(runtime.digamma(-2.0))


def test_digamma_matches_scipy():
    special = pytest.importorskip("scipy.special")
    for n in range(5):
        for x in [0.01, 0.5, 1.5, 7.3, 15.9, 16.0, 250.0, -0.3, -2.5, -7.7]:
            assert runtime.polygamma(n, x) == pytest.approx(
                float(special.polygamma(n, x)), rel=1e-11)


# ---- every public function of math is decided ----


def test_every_public_math_function_has_a_rule_or_a_zero_derivative():
    undecided = [name for name in dir(math) if not name.startswith("_")
                 and callable(getattr(math, name))
                 and registry.lookup(getattr(math, name)) is None
                 and registry.packed(getattr(math, name)) is None]
    assert not undecided


def integer_function(n):
    return math.factorial(n) * 1.0


def test_an_integer_function_given_a_float_raises_as_python_does():
    with pytest.raises(TypeError):
        s2sad.grad(integer_function)(3.0)


def test_second_derivatives_of_lgamma_hold_at_large_arguments():
    # (outside attack: the Hessian of a negative-binomial likelihood as its
    # dispersion grows, past 4e14, overflowed in x ** (2k + n))
    for x in (3e14, 5e14, 1e20, 1e300):
        assert runtime.polygamma(1, x) == pytest.approx(1.0 / x, rel=1e-12)
        assert s2sad.hessian(log_gamma)(x) == pytest.approx(
            runtime.polygamma(1, x), rel=1e-12)


def log_gamma(x):
    return math.lgamma(x)

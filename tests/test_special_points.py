"""Derivatives at special points: IEEE results and each rule's convention.

Derivative statements compute as NumPy does (`rules/ieee.py`): where a
Python float would raise, they give NumPy's inf or nan, on the float fast
path as on arrays. The user's own statements keep Python's semantics: a
primal that raises for Python floats raises in every derivative too.

`CASES` is the table of (function, point, expected derivatives) stating each
rule's convention (the rules' docstrings say the same); every row runs in
reverse mode (`grad`, whose Python-float variant is tested, and `vjp`) and
forward mode (`jvp`), with Python floats and with arrays.
"""

import math
import warnings

import numpy as np
import pytest

import s2sad

inf, nan = math.inf, math.nan


def pow_x_zero(x):
    return x ** 0.0


def pow_x_int_zero(x):
    return x ** 0


def pow_zero_y(y):
    return 0.0 ** y


def pow_xy(x, y):
    return x ** y


def pow_three_halves(x):
    return x ** 1.5


def pow_half(x):
    return x ** 0.5


def np_power(x, y):
    return np.power(x, y)


def np_float_power(x, y):
    return np.float_power(x, y)


def math_pow(x, y):
    return math.pow(x, y)


def math_sqrt(x):
    return math.sqrt(x)


def np_sqrt(x):
    return np.sqrt(x)


def math_atan2(y, x):
    return math.atan2(y, x)


def np_arctan2(y, x):
    return np.arctan2(y, x)


def math_asin(x):
    return math.asin(x)


def math_acos(x):
    return math.acos(x)


def np_arcsin(x):
    return np.arcsin(x)


def np_log(x):
    return np.log(x)


def np_log1p(x):
    return np.log1p(x)


def np_cbrt(x):
    return np.cbrt(x)


def builtin_abs(x):
    return abs(x)


def math_fabs(x):
    return math.fabs(x)


def np_abs(x):
    return np.abs(x)


def builtin_max(x, y):
    return max(x, y)


def builtin_min(x, y):
    return min(x, y)


def np_maximum(x, y):
    return np.maximum(x, y)


def np_minimum(x, y):
    return np.minimum(x, y)


def np_divide(x, y):
    return np.divide(x, y)


def np_hypot(x, y):
    return np.hypot(x, y)


def mod(x, y):
    return x % y


# (function, point, expected derivatives, runs on arrays)
CASES = [
    (pow_x_zero, (0.0,), (0.0,), True),
    (pow_x_zero, (2.0,), (0.0,), True),
    (pow_x_int_zero, (0.0,), (0.0,), True),
    (pow_zero_y, (2.0,), (0.0,), True),
    (pow_zero_y, (0.0,), (0.0,), True),
    (pow_xy, (0.0, 2.0), (0.0, 0.0), True),
    (pow_xy, (0.0, 0.0), (0.0, 0.0), True),
    (pow_xy, (0.0, 0.5), (inf, 0.0), True),
    (pow_xy, (0.0, 1.0), (1.0, 0.0), True),
    (pow_xy, (-8.0, 2.0), (-16.0, nan), True),
    (pow_three_halves, (0.0,), (0.0,), True),
    (pow_half, (0.0,), (inf,), True),
    (np_power, (0.0, 2.0), (0.0, 0.0), True),
    (np_power, (0.0, 0.0), (0.0, 0.0), True),
    (np_power, (0.0, -1.0), (-inf, nan), True),
    (np_float_power, (0.0, 2.0), (0.0, 0.0), True),
    (np_float_power, (0.0, 0.0), (0.0, 0.0), True),
    (math_pow, (0.0, 2.0), (0.0, 0.0), False),
    (math_pow, (0.0, 0.0), (0.0, 0.0), False),
    (math_pow, (-2.0, 3.0), (12.0, nan), False),
    (math_sqrt, (0.0,), (inf,), False),
    (np_sqrt, (0.0,), (inf,), True),
    (math_atan2, (0.0, 0.0), (nan, nan), False),
    (np_arctan2, (0.0, 0.0), (nan, nan), True),
    (math_asin, (1.0,), (inf,), False),
    (math_acos, (1.0,), (-inf,), False),
    (np_arcsin, (-1.0,), (inf,), True),
    (np_log, (0.0,), (inf,), True),
    (np_log1p, (-1.0,), (inf,), True),
    (np_cbrt, (0.0,), (inf,), True),
    (builtin_abs, (0.0,), (0.0,), True),
    (math_fabs, (0.0,), (0.0,), False),
    (np_abs, (0.0,), (0.0,), True),
    (builtin_max, (1.0, 1.0), (0.5, 0.5), False),
    (builtin_min, (1.0, 1.0), (0.5, 0.5), False),
    (np_maximum, (1.0, 1.0), (0.5, 0.5), True),
    (np_minimum, (1.0, 1.0), (0.5, 0.5), True),
    (np_divide, (1.0, 0.0), (inf, -inf), True),
    (np_divide, (0.0, 0.0), (inf, nan), True),
    (np_hypot, (0.0, 0.0), (nan, nan), True),
]


def _ids(cases):
    return [f"{c[0].__name__}{c[1]}" for c in cases]


def _same(actual, expected):
    """Equal as IEEE values: nan matches nan, inf its own sign."""
    actual = np.asarray(actual, dtype=float)
    return np.array_equal(actual, np.broadcast_to(expected, actual.shape),
                          equal_nan=True)


def _quiet():
    """NumPy's warnings at special points are NumPy's: not tested here."""
    manager = warnings.catch_warnings()
    manager.__enter__()
    warnings.simplefilter("ignore", RuntimeWarning)
    return manager


@pytest.fixture(autouse=True)
def quiet():
    manager = _quiet()
    yield
    manager.__exit__(None, None, None)


def _inputs(point, arrays):
    return tuple(np.full(2, p) for p in point) if arrays else tuple(point)


@pytest.mark.parametrize("fn, point, expected, arrays", CASES, ids=_ids(CASES))
@pytest.mark.parametrize("on_arrays", [False, True], ids=["floats", "arrays"])
def test_reverse(fn, point, expected, arrays, on_arrays):
    if on_arrays and not arrays:
        pytest.skip("a math function: Python floats only")
    args = _inputs(point, on_arrays)
    value, pullback = s2sad.vjp(fn, *args)
    assert _same(value, fn(*args))
    cotangents = pullback(np.ones_like(value) if on_arrays else 1.0)
    for got, want in zip(cotangents, expected):
        assert _same(got, want), (cotangents, expected)
    if not on_arrays:  # grad's variant specialised to Python floats
        argnums = tuple(range(len(args)))
        grads = s2sad.grad(fn, argnums=argnums)(*args)
        for got, want in zip(grads, expected):
            assert _same(got, want), (grads, expected)
            # a Python float's gradient is one, also where the derivative
            # is NumPy's inf or nan (found by an outside attack)
            assert type(got) is float, grads


@pytest.mark.parametrize("fn, point, expected, arrays", CASES, ids=_ids(CASES))
@pytest.mark.parametrize("on_arrays", [False, True], ids=["floats", "arrays"])
def test_forward(fn, point, expected, arrays, on_arrays):
    if on_arrays and not arrays:
        pytest.skip("a math function: Python floats only")
    args = _inputs(point, on_arrays)
    for i, want in enumerate(expected):
        # one input's tangent at a time, the others held constant: a nan
        # partial times a zero tangent would be nan
        tangents = tuple(None if j != i else np.ones_like(a) if on_arrays
                         else 1.0 for j, a in enumerate(args))
        value, tangent = s2sad.jvp(fn, args, tangents)
        assert _same(value, fn(*args))
        assert _same(tangent, want), (i, tangent, want)


# ---- second order: derivatives of generated code are IEEE too ----


def square(x):
    return x ** 2.0


SECOND = [
    (pow_three_halves, 0.0, inf),
    (pow_half, 1.0, -0.25),
    (math_sqrt, 0.0, -inf),
    (np_sqrt, 0.0, -inf),
    (pow_x_zero, 0.0, 0.0),
    (pow_zero_y, 2.0, 0.0),
    (square, 0.0, 2.0),
    (math_asin, 1.0, inf),
]


@pytest.mark.parametrize("fn, point, expected", SECOND,
                         ids=[f"{c[0].__name__}({c[1]})" for c in SECOND])
def test_second_order(fn, point, expected):
    assert _same(s2sad.grad(s2sad.grad(fn))(point), expected)
    _, tangent = s2sad.jvp(s2sad.grad(fn), (point,), (1.0,))
    assert _same(tangent, expected)
    hessian = s2sad.grad(s2sad.grad(fn))(np.array(point))
    assert _same(hessian, expected)


# ---- the user's own statements keep Python's semantics ----


def reciprocal(x):
    return 1.0 / x


def negative_power(x):
    return x ** -1.0


def math_log(x):
    return math.log(x)


def mean_of_empty(x):
    return np.mean(x[:0]) + x[0]


@pytest.mark.parametrize("fn, point, error", [
    (reciprocal, 0.0, ZeroDivisionError),
    (negative_power, 0.0, ZeroDivisionError),
    (math_log, 0.0, ValueError),
    (math_sqrt, -1.0, ValueError),
])
def test_primal_raises_as_python(fn, point, error):
    """(`grad` runs only the primal statements its derivative reads: it
    raises where those do, `reciprocal`'s `1.0 / x` here.)"""
    with pytest.raises(error):
        fn(point)
    for derivative in (s2sad.value_and_grad(fn),
                       lambda x: s2sad.jvp(fn, (x,), (1.0,)),
                       lambda x: s2sad.vjp(fn, x)):
        with pytest.raises(error):
            derivative(point)


@pytest.mark.parametrize("fn, point, expected", [
    (reciprocal, 0.0, -inf),
    (negative_power, 0.0, -inf),
])
def test_numpy_primal_keeps_numpy_semantics(fn, point, expected):
    value, grad = s2sad.value_and_grad(fn)(np.float64(point))
    assert _same(value, fn(np.float64(point)))
    assert _same(grad, expected)


def test_mean_of_empty_slice():
    value, grad = s2sad.value_and_grad(mean_of_empty)(np.array([1.0]))
    assert math.isnan(value)
    assert _same(grad, [1.0])


def test_fast_path_stays_inline():
    """The float variant tests inline; it calls NumPy only at the special
    point itself."""
    source = s2sad.grad(math_sqrt).source
    assert "0.5 / _t1 if _t1 else np.divide(0.5, _t1)" in source
    # (x ** 1.5 of a negative x is complex: the test reads the real part,
    # which `>=` can compare whatever x holds)
    source = s2sad.grad(pow_three_halves).source
    assert "x ** 0.5 if x.real >= 0.0 else runtime.power(x, 0.5)" in source


def test_grad_reads_the_raising_primal():
    with pytest.raises(ZeroDivisionError):
        s2sad.grad(reciprocal)(0.0)


def test_functions_with_rules_passed_directly():
    assert _same(s2sad.grad(math.sqrt)(0.0), inf)
    assert _same(s2sad.grad(math.atan2, argnums=(0, 1))(0.0, 0.0), (nan, nan))
    assert _same(s2sad.grad(np.sqrt)(0.0), inf)


@pytest.mark.parametrize("a, b", [(1.0, 0.0), (-1.0, 0.0), (0.0, 0.0),
                                  (1.0, -0.0), (3.0, 2.0), (1, 0)])
def test_runtime_divide_is_numpy_divide(a, b):
    assert _same(s2sad.runtime.divide(a, b), np.divide(a, b))


@pytest.mark.parametrize("a, b", [(0.0, -1.0), (0.0, -0.5),
                                  (1e-300, -1.5), (1e200, 2.0), (2.0, 3.0),
                                  (-2.0, 3.0), (0.0, 0.0)])
def test_runtime_power_is_numpy_power(a, b):
    assert _same(s2sad.runtime.power(a, b), np.power(a, b))


def test_runtime_power_of_a_negative_float_is_complex_as_in_python():
    # the function's own value is complex there too: its derivative is
    assert s2sad.runtime.power(-8.0, 0.5) == (-8.0) ** 0.5


def _numpy_over_number(x, b):
    return np.float64(x) * 2.0 / b


def _number_over_number(x, b):
    return (x * 2.0) / b + math.log(x) / x


def test_a_division_that_did_not_raise_gives_no_zero_test_error():
    # NumPy's numerator divided by a Python zero gives inf (no exception),
    # so its derivative divides by that zero as NumPy does
    with np.errstate(divide="ignore", invalid="ignore"):
        value, grads = s2sad.value_and_grad(_numpy_over_number,
                                            argnums=(0, 1))(1.5, 0.0)
    assert value == math.inf and grads == (math.inf, -math.inf)
    # two Python numbers: the division raised, so the derivative divides
    # by a nonzero number with no test (and the float path shows it)
    source = s2sad.grad(_number_over_number, argnums=(0, 1)).source
    float_path = source.split("def grad__number_over_number_arrays")[0]
    assert "if b else" not in float_path and " / b" in float_path
    with pytest.raises(ZeroDivisionError):
        s2sad.grad(_number_over_number)(1.5, 0.0)
    g = s2sad.grad(_number_over_number, argnums=(0, 1))(1.5, 2.0)
    assert g[0] == pytest.approx(1.0 + (1.0 - math.log(1.5)) / 1.5 ** 2)
    assert g[1] == pytest.approx(-3.0 / 4.0)

"""backend="numba" in forward mode and at second order: `jvp`, `jacfwd`,
`linearize`, `hessian` and `hvp` of code on numbers compiled by Numba.
Their values and tangents are numbers (Python floats, or NumPy float64s
for float64 arguments, where the Python jvp may give NumPy float64s or
0-d arrays).

A compiled jvp runs the statements of the Python jvp, so the two agree to
rounding (rtol 1e-12). A compiled Hessian is forward over forward mode,
the Python one forward over reverse: the same derivatives summed in
another order, compared at rtol 1e-9, and with central differences of
the gradient. Each test checks that the kernel ran compiled, not as
Python. The random program generator's loop, break/continue and
straight-line families run through both.
"""

import functools
import gc
import math
import warnings

import numpy as np
import pytest
from hypothesis import given

import s2sad
from s2sad import errors, kernels
from tests import loop_corpus, programs
from tests import test_numba_backend as first_order
from tests.test_numba_backend import (  # noqa: F401  (files: a fixture)
    ON_NUMBERS, _settings, files, newton_sqrt, pendulum)

numba = pytest.importorskip(
    "numba", reason="the numba backend needs Numba: pip install "
    "'s2sad[numba]' (the test extra has it)")


def kernels_of(name):
    """The live kernels whose function is named `name`."""
    return [k for k in gc.get_objects()
            if type(k) is kernels.Kernel and k.__name__ == name]


def ran_compiled(name):
    """Did every kernel named `name` run compiled (not again as Python)?"""
    found = kernels_of(name)
    assert found, f"no kernel {name}"
    for kernel in found:
        assert kernel.failed is None and kernel.reruns == 0
    assert any(k.compiled.signatures for k in found)


def compiled_jvp(f, args, tangents):
    """The compiled jvp of f, checked to have run compiled and to equal the
    Python jvp to rounding (and in type)."""
    got = s2sad.jvp(f, args, tangents, backend="numba")
    ran_compiled(f"jvp_{f.__name__}_numba")
    want = s2sad.jvp(f, args, tangents)
    np.testing.assert_allclose(np.array(got, dtype=float),
                               np.array(want, dtype=float),
                               rtol=1e-12, atol=1e-300)
    # (numbers: a Python float where the Python jvp may give a NumPy one)
    assert np.array(got).dtype == np.array(want).dtype
    return got


def compiled_hessian(f, args, argnums, rtol=1e-9):
    """The compiled Hessian of f, checked to have run compiled and to equal
    the Python Hessian (forward over reverse) to rounding, in structure
    and type."""
    got = s2sad.hessian(f, argnums, backend="numba")(*args)
    ran_compiled(f"jvp_jvp_{f.__name__}_numba")
    want = s2sad.hessian(f, argnums)(*args)
    _same(got, want, rtol)
    return got


def _same(got, want, rtol):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w, rtol)
        return
    assert type(got) is type(want) and np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-12 * (
        1.0 + abs(float(want))))


def logistic(x, r, n):
    for i in range(n):
        x = r * x * (1.0 - x)
    return x


def bumpy(x, y, n):
    s = 0.0
    for i in range(n):
        if x * i > 1.0:
            s = s + math.exp(-x * i) * y
        else:
            s = s - math.sin(x * y) / (1.0 + i)
    return s * s + x * y


def test_jvps_of_loops_branches_and_helpers():
    value, tangent = compiled_jvp(logistic, (0.3, 3.7, 50), (1.0, 0.0, None))
    assert value == logistic(0.3, 3.7, 50)
    assert tangent == pytest.approx(s2sad.grad(logistic)(0.3, 3.7, 50),
                                    rel=1e-12)
    compiled_jvp(bumpy, (0.3, 0.7, 20), (1.0, -2.0, None))
    compiled_jvp(pendulum, (0.5, 0.1, 200), (0.3, 1.0, None))
    _, tangent = compiled_jvp(newton_sqrt, (2.0,), (1.0,))
    assert tangent == pytest.approx(0.5 / math.sqrt(2.0))


def test_show_gives_what_numba_compiles():
    text = s2sad.show(logistic, mode="forward", argnums=(0, 1),
                      backend="numba")
    names = [line.split("(")[0] for line in text.splitlines()
             if line.startswith("def ")]
    assert names == ["def jvp_logistic", "def jvp_logistic_numba",
                     "def jvp_logistic_arrays"]
    assert "range(runtime.as_index(n))" in text


def test_a_jvp_by_central_differences():
    args, t, eps = (0.4, 0.9, 12), (0.6, -0.8), 1e-6
    _, tangent = s2sad.jvp(bumpy, args, t + (None,), backend="numba")

    def at(h):
        return bumpy(args[0] + h * t[0], args[1] + h * t[1], args[2])
    assert tangent == pytest.approx((at(eps) - at(-eps)) / (2 * eps),
                                    rel=1e-7)


@pytest.mark.parametrize("name", ON_NUMBERS)
def test_the_loop_corpus_jvps_compile(name):
    f, args, argnums = loop_corpus.CASES[name]
    positions = (argnums,) if isinstance(argnums, int) else argnums
    tangents = tuple(0.5 + k if k in positions else None
                     for k in range(len(args)))
    compiled_jvp(f, args, tangents)


def two_outputs(x, y):
    return x * y, math.sin(x) + y


def with_aux(x, y):
    loss = x * x * y
    return loss, loss / y


def test_tuples_of_numbers_out_and_aux():
    value, tangent = compiled_jvp(two_outputs, (0.3, 0.7), (1.0, 0.5))
    assert value == two_outputs(0.3, 0.7)
    got = s2sad.jvp(with_aux, (0.3, 0.7), (1.0, 0.0), has_aux=True,
                    backend="numba")
    assert got == s2sad.jvp(with_aux, (0.3, 0.7), (1.0, 0.0), has_aux=True)


def test_numpy_floats_and_arrays():
    x = np.float64(0.3)
    value, tangent = compiled_jvp(logistic, (x, 3.7, 10), (1.0, 0.0, None))
    assert type(value) is np.float64 and type(tangent) is np.float64
    # an array takes the Python jvp
    value, tangent = s2sad.jvp(logistic, (np.array([0.3, 0.4]), 3.7, 10),
                               (np.ones(2), 0.0, None), backend="numba")
    want = s2sad.jvp(logistic, (np.array([0.3, 0.4]), 3.7, 10),
                     (np.ones(2), 0.0, None))
    np.testing.assert_array_equal(tangent, want[1])


def test_an_argument_not_a_number_takes_the_python_jvp():
    """Numba compiles for whatever it is given: the guard lets only numbers
    reach the kernel (an array `n` of `range(n)` would not)."""
    def scaled(x, c):
        return x * 2.0 + 0.0 * c
    got = s2sad.jvp(scaled, (0.3, np.ones(3)), (1.0, None), backend="numba")
    want = s2sad.jvp(scaled, (0.3, np.ones(3)), (1.0, None))
    np.testing.assert_array_equal(got[1], want[1])


def test_jacfwd_and_linearize_run_compiled():
    jac = s2sad.jacfwd(bumpy, (0, 1), backend="numba")(0.3, 0.7, 20)
    ran_compiled("jvp_bumpy_numba")
    want = s2sad.jacfwd(bumpy, (0, 1))(0.3, 0.7, 20)
    _same(jac, want, 1e-12)
    value, f_jvp = s2sad.linearize(pendulum, 0.5, 0.1, 50, backend="numba")
    assert value == pendulum(0.5, 0.1, 50)
    assert f_jvp(1.0, 0.0, None) == s2sad.jvp(pendulum, (0.5, 0.1, 50),
                                               (1.0, 0.0, None))[1]


def test_hessians_of_loops_branches_and_helpers():
    compiled_hessian(logistic, (0.3, 3.7, 30), 0)
    compiled_hessian(logistic, (0.3, 3.7, 30), (0, 1))
    compiled_hessian(bumpy, (0.3, 0.7, 20), (0, 1))
    compiled_hessian(pendulum, (0.5, 0.1, 100), (0, 1))
    h = compiled_hessian(newton_sqrt, (2.0,), 0)
    assert float(h) == pytest.approx(-0.25 * 2.0 ** -1.5)


def test_a_hessian_by_central_differences_of_the_gradient():
    args, eps = [0.4, 0.9, 12], 1e-6
    h = s2sad.hessian(bumpy, (0, 1), backend="numba")(*args)
    gradient = s2sad.grad(bumpy, (0, 1))
    for j in range(2):
        up, down = list(args), list(args)
        up[j] += eps
        down[j] -= eps
        column = (np.array(gradient(*up)) - np.array(gradient(*down))) / (
            2 * eps)
        for i in range(2):
            assert float(h[i][j]) == pytest.approx(column[i], rel=1e-6,
                                                   abs=1e-8)


def test_a_hessian_of_a_function_with_defaults_takes_the_python_one():
    # its jvp takes the tangents by name after the default, which the
    # second derivative's call (and Numba's kernel) cannot: the Python
    # Hessian, as for other calls the compiled code cannot take
    def scaled(x, y=2.0):
        return x ** 3 * y
    assert s2sad.hessian(scaled, backend="numba")(0.7) == pytest.approx(
        8.4, rel=1e-15)
    assert s2sad.hessian(scaled, backend="numba")(0.7, 3.0) == \
        pytest.approx(12.6, rel=1e-15)


def test_a_hessian_with_aux_and_of_numpy_floats():
    def loss(x, y):
        return x * x * y + math.cos(x * y), x - y
    got, aux = s2sad.hessian(loss, (0, 1), has_aux=True, backend="numba")(
        0.3, 0.7)
    want, want_aux = s2sad.hessian(loss, (0, 1), has_aux=True)(0.3, 0.7)
    _same(got, want, 1e-9)
    assert aux == want_aux
    _same(s2sad.hessian(logistic, 0, backend="numba")(np.float64(0.3), 3.7,
                                                      5),
          s2sad.hessian(logistic)(np.float64(0.3), 3.7, 5), 1e-9)


def test_a_hessian_at_arrays_is_the_python_one():
    def quadratic(x):
        return np.sum(x * x * x)
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(
        s2sad.hessian(quadratic, backend="numba")(x), np.diag(6.0 * x))


def test_hvp_runs_compiled():
    got = s2sad.hvp(bumpy, (0.3, 0.7, 20), (1.0, -0.5, None),
                    backend="numba")
    ran_compiled("jvp_jvp_bumpy_numba")
    want = s2sad.hvp(bumpy, (0.3, 0.7, 20), (1.0, -0.5, None))
    assert got[2] is None
    np.testing.assert_allclose(got[:2], want[:2], rtol=1e-9)


def test_a_gradient_of_a_gradient_of_straight_line_code_compiles():
    def q(x, y):
        return math.sin(x) * y + x * x * y
    second = s2sad.grad(s2sad.grad(q), backend="numba")
    assert second(0.3, 0.7) == pytest.approx(-math.sin(0.3) * 0.7 + 1.4,
                                             rel=1e-14)


def test_a_gradient_of_a_gradient_with_a_tape_says_what_compiles():
    with pytest.raises(errors.UnsupportedSyntaxError,
                       match=r"s2sad.hessian\(f, backend='numba'\)") as info:
        s2sad.grad(s2sad.grad(logistic), backend="numba")
    assert info.value.filename == __file__


def lists(x):
    return [x, 2.0 * x]


def test_refusals_and_fallbacks():
    with pytest.raises(errors.UnsupportedSyntaxError,
                       match="a list is not of these") as info:
        s2sad.jvp(lists, (1.0,), (1.0,), backend="numba")
    assert info.value.filename == __file__
    assert info.value.lineno == lists.__code__.co_firstlineno + 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = s2sad.jvp(lists, (1.0,), (1.0,), backend="numba",
                        fallback="python")
    assert got == ([1.0, 2.0], [1.0, 2.0])
    (warning,), = [[w for w in caught
                    if w.category is kernels.FallbackWarning]]
    assert warning.filename == __file__  # (the caller's line)
    with pytest.raises(errors.S2SADError, match="unknown backend"):
        s2sad.jvp(lists, (1.0,), (1.0,), backend="jax")
    with pytest.raises(errors.S2SADError, match="unknown fallback"):
        s2sad.hessian(logistic, backend="numba", fallback="maybe")


def test_a_compiled_hessian_is_not_differentiated():
    h = s2sad.hessian(logistic, backend="numba")

    def uses(x):
        return h(x, 3.7, 3)
    with pytest.raises(errors.S2SADError, match="leave out backend='numba'"):
        s2sad.grad(uses)(0.3)


def test_a_rebound_global_is_seen(monkeypatch):
    before = compiled_hessian(pendulum, (0.5, 0.1, 20), (0, 1))
    monkeypatch.setattr(first_order, "DT", 0.02)
    after = compiled_hessian(pendulum, (0.5, 0.1, 20), (0, 1))
    assert float(after[0][0]) != float(before[0][0])


def damped(x, y, c, n):
    for _ in range(n):
        x, y = x + 0.01 * y, y - 0.01 * (c * y + x)
    return x * x + y * y


def test_partials_with_keywords_and_repeated_argnums():
    part = functools.partial(damped, c=0.3, n=50)
    _same(s2sad.hessian(part, (0, 1), backend="numba")(0.7, 1.3),
          s2sad.hessian(part, (0, 1))(0.7, 1.3), 1e-9)
    ran_compiled("jvp_jvp_damped_numba")
    np.testing.assert_allclose(
        s2sad.hvp(part, (0.7, 1.3), (1.0, 0.5), backend="numba"),
        s2sad.hvp(part, (0.7, 1.3), (1.0, 0.5)), rtol=1e-9)
    _same(s2sad.hessian(bumpy, (0, 0), backend="numba")(0.3, 0.7, 5),
          s2sad.hessian(bumpy, (0, 0))(0.3, 0.7, 5), 1e-9)


LOG2PI = np.log(2.0 * np.pi)  # (an np.float64)


def gaussian_nll(mu, s):
    return 0.5 * LOG2PI + math.log(s) + 0.5 * ((1.0 - mu) / s) ** 2


def huber(a, delta):
    if abs(a) <= delta:
        return 0.5 * a * a
    return delta * (abs(a) - 0.5 * delta)


def test_numpy_constants_abs_and_branches_at_second_order():
    compiled_hessian(gaussian_nll, (0.5, 1.2), (0, 1))
    compiled_hessian(huber, (2.0, 1.0), 0)
    compiled_hessian(huber, (-0.5, 1.0), (0, 1))
    # (abs of a complex number has a second derivative: not its sign's 0)
    for a in (2.0, -0.5):
        assert s2sad.grad(s2sad.grad(huber), backend="numba")(a, 1.0) == \
            s2sad.grad(s2sad.grad(huber))(a, 1.0)


def test_outputs_that_are_not_real_numbers_are_refused_as_in_python():
    def power(x, p):
        return x ** p  # (complex at a negative x and a fractional p)

    def is_big(x):
        return x > 1.0
    for f, args in ((power, (-1.1, 0.5)), (is_big, (0.7,))):
        with pytest.raises(errors.GradientShapeError):
            s2sad.hessian(f, 0, backend="numba")(*args)
        with pytest.raises(errors.GradientShapeError):
            s2sad.hvp(f, args, (1.0,) + (None,) * (len(args) - 1),
                      backend="numba")


def test_a_hessian_of_a_transformation_is_refused():
    with pytest.raises(errors.UnsupportedCallError,
                       match="not of an s2sad transformation"):
        s2sad.hessian(s2sad.hessian(huber), backend="numba")(2.0, 1.0)


DATA = np.array([0.3, -0.1, 0.5, 1.2, 0.8])


def filtered(q, r):
    """A module-level series read at int indices, as a Kalman filter's."""
    m, P, out = 0.0, 1.0, 0.0
    for t in range(DATA.shape[0]):
        P = P + q
        S = P + r
        v = DATA[t] - m
        out = out + math.log(S) + v * v / S
        m = m + P / S * v
        P = P * r / S
    return out


def test_a_module_level_array_read_at_indices(monkeypatch):
    compiled_hessian(filtered, (0.1, 0.5), (0, 1))
    DATA[:] = DATA * 2.0  # (changed in place: seen)
    try:
        compiled_hessian(filtered, (0.1, 0.5), (0, 1))
    finally:
        DATA[:] = DATA / 2.0
    # rebound to a 2-D array: the Python derivative, and its error
    monkeypatch.setitem(globals(), "DATA", np.ones((5, 2)))
    with pytest.raises(errors.GradientShapeError):
        s2sad.hessian(filtered, (0, 1), backend="numba")(0.1, 0.5)


def of_its_type(x):
    if type(x) is float:
        return x * x
    return -x


def test_introspection_is_refused_not_answered_otherwise():
    """Compiled, a float is not of type float: refused, at its line."""
    for make in (lambda: s2sad.grad(of_its_type, backend="numba"),
                 lambda: s2sad.jvp(of_its_type, (0.4,), (1.0,),
                                   backend="numba")):
        with pytest.raises(errors.UnsupportedSyntaxError,
                           match="introspection") as info:
            make()
        assert info.value.lineno == of_its_type.__code__.co_firstlineno + 1


class Spring:
    def __init__(self, k):
        self.k = k

    def energy(self, x, v):
        return 0.5 * self.k * x * x + 0.5 * v * v + math.cos(x)


def test_a_value_not_known_to_be_a_number_is_named():
    """An object's attribute may be anything when the code is generated:
    the refusal says so, at its line."""
    with pytest.raises(errors.UnsupportedSyntaxError,
                       match="pass it as an argument") as info:
        s2sad.hessian(Spring(3.0).energy, (0, 1), backend="numba")(0.3, 0.1)
    assert info.value.filename == __file__
    h = s2sad.hessian(Spring(3.0).energy, (0, 1))(0.3, 0.1)
    assert float(h[0][0]) == pytest.approx(3.0 - math.cos(0.3))


def test_a_closure_array_read_at_indices_compiles():
    scale = np.array([2.0])

    def scaled(x):
        return x * x * scale[0] + math.sin(x)
    compiled_hessian(scaled, (0.3,), 0)


def _through_the_backend(case, files):
    prog = files.load(case.source)
    try:
        compiled_jvp(prog, case.args, (0.7, -1.3))
        compiled_hessian(prog, case.args, (0, 1))
    except Exception as exc:  # a refusal too
        raise programs.ProgramFailure(f"{exc}\n{case.source}") from exc


@_settings(25)
@given(case=programs.cases(loops=True))
def test_random_loop_programs(files, case):
    _through_the_backend(case, files)


@_settings(20)
@given(case=programs.cases(loops=True, break_continue=True))
def test_random_break_and_continue_programs(files, case):
    _through_the_backend(case, files)


@_settings(20)
@given(case=programs.cases())
def test_random_straight_line_programs(files, case):
    _through_the_backend(case, files)

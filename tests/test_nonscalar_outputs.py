"""`grad` of a function whose output is a tuple, list or dict; and code
that compiles with no warning.

`grad` seeds its output with 1, so an output the function builds as a
container (an LSTM cell's `return h, c`) is refused when the gradient is
generated, at the user's return, never compiled into code such as
`h_bar = (1.0)[0]` (which Python warns about). jvp, vjp and jacobian take
such outputs. A warning while compiling generated code is an internal
error under the test suite (`codegen.STRICT`, set by the conftest) and is
kept from users otherwise; nor does s2sad repeat the warnings Python gave
when it compiled the user's file.

Run: python -m pytest -q tests/test_nonscalar_outputs.py
"""

import importlib.util
import math
import warnings

import numpy as np
import pytest

import s2sad
from s2sad import codegen, errors

from tests.conftest import user_location
from tests.test_error_locations import _line_of


def lstm_cell(x, h, c, w):
    z = w * (x + h)
    gate = 1.0 / (1.0 + math.exp(-z))
    c = c * gate + math.tanh(z)
    h = math.tanh(c) * gate
    return h, c


def as_list(x):
    return [x, x * 2.0]


def as_dict(x):
    return {"x": x, "twice": x * 2.0}


def by_branch(x, flag):
    if flag:
        out = {"x": x}
    else:
        out = x * 2.0
    return out


@pytest.mark.parametrize("func, args, kind, text", [
    (lstm_cell, (1.0, 0.5, 0.2, 0.3), "tuple", "return h, c"),
    (as_list, (1.0,), "list", "return [x, x * 2.0]"),
    (as_dict, (1.0,), "dict", "return {"),
], ids=["tuple", "list", "dict"])
def test_grad_refuses_a_container_output_as_it_is_generated(
        func, args, kind, text):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(errors.GradientShapeError) as info:
            s2sad.grad(func)  # before it is called
    assert user_location(info.value)[1] == _line_of(func, text)
    assert f"requires a scalar output, got a {kind}" in str(info.value)


def test_value_and_grad_refuses_it_too():
    with pytest.raises(errors.GradientShapeError):
        s2sad.value_and_grad(lstm_cell)


def test_a_container_output_known_only_at_run_time_is_refused():
    derivative = s2sad.grad(by_branch)
    assert derivative(1.5, False) == 2.0
    with pytest.raises(errors.GradientShapeError) as info:
        derivative(1.5, True)
    assert "got a dict" in str(info.value)


def test_has_aux_takes_a_pair():
    def with_aux(x):
        y = x ** 2
        return y, {"y": y}

    assert s2sad.grad(with_aux, has_aux=True)(3.0) == (6.0, {"y": 9.0})


def test_jvp_vjp_and_jacobian_take_container_outputs():
    args = (1.0, 0.5, 0.2, 0.3)
    value, tangent = s2sad.jvp(lstm_cell, args, (1.0, 0.0, 0.0, 0.0))
    assert value == lstm_cell(*args)
    step = 1e-6
    ahead = lstm_cell(args[0] + step, *args[1:])
    behind = lstm_cell(args[0] - step, *args[1:])
    numeric = [(a - b) / (2 * step) for a, b in zip(ahead, behind)]
    np.testing.assert_allclose(tangent, numeric, rtol=1e-6)
    value, pullback = s2sad.vjp(lstm_cell, *args)
    assert pullback((1.0, 0.0))[0] == pytest.approx(numeric[0], rel=1e-6)
    assert pullback((0.0, 1.0))[0] == pytest.approx(numeric[1], rel=1e-6)
    rows = s2sad.jacobian(as_list)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(rows[0], np.eye(2))
    np.testing.assert_allclose(rows[1], 2.0 * np.eye(2))


WARNS = "def warns(x):\n    return (1.0)[0]\n"


def test_a_compile_warning_is_an_internal_error_under_the_suite():
    """(Text compiled with no line map: the error names the generated
    line, which the conftest's `pytest.raises` would refuse.)"""
    assert codegen.STRICT
    try:
        codegen.compile_code(WARNS, "warns", ())
    except errors.S2SADInternalError as exc:
        assert "SyntaxWarning at line 2" in str(exc)
        assert "(1.0)[0]" in str(exc)
    else:
        raise AssertionError("no error")


def test_a_compile_warning_is_kept_from_users(monkeypatch):
    monkeypatch.setattr(codegen, "STRICT", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = codegen.compile_code(WARNS, "warns", ())
    assert code.co_name == "warns"


WARNED = """\
def f(x):
    s = "\\d"
    if x is 1:
        return x * 2.0
    return x * 3.0
"""


def test_the_users_own_warnings_are_not_repeated(tmp_path, monkeypatch):
    """(The generated code copies `x is 1`, and its warning: off
    `STRICT`, which counts every warning as the generator's.)"""
    monkeypatch.setattr(codegen, "STRICT", False)
    path = tmp_path / "warned.py"
    path.write_text(WARNED)
    spec = importlib.util.spec_from_file_location("warned", path)
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Python's own, once
        spec.loader.exec_module(module)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert s2sad.grad(module.f)(2.0) == 3.0
    assert not caught, [str(w.message) for w in caught]


def returns_nothing(w):
    np.sum(w)


def compares(w):
    return np.sum(w) > 0.0


def constant(w):
    return 3


def test_an_output_independent_of_the_inputs_is_still_checked():
    # its gradient is zeros when it is a number (as autograd gives); None,
    # a bool or an array is refused at the function's line, as an output
    # that depends on the inputs is (found by the outside attack: None and
    # bools gave zero gradients)
    w = np.ones(3)
    for f, match in [(returns_nothing, "returned None"),
                     (compares, "got a bool")]:
        for derivative in (s2sad.grad(f), s2sad.value_and_grad(f)):
            with pytest.raises(s2sad.S2SADError, match=match):
                derivative(w)
    np.testing.assert_array_equal(s2sad.grad(constant)(w), np.zeros(3))
    assert s2sad.value_and_grad(constant)(w)[0] == 3

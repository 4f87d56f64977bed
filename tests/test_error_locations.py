"""Where refusals point: always at the user's file and line.

s2sad differentiates code it generated itself (a gradient of a gradient, a
jvp of a vjp) and its generated code calls helpers that check values at run
time. Neither may show the user a location in generated code
(`<s2sad:grad_f:...>:8`) or no location at all: every generated function has
a line map to the code it came from (`errors.user_location`), and an
exception leaving s2sad through generated code is pointed at the user's line
(`errors.locate`). The conftest checks every S2SADError the suite expects;
the tests here cover each way a refusal arises.
"""

import cmath
import inspect
import math
import sys

import numpy as np
import pytest

import s2sad
from s2sad import api, errors

from tests import corpus, loop_corpus
from tests.conftest import user_location


def _line_of(func, text):
    lines, first = inspect.getsourcelines(func)
    for offset, line in enumerate(lines):
        if text in line:
            return first + offset
    raise AssertionError(f"{text!r} is not in {func.__name__}")


def _refused_at(call, func, text, words):
    """`call()` raises an S2SADError located at the line of `func` holding
    `text`, saying `words`."""
    with pytest.raises(errors.S2SADError) as info:
        call()
    assert user_location(info.value) == (__file__, _line_of(func, text)), \
        str(info.value)
    assert words in str(info.value)
    return info.value


COMPLEX = np.array([[1.0 + 1j, 2.0], [0.5, 3.0 - 1j]])


def pinv_of(a):
    s = np.linalg.pinv(a)
    return np.sum(np.real(s))


def slogdet_of(a):
    w = np.linalg.slogdet(a)[1]
    return np.sum(w)


def qr_of(a):
    q, r = np.linalg.qr(a)
    return np.sum(r)


def sum_of_squares(x):
    return np.sum(x ** 2)


# (function, argument, the line's text, what the refusal says, modes):
# refused by a check on values in a rule or runtime helper, when the
# derivative runs
AT_RUN_TIME = [
    (pinv_of, COMPLEX, "np.linalg.pinv", "complex matrix", "rev fwd"),
    (slogdet_of, COMPLEX, "np.linalg.slogdet", "complex matrix",
     "rev fwd"),
    (qr_of, np.ones((2, 3)), "np.linalg.qr", "wide matrix", "rev fwd"),
]


@pytest.mark.parametrize("func, x, text, words, modes", AT_RUN_TIME,
                         ids=[row[0].__name__ for row in AT_RUN_TIME])
def test_checks_on_values_name_the_users_line_in_every_mode(func, x, text,
                                                            words, modes):
    _refused_at(lambda: s2sad.grad(func)(x), func, text, words)
    _refused_at(lambda: s2sad.vjp(func, x)[1](1.0), func, text, words)
    if "fwd" in modes:
        _refused_at(lambda: s2sad.jvp(func, (x,), (np.ones_like(x),)), func,
                    text, words)


def test_a_check_in_a_gradient_called_by_a_gradient_names_the_inner_line():
    def inner(a):
        return np.sum(np.real(np.linalg.pinv(a))) * 2.0

    def outer(a):
        return inner(a) + 1.0
    _refused_at(lambda: s2sad.grad(outer)(COMPLEX), inner, "np.linalg.pinv",
                "complex matrix")


def twice(x):
    return x ** 3 + cmath.phase(x)


def cubed_modulus(x):
    m = np.linalg.slogdet(x * COMPLEX)[1]
    return m ** 3


def test_refusals_in_derivatives_of_derivatives_name_the_users_line():
    # found while transforming s2sad's own code: its line map leads back
    _refused_at(lambda: s2sad.grad(s2sad.grad(twice))(1.5), twice,
                "cmath.phase", "cmath.phase")
    # a runtime check in code generated from code generated from the
    # user's (slogdet of a complex matrix)
    third = s2sad.grad(s2sad.grad(s2sad.grad(cubed_modulus)))
    _refused_at(lambda: third(0.7), cubed_modulus, "np.linalg.slogdet",
                "complex matrix")


def _functions():
    """Every function of the corpora once, with a point to derive it at."""
    seen = {}
    for func, args, argnums in [*corpus.CASES.values(),
                                *loop_corpus.CASES.values()]:
        seen.setdefault(func, (args, argnums))
    return [(func, *rest) for func, rest in seen.items()]


@pytest.mark.parametrize("func, args, argnums", _functions(),
                         ids=lambda v: getattr(v, "__name__", ""))
def test_every_line_of_generated_code_maps_into_the_users_function(
        func, args, argnums):
    """Gradients, vjps and jvps, and jvps of gradients (code generated from
    generated code): each line of each generated function maps to a line
    of the function it was generated from, in the user's file."""
    derived = [api.differentiate(func, argnums, mode=mode)
               for mode in ("reverse", "vjp", "forward")]
    try:
        derived.append(api.differentiate(derived[0], argnums,
                                         mode="forward"))
    except errors.S2SADError:  # not all of them twice (taped loops)
        pass
    lines, start = inspect.getsourcelines(func)
    for instance in derived:
        for part in _generated_parts(instance):
            code = part.__code__
            count = len(inspect.getsource(part).splitlines())
            for line in range(1, count + 1):
                filename, mapped = errors.user_location(code.co_filename, line)
                assert filename == inspect.getsourcefile(func)
                assert start <= mapped < start + len(lines), (
                    part.__name__, line, mapped)


def _generated_parts(instance):
    """The generated functions an instance runs: itself and the generated
    functions it calls by name (closure cells holding them)."""
    found, todo = [], [instance]
    while todo:
        fn = todo.pop()
        if fn in found or not errors.is_generated(
                getattr(getattr(fn, "__code__", None), "co_filename", None)):
            continue
        found.append(fn)
        for cell in fn.__closure__ or ():
            try:
                todo.append(cell.cell_contents)
            except ValueError:
                pass
        todo += [getattr(fn, "backward", None)]
    return found


def divides(x, y):
    z = x / y
    return z * 2.0


def inverts(a):
    b = np.linalg.inv(a)
    return np.sum(b)


def test_other_exceptions_get_a_note_naming_the_users_line_and_text():
    cases = [
        (lambda: s2sad.grad(divides)(1.0, 0.0), ZeroDivisionError, divides,
         "z = x / y"),
        (lambda: s2sad.grad(inverts)(np.ones((2, 2))), np.linalg.LinAlgError,
         inverts, "b = np.linalg.inv(a)"),
        (lambda: s2sad.jvp(inverts, (np.ones((2, 2)),), (np.eye(2),)),
         np.linalg.LinAlgError, inverts, "b = np.linalg.inv(a)"),
    ]
    for call, cls, func, text in cases:
        with pytest.raises(cls) as info:
            call()
        note = _notes(info.value)
        assert f"{__file__}:{_line_of(func, text)}: {text}" in note, note
        assert "<s2sad:" not in note


def logs_in_a_nested_function(p, x):
    def model(t):
        a = p[0] * t
        b = a + p[1]
        return math.log(b)
    return model(x) * 2.0


def test_a_nested_functions_lines_are_its_own():
    # each statement of a nested function the code copies maps to its own
    # line, not to its `def`
    p = np.array([1.0, -2.0])
    for call in (lambda: s2sad.grad(logs_in_a_nested_function)(p, 2.0),
                 lambda: s2sad.jvp(logs_in_a_nested_function, (p, 2.0),
                                   (np.ones(2), 1.0))):
        with pytest.raises(ValueError, match="math domain error") as info:
            call()
        note = _notes(info.value)
        func = logs_in_a_nested_function
        assert note.endswith(
            f"  {__file__}:{_line_of(func, 'model(x) * 2.0')}: "
            "return model(x) * 2.0\n"
            f"  {__file__}:{_line_of(func, 'math.log(b)')}: "
            "return math.log(b)"), note


def test_generated_code_of_no_users_line_is_noted_with_the_call():
    # the derivative of a function s2sad knows by its rule: the note names
    # the user's call of it
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(np.linalg.LinAlgError) as info:
        s2sad.grad(np.linalg.det)(np.ones((2, 2)))
    assert _notes(info.value).endswith(
        "in code s2sad generated for the call at:\n"
        f"  {__file__}:{line}: s2sad.grad(np.linalg.det)(np.ones((2, 2)))")


def test_a_note_names_each_users_function_the_exception_passed_through():
    def outer(a):
        c = inverts(a) + 1.0
        return c
    with pytest.raises(np.linalg.LinAlgError) as info:
        s2sad.grad(outer)(np.ones((2, 2)))
    note = _notes(info.value)
    assert note.index(f"{__file__}:{_line_of(outer, 'inverts(a)')}") < \
        note.index(f"{__file__}:{_line_of(inverts, 'np.linalg.inv')}"), note


def _notes(exc):
    if sys.version_info >= (3, 11):
        return "\n".join(getattr(exc, "__notes__", ()))
    return str(exc)


def test_misuse_of_the_api_names_the_line_of_the_call():
    line = inspect.currentframe().f_lineno
    with pytest.raises(errors.S2SADError) as info:
        s2sad.hessian(sum_of_squares, argnums=1.5)
    assert user_location(info.value) == (__file__, line + 2)
    with pytest.raises(errors.S2SADError) as info:
        s2sad.jvp(sum_of_squares, (1.0,), (1.0, 2.0))
    assert user_location(info.value) == (__file__, line + 5)
    with pytest.raises(errors.S2SADError) as info:
        s2sad.grad(print)
    assert user_location(info.value) == (__file__, line + 8)

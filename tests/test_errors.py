"""Bad input: every refusal is an S2SADError located at the user's line."""

import cmath
import inspect
import math

import numpy as np
import pytest

import s2sad
from s2sad import errors


def no_rule(x):
    return cmath.phase(x) * 2.0


def vector_output(x):
    return x * 2.0


def maybe_undefined(x):
    if x > 0:
        y = x
    return y


def undefined_name(x):
    return x * not_defined_anywhere  # noqa: F821


def _bare_raise(x):
    if x < 0:
        raise
    return x


def _global(x):
    global SOMETHING
    SOMETHING = x
    return x


def _del(x):
    y = x
    del y.real
    return x


def _generator(x):
    yield x


def _for_else(x):
    for i in range(2):
        x = x * 2
    else:
        x = x + 1
    return x


def _while_else(x):
    while x < 10:
        x = x * 2
    else:
        x = x + 1
    return x


def _item_of_an_item_of_an_item(x):
    rows = [[[0.0, 0.0]], [[0.0, 0.0]]]
    rows[0][0][1] = x * 2.0
    return rows[0][0][1]


_halved = np.vectorize(lambda a: a / 2.0)


def _vectorized(x):
    return np.sum(_halved(x))


# (function, args, error class, the source line the error must name, words)
BAD = [
    (_item_of_an_item_of_an_item, (1.5,), errors.UnsupportedSyntaxError,
     "rows[0][0][1] = x", "`rows[0][0][1]` (an item of an item of an item)"),
    (_vectorized, (np.ones(2),), errors.UnsupportedCallError,
     "np.sum(_halved(x))", "np.vectorize is not differentiated"),
    (no_rule, (1.5,), errors.UnsupportedCallError, "return cmath.phase",
     "cmath.phase"),
    (undefined_name, (1.5,), errors.NameResolutionError, "not_defined_anywhere",
     "not defined"),
    (_bare_raise, (1.5,), errors.UnsupportedSyntaxError, "raise\n",
     "raise"),
    (_global, (1.5,), errors.UnsupportedSyntaxError, "global SOMETHING",
     "global"),
    (_del, (1.5,), errors.UnsupportedSyntaxError, "del y.real", "del"),
    (_generator, (1.5,), errors.UnsupportedSyntaxError, "yield x", "yield"),
    (_for_else, (1.5,), errors.UnsupportedSyntaxError, "for i in range",
     "else"),
    (_while_else, (1.5,), errors.UnsupportedSyntaxError, "while x < 10",
     "else"),
]


def _line_of(func, text):
    lines, first = inspect.getsourcelines(func)
    for offset, line in enumerate(lines):
        if text in line:
            return first + offset
    raise AssertionError(f"{text!r} is not in {func.__name__}")


@pytest.mark.parametrize("func, args, cls, line_text, words", BAD,
                         ids=[row[0].__name__ for row in BAD])
def test_unsupported_input_gets_a_located_error(func, args, cls, line_text,
                                                words):
    with pytest.raises(cls) as info:
        s2sad.grad(func)(*args)
    message = str(info.value)
    assert message.startswith(f"{__file__}:{_line_of(func, line_text)}: "), \
        message
    assert words in message
    assert isinstance(info.value, s2sad.S2SADError)


def test_non_scalar_output_is_refused_at_run_time():
    g = s2sad.grad(vector_output)
    with pytest.raises(errors.GradientShapeError, match="scalar output"):
        g(np.ones(3))
    assert g(2.0) == 2.0


def test_a_value_set_on_one_path_only_is_an_error_on_the_other():
    # Python's error, at the line that reads it
    g = s2sad.grad(maybe_undefined)
    assert g(1.5) == 1.0
    with pytest.raises(UnboundLocalError, match=(
            f"{_line_of(maybe_undefined, 'return y')}: cannot access local "
            "variable 'y'")):
        g(-1.5)


def test_functions_without_source_are_refused():
    with pytest.raises(errors.SourceUnavailableError, match="no derivative rule"):
        s2sad.grad(print)
    namespace = {}
    exec("def made(x):\n    return x * x\n", namespace)
    with pytest.raises(errors.SourceUnavailableError, match="source"):
        s2sad.grad(namespace["made"])


def test_bad_argnums_are_refused():
    with pytest.raises(s2sad.S2SADError, match="argnums"):
        s2sad.grad(vector_output, argnums=3)
    with pytest.raises(s2sad.S2SADError, match="argnums"):
        s2sad.grad(vector_output, argnums="x")


def test_an_unused_function_without_a_rule_is_fine():
    def f(x, n):
        k = math.factorial(n)
        return x * k
    assert s2sad.grad(f)(2.0, 3) == 6.0


CALLS = {"n": 0}
WEIGHTS = np.ones(3)


def counts_its_calls(x):
    CALLS["n"] += 1
    return x * x


def writes_a_global_array(x):
    WEIGHTS[0] = x
    return np.sum(WEIGHTS * x)


def test_writing_into_a_module_level_value_is_refused_with_advice_for_it():
    # a counter (a dict) is told where a count goes; an array, how to build
    # a new one
    with pytest.raises(errors.UnsupportedSyntaxError,
                       match=r"assignment into a module-level value .* a "
                       r"count, cache or log .* outside it") as info:
        s2sad.grad(counts_its_calls)(1.0)
    assert "np.where" not in str(info.value)
    with pytest.raises(errors.UnsupportedSyntaxError,
                       match=r"build a new array \(np.where"):
        s2sad.grad(writes_a_global_array)(1.0)
    assert CALLS == {"n": 0} and WEIGHTS.tolist() == [1.0, 1.0, 1.0]

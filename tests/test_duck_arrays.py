"""Every rule, on arrays that are not NumPy arrays.

CuPy, Dask and other array libraries reach s2sad's generated code through
NumPy's protocols (`__array_function__`, `__array_ufunc__`): the code calls
`np.sin(x)` and the array's library answers. That works only if neither the
rules nor the runtime helpers ever turn a user's array into a NumPy array,
build a NumPy array where the input's kind is wanted, or take a Python
number out of an array where the function itself does not.

`tests.duck_array.Duck` is such an array, as strict as a GPU's. Every row of
the rule registry test (`test_rules.RULE_CASES`) whose inputs hold an array
is run here on ducks, in reverse and forward mode: the derivative must come
back as ducks, equal to the one computed on NumPy arrays, and computing it
must take no more Python numbers out of the arrays than the function does.
"""

import re

import numpy as np
import pytest

import s2sad
from tests.duck_array import Converted, Duck, duck, plain
from tests.test_rules import RULE_CASES, load_probe, probe_parts

# Expressions that build NumPy arrays themselves: a user of CuPy writes
# cp.ones, not np.ones, so these rows test the row, not the mechanism.
HOST_ARRAYS = ("np.array(", "np.ones(", "np.zeros(", "np.empty(",
               "np.arange(", "np.eye(", "np.full(", "np.linspace(")


def duck_cases():
    for case in RULE_CASES:
        rule, expr, args, argnums = case.values
        if any(host in expr for host in HOST_ARRAYS):
            continue
        if not any(getattr(a, "shape", None) is not None for a in args):
            continue  # no array: nothing for a duck to stand in for
        yield pytest.param(*case.values, id=case.id)


DUCK_CASES = list(duck_cases())

# Rows that cannot run on an array that is not NumPy's, and why: keyed by
# a rule's name (all its rows), a row's id (before the mode) or a row's id
# and mode ("...-rev"). The test expects them to fail (strict xfail), so
# one that starts to work must leave this list. (None today.)
KNOWN = {}


def known(rule, case_id, mode):
    """Why this row cannot run on ducks, or None (see KNOWN)."""
    for key in (rule.name, case_id, f"{case_id}-{mode}"):
        if key in KNOWN:
            return KNOWN[key]
    return None


def _same(duck_value, plain_value, what):
    """`duck_value` has ducks where `plain_value` has arrays, and the same
    numbers."""
    if isinstance(plain_value, (tuple, list)):
        assert len(duck_value) == len(plain_value), what
        for d_, p_ in zip(duck_value, plain_value):
            _same(d_, p_, what)
        return
    if isinstance(plain_value, (np.ndarray, np.generic)):
        assert isinstance(duck_value, Duck), (
            f"{what}: a {type(duck_value).__name__} where a duck array was "
            "due")
    if isinstance(duck_value, Duck):
        duck_value = duck_value.array
    np.testing.assert_allclose(duck_value, plain_value, rtol=1e-12,
                               atol=1e-15, err_msg=what)


def _probe(rule, expr, args, argnums, tmp_path, rng):
    """The row's probe with W a NumPy array and with W a duck, its values
    and argnums (see test_rules.probe_parts)."""
    values, argnums, body, weight, namespace = probe_parts(
        rule, expr, args, argnums, tmp_path, rng)
    probes = [load_probe(tmp_path, "probe", body, len(values), W=w,
                         **namespace) for w in (weight, duck(weight))]
    return probes, values, argnums


def _computed(call, *args):
    before = Duck.computed
    del Duck.where[:]
    result = call(*args)
    return result, Duck.computed - before


@pytest.mark.parametrize("mode", ["rev", "fwd"])
@pytest.mark.parametrize("rule, expr, args, argnums", DUCK_CASES)
def test_a_rule_on_duck_arrays_keeps_them_ducks(rule, expr, args, argnums,
                                                mode, tmp_path, rng, request):
    reason = known(rule, request.node.callspec.id.rsplit("-", 1)[0], mode)
    if reason is not None:
        request.node.add_marker(pytest.mark.xfail(reason=reason, strict=True))
    (probe, duck_probe), values, argnums = _probe(rule, expr, args, argnums,
                                                  tmp_path, rng)
    ducks = [duck(v) for v in values]
    try:
        value, numbers = _computed(duck_probe, *ducks)
    except Converted:
        pytest.skip("the function itself converts its arrays")
    if mode == "rev":
        expected = s2sad.value_and_grad(probe, argnums=argnums)(*values)
        got, taken = _computed(
            s2sad.value_and_grad(duck_probe, argnums=argnums), *ducks)
    else:
        tangents = [None if i not in argnums else float(
            rng.standard_normal()) if type(v) is float else
            rng.standard_normal(np.shape(v)) for i, v in enumerate(values)]
        expected = s2sad.jvp(probe, values, tangents)
        got, taken = _computed(s2sad.jvp, duck_probe, ducks,
                               [duck(t) for t in tangents])
    _same(got, expected, f"{mode} on ducks")
    _same(got[0], plain(value), "the value")
    assert taken <= 2 * numbers, (
        f"the derivative took {taken} Python numbers out of duck arrays, "
        f"the function {numbers}, at {Duck.where}")


# ---- branches on arrays' values ----
#
# A Python `if` (or `while`) on an array's value takes a Python bool out of
# the array: on Dask a compute, on a GPU a synchronisation. A gradient must
# take no more of them than the function: the backward sweep reads the
# bool the forward sweep took, not the array again. The generated code says
# where it takes one, and says nothing at a test that reads no array.


def clip_norm(w, X):
    r = X @ w
    if np.max(np.abs(r)) > 1.0:
        r = r / np.max(np.abs(r))
    return np.sum(r ** 2)


def damped(w, X, n):
    r = X @ w
    for i in range(n):
        if np.sum(r) > 0.0:
            r = r * 0.9 + np.sin(r)
        else:
            r = np.tanh(r)
        if i == n - 1 and r.shape[0] > 1:
            r = r * 2.0
    return np.sum(r ** 2)


def halve(w, X):
    r = X @ w
    while np.sum(r * r) > 1.0:
        r = r * 0.5
    return np.sum(r * r * r)


def piecewise(w, X):
    s = np.sum(X @ w)
    y = s * 2.0 if s > 0.0 else -s
    if s > 0.5 and np.max(w) < 5.0:
        y = y + np.sum(w ** 2)
    return y


def nested(w, X, n):
    r = X @ w
    k = 0
    while k < 3:
        if np.min(r) < n:
            if np.max(r) > 2.0:
                r = r - 0.1
            r = r * 1.5
        k += 1
    return np.sum(np.exp(r))


def bounded(w, X, lo, hi, tight):
    s = np.sum(X @ w)
    if (lo < s < hi) if tight else s > lo:
        return s ** 2
    return s


def noted(w, X):
    r = X @ w
    if np.max(r) > 1.0:
        note = "large"  # (nothing of the derivative's: the test is read)
    return np.sum(r ** 2)


def scaled(a, X):
    # a Python float, and data the float path does not check
    y = a * 2.0
    if np.sum(X) > 0.0:
        y = y * a
    return y * np.sum(X)


def thresholded(x, t_stop, n):
    for i in range(n):
        if i * 0.5 > t_stop:  # (a number in the float path, which checks it)
            x = x * 1.01
        else:
            x = np.sin(x) + x
    return x


BRANCHING = [clip_norm, damped, halve, piecewise, nested, bounded, noted,
             scaled, thresholded]


def _branch_args(f, rng, sign):
    w = sign * np.abs(rng.standard_normal(3))
    X = np.abs(rng.standard_normal((4, 3)))
    if f is scaled:
        return (float(sign), X)
    if f is thresholded:  # (0-d arrays: ducks, or NumPy's)
        return (np.array(sign), np.array(1.2), 5)
    if f is bounded:
        return (w, X, 0.5, 4.0, sign > 0)
    return (w, X, 4) if f in (damped, nested) else (w, X)


@pytest.mark.parametrize("sign", [1.0, -0.3])
@pytest.mark.parametrize("mode", ["rev", "fwd"])
@pytest.mark.parametrize("f", BRANCHING, ids=lambda f: f.__name__)
def test_a_branch_on_an_array_reads_its_test_once(f, mode, sign, rng,
                                                effects_counted):
    args = _branch_args(f, rng, sign)
    ducks = [duck(a) for a in args]
    value, numbers = _computed(f, *ducks)
    assert numbers > 0  # (the function reads its arrays' values)
    if mode == "rev":
        expected = s2sad.value_and_grad(f)(*args)
        got, taken = _computed(s2sad.value_and_grad(f), *ducks)
    else:
        tangents = [np.ones_like(args[0])] + [None] * (len(args) - 1)
        expected = s2sad.jvp(f, args, tangents)
        got, taken = _computed(s2sad.jvp, f, ducks,
                               [duck(t) for t in tangents])
    _same(got, expected, f"{mode} on ducks")
    _same(got[0], plain(value), "the value")
    assert taken == numbers, (
        f"the derivative took {taken} Python values out of duck arrays, "
        f"the function {numbers}, at {Duck.where}")


# the tests of each function that read an array's value (or a parameter's,
# which may be one: `i == n - 1`), in `... if ... else ...` and in each
# part of `a and b`; the others read Python values: `r.shape[0] > 1`, a
# counter `k < 3`
ARRAY_TESTS = {clip_norm: 1, damped: 2, halve: 1, piecewise: 3, nested: 2,
               bounded: 3, noted: 1, scaled: 1, thresholded: 1}


@pytest.mark.parametrize("f", BRANCHING, ids=lambda f: f.__name__)
def test_the_generated_code_says_where_a_test_reads_an_array(f):
    for source in (s2sad.grad(f).source, s2sad.show(f, mode="forward")):
        general = source.split("\ndef ")[-1]  # (not the float path's)
        notes = re.findall(r"# the test's truth \(a lazy array, as Dask's, "
                           r"computes here\)\n\s*(.*)", general)
        assert len(notes) == ARRAY_TESTS[f], source
        # on the statement that reads the test: a bool taken, or a loop's exit
        assert all(re.fullmatch(r"\w+_taken = bool\(.*\)|if not \w+:", line)
                   for line in notes), notes


class Once:
    """A flag that is true the first time it is asked only."""

    def __init__(self):
        self.asked = 0

    def __bool__(self):
        self.asked += 1
        return self.asked == 1


def twice_flagged(x, flag):
    y = x * 1.0
    if flag:
        y = y * x
    y = y + 1.0
    if flag:
        y = y * 2.0
    return np.sum(y)


def test_each_if_reads_its_test_where_the_function_does(effects_counted):
    # f(1.5, flag) is (1.5 * 1.5 + 1): the flag holds at the first `if` only
    x = np.array([1.5])
    value, gradient = s2sad.value_and_grad(twice_flagged)(x, Once())
    assert value == 3.25 and gradient == pytest.approx([3.0])
    value, tangent = s2sad.jvp(twice_flagged, (x, Once()), (np.ones(1), None))
    assert value == 3.25 and tangent == pytest.approx(3.0)


def labelled(x):
    if x > 0.5:  # (a user's bug: x is a vector)
        label = "large"
    return np.sum(x ** 2)


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_a_test_whose_branches_do_nothing_is_still_read(mode):
    # the derivative fails where the function does
    x = np.array([0.2, 0.9])
    with pytest.raises(ValueError, match="truth value of an array"):
        labelled(x)
    with pytest.raises(ValueError, match="truth value of an array"):
        if mode == "rev":
            s2sad.grad(labelled)(x)
        else:
            s2sad.jvp(labelled, (x,), (np.ones(2),))


@pytest.mark.parametrize("limit", [2, 2.0, np.float64(2.0), np.array(2.0)])
def test_a_limit_that_only_decides_branches_is_a_number_of_the_float_path(
        limit):
    # the float path checks it is a number; its tests then read numbers
    # (no bool taken, nothing taped for them); a 0-d array takes the
    # general path, which takes the bool
    grad = s2sad.grad(thresholded)
    floats = grad.source.split("\ndef ")[0]
    assert "runtime.is_number(t_stop)" in floats and "_taken" not in floats
    expected = s2sad.grad(thresholded)(0.3, float(limit), 8)
    assert grad(0.3, limit, 8) == pytest.approx(expected, rel=1e-14)
    step = 1e-6
    numeric = (thresholded(0.3 + step, limit, 8) -
               thresholded(0.3 - step, limit, 8)) / (2 * step)
    assert expected == pytest.approx(numeric, rel=1e-7)


class Alternating(np.float64):
    """A NumPy float whose comparisons answer `x > limit` True and False in
    turn: not a number the float path may compare again in the backward
    sweep."""

    answers = 0

    def __lt__(self, other):  # (x > limit asks limit.__lt__ first)
        Alternating.answers += 1
        return Alternating.answers % 2 == 1

    __gt__ = __lt__


def squares_or_triples(x, limit):
    for _ in range(4):
        x = x * x if x > limit else 3.0 * x
    return x


def test_a_number_of_a_subclass_takes_the_general_path():
    Alternating.answers = 0
    value = squares_or_triples(0.5, Alternating(1.0))
    Alternating.answers = 0
    got = s2sad.value_and_grad(squares_or_triples)(0.5, Alternating(1.0))
    # x -> x * x, 3 x, x * x, 3 x: 2 x * 3 * 2 (3 x * x) * 3 at x = 0.5
    assert got == (value, pytest.approx(13.5))
    assert Alternating.answers == 4  # (the function's four reads)


def test_tests_on_python_values_have_no_note():
    # a range's index in a loop that may break, a `not` of a number
    def first_steps(x, n):
        for i in range(n):
            if i % 3 == 0 and not i > 4:
                x = x * 1.1
            if x > 5.0:
                break
        return x
    assert "computes here" not in s2sad.grad(first_steps).source.split(
        "\ndef ")[0]

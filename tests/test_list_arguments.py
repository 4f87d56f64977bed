"""Every rule given lists where NumPy takes them.

NumPy functions take array-likes: `np.linalg.norm([x, 2.0])` is the norm
of an array. The rows of the registry test (tests/test_rules.py) are run
again with each vector input passed as a Python list of floats, wherever
NumPy computes the same value from the list as from the array (a row like
`x0 * 2.0` does not: a list times a float is an error). The gradient, a
list too, is checked against central differences in both modes.
"""

import importlib.util
import warnings

import numpy as np
import pytest

import s2sad
from s2sad import runtime
from tests import test_rules
from tests.rule_inputs import ALL, Draw


def as_lists(args, values):
    """`values` with the vectors drawn for `args` made lists of floats."""
    return [[float(v) for v in value] if isinstance(arg, Draw)
            and arg.shape is not None and len(arg.shape) == 1 else value
            for arg, value in zip(args, values)]


def _evaluate(rule, expr, values):
    namespace = {"np": np, "runtime": runtime, "OP": rule.key}
    namespace.update((f"x{i}", v) for i, v in enumerate(values))
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        return eval(expr, namespace)


def takes_lists(rule, expr, args):
    """Does NumPy give the row the same value with lists for vectors?"""
    if not any(isinstance(a, Draw) and a.shape is not None
               and len(a.shape) == 1 for a in args):
        return False
    values = test_rules.draw_args(args, rule.domain, np.random.default_rng(0))
    try:
        want = _evaluate(rule, expr, values)
        got = _evaluate(rule, expr, as_lists(args, values))
        return np.shape(got) == np.shape(want) and np.array_equal(got, want)
    except Exception:  # noqa: BLE001 -- whatever NumPy refuses
        return False


# A list (or tuple) operand that a NumPy or SciPy function reads as an
# array is read as np.asarray(x) wherever its template does Python
# arithmetic on it or on its tangent (the partial `1 / (1 + x * x)`,
# `-d[x]`, `d[y] * x`): a list's own `*` repeats it and `-` is undefined.
# Python's own arithmetic on a list that met an array (`xs - a`, a 2x3
# array minus a list of 3) is left so: the check would cost every scalar
# program. Strict xfails: they stay visible, and the suite says when they
# pass.
KNOWN_BUGS = {
    '_operator.sub: OP(x0, x1) on 2x3, 3',
    '_operator.sub: x0 - x1 on 2x3, 3',
    's2sad.runtime.isub: OP(x0, x1) on 2x3, 3',
    '_operator.pow: OP(x0, x1) on 2x3, 3',
    '_operator.pow: x0 ** x1 on 2x3, 3',
    's2sad.runtime.power: OP(x0, x1) on 2x3, 3',
    's2sad.runtime.ipow: OP(x0, x1) on 2x3, 3',
}


def list_cases():
    for case in test_rules.RULE_CASES:
        rule, expr, args, argnums = case.values
        if (getattr(rule.partials or rule.adjoint, "fn", None) is None
                or not callable(rule.key)):
            continue
        if takes_lists(rule, expr, args):
            marks = ()
            if case.id in KNOWN_BUGS:
                marks = pytest.mark.xfail(raises=TypeError, strict=True,
                                          reason="arithmetic on a list")
            yield pytest.param(rule, expr, args, argnums, id=case.id,
                               marks=marks)


LIST_CASES = list(list_cases())


@pytest.mark.parametrize("rule, expr, args, argnums", LIST_CASES)
def test_rule_with_list_arguments_matches_central_differences(
        rule, expr, args, argnums, tmp_path, rng):
    values = test_rules.draw_args(args, rule.domain, rng)
    if argnums is ALL:
        argnums = tuple(i for i, v in enumerate(values)
                        if test_rules.is_float(v))
    values = as_lists(args, values)
    namespace = {"OP": rule.key, "runtime": runtime}
    out = _evaluate(rule, expr, values)
    probe = test_rules.load_probe(
        tmp_path, "probe", f"np.sum(({expr}) * W)", len(values),
        W=rng.standard_normal(np.shape(out)), **namespace)
    s2sad.check_grads(probe, values, argnums=argnums, eps=1e-6, rtol=1e-6,
                      atol=1e-8)
    gradient = s2sad.grad(probe, argnums=argnums)(*values)
    for i, g in zip(argnums, gradient):
        if isinstance(values[i], list):
            assert len(g) == len(values[i])


def test_many_rules_are_called_with_lists():
    assert len({id(case.values[0]) for case in LIST_CASES}) > 100
    # (the rows that did arithmetic on a list; SciPy's where SciPy is)
    ids = {case.id for case in LIST_CASES}
    assert {"np.square: OP(x0) on 3", "np.arctan2: OP(x0, x1) on 2x3, 3",
            "np.negative: OP(x0) on 3", "np.vdot: OP(x0, x1) on 2x3, 6",
            "_operator.sub: x0 - x1 on 2x3, 3"} <= ids
    assert not importlib.util.find_spec("scipy") or \
        "scipy.special.xlogy: OP(0.0, x0) on 3" in ids
    assert KNOWN_BUGS <= ids


def mean_square(xs):
    return np.mean(np.square(xs)) + np.sum(np.arctan(xs))


def weighted_sum(w, x):
    return w @ x + np.dot(w, x) * np.vdot(x, w)


def test_lists_given_to_numpy_functions_differentiate_as_their_arrays():
    xs = [0.3, -1.2, 2.0]
    as_array = s2sad.grad(mean_square)(np.array(xs))
    assert s2sad.grad(mean_square)(xs) == pytest.approx(list(as_array))
    _, tangent = s2sad.jvp(mean_square, (xs,), ([1.0, 0.0, 0.0],))
    assert tangent == pytest.approx(as_array[0])
    w, x = [0.5, -1.0, 2.0], np.array([1.0, 2.0, 3.0])
    for argnums in (0, 1, (0, 1)):
        got = s2sad.grad(weighted_sum, argnums=argnums)(w, x)
        want = s2sad.grad(weighted_sum, argnums=argnums)(np.array(w), x)
        for g, h in zip(got if isinstance(argnums, tuple) else (got,),
                        want if isinstance(argnums, tuple) else (want,)):
            np.testing.assert_allclose(np.asarray(g), h, rtol=1e-15)

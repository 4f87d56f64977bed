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


# Rows that fail because a template does arithmetic on a list operand or
# on a list's tangent (the partial `1 / (1 + x * x)`, `-d[x]`, `d[y] * x`
# with d[y] a float): NumPy reads the list as an array only in its own
# functions. The fix is where templates are instantiated: bind a list (or
# tuple) operand of a rule that is not `takes_sequences` as np.asarray(x).
# Strict xfails: they stay visible, and the suite says when they pass.
KNOWN_BUGS = {
    # SciPy's elementwise rules, as NumPy's
    'scipy.special.erf: OP(x0) on 3',
    'scipy.special.erfc: OP(x0) on 3',
    'scipy.special.ndtr: OP(x0) on 3',
    'scipy.special.log_ndtr: OP(x0) on 3',
    'scipy.special.logit: OP(x0) on 3',
    'scipy.special.xlogy: OP(0.0, x0) on 3',
    'scipy.special.xlog1py: OP(x0, x1) on 3, 3',
    'scipy.special.xlog1py: OP(x0, x1) on 2x3, 3',
    'scipy.stats._distn_infrastructure.logpdf: OP(x0, loc=x1, scale=x2 + 1.5) on 3, 3, float',
    'scipy.stats._distn_infrastructure.logpdf: OP(x0, scale=2.0) on 3',
    'scipy.stats._distn_infrastructure.pdf: OP(x0, loc=x1, scale=x2 + 1.5) on 3, 3, float',
    'scipy.stats._distn_infrastructure.pdf: OP(x0, scale=2.0) on 3',
    'scipy.stats._distn_infrastructure.cdf: OP(x0, loc=x1, scale=x2 + 1.5) on 3, 3, float',
    'scipy.stats._distn_infrastructure.cdf: OP(x0, scale=2.0) on 3',
    'scipy.stats._distn_infrastructure.logcdf: OP(x0, loc=x1, scale=x2 + 1.5) on 3, 3, float',
    'scipy.stats._distn_infrastructure.logcdf: OP(x0, scale=2.0) on 3',
    'np.arcsin: OP(x0) on 3',
    'np.arccos: OP(x0) on 3',
    'np.arctan: OP(x0) on 3',
    'np.arctan2: OP(x0, x1) on 3, 3',
    'np.arctan2: OP(x0, x1) on 2x3, 3',
    'np.arctan2: OP(x0, x1) on 3, 2x3',
    'np.deg2rad: OP(x0) on 3',
    'np.radians: OP(x0) on 3',
    'np.rad2deg: OP(x0) on 3',
    'np.degrees: OP(x0) on 3',
    'np.sinc: OP(x0) on 3',
    'np.arcsinh: OP(x0) on 3',
    'np.arccosh: OP(x0) on 3',
    'np.arctanh: OP(x0) on 3',
    'np.log: OP(x0) on 3',
    'np.log1p: OP(x0) on 3',
    'np.log2: OP(x0) on 3',
    'np.log10: OP(x0) on 3',
    'np.square: OP(x0) on 3',
    'np.float_power: OP(x0, x1) on 3, 3',
    'np.float_power: OP(x0, x1) on 2x3, 3',
    'np.dot: OP(x0, x1) on 3, 3',
    'np.vdot: OP(x0, x1) on 3, 3',
    'np.vdot: OP(x0, x1) on 2x3, 6',
    'np.vdot: OP(x0, x1) on 1, 1',
    '_operator.sub: OP(x0, x1) on 2x3, 3',
    '_operator.sub: x0 - x1 on 2x3, 3',
    'np.subtract: OP(x0, x1) on 3, 3',
    'np.subtract: OP(x0, x1) on 2x3, 3',
    'np.multiply: OP(x0, x1) on 3, 3',
    'np.divide: OP(x0, x1) on 3, 3',
    '_operator.pow: OP(x0, x1) on 2x3, 3',
    '_operator.pow: x0 ** x1 on 2x3, 3',
    'np.power: OP(x0, x1) on 3, 3',
    'np.power: OP(x0, x1) on 2x3, 3',
    'np.negative: OP(x0) on 3',
    'np.remainder: OP(x0, x1) on 3, 3',
    'np.matmul: OP(x0, x1) on 3, 3',
    # rows of the updates in place and of the IEEE division and power
    's2sad.runtime.isub: OP(x0, x1) on 2x3, 3',
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
    # (SciPy's rows exist where SciPy does)
    assert {b for b in KNOWN_BUGS if importlib.util.find_spec("scipy")
            or not b.startswith("scipy.")} <= {case.id for case in LIST_CASES}

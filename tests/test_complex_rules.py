"""Every rule, with complex inputs, against central differences.

The rows are those of the registry test (tests/test_rules.py): every rule's
special rows, or the rows generated from its arity. Each row whose float
inputs NumPy also takes as complex numbers is run again with complex inputs:

- "complex": every differentiated input complex;
- "mixed": where a row has two or more, the first complex and the others
  real, and the first real and the others complex.

A row NumPy refuses with complex inputs (np.floor, np.arctan2, np.hypot, ...)
is left out when the cases are collected. The others are checked on the
expression itself, so what each rule gives is checked, not what the engine
makes of it afterwards:

- reverse: `s2sad.vjp` of the expression at a random cotangent c (real
  where an output is real) paired with every direction v of the input space
  (e_j, and i e_j for complex inputs) as Re(sum(ct * v)) must match
  Re(sum(c * (f(x + eps v) - f(x - eps v)) / 2eps)): s2sad's convention,
  JAX's, where the gradient of a real f of z is df/dx - i df/dy; a real
  input's cotangent must be real;
- forward: `s2sad.jvp` along the same directions must match the same
  differences, and a real output's tangent must be real.

Rules for real matrices only (np.linalg's decompositions) refuse complex
inputs with an S2SADError saying so: `REFUSED` names the rules allowed to.
"""

import builtins
import importlib.util
import itertools
import warnings

import numpy as np
import pytest

import s2sad
from s2sad import errors, runtime
from s2sad.api import _leaves
from s2sad.rules import registry
from tests import rule_rows_containers, test_rules
from tests.rule_inputs import ALL, Draw

# ---- inputs ----

# the imaginary parts drawn for each domain: small where a branch cut or a
# pole lies off the real line (log, sqrt, arcsin, ...)
_IMAG_SCALE = {"real": 1.0, "distinct": 1.0, "positive": 0.5, "unit": 0.5,
               "above_one": 0.5, "nonzero": 0.5, "probability": 0.2}


def draw(domain, shape, kind, rng):
    """A real (kind "r") or complex ("c") input from `domain`."""
    x = test_rules.draw(domain, shape, rng)
    if kind == "r":
        return x
    y = _IMAG_SCALE[domain] * rng.uniform(-1.0, 1.0, () if shape is None
                                          else shape)
    return complex(x + 1j * y) if shape is None else np.asarray(x + 1j * y)


def draw_args(args, kinds, domain, rng):
    for _ in range(100):
        values = [draw(domain, a.shape, kinds[i], rng)
                  if isinstance(a, Draw) else a for i, a in enumerate(args)]
        if domain != "distinct" or _apart(values):
            return values
    raise AssertionError(f"could not draw tie-free inputs for {args}")


def _apart(values, gap=1e-2):
    """Whether the real parts of the inputs are pairwise `gap` apart (complex
    numbers compare by their real parts first)."""
    flat = [np.ravel(np.real(v)) for v in values if _numeric(v)]
    return not flat or test_rules._apart(flat, gap)


def _numeric(v):
    return isinstance(v, (float, complex)) or (
        isinstance(v, np.ndarray) and v.dtype.kind in "fc")


# ---- the cases ----

# Rules that may refuse complex inputs, with an S2SADError saying so:
# np.linalg's rules for real matrices.
REFUSED = {np.linalg.pinv, np.linalg.slogdet, np.linalg.cholesky,
           np.linalg.qr, np.nan_to_num,
           runtime.real_input}
try:  # SciPy's polygamma, digamma's derivative, is for real values only
    from scipy import special
    REFUSED.add(special.digamma)
except ImportError:
    pass

# runtime.stack_pieces(pieces, arrays) is the tangent of unstack, the
# adjoint of np.stack(arrays): `pieces` are then tangents of adjoints of
# `arrays`, real or complex as those are (runtime.as_kind_of), and its rows,
# with pieces free of arrays, cannot hold that with complex pieces.
KIND_FROM_ANOTHER_INPUT = {runtime.stack_pieces}


def variants(args, argnums):
    """(name, kinds) for the complex versions of a row: kinds[i] is "c" for a
    complex input, "r" for a real one (constants keep theirs)."""
    if argnums is ALL:
        argnums = tuple(i for i, a in enumerate(args)
                        if isinstance(a, Draw) or test_rules.is_float(a))
    drawn = [i for i in argnums if isinstance(args[i], Draw)]
    if not drawn:
        return []

    def kinds(complex_ones):
        return tuple("c" if i in complex_ones else "r"
                     for i in range(len(args)))
    out = [("complex", kinds(drawn))]
    if len(drawn) > 1:
        out += [("mixed", kinds(drawn[:1])), ("mixed", kinds(drawn[1:]))]
    return out


def admits_complex(rule, expr, args, kinds):
    """Does NumPy evaluate the row with these complex inputs (and no
    ComplexWarning, which says it dropped an imaginary part)?"""
    values = draw_args(args, kinds, rule.domain, np.random.default_rng(0))
    namespace = {"np": np, "runtime": runtime, "OP": rule.key,
                 **rule_rows_containers.NAMES}
    namespace.update((f"x{i}", v) for i, v in enumerate(values))
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        try:
            out = eval(expr, namespace)
        except (TypeError, ValueError, ArithmeticError, DeprecationWarning,
                np.exceptions.ComplexWarning,
                errors.S2SADError, IndexError):
            return False
    return all(np.all(np.isfinite(leaf)) for _, leaf in _leaves(out)
               if _numeric(np.asarray(leaf)))


def complex_cases():
    for case in test_rules.RULE_CASES:
        rule, expr, args, argnums = case.values
        template = rule.partials or rule.adjoint
        if (template.fn.__module__ or "").startswith("tests.") or \
                rule.key in KIND_FROM_ANOTHER_INPUT:
            continue  # the tests' own rules
        for name, kinds in variants(args, argnums):
            if not admits_complex(rule, expr, args, kinds):
                continue
            described = ", ".join(
                ("complex " if k == "c" and isinstance(a, Draw) else "")
                + test_rules.describe(a) for a, k in zip(args, kinds))
            yield pytest.param(rule, expr, args, argnums, kinds,
                               id=f"{rule.name}: {expr} on {described}")


COMPLEX_CASES = list(complex_cases())
_SERIAL = itertools.count()


def load_function(directory, expr, values, argnums, **namespace):
    """`def probe_<n>(x<i> for i in argnums): return <expr>` in a file, the
    other inputs bound as globals (held constant)."""
    name = f"probe_{next(_SERIAL)}"
    params = ", ".join(f"x{i}" for i in argnums)
    path = directory / f"{name}.py"
    path.write_text(f"import numpy as np\n\n\ndef {name}({params}):\n"
                    f"    return {expr}\n")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    vars(module).update(namespace)
    vars(module).update((f"x{i}", v) for i, v in enumerate(values)
                        if i not in argnums)
    return getattr(module, name)


# ---- the check ----


def _flat(tree):
    """The numeric leaves of an output, as complex or real arrays."""
    return [np.asarray(leaf) for _, leaf in _leaves(tree)
            if _numeric(np.asarray(leaf)) or isinstance(leaf, (int, np.integer))]


def _like(tree, make):
    """A tree shaped like `tree` with `make(leaf)` at its leaves."""
    if isinstance(tree, (list, tuple)):
        return type(tree)(_like(item, make) for item in tree)
    return make(tree)


def directions(x):
    """Unit directions spanning x's space as a real vector space."""
    shape = np.shape(x)
    basis = [np.eye(int(np.prod(shape)))[j].reshape(shape)
             for j in range(int(np.prod(shape)))]
    if np.iscomplexobj(x):
        basis += [1j * e for e in basis]
    if isinstance(x, (float, complex)):
        basis = [complex(e) if np.iscomplexobj(e) else float(e) for e in basis]
    return basis


def moved(values, i, v):
    out = list(values)
    out[i] = values[i] + v
    return out


def check_complex(f, values, rng, eps=1e-6, rtol=1e-6, atol=1e-8):
    out = f(*values)
    leaves = _flat(out)

    def difference(i, v):
        plus, minus = f(*moved(values, i, eps * v)), f(*moved(values, i, -eps * v))
        return [(p - m) / (2 * eps) for p, m in zip(_flat(plus), _flat(minus))]

    def cotangent(leaf):
        leaf = np.asarray(leaf)
        c = rng.standard_normal(leaf.shape)
        if leaf.dtype.kind == "c":
            c = c + 1j * rng.standard_normal(leaf.shape)
        return c if leaf.ndim else c[()]

    # reverse: <c, J v> = Re(sum(ct * v)) for every direction v
    cot = _like(out, cotangent)
    value, pullback = s2sad.vjp(f, *values)
    for got, want in zip(_flat(value), leaves):
        np.testing.assert_array_equal(got, want)
    cts = pullback(cot)
    for i, (x, ct) in enumerate(zip(values, cts)):
        assert np.iscomplexobj(ct) == np.iscomplexobj(x), (
            f"input {i} is {'complex' if np.iscomplexobj(x) else 'real'}, "
            f"its cotangent is not: {ct!r}")
        assert np.shape(ct) == np.shape(x)
        vs = directions(x)
        numeric = [sum(np.real(np.sum(c * dy)) for c, dy in
                       zip(_flat(cot), difference(i, v))) for v in vs]
        analytic = [np.real(np.sum(ct * v)) for v in vs]
        np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol,
                                   err_msg=f"reverse, input {i}")
    # forward: J v for every direction v
    for i, x in enumerate(values):
        for v in directions(x):
            tangents = [None] * len(values)
            tangents[i] = v
            value, tangent = s2sad.jvp(f, values, tangents)
            for got, want in zip(_flat(value), leaves):
                np.testing.assert_array_equal(got, want)
            for t, dy, y in zip(_flat(tangent), difference(i, v), leaves):
                if not np.iscomplexobj(y):
                    assert not np.iscomplexobj(t), (
                        f"a real output got a complex tangent: {t!r}")
                np.testing.assert_allclose(t, dy, rtol=rtol, atol=atol,
                                           err_msg=f"forward, input {i}")


@pytest.mark.parametrize("rule, expr, args, argnums, kinds", COMPLEX_CASES)
def test_rule_with_complex_inputs_matches_central_differences(
        rule, expr, args, argnums, kinds, tmp_path, rng):
    values = draw_args(args, kinds, rule.domain, rng)
    if argnums is ALL:
        argnums = tuple(i for i, v in enumerate(values) if _numeric(v))
    namespace = {"runtime": runtime, **rule_rows_containers.NAMES}
    if callable(rule.key):
        namespace["OP"] = rule.key
    f = load_function(tmp_path, expr, values, argnums, **namespace)
    args_in = [values[i] for i in argnums]
    try:
        check_complex(f, args_in, rng)
    except errors.S2SADError as error:
        if rule.key not in REFUSED or "complex" not in str(error):
            raise


def test_every_rule_that_takes_complex_inputs_is_checked_with_them():
    checked = {id(case.values[0]) for case in COMPLEX_CASES}
    assert len(checked) > 100
    assert len(COMPLEX_CASES) > 500


# ---- the cases of the issue, through s2sad.grad ----


def real_part(z):
    return np.real(z)


def real_attribute(z):
    return z.real


def modulus_squared(z):
    return np.abs(z) ** 2


def norm(z):
    return np.linalg.norm(z)


def variance(z):
    return np.var(z * np.array([1.0, 2.0]))


def norm_of_list(x):
    return np.linalg.norm([x, 2.0])


@pytest.mark.parametrize("z", [1.0 + 2.0j, np.complex128(1.0 + 2.0j),
                               np.array(1.0 + 2.0j)],
                         ids=["complex", "np.complex128", "0-d array"])
@pytest.mark.parametrize("f, expected", [
    (real_part, lambda z: 1.0 + 0.0j),
    (real_attribute, lambda z: 1.0 + 0.0j),
    (modulus_squared, lambda z: 2.0 * np.conj(z)),
    (norm, lambda z: np.conj(z) / np.abs(z)),
])
def test_grad_at_a_complex_scalar_is_complex(f, expected, z):
    g = s2sad.grad(f)(z)
    assert np.iscomplexobj(g)
    np.testing.assert_allclose(g, expected(z), rtol=1e-15)


def test_variance_of_a_complex_vector_is_conjugated():
    z = np.array([1.0 + 2.0j, -0.5 + 0.25j])
    # var(z * [1, 2]) = |z0 - 2 z1|^2 / 4: gradient conj(z0 - 2 z1) * [1, -2] / 2
    gap = np.conj(z[0] - 2.0 * z[1])
    np.testing.assert_allclose(s2sad.grad(variance)(z),
                               [gap / 2.0, -gap], rtol=1e-14)
    assert s2sad.jvp(variance, (z,), (1j * z,))[1].dtype == np.float64


def test_norm_of_a_list_holding_the_input():
    assert s2sad.grad(norm_of_list)(1.0) == pytest.approx(1.0 / np.sqrt(5.0),
                                                          rel=1e-15)

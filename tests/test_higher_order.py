"""Derivatives of derivatives: generated code is transformed again."""

import math

import numpy as np
import pytest

import s2sad
from tests import loop_corpus


def quartic(x):
    return x ** 4 + 3.0 * x ** 3 - 2.0 * x


def branchy(x):
    if x > 0.5:
        y = math.sin(x) * x * x
    else:
        y = math.exp(x) / (1.0 + x * x)
    return y * x


def loss(w, X, y):
    return np.sum(np.tanh(X @ w - y) ** 2) + np.dot(w, w) * 0.1


def mlp_loss(W1, W2, x, t):
    h = np.tanh(x @ W1)
    d = h @ W2 - t
    return np.mean(d * d)


def test_fourth_derivative_of_a_polynomial_is_exact():
    g1 = s2sad.grad(quartic)
    g2, g3 = s2sad.grad(g1), s2sad.grad(s2sad.grad(g1))
    g4 = s2sad.grad(g3)
    x = 1.5
    assert g1(x) == pytest.approx(4 * x ** 3 + 9 * x ** 2 - 2, rel=1e-15)
    assert g2(x) == pytest.approx(12 * x ** 2 + 18 * x, rel=1e-15)
    assert g3(x) == pytest.approx(24 * x + 18, rel=1e-15)
    assert g4(x) == 24.0


@pytest.mark.parametrize("x", [0.3, 0.9])
def test_second_derivative_through_branches(x):
    eps = 1e-5
    g = s2sad.grad(branchy)
    expected = (g(x + eps) - g(x - eps)) / (2 * eps)
    assert s2sad.grad(g)(x) == pytest.approx(expected, rel=1e-6)
    assert s2sad.hessian(branchy)(x) == pytest.approx(expected, rel=1e-6)


def gradient_differences(f, args, i, eps=1e-5):
    x = np.asarray(args[i], dtype=float)
    rows = []
    for e in np.eye(x.size):
        plus, minus = list(args), list(args)
        plus[i] = x + eps * e.reshape(x.shape)
        minus[i] = x - eps * e.reshape(x.shape)
        g = s2sad.grad(f, argnums=i)
        rows.append((np.asarray(g(*plus)) - np.asarray(g(*minus))) / (2 * eps))
    return np.array(rows).reshape(x.shape + x.shape)


def test_hessian_of_a_regression_loss():
    rng = np.random.default_rng(0)
    X, w, y = rng.standard_normal((6, 3)), rng.standard_normal(3), \
        rng.standard_normal(6)
    H = s2sad.hessian(loss)(w, X, y)
    np.testing.assert_allclose(H, H.T, rtol=1e-12)
    np.testing.assert_allclose(H, gradient_differences(loss, [w, X, y], 0),
                               rtol=1e-6, atol=1e-8)


def test_hessian_vector_product_of_an_mlp():
    rng = np.random.default_rng(1)
    W1, W2 = rng.standard_normal((4, 5)) * 0.5, rng.standard_normal((5, 2))
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    v1 = rng.standard_normal(W1.shape)
    zeros = [np.zeros_like(a) for a in (W2, x, t)]
    hv = s2sad.hvp(mlp_loss, (W1, W2, x, t), (v1, *zeros))[0]
    eps = 1e-6
    g = s2sad.grad(mlp_loss)
    expected = (g(W1 + eps * v1, W2, x, t) - g(W1 - eps * v1, W2, x, t)) / (
        2 * eps)
    np.testing.assert_allclose(hv, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["logistic_map", "nested_loops",
                                  "while_loop", "range_forms", "swap_in_loop",
                                  "break_continue", "branch_in_loop_b"])
def test_reverse_over_reverse_through_loops(name):
    # The gradient's tape is a stack; its adjoint is a stack popped in step.
    func, args, argnums = loop_corpus.CASES[name]
    i = argnums[0]
    g = s2sad.grad(func, argnums=i)
    eps = 1e-5
    plus, minus = list(args), list(args)
    plus[i], minus[i] = args[i] + eps, args[i] - eps
    expected = (g(*plus) - g(*minus)) / (2 * eps)
    assert s2sad.grad(g, argnums=i)(*args) == pytest.approx(
        expected, rel=1e-6, abs=1e-8)


def test_third_derivative_through_a_loop():
    g2 = s2sad.grad(s2sad.grad(loop_corpus.logistic_map))
    eps = 1e-5
    expected = (g2(0.3 + eps, 3) - g2(0.3 - eps, 3)) / (2 * eps)
    assert s2sad.grad(g2)(0.3, 3) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", ["logistic_map", "nested_loops",
                                  "while_loop", "break_continue", "tanh_rnn",
                                  "branch_in_loop"])
def test_hessian_through_loops_is_forward_over_reverse(name):
    func, args, argnums = loop_corpus.CASES[name]
    i = argnums[0]
    args = [np.asarray(a, dtype=float) if isinstance(a, float) else a
            for a in args]
    H = s2sad.hessian(func, argnums=i)(*args)
    expected = gradient_differences(func, args, i)
    scale = max(1.0, np.abs(expected).max())
    np.testing.assert_allclose(H, expected, rtol=1e-6, atol=1e-8 * scale)


def second_differences(f, x, h=1e-4):
    """H_ij from four values of f around x (second-order central differences)."""
    n = x.size
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = np.eye(n)[i] * h, np.eye(n)[j] * h
            H[i, j] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej)
                       + f(x - ei - ej)) / (4 * h * h)
    return H


def collapse_and_branch(x):
    y = np.sum(np.tanh(x) * x)
    if y > 0.5:
        y = y * y
    return y + np.sum(np.sin(x) * x[0])


def rosenbrock(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


@pytest.mark.parametrize("func", [rosenbrock, collapse_and_branch])
def test_hessian_against_second_order_central_differences(func):
    x = np.array([0.3, -0.7, 1.1, 0.4])
    np.testing.assert_allclose(s2sad.hessian(func)(x),
                               second_differences(func, x),
                               rtol=1e-5, atol=1e-5)


_SERIES = '''
def series(x):
    acc = 0.0
    for k in range(1, 4):
        acc = acc + x ** k
    return acc
'''


def test_a_count_passed_to_a_backward_sweep_has_no_tangent(tmp_path,
                                                          monkeypatch):
    """Forward mode over a helper's backward sweep (the helper in another
    module: called, not inlined) is passed the helper's residuals, among
    them the `range` its loop counted with. A count has no tangent: given
    one, `x ** k` took `log(x) * k_dot`, NaN for x < 0 although k_dot is
    0, and the Hessian was NaN."""
    (tmp_path / "series_helper.py").write_text(_SERIES)
    monkeypatch.syspath_prepend(str(tmp_path))
    import series_helper

    def f(x):
        return series_helper.series(x)  # x + x**2 + x**3
    with np.errstate(all="raise"):
        for x in (-0.5, 0.5):
            want = 2.0 + 6.0 * x
            assert s2sad.hessian(f)(x) == pytest.approx(want)
            assert s2sad.jvp(s2sad.grad(f), (x,), (1.0,))[1] == \
                pytest.approx(want)
            assert s2sad.grad(s2sad.grad(f))(x) == pytest.approx(want)


def black_scholes(S, K, T, r, sigma):
    d1 = (math.log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * T ** 0.5)
    d2 = d1 - sigma * T ** 0.5
    cdf = [0.5 * (1.0 + math.erf(d / 2.0 ** 0.5)) for d in (d1, d2)]
    return S * cdf[0] - K * math.exp(-r * T) * cdf[1]


def _floats_hessian_is_by_entries(monkeypatch):
    """Record the Hessians taken by forward over forward mode, entry by
    entry (of numbers), rather than by one sweep over the gradient."""
    from s2sad import api
    taken, by_entries = [], api._hessian_compiled

    def spy(*args, **kwargs):
        taken.append(kwargs.get("backend"))
        return by_entries(*args, **kwargs)
    monkeypatch.setattr(api, "_hessian_compiled", spy)
    return taken


FLOAT_CASES = [name for name, (_, args, argnums) in loop_corpus.CASES.items()
               if any(isinstance(args[a], float) for a in argnums)]


@pytest.mark.parametrize("name", FLOAT_CASES)
def test_a_hessian_of_floats_is_taken_entry_by_entry(name, monkeypatch):
    # forward over forward mode on numbers, one sweep per entry of the
    # upper triangle: the same Hessian as the sweep over the gradient
    # (given 0-d arrays), and as differences of gradients
    func, args, argnums = loop_corpus.CASES[name]
    taken = _floats_hessian_is_by_entries(monkeypatch)
    floats = tuple(a for a in argnums if isinstance(args[a], float))
    H = s2sad.hessian(func, argnums=floats)(*args)
    assert taken == ["python"]
    arrays = [np.asarray(a) if isinstance(a, float) else a for a in args]
    swept = s2sad.hessian(func, argnums=floats)(*arrays)
    for i, a in enumerate(floats):
        row = np.array([H[i][j] for j in range(len(floats))])
        np.testing.assert_allclose(row, np.array(swept[i], dtype=float),
                                   rtol=1e-12, atol=1e-12)
        differences = [_gradient_step(func, args, a, b) for b in floats]
        scale = max(1.0, np.abs(row).max())
        np.testing.assert_allclose(row, differences, rtol=1e-6,
                                   atol=1e-7 * scale)
        assert all(H[i][j].shape == () and H[i][j].dtype == np.float64
                   for j in range(len(floats)))


def _gradient_step(func, args, a, b, eps=1e-5):
    """d/d args[b] of the gradient with respect to args[a], by central
    differences."""
    g = s2sad.grad(func, argnums=a)
    plus, minus = list(args), list(args)
    plus[b] += eps
    minus[b] -= eps
    return (g(*plus) - g(*minus)) / (2 * eps)


def test_a_hessian_of_five_floats_and_of_numpy_floats(monkeypatch):
    taken = _floats_hessian_is_by_entries(monkeypatch)
    args = (100.0, 95.0, 0.5, 0.03, 0.2)
    H = s2sad.hessian(black_scholes, argnums=(0, 1, 2, 3, 4))(*args)
    swept = s2sad.hessian(black_scholes, argnums=(0, 1, 2, 3, 4))(
        *map(np.asarray, args))
    np.testing.assert_allclose(np.array(H, dtype=float),
                               np.array(swept, dtype=float), rtol=1e-10)
    gamma = s2sad.hessian(black_scholes)(*map(np.float64, args))
    np.testing.assert_allclose(gamma, H[0][0], rtol=1e-15)
    assert taken == ["python", "python"]
    # more inputs than 8: the sweep over the gradient
    def nine(S, K, T, r, sigma, a, b, c, d):
        return black_scholes(S, K, T, r, sigma) * a * b * c * d ** 2
    many = s2sad.hessian(nine, argnums=tuple(range(9)))(*args, 1.0, 1.0, 1.0,
                                                         1.0)
    assert many[0][0] == pytest.approx(H[0][0], rel=1e-10)
    assert taken == ["python", "python"]


def test_a_hessian_of_floats_keeps_the_hooks_and_rules_of_the_gradient(
        monkeypatch):
    # forward mode runs no gradient hook, and a custom_vjp with no jvp has
    # no forward mode: those Hessians are of the gradient, as before
    taken = _floats_hessian_is_by_entries(monkeypatch)

    def hooked(x, y):
        h = x * x * y
        with s2sad.grad_of(h) as dh:
            dh = dh * 3.0
        return h + y

    assert s2sad.hessian(hooked, argnums=(0, 1))(1.5, 2.0) == \
        s2sad.hessian(hooked, argnums=(0, 1))(np.asarray(1.5),
                                               np.asarray(2.0))
    assert s2sad.hessian(hooked)(1.5, 2.0) == 3.0 * 2 * 2.0
    assert taken == []

    @s2sad.custom_vjp
    def cube(x):
        return x ** 3

    cube.defvjp(lambda x: (x ** 3, x), lambda x, g: (3.0 * x * x * g,))

    def uses(x):
        return cube(x) * 2.0
    assert s2sad.hessian(uses)(2.0) == pytest.approx(24.0, rel=1e-15)
    assert taken == ["python"]  # (tried, and refused in forward mode)


def test_a_hessian_of_floats_inside_a_differentiated_function():
    # differentiated as the sweep over the gradient, which binds the same
    # values (the closure's a)
    def curvature(a):
        return s2sad.hessian(lambda x: a * x ** 3 * math.sin(x))(1.5)
    a, h = 0.7, 1e-6
    expected = (curvature(a + h) - curvature(a - h)) / (2 * h)
    assert s2sad.grad(curvature)(a) == pytest.approx(expected, rel=1e-8)
    assert s2sad.jvp(curvature, (a,), (1.0,))[1] == pytest.approx(
        expected, rel=1e-8)


def test_a_hessian_of_floats_with_defaults_and_keywords():
    # (the sweep over the gradient takes what forward over forward mode
    # would bind in other places: defaults, keywords)
    def scaled(x, y=2.0):
        return x ** 3 * y

    def mixed(x, y):
        return x ** 3 * y + math.sin(x * y)
    assert s2sad.hessian(scaled)(0.7) == pytest.approx(8.4, rel=1e-15)
    assert s2sad.hessian(scaled)(0.7, 3.0) == pytest.approx(12.6, rel=1e-15)
    expected = 6 * 0.7 - math.sin(0.7)
    assert s2sad.hessian(mixed)(0.7, y=1.0) == pytest.approx(expected,
                                                             rel=1e-14)
    assert s2sad.hessian(mixed, (0,))(0.7, y=1.0)[0][0] == pytest.approx(
        expected, rel=1e-14)
    slope = 3 * 0.49 + math.cos(0.7)
    for transform in (s2sad.jacfwd, s2sad.jacrev, s2sad.jacobian):
        assert transform(mixed)(0.7, y=1.0) == pytest.approx(slope,
                                                             rel=1e-14)


def test_a_holomorphic_hessian_of_a_python_complex_is_double():
    H = s2sad.hessian(lambda z: z ** 4, holomorphic=True)(0.3 + 0.4j)
    assert H.dtype == np.complex128
    assert H == pytest.approx(12.0 * (0.3 + 0.4j) ** 2, rel=1e-15)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_a_hessian_of_floats_missing_an_argument_is_refused(backend):
    if backend == "numba":
        pytest.importorskip("numba")

    def f(x, y):
        return x * x * y
    for argnums in ((0, 1), 1):
        with pytest.raises(s2sad.S2SADError,
                           match="argnums=1 does not name an argument"):
            s2sad.hessian(f, argnums, backend=backend)(0.5)

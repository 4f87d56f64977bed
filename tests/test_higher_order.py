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

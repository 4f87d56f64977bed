"""NumPy behaviour beyond single rules: dtypes, the failure modes known from
other source-to-source tools, and second derivatives of the rules whose
adjoints call helpers."""

import numpy as np
import pytest

import s2sad


def mlp_loss(w, x):
    h = np.tanh(x @ w)
    return np.mean(h ** 2) + 0.5 * np.sum(w * w)


def shuffled(x):
    y = np.concatenate([x, x[::-1] * 2.0]).reshape(2, -1)
    z = np.take(np.sort(y, axis=1), [0, 2, 2], axis=1)
    return np.sum(np.diff(z, prepend=x[0]) ** 2) + np.sum(x.astype(float))


def gather(x, index):
    return np.sum(x[index] ** 2)


def quotient(a, b):
    return np.sum(a / b)


def power(a, b):
    return np.sum(a ** b)


def log_sum_exp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def softmax_loss(x, t):
    shifted = x - np.max(x, axis=-1, keepdims=True)
    p = np.exp(shifted) / np.sum(np.exp(shifted), axis=-1, keepdims=True)
    return -np.sum(t * np.log(p))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_keep_the_input_float_dtype(dtype):
    w = np.linspace(-1.0, 1.0, 3).astype(dtype)
    x = np.linspace(0.0, 1.0, 12).reshape(4, 3).astype(dtype)
    assert s2sad.grad(mlp_loss)(w, x).dtype == dtype
    # the tangent has the output's dtype (float32 from NumPy 2.0 on; NumPy
    # 1.x promotes the function's own float32 scalars to float64)
    value, tangent = s2sad.jvp(mlp_loss, (w, x), (w, x))
    assert tangent.dtype == value.dtype == mlp_loss(w, x).dtype
    if int(np.__version__.split(".")[0]) >= 2:
        assert value.dtype == dtype
    assert s2sad.grad(shuffled)(w).dtype == dtype


def test_float32_gradient_matches_float64_to_float32_precision():
    w = np.array([0.3, -0.2, 0.5])
    x = np.linspace(0.0, 1.0, 12).reshape(4, 3)
    exact = s2sad.grad(mlp_loss)(w, x)
    single = s2sad.grad(mlp_loss)(w.astype(np.float32), x.astype(np.float32))
    np.testing.assert_allclose(single, exact, rtol=1e-5)


def test_duplicate_fancy_indices_accumulate():
    x = np.array([1.0, 2.0, 3.0])
    index = np.array([0, 2, 0, 0])
    np.testing.assert_array_equal(s2sad.grad(gather)(x, index),
                                  [6.0, 0.0, 6.0])


def test_boolean_mask_gradient_lands_on_the_selected_elements():
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_array_equal(s2sad.grad(gather)(x, x > 0),
                                  [2.0, 0.0, 6.0])


@pytest.mark.parametrize("func", [quotient, power])
def test_division_and_power_unbroadcast_both_operands(func):
    a = np.array([[1.5, 2.0, 0.5], [1.0, 3.0, 2.5]])
    b = np.array([0.5, 2.0, 1.5])
    ga, gb = s2sad.grad(func, argnums=(0, 1))(a, b)
    assert ga.shape == a.shape and gb.shape == b.shape
    s2sad.check_grads(func, [a, b])
    s2sad.check_grads(func, [a, 2.0])


def test_forward_power_includes_the_log_term_for_the_exponent():
    a, b = np.array([2.0, 3.0]), np.array([1.5, 0.5])
    _, tangent = s2sad.jvp(power, (a, b), (np.zeros(2), np.ones(2)))
    assert tangent == pytest.approx(np.sum(np.log(a) * a ** b))


def test_max_subtracted_log_sum_exp_and_softmax():
    x = np.array([1.0, 3.0, -2.0, 3.5])
    expected = np.exp(x) / np.sum(np.exp(x))
    np.testing.assert_allclose(s2sad.grad(log_sum_exp)(x), expected)
    np.testing.assert_allclose(
        s2sad.jvp(log_sum_exp, (x,), (np.ones(4),))[1], 1.0)
    logits = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 4.0]])
    targets = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])
    p = np.exp(logits) / np.sum(np.exp(logits), axis=-1, keepdims=True)
    np.testing.assert_allclose(s2sad.grad(softmax_loss)(logits, targets),
                               p * targets.sum(-1, keepdims=True) - targets)
    s2sad.check_grads(softmax_loss, [logits, targets], argnums=(0,))


@pytest.mark.parametrize("func", [shuffled])
def test_second_derivatives_through_helper_adjoints(func):
    x = np.array([0.3, -0.2, 0.5, 0.9])
    gradient = s2sad.grad(func)
    eps = 1e-6
    columns = [(gradient(x + eps * e) - gradient(x - eps * e)) / (2 * eps)
               for e in np.eye(4)]
    np.testing.assert_allclose(s2sad.hessian(func)(x), np.array(columns),
                               rtol=1e-6, atol=1e-7)

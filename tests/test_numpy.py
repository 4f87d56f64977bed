"""NumPy behaviour beyond single rules: dtypes, the failure modes known from
other source-to-source tools, and second derivatives of the rules whose
adjoints call helpers."""

import warnings

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


def normalised_mse(w, X, y):
    return np.mean((X @ w - y) ** 2) / np.var(y)


def normalised_mse_hand(w, X, y):
    # np.var(y) of float32 data is a float32: the function divides by it
    return 2.0 * X.T @ (X @ w - y) / len(y) / np.float64(np.var(y))


def shared_scale(w, d):
    s = np.sum(d) / 3.0
    return w[0] + w[0] * s


def shared_scale_hand(w, d):
    return np.array([1.0 + np.float64(np.sum(d) / 3.0), 0.0, 0.0])


def tempered(w, logits, T):
    return np.sum(np.tanh(w * logits / T)) + np.sum(w / logits)


def tempered_hand(w, logits, T):
    logits, T = logits.astype(float), np.float64(T)
    return (1.0 - np.tanh(w * logits / T) ** 2) * logits / T + 1.0 / logits


@pytest.mark.parametrize("f, args", [
    (normalised_mse, (np.array([0.3, -0.2, 0.5]),
                      np.linspace(0.1, 1.0, 12).reshape(4, 3),
                      np.array([0.2, -0.7, 1.1, 0.4]))),
    (shared_scale, (np.array([0.3, -1.2, 2.5]),
                    np.array([0.1, 0.2, 0.7, -0.45]))),
    (tempered, (np.array([0.3, -0.2, 0.5]), np.array([0.7, 1.3, -2.1]),
                0.7)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_float64_parameters_with_float32_data_get_float64_gradients(f, args):
    # the function computes in float64 where a float64 parameter meets the
    # float32 data; so must its gradient: a cotangent that is a Python
    # float, or 1.0 / d of a float32 d, would round in float32 (NEP 50)
    w, data = args[0], tuple(np.float32(a) if np.ndim(a) == 0 else
                             a.astype(np.float32) for a in args[1:])
    hand = globals()[f.__name__ + "_hand"]
    for optimize in (True, False):
        g = s2sad.grad(f, optimize=optimize)(w, *data)
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, hand(w, *data), rtol=1e-14)
    # and in forward mode, along each axis
    for i in range(len(w)):
        basis = np.eye(len(w))[i]
        _, tangent = s2sad.jvp(lambda v: f(v, *data), (w,), (basis,))
        np.testing.assert_allclose(tangent, hand(w, *data)[i], rtol=1e-13)


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


def test_casts_to_another_float_type_carry_the_derivative_exactly():
    # np.float32(x), np.float16(x), np.longdouble(x): a cast, whose
    # derivative is 1, back in the input's own precision (values exactly
    # representable in every type, so the numbers are exact)
    x = np.array([1.0, 2.0, -0.5])
    for cast in (np.float32, np.float16, np.longdouble):
        def total(v, cast=cast):
            return cast(np.sum(v ** 2))

        def scaled(v, cast=cast):
            return np.sum(cast(v) * 3.0)
        for f, expected in ((total, 2.0 * x), (scaled, 3.0 + 0.0 * x)):
            for arg in (x, x.astype(np.float32)):
                g = s2sad.grad(f)(arg)
                assert g.dtype == arg.dtype
                np.testing.assert_array_equal(g, expected)
                value, g2 = s2sad.value_and_grad(f)(arg)
                assert value == f(arg) and type(value) is type(f(arg))
                np.testing.assert_array_equal(g2, expected)
            _, tangent = s2sad.jvp(f, (x,), (np.ones(3),))
            assert tangent == np.sum(expected) and type(tangent) is cast
        assert type(s2sad.grad(lambda v, c=cast: c(v) * 2.0)(1.5)) is float



def _logaddexp(x, y):
    return np.logaddexp(x, y)


def _logaddexp2_nats(x, y):
    return np.logaddexp2(x, y) * np.log(2.0)


@pytest.mark.parametrize("f, base", [(_logaddexp, np.e),
                                     (_logaddexp2_nats, 2.0)])
def test_logaddexp_derivatives_are_exact_at_large_close_and_infinite_operands(
        f, base):
    # the logistic function of the difference, from the operands: no
    # cancellation in x - logaddexp(x, y) where x and y are large and close
    grad = s2sad.grad(f, argnums=(0, 1))
    scale = 1.0 if base == np.e else np.log(2.0)
    for x, y, expected in [
            (1e6, 1e6 + 1.0, (1 / (1 + base), base / (1 + base))),
            (0.0, 0.0, (0.5, 0.5)), (np.inf, 1.0, (1.0, 0.0)),
            (1.0, -np.inf, (1.0, 0.0)), (-2000.0, 0.0, (0.0, 1.0))]:
        expected = tuple(scale * e for e in expected)
        for kind in (float, np.float64, np.atleast_1d):
            got = grad(kind(x), kind(y))
            assert np.concatenate([np.ravel(g) for g in got]) == \
                pytest.approx(expected, rel=1e-15, abs=0), (x, y, kind)
        tangents = [s2sad.jvp(f, (np.float64(x), np.float64(y)), t)[1]
                    for t in ((1.0, 0.0), (0.0, 1.0))]
        assert tangents == pytest.approx(expected, rel=1e-15, abs=0)
    for inf in (np.inf, -np.inf):  # (inf - inf: nan, with no warning)
        for kind in (float, np.float64, np.atleast_1d):
            assert all(np.isnan(np.ravel(g))
                       for g in grad(kind(inf), kind(inf)))


def _summed_logaddexp(x, y):
    return np.sum(np.logaddexp(x, y))


def test_logaddexp_derivatives_keep_numpys_error_state_otherwise():
    # the overflow of exp(2000) (the limit 0) is not warned of; the rest
    # of NumPy's error handling is the caller's, during the call and after
    grad = s2sad.grad(_summed_logaddexp, argnums=(0, 1))
    x, y = np.array([-2000.0, 0.0]), np.array([0.0, 3.0])
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = grad(x, y)
        with np.errstate(under="raise"):  # (exp(-2000) underflows)
            with pytest.raises(FloatingPointError):
                grad(-x, -y - 2000.0)
            assert np.geterr()["under"] == "raise"
        with np.errstate(over="raise", invalid="raise"):  # (its own)
            assert np.array_equal(grad(x, y)[0], got[0])
            assert np.geterr()["over"] == "raise"
    assert np.geterr() == before
    np.testing.assert_allclose(got[0], [0.0, 1.0 / (1.0 + np.exp(3.0))],
                               rtol=1e-15)

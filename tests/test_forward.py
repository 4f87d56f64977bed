"""Forward mode: jvp and jacfwd. (Every corpus and rule test also checks
forward mode: `check_grads` compares both modes with central differences.)"""

import numpy as np
import pytest

import s2sad
from tests import corpus, loop_corpus


def vector_function(x, a):
    y = np.sin(x) * a
    if a > 0:
        y = y + x * x
    return y * np.sum(x)


def finite_difference_jacobian(f, args, i, eps=1e-6):
    x = np.asarray(args[i], dtype=float)
    columns = []
    for idx in np.ndindex(*x.shape):
        step = np.zeros(x.shape)
        step[idx] = eps
        plus, minus = list(args), list(args)
        plus[i], minus[i] = x + step, x - step
        columns.append((np.asarray(f(*plus)) - np.asarray(f(*minus))) / (2 * eps))
    out_shape = np.shape(f(*args))
    return np.stack(columns, axis=-1).reshape(out_shape + x.shape)


def test_jvp_returns_the_value_and_the_directional_derivative():
    value, tangent = s2sad.jvp(corpus.polynomial, (1.3, -0.7), (1.0, 0.0))
    assert value == corpus.polynomial(1.3, -0.7)
    assert tangent == pytest.approx(s2sad.grad(corpus.polynomial)(1.3, -0.7),
                                    rel=1e-14)


def test_integer_primals_get_no_tangent():
    for zero in (None, 0, 0.0, np.int64(0)):
        value, tangent = s2sad.jvp(loop_corpus.logistic_map, (0.3, 4),
                                   (1.0, zero))
        assert tangent == pytest.approx(
            s2sad.grad(loop_corpus.logistic_map)(0.3, 4), rel=1e-13)
    # a nonzero one, an integer too, would be a derivative s2sad does not
    # take: refused, as JAX refuses any tangent of an int but its float0
    for nonzero in (7, 1.0, np.array(1)):
        with pytest.raises(s2sad.errors.InputTypeError,
                           match="argument 1 is an integer .*not zero"):
            s2sad.jvp(loop_corpus.logistic_map, (0.3, 4), (1.0, nonzero))


def test_jvp_checks_its_arguments():
    with pytest.raises(s2sad.S2SADError, match="one tangent per primal"):
        s2sad.jvp(corpus.polynomial, (1.0, 2.0), (1.0,))


def test_jacfwd_of_a_vector_function_matches_finite_differences():
    x = np.array([0.3, -1.2, 0.8])
    for a in (0.5, -0.5):
        jac = s2sad.jacfwd(vector_function)(x, a)
        expected = finite_difference_jacobian(vector_function, (x, a), 0)
        assert jac.shape == (3, 3)
        np.testing.assert_allclose(jac, expected, rtol=1e-6, atol=1e-8)


def test_jacfwd_of_several_arguments_and_matrix_inputs():
    X = np.array([[1.0, 2.0, 0.5], [0.1, -0.3, 0.7]])
    w, y = np.array([0.3, -1.2, 0.8]), np.array([0.2, -0.1])
    jw, jX = s2sad.jacfwd(corpus.matrix_products, argnums=(0, 1))(w, X, y)
    assert jw.shape == (3,) and jX.shape == (2, 3)
    np.testing.assert_allclose(jw, s2sad.grad(corpus.matrix_products)(w, X, y),
                               rtol=1e-12)
    np.testing.assert_allclose(
        jX, finite_difference_jacobian(corpus.matrix_products, (w, X, y), 1),
        rtol=1e-6)


def test_forward_code_is_shown_and_reads_like_the_loop():
    text = s2sad.show(loop_corpus.logistic_map, mode="forward")
    assert text.startswith("def jvp_logistic_map(x, n, x_dot):")
    assert "for i in _t1:" in text and "_tape" not in text
    assert "return (L_1, L_1_dot)" in text


def spread(a, b):
    t = np.linspace(0.0, 1.0, 50)
    return np.sin(a * t) + b * t * t


def collapse(x):
    return np.sum(np.tanh(x) * x)


def looped_vector(x, n):
    y = x
    for i in range(n):
        y = np.sin(y) * x + i
    return y


def test_vjp_runs_forward_once_and_takes_many_cotangents():
    x = np.array([0.3, -1.2, 0.8])
    value, vjp_fn = s2sad.vjp(looped_vector, x, 3)
    np.testing.assert_array_equal(value, looped_vector(x, 3))
    jac = finite_difference_jacobian(looped_vector, (x, 3), 0)
    for cotangent in (np.ones(3), np.array([1.0, 0.0, 0.0]),
                      np.array([0.5, -2.0, 1.0])):
        dx, dn = vjp_fn(cotangent)
        assert dn is None  # an integer argument
        np.testing.assert_allclose(dx, cotangent @ jac, rtol=1e-6, atol=1e-8)
    assert vjp_fn(np.ones(3))[0] == pytest.approx(vjp_fn(np.ones(3))[0])


def test_vjp_when_a_loop_does_not_run():
    x = np.array([0.3, -1.2])
    np.testing.assert_array_equal(s2sad.vjp(looped_vector, x, 0)[1](
        np.array([2.0, 3.0]))[0], [2.0, 3.0])


def branch_made(x, flag):
    if flag:
        y = np.sin(x) * x
    else:
        z = np.cos(x)
        y = z * z if z[0] > 0.0 else x
    return y


@pytest.mark.parametrize("flag", [False, True])
def test_vjp_when_a_branch_did_not_run(flag):
    # values made in the branch not taken are passed to the backward sweep
    # as None, and never read there
    x = np.array([0.3, -1.2])
    expected = finite_difference_jacobian(branch_made, (x, flag), 0)
    np.testing.assert_allclose(s2sad.jacrev(branch_made)(x, flag), expected,
                               rtol=1e-6, atol=1e-8)


def test_jacrev_matches_jacfwd_and_finite_differences():
    x = np.array([0.3, -1.2, 0.8])
    expected = finite_difference_jacobian(looped_vector, (x, 2), 0)
    np.testing.assert_allclose(s2sad.jacrev(looped_vector)(x, 2), expected,
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(s2sad.jacfwd(looped_vector)(x, 2),
                               s2sad.jacrev(looped_vector)(x, 2), rtol=1e-12)


def test_jacobian_picks_forward_for_few_inputs_and_reverse_for_few_outputs():
    wide = s2sad.jacobian(spread, argnums=(0, 1))
    ja, jb = wide(0.7, -0.3)
    assert wide.mode == "forward" and ja.shape == (50,) and jb.shape == (50,)
    np.testing.assert_allclose(
        ja, finite_difference_jacobian(spread, (0.7, -0.3), 0), rtol=1e-6)
    tall = s2sad.jacobian(collapse)
    x = np.linspace(-1.0, 1.0, 50)
    jx = tall(x)
    assert tall.mode == "reverse" and jx.shape == (50,)
    np.testing.assert_allclose(jx, s2sad.grad(collapse)(x), rtol=1e-12)


def test_tangent_is_broadcast_by_an_input_without_one():
    """`y + a` with only the scalar `a` varying: the tangent has y's shape."""
    def f(y, a):
        return np.sum(y + a * 2.0)
    value, tangent = s2sad.jvp(f, (np.zeros(3), 0.5), (None, 1.0))
    assert tangent == 6.0
    s2sad.check_grads(f, (np.zeros(3), 0.5), argnums=(1,))

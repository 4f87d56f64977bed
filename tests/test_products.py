"""Derivatives of derivatives through NumPy products (numpy_products.py).

The registry test checks each product's rules to first order, and those of
the helpers their adjoints call. Here the generated gradients themselves
are differentiated again, forward over reverse (`s2sad.hessian`) and
reverse over reverse (`s2sad.jacrev` of `s2sad.grad`), and compared with
central differences of the gradient; then the forms s2sad refuses.
"""

import warnings

import numpy as np
import pytest

import s2sad
from s2sad import errors

_rng = np.random.default_rng(7)
B = _rng.standard_normal((3, 3))
STACK = _rng.standard_normal((2, 3, 3))
T = _rng.standard_normal((3, 3, 2))


# ---- functions of one array x ----


def einsum_matrix(x):
    return np.sum(np.einsum("ij,jk->ik", x, x) ** 2)


def einsum_implicit(x):
    return np.sum(np.sin(np.einsum("ij,jk", x, B)) * x)


def einsum_diagonal_and_trace(x):
    return np.einsum("ii", x) * np.sum(np.einsum("ii->i", x) ** 3)


def einsum_three_operands(x):
    return np.einsum("ij,jk,ki->", x, x, x) + np.sum(
        np.einsum("ij,jk,kl->il", x, B, x) ** 2)


def einsum_ellipsis(x):
    return np.sum(np.einsum("...ij,...jk->...ik", STACK, x) ** 2 * x[0])


def einsum_broadcast_axis(x):
    return np.sum(np.einsum("ij,ij->ij", x[:1], x) ** 2)


def einsum_outer_and_sum(x):
    return np.sum(np.einsum("i,j->ij", x[0], x[1]) ** 2) + np.einsum(
        "ij->", x) ** 2


def einsum_four_operands(x):
    return np.einsum("ij,jk,kl,lm->", x, x, x, x) + np.sum(
        np.einsum("ij,jk,kl,lm,m->i", x, B, x, x, x[0]) ** 2)


def einsum_fourth_operand_only(x):
    c = np.ones(3)
    return np.einsum("i,i,i,i", c, c, c, x * x)


def einsum_interleaved(x):
    return np.einsum(x, [0, 1], x, [1, 0]) + np.sum(
        np.einsum(x, [0, 1], B, [1, 2], [2, 0]) ** 2)


def einsum_interleaved_implicit(x):
    return np.sum(np.einsum(x, [0, 1]) ** 2) + np.sum(np.sin(np.einsum(
        STACK, [Ellipsis, 0, 1], x, [1, 2], x[0], [2])))


def einsum_interleaved_many(x):
    return np.einsum(x, [0, 1], B, [1, 2], x, [2, 3], x, [3, 0], []) ** 2


def tensordot_pairs(x):
    return np.sum(np.tensordot(x, x, axes=([0], [1])) ** 2) + np.sum(
        np.tensordot(x, T, axes=2) ** 2)


def tensordot_default(x):
    return np.sum(np.tensordot(T, x, 1) ** 2)


def inner_products(x):
    return np.sum(np.inner(x, x) ** 2) + np.inner(x[0], x[1]) ** 2


def outer_product(x):
    return np.sum(np.outer(x, np.sin(x)) ** 2)


def vdot_square(x):
    return np.vdot(x, x * x)


def kron_product(x):
    return np.sum(np.kron(x, x) ** 2) + np.sum(np.kron(x[0], x) * x[1, 0])


def cross_products(x):
    return np.sum(np.cross(x[0], x) ** 2) + np.sum(
        np.cross(x, np.roll(x, 1, axis=1), axisa=1, axisb=1, axisc=1) * x)


SECOND_ORDER = [
    (einsum_matrix, (3, 3)),
    (einsum_implicit, (3, 3)),
    (einsum_diagonal_and_trace, (3, 3)),
    (einsum_three_operands, (3, 3)),
    (einsum_ellipsis, (3, 3)),
    (einsum_broadcast_axis, (3, 3)),
    (einsum_outer_and_sum, (2, 3)),
    (einsum_four_operands, (3, 3)),
    (einsum_fourth_operand_only, (3,)),
    (einsum_interleaved, (3, 3)),
    (einsum_interleaved_implicit, (3, 3)),
    (einsum_interleaved_many, (3, 3)),
    (tensordot_pairs, (3, 3)),
    (tensordot_default, (2, 3)),
    (inner_products, (2, 3)),
    (outer_product, (3,)),
    (vdot_square, (4,)),
    (kron_product, (2, 2)),
    (cross_products, (2, 3)),
]


def gradient_differences(f, x, eps=1e-5):
    """H[..., j] = (grad f(x + eps e_j) - grad f(x - eps e_j)) / 2 eps."""
    g = s2sad.grad(f)
    columns = []
    for e in np.eye(x.size):
        step = eps * e.reshape(x.shape)
        columns.append((g(x + step) - g(x - step)) / (2 * eps))
    return np.stack(columns, axis=-1).reshape(x.shape + x.shape)


@pytest.mark.parametrize("f, shape", SECOND_ORDER,
                         ids=[f.__name__ for f, _ in SECOND_ORDER])
def test_hessian_forward_over_reverse(f, shape, rng):
    x = rng.standard_normal(shape)
    expected = gradient_differences(f, x)
    scale = max(1.0, np.abs(expected).max())
    np.testing.assert_allclose(s2sad.hessian(f)(x), expected, rtol=1e-6,
                               atol=1e-7 * scale)


@pytest.mark.parametrize("f, shape", SECOND_ORDER,
                         ids=[f.__name__ for f, _ in SECOND_ORDER])
def test_hessian_reverse_over_reverse(f, shape, rng):
    x = rng.standard_normal(shape)
    expected = gradient_differences(f, x)
    scale = max(1.0, np.abs(expected).max())
    np.testing.assert_allclose(s2sad.jacrev(s2sad.grad(f))(x), expected,
                               rtol=1e-6, atol=1e-7 * scale)


# ---- third order: a cubic in t, differentiated three times ----


def einsum_cubic(t):
    a = t * B
    return np.einsum("ij,jk,ki->", a, a, np.einsum("ii->i", a) * B)


def einsum_interleaved_cubic(t):
    a = t * B
    return np.einsum(a, [0, 1], a, [1, 2], B, [2, 3], a, [3, 0], [])


def tensordot_cubic(t):
    return np.tensordot(t * B, np.tensordot(t * T, t * T, ([2], [2])), 2)[0, 0]


def kron_cross_cubic(t):
    return np.vdot(np.cross(t * B[0], B[1]), np.kron(t, t * B[2]))


@pytest.mark.parametrize("f", [einsum_cubic, einsum_interleaved_cubic,
                               tensordot_cubic,
                               kron_cross_cubic])
def test_third_derivative_of_a_cubic_is_constant(f):
    # f(t) = c t^3: the third derivative is 6c = 6 f(1) everywhere
    g3 = s2sad.grad(s2sad.grad(s2sad.grad(f)))
    for t in (0.7, -1.3):
        assert g3(t) == pytest.approx(6.0 * f(1.0), rel=1e-10)


# ---- what is refused, and how ----


def cross_of_2_vectors(x):
    return np.sum(np.cross(x, x[::-1]) ** 2)


def _numpy_crosses_2_vectors():
    """Whether this NumPy runs np.cross of 2-vectors without a warning (1.x;
    deprecated in 2.0, removed in 2.5)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            np.cross(np.ones(2), np.ones(2))
        except ValueError:
            return False
    return not caught


@pytest.mark.parametrize("f, shape, message", [
    (cross_of_2_vectors, (2,), "3-vectors only"),
])
def test_refused_forms_say_what_to_write_instead(f, shape, message):
    x = np.ones(shape)
    if f is cross_of_2_vectors and not _numpy_crosses_2_vectors():
        pytest.skip("this NumPy deprecates or lacks np.cross of 2-vectors")
    with pytest.raises(errors.S2SADError, match=message):
        s2sad.grad(f)(x)
    if f is cross_of_2_vectors:  # the tangent template holds for them
        s2sad.check_grads(f, [np.array([0.3, -1.2])], modes=("fwd",))
    else:
        with pytest.raises(errors.S2SADError, match=message):
            s2sad.jvp(f, (x,), (x,))


def matrix_vector_energy(A, b):
    return np.sum(np.abs(A @ b) ** 2)


def test_a_real_matrix_gets_a_real_gradient_from_a_complex_product():
    A, b = np.array([[1.0, 2.0]]), np.array([1 + 1j, 0.5j])
    grad = s2sad.grad(matrix_vector_energy)(A, b)
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, [[6.0, 2.0]])

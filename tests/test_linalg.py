"""np.linalg beyond the registry rows (tests/rule_rows_linalg.py): the
unpacked tuple outputs of decompositions, the symmetric-gradient convention,
second derivatives against central differences of s2sad's own gradient,
and the refusals."""

import numpy as np
import pytest

import s2sad
from tests.rule_inputs import call_or_skip_on_old_numpy
from s2sad import errors
from s2sad.rules import registry

RNG = np.random.default_rng(7)
W3 = RNG.standard_normal((3, 3))
W43 = RNG.standard_normal((4, 3))
V3 = RNG.standard_normal(3)
V32 = RNG.standard_normal((3, 2))


def _matrix(*shape, shift=0.0):
    x = np.random.default_rng(list(shape)).standard_normal(shape)
    return x + shift * np.eye(shape[-1]) if shift else x


def _symmetric(n=3, shift=0.0):
    x = _matrix(n, n)
    return (x + x.T) / 2 + shift * np.eye(n)


# ---- tuple outputs, unpacked as users write them ----


def eigh_both(a):
    w, v = np.linalg.eigh(a)
    return np.sum(w * V3) + np.sum(v * v * W3) + np.sum(np.abs(v[:, 0]))


def eigh_values_only(a):
    w, v = np.linalg.eigh(a)
    return np.sum(w * w)


def eigh_reconstruct(a):
    w, v = np.linalg.eigh(a)
    return np.sum((v * w) @ v.T * W3)


def slogdet_both(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * logdet * 3.0


def svd_unpacked(a):
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return np.sum((u * s) @ vt * W43) + np.sum(s * s) + np.sum(u @ vt * W43)


def svd_values(a):
    return np.sum(np.sqrt(np.linalg.svd(a, compute_uv=False)))


def qr_unpacked(a):
    q, r = np.linalg.qr(a)
    return np.sum(q * W43) + np.sum(r * r * W3)


def cholesky_loss(a):
    lower = np.linalg.cholesky(a)
    return np.sum(lower * W3) + np.sum(np.log(np.diagonal(lower)))


def eigvalsh_loss(a):
    return np.sum(np.linalg.eigvalsh(a) * V3)


def batched_eigh(a):
    w, v = np.linalg.eigh(a)
    return np.sum(w * w) + np.sum(v * v * W3)


@pytest.mark.parametrize("f, x", [
    (eigh_both, _symmetric()),
    (eigh_values_only, _symmetric()),
    (eigh_reconstruct, _symmetric()),
    (slogdet_both, _matrix(3, 3)),
    (svd_unpacked, _matrix(4, 3)),
    (svd_values, _matrix(4, 3)),
    (qr_unpacked, _matrix(4, 3)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_unpacked_outputs_match_central_differences(f, x):
    if f.__name__.startswith("eigh"):  # a symmetric input stays symmetric
        check_symmetric_directions(f, x)
    else:
        s2sad.check_grads(f, [x], eps=1e-6, rtol=1e-6, atol=1e-8)


def check_symmetric_directions(f, x, eps=1e-6):
    """Gradient and JVP along symmetric directions vs central differences."""
    g = s2sad.grad(f)(x)
    rng = np.random.default_rng(3)
    for _ in range(4):
        e = rng.standard_normal(x.shape)
        e = (e + np.swapaxes(e, -1, -2)) / 2
        numeric = (f(x + eps * e) - f(x - eps * e)) / (2 * eps)
        np.testing.assert_allclose(np.sum(g * e), numeric, rtol=1e-6,
                                   atol=1e-8)
        _, tangent = s2sad.jvp(f, (x,), (e,))
        np.testing.assert_allclose(tangent, numeric, rtol=1e-6, atol=1e-8)


def test_vjp_of_a_tuple_output_takes_a_tuple_cotangent():
    a = _symmetric()
    _, vjp_fn = s2sad.vjp(eigh_pair, a)
    (abar,) = vjp_fn((V3, W3))
    expected = s2sad.grad(weighted_eigh)(a, V3, W3)
    np.testing.assert_allclose(abar, expected, rtol=1e-12, atol=1e-12)


def eigh_pair(a):
    return np.linalg.eigh(a)


def weighted_eigh(a, wbar, vbar):
    w, v = np.linalg.eigh(a)
    return np.sum(w * wbar) + np.sum(v * vbar)


# ---- conventions ----


@pytest.mark.parametrize("f, x", [
    (eigh_both, _matrix(3, 3)),
    (eigvalsh_loss, _matrix(3, 3)),
    (cholesky_loss, _symmetric(shift=4.0) + 0.3 * np.triu(_matrix(3, 3), 1)),
    (batched_eigh, _matrix(2, 3, 3)),
], ids=["eigh", "eigvalsh", "cholesky", "eigh-batched"])
def test_functions_reading_one_triangle_are_differentiated_as_numpy_runs(
        f, x):
    # NumPy reads the lower triangle of x: the gradient is zero above it,
    # and right along every direction, symmetric or not
    g = s2sad.grad(f)(x)
    np.testing.assert_array_equal(np.triu(g, 1), 0.0)
    s2sad.check_grads(f, (x,))
    check_symmetric_directions(f, (x + np.swapaxes(x, -1, -2)) / 2)


def test_slogdet_sign_has_no_derivative():
    x = _matrix(3, 3)
    _, tangent = s2sad.jvp(sign_only, (x,), (W3,))
    assert tangent == 0.0
    np.testing.assert_array_equal(s2sad.grad(sign_times_two)(x), 0.0)


def sign_only(a):
    return np.linalg.slogdet(a)[0] * 1.0


def sign_times_two(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * 2.0


# ---- second derivatives: Hessians vs differences of the gradient ----


def gradient_differences(f, args, i, eps=1e-5):
    """The Jacobian of s2sad's gradient by central differences."""
    x = np.asarray(args[i], dtype=float)
    g = s2sad.grad(f, argnums=i)
    rows = []
    for e in np.eye(x.size):
        plus, minus = list(args), list(args)
        plus[i] = x + eps * e.reshape(x.shape)
        minus[i] = x - eps * e.reshape(x.shape)
        rows.append((np.asarray(g(*plus)) - np.asarray(g(*minus))) / (2 * eps))
    return np.array(rows).reshape(x.shape + x.shape)


def inv_loss(a):
    return np.sum(np.linalg.inv(a) * W3) + np.sum(np.linalg.inv(a @ a))


def solve_vector(a, b):
    return np.sum(np.linalg.solve(a, b * b) * V3)


def solve_matrix(a, b):
    x = np.linalg.solve(a, b)
    return np.sum(x * x * V32)


def solve_batched(a, b):
    return np.sum(np.linalg.solve(a, b) ** 2)


def det_loss(a):
    return np.linalg.det(a) * np.sum(a) + np.linalg.det(a @ a.T)


def slogdet_loss(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * logdet + np.linalg.slogdet(a @ a.T + np.eye(3))[1]


def batched_det(a):
    return np.sum(np.linalg.det(a) ** 2 + np.linalg.slogdet(a)[1])


def power_loss(a):
    return np.sum(np.linalg.matrix_power(a, 3) * W3) + np.sum(
        np.linalg.matrix_power(a, 0)) + np.sum(np.linalg.matrix_power(a, 1))


def negative_power_loss(a):
    return np.sum(np.linalg.matrix_power(a, -2) * W3) + np.sum(
        np.linalg.matrix_power(a, -1))


def pinv_loss(a):
    return np.sum(np.linalg.pinv(a) * W43.T)


def cholesky_sym(a):
    lower = np.linalg.cholesky(a @ a.T + 3.0 * np.eye(3))
    return np.sum(lower * W3) + np.sum(np.log(np.diagonal(lower)))


def eigh_sym(a):
    w, v = np.linalg.eigh((a + a.T) / 2)
    return np.sum(w * V3) + np.sum(v * v * W3) + np.sum(np.abs(v[:, 0]))


def eigvalsh_sym(a):
    return np.sum(np.linalg.eigvalsh((a + a.T) / 2) ** 3)


def svd_loss(a):
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return np.sum((u * s) @ vt * W43) + np.sum(s * s) + np.sum(u @ vt * W43)


def svd_values_loss(a):
    return np.sum(np.sqrt(np.linalg.svd(a, compute_uv=False)))


def eig_real_loss(a):
    w, v = np.linalg.eig(a)
    return np.sum(np.abs(w) * V3) + np.sum(np.abs(v) * W3)


def eig_complex_loss(a, b):
    w, v = np.linalg.eig(a + 1j * b)
    return np.sum(np.real(w * (1.0 - 2.0j))) + np.sum(np.abs(v) * W3)


def eigvals_loss(a, b):
    return np.sum(np.abs(np.linalg.eigvals(a + 1j * b)) ** 3)


def eigh_complex_loss(a, b):
    w, v = np.linalg.eigh(a + 1j * b)
    return np.sum(w * V3) + np.sum(np.abs(v) * W3)


def eigvalsh_complex_loss(a, b):
    return np.sum(np.linalg.eigvalsh(a + 1j * b, "U") ** 3)


def svd_complex_loss(a, b):
    u, s, vt = np.linalg.svd(a + 1j * b, full_matrices=False)
    return np.sum(np.abs(u) ** 3) + np.sum(s ** 3) + np.sum(
        np.abs(vt) ** 3) + np.sum(np.real(u @ vt) * np.imag(u @ vt))


def svd_complex_values_loss(a, b):
    return np.sum(np.sqrt(np.linalg.svd(a + 1j * b, compute_uv=False)))


def qr_loss(a):
    q, r = np.linalg.qr(a)
    return np.sum(q * W43) + np.sum(r * r * W3)


WELL = _matrix(3, 3, shift=3.0)

REQUIRED_SECOND_ORDER = [
    (inv_loss, [WELL], 0),
    (solve_vector, [WELL, V3], 0),
    (solve_vector, [WELL, V3], 1),
    (solve_matrix, [WELL, V32], 0),
    (solve_matrix, [WELL, V32], 1),
    (solve_batched, [_matrix(2, 2, 2, shift=3.0), _matrix(2)], 0),
    (solve_batched, [_matrix(2, 2, 2, shift=3.0), _matrix(2)], 1),
    (det_loss, [_matrix(3, 3)], 0),
    (slogdet_loss, [_matrix(3, 3)], 0),
    (batched_det, [_matrix(2, 2, 2, shift=2.0)], 0),
    (power_loss, [_matrix(3, 3)], 0),
    (negative_power_loss, [WELL], 0),
]

# The decompositions are built from rules too, so they have second
# derivatives as well (where their first derivatives are defined).
DECOMPOSITIONS_SECOND_ORDER = [
    (cholesky_sym, [_matrix(3, 3)], 0),
    (eigh_sym, [_matrix(3, 3)], 0),
    (eigvalsh_sym, [_matrix(3, 3)], 0),
    (svd_loss, [_matrix(4, 3)], 0),
    (svd_values_loss, [_matrix(4, 3)], 0),
    (qr_loss, [_matrix(4, 3)], 0),
    (pinv_loss, [_matrix(4, 3)], 0),
    (eig_real_loss, [_matrix(3, 3)], 0),
    (eig_complex_loss, [_matrix(3, 3), W3], 0),
    (eig_complex_loss, [_matrix(3, 3), W3], 1),
    (eigvals_loss, [_matrix(3, 3), W3], 0),
    (eigvals_loss, [_matrix(3, 3), W3], 1),
    (eigh_complex_loss, [_matrix(3, 3), W3], 0),
    (eigh_complex_loss, [_matrix(3, 3), W3], 1),
    (eigvalsh_complex_loss, [_matrix(3, 3), W3], 0),
    (eigvalsh_complex_loss, [_matrix(3, 3), W3], 1),
    (svd_complex_loss, [_matrix(4, 3), W43], 0),
    (svd_complex_loss, [_matrix(4, 3), W43], 1),
    (svd_complex_loss, [_matrix(3, 4), W43.T], 1),
    (svd_complex_values_loss, [_matrix(3, 4), W43.T], 0),
]


@pytest.mark.parametrize("f, args, i", [
    pytest.param(f, args, i, id=f"{f.__name__}-arg{i}")
    for f, args, i in REQUIRED_SECOND_ORDER + DECOMPOSITIONS_SECOND_ORDER])
def test_hessian_matches_differences_of_the_gradient(f, args, i):
    call_or_skip_on_old_numpy(f, *args)
    H = s2sad.hessian(f, argnums=i)(*args)
    expected = gradient_differences(f, args, i)
    np.testing.assert_allclose(H, expected, rtol=1e-6, atol=1e-8)


def det_line(t):
    return np.linalg.det(WELL + t * W3)


def slogdet_line(t):
    sign, logdet = np.linalg.slogdet(WELL + t * W3)
    return logdet


def solve_line(t):
    return np.sum(np.linalg.solve(WELL + t * W3, t * V3) * V3)


def power_line(t):
    return np.sum(np.linalg.matrix_power(WELL + t * W3, -3))


def eigh_line(t):
    w, v = np.linalg.eigh(_symmetric() + t * (W3 + W3.T))
    return np.sum(w * w) + np.sum(v * v * W3)


def eig_line(t):
    w, v = np.linalg.eig(WELL + t * W3 + 1j * W3.T)
    return np.sum(np.abs(w) * V3) + np.sum(np.abs(v) * W3)


def eigh_complex_line(t):
    w, v = np.linalg.eigh(_symmetric() + t * W3 + 1j * W3.T)
    return np.sum(w * w) + np.sum(np.abs(v) * W3)


def svd_complex_line(t):
    u, s, vt = np.linalg.svd(W43 + t * _matrix(4, 3) + 1j * W43,
                             full_matrices=False)
    return np.sum(np.abs(u) * W43) + np.sum(s * V3) + np.sum(np.abs(vt) * W3)


@pytest.mark.parametrize("f", [det_line, slogdet_line, solve_line,
                               power_line, eigh_line, eig_line,
                               eigh_complex_line, svd_complex_line],
                         ids=lambda f: f.__name__)
def test_gradient_of_gradient(f):
    g = s2sad.grad(f)
    gg = s2sad.grad(g)
    t, eps = 0.2, 1e-5
    assert gg(t) == pytest.approx((g(t + eps) - g(t - eps)) / (2 * eps),
                                  rel=1e-6, abs=1e-8)


# ---- refusals ----


def svd_full(a):
    return np.sum(np.linalg.svd(a)[1])


def qr_complete(a):
    return np.sum(np.linalg.qr(a, mode="complete")[1])


def qr_r_only(a):
    return np.sum(np.linalg.qr(a, mode="r"))


def qr_wide(a):
    return np.sum(np.linalg.qr(a)[1])


@pytest.mark.parametrize("f, x, message", [
    (svd_full, _matrix(4, 3), "pass full_matrices=False"),
    (qr_complete, _matrix(4, 3), "use mode='reduced'"),
    (qr_r_only, _matrix(4, 3), "use mode='reduced'"),
    (qr_wide, _matrix(3, 4), "square or tall"),
], ids=["svd-full_matrices", "qr-complete", "qr-r", "qr-wide"])
def test_refused_in_both_modes_with_a_clear_error(f, x, message):
    with pytest.raises(errors.S2SADError, match=message):
        s2sad.grad(f)(x)
    with pytest.raises(errors.S2SADError, match=message):
        s2sad.jvp(f, (x,), (np.ones_like(x),))


def test_full_matrices_of_a_square_matrix_are_the_reduced_ones():
    s2sad.check_grads(svd_full, [_matrix(3, 3)])


def logabsdet_of_complex(z):
    return np.linalg.slogdet(z)[1]


HERMITIAN = _symmetric() + 1j * (W3 - W3.T)


@pytest.mark.parametrize("f", [logabsdet_of_complex],
                         ids=lambda f: f.__name__)
def test_complex_matrices_are_refused_where_rules_are_real(f):
    with pytest.raises(errors.S2SADError, match="of a complex matrix"):
        s2sad.grad(f)(HERMITIAN)
    with pytest.raises(errors.S2SADError, match="of a complex matrix"):
        s2sad.jvp(f, (HERMITIAN,), (np.ones_like(HERMITIAN),))


def inv_of_complex(z):
    return np.real(np.sum(np.linalg.inv(z) * W3 * (1.0 - 2.0j)))


def det_of_complex(z):
    return np.real(np.linalg.det(z) * (0.5 + 1.0j))


def solve_of_complex(z):
    return np.real(np.sum(np.linalg.solve(z, V32 * 1j + 1.0)))


def power_of_complex(z):
    return np.real(np.sum(np.linalg.matrix_power(z, -2) * W3))


@pytest.mark.skipif(registry.lookup(np.real) is None,
                    reason="complex values are not differentiable here")
@pytest.mark.parametrize("f", [inv_of_complex, det_of_complex,
                               solve_of_complex, power_of_complex],
                         ids=lambda f: f.__name__)
def test_holomorphic_rules_hold_for_complex_matrices(f):
    # JAX's convention: the gradient of a real f(z) is df/dx - i df/dy
    z = WELL + 1j * W3
    eps = 1e-6
    expected = np.zeros(z.shape, complex)
    for index in np.ndindex(*z.shape):
        e = np.zeros(z.shape)
        e[index] = eps
        expected[index] = (f(z + e) - f(z - e)) / (2 * eps) - 1j * (
            f(z + 1j * e) - f(z - 1j * e)) / (2 * eps)
    np.testing.assert_allclose(s2sad.grad(f)(z), expected, rtol=1e-6,
                               atol=1e-8)


# ---- exactly repeated eigenvalues and singular values ----


def eigenvalues_by_eigh(a):
    w, v = np.linalg.eigh(a)
    return np.sum(w * w * w)


def singular_values_only(a):
    return np.sum(np.linalg.svd(a, compute_uv=False))


def test_values_alone_are_differentiable_at_exact_ties():
    # d(sum w^3) = 3 A^2; d(sum s) = U V^T, here for the orthogonal Q
    a = np.diag([2.0, 2.0, -1.0])
    np.testing.assert_allclose(s2sad.grad(eigenvalues_by_eigh)(a), 3 * a @ a)
    _, tangent = s2sad.jvp(eigenvalues_by_eigh, (a,), (W3 + W3.T,))
    assert tangent == pytest.approx(np.sum(3 * a @ a * (W3 + W3.T)))
    q = np.linalg.qr(_matrix(3, 3))[0]
    np.testing.assert_allclose(s2sad.grad(singular_values_only)(q), q,
                               atol=1e-12)

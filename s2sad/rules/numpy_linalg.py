"""Rules for NumPy linear algebra (np.linalg): adjoint and tangent templates side by side.

Every rule works on stacks of matrices (`...xMxN`) wherever NumPy does: the
templates transpose with `np.swapaxes(x, -1, -2)` and multiply with `@`.
They are written only with functions that have rules themselves (these
included: the adjoint of `det` calls `np.linalg.inv`, that of `eigvalsh`
calls `np.linalg.eigh`), so generated code can be differentiated again. The
private helpers below compute only shapes, identity matrices, masks and
checks: they are declared non-differentiable.

Conventions, where the derivative depends on more than the function:

- `cholesky`, `eigh` and `eigvalsh` read one triangle of their input, as
  NumPy does (the lower by default, `UPLO="U"` / `upper=True` the upper),
  and the real part of its diagonal: the derivative is that of the
  function of that triangle, mirrored and conjugated
  (`runtime.from_triangle`), so the gradient is zero in the other triangle
  and holds both mirrored entries' parts below (or above) the diagonal, as
  in autograd. For a symmetric input made as `B + B.T`, the chain rule
  gives what a symmetric gradient `(G + G^T) / 2` would.
- The eigenvectors of `eigh` and `eig` are differentiated where the
  eigenvalues are distinct, the singular vectors of `svd` where the
  singular values are distinct and nonzero: their derivatives divide by
  the gaps. At exactly repeated values the tied pairs' terms are taken as
  0, which is exact when the function does not depend on the basis of the
  repeated eigenspace, as for eigenvalues alone (`eigvalsh`, or `w` of
  `w, v = np.linalg.eigh(a)`) and singular values alone
  (`compute_uv=False`).
- Complex eigenvectors and singular vectors are defined up to a phase each;
  their tangents are those with no change of phase (V^H dV, or V^-1 dV for
  `eig`, with a real diagonal), as in autograd and JAX; `eig`'s keep the
  columns' unit norms. Functions of them that do not depend on the phases
  (`np.abs(v)`, `u @ vt`) have the derivative of NumPy's.
- `inv`, `solve`, `det`, `slogdet` and negative powers in `matrix_power`
  need an invertible matrix; `slogdet`'s sign has no derivative (its tangent
  is zero). `pinv` is differentiated at full rank, where it is smooth.
- `qr` is differentiated in its reduced mode for square or tall inputs of
  full column rank (R invertible); `svd` with `full_matrices=False`, or with
  the default `full_matrices=True` on square inputs (the same factors).
  Other modes fail when the derivative runs, with an `S2SADError` saying
  what to write instead.
- `svd(..., hermitian=True)` is differentiated as the SVD it returns, with
  the input assumed symmetric (the gradient is not symmetrized).
- Complex matrices: `inv`, `solve`, `det` and `matrix_power` are
  holomorphic, and their rules (plain transposes, no conjugates) hold for
  complex inputs under the convention of the rest of s2sad (JAX's: the
  adjoint c of z has dL = Re(sum(c * dz))); `eig`, `eigvals`, `eigh`,
  `eigvalsh` and `svd` conjugate where the decomposition does, and a real
  input's adjoint is the real part. `pinv`, `slogdet`, `cholesky` and `qr`
  are for real matrices and refuse complex ones.
"""

import numpy as np

from s2sad import errors, runtime
from s2sad.rules.registry import (
    adjoint, d, non_differentiable, tangent, via_output)

# ---- shape-only helpers the templates call ----


def _matrix_shape(b, x):
    """x = np.linalg.solve(a, b) seen as a stack of matrices: a vector
    right-hand side (b 1-d, as NumPy 2 reads it) gets a trailing axis."""
    shape = tuple(np.shape(x))
    return shape + (1,) if np.ndim(b) == 1 else shape


def _eye_of(w):
    """The n x n identity for vectors w of shape (..., n)."""
    return runtime.eye(np.shape(w)[-1], like=runtime.library(w))


def _ties(gaps):
    """1.0 where a gap between eigenvalues (or squared singular values) is
    exactly zero, the diagonal included: F = (1 - ties) / (gaps + ties) is
    then 0 there, which is exact whenever the derivative exists (the loss
    does not depend on the basis chosen in a repeated eigenspace)."""
    return (runtime.as_array(gaps) == 0.0).astype(float)


def _identity(a, axis):
    """The identity matrix as large as a's `axis`."""
    return runtime.eye(np.shape(a)[axis], like=runtime.library(a))


def _lower_axis(upper=False):
    """The axis to swap with -1 to get the lower Cholesky factor (-1: none)."""
    return -2 if upper else -1


def _half_lower(l):
    """The mask of Phi: ones below the diagonal, 1/2 on it, zeros above."""
    n, like = np.shape(l)[-1], runtime.library(l)
    return np.tril(np.ones((n, n), like=like)) - 0.5 * runtime.eye(
        n, like=like)


def _strictly_lower(a, mode="reduced"):
    """Ones strictly below the diagonal of R, checking that the derivative
    of np.linalg.qr(a, mode) is the one we know (reduced, m >= n)."""
    m, n = np.shape(a)[-2:]
    if mode != "reduced":
        raise errors.S2SADError(
            f"np.linalg.qr with mode={mode!r} is not differentiable yet; "
            "use mode='reduced' (the default)")
    if m < n:
        raise errors.S2SADError(
            f"np.linalg.qr of a wide matrix ({m}x{n}) is not differentiable "
            "yet: R's last columns are not determined smoothly; take the QR "
            "of a square or tall matrix")
    return np.tril(np.ones((n, n), like=runtime.library(a)), -1)


def _svd_eye(a, full_matrices=True, compute_uv=True):
    """The k x k identity (k = min(m, n)) of np.linalg.svd(a), checking that
    the factors asked for are the reduced ones."""
    m, n = np.shape(a)[-2:]
    if compute_uv and full_matrices and m != n:
        raise errors.S2SADError(
            f"np.linalg.svd of a {m}x{n} matrix with full_matrices=True (the "
            "default) is not differentiable: the extra singular vectors are "
            "not unique; pass full_matrices=False")
    return runtime.eye(min(m, n), like=runtime.library(a))


def _block(a, i):
    """E_i, the i-th block row (i = 0, 1) of the 2n x 2n identity as an
    n x 2n matrix: E_0^T X E_0 + E_0^T Y E_1 + E_1^T X E_1 is the block
    matrix [[X, Y], [0, X]]."""
    n = np.shape(a)[-1]
    return runtime.eye(2 * n, like=runtime.library(a))[i * n:(i + 1) * n]


def _real_only(a, name):
    """Refuse a complex input where the rule transposes without conjugating
    (the derivative of a complex decomposition is not that of a real one)."""
    if np.iscomplexobj(a):
        raise errors.S2SADError(
            f"np.linalg.{name} of a complex matrix is not differentiable yet; "
            "its derivative rule is for real matrices")


non_differentiable(_matrix_shape, _eye_of, _ties, _identity, _lower_axis,
                   _half_lower, _strictly_lower, _svd_eye, _block, _real_only)

# ---- inverses and linear systems ----


@adjoint(np.linalg.inv)
def inv(y, a):
    yt = np.swapaxes(y, -1, -2)
    d[a] = -(yt @ d[y] @ yt)


@tangent(np.linalg.inv)
def inv_fwd(y, a):
    d[y] = -(y @ d[a] @ y)


@adjoint(np.linalg.solve)
def solve(y, a, b):
    # A vector b (1-d) is a one-column matrix here; batch axes that a or b
    # gained by broadcasting are summed away.
    ym = np.reshape(y, _matrix_shape(b, y))
    gb = np.linalg.solve(np.swapaxes(a, -1, -2),
                         np.reshape(d[y], _matrix_shape(b, y)))
    d[a] = runtime.unbroadcast(-(gb @ np.swapaxes(ym, -1, -2)), a)
    d[b] = runtime.unbroadcast(np.reshape(gb, np.shape(y)), b)


@tangent(np.linalg.solve)
def solve_fwd(y, a, b):
    d[y] = np.linalg.solve(a, d[b]) + np.reshape(np.linalg.solve(
        a, -(d[a] @ np.reshape(y, _matrix_shape(b, y)))), np.shape(y))


@adjoint(np.linalg.pinv)
def pinv(y, a, rcond: via_output = None, hermitian: via_output = False,
         *, rtol: via_output = None):
    # Golub and Pereyra's derivative of the pseudo-inverse at full rank.
    _real_only(a, "pinv")
    yt = np.swapaxes(y, -1, -2)
    gt = np.swapaxes(d[y], -1, -2)
    d[a] = -(yt @ d[y] @ yt) + (_identity(a, -2) - a @ y) @ gt @ y @ yt + \
        yt @ y @ gt @ (_identity(a, -1) - y @ a)


@tangent(np.linalg.pinv)
def pinv_fwd(y, a, rcond: via_output = None, hermitian: via_output = False,
             *, rtol: via_output = None):
    _real_only(a, "pinv")
    d[y] = -(y @ d[a] @ y) + y @ np.swapaxes(y, -1, -2) @ np.swapaxes(
        d[a], -1, -2) @ (_identity(a, -2) - a @ y) + (
        _identity(a, -1) - y @ a) @ np.swapaxes(d[a], -1, -2) @ np.swapaxes(
        y, -1, -2) @ y


@adjoint(np.linalg.matrix_power)
def matrix_power(y, a, n):
    # The derivative of a matrix function f along e is the corner block of
    # f([[a, e], [0, a]]); its adjoint at g is the same at a's transpose.
    at = np.swapaxes(a, -1, -2)
    top = _block(a, 0)
    bottom = _block(a, 1)
    d[a] = top @ np.linalg.matrix_power(
        top.T @ at @ top + top.T @ d[y] @ bottom + bottom.T @ at @ bottom,
        n) @ bottom.T


@tangent(np.linalg.matrix_power)
def matrix_power_fwd(y, a, n):
    d[y] = _block(a, 0) @ np.linalg.matrix_power(
        _block(a, 0).T @ a @ _block(a, 0) + _block(a, 0).T @ d[a] @ _block(
            a, 1) + _block(a, 1).T @ a @ _block(a, 1), n) @ _block(a, 1).T


# ---- determinants ----


@adjoint(np.linalg.det)
def det(y, a):
    d[a] = np.expand_dims(d[y] * y, (-2, -1)) * np.swapaxes(
        np.linalg.inv(a), -1, -2)


@tangent(np.linalg.det)
def det_fwd(y, a):
    d[y] = y * np.sum(np.swapaxes(np.linalg.inv(a), -1, -2) * d[a],
                      axis=(-2, -1))


@adjoint(np.linalg.slogdet)
def slogdet(y, a):
    # y is (sign, logabsdet); d[y] holds one adjoint per item, and the
    # sign's is ignored: it is piecewise constant.
    _real_only(a, "slogdet")
    d[a] = np.expand_dims(d[y][1], (-2, -1)) * np.swapaxes(
        np.linalg.inv(a), -1, -2)


@tangent(np.linalg.slogdet)
def slogdet_fwd(y, a):
    _real_only(a, "slogdet")
    d[y] = (runtime.zeros_like(y[0]), np.sum(
        np.swapaxes(np.linalg.inv(a), -1, -2) * d[a], axis=(-2, -1)))


# ---- decompositions ----


@adjoint(np.linalg.cholesky)
def cholesky(y, a, *, upper=False):
    # dL = L Phi(L^-1 dA L^-T): the adjoint is L^-T Phi(L^T Lbar) L^-1,
    # symmetrized.
    _real_only(a, "cholesky")
    l = np.swapaxes(y, _lower_axis(upper), -1)
    lbar = np.swapaxes(d[y], _lower_axis(upper), -1)
    linv = np.linalg.inv(l)
    grad = np.swapaxes(linv, -1, -2) @ (
        (np.swapaxes(l, -1, -2) @ lbar) * _half_lower(l)) @ linv
    d[a] = runtime.to_triangle(0.5 * (grad + np.swapaxes(grad, -1, -2)),
                               not upper)


@tangent(np.linalg.cholesky)
def cholesky_fwd(y, a, *, upper=False):
    _real_only(a, "cholesky")
    l = np.swapaxes(y, _lower_axis(upper), -1)
    linv = np.linalg.inv(l)
    d[y] = np.swapaxes(l @ ((linv @ runtime.from_triangle(d[a], not upper)
                             @ np.swapaxes(linv, -1, -2)) * _half_lower(l)),
                       _lower_axis(upper), -1)


def _inverse_gaps(w):
    """F[..., i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 where eigenvalues
    tie. Plain Python over NumPy: s2sad differentiates it as the user's
    code."""
    gaps = np.expand_dims(w, -2) - np.expand_dims(w, -1)
    ties = _ties(gaps)
    return (1.0 - ties) / (gaps + ties)


@adjoint(np.linalg.eigh)
def eigh(y, a, UPLO="L"):
    # A = V diag(w) V^H: Abar = conj(V) (diag(wbar) + F * (V^T Vbar)) V^T,
    # with F[i, j] = 1 / (w[j] - w[i]) off the diagonal, read into the
    # triangle (runtime.to_triangle takes the Hermitian part).
    w = y[0]
    v = y[1]
    vt = np.swapaxes(v, -1, -2)
    eye = _eye_of(w)
    f = _inverse_gaps(w)
    d[a] = runtime.to_triangle(np.conj(v) @ (
        np.expand_dims(d[y][0], -2) * eye + f * (vt @ d[y][1])) @ vt,
        UPLO == "L")


@tangent(np.linalg.eigh)
def eigh_fwd(y, a, UPLO="L"):
    # V^H dV has a zero diagonal: the phases of complex eigenvectors are
    # held (the gauge autograd and JAX choose).
    w = y[0]
    v = y[1]
    eye = _eye_of(w)
    f = _inverse_gaps(w)
    p = np.conj(np.swapaxes(v, -1, -2)) @ runtime.from_triangle(
        d[a], UPLO == "L") @ v
    d[y] = (np.real(np.sum(p * eye, axis=-1)), v @ (f * p))


@adjoint(np.linalg.eigvalsh)
def eigvalsh(y, a, UPLO="L"):
    v = np.linalg.eigh(a, UPLO=UPLO)[1]
    d[a] = runtime.to_triangle((np.conj(v) * np.expand_dims(d[y], -2))
                               @ np.swapaxes(v, -1, -2), UPLO == "L")


@tangent(np.linalg.eigvalsh)
def eigvalsh_fwd(y, a, UPLO="L"):
    v = np.linalg.eigh(a, UPLO=UPLO)[1]
    d[y] = np.real(np.sum(np.conj(v) * (
        runtime.from_triangle(d[a], UPLO == "L") @ v), axis=-2))


@adjoint(np.linalg.eig)
def eig(y, a):
    # A = V diag(w) V^-1 with unit columns in V: with J = V^T Vbar and
    # F[i, j] = 1 / (w[j] - w[i]) off the diagonal, Abar = V^-T (diag(wbar)
    # + F * (J - V^T conj(V) diag(Re(diag(J))))) V^T; its real part for a
    # real A (whose eigenvalues may be complex).
    w = y[0]
    v = y[1]
    vt = np.swapaxes(v, -1, -2)
    eye = _eye_of(w)
    f = _inverse_gaps(w)
    j = vt @ d[y][1]
    d[a] = runtime.as_kind_of(np.linalg.solve(vt, (
        np.expand_dims(d[y][0], -2) * eye
        + f * (j - vt @ np.conj(v) @ (np.real(j) * eye))) @ vt), a)


@tangent(np.linalg.eig)
def eig_fwd(y, a):
    # dV = V (F * (V^-1 dA V)), less its part along V that would change the
    # columns' norms; V^-1 dV has a zero diagonal otherwise (the phases are
    # held, as in autograd and JAX).
    w = y[0]
    v = y[1]
    eye = _eye_of(w)
    f = _inverse_gaps(w)
    p = np.linalg.solve(v, d[a] @ v)
    dv = v @ (f * p)
    d[y] = (np.sum(p * eye, axis=-1), dv - v * np.expand_dims(
        np.real(np.sum(np.conj(v) * dv, axis=-2)), -2))


@adjoint(np.linalg.eigvals)
def eigvals(y, a):
    # np.linalg.eigvals returns np.linalg.eig's eigenvalues in its order.
    vt = np.swapaxes(np.linalg.eig(a)[1], -1, -2)
    d[a] = runtime.as_kind_of(
        np.linalg.solve(vt, np.expand_dims(d[y], -1) * vt), a)


@tangent(np.linalg.eigvals)
def eigvals_fwd(y, a):
    v = np.linalg.eig(a)[1]
    d[y] = np.sum(np.linalg.solve(v, d[a] @ v) * _eye_of(y), axis=-1)


@adjoint(np.linalg.qr)
def qr(y, a, mode="reduced"):
    # dQ = Q (O - C) + dA R^-1 and dR = (C - O) R, with C = Q^T dA R^-1 and
    # O = tril(C, -1) - tril(C, -1)^T; the adjoint is their transpose.
    _real_only(a, "qr")
    lower = _strictly_lower(a, mode)
    q = y[0]
    r = y[1]
    n = np.swapaxes(q, -1, -2) @ d[y][0] - d[y][1] @ np.swapaxes(r, -1, -2)
    cbar = (n - np.swapaxes(n, -1, -2)) * lower - n
    d[a] = (d[y][0] + q @ cbar) @ np.swapaxes(np.linalg.inv(r), -1, -2)


@tangent(np.linalg.qr)
def qr_fwd(y, a, mode="reduced"):
    _real_only(a, "qr")
    lower = _strictly_lower(a, mode)
    q = y[0]
    r = y[1]
    s = d[a] @ np.linalg.inv(r)
    c = np.swapaxes(q, -1, -2) @ s
    o = c * lower - np.swapaxes(c * lower, -1, -2)
    d[y] = (q @ (o - c) + s, (c - o) @ r)


@adjoint(np.linalg.svd)
def svd(y, a, full_matrices=True, compute_uv=True,
        hermitian: via_output = False):
    # Townsend's adjoint of A = U diag(s) V^H, with F[i, j] = 1 / (s[j]^2 -
    # s[i]^2) off the diagonal; for complex A, the imaginary diagonal of
    # U^T Ubar enters as autograd's (the gauge of the tangent below). With
    # compute_uv=False, y is s alone: U and V are computed again and their
    # adjoints are zero.
    eye = _svd_eye(a, full_matrices, compute_uv)
    usv = y if compute_uv else np.linalg.svd(a, full_matrices=False)
    u = usv[0]
    s = usv[1]
    vt = usv[2]
    gu = d[y][0] if compute_uv else runtime.zeros_like(u)
    gs = d[y][1] if compute_uv else d[y]
    gvt = d[y][2] if compute_uv else runtime.zeros_like(vt)
    row = np.expand_dims(s, -2)
    col = np.expand_dims(s, -1)
    gaps = row * row - col * col
    ties = _ties(gaps)
    f = (1.0 - ties) / (gaps + ties)
    ut_gu = np.swapaxes(u, -1, -2) @ gu
    gvt_v = gvt @ np.swapaxes(vt, -1, -2)
    inner = f * (ut_gu - np.conj(np.swapaxes(ut_gu, -1, -2))) * row + \
        np.expand_dims(gs, -2) * eye + \
        col * (f * (np.conj(np.swapaxes(gvt_v, -1, -2)) - gvt_v)) + \
        eye * (ut_gu - np.conj(ut_gu)) / (2.0 * row)
    d[a] = np.conj(u) @ inner @ np.conj(vt) + (
        (gu - np.conj(u) @ ut_gu) / row) @ np.conj(vt) + (
        np.conj(u) / row) @ (gvt - gvt_v @ np.conj(vt))


@tangent(np.linalg.svd)
def svd_fwd(y, a, full_matrices=True, compute_uv=True,
            hermitian: via_output = False):
    # With P = U^H dA V: U^H dU = F * (P S + S P^H) plus, for complex A, the
    # imaginary part of diag(P) / s (V^H dV has a zero diagonal: JAX's and
    # autograd's gauge).
    eye = _svd_eye(a, full_matrices, compute_uv)
    usv = y if compute_uv else np.linalg.svd(a, full_matrices=False)
    u = usv[0]
    s = usv[1]
    v = np.conj(np.swapaxes(usv[2], -1, -2))
    row = np.expand_dims(s, -2)
    col = np.expand_dims(s, -1)
    gaps = row * row - col * col
    ties = _ties(gaps)
    f = (1.0 - ties) / (gaps + ties)
    p = np.conj(np.swapaxes(u, -1, -2)) @ d[a] @ v
    ph = np.conj(np.swapaxes(p, -1, -2))
    ds = np.real(np.sum(p * eye, axis=-1))
    du = u @ (f * (p * row + col * ph) + eye * (p - ph) / (2.0 * row)) + (
        d[a] @ v - u @ p) / row
    dv = v @ (f * (col * p + ph * row)) + (
        np.conj(np.swapaxes(d[a], -1, -2)) @ u - v @ ph) / row
    d[y] = (du, ds, np.conj(np.swapaxes(dv, -1, -2))) if compute_uv else ds

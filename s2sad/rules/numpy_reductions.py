"""Rules for NumPy reductions: adjoint and tangent templates side by side.

Every function here takes `axis` (None, an int, a negative int or a tuple)
and `keepdims` wherever NumPy does; the adjoints spread the output's adjoint
back over the reduced axes with `runtime.unreduce`, the tangents reduce
`d[x] * weights` with `np.sum`.

Conventions:

- np.max, np.min (and np.amax, np.amin): the gradient goes to the elements
  equal to the result, split equally among tied ones (k tied maxima get 1/k
  each), as np.maximum gives 1/2 to each of two tied inputs. A NaN result
  sends its gradient to the NaN elements.
- np.prod and np.cumprod are exact where elements are 0: nothing is divided
  by x. np.prod multiplies exclusive cumulative products from both ends
  (O(n)); the derivatives of np.cumprod solve the linear recurrence
  h[i] = a[i] * h[i-1] + b[i] by a parallel scan (O(n log n), exact).
- np.var and np.std take `ddof`; np.std has gradient 0 where it is 0 (all
  the reduced elements equal), where it has no derivative.
- np.average: `a` and `weights` are both differentiable; `returned=True` is
  refused (an S2SADError when the derivative runs).
- np.linalg.norm: every number ord for vectors; None, 'fro',
  'nuc', 2, -2, 1, -1, inf, -inf for matrices (axis a 2-tuple, or a 2-d
  input with ord given). Every norm has gradient 0 at 0; ord 1 has the
  derivative of abs (runtime.sign, 0 at 0); ord inf, the matrix 1/inf norms and
  ord 2/-2 (largest/smallest singular value) split ties like np.max; the
  nuclear norm has gradient U Vt over the nonzero singular values, and
  singular values equal to 0 pass no gradient. Any other vector p-norm has
  gradient sign(x) (|x| / y)^(p-1): 0 where an element is 0 for p > 1;
  for p < 1 there is no derivative there.
- Complex inputs: np.var, np.std and np.linalg.norm are real functions of
  them; their gradients are conjugated (JAX's convention, d/dx - i d/dy)
  and their tangents real.

The private helpers below come in two kinds. Shape helpers (`_moved`,
`_first`, `_tie_weights`, ...) compute axes, shapes, masks and constant
weights: they are declared non-differentiable. `_shift`, `_forward_scan`,
`_backward_scan`, `_safe_reciprocal`, `_svd`, `_matrix_view`,
`_matrix_view_back`, `_weights_for` and `_weights_back` are differentiable
in their array arguments: each has rules of its own here, built from
functions with rules, so gradients can be differentiated again.
"""

import numbers
import warnings

import numpy as np

from s2sad import errors, runtime
from s2sad.rules.registry import (
    adjoint, d, elementwise, float_dtype, linear, non_differentiable, only,
    tangent, via_output)

# ---- shape-only helpers the templates call ----


def _reduced(x, axis):
    """The axes a reduction over `axis` combines, non-negative and sorted."""
    ndim = np.ndim(x)
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(sorted(int(a) % ndim for a in axes))


def _moved(x, axis):
    """The permutation moving the reduced axes of x to the end."""
    reduced = _reduced(x, axis)
    kept = tuple(i for i in range(np.ndim(x)) if i not in reduced)
    return kept + reduced


def _restored(x, axis):
    """The permutation undoing `_moved(x, axis)`."""
    return tuple(int(i) for i in np.argsort(_moved(x, axis)))


def _merged(x, axis):
    """x's shape after `_moved`, with the reduced axes merged into one."""
    shape = np.shape(x)
    reduced = _reduced(x, axis)
    kept = tuple(shape[i] for i in range(len(shape)) if i not in reduced)
    return kept + (int(np.prod([shape[i] for i in reduced], dtype=np.int64)),)


def _unmerged(x, axis):
    """x's shape after `_moved`: the inverse of `_merged`'s reshape."""
    shape = np.shape(x)
    return tuple(shape[i] for i in _moved(x, axis))


def _scan_axis(axis):
    """The axis np.cumsum and np.cumprod run along (None: of the ravel)."""
    return 0 if axis is None else axis


def _first(x, axis):
    """1.0 at index 0 along `axis`, 0.0 elsewhere, shaped like x."""
    out = runtime.zeros(np.shape(x), float, x)
    index = [slice(None)] * out.ndim
    index[axis] = slice(0, 1)
    out[tuple(index)] = 1.0
    return out


def _kept(a, y, axis, keepdims):
    """`y`, a reduction of the array `a` over `axis`, with the reduced axes
    put back (length 1) so that it broadcasts against a."""
    if axis is not None and not keepdims and a.ndim:
        return runtime.expand(y, axis)
    return y


def _ties(a, y, axis, keepdims, initial, where):
    """Where the max or min `y` of `a` over `axis` came from: a mask of the
    elements equal to it (NaN matching NaN) among those `where` selects,
    whether `initial` equals it (None when there is no initial), and how
    many ties there are (at least 1), the last two shaped to broadcast
    against a."""
    a = runtime.as_array(a)
    y = _kept(a, y, axis, keepdims)
    hit = a == y
    if runtime.foreign(y) or np.isnan(y).any():  # (y is the small one)
        hit |= np.isnan(a) & np.isnan(y)
    if where is not True:
        hit &= where
    ties = np.sum(hit, axis=axis, keepdims=True)
    first = None
    if initial is not None:
        first = 1.0 * (initial == y)
        ties = ties + first
    return hit, first, np.maximum(ties, 1)


def _tie_weights(a, y, axis=None, keepdims=False, initial=None, where=True):
    """1/k at each of the k elements of `a` equal to the max or min `y` over
    `axis` (`initial` counting as one more when equal), 0 elsewhere."""
    if initial is None and where is True and a.__class__ is np.ndarray \
            and y.__class__ is np.float64:
        # the max or min of a float array: one hit, or ties (at once)
        hit = a == y
        if np.count_nonzero(hit) == 1:
            return hit.astype(float)
    if initial is None and where is True and not runtime.foreign(a):
        # y is attained in each group it reduces, so as many hits as groups
        # means one in each: no ties, and no count per group (the slow part)
        a = runtime.as_array(a)
        hit = a == _kept(a, y, axis, keepdims)
        if np.count_nonzero(hit) == np.size(y) and not np.isnan(y).any():
            return hit.astype(float)
    hit, _, ties = _ties(a, y, axis, keepdims, initial, where)
    return hit / ties


def _initial_weight(a, y, axis=None, keepdims=False, initial=None,
                    where=True):
    """The share of the max or min `y` that `initial` holds, shaped like y:
    1/k where it is one of k tied extremes, 0 elsewhere."""
    _, first, ties = _ties(a, y, axis, keepdims, initial, where)
    if first is None:
        return runtime.zeros(np.shape(y), float, y)
    return np.reshape(first / ties, np.shape(y))


def _diagonal_mask(a, offset=0, axis1=0, axis2=1):
    """M (n, m): 1.0 where np.trace(a, offset, axis1, axis2) reads."""
    shape = np.shape(a)
    n, m = shape[axis1], shape[axis2]
    return runtime.eye(n, m, offset, like=runtime.library(a))


def _single_output(returned):
    """1.0, checking that np.average was not asked for the sum of weights."""
    if returned:
        raise errors.S2SADError(
            "np.average with returned=True is not differentiable yet; "
            "compute the sum of weights separately (np.sum(weights))")
    return 1.0


def _norm_kind(x, ord, axis):
    """Which norm np.linalg.norm(x, ord, axis) computes, and over which axes:
    ("euclidean" | "l1" | "linf" | "l0" | "matrix" | "spectral", axes)."""
    ndim = np.ndim(x)
    if axis is None:
        if ord is None:
            return "euclidean", tuple(range(ndim))
        axes = tuple(range(ndim))
    elif isinstance(axis, (tuple, list)):
        axes = tuple(int(a) % ndim for a in axis)
    else:
        axes = (int(axis) % ndim,)
    inf = isinstance(ord, numbers.Number) and abs(ord) == np.inf
    if len(axes) == 1:
        if ord is None or ord == 2:
            return "euclidean", axes
        if ord == 1:
            return "l1", axes
        if inf:
            return "linf", axes
        if ord == 0:
            return "l0", axes
        if isinstance(ord, numbers.Real):
            return "lp", axes
    elif len(axes) == 2:
        if ord is None or ord == "fro":
            return "euclidean", axes
        if inf or ord in (1, -1):
            return "matrix", axes
        if ord in (2, -2, "nuc"):
            return "spectral", axes
    raise errors.S2SADError(
        f"np.linalg.norm with ord={ord!r} over {len(axes)} axes is not "
        "differentiable yet; s2sad has every number ord for vectors and "
        "None, 'fro', 'nuc', 1, -1, 2, -2, inf, -inf for matrices")


def _is_norm(x, ord, axis, kind):
    """Is np.linalg.norm(x, ord, axis) of this kind (see `_norm_kind`)?"""
    return _norm_kind(x, ord, axis)[0] == kind


def _norm_kinks(x, y, ord=None, axis=None, keepdims=False):
    """For the norms made of abs, max and min, dy/d|x|: 1 for ord 1, the
    picked elements (ties split) for the others, zeros for ord 0. The
    templates multiply it by the derivative of abs, runtime.sign(x)."""
    kind, axes = _norm_kind(x, ord, axis)
    if kind == "l1":
        return np.ones(np.shape(x), like=runtime.library(x))
    if kind == "linf":
        return _tie_weights(np.abs(x), y, axes[0], keepdims)
    if kind != "matrix":
        return runtime.zeros(np.shape(x), float, x)
    # ord 1 and -1: the largest or smallest column sum (summed over axes[0]);
    # inf and -inf: the largest or smallest row sum (summed over axes[1]).
    summed, picked = axes if ord in (1, -1) else axes[::-1]
    sums = np.sum(np.abs(x), axis=summed, keepdims=True)
    if not keepdims:
        y = np.expand_dims(y, axes)
    return _tie_weights(sums, y, picked, True)


def _singular_weights(s, ord):
    """dy/ds for the norms made of the singular values s: 1 for 'nuc', the
    largest (ord 2) or smallest (ord -2) one with ties split; 0 where s is
    0, where the nuclear and the spectral norm have kinks."""
    if ord == "nuc":
        weights = np.ones(np.shape(s), like=runtime.library(s))
    else:
        pick = np.max if ord == 2 else np.min
        weights = _tie_weights(s, pick(s, axis=-1), -1)
    return np.where(runtime.as_array(s) > 0, weights, 0.0)


def _eye_like(s):
    """The identity matrix as large as the vector of singular values s."""
    return runtime.eye(np.shape(s)[-1], like=runtime.library(s))


def _weights_shape(weights, a, axis):
    """For np.average: the permutation and shape that make `weights` broadcast
    against `a` (None, None when it is already a's shape)."""
    shape = np.shape(a)
    if np.shape(weights) == shape:
        return None, None
    # as NumPy does: weights shaped like a's axes in the order of `axis`
    axes = [int(i) % len(shape) for i in (
        axis if isinstance(axis, (tuple, list)) else (axis,))]
    order = tuple(int(i) for i in np.argsort(axes))
    return order, tuple(n if i in axes else 1 for i, n in enumerate(shape))


non_differentiable(_moved, _restored, _merged, _unmerged, _scan_axis, _first,
                   _ties, _tie_weights, _initial_weight, _diagonal_mask,
                   _single_output, _is_norm, _norm_kinks, _singular_weights,
                   _eye_like)

# ---- differentiable helpers ----


def _shift(v, axis, step):
    """v moved `step` places along `axis`, zeros shifted in:
    out[i] = v[i - step]."""
    v = runtime.as_array(v)
    out = runtime.zeros(v.shape, np.result_type(v, float), v)
    n = v.shape[axis]
    if abs(step) >= n:
        return out
    src, dst = [slice(None)] * v.ndim, [slice(None)] * v.ndim
    if step >= 0:
        src[axis], dst[axis] = slice(0, n - step), slice(step, n)
    else:
        src[axis], dst[axis] = slice(-step, n), slice(0, n + step)
    out[tuple(dst)] = v[tuple(src)]
    return out


def _forward_scan(a, b, axis):
    """h along `axis` with h[i] = a[i] * h[i-1] + b[i], h[-1] = 0 (a[0] is
    not read): h[i] = sum over k <= i of b[k] * a[k+1] * ... * a[i].

    A Hillis-Steele scan of the affine maps h -> a[i] * h + b[i]: log2(n)
    vectorised steps, no division, so exact where a has zeros.
    """
    dtype = np.result_type(runtime.as_array(a), runtime.as_array(b), float)
    A, h = (np.moveaxis(np.atleast_1d(runtime.as_array(v, dtype)), axis, -1)
            for v in (a, b))
    A, h = (v.copy() for v in np.broadcast_arrays(A, h))
    n, step = h.shape[-1], 1
    while step < n:
        h[..., step:] = h[..., step:] + A[..., step:] * h[..., :-step]
        A[..., step:] = A[..., step:] * A[..., :-step]
        step *= 2
    return np.moveaxis(h, -1, axis)


def _backward_scan(a, b, axis):
    """h along `axis` with h[i] = a[i+1] * h[i+1] + b[i], h[n] = 0: the
    transpose of `_forward_scan(a, ., axis)` (same links a[1:])."""
    flipped = _shift(np.flip(runtime.as_array(a), axis), axis, 1)
    return np.flip(_forward_scan(
        flipped, np.flip(runtime.as_array(b), axis), axis), axis)


def _safe_reciprocal(x):
    """1 / x, and 0 where x is 0."""
    if x.__class__ is float or x.__class__ is np.float64:
        return 1.0 / x if x else 0.0 * x
    x = runtime.as_array(x)
    nonzero = x != 0
    return np.where(nonzero, 1.0 / np.where(nonzero, x, 1.0), 0.0)


def _weights_for(weights, a, axis):
    """np.average's weights, reshaped to broadcast against `a` (ones for
    weights None)."""
    if weights is None:
        return np.ones(np.shape(a), like=runtime.library(a))
    order, shape = _weights_shape(weights, a, axis)
    if shape is None:
        return runtime.as_array(weights)
    return np.reshape(np.transpose(weights, order), shape)


def _weights_back(g, weights, a, axis):
    """The transpose of `_weights_for`: `g`, shaped like its output, put back
    into the shape of `weights`."""
    order, shape = _weights_shape(weights, a, axis)
    if shape is None:
        return g
    moved = tuple(np.shape(weights)[i] for i in order)
    return np.transpose(np.reshape(g, moved),
                        tuple(int(i) for i in np.argsort(order)))


def _svd(x):
    """The thin SVD over the last two axes: a tuple (U, s, Vt)."""
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    return u, s, vt


def _matrix_view(v, x, ord=None, axis=None):
    """For the norms of singular values, `v` (shaped like x) with the norm's
    (row, column) axes moved last; for the other norms, a constant 1x1 zero
    matrix, whose SVD is cheap and passes no gradient. (Not a conditional
    expression in the norm's templates: `s2sad.vjp` of generated code with a
    branch fails when the branch did not run.)"""
    kind, axes = _norm_kind(x, ord, axis)
    if kind != "spectral":
        return runtime.zeros((1, 1), np.result_type(v, 0.0), v)
    return np.moveaxis(v, axes, (-2, -1))


def _matrix_view_back(g, x, ord=None, axis=None):
    """The transpose of `_matrix_view`: g's last two axes moved back to the
    norm's axes (zeros shaped like x for the other norms)."""
    kind, axes = _norm_kind(x, ord, axis)
    if kind != "spectral":
        return runtime.zeros(np.shape(x), np.result_type(g, 0.0), g)
    return np.moveaxis(g, (-2, -1), axes)


# ---- rules of the differentiable helpers ----


@adjoint(_shift)
def shift(y, v, axis, step):
    d[v] = _shift(d[y], axis, -step)


@tangent(_shift)
def shift_fwd(y, v, axis, step):
    d[y] = _shift(d[v], axis, step)


# h = L(a) b, L lower triangular; its transpose is _backward_scan(a, ., axis).
# The adjoint of b solves the transposed recurrence; a[i] multiplies h[i-1].


@adjoint(_forward_scan)
def forward_scan(h, a, b, axis):
    back = _backward_scan(a, d[h], axis)
    d[a] = runtime.as_kind_of(back * _shift(h, axis, 1), a)
    d[b] = runtime.as_kind_of(back, b)


@tangent(_forward_scan)
def forward_scan_fwd(h, a, b, axis):
    d[h] = _forward_scan(a, d[a] * _shift(h, axis, 1), axis) + \
        _forward_scan(a, d[b], axis)


@adjoint(_backward_scan)
def backward_scan(h, a, b, axis):
    ahead = _forward_scan(a, d[h], axis)
    d[a] = runtime.as_kind_of(_shift(ahead, axis, 1) * h, a)
    d[b] = runtime.as_kind_of(ahead, b)


@tangent(_backward_scan)
def backward_scan_fwd(h, a, b, axis):
    d[h] = _backward_scan(a, _shift(d[a] * h, axis, -1), axis) + \
        _backward_scan(a, d[b], axis)


linear(_matrix_view, _matrix_view_back)


@elementwise(_safe_reciprocal, domain="nonzero")
def safe_reciprocal(y, x):
    return -y * y


@adjoint(_weights_for, constants=("a", "axis"))
def weights_for(y, weights, a, axis):
    d[weights] = _weights_back(d[y], weights, a, axis)


@tangent(_weights_for)
def weights_for_fwd(y, weights, a, axis):
    d[y] = _weights_for(d[weights], a, axis)


@adjoint(_weights_back, constants=("weights", "a", "axis"))
def weights_back(y, g, weights: via_output, a, axis):
    d[g] = _weights_for(d[y], a, axis)


@tangent(_weights_back)
def weights_back_fwd(y, g, weights, a, axis):
    d[y] = _weights_back(d[g], weights, a, axis)


# The thin SVD x = U diag(s) V^H, k = min(m, n) singular values. With
# P = U^H dx V and gaps[i, j] = 1 / (s[j]^2 - s[i]^2) (0 for equal values),
# U^H dU = gaps * (P S + S P^H) plus, for complex x, i Im(diag(P)) / s,
# V^H dV = gaps * (S P + P^H S), ds = Re(diag(P)), plus the parts of dU (dV)
# outside the span of U (V) when m > k (n > k); the phases are those of
# np.linalg.svd's rules. The adjoint is that map transposed; both read only
# the SVD's outputs.


@adjoint(_svd)
def svd(y, x):
    v = np.swapaxes(y[2], -1, -2)
    row = np.expand_dims(y[1], -2)
    col = np.expand_dims(y[1], -1)
    gaps = _safe_reciprocal(row * row - col * col)
    inv = np.expand_dims(_safe_reciprocal(y[1]), -2)
    eye = _eye_like(y[1])
    j = np.swapaxes(y[0], -1, -2) @ d[y][0]
    k = np.conj(y[2] @ np.swapaxes(d[y][2], -1, -2))
    core = gaps * (j - np.conj(np.swapaxes(j, -1, -2))) * row + col * (
        gaps * (k - np.conj(np.swapaxes(k, -1, -2)))) + np.expand_dims(
            d[y][1], -2) * eye + eye * (j - np.conj(j)) * inv / 2.0
    d[x] = (np.conj(y[0]) @ core + (d[y][0] - np.conj(y[0]) @ j) * inv) @ \
        np.conj(y[2]) + (np.conj(y[0]) * inv) @ (
            d[y][2] - d[y][2] @ v @ np.conj(y[2]))


@tangent(_svd)
def svd_fwd(y, x):
    v = np.conj(np.swapaxes(y[2], -1, -2))
    row = np.expand_dims(y[1], -2)
    col = np.expand_dims(y[1], -1)
    gaps = _safe_reciprocal(row * row - col * col)
    inv = np.expand_dims(_safe_reciprocal(y[1]), -2)
    p = np.conj(np.swapaxes(y[0], -1, -2)) @ d[x] @ v
    ph = np.conj(np.swapaxes(p, -1, -2))
    d[y] = (
        y[0] @ (gaps * (p * row + col * ph)
                + _eye_like(y[1]) * (p - ph) * inv / 2.0)
        + (d[x] @ v - y[0] @ p) * inv,
        np.real(np.diagonal(p, 0, -2, -1)),
        np.conj(np.swapaxes(v @ (gaps * (col * p + ph * row))
                            + (np.conj(np.swapaxes(d[x], -1, -2)) @ y[0]
                               - v @ ph) * inv, -1, -2)))


# ---- products ----
# np.prod: d[a] is d[y] times the product of the other reduced elements,
# the product of everything before (left) and after (right) each one along
# the reduced axes merged into the last: exclusive cumulative products.


def _product_of_others(a, axis):
    """For each element of `a`, the product of the others reduced with it
    over `axis`: left times right exclusive products (exact at zeros).
    Plain Python over NumPy: s2sad differentiates it as the user's code."""
    t = np.reshape(np.transpose(a, _moved(a, axis)), _merged(a, axis))
    left = _shift(np.cumprod(t, -1), -1, 1) + _first(t, -1)
    right = np.flip(_shift(np.cumprod(np.flip(t, -1), -1), -1, 1) +
                    _first(t, -1), -1)
    return np.transpose(np.reshape(left * right, _unmerged(a, axis)),
                        _restored(a, axis))


@adjoint(np.prod)
def prod(y, a, axis=None, dtype: float_dtype = None, out: only(None) = None,
         keepdims=False):
    others = _product_of_others(a, axis)
    d[a] = runtime.expand_reduced(d[y], a, axis, keepdims) * others


@tangent(np.prod)
def prod_fwd(y, a, axis=None, dtype: float_dtype = None,
             out: only(None) = None,
             keepdims=False):
    others = _product_of_others(a, axis)
    d[y] = np.sum(d[a] * others, axis=axis, keepdims=keepdims)


# ---- cumulative sums and products (axis None: of the ravel) ----
# y[i] = a[i] * y[i-1] makes d[y] = L(a) (d[a] * before), with `before` the
# exclusive cumulative product (y shifted, 1 first); its adjoint is
# before * L(a)^T d[y].


@adjoint(np.cumsum)
def cumsum(y, a, axis=None, dtype: float_dtype = None, out: only(None) = None):
    along = _scan_axis(axis)
    d[a] = np.reshape(np.flip(np.cumsum(np.flip(d[y], along), along), along),
                      np.shape(a))


@tangent(np.cumsum)
def cumsum_fwd(y, a, axis=None, dtype: float_dtype = None,
               out: only(None) = None):
    d[y] = np.cumsum(d[a], axis=axis)


@adjoint(np.cumprod)
def cumprod(y, a, axis=None, dtype: float_dtype = None,
            out: only(None) = None):
    along = _scan_axis(axis)
    before = _shift(y, along, 1) + _first(y, along)
    d[a] = np.reshape(before * _backward_scan(
        np.reshape(a, np.shape(y)), d[y], along), np.shape(a))


@tangent(np.cumprod)
def cumprod_fwd(y, a, axis=None, dtype: float_dtype = None,
                out: only(None) = None):
    along = _scan_axis(axis)
    before = _shift(y, along, 1) + _first(y, along)
    d[y] = _forward_scan(np.reshape(a, np.shape(y)),
                         np.reshape(d[a], np.shape(y)) * before, along)


# ---- extrema: ties split equally ----


# np.nanmax and np.nanmin: NaN elements are not ties of a number


@adjoint(np.max, np.amax, np.min, np.amin, np.nanmax, np.nanmin,
         domain="distinct")
def extremum(y, a, axis=None, out: only(None) = None, keepdims=False,
             initial=None, where=True):
    d[a] = runtime.expand_reduced(d[y], a, axis, keepdims) * _tie_weights(
        a, y, axis, keepdims, initial=initial, where=where)
    d[initial] = runtime.unbroadcast(d[y] * _initial_weight(
        a, y, axis, keepdims, initial=initial, where=where), initial)


@tangent(np.max, np.amax, np.min, np.amin, np.nanmax, np.nanmin)
def extremum_fwd(y, a, axis=None, out: only(None) = None, keepdims=False,
                 initial=None, where=True):
    d[y] = np.sum(d[a] * _tie_weights(
        a, y, axis, keepdims, initial=initial, where=where), axis=axis,
        keepdims=keepdims) + d[initial] * _initial_weight(
            a, y, axis, keepdims, initial=initial, where=where)


@adjoint(np.ptp, domain="distinct")
def ptp(y, a, axis=None, out: only(None) = None, keepdims=False):
    d[a] = runtime.expand_reduced(d[y], a, axis, keepdims) * (_tie_weights(
        a, np.max(a, axis=axis, keepdims=keepdims), axis, keepdims)
        - _tie_weights(a, np.min(a, axis=axis, keepdims=keepdims), axis,
                       keepdims))


@tangent(np.ptp)
def ptp_fwd(y, a, axis=None, out: only(None) = None, keepdims=False):
    d[y] = np.sum(d[a] * (_tie_weights(
        a, np.max(a, axis=axis, keepdims=keepdims), axis, keepdims)
        - _tie_weights(a, np.min(a, axis=axis, keepdims=keepdims), axis,
                       keepdims)), axis=axis, keepdims=keepdims)


# ---- moments ----
# The mean's own dependence on a drops out: the deviations sum to 0.


@adjoint(np.var)
def var(y, a, axis=None, dtype: float_dtype = None, out: only(None) = None,
        ddof=0, keepdims=False):
    d[a] = runtime.expand_reduced(d[y], a, axis, keepdims) * (
        2.0 * np.conj(a - np.mean(a, axis=axis, keepdims=True))
        / (runtime.reduced_size(a, axis) - ddof))


@tangent(np.var)
def var_fwd(y, a, axis=None, dtype: float_dtype = None, out: only(None) = None,
            ddof=0, keepdims=False):
    d[y] = np.real(np.sum(d[a] * np.conj(
        a - np.mean(a, axis=axis, keepdims=True)), axis=axis,
        keepdims=keepdims)) * (2.0 / (runtime.reduced_size(a, axis) - ddof))


@adjoint(np.std)
def std(y, a, axis=None, dtype: float_dtype = None, out: only(None) = None,
        ddof=0, keepdims=False):
    d[a] = runtime.expand_reduced(d[y] * _safe_reciprocal(y), a, axis,
                                  keepdims) * (
        np.conj(a - np.mean(a, axis=axis, keepdims=True))
        / (runtime.reduced_size(a, axis) - ddof))


@tangent(np.std)
def std_fwd(y, a, axis=None, dtype: float_dtype = None, out: only(None) = None,
            ddof=0, keepdims=False):
    d[y] = np.real(np.sum(d[a] * np.conj(
        a - np.mean(a, axis=axis, keepdims=True)), axis=axis,
        keepdims=keepdims)) * (
        _safe_reciprocal(y) / (runtime.reduced_size(a, axis) - ddof))


@adjoint(np.average, domain="positive")  # weights far from summing to 0
def average(y, a, axis=None, weights=None, returned=False, *,
            keepdims=False):
    w = _weights_for(weights, a, axis)
    total = _single_output(returned) * np.sum(
        runtime.broadcast_like(w, a), axis=axis, keepdims=keepdims)
    spread = runtime.unreduce(d[y] / total, a, axis, keepdims)
    d[a] = runtime.as_kind_of(spread * w, a)
    d[weights] = _weights_back(runtime.unbroadcast(
        spread * (a - runtime.unreduce(y, a, axis, keepdims)), w),
        weights, a, axis)


@tangent(np.average)
def average_fwd(y, a, axis=None, weights=None, returned=False,
                *, keepdims=False):
    w = _weights_for(weights, a, axis)
    total = _single_output(returned) * np.sum(
        runtime.broadcast_like(w, a), axis=axis, keepdims=keepdims)
    d[y] = np.sum(d[a] * w, axis=axis, keepdims=keepdims) / total + np.sum(
        _weights_for(d[weights], a, axis) * (
            a - runtime.unreduce(y, a, axis, keepdims)),
        axis=axis, keepdims=keepdims) / total


# ---- diagonals ----


@adjoint(np.trace)
def trace(y, a, offset=0, axis1=0, axis2=1, dtype: float_dtype = None,
          out: only(None) = None):
    d[a] = np.moveaxis(np.expand_dims(d[y], (-2, -1)) * _diagonal_mask(
        a, offset, axis1, axis2), (-2, -1), (axis1, axis2))


@tangent(np.trace)
def trace_fwd(y, a, offset=0, axis1=0, axis2=1, dtype: float_dtype = None,
              out: only(None) = None):
    d[y] = np.trace(d[a], offset, axis1, axis2)


# ---- norms ----
# dy/dx is x / y for the 2-norm and the Frobenius norm (0 where y is 0);
# U diag(w) Vt for the norms of the singular values (w from
# `_singular_weights`); sign(x) (|x| / y)^(p-1) for the other vector
# p-norms; the others are piecewise linear, sign(x) times constant weights
# (`_norm_kinks`). Only the kind of norm called for is
# computed. For complex x the gradient G is the conjugate of these (with
# x / |x| for sign(x): runtime.sign gives conj(x) / |x|), dy = Re(sum(G dx)):
# the adjoint is G times d[y], and the tangent is real.


@adjoint(np.linalg.norm, domain="nonzero")  # away from the kinks of abs
def norm(y, x, ord=None, axis=None, keepdims=False):
    spectral = _is_norm(x, ord, axis, "spectral")
    usv = _svd(_matrix_view(x, x, ord, axis)) if spectral else None
    d[x] = runtime.expand_reduced(d[y] * _safe_reciprocal(y), x, axis,
                                  keepdims) * np.conj(x) if _is_norm(
        x, ord, axis, "euclidean") else runtime.expand_reduced(
        d[y], x, axis, keepdims) * (np.conj(_matrix_view_back(
            usv[0] * np.expand_dims(_singular_weights(usv[1], ord), -2)
            @ usv[2], x, ord, axis)) if spectral
        else runtime.sign(x) * ((np.abs(x) * runtime.expand_reduced(
            _safe_reciprocal(y), x, axis, keepdims)) ** (ord - 1) if _is_norm(
                x, ord, axis, "lp") else _norm_kinks(
                    x, y, ord, axis, keepdims)))


@tangent(np.linalg.norm)
def norm_fwd(y, x, ord=None, axis=None, keepdims=False):
    spectral = _is_norm(x, ord, axis, "spectral")
    usv = _svd(_matrix_view(x, x, ord, axis)) if spectral else None
    d[y] = np.real(np.sum(d[x] * (
        np.conj(x) * runtime.expand_reduced(_safe_reciprocal(y), x, axis,
                                            keepdims)
        if _is_norm(x, ord, axis, "euclidean") else
        np.conj(_matrix_view_back(usv[0] * np.expand_dims(_singular_weights(
            usv[1], ord), -2) @ usv[2], x, ord, axis))
        if spectral else
        runtime.sign(x) * ((np.abs(x) * runtime.expand_reduced(
            _safe_reciprocal(y), x, axis, keepdims)) ** (ord - 1) if _is_norm(
                x, ord, axis, "lp") else _norm_kinks(
                    x, y, ord, axis, keepdims))), axis=axis,
        keepdims=keepdims))


# ---- NaN-ignoring reductions: the reductions over the numbers ----


def _numbers(a, where=True):
    """The elements of `a` a NaN-ignoring reduction reads: not NaN, and
    selected by `where`."""
    return ~np.isnan(a) & where


non_differentiable(_numbers)


@adjoint(np.nansum)
def nansum(y, a, axis=None, dtype: float_dtype = None, out: only(None) = None,
           keepdims=False, initial=0.0, where=True):
    numbers = _numbers(a, where=where)
    d[a] = runtime.unreduce(d[y], a, axis, keepdims, where=numbers)
    d[initial] = runtime.unbroadcast(d[y], initial)


@tangent(np.nansum)
def nansum_fwd(y, a, axis=None, dtype: float_dtype = None,
               out: only(None) = None, keepdims=False, initial=0.0,
               where=True):
    numbers = _numbers(a, where=where)
    d[y] = np.sum(d[a], axis=axis, keepdims=keepdims, where=numbers) + \
        runtime.broadcast_like(d[initial], y)


@adjoint(np.nanmean)
def nanmean(y, a, axis=None, dtype: float_dtype = None,
            out: only(None) = None, keepdims=False, *, where=True):
    numbers = _numbers(a, where=where)
    d[a] = runtime.unreduce(d[y] / runtime.reduced_size(
        a, axis, keepdims=keepdims, where=numbers), a, axis,
        keepdims, where=numbers)


@tangent(np.nanmean)
def nanmean_fwd(y, a, axis=None, dtype: float_dtype = None,
                out: only(None) = None, keepdims=False, *, where=True):
    numbers = _numbers(a, where=where)
    d[y] = np.mean(d[a], axis=axis, keepdims=keepdims, where=numbers)


# np.nanprod and np.nancumprod: np.prod's and np.cumprod's derivatives of
# `a` with NaN read as 1, zero at NaN


@adjoint(np.nanprod)
def nanprod(y, a, axis=None, dtype: float_dtype = None,
            out: only(None) = None, keepdims=False):
    others = _product_of_others(np.where(np.isnan(a), 1.0, a), axis)
    d[a] = np.where(np.isnan(a), 0.0, runtime.expand_reduced(
        d[y], a, axis, keepdims) * others)


@tangent(np.nanprod)
def nanprod_fwd(y, a, axis=None, dtype: float_dtype = None,
                out: only(None) = None, keepdims=False):
    others = _product_of_others(np.where(np.isnan(a), 1.0, a), axis)
    d[y] = np.sum(np.where(np.isnan(a), 0.0, d[a]) * others, axis=axis,
                  keepdims=keepdims)


@adjoint(np.nancumsum)
def nancumsum(y, a, axis=None, dtype: float_dtype = None,
              out: only(None) = None):
    along = _scan_axis(axis)
    d[a] = np.where(np.isnan(a), 0.0, np.reshape(np.flip(np.cumsum(
        np.flip(d[y], along), along), along), np.shape(a)))


@tangent(np.nancumsum)
def nancumsum_fwd(y, a, axis=None, dtype: float_dtype = None,
                  out: only(None) = None):
    d[y] = np.cumsum(np.where(np.isnan(a), 0.0, d[a]), axis=axis)


@adjoint(np.nancumprod)
def nancumprod(y, a, axis=None, dtype: float_dtype = None,
               out: only(None) = None):
    along = _scan_axis(axis)
    before = _shift(y, along, 1) + _first(y, along)
    d[a] = np.where(np.isnan(a), 0.0, np.reshape(before * _backward_scan(
        np.reshape(np.where(np.isnan(a), 1.0, a), np.shape(y)), d[y], along),
        np.shape(a)))


@tangent(np.nancumprod)
def nancumprod_fwd(y, a, axis=None, dtype: float_dtype = None,
                   out: only(None) = None):
    along = _scan_axis(axis)
    before = _shift(y, along, 1) + _first(y, along)
    d[y] = _forward_scan(
        np.reshape(np.where(np.isnan(a), 1.0, a), np.shape(y)),
        np.reshape(np.where(np.isnan(a), 0.0, d[a]), np.shape(y)) * before,
        along)


# np.nanvar and np.nanstd: the deviations from the mean of the numbers,
# zero at NaN, over their count less ddof (`_nan_spread`).


def _nan_spread(a, axis, ddof, where):
    """d(np.nanvar(a))/da / 2: conj(a - mean) / (count - ddof) over the
    numbers of `a` (NaN and `where`-excluded elements: 0). Plain Python over
    NumPy: s2sad differentiates it as the user's code."""
    numbers = _numbers(a, where=where)
    count = runtime.reduced_size(a, axis, keepdims=True, where=numbers)
    deviations = np.where(numbers, a - np.mean(
        a, axis=axis, keepdims=True, where=numbers), 0.0)
    return np.conj(deviations) / (count - ddof)


@adjoint(np.nanvar)
def nanvar(y, a, axis=None, dtype: float_dtype = None,
           out: only(None) = None, ddof=0, keepdims=False, *, where=True):
    spread = _nan_spread(a, axis, ddof, where)
    d[a] = runtime.expand_reduced(d[y], a, axis, keepdims) * (2.0 * spread)


@tangent(np.nanvar)
def nanvar_fwd(y, a, axis=None, dtype: float_dtype = None,
               out: only(None) = None, ddof=0, keepdims: via_output = False,
               *, where=True):
    spread = _nan_spread(a, axis, ddof, where)
    d[y] = np.reshape(np.real(np.sum(d[a] * (2.0 * spread), axis=axis,
                                     keepdims=True)), np.shape(y))


@adjoint(np.nanstd)
def nanstd(y, a, axis=None, dtype: float_dtype = None,
           out: only(None) = None, ddof=0, keepdims=False, *, where=True):
    spread = _nan_spread(a, axis, ddof, where)
    d[a] = runtime.expand_reduced(d[y] * _safe_reciprocal(y), a, axis,
                                  keepdims) * spread


@tangent(np.nanstd)
def nanstd_fwd(y, a, axis=None, dtype: float_dtype = None,
               out: only(None) = None, ddof=0, keepdims: via_output = False,
               *, where=True):
    spread = _nan_spread(a, axis, ddof, where)
    d[y] = np.reshape(np.real(np.sum(d[a] * spread, axis=axis,
                                     keepdims=True)), np.shape(y)) * \
        _safe_reciprocal(y)


# ---- order statistics: np.quantile, np.percentile, np.median and their
# NaN-ignoring twins ----
# Every method of np.quantile reads two neighbouring order statistics,
# y = (1 - g) v[j] + g v[j + 1], with j and g depending only on q and the
# number of elements: np.quantile of the ranks 0..n-1 gives j + g. So y is
# sum(W * a) with W constant between ties (`_order_weights`); q is held
# constant (a differentiated q is refused). A NaN result (np.quantile of
# data holding NaN, or np.nanquantile of NaN only) sends its gradient to the
# NaN elements, as np.max does.


def _order_weights(a, q, y, axis=None, method="linear", keepdims=False):
    """W shaped np.shape(q) + np.shape(a): the quantile y of `a` over `axis`
    is np.sum(W * a) over a's reduced axes (after q's)."""
    a = runtime.as_array(a)
    if q.__class__ is np.ndarray and runtime.foreign(a):
        q = q.tolist()  # constants a's library takes (not a host array)
    t = np.reshape(np.transpose(a, _moved(a, axis)), _merged(a, axis))
    n = t.shape[-1]
    order = np.argsort(t, axis=-1)  # NaN last
    ranks = np.where(np.isnan(np.take_along_axis(t, order, -1)), np.nan,
                     np.arange(n, dtype=float, like=runtime.library(t)))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices
        position = np.nanquantile(ranks, q, axis=-1, method=method)
    low = np.floor(position)[..., None]
    high = (position - low[..., 0])[..., None]
    k = np.arange(n, like=runtime.library(t))
    sorted_weights = np.where(k == low, 1.0 - high, 0.0) + np.where(
        k == low + 1, high, 0.0)
    weights = np.take_along_axis(sorted_weights, np.broadcast_to(
        np.argsort(order, axis=-1), sorted_weights.shape), -1)
    lead = np.ndim(q)
    weights = np.transpose(
        np.reshape(weights, np.shape(q) + _unmerged(a, axis)),
        tuple(range(lead)) + tuple(lead + i for i in _restored(a, axis)))
    nan = np.isnan(a)
    result_nan = np.isnan(runtime.expand_reduced(
        runtime.as_array(y), weights, _after(a, q, axis), keepdims))
    return np.where(result_nan, nan / np.maximum(
        np.sum(nan, axis=_reduced(a, axis), keepdims=True), 1), weights)


def _after(a, q, axis):
    """a's reduced axes in arrays shaped np.shape(q) + np.shape(a)."""
    return tuple(np.ndim(q) + i for i in _reduced(a, axis))


def _leading(q):
    """The axes np.shape(q) puts first in a quantile's weights."""
    return tuple(range(np.ndim(q)))


non_differentiable(_order_weights, _after, _leading)


@adjoint(np.quantile, np.nanquantile)
def quantile(y, a, q, axis=None, out: only(None) = None,
             overwrite_input: via_output = False, method="linear",
             keepdims=False, *, weights: only(None) = None,
             interpolation: only(None) = None):
    w = _order_weights(a, q, y, axis, method, keepdims)
    d[a] = np.sum(runtime.expand_reduced(d[y], w, _after(a, q, axis),
                                         keepdims) * w, axis=_leading(q))


@tangent(np.quantile, np.nanquantile)
def quantile_fwd(y, a, q, axis=None, out: only(None) = None,
                 overwrite_input: via_output = False, method="linear",
                 keepdims=False, *, weights: only(None) = None,
                 interpolation: only(None) = None):
    d[y] = np.sum(d[a] * _order_weights(a, q, y, axis, method, keepdims),
                  axis=_after(a, q, axis), keepdims=keepdims)


@adjoint(np.percentile, np.nanpercentile)
def percentile(y, a, q, axis=None, out: only(None) = None,
               overwrite_input: via_output = False, method="linear",
               keepdims=False, *, weights: only(None) = None,
               interpolation: only(None) = None):
    w = _order_weights(a, np.true_divide(q, 100.0), y, axis, method,
                       keepdims)
    d[a] = np.sum(runtime.expand_reduced(d[y], w, _after(a, q, axis),
                                         keepdims) * w, axis=_leading(q))


@tangent(np.percentile, np.nanpercentile)
def percentile_fwd(y, a, q, axis=None, out: only(None) = None,
                   overwrite_input: via_output = False, method="linear",
                   keepdims=False, *, weights: only(None) = None,
                   interpolation: only(None) = None):
    d[y] = np.sum(d[a] * _order_weights(
        a, np.true_divide(q, 100.0), y, axis, method, keepdims),
        axis=_after(a, q, axis), keepdims=keepdims)


@adjoint(np.median, np.nanmedian)
def median(y, a, axis=None, out: only(None) = None,
           overwrite_input: via_output = False, keepdims=False):
    d[a] = runtime.expand_reduced(d[y], a, axis, keepdims) * _order_weights(
        a, 0.5, y, axis, "linear", keepdims)


@tangent(np.median, np.nanmedian)
def median_fwd(y, a, axis=None, out: only(None) = None,
               overwrite_input: via_output = False, keepdims=False):
    d[y] = np.sum(d[a] * _order_weights(a, 0.5, y, axis, "linear", keepdims),
                  axis=axis, keepdims=keepdims)

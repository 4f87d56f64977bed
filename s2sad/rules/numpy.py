"""Rules for NumPy functions.

Conventions at kinks: `np.abs` has derivative 0 at 0 (`np.sign`);
`np.maximum`/`np.minimum` split the gradient equally between tied inputs;
`np.where` sends the gradient to the branch it selected; `np.clip` passes
the gradient to x inside the bounds, the bounds included, and to the bound
x lies beyond.
"""

import functools
import operator

import numpy as np

from s2sad import errors, runtime
from s2sad.rules.registry import (
    adjoint, d, elementwise, float_dtype, non_differentiable, only,
    takes_sequences, tangent, via_output)

# ---- elementwise: trigonometric ----


@elementwise(np.sin)
def sin(y, x):
    """Total: no special points."""
    return np.cos(x)


@elementwise(np.cos)
def cos(y, x):
    """Total: no special points."""
    return -np.sin(x)


@elementwise(np.tan)
def tan(y, x):
    """1 + tan(x)**2: inf where tan(x) overflows."""
    return 1.0 + y * y


@elementwise(np.arcsin, domain="unit")
def arcsin(y, x):
    """inf at x = +-1 (1 / sqrt(0)), as JAX; nan beyond."""
    return 1.0 / np.sqrt(1.0 - x * x)


@elementwise(np.arccos, domain="unit")
def arccos(y, x):
    """-inf at x = +-1, as JAX; nan beyond."""
    return -1.0 / np.sqrt(1.0 - x * x)


@elementwise(np.arctan)
def arctan(y, x):
    """Total: no special points."""
    return 1.0 / (1.0 + x * x)


@elementwise(np.arctan2, domain="nonzero")
def arctan2(z, y, x):
    """nan at (0, 0) (0 / 0), as JAX."""
    return x / (x * x + y * y), -y / (x * x + y * y)


@elementwise(np.deg2rad, np.radians)
def deg2rad(y, x):
    return np.pi / 180.0


@elementwise(np.rad2deg, np.degrees)
def rad2deg(y, x):
    return 180.0 / np.pi


@elementwise(np.hypot, domain="nonzero")
def hypot(z, x, y):
    """nan at (0, 0) (0 / 0); JAX differentiates its own formula there."""
    return x / z, y / z


@elementwise(np.sinc, domain="nonzero")
def sinc(y, x):
    """Special points: 0 at x = 0 (sinc is smooth and even there)."""
    return np.where(x == 0, 0.0,
                    (np.cos(np.pi * x) - y) / np.where(x == 0, 1.0, x))


# ---- elementwise: hyperbolic ----


@elementwise(np.tanh)
def tanh(y, x):
    return 1.0 - y * y


@elementwise(np.sinh)
def sinh(y, x):
    return np.cosh(x)


@elementwise(np.arcsinh)
def arcsinh(y, x):
    return 1.0 / np.sqrt(x * x + 1.0)


@elementwise(np.arccosh, domain="above_one")
def arccosh(y, x):
    return 1.0 / np.sqrt(x * x - 1.0)


@elementwise(np.arctanh, domain="unit")
def arctanh(y, x):
    return 1.0 / (1.0 - x * x)


@elementwise(np.cosh)
def cosh(y, x):
    return np.sinh(x)


# ---- elementwise: exponential, logarithm, powers ----


@elementwise(np.exp)
def exp(y, x):
    return y


@elementwise(np.expm1)
def expm1(y, x):
    return y + 1.0


@elementwise(np.exp2)
def exp2(y, x):
    return y * np.log(2.0)


@elementwise(np.log, domain="positive")
def log(y, x):
    """inf at x = 0 (1 / 0), as JAX; for x < 0 the value is nan and the
    derivative 1 / x."""
    return 1.0 / x


@elementwise(np.log1p, domain="positive")
def log1p(y, x):
    """inf at x = -1, as JAX."""
    return 1.0 / (1.0 + x)


@elementwise(np.log2, domain="positive")
def log2(y, x):
    """inf at x = 0, as JAX."""
    return 1.0 / (x * np.log(2.0))


@elementwise(np.log10, domain="positive")
def log10(y, x):
    """inf at x = 0, as JAX."""
    return 1.0 / (x * np.log(10.0))


@elementwise(np.logaddexp)
def logaddexp(z, x, y):
    """The logistic function of x - y and of y - x, from the operands alone
    (the value, often a loss's terms, need not be kept for them), and
    exact where x and y are large and close, where x - z would cancel; 1
    and 0 where one operand is inf and the other finite, nan at (inf, inf)
    and (-inf, -inf) (inf - inf)."""
    return runtime.logistic(x, y), runtime.logistic(y, x)


@elementwise(np.logaddexp2)
def logaddexp2(z, x, y):
    """As logaddexp, in base 2."""
    return runtime.logistic2(x, y), runtime.logistic2(y, x)


@elementwise(np.sqrt, domain="positive")
def sqrt(y, x):
    """inf at x = 0 (0.5 / 0), as JAX; nan for x < 0."""
    return 0.5 / y


@elementwise(np.square)
def square(y, x):
    return 2.0 * x


@elementwise(np.cbrt, domain="nonzero")
def cbrt(y, x):
    """inf at x = 0 (1 / (3 * 0)), as JAX."""
    return 1.0 / (3.0 * y * y)


@elementwise(np.reciprocal, domain="nonzero")
def reciprocal(y, x):
    """-inf at x = 0 (-inf * inf), as JAX."""
    return -y * y


@elementwise(np.float_power, domain="positive")
def float_power(z, x, y):
    """Special points as `**` (rules/operators.py): d/dx is 0 where
    y == 0; d/dy takes log 0 as 0."""
    # (the exponent is y - 1, 1 where y is 0, as np.where(y == 0, 1.0,
    # y - 1.0) but as fast, and a number for a number y: np.where would
    # make it a 0-d NumPy array, which CuPy refuses among its arrays)
    return (y * np.float_power(x, y - 1.0 + 2.0 * (y == 0)),
            np.log(np.where(x == 0, 1.0, x)) * z)


# ---- elementwise: piecewise ----


@elementwise(np.abs, np.absolute, np.fabs, domain="nonzero")
def abs(y, x):
    """0 at x = 0 (np.sign); JAX gives 1 there, s2sad the midpoint of the
    subgradient, as autograd."""
    return runtime.sign(x)  # conj(x) / |x| for complex x


@tangent(np.abs, np.absolute)
def abs_fwd(y, x):
    # d|z| = Re(conj(z) dz) / |z|: the partial alone would be complex
    d[y] = np.real(d[x] * runtime.sign(x))


@elementwise(np.copysign, domain="nonzero")
def copysign(z, x, y):
    # |x| with y's sign: constant in y away from 0, 0 in x at 0 as np.abs
    return runtime.sign(x) * np.copysign(1.0, y), None


@elementwise(np.maximum, np.fmax, domain="distinct")
def maximum(z, x, y):
    """Ties split the gradient equally (1/2 each), as JAX."""
    return runtime.balanced_max_partial(x, y), runtime.balanced_max_partial(y, x)


@elementwise(np.minimum, np.fmin, domain="distinct")
def minimum(z, x, y):
    """Ties split the gradient equally (1/2 each), as JAX."""
    return runtime.balanced_max_partial(y, x), runtime.balanced_max_partial(x, y)


@elementwise(np.clip, domain="distinct")
def clip(y, x, a_min, a_max):
    return (runtime.inside(x, a_min, a_max), runtime.clip_low(x, a_min, a_max),
            runtime.clip_high(x, a_min, a_max))


@adjoint(np.where, broadcasts=True, constants=("condition",))
def where(y, condition, x, z):
    d[x] = np.where(condition, d[y], 0.0)
    d[z] = np.where(condition, 0.0, d[y])


@tangent(np.where)
def where_fwd(y, condition, x, z):
    d[y] = np.where(condition, d[x], 0.0) + np.where(condition, 0.0, d[z])


def _select_masks(condlist, choicelist, default, y):
    """Where np.select(condlist, choicelist, default) took each choice from
    (the first true condition), then where it took `default`: one boolean
    array shaped like y per choice, and the last for default."""
    taken = runtime.zeros(np.shape(y), bool, runtime.library(y, condlist))
    masks = []
    for condition in condlist:
        mask = np.broadcast_to(condition, np.shape(y)) & ~taken
        masks.append(mask)
        taken = taken | mask
    return masks + [~taken]


def _select_adjoint(g, masks, choicelist):
    """The adjoint of the choices of np.select: g where each was taken, cut
    back to its shape."""
    return runtime.sequence([
        runtime.unbroadcast(np.where(mask, g, 0.0), choice)
        for mask, choice in zip(masks, choicelist)])


def _select_apply(tangents, masks, choicelist):
    """The transpose of `_select_adjoint`: each choice's tangent where it
    was taken."""
    terms = [np.where(mask, tangent, 0.0) for mask, tangent in zip(
        masks, runtime.tree_like(tangents, choicelist))]
    # (summed one by one, not np.sum of the list: that would make the list
    # a NumPy array, whatever the library of the terms; the masks do not
    # overlap, so the order does not matter)
    return functools.reduce(operator.add, terms)


non_differentiable(_select_masks)
takes_sequences(np.select, _select_adjoint, _select_apply)


@adjoint(np.select, constants=("condlist",))
def select(y, condlist, choicelist, default=0):
    masks = _select_masks(condlist, choicelist, default, y)
    d[choicelist] = _select_adjoint(d[y], masks, choicelist)
    d[default] = runtime.unbroadcast(np.where(masks[-1], d[y], 0.0), default)


@tangent(np.select)
def select_fwd(y, condlist, choicelist, default=0):
    masks = _select_masks(condlist, choicelist, default, y)
    d[y] = _select_apply(d[choicelist], masks, choicelist) + np.where(
        masks[-1], d[default], 0.0)


@adjoint(_select_adjoint, constants=("masks", "choicelist"))
def select_adjoint(y, g, masks, choicelist: via_output):
    d[g] = _select_apply(d[y], masks, choicelist)


@tangent(_select_adjoint)
def select_adjoint_fwd(y, g, masks, choicelist):
    d[y] = _select_adjoint(d[g], masks, choicelist)


@adjoint(_select_apply, constants=("masks", "choicelist"))
def select_apply(y, tangents, masks, choicelist):
    d[tangents] = _select_adjoint(d[y], masks, choicelist)


@tangent(_select_apply)
def select_apply_fwd(y, tangents, masks, choicelist):
    d[y] = _select_apply(d[tangents], masks, choicelist)


# ---- complex parts ----
# Complex adjoints follow JAX's convention: the adjoint c of a complex z is
# such that dL = Re(c dz), so a holomorphic function's adjoint needs no
# conjugate (c = ybar f'(z)) and grad of a real function of z is
# dL/dRe(z) - i dL/dIm(z). A real value's adjoint is real: the real part is
# kept where a real value enters complex arithmetic (runtime.unbroadcast).


@adjoint(np.real, makes_complex=True)
def real(y, val):
    d[val] = runtime.as_kind_of(np.real(d[y]), val)


@tangent(np.real, directions=True)
def real_fwd(y, val):
    d[y] = np.real(d[val])


@adjoint(np.imag, makes_complex=True)
def imag(y, val):
    d[val] = -1j * np.real(d[y])


@tangent(np.imag, directions=True)
def imag_fwd(y, val):
    d[y] = np.imag(d[val])


@adjoint(np.conj, np.conjugate, makes_complex=True)
def conj(y, x):
    d[x] = np.conj(d[y])


@tangent(np.conj, np.conjugate, directions=True)
def conj_fwd(y, x):
    d[y] = np.conj(d[x])


@adjoint(np.angle, makes_complex=True, domain="nonzero")
def angle(y, z, deg=False):
    d[z] = -1j * np.real(d[y]) * _degrees(deg) / z


@tangent(np.angle)
def angle_fwd(y, z, deg=False):
    d[y] = np.imag(d[z] / z) * _degrees(deg)


@adjoint(np.real_if_close, makes_complex=True)
def real_if_close(y, a, tol: via_output = 100):
    d[a] = d[y]


@tangent(np.real_if_close)
def real_if_close_fwd(y, a, tol: via_output = 100):
    d[y] = runtime.unbroadcast(d[a], y)  # real where the result is


def _degrees(deg):
    return 180.0 / np.pi if deg else 1.0


# ---- reductions ----


# `where=` masks the elements reduced, `initial=` joins the sum


@adjoint(np.sum)
def sum(y, x, axis=None, dtype: float_dtype = None, out: only(None) = None,
        keepdims=False, initial=0.0, where=True):
    d[x] = runtime.unreduce(d[y], x, axis, keepdims, where=where)
    d[initial] = runtime.unbroadcast(d[y], initial)


@tangent(np.sum)
def sum_fwd(y, x, axis=None, dtype: float_dtype = None,
            out: only(None) = None, keepdims=False, initial=0.0, where=True):
    d[y] = np.sum(d[x], axis=axis, keepdims=keepdims, where=where) + \
        runtime.broadcast_like(d[initial], y)


@adjoint(np.mean)
def mean(y, x, axis=None, dtype: float_dtype = None, out: only(None) = None,
         keepdims=False, *, where=True):
    d[x] = runtime.unreduce(d[y] / runtime.reduced_size(
        x, axis, keepdims=keepdims, where=where), x, axis, keepdims,
        where=where)


@tangent(np.mean)
def mean_fwd(y, x, axis=None, dtype: float_dtype = None,
             out: only(None) = None, keepdims=False, *, where=True):
    d[y] = np.mean(d[x], axis=axis, keepdims=keepdims, where=where)


# ---- products ----


@adjoint(np.dot)
def dot(z, x, y):
    d[x] = runtime.dot_adjoint_a(d[z], x, y)
    d[y] = runtime.dot_adjoint_b(d[z], x, y)


@tangent(np.dot)
def dot_fwd(z, x, y):
    d[z] = np.dot(d[x], y) + np.dot(x, d[y])


# ---- construction: differentiable in the values filled in ----


@elementwise(np.nan_to_num)
def nan_to_num(y, x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Special points: x's partial is 1 where it is finite, 0 elsewhere;
    complex values that are not finite are refused (their real and
    imaginary parts are replaced separately)."""
    return (runtime.nan_to_num_partial(x, np.isfinite), None,
            runtime.nan_to_num_partial(x, np.isnan),
            runtime.nan_to_num_partial(x, np.isposinf),
            runtime.nan_to_num_partial(x, np.isneginf))


@adjoint(np.full)
def full(y, shape: via_output, fill_value, dtype: float_dtype = None,
         order: via_output = "C", *, like: only(None) = None):
    d[fill_value] = runtime.unbroadcast(d[y], fill_value)


@tangent(np.full)
def full_fwd(y, shape: via_output, fill_value, dtype: float_dtype = None,
             order: via_output = "C", *, like: only(None) = None):
    d[y] = runtime.broadcast_like(d[fill_value], y)


@adjoint(np.full_like, constants=("a",))
def full_like(y, a: via_output, fill_value, dtype: float_dtype = None,
              order: via_output = "K", subok: via_output = True,
              shape: via_output = None):
    d[fill_value] = runtime.unbroadcast(d[y], fill_value)


@tangent(np.full_like)
def full_like_fwd(y, a: via_output, fill_value, dtype: float_dtype = None,
                  order: via_output = "K", subok: via_output = True,
                  shape: via_output = None):
    d[y] = runtime.broadcast_like(d[fill_value], y)


@adjoint(np.linspace)
def linspace(y, start, stop, num=50, endpoint=True, retstep=False,
             dtype: float_dtype = None, axis=0):
    t = _fractions(y, num, endpoint, retstep, axis)
    d[start] = runtime.unbroadcast(np.sum(d[y] * (1.0 - t), axis), start)
    d[stop] = runtime.unbroadcast(np.sum(d[y] * t, axis), stop)


@tangent(np.linspace)
def linspace_fwd(y, start, stop, num=50, endpoint=True, retstep=False,
                 dtype: float_dtype = None, axis=0):
    t = _fractions(y, num, endpoint, retstep, axis)
    ends = _ends(y, axis)
    d[y] = np.expand_dims(runtime.broadcast_like(d[start], ends), axis) * (
        1.0 - t) + np.expand_dims(runtime.broadcast_like(d[stop], ends),
                                  axis) * t


# np.arange(start, stop, step) makes start + k * step, k = 0, 1, ...: its
# derivative in start is 1 and in step k (its length, which stop and all
# three decide, is piecewise constant). Given one number, np.arange(stop)
# makes 0, 1, ...: the number bound to `start` is then the stop.
@adjoint(np.arange, constants=("stop",))
def arange(y, start, stop=None, step=None, *, dtype: float_dtype = None):
    d[start] = runtime.unbroadcast(np.sum(d[y]) * _stop_given(stop), start)
    d[step] = runtime.unbroadcast(np.sum(d[y] * _counts(y)), step)


@tangent(np.arange)
def arange_fwd(y, start, stop=None, step=None, *,
               dtype: float_dtype = None):
    d[y] = runtime.broadcast_like(d[start] * _stop_given(stop), y) + \
        d[step] * _counts(y)


# np.heaviside(x1, x2) is 0 or 1 away from x1 == 0, and x2 there
@adjoint(np.heaviside, constants=("x1",))
def heaviside(y, x1, x2):
    d[x2] = runtime.unbroadcast(np.where(x1 == 0, d[y], 0.0), x2)


@tangent(np.heaviside)
def heaviside_fwd(y, x1, x2):
    d[y] = np.where(x1 == 0, runtime.broadcast_like(d[x2], y), 0.0)


def _stop_given(stop):
    """1.0 when np.arange was given its start (and stop), 0.0 when only
    its stop (bound to `start`)."""
    return 0.0 if stop is None else 1.0


def _counts(y):
    """0.0, 1.0, ...: how many steps from np.arange's start each item of
    its result `y` lies."""
    return np.arange(np.size(y), dtype=float, like=runtime.library(y))


def _ends(y, axis):
    """An array shaped like np.linspace's start and stop, broadcast."""
    shape = np.shape(y)
    axis = axis % len(shape)
    return np.empty(shape[:axis] + shape[axis + 1:],
                    like=runtime.library(y))


def _fractions(y, num, endpoint, retstep, axis):
    """How far along from start to stop each sample of np.linspace lies,
    shaped to broadcast along `axis` of its result."""
    if retstep:
        raise errors.S2SADError("np.linspace with retstep=True is not "
                                "differentiable yet; compute the step as "
                                "(stop - start) / (num - 1)")
    t = runtime.array_like(np.linspace(0.0, 1.0, num, endpoint), y)
    shape = [1] * np.ndim(y)
    shape[axis] = num
    return np.reshape(t, shape)


# ---- convolution, interpolation, polynomials, integration ----
# np.convolve is bilinear: its adjoint pads d[y] to the full convolution
# and convolves it with the other input reversed ('valid'); np.correlate
# is np.convolve(a, conj(v[::-1])). np.interp differentiates x (the slope
# of its segment; 0 beyond xp's ends) and fp; xp, left and right are held
# constant (refused when differentiated), and period is refused.
# np.polyval differentiates p and x; np.trapezoid y, x and dx.


def _full_widths(a, v, mode, flipped=False):
    """Pad widths taking np.convolve(a, v, mode)'s output to the full one
    (flipped: the window np.correlate takes when v is the longer)."""
    n, m = len(a), len(v)
    short, long = min(n, m), max(n, m)
    if mode == "full":
        return (0, 0)
    start, length = ((short - 1) // 2, long) if mode == "same" else (
        short - 1, long - short + 1)
    widths = (start, n + m - 1 - start - length)
    return widths[::-1] if flipped and m > n and mode == "same" else widths


@adjoint(np.convolve)
def convolve(y, a, v, mode="full"):
    d[a] = np.convolve(np.pad(d[y], _full_widths(a, v, mode)), np.flip(v),
                       "valid")
    d[v] = np.convolve(np.pad(d[y], _full_widths(a, v, mode)), np.flip(a),
                       "valid")


@tangent(np.convolve)
def convolve_fwd(y, a, v, mode="full"):
    d[y] = np.convolve(d[a], v, mode) + np.convolve(a, d[v], mode)


@adjoint(np.correlate)
def correlate(y, a, v, mode="valid"):
    d[a] = np.convolve(np.pad(d[y], _full_widths(a, v, mode, True)),
                       np.conj(v), "valid")
    d[v] = np.conj(np.flip(np.convolve(np.pad(
        d[y], _full_widths(a, v, mode, True)), np.flip(a), "valid")))


@tangent(np.correlate)
def correlate_fwd(y, a, v, mode="valid"):
    d[y] = np.correlate(d[a], v, mode) + np.correlate(a, d[v], mode)


def _interp_segments(x, xp, left=None, right=None):
    """For np.interp(x, xp, fp, left, right): per x, the indices (lo, hi)
    into xp of its segment, 1 / (xp[hi] - xp[lo]) inside xp's range (0
    beyond it), and the constant weights of fp[lo] and fp[hi] (beyond the
    ends: 1 on fp's end unless left or right replaces it)."""
    xp = runtime.as_array(xp)
    x = runtime.as_array(x)
    n = len(xp)
    hi = np.clip(np.searchsorted(xp, x, side="right"), 1, n - 1)
    lo = hi - 1
    below, above = x < xp[0], x > xp[-1]
    inside = ~below & ~above
    inverse = np.where(inside, 1.0 / np.where(
        inside, xp[hi] - xp[lo], 1.0), 0.0)
    lo = np.where(below, 0, lo)
    hi = np.where(above, n - 1, hi)
    at_lo = 1.0 * (inside | below & (left is None))
    at_hi = 1.0 * (above & (right is None))
    return lo, hi, inverse, at_lo, at_hi


@adjoint(np.interp)
def interp(y, x, xp, fp, left=None, right=None, period: only(None) = None):
    s = _interp_segments(x, xp, left, right)
    t = (x - np.take(xp, s[0])) * s[2]
    d[x] = runtime.as_kind_of(d[y] * (np.take(fp, s[1]) - np.take(
        fp, s[0])) * s[2], x)
    d[fp] = runtime.getitem_adjoint(d[y] * (s[3] - t), runtime.as_array(fp),
                                    s[0]) + runtime.getitem_adjoint(
        d[y] * (s[4] + t), runtime.as_array(fp), s[1])


@tangent(np.interp)
def interp_fwd(y, x, xp, fp, left=None, right=None,
               period: only(None) = None):
    s = _interp_segments(x, xp, left, right)
    t = (x - np.take(xp, s[0])) * s[2]
    d[y] = d[x] * (np.take(fp, s[1]) - np.take(fp, s[0])) * s[2] + \
        np.take(d[fp], s[0]) * (s[3] - t) + np.take(d[fp], s[1]) * (s[4] + t)


def _powers(p, x=None):
    """The powers of x np.polyval(p, x) multiplies p's coefficients by."""
    return np.arange(len(p) - 1, -1, -1, like=runtime.library(p, x))


@adjoint(np.polyval)
def polyval(y, p, x):
    d[p] = runtime.unbroadcast(np.expand_dims(d[y], -1) * np.power(
        np.expand_dims(runtime.array_like(x, d[y]), -1), _powers(p, x)),
        runtime.as_array(p))
    d[x] = runtime.as_kind_of(d[y] * np.polyval(
        runtime.as_array(p)[:-1] * _powers(p, x)[:-1], x), x)


@tangent(np.polyval)
def polyval_fwd(y, p, x):
    d[y] = np.polyval(d[p], x) + d[x] * np.polyval(
        runtime.as_array(p)[:-1] * _powers(p, x)[:-1], x)


def _trapezoid_weights(y, axis):
    """The trapezoid rule's weights for unit spacing along `axis` of y:
    1/2 at both ends, 1 between, shaped to broadcast against y."""
    n = np.shape(y)[axis]
    w = np.ones(n, like=runtime.library(y))
    w[0] = w[-1] = 0.5
    shape = [1] * np.ndim(y)
    shape[axis] = n
    return np.reshape(w, shape)


def _no_x(x):
    """1.0 when np.trapezoid reads its spacing from dx (x is None), else
    0.0."""
    return 1.0 if x is None else 0.0


# np.trapz: NumPy's name of np.trapezoid before 2.0
_TRAPEZOID = [f for f in (getattr(np, "trapezoid", None),
                          getattr(np, "trapz", None)) if f is not None]
_trapezoid = _TRAPEZOID[0]  # the name this NumPy calls without a warning


def _along(y, x, axis):
    """The shape making np.trapezoid's 1-d x broadcast along `axis` of y
    (x's own shape when it is y's)."""
    if np.ndim(x) != 1:
        return np.shape(x)
    shape = [1] * np.ndim(y)
    shape[axis] = len(x)
    return tuple(shape)


def _cut(y, axis, start):
    """The subscript of y's elements from `start` along axis, one fewer."""
    index = [slice(None)] * np.ndim(y)
    index[axis] = slice(start, np.shape(y)[axis] - 1 + start)
    return tuple(index)


def _widths(y, axis, before):
    """np.pad widths adding one element along axis, before or after."""
    widths = [(0, 0)] * np.ndim(y)
    widths[axis] = (1, 0) if before else (0, 1)
    return widths


@adjoint(*_TRAPEZOID)
def trapezoid(out, y, x=None, dx=1.0, axis=-1):
    d[y] = runtime.expand_reduced(d[out], y, axis) * (
        dx * _trapezoid_weights(y, axis) if x is None else 0.5 * (
            np.pad(np.diff(np.reshape(x, _along(y, x, axis)), axis=axis),
                   _widths(y, axis, True))
            + np.pad(np.diff(np.reshape(x, _along(y, x, axis)), axis=axis),
                     _widths(y, axis, False))))
    d[x] = np.reshape(runtime.unbroadcast(
        np.pad(0.5 * runtime.expand_reduced(d[out], y, axis) * (
            runtime.as_array(y)[_cut(y, axis, 0)]
            + runtime.as_array(y)[_cut(y, axis, 1)]), _widths(y, axis, True))
        - np.pad(0.5 * runtime.expand_reduced(d[out], y, axis) * (
            runtime.as_array(y)[_cut(y, axis, 0)]
            + runtime.as_array(y)[_cut(y, axis, 1)]),
            _widths(y, axis, False)), np.reshape(x, _along(y, x, axis))),
        np.shape(x))
    d[dx] = runtime.unbroadcast(d[out] * np.sum(
        y * _trapezoid_weights(y, axis), axis) * _no_x(x), dx)


@tangent(*_TRAPEZOID)
def trapezoid_fwd(out, y, x=None, dx=1.0, axis=-1):
    d[out] = _trapezoid(d[y], x, dx, axis) + _trapezoid(
        y, d[x], axis=axis) + _trapezoid(y, dx=d[dx], axis=axis) * _no_x(x)


# ---- non-differentiable ----

non_differentiable(
    np.shape, np.ndim, np.size, np.sign, np.floor, np.ceil, np.round,
    np.around, np.rint, np.fix, np.trunc, np.isfinite, np.isnan, np.isinf,
    np.argmax, np.argmin, np.argsort, np.argpartition, np.zeros, np.ones,
    np.empty, np.eye, np.zeros_like, np.ones_like, np.empty_like,
    np.greater, np.greater_equal, np.less, np.less_equal, np.equal,
    np.not_equal, np.logical_and, np.logical_or, np.logical_not,
    np.logical_xor, np.isposinf, np.isneginf, np.isnat, np.signbit,
    np.isclose, np.allclose, np.array_equal, np.array_equiv,
    np.iscomplex, np.isreal, np.iscomplexobj, np.isrealobj, np.isscalar,
    np.result_type, np.searchsorted,
    np.digitize, np.count_nonzero, np.nonzero,
    np.nanargmax, np.nanargmin, np.all, np.any,
    _degrees, _ends, _fractions, _stop_given, _counts, _full_widths,
    _interp_segments, _powers, _trapezoid_weights, _no_x, _along, _cut,
    _widths)

# casts to NumPy's integer and boolean types: discrete values
non_differentiable(*{np.dtype(code).type for code in "bBhHiIlLqQpP?"})

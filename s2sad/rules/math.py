"""Rules for the `math` module (Python floats in, Python floats out).

Every public function of `math` is decided here (tools/coverage.py prints
the table): a rule, a zero derivative (`non_differentiable`: floor, the
predicates, the integer functions), or, for the functions of sequences
(fsum, prod, dist, sumprod, hypot of other than two arguments), a rule
taking the whole sequence. Their derivatives are written with NumPy
functions of `runtime.as_array(xs)` that have rules themselves, so
generated code differentiates again, to any order; a sequence's adjoint is
given back item by item (runtime.unstack). The derivatives of gamma and
lgamma need digamma and its derivatives, which `math` lacks:
runtime.polygamma.
"""

import math

import numpy as np

from s2sad import runtime
from s2sad.rules.registry import (
    adjoint, d, elementwise, non_differentiable, takes_sequences, tangent,
    variadic)

LN2 = math.log(2.0)
LN10 = math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# ---- trigonometric ----


@elementwise(math.sin)
def sin(y, x):
    """Total: no special points."""
    return math.cos(x)


@elementwise(math.cos)
def cos(y, x):
    """Total: no special points."""
    return -math.sin(x)


@elementwise(math.tan)
def tan(y, x):
    """1 + tan(x)**2: inf only where tan(x) overflows."""
    return 1.0 + y * y


@elementwise(math.asin, domain="unit")
def asin(y, x):
    """inf at x = +-1 (1 / sqrt(0)), as JAX; the primal raises beyond."""
    return 1.0 / math.sqrt(1.0 - x * x)


@elementwise(math.acos, domain="unit")
def acos(y, x):
    """-inf at x = +-1, as JAX; the primal raises beyond."""
    return -1.0 / math.sqrt(1.0 - x * x)


@elementwise(math.atan)
def atan(y, x):
    """Total: no special points."""
    return 1.0 / (1.0 + x * x)


@elementwise(math.atan2, domain="nonzero")
def atan2(z, y, x):
    """nan at (0, 0) (0 / 0), as JAX."""
    return x / (x * x + y * y), -y / (x * x + y * y)


@elementwise(math.degrees)
def degrees(y, x):
    """Linear: 180 / pi."""
    return math.degrees(1.0)


@elementwise(math.radians)
def radians(y, x):
    """Linear: pi / 180."""
    return math.radians(1.0)


# ---- hyperbolic ----


@elementwise(math.tanh)
def tanh(y, x):
    """Total: no special points."""
    return 1.0 - y * y


@elementwise(math.sinh)
def sinh(y, x):
    """Total: no special points."""
    return math.cosh(x)


@elementwise(math.cosh)
def cosh(y, x):
    """Total: no special points."""
    return math.sinh(x)


@elementwise(math.asinh)
def asinh(y, x):
    """Total: no special points."""
    return 1.0 / math.sqrt(x * x + 1.0)


@elementwise(math.acosh, domain="above_one")
def acosh(y, x):
    """inf at x = 1, as JAX; the primal raises below."""
    return 1.0 / math.sqrt((x - 1.0) * (x + 1.0))


@elementwise(math.atanh, domain="unit")
def atanh(y, x):
    """The primal raises at |x| >= 1."""
    return 1.0 / ((1.0 - x) * (1.0 + x))


# ---- exponential and logarithm ----


@elementwise(math.exp)
def exp(y, x):
    """Total: no special points."""
    return y


@elementwise(math.expm1)
def expm1(y, x):
    """Total: no special points."""
    return y + 1.0


@elementwise(math.log, domain="positive")
def log(y, x, base=math.e):
    """The primal raises at x <= 0; inf as x -> 0. With a base, y is
    ln x / ln base. (1 / x first: x is not 0 where the primal returned,
    so the division needs no zero test.)"""
    return 1.0 / x / math.log(base), -y / (base * math.log(base))


@elementwise(math.log2, domain="positive")
def log2(y, x):
    """The primal raises at x <= 0."""
    return 1.0 / x / LN2


@elementwise(math.log10, domain="positive")
def log10(y, x):
    """The primal raises at x <= 0."""
    return 1.0 / x / LN10


@elementwise(math.log1p, domain="positive")
def log1p(y, x):
    """The primal raises at x <= -1."""
    return 1.0 / (1.0 + x)


if hasattr(math, "exp2"):  # Python 3.11+
    @elementwise(math.exp2)
    def exp2(y, x):
        """Total: no special points."""
        return y * LN2

if hasattr(math, "fma"):  # Python 3.13+
    @elementwise(math.fma)
    def fma(w, x, y, z):
        """x * y + z, rounded once: no special points."""
        return y, x, 1.0


if hasattr(math, "cbrt"):  # Python 3.11+
    @elementwise(math.cbrt, domain="nonzero")
    def cbrt(y, x):
        """inf at x = 0, as JAX (1 / (3 * 0))."""
        return 1.0 / (3.0 * y * y)


@elementwise(math.sqrt, domain="positive")
def sqrt(y, x):
    """inf at x = 0 (0.5 / 0), as JAX; the primal raises at x < 0."""
    return 0.5 / y


@elementwise(math.pow, domain="positive")
def pow(z, x, y):
    """Special points as `**` (rules/operators.py): d/dx is 0 where
    y == 0; d/dy takes log 0 as 0."""
    return (y * math.pow(x, 1.0 if y == 0 else y - 1.0),
            math.log(1.0 if x == 0 else x) * z)


@elementwise(math.fabs, domain="nonzero")
def fabs(y, x):
    """0 at x = 0 (sign(0)); JAX gives 1 there, s2sad the midpoint of the
    subgradient, as autograd."""
    return runtime.sign(x)


@elementwise(math.copysign, domain="nonzero")
def copysign(z, x, y):
    # |x| with y's sign: constant in y away from 0, 0 in x at 0 as fabs
    return runtime.sign(x) * math.copysign(1.0, y), None


@elementwise(math.fmod, domain="nonzero")
def fmod(z, x, y):
    """x - n * y for the integer n = trunc(x / y): a jump where n steps."""
    return 1.0, float(round((z - x) / y))


@elementwise(math.remainder, domain="nonzero")
def remainder(z, x, y):
    """x - n * y for the integer n nearest x / y: a jump where n steps."""
    return 1.0, float(round((z - x) / y))


@elementwise(math.ldexp)
def ldexp(y, x, i):
    """x * 2 ** i, for an integer i."""
    return math.ldexp(1.0, i), None


@elementwise(math.nextafter, domain="distinct")
def nextafter(z, x, y):
    """The float next to x towards y: x itself, up to one unit in the last
    place."""
    return 1.0, None


@adjoint(math.frexp)
def frexp(y, x):
    # y is (mantissa, exponent) with x = mantissa * 2 ** exponent; the
    # exponent's adjoint is ignored: it is piecewise constant.
    d[x] = d[y][0] * math.ldexp(1.0, -y[1])


@tangent(math.frexp)
def frexp_fwd(y, x):
    d[y] = (d[x] * math.ldexp(1.0, -y[1]), 0.0)


@adjoint(math.modf)
def modf(y, x):
    # y is (fractional part, integral part): only the first moves with x.
    d[x] = d[y][0]


@tangent(math.modf)
def modf_fwd(y, x):
    d[y] = (d[x], 0.0)


# ---- special functions ----


@elementwise(math.erf)
def erf(y, x):
    """Total: no special points."""
    return TWO_OVER_SQRT_PI * math.exp(-x * x)


@elementwise(math.erfc)
def erfc(y, x):
    """Total: no special points."""
    return -TWO_OVER_SQRT_PI * math.exp(-x * x)


@elementwise(math.gamma, domain="positive")
def gamma(y, x):
    """The primal raises at the poles 0, -1, -2, ..."""
    return y * runtime.digamma(x)


@elementwise(math.lgamma, domain="positive")
def lgamma(y, x):
    """ln |gamma(x)|: digamma(x) on either sign of gamma; the primal raises
    at the poles."""
    return runtime.digamma(x)


@elementwise(runtime.digamma, domain="positive")
def digamma(y, x):
    """nan at the poles."""
    return runtime.polygamma(1, x)


@elementwise(runtime.polygamma, domain="positive")
def polygamma(y, n, x):
    """nan at the poles; the order n is an integer."""
    return None, runtime.polygamma(n + 1, x)


# ---- functions of sequences: the adjoint of a list is one per item ----
# `a = runtime.as_array(xs)` holds the items; a tangent of xs is made the same
# (runtime.tree_like: a list's tangent may be held as an object array).

variadic(math.hypot, runtime.hypot)  # (of other than two arguments)
takes_sequences(math.fsum, math.prod, math.dist)


@elementwise(math.hypot)
def hypot(z, x, y):
    """math.hypot(x, y), the distance of a point (as written most often):
    numbers in, numbers out. Gradient 0 at the origin, as the sequence
    form's and np.linalg.norm's."""
    return x / (z if z else 1.0), y / (z if z else 1.0)


@adjoint(runtime.hypot)
def hypot_rev(y, coordinates):
    """Gradient 0 where every coordinate is 0, as np.linalg.norm's."""
    d[coordinates] = runtime.unstack(
        d[y] * runtime.as_array(coordinates) / (y if y else 1.0), coordinates)


@tangent(runtime.hypot)
def hypot_fwd(y, coordinates):
    d[y] = np.sum(runtime.as_array(runtime.tree_like(
        d[coordinates], coordinates)) * runtime.as_array(coordinates)) / (
            y if y else 1.0)


@adjoint(math.dist)
def dist_rev(y, p, q):
    """Gradient 0 where p == q, as np.linalg.norm's at 0."""
    d[p] = runtime.unstack(d[y] * (
        runtime.as_array(p) - runtime.as_array(q)) / (y if y else 1.0), p)
    d[q] = runtime.unstack(d[y] * (
        runtime.as_array(q) - runtime.as_array(p)) / (y if y else 1.0), q)


@tangent(math.dist)
def dist_fwd(y, p, q):
    d[y] = np.sum(runtime.as_array(runtime.tree_like(d[p], p)) * (
        runtime.as_array(p) - runtime.as_array(q))) / (
            y if y else 1.0) + np.sum(
        runtime.as_array(runtime.tree_like(d[q], q)) * (
            runtime.as_array(q) - runtime.as_array(p))) / (y if y else 1.0)


@adjoint(math.fsum)
def fsum_rev(y, seq):
    d[seq] = runtime.unstack(
        runtime.broadcast_like(d[y], runtime.as_array(seq)), seq)


@tangent(math.fsum)
def fsum_fwd(y, seq):
    d[y] = math.fsum(runtime.tree_like(d[seq], seq))


@adjoint(math.prod)
def prod_rev(y, iterable, *, start=1):
    """Exact at zeros: each item's partial is the product of the others,
    the products of the items before and after it (as np.prod's rule)."""
    a = runtime.as_array(iterable)
    before = np.cumprod(np.concatenate((np.ones_like(a[:1]), a)), 0)[:-1]
    after = np.flip(np.cumprod(np.concatenate((np.ones_like(a[:1]),
                                               np.flip(a, 0))), 0)[:-1], 0)
    d[iterable] = runtime.unstack(d[y] * start * before * after, iterable)
    d[start] = d[y] * math.prod(iterable)


@tangent(math.prod)
def prod_fwd(y, iterable, *, start=1):
    a = runtime.as_array(iterable)
    before = np.cumprod(np.concatenate((np.ones_like(a[:1]), a)), 0)[:-1]
    after = np.flip(np.cumprod(np.concatenate((np.ones_like(a[:1]),
                                               np.flip(a, 0))), 0)[:-1], 0)
    d[y] = start * np.sum(runtime.as_array(runtime.tree_like(
        d[iterable], iterable)) * before * after, 0) + d[start] * math.prod(
        iterable)


if hasattr(math, "sumprod"):  # Python 3.12+
    takes_sequences(math.sumprod)

    @adjoint(math.sumprod)
    def sumprod_rev(y, p, q):
        d[p] = runtime.unstack(d[y] * runtime.as_array(q), p)
        d[q] = runtime.unstack(d[y] * runtime.as_array(p), q)

    @tangent(math.sumprod)
    def sumprod_fwd(y, p, q):
        d[y] = math.sumprod(runtime.tree_like(d[p], p), q) + math.sumprod(
            p, runtime.tree_like(d[q], q))


non_differentiable(math.floor, math.ceil, math.trunc, math.isfinite,
                   math.isnan, math.isinf, math.isclose, math.ulp,
                   # integer functions of integers (floats are refused)
                   math.factorial, math.comb, math.perm, math.gcd, math.lcm,
                   math.isqrt)

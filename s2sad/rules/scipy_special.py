"""Rules for scipy.special, loaded once the user's program imports SciPy
(rules.registry: s2sad never imports SciPy itself and works without it).

The ufuncs are elementwise rules (arrays, broadcasting, both modes); their
derivatives are written with SciPy's and NumPy's own functions, which have
rules, so they differentiate again: digamma's derivative is polygamma(1, x),
polygamma(n, x)'s is polygamma(n + 1, x). logsumexp takes `axis`, `b` and
`keepdims`; `return_sign=True` is refused. softmax and log_softmax take
`axis`.
"""

import math

import numpy as np
from scipy import special

from s2sad import runtime
from s2sad.rules.registry import adjoint, d, elementwise, only, tangent

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
SQRT_2PI = math.sqrt(2.0 * math.pi)

# ---- error function and the normal distribution ----


@elementwise(special.erf)
def erf(y, x):
    """Total: no special points."""
    return TWO_OVER_SQRT_PI * np.exp(-x * x)


@elementwise(special.erfc)
def erfc(y, x):
    """Total: no special points."""
    return -TWO_OVER_SQRT_PI * np.exp(-x * x)


@elementwise(special.erfinv, domain="unit")
def erfinv(y, x):
    """inf at x = +-1."""
    return SQRT_PI_OVER_TWO * np.exp(y * y)


@elementwise(special.ndtr)
def ndtr(y, x):
    """The standard normal density."""
    return INV_SQRT_2PI * np.exp(-0.5 * x * x)


@elementwise(special.log_ndtr)
def log_ndtr(y, x):
    """density / cdf, as exp(log density - log cdf): no overflow far in
    the lower tail."""
    return INV_SQRT_2PI * np.exp(-0.5 * x * x - y)


@elementwise(special.ndtri, domain="probability")
def ndtri(y, p):
    """inf at p = 0 and 1."""
    return SQRT_2PI * np.exp(0.5 * y * y)


# ---- logistic ----


@elementwise(special.expit)
def expit(y, x):
    """Total: no special points."""
    return y * (1.0 - y)


@elementwise(special.logit, domain="probability")
def logit(y, p):
    """inf at p = 0 and 1."""
    return 1.0 / (p * (1.0 - p))


# ---- gamma family ----


@elementwise(special.gamma, domain="positive")
def gamma(y, x):
    """inf or nan at the poles 0, -1, -2, ..."""
    return y * special.digamma(x)


@elementwise(special.gammaln, domain="positive")
def gammaln(y, x):
    """ln |gamma(x)|: digamma(x) on either sign of gamma."""
    return special.digamma(x)


@elementwise(special.digamma, domain="positive")
def digamma(y, x):
    """special.psi is the same ufunc. Its derivative, polygamma(1, x), is
    zeta(2, x), written so: polygamma makes its argument a NumPy array
    (np.asarray), the ufunc zeta keeps a CuPy or Dask array one."""
    return special.zeta(2.0, runtime.real_input(x, "scipy.special.digamma"))


@elementwise(special.zeta, domain="positive")
def zeta(y, x, q=None):
    """Hurwitz's zeta(x, q) = sum over k of (k + q) ** -x, in q; the order
    x is held constant (Riemann's zeta(x), q None, has no derivative
    here)."""
    return None, -x * special.zeta(x + 1.0, q)


@elementwise(special.polygamma, domain="positive")
def polygamma(y, n, x):
    """The order n is an integer (array)."""
    return None, special.polygamma(n + 1, x)


# ---- x log y and entropy (0 log 0 is 0) ----


@elementwise(special.xlogy, domain="positive")
def xlogy(z, x, y):
    """d/dx is log y (-inf at y = 0); d/dy is x / y."""
    return np.log(y), x / y


@elementwise(special.xlog1py, domain="positive")
def xlog1py(z, x, y):
    """d/dx is log1p(y); d/dy is x / (1 + y)."""
    return np.log1p(y), x / (1.0 + y)


@elementwise(special.entr, domain="positive")
def entr(y, x):
    """-x log x: -(log x + 1), inf at 0; the value is -inf below 0."""
    return -(np.log(x) + 1.0)


# ---- reductions over `axis` ----


@adjoint(special.logsumexp)
def logsumexp(y, a, axis=None, b=None, keepdims=False,
              return_sign: only(False) = False):
    # d y / d a = b exp(a - y), d y / d b = exp(a - y)
    e = np.exp(a - runtime.expand_reduced(y, a, axis, keepdims))
    d[a] = runtime.expand_reduced(d[y], a, axis, keepdims) * weighted(e, b)
    d[b] = runtime.unbroadcast(
        runtime.expand_reduced(d[y], a, axis, keepdims) * e, b)


@tangent(special.logsumexp)
def logsumexp_fwd(y, a, axis=None, b=None, keepdims=False,
                  return_sign: only(False) = False):
    e = np.exp(a - runtime.expand_reduced(y, a, axis, keepdims))
    d[y] = np.sum(d[a] * weighted(e, b), axis=axis, keepdims=keepdims) + \
        np.sum(d[b] * e, axis=axis, keepdims=keepdims)


def weighted(e, b):
    """e * b, or e where b is None (logsumexp's weights)."""
    return e if b is None else e * b


@adjoint(weighted)
def weighted_rev(y, e, b):
    d[e] = runtime.unbroadcast(weighted(d[y], b), e)
    d[b] = runtime.unbroadcast(d[y] * e, b)


@tangent(weighted)
def weighted_fwd(y, e, b):
    d[y] = weighted(d[e], b) + d[b] * e


@adjoint(special.softmax)
def softmax(y, x, axis=None):
    d[x] = y * (d[y] - np.sum(d[y] * y, axis=axis, keepdims=True))


@tangent(special.softmax)
def softmax_fwd(y, x, axis=None):
    d[y] = y * d[x] - y * np.sum(d[x] * y, axis=axis, keepdims=True)


@adjoint(special.log_softmax)
def log_softmax(y, x, axis=None):
    d[x] = d[y] - np.exp(y) * np.sum(d[y], axis=axis, keepdims=True)


@tangent(special.log_softmax)
def log_softmax_fwd(y, x, axis=None):
    d[y] = d[x] - np.sum(np.exp(y) * d[x], axis=axis, keepdims=True)

"""Rules for the `math` module (Python floats in, Python floats out)."""

import math

from s2sad import runtime
from s2sad.rules.registry import elementwise, non_differentiable

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
def log(y, x):
    """The primal raises at x <= 0; inf as x -> 0."""
    return 1.0 / x


@elementwise(math.log1p, domain="positive")
def log1p(y, x):
    """The primal raises at x <= -1."""
    return 1.0 / (1.0 + x)


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


non_differentiable(math.floor, math.ceil, math.trunc, math.isfinite,
                   math.isnan, math.isinf)

"""Rules for the `math` module (Python floats in, Python floats out)."""

import math

from s2sad import runtime
from s2sad.rules.registry import elementwise, non_differentiable

# ---- trigonometric ----


@elementwise(math.sin)
def sin(y, x):
    return math.cos(x)


@elementwise(math.cos)
def cos(y, x):
    return -math.sin(x)


@elementwise(math.tan)
def tan(y, x):
    return 1.0 + y * y


@elementwise(math.asin, domain="unit")
def asin(y, x):
    return 1.0 / math.sqrt(1.0 - x * x)


@elementwise(math.acos, domain="unit")
def acos(y, x):
    return -1.0 / math.sqrt(1.0 - x * x)


@elementwise(math.atan)
def atan(y, x):
    return 1.0 / (1.0 + x * x)


@elementwise(math.atan2, domain="nonzero")
def atan2(z, y, x):
    return x / (x * x + y * y), -y / (x * x + y * y)


# ---- hyperbolic ----


@elementwise(math.tanh)
def tanh(y, x):
    return 1.0 - y * y


@elementwise(math.sinh)
def sinh(y, x):
    return math.cosh(x)


@elementwise(math.cosh)
def cosh(y, x):
    return math.sinh(x)


# ---- exponential and logarithm ----


@elementwise(math.exp)
def exp(y, x):
    return y


@elementwise(math.expm1)
def expm1(y, x):
    return y + 1.0


@elementwise(math.log, domain="positive")
def log(y, x):
    return 1.0 / x


@elementwise(math.log1p, domain="positive")
def log1p(y, x):
    return 1.0 / (1.0 + x)


@elementwise(math.sqrt, domain="positive")
def sqrt(y, x):
    return 0.5 / y


@elementwise(math.pow, domain="positive")
def pow(z, x, y):
    return y * math.pow(x, y - 1.0), math.log(x) * z


@elementwise(math.fabs, domain="nonzero")
def fabs(y, x):
    return runtime.sign(x)


@elementwise(math.copysign, domain="nonzero")
def copysign(z, x, y):
    # |x| with y's sign: constant in y away from 0, 0 in x at 0 as fabs
    return runtime.sign(x) * math.copysign(1.0, y), None


non_differentiable(math.floor, math.ceil, math.trunc, math.isfinite,
                   math.isnan, math.isinf)

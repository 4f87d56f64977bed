"""Rules for the `cmath` module (numbers in, Python complex numbers out).

Its analytic functions (exp, log, sqrt, the trigonometric and hyperbolic
functions and their inverses) have the derivatives of their real twins,
written with `cmath` so that they hold on the whole complex plane off the
branch cuts. On a cut itself, where no complex derivative exists (a real
input past 1 of `asin`, `acos`, `atanh`; a negative one of `log`, `sqrt`),
the formula is evaluated there, as NumPy's and JAX's rules evaluate it,
and may give the one-sided derivative of the side `cmath` does not take.
A real function of complex values is differentiated as JAX and NumPy's
rules do (the engine conjugates: see rules/numpy.py). `phase`, `polar` and
`rect`, not analytic, have no rule and are refused; the predicates and
`isclose` have derivative zero.
"""

import cmath

from s2sad.rules.registry import elementwise, non_differentiable


@elementwise(cmath.exp, makes_complex=True)
def exp(y, x):
    return y


@elementwise(cmath.log, domain="positive", makes_complex=True)
def log(y, x, base=cmath.e):
    """1 / x, and with a base, the derivatives of ln x / ln base; the
    primal raises at 0."""
    return 1.0 / x / cmath.log(base), -y / (base * cmath.log(base))


@elementwise(cmath.log10, domain="positive", makes_complex=True)
def log10(y, x):
    return 1.0 / (x * cmath.log(10.0))


@elementwise(cmath.sqrt, domain="positive", makes_complex=True)
def sqrt(y, x):
    """inf at 0 (0.5 / 0)."""
    return 0.5 / y


@elementwise(cmath.sin, makes_complex=True)
def sin(y, x):
    return cmath.cos(x)


@elementwise(cmath.cos, makes_complex=True)
def cos(y, x):
    return -cmath.sin(x)


@elementwise(cmath.tan, makes_complex=True)
def tan(y, x):
    return 1.0 + y * y


@elementwise(cmath.asin, domain="unit", makes_complex=True)
def asin(y, x):
    return 1.0 / cmath.sqrt(1.0 - x * x)


@elementwise(cmath.acos, domain="unit", makes_complex=True)
def acos(y, x):
    return -1.0 / cmath.sqrt(1.0 - x * x)


@elementwise(cmath.atan, makes_complex=True)
def atan(y, x):
    return 1.0 / (1.0 + x * x)


@elementwise(cmath.sinh, makes_complex=True)
def sinh(y, x):
    return cmath.cosh(x)


@elementwise(cmath.cosh, makes_complex=True)
def cosh(y, x):
    return cmath.sinh(x)


@elementwise(cmath.tanh, makes_complex=True)
def tanh(y, x):
    return 1.0 - y * y


@elementwise(cmath.asinh, makes_complex=True)
def asinh(y, x):
    return 1.0 / cmath.sqrt(x * x + 1.0)


@elementwise(cmath.acosh, domain="above_one", makes_complex=True)
def acosh(y, x):
    return 1.0 / (cmath.sqrt(x - 1.0) * cmath.sqrt(x + 1.0))


@elementwise(cmath.atanh, domain="unit", makes_complex=True)
def atanh(y, x):
    return 1.0 / (1.0 - x * x)


non_differentiable(cmath.isfinite, cmath.isinf, cmath.isnan, cmath.isclose)

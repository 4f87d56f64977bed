"""s2sad's runtime helpers for Numba kernels, on numbers.

A kernel (see `s2sad.kernels`) reads `runtime` as this module: the
helpers its rules and sweeps call, each as `s2sad.runtime` computes it
for Python floats and ints, compiled by Numba. A helper that has no
form here makes Numba refuse the kernel, at the user's line that needs
it. Imported only with Numba installed.
"""

import math
import operator
import types as types_module

import numba
from numba.core import types
from numba.extending import overload

_compile = numba.njit(cache=True)


@_compile
def _zero(x):
    return 0.0


# a zero adjoint (or tangent) of a number, and what a tape keeps of a number
# for one
zeros_like = like = zero_tangent = _zero


@_compile
def _first(a, b):
    return a


# adjoints and tangents of numbers need no summing, spreading, cast or
# structure
unbroadcast = unbroadcast_to = as_kind_of = tree_like = broadcast_like = \
    _first


@_compile
def seed(y, where):
    """The 1 a gradient of a number starts from."""
    return 1.0


@_compile
def gradient(g, x):
    """The gradient of a number, a float."""
    return float(g)


@_compile
def _as_is(x):
    return x


# a number stays one; an array or a tuple of one kind is iterated as it is
array_of = iterable = _as_is


@_compile
def not_joined(value):
    """A number is not a joined list (forward mode's check)."""
    return None


@_compile
def _nothing(a, b):
    return None


# checks a number passes: numbers share no memory and are rebound, never
# changed in place
check_distinct = check_updatable = check_unshared = _nothing


@_compile
def check_scalar(y, where):
    """A kernel's output is a number, unless a path left it undefined
    (`return y` of a `y` set in one branch): then the call runs again as
    Python, whose check says so."""
    if y is None:
        raise ValueError("the function returned None")


@_compile
def shape(x):
    """What a tape keeps of a number to unbroadcast against: nothing."""
    return ()


@_compile
def sign(x):
    """The derivative of abs, 0 at 0."""
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


@_compile
def _logistic(u, e):
    """1 / (1 + b ** u) from e = b ** -|u| <= 1, which cannot overflow."""
    return 1.0 / (1.0 + e) if u <= 0.0 else e / (1.0 + e)


@_compile
def logistic(x, y):
    """1 / (1 + exp(y - x)), the derivative of np.logaddexp(x, y) in x."""
    return _logistic(y - x, math.exp(-abs(y - x)))


@_compile
def logistic2(x, y):
    """1 / (1 + 2 ** (y - x)), np.logaddexp2's."""
    return _logistic(y - x, 2.0 ** -abs(y - x))


@_compile
def balanced_max_partial(x, y):
    """The partial of max(x, y) in x: 1 where x wins, 0.5 at a tie (0 with
    a nan)."""
    return 1.0 if x > y else (0.5 if x == y else 0.0)


# `a op= b` of numbers (`runtime.iadd`, ...): the operation, which Numba
# compiles (`**=` and `<<=` below, as Python computes them)
iadd, isub, imul, itruediv = (operator.add, operator.sub, operator.mul,
                              operator.truediv)
ifloordiv, imod = operator.floordiv, operator.mod
iand, ior, ixor, irshift = (operator.and_, operator.or_, operator.xor,
                            operator.rshift)


@_compile
def range_item(r, k):
    """`r[k]` of a range (Numba's ranges have no items)."""
    n = len(r)
    if k < 0:
        k += n
    if k < 0 or k >= n:
        raise IndexError("range object index out of range")
    return r.start + k * r.step


# NumPy's arithmetic on numbers: inf or nan where Python raises
_numpy_errors = numba.njit(cache=True, error_model="numpy")


@_numpy_errors
def divide(a, b):
    """`a / b`, inf or nan where Python raises (derivative statements
    divide what may be arrays)."""
    return a / b


@_numpy_errors
def power(a, b):
    """`a ** b` in derivative statements, inf for 0 to a negative power (a
    negative number to a fractional power, nan here and complex in Python,
    has raised at the function's own power first: `python_pow`)."""
    return a ** b


# -- Python's semantics where Numba's differ. A helper raises where Python
# would raise or give what Numba cannot (a complex number, an int too large
# for 64 bits): the kernel is then run again as Python (see s2sad.kernels),
# which raises Python's error or computes Python's value. The message here
# is never seen.

def python_pow(a, b):
    """`a ** b` (the kernel's every power): as Python computes it."""
    return a ** b


@overload(python_pow)
def _python_pow(a, b):
    if isinstance(a, types.Integer) and isinstance(b, types.Integer):
        def power_of_ints(a, b):
            if b < 0 or b * math.log2(abs(a) + 1) >= 62.0:
                raise OverflowError("a float, or a large int, in Python")
            return a ** b
        return power_of_ints
    if not (isinstance(a, types.Number) and isinstance(b, types.Number)):
        return lambda a, b: a ** b  # (an array's: NumPy's semantics)
    if isinstance(a, types.Complex) or isinstance(b, types.Complex):
        return lambda a, b: a ** b

    def power(a, b):
        if a < 0 and b != math.floor(b):
            raise ValueError("complex in Python")
        if a == 0 and b < 0:
            raise ZeroDivisionError("0.0 cannot be raised to a negative power")
        # (a float to an int power as C's pow computes it, as Python does,
        # not by repeated multiplication)
        r = a ** float(b)
        if math.isinf(r) and math.isfinite(a) and math.isfinite(b):
            raise OverflowError("math range error")
        return r
    return power


ipow = python_pow  # (`a **= b`)


def python_lshift(a, b):
    """`a << b` of ints: an error past 64 bits (Python's ints grow)."""
    return a << b


@overload(python_lshift)
def _python_lshift(a, b):
    def shifted(a, b):
        if b < 0 or b >= 62 or a != 0 and \
                math.log2(abs(a)) + b >= 62.0:
            raise OverflowError("a large int in Python")
        return a << b
    return shifted


ilshift = python_lshift


def int_of(x):
    """`int(x)`: an error for nan, inf, or beyond 64 bits."""
    return int(x)


@overload(int_of)
def _int_of(x):
    if isinstance(x, types.Float):
        def of_float(x):
            if not -9.2e18 < x < 9.2e18:
                raise OverflowError("not a 64-bit int")
            return int(x)
        return of_float
    return lambda x: int(x)


def round_of(x, ndigits=None):
    """`round(x)` (an error for nan, inf, or beyond 64 bits), or
    `round(x, ndigits)`."""
    return round(x, ndigits)


@overload(round_of)
def _round_of(x, ndigits=None):
    if ndigits is None or isinstance(ndigits, (types.NoneType,
                                               types.Omitted)):
        if isinstance(x, types.Float):
            def to_int(x, ndigits=None):
                if not -9.2e18 < x < 9.2e18:
                    raise OverflowError("not a 64-bit int")
                return round(x)
            return to_int
        return lambda x, ndigits=None: round(x)
    return lambda x, ndigits=None: round(x, ndigits)


@_compile
def backwards(r):
    """`reversed(r)` of a range (Numba has no `reversed`)."""
    return range(r.start + (len(r) - 1) * r.step, r.start - r.step, -r.step)


# the names the kernel reads as builtins, in their forms here
# (not `range`, which Numba refuses to see changed: a float loop count
# runs there, where Python raises)
BUILTINS = {"int": int_of, "round": round_of, "reversed": backwards}


def _checked(function, arity):
    """`function` of the math module, raising where Python's raises: a nan
    of numbers (`math.sqrt(-1.0)`, `math.sin(inf)`), an infinity of finite
    numbers (`math.exp(1000.0)`, `math.log(0.0)`)."""
    if arity == 1:
        def checked(x):
            return _result(function(x), x, 0.0)
    else:
        def checked(x, y):
            return _result(function(x, y), x, y)
    checked.__name__ = checked.__qualname__ = function.__name__
    return _compile(checked)


def _to_int(function):
    """`math.floor`, `ceil` or `trunc` of a number: an error for nan, inf
    or beyond 64 bits, where Python's raises or makes a large int."""
    def to_int(x):
        if not -9.2e18 < x < 9.2e18:
            raise OverflowError("not a 64-bit int")
        return function(x)
    to_int.__name__ = to_int.__qualname__ = function.__name__
    return _compile(to_int)


@_compile
def _result(r, x, y):
    if math.isnan(r) and not (math.isnan(x) or math.isnan(y)):
        raise ValueError("math domain error")
    if math.isinf(r) and not (math.isinf(x) or math.isinf(y)):
        raise OverflowError("math range error")
    return r


# the math module as a kernel reads it
math_module = types_module.ModuleType("math")
math_module.__dict__.update(
    (name, getattr(math, name)) for name in dir(math)
    if not name.startswith("_"))
_CHECKED = {}
for _name, _arity in [(name, 1) for name in (
        "acos", "acosh", "asin", "atanh", "cos", "cosh", "erfc", "exp",
        "expm1", "gamma", "lgamma", "log", "log10", "log1p", "log2", "sin",
        "sinh", "sqrt", "tan")] + [("pow", 2), ("atan2", 2), ("fmod", 2)]:
    _CHECKED[getattr(math, _name)] = _checked(getattr(math, _name), _arity)
    setattr(math_module, _name, _CHECKED[getattr(math, _name)])
for _name in ("floor", "ceil", "trunc"):
    _CHECKED[getattr(math, _name)] = _to_int(getattr(math, _name))
    setattr(math_module, _name, _CHECKED[getattr(math, _name)])


def compiled_form(value):
    """What a kernel reads for the user's global `value`: the math module
    and its functions in their checked forms, anything else as it is."""
    if value is math:
        return math_module
    try:
        return _CHECKED.get(value, value)
    except TypeError:  # (not hashable)
        return value


def python_mul(a, b):
    """`a * b` of what may be ints: an error past 64 bits (Python's ints
    grow)."""
    return a * b


@overload(python_mul)
def _python_mul(a, b):
    if isinstance(a, types.Integer) and isinstance(b, types.Integer):
        def product_of_ints(a, b):
            if abs(float(a) * float(b)) >= 9.2e18:
                raise OverflowError("a large int in Python")
            return a * b
        return product_of_ints
    return lambda a, b: a * b


def as_index(n):
    """`n` as `range` takes it: a TypeError for a float, as in Python
    (Numba's range takes one)."""
    return n


@overload(as_index)
def _as_index(n):
    if isinstance(n, types.Integer):
        return lambda n: n

    def refused(n):
        if n == n or n != n:  # (always; typed as an int, as it must be)
            raise TypeError("not an integer")
        return 0
    return refused

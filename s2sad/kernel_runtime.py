"""s2sad's runtime helpers for Numba kernels, on numbers and arrays.

A kernel (see `s2sad.kernels`) reads `runtime` as this module: the
helpers its rules and sweeps call, each as `s2sad.runtime` computes it
for Python floats and ints and NumPy float64 arrays, compiled by Numba.
Most are `numba.extending.overload`s of a Python stub: the form for the
kinds of the arguments is chosen as Numba types the kernel (an adjoint
of a number is summed from an array, an array's is written into zeros),
and a kind a helper has no form for makes Numba refuse the kernel, at
the user's line that needs it. A form that depends on a constant
argument (`keepdims=True`, an axis) asks Numba for its value
(`numba.literally`) rather than guess. Imported only with Numba
installed.
"""

import math
import operator
import types as types_module

import numba
import numpy as np
from numba.core import types
from numba.extending import overload

_compile = numba.njit(cache=True)


def _is_array(t):
    return isinstance(t, types.Array)


def _empty_tuple(t):
    return isinstance(t, types.BaseTuple) and len(t) == 0


def zeros_like(x):
    """A zero adjoint (or tangent) shaped like `x`: 0.0 for a number."""


@overload(zeros_like)
def _zeros_like(x):
    if _is_array(x):
        return lambda x: np.zeros(x.shape)
    if isinstance(x, types.BaseTuple):
        items = "".join(f"zeros_like(x[{k}]), " for k in range(len(x)))
        return _made(f"def zeros(x):\n    return ({items})\n", "zeros")
    return lambda x: 0.0


zero_tangent = zeros_like


def like(x):
    """What a tape keeps of `x` where the backward sweep reads only its
    shape: an array itself (the reference, not a copy), nothing of a
    number."""


@overload(like)
def _like(x):
    if _is_array(x):
        return lambda x: x
    return lambda x: 0.0


def shape(x):
    """What a tape keeps of `x` to unbroadcast against: an array's shape,
    nothing of a number."""


@overload(shape)
def _shape(x):
    if _is_array(x):
        return lambda x: x.shape
    return lambda x: ()


@_compile
def _first(a, b):
    return a


# tangents of numbers need no spreading or cast
as_kind_of = broadcast_like = _first


def tree_like(g, x):
    """The gradient `g` of `x` in x's structure: it is, where their types
    match (a tuple's adjoint a tuple of as many items, each alike)."""


@overload(tree_like)
def _tree_like(g, x):
    if _same_structure(g, x):
        return lambda g, x: g
    return None


def _same_structure(g, x):
    """Is the adjoint type `g` a tuple where x's is, of as many items, each
    alike (an array's may be a number: spread late, by the caller)?"""
    if isinstance(x, types.BaseTuple):
        return isinstance(g, types.BaseTuple) and len(g) == len(x) and all(
            _same_structure(a, b) for a, b in zip(g, x))
    return not isinstance(g, types.BaseTuple)


@_compile
def sum_to(g, shape):
    """`g` summed down to `shape`, undoing NumPy's broadcasting (the sums
    over the axes `shape` has not, or has as 1)."""
    out = np.zeros(shape)
    flat = out.reshape(out.size)
    rank, kept = g.ndim, len(shape)
    strides = np.zeros(max(rank, 1), np.int64)
    step = 1
    for k in range(kept - 1, -1, -1):
        if shape[k] != 1:
            strides[rank - kept + k] = step
        step *= shape[k]
    for at in np.ndindex(g.shape):
        offset = 0
        for k in range(rank):
            offset += at[k] * strides[k]
        flat[offset] += g[at]
    return out


def unbroadcast(g, x):
    """`g` summed down to the shape of `x` (see `runtime.unbroadcast`)."""


@overload(unbroadcast)
def _unbroadcast(g, x):
    if not _is_array(g):
        # (a number: of a number, or of an array spread late)
        return lambda g, x: g
    if not _is_array(x):
        return lambda g, x: np.sum(g)
    return lambda g, x: unbroadcast_to(g, x.shape)


def unbroadcast_to(g, shape):
    """`unbroadcast` when only the shape of x was kept (`shape`)."""


@overload(unbroadcast_to)
def _unbroadcast_to(g, shape):
    if not _is_array(g):
        return lambda g, shape: g
    if _empty_tuple(shape):
        return lambda g, shape: np.sum(g)
    if len(shape) != g.ndim:
        return lambda g, shape: sum_to(g, shape)

    def same_rank(g, shape):
        if g.shape == shape:
            return g
        return sum_to(g, shape)
    return same_rank


def seed(y, where):
    """The 1 a gradient of a number starts from; for an array (of one
    item, or a refusal), the call runs again as Python, which decides."""


@overload(seed)
def _seed(y, where):
    if isinstance(y, types.Optional) and not _is_array(y.type):
        # (a value a path may leave None: `return` in a loop)
        def checked(y, where):
            if y is None:
                raise ValueError("None: Python decides")
            return 1.0
        return checked
    if _is_array(y) or isinstance(y, (types.NoneType, types.Optional)):
        def refused(y, where):
            raise ValueError("not a number: Python decides")
        return refused
    return lambda y, where: 1.0


def gradient(g, x):
    """The gradient of a number, a float; of an array, its adjoint (the
    function around the kernel gives it as s2sad does)."""


@overload(gradient)
def _gradient(g, x):
    if _is_array(x):
        return lambda g, x: g
    return lambda g, x: float(g)


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
check_distinct = check_updatable = check_unshared = check_indexed = _nothing


@_compile
def check_alone(container, item, message, *arguments):
    return None


@_compile
def check_item_assignment(x):
    """(A kernel's arrays support it.)"""
    return None


@_compile
def check_not_view(item, array, message):
    return None


@_compile
def check_element_not_view(item, array, message):
    return None


@_compile
def check_bound(bound, message):
    """(Numba raises only exceptions whose arguments are constants: the
    message says no line.)"""
    if not bound:
        raise UnboundLocalError("a local name is read where the path taken "
                                "left it unbound")


def check_scalar(y, where):
    """A kernel's output is a number, unless a path left it undefined
    (`return y` of a `y` set in one branch) or it is an array: then the
    call runs again as Python, whose check says so."""


@overload(check_scalar)
def _check_scalar(y, where):
    if _is_array(y):
        def refused(y, where):
            raise ValueError("an array: Python decides")
        return refused

    def checked(y, where):
        if y is None:
            raise ValueError("the function returned None")
    return checked


def check_unpacking(value, n):
    """`a, b = value` takes exactly n items (Numba's types say how many a
    tuple has; an array's rows are counted)."""


@overload(check_unpacking)
def _check_unpacking(value, n):
    def checked(value, n):
        if len(value) != n:
            raise ValueError("unpacking: Python decides")
    return checked


def sign(x):
    """The derivative of abs, 0 at 0."""


@overload(sign)
def _sign(x):
    if _is_array(x):
        return lambda x: np.sign(x) * 1.0
    return lambda x: 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


@_compile
def _logistic(u, e):
    """1 / (1 + b ** u) from e = b ** -|u| <= 1, which cannot overflow."""
    return 1.0 / (1.0 + e) if u <= 0.0 else e / (1.0 + e)


def _elementwise(of_numbers):
    """`of_numbers` (x, y) -> float, elementwise on arrays too (broadcast
    against each other)."""
    scalar = _compile(of_numbers)

    def stub(x, y):
        return of_numbers(x, y)

    @overload(stub)
    def _stub(x, y):
        if not (_is_array(x) or _is_array(y)):
            return lambda x, y: scalar(x, y)

        def each(x, y):
            xs, ys = np.broadcast_arrays(np.asarray(x), np.asarray(y))
            out = np.empty(xs.shape)
            for at in np.ndindex(xs.shape):
                out[at] = scalar(xs[at], ys[at])
            return out
        return each
    stub.__name__ = stub.__qualname__ = of_numbers.__name__
    stub.__doc__ = of_numbers.__doc__
    return stub


@_elementwise
def logistic(x, y):
    """1 / (1 + exp(y - x)), the derivative of np.logaddexp(x, y) in x."""
    return _logistic(y - x, math.exp(-abs(y - x)))


@_elementwise
def logistic2(x, y):
    """1 / (1 + 2 ** (y - x)), np.logaddexp2's."""
    return _logistic(y - x, 2.0 ** -abs(y - x))


@_elementwise
def balanced_max_partial(x, y):
    """The partial of max(x, y) in x: 1 where x wins, 0.5 at a tie (0 with
    a nan)."""
    return 1.0 if x > y else (0.5 if x == y else 0.0)


def python_abs(x):
    """`abs(x)`: NumPy's of an array (Numba's `abs` takes numbers)."""
    return abs(x)


@overload(python_abs)
def _python_abs(x):
    if _is_array(x):
        return lambda x: np.abs(x)
    return lambda x: abs(x)


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


@overload(python_pow, prefer_literal=True)
def _python_pow(a, b):
    if _is_array(a) and getattr(b, "literal_value", None) == 2:
        return lambda a, b: a * a  # (NumPy's square: not pow per item)
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
BUILTINS = {"int": int_of, "round": round_of, "reversed": backwards,
            "abs": python_abs}


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
    and its functions in their checked forms, the helpers of s2sad's rules
    in their forms here, anything else as it is."""
    if value is math:
        return math_module
    if getattr(value, "__module__", "").startswith("s2sad.rules."):
        return _RULE_HELPERS.get(value.__name__, value)
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


# -- adjoints of array operations (see the same names in s2sad.runtime)

def matmul_adjoint_a(g, a, b):
    """d(a @ b)/da applied to the output adjoint `g`."""


@overload(matmul_adjoint_a)
def _matmul_adjoint_a(g, a, b):
    ranks = (a.ndim, b.ndim)
    if ranks == (2, 2):
        return lambda g, a, b: g @ b.T
    if ranks == (1, 2):
        return lambda g, a, b: b @ g
    if ranks == (1, 1):
        return lambda g, a, b: g * b
    if ranks == (2, 1):
        return lambda g, a, b: np.outer(g, b)
    return None


def matmul_adjoint_b(g, a, b):
    """d(a @ b)/db applied to the output adjoint `g`."""


@overload(matmul_adjoint_b)
def _matmul_adjoint_b(g, a, b):
    ranks = (a.ndim, b.ndim)
    if ranks == (2, 2):
        return lambda g, a, b: a.T @ g
    if ranks == (2, 1):
        return lambda g, a, b: g @ a
    if ranks == (1, 1):
        return lambda g, a, b: g * a
    if ranks == (1, 2):
        return lambda g, a, b: np.outer(a, g)
    return None


def _basic(index, new_axes=False):
    """Is the index type one of ints and slices (each item picked once;
    with `new_axes`, Nones too)?"""
    parts = index.types if isinstance(index, types.BaseTuple) else (index,)
    kinds = (types.Integer, types.SliceType) + (
        (types.NoneType,) if new_axes else ())
    return all(isinstance(p, kinds) for p in parts)


def _element(index, rank):
    """Does the index type pick one element of an array of `rank` axes?"""
    parts = index.types if isinstance(index, types.BaseTuple) else (index,)
    return len(parts) == rank and all(
        isinstance(p, types.Integer) for p in parts)


def _without_new_axes(index, at, g, value):
    """Python code for `x[index] = g` of a basic index (types `index` and
    `g`, read from the names `at` and `value`) with Nones (`x[:, None]`):
    the index without them, and g without the axes of length 1 they
    made (Numba writes through no new axes)."""
    parts = index.types if isinstance(index, types.BaseTuple) else (index,)
    if not any(isinstance(p, types.NoneType) for p in parts):
        return at, value
    axis, new, kept = 0, [], []
    for k, part in enumerate(parts):
        if isinstance(part, types.NoneType):
            new.append(axis)
        else:
            kept.append(f"{at}[{k}], " if isinstance(
                index, types.BaseTuple) else f"{at}, ")
        if not isinstance(part, types.Integer):
            axis += 1
    if not _is_array(g):
        return f"({''.join(kept)})", value
    shape = "".join(f"{value}.shape[{k}], " for k in range(g.ndim)
                    if k not in new)
    return f"({''.join(kept)})", \
        f"np.ascontiguousarray({value}).reshape(({shape}))"


def getitem_adjoint(g, x, index):
    """The adjoint of `x[index]`: `g` written into zeros (an index of ints
    and slices); of a tuple's item, a tuple of zeros but that item."""


@overload(getitem_adjoint)
def _getitem_adjoint(g, x, index):
    if _is_array(x):
        return lambda g, x, index: adjoints_into(None, x, False, False, g,
                                                 index)
    if isinstance(x, types.BaseTuple) and isinstance(
            index, types.IntegerLiteral):
        at = index.literal_value % len(x)
        items = ", ".join("g" if k == at else "zeros_like(x[%d])" % k
                          for k in range(len(x)))
        return _made(f"def item(g, x, index):\n    return ({items},)\n",
                     "item")
    if isinstance(x, types.BaseTuple) and _not_literal(index, types.Integer):
        return lambda g, x, index: numba.literally(index)
    return None


def _added_at(x, index, at, g, value):
    """Python lines adding g into `out` (an array shaped like x) at `index`
    (the types x, index and g; index and g read from the names `at` and
    `value`), duplicates of an index array added each; None for an index
    of another kind."""
    if _basic(index, new_axes=True):
        at, value = _without_new_axes(index, at, g, value)
        if _element(index, x.ndim):
            return [f"out[{at}] += {value}"]
        return [f"view = out[{at}]", f"view += {value}"]  # (no temporary)
    item = f"{value}[j]" if _is_array(g) else value
    if _is_array(index) and isinstance(index.dtype, types.Boolean) and \
            index.ndim == x.ndim:
        return [f"flat, chosen, j = out.reshape(out.size), {at}.ravel(), 0",
                "for k in range(chosen.size):",
                "    if chosen[k]:",
                f"        flat[k] += {item}",
                "        j += 1"]
    if _is_array(index) and isinstance(index.dtype, types.Integer) and \
            index.ndim == 1:
        if x.ndim == 1:
            return [f"for j in range({at}.shape[0]):",
                    f"    out[{at}[j]] += {item}"]
        return [f"for j in range({at}.shape[0]):",  # (rows: M[idx])
                f"    view = out[{at}[j]]",
                f"    view += {item}"]
    return None


def _made(text, name):
    """The function `name` that Python source `text` defines, reading this
    module's names (it is made as Numba types a kernel, after they are
    all defined)."""
    namespace = dict(globals())
    exec(text, namespace)
    return namespace[name]


def adjoints_into(total, x, owned, replaced, *pairs):
    """`total` plus each g of `pairs` (g1, index1, g2, index2, ...) added
    into its slice of an array shaped like `x` (total None: zeros;
    `owned`: total may be written into; `replaced`: total's items at
    index1 are replaced by g1): `runtime.getitem_adjoints`."""


@overload(adjoints_into)
def _adjoints_into(total, x, owned, replaced, *pairs):
    indices = [pairs[k] for k in range(1, len(pairs), 2)]
    if isinstance(x, types.BaseTuple):
        return _tuple_adjoints(total, x, pairs)
    if not _is_array(x):
        return None
    lines = ["def adjoints(total, x, owned, replaced, *pairs):"]
    if isinstance(total, types.NoneType):
        lines.append("    out = np.zeros(x.shape)")
    else:  # (owned: an adjoint array the kernel made)
        lines.append("    out = total if owned else total.copy()")
    if not _default(replaced, False):
        if not _basic(indices[0], new_axes=True):
            return None
        first, _ = _without_new_axes(indices[0], "pairs[1]", pairs[0],
                                     "pairs[0]")
        lines.append(f"    if replaced:\n        out[{first}] = 0.0")
    for k in range(0, len(pairs), 2):
        added = _added_at(x, pairs[k + 1], f"pairs[{k + 1}]", pairs[k],
                          f"pairs[{k}]")
        if added is None:
            return None
        lines += ["    " + line for line in added]
    lines.append("    return out")
    return _made("\n".join(lines) + "\n", "adjoints")


def _tuple_adjoints(total, x, pairs):
    """`adjoints_into` of a tuple `x` read at int constants: a tuple of its
    items' adjoints (total's items, or zeros, plus each g read there,
    added item by item where they are tuples too)."""
    indices = [pairs[k] for k in range(1, len(pairs), 2)]
    if not all(isinstance(i, types.IntegerLiteral) for i in indices):
        return None  # (Numba asks again with the constants' values)
    items = [[] if isinstance(total, types.NoneType) else ["total[%d]" % k]
             for k in range(len(x))]
    for k, index in zip(range(0, len(pairs), 2), indices):
        items[index.literal_value % len(x)].append(f"pairs[{k}]")
    sums = []
    for k, terms in enumerate(items):
        term = terms[0] if terms else "zeros_like(x[%d])" % k
        for other in terms[1:]:
            term = f"add_adjoints({term}, {other})"
        sums.append(term)
    return _made("def adjoints(total, x, owned, replaced, *pairs):\n"
                 f"    return ({', '.join(sums)},)\n", "adjoints")


def add_adjoints(a, b):
    """`a + b` of two adjoints; of tuples, item by item (Numba's `+` joins
    tuples)."""


@overload(add_adjoints)
def _add_adjoints(a, b):
    if isinstance(a, types.BaseTuple) or isinstance(b, types.BaseTuple):
        if not (isinstance(a, types.BaseTuple) and isinstance(
                b, types.BaseTuple) and len(a) == len(b)):
            return None
        items = "".join(f"add_adjoints(a[{k}], b[{k}]), "
                        for k in range(len(a)))
        return _made(f"def added(a, b):\n    return ({items})\n", "added")
    return lambda a, b: a + b


def item_adjoint(g, index):
    """`g[index]`, the adjoint of the item a setitem wrote."""


@overload(item_adjoint)
def _item_adjoint(g, index):
    if not _numpy_reads(index):
        return None
    if _is_array(g):
        return lambda g, index: g[index]
    return lambda g, index: g


def setitem_owned(x, index, value):
    """`x[index] = value` in `x` itself, an array the kernel owns."""


@overload(setitem_owned)
def _setitem_owned(x, index, value):
    if _is_array(x) and x.mutable and _numpy_reads(index):
        def written(x, index, value):
            x[index] = value
            return x
        return written
    return None


def cleared(g, index):
    """`g` with its items at `index` made 0: in g itself (which the kernel
    owns) where the index picks one element, else in a copy (a slice read
    before may be a view of g)."""


@overload(cleared)
def _cleared(g, index):
    if not _is_array(g) or not _numpy_reads(index):
        return None
    if _element(index, g.ndim):
        def in_place(g, index):
            g[index] = 0.0
            return g
        return in_place

    def copied(g, index):
        out = g.copy()
        out[index] = 0.0
        return out
    return copied


def owned_adjoint(g):
    """A copy of the adjoint array `g`, which a loop then changes in place
    (`cleared`)."""


@overload(owned_adjoint)
def _owned_adjoint(g):
    if _is_array(g):
        return lambda g: g.copy()
    return lambda g: g


def accumulated(total, term):
    """`total + term`, into `total` (an adjoint array the kernel owns) when
    the sum has total's shape."""


@overload(accumulated)
def _accumulated(total, term):
    if isinstance(total, types.BaseTuple):
        return lambda total, term: add_adjoints(total, term)
    if not _is_array(total):
        return lambda total, term: total + term
    if not _is_array(term):
        def added_number(total, term):
            total += term
            return total
        return added_number

    def added(total, term):
        if term.shape == total.shape:
            total += term
            return total
        return total + term
    return added


def numpy_expand_dims(x, axes):
    """`np.expand_dims(x, axes)` of a tuple of axes (Numba's takes one)."""


@overload(numpy_expand_dims)
def _numpy_expand_dims(x, axes):
    if not isinstance(axes, types.BaseTuple):
        return lambda x, axes: np.expand_dims(x, axes)
    rank = (x.ndim if _is_array(x) else 0) + len(axes)
    # (each new axis at its place in the result, the first place first)
    lines = ["def expanded(x, axes):",
             "    a = np.asarray(x)",
             f"    places = np.sort(np.array(axes) % {rank})"]
    for k in range(len(axes)):
        lines.append(f"    a = np.expand_dims(a, places[{k}])")
    lines.append("    return a")
    return _made("\n".join(lines) + "\n", "expanded")


def matrix_shape(b, x):
    """`np.linalg.solve`'s rule's shape of x seen as a stack of
    matrices."""


@overload(matrix_shape)
def _matrix_shape(b, x):
    if _is_array(b) and b.ndim == 1:
        return lambda b, x: x.shape + (1,)
    return lambda b, x: x.shape


def real_only(a, name):
    """A real matrix passes (a kernel's arrays are float64)."""


@overload(real_only)
def _real_only(a, name):
    return lambda a, name: None


def _default(t, value):
    """Is the argument type `t` the default `value` (left out, or that
    constant)?"""
    if isinstance(t, types.Omitted):
        t = t.value
    return t is value or value is None and isinstance(t, types.NoneType) \
        or getattr(t, "literal_value", _UNSET) is value


_UNSET = object()


def _one_axis(axis):
    return isinstance(axis, types.Integer)


def _not_literal(t, kind):
    """Is `t` a `kind` type whose value Numba has not given (a form that
    depends on it then asks for it: `numba.literally`)?"""
    return isinstance(t, kind) and not isinstance(t, types.Literal)


def unreduce(g, x, axis=None, keepdims=False, where=True):
    """The adjoint of a sum over `axis` (None, or one axis): `g` spread
    back over x's shape."""


@overload(unreduce)
def _unreduce(g, x, axis=None, keepdims=False, where=True):
    if not _default(where, True):
        return None
    if not _is_array(x):
        return lambda g, x, axis=None, keepdims=False, where=True: g
    if _default(axis, None) or not _is_array(g) or g.ndim == x.ndim:
        def spread(g, x, axis=None, keepdims=False, where=True):
            return np.zeros(x.shape) + g
        return spread
    if not _one_axis(axis):
        return None

    def along(g, x, axis=None, keepdims=False, where=True):
        return np.zeros(x.shape) + np.expand_dims(g, axis % x.ndim)
    return along


def expand_reduced(g, x, axis=None, keepdims=False):
    """`g`, the adjoint of a reduction of x over `axis`, with the reduced
    axis put back as length 1."""


@overload(expand_reduced)
def _expand_reduced(g, x, axis=None, keepdims=False):
    if _default(axis, None) or not _is_array(g) or not _is_array(x) or \
            g.ndim == x.ndim:
        return lambda g, x, axis=None, keepdims=False: g
    if not _one_axis(axis):
        return None
    return lambda g, x, axis=None, keepdims=False: np.expand_dims(
        g, axis % x.ndim)


def reduced_size(x, axis=None, keepdims=False, where=True):
    """How many elements a reduction over `axis` combines."""


@overload(reduced_size)
def _reduced_size(x, axis=None, keepdims=False, where=True):
    if not _default(where, True):
        return None
    if not _is_array(x):
        return lambda x, axis=None, keepdims=False, where=True: 1
    if _default(axis, None):
        return lambda x, axis=None, keepdims=False, where=True: x.size
    if not _one_axis(axis):
        return None
    return lambda x, axis=None, keepdims=False, where=True: x.shape[axis]


def through_cast(g, cast):
    """`g` through a cast whose result is `cast`: zero for ints and bools,
    else `g`."""


@overload(through_cast)
def _through_cast(g, cast):
    kind = cast.dtype if _is_array(cast) else cast
    if isinstance(kind, (types.Integer, types.Boolean)):
        return lambda g, cast: 0.0 * g
    return lambda g, cast: g


def tie_weights(a, y, axis=None, keepdims=False, initial=None, where=True):
    """1/k at each of the k elements of `a` equal to the max or min `y`
    over `axis` (None, or one axis), 0 elsewhere."""


@overload(tie_weights)
def _tie_weights(a, y, axis=None, keepdims=False, initial=None, where=True):
    if not (_default(initial, None) and _default(where, True)) or \
            not _is_array(a):
        return None
    if _default(axis, None) or not _is_array(y) or a.ndim == 1:
        def over_all(a, y, axis=None, keepdims=False, initial=None,
                     where=True):
            hit = (a == y) * 1.0
            return hit / max(np.sum(hit), 1.0)
        return over_all
    if not _one_axis(axis):
        return None
    if _is_array(y) and y.ndim == a.ndim:  # (keepdims)
        def kept(a, y, axis=None, keepdims=False, initial=None, where=True):
            hit = (a == y) * 1.0
            ties = np.expand_dims(np.sum(hit, axis % a.ndim), axis % a.ndim)
            return hit / np.maximum(ties, 1.0)
        return kept

    def along(a, y, axis=None, keepdims=False, initial=None, where=True):
        at = axis % a.ndim
        hit = (a == np.expand_dims(y, at)) * 1.0
        return hit / np.maximum(np.expand_dims(np.sum(hit, at), at), 1.0)
    return along


def dot_adjoint_a(g, a, b):
    """d(np.dot(a, b))/da, of numbers, vectors and matrices."""


@overload(dot_adjoint_a)
def _dot_adjoint_a(g, a, b):
    if not _is_array(a) or not _is_array(b):
        return lambda g, a, b: unbroadcast(g * b, a)
    if a.ndim <= 2 and b.ndim <= 2:
        return lambda g, a, b: matmul_adjoint_a(g, a, b)
    return None


def dot_adjoint_b(g, a, b):
    """d(np.dot(a, b))/db, of numbers, vectors and matrices."""


@overload(dot_adjoint_b)
def _dot_adjoint_b(g, a, b):
    if not _is_array(a) or not _is_array(b):
        return lambda g, a, b: unbroadcast(g * a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return lambda g, a, b: matmul_adjoint_b(g, a, b)
    return None


def attribute_cotangent(g, x, name):
    """The adjoint of `x.T` (and of `x.real`, of a real array)."""


@overload(attribute_cotangent)
def _attribute_cotangent(g, x, name):
    if not isinstance(name, types.StringLiteral):
        return None  # (Numba asks again with the name's value)
    if name.literal_value == "T":
        return lambda g, x, name: np.transpose(g)
    if name.literal_value == "real":
        return lambda g, x, name: g
    return None


def inside(x, low, high):
    """1.0 where low <= x <= high (a None bound is open), else 0.0."""


@overload(inside)
def _inside(x, low, high):
    tests = ["(x >= low)" if not _default(low, None) else None,
             "(x <= high)" if not _default(high, None) else None]
    tests = [t for t in tests if t]
    if not _is_array(x):
        test = " and ".join(tests) or "True"
        return _made(f"def inside(x, low, high):\n"
                     f"    return 1.0 if {test} else 0.0\n", "inside")
    test = " & ".join(tests) or "np.ones(x.shape, np.bool_)"
    return _made(f"def inside(x, low, high):\n"
                 f"    return ({test}) * 1.0\n", "inside")


def array_like(x, like):
    """`x` (NumPy's arrays are the only ones a kernel meets)."""


@overload(array_like)
def _array_like(x, like):
    return lambda x, like: x


def safe_reciprocal(x):
    """1 / x, and 0 where x is 0."""


@overload(safe_reciprocal)
def _safe_reciprocal(x):
    if _is_array(x):
        return lambda x: np.where(x != 0, 1.0 / np.where(x != 0, x, 1.0),
                                  0.0)
    return lambda x: 1.0 / x if x != 0 else 0.0 * x


def diagonal_mask(a, offset=0, axis1=0, axis2=1):
    """M (n, m): 1.0 where np.trace(a, offset, axis1, axis2) reads."""


@overload(diagonal_mask)
def _diagonal_mask(a, offset=0, axis1=0, axis2=1):
    return lambda a, offset=0, axis1=0, axis2=1: np.eye(
        a.shape[axis1], a.shape[axis2], offset)


def product_of_others(a, axis):
    """For each element of `a`, the product of the others (exact at zeros):
    over all of a, or along the one axis of a vector."""


@overload(product_of_others)
def _product_of_others(a, axis):
    if not (_default(axis, None) or a.ndim == 1 and _one_axis(axis)):
        return None

    def others(a, axis):
        items = np.ascontiguousarray(a).reshape(a.size)
        out = np.ones(a.size)
        left = 1.0
        for k in range(a.size):
            out[k] = left
            left *= items[k]
        right = 1.0
        for k in range(a.size - 1, -1, -1):
            out[k] *= right
            right *= items[k]
        return out.reshape(a.shape)
    return others


# the helpers of s2sad's rules that generated code calls by their names
_RULE_HELPERS = {"_matrix_shape": matrix_shape, "_real_only": real_only,
                 "_tie_weights": tie_weights,
                 "_safe_reciprocal": safe_reciprocal,
                 "_diagonal_mask": diagonal_mask,
                 "_product_of_others": product_of_others}


def setitem(x, index, value):
    """A copy of the array `x` with `x[index] = value`."""


@overload(setitem)
def _setitem(x, index, value):
    if not _is_array(x) or not _numpy_reads(index):
        return None

    def written(x, index, value):
        out = x.copy()
        out[index] = value
        return out
    return written


def _reduction(name):
    """np.<name>(a, axis=None, keepdims=False) as a kernel computes it:
    Numba's own where it has the form (no axis), else along one axis (an
    int constant) by Numba's of each row."""
    function = getattr(np, name)

    def stub(a, axis=None, keepdims=False):
        return function(a, axis=axis, keepdims=keepdims)

    @overload(stub)
    def _stub(a, axis=None, keepdims=False):
        if not _is_array(a):
            return lambda a, axis=None, keepdims=False: function(a)
        if _not_literal(keepdims, types.Boolean):
            # (the result's shape depends on it)
            return lambda a, axis=None, keepdims=False: numba.literally(
                keepdims)
        if _default(axis, None):
            if _default(keepdims, False):
                return lambda a, axis=None, keepdims=False: function(a)
            shape = "(" + "1, " * a.ndim + ")"
            return _made(
                "def reduced(a, axis=None, keepdims=False):\n"
                f"    return np.full({shape}, np.{name}(a))\n", "reduced")
        if a.ndim == 1 and isinstance(axis, types.Integer):
            if _default(keepdims, False):  # (the one axis: a number)
                return lambda a, axis=None, keepdims=False: function(a)
            return lambda a, axis=None, keepdims=False: np.full(
                (1,), function(a))
        if _not_literal(axis, types.Integer):
            return lambda a, axis=None, keepdims=False: numba.literally(
                axis)
        if not isinstance(axis, types.IntegerLiteral):
            return None
        at = axis.literal_value % a.ndim
        rest = [k for k in range(a.ndim) if k != at]
        order = "(" + "".join(f"{k}, " for k in rest + [at]) + ")"
        kept = "(" + "".join(
            "1, " if k == at else f"a.shape[{k}], " for k in range(a.ndim)
            if k != at or _default(keepdims, True)) + ")"
        return _made(
            "def reduced(a, axis=None, keepdims=False):\n"
            f"    rows = np.ascontiguousarray(np.transpose(a, {order}))\n"
            f"    rows = rows.reshape((-1, a.shape[{at}]))\n"
            "    out = np.empty(rows.shape[0])\n"
            "    for r in range(rows.shape[0]):\n"
            f"        out[r] = np.{name}(rows[r])\n"
            f"    return out.reshape({kept})\n", "reduced")
    stub.__name__ = stub.__qualname__ = f"numpy_{name}"
    return stub


numpy_sum, numpy_mean, numpy_max, numpy_min, numpy_prod = (
    _reduction(name) for name in ("sum", "mean", "max", "min", "prod"))


def _numpy_reads(index):
    """Does Numba read `x[index]` (the index's type) as NumPy does? Not a
    mask of more than one axis (Numba reads it as an array of ints), nor a
    tuple of more than one array (Numba takes one)."""
    parts = index.types if isinstance(index, types.BaseTuple) else (index,)
    arrays = [p for p in parts if _is_array(p)]
    return len(arrays) <= 1 and not any(
        isinstance(p.dtype, types.Boolean) and p.ndim > 1 for p in arrays)


def subscript(x, index):
    """`x[index]` of an index a kernel knows only by its type: as NumPy
    reads it (a mask of several axes picks items in order)."""


@overload(subscript)
def _subscript(x, index):
    if not _is_array(x) or _numpy_reads(index):
        return lambda x, index: x[index]
    if _is_array(index) and isinstance(index.dtype, types.Boolean) and \
            index.ndim == x.ndim:
        def masked(x, index):
            if x.shape != index.shape:
                raise IndexError("the mask's shape is not the array's")
            items, chosen = np.ascontiguousarray(x).reshape(x.size), \
                index.ravel()
            out = np.empty(np.count_nonzero(chosen))
            j = 0
            for k in range(chosen.size):
                if chosen[k]:
                    out[j] = items[k]
                    j += 1
            return out
        return masked
    return None


def overwritten(x, index):
    """What `x[index] = ...` is about to overwrite (an array the kernel
    owns), copied, for the backward sweep to put back (`restore`)."""


@overload(overwritten)
def _overwritten(x, index):
    if not (_is_array(x) and x.mutable and _numpy_reads(index)):
        return None
    if _element(index, x.ndim):
        return lambda x, index: x[index]
    return lambda x, index: x[index].copy()


def setitem_in_place(x, index, value, old):
    """`x[index] = value` in `x` itself (`old`: what `overwritten` kept of
    it); returns x."""


@overload(setitem_in_place)
def _setitem_in_place(x, index, value, old):
    if not (_is_array(x) and x.mutable and _numpy_reads(index)):
        return None

    def written(x, index, value, old):
        x[index] = value
        return x
    return written


def restore(x, index, old):
    """Undo `setitem_in_place`: put back what `overwritten` kept."""


@overload(restore)
def _restore(x, index, old):
    if not (_is_array(x) and x.mutable and _numpy_reads(index)):
        return None

    def put_back(x, index, old):
        x[index] = old
    return put_back


def _spread(name):
    """np.var or np.std (`name`) of an array as a kernel computes it:
    over all of it or along one axis, with `ddof` and `keepdims`, by the
    formula NumPy uses (the mean squared deviation, over n - ddof)."""
    root = name == "std"

    def stub(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return getattr(np, name)(a, axis=axis, ddof=ddof, keepdims=keepdims)

    @overload(stub)
    def _stub(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        if not (_is_array(a) and _default(dtype, None) and
                _default(out, None)):
            return None
        if _not_literal(keepdims, types.Boolean):
            return lambda a, axis=None, dtype=None, out=None, ddof=0, \
                keepdims=False: numba.literally(keepdims)
        if _not_literal(axis, types.Integer) and a.ndim > 1:
            return lambda a, axis=None, dtype=None, out=None, ddof=0, \
                keepdims=False: numba.literally(axis)
        finish = "np.sqrt(v)" if root else "v"
        return _made(
            "def spread(a, axis=None, dtype=None, out=None, ddof=0,\n"
            "           keepdims=False):\n"
            "    d = a - numpy_mean(a, axis=axis, keepdims=True)\n"
            "    v = numpy_sum(d * d, axis=axis, keepdims=keepdims) / (\n"
            "        reduced_size(a, axis) - ddof)\n"
            f"    return {finish}\n", "spread")
    stub.__name__ = stub.__qualname__ = f"numpy_{name}"
    return stub


numpy_var, numpy_std = _spread("var"), _spread("std")

"""Rules for Python's operators (`+ - * / ** @`, unary minus, comparisons).

NumPy's ufunc spellings of the same operations share these rules.
"""

import operator

import numpy as np

from s2sad import runtime
from s2sad.rules.registry import (
    adjoint, d, elementwise, non_differentiable, tangent)

# ---- arithmetic ----


@elementwise(operator.add, np.add, runtime.accumulated, runtime.iadd)
def add(z, x, y):
    """Total: no special points."""
    return 1.0, 1.0


@elementwise(operator.sub, np.subtract, runtime.isub)
def sub(z, x, y):
    """Total: no special points."""
    return 1.0, -1.0


@elementwise(operator.mul, np.multiply, runtime.imul)
def mul(z, x, y):
    """Total: 0 * inf partials give nan, as IEEE and JAX."""
    return y, x


@elementwise(operator.truediv, np.divide, np.true_divide, runtime.divide,
             runtime.itruediv, domain="nonzero")
def truediv(z, x, y):
    """Special points: IEEE, as JAX (1 / 0 is inf; d/dy at y = 0 is -inf,
    nan when x = 0 too)."""
    return 1.0 / y, -z / y


@elementwise(operator.pow, np.power, runtime.power, runtime.ipow,
             domain="positive")
def pow(z, x, y):
    """Special points, as JAX: d/dx is 0 wherever y == 0 (x ** 0 is 1,
    at x = 0 too), inf at x = 0 for 0 < y < 1 and nan there for y < 0;
    d/dy takes log 0 as 0, so it is 0 at x = 0 for y >= 0 (0 ** y is 0)
    and nan for y < 0; for x < 0 it is nan (log of a negative number)."""
    return (y * x ** np.where(y == 0, 1.0, y - 1),
            np.log(np.where(x == 0, 1.0, x)) * z)


@elementwise(operator.neg, np.negative)
def neg(y, x):
    """Total: no special points."""
    return -1.0


@elementwise(operator.pos, np.positive)
def pos(y, x):
    """Total: no special points."""
    return 1.0


@elementwise(operator.mod, np.mod, np.remainder, runtime.imod,
             domain="positive")
def mod(z, x, y):
    """1 and -floor(x / y), the derivative of x - floor(x / y) * y away from
    its jumps; at a jump, the right-hand one; y = 0: nan (the primal raises
    for Python numbers)."""
    return 1.0, -np.floor(x / y)


@elementwise(np.fmod, domain="nonzero")
def np_fmod(z, x, y):
    """1 and -trunc(x / y), the derivative of x - trunc(x / y) * y (C's
    fmod, the sign of x) away from its jumps; trunc(x / y) is read back
    exactly from the value; y = 0: nan, as NumPy gives."""
    return 1.0, np.round((z - x) / y)


# ---- products ----


# (runtime.saved_product: a product s2sad.checkpoint(save="products") keeps)
@adjoint(operator.matmul, np.matmul, runtime.imatmul,
         runtime.saved_product)
def matmul(z, x, y):
    d[x] = runtime.matmul_adjoint_a(d[z], x, y)
    d[y] = runtime.matmul_adjoint_b(d[z], x, y)


@tangent(operator.matmul, np.matmul, runtime.imatmul,
         runtime.saved_product)
def matmul_fwd(z, x, y):
    d[z] = d[x] @ y + x @ d[y]


# ---- non-differentiable ----

non_differentiable(
    operator.floordiv, np.floor_divide, operator.eq, operator.ne, operator.lt,
    operator.le, operator.gt, operator.ge, operator.is_, operator.is_not,
    operator.not_, operator.invert, operator.and_, operator.or_, operator.xor,
    operator.lshift, operator.rshift, runtime.ifloordiv, runtime.iand,
    runtime.ior, runtime.bit_or, runtime.ixor, runtime.ilshift,
    runtime.irshift, runtime.check_unshared, runtime.check_alone,
    runtime.check_not_view, runtime.check_element_not_view,
    runtime.check_indexed, runtime.check_unpacking,
    runtime.check_list_method, runtime.check_item_assignment,
    runtime.check_bound,
    runtime.keys,
    runtime.check_distinct)

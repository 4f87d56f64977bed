"""Plain functions to differentiate, with a point to check them at.

`CASES` maps a name to (function, args, argnums). Every function here is
straight-line code or `if`/`elif`/`else`; the tests differentiate each one and
compare with central differences, and check the SSA invariants on each.
"""

import math

import numpy as np

SCALE = 1.5
WEIGHTS = np.array([0.5, -1.0, 2.0])


def polynomial(x, y):
    return x ** 3 * y - 2.0 * x * y ** 2 + 7.0


def division_chain(x, y):
    return (x / y - y / x) / (x * y + 1.0)


def math_mix(x, y):
    a = math.sin(x) * math.cos(y) + math.tan(x / 4)
    b = math.exp(-x * x) + math.log(y) + math.log1p(x * x) + math.expm1(y / 3)
    c = math.sqrt(x * x + y * y) + math.tanh(x) + math.sinh(y / 2) + math.cosh(x / 3)
    d = math.asin(x / 4) + math.acos(y / 4) + math.atan(x) + math.atan2(y, x)
    return a * b + c - d + math.pow(y, 1.5)


def numpy_mix(x, y):
    a = np.sin(x) * np.cos(y) + np.tan(x / 4) + np.square(x - y)
    b = np.exp(-x * x) + np.log(y) + np.log1p(x * x) + np.expm1(y / 3)
    c = np.sqrt(x * x + y * y) + np.tanh(x) + np.sinh(y / 2) + np.cosh(x / 3)
    d = np.arcsin(x / 4) + np.arccos(y / 4) + np.arctan(x) + np.arctan2(y, x)
    return np.sum(a * b + c - d + np.abs(x - 2.0 * y))


def augmented(x, y):
    z = x
    z += y
    z *= x
    z -= 1.0
    z /= y
    z **= 2
    return z


def swap(x, y):
    a, b = x, y
    a, b = b, a * b
    return a - b * 3.0


def branches(x, y):
    if x > y:
        z = x * y
    elif x < 0:
        z = -x
    else:
        z = math.sin(x) + y
    return z * z


def early_return(x, y):
    if x > 2.0:
        return x * y
    w = x + y
    if y < 0:
        return w * w
    w = w * x
    return w + y


def nested_branches(x, y):
    z = x
    if x > 0:
        if y > 0:
            z = z * y
        else:
            z = z - y
        z = z + 1.0
    else:
        z = z * z
    return z * x


def conditional_expression(x, y):
    a = x * y if x > y else x + y
    return a * a + (y if y > 0 else -y)


def boolean_operators(x, y):
    a = (x > 0 and y) or x * 2.0
    b = x > 1.0 or y > 1.0
    c = a if b and not x < -3.0 else a * a
    return c * y + (0.0 or x)


def one_sided_branch(x, y):
    z = x * 2.0
    if y > 0:
        z = z * y
    return z + x


def globals_and_constants(x):
    return SCALE * np.sum(WEIGHTS * x) + np.pi * x[0]


def broadcasting(a, b):
    return np.sum(a * b + a / (b * b + 1.0) - b ** 2 + np.maximum(a, b))


def reductions(x):
    m = np.mean(x, axis=0)
    s = np.sum(x * x, axis=1, keepdims=True)
    return np.sum(m * m) + np.mean(s) + np.sum(x, axis=(0, 1))


def matrix_products(w, X, y):
    r = X @ w - y
    return np.dot(r, r) + np.sum(np.matmul(X.T, r))


def where_and_min(x):
    return np.sum(np.where(x > 0, x * x, -x) + np.minimum(x, 0.5))


def indexing(x):
    return x[0] * x[-1] + np.sum(x[1:3] ** 2) + np.sum(x[::2])


def uses_shape(x):
    n = x.shape[0]
    return np.sum(x * x) / n + len(x)


def inactive_argument(x, n):
    k = n * 2
    if k > 3:
        return x * k
    return x


def constant_output(x):
    return 3.0


def integer_power(x):
    return x ** 2 + 2 ** x + x ** -1


def logistic(z):
    return 1 / (1 + np.exp(-z))


_V = np.array([0.3, -1.2, 0.8])
_M = np.array([[1.0, 2.0, 0.5], [0.1, -0.3, 0.7]])

CASES = {
    "polynomial": (polynomial, (1.3, -0.7), (0, 1)),
    "division_chain": (division_chain, (1.3, 0.7), (0, 1)),
    "math_mix": (math_mix, (0.9, 1.4), (0, 1)),
    "numpy_mix": (numpy_mix, (np.array([0.9, 0.4]), np.array([1.4, 1.1])),
                  (0, 1)),
    "augmented": (augmented, (1.3, 0.7), (0, 1)),
    "swap": (swap, (1.3, 0.7), (0, 1)),
    "branches_first": (branches, (1.3, 0.7), (0, 1)),
    "branches_second": (branches, (-1.3, 0.7), (0, 1)),
    "branches_third": (branches, (0.3, 0.7), (0, 1)),
    "early_return_first": (early_return, (2.5, 0.7), (0, 1)),
    "early_return_second": (early_return, (1.5, -0.7), (0, 1)),
    "early_return_third": (early_return, (1.5, 0.7), (0, 1)),
    "nested_branches_a": (nested_branches, (1.5, 0.7), (0, 1)),
    "nested_branches_b": (nested_branches, (1.5, -0.7), (0, 1)),
    "nested_branches_c": (nested_branches, (-1.5, 0.7), (0, 1)),
    "conditional_expression_a": (conditional_expression, (1.5, 0.7), (0, 1)),
    "conditional_expression_b": (conditional_expression, (0.5, -0.7), (0, 1)),
    "boolean_operators_a": (boolean_operators, (1.5, 0.7), (0, 1)),
    "boolean_operators_b": (boolean_operators, (-1.5, 0.7), (0, 1)),
    "boolean_operators_c": (boolean_operators, (0.5, 0.3), (0, 1)),
    "one_sided_branch_a": (one_sided_branch, (1.5, 0.7), (0, 1)),
    "one_sided_branch_b": (one_sided_branch, (1.5, -0.7), (0, 1)),
    "globals_and_constants": (globals_and_constants, (_V,), (0,)),
    "broadcasting": (broadcasting, (_M, _V), (0, 1)),
    "reductions": (reductions, (_M,), (0,)),
    "matrix_products": (matrix_products, (_V, _M, np.array([0.2, -0.1])),
                        (0, 1, 2)),
    "where_and_min": (where_and_min, (np.array([0.3, -1.2, 0.8, 0.1]),), (0,)),
    "indexing": (indexing, (np.array([0.3, -1.2, 0.8, 0.1, 2.0]),), (0,)),
    "uses_shape": (uses_shape, (_V,), (0,)),
    "inactive_argument": (inactive_argument, (1.5, 3), (0,)),
    "integer_power": (integer_power, (1.5,), (0,)),
    "logistic": (logistic, (1.5,), (0,)),
}

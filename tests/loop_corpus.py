"""Functions with loops, and points to check them at: (function, args, argnums)."""

import math

import numpy as np


def logistic_map(x, n):
    L = x
    for i in range(n):
        L = 4.0 * L * (1.0 - L)
    return L


def range_forms(x):
    s = x
    for i in range(2, 9, 3):
        s = s * x + i
    for i in range(5, 0, -2):
        s = s - x / i
    for i in range(0):
        s = s * 100.0
    return s


def data_dependent_bounds(x, n):
    s = 0.0
    for i in range(n * 2 - 1):
        s = s + math.sin(x * i)
    return s


def while_loop(x):
    s = x
    k = 0
    while k < 4 and s < 100.0:
        s = s * s + 1.0
        k += 1
    return s


def branch_in_loop(x, y):
    s = 0.0
    for i in range(5):
        if s > 1.0:
            s = s * 0.5 + x
        elif i % 2 == 0:
            s = s + x * y
        else:
            s = s - y
    return s


def nested_loops(x, y):
    s = x
    for i in range(3):
        t = y
        for j in range(i + 1):
            t = t * s + j
        s = s + math.tanh(t)
    return s


def loop_in_branch(x, y):
    if x > 0:
        s = y
        for i in range(3):
            s = s * x
    else:
        s = -y
    return s + x


def rows_of_an_array(X, w):
    s = 0.0
    for row in X:
        s = s + np.dot(row, w)
    return s


def enumerate_and_zip(x, w):
    s = 0.0
    for i, xi in enumerate(x):
        s = s + xi * i
    for a, b in zip(x, w):
        s = s + a * b * b
    for i, wi in enumerate(w, 1):
        s = s + wi / i
    return s


def lists_and_tuples(x, y):
    s = 0.0
    for v in [x, y, x * y]:
        s = s + v * v
    for v in (x, 2.0):
        s = s * v
    return s


def loop_variable_after_loop(x):
    for i in range(3):
        y = x * i
    return y * i + x


def swap_in_loop(x, y):
    a, b = x, y
    for i in range(3):
        a, b = b, a * b
    return a + b


def tanh_rnn(h, W, U, xs):
    for x in xs:
        h = np.tanh(h @ W + x @ U)
    return np.sum(h * h)


def loop_never_runs(x):
    s = x * 2.0
    for i in range(0):
        s = s * x
    return s


_rng = np.random.default_rng(3)
_X = _rng.standard_normal((4, 3))
_W = _rng.standard_normal((3, 3)) * 0.5
_U = _rng.standard_normal((2, 3)) * 0.5
_XS = _rng.standard_normal((5, 4, 2))

CASES = {
    "logistic_map": (logistic_map, (0.3, 4), (0,)),
    "range_forms": (range_forms, (0.7,), (0,)),
    "data_dependent_bounds": (data_dependent_bounds, (0.7, 3), (0,)),
    "while_loop": (while_loop, (1.1,), (0,)),
    "while_loop_early_exit": (while_loop, (4.0,), (0,)),
    "branch_in_loop": (branch_in_loop, (0.6, 0.9), (0, 1)),
    "branch_in_loop_b": (branch_in_loop, (0.1, 0.2), (0, 1)),
    "nested_loops": (nested_loops, (0.4, 0.3), (0, 1)),
    "loop_in_branch": (loop_in_branch, (0.8, 0.5), (0, 1)),
    "loop_in_branch_b": (loop_in_branch, (-0.8, 0.5), (0, 1)),
    "rows_of_an_array": (rows_of_an_array, (_X, _X[0]), (0, 1)),
    "enumerate_and_zip": (enumerate_and_zip, (_X[1], _X[2]), (0, 1)),
    "lists_and_tuples": (lists_and_tuples, (0.7, -1.2), (0, 1)),
    "loop_variable_after_loop": (loop_variable_after_loop, (0.7,), (0,)),
    "swap_in_loop": (swap_in_loop, (0.7, 1.3), (0, 1)),
    "tanh_rnn": (tanh_rnn, (_X[0], _W, _U, _XS), (0, 1, 2, 3)),
    "loop_never_runs": (loop_never_runs, (0.7,), (0,)),
}


def break_continue(x, y):
    s = 0.0
    for i in range(10):
        if i % 3 == 1:
            continue
        s = s + x * i
        if s > 4.0:
            break
        s = s * y
    return s + i


def return_in_loop(x, y):
    s = x
    for i in range(6):
        s = s * y + 1.0
        if s > 3.0:
            return s * x
    return -s


def nested_break(x):
    total = 0.0
    for i in range(4):
        j = 0
        while True:
            total = total + x * j
            j += 1
            if j > i:
                break
    return total


def while_with_continue(x):
    s = x
    k = 0
    while k < 6:
        k += 1
        if k == 2:
            continue
        s = s * 0.9 + math.sin(s)
    return s


def chained_comparison(x, y):
    s = 0.0
    for i in range(4):
        if 0.0 < s < 1.0 <= y:
            s = s + x * y
        else:
            s = s + x
    return s


CASES.update({
    "break_continue": (break_continue, (0.6, 0.9), (0, 1)),
    "break_continue_early": (break_continue, (1.6, 0.9), (0, 1)),
    "return_in_loop": (return_in_loop, (0.6, 1.4), (0, 1)),
    "return_in_loop_never": (return_in_loop, (0.1, 0.2), (0, 1)),
    "nested_break": (nested_break, (0.6,), (0,)),
    "while_with_continue": (while_with_continue, (0.6,), (0,)),
    "chained_comparison": (chained_comparison, (0.3, 1.5), (0, 1)),
    "chained_comparison_b": (chained_comparison, (0.3, 0.5), (0, 1)),
})


def broadcasting_in_loop(a, v):
    s = 0.0
    for i in range(3):
        s = s + np.sum(np.tanh(a * v + i) * v)
        v = v * 0.5 + a
    return s


CASES["broadcasting_in_loop"] = (
    broadcasting_in_loop, (_X[:2, :1], _X[3]), (0, 1))


def reversed_loops(x, v):
    s = x
    for i in reversed(range(1, 4)):
        s = s * x + i
    for vi in reversed(v):
        s = s * 0.5 + vi * s
    return s


CASES["reversed_loops"] = (reversed_loops, (0.7, _X[0]), (0, 1))


def bond_price(y, cfs):
    p = 0.0
    for t, c in enumerate(cfs, start=1):
        p += c / (1 + y) ** t
    return p


def keyword_builtins(x, w):
    s = sum([c * x ** t for t, c in enumerate(start=2, iterable=w)])
    for a, b in zip(w, w[::-1], strict=False):
        s = s + a * b * x
    for k, a in enumerate(w[1:], start=-1):
        s = s + k * a * x
    return s


CASES["bond_price"] = (bond_price, (0.05, [5.0, 105.0]), (0, 1))
CASES["keyword_builtins"] = (keyword_builtins, (0.7, _X[0]), (0, 1))


# values the same on every iteration, which the reverse sweep reads as the
# loop left them (not taped)
_SCALE = np.array([1.0, 0.5, 2.0])
STEP = 0.1


def invariants_in_loop(x, s, n):
    for i in range(n):
        h = STEP * s
        a = s * _SCALE
        x = x + h * np.sin(x) * a
    return np.sum(x * x)


def invariant_of_the_inner_loop_only(x, s, n):
    for i in range(n):
        for j in range(2):
            c = s * x[i]  # (the same for every j, not every i)
            x = x + c * 0.1
    return np.sum(x ** 2)


def invariant_changed_after_the_loop(x, s, n):
    a = s * _SCALE
    for i in range(n):
        a = s * _SCALE
        x = x * a
    a[1] = 0.0
    return np.sum(x * a)


def invariant_in_a_while_loop(x, s, n):
    i = 0
    while i < n:
        a = s * 3.0
        x = np.tanh(x * a)
        i = i + 1
    return np.sum(x)


def invariant_before_a_break(x, s, n):
    for i in range(n):
        a = s * 2.0
        if i > 1:
            break
        x = x * a
    return np.sum(x)


for _f in (invariants_in_loop, invariant_of_the_inner_loop_only,
           invariant_changed_after_the_loop, invariant_in_a_while_loop,
           invariant_before_a_break):
    for _n in (3, 0):
        CASES[f"{_f.__name__}_{_n}"] = (
            _f, (np.array([0.1, -0.2, 0.3]), 0.7, _n), (0, 1))


# a chain of springs whose positions, velocities and forces are lists the
# function makes and writes item by item (`f[i] += s`, `x[i] += ...`)
SPRINGS = 6
DT = 0.01


def spring_chain(k, m, steps=40):
    x = [0.0] * SPRINGS
    v = [0.0] * SPRINGS
    x[0] = 1.0
    for _ in range(steps):
        f = [0.0] * SPRINGS
        for i in range(SPRINGS - 1):
            s = k * (x[i + 1] - x[i])
            f[i] += s
            f[i + 1] -= s
        for i in range(SPRINGS):
            v[i] += DT * f[i] / m
            x[i] += DT * v[i]
    total = 0.0
    for xi in x:
        total += xi * xi
    return total


CASES["spring_chain"] = (spring_chain, (2.0, 1.5, 8), (0, 1))

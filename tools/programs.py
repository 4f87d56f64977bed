"""The programs the benchmarks differentiate, and their hand-written gradients.

The programs are the seed examples (`examples/seeds.py`), the typical models
(`examples/models.py`) and `math`-module variants of two seeds.
`bench.py` and `peers.py` both time s2sad's gradient of each program
against the hand-written `<name>_hand` here: a hand-written gradient
takes the program's arguments and returns the gradient with respect to the
arguments the benchmarks differentiate (a tuple when there are several).
Reverse passes over loops keep a Python list as their tape, as a careful
person writing the adjoint by hand would. The `*_inputs` functions make the
arrays the array programs are run on, from a fixed seed.
"""

import math
import pathlib
import sys

import numpy as np

# The programs themselves are the examples': the seed examples and the
# typical models (whose generated code the golden-file tests hold).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent
                       / "examples"))
from models import logistic_map, loop_branch, mlp, rnn  # noqa: E402,F401
from seeds import (  # noqa: E402,F401
    dot_loss, f, g, linreg, logistic, logistic_map4, two_xtx)


def f_hand(x, y):
    return 2 * x * y, x * x + 1


def g_hand(x1, x2):
    return 1 / x1 + x2, x1 - np.cos(x2)


def g_math(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def g_math_hand(x1, x2):
    return 1 / x1 + x2, x1 - math.cos(x2)


def logistic_hand(z):
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s)


def logistic_math(z):
    return 1 / (1 + math.exp(-z))


def logistic_math_hand(z):
    s = 1 / (1 + math.exp(-z))
    return s * (1 - s)


def logistic_map4_hand(x):
    l2 = 4 * x * (1 - x)
    d2 = 4 * (1 - 2 * x)
    l3 = 4 * l2 * (1 - l2)
    d3 = 4 * d2 * (1 - 2 * l2)
    return 4 * d3 * (1 - 2 * l3)


def two_xtx_hand(x):
    return 4 * x


def dot_loss_hand(w, x, y):
    return 2 * (np.dot(x, w) - y) * x


def linreg_hand(w, X, y):
    # Parenthesised: `2 * X.T @ r` would scale all of X before the product.
    return 2 * (X.T @ (X @ w - y))


def logistic_map_hand(x, n):
    tape, L = [], x
    for _ in range(n):
        tape.append(L)
        L = 4.0 * L * (1.0 - L)
    slope = 1.0
    for _ in range(n):
        L = tape.pop()
        slope = slope * 4.0 * (1.0 - 2.0 * L)
    return slope


def loop_branch_hand(x, n):
    tape, s = [], 0.0
    for _ in range(n):
        halve = s > 1.0
        tape.append(halve)
        s = s * 0.5 + x if halve else s + x * x
    gs, gx = 1.0, 0.0
    for _ in range(n):
        if tape.pop():
            gx += gs
            gs = gs * 0.5
        else:
            gx += gs * 2.0 * x
    return gx


def rnn_hand(h, W, U, xs):
    hs = [h]
    for x in xs:
        h = np.tanh(h @ W + x @ U)
        hs.append(h)
    dh = 2.0 * h
    dW, dU = np.zeros_like(W), np.zeros_like(U)
    for t in range(len(xs) - 1, -1, -1):
        dpre = dh * (1.0 - hs[t + 1] * hs[t + 1])
        dW += hs[t].T @ dpre
        dU += xs[t].T @ dpre
        dh = dpre @ W.T
    return dW, dU


def mlp_hand(W1, W2, x, t):
    h = np.tanh(x @ W1)
    d = h @ W2 - t
    dout = (2.0 / d.size) * d
    dh = dout @ W2.T
    return x.T @ (dh * (1.0 - h * h)), h.T @ dout


def linreg_inputs(rows, cols, seed=0):
    """(w, X, y) for `linreg` with an X of `rows` x `cols`."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, cols))
    return rng.standard_normal(cols), X, rng.standard_normal(rows)


def rnn_inputs(steps, hidden=64, batch=16, seed=0):
    """(h, W, U, xs) for `rnn`: `steps` inputs of `batch` x `hidden`."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, hidden)),
            rng.standard_normal((hidden, hidden)) * 0.1,
            rng.standard_normal((hidden, hidden)) * 0.1,
            rng.standard_normal((steps, batch, hidden)))


def mlp_inputs(seed=1):
    """(W1, W2, x, t) for `mlp`: 784-256-10, a batch of 64."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((784, 256)) * 0.05,
            rng.standard_normal((256, 10)) * 0.1,
            rng.standard_normal((64, 784)), rng.standard_normal((64, 10)))

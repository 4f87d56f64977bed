"""Textbook worked examples of automatic differentiation, with their published
answers, as plain functions s2sad differentiates.

`s2sad examples/seeds.py` prints the generated gradient of every function
below with respect to all of its arguments; `python examples/seeds.py`
evaluates each gradient at the point the textbook uses and prints it next to
the published answer.
"""

import math

import numpy as np

import s2sad


def f(x, y):
    """x**2 y + y + 2; at (3, 4): df/dx = 24, df/dy = 10."""
    return x ** 2 * y + y + 2


def g(x1, x2):
    """ln(x1) + x1 x2 - sin(x2).

    At (2, 5): df/dx1 = 1/x1 + x2 = 5.5, df/dx2 = x1 - cos(x2) = 1.716.
    """
    return np.log(x1) + x1 * x2 - np.sin(x2)


def logistic(z):
    """1 / (1 + exp(-z)).

    At 1.5: value 0.8175744761936437, derivative 0.14914645207033284.
    """
    return 1 / (1 + np.exp(-z))


def logistic_map4(x):
    """L(4) of the logistic map L(1) = x, L(n+1) = 4 L(n) (1 - L(n)).

    By the chain rule, L'(n+1) = 4 L'(n) (1 - 2 L(n)).
    """
    l1 = x
    l2 = 4 * l1 * (1 - l1)
    l3 = 4 * l2 * (1 - l2)
    l4 = 4 * l3 * (1 - l3)
    return l4


def two_xtx(x):
    """2 x^T x for a vector x; dy/dx = 4x, [0, 4, 8, 12] at arange(4)."""
    return 2 * x @ x


def dot_loss(w, x, y):
    """(<x, w> - y)^2; dz/dw = 2 (<x, w> - y) x^T."""
    return (np.dot(x, w) - y) ** 2


def linreg(w, X, y):
    """||X w - y||^2; dz/dw = 2 (X w - y)^T X."""
    return np.sum((X @ w - y) ** 2)


if __name__ == "__main__":
    slope, value = 1.0, 0.3  # L'(4) at 0.3 by the chain-rule recurrence
    for _ in range(3):
        value, slope = 4 * value * (1 - value), 4 * slope * (1 - 2 * value)
    v = np.arange(4.0)
    w, x, y = np.array([0.1, 0.2, 0.3]), np.array([1.0, -1.0, 2.0]), 1.0
    W, X, Y = np.array([0.1, 0.2]), np.arange(6.0).reshape(3, 2), \
        np.array([1.0, 0.0, -1.0])
    checks = [
        ("f at (3, 4)", s2sad.grad(f, argnums=(0, 1))(3.0, 4.0),
         (24.0, 10.0)),
        ("g at (2, 5)", s2sad.grad(g, argnums=(0, 1))(2.0, 5.0),
         (5.5, 2.0 - math.cos(5.0))),
        ("logistic at 1.5 (value, slope)",
         s2sad.value_and_grad(logistic)(1.5),
         (0.8175744761936437, 0.14914645207033284)),
        ("logistic_map4 at 0.3", s2sad.grad(logistic_map4)(0.3), slope),
        ("two_xtx at arange(4)", s2sad.grad(two_xtx)(v), 4 * v),
        ("dot_loss w.r.t. w", s2sad.grad(dot_loss)(w, x, y),
         2 * (np.dot(x, w) - y) * x),
        ("linreg w.r.t. w", s2sad.grad(linreg)(W, X, Y),
         2 * (X @ W - Y) @ X),
    ]
    for label, got, expected in checks:
        print(f"{label}: s2sad {np.asarray(got).tolist()}, "
              f"expected {np.asarray(expected).tolist()}")

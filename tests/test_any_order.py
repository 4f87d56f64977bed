"""Every construct with a first derivative has derivatives of every order,
in every combination of modes.

The matrix: each construct below (a scalar function written as users
write it), at orders 1 to 4, under every sequence of reverse (`grad`) and
forward (`jacfwd`) differentiations. Each derivative is checked against
central differences of the one below it (same modes, one fewer), the
first against differences of the function itself, and the value each
derivative computes of the one below against that one called directly.
"""

import itertools
import math

import numpy as np
import pytest

import s2sad

# ---- the constructs ----


def power(x, n):  # recursion: a call dispatched at run time
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def recursion(x):
    return power(x, 3) + np.sin(x)


def nested_function(x):
    def inner(t):
        return np.sin(t) * t
    return inner(x) + inner(2.0 * x)


def closure(x):
    scale = np.cos(x)

    def rhs(t):
        return scale * t + x * t * t
    return rhs(x) + rhs(0.5)


def rk4_step(f, y, h):
    k1 = f(y)
    k2 = f(y + 0.5 * h * k1)
    k3 = f(y + 0.5 * h * k2)
    k4 = f(y + h * k3)
    return y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def closure_passed_to_a_solver(k):
    y = 1.0
    for _ in range(3):
        y = rk4_step(lambda u: -k * u * u, y, 0.1)
    return y


def apply(fn, x):
    return fn(fn(x))


def lambda_as_value(x):
    return apply(lambda t: np.tanh(t) * 1.5, x)


class Scaler:
    def __init__(self, w):
        self.w = w

    def forward(self, x):
        return np.sin(self.w * x) + x

    def __call__(self, x):
        return self.forward(x) * x


SCALER = Scaler(0.7)


def method_of_an_object(x):
    return SCALER.forward(x) + SCALER(x)


@s2sad.custom_vjp
def softplus(x):
    return np.log1p(np.exp(x))


def _softplus_fwd(x):
    return softplus(x), x


def _softplus_bwd(x, g):
    return (g / (1.0 + np.exp(-x)),)


def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t / (1.0 + np.exp(-x))


softplus.defvjp(_softplus_fwd, _softplus_bwd)
softplus.defjvp(_softplus_jvp)


def custom_rule(x):
    return softplus(x * x) * x


def module_function(x):
    return np.exp(-x * x) * x


def calls_a_module_function(x):
    return module_function(x) + module_function(np.sin(x))


def sum_of_a_list(x):
    return sum([x, x * x, np.sin(x)]) * x


def list_updated_in_a_loop(x):
    values = [x, 2.0 * x, 1.0]
    for i in range(4):
        values[i % 3] = values[i % 3] * x + values[(i + 1) % 3]
    return values[0] + values[1] * values[2]


def comprehension(x):
    return sum([x ** k / (k + 1.0) for k in range(4)])


def with_default(t, k=2.0, c=0.5):
    return t ** k + c * t


def default_arguments(x):
    return with_default(x) + with_default(x, 3.0)


def gradient_inside(x):
    slope = s2sad.grad(np.tanh)
    return slope(x) * x


def gradient_of_a_closure_inside(x):
    inner = lambda y: x * y * y  # noqa: E731
    return x * s2sad.grad(inner)(0.7)


def jacobian_inside(x):
    f = lambda v: np.sin(v) * x  # noqa: E731
    return np.sum(s2sad.jacobian(f)(np.array([x, 0.3])))


def loop_and_branch(x):
    y = x
    for i in range(3):
        if y > 0.5:
            y = y * np.cos(y)
        else:
            y = y + math.erf(y)
    return y


CONSTRUCTS = [recursion, nested_function, closure, closure_passed_to_a_solver,
              lambda_as_value, method_of_an_object, custom_rule,
              calls_a_module_function, sum_of_a_list, list_updated_in_a_loop,
              comprehension, default_arguments, gradient_inside,
              gradient_of_a_closure_inside, jacobian_inside, loop_and_branch]
POINT = 0.6

# ---- the matrix ----

DIFFERENTIATE = {"rev": s2sad.grad, "fwd": s2sad.jacfwd}


def derivative(f, modes):
    for mode in modes:
        f = DIFFERENTIATE[mode](f)
    return f


def central_difference(f, x, h=1e-4):
    # fourth-order accurate: the derivatives checked are up to the fourth
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (
        12 * h)


def mode_sequences(order):
    return ["-".join(m) for m in itertools.product(("rev", "fwd"),
                                                   repeat=order)]


MATRIX = [(f, modes) for f in CONSTRUCTS
          for order in (1, 2, 3) for modes in mode_sequences(order)]
# at the fourth order: both pure modes and the two alternations
MATRIX += [(f, modes) for f in CONSTRUCTS
           for modes in ("rev-rev-rev-rev", "fwd-fwd-fwd-fwd",
                         "fwd-rev-fwd-rev", "rev-fwd-rev-fwd")]


@pytest.mark.parametrize("f, modes", MATRIX,
                         ids=[f"{f.__name__}-{m}" for f, m in MATRIX])
def test_every_order_in_every_combination_of_modes(f, modes):
    modes = modes.split("-")
    lower = derivative(f, modes[:-1])
    this = derivative(f, modes)
    value = float(this(POINT))
    expected = central_difference(lambda x: float(lower(x)), POINT)
    assert value == pytest.approx(expected, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("f", CONSTRUCTS, ids=lambda f: f.__name__)
def test_values_along_the_way_are_the_functions(f):
    # value_and_grad of a derivative gives that derivative's value
    first = s2sad.grad(f)
    value, _ = s2sad.value_and_grad(first)(POINT)
    assert value == pytest.approx(float(first(POINT)), rel=1e-12)
    value, _ = s2sad.value_and_grad(f)(POINT)
    assert value == f(POINT)

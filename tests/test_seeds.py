"""The textbook worked examples, reproduced exactly (examples/seeds.py)."""

import importlib.util
import math
import pathlib

import numpy as np
import pytest

import s2sad

_PATH = pathlib.Path(__file__).resolve().parent.parent / "examples" / "seeds.py"
_spec = importlib.util.spec_from_file_location("s2sad_examples_seeds", _PATH)
seeds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(seeds)


def test_polynomial_at_3_4():
    assert s2sad.grad(seeds.f, argnums=(0, 1))(3.0, 4.0) == (24.0, 10.0)


def test_forward_differences_in_the_seed_table_are_only_approximate():
    h = 1e-5
    fd = (seeds.f(3.0 + h, 4.0) - seeds.f(3.0, 4.0)) / h
    assert fd == pytest.approx(24.000039999805264, abs=1e-9)
    assert fd != 24.0


def test_two_paths_to_x1_are_summed():
    dx1, dx2 = s2sad.grad(seeds.g, argnums=(0, 1))(2.0, 5.0)
    assert dx1 == 5.5
    assert dx2 == 2.0 - math.cos(5.0)
    assert round(dx2, 3) == 1.716


def test_logistic_value_and_derivative():
    value, derivative = s2sad.value_and_grad(seeds.logistic)(1.5)
    assert value == pytest.approx(0.8175744761936437, rel=1e-15)
    assert derivative == pytest.approx(0.14914645207033284, rel=1e-15)


@pytest.mark.parametrize("x", [0.1, 0.3, 0.77])
def test_logistic_map_follows_the_chain_rule_recurrence(x):
    value, dvalue = x, 1.0
    for _ in range(3):  # L(n+1) = 4 L(n) (1 - L(n)), up to L(4)
        value, dvalue = 4 * value * (1 - value), 4 * dvalue * (1 - 2 * value)
    assert s2sad.grad(seeds.logistic_map4)(x) == pytest.approx(dvalue,
                                                                rel=1e-14)


def test_two_xtx_gradient_is_4x():
    g = s2sad.grad(seeds.two_xtx)(np.arange(4.0))
    np.testing.assert_array_equal(g, [0.0, 4.0, 8.0, 12.0])


def test_dot_loss_gradient():
    rng = np.random.default_rng(1)
    w, x, y = rng.standard_normal(3), rng.standard_normal(3), 0.4
    expected = 2 * (np.dot(x, w) - y) * x
    np.testing.assert_allclose(s2sad.grad(seeds.dot_loss)(w, x, y), expected,
                               rtol=1e-14)


def test_linear_regression_gradient():
    rng = np.random.default_rng(2)
    X, w, y = rng.standard_normal((50, 4)), rng.standard_normal(4), \
        rng.standard_normal(50)
    expected = 2 * (X @ w - y) @ X
    np.testing.assert_allclose(s2sad.grad(seeds.linreg)(w, X, y), expected,
                               rtol=1e-12)


@pytest.mark.parametrize("name, args", [
    ("f", (3.0, 4.0)), ("g", (2.0, 5.0)), ("logistic", (1.5,)),
    ("logistic_map4", (0.3,)), ("two_xtx", (np.arange(4.0),)),
    ("dot_loss", (np.array([0.1, 0.2, 0.3]), np.array([1.0, -1.0, 2.0]), 0.5)),
    ("linreg", (np.array([0.1, 0.2]), np.arange(6.0).reshape(3, 2),
                np.array([1.0, 0.0, -1.0]))),
])
def test_every_seed_matches_central_differences(name, args):
    s2sad.check_grads(getattr(seeds, name), args)

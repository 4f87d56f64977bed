"""Array methods are the NumPy functions of the same name (`x.sum(axis=0)` is
`np.sum(x, axis=0)`), in both modes."""

import numpy as np
import pytest

import s2sad

X = np.array([[0.3, -1.2, 0.8], [0.1, 0.9, -0.4]])
W = np.array([0.5, -0.3, 0.2])


def reductions(x):
    return x.sum() + x.sum(axis=0).dot(W) + x.mean(axis=1).sum() + x.T.mean()


def products(x, w):
    return (x.dot(w) * x.dot(w)).sum()


def clipped(x):
    return (x.clip(-0.5, 0.5) * x).sum()


def inactive_methods(x):
    n = x.shape[0]
    k = x.argmax()
    return (x * n + k).sum()


@pytest.mark.parametrize("func, args", [
    (reductions, (X,)), (products, (X, W)), (clipped, (X,)),
    (inactive_methods, (X,)),
])
def test_array_methods_match_central_differences(func, args):
    s2sad.check_grads(func, args)


def test_generated_code_keeps_the_method_spelling():
    source = s2sad.grad(reductions).source
    assert "x.sum(axis=0)" in source and "np.sum(x" not in source


def unknown_method(x):
    return x.frobnicate()


def test_a_method_without_a_numpy_twin_is_refused():
    with pytest.raises(s2sad.S2SADError, match="frobnicate"):
        s2sad.grad(unknown_method)(X)


class Stepper:
    def __init__(self, beta):
        self.beta = beta

    def step(self, s, a):
        return s + self.beta * np.tanh(a * s)

    def loss(self, a, s):
        return self.step(s, a) ** 2 + self.step(a, s) * a


def test_second_derivatives_of_a_method_calling_another_method():
    # the object a method binds is no differentiated value (its
    # attributes are constants): at second order its tangent was a zero
    # array, and the inner method's jvp read `.beta` of it (found by the
    # outside attack)
    m = Stepper(0.5)
    a, s = 0.7, 0.2
    expected = s2sad.hessian(lambda a, s: m.loss(a, s), argnums=(0, 1))(a, s)
    got = s2sad.hessian(m.loss, argnums=(0, 1))(a, s)
    np.testing.assert_allclose(np.array(got), np.array(expected), rtol=1e-13)
    assert s2sad.grad(s2sad.grad(m.loss))(a, s) == pytest.approx(
        expected[0][0], rel=1e-13)
    _, t = s2sad.jvp(s2sad.grad(m.loss), (a, s), (1.0, 0.0))
    assert t == pytest.approx(expected[0][0], rel=1e-13)
    s2sad.check_grads(m.loss, (a, s), argnums=(0, 1), order=2)

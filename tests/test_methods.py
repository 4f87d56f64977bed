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


class Curve:
    """A class whose methods have the names of array, list and dict
    methods (a Nelson-Siegel curve's `shape`, a filter's `update`)."""

    def __init__(self, q):
        self.q = q

    def round(self, x):
        return x * x

    def shape(self, tau, lam):  # (a factor loading, as in Nelson-Siegel)
        u = tau / lam
        return (1.0 - np.exp(-u)) / u

    def update(self, x):
        return x * self.q

    def get(self, x, y):
        return x * y

    def pop(self, x):
        return x + 2.0

    def sum(self, x):
        return 3.0 * x

    @staticmethod
    def exp(x):
        return 2.0 * x

    def values(self, x):
        return [x, 2.0 * x]

    def total(self, x, lam):
        t = self.round(x) + self.shape(1.5, lam) * x + self.update(x)
        t = t + self.get(x, lam) + self.pop(x) + self.sum(x) + self.exp(x)
        for v in self.values(x):
            t = t + v * lam
        return t


CURVE = Curve(0.5)


def curve_loss(x, lam):
    return CURVE.total(x, lam)


def test_a_classs_own_methods_named_as_numpys_are_its_own():
    # `self.round(x)` of a class that defines `round` is that method, not
    # the array method (a zero derivative), `self.update(z)` no dict's
    # update (found by the outside attack: silent zeros, crashes)
    x, lam = 0.7, 1.3
    expected = curve_loss(x, lam)
    assert CURVE.total(x, lam) == expected
    for f, args in ((CURVE.total, (x, lam)), (curve_loss, (x, lam))):
        value, grads = s2sad.value_and_grad(f, argnums=(0, 1))(*args)
        assert value == expected
        s2sad.check_grads(f, args, modes=("fwd", "rev"))
    h = 1e-6
    dlam = (curve_loss(x, lam + h) - curve_loss(x, lam - h)) / (2 * h)
    assert s2sad.grad(CURVE.total, argnums=1)(x, lam) == pytest.approx(
        dlam, rel=1e-7)


def rounded_by(model, a):
    return model.round(a) + a


def test_a_method_named_as_numpys_on_an_argument_is_refused_when_it_runs():
    # `model.round(a)` is differentiated as the array method, whose
    # derivative is zero: on an object whose class has its own `round`
    # that was a silent wrong gradient; now refused at the call's line
    with pytest.raises(s2sad.S2SADError, match=r"`\.round\(\)` is called "
                       r"on a Curve, whose own method `round`"):
        s2sad.grad(rounded_by, argnums=1)(CURVE, 0.7)
    # an array's method given a differentiated value is NumPy's
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = s2sad.grad(projected, argnums=1)
    np.testing.assert_allclose(g(W, np.array([0.5, -1.0])), [4.0, 6.0])
    assert "runtime.check_receiver(W, 'dot'" in g.source


def projected(W, x):
    return np.sum(W.dot(x))

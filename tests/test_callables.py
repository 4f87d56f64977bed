"""Any callable: grad, value_and_grad, jvp, vjp, the Jacobians and Hessians
take bound methods (argnums count the method's own parameters), class and
static methods, functools.partial objects, objects with `__call__`,
functions wrapped by decorators, and functions with rules (np.tanh)."""

import functools
import math

import numpy as np
import pytest

import s2sad
from s2sad import errors


class Model:
    scale = 3.0

    def loss2(self, w, reg=0.0):
        return w ** 2 + reg * w

    def loss(self, w):
        return self.loss2(w, 0.5) * self.scale

    @classmethod
    def prior(cls, w):
        return cls.scale * w * w

    @staticmethod
    def penalty(w, lam):
        return lam * np.abs(w)


class Quadratic:
    def __init__(self, a):
        self.a = a

    def __call__(self, x, y):
        return self.a * x * x + x * y


def double(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return 2.0 * fn(x)
    return wrapper


@double
def squared(x):
    return x * x


def counted(fn):
    calls = []

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        calls.append(args)
        return fn(*args, **kwargs)
    wrapper.calls = calls
    return wrapper


@counted
def energy(v, m):
    return 0.5 * m * v * v


def weighted(x, w, bias=0.0):
    return np.sum(w * x * x) + bias


def test_the_programs_of_the_issue():
    m = Model()
    assert s2sad.grad(m.loss2)(2.0, 0.5) == 4.5
    assert s2sad.grad(m.loss)(2.0) == pytest.approx(3.0 * 4.5)
    assert s2sad.grad(squared)(3.0) == 12.0


def test_bound_methods_count_their_own_parameters():
    m = Model()
    assert s2sad.grad(m.loss2, argnums=1)(2.0, 0.5) == 2.0
    assert s2sad.grad(m.loss2, argnums=(0, 1))(2.0, 0.5) == (4.5, 2.0)
    assert s2sad.value_and_grad(m.loss2)(2.0, 0.5) == (m.loss2(2.0, 0.5), 4.5)
    assert s2sad.jvp(m.loss2, (2.0, 0.5), (1.0, 0.0)) == (5.0, 4.5)
    value, vjp_fn = s2sad.vjp(m.loss2, 2.0, 0.5)
    assert value == 5.0 and vjp_fn(1.0) == (4.5, 2.0)
    assert s2sad.hessian(m.loss2)(2.0, 0.5) == 2.0
    s2sad.check_grads(m.loss2, (2.0, 0.5))


def test_class_and_static_methods():
    assert s2sad.grad(Model.prior)(2.0) == 12.0
    assert s2sad.grad(Model().prior)(2.0) == 12.0
    assert s2sad.grad(Model.penalty, argnums=(0, 1))(-2.0, 0.1) == (-0.1, 2.0)
    assert s2sad.grad(Model().penalty)(-2.0, 0.1) == -0.1


def test_partial_holds_its_arguments_constant():
    x = np.array([1.0, 2.0])
    loss = functools.partial(weighted, w=np.array([3.0, 4.0]), bias=1.0)
    np.testing.assert_allclose(s2sad.grad(loss)(x), [6.0, 16.0])
    value, dx = s2sad.value_and_grad(loss)(x)
    assert value == loss(x)
    first = functools.partial(weighted, x)  # binds x: argnums counts w
    np.testing.assert_allclose(s2sad.grad(first)(np.ones(2)), [1.0, 4.0])
    s2sad.check_grads(loss, (x,))


def test_an_object_with_call():
    q = Quadratic(2.0)
    assert s2sad.grad(q, argnums=(0, 1))(1.5, 3.0) == (9.0, 1.5)
    jacobian = s2sad.jacobian(q, argnums=0)(1.5, 3.0)
    assert jacobian == pytest.approx(9.0)
    original = Quadratic.__call__
    Quadratic.__call__ = lambda self, x, y: self.a * x * y  # patched
    try:
        assert s2sad.grad(q)(1.5, 3.0) == 6.0
    finally:
        Quadratic.__call__ = original


def test_decorated_functions_run_the_wrapper():
    assert s2sad.grad(squared)(3.0) == 12.0
    assert s2sad.value_and_grad(squared)(3.0) == (18.0, 12.0)
    before = len(energy.calls)
    assert s2sad.grad(energy, argnums=(0, 1))(2.0, 3.0) == (6.0, 2.0)
    assert len(energy.calls) == before + 1  # the wrapper ran, as in Python
    source = s2sad.grad(squared).source  # the wrapper's line, then its call
    assert "# grad of line 45: return 2.0 * fn(x)" in source
    assert "def vjp_squared(x):" in source


def test_functions_with_rules():
    assert s2sad.grad(np.tanh)(0.3) == pytest.approx(1 - np.tanh(0.3) ** 2)
    assert s2sad.grad(math.sin)(0.3) == pytest.approx(math.cos(0.3))
    assert s2sad.grad(abs)(-2.0) == -1.0
    assert s2sad.grad(np.multiply, argnums=(0, 1))(2.0, 5.0) == (5.0, 2.0)
    np.testing.assert_allclose(s2sad.grad(np.sum)(np.ones(3)), np.ones(3))
    assert s2sad.jvp(np.exp, (1.0,), (2.0,)) == (np.exp(1.0), 2 * np.exp(1.0))
    assert s2sad.grad(s2sad.grad(np.sin))(0.3) == pytest.approx(-np.sin(0.3))


def test_callables_without_source_or_rule_are_refused_by_name():
    with pytest.raises(errors.SourceUnavailableError,
                       match="print.*no derivative rule.*s2sad.adjoint"):
        s2sad.grad(print)
    with pytest.raises(errors.SourceUnavailableError, match="frexp"):
        s2sad.grad(np.frexp)


def test_argnums_are_checked_as_the_user_counts():
    m = Model()
    with pytest.raises(s2sad.S2SADError,
                       match="loss2, which takes 2 besides the 1 it binds"):
        s2sad.grad(m.loss2, argnums=2)
    s2sad.grad(m.loss2, argnums=1)


def test_a_derivative_pickles_by_reference():
    import pickle
    g = s2sad.grad(weighted, argnums=1)
    again = pickle.loads(pickle.dumps(g))
    x, w = np.array([1.0, 2.0]), np.array([0.5, 0.5])
    np.testing.assert_allclose(again(x, w), g(x, w))
    decorated = pickle.loads(pickle.dumps(grad_of_cubic))
    assert decorated is grad_of_cubic
    method = pickle.loads(pickle.dumps(s2sad.grad(Model().loss2)))
    assert method(2.0, 0.5) == 4.5


@s2sad.grad
def grad_of_cubic(x):
    return x ** 3


def passthrough(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


@passthrough
@passthrough
def portfolio_variance(weights, cov):
    return weights @ cov @ weights


def test_stacked_decorators_in_every_mode():
    # inspect.signature would follow __wrapped__ to the innermost function:
    # each wrapper's arguments bind to its own *args
    w = np.array([0.2, 0.3, 0.5])
    cov = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, 0.02], [0.0, 0.02, 0.16]])
    dw, dcov = s2sad.grad(portfolio_variance, argnums=(0, 1))(w, cov)
    np.testing.assert_allclose(dw, 2 * cov @ w)
    np.testing.assert_allclose(dcov, np.outer(w, w))
    value, vjp_fn = s2sad.vjp(portfolio_variance, w, cov)
    assert value == portfolio_variance(w, cov)
    np.testing.assert_allclose(vjp_fn(1.0)[0], 2 * cov @ w)
    assert s2sad.jvp(portfolio_variance, (w, cov), (w, None))[1] == \
        pytest.approx(2 * w @ cov @ w)
    s2sad.check_grads(portfolio_variance, (w, cov))
    # a gradient taken with respect to items of a wrapper's *args is
    # differentiated again: its Hessian is 2 cov
    np.testing.assert_allclose(s2sad.hessian(portfolio_variance)(w, cov),
                               2 * cov)


def renamed(x):
    return np.sin(x) * x


renamed.__name__ = "grad of <lambda> wrt 0"  # as wrappers name themselves


def test_a_function_renamed_by_hand_gets_generated_names_that_are_names():
    assert s2sad.grad(renamed)(0.5) == pytest.approx(
        np.cos(0.5) * 0.5 + np.sin(0.5))
    assert "def grad_grad_of_lambda_wrt_0(" in s2sad.grad(renamed).source
    assert s2sad.jvp(renamed, (0.5,), (1.0,))[0] == renamed(0.5)

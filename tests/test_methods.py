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

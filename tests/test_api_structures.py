"""Jacobians and Hessians of functions whose inputs or outputs are tuples,
lists or dicts, laid out as JAX lays them out: the output's structure
outside, the input's inside, each leaf of shape
`out_leaf.shape + in_leaf.shape`; checked against central differences.

Run: python -m pytest -q tests/test_api_structures.py
"""

import collections
import copy
import dataclasses

import numpy as np
import pytest

import s2sad


def _numeric(f, x, eps=1e-6):
    """Central differences of f (an array or number) at an array x:
    shape f(x).shape + x.shape."""
    x = np.asarray(x, dtype=float)
    columns = []
    for idx in np.ndindex(*x.shape):
        e = np.zeros(x.shape)
        e[idx] = eps
        columns.append((np.asarray(f(x + e)) - np.asarray(f(x - e)))
                       / (2 * eps))
    out = np.shape(f(x))
    return np.reshape(np.stack(columns, axis=-1), out + x.shape)


def two_out(x, y):
    return x * y, np.sum(x ** 2) * y ** 2


def dict_loss(p):
    return p["a"] ** 2 * np.sum(np.sin(p["v"]) ** 3)


def layer(wb, x):
    W, b = wb
    return np.tanh(W @ x + b)


X = np.array([1.0, 2.0, 3.0])
P = {"a": 1.5, "v": np.array([1.0, 2.0])}
WB = (np.arange(6.0).reshape(2, 3) / 10, np.array([0.1, -0.2]))


@pytest.mark.parametrize("transform", [s2sad.jacfwd, s2sad.jacrev,
                                       s2sad.jacobian])
def test_a_tuple_output_and_tuple_argnums(transform):
    jac = transform(two_out, (0, 1))(X, 2.0)
    # output structure outside, argnums inside (JAX's layout)
    assert [[np.shape(b) for b in row] for row in jac] == [
        [(3, 3), (3,)], [(3,), ()]]
    for o in range(2):
        np.testing.assert_allclose(jac[o][0], _numeric(
            lambda x: two_out(x, 2.0)[o], X), rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(jac[o][1], _numeric(
            lambda y: two_out(X, float(y))[o], 2.0), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("transform", [s2sad.jacfwd, s2sad.jacrev])
def test_a_dict_input(transform):
    before = copy.deepcopy(P)
    jac = transform(dict_loss)(P)
    assert set(jac) == {"a", "v"} and np.shape(jac["v"]) == (2,)
    np.testing.assert_allclose(jac["a"], _numeric(
        lambda a: dict_loss({"a": float(a), "v": P["v"]}), P["a"]),
        rtol=1e-7)
    np.testing.assert_allclose(jac["v"], _numeric(
        lambda v: dict_loss({"a": P["a"], "v": v}), P["v"]), rtol=1e-7)
    assert P["a"] == before["a"] and np.array_equal(P["v"], before["v"])


@pytest.mark.parametrize("transform", [s2sad.jacfwd, s2sad.jacrev])
def test_a_tuple_input_of_weights_and_bias(transform):
    jac = transform(layer)(WB, X)
    assert isinstance(jac, tuple) and [np.shape(b) for b in jac] == [
        (2, 2, 3), (2, 2)]
    np.testing.assert_allclose(jac[0], _numeric(
        lambda W: layer((W, WB[1]), X), WB[0]), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(jac[1], _numeric(
        lambda b: layer((WB[0], b), X), WB[1]), rtol=1e-7, atol=1e-9)


def test_the_hessian_of_a_dict_input_is_a_dict_of_dicts():
    h = s2sad.hessian(dict_loss)(P)
    g = s2sad.grad(dict_loss)
    assert [[np.shape(h[i][j]) for j in "av"] for i in "av"] == [
        [(), (2,)], [(2,), (2, 2)]]
    np.testing.assert_allclose(h["v"]["v"], _numeric(
        lambda v: g({"a": P["a"], "v": v})["v"], P["v"]), rtol=1e-6)
    np.testing.assert_allclose(h["v"]["a"], _numeric(
        lambda a: g({"a": float(a), "v": P["v"]})["v"], P["a"]),
        rtol=1e-6)
    np.testing.assert_allclose(h["a"]["a"], _numeric(
        lambda a: g({"a": float(a), "v": P["v"]})["a"], P["a"]),
        rtol=1e-6)


def test_check_grads_to_second_order_on_dict_parameters():
    rng = np.random.default_rng(0)
    data, target = rng.normal(size=(6, 3)), rng.normal(size=6)

    def loss(p, data, target):
        h = np.tanh(data @ p["W"] + p["b"])
        return np.mean((h @ p["w"] + p["c"] - target) ** 2)
    params = {"W": rng.normal(size=(3, 4)), "b": np.zeros(4),
              "w": rng.normal(size=4), "c": 0.5}
    before = copy.deepcopy(params)
    s2sad.check_grads(loss, (params, data, target), 2, argnums=0)
    assert np.array_equal(params["W"], before["W"])
    assert params["c"] == before["c"]


Affine = collections.namedtuple("Affine", "w b")


def _affine_loss(p, x):
    return np.sum((p.w * x + p.b) ** 2)


def test_check_grads_to_second_order_on_namedtuple_parameters():
    # the directional derivatives move the namedtuple as one (its fields
    # read by name at every order)
    p = Affine(np.array([0.5, -1.0]), 0.3)
    s2sad.check_grads(_affine_loss, (p, np.array([1.0, 2.0])), 2)
    assert type(s2sad.grad(_affine_loss)(p, np.ones(2))) is Affine


def test_check_grads_refuses_an_integer_argument_it_is_to_check():
    with pytest.raises(s2sad.errors.InputTypeError,
                       match="leave argument 1 out of argnums"):
        s2sad.check_grads(_affine_loss, (Affine(1.0, 0.5), 2))
    s2sad.check_grads(_affine_loss, (Affine(1.0, 0.5), 2), argnums=0)


@dataclasses.dataclass
class Layer:
    w: np.ndarray
    b: float


def _layer_loss(p, x):
    return np.sum(np.tanh(p.w * x + p.b) ** 2)


def test_a_dataclass_gradient_is_of_its_type():
    p, x = Layer(np.array([0.5, -1.0]), 0.3), np.array([1.0, 2.0])
    g = s2sad.grad(_layer_loss)(p, x)
    assert type(g) is Layer and type(g.b) is float
    w_numeric = _numeric(lambda w: _layer_loss(Layer(w, 0.3), x), p.w)
    np.testing.assert_allclose(g.w, w_numeric, rtol=1e-6)
    b_numeric = _numeric(lambda b: _layer_loss(Layer(p.w, b), x), 0.3)
    np.testing.assert_allclose(g.b, b_numeric, rtol=1e-6)
    value, pull = s2sad.vjp(_layer_loss, p, x)
    assert type(pull(1.0)[0]) is Layer
    gg = s2sad.grad(lambda q: np.sum(s2sad.grad(_layer_loss)(q, x).w))(p)
    assert type(gg) is Layer
    t = Layer(np.array([1.0, 0.0]), 0.0)
    _, tangent = s2sad.jvp(_layer_loss, (p, x), (t, np.zeros(2)))
    np.testing.assert_allclose(tangent, g.w[0], rtol=1e-12)
    assert p.w.tolist() == [0.5, -1.0] and p.b == 0.3


@pytest.mark.parametrize("transform", [s2sad.jacfwd, s2sad.jacrev,
                                       s2sad.hessian])
def test_jacobians_refuse_a_dataclass_at_the_users_line(transform):
    p = Layer(np.array([0.5, -1.0]), 0.3)
    with pytest.raises(s2sad.errors.InputTypeError,
                       match=r"argument 0 is a dataclass \(Layer\)") as info:
        transform(_layer_loss)(p, np.ones(2))
    assert f"{__file__}:" in str(info.value)
    assert f" {transform.__name__} of _layer_loss: " in str(info.value)
    with pytest.raises(s2sad.errors.InputTypeError, match="dataclass"):
        s2sad.check_grads(_layer_loss, (p, np.ones(2)))


def test_a_holomorphic_hessian_is_the_complex_second_derivative():
    def poly(z):
        return z ** 3 + 2 * z

    def mixed(z, w):
        return z ** 2 * w + w ** 3
    z, w, h = 1 + 1j, 2 - 1j, 1e-4

    def second(f, x):  # central second differences along the real axis
        return (f(x + h) - 2 * f(x) + f(x - h)) / h ** 2
    assert np.isclose(s2sad.hessian(poly, holomorphic=True)(z), 6 + 6j)
    assert np.isclose(s2sad.hessian(poly, holomorphic=True)(z),
                      second(poly, z), rtol=1e-6)
    H = s2sad.hessian(mixed, (0, 1), holomorphic=True)(z, w)
    assert np.isclose(H[0][0], second(lambda u: mixed(u, w), z), rtol=1e-6)
    assert np.isclose(H[1][1], second(lambda u: mixed(z, u), w), rtol=1e-6)
    assert np.isclose(H[0][1], 2 * z) and np.isclose(H[1][0], 2 * z)

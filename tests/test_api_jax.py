"""JAX's and autograd's signatures: grad's allow_int and holomorphic,
has_aux on jvp/vjp/jacfwd/jacrev/hessian, linearize, custom_jvp,
custom_vjp's nondiff_argnums, check_grads to higher orders,
elementwise_grad and make_hvp; gradients in their inputs' types.

Every derivative is compared with central differences in float64.

    python -m pytest -q -p no:cacheprovider tests/test_api_jax.py
"""

import functools
import math
import re
import sys

import numpy as np
import pytest

import s2sad
from s2sad import errors

EPS = 1e-6


def central(f, args, i):
    """The derivative of f with respect to args[i] by central differences,
    shaped f's output shape + args[i]'s shape."""
    x = np.asarray(args[i], dtype=float)
    columns = []
    for idx in np.ndindex(*x.shape):
        step = np.zeros(x.shape)
        step[idx] = EPS
        up, down = list(args), list(args)
        up[i], down[i] = x + step, x - step
        if np.ndim(args[i]) == 0:
            up[i], down[i] = float(up[i]), float(down[i])
        columns.append((np.asarray(f(*up)) - np.asarray(f(*down)))
                       / (2 * EPS))
    out = np.shape(f(*args))
    stacked = np.stack(columns, axis=-1) if columns else np.zeros(out)
    return stacked.reshape(out + x.shape)


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def mixed(x, y):
    return x * y + np.sin(y)


def poly(x, y):
    return x ** 2 * y + y + 2


def test_gradients_have_their_inputs_types():
    for fun in (mixed, poly):
        value, (gx, gy) = s2sad.value_and_grad(fun, (0, 1))(3.0, 4.0)
        assert value == fun(3.0, 4.0)
        assert type(gx) is float and type(gy) is float
        close(gx, central(fun, (3.0, 4.0), 0))
        close(gy, central(fun, (3.0, 4.0), 1))
    x, y = np.array(3.0), np.array(4.0)
    gx, gy = s2sad.grad(mixed, (0, 1))(x, y)
    assert type(gx) is np.ndarray and gx.shape == () and gx.dtype == float
    close(gy, central(mixed, (x, y), 1))


def square(x):
    return x * x


def test_integer_inputs_are_refused_unless_allow_int():
    with pytest.raises(errors.InputTypeError, match="allow_int=True"):
        s2sad.grad(square)(3)
    with pytest.raises(TypeError, match="integer"):
        s2sad.grad(poly, (0, 1))(3.0, np.array(2))
    gx, gy = s2sad.grad(poly, (0, 1), allow_int=True)(3, 2.0)
    assert gx == 0.0 and type(gx) is float
    close(gy, central(poly, (3.0, 2.0), 1))
    with pytest.raises(errors.InputTypeError):
        s2sad.jacfwd(square)(np.array([1, 2]))


def log_returns(p):
    r = np.log(p[1:]) - np.log(p[:-1])
    return np.sum(r ** 2)


def test_masked_arrays_are_refused():
    # masked arithmetic skips the masked items; the derivative code does
    # not (a masked price series had a silently wrong gradient)
    p = np.ma.array([1.0, 1.1, 1.05, 1.2], mask=[0, 0, 1, 0])
    for transform in (s2sad.grad, s2sad.jacrev, s2sad.jacfwd):
        with pytest.raises(errors.InputTypeError, match="masked array"):
            transform(log_returns)(p)
    with pytest.raises(errors.InputTypeError, match=r"argument 0\[1\]"):
        s2sad.grad(lambda t: log_returns(t[1]))((0.0, p))


def cube_i(z):
    return 1j * z ** 3


def test_holomorphic_grad_is_the_complex_derivative():
    z = 0.5 + 0.25j
    value, derivative = s2sad.value_and_grad(cube_i, holomorphic=True)(z)
    assert value == cube_i(z)
    h = 1e-6
    close(derivative, (cube_i(z + h) - cube_i(z - h)) / (2 * h))
    close(s2sad.jacfwd(cube_i, holomorphic=True)(z), derivative)
    close(s2sad.jacrev(cube_i, holomorphic=True)(z), derivative)
    with pytest.raises(errors.InputTypeError, match="complex"):
        s2sad.grad(cube_i, holomorphic=True)(0.5)
    with pytest.raises(errors.InputTypeError, match="holomorphic"):
        s2sad.jacfwd(cube_i)(np.array([z]))


def with_aux(x, y):
    out = np.sin(x) * y
    return out, {"norm": np.sum(out ** 2), "n": 3}


def scalar_aux(x, y):
    return np.sum(np.sin(x) * y ** 2), "aux"


X = np.array([0.3, -1.1, 0.8])
Y = np.array([1.5, 0.2, -0.7])


def test_has_aux_everywhere():
    output = lambda x, y: with_aux(x, y)[0]  # noqa: E731
    value, tangent, aux = s2sad.jvp(with_aux, (X, Y), (
        np.ones(3), np.zeros(3)), has_aux=True)
    close(value, output(X, Y))
    assert aux["n"] == 3
    close(tangent, central(output, (X, Y), 0) @ np.ones(3))
    value, vjp_fn, aux = s2sad.vjp(with_aux, X, Y, has_aux=True)
    close(value, output(X, Y))
    gx, gy = vjp_fn(np.ones(3))
    close(gx, np.ones(3) @ central(output, (X, Y), 0))
    close(gy, np.ones(3) @ central(output, (X, Y), 1))
    for jac in (s2sad.jacfwd, s2sad.jacrev):
        (jx, jy), aux = jac(with_aux, (0, 1), has_aux=True)(X, Y)
        close(jx, central(output, (X, Y), 0))
        close(jy, central(output, (X, Y), 1))
        assert aux["n"] == 3
    grad = s2sad.grad(scalar_aux, has_aux=True)
    assert grad(X, Y)[1] == "aux"


def loss(x, y):
    return np.sum(np.sin(x) * y ** 2) + np.prod(x)


def test_hessian_with_a_tuple_of_argnums():
    blocks = s2sad.hessian(loss, (0, 1))(X, Y)
    for i in range(2):
        for j in range(2):
            def d_i(x, y, i=i):
                return s2sad.grad(loss, i)(x, y)
            close(blocks[i][j], central(d_i, (X, Y), j))
    single = s2sad.hessian(loss)(X, Y)
    close(single, blocks[0][0])


def test_linearize():
    value, f_jvp = s2sad.linearize(loss, X, Y)
    assert value == loss(X, Y)
    v = np.array([0.1, 0.2, -0.3])
    close(f_jvp(v, np.zeros(3)), central(loss, (X, Y), 0) @ v)


@s2sad.custom_jvp
def softplus(x):
    return np.log1p(np.exp(x))


@softplus.defjvp
def softplus_jvp(primals, tangents):
    x, = primals
    t, = tangents
    return softplus(x), t / (1.0 + np.exp(-x))


def uses_softplus(x):
    return np.sum(softplus(x * x) * x)


def test_custom_jvp_in_both_modes():
    expected = central(uses_softplus, (X,), 0)
    close(s2sad.grad(uses_softplus)(X), expected)
    close(s2sad.jvp(uses_softplus, (X,), (np.ones(3),))[1],
          expected @ np.ones(3))
    s2sad.check_grads(uses_softplus, (X,))


@functools.partial(s2sad.custom_vjp, nondiff_argnums=(0,))
def apply(f, x):
    return f(x)


def apply_fwd(f, x):
    return f(x), x


def apply_bwd(f, x, g):
    return (g * np.cos(x),)


apply.defvjp(apply_fwd, apply_bwd)


def uses_apply(x):
    return np.sum(apply(np.sin, x) * x)


def test_custom_vjp_nondiff_argnums():
    close(s2sad.grad(uses_apply)(X), central(uses_apply, (X,), 0))


def test_check_grads_higher_orders():
    s2sad.check_grads(loss, (X, Y), 2)
    s2sad.check_grads(loss, (X, Y), 3, modes=("rev",))
    s2sad.check_grads(loss, (X, Y), order=1, argnums=(0,))


def wrong_second(x):
    return np.sum(broken(x))


@s2sad.custom_jvp
def broken(x):
    return x ** 3


@broken.defjvp
def broken_jvp(primals, tangents):
    x, = primals
    t, = tangents
    return x ** 3, 3.0 * x * x * t + 0.1 * x * t  # wrong at x != 0


def test_check_grads_raises_on_a_wrong_derivative():
    with pytest.raises(AssertionError, match="central differences"):
        s2sad.check_grads(wrong_second, (X,))


def twice_sine(x):
    return 2.0 * np.sin(x)


def squashed_and_norm(x, y):
    return np.tanh(x) * y, np.sum(x ** 2)


@s2sad.custom_vjp
def sine_off_by_a_tenth(x):
    return np.sin(x)


def _sine_forward(x):
    return np.sin(x), x


def _sine_backward(x, g):
    return (1.1 * np.cos(x) * g,)


sine_off_by_a_tenth.defvjp(_sine_forward, _sine_backward)


def test_check_grads_of_array_outputs_checks_the_vjp_of_a_cotangent():
    # as JAX's check_grads: reverse mode along a random cotangent u against
    # the differences of u . f (it refused such f, found by the outside
    # attack); a wrong vjp is caught
    x = np.array([0.1, 0.2, 0.3])
    s2sad.check_grads(twice_sine, (x,))
    s2sad.check_grads(twice_sine, (x,), order=2)
    s2sad.check_grads(np.sin, (x,), modes=("rev",))
    s2sad.check_grads(squashed_and_norm, (x, 0.7), modes=("rev",))
    with pytest.raises(AssertionError, match="reverse"):
        s2sad.check_grads(sine_off_by_a_tenth, (x,), modes=("rev",))


def sum_of_elementwise(x):
    return np.sum(np.sin(x) * x)


def math_of_two(a, b):
    return math.sin(a) * math.exp(b) + a * b


@s2sad.custom_jvp
def sin_off_by_a_tenth(x):
    return np.sin(x)


@sin_off_by_a_tenth.defjvp
def _(primals, tangents):
    (x,), (t,) = primals, tangents
    return np.sin(x), 1.1 * np.cos(x) * t


def test_check_grads_of_float32_inputs_steps_as_their_precision_allows():
    # a step of 1e-6 is below float32's precision, whose differences were
    # wrong by 2% (found by the outside attack); the default step and
    # tolerances follow the inputs' precision, and a wrong derivative is
    # still caught
    for args in [(np.float32(0.3), np.float32(0.7)),
                 (np.float32(0.3), 0.7)]:
        s2sad.check_grads(math_of_two, args)
    s2sad.check_grads(sum_of_elementwise, (X.astype(np.float32),), order=2)
    with pytest.raises(AssertionError):
        s2sad.check_grads(sin_off_by_a_tenth, (np.float32(0.3),),
                          modes=("fwd",))


def elementwise(x):
    return np.sin(x) * x


def test_elementwise_grad_and_make_hvp():
    close(s2sad.elementwise_grad(elementwise)(X),
          np.diag(central(elementwise, (X,), 0)))
    hvp, gradient = s2sad.make_hvp(loss)(X, Y)
    close(gradient, central(loss, (X, Y), 0))
    v = np.array([0.5, -1.0, 2.0])

    def g0(x, y):
        return s2sad.grad(loss)(x, y)
    close(hvp(v), central(g0, (X, Y), 0) @ v)


@pytest.mark.parametrize("transform", [
    s2sad.grad, s2sad.value_and_grad, s2sad.jacfwd, s2sad.jacrev,
    s2sad.jacobian, s2sad.hessian])
@pytest.mark.parametrize("argnums", [1.5, True, (), (0, "1"), None])
def test_a_bad_argnums_is_refused_where_it_is_passed(transform, argnums):
    line = sys._getframe().f_lineno + 2
    with pytest.raises(errors.S2SADError) as info:
        transform(poly, argnums=argnums)
    assert f"{__file__}:{line}:" in str(info.value)
    assert "argnums=" in str(info.value)


def counted(p):
    return p["a"] ** 2 * p["n"]


def counted_list(xs):
    return xs[0] ** 2 * xs[1]


def test_allow_int_zeroes_only_the_integer_leaves():
    p = {"a": 1.5, "n": 3}
    g = s2sad.grad(counted, allow_int=True)(p)
    assert g["n"] == 0.0 and type(g["n"]) is float
    close(g["a"], central(lambda a: counted({"a": a, "n": 3}), (1.5,), 0))
    value, g = s2sad.value_and_grad(counted_list, allow_int=True)([1.5, 3])
    assert value == counted_list([1.5, 3])
    close(g[0], central(lambda a: counted_list([a, 3]), (1.5,), 0))
    assert g[1] == 0.0
    assert p == {"a": 1.5, "n": 3}


def test_allow_int_gives_zeros_in_every_transformation():
    # jacrev as grad: an integer input or leaf has no derivative
    np.testing.assert_array_equal(
        s2sad.jacrev(square, allow_int=True)(np.arange(3)), np.zeros((3, 3)))
    dx, dn = s2sad.jacrev(poly, (0, 1), allow_int=True)(3, 2.0)
    assert dx == 0.0
    close(dn, central(poly, (3.0, 2.0), 1))
    g = s2sad.jacrev(counted, allow_int=True)({"a": 1.5, "n": 3})
    assert g["n"] == 0.0
    close(g["a"], central(lambda a: counted({"a": a, "n": 3}), (1.5,), 0))
    gx, gn = s2sad.jacrev(counted_list, allow_int=True)([1.5, 3])
    assert gn == 0.0
    close(gx, central(lambda a: counted_list([a, 3]), (1.5,), 0))


def test_an_integer_leaf_is_named():
    with pytest.raises(errors.InputTypeError, match=r"argument 0\['n'\]"):
        s2sad.grad(counted)({"a": 1.5, "n": 3})
    with pytest.raises(errors.InputTypeError, match=r"argument 0\[1\]"):
        s2sad.jacrev(counted_list)([1.5, 3])


def normalised(x):
    x /= np.linalg.norm(x)  # changes its argument in place
    return np.sum(x * np.arange(1.0, 4.0))


def copy_of(x):
    return np.sum(np.asarray(x) * np.arange(1.0, 4.0) /
                  np.linalg.norm(x))


def test_linearize_works_on_copies_of_the_primals():
    x = np.array([1.0, 2.0, 2.0])
    value, f_jvp = s2sad.linearize(normalised, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 2.0])
    assert value == copy_of(x)
    v = np.array([0.1, 0.2, -0.3])
    close(f_jvp(v), central(copy_of, (x,), 0) @ v)
    close(f_jvp(v), central(copy_of, (x,), 0) @ v)
    np.testing.assert_array_equal(x, [1.0, 2.0, 2.0])


SCALE = [2.0]


def scaled_cubes(x):
    return SCALE[0] * np.sum(x ** 3), x[0] * x[1]


def test_linearize_refuses_a_derivative_of_a_function_since_changed():
    # f_jvp runs the function's forward-mode code again: had what it reads
    # besides its arguments changed since linearize, its derivative would
    # be another function's, silently (JAX's is that of the function when
    # linearize ran)
    x, v = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.5, -0.25])
    value, f_jvp = s2sad.linearize(scaled_cubes, x)
    assert value == scaled_cubes(x)
    expected = (2.0 * np.sum(3 * x ** 2 * v), v[0] * x[1] + x[0] * v[1])
    close(f_jvp(v), expected)
    SCALE[0] = 10.0
    try:
        with pytest.raises(errors.S2SADError, match="another value at the "
                           "primals than when linearize ran"):
            f_jvp(v)
    finally:
        SCALE[0] = 2.0
    close(f_jvp(v), expected)  # the same function again


def cube_sum(x):
    return np.sum(x ** 3)


def test_an_integer_primal_with_a_tangent_is_refused():
    line = sys._getframe().f_lineno + 2
    with pytest.raises(errors.InputTypeError, match="integer") as info:
        s2sad.jvp(poly, (2, 1.0), (1.0, 0.0))
    assert f"{__file__}:{line}:" in str(info.value)
    with pytest.raises(errors.InputTypeError, match="pass the primal as"):
        s2sad.linearize(cube_sum, np.array([1, 2]))[1](np.ones(2))
    with pytest.raises(errors.InputTypeError, match="hvp of cube_sum"):
        s2sad.hvp(cube_sum, (np.array([1, 2]),), (np.ones(2),))
    # None or zeros (JAX's float0) hold it constant
    value, tangent = s2sad.jvp(poly, (2, 1.0), (None, 1.0))
    assert value == poly(2, 1.0)
    close(tangent, central(poly, (2.0, 1.0), 1))
    assert s2sad.jvp(poly, (2, 1.0), (0.0, 1.0))[1] == tangent


def test_integer_inputs_are_refused_by_every_transformation():
    x = np.array([1, 2])
    for transform, name in ((s2sad.elementwise_grad, "elementwise_grad"),
                            (s2sad.make_hvp, "make_hvp"),
                            (s2sad.grad, "grad"),
                            (s2sad.hessian, "grad of cube_sum")):
        with pytest.raises(errors.InputTypeError, match=name):
            transform(cube_sum)(x)


def stats(p, x):
    x = np.asarray(x)
    return {"mean": np.mean(p["w"] * x + p["b"]), "sq": np.sum(x ** 2)}


P = {"w": 1.5, "b": -0.5}


@pytest.mark.parametrize("primals, tangents, message", [
    ((P, X), ({"w": 1.0}, np.ones(3)), "dict with keys"),
    ((P, X), ((1.0, 0.0), np.ones(3)), "dict with keys"),
    ((P, X), (P, np.ones(4)), r"shape \(3,\) but its tangent has shape"),
    ((P, X), (P, np.ones((3, 1))), r"shape \(3, 1\)"),
    ((P, X), (P, np.ones(3) * 1j), "real but its tangent is complex"),
    ((P, [1.0, 2.0]), (P, [1.0]), "list of 2"),
    ((P, X), (P, "t"), "its tangent is str"),
])
def test_a_tangent_unlike_its_primal_is_refused(primals, tangents,
                                                 message):
    with pytest.raises(errors.InputTypeError, match=message):
        s2sad.jvp(stats, primals, tangents)
    with pytest.raises(errors.InputTypeError, match=message):
        s2sad.linearize(stats, *primals)[1](*tangents)


def test_a_real_tangent_moves_a_complex_primal_along_the_real_axis():
    def f(z):
        return np.sum(z * z)
    z = np.array([1.0 + 2.0j, -0.5 + 0.25j])
    value, tangent = s2sad.jvp(f, (z,), (np.array([1.0, 0.0]),))
    assert value == f(z)
    eps = 1e-6
    e = np.array([eps, 0.0])
    close(tangent, (f(z + e) - f(z - e)) / (2 * eps))


def test_a_tangent_of_the_wrong_shape_is_refused_by_hvp():
    with pytest.raises(errors.InputTypeError, match="shape"):
        s2sad.hvp(cube_sum, (X,), (np.ones((3, 1)),))
    v = np.array([0.5, -1.0, 2.0])
    product, = s2sad.hvp(cube_sum, (X,), (v,))
    close(product, central(lambda x: s2sad.grad(cube_sum)(x), (X,), 0) @ v)


def test_primals_and_tangents_must_be_sequences():
    with pytest.raises(errors.S2SADError, match="primals must be a tuple"):
        s2sad.jvp(np.sin, 1.0, 1.0)
    with pytest.raises(errors.S2SADError, match="tangents must be a tuple"):
        s2sad.jvp(np.sin, (1.0,), 1.0)


def unit_dot(x, w):
    x /= np.linalg.norm(x)  # changes both its arguments in place
    w[0] = w[0] * 2.0
    return np.sum(x * w)


def test_check_grads_calls_f_on_copies():
    x, w = np.array([3.0, 4.0, 1.0]), np.array([1.0, 2.0, 3.0])
    s2sad.check_grads(unit_dot, (x, w), 1)
    np.testing.assert_array_equal(x, [3.0, 4.0, 1.0])
    np.testing.assert_array_equal(w, [1.0, 2.0, 3.0])


def imag_part(z):
    return np.sum(np.imag(z) * 3.0)


def energy(z):
    return np.sum(np.abs(z) ** 2 + np.real(z * z))


@s2sad.custom_vjp
def wrong_abs2(z):
    return np.sum(np.abs(z) ** 2)


wrong_abs2.defvjp(lambda z: (np.sum(np.abs(z) ** 2), z),
                  lambda z, g: (g * 2 * z,))  # JAX's is 2 conj(z)


def test_check_grads_of_complex_inputs_follows_jax():
    z = np.array([1.0 + 2.0j, -0.5 + 0.3j])
    # JAX's gradient of a real f(x + iy): df/dx - i df/dy
    close(s2sad.grad(imag_part)(z), [-3j, -3j])
    h = 1e-6
    by_parts = [(energy(z + h * e) - energy(z - h * e)) / (2 * h)
                - 1j * (energy(z + 1j * h * e) - energy(z - 1j * h * e))
                / (2 * h) for e in np.eye(2)]
    close(s2sad.grad(energy)(z), by_parts)
    for f in (imag_part, energy):
        s2sad.check_grads(f, (z,), 1)
        s2sad.check_grads(f, [complex(z[0])], 1)
    s2sad.check_grads(energy, (z,), 2, modes=("rev",))
    with pytest.raises(AssertionError, match="central differences"):
        s2sad.check_grads(wrong_abs2, (z,), 1, modes=("rev",))


def test_check_grads_needs_a_tuple_of_arguments():
    line = sys._getframe().f_lineno + 3
    with pytest.raises(errors.S2SADError, match="args must be a tuple") \
            as info:
        s2sad.check_grads(loss, np.ones(3), 1)
    assert f"{__file__}:{line}:" in str(info.value)


def test_argnums_may_be_any_integer_and_negative():
    expected = central(poly, (3.0, 4.0), 1)
    for argnums in (np.int64(1), -1, [np.int32(1)]):
        g = s2sad.grad(poly, argnums)(3.0, 4.0)
        close(g[0] if isinstance(argnums, list) else g, expected)
    value, (gx, gy) = s2sad.value_and_grad(poly, (-2, -1))(3.0, 4.0)
    assert value == poly(3.0, 4.0)
    close(gx, central(poly, (3.0, 4.0), 0))
    close(gy, expected)
    close(s2sad.jacfwd(poly, np.int64(1))(3.0, 4.0), expected)
    s2sad.check_grads(loss, (X, Y), 1, argnums=-1)
    with pytest.raises(errors.S2SADError, match="end of the 2 positional"):
        s2sad.grad(poly, -3)
    with pytest.raises(errors.S2SADError, match="count argnums from 0"):
        s2sad.jacrev(poly, -1)


@pytest.mark.parametrize("argnums", [None, (), True, 1.5])
def test_a_bad_argnums_is_quoted_as_given(argnums):
    with pytest.raises(errors.S2SADError,
                       match=re.escape(f"argnums={argnums!r}:")):
        s2sad.grad(poly, argnums)


def layered(layers, x):
    for w, b in layers:
        x = np.tanh(w @ x + b)
    return np.sum(x ** 2)


def test_check_grads_of_structured_arguments_to_order_two():
    rng = np.random.default_rng(0)
    layers = [(rng.normal(size=(3, 2)), np.zeros(3)),
              (rng.normal(size=(1, 3)), np.zeros(1))]
    s2sad.check_grads(layered, (layers, np.array([0.5, -1.0])), 2,
                      modes=("rev",))


def test_a_vjp_takes_one_cotangent():
    value, vjp_fn = s2sad.vjp(mixed, 3.0, 4.0)
    assert value == mixed(3.0, 4.0)
    with pytest.raises(errors.S2SADError, match="takes one cotangent"):
        vjp_fn(1.0, 1.0)
    gx, gy = vjp_fn(1.0)
    close(gx, central(mixed, (3.0, 4.0), 0))
    close(gy, central(mixed, (3.0, 4.0), 1))


def _scaled_dot_fwd(scale, a, b):
    return scale * (a @ b), (a, b)


def _scaled_dot_bwd(scale, res, g):
    a, b = res
    return scale * g * b, scale * g * a


def test_the_hessian_through_a_custom_vjp_with_nondiff_argnums():
    scaled_dot = functools.partial(s2sad.custom_vjp, nondiff_argnums=(0,))(
        lambda scale, a, b: scale * (a @ b))
    scaled_dot.defvjp(_scaled_dot_fwd, _scaled_dot_bwd)

    def loss(a, b):
        return scaled_dot(2.0, a, b) ** 2
    a, b = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    h = s2sad.hessian(loss)(a, b)
    g = s2sad.grad(loss)
    numeric = np.array([(g(a + e, b) - g(a - e, b)) / 2e-6
                        for e in np.eye(2) * 1e-6]).T
    np.testing.assert_allclose(h, numeric, rtol=1e-6)
    np.testing.assert_allclose(h, 8 * np.outer(b, b), rtol=1e-12)


@pytest.mark.parametrize("bwd, match", [
    (lambda x, g: (g * 2 * x[:1],), r"shape \(1,\) for an argument of "
     r"shape \(3,\)"),
    (lambda x, g: 2 * g * x, "returned ndarray; return a tuple"),
])
def test_a_custom_vjp_bwd_of_the_wrong_shape_or_kind_is_refused(bwd, match):
    f = s2sad.custom_vjp(lambda x: np.sum(x ** 2))
    f.defvjp(lambda x: (np.sum(x ** 2), x), bwd)
    with pytest.raises(errors.S2SADError, match=match) as info:
        s2sad.grad(f)(np.ones(3))
    assert info.value.filename == __file__


@s2sad.custom_jvp
def _logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


@_logsumexp.defjvp
def _logsumexp_jvp(primals, tangents):
    x, = primals
    t, = tangents
    y = _logsumexp(x)
    return y, np.sum(np.exp(x - y) * t)


def test_the_hessian_through_a_custom_jvp():
    def f(x):
        return _logsumexp(x) ** 2
    x = np.array([0.5, -1.0, 2.0])
    before = x.copy()
    h = s2sad.hessian(f)(x)
    g = s2sad.grad(f)
    numeric = np.array([(g(x + e) - g(x - e)) / 2e-6
                        for e in np.eye(3) * 1e-6]).T
    np.testing.assert_allclose(h, numeric, rtol=1e-6, atol=1e-9)
    assert np.array_equal(x, before)


def test_check_grads_to_the_fourth_order():
    # reverse mode four times differentiates the gradients a vjp returns
    s2sad.check_grads(lambda x: x ** 5, (1.3,), 4, modes=("rev",))


def _sum_of_fourth_powers(x):
    return np.sum(x ** 4)


def _weighted_pair(pair, w):
    return np.sum(pair[0] ** 3 * w) + w * pair[1] ** 2


def _of_dict(params, x):
    return np.sum(np.tanh(params["a"] * x) ** 2) * params["b"]


def _star_sum(*xs):
    total = 0.0
    for x in xs:
        total = total + np.sum(x ** 3)
    return total


@pytest.mark.parametrize("f, args", [
    (_sum_of_fourth_powers, (np.array([0.3, -0.7, 1.1]),)),
    (_weighted_pair, ((np.array([0.4, 1.2]), 0.8), 1.5)),
    (_of_dict, ({"a": np.array([0.5, -0.3]), "b": 1.2},
                np.array([0.7, 1.1]))),
    (_star_sum, (np.array([0.3, 0.9]), 0.6)),
], ids=["array", "tuple", "dict", "star-args"])
def test_check_grads_to_high_orders_of_arrays_and_structures(f, args):
    # a gradient of a gradient differentiates the conversions between a
    # structure (a tuple of arguments, a tuple or dict argument) and its
    # adjoint, and the shapes its loops keep of them: the cotangent of
    # either is an adjoint, whatever the order and the modes
    s2sad.check_grads(f, args, 4, modes=("rev",))
    s2sad.check_grads(f, args, 3)


def test_elementwise_grad_of_elementwise_grad():
    x = np.linspace(-3.0, 3.0, 5)
    before = x.copy()
    second = s2sad.elementwise_grad(s2sad.elementwise_grad(np.tanh))(x)
    first = s2sad.elementwise_grad(np.tanh)
    np.testing.assert_allclose(second, (first(x + 1e-6) - first(x - 1e-6))
                               / 2e-6, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(second, -2 * np.tanh(x) / np.cosh(x) ** 2,
                               rtol=1e-12)
    assert np.array_equal(x, before)


@functools.partial(s2sad.custom_vjp, nondiff_argnums=(1,))
def scaled_by(x, k):
    return k * x


scaled_by.defvjp(lambda x, k: (k * x, None), lambda k, res, g: (k * g,))


def uses_scaled_by(x, k):
    return scaled_by(x, k) ** 2


def test_a_nondiff_argument_is_not_differentiated():
    # as JAX: refused, rather than a nan or an internal error
    close(s2sad.grad(uses_scaled_by)(3.0, 2.0), 24.0)
    for f in (uses_scaled_by, scaled_by):
        with pytest.raises(errors.UnsupportedCallError,
                           match="nondiff_argnums") as info:
            s2sad.grad(f, 1)(3.0, 2.0)
        assert f"{__file__}:" in str(info.value)
    with pytest.raises(errors.UnsupportedCallError, match="nondiff_argnums"):
        s2sad.grad(uses_scaled_by, 1)(np.ones(3), np.ones(3))


def _sum_of_sines_squared(x):
    return np.sum(np.sin(x) ** 2)


def _through_vjp(x):
    y, pull = s2sad.vjp(_sum_of_sines_squared, x)
    return np.sum(pull(1.0)[0] * x)


def _through_jvp(x):
    y, t = s2sad.jvp(_sum_of_sines_squared, (x,), (np.ones_like(x),))
    return t * y


def _through_linearize(x):
    y, jvp_fn = s2sad.linearize(_sum_of_sines_squared, x)
    return jvp_fn(np.ones_like(x)) * y


def _through_hvp(x):
    product, = s2sad.hvp(_sum_of_sines_squared, (x,), (np.ones_like(x),))
    return np.sum(product)


def _through_make_hvp(x):
    product, g = s2sad.make_hvp(_sum_of_sines_squared)(x)
    return np.sum(product(np.ones_like(x)))


@pytest.mark.parametrize("f, name", [
    (_through_vjp, "vjp"), (_through_jvp, "jvp"),
    (_through_linearize, "linearize"), (_through_hvp, "hvp"),
    (_through_make_hvp, "make_hvp(_sum_of_sines_squared)")])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_transformations_returning_functions_are_refused_inside(f, name,
                                                                 mode):
    # vjp, jvp, linearize and the Hessian-vector products run as plain
    # functions, but inside a differentiated function they are refused at
    # the user's line, with the transformations that are differentiated
    x = np.array([0.3, 0.5, -0.2])
    f(x)
    with pytest.raises(errors.UnsupportedCallError) as info:
        if mode == "grad":
            s2sad.grad(f)(x)
        else:
            s2sad.jvp(f, (x,), (np.ones(3),))
    message = str(info.value)
    line = f.__code__.co_firstlineno + 1
    assert message.startswith(f"{__file__}:{line}: s2sad.{name} is not "
                              "differentiated"), message
    assert "jacfwd" in message or "hessian" in message


def test_arguments_that_do_not_fit_are_refused_naming_the_function():
    # not a TypeError naming the generated code
    for args in [(3.0,), (3.0, 2.0, 1.0), (np.ones(2),)]:
        with pytest.raises(errors.InputTypeError) as info:
            s2sad.grad(poly)(*args)
        message = str(info.value)
        assert message.startswith(f"{__file__}:")
        assert "grad of poly: " in message and "it takes (x, y)" in message
        assert "grad_poly" not in message
    with pytest.raises(errors.InputTypeError, match="no parameter named 'z'"):
        s2sad.grad(poly)(3.0, z=2.0)


def test_arguments_that_do_not_fit_are_refused_where_nothing_is_derived():
    # linearize's value, and vjp and jvp with nothing to differentiate,
    # call the function itself: not a TypeError from inside s2sad
    calls = [("linearize", lambda: s2sad.linearize(poly, 3.0)),
             ("vjp", lambda: s2sad.vjp(poly, 3)),
             ("jvp", lambda: s2sad.jvp(poly, (3, 2, 1), (None,) * 3))]
    for name, call in calls:
        with pytest.raises(errors.InputTypeError) as info:
            call()
        message = str(info.value)
        assert message.startswith(f"{__file__}:"), message
        assert f"{name} of poly: " in message, message
        assert "it takes (x, y)" in message, message
    with pytest.raises(errors.UnsupportedCallError,
                       match=r"does not fit grad_poly\(x, y\) \(missing"):
        s2sad.hessian(poly)(3.0)


def _checks_as_it_goes(x):
    s2sad.check_grads(np.sin, (x,), 2)
    y = s2sad.check_grads(np.cos, (x,), 1)  # noqa: F841 (None)
    return x ** 3


def test_check_grads_called_for_its_effect_inside_runs():
    # its value unused, nothing of it is differentiated: it runs as called
    assert s2sad.grad(_checks_as_it_goes)(2.0) == 12.0
    assert s2sad.jvp(_checks_as_it_goes, (2.0,), (1.0,)) == (8.0, 12.0)
    assert s2sad.grad(s2sad.grad(_checks_as_it_goes))(2.0) == 12.0


_vectorized = np.vectorize(lambda v: v * 2.0)


def _vectorizes_for_its_effect(x):
    _vectorized(x)
    return x * x


def test_a_call_for_its_effect_refused_names_its_line():
    with pytest.raises(errors.UnsupportedCallError,
                       match="np.vectorize is not differentiated") as info:
        s2sad.grad(_vectorizes_for_its_effect)(1.0)
    line = _vectorizes_for_its_effect.__code__.co_firstlineno + 1
    assert str(info.value).startswith(f"{__file__}:{line}: ")


def _activated(w, act):
    return np.sum(act(w))


def test_a_function_argument_is_not_differentiated():
    # not an empty object array for its "gradient"
    w = np.array([0.3, -0.2])
    for act in (np.tanh, lambda t: t * 2.0, print):
        for transform in (s2sad.grad, s2sad.jacfwd, s2sad.jacrev):
            with pytest.raises(errors.InputTypeError,
                               match="argument 1 is .*which has no "
                               "derivative; leave it out of argnums"):
                transform(_activated, (0, 1))(w, act)
        np.testing.assert_allclose(s2sad.grad(_activated)(w, np.tanh),
                                   1.0 - np.tanh(w) ** 2, rtol=1e-14)


def test_a_string_or_none_argument_is_not_differentiated():
    for other in ("a", None):
        with pytest.raises(errors.InputTypeError,
                           match="argument 1 is .*which has no derivative"):
            s2sad.grad(poly, 1)(3.0, other)


def _repeats(x, word):
    return x * len(word)


def test_a_string_argument_takes_no_tangent():
    assert s2sad.jvp(_repeats, (1.5, "ab"), (1.0, None)) == (3.0, 2.0)
    with pytest.raises(errors.InputTypeError,
                       match="argument 1 is str 'ab', which has no "
                       "derivative, but its tangent is not zero"):
        s2sad.jvp(_repeats, (1.5, "ab"), (1.0, 1.0))


SCALE32 = np.float32(2.0)


def _scaled_square(x):
    return SCALE32 * x * x


def test_a_float_gradient_stays_a_float_through_numpy_constants():
    # a module-level NumPy number makes NumPy numbers of the float path's
    # values: the gradient of a float is still a float
    g = s2sad.grad(_scaled_square)(1.5)
    assert type(g) is float and g == 6.0
    value, g = s2sad.value_and_grad(_scaled_square)(1.5)
    assert type(g) is float


def _updates_its_argument(x, v):
    x[:2] *= v[:2]
    return x * 2


def _mixed(p, x):
    return np.sum(p["w"] * x) * p["n"] + np.sum(p["iv"] * x)


def test_vjp_gives_integer_leaves_zeros():
    p = {"w": np.array([0.5, 1.0]), "n": 3, "iv": np.array([1, 2])}
    x = np.array([0.3, 0.7])
    grads = s2sad.vjp(_mixed, p, x)[1](1.0)
    assert grads[0]["n"] == 0.0
    np.testing.assert_array_equal(grads[0]["iv"], [0.0, 0.0])
    np.testing.assert_allclose(grads[0]["w"], 3 * x)
    close(grads[1], s2sad.grad(_mixed, 1, allow_int=True)(p, x))


def _of_star_args(*args):
    return args[0] ** 3 * args[1] ** 2 + math.sin(args[0] * args[1])


def test_third_derivative_of_a_function_of_star_args():
    # each derivative binds the one it differentiates (its target, the items
    # it picks): a zero cotangent for those is zeros in their structure
    x, y = 0.7, 0.4
    third = s2sad.grad(s2sad.grad(s2sad.grad(_of_star_args)))(x, y)
    close(third, 6 * y ** 2 - y ** 3 * math.cos(x * y))
    mixed = s2sad.grad(s2sad.grad(s2sad.grad(_of_star_args), 1))(x, y)
    close(mixed, 12 * x * y - 2 * y * math.sin(x * y)
          - x * y ** 2 * math.cos(x * y))


@pytest.mark.parametrize("transform", [s2sad.jacfwd, s2sad.jacrev,
                                       s2sad.jacobian])
def test_jacobians_of_a_function_updating_its_argument(transform):
    # as grad, vjp and jvp: the function's update is its own copy's (and
    # jacobian counts the outputs on copies)
    x, v = np.array([0.3, -0.7, 1.1]), np.array([0.5, 1.5, -0.4])
    jac = transform(_updates_its_argument)(x, v)
    np.testing.assert_allclose(jac, np.diag([1.0, 3.0, 2.0]))
    np.testing.assert_array_equal(x, [0.3, -0.7, 1.1])
    empty = transform(_updates_its_argument)(np.zeros(0), np.zeros(0))
    assert empty.shape == (0, 0)


def doubled(x):
    return x * 2.0


def test_check_grads_of_a_one_element_output():
    # a (1,)-shaped value is one number to grad, and to check_grads
    s2sad.check_grads(doubled, (np.array([0.5]),))
    s2sad.check_grads(doubled, (np.array([[0.5]]),), order=2)


def test_repeated_argnums_differentiate_the_argument_once_per_slot():
    """argnums=(0, 0) gives d/dx twice (JAX's blocks), not d/dx of 2 x."""
    def f(x, y):
        return x * x * x * y
    assert [float(j) for j in s2sad.jacfwd(f, (0, 0))(2.0, 1.0)] == \
        [12.0, 12.0]
    assert [float(h) for row in s2sad.hessian(f, (0, 0))(2.0, 1.0)
            for h in row] == [12.0] * 4


def _make_hvp_of_a_closure(p):
    def loss(x):
        return np.sum(np.sin(p * x) ** 2)
    product, _ = s2sad.make_hvp(loss)(np.ones(2))
    return np.sum(product(np.ones(2)))


def test_make_hvp_of_a_differentiated_closure_is_refused_at_its_call():
    with pytest.raises(errors.UnsupportedCallError, match="s2sad.make_hvp "
                       "is not differentiated .*use s2sad.hessian"):
        s2sad.grad(_make_hvp_of_a_closure)(0.3)

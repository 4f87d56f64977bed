"""Vector mode: forward mode carrying k directions at once.

`jvps_f`, the generated vector-mode jvp, takes tangents with a leading
axis of directions and gives the output's the same way; `jacfwd` (and so
`hessian`, and `jacobian` where it picks forward mode) runs one sweep of it
with every direction, `jvp(..., batched=True)` and `hvp(..., batched=True)`
one with the directions given. Each result here is checked against the
same derivative taken one direction at a time and against central
differences. (tests/test_rules.py checks every rule's vector form.)
"""

import math

import numpy as np
import pytest

import s2sad
from s2sad import api, errors, runtime

RNG = np.random.default_rng(7)
W = RNG.standard_normal((4, 3))
B = RNG.standard_normal(4)
DT = 0.05


def mlp(x):
    hidden = np.tanh(W @ x + B)
    return hidden * np.sum(x ** 2)


def rhs(state, k):
    position, velocity = state[0], state[1]
    return np.array([velocity, -k * math.sin(position)])


def pendulum(state, k):
    # RK2 steps of a helper, module-level constants, a branch in the loop
    for step in range(5):
        half = state + 0.5 * DT * rhs(state, k)
        state = state + DT * rhs(half, k)
        if state[0] > 1.0:
            state = state * 0.99
    return state


def filled(x):
    # element assignment in a loop, a while loop, a running maximum
    out = np.zeros(3)
    i = 0
    while i < 3:
        out[i] = x[i] * x[(i + 1) % 3]
        i += 1
    best = out[0]
    for v in out[1:]:
        if v > best:
            best = v
    return out * best


def matrix_program(A):
    # reductions along axes, a transpose, a slice, a reshape
    col = np.mean(A, axis=0)
    row = np.sum(A * A, axis=1, keepdims=True)
    return np.reshape((A.T @ A)[:, 1:] * col[:, None], (-1,)) + np.sum(row)


def two_inputs(x, y):
    scale = np.dot(x, x)
    return np.where(x > 0, x * y, np.exp(x)) * scale + y ** 3


PROGRAMS = [
    (mlp, (RNG.standard_normal(3),), 0),
    (pendulum, (np.array([0.8, 0.1]), 9.81), (0, 1)),
    (filled, (np.array([0.5, -1.2, 0.9]),), 0),
    (matrix_program, (RNG.standard_normal((3, 2)),), 0),
    (two_inputs, (np.array([0.4, -0.3, 1.1]), 0.7), (0, 1)),
]
IDS = [p[0].__name__ for p in PROGRAMS]


def central(f, args, argnums, eps=1e-6):
    """The Jacobian of f by central differences, as jacfwd lays it out."""
    positions = (argnums,) if isinstance(argnums, int) else argnums
    blocks = []
    for i in positions:
        x = np.asarray(args[i], dtype=float)
        columns = []
        for idx in np.ndindex(*x.shape):
            step = np.zeros_like(x)
            step[idx] = eps
            plus, minus = list(args), list(args)
            plus[i] = x + step if x.shape else float(x + step)
            minus[i] = x - step if x.shape else float(x - step)
            columns.append((np.asarray(f(*plus)) - np.asarray(f(*minus)))
                           / (2 * eps))
        out = np.shape(f(*args))
        blocks.append(np.reshape(np.stack(columns, axis=-1) if columns else
                                 np.zeros(out + (0,)), out + x.shape))
    return blocks[0] if isinstance(argnums, int) else tuple(blocks)


def per_direction(f, args, argnums):
    return api._jacfwd_per_direction(f, *args, argnums=argnums)


@pytest.mark.parametrize("f, args, argnums", PROGRAMS, ids=IDS)
def test_jacfwd_in_one_sweep_matches_each_direction(f, args, argnums):
    before = [np.copy(a) for a in args]
    jac = s2sad.jacfwd(f, argnums)(*args)
    single = per_direction(f, args, argnums)
    numeric = central(f, args, argnums)
    for got, one, num in zip(*(
            (j,) if isinstance(argnums, int) else j
            for j in (jac, single, numeric))):
        np.testing.assert_allclose(got, one, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-8)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("f, args, argnums", PROGRAMS, ids=IDS)
def test_chunks_of_directions_give_the_same_jacobian(f, args, argnums):
    whole = s2sad.jacfwd(f, argnums)(*args)
    for chunk in (1, 2):
        parts = s2sad.jacfwd(f, argnums, chunk_size=chunk)(*args)
        for a, b in zip(*((w,) if isinstance(argnums, int) else w
                          for w in (whole, parts))):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("f, args, argnums", PROGRAMS, ids=IDS)
def test_batched_jvp_gives_each_directions_jvp(f, args, argnums):
    positions = (argnums,) if isinstance(argnums, int) else argnums
    k = 4
    tangents = tuple(RNG.standard_normal((k,) + np.shape(a))
                     if i in positions else None for i, a in enumerate(args))
    value, batch = s2sad.jvp(f, args, tangents, batched=True)
    np.testing.assert_array_equal(value, f(*args))
    assert np.shape(batch) == (k,) + np.shape(value)
    for j in range(k):
        _, one = s2sad.jvp(f, args, tuple(
            None if t is None else t[j] for t in tangents))
        np.testing.assert_allclose(batch[j], one, rtol=1e-12, atol=1e-14)


def loss_with_loops(w, X, y):
    # a Hessian in vector mode of a function with loops and branches
    total = 0.0
    for i in range(X.shape[0]):
        z = X[i] @ w
        if z > 0:
            total = total + math.log1p(math.exp(-y[i] * z))
        else:
            total = total + np.log1p(np.exp(y[i] * z)) - y[i] * z
    return total / X.shape[0] + 0.1 * np.sum(w ** 4)


def test_hessian_of_loops_and_branches_in_vector_mode():
    X = RNG.standard_normal((6, 3))
    y = np.sign(RNG.standard_normal(6))
    w = RNG.standard_normal(3) * 0.5
    H = s2sad.hessian(loss_with_loops)(w, X, y)
    gradient = s2sad.grad(loss_with_loops)
    single = api._jacfwd_per_direction(gradient, w, X, y)
    np.testing.assert_allclose(H, single, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(H, central(gradient, (w, X, y), 0),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-14)


def test_batched_hvp_is_each_vectors_hvp():
    x = RNG.standard_normal(4)
    V = RNG.standard_normal((3, 4))

    def f(x):
        return np.sum(np.sin(x) * x ** 2) + np.prod(x[:2])
    product, = s2sad.hvp(f, (x,), (V,), batched=True)
    for j in range(3):
        one, = s2sad.hvp(f, (x,), (V[j],))
        np.testing.assert_allclose(product[j], one, rtol=1e-12)
    np.testing.assert_allclose(product, V @ s2sad.hessian(f)(x), rtol=1e-12)


def test_jacobian_of_as_many_inputs_as_outputs_is_one_sweep():
    # forward mode's single sweep, not a pass per output; inside a
    # differentiated function a tie takes reverse mode, as before
    x = RNG.standard_normal(3)
    jac = s2sad.jacobian(two_inputs)
    np.testing.assert_allclose(jac(x, 0.7), s2sad.jacrev(two_inputs)(x, 0.7),
                               rtol=1e-12)
    assert jac.mode == "forward"

    def trace_of(x):
        return np.trace(s2sad.jacobian(lambda v: np.sin(v) * x)(x))
    np.testing.assert_allclose(s2sad.grad(trace_of)(x),
                               central(trace_of, (x,), 0), rtol=1e-6)


@pytest.mark.parametrize("make", [s2sad.jacfwd, s2sad.jacrev])
def test_a_jacobian_never_shares_memory_with_the_function_or_seeds(make):
    # W @ x in vector mode along the unit directions is W itself (forward),
    # and so is x's cotangent along the unit cotangents of W @ x (reverse):
    # the Jacobian is a copy, and changing it changes nothing else
    def linear(x):
        return W @ x

    def identity(x):
        return x
    x = RNG.standard_normal(3)
    jac = make(linear)(x)
    np.testing.assert_array_equal(jac, W)
    jac[0, 0] = 100.0
    assert W[0, 0] != 100.0
    eye = make(identity)(x)
    np.testing.assert_array_equal(eye, np.eye(3))
    eye[1, 1] = 5.0
    np.testing.assert_array_equal(make(identity)(x), np.eye(3))


def bump(x):
    return np.sin(x) * np.exp(-x * x) + x ** 3 / SCALE


SCALE = np.array([1.0, 2.0, np.inf])


@pytest.mark.parametrize("make", [s2sad.jacfwd, s2sad.jacrev])
def test_the_jacobian_of_an_elementwise_function_stays_a_diagonal(
        monkeypatch, make):
    # jacfwd's unit directions (jacrev's unit cotangents) are a
    # runtime.Diagonal, which elementwise operations keep one (O(n)): its
    # matrix is made once, at the end
    made = []
    dense = runtime.Diagonal.dense
    monkeypatch.setattr(runtime.Diagonal, "dense",
                        lambda self: made.append(1) or dense(self))
    x = np.array([0.3, -1.2, 0.8])
    jac = make(bump)(x)
    assert len(made) == 1
    partial = np.cos(x) * np.exp(-x * x) - 2 * x * np.sin(x) * np.exp(
        -x * x) + 3 * x * x / SCALE
    # (0 * inf off the diagonal: zeros, as the derivative is)
    np.testing.assert_allclose(jac, np.diag(partial), rtol=1e-14)
    assert not np.isnan(jac).any()
    # an operation mixing elements sees the whole matrix
    np.testing.assert_allclose(
        make(lambda x: np.cumsum(bump(x)))(x),
        np.tril(np.ones((3, 3))) * partial, rtol=1e-14)


def test_vector_mode_source_reads_as_forward_mode():
    text = s2sad.show(mlp, mode="vector")
    assert text.startswith("def jvps_mlp(x, x_dot):")
    assert "leading axis of directions" in text
    assert "runtime.directions_matmul_b(W, x_dot)" in text
    # a comment names each source line, as in the other modes
    assert "# from line" in text
    # an elementwise rule multiplies every direction by its partial
    assert "(1.0 - hidden * hidden)" in text.replace("_t", "hidden") or \
        "* (1.0 - " in text


def fft_energy(x):
    return np.real(np.fft.fft(x)) * x


def test_a_rule_without_a_vector_form_runs_once_per_direction():
    text = s2sad.show(fft_energy, mode="vector")
    assert "runtime.per_direction(lambda" in text
    x = RNG.standard_normal(4)
    np.testing.assert_allclose(s2sad.jacfwd(fft_energy)(x),
                               central(fft_energy, (x,), 0), rtol=1e-6,
                               atol=1e-8)


def test_empty_and_integer_outputs():
    assert s2sad.jacfwd(lambda x: x * 2.0)(np.zeros(0)).shape == (0, 0)

    def counted(x):
        return np.argmax(x), x * 3.0
    jac = s2sad.jacfwd(lambda x: counted(x)[1])(np.ones(2))
    np.testing.assert_array_equal(jac, 3.0 * np.eye(2))


def in_float32(x):
    return np.tanh(x) * np.sum(x) + np.float32(0.5) * x ** 2


def test_a_float32_computation_gives_float32_jacobians():
    # as its gradient and jvp are (and JAX's Jacobians); a computation
    # that meets float64 values gives float64 ones
    x = np.array([0.5, -1.5, 0.25], np.float32)
    assert s2sad.jacfwd(bump)(x).dtype == np.float64  # (SCALE: float64)
    for transform in (s2sad.jacfwd, s2sad.jacrev, s2sad.jacobian):
        jac = transform(in_float32)(x)
        assert jac.dtype == np.float32, transform
    hess = s2sad.hessian(running_loop)(x)
    assert hess.dtype == np.float32
    np.testing.assert_allclose(hess, s2sad.hessian(running_loop)(
        x.astype(float)), rtol=1e-4)


@pytest.mark.parametrize("make", [s2sad.jacfwd, s2sad.jacrev,
                                  s2sad.jacobian])
def test_has_aux_and_holomorphic(make):
    def with_aux(x):
        return np.sin(x) * 2.0, {"mean": np.mean(x)}
    x = RNG.standard_normal(3)
    jac, aux = make(with_aux, has_aux=True)(x)
    np.testing.assert_allclose(jac, np.diag(2.0 * np.cos(x)), rtol=1e-14)
    assert aux == {"mean": np.mean(x)}
    z = np.array([0.3 + 0.2j, -0.1 + 0.5j])
    jac = make(lambda z: z ** 3, holomorphic=True)(z)
    np.testing.assert_allclose(jac, np.diag(3.0 * z ** 2), rtol=1e-14)
    # a Python complex is double precision, as NumPy holds it
    jac = make(lambda z: z ** 4, holomorphic=True)(0.3 + 0.4j)
    assert jac.dtype == np.complex128
    assert jac == pytest.approx(4.0 * (0.3 + 0.4j) ** 3, rel=1e-15)


def test_jacobian_with_aux_chooses_its_mode_by_the_output_alone():
    # the aux is not an output: 3 inputs and 2 outputs take reverse mode
    # however large the aux
    def head(x):
        return np.sin(x[:2]), np.zeros(100)
    jac = s2sad.jacobian(head, has_aux=True)
    x = RNG.standard_normal(3)
    value, aux = jac(x)
    assert jac.mode == "reverse" and aux.shape == (100,)
    np.testing.assert_allclose(value, np.eye(2, 3) * np.cos(x), rtol=1e-14)

    def outer(x):  # (and inside a differentiated function)
        return np.sum(s2sad.jacobian(head, has_aux=True)(x)[0] ** 2)
    np.testing.assert_allclose(s2sad.grad(outer)(x), central(outer, (x,), 0),
                               rtol=1e-6)


@s2sad.custom_vjp
def clipped_square(x):
    return np.minimum(x * x, 4.0)


clipped_square.defvjp(lambda x: (clipped_square(x), x),
                      lambda x, g: (g * 2.0 * x * (x * x < 4.0),))
clipped_square.defjvp(lambda primals, tangents: (
    clipped_square(primals[0]),
    tangents[0] * 2.0 * primals[0] * (primals[0] ** 2 < 4.0)))


def test_a_users_jvp_runs_once_per_direction():
    def through(x):
        return clipped_square(x) + x
    x = np.array([0.5, 3.0, -1.0])
    np.testing.assert_allclose(
        s2sad.jacfwd(through)(x),
        np.diag(2.0 * x * (x * x < 4.0) + 1.0), rtol=1e-14)


def running_loop(x):
    # a gradient with a tape: vector mode differentiates its pushes and
    # pops, which hold as written on lists of tangents
    out = np.zeros(x.shape[0])
    acc = 0.0
    for i in range(x.shape[0]):
        acc = 0.9 * acc + np.sin(x[i])
        if acc > 0:
            out[i] = acc * x[i]
        else:
            out[i] = acc
    return np.sum(out ** 2)


def test_a_hessian_through_a_tape_is_one_sweep_of_the_tape():
    # the tape's list operations (append, pop) and the element reads and
    # writes of the loop have vector forms: no operation of the gradient
    # runs per direction, which would copy the tape once per direction
    x = RNG.standard_normal(6)
    H = s2sad.hessian(running_loop)(x)
    gradient = s2sad.grad(running_loop)
    np.testing.assert_allclose(
        H, api._jacfwd_per_direction(gradient, x), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(H, central(gradient, (x,), 0), rtol=1e-6,
                               atol=1e-8)
    text = s2sad.show(gradient, mode="vector")
    assert "_tape" in text and "runtime.per_direction" not in text


def test_bad_batched_tangents_are_refused():
    x = np.ones(3)
    with pytest.raises(errors.InputTypeError, match="different numbers of "
                       "directions"):
        s2sad.jvp(two_inputs, (x, 1.0), (np.ones((2, 3)), np.ones(3)),
                  batched=True)
    with pytest.raises(errors.InputTypeError, match="each direction of its "
                       "tangent has shape"):
        s2sad.jvp(two_inputs, (x, 1.0), (np.ones((2, 2)), np.ones(2)),
                  batched=True)
    with pytest.raises(errors.InputTypeError, match="no directions"):
        s2sad.jvp(two_inputs, (x, 1.0), (np.ones((0, 3)), np.ones(0)),
                  batched=True)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(errors.S2SADError, match="chunk_size must be"):
            s2sad.jacfwd(two_inputs, chunk_size=bad)
    with pytest.raises(errors.S2SADError, match="backend='numba'"):
        s2sad.jvp(two_inputs, (x, 1.0), (np.ones((2, 3)), np.ones(2)),
                  batched=True, backend="numba")


def with_total(x):
    return np.concatenate([x, [np.sum(x)]])


def test_a_join_of_an_array_and_a_list_of_numbers():
    # the list's tangent is its items' after the axis of directions
    x = np.array([2.0, 0.5])
    expected = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(s2sad.jacfwd(with_total)(x), expected)
    np.testing.assert_allclose(s2sad.jacobian(with_total)(x), expected)
    np.testing.assert_allclose(s2sad.jacrev(with_total)(x), expected)


def with_constants(x):
    return np.concatenate([x ** 2, [1.0, 2.0]]) + np.hstack(
        [[0.0, 1.0], x]) + np.vstack([x[:2] ** 2, [1.0, 2.0]]).ravel()[:4]


def test_joins_with_lists_of_constants():
    # a list of numbers has a zero tangent of a list: each item's after
    # the axis of directions
    x = np.array([2.0, 0.5])
    jac = s2sad.jacfwd(with_constants)(x)
    np.testing.assert_allclose(jac, central(with_constants, (x,), 0),
                               rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(jac, s2sad.jacrev(with_constants)(x),
                               rtol=1e-14)


def test_jacobian_chooses_its_mode_for_each_shape_of_the_arguments():
    # the choice is kept per shape of the arguments: another shape chooses
    # again
    def head(x):
        return np.sin(x[:2])
    jac = s2sad.jacobian(head)
    for n, mode in ((5, "reverse"), (1, "forward"), (5, "reverse"),
                    (2, "forward"), (1, "forward")):
        x = np.linspace(0.1, 0.9, n)
        expected = np.zeros((min(n, 2), n))
        expected[np.arange(min(n, 2)), np.arange(min(n, 2))] = np.cos(x[:2])
        np.testing.assert_allclose(jac(x), expected, rtol=1e-14)
        assert jac.mode == mode

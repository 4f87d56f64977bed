"""backend="numba" on NumPy array code: gradients of programs on float64
arrays compiled by Numba.

Each compiled gradient is checked to have run compiled (not as Python), to
equal the Python gradient s2sad generates to rounding (the two run the same
statements), to match central differences, and to leave its arguments as
they were.
"""

import copy
import math

import numpy as np
import pytest

import s2sad
from s2sad import errors, kernels

numba = pytest.importorskip(
    "numba", reason="the numba backend needs Numba: pip install "
    "'s2sad[numba]' (the test extra has it)")

RNG = np.random.default_rng(7)


def compiled_gradient(f, args, argnums=0):
    """The compiled gradient of f at args, checked to have run compiled, to
    equal the Python gradient to rounding, and to leave args unchanged."""
    before = copy.deepcopy(args)
    g = s2sad.grad(f, argnums=argnums, backend="numba")
    got = g(*args)
    kernel = kernels.kernel_of(g)
    assert kernel is not None and kernel.compiled.signatures and \
        kernel.reruns == 0 and kernel.failed is None
    want = s2sad.grad(f, argnums=argnums)(*args)
    gots, wants = (got, want) if isinstance(argnums, tuple) else \
        ((got,), (want,))
    for a, b, x in zip(leaves(gots), leaves(wants), leaves(tuple(
            args[k] for k in (argnums if isinstance(argnums, tuple)
                              else (argnums,))))):
        assert type(a) is type(b)
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and not np.shares_memory(a, x)
    for a, b in zip(leaves(before), leaves(args)):
        np.testing.assert_array_equal(a, b)
    return got


def leaves(tree):
    """The arrays and numbers of nested tuples."""
    if isinstance(tree, tuple):
        return [leaf for item in tree for leaf in leaves(item)]
    return [tree]


def central_differences(f, args, argnum, h=1e-6):
    x = np.array(args[argnum], dtype=float)
    out = np.zeros_like(x)
    for at in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[at] += h
        down[at] -= h
        shifted = list(args)
        shifted[argnum] = up if x.ndim else float(up)
        high = f(*shifted)
        shifted[argnum] = down if x.ndim else float(down)
        out[at] = (high - f(*shifted)) / (2 * h)
    return out


# Programs written as users write them: module-level constants, helpers,
# loops over arrays, slices, element assignment, reductions, products.

ALPHA = 0.2
RATE, STRIKE = 0.03, 1.05


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def heat(u, steps):
    for _ in range(steps):
        new = u.copy()
        new[1:-1, 1:-1] = u[1:-1, 1:-1] + ALPHA * (
            u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2]
            - 4 * u[1:-1, 1:-1])
        u = new
    return np.sum(u * u)


def sq_exp(a, b, ell, sf2):
    return sf2 * np.exp(-0.5 * np.sum((a - b) ** 2) / ell ** 2)


def gp_nll(params, X, y):
    ell = np.exp(params[0])
    sf2 = np.exp(2 * params[1])
    sn2 = np.exp(2 * params[2])
    n = len(y)
    K = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            K[i, j] = sq_exp(X[i], X[j], ell, sf2)
    K = K + sn2 * np.eye(n)
    sign, logdet = np.linalg.slogdet(K)
    alpha = np.linalg.solve(K, y)
    return 0.5 * y @ alpha + 0.5 * logdet + 0.5 * n * math.log(2 * math.pi)


def kernel_sum(ell, x, w):
    """A kernel matrix built element by element with `math`, then a
    weighted sum: the loop nest runs on numbers."""
    n = x.shape[0]
    K = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            d = x[i] - x[j]
            K[i, j] = math.exp(-d * d / (2.0 * ell * ell))
    return w @ K @ w


def mlp(W1, b1, W2, x, t):
    h = np.tanh(W1 @ x + b1)
    y = W2 @ h
    return 0.5 * np.sum((y - t) ** 2)


def logistic_l2(w, X, y, lam):
    z = X @ w
    p = 1.0 / (1.0 + np.exp(-z))
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss + lam * np.sum(w * w) + 0.01 * np.sum(abs(w))


def asian(S0, sigma, Z):
    n_paths, n_steps = Z.shape
    dt = 1.0 / n_steps
    S = np.full(n_paths, S0)
    total = np.zeros(n_paths)
    for k in range(n_steps):
        S = S * np.exp((RATE - 0.5 * sigma ** 2) * dt
                       + sigma * math.sqrt(dt) * Z[:, k])
        total = total + S
    payoff = np.maximum(total / n_steps - STRIKE, 0.0)
    return math.exp(-RATE) * np.mean(payoff)


def wave(u, steps):
    prev = u.copy()
    for _ in range(steps):
        nxt = np.zeros_like(u)
        nxt[1:-1] = 2 * u[1:-1] - prev[1:-1] + 0.1 * (
            u[2:] - 2 * u[1:-1] + u[:-2])
        prev, u = u, nxt
    return np.sum(u ** 2)


def broadcasting(a, b):
    """A column against a row, and sums over each axis."""
    grid = a[:, None] * b[None, :] + np.sin(a)[:, None]
    rows = np.sum(grid, axis=1)
    cols = np.mean(grid, axis=0)
    return np.sum(rows ** 2) + np.max(cols) + np.sum(np.max(grid, axis=0))


def running_update(x, n):
    """Element assignment in a loop, reading what it wrote."""
    y = np.zeros(n)
    y[0] = x[0]
    for t in range(1, n):
        y[t] = 0.5 * y[t - 1] + x[t % x.shape[0]] ** 2
    return y @ y


def layer(params, x):
    """Parameters passed as a tuple, unpacked."""
    W, b = params
    h = np.tanh(W @ x + b)
    pair = (h, 2.0 * h)
    first, second = pair
    return np.sum(first * second)


def two_layers(params, x):
    """Nested tuples of parameters: each layer's (W, b)."""
    (W1, b1), (W2, b2) = params
    h = np.tanh(W1 @ x + b1)
    return np.sum((W2 @ h + b2) ** 2)


def first_past(w, x, tol):
    """A `return` inside the loop."""
    s = 0.0
    for i in range(x.shape[0]):
        s = s + w[0] * x[i] ** 2
        if s > tol:
            return s * 2
    return s


def filled_then_squared(x, steps):
    """An array filled item by item, then read non-linearly: what the
    assignments overwrite is kept for the backward sweep."""
    s = 0.0
    for k in range(steps):
        y = np.zeros(x.shape[0])
        for i in range(x.shape[0]):
            y[i] = x[i] * (k + 1)
        y[1:] = y[1:] * y[:-1]
        s = s + np.sum(y * y)
    return s


CASES = {
    "rosenbrock, n = 10": (rosenbrock, (np.linspace(-1.0, 1.5, 10),), 0),
    "rosenbrock, n = 1000": (rosenbrock, (np.linspace(-1.0, 1.5, 1000),),
                             0),
    "heat stepper": (heat, (RNG.random((12, 10)), 5), 0),
    "GP likelihood, kernel by loops": (
        gp_nll, (np.array([0.1, -0.2, -1.0]), RNG.normal(size=(8, 2)),
                 RNG.normal(size=8)), 0),
    "kernel matrix with math": (
        kernel_sum, (0.7, RNG.normal(size=9), RNG.normal(size=9)), (0, 1)),
    "MLP": (mlp, (RNG.normal(size=(6, 4)), RNG.normal(size=6),
                  RNG.normal(size=(2, 6)), RNG.normal(size=4),
                  RNG.normal(size=2)), (0, 1, 2)),
    "logistic regression": (
        logistic_l2, (RNG.normal(size=5), RNG.normal(size=(30, 5)),
                      (RNG.random(30) > 0.5) * 1.0, 0.1), 0),
    "Asian option": (asian, (1.0, 0.3, RNG.normal(size=(40, 12))), (0, 1)),
    "wave": (wave, (np.sin(np.linspace(0, 3, 20)), 8), 0),
    "broadcasting and axis sums": (
        broadcasting, (RNG.normal(size=4), RNG.normal(size=5)), (0, 1)),
    "element assignment in a loop": (running_update,
                                     (RNG.normal(size=7), 12), 0),
    "nested tuples of parameters": (
        two_layers, (((RNG.normal(size=(3, 2)), RNG.normal(size=3)),
                      (RNG.normal(size=(1, 3)), RNG.normal(size=1))),
                     RNG.normal(size=2)), 1),
    "a return inside the loop": (first_past, (np.array([0.5]),
                                              np.linspace(0, 1, 9), 1.0), 0),
    "an array filled, then read non-linearly": (
        filled_then_squared, (RNG.normal(size=5), 3), 0),
    "a tuple of parameters": (layer, ((RNG.normal(size=(3, 4)),
                                       RNG.normal(size=3)),
                                      RNG.normal(size=4)), 1),
}


def indexed_twice(p, x):
    """The same nested tuples, read by index."""
    return np.sum((p[0][0] @ x + p[0][1]) * p[1][1]) + np.sum(p[1][0])


@pytest.mark.parametrize("f", [two_layers, indexed_twice])
def test_nested_tuples_get_their_gradients(f):
    """Numba's `+` joins tuples: the adjoints of tuples add item by item."""
    params = ((RNG.normal(size=(3, 2)), RNG.normal(size=3)),
              (RNG.normal(size=(1, 3)), RNG.normal(size=1)))
    x = RNG.normal(size=2)
    g = s2sad.grad(f, backend="numba")
    got, want = g(params, x), s2sad.grad(f)(params, x)
    assert kernels.kernel_of(g).reruns == 0
    for got_layer, want_layer in zip(got, want):
        for a, b in zip(got_layer, want_layer):
            np.testing.assert_allclose(a, b, rtol=1e-12)
            assert np.any(a != 0.0)


def test_the_gradient_of_a_tuple_is_a_tuple():
    params = (RNG.normal(size=(3, 4)), 0.5)

    def f(params, x):
        W, b = params
        return np.sum(np.tanh(W @ x + b))
    x = RNG.normal(size=4)
    g = s2sad.grad(f, backend="numba")
    got, want = g(params, x), s2sad.grad(f)(params, x)
    assert kernels.kernel_of(g).reruns == 0
    assert type(got) is tuple and [type(a) for a in got] == [
        type(a) for a in want]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    assert math.isclose(got[1], want[1], rel_tol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_array_programs_compile_and_match(name):
    f, args, argnums = CASES[name]
    got = compiled_gradient(f, args, argnums)
    gots = got if isinstance(argnums, tuple) else (got,)
    for k, g in zip(argnums if isinstance(argnums, tuple) else (argnums,),
                    gots):
        np.testing.assert_allclose(g, central_differences(f, args, k),
                                   rtol=1e-5, atol=1e-6)


def test_value_and_grad_on_arrays():
    x = np.linspace(-1.0, 1.5, 10)
    value, g = s2sad.value_and_grad(rosenbrock, backend="numba")(x)
    assert value == rosenbrock(x)
    np.testing.assert_allclose(g, s2sad.grad(rosenbrock)(x), rtol=1e-12)
    assert kernels.kernel_of(
        s2sad.value_and_grad(rosenbrock, backend="numba")).reruns == 0


def test_other_kinds_of_arrays_take_the_python_gradient():
    """float32 and big-endian arrays are not what the kernel
    takes: the Python gradient answers, as it would."""
    g = s2sad.grad(rosenbrock, backend="numba")
    g(np.linspace(-1, 1, 6))
    compiled = list(kernels.kernel_of(g).compiled.signatures)
    for x in (np.linspace(-1, 1, 6).astype(np.float32), np.linspace(-1, 1, 6)[::-1].astype(">f8")):
        want = s2sad.grad(rosenbrock)(x)
        got = g(x)
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    assert kernels.kernel_of(g).compiled.signatures == compiled


def test_a_module_array_changed_in_place_is_seen():
    g = s2sad.grad(weighted, backend="numba")
    x = np.linspace(0.0, 1.0, 4)
    first = g(x)
    WEIGHTS[:] = [4.0, 3.0, 2.0, 1.0]
    try:
        np.testing.assert_allclose(g(x), s2sad.grad(weighted)(x),
                                   rtol=1e-12)
        assert not np.allclose(g(x), first)
    finally:
        WEIGHTS[:] = [1.0, 2.0, 3.0, 4.0]


WEIGHTS = np.array([1.0, 2.0, 3.0, 4.0])


def weighted(x):
    return np.sum(WEIGHTS * np.sin(x) ** 2)


def test_nan_and_errors_are_python_s():
    """What NumPy warns of, or Python raises, is computed again as Python:
    the same nan, warning or error at the user's line."""
    def f(x):
        return np.sum(np.sqrt(x))
    g = s2sad.grad(f, backend="numba")
    with pytest.warns(RuntimeWarning):
        got = g(np.array([1.0, -1.0]))
    assert kernels.kernel_of(g).reruns == 1
    np.testing.assert_array_equal(np.isnan(got), [False, True])

    def solve(a, b):
        return np.sum(np.linalg.solve(a, b))
    with pytest.raises(np.linalg.LinAlgError):
        s2sad.grad(solve, backend="numba")(np.zeros((2, 2)), np.ones(2))


def test_an_output_that_is_an_array_is_python_s_error():
    def f(x):
        return x * 2.0
    with pytest.raises(errors.S2SADError, match="scalar"):
        s2sad.grad(f, backend="numba")(np.ones(3))
    one = s2sad.grad(f, backend="numba")(np.ones(1))  # (one item: as autograd)
    np.testing.assert_array_equal(one, [2.0])


def test_an_operation_numba_lacks_names_the_line():
    def f(x):
        y = np.sum(x ** 2)
        z = np.einsum("i,i->", x, x)
        return y + z
    with pytest.raises(errors.UnsupportedSyntaxError,
                       match="einsum") as caught:
        s2sad.grad(f, backend="numba")(np.ones(3))
    assert caught.value.lineno == f.__code__.co_firstlineno + 2
    g = s2sad.grad(f, backend="numba", fallback="python")
    with pytest.warns(kernels.FallbackWarning, match="einsum"):
        np.testing.assert_array_equal(g(np.ones(3)), 4.0 * np.ones(3))


def test_the_source_shows_the_array_kernel():
    source = s2sad.grad(heat, backend="numba").source
    entry, kernel, general = source.split("\n\n\ndef ")
    assert "runtime.kernel_arguments((u,), (steps,))" in entry
    assert "return grad_heat_arrays(u, steps)" in entry
    assert kernel.startswith("grad_heat_numba(u, steps):")
    assert " del " not in kernel and "reversed" not in kernel


IDX = np.array([0, 2, 2, -1])
A = RNG.normal(size=(4, 4))
SPD = A @ A.T + 4.0 * np.eye(4)


def op_dot(x):
    return np.dot(x, A @ x) ** 2


def op_outer_and_transpose(x):
    return np.sum(np.outer(x, x).T @ A)


def op_clip(x):
    return np.sum(np.clip(x, -0.5, 0.5) ** 2)


def op_std_and_var(x):
    return np.std(x) + np.var(x)


def op_trace(M):
    return np.trace(M @ M)


def op_linalg(M):
    return np.linalg.det(M) + np.sum(np.linalg.inv(M))


def op_index_array(x):
    """An index array with a repeat: each reading adds."""
    return np.sum(x[IDX] ** 2)


def op_mask(x):
    return np.sum(x[x > 0] ** 3)


def op_mask_of_a_matrix(M):
    """A mask of two axes picks items in order, as NumPy does."""
    return np.sum(M[M > 0] ** 3) + M[M > 0][0]


def op_reductions_along_axes(M):
    rows = np.max(M, axis=1)
    cols = np.min(M, axis=0, keepdims=True)
    return np.sum(rows ** 2) + np.sum(cols * M) + np.prod(np.mean(M, axis=0))


def op_reductions_of_a_vector(x):
    """axis= on a vector: a number, as NumPy gives."""
    z = x - x.max(axis=-1, keepdims=True)
    return np.sum(x, axis=0) ** 2 + np.max(x, axis=0) + np.sum(np.exp(z))


def op_z_scores(M):
    """Standardised columns, np.var with ddof, std as a method."""
    z = (M - M.mean(axis=0)) / M.std(axis=0)
    return np.sum(z ** 3) + np.var(M, axis=1, ddof=1).sum()


ROWS = np.array([2, 0, 2, -1])


def op_rows_of_a_matrix(M):
    """An embedding lookup: rows picked by an array of ints, one twice."""
    return np.sum(np.tanh(M[ROWS] @ np.ones(M.shape[1])))


def op_where_and_maximum(x):
    return np.sum(np.where(x > 0, x, 0.1 * x) + np.maximum(x, 0.2) ** 2)


def op_methods(M):
    """Reductions written as methods, a stable log-sum-exp over rows."""
    shifted = M - M.max(axis=1, keepdims=True)
    return np.sum(np.log(np.exp(shifted).sum(axis=1))) + M.mean() + \
        M.min(axis=0).sum()


OPERATIONS = [op_methods, op_dot, op_outer_and_transpose, op_clip, op_std_and_var,
              op_trace, op_linalg, op_index_array, op_mask,
              op_mask_of_a_matrix, op_reductions_along_axes,
              op_reductions_of_a_vector, op_z_scores, op_rows_of_a_matrix,
              op_where_and_maximum]


@pytest.mark.parametrize("f", OPERATIONS, ids=lambda f: f.__name__)
def test_numpy_operations(f):
    x = SPD if f in (op_trace, op_linalg) else (
        RNG.normal(size=(3, 4)) if "M" in f.__code__.co_varnames else
        RNG.normal(size=4))
    got = compiled_gradient(f, (x,))
    np.testing.assert_allclose(got, central_differences(f, (x,), 0),
                               rtol=1e-5, atol=1e-6)


def test_what_numba_reads_otherwise_is_refused():
    """Numba reads a mask of two axes in an assignment as ints: refused at
    the line, not computed otherwise."""
    def f(M):
        N = M.copy()
        N[M > 0] = 0.0
        return np.sum(N * M)
    with pytest.raises(errors.UnsupportedSyntaxError) as caught:
        s2sad.grad(f, backend="numba")(RNG.normal(size=(3, 3)))
    assert caught.value.lineno == f.__code__.co_firstlineno + 2

"""Gradients of functions of Dask arrays, lazy, and on a real cluster.

Generated code calls NumPy's functions (`np.tanh(z)`, `X @ w`), and Dask
answers them for its arrays through NumPy's protocols, so the gradient of a
loss over a chunked X is itself a Dask array: a graph, computed only when
the user asks. These tests check that s2sad keeps it so (no computation
while the gradient is built, no Dask warning about a NumPy function it does
not implement), that the numbers are NumPy's, and that a
`dask.distributed` cluster of two worker processes on localhost, started
and closed here, computes them, and runs gradients as tasks
(`client.map`).
"""

import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import s2sad

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("dask.distributed")


# ---- the models, at module level: the workers import them by name ----


def least_squares(w, X, y):
    r = X @ w - y
    return np.sum(r * r) / X.shape[0]


def logistic(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def ridge(w, X, y, lam):
    r = X @ w - y
    loss = np.mean(r ** 2)
    if lam > 0:  # a Python number: nothing of X is computed
        loss = loss + lam * np.sum(w ** 2)
    return loss


def mlp(params, X, y):
    W1, b1, W2 = params
    h = np.tanh(X @ W1 + b1)
    return np.mean((h @ W2 - y) ** 2)


def softmax_regression(W, X, labels):
    z = X @ W
    z = z - np.max(z, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(np.sum(logp * labels, axis=1))


def cube(x):
    return np.sum(x ** 3)


# ---- hand-written gradients, in NumPy ----


def least_squares_grad(w, X, y, n):
    return 2.0 / n * (X.T @ (X @ w - y))


def logistic_grad(w, X, y, n):
    return X.T @ (1.0 / (1.0 + np.exp(-(X @ w))) - y) / n


class Counted:
    """A Dask scheduler that counts the graphs it is asked to compute."""

    def __init__(self):
        self.computes = 0

    def __call__(self, graph, keys, **kwargs):
        self.computes += 1
        return dask.get(graph, keys, **kwargs)


def lazily(call, *args):
    """`call(*args)`, checked to compute nothing and to raise no warning
    (Dask warns when a NumPy function it does not implement is called)."""
    counted = Counted()
    with dask.config.set(scheduler=counted), warnings.catch_warnings():
        warnings.simplefilter("error")
        result = call(*args)
    assert counted.computes == 0, f"{counted.computes} computations"
    return result


def _data(rng, n=1000, p=10, chunks=250):
    X = rng.standard_normal((n, p))
    y = rng.standard_normal(n)
    return X, y, da.from_array(X, chunks=(chunks, p)), da.from_array(
        y, chunks=chunks)


def _same(lazy, expected):
    """`lazy` holds Dask arrays where expected holds arrays, and computed,
    the same numbers."""
    if isinstance(expected, (tuple, list)):
        assert len(lazy) == len(expected)
        for a, b in zip(lazy, expected):
            _same(a, b)
        return
    if np.ndim(expected):
        assert isinstance(lazy, da.Array), type(lazy)
    np.testing.assert_allclose(np.asarray(dask.compute(lazy)[0]), expected,
                               rtol=1e-12, atol=1e-14)


def _cases(rng):
    X, y, dX, dy = _data(rng)
    w = rng.standard_normal(10)
    labels = np.eye(3)[rng.integers(0, 3, 1000)]
    params = [rng.standard_normal((10, 8)), np.zeros(8),
              rng.standard_normal(8)]
    return [
        (least_squares, (w, dX, dy), (w, X, y)),
        (logistic, (w, dX, dy), (w, X, y)),
        (ridge, (w, dX, dy, 0.1), (w, X, y, 0.1)),
        (mlp, (params, dX, dy), (params, X, y)),
        (softmax_regression, (rng.standard_normal((10, 3)), dX,
                              da.from_array(labels, chunks=(250, 3))),
         (None, X, labels)),
    ]


@pytest.mark.parametrize("case", range(5))
@pytest.mark.parametrize("mode", ["grad", "value_and_grad", "jvp"])
def test_a_gradient_over_dask_arrays_is_a_lazy_dask_array(case, mode, rng):
    f, lazy_args, args = _cases(rng)[case]
    args = (lazy_args[0],) + args[1:]
    if mode == "jvp":
        tangent = [np.ones_like(p) for p in lazy_args[0]] if isinstance(
            lazy_args[0], list) else np.ones_like(lazy_args[0])
        tangents = (tangent,) + (None,) * (len(args) - 1)
        got = lazily(s2sad.jvp, f, lazy_args, tangents)
        expected = s2sad.jvp(f, args, tangents)
    else:
        derivative = getattr(s2sad, mode)(f)
        got = lazily(derivative, *lazy_args)
        expected = derivative(*args)
    _same(got, expected)


def test_the_gradient_with_respect_to_a_dask_array_is_one(rng):
    X, y, dX, dy = _data(rng)
    w = rng.standard_normal(10)
    g = lazily(s2sad.grad(least_squares, argnums=1), w, dX, dy)
    assert isinstance(g, da.Array) and g.chunks == dX.chunks
    _same(g, s2sad.grad(least_squares, argnums=1)(w, X, y))


def test_the_callers_dask_arrays_are_left_as_they_were(rng):
    X, y, dX, dy = _data(rng)
    before = (dX.name, dy.name)
    lazily(s2sad.grad(mlp), [rng.standard_normal((10, 8)), np.zeros(8),
                             rng.standard_normal(8)], dX, dy)
    assert (dX.name, dy.name) == before  # a Dask array's name is its graph


# ---- a NumPy parameter read in pieces, against Dask data ----
# Adjoints of an indexed read are made in the library of the adjoint that
# reaches them (a Dask array into a NumPy parameter's slice): built as
# NumPy's, a Dask term written into them would be computed on the spot.


def with_intercept(w, X, y):
    z = w[0] + X @ w[1:]
    return np.mean(np.logaddexp(0.0, z) - y * z)


def group_effects(u, X, y, group):
    r = X[:, 0] * u[group] - y
    return np.mean(r * r)


def radial_features(x, centres):
    d = x[:, None] - centres[None, :]
    return np.sum(np.exp(-d * d))


def poly_features(w, X):
    acc = np.zeros_like(X[:, 0])
    for j in range(X.shape[1]):
        acc += X[:, j] * np.sum(w ** (j + 1))
    return np.mean(acc ** 2)


def traced(A):
    return np.trace(A @ A.T) + np.einsum("ij,j->", A, A[0])


def summed_over_a_tuple(w, X):
    return np.sum((X * w) ** 2, axis=(0, 1)) / X.shape[0]


@pytest.mark.parametrize("f, args, argnums", [
    (with_intercept, "w11 X y", 0),
    (group_effects, "u4 X y group", 0),
    (group_effects, "u4 X y group", 1),
    (radial_features, "x8 centres", 0),
    (poly_features, "w3 X", 0),
    (traced, "A", 0),
    (summed_over_a_tuple, "w10 X", 0),
])
@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_numpy_parameters_read_in_pieces_against_dask_data(f, args, argnums,
                                                          mode, rng):
    X, y, dX, dy = _data(rng)
    numpy = {"w11": rng.standard_normal(11), "w10": rng.standard_normal(10),
             "w3": 0.5 * rng.standard_normal(3), "u4": rng.standard_normal(4),
             "x8": rng.standard_normal(8), "centres": rng.standard_normal(5),
             "X": X, "y": y, "group": rng.integers(0, 4, 1000),
             "A": rng.standard_normal((4, 4))}
    lazy = dict(numpy, X=dX, y=dy, x8=da.from_array(numpy["x8"], chunks=4),
                A=da.from_array(numpy["A"], chunks=2))
    if f is poly_features:
        numpy["X"], lazy["X"] = X[:, :3], dX[:, :3]
    names = args.split()
    plain, dasked = [numpy[n] for n in names], [lazy[n] for n in names]
    if mode == "rev":
        derivative = s2sad.grad(f, argnums=argnums)
        got, expected = lazily(derivative, *dasked), derivative(*plain)
    else:
        tangents = [None] * len(names)
        tangents[argnums] = np.ones(np.shape(plain[argnums]))
        got = lazily(s2sad.jvp, f, dasked, tangents)
        expected = s2sad.jvp(f, plain, tangents)
    _same(got, expected)


def _new_axes(x):
    return (np.sum(x[None] * x[:, None]) + np.sum(x[..., None] ** 2)
            + np.sum(x[:, None, 1:])
            + np.sum(x[None, 1:, None, 0] ** 2) + np.sum(x[..., None, 1]))


def test_an_index_with_new_axes_scatters_back_into_a_dask_array(rng):
    x = rng.standard_normal((4, 3))
    g = lazily(s2sad.grad(_new_axes), da.from_array(x, chunks=2))
    _same(g, s2sad.grad(_new_axes)(x))


def test_a_total_over_an_axis_tuple_spreads_a_small_graph(rng):
    X = da.random.RandomState(0).random_sample((10 ** 6, 50),
                                               chunks=(10 ** 5, 50))
    g = lazily(s2sad.grad(summed_over_a_tuple), np.ones(50), X)
    graph = len(pickle.dumps(dict(g.__dask_graph__())))
    assert graph < 10 ** 6, f"a graph of {graph} bytes"


def copied_ridge(w, X, y, lam):
    r = (X @ w).copy() - y  # (a method Dask has; np.copy it has not)
    return np.mean(r ** 2) * (1.0 + lam) + lam * np.sum(w ** 2)


def clipped(w, X, y):
    r = X @ w - y
    if np.max(np.abs(r)) > 1.0:  # Dask computes this test, once
        r = r / np.max(np.abs(r))
    return np.mean(r ** 2)


def counted(call, *args):
    """`call(*args)`, and how many graphs Dask computed for it."""
    counts = Counted()
    with dask.config.set(scheduler=counts):
        return call(*args), counts.computes


@pytest.mark.parametrize("argnums", [0, 3])
def test_a_copy_and_a_float_hyperparameter_keep_the_gradient_lazy(
        argnums, rng):
    X, y, dX, dy = _data(rng)
    w = rng.standard_normal(10)
    grad = s2sad.grad(copied_ridge, argnums=argnums)
    g = lazily(grad, w, dX, dy, 0.5)
    assert isinstance(g, da.Array)  # (of the Python float lam: a 0-d one)
    _same(g, grad(w, X, y, 0.5))
    got, tangent = lazily(s2sad.jvp, copied_ridge, (w, dX, dy, 0.5),
                          (np.ones(10), None, None, None))
    _same(tangent, s2sad.jvp(copied_ridge, (w, X, y, 0.5),
                             (np.ones(10), None, None, None))[1])


def test_a_branch_on_a_dask_value_computes_its_test_once(rng):
    X, y, dX, dy = _data(rng)
    w = 3.0 * np.abs(rng.standard_normal(10))
    _, computes = counted(clipped, w, dX, dy)
    assert computes == 1  # (the test; the value stays lazy)
    for derivative in (s2sad.grad(clipped), s2sad.value_and_grad(clipped)):
        got, computes = counted(derivative, w, dX, dy)
        assert computes == 1
        _same(got, derivative(w, X, y))
    got, computes = counted(s2sad.jvp, clipped, (w, dX, dy),
                            (np.ones(10), None, None))
    assert computes == 1
    assert "Dask's, computes here" in s2sad.grad(clipped).source


# ---- on a cluster: two worker processes on localhost ----

ROWS = 10 ** 6
COLUMNS = 100
CHUNK = 10 ** 5


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True,
            dashboard_address=None, host="127.0.0.1") as cluster, \
            distributed.Client(cluster) as client:
        yield client


def _blocks(X, y):
    """The chunks of X and y, computed one pair at a time."""
    for k in range(X.numblocks[0]):
        yield dask.compute(X.blocks[k], y.blocks[k])


@pytest.mark.parametrize("loss, by_hand", [
    (least_squares, least_squares_grad), (logistic, logistic_grad)])
def test_a_cluster_computes_the_gradient_over_a_million_rows(
        client, loss, by_hand):
    state = da.random.RandomState(0)
    X = state.standard_normal((ROWS, COLUMNS), chunks=(CHUNK, COLUMNS))
    truth = np.linspace(-1.0, 1.0, COLUMNS)
    y = X @ truth + 0.1 * state.standard_normal(ROWS, chunks=CHUNK)
    if loss is logistic:
        y = (y > 0).astype(float)
    w = np.full(COLUMNS, 0.01)
    g = lazily(s2sad.grad(loss), w, X, y)
    assert isinstance(g, da.Array)
    computed = client.compute(g).result()
    # NumPy's gradient, written by hand, summed over the chunks
    expected = sum(by_hand(w, Xb, yb, ROWS) for Xb, yb in _blocks(X, y))
    np.testing.assert_allclose(computed, expected, rtol=1e-10, atol=1e-14)


class Model:
    def __init__(self, scale):
        self.scale = scale

    def loss(self, w):
        return self.scale * np.sum(w ** 2)


def test_a_gradient_of_a_method_runs_on_the_workers(client):
    got = client.submit(s2sad.grad(Model(0.5).loss), np.ones(3)).result()
    np.testing.assert_allclose(got, np.ones(3))


def test_a_script_s_functions_and_methods_run_on_the_workers(tmp_path):
    # a script's functions travel by value (its workers cannot import it),
    # their code's file renamed "<dynamic-code>" by dask.distributed
    script = tmp_path / "fit.py"
    script.write_text(textwrap.dedent("""\
        import numpy as np
        from dask.distributed import Client, LocalCluster
        import s2sad


        class Model:
            def __init__(self, scale):
                self.scale = scale

            def loss(self, w):
                return self.scale * np.sum(w ** 3)


        def cube(x):
            return np.sum(x ** 3)


        if __name__ == "__main__":
            with LocalCluster(n_workers=2, threads_per_worker=1,
                              processes=True, dashboard_address=None,
                              host="127.0.0.1") as cluster, \\
                    Client(cluster) as client:
                x = np.arange(3.0)
                print(client.submit(s2sad.grad(cube), x).result().tolist())
                print(client.submit(s2sad.grad(Model(2.0).loss),
                                    x).result().tolist())
                print(s2sad.grad(Model(2.0).loss)(x).tolist())
        """))
    run = subprocess.run([sys.executable, str(script)], capture_output=True,
                         text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:3] == [
        "[0.0, 3.0, 12.0]", "[0.0, 6.0, 24.0]", "[0.0, 6.0, 24.0]"]


def test_client_map_runs_gradients_on_the_workers(client):
    inputs = [np.arange(3.0) + k for k in range(4)]
    futures = client.map(s2sad.grad(cube), inputs)
    for x, g in zip(inputs, client.gather(futures)):
        np.testing.assert_allclose(g, 3.0 * x ** 2, rtol=1e-15)
    worker = client.submit(s2sad.value_and_grad(cube), inputs[1]).result()
    assert worker[0] == cube(inputs[1])

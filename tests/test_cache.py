"""The cache of transformations: shared by closures, bounded, public to
clear, safe under threads; gradients that travel to other processes; a
real Jupyter kernel."""

import concurrent.futures
import gc
import multiprocessing
import pickle
import threading
import tracemalloc

import numpy as np
import pytest

import s2sad
from s2sad import api, derive


def make_loss(X, y):
    def loss(w):
        r = X @ w - y
        return np.mean(r * r)
    return loss


def batches(steps, n=64, d=8, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        yield rng.standard_normal((n, d)), rng.standard_normal(n)


def sgd(steps, w):
    for X, y in batches(steps):
        w = w - 0.01 * s2sad.grad(make_loss(X, y))(w)
    return w


def test_closures_share_one_transformation_and_keep_no_data():
    w = np.zeros(8)
    sgd(5, w)  # transformed here
    before = api.stats["transformations"]
    gc.collect()
    tracemalloc.start()
    try:
        sgd(50, w)
        gc.collect()
        settled, _ = tracemalloc.get_traced_memory()
        w = sgd(1000, w)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert api.stats["transformations"] == before
    # each batch is 4.6 kB: 1000 kept would be 4.6 MB
    assert after - settled < 100_000, (settled, after)
    X, y = next(batches(1))
    loss = make_loss(X, y)
    value, dw = s2sad.value_and_grad(loss)(w)
    assert value == loss(w)
    np.testing.assert_allclose(dw, 2 * X.T @ (X @ w - y) / len(y))


def test_each_closure_reads_its_own_cells():
    a, b = make_loss(np.eye(2), np.zeros(2)), make_loss(2 * np.eye(2),
                                                        np.ones(2))
    ga, gb = s2sad.grad(a), s2sad.grad(b)
    w = np.array([1.0, 2.0])
    np.testing.assert_allclose(ga(w), w)
    np.testing.assert_allclose(gb(w), 2 * (2 * w - 1))
    np.testing.assert_allclose(ga(w), w)


def test_closures_that_call_different_functions_get_their_own_code():
    def make(act):
        def f(x):
            return act(x) * x
        return f
    tanh, sin = make(np.tanh), make(np.sin)
    for _ in range(3):
        assert s2sad.grad(tanh)(0.5) == pytest.approx(
            np.tanh(0.5) + 0.5 * (1 - np.tanh(0.5) ** 2))
        assert s2sad.grad(sin)(0.5) == pytest.approx(
            np.sin(0.5) + 0.5 * np.cos(0.5))


def test_the_cache_is_bounded_and_can_be_cleared(monkeypatch):
    monkeypatch.setattr(derive, "MAX_TRANSFORMATIONS", 3)
    base = make_loss(np.eye(2), np.zeros(2))
    # copies with code objects of their own: six transformations
    functions = [type(base)(base.__code__.replace(), base.__globals__, "loss",
                            None, base.__closure__) for _ in range(6)]
    for f in functions:
        s2sad.grad(f)
    assert len(derive._CACHE) <= 3
    g = s2sad.grad(functions[-1])
    s2sad.clear_cache()
    assert not derive._CACHE
    np.testing.assert_allclose(g(np.array([1.0, 2.0])), [1.0, 2.0])


def test_eight_threads_cold_and_warm():
    X, y = next(batches(1))
    w = np.linspace(-1.0, 1.0, 8)
    expected = 2 * X.T @ (X @ w - y) / len(y)

    def work(_):
        results = []
        for _ in range(1000):
            results.append(s2sad.grad(make_loss(X, y))(w))
        return results
    for temperature in ("cold", "warm"):
        if temperature == "cold":
            s2sad.clear_cache()
        barrier = threading.Barrier(8)

        def start(i):
            barrier.wait()
            return work(i)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            for results in pool.map(start, range(8)):
                for r in results:
                    np.testing.assert_allclose(r, expected, rtol=1e-13)
    assert gc.isenabled()


def test_the_collector_comes_back_after_transformations_in_threads():
    def transform(k):
        source = make_loss(np.eye(2) * k, np.zeros(2))
        f = type(source)(source.__code__.replace(), source.__globals__,
                         "loss", None, source.__closure__)
        return s2sad.grad(f)(np.ones(2))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(transform, range(1, 9)))
    assert gc.isenabled()


def quadratic_loss(w):
    return np.sum((w - 1.0) ** 2)


def test_gradients_pickle_and_run_in_worker_processes():
    g = s2sad.grad(quadratic_loss)
    assert pickle.loads(pickle.dumps(g))(np.zeros(2)).tolist() == [-2.0, -2.0]
    points = [np.full(3, float(k)) for k in range(4)]
    expected = [2 * (p - 1.0) for p in points]
    for method in ("fork", "spawn"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            for got, want in zip(pool.map(g, points), expected):
                np.testing.assert_allclose(got, want)
    with concurrent.futures.ProcessPoolExecutor(
            2, mp_context=multiprocessing.get_context("spawn")) as pool:
        for got, want in zip(pool.map(g, points), expected):
            np.testing.assert_allclose(got, want)


def test_an_unimportable_function_says_why_it_does_not_pickle():
    g = s2sad.grad(make_loss(np.eye(2), np.zeros(2)))
    with pytest.raises((pickle.PicklingError, AttributeError),
                       match="loss"):
        pickle.dumps(g)


def test_a_notebook_in_a_real_kernel():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [
        "import numpy as np\nimport s2sad",
        "def h(x):\n    return 2.0 * x",
        "def f(x):\n    return h(x) * x",
        "g = s2sad.grad(f)\nprint(g(2.0), s2sad.value_and_grad(f)(2.0))",
        "def h(x):\n    return x ** 3",
        "print(f(2.0), g(2.0), s2sad.value_and_grad(f)(2.0))",
        "class Model:\n    def loss(self, w):\n        return np.sum(w ** 2)\n"
        "print(s2sad.grad(Model().loss)(np.ones(2)))",
    ]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbclient.NotebookClient(notebook, timeout=120,
                            kernel_name="python3").execute()

    def printed(k):
        return "".join(o.get("text", "") for o in notebook.cells[k].outputs)
    assert printed(3).split() == ["8.0", "(8.0,", "8.0)"]
    assert printed(5).split() == ["16.0", "32.0", "(16.0,", "32.0)"]
    assert printed(6).strip() == "[2. 2.]"


def make_model_loss(X, y, lam):
    def predict(w):
        return np.tanh(X @ w)
    penalty = lambda w: lam * np.sum(w * w)  # noqa: E731

    def loss(w):
        return np.mean((predict(w) - y) ** 2) + penalty(w)
    return loss


def test_closures_calling_their_own_helpers_share_and_keep_nothing():
    w = np.zeros(8)
    for X, y in batches(3):  # transformed here
        s2sad.value_and_grad(make_model_loss(X, y, 0.1))(w)
    before = api.stats["transformations"]
    for X, y in batches(100, seed=1):
        loss = make_model_loss(X, y, 0.1)
        value, dw = s2sad.value_and_grad(loss)(w)
        assert value == loss(w)
        w = w - 0.1 * dw
    assert api.stats["transformations"] == before
    del X, y, loss
    gc.collect()
    kept = [o for o in gc.get_objects()
            if isinstance(o, np.ndarray) and o.shape == (64, 8)]
    assert not kept
    X, y = next(batches(1, seed=2))
    s2sad.check_grads(make_model_loss(X, y, 0.3), (w,))


def level0(x):
    return np.sin(x)


def level1(x):
    return level0(x) + level0(2.0 * x)


def level2(x):
    return level1(x) + level1(2.0 * x)


def level3(x):
    return level2(x) + level2(2.0 * x)


def test_a_gradient_checks_each_function_it_calls_once():
    # the guards of a call graph are one per function, not one per path
    # (unoptimised, each helper has generated code of its own; optimised,
    # they are inlined, and one guard covers them all)
    g = s2sad.grad(level3, optimize=False)
    assert len(g.__wrapped__.__s2sad_guards__) == 4
    assert len(s2sad.grad(level3).__wrapped__.__s2sad_guards__) == 1
    # level3(x) = sum of sin(s x) over the 8 paths' scales s
    scales = [2.0 ** bin(path).count("1") for path in range(8)]
    assert g(0.3) == pytest.approx(sum(s * np.cos(s * 0.3) for s in scales))
    s2sad.check_grads(level3, (0.3,))

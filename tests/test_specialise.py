"""A derivative specialised to the kinds of its arguments at its second call
(s2sad.specialise): the same numbers to the bit, a guard sending other
arguments to the general code, and gradients that share no memory."""

import math
import sys

import numpy as np
import pytest

import s2sad
from s2sad import specialise
from tests import loop_corpus

SCALE = 0.5  # a module-level number the programs read


@pytest.fixture(autouse=True)
def at_the_second_call(monkeypatch):
    """Specialised at the second call (users' derivatives are once their
    calls have taken long enough: see the last tests), even in a run that
    specialises every derivative at once (S2SAD_TEST_SPECIALISED=1)."""
    monkeypatch.setattr(specialise, "AT_ONCE", False)
    monkeypatch.setattr(specialise, "CHECKED", None)
    monkeypatch.setattr(specialise, "WORTH", 0)


def mlp(W1, b1, W2, b2, x, t):
    h = np.tanh(W1 @ x + b1)
    out = W2 @ h + b2
    return SCALE * np.sum((out - t) ** 2)


def _inputs(rng, hidden=6, inputs=4):
    return (rng.normal(size=(hidden, inputs)), rng.normal(size=hidden),
            rng.normal(size=(1, hidden)), rng.normal(size=1),
            rng.normal(size=inputs), 0.3)


def _general(f, argnums, *args):
    """The general code's result: a derivative called once."""
    return s2sad.grad(f, argnums)(*args)


def _numeric(f, args, i, step=1e-6):
    x = np.array(args[i], dtype=float)
    out = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[k] += step
        down[k] -= step
        out[k] = (f(*args[:i], up, *args[i + 1:]) -
                  f(*args[:i], down, *args[i + 1:])) / (2 * step)
    return out


def _same(a, b):
    assert type(a) is type(b)
    if isinstance(a, tuple):
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert np.shape(a) == np.shape(b) and np.result_type(a) == \
            np.result_type(b)
        assert np.array_equal(a, b)


def test_the_second_call_runs_code_specialised_to_the_arguments(rng):
    args = _inputs(rng)
    g = s2sad.grad(mlp, (0, 1, 2, 3))
    first = g(*args)
    assert g.specialised_source is None  # (a function called once)
    second = g(*args)
    shown = g.specialised_source
    assert "W1.shape == (6, 4)" in shown and "SCALE.__class__ is float" in \
        shown and "matmul_adjoint" not in shown and "gradients" not in shown
    assert "# grad of line" in shown  # (the general code's comments)
    _same(first, second)
    _same(second, _general(mlp, (0, 1, 2, 3), *args))
    for i, part in enumerate(second):
        np.testing.assert_allclose(part, _numeric(mlp, args, i), rtol=1e-6,
                                   atol=1e-8)


def test_other_arguments_take_the_general_code(rng):
    args = _inputs(rng)
    g = s2sad.grad(mlp, 0)
    g(*args)
    g(*args)
    assert g.specialised_source is not None
    others = [
        _inputs(rng, hidden=3),  # other shapes
        tuple(a.astype(np.float32) if isinstance(a, np.ndarray) else a
              for a in args),  # other dtypes
        args[:5] + (np.float64(0.3),),  # a NumPy float for a float
        args[:5] + (np.array([0.3]),),  # an array for a float
    ]
    for other in others:
        _same(g(*other), _general(mlp, 0, *other))
    _same(g(*args), _general(mlp, 0, *args))  # (and back)


def test_a_module_level_number_rebound_to_an_array_is_seen(rng):
    global SCALE
    args = _inputs(rng)
    g = s2sad.grad(mlp, 0)
    g(*args)
    g(*args)
    try:
        SCALE = np.array([0.5, 2.0])  # (now the output has two elements)
        with pytest.raises(Exception):
            g(*args)
        SCALE = 2.0
        _same(g(*args), _general(mlp, 0, *args))
        SCALE = 2  # an int
        _same(g(*args), _general(mlp, 0, *args))
    finally:
        SCALE = 0.5


def test_gradients_share_no_memory(rng):
    def f(a, b):
        return np.sum(a + b)

    def g_of_views(x):
        return np.sum(x[1:] * 2.0)

    a, b = rng.normal(size=5), rng.normal(size=5)
    g = s2sad.grad(f, (0, 1))
    for _ in range(3):
        ga, gb = g(a, b)
        assert not np.shares_memory(ga, gb)
        assert not np.shares_memory(ga, a) and not np.shares_memory(gb, b)
        ga[0] = 99.0  # (a caller may write into a gradient)
    h = s2sad.grad(g_of_views)
    x = rng.normal(size=4)
    for _ in range(3):
        gx = h(x)
        assert not np.shares_memory(gx, x)
        np.testing.assert_array_equal(gx, [0.0, 2.0, 2.0, 2.0])


def test_errors_numpy_is_asked_to_raise_still_raise(rng):
    def f(x):
        return np.sum(np.exp(x))

    g = s2sad.grad(f)
    x = np.array([1.0, 2.0])
    g(x)
    g(x)
    assert g.specialised_source is not None
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError):
            g(np.array([1000.0, 1.0]))
    np.testing.assert_array_equal(g(x), np.exp(x))


def test_value_and_grad_and_aux(rng):
    def f(w, X, y):
        z = X @ w
        loss = np.mean(np.logaddexp(0.0, -y * z)) + SCALE * np.sum(w ** 2)
        return loss, z

    args = (rng.normal(size=3), rng.normal(size=(8, 3)),
            np.sign(rng.normal(size=8)))
    vg = s2sad.value_and_grad(f, has_aux=True)
    first = vg(*args)
    second = vg(*args)
    assert vg.specialised_source is not None
    (v1, aux1), g1 = first
    (v2, aux2), g2 = second
    assert v1 == v2 and type(v1) is type(v2)
    _same(g1, g2)
    np.testing.assert_array_equal(aux1, aux2)
    np.testing.assert_allclose(
        g2, _numeric(lambda *a: f(*a)[0], args, 0), rtol=1e-6)


def test_loops_and_branches_keep_their_values(rng):
    def f(u, steps, c):
        total = 0.0
        for _ in range(steps):
            lap = np.zeros_like(u)
            lap[1:-1] = u[2:] - 2 * u[1:-1] + u[:-2]
            u = u + c * lap
            if np.sum(u) > 0:
                total = total + np.sum(u ** 2)
            else:
                total = total - np.sum(u)
        return total

    u = rng.normal(size=12)
    g = s2sad.grad(f, (0, 2))
    first = g(u, 5, 0.1)
    _same(g(u, 5, 0.1), first)
    _same(g(u, 3, 0.1), _general(f, (0, 2), u, 3, 0.1))
    np.testing.assert_allclose(first[0], _numeric(f, (u, 5, 0.1), 0),
                               rtol=1e-6, atol=1e-8)


def test_code_on_numbers_is_specialised_past_its_own_check():
    """The float variant tests its inputs' classes; the guard has, and
    calls of other kinds still take their own code."""
    def f(x, y):
        return x * x * y

    g = s2sad.grad(f, (0, 1))
    assert g(2.0, 3.0) == (12.0, 4.0)
    assert g(2.0, 3.0) == (12.0, 4.0)
    shown = g.specialised_source
    assert "x.__class__ is float" in shown and "is not float" not in shown
    assert g(np.float64(2.0), 3.0) == (12.0, 4.0)
    assert type(g(np.float64(2.0), 3.0)[0]) is np.float64
    np.testing.assert_array_equal(g(np.array(2.0), 3.0)[0], 12.0)
    with pytest.raises(s2sad.S2SADError):
        g(2, 3.0)  # (an int: refused, as by the general code)


def test_specialised_code_on_numbers_computes_nothing_it_does_not_read():
    """The value of f (its seed decided: 1.0) and the flag of NumPy float64
    inputs (decided: Python floats) are not computed; a division, which
    may raise, still is."""
    def f(S, K, r):
        d = math.log(S / K) + r
        return S * math.erf(d) - K * math.exp(-r) * d + 1.0 / (S - K)

    g = s2sad.grad(f, (0, 1, 2))
    first = g(100.0, 95.0, 0.03)
    assert g(100.0, 95.0, 0.03) == first
    shown = g.specialised_source
    body = shown[shown.index("return general"):]
    assert "_numpy_floats" not in body
    assert " = S * " not in body.split("# grad of")[0]  # (S * erf(d))
    assert "1.0 / " in body  # (f's own ZeroDivisionError)
    with pytest.raises(ZeroDivisionError):
        g(95.0, 95.0, 0.03)


@pytest.mark.parametrize("value, fact", [
    (np.ones((2, 3)), ("array", (2, 3))), (1.5, ("float", ())),
    (np.float64(1.5), ("float64", ())), (3, ("int", ())), (True, None),
    (np.int64(3), None), (np.ones(3, ">f8"), None),
    ([1.0], ("many list", (0,))), ([1.0, 2], None), ((1.0,), None),
    (np.ones(2, dtype=object), None)])
def test_facts_of_arguments(value, fact):
    found = specialise.fact_of(value)
    assert (found and (found.kind, found.shape)) == fact


def test_a_refusal_after_specialising_names_the_call(rng):
    def loss(w, X):
        return np.mean((X @ w) ** 2)

    g = s2sad.grad(loss)
    w, X = np.array([0.5, -0.25]), np.eye(2)
    g(w, X)
    g(w, X)
    assert g.specialised_source is not None
    line = sys._getframe().f_lineno + 2
    with pytest.raises(s2sad.S2SADError) as info:
        g(np.array([1, 2]), X)
    assert str(info.value).startswith(f"{__file__}:{line}: ")


def rnn(W, U, xs, h):
    for x in xs:
        h = np.tanh(W @ h + U @ x)
    return np.sum(h ** 2)


def test_loops_over_a_tape_are_specialised(rng):
    args = (0.3 * rng.normal(size=(5, 5)), rng.normal(size=(5, 3)),
            rng.normal(size=(7, 3)), rng.normal(size=5))
    g = s2sad.grad(rnn, (0, 1))
    first = g(*args)
    second = g(*args)
    shown = g.specialised_source
    loop = shown[shown.index("for "):]
    assert "matmul_adjoint" not in loop and "unbroadcast(" not in loop
    _same(first, second)
    for i in (0, 1):
        np.testing.assert_allclose(second[i], _numeric(rnn, args, i),
                                   rtol=1e-6, atol=1e-8)
    fewer = (args[0], args[1], args[2][:3], args[3])  # (a shorter tape)
    _same(g(*fewer), _general(rnn, (0, 1), *fewer))


def test_a_specialised_derivative_holds_no_reference_cycle(rng):
    import gc
    import weakref

    args = _inputs(rng)
    gc.collect()
    gc.disable()
    try:
        g = s2sad.grad(mlp, 0)
        g(*args)
        g(*args)
        assert g.specialised_source is not None
        ref = weakref.ref(g)
        del g
        assert ref() is None
    finally:
        gc.enable()


def test_names_a_comprehension_binds_are_its_own(rng):
    def f(x, W):
        rows = [np.sum(x * W[i]) for x in (W[0], W[1]) for i in range(2)]
        return np.sum(W @ x) + rows[0] * rows[3]

    args = (rng.normal(size=3), rng.normal(size=(2, 3)))
    g = s2sad.grad(f, (0, 1))
    first = g(*args)
    _same(g(*args), first)
    for i in (0, 1):
        np.testing.assert_allclose(first[i], _numeric(f, args, i), rtol=1e-6)


def test_items_of_a_tuple_at_a_loop_index(rng):
    def f(a, b):
        parts = (a, b)
        total = 0.0
        for i in range(2):
            total = total + np.sum(parts[i] @ parts[i].T)
        return total

    args = (rng.normal(size=(2, 3)), rng.normal(size=(4, 5)))
    g = s2sad.grad(f, (0, 1))
    first = g(*args)
    _same(g(*args), first)
    for i in (0, 1):
        np.testing.assert_allclose(first[i], _numeric(f, args, i), rtol=1e-6)


# -- statements the specialised code writes in place of helpers ------------

def wave(u0, steps, c):
    """A user's leapfrog for the 1-D wave equation, its ends held at 0."""
    prev, u = u0.copy(), u0.copy()
    for _ in range(steps):
        new = np.zeros_like(u)
        new[1:-1] = 2 * u[1:-1] - prev[1:-1]
        new[1:-1] += c * (u[2:] - 2 * u[1:-1] + u[:-2])
        prev, u = u, new
    return np.sum(u ** 2)


def diffuse(T, steps, k):
    """Explicit 2-D diffusion written into a copy each step."""
    for _ in range(steps):
        out = T.copy()
        out[1:-1, 1:-1] += k * (T[2:, 1:-1] + T[:-2, 1:-1] + T[1:-1, 2:] +
                                T[1:-1, :-2] - 4 * T[1:-1, 1:-1])
        out[0, :] = out[1, :]  # (a row copied: an int index)
        T = out
    return np.sum(T * T) + np.max(T)


@pytest.mark.parametrize("f, args", [
    (wave, (np.sin(np.linspace(0.0, 3.0, 9)), 6, 0.3)),
    (diffuse, (np.random.default_rng(3).normal(size=(6, 5)), 4, 0.15)),
])
def test_slice_updates_in_loops_are_written_as_slice_updates(f, args):
    """The helpers of slice reads and writes (and of their adjoints) are
    written as the NumPy writes they make, and the tape no longer keeps
    what only they read: the same numbers, the caller's data unchanged."""
    kept = args[0].copy()
    g = s2sad.value_and_grad(f, 0)
    first = g(*args)
    second = g(*args)
    shown = g.specialised_source
    for helper in ("getitem_adjoint", "setitem_owned", "item_adjoint",
                   "runtime.like(", ".append(", ".pop("):
        assert helper not in shown
    assert "# grad of line" in shown[shown.index("reversed"):]  # (its loop)
    _same(first, second)
    assert second[0] == f(*args)
    np.testing.assert_array_equal(args[0], kept)
    np.testing.assert_allclose(second[1], _numeric(f, args, 0), rtol=1e-6,
                               atol=1e-8)
    other = (np.ones(np.shape(args[0])[:-1] + (7,)),) + args[1:]
    _same(g(*other), s2sad.value_and_grad(f, 0)(*other))
    fewer = (args[0], 2, args[2])  # (another count of steps: one guard)
    _same(g(*fewer), s2sad.value_and_grad(f, 0)(*fewer))


def softmax_loss(W, X, Y):
    logits = X @ W
    logits = logits - logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0] + np.mean(W ** 2)


def test_adjoints_of_sums_are_broadcast_where_arithmetic_spreads_them(rng):
    """The adjoint of a sum spread over its argument's shape is used
    unspread where the arithmetic reading it broadcasts it anyway; the
    sums unbroadcasting makes are written as sums."""
    args = (rng.normal(size=(5, 3)), rng.normal(size=(40, 5)),
            np.eye(3)[rng.integers(0, 3, size=40)])
    g = s2sad.grad(softmax_loss)
    first = g(*args)
    second = g(*args)
    shown = g.specialised_source
    assert "unreduce(" not in shown and "unbroadcast(" not in shown
    _same(first, second)
    np.testing.assert_allclose(second, _numeric(softmax_loss, args, 0),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", [
    lambda x: np.sum(x),  # (the gradient is the spread adjoint itself)
    lambda x: np.sum(x) * x[0, 1],
    lambda x: np.mean(x, axis=0) @ np.ones(3),
    lambda x: np.sum(np.sum(x, axis=1) ** 2),
])
def test_a_spread_adjoint_that_is_returned_or_multiplied_stays_an_array(f):
    x = np.arange(6.0).reshape(2, 3)
    g = s2sad.grad(f)
    first = g(x)
    second = g(x)
    _same(first, second)
    assert second.shape == x.shape and second.flags.writeable and \
        second.flags.owndata and second.strides == x.strides
    second += 1.0  # (the caller's to change: shares nothing)
    _same(g(x), first)


def test_numpy_reductions_give_what_numpy_gives(rng):
    def f(x, y):
        return (np.sum(x) * np.mean(y) + np.max(x) - np.min(y) +
                np.sum(np.prod(x, axis=1, keepdims=True) * y) +
                np.sum(np.mean(y, axis=0)) + np.sum(np.zeros_like(x) + x))

    args = (rng.normal(size=(4, 3)), rng.normal(size=(4, 3)))
    g = s2sad.value_and_grad(f, (0, 1))
    first = g(*args)
    second = g(*args)
    assert "np.sum(" not in g.specialised_source.split("grad of line")[0]
    _same(first, second)
    assert second[0] == f(*args)
    for i in (0, 1):
        np.testing.assert_allclose(second[1][i], _numeric(f, args, i),
                                   rtol=1e-6, atol=1e-8)


def test_a_tape_item_read_again_is_kept(rng):
    def f(x, n):
        total = 0.0
        for _ in range(n):
            x = np.sin(x) * x  # (both read by the adjoint)
            x[0] = 0.5 * x[1]
            total = total + np.sum(x)
        return total

    args = (rng.normal(size=5), 4)
    g = s2sad.grad(f)
    first = g(*args)
    _same(g(*args), first)
    assert ".pop(" in g.specialised_source
    np.testing.assert_allclose(first, _numeric(f, args, 0), rtol=1e-6,
                               atol=1e-8)


def kernel_loss(params, X, y):
    # a kernel built element by element: each element's exponent is a
    # NumPy float64 its loop tapes alone, and the loop tapes its range too
    scale, width = np.exp(params[0]), np.exp(params[1])
    n = len(y)
    K = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            r = -0.5 * np.sum((X[i] - X[j]) ** 2) / width ** 2
            K[i, j] = scale * np.exp(r)
    return y @ np.linalg.solve(K + 0.5 * np.eye(n), y)


def diagonal_loss(params, n):
    # a loop taping a float64 alone, and nothing else
    K = np.eye(n)
    for i in range(n):
        r = -0.5 * params[0] * i
        K[i, i] = np.exp(r)
    return np.sum(K ** 2)


def diagonal_products(params, n):
    # a loop taping a tuple of float64s
    K = np.eye(n)
    for i in range(n):
        a = params[0] * i
        b = params[1] + a
        K[i, i] = a * b
    return np.sum(K ** 2)


def test_numbers_a_loop_tapes_alone_are_kept_as_numbers(rng):
    """A float64 or float pushed alone is kept on a tape of numbers (8
    bytes each), and taken back as the same number of the same type; a
    tape keeping other things too keeps them beside it."""
    X, y = rng.normal(size=(6, 2)), rng.normal(size=6)
    args = (np.array([0.2, -0.1]), X, y)
    g = s2sad.grad(kernel_loss)
    first = g(*args)
    _same(g(*args), first)
    _same(g(*args), _general(kernel_loss, 0, *args))
    shown = g.specialised_source
    assert "= runtime.number_tape()" in shown and \
        "np.float64(_tape_numbers.pop())" in shown and "_tape = []" in shown
    np.testing.assert_allclose(first, _numeric(kernel_loss, args, 0),
                               rtol=1e-6, atol=1e-8)
    fewer = (args[0], X[:3], y[:3])  # (another size: the general code)
    _same(g(*fewer), _general(kernel_loss, 0, *fewer))

    args = (np.array([0.3, -0.2]), 4)
    for f, shown in ((diagonal_loss, "_tape = runtime.number_tape()"),
                     (diagonal_products, "runtime.float64s_popped(_tape, 2)")):
        g = s2sad.grad(f)
        first = g(*args)
        _same(g(*args), first)
        _same(g(*args), _general(f, 0, *args))
        assert shown in g.specialised_source
        np.testing.assert_allclose(first, _numeric(f, args, 0), rtol=1e-6,
                                   atol=1e-8)


def test_a_closure_s_number_rebound_is_seen():
    scale = 2.0

    def f(x):
        return np.sum(scale * x ** 2)

    def rebind(value):
        nonlocal scale
        scale = value

    g = s2sad.grad(f)
    x = np.array([1.0, -2.0, 0.5])
    g(x)
    _same(g(x), 4.0 * x)
    rebind(3.0)
    _same(g(x), 6.0 * x)
    rebind(np.array([1.0, 0.0, 2.0]))  # (an array: other code)
    _same(g(x), 2.0 * np.array([1.0, 0.0, 2.0]) * x)
    rebind(1)  # an int
    _same(g(x), 2.0 * x)


def test_a_value_made_from_a_list_of_numbers_is_not_taken_as_known():
    """Values are found on stand-ins (1.0 for a float): a number made from
    a list of them is not known, so a branch on it is not decided (here the
    stand-ins' distance is 0, the arguments' is not)."""
    def f(x0, x1):
        d = math.dist([x0, x1], [1.0, 1.0])
        return d * 2.0 if d else x0 * 3.0

    g = s2sad.grad(f, (0, 1))
    first = g(0.3, -0.2)
    _same(g(0.3, -0.2), first)
    assert g.specialised_source is not None
    d = math.dist([0.3, -0.2], [1.0, 1.0])
    np.testing.assert_allclose(first, (2.0 * -0.7 / d, 2.0 * -1.2 / d))


def test_a_derivative_is_specialised_once_its_calls_have_taken_long_enough(
        monkeypatch, rng):
    """Not at once: a derivative called a few times never wins back the
    milliseconds specialising takes. Once its calls have taken WORTH
    times what that is expected to cost, it is, and its results stay."""
    monkeypatch.setattr(specialise, "WORTH", 10)
    args = _inputs(rng)
    g = s2sad.grad(mlp, 0)
    first = g(*args)
    g(*args)
    assert g.specialised_source is None  # (a few calls: not worth it)
    text = g.source
    cost = specialise.SECONDS_PER_CHARACTER * len(text)
    assert specialise.worth(g._current) == pytest.approx(10 * cost, rel=0.5)
    # calls as slow as specialising once are worth it after ten of them
    monkeypatch.setattr(specialise, "SECONDS_PER_CHARACTER", 0.0)
    for _ in range(2):
        g(*args)
    assert g.specialised_source is not None
    _same(g(*args), first)


def test_a_derivative_called_a_few_times_costs_no_specialising(
        monkeypatch, rng):
    """A new derivative per batch, called twice (an extragradient step):
    nothing is specialised, as nothing would be won back."""
    def make_loss(X, y):
        def loss(w):
            r = X @ w - y
            return np.mean(r ** 2) + 0.01 * (w @ w)
        return loss

    w = np.zeros(5)
    monkeypatch.setattr(specialise, "WORTH", 10)
    for _ in range(5):
        X, y = rng.normal(size=(32, 5)), rng.normal(size=32)
        g = s2sad.grad(make_loss(X, y))
        w = w - 0.1 * g(w - 0.1 * g(w))
        assert g.specialised_source is None
    assert np.all(np.isfinite(w))


def logsumexp_rows(x):
    m = np.max(x, axis=-1, keepdims=True)
    return np.sum(m + np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True)))


def mixed(x, y):
    return x ** 2 * y + y / x


@pytest.mark.parametrize("f, args", [
    (logsumexp_rows, (np.arange(20.0).reshape(4, 5) / 7.0,)),
    (mixed, (np.float64(0.5), 0.3)), (mixed, (0.5, np.float64(0.3))),
    (wave, (np.sin(np.linspace(0.0, 3.0, 9)), 6, 0.3)),
    (rnn, (np.eye(3) * 0.3, np.ones((3, 2)), np.ones((4, 2)), np.ones(3)))])
def test_the_specialised_source_is_the_code_that_runs(f, args):
    """`.specialised_source` is Python (a branch taken at once loses its
    level of indentation), the code that runs, with no helper the facts
    decide left (a negative axis is a constant too)."""
    import ast
    g = s2sad.grad(f)
    first = g(*args)
    _same(g(*args), first)
    shown = g.specialised_source
    ast.parse(shown)
    assert "unbroadcast(" not in shown and "numpy_floats(" not in shown


def log_posterior(w, X, y, prior_sd=2.0):
    z = X @ w
    loglik = np.sum(y * z - np.logaddexp(0.0, z))
    return loglik - 0.5 * np.sum(w ** 2) / prior_sd ** 2


def test_what_only_the_value_reads_is_computed_only_with_it(rng):
    """A sum's terms (`np.logaddexp(0.0, z)`), which its adjoint read for
    their shape alone, are computed where the function's value is, which
    a gradient computes only for its seed's kind (outside attack: 3.5
    times a hand-written gradient, half of it the logaddexp)."""
    X, w = rng.normal(size=(50, 4)), rng.normal(size=4) * 0.1
    y = (rng.random(50) < 0.5).astype(float)
    g = s2sad.grad(log_posterior)
    first = g(w, X, y, 3.0)
    second = g(w, X, y, 3.0)
    _same(second, first)
    shown = g.specialised_source
    before, value_block = shown.split(" is None:\n")
    value_block = value_block.split("    # grad of")[0]
    assert "np.logaddexp(0.0, z)" in value_block and \
        "logaddexp" not in before
    import ast
    ast.parse(shown)
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    np.testing.assert_allclose(second, X.T @ (y - p) - w / 9.0, rtol=1e-12)
    value, again = s2sad.value_and_grad(log_posterior)(w, X, y, 3.0)
    assert value == log_posterior(w, X, y, 3.0)
    _same(again, first)


TEMP, ALPHA = 50.0, 0.95  # (module-level numbers, kinds guarded)


def smoothed_cvar(params, R):
    w, t = params[:-1], params[-1]
    excess = -(R @ w) - t
    soft = np.logaddexp(0.0, TEMP * excess) / TEMP
    return t + np.mean(soft) / (1.0 - ALPHA)


def test_terms_named_and_scaled_by_a_number_are_computed_with_the_value(
        rng):
    """The mean's terms named and divided by a number (`soft = ... /
    TEMP`), with a denominator `1.0 - ALPHA` whose zero test the facts do
    not decide: the mean's adjoint stays a number through the division
    (the branches of `g / n if n else np.divide(g, n)` give one kind), so
    the terms are computed only with the value (outside attack: a smoothed
    CVaR, 2.3 times a hand-written gradient)."""
    R = rng.normal(size=(300, 6)) * 0.01
    params = np.concatenate([np.full(6, 1.0 / 6.0), [0.01]])
    g = s2sad.grad(smoothed_cvar)
    first = g(params, R)
    second = g(params, R)
    _same(second, first)
    shown = g.specialised_source
    before, value_block = shown.split(" is None:\n")
    assert "logaddexp" in value_block.split("    # grad of")[0] and \
        "logaddexp" not in before and "unreduce(" not in shown
    np.testing.assert_allclose(second, _numeric(smoothed_cvar, (params, R), 0),
                               rtol=1e-6, atol=1e-8)
    value, again = s2sad.value_and_grad(smoothed_cvar)(params, R)
    assert value == smoothed_cvar(params, R)


def smoothed_loss(w, X, n):
    h = 1.0 / n  # (an int step count)
    total = 0.0  # (a Python float, to which the loop adds float64s)
    for k in range(n):
        total = total + h * np.sum(np.tanh(X @ w + k * h))
    return total


def test_an_int_argument_and_a_sum_begun_at_a_float_are_specialised(rng):
    """An int argument is a fact the guard checks (`h = 1.0 / n` is then a
    float), and a loop's sum that is a Python float on entry and a float64
    after is a number: its adjoint's helpers are decided, and the backward
    sweep keeps none; other kinds of n take the general code."""
    args = (rng.normal(size=3), rng.normal(size=(5, 3)), 4)
    g = s2sad.grad(smoothed_loss)
    first = g(*args)
    _same(g(*args), first)
    _same(first, _general(smoothed_loss, 0, *args))
    shown = g.specialised_source
    assert "n.__class__ is int" in shown
    backward = shown.split("reversed(")[1]
    assert "unbroadcast" not in backward and "runtime.shape(" not in shown
    np.testing.assert_allclose(first, _numeric(smoothed_loss, args, 0),
                               rtol=1e-6, atol=1e-8)
    for n in (np.int64(4), np.array(4), 3):
        other = args[:2] + (n,)
        _same(g(*other), _general(smoothed_loss, 0, *other))


# ---------------------------------------------------------------------------
# Lists of numbers the function makes and writes: a binomial tree, a
# trajectory appended step by step, a chain of springs written item by
# item. Their lengths are no fact (they follow the arguments' values), but
# every item is a number of one kind: the specialised code reads, writes and
# appends them, and adds into their adjoints, as Python does, without the
# helpers that find out what they were given.

DT = 0.01


def binomial_call(S0, sigma, n=30):
    dt = 1.0 / n
    u = math.exp(sigma * math.sqrt(dt))
    d = 1.0 / u
    p = (math.exp(0.03 * dt) - d) / (u - d)
    values = [max(S0 * u ** j * d ** (n - j) - 100.0, 0.0)
              for j in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(i + 1):
            values[j] = math.exp(-0.03 * dt) * (
                p * values[j + 1] + (1.0 - p) * values[j])
    return values[0]


def trajectory_mean(a, y0, n):
    ys = [y0]
    for _ in range(n):
        ys.append(ys[-1] + DT * math.sin(a * ys[-1]))
    return sum(ys) / len(ys)


def float64_items(w, n):
    """Items that are NumPy float64s (np.exp of a float), some Python
    floats: a list of numbers of either kind."""
    out = [w]
    for i in range(n):
        out.append(np.exp(-out[-1] * 0.5) if i % 2 else out[-1] * w)
    out[0] = out[-1] * 2.0
    return out[0] + out[len(out) // 2]


@pytest.mark.parametrize("f, args, argnums", [
    (binomial_call, (101.0, 0.2), (0, 1)),
    (trajectory_mean, (1.3, 0.4, 50), (0, 1)),
    (loop_corpus.spring_chain, (2.0, 1.5), (0, 1)),
    (float64_items, (0.7, 7), 0)])
def test_lists_of_numbers_the_function_writes_are_specialised(f, args,
                                                              argnums):
    g = s2sad.grad(f, argnums)
    first = g(*args)
    second = g(*args)
    shown = g.specialised_source
    assert shown is not None
    for helper in ("getitem_adjoints", "setitem_in_place", "overwritten",
                   "item_adjoint", "appended_owned", "cleared", "restore"):
        assert f"runtime.{helper}(" not in shown, helper
    _same(first, second)
    _same(second, _general(f, argnums, *args))
    numbers = argnums if isinstance(argnums, tuple) else (argnums,)
    for i, part in zip(numbers, second if isinstance(argnums, tuple)
                       else (second,)):
        np.testing.assert_allclose(part, _numeric(f, args, i), rtol=1e-6,
                                   atol=1e-9)


def test_a_list_s_lengths_and_kinds_follow_the_arguments(rng):
    """A loop that does not run leaves the list as made; a list that holds
    an array somewhere is no list of numbers (the helpers stay); other
    kinds of arguments take the general code."""
    g = s2sad.grad(trajectory_mean, (0, 1))
    for n in (0, 1, 5):
        _same(g(1.3, 0.4, n), _general(trajectory_mean, (0, 1), 1.3, 0.4, n))
        _same(g(1.3, 0.4, n), _general(trajectory_mean, (0, 1), 1.3, 0.4, n))
    _same(g(np.float64(1.3), 0.4, 5),
          _general(trajectory_mean, (0, 1), np.float64(1.3), 0.4, 5))

    def summed(x, n):
        terms = [x * k for k in range(n)]
        return sum(terms) * x + x  # (n = 0: the sum is the int 0)

    s = s2sad.grad(summed)
    for n in (3, 3, 0, 1, 0):
        assert s(0.7, n) == _general(summed, 0, 0.7, n)
    assert "runtime.getitem_adjoints" not in s.specialised_source

    def mixed(x, n):
        items = [x, np.array([x, 2.0 * x])]
        for i in range(n):
            items.append(items[-1] * x)
        return np.sum(items[-1]) + items[0]

    h = s2sad.grad(mixed)
    first = h(0.5, 3)
    _same(h(0.5, 3), first)
    np.testing.assert_allclose(first, _numeric(mixed, (0.5, 3), 0), rtol=1e-6)


def discounted(rate, flows):
    total = 0.0
    for k in range(len(flows)):
        total += flows[k] * math.exp(-rate * (k + 1))
    return total


def test_a_list_of_floats_argument_is_specialised():
    """A list of Python floats given as an argument is a fact the guard
    checks item by item; a list of other numbers (ints, NumPy float64s)
    takes the general code, and the caller's list is never changed."""
    g = s2sad.grad(discounted, (0, 1))
    flows = [3.0, 3.0, 103.0]
    first = g(0.05, flows)
    second = g(0.05, flows)
    shown = g.specialised_source
    assert "runtime.all_floats(flows)" in shown
    assert "getitem_adjoints" not in shown
    _same(first[0], second[0])
    assert first[1] == second[1] == _general(discounted, (0, 1), 0.05,
                                             flows)[1]
    assert flows == [3.0, 3.0, 103.0]
    np.testing.assert_allclose(second[1], [math.exp(-0.05 * k)
                                           for k in (1, 2, 3)], rtol=1e-15)
    for other in ([3.0, np.float64(3.0), 103.0], [3.0, 3.0]):
        assert g(0.05, other)[1] == _general(discounted, (0, 1), 0.05,
                                             other)[1]
    with pytest.raises(s2sad.S2SADError):
        g(0.05, [3, 3, 103])  # (ints: refused, as by the general code)


OBSERVED = [0.5 * math.cos(0.3 * k) for k in range(12)]  # data, as a list


def fitted(decay, scale):
    levels = [scale]
    for t in range(1, len(OBSERVED)):
        levels.append(levels[-1] * math.exp(-decay) + 0.1 * math.pi)
    err = 0.0
    for t in range(len(OBSERVED)):
        err += (levels[t] - OBSERVED[t]) ** 2
    return err


def test_module_level_lists_of_floats_and_module_constants_are_facts():
    """A module-level list of floats (data) and a module's float read as
    an attribute (`math.pi`) are facts the guard checks at each call: the
    list's items, so that data changed or made of other numbers takes the
    general code."""
    g = s2sad.grad(fitted, (0, 1))
    first = g(0.2, 1.5)
    _same(g(0.2, 1.5), first)
    shown = g.specialised_source
    assert "runtime.all_floats(OBSERVED)" in shown and \
        "math.pi.__class__ is float" in shown
    assert "unbroadcast" not in shown and "runtime.shape(" not in shown
    _same(first, _general(fitted, (0, 1), 0.2, 1.5))
    for i in (0, 1):
        np.testing.assert_allclose(first[i], _numeric(
            fitted, (0.2, 1.5), i), rtol=1e-6)
    kept = OBSERVED[3]
    OBSERVED[3] = 2  # (an int among the data)
    try:
        _same(g(0.2, 1.5), _general(fitted, (0, 1), 0.2, 1.5))
        assert g(0.2, 1.5) != first
    finally:
        OBSERVED[3] = kept


def cross_entropy_of_integer_labels(W, X, y):
    z = X @ W
    z = z - np.max(z, axis=1, keepdims=True)
    log_p = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(log_p[np.arange(X.shape[0]), y])


def test_arrays_indexed_by_integer_arrays_are_specialised(rng):
    """(outside attack: `log_p[np.arange(n), y]` with y an int array kept
    a cross-entropy on the general code however often it was called.)
    The index's facts (np.arange of a known length, an int array) give
    the item's; the adjoint's helper stays (labels may repeat)."""
    W, X = rng.standard_normal((5, 3)), rng.standard_normal((8, 5))
    f = cross_entropy_of_integer_labels
    for y in (rng.integers(0, 3, 8), np.zeros(8, dtype=np.int64)):
        g = s2sad.grad(f)
        first = g(W, X, y)
        _same(g(W, X, y), first)
        assert "int64_dtype" in g.specialised_source
        np.testing.assert_allclose(first, _numeric(f, (W, X, y), 0),
                                   rtol=1e-6, atol=1e-8)
    _same(g(W, X[:5], y[:5]), _general(f, 0, W, X[:5], y[:5]))  # (others)

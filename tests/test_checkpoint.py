"""Checkpointing: loops reversed on a binomial schedule, and functions
recomputed in the backward sweep, against the same programs without it."""

import functools
import math
import tracemalloc

import numpy as np
import pytest

import s2sad
from s2sad import checkpoints, errors, runtime

# -- the schedule --


@functools.lru_cache(maxsize=None)
def fewest_advances(steps, free):
    """The fewest steps any schedule recomputes to reverse `steps` steps
    from a snapshot of the first, holding at most `free` more snapshots at
    once (a step is reversed from the state before it, kept or
    recomputed), by dynamic programming over every first split."""
    if steps <= 1:
        return 0
    if free == 0:
        return steps * (steps - 1) // 2
    return min(m + fewest_advances(steps - m, free - 1)
               + fewest_advances(m, free) for m in range(1, steps))


def run_schedule(steps, snapshots, bundle):
    """Follow a schedule as generated code does, with positions for
    states: checks that each action restores the state it names, that each
    step is reversed once, last first, and that no more than `snapshots`
    snapshots are held. Returns (schedule, steps the forward sweep ran
    past its last snapshot)."""
    schedule = checkpoints.Revolve(checkpoints.Checkpointed(
        range(steps), snapshots, bundle), range(steps))
    stack, position = [], 0
    for start, stop in schedule.sweep:
        assert start == position
        stack.append(start)
        position = stop
    assert position == steps
    reversed_steps, most = [], len(stack)
    for start, stop, end, last in schedule.backward():
        top = stack.pop() if last else stack[-1]
        assert top == start
        if end is None:
            stack.append(stop)
        else:
            reversed_steps += range(end - 1, stop - 1, -1)
        most = max(most, len(stack))
    assert reversed_steps == list(range(steps - 1, -1, -1))
    assert most <= snapshots and not stack
    chain = schedule.sweep[-1][0] if schedule.sweep else 0
    return schedule, chain


@pytest.mark.parametrize("snapshots", [1, 2, 3, 4, 6])
def test_the_schedule_recomputes_the_fewest_steps(snapshots):
    # bundles of one step: Revolve's schedule; the forward sweep's own
    # steps up to its last snapshot are the schedule's first advances
    for steps in range(0, 90):
        schedule, chain = run_schedule(steps, snapshots, 1)
        if steps:
            assert schedule.advances + chain == fewest_advances(
                steps, snapshots - 1), steps


@pytest.mark.parametrize("steps", [1, 7, 64, 1000, 12345])
@pytest.mark.parametrize("snapshots,bundle", [(1, 1), (2, 5), (5, 3),
                                              (10, 100), (100, 1)])
def test_the_schedule_reverses_each_step_once(steps, snapshots, bundle):
    run_schedule(steps, snapshots, bundle)


def test_a_million_steps_with_a_hundred_snapshots_repeat_each_step_little():
    # C(100 + r, 100) >= 10**6 for r = 4 bundles... of 100 steps: under
    # two recomputations per step
    schedule, _ = run_schedule(10 ** 6, 100, 100)
    assert schedule.advances < 1.5 * 10 ** 6


def test_the_default_bundle_follows_the_size_of_the_state():
    loop = checkpoints.Checkpointed(range(10), snapshots=40)
    assert checkpoints.Revolve(loop, range(10), (1.5, 2)).bundle == 40
    assert checkpoints.Revolve(loop, range(10), (np.zeros(100),)).bundle == 10
    assert checkpoints.Revolve(loop, range(10),
                               (np.zeros((64, 64)),)).bundle == 1
    # by default, about the square root of the loop's length
    assert checkpoints.Revolve(checkpoints.Checkpointed(range(400)),
                               range(400)).free + 1 == 20


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, "4", np.float64(3.0)])
def test_a_bad_budget_is_refused_with_what_it_must_be(bad):
    with pytest.raises(ValueError, match="snapshots must be an int"):
        s2sad.checkpointed(range(5), snapshots=bad)
    with pytest.raises(ValueError, match="bundle must be an int"):
        s2sad.checkpointed(range(5), snapshots=3, bundle=bad)


def test_undifferentiated_the_loop_runs_as_written():
    assert list(s2sad.checkpointed(range(4), snapshots=2)) == [0, 1, 2, 3]
    assert list(s2sad.checkpointed(iter("abc"))) == ["a", "b", "c"]
    assert logistic(2.5, 0.3, 50, 3, 1) == logistic_plain(2.5, 0.3, 50)


# -- checkpointed loops: programs, each with its plain twin --

def logistic(r, x, n, snapshots, bundle):
    for t in s2sad.checkpointed(range(n), snapshots=snapshots, bundle=bundle):
        x = r * x * (1.0 - x)
    return x


def logistic_plain(r, x, n):
    for t in range(n):
        x = r * x * (1.0 - x)
    return x


def rnn(W, U, h, xs, snapshots, bundle):
    loss = 0.0
    for t in s2sad.checkpointed(range(len(xs)), snapshots=snapshots,
                                bundle=bundle):
        h = np.tanh(W @ h + U @ xs[t])
        loss = loss + np.sum(h * h)
    return loss


def rnn_plain(W, U, h, xs):
    loss = 0.0
    for t in range(len(xs)):
        h = np.tanh(W @ h + U @ xs[t])
        loss = loss + np.sum(h * h)
    return loss


def stepper(u, k, n, snapshots, bundle):
    # a slice of the state updated in place, every step
    u = u.copy()
    for t in s2sad.checkpointed(range(n), snapshots=snapshots, bundle=bundle):
        lap = u[:-2] - 2.0 * u[1:-1] + u[2:]
        u[1:-1] = u[1:-1] + k * lap - 0.1 * u[1:-1] ** 3
    return np.sum(u ** 2)


def stepper_plain(u, k, n):
    u = u.copy()
    for t in range(n):
        lap = u[:-2] - 2.0 * u[1:-1] + u[2:]
        u[1:-1] = u[1:-1] + k * lap - 0.1 * u[1:-1] ** 3
    return np.sum(u ** 2)


def damped(x, v, n, snapshots, bundle):
    # branches and an inner loop in each step; a math helper
    energy = 0.0
    for i in s2sad.checkpointed(range(n), snapshots=snapshots, bundle=bundle):
        if x > 0.0:
            v = v - 0.1 * x - 0.05 * v
        else:
            v = v - 0.1 * x * x * x
        for j in range(2):
            energy = energy + math.sin(x * (j + 1)) * 0.1
        x = x + 0.1 * v
    return energy + x * v


def damped_plain(x, v, n):
    energy = 0.0
    for i in range(n):
        if x > 0.0:
            v = v - 0.1 * x - 0.05 * v
        else:
            v = v - 0.1 * x * x * x
        for j in range(2):
            energy = energy + math.sin(x * (j + 1)) * 0.1
        x = x + 0.1 * v
    return energy + x * v


def over_items(ws, x, snapshots, bundle):
    # the loop's items are differentiated values themselves
    for w in s2sad.checkpointed(ws, snapshots=snapshots, bundle=bundle):
        x = np.sin(w * x) + w
    return x


def over_items_plain(ws, x):
    for w in ws:
        x = np.sin(w * x) + w
    return x


def trajectory(x, n, snapshots, bundle):
    # a list carried through the loop, appended to at every step
    path = [x]
    for t in s2sad.checkpointed(range(n), snapshots=snapshots, bundle=bundle):
        x = x - 0.2 * np.sin(x) + 0.01 * t
        path.append(x)
    return sum(p * p for p in path)


def trajectory_plain(x, n):
    path = [x]
    for t in range(n):
        x = x - 0.2 * np.sin(x) + 0.01 * t
        path.append(x)
    return sum(p * p for p in path)


def _programs():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(4, 4)) * 0.5
    U = rng.normal(size=(4, 3))
    return {
        "logistic": (logistic, logistic_plain, (2.9, 0.3, 40), (0, 1)),
        "rnn": (rnn, rnn_plain, (W, U, rng.normal(size=4),
                                 rng.normal(size=(17, 3))), (0, 1, 2)),
        "stepper": (stepper, stepper_plain, (rng.normal(size=9), 0.2, 23),
                    (0, 1)),
        "damped": (damped, damped_plain, (0.4, -0.3, 31), (0, 1)),
        "over_items": (over_items, over_items_plain,
                       ([0.3, 1.2, -0.5, 0.8, 1.1, 0.2], 0.7), (0, 1)),
        "trajectory": (trajectory, trajectory_plain, (0.5, 12), (0,)),
    }


PROGRAMS = _programs()
BUDGETS = [(1, 1), (2, 1), (3, 2), (5, 1), (4, 7), (50, None), (2, None)]


def _assert_same(got, want):
    if isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _assert_same(g, w)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("budget", BUDGETS, ids=str)
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_a_checkpointed_loop_has_the_plain_loops_value_and_gradient(
        name, budget):
    f, plain, args, argnums = PROGRAMS[name]
    value, grads = s2sad.value_and_grad(f, argnums=argnums)(*args, *budget)
    want_value, want = s2sad.value_and_grad(plain, argnums=argnums)(*args)
    assert value == f(*args, *budget) == plain(*args)
    _assert_same(grads, want)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_a_checkpointed_loop_against_central_differences(name):
    f, _, args, argnums = PROGRAMS[name]
    s2sad.check_grads(f, tuple(args) + (3, 2), argnums=argnums,
                      modes=("rev", "fwd"))


def test_both_variants_agree_on_floats_and_arrays():
    grad = s2sad.grad(logistic, argnums=(0, 1))
    on_floats = grad(2.9, 0.3, 40, 4, 3)
    on_arrays = grad(np.array(2.9), np.array(0.3), 40, 4, 3)
    _assert_same(on_arrays, on_floats)
    assert all(type(g) is float for g in on_floats)


def test_forward_mode_and_higher_orders_run_the_loop_as_written():
    x = np.array([2.9, 0.3])

    def on_vector(v, snapshots, bundle):
        return logistic(v[0], v[1], 9, snapshots, bundle)

    def on_vector_plain(v):
        return logistic_plain(v[0], v[1], 9)

    want = s2sad.hessian(on_vector_plain)(x)
    for budget in [(1, 1), (3, 1), (2, 4)]:
        _assert_same(s2sad.hessian(on_vector)(x, *budget), want)
    tangent = s2sad.jvp(logistic, (2.9, 0.3, 40, 3, 1), (1.0, 0.5, None,
                                                          None, None))
    _assert_same(tangent, s2sad.jvp(logistic_plain, (2.9, 0.3, 40),
                                    (1.0, 0.5, None)))


def test_reverse_over_reverse_runs_the_checkpointed_loops_as_loops():
    # the gradient of the gradient: the generated code's loops, taped
    def on_vector(v, snapshots, bundle):
        return logistic(v[0], v[1], 9, snapshots, bundle) ** 2

    def on_vector_plain(v):
        return logistic_plain(v[0], v[1], 9) ** 2

    def grad_norm(v, snapshots):
        g = s2sad.grad(on_vector)(v, snapshots, 1)
        return np.sum(g * g)

    def grad_norm_plain(v):
        g = s2sad.grad(on_vector_plain)(v)
        return np.sum(g * g)

    x = np.array([2.9, 0.3])
    _assert_same(s2sad.grad(grad_norm)(x, 3), s2sad.grad(grad_norm_plain)(x))
    assert math.isclose(
        s2sad.grad(s2sad.grad(falling))(1.0, 0.01, 3, 1),
        s2sad.grad(s2sad.grad(falling_plain))(1.0, 0.01), rel_tol=1e-12)


def test_a_vjp_pulls_back_many_cotangents():
    # the backward sweep works on its own copy of the snapshots each time
    def shrink(x, n):
        for t in s2sad.checkpointed(range(n), snapshots=3, bundle=1):
            x = np.sin(x) * 1.1 + x[::-1] * 0.2
        return x

    def shrink_plain(x, n):
        for t in range(n):
            x = np.sin(x) * 1.1 + x[::-1] * 0.2
        return x

    x = np.linspace(0.0, 1.0, 5)
    _, pull = s2sad.vjp(shrink, x, 17)
    _, pull_plain = s2sad.vjp(shrink_plain, x, 17)
    for cotangent in (np.ones(5), np.arange(5.0), -np.ones(5)):
        _assert_same(pull(cotangent)[0], pull_plain(cotangent)[0])


def simulate(x, n):
    for t in s2sad.checkpointed(range(n), snapshots=4):
        x = x + 0.1 * np.cos(x)
    return x


def total_of_simulations(x):
    # a function with a checkpointed loop called by another, and in a loop
    total = 0.0
    for k in range(3):
        total = total + simulate(x * (k + 1), 20)
    return total


def total_of_simulations_plain(x):
    total = 0.0
    for k in range(3):
        x_k = x * (k + 1)
        for t in range(20):
            x_k = x_k + 0.1 * np.cos(x_k)
        total = total + x_k
    return total


def test_a_checkpointed_loop_in_a_function_called_in_a_loop():
    assert math.isclose(s2sad.grad(total_of_simulations)(0.3),
                        s2sad.grad(total_of_simulations_plain)(0.3),
                        rel_tol=1e-12)


def test_the_caller_s_arrays_are_not_changed():
    u = np.linspace(-1.0, 1.0, 9)
    before = u.copy()
    s2sad.grad(stepper)(u, 0.2, 23, 2, 1)
    np.testing.assert_array_equal(u, before)


def test_the_generated_code_shows_the_schedule():
    grad = s2sad.grad(logistic, argnums=(0, 1))
    grad(2.9, 0.3, 10, 3, 1)
    source = grad.source
    assert "runtime.revolve(" in source
    assert "a checkpointed loop, reversed on its binomial schedule" in source
    assert "_schedule.backward()" in source


def test_memory_stays_bounded_by_the_snapshots():
    # a long loop of one float: the plain tape grows with the loop, the
    # checkpointed gradient holds 10 snapshots and one bundle's tape
    grad = s2sad.grad(logistic, argnums=(0, 1))
    grad_plain = s2sad.grad(logistic_plain, argnums=(0, 1))
    args = (2.9, 0.3, 20000)

    def peak(g, *extra):
        g(*args, *extra)
        g(*args, *extra)  # (the second call specialises the code)
        tracemalloc.start()
        try:
            g(*args, *extra)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak(grad, 10, 10) < 0.05 * peak(grad_plain)


# -- checkpointed while loops: their length is known when they end --

def falling(v, k, snapshots, bundle):
    t, x = 0.0, 0.0
    while s2sad.checkpointed_while(x < 30.0, snapshots=snapshots,
                                   bundle=bundle):
        v = v + 0.01 * (9.81 - k * v * v)
        x = x + 0.01 * v
        t = t + 0.01
    return t + v * x


def falling_plain(v, k):
    t, x = 0.0, 0.0
    while x < 30.0:
        v = v + 0.01 * (9.81 - k * v * v)
        x = x + 0.01 * v
        t = t + 0.01
    return t + v * x


def relax(A, b, x, snapshots, bundle):
    # Jacobi-like iterations until the update is small, with a branch
    change = 1.0
    steps = 0
    while s2sad.checkpointed_while(change > 1e-6, snapshots=snapshots,
                                   bundle=bundle):
        new = 0.5 * x + 0.5 * (b - A @ x)
        if steps % 2 == 0:
            new = new * 1.0
        else:
            new = new + 0.0 * x
        change = np.max(np.abs(new - x))
        x = new
        steps = steps + 1
    return np.sum(x ** 2)


def relax_plain(A, b, x):
    change = 1.0
    steps = 0
    while change > 1e-6:
        new = 0.5 * x + 0.5 * (b - A @ x)
        if steps % 2 == 0:
            new = new * 1.0
        else:
            new = new + 0.0 * x
        change = np.max(np.abs(new - x))
        x = new
        steps = steps + 1
    return np.sum(x ** 2)


WHILE_PROGRAMS = {
    "falling": (falling, falling_plain, (1.0, 0.01), (0, 1)),
    "relax": (relax, relax_plain, (
        np.array([[0.3, 0.1, 0.0], [0.1, 0.4, 0.1], [0.0, 0.1, 0.2]]),
        np.array([1.0, -0.5, 0.3]), np.zeros(3)), (0, 1, 2)),
}


@pytest.mark.parametrize("budget", BUDGETS[:-2] + [(3, None)], ids=str)
@pytest.mark.parametrize("name", sorted(WHILE_PROGRAMS))
def test_a_checkpointed_while_loop_has_the_plain_loops_gradient(name, budget):
    f, plain, args, argnums = WHILE_PROGRAMS[name]
    value, grads = s2sad.value_and_grad(f, argnums=argnums)(*args, *budget)
    want_value, want = s2sad.value_and_grad(plain, argnums=argnums)(*args)
    assert value == want_value == f(*args, *budget)
    _assert_same(grads, want)


def test_a_checkpointed_while_loop_in_both_modes_and_to_second_order():
    s2sad.check_grads(falling, (1.0, 0.01, 4, 1), argnums=(0, 1),
                      modes=("rev", "fwd"))

    def on_vector(p, snapshots):
        return falling(p[0], p[1], snapshots, 1)

    def on_vector_plain(p):
        return falling_plain(p[0], p[1])

    p = np.array([1.0, 0.01])
    _assert_same(s2sad.hessian(on_vector)(p, 3),
                 s2sad.hessian(on_vector_plain)(p))


def test_an_online_schedule_holds_its_snapshots_and_reverses_each_step():
    for snapshots in (1, 2, 3, 10):
        for bundle in (1, 3):
            for steps in list(range(40)) + [500]:
                schedule = checkpoints.Online()
                held = []
                for step in range(steps):
                    if step == schedule.next:
                        held = [held[i] for i in schedule.keep(
                            len(held), snapshots, bundle, 1)] + [step]
                    assert len(held) <= snapshots
                held = [held[i] for i in schedule.chain(steps)]
                reversed_steps = []
                for start, stop, end, last in schedule.backward():
                    assert (held.pop() if last else held[-1]) == start
                    if end is None:
                        held.append(stop)
                    else:
                        reversed_steps += range(end - 1, stop - 1, -1)
                    assert len(held) <= snapshots
                assert reversed_steps == list(range(steps - 1, -1, -1))
                assert not held


# -- what a checkpointed loop cannot be --

def early_exit(r, x, n):
    for t in s2sad.checkpointed(range(n), snapshots=3):
        x = r * x * (1.0 - x)
        if x > 10.0:
            break
    return x


def returns_inside(r, x, n):
    for t in s2sad.checkpointed(range(n), snapshots=3):
        x = r * x * (1.0 - x)
        if x > 10.0:
            return x
    return x


def nested(r, x, n):
    for i in range(3):
        for t in s2sad.checkpointed(range(n), snapshots=3):
            x = r * x * (1.0 - x)
    return x


def while_with_break(r, x, n):
    t = 0
    while s2sad.checkpointed_while(t < n, snapshots=3):
        x = r * x * (1.0 - x)
        t = t + 1
        if x > 10.0:
            break
    return x


def while_in_a_test(r, x, n):
    t = 0
    while s2sad.checkpointed_while(t < n, snapshots=3) and x < 10.0:
        x = r * x * (1.0 - x)
        t = t + 1
    return x


@pytest.mark.parametrize("func,message", [
    (early_exit, "runs to its end"),
    (returns_inside, "runs to its end"),
    (nested, "not inside another loop"),
    (while_with_break, "the whole test"),
    (while_in_a_test, "the whole test"),
])
def test_what_cannot_be_checkpointed_is_refused_at_its_line(func, message):
    with pytest.raises(errors.UnsupportedSyntaxError, match=message):
        s2sad.grad(func)(2.5, 0.3, 5)
    # forward mode runs it as written
    s2sad.jvp(func, (2.5, 0.3, 5), (1.0, 0.0, None))


def noisy(x, n):
    rng = np.random.default_rng(0)
    for t in s2sad.checkpointed(range(n), snapshots=3):
        x = x * (1.0 + 0.1 * rng.standard_normal())
    return x


def noisy_while(x, n):
    t = 0
    while s2sad.checkpointed_while(t < n, snapshots=2):
        x = x * (1.0 + 0.1 * np.random.standard_normal())
        t = t + 1
    return x


def noisy_early(x, n):
    # random only in the first steps: caught at the snapshots there
    rng = np.random.default_rng(1)
    for t in s2sad.checkpointed(range(n), snapshots=5):
        if t < 10:
            x = x * (1.0 + 0.01 * rng.standard_normal())
        else:
            x = x * 1.001
    return x


def noisy_early_while(x, n):
    rng = np.random.default_rng(1)
    t = 0
    while s2sad.checkpointed_while(t < n, snapshots=5):
        if t < 10:
            x = x * (1.0 + 0.01 * rng.standard_normal())
        else:
            x = x * 1.001
        t = t + 1
    return x


@pytest.mark.parametrize("func", [noisy, noisy_while, noisy_early,
                                  noisy_early_while])
def test_steps_that_differ_when_run_again_are_refused(func):
    # random numbers drawn in the loop: the backward sweep's steps are not
    # the function's, so the gradient would be wrong; refused at the loop
    with pytest.raises(errors.UnsupportedCallError, match="different values"):
        s2sad.grad(func)(1.0, 60)


def test_a_loop_over_rows_keyword_arguments_and_numpy_ints():
    def rows(v, A):
        for row in s2sad.checkpointed(A, snapshots=np.int64(2)):
            v = v * row + np.cos(v)
        return np.sum(v)

    def rows_plain(v, A):
        for row in A:
            v = v * row + np.cos(v)
        return np.sum(v)

    def counted(x, n):
        for t in s2sad.checkpointed(iterable=range(n), snapshots=2):
            x = x * 1.1 + 0.1 * t
        return x

    for A in (np.zeros((0, 4)), np.arange(12.0).reshape(3, 4) / 10):
        _assert_same(s2sad.grad(rows, argnums=(0, 1))(np.ones(4), A),
                     s2sad.grad(rows_plain, argnums=(0, 1))(np.ones(4), A))
    assert math.isclose(s2sad.grad(counted)(1.0, 5), 1.1 ** 5, rel_tol=1e-14)


# -- checkpointed functions --

@s2sad.checkpoint
def layer(W, h):
    z = W @ h
    return np.tanh(z) * 0.9 + np.sin(z) * 0.1


def layer_plain(W, h):
    z = W @ h
    return np.tanh(z) * 0.9 + np.sin(z) * 0.1


def network(W1, W2, x):
    return np.sum(layer(W2, layer(W1, x)) ** 2)


def network_plain(W1, W2, x):
    return np.sum(layer_plain(W2, layer_plain(W1, x)) ** 2)


def test_a_checkpointed_function_is_the_function():
    W = np.eye(3) * 0.5
    x = np.arange(3.0)
    np.testing.assert_array_equal(layer(W, x), layer_plain(W, x))
    assert layer.__name__ == "layer" and layer.__wrapped__.__name__ == "layer"


def test_a_checkpointed_function_has_the_function_s_derivatives(rng):
    W1, W2 = rng.normal(size=(2, 3, 3))
    x = rng.normal(size=3)
    for argnums in [(0, 1, 2), (2,), 1]:
        _assert_same(s2sad.grad(network, argnums=argnums)(W1, W2, x),
                     s2sad.grad(network_plain, argnums=argnums)(W1, W2, x))
    _assert_same(s2sad.jvp(network, (W1, W2, x), (None, W1, x)),
                 s2sad.jvp(network_plain, (W1, W2, x), (None, W1, x)))
    _assert_same(s2sad.hessian(network, argnums=2)(W1, W2, x),
                 s2sad.hessian(network_plain, argnums=2)(W1, W2, x))
    s2sad.check_grads(network, (W1, W2, x), modes=("rev", "fwd"))


def test_a_checkpointed_closure_method_and_keyword_call(rng):
    W = rng.normal(size=(3, 3))
    h = rng.normal(size=3)

    def closure(W, h):
        step = s2sad.checkpoint(lambda v: np.tanh(W @ v))
        for i in range(3):
            h = step(h)
        return np.sum(h ** 2)

    def closure_plain(W, h):
        for i in range(3):
            h = np.tanh(W @ h)
        return np.sum(h ** 2)

    _assert_same(s2sad.grad(closure, argnums=(0, 1))(W, h),
                 s2sad.grad(closure_plain, argnums=(0, 1))(W, h))

    class Model:
        def __init__(self, W):
            self.W = W

        @s2sad.checkpoint
        def layer(self, v):
            return np.sin(self.W @ v)

    model = Model(W)

    def through_method(v):
        return np.sum(model.layer(v))

    def by_keyword(v):
        return np.sum(layer(W, h=v))

    def by_position(v):
        return np.sum(layer_plain(W, v))

    np.testing.assert_allclose(s2sad.grad(through_method)(h),
                               np.cos(W @ h) @ W, rtol=1e-13)
    np.testing.assert_allclose(s2sad.grad(by_keyword)(h),
                               s2sad.grad(by_position)(h), rtol=1e-13)


def test_a_checkpointed_function_in_a_checkpointed_loop(rng):
    W = rng.normal(size=(3, 3)) * 0.6
    xs = rng.normal(size=(9, 3))

    @s2sad.checkpoint
    def cell(W, h, x):
        return np.tanh(W @ h + x)

    def run(W, h, xs):
        for t in s2sad.checkpointed(range(len(xs)), snapshots=2, bundle=1):
            h = cell(W, h, xs[t])
        return np.sum(h)

    def run_plain(W, h, xs):
        for t in range(len(xs)):
            h = np.tanh(W @ h + xs[t])
        return np.sum(h)

    h = np.zeros(3)
    _assert_same(s2sad.grad(run, argnums=(0, 2))(W, h, xs),
                 s2sad.grad(run_plain, argnums=(0, 2))(W, h, xs))


def test_a_checkpointed_function_keeps_its_arguments_not_its_insides(rng):
    Ws = [rng.normal(size=(200, 200)) / 15 for _ in range(6)]
    x = rng.normal(size=(200, 100))

    def deep(Ws, x, step):
        h = x
        for W in Ws:
            h = step(W, h)
        return np.mean(h ** 2)

    def peak(step):
        grad = s2sad.grad(deep)
        grad(Ws, x, step)
        tracemalloc.start()
        try:
            grad(Ws, x, step)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # the plain layer's vjp keeps its insides for the backward sweep (W @ h
    # and what tanh and sin read of it), the checkpointed one its
    # arguments: at least one array of a layer's output less per layer
    # (the rest of the peak, the gradients and the sweep's own arrays, is
    # the same for both)
    assert peak(layer_plain) - peak(layer) >= len(Ws) * x.nbytes


def test_a_checkpointed_function_differentiated_itself_or_as_call(rng):
    # at the top, it is the function; a class's checkpointed __call__
    _assert_same(s2sad.jacobian(layer, argnums=1)(np.eye(2), np.ones(2)),
                 s2sad.jacobian(layer_plain, argnums=1)(np.eye(2), np.ones(2)))
    assert s2sad.value_and_grad(lambda_free_square)(3.0) == (9.0, 6.0)

    class Cell:
        def __init__(self, W):
            self.W = W

        @s2sad.checkpoint
        def __call__(self, h, x):
            return np.tanh(self.W @ h + x)

    cell = Cell(rng.normal(size=(2, 2)))

    def loss(h, x):
        return np.sum(cell(h, x) ** 2)

    def loss_plain(h, x):
        return np.sum(np.tanh(cell.W @ h + x) ** 2)

    h, x = rng.normal(size=(2, 2))
    _assert_same(s2sad.grad(loss, argnums=(0, 1))(h, x),
                 s2sad.grad(loss_plain, argnums=(0, 1))(h, x))


@s2sad.checkpoint
def lambda_free_square(x):
    return x ** 2


def test_a_checkpointed_function_that_differs_when_run_again_is_refused():
    draws = np.random.default_rng(0)

    @s2sad.checkpoint
    def dropout(W, h, rng):
        return np.tanh(W @ h) * (rng.random(h.shape) > 0.3)

    def loss(W, h):
        return np.sum(dropout(W, h, draws) ** 2)

    with pytest.raises(errors.UnsupportedCallError, match="different value"):
        s2sad.grad(loss)(np.eye(3), np.ones(3))


# ---- s2sad.checkpoint(fn, save="products"): products kept, not redone ----


class Counted(np.ndarray):
    """A weight matrix that counts the products it is the left side of."""
    products = 0

    def __matmul__(self, other):
        Counted.products += 1
        return np.asarray(self) @ other


def dense(W, b, x):
    h = x
    for _ in range(2):  # two products per call, replayed in their order
        h = np.tanh(W @ h + b)
    return h


dense_nothing = s2sad.checkpoint(dense)
dense_products = s2sad.checkpoint(dense, save="products")


def deep(layer, params, x):
    for W, b in params:
        x = layer(W, b, x)
    return np.sum(x ** 2)


def deep_plain(params, x):
    return deep(dense, params, x)


def deep_nothing(params, x):
    return deep(dense_nothing, params, x)


def deep_products(params, x):
    return deep(dense_products, params, x)


def _deep_inputs(rng, counted=False):
    params = [(rng.standard_normal((4, 4)), rng.standard_normal(4))
              for _ in range(3)]
    if counted:
        params = [(W.view(Counted), b) for W, b in params]
    return params, rng.standard_normal(4)


def test_saved_products_give_the_plain_value_and_gradient(rng):
    params, x = _deep_inputs(rng)
    value, grad = s2sad.value_and_grad(deep_products)(params, x)
    want_value, want = s2sad.value_and_grad(deep_plain)(params, x)
    assert value == deep_products(params, x) == want_value
    _assert_same(grad, want)
    s2sad.check_grads(deep_products, (params, x), modes=("rev", "fwd"))


def test_saved_products_are_not_multiplied_again(rng):
    params, x = _deep_inputs(rng, counted=True)
    counts = {}
    for f in (deep_plain, deep_nothing, deep_products):
        s2sad.grad(f)(params, x)  # (transformed first)
        Counted.products = 0
        s2sad.grad(f)(params, x)
        counts[f.__name__] = Counted.products
    # 3 layers of 2 products going forward (and W.T @ g going back):
    # "nothing" multiplies the 6 again in the backward sweep, "products"
    # none of them
    assert counts["deep_products"] == counts["deep_plain"]
    assert counts["deep_nothing"] == counts["deep_plain"] + 6


def test_saved_products_to_the_second_order(rng):
    params, x = _deep_inputs(rng)
    s2sad.check_grads(deep_products, (params, x), order=2,
                      modes=("rev", "fwd"))


class Layers:
    def __init__(self, scale):
        self.scale = scale

    @s2sad.checkpoint(save="products")
    def apply(self, W, x):
        return np.tanh(self.scale * (W @ x))


LAYERS = Layers(1.0)


def stacked(W, x):
    return np.sum(LAYERS.apply(W, LAYERS.apply(W, x)))


def stacked_plain(W, x):
    return np.sum(np.tanh(W @ np.tanh(W @ x)))


def test_a_method_made_checkpoint_with_saved_products(rng):
    W, x = rng.standard_normal((3, 3)), rng.standard_normal(3)
    _assert_same(s2sad.grad(stacked)(W, x), s2sad.grad(stacked_plain)(W, x))


def test_what_to_save_is_checked():
    with pytest.raises(errors.S2SADError, match='give "nothing" or '
                                                '"products"'):
        s2sad.checkpoint(dense, save="dots")
    with pytest.raises(errors.S2SADError, match="give a function or method"):
        s2sad.checkpoint(np.tanh, save="products")


def noisy_layer(W, h, rng):
    mask = rng.random(np.shape(h)) < 0.5  # drawn again when recomputed
    return np.tanh(W @ (h * mask))


noisy_products = s2sad.checkpoint(noisy_layer, save="products")


def noisy(W, h, seed):
    return np.sum(noisy_products(W, h, np.random.default_rng(seed)))


def test_a_saved_product_s_operands_must_be_reached_again(rng):
    # the product is given back, so the value cannot tell: its operands do
    W, h = rng.standard_normal((4, 4)), rng.standard_normal(4)
    with pytest.raises(errors.UnsupportedCallError,
                       match="reached a matrix product with other operands"):
        for seed in range(20):  # (a mask drawn alike twice would pass)
            s2sad.grad(noisy)(W, h, seed)
    # the refused replay stopped: products elsewhere are multiplied again
    params, x = _deep_inputs(rng)
    _assert_same(s2sad.grad(deep_products)(params, x),
                 s2sad.grad(deep_plain)(params, x))
    np.testing.assert_array_equal(runtime.saved_product(W, h), W @ h)


def closed_over(W, h):
    step = s2sad.checkpoint(lambda v: np.tanh(W @ v), save="products")
    return np.sum(step(step(h)))


def test_a_closure_is_refused_with_saved_products(rng):
    W, h = rng.standard_normal((3, 3)), rng.standard_normal(3)
    with pytest.raises(errors.S2SADError, match="a closure .* pass those "
                                                "values as arguments"):
        s2sad.grad(closed_over)(W, h)

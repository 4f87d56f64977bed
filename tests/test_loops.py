"""Reverse mode through loops: every construct against central differences."""

import math
import re

import numpy as np
import pytest

import s2sad
from tests import loop_corpus
from tests.loop_corpus import CASES


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_central_differences(name):
    func, args, argnums = CASES[name]
    s2sad.check_grads(func, args, argnums=argnums)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float_and_array_variants_agree(name):
    # Python floats and NumPy float64s (as scipy.optimize gives them, or
    # items of an array) take the variant on floats; 0-d arrays the
    # general code; the gradient of a float64 is a float64
    func, args, argnums = CASES[name]
    grad = s2sad.grad(func, argnums=argnums)
    fast = grad(*args)
    for kind in (np.float64, np.array):
        given = [kind(a) if isinstance(a, float) else a for a in args]
        other = grad(*given)
        for a, b, x in zip(fast, other, [given[i] for i in argnums]):
            np.testing.assert_allclose(a, b, rtol=1e-14)
            if kind is np.float64 and isinstance(x, float):
                assert type(b) is np.float64


def nearly_singular(a, b):
    total = 0.0
    for k in range(3):
        total = total + a / (b - k) + math.sqrt(a) * b
    return total


def test_numpy_floats_in_the_float_variant_compute_as_the_function_does():
    # where Python raises (a / 0.0), a float64 gives inf or nan, as the
    # function does on them; the gradient then is what the general code
    # gives for 0-d arrays; a Python float beside a float64 keeps its type
    grad = s2sad.grad(nearly_singular, argnums=(0, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        for a, b in [(2.0, 1.0), (2.0, 1.5)]:
            on_floats = grad(np.float64(a), np.float64(b))
            general = grad(np.array(a), np.array(b))
            np.testing.assert_array_equal(on_floats, general)
            assert all(type(g) is np.float64 for g in on_floats)
            mixed = grad(a, np.float64(b))
            np.testing.assert_array_equal(mixed, general)
            assert type(mixed[0]) is float and type(mixed[1]) is np.float64
    with pytest.raises(ZeroDivisionError):
        grad(2.0, 1.0)  # (as the function raises on Python floats)
    value, _ = s2sad.value_and_grad(nearly_singular)(np.float64(2.0), 1.5)
    assert value == nearly_singular(np.float64(2.0), 1.5)
    s2sad.check_grads(nearly_singular, (np.float64(2.0), np.float64(1.5)))


def chain_rule_recurrence(x, n):
    value, derivative = x, 1.0
    for _ in range(n):
        value, derivative = (4 * value * (1 - value),
                             4 * derivative * (1 - 2 * value))
    return derivative


@pytest.mark.parametrize("x", [0.1, 0.3, 0.77])
def test_logistic_map_n4_is_the_chain_rule_recurrence(x):
    grad = s2sad.grad(loop_corpus.logistic_map)
    assert grad(x, 3) == pytest.approx(chain_rule_recurrence(x, 3), rel=1e-14)


def hand_taped_logistic_map_gradient(x, n):
    """The reverse pass a careful person writes: tape L, then walk back."""
    tape, L = [], x
    for _ in range(n):
        tape.append(L)
        L = 4.0 * L * (1.0 - L)
    g = 1.0
    for _ in range(n):
        L = tape.pop()
        g = -(g * (4.0 * L)) + g * (1.0 - L) * 4.0
    return g


def test_logistic_map_over_30_steps_is_still_exact():
    grad = s2sad.grad(loop_corpus.logistic_map)
    assert grad(0.3, 30) == pytest.approx(chain_rule_recurrence(0.3, 30),
                                          rel=1e-9)


def test_logistic_map_a_million_iterations_matches_the_hand_taped_pass():
    # The map is chaotic: the derivative overflows long before 10**6 steps
    # (inf - inf = nan in reverse mode), so compare with the same
    # computation written by hand, bit for bit.
    x, n = 0.3, 1_000_000
    np.testing.assert_equal(s2sad.grad(loop_corpus.logistic_map)(x, n),
                            hand_taped_logistic_map_gradient(x, n))
    assert s2sad.grad(loop_corpus.logistic_map)(x, 200) == \
        hand_taped_logistic_map_gradient(x, 200)


def test_the_tape_holds_only_what_the_adjoint_reads():
    source = s2sad.grad(loop_corpus.logistic_map).source
    scalar = source.split("\n\n\n")[0]
    assert scalar.count("_tape.append(L_1)") == 1  # one float per iteration
    assert "_tape.append(" not in source.split("def grad_logistic_map_arrays")[
        0].replace("_tape.append(L_1)", "")


def local_level_nll(log_q, log_r, ys):
    # a Kalman filter's likelihood: the backward sweep reads P + q, S, the
    # innovation v and what is made of them, not the carried m and P
    q, r = math.exp(log_q), math.exp(log_r)
    m, P, nll = 0.0, 10.0, 0.0
    for t in range(len(ys)):
        P = P + q
        S = P + r
        v = ys[t] - m
        nll += 0.5 * (math.log(S) + v * v / S)
        K = P / S
        m = m + K * v
        P = (1 - K) * P
    return nll


def test_a_loop_tapes_what_its_backward_sweep_reads_when_that_saves_work():
    # Recomputing every number from the carried state (m, P) costs the
    # backward sweep nine operations a step; taping P + q and v instead,
    # two entries as before, leaves four (S, K, 1 - K and v * v / S, made
    # of them). The logistic map keeps one entry, L: taping 4 L and 1 - L
    # would save two multiplications for a second entry.
    ys = np.sin(np.arange(15.0))
    grad = s2sad.grad(local_level_nll, argnums=(0, 1))
    plain = s2sad.grad(local_level_nll, argnums=(0, 1), optimize=False)
    for g, h in zip(grad(0.2, -0.4, ys), plain(0.2, -0.4, ys)):
        assert g == pytest.approx(h, rel=1e-13)
    s2sad.check_grads(local_level_nll, (0.2, -0.4, ys), argnums=(0, 1))
    s2sad.check_grads(local_level_nll, (0.2, -0.4, ys), argnums=(0, 1),
                      order=2)
    first = grad.source.split("\ndef ")[0]
    pushed = re.findall(r"_tape\.append\(\((.*)\)\)", first)
    assert len(pushed) == 1 and len(pushed[0].split(", ")) == 2, first
    popped = first.split("_tape.pop()")[1].split("# grad of")[0]
    again = [line for line in popped.splitlines()
             if " = " in line and "_bar" not in line]
    assert len(again) == 5, again  # S, v * v, v * v / S, K, 1 - K
    assert "ys[t]" not in popped  # (v is taped: not read again)


def test_loops_that_do_not_touch_the_gradient_record_nothing():
    def f(x, n):
        k = 0
        for i in range(n):
            k = k + i
        return x * k
    source = s2sad.grad(f).source
    assert "_tape" not in source and "reversed" not in source
    assert s2sad.grad(f)(2.0, 4) == 6.0


def test_vjp_through_a_loop_whose_output_is_its_carried_value():
    """The backward sweep's cotangent parameter is reassigned in the loop:
    copy propagation must not take it for a name assigned once."""
    def product(x, scales):
        total = x
        for s in scales:
            total = total * s
        return total
    _, pullback = s2sad.vjp(product, 0.7, [1.3, 2.0])
    x_bar, scales_bar = pullback(1.0)
    assert x_bar == pytest.approx(2.6)
    assert scales_bar == pytest.approx([1.4, 0.91])


@pytest.mark.parametrize("name", ["bond_price", "keyword_builtins"])
def test_keywords_of_loop_builtins_are_followed(name):
    func, args, argnums = CASES[name]
    value, _ = s2sad.value_and_grad(func, argnums=argnums)(*args)
    assert value == func(*args)


def test_bond_price_with_enumerate_start():
    value, grad = s2sad.value_and_grad(loop_corpus.bond_price)(0.05,
                                                                [5.0, 105.0])
    assert value == pytest.approx(100.0, rel=1e-12)
    assert grad == pytest.approx(-185.94104308390024, rel=1e-12)


def zip_strict(x, w):
    s = 0.0
    for a, b in zip(x, w, strict=True):
        s = s + a * b
    return s


def enumerate_spread(x, options):
    s = 0.0
    for i, a in enumerate(x, **options):
        s = s + i * a
    return s


@pytest.mark.parametrize("func, message", [
    (zip_strict, "`zip` with `strict=` in a `for` loop is not supported"),
    (enumerate_spread, "this call of `enumerate` in a `for` loop is not "
     "supported"),
])
def test_a_loop_builtin_argument_not_followed_is_refused(func, message):
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError) as info:
        s2sad.grad(func)(np.ones(2), np.ones(2))
    line = func.__code__.co_firstlineno + 2
    assert str(info.value).startswith(f"{__file__}:{line}: {message}")


def test_a_loop_invariant_is_read_as_the_loop_left_it():
    # `STEP * s` and `s * _SCALE` are the same on every iteration: the
    # reverse sweep reads them as the forward loop left them, neither taped
    # nor recomputed; with no iteration, nothing reads them
    grad = s2sad.grad(loop_corpus.invariants_in_loop, argnums=(0, 1))
    x = np.array([0.1, -0.2, 0.3])
    grad(x, 0.7, 3)
    tape = [line for line in grad.source.splitlines() if "_tape.append(" in
            line]
    assert tape and all(" a" not in line and "(h" not in line and
                        "h," not in line for line in tape), tape
    for function in grad.source.split("\n\n\n"):  # (each variant)
        lines = [line.strip() for line in function.splitlines()]
        assert lines.count("h = STEP * s") == 1
    for n in (0, 1, 4):
        s2sad.check_grads(loop_corpus.invariants_in_loop, (x, 0.7, n),
                          argnums=(0, 1))
        value, pullback = s2sad.vjp(loop_corpus.invariants_in_loop, x, 0.7, n)
        for g, h in zip(pullback(1.0)[:2], grad(x, 0.7, n)):
            np.testing.assert_allclose(g, h, rtol=1e-15)
    s2sad.check_grads(loop_corpus.invariants_in_loop, (x, 0.7, 3),
                      argnums=(0, 1), order=2)


def _squash(v):
    return 1.0 / (1.0 + np.exp(-v))


def copies_in_a_loop(W, xs):
    h = np.zeros(W.shape[0])
    for x in xs:
        z = _squash(W @ x + h)  # the helper's value under a second name
        gate = z
        h = gate * h + (1.0 - z) * np.tanh(x[:W.shape[0]])
    return np.sum(h ** 2)


def test_a_value_under_two_names_is_taped_once():
    # `z = t` binds one object to two names: the tape keeps the object
    # once per iteration, and the reverse sweep binds the copy again
    rng = np.random.default_rng(5)
    W, xs = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    grad = s2sad.grad(copies_in_a_loop)
    g = grad(W, xs)
    tape = [line for line in grad.source.splitlines() if "_tape.append(" in
            line]
    assert len(tape) == 1 and "gate" not in tape[0] and \
        not re.search(r"\bz\b", tape[0]), tape
    s2sad.check_grads(copies_in_a_loop, (W, xs))
    value, pullback = s2sad.vjp(copies_in_a_loop, W, xs)
    np.testing.assert_allclose(pullback(1.0)[0], g, rtol=1e-15)
    for n in (0, 1, 5):
        s2sad.check_grads(copies_in_a_loop, (W, xs[:n]), modes=("rev",))
    s2sad.check_grads(copies_in_a_loop, (W, xs[:2]), order=2)


def _rate(y):
    return np.array([y[1], -y[0]])


def copy_of_a_value_read_for_its_shape(y, dt):
    # the sweep reads t itself only to unbroadcast against: its copy k,
    # bound again after the tape's pop, needs the whole value
    for _ in range(3):
        t = _rate(y)
        k = t
        y = y + dt * k
    return np.sum(y ** 2)


def copy_in_a_product(y, w):
    total = 0.0
    for _ in range(2):
        t = np.array([y[1], -y[0]])
        k, c = t, 2.0
        total = total + c * np.dot(k, w) + np.sum(np.outer(k, w))
        y = y * 0.9 + np.einsum("i,i->", k, w)
    return total + np.sum(y)


@pytest.mark.parametrize("f, args", [
    (copy_of_a_value_read_for_its_shape, (np.array([1.0, 0.5]), 0.1)),
    (copy_in_a_product, (np.array([1.0, 0.5]), np.array([0.3, -0.7]))),
])
def test_a_copy_bound_again_after_the_pop_reads_a_whole_value(f, args):
    s2sad.check_grads(f, args, argnums=(0, 1))
    value, g = s2sad.value_and_grad(f, argnums=(0, 1))(*args)
    assert value == f(*args)
    s2sad.check_grads(f, args, argnums=(0, 1), order=2)


def ar1_nll(phi, mu, y):
    nll = 0.0
    for t in range(1, len(y)):
        e = y[t] - mu - phi * (y[t - 1] - mu)
        nll += math.log(1.0 + e * e)
    return nll


def smoothed(alpha, y):
    s = y.copy()
    for t in range(1, len(s)):
        s[t] = alpha * s[t] + (1.0 - alpha) * s[t - 1]
    return np.sum(s * s)


def test_data_read_at_an_index_in_a_loop_is_read_again_not_taped():
    # y[t] of an array the loop does not change is the same number in the
    # backward sweep: read again there, nothing is taped per iteration
    # (found by the outside attack: an AR(1) likelihood taped y[t] and
    # y[t - 1] at every step, 89 times the hand-written gradient's memory)
    y = np.sin(np.arange(12.0))
    grad = s2sad.grad(ar1_nll, argnums=(0, 1))
    expected = s2sad.grad(ar1_nll, argnums=(0, 1), optimize=False)
    for args in [(0.6, 0.1, y), (np.float64(0.6), 0.1, y),
                 (0.6, 0.1, list(y))]:
        for g, h in zip(grad(*args), expected(*args)):
            assert g == pytest.approx(h, rel=1e-14)
        s2sad.check_grads(ar1_nll, args, argnums=(0, 1))
    first = grad.source.split("\ndef ")[0]
    assert "_tape" not in first
    assert len(re.findall(r"= y\[t\]\n", first)) == 2  # (once a sweep)
    # a loop that writes into the array it reads tapes what it read
    s2sad.check_grads(smoothed, (0.3, y), argnums=(0, 1))
    s2sad.check_grads(smoothed, (0.3, y), argnums=0, order=2)


def kernel_sum(params, X):
    ell = np.exp(params[0])
    n = len(X)
    K = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            K[i, j] = np.exp(-0.5 * np.sum((X[i] - X[j]) ** 2) / ell ** 2)
    return np.sum(K * K)


def test_a_total_reduction_is_a_number_taped_alone():
    # np.sum(...) of an array is a number: no shape of it, or of what is
    # elementwise of it, is taped for unbroadcasting (a number's adjoint
    # is one)
    X = np.linspace(0.0, 1.0, 8).reshape(4, 2)
    grad = s2sad.grad(kernel_sum)
    params = np.array([0.3])
    grad(params, X)
    first = grad.source.split("\ndef ")[0]
    pushes = re.findall(r"_tape\.append\((.*)\)", first)
    assert len(pushes) == 2 and "runtime.shape" not in first, first
    s2sad.check_grads(kernel_sum, (params, X), argnums=0)
    s2sad.check_grads(kernel_sum, (params, X), argnums=0, order=2)


def ar_residuals(params, y):
    a, b = params
    s = 0.0
    for t in range(1, len(y)):
        r = y[t] - a * y[t - 1] - b
        s += r * r
    return 0.5 * s


def test_a_parameter_vector_unpacked_and_data_read_by_index_are_vectors():
    # `a, b = params` reads params only by unpacking, and y[t] is data read
    # at int indices: as 1-D float arrays (the guard's test), their items
    # are numbers, so no shape is taped per step (found by the outside
    # attack: 5.6 times a hand-written loop)
    y = np.sin(np.arange(10.0))
    params = np.array([0.6, 0.1])
    grad = s2sad.grad(ar_residuals)
    expected = s2sad.grad(ar_residuals, optimize=False)
    for args in [(params, y), (params, list(y)), (list(params), y)]:
        np.testing.assert_allclose(grad(*args), expected(*args), rtol=1e-14)
    first = grad.source.split("\ndef ")[0]
    # (data: a vector of numbers, ints or floats)
    assert "runtime.is_real_vector(y)" in first and \
        "runtime.shape" not in first
    s2sad.check_grads(ar_residuals, (params, y), argnums=0)
    s2sad.check_grads(ar_residuals, (params, y), argnums=0, order=2)
    with pytest.raises(ValueError):
        grad(np.array([0.6, 0.1, 0.2]), y)  # (as the unpacking raises)


def relaxation(params, y0):
    # (outside attack: a parameter vector given as a tuple or list, with a
    # number for the initial value, took the general code, 4.5 times the
    # same loop on two floats)
    a, b = params
    y = y0
    for _ in range(30):
        y = y + 0.01 * math.sin(a * y + b)
    return y


def test_a_parameter_vector_and_a_number_it_steps_keep_the_number_path():
    # the initial value, not differentiated, is a number the guard checks
    # (an int or a float): what it steps is numbers, whose adjoints add up
    # as numbers from 0.0, nothing taped but the state
    grad = s2sad.grad(relaxation)
    expected = s2sad.grad(relaxation, optimize=False)
    first = grad.source.split("\ndef ")[0]
    assert "numbers y0" in first and "runtime.shape" not in first and \
        "accumulated" not in first and "a_bar = 0.0" in first
    for args in [((1.3, 0.2), 0.4), ([1.3, 0.2], 0.4),
                 (np.array([1.3, 0.2]), 0.4), ((1.3, 0.2), 1),
                 ((1.3, 0.2), np.float64(0.4))]:
        got = grad(*args)
        assert type(got) is type(args[0])
        np.testing.assert_allclose(got, expected(*args), rtol=1e-14)
    s2sad.check_grads(relaxation, (np.array([1.3, 0.2]), 0.4), argnums=0)
    value, _ = s2sad.value_and_grad(relaxation)((1.3, 0.2), 0.4)
    assert value == relaxation((1.3, 0.2), 0.4)


def running_peak_max(mu, zs):
    p = peak = 1.0
    for z in zs:
        p = p * math.exp(mu + z)
        peak = max(peak, p)
    return peak - min(p, 0.5 * peak)


def running_peak_if(mu, zs):
    p = peak = 1.0
    for z in zs:
        p = p * math.exp(mu + z)
        if p > peak:
            peak = p
    low = p if p < 0.5 * peak else 0.5 * peak
    return peak - low


def test_max_and_min_of_numbers_in_a_loop_stay_numbers():
    # the partials of max(a, b) of two numbers are numbers (not 0-d arrays,
    # which made each step's adjoint NumPy's): the same gradient as the
    # branches, in the input's class
    zs = [0.1, -0.3, 0.25, 0.05, -0.2, 0.3]
    for mu in (0.02, np.float64(0.02)):
        g = s2sad.grad(running_peak_max)(mu, zs)
        assert g == pytest.approx(s2sad.grad(running_peak_if)(mu, zs),
                                  rel=1e-15)
        assert type(g) is type(mu)
    s2sad.check_grads(running_peak_max, (0.02, zs), argnums=0)
    # a tie splits the derivative; where a nan makes neither larger, max
    # and min give their first argument, as Python's, and its derivative
    assert s2sad.grad(lambda x: max(x, 2.0 * x - 1.0))(1.0) == 1.5
    assert s2sad.grad(lambda x: min(x, x))(3.0) == 1.0
    both = (0, 1)
    assert s2sad.grad(pair_max, argnums=both)(1.0, math.nan) == (1.0, 0.0)
    assert s2sad.grad(pair_min, argnums=both)(math.nan, 1.0) == (1.0, 0.0)
    assert s2sad.jvp(pair_max, (1.0, math.nan), (0.0, 1.0))[1] == 0.0
    assert s2sad.jvp(pair_min, (1.0, math.nan), (1.0, 0.0))[1] == 1.0
    assert s2sad.grad(lambda xs: min(xs[0], xs[1], xs[2]))(
        [1.0, math.nan, 1.0]) == [0.5, 0.0, 0.5]


def pair_max(x, y):
    return max(x, y)


def pair_min(x, y):
    return min(x, y)


def recorded_oscillator(k, x0, n):
    traj = np.empty((n, 2))
    x, v = x0, 0.0
    for i in range(n):
        a = -k * x - 0.1 * v
        v = v + 0.05 * a
        x = x + 0.05 * v
        traj[i, 0] = x
        traj[i, 1] = v
    return np.sum(traj[:, 0] * traj[:, 1])


def filled_paths(s0, sigma, Z):
    S = np.full(Z.shape[0], s0)
    total = np.zeros(Z.shape[0])
    for k in range(Z.shape[1]):
        S = S * np.exp(-0.5 * sigma ** 2 * 0.01 + sigma * 0.1 * Z[:, k])
        total = total + S
    return np.mean(np.maximum(total / Z.shape[1] - 1.0, 0.0))


def test_numbers_written_into_arrays_keep_the_number_path():
    # parameters read only as numbers (a constant, an initial value, a fill)
    # are taken for numbers in a variant whose guard checks them: the loop
    # tapes numbers, not the shapes of its values, and adds no
    # unbroadcasting; arrays given for them take the general version
    grad = s2sad.grad(recorded_oscillator, argnums=(0, 1))
    first = grad.source.split("\ndef ")[0]
    assert "Specialised to numbers k, x0" in first
    assert "runtime.shape(" not in first and "unbroadcast_to" not in first
    plain = s2sad.grad(recorded_oscillator, argnums=(0, 1), optimize=False)
    for args in [(2.0, 1.0, 30), (np.float64(2.0), 1.0, 30),
                 (np.array(2.0), np.array(1.0), 30)]:
        for g, h in zip(grad(*args), plain(*args)):
            np.testing.assert_allclose(g, h, rtol=1e-13)
    s2sad.check_grads(recorded_oscillator, (2.0, 1.0, 30), argnums=(0, 1))
    s2sad.check_grads(recorded_oscillator, (2.0, 1.0, 8), argnums=(0, 1),
                      order=2)
    Z = np.random.default_rng(4).standard_normal((50, 6))
    grad = s2sad.grad(filled_paths, argnums=(0, 1))
    assert "Specialised to numbers s0, sigma" in grad.source
    for g, h in zip(grad(1.0, 0.3, Z), s2sad.grad(
            filled_paths, argnums=(0, 1), optimize=False)(1.0, 0.3, Z)):
        assert g == pytest.approx(h, rel=1e-13)
    s2sad.check_grads(filled_paths, (1.0, 0.3, Z), argnums=(0, 1))


GRAVITY = 9.81  # (a module-level constant, as a model's)


def euler_pendulum(theta, n, t_end=2.0):
    h = t_end / n  # (a step from an int step count)
    omega = 0.0
    for _ in range(n):
        theta, omega = theta + h * omega, omega - h * GRAVITY * math.sin(
            theta)
    return theta


def scaled_by_count(x, n):
    return x * n + n * n / 2  # (an int read by the derivative's statements)


def counts_an_array(x, n):
    h = 1.0 / n
    buffer = np.zeros(n)  # (here n may only be a size: not taken for one)
    for i in range(n):
        x = x + h * math.sin(x)
        buffer[i] = x
    return x + np.sum(buffer)


@pytest.mark.parametrize("f, args", [
    (euler_pendulum, (0.6, 40)), (scaled_by_count, (1.5, 3)),
    (counts_an_array, (0.4, 12))])
def test_an_int_the_derivative_reads_keeps_the_number_path(f, args):
    # a step count (or any int not differentiated) that reaches what the
    # derivative reads through arithmetic is a real number the guard
    # checks (Python's int or float, NumPy's int64 or float64): the loop
    # tapes numbers and adds no unbroadcasting; other kinds take the
    # general version, which gives the same
    grad = s2sad.grad(f)
    first = grad.source.split("\ndef ")[0]
    x, n = args
    if f is counts_an_array:
        assert "(n.__class__" not in first  # (n is not only a number)
    else:
        assert "n.__class__ is not float and n.__class__ is not int" in first
        assert "runtime.shape(" not in first and "unbroadcast" not in first
    plain = s2sad.grad(f, optimize=False)
    expected = plain(np.array(x), n)
    for given in [(x, n), (x, np.int64(n)), (np.float64(x), n),
                  (x, np.array(n)), (np.array(x), n)]:
        got = grad(*given)
        assert got == pytest.approx(float(expected), rel=1e-13)
        assert type(got) is type(given[0]) if not isinstance(
            given[0], np.ndarray) else got.shape == ()
    s2sad.check_grads(f, args, argnums=0)
    if f is scaled_by_count:
        assert grad(1.5, 3) == 3.0 and type(grad(1.5, 3)) is float
    if f is euler_pendulum:  # (a default taken, or given by keyword)
        assert grad(x, n, t_end=3.0) == pytest.approx(
            float(plain(np.array(x), n, 3)), rel=1e-13)


def poisson_nll(lam, counts):
    total = 0.0
    for c in counts:  # (the data iterated, not indexed)
        total = total + lam - c * math.log(lam) + math.lgamma(c + 1.0)
    return total


def weighted_pairs(w, xs, ys):
    total = 0.0
    for x, y in zip(xs, ys):
        total = total + (w * x - y) ** 2
    return total


def local_level_over_a_slice(log_q, obs):
    # (outside attack: `for z in obs[1:]`, a slice of the data, took the
    # general code, 3.9 times a hand-written gradient)
    q, m, P, nll = math.exp(log_q), obs[0], 1e3, 0.0
    for z in obs[1:]:
        P = P + q
        S = P + 0.5
        v = z - m
        m = m + P / S * v
        P = (1.0 - P / S) * P
        nll += 0.5 * (math.log(2.0 * math.pi * S) + v * v / S)
    return nll


def smoothing_with_skips(alpha, y):
    # (outside attack: a `while` loop's counter `i += 1`, and a `continue`,
    # took the general code)
    level, i, loss = y[0], 1, 0.0
    while i < len(y):
        if y[i] != y[i]:  # (a NaN skipped)
            i += 1
            continue
        loss += (y[i] - level) ** 2
        level = alpha * y[i] + (1 - alpha) * level
        i += 1
    return loss / len(y)


def garch_nll(omega, r):
    # (outside attack: `np.var(r)` of the data, a number, took the general
    # code)
    s2 = np.var(r)
    nll = 0.0
    for t in range(1, len(r)):
        s2 = omega + 0.1 * r[t - 1] ** 2 + 0.8 * s2
        nll = nll + math.log(s2) + r[t] ** 2 / s2
    return 0.5 * nll


def weibull_censored_nll(k, times, events):
    # (outside attack: event flags given as bools, an array or a list,
    # took the general code, 9-12 times a hand-written gradient)
    total = 0.0
    for t, e in zip(times, events):
        z = t / 2.0
        total = total + z ** k
        if e:
            total = total - (math.log(k / 2.0) + (k - 1.0) * math.log(z))
    return total


@pytest.mark.parametrize("f, args", [
    (weibull_censored_nll, (1.5, np.array([2.0, 3.5, 1.2, 4.4]),
                            np.array([True, False, True, True]))),
    (poisson_nll, (2.5, np.array([1.0, 4.0, 2.0, 0.0, 3.0]))),
    (weighted_pairs, (0.7, np.linspace(0.0, 1.0, 6), np.cos(np.arange(6.0)))),
    (local_level_over_a_slice,
     (0.1, np.cumsum(np.sin(np.arange(8.0))) * 0.3)),
    (smoothing_with_skips, (0.3, np.array([1.0, 1.2, 0.8, 0.9, 1.1]))),
    (garch_nll, (0.01, np.sin(np.arange(9.0)) * 0.1))])
def test_data_iterated_in_a_loop_keeps_the_number_path(f, args):
    # `for c in counts` of a 1-D float array (or a list of floats) gives
    # numbers, as counts[i] does: the float variant takes it (guarded),
    # reads each item again in the backward sweep, and tapes no shapes;
    # ints too (counts); other kinds take the general code
    grad = s2sad.grad(f)
    first = grad.source.split("\ndef ")[0]
    assert "runtime.is_real_vector(" in first and \
        "runtime.shape(" not in first
    assert "_tape" not in first or f not in (poisson_nll, weighted_pairs)
    expected = s2sad.grad(f, optimize=False)
    for given in [args, (np.float64(args[0]),) + args[1:],
                  (args[0],) + tuple(list(a) for a in args[1:]),
                  (args[0],) + tuple(a.astype(int) for a in args[1:]),
                  (args[0],) + tuple(a.tolist() for a in args[1:])]:
        assert grad(*given) == pytest.approx(expected(*given), rel=1e-14)
    s2sad.check_grads(f, args, argnums=0)
    value, _ = s2sad.value_and_grad(f)(*args)
    assert value == f(*args)
    if f is smoothing_with_skips:  # (a NaN skipped by the `continue`)
        y = np.array([1.0, 1.2, np.nan, 0.9, 1.1])
        assert grad(0.3, y) == pytest.approx(expected(0.3, y), rel=1e-14)
        s2sad.check_grads(f, (0.3, y), argnums=0)


def sines_summed(w, xs):
    # (outside attack: 36 times a hand-written loop at 1000 items)
    vals = []
    for x in xs:
        vals.append(math.sin(w * x))
    total = 0.0
    for v in vals:
        total += v
    return total + sum([math.cos(w * x) for x in xs])


def test_a_list_of_numbers_the_function_makes_has_numbers_for_items():
    # the items of a list made of numbers (a literal, appends, a copy, a
    # join) are numbers: adding them up tapes no shapes, and a number w
    # with data xs takes the variant that checks them (`is_number`,
    # `is_vector`) and adds w's adjoints as numbers
    grad = s2sad.grad(sines_summed)
    first = grad.source.split("\ndef ")[0]
    assert "runtime.is_number(w)" in first and \
        "runtime.is_real_vector(xs)" in first
    assert "runtime.shape(" not in first and "unbroadcast" not in first
    xs = list(np.linspace(0.0, 1.0, 7))
    expected = sum(x * math.cos(0.7 * x) - x * math.sin(0.7 * x)
                   for x in xs)
    for given in (xs, np.array(xs), tuple(xs)):
        assert grad(0.7, given) == pytest.approx(expected, rel=1e-13)
    for other in ([1, 2, 3], np.arange(3, dtype=np.float32)):  # (general)
        assert grad(0.7, other) == pytest.approx(s2sad.grad(
            sines_summed, optimize=False)(0.7, other), rel=1e-6)
    s2sad.check_grads(sines_summed, (0.7, np.array(xs)))

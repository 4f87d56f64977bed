"""backend="numba": gradients of code on numbers compiled by Numba.

Each compiled gradient is compared with the Python gradient s2sad
generates (to rounding: the two run the same statements), and each test
checks that the kernel ran compiled, not as Python (`Kernel.reruns`,
`Kernel.compiled.signatures`). The random program generator's loop, break/continue and
straight-line families run through the backend too.
"""

import math
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings

import s2sad
from s2sad import errors, kernels
from tests import loop_corpus, programs

numba = pytest.importorskip(
    "numba", reason="the numba backend needs Numba: pip install "
    "'s2sad[numba]' (the test extra has it)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compiled_gradient(f, args, argnums=0, **options):
    """The compiled gradient of f at args, checked to have run compiled
    and to equal the Python gradient to rounding."""
    g = s2sad.grad(f, argnums=argnums, backend="numba", **options)
    got = g(*args)
    kernel = kernels.kernel_of(g)
    assert kernel is not None and kernel.compiled.signatures and \
        kernel.reruns == 0 and kernel.failed is None
    want = s2sad.grad(f, argnums=argnums, **options)(*args)
    np.testing.assert_allclose(np.array(got, dtype=float),
                               np.array(want, dtype=float),
                               rtol=1e-12, atol=1e-300)
    assert type(got) is type(want)
    return got


# the loop corpus's programs on numbers (the others read arrays, or make
# lists)
ON_NUMBERS = [name for name in loop_corpus.CASES if name not in {
    "rows_of_an_array", "enumerate_and_zip", "lists_and_tuples", "tanh_rnn",
    "broadcasting_in_loop", "reversed_loops", "bond_price",
    "keyword_builtins", "spring_chain"} and not name.startswith("invariant")]


@pytest.mark.parametrize("name", ON_NUMBERS)
def test_the_loop_corpus_compiles(name):
    f, args, argnums = loop_corpus.CASES[name]
    compiled_gradient(f, args, argnums)


def logistic(x, n):
    for i in range(n):
        x = 3.7 * x * (1.0 - x)
    return x


def threshold_loop(x, t0):
    s = 0.0
    for i in range(100):
        if i * 0.1 > t0:
            s = s + math.sin(x * i)
        else:
            s = s - x * x
    return s


G, DT = 9.81, 0.01


def rhs(theta, omega):
    return omega, -G * math.sin(theta)


def pendulum(theta, omega, steps):
    """RK4 with module-level constants and a helper (inlined)."""
    for _ in range(steps):
        k1t, k1o = rhs(theta, omega)
        k2t, k2o = rhs(theta + 0.5 * DT * k1t, omega + 0.5 * DT * k1o)
        k3t, k3o = rhs(theta + 0.5 * DT * k2t, omega + 0.5 * DT * k2o)
        k4t, k4o = rhs(theta + DT * k3t, omega + DT * k3o)
        theta = theta + DT / 6.0 * (k1t + 2.0 * k2t + 2.0 * k3t + k4t)
        omega = omega + DT / 6.0 * (k1o + 2.0 * k2o + 2.0 * k3o + k4o)
    return theta * theta + omega


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12 * a:
        x = 0.5 * (x + a / x)
    return x


def test_programs_with_loops_branches_and_helpers():
    assert compiled_gradient(logistic, (0.3, 50)) == \
        s2sad.grad(logistic)(0.3, 50)
    compiled_gradient(threshold_loop, (0.3, 2.5))
    compiled_gradient(threshold_loop, (0.3, 2))  # an int threshold
    compiled_gradient(pendulum, (0.5, 0.1, 200), argnums=(0, 1))
    assert compiled_gradient(newton_sqrt, (2.0,)) == pytest.approx(
        0.5 / math.sqrt(2.0))


def test_against_central_differences():
    """Not only the Python gradient's agreement: the numbers."""
    for f, args, argnums in [(logistic, (0.3, 6), (0,)),
                             (pendulum, (0.5, 0.1, 50), (0, 1)),
                             (threshold_loop, (0.3, 2.5), (0,))]:
        g = s2sad.grad(f, argnums=argnums, backend="numba")
        got = g(*args)
        for k, i in enumerate(argnums):
            eps = 1e-6
            up = list(args)
            down = list(args)
            up[i] += eps
            down[i] -= eps
            fd = (f(*up) - f(*down)) / (2 * eps)
            assert got[k] == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_value_and_grad_and_aux():
    def f(x, y):
        s = 0.0
        for i in range(5):
            s = s + x * y ** i
        return s, s * 2.0
    vg = s2sad.value_and_grad(f, argnums=(0, 1), has_aux=True,
                              backend="numba")
    (value, aux), grads = vg(0.5, 1.5)
    want = s2sad.value_and_grad(f, argnums=(0, 1), has_aux=True)(0.5, 1.5)
    assert (value, aux) == f(0.5, 1.5) == want[0]
    assert grads == want[1]
    assert kernels.kernel_of(vg).reruns == 0


def test_numpy_float64s_get_float64_gradients_and_arrays_the_python_path():
    g = s2sad.grad(logistic, backend="numba")
    got = g(np.float64(0.3), 10)
    assert type(got) is np.float64 and got == g(0.3, 10)
    x = np.array(0.3)  # (a 0-d array: the Python gradient)
    assert g(x, 10) == s2sad.grad(logistic)(x, 10)
    assert isinstance(g(x, 10), np.ndarray)


def test_python_computes_again_where_numba_would_differ():
    """math.log(0.0) raises in Python and is -inf in Numba; 1 / 0 raises
    in both: either way Python's error, at the user's line."""
    def f(x, c):
        s = 0.0
        for i in range(3):
            s = s + math.log(x - c) * x
        return s
    g = s2sad.grad(f, backend="numba")
    assert g(3.0, 1.0) == s2sad.grad(f)(3.0, 1.0)
    with pytest.raises(ValueError, match="math domain error"):
        g(1.0, 1.0)
    assert kernels.kernel_of(g).reruns == 1

    def h(x, k):
        return x / k
    gh = s2sad.grad(h, backend="numba")
    with pytest.raises(ZeroDivisionError):
        gh(1.0, 0.0)


def floored(x, s):
    return math.floor(x * s) + x


def log_test(p, k):
    s = 0.0
    for i in range(k):
        q = p - 0.1 * i
        if math.log(q) > -3.0:  # (a nan here reaches no result)
            s += q
    return s


def exp_count(x):
    return x * (int(math.exp(x)) % 7)


def high_power(x):
    if x ** 500.0 > 1.0:
        return x
    return x * x


def discounted(x, n):
    s = 0.0
    for k in range(n):
        s += x ** k * 2 ** -k  # (an int to a negative power is a float)
    return s


def big_ints(x, n):
    c = 1
    for j in range(n):
        c = c * (n - j) // (j + 1)  # binomial coefficients
    return x * c ** 3 / 1e40


def sign_power(x, p):
    return x ** p


def complex_constant(x):
    return x * ((-8.0) ** (1 / 3))


@pytest.mark.parametrize("f, args", [
    (log_test, (0.25, 5)), (exp_count, (1000.0,)), (high_power, (10.0,)),
    (sign_power, (-2.0, 0.5)), (sign_power, (0.0, -1.0)),
    (floored, (1.0, math.inf)), (floored, (1.0, math.nan)),
    (complex_constant, (1.0,))])
def test_python_errors_that_reach_no_result_are_raised(f, args):
    """Numba's math gives nan or inf where Python raises, and its powers
    differ; a nan that only meets a test, or an int(), never reaches the
    result to be seen there. The kernel's math functions and powers raise
    where Python's would, and Python computes again."""
    g = s2sad.value_and_grad(f, backend="numba")
    reruns = kernels.kernel_of(g).reruns  # (one kernel per function)
    with pytest.raises(Exception) as compiled:
        g(*args)
    with pytest.raises(Exception) as python:
        s2sad.value_and_grad(f)(*args)
    assert type(compiled.value) is type(python.value)
    # (on Python 3.10 the message ends with the lines the error passed,
    # of which the kernel's entry is one more)
    assert str(compiled.value).splitlines()[0] == \
        str(python.value).splitlines()[0]
    assert kernels.kernel_of(g).reruns == reruns + 1


def shifted(x, n):
    return x * (1 << n)


def updates(x, m):
    m //= 2
    m %= 7
    m <<= 3
    m **= 2
    return x * m


def collatz(x, m):
    s = 0.0
    while m != 1:
        if m % 2 == 0:
            m //= 2
        else:
            m = 3 * m + 1
        s += x
    return s


def monthly(r):
    return r ** 360 / (1.0 - (1.0 + r) ** -360)


def test_ints_compute_as_python_ints():
    """An int to a negative power, ints past 64 bits (products, shifts,
    updates in place), math.floor of what no 64-bit int holds, and a float
    to an int power as C's pow computes it (as Python does)."""
    for f, args in [(discounted, (0.5, 10)), (big_ints, (1.5, 70)),
                    (shifted, (1.5, 100)), (shifted, (1.5, 10)),
                    (updates, (1.5, 101)), (collatz, (1.5, 27)),
                    (floored, (1e20, 1.0)), (monthly, (1 + 0.05 / 12,))]:
        g = s2sad.value_and_grad(f, backend="numba")
        assert g(*args) == s2sad.value_and_grad(f)(*args)
        assert g(*args)[0] == f(*args)


def loops_of_every_form(x, n):
    s = x
    for i in range(n):
        s = s * x + math.sin(s)
    for j in range(2, n, 2):
        s = s - x / j
    for k in reversed(range(n)):
        s = s + 0.1 * x * k
    return s


STEPS = 5


def constant_steps(x):
    s = 0.0
    for i in range(STEPS):
        s += x * i
    return s


def mean_of(x, n):
    acc = 0.0
    for i in range(n):
        acc += x * i
    return acc / n


def reversed_then_log(x, n, c):
    s = x
    for k in reversed(range(1, n, 2)):
        s = s + 0.1 * x * k
    return s * math.log(c)


def test_ranges_as_python_has_them():
    """`reversed(range(n))`, ranges with a step; a float loop count raises
    as in Python (Numba's range takes one), given or a module constant;
    an int argument met in arithmetic runs compiled."""
    global STEPS
    compiled_gradient(loops_of_every_form, (0.3, 7))
    g = s2sad.grad(loops_of_every_form, backend="numba")
    with pytest.raises(TypeError, match="cannot be interpreted as an "
                       "integer"):
        g(0.3, 5.0)
    compiled_gradient(constant_steps, (0.5,))
    STEPS = 6.0
    try:
        with pytest.raises(TypeError, match="cannot be interpreted"):
            s2sad.grad(constant_steps, backend="numba")(0.5)
    finally:
        STEPS = 5
    compiled_gradient(mean_of, (0.5, 100))
    # a range read backwards, run again as Python where the kernel raises
    compiled_gradient(reversed_then_log, (0.3, 9, 2.0))
    with pytest.raises(ValueError, match="math domain error"):
        s2sad.grad(reversed_then_log, backend="numba")(0.3, 9, 0.0)


def scaled(x, n):
    return x * (n + 1)


def test_ints_no_64_bit_int_holds_run_as_python():
    g = s2sad.value_and_grad(scaled, backend="numba")
    for n in (3, 2 ** 63, 2 ** 64 + 5, -2 ** 70):
        assert g(1.5, n) == s2sad.value_and_grad(scaled)(1.5, n)
    assert kernels.kernel_of(g).failed is None


def test_a_call_that_raises_does_not_stop_the_kernel():
    def ratio(x, y):
        return x / y
    g = s2sad.grad(ratio, argnums=(0, 1), backend="numba")
    reruns = kernels.kernel_of(g).reruns
    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            g(1.0, 0.0)
    assert g(1.0, 2.0) == (0.5, -0.25)
    kernel = kernels.kernel_of(g)
    assert kernel.reruns == reruns + 2 and kernel.failed is None


DATA = np.array([0.5, 1.5, 2.0, 3.2])


def loglik(mu, sigma):
    s = 0.0
    for i in range(len(DATA)):
        z = (DATA[i] - mu) / sigma
        s += -0.5 * z * z - math.log(sigma)
    return s


def test_a_module_level_array_is_read_as_it_is_now():
    """The kernel takes the arrays it reads as arguments (Numba would take
    a global array's values as constants): a change in place is seen."""
    g = s2sad.grad(loglik, argnums=(0, 1), backend="numba")
    saved = DATA.copy()
    try:
        before = g(1.0, 2.0)
        DATA[:] = [5.0, 6.0, 7.0, 8.0]
        after = g(1.0, 2.0)
        assert after != before
        assert after == s2sad.grad(loglik, argnums=(0, 1))(1.0, 2.0)
    finally:
        DATA[:] = saved
    assert "passes DATA" in g.source


def squaring(x, n):
    for i in range(n):
        x = x * x - 0.5 * x
    return x


def test_an_overflow_is_the_same_inf_and_nan_without_python():
    """Arithmetic on floats is IEEE's in Numba and in Python."""
    g = s2sad.value_and_grad(squaring, backend="numba")
    got = g(10.0, 12)
    np.testing.assert_equal(got, s2sad.value_and_grad(squaring)(10.0, 12))
    assert not math.isfinite(got[0]) and not math.isfinite(got[1])
    assert kernels.kernel_of(g).reruns == 0


def test_an_index_out_of_range_raises_as_in_python():
    def f(x, w):
        s = 0.0
        for i in range(4):
            s = s + w[i] * x * x
        return s
    g = s2sad.grad(f, backend="numba")
    w = np.arange(4.0)
    assert g(1.5, w) == s2sad.grad(f)(1.5, w)
    with pytest.raises(IndexError):
        g(1.5, np.arange(3.0))


def test_a_changed_global_is_seen(tmp_path):
    """Numba freezes a global's value as it compiles; s2sad's guard sees it
    rebound and makes a new kernel."""
    global G
    g = s2sad.grad(pendulum, argnums=0, backend="numba")
    before = g(0.5, 0.1, 20)
    saved = G
    try:
        G = 3.7
        after = g(0.5, 0.1, 20)
        assert after != before
        assert after == s2sad.grad(pendulum, argnums=0)(0.5, 0.1, 20)
    finally:
        G = saved
    assert g(0.5, 0.1, 20) == before


def test_the_source_shows_what_numba_compiles():
    g = s2sad.grad(threshold_loop, backend="numba")
    source = g.source
    entry, kernel = source.split("\n\n\ndef ")[:2]
    assert "return grad_threshold_loop_arrays(x, t0)" in entry
    assert "grad_threshold_loop_numba(x, t0)" in entry
    assert kernel.startswith("grad_threshold_loop_numba(x, t0):")
    assert "Compiled by Numba" in kernel
    assert "reversed(" not in kernel  # a counting-down range instead
    assert "runtime.numpy_floats" not in kernel
    kernel_code = kernels.kernel_of(g).python
    assert "def " + kernel in source and kernel_code.__name__ == \
        "grad_threshold_loop_numba"


def test_one_tape_per_place_that_pushes():
    """A Numba list holds one kind of entry: each place has its own."""
    def f(x, n):
        s = x
        for i in range(n):
            if i % 2 == 0:
                s = s * x + math.sin(s)
            else:
                s = s / (1.0 + x * x)
            for j in range(i):
                s = s + 0.01 * math.cos(s * j)
        return s
    got = compiled_gradient(f, (0.4, 6))
    source = s2sad.grad(f, backend="numba").source
    kernel = source.split("def grad_f_numba")[1].split("\n\n\ndef ")[0]
    assert kernel.count(" = []") >= 2
    assert math.isfinite(got)


def test_what_numba_lacks_is_refused_at_its_line():
    def f(x):
        y = np.einsum("i,i->", x, x)
        return y
    with pytest.raises(errors.UnsupportedSyntaxError,
                       match="backend='numba' cannot compile grad_f_numba: "
                       ".*einsum") as caught:
        s2sad.grad(f, backend="numba")(np.ones(3))
    assert caught.value.lineno == f.__code__.co_firstlineno + 1


def test_what_numba_cannot_compile_is_refused_or_falls_back():
    def f(x, items):
        s = x
        for item in items:
            s = s * x + item
        return s
    mixed = (1, 2.5)  # (Numba cannot loop over a tuple of two kinds)
    g = s2sad.grad(f, backend="numba")
    with pytest.raises(errors.UnsupportedSyntaxError,
                       match="backend='numba' cannot compile grad_f_numba: "
                       "Numba says"):
        g(0.5, mixed)
    fallback = s2sad.grad(f, backend="numba", fallback="python")
    with pytest.warns(kernels.FallbackWarning, match="cannot compile"):
        assert fallback(0.5, mixed) == s2sad.grad(f)(0.5, mixed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once
        fallback(0.5, mixed)
        # other kinds of arguments still run compiled
        assert fallback(0.5, (1.0, 2.0)) == s2sad.grad(f)(0.5, (1.0, 2.0))
    assert kernels.kernel_of(fallback).compiled.signatures

    def on_arrays(x):
        return np.einsum("i,i->", x, x)
    g = s2sad.grad(on_arrays, backend="numba", fallback="python")
    with pytest.warns(kernels.FallbackWarning, match="einsum"):
        np.testing.assert_array_equal(g(np.ones(3)), 2.0 * np.ones(3))


def test_unknown_options_and_missing_numba(monkeypatch):
    with pytest.raises(errors.S2SADError, match="unknown backend 'jax'"):
        s2sad.grad(logistic, backend="jax")
    with pytest.raises(errors.S2SADError, match="unknown fallback"):
        s2sad.grad(logistic, backend="numba", fallback="warn")
    monkeypatch.setitem(sys.modules, "numba", None)
    with pytest.raises(errors.S2SADError,
                       match=r"needs Numba.*pip install 's2sad\[numba\]'"):
        s2sad.grad(logistic, backend="numba")


def test_a_second_process_loads_the_compiled_code(tmp_path):
    """Numba's cache beside the kernel's copy in s2sad's cache directory:
    the second process compiles nothing."""
    module = tmp_path / "model.py"
    module.write_text(textwrap.dedent("""
        import math
        A = 3.5

        def f(x, n):
            for i in range(n):
                x = A * x * (1.0 - x) + 0.01 * math.sin(x)
            return x
    """))
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{ROOT!r}, {str(tmp_path)!r}]
        import s2sad, model
        from s2sad import kernels
        g = s2sad.grad(model.f, backend="numba")
        value = g(0.3, 100)
        kernel = kernels.kernel_of(g)
        stats = kernel.compiled.stats
        print(repr(value), sum(stats.cache_hits.values()),
              sum(stats.cache_misses.values()))
    """)
    env = dict(os.environ, S2SAD_CACHE_DIR=str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, "-c", script], env=env,
                           capture_output=True, text=True, check=True
                           ).stdout.split() for _ in range(2)]
    assert runs[0][0] == runs[1][0]
    assert runs[0][1:] == ["0", "1"]  # compiled, and cached
    assert runs[1][1:] == ["1", "0"]  # loaded
    assert os.listdir(tmp_path / "cache" / "numba")
    # damaged cache files are compiled anew
    for root, _, names in os.walk(tmp_path / "cache" / "numba"):
        for name in names:
            if name.endswith((".nbi", ".nbc")):
                with open(os.path.join(root, name), "r+b") as damaged:
                    damaged.truncate(7)
    again = subprocess.run([sys.executable, "-c", script], env=env,
                           capture_output=True, text=True, check=True)
    assert again.stdout.split()[0] == runs[0][0]


def _settings(count):
    # (no shrinking: each try compiles a kernel; a failure shows its program)
    return settings(max_examples=count, deadline=None, derandomize=True,
                    database=None, suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.reuse, Phase.generate])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return programs.ProgramFiles(tmp_path_factory.mktemp("numba_programs"))


def _through_the_backend(case, files):
    prog = files.load(case.source)
    try:
        compiled_gradient(prog, case.args, (0, 1))
    except Exception as exc:  # a refusal too
        raise programs.ProgramFailure(f"{exc}\n{case.source}") from exc


@_settings(120)
@given(case=programs.cases(loops=True))
def test_random_loop_programs(files, case):
    _through_the_backend(case, files)


@_settings(80)
@given(case=programs.cases(loops=True, break_continue=True))
def test_random_break_and_continue_programs(files, case):
    _through_the_backend(case, files)


@_settings(60)
@given(case=programs.cases())
def test_random_straight_line_programs(files, case):
    _through_the_backend(case, files)


USE_DRAG = False


def falling(v, steps):
    for _ in range(steps):
        if USE_DRAG:
            v = v - 0.01 * v * abs(v)
        v = v + 0.1 * math.sin(v)
    return v


def test_a_branch_on_a_module_level_flag():
    """Numba takes the flag as a constant; the kernel's two sweeps keep
    the branch (see kernels._pipeline)."""
    global USE_DRAG
    compiled_gradient(falling, (0.5, 20))
    USE_DRAG = True
    try:
        compiled_gradient(falling, (0.5, 20))
    finally:
        USE_DRAG = False


def set_on_one_path(x):
    if x > 0:
        y = x * x
    return y


def test_a_value_set_on_one_path_only_is_python_s_error():
    """Compiled, the read of a name the path taken left unbound raises
    Python's UnboundLocalError too (a 0.0 came back before; then the check
    of the output saw None); a kernel's says no line (Numba's exceptions
    take constant messages)."""
    g = s2sad.grad(set_on_one_path, backend="numba")
    assert compiled_gradient(set_on_one_path, (1.5,)) == 3.0
    with pytest.raises(UnboundLocalError,
                       match="local variable 'y'|left it unbound"):
        g(-1.5)


def distance(x, y):
    return math.hypot(x, y) * x


def distance_3d(x, y):
    return math.hypot(x, y, 1.0) * x


def test_a_variadic_math_function_is_named_in_its_refusal():
    """math.hypot(x, y, z) is computed from the list [x, y, z]: the refusal
    names the call the user wrote, not a list."""
    with pytest.raises(errors.UnsupportedSyntaxError,
                       match="`math.hypot` of several numbers") as info:
        s2sad.grad(distance_3d, (0, 1), backend="numba")
    assert info.value.lineno == distance_3d.__code__.co_firstlineno + 1


def test_the_distance_of_a_point_compiles():
    """math.hypot(x, y), a function of two numbers, compiles as it is."""
    x_bar, y_bar = compiled_gradient(distance, (3.0, 4.0), (0, 1))
    assert math.isclose(x_bar, 5.0 + 9.0 / 5.0) and \
        math.isclose(y_bar, 12.0 / 5.0)

"""Benchmark s2sad's generated gradients against hand-written ones.

Measures, in one run:
  * for each program (the textbook worked examples in examples/seeds.py,
    math-module variants, a 10000 x 1000 linear regression, the logistic
    map as a loop, a scalar loop with a branch, a tanh RNN), the time of s2sad's gradient relative to
    a hand-written NumPy/Python gradient, after checking they agree (the
    programs and the hand-written gradients are in programs.py);
  * the peak memory of the logistic map's gradient at n = 1,000,000 against
    a hand-written taped reverse pass;
  * forward mode: the generated JVP against the primal, and a Hessian-vector
    product (forward over reverse) of an MLP loss against its gradient;
  * the first-call transformation time of a ~20-line function;
  * the cost of a cached `s2sad.grad(f)` call, and what a gradient's
    freshness guards add to each of its calls (the gradient called against
    its generated function called directly).

Times are minima over repeats of `timeit` loops of ~0.2 s each; only ratios
against the hand-written code are compared with targets. Run it with

    python tools/bench.py [--quick] [--markdown FILE]
"""

import argparse
import itertools
import math
import os
import platform
import statistics
import time
import timeit
import tracemalloc

import numpy as np

import s2sad
import s2sad.api
from programs import (
    dot_loss, dot_loss_hand, f, f_hand, g, g_hand, g_math, g_math_hand,
    linreg, linreg_hand, linreg_inputs, logistic, logistic_hand,
    logistic_map, logistic_map4, logistic_map4_hand, logistic_map_hand,
    logistic_math, logistic_math_hand, loop_branch, loop_branch_hand, mlp,
    mlp_inputs, rnn, rnn_hand, rnn_inputs, two_xtx, two_xtx_hand)

SCALAR_TARGET = 1.3
LINREG_TARGET = 1.1
LOOP_TARGET = 2.0
RNN_TARGET = 1.2
MEMORY_TARGET = 2.0
JVP_TARGET = 3.0
HVP_TARGET = 5.0
TRANSFORM_TARGET_MS = 15.0
CACHED_TARGET_US = 10.0
GUARD_TARGET_US = 1.0


def bench_forward(repeat):
    """Rows: JVP / primal for the MLP and `f`; HVP / gradient for the MLP."""
    W1, W2, x, t = mlp_inputs()
    rng = np.random.default_rng(2)
    V1, V2 = rng.standard_normal(W1.shape), rng.standard_normal(W2.shape)
    mlp_jvp = s2sad.api.differentiate(mlp, (0, 1), mode="forward")
    f_jvp = s2sad.api.differentiate(f, (0, 1), mode="forward")
    gradient = s2sad.grad(mlp, argnums=(0, 1))

    def hvp():
        return s2sad.hvp(mlp, (W1, W2, x, t), (V1, V2, None, None))
    rows = []
    for name, (base, ours), target in [
            ("JVP of an MLP loss (784-256-10, batch 64) / primal",
             ((mlp, (W1, W2, x, t)), (mlp_jvp, (W1, W2, x, t, V1, V2))),
             JVP_TARGET),
            ("JVP of f(x, y) / primal",
             ((f, (3.0, 4.0)), (f_jvp, (3.0, 4.0, 1.0, 0.5))), JVP_TARGET),
            ("HVP of the MLP loss / its gradient",
             ((gradient, (W1, W2, x, t)), (hvp, ())), HVP_TARGET)]:
        t_base, t_ours = best_times([base, ours], repeat)
        ratio = t_ours / t_base
        rows.append([name, fmt_time(t_base), fmt_time(t_ours), f"{ratio:.3f}",
                     f"<= {target}", "yes" if ratio <= target else "no"])
    return rows


def twenty(x, y):
    a = x * y + 1.0
    b = np.sin(a) * x
    c = np.exp(-0.1 * b)
    d = a * c - y
    e = np.log(1.0 + d * d)
    h = e / (1.0 + x * x)
    k = np.cos(h) + b
    m = k ** 2 - a
    if m > 0:
        n = np.sqrt(m + 1.0)
        p = n * c
    else:
        n = np.tanh(m)
        p = n - c
    q = p * h + e
    r = q / (1.0 + np.abs(d))
    s = r * x - y * e
    t = np.exp(-s * s)
    u = t + m * 0.5
    v = u * k
    return v + q


def programs(quick):
    """(name, function, argnums, args, hand-written gradient, target)."""
    rows, cols = (1000, 100) if quick else (10000, 1000)
    x3, w3 = np.array([1.0, 2.0, 3.0]), np.array([0.5, -0.25, 2.0])
    return [
        ("f(x, y) at (3, 4)", f, (0, 1), (3.0, 4.0), f_hand, SCALAR_TARGET),
        ("g(x1, x2), np", g, (0, 1), (2.0, 5.0), g_hand, SCALAR_TARGET),
        ("g(x1, x2), math", g_math, (0, 1), (2.0, 5.0), g_math_hand,
         SCALAR_TARGET),
        ("logistic, np", logistic, 0, (1.5,), logistic_hand, SCALAR_TARGET),
        ("logistic, math", logistic_math, 0, (1.5,), logistic_math_hand,
         SCALAR_TARGET),
        ("logistic map L(4)", logistic_map4, 0, (0.3,), logistic_map4_hand,
         SCALAR_TARGET),
        ("2 x @ x, x = arange(4) (no target)", two_xtx, 0,
         (np.arange(4.0),), two_xtx_hand, None),
        ("(dot(x, w) - y)**2, 3-vectors (no target)", dot_loss, 0,
         (w3, x3, 0.5), dot_loss_hand, None),
        (f"linreg {rows}x{cols}", linreg, 0, linreg_inputs(rows, cols),
         linreg_hand,
         LINREG_TARGET),
        ("logistic map loop, n = 1000", logistic_map, 0, (0.3, 1000),
         logistic_map_hand, LOOP_TARGET),
        ("logistic map loop, n = 100000", logistic_map, 0, (0.3, 100_000),
         logistic_map_hand, LOOP_TARGET),
        ("scalar loop with an if, n = 1000", loop_branch, 0, (0.3, 1000),
         loop_branch_hand, LOOP_TARGET),
        ("tanh RNN, T = 100, hidden 64, batch 16", rnn, (1, 2),
         rnn_inputs(100), rnn_hand, RNN_TARGET),
    ]


def best_times(calls, repeat, loop_seconds=0.2, budget=math.inf):
    """Seconds per call of each `(fn, args)`: the min over `repeat` loops of
    at least `loop_seconds` each, interleaved so that a change in machine
    load hits all. A call whose loops have taken `budget` seconds in all gets
    no more loops (the loop that sized it counts as its first)."""
    timers = [timeit.Timer("fn(*args)", globals={"fn": fn, "args": args})
              for fn, args in calls]
    sized = [loop_size(timer, loop_seconds) for timer in timers]
    numbers = [number for number, _ in sized]
    best = [seconds / number for number, seconds in sized]
    spent = [seconds for _, seconds in sized]
    for _ in range(repeat):
        for i, (timer, number) in enumerate(zip(timers, numbers)):
            if spent[i] < budget:
                seconds = timer.timeit(number)
                spent[i] += seconds
                best[i] = min(best[i], seconds / number)
    return best


def loop_size(timer, seconds):
    """(n, time of n calls) for the first n of 1, 2, 5, 10, 20, 50, ... whose
    calls take at least `seconds` (`timeit.Timer.autorange` for any time)."""
    number = 1
    for multiple in itertools.cycle((2, 2.5, 2)):
        elapsed = timer.timeit(number)
        if elapsed >= seconds:
            return number, elapsed
        number = int(number * multiple)


def same_gradient(actual, expected, rtol=1e-10):
    """Whether two gradients (floats, arrays or tuples of them) agree to
    `rtol`, relative to each array's largest entry."""
    if isinstance(expected, tuple):
        return (isinstance(actual, tuple) and len(actual) == len(expected)
                and all(same_gradient(a, e, rtol)
                        for a, e in zip(actual, expected)))
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        return False
    # The logistic map is chaotic: over 10**5 steps its derivative overflows
    # in both versions (to inf or nan, depending on the order of operations).
    both_overflowed = ~np.isfinite(actual) & ~np.isfinite(expected)
    finite = np.abs(expected[np.isfinite(expected)])
    atol = rtol * np.max(finite, initial=0.0)
    return bool(np.all(both_overflowed | np.isclose(
        actual, expected, rtol=rtol, atol=atol)))


def fmt_time(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def bench_program(name, fn, argnums, args, hand, target, repeat):
    wanted = "-" if target is None else f"<= {target}"
    try:
        generated = s2sad.grad(fn, argnums=argnums)
        actual, expected = generated(*args), hand(*args)
        if not same_gradient(actual, expected):
            with np.printoptions(threshold=6, precision=6):
                return [name, "-", "-", "-", wanted,
                        f"WRONG: s2sad {actual!r}, hand-written "
                        f"{expected!r}"]
        t_hand, t_s2sad = best_times([(hand, args), (generated, args)],
                                     repeat)
    except Exception as exc:
        return [name, "-", "-", "-", wanted,
                f"ERROR: {type(exc).__name__}: {exc}"]
    ratio = t_s2sad / t_hand
    met = "-" if target is None else "yes" if ratio <= target else "no"
    return [name, fmt_time(t_hand), fmt_time(t_s2sad), f"{ratio:.3f}",
            wanted, met]


def peak_bytes(fn, *args):
    """Peak memory `tracemalloc` sees while `fn(*args)` runs."""
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def bench_memory(n):
    """Peak memory of the logistic map's gradient, s2sad / hand-written."""
    generated = s2sad.grad(logistic_map)
    generated(0.3, 10)  # transformed before measuring
    generated(0.3, 10)  # (the second call, which may specialise it)
    hand = peak_bytes(logistic_map_hand, 0.3, n)
    ours = peak_bytes(generated, 0.3, n)
    ratio = ours / hand
    return [f"peak memory, logistic map n = {n:,}",
            f"{hand / 2**20:.1f} MiB", f"{ours / 2**20:.1f} MiB",
            f"{ratio:.3f}", f"<= {MEMORY_TARGET}",
            "yes" if ratio <= MEMORY_TARGET else "no"]


def bench_transform(runs):
    """Median first-call transformation time of `twenty`, in seconds: the
    pipeline, with the disk cache off (tools/first_call.py times it on)."""
    times = []
    switch = os.environ.get("S2SAD_CACHE")
    os.environ["S2SAD_CACHE"] = "0"
    try:
        for _ in range(runs):
            s2sad.clear_cache()
            start = time.perf_counter()
            s2sad.grad(twenty, argnums=(0, 1))
            times.append(time.perf_counter() - start)
    finally:
        if switch is None:
            del os.environ["S2SAD_CACHE"]
        else:
            os.environ["S2SAD_CACHE"] = switch
    return statistics.median(times)


def bench_cached(repeat):
    """Seconds per `s2sad.grad(f)` call once f is transformed."""
    s2sad.grad(f)
    return best_times([(s2sad.grad, (f,))], repeat)[0]


def bench_guards(fn, args, repeat):
    """Seconds a gradient's guards (and the call through it) add to a call
    of the generated function it runs; without args, the guards alone
    (what a call of a large program adds is below the noise of timing it)."""
    gradient = s2sad.grad(fn, argnums=(0, 1))
    if args is None:
        return best_times([(gradient.__s2sad_is_fresh__, ())], repeat)[0]
    generated = gradient.__wrapped__
    direct, guarded = best_times([(generated, args), (gradient, args)],
                                 repeat)
    return guarded - direct


def bench_overhead(name, measure, target, unit, scale):
    try:
        seconds = measure()
    except Exception as exc:
        return [name, "-", "-", "-", f"< {target:g} {unit}",
                f"ERROR: {type(exc).__name__}: {exc}"]
    value = seconds / scale
    return [name, "-", f"{value:.3g} {unit}", "-", f"< {target:g} {unit}",
            "yes" if value < target else "no"]


def markdown_table(header, rows):
    def line(cells):  # one line per row; a "|" in a message is escaped
        cells = (" ".join(c.replace("|", "\\|").split()) for c in cells)
        return "| " + " | ".join(cells) + " |"
    return "\n".join([line(header), "|---" * len(header) + "|"]
                     + [line(row) for row in rows])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats and a 1000x100 linreg")
    parser.add_argument("--markdown", metavar="FILE",
                        help="also write the report to FILE")
    opts = parser.parse_args()
    repeat = 2 if opts.quick else 5
    rows = []
    for name, fn, argnums, args, hand, target in programs(opts.quick):
        reps = min(repeat, 3) if fn in (linreg, rnn) else repeat
        rows.append(bench_program(name, fn, argnums, args, hand, target,
                                  reps))
    rows.append(bench_memory(100_000 if opts.quick else 1_000_000))
    rows += bench_forward(min(repeat, 3))
    rows.append(bench_overhead(
        "transformation, 20-line function (median)",
        lambda: bench_transform(5 if opts.quick else 21),
        TRANSFORM_TARGET_MS, "ms", 1e-3))
    rows.append(bench_overhead(
        "cached s2sad.grad(f) call", lambda: bench_cached(repeat),
        CACHED_TARGET_US, "us", 1e-6))
    rows.append(bench_overhead(
        "guards per call, f(x, y) (gradient vs its generated code)",
        lambda: bench_guards(f, (3.0, 4.0), repeat), GUARD_TARGET_US, "us",
        1e-6))
    rows.append(bench_overhead(
        "guards per call, MLP loss (the guards alone)",
        lambda: bench_guards(mlp, None, repeat), GUARD_TARGET_US,
        "us", 1e-6))
    report = "\n".join([
        f"- Python {platform.python_version()}, NumPy {np.__version__}",
        f"- CPU: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} logical cores",
        "- ratio = s2sad time / hand-written time (lower is better)",
        "",
        markdown_table(["benchmark", "hand-written (or base)", "s2sad",
                        "ratio", "target", "met"], rows),
    ])
    print(report)
    if opts.markdown:
        with open(opts.markdown, "w") as out:
            out.write(report + "\n")


if __name__ == "__main__":
    main()

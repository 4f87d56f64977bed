"""How s2sad's transformation time grows with the size of the function.

Generates straight-line numeric functions of 10, 100, 1000 and 10000
statements (scalars and NumPy calls, `@` with a matrix now and then, an `if`
every so often, a short `for` loop, a state variable rebound many times),
writes each to a temporary module (s2sad reads source with `inspect`),
imports it, and times the first call of `s2sad.api.differentiate` (parse,
lower, differentiate, optimise, print, compile) in reverse and forward mode
on a fresh function. The same call times each pipeline stage: the stage
functions (frontend.parse, fence.check, desugar.desugar, the SSA lowering,
the in-place normalisation and inlining, reverse/forward.transform,
optimize.optimize, codegen.to_source, codegen.compile_code, ssa.to_source)
are wrapped with timers while it runs. It fits the exponent k of
`time ~ a * n^k` by least squares on log-log over the sizes (per stage too,
also from 100 statements on) and prints Markdown tables.

    python tools/transform_cost.py [--quick] [--markdown FILE]
                                   [--sizes 10,100,...] [--budget SECONDS]

`--quick` stops at 1000 statements. Sizes above 2000 are timed once; smaller
ones take the minimum of a few runs. A size whose run, extrapolated from the
two sizes before it, would exceed the budget is reported as extrapolated
instead of run.
"""

import argparse
import ast
import gc
import importlib.util
import math
import os
import platform
import random
import sys
import tempfile
import time

import numpy as np

# the transformation itself is timed: not the disk cache's copy of it
os.environ["S2SAD_CACHE"] = "0"

import s2sad
import s2sad.api
from s2sad import (codegen, desugar, fence, forward, frontend, inline,
                   inplace, optimize, reverse, ssa)

ARGNUMS = (0, 2)  # x (a vector) and c (a scalar); W is data
MODES = ("reverse", "forward")
CLOCK = time.process_time  # CPU time: other processes do not count
LARGE = 100  # the per-stage exponent is also fitted from this size on
STAGES = ("parse", "fence", "desugar", "lower", "inline", "transform",
          "optimize", "print", "compile", "ssa_print")


# ---- the generated programs ----

def generate(n, seed=0):
    """The source of `def f_<n>(x, W, c)` with about `n` statements (every
    statement node counts: an `if` with two assignments is three)."""
    rng = random.Random(seed + n)
    lines = []
    count = 0
    vecs = ["x"]  # names holding 4-vectors, newest last
    scals = ["c"]  # names holding floats
    fresh = iter(range(1, 10 ** 7))

    def emit(text, stmts=1, indent=1):
        nonlocal count
        lines.append("    " * indent + text)
        count += stmts

    def vec(recent=6):
        return rng.choice(vecs[-recent:])

    def scal(recent=6):
        return rng.choice(scals[-recent:])

    emit("h = np.tanh(x @ W)")
    vecs.append("h")
    emit("acc = 0.0")
    scals.append("acc")
    while count < n - 1:
        k = next(fresh)
        roll = rng.random()
        a, b = vecs[-1], vec()
        if roll < 0.05 and count + 4 < n:
            # a branch on a scalar, one assignment in each arm
            s = scal()
            emit(f"if {s} > 0.0:", 1)
            emit(f"b{k} = np.sin({a}) * 0.5 + {b}", 1, 2)
            emit("else:", 0)
            emit(f"b{k} = np.cos({b}) - 0.25 * {a}", 1, 2)
            vecs.append(f"b{k}")
        elif roll < 0.07 and count + 4 < n:
            # a short loop carrying a vector and a scalar
            emit(f"r{k} = {a} * 1.0")
            emit("for i in range(3):")
            emit(f"r{k} = r{k} * 0.9 + np.sin({b}) * 0.1", 1, 2)
            emit(f"acc = acc + 0.01 * np.sum(r{k})", 1, 2)
            vecs.append(f"r{k}")
        elif roll < 0.15:
            emit(f"h = np.tanh({a} @ W + h)")  # a rebound state variable
            vecs.append("h")
        elif roll < 0.22:
            emit(f"acc = acc + np.mean({a}) * 0.1")  # a rebound accumulator
        elif roll < 0.42:
            s = f"s{k}"
            choice = rng.randrange(4)
            if choice == 0:
                emit(f"{s} = np.sum({a}) * 0.1 + {scal()}")
            elif choice == 1:
                emit(f"{s} = np.tanh({scal()}) * 0.5 + np.mean({b})")
            elif choice == 2:
                emit(f"{s} = {scal()} * {scal()} * 0.5 + 1.0")
            else:
                emit(f"{s} = np.sin({scal()}) + np.dot({a}, {b}) * 0.01")
            scals.append(s)
        else:
            v = f"a{k}"
            choice = rng.randrange(5)
            if choice == 0:
                emit(f"{v} = np.sin({a}) * {b} + 1.0")
            elif choice == 1:
                emit(f"{v} = np.tanh({a}) - 0.5 * {b}")
            elif choice == 2:
                emit(f"{v} = {a} * np.tanh({scal()}) + np.cos({b})")
            elif choice == 3:
                emit(f"{v} = np.exp(-{a} * {a}) + {b} / (1.0 + {b} * {b})")
            else:
                emit(f"{v} = np.maximum({a}, 0.0) + 0.1 * {b}")
            vecs.append(v)
    emit(f"return np.sum({vecs[-1]} * {vecs[-1]}) + acc + {scals[-1]}")
    return f"def f_{n}(x, W, c):\n" + "\n".join(lines) + "\n", count


def count_statements(text):
    tree = ast.parse(text)
    return sum(isinstance(node, ast.stmt) and not isinstance(
        node, ast.FunctionDef) for node in ast.walk(tree))


class Modules:
    """Writes generated functions to files in a temporary directory and
    imports them (each import is a new module: fresh functions)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="s2sad_cost_")
        self.imported = 0

    def function(self, n):
        text, _ = generate(n)
        self.imported += 1
        name = f"s2sad_cost_{n}_{self.imported}"
        path = os.path.join(self.dir, name + ".py")
        with open(path, "w") as out:
            out.write("import numpy as np\n\n\n" + text)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return getattr(module, f"f_{n}"), count_statements(text)


# ---- timing ----

class StageTimer:
    """Wraps the pipeline's stage functions (module attributes, which
    `api._transform` and `ssa.lower` look up at each call) so that one
    end-to-end call also gives the time of each stage. A stage called
    inside another (none is, for these programs) counts for the outer one.
    """

    PATCHES = (  # (stage, owner, attribute)
        ("parse", frontend, "parse"),
        ("fence", fence, "check"),
        ("desugar", desugar, "desugar"),
        ("lower", ssa._Lowering, "function"),
        ("inline", inplace, "normalize"),
        ("inline", inline, "inline"),
        ("inline", inplace, "update_in_place"),
        ("transform", reverse, "transform"),
        ("transform", forward, "transform"),
        ("optimize", optimize, "optimize"),
        ("print", codegen, "to_source"),
        ("compile", codegen, "compile_code"),
        ("ssa_print", ssa, "to_source"),
    )

    def __init__(self):
        self.times = dict.fromkeys(STAGES, 0.0)
        self.depth = 0
        self.saved = []

    def wrap(self, stage, fn):
        def timed(*args, **kwargs):
            if self.depth:
                return fn(*args, **kwargs)
            self.depth += 1
            start = CLOCK()
            try:
                return fn(*args, **kwargs)
            finally:
                self.times[stage] += CLOCK() - start
                self.depth -= 1
        return timed

    def __enter__(self):
        for stage, owner, attr in self.PATCHES:
            fn = owner.__dict__[attr]
            self.saved.append((owner, attr, fn))
            setattr(owner, attr, self.wrap(stage, fn))
        return self

    def __exit__(self, *exc):
        for owner, attr, fn in reversed(self.saved):
            setattr(owner, attr, fn)
        self.saved = []


def first_call(func, mode, collect=True):
    """(seconds, {stage: seconds}, generated function) of s2sad's first
    call on `func` (a fresh function: the cache is not hit); `collect=False`
    turns the garbage collector off during the call."""
    gc.collect()  # start each run with the same heap
    if not collect:
        gc.disable()
    try:
        with StageTimer() as timer:
            start = CLOCK()
            compiled = s2sad.api.differentiate(func, ARGNUMS,
                                               optimize_code=True, mode=mode)
            total = CLOCK() - start
    finally:
        gc.enable()
    s2sad.clear_cache()  # a growing heap slows the GC
    return total, timer.times, compiled


def check(compiled, mode):
    """The generated derivative runs and gives finite numbers."""
    rng = np.random.default_rng(0)
    x, W, c = rng.standard_normal(4), rng.standard_normal((4, 4)) * 0.5, 0.3
    if mode == "forward":
        result = list(compiled(x, W, c, np.ones(4), 1.0))
    else:
        result = list(compiled(x, W, c))
    return all(np.all(np.isfinite(r)) for r in result)


def fit(sizes, seconds):
    """(k, a) of the least-squares line log t = log a + k log n."""
    xs = [math.log(n) for n in sizes]
    ys = [math.log(t) for t in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    k = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum(
        (x - mx) ** 2 for x in xs)
    return k, math.exp(my - k * mx)


def repeats(n):
    return 5 if n <= 100 else 2 if n <= 2000 else 1


def measure(sizes, modules, budget, log, collect=True):
    """{mode: [Row]}; a size whose time, extrapolated from the two sizes
    before it, would exceed `budget` seconds is not run (its row holds the
    extrapolation)."""
    results = {mode: [] for mode in MODES}
    for n in sizes:
        for mode in MODES:
            rows = results[mode]
            measured = [r for r in rows if not r["extrapolated"]]
            if len(measured) >= 2:
                (n0, t0), (n1, t1) = [(r["n"], r["total"])
                                      for r in measured[-2:]]
                k = math.log(t1 / t0) / math.log(n1 / n0)
                guess = t1 * (n / n1) ** k
                if guess > budget:
                    rows.append({"n": n, "total": guess, "stages": None,
                                 "ok": None, "extrapolated": True})
                    log(f"  {mode:8s} n={n:6d}: skipped, ~{guess:.0f} s "
                        f"extrapolated (local exponent {k:.2f})")
                    continue
            best = None
            for _ in range(repeats(n)):
                func, count = modules.function(n)
                total, stages, compiled = first_call(func, mode, collect)
                if best is None or total < best[0]:
                    best = (total, stages, compiled)
            total, stages, compiled = best
            ok = check(compiled, mode)
            rows.append({"n": count, "total": total, "stages": stages,
                         "ok": ok, "extrapolated": False})
            log(f"  {mode:8s} n={count:6d}: {total * 1e3:9.1f} ms "
                f"({sum(stages.values()) * 1e3:.1f} in stages), derivative "
                f"{'runs' if ok else 'FAILS'}")
    return results


# ---- report ----

def report(results, budget, collect=True):
    lines = ["# s2sad transformation cost", "",
             f"Python {platform.python_version()}, NumPy {np.__version__}, "
             f"{platform.machine()}. First call of "
             f"`s2sad.api.differentiate(f, argnums={ARGNUMS})` on generated "
             "straight-line numeric functions of n statements (a fresh "
             "function each time; the minimum of 5 runs up to 100 "
             "statements, 2 up to 2000, 1 above). Stage times come from the "
             "same calls (the stage functions are wrapped with timers). Times "
             "are CPU time of this process (`time.process_time`)"
             + ("" if collect else ", the garbage collector off") + ".", ""]
    for mode, rows in results.items():
        measured = [r for r in rows if not r["extrapolated"]]
        lines += [f"## {mode} mode", "",
                  "| n | ms | ms per statement | local exponent |",
                  "|---:|---:|---:|---:|"]
        previous = None
        for row in rows:
            n, total = row["n"], row["total"]
            local = "" if previous is None else "%.2f" % (
                math.log(total / previous[1]) / math.log(n / previous[0]))
            mark = "~" if row["extrapolated"] else ""
            lines.append(f"| {n} | {mark}{total * 1e3:.1f} | "
                         f"{mark}{total * 1e3 / n:.3f} | {local} |")
            previous = (n, total)
        if len(measured) > 1:
            k, a = fit([r["n"] for r in measured],
                       [r["total"] for r in measured])
            lines += ["", f"Fitted exponent ({mode}): time ~ {a * 1e3:.3g} "
                      f"ms * n^**{k:.2f}** (least squares on log-log over "
                      f"n = {', '.join(str(r['n']) for r in measured)})."]
        if len(measured) < len(rows):
            lines += ["", "~ extrapolated from the two sizes before it (its "
                      f"run would take over {budget:.0f} s; `--budget`)."]
        lines += ["", f"Per stage ({mode}): ms at each n, ms per statement "
                  "at the largest measured n, exponent fitted per stage over "
                  f"all sizes and over those from {LARGE} statements (where "
                  "fixed costs no longer weigh):", "",
                  "| stage | " + " | ".join(f"n={r['n']}" for r in measured)
                  + f" | ms/stmt | exponent | from {LARGE} | share |",
                  "|---|" + "---:|" * (len(measured) + 4)]
        last = measured[-1]
        for stage in STAGES + ("sum of stages",):
            def value(row):
                return sum(row["stages"].values()) if stage not in STAGES \
                    else row["stages"][stage]
            times = [value(r) for r in measured]
            positive = [(r["n"], t) for r, t in zip(measured, times) if t > 0]
            exponent = f"{fit(*zip(*positive))[0]:.2f}" if len(positive) > 1 \
                else ""
            large = [(n, t) for n, t in positive if n >= LARGE]
            exponent_large = f"{fit(*zip(*large))[0]:.2f}" \
                if len(large) > 1 else ""
            share = value(last) / last["total"]
            lines.append(
                f"| {stage} | " + " | ".join(f"{t * 1e3:.1f}" for t in times)
                + f" | {times[-1] * 1e3 / last['n']:.3f} | {exponent} | "
                f"{exponent_large} | {share:.0%} |")
        failed = [r["n"] for r in measured if not r["ok"]]
        if failed:
            lines += ["", f"The generated derivative FAILED to run at n = "
                      f"{failed}."]
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="stop at 1000 statements")
    parser.add_argument("--markdown", metavar="FILE",
                        help="also write the report to FILE")
    parser.add_argument("--sizes", help="comma-separated sizes (overrides "
                        "the default 10,100,1000,10000)")
    parser.add_argument("--no-gc", action="store_true",
                        help="turn the garbage collector off during each "
                        "transformation (to tell its cost from s2sad's)")
    parser.add_argument("--budget", type=float, default=300.0,
                        help="skip (and extrapolate) a size whose run "
                        "would take longer than this many seconds "
                        "(default 300)")
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    else:
        sizes = [10, 100, 1000] + ([] if args.quick else [10000])
    modules = Modules()
    results = measure(sizes, modules, args.budget,
                      lambda m: print(m, file=sys.stderr, flush=True),
                      collect=not args.no_gc)
    text = report(results, args.budget, not args.no_gc)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()

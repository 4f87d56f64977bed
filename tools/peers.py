"""Compare s2sad's gradients with hand-written ones and with other AD tools.

Two suites of programs, each with a hand-written gradient per program:

  * `classic` (the default; programs.py): the textbook worked examples in
    examples/seeds.py, the logistic map as a loop, a scalar loop with a
    branch, linear regression, an MLP and a tanh RNN;
  * `realistic` (realistic.py): programs written the way a user writes them
    (module-level constants, helper functions, loops, slice and element
    assignment) that s2sad was not tuned for: an RK4 pendulum integrator, a
    2-D heat stepper, a Gaussian-process likelihood, Rosenbrock, softmax
    regression, a one-example MLP, Black-Scholes, an attention block and
    more. realistic.py also holds each library's port of the programs
    (`ports(library)`); a program absent from a library's ports is "not
    ported" for it.

All in float64. For each program, each tool's gradient is built, called once
and checked against the hand-written gradient (to 1e-10 relative to the
largest entry) before it is timed; a tool that fails or disagrees gets a note
instead of a time. The tools are s2sad, the hand-written NumPy/Python
gradient, and the peers that are installed:

  * autograd: `autograd.grad` of the program written with `autograd.numpy`;
  * JAX: `jax.grad` run eagerly, on the program written with `jax.numpy`,
    and `jax.jit(jax.grad(f))`, whose loops use `lax.fori_loop` and
    `lax.scan` (a Python loop would be unrolled into the compiled program);
    its first call (trace, compile and one run) is reported apart;
  * PyTorch: `torch.autograd.grad(loss, inputs)` on float64 leaf tensors
    that require grad;
  * tangent (tangent-ad): `tangent.grad` of the very NumPy source s2sad reads.

Targets, checked in the "targets met" column:

  * classic: s2sad / hand-written <= 1.5 (scalar) or <= 1.1 (array
    programs); faster than autograd, eager JAX, PyTorch and tangent on scalar
    and small-array programs; on large-array programs, within 1.2x of the
    fastest peer (jit JAX included, its compile time excluded);
  * realistic: s2sad / hand-written <= realistic.TARGETS[kind] (1.5 scalar
    or loop, 1.3 array, 2 tiny array); faster than autograd, PyTorch and
    tangent on every program; on array programs, within 1.2x of the fastest
    peer (jit JAX included, its compile time excluded);
  * both: peak memory of s2sad's gradient <= 1.5x the hand-written one's.

Peak memory is the `tracemalloc` peak of one call after the warm-up (the
first call and the timing loops), for the hand-written gradient, s2sad, and
autograd and tangent when one of their calls takes under a second.
tracemalloc sees the allocations of Python objects and NumPy's array
buffers, not those of PyTorch or JAX, so they get no memory figure.

Every tool runs on one thread (OMP_NUM_THREADS, which this script sets to 1
unless it is set already; with 1 it also turns off XLA's thread pool). Times
are minima over repeats of `timeit` loops of >= 0.2 s each (0.02 s
with --quick), interleaved between the tools of a program so that a change
in machine load hits all of them (bench.best_times); a tool whose loops have
taken 4 s (1 s) gets no more.

First calls that may be slow are tried in a child process first: those of
a case with a loop count (an int argument) >= 10**4 or that its suite keeps
out of --quick runs (realistic.py's `quick=False`), for every tool but the
hand-written one, and eager JAX's on any case with a loop count (it takes
milliseconds per step). The child (this script run with the hidden option
`--first-call TOOL INDEX`) builds the tool's gradient and calls it once; it
is killed when the call takes over 30 s (5 s with --quick), and the tool is
reported as too slow; an exception in the child is reported as the tool's
note. Only when the child finished in time is the first call made in this
process. (A signal-based alarm cannot stop every tool: JAX swallows an
exception raised inside its garbage-collection callback.) A child costs the
import of s2sad and the tool's library (up to 5 s for tangent), so the other
first calls run in this process without a limit.

`--growth` measures instead how s2sad's gradient of the integrator
realistic.pendulum_rk4 and the hand-written one scale with the number of
steps n (10 ... 10**5, 10**4 with --quick): time and peak memory, per step,
and the exponents k of time ~ n^k and memory ~ n^k fitted on n >= 100.

Run it with

    python tools/peers.py [--suite classic|realistic] [--quick]
                          [--markdown FILE] [--plot FILE]
    python tools/peers.py --growth [--quick] [--markdown FILE]

It prints a Markdown table and writes it to --markdown FILE (default
tools/results/peers.md, realistic.md or growth.md), and, when matplotlib is
installed, a log-scale bar chart of time / hand-written time per program and
tool to --plot FILE (tools/results/peers.png or realistic.png).
"""

import os

# Every tool computes on THREADS threads: OMP_NUM_THREADS if it is set, else
# one. On a busy 2-core machine a second thread made NumPy's OpenBLAS and
# PyTorch slower (up to 8x for PyTorch's RNN), not faster. OpenBLAS reads
# the variable when NumPy is first imported, so this comes before that.
THREADS = int(os.environ.setdefault("OMP_NUM_THREADS", "1"))
if THREADS == 1:
    os.environ["XLA_FLAGS"] = " ".join([
        os.environ.get("XLA_FLAGS", ""), "--xla_cpu_multi_thread_eigen=false",
        "intra_op_parallelism_threads=1"]).strip()

# s2sad's first call is its transformation, as every peer's is theirs:
# its disk cache (which a new process would read) is off unless asked for.
os.environ.setdefault("S2SAD_CACHE", "0")

import argparse
import collections
import contextlib
import importlib.metadata
import inspect
import json
import platform
import queue
import shlex
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

import bench
import programs
import s2sad

SCALAR, SMALL, LARGE = "scalar", "small array", "large array"
HAND_TARGET = {SCALAR: 1.5, SMALL: 1.1, LARGE: 1.1}
PEER_TARGET = 1.2  # s2sad / the fastest peer, where arrays dominate
EAGER_PEERS = ("autograd", "JAX", "PyTorch", "tangent")
REALISTIC_PEERS = ("autograd", "PyTorch", "tangent")
MEMORY_TARGET = 1.5  # s2sad's peak memory / the hand-written gradient's
MEMORY_TOOLS = ("hand-written", "s2sad", "autograd", "tangent")
MEMORY_PEER_SECONDS = 1.0  # a peer's memory is measured below this time
SLOW_LOOP = 10**4  # a first call with a loop this long runs in a child
CHILD_START_SECONDS = 120.0  # for a child's imports, before its limit
CHILD_READY, CHILD_RESULT = "first-call ready", "first-call result: "
GROWTH_STEPS = (10, 100, 1000, 10**4, 10**5)
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

Case = collections.namedtuple("Case", "name kind program argnums args")
Case.__doc__ = """A program to differentiate: `program` names the function
in programs.py (and `program + "_hand"` its hand-written gradient), taken
with respect to `argnums` at `args`. Integer arguments are loop counts."""

Suite = collections.namedtuple("Suite", "name module cases ports missed")
Suite.__doc__ = """A set of programs: `module` holds each program and its
`_hand` gradient, `cases(quick)` lists the cases, `ports(library)` gives
{program name: function} for "autograd", "jax", "jax jit" and "torch", and
`missed(case, outcomes)` lists the time targets s2sad misses."""

Tool = collections.namedtuple("Tool", "name prepare")
Tool.__doc__ = """`prepare(case)` returns `(gradient, args)`: the tool's
gradient function of the case's program and the arguments to call it with,
converted to the tool's own array type."""

Outcome = collections.namedtuple("Outcome", "seconds first_call note memory",
                                 defaults=(None,))
Outcome.__doc__ = """A tool's result on a case: seconds per call (None if
it was not timed), the seconds of its first call, why it was not timed, and
the peak bytes of a call (None if not measured)."""


class NotPorted(Exception):
    """The library's port of the programs has no version of this one."""


# The classic suite.

def classic_cases(quick):
    """The programs, smallest first in each class; --quick drops the
    100000-step loop and the 10000 x 1000 regression."""
    return [
        Case("f(x, y) = x²y + y + 2 at (3, 4)", SCALAR, "f", (0, 1),
             (3.0, 4.0)),
        Case("g(x1, x2) = ln x1 + x1 x2 − sin x2 at (2, 5)", SCALAR, "g",
             (0, 1), (2.0, 5.0)),
        Case("logistic 1 / (1 + e^−z) at 1.5", SCALAR, "logistic", 0,
             (1.5,)),
        Case("logistic map, 4 steps, straight-line", SCALAR,
             "logistic_map4", 0, (0.3,)),
        *(Case(f"logistic map loop, n = {n}", SCALAR, "logistic_map", 0,
               (0.3, n))
          for n in (10, 1000) + (() if quick else (100_000,))),
        Case("scalar loop with a branch, n = 1000", SCALAR, "loop_branch", 0,
             (0.3, 1000)),
        Case("2 x @ x, x = arange(4)", SMALL, "two_xtx", 0,
             (np.arange(4.0),)),
        Case("(<x, w> − y)², 3-vectors", SMALL, "dot_loss", 0,
             (np.array([0.5, -0.25, 2.0]), np.array([1.0, 2.0, 3.0]), 0.5)),
        *(Case(f"linear regression {r}x{c}", SMALL, "linreg", 0,
               programs.linreg_inputs(r, c))
          for r, c in ((100, 10), (1000, 100))),
        *(Case(f"tanh RNN, T = {steps}, hidden 64, batch 16", SMALL, "rnn",
               (1, 2), programs.rnn_inputs(steps))
          for steps in (10, 100)),
        *(() if quick else (
            Case("linear regression 10000x1000", LARGE, "linreg", 0,
                 programs.linreg_inputs(10_000, 1000)),)),
        Case("MLP 784-256-10 (tanh, MSE), batch 64", LARGE, "mlp", (0, 1),
             programs.mlp_inputs()),
    ]


def array_programs(xp):
    """The programs as a user of autograd, JAX or PyTorch writes them: with
    `xp` (autograd.numpy, jax.numpy or torch) for NumPy. The ones that use
    only operators are programs.py's own."""
    def g(x1, x2):
        return xp.log(x1) + x1 * x2 - xp.sin(x2)

    def logistic(z):
        return 1 / (1 + xp.exp(-z))

    def dot_loss(w, x, y):
        return (xp.dot(x, w) - y) ** 2

    def linreg(w, X, y):
        return xp.sum((X @ w - y) ** 2)

    def rnn(h, W, U, xs):
        for x in xs:
            h = xp.tanh(h @ W + x @ U)
        return xp.sum(h * h)

    def mlp(W1, W2, x, t):
        h = xp.tanh(x @ W1)
        d = h @ W2 - t
        return xp.mean(d * d)

    return {"f": programs.f, "g": g, "logistic": logistic,
            "logistic_map4": programs.logistic_map4,
            "two_xtx": programs.two_xtx, "dot_loss": dot_loss,
            "logistic_map": programs.logistic_map,
            "loop_branch": programs.loop_branch, "linreg": linreg,
            "rnn": rnn, "mlp": mlp}


def lax_loops(jnp, lax):
    """The loops as a JAX user writes them for `jax.jit`."""
    def logistic_map(x, n):
        return lax.fori_loop(0, n, lambda i, L: 4.0 * L * (1.0 - L), x)

    def loop_branch(x, n):
        def step(i, s):
            return jnp.where(s > 1.0, s * 0.5 + x, s + x * x)
        return lax.fori_loop(0, n, step, jnp.zeros_like(x))

    def rnn(h, W, U, xs):
        def step(h, x):
            return jnp.tanh(h @ W + x @ U), None
        h, _ = lax.scan(step, h, xs)
        return jnp.sum(h * h)

    return {"logistic_map": logistic_map, "loop_branch": loop_branch,
            "rnn": rnn}


def classic_ports(library):
    """{program name: function} of the classic programs for `library`."""
    if library == "autograd":
        import autograd.numpy as xp
    elif library == "torch":
        import torch as xp
    else:
        import jax.numpy as xp
    ported = array_programs(xp)
    if library == "jax jit":
        import jax
        ported.update(lax_loops(xp, jax.lax))
    return ported


def peer_times(outcomes):
    """{peer name: seconds} of the peers that were timed."""
    return {name: o.seconds for name, o in outcomes.items()
            if name != "hand-written" and not name.startswith("s2sad")
            and o.seconds is not None}


def hand_ratio_missed(ours, outcomes, target):
    ratio = ours / outcomes["hand-written"].seconds
    return ([f"s2sad/hand {ratio:.3f} > {target}"] if ratio > target
            else [])


def fastest_peer_missed(ours, outcomes):
    peers = peer_times(outcomes)
    if not peers:
        return []
    name = min(peers, key=peers.get)
    if ours > PEER_TARGET * peers[name]:
        return [f"{ours / peers[name]:.2f}x {name} > {PEER_TARGET}x"]
    return []


def faster_peers(ours, outcomes, names):
    peers = peer_times(outcomes)
    return [f"{name} faster ({peers[name] / ours:.2f}x s2sad)"
            for name in names if name in peers and peers[name] < ours]


def classic_missed(case, outcomes):
    """The classic suite's time targets that s2sad misses on `case`."""
    ours = outcomes["s2sad"].seconds
    missed = hand_ratio_missed(ours, outcomes, HAND_TARGET[case.kind])
    if case.kind == LARGE:
        return missed + fastest_peer_missed(ours, outcomes)
    return missed + faster_peers(ours, outcomes, EAGER_PEERS)


def classic_suite():
    return Suite("classic", programs, classic_cases, classic_ports,
                 classic_missed)


# The realistic suite.

def realistic_suite():
    """The suite of realistic.py (imported only when it is asked for)."""
    import realistic

    def cases(quick):
        return [case for case in realistic.CASES if case.quick or not quick]

    def missed(case, outcomes):
        ours = outcomes["s2sad"].seconds
        found = hand_ratio_missed(ours, outcomes,
                                  realistic.TARGETS[case.kind])
        found += faster_peers(ours, outcomes, REALISTIC_PEERS)
        if case.kind == realistic.ARRAY:
            found += fastest_peer_missed(ours, outcomes)
        return found
    return Suite("realistic", realistic, cases, realistic.ports, missed)


SUITES = {"classic": classic_suite, "realistic": realistic_suite}


# The tools. Each maker takes the suite and returns the tools of one
# library, and raises ImportError if the library is not installed.

def argnum_tuple(argnums):
    return argnums if isinstance(argnums, tuple) else (argnums,)


def is_loop_count(arg):
    return isinstance(arg, int) and not isinstance(arg, bool)


def ported(functions, case):
    """The library's version of the case's program; NotPorted if none."""
    if case.program not in functions:
        raise NotPorted
    return functions[case.program]


def hand_tools(suite):
    def prepare(case):
        return getattr(suite.module, case.program + "_hand"), case.args
    return [Tool("hand-written", prepare)]


def s2sad_tools(suite):
    def prepare(case):
        program = getattr(suite.module, case.program)
        return s2sad.grad(program, argnums=case.argnums), case.args
    return [Tool("s2sad", prepare)]


def numba_tools(suite):
    """s2sad's gradient compiled by Numba (backend="numba"); its first call
    (generate, compile and one run, with an empty disk cache) is reported
    apart, as JAX jit's is."""
    # (this directory's coverage.py is not the package Numba looks for)
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.path[:]
    sys.path[:] = [p for p in path if os.path.abspath(p or ".") != here]
    try:
        import numba  # noqa: F401  (ImportError: not installed)
    finally:
        sys.path[:] = path

    def prepare(case):
        program = getattr(suite.module, case.program)
        return (s2sad.grad(program, argnums=case.argnums, backend="numba"),
                case.args)
    return [Tool("s2sad numba", prepare)]


def autograd_tools(suite):
    import autograd
    functions = suite.ports("autograd")

    def prepare(case):
        return (autograd.grad(ported(functions, case), case.argnums),
                case.args)
    return [Tool("autograd", prepare)]


def jax_tools(suite):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    eager, compiled = suite.ports("jax"), suite.ports("jax jit")

    def converted(args):
        return tuple(a if is_loop_count(a) else jnp.asarray(a)
                     for a in args)

    def blocking(gradient):  # JAX returns before the result is computed
        return lambda *args: jax.block_until_ready(gradient(*args))

    def prepare_eager(case):
        gradient = jax.grad(ported(eager, case), case.argnums)
        return blocking(gradient), converted(case.args)

    def prepare_jit(case):
        loop_counts = [i for i, a in enumerate(case.args)
                       if is_loop_count(a)]
        gradient = jax.jit(jax.grad(ported(compiled, case), case.argnums),
                           static_argnums=loop_counts)
        return blocking(gradient), converted(case.args)
    return [Tool("JAX", prepare_eager), Tool("JAX jit", prepare_jit)]


def torch_tools(suite):
    import torch
    torch.set_num_threads(THREADS)
    functions = suite.ports("torch")

    def tensor(arg, requires_grad):
        """Floats as float64 tensors; bool and int arrays keep their type."""
        if isinstance(arg, np.ndarray) and arg.dtype.kind in "biu":
            return torch.as_tensor(arg)
        return torch.tensor(arg, dtype=torch.float64,
                            requires_grad=requires_grad)

    def prepare(case):
        wrt = argnum_tuple(case.argnums)
        args = tuple(a if is_loop_count(a) else tensor(a, i in wrt)
                     for i, a in enumerate(case.args))
        program = ported(functions, case)

        def gradient(*args):
            return torch.autograd.grad(program(*args), [args[i] for i in wrt])
        return gradient, args
    return [Tool("PyTorch", prepare)]


def tangent_tools(suite):
    import tangent

    def prepare(case):
        program = getattr(suite.module, case.program)
        return (tangent.grad(program, wrt=argnum_tuple(case.argnums)),
                case.args)
    return [Tool("tangent", prepare)]


PEERS = [  # (maker, distributions whose versions the header names)
    (numba_tools, ("numba",)),
    (autograd_tools, ("autograd",)),
    (jax_tools, ("jax", "jaxlib")),
    (torch_tools, ("torch",)),
    (tangent_tools, ("tangent-ad",)),
]
MAKERS = {"hand-written": hand_tools, "s2sad": s2sad_tools,
          "s2sad numba": numba_tools,
          "autograd": autograd_tools, "JAX": jax_tools,
          "JAX jit": jax_tools, "PyTorch": torch_tools,
          "tangent": tangent_tools}
INSTALL = "pip install numba autograd jax jaxlib torch==2.13.0 tangent-ad"
COMPILED = ("s2sad numba", "JAX jit")  # their first call is reported apart


def make_tools(suite):
    """(tools, versions, notes): hand-written, s2sad and the peers that
    import; a note naming the ones that do not."""
    tools = hand_tools(suite) + s2sad_tools(suite)
    versions = [f"NumPy {np.__version__}"]
    missing = []
    for maker, distributions in PEERS:
        try:
            tools += maker(suite)
        except ImportError:
            missing.append(distributions[0])
            continue
        versions += [f"{d} {importlib.metadata.version(d)}"
                     for d in distributions]
    notes = [f"Skipped, not installed: {', '.join(missing)} (`{INSTALL}` "
             "installs every peer)."] if missing else []
    return tools, versions, notes


def make_tool(suite, name):
    """The tool called `name`, importing only its own library."""
    return next(tool for tool in MAKERS[name](suite) if tool.name == name)


# Measuring.

def as_tuple(gradient):
    """A gradient as a tuple of NumPy arrays, whatever the tool returned."""
    if not isinstance(gradient, (tuple, list)):
        gradient = (gradient,)
    return tuple(np.asarray(g) for g in gradient)


def mismatch(actual, expected):
    """Why a gradient disagrees with the hand-written one."""
    if [a.shape for a in actual] != [e.shape for e in expected]:
        return (f"shapes {[a.shape for a in actual]}, hand-written "
                f"{[e.shape for e in expected]}")
    error = max(np.max(np.abs(a - e), initial=0.0)
                / np.max(np.abs(e), initial=1e-300)
                for a, e in zip(actual, expected))
    return f"relative error {error:.1e}"


def failure_note(exc):
    """The note of a tool whose gradient raised `exc`."""
    if isinstance(exc, NotPorted):
        return "not ported"
    reason = " ".join(str(exc).split())[:80]
    return f"unsupported: {type(exc).__name__}: {reason}"


def may_be_slow(tool, case):
    """Whether the tool's first call on the case is tried in a child
    process first: a loop count >= SLOW_LOOP, a case its suite keeps out of
    --quick, or eager JAX (milliseconds per step) on a case with a loop."""
    loops = [a for a in case.args if is_loop_count(a)]
    if tool.name == "s2sad numba":  # (compiled, and on numbers only)
        return False
    return (any(n >= SLOW_LOOP for n in loops)
            or not getattr(case, "quick", True)
            or tool.name == "JAX" and bool(loops))


def forward_lines(stream, lines):
    """Put each line of `stream` in the queue `lines`, then None."""
    for line in stream:
        lines.put(line)
    lines.put(None)


def child_line(lines, prefix, seconds):
    """The text after `prefix` of the first line that starts with it
    within `seconds` (other lines are the libraries' own output); None if
    the child's output ends first. queue.Empty once `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        if line is None or line.startswith(prefix):
            return line and line[len(prefix):]


def first_call_in_child(tool_name, index, settings):
    """None if the child process's first call of the tool on case `index`
    finished within the limit without an exception; else its Outcome."""
    command = [sys.executable, os.path.abspath(__file__), "--first-call",
               tool_name, str(index), "--suite", settings.suite]
    command += ["--quick"] if settings.quick else []
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(command, stdout=subprocess.PIPE,
                                 stderr=errors, text=True)
        lines = queue.Queue()
        threading.Thread(target=forward_lines, args=(child.stdout, lines),
                         daemon=True).start()
        try:
            result = child_line(lines, CHILD_READY, CHILD_START_SECONDS)
            if result is not None:
                result = child_line(lines, CHILD_RESULT, settings.limit)
        except queue.Empty:
            return Outcome(None, None,
                           f"too slow: first call > {settings.limit:g} s")
        finally:
            child.kill()  # done, or over its time
            child.wait()
        if result is None:  # the child died without a result
            errors.seek(0)
            last = (errors.read().strip().splitlines() or ["no message"])[-1]
            return Outcome(None, None, f"first call crashed (exit code "
                                       f"{child.returncode}): {last[:80]}")
    note = json.loads(result)["note"]
    return None if note is None else Outcome(None, None, note)


def child_first_call(suite, tool_name, index, quick):
    """The --first-call mode: call the tool's gradient of case `index`
    once. Prints CHILD_READY once imported, then CHILD_RESULT and a JSON
    object: the note (null if the call succeeded) and the call's seconds."""
    case = suite.cases(quick)[index]
    tool = make_tool(suite, tool_name)
    print(CHILD_READY, flush=True)
    note, seconds = None, None
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            gradient, args = tool.prepare(case)
            start = time.perf_counter()
            gradient(*args)
            seconds = time.perf_counter() - start
    except Exception as exc:
        note = failure_note(exc)
    print(CHILD_RESULT + json.dumps({"note": note, "seconds": seconds}),
          flush=True)


def first_call(tool, case, index, expected, settings):
    """(gradient, args, seconds of the first call) once the tool's gradient
    has been checked; an Outcome with a note if it cannot be timed."""
    if tool.name != "hand-written" and may_be_slow(tool, case):
        failed = first_call_in_child(tool.name, index, settings)
        if failed is not None:
            return failed
    try:
        gradient, args = tool.prepare(case)
        start = time.perf_counter()
        result = gradient(*args)
        seconds = time.perf_counter() - start
    except Exception as exc:
        return Outcome(None, None, failure_note(exc))
    actual = as_tuple(result)
    if not bench.same_gradient(actual, expected):
        return Outcome(None, seconds, "WRONG: " + mismatch(actual, expected))
    return gradient, args, seconds


def measure(case, index, tools, settings):
    """{tool name: Outcome} for one case; the tools that pass their check
    are timed together, then the peak memory of one call of each tool of
    MEMORY_TOOLS is measured. tools[0] is the hand-written gradient."""
    hand, args = tools[0].prepare(case)
    expected = as_tuple(hand(*args))
    outcomes, ready = {}, []
    for tool in tools:
        checked = first_call(tool, case, index, expected, settings)
        if isinstance(checked, Outcome):
            outcomes[tool.name] = checked
        else:
            ready.append((tool.name, checked))
    times = bench.best_times([(gradient, args) for _, (gradient, args, _)
                              in ready], settings.repeat,
                             settings.loop_seconds, settings.budget)
    for (name, (gradient, args, first)), seconds in zip(ready, times):
        memory = None
        if name in MEMORY_TOOLS and (name in ("hand-written", "s2sad")
                                     or seconds < MEMORY_PEER_SECONDS):
            memory = bench.peak_bytes(gradient, *args)
        outcomes[name] = Outcome(seconds, first, None, memory)
    return outcomes


# Reporting.

def ratio_text(ratio):
    return f"{ratio:.2f}" if ratio < 10 else f"{ratio:.0f}"


def fmt_bytes(count):
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} B"


def memory_ratio(outcome, hand):
    """outcome's peak memory / the hand-written's: None if either is
    missing, inf if only the hand-written peak is 0."""
    if outcome.memory is None or hand.memory is None:
        return None
    if hand.memory == 0:
        return 1.0 if outcome.memory == 0 else float("inf")
    return outcome.memory / hand.memory


def cell(outcome, hand):
    """A peer's cell: its time and, in brackets, its time / hand-written;
    then its peak memory / hand-written, if measured."""
    if outcome.seconds is None:
        return outcome.note
    text = (f"{bench.fmt_time(outcome.seconds)} "
            f"({ratio_text(outcome.seconds / hand.seconds)}x)")
    ratio = memory_ratio(outcome, hand)
    return text if ratio is None else text + f"; mem {ratio_text(ratio)}x"


def targets(suite, case, outcomes):
    """'yes', or 'no: ' and each target s2sad misses."""
    ours = outcomes["s2sad"]
    if ours.seconds is None:
        return "no: s2sad " + ours.note
    missed = suite.missed(case, outcomes)
    ratio = memory_ratio(ours, outcomes["hand-written"])
    if ratio is not None and ratio > MEMORY_TARGET:
        missed.append(f"memory {ratio_text(ratio)}x > {MEMORY_TARGET} "
                      f"({fmt_bytes(ours.memory)} vs "
                      f"{fmt_bytes(outcomes['hand-written'].memory)})")
    return "no: " + "; ".join(missed) if missed else "yes"


def table(suite, results, tool_names):
    """The Markdown table of `results`, a list of (case, outcomes)."""
    peers = tool_names[2:]
    header = ["program", "class", "hand-written", "s2sad", "s2sad/hand",
              "hand peak mem", "s2sad mem/hand"]
    for name in peers:
        header += [name] + ([f"{name} compile"] if name in COMPILED else [])
    header.append("targets met")
    rows = []
    for case, outcomes in results:
        hand = outcomes["hand-written"]
        ours = outcomes["s2sad"]
        timed = ours.seconds is not None
        memory = memory_ratio(ours, hand)
        row = [case.name, case.kind, bench.fmt_time(hand.seconds),
               bench.fmt_time(ours.seconds) if timed else ours.note,
               ratio_text(ours.seconds / hand.seconds) if timed else "-",
               fmt_bytes(hand.memory),
               "-" if memory is None else ratio_text(memory)]
        for name in peers:
            row.append(cell(outcomes[name], hand))
            if name in COMPILED:
                first = outcomes[name].first_call
                row.append("-" if first is None else bench.fmt_time(first))
        rows.append(row + [targets(suite, case, outcomes)])
    return bench.markdown_table(header, rows)


def machine(versions):
    """One line: CPU model, cores, OS, Python and library versions."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info
                    if line.startswith("model name")), cpu)
    system = platform.platform()
    with contextlib.suppress(OSError), open("/etc/os-release") as release:
        system = next((line.split("=", 1)[1].strip().strip('"')
                       for line in release
                       if line.startswith("PRETTY_NAME=")), system)
    return (f"{cpu}, {os.cpu_count()} logical cores, {system}, "
            f"Python {platform.python_version()}, " + ", ".join(versions))


def command():
    """The command line this run was started with."""
    path = os.environ.get("PYTHONPATH")
    prefix = f"PYTHONPATH={shlex.quote(path)} " if path else ""
    return prefix + shlex.join(sys.orig_argv)


TARGET_NOTES = {
    "classic":
        "Targets: s2sad/hand <= 1.5 (scalar), <= 1.1 (arrays); s2sad faster "
        "than autograd, JAX (eager), PyTorch and tangent on scalar and "
        "small-array programs; on large-array programs within 1.2x of the "
        "fastest peer, JAX jit included (compile time excluded); peak "
        f"memory s2sad/hand <= {MEMORY_TARGET}.",
    "realistic":
        "Targets: s2sad/hand <= 1.5 (scalar/loop), <= 1.3 (array), <= 2 "
        "(tiny array); s2sad faster than autograd, PyTorch and tangent on "
        "every program; on array programs within 1.2x of the fastest peer, "
        "JAX jit included (compile time excluded); peak memory s2sad/hand "
        f"<= {MEMORY_TARGET}.",
}

JIT_LOOPS = {
    "classic": "with `lax.fori_loop` for the logistic map and the scalar "
               "loop (its branch a `jnp.where`) and `lax.scan` for the RNN",
    "realistic": "on realistic.py's `jax jit` port (`lax.fori_loop` or "
                 "`lax.scan` for long loops)",
}


def footnotes(suite, tool_names, settings):
    loops = f"{settings.loop_seconds:g} s"
    notes = [
        f"Every tool runs on {THREADS} thread{'s' * (THREADS > 1)} "
        f"(`OMP_NUM_THREADS={THREADS}`). Time per call, min over "
        f"{settings.repeat} interleaved `timeit` loops of >= {loops}; "
        "(n.nnx) = time / hand-written time. Every gradient is checked "
        "against the hand-written one (rtol 1e-10) before it is timed. "
        f"A tool gets no more loops once they have taken "
        f"{settings.budget:g} s. The first call of a case with a loop of "
        f">= {SLOW_LOOP:,} steps"
        + (" or marked `quick=False`" if suite.name == "realistic" else "")
        + ", and eager JAX's on any loop, is tried first in a child "
        "process, killed after "
        f"{settings.limit:g} s (\"too slow\").",
        TARGET_NOTES[suite.name],
        "Peak memory: `tracemalloc` peak of one call after the warm-up "
        "(`hand peak mem`; `s2sad mem/hand`, and `mem n.nnx` in the "
        "autograd and tangent cells when their call takes < "
        f"{MEMORY_PEER_SECONDS:g} s). tracemalloc sees Python objects and "
        "NumPy's buffers but not PyTorch's or JAX's allocations, so those "
        "get no memory figure. A peak of 0 B means every object came from "
        "Python's free lists.",
    ]
    if suite.name == "realistic":
        notes.append(
            "autograd, JAX and PyTorch run the programs as realistic.py "
            "ports them to each library (`ports(library)`); \"not ported\" "
            "marks a program that library's port does not have.")
    if "JAX" in tool_names:
        notes.append(
            "JAX: float64 (`jax_enable_x64`), inputs `jnp` arrays, results "
            "waited for with `jax.block_until_ready`. `JAX` is eager "
            "`jax.grad(f)` of the program as written (Python loops); `JAX "
            f"jit` is `jax.jit(jax.grad(f))`, {JIT_LOOPS[suite.name]}, so "
            "that loops are not unrolled; `JAX jit compile` is its first "
            "call (trace, compile, one run)."
            + (" XLA_FLAGS: `--xla_cpu_multi_thread_eigen=false "
               "intra_op_parallelism_threads=1`." if THREADS == 1 else ""))
    if "s2sad numba" in tool_names:
        notes.append(
            "s2sad numba: `s2sad.grad(f, backend=\"numba\")`, the gradient "
            "compiled by Numba (code on numbers and NumPy arrays; what it "
            "cannot compile is refused, and its row says why); `s2sad numba "
            "compile` is its first call (generate, "
            "compile, one run) with the disk caches as the run found them "
            "(S2SAD_CACHE_DIR empty: a cold compile). It is not a peer for "
            "the targets.")
    if "PyTorch" in tool_names:
        notes.append(
            "PyTorch: `torch.autograd.grad(f(*args), inputs)` on float64 "
            "leaf tensors with `requires_grad` (faster than "
            f"`torch.func.grad` here), `torch.set_num_threads({THREADS})`.")
    if "tangent" in tool_names:
        notes.append("tangent: `tangent.grad(f, wrt=...)` (default options) "
                     "of the same NumPy source as s2sad.")
    return notes


def report(suite, results, tool_names, versions, notes, settings):
    lines = [f"Machine: {machine(versions)}.", "",
             f"Command: `{command()}`", "",
             table(suite, results, tool_names), ""]
    lines += [f"- {note}"
              for note in footnotes(suite, tool_names, settings) + notes]
    return "\n".join(lines) + "\n"


def plot(results, tool_names, path):
    """A horizontal bar chart of time / hand-written time, log scale: a group
    of bars per program, one bar per tool."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = tool_names[1:]
    height = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(10, max(4.0, 1.5 + 0.75 * len(results))))
    for j, name in enumerate(names):
        offset = (j - (len(names) - 1) / 2) * height
        timed = []
        for i, (_, outcomes) in enumerate(results):
            outcome = outcomes[name]
            if outcome.seconds is None:  # say why there is no bar
                why = outcome.note.split(":")[0]  # the table has the rest
                ax.text(1.05, i + offset, f"{name}: {why}", va="center",
                        fontsize=7, color="dimgray")
            else:
                timed.append(
                    (i, outcome.seconds / outcomes["hand-written"].seconds))
        if timed:
            rows, ratios = zip(*timed)
            ax.barh([i + offset for i in rows], ratios, height, label=name,
                    color=f"C{j}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(range(len(results)),
                  [f"{case.name}\n({case.kind})" for case, _ in results])
    ax.invert_yaxis()
    ax.set_xlabel("time / hand-written time (log scale; 1 = hand-written)")
    ax.set_title("Gradient time relative to a hand-written NumPy gradient")
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_text(path, text):
    with open(path, "w") as out:
        out.write(text)


def write(path, write_to):
    """`write_to(path)`, making the directory of `path` first."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_to(path)


# Growth with the number of steps.

def fitted_exponent(steps, values):
    """k of values ~ steps^k, least squares on logs over steps >= 100."""
    pairs = [(n, v) for n, v in zip(steps, values) if n >= 100 and v > 0]
    if len(pairs) < 2:
        return float("nan")
    ns, vs = zip(*pairs)
    return float(np.polyfit(np.log(ns), np.log(vs), 1)[0])


def growth(quick):
    """The Markdown report of how the time and peak memory of the gradients
    of realistic.pendulum_rk4 (s2sad's and the hand-written one) grow with
    the number of steps n."""
    import realistic
    program, hand = realistic.pendulum_rk4, realistic.pendulum_rk4_hand
    case = next(c for c in realistic.CASES if c.program == "pendulum_rk4")
    where = list(inspect.signature(program).parameters).index("n")
    gradient = s2sad.grad(program, argnums=case.argnums)
    steps = [n for n in GROWTH_STEPS if not quick or n <= 10**4]
    repeat, loop_seconds = (2, 0.02) if quick else (3, 0.2)
    rows, measured = [], []
    for n in steps:
        print(f"... n = {n}", file=sys.stderr, flush=True)
        args = case.args[:where] + (n,) + case.args[where + 1:]
        expected, actual = as_tuple(hand(*args)), as_tuple(gradient(*args))
        if not bench.same_gradient(actual, expected):
            raise SystemExit(f"s2sad's gradient at n = {n} is WRONG: "
                             + mismatch(actual, expected))
        times = bench.best_times([(hand, args), (gradient, args)], repeat,
                                 loop_seconds)
        memory = [bench.peak_bytes(f, *args) for f in (hand, gradient)]
        measured.append(times + memory)
        rows.append([f"{n:,}"]
                    + [text for seconds in times for text in (
                        bench.fmt_time(seconds), bench.fmt_time(seconds / n))]
                    + [text for peak in memory for text in (
                        fmt_bytes(peak), f"{peak / n:.3g} B")]
                    + [ratio_text(times[1] / times[0]),
                       "-" if memory[0] == 0
                       else ratio_text(memory[1] / memory[0])])
    header = ["n", "hand-written", "per step", "s2sad", "per step",
              "hand peak mem", "per step", "s2sad peak mem", "per step",
              "time s2sad/hand", "mem s2sad/hand"]
    columns = list(zip(*measured))
    fits = [[what] + [f"{fitted_exponent(steps, column):.3f}"
                      for column in pair]
            for what, pair in (("time", columns[:2]),
                               ("peak memory", columns[2:]))]
    lines = [f"Machine: {machine([f'NumPy {np.__version__}'])}.", "",
             f"Command: `{command()}`", "",
             f"Gradient of `realistic.pendulum_rk4` w.r.t. argnums "
             f"{case.argnums} at the arguments of \"{case.name}\", n "
             "replaced:", "",
             bench.markdown_table(header, rows), "",
             "Fitted exponent k of value ~ n^k (least squares on logs, "
             "n >= 100):", "",
             bench.markdown_table(["quantity", "hand-written", "s2sad"],
                                  fits), "",
             f"- Time per call: min over {repeat} `timeit` loops of >= "
             f"{loop_seconds:g} s, on {THREADS} thread"
             f"{'s' * (THREADS > 1)}. Peak memory: `tracemalloc` peak of "
             "one call after a warm-up call. Each s2sad gradient is checked "
             "against the hand-written one (rtol 1e-10) first."]
    return "\n".join(lines) + "\n"


Settings = collections.namedtuple(
    "Settings", "repeat loop_seconds budget limit suite quick")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=sorted(SUITES), default="classic",
                        help="the programs to run (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: fewer, shorter loops; no long "
                             "loops or large arrays")
    parser.add_argument("--growth", action="store_true",
                        help="measure instead how the gradients of "
                             "realistic.pendulum_rk4 grow with its steps")
    parser.add_argument("--markdown", metavar="FILE",
                        help="write the report to FILE (default: "
                             "tools/results/peers.md, realistic.md or "
                             "growth.md)")
    parser.add_argument("--plot", metavar="FILE",
                        help="write the chart to FILE (default: "
                             "tools/results/peers.png or realistic.png)")
    parser.add_argument("--first-call", nargs=2, metavar=("TOOL", "INDEX"),
                        help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.first_call:
        tool_name, index = opts.first_call
        child_first_call(SUITES[opts.suite](), tool_name, int(index),
                         opts.quick)
        return
    if opts.growth:
        text = growth(opts.quick)
        print(text, end="")
        write(opts.markdown or os.path.join(RESULTS, "growth.md"),
              lambda path: write_text(path, text))
        return
    stem = "peers" if opts.suite == "classic" else opts.suite
    settings = Settings(*((2, 0.02, 1.0, 5.0) if opts.quick
                          else (5, 0.2, 4.0, 30.0)), opts.suite, opts.quick)
    suite = SUITES[opts.suite]()
    tools, versions, notes = make_tools(suite)
    tool_names = [tool.name for tool in tools]
    results = []
    for index, case in enumerate(suite.cases(opts.quick)):
        print(f"... {case.name}", file=sys.stderr, flush=True)
        # Over 100000 steps the logistic map's derivative overflows in
        # every tool: expected, and checked by bench.same_gradient.
        with np.errstate(over="ignore", invalid="ignore"):
            results.append((case, measure(case, index, tools, settings)))
    try:
        write(opts.plot or os.path.join(RESULTS, stem + ".png"),
              lambda path: plot(results, tool_names, path))
    except ImportError:
        notes.append("No plot: matplotlib is not installed "
                     "(`pip install -e '.[bench]'`).")
    text = report(suite, results, tool_names, versions, notes, settings)
    print(text, end="")
    write(opts.markdown or os.path.join(RESULTS, stem + ".md"),
          lambda path: write_text(path, text))


if __name__ == "__main__":
    main()

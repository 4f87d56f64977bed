"""Compare s2sad's gradients with hand-written ones and with other AD tools.

For each program (the textbook worked examples in examples/seeds.py, the
logistic map as a loop, a scalar loop with a branch, linear regression, an MLP
and a tanh RNN, all in float64; the programs and their hand-written gradients
are in programs.py), each tool's gradient is built, called once and checked
against the hand-written gradient (to 1e-10 relative to the largest entry)
before it is timed; a tool that fails or disagrees gets a note instead of a
time. The tools are s2sad, the hand-written NumPy/Python gradient, and the
peers that are installed:

  * autograd: `autograd.grad` of the program written with `autograd.numpy`;
  * JAX: `jax.grad` run eagerly, on the same program written with
    `jax.numpy`, and `jax.jit(jax.grad(f))`, whose loops use `lax.fori_loop`
    and `lax.scan` (a Python loop would be unrolled into the compiled
    program); its first call (trace, compile and one run) is reported apart;
  * PyTorch: `torch.autograd.grad(loss, inputs)` on float64 leaf tensors
    that require grad;
  * tangent (tangent-ad): `tangent.grad` of the very NumPy source s2sad reads.

Each program is in one of three classes, and the table says whether s2sad
meets the targets of its class: s2sad / hand-written <= 1.5 (scalar) or
<= 1.1 (array programs); faster than autograd, eager JAX, PyTorch and
tangent on scalar and small-array programs; on large-array programs, within
1.2x of the fastest peer (jit JAX included, its compile time excluded).

Every tool runs on one thread (OMP_NUM_THREADS, which this script sets to 1
unless it is set already; with 1 it also turns off XLA's thread pool). Times
are minima over repeats of `timeit` loops of >= 0.2 s each (0.02 s
with --quick), interleaved between the tools of a program so that a change
in machine load hits all of them (bench.best_times); a tool whose loops have
taken 4 s (1 s) gets no more, and a first call that takes over 30 s (5 s) is
stopped and reported as too slow. Run it with

    python tools/peers.py [--quick] [--markdown FILE] [--plot FILE]

It prints a Markdown table and writes it to --markdown FILE (default
tools/results/peers.md), and, when matplotlib is installed, a log-scale bar
chart of time / hand-written time per program and tool to --plot FILE
(tools/results/peers.png).
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

import argparse
import collections
import contextlib
import importlib.metadata
import platform
import shlex
import signal
import sys
import time

import numpy as np

import bench
import programs
import s2sad

SCALAR, SMALL, LARGE = "scalar", "small array", "large array"
HAND_TARGET = {SCALAR: 1.5, SMALL: 1.1, LARGE: 1.1}
LARGE_PEER_TARGET = 1.2
EAGER_PEERS = ("autograd", "JAX", "PyTorch", "tangent")
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

Case = collections.namedtuple("Case", "name kind program argnums args")
Case.__doc__ = """A program to differentiate: `program` names the function
in programs.py (and `program + "_hand"` its hand-written gradient), taken
with respect to `argnums` at `args`. Integer arguments are loop counts."""

Tool = collections.namedtuple("Tool", "name prepare")
Tool.__doc__ = """`prepare(case)` returns `(gradient, args)`: the tool's
gradient function of the case's program and the arguments to call it with,
converted to the tool's own array type."""

Outcome = collections.namedtuple("Outcome", "seconds first_call note")
Outcome.__doc__ = """A tool's result on a case: seconds per call (None if
it was not timed), the seconds of its first call, and why it was not timed."""


def cases(quick):
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


# The tools. Each maker returns the tools of one library, and raises
# ImportError if the library is not installed.

def hand_tools():
    def prepare(case):
        return getattr(programs, case.program + "_hand"), case.args
    return [Tool("hand-written", prepare)]


def s2sad_tools():
    def prepare(case):
        program = getattr(programs, case.program)
        return s2sad.grad(program, argnums=case.argnums), case.args
    return [Tool("s2sad", prepare)]


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


def argnum_tuple(argnums):
    return argnums if isinstance(argnums, tuple) else (argnums,)


def autograd_tools():
    import autograd
    import autograd.numpy as anp
    ported = array_programs(anp)

    def prepare(case):
        return autograd.grad(ported[case.program], case.argnums), case.args
    return [Tool("autograd", prepare)]


def jax_tools():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    eager = array_programs(jnp)
    compiled = dict(eager, **lax_loops(jnp, jax.lax))

    def converted(args):
        return tuple(a if isinstance(a, int) else jnp.asarray(a)
                     for a in args)

    def blocking(gradient):  # JAX returns before the result is computed
        return lambda *args: jax.block_until_ready(gradient(*args))

    def prepare_eager(case):
        gradient = jax.grad(eager[case.program], case.argnums)
        return blocking(gradient), converted(case.args)

    def prepare_jit(case):
        loop_counts = [i for i, a in enumerate(case.args)
                       if isinstance(a, int)]
        gradient = jax.jit(jax.grad(compiled[case.program], case.argnums),
                           static_argnums=loop_counts)
        return blocking(gradient), converted(case.args)
    return [Tool("JAX", prepare_eager), Tool("JAX jit", prepare_jit)]


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


def torch_tools():
    import torch
    torch.set_num_threads(THREADS)
    ported = array_programs(torch)

    def prepare(case):
        wrt = argnum_tuple(case.argnums)
        args = tuple(
            a if isinstance(a, int) else torch.tensor(
                a, dtype=torch.float64, requires_grad=i in wrt)
            for i, a in enumerate(case.args))
        program = ported[case.program]

        def gradient(*args):
            return torch.autograd.grad(program(*args), [args[i] for i in wrt])
        return gradient, args
    return [Tool("PyTorch", prepare)]


def tangent_tools():
    import tangent

    def prepare(case):
        program = getattr(programs, case.program)
        return (tangent.grad(program, wrt=argnum_tuple(case.argnums)),
                case.args)
    return [Tool("tangent", prepare)]


PEERS = [  # (maker, distributions whose versions the header names)
    (autograd_tools, ("autograd",)),
    (jax_tools, ("jax", "jaxlib")),
    (torch_tools, ("torch",)),
    (tangent_tools, ("tangent-ad",)),
]
INSTALL = "pip install autograd jax jaxlib torch==2.13.0 tangent-ad"


def make_tools():
    """(tools, versions, notes): hand-written, s2sad and the peers that
    import; a note naming the ones that do not."""
    tools = hand_tools() + s2sad_tools()
    versions = [f"NumPy {np.__version__}"]
    missing = []
    for maker, distributions in PEERS:
        try:
            tools += maker()
        except ImportError:
            missing.append(distributions[0])
            continue
        versions += [f"{d} {importlib.metadata.version(d)}"
                     for d in distributions]
    notes = [f"Skipped, not installed: {', '.join(missing)} (`{INSTALL}` "
             "installs every peer)."] if missing else []
    return tools, versions, notes


# Measuring.

class TooSlow(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds):
    """Raise TooSlow in the block once it has run for `seconds`."""
    def expire(signum, frame):
        raise TooSlow
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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


def first_call(tool, case, expected, limit):
    """(gradient, args, seconds of the first call) once the tool's gradient
    has been checked; an Outcome with a note if it cannot be timed."""
    try:
        with time_limit(limit):
            gradient, args = tool.prepare(case)
            start = time.perf_counter()
            result = gradient(*args)
            seconds = time.perf_counter() - start
    except TooSlow:
        return Outcome(None, None, f"too slow: first call > {limit:g} s")
    except Exception as exc:
        reason = " ".join(str(exc).split())[:80]
        return Outcome(None, None,
                       f"unsupported: {type(exc).__name__}: {reason}")
    actual = as_tuple(result)
    if not bench.same_gradient(actual, expected):
        return Outcome(None, seconds, "WRONG: " + mismatch(actual, expected))
    return gradient, args, seconds


def measure(case, tools, settings):
    """{tool name: Outcome} for one case; the tools that pass their check
    are timed together. tools[0] is the hand-written gradient."""
    hand, args = tools[0].prepare(case)
    expected = as_tuple(hand(*args))
    outcomes, ready = {}, []
    for tool in tools:
        checked = first_call(tool, case, expected, settings.limit)
        if isinstance(checked, Outcome):
            outcomes[tool.name] = checked
        else:
            ready.append((tool.name, checked))
    times = bench.best_times([(gradient, args) for _, (gradient, args, _)
                              in ready], settings.repeat,
                             settings.loop_seconds, settings.budget)
    for (name, (_, _, first)), seconds in zip(ready, times):
        outcomes[name] = Outcome(seconds, first, None)
    return outcomes


# Reporting.

def ratio_text(ratio):
    return f"{ratio:.2f}" if ratio < 10 else f"{ratio:.0f}"


def cell(outcome, hand_seconds):
    """A peer's cell: its time and, in brackets, its time / hand-written."""
    if outcome.seconds is None:
        return outcome.note
    return (f"{bench.fmt_time(outcome.seconds)} "
            f"({ratio_text(outcome.seconds / hand_seconds)}x)")


def targets(case, outcomes):
    """'yes', or 'no: ' and each target s2sad misses."""
    ours = outcomes["s2sad"].seconds
    if ours is None:
        return "no: s2sad " + outcomes["s2sad"].note
    missed = []
    ratio = ours / outcomes["hand-written"].seconds
    if ratio > HAND_TARGET[case.kind]:
        missed.append(f"s2sad/hand {ratio:.3f} > {HAND_TARGET[case.kind]}")
    peers = {name: o.seconds for name, o in outcomes.items()
             if name not in ("hand-written", "s2sad")
             and o.seconds is not None}
    if case.kind == LARGE:
        if peers:
            name = min(peers, key=peers.get)
            if ours > LARGE_PEER_TARGET * peers[name]:
                missed.append(f"{ours / peers[name]:.2f}x {name} > "
                              f"{LARGE_PEER_TARGET}x")
    else:
        missed += [f"{name} faster ({peers[name] / ours:.2f}x s2sad)"
                   for name in EAGER_PEERS
                   if name in peers and peers[name] < ours]
    return "no: " + "; ".join(missed) if missed else "yes"


def table(results, tool_names):
    """The Markdown table of `results`, a list of (case, outcomes)."""
    peers = tool_names[2:]
    header = ["program", "class", "hand-written", "s2sad", "s2sad/hand"]
    for name in peers:
        header += [name] + (["JAX jit compile"] if name == "JAX jit" else [])
    header.append("targets met")
    rows = []
    for case, outcomes in results:
        hand = outcomes["hand-written"].seconds
        ours = outcomes["s2sad"]
        timed = ours.seconds is not None
        row = [case.name, case.kind, bench.fmt_time(hand),
               bench.fmt_time(ours.seconds) if timed else ours.note,
               ratio_text(ours.seconds / hand) if timed else "-"]
        for name in peers:
            row.append(cell(outcomes[name], hand))
            if name == "JAX jit":
                first = outcomes[name].first_call
                row.append("-" if first is None else bench.fmt_time(first))
        rows.append(row + [targets(case, outcomes)])
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


def footnotes(tool_names, settings):
    loops = f"{settings.loop_seconds:g} s"
    notes = [
        f"Every tool runs on {THREADS} thread{'s' * (THREADS > 1)} "
        f"(`OMP_NUM_THREADS={THREADS}`). Time per call, min over "
        f"{settings.repeat} interleaved `timeit` loops of >= {loops}; "
        "(n.nnx) = time / hand-written time. Every gradient is checked "
        "against the hand-written one (rtol 1e-10) before it is timed. "
        f"A tool gets no more loops once they have taken "
        f"{settings.budget:g} s, and a first call longer than "
        f"{settings.limit:g} s is stopped.",
        "Targets: s2sad/hand <= 1.5 (scalar), <= 1.1 (arrays); s2sad faster "
        "than autograd, JAX (eager), PyTorch and tangent on scalar and "
        "small-array programs; on large-array programs within 1.2x of the "
        "fastest peer, JAX jit included (compile time excluded).",
    ]
    if "JAX" in tool_names:
        notes.append(
            "JAX: float64 (`jax_enable_x64`), inputs `jnp` arrays, results "
            "waited for with `jax.block_until_ready`. `JAX` is eager "
            "`jax.grad(f)` of the program as written (Python loops); `JAX "
            "jit` is `jax.jit(jax.grad(f))`, with `lax.fori_loop` for the "
            "logistic map and the scalar loop (its branch a `jnp.where`) and "
            "`lax.scan` for the RNN, so that loops are not unrolled; "
            "`JAX jit compile` is its first call (trace, compile, one run)."
            + (" XLA_FLAGS: `--xla_cpu_multi_thread_eigen=false "
               "intra_op_parallelism_threads=1`." if THREADS == 1 else ""))
    if "PyTorch" in tool_names:
        notes.append(
            "PyTorch: `torch.autograd.grad(f(*args), inputs)` on float64 "
            "leaf tensors with `requires_grad` (faster than "
            f"`torch.func.grad` here), `torch.set_num_threads({THREADS})`.")
    if "tangent" in tool_names:
        notes.append("tangent: `tangent.grad(f, wrt=...)` (default options) "
                     "of the same NumPy source as s2sad.")
    return notes


def report(results, tool_names, versions, notes, settings):
    lines = [f"Machine: {machine(versions)}.", "",
             f"Command: `{command()}`", "",
             table(results, tool_names), ""]
    lines += [f"- {note}" for note in footnotes(tool_names, settings) + notes]
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


Settings = collections.namedtuple("Settings",
                                  "repeat loop_seconds budget limit")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: fewer, shorter loops; no 100000-step "
                             "loop or 10000x1000 regression")
    parser.add_argument("--markdown", metavar="FILE",
                        default=os.path.join(RESULTS, "peers.md"),
                        help="write the report to FILE (default: %(default)s)")
    parser.add_argument("--plot", metavar="FILE",
                        default=os.path.join(RESULTS, "peers.png"),
                        help="write the chart to FILE (default: %(default)s)")
    opts = parser.parse_args()
    settings = (Settings(2, 0.02, 1.0, 5.0) if opts.quick
                else Settings(5, 0.2, 4.0, 30.0))
    tools, versions, notes = make_tools()
    tool_names = [tool.name for tool in tools]
    results = []
    for case in cases(opts.quick):
        print(f"... {case.name}", file=sys.stderr, flush=True)
        # Over 100000 steps the logistic map's derivative overflows in
        # every tool: expected, and checked by bench.same_gradient.
        with np.errstate(over="ignore", invalid="ignore"):
            results.append((case, measure(case, tools, settings)))
    try:
        write(opts.plot, lambda path: plot(results, tool_names, path))
    except ImportError:
        notes.append("No plot: matplotlib is not installed "
                     "(`pip install -e '.[bench]'`).")
    text = report(results, tool_names, versions, notes, settings)
    print(text, end="")
    write(opts.markdown, lambda path: write_text(path, text))


if __name__ == "__main__":
    main()

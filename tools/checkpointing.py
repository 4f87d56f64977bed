"""Checkpointing: memory and time of reversing long loops and deep calls.

Each program is written twice, as a user would: once plainly (reverse mode
keeps a tape entry per iteration), once with a checkpointed loop (`for t in
s2sad.checkpointed(range(n), snapshots=s)`) or checkpointed layers
(`s2sad.checkpoint(layer)`). For each it checks that both gradients agree
(to 1e-12, relative), then reports, in one run:

  * the peak memory of one gradient call of each (`tracemalloc`: Python
    objects and NumPy's buffers), and the checkpointed one's as a percentage
    of the plain one's;
  * the time of one call of each (min over `--repeats` calls) and their
    ratio;
  * the steps the schedule ran untaped, per step of the loop, beside the
    fewest any schedule with the same snapshots runs (Revolve's optimum).

Targets (of the loops): at most 2% of the plain gradient's memory, at most
4x its time. Run

    python tools/checkpointing.py [--quick] [--markdown FILE]
"""

import argparse
import math
import os
import platform
import sys
import time

import numpy as np

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(TOOLS))

import s2sad  # noqa: E402
from bench import peak_bytes  # noqa: E402
from s2sad import checkpoints  # noqa: E402

SNAPSHOTS = {"logistic": 100, "while": 100, "rnn": 10, "heat": 10}


# -- the logistic map --

def logistic(r, x, n):
    for t in s2sad.checkpointed(range(n), snapshots=SNAPSHOTS["logistic"]):
        x = r * x * (1.0 - x)
    return x


def logistic_plain(r, x, n):
    for t in range(n):
        x = r * x * (1.0 - x)
    return x


# -- a projectile with drag, until it lands (a while loop) --

def projectile(speed, drag, dt):
    x, y = 0.0, 0.0
    vx, vy = speed * 0.6, speed * 0.8
    while s2sad.checkpointed_while(y >= 0.0, snapshots=SNAPSHOTS["while"]):
        v = (vx * vx + vy * vy) ** 0.5
        vx = vx - dt * drag * v * vx
        vy = vy - dt * (9.81 + drag * v * vy)
        x = x + dt * vx
        y = y + dt * vy
    return x


def projectile_plain(speed, drag, dt):
    x, y = 0.0, 0.0
    vx, vy = speed * 0.6, speed * 0.8
    while y >= 0.0:
        v = (vx * vx + vy * vy) ** 0.5
        vx = vx - dt * drag * v * vx
        vy = vy - dt * (9.81 + drag * v * vy)
        x = x + dt * vx
        y = y + dt * vy
    return x


# -- a tanh RNN on a batch of sequences, with a loss at every step --

def rnn(W, U, b, h, xs):
    loss = 0.0
    for t in s2sad.checkpointed(range(len(xs)), snapshots=SNAPSHOTS["rnn"]):
        h = np.tanh(W @ h + U @ xs[t] + b)
        loss = loss + np.sum(h * h)
    return loss / len(xs)


def rnn_plain(W, U, b, h, xs):
    loss = 0.0
    for t in range(len(xs)):
        h = np.tanh(W @ h + U @ xs[t] + b)
        loss = loss + np.sum(h * h)
    return loss / len(xs)


# -- a 2-D reaction-diffusion stepper, updating the grid's interior --

def heat(u, dt, n):
    u = u.copy()
    for t in s2sad.checkpointed(range(n), snapshots=SNAPSHOTS["heat"]):
        inner = u[1:-1, 1:-1]
        lap = u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] \
            - 4.0 * inner
        u[1:-1, 1:-1] = inner + dt * (lap + inner - inner ** 3)
    return np.sum(u ** 2)


def heat_plain(u, dt, n):
    u = u.copy()
    for t in range(n):
        inner = u[1:-1, 1:-1]
        lap = u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] \
            - 4.0 * inner
        u[1:-1, 1:-1] = inner + dt * (lap + inner - inner ** 3)
    return np.sum(u ** 2)


# -- a deep MLP, each layer checkpointed --

def layer_plain(W, h):
    z = W @ h
    return np.tanh(z) * 0.9 + np.sin(z) * 0.1


layer = s2sad.checkpoint(layer_plain)


def mlp(Ws, x):
    h = x
    for W in Ws:
        h = layer(W, h)
    return np.mean(h ** 2)


def mlp_plain(Ws, x):
    h = x
    for W in Ws:
        h = layer_plain(W, h)
    return np.mean(h ** 2)


def cases(quick):
    rng = np.random.default_rng(0)
    n_map = 10 ** 5 if quick else 10 ** 6
    steps = 200 if quick else 1000
    hidden, width, batch = 32, 8, 16
    yield ("logistic map", f"n = {n_map:,}, s = {SNAPSHOTS['logistic']}",
           logistic, logistic_plain, (0, 1), (2.9, 0.3, n_map), "loop")
    dt = 1e-4 if quick else 1e-5
    yield ("projectile until it lands (while)", f"dt = {dt:g}, s = "
           f"{SNAPSHOTS['while']}", projectile, projectile_plain, (0, 1),
           (30.0, 0.02, dt), "loop")
    yield ("tanh RNN", f"T = {steps}, hidden {hidden}, batch {batch}, "
           f"s = {SNAPSHOTS['rnn']}", rnn, rnn_plain, (0, 1, 2),
           (rng.normal(size=(hidden, hidden)) / np.sqrt(hidden),
            rng.normal(size=(hidden, width)) / np.sqrt(width),
            rng.normal(size=(hidden, 1)) * 0.1, np.zeros((hidden, batch)),
            rng.normal(size=(steps, width, batch))), "loop")
    yield ("2-D reaction-diffusion", f"64 x 64, {steps} steps, "
           f"s = {SNAPSHOTS['heat']}", heat, heat_plain, (0,),
           (rng.uniform(-1, 1, size=(64, 64)), 0.05, steps), "loop")
    depth, size = 8, 256
    yield ("MLP, checkpointed layers", f"{depth} layers of {size}, "
           f"batch {size}", mlp, mlp_plain, (0, 1),
           ([rng.normal(size=(size, size)) / np.sqrt(size)
             for _ in range(depth)], rng.normal(size=(size, size))), "calls")


def best_time(fn, args, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def same(a, b):
    if isinstance(a, (tuple, list)):
        return all(same(x, y) for x, y in zip(a, b))
    return np.allclose(a, b, rtol=1e-12, atol=0.0)


def revolve_optimum(steps, snapshots):
    """The fewest forward steps any schedule runs to reverse `steps` steps
    holding at most `snapshots` states, the first among them (Griewank and
    Walther): r * steps - C(snapshots + r, snapshots + 1), for the least r
    with C(snapshots + r, snapshots) >= steps."""
    repeats = 0
    while math.comb(snapshots + repeats, snapshots) < steps:
        repeats += 1
    return repeats * steps - (math.comb(snapshots + repeats, snapshots + 1)
                              if repeats else 0)


def forward_steps(f, argnums, args):
    """(forward steps run per loop step, Revolve's optimum per step for
    bundles of one step), counted as Revolve counts them: the steps the
    forward sweep runs to its last snapshot, and those the backward sweep
    runs again (`checkpoints.Revolve.backward`, which the online schedule
    of a while loop follows too)."""
    followed = []
    original = checkpoints.Revolve.backward

    def record(self, *a):
        followed.append(self)
        yield from original(self, *a)
    checkpoints.Revolve.backward = record
    try:
        s2sad.grad(f, argnums=argnums)(*args)
    finally:
        checkpoints.Revolve.backward = original
    steps = sum(s.steps for s in followed)
    ran = sum(s.advances + min(s._pending[-1][0] * s.bundle, s.steps)
              for s in followed if s._pending)
    best = sum(revolve_optimum(s.steps, s.free + 1) for s in followed)
    return (ran / steps, best / steps) if steps else (None, None)


def human(nbytes):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return f"{nbytes:.3g} {unit}" if unit != "B" else f"{nbytes} B"
        nbytes /= 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="shorter loops, fewer repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--markdown", help="also write the table here")
    options = parser.parse_args()
    repeats = options.repeats or (2 if options.quick else 5)
    rows = []
    for name, size, f, plain, argnums, args, kind in cases(options.quick):
        g, g_plain = (s2sad.grad(h, argnums=argnums) for h in (f, plain))
        got, want = g(*args), g_plain(*args)
        if not same(got, want):
            raise SystemExit(f"{name}: the checkpointed gradient differs "
                             "from the plain one")
        g(*args), g_plain(*args)  # (the second, which may specialise)
        memory = peak_bytes(g, *args), peak_bytes(g_plain, *args)
        times = best_time(g, args, repeats), best_time(g_plain, args, repeats)
        share, ratio = memory[0] / memory[1], times[0] / times[1]
        ran, best = forward_steps(f, argnums, args) if kind == "loop" \
            else (None, None)
        met = "-" if kind != "loop" else "yes" if share <= 0.02 and \
            ratio <= 4.0 else "no"
        rows.append(
            f"| {name} | {size} | {human(memory[1])} | {human(memory[0])} | "
            f"{100 * share:.2f}% | {times[1] * 1e3:.3g} ms | "
            f"{times[0] * 1e3:.3g} ms | {ratio:.2f} | "
            f"{'-' if ran is None else f'{ran:.2f} ({best:.2f})'} | "
            f"{met} |")
        print(rows[-1], flush=True)
    header = [
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"NumPy {np.__version__}.", "",
        f"Command: `python tools/checkpointing.py"
        f"{' --quick' if options.quick else ''}`", "",
        "| program | size | plain gradient's peak memory | checkpointed | "
        "checkpointed / plain | plain gradient's time | checkpointed | "
        "time ratio | forward steps per step (Revolve's optimum) | "
        "targets met |",
        "|---|---|---|---|---|---|---|---|---|---|"]
    footer = [
        "", "- Peak memory: `tracemalloc` peak of one gradient call. Time: "
        f"min over {repeats} calls. Both gradients agree to 1e-12 "
        "(relative) before anything is measured.",
        "- Forward steps per step: the steps run untaped, as Revolve "
        "counts them (the forward sweep's up to its last snapshot, and "
        "those the backward sweep runs again), per step of the loop; in "
        "parentheses the fewest any schedule with the same snapshots runs "
        "with bundles of one step (Griewank and Walther's formula). With "
        "bundles of one step the two are equal (the tests check the "
        "schedule against dynamic programming); a bundle of more steps "
        "also holds those steps' tape, and so runs fewer.",
        "- Targets, for the loops: at most 2% of the plain gradient's "
        "memory and at most 4x its time. The checkpointed layers (no "
        "target) keep each layer's input instead of its intermediates."]
    text = "\n".join(header + rows + footer) + "\n"
    print(text)
    if options.markdown:
        with open(options.markdown, "w") as out:
            out.write(text)


if __name__ == "__main__":
    main()

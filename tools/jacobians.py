"""Whole Jacobians and Hessians: s2sad's vector mode against hand-written
formulas and the peers, one thread each, in one run.

Each program is written as a user writes it, with its Jacobian or Hessian
worked out by hand (checked against s2sad's to rtol 1e-10 before timing).
For each it times, per call (the best of several runs, after a first call
that generates the code):

- the hand-written formula;
- s2sad: `jacfwd` (one sweep of vector mode), `jacrev` (one backward
  sweep of vector mode) and `jacobian` (which picks the mode from the
  sizes), or `hessian` (vector-mode forward over the generated gradient),
  and, for comparison, the Jacobian as s2sad computed it before vector
  mode: one jvp per input direction ("s2sad per direction") or one
  backward sweep per output ("s2sad per output");
- autograd's `jacobian`/`hessian`, JAX's eager `jacfwd`/`jacrev`/`hessian`
  and `jax.jit` of them, where installed (their results are checked too).

    python tools/jacobians.py [--markdown FILE] [--quick]

Ratios are to the hand-written time measured in the same run.
"""

import argparse
import os
import platform
import sys
import timeit

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_ENABLE_X64", "1")

import numpy as np  # noqa: E402

import s2sad  # noqa: E402

RNG = np.random.default_rng(0)


# ---- the programs, each with its derivative worked out by hand ----

def make_tanh_layer(n):
    W = RNG.standard_normal((n, n)) / np.sqrt(n)

    def layer(x):
        return np.tanh(W @ x)

    def by_hand(x):
        y = np.tanh(W @ x)
        return (1.0 - y * y)[:, None] * W
    return layer, by_hand, RNG.standard_normal(n), W


def make_elementwise(n):
    def bump(x):
        return np.sin(x) * np.exp(-x * x) + x ** 3

    def by_hand(x):
        e = np.exp(-x * x)
        return np.diag(np.cos(x) * e - 2.0 * x * np.sin(x) * e + 3.0 * x * x)
    return bump, by_hand, RNG.standard_normal(n), None


K1, K2, K3 = 0.04, 3.0e7, 1.0e4  # Robertson's stiff kinetics


def robertson(y):
    a, b, c = y[0], y[1], y[2]
    return np.array([-K1 * a + K3 * b * c,
                     K1 * a - K3 * b * c - K2 * b * b,
                     K2 * b * b])


def robertson_by_hand(y):
    a, b, c = y
    return np.array([[-K1, K3 * c, K3 * b],
                     [K1, -K3 * c - 2 * K2 * b, -K3 * b],
                     [0.0, 2 * K2 * b, 0.0]])


def make_lorenz96(n):
    F = 8.0

    def lorenz96(x):
        return (np.roll(x, -1) - np.roll(x, 2)) * np.roll(x, 1) - x + F

    def by_hand(x):
        J = -np.eye(n)
        i = np.arange(n)
        J[i, (i + 1) % n] += np.roll(x, 1)
        J[i, (i - 2) % n] -= np.roll(x, 1)
        J[i, (i - 1) % n] += np.roll(x, -1) - np.roll(x, 2)
        return J
    return lorenz96, by_hand, RNG.standard_normal(n), None


def make_softmax_probabilities(d, c):
    # more inputs (the d x c weights) than outputs (c classes): reverse
    # mode's fewer directions
    x = RNG.standard_normal(d)

    def probabilities(W):
        z = x @ W
        e = np.exp(z - np.max(z))
        return e / np.sum(e)

    def by_hand(W):
        p = probabilities(W)
        return (np.diag(p) - np.outer(p, p))[:, None, :] * x[None, :, None]
    return probabilities, by_hand, RNG.standard_normal((d, c)) * 0.1, x


def make_logistic_loss(m, n, lam=0.01):
    X = RNG.standard_normal((m, n))
    t = (RNG.random(m) > 0.5) * 2.0 - 1.0

    def loss(w):
        z = X @ w
        return np.mean(np.log1p(np.exp(-t * z))) + lam * np.sum(w * w)

    def by_hand(w):
        p = 1.0 / (1.0 + np.exp(-t * (X @ w)))
        d = p * (1.0 - p) / m
        return X.T @ (d[:, None] * X) + 2.0 * lam * np.eye(n)
    return loss, by_hand, RNG.standard_normal(n) * 0.1, (X, t, lam)


def make_tanh_loss(n):
    W = RNG.standard_normal((n, n)) / np.sqrt(n)

    def loss(x):
        return np.sum(np.tanh(W @ x) ** 2)

    def by_hand(x):
        y = np.tanh(W @ x)
        d = 2.0 * (1.0 - y * y) * (1.0 - 3.0 * y * y)
        return W.T @ (d[:, None] * W)
    return loss, by_hand, RNG.standard_normal(n), W


def cases(quick):
    out = []
    sizes = (100,) if quick else (100, 1000)
    for n in sizes:
        f, hand, x, _ = make_tanh_layer(n)
        out.append((f"Jacobian of tanh(W @ x), n = {n}", "jacobian", f, hand,
                    x))
    f, hand, x, _ = make_elementwise(300)
    out.append(("Jacobian of an elementwise function, n = 300", "jacobian",
                f, hand, x))
    out.append(("Jacobian of Robertson's kinetics (3 species)", "jacobian",
                robertson, robertson_by_hand, np.array([1.0, 2e-5, 0.01])))
    f, hand, x, _ = make_lorenz96(40)
    out.append(("Jacobian of Lorenz-96, n = 40", "jacobian", f, hand, x))
    f, hand, x, _ = make_softmax_probabilities(100, 10)
    out.append(("Jacobian of softmax(x @ W), W 100 x 10", "jacobian", f,
                hand, x))
    f, hand, x, _ = make_logistic_loss(500, 20)
    out.append(("Hessian of an L2 logistic-regression loss, 500 x 20",
                "hessian", f, hand, x))
    f, hand, x, _ = make_tanh_loss(100)
    out.append(("Hessian of sum(tanh(W @ x) ** 2), n = 100", "hessian", f,
                hand, x))
    return out


# ---- the tools ----

def s2sad_tools(kind):
    from s2sad import api

    def per_direction(f):
        target = s2sad.grad(f) if kind == "hessian" else f
        return lambda x: api._jacfwd_per_direction(target, x)

    def per_output(f):
        return lambda x: api._jacrev_per_direction(f, x)
    if kind == "hessian":
        return {"s2sad hessian": s2sad.hessian,
                "s2sad per direction": per_direction}
    return {"s2sad jacfwd": s2sad.jacfwd, "s2sad jacrev": s2sad.jacrev,
            "s2sad jacobian": s2sad.jacobian,
            "s2sad per direction": per_direction,
            "s2sad per output": per_output}


def autograd_tools(kind, program):
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return {}
    port = _port(program, anp)
    if port is None:
        return {}
    make = autograd.hessian if kind == "hessian" else autograd.jacobian
    return {"autograd": make(port)}


def jax_tools(kind, program):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return {}
    jax.config.update("jax_enable_x64", True)
    port = _port(program, jnp)
    if port is None:
        return {}
    if kind == "hessian":
        made = {"JAX hessian": jax.hessian(port)}
    else:
        made = {"JAX jacfwd": jax.jacfwd(port), "JAX jacrev": jax.jacrev(port)}
    tools = {}
    for name, fn in made.items():
        tools[name + " (eager)"] = fn
        tools[name + " (jit)"] = jax.jit(fn)
    return tools


def _port(program, xnp):
    """The program with NumPy replaced by `xnp` (autograd's or JAX's
    NumPy): a copy of the function reading `np` as xnp."""
    import types
    code = program.__code__
    module = sys.modules[program.__module__]
    namespace = dict(vars(module), np=xnp)
    closure = program.__closure__
    return types.FunctionType(code, namespace, program.__name__,
                              program.__defaults__, closure)


def best_time(fn, x):
    """Seconds per call: the best of 5 runs of enough calls for 0.1 s."""
    timer = timeit.Timer(lambda: fn(x))
    number, _ = timer.autorange()
    number = max(1, number // 2)
    return min(timer.repeat(5, number)) / number


def run(quick):
    rows = []
    for title, kind, program, by_hand, x in cases(quick):
        expected = by_hand(x)
        hand = best_time(by_hand, x)
        tools = {**s2sad_tools(kind), **autograd_tools(kind, program),
                 **jax_tools(kind, program)}
        times = {}
        for name, make in tools.items():
            fn = make(program) if name.startswith("s2sad") else make
            got = np.asarray(fn(x))
            if not np.allclose(got, expected, rtol=1e-10, atol=1e-12):
                raise AssertionError(f"{title}: {name} disagrees with the "
                                     "hand-written formula")
            times[name] = best_time(fn, x)
            print(f"{title}: {name} {times[name] * 1e6:.1f} us "
                  f"({times[name] / hand:.2f}x)", file=sys.stderr)
        rows.append((title, kind, hand, times))
    return rows


def table(rows):
    names = []
    for _, _, _, times in rows:
        names += [n for n in times if n not in names]
    lines = ["| program | hand-written | " + " | ".join(names) + " |",
             "|---|---:|" + "---:|" * len(names)]
    for title, _, hand, times in rows:
        cells = [f"{times[n] / hand:.2f}x" if n in times else "-"
                 for n in names]
        lines.append(f"| {title} | {hand * 1e6:.1f} us | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", help="also write the table here")
    parser.add_argument("--quick", action="store_true",
                        help="leave out the n = 1000 layer")
    args = parser.parse_args()
    rows = run(args.quick)
    versions = [f"Python {platform.python_version()}",
                f"NumPy {np.__version__}"]
    from importlib import metadata
    for library in ("autograd", "jax"):
        try:
            versions.append(f"{library} {metadata.version(library)}")
        except metadata.PackageNotFoundError:
            pass
    text = (table(rows) + "\n\nPer call, as multiples of the hand-written "
            f"formula's time, one thread; {platform.machine()}, "
            f"{', '.join(versions)}.\n")
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(text)


if __name__ == "__main__":
    main()

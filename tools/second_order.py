"""Compiled forward mode and second derivatives: s2sad with
backend="numba" against s2sad's Python code and JAX's jit, one thread each.

For each program of code on numbers (from `realistic.py`, written the way
a user writes them), it times the Hessian with respect to its float
arguments (`s2sad.hessian`, `jax.jit(jax.hessian(...))`) and a jvp
(`s2sad.jvp`, `jax.jit` of `jax.jvp`), checks that the three agree (rtol
1e-8), and reports the first call of the compiled ones apart (for s2sad:
generation and Numba's compilation, with the disk cache off). Run

    python tools/second_order.py [--markdown FILE]

with JAX installed for its column (`pip install jax jaxlib numba`).
"""

import argparse
import os
import platform
import sys
import time
import timeit

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["S2SAD_CACHE"] = "0"  # (each first call compiles)
HERE = os.path.dirname(os.path.abspath(__file__))


def _numba():
    """Import Numba without this directory on the path: its coverage.py is
    not the package Numba looks for."""
    path = sys.path[:]
    sys.path[:] = [p for p in path if os.path.abspath(p or ".") != HERE]
    try:
        import numba
    finally:
        sys.path[:] = path
    return numba


numba = _numba()

import numpy as np  # noqa: E402

import realistic  # noqa: E402
import s2sad  # noqa: E402


def logistic_map(x, r, n):
    """The logistic map's n-th iterate from x."""
    for _ in range(n):
        x = r * x * (1.0 - x)
    return x


def logistic_map_jit(jnp, lax):
    def program(x, r, n):
        return lax.fori_loop(0, n, lambda _, x: r * x * (1.0 - x), x)
    return program


CASES = [
    ("RK4 pendulum, 1000 steps", realistic.pendulum_rk4, "pendulum_rk4",
     (0.3, 0.1, 1000), (0, 1)),
    ("Kalman filter NLL, 200 steps", realistic.kalman_nll, "kalman_nll",
     realistic.kalman_inputs(), (0, 1)),
    ("logistic map, 1000 steps", logistic_map, None, (0.3, 3.7, 1000),
     (0, 1)),
]


def best(f, args):
    """Seconds per call: the best of 5 repeats of timeit's automatic
    number."""
    timer = timeit.Timer(lambda: f(*args))
    number, _ = timer.autorange()
    return min(timer.repeat(5, number)) / number


def first_call(f, args):
    start = time.perf_counter()
    out = f(*args)
    return out, time.perf_counter() - start


def jax_functions(name, program, argnums, args):
    """JAX's jit of hessian and of a jvp for the program's jit port, or
    None without JAX."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    ported = realistic.ports("jax jit").get(name) if name else \
        logistic_map_jit(jnp, jax.lax)
    counts = [i for i, a in enumerate(args) if isinstance(a, int)]
    converted = tuple(a if i in counts else jnp.asarray(a)
                      for i, a in enumerate(args))
    hess = jax.jit(jax.hessian(ported, argnums), static_argnums=counts)

    def jvp(*xs):
        def of(*floats):
            full = list(xs)
            for i, v in zip(argnums, floats):
                full[i] = v
            return ported(*full)
        return jax.jvp(of, tuple(xs[i] for i in argnums),
                       tuple(jnp.ones_like(xs[i]) for i in argnums))
    jvp = jax.jit(jvp, static_argnums=counts)

    def blocking(f):
        return lambda *a: jax.block_until_ready(f(*a))
    return blocking(hess), blocking(jvp), converted


def tangents(args, argnums):
    return tuple(1.0 if i in argnums else None for i in range(len(args)))


def run():
    rows = []
    for title, program, name, args, argnums in CASES:
        row = {"title": title}
        python_h = s2sad.hessian(program, argnums)
        compiled_h = s2sad.hessian(program, argnums, backend="numba")
        got, row["compile hessian"] = first_call(compiled_h, args)
        want = python_h(*args)
        np.testing.assert_allclose(np.array(got, dtype=float),
                                   np.array(want, dtype=float), rtol=1e-8)
        row["s2sad hessian"] = best(python_h, args)
        row["numba hessian"] = best(compiled_h, args)
        t = tangents(args, argnums)

        def python_jvp(*a):
            return s2sad.jvp(program, a, t)

        def compiled_jvp(*a):
            return s2sad.jvp(program, a, t, backend="numba")
        got, row["compile jvp"] = first_call(compiled_jvp, args)
        want_jvp = python_jvp(*args)[1]
        np.testing.assert_allclose(got[1], want_jvp, rtol=1e-12)
        row["s2sad jvp"] = best(python_jvp, args)
        row["numba jvp"] = best(compiled_jvp, args)
        found = jax_functions(name, program, argnums, args)
        if found is not None:
            hess, jvp, converted = found
            got, row["compile JAX"] = first_call(hess, converted)
            np.testing.assert_allclose(np.array(got, dtype=float),
                                       np.array(want, dtype=float),
                                       rtol=1e-8)
            row["JAX hessian"] = best(hess, converted)
            _, tangent = jvp(*converted)
            np.testing.assert_allclose(float(tangent), want_jvp, rtol=1e-8)
            row["JAX jvp"] = best(jvp, converted)
        rows.append(row)
    return rows


def us(seconds):
    return "—" if seconds is None else f"{seconds * 1e6:,.1f} µs"


def table(rows):
    lines = [
        "| program | Hessian: s2sad | s2sad numba | JAX jit | jvp: s2sad "
        "| s2sad numba | JAX jit |",
        "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append("| " + " | ".join([row["title"]] + [
            us(row.get(k)) for k in (
                "s2sad hessian", "numba hessian", "JAX hessian", "s2sad jvp",
                "numba jvp", "JAX jvp")]) + " |")
    lines += ["", "First calls (generation and compilation, then one run):",
              ""]
    for row in rows:
        parts = [f"s2sad numba Hessian {row['compile hessian']:.2f} s",
                 f"jvp {row['compile jvp']:.2f} s"]
        if "compile JAX" in row:
            parts.append(f"JAX jit Hessian {row['compile JAX']:.2f} s")
        lines.append(f"- {row['title']}: " + ", ".join(parts))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", help="write the table here too")
    options = parser.parse_args()
    text = table(run())
    versions = [f"Python {platform.python_version()}",
                f"NumPy {np.__version__}", f"Numba {numba.__version__}"]
    try:
        import jax
        versions.append(f"JAX {jax.__version__}")
    except ImportError:
        pass
    header = (f"Best of 5 timeit repeats, one thread, on {platform.machine()} "
              f"({', '.join(versions)}). Command: `python "
              "tools/second_order.py`.\n\n")
    print(header + text)
    if options.markdown:
        with open(options.markdown, "w", encoding="utf-8") as out:
            out.write(header + text + "\n")


if __name__ == "__main__":
    main()

"""The first call of a gradient in a new process, with and without the disk
cache.

For each program of `bench.py` (and its 20-line function), runs new Python
processes that each import the program, then time `s2sad.grad(f,
argnums)(*args)`: the first call, which generates the derivative or reads
it from disk. Three columns:

  * cold: the disk cache off (`S2SAD_CACHE=0`): the whole pipeline;
  * warm disk: a fresh process after one that wrote the cache;
  * later calls: the same gradient called again in that process.

Each cell is the median over `--runs` processes (CPU time of the child,
`time.process_time`); the import of s2sad itself is reported once. Run

    python tools/first_call.py [--runs 5] [--markdown FILE]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TOOLS)

_CHILD = """
import sys, time
start = time.process_time()
import s2sad
imported = time.process_time() - start
sys.path.insert(0, {tools!r})
import bench
name, fn, argnums, args = next(
    (n, f, a, x) for n, f, a, x, _, _ in bench.programs(True)
    + [("twenty", bench.twenty, (0, 1), (0.7, 1.3), None, None)]
    if n == {name!r})
start = time.process_time()
s2sad.grad(fn, argnums=argnums)(*args)
first = time.process_time() - start
start = time.process_time()
s2sad.grad(fn, argnums=argnums)(*args)
later = time.process_time() - start
from s2sad import derive
print(repr((imported, first, later, derive.stats)))
"""


def child(name, cache_dir, cache_on):
    """(import s, first call s, later call s, stats) in a new process."""
    env = dict(os.environ, S2SAD_CACHE_DIR=cache_dir,
               S2SAD_CACHE="1" if cache_on else "0",
               PYTHONPATH=os.pathsep.join([REPO, TOOLS]),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(tools=TOOLS, name=name)],
        env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(done.stderr)
    import ast
    return ast.literal_eval(done.stdout.splitlines()[-1])


def measure(name, runs):
    """Median (cold, warm, later) first-call seconds and the import time."""
    with tempfile.TemporaryDirectory() as cache_dir:
        cold = [child(name, cache_dir, False) for _ in range(runs)]
        child(name, cache_dir, True)  # writes the entries
        warm = [child(name, cache_dir, True) for _ in range(runs)]
    assert all(w[3]["transformations"] == 0 for w in warm), warm
    return (statistics.median(c[1] for c in cold),
            statistics.median(w[1] for w in warm),
            statistics.median(w[2] for w in warm),
            statistics.median(w[0] for w in warm))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--markdown", metavar="FILE")
    opts = parser.parse_args()
    sys.path.insert(0, TOOLS)
    import bench
    names = [p[0] for p in bench.programs(True)] + ["twenty"]
    rows, imports = [], []
    for name in names:
        cold, warm, later, imported = measure(name, opts.runs)
        imports.append(imported)
        rows.append(f"| {name} | {cold * 1e3:.1f} | {warm * 1e3:.2f} | "
                    f"{later * 1e3:.3f} |")
        print(rows[-1], flush=True)
    text = "\n".join([
        "# First call in a new process",
        "",
        f"Python {platform.python_version()}, NumPy {np.__version__}, "
        f"{platform.machine()}; `python tools/first_call.py --runs "
        f"{opts.runs}`, {time.strftime('%Y-%m-%d')}. Milliseconds of CPU "
        "time in the child process, median over runs: the first "
        "`s2sad.grad(f)(*args)` with the disk cache off (cold), in a new "
        "process after one that filled the cache (warm disk), and a later "
        "call in that process. Importing s2sad takes "
        f"{statistics.median(imports) * 1e3:.0f} ms more, once per process.",
        "",
        "| program | cold ms | warm disk ms | later call ms |",
        "|---|---:|---:|---:|",
        *rows, ""])
    print(text)
    if opts.markdown:
        with open(opts.markdown, "w") as file:
            file.write(text)


if __name__ == "__main__":
    main()

"""Run many random programs through s2sad and report every wrong gradient.

    python tools/random_programs.py --seed 123 --count 5000 [--loops]
        [--break-continue] [--arrays] [--shrink]

Draws `--count` programs from `tests/programs.py` (with the given construct
families switched on) with hypothesis seeded by `--seed`, and checks each
gradient against central differences exactly as tests/test_random_programs.py
does, and that the gradient, a JVP and a VJP are the same with and without
the optimiser. Progress goes to stderr; every mismatch is printed with the point, the
two gradients and the program's source. The exit status is 1 if any program
failed. Programs s2sad refuses with an error that says loops (or `break`,
`continue`) are not supported yet are counted as unsupported, not failures.

`--shrink` stops at the first failure instead and lets hypothesis shrink it
to a minimal program, which is printed.
"""

import argparse
import collections
import os
import sys
import tempfile

from hypothesis import HealthCheck, Phase, given, seed, settings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests import programs  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Check s2sad on many random programs.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--loops", action="store_true",
                        help="generate for and while loops")
    parser.add_argument("--break-continue", action="store_true",
                        help="generate break and continue (implies --loops)")
    parser.add_argument("--arrays", action="store_true",
                        help="inputs are arrays of length 3")
    parser.add_argument("--shrink", action="store_true",
                        help="stop at the first failure and minimise it")
    options = parser.parse_args(argv)
    loops = options.loops or options.break_continue
    counts = collections.Counter()
    every = max(1, options.count // 20)

    with tempfile.TemporaryDirectory() as directory:
        files = programs.ProgramFiles(directory)

        @seed(options.seed)
        @settings(max_examples=options.count, database=None, deadline=None,
                  phases=(Phase.generate, Phase.shrink) if options.shrink
                  else (Phase.generate,),
                  suppress_health_check=list(HealthCheck))
        @given(programs.cases(arrays=options.arrays, loops=loops,
                              break_continue=options.break_continue))
        def run(case):
            try:
                programs.check(case, files, optimizer=True)
                counts["checked"] += 1
            except programs.ProgramFailure as failure:
                if options.shrink:
                    raise
                counts["failed"] += 1
                print(f"{failure}\n", flush=True)
            done = sum(counts.values())
            if done % every == 0:
                print(f"{done}/{options.count} programs: {_summary(counts)}",
                      file=sys.stderr, flush=True)

        try:
            run()
        except programs.ProgramFailure as failure:
            print(f"minimal failing program:\n{failure}")
            return 1
    print(f"{sum(counts.values())} programs: {_summary(counts)}")
    return 1 if counts["failed"] else 0


def _summary(counts):
    return ", ".join(f"{counts[key]} {key}"
                     for key in ("checked", "failed"))


if __name__ == "__main__":
    sys.exit(main())

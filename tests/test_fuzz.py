"""The differential fuzzer in CI: 2000 random programs against Python.

`tools/fuzz.py` writes random programs (aliases and views updated in place,
containers, dtype conversions, keywords, special values, complex inputs,
helpers and module constants, loops and branches) to module files and runs
each through `value_and_grad`, `vjp` and `jvp`. A program passes when s2sad
refuses it with an error located in it, raises what Python raises, or
computes exactly Python's value with derivatives that match central
differences in both modes, leaving its arguments alone and returning
gradients that share no memory (the module docstring has the details).

Four seeds of 500 programs each, in as many processes as there are CPUs (up
to four); every run tests the same programs. A failure lists each class of
finding with its first program, its arguments and the command that reruns
and minimises it. `python tools/fuzz.py --programs 20000 --seed 7` runs
many more.
"""

import importlib.util
import os
import sys

import pytest

_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))), "tools", "fuzz.py")


def _load():
    # registered under its own name so worker processes can unpickle it
    name = "s2sad_tools_fuzz"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _PATH)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


fuzz = _load()

PROGRAMS = 500
JOBS = min(4, os.cpu_count() or 1)


def _message(report):
    parts = [report.summary(), ""]
    for cls, program, finding in report.reproducers():
        index = int(program.name[1:])
        parts += [f"---- {cls}: program {index} of seed {report.seed}",
                  finding.detail, *program.source(),
                  "ARGS = [" + ", ".join(fuzz.arg_source(v)
                                         for v in program.inputs) + "]",
                  f"minimise: python tools/fuzz.py --seed {report.seed} "
                  f"--start {index} --programs 1 --keep DIR", ""]
    return "\n".join(parts)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_programs_agree_with_python(seed, effects_counted):
    report = fuzz.fuzz(PROGRAMS, seed, jobs=JOBS)
    assert report.programs == PROGRAMS
    assert not report.findings, _message(report)


def test_the_generator_is_deterministic_and_programs_compile():
    for k in range(200):
        a, b = fuzz.generate(9, k), fuzz.generate(9, k)
        assert a.source() == b.source()
        compile("\n".join(a.source()), f"program {k}", "exec")


def test_a_known_finding_is_caught_and_minimised(tmp_path):
    """The checker itself: a program whose gradient is wrong on purpose
    (a custom rule that doubles it) is found and cut down to the line that
    matters."""
    program = fuzz.Program(
        "p0", [("x0", fuzz.FLOAT), ("a1", fuzz.arr((3,)))],
        [0.3, fuzz.np.array([0.5, -1.0, 2.0])],
        [fuzz.Line("s0 = np.sin(x0) * 2.0"),
         fuzz.Line("e1 = a1 * s0"),
         fuzz.Line("s2 = s0 + 1.0"),
         fuzz.Line("s0 = twice(s0)")],
        ["s0", "np.sum(e1)"],
        [("helper", "twice", [
            "import s2sad",
            "@s2sad.custom_vjp",
            "def twice(v):",
            "    return 2.0 * v",
            "twice.defvjp(lambda v: (2.0 * v, None),",
            "             lambda res, g: (4.0 * g,))"])],
        {"helpers"}, "scalar")
    modules = fuzz.Modules(str(tmp_path))
    outcome, _ = fuzz.run_program(modules, program)
    assert isinstance(outcome, fuzz.Finding), outcome
    assert outcome.cls == "wrong derivative [value_and_grad]"
    small = fuzz.minimise(modules, program, outcome.cls)
    assert [line.text for line in small.body] == [
        "s0 = np.sin(x0) * 2.0", "s0 = twice(s0)"]
    assert small.returns == ["s0"] and small.params == [("x0", fuzz.FLOAT)]

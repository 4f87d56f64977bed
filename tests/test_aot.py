"""Ahead-of-time modules: `s2sad FILE -o OUT [--standalone]`.

Each module the command line writes is imported in a fresh Python process
(for --standalone, one where `import s2sad` fails), its functions are called
on fixed inputs there, and the results must equal, exactly, those of
`s2sad.grad` (reverse mode) or of the generated JVP function (forward mode)
in this process: the programs in examples/ and those whose code
tests/golden/ holds, with the options the golden files use, and programs
whose names would clash, with closures, rules of the user's and calls
dispatched at run time. Also: globals are read when the code runs, the
committed example module is what the command line writes now, and OUT is
refused over FILE or a file s2sad did not write, unless --force.

    PYTHONPATH=. python -m pytest -q tests/test_aot.py
"""

import importlib.util
import os
import pathlib
import pickle
import shlex
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import s2sad
from s2sad import aot, api, cli

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
_RNG = np.random.default_rng(0)


def _random(*shape):
    return _RNG.standard_normal(shape)


def _model_params():
    return {"layers": [(_random(4, 3) * 0.5, _random(4)),
                       (_random(2, 4) * 0.5, _random(2))], "scale": 1.5}


# the inputs each function is called with: a list of argument tuples
INPUTS = {
    "seeds": {
        "f": [(3.0, 4.0), (np.array(3.0), 4.0)],
        "g": [(2.0, 5.0), (np.array(2.0), np.array(5.0))],
        "logistic": [(1.5,), (np.array(1.5),)],
        "logistic_map4": [(0.3,), (np.array(0.3),)],
        "two_xtx": [(np.arange(4.0),)],
        "dot_loss": [(np.array([0.1, 0.2, 0.3]), np.array([1.0, -1.0, 2.0]),
                      1.0)],
        "linreg": [(np.array([0.1, 0.2]), np.arange(6.0).reshape(3, 2),
                    np.array([1.0, 0.0, -1.0]))],
    },
    "model": {
        "layer": [(_random(4, 3), _random(4), _random(3))],
        "loss": [(_model_params(), np.array([0.5, -1.0, 2.0]),
                  np.array([0.3, -0.2]))],
    },
    "models": {
        "logistic_map": [(0.3, 5), (np.array(0.3), 4)],
        "loop_branch": [(0.7, 6)],
        "rnn": [(_random(3), _random(3, 3) * 0.5, _random(2, 3),
                 _random(4, 2))],
        "mlp": [(_random(3, 4), _random(4, 2), _random(5, 3),
                 _random(5, 2))],
        "classifier": [(_random(3, 4), _random(4), _random(4, 2), _random(2),
                        _random(5, 3), np.eye(2)[[0, 1, 1, 0, 1]])],
        "logistic_regression": [(_random(3), _random(5, 3),
                                 np.array([0.0, 1.0, 1.0, 0.0, 1.0]))],
    },
}
# the functions of examples/models.py and their argnums (the golden files')
MODELS_ARGNUMS = {"logistic_map": 0, "loop_branch": 0, "rnn": (1, 2),
                  "mlp": (0, 1), "classifier": (0, 1, 2, 3),
                  "logistic_regression": 0}
SEEDS_ALL = list(INPUTS["seeds"])

# the child process: import the modules, call, pickle what they return
_CHILD = textwrap.dedent('''\
    import importlib
    import pickle
    import sys

    class Blocked:
        """Refuse every import of s2sad."""
        def find_spec(self, name, path=None, target=None):
            if name == "s2sad" or name.startswith("s2sad."):
                raise ImportError("s2sad is not installed here")

    directory, calls_file, results_file, block = sys.argv[1:]
    if block == "block":
        sys.meta_path.insert(0, Blocked())
        try:
            import s2sad  # noqa: F401
        except ImportError:
            pass
        else:
            sys.exit("s2sad can be imported")
    sys.path.insert(0, directory)
    with open(calls_file, "rb") as file:
        calls = pickle.load(file)
    results = []
    for module, name, args, kwargs in calls:
        try:
            results.append(("value", getattr(
                importlib.import_module(module), name)(*args, **kwargs)))
        except Exception as exc:
            results.append(("raised", f"{type(exc).__name__}: {exc}"))
    if block == "block":
        loaded = [m for m in sys.modules if m.split(".")[0] == "s2sad"]
        assert not loaded, loaded
    with open(results_file, "wb") as file:
        pickle.dump(results, file)
''')


def _run_modules(directory, calls, standalone):
    """Call, in a fresh process, `module.name(*args)` for each of `calls`
    (modules in `directory`); with `standalone`, s2sad is not importable
    there. Returns what each returned, as ("value", v) or ("raised",
    message)."""
    calls_file = directory / "calls.pickle"
    results_file = directory / "results.pickle"
    calls_file.write_bytes(pickle.dumps(calls))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if not standalone:
        env["PYTHONPATH"] = str(ROOT)
    ran = subprocess.run(
        [sys.executable, "-c", _CHILD, str(directory), str(calls_file),
         str(results_file), "block" if standalone else "allow"],
        capture_output=True, text=True, env=env, cwd=directory)
    assert ran.returncode == 0, ran.stderr
    return pickle.loads(results_file.read_bytes())


def _assert_same(got, expected, where):
    """The same values, of the same types, in the same structure."""
    assert type(got) is type(expected), (where, got, expected)
    if isinstance(expected, dict):
        assert got.keys() == expected.keys(), where
        for key in expected:
            _assert_same(got[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), where
        for k, (a, b) in enumerate(zip(got, expected)):
            _assert_same(a, b, f"{where}[{k}]")
    else:
        assert np.shape(got) == np.shape(expected), where
        assert np.array_equal(got, expected, equal_nan=True), \
            (where, got, expected)
        assert np.result_type(got) == np.result_type(expected), where


def _cli_argnums(module, name):
    """The argnums the command line differentiates the function `name` of
    `module` with when no --argnums is given."""
    table = getattr(module, "ARGNUMS", {})
    if name in table:
        return table[name]
    return cli.default_argnums(getattr(module, name))


def _load(path):
    """The user's file as the command line imports it."""
    return cli._import_file(str(path))


def _tangents(args, argnums):
    positions = (argnums,) if isinstance(argnums, int) else argnums
    return tuple(_like_tangent(args[i]) for i in positions)


def _like_tangent(x):
    if isinstance(x, float):
        return 0.5
    if isinstance(x, dict):
        return {k: _like_tangent(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_like_tangent(v) for v in x)
    return np.full(np.shape(x), 0.5)


def _expected(func, mode, argnums, optimize, args):
    """What s2sad gives in this process."""
    if mode == "reverse":
        return s2sad.grad(func, argnums, optimize=optimize)(*args)
    jvp = api.generated_function(func, "forward", argnums, optimize)
    return jvp(*args, **_arguments(func, mode, argnums, optimize, args)[1])


def _arguments(func, mode, argnums, optimize, args):
    """(args, keyword arguments) of the generated function: in forward
    mode, the tangents by name (after defaults, they are keyword-only)."""
    if mode == "reverse":
        return args, {}
    names = api.generated_function(func, "forward", argnums,
                                   optimize).tangent_names
    return args, dict(zip(names, _tangents(args, argnums)))


class _Case:
    """A module written by the command line, and the calls to check."""

    def __init__(self, source, names, mode="reverse", argnums=None,
                 optimize=True):
        self.source, self.names = source, names
        self.mode, self.argnums, self.optimize = mode, argnums, optimize

    def options(self):
        found = ["--mode", self.mode]
        if self.argnums is not None:
            found += ["--argnums", ",".join(
                map(str, np.atleast_1d(self.argnums)))]
        if not self.optimize:
            found.append("--no-optimize")
        return found

    def prefix(self):
        return "jvp_" if self.mode == "forward" else "grad_"


# every program in examples/ and the golden files' programs and options
CASES = {
    "seeds": _Case("seeds", SEEDS_ALL),
    "seeds_forward": _Case("seeds", SEEDS_ALL, mode="forward"),
    "seeds_unoptimised": _Case("seeds", SEEDS_ALL, optimize=False),
    "model_loss": _Case("model", ["loss"], argnums=0),
    "model": _Case("model", ["loss"]),
    "model_forward": _Case("model", ["layer", "loss"], mode="forward",
                           argnums=(0, 1, 2)),
    **{f"models_{name}": _Case("models", [name], argnums=argnums)
       for name, argnums in MODELS_ARGNUMS.items()},
    **{f"models_{name}_forward": _Case("models", [name], mode="forward",
                                       argnums=argnums)
       for name, argnums in MODELS_ARGNUMS.items()},
    "models_all": _Case("models", list(INPUTS["models"])),
}
# what --standalone cannot write: model.py calls a function passed as an
# argument (layer's `activation`), whose derivative s2sad makes at run time
NOT_STANDALONE = {"model_loss", "model", "model_forward"}


def _sources(directory, standalone):
    """Copies of the example files in `directory`; for --standalone,
    seeds.py without its `import s2sad` and its main block (which use s2sad,
    as the generated code does not)."""
    for stem in INPUTS:
        text = (EXAMPLES / f"{stem}.py").read_text()
        if standalone and stem == "seeds":
            text = text.replace("import s2sad\n", "")
            text = text[:text.index('if __name__ == "__main__":')]
            assert "s2sad." not in text
        (directory / f"{stem}.py").write_text(text)


def _check(tmp_path, standalone):
    _sources(tmp_path, standalone)
    calls, expected = [], []
    for label, case in CASES.items():
        if standalone and label in NOT_STANDALONE:
            continue
        out = f"{label}_grads.py"
        options = case.options() + (["--standalone"] if standalone else [])
        status = cli.main([str(tmp_path / f"{case.source}.py"), *case.names,
                           *options, "-o", str(tmp_path / out)])
        assert status == 0, label
        module = _load(tmp_path / f"{case.source}.py")
        for name in case.names:
            func = getattr(module, name)
            argnums = case.argnums
            if argnums is None:
                argnums = _cli_argnums(module, name)
            for args in INPUTS[case.source][name]:
                if case.mode == "reverse" and name == "layer":
                    continue  # a vector output
                calls.append((out[:-3], case.prefix() + name, *_arguments(
                    func, case.mode, argnums, case.optimize, args)))
                expected.append(_expected(func, case.mode, argnums,
                                          case.optimize, args))
    results = _run_modules(tmp_path, calls, standalone)
    assert len(results) == len(calls)
    for (module, name, _, _), (kind, got), want in zip(calls, results,
                                                       expected):
        assert kind == "value", (module, name, got)
        _assert_same(got, want, f"{module}.{name}")


def test_modules_give_what_s2sad_gives(tmp_path):
    _check(tmp_path, standalone=False)


def test_standalone_modules_run_without_s2sad(tmp_path):
    _check(tmp_path, standalone=True)


@pytest.mark.parametrize("standalone", [False, True])
@pytest.mark.parametrize("corpus", ["corpus", "loop_corpus"])
def test_the_corpora_give_what_s2sad_gives(corpus, standalone, tmp_path):
    """Every case of tests/corpus.py and tests/loop_corpus.py (straight-line
    code, branches, loops, containers), in both modes."""
    shutil.copy(ROOT / "tests" / f"{corpus}.py", tmp_path / f"{corpus}.py")
    module = _load(tmp_path / f"{corpus}.py")
    calls, expected = [], []
    for label, (func, args, argnums) in module.CASES.items():
        for mode in ("reverse", "forward"):
            out = f"{label}_{mode}.py"
            text, failures = aot.module_source(
                [func], module, tmp_path / out, mode=mode,
                argnums=lambda _: argnums, standalone=standalone)
            assert not failures, failures
            (tmp_path / out).write_text(text)
            prefix = "jvp_" if mode == "forward" else "grad_"
            calls.append((out[:-3], prefix + func.__name__, *_arguments(
                func, mode, argnums, True, args)))
            expected.append(_expected(func, mode, argnums, True, args))
    results = _run_modules(tmp_path, calls, standalone)
    for (module_name, _, _, _), (kind, got), want in zip(calls, results,
                                                         expected):
        assert kind == "value", (module_name, got)
        _assert_same(got, want, module_name)


def test_the_brief_example_imports(tmp_path):
    """`grad_f(np.array(3.0), 4.0)` from a written module, in a fresh
    process."""
    shutil.copy(EXAMPLES / "seeds.py", tmp_path / "seeds.py")
    assert cli.main([str(tmp_path / "seeds.py"), "f", "-o",
                     str(tmp_path / "grads.py")]) == 0
    script = ("import numpy as np, grads\n"
              "print(grads.grad_f(np.array(3.0), 4.0), grads.__all__)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ran = subprocess.run([sys.executable, "-c", script], cwd=tmp_path,
                         capture_output=True, text=True, env=env)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "(array(24.), 10.0) ['grad_f']\n"


def test_standalone_refuses_code_that_needs_s2sad_at_run_time(tmp_path,
                                                               capsys):
    shutil.copy(EXAMPLES / "model.py", tmp_path / "model.py")
    out = tmp_path / "grads.py"
    status = cli.main([str(tmp_path / "model.py"), "layer", "loss",
                       "--standalone", "-o", str(out)])
    assert status == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    for line, name in zip(lines, ("layer", "loss")):
        assert line.startswith(f"{tmp_path / 'model.py'}:")
        assert f"{name} cannot be written into a module" in line
        assert "s2sad.calls" in line
    assert not out.exists()


def test_module_imports_the_user_module_by_name(tmp_path):
    shutil.copy(EXAMPLES / "model.py", tmp_path / "model.py")
    out = tmp_path / "sub" / "grads.py"
    out.parent.mkdir()
    assert cli.main([str(tmp_path / "model.py"), "loss", "--module",
                     "model", "-o", str(out)]) == 0
    assert "_user = _load_module('model')" in out.read_text()
    script = ("import numpy as np, model, grads\n"
              "params = model.init()\n"
              "g = grads.grad_loss(params, np.ones(3), np.zeros(2))\n"
              "print(grads._user is model, g[0]['scale'])\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), str(tmp_path), str(out.parent)])}
    ran = subprocess.run([sys.executable, "-c", script], cwd=tmp_path,
                         capture_output=True, text=True, env=env)
    assert ran.returncode == 0, ran.stderr
    module = cli._import_file(str(tmp_path / "model.py"))
    expected = s2sad.grad(module.loss, (0, 1, 2))(
        module.init(), np.ones(3), np.zeros(2))[0]["scale"]
    assert ran.stdout == f"True {expected!r}\n"


def test_written_module_names_its_origin_and_versions(tmp_path):
    shutil.copy(EXAMPLES / "seeds.py", tmp_path / "seeds.py")
    out = tmp_path / "grads.py"
    assert cli.main([str(tmp_path / "seeds.py"), "f", "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == aot.MARKER
    assert lines[1] == f"# From: {tmp_path / 'seeds.py'}"
    assert lines[2].startswith("# Command: s2sad ")
    assert lines[3].startswith("# Generated: ")
    for version in (s2sad.__version__, np.__version__,
                    ".".join(map(str, sys.version_info[:3]))):
        assert version in lines[3]
    text = out.read_text()
    assert "snapshot" in text
    assert "fresh" not in text and "_s2sad_" not in text


# names ------------------------------------------------------------------

_HELPERS = """\
import numpy as np

SCALE = 2.0


def h(a, b):
    return SCALE * a * b + np.sin(a)
"""

# globals named as s2sad's own names (`runtime`, `errors`), as another
# module's (`SCALE`); builtins (`sum`, `float`); a callee differentiated
# twice (both of h's arguments, one at a time: two vjp_h); a rule's
# constant (math.erf's) and helper (np.max's ties)
_CLASHES = """\
import math

import numpy as np

from helpers import h

SCALE = 5.0
runtime = 3.0
errors = 0.5


def f(x, y):
    return h(x, 2.0) + h(3.0, y) * SCALE + runtime * errors


def g(x):
    return math.erf(x) * 2.0 + np.max(np.array([x, 2 * x, 2 * x]))


def k(x):
    total = 0.0
    for v in [x, x * 2]:
        total = total + sum([v, v]) + float(v)
    return total
"""


def test_names_that_would_clash(tmp_path):
    (tmp_path / "helpers.py").write_text(_HELPERS)
    (tmp_path / "prog.py").write_text(_CLASHES)
    module = _load(tmp_path / "prog.py")
    inputs = {"f": [(0.3, 0.7), (np.array(0.3), 0.7)], "g": [(0.3,)],
              "k": [(0.3,), (np.array(0.3),)]}
    for standalone in (False, True):
        out = "standalone.py" if standalone else "grads.py"
        assert cli.main([str(tmp_path / "prog.py"), "-o",
                         str(tmp_path / out)]
                        + ["--standalone"] * standalone) == 0
        text = (tmp_path / out).read_text()
        # the globals are read when the code runs
        assert "_t3 = _t2 * _user.SCALE" in text
        assert " + _user.runtime * _user.errors" in text
        assert "\nimport helpers\n" in text and " helpers.SCALE * a" in text
        assert "def vjp_h(" in text and "def vjp_h_2(" in text
        assert "TWO_OVER_SQRT_PI = " in text
        calls, expected = [], []
        for name, cases in inputs.items():
            func = getattr(module, name)
            argnums = _cli_argnums(module, name)
            for args in cases:
                calls.append((out[:-3], f"grad_{name}", args, {}))
                expected.append(s2sad.grad(func, argnums)(*args))
        results = _run_modules(tmp_path, calls, standalone)
        for (_, name, _, _), (kind, got), want in zip(calls, results,
                                                      expected):
            assert kind == "value", (name, got)
            _assert_same(got, want, name)


# a rule of the user's, a custom_vjp, recursion and a lambda: the last
# three dispatched when the code runs (through s2sad.calls)
_DISPATCHED = """\
import numpy as np

import s2sad


def softplus(x):
    return np.log1p(np.exp(x))


@s2sad.adjoint(softplus)
def _softplus_adjoint(result, x):
    d[x] = d[result] / (1.0 + np.exp(-x))


@s2sad.custom_vjp
def cube(x):
    return x ** 3


def cube_fwd(x):
    return x ** 3, x


def cube_bwd(x, g):
    return (3.0 * x ** 2 * g,)


cube.defvjp(cube_fwd, cube_bwd)


def loss(x):
    return np.sum(softplus(x) * 2.0) + np.sum(cube(x))


def recursive(x, n):
    if n == 0:
        return x
    return recursive(x * 1.5, n - 1) + x


def with_lambda(x):
    f = lambda v: v * v
    return f(x) + x
"""


def test_globals_are_read_when_the_code_runs(tmp_path):
    """As in a running program: the module reads the user's module's
    globals when its functions run, and is the module `import` gives."""
    (tmp_path / "helpers.py").write_text(_HELPERS)
    (tmp_path / "prog.py").write_text(_CLASHES)
    assert cli.main([str(tmp_path / "prog.py"), "f", "-o",
                     str(tmp_path / "grads.py")]) == 0
    script = textwrap.dedent("""\
        import grads
        import prog, helpers
        before = grads.grad_f(0.3, 0.7)
        prog.SCALE, prog.errors, helpers.SCALE = 7.0, 1.0, 3.0
        print(grads._user is prog, before, grads.grad_f(0.3, 0.7))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT),
                                                        str(tmp_path)])}
    ran = subprocess.run([sys.executable, "-c", script], cwd=tmp_path,
                         capture_output=True, text=True, env=env)
    assert ran.returncode == 0, ran.stderr
    module = _load(tmp_path / "prog.py")
    before = s2sad.grad(module.f, (0, 1))(0.3, 0.7)
    module.SCALE, module.errors, module.h.__globals__["SCALE"] = 7.0, 1.0, 3.0
    after = s2sad.grad(module.f, (0, 1))(0.3, 0.7)
    assert before != after
    assert ran.stdout == f"True {before} {after}\n"


def test_rules_and_calls_dispatched_at_run_time(tmp_path, capsys):
    (tmp_path / "prog.py").write_text(_DISPATCHED)
    names = ["softplus", "loss", "recursive", "with_lambda"]
    assert cli.main([str(tmp_path / "prog.py"), *names, "-o",
                     str(tmp_path / "grads.py")]) == 0
    module = _load(tmp_path / "prog.py")
    x = np.array([0.3, -0.5])
    inputs = {"softplus": (0.3,), "loss": (x,), "recursive": (0.3, 3),
              "with_lambda": (0.3,)}
    calls = [("grads", f"grad_{name}", inputs[name], {}) for name in names]
    results = _run_modules(tmp_path, calls, standalone=False)
    for name, (kind, got) in zip(names, results):
        func = getattr(module, name)
        assert kind == "value", (name, got)
        # (recursive's n is an int: its gradient is a float zero)
        _assert_same(got, s2sad.grad(func, _cli_argnums(module, name),
                                     allow_int=True)(*inputs[name]), name)
    # only softplus's code (its rule) runs without s2sad
    assert cli.main([str(tmp_path / "prog.py"), *names, "--standalone",
                     "-o", str(tmp_path / "standalone.py")]) == 1
    refused = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[1].split()[0] for line in refused] == \
        names[1:]
    assert "'grad_softplus'" in (tmp_path / "standalone.py").read_text()


def test_a_global_named_as_the_generated_function(tmp_path):
    """The code reads the user's `grad_f`, not itself. (In a running
    program, s2sad.grad(f) fails there: NameError, cannot access free
    variable 'grad_f'.)"""
    (tmp_path / "prog.py").write_text(
        "grad_f = 1.5\n\n\ndef f(x):\n    return x * grad_f\n")
    assert cli.main([str(tmp_path / "prog.py"), "-o",
                     str(tmp_path / "grads.py")]) == 0
    assert "x_bar = _t1_bar * _user.grad_f" in \
        (tmp_path / "grads.py").read_text()
    results = _run_modules(tmp_path, [("grads", "grad_f", (2.0,), {}),
                                      ("grads", "grad_f", (np.array(2.0),),
                                       {})], standalone=False)
    assert results[0] == ("value", 1.5)
    assert results[1][0] == "value" and np.shape(results[1][1]) == ()
    assert results[1][1] == 1.5


_CLOSURES = """\
import numpy as np

import s2sad


def make(c):
    def inner(x):
        return c * x
    return inner


def make_with_array(w):
    def inner(x):
        return np.sum(w * x)
    return inner


scaled = make(3.0)
weighted = make_with_array(np.array([1.0, 2.0]))
df = s2sad.grad(np.sin)


def outer(x):
    return scaled(x) + x


def second_order(x):
    return df(x) * 3.0 + x


def plain(x):
    return x * x


def uses_array(x):
    return weighted(x) + x
"""


def test_closure_variables_hold_their_values_now(tmp_path, capsys):
    """A closure variable the code reads (the user's, or one of the
    generated code a derivative of a derivative reads) is bound to the
    value it holds when the module is written; one that no module can
    name (an array) is refused."""
    (tmp_path / "closure.py").write_text(_CLOSURES)
    out = tmp_path / "grads.py"
    names = ["outer", "second_order", "plain", "uses_array"]
    assert cli.main([str(tmp_path / "closure.py"), *names, "-o",
                     str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path / 'closure.py'}:35: uses_array "
                          "cannot be written into a module: `w` is "
                          "ndarray array([1., 2.]), which a module cannot "
                          "name")
    assert len(err.splitlines()) == 1
    text = out.read_text()
    assert "\nc = 3.0\n" in text and "def grad_uses_array(" not in text
    module = _load(tmp_path / "closure.py")
    calls = [("grads", f"grad_{name}", (0.7,), {}) for name in names[:3]]
    results = _run_modules(tmp_path, calls, standalone=False)
    for name, (kind, got) in zip(names, results):
        assert kind == "value", (name, got)
        _assert_same(got, s2sad.grad(getattr(module, name))(0.7), name)


def test_defaults_are_written_as_the_values_the_function_holds(
        tmp_path):
    (tmp_path / "prog.py").write_text(textwrap.dedent("""\
        SCALE = 2.0


        def make(k, name):
            def inner(x, s=k, label=name, *, power=2):
                return s * x ** power
            return inner


        scaled = make(3.0, "three")


        def outer(x, factor=SCALE):
            return scaled(x) + x * factor
    """))
    assert cli.main([str(tmp_path / "prog.py"), "outer", "-o",
                     str(tmp_path / "grads.py")]) == 0
    text = (tmp_path / "grads.py").read_text()
    assert "def grad_outer(x, factor=2.0):" in text
    assert "def vjp_inner(x, s=3.0, label='three', *, power=2):" in text
    results = _run_modules(tmp_path, [("grads", "grad_outer", (0.7,), {})],
                           standalone=False)
    module = _load(tmp_path / "prog.py")
    assert results == [("value", s2sad.grad(module.outer, (0, 1))(0.7))]


def test_defaults_are_not_evaluated_again(tmp_path):
    """`sigma=SIGMA` holds 1.0 even after SIGMA is rebound; a default
    that is an array made by an expression (drawn from a generator) is
    refused rather than drawn again when the module is imported."""
    (tmp_path / "prog.py").write_text(textwrap.dedent("""\
        import numpy as np

        rng = np.random.default_rng(42)
        SIGMA = 1.0


        def nll(x, sigma=SIGMA):
            return np.sum(x ** 2) / (2.0 * sigma ** 2)


        def proj(x, w=rng.normal(size=3)):
            return np.sum(np.sin(x) * w)


        SIGMA = 2.0
    """))
    assert cli.main([str(tmp_path / "prog.py"), "nll", "--argnums", "0",
                     "-o", str(tmp_path / "grads.py")]) == 0
    x = np.array([0.3, -1.0, 2.0])
    results = _run_modules(tmp_path, [("grads", "grad_nll", (x,), {})],
                           standalone=False)
    np.testing.assert_array_equal(results[0][1], x)
    done = _cli(tmp_path / "prog.py", "proj", "-o", tmp_path / "p.py",
                cwd=tmp_path)
    assert done.returncode == 1
    assert "prog.py:11:" in done.stderr and "default value of `w`" in \
        done.stderr


def test_locals_named_as_builtins_do_not_hide_them(tmp_path):
    (tmp_path / "prog.py").write_text(textwrap.dedent("""\
        import numpy as np


        def cumulative(x, reversed=False):
            acc = 0.0
            for i in range(4):
                acc = acc + np.sin(x * i)
            if reversed:
                acc = -acc
            return acc


        def whiles(x, range=5.0):
            while x < range:
                x = x * 1.3
            return x


        def window(xs, len=2):
            slice = xs[:len]
            total = 0.0
            for v in slice:
                total = total + v * v
            return total
    """))
    xs = np.array([1.0, 2.0, 3.0])
    calls = [("grads", "grad_cumulative", (0.7, True), {}),
             ("grads", "grad_whiles", (0.9,), {}),
             ("grads", "grad_window", (xs,), {})]
    module = _load(tmp_path / "prog.py")
    # by default, the command line leaves out int and bool defaults
    expected = [s2sad.grad(module.cumulative, 0)(0.7, True),
                s2sad.grad(module.whiles, (0, 1))(0.9),
                s2sad.grad(module.window, 0)(xs)]
    for mode in ("reverse", "forward"):
        for standalone in (False, True):
            out = tmp_path / "grads.py"
            assert cli.main([str(tmp_path / "prog.py"), "--mode", mode,
                             "-o", str(out), "--force"]
                            + ["--standalone"] * standalone) == 0
            if mode == "reverse":
                results = _run_modules(tmp_path, calls, standalone)
                for (kind, got), want in zip(results, expected):
                    assert kind == "value"
                    _assert_same(got, want, "builtins")
            else:
                results = _run_modules(tmp_path, [
                    ("grads", "jvp_whiles", (0.9, 5.0),
                     {"x_dot": 1.0, "range_dot": 0.0})],
                    standalone)
                _assert_same(results[0][1], s2sad.jvp(
                    module.whiles, (0.9, 5.0), (1.0, 0.0)), "builtins")


def test_super_without_arguments_is_refused(tmp_path):
    (tmp_path / "prog.py").write_text(textwrap.dedent("""\
        class Base:
            def act(self, x):
                return x * x


        class Child(Base):
            def act(self, x):
                return 2.0 * super().act(x)


        CHILD = Child()


        def model(x):
            return CHILD.act(x)
    """))
    done = _cli(tmp_path / "prog.py", "model", "-o", tmp_path / "g.py",
                cwd=tmp_path)
    assert done.returncode == 1
    assert "super(ClassName, self)" in done.stderr


def test_standalone_modules_are_the_same_whatever_the_hash_seed(tmp_path):
    texts = set()
    for seed in ("1", "2", "3"):
        out = tmp_path / f"g{seed}.py"
        done = subprocess.run(
            [sys.executable, "-m", "s2sad", str(EXAMPLES / "seeds.py"),
             "--standalone", "-o", str(out)],
            capture_output=True, text=True, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT),
                 "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stderr
        texts.add("".join(line for line in out.read_text().splitlines(True)
                          if not line.startswith(("# Generated:",
                                                  "# Command:"))))
    assert len(texts) == 1


def test_a_file_name_cannot_write_code_into_the_header(tmp_path):
    name = 'a\nprint("INJECTED")\n#""".py'
    (tmp_path / name).write_text("def f(x):\n    return x * x\n")
    done = _cli(name, "-o", "out.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    ran = subprocess.run([sys.executable, "-c",
                          "import out; print(out.grad_f(3.0))"],
                         capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert ran.stdout == "6.0\n", ran.stderr


# refusing to overwrite ------------------------------------------------------

def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "s2sad", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_writing_over_the_input_file_is_refused(tmp_path):
    source = tmp_path / "model.py"
    shutil.copy(EXAMPLES / "seeds.py", source)
    before = source.read_text()
    ran = _cli(source, "-o", source, cwd=tmp_path)
    assert ran.returncode == 2
    assert len(ran.stderr.splitlines()) == 1
    assert "refusing to write over the input file" in ran.stderr
    assert "--force" in ran.stderr
    assert source.read_text() == before
    ran = _cli("model.py", "-o", "./model.py", cwd=tmp_path)
    assert ran.returncode == 2 and source.read_text() == before


def test_writing_over_a_file_s2sad_did_not_write_is_refused(tmp_path):
    shutil.copy(EXAMPLES / "seeds.py", tmp_path / "seeds.py")
    other = tmp_path / "notes.py"
    other.write_text("# mine\nx = 1\n")
    for stage in ("grad", "ssa"):
        ran = _cli("seeds.py", "--stage", stage, "-o", other, cwd=tmp_path)
        assert ran.returncode == 2
        assert len(ran.stderr.splitlines()) == 1
        assert "which s2sad did not write" in ran.stderr
        assert other.read_text() == "# mine\nx = 1\n"


def test_a_previous_output_is_written_over(tmp_path):
    shutil.copy(EXAMPLES / "seeds.py", tmp_path / "seeds.py")
    for options in (["f"], ["g"], ["g", "--stage", "ssa"], ["f"]):
        ran = _cli("seeds.py", *options, "-o", "out.py", cwd=tmp_path)
        assert ran.returncode == 0, ran.stderr
        text = (tmp_path / "out.py").read_text()
        assert text.startswith(aot.MARKER + "\n")
        assert aot.is_output(tmp_path / "out.py")
    assert "def grad_f(" in text and "def grad_g(" not in text


def test_force_writes_over_the_input_and_other_files(tmp_path):
    source = tmp_path / "seeds.py"
    shutil.copy(EXAMPLES / "seeds.py", source)
    other = tmp_path / "notes.py"
    other.write_text("x = 1\n")
    ran = _cli(source, "f", "-o", other, "--force", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "def grad_f(" in other.read_text()
    ran = _cli(source, "f", "-o", source, "--force", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert source.read_text().startswith(aot.MARKER)


def test_standalone_and_module_need_an_output(tmp_path):
    for option in (["--standalone"], ["--module", "seeds"]):
        ran = _cli(EXAMPLES / "seeds.py", *option, cwd=tmp_path)
        assert ran.returncode == 2
        assert "-o OUT" in ran.stderr


# the committed example -------------------------------------------------------

EXAMPLE = EXAMPLES / "model_grads.py"


def test_the_committed_example_module_is_up_to_date(tmp_path):
    """The example module is what its `# Command:` line writes now (the
    `# Generated:` line, the time and versions, aside)."""
    committed = EXAMPLE.read_text()
    command = next(line for line in committed.splitlines()
                   if line.startswith("# Command: "))
    argv = shlex.split(command)[3:]  # after `# Command: s2sad`
    (tmp_path / "examples").mkdir()
    for name in os.listdir(EXAMPLES):
        if name.endswith(".py") and name != EXAMPLE.name:
            shutil.copy(EXAMPLES / name, tmp_path / "examples" / name)
    ran = _cli(*argv, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    written = (tmp_path / "examples" / EXAMPLE.name).read_text()

    def stable(text):
        return [line for line in text.splitlines()
                if not line.startswith("# Generated: ")]
    assert stable(written) == stable(committed), (
        "examples/model_grads.py is out of date; write it again with "
        f"`{command[len('# Command: '):]}` from the repository's root")


def test_the_committed_example_module_runs(tmp_path):
    script = textwrap.dedent('''\
        import numpy as np
        import model, model_grads
        params = model.init()
        x, y = np.array([0.5, -1.0, 2.0]), np.array([0.3, -0.2])
        print(repr(model_grads.grad_loss(params, x, y)["scale"]))
    ''')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), str(EXAMPLES)])}
    ran = subprocess.run([sys.executable, "-c", script], cwd=tmp_path,
                         capture_output=True, text=True, env=env)
    assert ran.returncode == 0, ran.stderr
    module = cli._import_file(str(EXAMPLES / "model.py"))
    expected = s2sad.grad(module.loss)(
        module.init(), np.array([0.5, -1.0, 2.0]),
        np.array([0.3, -0.2]))["scale"]
    assert ran.stdout == f"{expected!r}\n"


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.py")
                                        if not aot.is_output(p)))
def test_every_example_program_is_checked(name):
    assert name[:-3] in INPUTS


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
def test_an_output_directory_reached_through_a_link(tmp_path):
    (tmp_path / "far" / "deep").mkdir(parents=True)
    (tmp_path / "far" / "prog.py").write_text(
        "def f(x):\n    return x * x * x\n")
    (tmp_path / "link").symlink_to(tmp_path / "far" / "deep")
    assert cli.main([str(tmp_path / "far" / "prog.py"), "-o",
                     str(tmp_path / "link" / "grads.py")]) == 0
    for directory in (tmp_path / "link", tmp_path / "far" / "deep"):
        ran = subprocess.run(
            [sys.executable, "-c", "import grads; print(grads.grad_f(2.0))"],
            capture_output=True, text=True, cwd=directory,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert ran.stdout == "12.0\n", ran.stderr


# errors raised in a written module's code ------------------------------

_SIM = '''\
import math

import numpy as np

import s2sad

DT = 0.1


def energy(x):
    return 0.5 * x ** 2 + math.log(x)


def step(x, n):
    s = 0.0
    for i in range(n):
        s = s + x[i] ** 2
    return s


def force(x):
    return s2sad.grad(energy)(x) * DT


def total(x):
    y = np.sqrt(x)
    return y * 2.0
'''

_CALLER = '''\
import sys
import traceback
import warnings

import numpy as np

sys.path.insert(0, {out!r})
import {module} as written

warnings.simplefilter("always")
for name, args in [("step", (np.array([1.0, 2.0]), 3)), ("force", (-1.0,)),
                   ("energy", (0.0,)), ("total", (np.array([1.0, 2.0]),))]:
    if {forward}:
        args += (np.ones(2) if name == "step" else 1.0,)
    try:
        getattr(written, {prefix!r} + name)(*args)
    except Exception as exc:
        print("".join(traceback.format_exception_only(type(exc), exc)))
    else:
        print("no error\\n")
print(getattr(written, {prefix!r} + "total")(-1.0, *[1.0][:{forward}]))
'''


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_errors_in_a_written_module_name_the_users_line(tmp_path, mode,
                                                        monkeypatch):
    """An exception raised in a written module's code (in the user's
    function, in a helper it calls, in a derivative it takes) carries a
    note naming the user's file, line and source text, and a warning one
    naming the user's line, as in a running program: the module was
    written from the user's directory into another, and runs from a
    third."""
    for name in ("src", "out", "run"):
        (tmp_path / name).mkdir()
    (tmp_path / "src" / "sim.py").write_text(_SIM)
    monkeypatch.chdir(tmp_path / "src")
    module = "grads" if mode == "reverse" else "jvps"
    assert cli.main(["sim.py", "--mode", mode, "--argnums", "step=0", "-o",
                     f"../out/{module}.py"]) == 0
    forward = mode == "forward"
    script = _CALLER.format(out=str(tmp_path / "out"), module=module,
                            forward=forward,
                            prefix="jvp_" if forward else "grad_")
    ran = subprocess.run([sys.executable, "-c", script],
                         capture_output=True, text=True, cwd=tmp_path / "run",
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert ran.returncode == 0, ran.stderr
    sim = tmp_path / "src" / "sim.py"
    noted = "in code s2sad generated from:\n"
    step, force, energy, total, value = ran.stdout.split("\n\n")
    assert step == ("IndexError: index 2 is out of bounds for axis 0 with "
                    f"size 2\n{noted}  {sim}:17: s = s + x[i] ** 2")
    assert force == (f"ValueError: math domain error\n{noted}"
                     f"  {sim}:22: return s2sad.grad(energy)(x) * DT\n"
                     f"  {sim}:11: return 0.5 * x ** 2 + math.log(x)")
    assert energy == (f"ValueError: math domain error\n{noted}"
                      f"  {sim}:11: return 0.5 * x ** 2 + math.log(x)")
    if forward:  # (a jvp of a vector output is no error)
        assert total == "no error"
    else:  # (a refusal s2sad's runtime raises, located in its message)
        assert total.startswith(f"s2sad.errors.GradientShapeError: {sim}:27:"
                                " grad of total requires a scalar output")
    assert "nan" in value
    warned = ran.stderr.split("RuntimeWarning: invalid value encountered in "
                              "sqrt\n")[1]
    assert warned.splitlines()[1:3] == [noted.strip(),
                                        f"  {sim}:26: y = np.sqrt(x)"]


def test_only_the_functions_asked_for_locate_errors(tmp_path):
    """The functions asked for call `errors.locate` as an exception leaves
    them, from a `try:` around their body (the lines of the user's code
    unchanged inside it); the functions they call do not, and a standalone
    module, which does not import s2sad, has neither that nor the line
    map."""
    (tmp_path / "sim.py").write_text(_SIM)
    module = _load(tmp_path / "sim.py")
    text, failures = aot.module_source([module.energy], module,
                                       tmp_path / "grads.py")
    assert not failures
    assert text.count("    try:\n") == 1  # (not in grad_energy_arrays)
    assert "        locate(error)  # names the user's line in a note\n" \
        in text
    assert "from s2sad.errors import locate, map_module\n" in text
    assert text.rstrip().endswith("))") and "map_module(__file__, (" in text
    standalone, failures = aot.module_source(
        [module.energy, module.step], module, tmp_path / "alone.py",
        standalone=True)
    assert not failures
    assert "locate(error)" not in standalone
    assert "map_module" not in standalone


def test_a_function_whose_code_a_try_would_change_is_refused():
    """A string over several lines (a nested function's docstring) would
    change if indented: the `try:` is not put in, and the function is
    refused, never written with another string."""
    text = ('def grad_f(x):\n    """Doc."""\n    def inner():\n'
            '        """Two\n        lines."""\n    return x\n')
    with pytest.raises(aot._Refused, match="string over several lines"):
        aot._located(text, "locate")
    fine = 'def grad_f(x):\n    """Doc.\n\n    More."""\n    return x\n'
    assert aot._located(fine, "locate") == (
        'def grad_f(x):\n    """Doc.\n\n    More."""\n    try:\n'
        '        return x\n    except Exception as error:\n'
        "        locate(error)  # names the user's line in a note\n"
        "        raise", 5)


_MADE = '''\
import numpy as np


def make(scale):
    def loss(w):
        return scale * np.sum(np.sin(w) ** 2)
    return loss


loss_b = make(3.0)
loss_c = make(5.0)
cube = lambda x: x ** 3  # noqa: E731


def updates(x):
    x[0] = x[0] * x[1]
    return np.sum(x ** 2)
'''


def test_functions_are_named_as_the_file_binds_them(tmp_path):
    """Two functions one factory made, and a lambda, are written as the
    names the user's module gives them, and a function updating its
    argument is written in forward mode as in reverse mode (owned: the
    caller's array is left as it was). The factory has no gradient: left
    out, and refused if asked for."""
    (tmp_path / "made.py").write_text(_MADE)
    # (every function by default: not the factory, which returns one)
    assert cli.main([str(tmp_path / "made.py"), "-o",
                     str(tmp_path / "grads.py")]) == 0
    assert cli.main([str(tmp_path / "made.py"), "updates", "--mode",
                     "forward", "-o", str(tmp_path / "jvps.py")]) == 0
    script = ("import numpy as np, grads, jvps\n"
              "w = np.array([0.3, -0.7])\n"
              "print(grads.__all__,\n"
              "      grads.grad_loss_b(w) / grads.grad_loss_c(w))\n"
              "x = np.array([1.0, 2.0])\n"
              "value, tangent = jvps.jvp_updates(x, np.array([1.0, 0.5]))\n"
              "print(float(value), float(tangent), x)\n")
    ran = subprocess.run([sys.executable, "-c", script], cwd=tmp_path,
                         capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert ran.returncode == 0, ran.stderr
    module = _load(tmp_path / "made.py")
    with pytest.raises(s2sad.errors.GradientShapeError,
                       match="requires a scalar output, got function"):
        s2sad.grad(module.make)(1.0)
    assert ran.stdout == ("['grad_loss_b', 'grad_loss_c', 'grad_cube', "
                          "'grad_updates'] [0.6 0.6]\n"
                          "8.0 12.0 [1. 2.]\n")


def test_a_module_of_a_package_is_imported_by_its_name(tmp_path, capsys):
    """`--module pkg.model`: FILE, which imports its sibling relatively, is
    imported as that module of its package, from any directory; without
    it, the refusal says how."""
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "consts.py").write_text("ALPHA = 0.5\n")
    (package / "model.py").write_text(
        "import numpy as np\n\nfrom .consts import ALPHA\n\n\n"
        "def loss(w):\n    return ALPHA * np.sum(w ** 3)\n")
    out = tmp_path / "grads.py"
    assert cli.main([str(package / "model.py"), "-o", str(out)]) == 2
    refused = capsys.readouterr().err
    assert "relative import" in refused and "--module package.module" \
        in refused
    assert cli.main([str(package / "model.py"), "--module", "pkg.consts",
                     "-o", str(out)]) == 2
    assert "names " in capsys.readouterr().err  # (not this file)
    assert cli.main([str(package / "model.py"), "--module", "pkg.model",
                     "-o", str(out)]) == 0
    script = ("import numpy as np, grads\n"
              "print(grads.grad_loss(np.array([1.0, 2.0])))\n")
    ran = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
        text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), str(tmp_path / "src")])})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "[1.5 6. ]\n"


_CHECKPOINTED = '''\
import s2sad


def time_average(r, x, n):
    total = 0.0
    for t in s2sad.checkpointed(range(n), snapshots=4):
        x = r * x * (1.0 - x)
        total = total + x
    return total / n


def falling(v, k):
    t, x = 0.0, 0.0
    while s2sad.checkpointed_while(x < 30.0, snapshots=5):
        v = v + 0.01 * (9.81 - k * v * v)
        x = x + 0.01 * v
        t = t + 0.01
    return t + v * x
'''


@pytest.mark.parametrize("standalone", [False, True])
def test_checkpointed_loops_in_a_module_with_and_without_s2sad(
        tmp_path, standalone):
    # the schedules are run-time code: a standalone module copies them,
    # and the markers the user's code reads off s2sad
    source = tmp_path / "checkpointed_program.py"
    source.write_text(_CHECKPOINTED)
    options = ["--argnums", "time_average=0,1", "--argnums", "falling=0,1"]
    assert cli.main([str(source), "time_average", "falling", *options,
                     "-o", str(tmp_path / "checkpointed_grads.py")]
                    + (["--standalone"] if standalone else [])) == 0
    calls = [("checkpointed_grads", "grad_time_average", (2.9, 0.3, 50), {}),
             ("checkpointed_grads", "grad_falling", (1.0, 0.01), {})]
    got = _run_modules(tmp_path, calls, standalone)
    spec = importlib.util.spec_from_file_location("checkpointed_program",
                                                  source)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    want = [s2sad.grad(program.time_average, argnums=(0, 1))(2.9, 0.3, 50),
            s2sad.grad(program.falling, argnums=(0, 1))(1.0, 0.01)]
    assert got == [("value", w) for w in want]

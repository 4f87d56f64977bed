"""The command line: `s2sad FILE [NAME ...]` and `python -m s2sad`."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import s2sad
from s2sad import cli

_ROOT = pathlib.Path(__file__).resolve().parent.parent
_SEEDS = _ROOT / "examples" / "seeds.py"
_SEED_NAMES = ["f", "g", "logistic", "logistic_map4", "two_xtx", "dot_loss",
               "linreg"]

_BAD = '''\
import numpy as np


def fine(x):
    return np.sin(x) * x


def generator(x):
    yield np.log(x)
'''
_BAD_LINE = 9


def _run(*args, cwd=_ROOT):
    return subprocess.run([sys.executable, "-m", "s2sad", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def test_default_prints_the_gradient_of_every_seed():
    result = _run(_SEEDS)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for name in _SEED_NAMES:
        assert f"def grad_{name}(" in result.stdout
    assert "def grad_f(x, y):" in result.stdout


def test_default_argnums_are_all_positional_parameters(capsys):
    assert cli.main([str(_SEEDS), "linreg"]) == 0
    assert ("return runtime.gradients((w_bar, X_bar, y_bar), (w, X, y))"
            in capsys.readouterr().out)


def test_argnums_selects_parameters(capsys):
    assert cli.main([str(_SEEDS), "linreg", "--argnums", "0"]) == 0
    out = capsys.readouterr().out
    assert "w_bar" in out
    assert "X_bar" not in out


def test_named_functions_in_the_order_given(capsys):
    assert cli.main([str(_SEEDS), "logistic", "f"]) == 0
    out = capsys.readouterr().out
    assert out.index("def grad_logistic(") < out.index("def grad_f(")
    assert "def grad_g(" not in out


def test_names_may_follow_options(capsys):
    assert cli.main([str(_SEEDS), "--mode", "forward", "logistic", "f"]) == 0
    out = capsys.readouterr().out
    assert out.index("def jvp_logistic(") < out.index("def jvp_f(")
    assert "def jvp_g(" not in out


def test_stage_ssa_prints_the_lowered_function(capsys):
    assert cli.main([str(_SEEDS), "f", "--stage", "ssa"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("def f(x, y):")
    assert "_t1 = " in out
    assert "grad" not in out


def test_no_optimize_is_accepted(capsys):
    assert cli.main([str(_SEEDS), "f", "--no-optimize"]) == 0
    assert "def grad_f(" in capsys.readouterr().out


def test_output_file(tmp_path, capsys):
    out = tmp_path / "grads.py"
    assert cli.main([str(_SEEDS), "f", "g", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    text = out.read_text()
    assert "def grad_f(" in text and "def grad_g(" in text
    compile(text, str(out), "exec")


def test_unsupported_syntax_is_one_located_line_and_exit_1(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text(_BAD)
    result = _run(path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:{_BAD_LINE}:")
    assert "Traceback" not in result.stderr
    assert "def grad_fine(" in result.stdout


def test_unknown_name_exits_1(capsys):
    assert cli.main([str(_SEEDS), "f", "nope"]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"{_SEEDS}: no function named 'nope'\n"
    assert captured.out == ""


def test_missing_file_exits_2_without_traceback(tmp_path):
    result = _run(tmp_path / "missing.py")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""


def test_file_that_fails_to_import_exits_2_with_its_line(tmp_path):
    path = tmp_path / "raises.py"
    path.write_text("x = 1\nraise RuntimeError('boom')\n")
    result = _run(path)
    assert result.returncode == 2
    assert result.stderr == \
        f"{path}:2: cannot import: RuntimeError: boom\n"


def test_main_block_does_not_run(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "script.py"
    path.write_text(
        "import pathlib\n\n\n"
        "def square(x):\n"
        "    return x * x\n\n\n"
        "if __name__ == '__main__':\n"
        f"    pathlib.Path({str(marker)!r}).write_text('ran')\n"
        "    print('MAIN BLOCK RAN')\n")
    result = _run(path)
    assert result.returncode == 0, result.stderr
    assert "def grad_square(" in result.stdout
    assert "MAIN BLOCK RAN" not in result.stdout
    assert not marker.exists()


def test_sibling_imports_and_functions_without_parameters(tmp_path):
    (tmp_path / "helper.py").write_text("SCALE = 3.0\n")
    (tmp_path / "model.py").write_text(
        "import helper\n\n\n"
        "def constant():\n"
        "    return helper.SCALE\n\n\n"
        "def scaled(x):\n"
        "    return helper.SCALE * x\n")
    result = _run(tmp_path / "model.py", cwd=_ROOT)
    assert result.returncode == 0, result.stderr
    assert "def grad_scaled(" in result.stdout
    assert "grad_constant" not in result.stdout


def test_functions_imported_into_the_file_are_skipped(tmp_path):
    path = tmp_path / "imports.py"
    path.write_text("from math import sin\n"
                    "from os.path import join\n\n\n"
                    "def mine(x):\n"
                    "    return x * x\n")
    result = _run(path)
    assert result.returncode == 0, result.stderr
    assert "def grad_mine(" in result.stdout
    assert "join" not in result.stdout


def test_forward_mode_is_passed_to_the_engine(capsys):
    status = cli.main([str(_SEEDS), "f", "--mode", "forward"])
    captured = capsys.readouterr()
    if status == 0:
        assert "def jvp_f(" in captured.out
    else:
        assert status == 1
        assert captured.err.count("\n") == 1
        assert captured.err.startswith(f"{_SEEDS}:")


def test_a_name_grad_decorates_is_the_derivative_it_denotes(tmp_path,
                                                           capsys):
    path = tmp_path / "decorated.py"
    path.write_text("import s2sad\n\n\n@s2sad.grad\ndef cube(x):\n"
                    "    return x ** 3\n")
    assert cli.main([str(path)]) == 0
    assert "Gradient of grad_cube" in capsys.readouterr().out
    out = tmp_path / "cube_grads.py"
    assert cli.main([str(path), "-o", str(out)]) == 0
    sys.path.insert(0, str(tmp_path))
    try:
        import cube_grads
        import decorated
    finally:
        sys.path.remove(str(tmp_path))
    expected = s2sad.grad(decorated.cube)(3.0)
    assert cube_grads.grad_cube(3.0) == expected == pytest.approx(18.0)
    assert (decorated.cube(3.0 + 1e-6) - decorated.cube(3.0 - 1e-6)) / (
        2e-6) == pytest.approx(expected, rel=1e-6)


def test_the_model_example_dumps_one_function_per_user_function():
    model = _ROOT / "examples" / "model.py"
    result = _run(model, "loss", "--argnums", "0")
    assert result.returncode == 0, result.stderr
    for name in ("grad_loss", "vjp_forward", "vjp_bwd_forward", "vjp_layer",
                 "vjp_bwd_layer"):
        assert result.stdout.count(f"def {name}(") == 1, name
    assert "# gradient hook, line 22" in result.stdout
    env = {**os.environ, "PYTHONPATH": str(_ROOT)}
    ran = subprocess.run([sys.executable, str(model)], capture_output=True,
                         text=True, cwd=_ROOT, env=env)
    assert ran.returncode == 0 and "checked" in ran.stdout, ran.stderr


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"s2sad {s2sad.__version__}\n"


def test_a_reader_that_stops_early_ends_the_output_quietly():
    process = subprocess.Popen(
        [sys.executable, "-m", "s2sad", str(_SEEDS)], cwd=_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # as `| head` does, before anything is written
    stderr = process.stderr.read()
    process.stderr.close()
    assert process.wait() == 0
    assert stderr == ""


def test_what_the_file_prints_on_import_goes_to_stderr(tmp_path):
    path = tmp_path / "chatty.py"
    path.write_text("print('loading chatty')\n\n\n"
                    "def square(x):\n    return x * x\n")
    result = _run(path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("def grad_square(")
    assert "loading" not in result.stdout
    assert result.stderr == "loading chatty\n"


def test_a_file_without_functions_to_transform_is_reported(tmp_path):
    path = tmp_path / "empty.py"
    path.write_text("X = 1.0\n\n\ndef constant():\n    return X\n")
    result = _run(path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (f"{path}: no function to transform (none "
                             "defined at its top level takes arguments)\n")


def test_methods_are_named_as_class_dot_method(capsys):
    model = str(_ROOT / "examples" / "model.py")
    assert cli.main([model, "MLP.forward"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("def grad_forward(self, params, x):")
    assert "self_bar" not in out  # self is not differentiated
    assert cli.main([model, "MLP.nope"]) == 1
    assert "no function named 'MLP.nope'" in capsys.readouterr().err


def test_argnums_per_function(capsys):
    assert cli.main([str(_SEEDS), "linreg", "dot_loss", "--argnums",
                     "linreg=0", "--argnums", "dot_loss=0,1"]) == 0
    out = capsys.readouterr().out
    linreg, dot_loss = out.split("def grad_dot_loss(")
    assert "return runtime.gradient(w_bar, w)" in linreg
    assert "runtime.gradients((w_bar, x_bar), (w, x))" in dot_loss
    # wrong argnums: status 2, as the README says
    assert cli.main([str(_SEEDS), "f", "--argnums", "g=0"]) == 2
    assert "no function named 'g' is transformed" in capsys.readouterr().err


def test_output_to_a_dash_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # (a file named "-" would land here)
    assert cli.main([str(_SEEDS), "f", "-o", "-"]) == 2
    assert "give -o a file name" in capsys.readouterr().err
    assert not (tmp_path / "-").exists()


_COUNTS = '''\
def power(x, n):
    y = 1.0
    for _ in range(n):
        y = y * x
    return y


def pick(xs, i, w):
    return xs[i] * w + xs[:i].sum()


def scaled(x, steps=3):
    return x * steps


def only_counts(n):
    return float(n)
'''


def test_default_argnums_leave_out_counts_indices_and_int_defaults(
        tmp_path, capsys):
    path = tmp_path / "counts.py"
    path.write_text(_COUNTS)
    functions, _ = cli._select(cli._import_file(str(path)), [])
    assert [cli.default_argnums(func) for func in functions.values()] == [
        0, (0, 2), 0, 0]
    assert cli.main([str(path), "power"]) == 0
    out = capsys.readouterr().out
    assert "def grad_power(x, n):" in out
    assert "def grad_power_arrays(x, n):" in out  # the float fast path


_DATA = '''\
import numpy as np


def classify(W, X, labels):
    scores = X @ W
    return -np.mean(scores[np.arange(len(labels)), labels])


def layer(w, x, act=np.tanh):
    return np.sum(act(w * x))


def apply(w, act):
    return np.sum(act(w))


def shifted(xs, t):
    return xs[int(t)] * t


def flagged(x, use_bias, bias, mode):
    if use_bias:
        x = x + bias
    return np.sum(x ** 2) if mode == "sum" else np.max(x)


def shaped(x, axis, n, classes, mask):
    one_hot = np.eye(classes)[0]
    kept = np.where(mask, x, 0.0)
    return np.sum(np.max(kept.reshape(n, -1), axis=axis)) + one_hot[0]


def integrate(k, y0, steps):
    return euler(lambda y: -k * y, y0, 0.1, steps)


def euler(rhs, y, h, n):
    for _ in range(n):
        y = y + h * rhs(y)
    return y


def taken(x, idx, c, k):
    return np.sum(np.take(x, idx) ** 2 * c) + np.sum(x.reshape(k, -1))


def guarded(x, lam, alpha):
    loss = np.sum(x ** 2)
    if lam:  # a flag, and a number too
        loss = loss + lam * np.sum(x)
    return loss * alpha if alpha else loss


def interpolated(xs, t):
    k = int(t)  # an index through int(): t may be a float
    return xs[k] * (1.0 - (t - k)) + xs[k + 1] * (t - k)


def builtin_max(x, y, start):  # (not np.max(x, axis) nor np.sum's axis)
    return x * y + max(x, y) + min(y, x) + sum([x, y], start)


def numpy_max(x, axis):
    return np.max(x, axis) + np.sum(x, axis)
'''


def test_default_argnums_leave_out_functions_and_indices(tmp_path):
    # a parameter called or defaulting to a function, or used as an index
    # (an int or a mask: never a float, whatever its other uses, such as
    # len(labels)), is data; one indexing through int() may be a float
    path = tmp_path / "data.py"
    path.write_text(_DATA)
    functions, _ = cli._select(cli._import_file(str(path)), [])
    assert [cli.default_argnums(func) for func in functions.values()] == [
        (0, 1), (0, 1), 0, (0, 1), (0, 2), 0, (0, 1), (1, 2), (0, 2),
        (0, 1, 2), (0, 1), (0, 1, 2), 0]


def test_default_argnums_leave_out_flags_shapes_and_helpers_counts(tmp_path,
                                                                   capsys):
    # a flag tested by `if`, a string compared, a shape, an axis, a mask,
    # and a count passed to a helper that takes it as one: the gradients
    # written are those of the numbers, each checked
    path = tmp_path / "data.py"
    path.write_text(_DATA)
    out = tmp_path / "data_grads.py"
    assert cli.main([str(path), "flagged", "shaped", "integrate", "-o",
                     str(out)]) == 0
    module = cli._import_file(str(path))
    sys.path.insert(0, str(tmp_path))
    try:
        import data_grads
    finally:
        sys.path.remove(str(tmp_path))
    x = np.array([0.5, -1.0, 2.0, 0.25])
    mask = np.array([True, False, True, True])
    cases = [(data_grads.grad_flagged, module.flagged, (x, True, 0.5, "sum"),
              (0, 2)),
             (data_grads.grad_shaped, module.shaped, (x, 1, 2, 3, mask),
              (0,)),
             (data_grads.grad_integrate, module.integrate, (0.3, 1.5, 20),
              (0, 1))]
    for written, func, args, argnums in cases:
        grads = written(*args)
        grads = grads if isinstance(grads, tuple) else (grads,)
        assert len(grads) == len(argnums)
        for grad, i in zip(grads, argnums):
            expected = s2sad.grad(func, i)(*args)
            np.testing.assert_allclose(grad, expected, rtol=1e-12)


def test_the_argnums_dict_of_the_file_is_honoured(tmp_path, capsys):
    path = tmp_path / "tabled.py"
    path.write_text("def f(x, y):\n    return x * y\n\n\n"
                    "ARGNUMS = {'f': 1}\n")
    assert cli.main([str(path)]) == 0
    assert "Gradient of f with respect to y." in capsys.readouterr().out
    assert cli.main([str(path), "--argnums", "0"]) == 0
    assert "Gradient of f with respect to x." in capsys.readouterr().out
    path.write_text("def f(x, y):\n    return x * y\n\n\n"
                    "ARGNUMS = {'f': 'x'}\n")
    assert cli.main([str(path)]) == 2
    assert capsys.readouterr().err == (
        f"{path}:5: ARGNUMS['f'] = 'x' is not argnums; give an int or a "
        "tuple of ints\n")


def test_models_follow_their_argnums_dict():
    result = _run(_ROOT / "examples" / "models.py")
    assert result.returncode == 0, result.stderr
    assert "def grad_logistic_map(x, n):" in result.stdout
    assert "Gradient of logistic_map with respect to x." in result.stdout
    assert "Gradient of rnn with respect to W, U." in result.stdout


_METHODS = '''\
class Shape:
    def __init__(self, k):
        self.k = k

    def area(self, r):
        return self.k * r * r

    @staticmethod
    def scaled(a, b):
        return a * b

    @classmethod
    def unit(cls, r):
        return 2.0 * r
'''


def test_static_and_class_methods(tmp_path, capsys):
    path = tmp_path / "shapes.py"
    path.write_text(_METHODS)
    assert cli.main([str(path), "Shape.area", "Shape.scaled",
                     "Shape.unit"]) == 0
    out = capsys.readouterr().out
    assert "Gradient of area with respect to r." in out
    assert "Gradient of scaled with respect to a, b." in out
    assert "Gradient of unit with respect to r." in out


def test_the_file_sees_only_its_own_name_in_argv(tmp_path):
    path = tmp_path / "script.py"
    path.write_text("import argparse\nimport sys\n\n"
                    "parser = argparse.ArgumentParser()\n"
                    "parser.add_argument('--lr', type=float, default=0.5)\n"
                    "LR = parser.parse_args().lr\nARGV = list(sys.argv)\n\n\n"
                    "def step(w):\n    return (w - LR) ** 2\n")
    argv = list(sys.argv)
    module = cli._import_file(str(path))
    assert module.ARGV == [str(path)]
    assert sys.argv == argv
    result = _run(path, "--mode", "forward")
    assert result.returncode == 0, result.stderr
    assert "def jvp_step(" in result.stdout


def test_a_directory_is_named_as_such(tmp_path):
    result = _run(tmp_path)
    assert result.returncode == 2
    assert result.stderr == (f"{tmp_path}: is a directory; give a Python "
                             "source file\n")


_WRAPPED = '''\
import functools

import numpy as np


def timed(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args)
    return wrapper


@timed
def wrapped(x, y):
    return x * np.sin(y)


def varargs(*xs):
    return sum(x * x for x in xs)


def nothing():
    return 1.0
'''


def _central(f, args, i, eps=1e-6):
    """The central difference of `f` at `args` in its argument `i`."""
    up, down = list(args), list(args)
    up[i] += eps
    down[i] -= eps
    return (f(*up) - f(*down)) / (2 * eps)


def test_functions_taking_args_are_transformed_as_called(tmp_path,
                                                         capsys):
    path = tmp_path / "wrapping.py"
    path.write_text(_WRAPPED)
    module = cli._import_file(str(path))
    functions, _ = cli._select(module, [])
    # (not the decorator: it returns a function, which has no gradient)
    assert list(functions) == ["wrapped", "varargs"]
    # the wrapper's parameters are those of the function it wraps
    assert cli.default_argnums(functions["wrapped"]) == (0, 1)
    assert cli.default_argnums(functions["varargs"]) == 0
    assert cli.main([str(path), "wrapped", "varargs"]) == 0
    out = capsys.readouterr().out
    assert "def grad_wrapped(*args):" in out
    assert "def grad_varargs(*xs):" in out
    # the generated code's gradient is that of the whole *args tuple
    generated = s2sad.api.generated_function(module.wrapped,
                                             argnums=(0, 1))
    args = (0.7, 1.3)
    (grads,), = [generated(*args)]
    assert grads == pytest.approx(
        [_central(module.wrapped, args, i) for i in range(2)], rel=1e-7)
    out = tmp_path / "wrapping_grads.py"
    assert cli.main([str(path), "wrapped", "varargs", "-o", str(out)]) == 0
    assert "_user.wrapped.__wrapped__" in out.read_text()
    sys.path.insert(0, str(tmp_path))
    try:
        import wrapping_grads
    finally:
        sys.path.remove(str(tmp_path))
    # the module's functions give the items' gradients, as s2sad.grad does
    assert wrapping_grads.__all__ == ["grad_wrapped", "grad_varargs"]
    grads = wrapping_grads.grad_wrapped(*args)
    assert grads == s2sad.grad(module.wrapped, (0, 1))(*args)
    assert grads == pytest.approx(
        [_central(module.wrapped, args, i) for i in range(2)], rel=1e-7)
    grad = wrapping_grads.grad_varargs(*args)
    assert grad == s2sad.grad(module.varargs)(*args)
    assert grad == pytest.approx(_central(module.varargs, args, 0),
                                 rel=1e-7)


def test_a_function_without_arguments_named_is_refused(tmp_path, capsys):
    path = tmp_path / "wrapping.py"
    path.write_text(_WRAPPED)
    assert cli.main([str(path), "nothing"]) == 1
    assert capsys.readouterr().err == (
        f"{path}:22: nothing takes no positional arguments, so there is "
        "nothing to differentiate; name a function that takes some\n")


_PRICER = '''\
ARGNUMS = {"Pricer.price": (0,)}


class Pricer:
    def __init__(self, flows):
        self.flows = flows

    def price(self, rate, spread):
        total = 0.0
        for k, cf in enumerate(self.flows):
            total = total + cf / (1.0 + rate + spread) ** (k + 1)
        return total
'''


def test_method_argnums_count_from_the_parameter_after_self(tmp_path,
                                                           capsys):
    path = tmp_path / "pricer.py"
    path.write_text(_PRICER)
    out = tmp_path / "pricer_grads.py"
    assert cli.main([str(path), "Pricer.price", "-o", str(out)]) == 0
    assert "with respect to rate." in out.read_text()
    assert cli.main([str(path), "Pricer.price", "--argnums", "1"]) == 0
    assert "with respect to spread." in capsys.readouterr().out
    sys.path.insert(0, str(tmp_path))
    try:
        import pricer
        import pricer_grads
    finally:
        sys.path.remove(str(tmp_path))
    book = pricer.Pricer([1.0, 2.0, 3.0])
    args = (0.03, 0.01)
    expected = s2sad.grad(book.price)(*args)  # a bound method: no self
    assert pricer_grads.grad_price(book, *args) == expected
    assert expected == pytest.approx(_central(book.price, args, 0),
                                     rel=1e-7)
    assert cli.main([str(path), "Pricer.price", "--argnums", "2"]) == 2
    assert capsys.readouterr().err == (
        f"{path}:8: --argnums 2 does not name parameters of "
        "Pricer.price(rate, spread); give numbers from 0 to 1, counting "
        "from its first parameter after self\n")


_LOOPS = '''\
def plus_one(x, n):
    s = 0.0
    for k in range(n + 1):
        s = s + x
    return s


def steps(x0, T, n_steps):
    dt = T / n_steps
    x = x0
    for _ in range(n_steps):
        x = x - dt * x
    return x


def counted(x, n):
    i = 0
    while i < n:
        x = x * 0.9
        i += 1
    return x


def copied(x, n):
    m = n - 1
    for i in range(m):
        x = x * 1.1
    return x


def grid(xs, i, j, w: int):
    return xs[i + 1, j * 2] * w


def horizon(x, t_end):
    t = 0.0
    while t < t_end:
        x = x * 0.9
        t = t + 0.5
    return x
'''


def test_integer_counts_in_arithmetic_and_while_loops_are_data(tmp_path):
    path = tmp_path / "loops.py"
    path.write_text(_LOOPS)
    functions, _ = cli._select(cli._import_file(str(path)), [])
    assert {name: cli.default_argnums(func)
            for name, func in functions.items()} == {
        "plus_one": 0, "steps": (0, 1), "counted": 0, "copied": 0,
        "grid": 0, "horizon": (0, 1)}


def test_argnums_mistakes_name_the_entry(tmp_path, capsys):
    path = tmp_path / "tabled.py"
    path.write_text("def f(x, y):\n    return x * y\n\n\n"
                    "ARGNUMS = {'f': (0, 7)}\n")
    assert cli.main([str(path)]) == 2
    assert capsys.readouterr().err == (
        f"{path}:1: ARGNUMS['f'] = 0,7 does not name parameters of f(x, y); "
        "give numbers from 0 to 1\n")
    path.write_text("def f(x, y):\n    return x * y\n\n\n"
                    "ARGNUMS = {'g': 0}\n")
    assert cli.main([str(path)]) == 2
    assert capsys.readouterr().err == (
        f"{path}:5: ARGNUMS['g']: the file has no function named 'g'; give "
        "a function's name (or Class.method)\n")
    path.write_text("def f(x, y):\n    return x * y\n")
    assert cli.main([str(path), "--argnums", "f=0", "--argnums",
                     "f=1"]) == 2
    assert capsys.readouterr().err == (
        "s2sad: --argnums f=... is given twice; give each function's argnums "
        "once\n")
    assert cli.main([str(path), "--argnums", "0", "--argnums", "1"]) == 2
    assert "--argnums without a NAME is given twice" in (
        capsys.readouterr().err)


def test_negative_argnums_are_refused_as_in_process(tmp_path, capsys):
    path = tmp_path / "pair.py"
    path.write_text("def f(x, y):\n    return x * y\n")
    assert cli.main([str(path), "--argnums", "f=-1"]) == 2
    assert capsys.readouterr().err == (
        f"{path}:1: --argnums f=-1 does not name parameters of f(x, y); "
        "give numbers from 0 to 1\n")

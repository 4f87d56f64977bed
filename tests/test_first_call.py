"""The general version behind a gradient's variant (for Python floats, or
for float arrays) is optimised and compiled when it is first called, not
with the variant: it is a third of the first call's cost, and a program
called on floats never needs it. What must hold: its numbers, `.source`
(whole from the start), derivatives of derivatives, the disk cache, the
modules written ahead of time, threads and closures."""

import gc
import importlib.util
import json
import linecache
import os
import subprocess
import sys
import threading
import weakref

import numpy as np
import pytest

import s2sad
from s2sad import aot, derive

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pendulum_energy(theta, omega):
    """Elementwise on floats: a gradient specialised to floats."""
    return 0.5 * omega ** 2 + 9.81 * (1.0 - np.cos(theta)) * np.exp(
        -0.1 * theta * omega)


def central(f, args, h=1e-6):
    grads = []
    for i, a in enumerate(args):
        a = np.asarray(a, dtype=float)
        g = np.zeros(a.shape)
        for index in np.ndindex(a.shape):
            step = np.zeros(a.shape)
            step[index] = h
            up, down = list(args), list(args)
            up[i], down[i] = a + step, a - step
            g[index] = (np.sum(f(*up)) - np.sum(f(*down))) / (2 * h)
        grads.append(g)
    return grads


def _pending(grad):
    """Is the last part of grad's transformation still to be made?"""
    transformation = grad._fresh_instance().__s2sad_transformation__
    return isinstance(transformation._parts[-1], derive._Pending)


def _fresh(monkeypatch):
    """No disk cache, nothing in memory: each test makes its own."""
    monkeypatch.setenv("S2SAD_CACHE", "0")
    s2sad.clear_cache()


def test_the_general_version_is_made_when_first_called(monkeypatch):
    _fresh(monkeypatch)
    grad = s2sad.grad(pendulum_energy, argnums=(0, 1))
    made = derive.stats["transformations"]
    on_floats = grad(0.4, 1.3)
    assert _pending(grad)
    assert derive.stats["transformations"] == made
    np.testing.assert_allclose(on_floats,
                               central(pendulum_energy, (0.4, 1.3)),
                               rtol=1e-7)
    theta, omega = np.float64(0.4), np.array(1.3)  # (not Python floats)
    on_arrays = grad(theta, omega)
    assert not _pending(grad)
    assert derive.stats["transformations"] == made + 1
    assert [float(g) for g in on_arrays] == list(on_floats)
    assert np.shape(on_arrays[1]) == ()
    grad(np.float64(0.5), 1.0)
    assert derive.stats["transformations"] == made + 1  # made once


def test_the_source_is_whole_before_and_the_same_after(monkeypatch):
    _fresh(monkeypatch)
    grad = s2sad.grad(pendulum_energy, argnums=(0, 1))
    grad(0.4, 1.3)
    shown = grad.source
    assert "def grad_pendulum_energy(theta, omega):" in shown
    assert "def grad_pendulum_energy_arrays(theta, omega):" in shown
    grad(np.array(0.4), np.array(1.3))
    assert grad.source == shown
    assert s2sad.show(pendulum_energy, argnums=(0, 1)) == shown


def test_a_derivative_of_the_derivative_starts_from_the_general_one(
        monkeypatch):
    _fresh(monkeypatch)
    first = s2sad.grad(pendulum_energy)
    first(0.4, 1.3)
    second = s2sad.grad(first)  # d2/dtheta2
    h = 1e-5
    want = (first(0.4 + h, 1.3) - first(0.4 - h, 1.3)) / (2 * h)
    np.testing.assert_allclose(second(0.4, 1.3), want, rtol=1e-6)


def test_threads_calling_it_first_on_arrays(monkeypatch):
    _fresh(monkeypatch)
    grad = s2sad.grad(pendulum_energy, argnums=(0, 1))
    grad(0.4, 1.3)
    theta, omega = np.float64(0.4), np.array(1.3)
    results, failures = [], []

    def call():
        try:
            results.append(grad(theta, omega))
        except Exception as exc:  # (reported below)
            failures.append(exc)
    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    for got in results:
        assert [float(g) for g in got] == list(grad(0.4, 1.3))


def _scaled(scale):
    """A closure per scale: one transformation, an instance each."""
    def energy(theta, omega):
        return scale * (0.5 * omega ** 2 + np.sin(theta) * omega)
    return energy


def test_each_closure_makes_its_own_general_function(monkeypatch):
    _fresh(monkeypatch)
    one, three = _scaled(1.0), _scaled(3.0)
    g1, g3 = s2sad.grad(one), s2sad.grad(three)
    assert g1(0.3, 0.5) * 3 == pytest.approx(g3(0.3, 0.5))
    x, w = np.array(0.3), np.float64(0.5)
    np.testing.assert_allclose(g3(x, w), 3 * g1(x, w), rtol=1e-12)
    np.testing.assert_allclose(g3(x, w), 3 * (np.cos(x) * w), rtol=1e-12)


def test_a_generated_function_outliving_its_closure(monkeypatch):
    """The general version is made from the generated function's own
    closure and defaults when the function it was made for is gone."""
    _fresh(monkeypatch)

    def scaled(scale):
        def energy(theta, omega=2.0):
            return scale * (0.5 * omega ** 2 + np.sin(theta) * omega)
        return energy
    energy = scaled(3.0)
    gone = weakref.ref(energy)
    instance = derive.derive(energy)
    del energy
    gc.collect()
    assert gone() is None
    assert instance(0.3) == pytest.approx(3 * np.cos(0.3) * 2.0)
    np.testing.assert_allclose(instance(np.array(0.3)),
                               3 * np.cos(0.3) * 2.0, rtol=1e-12)


def test_made_from_the_source_the_rest_was_made_from(monkeypatch,
                                                     tmp_path):
    """A file saved again after the gradient was taken (not reloaded, as
    in a long session) does not change what the general version is made
    from, nor refuse it: it is made from the text the rest was."""
    _fresh(monkeypatch)
    path = tmp_path / "edited_model.py"
    path.write_text(MODEL)
    spec = importlib.util.spec_from_file_location("edited_model", path)
    model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model)
    grad = s2sad.grad(model.energy, argnums=(0, 1))
    on_floats = grad(0.4, 1.3)
    path.write_text("def energy(theta, omega):\n    return theta\n")
    linecache.checkcache(str(path))
    assert [float(g) for g in grad(np.float64(0.4), 1.3)] == list(on_floats)


def test_a_module_written_ahead_of_time_holds_both(monkeypatch, tmp_path):
    _fresh(monkeypatch)
    grad = s2sad.grad(pendulum_energy, argnums=(0, 1))
    grad(0.4, 1.3)  # (the general version pending)
    text, failures = aot.module_source(
        [pendulum_energy], sys.modules[__name__], tmp_path / "grads.py",
        argnums=lambda f: (0, 1))
    assert not failures
    assert "def grad_pendulum_energy(" in text
    assert "def grad_pendulum_energy_arrays(" in text


MODEL = '''
import numpy as np


def energy(theta, omega):
    return 0.5 * omega ** 2 + 9.81 * (1.0 - np.cos(theta)) * omega
'''

RUN = '''
import json, sys
import numpy as np
import s2sad
from s2sad import derive
import firstcallmodel as model
grad = s2sad.grad(model.energy, argnums=(0, 1))
if sys.argv[2:] == ["edit"]:  # (the file saved again, not reloaded)
    with open(model.__file__, "w") as out:
        out.write("def energy(theta, omega):\\n    return theta\\n")
args = (0.4, 1.3) if sys.argv[1] == "floats" else (
    np.float64(0.4), np.array(1.3))
print(json.dumps({"grad": [np.asarray(g).tolist() for g in grad(*args)],
                  "stats": derive.stats, "source": grad.source}))
'''


def test_a_loaded_entry_makes_its_general_version_when_needed(tmp_path):
    """The disk entry written on floats holds the float variant only;
    the process that loads it and calls it on arrays makes the rest."""
    (tmp_path / "firstcallmodel.py").write_text(MODEL)
    (tmp_path / "run.py").write_text(RUN)
    environ = dict(os.environ, S2SAD_CACHE_DIR=str(tmp_path / "cache"),
                   PYTHONPATH=os.pathsep.join([str(tmp_path), REPO]))
    environ.pop("S2SAD_CACHE", None)

    def run(*how):
        done = subprocess.run([sys.executable, "run.py", *how], cwd=tmp_path,
                              env=environ, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])
    on_floats = run("floats")
    on_arrays = run("arrays", "edit")
    assert on_arrays["stats"] == {"transformations": 1, "loaded": 1}
    assert on_arrays["source"] == on_floats["source"]
    theta, omega = 0.4, 1.3
    want = [9.81 * np.sin(theta) * omega,
            omega + 9.81 * (1.0 - np.cos(theta))]
    np.testing.assert_allclose(on_arrays["grad"], want, rtol=1e-12)
    np.testing.assert_allclose(on_floats["grad"], want, rtol=1e-12)


def _cell(namespace, name, text):
    """Run a notebook cell as IPython does: its text in linecache."""
    linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    exec(compile(text, name, "exec"), namespace)


def test_made_again_from_the_text_it_was_read_from(monkeypatch):
    """A derivative made again (a helper redefined in a later cell) reads
    the function's text as it was read first: the cell may have left
    linecache since, as `linecache.clearcache()` does, or its file may
    have been saved again; the code that runs is the same."""
    _fresh(monkeypatch)
    cells = {}
    _cell(cells, "<cell-91>", "import math\ndef helper(x):\n"
          "    return math.sin(x) * x\n")
    _cell(cells, "<cell-92>", "def f(x, y):\n    return helper(x) * y\n")
    grad = s2sad.grad(cells["f"], (0, 1))
    grad(0.7, 0.4)
    linecache.clearcache()
    _cell(cells, "<cell-93>", "def helper(x):\n"
          "    return math.cos(x) * x * x\n")
    x, y = 0.7, 0.4
    want = (y * (2 * x * np.cos(x) - x * x * np.sin(x)), np.cos(x) * x * x)
    for args in ((x, y), (np.float64(x), np.float64(y))):
        np.testing.assert_allclose(grad(*args), want, rtol=1e-12)


_IMPORTS = """
import sys
import numpy as np
import s2sad
before = set(sys.modules)

def energy(theta, omega):
    return 0.5 * omega ** 2 + 9.81 * (1.0 - np.cos(theta)) * theta

def weights(w, x):
    return np.sum(np.tanh(w * x) ** 2)

print(s2sad.grad(energy, argnums=(0, 1))(0.4, 1.3))
print(s2sad.grad(weights)(np.ones(3), np.arange(3.0)))
print(sorted(m for m in set(sys.modules) - before if m.startswith("numpy")))
"""


def test_a_first_gradient_imports_no_numpy_module_it_does_not_use(tmp_path):
    """numpy.random takes milliseconds to import (a third of a small
    function's first transformation): a transformation asks whether a
    call is a random Generator's method only where something imported it,
    as a function that draws from one has."""
    (tmp_path / "first.py").write_text(_IMPORTS)
    environ = dict(os.environ, S2SAD_CACHE="0",
                   PYTHONPATH=os.pathsep.join(
                       filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "first.py"], cwd=tmp_path,
                          env=environ, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_a_generators_draw_is_a_new_value_not_its_argument():
    """What the check above leaves out where numpy.random is imported: a
    Generator's method makes a new array, so writing into its result
    leaves the argument alone, and the gradient is through the scale."""
    rng = np.random.default_rng(3)

    def f(scale, shape_of):
        noise = rng.standard_normal(shape_of.shape)
        noise[0] = 0.0
        return np.sum(scale * noise) + np.sum(shape_of)

    x = np.ones(4)
    g = s2sad.grad(f, argnums=(0, 1))
    state = rng.bit_generator.state
    scale_bar, x_bar = g(2.0, x)
    rng.bit_generator.state = state
    want = np.sum(np.random.default_rng(3).standard_normal(4)[1:])
    np.testing.assert_allclose(scale_bar, want, rtol=1e-12)
    np.testing.assert_array_equal(x_bar, np.ones(4))
    np.testing.assert_array_equal(x, np.ones(4))

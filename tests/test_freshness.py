"""The right function, every time: a gradient differentiates the code Python
would run at that moment.

Each test is a program as a user writes it: a helper redefined as in a
notebook cell, a global alias rebound, a method patched, a closure cell
changed, a module reloaded, a rule added later. After the change, the next
gradient must follow it, and the value s2sad computes must equal f(*args).
"""

import importlib
import math
import sys
import textwrap

import numpy as np
import pytest

import s2sad
from s2sad import d


class Notebook:
    """Cells run one after another in one namespace, each from a file of
    its own, as IPython runs them (so s2sad can read their source)."""

    def __init__(self, folder):
        self.folder, self.count = folder, 0
        self.namespace = {"__name__": "__notebook__"}

    def run(self, text):
        self.count += 1
        path = self.folder / f"cell_{self.count}.py"
        path.write_text(textwrap.dedent(text))
        exec(compile(path.read_text(), str(path), "exec"), self.namespace)
        return self.namespace

    def __getitem__(self, name):
        return self.namespace[name]


@pytest.fixture
def notebook(tmp_path):
    return Notebook(tmp_path)


def test_a_redefined_helper_changes_the_next_gradient(notebook):
    notebook.run("""
        import s2sad

        def h(x):
            return 2.0 * x

        def f(x):
            return h(x) * x
    """)
    assert s2sad.grad(notebook["f"])(2.0) == 8.0
    notebook.run("""
        def h(x):
            return x ** 3
    """)
    f = notebook["f"]
    assert f(2.0) == 16.0
    assert s2sad.value_and_grad(f)(2.0) == (16.0, 32.0)


def test_a_gradient_made_before_the_change_follows_it(notebook):
    notebook.run("""
        import numpy as np
        def h(x):
            return np.sin(x)
        def f(x):
            return h(x) * x
    """)
    g = s2sad.grad(notebook["f"])
    forward = s2sad.hessian(notebook["f"])
    assert g(0.5) == pytest.approx(np.sin(0.5) + 0.5 * np.cos(0.5))
    notebook.run("""
        def h(x):
            return np.exp(x)
    """)
    assert g(0.5) == pytest.approx(np.exp(0.5) * 1.5)
    assert forward(0.5) == pytest.approx(np.exp(0.5) * 2.5)
    s2sad.check_grads(notebook["f"], (0.5,))


def test_a_rebound_global_alias_is_followed(notebook):
    notebook.run("""
        import numpy as np
        act = np.tanh
        def layer(x):
            return act(x) * 2.0
    """)
    g = s2sad.grad(notebook["layer"])
    assert g(0.3) == pytest.approx(2.0 * (1.0 - np.tanh(0.3) ** 2))
    notebook.run("act = np.sin")
    assert g(0.3) == pytest.approx(2.0 * np.cos(0.3))
    out, tangent = s2sad.jvp(notebook["layer"], (0.3,), (1.0,))
    assert out == notebook["layer"](0.3)
    assert tangent == pytest.approx(2.0 * np.cos(0.3))


def test_a_global_that_changes_kind_is_followed(notebook):
    notebook.run("""
        import numpy as np
        scale = 2.0
        def loss(w):
            return np.sum(scale * w * w)
    """)
    w = np.array([1.0, -2.0])
    g = s2sad.grad(notebook["loss"])
    np.testing.assert_allclose(g(w), 4.0 * w)
    notebook.run("scale = np.array([1.0, 3.0])")
    np.testing.assert_allclose(g(w), 2.0 * np.array([1.0, 3.0]) * w)
    s2sad.check_grads(notebook["loss"], (w,))


def test_a_patched_method_of_a_module_level_model_is_followed(notebook):
    notebook.run("""
        import numpy as np
        class Model:
            def __init__(self, scale):
                self.scale = scale
            def forward(self, x):
                return self.scale * x * x
        model = Model(3.0)
        def loss(x):
            return model.forward(x) + x
    """)
    g = s2sad.grad(notebook["loss"])
    assert g(2.0) == 13.0
    notebook.run("""
        def forward(self, x):
            return self.scale * np.sin(x)
        Model.forward = forward
    """)
    assert g(2.0) == pytest.approx(3.0 * np.cos(2.0) + 1.0)
    notebook.run("model.scale = 5.0")  # an attribute: read at run time
    assert g(2.0) == pytest.approx(5.0 * np.cos(2.0) + 1.0)
    notebook.run("model = Model(7.0)")  # a new object of the same name
    assert g(2.0) == pytest.approx(7.0 * np.cos(2.0) + 1.0)


def test_a_function_held_in_a_closure_cell_is_followed():
    def make():
        act = np.tanh

        def f(x):
            return act(x) * x

        def use_sin():
            nonlocal act
            act = np.sin
        return f, use_sin
    f, use_sin = make()
    g = s2sad.grad(f)
    assert g(0.4) == pytest.approx(np.tanh(0.4) + 0.4 * (1 - np.tanh(0.4) ** 2))
    use_sin()
    assert g(0.4) == pytest.approx(np.sin(0.4) + 0.4 * np.cos(0.4))
    assert s2sad.value_and_grad(f)(0.4)[0] == f(0.4)


def test_new_defaults_and_new_code_are_followed():
    def f(x, k=2.0):
        return k * x * x
    g = s2sad.grad(f)
    assert g(1.5) == 6.0
    f.__defaults__ = (3.0,)
    assert g(1.5) == 9.0

    def cube(x, k=2.0):
        return k * x ** 3
    f.__code__ = cube.__code__
    assert g(1.5) == pytest.approx(3.0 * 3 * 1.5 ** 2)


def test_a_reloaded_module_is_followed(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "reloaded_physics.py"
    path.write_text("def drag(v):\n    return 0.5 * v * v\n\n"
                    "def energy(v):\n    return drag(v) + v\n")
    module = importlib.import_module("reloaded_physics")
    energy = module.energy
    g = s2sad.grad(energy)
    assert g(2.0) == 3.0
    path.write_text("def drag(v):\n    return 0.25 * v * v * v\n\n"
                    "def energy(v):\n    return drag(v) + v\n")
    importlib.invalidate_caches()
    sys.modules.pop("reloaded_physics")  # no stale bytecode timestamps
    module = importlib.import_module("reloaded_physics")
    assert s2sad.grad(module.energy)(2.0) == 4.0
    del sys.modules["reloaded_physics"]


def test_a_rule_added_later_wins_passed_directly_and_called():
    def softclip(x):
        return np.tanh(x)  # pretend this were a black box

    def model(x):
        return softclip(x) * 2.0
    g_direct, g_called = s2sad.grad(softclip), s2sad.grad(model)
    assert g_direct(0.2) == pytest.approx(1 - np.tanh(0.2) ** 2)

    @s2sad.adjoint(softclip)
    def _(y, x):
        d[x] = d[y] * 7.0  # a deliberately different rule

    @s2sad.tangent(softclip)
    def _(y, x):
        d[y] = d[x] * 7.0
    assert g_direct(0.2) == 7.0
    assert g_called(0.2) == 14.0
    assert s2sad.jvp(softclip, (0.2,), (1.0,))[1] == 7.0


def test_a_custom_vjp_wins_when_passed_directly():
    @s2sad.custom_vjp
    def safe_log(x):
        return np.log(x)

    def fwd(x):
        return np.log(x), x

    def bwd(x, g):
        return (g / np.maximum(x, 1e-3),)
    safe_log.defvjp(fwd, bwd)
    assert s2sad.grad(safe_log)(1e-6) == pytest.approx(1e3)
    assert s2sad.value_and_grad(safe_log)(2.0) == (np.log(2.0), 0.5)


def test_a_derivative_of_a_derivative_follows_the_helper(notebook):
    notebook.run("""
        def h(x):
            return x ** 3
        def f(x):
            return h(x) + x
    """)
    second = s2sad.grad(s2sad.grad(notebook["f"]))
    assert second(2.0) == 12.0
    notebook.run("""
        def h(x):
            return x ** 4
    """)
    assert second(2.0) == 48.0


def test_a_file_edited_after_import_is_refused_not_misread(tmp_path,
                                                          monkeypatch):
    # inspect reads the file as it is now; Python runs what it loaded
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    path = tmp_path / "edited_pricing.py"
    path.write_text("import numpy as np\n\ndef discount(t, r):\n"
                    "    return np.exp(-r * t)\n")
    module = importlib.import_module("edited_pricing")
    path.write_text("import numpy as np\n\ndef simple(t, r):\n"
                    "    return 1.0 / (1.0 + r * t)\n\n"
                    "def discount(t, r):\n    return np.exp(-r * t)\n")
    with pytest.raises(s2sad.S2SADError, match="changed since Python loaded"):
        s2sad.grad(module.discount)
    path.write_text("import numpy as np\n\ndef discount(t, r):\n"
                    "    return np.exp(-2.0 * r * t)\n")
    with pytest.raises(s2sad.S2SADError, match="reload the module"):
        s2sad.grad(module.discount)
    del sys.modules["edited_pricing"]


def test_names_defined_further_down_are_read_when_the_gradient_runs(
        notebook):
    notebook.run("""
        import numpy as np
        import s2sad

        @s2sad.grad
        def dloss(w):
            return np.sum(helper(w) ** 2)

        def helper(w):
            return np.tanh(w) * SCALE
    """)
    with pytest.raises(s2sad.S2SADError, match="'SCALE' is not defined"):
        notebook["dloss"](np.ones(2))
    notebook.run("SCALE = 3.0")
    w = np.array([0.1, -0.4])
    expected = 2 * 9.0 * np.tanh(w) * (1 - np.tanh(w) ** 2)
    np.testing.assert_allclose(notebook["dloss"](w), expected)


def test_an_attribute_a_global_lacks_is_named_until_it_has_it(notebook):
    # Python raises AttributeError there; s2sad says which part is missing,
    # and reads the global again once it is rebound
    notebook.run("""
        import numpy as np
        import s2sad

        XT = [[1.0, 2.0], [3.0, 4.0]]

        @s2sad.grad
        def dloss(w):
            return np.sum((XT.T @ w) ** 2)
    """)
    with pytest.raises(s2sad.S2SADError,
                       match="`XT.T`: `XT` is a list, which has no attribute "
                             "`T`"):
        notebook["dloss"](np.ones(2))
    notebook.run("XT = np.array([[1.0, 2.0], [3.0, 4.0]])")
    w, X = np.array([0.1, -0.4]), np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(notebook["dloss"](w), 2 * X @ (X.T @ w))


def test_a_name_not_defined_raises_only_where_it_is_read(notebook):
    # as Python: a branch that does not run may name what does not exist
    # (a NumPy of another version, a helper of a debugging flag); the
    # gradient raises where the name is read, and follows it once defined
    notebook.run("""
        import sys
        import numpy as np
        import s2sad

        DEBUG = False

        def loss(w):
            if DEBUG:
                plot_state(w)
            y = np.tanh(w) ** 2
            if hasattr(np, "no_such_function"):
                return np.no_such_function(y)
            if sys.version_info < (3, 0):
                return python2_sum(y)
            total = getattr(np, "no_such_sum", None) or np.sum
            return total(y) if hasattr(np, "sum") else np.no_such_sum(y)

        dloss = s2sad.grad(loss)
    """)
    w = np.array([0.3, -0.8])
    expected = 2 * np.tanh(w) * (1 - np.tanh(w) ** 2)
    np.testing.assert_allclose(notebook["dloss"](w), expected)
    notebook.run("DEBUG = True")
    with pytest.raises(NameError, match=r"cell_1.py:10: name 'plot_state' "
                       "is not defined"):
        notebook["dloss"](w)
    notebook.run("def plot_state(w):\n    pass")
    np.testing.assert_allclose(notebook["dloss"](w), expected)
    notebook.run("np.no_such_function = np.mean")
    try:
        np.testing.assert_allclose(notebook["dloss"](w), expected / 2)
        s2sad.check_grads(notebook["loss"], (w,))
    finally:
        del np.no_such_function
    np.testing.assert_allclose(notebook["dloss"](w), expected)


def power(z, p=2.0):
    return z ** p


def make_sum_of(helper):
    def loss(w):
        return np.sum(helper(w))
    return loss


def test_a_closure_helper_given_new_defaults_is_followed():
    loss, w = make_sum_of(power), np.array([1.5, 2.0])
    g = s2sad.grad(loss)
    np.testing.assert_allclose(g(w), 2 * w)
    power.__defaults__ = (3.0,)
    try:
        np.testing.assert_allclose(g(w), 3 * w ** 2)
        value, tangent = s2sad.jvp(loss, (w,), (np.ones(2),))
        assert value == loss(w) and tangent == pytest.approx(np.sum(3 * w ** 2))
    finally:
        power.__defaults__ = (2.0,)


def test_a_closure_helper_rebound_to_the_same_code_is_bound_anew():
    def make():
        scale = 1.0
        helper = lambda z: scale * z * z  # noqa: E731

        def loss(w):
            return helper(w) + w

        def rescale(value):
            nonlocal helper
            helper = lambda z: value * z * z  # noqa: E731
        return loss, rescale
    loss, rescale = make()
    g = s2sad.grad(loss)
    assert g(2.0) == 5.0
    rescale(3.0)  # another lambda's code: transformed again, once
    assert g(2.0) == 13.0
    before = api_stats()
    for k in range(5):  # the same code each time
        rescale(float(k))
        assert g(2.0) == 4.0 * k + 1.0
    assert api_stats() == before  # bound anew, not transformed again


def api_stats():
    return s2sad.api.stats["transformations"]


def test_a_patched_call_method_is_followed(notebook):
    notebook.run("""
        import numpy as np
        class Activation:
            def __call__(self, z):
                return np.sin(z)
        act = Activation()
        def loss(w):
            return np.sum(act(w))
    """)
    w = np.array([0.3, 0.7])
    g = s2sad.grad(notebook["loss"])
    np.testing.assert_allclose(g(w), np.cos(w))
    notebook.run("Activation.__call__ = lambda self, z: z ** 2")
    np.testing.assert_allclose(g(w), 2 * w)
    value, tangent = s2sad.jvp(notebook["loss"], (w,), (np.ones(2),))
    assert value == notebook["loss"](w)


def test_bound_methods_and_partials_kept_in_variables(notebook):
    notebook.run("""
        import functools
        import numpy as np
        class Model:
            def __init__(self, c):
                self.c = c
            def act(self, z):
                return self.c * np.tanh(z)
        act = Model(2.0).act
        def scaled(z, k):
            return k * z * z
        half = functools.partial(scaled, k=0.5)
        def loss(w):
            return np.sum(act(w)) + np.sum(half(w))
    """)
    w = np.array([0.1, -0.2])
    np.testing.assert_allclose(s2sad.grad(notebook["loss"])(w),
                               2.0 * (1 - np.tanh(w) ** 2) + w)
    s2sad.check_grads(notebook["loss"], (w,))


def test_a_gradient_held_in_a_closure_is_called():
    def base(w):
        return np.sum(np.sin(w) * w)

    def make(gradient):
        def loss(w):
            return base(w) + 0.5 * np.sum(gradient(w) ** 2)
        return loss
    loss, w = make(s2sad.grad(base)), np.array([0.4, 1.1])
    value, dw = s2sad.value_and_grad(loss)(w)
    assert value == loss(w)
    s2sad.check_grads(loss, (w,), modes=("rev",))


# Each way of asking for a derivative other than grad: the call resolves
# its function's derivative once and keeps it on the function, which must
# never be used once something it was made from has changed.
ENTRY_POINTS = {
    "jvp": lambda f, x: s2sad.jvp(f, (x,), (np.ones_like(x),))[1],
    "batched jvp": lambda f, x: s2sad.jvp(
        f, (x,), (np.ones((1,) + x.shape),), batched=True)[1][0],
    "vjp": lambda f, x: s2sad.vjp(f, x)[1](1.0)[0],
    "batched vjp": lambda f, x: s2sad.vjp(f, x, batched=True)[1](
        np.ones(1))[0][0],
    "jacfwd": lambda f, x: s2sad.jacfwd(f)(x),
    "jacrev": lambda f, x: s2sad.jacrev(f)(x),
    "jacobian": lambda f, x: s2sad.jacobian(f)(x),
    "hessian": lambda f, x: s2sad.hessian(f)(x),
}


def _expected(name, grad, hess, x):
    """What an entry point gives for f with gradient `grad` and Hessian
    `hess` at x (jvp along ones)."""
    if name == "jvp" or name == "batched jvp":
        return grad(x) @ np.ones_like(x)
    if name == "hessian":
        return hess(x)
    return grad(x)


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_each_entry_point_follows_a_redefined_helper(notebook, name):
    notebook.run("""
        import numpy as np

        def h(x):
            return 2.0 * x

        def f(x):
            return np.sum(h(x) * x)
    """)
    f, x, run = notebook["f"], np.array([0.5, -1.0, 2.0]), ENTRY_POINTS[name]
    for _ in range(2):  # (the second call finds it kept)
        np.testing.assert_allclose(run(f, x), _expected(
            name, lambda x: 4.0 * x, lambda x: 4.0 * np.eye(3), x))
    notebook.run("""
        def h(x):
            return x ** 3
    """)
    for _ in range(2):
        np.testing.assert_allclose(run(f, x), _expected(
            name, lambda x: 4.0 * x ** 3, lambda x: np.diag(12.0 * x ** 2),
            x))


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_each_entry_point_follows_new_code_defaults_and_cells(name):
    scale = 2.0

    def f(x, k=1.0):
        return k * scale * np.sum(x * x)
    x, run = np.array([0.5, -1.0, 2.0]), ENTRY_POINTS[name]
    np.testing.assert_allclose(run(f, x), _expected(
        name, lambda x: 4.0 * x, lambda x: 4.0 * np.eye(3), x))
    f.__defaults__ = (3.0,)
    np.testing.assert_allclose(run(f, x), _expected(
        name, lambda x: 12.0 * x, lambda x: 12.0 * np.eye(3), x))

    def cubes(x, k=1.0):
        return k * scale * np.sum(x ** 3)
    f.__code__ = cubes.__code__
    np.testing.assert_allclose(run(f, x), _expected(
        name, lambda x: 18.0 * x ** 2, lambda x: np.diag(36.0 * x), x))
    scale = 1.0  # (a closure cell: read when the code runs)
    np.testing.assert_allclose(run(f, x), _expected(
        name, lambda x: 9.0 * x ** 2, lambda x: np.diag(18.0 * x), x))
    s2sad.clear_cache()
    np.testing.assert_allclose(run(f, x), _expected(
        name, lambda x: 9.0 * x ** 2, lambda x: np.diag(18.0 * x), x))


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_a_wrapper_copying_the_functions_dict_is_its_own(name):
    # functools.wraps copies f.__dict__ into the wrapper, which must not
    # take what s2sad kept there for f
    import functools

    def f(x):
        return np.sum(x * x)

    @functools.wraps(f)
    def doubled(x):
        return 2.0 * f(x)
    x, run = np.array([0.5, -1.0, 2.0]), ENTRY_POINTS[name]
    np.testing.assert_allclose(run(f, x), _expected(
        name, lambda x: 2.0 * x, lambda x: 2.0 * np.eye(3), x))
    doubled = functools.wraps(f)(doubled)  # (now with what f keeps)
    np.testing.assert_allclose(run(doubled, x), _expected(
        name, lambda x: 4.0 * x, lambda x: 4.0 * np.eye(3), x))
    np.testing.assert_allclose(run(f, x), _expected(
        name, lambda x: 2.0 * x, lambda x: 2.0 * np.eye(3), x))


def test_a_rule_added_later_wins_in_a_kept_jvp_and_vjp():
    def softclip(x):
        return np.tanh(x)

    def model(x):
        return softclip(x) * 2.0
    assert s2sad.jvp(model, (0.2,), (1.0,))[1] == pytest.approx(
        2 * (1 - np.tanh(0.2) ** 2))
    assert s2sad.vjp(model, 0.2)[1](1.0)[0] == pytest.approx(
        2 * (1 - np.tanh(0.2) ** 2))

    @s2sad.adjoint(softclip)
    def _(y, x):
        d[x] = d[y] * 7.0

    @s2sad.tangent(softclip)
    def _(y, x):
        d[y] = d[x] * 7.0
    assert s2sad.jvp(model, (0.2,), (1.0,))[1] == 14.0
    assert s2sad.vjp(model, 0.2)[1](1.0)[0] == 14.0


def test_a_kept_jvp_follows_the_kinds_of_the_arguments():
    def f(x, n):
        return x * n
    assert s2sad.jvp(f, (2.0, 3), (1.0, None))[1] == 3.0
    assert s2sad.jvp(f, (2.0, 3.0), (1.0, 1.0))[1] == 5.0
    assert s2sad.jvp(f, (2.0, 3), (1.0, None))[1] == 3.0
    assert s2sad.vjp(f, 2.0, 3)[1](1.0) == (3.0, None)
    assert s2sad.vjp(f, 2.0, 3.0)[1](1.0) == (3.0, 2.0)


def test_derivatives_of_a_held_gradient_follow_a_redefined_helper(notebook):
    # a Hessian holds grad(f), whose resolution as a callee is kept on it
    notebook.run("""
        import numpy as np

        def h(x):
            return 2.0 * x

        def f(x):
            return np.sum(h(x) * x)
    """)
    g = s2sad.grad(notebook["f"])
    held = [s2sad.hessian(notebook["f"]), s2sad.jacfwd(g), s2sad.jacrev(g),
            lambda x: s2sad.jvp(g, (x,), (np.eye(3),), batched=True)[1],
            lambda x: np.array([s2sad.vjp(g, x)[1](e)[0] for e in np.eye(3)])]
    x = np.array([0.5, -1.0, 2.0])
    for _ in range(2):
        for run in held:
            np.testing.assert_allclose(run(x), 4.0 * np.eye(3))
    notebook.run("""
        def h(x):
            return x ** 3
    """)
    for _ in range(2):
        for run in held:
            np.testing.assert_allclose(run(x), np.diag(12.0 * x ** 2))


def test_derivatives_of_a_held_gradient_follow_new_code():
    def f(x):
        return np.sum(x * x)
    g = s2sad.grad(f)
    held = [s2sad.hessian(f), s2sad.jacfwd(g), s2sad.jacrev(g),
            lambda x: s2sad.jvp(g, (x,), (np.eye(3),), batched=True)[1]]
    x = np.array([0.5, -1.0, 2.0])
    for run in held * 2:
        np.testing.assert_allclose(run(x), 2.0 * np.eye(3))

    def quartic(x):
        return np.sum(x ** 4)
    f.__code__ = quartic.__code__  # (grad_f's own code is unchanged)
    for run in held * 2:
        np.testing.assert_allclose(run(x), np.diag(12.0 * x ** 2))


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_what_an_entry_point_keeps_leaves_the_function_as_it_was(name):
    # a closure over a batch, differentiated once per step of a loop: what
    # is kept for it goes with it, at once (no reference cycle), and the
    # function is left as it was (its __dict__, which pickling by value and
    # functools.wraps copy)
    import gc
    import weakref

    def make_loss(batch):
        def loss(w):
            return np.sum((batch @ w) ** 2)
        return loss
    run, w, refs = ENTRY_POINTS[name], np.array([0.5, -1.0, 2.0]), []
    run(make_loss(np.ones((4, 3))), w)  # (making the code leaves cycles)
    gc.collect()
    gc.disable()
    try:
        for _ in range(5):
            loss = make_loss(np.ones((4, 3)))
            run(loss, w)
            run(loss, w)
            assert vars(loss) == {}
            refs.append(weakref.ref(loss))
            del loss
        assert sum(r() is not None for r in refs) == 0
    finally:
        gc.enable()


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_a_recursive_closure_is_differentiated_each_time(name):
    def make(scale):
        def total(x, n=3):
            return scale * np.sum(x) if n == 0 else total(x * x, n - 1)
        return total
    x, run = np.array([0.5, -1.0, 2.0]), ENTRY_POINTS[name]
    for scale in (1.0, 2.0):  # (f(x) = scale sum(x^8))
        total = make(scale)
        for _ in range(2):
            np.testing.assert_allclose(run(total, x), _expected(
                name, lambda x: 8.0 * scale * x ** 7,
                lambda x: np.diag(56.0 * scale * x ** 6), x))


def test_what_is_kept_for_calls_is_bounded(monkeypatch):
    # as derive.derive keeps at most MAX_TRANSFORMATIONS: the least
    # recently used go, and come back when called again
    from s2sad import calls
    monkeypatch.setattr(calls, "MAX_KEPT", 3)
    s2sad.clear_cache()
    powers = []
    for p in range(1, 7):
        def power(x, p=float(p)):
            return np.sum(x ** p)
        powers.append(power)
    x = np.array([0.5, 2.0])
    for _ in range(2):
        for p, power in enumerate(powers, 1):
            np.testing.assert_allclose(s2sad.jvp(power, (x,), (x,))[1],
                                       p * np.sum(x ** p))
            assert len(calls._KEPT) <= 3


class Drift:
    def __init__(self, rate):
        self.rate = rate

    def step(self, y, k):
        return y + 0.01 * (self.rate * math.sin(k * y) - y)

    def path(self, k, y, n):
        for _ in range(n):
            y = self.step(y, k)
        return y


def damped(k1, k2, y, n):
    def rhs(y):
        return -k1 * y + k2 * math.sin(y)
    for _ in range(n):
        y = y + 0.01 * rhs(y)
    return y


def test_closures_and_methods_called_in_a_loop_are_resolved_once(
        monkeypatch, effects_counted):
    # a nested function or a method called in a loop is dispatched when it
    # runs; what that finds (its derivative functions) is kept for the
    # nested function (each new one finds its own values) and for the
    # method's function (each call binds its object anew)
    from s2sad import calls
    found = []
    resolve = calls.callee
    monkeypatch.setattr(calls, "callee",
                        lambda fn: found.append(fn) or resolve(fn))
    grad = s2sad.grad(damped, argnums=(0, 1, 2))
    for k1 in (0.5, 0.8):
        g = grad(k1, 0.3, 1.0, 50)
        expected = s2sad.grad(damped, argnums=(0, 1, 2),
                              optimize=False)(k1, 0.3, 1.0, 50)
        np.testing.assert_allclose(g, expected, rtol=1e-13)
    def resolved(name):
        return sum(getattr(fn, "__name__", None) == name for fn in found)
    assert resolved("rhs") <= 4  # (once a closure, not once a step)
    s2sad.check_grads(damped, (0.5, 0.3, 1.0, 20), argnums=(0, 1, 2))
    found.clear()
    slow, fast = Drift(0.5), Drift(2.0)
    for model in (slow, fast, slow):
        g = s2sad.grad(model.path, argnums=(0, 1))(1.3, 0.4, 40)
        expected = s2sad.grad(lambda k, y: model.path(k, y, 40),
                              argnums=(0, 1), optimize=False)(1.3, 0.4)
        np.testing.assert_allclose(g, expected, rtol=1e-13)
    assert resolved("step") <= 6  # (once a kind of call)
    # a method redefined on the class is followed
    old = Drift.step
    try:
        Drift.step = lambda self, y, k: y + 0.01 * self.rate * y * k
        g = s2sad.grad(slow.path, argnums=0)(1.3, 0.4, 3)
        expected = s2sad.grad(lambda k: slow.path(k, 0.4, 3))(1.3)
        assert g == pytest.approx(expected, rel=1e-13)
    finally:
        Drift.step = old
    assert s2sad.grad(slow.path, argnums=0)(1.3, 0.4, 3) == pytest.approx(
        s2sad.grad(lambda k: slow.path(k, 0.4, 3), optimize=False)(1.3),
        rel=1e-13)

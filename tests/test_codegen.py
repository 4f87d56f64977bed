"""Generated code: deterministic, cached, debuggable, self-contained."""

import inspect
import linecache
import sys
import traceback

import numpy as np

import s2sad
from s2sad import api
from tests import corpus


def fresh(func):
    """A copy of `func` with its own code object, so it misses the cache."""
    return type(func)(func.__code__.replace(), func.__globals__, func.__name__,
                      func.__defaults__, func.__closure__)


def test_generation_is_deterministic():
    first = s2sad.grad(fresh(corpus.branches), argnums=(0, 1)).source
    second = s2sad.grad(fresh(corpus.branches), argnums=(0, 1)).source
    assert first == second


def test_a_function_is_transformed_once_per_options(monkeypatch):
    # (not read from the disk cache, where an earlier test may have put it)
    monkeypatch.setenv("S2SAD_CACHE", "0")
    f = fresh(corpus.polynomial)
    before = api.stats["transformations"]
    g = s2sad.grad(f)
    assert s2sad.grad(f).__wrapped__ is g.__wrapped__  # the same code
    assert api.stats["transformations"] == before + 1
    s2sad.grad(f, argnums=1)
    s2sad.value_and_grad(f)
    s2sad.grad(f, optimize=False)
    assert api.stats["transformations"] == before + 4
    s2sad.grad(f, argnums=1)
    assert api.stats["transformations"] == before + 4


def test_source_and_ssa_are_attached():
    g = s2sad.grad(corpus.polynomial)
    assert g.source.startswith("def grad_polynomial(x, y):")
    assert g.ssa.startswith("def polynomial(x, y):")
    assert s2sad.show(corpus.polynomial) == g.source
    assert s2sad.show(corpus.polynomial, stage="ssa") == g.ssa


def test_inspect_and_linecache_show_the_generated_source():
    g = s2sad.grad(corpus.branches)
    assert g.source.startswith(inspect.getsource(g))
    filename = g.__wrapped__.__code__.co_filename
    assert filename.startswith("<s2sad:grad_branches:")
    assert g.source.startswith("".join(linecache.getlines(filename)))


def test_a_traceback_inside_a_gradient_shows_the_generated_line():
    def f(x, y):
        return np.sum(x * y)
    g = s2sad.grad(f)
    try:
        g(np.ones(3), np.ones(4))  # the forward sweep fails to broadcast
    except ValueError:
        text = traceback.format_exc()
    else:
        raise AssertionError("expected a broadcasting error")
    assert "grad_f" in text and "x * y" in text


def test_generated_code_writes_nothing_into_the_users_module():
    before = set(vars(sys.modules[corpus.__name__]))
    s2sad.grad(corpus.numpy_mix, argnums=(0, 1))
    assert set(vars(sys.modules[corpus.__name__])) == before


def test_each_adjoint_block_names_its_source_line():
    source = s2sad.grad(corpus.branches).source
    line = inspect.getsourcelines(corpus.branches)[1] + 2
    assert f"# grad of line {line}: z = x * y" in source


def test_unoptimised_code_is_kept_for_teaching():
    raw = s2sad.grad(corpus.polynomial, optimize=False)
    assert raw.source != s2sad.grad(corpus.polynomial).source
    assert raw(1.3, -0.7) == s2sad.grad(corpus.polynomial)(1.3, -0.7)


def test_gradients_can_be_lowered_again():
    for func in (corpus.polynomial, corpus.reductions):
        g = s2sad.grad(func)
        assert f"def grad_{func.__name__}" in s2sad.show(g, stage="ssa")


def test_scalar_programs_get_a_float_variant_and_an_array_fallback():
    g = s2sad.grad(corpus.polynomial, argnums=(0, 1))
    assert "def grad_polynomial_arrays(x, y):" in g.source
    assert "runtime.unbroadcast" not in inspect.getsource(g)
    floats = g(1.3, -0.7)
    assert g(np.float64(1.3), np.array(-0.7)) == floats  # via the fallback
    s2sad.check_grads(corpus.broadcasting, (np.array([1.3, 0.2]),
                                           np.array([[-0.7], [0.4]])))


def test_same_source_in_two_modules_gets_two_gradients(tmp_path):
    import importlib.util
    modules = []
    for name, scale in (("same_a", 2.0), ("same_b", 5.0)):
        path = tmp_path / f"{name}.py"
        path.write_text(f"SCALE = {scale}\n\n\ndef f(x):\n    return SCALE * x * x\n")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    assert modules[0].f.__code__ == modules[1].f.__code__  # equal by content
    assert s2sad.grad(modules[0].f)(1.0) == 4.0
    assert s2sad.grad(modules[1].f)(1.0) == 10.0


def negative_base(x, n):
    return (-2.0) ** n * x


def test_a_negative_number_keeps_its_parentheses():
    # printed bare, `-2.0 ** n` would be -(2.0 ** n)
    for optimize in (True, False):
        grad = s2sad.grad(negative_base, optimize=optimize)
        assert grad(1.5, 2) == 4.0
        assert "(-2.0) ** n" in grad.source


def negative_imaginary(x):
    return (x * (-1j) ** 2 + x * (2.0 - 1.5j)).real


def test_complex_constants_keep_their_sign():
    value, slope = s2sad.value_and_grad(negative_imaginary)(2.0)
    assert (value, slope) == (2.0, 1.0)


grad_reads_globals = 1.5  # globals named as the generated functions are
jvp_reads_globals = 2.0
vjp_reads_globals = 4.0


def reads_globals(x):
    return x * grad_reads_globals * jvp_reads_globals + vjp_reads_globals


def test_a_global_named_as_the_generated_function_is_the_global():
    assert s2sad.grad(reads_globals)(2.0) == 3.0
    assert s2sad.value_and_grad(reads_globals)(2.0) == (10.0, 3.0)
    assert s2sad.jvp(reads_globals, (2.0,), (1.0,)) == (10.0, 3.0)
    value, vjp_fn = s2sad.vjp(reads_globals, 2.0)
    assert (value, vjp_fn(1.0)) == (10.0, (3.0,))
    assert s2sad.grad(s2sad.grad(reads_globals))(2.0) == 0.0

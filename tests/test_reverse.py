"""Reverse mode end to end: the corpus against central differences."""

import numpy as np
import pytest

import s2sad
from tests import corpus


@pytest.mark.parametrize("name", sorted(corpus.CASES))
def test_gradient_matches_central_differences(name):
    func, args, argnums = corpus.CASES[name]
    s2sad.check_grads(func, args, argnums=argnums)


@pytest.mark.parametrize("name", sorted(corpus.CASES))
def test_value_and_grad_returns_the_primal_value(name):
    func, args, argnums = corpus.CASES[name]
    value, grads = s2sad.value_and_grad(func, argnums=argnums)(*args)
    np.testing.assert_allclose(value, func(*args), rtol=1e-15)
    for g, expected in zip(grads, s2sad.grad(func, argnums=argnums)(*args)):
        np.testing.assert_array_equal(g, expected)


def test_argnums_int_returns_one_gradient_tuple_returns_tuple():
    f = corpus.polynomial
    gx = s2sad.grad(f)(1.3, -0.7)
    gy = s2sad.grad(f, argnums=1)(1.3, -0.7)
    both = s2sad.grad(f, argnums=(0, 1))(1.3, -0.7)
    assert both == (gx, gy)
    assert s2sad.grad(f, argnums=[1])(1.3, -0.7) == (gy,)


def test_decorator_forms():
    @s2sad.grad
    def bare(x):
        return x * x

    @s2sad.grad(argnums=(0, 1))
    def parametrised(x, y):
        return x * y

    assert bare(3.0) == 6.0
    assert parametrised(3.0, 4.0) == (4.0, 3.0)


def test_gradient_of_unused_input_is_zero_with_the_input_shape():
    def f(x, y):
        return np.sum(x * 2.0)
    gx, gy = s2sad.grad(f, argnums=(0, 1))(np.ones(3), np.ones((2, 2)))
    np.testing.assert_array_equal(gx, 2.0 * np.ones(3))
    np.testing.assert_array_equal(gy, np.zeros((2, 2)))
    assert s2sad.grad(corpus.constant_output)(1.0) == 0.0


def test_gradient_does_not_modify_the_callers_arrays():
    x = np.array([0.3, -1.2, 0.8, 0.1, 2.0])
    saved = x.copy()
    g = s2sad.grad(corpus.indexing)(x)
    np.testing.assert_array_equal(x, saved)
    g[:] = 0.0  # the gradient is the caller's to modify
    np.testing.assert_array_equal(s2sad.grad(corpus.indexing)(x),
                                  s2sad.grad(corpus.indexing)(saved))


def test_has_aux_passes_the_auxiliary_value_through():
    def f(x):
        y = x * x
        return y * 3.0, {"y": y}
    g, aux = s2sad.grad(f, has_aux=True)(2.0)
    assert g == 12.0 and aux == {"y": 4.0}
    ((value, aux), g) = s2sad.value_and_grad(f, has_aux=True)(2.0)  # as JAX
    assert value == 12.0 and g == 12.0


def test_globals_are_read_when_the_gradient_runs():
    x = np.array([1.0, 2.0, 3.0])
    before = s2sad.grad(corpus.globals_and_constants)(x)
    saved = corpus.SCALE
    corpus.SCALE = 3.0
    try:
        after = s2sad.grad(corpus.globals_and_constants)(x)
    finally:
        corpus.SCALE = saved
    np.testing.assert_allclose(after - np.pi * np.eye(3)[0],
                               2 * (before - np.pi * np.eye(3)[0]))


def test_closure_values_are_read_when_the_gradient_runs():
    scale = 2.0

    def f(x):
        return scale * x * x
    g = s2sad.grad(f)
    assert g(1.0) == 4.0
    scale = 5.0  # noqa: F841 - read through the shared cell
    assert g(1.0) == 10.0


def test_float_and_array_arguments_share_one_transformation():
    f = s2sad.grad(corpus.broadcasting, argnums=(0, 1))
    ga, gb = f(1.5, 0.5)
    s2sad.check_grads(corpus.broadcasting, (1.5, 0.5))
    assert np.shape(ga) == () and np.shape(gb) == ()


def test_calls_for_their_effect_run_in_the_forward_sweep(
        capsys, effects_counted):
    def f(x):
        y = x * x
        print("y is", y)
        return y
    assert s2sad.grad(f)(3.0) == 6.0
    assert capsys.readouterr().out == "y is 9.0\n"


def test_a_users_template_rules_are_used():
    from tests import rules_for_tests
    x = np.array([0.3, -1.2, 2.0])
    s2sad.check_grads(rules_for_tests.uses_softplus, (x,))
    assert "np.exp(-" in s2sad.grad(rules_for_tests.uses_softplus).source
    assert "np.exp(-" in s2sad.show(rules_for_tests.uses_softplus,
                                    mode="forward")


def test_a_rule_for_one_mode_only_says_so_in_the_other():
    from tests import rules_for_tests
    x = np.array([0.3, -1.2, 2.0])
    s2sad.check_grads(rules_for_tests.uses_wobble, (x,), modes=("rev",))
    with pytest.raises(s2sad.S2SADError, match="no forward-mode rule"):
        s2sad.jvp(rules_for_tests.uses_wobble, (x,), (x,))

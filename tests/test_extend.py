"""What users write to steer differentiation: rules for their own functions
(templates, plain-Python derivatives, zero derivatives), stop_gradient, and
gradient hooks (`with s2sad.grad_of(x) as dx:`)."""

import numpy as np
import pytest

import s2sad
from s2sad import errors

# (template rules for a user function: tests/test_reverse.py)


# ---- a black box with a derivative in plain Python ----

_namespace = {}
exec("def cube_root(x):\n    return np.cbrt(x)\n", {"np": np}, _namespace)
black_box = s2sad.custom_vjp(_namespace["cube_root"])  # no source to read
black_box.defvjp(lambda x: (np.cbrt(x), np.cbrt(x)),
                 lambda root, g: (g / (3.0 * root ** 2),))
black_box.defjvp(lambda primals, tangents: (
    np.cbrt(primals[0]), tangents[0] / (3.0 * np.cbrt(primals[0]) ** 2)))


def uses_black_box(x):
    return np.sum(black_box(x * x + 1.0) * x)


def test_custom_vjp_for_a_black_box():
    s2sad.check_grads(uses_black_box, (np.array([0.5, 2.0]),))


half_only_forward = s2sad.custom_vjp(lambda x: x * 0.5)


def uses_half(x):
    return half_only_forward(x)


def test_a_custom_vjp_without_a_mode_says_so():
    with pytest.raises(errors.UnsupportedCallError, match="defvjp"):
        s2sad.grad(uses_half)(1.0)


# ---- zero derivatives ----

def noisy_round(x):
    return np.round(x * 10.0) / 10.0


s2sad.non_differentiable(noisy_round)


def uses_round(x):
    return x * noisy_round(x)


def uses_stop_gradient(x):
    return x * s2sad.stop_gradient(x * x)


def test_non_differentiable_user_function_and_stop_gradient():
    assert s2sad.grad(uses_round)(0.44) == pytest.approx(0.4)
    assert s2sad.jvp(uses_round, (0.44,), (1.0,))[1] == pytest.approx(0.4)
    assert s2sad.grad(uses_stop_gradient)(3.0) == 9.0
    assert s2sad.jvp(uses_stop_gradient, (3.0,), (1.0,)) == (27.0, 9.0)


# ---- gradient hooks ----

SEEN = []


def clipped(x):
    h = np.sin(x) * 3.0
    with s2sad.grad_of(h) as dh:
        SEEN.append(dh)
        dh = np.clip(dh, -1.0, 1.0)
    return np.sum(h * h)


def test_a_hook_sees_the_complete_gradient_and_replaces_it():
    x = np.array([0.3, 1.0])
    SEEN.clear()
    g = s2sad.grad(clipped)(x)
    h = np.sin(x) * 3.0
    np.testing.assert_allclose(SEEN[0], 2.0 * h)  # all of it, at once
    np.testing.assert_allclose(g, np.clip(2.0 * h, -1, 1) * 3.0 * np.cos(x))


def halved_rnn(w, xs):
    h = 0.0
    for x in xs:
        h = np.tanh(w * h + x)
        with s2sad.grad_of(h) as dh:
            dh = 0.5 * dh
    return h


def test_hooks_in_a_loop_run_once_per_iteration():
    w, xs = 0.5, [0.1, 0.2]
    h1 = np.tanh(0.1)
    h2 = np.tanh(w * h1 + 0.2)
    expected = 0.5 * (1 - h2 ** 2) * h1  # h2's adjoint halved; h1 adds 0
    assert s2sad.grad(halved_rnn)(w, xs) == pytest.approx(expected)


def replaced(x):
    with s2sad.grad_of(x) as dx:
        dx = 7.0
    return x * x


def test_hooks_run_normally_undifferentiated_and_in_forward_mode():
    assert s2sad.grad(replaced)(2.0) == 7.0
    SEEN.clear()
    assert clipped(np.zeros(2)) == 0.0  # the block ran with dx = 0
    np.testing.assert_array_equal(SEEN[0], np.zeros(2))
    value, tangent = s2sad.jvp(replaced, (2.0,), (1.0,))
    assert (value, tangent) == (4.0, 4.0)  # forward mode ignores hooks


def other_with(x):
    with s2sad.grad_of(x * 2.0) as dx:
        dx = dx * 2.0
    return x


def returns_in_hook(x):
    with s2sad.grad_of(x) as dx:
        return dx
    return x


@pytest.mark.parametrize("func,words", [
    (other_with, "grad_of"), (returns_in_hook, "backward pass")])
def test_hook_misuse_is_refused(func, words):
    with pytest.raises(errors.UnsupportedSyntaxError, match=words):
        s2sad.grad(func)(1.0)


def mul_sin(a, b):
    return a * np.sin(b)


keyword_custom = s2sad.custom_vjp(mul_sin)
keyword_custom.defvjp(
    lambda a, b: (mul_sin(a, b), (a, b)),
    lambda res, g: (g * np.sin(res[1]), g * res[0] * np.cos(res[1])))
keyword_custom.defjvp(lambda p, t: (
    mul_sin(*p), t[0] * np.sin(p[1]) + p[0] * np.cos(p[1]) * t[1]))


def uses_keyword_custom(x, y):
    return np.sum(keyword_custom(b=y, a=x) ** 2)


def test_custom_vjp_with_keywords_and_constant_arguments():
    x, y = np.array([0.5, 2.0]), np.array([1.0, -0.3])
    s2sad.check_grads(uses_keyword_custom, (x, y))
    s2sad.check_grads(uses_keyword_custom, (x, y), argnums=(0,))  # y: None


too_few = s2sad.custom_vjp(mul_sin)
too_few.defvjp(lambda a, b: (mul_sin(a, b), None), lambda res, g: (g,))


def uses_too_few(x):
    return too_few(x, 2.0)


def test_a_bwd_rule_with_too_few_cotangents_is_explained():
    with pytest.raises(errors.UnsupportedCallError, match="one per positional"):
        s2sad.grad(uses_too_few)(1.0)


def hook_in_a_branch(x):
    y = x * x
    if x > 0:
        with s2sad.grad_of(y) as dy:
            dy = -dy
    return y


def hook_after_a_break(x):
    for i in range(3):
        x = x * 2.0
        if i == 1:
            break
        with s2sad.grad_of(x) as dx:
            dx = 10.0 * dx
    return x


@pytest.mark.parametrize("func", [hook_in_a_branch, hook_after_a_break])
def test_a_hook_must_run_exactly_when_its_variable_is_assigned(func):
    with pytest.raises(errors.UnsupportedSyntaxError, match="same block"):
        s2sad.grad(func)(0.5)

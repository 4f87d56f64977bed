"""Vector mode in reverse: a backward sweep carrying k cotangents at once.

A vjp's backward sweep is linear in the cotangent of the output, so its
vector mode (`batched_vjp_bwd_f`, forward vector mode of the generated
backward sweep, returning only its tangents) gives the cotangents of the
inputs for k cotangents of the output in one sweep. `jacrev` (and
`jacobian` where it picks reverse mode) runs it with every output
element's cotangent, `vjp(..., batched=True)` with the cotangents given.
Each result here is checked against the same derivative taken one
cotangent at a time and against central differences. (tests/test_rules.py
checks every rule's adjoint in this mode.)
"""

import numpy as np
import pytest

import s2sad
from s2sad import api, errors
from tests.test_vector import (
    IDS, PROGRAMS, RNG, central, running_loop, two_inputs)


def blocks(jac, argnums):
    return (jac,) if isinstance(argnums, int) else jac


@pytest.mark.parametrize("f, args, argnums", PROGRAMS, ids=IDS)
def test_jacrev_in_one_sweep_matches_each_output(f, args, argnums):
    before = [np.copy(a) for a in args]
    jac = s2sad.jacrev(f, argnums)(*args)
    single = api._jacrev_per_direction(f, *args, argnums=argnums)
    numeric = central(f, args, argnums)
    forward = s2sad.jacfwd(f, argnums)(*args)
    for got, one, num, fwd in zip(*(blocks(j, argnums) for j in (
            jac, single, numeric, forward))):
        assert got.shape == one.shape and got.dtype == one.dtype
        np.testing.assert_allclose(got, one, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(got, fwd, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-8)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("f, args, argnums", PROGRAMS, ids=IDS)
def test_chunks_of_cotangents_give_the_same_jacobian(f, args, argnums):
    whole = s2sad.jacrev(f, argnums)(*args)
    for chunk in (1, 2, 5):
        parts = s2sad.jacrev(f, argnums, chunk_size=chunk)(*args)
        for a, b in zip(blocks(whole, argnums), blocks(parts, argnums)):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("f, args, argnums", PROGRAMS, ids=IDS)
def test_batched_vjp_gives_each_cotangents_vjp(f, args, argnums):
    k = 4
    out, pull = s2sad.vjp(f, *args, batched=True)
    np.testing.assert_array_equal(out, f(*args))
    cotangents = RNG.standard_normal((k,) + np.shape(out))
    batch = pull(cotangents)
    _, pull_one = s2sad.vjp(f, *args)
    for i in range(k):
        for got, one, arg in zip(batch, pull_one(cotangents[i]), args):
            assert np.shape(got) == (k,) + np.shape(arg)
            np.testing.assert_allclose(got[i], one, rtol=1e-12, atol=1e-14)
    # a cotangent of one direction is shared by all
    shared = pull(cotangents[:1])
    np.testing.assert_allclose(shared[0][0], batch[0][0], rtol=1e-14)


def wide(x):
    # more inputs than outputs: reverse mode's fewer directions
    return np.array([np.sum(np.sin(x) * x), np.prod(x[:3]) + x @ x])


def test_jacobian_of_more_inputs_than_outputs_is_one_backward_sweep(
        monkeypatch):
    sweeps = []
    batched = s2sad.calls.batched_backward
    monkeypatch.setattr(s2sad.calls, "batched_backward",
                        lambda g: sweeps.append(1) or batched(g))
    x = RNG.standard_normal(6)
    jac = s2sad.jacobian(wide)
    got = jac(x)
    assert jac.mode == "reverse" and len(sweeps) == 1
    np.testing.assert_allclose(got, central(wide, (x,), 0), rtol=1e-7)
    np.testing.assert_allclose(got, s2sad.jacfwd(wide)(x), rtol=1e-13)


def test_batched_cotangents_are_never_shared_with_the_result():
    def identity(x):
        return x
    _, pull = s2sad.vjp(identity, RNG.standard_normal(3), batched=True)
    seeds = np.eye(3)
    rows, = pull(seeds)
    rows[0, 0] = 7.0
    assert seeds[0, 0] == 1.0


def test_reverse_vector_source_is_the_backward_sweeps_vector_mode():
    from tests.test_vector import mlp
    text = s2sad.show(mlp, mode="vector_reverse")
    # the vjp's two sweeps, then the backward sweep along k cotangents
    assert text.index("def vjp_mlp(x):") < text.index("def vjp_bwd_mlp(") \
        < text.index("def batched_vjp_bwd_mlp(")
    batched = text[text.index("def batched_vjp_bwd_mlp("):]
    assert "linear in" in batched and "leading axis of directions" in batched
    assert "runtime.directions_matmul_adjoint_b(" in batched
    assert "# from line" in batched
    # only the cotangents are returned
    assert batched.rstrip().splitlines()[-1].strip().startswith("return _")
    assert "_dot" in batched.rstrip().splitlines()[-1]


def test_float32_and_integer_inputs():
    # (has_aux and holomorphic: tests/test_vector.py)
    x = RNG.standard_normal(3)
    jac = s2sad.jacrev(wide)(x.astype(np.float32))
    assert jac.dtype == np.float32
    expected = s2sad.jacrev(wide)(x)  # (to float32's precision of its terms)
    np.testing.assert_allclose(jac, expected, rtol=1e-5,
                               atol=1e-5 * np.abs(expected).max())

    def scaled(x, n):
        return x * n
    jac_x, jac_n = s2sad.jacrev(scaled, (0, 1), allow_int=True)(x, 3)
    np.testing.assert_allclose(jac_x, 3.0 * np.eye(3), rtol=1e-15)
    np.testing.assert_array_equal(jac_n, np.zeros(3))


@s2sad.custom_vjp
def soft_clip(x):
    return np.minimum(x * x, 4.0)


def soft_clip_fwd(x):
    return soft_clip(x), x


def soft_clip_bwd(x, g):
    return (g * 2.0 * x * (x * x < 4.0),)


soft_clip.defvjp(soft_clip_fwd, soft_clip_bwd)


def test_a_users_bwd_in_the_backward_sweep():
    # as in a Hessian, the user's bwd is differentiated (it is linear in
    # its cotangent): in vector mode it takes every cotangent at once
    def through(x):
        return soft_clip(x) + x
    x = np.array([0.5, 3.0, -1.0])
    expected = np.diag(2.0 * x * (x * x < 4.0) + 1.0)
    np.testing.assert_allclose(s2sad.jacrev(through)(x), expected,
                               rtol=1e-14)
    np.testing.assert_allclose(api._jacrev_per_direction(through, x),
                               expected, rtol=1e-14)


def test_reverse_over_reverse_hessian_of_loops_branches_and_writes():
    # the gradient writes elements in place and puts them back in its
    # backward sweep; its vjp's backward sweep, in vector mode, reads them
    # as the plain writes they stand for
    x = RNG.standard_normal(6)
    gradient = s2sad.grad(running_loop)
    H = s2sad.jacrev(gradient)(x)
    np.testing.assert_allclose(H, s2sad.hessian(running_loop)(x),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        H, api._jacrev_per_direction(gradient, x), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(H, central(gradient, (x,), 0), rtol=1e-6,
                               atol=1e-8)


def test_a_jacrev_inside_a_differentiated_function():
    # differentiated through its backward sweeps, one cotangent at a time
    x = RNG.standard_normal(3)

    def trace_of(x):
        return np.trace(s2sad.jacrev(lambda v: np.sin(v) * x)(x))
    np.testing.assert_allclose(s2sad.grad(trace_of)(x),
                               central(trace_of, (x,), 0), rtol=1e-6)


def test_bad_batched_cotangents_are_refused():
    x = np.ones(3)
    _, pull = s2sad.vjp(two_inputs, x, 1.0, batched=True)
    with pytest.raises(errors.GradientShapeError, match="each direction of "
                       "the cotangent given to the vjp of two_inputs has "
                       "shape"):
        pull(np.ones((2, 2)))
    with pytest.raises(errors.InputTypeError, match="no directions"):
        pull(np.ones((0, 3)))
    with pytest.raises(errors.InputTypeError, match="leading axis of "
                       "directions"):
        pull(1.0)

    def pair(x):
        return x * 2.0, np.sum(x)
    _, pull = s2sad.vjp(pair, x, batched=True)
    with pytest.raises(errors.InputTypeError, match="different numbers of "
                       "directions"):
        pull((np.ones((2, 3)), np.ones(3)))
    for make in (s2sad.jacrev, s2sad.jacobian, s2sad.hessian):
        for bad in (0, -1, 2.5, True):
            with pytest.raises(errors.S2SADError, match="chunk_size must be"):
                make(two_inputs, chunk_size=bad)


def clipped(x):
    h = 3.0 * x
    with s2sad.grad_of(h) as dh:
        dh = np.clip(dh, -0.5, 0.5)
    return h


@s2sad.custom_vjp
def clip_gradient(x):
    return x


def clip_gradient_fwd(x):
    return x, None


def clip_gradient_bwd(_, g):
    return (np.clip(g, -0.3, 0.3),)


clip_gradient.defvjp(clip_gradient_fwd, clip_gradient_bwd)


def through_clip(x):
    return 5.0 * clip_gradient(np.sin(x))


@pytest.mark.parametrize("f", [clipped, through_clip])
def test_code_of_yours_in_the_backward_sweep_sees_each_cotangent(f):
    # a gradient hook or a custom_vjp's bwd need not be linear in the
    # cotangent (a clip): each cotangent goes through it, as one backward
    # sweep per cotangent would, not its linearisation at one of them
    x = np.array([0.1, -0.4, 0.7])
    _, pull_one = s2sad.vjp(f, x)
    rows = np.stack([pull_one(e)[0] for e in np.eye(3)])
    for chunk in (None, 1, 2):
        np.testing.assert_allclose(s2sad.jacrev(f, chunk_size=chunk)(x),
                                   rows, rtol=1e-14)
    _, pull = s2sad.vjp(f, x, batched=True)
    C = RNG.standard_normal((4, 3))
    np.testing.assert_allclose(pull(C)[0], np.stack(
        [pull_one(c)[0] for c in C]), rtol=1e-14)


def solve(rhs, y):
    for _ in range(2):
        y = y + rhs(y)
    return y


def sensitivity(p):
    # a Jacobian of a solver taking a closure over p, inside a function
    # differentiated twice: the closure's values are a container whose
    # cotangents carry the directions item by item
    def g(y0):
        a = p[0]

        def rhs(y):
            return a * y
        return solve(rhs, y0)
    J = s2sad.jacrev(g, chunk_size=2)(np.array([0.5, 0.0]))
    return np.sum(J ** 2)


def test_reverse_jacobians_nested_through_closures():
    p = np.array([1.0, 2.0])
    H = s2sad.hessian(sensitivity)(p)
    np.testing.assert_allclose(H, [[96.0, 0.0], [0.0, 0.0]], rtol=1e-12)
    np.testing.assert_allclose(s2sad.jacrev(s2sad.grad(sensitivity))(p), H,
                               rtol=1e-12)
    np.testing.assert_allclose(
        s2sad.jacrev(s2sad.jacrev(sensitivity))(p), H, rtol=1e-12)


def test_argnums_past_the_arguments_are_refused():
    for make in (s2sad.jacrev, s2sad.jacfwd, s2sad.jacobian):
        with pytest.raises(errors.S2SADError, match="argnums=1 does not "
                           "name an argument"):
            make(wide, argnums=1)(np.ones(4))


def test_jacobian_takes_reverse_mode_for_a_function_with_only_a_vjp():
    # clip_gradient has a custom vjp and no jvp: the square function's
    # Jacobian would be forward mode's, which it has not
    def square(x):
        return clip_gradient(x * 2.0)
    x = np.array([0.1, 0.2, 0.05])
    jac = s2sad.jacobian(square)
    np.testing.assert_allclose(jac(x), 0.6 * np.eye(3), rtol=1e-14)
    assert jac.mode == "reverse"
    with pytest.raises(errors.UnsupportedCallError, match="no forward-mode"):
        s2sad.jacfwd(square)(x)


@s2sad.custom_vjp
def identity_of(x):
    return x


identity_of.defvjp(lambda x: (x, None), lambda _, g: (g * 1.0,))


def jacobian_through_a_custom_vjp(p):
    # the residuals of jacrev's sweep hold a closure and a custom_vjp's
    # None: their zero cotangents are containers, in every direction
    def g(y):
        return identity_of(p[0] * y ** 2) * p[1]
    return s2sad.jacrev(g)(np.array([0.5, 0.1, 0.9])).ravel()


def test_second_derivatives_through_a_jacrev_of_a_custom_vjp():
    p = np.array([1.3, 0.7])

    def scalar(p):
        return np.sum(jacobian_through_a_custom_vjp(p) ** 2)
    H = s2sad.hessian(scalar)(p)
    np.testing.assert_allclose(H, central(s2sad.grad(scalar), (p,), 0),
                               rtol=1e-6)
    np.testing.assert_allclose(s2sad.jacrev(s2sad.grad(scalar))(p), H,
                               rtol=1e-12)
    J = s2sad.jacrev(jacobian_through_a_custom_vjp)(p)
    np.testing.assert_allclose(
        J, central(jacobian_through_a_custom_vjp, (p,), 0), rtol=1e-6,
        atol=1e-9)


def test_show_of_a_backward_sweep_with_a_hook():
    text = s2sad.show(clipped, mode="vector_reverse")
    assert "def vjp_bwd_clipped(" in text and "batched_" not in text
    assert "once\n# per cotangent" in text


def test_complex64_jacobians_stay_complex64():
    z = np.array([0.3 + 0.2j, -0.1 + 0.5j], dtype=np.complex64)
    for make in (s2sad.jacrev, s2sad.jacfwd):
        jac = make(lambda z: z ** 3, holomorphic=True)(z)
        assert jac.dtype == np.complex64
        np.testing.assert_allclose(jac, np.diag(3.0 * z ** 2), rtol=1e-5)

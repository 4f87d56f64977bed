"""The optimiser: each pass on small pieces of code, and what it leaves in
the generated code of whole functions.

That the passes never change a result is checked over the random programs
(`tests.programs.check_optimizer`), in reverse and forward mode and for VJPs.
"""

import ast
import math
import re
import textwrap

import gast
import pytest
import numpy as np

import s2sad
from s2sad import api, codegen, derive, optimize, specialise
from tests import corpus, loop_corpus


def optimized(source, derivatives=(), namespace=None, float_values=()):
    """`source` (one def) through the optimiser, as source text. Free names
    resolve in `namespace` (NumPy as `np` by default)."""
    tree = gast.parse(textwrap.dedent(source)).body[0]
    namespace = {"np": np} if namespace is None else namespace
    optimize.optimize(tree, derivatives, "runtime", namespace.get,
                      float_values=float_values)
    return codegen.to_source(tree)


def body(source):
    """The statements of a def's source, dedented, without the def line."""
    return textwrap.dedent(source.split("\n", 1)[1]).strip()


def code(source):
    """Generated source without its comments and docstring."""
    return ast.unparse(ast.Module(ast.parse(source).body[0].body[1:], []))


# -- the passes --

def test_constants_fold_and_identities_apply_to_derivatives_only():
    out = optimized("""
        def f(x, n, g):
            k = 2 * 3 - 1
            m = n * 1.0
            x_bar = g * 1.0 + 0.0
            y_bar = -(-g) * k
            z_bar = 0.0 + n * 1.0
            return m, x_bar, y_bar, z_bar
        """, derivatives={"x_bar", "y_bar", "z_bar"}, float_values={"g"})
    # `n * 1.0` turns an int into a float: the user's code keeps it, and so
    # does an adjoint's where n is not known to be a float; an adjoint is a
    # float already, so its int constants become floats
    assert body(out) == textwrap.dedent("""\
        m = n * 1.0
        y_bar = g * 5.0
        return (m, g, y_bar, m)""")


def test_copies_propagate_and_dead_assignments_go():
    out = optimized("""
        def f(x, tape):
            a = x
            b = a * 2.0
            unused = np.sin(b)
            kept = np.log(b)
            c, d = tape.pop()
            return b
        """, derivatives={"unused"})
    # the pop moves the tape, so it stays though c and d are never read; the
    # user's own statement stays too: it may raise, as the function does
    assert body(out) == textwrap.dedent("""\
        b = x * 2.0
        kept = np.log(b)
        c, d = tape.pop()
        return b""")


def test_an_adjoints_first_value_merges_into_its_accumulation():
    out = optimized("""
        def f(g, x, y):
            x_bar = g * y
            t = g + 1.0
            x_bar = x_bar + t * x
            return x_bar
        """, derivatives={"x_bar"})
    assert body(out) == "t = g + 1.0\nx_bar = g * y + t * x\nreturn x_bar"


def test_a_pure_expression_held_by_a_name_is_read_from_it():
    out = optimized("""
        def f(x, c, g):
            y = np.exp(x)
            z = x * 2.0
            if c:
                q = g * np.exp(x) + np.sin(x)
            else:
                q = np.sin(x)
            for i in range(3):
                e = np.exp(x) * i + x * 2.0
            return y, z, q, e
        """)
    assert out.count("np.exp") == 1
    assert "q = g * y + np.sin(x)" in out
    assert "e = y * i + z" in out


def test_reuse_stops_where_an_operand_or_the_holder_changes():
    out = optimized("""
        def f(x, c):
            a = np.exp(x)
            x = x + 1.0
            b = np.exp(x)
            a = b * 3.0
            d = b * 3.0
            for i in range(3):
                e = np.sin(x)
                x = x * 2.0
            if c:
                h = np.cos(x)
            k = np.cos(x)
            s = x * 2.0
            while s > 1.0:
                s = np.sqrt(s)
                t = np.sqrt(s)
            return a, b, d, e, h, k, t
        """)
    assert out.count("np.exp(x)") == 2  # x changed between them
    # (d is a's value: read from a, though a is assigned twice)
    assert "return (a, b, a, e, h, k, t)" in out
    assert out.count("np.sin(x)") == 1
    assert "k = np.cos(x)" in out  # the branch may not have run
    assert "t = np.sqrt(s)" in out  # s changed: the loop assigns it


def test_only_pure_calls_are_reused():
    def user_function(x):
        return x

    out = optimized("""
        def f(x, cell, np_local):
            a = np.random.rand(3)
            b = np.random.rand(3)
            c = user_function(x)
            d = user_function(x)
            e = cell(x)
            k = cell(x)
            m = x.sum()
            n = x.sum()
            t = []
            u = []
            return a, b, c, d, e, k, m, n, t, u
        """, namespace={"np": np, "user_function": user_function})
    for call in ("np.random.rand(3)", "user_function(x)", "cell(x)",
                 "x.sum()"):
        assert out.count(call) == 2, call
    assert "t = []" in out and "u = []" in out  # two lists, not one


def test_a_local_name_shadowing_numpy_is_not_trusted():
    out = optimized("""
        def f(x, np):
            a = np.exp(x)
            b = np.exp(x)
            return a, b
        """)
    assert out.count("np.exp(x)") == 2


# -- what is left in generated code --

def test_no_adjoint_for_what_does_not_reach_a_requested_gradient():
    def f(x, y):
        z = np.sin(y) * 2.0
        return x * z + np.cos(y)

    source = code(s2sad.grad(f, argnums=0).source)
    assert "y_bar" not in source and "z_bar" not in source
    assert source.count("np.cos") == 1  # the value's, not sin's derivative


def test_a_value_computed_in_the_forward_sweep_is_not_recomputed():
    def f(x):
        y = np.exp(x)
        return np.sum(y * np.exp(x))

    assert code(s2sad.grad(f).source).count("np.exp") == 1


def unread_names(source):
    """(function, names) for each function of generated `source` that takes
    off a tape a value the statements after it never read (in its block),
    or assigns a name no function reads (a statement that may raise stays
    for its error, so a variant may compute a value only to raise it:
    `z **= 2` of floats)."""
    def loaded(trees):
        return {n.id for tree in trees for n in ast.walk(tree)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    module = ast.parse(source)
    anywhere, found = loaded([module]), []
    for tree in module.body:
        for block in (getattr(node, field) for node in ast.walk(tree)
                      for field in ("body", "orelse")
                      if isinstance(getattr(node, field, None), list)):
            for at, stmt in enumerate(block):
                if not isinstance(stmt, ast.Assign) or not isinstance(
                        stmt.value, ast.Call):
                    continue
                targets = [t.id for t in ast.walk(stmt.targets[0])
                           if isinstance(t, ast.Name)]
                if getattr(stmt.value.func, "attr", None) == "pop":
                    after = loaded(block[at + 1:])
                    unread = [t for t in targets if t not in after]
                elif len(targets) == 1:
                    unread = [t for t in targets if t not in anywhere]
                else:
                    continue
                if unread:
                    found.append((tree.name, unread))
    return found


def test_no_dead_code_and_no_tape_entry_left_unread():
    """Over the corpus: every name the optimised code assigns is read, and
    so is every value the backward sweep takes off a tape."""
    cases = list(corpus.CASES.values()) + list(loop_corpus.CASES.values())
    # (and a string's steps, each writing a slice of a new array twice: the
    # optimiser makes the adjoint of the first write a copy, which reads
    # nothing the tape kept of the array)
    for func, _, argnums in cases + [(leapfrog_string, None, 0)]:
        unread = unread_names(s2sad.grad(func, argnums=argnums).source)
        assert not unread, (func.__name__, unread)


def test_a_tape_keeps_nothing_a_later_pass_stopped_reading():
    u0 = np.sin(np.linspace(0.0, np.pi, 12)) ** 3
    s2sad.check_grads(leapfrog_string, (u0, 7), argnums=0)
    value, _ = s2sad.value_and_grad(leapfrog_string)(u0, 7)
    assert value == leapfrog_string(u0, 7)
    floats = s2sad.grad(leapfrog_string).source.split(
        "\ndef grad_leapfrog_string_arrays")[0]
    pushed = re.search(r"_tape\.append\(\((.*)\)\)", floats).group(1)
    assert pushed.count("runtime.like(") == 2, pushed


def helper(x, y):
    return x * y + y


def calls_helper(x, y):
    return helper(x, 2.0 * y) * x


def test_unoptimised_code_is_unoptimised_down_the_call_chain():
    raw = s2sad.grad(calls_helper, argnums=(0, 1), optimize=False)
    callee = raw.source[raw.source.index("def vjp_bwd_helper"):]
    assert "* 1.0" in callee
    assert "* 1.0" not in s2sad.grad(calls_helper, argnums=(0, 1)).source
    assert raw(1.3, 0.4) == s2sad.grad(calls_helper, argnums=(0, 1))(1.3, 0.4)


def test_a_conditional_expression_with_a_constant_test_folds():
    out = optimized("""
        def f(x, y):
            a = x if True else y
            b = x if 0 else y * 2.0
            return a, b
        """)
    assert body(out) == "b = y * 2.0\nreturn (x, b)"


def loop_over_pairs(pairs, x):
    for w, b in pairs:
        x = np.tanh(w * x + b)
    return x


def test_a_backward_sweep_is_passed_only_what_it_reads():
    cases = list(corpus.CASES.values()) + list(loop_corpus.CASES.values())
    for func, _, argnums in cases + [(loop_over_pairs, None, (0, 1))]:
        source = derive.source_of(api.differentiate(func, argnums,
                                                    mode="vjp"))
        backward = next(node for node in ast.parse(source).body
                        if node.name.startswith("vjp_bwd_"))
        loaded = {n.id for n in ast.walk(backward) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, ast.Load)}
        unread = [a.arg for a in backward.args.args if a.arg not in loaded]
        assert not unread, (func.__name__, unread)


def test_residuals_the_backward_sweep_overwrites_first_are_not_passed():
    forward = gast.parse(textwrap.dedent("""
        def fwd(x, n):
            s_1 = None
            for i in range(n):
                s_1 = x * i
            t = np.sin(x)
            return x, (i, n, s_1, t, x)
        """)).body[0]
    backward = gast.parse(textwrap.dedent("""
        def bwd(i, n, s_1, t, x, g):
            for i in reversed(range(n)):  # i is the loop's own
                s_1 = x * i
                g = g * s_1
            if n > 2:
                t = 2.0
            else:
                x = 3.0
            return g * t * x
        """)).body[0]
    optimize.prune_residuals(forward, backward)
    # s_1 is read only after the loop set it; t and x may be read unchanged
    assert [a.id for a in backward.args.args] == ["n", "t", "x", "g"]
    # (the loop stays: it is the function's own, which may raise)
    assert body(codegen.to_source(forward)) == textwrap.dedent("""\
        for i in range(n):
            s_1 = x * i
        t = np.sin(x)
        return (x, (n, t, x))""")


def test_a_loops_accumulation_into_its_own_array_is_in_place():
    out = optimized("""
        def f(xs, W, g):
            W_bar = runtime.zeros_like(W)
            U_bar = runtime.zeros_like(W)
            V_bar = runtime.zeros_like(W)
            for x in xs:
                W_bar = W_bar + g * x
                U_bar = U_bar + g
                t = U_bar * 2.0
                V_bar = V_bar + x
            V_bar = V_bar + g
            return W_bar, t, V_bar
        """, derivatives={"W_bar", "U_bar", "V_bar"})
    # each accumulator keeps its own zeros, which it may be added into
    assert out.count("runtime.zeros_like(W)") == 3
    assert "W_bar = runtime.accumulated(W_bar, g * x)" in out
    assert "U_bar = U_bar + g" in out  # read in the loop: t may keep it
    # assigned after the loop too: what it holds in the loop is its own
    assert "V_bar = runtime.accumulated(V_bar, x)" in out
    assert "V_bar = V_bar + g" in out


class Counter:
    def __init__(self):
        self.w = 1.0

    def step(self):
        self.w = self.w * 2.0


def reads_around_a_method(x, counter):
    a = counter.w * x
    counter.step()
    b = counter.w * x
    return a * b


def recurrence(x, phi):
    y = np.zeros_like(x)
    y[0] = x[0]
    for t in range(1, x.shape[0]):
        y[t] = phi * y[t - 1] + x[t]  # (reads the element before)
    return np.sum(y ** 2)


def test_the_adjoint_of_an_element_written_from_another_is_in_place():
    # its adjoint zeroes element t and adds into element t - 1 of one
    # array the loop owns, not a copy of it per step (outside attack: a
    # filter of 16000 steps took 60 times its function's time)
    x = np.linspace(-1.0, 1.0, 9)
    g = s2sad.grad(recurrence, argnums=(0, 1))
    got = g(x, 0.5)
    loop = g.source[g.source.index("for t in reversed"):]
    assert "runtime.cleared(" in loop and "runtime.setitem(" not in loop
    for a, b in zip(got, s2sad.grad(recurrence, (0, 1), optimize=False)(
            x, 0.5)):
        np.testing.assert_array_equal(a, b)
    s2sad.check_grads(recurrence, (x, 0.5), argnums=(0, 1))


def test_nothing_held_is_reused_after_a_call_that_may_change_it(
        effects_counted):
    # counter.w doubles in between: b is 2 a, so the gradient is 4 w^2 x
    assert s2sad.grad(reads_around_a_method)(2.0, Counter()) == 16.0 / 2.0
    out = optimized("""
        def f(x, c, tape):
            a = c.w * x
            c.step()
            b = c.w * x
            d = np.sum(x) * 2.0
            tape.append(d)
            e = np.sum(x) * 2.0
            return a, b, d, e
        """)
    assert out.count("c.w * x") == 2 and out.count("np.sum(x) * 2.0") == 2


def accumulates_mixed_precision(w, x):
    s = 0.0
    for t in range(3):
        s = s + np.sum(w * x)
    return s


def test_in_place_accumulation_keeps_numpys_result_type():
    w, x = np.ones(3, np.float32), np.arange(3.0)
    for optimize in (True, False):
        grad = s2sad.grad(accumulates_mixed_precision, optimize=optimize)
        # accumulated in NumPy's result type (float64), returned in the
        # input's dtype
        assert grad(w, x).dtype == np.float32
        np.testing.assert_array_equal(grad(w, x), (3.0 * x).astype(np.float32))


def tanh_loop(w, x):
    s = 0.0
    for t in range(3):
        s = s + np.sum(np.tanh(w * x + t))
    return s


def test_code_that_accumulates_in_place_differentiates_again():
    w, x = np.array([0.3, -0.2, 0.5]), np.array([1.0, 2.0, -1.5])
    assert "runtime.accumulated" in s2sad.grad(tanh_loop).source
    hessian = s2sad.hessian(tanh_loop)(w, x)
    grad, eps = s2sad.grad(tanh_loop), 1e-6
    columns = [(grad(w + eps * e, x) - grad(w - eps * e, x)) / (2 * eps)
               for e in np.eye(3)]
    np.testing.assert_allclose(hessian, np.array(columns).T, rtol=1e-6,
                               atol=1e-8)


def test_the_value_is_pythons_to_the_last_bit():
    # pow is not always correctly rounded: x ** 2 != x * x here, and the
    # value s2sad returns must be f's
    def f(x):
        return x ** 2 + x ** 2 * x

    x = 2.816867967154855
    assert x ** 2 != x * x
    assert s2sad.value_and_grad(f)(x)[0] == f(x)
    assert s2sad.value_and_grad(f)(np.float64(x))[0] == f(np.float64(x))
    assert s2sad.jvp(f, (x,), (1.0,))[0] == f(x)


def test_slice_adjoints_of_one_index_add_once_into_a_total_nothing_else_reads():
    out = optimized("""
        def f(x, g, h, k, y_bar):
            t_bar = runtime.setitem(y_bar, slice(1, None), 0.0)
            u_bar = runtime.setitem(y_bar, slice(None, 1), 0.0)
            x_bar = t_bar + runtime.getitem_adjoint(g, x, slice(1, None)) \\
                + runtime.getitem_adjoint(h, x, slice(None, -1)) \\
                + runtime.getitem_adjoint(k, x, slice(1, None))
            return x_bar, u_bar + runtime.getitem_adjoint(g, x, 0), u_bar
        """, derivatives={"t_bar", "u_bar", "x_bar"})
    # g and k go into x[1:] as one sum (the slice adjoint is linear in
    # them); t_bar, y_bar with zeros at x[1:], is read only there: the sum
    # replaces those zeros (see the next test); u_bar is read twice, so its
    # sum is a new array
    assert "runtime.getitem_adjoints(y_bar, x, g + k, slice(1, None), " \
        "h, slice(None, -1), replaced=True)" in out
    assert "runtime.getitem_adjoint(g, x, 0)" in out


def test_a_negation_read_once_is_taken_into_its_reader_s_arithmetic():
    out = optimized("""
        def f(a, b, c, y, w):
            t_bar = -a
            u_bar = t_bar * 4.0
            s_bar = -b
            v_bar = s_bar * (2.0 * y)
            n_bar = -c
            m_bar = w - n_bar
            k_bar = -y
            x_bar = runtime.f(k_bar) + y
            return u_bar, v_bar, m_bar, x_bar
        """, derivatives={"t_bar", "u_bar", "s_bar", "v_bar", "n_bar",
                          "m_bar", "k_bar", "x_bar"})
    # the sign goes into a number factor, or turns `-` into `+`; where
    # nothing takes it (an argument of a call) the negation stays
    assert body(out) == textwrap.dedent("""\
        u_bar = a * -4.0
        v_bar = b * (-2.0 * y)
        m_bar = w + c
        k_bar = -y
        x_bar = runtime.f(k_bar) + y
        return (u_bar, v_bar, m_bar, x_bar)""")


def test_a_negation_comes_out_of_a_sum_and_into_an_accumulation():
    out = optimized("""
        def f(a, b, c, x, y):
            t_bar = runtime.unbroadcast(-a, x)
            g_bar = runtime.zeros_like(x)
            n_bar = -b
            g_bar[1:] += n_bar
            m_bar = y + -c * x
            return t_bar, g_bar, m_bar
        """, derivatives={"t_bar", "g_bar", "n_bar", "m_bar"})
    # a sum of negated terms is the negated sum (one pass over the smaller
    # array); `g[i] += -b` is `g[i] -= b`, and `y + -c * x` is `y - c * x`
    # (and a rule's partial `-z / y` of its output z gives `-(g * (z /
    # y))`, whose sign they take)
    assert body(out) == textwrap.dedent("""\
        t_bar = -runtime.unbroadcast(a, x)
        g_bar = runtime.zeros_like(x)
        g_bar[1:] -= b
        m_bar = y - c * x
        return (t_bar, g_bar, m_bar)""")


def negated_sums(x, M):
    s = np.sum(M - x[:, None] * 2.0, axis=1)
    u = np.zeros(len(x))
    for i in range(1, len(x)):
        u[i - 1:i + 1] -= x[i - 1] * s[i]
    P = M / np.sum(M, axis=1, keepdims=True)  # (-P / sum, summed)
    return np.sum(u * u) - np.sum(np.max(M, axis=1, keepdims=True) - M) + \
        np.sum(P * P) + np.sum(1.0 / (2.0 + x * x))


def negations(x, y):
    a = -x[1:] * 3.0
    b = np.sin(a) * (1.0 - x[:-1]) * y
    return np.sum(b - (-a) * np.cos(x[:-1]) - 2.0 * (x[1:] - x[:-1] * 3.0))


def test_the_sign_taken_elsewhere_gives_the_same_bits():
    # IEEE arithmetic is symmetric in sign: -a * c == a * -c, b + -a ==
    # b - a, to the last bit
    args = (np.linspace(-1.0, 2.0, 7), 0.7)
    for argnums in (0, 1, (0, 1)):
        fast = s2sad.grad(negations, argnums=argnums)(*args)
        plain = s2sad.grad(negations, argnums=argnums, optimize=False)(*args)
        if argnums != (0, 1):
            fast, plain = (fast,), (plain,)
        for g, h in zip(fast, plain):
            np.testing.assert_array_equal(g, h)
    s2sad.check_grads(negations, args, argnums=(0, 1))
    args = (np.linspace(-1.0, 2.0, 5), np.arange(15.0).reshape(5, 3) % 4.0)
    for argnums in (0, 1):
        np.testing.assert_array_equal(
            s2sad.grad(negated_sums, argnums)(*args),
            s2sad.grad(negated_sums, argnums, optimize=False)(*args))
    s2sad.check_grads(negated_sums, args, argnums=(0, 1), modes=("rev",))


def mlp_loss(W, b, x, t):
    h = np.tanh(W @ x + b)
    return 0.5 * np.sum((h - t) ** 2) + 0.01 * np.mean(W * W)


def test_a_gradient_computes_its_float64_output_only_for_other_dtypes():
    # the value ending a loss (its reductions) is computed only where its
    # dtype is not known to be float64, which decides its seed
    rng = np.random.default_rng(0)
    W, b, x, t = (rng.normal(size=(4, 3)), rng.normal(size=4),
                  rng.normal(size=3), rng.normal(size=4))
    grad = s2sad.grad(mlp_loss, argnums=(0, 1))
    grad(W, b, x, t)
    assert "runtime.float64_seed(" in grad.source
    deferred = grad.source.split("float64_seed(", 1)[1].split(
        "# grad of", 1)[0]
    assert "np.sum" in deferred and "np.mean" in deferred
    plain = s2sad.grad(mlp_loss, argnums=(0, 1), optimize=False)
    for args in [(W, b, x, t),  # float64: the value is not computed
                 (W, b, x.astype(np.float32), t.astype(np.float32)),
                 (W.astype(np.float32), b.astype(np.float32),
                  x.astype(np.float32), t.astype(np.float32)),
                 (W, b, np.arange(3), np.arange(4)),  # int data
                 (W, b, x, np.float64(0.5)),  # broadcast: h and t differ
                 (W.astype(np.longdouble), b, x, t)]:
        fast, slow = grad(*args), plain(*args)
        for g, h in zip(fast, slow):
            assert g.dtype == h.dtype
            np.testing.assert_array_equal(g, h)
    s2sad.check_grads(mlp_loss, (W, b, x, t), argnums=(0, 1))
    # what the output's value checks, it still checks: shapes that do not
    # broadcast raise as the function does
    with pytest.raises(ValueError, match="broadcast"):
        grad(W, b, x, np.ones(3))
    with pytest.raises(ValueError, match="broadcast"):
        mlp_loss(W, b, x, np.ones(3))
    value, gs = s2sad.value_and_grad(mlp_loss, argnums=(0, 1))(W, b, x, t)
    assert value == mlp_loss(W, b, x, t)
    s2sad.check_grads(mlp_loss, (W, b, x, t), argnums=0, order=2)


def two_slices(x):
    return np.sum(np.sin(x[1:]) ** 2 + np.cos(x[:-1]) ** 2)


def test_arrays_a_deferred_value_combines_are_checked_together():
    # values of one shape (which the shape analysis knows) go to the
    # check as a group: float64 arrays of one shape
    grad = s2sad.grad(two_slices)
    x = np.linspace(0.0, 1.0, 5)
    grad(x)
    assert "float64_seed((_t2, _t5))" in grad.source
    plain = s2sad.grad(two_slices, optimize=False)
    for arg in (x, x.astype(np.float32), x.astype(np.longdouble), list(x)):
        np.testing.assert_array_equal(grad(arg), plain(arg))
    s2sad.check_grads(two_slices, (x,))
    assert s2sad.runtime.float64_seed((x, x)) == 1.0
    assert s2sad.runtime.float64_seed((x, x[1:])) is None
    assert s2sad.runtime.float64_seed((x, np.float64(1.0))) is None
    assert s2sad.runtime.float64_seed((np.float64(1.0),)) == 1.0
    # an int (`len(X)`, `X.shape[0]`) with a float64 makes a float64; one
    # too large to convert raises, as does a vector product of other kinds
    assert s2sad.runtime.float64_seed((x,), numbers=(1,)) == 1.0
    assert s2sad.runtime.float64_seed((x,), numbers=(2 ** 1030,)) is None
    assert s2sad.runtime.float64_seed((x,), numbers=("1",)) is None
    assert s2sad.runtime.float64_seed(vectors=((x, x),)) == 1.0
    for other in (x[1:], x[:, None], np.float64(1.0), x.astype(np.float32)):
        assert s2sad.runtime.float64_seed(vectors=((x, other),)) is None


def mean_softplus(w, X):
    return np.sum(np.logaddexp(0.0, X @ w)) / X.shape[0] + 0.1 * (w @ w)


def per_row(w, X):
    return np.sum(np.logaddexp(0.0, X @ w)) / len(X) + np.sum(w) / X.ndim


def test_a_loss_over_the_rows_or_with_a_penalty_w_at_w_is_not_computed():
    # a row count (`X.shape[0]`, `len(X)`) is an int, with which a float64
    # makes a float64, and `w @ w` of 1-D float64 arrays is one: the seed is
    # known without the loss's value (found by the outside attack: the
    # softplus of every row was computed for a value nothing read)
    rng = np.random.default_rng(5)
    X, w = rng.standard_normal((30, 4)), rng.standard_normal(4)
    for f in (mean_softplus, per_row):
        grad, plain = s2sad.grad(f), s2sad.grad(f, optimize=False)
        grad(w, X)
        deferred = grad.source.split("if ", 1)[1]
        assert "float64_seed(" in grad.source and \
            "np.logaddexp" in deferred.split("# grad of", 1)[0], grad.source
        for args in [(w, X), (w.astype(np.float32), X.astype(np.float32)),
                     (w, X.astype(np.float32))]:
            np.testing.assert_array_equal(grad(*args), plain(*args))
        s2sad.check_grads(f, (w, X), argnums=0)
        value, _ = s2sad.value_and_grad(f)(w, X)
        assert value == f(w, X)
    with pytest.raises(ValueError, match="matmul"):
        s2sad.grad(mean_softplus)(w, X.T)  # (what the loss raises)


def budgeted(w, t):
    budget = np.sum(w) - 1.0
    return t + np.mean(np.exp(w)) + PENALTY * budget ** 2


PENALTY = 10.0


def test_a_number_the_function_computed_is_checked_as_a_numpy_float64():
    # `PENALTY * budget ** 2`: arithmetic of two numbers may raise for Python
    # floats, but budget, which the function computes (np.sum(w) - 1.0), is
    # checked to be a NumPy float64 (a parameter or a global is not: more
    # likely a Python float, it would fail the check on every call)
    grad = s2sad.grad(budgeted, argnums=(0, 1))
    w = np.linspace(0.1, 0.5, 4)
    grad(w, 0.5)
    assert "float64s=(budget,)" in grad.source
    assert "numbers=(t, PENALTY)" in grad.source
    plain = s2sad.grad(budgeted, argnums=(0, 1), optimize=False)
    for args in [(w, 0.5), (w.astype(np.float32), 0.5),
                 (w.astype(np.float32), np.float32(0.5))]:
        for g, h in zip(grad(*args), plain(*args)):
            np.testing.assert_array_equal(g, h)
    assert s2sad.runtime.float64_seed(float64s=(np.float64(2.0),)) == 1.0
    assert s2sad.runtime.float64_seed(float64s=(2.0,)) is None
    s2sad.check_grads(budgeted, (w, 0.5), argnums=(0, 1))


def overflowing(w):
    b = np.sum(w) - 1.0
    return PENALTY * b ** 2 + np.log(np.sum(w * w) - 1.0)


def test_a_value_left_uncomputed_is_computed_where_its_arithmetic_raises():
    # float64 arithmetic warns by default; where NumPy's error handling or
    # the warnings filters make it raise, the value the seed did not need
    # is computed, and raises as the function does (found by the outside
    # attack: overflow in `PENALTY * b ** 2` under np.seterr(all="raise"))
    import warnings
    grad = s2sad.grad(overflowing)
    w = np.array([1e200, 1.0])
    assert "float64_seed(" in grad.source
    with np.errstate(over="ignore", invalid="ignore"):
        expected = grad(w)
    for raising in (FloatingPointError, RuntimeWarning):
        with np.errstate(all="raise") if raising is FloatingPointError \
                else warnings.catch_warnings():
            if raising is RuntimeWarning:
                warnings.simplefilter("error")
            with pytest.raises(raising):
                overflowing(w)
            with pytest.raises(raising):
                grad(w)
    with np.errstate(over="ignore", invalid="ignore"):
        np.testing.assert_array_equal(grad(w), expected)
    small = np.array([0.5, 1.5])
    with np.errstate(all="raise"):
        np.testing.assert_allclose(grad(small), s2sad.grad(
            overflowing, optimize=False)(small), rtol=1e-15)


def test_a_value_of_python_numbers_alone_is_computed():
    # `a / n` of two Python numbers may raise (ZeroDivisionError): only
    # arithmetic with a NumPy value is deferred
    def f(x, a, n):
        return np.sum(x) + a / n
    source = """
        def g(x, a, n):
            _t1 = np.sum(x)
            _t3 = a / n
            _t4 = _t1 + _t3
            _t4_bar = runtime.seed(_t4, 'where')
            x_bar = runtime.unreduce(_t4_bar, x)
            return x_bar
        """
    out = optimized(source, derivatives={"_t4_bar", "x_bar"})
    assert "float64_seed" not in out
    out = optimized(source.replace("a / n", "a / _t1"),
                    derivatives={"_t4_bar", "x_bar"})
    assert "float64_seed((x,), numbers=(a,))" in out
    with pytest.raises(ZeroDivisionError):
        s2sad.grad(f)(np.arange(1.0, 4.0), 1.0, 0.0)
    s2sad.check_grads(f, (np.arange(1.0, 4.0), 2.0, 3.0))


def stepper(u, steps):
    for _ in range(steps):
        new = u.copy()
        new[1:-1] = u[1:-1] + 0.2 * (u[2:] + u[:-2] - 2 * u[1:-1])
        u = new
    return np.sum(u * u)


def test_an_overwritten_slice_s_adjoint_is_replaced_not_zeroed_and_added():
    # the adjoint of `new[1:-1] = ...` zeroes that slice of the incoming
    # adjoint, and the adjoint of reading u[1:-1] adds there: written once
    grad = s2sad.grad(stepper)
    u = np.linspace(0.1, 1.0, 7)
    grad(u, 3)
    assert "replaced=True" in grad.source
    assert "runtime.setitem(" not in grad.source
    # each iteration frees its own values at its end (not when the next
    # one assigns their names again)
    loops = [node for node in ast.walk(ast.parse(grad.source))
             if isinstance(node, ast.For)]
    functions = grad.source.count("\ndef ") + 1  # (a variant on arrays)
    assert len(loops) == 2 * functions and all(
        isinstance(loop.body[-1], ast.Delete) for loop in loops)
    for arg in (u, u.astype(np.float32)):
        np.testing.assert_allclose(grad(arg, 3), s2sad.grad(
            stepper, optimize=False)(arg, 3), rtol=1e-6 if arg.dtype ==
            np.float32 else 1e-15)
        assert grad(arg, 3).dtype == arg.dtype
    s2sad.check_grads(stepper, (u, 3), argnums=0)
    s2sad.check_grads(stepper, (u, 2), argnums=0, order=2)


def test_getitem_adjoints_replacing_a_slice_is_setitem_then_add():
    runtime = s2sad.runtime
    g, x = np.arange(6.0), np.zeros(6)
    h, k = np.array([10.0, -0.0]), np.array([1.0, 1.0])
    for index in (slice(1, 3), [1, 1]):  # (a fancy index: added once)
        replaced = runtime.getitem_adjoints(g, x, h, index, k, slice(0, 2),
                                            replaced=True)
        plain = runtime.getitem_adjoints(runtime.setitem(g, index, 0.0), x,
                                         h, index, k, slice(0, 2))
        np.testing.assert_array_equal(replaced, plain)
        assert replaced is not g and g[1] == 1.0  # (g is not changed)
    # a complex part promotes the sum, as the zeros plus it would
    out = runtime.getitem_adjoints(g, x, np.array([1j, 2j]), slice(1, 3),
                                   replaced=True)
    assert out.dtype == complex and out[1] == 1j


def test_getitem_adjoints_of_float64_arrays_add_as_the_general_sum_does():
    # float64 arrays with slices and ints take a shorter path: the same
    # sums, into a copy unless the total is owned, with x an array or what
    # a tape kept of one
    runtime = s2sad.runtime
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))
    pairs = (rng.standard_normal((3, 4)), slice(1, 4), 2.5, (0, 1),
             np.float64(-0.0), (4, 3), rng.standard_normal(3),
             (slice(None), slice(1, 4)), rng.standard_normal((2, 4)),
             slice(None, 2))
    for replaced in (False, True):
        for kept in (x, runtime.Like(x)):
            total = rng.standard_normal((5, 4))
            expected = runtime.setitem(total, pairs[1], 0.0) if replaced \
                else total.copy()
            for g, index in zip(pairs[::2], pairs[1::2]):
                expected += runtime.getitem_adjoint(g, x, index)
            before = total.copy()
            out = runtime.getitem_adjoints(total, kept, *pairs,
                                           replaced=replaced)
            np.testing.assert_array_equal(out, expected)
            np.testing.assert_array_equal(total, before)  # (a copy)
            owned = runtime.getitem_adjoints(total, kept, *pairs,
                                             replaced=replaced, owned=True)
            assert owned is total
            np.testing.assert_array_equal(owned, expected)


def leapfrog_string(u0, steps):
    u_prev, u = u0.copy(), u0.copy()
    for _ in range(steps):
        u_next = np.zeros_like(u)
        u_next[1:-1] = 2 * u[1:-1] - u_prev[1:-1]
        u_next[1:-1] += 0.25 * (u[2:] - 2 * u[1:-1] + u[:-2])
        u_prev, u = u, u_next
    return np.sum(u ** 2)


def test_the_adjoint_of_a_slice_updated_in_place_passes_through():
    # `u_next[1:-1] += v`: the slice read is the slice written, with
    # derivative 1, so the adjoint of u_next before the update is the one
    # after it, as it is (not a copy with that slice written back)
    grad = s2sad.grad(leapfrog_string)
    u0 = np.sin(np.linspace(0.0, np.pi, 9))
    grad(u0, 4)
    lines = [line.strip() for line in grad.source.split("\n")]
    passed = [line for line in lines if re.fullmatch(
        r"u_next_\d+_bar = u_\d+_bar", line)]
    assert len(passed) == 1, grad.source
    expected = s2sad.grad(leapfrog_string, optimize=False)(u0, 4)
    np.testing.assert_allclose(grad(u0, 4), expected, rtol=1e-14)
    s2sad.check_grads(leapfrog_string, (u0, 4), argnums=0)
    s2sad.check_grads(leapfrog_string, (u0, 3), argnums=0, order=2)


def test_an_adjoint_written_in_place_later_is_not_passed_through():
    # where a loop adds into the adjoint array it owns, the pass-through
    # would make that array the one the slice's adjoint is a view of
    out = optimized("""
        def f(g, x, v, n):
            for i in range(n):
                t_bar = runtime.setitem(g, slice(1, None), 0.0)
                h_bar = runtime.item_adjoint(g, slice(1, None))
                x_bar = runtime.getitem_adjoints(t_bar, x, h_bar,
                                                 slice(1, None))
                g = runtime.accumulated(x_bar, v)
            return g
        """, derivatives={"t_bar", "h_bar", "x_bar", "g"})
    assert "replaced=True" in out and "x_bar = g\n" not in out


def log_softmax_loss(W, X, Y):
    logits = X @ W
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


def test_values_are_freed_once_nothing_reads_them():
    # at the end of each block of the generated code (the forward sweep,
    # one line's adjoint), `del` the values it read last, so that the
    # arrays are freed then and not when the function returns
    rng = np.random.default_rng(3)
    W, X = rng.standard_normal((4, 3)), rng.standard_normal((6, 4))
    Y = np.eye(3)[rng.integers(0, 3, 6)]
    for transform in (s2sad.grad(log_softmax_loss),
                      s2sad.value_and_grad(log_softmax_loss)):
        transform(W, X, Y)
        deleted = []
        for function in ast.parse(transform.source).body:
            params = {a.arg for a in function.args.args}
            body = function.body
            for i, stmt in enumerate(body):
                if isinstance(stmt, ast.Delete):
                    names = {t.id for t in stmt.targets}
                    later = {n.id for s in body[i + 1:] for n in ast.walk(s)
                             if isinstance(n, ast.Name)}
                    assert not names & (later | params), names
                    deleted += names
        assert {"logits", "shifted"} <= set(deleted)
    np.testing.assert_allclose(s2sad.grad(log_softmax_loss)(W, X, Y),
                               s2sad.grad(log_softmax_loss, optimize=False)(
                                   W, X, Y), rtol=1e-14)
    s2sad.check_grads(log_softmax_loss, (W, X, Y), argnums=0, order=2)
    s2sad.check_grads(log_softmax_loss, (W, X, Y), argnums=0,
                      modes=("fwd",))


def stepped(u0, steps, stop):
    # a value read only before the loop, values carried round it and read
    # once after it, and a loop that may not run, or stop early
    scale = np.sum(u0 ** 2)
    u_prev, u = u0.copy(), u0 * 0.5
    k = 0
    while k < steps:
        u_next = np.zeros_like(u)
        u_next[1:-1] = 1.5 * u[1:-1] - u_prev[1:-1] + 0.2 * u[2:]
        if k == stop:
            break
        u_prev, u = u, u_next
        k += 1
    return np.sum(u * u) * scale


def heat(u, steps):
    for _ in range(steps):
        u = u.copy()
        u[1:-1] += 0.2 * (u[2:] - 2.0 * u[1:-1] + u[:-2])
    return np.sum(u ** 2)


def _kept_through_loops(source):
    """The names each top-level loop of each function in `source` keeps
    bound although neither it nor anything after it reads them (but
    numbers: a deferred seed); [] when every value read last before a
    loop, or last in a loop before another, is freed before it."""
    kept = []
    for function in ast.parse(source).body:
        bound = {a.arg for a in function.args.args}
        seeds = {t.id for node in ast.walk(function)
                 if isinstance(node, ast.Assign) and isinstance(
                     node.value, ast.Call) and ast.unparse(
                     node.value.func).endswith("seed")
                 for t in node.targets if isinstance(t, ast.Name)}
        body = function.body
        for i, stmt in enumerate(body):
            if isinstance(stmt, (ast.For, ast.While)):
                later = {n.id for s in body[i:] for n in ast.walk(s)
                         if isinstance(n, ast.Name) and isinstance(
                             n.ctx, ast.Load)}
                kept += sorted(bound - later - seeds - {
                    a.arg for a in function.args.args})
            for node in ast.walk(stmt) if not isinstance(
                    stmt, (ast.For, ast.While, ast.If)) else [stmt]:
                if isinstance(node, ast.Name) and isinstance(node.ctx,
                                                             ast.Store):
                    bound.add(node.id)
            if isinstance(stmt, ast.Assign):
                bound.update(n.id for t in stmt.targets for n in ast.walk(t)
                             if isinstance(n, ast.Name))
            if isinstance(stmt, ast.Delete):
                bound -= {t.id for t in stmt.targets}
    return kept


@pytest.mark.parametrize("f, args", [
    (stepped, (np.linspace(0.0, 1.0, 7), 4, -1)),
    (stepped, (np.linspace(0.0, 1.0, 7), 4, 2)),
    (stepped, (np.linspace(0.0, 1.0, 7), 0, -1)),
    (heat, (np.linspace(0.0, 1.0, 9) ** 2, 3)),
    (heat, (np.linspace(0.0, 1.0, 9) ** 2, 0)),
])
def test_no_value_read_for_the_last_time_is_kept_through_a_loop(
        f, args, monkeypatch):
    # what the code reads last before a loop (the forward sweep's values
    # before the first loop, the last step's values carried out of a loop
    # before the backward sweep's loop) is freed before the loop, also in
    # the code specialised to the arguments' kinds; loops that do not run
    # or stop early leave every deleted name bound
    g = s2sad.grad(f)
    first = g(*args)
    assert _kept_through_loops(g.source) == []
    for _ in range(3):
        np.testing.assert_array_equal(g(*args), first)
    monkeypatch.setattr(specialise, "AT_ONCE", False)
    monkeypatch.setattr(specialise, "CHECKED", None)
    monkeypatch.setattr(specialise, "WORTH", 0)  # (at the second call)
    h = s2sad.grad(f)
    for _ in range(3):
        np.testing.assert_array_equal(h(*args), first)
    assert _kept_through_loops(h.specialised_source) == []
    s2sad.check_grads(f, args, argnums=0, modes=("rev",))


def mean_squared_error(w, X, y):
    d = X @ w - y
    return np.mean(d * d)


def logistic_loss(w, X, y):
    return np.mean(np.logaddexp(0.0, -y * (X @ w))) + 0.5 * np.sum(w ** 2)


def spread_by_shape(x, y):
    e = np.maximum(x * y, 0.1)  # read whole below
    return np.sum(e * np.mean(np.hypot(x, y)))


@pytest.mark.parametrize("f", [mean_squared_error, logistic_loss])
def test_a_mean_s_size_is_read_from_a_value_the_sweep_keeps(f):
    # the derivative of np.mean(v) reads v's size alone: it reads the
    # size of a value of v's shape that the sweep reads anyway, and v
    # (d * d, the logaddexp) is computed only where the loss's dtype is
    # in doubt
    rng = np.random.default_rng(4)
    w, X, y = rng.normal(size=3), rng.normal(size=(7, 3)), rng.choice(
        [-1.0, 1.0], size=7)
    grad = s2sad.grad(f)
    grad(w, X, y)
    forward, deferred = grad.source.split("float64_seed(", 1)
    deferred = deferred.split("# grad of", 1)[0]
    reduced = "d * d" if f is mean_squared_error else "np.logaddexp"
    assert reduced not in forward and reduced in deferred, grad.source
    plain = s2sad.grad(f, optimize=False)
    for args in [(w, X, y), (w.astype(np.float32), X, y),
                 (w, X.astype(np.float32), y.astype(np.float32)),
                 (w, X, np.arange(7) % 2)] + (
                     [(list(w), X, y)] if f is mean_squared_error else []):
        np.testing.assert_array_equal(grad(*args), plain(*args))
    s2sad.check_grads(f, (w, X, y))
    s2sad.check_grads(f, (w, X, y), order=2)
    value, g = s2sad.value_and_grad(f)(w, X, y)
    assert value == f(w, X, y)
    with pytest.raises(ValueError):  # shapes that do not fit still raise
        grad(w, X, y[:3])


def test_a_size_read_elsewhere_keeps_its_own_value():
    x, y = np.linspace(0.1, 1.0, 4), np.linspace(-1.0, 2.0, 4)
    grad = s2sad.grad(spread_by_shape)
    plain = s2sad.grad(spread_by_shape, optimize=False)
    np.testing.assert_array_equal(grad(x, y), plain(x, y))
    s2sad.check_grads(spread_by_shape, (x, y), argnums=(0, 1))


# ---- identities that drop a float keep the float ----
#
# `g * 1.0` -> `g` holds for an adjoint, a float; not for the function's
# own values, which may be ints or bools: the float path's seed is 1.0, so
# the adjoint of `x * (x > 0)` folds to `1.0 * (x > 0)`, which must stay a
# float (and `-1.0 * b` of a NumPy bool b must not become `-b`, which
# NumPy refuses).


def gate(x):
    return x * (x > 0)


def gate_down(x):
    return 1.0 - x * (x > 0)


def parity(x, n):
    return x * (n % 2)


def gated_at(x, t):
    return 2.0 - x * (x > t) + x * (x < -t)


@pytest.mark.parametrize("f, args, expected", [
    (gate, (1.5,), 1.0), (gate_down, (1.5,), -1.0), (parity, (1.5, 3), 1.0),
    (gate, (-1.5,), 0.0), (gated_at, (1.5, 1.0), -1.0),
    (gated_at, (1.5, np.float64(1.0)), -1.0)])
@pytest.mark.parametrize("kind", [float, np.float64])
def test_a_gradient_through_a_bool_factor_is_a_float(f, args, expected, kind):
    args = (kind(args[0]),) + args[1:]
    for gradient in (s2sad.grad(f)(*args), s2sad.value_and_grad(f)(*args)[1],
                     s2sad.grad(f, optimize=False)(*args)):
        assert gradient == expected and type(gradient) is kind


SERIES = [0.5, -1.0, 2.0, 0.25, 1.5, -0.75]


def ar_loss(a):
    tot = 0.0
    for t in range(1, len(SERIES)):
        r = SERIES[t] - a * SERIES[t - 1]
        tot = tot + r * r
    return tot


def inverse_distances(s):
    tot = 0.0
    for t in range(len(SERIES)):
        tot = tot + 1.0 / (s - SERIES[t]) + s * SERIES[t]
    return tot


def log_distances(s):
    tot = 0.0
    for t in range(len(SERIES)):
        tot = tot + math.log(s - SERIES[t])
    return tot


def _float_variant(g):
    return g.source.split("_arrays(")[1].split("def ")[0]


def test_a_forward_loop_the_backward_sweep_repeats_is_dropped():
    # a sum over data whose total the gradient does not return: the
    # backward loop computes again all that may raise in it, so the
    # forward loop, which would only compute the total, goes
    for f, x in ((ar_loss, 0.6), (inverse_distances, 3.0)):
        g = s2sad.grad(f)
        h = 1e-6
        assert g(x) == pytest.approx((f(x + h) - f(x - h)) / (2 * h),
                                     rel=1e-7)
        assert _float_variant(g).count("for t in") == 1
        value, grad = s2sad.value_and_grad(f)(x)  # (its value needs it)
        assert value == f(x) and grad == g(x)
    # what it raises, it still raises, at the user's line
    with pytest.raises(ZeroDivisionError):
        inverse_distances(2.0)
    with pytest.raises(ZeroDivisionError) as info:
        s2sad.grad(inverse_distances)(2.0)
    where = "\n".join(getattr(info.value, "__notes__", ())) + str(
        info.value)  # (Python 3.10: in the message)
    assert "tot = tot + 1.0 / (s - SERIES[t]) + s * SERIES[t]" in where
    # a statement that may raise and is not computed again keeps its loop
    g = s2sad.grad(log_distances)
    assert _float_variant(g).count("for t in") == 2
    with pytest.raises(ValueError):
        g(1.0)
    assert g(3.0) == pytest.approx(sum(1.0 / (3.0 - v) for v in SERIES))

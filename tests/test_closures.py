"""Nested functions, lambdas and closures.

A nested def or lambda is a value of the function it is in; calls to it
dispatch at run time to its own transformation. The closure of the function
being differentiated is read when the gradient runs, not when it was made.
"""

import inspect

import numpy as np
import pytest

import s2sad
from s2sad import errors

square = lambda x: x * x  # noqa: E731
power = lambda x, k=3: x ** k  # noqa: E731


def module_lambdas(x):
    return square(x) + power(x) + power(x, k=2)


def nested_def(x, w):
    scale = 2.0 * w

    def inner(t):
        return np.sin(t) * scale
    return inner(x) + inner(x * x)


def local_lambda(x):
    f = lambda t: t ** 2 + 1.0  # noqa: E731
    return f(x) * x


def lambda_argument(x):
    return apply_twice(lambda t: np.tanh(t) * 2.0, x)


def apply_twice(fn, x):
    return fn(fn(x))


def recursive_nested(x):
    def fact_power(t, n):
        if n == 0:
            return 1.0
        return t * fact_power(t, n - 1)
    return fact_power(x, 4)


def lambda_default_named_as_a_local(x):
    k = 1
    h = lambda t, k=k: t * x[k]  # noqa: E731 (its k is its parameter)
    return h(2.0)


def lambdas_bound_in_a_comprehension(x):
    fs = [lambda t, k=k: t * x[k] for k in range(2)]
    return fs[0](2.0) + fs[1](3.0)


def nested_local_named_as_a_value(x, w):
    scale = w * 2.0

    def inner(t):
        w = t * scale  # its own w, not the argument
        return w * w
    return inner(x)


CASES = [
    (lambda_default_named_as_a_local, (np.array([0.3, -1.2]),), (0,)),
    (lambdas_bound_in_a_comprehension, (np.array([0.3, -1.2]),), (0,)),
    (nested_local_named_as_a_value, (0.7, 1.3), (0, 1)),
    (module_lambdas, (0.7,), (0,)),
    (nested_def, (0.7, 1.3), (0,)),
    (local_lambda, (0.7,), (0,)),
    (lambda_argument, (0.4,), (0,)),
    (recursive_nested, (1.1,), (0,)),
]


@pytest.mark.parametrize("func,args,argnums", CASES,
                         ids=lambda c: getattr(c, "__name__", ""))
def test_nested_functions_match_central_differences(func, args, argnums):
    s2sad.check_grads(func, args, argnums=argnums)


def test_a_module_level_lambda_is_differentiated_by_itself():
    assert s2sad.grad(square)(3.0) == 6.0
    assert s2sad.grad(power)(2.0) == 12.0
    source = s2sad.grad(module_lambdas).source
    assert "def vjp_lambda_" in source


def test_a_lambda_on_the_line_of_a_clause_is_found():
    # its line alone does not parse (`try:`, `else:`, `finally:`)
    found = []
    try: found.append(s2sad.grad(lambda x: x ** 2)(1.5))  # noqa: E701
    except ValueError: pass  # noqa: E701
    if not found: pass  # noqa: E701
    else: found.append(s2sad.grad(lambda x: x ** 3)(1.0))  # noqa: E701
    try:
        pass
    finally: found.append(s2sad.grad(lambda x: x ** 4)(1.0))  # noqa: E701
    assert found == [3.0, 3.0, 4.0]


def test_a_lambda_on_a_line_of_a_longer_statement_is_found():
    # its line alone does not parse: the rest of the call or display is on
    # the lines around it
    g = s2sad.grad(
        lambda w: np.sum(np.sin(w)))
    w = np.array([0.3, 0.7])
    np.testing.assert_allclose(g(w), np.cos(w), rtol=1e-15)
    results = dict(
        value=1.0,
        slope=s2sad.grad(lambda z: z ** 3)(2.0), curve=s2sad.hessian(
            lambda z: z ** 4)(1.0))
    assert results == {"value": 1.0, "slope": 12.0, "curve": 12.0}
    line = inspect.currentframe().f_lineno + 3
    with pytest.raises(s2sad.S2SADError) as info:
        s2sad.grad(
            lambda z: np.vectorize(np.sin)(z))(2.0)
    assert f"test_closures.py:{line}" in str(info.value)


def make_scaled(scale):
    def scaled(x):
        return scale * x * x
    return scaled


def test_a_closure_reads_its_captured_value_at_call_time():
    f = make_scaled(2.0)
    g = s2sad.grad(f)
    assert g(1.0) == 4.0
    f.__closure__[0].cell_contents = 5.0  # as `nonlocal scale` would
    assert g(1.0) == 10.0
    assert s2sad.jvp(f, (1.0,), (1.0,)) == (5.0, 10.0)


def captures_a_differentiated_value(x, w):
    def inner(t):
        return t * w
    return inner(x)


def captures_a_reassigned_value(x):
    w = 1.0
    w = w * 2.0

    def inner(t):
        return t * w
    return inner(x)


def test_a_closure_over_differentiated_values_is_differentiated():
    # the closure binds w: its cotangent flows back to w
    assert s2sad.grad(captures_a_differentiated_value, argnums=(0, 1))(
        1.0, 2.0) == (2.0, 1.0)
    # not differentiating w, the closure is only a value
    assert s2sad.grad(captures_a_differentiated_value)(1.0, 2.0) == 2.0


def test_refused_closures_name_the_line_and_the_way_out():
    with pytest.raises(errors.UnsupportedSyntaxError,
                       match="assigns more than once"):
        s2sad.grad(captures_a_reassigned_value)(1.0)


def default_reads_a_differentiated_value(x):
    y = x * 2.0

    def g(t, y=y):
        return t * y
    return g(3.0)


def default_reads_a_constant(x, w):
    s = 2.0 * w

    def g(t, k=s):
        return t * k
    return g(x)


def reads_a_name_assigned_after_it(x):
    def g():
        return y
    y = x * x
    return g()


def calls_a_helper_defined_after_it(x):
    def a():
        return b() * x

    def b():
        return x * x
    return a()


def keeps_lambdas_made_in_a_loop(x):
    fs = []
    for i in range(3):
        w = x * i
        fs.append(lambda t: t * w)
    return fs[0](1.0)  # Python: w of the last iteration


def keeps_lambdas_of_a_comprehension(x):
    fs = [lambda t: t * v for v in x]
    return fs[0](1.0) + fs[1](2.0)


def keeps_the_last_lambda_of_a_loop(x):
    for i in range(3):
        w = x * i
        g = lambda t: t * w  # noqa: E731
    return g(1.0)


def keeps_lambdas_of_an_outer_loop(x):
    fs = []
    for i in range(3):
        w = x * i
        for _ in range(1):
            fs.append(lambda t: t * w)
    return fs[0](1.0)


def calls_a_lambda_after_the_loop_assigns_its_value(x):
    s = 0.0
    for i in range(3):
        g = lambda t: t * w  # noqa: E731,F821 (w: the line below)
        w = x * i
        s = s + g(x)
    return s


def calls_the_lambda_of_the_last_iteration(x):
    total = 0.0
    g = lambda: 0.0  # noqa: E731
    for w in [1.0, 2.0, 3.0]:
        total = total + g()  # the lambda made in the iteration before
        g = lambda: w * x  # noqa: E731
    return total


def redefines_a_function_in_a_loop(x):
    def g():
        return x
    total = 0.0
    for _ in range(2):
        total = total + g()

        def g():
            return x * x
    return total


@pytest.mark.parametrize("func, words", [
    (calls_the_lambda_of_the_last_iteration, "`g` is called in the loop"),
    (redefines_a_function_in_a_loop, "`g` is called in the loop")])
def test_a_function_called_before_the_loop_makes_it_is_refused(func, words):
    with pytest.raises(errors.UnsupportedSyntaxError, match=words):
        s2sad.grad(func)(0.7)


def keeps_a_generator(x):
    w = x
    gen = (w * t for t in [1.0, 2.0])
    w = 3.0 * x
    return sum(gen) * x  # Python reads w = 3x


def keeps_a_map_of_a_list_it_appends_to(x):
    ws = [x, 2.0 * x]
    m = map(np.sin, ws)
    ws.append(5.0 * x)
    return sum(m)  # Python: three items


def keeps_maps_of_lambdas_made_in_a_loop(x):
    ms = []
    for w in [1.0, 2.0, 3.0]:
        g = lambda t: w * t * x  # noqa: E731
        ms.append(map(g, [1.0]))
    return sum(sum(m) for m in ms)


def keeps_a_generator_of_an_argument(x):
    gen = (x * t for t in [1.0, 2.0])
    x = 3.0 * x
    return sum(gen)


@pytest.mark.parametrize("func", [keeps_a_generator,
                                  keeps_a_generator_of_an_argument,
                                  keeps_a_map_of_a_list_it_appends_to,
                                  keeps_maps_of_lambdas_made_in_a_loop])
def test_a_lazy_iterator_kept_while_what_it_reads_changes_is_refused(func):
    # s2sad computes a generator's (map's) items where it is made, Python
    # when they are read
    with pytest.raises(errors.UnsupportedSyntaxError,
                       match="is kept, and reads .* which this function "
                       "changes"):
        s2sad.grad(func)(0.7)


def reads_lazy_iterators_where_it_makes_them(x, ws):
    total = sum(w * x for w in ws)
    for i, (a, b) in enumerate(zip(ws, ws[::-1])):
        total = total + a * b * x ** i
    pairs = zip(ws, ws)  # kept: nothing it reads changes
    total = total + sum(p * q for p, q in pairs) + max(map(np.sin, ws))
    return total


def test_lazy_iterators_read_where_they_are_made():
    s2sad.check_grads(reads_lazy_iterators_where_it_makes_them,
                      (0.7, [0.3, -1.2, 2.0]), argnums=(0, 1))


@pytest.mark.parametrize("func, arg, name", [
    (keeps_lambdas_of_an_outer_loop, 0.7, "w"),
    (calls_a_lambda_after_the_loop_assigns_its_value, 0.7, "w"),
    (reads_a_name_assigned_after_it, 3.0, "y"),
    (calls_a_helper_defined_after_it, 3.0, "b"),
    (keeps_lambdas_made_in_a_loop, 0.7, "w"),
    (keeps_lambdas_of_a_comprehension, np.array([0.7, 1.3]), "v"),
    (keeps_the_last_lambda_of_a_loop, 0.7, "w")])
def test_a_closure_value_assigned_after_the_function_is_made_is_refused(
        func, arg, name):
    # s2sad binds a nested function's closure values when it is made,
    # Python reads them when it is called: where they could differ, a
    # refusal, never the gradient of the values at the time it was made
    for transform in (lambda: s2sad.grad(func)(arg),
                      lambda: s2sad.jvp(func, (arg,), (np.ones_like(arg),))):
        with pytest.raises(errors.UnsupportedSyntaxError,
                           match=f"the nested function reads `{name}`"):
            transform()


def calls_closures_in_the_iteration_that_makes_them(x, W):
    s = 0.0
    for i in range(2):
        w = W[i]
        g = lambda t: np.tanh(w * t)  # noqa: E731

        def h(t):
            return w * t * t
        s = s + g(x) + apply_twice(h, x) + (lambda t: t * w)(x)
    return s


def test_closures_used_in_the_iteration_that_makes_them():
    s2sad.check_grads(calls_closures_in_the_iteration_that_makes_them,
                      (0.5, np.array([1.0, -2.0])), argnums=(0, 1))


def keeps_closures_in_container_items(x, w):
    fs = [None, None]
    fs[0] = lambda t: t * w  # noqa: E731
    fs[1] = lambda t: t * x * w  # noqa: E731
    d = {}
    d["a"] = lambda: x * x  # noqa: E731
    return fs[0](x) + fs[1](2.0) + d["a"]()


def test_closures_assigned_into_items_of_containers():
    # the adjoint of a closure is its bound values': kept whole
    s2sad.check_grads(keeps_closures_in_container_items, (0.7, 1.3),
                      argnums=(0, 1))


def test_defaults_of_nested_functions():
    with pytest.raises(errors.UnsupportedCallError, match="default value"):
        s2sad.grad(default_reads_a_differentiated_value)(1.0)
    s2sad.check_grads(default_reads_a_constant, (0.7, 1.3), argnums=(0,))


def shadows_a_copied_name(x):
    t = x

    def inner(t):
        return t * 2.0
    return inner(3.0) * t + (lambda t: t + 1.0)(t)


def test_the_optimizer_leaves_a_nested_functions_own_names_alone():
    assert s2sad.grad(shadows_a_copied_name)(1.0) == 7.0
    s2sad.check_grads(shadows_a_copied_name, (1.0,))


def make_weighted(weights):
    def weighted(x):
        # a comprehension in a nested function: Python 3.10 names it
        # make_weighted.<locals>.weighted.<locals>.<listcomp> among the
        # constants, its text compiled on its own weighted.<locals>...
        return sum([w * x * x for w in weights]) + len([w for w in weights])
    return weighted


def test_a_nested_function_with_a_comprehension_is_its_own_source():
    f = make_weighted((1.0, 2.0))
    assert s2sad.grad(f)(3.0) == 2 * 3.0 * 3.0
    assert s2sad.jvp(f, (3.0,), (1.0,)) == (f(3.0), 18.0)


YS = np.array([0.5, 0.1, 0.9])


def inner_gradient(p):
    # the gradient of a closure h over a closure g over p: the gradient's
    # code calls g, a value it does not differentiate; differentiated with
    # respect to p, its call of g carries g's values (a silent zero once)
    def g(y):
        return p * y ** 2

    def h(y):
        return np.sum(np.sin(g(y)))
    return s2sad.grad(h)(YS)


def inner_jacobian(p):
    def g(y):
        return p * y ** 2

    def h(y):
        return np.sin(g(y))
    return s2sad.jacrev(h)(YS).ravel()


@pytest.mark.parametrize("f", [inner_gradient, inner_jacobian])
def test_a_derivative_of_a_closure_calling_a_closure(f):
    p = 1.3
    numeric = (f(p + 1e-6) - f(p - 1e-6)) / 2e-6
    for make in (s2sad.jacfwd, s2sad.jacrev):
        np.testing.assert_allclose(make(f)(p), numeric, rtol=1e-6,
                                   atol=1e-8)

    def total(p):
        return np.sum(f(p))
    np.testing.assert_allclose(s2sad.grad(total)(p), np.sum(numeric),
                               rtol=1e-6)


def inner_gradient_of_a_checkpoint(p):
    # a checkpoint's forward and pull functions hold the closure's forward
    # function, which binds p: both carry p's tangent
    def h(y):
        block = s2sad.checkpoint(lambda z: np.sin(p * z))
        return np.sum(block(y) ** 2)
    return np.sum(s2sad.grad(h)(YS))


def test_a_derivative_through_a_checkpointed_closure_inside():
    f = inner_gradient_of_a_checkpoint
    p = 0.8
    numeric = (f(p + 1e-6) - f(p - 1e-6)) / 2e-6
    np.testing.assert_allclose(s2sad.grad(f)(p), numeric, rtol=1e-6)
    np.testing.assert_allclose(s2sad.jacfwd(f)(p), numeric, rtol=1e-6)
    gradient = s2sad.grad(f)
    second = (gradient(p + 1e-5) - gradient(p - 1e-5)) / 2e-5
    np.testing.assert_allclose(s2sad.grad(gradient)(p), second, rtol=1e-5)

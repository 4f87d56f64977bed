"""Containers and updates in place: tuple, list and dict values and
arguments (pytrees), list methods, comprehensions, `sum`/`len`/`zip`, and
assignment into arrays the function made. s2sad's SSA form makes each update
a new value (`y[i] = v` is `y = runtime.setitem(y, i, v)`), so the adjoint
sees every version; updates that would change a value something else holds
are refused."""

import collections
import dataclasses
import math

import numpy as np
import pytest

import s2sad
from s2sad import errors

Params = collections.namedtuple("Params", "w b")


def tuple_argument(p, x):
    w, b = p
    return np.sum(np.tanh(w * x + b))


def nested_argument(p):
    (a, b), rest = p["pair"], p["list"]
    return a * b + np.sum(rest[0] * rest[1]) + p["scale"] ** 2


def namedtuple_argument(p, x):
    return np.sum((p.w * x + p.b) ** 2)


def dict_literal(x, y):
    q = {"a": x * 2.0, "b": y}
    q["c"] = q["a"] * q["b"]
    return q["c"] + q["a"]


def swaps_and_unpacking(x, y):
    a, (b, c) = x, (y, x * y)
    a, b = b, a
    return a * 3.0 + b * c


def tanh_rnn(w, xs):
    hs = [0.0]
    for x in xs:
        hs.append(np.tanh(w * hs[-1] + x))
    return sum(hs) / len(hs)


def list_methods(x):
    stack = [x, 2.0 * x, 3.0 * x]
    a = stack.pop()
    b = stack.pop(0)
    stack.extend([a * b, b])
    return stack[0] * stack[1] + stack[-1] * stack[2]


def comprehension(x, ys):
    zs = [x * y for y in ys if y > 0]
    return sum([z * z for z in zs]) + len(zs) * x


def zipped(xs, ys):
    return sum([a * b for a, b in zip(xs, ys)])


def nested_comprehension(x):
    return sum([x ** i * j for i in range(3) for j in range(i)])


def array_updates(x):
    y = np.zeros(4)
    y[0] = x[0] * 2.0
    y[1:3] += x[1:] ** 2
    y[3] = y[1] * y[0]
    for i in range(3):
        y[i + 1] = y[i + 1] + y[i] * x[i % 2]
    return np.sum(y * y)


def matrix_rows(x):
    m = np.ones((3, 2))
    for i in range(3):
        m[i, :] = m[i, :] * x * (i + 1.0)
    m[:, 1] -= x[0]
    return np.sum(m ** 3)


def updates_in_a_branch(x):
    y = np.zeros(2)
    if x[0] > 0:
        y[0] = np.sin(x[0])
    else:
        y[1] = x[1] * x[0]
    return np.sum(y) + y[0] * x[1]


CASES = [
    (tuple_argument, ((np.array([0.5, -1.0]), 0.3), np.array([1.0, 2.0])),
     (0,)),
    (nested_argument, ({"pair": (1.5, -0.5), "list": [np.ones(2) * 0.3,
                                                       np.arange(2.0)],
                        "scale": 0.7},), (0,)),
    (namedtuple_argument, (Params(np.array([0.2, 0.4]), 0.1),
                           np.array([1.0, -1.0])), (0,)),
    (dict_literal, (1.5, 2.0), (0, 1)),
    (swaps_and_unpacking, (1.5, -0.5), (0, 1)),
    (tanh_rnn, (0.5, np.array([0.1, -0.3, 0.7])), (0, 1)),
    (list_methods, (1.3,), (0,)),
    (comprehension, (0.7, [1.0, -2.0, 3.0]), (0, 1)),
    (zipped, ([0.5, 1.5, -0.3], (2.0, 1.0, 3.0)), (0, 1)),
    (nested_comprehension, (0.7,), (0,)),
    (array_updates, (np.array([0.5, -0.7, 1.1]),), (0,)),
    (matrix_rows, (np.array([0.5, -0.7]),), (0,)),
    (updates_in_a_branch, (np.array([0.5, -0.7]),), (0,)),
    (updates_in_a_branch, (np.array([-0.5, -0.7]),), (0,)),
]


@pytest.mark.parametrize("func,args,argnums", CASES,
                         ids=lambda c: getattr(c, "__name__", ""))
def test_containers_match_central_differences(func, args, argnums):
    s2sad.check_grads(func, args, argnums=argnums)


def test_gradients_come_back_in_the_arguments_structure():
    p = {"pair": (1.5, -0.5), "list": [np.ones(2), np.arange(2.0)],
         "scale": 0.7}
    g = s2sad.grad(nested_argument)(p)
    assert isinstance(g, dict) and isinstance(g["pair"], tuple) \
        and isinstance(g["list"], list)
    assert g["pair"] == (-0.5, 1.5) and g["scale"] == pytest.approx(1.4)
    named = s2sad.grad(namedtuple_argument)(Params(1.0, 0.5), 2.0)
    assert isinstance(named, Params)


def test_caller_data_is_not_changed():
    x = np.array([0.5, -0.7, 1.1])
    before = x.copy()
    s2sad.grad(array_updates)(x)
    s2sad.jvp(array_updates, (x,), (np.ones(3),))
    assert np.array_equal(x, before)


def pytree_output(x):
    return {"double": 2.0 * x, "pair": (x * x, np.sin(x))}


def test_vjp_and_jvp_of_a_pytree_output():
    x = np.array([0.3, -1.2])
    value, pullback = s2sad.vjp(pytree_output, x)
    assert set(value) == {"double", "pair"}
    cotangent = {"double": np.ones(2), "pair": (np.ones(2), 2.0 * np.ones(2))}
    (g,) = pullback(cotangent)
    np.testing.assert_allclose(g, 2.0 + 2.0 * x + 2.0 * np.cos(x))
    _, tangent = s2sad.jvp(pytree_output, (x,), (np.ones(2),))
    np.testing.assert_allclose(tangent["pair"][1], np.cos(x))


def with_aux(x):
    y = np.sum(x ** 2)
    return y, {"norm": np.sqrt(y), "items": [x[0]]}


def test_has_aux_passes_a_pytree_through():
    g, aux = s2sad.grad(with_aux, has_aux=True)(np.array([3.0, 4.0]))
    np.testing.assert_allclose(g, [6.0, 8.0])
    assert aux["norm"] == 5.0 and aux["items"] == [3.0]


# ---- refusals: updates that would change what something else holds ----

def updates_an_argument(x):
    x[0] = 1.0
    return np.sum(x)


def appends_to_an_argument(xs, v):
    xs.append(v)
    return sum(xs)


def updates_a_view(x):
    y = x * 1.0
    row = y[0:2]
    row[0] = 5.0
    return np.sum(y)


def reads_a_view_after_an_update(x):
    y = x * 1.0
    row = y[0:2]
    y[0] = 5.0
    return np.sum(row)


def updates_an_alias(x):
    y = np.zeros(2)
    z = y
    y[0] = x
    return np.sum(z)


def updates_an_attribute(x, obj):
    obj.value = x
    return x


def sorts_in_place(x):
    y = x * 2.0
    y.sort()
    return np.sum(y * x)


def conditional_comprehension(x, flag):
    return sum([x * i for i in range(3)] if flag else [x])


REFUSED = [
    (updates_a_view, (np.ones(3),), "row[0] = 5.0", "view"),
    (updates_an_alias, (1.0,), "y[0] = x", "`z`"),
    (reads_a_view_after_an_update, (np.ones(3),), "return np.sum(row)",
     "view of `y`"),
    (updates_an_attribute, (1.0, None), "obj.value = x", "attribute"),
    (sorts_in_place, (np.ones(3),), "y.sort()", "for its effect"),
    (conditional_comprehension, (1.0, True), "return sum(",
     "list comprehension"),
]


@pytest.mark.parametrize("func,args,line,words", REFUSED,
                         ids=lambda c: getattr(c, "__name__", ""))
def test_updates_of_shared_values_are_refused_with_a_location(
        func, args, line, words):
    import inspect
    lines, first = inspect.getsourcelines(func)
    lineno = first + next(i for i, text in enumerate(lines) if line in text)
    for mode in ("reverse", "forward"):
        with pytest.raises(errors.S2SADError) as info:
            s2sad.show(func, mode=mode)
        assert f"test_containers.py:{lineno}:" in str(info.value)
        assert words in str(info.value)


def calls_an_updater(x):
    y = x * 2.0
    total = updates_an_argument(y)
    return total + np.sum(y)  # Python's y has changed


def calls_an_appender(x):
    xs = [x]
    total = appends_to_an_argument(xs, x)
    return total * len(xs)  # Python's xs has changed


@pytest.mark.parametrize("caller, func, args, line", [
    (calls_an_updater, updates_an_argument, (np.ones(2),), "x[0] = 1.0"),
    (calls_an_appender, appends_to_an_argument, (1.0,), "xs.append(v)")],
    ids=lambda c: getattr(c, "__name__", ""))
def test_a_function_called_with_a_value_may_not_update_it(
        caller, func, args, line):
    import inspect
    lines, first = inspect.getsourcelines(func)
    lineno = first + next(i for i, text in enumerate(lines) if line in text)
    for mode in ("reverse", "forward"):
        with pytest.raises(errors.S2SADError) as info:
            s2sad.show(caller, mode=mode)
        assert f"test_containers.py:{lineno}:" in str(info.value)
        assert "caller's argument" in str(info.value)


def test_the_function_differentiated_may_update_its_arguments():
    x = np.array([3.0, 4.0])
    value, g = s2sad.value_and_grad(updates_an_argument)(x)
    assert value == 5.0 and list(g) == [0.0, 1.0]
    assert list(x) == [3.0, 4.0]
    xs = [1.5]
    value, (g_xs, g_v) = s2sad.value_and_grad(
        appends_to_an_argument, argnums=(0, 1))(xs, 2.0)
    assert (value, g_xs, g_v) == (3.5, [1.0], 1.0) and xs == [1.5]


# ---- regressions found by adversarial testing ----

def duplicate_writes(x):
    y = np.zeros(3)
    y[[0, 0]] = x[:2]  # NumPy keeps the last write
    y[[1, 1, 2]] += x
    return y[0] + np.sum(y * y)


def variable_slices(x, i):
    return np.sum(x[:i + 1] ** 2) + np.sum(x[i:]) + x[1:2 * i:2][0]


def copies_then_updates(x):
    y = x.copy()
    y[0] = 2.0 * y[1]
    return np.sum(np.copy(y) * x)


def concatenates(x):
    items = [x]
    items += [2.0 * x]
    pair = (x, x * x) + (3.0,)
    return sum(items) + pair[1] * pair[2]


def reversed_enumerate(x):
    items = [x, 2.0 * x, 3.0 * x]
    total = 0.0
    for i, v in enumerate(reversed(items)):
        total = total + i * v
    return total


def dict_pop(x):
    table = {"a": x, "b": 2.0 * x}
    v = table.pop("a")
    return v * table["b"]


@pytest.mark.parametrize("func,args", [
    (duplicate_writes, (np.array([0.5, 1.5, -0.7]),)),
    (variable_slices, (np.array([0.5, 1.5, -0.7, 0.2]), 1)),
    (copies_then_updates, (np.array([0.5, 1.5, -0.7]),)),
    (concatenates, (0.7,)),
    (reversed_enumerate, (0.7,)),
    (dict_pop, (0.7,)),
], ids=lambda c: getattr(c, "__name__", ""))
def test_regressions(func, args):
    s2sad.check_grads(func, args, argnums=(0,))


def repeats_a_list(x):
    a = [x, 2.0 * x]
    b = 2 * a
    return len(b) * b[0]


def test_list_repetition_is_differentiated():  # (refused before)
    assert s2sad.grad(repeats_a_list)(1.0) == pytest.approx(4.0)
    s2sad.check_grads(repeats_a_list, (1.0,), modes=("fwd", "rev"))


def copies_into(x):
    y = np.zeros(3)
    np.copyto(y, x)
    return np.sum(y ** 2)


def writes_out(x):
    y = x * 1.0
    np.sin(x, out=y)
    return np.sum(y)


def adds_at(x):
    y = np.zeros(3)
    np.add.at(y, [0, 0], x[:2])
    return np.sum(y)


def fills(x):
    y = x * 1.0
    y.fill(2.0)
    return np.sum(y * x)


@pytest.mark.parametrize("func", [copies_into, writes_out, adds_at, fills])
def test_numpy_writes_in_place_are_refused(func):
    with pytest.raises(errors.UnsupportedSyntaxError, match="in place"):
        s2sad.grad(func)(np.ones(3))


def loop_variable_after_the_loop(x):
    for i in range(3):
        x = x * 1.5
    return x * i


def calls_it(x):
    return loop_variable_after_the_loop(x)


def test_vjp_keeps_a_loop_variable_read_after_the_loop():
    assert s2sad.grad(calls_it)(0.7) == pytest.approx(2 * 1.5 ** 3)
    _, pullback = s2sad.vjp(loop_variable_after_the_loop, 0.7)
    assert pullback(1.0)[0] == pytest.approx(2 * 1.5 ** 3)


def reshaped(x, shape):
    return np.reshape(x, shape) * 2.0


def test_vjp_leaves_integer_tuples_alone():
    value, pullback = s2sad.vjp(reshaped, np.arange(6.0), (2, 3))
    g, shape_bar = pullback(np.ones((2, 3)))
    np.testing.assert_array_equal(g, 2.0 * np.ones(6))
    assert shape_bar is None


def comprehension_over_its_own_name(x):
    x = [x, 2.0 * x]
    return sum([x * x for x in x])  # the iterable is the outer x


def test_a_comprehension_variable_does_not_rename_the_iterable():
    s2sad.check_grads(comprehension_over_its_own_name, (0.7,))


# fields named like array attributes (.T, .real, .imag) are fields
Option = collections.namedtuple("Option", "S K T r sigma")


@dataclasses.dataclass
class Spot:
    real: float
    imag: float
    T: float


def black_scholes_call(S):
    o = Option(S, 100.0, 0.5, 0.02, 0.25)
    d1 = (math.log(o.S / o.K) + (o.r + 0.5 * o.sigma ** 2) * o.T) / (
        o.sigma * math.sqrt(o.T))
    d2 = d1 - o.sigma * math.sqrt(o.T)
    n = lambda z: 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))  # noqa: E731
    return o.S * n(d1) - o.K * math.exp(-o.r * o.T) * n(d2)


def fields_named_as_attributes(x):
    p = Spot(x, 2.0 * x, x * x)
    return p.real * p.imag + p.T * 3.0


def option_argument(o):
    return o.S * o.T ** 2 + o.sigma


@pytest.mark.parametrize("func, x", [(black_scholes_call, 105.0),
                                     (fields_named_as_attributes, 0.7)])
def test_fields_named_T_real_and_imag_are_fields(func, x):
    s2sad.check_grads(func, (x,))
    h = 1e-4
    expected = (s2sad.grad(func)(x + h) - s2sad.grad(func)(x - h)) / (2 * h)
    assert s2sad.hessian(func)(x) == pytest.approx(expected, rel=1e-6)
    assert s2sad.grad(s2sad.grad(func))(x) == pytest.approx(expected, rel=1e-6)


def test_a_record_argument_with_a_field_named_T():
    o = Option(2.0, 100.0, 3.0, 0.02, 0.25)
    g = s2sad.grad(option_argument)(o)
    assert (g.S, g.T, g.sigma) == (9.0, 12.0, 1.0)


# `[0.0] * n` repeats a list (or tuple): linear in its items, whose
# adjoints are the sums of their copies'

def filled_from_a_repeated_list(x):
    out = [0.0] * len(x)
    for i in range(len(x)):
        out[i] = x[i] ** 2
    return sum(out)


def repeats_differentiated_items(x):
    xs = [x, 2.0 * x] * 3
    return xs[0] * xs[3] + xs[5] ** 2


def repeats_a_tuple_on_the_left(x):
    flags = 2 * (1.0, x)
    return x * flags[1] + flags[3] * flags[2]


def repeated_length_only(x):
    zeros = [0] * 3
    return x * x + len(zeros)


@pytest.mark.parametrize("f, x", [
    (filled_from_a_repeated_list, np.array([0.5, -1.0, 2.0])),
    (repeats_differentiated_items, 0.7), (repeats_a_tuple_on_the_left, 1.5),
    (repeated_length_only, 2.0)])
def test_a_repeated_list_gives_the_derivatives(f, x):
    value, g = s2sad.value_and_grad(f)(x)
    assert value == f(x)
    s2sad.check_grads(f, (x,), modes=("fwd", "rev"))
    s2sad.check_grads(f, (x,), order=2)


def test_repeating_what_is_no_list_says_so():
    def f(x):
        t = np.array([x, x])
        return np.sum(t * 2)  # arithmetic: not a repetition
    assert s2sad.grad(f)(1.5) == pytest.approx(4.0)


def repeated_by_an_argument(x, n):
    w = [x[2]] * n
    return np.sum(w * np.linspace(1.0, 2.0, n))


def repeated_by_a_product(x, scale):
    w = [x[2]] * (scale * 2.0)
    return np.sum(w)


def repeated_by_computed_counts(a, X):
    n = X.shape[0]
    out = [0.0] * n
    for i in range(n):
        out[i] = a * X[i] + (out[i - 1] * 0.5 if i else 0.0)
    steps = [a] * int(2.0 / 0.5)
    squares = [a * a] * max(1, X.size - 1)
    return sum(out) + sum(steps) + sum(squares)


def test_a_list_times_a_count_given_as_an_argument_is_a_repetition():
    # `[x[2]] * n` with n an argument: a repetition when n is an int, as
    # Python's; NumPy's product with an array n is refused when it runs,
    # at the line (the two are differentiated differently)
    x = np.array([0.7, -1.3, 0.4])
    for n in (3, np.int64(3), 0):
        g = s2sad.grad(repeated_by_an_argument)(x, n)
        np.testing.assert_allclose(
            g, s2sad.grad(repeated_by_an_argument, optimize=False)(x, n),
            rtol=1e-14)
    s2sad.check_grads(repeated_by_an_argument, (x, 3), argnums=0)
    with pytest.raises(errors.S2SADError, match=(
            r"test_containers.py:\d+: `\*` of a list or tuple and a ndarray")):
        s2sad.grad(repeated_by_an_argument)(x, np.array([1.0, 2.0, 3.0]))
    # a count the function computes is a repetition when it is an int
    # (`[0.0] * X.shape[0]`, `int(T / dt)`), refused when it runs if not;
    # so is a 0-d array, with which `*` is NumPy's product too
    for n in (2, 3.0):
        with pytest.raises(errors.S2SADError, match=(
                r"test_containers.py:\d+: `\*` of a list or tuple and a "
                "float")):
            s2sad.grad(repeated_by_a_product)(x, n / 2)
    np.testing.assert_allclose(
        s2sad.grad(repeated_by_computed_counts)(0.5, np.arange(3.0)),
        s2sad.grad(repeated_by_computed_counts, optimize=False)(
            0.5, np.arange(3.0)), rtol=1e-14)
    s2sad.check_grads(repeated_by_computed_counts, (0.5, np.arange(3.0)),
                      argnums=0)
    with pytest.raises(errors.S2SADError, match="a list or tuple and a "
                       "ndarray"):
        s2sad.grad(repeated_by_an_argument)(x, np.array(3))


def squares_summed_in_a_second_loop(x, n):
    xs = []
    for _ in range(n):
        x = x + 0.01 * math.sin(x)
        xs.append(x * x)
    total = 0.0
    for v in xs:  # (each item's adjoint added in the backward sweep)
        total += v
    return total


def pairs_read_by_index(w, n):
    history = [(w, 2.0 * w)]
    for k in range(n):
        a, b = history[-1]
        history.append((np.tanh(a + 0.1 * b), a * b))
    total = 0.0
    for k in range(len(history)):
        a, b = history[k]
        total = total + np.sum(a * b)
    return total + np.sum(history[1][0]) - np.sum(history[-1][1])


def windows_of_a_list(x, n):
    xs = [x * k for k in range(1, n + 1)]
    total = 0.0
    for k in range(n - 2):
        total = total + sum(xs[k:k + 3]) * xs[k]
    return total


def _exact_and_as_unoptimised(f, args):
    """The gradient in the first argument against central differences and
    the unoptimised code's, and the value the function's."""
    s2sad.check_grads(f, args, argnums=0)
    value, g = s2sad.value_and_grad(f)(*args)
    assert value == f(*args)
    np.testing.assert_allclose(g, s2sad.grad(f, optimize=False)(*args),
                               rtol=1e-13)


@pytest.mark.parametrize("f, args", [
    (squares_summed_in_a_second_loop, (0.3, 60)),
    (pairs_read_by_index, (np.array([0.2, -0.4]), 12)),
    (windows_of_a_list, (0.7, 9))])
def test_items_of_a_list_read_in_a_loop(f, args):
    # a list built in one loop and read item by item (or slice by slice) in
    # another: the adjoint of each read is added to its items' adjoints in
    # place, not by a sum with a list's worth of zeros each step
    _exact_and_as_unoptimised(f, args)


def test_the_adjoint_of_a_list_item_is_added_in_place_when_owned():
    from s2sad import runtime
    xs = [1.0, np.ones(2), (3.0, 4.0)]
    total = runtime.zeros_like(xs)
    for g, index in [(2.0, 0), (np.full(2, 0.5), 1), (2.0, 0),
                     (runtime.sequence([1.0, -1.0]), 2),
                     (runtime.sequence([1.0, np.ones(2)]), slice(0, 2))]:
        expected = runtime.getitem_adjoints(total.copy(), xs, g, index)
        same = runtime.getitem_adjoints(total, xs, g, index, owned=True)
        assert same is total  # (written into, not made anew)
        for a, b in zip(same, expected):
            np.testing.assert_array_equal(np.asarray(a, dtype=object),
                                          np.asarray(b, dtype=object))


def trajectory_of_last_items(x, n):
    xs = [x]
    for _ in range(n):
        xs.append(xs[-1] + 0.01 * math.sin(xs[-1]))
    return xs[-1] + sum(xs) * 0.001


def states_of_a_linear_map(s0, n):
    A = np.array([[0.9, 0.2], [-0.3, 0.8]])
    states = [s0, 0.5 * s0]  # (the last of several items)
    for _ in range(n):
        states.append(np.tanh(A @ states[-1]))
    return np.sum(states[-1] ** 2) + sum(np.sum(s) for s in states)


def pairs_of_a_while_loop(x, t_end):
    history = [(x, 0.0)]
    t = 0.0
    while t < t_end:
        position, velocity = history[-1]
        history.append((position + 0.1 * velocity,
                        velocity - 0.1 * math.sin(position)))
        t += 0.1
    position, velocity = history[-1]
    return position * velocity + len(history)


def last_item_after_the_append(x, n):
    xs = [x, 2.0 * x]
    for k in range(n):
        xs.append(xs[-1] * xs[-2] * 0.5)
        if xs[-1] > 10.0:  # (the new version read: no carry)
            xs[-1] = xs[-1] / 10.0
    return xs[-1]


def last_items_through_branches(x, n):
    xs = [x]
    ys = []
    for k in range(n):
        if k % 5 == 0:
            continue  # (no append in this iteration)
        if k % 3 == 0:
            xs.append(xs[-1] * 0.9)
        else:
            xs.append(math.sin(xs[-1]) + 0.1)
        ys.append(xs[-1] * 0.5)  # (the item just appended)
    return sum(xs) + sum(ys) * xs[-1]


@pytest.mark.parametrize("f, args", [
    (trajectory_of_last_items, (0.3, 40)),
    (trajectory_of_last_items, (0.3, 0)),
    (last_items_through_branches, (0.4, 23)),
    (states_of_a_linear_map, (np.array([0.4, -0.7]), 12)),
    (pairs_of_a_while_loop, (0.6, 1.25)),
    (last_item_after_the_append, (1.3, 9))])
def test_the_last_item_of_a_list_a_loop_appends_to(f, args):
    # `xs[-1]` of a list a loop appends to is the item appended last, which
    # the loop (and each branch) carries: its versions are read only by
    # the appends, which then run in place (a trajectory costs O(steps),
    # not O(steps^2))
    _exact_and_as_unoptimised(f, args)
    source = s2sad.grad(f).source
    if f is not last_item_after_the_append:
        assert "runtime.appended_owned(" in source and \
            "runtime.appended(" not in source


def popped_in_a_loop(x, a):
    xs = [x, a, x * a, 2.0, a * a]
    t = 0.0
    for _ in range(3):
        t = t * 0.5 + xs.pop()  # (in an expression)
    return t + xs.pop() * xs[-1]


def popped_in_one_side(x, a):
    xs = [x, a]
    return xs.pop() if x > 0.0 else a


def popped_from_both_ends(x, a):
    xs = []
    for k in range(6):
        xs.append(x * a ** k)
    t = 1.0
    while len(xs) > 1:
        t = t + xs.pop(0) * xs.pop()
    return t


@pytest.mark.parametrize("f", [popped_in_a_loop, popped_from_both_ends])
def test_pop_in_an_expression_and_in_a_loop(f):
    # `xs.pop()` inside an expression pops there, in the order Python
    # evaluates it, as `v = xs.pop()` does
    args = (0.7, 0.95)
    s2sad.check_grads(f, args, argnums=(0, 1))
    value, _ = s2sad.value_and_grad(f, argnums=(0, 1))(*args)
    assert value == f(*args)
    with pytest.raises(errors.UnsupportedSyntaxError, match=(
            r"test_containers.py:\d+: a list changed in one side of a "
            "conditional expression")):
        s2sad.grad(popped_in_one_side)(*args)


def built_then_reversed(x, n):
    xs = [x]
    for _ in range(n):
        xs.append(math.sin(xs[-1]) + 0.1)
    t = 0.0
    for v in reversed(xs):  # (nothing changes xs while it is iterated)
        t = t * 0.5 + v
    return t


def test_reversed_of_a_list_no_longer_changed():
    # `for v in reversed(xs)` after the loop that built xs reads what
    # Python's iterator reads; one whose body changes xs stays refused
    _exact_and_as_unoptimised(built_then_reversed, (0.3, 10))


def reversed_in_step_with_a_count(x, n):
    xs = [x]
    for _ in range(n):
        xs.append(math.sin(xs[-1]) + 0.1)
    t = 0.0
    for j, v in enumerate(reversed(xs)):  # (enumerate and zip read it as
        t = t + v / (j + 1)              # the loop goes: as `for v in`)
    for u, v in zip(xs, reversed(xs)):
        t = t + u * v
    return t


def pairs_kept_whole(x, n):
    ys = [x * k for k in range(n)]
    t = 0.0
    for pair in zip(ys, reversed(ys)):  # (a tuple, not unpacked)
        t = t + pair[0] * pair[1]
    for item in enumerate(ys):
        t = t + item[0] * item[1]
    return t


def rows_written_and_copied(x, n):
    table = [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    table[0] = [x, 9.0]  # (a list of lists written: still a list)
    for i in range(1, n):
        row = list(table[i])  # a copy of a row, written, put back
        row[1] = x * table[i - 1][0] + row[0]
        table[i] = row
    return table[n - 1][1]


def test_reversed_and_rows_iterated_and_written_as_python_does():
    # (outside attack: `enumerate(reversed(xs))` was refused as if xs
    # changed while read; `for pair in zip(...)` had "no derivative rule
    # for zip"; a row copied, written and put back into a list of lists
    # written before was refused as a view of an array)
    _exact_and_as_unoptimised(reversed_in_step_with_a_count, (0.3, 6))
    _exact_and_as_unoptimised(pairs_kept_whole, (0.7, 4))
    _exact_and_as_unoptimised(rows_written_and_copied, (0.7, 3))


def two_step_method(y0, lam, n):
    h = 0.05
    ys = [y0, y0 + h * math.sin(lam * y0)]
    fs = [math.sin(lam * ys[0]), math.sin(lam * ys[1])]  # (the literal's)
    for _ in range(n):
        ys.append(ys[-1] + h * (1.5 * fs[-1] - 0.5 * fs[-2]))
        fs.append(math.sin(lam * ys[-1]))
    return ys[-1] + 0.1 * sum(ys) + fs[0]


def test_a_multistep_history_is_appended_to_in_place():
    # xs[-2] of a list appended to is the item appended before the last,
    # and xs[0] the literal's first: an Adams-Bashforth history costs
    # O(steps)
    _exact_and_as_unoptimised(two_step_method, (0.4, 1.3, 25))
    source = s2sad.grad(two_step_method).source
    assert "runtime.appended(" not in source and "_last2" in source


def _iterated_layer(A, x0, n):
    x = x0
    for _ in range(n):
        x = np.tanh(A @ x)
    return np.sum(x ** 2)


def test_a_matrix_given_as_nested_lists_in_a_loop():
    # (second outside attack: a TypeError from the runtime: the list's
    # zero adjoint, a list's form, met the product's adjoint, an array's)
    A = [[0.5, 0.1], [0.2, -0.3]]
    x = np.array([1.0, 2.0])
    g_list, gx = s2sad.grad(_iterated_layer, argnums=(0, 1))(A, x, 3)
    g_array, gx_array = s2sad.grad(_iterated_layer, argnums=(0, 1))(
        np.array(A), x, 3)
    assert isinstance(g_list, list) and isinstance(g_list[0], list)
    np.testing.assert_allclose(np.array(g_list), g_array, rtol=1e-14)
    np.testing.assert_allclose(gx, gx_array, rtol=1e-14)

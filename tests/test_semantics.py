"""What s2sad differentiates is what Python computes: names, aliasing,
in-place updates, casts, and what gradients are returned as."""

import ast
import bisect
import collections
import copy
import heapq
import builtins
import inspect
import itertools
import operator
import re
import sys
import types

import numpy as np
import pytest

import s2sad
from tests import corpus, loop_corpus
from tests.rule_inputs import deprecated_here



# ---- generated code's own names cannot be shadowed by the user's ----

def _poisoned(func):
    """`func` with a module namespace in which every builtin its module never
    names, and `runtime`, are bound to junk: the names s2sad's generated code
    uses for itself must not be read from there."""
    module = sys.modules[func.__module__]
    used = {n.id for n in ast.walk(ast.parse(inspect.getsource(module)))
            if isinstance(n, ast.Name)}
    namespace = dict(func.__globals__)
    for name in set(dir(builtins)) - used | {"runtime"}:
        namespace[name] = _Junk(name)
    return types.FunctionType(func.__code__, namespace, func.__name__,
                              func.__defaults__, func.__closure__)


class _Junk:
    def __init__(self, name):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise AssertionError(f"generated code read the user's `{self.name}`")


_CASES = sorted({**{f"corpus.{k}": v for k, v in corpus.CASES.items()},
                 **{f"loops.{k}": v for k, v in loop_corpus.CASES.items()}}.items())


@pytest.mark.parametrize("name, case", _CASES, ids=[n for n, _ in _CASES])
def test_user_globals_named_like_builtins_do_not_change_gradients(name, case):
    func, args, argnums = case
    poisoned = _poisoned(func)
    expected = s2sad.value_and_grad(func, argnums=argnums)(*args)
    got = s2sad.value_and_grad(poisoned, argnums=argnums)(*args)
    assert np.all(np.asarray(got[0]) == np.asarray(expected[0]))
    for g, e in zip(*(x if isinstance(argnums, tuple) else (x,)
                      for x in (got[1], expected[1]))):
        np.testing.assert_array_equal(g, e)
    position = argnums if isinstance(argnums, int) else argnums[0]
    tangents = tuple(np.ones_like(np.asarray(a, dtype=float))
                     if i == position else np.zeros_like(
                         np.asarray(a, dtype=float))
                     for i, a in enumerate(args))
    tangents = tuple(float(t) if isinstance(a, float) else t
                     for t, a in zip(tangents, args))
    try:
        expected = s2sad.jvp(func, args, tangents)
    except s2sad.errors.S2SADError:
        return  # no forward mode for this program
    got = s2sad.jvp(poisoned, args, tangents)
    np.testing.assert_array_equal(got[1], expected[1])


# ---- a checker: exact, or refused at the user's line ----

def _copies(args):
    return [copy.deepcopy(a) for a in args]


def _numeric(f, args, i, v, eps=1e-6):
    """The derivative of f along v in argument i, by central differences
    (each call on fresh copies: f may change its arguments)."""
    def at(t):
        moved = _copies(args)
        x = moved[i]
        moved[i] = x + t * v if not isinstance(x, list) else \
            [a + t * b for a, b in zip(x, v)]
        return np.asarray(f(*moved), dtype=float)
    return (at(eps) - at(-eps)) / (2 * eps)


def exact(f, *args, argnum=0):
    """value_and_grad and jvp of f equal f's value and central differences,
    and leave the arguments as they were."""
    expected = f(*_copies(args))
    kept = _copies(args)
    value, g = s2sad.value_and_grad(f, argnums=argnum)(*args)
    for a, b in zip(args, kept):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(value), np.asarray(expected))
    x = args[argnum]
    shape = np.shape(x)
    rng = np.random.default_rng(0)
    for j in range(int(np.prod(shape))):
        e = np.zeros(shape)
        e.flat[j] = 1.0
        direction = float(e) if isinstance(x, float) else (
            list(e) if isinstance(x, list) else e)
        numeric = _numeric(f, args, argnum, direction)
        np.testing.assert_allclose(np.asarray(g, dtype=float).flat[j],
                                   numeric, rtol=1e-6, atol=1e-8)
    v = rng.standard_normal(shape)
    direction = float(v) if isinstance(x, float) else (
        list(v) if isinstance(x, list) else v)
    tangents = [None] * len(args)
    tangents[argnum] = direction
    value, t = s2sad.jvp(f, tuple(args), tuple(tangents))
    np.testing.assert_array_equal(np.asarray(value), np.asarray(expected))
    np.testing.assert_allclose(t, _numeric(f, args, argnum, direction),
                               rtol=1e-6, atol=1e-8)
    for a, b in zip(args, kept):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def refused(f, *args):
    """s2sad refuses f with an S2SADError at one of f's own lines."""
    lines, first = inspect.getsourcelines(f)
    with pytest.raises(s2sad.errors.S2SADError) as info:
        s2sad.value_and_grad(f)(*args)
    where = str(info.value).split(": ", 1)[0]
    filename, line = where.rsplit(":", 1)
    assert filename == __file__
    assert first <= int(line) < first + len(lines), str(info.value)


# ---- aliasing, views and updates in place ----

def alias_then_update(x):
    a = np.zeros(3)
    b = a
    b += x  # a changes too
    return np.sum(a * x)


def view_then_update(x):
    a = np.zeros(3)
    b = a[:2]
    b += x[:2]
    return np.sum(a * x)


def transpose_then_update(x):
    a = np.outer(x, x)
    b = a.T
    b *= 2.0
    return np.sum(a)


def reshape_then_update(x):
    a = np.outer(x, x)
    b = a.reshape(-1)
    b -= 1.0
    return np.sum(a * a)


def row_then_update(x):
    a = np.outer(x, x)
    r = a[1]
    r += x
    return np.sum(a)


def row_read_after_write(x):
    a = np.outer(x, x)
    r = a[0]
    a[0] = x
    return np.sum(r * x)


def rows_swapped(x):
    a = np.outer(x, x)
    a[0], a[1] = a[1], a[0]  # NumPy does not swap the rows
    return np.sum(a * np.arange(9.0).reshape(3, 3))


def appended_then_written(x):
    rows = []
    buf = np.zeros(3)
    rows.append(buf)
    buf[0] = x[0]
    return np.sum(rows[0] * x)


def dict_item_updated(x):
    w = np.zeros(3)
    params = {"w": w}
    params["w"] += x  # w changes too
    return np.sum(w * x)


def list_item_updated(x):
    w = np.ones(3)
    items = [w, x]
    items[0] *= x
    return np.sum(w)


def argument_alias_updated(x):
    y = x
    y += 1.0  # the caller's x, and so x here too
    return np.sum(y * x)


ALIASED = [alias_then_update, view_then_update, transpose_then_update,
           reshape_then_update, row_then_update, row_read_after_write,
           rows_swapped, appended_then_written, dict_item_updated,
           list_item_updated, argument_alias_updated]


@pytest.mark.parametrize("f", ALIASED, ids=[f.__name__ for f in ALIASED])
def test_updates_seen_through_another_name_are_refused_at_their_line(f):
    refused(f, np.array([1.0, 2.0, 3.0]))


def argument_written(x):
    x[0] = x[0] * x[1]
    return np.sum(x * x)


def argument_updated(x):
    x += 1.0
    x[1:] *= x[:-1]
    return np.sum(x ** 2)


def list_argument_written(xs):
    xs[0] = xs[0] * xs[1]
    xs.append(xs[0] + 1.0)
    return xs[0] + xs[1] * xs[2]


def fresh_items_updated(x):
    grads = [np.zeros(3), np.zeros(3)]
    grads[0] += x
    grads[1] += 2.0 * x
    return np.sum(grads[0] * grads[1])


def float32_accumulator(x):
    acc = np.zeros(3, dtype=np.float32)
    acc += x  # stays float32
    acc *= x
    return np.sum(acc)


def int_array_updated(x):
    counts = np.zeros(3, dtype=int)
    counts += 1
    counts[0] = x[0]  # truncated
    return np.sum(counts * x)


def number_alias_updated(x):
    total = 0.0
    start = total
    total += np.sum(x)  # a number is rebound: start keeps 0.0
    return total * total + start


def slices_updated(x):
    m = np.ones((3, 3))
    m[0, :] *= x[0]
    m[:, 1] += x
    m[1:, :2] -= np.outer(x[1:], x[:2])
    return np.sum(m ** 2)


def row_copied_then_written(x):
    a = np.outer(x, x)
    r = a[0].copy()
    a[0] = x
    return np.sum(r * a)


EXACT = [argument_written, argument_updated, fresh_items_updated,
         int_array_updated, number_alias_updated,
         slices_updated, row_copied_then_written]


@pytest.mark.parametrize("f", EXACT, ids=[f.__name__ for f in EXACT])
def test_updates_in_place_are_differentiated_as_python_runs_them(f):
    exact(f, np.array([1.3, -0.7, 2.1]))


def test_an_accumulator_updated_in_place_keeps_its_dtype():
    x = np.array([1.3, -0.7, 2.1])
    value, g = s2sad.value_and_grad(float32_accumulator)(x)
    expected = float32_accumulator(x.copy())
    assert value == expected and value.dtype == np.float32
    # d/dx sum(float32(x) * x) = 2x, to float32's precision
    np.testing.assert_allclose(g, 2 * x, rtol=1e-6)


def test_a_list_argument_written_into_is_differentiated_and_kept():
    exact(list_argument_written, [1.5, -2.0])


def test_in_place_updates_raise_where_numpy_raises():
    def widen(x):
        a = np.zeros(3)
        a += np.outer(x, x)  # (3,) += (3, 3): NumPy raises
        return np.sum(a)

    def into_ints(x):
        a = np.zeros(3, dtype=int)
        a += x  # same_kind casting: NumPy raises
        return np.sum(a)
    for f in (widen, into_ints):
        with pytest.raises((ValueError, TypeError)) as python:
            f(np.ones(3))
        with pytest.raises(type(python.value)):
            s2sad.grad(f)(np.ones(3))


# ---- a value that passes through an integer type ----

def astype_int(x):
    return np.sum(x.astype(int) * x)


def array_of_int_dtype(x):
    return np.sum(np.array(x, dtype=np.int64) * x)


def asarray_of_int_dtype(x):
    return np.sum(np.asarray(x * 2.0, dtype=np.int32) * x)


def astype_bool(x):
    return np.sum(x.astype(bool) * x + (x > 0) * x)


def floats_into_int_array(x):
    a = np.zeros(3, dtype=int)
    a[0] = x[0]
    a[1:] = x[1:] * 3.0
    return np.sum(a * x)


def python_int_and_round(x):
    return int(x[0]) * x[1] + round(x[1]) * x[0] + round(x[2], 1) * x[2]


# np.fix where this NumPy does not deprecate it (it does from 2.5)
fix = np.trunc if deprecated_here(np.fix, 0.5) else np.fix


def numpy_rounding(x):
    return np.sum(np.floor(x) * x + np.rint(x) * x + np.trunc(x) * x
                  + fix(x) * x + np.round(x, 1) * x)


def astype_float32(x):
    return np.sum(x.astype(np.float32).astype(float) * x)


CASTS = [astype_int, array_of_int_dtype, asarray_of_int_dtype, astype_bool,
         floats_into_int_array, python_int_and_round, numpy_rounding]


@pytest.mark.parametrize("f", CASTS, ids=[f.__name__ for f in CASTS])
def test_a_value_through_an_integer_type_has_derivative_zero_there(f):
    exact(f, np.array([1.3, -2.2, 2.61]))


def test_a_float32_round_trip_has_derivative_one():
    x = np.array([1.3, -2.2, 2.61])
    g = s2sad.grad(astype_float32)(x)
    np.testing.assert_allclose(g, x.astype(np.float32) + x, rtol=1e-7)
    _, t = s2sad.jvp(astype_float32, (x,), (np.ones(3),))
    np.testing.assert_allclose(t, np.sum(x.astype(np.float32) + x), rtol=1e-7)


# ---- what gradients, tangents and cotangents are returned as ----

def test_a_float_input_gets_a_float_gradient_even_from_an_int_factor():
    g = s2sad.grad(lambda x, n: x * n + n)(1.5, 3)
    assert type(g) is float and g == 3.0
    g = s2sad.grad(lambda x: 3 * x)(1.5)
    assert type(g) is float and g == 3.0


@pytest.mark.parametrize("x", [
    np.float64(1.5), np.float32(1.5), np.array(1.5), np.array([1.5]),
    np.array([1.5, 2.0], dtype=np.float32), np.array([[1.0, 2.0]])],
    ids=["float64", "float32", "0-d", "size-1", "float32-array", "2-d"])
def test_a_gradient_has_its_inputs_type_shape_and_dtype(x):
    g = s2sad.grad(lambda x: np.sum(3 * x))(x)
    assert type(g) is type(x) and np.shape(g) == np.shape(x)
    assert g.dtype == x.dtype
    np.testing.assert_array_equal(g, np.full(np.shape(x), 3.0))


def test_an_integer_input_is_refused_unless_allow_int():
    # as in JAX: an integer has no derivative; allow_int gives float zeros
    for x in (np.array([1, 2]), 3, np.int64(3), True):
        with pytest.raises(s2sad.errors.InputTypeError, match="allow_int"):
            s2sad.grad(lambda x: np.sum(x * 2.5))(x)
        g = s2sad.grad(lambda x: np.sum(x * 2.5), allow_int=True)(x)
        assert np.asarray(g).dtype == np.float64
        assert np.shape(g) == np.shape(x)
        np.testing.assert_array_equal(g, np.zeros(np.shape(x)))


def test_gradients_never_alias_each_other_the_inputs_or_the_cotangent():
    t = np.ones(3)
    u, v = np.zeros(3), np.zeros(3)
    gu, gv = s2sad.grad(lambda u, v: np.sum((u + v - t) ** 2),
                        argnums=(0, 1))(u, v)
    assert not np.shares_memory(gu, gv)
    x = np.array([1.0, 2.0, 3.0])
    g = s2sad.grad(lambda x: 0.5 * np.sum(x * x))(x)
    assert not np.shares_memory(g, x)
    cotangent = np.ones(3)

    def same(x):
        return x

    def reshaped(x):
        return x.reshape(3)

    def sliced(x):
        return x[:]
    for f in (same, reshaped, sliced):
        (g,) = s2sad.vjp(f, x)[1](cotangent)
        assert not np.shares_memory(g, cotangent) and not \
            np.shares_memory(g, x)
    for f in (same, sliced):
        value, tangent = s2sad.jvp(f, (x,), (cotangent,))
        assert not np.shares_memory(tangent, cotangent)
        assert not np.shares_memory(tangent, x)
    params = {"a": np.ones(2), "b": np.ones(2)}
    g = s2sad.grad(lambda p: np.sum(p["a"] + p["b"]))(params)
    assert not np.shares_memory(g["a"], g["b"])


def test_a_jvp_tangent_has_the_outputs_shape_and_type():
    value, tangent = s2sad.jvp(lambda x: np.ones(3), (1.0,), (1.0,))
    assert tangent.shape == (3,) and tangent.dtype == np.float64
    assert not tangent.any()
    value, tangent = s2sad.jvp(lambda x: np.arange(3) * 2, (1.0,), (1.0,))
    assert tangent.shape == (3,) and tangent.dtype != object
    value, tangent = s2sad.jvp(lambda x: (x > 0) * 1, (np.ones(2),),
                               (np.ones(2),))
    np.testing.assert_array_equal(tangent, [0.0, 0.0])
    value, tangent = s2sad.jvp(lambda x: float(x) * 2.0, (1.5,), (1.0,))
    assert type(tangent) is float and tangent == 2.0


def test_vjp_checks_the_cotangents_shape_and_type():
    value, vjp_fn = s2sad.vjp(lambda x: x * 2.0, np.ones(3))
    with pytest.raises(s2sad.errors.GradientShapeError, match=r"shape \(3,\)"):
        vjp_fn(np.ones(2))
    with pytest.raises(s2sad.errors.GradientShapeError, match="complex"):
        vjp_fn(np.ones(3) * 1j)
    value, vjp_fn = s2sad.vjp(lambda x: (x, x * 2.0), np.ones(3))
    with pytest.raises(s2sad.errors.GradientShapeError, match="structure"):
        vjp_fn(np.ones(3))


def test_grad_accepts_an_output_of_one_element():
    g = s2sad.grad(lambda x: x * 2.0)(np.array([1.5]))
    np.testing.assert_array_equal(g, [2.0])
    value, g = s2sad.value_and_grad(lambda x: np.sum(x * x, keepdims=True))(
        np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g, [2.0, 4.0])


# ---- values that crashed ----

def dict_entry_twice(x):
    d = {"b": x * 2.0, "c": x}
    return np.sum(d["b"] + d["b"] * d["c"] - d["b"])


def list_entry_twice(x):
    items = [x * 2.0, x]
    return np.sum(items[0] + items[0] * items[1])


C = np.array([1.0, -1.0])


def concatenate_constant_first(x):
    return np.sum(np.concatenate([C, x]) ** 2)


def stack_with_constant(x):
    return np.sum(np.stack([C, x[:2]]) * np.stack((x[1:], C)))


def concatenate_mixed(x):
    return np.sum(np.concatenate((x, C, [3.0], 2 * x)) ** 2)


def nested_list_in_callee(x):
    return np.sum(_matrix(x) @ _matrix(x))


def _matrix(x):
    return np.array([[x[0], 1.0], [2.0, x[1] * x[0]]])


CRASHED = [dict_entry_twice, list_entry_twice, concatenate_constant_first,
           stack_with_constant, concatenate_mixed, nested_list_in_callee]


@pytest.mark.parametrize("f", CRASHED, ids=[f.__name__ for f in CRASHED])
def test_programs_that_crashed(f):
    exact(f, np.array([1.3, -0.7, 2.1]))


def test_second_derivative_through_a_callee_building_an_array():
    h = s2sad.hessian(nested_list_in_callee)(np.array([1.3, -0.7, 2.1]))
    eps = 1e-5
    x = np.array([1.3, -0.7, 2.1])
    g = s2sad.grad(nested_list_in_callee)
    numeric = np.array([(g(x + eps * e) - g(x - eps * e)) / (2 * eps)
                        for e in np.eye(3)])
    np.testing.assert_allclose(h, numeric, rtol=1e-6, atol=1e-8)
    second = s2sad.grad(s2sad.grad(lambda x: nested_list_in_callee(
        np.array([x, 2.0]))))(1.5)
    assert isinstance(second, float)


# ---- found by an outside attack: aliases through expressions and calls ----

def _same(v):
    return v


def _first_row(m):
    return m[0]


def _doubled(v):
    return v * 2.0


def alias_by_conditional(x, flag=True):
    z = x * 2.0
    y = z if flag else x
    y += 1.0  # z changes too
    return np.sum(z * x)


def alias_by_or(x):
    z = x * 2.0
    y = x.size > 0 and z
    y += 1.0
    return np.sum(z * x)


def alias_by_call(x):
    y = x * 1.0
    z = _same(y)
    z += 1.0  # y changes too
    return np.sum(y * x)


def row_by_call(x):
    m = np.outer(x, x)
    r = _first_row(m)
    r *= 2.0
    return np.sum(m)


def alias_by_get(x):
    cache = {"h": x * 1.0}
    h = cache.get("h")
    h += 1.0
    return np.sum(cache["h"] * x)


def appended_in_a_loop(x):
    rows = []
    buf = np.zeros(3)
    for i in range(3):
        buf[i] = x[i] * 2.0  # every row is buf
        rows.append(buf)
    return np.sum(np.array(rows) * x)


ALIASED_FURTHER = [alias_by_conditional, alias_by_or, alias_by_call,
                   row_by_call, alias_by_get, appended_in_a_loop]


@pytest.mark.parametrize("f", ALIASED_FURTHER,
                         ids=[f.__name__ for f in ALIASED_FURTHER])
def test_aliases_made_by_expressions_and_calls_are_refused(f):
    refused(f, np.array([1.0, 2.0, 3.0]))


def fresh_from_call(x):
    z = _doubled(x)
    z += 1.0  # _doubled made a new array
    return np.sum(z * x)


def swaps_in_a_loop(x):
    a, b = x, 2.0 * x
    for i in range(4):
        a, b = b, a + b
    return np.sum(a * b)


def previous_value_in_a_loop(x):
    y = x * 1.0
    for i in range(3):
        prev = y
        y = y * 1.5  # rebinding: prev keeps the old array
    return np.sum(y + prev * x)


@pytest.mark.parametrize("f", [fresh_from_call, swaps_in_a_loop,
                               previous_value_in_a_loop],
                         ids=lambda f: f.__name__)
def test_new_values_from_calls_and_rebinding_in_loops_are_exact(f):
    exact(f, np.array([1.3, -0.7, 2.1]))


def _scale(h, b):
    h *= b  # the caller's array, in Python


def scaled_by_effect(x):
    h = x * 1.0
    _scale(h, x)
    return np.sum(h)


def test_a_call_for_its_effect_on_an_argument_is_refused_at_the_callee():
    lines, first = inspect.getsourcelines(_scale)
    with pytest.raises(s2sad.errors.S2SADError, match=rf"{first + 1}: `h`"):
        s2sad.grad(scaled_by_effect)(np.array([1.0, 2.0]))


# ---- found by an outside attack: Python's other semantics ----

def unpacks_two(x):
    a, b = x
    return a * b


def test_unpacking_checks_the_number_of_items_as_python_does():
    exact(unpacks_two, np.array([1.5, -2.0]))
    for bad in (np.array([1.0, 2.0, 3.0]), np.array([1.0])):
        with pytest.raises(ValueError) as python:
            unpacks_two(bad)
        with pytest.raises(ValueError, match=str(python.value)[:20]):
            s2sad.grad(unpacks_two)(bad)


def sorts_an_argument(x, order):
    order.sort()  # Python sorts the caller's array
    return np.sum(x[order] * np.arange(3.0))


def test_an_argument_changed_by_a_method_is_the_derivatives_copy():
    order = np.array([2, 0, 1])
    x = np.array([1.0, 2.0, 3.0])
    value, g = s2sad.value_and_grad(sorts_an_argument)(x, order)
    assert value == sorts_an_argument(x, order.copy())
    np.testing.assert_array_equal(g, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(order, [2, 0, 1])


def appends_to_an_argument(w, x):
    w.append(x * x)
    return sum(w) * x


def extends_an_argument(w, x):
    w.extend([x, 2.0 * x])
    return w[-1] * w[0]


def pops_from_an_argument(w, x):
    last = w.pop()
    return last * x


def test_a_lists_method_on_another_kind_raises_as_python_does():
    """`.append()`, `.extend()`, `.pop()` are differentiated as a list's
    (a new list each time): on an argument that is no list, the derivative
    raises Python's own AttributeError, where before it made a list of an
    array; on a kind that has such a method (a deque), it refuses at the
    user's line."""
    cases = [(appends_to_an_argument, [1.0, 2.0]),
             (extends_an_argument, [1.0]),
             (pops_from_an_argument, [1.0, 3.0])]
    for f, items in cases:
        g = s2sad.grad(f, 1)(list(items), 0.5)
        np.testing.assert_allclose(
            g, (f(list(items), 0.5 + 1e-6) - f(list(items), 0.5 - 1e-6))
            / 2e-6, rtol=1e-6)
        for other in (np.array(items), tuple(items), "ab"):
            with pytest.raises(AttributeError) as python:
                f(other, 0.5)
            for derivative in (s2sad.grad(f, 1), s2sad.value_and_grad(f, 1)):
                with pytest.raises(AttributeError, match=re.escape(
                        str(python.value))):
                    derivative(other, 0.5)
        with pytest.raises(s2sad.S2SADError, match=r"test_semantics\.py:\d+"
                           r": `\.\w+\(\)` of a deque"):
            s2sad.grad(f, 1)(collections.deque(items), 0.5)


WEIGHTS_BY_INT = {0: 5.0, 1: 7.0}


def loops_over_a_dict(x):
    total = 0.0
    for k in WEIGHTS_BY_INT:  # the keys, not the values
        total = total + k * x
    return total


def loops_over_items(params):
    total = 0.0
    for name, value in params.items():
        total = total + np.sum(value ** 2)
    for value in params.values():
        total = total + np.sum(value)
    for name in params.keys():
        total = total + 2.0 * np.sum(params[name])
    return total


def loops_over_an_iterator(x):
    total = 0.0
    for i, j in itertools.product(range(2), range(2)):
        total = total + x[i] * x[j]
    return total


def test_loops_over_dicts_and_iterators_iterate_as_python_does():
    exact(loops_over_a_dict, 1.5)
    exact(loops_over_an_iterator, np.array([1.3, -0.7]))
    params = {"a": np.array([1.0, 2.0]), "b": np.array([3.0])}
    value, g = s2sad.value_and_grad(loops_over_items)(params)
    assert value == loops_over_items(params)
    np.testing.assert_array_equal(g["a"], 2 * params["a"] + 3.0)
    np.testing.assert_array_equal(g["b"], 2 * params["b"] + 3.0)


def loop_carried_value(a):
    x = a
    for _ in range(3):
        x = x * x
    return x


def summed_loop_carried_value(a):
    return np.sum(loop_carried_value(a))


def test_value_and_grad_returns_the_value_after_the_loop():
    exact(loop_carried_value, 1.1)
    exact(summed_loop_carried_value, np.array([1.1, 0.9]))


X_ROWS = np.arange(6.0).reshape(2, 3)


def one_element_product(w):
    return X_ROWS[:1] @ w


def rows_appended_then_stacked(x):
    rows = []
    rows.append(x)
    rows.append(2.0 * x)
    return np.sum(np.array(rows) ** 2)


def zero_d_written(x):
    s = np.zeros(())
    s[...] = x * 2.0
    return s * x


def test_outputs_of_one_element_containers_and_zero_d_arrays():
    g = s2sad.grad(one_element_product)(np.ones(3))
    np.testing.assert_array_equal(g, X_ROWS[0])
    exact(rows_appended_then_stacked, np.array([1.3, -0.7]))
    exact(zero_d_written, 1.5)


def test_sinc_at_zero_has_derivative_zero():
    assert s2sad.grad(lambda x: np.sinc(x) * 1.0)(0.0) == 0.0
    assert s2sad.jvp(np.sinc, (0.0,), (1.0,))[1] == 0.0


# ---- found by a second outside attack: views read after an update ----

def _head(v):
    return v[:2]


def read_through_call(x):
    y = x * 2.0
    z = _same(y)
    y[0] = 0.0  # z is y
    return np.sum(z * x)


def read_through_call_view(x):
    y = x * 2.0
    h = _head(y)
    y[0] = 0.0
    return np.sum(h * x[:2])


def read_through_conditional(x):
    y = x * 2.0
    v = y if x[0] > 0 else x
    y[0] = 0.0
    return np.sum(v * x)


def read_through_list_of_views(x):
    y = x * 2.0
    parts = [y[:2]]
    y[0] = 0.0
    return np.sum(parts[0] * x[:2])


def read_through_split(x):
    y = x * 2.0
    a, b = np.split(y, 3)[:2]
    y[0] = 0.0
    return np.sum(a * b)


def nested_reads_changed_array(x):
    buf = np.zeros(2)

    def get(t):
        return buf[0] * t
    buf[0] = 5.0
    return get(x[0])


def loop_extends_its_list(x):
    ys = [x]
    n = 0
    for v in ys:
        n += 1
        if n < 3:
            ys.append(v * 2.0)
    return np.sum(ys[-1])


STALE = [read_through_call, read_through_call_view, read_through_conditional,
         read_through_list_of_views, read_through_split,
         nested_reads_changed_array, loop_extends_its_list]


@pytest.mark.parametrize("f", STALE, ids=[f.__name__ for f in STALE])
def test_values_that_would_see_an_update_are_refused(f):
    refused(f, np.array([1.0, 2.0, 3.0]))


# ---- found by a third outside attack: a view read on a loop's next
# iteration, after the loop changed what it views ----

def loops_over_a_view_it_changes(x):
    y = x.copy()
    i = 0
    for v in y[:-1]:  # each item read as the loop reaches it
        y[i + 1] = y[i + 1] + v * v
        i += 1
    return np.sum(y)


def zips_views_it_changes(x):
    y = x * 1.0
    s = 0.0
    for a, b in zip(y[:-1], y[1:]):
        s = s + a * b
        y[1] = y[1] * 2.0
    return s


def view_from_before_the_loop(x):
    y = x.copy()
    w = y[1:]
    s = 0.0
    for _ in range(2):
        s = s + w[0] * w[0]
        y[1] = y[1] * 2.0 + x[0]
    return s


def column_in_a_while_loop(x):
    Y = np.outer(x, x)
    col = Y[:, 0]
    s, i = 0.0, 0
    while i < 2:
        s = s + np.sum(col)
        Y[i, 0] = Y[i, 0] * x[1]
        i += 1
    return s


def rows_listed_before_the_loop(x):
    A = np.outer(x, x)
    rows = [A[0], A[1]]
    s = 0.0
    for _ in range(2):
        s = s + np.sum(rows[0] * rows[1])
        A[0, 1] = A[0, 1] + x[2]
    return s


def views_unpacked_before_the_loop(x):
    u = x.copy()
    a, b = u[:-1], u[1:]  # b is the view _t = u[1:] by another name
    for _ in range(2):
        u[1:] = b * x[0]
    return np.sum(u ** 2) + np.sum(a)


def rows_appended_in_an_earlier_loop(x):
    Y = np.zeros((3, 3))
    rows = []
    for i in range(3):
        rows.append(Y[i])
    for t in range(3):
        Y[t] = x * 0.5 + rows[0] * 2.0
    return np.sum(Y ** 2)


def slices_listed_by_a_comprehension(x):
    y = np.zeros(len(x))
    parts = [y[i:i + 1] for i in range(len(x))]
    for j in range(len(x)):
        prev = np.sum(parts[j - 1]) if j > 0 else 0.0
        y[j] = x[j] * 0.5 + prev
    return np.sum(y ** 2)


LOOP_STALE = [loops_over_a_view_it_changes, zips_views_it_changes,
              view_from_before_the_loop, column_in_a_while_loop,
              rows_listed_before_the_loop, views_unpacked_before_the_loop,
              rows_appended_in_an_earlier_loop,
              slices_listed_by_a_comprehension]


@pytest.mark.parametrize("f", LOOP_STALE, ids=[f.__name__ for f in LOOP_STALE])
def test_a_view_read_again_after_its_loop_changed_it_is_refused(f):
    # (a row, `A[0]`, is refused when the code runs: of a vector, a number)
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                       match="is read again on the loop's next iteration|"
                             "view of `[A-Za-z]+` .a row, not a number., "
                             "read again"):
        s2sad.grad(f)(np.array([0.5, -1.0, 2.0]))
    refused(f, np.array([0.5, -1.0, 2.0]))  # (at f's own line)


def view_taken_each_iteration(x):
    y = x.copy()
    s = 0.0
    for _ in range(2):
        w = y[1:]  # after the last update: it sees every change
        s = s + w[0] * w[0]
        y[1] = y[1] * 2.0 + x[0]
    return s


def view_taken_again_after_each_update(x):
    y = x.copy()
    w = y[1:]
    s = 0.0
    for _ in range(3):
        s = s + w[0] * w[-1]
        y[1] = y[1] * 2.0 + x[0]
        w = y[1:]  # the next iteration reads a view taken after the update
    return s


def loops_over_the_array_it_changes(x):
    y = x.copy()
    i = 0
    for v in y:
        if i < 2:
            y[i + 1] = y[i + 1] + v * v
        i += 1
    return np.sum(y)


def loops_over_a_view_of_another_array(x):
    y = x.copy()
    z = x * 2.0
    for i, v in enumerate(z[:-1]):
        y[i + 1] = y[i + 1] + v * y[i]
    return np.sum(y)


@pytest.mark.parametrize("f", [view_taken_each_iteration,
                               view_taken_again_after_each_update,
                               loops_over_the_array_it_changes,
                               loops_over_a_view_of_another_array])
def test_views_that_see_each_change_are_differentiated(f):
    exact(f, np.array([0.5, -1.0, 2.0]))


# Views a loop's iterations carry to later ones, in a list or a name,
# while the loop changes their array in place: every view shows the array's
# last values (the history of a stepper kept with `hist.append(u[:3])` is
# the last state, repeated). Refused wherever they are read once changed.

def history_of_views_taken_before_each_update(x):
    u = x * 1.0
    hist = []
    for _ in range(3):
        hist.append(u[:2])
        u[1:] = u[1:] * 2.0 + u[:-1]
    return np.sum(hist[0] ** 2)


def history_of_views_taken_after_each_update(x):
    u = x * 1.0
    hist = []
    for _ in range(3):
        u[1:] = u[1:] * 2.0 + u[:-1]
        hist.append(u[:2])
    return np.sum(hist[0] ** 2)


def history_of_views_in_a_while_loop(x):
    u = x * 1.0
    hist = []
    k = 0
    while k < 3:
        hist.append(u[1:])
        u[1:] = u[1:] * u[:-1]
        k += 1
    return np.sum(hist[-1] ** 2)


def last_view_taken_before_the_update(x):
    u = x * 1.0
    for _ in range(2):
        last = u[:2]
        u[1:] = u[1:] * 2.0 + u[:-1]
    return np.sum(last ** 2)


def views_of_a_row_kept_in_a_dict(x):
    u = np.outer(x, x)
    rows = {}
    for i in range(3):
        rows[i] = u[0]
        u[0] = u[0] * 2.0
    return np.sum(rows[0] ** 2)


def view_put_into_a_list_item(x):
    u = np.outer(x, x)
    rows = [None, None]
    rows[0] = u[0]
    u[0] = u[0] * 2.0
    return np.sum(rows[0] ** 2)


def view_put_into_a_dict(x):
    u = np.outer(x, x)
    rows = {}
    rows["first"] = u[0]
    u[0] = u[0] * 2.0
    return np.sum(rows["first"] ** 2)


CARRIED = [history_of_views_taken_before_each_update,
           history_of_views_taken_after_each_update,
           history_of_views_in_a_while_loop,
           last_view_taken_before_the_update,
           views_of_a_row_kept_in_a_dict, view_put_into_a_list_item,
           view_put_into_a_dict]


@pytest.mark.parametrize("f", CARRIED, ids=[f.__name__ for f in CARRIED])
def test_views_a_loop_carries_past_a_change_of_their_array_are_refused(f):
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                       match="view of `u`.*copy"):
        s2sad.grad(f)(x)
    refused(f, x)  # (at f's own line)


def history_of_copies(x):
    u = x * 1.0
    hist = []
    for _ in range(3):
        hist.append(u[:2].copy())
        u[1:] = u[1:] * 2.0 + u[:-1]
    return np.sum(hist[0] ** 2) + np.sum(hist[2] ** 3)


def last_view_taken_after_the_update(x):
    u = x * 1.0
    for _ in range(2):
        u[1:] = u[1:] * 2.0 + u[:-1]
        last = u[:2]
    return np.sum(last ** 2)


def view_used_before_the_update(x):
    u = x * 1.0
    total = 0.0
    for _ in range(3):
        v = u[1:]
        total = total + np.sum(v ** 2)
        u[1:] = u[1:] * 2.0 + u[:-1]
    return total + np.sum(u)


@pytest.mark.parametrize("f", [history_of_copies,
                               last_view_taken_after_the_update,
                               view_used_before_the_update])
def test_views_a_loop_reads_before_they_change_are_differentiated(f):
    exact(f, np.array([0.5, -1.0, 2.0]))


def writes_first_argument(a, b):
    a[0] = 5.0
    return np.sum(a * b)


def test_arguments_sharing_memory_with_one_updated_are_refused():
    s = np.array([1.0, 2.0, 3.0])
    with pytest.raises(s2sad.errors.S2SADError, match="same array"):
        s2sad.value_and_grad(writes_first_argument)(s, s)
    with pytest.raises(s2sad.errors.S2SADError, match="same array"):
        s2sad.value_and_grad(writes_first_argument)(s, s[:])
    exact(writes_first_argument, s, s.copy())


BASE = np.array([0.1, 0.5, 0.2, 0.9])


def relaxes_against_a_module_array(u):
    for _ in range(2):
        u[1:-1] = 0.5 * u[1:-1] + 0.25 * (BASE[2:] + BASE[:-2])
    return np.sum(u * BASE)


def test_an_argument_that_is_a_module_array_the_function_reads_is_refused():
    # Python's update of u changes BASE too; s2sad's copy would not
    kept = BASE.copy()
    with pytest.raises(s2sad.errors.S2SADError, match="module-level array"):
        s2sad.value_and_grad(relaxes_against_a_module_array)(BASE)
    with pytest.raises(s2sad.errors.S2SADError, match="module-level array"):
        s2sad.grad(relaxes_against_a_module_array)(BASE[:])
    np.testing.assert_array_equal(BASE, kept)
    exact(relaxes_against_a_module_array, BASE.copy())


# A call that changes a value of the function in place (a method such as
# `w.sort()`, a helper that updates its argument) acts on a new version of
# it: what was read before the call, which the backward sweep reads again,
# keeps its values (the sweep read the changed ones; found by an outside
# attack).

def _tick(counter):
    counter[0] += 1.0


def counted_by_a_helper(x):
    c = np.zeros(1)
    s = 0.0
    for i in range(len(x)):
        _tick(c)
        s = s + c * x[i] ** 2
    return np.sum(s)


def sorted_after_use(x):
    w = [3.0, 1.0]
    v = np.multiply(w, x)
    w.sort()
    return np.sum(v * np.multiply(w, x))


def partitioned_after_use(x):
    w = np.array([3.0, 1.0])
    v = w * x
    w.partition(0)
    return np.sum(v * w * x)


def inserted_after_use(x):
    w = [3.0, 1.0]
    v = np.multiply(w, x)
    w.insert(0, 5.0)
    return np.sum(v * np.multiply(w[1:], x))


def _reset(buffer):
    buffer[:] = 1.0


def refilled_by_a_helper(x):
    w = np.full(2, 3.0)
    v = w * x
    _reset(w)
    return np.sum(v * x) + np.sum(w * np.sin(x))


@pytest.mark.parametrize("f", [counted_by_a_helper, sorted_after_use,
                               partitioned_after_use, inserted_after_use,
                               refilled_by_a_helper])
def test_a_call_changing_a_value_in_place_keeps_what_was_read_before(f):
    x = np.array([1.0, 0.5]) if f is not counted_by_a_helper \
        else np.array([1.0, 0.5, -2.0])
    exact(f, x)
    np.testing.assert_allclose(s2sad.grad(f)(x), s2sad.vjp(f, x)[1](1.0)[0],
                               rtol=1e-13)
    if f in (sorted_after_use, inserted_after_use):
        # the gradient multiplies the list w by an array, which s2sad
        # does not differentiate (a list times what may be a count)
        with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                           match="not known to be an int"):
            s2sad.hessian(f)(x)
    else:
        s2sad.check_grads(f, (x,), order=2)


def _swap_first_two(items):
    items[0], items[1] = items[1], items[0]


def swaps_an_index_list(x, order):
    _swap_first_two(order)
    return x[order[0]] * 2.0 + x[order[1]]


def test_a_helper_swapping_items_of_an_argument_changes_a_copy():
    order = [0, 2]
    exact(swaps_an_index_list, np.array([1.5, -2.0, 3.0]), order)
    assert order == [0, 2]


def sums_ndindex(a):
    total = 0.0
    for i, j in np.ndindex(*a.shape):
        total = total + a[i, j] ** 2
    return total


def sums_flat(a):
    total = 0.0
    for v in a.flat:
        total = total + v * v
    return total


@pytest.mark.parametrize("f", [sums_ndindex, sums_flat],
                         ids=lambda f: f.__name__)
def test_loops_over_ndindex_and_flat_any_order(f):
    a = np.array([[1.5, -2.0], [0.5, 3.0]])
    exact(f, a)
    np.testing.assert_allclose(s2sad.hessian(f)(a),
                               2.0 * np.eye(4).reshape(2, 2, 2, 2))


def negative_base_power(x):
    return np.real((x - 2.0) ** 0.5) + x


def test_a_negative_float_to_a_fractional_power_is_complex_as_in_python():
    value, g = s2sad.value_and_grad(negative_base_power)(1.0)
    assert value == negative_base_power(1.0) and g == 1.0
    with pytest.raises(s2sad.errors.GradientShapeError, match="real output"):
        s2sad.grad(lambda_power)(1.0)


def lambda_power(x):
    return (x - 2.0) ** 0.5


def formatted_price(x):
    s = "%.3f" % x
    return float(s) * x


def formatted_through_a_name(x):
    fmt = "%.1f"
    label = "x=" + fmt % x
    return float(label[2:]) * x + len("run-%d" % 3) * x


def f_string(x):
    return float(f"{x:.2f}") * x


@pytest.mark.parametrize("f", [formatted_price, formatted_through_a_name,
                               f_string])
def test_a_string_made_from_a_value_carries_no_derivative(f):
    # "%.3f" % x formats x: a string operator, not the modulo of numbers
    exact(f, 1.23456)


def keyed_by_strings(p, x):
    w = p["w"] * x
    return np.sum(w ** 2) + p["b"] * len("bias")


def test_a_string_key_reads_a_value_with_its_derivative():
    # p["w"] has a string operand, yet is no string: its derivative flows
    p, x = {"w": np.array([1.0, 2.0]), "b": 0.5}, 2.0
    g = s2sad.grad(keyed_by_strings, argnums=(0, 1))(p, x)
    np.testing.assert_allclose(g[0]["w"], 2 * p["w"] * x ** 2)  # w x: 2wx^2
    assert g[0]["b"] == 4.0
    eps = 1e-6
    numeric = (keyed_by_strings(p, x + eps) - keyed_by_strings(p, x - eps)) \
        / (2 * eps)
    np.testing.assert_allclose(g[1], numeric, rtol=1e-7)


def write_into(u, k):
    u[1] = u[0] * k
    return np.sum(u * u)


def add_into(u, k):
    u += k
    return np.sum(u ** 2)


def step_into(u, k):
    u[1:-1] += k * (u[2:] - 2.0 * u[1:-1] + u[:-2])
    return np.sum(u ** 2)


def append_to(xs, k):
    xs.append(k * 2.0)
    return xs[-1] * xs[0]


def _smooth_at(arr, t):
    arr[t] = 0.5 * (arr[t] + arr[t - 1])


def smooth_through_a_helper(u, k):
    for t in range(1, len(u)):
        _smooth_at(u, t)
    return k * np.sum(u * u)


def test_changing_an_argument_that_cannot_change_raises_as_python_does():
    # s2sad changes a copy of an argument, which always can be changed;
    # where the function's own change fails (a read-only array, a view
    # made by np.broadcast_to, a tuple), its derivatives fail as it does
    # (found by the outside attack: they returned numbers)
    read_only = np.arange(1.0, 5.0)
    read_only.setflags(write=False)
    cases = [(write_into, read_only), (add_into, read_only),
             (step_into, read_only),
             (write_into, np.broadcast_to(np.array([0.5]), (4,))),
             (write_into, (1.0, 2.0, 3.0)), (append_to, (1.0, 2.0))]
    for f, u in cases:
        with pytest.raises(Exception) as raised:
            f(u, 0.3)
        for derivative in (s2sad.grad(f, argnums=1),
                           s2sad.value_and_grad(f, argnums=(0, 1))):
            with pytest.raises(type(raised.value), match=re.escape(
                    str(raised.value).split(" (")[0][:20])):
                derivative(u, 0.3)
        with pytest.raises(type(raised.value)):
            s2sad.jvp(f, (u, 0.3), (u, 1.0))
    # a helper's change, made to a copy of a read-only argument, too
    with pytest.raises(ValueError, match="read-only"):
        smooth_through_a_helper(read_only, 0.3)
    for derivative in (s2sad.grad(smooth_through_a_helper, argnums=1),
                       s2sad.value_and_grad(smooth_through_a_helper,
                                            argnums=1)):
        with pytest.raises(ValueError, match="read-only"):
            derivative(read_only, 0.3)
    # what can be changed is changed in a copy, as before
    u = np.arange(1.0, 5.0)
    for f in (write_into, add_into, step_into):
        s2sad.check_grads(f, (u, 0.3))
        np.testing.assert_array_equal(u, np.arange(1.0, 5.0))
    s2sad.check_grads(smooth_through_a_helper, (u, 0.3), argnums=1)
    assert s2sad.grad(append_to, argnums=1)([1.0, 2.0], 0.3) == 2.0


# ---- an element read before its array changes is a number, a row a view ----

def element_kept_across_its_update(b):
    u = b * 1.0
    old = u[2]
    u[2] = u[2] * 3.0 + u[1]
    return (u[2] - old) * u[3]


def elements_swapped(b):
    y = b * 1.0
    y[0], y[1] = y[1], y[0]
    return np.sum(y * np.arange(4.0))


def insertion_sort(b):
    a = b * 1.0
    for j in range(1, 4):
        key = a[j]
        i = j - 1
        while i >= 0 and a[i] > key:
            a[i + 1] = a[i]
            i -= 1
        a[i + 1] = key
    return np.sum(a * np.arange(4.0))


def element_of_a_matrix_kept(b):
    g = np.outer(b, b)
    old = g[1, 2]
    g[1, 2] = g[1, 2] * 3.0
    return g[1, 2] - old + np.sum(g)


def previous_element_carried(b):
    u = b * 1.0
    prev = u[0]
    for i in range(1, 4):
        cur = u[i]
        u[i] = u[i] + 0.5 * prev
        prev = cur
    return np.sum(u ** 2)


@pytest.mark.parametrize("f", [element_kept_across_its_update,
                               elements_swapped, insertion_sort,
                               element_of_a_matrix_kept,
                               previous_element_carried])
def test_elements_read_before_their_array_changes_are_differentiated(f):
    exact(f, np.array([0.3, -0.7, 1.1, 0.4]))


def rows_swapped(b):
    m = np.outer(b, b)
    m[0], m[1] = m[1], m[0]
    return np.sum(m * np.arange(4.0))


def row_read_after_its_update(b):
    m = np.outer(b, b)
    r = m[0]
    m[0, 0] = 7.0
    return np.sum(r)


def rows_sorted_by_insertion(b):
    a = np.outer(b, b)
    for j in range(1, 4):
        key = a[j]
        i = j - 1
        while i >= 0 and a[i, 0] > key[0]:
            a[i + 1] = a[i]
            i -= 1
        a[i + 1] = key
    return np.sum(a * np.arange(4.0))


@pytest.mark.parametrize("f", [rows_swapped, row_read_after_its_update,
                               rows_sorted_by_insertion])
def test_rows_read_after_their_array_changes_are_refused(f):
    # the same code as above, of a matrix: `m[0]` is a view, seen changing
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                       match="view of `[ma]`"):
        s2sad.grad(f)(np.array([0.3, -0.7, 1.1, 0.4]))
    refused(f, np.array([0.3, -0.7, 1.1, 0.4]))


# ---- what a call may give back: an argument itself, or a view ----

def split_rows(m):
    return m[0], m[1]


def rows_in_a_dict(m):
    return {"first": m[0], "second": m[1] * 1.0}


def new_pair(m):
    return m[0] * 1.0, m[1] + 0.0


def rows_a_helper_returned(b):
    m = np.outer(b, b)
    r0, r1 = split_rows(m)
    m[0, 0] = 7.0 * b[1]
    return np.sum(r0 * r1)


def rows_a_helper_returned_in_a_dict(b):
    m = np.outer(b, b)
    rows = rows_in_a_dict(m)
    m[0, 0] = 7.0 * b[1]
    return np.sum(rows["first"] * rows["second"])


def conjugate_updated(b):
    m = b * 1.0
    v = m.conj()  # m itself, of real numbers
    v += b ** 2
    return np.sum(m * b)


def diagonal_read_after_update(b):
    m = np.outer(b, b)
    d = np.diag(m)  # a view
    m[0, 0] = 9.0 * b[1]
    return np.sum(d ** 2)


def transposed_by_einsum(b):
    m = np.outer(b, b)
    t = np.einsum("ij->ji", m)  # a view
    m[0, 1] = 9.0 * b[1]
    return np.sum(t ** 2)


def contiguous_copy_updated(b):
    m = b * 1.0
    v = np.ascontiguousarray(m)  # m itself
    v += b ** 2
    return np.sum(m * b)


def stopped_then_updated(b):
    m = b * 1.0
    v = s2sad.stop_gradient(m)  # m itself
    v += b ** 2
    return np.sum(m * b)


def float64_of_an_array_updated(b):
    m = b * 1.0
    v = np.float64(m)  # m itself
    v += b ** 2
    return np.sum(m * b)


GIVE_BACK = [rows_a_helper_returned, rows_a_helper_returned_in_a_dict,
             conjugate_updated, diagonal_read_after_update,
             transposed_by_einsum, contiguous_copy_updated,
             stopped_then_updated, float64_of_an_array_updated]


@pytest.mark.parametrize("f", GIVE_BACK, ids=[f.__name__ for f in GIVE_BACK])
def test_what_a_call_may_give_back_is_not_taken_for_a_new_array(f):
    refused(f, np.array([0.3, -0.7, 1.1, 0.4]))


def new_rows_a_helper_returned(b):
    m = np.outer(b, b)
    r0, r1 = new_pair(m)
    m[0, 0] = 7.0 * b[1]
    return np.sum(r0 * r1) + np.sum(m)


def test_new_arrays_a_helper_returns_in_a_tuple_are_differentiated():
    exact(new_rows_a_helper_returned, np.array([0.3, -0.7, 1.1, 0.4]))


# ---- containers: merges, shallow copies, items the arguments share ----

def merged_in_place(b):
    d = {"a": b[0]}
    d |= {"b": b[1] * b[2]}
    return d["a"] * d["b"]


def merged(b):
    d = {"a": b[0]}
    m = d | {"b": b[1] * b[2]}
    return m["a"] * m["b"]


def merged_through_an_alias(b):
    d = {"a": b[0]}
    e = d
    e |= {"b": b[1]}
    return d.get("b", 0.0) * 3.0 + d["a"]


def item_of_a_shallow_copy_updated(b):
    xs = [b * 1.0, b * 2.0]
    ys = list(xs)
    ys[0] += b ** 2  # xs[0] too
    return np.sum(xs[0] * b)


def item_of_a_copied_list_updated(b):
    xs = [b * 1.0, b * 2.0]
    ys = xs.copy()
    ys[0] += b ** 2
    return np.sum(xs[0] * b)


def item_of_a_copied_dict_updated(b):
    d = {"a": b * 1.0}
    e = dict(d)
    e["a"] += b
    return np.sum(d["a"] * b)


CONTAINERS = [merged_in_place, merged, merged_through_an_alias,
              item_of_a_shallow_copy_updated, item_of_a_copied_list_updated,
              item_of_a_copied_dict_updated]


@pytest.mark.parametrize("f", CONTAINERS, ids=[f.__name__ for f in CONTAINERS])
def test_containers_sharing_what_they_hold_are_refused(f):
    refused(f, np.array([0.3, -0.7, 1.1, 0.4]))


def masks_joined(b):
    mask = (b > 0) | (b < -0.5)
    return np.sum(np.where(mask, b ** 2, 0.0))


def numbers_of_a_shallow_copy(b):
    xs = [b[0] * 1.0, b[1] * 2.0]
    ys = list(xs)
    ys[0] += b[2] ** 2  # a number: rebound
    return xs[0] * ys[0] + ys[1]


def dict_copied_then_changed(b):
    d = {"a": b[0], "b": b[1]}
    e = d.copy()
    e["a"] = b[2] * 5.0
    return d["a"] * e["a"] + e["b"]


@pytest.mark.parametrize("f", [masks_joined, numbers_of_a_shallow_copy,
                               dict_copied_then_changed])
def test_containers_holding_their_own_values_are_differentiated(f):
    exact(f, np.array([0.3, -0.7, 1.1, 0.4]))


def first_item_updated(xs):
    xs[0] += 1.0
    return np.sum(xs[1] ** 2) + np.sum(xs[0])


def test_an_argument_holding_one_array_twice_is_refused_when_it_changes():
    x = np.array([0.3, -0.7])
    for given in ([x, x], [x, x[:1]], {0: x, 1: x}):
        with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                           match="hold it more than once"):
            s2sad.value_and_grad(first_item_updated)(given)
    xs = [x, x * 2.0]
    value, g = s2sad.value_and_grad(first_item_updated)(xs)
    assert value == first_item_updated([x.copy(), x * 2.0])
    np.testing.assert_array_equal(xs[0], x)  # the caller's, unchanged
    np.testing.assert_allclose(g[0], np.ones(2))
    np.testing.assert_allclose(g[1], 2.0 * xs[1])


def writes_by_position(b):
    m = b * 1.0
    np.add(m, b ** 2, m)
    return np.sum(m * b)


def sine_by_position(b):
    m = b * 1.0
    np.sin(m, m)
    return np.sum(m * b)


def product_by_position(b):
    m = np.outer(b, b)
    out = np.zeros((4, 4))
    np.dot(m, m, out)
    return np.sum(out * m)


def added_by_operator(b):
    m = b * 1.0
    operator.iadd(m, b)
    return np.sum(m * b)


def sorted_by_the_class(b):
    m = b * 1.0
    np.ndarray.sort(m)
    return np.sum(m * np.arange(4.0))


def appended_by_the_class(b):
    xs = [b[0]]
    list.append(xs, b[1] * 3)
    return xs[0] + xs[-1]


WRITERS = [writes_by_position, sine_by_position, product_by_position,
           added_by_operator, sorted_by_the_class, appended_by_the_class]


@pytest.mark.parametrize("f", WRITERS, ids=[f.__name__ for f in WRITERS])
def test_calls_that_write_into_their_arguments_are_refused(f):
    refused(f, np.array([0.3, -0.7, 1.1, 0.4]))


A_RESIDUAL = np.array([[1.0, 0.5], [0.2, -0.3], [0.7, 0.9]])


def residual_model(p):
    return np.tanh(A_RESIDUAL @ p)


def test_the_output_vjp_returns_is_the_callers_to_change():
    # Gauss-Newton's `r -= y` on the output, then its vjp
    p, y = np.array([0.4, -0.2]), np.array([0.1, 0.2, 0.3])
    r, vjp_fn = s2sad.vjp(residual_model, p)
    r -= y
    (g,) = vjp_fn(r)
    h = np.tanh(A_RESIDUAL @ p)
    np.testing.assert_allclose(g, A_RESIDUAL.T @ ((1 - h ** 2) * (h - y)))


# ---- what indexing copies (an index array, a mask, a list's slice) ----

def rows_picked_then_scaled(b):
    m = np.outer(b, b)
    c = m[[0, 1]]  # a copy
    c *= 2.0
    return np.sum(c) + np.sum(m)


def masked_then_shifted(b):
    y = b * 1.0
    z = y[y > 0]  # a copy
    z += 1.0
    return np.sum(z ** 2) + np.sum(y)


def list_slice_then_written(b):
    xs = [b[0], b[1], b[2]]
    ys = xs[:]  # a new list
    ys[0] = b[3] * 2.0
    return xs[0] * ys[0]


def rows_picked_then_written(b):
    m = np.outer(b, b)
    c = m[[0, 1]]
    c[0, 0] = 5.0 * b[1]
    return np.sum(c) + np.sum(m)


@pytest.mark.parametrize("f", [rows_picked_then_scaled, masked_then_shifted,
                               list_slice_then_written,
                               rows_picked_then_written])
def test_copies_indexing_makes_may_change(f):
    exact(f, np.array([0.3, -0.7, 1.1, 0.4]))


def sliced_then_scaled(b):
    m = np.outer(b, b)
    c = m[0:2]  # a view
    c *= 2.0
    return np.sum(c) + np.sum(m)


def item_of_a_list_of_arrays_shifted(b):
    rows = [b * 1.0, b * 2.0]
    r = rows[0]  # the array the list holds
    r += 1.0
    return np.sum(rows[0] * b)


@pytest.mark.parametrize("f", [sliced_then_scaled,
                               item_of_a_list_of_arrays_shifted])
def test_views_and_items_indexing_gives_may_not_change(f):
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                       match="what it was taken from"):
        s2sad.grad(f)(np.array([0.3, -0.7, 1.1, 0.4]))
    refused(f, np.array([0.3, -0.7, 1.1, 0.4]))


# ---- new arrays that no name shares ----

def noise_drawn_then_changed(b):
    rng = np.random.default_rng(0)
    z = rng.normal(size=4)
    z[0] = 0.0
    z *= 2.0
    return np.sum(z * b)


def buffers_swapped(b):
    u = b * 1.0
    unew = b * 0.0
    for _ in range(3):
        unew[1:-1] = 0.5 * (u[:-2] + u[2:])
        unew[0], unew[-1] = u[0], u[-1]
        u, unew = unew, u
    return np.sum(u ** 2)


@pytest.mark.parametrize("f", [noise_drawn_then_changed, buffers_swapped])
def test_arrays_no_other_name_holds_may_change(f):
    exact(f, np.array([0.3, -0.7, 1.1, 0.4]))


def relax_in_place(u):
    u[1:-1] = 0.5 * (u[:-2] + u[2:])


def relaxed_by_a_helper(b):
    u = b * 1.0
    relax_in_place(u)
    return np.sum(u ** 2)


def appended_to_a_list_in_a_dict(b):
    hist = {"pos": []}
    for _ in range(2):
        hist["pos"].append(b * 2.0)
    return np.sum(hist["pos"][1])


def test_refusals_say_what_to_write_instead():
    x = np.array([0.3, -0.7, 1.1, 0.4])
    with pytest.raises(s2sad.S2SADError,
                       match=r"return the new value instead.*"
                             r"`u = relax_in_place\(u\)`"):
        s2sad.grad(relaxed_by_a_helper)(x)
    with pytest.raises(s2sad.S2SADError,
                       match=r"`xs = list\(hist\['pos'\]\)`"):
        s2sad.grad(appended_to_a_list_in_a_dict)(x)
    with pytest.raises(s2sad.S2SADError, match=r"`e = dict\(e\)`"):
        s2sad.grad(written_through_an_alias)(x)


def written_through_an_alias(b):
    d = {"a": b[0]}
    e = d
    e["a"] = b[1]
    return d["a"]


# ---- shallow copies hold the same items; swaps pass on what holds them ----

def sliced_list_updated(b):
    xs = [b * 1.0, b * 2.0]
    ys = xs[:]
    ys[0] += 1.0  # xs[0] too
    return np.sum(xs[0])


def list_updated_after_its_slice(b):
    xs = [b * 1.0, b * 2.0]
    ys = xs[:]
    xs[0] += 1.0  # ys[0] too
    return np.sum(ys[0] ** 2)


def ensemble_with_a_backup(b):
    states = [b * 1.0, b * 2.0]
    backup = states[:]
    for s in range(2):
        states[s] += 0.1 * states[s] ** 2
    return sum(np.sum((a - c) ** 2) for a, c in zip(states, backup))


def item_of_a_copied_dict_shifted(b):
    params = {"w": b * 1.0}
    p2 = copy.copy(params)
    p2["w"] += 1.0
    return np.sum(params["w"] ** 2)


def first_buffer_kept(b):
    u = b * 1.0
    unew = np.zeros_like(u)
    first = u
    for _ in range(3):
        unew[:] = 2.0 * u
        u, unew = unew, u
    return np.sum(first)


def buffers_listed(b):
    u = b * 1.0
    unew = np.zeros_like(u)
    traj = []
    for _ in range(3):
        traj.append(u)
        unew[:] = 2.0 * u
        u, unew = unew, u
    return np.sum(traj[0])


def dict_iterated_while_changed(b):
    q = {"w": b * 1.0}
    for k in q:
        q[k] = q[k] * 2.0
    return np.sum(q["w"])


SHALLOW = [sliced_list_updated, list_updated_after_its_slice,
           ensemble_with_a_backup, item_of_a_copied_dict_shifted,
           first_buffer_kept, buffers_listed, dict_iterated_while_changed]


@pytest.mark.parametrize("f", SHALLOW, ids=[f.__name__ for f in SHALLOW])
def test_items_and_buffers_other_names_hold_are_refused(f):
    refused(f, np.array([0.5, -1.0, 2.0]))


def copy_of_an_array_updated(b):
    y = b.copy()
    y[1:3] += 1.0
    y[[0, 1]] *= 2.0
    return np.sum(y ** 2)


def key_of_a_copied_dict_rebound(b):
    params = {"w": b * 1.0, "b": b[0]}
    p2 = copy.copy(params)
    p2["w"] = p2["w"] * 2.0
    return np.sum(p2["w"]) * params["b"]


def deep_copy_updated(b):
    xs = [b * 1.0, b * 2.0]
    ys = copy.deepcopy(xs)
    ys[0] += 1.0
    return np.sum(xs[0] * ys[0])


def dict_keys_listed_while_changed(b):
    q = {"w": b * 1.0, "v": b * 3.0}
    for k in list(q):
        q[k] = q[k] * 2.0
    return np.sum(q["w"] * q["v"])


@pytest.mark.parametrize("f", [copy_of_an_array_updated,
                               key_of_a_copied_dict_rebound,
                               deep_copy_updated,
                               dict_keys_listed_while_changed])
def test_copies_no_other_name_shares_are_differentiated(f):
    exact(f, np.array([0.5, -1.0, 2.0]))


# ---- a dict's keys, listed, carry no derivative ----

def scaled_by_its_keys(p):
    q = {"w": p["w"], "v": p["v"]}
    for k in list(p):
        q[k] = q[k] * 2.0
    return np.sum(q["w"] * q["v"])


def scaled_by_its_sorted_keys(p):
    q = dict(p)
    for k in sorted(p):
        q[k] = q[k] * 2.0
    return np.sum(q["w"] * q["v"])


def scaled_through_keys(p):
    q = dict(p)
    for k in q.keys():
        q[k] = q[k] * 2.0
    return np.sum(q["w"] * q["v"])


@pytest.mark.parametrize("f", [scaled_by_its_keys, scaled_by_its_sorted_keys,
                               scaled_through_keys])
def test_loops_over_a_dicts_keys_differentiate_its_values(f):
    p = {"w": np.array([0.5, -1.0]), "v": np.array([2.0, 1.0])}
    value, g = s2sad.value_and_grad(f)(p)
    assert value == f({k: v.copy() for k, v in p.items()})
    np.testing.assert_allclose(g["w"], 4.0 * p["v"])
    np.testing.assert_allclose(g["v"], 4.0 * p["w"])
    t = {"w": np.array([1.0, 0.0]), "v": np.array([0.0, 1.0])}
    _, tangent = s2sad.jvp(f, (p,), (t,))
    np.testing.assert_allclose(tangent, g["w"][0] + g["v"][1])


# ---- elements a loop keeps while it changes their array ----

def first_component_recorded_then_stepped(b):
    y = b * 1.0
    out = []
    for _ in range(3):
        out.append(y[0])
        y[1:] = y[1:] * 2.0 + y[:-1]
        y += 0.1 * y
    return sum(out) + np.sum(y)


def first_component_recorded_after_each_step(b):
    y = b * 1.0
    out = []
    for _ in range(3):
        y += 0.1 * y
        out.append(y[0])
    return sum(out)


def test_elements_a_loop_keeps_are_numbers():
    exact(first_component_recorded_then_stepped, np.array([1.0, 2.0, -0.5]))
    exact(first_component_recorded_after_each_step,
          np.array([1.0, 2.0, -0.5]))


def rows_recorded_then_stepped(b):
    y = np.outer(b, b)
    out = []
    for _ in range(3):
        out.append(y[0])
        y += 0.1 * y
    return sum(np.sum(o) for o in out)


def rows_recorded_after_each_step(b):
    y = np.outer(b, b)
    out = []
    for _ in range(3):
        y += 0.1 * y
        out.append(y[0])
    return sum(np.sum(o) for o in out)


@pytest.mark.parametrize("f", [rows_recorded_then_stepped,
                               rows_recorded_after_each_step])
def test_rows_a_loop_keeps_while_it_changes_them_are_refused(f):
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                       match=r"keeps an item of `y`.*view of `y`"):
        s2sad.grad(f)(np.array([1.0, 2.0, -0.5]))
    refused(f, np.array([1.0, 2.0, -0.5]))


def swapped_then_written(b):
    u = b * 1.0
    v = b * 2.0
    u, v = v, u
    u[0] = 5.0 * b[1]
    return np.sum(u * v)


def alias_rebound_then_written(b):
    a = b * 1.0
    c = a
    a = b * 3.0  # `c` alone holds the first array
    c[0] = 5.0
    return np.sum(a * c)


def test_a_name_bound_to_another_value_no_longer_holds_the_old_one():
    exact(swapped_then_written, np.array([0.5, -1.0, 2.0]))
    exact(alias_rebound_then_written, np.array([0.5, -1.0, 2.0]))


def alias_written_in_a_loop_that_rebinds_it_later(b):
    a = b * 1.0
    c = a
    for _ in range(2):
        c[0] = 5.0 * b[1]  # the first time, `a` is still the same array
        a = a * 2.0
    return np.sum(a * c)


def test_an_alias_a_loop_rebinds_after_the_write_is_refused():
    refused(alias_written_in_a_loop_that_rebinds_it_later,
            np.array([0.5, -1.0, 2.0]))


# ---- lists made by repetition hold one item several times ----

def accumulators_made_by_repetition(b):
    rows = [np.zeros(2)] * 3  # one array, three times
    for i in range(3):
        rows[i] += b[i] * np.array([1.0, 2.0])
    return np.sum(rows[0] ** 2)


def an_array_repeated(b):
    y = b * 1.0
    pair = [y] * 2
    pair[1] *= 2.0
    return np.sum(pair[0] * b)


@pytest.mark.parametrize("f", [accumulators_made_by_repetition,
                               an_array_repeated])
def test_an_item_a_repeated_list_holds_twice_is_refused(f):
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                       match=r"more than once .a list made by repeating"):
        s2sad.grad(f)(np.array([1.0, 2.0, 3.0]))
    refused(f, np.array([1.0, 2.0, 3.0]))


def slots_made_by_repetition_then_filled(b):
    rows = [None] * 3
    for i in range(3):
        rows[i] = np.zeros(2)
        rows[i] += b[i] * np.array([1.0, 2.0])
    return np.sum(rows[0] ** 2) + np.sum(rows[2])


def copies_of_a_dicts_values_updated(b):
    params = {"w": b * 1.0, "v": b * 2.0}
    p = {k: v.copy() for k, v in params.items()}
    p["w"] += b
    return np.sum(p["w"] * params["w"])


@pytest.mark.parametrize("f", [slots_made_by_repetition_then_filled,
                               copies_of_a_dicts_values_updated])
def test_items_made_anew_may_change(f):
    exact(f, np.array([1.0, 2.0, 3.0]))


def reversed_in_one_branch_then_updated(a, b):
    if a[1] < 1.0:
        r = b[::-1]  # a view made on one path only
        a = a * r[0]
    b[-2] *= 3.0
    return np.sum(a) * np.sum(b)


def test_a_copy_one_branch_made_is_not_checked_on_the_other():
    for first in (0.5, 2.0):
        exact(reversed_in_one_branch_then_updated,
              np.array([0.3, first, -1.0]), np.array([1.0, 2.0, 3.0]))


TEMPLATE = np.array([0.5, 0.25, 0.125])


def _fills_a_copy_of_a_module_array(s):
    c = TEMPLATE.copy()
    c[0] = s
    d = TEMPLATE.astype(float)
    d *= s
    return np.sum(c * c) + np.sum(d)


def test_a_copy_of_a_module_level_array_is_the_function_s_own():
    # `TEMPLATE.copy()` (and `.astype`) is a new array, as `np.copy` is
    # (outside attack: refused as "would also change what copy returned")
    kept = TEMPLATE.copy()
    value, gradient = s2sad.value_and_grad(_fills_a_copy_of_a_module_array)(
        2.0)
    assert value == _fills_a_copy_of_a_module_array(2.0)
    s2sad.check_grads(_fills_a_copy_of_a_module_array, (2.0,))
    np.testing.assert_array_equal(TEMPLATE, kept)


# ---- values that leave through a container not the function's own ----

# A module-level list, dict or set, a closure's, an object's: s2sad reads
# what they hold as constant data. A value computed from the inputs put
# there and read back in the same call would lose its derivative (outside
# attack: gradients of 0 where the derivative was 13.5), so the read is
# refused at its line; a record only written, or read before anything of
# this call was put there, or read for what carries no derivative, is
# differentiated as before.

TRAJECTORY = []
STATE = {}
SEEN = set()


def _moved(state, dt):
    new = state + dt * np.sin(state)
    TRAJECTORY.append(new)
    return new


class _Recorder:
    def __init__(self):
        self.values = []
        self.scale = 2.0

    def record(self, v):
        self.values.append(v)

    def loss(self, x):
        y = self.scale * x * x
        self.values.append(y)
        return y * self.values[-1]


RECORDER = _Recorder()


def appended_then_read(x):
    TRAJECTORY.clear()
    TRAJECTORY.append(x * 2.0)
    TRAJECTORY.append(x * x)
    return TRAJECTORY[0] * TRAJECTORY[1]


def appended_by_a_helper_then_summed(x):
    TRAJECTORY.clear()
    s = x
    for _ in range(3):
        s = _moved(s, 0.1)
    return sum(v * v for v in TRAJECTORY)


def updated_then_read(x):
    STATE.update(last=x * x)
    return STATE["last"] * x


def set_default_then_read(x):
    STATE.pop("k", None)
    return STATE.setdefault("k", x * 3.0) * x


def inserted_then_read(x):
    TRAJECTORY.clear()
    TRAJECTORY.insert(0, x * 3.0)
    return TRAJECTORY[0] * x


def extended_then_iterated(x):
    TRAJECTORY.clear()
    TRAJECTORY.extend([x, x * x])
    total = 0.0
    for v in TRAJECTORY:
        total = total + v
    return total


def recorded_by_a_method_then_read(x):
    RECORDER.values.clear()
    y = x * x
    RECORDER.record(y)
    return y + RECORDER.values[-1] * x


def read_at_the_top_of_a_loop_that_appends(x):
    TRAJECTORY.clear()
    TRAJECTORY.append(1.0)
    for _ in range(3):
        x = x * TRAJECTORY[-1]
        TRAJECTORY.append(x * 0.5)
    return x


def _closure_reading_back():
    history = []

    def loss(x):
        history.append(x * x)
        return history[-1] * x
    return loss


def _closure_reading_back_through_a_function():
    history = []

    def last():
        return history[-1]

    def loss(x):
        history.append(x * 3.0)
        return last() * x
    return loss


def _total():
    return sum(TRAJECTORY)


def read_back_by_a_helper(x):
    # (second outside attack: a helper's read, `.pop()`, a set's `max` and
    # `dict.get` carried the value back without a refusal)
    TRAJECTORY.clear()
    _moved(x, 0.1)
    return _total() * 3.0


def popped_back(x):
    TRAJECTORY.clear()
    TRAJECTORY.append(x * x)
    return TRAJECTORY.pop() + x * x


def read_back_from_a_set(x):
    SEEN.clear()
    SEEN.add(x * x)
    return max(SEEN)


def read_back_by_get(x):
    STATE.update({"k": x * x})
    return STATE.get("k")


READ_BACK = [appended_then_read, appended_by_a_helper_then_summed,
             updated_then_read, set_default_then_read, inserted_then_read,
             extended_then_iterated, recorded_by_a_method_then_read,
             read_at_the_top_of_a_loop_that_appends, read_back_by_a_helper,
             popped_back, read_back_from_a_set, read_back_by_get]


@pytest.mark.parametrize("f", READ_BACK, ids=[f.__name__ for f in READ_BACK])
def test_values_read_back_from_a_container_not_the_functions_are_refused(f):
    refused(f, 1.5)
    with pytest.raises(s2sad.errors.S2SADError,
                       match="is read here after line|no derivative rule "
                       "for `STATE.setdefault`"):
        s2sad.jvp(f, (1.5,), (1.0,))


def test_a_closures_list_read_back_and_a_methods_own_are_refused():
    for f in (_closure_reading_back(), RECORDER.loss,
              _closure_reading_back_through_a_function()):
        with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                           match=r"(`history`|`self\.values`|`last` reads) "
                           r"is read here"):
            s2sad.grad(f)(1.5)


class _Model:
    def __init__(self):
        self.weights = np.array([1.0, -2.0])
        self.history = []

    def loss(self, x):
        value = np.sum((self.weights * x) ** 2)
        self.history.append(value)  # (a record of the caller's object)
        return value


def test_a_record_kept_in_the_callers_object_is_written_as_python_does():
    # (second outside attack: refused, with advice itself refused)
    model = _Model()
    x = np.array([0.5, 1.5])
    g = s2sad.grad(model.loss)(x)
    np.testing.assert_allclose(g, 2 * model.weights ** 2 * x, rtol=1e-14)
    assert len(model.history) == 1 and model.history[0] == model.loss(x)


BUFFER = []


def appends_to_its_argument(x, buffer):
    buffer.append(x * x)
    return sum(BUFFER) + x


def test_a_list_argument_that_is_a_module_list_the_function_reads():
    # (second outside attack: `buffer.append(v)` of BUFFER itself, then
    # `sum(BUFFER)`, gave a wrong value too: s2sad appended to a copy)
    with pytest.raises(s2sad.errors.S2SADError, match="array or list"):
        s2sad.grad(appends_to_its_argument)(1.5, BUFFER)
    assert BUFFER == []
    assert s2sad.grad(appends_to_its_argument)(1.5, []) == 1.0


LOSSES = []


def recorded_only(x):
    loss = np.sum(np.tanh(x) ** 2)
    LOSSES.append(loss)  # as an optimiser's objective keeps its history
    print(len(LOSSES), end="\r")
    return loss


def read_before_this_call_adds(x):
    previous = LOSSES[0]  # (the first loss recorded: not this call's)
    loss = np.sum(x ** 2)
    LOSSES.append(loss)
    return loss + 0.5 * previous


def constants_put_and_read_back(x):
    TRAJECTORY.clear()
    TRAJECTORY.append(2.0)
    SEEN.add(3.0)
    return np.sum(x) * TRAJECTORY[-1] * len(SEEN)


@pytest.mark.parametrize("f", [recorded_only, read_before_this_call_adds,
                               constants_put_and_read_back])
def test_records_only_written_or_read_before_are_differentiated(f, capsys):
    LOSSES[:] = [0.25]
    exact(f, np.array([0.3, -0.7, 1.1]))


# A dict taken out of a dict or a list is the one the container holds, as
# a list or an array taken out is: writing into it changes the container
# too (outside attack: `inner = cfg["a"]; inner["w"] = ...` then
# `cfg["a"]["w"]` gave the old value's derivative), so it is refused as
# theirs are.

def dict_of_a_dict_written(x):
    cfg = {"a": {"w": x}}
    inner = cfg["a"]
    inner["w"] = inner["w"] * 2.0
    return cfg["a"]["w"]


def dict_of_a_list_written(x):
    rows = [{"w": x}]
    item = rows[0]
    item["w"] = item["w"] * 3.0
    return rows[0]["w"]


def dict_of_a_dict_updated(x):
    d = {"a": {"w": x}}
    inner = d["a"]
    inner.update(w=inner["w"] * 4.0)
    return d["a"]["w"]


def dicts_of_a_dict_written_in_a_loop(x):
    d = {"p": {"w": x}, "q": {"w": 2.0 * x}}
    for key, v in d.items():
        v["w"] = v["w"] + x
    return d["p"]["w"] * d["q"]["w"]


def layers_written(layers, x):
    for layer in layers:
        layer["w"] = layer["w"] * x
    return layers[0]["w"] + layers[1]["w"]


TAKEN_DICTS = [dict_of_a_dict_written, dict_of_a_list_written,
               dict_of_a_dict_updated, dicts_of_a_dict_written_in_a_loop]


@pytest.mark.parametrize("f", TAKEN_DICTS,
                         ids=[f.__name__ for f in TAKEN_DICTS])
def test_a_dict_taken_from_a_container_is_refused_where_written(f):
    refused(f, 1.5)
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                       match="would also change what it was taken from"):
        s2sad.jvp(f, (1.5,), (1.0,))


def test_dicts_of_an_argument_written_are_refused():
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                       match="assignment into `layer` would also change"):
        s2sad.grad(layers_written, argnums=1)([{"w": 0.5}, {"w": 1.5}], 2.0)


def dict_copied_out_of_a_dict_written(x):
    cfg = {"a": {"w": x}}
    inner = dict(cfg["a"])  # a copy: the container keeps its own
    inner["w"] = inner["w"] * 2.0
    return cfg["a"]["w"] * inner["w"]


def test_a_copy_of_a_dict_taken_from_a_container_may_change():
    exact(dict_copied_out_of_a_dict_written, 1.5)



# ---- a Python bool indexing a list or tuple is the int it equals ----
# (outside attack: the adjoint of `xs[flag]` went to every item for True
# and to none for False, as NumPy's mask would take it; the value and the
# jvp were right)


def leaky(z, alpha):
    return (alpha, 1.0)[z > 0] * z


def pick_scaled(theta, e):
    return theta[e] * 3.0


def piecewise_fit(slopes, xs):
    s = 0.0
    for x in xs:
        s += (slopes[x > 0] * x - 1.0) ** 2
    return s


def written_at_a_flag(x, e):
    w = [x, 2.0 * x, 3.0 * x]
    w[e] = w[e] * 5.0
    return w[0] + w[1] + w[e + 1] * x


def nested_at_flags(x, e):
    m = [[x, 2.0 * x], [x * x, 3.0]]
    return m[e][not e] * x + m[not e][e]


def cubed_at_a_flag(theta, e):
    return theta[e] ** 3


@pytest.mark.parametrize("f, args", [
    (leaky, (-2.0, 0.1)), (leaky, (2.0, 0.1)),
    (pick_scaled, ((0.5, 2.0), True)), (pick_scaled, ([0.5, 2.0], False)),
    (piecewise_fit, ((0.5, 2.0), [-1.0, 2.0, 0.5, -3.0])),
    (written_at_a_flag, (1.3, True)), (written_at_a_flag, (1.3, False)),
    (nested_at_flags, (0.7, True)), (nested_at_flags, (0.7, False)),
    (cubed_at_a_flag, ((0.5, 2.0), True))])
def test_a_bool_indexes_a_list_as_python_reads_it(f, args):
    s2sad.check_grads(f, args, argnums=0, order=2)
    value, _ = s2sad.value_and_grad(f)(*args)
    assert value == f(*args)


def assigns_into_a_tuple(x):
    t = (x, 2.0 * x)
    t[0] = 1.0
    return t[0] * t[1]


def updates_a_tuple_item(x):
    t = (x, 2.0 * x)
    t[0] += 1.0
    return t[0] * t[1]


def updates_an_argument_s_items(xs):
    for i in range(1, len(xs)):
        xs[i] += xs[i - 1] * xs[i]
    return xs[-1]


def test_item_assignment_into_a_tuple_raises_as_python_does():
    """(outside attack: `t[0] = v` and `t[0] += v` of a tuple were
    differentiated as of a list, where Python raises.) A list or an
    array known as one is not checked at all."""
    for f, arg in [(assigns_into_a_tuple, 0.7), (updates_a_tuple_item, 0.7),
                   (updates_an_argument_s_items, (0.5, 1.2, -0.3))]:
        with pytest.raises(TypeError) as python:
            f(arg)
        for derivative in (s2sad.grad(f), s2sad.value_and_grad(f)):
            with pytest.raises(TypeError, match=re.escape(
                    str(python.value))):
                derivative(arg)
    exact(updates_an_argument_s_items, [0.5, 1.2, -0.3])
    assert "check_item_assignment" not in s2sad.grad(
        appends_to_an_argument, 1).source


def shortens_a_list(xs):
    v = list(xs)
    v[3:] = []
    return sum(v)


def lengthens_a_list(xs):
    v = list(xs)
    v[1:2] = [v[0] * 3.0, v[1] * 5.0]
    return v[0] + 10.0 * v[2]


def test_a_slice_assignment_changing_a_lists_length_is_refused():
    """(outside attack: the gradient came out as short as the new list,
    or a join's error came from the backward sweep.) A slice assignment of
    as many items is differentiated."""
    xs = [0.5, 1.2, -0.3, 0.8, 0.9]
    for f in (shortens_a_list, lengthens_a_list):
        for derivative in (s2sad.grad(f), lambda a: s2sad.jvp(
                f, (a,), ([1.0] * 5,))):
            with pytest.raises(s2sad.S2SADError, match=(
                    r"test_semantics\.py:\d+: a slice assignment that "
                    r"changes a list's length")):
                derivative(list(xs))


def running_products(xs):
    v = list(xs)
    for i in range(1, len(v)):
        v[i] += v[i - 1] * v[i]
    return v


def test_the_output_vjp_and_linearize_return_is_the_callers():
    """(outside attack: appending to the list vjp returned changed what
    its vjp_fn accepted, as vjp_fn read the name the copy was bound to.)"""
    xs = [0.5, 1.2, -0.3, 0.8]
    out, pull = s2sad.vjp(running_products, xs)
    first = pull([1.0] * 4)
    out.append(5.0)
    out[0] = 99.0
    assert pull([1.0] * 4) == first
    out, f_jvp = s2sad.linearize(running_products, xs)
    first = f_jvp([1.0] * 4)
    out.append(5.0)
    out[0] = 99.0
    assert f_jvp([1.0] * 4) == first


# ---- an item read, then its slot rebound: the item is what it was ----

def row_copied_changed_and_put_back(rows, c):
    r0 = list(rows[0])
    r0[1] = r0[1] * c
    rows[0] = r0
    return sum(rows[0]) + sum(rows[1]) * c


def old_row_kept_as_its_slot_is_rebound(rows, c):
    old = rows[0]
    rows[0] = [x * c for x in old]
    return sum(old) + sum(rows[0])


def rows_kept_as_a_loop_rebinds_them(rows, c):
    keep = []
    for k in range(2):
        keep.append(rows[k])
        rows[k] = [x * c for x in rows[k]]
    return sum(keep[0]) + sum(rows[1]) * c


def old_array_kept_as_its_slot_is_rebound(xs, c):
    old = xs[0]
    xs[0] = xs[0] * c
    return np.sum(old) * c + np.sum(xs[0])


def rows_made_here_then_a_slot_rebound(x):
    rows = [[x[0], x[1]], [x[2], 1.0]]
    old = rows[0]
    rows[0] = [x[1] * 2.0, x[0]]
    return old[1] * rows[0][0] + old[0]


def rows_made_here_then_a_slice_rebound(x):
    rows = [[x[0], x[1]], [x[2], 1.0], [1.0, 2.0]]
    a, b = rows[0], rows[1]
    rows[0:2] = [[x[1], x[0]], [x[0], x[2]]]
    return a[0] * rows[0][0] + b[0] * rows[1][1]


def dicts_made_here_then_an_entry_rebound(x):
    d = {"a": {"w": x[0]}, "b": {"w": x[1]}}
    old = d["a"]
    d["a"] = {"w": x[2] * 3.0}
    return old["w"] * d["a"]["w"] + d["b"]["w"]


@pytest.mark.parametrize("f", [rows_made_here_then_a_slot_rebound,
                               rows_made_here_then_a_slice_rebound,
                               dicts_made_here_then_an_entry_rebound])
def test_a_container_made_here_whose_slot_is_rebound_keeps_its_items(f):
    """(the adjoint of the rebound slot was a number, which the adjoint of
    the list that was there then read by item: a TypeError in the backward
    sweep.)"""
    exact(f, np.array([0.3, -1.2, 0.7]))


# an item changed in place: what else holds it changes too


def old_row_kept_as_it_grows(rows, c):
    old = rows[0]
    rows[0] += [c]
    return sum(old) * c


def old_array_kept_as_it_is_added_to(xs, c):
    old = xs[0]
    xs[0] += c
    return np.sum(old) * c


def row_of_a_matrix_kept_as_it_is_written(A, c):
    row = A[0]
    A[0] = A[0] * c
    return np.sum(row) * c


ROWS = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
ARRAYS = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]


@pytest.mark.parametrize("f, container", [
    (row_copied_changed_and_put_back, ROWS),
    (old_row_kept_as_its_slot_is_rebound, ROWS),
    (rows_kept_as_a_loop_rebinds_them, ROWS),
    (old_array_kept_as_its_slot_is_rebound, ARRAYS)])
def test_an_item_whose_slot_is_rebound_is_what_it_was(f, container):
    """(outside attack: a row read from a list of lists, whose slot was
    then given another list, was refused as a view of the list; Python's
    list keeps the old row as it was.)"""
    exact(f, copy.deepcopy(container), 2.0, argnum=1)


@pytest.mark.parametrize("f, container", [
    (old_row_kept_as_it_grows, ROWS),
    (old_array_kept_as_it_is_added_to, ARRAYS),
    (row_of_a_matrix_kept_as_it_is_written, np.array(ROWS))])
def test_an_item_changed_in_place_while_held_is_refused(f, container):
    refused(f, copy.deepcopy(container), 2.0)


# ---- a view of a row read before its array is written, not after ----

def row_viewed_then_written(x):
    la = np.zeros((2, 3))
    la[0] = x
    la[1] = la[0][:, None].sum(axis=1) * 2.0
    return np.sum(la * la)


def row_reversed_then_written(x):
    la = np.zeros((3, 3))
    la[0] = x
    for t in range(1, 3):
        la[t] = np.exp(la[t - 1][::-1]) * 0.5
    return np.sum(la)


def row_reshaped_into_a_new_array(x):
    la = np.zeros((2, 3))
    la[0] = x
    r = la[0].reshape(-1, 1) * 2.0  # (a new array)
    la[1] = r[:, 0]
    return np.sum(la * la)


def number_of_a_row_then_written(x):
    la = np.zeros((2, 3))
    la[0] = x
    la[1] = la[0][1] * x
    return np.sum(la * la)


def log_space_forward(log_A, x):
    alpha = np.zeros((3, 2))
    alpha[0] = x
    for t in range(1, 3):
        scores = alpha[t - 1][:, None] + log_A
        m = np.max(scores, axis=0)
        alpha[t] = m + np.log(np.sum(np.exp(scores - m), axis=0))
    return np.sum(alpha[-1])


@pytest.mark.parametrize("f", [
    row_viewed_then_written, row_reversed_then_written,
    row_reshaped_into_a_new_array, number_of_a_row_then_written])
def test_a_view_of_a_row_used_before_the_write_is_not_refused(f):
    """(outside attack: `la[1] = la[0][:, None].sum(axis=1)`, a view of a
    row read by the statement that then writes the array, was refused as
    a view kept past the write.) It is refused only where read again."""
    exact(f, np.array([0.3, -1.2, 0.8]))


def test_a_log_space_recursion_over_rows_matches_differences():
    log_A = np.log(np.array([[0.7, 0.3], [0.4, 0.6]]))
    exact(log_space_forward, log_A, np.array([-0.2, -1.6]))
    exact(log_space_forward, log_A, np.array([-0.2, -1.6]), argnum=1)


def view_of_a_row_read_after_the_write(x):
    la = np.zeros((2, 3))
    la[0] = x
    r = la[0][:, None]
    la[0] = la[0] * 2.0
    return np.sum(r * r)


def test_a_view_of_a_row_read_after_the_write_is_refused():
    refused(view_of_a_row_read_after_the_write, np.array([0.3, -1.2, 0.8]))


# ---- a view one branch makes stale, read after the `if` ----

def slice_viewed_and_written_in_a_branch(x, c):
    la = np.zeros((2, 3))
    la[0] = x
    if c > 0:
        r = la[0:1]
        la[0] = la[0] * 2.0
    else:
        r = la[1:2]
    return np.sum(r * r) * c


def row_view_kept_in_a_branch(x, c):
    la = np.zeros((2, 3))
    la[0] = x
    if c > 0:
        r = la[0][:, None]
        la[0] = la[0] * 2.0
    else:
        r = la[1][:, None]
    return np.sum(r * r) * c


def slice_viewed_then_written_in_the_other_branch(x, c):
    la = np.zeros((2, 3))
    la[0] = x
    if c > 0:
        r = la[0:1]
    else:
        r = la[1:2]
        la[1] = la[0] * 2.0
    return np.sum(r * r) * c


@pytest.mark.parametrize("f", [
    slice_viewed_and_written_in_a_branch, row_view_kept_in_a_branch,
    slice_viewed_then_written_in_the_other_branch])
def test_a_view_a_branch_made_stale_is_refused_after_the_if(f):
    """(found looking for the class of an outside attack's: the view
    joined after the `if` lost its staleness, and the gradient was that
    of the view's old values.)"""
    refused(f, np.array([0.3, -1.2, 0.8]), 1.5)


# ---- an item of a list or dict changed in place while a name holds it ----
# (outside attack: each gave the gradient of the item's old value)

W3 = np.array([1.0, 2.0, 5.0])


def item_of_a_list_added_to(x):
    xs = [x * 1.0, x * 2.0]
    a = xs[0]
    xs[0] += x ** 2
    return np.sum(a * W3)


def item_of_a_dict_subtracted_from(x):
    d = {"a": x * 1.0}
    a = d["a"]
    d["a"] -= x ** 2
    return np.sum(a * W3)


def parameter_kept_across_sgd_steps(x):
    params = [x * 1.0, np.zeros(3)]
    W = params[0]
    for _ in range(3):
        params[0] -= 0.2 * (params[0] - 1.0)
    return np.sum(W ** 2)


def row_popped_then_its_matrix_written(x):
    A = np.outer(x, x)
    rows = [A[0], A[1], A[2]]
    r = rows.pop()
    A[2] = x ** 3
    return np.sum(r * W3)


def row_picked_by_max_then_its_matrix_scaled(x):
    A = np.outer(x, x)
    r = max(list(A), key=np.sum)
    A *= 2.0
    return np.sum(r * W3)


def array_chosen_by_a_conditional_then_added_to(x):
    a, b = x * 1.0, x * 2.0
    r = a if x[0] > 0 else b
    a += x ** 2
    return np.sum(r * W3)


@pytest.mark.parametrize("f", [
    item_of_a_list_added_to, item_of_a_dict_subtracted_from,
    parameter_kept_across_sgd_steps, row_popped_then_its_matrix_written,
    row_picked_by_max_then_its_matrix_scaled,
    array_chosen_by_a_conditional_then_added_to])
def test_a_value_an_update_in_place_changes_through_another_name_is_refused(
        f):
    refused(f, np.array([0.3, -1.2, 0.7]))


def numbers_of_a_list_added_to_then_read(x):
    xs = [float(x[0]), float(x[1])]
    a = xs[0]
    xs[0] += 2.0 * a
    return a * xs[0] + xs[1]


def test_a_number_taken_from_a_list_is_not_changed_by_its_update():
    exact(numbers_of_a_list_added_to_then_read, np.array([0.3, -1.2]))


def writes_its_array_and_reads_a_list(x, ys):
    x[0] = x[2] ** 2
    return np.sum(ys[0] * W3)


def scales_its_array_and_reads_a_dict(x, d):
    x *= 2.0
    return np.sum(d["a"] * W3)


@pytest.mark.parametrize("f, held", [
    (writes_its_array_and_reads_a_list, lambda x: [x]),
    (writes_its_array_and_reads_a_list, lambda x: [x[:]]),
    (writes_its_array_and_reads_a_list, lambda x: ([x],)),
    (scales_its_array_and_reads_a_dict, lambda x: {"a": x})])
def test_an_argument_another_argument_holds_is_refused_if_changed(f, held):
    """(outside attack: `f(x, [x])`, where f writes into x, gave the
    gradient of the list's item as it was; `f(x, x)` was refused.)"""
    x = np.array([0.3, -1.2, 0.7])
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                       match="share memory"):
        s2sad.value_and_grad(f)(x, held(x))
    value, _ = s2sad.value_and_grad(f)(x.copy(), held(x.copy()))
    y = x.copy()
    assert value == f(y.copy(), held(x.copy()))


# ---- a helper of the user's, or a method, that changes an array in place
# while a view of it is kept: Python's view sees the change ----

def _set_row(M, i, v):
    M[i] = v


def _scaled_in_place(M):
    M *= 2.0


def row_kept_while_a_helper_writes_its_matrix(x):
    M = np.ones((3, 3))
    r = M[1]
    _set_row(M, 1, 5.0)
    return np.sum(r * x)


def transpose_kept_while_a_helper_scales_its_matrix(x):
    M = np.ones((3, 3))
    r = M.T
    _scaled_in_place(M)
    return np.sum(r[0] * x)


def row_kept_while_its_matrix_is_sorted(x):
    M = np.array([[3.0, 1.0, 2.0]] * 3)
    r = M[1]
    M.sort(axis=1)
    return np.sum(r * x)


def row_of_an_argument_kept_while_a_helper_scales_it(x, M):
    r = M[0]
    _scaled_in_place(M)
    return np.sum(r * x)


def row_read_again_after_a_helper_scaled_its_matrix_in_a_loop(x):
    M = np.ones((3, 3))
    r = M[0]
    s = 0.0
    for _ in range(2):
        s = s + np.sum(r * x)
        _scaled_in_place(M)
    return s


@pytest.mark.parametrize("f", [
    row_kept_while_a_helper_writes_its_matrix,
    transpose_kept_while_a_helper_scales_its_matrix,
    row_kept_while_its_matrix_is_sorted,
    row_of_an_argument_kept_while_a_helper_scales_it,
    row_read_again_after_a_helper_scaled_its_matrix_in_a_loop])
def test_a_view_kept_while_a_call_changes_its_array_is_refused(f):
    """(outside attack: the helper changed a copy, and the view kept the
    old values: a silently wrong value and gradient.)"""
    args = (np.array([0.3, -1.2, 0.7]),)
    if "argument" in f.__name__:
        args += (np.ones((3, 3)),)
    refused(f, *args)


def row_taken_after_a_helper_writes_its_matrix(x):
    M = np.ones((3, 3))
    _set_row(M, 1, 5.0)
    return np.sum(M[1] * x)


def row_copied_before_a_helper_writes_its_matrix(x):
    M = np.ones((3, 3))
    r = M[1].copy()
    s = np.sum(r * x)
    _set_row(M, 1, 5.0)
    return s + np.sum(M[1] * x)


def statement_conditional_call_on_a_list_item(x):
    rows = [np.ones(3), np.ones(3)]
    _set_row(rows[0], 1, 7.0) if x[0] > 0 else None
    return np.sum(rows[0] * x)


@pytest.mark.parametrize("f", [
    row_taken_after_a_helper_writes_its_matrix,
    row_copied_before_a_helper_writes_its_matrix,
    statement_conditional_call_on_a_list_item])
def test_views_a_call_does_not_make_stale_are_differentiated(f):
    exact(f, np.array([0.3, -1.2, 0.7]))


# ---- an item of an item assigned (`K[i][j] = v`, `rows[i][j] += v`):
# Python changes the item `K[i]` in place, which its container sees ----

def kernel_matrix_by_rows(x):
    n = len(x)
    K = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            K[i][j] = np.exp(-(x[i] - x[j]) ** 2)
        K[i][i] += 0.1
    return np.linalg.slogdet(K)[1] + x @ np.linalg.solve(K, x)


def table_of_lists(x):
    n = len(x)
    t = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            t[i][j] = x[i] * x[j] + (t[i - 1][j] if i > 0 else 0.0)
    return sum(t[n - 1])


def outer_product_updated(x):
    A = np.outer(x, x)
    A[1][2] += x[0] ** 2
    A[0][:] *= 2.0
    A[2][::2] = x[:2] ** 3
    return np.sum(A ** 2)


def dict_of_arrays_item_written(x):
    d = {"w": np.ones(3), "b": 1.0}
    d["w"][1] = x[0] * 3.0
    return np.sum(d["w"] * x) + d["b"]


def list_of_arrays_item_written(x):
    ws = [x * 1.0, x * 2.0]
    ws[1][0] = x[2] ** 3
    return np.sum(ws[0] * ws[1])


def rows_written_in_a_while_loop_with_a_branch(x):
    rows = [[0.0] * 2 for _ in range(2)]
    i = 0
    while i < 2:
        if x[i] > 0:
            rows[i][0] = x[i] ** 2
        else:
            rows[i][1] = -x[i]
        i += 1
    return rows[0][0] + rows[0][1] * rows[1][1] + rows[1][0] * x[2]


def row_of_an_argument_written(x, rows):
    rows[0][1] = x[0] * 2.0
    return rows[0][1] * x[1] + rows[1][0]


NESTED = [kernel_matrix_by_rows, table_of_lists, outer_product_updated,
          dict_of_arrays_item_written, list_of_arrays_item_written,
          rows_written_in_a_while_loop_with_a_branch]


@pytest.mark.parametrize("f", NESTED, ids=[f.__name__ for f in NESTED])
def test_an_item_of_an_item_assigned_is_differentiated(f):
    """(`K[i][j] = v` was refused, the commonest false refusal the outside
    attacks met.)"""
    exact(f, np.array([0.3, -1.2, 0.7]))


def test_an_item_of_an_argument_list_assigned_leaves_the_callers_list():
    rows = [[1.0, 2.0], [3.0, 4.0]]
    exact(row_of_an_argument_written, np.array([0.3, -1.2, 0.7]), rows)
    assert rows == [[1.0, 2.0], [3.0, 4.0]]


def test_a_hessian_through_an_item_of_an_item_assigned():
    x = np.array([0.3, -1.2, 0.7])
    h = s2sad.hessian(kernel_matrix_by_rows)(x)
    g = s2sad.grad(kernel_matrix_by_rows)
    eps = 1e-5
    numeric = np.array([(g(x + eps * e) - g(x - eps * e)) / (2 * eps)
                        for e in np.eye(3)])
    np.testing.assert_allclose(h, numeric, rtol=1e-6, atol=1e-8)


def row_kept_then_its_item_assigned(x):
    rows = [[x[0], x[1]], [x[2], 1.0]]
    r = rows[0]
    rows[0][1] = x[2] * 2.0
    return r[1] * x[0]


def view_kept_then_its_item_assigned(x):
    A = np.outer(x, x)
    r = A[0]
    A[0][1] = 7.0
    return np.sum(r * x)


def item_of_a_repeated_list_assigned(x):
    rows = [[0.0, 0.0]] * 2
    rows[0][1] = x[0]
    return rows[1][1] * x[1]


def item_held_by_another_name_assigned(x):
    w = np.ones(3)
    ws = [w]
    ws[0][1] = x[0]
    return w @ x


def rows_by_an_index_array_assigned(x):
    A = np.outer(x, x)
    A[[0, 1]][0] = 5.0  # changes a copy: A keeps its values, in Python
    return np.sum(A)


def rows_by_a_mask_assigned(x):
    A = np.outer(x, x)
    A[x > 0][0] = 5.0
    return np.sum(A)


@pytest.mark.parametrize("f", [
    row_kept_then_its_item_assigned, view_kept_then_its_item_assigned,
    item_of_a_repeated_list_assigned, item_held_by_another_name_assigned,
    rows_by_an_index_array_assigned, rows_by_a_mask_assigned])
def test_an_item_of_an_item_assigned_is_refused_where_python_differs(f):
    refused(f, np.array([0.3, -1.2, 0.7]))


def item_of_a_number_assigned(x):
    rows = [1.0, 2.0]
    rows[0][1] = x[0]
    return rows[0]


def item_of_a_tuple_assigned(x):
    rows = ((1.0, 2.0), (3.0, 4.0))
    rows[0][1] = x[0]
    return rows[0][0]


@pytest.mark.parametrize("f", [item_of_a_number_assigned,
                               item_of_a_tuple_assigned])
def test_an_item_of_an_item_assigned_raises_where_python_raises(f):
    with pytest.raises(TypeError, match="does not support item assignment"):
        s2sad.grad(f)(np.array([0.3, -1.2, 0.7]))


def test_an_item_of_an_item_of_an_item_assigned_is_refused_with_advice():
    def deep(x):
        t = [[[0.0]]]
        t[0][0][0] = x[0]
        return t[0][0][0]
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                       match=r"rows\[i\]\[j\]\.copy\(\)"):
        s2sad.grad(deep)(np.array([0.3]))


def element_of_a_row_kept_across_its_write(x):
    A = np.outer(x, x)
    v = A[0][1]  # a number: the row is changed, v is not
    A[0] = x * 3.0
    return v * A[0][1]


def element_of_a_listed_row_kept_across_its_write(x):
    rows = [[x[0], x[1]], [x[2], 1.0]]
    v = rows[0][1]
    rows[0][1] = x[2] * 5.0
    return v * rows[0][1]


@pytest.mark.parametrize("f", [element_of_a_row_kept_across_its_write,
                               element_of_a_listed_row_kept_across_its_write])
def test_a_number_read_from_a_row_is_kept_across_the_rows_write(f):
    """(was refused as a view: `v = A[0][1]` held the row `A[0]`.)"""
    exact(f, np.array([0.3, -1.2, 0.7]))


def row_of_a_row_of_a_cube_kept_across_its_write(x):
    A = np.ones((2, 2, 3)) * x
    v = A[0][1]  # a view of A
    A[0] = 5.0
    return np.sum(v * x)


def row_and_its_element_listed_across_the_write(x):
    A = np.outer(x, x)
    held = [A[0], A[0][1]]
    A[0] = x * 3.0
    return np.sum(held[0] * x) + held[1]


@pytest.mark.parametrize("f", [row_of_a_row_of_a_cube_kept_across_its_write,
                               row_and_its_element_listed_across_the_write])
def test_a_view_read_from_a_row_is_refused_across_the_rows_write(f):
    refused(f, np.array([0.3, -1.2, 0.7]))


def column_raveled_then_its_matrix_written(x):
    A = np.outer(x, x)
    c = A[:, 1].ravel()  # a column: ravel copies it
    A[0, 1] = 9.0
    return np.sum(c * x)


def transpose_reshaped_then_its_matrix_written(x):
    A = np.outer(x, x)
    c = np.reshape(A.T, -1)  # copies
    A[0, 1] = 9.0
    return np.sum(c[:3] * x)


def list_made_an_array_then_an_item_added_to(x):
    rows = [x * 1.0, x * 2.0]
    A = np.asarray(rows)  # copies the list's arrays
    rows[0] += x
    return np.sum(A[0] * x)


@pytest.mark.parametrize("f", [column_raveled_then_its_matrix_written,
                               transpose_reshaped_then_its_matrix_written,
                               list_made_an_array_then_an_item_added_to])
def test_what_may_be_a_copy_is_checked_when_it_runs(f):
    """(ravel, reshape and asarray copy where a view cannot do; such a
    copy read after its source's write was refused as a view.)"""
    exact(f, np.array([0.3, -1.2, 0.7]))


def matrix_reshaped_then_written(x):
    A = np.outer(x, x)
    c = A.reshape(-1)  # a view
    A[0, 1] = 9.0
    return np.sum(c[:3] * x)


def test_what_is_a_view_after_all_is_refused_when_it_runs():
    refused(matrix_reshaped_then_written, np.array([0.3, -1.2, 0.7]))


def parameters_updated_through_the_loop_target(x):
    params = [x * 1.0, x * 2.0]
    grads = [x, x]
    for p, g in zip(params, grads):
        p -= 0.1 * g
    return np.sum(params[0] * params[1])


def test_an_update_of_a_loop_target_is_refused_with_the_way_to_write_it():
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                       match=r"update it there \(`params\[i\] -= \.\.\.`, "
                       r"in a loop over `range\(len\(params\)\)`\)"):
        s2sad.grad(parameters_updated_through_the_loop_target)(
            np.array([0.3, -1.2, 0.7]))


# ---- found by an outside attack on items of items: what holds an item
# that `K[i][j] = v` changes, helpers changing items, slices of lists ----

def rows_unpacked_then_one_written(x):
    rows = [[x[0], x[1]], [x[2], 1.0]]
    r0, r1 = rows
    rows[0][1] = x[0] * x[2]
    return r0[1] + r1[0]


def row_listed_then_written(x):
    K = [[x[0], x[1]], [x[2], 1.0]]
    sel = [K[0]]
    K[0][0] = 3.0 * x[2]
    return sel[0][0] * x[1]


def arrays_unpacked_then_one_written(x):
    ws = [x * 1.0, x * 2.0]
    a, b = ws
    ws[0][1] = x[2] * 3.0
    return np.sum(a * b)


def array_got_from_a_dict_then_written(x):
    d = {"w": x * 1.0}
    w = d.get("w")
    d["w"][0] = x[1] * 2.0
    return np.sum(w * x)


def array_put_in_a_list_then_written_and_read(x):
    w = x * 1.0
    ws = [w]
    ws[0][1] = x[0]
    return np.sum(w * x)


def row_appended_twice_then_written(x):
    row = [x[0], x[1]]
    K = []
    K.append(row)
    K.append(row)
    K[0][1] = 5.0  # K[1] is the same list: it changes too
    return K[1][1] * x[0]


def slice_of_a_list_written(x):
    ws = [x * 1.0, x * 2.0]
    ws[0:1][0] = np.zeros(3)  # a copy, which Python drops
    return np.sum(ws[0] * ws[1])


def reversed_rows_written(x):
    rows = [[x[0], x[1]], [x[2], 1.0]]
    rows[::-1][0] = [7.0, 7.0]
    return rows[1][0] * x[0]


def last_row_read_after_the_diagonal_is_written(x):
    K = []
    for i in range(3):
        row = []
        for j in range(3):
            row.append(x[i] * j)
        K.append(row)
    K[2][2] += 0.1
    return sum(row) * x[0]


@pytest.mark.parametrize("f", [
    rows_unpacked_then_one_written, row_listed_then_written,
    arrays_unpacked_then_one_written, array_got_from_a_dict_then_written,
    array_put_in_a_list_then_written_and_read, slice_of_a_list_written,
    row_appended_twice_then_written,
    reversed_rows_written, last_row_read_after_the_diagonal_is_written])
def test_what_an_item_of_an_item_write_would_change_unseen_is_refused(f):
    """(each gave the old value or a wrong gradient, silently.)"""
    refused(f, np.array([1.5, 2.0, 0.5]))


def _set(row, j, v):
    row[j] = v


def _bump_diagonal(M, c):
    for i in range(len(M)):
        M[i][i] += c


def constant_row_changed_by_a_helper(x):
    A = [[1.0, 2.0], [3.0, 4.0]]
    _set(A[0], 1, 7.0)
    return x[0] * A[0][1]


def constant_row_reversed(x):
    A = [[1.0, 2.0], [3.0, 4.0]]
    A[0].reverse()
    return x[0] * A[0][1]


def rows_made_by_a_comprehension_then_written(x):
    K = [[np.exp(-(a - b) ** 2) for b in x] for a in x]
    for i in range(3):
        K[i][i] += 0.1
    return np.linalg.slogdet(np.array(K))[1]


def kernel_by_appends_then_its_diagonal_written(x):
    K = []
    for i in range(3):
        row = []  # (still holds the last row, not read again)
        for j in range(3):
            row.append(np.exp(-(x[i] - x[j]) ** 2))
        K.append(row)
    for i in range(3):
        K[i][i] += 0.1
    return np.linalg.slogdet(np.array(K))[1]


def array_of_a_tuple_written(x):
    t = (x * 1.0, x * 2.0)
    t[0][1] = x[2] ** 2
    return np.sum(t[0] * t[1])


@pytest.mark.parametrize("f", [
    constant_row_changed_by_a_helper, constant_row_reversed,
    rows_made_by_a_comprehension_then_written,
    kernel_by_appends_then_its_diagonal_written, array_of_a_tuple_written])
def test_items_of_items_changed_in_place_are_differentiated(f):
    """(a helper or method changing a constant row was folded away; a
    comprehension's rows crashed; a leftover `row` was refused; an array
    held by a tuple raised the tuple's TypeError.)"""
    exact(f, np.array([1.5, 2.0, 0.5]))


def row_of_a_list_argument_set_by_a_helper(x, K):
    _set(K[0], 1, 7.0)
    return x[0] * K[0][1]


def diagonal_of_a_list_argument_bumped(x, K):
    _bump_diagonal(K, 2.0)
    return x[0] * K[0][0]


def rows_of_a_list_argument_set_in_a_loop(x, K):
    for row in K:
        _set(row, 0, 3.0)
    return x[0] * K[1][0]


def transpose_of_an_argument_set_by_a_helper(x, A):
    _set(A.T, 0, 7.0)
    return np.sum(x * A[0])


def array_of_a_dict_argument_set_by_a_helper(x, d):
    _set(d["w"], 0, 5.0)
    return np.sum(x * d["w"])


@pytest.mark.parametrize("f, held", [
    (row_of_a_list_argument_set_by_a_helper, [[1.0, 2.0], [3.0, 4.0]]),
    (diagonal_of_a_list_argument_bumped, [[1.0, 0.3], [0.2, 1.0]]),
    (rows_of_a_list_argument_set_in_a_loop, [[1.0, 2.0], [3.0, 4.0]]),
    (transpose_of_an_argument_set_by_a_helper, np.ones((3, 3)))])
def test_a_helper_changing_an_item_of_an_argument_leaves_the_callers(f, held):
    """(the caller's lists, dicts and arrays were changed through their
    items: a copy of the argument held the same items.)"""
    kept = copy.deepcopy(held)
    exact(f, np.array([1.5, 2.0, 0.5]), held)
    assert repr(held) == repr(kept)


def test_a_helper_changing_an_array_of_a_dict_argument_leaves_the_callers():
    d, x = {"w": np.ones(3)}, np.array([1.5, 2.0, 0.5])
    value, g = s2sad.value_and_grad(array_of_a_dict_argument_set_by_a_helper)(
        x, d)
    np.testing.assert_array_equal(d["w"], np.ones(3))
    assert value == array_of_a_dict_argument_set_by_a_helper(
        x, {"w": np.ones(3)})
    np.testing.assert_array_equal(g, [5.0, 1.0, 1.0])


# ---- found by a second outside attack on items of items: what else
# holds the items (copies, comprehensions), library functions changing
# their list ----

def rows_copied_by_a_comprehension_then_one_written(x):
    rows = [[x[0], x[1]], [x[1], x[2]]]
    cp = [r for r in rows]
    rows[0][0] *= x[2]
    return cp[0][0] + cp[1][1]


def rows_sorted_then_one_written(x):
    rows = [[x[0], x[1]], [x[1], x[2]]]
    cp = sorted(rows, key=lambda r: r[1])
    rows[0][0] *= x[2]
    return cp[0][0] + cp[1][1]


def dict_copied_then_an_array_of_it_scaled(x):
    params = {"w": x * 1.0}
    start = params.copy()
    params["w"] *= 2.0
    return np.sum(start["w"])


def one_row_held_twice_then_written(x):
    row = [x[0], x[1]]
    K = [row, row]
    K[0][0] = x[0] * 3.0
    return K[1][0] * x[1]


def rows_of_an_array_listed_then_written(x):
    M = np.outer(x, x)
    rows = [r for r in M]
    rows[0][1] = 7.0 * x[1]  # writes into M
    return M[0, 1]


def pushed_onto_a_heap(x):
    h = []
    heapq.heappush(h, x[0] * x[0])
    return heapq.heappop(h)


def inserted_in_order(x):
    v = [1.0, 3.0]
    bisect.insort(v, x[0] * x[1])
    return v[1]


@pytest.mark.parametrize("f", [
    rows_copied_by_a_comprehension_then_one_written,
    rows_sorted_then_one_written, dict_copied_then_an_array_of_it_scaled,
    one_row_held_twice_then_written, rows_of_an_array_listed_then_written,
    pushed_onto_a_heap, inserted_in_order])
def test_what_holds_a_changed_item_or_a_changed_list_is_refused(f):
    """(each gave the old value or a zero gradient, silently.)"""
    refused(f, np.array([0.3, -0.7, 1.1]))


def indices_made_a_heap(x):
    idx = [2, 1, 0]
    heapq.heapify(idx)
    return x[idx[0]] + 2.0 * x[idx[1]]


def constants_inserted_in_order(x):
    vals = [1.0, 3.0]
    bisect.insort(vals, 2.0)
    return vals[1] * x[0]


def rows_enumerated_and_their_diagonal_written(x):
    K = [[x[0], x[1]], [x[1], x[2]]]
    for i, row in enumerate(K):
        K[i][i] = row[i] + 0.1
    return K[0][0] * K[1][1]


def _fill(r, v):
    r[0] = v
    r[1] = 2 * v


def constants_sorted_through_another_name(x):
    coef = [3.0, 1.0, 2.0]
    c2 = coef
    c2.sort()
    return coef[0] * x[0]


def constant_row_filled_through_a_name_for_it(x):
    K = [[0.0, 0.0], [0.0, 0.0]]
    r = K[0]
    _fill(r, 3.0)
    return K[0][1] * x[0]


@pytest.mark.parametrize("f", [indices_made_a_heap,
                               constants_inserted_in_order,
                               rows_enumerated_and_their_diagonal_written,
                               constants_sorted_through_another_name,
                               constant_row_filled_through_a_name_for_it])
def test_lists_changed_by_library_functions_or_in_their_loop_are_exact(f):
    exact(f, np.array([0.3, -0.7, 1.1]))


def parameters_of_a_dict_decayed_by_key(p):
    for k in list(p):
        p[k] = p[k] - 0.1 * p[k] ** 2
    return sum(np.sum(v) for v in p.values())


def parameters_of_a_dict_decayed_in_place_by_key(p):
    for k in list(p):
        p[k] -= 0.1 * p[k] ** 2
    return sum(np.sum(v) for v in p.values())


@pytest.mark.parametrize("f", [parameters_of_a_dict_decayed_by_key,
                               parameters_of_a_dict_decayed_in_place_by_key])
def test_a_loop_over_a_dicts_keys_may_update_the_dict(f):
    """(refused as a loop over a view, though `for k in list(p)` is the
    rewrite s2sad's own message advises; a dict's keys are not its
    values.)"""
    p = {"a": np.array([1.0, 2.0]), "b": np.array([0.5])}
    value, g = s2sad.value_and_grad(f)(p)
    assert value == f(copy.deepcopy(p))
    np.testing.assert_allclose(g["a"], 1.0 - 0.2 * p["a"])
    np.testing.assert_allclose(g["b"], 1.0 - 0.2 * p["b"])


def rows_of_an_array_listed_while_it_is_written(A):
    for r in list(A):
        A[0] = A[0] * 2.0
    return np.sum(A)


def test_a_loop_over_an_arrays_rows_while_it_is_written_is_refused():
    refused(rows_of_an_array_listed_while_it_is_written,
            np.array([[1.0, 2.0], [3.0, 4.0]]))

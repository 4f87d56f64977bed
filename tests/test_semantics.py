"""What s2sad differentiates is what Python computes: names, aliasing,
in-place updates, casts, and what gradients are returned as."""

import ast
import copy
import builtins
import inspect
import sys
import types

import numpy as np
import pytest

import s2sad
from tests import corpus, loop_corpus



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


def numpy_rounding(x):
    return np.sum(np.floor(x) * x + np.rint(x) * x + np.trunc(x) * x
                  + np.fix(x) * x + np.round(x, 1) * x)


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


def test_an_integer_array_input_gets_a_float_gradient():
    g = s2sad.grad(lambda x: np.sum(x * 2.5))(np.array([1, 2]))
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, [2.5, 2.5])


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

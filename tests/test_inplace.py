"""Element and slice assignment into arrays the function made: in place.

`K[i, j] = v` in a loop writes into K itself (no copy of K per element);
the reverse sweep puts back what each write overwrote when an adjoint
reads K's values afterwards, and keeps nothing when none does (a linear
update). These tests check the numbers against central differences in
every mode and at second order, that the caller's arrays and returned
values never change, and, from the generated code, that no copy of the
whole array is made or taped per element.
"""

import math
import re

import numpy as np
import pytest

import s2sad
from tests import loop_corpus

RNG = np.random.default_rng(3)
X = RNG.standard_normal((6, 2))


def kernel_logdet(ls):
    n = X.shape[0]
    K = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            d = X[i] - X[j]
            K[i, j] = np.exp(-0.5 * np.dot(d, d) / ls ** 2)
    K = K + 0.1 * np.eye(n)
    sign, logdet = np.linalg.slogdet(K)
    return logdet


def reads_between_writes(x):
    a = np.zeros(3)
    s = 0.0
    for i in range(3):
        a[i] = x * (i + 1.0)
        s = s + np.sum(a * a)  # the values so far: restored going back
    a[1:] = a[:-1] * x  # a slice from itself
    return s + np.sum(np.sin(a))


def heat(u, steps):
    for _ in range(steps):
        lap = u[:-2] + u[2:] - 2.0 * u[1:-1]
        u = u.copy()
        u[1:-1] = u[1:-1] + 0.2 * lap
    return np.sum(u ** 2)


def writes_an_argument(u):
    u[0] = 3.0 * u[1]  # the derivative's own copy (s2sad.grad owns it)
    return np.sum(u * u)


def returns_the_array(x):
    out = np.zeros(3)
    for i in range(3):
        out[i] = x * i
    return out


def list_items(x):
    items = [0.0, 0.0, 0.0]
    for i in range(3):
        items[i] = x * (i + 1.0)
    return items[0] * items[1] + items[2]


def numeric(f, x, h=1e-6):
    x = np.asarray(x, dtype=float)
    out = np.zeros(x.shape)
    for k in range(x.size):
        e = np.zeros(x.shape)
        e.flat[k] = h
        out.flat[k] = (f(x + e) - f(x - e)) / (2 * h)
    return out if out.shape else float(out)


@pytest.mark.parametrize("f, x", [
    (kernel_logdet, 1.3), (reads_between_writes, 0.7),
    (lambda u: heat(u, 5), RNG.standard_normal(8)),
    (writes_an_argument, np.array([0.5, -1.5, 2.0])),
    (list_items, 1.5),
], ids=["kernel", "reads", "heat", "argument", "list"])
def test_updates_in_place_give_the_programs_derivatives(f, x):
    kept = np.copy(x)
    value, g = s2sad.value_and_grad(f)(x)
    np.testing.assert_array_equal(x, kept)  # the caller's array unchanged
    assert value == f(np.copy(x))
    np.testing.assert_allclose(g, numeric(f, x), rtol=1e-6, atol=1e-8)
    s2sad.check_grads(f, (x,), modes=("fwd",))
    s2sad.check_grads(f, (x,), modes=("rev",))


@pytest.mark.parametrize("f, x", [
    (kernel_logdet, 1.3), (reads_between_writes, 0.7), (list_items, 1.5)],
    ids=["kernel", "reads", "list"])
def test_second_derivatives_through_updates_in_place(f, x):
    first = s2sad.grad(f)
    second = s2sad.grad(first)(x)
    assert second == pytest.approx(numeric(first, x), rel=1e-5, abs=1e-7)
    h = 1e-4
    assert second == pytest.approx(
        (f(x + h) - 2 * f(x) + f(x - h)) / h ** 2, rel=1e-3, abs=1e-5)


def test_no_copy_of_the_array_per_element():
    source = s2sad.grad(kernel_logdet).source
    assert "runtime.setitem_owned(K" in source \
        or "runtime.setitem_in_place(K" in source
    forward = source.split("_bar")[0]
    assert "runtime.setitem(" not in forward
    # the tape holds no version of K (its values are never read back)
    tape = [line for line in source.splitlines() if "_tape.append" in line]
    assert tape and not any(re.search(r"(?<!like\()\bK_\d+\b", line)
                            for line in tape)


def test_overwritten_values_are_kept_only_where_an_adjoint_reads_them():
    assert "runtime.restore(" in s2sad.grad(reads_between_writes).source
    linear = s2sad.grad(lambda u: heat(u, 5)).source
    assert "restore" not in linear and "overwritten" not in linear
    assert "runtime.like(u_" in linear  # the grids' shapes only


def test_a_returned_array_is_never_changed_afterwards():
    value, pull = s2sad.vjp(returns_the_array, 2.0)
    kept = value.copy()
    assert pull(np.ones(3)) == pytest.approx((3.0,))
    assert pull(np.array([1.0, 0.0, 2.0])) == pytest.approx((4.0,))
    np.testing.assert_array_equal(value, kept)
    _, dot = s2sad.jvp(returns_the_array, (2.0,), (1.0,))
    np.testing.assert_array_equal(dot, [0.0, 1.0, 2.0])


def _quotient_changed(c, y):
    z = c / y
    z[0] *= 3.0
    return np.sum(z)


def _power_changed(x):
    z = 2.0 ** x
    z[0] *= 3.0
    return np.sum(z)


def _brier(x, label):
    e = np.exp(x)
    p = e / np.sum(e)
    p[label] -= 1.0
    return np.sum(p * p)


def _sigmoid_changed(x):
    p = 1 / (1 + np.exp(-x))
    p[0] *= 3
    return np.sum(p * p)


def _rows_changed(x):
    p = x / x.sum(axis=1, keepdims=True)
    p[:, 0] += 1.0
    return np.sum(p ** 2)


@pytest.mark.parametrize("f, args, argnums", [
    (_quotient_changed, (np.array([1.0, 2.0]), np.array([2.0, 3.0])), 1),
    (_power_changed, (np.array([0.5, 1.0]),), 0),
    (_brier, (np.array([0.1, 0.5, -0.3]), 1), 0),
    (_sigmoid_changed, (np.array([0.1, 0.5, -0.3]),), 0),
    (_rows_changed, (np.array([[1.0, 2.0], [3.0, 0.5]]),), 0),
], ids=lambda c: getattr(c, "__name__", ""))
def test_a_result_its_own_adjoint_reads_is_kept_when_changed_later(
        f, args, argnums):
    # the adjoint of z = c / y reads z (as -z / y); an update in place of
    # z afterwards must leave the adjoint the z it made (outside attack:
    # the update was written into z itself)
    np.testing.assert_array_equal(
        s2sad.grad(f, argnums)(*args),
        s2sad.grad(f, argnums, optimize=False)(*args))
    s2sad.check_grads(f, args, argnums=argnums)


def sines(x, data):
    return np.sum(np.sin(x) * data["w"])


def test_a_vjp_pulls_back_at_the_point_it_was_made_at():
    # the caller's arrays changed in place after vjp (a buffer reused)
    # are not what the pullback reads
    x, data = np.linspace(0.0, 1.0, 3), {"w": np.array([1.0, 2.0, 3.0])}
    expected = np.cos(x) * data["w"], np.sin(x)
    value, pull = s2sad.vjp(sines, x, data)
    x[:] = 0.0
    data["w"][:] = 5.0
    got = pull(1.0)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1]["w"], expected[1])


def test_a_vjp_pulled_many_times_gives_the_same_cotangents():
    _, pull = s2sad.vjp(reads_between_writes, 0.7)
    first, = pull(1.0)
    assert pull(1.0) == (first,)
    assert pull(2.0)[0] == pytest.approx(2 * first)


def reads_its_shape(u0, kappa):
    u = u0.copy()
    n = u.shape[0]  # numbers, not a view of u
    u[1:-1] = u[1:-1] + kappa * u[2:]
    return np.sum(u ** 2) + u[n // 2] ** 3


def test_an_arrays_shape_is_not_a_view_of_it():
    u0 = RNG.standard_normal(5)
    g = s2sad.grad(reads_its_shape)(u0, 0.3)
    np.testing.assert_allclose(
        g, numeric(lambda u: reads_its_shape(u, 0.3), u0), rtol=1e-6)


def test_a_loops_tape_shares_what_it_keeps_of_an_arrays_kind():
    # a kernel matrix filled element by element keeps K's shape and dtype
    # per element: one object, not one per element (a GP likelihood's tape
    # was half such records)
    from s2sad import runtime
    a, b = np.zeros((3, 3)), np.ones((3, 3))
    assert runtime.like(a) is runtime.like(b)
    c = np.zeros((3, 3), np.float32)
    assert runtime.like(c) is not runtime.like(a)
    assert (runtime.like(c).shape, runtime.like(c).dtype) == ((3, 3), c.dtype)
    assert runtime.like(np.zeros(4)).shape == (4,)
    assert runtime.like([1.0]) == [1.0]  # (anything else: itself)


# A write `a[index] = v` casts v into a's dtype, and with a repeated index
# only the last write of an item counts: the derivative code tests both
# where the program leaves them open (runtime.through_cast zeroes the
# adjoint of a value written into integers; runtime.keep_last the writes
# overwritten), and leaves the tests out where the program answers them.

def into_ints(x):
    a = np.zeros(3, dtype=int)
    a[0] = x  # truncated: a constant nearby
    return x * a[0] + a[0]


def into_a_comparison(x):
    b = np.less(np.array([x, 2.0 * x]), 1.0)  # booleans
    b[0] = x
    return x * np.sum(b)


def into_an_argument(u, x):
    u = u.copy()  # u may hold ints
    u[1] = x * x
    return np.sum(u * x)


def turned_into_ints_in_a_loop(x):
    a = np.zeros(3)
    for i in range(2):
        a[i] = x * (i + 1.5)
        a = a.astype(int)
    a[2] = x
    return x * np.sum(a)


def repeated_index(x):
    a = np.zeros(3)
    a[[0, 0, 1]] = x * np.array([1.0, 2.0, 3.0])  # a[0] is 2x
    return np.sum(a ** 2)


def index_from_a_list(x):
    a = np.zeros(3)
    for k in [0, 0, 2]:
        a[[k, k]] = x * np.array([1.0, 2.0 + k])
    return np.sum(a * a)


@pytest.mark.parametrize("f, x", [
    (into_ints, 1.7), (into_a_comparison, 0.3),
    (lambda x: into_an_argument(np.array([1, 2, 3]), x), 1.3),
    (lambda x: into_an_argument(np.array([1.0, 2.0, 3.0]), x), 1.3),
    (turned_into_ints_in_a_loop, 2.3), (repeated_index, 0.8),
    (index_from_a_list, 0.6), (kernel_logdet, 1.1),
], ids=["ints", "booleans", "int-argument", "float-argument", "loop-cast",
        "repeated", "list-index", "kernel"])
def test_writes_cast_and_overwritten_give_the_derivatives(f, x):
    value, g = s2sad.value_and_grad(f)(x)
    assert value == f(x)
    assert g == pytest.approx(numeric(f, x), rel=1e-6, abs=1e-8)
    s2sad.check_grads(f, (x,), modes=("fwd", "rev"))


def test_a_writes_tests_are_left_out_where_the_program_answers_them():
    # float arrays written at ints and slices: no test, and nothing of K
    # on the tape (no `runtime.like` record per element)
    source = s2sad.grad(kernel_logdet).source
    assert "through_cast" not in source and "keep_last" not in source
    assert "runtime.like(" not in source
    assert "through_cast" not in s2sad.grad(filled_by_element).source
    # where the program leaves them open they stay
    assert "through_cast" in s2sad.grad(into_ints).source
    assert "through_cast" in s2sad.grad(into_a_comparison).source
    assert "through_cast" in s2sad.grad(into_an_argument, 1).source
    assert "through_cast" in s2sad.grad(turned_into_ints_in_a_loop).source
    assert "keep_last" in s2sad.grad(repeated_index).source
    assert "keep_last" in s2sad.grad(index_from_a_list).source


def keeps_the_argument(x):
    a = x.astype(float, copy=False)  # x itself
    a[0] = 2.0 * a[1]
    return x[0] * x[1]


def rows_kept_in_a_loop(x):
    A = np.outer(x, x)
    rows = []
    for i in range(2):
        rows.append(A[i])  # views, which see the update below
    A[0, 0] = 10.0 * x[0]
    return rows[0][0]


def rows_enumerated(x):
    A = np.outer(x, x)
    keep = []
    for _, row in enumerate(A):
        keep.append(row)
    A[0, 0] = 10.0 * x[0]
    return keep[0][0]


@pytest.mark.parametrize("f", [keeps_the_argument, rows_kept_in_a_loop,
                               rows_enumerated])
def test_a_write_another_value_would_see_is_refused(f):
    x = np.array([1.0, 2.0])
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError):
        s2sad.grad(f)(x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


# An integrator's trajectory: `traj[i] = x` copies x's values into an array
# of numbers, so updating x in place afterwards is what Python computes.

def trajectory_rows(x0):
    x = x0.copy()
    traj = np.zeros((3, 2))
    for i in range(3):
        x += 0.1 * np.sin(x)
        traj[i] = x
    return np.sum(traj ** 2)


def trajectory_slices_before_the_update(x0):
    x = x0.copy()
    traj = np.zeros((4, 2), dtype=float)
    for i in range(4):
        traj[i, :] = x
        x *= 1.1 + 0.1 * x
    return np.sum(traj * traj) + np.sum(x)


def stored_once_then_updated(x0):
    x = x0.copy()
    first = np.zeros_like(x0)
    first[:] = x
    x -= 0.5 * x ** 2
    return np.sum(first * x)


@pytest.mark.parametrize("f", [trajectory_rows,
                               trajectory_slices_before_the_update,
                               stored_once_then_updated])
def test_an_array_stored_into_an_array_of_numbers_may_change(f):
    x = np.array([0.6, -0.8])
    kept = x.copy()
    value, g = s2sad.value_and_grad(f)(x)
    np.testing.assert_array_equal(x, kept)
    assert value == f(x.copy())
    np.testing.assert_allclose(g, numeric(f, x), rtol=1e-6, atol=1e-8)
    s2sad.check_grads(f, (x,), modes=("fwd",))


def stored_into_an_object_array(x0):
    x = x0.copy()
    traj = np.empty(3, dtype=object)  # holds x itself
    for i in range(3):
        x += 0.1 * x
        traj[i] = x
    return np.sum(traj[0] ** 2)


def stored_into_a_list(x0):
    x = x0.copy()
    rows = [None, None]
    rows[0] = x  # the list holds x itself
    x += 1.0
    return np.sum(rows[0])


def stored_into_a_list_or_an_array(x0, as_list=False):
    x = x0.copy()
    traj = [None, None, None] if as_list else np.zeros((3, 2))
    traj[0] = x
    x += 1.0
    return np.sum(traj[0]) + np.sum(x)


@pytest.mark.parametrize("f", [stored_into_an_object_array,
                               stored_into_a_list,
                               stored_into_a_list_or_an_array])
def test_an_array_a_container_holds_may_not_change(f):
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError,
                       match="changes the array or list `x` in place"):
        s2sad.grad(f)(np.array([0.6, -0.8]))


# The adjoint of an element write in a loop zeroes that element of an
# adjoint array the loop owns (`runtime.cleared`), not a copy of the array
# per element; the programs below write elements, rows and slices in
# loops, read back what they wrote, and carry recurrences, where zeroing
# in place would go wrong if it reached anything still read.

def filled_by_element(x):
    y = np.zeros(x.size)
    for i in range(x.size):
        y[i] = np.sin(x[i]) * x[i]
    return np.sum(y * y)


def recurrence(x):
    y = np.zeros(x.size)
    y[0] = x[0]
    for i in range(1, x.size):
        y[i] = y[i - 1] * np.cos(x[i]) + x[i]
    return np.sum(y ** 2)


def rows_written(x):
    M = np.zeros((3, x.size))
    for i in range(3):
        M[i] = x * (i + 1.0)
    return np.sum(np.tanh(M) * M)


def sliding_slices(x):
    y = np.zeros(x.size + 1)
    for i in range(x.size):
        y[i:i + 2] = y[i:i + 2] + x[i] ** 2
    return np.sum(y * np.arange(1.0, x.size + 2))


def read_after_each_write(x):
    K = np.zeros((x.size, x.size))
    total = 0.0
    for i in range(x.size):
        for j in range(x.size):
            K[i, j] = x[i] * x[j] + 1.0
            total = total + K[i, j] * K[j, i]
    return total + np.sum(np.exp(K))


def symmetric_by_element(x):
    # two writes an iteration, the same element twice on the diagonal
    K = np.zeros((x.size, x.size))
    for i in range(x.size):
        for j in range(i + 1):
            v = np.exp(-0.5 * (x[i] - x[j]) ** 2) * (1.0 + x[j])
            K[i, j] = v
            K[j, i] = v
    return np.linalg.slogdet(K + np.eye(x.size))[1] + np.sum(K[0] * K[1])


def two_rows_recorded(x):
    traj = np.zeros((x.size, 2))
    a, b = 1.0, 0.0
    for i in range(x.size):
        a, b = a * np.cos(x[i]) - b, b + 0.5 * a * x[i]
        traj[i, 0] = a
        traj[i, 1] = b * a
    return np.sum(traj[:, 0] ** 2 * traj[:, 1])


@pytest.mark.parametrize("f", [filled_by_element, recurrence, rows_written,
                               sliding_slices, read_after_each_write,
                               symmetric_by_element, two_rows_recorded])
def test_element_adjoints_zeroed_in_place_give_the_derivatives(f):
    x = RNG.standard_normal(4)
    kept = x.copy()
    value, g = s2sad.value_and_grad(f)(x)
    np.testing.assert_array_equal(x, kept)
    assert value == f(x.copy())
    np.testing.assert_allclose(g, numeric(f, x), rtol=1e-6, atol=1e-8)
    grad, h = s2sad.grad(f), 1e-6
    columns = [(grad(x + h * e) - grad(x - h * e)) / (2 * h)
               for e in np.eye(x.size)]
    np.testing.assert_allclose(s2sad.hessian(f)(x), np.array(columns).T,
                               rtol=1e-5, atol=1e-6)
    value, pull = s2sad.vjp(f, x)
    cotangent = np.array(1.5)
    first = pull(cotangent)[0]
    np.testing.assert_array_equal(pull(cotangent)[0], first)
    np.testing.assert_allclose(first, 1.5 * g, rtol=1e-12)


def test_no_copy_of_the_adjoint_per_element():
    source = s2sad.grad(kernel_logdet).source
    backward = source[source.index("for i in reversed"):]
    assert "runtime.cleared(K_" in backward
    assert "runtime.setitem(" not in backward
    assert "runtime.cleared(" in s2sad.grad(filled_by_element).source
    # two writes an iteration: each clear zeroes the one array the loop
    # owns, the item read before it (O(1) a write, not a copy of K)
    for f in (symmetric_by_element, two_rows_recorded):
        source = s2sad.grad(f).source.split("\ndef ")[0]
        backward = source[source.index("reversed("):]
        assert backward.count("runtime.cleared(") == 2, backward
        assert "runtime.setitem(" not in backward
    x = RNG.standard_normal(5)
    np.testing.assert_allclose(
        s2sad.grad(symmetric_by_element)(x),
        s2sad.grad(symmetric_by_element, optimize=False)(x), rtol=1e-13)


def test_a_cotangent_is_never_zeroed_in_place():
    _, pull = s2sad.vjp(returns_the_array, 2.0)
    cotangent = np.array([1.0, 2.0, 3.0])
    assert pull(cotangent) == pytest.approx((8.0,))
    np.testing.assert_array_equal(cotangent, [1.0, 2.0, 3.0])
    assert pull(cotangent) == pytest.approx((8.0,))


# Two equal expressions make two arrays: when one of them is updated in
# place, the optimiser must not compute the other by reading the first
# (common subexpressions), or the update shows through both.

def two_zeros_like(x):
    a = np.zeros_like(x)
    b = np.zeros_like(x)
    a[0] = x[0]
    b[0] = x[1]
    return np.sum(a) * np.sum(b)


def two_filled_in_a_loop(x):
    a = np.zeros(3)
    b = np.zeros(3)
    for i in range(3):
        a[i] = x[i]
        b[i] = x[i] ** 2
    return 10 * np.sum(a) + np.sum(b)


def made_in_each_iteration(x):
    total = 0.0
    for i in range(3):
        a = np.ones(2)
        b = np.ones(2)
        a[1] = x[i]
        total = total + np.sum(a * b) * x[i]
    return total


def _fresh():
    return np.full(3, 1.0)


def from_a_helper_twice(x):
    a = _fresh()
    b = _fresh()
    a[1] = a[1] + x[0]
    return np.sum(b) * x[1] + np.sum(a * a)


def same_product_twice(x):
    a = x * 2.0
    b = x * 2.0
    a[0] = 0.0
    return np.sum(a * b)


def rebound_name(x):
    y = np.zeros(3)
    y[0] = x[0]
    y = np.zeros(3)
    y[1] = 2.0 * x[1]
    return y[0] + y[1] + np.sum(np.eye(2) * x[2])


@pytest.mark.parametrize("f", [two_zeros_like, two_filled_in_a_loop,
                               made_in_each_iteration, from_a_helper_twice,
                               same_product_twice, rebound_name])
def test_equal_new_arrays_stay_two_arrays(f):
    x = np.array([2.0, 3.0, -1.5])
    value, g = s2sad.value_and_grad(f)(x)
    assert value == pytest.approx(f(x.copy()), rel=1e-14)
    np.testing.assert_allclose(g, numeric(f, x), rtol=1e-6, atol=1e-8)
    direction = np.array([0.5, -1.0, 2.0])
    out, tangent = s2sad.jvp(f, (x,), (direction,))
    assert out == pytest.approx(f(x.copy()), rel=1e-14)
    assert tangent == pytest.approx(g @ direction, rel=1e-9, abs=1e-12)


# An array with no adjoint of its own (no differentiated value is written
# into it) that the function changes in place after a derivative read it:
# the sweep puts back what each write overwrote before it reaches those
# reads (the optimised gradient read the changed values; found by an
# outside attack).

def weight_changed_after_use(u):
    w = np.ones(2)
    a = np.sum(u * w)
    w[0] = 3.0
    return a * np.sum(u * w)


def mask_grown_in_a_loop(u):
    w = np.zeros(u.shape[0])
    s = 0.0
    for k in range(u.shape[0]):
        w[k] = 1.0
        s = s + np.sum(u * w) ** 2
    return s


def counts_bumped_in_a_loop(u):
    w = np.ones(u.shape[0])
    s = 0.0
    for k in range(3):
        w[k] += 1.0
        s = s + np.sum(u / w) ** 2
    return s


def matrix_refilled_in_a_loop(u):
    M = np.eye(u.shape[0])
    s = 0.0
    for k in range(3):
        M[:] = np.cos(k * np.arange(u.shape[0]))[:, None] * 0.5
        M[k, k] = 2.0
        s = s + np.sum(M @ u) ** 2
    return s


@pytest.mark.parametrize("f", [weight_changed_after_use, mask_grown_in_a_loop,
                               counts_bumped_in_a_loop,
                               matrix_refilled_in_a_loop])
def test_an_array_without_adjoint_changed_after_a_derivative_read_it(f):
    u = np.array([0.5, 2.0, -1.0, 0.7])[:2 if f is weight_changed_after_use
                                        else 4]
    g = s2sad.grad(f)(u)
    assert "runtime.restore(" in s2sad.grad(f).source
    np.testing.assert_allclose(g, numeric(f, u), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g, s2sad.grad(f, optimize=False)(u),
                               rtol=1e-13)
    np.testing.assert_allclose(g, s2sad.vjp(f, u)[1](1.0)[0], rtol=1e-13)
    s2sad.check_grads(f, (u,), modes=("fwd", "rev"))
    s2sad.check_grads(f, (u,), order=2)


# ---- lists built by `.append()` --------------------------------------------

def trajectory_sum(x, n):
    xs = []
    for _ in range(n):
        x = x * 0.97 + 0.1 * math.sin(x)
        xs.append(x)
    return sum(xs) + 0.5 * np.sum(np.array(xs) ** 2)


def last_read_in_loop(x, n):
    xs = [x]
    for _ in range(n):
        xs.append(0.9 * xs[-1] + math.cos(xs[-1]))
    return sum(xs)


def second_last_read_in_loop(x, n):
    xs = [x, x]
    for _ in range(n):
        xs.append(0.9 * xs[-2] + math.cos(xs[-1]))
    return sum(xs)


def item_at_the_step_read_in_loop(x, n):
    xs = [x, x]
    for k in range(n):
        xs.append(0.9 * xs[k] + math.cos(xs[-1]))
    return sum(xs)


def copied_then_extended(x, ys):
    zs = list(ys)
    for y in ys:
        zs.append(x * y)
    return sum(zs) * x


def returned_list(x, n):
    xs = []
    for k in range(n):
        xs.append(x * k)
    return np.sum(np.array(xs) ** 2), xs


def appended_in_branches(x, n):
    xs = [x]
    for k in range(n):
        if k % 2:
            xs.append(x * k)
        else:
            xs.append(math.sin(x) + k)
    return np.prod(np.array(xs))


def autoregression(a, n):
    # (outside attack: 14.8 s at n = 10**4, quadratic, as each append
    # copied the list its items were read from)
    x = [1.0, 0.5]
    for t in range(2, n):
        x.append(a * x[t - 1] + 0.3 * x[t - 2] + math.sin(t))
    return sum(v * v for v in x) / n


def seasonal(alpha, n, m=4):
    level, seas = 1.0, [0.1, -0.2, 0.05, 0.3]
    sse = 0.0
    for t in range(n):
        y = math.sin(0.7 * t) + 1.5
        error = y - (level + seas[t])  # (the item made m steps ago)
        level = level + alpha * error
        seas.append(seas[t] + 0.5 * alpha * error)
        sse = sse + error * error
    return sse


def far_back_and_nested(x, n):
    xs = [x, 2.0 * x, 0.5, x * x, 1.0]
    for t in range(n):
        v = 0.5 * xs[-5] + 0.1 * xs[len(xs) // 2]
        if t % 2:
            xs.append(math.sin(v))
        else:
            xs.append(v * x)
            total = 0.0
            for k in range(len(xs)):  # (after this step's append)
                total = total + xs[k]
            xs.append(0.01 * total)
    return sum(xs)


def read_after_the_steps_append(a, n):
    # (second outside attack: an item read after this step's append, 846
    # ms at 4000 steps: the list's adjoint made anew at each step)
    xs = [1.0]
    s = 0.0
    for t in range(n):
        v = a * xs[-1] + 0.1
        xs.append(v)
        s = s + xs[t] * v
    return s


LISTS = [(trajectory_sum, (0.4, 30)), (last_read_in_loop, (0.3, 12)),
         (second_last_read_in_loop, (0.3, 12)),
         (item_at_the_step_read_in_loop, (0.3, 12)),
         (copied_then_extended, (0.7, [1.0, -2.0, 0.5])),
         (appended_in_branches, (0.8, 7)), (autoregression, (0.4, 20)),
         (seasonal, (0.3, 15)), (far_back_and_nested, (0.6, 9)),
         (read_after_the_steps_append, (0.4, 12))]


def test_a_list_built_in_a_loop_is_appended_to_in_place():
    # read only after the loop: one list, not a copy per append (O(n), not
    # O(n^2))
    built = s2sad.grad(trajectory_sum).source
    assert "runtime.appended_owned(" in built and \
        "runtime.appended(" not in built
    for f in (copied_then_extended, appended_in_branches):
        assert "runtime.appended(" not in s2sad.grad(f).source
    # `xs[-1]` and `xs[-2]` read in the loop are items appended lately,
    # which the loop carries
    for f in (last_read_in_loop, second_last_read_in_loop):
        carried = s2sad.grad(f).source
        assert "runtime.appended_owned(" in carried and \
            "xs_1_last" in carried
    # items at other indices (`xs[k]`, `x[t - 1]`) read before the append:
    # in place too, and the backward sweep takes each item off again when
    # it reaches its append, so that the adjoints of those reads find the
    # list as it was; they add into its adjoint, which the loop owns
    for f in (item_at_the_step_read_in_loop, autoregression, seasonal,
              far_back_and_nested):
        read = s2sad.grad(f).source
        assert "runtime.appended(" not in read and \
            "runtime.appended_in_place(" in read and \
            "runtime.unappended(" in read
    for f in (autoregression, read_after_the_steps_append):
        assert "owned=True" in s2sad.grad(f).source.split(
            "def ")[1].split("reversed(")[1]
    # a jvp's tangents: new lists; a returned list: never changed later
    assert "appended_owned" not in s2sad.show(trajectory_sum, mode="forward")
    grad = s2sad.grad(returned_list, has_aux=True)
    g, xs = grad(0.5, 4)
    assert xs == [0.0, 0.5, 1.0, 1.5] and "appended_owned" not in grad.source


# ---- lists written at an index -------------------------------------------

def filled_list(x, n):
    out = [0.0 for _ in range(n)]
    for i in range(n):
        x = x * 0.97 + 0.1 * math.sin(x)
        out[i] = x
    return sum(out)


def recurrence_in_a_list(x, ys):
    out = [0.0] * len(ys)
    out[0] = x
    for i in range(1, len(ys)):
        out[i] = out[i - 1] * math.sin(x) + ys[i] * out[i - 1] ** 2
    return sum(out)


def written_twice(x, n):
    out = [x, 2.0 * x, 0.5]
    for i in range(n):
        out[i % 3] = out[i % 3] * x + out[(i + 1) % 3]
    return out[0] * out[1] - out[2]


def rows_of_a_list(W, n):
    rows = [np.ones(W.shape[0]) for _ in range(n)]
    for i in range(1, n):
        rows[i] = np.tanh(W @ rows[i - 1])
    return np.sum(rows[-1] ** 2) + 0.5 * np.sum(rows[1])


def american_put(sigma, steps):
    # (outside attack: a binomial tree rolled back in a list, returning
    # its first item: the list was copied at each write, O(n^3), as an
    # item returned was taken for a view of the list)
    u = math.exp(sigma * math.sqrt(1.0 / steps))
    d, p, disc = 1.0 / u, 0.5, 0.999
    values = [max(1.0 - u ** j * d ** (steps - j), 0.0)
              for j in range(steps + 1)]
    for i in range(steps - 1, -1, -1):
        for j in range(i + 1):
            cont = disc * (p * values[j + 1] + (1 - p) * values[j])
            values[j] = max(cont, 1.0 - u ** j * d ** (i - j))
    return values[0]


WRITTEN_LISTS = [(filled_list, (0.4, 25)),
                 (recurrence_in_a_list, (0.3, [0.0, 0.2, -0.1, 0.4, 0.3])),
                 (written_twice, (0.9, 7)), (american_put, (0.25, 8))]


def test_a_list_of_arrays_written_in_place_gives_the_derivatives():
    W = np.random.default_rng(5).standard_normal((3, 3)) * 0.5
    g = s2sad.grad(rows_of_a_list)(W, 4)
    np.testing.assert_allclose(
        g, s2sad.grad(rows_of_a_list, optimize=False)(W, 4), rtol=1e-13)
    s2sad.check_grads(rows_of_a_list, (W, 4), argnums=0)


def test_a_list_written_in_a_loop_is_not_copied_per_item():
    # each write goes into the list itself, and its adjoint's item is
    # zeroed in the object array holding the adjoints (O(1) a step)
    first = s2sad.grad(filled_list).source.split("\ndef ")[0]
    forward, backward = first.split("reversed(")
    assert "runtime.setitem_owned(" in forward and \
        "runtime.setitem(" not in forward
    assert "runtime.cleared(" in backward
    # where an adjoint reads the items, what a write overwrote is kept and
    # put back
    source = s2sad.grad(recurrence_in_a_list).source
    assert "runtime.setitem_in_place(" in source and \
        "runtime.restore(" in source
    # a list an item of which is returned: the item is no view of it
    source = s2sad.grad(american_put).source.split("\ndef ")[0]
    assert "runtime.setitem_in_place(" in source and \
        "runtime.appended_owned(" in source and \
        "runtime.setitem(values" not in source


@pytest.mark.parametrize("f, args", LISTS + WRITTEN_LISTS,
                         ids=lambda v: getattr(v, "__name__", ""))
def test_lists_changed_in_place_give_the_derivatives(f, args):
    kept = [list(a) if isinstance(a, list) else a for a in args]
    value, g = s2sad.value_and_grad(f)(*args)
    assert value == f(*args)
    assert g == pytest.approx(s2sad.grad(f, optimize=False)(*args),
                              rel=1e-13)
    assert list(args) == kept  # (the caller's list unchanged)
    s2sad.check_grads(f, args, argnums=0)
    s2sad.check_grads(f, args, argnums=0, order=2)
    assert s2sad.grad(f)(*args) == g  # (again: nothing left changed)


def binomial_sum(sigma, n):
    u = math.exp(sigma)
    vals = [u ** j for j in range(n + 1)]
    for j in range(n):
        vals[j] = vals[j + 1] + vals[j]
    return vals[0]


def leaves_by_count(x, n):
    vals = [0.0] * (n + 1)
    for j in range(n + 1):
        vals[j] = x * j + math.sin(x * j)
    return sum(vals)


def test_a_gradient_of_a_gradient_of_a_list_built_in_place():
    # the gradient's tape, differentiated again, is read as it was at each
    # append by its adjoints: it is copied there (it raised in grad(grad))
    expected = s2sad.hessian(binomial_sum)(0.2, 3)
    assert s2sad.grad(s2sad.grad(binomial_sum))(0.2, 3) == pytest.approx(
        expected, rel=1e-13)
    s2sad.check_grads(binomial_sum, (0.2, 3), argnums=0, order=2)
    # [0.0] * (n + 1) of an argument n: a repetition
    assert s2sad.grad(leaves_by_count)(0.3, 4) == pytest.approx(
        s2sad.grad(leaves_by_count, optimize=False)(0.3, 4), rel=1e-14)
    s2sad.check_grads(leaves_by_count, (0.3, 4), argnums=0)


# -- what the caller is given is never changed by the backward sweep --------

def aux_in_a_dict(x):
    y = x * 1.0
    y[0] = y[1] * y[2]  # (its adjoint reads the old y[0]: put back in place)
    return np.sum(y ** 2), {"y": y}


def aux_a_view(x):
    y = x * 1.0
    y[0] = y[1] * y[2]
    return np.sum(y ** 2), (y[0:2], y.T)


def aux_after_a_loop(u0):
    u = u0.copy()
    for _ in range(3):
        u[1:-1] = u[1:-1] * u[2:]
    return np.sum(u ** 2), u


@pytest.mark.parametrize("f", [aux_in_a_dict, aux_a_view, aux_after_a_loop])
def test_an_aux_updated_in_place_is_returned_as_the_function_made_it(f):
    """An array the function updates in place and returns with its output
    (as the aux, in a container, or a view of it) is not updated in place
    by the generated code: the backward sweep, putting the overwritten
    values back, would change what the caller is given; nor is a name the
    backward sweep binds again (a loop's) read for it after the sweep."""
    x = np.array([0.25, 0.5, 0.75, 1.0, 1.25, 1.5])
    expected = f(x.copy())[1]
    for derivative in (s2sad.grad(f, has_aux=True),
                       s2sad.value_and_grad(f, has_aux=True)):
        for _ in range(3):
            result = derivative(x)
            aux = result[0][1] if isinstance(result[0], tuple) else \
                result[1]  # (value_and_grad's, grad's)
            _same_tree(aux, expected)
        np.testing.assert_array_equal(x, [0.25, 0.5, 0.75, 1.0, 1.25, 1.5])


def _same_tree(a, b):
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same_tree(a[k], b[k])
    elif isinstance(a, (tuple, list)):
        for p, q in zip(a, b):
            _same_tree(p, q)
    else:
        np.testing.assert_array_equal(a, b)


# -- an array's adjoint made before the loop that adds items' adjoints ------

def spring_chain(x, k=10.0, rest=1.0):
    # (outside attack: each step's `x[i] - x[i - 1]` added its adjoints
    # into a copy of x's whole adjoint, made by the sum after the loop:
    # O(n) a step, 8 to 15 times the function's time, growing with n)
    energy = 0.5 * k * (x[0] - rest) ** 2
    for i in range(1, len(x)):
        stretch = x[i] - x[i - 1] - rest
        energy = energy + 0.5 * k * stretch ** 2
    return energy + 0.1 * np.sum(x)


def test_items_adjoints_go_into_a_copy_the_loop_owns(monkeypatch):
    from s2sad import specialise
    monkeypatch.setattr(specialise, "AT_ONCE", False)
    monkeypatch.setattr(specialise, "CHECKED", None)
    monkeypatch.setattr(specialise, "WORTH", 0)  # (at the second call)
    x = np.cumsum(np.linspace(0.9, 1.3, 12))
    grad = s2sad.grad(spring_chain)
    source = grad.source.split("\ndef ")[0]
    # the adjoint the sum made (which may be another's) copied once, then
    # each step's adjoints added into it in place
    assert "runtime.owned_adjoint(x_bar)" in source and "owned=True" in \
        source
    kept = x.copy()
    g = grad(x)
    np.testing.assert_array_equal(x, kept)
    np.testing.assert_allclose(g, s2sad.grad(spring_chain, optimize=False)(x),
                               rtol=1e-13)
    stretch = np.diff(x) - 1.0
    expected = np.full(12, 0.1)
    expected[0] += 10.0 * (x[0] - 1.0)
    expected[1:] += 10.0 * stretch
    expected[:-1] -= 10.0 * stretch
    np.testing.assert_allclose(g, expected, rtol=1e-12)
    s2sad.check_grads(spring_chain, (x,))
    # specialised to a float64 vector: `x_bar[i] += g`, no call
    for _ in range(3):
        assert np.array_equal(grad(x), g)
    shown = grad.specialised_source
    assert "x_bar[i] += " in shown and "getitem_adjoints(x_bar, x, _t" \
        not in shown


# An item updated in a loop, `x[i] += v` (or `-=`): the adjoint of x goes
# through a chain of item adjoints each step, which the loop owns (copied
# once before it) and changes in place, rather than copying per item.

def springs_of_arrays(k, m):
    n = 5
    x, v = np.zeros(n), np.zeros(n)
    x[0] = 1.0
    for _ in range(30):
        f = np.zeros(n)
        for i in range(n - 1):
            s = k * (x[i + 1] - x[i])
            f[i] += s
            f[i + 1] -= s
        for i in range(n):
            v[i] += 0.01 * f[i] / m
            x[i] += 0.01 * v[i]
    return np.sum(x * x)


def slices_updated(a, b):
    """Overlapping slices updated: the backward sweep reads each slice of
    the adjoint (a copy: a view would change with a later write in place,
    see `runtime.item_adjoint_copy`), then writes its adjoint there."""
    v = np.linspace(0.5, 1.5, 6)
    for i in range(5):
        v[0:3] += a * i
        v[2:5] *= b
    return np.sum(v * v)


@pytest.mark.parametrize("f", [loop_corpus.spring_chain, springs_of_arrays,
                               slices_updated])
def test_items_updated_in_a_loop_change_the_adjoint_the_loop_owns(f):
    args = (1.7, 0.8)
    source = s2sad.grad(f, (0, 1)).source.split("\ndef ")[0]
    backward = source[source.index("_bar = "):]
    assert "runtime.owned_adjoint(" in backward
    assert all("owned=True" in line for line in backward.splitlines()
               if "getitem_adjoints(" in line), backward
    g = s2sad.grad(f, (0, 1))(*args)
    unoptimised = s2sad.grad(f, (0, 1), optimize=False)(*args)
    np.testing.assert_allclose(g, unoptimised, rtol=1e-13)
    s2sad.check_grads(f, args, modes=("fwd", "rev"))
    s2sad.check_grads(f, args, order=2)


def test_what_a_loop_reads_of_an_adjoint_it_changes_is_a_copy():
    from s2sad import runtime
    g = np.arange(6.0)
    part = runtime.item_adjoint_copy(g, slice(1, 4))
    g[1:4] = 0.0
    np.testing.assert_array_equal(part, [1.0, 2.0, 3.0])
    assert runtime.item_adjoint_copy(g, 5) == 5.0
    held = runtime.sequence([1.0, np.ones(2)])
    assert runtime.item_adjoint_copy(held, 1) is held[1]  # (an item: its own)

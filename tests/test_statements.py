"""Python statements, built-ins and containers in differentiated code:
`assert`, `raise`, `with`, `try`, `del`, `global`, f-strings, `print` and
`logging`; generator expressions and dict comprehensions; dict(), sorted,
map, filter, max/min, pow, divmod and the dict methods. Each derivative is
checked against central differences in reverse and forward mode, and at
second order; the value is f's exactly."""

import collections
import contextlib
import dataclasses
import logging
import operator
import time
import warnings

import numpy as np
import pytest

import s2sad
from s2sad import errors

SCALE = 1.5
LOG = logging.getLogger("s2sad.tests")


class Timer:
    """A context manager of the user's that touches no differentiated value."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.perf_counter() - self.start
        return False


Point = collections.namedtuple("Point", ["x", "y"])


@dataclasses.dataclass
class Params:
    w: float
    b: float


# ---- statements ----

def asserts(x):
    assert x > 0, f"x must be positive, got {x:.3f}"
    assert np.all(np.isfinite(x))
    return x * np.sin(x)


def raises_on_bad_input(x):
    if x < 0:
        raise ValueError(f"negative input {x!r}")
    return x ** 3


def raises_on_other_path(x):
    if x > 0:
        return x ** 2 * np.cos(x)
    raise ValueError("not positive")


def raises_in_a_loop(x):
    total = 0.0
    for k in range(3):
        if total > 1e6:
            raise OverflowError("too large")
        total = total + x ** k
    return total


def formats(x):
    y = x * x
    label = f"y={y:.2f} ({x!r}) {'ok'}"
    return y * x + len(label) * 0.0


def with_blocks(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(x)
    with contextlib.nullcontext(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = y * x
    with Timer() as timer:
        w = np.sin(z)
    assert timer.elapsed >= 0.0
    return w + z


def returns_inside_with(x):
    with np.errstate(all="ignore"):
        if x > 0:
            return np.exp(x) * x
        return x * 2.0


def tries(x):
    try:
        y = np.sqrt(x) * x
    except FloatingPointError:
        y = x
    else:
        y = y + x
    finally:
        z = 2.0
    return y * z


def returns_inside_try(x):
    try:
        return np.tanh(x) * x
    finally:
        np.ones(2)


def continues_inside_try(x):
    # the `finally` block runs on `continue` and `break` too
    s = 0.0
    for i in range(4):
        try:
            if i == 1:
                continue
            if i == 3:
                break
            s = s + x * i
        finally:
            s = s + x
    return s


def returns_a_name_finally_rebinds(x):
    # the value returned is taken before the `finally` block runs
    s = x * x
    for i in range(3):
        try:
            if i == 1:
                return s * 2.0
            return s
        finally:
            s = s * 10.0
    return x


def exits_a_with_block_in_a_loop(x):
    # __exit__ on `continue` and `break` too (the error state restored)
    s = x
    for i in range(4):
        with np.errstate(over="ignore"):
            if i == 1:
                continue
            if i == 2:
                break
            s = s * np.exp(x)
    assert np.geterr()["over"] == "warn"
    return s


def iterates_what_it_rebinds(x):
    # Python iterates what `xs` held when the loop started
    xs = np.array([x, 2.0 * x, x * x])
    total = 0.0
    for i, v in enumerate(xs):
        xs = xs[::-1] * 2.0
        for w in xs:
            xs = xs + w
            total = total + v * w * i
    return total


def deletes(x):
    t = x * 2.0
    xs = [x, t, x * t]
    del xs[0]
    d = {"a": x, "b": t}
    del d["a"]
    del t
    return xs[0] * xs[1] + d["b"]


def reads_a_global(x):
    global SCALE
    return SCALE * x * x


def generators(x):
    xs = [x, 2.0 * x, x * x]
    a = sum(v * v for v in xs)
    b = max(v for v in xs if v > 0)
    c = np.array(list(v * 2.0 for v in xs))
    t = tuple(v + 1.0 for v in xs)
    return a + b + np.sum(c) + t[2] + sum(v for v in t)


STATEMENTS = [asserts, raises_on_bad_input, raises_on_other_path,
              raises_in_a_loop, formats, with_blocks, returns_inside_with,
              tries, returns_inside_try, continues_inside_try,
              returns_a_name_finally_rebinds, exits_a_with_block_in_a_loop,
              iterates_what_it_rebinds, deletes, reads_a_global, generators]


# ---- containers and built-ins ----

def dicts(x):
    d = dict(a=x, b=2.0 * x)
    e = dict([("c", x * x)], d=x)
    f = dict(zip(["p", "q"], [x, x ** 3]))
    g = {k: v * v for k, v in d.items()}
    h = dict(g)
    h.update(e, z=np.sin(x))
    h.update(f)
    h.setdefault("a", 100.0)
    s = h.setdefault("new", x * 4.0)
    return sum(h.values()) + s + h.get("a") + h.get("missing", x) + len(
        list(h.keys()))


def dict_views(x):
    d = {"a": x, "b": np.sin(x), "c": x * x}
    items = d.items()
    values = list(d.values())
    keys = sorted(d.keys())
    total = sum(v for _, v in items) + values[1] * values[2]
    for k in keys:
        total = total + d[k] * len(k)
    return total


def sorts(x):
    xs = [x * x, np.sin(x), 1.0 - x, x]
    ys = sorted(xs)
    zs = sorted(xs, key=lambda v: -v, reverse=True)
    d = {"b": x, "a": 2.0 * x}
    first = [d[k] for k in sorted(d)]
    pairs = sorted(d.items(), key=operator.itemgetter(1))
    return ys[0] * 2.0 + zs[-1] + ys[3] * zs[1] + first[0] * 3.0 + pairs[1][1]


def maps_and_filters(x):
    xs = [x, 2.0 * x, -x]
    a = list(map(np.sin, xs))
    b = list(map(lambda u, v: u * v, xs, a))
    c = list(filter(lambda v: v > 0, xs))
    r = reversed(xs)
    total = 0.0
    for k, v in enumerate(r):
        total = total + (k + 1.0) * v
    return sum(a) + sum(b) + sum(c) + total


def enumerate_zip(x):
    xs = [x, x * x, 3.0]
    ys = [np.cos(x), 2.0, x]
    total = 0.0
    for i, (a, b) in enumerate(zip(xs, ys)):
        total = total + (i + 1) * a * b
    return total


def extremes(x):
    a = max(x, 2.0 * x - 1.0, x * x)
    b = min(x, np.cos(x), 0.5)
    xs = [np.sin(x), x * x, 1.0 + x]
    c = max(xs) + min(xs)
    d = max(xs, key=lambda v: -v)
    e = min(abs(v - 1.0) for v in xs)
    return a + b + c + d * 2.0 + e


def arithmetic_builtins(x):
    q, r = divmod(x * 7.0, 2.0)
    p = pow(x, 3) + pow(2.0, x)
    n = int(x * 10 + 0.5) + round(x * 3.0)
    return p + r * x + q + n * x + abs(-x) + float(np.sum(x * x))


def items_of_arrays(x):
    a = np.array(x * 2.0)
    return a.item() * x + float(a) + np.array([x, x * x]).sum().item()


def namedtuples(x):
    p = Point(x, 2.0 * x)
    q = p._replace(y=x * x)
    r = Point(y=np.sin(x), x=1.0)
    return p.x * q.y + q.x + r.y * p.y


def dataclass_values(x):
    p = Params(x, 2.0 * x)
    q = dataclasses.replace(p, b=x * x)
    return p.w * q.b + q.w * p.b


def stored_iterators(x):
    xs = [x, 2.0 * x, x * x]
    pairs = list(zip(xs, [1.0, 2.0, 3.0]))
    numbered = list(enumerate(xs, 1))
    if any(v > 3.0 for v in xs) or x > 0:  # (the first part always runs)
        return sum(p * q for p, q in pairs) + sum(i * v for i, v in numbered)
    return sum((v for v in xs), 1.0) * (
        1.0 if all(v > 0 for v in xs) else x)  # (the test always runs)


def starred_targets(x):
    # (outside attack: `first, *rest = v` was refused) the rest is a list,
    # of a list, a tuple or an array's items, as Python makes it
    first, *rest = [x, 2.0 * x, x * x]
    *init, last = (np.sin(x), x, 3.0)
    a, *middle, b = np.array([x, x ** 3, 2.0, x - 1.0])
    total = 0.0
    for head, *tail in [[x, 1.0, x * x], [2.0 * x, x]]:
        total = total + head * sum(tail)
    empty, *none = [x]
    return first * sum(rest) + last * init[0] + a * b * len(middle) + \
        sum(m * m for m in middle) + total + empty * len(none)


def transposed_by_zip(x):
    # (outside attack: `xs, ys = zip(*pairs)` was refused) zip(*rows), kept
    # or iterated, as many tuples as the shortest row has items
    pairs = [(x, 1.0), (2.0 * x, 3.0), (x * x, -1.0)]
    xs, ys = zip(*pairs)
    total = sum(a * b for a, b in zip(xs, ys)) + xs[2] * len(ys)
    for column in zip(*[[x, x * x, 3.0], [1.0, np.sin(x)]]):
        total = total + column[0] * column[1]
    columns = list(zip(*np.array([[x, 2.0], [3.0, x * x]])))
    return total + columns[0][1] * columns[1][0] + len(list(zip(*[])))


def rows_unpacked(x):
    # (second outside attack: the rows of a 2-D array a starred target or
    # `list(M[1:])` kept crashed the gradient: their adjoints, a list's,
    # were added into the array's as they were)
    M = np.array([[x, 2.0 * x], [x * x, 1.0], [3.0, np.sin(x)]])
    first, *rest = M
    *init, last = M
    rows = list(M[1:])
    return np.sum(first * rest[-1]) + np.sum(init[0] * last) + \
        np.sum(rows[0] ** 2)


def windows_and_columns(x):
    # (second outside attack: `for p, *q in zip(...)` had no rule for zip;
    # `idx, xs = zip(*traj)` and `map(list, zip(*pts))`, unpacked at once,
    # were refused as kept)
    total = 0.0
    for p, *q in zip([x, 2.0, x * x], [1.0, x, 3.0], [x, 0.5, 2.0]):
        total = total + p * sum(q)
    traj, pts = [], []
    s = x
    for t in range(3):
        s = s * 0.9 + 0.1
        traj.append((t, s))
        pts.append((x * t, x * x))
    idx, xs = zip(*traj)
    X, Y = map(list, zip(*pts))
    return total + sum(xs) * len(idx) + sum(X) + sum(Y)


def starred_displays(x):
    # (outside attack: `[*rows]` and `(a, *b)` were refused) a list or tuple
    # display with starred items holds each item of each, in order
    M = np.array([[x, 2.0 * x], [x * x, 1.0]])
    rows = [*M]
    a = [x, np.sin(x)]
    t = (x ** 3, *a, 3.0)
    both = [*a, *t, *[x] * 2]
    return np.sum(rows[0] * rows[1]) + sum(both) * t[1] + len((*t, *a))


def rows_listed_and_multiplied(x):
    # (the second derivative was wrong: the adjoint of a list's adjoint,
    # `list(M)`'s rows stacked, was summed over the rows as if broadcast)
    M = np.array([[x, 2.0 * x], [x * x, 1.0]])
    rows = list(M)
    return np.sum(rows[0] * rows[1])


CONTAINERS = [stored_iterators, dicts, dict_views, sorts, maps_and_filters, enumerate_zip,
              extremes, arithmetic_builtins, items_of_arrays, namedtuples,
              dataclass_values, starred_targets, transposed_by_zip,
              rows_unpacked, windows_and_columns, starred_displays,
              rows_listed_and_multiplied]


@pytest.mark.parametrize("f", STATEMENTS + CONTAINERS,
                         ids=lambda f: f.__name__)
def test_derivatives_by_numbers(f):
    x = 1.3
    value, gradient = s2sad.value_and_grad(f)(x)
    assert value == f(x)
    s2sad.check_grads(f, (x,))
    s2sad.check_grads(s2sad.grad(f), (x,))
    tangent = s2sad.jvp(f, (x,), (1.0,))[1]
    assert np.isclose(tangent, gradient, rtol=1e-12, atol=0.0)


def test_a_dict_unpacked_is_refused_where_it_is_unpacked():
    # (second outside attack: a KeyError from generated code)
    import inspect
    lines, first = inspect.getsourcelines(_unpacks_a_dict)
    line = first + next(i for i, text in enumerate(lines)
                        if "k1, k2 = d" in text)
    for g in (s2sad.grad(_unpacks_a_dict),
              lambda x: s2sad.jvp(_unpacks_a_dict, (x,), (1.0,))):
        with pytest.raises(errors.UnsupportedSyntaxError,
                           match="unpacking a dict, which gives its keys") \
                as info:
            g(1.5)
        assert f"test_statements.py:{line}:" in str(info.value)


def test_a_starred_target_needs_its_other_items_as_python_does():
    def unpacks(v):
        a, *middle, b = v
        return a * b
    for g in (s2sad.grad(unpacks), lambda v: s2sad.jvp(unpacks, (v,), (v,))):
        with pytest.raises(ValueError, match=r"not enough values to unpack "
                           r"\(expected at least 2, got 1\)"):
            g(np.array([1.0]))


def test_raise_and_assert_raise_in_derivative_code():
    for g in (s2sad.grad(raises_on_bad_input),
              s2sad.grad(s2sad.grad(raises_on_bad_input))):
        with pytest.raises(ValueError, match="negative input -1.0"):
            g(-1.0)
    with pytest.raises(AssertionError, match="got -1.000"):
        s2sad.grad(asserts)(-1.0)
    with pytest.raises(ValueError, match="not positive"):
        s2sad.jvp(raises_on_other_path, (-1.0,), (1.0,))


def logs(x):
    y = x * x
    print("y is", y)
    LOG.warning("y=%s", y)
    logging.debug("y=%s", y)
    return np.sin(y)


def test_print_and_logging_run_once_in_the_forward_sweep(
        capsys, caplog, effects_counted):
    caplog.set_level(logging.WARNING, logger="s2sad.tests")
    for g in (s2sad.grad(logs), s2sad.grad(s2sad.grad(logs)),
              lambda x: s2sad.jvp(logs, (x,), (1.0,))):
        capsys.readouterr()
        caplog.clear()
        g(1.5)
        assert capsys.readouterr().out == "y is 2.25\n"
        assert [r.getMessage() for r in caplog.records] == ["y=2.25"]


EXITS = []


class Recorder:
    """A context manager that records each exit."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        EXITS.append(exc)
        return False


def returns_from_recorded_block(x):
    with Recorder():
        if x > 0:
            return np.exp(x) * x
        y = x * 2.0
    return y * 3.0


def test_with_calls_exit_once_on_every_path(effects_counted):
    for x, expected in ((0.5, np.exp(0.5) * 1.5), (-0.5, 6.0)):
        for g in (s2sad.grad(returns_from_recorded_block),
                  s2sad.grad(s2sad.grad(returns_from_recorded_block))):
            EXITS.clear()
            g(x)
            assert EXITS == [(None, None, None)]
        EXITS.clear()
        assert s2sad.grad(returns_from_recorded_block)(x) == pytest.approx(
            expected)


def _bare_raise(x):
    if x < 0:
        raise
    return x


def _assigns_global(x):
    global SCALE
    SCALE = x
    return x


def _iterates_what_it_changes_and_rebinds(x):
    xs = [x, x]
    for v in xs:
        xs[0] = v * 2.0
        xs = [v, v]
    return xs[0]


def _reverses_what_it_changes(x):
    xs = [x, 2.0 * x, 3.0 * x]
    s = 0.0
    for v in reversed(xs):
        s = s * 0.5 + v
        xs[0] = xs[0] + v
    return s


def _deletes_a_slice(x):
    xs = [x, x]
    del xs[1:]
    return xs[0]


def _three_argument_pow(x):
    return pow(int(x), 3, 5) * x


def _max_with_default(x):
    return max([x], default=0.0)


def _generator_in_a_condition(x):
    return sum(v for v in [x]) if x > 0 else x  # (evaluated only if x > 0)


def _unpacks_a_dict(x):
    d = {"a": x, "b": 2.0 * x}
    k1, k2 = d  # (its keys, which s2sad would read by index)
    return d[k1] * d[k2]


def _inserts(x):
    xs = [1.0]
    xs.insert(0, 2.0 * x)
    return xs[0] * xs[1]


def _sets_a_default_inside_an_expression(params, x):
    p = dict(params)
    return p["w"] * x + p.setdefault("c", 3.0) * x


@pytest.mark.parametrize("f, line, words", [
    (_bare_raise, "        raise", "bare `raise`"),
    (_assigns_global, "global SCALE", "global name `SCALE`"),
    (_iterates_what_it_changes_and_rebinds, "for v in xs",
     "both changes `xs`"),
    (_reverses_what_it_changes, "for v in reversed(xs)",
     "which the function changes in place"),
    (_deletes_a_slice, "del xs", "`del` is supported for"),
    (_three_argument_pow, "return pow(", "`pow` with a modulus"),
    (_max_with_default, "return max(", "`default=`"),
    (_generator_in_a_condition, "return sum(",
     "a generator expression in a part of"),
    # (outside attack: "no derivative rule for .setdefault()", though a
    # statement's or an assignment's is supported)
    (_sets_a_default_inside_an_expression, "p.setdefault(",
     "not inside an expression; assign it to a name first"),
    # (second outside attack: advice that went round in a circle)
    (_inserts, "xs.insert(", "make the list anew"),
], ids=lambda c: getattr(c, "__name__", ""))
def test_what_remains_refused_is_located_with_advice(f, line, words):
    import inspect
    lines, first = inspect.getsourcelines(f)
    lineno = first + next(i for i, text in enumerate(lines) if line in text)
    for mode in ("reverse", "forward"):
        with pytest.raises(errors.S2SADError) as info:
            s2sad.show(f, mode=mode)
        assert f"test_statements.py:{lineno}:" in str(info.value)
        assert words in str(info.value)


def _deletes_then_reads(x):
    t = x * 2.0
    del t
    return x + t


def _binds_on_one_branch(x, flag):
    if flag:
        w = x * 2.0
    pair = (x, w)  # (read without arithmetic: nothing else would fail)
    return pair[0] + 1.0


def _reads_what_a_loop_that_did_not_run_binds(x, n):
    for i in range(n):
        y = x * i
    return x * len([y])


def _reads_the_last_iterations_value(x, n):
    s = x
    for i in range(n):
        if i > 0:
            s = s + prev
        prev = x * i
    return s * i


@pytest.mark.parametrize("f, args, line", [
    (_deletes_then_reads, (1.5,), "return x + t"),
    (_binds_on_one_branch, (1.5, False), "pair = (x, w)"),
    (_reads_what_a_loop_that_did_not_run_binds, (1.5, 0),
     "return x * len([y])"),
    (_reads_the_last_iterations_value, (1.5, 0), "return s * i"),
], ids=lambda c: getattr(c, "__name__", ""))
def test_a_name_read_where_a_path_left_it_unbound_raises_as_python(
        f, args, line):
    # Python's UnboundLocalError at the user's line, in both modes, not a
    # value made of what the name held before or of nothing
    import inspect
    with pytest.raises(UnboundLocalError):
        f(*args)
    lines, first = inspect.getsourcelines(f)
    lineno = first + next(i for i, text in enumerate(lines) if line in text)
    where = f"test_statements.py:{lineno}: cannot access local variable"
    with pytest.raises(UnboundLocalError, match=where):
        s2sad.grad(f)(*args)
    with pytest.raises(UnboundLocalError, match=where):
        s2sad.jvp(lambda x: f(x, *args[1:]), (args[0],), (1.0,))


def _none_bound_in_a_loop(x):
    i = 0
    while i < 3:
        cache = None  # (None is a value: the name is bound)
        i += 1
    return x * 5.0 if cache is None else x


def _none_bound_on_one_branch(x, flag):
    if flag:
        y = None
    with contextlib.nullcontext() as unused:  # (`as` binds None)
        z = x * 3.0
    return z * 2.0 if y is None and unused is None else x


def test_a_name_bound_on_the_path_taken_is_read():
    for f, args in ((_binds_on_one_branch, (1.5, True)),
                    (_reads_what_a_loop_that_did_not_run_binds, (1.5, 3)),
                    (_reads_the_last_iterations_value, (1.5, 4)),
                    (_none_bound_in_a_loop, (1.5,)),
                    (_none_bound_on_one_branch, (1.5, True))):
        value, gradient = s2sad.value_and_grad(f)(*args)
        assert value == f(*args)
        s2sad.check_grads(lambda x: f(x, *args[1:]), args[:1])


def updates_from_comprehensions(x):
    d = {"a": x}
    d.update({k + "2": v * 3.0 for k, v in d.items()})
    d.update(**{"c": x * x})
    return d["a2"] * d["c"] + d["a"]


def test_update_from_a_comprehension_and_keywords():
    s2sad.check_grads(updates_from_comprehensions, (0.7,))
    s2sad.check_grads(s2sad.grad(updates_from_comprehensions), (0.7,))


def assigns_into_a_dict_after_looping_over_its_items(x):
    d = {"a": x, "b": x * x}
    total = 0.0
    for k, v in d.items():
        total = total + v
    for v in d.values():
        total = total * v
    d["c"] = total
    return d["c"] + d["a"]


def test_a_loop_over_items_does_not_hold_the_dict():
    f = assigns_into_a_dict_after_looping_over_its_items
    s2sad.check_grads(f, (0.8,))
    s2sad.check_grads(s2sad.grad(f), (0.8,))

"""Helpers that generated code calls. Small, pure, and free of s2sad internals.

Every helper returns a new value and never writes into its arguments, so
generated code never modifies the caller's arrays.
"""

import array
import contextvars
import copy
import dataclasses
import functools
import inspect
import math
import operator
import types
import warnings

import numpy as np

from s2sad import checkpoints, errors


def number_tape():
    """A tape of numbers, 8 bytes each rather than an object each (32
    bytes for a NumPy float64): where specialised code keeps the numbers a
    loop tapes one at a time (see `specialise._numbers_apart`)."""
    return array.array("d")


def float64s_popped(tape, n):
    """The last `n` numbers of a `number_tape`, taken off it, as NumPy
    float64s (in the order they were pushed)."""
    items = tape[-n:]
    del tape[-n:]
    return tuple(map(np.float64, items))


def unbroadcast(g, x):
    """Sum `g` down to the shape of `x`, undoing NumPy broadcasting; and
    keep its real part if x is real (the adjoint of the cast of a real value
    into complex arithmetic)."""
    if g.__class__ is _ndarray is x.__class__ and \
            g.dtype is _FLOAT64 is x.dtype and g.shape == x.shape:
        return g  # float64 arrays of one shape (the commonest case)
    cls = g.__class__
    if cls is float or cls is np.float64 and x.__class__ is float:
        return g  # a number's gradient of a number (an element written)
    if cls is x.__class__ and (cls is np.float64 or cls is np.ndarray and (
            g.dtype.kind == "f" == x.dtype.kind)):
        # the common cases, at once
        return g if cls is np.float64 or g.shape == x.shape \
            else sum_to(g, x.shape)
    if cls is np.ndarray and g.dtype is _FLOAT64 and (
            x.__class__ is np.float64 or x.__class__ is float):
        return float(sum_to(g, ()))  # (summed into a number)
    if isinstance(x, dict) or _is_sequence(x) and _is_sequence(
            g) and len(g) == len(x) or callable(x):
        return g  # the adjoint of a container (or of a container's adjoint,
        # or of a closure: its bound values')
    if x.__class__ is _ndarray and x.dtype.kind == "O" and g.__class__ is \
            _ndarray and g.dtype.kind != "O" and g.ndim and len(g) == len(x):
        return sequence(list(g))  # (a list's adjoint as its rows stacked:
        # `list(M)`'s, of a derivative of a derivative)
    if isinstance(x, (list, tuple)) and (
            _is_sequence(g) or not _broadcasts_to(x, np.shape(g))):
        raise errors.S2SADError(_JOINED)
    g = _real_like(g, x)
    shape = getattr(x, "shape", None)
    if shape is None:  # a Python number, list or tuple
        shape = np.shape(x)
    if getattr(g, "shape", ()) == shape:
        return g
    g = sum_to(g, shape)
    return float(g) if isinstance(x, (float, int)) and not foreign(g) else g


_JOINED = ("`+` joins two lists or tuples here, or `*` repeats one, where "
           "s2sad read arithmetic on numbers (neither side is written as a "
           "list or tuple); join with `list(xs) + ys` or np.concatenate, "
           "repeat with a comprehension or np.tile")


def not_joined(value):
    """Refuse `value`, the result of `+` or `*`, when it is a list or tuple:
    joined or repeated, not the arithmetic s2sad differentiates (forward
    mode's check; reverse mode's is `unbroadcast`'s)."""
    if isinstance(value, (list, tuple)):
        raise errors.S2SADError(_JOINED)


def _broadcasts_to(x, target):
    """Does `x`, a list or tuple read as an array, broadcast to the shape
    `target`?"""
    try:
        return np.broadcast_shapes(np.shape(x), target) == tuple(target)
    except ValueError:
        return False


def _is_complex(v):
    """np.iscomplexobj without its cost for arrays and numbers."""
    dtype = getattr(v, "dtype", None)
    if dtype is not None:
        return dtype.kind == "c"
    return isinstance(v, complex) or (  # a list of ragged arrays too
        isinstance(v, (list, tuple)) and any(map(_is_complex, v)))


def unbroadcast_to(g, shape):
    """`unbroadcast` when only the shape of x was kept (a loop's tape: see
    `shape`)."""
    if type(g) is float or getattr(g, "shape", ()) == shape:
        return g
    if shape.__class__ is Kept:
        return unbroadcast(g, shape.value)
    return sum_to(g, shape)


class Kept:
    """A tuple, list or dict kept whole on a tape where an array would keep
    only its shape: unbroadcast against it depends on what it holds."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def shape(x):
    """What a tape keeps of `x` where the backward sweep only unbroadcasts
    against it (`unbroadcast_to`): the shape of an array or number; a tuple,
    list or dict `Kept` whole, as its adjoint is kept whole when it is one
    too (np.shape of a tuple of ragged items fails)."""
    cls = x.__class__
    if cls is np.ndarray or cls is np.float64:
        return x.shape
    if cls is float or cls is int or cls is complex or cls is bool:
        return ()
    if isinstance(x, (list, tuple, dict)):
        return Kept(x)
    return np.shape(x)


def sum_to(g, shape):
    """Sum the axes broadcasting added to reach `g`'s shape from `shape`."""
    if g.__class__ is _ndarray and g.ndim == 2 and g.dtype is _FLOAT64 \
            and g.size >= 64 and g.flags.c_contiguous:
        # the usual ones (a bias's adjoint, a row-wise max's), at once: what
        # `summed` does for them
        rows, columns = g.shape
        if shape == (rows, 1) and columns != 1 and columns <= 128:
            return (g @ _ones(columns)).reshape(shape)
        if shape == (columns,) and rows != 1:
            return _ones(rows) @ g
    g = as_array(g)
    if not shape and g.ndim:  # every axis, at once (the same sum)
        return np.add.reduce(g, axis=None) if g.__class__ is _ndarray \
            else np.sum(g)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = summed(g, tuple(range(extra)), False)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = summed(g, axes, True)
    return g if g.shape == shape else g.reshape(shape)


def summed(g, axes, keepdims):
    """`np.sum(g, axis=axes, keepdims=keepdims)` of an array and a tuple of
    axes in order. A float64 NumPy array in C order summed over its first
    axes, or over its last ones where they hold at most 128 elements, is
    summed as a product with ones (BLAS): NumPy reduces such axes a row or
    an element at a time, 5 to 25 times slower where the axes kept are
    long (the adjoint of a bias added to a batch: summed over its first
    axis; of `x - x.max(axis=1, keepdims=True)`: over a short last one).
    The terms are added in another order, as accurately: NumPy sums along
    a leading axis one row after another too, and in blocks of 128 along
    the last."""
    if g.__class__ is not _ndarray:
        return np.sum(g, axis=axes, keepdims=keepdims)  # (Dask: no ufuncs)
    shape = g.shape
    first, last = axes[0], axes[-1] + 1
    if g.size >= 64 and g.dtype is _FLOAT64 and last - first == len(
            axes) and (first == 0 or last == len(shape)) and \
            g.flags.c_contiguous:  # (a tiny one: as fast either way)
        size = math.prod(shape[first:last])
        kept = shape[:first] + (1,) * keepdims * len(axes) + shape[last:]
        if first == 0 and last < len(shape):
            return (_ones(size) @ g.reshape(size, -1)).reshape(kept)
        if first > 0 and size <= 128:
            return (g.reshape(-1, size) @ _ones(size)).reshape(kept)
    return np.add.reduce(g, axis=axes, keepdims=keepdims)


def _ones(n):
    """A vector of n ones, read only (kept for lengths up to 4096)."""
    ones = _ONES.get(n)
    if ones is None:
        ones = np.ones(n)
        ones.flags.writeable = False
        if n <= 4096:
            _ONES[n] = ones
    return ones


_ONES = {}


def broadcast_like(g, target):
    """`g` spread over the shape of `target` (the adjoint of unbroadcast)."""
    if isinstance(target, dict) or _is_sequence(target) and _is_sequence(
            g) and len(g) == len(target):
        return g  # the adjoint of a container, as unbroadcast keeps it
    shape = np.shape(target)
    if np.shape(g) == shape:
        return g
    return _spread(g, shape, _float_type(g, target), target)


def unreduce(g, x, axis=None, keepdims=False, where=True):
    """The adjoint of a sum over `axis`: spread `g` back over `x`'s shape
    (zero where `where`, a reduction's mask, is False)."""
    if where is not True:
        return np.where(where, unreduce(g, x, axis, keepdims), 0.0)
    shape = np.shape(x)
    if not shape:
        return g
    if axis is not None and not keepdims:
        g = expand(g, axis)
    if x.__class__ is np.ndarray and not foreign(g):  # the common case
        dtype = x.dtype
        if dtype.kind not in "fc" or not (
                g.__class__ is float or getattr(g, "dtype", None) is dtype):
            dtype = _float_type(g, x)
        out = np.empty(shape, dtype)
        out[...] = g
        return out
    return _spread(g, shape, _float_type(g, x), x)


def expand(g, axis):
    """np.expand_dims(g, axis), without its cost for an array and one axis."""
    if axis.__class__ is int and hasattr(g, "ndim"):
        if axis == -1:  # (the common cases at once)
            return g[..., None]
        if axis == -2 and g.ndim:
            return g[..., None, :]
        ndim = g.ndim + 1
        if -ndim <= axis < ndim:
            return g[(slice(None),) * (axis % ndim) + (None,)]
    return np.expand_dims(g, axis)


def _float_type(g, like):
    """The dtype of an adjoint `g` spread over `like`: a Python-number g takes
    like's precision (float32 stays float32), never an integer type."""
    if isinstance(g, (list, tuple)):  # an array-like: result_type reads
        g = as_array(g)             # a tuple as a dtype
    return np.result_type(g, getattr(like, "dtype", 0.0), 0.0)


def expand_reduced(g, x, axis=None, keepdims=False):
    """`g`, the adjoint of a reduction of x over `axis`, with the reduced axes
    put back as length 1, so it broadcasts against x (unreduce without the
    copy, for adjoints that multiply it by an array shaped like x)."""
    if axis is None or keepdims or np.ndim(g) == 0 or np.ndim(x) == 0:
        return g  # (NumPy reduces a 0-d x over axis 0 or -1 to itself)
    return expand(g, axis)


def reduced_size(x, axis=None, keepdims=False, where=True):
    """How many elements a reduction over `axis` combines (where `where`,
    a mask, is True: then an array shaped like the reduction's result)."""
    if where is not True:
        return np.sum(np.broadcast_to(where, np.shape(x)), axis=axis,
                      keepdims=keepdims)
    if axis is None:
        return size(x)
    shape = np.shape(x)
    axes = axis if isinstance(axis, tuple) else (axis,)
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def accumulated(total, term):
    """`total + term`, written into `total` (an adjoint array the generated
    code owns, in a loop) when the sum has total's shape and dtype."""
    if total.__class__ is np.ndarray and term.__class__ is np.ndarray \
            and term.shape == total.shape and term.dtype == total.dtype:
        return np.add(total, term, out=total)
    if total.__class__ is np.ndarray and total.dtype == object and \
            total.ndim == 1 and term.__class__ is np.ndarray and \
            term.dtype != object and term.shape[:1] == total.shape:
        # a list's adjoint (a nested list used as a matrix, `A @ x`) and
        # an array's: item by item, the list's form kept
        return sequence([accumulated(t, term[i])
                         for i, t in enumerate(total)])
    return total + term


def zeros_like(x):
    """A zero adjoint shaped like `x` (0.0 for Python numbers; for a tuple or
    list, an object array of the items' zeros, as `getitem_adjoint` makes)."""
    cls = x.__class__
    if cls is _ndarray and x.dtype.kind == "f":  # (the common case, at once)
        return np.zeros(x.shape, x.dtype)
    if cls is float or isinstance(x, (float, int)):
        return 0.0
    if cls is Like:  # (what a tape kept of an array)
        return np.zeros(x.shape, x.dtype if np.issubdtype(
            x.dtype, np.inexact) else float)
    if isinstance(x, dict):
        return DictAdjoint({k: zeros_like(v) for k, v in x.items()})
    if fields(x) is not None:
        return _record_zeros(x)
    if _is_sequence(x):
        return sequence([zeros_like(item) for item in x])
    if callable(x):  # a closure: what it binds
        return sequence([zeros_like(item) for item in bound(x)])
    x = as_array(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.inexact) else float
    return zeros(x.shape, dtype, x)


def zero_tangent(x, leaf=zeros_like):
    """A zero tangent shaped like `x` for forward mode: `zeros_like`, but
    a namedtuple's or dataclass's is one of its type, whose fields the
    tangent code reads by name, at any depth. (`leaf`: the zero of a
    number or array.)"""
    if (x.__class__ is float or isinstance(x, (float, int))) and \
            leaf is zeros_like:
        return 0.0
    names = fields(x)
    if names is not None:
        if isinstance(x, tuple):
            return type(x)(*[zero_tangent(item, leaf) for item in x])
        return _with_fields(x, {name: zero_tangent(getattr(x, name), leaf)
                                for name in names})
    if isinstance(x, dict):
        return DictAdjoint({k: zero_tangent(v, leaf) for k, v in x.items()})
    if _is_sequence(x):
        return sequence([zero_tangent(item, leaf) for item in x])
    return leaf(x)


# ---- vector mode ----
# A tangent of vector mode carries a leading axis of k directions: the
# tangent of an array of shape s has shape (k,) + s, that of a number
# shape (k,), and a container holds such tangents. A leading length of 1
# stands for the same tangent in every direction (a zero): NumPy's
# broadcasting spreads it.


def zero_directions(x):
    """A zero tangent of `x` in vector mode: one direction, shared by all
    (of a list or tuple, a list or tuple of its items', as vector mode's
    code builds the tangent of one)."""
    if isinstance(x, (list, tuple)) and fields(x) is None:
        return x.__class__([zero_directions(item) for item in x])
    return zero_tangent(x, _zero_direction)


def _zero_direction(x):
    return _one_direction_of(zeros_like(x))


def _one_direction_of(zero):
    """A zero as a tangent of one direction: the axis of directions on
    each of its arrays (a container's zero, as a closure's, item by
    item)."""
    if zero.__class__ is float:
        return np.zeros(1)
    if zero.__class__ is _ndarray and zero.dtype.kind == "O":
        return sequence([_one_direction_of(item) for item in zero])
    if isinstance(zero, dict):
        return zero.__class__({k: _one_direction_of(v)
                               for k, v in zero.items()})
    return zero[None]


def lifted(t, y):
    """The tangent `t` of an input of an elementwise operation with output
    `y`, with the axes it lacks against y put after its axis of directions
    (where NumPy would put them before it); item by item for the adjoint of
    a container (an object array, whose items NumPy adds item by item)."""
    cls = y.__class__
    if cls is _ndarray and y.dtype.kind != "O":
        return _with_axes(t, y.ndim + 1)
    if cls is np.float64 or cls is float:  # (a number's, at once)
        return _with_axes(t, 1)
    if _is_sequence(t) and _is_sequence(y) and len(t) == len(y) and \
            not isinstance(t, (list, tuple)):
        return sequence([_lifted_item(ti, yi) for ti, yi in zip(t, y)])
    return _with_axes(t, np.ndim(y) + 1)


def _lifted_item(t, y):
    """`lifted` of an item of a container's adjoint; an item that is a
    container itself, item by item, where its tangent may be a number of
    each direction standing for zeros of all its items."""
    if isinstance(y, dict):
        return t
    if _is_sequence(y) and not _is_sequence(t) and getattr(
            t, "dtype", None) is not None and not np.any(t):
        return sequence([_lifted_item(t, item) for item in y])
    return lifted(t, y)


def _with_axes(t, ndim):
    """The tangent `t` with axes of length 1 after its axis of directions
    up to `ndim` axes (a container's, or one with as many, as it is)."""
    extra = ndim - getattr(t, "ndim", ndim)
    if extra <= 0 or t.dtype.kind == "O":  # (or a container's adjoint)
        return t
    return t.reshape(t.shape[:1] + (1,) * extra + t.shape[1:])


def broadcast_directions(t, target):
    """`broadcast_like` in vector mode: `t` spread over target's shape,
    after its axis of directions."""
    cls = target.__class__
    if (cls is float or cls is np.float64) and t.__class__ is _ndarray \
            and t.ndim == 1 and t.dtype.kind != "O":
        return t  # (a number's tangent, at once)
    if (t.__class__ is _ndarray and t.dtype.kind != "O" or
            t.__class__ is Diagonal) and cls is _ndarray:
        shape = target.shape  # (the common cases, at once)
    elif not hasattr(t, "shape") or isinstance(target, dict) or \
            _is_sequence(target) or fields(target) is not None or \
            _is_sequence(t):
        return _exotic(t, broadcast_like, target)  # (containers)
    else:
        shape = np.shape(target)
    if t.shape[1:] == shape:
        return t
    return np.broadcast_to(lifted(t, target), t.shape[:1] + shape).copy()


def array_of_directions(t):
    """`array_of` in vector mode: a list of tangents stacked after their
    axis of directions (a list read as an array)."""
    if not (isinstance(t, (list, tuple)) or t.__class__ is _ndarray and
            t.dtype.kind == "O"):  # (or the object array of a zero's)
        return t
    items = [array_of_directions(i) for i in t]
    k = max((len(i) for i in items), default=1)
    return np.stack([np.broadcast_to(i, (k,) + np.shape(i)[1:])
                     for i in items], axis=1)


def directions(t):
    """The number of directions of a tangent (the length of its leading
    axis, at its first leaf; 1 for one without leaves)."""
    if isinstance(t, dict):
        t = list(t.values())
    elif fields(t) is not None and not isinstance(t, tuple):
        t = [getattr(t, name) for name in fields(t)]
    if _is_sequence(t):
        counts = [directions(i) for i in t if i is not None]
        return max(counts, default=1)
    return 1 if t is None or np.ndim(t) == 0 else len(t)


def direction(t, i):
    """The i-th direction of a tangent of vector mode: a tangent of one
    direction (a number for a number)."""
    if t is None:
        return None
    names = fields(t)
    if names is not None and isinstance(t, tuple):
        return type(t)(*[direction(item, i) for item in t])
    if names is not None:
        return _with_fields(t, {n: direction(getattr(t, n), i)
                                for n in names})
    if isinstance(t, dict):
        return t.__class__({k: direction(v, i) for k, v in t.items()})
    if _is_sequence(t):
        return _sequence_like(t, [direction(item, i) for item in t])
    item = t[i if len(t) > 1 else 0]
    return item.item() if item.__class__ is np.float64 else item


def first_direction(t):
    """`direction(t, 0)`, at once for an array or a Diagonal."""
    if t.__class__ is _ndarray and t.dtype.kind != "O" or \
            t.__class__ is Diagonal:
        return t[0]
    return direction(t, 0)


def stacked_directions(tangents):
    """The tangents of single directions as one tangent of vector mode
    (the inverse of `direction`)."""
    first = tangents[0]
    if first is None:
        return None
    names = fields(first)
    if names is not None and isinstance(first, tuple):
        return type(first)(*[stacked_directions(list(items))
                             for items in zip(*tangents)])
    if names is not None:
        return _with_fields(first, {n: stacked_directions(
            [getattr(t, n) for t in tangents]) for n in names})
    if isinstance(first, dict):
        return first.__class__({k: stacked_directions(
            [t[k] for t in tangents]) for k in first})
    if _is_sequence(first):
        return _sequence_like(first, [stacked_directions(list(items))
                                      for items in zip(*tangents)])
    return np.stack(tangents)


def _sequence_like(like, items):
    """`items` as a list or tuple where `like` is one, else as the object
    array standing for one (`sequence`)."""
    if isinstance(like, (list, tuple)):
        return like.__class__(items)
    return sequence(items)


class Diagonal:
    """The tangents of a vector of n elements along its n unit directions,
    each scaled: direction i holds `values[i]` at element i and zeros
    elsewhere. It is the n x n diagonal matrix, held as its n values, and
    stays one through what keeps it diagonal: products and quotients by
    values of the vector's shape, sums of two, negation, `@`, a sum over
    the vector's axis. Those then cost O(n), not O(n^2). Anything else sees
    the dense matrix, through NumPy's protocols. jacfwd seeds vector mode
    with it (`unit`: all ones, so that `a @ t` is a's transpose itself).
    Where a value multiplied in is not finite, a dense matrix would give
    nan off the diagonal (0 * inf) and this keeps the zeros there, as the
    derivative is."""

    __array_priority__ = 20  # (its operators before an array's)

    def __init__(self, values, unit=False):
        self.values, self.unit = values, unit

    @property
    def shape(self):
        return (len(self.values),) * 2

    ndim = 2

    @property
    def dtype(self):
        return self.values.dtype

    def __len__(self):
        return len(self.values)

    def dense(self):
        n = len(self.values)
        out = np.zeros((n, n), self.values.dtype)
        out.reshape(-1)[::n + 1] = self.values
        return out

    def __array__(self, dtype=None, copy=None):
        out = self.dense()
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, index):
        element = index[1] if isinstance(index, tuple) and len(index) == 2 \
            and index[0] == slice(None) else None  # (in every direction)
        if isinstance(index, (int, np.integer)) or isinstance(
                element, (int, np.integer)):
            i = index if element is None else element
            out = np.zeros(len(self.values), self.values.dtype)
            out[i] = self.values[i]
            return out
        return self.dense()[index]

    def __getattr__(self, name):  # (reshape, T, copy, ...: the matrix's)
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.dense(), name)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs:
            kept = _kept_diagonal(ufunc, inputs, len(self.values))
            if kept is not None:
                return kept
        return getattr(ufunc, method)(*_dense(inputs), **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.sum and len(args) == 1 and kwargs.get("axis") in (
                1, -1, (1,), (-1,)) and set(kwargs) <= {"axis", "keepdims"} \
                and not kwargs.get("keepdims"):
            return self.values.copy()  # (each direction's one element)
        return func(*_dense(args), **dict(zip(kwargs, _dense(
            kwargs.values()))))

    def __matmul__(self, other):
        if np.ndim(other) in (1, 2):
            return _rows_scaled(as_array(other), self.values)
        return np.matmul(self.dense(), other)

    def __rmatmul__(self, other):
        return np.matmul(other, self.dense())


def _as_dtype(a, dtype):
    a = as_array(a)
    return a if a.dtype == dtype else a.astype(dtype)


def _rows_scaled(a, values):
    return a * (values[:, None] if a.ndim == 2 else values)


for _name, _ufunc in (("mul", np.multiply), ("add", np.add),
                      ("sub", np.subtract), ("truediv", np.true_divide)):
    setattr(Diagonal, f"__{_name}__",
            lambda self, other, _u=_ufunc: _u(self, other))
    setattr(Diagonal, f"__r{_name}__",
            lambda self, other, _u=_ufunc: _u(other, self))


def _scaled(diagonal, other, reflected=False, ufunc=np.multiply):
    """`diagonal * other` (`other * diagonal`: reflected; `ufunc`: or
    `diagonal / other`) at once where other is a float or a float64 array
    of the diagonal's length (what `_kept_diagonal` keeps diagonal);
    else through NumPy's protocol."""
    cls = other.__class__
    if cls is float or cls is np.float64 or cls is _ndarray and \
            other.dtype is _FLOAT64 and other.shape == diagonal.values.shape:
        return Diagonal(ufunc(other, diagonal.values) if reflected
                        else ufunc(diagonal.values, other))
    return ufunc(other, diagonal) if reflected else ufunc(diagonal, other)


Diagonal.__mul__ = _scaled
Diagonal.__rmul__ = lambda self, other: _scaled(self, other, True)
Diagonal.__truediv__ = lambda self, other: _scaled(self, other,
                                                    ufunc=np.true_divide)
Diagonal.__neg__ = lambda self: np.negative(self)
Diagonal.__pos__ = lambda self: self


def _dense(values):
    return [v.dense() if v.__class__ is Diagonal else v for v in values]


def _kept_diagonal(ufunc, inputs, n):
    """`ufunc(*inputs)` as a Diagonal where it is one, else None."""
    if len(inputs) == 1 and ufunc in (np.negative, np.positive):
        return Diagonal(ufunc(inputs[0].values))
    if len(inputs) != 2:
        return None
    a, b = inputs
    diagonals = (a.__class__ is Diagonal, b.__class__ is Diagonal)
    if all(diagonals) and ufunc in (np.add, np.subtract, np.multiply):
        return Diagonal(ufunc(a.values, b.values))
    if ufunc is np.multiply or ufunc is np.true_divide and diagonals[0]:
        d, other = (a, b) if diagonals[0] else (b, a)
        if np.shape(other) in ((), (1,), (n,)) and not _is_sequence(other):
            return Diagonal(ufunc(d.values, other) if diagonals[0]
                            else ufunc(other, d.values))
    return None


def after_directions(axis, x):
    """The axes of a tangent of x (axis + 1) for an axis of x (all of
    them for None; a negative one is the same)."""
    if axis is None:
        return tuple(range(1, np.ndim(x) + 1))
    if isinstance(axis, tuple):
        return tuple(after_directions(a, x) for a in axis)
    return axis + 1 if axis >= 0 else axis


def _exotic(t, fn, *args):
    """A tangent of one direction at a time, where NumPy has no form for
    all of them at once."""
    return per_direction(lambda ti: fn(ti, *args), t)


def directions_matmul_a(t, b):
    """The tangent of `a @ b` along the tangents `t` of a (directions
    first)."""
    a_nd, b_nd = t.ndim - 1, np.ndim(b)
    if b_nd == 2 and t.__class__ is Diagonal:  # (row i: v_i b[i])
        b = _as_dtype(b, np.result_type(t.values, b))
        return b if t.unit else _rows_scaled(b, t.values)
    if b_nd <= 2 or a_nd >= 2:
        if b_nd > max(a_nd, 2):  # (b's batch axes after the directions)
            t = t.reshape(t.shape[:1] + (1,) * (b_nd - a_nd) + t.shape[1:])
        return t @ b
    return _exotic(t, np.matmul, b)


def directions_matmul_b(a, t):
    """The tangent of `a @ b` along the tangents `t` of b."""
    a_nd, b_nd = np.ndim(a), t.ndim - 1
    if b_nd == 1 and a_nd <= 2 and t.__class__ is Diagonal:  # (row i:
        # v_i a[:, i]; a view of a along unit directions, as tangents are
        # never changed in place)
        a = _as_dtype(_swap(a) if a_nd == 2 else a,
                      np.result_type(t.values, a))
        return a if t.unit else _rows_scaled(a, t.values)
    if b_nd == 1:
        if a_nd == 1:
            return t @ a
        if a_nd == 2:
            return t @ _swap(a)
        return _exotic(t, lambda ti: a @ ti)
    if a_nd > max(b_nd, 2):  # (a's batch axes after the directions)
        t = t.reshape(t.shape[:1] + (1,) * (a_nd - b_nd) + t.shape[1:])
    return a @ t


def directions_dot_a(t, b):
    """The tangent of `np.dot(a, b)` along the tangents `t` of a."""
    if np.ndim(b) == 0:
        return t * b
    if t.ndim - 1 == 0:  # a number times an array
        return lifted(t, b) * b
    if np.ndim(b) <= 2:
        return directions_matmul_a(t, b)
    return _exotic(t, np.dot, b)


def directions_dot_b(a, t):
    """The tangent of `np.dot(a, b)` along the tangents `t` of b."""
    if np.ndim(a) == 0:
        return a * t
    if t.ndim - 1 == 0:
        return lifted(t, a) * a
    if t.ndim - 1 <= 2 and np.ndim(a) <= 2:
        return directions_matmul_b(a, t)
    return _exotic(t, lambda ti: np.dot(a, ti))


def directions_matmul_adjoint_a(t, a, b):
    """`matmul_adjoint_a(g, a, b)` along the tangents `t` of g."""
    if np.ndim(a) in (1, 2) and np.ndim(b) == 2:
        return t @ _swap(b)
    if np.ndim(a) == 1 and np.ndim(b) == 1 and _float64_operands(
            t, a, b):  # (g * b)
        return _with_axes(t, 2) * b
    return _exotic(t, matmul_adjoint_a, a, b)


def directions_matmul_adjoint_b(t, a, b):
    """`matmul_adjoint_b(g, a, b)` along the tangents `t` of g."""
    if np.ndim(a) == 2 and np.ndim(b) == 2:
        return _swap(a) @ t
    if np.ndim(a) == 2 and np.ndim(b) == 1:
        return t @ a
    if np.ndim(a) == 1 and _float64_operands(t, a, b):
        if b.ndim == 1:  # (g * a)
            return _with_axes(t, 2) * a
        if b.ndim == 2:  # (the outer product of a and g, per direction)
            return a[:, None] * _with_axes(t, 2)[:, None, :]
    return _exotic(t, matmul_adjoint_b, a, b)


def directions_matmul_adjoint_of_a(g, t, b):
    """`matmul_adjoint_b(g, a, b)` along the tangents `t` of a."""
    if np.ndim(b) == 2 and t.ndim == 3:
        return _swap(t) @ g
    if np.ndim(b) == 1 and t.ndim == 3:
        return g @ t
    return _exotic(t, lambda ti: matmul_adjoint_b(g, ti, b))


def directions_matmul_adjoint_of_b(g, a, t):
    """`matmul_adjoint_a(g, a, b)` along the tangents `t` of b."""
    if np.ndim(a) == 2 and t.ndim == 3:
        return g @ _swap(t)
    if np.ndim(a) == 1 and t.ndim == 3:
        return t @ g
    return _exotic(t, lambda ti: matmul_adjoint_a(g, a, ti))


def directions_dot_adjoint_a(t, a, b):
    """`dot_adjoint_a(g, a, b)` along the tangents `t` of g: as matmul's up
    to matrices, once per direction past them or for a number."""
    if 0 < np.ndim(a) <= 2 and 0 < np.ndim(b) <= 2:
        return directions_matmul_adjoint_a(t, a, b)
    return _exotic(t, dot_adjoint_a, a, b)


def directions_dot_adjoint_b(t, a, b):
    """`dot_adjoint_b(g, a, b)` along the tangents `t` of g."""
    if 0 < np.ndim(a) <= 2 and 0 < np.ndim(b) <= 2:
        return directions_matmul_adjoint_b(t, a, b)
    return _exotic(t, dot_adjoint_b, a, b)


def directions_dot_adjoint_of_b(g, a, t):
    """`dot_adjoint_a(g, a, b)` along the tangents `t` of b."""
    if 0 < np.ndim(a) <= 2 and 0 < np.ndim(g) and t.ndim in (2, 3):
        return directions_matmul_adjoint_of_b(g, a, t)
    return _exotic(t, lambda ti: dot_adjoint_a(g, a, ti))


def directions_dot_adjoint_of_a(g, t, b):
    """`dot_adjoint_b(g, a, b)` along the tangents `t` of a."""
    if 0 < np.ndim(b) <= 2 and 0 < np.ndim(g) and t.ndim in (2, 3):
        return directions_matmul_adjoint_of_a(g, t, b)
    return _exotic(t, lambda ti: dot_adjoint_b(g, ti, b))


def _full_directions(t, g):
    """The tangent `t` of g as an array of every direction's whole tangent,
    (k,) + g's shape (t may have axes of length 1 where it is the same);
    None where t or g is not a NumPy array's (a container's, another
    library's)."""
    if not hasattr(t, "shape") or t.dtype.kind == "O" or foreign(t) or \
            _is_sequence(g):
        return None
    shape = (len(t),) + np.shape(g)
    return t if t.shape == shape else np.broadcast_to(
        _with_axes(t, len(shape)), shape)


def unstack_directions(t, g, arrays, axis=0):
    """`unstack(g, arrays, axis)` along the tangents `t` of g: the slices
    along axis + 1, one per stacked array (as unstack's, each of its
    array's kind)."""
    full = _full_directions(t, g)
    if full is None:
        return _exotic(t, unstack, arrays, axis)
    t = full
    if not _is_sequence(arrays):
        return np.moveaxis(t, after_directions(axis, g), 1) if np.ndim(
            arrays) else t
    at = after_directions(axis, g)
    return sequence([unstack_directions(
        np.take(t, i, axis=at), np.take(g, i, axis=axis), a) if axis == 0
        and _is_sequence(a) else as_kind_of(np.take(t, i, axis=at), a)
        for i, a in enumerate(arrays)])


def concatenate_adjoint_directions(t, g, arrays, axis=0):
    """`concatenate_adjoint(g, arrays, axis)` along the tangents `t` of g:
    t cut along axis + 1 into pieces shaped like `arrays` after the
    directions."""
    full = _full_directions(t, g)
    if full is None:
        return _exotic(t, concatenate_adjoint, arrays, axis)
    t = full
    if axis is None:
        t, g, axis = t.reshape(len(t), -1), np.ravel(g), 0
        sizes = [size(a) for a in arrays]
    else:
        sizes = _join_sizes(g, arrays, axis)
    index = [slice(None)] * t.ndim
    at = after_directions(axis, g)
    start, pieces = 0, []
    for n, a in zip(sizes, arrays):
        index[at] = slice(start, start + n)
        pieces.append(as_kind_of(np.reshape(
            t[tuple(index)], (len(t),) + np.shape(a)), a))
        start += n
    if _is_sequence(arrays):
        return sequence(pieces)
    return np.reshape(np.stack(pieces, axis=1), (len(t),) + np.shape(arrays))


def getitem_directions(t, x, index):
    """The tangent of `x[index]`: of an array, `t[:, index]`; of a list,
    tuple or dict, its item (a tangent of vector mode)."""
    if isinstance(x, (list, tuple, dict)) or _is_sequence(t):
        return t[index]
    if t.shape[0] == 1 and np.ndim(t) == 1:  # a number's zero
        return t
    return t[_every_direction(index)]


def _every_direction(index):
    """`index` of an array as the index of its tangent: (slice(None),
    *index)."""
    return (slice(None),) + index if isinstance(index, tuple) \
        else (slice(None), index)


def setitem_directions(t, index, v):
    """The tangent of `setitem(x, index, value)`: t with its entries at
    `index` the value's tangents v, in every direction."""
    if isinstance(t, (list, tuple, dict)) or _is_sequence(t):
        return setitem(t, index, v)
    k = max(len(t), directions(v))
    out = np.empty((k,) + t.shape[1:], np.result_type(t, v))
    out[...] = t
    full = _every_direction(index)
    out[full] = _with_axes(v, out[full].ndim)
    return out


def reshape_directions(t, y, order="C"):
    """The tangent of a reshape to y's shape (np.reshape, np.ravel)."""
    if order != "C":
        return _exotic(t, lambda ti: np.reshape(ti, np.shape(y), order=order))
    return t.reshape(t.shape[:1] + np.shape(y))


def roll_directions(t, shift, axis=None):
    """The tangent of `np.roll(a, shift, axis)` (of the flattened a, for
    axis None)."""
    if axis is None:
        return np.roll(t.reshape(len(t), -1), shift, 1).reshape(t.shape)
    return np.roll(t, shift, after_directions(axis, t[0]))


def cumsum_directions(t, axis=None):
    """The tangent of `np.cumsum(a, axis)` (of the flattened a, for axis
    None)."""
    if axis is None:
        return np.cumsum(t.reshape(len(t), -1), axis=1)
    return np.cumsum(t, axis=after_directions(axis, t[0]))


def joined_directions(join, tangents, axis=0):
    """The tangent of `join(arrays, axis)` (np.concatenate, np.stack) from
    the arrays' tangents, each given every direction (or the tangent of
    one array whose rows are joined)."""
    if not _is_sequence(tangents):
        tangents = [tangents[:, i] for i in range(tangents.shape[1])]
    # (an array written as a list, `[np.sum(x)]`: its items' tangents
    # after the directions)
    tangents = [as_array(array_of_directions(t)) for t in tangents]
    k = max(len(t) for t in tangents)
    tangents = [np.broadcast_to(t, (k,) + t.shape[1:]) for t in tangents]
    if axis is None:  # (np.concatenate of the flattened arrays)
        return join([t.reshape(k, -1) for t in tangents], axis=1)
    return join(tangents, axis=axis + 1 if axis >= 0 else axis)


def transpose_directions(t, axes=None):
    """The tangent of `np.transpose(a, axes)`."""
    n = t.ndim - 1
    if axes is None:
        axes = range(n - 1, -1, -1)
    return np.transpose(t, (0,) + tuple(a % n + 1 for a in axes))


def attribute_directions(t, x, name, cotangent=False):
    """`attribute_tangent` (or, `cotangent`, `attribute_cotangent(t, x,
    name)`) in vector mode: `.T` transposes the axes after the directions;
    `.real` and `.imag` act elementwise; a record's field holds as written
    for its tangent, and goes once per direction into its adjoint."""
    of = attribute_cotangent if cotangent else attribute_tangent
    if cotangent and (fields(x) is not None or not hasattr(t, "ndim")):
        return _exotic(t, of, x, name)
    if name == "T" and fields(x) is None:
        return transpose_directions(t)
    return of(t, x, name)


def unbroadcast_directions(t, x):
    """`unbroadcast(g, x)` along the tangents `t` of g: summed over the
    axes NumPy broadcast x over, after the directions."""
    cls = x.__class__
    if (cls is float or cls is np.float64) and t.__class__ is _ndarray \
            and t.ndim == 1 and t.dtype.kind == "f":
        return t  # (a number's real tangent, at once)
    if not hasattr(t, "shape") or isinstance(x, dict) or _is_sequence(x) \
            or callable(x) or fields(x) is not None:  # (containers)
        return _exotic(t, unbroadcast, x)
    return _sum_directions_to(_real_like(t, x), np.shape(x))


def unbroadcast_to_directions(t, shape):
    """`unbroadcast_to(g, shape)` along the tangents `t` of g."""
    if shape.__class__ is Kept:
        return unbroadcast_directions(t, shape.value)
    if not hasattr(t, "shape"):
        return _exotic(t, unbroadcast_to, shape)
    return _sum_directions_to(t, shape)


def _sum_directions_to(t, shape):
    """`sum_to` after the axis of directions; a number's tangent (fewer
    axes than shape) as it is, as `unbroadcast` keeps a number."""
    if t.shape[1:] == shape or t.ndim - 1 < len(shape):
        return t
    extra = t.ndim - 1 - len(shape)
    if t.__class__ is Diagonal and not shape:
        return t.values.copy()  # (each direction's one element)
    if extra > 0:
        t = summed(t, tuple(range(1, extra + 1)), False)
    axes = tuple(i + 1 for i, n in enumerate(shape)
                 if n == 1 and t.shape[i + 1] != 1)
    if axes:
        t = summed(t, axes, True)
    return t


def getitem_adjoint_directions(t, x, index):
    """`getitem_adjoint(g, x, index)` along the tangents `t` of g: zeros
    shaped like x after the directions, t added at index."""
    if _is_sequence(x) or isinstance(x, dict) or fields(x) is not None or \
            not hasattr(t, "shape"):
        return _exotic(t, getitem_adjoint, x, index)
    shape = np.shape(x)
    out = zeros((len(t),) + shape, _float_type(t, x), t)
    full = _every_direction(index)
    if is_basic_index(index):
        out[full] += _with_axes(t, out[full].ndim)
    else:
        np.add.at(out, full, t)
    return out


def items_directions(t, items):
    """The tangents of the items of `items` (a list, tuple, or an array's
    rows) from its tangent."""
    if _is_sequence(t) or isinstance(t, (list, tuple)):
        return t
    return [t[:, i] for i in range(t.shape[1])]


def unreduce_directions(t, x, axis=None, keepdims=False, where=True):
    """`unreduce(g, x, axis, keepdims, where)` along the tangents `t` of
    g: spread over x's shape after the directions."""
    t = expand_reduced_directions(t, x, axis, keepdims)
    shape = np.shape(x)
    if where is True and t.__class__ is _ndarray:  # (at once)
        out = np.empty(t.shape[:1] + shape, t.dtype)
        out[...] = t
        return out
    out = np.broadcast_to(t, t.shape[:1] + shape)
    if where is not True:
        return np.where(where, out, 0.0)
    return out.copy()


def expand_reduced_directions(t, x, axis=None, keepdims=False):
    """`expand_reduced(g, x, axis, keepdims)` along the tangents `t` of g."""
    n = np.ndim(x)
    if keepdims or n == 0:
        return t
    if axis is None:  # (a number per direction)
        return t.reshape(t.shape[:1] + (1,) * n)
    return np.expand_dims(t, after_directions(axis, x))


def gradient_directions(t, x):
    """`gradient(g, x)` along the tangents `t` of g."""
    if isinstance(x, (np.ndarray, float, int, np.number)) and not \
            _is_sequence(t):
        t = _real_like(t, x)
        return np.array(t, dtype=np.result_type(t, float))
    return _exotic(t, gradient, x)


def jvp_per_direction(jvp, primals, tangents):
    """A user's jvp of one direction (a custom_vjp's `jvp(primals,
    tangents)`) in vector mode: run once per direction."""
    k = directions(tangents)
    out = [jvp(primals, direction(tangents, i)) for i in range(k)]
    return out[0][0], stacked_directions([t for _, t in out])


def per_direction(template, *tangents):
    """A tangent template without a vector form, run once per direction:
    `template` takes one direction of each of `tangents` and gives the
    tangent of that direction."""
    k = max(directions(t) for t in tangents)
    return stacked_directions([template(*[direction(t, i) for t in tangents])
                               for i in range(k)])


_FLOAT64 = np.dtype(float)
_ndarray = np.ndarray

# ---- arrays of other libraries ----
# CuPy, Dask and other libraries answer NumPy's functions for their arrays
# (`__array_function__`, `__array_ufunc__`), so generated code that calls
# `np.sin(x)` runs on them. The helpers below keep it so: they never turn
# such an array into a NumPy array, and build new arrays with the library
# of the arrays they are made for (`np.zeros_like(x, shape=...)`).


def foreign(x):
    """Is `x` an array of another library than NumPy that speaks NumPy's
    protocols (a CuPy or Dask array)? (NumPy's scalars do not.)"""
    return x.__class__ is not _ndarray and hasattr(
        x, "__array_function__") and hasattr(x, "shape")


def copy_of(x, order="K", subok=False):
    """`np.copy(x, order, subok)`, but an array of another library is
    copied by its own `.copy()` (Dask has no `np.copy`)."""
    if isinstance(x, dict):  # (the tangent of a dict's `.copy()`)
        return dict(x)
    return x.copy() if foreign(x) else np.copy(x, order, subok)


def size(x):
    """np.size(x), from x's shape (Dask warns on np.size)."""
    return x.size if x.__class__ is _ndarray else math.prod(np.shape(x))


def as_array(x, dtype=None):
    """`np.asarray(x, dtype)`, but an array of another library stays one
    (cast to `dtype`), and a list or tuple holding such arrays is stacked
    by that library."""
    if x.__class__ is _ndarray and (dtype is None or x.dtype == dtype):
        return x
    if foreign(x):
        return x if dtype is None else x.astype(dtype)
    if isinstance(x, (list, tuple)) and any(map(_holds_foreign, x)):
        return np.stack([as_array(item, dtype) for item in x])
    return np.asarray(x, dtype)


def array_of(x):
    """A list or tuple as an array (`as_array`), anything else as it is:
    generated code reads an operand that may be a list this way where it
    does arithmetic on it (a Python number stays one, so it mixes with any
    library's arrays as NumPy's rules for Python numbers say)."""
    if isinstance(x, (list, tuple)):
        return as_array(x)
    return x


def _holds_foreign(x):
    return foreign(x) or isinstance(x, (list, tuple)) and any(
        map(_holds_foreign, x))


def library(*values):
    """The first array of another library among `values` (a list or tuple:
    its first item's), else None: the `like=` argument (NEP 35) that makes
    `np.eye(n, like=runtime.library(x))`, `np.arange`, `np.ones`... build
    their constant in the library of x's arrays (NumPy's for NumPy's)."""
    for x in values:
        if x.__class__ is _ndarray:
            continue
        if foreign(x):
            return x
        if isinstance(x, (list, tuple)) and x:
            found = library(x[0])
            if found is not None:
                return found
    return None


def zeros(shape, dtype=float, like=None):
    """`np.zeros(shape, dtype)` of the library of `like`'s arrays (NumPy's
    for numbers, lists and `Like`s)."""
    if like is None or like.__class__ is _ndarray or not foreign(like):
        return np.zeros(shape, dtype)
    return np.zeros_like(like, dtype=dtype, shape=shape)


def array_like(x, like):
    """`x`, a number or a NumPy array (an operand, or a constant NumPy
    computed: an index array, a mask), as an array of the library of
    `like` when that is another library's (`cupy.asarray` copies it to the
    GPU; np.ravel(2.0) would make a NumPy array that then meets like's
    arrays); x itself otherwise (like None or NumPy's, or x already
    another library's)."""
    if like is None or like.__class__ is _ndarray or foreign(x) or \
            not foreign(like):
        return x
    return np.asarray(x, like=like)


def eye(n, m=None, k=0, like=None):
    """np.eye(n, m, k) in the library of `like`'s arrays (Dask's np.eye
    refuses `like=`: it is made by NumPy and given to the library)."""
    return array_like(np.eye(n, m, k), like)


def _spread(g, shape, dtype, like):
    """A new array of `shape` and `dtype` filled with `g` broadcast: of g's
    library, or of like's when g is a number."""
    if foreign(g):
        return np.broadcast_to(g, shape).astype(dtype)
    if foreign(like):  # (g, a reduced adjoint, moved there, then spread)
        if not isinstance(g, _ndarray):
            return np.full_like(like, g, dtype=dtype, shape=shape)
        return np.broadcast_to(array_like(g, like), shape).astype(dtype)
    return np.array(np.broadcast_to(g, shape), dtype=dtype)


def gradient(g, x):
    """The derivative with respect to `x` as s2sad returns it: in x's
    structure, type and shape, in x's floating dtype (float64 for integers),
    real for a real x, and never sharing memory with x."""
    if x.__class__ is float and g.__class__ is float:
        return g
    if _is_plain(g, x):
        return g.copy() if _memory(g) is _memory(x) else g
    return gradients((g,), (x,))[0]


def _adjoint_dtype(*values):
    """np.result_type(*values, 0.0), at once for float64 arrays and floats."""
    for value in values:
        if value.__class__ is not float and \
                getattr(value, "dtype", None) is not _FLOAT64:
            return np.result_type(*values, 0.0)
    return _FLOAT64


def _is_plain(g, x):
    """Is `g` already an array as s2sad returns the gradient of the array
    `x` (its class, shape and dtype)? Then only its memory may need a copy."""
    if x.__class__ is not np.ndarray or g.__class__ is not np.ndarray or \
            g.shape != x.shape:
        return False
    kind = x.dtype.kind
    if kind in "fc":
        return g.dtype is x.dtype or g.dtype == x.dtype
    return g.dtype is _FLOAT64 and kind in "iub"  # integers: float64


def gradients(gs, xs, others=()):
    """`gradient` of each of `gs` for each of `xs`; none of the results
    shares memory with another, with any of `xs` or with `others` (the
    cotangents a vjp was given)."""
    # floats and arrays as returned (the common case, at once): only their
    # memory is checked
    held = set()
    for x in xs:
        if x.__class__ is np.ndarray:
            held.add(id(x) if x.base is None else id(_memory(x)))
    if others:
        held.update(id(_memory(a)) for a in _arrays(others))
    out = []
    for g, x in zip(gs, xs):
        if g.__class__ is np.ndarray:
            if x.__class__ is not np.ndarray or g.shape != x.shape or (
                    (g.dtype is not _FLOAT64 or x.dtype is not _FLOAT64)
                    and not _is_plain(g, x)):
                break
            memory = id(g) if g.base is None else id(_memory(g))
            if memory in held:
                g = g.copy()
                memory = id(g)
            held.add(memory)
        elif g.__class__ is not float or x.__class__ is not float:
            break
        out.append(g)
    else:
        return tuple(out)
    held = {id(_memory(a)) for a in _arrays((xs, others))}
    return tuple(_unshared(_like(g, x), held) for g, x in zip(gs, xs))


def tangents(t, value, others=()):
    """A jvp's tangent `t` of the output `value` as s2sad returns it: in the
    output's structure, type and shape (zeros where it does not depend on
    the inputs, or holds integers), real for a real output, and sharing no
    memory with `others` (the primals and their tangents)."""
    if t.__class__ is float and value.__class__ is float:
        return t  # (a number: the common case of a compiled jvp)
    if t.__class__ is np.ndarray is value.__class__ and \
            t.dtype is value.dtype and t.shape == value.shape and \
            value.dtype.kind in "fc":
        # an array of the output's own kind (the common case): only its
        # memory is checked, the others read when they are flat
        flat = _flat_arrays(others)
        if flat is not None:
            memory = _memory(t)
            if memory is _memory(value) or any(
                    memory is _memory(a) for a in flat):
                return t.copy()
            return t
    held = {id(_memory(a)) for a in _arrays((value, others))}
    return _unshared(_like(_tangent_zeros(t, value), value), held)


def _flat_arrays(groups):
    """The arrays of `groups`, a tuple of tuples of arrays, numbers and
    Nones (a jvp's primals and tangents); None if anything else is in it."""
    out = []
    for group in groups:
        for a in group:
            if a.__class__ is np.ndarray:
                out.append(a)
            elif a is not None and a.__class__ not in _NUMBER_CLASSES:
                return None
    return out


_NUMBER_CLASSES = frozenset({float, int, bool, complex, np.float64})


def _tangent_zeros(t, value):
    if _is_dataclass(value):
        given = _is_dataclass(t) or isinstance(t, dict)  # (else zeros)
        return _with_fields(value, {
            name: _tangent_zeros(_field(t, name) if given else None,
                                 getattr(value, name))
            for name in fields(value)})
    if isinstance(value, dict):
        return {k: _tangent_zeros(t[k] if isinstance(t, dict) and k in t
                                  else 0.0, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if not isinstance(t, (list, tuple, np.ndarray)) or \
                len(t) != len(value):
            t = [0.0] * len(value)
        return [_tangent_zeros(ti, vi) for ti, vi in zip(t, value)]
    if t is None or isinstance(value, (bool, int, np.integer, np.bool_)) or \
            getattr(getattr(value, "dtype", None), "kind", "f") in "biu":
        return zeros(np.shape(value), like=value) if np.ndim(value) else 0.0
    return t


def check_cotangent(cotangent, value, f):
    """A vjp's cotangent must be shaped like the output of `f` it stands
    for."""
    cls = cotangent.__class__
    if (cls is float or cls is np.float64) and (
            value.__class__ is float or value.__class__ is np.float64) or \
            cls is np.ndarray and value.__class__ is np.ndarray and \
            cotangent.shape == value.shape and (
                cotangent.dtype.kind == "f" or value.dtype.kind == "c"):
        return  # (real numbers, or arrays of the output's shape, at once)
    name = getattr(f, "__qualname__", None) or type(f).__name__
    if isinstance(value, (list, tuple, dict)):
        expected = dict if isinstance(value, dict) else (list, tuple)
        if not isinstance(cotangent, expected) or \
                len(cotangent) != len(value):
            raise errors.GradientShapeError(
                f"the cotangent given to the vjp of {name} must have the "
                f"structure of its output (a {type(value).__name__} of "
                f"{len(value)}), got {type(cotangent).__name__}")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            check_cotangent(cotangent[k], v, f)
        return
    shape, given = np.shape(value), np.shape(cotangent)
    if given != shape:
        raise errors.GradientShapeError(
            f"the cotangent given to the vjp of {name} has shape {given}; "
            f"it must have the output's shape {shape}")
    if _is_complex(cotangent) and not _is_complex(value):
        raise errors.GradientShapeError(
            f"the cotangent given to the vjp of {name} is complex but its "
            "output is real; give a real cotangent")


def ungradients(g, gs):
    """The adjoint of `gradients` with respect to `gs`."""
    return sequence([unbroadcast(gi, item) for gi, item in zip(g, gs)])


def _like(g, x):
    cls = x.__class__
    if cls is float or cls is int or cls is bool:
        return g if g.__class__ is float else np.real(g) if foreign(
            g) else float(np.real(g))
    if cls is complex:
        return complex(g)
    if isinstance(x, dict):
        return {k: _like(g[k], v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        items = [_like(gi, xi) for gi, xi in zip(g, x)]
        if isinstance(x, list):
            return items
        return cls(*items) if hasattr(x, "_fields") else tuple(items)
    if _is_dataclass(x):
        return _with_fields(x, {name: _like(_field(g, name), getattr(x, name))
                                for name in fields(x)})
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return g
    if dtype.kind not in "fc":
        dtype = np.dtype(float)
    if dtype.kind == "f" and _is_complex(g):
        g = np.real(g)
    if isinstance(x, np.generic):  # (a lazy 0-d array stays one)
        return g.astype(dtype) if foreign(g) else dtype.type(g)
    if getattr(g, "dtype", None) == object and len(g) == len(x):
        # an adjoint of rows, item by item
        g = np.array([_like(gi, xi) for gi, xi in zip(g, x)], dtype)
    if g.__class__ is not x.__class__ or g.shape != x.shape:
        # (a number for an array, or a size-1 array's gradient)
        g = _spread(g, x.shape, dtype, x)
    elif g.dtype != dtype:
        g = g.astype(dtype)
    return g


def _is_dataclass(x):
    """Is x a dataclass instance (a record that is not a namedtuple)?"""
    return not isinstance(x, (type, tuple)) and dataclasses.is_dataclass(x)


def _field(g, name):
    """The field `name` of a dataclass's gradient or tangent `g`: a
    dataclass of its type, or a dict (DictAdjoint) by field name."""
    return getattr(g, name) if _is_dataclass(g) else g[name]


def _with_fields(x, values):
    """A copy of the dataclass instance x holding `values` (field name ->
    value); its __init__ and __post_init__ are not run again, and a frozen
    one is copied all the same."""
    out = copy.copy(x)
    for name, value in values.items():
        object.__setattr__(out, name, value)
    return out


def _arrays(tree):
    """The arrays in a structure of tuples, lists, dicts and dataclasses."""
    if isinstance(tree, np.ndarray):
        yield tree
    elif _is_dataclass(tree):
        for name in fields(tree):
            yield from _arrays(getattr(tree, name))
    elif isinstance(tree, (list, tuple)):
        for item in tree:
            yield from _arrays(item)
    elif isinstance(tree, dict):
        for item in tree.values():
            yield from _arrays(item)


def _memory(a):
    """The object whose memory the array `a` reads (the end of its chain of
    bases): two arrays that share memory have the same."""
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return a


def _unshared(g, held):
    """`g`, its arrays copied where they may share memory with `held` (the
    ids of the memory of the arrays so far, which g's is added to)."""
    if isinstance(g, np.ndarray):
        memory = id(_memory(g))
        if memory in held:
            g = g.copy()
            memory = id(g)
        held.add(memory)
        return g
    if isinstance(g, dict):
        return {k: _unshared(v, held) for k, v in g.items()}
    if isinstance(g, (list, tuple)):
        items = [_unshared(v, held) for v in g]
        if isinstance(g, list):
            return items
        return type(g)(*items) if hasattr(g, "_fields") else tuple(items)
    return g


def bit_or(a, b):
    """`a | b`, where either may be a dict: dicts are refused (see
    `_refuse_merge`)."""
    if isinstance(a, dict) or isinstance(b, dict):
        _refuse_merge("`|` of dicts", "m = dict(d)` then `m.update(e)")
    return a | b


def _refuse_merge(what, instead):
    raise errors.UnsupportedSyntaxError(
        f"{what} is not supported: s2sad would give the values it merges no "
        f"derivative; write `{instead}`")


def _updating(op, symbol):
    """The helper generated code calls for `a <symbol>= b`: what Python
    leaves in `a`, as a new value. A number (any type without the in-place
    method) gets `a <symbol> b`, as in Python; an array or list is updated in
    a copy, so the result keeps the array's dtype and shape and NumPy's
    casting and broadcasting errors are raised where Python raises them."""
    name = f"i{op.__name__.rstrip('_')}"
    in_place = getattr(operator, name)
    method = f"__{name}__"

    def update(a, b):
        if op is operator.or_ and isinstance(a, dict):
            _refuse_merge("`|=` of a dict", "d.update(e)")
        if a.__class__ is _ndarray:  # (the common case, at once)
            out = op(a, b)
            if out.__class__ is _ndarray and out.dtype is a.dtype and \
                    out.shape == a.shape:
                return out
            return in_place(a.copy(), b)  # (cast or broadcast as Python)
        if a.__class__ is float or not hasattr(type(a), method):
            return op(a, b)
        if isinstance(a, np.ndarray):
            out = op(a, b)  # the same values when nothing is cast
            if out.__class__ is a.__class__ and out.dtype == a.dtype \
                    and out.shape == a.shape:
                return out
            out = a.copy()
        else:
            out = copy.copy(a)
        return in_place(out, b)
    update.__name__ = update.__qualname__ = name
    update.__doc__ = (f"`a {symbol}= b` without changing `a` (see "
                      "`_updating`).")
    return update


iadd = _updating(operator.add, "+")
isub = _updating(operator.sub, "-")
imul = _updating(operator.mul, "*")
itruediv = _updating(operator.truediv, "/")
ifloordiv = _updating(operator.floordiv, "//")
imod = _updating(operator.mod, "%")
ipow = _updating(operator.pow, "**")
imatmul = _updating(operator.matmul, "@")
iand = _updating(operator.and_, "&")
ior = _updating(operator.or_, "|")
ixor = _updating(operator.xor, "^")
ilshift = _updating(operator.lshift, "<<")
irshift = _updating(operator.rshift, ">>")


def iterable(seq):
    """What a `for` loop indexes: a list, tuple, array, string or range as
    it is; anything else (a dict: its keys; a set, an iterator) as the list
    of what iterating it gives; a checkpointed loop's sequence."""
    if isinstance(seq, (list, tuple, np.ndarray, str, range)) or foreign(
            seq):
        return seq
    if seq.__class__ is checkpoints.Checkpointed:
        return iterable(seq.iterable)
    return list(seq)


def keys(mapping):
    """The keys of a dict, as a list (a loop over `d.items()` reads
    `d[key]` for each)."""
    return list(mapping)


def iterable_adjoint(g, seq):
    """The adjoint of `iterable`: g for a sequence; a dict's keys have
    none."""
    if seq.__class__ is checkpoints.Checkpointed:
        seq = seq.iterable
    if seq.__class__ is _ndarray and seq.dtype != object and \
            g.__class__ is _ndarray and g.dtype == object:
        return _rows_stacked(g, seq)  # (`list(M)`: rows, one array again)
    if isinstance(seq, (list, tuple, np.ndarray, str, range)) or foreign(
            seq):
        return g
    if isinstance(seq, dict):
        return zeros_like(seq)
    raise errors.UnsupportedCallError(
        f"a loop over a {type(seq).__name__} carries differentiated values, "
        "which s2sad does not follow through it; loop over a list of them")


def _rows_stacked(g, array):
    """The adjoints `g` of an array's items along its first axis (an object
    array, a list's adjoint: rows, or 0.0 for those nothing read) as one
    array of the array's shape."""
    kinds = {np.asarray(item).dtype for item in g}  # (a few, at most)
    out = np.zeros(array.shape, np.result_type(*kinds, _float_type(
        0.0, array)))
    for i, item in enumerate(g):
        out[i] = item
    return out


def raised(exception, cause=None):
    """`raise exception [from cause]`, as a call (what a `raise` or a
    failed `assert` in a differentiated function becomes)."""
    if cause is not None:
        raise exception from cause
    raise exception


def is_mapping(value):
    """Does `dict(value)` read `value` as a mapping (rather than pairs)?"""
    return hasattr(value, "keys")


def sort_order(items, key=None, reverse=False):
    """The indices of `items` in the order `sorted(items, key=key,
    reverse=reverse)` puts them (stable, as sorted)."""
    return sorted(range(len(items)), reverse=reverse,
                  key=(lambda i: items[i]) if key is None
                  else (lambda i: key(items[i])))


def zip_length(rows):
    """How many tuples `zip(*rows)` gives: the length of the shortest row
    (none of no rows)."""
    return min(map(len, rows)) if len(rows) else 0


def max_index(items, key=None):
    """The index of the item `max(items, key=key)` gives (the first of
    equal ones, as max)."""
    return _extreme_index(items, key, operator.gt, "max")


def min_index(items, key=None):
    """The index of the item `min(items, key=key)` gives."""
    return _extreme_index(items, key, operator.lt, "min")


def _extreme_index(items, key, better, name):
    if len(items) == 0:
        raise ValueError(f"{name}() iterable argument is empty")
    best, best_key = 0, items[0] if key is None else key(items[0])
    for i in range(1, len(items)):
        value = items[i] if key is None else key(items[i])
        if better(value, best_key):
            best, best_key = i, value
    return best


def iterable_tangent(t, seq):
    """The tangent of `iterable(seq)` given seq's tangent t (the transpose
    of `iterable_adjoint`): t for a sequence; a dict's keys have zeros."""
    if seq.__class__ is checkpoints.Checkpointed:
        seq = seq.iterable
    if isinstance(seq, dict):
        return zeros_like(list(seq))
    return iterable_adjoint(t, seq)


def revolve(loop, sequence, state):
    """The schedule of a checkpointed loop (a `checkpoints.Checkpointed`)
    over `sequence`, what the loop indexes, carrying `state` (a tuple of
    the values it starts from; see `checkpoints.Revolve`)."""
    if loop.__class__ is not checkpoints.Checkpointed:
        raise errors.UnsupportedCallError(
            f"a checkpointed loop iterates s2sad.checkpointed(...) itself, "
            f"got a {type(loop).__name__}")
    return checkpoints.Revolve(loop, sequence, state)


def finished(schedule, state, steps=None):
    """Note the state a checkpointed loop ended with, after `steps` steps
    (by default the schedule's), which its last steps must give again when
    the backward sweep runs them (see `replayed`)."""
    schedule.seen[schedule.steps if steps is None else steps] = \
        _fingerprint(state)


def replayed(schedule, end, state, where):
    """After the backward sweep ran a checkpointed loop's steps up to
    `end` again, with the tape: where a snapshot was taken (or the loop
    ended), they must have given the state it held. They do not when a
    step draws random numbers (or reads anything else that changes from
    one run to the next); its gradient would be wrong, so it is refused.
    Every snapshot's step is the end of one such run. `where`:
    "file:line" of the loop."""
    seen = schedule.seen.pop(end, None)
    if seen is not None and not _same(seen, _fingerprint(state)):
        raise errors.UnsupportedCallError(
            f"{where}: the steps of this checkpointed loop gave different "
            "values when the backward sweep ran them again from a snapshot "
            "(random numbers drawn inside the loop, or values read from "
            "something the loop changes): a checkpointed loop must compute "
            "the same steps each time. Draw the random numbers before the "
            "loop (`noise = rng.standard_normal(n)`) and read `noise[t]` "
            "in it, or do not checkpoint this loop")


def _fingerprint(state):
    """A few numbers that tell a loop's state from another (its floats;
    an array's sum, first and last items), to compare runs by. Of an array
    of another library (CuPy, Dask), only the shape: its numbers would have
    to be computed, or copied from the GPU, at every snapshot."""
    if isinstance(state, (list, tuple)):
        return tuple(map(_fingerprint, state))
    if isinstance(state, dict):
        return tuple((k, _fingerprint(v)) for k, v in state.items())
    cls = state.__class__
    if cls is float or cls is int or cls is complex:
        return state
    dtype = getattr(state, "dtype", None)
    if dtype is not None and dtype.kind in "fciub":
        shape = tuple(state.shape)
        if foreign(state) or not getattr(state, "size", 0):
            return shape
        flat = state.reshape(-1)
        return shape + (complex(flat.sum()), complex(flat[0]),
                        complex(flat[-1]))
    return None


# ---- `s2sad.checkpoint(fn, save="products")`: the products fn computes
# going forward (`a @ b` in its own body, which its derivative computes as
# `saved_product(a, b)`) are kept, and given again, not computed, when the
# backward sweep runs fn's forward sweep again.

_PRODUCTS = contextvars.ContextVar("s2sad_products", default=None)


class Products:
    """The products one call of a checkpointed function computed, in order:
    recorded by its first forward sweep, replayed by its second."""
    __slots__ = ("values", "operands", "replaying", "next", "token")

    def __init__(self, recorded=None):
        self.replaying = recorded is not None
        self.values = [] if recorded is None else recorded.values
        # fingerprints of each product's operands (see `_fingerprint`),
        # checked when it is replayed: a product given back must be the
        # product of the operands the recomputation reached
        self.operands = [] if recorded is None else recorded.operands
        self.next = 0
        self.token = _PRODUCTS.set(self)


def record_products():
    """Start keeping the products a checkpointed function computes."""
    return Products()


def replay_products(recorded):
    """Start giving back the products `recorded` kept, in their order."""
    return Products(recorded)


def stop_products(products):
    """Stop recording or replaying (`products`, as record_ or
    replay_products gave it)."""
    _PRODUCTS.reset(products.token)
    products.token = None


def saved_product(a, b):
    """`a @ b`, or while a checkpointed function's forward sweep runs again,
    the value it had the first time."""
    products = _PRODUCTS.get()
    if products is None:
        return a @ b
    if products.replaying:
        k = products.next
        products.next += 1
        if not _same(products.operands[k], _fingerprint((a, b))):
            raise errors.UnsupportedCallError(
                "a function of s2sad.checkpoint(..., save=\"products\") "
                "reached a matrix product with other operands when the "
                "backward sweep ran it again (random numbers drawn inside "
                "it, or values read from something that changed since): it "
                "must compute the same each time. Draw the random numbers "
                "outside it and pass them as an argument, or do not "
                "checkpoint it")
        return products.values[k]
    value = a @ b
    products.values.append(value)
    products.operands.append(_fingerprint((a, b)))
    return value


def recomputed(before, value):
    """A call of `s2sad.checkpoint(fn)` run again by the backward sweep
    must give the value it gave (see `replayed`)."""
    if not _same(_fingerprint(before), _fingerprint(value)):
        raise errors.UnsupportedCallError(
            "a function of s2sad.checkpoint(...) gave a different value "
            "when the backward sweep ran it again (random numbers drawn "
            "inside it, or values read from something that changed since): "
            "it must compute the same each time. Draw the random numbers "
            "outside it and pass them as an argument, or do not checkpoint "
            "it")


def _same(a, b):
    """Are two fingerprints (see `_fingerprint`) alike, their numbers equal
    to 1e-9 (for arithmetic whose rounding may differ from one run to the
    next: a threaded sum)?"""
    if a.__class__ is tuple and b.__class__ is tuple:
        return len(a) == len(b) and all(map(_same, a, b))
    if a is None or b is None or a.__class__ is tuple or b.__class__ is tuple:
        return a is b or a == b
    try:
        return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b)) or (
            a != a and b != b)  # (both nan)
    except TypeError:
        return a == b


def online_revolve():
    """The schedule of a checkpointed `while` loop (see
    `checkpoints.Online`)."""
    return checkpoints.Online()


def state_size(state):
    """How many numbers a loop's state holds (`checkpoints.numbers_in`)."""
    return checkpoints.numbers_in(state)


def kept(items, chosen):
    """The items at the positions `chosen`: the snapshots an online
    schedule keeps."""
    return [items[i] for i in chosen]


def unkept(g, chosen, items):
    """The adjoint of `kept(items, chosen)` given g: g's items at the
    positions chosen, zeros elsewhere."""
    out = [zeros_like(item) for item in items]
    for i, item in zip(chosen, g):
        out[i] = item
    return out


def snapshot(state, schedule=None, step=None):
    """A copy of a loop's state (a tuple of its values) that running the
    loop again cannot change: arrays, lists, dicts and sets copied, through
    tuples and lists; numbers and other values as they are. Taken for a
    `schedule` before `step`, it is noted there (see `replayed`)."""
    if schedule is not None:
        schedule.seen[step] = _fingerprint(state)
    for value in state:
        if value.__class__ is not float and isinstance(
                value, (np.ndarray, list, tuple, dict, set)):
            return tuple(_copied(v) for v in state)
    return state  # (numbers: nothing can change them)


def _copied(value, copies=None):
    """A copy of `value` and of the arrays, lists, tuples, dicts and sets
    it holds, read-only where it was; with `copies` (id -> copy), what it
    holds twice is copied once."""
    if copies is not None and id(value) in copies:
        return copies[id(value)]
    if isinstance(value, np.ndarray):
        made = value.copy()
        if not value.flags.writeable:
            made.setflags(write=False)
    elif isinstance(value, list):
        made = [_copied(v, copies) for v in value]
    elif isinstance(value, tuple):
        items = [_copied(v, copies) for v in value]
        made = value.__class__(*items) if hasattr(value, "_fields") else \
            value.__class__(items)  # (a named tuple takes its fields)
    elif isinstance(value, dict):
        made = copy.copy(value)
        for key in made:
            made[key] = _copied(made[key], copies)
    elif isinstance(value, set):
        made = set(value)
    else:
        return value
    if copies is not None:
        copies[id(value)] = made
    return made


def owned_copy(x):
    """A copy of a value the function changes by a method (`idx.sort()`)
    or a helper (`fill(buf)`), for the call to change: what was read of it
    before, which the backward sweep may read again, stays as it was. (A
    list's or dict's copy holds the same items: what else holds them sees
    a change of one.) A read-only array's copy is read-only too, so that a
    change fails there as it fails on the original."""
    if x.__class__ is np.ndarray:
        return _copied(x)
    return x.copy() if isinstance(x, (list, dict, set)) else x


def changed(x):
    """x itself, which a call has changed in place (see ssa `renewed`)."""
    return x


def owned_argument(x):
    """`owned_copy` of an argument, and of the arrays, lists and dicts it
    holds (`fill(K[0])`, `bump(K)` changing its rows): the derivative
    never changes the caller's data."""
    if isinstance(x, (list, dict, tuple)):
        return _copied(x, {})
    return owned_copy(x)


def check_updatable(x, what):
    """Raise what Python raises where the function changes `x`, which may
    be an argument, in place (`what`: "assignment into", "`.append()` on",
    "update of"): the generated code changes a copy, which always can be
    changed."""
    if x.__class__ is np.ndarray:
        if not x.flags.writeable:
            raise ValueError("output array is read-only" if what ==
                             "update of" else
                             "assignment destination is read-only")
    elif isinstance(x, tuple) and what != "update of":
        if what == "assignment into":
            raise TypeError(f"'{type(x).__name__}' object does not support "
                            "item assignment")
        method = what.split("`.")[1].split("(")[0]
        raise AttributeError(f"'{type(x).__name__}' object has no attribute "
                             f"'{method}'")


def check_distinct(arguments, message):
    """Refuse arguments that share memory, for a function that changes one
    of them in place (Python would change the other too): two arguments
    that are the same array or list or views of one array, or one that
    holds another's (`f(x, [x])`, `f(x, {"a": x[:]})`, `f([x], [x])`).
    (What one argument holds twice is `check_alone`'s.)"""
    held = {}  # id of the memory's owner -> [(argument, array or list)]
    for i, argument in enumerate(arguments):
        for leaf in _changeable_leaves(argument):
            root = leaf
            while root.__class__ is np.ndarray and isinstance(
                    root.base, np.ndarray):
                root = root.base
            for j, other in held.get(id(root), ()):
                if j != i and (other is leaf or other.__class__ is
                               np.ndarray and leaf.__class__ is np.ndarray
                               and np.may_share_memory(other, leaf)):
                    raise errors.UnsupportedSyntaxError(message)
            held.setdefault(id(root), []).append((i, leaf))


def _changeable_leaves(value):
    """The arrays and lists `value` is or holds, through lists, tuples and
    dicts (not past a list of numbers, which holds none)."""
    if value.__class__ is np.ndarray:
        yield value
    elif isinstance(value, (list, tuple, dict)):
        if isinstance(value, list):
            yield value
        items = value.values() if isinstance(value, dict) else value
        if not {item.__class__ for item in items} <= _NUMBER_CLASSES:
            for item in items:
                yield from _changeable_leaves(item)


def check_bound(bound, message):
    """Raise Python's UnboundLocalError (`message`) where `bound`, the flag
    the generated code keeps of whether the path taken bound a local name
    (assigned on one branch only, in a loop that may not run, or deleted),
    is False."""
    if not bound:
        raise UnboundLocalError(message)


def check_not_view(item, array, message):
    """Refuse `item`, taken from `array` by indexing, where an update in
    place of either would change the other: a view of an array (a row, a
    slice; not a number, nor what an index array or a mask copies), or an
    array or list a list, tuple or dict holds (`message` says why)."""
    check_element_not_view(item, array, message)
    if isinstance(array, (list, tuple, dict)) and _changeable(item) and \
            any(item is held for held in (
                array.values() if isinstance(array, dict) else array)):
        raise errors.UnsupportedSyntaxError(message)


def check_not_rows(items, source, message):
    """`items`, made of `source` by list(), tuple(), sorted() or a loop,
    read after a slot of source is given a new value: refused (`message`
    says why) where source is an array, whose rows the items are, views
    that see the change (a list's or a dict's items, keys, are left)."""
    if source.__class__ is np.ndarray or foreign(source):
        raise errors.UnsupportedSyntaxError(message)


def check_keys(items, source, message):
    """`check_not_rows` where an item of source is changed in place, which
    a list's items made of it see too: only a dict's keys are left."""
    if not isinstance(source, dict):
        raise errors.UnsupportedSyntaxError(message)


def check_element_not_view(item, array, message):
    """Refuse `item`, read from `array` as an element (`a[j]`), where it is
    a view of the array (a row of a matrix), which an update of the array
    in place changes (`message` says why). An item of a list, tuple or
    dict is left: an update of the container rebinds its slots, or adds
    to them, and the item is what it was."""
    if isinstance(item, np.ndarray) and isinstance(array, np.ndarray) and \
            np.may_share_memory(item, array):
        raise errors.UnsupportedSyntaxError(message)


def _changeable(value):
    """Can `value` be changed in place (an array, a list, a dict), where
    a number, a string or a tuple can only be rebound?"""
    return value.__class__ is not float and (
        hasattr(type(value), "__iadd__") or isinstance(value, dict))


def check_alone(container, item, message, *arguments):
    """Refuse an update in place of `item`, an array or list that
    `container`, a list, tuple or dict an argument holds, holds, when the
    arguments hold it more than once, or hold another array sharing its
    memory (Python changes it through each). (An item of an array, a
    number or a view, is the array's own: see `check_distinct`.)"""
    if not _changeable(item) or not isinstance(container, (list, tuple,
                                                           dict)):
        return  # (a number: rebound, seen by nothing else)
    held = 0
    todo = list(arguments)
    while todo:
        value = todo.pop()
        if value is item:
            held += 1
        elif isinstance(value, (list, tuple)):
            todo += value
        elif isinstance(value, dict):
            todo += value.values()
        elif isinstance(value, np.ndarray) and isinstance(
                item, np.ndarray) and np.may_share_memory(value, item):
            held += 2
        if held > 1:
            raise errors.UnsupportedSyntaxError(message)


def check_held_once(container, item, message):
    """Refuse an update in place of `item`, an array or list the list,
    tuple or dict `container` holds more than once (appended twice: Python
    changes it at each place)."""
    if _changeable(item) and sum(value is item for value in (
            container.values() if isinstance(container, dict)
            else container)) > 1:
        raise errors.UnsupportedSyntaxError(message)


def shallow_copy(x):
    """`copy.copy(x)` of a tangent: a new list, tuple, dict or array
    holding the same items; a number as it is."""
    if isinstance(x, (list, dict)) or x.__class__ is _ndarray:
        return x.copy()
    return copy.copy(x)


def check_indexed(seq, message):
    """A loop over `seq`, which it changes, reads `seq[i]` as it goes: a
    list, tuple or array (a dict or a set is refused with `message`)."""
    if not isinstance(seq, (list, tuple, np.ndarray)) and not foreign(seq):
        raise errors.UnsupportedSyntaxError(message)


def all_floats(items):
    """Is every item of the list `items` a Python float? (A guard of code
    specialised to a list of them: s2sad.specialise.)"""
    for item in items:
        if item.__class__ is not float:
            return False
    return True


def check_list_method(items, name):
    """`items.name(...)`, which s2sad differentiates as a list's method
    (`append`, `extend`, `pop`; a dict's `pop` too), is called on what
    Python would call it on: else Python's AttributeError where it has no
    such method (an array's `.append`), or a refusal (a deque's)."""
    if items.__class__ is list or isinstance(items, list) or (
            name == "pop" and isinstance(items, dict)):
        return
    getattr(items, name)  # (Python's own AttributeError, where it has none)
    raise errors.UnsupportedCallError(
        f"`.{name}()` of a {type(items).__name__}: s2sad differentiates a "
        "list's method; make it a list first (`items = list(items)`)")


def check_item_assignment(x):
    """`x[i] = v` (or `x[i] += v`) in the user's code, where x is a tuple
    or a number (`rows[i][j] = v` of a list of numbers): Python's
    TypeError, which `setitem` (that also writes the tangents of lists,
    tuples) would not raise."""
    if isinstance(x, tuple) or not hasattr(type(x), "__setitem__"):
        raise TypeError(f"'{type(x).__name__}' object does not support item "
                        "assignment")


def check_view_of(item, array, index, message):
    """`array[index][j] = v`, where `item`, `array[index]`, is a copy of
    items of the array (`index` an index array or a mask, or a slice of a
    list or tuple): Python changes that copy and drops it, so the array
    keeps its values; refused (`message` says why), where s2sad would
    store the changed item back."""
    if isinstance(array, np.ndarray) and not np.may_share_memory(
            item, array) or isinstance(array, (list, tuple)) and \
            index.__class__ is slice:
        raise errors.UnsupportedSyntaxError(message)


def check_unpacking(value, n, starred=False):
    """`a, b = value` takes exactly n items, as Python checks (`starred`:
    at least n, `a, *rest, b = value`)."""
    if not hasattr(value, "__len__") or not hasattr(value, "__getitem__") \
            or isinstance(value, (dict, set, frozenset)):
        what = "a dict, which gives its keys" if isinstance(value, dict) \
            else f"a {type(value).__name__} (an iterator or a set)"
        raise errors.UnsupportedSyntaxError(
            f"unpacking {what}: s2sad reads what it unpacks by index; make "
            "it a list first (`a, b = list(...)`)")
    if starred and len(value) < n:
        raise ValueError(f"not enough values to unpack (expected at least "
                         f"{n}, got {len(value)})")
    if len(value) != n and not starred:
        raise ValueError(
            f"too many values to unpack (expected {n})" if len(value) > n
            else f"not enough values to unpack (expected {n}, got "
            f"{len(value)})")


def check_unshared(value, message):
    """Refuse an update in place (`b += x`) of an array or list that other
    names also hold: s2sad makes a new value, which they would not see."""
    if _changeable(value):
        raise errors.UnsupportedSyntaxError(message)

def check_argument(value, allowed, message):
    """A derivative rule handles only the `allowed` values of an argument
    whose value was not known when s2sad wrote the code."""
    if not any(value is v or (type(value) is type(v) and value == v)
               for v in allowed):
        raise errors.UnsupportedCallError(f"{message}, not {value!r}")


def is_float_dtype(dtype):
    """Does `dtype` name a floating-point type (float, np.float32,
    complex), whose cast has derivative 1 (an integer's has 0)?"""
    try:
        return np.issubdtype(np.dtype(dtype), np.inexact)
    except TypeError:
        return False


def check_float_dtype(dtype, message):
    """A derivative rule handles only `dtype=None` or a float or complex dtype
    of an argument whose value was not known when s2sad wrote the code."""
    if dtype is not None and not is_float_dtype(dtype):
        raise errors.UnsupportedCallError(f"{message}, not {dtype!r}")


def numpy_floats(values):
    """Are `values` Python floats and NumPy float64s (not all floats): a
    gradient specialised to Python floats takes them, and makes the
    gradients of the float64s float64s (`as_classes_of`)?"""
    for value in values:
        if value.__class__ is not float and value.__class__ is not np.float64:
            return False
    return True


def as_classes_of(gradients, xs):
    """Each of `gradients` (a tuple, or one for an `xs` not a tuple) a
    number of the class of its x: float or np.float64 (but see
    `as_float`)."""
    if xs.__class__ is not tuple:
        return gradients if foreign(gradients) else xs.__class__(gradients)
    return tuple(g if foreign(g) else x.__class__(g)
                 for g, x in zip(gradients, xs))


def float64s(*values):
    """The values, each Python float a NumPy float64: a jvp compiled for
    numbers, given float64s, gives float64s."""
    return tuple(np.float64(v) if v.__class__ is float else v
                 for v in values)


def as_float(g):
    """`float(g)`, the gradient of a Python float; but a 0-d array of
    another library stays one (a lazy Dask array would compute)."""
    return g if foreign(g) else float(g)


def is_real(x):
    """Is x a real number a float variant takes for a parameter it does
    not differentiate (`analysis.Real`): a Python int or float, or a NumPy
    int64 or float64?"""
    cls = x.__class__
    return cls is float or cls is int or cls is np.float64 or \
        cls is np.int64


def is_number(x):
    """Is x a number, Python's or NumPy's (reading it computes nothing, and
    gives the same each time: not a subclass with comparisons of its
    own)?"""
    cls = x.__class__
    return cls in (float, int, bool) or cls.__module__ == "numpy" and \
        issubclass(cls, np.generic)


# NumPy's functions as a compiled kernel calls them where Numba's lack a
# form (a tuple of axes; an axis of a reduction): see s2sad.kernel_runtime
numpy_expand_dims, numpy_sum, numpy_mean, numpy_max, numpy_min, \
    numpy_prod, numpy_var, numpy_std = (
        np.expand_dims, np.sum, np.mean, np.max, np.min, np.prod, np.var,
        np.std)


def add_adjoints(a, b):
    """`a + b` of two adjoints (of a tuple, object arrays that add item by
    item): how a compiled kernel adds those of what may be a tuple, whose
    adjoints are tuples there (see s2sad.kernel_runtime)."""
    return a + b


# `x[i]` as a compiled kernel on arrays reads it (see s2sad.kernel_runtime)
subscript = operator.getitem


def kernel_arguments(differentiated, data):
    """Are the arguments what a compiled kernel on arrays takes (see
    `s2sad.kernels`)? Those `differentiated`: Python floats and ints,
    NumPy float64s, float64 arrays of one or more axes, or tuples of
    those; the others (`data`) may also be NumPy ints and bools, and
    arrays of ints and bools. Numba computes on them as NumPy does."""
    for x in differentiated:
        if not _kernel_value(x, _FLOAT_KINDS):
            return False
    for x in data:
        if not _kernel_value(x, _DATA_KINDS):
            return False
    return True


_FLOAT_KINDS = frozenset([_FLOAT64])
_DATA_KINDS = frozenset(np.dtype(t) for t in (
    np.float64, np.int64, np.int32, np.bool_))


def _kernel_value(x, kinds):
    cls = x.__class__
    if cls is _ndarray:
        return x.dtype in kinds and x.ndim > 0
    if cls is tuple:
        return all(_kernel_value(item, kinds) for item in x)
    return cls is float or cls is int or cls is bool or \
        cls is np.float64 or kinds is _DATA_KINDS and (
            cls is np.int64 or cls is np.int32 or cls is np.bool_)


def is_real_vector(x):
    """Is x a 1-D array of bools, ints or floats, or a list or tuple of
    Python bools, ints and floats and NumPy bools, int64s and float64s:
    data whose items are numbers (a flag, a count, a measurement), the
    same objects whichever variant reads them?"""
    cls = x.__class__
    if cls is np.ndarray:
        return x.ndim == 1 and x.dtype.kind in "biuf"
    if cls is not list and cls is not tuple:
        return False
    for value in x:
        kind = value.__class__
        if kind is not float and kind is not int and kind is not \
                np.float64 and kind is not np.int64 and kind is not bool \
                and kind is not np.bool_:
            return False
    return True


def check_receiver(x, name, where):
    """Before `x.name(...)` given a differentiated value, which s2sad
    differentiates as the array method `name` (NumPy's function's rule):
    refuse an object whose class has its own method of that name (the
    derivative would be NumPy's method's, not its). `where` is "file:line:
    `.name()`", the call."""
    cls = x.__class__
    if cls is _ndarray or cls is float or cls is int or cls is list or \
            hasattr(cls, "__array_function__") or hasattr(
                cls, "__array_ufunc__"):
        return  # (an array, or a duck array: NumPy's method's meaning)
    own = inspect.getattr_static(cls, name, None)
    if isinstance(own, (types.FunctionType, staticmethod, classmethod)):
        raise errors.UnsupportedCallError(
            f"{where} is called on a {cls.__name__}, whose own method "
            f"`{name}` s2sad would differentiate as the array method of that "
            f"name: call it as `{cls.__name__}.{name}(obj, ...)`, or on an "
            "object the function reads by its module-level name or on "
            "`self` in a method of the class")


def is_vector(x):
    """Is x a 1-D array of floats, or a list or tuple of Python floats and
    NumPy float64s (its items, numbers)?"""
    cls = x.__class__
    if cls is np.ndarray:
        return x.ndim == 1 and x.dtype.kind == "f"
    return (cls is list or cls is tuple) and numpy_floats(x)


def check_scalar(y, where):
    """`grad` seeds the output with 1: it must be a scalar (or, as in
    autograd, an array of one element). `where` is "file:line: grad of f",
    the function's return."""
    if y is None:
        raise errors.GradientShapeError(
            f"{where}: the function returned None here (a variable "
            "assigned on only some paths?); return a number")
    if isinstance(y, (tuple, list, dict)):
        raise errors.GradientShapeError(
            f"{where} requires a scalar output, got a {type(y).__name__}; "
            "use s2sad.vjp or s2sad.jacobian for non-scalar outputs")
    if isinstance(y, (bool, np.bool_)) or getattr(y, "dtype", None) == bool:
        raise errors.GradientShapeError(
            f"{where} requires a number output, got a bool (a comparison?); "
            "return the number compared, or a smooth function of it")
    if callable(y) or isinstance(y, (str, bytes)):
        raise errors.GradientShapeError(
            f"{where} requires a scalar output, got {type(y).__name__} "
            f"{y!r:.40}; differentiate the function it returns, or return a "
            "number")
    if _is_complex(y):
        raise errors.GradientShapeError(
            f"{where} requires a real output, got a complex one; "
            "differentiate np.real(...) or np.abs(...) of it, or use s2sad.vjp")
    if np.ndim(y) != 0 and size(y) == 1:
        raise errors.OneElementOutput(
            f"{where}: an output of one element (shape {np.shape(y)}) is "
            "differentiated by its vjp")
    if np.ndim(y) != 0:
        raise errors.GradientShapeError(
            f"{where} requires a scalar output, got an array of shape "
            f"{np.shape(y)}; use s2sad.vjp or s2sad.jacobian for "
            "non-scalar outputs, or reduce the output (np.sum)")


def seed(y, where):
    """The cotangent a gradient starts from: 1 for a scalar output, ones
    for an output of one element (as autograd); others are refused (see
    `check_scalar`). The 1 of a NumPy float output is a NumPy value of its
    dtype: a Python float would take the dtype of what it meets (NEP 50),
    so `1.0 / np.float32(v)` would round in float32 what the function
    computed in float64."""
    cls = y.__class__
    if cls is np.float64:
        return _ONE
    if cls is float or cls is int or cls is np.int64:
        return 1.0
    try:
        check_scalar(y, where)
    except errors.OneElementOutput:
        return zeros(np.shape(y), np.result_type(y, 0.0), y) + 1.0
    dtype = getattr(y, "dtype", None)
    return dtype.type(1) if dtype is not None and dtype.kind == "f" else 1.0


_ONE = np.float64(1.0)


def _arithmetic_warns_only():
    """Does float64 arithmetic that overflows or is invalid at most warn:
    NumPy's error handling as it is by default (not `np.seterr(all=
    "raise")`, an `np.errstate` that raises or calls, nor a RuntimeWarning
    that the warnings filters make an error)? A value `float64_seed`
    leaves uncomputed could otherwise raise. Cached on the objects both
    states are held in, so that a call costs a few identity tests."""
    state = _ERROR_STATE.get() if _ERROR_STATE is not None else tuple(
        sorted(np.geterr().items()))  # (NumPy 1)
    filters, checked = warnings.filters, _checked
    first = filters[0] if filters else None
    if (state is checked[0] or state == checked[0]) and \
            filters is checked[1] and len(filters) == checked[2] and \
            first is checked[3]:
        return checked[4]
    answer = all(how in ("ignore", "warn") for how in np.geterr().values()) \
        and not any(action == "error" and issubclass(RuntimeWarning, kind)
                    for action, _, kind, _, _ in filters)
    checked[:] = [state, filters, len(filters), first, answer]
    return answer


# what holds NumPy's error handling, and changes when it does (NumPy 2: a
# context variable; NumPy 1 has none)
_ERROR_STATE = getattr(getattr(getattr(np, "_core", None), "_ufunc_config",
                               None), "_extobj_contextvar", None)
_checked = [None] * 5  # (the states last checked, and the answer)


def float64_seed(*groups, numbers=(), float64s=(), vectors=()):
    """`seed` of an output not computed (see optimize.defer_value): 1 as a
    NumPy float64 when the output is one, which it is when made by total
    reductions and arithmetic from `groups` of values, each of float64
    arrays and NumPy float64s of one shape that a reduction reads together,
    of `vectors`, each of 1-D float64 arrays of one shape that a product
    `a @ b` reads, and `numbers`, each a Python float, NumPy float64 or
    int (of a size that converts to a float), and `float64s`, each a NumPy
    float64; else None (the output is then computed, and seeded by
    `seed`). None too where float64 arithmetic may raise
    (`np.seterr(all="raise")`, warnings made errors): the value is computed
    then, for its error."""
    for group in groups:
        shape = group[0].shape if group[0].__class__ is np.ndarray else ()
        for a in group:
            if a.__class__ is np.float64:
                if shape:
                    return None
            elif a.__class__ is not np.ndarray or a.dtype is not _FLOAT64 \
                    or a.shape != shape:
                return None
    for group in vectors:
        shape = group[0].shape if group[0].__class__ is np.ndarray else None
        if shape is None or len(shape) != 1:
            return None
        for a in group:
            if a.__class__ is not np.ndarray or a.dtype is not _FLOAT64 \
                    or a.shape != shape:
                return None
    for a in float64s:
        if a.__class__ is not np.float64:
            return None
    for a in numbers:
        if a.__class__ is not float and a.__class__ is not np.float64 and (
                a.__class__ is not int or not -_BIG_INT < a < _BIG_INT):
            return None  # (a float64 and an int of 2**1023 or more raise)
    return _ONE if _arithmetic_warns_only() else None


_BIG_INT = 2 ** 62


def getitem_adjoint(g, x, index):
    """The adjoint of `x[index]`: `g` scattered into zeros, duplicates summed.

    The adjoint of a tuple or list is an object array holding one adjoint per
    item, so that adding two of them adds item by item (as `+` on tuples
    would concatenate).
    """
    cls = x.__class__
    if (cls is Like or cls is np.ndarray and x.dtype.kind != "O") and \
            not foreign(g):
        out = np.zeros(x.shape, _adjoint_dtype(g))  # the common case
    elif _is_sequence(x) or isinstance(x, dict):
        out = zeros_like(x)
        index = _item_index(out, index)  # (a list reads a bool as an int)
        out[index] = out[index] + g
        return out
    else:  # (in g's library when it is another's: a NumPy x, Dask data)
        out = zeros(np.shape(x), np.result_type(g, 0.0), library(g, x))
    if foreign(out):
        return _scattered(out, index, g)
    if is_basic_index(index):  # each item of x once: a plain slice write
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


def _scattered(out, index, g):
    """`out` (zeros) with `g` added at `index`, as its library can: a
    basic index written with its new axes (None) taken out of g (Dask
    cannot write through them); any other index by `np.add.at` where the
    library has it (NumPy, CuPy), else one array of ints (along the first
    axis) as a product with its one-hot matrix (Dask has no
    `np.add.at`)."""
    if is_basic_index(index):
        index, g = _without_new_axes(index, g, out.ndim)
        out[index] = g
        return out
    try:  # (CuPy's ufuncs have `at`; Dask's arrays answer NotImplemented)
        np.add.at(out, index, g)
        return out
    except (TypeError, NotImplementedError):
        pass
    parts = index if isinstance(index, tuple) else (index,)
    ints = parts[0]
    if len(parts) == 1 and getattr(ints, "ndim", None) == 1 and \
            getattr(ints, "dtype", np.dtype(bool)).kind in "iu":
        n = out.shape[0]
        ints = array_like(ints, out)
        one_hot = (ints[:, None] % n == np.arange(n, like=out)).astype(
            out.dtype)
        return out + np.tensordot(one_hot, g, axes=(0, 0))
    raise errors.UnsupportedCallError(
        f"the derivative of `x[index]` with index {_describe_index(index)} "
        f"on arrays of {type(out).__module__.split('.')[0]} adds into "
        "repeated positions, which s2sad does only for NumPy arrays, or for "
        "one 1-D array of ints; index with slices, or with one array of "
        "ints along the first axis")


def _describe_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    return "[" + ", ".join(
        f"an array {tuple(p.shape)} of {p.dtype}" if hasattr(p, "shape")
        else repr(p) for p in parts) + "]"


def _without_new_axes(index, g, ndim):
    """A basic `index` without its Nones, and `g` (shaped as `x[index]`)
    without the axes of length 1 they made, so that `out[index] = g`
    writes the same items."""
    parts = index if isinstance(index, tuple) else (index,)
    if not any(p is None for p in parts):
        return index, g
    used = sum(np.ndim(p) if getattr(p, "dtype", None) == bool else 1
               for p in parts if p is not None and p is not ...)
    axis, new, kept = 0, [], []
    for part in parts:
        if part is None:
            new.append(axis)
        elif part is ...:
            axis += ndim - used - 1
        elif isinstance(part, (int, np.integer)):
            axis -= 1
        if part is not None:
            kept.append(part)
        axis += 1
    if np.ndim(g):
        g = np.squeeze(g, axis=tuple(new))
    return tuple(kept), g


def getitem_adjoints(total, x, *pairs, owned=False, replaced=False):
    """`total + getitem_adjoint(g1, x, index1) + ...` for `pairs` (g1,
    index1, g2, index2, ...), adding each g into its slice of one array
    (total None: zeros; `owned`: an array nothing else holds, which the sum
    may be written into). The same sums in the same order, in
    O(size of x + size of the slices). `replaced`: total is to be read as
    `setitem(total, index1, 0.0)`, and g1 is written there rather than
    added to those zeros (see optimize.replace_cleared)."""
    gs, indices = pairs[::2], pairs[1::2]
    if (x.__class__ is _ndarray or x.__class__ is Like) and \
            x.dtype is _FLOAT64 and (total is None or (
                total.__class__ is _ndarray and total.dtype is _FLOAT64
                and total.shape == x.shape)):
        for g, index in zip(gs, indices):  # (the common case, at once)
            cls = g.__class__
            if not (cls is float or cls is np.float64 or cls is _ndarray and
                    g.dtype is _FLOAT64) or not is_basic_index(index):
                break
        else:  # float64 arrays and numbers, basic indices
            if total is None:
                out = np.zeros(x.shape)
            else:
                out = total if owned and total.flags.writeable \
                    else total.copy()
            if replaced:
                out[indices[0]] = gs[0]
                gs, indices = gs[1:], indices[1:]
            for g, index in zip(gs, indices):
                if index.__class__ is slice:
                    view = out[index]
                    view += g  # (a view: not written back)
                else:
                    out[index] += g
            return out
    if x.__class__ in (list, tuple) and (total is None or (
            total.__class__ is _ndarray and total.dtype.kind == "O" and
            len(total) == len(x))) and \
            all(i.__class__ is int or i.__class__ is slice for i in indices):
        # a list's items (or slices of them) read (in a loop): each g added
        # to its items' adjoints, in total where the generated code owns
        # it, else in a copy or zeros (a sum of `getitem_adjoint`'s arrays
        # of zeros would make each step O(len(x)) in new objects); a
        # number's to a number as it is (its zero, 0.0, would only turn
        # -0.0 into 0.0)
        if total is None:
            total = zeros_like(x)
        elif not owned:
            total = total.copy()
        for k, (g, index) in enumerate(zip(gs, indices)):
            written = replaced and not k  # (g in place of what was there)
            if (g.__class__ is float or g.__class__ is np.float64) and \
                    x[index].__class__ in _REAL_SCALARS:
                if written:
                    total[index] = g
                else:
                    total[index] += g
            else:
                if written:
                    total[index] = 0.0
                total[index] = total[index] + (zeros_like(x[index]) + g)
        return total
    if replaced and (_is_sequence(x) or isinstance(x, dict) or not all(
            map(is_basic_index, indices)) or np.shape(total) != np.shape(x)):
        total, replaced = setitem(total, indices[0], 0.0), False
    if _is_sequence(x) or isinstance(x, dict) or not all(
            map(is_basic_index, indices)):
        for g, index in zip(gs, indices):
            term = getitem_adjoint(g, x, index)
            total = term if total is None else total + term
        return total
    shape = x.shape if x.__class__ is np.ndarray else np.shape(x)
    dtype = _adjoint_dtype(*gs) if total is None else _adjoint_dtype(
        total, *gs)
    kind = library(*gs, x) if total is None else library(total, *gs, x)
    if kind is not None:  # another library's arrays: a sum of scatters
        for g, index in zip(gs, indices):
            term = _scattered(zeros(shape, dtype, kind), index, g)
            total = term if total is None else (
                setitem(total, index, 0.0) if replaced else total) + term
            replaced = False
        return total
    if owned and total.__class__ is np.ndarray and total.shape == shape \
            and total.dtype == dtype and total.flags.writeable:
        out = total
    elif total is not None and np.shape(total) == shape:
        out = _spread(total, shape, dtype, x)  # a copy
    else:
        out = zeros(shape, dtype, x)
        if total is not None:
            out += total
    if replaced:
        out[indices[0]] = gs[0]
        gs, indices = gs[1:], indices[1:]
    for g, index in zip(gs, indices):
        out[index] += g
    return out


def adjoints_into(total, x, owned, replaced, *pairs):
    """`getitem_adjoints` as a compiled kernel calls it (Numba passes no
    keywords after star arguments)."""
    return getitem_adjoints(total, x, *pairs, owned=owned, replaced=replaced)


class Like:
    """The shape and dtype of an array, kept on a tape in its place where
    the backward sweep reads nothing else of it (`unbroadcast`,
    `getitem_adjoint`, `through_cast`, `keep_last` accept it)."""
    __slots__ = ("shape", "dtype")

    def __init__(self, x):
        self.shape, self.dtype = x.shape, x.dtype

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<like an array {self.shape} {self.dtype}>"


def like(x):
    """What a tape keeps of `x` when only its kind is read again: a `Like`
    for an array of numbers, x itself for anything else (a number, a list,
    the object array standing for a list's adjoint). A loop's arrays keep
    their shape and dtype from step to step, so the last `Like` made is
    given again when it fits (a `Like` is never changed): a step's entry
    holds a reference, not a new object."""
    if x.__class__ is not np.ndarray or x.dtype == object:
        return x
    last = _last_like[0]
    if last.shape == x.shape and last.dtype == x.dtype:
        return last
    last = _last_like[0] = Like(x)
    return last


_last_like = [Like(np.empty(0))]  # (shared by threads: any one will do)


def is_basic_index(index):
    """Does `x[index]` read each item of x at most once: ints, slices,
    `...`, `None`, and at most one boolean mask among them?"""
    cls = index.__class__
    if cls is slice or cls is int:
        return True
    parts = index if cls is tuple else (index,)
    masks = 0
    for part in parts:
        if part.__class__ in (int, slice) or part is None or \
                part is Ellipsis or isinstance(part, np.integer):
            continue
        if isinstance(part, np.ndarray) and part.dtype == bool:
            masks += 1
            continue
        return False
    return masks <= 1


def closure(function, values, name):
    """The nested function `name`, its definition `function` bound to the
    values it captures (which it takes as leading parameters): a function,
    as Python makes it, whose bound values s2sad finds (see `bound`)."""
    def call(*args, **kwargs):
        return function(*values, *args, **kwargs)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = function.__doc__
    call.__s2sad_closure__ = functools.partial(function, *values)
    return call


def bound(function):
    """The values a closure binds (a functools.partial's arguments; a
    derivative's, those of the closure it differentiates), which generated
    code passes to its derivative as arguments; of a closure's tangent (a
    tuple, one per value), the tangent itself."""
    if isinstance(function, functools.partial):
        return function.args
    if callable(function):
        closure = getattr(function, "__s2sad_closure__", None)
        return () if closure is None else bound(closure)
    return tuple(function)


def sequence(items):
    """An object array holding `items`: the adjoint of a list or tuple."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def _as_sequence_of(pieces, like):
    """`pieces` as the adjoint of `like`: one item each for a list or tuple,
    stacked back into one array for an array (np.stack of a 2-d array)."""
    if _is_sequence(like):
        return sequence(pieces)
    return np.reshape(np.stack(pieces), np.shape(like))


def _is_sequence(x):
    """A list or tuple, or the object array standing for one's adjoint."""
    if x.__class__ is np.ndarray:
        return x.dtype.kind == "O"
    return isinstance(x, (list, tuple)) or getattr(x, "dtype", None) == object


def _join_sizes(g, arrays, axis):
    """How much of a joined array's `axis` each of `arrays` fills: all of its
    own axis, or 1 where the join first promoted it to g's rank (np.vstack
    of vectors, np.dstack, np.column_stack)."""
    ndim = np.ndim(g)
    return [np.shape(a)[axis] if np.ndim(a) == ndim else 1 for a in arrays]


def concatenate_adjoint(g, arrays, axis=0):
    """The adjoint of np.concatenate(arrays, axis) (and of hstack, vstack,
    dstack, column_stack, which join along `axis` after promoting ranks):
    `g` cut back into pieces shaped like `arrays`."""
    if axis == 0 and g.__class__ is _ndarray and g.dtype.kind == "f" and \
            arrays.__class__ in (list, tuple):
        # (the common case, at once: arrays of g's rank joined on axis 0)
        ndim, start, pieces = g.ndim, 0, []
        for a in arrays:
            if a.__class__ is not _ndarray or a.ndim != ndim or \
                    a.dtype.kind not in "fiub":
                break
            stop = start + a.shape[0]
            pieces.append(g[start:stop])
            start = stop
        else:
            return sequence(pieces)
    if axis is None:
        g, axis = np.ravel(g), 0
        sizes = [size(a) for a in arrays]
    else:
        sizes = _join_sizes(g, arrays, axis)
    # slices of g (without np.split's cost, which Dask does not implement)
    g = as_array(g)
    index = [slice(None)] * g.ndim
    start, pieces = 0, []
    for n in sizes:
        index[axis] = slice(start, start + n)
        pieces.append(g[tuple(index)])
        start += n
    if not (g.__class__ is np.ndarray and g.dtype.kind == "f" and all(
            a.__class__ is np.ndarray and a.ndim == g.ndim and
            a.dtype.kind in "fiub" for a in arrays)):  # (the common case)
        pieces = [as_kind_of(np.reshape(p, np.shape(a)), a)
                  for p, a in zip(pieces, arrays)]
    return _as_sequence_of(pieces, arrays)


def concatenate_pieces(pieces, g, axis=0):
    """The inverse of `concatenate_adjoint`: `pieces` joined into g's shape."""
    if axis is None:
        return np.concatenate([np.ravel(p) for p in pieces])
    shape = list(np.shape(g))
    sizes = _join_sizes(g, pieces, axis)
    return np.concatenate([
        np.reshape(p, shape[:axis] + [n] + shape[axis + 1:])
        for p, n in zip(pieces, sizes)], axis=axis)


def unstack(g, arrays, axis=0):
    """The adjoint of np.stack(arrays, axis) (and of np.array(arrays)):
    the slices of `g` along `axis`, one per stacked array."""
    if not _is_sequence(arrays):  # np.stack of an array stacks its rows
        return np.moveaxis(g, axis, 0) if np.ndim(arrays) else g
    # an item that is a list itself (np.array of nested lists) gets the
    # adjoint of a list: one per item, as every list's
    return sequence([unstack(np.take(g, i, axis=axis), a) if axis == 0
                     and _is_sequence(a) else
                     as_kind_of(np.take(g, i, axis=axis), a)
                     for i, a in enumerate(arrays)])


def stack_pieces(pieces, arrays, axis=0):
    """The inverse of `unstack`: `pieces` stacked along `axis`."""
    if not _is_sequence(arrays):
        return np.moveaxis(pieces, 0, axis) if np.ndim(arrays) else pieces
    return np.stack([stack_pieces(p, a) if axis == 0 and _is_sequence(a)
                     else p for p, a in zip(pieces, arrays)], axis=axis)


def repeat_adjoint(g, x, repeats, axis=None):
    """The adjoint of np.repeat(x, repeats, axis): each run of copies in `g`
    summed back onto the element it copied."""
    shape = np.shape(x)
    g = as_array(g)
    if axis is None:
        g, axis, n = np.ravel(g), 0, int(np.prod(shape, dtype=np.int64))
    else:
        axis, n = axis % len(shape), shape[axis]
    if g.shape[axis] == 0:
        return zeros(shape, np.result_type(g, 0.0), g)
    if isinstance(repeats, (int, np.integer)) and foreign(g):
        # each element copied `repeats` times in a row: a reshape and a sum
        # (no index array to build in g's library)
        runs = g.shape[:axis] + (n, int(repeats)) + g.shape[axis + 1:]
        return np.reshape(np.sum(np.reshape(g, runs), axis=axis + 1), shape)
    repeats = np.broadcast_to(as_array(repeats, dtype=np.int64), (n,))
    starts = np.cumsum(repeats) - repeats
    out = np.add.reduceat(g, array_like(np.minimum(
        starts, g.shape[axis] - 1), g), axis=axis)
    if not repeats.all():  # reduceat gives g[start] for an empty run
        empty = np.reshape(repeats == 0, [-1 if i == axis else 1
                                          for i in range(g.ndim)])
        out = np.where(array_like(empty, g), 0.0, out)
    return np.reshape(out, shape)


def fit_to(g, x):
    """`g` cropped or zero-padded at the end of each axis to x's shape (the
    transpose of the padding or cropping an FFT's `n` or `s` applies)."""
    shape = np.shape(x)
    if np.shape(g) == shape:
        return g
    out = zeros(shape, np.result_type(g, 0.0), g)
    common = tuple(slice(0, min(a, b)) for a, b in zip(np.shape(g), shape))
    out[common] = g[common]
    return out


def take_along_axis_adjoint(g, arr, indices, axis):
    """The adjoint of np.take_along_axis(arr, indices, axis): `g` added into
    zeros shaped like `arr` at `indices`, repeated indices summed."""
    kind = library(g, arr, indices)
    out = zeros(np.shape(arr), np.result_type(g, 0.0), kind)
    if axis is None:
        return np.reshape(_scattered(np.reshape(out, -1), indices, g),
                          np.shape(arr))
    axis = axis % out.ndim
    index = list(np.ix_(*[np.arange(n, like=kind)
                          for n in np.shape(indices)]))
    index[axis] = indices
    return _scattered(out, tuple(index), g)


def diff_adjoint(g, a, n=1, axis=-1, prepend=None, append=None, part=1):
    """The adjoint of np.diff(a, n, axis, prepend, append): the transposed
    differences, cropped to the `part` of the extended axis asked for:
    0 for prepend, 1 for a, 2 for append (before unbroadcasting)."""
    for _ in range(n):
        widths = [(0, 0)] * np.ndim(g)
        widths[axis] = (1, 0)
        before = np.pad(g, widths)
        widths[axis] = (0, 1)
        g = before - np.pad(g, widths)
    lengths = _diff_lengths(a, axis, prepend, append)
    start = sum(lengths[:part])
    index = [slice(None)] * np.ndim(g)
    index[axis] = slice(start, start + lengths[part])
    return g[tuple(index)]


def _diff_lengths(a, axis, prepend, append):
    """The lengths of prepend, a and append along np.diff's extended axis
    (a scalar, or an array of lower rank, extends it by 1)."""
    def extent(values):
        if values is None:
            return 0
        return np.shape(values)[axis] if np.ndim(values) == np.ndim(a) else 1
    return [extent(prepend), np.shape(a)[axis], extent(append)]


def diff_widths(a, axis=-1, prepend=None, append=None, part=1):
    """Zero-padding widths taking `part` of np.diff's extended input (see
    diff_adjoint) to the whole of it."""
    lengths = _diff_lengths(a, axis, prepend, append)
    widths = [(0, 0)] * np.ndim(a)
    widths[axis] = (sum(lengths[:part]), sum(lengths[part + 1:]))
    return widths


def diff_part(a, axis=-1, prepend=None, append=None, part=1):
    """An empty array shaped like `part` of np.diff's extended input (see
    diff_adjoint): what a prepended scalar is broadcast to."""
    shape = list(np.shape(a))
    shape[axis] = _diff_lengths(a, axis, prepend, append)[part]
    return np.empty(shape, like=library(a, prepend, append))


def through_cast(g, cast):
    """The derivative `g` carried through a cast whose result is `cast`: zero
    when it holds integers or booleans (a value that passes through an
    integer type is constant nearby), else `g` as it is."""
    kind = getattr(getattr(cast, "dtype", None), "kind", None)
    if kind is None:
        return 0.0 * g if isinstance(cast, (int, bool)) else g
    return np.zeros_like(g, dtype=float) if kind in "biu" else g


def cast_like(g, x):
    """`g` in x's floating dtype (the adjoint of x.astype(...)): a float32
    input gets a float32 gradient."""
    dtype = getattr(x, "dtype", None)
    if dtype is None or dtype.kind not in "fc" or getattr(g, "dtype", None) == dtype:
        return g
    # a real input's gradient is the real part of a complex one (as JAX)
    return as_array(np.real(g) if dtype.kind == "f" else g).astype(dtype)


def _swap(a):
    return np.swapaxes(a, -1, -2)


def _ndim(a):
    """np.ndim without its dispatch cost for arrays (the common case)."""
    return a.ndim if a.__class__ is np.ndarray else np.ndim(a)


def _real_like(g, x):
    """The adjoint `g` of `x`, real if x is (the adjoint of the cast of a
    real value into complex arithmetic)."""
    if _is_complex(g) and not _is_complex(x):
        return g.real
    return g


def as_kind_of(g, x):
    """`g` as an adjoint of `x`: its real part where x is real (the adjoint
    of a real value that met complex ones), complex where x is complex (a
    real adjoint, as np.real's gives, of a complex value). Its values are
    those of g's real part, or of g, either way. (For a list or tuple x,
    item by item.)"""
    if g.__class__ is np.ndarray and x.__class__ is np.ndarray and \
            g.dtype.kind == "f" and x.dtype.kind in "fiub" or \
            g.__class__ in _REAL_SCALARS and x.__class__ in _REAL_SCALARS:
        return g  # the common cases, at once
    if _is_sequence(x) and _is_sequence(g) and len(g) == len(x):
        if _is_complex(g) or _is_complex(x) or getattr(
                g, "dtype", None) == object:  # (items unknown)
            return sequence([as_kind_of(gi, xi) for gi, xi in zip(g, x)])
        return g
    if isinstance(x, (list, tuple)) and _is_complex(g):
        return sequence([as_kind_of(gi, xi) for gi, xi in zip(g, x)])
    if _is_complex(g):
        return g if _is_complex(x) else g.real
    if not _is_complex(x):
        return g
    if g.__class__ is np.ndarray:
        return g.astype(np.result_type(g.dtype, np.complex64))
    return g + 0j


def matmul_adjoint_a(g, a, b):
    """d(a @ b)/da applied to the output adjoint `g`."""
    if _float64_operands(g, a, b):  # (as below, at once)
        a_nd, b_nd = a.ndim, b.ndim
        if a_nd == 2 and b_nd == 2:
            return g @ b.T
        if a_nd == 1 and b_nd == 2:
            return b @ g
        if a_nd == 1 and b_nd == 1:
            return g * b
        if a_nd == 2 and b_nd == 1 and g.__class__ is _ndarray:
            return g[..., None] * b
    g, a, b = _operands(g, a, b)
    a_nd, b_nd = _ndim(a), _ndim(b)
    if a_nd == 2 and b_nd == 2:
        return as_kind_of(g @ b.T, a)
    if a_nd == 1 and b_nd == 2:
        return as_kind_of(b @ g, a)
    if b_nd == 1:
        if a_nd == 1:
            return as_kind_of(g * b, a)
        if a_nd == 2:
            return as_kind_of(expand(g, -1) * b, a)
        return as_kind_of(unbroadcast(expand(g, -1) * b, a), a)
    if a_nd == 1:
        return as_kind_of(unbroadcast(
            np.matmul(b, expand(g, -1))[..., 0], a), a)
    return as_kind_of(unbroadcast(np.matmul(g, _swap(b)), a), a)


def matmul_adjoint_b(g, a, b):
    """d(a @ b)/db applied to the output adjoint `g`."""
    if _float64_operands(g, a, b):  # (as below, at once)
        a_nd, b_nd = a.ndim, b.ndim
        if a_nd == 2 and b_nd == 2:
            return a.T @ g
        if a_nd == 2 and b_nd == 1:
            return g @ a
        if a_nd == 1 and b_nd == 1:
            return g * a
        if a_nd == 1 and b_nd == 2 and g.__class__ is _ndarray:
            return a[..., None] * g
    g, a, b = _operands(g, a, b)
    a_nd, b_nd = _ndim(a), _ndim(b)
    if a_nd == 2 and b_nd == 2:
        return as_kind_of(a.T @ g, b)
    if a_nd == 2 and b_nd == 1:
        return as_kind_of(g @ a, b)
    if a_nd == 1:
        if b_nd == 1:
            return as_kind_of(g * a, b)
        if b_nd == 2:
            return as_kind_of(expand(a, -1) * g, b)
        return as_kind_of(unbroadcast(
            expand(a, -1) * expand(g, -2), b), b)
    if b_nd == 1:
        return as_kind_of(unbroadcast(
            np.matmul(_swap(a), expand(g, -1))[..., 0], b), b)
    return as_kind_of(unbroadcast(np.matmul(_swap(a), g), b), b)


def _operands(*values):
    """A product's operands (and its adjoint) as the product reads them: a
    list or tuple as an array."""
    return [as_array(x) if isinstance(x, (list, tuple)) else x
            for x in values]


def _float64_operands(g, a, b):
    """Are the operands of a product float64 arrays, and its adjoint `g` a
    float64 array or number (whose adjoints need no kind fixed)?"""
    cls = g.__class__
    return a.__class__ is _ndarray is b.__class__ and \
        a.dtype is _FLOAT64 is b.dtype and (
            cls is float or cls is np.float64 or
            cls is _ndarray and g.dtype is _FLOAT64)


def dot_adjoint_a(g, a, b):
    """d(np.dot(a, b))/da: a scalar factor scales; up to matrices, as
    matmul; past them, the contraction np.dot makes (a's last axis with
    b's second to last)."""
    g, a, b = _operands(g, a, b)
    a_nd, b_nd = _ndim(a), _ndim(b)
    if a_nd == 0 or b_nd == 0:
        return as_kind_of(unbroadcast(g * b, a), a)
    if a_nd <= 2 and b_nd <= 2:
        return matmul_adjoint_a(g, a, b)
    k = _dot_axis(b_nd)
    free = [i for i in range(b_nd) if i != k]
    return as_kind_of(np.tensordot(g, b, (list(range(a_nd - 1, np.ndim(g))),
                                          free)), a)


def dot_adjoint_b(g, a, b):
    """d(np.dot(a, b))/db."""
    g, a, b = _operands(g, a, b)
    a_nd, b_nd = _ndim(a), _ndim(b)
    if a_nd == 0 or b_nd == 0:
        return as_kind_of(unbroadcast(g * a, b), b)
    if a_nd <= 2 and b_nd <= 2:
        return matmul_adjoint_b(g, a, b)
    leading = list(range(a_nd - 1))
    return as_kind_of(np.moveaxis(np.tensordot(a, g, (leading, leading)), 0,
                                  _dot_axis(b_nd)), b)


def _dot_axis(b_nd):
    """The axis of b np.dot(a, b) sums over: its second to last (its only
    one for a vector)."""
    return max(b_nd - 2, 0)


def python_pow(a, b):
    """`a ** b`: how a kernel for Numba writes a power, to compute it as
    Python does (see s2sad.kernel_runtime); as Python, the same."""
    return a ** b


def python_mul(a, b):
    """`a * b`: how a kernel for Numba writes a product that may be of ints,
    to check it fits in 64 bits (see s2sad.kernel_runtime)."""
    return a * b


def as_index(n):
    """`n` as `range` takes it (`operator.index`): how a kernel for Numba
    writes a loop count (see s2sad.kernel_runtime)."""
    return operator.index(n)


def python_lshift(a, b):
    """`a << b`: how a kernel for Numba writes a shift of ints, to check it
    fits in 64 bits (see s2sad.kernel_runtime)."""
    return a << b


def backwards(r):
    """`r[::-1]`, a range counting down: how a kernel for Numba writes a
    range read last first (see s2sad.kernel_runtime)."""
    return r[::-1]


def range_item(r, k):
    """`r[k]` of a range (as a kernel for Numba, whose ranges have no
    items, writes it: see s2sad.kernel_runtime)."""
    return r[k]


def divide(a, b):
    """`a / b` as NumPy computes it, for Python numbers too (inf or nan where
    they raise): derivative statements divide values that may be either
    (see rules/ieee.py)."""
    try:
        return a / b
    except ZeroDivisionError:
        return np.divide(a, b)


def power(a, b):
    """`a ** b`, as NumPy computes it where Python raises: inf for 0 to a
    negative power and on overflow. A negative Python number to a
    fractional power is complex, as Python makes it (the function's own
    value is then complex too)."""
    try:
        return a ** b
    except (ZeroDivisionError, OverflowError):
        return np.power(a, b)
    except TypeError:
        # an array of another library to the power of a 0-d NumPy array (a
        # template's np.where of numbers): that library refuses NumPy
        # arrays, not NumPy's scalars
        if b.__class__ is _ndarray and not b.ndim and foreign(a):
            return a ** b[()]
        raise


def sign(x):
    """The derivative of abs, 0 at 0: np.sign, fast for Python floats; for
    complex z, conj(z) / |z| (its adjoint rule, see rules/numpy.py)."""
    if x.__class__ is float:
        return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)
    if _is_complex(x):
        return np.conj(x) / _nonzero(np.abs(x))
    return np.sign(x)


def logistic(x, y):
    """1 / (1 + exp(y - x)), the derivative of np.logaddexp(x, y) in x:
    where exp(y - x) overflows to inf (y - x > 709), the exact limit 0;
    nan where x and y are the same infinity. No warning for either
    (logaddexp itself gives none)."""
    return _logistic(x, y, math.exp, np.exp)


def logistic2(x, y):
    """1 / (1 + 2 ** (y - x)), the derivative of np.logaddexp2 (see
    logistic)."""
    return _logistic(x, y, _exp2, np.exp2)


def _logistic(x, y, exp, np_exp):
    """1 / (1 + exp(y - x)): of Python floats from exp(-|y - x|) <= 1,
    which cannot overflow; else by `np_exp`, its overflow to inf (the
    limit 0) and inf - inf (nan) not warned of."""
    if x.__class__ is float and y.__class__ is float:
        u = y - x
        e = exp(-abs(u))
        return 1.0 / (1.0 + e) if u <= 0.0 else e / (1.0 + e)
    if _ERROR_STATE is None:  # (NumPy 1)
        with np.errstate(over="ignore", invalid="ignore"):
            return 1.0 / (1.0 + np_exp(_difference(y, x)))
    token = _ERROR_STATE.set(_overflow_ignored())
    try:
        return 1.0 / (1.0 + np_exp(_difference(y, x)))
    finally:
        _ERROR_STATE.reset(token)


def _overflow_ignored():
    """NumPy's error state as `np.errstate(over="ignore",
    invalid="ignore")` makes it from the current one, which it keeps for
    the rest: made once per state (entering an np.errstate costs a
    microsecond, about what a logistic function of 500 numbers does)."""
    state = _ERROR_STATE.get()
    made = _IGNORING_OVERFLOW.get(state)
    if made is None:
        with np.errstate(over="ignore", invalid="ignore"):
            made = _ERROR_STATE.get()
        if len(_IGNORING_OVERFLOW) >= 16:
            _IGNORING_OVERFLOW.clear()
        _IGNORING_OVERFLOW[state] = made  # (holding state: its id is its)
    return made


_IGNORING_OVERFLOW = {}


def _exp2(v):
    return 2.0 ** v


def _difference(y, x):
    """y - x as NumPy computes it (of lists too); -x for y = 0, whose
    exponential is the same (0 - 0 and -0 differ only in sign)."""
    if y.__class__ is float and y == 0.0:
        return np.negative(x)
    return np.subtract(y, x)


def _nonzero(r):
    return np.where(r == 0.0, 1.0, r)


def from_triangle(t, lower=True):
    """The Hermitian (for real t, symmetric) matrix NumPy's eigh, eigvalsh
    and cholesky read from `t`: its lower (or upper) triangle, mirrored and
    conjugated, with the real part of its diagonal."""
    strict = np.tril(t, -1) if lower else np.triu(t, 1)
    return strict + np.conj(np.swapaxes(strict, -1, -2)) + np.real(
        t) * eye(np.shape(t)[-1], like=library(t))


def to_triangle(g, lower=True):
    """The adjoint of `from_triangle`: g's two mirrored entries (the other
    conjugated) summed into the triangle read, zeros in the other, the real
    part of g's diagonal."""
    both = g + np.conj(np.swapaxes(g, -1, -2))
    strict = np.tril(both, -1) if lower else np.triu(both, 1)
    return strict + np.real(g) * eye(np.shape(g)[-1], like=library(g))


def nan_to_num_partial(x, where):
    """1.0 where `where(x)` (np.isfinite, np.isnan, ...), else 0.0: a
    partial of np.nan_to_num."""
    if _is_complex(x):
        if not np.all(np.isfinite(x)):
            raise errors.UnsupportedCallError(
                "np.nan_to_num of complex values that are not finite is not "
                "differentiated (their real and imaginary parts are replaced "
                "separately); apply it to np.real(z) and np.imag(z)")
        return (np.isfinite(x) if where is np.isfinite
                else np.zeros(np.shape(x), bool)) * 1.0
    return where(x) * 1.0


def real_input(x, name):
    """x, refused when complex: a derivative written for real inputs only
    (SciPy's polygamma, which digamma's derivative needs, is real)."""
    if _is_complex(x):
        raise errors.S2SADError(
            f"the derivative of {name} of complex values is not supported: "
            "SciPy computes polygamma for real values only; differentiate "
            "its real and imaginary parts separately")
    return x


def inside(x, low, high):
    """1.0 where low <= x <= high (a None bound is open), else 0.0."""
    x = as_array(x)
    mask = np.ones_like(x, dtype=bool)
    if low is not None:
        mask &= x >= array_of(low)
    if high is not None:
        mask &= x <= array_of(high)
    return _as_float(mask)


def _as_float(mask):
    """A boolean mask as 1.0 and 0.0 (a Python float for a single value)."""
    return mask.astype(float) if mask.ndim or foreign(mask) else float(mask)


def clip_low(x, low, high):
    """The partial of np.clip(x, low, high) = min(max(x, low), high) w.r.t.
    low: 1.0 where low > x and low <= high."""
    mask = as_array(x) < array_of(low)
    if high is not None:
        mask = mask & (array_of(low) <= array_of(high))
    return _as_float(mask)


def clip_high(x, low, high):
    """The partial of np.clip w.r.t. high: 1.0 where max(x, low) > high."""
    mask = as_array(x) > array_of(high)
    if low is not None:
        mask = mask | (array_of(low) > array_of(high))
    return _as_float(mask)


def balanced_max_partial(a, b):
    """The partial of max(a, b) w.r.t. a: 1 where a wins, 1/2 on ties."""
    if a.__class__ in _REAL_SCALARS and b.__class__ in _REAL_SCALARS:
        # (two numbers, at once: a number, 0 where either is nan)
        return 1.0 if a > b else 0.5 if a == b else 0.0
    return np.where(np.greater(a, b), 1.0, np.where(np.equal(a, b), 0.5, 0.0))


_REAL_SCALARS = (float, int, np.float64)


# ---- containers: s2sad's SSA form never changes a list, dict or array in
# place; `xs.append(v)` is `xs = appended(xs, v)`, `y[i] = v` is
# `y = setitem(y, i, v)`. The adjoint of a list or tuple is an object array
# (`sequence`), of a dict a `DictAdjoint`, so that `+` adds item by item.

class DictAdjoint(dict):
    """The adjoint of a dict: one adjoint per key; `+` adds key by key, and
    a number scales every entry (adjoints are vectors: the optimiser writes
    `g + g` as `2.0 * g`)."""

    def __mul__(self, other):
        if isinstance(other, dict) or np.ndim(other) != 0:
            return NotImplemented
        return DictAdjoint({k: v * other for k, v in self.items()})

    __rmul__ = __mul__

    def __neg__(self):
        return DictAdjoint({k: -v for k, v in self.items()})

    def __sub__(self, other):
        return self + -other

    def __rsub__(self, other):
        return -self + other

    def __add__(self, other):
        out = DictAdjoint(self)
        if isinstance(other, dict):
            for key, value in other.items():
                out[key] = out[key] + value if key in out else value
        elif not (isinstance(other, (int, float)) and other == 0):
            return NotImplemented
        return out

    __radd__ = __add__


def appended(items, value):
    """`items` with `value` added at the end, as a new list."""
    if getattr(items, "dtype", None) == object:  # an adjoint stays one
        return sequence(list(items) + [value])
    return list(items) + [value]


def appended_owned(items, value):
    """`items.append(value)` in `items` itself, a list the generated code
    owns that nothing reads again as it was (see s2sad.inplace); returns
    items."""
    if items.__class__ is list:
        items.append(value)
        return items
    return appended(items, value)


def appended_in_place(items, value):
    """`appended_owned` of a list whose earlier versions are read, their
    items going forward before the next append, and anything of them in
    the backward sweep, which takes the item off again when it reaches the
    append (`unappended`): what it differentiates next reads the list as
    it was (see s2sad.inplace)."""
    return appended_owned(items, value)


def unappended(y, items):
    """Undo `y = appended_in_place(items, value)` where it appended in
    place (y is items)."""
    if y is items:
        y.pop()


def concatenated(a, b):
    """`a + b` for lists or tuples (an adjoint, an object array, stays one)."""
    if getattr(a, "dtype", None) == object or getattr(b, "dtype", None) == object:
        return sequence(list(a) + list(b))
    if not (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))):
        raise errors.S2SADError(
            f"`+` of a {type(a).__name__} and a {type(b).__name__}: s2sad "
            "took it for joining two lists or tuples; for arithmetic, make "
            "the tuple an array (np.array(...)) first")
    return a + b


def repeated(items, n):
    """`items * n` for a list or tuple (`[0.0] * n`); an adjoint (an object
    array) is repeated as a list would be. An `n` that is no int (an
    array, with which `*` is NumPy's product) is refused."""
    if n.__class__ is not int:
        try:  # (an array, even 0-d with an int, multiplies item by item)
            if isinstance(n, np.ndarray):
                raise TypeError
            operator.index(n)
        except TypeError:
            raise errors.S2SADError(
                f"`*` of a list or tuple and a {type(n).__name__}: s2sad "
                "differentiates it as repeating the list, which needs an "
                "int; for NumPy's product, make the list an array first "
                "(np.array(...))") from None
    if getattr(items, "dtype", None) == object:
        return sequence(list(items) * n)
    if not isinstance(items, (list, tuple)):
        raise errors.S2SADError(
            f"`*` of a {type(items).__name__} and an int: s2sad took it for "
            "repeating a list or tuple; for arithmetic, make the tuple an "
            "array (np.array(...)) first")
    return items * n


def repeated_adjoint(g, items, n):
    """The adjoint of `repeated(items, n)`: the adjoint `g` of the repeated
    list folded back onto items, item i the sum of its n copies'."""
    if g.__class__ is float:  # (a zero adjoint of the whole list)
        return g
    size = len(items)
    folded = []
    for i in range(size):
        total = 0.0
        for k in range(max(n, 0)):
            total = total + g[i + k * size]
        folded.append(total)
    return sequence(folded)


def popped(items, index=-1):
    """`(items without items[index], items[index])`, leaving items as is
    (for a dict, the key `index`)."""
    if isinstance(items, dict):
        rest = type(items)(items)
        return rest, rest.pop(index)
    rest = list(items)
    value = rest.pop(index)
    if getattr(items, "dtype", None) == object:
        rest = sequence(rest)
    return rest, value


def inserted(items, index, value):
    """The inverse of `popped(items, index)`: `value` put back at `index`
    (counted, when negative, from the end of the list it was popped from)."""
    if isinstance(items, dict):
        out = type(items)(items)
        out[index] = value
        return out
    out = list(items)
    out.insert(index if index >= 0 else len(out) + 1 + index, value)
    return sequence(out) if getattr(items, "dtype", None) == object else out


def spread_over(g, items):
    """The adjoint of Python's `sum(items)`: `g` for every item (summed
    down to the item's shape where the sum broadcast it)."""
    if _is_sequence(items):
        return sequence([unbroadcast(g, item) for item in items])
    return _spread(g, np.shape(items), _float_type(g, items), items)


def spread_adjoint(b, items):
    """The transpose of `spread_over`: the items' adjoints `b` added up
    (broadcast to the shape their sum takes)."""
    if _is_sequence(items):
        total = 0.0
        for item in b:
            total = total + item
        return total
    return np.sum(b, axis=0)


def setitem(x, index, value):
    """A copy of `x` (an array, list or dict) with `x[index] = value`."""
    if isinstance(x, dict):
        out = type(x)(x)
    elif isinstance(x, (list, tuple)):  # (a tuple: a list's tangent)
        out = list(x)
        if index.__class__ is slice:
            value = list(value)
            if len(value) != len(out[index]):
                raise errors.UnsupportedSyntaxError(
                    "a slice assignment that changes a list's length ("
                    f"{len(out[index])} items replaced by {len(value)}) is "
                    "not differentiated; make the new list instead (`v = "
                    "v[:a] + w + v[b:]`)")
        out[index] = value
        return out if isinstance(x, list) else type(x)(out)
    elif x.__class__ is np.ndarray or not foreign(x):
        out = np.array(x, copy=True)
        index = _item_index(out, index)
        if out.dtype.kind == "O" and value.__class__ is float and \
                value == 0.0:  # (the adjoint of a list whose items changed)
            _clear_items(out, index)
            return out
    else:  # (an array of another library: a copy by that library)
        out = x.copy()
    out[index] = value
    return out


def _clear_items(g, index):
    """`g[index] = 0.0` in `g`, an object array: the adjoint of a list,
    whose items at `index` a setitem replaced. An item that is itself the
    adjoint of a list or dict gets that structure's zero instead, which the
    adjoint of the list that was there reads by item (`rows = [r, s]; rows[0]
    = [a, b]`, r's items read again through rows)."""
    if isinstance(index, (int, np.integer)):
        item = g[index]
        g[index] = zeros_like(item) if item.__class__ is np.ndarray and \
            item.dtype.kind == "O" or item.__class__ is DictAdjoint else 0.0
        return
    for k in np.arange(len(g))[index].ravel():
        _clear_items(g, int(k))


def _item_index(adjoints, index):
    """`index` as a list reads it, for the object array holding a list's
    adjoints: a Python bool is the int it equals (`xs[x > 0]`, `xs[flag]`),
    which NumPy would take for a mask."""
    if index.__class__ is bool and adjoints.__class__ is _ndarray and \
            adjoints.dtype.kind == "O":
        return int(index)
    return index


# what `overwritten` gives for a value that is not updated in place
_COPIED = type("Copied", (), {"__repr__": lambda self: "<copied>"})()


def _updatable(x, index):
    """Can `x[index] = value` be done in x itself: a writeable array, or a
    list written at an int (which keeps its length)?"""
    if x.__class__ is np.ndarray:
        return x.flags.writeable
    return x.__class__ is list and (index.__class__ is int or
                                    isinstance(index, np.integer))


def overwritten(x, index):
    """What `x[index] = ...` is about to overwrite, copied, for the backward
    sweep to put back (`restore`); for a value that cannot be updated in
    place (a list, a read-only array), a marker: `setitem_in_place` then
    copies it."""
    if _updatable(x, index):
        old = x[index]
        return old.copy() if old.__class__ is np.ndarray else old
    return _COPIED


def setitem_in_place(x, index, value, old):
    """`x[index] = value` in `x` itself, an array the generated code owns
    (`old`, from `overwritten`, holds what it overwrites); returns x."""
    if old is _COPIED:
        return setitem(x, index, value)
    x[index] = value
    return x


def setitem_owned(x, index, value):
    """`x[index] = value` in `x` itself, an array the generated code owns
    and whose overwritten values nothing reads again; returns x."""
    if _updatable(x, index):
        x[index] = value
        return x
    return setitem(x, index, value)


def cleared(g, index):
    """`setitem(g, index, 0.0)`, written into `g` (an adjoint array the
    generated code owns, whose items at `index` were read before as
    numbers) when `index` picks one element (an int per axis): the adjoint
    of an element assignment in a loop is then O(1), not a copy of g (nor
    of the object array holding a list's adjoints). Anything else (a
    slice, whose read may be a view of g) is copied."""
    index = _item_index(g, index)
    if g.__class__ is np.ndarray and g.dtype.kind in "fcO" and \
            g.flags.writeable and _is_element(index, g.ndim):
        if g.dtype.kind == "O":
            _clear_items(g, index)
        else:
            g[index] = 0.0
        return g
    return setitem(g, index, 0.0)


def owned_adjoint(g):
    """A copy of the adjoint array `g` that a loop then changes in place
    (`cleared`), the object array of a list's adjoints too; an adjoint of
    another kind (a number, a dict's adjoint), which `cleared` copies
    anyway, as it is."""
    if g.__class__ is np.ndarray and g.dtype.kind in "fcO":
        return g.copy()
    return g


def _is_element(index, ndim):
    """Does `index` name one element of an array of `ndim` axes?"""
    parts = index if index.__class__ is tuple else (index,)
    if len(parts) != ndim:
        return False
    for part in parts:
        if part.__class__ is not int and not isinstance(part, np.integer):
            return False
    return True


def restore(x, index, old):
    """Undo `setitem_in_place(x, index, value, old)`: the backward sweep
    reaches the update, and what it differentiates next read x before it."""
    if old is not _COPIED:
        x[index] = old


def item_adjoint(g, index):
    """`g[index]`, the adjoint of the item a setitem wrote (g may be a
    number: the adjoint of a 0-d array)."""
    if g.__class__ is _ndarray or not isinstance(g, (float, int, complex)):
        return g[_item_index(g, index)]
    return as_array(g)[index]


def item_adjoint_copy(g, index):
    """`item_adjoint(g, index)`, copied where it is a view of g (an
    array's slice): what a loop reads of an adjoint it then changes in
    place (see optimize.own_chains)."""
    item = item_adjoint(g, index)
    if item.__class__ is _ndarray and item.base is not None:
        return item.copy()
    return item


def fields(x):
    """The field names of a namedtuple or dataclass (a record), or None."""
    names = getattr(type(x), "_fields", None)
    if names is None and dataclasses.is_dataclass(x) and not isinstance(
            x, type):
        names = tuple(f.name for f in dataclasses.fields(x))
    return names


def _field_index(x, name):
    names = fields(x)
    if names is None or name not in names:
        raise errors.S2SADError(
            f"cannot differentiate the attribute .{name} of a "
            f"{type(x).__name__} object: s2sad differentiates arrays, numbers "
            "and tuples, lists, dicts, namedtuples and dataclasses of them; "
            "pass the parameters in one of those")
    return names.index(name)


def attribute_adjoint(g, x, name):
    """The adjoint of `x.name` for a namedtuple or dataclass x: `g` at that
    field (a dataclass's adjoint is a DictAdjoint of its fields)."""
    index = _field_index(x, name)
    if isinstance(x, tuple):
        return getitem_adjoint(g, x, index)
    out = zeros_like(x)
    out[name] = g
    return out


def attribute_cotangent(g, x, name):
    """The adjoint of `x.T`, `x.real` or `x.imag`: of an array's attribute,
    or of a namedtuple's or dataclass's field that has that name."""
    if fields(x) is not None:
        return attribute_adjoint(g, x, name)
    if name == "T":
        return np.transpose(g)
    if name == "real":
        return as_kind_of(np.real(g), x)
    return -1j * np.real(g)  # .imag (the convention of rules/numpy.py)


def attribute_tangent(t, x, name):
    """The tangent of `x.T`, `x.real` or `x.imag` (`attribute_cotangent`'s
    transpose): of an array's attribute, or of a record's field."""
    if fields(x) is not None:  # a record of tangents, or an adjoint's
        return getattr(t, name) if fields(t) is not None else \
            adjoint_attribute(t, x, name)
    return {"T": np.transpose, "real": np.real}.get(name, np.imag)(t)


def adjoint_attribute(g, x, name):
    """The transpose of `attribute_adjoint`: the entry of the record's
    adjoint g at the field `name`."""
    index = _field_index(x, name)
    return g[index] if isinstance(x, tuple) else g[name]


def record(items, cls):
    """`cls(*items)`: a namedtuple or dataclass made from its fields."""
    return cls(*items)


def record_adjoint(g, cls):
    """The adjoint of `record(items, cls)` with respect to items: g as one
    adjoint per field."""
    if isinstance(g, dict):
        return sequence([g[f.name] if f.name in g else 0.0
                         for f in dataclasses.fields(cls)])
    return g


def fields_adjoint(g, cls):
    """The transpose of `record_adjoint`: per-field adjoints as the
    adjoint of a `cls` (a DictAdjoint for a dataclass)."""
    if dataclasses.is_dataclass(cls):
        return DictAdjoint(zip([f.name for f in dataclasses.fields(cls)], g))
    return g


def replaced(x, name, value):
    """`x` with its field `name` set to value (namedtuple `._replace`,
    `dataclasses.replace`)."""
    if isinstance(x, tuple):
        return x._replace(**{name: value})
    return dataclasses.replace(x, **{name: value})


def replaced_adjoint(g, x, name):
    """The adjoint of a record g with the field `name` zero (the adjoint of
    `replaced` with respect to the record)."""
    index = _field_index(x, name)
    if isinstance(x, tuple):
        return setitem(g, index, zeros_like(x[index]))
    out = DictAdjoint(g)
    out[name] = zeros_like(getattr(x, name))
    return out


def _record_zeros(x):
    if isinstance(x, tuple):
        return sequence([zeros_like(item) for item in x])
    return DictAdjoint({f: zeros_like(getattr(x, f)) for f in fields(x)})


def keep_last(part, x, index):
    """`part`, shaped like `x[index]`, with zeros where a repeated index of
    `x[index] = value` was overwritten by a later one: NumPy keeps the last
    write, so only that element of `value` reaches x."""
    if is_basic_index(index) or not isinstance(x, (np.ndarray, Like)) and \
            not foreign(x):
        return part  # every element written once
    kind = library(x)
    ids = np.full(x.shape, -1, np.int64, like=kind)
    slots = np.reshape(np.arange(size(ids[index]), like=kind),
                       np.shape(ids[index]))
    ids[index] = slots
    return part * (ids[index] == slots)


def tree_like(g, x):
    """A gradient in the structure of the argument `x`: adjoints of tuples,
    lists and dicts (object arrays, `DictAdjoint`s) become tuples, lists
    and dicts again. A zero number for a structure (the cotangent a call
    gives a value it does not differentiate, such as the items a
    derivative of a derivative binds) is zeros in its structure."""
    if x.__class__ is np.ndarray or x.__class__ is float:
        return g
    if g.__class__ is float and g == 0.0 and (
            isinstance(x, (list, tuple, dict)) or _is_dataclass(x)):
        g = zeros_like(x)
    if isinstance(x, dict):
        return {k: tree_like(g[k], v) if k in g else zeros_like(v)
                for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        items = [tree_like(gi, xi) for gi, xi in zip(g, x)]
        if isinstance(x, list):
            return items
        return type(x)(*items) if hasattr(x, "_fields") else tuple(items)
    if _is_dataclass(x):
        return _with_fields(x, {name: tree_like(_field(g, name),
                                                getattr(x, name))
                                for name in fields(x)})
    return g


def tree_adjoint(g, x):
    """The inverse of `tree_like`: a gradient in the structure of `x` as an
    adjoint (object arrays for tuples and lists, a DictAdjoint for dicts)."""
    if isinstance(x, dict):
        return DictAdjoint({k: tree_adjoint(g[k], v) for k, v in x.items()})
    if isinstance(x, (list, tuple)):
        return sequence([tree_adjoint(gi, xi) for gi, xi in zip(g, x)])
    if _is_dataclass(x):
        return DictAdjoint({name: tree_adjoint(_field(g, name),
                                               getattr(x, name))
                            for name in fields(x)})
    return g


# ---- `math` functions the rules of s2sad/rules/math.py call ----


def hypot(coordinates):
    """math.hypot(*coordinates): the form s2sad differentiates math.hypot
    in, its arguments gathered into one sequence (rules.registry.variadic)."""
    return math.hypot(*coordinates)


# the Bernoulli numbers B_2, B_4, ..., B_20 of the asymptotic series
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6,
              -3617 / 510, 43867 / 798, -174611 / 330)


def digamma(x):
    """The digamma function psi(x) = d lgamma(x) / dx of a float (nan at
    the poles 0, -1, -2, ...): the recurrence psi(x) = psi(x + 1) - 1 / x
    carries x to 8 or more, where ten terms of the asymptotic series
    log x - 1 / 2x - sum B_2k / (2k x^2k), summed in Horner's form, leave
    less than 1e-17. (A likelihood calls it once per item: plain
    arithmetic, no generator.)"""
    x = float(x)
    if x <= 0.0 and x == math.floor(x) or x != x:
        return math.nan
    shift = 0.0
    while x < 8.0:
        shift -= 1.0 / x
        x += 1.0
    w = 1.0 / (x * x)
    series = 0.0
    for c in _DIGAMMA_SERIES:  # (highest order first)
        series = series * w + c
    return shift + (math.log(x) - 0.5 / x - series * w)


# B_2k / 2k, the coefficients of digamma's asymptotic series, last first
_DIGAMMA_SERIES = tuple(b / (2 * k) for k, b in reversed(tuple(
    enumerate(_BERNOULLI, 1))))


def polygamma(n, x):
    """The n-th derivative of digamma at a float x (nan at the poles 0, -1,
    -2, ...): the recurrence psi_n(x) = psi_n(x + 1) - (-1)**n n! / x**(n+1)
    carries x to 16 or more, where the asymptotic series converges to
    double precision."""
    if n == 0:
        return digamma(x)
    x = float(x)
    if x <= 0.0 and x == math.floor(x) or math.isnan(x):
        return math.nan
    shift = 0.0
    step = math.factorial(n) * (-1.0) ** n
    while x < 16.0:
        shift -= step / x ** (n + 1)
        x += 1.0
    inv = 1.0 / x  # (its powers underflow to 0 where x's overflow)
    series = math.factorial(n - 1) * inv ** n + math.factorial(n) * (
        0.5 * inv ** (n + 1)) + sum(
        b * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
        * inv ** (2 * k + n) for k, b in enumerate(_BERNOULLI, 1))
    return shift + (-1.0) ** (n + 1) * series

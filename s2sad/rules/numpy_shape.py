"""Rules for NumPy shape functions: adjoint and tangent templates side by side.

All of these functions are linear in their array input, so each tangent
applies the function itself to the input's tangent, and each adjoint applies
the transposed map, built from functions that have rules of their own (so
gradients can be differentiated again). The private helpers below only
compute shapes, axes and constant selection matrices from their arguments:
they are declared non-differentiable.
"""

import numpy as np

from s2sad import errors, runtime, ssa
from s2sad.rules.registry import (
    adjoint, d, float_dtype, linear, non_differentiable, only,
    takes_sequences, tangent, via_output)

# ---- shape-only helpers the templates call ----


def _inverse_axes(axes):
    """The permutation undoing `np.transpose(x, axes)` (None stays None)."""
    if axes is None:
        return None
    n = len(axes)
    return tuple(int(i) for i in np.argsort([int(a) % n for a in axes]))


def _negated(shift):
    """`-shift` for an int or a sequence of ints (np.roll's shift)."""
    if isinstance(shift, (int, np.integer)):
        return -shift
    return tuple(-int(s) for s in shift)


def _tile_shapes(x, reps):
    """For np.tile(x, reps): the output split into (reps_i, shape_i) pairs,
    and the axes of the reps in that split."""
    shape = tuple(np.shape(x))
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    n = max(len(shape), len(reps))
    shape = (1,) * (n - len(shape)) + shape
    reps = (1,) * (n - len(reps)) + reps
    split = tuple(v for pair in zip(reps, shape) for v in pair)
    return split, tuple(range(0, 2 * n, 2))


def _tile_split(x, reps):
    return _tile_shapes(x, reps)[0]


def _tile_axes(x, reps):
    return _tile_shapes(x, reps)[1]


def _hstack_axis(joined):
    """The axis np.hstack joins along: 0 for vectors, else 1."""
    return 0 if np.ndim(joined) == 1 else 1


def _inverse_rollaxis(a, axis, start=0):
    """The permutation undoing np.rollaxis(a, axis, start)."""
    n = np.ndim(a)
    axis, start = axis % n, start + n if start < 0 else start
    if axis < start:
        start -= 1
    order = [i for i in range(n) if i != axis]
    order.insert(start, axis)
    return tuple(int(i) for i in np.argsort(order))


def _sort_axis(axis):
    """The axis np.sort/np.partition works along once axis=None flattened."""
    return -1 if axis is None else axis


def _sort_shape(a, axis):
    """The shape np.sort(a, axis) sorts: flat for axis=None."""
    return (-1,) if axis is None else np.shape(a)


def _take_index(a, indices, axis, mode="raise"):
    """The subscript equal to np.take(a, indices, axis, mode=mode)."""
    n = runtime.size(a) if axis is None else np.shape(a)[axis]
    if mode == "clip":
        indices = np.clip(indices, 0, n - 1)
    elif mode in ("raise", "wrap"):  # "raise": negative indices count back
        indices = runtime.as_array(indices) % n
    else:
        raise errors.S2SADError(f"np.take: mode={mode!r} is not one of "
                                "'raise', 'wrap', 'clip'")
    indices = runtime.array_like(indices, a)  # (a list's: NumPy's)
    if axis is None:
        return np.unravel_index(indices, np.shape(a))
    return (slice(None),) * (axis % np.ndim(a)) + (indices,)


def _diagonal_rows(x, offset=0, axis1=0, axis2=1):
    """R (n, L): R[i, l] = 1 where row i holds element l of the diagonal."""
    shape = np.shape(x)
    n, m = shape[axis1], shape[axis2]
    like = runtime.library(x)
    rows = np.arange(n, like=like)[:, None] - max(-offset, 0)
    length = max(min(n - max(-offset, 0), m - max(offset, 0)), 0)
    return (rows == np.arange(length, like=like)[None, :]).astype(float)


def _diagonal_cols(x, offset=0, axis1=0, axis2=1):
    """C (L, m): C[l, j] = 1 where column j holds element l of the diagonal."""
    shape = np.shape(x)
    n, m = shape[axis1], shape[axis2]
    like = runtime.library(x)
    cols = np.arange(m, like=like)[None, :] - max(offset, 0)
    length = max(min(n - max(-offset, 0), m - max(offset, 0)), 0)
    return (cols == np.arange(length, like=like)[:, None]).astype(float)


def _diag_pad(v, k=0):
    """Pad widths taking np.diag(g, k) to v's shape (see `diag_rev`)."""
    shape = np.shape(v)
    if len(shape) != 2:
        return ((0, 0),) * len(shape)
    size = len(np.diagonal(np.empty(shape, dtype=bool), k)) + abs(k)
    return tuple((0, max(n - size, 0)) for n in shape)


def _diag_crop(v, k=0):
    """The index that crops the padded np.diag(g, k) to v's shape."""
    return tuple(slice(0, n) for n in np.shape(v))


def _pad_crop(array, pad_width, mode="constant"):
    """The index selecting `array` inside np.pad(array, pad_width)."""
    if mode != "constant":
        raise errors.S2SADError(f"np.pad with mode={mode!r} is not "
                                "differentiable yet; only mode='constant'")
    shape = np.shape(array)
    widths = np.broadcast_to(runtime.as_array(pad_width, dtype=int),
                             (len(shape), 2))
    return tuple(slice(int(before), int(before) + n)
                 for (before, _), n in zip(widths, shape))


def _scalar_only(constant_values):
    """1.0, checking that np.pad's differentiated constant is one number."""
    if np.ndim(constant_values) != 0:
        raise errors.S2SADError("np.pad: only a single number as "
                                "constant_values is differentiable yet")
    return 1.0


non_differentiable(_scalar_only, _inverse_axes, _negated, _tile_split,
                   _tile_axes, _hstack_axis, _inverse_rollaxis, _sort_axis,
                   _sort_shape, _take_index, _diagonal_rows,
                   _diagonal_cols, _diag_pad, _diag_crop, _pad_crop)

# ---- reshaping ----


@adjoint(np.reshape)
def reshape(y, a, shape: via_output = None, order="C",
            *, newshape: via_output = None, copy: via_output = None):
    d[a] = np.reshape(d[y], np.shape(a), order=order)


@tangent(np.reshape)
def reshape_fwd(y, a, shape: via_output = None, order="C",
                *, newshape: via_output = None, copy: via_output = None):
    d[y] = np.reshape(d[a], np.shape(y), order=order)


@adjoint(np.ravel)
def ravel(y, a, order="C"):
    d[a] = np.reshape(d[y], np.shape(a), order=order)


@tangent(np.ravel)
def ravel_fwd(y, a, order="C"):
    d[y] = np.ravel(d[a], order=order)


@adjoint(np.expand_dims)
def expand_dims(y, a, axis: via_output):
    d[a] = np.reshape(d[y], np.shape(a))


@tangent(np.expand_dims)
def expand_dims_fwd(y, a, axis):
    d[y] = np.expand_dims(d[a], axis)


@adjoint(np.squeeze)
def squeeze(y, a, axis: via_output = None):
    d[a] = np.reshape(d[y], np.shape(a))


@tangent(np.squeeze)
def squeeze_fwd(y, a, axis=None):
    d[y] = np.squeeze(d[a], axis)


@adjoint(np.atleast_1d)
def atleast_1d(y, x):
    d[x] = np.reshape(d[y], np.shape(x))


@tangent(np.atleast_1d)
def atleast_1d_fwd(y, x):
    d[y] = np.atleast_1d(d[x])


@adjoint(np.atleast_3d)
def atleast_3d(y, x):
    d[x] = np.reshape(d[y], np.shape(x))


@tangent(np.atleast_3d)
def atleast_3d_fwd(y, x):
    d[y] = np.atleast_3d(d[x])


@adjoint(np.atleast_2d)
def atleast_2d(y, x):
    d[x] = np.reshape(d[y], np.shape(x))


@tangent(np.atleast_2d)
def atleast_2d_fwd(y, x):
    d[y] = np.atleast_2d(d[x])


# ---- permuting axes ----

linear(np.swapaxes)


@adjoint(np.transpose)
def transpose(y, a, axes=None):
    d[a] = np.transpose(d[y], _inverse_axes(axes))


@tangent(np.transpose)
def transpose_fwd(y, a, axes=None):
    d[y] = np.transpose(d[a], axes)


@adjoint(np.moveaxis)
def moveaxis(y, a, source, destination):
    d[a] = np.moveaxis(d[y], destination, source)


@tangent(np.moveaxis)
def moveaxis_fwd(y, a, source, destination):
    d[y] = np.moveaxis(d[a], source, destination)


@adjoint(np.rollaxis)
def rollaxis(y, a, axis, start=0):
    d[a] = np.transpose(d[y], _inverse_rollaxis(a, axis, start))


@tangent(np.rollaxis)
def rollaxis_fwd(y, a, axis, start=0):
    d[y] = np.rollaxis(d[a], axis, start)


# ---- broadcasting and repeating ----


@adjoint(np.broadcast_to)
def broadcast_to(y, array, shape: via_output, subok: via_output = False):
    d[array] = runtime.unbroadcast(d[y], array)


@tangent(np.broadcast_to)
def broadcast_to_fwd(y, array, shape: via_output, subok: via_output = False):
    d[y] = runtime.broadcast_like(d[array], y)


@adjoint(np.tile)
def tile(y, A, reps):
    d[A] = np.reshape(np.sum(np.reshape(d[y], _tile_split(A, reps)),
                             axis=_tile_axes(A, reps)), np.shape(A))


@tangent(np.tile)
def tile_fwd(y, A, reps):
    d[y] = np.tile(d[A], reps)


@adjoint(np.repeat)
def repeat(y, a, repeats, axis=None):
    d[a] = runtime.repeat_adjoint(d[y], a, repeats, axis)


@tangent(np.repeat)
def repeat_fwd(y, a, repeats, axis=None):
    d[y] = np.repeat(d[a], repeats, axis)


# ---- reordering elements ----

@adjoint(np.copy)
def copy(y, a, order: via_output = "K", subok: via_output = False):
    d[a] = d[y]  # (an adjoint is never changed in place: no copy)


@tangent(np.copy)
def copy_fwd(y, a, order="K", subok=False):
    d[y] = runtime.copy_of(d[a], order, subok)


linear(np.flip)
linear(np.fliplr)
linear(np.flipud)


@adjoint(np.roll)
def roll(y, a, shift, axis=None):
    d[a] = np.roll(d[y], _negated(shift), axis)


@tangent(np.roll)
def roll_fwd(y, a, shift, axis=None):
    d[y] = np.roll(d[a], shift, axis)


@adjoint(np.rot90)
def rot90(y, m, k=1, axes=(0, 1)):
    d[m] = np.rot90(d[y], -k, axes=axes)


@tangent(np.rot90)
def rot90_fwd(y, m, k=1, axes=(0, 1)):
    d[y] = np.rot90(d[m], k, axes=axes)


# ---- diagonals and triangles ----


@adjoint(np.diagonal)
def diagonal(y, a, offset=0, axis1=0, axis2=1):
    d[a] = np.moveaxis(np.matmul(
        np.expand_dims(d[y], -2) * _diagonal_rows(a, offset, axis1, axis2),
        _diagonal_cols(a, offset, axis1, axis2)), (-2, -1), (axis1, axis2))


@tangent(np.diagonal)
def diagonal_fwd(y, a, offset=0, axis1=0, axis2=1):
    d[y] = np.diagonal(d[a], offset, axis1, axis2)


@adjoint(np.diag)
def diag(y, v, k=0):
    # v a vector: the adjoint reads the k-th diagonal of d[y]. v a matrix:
    # it is np.diag(d[y], k), a square matrix padded or cropped to v's shape.
    d[v] = np.pad(np.diag(d[y], k), _diag_pad(v, k))[_diag_crop(v, k)]


@tangent(np.diag)
def diag_fwd(y, v, k=0):
    d[y] = np.diag(d[v], k)


@adjoint(np.tril)
def tril(y, m, k=0):
    d[m] = runtime.unbroadcast(np.tril(d[y], k), m)  # a vector m broadcasts


@tangent(np.tril)
def tril_fwd(y, m, k=0):
    d[y] = np.tril(d[m], k)


@adjoint(np.triu)
def triu(y, m, k=0):
    d[m] = runtime.unbroadcast(np.triu(d[y], k), m)  # a vector m broadcasts


@tangent(np.triu)
def triu_fwd(y, m, k=0):
    d[y] = np.triu(d[m], k)


# ---- padding ----


@adjoint(np.pad)
def pad(y, array, pad_width, mode: only("constant") = "constant",
        constant_values=0):
    d[array] = runtime.as_kind_of(d[y][_pad_crop(array, pad_width, mode)],
                                  array)
    d[constant_values] = runtime.as_kind_of(_scalar_only(constant_values) * (
        np.sum(d[y]) - np.sum(d[y][_pad_crop(array, pad_width, mode)])),
        constant_values)


@tangent(np.pad)
def pad_fwd(y, array, pad_width, mode: only("constant") = "constant",
            constant_values=0):
    d[y] = np.pad(d[array], pad_width, mode=mode) + np.pad(
        runtime.zeros(np.shape(array), np.result_type(d[constant_values]),
                      runtime.library(array)),
        pad_width, mode=mode, constant_values=d[constant_values])


# ---- joining and splitting ----
# A list argument's adjoint is a sequence of adjoints, one per item (an
# object array, see runtime.sequence); its tangent is the list of tangents.


# np.row_stack: NumPy's deprecated name of np.vstack (gone in NumPy 2.5)
_ROW_STACK = getattr(np, "row_stack", np.vstack)

takes_sequences(np.concatenate, np.hstack, np.vstack, _ROW_STACK, np.dstack,
                np.column_stack, np.stack, np.array, np.asarray, np.copy)


@adjoint(np.concatenate)
def concatenate(y, arrays, axis=0, out: only(None) = None, *,
                dtype: float_dtype = None, casting: via_output = "same_kind"):
    d[arrays] = runtime.concatenate_adjoint(d[y], arrays, axis)


@tangent(np.concatenate)
def concatenate_fwd(y, arrays, axis=0, out: only(None) = None,
                    *, dtype: float_dtype = None,
                    casting: via_output = "same_kind"):
    d[y] = np.concatenate(d[arrays], axis)


@adjoint(np.hstack)
def hstack(y, tup, *, dtype: float_dtype = None,
           casting: via_output = "same_kind"):
    d[tup] = runtime.concatenate_adjoint(d[y], tup, _hstack_axis(y))


@tangent(np.hstack)
def hstack_fwd(y, tup, *, dtype: float_dtype = None,
               casting: via_output = "same_kind"):
    d[y] = np.hstack(d[tup])


@adjoint(np.vstack, _ROW_STACK)
def vstack(y, tup, *, dtype: float_dtype = None,
           casting: via_output = "same_kind"):
    d[tup] = runtime.concatenate_adjoint(d[y], tup, 0)


@tangent(np.vstack, _ROW_STACK)
def vstack_fwd(y, tup, *, dtype: float_dtype = None,
               casting: via_output = "same_kind"):
    d[y] = np.vstack(d[tup])


@adjoint(np.dstack)
def dstack(y, tup):
    d[tup] = runtime.concatenate_adjoint(d[y], tup, 2)


@tangent(np.dstack)
def dstack_fwd(y, tup):
    d[y] = np.dstack(d[tup])


@adjoint(np.column_stack)
def column_stack(y, tup):
    d[tup] = runtime.concatenate_adjoint(d[y], tup, 1)


@tangent(np.column_stack)
def column_stack_fwd(y, tup):
    d[y] = np.column_stack(d[tup])


@adjoint(np.stack)
def stack(y, arrays, axis=0, out: only(None) = None, *,
          dtype: float_dtype = None, casting: via_output = "same_kind"):
    d[arrays] = runtime.unstack(d[y], arrays, axis)


@tangent(np.stack)
def stack_fwd(y, arrays, axis=0, out: only(None) = None,
              *, dtype: float_dtype = None, casting: via_output = "same_kind"):
    d[y] = np.stack(d[arrays], axis)


@adjoint(np.array, np.asarray)
def array(y, object, dtype: via_output = None, *, copy: via_output = True,
          order: via_output = "K", subok: via_output = False,
          ndmin: via_output = 0, like: only(None) = None):
    """An integer or boolean dtype makes the derivative zero (through_cast
    reads it from the output)."""
    d[object] = runtime.unstack(
        np.reshape(runtime.through_cast(d[y], y), np.shape(object)), object, 0)


@tangent(np.array, np.asarray)
def array_fwd(y, object, dtype: via_output = None, *,
              copy: via_output = True, order: via_output = "K",
              subok: via_output = False, ndmin=0, like: only(None) = None):
    d[y] = runtime.through_cast(
        np.array(runtime.tree_like(d[object], object), ndmin=ndmin), y)


@adjoint(np.split, np.array_split)
def split(y, ary, indices_or_sections: via_output, axis=0):
    # (list: the adjoint of a list is an object array, which another
    # library's concatenate would take for an array, not a sequence)
    d[ary] = np.concatenate(list(d[y]), axis)


@tangent(np.split)
def split_fwd(y, ary, indices_or_sections, axis=0):
    d[y] = np.split(d[ary], indices_or_sections, axis)


@tangent(np.array_split)
def array_split_fwd(y, ary, indices_or_sections, axis=0):
    d[y] = np.array_split(d[ary], indices_or_sections, axis)


@adjoint(np.hsplit)
def hsplit(y, ary, indices_or_sections: via_output):
    d[ary] = np.hstack(list(d[y]))


@tangent(np.hsplit)
def hsplit_fwd(y, ary, indices_or_sections):
    d[y] = np.hsplit(d[ary], indices_or_sections)


@adjoint(np.vsplit)
def vsplit(y, ary, indices_or_sections: via_output):
    d[ary] = np.vstack(list(d[y]))


@tangent(np.vsplit)
def vsplit_fwd(y, ary, indices_or_sections):
    d[y] = np.vsplit(d[ary], indices_or_sections)


@adjoint(np.dsplit)
def dsplit(y, ary, indices_or_sections: via_output):
    d[ary] = np.dstack(list(d[y]))


@tangent(np.dsplit)
def dsplit_fwd(y, ary, indices_or_sections):
    d[y] = np.dsplit(d[ary], indices_or_sections)


# ---- differences, sorting and selection ----


@adjoint(np.diff)
def diff(y, a, n=1, axis=-1, prepend=None, append=None):
    d[a] = runtime.as_kind_of(runtime.diff_adjoint(
        d[y], a, n, axis, prepend, append), a)
    d[prepend] = runtime.unbroadcast(runtime.diff_adjoint(
        d[y], a, n, axis, prepend, append, 0), prepend)
    d[append] = runtime.unbroadcast(runtime.diff_adjoint(
        d[y], a, n, axis, prepend, append, 2), append)


@tangent(np.diff)
def diff_fwd(y, a, n=1, axis=-1, prepend=None, append=None):
    d[y] = np.diff(np.pad(d[a], runtime.diff_widths(a, axis, prepend, append)),
                   n, axis) + np.diff(np.pad(runtime.broadcast_like(
        d[prepend], runtime.diff_part(a, axis, prepend, append, 0)),
        runtime.diff_widths(a, axis, prepend, append, 0)), n, axis) + np.diff(
        np.pad(runtime.broadcast_like(
            d[append], runtime.diff_part(a, axis, prepend, append, 2)),
            runtime.diff_widths(a, axis, prepend, append, 2)), n, axis)


# Both gather: y = take_along_axis(a, order, along), with `a` flattened for
# axis=None and `order` from np.argsort / np.argpartition.


@adjoint(np.sort)
def sort(y, a, axis=-1, kind=None, order: only(None) = None,
         *, stable: via_output = None):
    along = _sort_axis(axis)
    flat = np.reshape(a, _sort_shape(a, axis))
    d[a] = np.reshape(runtime.take_along_axis_adjoint(
        d[y], flat, np.argsort(flat, along, kind), along), np.shape(a))


@tangent(np.sort)
def sort_fwd(y, a, axis=-1, kind=None, order: only(None) = None,
             *, stable: via_output = None):
    along = _sort_axis(axis)
    d[y] = np.take_along_axis(
        np.reshape(d[a], _sort_shape(a, axis)),
        np.argsort(np.reshape(a, _sort_shape(a, axis)), along, kind), along)


@adjoint(np.partition)
def partition(y, a, kth, axis=-1, kind="introselect",
              order: only(None) = None):
    along = _sort_axis(axis)
    flat = np.reshape(a, _sort_shape(a, axis))
    d[a] = np.reshape(runtime.take_along_axis_adjoint(
        d[y], flat, np.argpartition(flat, kth, along, kind), along),
        np.shape(a))


@tangent(np.partition)
def partition_fwd(y, a, kth, axis=-1, kind="introselect",
                  order: only(None) = None):
    along = _sort_axis(axis)
    d[y] = np.take_along_axis(
        np.reshape(d[a], _sort_shape(a, axis)),
        np.argpartition(np.reshape(a, _sort_shape(a, axis)), kth, along,
                        kind), along)


@adjoint(np.take_along_axis)
def take_along_axis(y, arr, indices, axis):
    d[arr] = runtime.take_along_axis_adjoint(d[y], arr, indices, axis)


@tangent(np.take_along_axis)
def take_along_axis_fwd(y, arr, indices, axis):
    d[y] = np.take_along_axis(d[arr], indices, axis)


@adjoint(np.take)
def take(y, a, indices, axis=None, out: only(None) = None, mode="raise"):
    # np.asarray: a list `a` is an array here, not a list of adjoints
    d[a] = runtime.getitem_adjoint(d[y], runtime.as_array(a),
                                   _take_index(a, indices, axis, mode))


@tangent(np.take)
def take_fwd(y, a, indices, axis=None, out: only(None) = None, mode="raise"):
    d[y] = np.take(d[a], indices, axis, mode=mode)


# ---- casts ----


@adjoint(ssa.method("astype"))
def astype(y, x, dtype: via_output, order: via_output = "K",
           casting: via_output = "unsafe", subok: via_output = True,
           copy: via_output = True):
    """An integer or boolean dtype makes the derivative zero."""
    d[x] = runtime.cast_like(runtime.through_cast(d[y], y), x)


@tangent(ssa.method("astype"))
def astype_fwd(y, x, dtype: via_output, order: via_output = "K",
               casting: via_output = "unsafe", subok: via_output = True,
               copy: via_output = True):
    d[y] = runtime.through_cast(runtime.cast_like(d[x], y), y)


# np.float32(x) and the other floating types as functions: a cast, as
# x.astype(np.float32) (np.float64(x) is float(x)'s rule: no change of
# precision)


@adjoint(np.float32, np.float16, np.longdouble)
def float_type(y, x):
    """The adjoint in x's own precision (real for a real x)."""
    d[x] = runtime.cast_like(d[y], x)


@tangent(np.float32, np.float16, np.longdouble)
def float_type_fwd(y, x):
    d[y] = runtime.cast_like(d[x], y)


# ---- appending ----
# np.append(arr, values, axis) is np.concatenate((arr, values), axis), of
# the ravels for axis=None; a list `arr` (or `values`) gets its adjoint back
# as rows, as np.array's.


def _append_part(g, arr, values, axis, which):
    """The subscript of np.append's output holding `arr` (which=0) or
    `values` (which=1)."""
    along = 0 if axis is None else axis % np.ndim(g)
    n = runtime.size(arr) if axis is None else np.shape(arr)[along]
    return (slice(None),) * along + ((slice(0, n),) if which == 0
                                     else (slice(n, None),))


non_differentiable(_append_part)
takes_sequences(np.append)


@adjoint(np.append)
def append(y, arr, values, axis=None):
    d[arr] = runtime.unstack(np.reshape(d[y][_append_part(
        y, arr, values, axis, 0)], np.shape(arr)), arr, 0)
    d[values] = runtime.unstack(np.reshape(d[y][_append_part(
        y, arr, values, axis, 1)], np.shape(values)), values, 0)


@tangent(np.append)
def append_fwd(y, arr, values, axis=None):
    d[y] = np.append(runtime.tree_like(d[arr], arr), runtime.zeros(
        np.shape(values), float, runtime.library(arr, values)), axis) + \
        np.append(runtime.zeros(np.shape(arr), float, runtime.library(
            arr, values)), runtime.tree_like(d[values], values), axis)


# ---- np.gradient (unit spacing): linear, its adjoint the transposed
# stencil along each axis, read off np.gradient of the identity ----


def _gradient_axes(f, axis):
    """The axes np.gradient(f, axis=axis) differentiates along, in order."""
    ndim = np.ndim(f)
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(int(a) % ndim for a in axes)


def _gradient_stencil(f, axis, edge_order):
    """M (n, n) with np.gradient(v, edge_order=...) = M @ v for a vector v
    as long as f's `axis`."""
    n = np.shape(f)[axis]
    return np.gradient(runtime.eye(n, like=runtime.library(f)), axis=0,
                       edge_order=edge_order)


non_differentiable(_gradient_axes, _gradient_stencil)


def _gradient_adjoint(g, f, axis=None, edge_order=1):
    """The adjoint of np.gradient(f, axis=axis, edge_order=edge_order) at
    `g` (one array, or one per axis): the stencils transposed, summed."""
    axes = _gradient_axes(f, axis)
    pieces = (g,) if len(axes) == 1 else tuple(g)
    total = runtime.zeros(np.shape(f), np.result_type(*pieces, float),
                          runtime.library(f, *pieces))
    for piece, along in zip(pieces, axes):
        stencil = _gradient_stencil(f, along, edge_order)
        total = total + np.moveaxis(np.tensordot(
            stencil, np.moveaxis(piece, along, 0), axes=(0, 0)), 0, along)
    return total


def _gradient_pieces(h, f, axis=None, edge_order=1):
    """The transpose of `_gradient_adjoint`: np.gradient of h, given as one
    adjoint per axis (a sequence) when there are several."""
    out = np.gradient(h, axis=axis, edge_order=edge_order)
    if len(_gradient_axes(f, axis)) == 1:
        return out
    return runtime.sequence(list(out))


@adjoint(np.gradient)
def gradient(y, f, *, axis=None, edge_order=1):
    d[f] = _gradient_adjoint(d[y], f, axis, edge_order)


@tangent(np.gradient)
def gradient_fwd(y, f, *, axis=None, edge_order=1):
    d[y] = np.gradient(d[f], axis=axis, edge_order=edge_order)


@adjoint(_gradient_adjoint, constants=("f",))
def gradient_adjoint_rev(y, g, f: via_output, axis=None, edge_order=1):
    d[g] = _gradient_pieces(d[y], f, axis, edge_order)


@tangent(_gradient_adjoint)
def gradient_adjoint_fwd(y, g, f, axis=None, edge_order=1):
    d[y] = _gradient_adjoint(d[g], f, axis, edge_order)


@adjoint(_gradient_pieces, constants=("f",))
def gradient_pieces_rev(y, h, f: via_output, axis=None, edge_order=1):
    d[h] = _gradient_adjoint(d[y], f, axis, edge_order)


@tangent(_gradient_pieces)
def gradient_pieces_fwd(y, h, f, axis=None, edge_order=1):
    d[y] = _gradient_pieces(d[h], f, axis, edge_order)


# ---- np.r_ and np.c_: indexing an index trick joins the items ----
# `np.r_[x, c, 1:4]` is linear in the arrays among its items (slices make
# constant aranges, strings are directives): its tangent is the same
# index with the items' tangents in their place, and the adjoint of each
# item is read back through labels: the item's element numbers joined with
# zeros for the others.


_INDEX_TRICKS = (type(np.r_), type(np.c_))


def _trick_items(x, index):
    """The items of `x[index]` for an index trick x (np.r_, np.c_)."""
    if not isinstance(x, _INDEX_TRICKS):
        raise errors.S2SADError(
            f"indexing {type(x).__name__} with a differentiated value in the "
            "index has no derivative; only np.r_[...] and np.c_[...] join "
            "the values in their index")
    return index if isinstance(index, tuple) else (index,)


def _trick_zeros(x, item):
    """Zeros standing for `item` in an index trick's index."""
    if isinstance(item, str):
        return item
    if isinstance(item, slice):
        return np.zeros(np.shape(x[item]))
    return np.zeros(np.shape(item))


def _index_trick_apply(tangents, x, index):
    """x[index] with the items replaced by `tangents` (one per item; slices
    and strings are constant)."""
    items = _trick_items(x, index)
    if not isinstance(index, tuple):
        tangents = (tangents,)
    joined = tuple(
        item if isinstance(item, str) else _trick_zeros(x, item)
        if isinstance(item, slice) else np.zeros(np.shape(item)) + tangent
        for item, tangent in zip(items, tangents))
    return x[joined if isinstance(index, tuple) else joined[0]]


def _index_trick_adjoint(g, x, index):
    """The transpose of `_index_trick_apply`: one adjoint per item of the
    index (zero for slices and strings)."""
    items = _trick_items(x, index)
    g = runtime.as_array(g)
    adjoints = []
    for k, item in enumerate(items):
        if isinstance(item, (str, slice)):
            adjoints.append(0.0)
            continue
        shape = np.shape(item)
        size = int(np.prod(shape, dtype=np.int64))
        labelled = tuple(
            np.reshape(np.arange(1.0, size + 1.0), shape) if i == k
            else _trick_zeros(x, other) for i, other in enumerate(items))
        labels = np.ravel(x[labelled if isinstance(index, tuple)
                            else labelled[0]]).astype(np.int64)

        def gather(part):
            return np.bincount(labels, np.ravel(part), size + 1)[1:]

        piece = gather(np.real(g)) + 1j * gather(np.imag(g)) \
            if np.iscomplexobj(g) else gather(g)
        adjoints.append(runtime.as_kind_of(np.reshape(piece, shape), item))
    if not isinstance(index, tuple):
        return adjoints[0]
    return runtime.sequence(adjoints)


takes_sequences(_index_trick_apply, _index_trick_adjoint)
linear(_index_trick_apply, _index_trick_adjoint)

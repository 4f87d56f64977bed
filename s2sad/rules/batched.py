"""Vector mode's tangent templates (`registry.batched`).

In vector mode each tangent carries a leading axis of k directions: the
tangent of an array of shape s has shape (k,) + s. Elementwise rules need
nothing here (their partials multiply every direction, and the engine puts
a lower-rank input's axes after the directions: `runtime.lifted`); nor do
templates that hold as written (`tangent(..., directions=True)`). The
forms below are for the rules where the leading axis needs care: an axis
of x is axis + 1 of its tangent, a product's operand is on the other side,
an index skips the directions. A rule with none of these runs its tangent
template once per direction (`runtime.per_direction`); tests/test_rules.py
checks every rule's vector mode against single directions and lists those.
"""

import builtins
import operator

import numpy as np

from s2sad import runtime
from s2sad.rules.numpy_reductions import (
    _initial_weight, _product_of_others, _safe_reciprocal, _tie_weights)
from s2sad.rules.numpy_shape import _index_trick_apply
from s2sad.rules.registry import (
    attribute, batched, d, float_dtype, only, via_output)

# ---- products ----


@batched(operator.matmul, np.matmul, runtime.imatmul, runtime.saved_product)
def matmul_batched(z, x, y):
    d[z] = runtime.directions_matmul_a(d[x], y) + \
        runtime.directions_matmul_b(x, d[y])


@batched(np.dot)
def dot_batched(z, x, y):
    d[z] = runtime.directions_dot_a(d[x], y) + \
        runtime.directions_dot_b(x, d[y])


@batched(runtime.matmul_adjoint_a)
def matmul_adjoint_a_batched(y, g, a, b):
    d[y] = runtime.directions_matmul_adjoint_a(d[g], a, b) + \
        runtime.directions_matmul_adjoint_of_b(g, a, d[b])


@batched(runtime.matmul_adjoint_b)
def matmul_adjoint_b_batched(y, g, a, b):
    d[y] = runtime.directions_matmul_adjoint_b(d[g], a, b) + \
        runtime.directions_matmul_adjoint_of_a(g, d[a], b)


# ---- reductions ----


@batched(np.sum)
def sum_batched(y, x, axis=None, dtype: float_dtype = None,
                out: only(None) = None, keepdims=False, initial=0.0,
                where=True):
    d[y] = np.sum(d[x], axis=runtime.after_directions(axis, x),
                  keepdims=keepdims, where=where) + \
        runtime.broadcast_directions(d[initial], y)


@batched(np.mean)
def mean_batched(y, x, axis=None, dtype: float_dtype = None,
                 out: only(None) = None, keepdims=False, *, where=True):
    d[y] = np.mean(d[x], axis=runtime.after_directions(axis, x),
                   keepdims=keepdims, where=where)


@batched(np.prod)
def prod_batched(y, a, axis=None, dtype: float_dtype = None,
                 out: only(None) = None, keepdims=False):
    others = _product_of_others(a, axis)
    d[y] = np.sum(d[a] * others, axis=runtime.after_directions(axis, a),
                  keepdims=keepdims)


@batched(np.max, np.amax, np.min, np.amin, np.nanmax, np.nanmin)
def extremum_batched(y, a, axis=None, out: only(None) = None,
                     keepdims=False, initial=None, where=True):
    d[y] = np.sum(d[a] * _tie_weights(
        a, y, axis, keepdims, initial=initial, where=where),
        axis=runtime.after_directions(axis, a), keepdims=keepdims) + \
        runtime.lifted(d[initial], y) * _initial_weight(
            a, y, axis, keepdims, initial=initial, where=where)


def _centred_directions(t, a, axis, keepdims):
    """Re sum(t * conj(a - mean a)) over `axis`, per direction of the
    tangents t of a: var's and std's tangents, up to a factor."""
    return np.real(np.sum(t * np.conj(a - np.mean(a, axis=axis,
                                                  keepdims=True)),
                          axis=runtime.after_directions(axis, a),
                          keepdims=keepdims))


@batched(np.var)
def var_batched(y, a, axis=None, dtype: float_dtype = None,
                out: only(None) = None, ddof=0, keepdims=False):
    d[y] = _centred_directions(d[a], a, axis, keepdims) * (
        2.0 / (runtime.reduced_size(a, axis) - ddof))


@batched(np.std)
def std_batched(y, a, axis=None, dtype: float_dtype = None,
                out: only(None) = None, ddof=0, keepdims=False):
    d[y] = _centred_directions(d[a], a, axis, keepdims) * (
        _safe_reciprocal(y) / (runtime.reduced_size(a, axis) - ddof))


@batched(np.cumsum)
def cumsum_batched(y, a, axis=None, dtype: float_dtype = None,
                   out: only(None) = None):
    d[y] = runtime.cumsum_directions(d[a], axis)


@batched(np.where)
def where_batched(y, condition, x, z):
    d[y] = np.where(condition, runtime.lifted(d[x], y), 0.0) + \
        np.where(condition, 0.0, runtime.lifted(d[z], y))


# ---- indexing ----


def _index_trick_directions(t, x, index):
    return runtime.per_direction(
        lambda direction: _index_trick_apply(direction, x, index), t)


@batched(operator.getitem)
def getitem_batched(y, x, index):
    d[y] = runtime.getitem_directions(d[x], x, index) + \
        _index_trick_directions(d[index], x, index)


@batched(runtime.setitem, runtime.setitem_owned, structural=True)
def setitem_batched(y, x, index, value):
    d[y] = runtime.through_cast(runtime.setitem_directions(
        runtime.as_kind_of(d[x], x), index, d[value]), y)


@batched(runtime.setitem_in_place, structural=True)
def setitem_in_place_batched(y, x, index, value, old: via_output):
    d[y] = runtime.through_cast(runtime.setitem_directions(
        runtime.as_kind_of(d[x], x), index, d[value]), y)


# ---- shapes ----


@batched(np.reshape)
def reshape_batched(y, a, shape: via_output = None, order="C",
                    *, newshape: via_output = None, copy: via_output = None):
    d[y] = runtime.reshape_directions(d[a], y, order)


@batched(np.ravel)
def ravel_batched(y, a, order="C"):
    d[y] = runtime.reshape_directions(d[a], y, order)


@batched(np.squeeze)
def squeeze_batched(y, a, axis: via_output = None):
    d[y] = runtime.reshape_directions(d[a], y)


@batched(np.expand_dims)
def expand_dims_batched(y, a, axis):
    d[y] = np.expand_dims(d[a], runtime.after_directions(axis, a))


@batched(np.moveaxis)
def moveaxis_batched(y, a, source, destination):
    d[y] = np.moveaxis(d[a], runtime.after_directions(source, a),
                       runtime.after_directions(destination, a))


@batched(np.swapaxes)
def swapaxes_batched(y, a, axis1, axis2):
    d[y] = np.swapaxes(d[a], runtime.after_directions(axis1, a),
                       runtime.after_directions(axis2, a))


@batched(np.broadcast_to)
def broadcast_to_batched(y, array, shape: via_output,
                         subok: via_output = False):
    d[y] = runtime.broadcast_directions(d[array], y)


@batched(np.concatenate)
def concatenate_batched(y, arrays, axis=0, out: only(None) = None,
                        *, dtype: float_dtype = None,
                        casting: via_output = "same_kind"):
    d[y] = runtime.joined_directions(np.concatenate, d[arrays], axis)


@batched(np.stack)
def stack_batched(y, arrays, axis=0, out: only(None) = None,
                  *, dtype: float_dtype = None,
                  casting: via_output = "same_kind"):
    d[y] = runtime.joined_directions(np.stack, d[arrays], axis)


@batched(np.transpose)
def transpose_batched(y, a, axes=None):
    d[y] = runtime.transpose_directions(d[a], axes)


@batched(attribute("T"), attribute("real"), attribute("imag"))
def array_attribute_batched(y, x, name):
    d[y] = runtime.attribute_directions(d[x], x, name)


# ---- what a gradient's code calls (a Hessian is vector mode over it) ----


@batched(runtime.unbroadcast)
def unbroadcast_batched(y, g, x):
    d[y] = runtime.unbroadcast_directions(d[g], x)


@batched(runtime.broadcast_like)
def broadcast_like_batched(y, g, target):
    d[y] = runtime.broadcast_directions(d[g], target)


@batched(runtime.unreduce)
def unreduce_batched(y, g, x, axis=None, keepdims=False, where=True):
    d[y] = runtime.unreduce_directions(d[g], x, axis, keepdims, where=where)


@batched(runtime.expand_reduced)
def expand_reduced_batched(y, g, x, axis=None, keepdims=False):
    d[y] = runtime.expand_reduced_directions(d[g], x, axis, keepdims)


@batched(runtime.gradient)
def gradient_batched(y, g, x):
    d[y] = runtime.gradient_directions(d[g], x)


@batched(np.roll)
def roll_batched(y, a, shift, axis=None):
    d[y] = runtime.roll_directions(d[a], shift, axis)


@batched(np.array, np.asarray)
def array_batched(y, object, dtype: via_output = None, *,
                  copy: via_output = True, order: via_output = "K",
                  subok: via_output = False, ndmin: via_output = 0,
                  like: only(None) = None):
    d[y] = runtime.through_cast(runtime.reshape_directions(
        runtime.array_of_directions(runtime.tree_like(d[object], object)),
        y), y)


@batched(runtime.unbroadcast_to)
def unbroadcast_to_batched(y, g, shape):
    d[y] = runtime.unbroadcast_to_directions(d[g], shape)


@batched(runtime.unstack)
def unstack_batched(y, g, arrays, axis=0):
    d[y] = runtime.unstack_directions(d[g], g, arrays, axis)


@batched(runtime.concatenate_adjoint)
def concatenate_adjoint_batched(y, g, arrays, axis=0):
    d[y] = runtime.concatenate_adjoint_directions(d[g], g, arrays, axis)


@batched(runtime.dot_adjoint_a)
def dot_adjoint_a_batched(y, g, a, b):
    d[y] = runtime.directions_dot_adjoint_a(d[g], a, b) + \
        runtime.directions_dot_adjoint_of_b(g, a, d[b])


@batched(runtime.dot_adjoint_b)
def dot_adjoint_b_batched(y, g, a, b):
    d[y] = runtime.directions_dot_adjoint_b(d[g], a, b) + \
        runtime.directions_dot_adjoint_of_a(g, d[a], b)


@batched(runtime.attribute_tangent)
def attribute_tangent_batched(y, x, x_of, name):
    d[y] = runtime.attribute_directions(d[x], x_of, name)


@batched(runtime.attribute_cotangent)
def attribute_cotangent_batched(y, g, x, name):
    d[y] = runtime.attribute_directions(d[g], x, name, True)


@batched(runtime.getitem_adjoint)
def getitem_adjoint_batched(y, g, x, index):
    d[y] = runtime.getitem_adjoint_directions(d[g], x, index)


@batched(runtime.item_adjoint, runtime.item_adjoint_copy)
def item_adjoint_batched(y, g, index):
    d[y] = runtime.getitem_directions(d[g], g, index)


# ---- containers: a tangent of a list is a list of tangents ----


@batched(builtins.list)
def list_batched(y, items):
    d[y] = list(runtime.items_directions(d[items], items))


@batched(builtins.tuple)
def tuple_batched(y, items):
    d[y] = tuple(runtime.items_directions(d[items], items))

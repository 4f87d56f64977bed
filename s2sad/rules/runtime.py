"""Rules for the helpers generated code calls, so that generated code can be
differentiated again (gradients of gradients, Hessians).

Each helper is linear in the adjoint it receives, and the matmul/dot ones
bilinear: `matmul_adjoint_a(g, a, b)` is the VJP of `a -> a @ b` at g, so its
adjoint w.r.t. g is that map's forward action `ybar @ b`, and w.r.t. b it is
`matmul_adjoint_b(g, ybar, b)` (both sides equal <g, ybar @ b_dot>). The
array arguments they read only for a shape get no derivative.
"""

import numpy as np

from s2sad import checkpoints, runtime
from s2sad.rules import smooth
from s2sad.rules.registry import (
    adjoint, elementwise, d, linear, non_differentiable, tangent, via_output)

# ---- broadcasting and reductions ----


@adjoint(runtime.unbroadcast, constants=("x",))
def unbroadcast_rev(y, g, x: via_output):
    d[g] = runtime.as_kind_of(runtime.broadcast_like(d[y], g), g)


@tangent(runtime.unbroadcast)
def unbroadcast_fwd(y, g, x):
    d[y] = runtime.unbroadcast(d[g], x)


@adjoint(runtime.unbroadcast_to, constants=("shape",))
def unbroadcast_to_rev(y, g, shape: via_output):
    d[g] = runtime.broadcast_like(d[y], g)


@tangent(runtime.unbroadcast_to)
def unbroadcast_to_fwd(y, g, shape):
    d[y] = runtime.unbroadcast_to(d[g], shape)


@adjoint(runtime.broadcast_like, constants=("target",))
def broadcast_like_rev(y, g, target: via_output):
    d[g] = runtime.unbroadcast(d[y], g)


@tangent(runtime.broadcast_like)
def broadcast_like_fwd(y, g, target):
    d[y] = runtime.broadcast_like(d[g], target)


@adjoint(runtime.unreduce, constants=("x", "axis", "keepdims", "where"))
def unreduce_rev(y, g, x: via_output, axis=None, keepdims=False, where=True):
    d[g] = np.sum(d[y], axis=axis, keepdims=keepdims, where=where)


@tangent(runtime.unreduce)
def unreduce_fwd(y, g, x, axis=None, keepdims=False, where=True):
    d[y] = runtime.unreduce(d[g], x, axis, keepdims, where=where)


@adjoint(runtime.expand_reduced, constants=("x", "axis", "keepdims"))
def expand_reduced_rev(y, g, x: via_output, axis: via_output = None,
                       keepdims: via_output = False):
    d[g] = np.reshape(d[y], np.shape(g))


@tangent(runtime.expand_reduced)
def expand_reduced_fwd(y, g, x, axis=None, keepdims=False):
    d[y] = runtime.expand_reduced(d[g], x, axis, keepdims)


@adjoint(runtime.getitem_adjoint, constants=("x", "index"))
def getitem_adjoint_rev(y, g, x: via_output, index):
    # (item_adjoint: a list's adjoints read at a bool index as the list is)
    d[g] = runtime.item_adjoint(d[y], index)


@tangent(runtime.getitem_adjoint)
def getitem_adjoint_fwd(y, g, x, index):
    d[y] = runtime.getitem_adjoint(d[g], x, index)


# ---- joining, splitting and repeating ----


@adjoint(runtime.concatenate_adjoint, constants=("arrays", "axis"))
def concatenate_adjoint_rev(y, g, arrays: via_output, axis=0):
    d[g] = runtime.as_kind_of(runtime.concatenate_pieces(d[y], g, axis), g)


@tangent(runtime.concatenate_adjoint)
def concatenate_adjoint_fwd(y, g, arrays, axis=0):
    d[y] = runtime.concatenate_adjoint(d[g], arrays, axis)


@adjoint(runtime.concatenate_pieces, constants=("g", "axis"))
def concatenate_pieces_rev(y, pieces, g: via_output, axis=0):
    d[pieces] = runtime.concatenate_adjoint(d[y], pieces, axis)


@tangent(runtime.concatenate_pieces)
def concatenate_pieces_fwd(y, pieces, g, axis=0):
    d[y] = runtime.concatenate_pieces(d[pieces], g, axis)


# unstack(g, arrays) gives each piece the kind of its array (real or
# complex): its adjoint gives g's kind back.


@adjoint(runtime.unstack, constants=("arrays", "axis"))
def unstack_rev(y, g, arrays, axis=0):
    d[g] = runtime.as_kind_of(runtime.stack_pieces(d[y], arrays, axis), g)


@tangent(runtime.unstack)
def unstack_fwd(y, g, arrays, axis=0):
    d[y] = runtime.unstack(d[g], arrays, axis)


@adjoint(runtime.stack_pieces, constants=("arrays", "axis"))
def stack_pieces_rev(y, pieces, arrays, axis=0):
    d[pieces] = runtime.unstack(d[y], arrays, axis)


@tangent(runtime.stack_pieces)
def stack_pieces_fwd(y, pieces, arrays, axis=0):
    d[y] = runtime.stack_pieces(d[pieces], arrays, axis)


@adjoint(runtime.closure, constants=("function", "name"))
def closure_rev(y, function: via_output, values, name: via_output):
    d[values] = d[y]  # a closure's cotangent holds its values'


@tangent(runtime.closure)
def closure_fwd(y, function: via_output, values, name: via_output):
    d[y] = d[values]


@adjoint(runtime.bound)
def bound_rev(y, function):
    d[function] = runtime.sequence(d[y])  # a closure's cotangent: per value


@tangent(runtime.bound)
def bound_fwd(y, function):
    d[y] = runtime.bound(d[function])


# A gradient in its argument's structure (tree_like) and back as an adjoint
# (tree_adjoint): the values are the same, only the containers differ. The
# cotangent of either is an adjoint (object arrays for tuples and lists, a
# DictAdjoint for dicts), never a plain tuple, list or dict: both adjoints
# are tree_adjoint.
linear(runtime.tree_like, runtime.tree_adjoint, back=runtime.tree_adjoint,
       directions=True)


# Python's sum: spread_over and its transpose spread_adjoint, whose own
# adjoint spreads over the items' adjoints (of their kind, not the items')


@adjoint(runtime.spread_over, constants=("items",))
def spread_over_rev(y, g, items: via_output):
    d[g] = runtime.spread_adjoint(d[y], items)


@tangent(runtime.spread_over)
def spread_over_fwd(y, g, items):
    d[y] = runtime.spread_over(d[g], items)


@adjoint(runtime.spread_adjoint, constants=("items",))
def spread_adjoint_rev(y, b, items: via_output):
    d[b] = runtime.spread_over(d[y], b)


@tangent(runtime.spread_adjoint)
def spread_adjoint_fwd(y, b, items):
    d[y] = runtime.spread_adjoint(d[b], items)
linear(runtime.sequence, directions=True)
linear(runtime.keep_last, directions=True)  # (a mask of part's shape)
# zero or the identity: self-adjoint
linear(runtime.through_cast, directions=True)
linear(runtime.owned_copy, directions=True)  # a copy: the identity
linear(runtime.owned_argument, directions=True)  # likewise
linear(runtime.changed, directions=True)  # the identity
linear(runtime.copy_of, directions=True)  # likewise
linear(runtime.as_float)  # likewise
# (the optimiser's) likewise
linear(runtime.owned_adjoint, directions=True)
# the identity, refusing complex values
linear(runtime.real_input, directions=True)
linear(runtime.attribute_tangent, runtime.attribute_cotangent)


# (item_adjoint_copy: the same values)
@adjoint(runtime.item_adjoint, runtime.item_adjoint_copy, constants=("index",))
def item_adjoint_rev(y, g, index: via_output):
    d[g] = runtime.setitem(runtime.zeros_like(g), index, d[y])


@tangent(runtime.item_adjoint, runtime.item_adjoint_copy)
def item_adjoint_fwd(y, g, index):
    d[y] = runtime.item_adjoint(d[g], index)


@adjoint(runtime.repeat_adjoint, constants=("x", "repeats", "axis"))
def repeat_adjoint_rev(y, g, x: via_output, repeats, axis=None):
    d[g] = np.reshape(np.repeat(d[y], repeats, axis), np.shape(g))


@tangent(runtime.repeat_adjoint)
def repeat_adjoint_fwd(y, g, x, repeats, axis=None):
    d[y] = runtime.repeat_adjoint(d[g], x, repeats, axis)


@adjoint(runtime.fit_to, constants=("x",))
def fit_to_rev(y, g, x: via_output):
    d[g] = runtime.fit_to(d[y], g)


@tangent(runtime.fit_to)
def fit_to_fwd(y, g, x):
    d[y] = runtime.fit_to(d[g], x)


@adjoint(runtime.take_along_axis_adjoint, constants=("arr", "indices", "axis"))
def take_along_axis_adjoint_rev(y, g, arr: via_output, indices, axis):
    d[g] = np.take_along_axis(d[y], indices, axis)


@tangent(runtime.take_along_axis_adjoint)
def take_along_axis_adjoint_fwd(y, g, arr, indices, axis):
    d[y] = runtime.take_along_axis_adjoint(d[g], arr, indices, axis)


@adjoint(runtime.diff_adjoint, constants=("a", "n", "axis", "prepend", "append", "part"))
def diff_adjoint_rev(y, g, a, n=1, axis=-1, prepend=None, append=None,
                     part=1):
    d[g] = np.diff(np.pad(d[y], runtime.diff_widths(a, axis, prepend, append,
                                                    part)), n, axis)


@tangent(runtime.diff_adjoint)
def diff_adjoint_fwd(y, g, a, n=1, axis=-1, prepend=None, append=None,
                     part=1):
    d[y] = runtime.diff_adjoint(d[g], a, n, axis, prepend, append, part)


@adjoint(runtime.cast_like, constants=("x",))
def cast_like_rev(y, g, x: via_output):
    d[g] = runtime.cast_like(d[y], g)


@tangent(runtime.cast_like, directions=True)  # (elementwise)
def cast_like_fwd(y, g, x):
    d[y] = runtime.cast_like(d[g], x)


@adjoint(runtime.as_kind_of, constants=("x",))
def as_kind_of_rev(y, g, x: via_output):
    d[g] = runtime.as_kind_of(d[y], g)


@tangent(runtime.as_kind_of, directions=True)  # (elementwise, or by item)
def as_kind_of_fwd(y, g, x):
    d[y] = runtime.as_kind_of(d[g], x)


# ---- products ----


@adjoint(runtime.matmul_adjoint_a, constants=("a",))
def matmul_adjoint_a_rev(y, g, a: via_output, b):
    d[g] = runtime.as_kind_of(np.matmul(d[y], b), g)
    d[b] = runtime.matmul_adjoint_b(g, d[y], b)


@tangent(runtime.matmul_adjoint_a)
def matmul_adjoint_a_fwd(y, g, a, b):
    d[y] = runtime.matmul_adjoint_a(d[g], a, b) + \
        runtime.matmul_adjoint_a(g, a, d[b])


@adjoint(runtime.matmul_adjoint_b, constants=("b",))
def matmul_adjoint_b_rev(y, g, a, b: via_output):
    d[g] = runtime.as_kind_of(np.matmul(a, d[y]), g)
    d[a] = runtime.matmul_adjoint_a(g, a, d[y])


@tangent(runtime.matmul_adjoint_b)
def matmul_adjoint_b_fwd(y, g, a, b):
    d[y] = runtime.matmul_adjoint_b(d[g], a, b) + \
        runtime.matmul_adjoint_b(g, d[a], b)


@adjoint(runtime.dot_adjoint_a, constants=("a",))
def dot_adjoint_a_rev(y, g, a: via_output, b):
    d[g] = runtime.as_kind_of(np.dot(d[y], b), g)
    d[b] = runtime.dot_adjoint_b(g, d[y], b)


@tangent(runtime.dot_adjoint_a)
def dot_adjoint_a_fwd(y, g, a, b):
    d[y] = runtime.dot_adjoint_a(d[g], a, b) + runtime.dot_adjoint_a(g, a, d[b])


@adjoint(runtime.dot_adjoint_b, constants=("b",))
def dot_adjoint_b_rev(y, g, a, b: via_output):
    d[g] = runtime.as_kind_of(np.dot(a, d[y]), g)
    d[a] = runtime.dot_adjoint_a(g, a, d[y])


@tangent(runtime.dot_adjoint_b)
def dot_adjoint_b_fwd(y, g, a, b):
    d[y] = runtime.dot_adjoint_b(d[g], a, b) + runtime.dot_adjoint_b(g, d[a], b)


# ---- the derivative of abs ----


# (smooth.sign_derivative is Python s2sad differentiates: every order)


# the logistic function s of x - y: s (1 - s), as s * logistic(y, x),
# which keeps its relative precision where s is near 1


@elementwise(runtime.logistic)
def logistic(s, x, y):
    return s * runtime.logistic(y, x), -s * runtime.logistic(y, x)


@elementwise(runtime.logistic2)
def logistic2(s, x, y):
    return (s * runtime.logistic2(y, x) * np.log(2.0),
            -s * runtime.logistic2(y, x) * np.log(2.0))


@adjoint(runtime.sign)
def sign_rev(y, x):
    d[x] = smooth.sign_derivative(d[y], x)


@tangent(runtime.sign)
def sign_fwd(y, x):
    d[y] = smooth.sign_derivative(d[x], x)


@adjoint(runtime.array_of)
def array_of_rev(y, x):
    """A list's adjoint is one per item, as np.asarray's; anything else's
    is the output's."""
    d[x] = runtime.unstack(d[y], x)


@tangent(runtime.array_of)
def array_of_fwd(y, x):
    d[y] = runtime.array_of(runtime.tree_like(d[x], x))


non_differentiable(runtime.record_products, runtime.replay_products,
                   runtime.stop_products)


@adjoint(runtime.array_like, constants=("like",))
def array_like_rev(y, x, like: via_output):
    d[x] = runtime.unbroadcast(d[y], x)


@tangent(runtime.array_like)
def array_like_fwd(y, x, like):
    d[y] = runtime.array_like(d[x], like)


@adjoint(runtime.as_array)
def as_array_rev(y, x, dtype: via_output = None):
    d[x] = runtime.unstack(np.reshape(runtime.through_cast(d[y], y),
                                      np.shape(x)), x)


@tangent(runtime.as_array)
def as_array_fwd(y, x, dtype: via_output = None):
    d[y] = runtime.through_cast(runtime.as_array(runtime.tree_like(d[x], x)),
                                y)


non_differentiable(runtime.foreign, runtime.zeros, runtime.size)
non_differentiable(runtime.zeros_like, runtime.zero_tangent,
                   runtime.shape, runtime.nan_to_num_partial,
                   runtime.check_scalar, runtime.seed, runtime.float64_seed,
                   runtime.diff_widths,
                   runtime.diff_part, runtime.reduced_size, runtime.inside,
                   runtime.clip_low, runtime.clip_high,
                   runtime.balanced_max_partial, runtime.not_joined)


# ---- what a gradient function returns ----


@adjoint(runtime.gradient, constants=("x",))
def gradient_rev(y, g, x: via_output):
    d[g] = runtime.unbroadcast(d[y], g)


@tangent(runtime.gradient)
def gradient_fwd(y, g, x):
    d[y] = runtime.gradient(d[g], x)


@adjoint(runtime.gradients, constants=("xs", "others"))
def gradients_rev(y, gs, xs: via_output, others: via_output = ()):
    d[gs] = runtime.ungradients(d[y], gs)


@tangent(runtime.gradients, structural=True)
def gradients_fwd(y, gs, xs, others: via_output = ()):
    d[y] = runtime.gradients(d[gs], xs)


# the identity, or zeros for a dict's keys (each the other's transpose)
linear(runtime.iterable_adjoint, runtime.iterable_tangent)
linear(runtime.from_triangle, runtime.to_triangle)


# a checkpointed loop: its sequence (iterated as the loop's), a schedule of
# ints, and copies of its state (linear: the copy's derivative is the
# derivative's copy)

@adjoint(checkpoints.checkpointed)
def checkpointed_rev(y, iterable, snapshots: via_output = None,
                     bundle: via_output = None):
    d[iterable] = d[y]


@tangent(checkpoints.checkpointed)
def checkpointed_fwd(y, iterable, snapshots: via_output = None,
                     bundle: via_output = None):
    d[y] = d[iterable]


non_differentiable(runtime.revolve, runtime.online_revolve,
                   runtime.state_size, runtime.finished, runtime.replayed,
                   runtime.recomputed, checkpoints.checkpointed_while)


@adjoint(runtime.kept)
def kept_rev(y, items, chosen: via_output):
    d[items] = runtime.unkept(d[y], chosen, items)


@tangent(runtime.kept)
def kept_fwd(y, items, chosen):
    d[y] = runtime.kept(d[items], chosen)


@adjoint(runtime.unkept, constants=("chosen", "items"))
def unkept_rev(y, g, chosen, items: via_output):
    d[g] = runtime.kept(d[y], chosen)


@tangent(runtime.unkept)
def unkept_fwd(y, g, chosen, items):
    d[y] = runtime.unkept(d[g], chosen, items)


@adjoint(runtime.snapshot)
def snapshot_rev(y, state, schedule: via_output = None,
                 step: via_output = None):
    d[state] = d[y]


@tangent(runtime.snapshot)
def snapshot_fwd(y, state, schedule: via_output = None,
                 step: via_output = None):
    d[y] = runtime.snapshot(d[state])


@adjoint(runtime.iterable)
def iterable_rev(y, seq):
    d[seq] = runtime.iterable_adjoint(d[y], seq)


@tangent(runtime.iterable)
def iterable_fwd(y, seq):
    d[y] = runtime.iterable_tangent(d[seq], seq)

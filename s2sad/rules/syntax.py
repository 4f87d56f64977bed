"""Rules for the non-call operations of the SSA form: indexing, attributes."""

import operator

import numpy as np

from s2sad import runtime, ssa
from s2sad.rules.numpy_shape import _index_trick_adjoint, _index_trick_apply
from s2sad.rules.registry import (
    adjoint, attribute, d, non_differentiable, takes_sequences, tangent,
    via_output)


@adjoint(operator.getitem, indices=("index",))
def getitem(y, x, index):
    d[x] = runtime.getitem_adjoint(d[y], x, index)
    # a differentiated index: np.r_[...] and np.c_[...] (numpy_shape.py)
    d[index] = _index_trick_adjoint(d[y], x, index)


@tangent(operator.getitem)
def getitem_fwd(y, x, index):
    d[y] = d[x][index] + _index_trick_apply(d[index], x, index)


takes_sequences(operator.getitem, runtime.setitem, runtime.setitem_in_place,
                runtime.setitem_owned)


@adjoint(runtime.setitem, runtime.setitem_owned, constants=("index",))
def setitem(y, x, index, value):
    d[x] = runtime.setitem(d[y], index, 0.0)
    d[value] = runtime.unbroadcast(runtime.keep_last(
        runtime.item_adjoint(runtime.through_cast(d[y], y), index), x,
        index), value)


@tangent(runtime.setitem, runtime.setitem_owned, structural=True)
def setitem_fwd(y, x, index, value):
    # (a real tangent of a complex x made complex first: a complex
    # tangent written into it keeps its imaginary part)
    d[y] = runtime.through_cast(runtime.setitem(
        runtime.as_kind_of(d[x], x), index, d[value]), y)


# `x[index] = value` in place (see s2sad.inplace): the backward sweep first
# puts back what it overwrote, so what it differentiates next reads x as
# it was; the adjoint of `value` is read before x's is zeroed there


@adjoint(runtime.setitem_in_place, constants=("index", "old"))
def setitem_in_place(y, x, index, value, old):
    runtime.restore(y, index, old)
    d[value] = runtime.unbroadcast(runtime.keep_last(
        runtime.item_adjoint(runtime.through_cast(d[y], y), index), x,
        index), value)
    d[x] = runtime.setitem(d[y], index, 0.0)


@tangent(runtime.setitem_in_place, structural=True)
def setitem_in_place_fwd(y, x, index, value, old: via_output):
    # (a real tangent of a complex x made complex first: a complex
    # tangent written into it keeps its imaginary part)
    d[y] = runtime.through_cast(runtime.setitem(
        runtime.as_kind_of(d[x], x), index, d[value]), y)


non_differentiable(runtime.overwritten, runtime.restore)


# x.T, x.real and x.imag: an array's, or a namedtuple's or dataclass's
# field of that name (runtime.attribute_cotangent decides when it runs)


@adjoint(attribute("T"))  # (a transpose makes nothing complex)
@adjoint(attribute("real"), attribute("imag"), makes_complex=True)
def array_attribute(y, x, name):
    d[x] = runtime.attribute_cotangent(d[y], x, name)


@tangent(attribute("T"), attribute("real"), attribute("imag"))
def array_attribute_fwd(y, x, name):
    d[y] = runtime.attribute_tangent(d[x], x, name)


@adjoint(ssa.method("item"))
def item_method(y, x):
    """`x.item()` of an array with one element (with an index: refused)."""
    d[x] = runtime.broadcast_like(d[y], x)


@tangent(ssa.method("item"))
def item_method_fwd(y, x):
    d[y] = np.sum(d[x])  # (its one element)


non_differentiable(ssa.is_in, ssa.is_not_in, attribute("__class__"),
                   attribute("shape"),
                   attribute("ndim"), attribute("size"), attribute("dtype"))

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


takes_sequences(operator.getitem, runtime.setitem)


@adjoint(runtime.setitem, constants=("index",))
def setitem(y, x, index, value):
    d[x] = runtime.setitem(d[y], index, 0.0)
    d[value] = runtime.unbroadcast(runtime.keep_last(
        runtime.item_adjoint(runtime.through_cast(d[y], y), index), x,
        index), value)


@tangent(runtime.setitem, structural=True)
def setitem_fwd(y, x, index, value):
    d[y] = runtime.through_cast(runtime.setitem(d[x], index, d[value]), y)


@adjoint(attribute("T"))
def transpose_attribute(y, x, name: via_output):
    d[x] = np.transpose(d[y])


@tangent(attribute("T"))
def transpose_attribute_fwd(y, x, name: via_output):
    d[y] = np.transpose(d[x])


@adjoint(attribute("real"), makes_complex=True)
def real_attribute(y, x, name: via_output):
    d[x] = runtime.as_kind_of(np.real(d[y]), x)


@tangent(attribute("real"))
def real_attribute_fwd(y, x, name: via_output):
    d[y] = np.real(d[x])


@adjoint(attribute("imag"), makes_complex=True)
def imag_attribute(y, x, name: via_output):
    d[x] = -1j * np.real(d[y])  # the convention of rules/numpy.py


@tangent(attribute("imag"))
def imag_attribute_fwd(y, x, name: via_output):
    d[y] = np.imag(d[x])


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

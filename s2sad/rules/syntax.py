"""Rules for the non-call operations of the SSA form: indexing, attributes."""

import operator

import numpy as np

from s2sad import runtime, ssa
from s2sad.rules.registry import adjoint, attribute, d, non_differentiable


@adjoint(operator.getitem)
def getitem(y, x, index):
    d[x] = runtime.getitem_adjoint(d[y], x, index)


@adjoint(attribute("T"))
def transpose_attribute(y, x, name):
    d[x] = np.transpose(d[y])


non_differentiable(ssa.is_in, ssa.is_not_in, attribute("shape"),
                   attribute("ndim"), attribute("size"), attribute("dtype"))

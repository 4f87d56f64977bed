"""Rules for Python built-ins."""

import builtins
import copy
import logging

import numpy as np

from s2sad import runtime
from s2sad.rules.registry import (
    adjoint, d, elementwise, linear, non_differentiable, only,
    takes_sequences, tangent, via_output)


@elementwise(builtins.abs, domain="nonzero")
def abs(y, x):
    """0 at x = 0 (sign(0)); JAX gives 1 there, s2sad the midpoint of the
    subgradient, as autograd."""
    return runtime.sign(x)


@tangent(builtins.abs)
def abs_fwd(y, x):
    d[y] = np.real(d[x] * runtime.sign(x))  # real, as for np.abs


@elementwise(builtins.float, np.float64)
def float(y, x):
    """No special points."""
    return 1.0


@elementwise(builtins.complex)
def complex(z, real=0.0, imag=0.0):
    """real + 1j imag, whatever kinds of number they are (complex(1, 2j) is
    -1): a real part's adjoint is the real part of z's, an imaginary
    part's minus its imaginary part (dL = Re(c dz), rules/numpy.py)."""
    return 1.0, 1j


@elementwise(builtins.max, domain="distinct")
def max(z, x, y):
    """Ties split the gradient equally (1/2 each), as JAX's maximum. As
    Python's max(x, y) gives y only where y > x, x has the rest: where a
    nan makes neither larger, max(x, nan) is x, and so is its derivative."""
    return 1.0 - runtime.balanced_max_partial(y, x), \
        runtime.balanced_max_partial(y, x)


@elementwise(builtins.min, domain="distinct")
def min(z, x, y):
    """Ties split the gradient equally (1/2 each), as JAX's minimum; min(x,
    y) gives y only where y < x (see max)."""
    return 1.0 - runtime.balanced_max_partial(x, y), \
        runtime.balanced_max_partial(x, y)


# max and min give the winner itself, real or complex (0-d arrays): so is
# its tangent, and each input's adjoint is of its own kind


@adjoint(builtins.max, broadcasts=True, domain="distinct")
def max_rev(z, x, y):
    d[x] = runtime.as_kind_of(
        d[z] * (1.0 - runtime.balanced_max_partial(y, x)), x)
    d[y] = runtime.as_kind_of(d[z] * runtime.balanced_max_partial(y, x), y)


@adjoint(builtins.min, broadcasts=True, domain="distinct")
def min_rev(z, x, y):
    d[x] = runtime.as_kind_of(
        d[z] * (1.0 - runtime.balanced_max_partial(x, y)), x)
    d[y] = runtime.as_kind_of(d[z] * runtime.balanced_max_partial(x, y), y)


@tangent(builtins.max)
def max_fwd(z, x, y):
    d[z] = runtime.as_kind_of(
        d[x] * (1.0 - runtime.balanced_max_partial(y, x)), z) + \
        runtime.as_kind_of(d[y] * runtime.balanced_max_partial(y, x), z)


@tangent(builtins.min)
def min_fwd(z, x, y):
    d[z] = runtime.as_kind_of(
        d[x] * (1.0 - runtime.balanced_max_partial(x, y)), z) + \
        runtime.as_kind_of(d[y] * runtime.balanced_max_partial(x, y), z)


# ---- lists (s2sad's SSA form updates them by copying, see runtime) ----

takes_sequences(runtime.appended, runtime.appended_owned,
                runtime.appended_in_place, runtime.popped,
                runtime.inserted, runtime.concatenated, runtime.repeated,
                runtime.repeated_adjoint,
                builtins.list, builtins.tuple, builtins.sum, builtins.len)


@adjoint(runtime.appended, runtime.appended_owned)
def appended_rev(y, items, value):
    d[items] = d[y][:-1]
    d[value] = d[y][-1]


# an append in place the backward sweep undoes (see s2sad.inplace): it
# takes the item off first, so what it differentiates next reads the list
# as it was


@adjoint(runtime.appended_in_place)
def appended_in_place_rev(y, items, value):
    runtime.unappended(y, items)
    d[items] = d[y][:-1]
    d[value] = d[y][-1]


non_differentiable(runtime.unappended)


@tangent(runtime.appended, runtime.appended_owned, runtime.appended_in_place,
         structural=True, directions=True)
def appended_fwd(y, items, value):
    # (the tangent list a new one: what holds the tangents is not known
    # to be owned)
    d[y] = runtime.appended(d[items], d[value])


@adjoint(runtime.concatenated)
def concatenated_rev(y, a, b):
    d[a] = d[y][:len(a)]
    d[b] = d[y][len(a):]


@tangent(runtime.concatenated, structural=True, directions=True)
def concatenated_fwd(y, a, b):
    d[y] = runtime.concatenated(d[a], d[b])


# `items * n`: linear in items (n counts); its adjoint folds the copies'
# adjoints back onto items, and is linear in its turn


@adjoint(runtime.repeated, constants=("n",))
def repeated_rev(y, items, n):
    d[items] = runtime.repeated_adjoint(d[y], items, n)


@tangent(runtime.repeated, structural=True, directions=True)
def repeated_fwd(y, items, n):
    d[y] = runtime.repeated(d[items], n)


@adjoint(runtime.repeated_adjoint, constants=("items", "n"))
def repeated_adjoint_rev(y, g, items: via_output, n):
    d[g] = runtime.repeated(d[y], n)


@tangent(runtime.repeated_adjoint, structural=True, directions=True)
def repeated_adjoint_fwd(y, g, items, n):
    d[y] = runtime.repeated_adjoint(d[g], items, n)


@adjoint(runtime.popped, constants=("index",))
def popped_rev(y, items, index=-1):
    d[items] = runtime.inserted(d[y][0], index, d[y][1])


@tangent(runtime.popped, directions=True)
def popped_fwd(y, items, index=-1):
    d[y] = runtime.popped(d[items], index)


@adjoint(runtime.inserted, constants=("index",))
def inserted_rev(y, items, index, value):
    rest, item = runtime.popped(d[y], index)
    d[items] = rest
    d[value] = item


@tangent(runtime.inserted, structural=True, directions=True)
def inserted_fwd(y, items, index, value):
    d[y] = runtime.inserted(d[items], index, d[value])


@adjoint(builtins.list, builtins.tuple)
def list_rev(y, items):
    d[items] = runtime.iterable_adjoint(d[y], items)  # (a dict's keys: 0)


@tangent(builtins.list)
def list_fwd(y, items):
    d[y] = list(d[items])


@tangent(builtins.tuple)
def tuple_fwd(y, items):
    d[y] = tuple(d[items])


@adjoint(copy.copy, copy.deepcopy)
def copy_rev(y, x, memo: only(None) = None):
    d[x] = d[y]


@tangent(copy.copy)
def copy_fwd(y, x):
    d[y] = runtime.shallow_copy(d[x])


@tangent(copy.deepcopy)
def deepcopy_fwd(y, x, memo: only(None) = None):
    d[y] = copy.deepcopy(d[x])


@adjoint(builtins.sum)
def sum_rev(y, items, start=0):
    d[items] = runtime.spread_over(d[y], items)
    d[start] = runtime.unbroadcast(d[y], start)


@tangent(builtins.sum)
def sum_fwd(y, items, start=0):
    d[y] = sum(d[items]) + d[start]


# ---- records: namedtuples and dataclasses (see ssa's `record`) ----

takes_sequences(runtime.record)


@adjoint(runtime.record, constants=("cls",))
def record_rev(y, items, cls):
    d[items] = runtime.record_adjoint(d[y], cls)


@tangent(runtime.record, structural=True, directions=True)
def record_fwd(y, items, cls):
    d[y] = runtime.record(d[items], cls)


@adjoint(runtime.replaced, constants=("name",))
def replaced_rev(y, x, name, value):
    d[x] = runtime.replaced_adjoint(d[y], x, name)
    d[value] = runtime.adjoint_attribute(d[y], x, name)


@tangent(runtime.replaced, structural=True, directions=True)
def replaced_fwd(y, x, name, value):
    d[y] = runtime.replaced(d[x], name, d[value])


linear(runtime.record_adjoint, runtime.fields_adjoint, directions=True)
linear(runtime.attribute_adjoint, runtime.adjoint_attribute)
linear(runtime.replaced_adjoint)  # a projection: its own transpose


non_differentiable(builtins.len, builtins.range, builtins.int, builtins.round,
                   builtins.bool, builtins.isinstance, builtins.type,
                   builtins.slice, builtins.reversed, builtins.format,
                   builtins.str, builtins.repr, builtins.ascii,
                   runtime.sort_order, runtime.max_index, runtime.min_index,
                   runtime.is_mapping, runtime.zip_length)


# called for their effect (run once, going forward), as print is: nothing to
# differentiate, and their source is not read
non_differentiable(*(
    getattr(owner, name) for owner in (logging, logging.Logger)
    for name in ("debug", "info", "warning", "error", "critical",
                 "exception", "log")))

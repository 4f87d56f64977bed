"""Rules for NumPy products: adjoint and tangent templates side by side.

Every product here is bilinear (np.einsum multilinear), so each tangent is
the product itself with one input replaced by its tangent, and each adjoint
is the transposed map: another product of the output's adjoint with the
other inputs. Two differentiable helpers carry the adjoints, with rules of
their own so that gradients can be differentiated again:

- `tensordot_adjoint_a/b(g, a, b, axes)` (np.tensordot, np.inner), which
  are bilinear in (g, b) and (g, a) like runtime.matmul_adjoint_a/b;
- `einsum_product(spec, *args)` (np.einsum): a generalised einsum of any
  number of operands whose output may repeat an index (placing values on
  a diagonal) or have indices no operand has (broadcasting). Its adjoint
  w.r.t. one operand swaps that operand's subscripts with the output's, so
  the adjoint of an `einsum_product` is another one, with as many operands.

np.einsum and `einsum_product` take any number of operands, in both of
np.einsum's forms (subscripts first, or interleaved operands and
sublists): their templates are written for each number of positional
arguments a call passes (`registry.any_arity`), one `d[x<i>]` per
argument; the subscripts and sublists are never differentiated values.

The private helpers below only compute subscripts, axes and shapes from
their arguments: they are declared non-differentiable.

Complex operands follow JAX's convention (see rules/numpy.py): the products
are holomorphic in each operand but np.vdot, which conjugates its first;
an operand's adjoint is made real when it is real and the others are not
(`runtime.as_kind_of`).
"""

import collections
import functools
import string

import numpy as np

from s2sad import errors, runtime
from s2sad.rules import registry
from s2sad.rules.registry import (
    adjoint, d, float_dtype, non_differentiable, tangent, via_output)

# ---- np.einsum subscripts, made explicit ----
# A spec is einsum subscripts with an explicit output and one index per
# size, one term per positional argument: "#,ij,jk->ik" for
# np.einsum("ij,jk", a, b), "ij,#,jk,#,#->ik" for the interleaved
# np.einsum(a, [0, 1], b, [1, 2], [0, 2]) ("#": subscripts or a sublist,
# not an operand). Its output may repeat an index (values on a diagonal)
# or name indices no operand has, whose sizes then follow: "j->iij;i=3".


def _einsum_spec(*args):
    """The spec of np.einsum(*args), in either form."""
    if isinstance(args[0], str):
        return "#," + _explicit(args[0], tuple(
            tuple(np.shape(x)) for x in args[1:]))
    n = len(args) // 2  # operands, each followed by its sublist
    subscripts = ",".join(_sublist(x) for x in args[1:2 * n:2])
    if len(args) % 2:
        subscripts += "->" + _sublist(args[-1])
    explicit = _explicit(subscripts, tuple(
        tuple(np.shape(x)) for x in args[0:2 * n:2]))
    terms, output = explicit.split("->")
    slots = [t + ",#" for t in terms.split(",")] + ["#"] * (len(args) % 2)
    return ",".join(slots) + "->" + output


def _sublist(indices):
    """An interleaved np.einsum sublist ([0, 1], [Ellipsis, 2]) as
    subscripts ("ab", "...c")."""
    return "".join("..." if i is Ellipsis else string.ascii_letters[i]
                   for i in indices)


@functools.lru_cache(maxsize=512)
def _explicit(subscripts, shapes):
    """np.einsum's subscripts for operands of `shapes` as a spec: implicit
    output and ellipses written out, and an index of its own for each axis
    NumPy broadcasts (size 1, where the index is larger elsewhere)."""
    text = subscripts.replace(" ", "")
    lhs, arrow, out = text.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes) or "->" in out:
        raise errors.S2SADError(f"np.einsum: subscripts {subscripts!r} do not "
                                f"fit {len(shapes)} operand(s)")
    fresh = iter(ch for ch in string.ascii_letters if ch not in text)
    # ellipsis dimensions, aligned to the right, get indices of their own
    extra = [len(shape) - (len(t) - 3) if "..." in t else 0
             for t, shape in zip(terms, shapes)]
    n_ellipsis = max(extra, default=0)
    shared = "".join(next(fresh) for _ in range(n_ellipsis))
    terms = [t.replace("...", shared[n_ellipsis - n:] if n else "")
             for t, n in zip(terms, extra)]
    sizes = {}
    for term, shape in zip(terms, shapes):
        if len(term) != len(shape):
            raise errors.S2SADError(f"np.einsum: subscripts {subscripts!r} do "
                                    f"not fit an operand of shape {shape}")
        for index, n in zip(term, shape):
            sizes[index] = max(sizes.get(index, 1), n)
    if arrow:
        output = out.replace("...", shared)
    else:  # implicit: the broadcast dimensions, then indices seen once
        seen = collections.Counter(lhs.replace("...", "").replace(",", ""))
        output = shared + "".join(sorted(k for k, n in seen.items() if n == 1))
    terms = ["".join(next(fresh) if n == 1 and sizes[index] != 1 else index
                     for index, n in zip(term, shape))
             for term, shape in zip(terms, shapes)]
    return ",".join(terms) + "->" + output


def _split(spec):
    """(input terms, output, {index: size} given after ';') of a spec."""
    body, _, given = spec.partition(";")
    lhs, _, output = body.partition("->")
    sizes = dict((k, int(n)) for k, _, n in (
        item.partition("=") for item in given.split(",") if item))
    return lhs.split(","), output, sizes


def _adjoint_spec(spec, k, operand):
    """The spec of the adjoint w.r.t. operand k: the output's adjoint takes
    slot k, and the result is indexed like operand k (given for its shape:
    its indices no other operand has get their sizes from it)."""
    return _transposed(spec, k, tuple(np.shape(operand)))


@functools.lru_cache(maxsize=512)
def _transposed(spec, k, shape):
    terms, output, _ = _split(spec)
    terms[k], output = output, terms[k]
    present = "".join(terms)
    sizes = {index: n for index, n in zip(output, shape)
             if index not in present}
    given = ",".join(f"{index}={n}" for index, n in sizes.items())
    return ",".join(terms) + "->" + output + (";" + given if given else "")


@functools.lru_cache(maxsize=512)
def _einsum_plan(spec):
    """(np.einsum subscripts, the positions of the operands among the
    arguments, constants) for a spec.

    The subscripts add a constant operand for each output index repeated
    ("eye": values on the diagonal) or found in no operand ("ones": they
    broadcast), as (kind, size, operand, axis): a size of None is read from
    that axis of that operand."""
    slots, output, sizes = _split(spec)
    positions = tuple(i for i, term in enumerate(slots) if term != "#")
    terms = [slots[i] for i in positions]
    where = {index: (i, axis) for i, term in enumerate(terms)
             for axis, index in enumerate(term)}
    fresh = iter(ch for ch in string.ascii_letters
                 if ch not in spec.partition(";")[0])
    out, extra_terms, constants = "", [], []
    for index in output:
        if index in out:
            out += next(fresh)
            extra_terms.append(index + out[-1])
            constants.append(("eye", sizes.get(index)) + where.get(
                index, (None, None)))
        else:
            out += index
    for index in dict.fromkeys(output):
        if index not in where and index not in output.partition(index)[2]:
            extra_terms.append(index)
            constants.append(("ones", sizes[index], None, None))
    subscripts = ",".join(terms + extra_terms) + "->" + out
    return subscripts, positions, tuple(constants)


non_differentiable(_einsum_spec, _adjoint_spec)

# ---- the differentiable helpers ----


def einsum_product(spec, *args):
    """np.einsum of the operands among `args` by a spec (see above): a
    generalised einsum whose output may repeat indices or have indices of
    its own."""
    subscripts, positions, constants = _einsum_plan(spec)
    operands = [args[i] for i in positions]
    like = runtime.library(*operands) if constants else None
    for kind, n, i, axis in constants:
        n = np.shape(operands[i])[axis] if n is None else n
        operands.append(runtime.eye(n, like=like) if kind == "eye" else
                        np.ones(n, like=like))
    # a contraction path (and BLAS) pays off for many or large operands
    optimize = len(operands) > 2 or sum(map(runtime.size, operands)) > 10000
    return np.einsum(subscripts, *operands, optimize=optimize)


def _tensordot_axes(a, b, axes=2):
    """np.tensordot's `axes` as two tuples of non-negative axes."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        return tuple(range(a_nd - n, a_nd)), tuple(range(n))
    a_axes, b_axes = axes
    a_axes = (a_axes,) if isinstance(a_axes, (int, np.integer)) else a_axes
    b_axes = (b_axes,) if isinstance(b_axes, (int, np.integer)) else b_axes
    return (tuple(int(i) % a_nd for i in a_axes),
            tuple(int(i) % b_nd for i in b_axes))


def _tensordot_transposed(a, b, axes, k):
    """For the adjoint w.r.t. operand k (0: a, 1: b) of
    np.tensordot(a, b, axes): the axes of the np.tensordot of the output's
    adjoint g with the other operand, and the permutation taking its
    result to operand k's axis order."""
    a_axes, b_axes = _tensordot_axes(a, b, axes)
    a_free = [i for i in range(np.ndim(a)) if i not in a_axes]
    b_free = [i for i in range(np.ndim(b)) if i not in b_axes]
    if k == 0:  # tensordot(g, b): g's b_free part against b's free axes
        contract = (list(range(len(a_free), len(a_free) + len(b_free))),
                    b_free)
        order = a_free + [a_axes[b_axes.index(i)] for i in sorted(b_axes)]
    else:  # tensordot(a, g): a's free axes against g's a_free part
        contract = (a_free, list(range(len(a_free))))
        order = [b_axes[a_axes.index(i)] for i in sorted(a_axes)] + b_free
    return contract, tuple(int(i) for i in np.argsort(order))


def tensordot_adjoint_a(g, a, b, axes=2):
    """d(np.tensordot(a, b, axes))/da applied to the output adjoint `g`."""
    contract, perm = _tensordot_transposed(a, b, axes, 0)
    return runtime.as_kind_of(np.transpose(np.tensordot(g, b, contract),
                                             perm), a)


def tensordot_adjoint_b(g, a, b, axes=2):
    """d(np.tensordot(a, b, axes))/db applied to the output adjoint `g`."""
    contract, perm = _tensordot_transposed(a, b, axes, 1)
    return runtime.as_kind_of(np.transpose(np.tensordot(a, g, contract),
                                             perm), b)


# ---- shape-only helpers the templates call ----


def _inner_axes(a, b):
    """np.inner(a, b) as np.tensordot(a, b, axes): the last axes, or none
    when one of them is a scalar (a plain product)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return 0
    return [-1], [-1]


def _kron_padded(x, other):
    """x's shape with leading 1s up to the rank np.kron(x, other) has."""
    return (1,) * max(np.ndim(other) - np.ndim(x), 0) + np.shape(x)


def _kron_split(a, b):
    """np.kron(a, b)'s shape with each axis split into (a's, b's) sizes."""
    return tuple(n for pair in zip(_kron_padded(a, b), _kron_padded(b, a))
                 for n in pair)


def _kron_subscripts(a, b, k):
    """Subscripts contracting the split output adjoint with the other
    operand, leaving operand k's (0: a, 1: b) axes."""
    n = max(np.ndim(a), np.ndim(b))
    left, right = string.ascii_letters[:n], string.ascii_letters[n:2 * n]
    split = "".join(i + j for i, j in zip(left, right))
    return (f"{split},{right}->{left}" if k == 0
            else f"{split},{left}->{right}")


def _vector_axis(x, axis_x, axis=None):
    """The axis of x holding np.cross's 3-vectors (`axis` overrides)."""
    axis_x = axis_x if axis is None else axis
    shape = np.shape(x)
    if not -len(shape) <= axis_x < len(shape) or shape[axis_x] != 3:
        raise errors.S2SADError(
            "np.cross is differentiable for 3-vectors only; pad 2-vectors "
            "with a zero third component: np.pad(v, (0, 1)) for one vector, "
            "np.pad(v, ((0, 0), (0, 1))) for rows of vectors")
    return axis_x


non_differentiable(_inner_axes, _kron_padded, _kron_split, _kron_subscripts,
                   _vector_axis)

# ---- np.vdot, np.outer, np.inner, np.tensordot ----


@adjoint(np.vdot)
def vdot(y, a, b):
    # np.vdot(a, b) = sum(conj(a) * b): conjugate-linear in a
    d[a] = runtime.as_kind_of(np.reshape(np.conj(d[y] * b), np.shape(a)), a)
    d[b] = runtime.as_kind_of(np.reshape(d[y] * np.conj(a), np.shape(b)), b)


@tangent(np.vdot)
def vdot_fwd(y, a, b):
    d[y] = np.vdot(d[a], b) + np.vdot(a, d[b])


@adjoint(np.outer)
def outer(y, a, b):
    d[a] = runtime.as_kind_of(np.reshape(np.dot(d[y], np.ravel(
        runtime.array_like(b, d[y]))), np.shape(a)), a)
    d[b] = runtime.as_kind_of(np.reshape(np.dot(np.ravel(
        runtime.array_like(a, d[y])), d[y]), np.shape(b)), b)


@tangent(np.outer)
def outer_fwd(y, a, b):
    d[y] = np.outer(d[a], b) + np.outer(a, d[b])


@adjoint(np.inner)
def inner(y, a, b):
    d[a] = tensordot_adjoint_a(d[y], a, b, _inner_axes(a, b))
    d[b] = tensordot_adjoint_b(d[y], a, b, _inner_axes(a, b))


@tangent(np.inner)
def inner_fwd(y, a, b):
    d[y] = np.inner(d[a], b) + np.inner(a, d[b])


@adjoint(np.tensordot)
def tensordot(y, a, b, axes=2):
    d[a] = tensordot_adjoint_a(d[y], a, b, axes)
    d[b] = tensordot_adjoint_b(d[y], a, b, axes)


@tangent(np.tensordot)
def tensordot_fwd(y, a, b, axes=2):
    d[y] = np.tensordot(d[a], b, axes) + np.tensordot(a, d[b], axes)


# `tensordot_adjoint_a(g, a, b, axes)` is the VJP of a -> tensordot(a, b)
# at g, so its adjoint w.r.t. g is that map's forward action
# tensordot(ybar, b), and w.r.t. b it is tensordot_adjoint_b(g, ybar, b)
# (both sides equal <g, tensordot(ybar, b_dot)>); likewise for _b. The
# operand whose adjoint they compute is read only for its shape.


@adjoint(tensordot_adjoint_a, constants=("a", "axes"))
def tensordot_adjoint_a_rev(y, g, a: via_output, b, axes=2):
    d[g] = runtime.as_kind_of(np.tensordot(d[y], b, axes), g)
    d[b] = tensordot_adjoint_b(g, d[y], b, axes)


@tangent(tensordot_adjoint_a)
def tensordot_adjoint_a_fwd(y, g, a, b, axes=2):
    d[y] = tensordot_adjoint_a(d[g], a, b, axes) + \
        tensordot_adjoint_a(g, a, d[b], axes)


@adjoint(tensordot_adjoint_b, constants=("b", "axes"))
def tensordot_adjoint_b_rev(y, g, a, b: via_output, axes=2):
    d[g] = runtime.as_kind_of(np.tensordot(a, d[y], axes), g)
    d[a] = tensordot_adjoint_a(g, a, d[y], axes)


@tangent(tensordot_adjoint_b)
def tensordot_adjoint_b_fwd(y, g, a, b, axes=2):
    d[y] = tensordot_adjoint_b(d[g], a, b, axes) + \
        tensordot_adjoint_b(g, d[a], b, axes)


# ---- np.einsum ----
# The templates for a call with n positional arguments x0 ... x<n-1>
# (registry.any_arity): the adjoint of each is the einsum of the others
# and the output's adjoint by the transposed spec; the tangent, one term
# per argument. Only the operands' terms are used: the subscripts and
# sublists are never differentiated.

_EINSUM_KEYWORDS = ('*, optimize: via_output = False, dtype: float_dtype = '
                    'None, order: via_output = "K", casting: via_output = '
                    '"safe"')


def _einsum_source(name, first, n, kind):
    """The adjoint or tangent template of np.einsum (`first` "") or
    einsum_product (`first` "spec") for n positional arguments after
    `first`."""
    xs = [f"x{i}" for i in range(n)]
    params = ", ".join(([first] if first else []) + xs + (
        [] if first else [_EINSUM_KEYWORDS]))
    spec = first or "spec"
    lines = [f"def {name}(y, {params}):"]
    if not first:
        lines.append(f"    spec = _einsum_spec({', '.join(xs)})")

    def replaced(i, value, spec=spec):
        return f"einsum_product({spec}, " + ", ".join(
            value if j == i else x for j, x in enumerate(xs)) + ")"
    if kind == "adjoint":
        lines += [f"    d[x{i}] = runtime.as_kind_of(" + replaced(
            i, "d[y]", f"_adjoint_spec({spec}, {i}, x{i})") + f", x{i})"
            for i in range(n)]
    else:
        lines.append("    d[y] = " + " + ".join(
            replaced(i, f"d[x{i}]") for i in range(n)))
    return "\n".join(lines) + "\n"


registry.any_arity(
    np.einsum, lambda n: _einsum_source("einsum", "", n, "adjoint"),
    lambda n: _einsum_source("einsum_fwd", "", n, "tangent"),
    globals(), typical=3)
registry.any_arity(
    einsum_product,
    lambda n: _einsum_source("einsum_product_rev", "spec", n - 1, "adjoint"),
    lambda n: _einsum_source("einsum_product_fwd", "spec", n - 1, "tangent"),
    globals(), typical=4, constants=("spec",))


# ---- np.kron, np.cross ----


@adjoint(np.kron)
def kron(y, a, b):
    # np.kron(a, b) is a's and b's outer product with axes interleaved and
    # merged pairwise: split d[y]'s axes again and contract with the other.
    d[a] = runtime.as_kind_of(np.reshape(np.einsum(
        _kron_subscripts(a, b, 0), np.reshape(d[y], _kron_split(a, b)),
        np.reshape(runtime.array_like(b, d[y]), _kron_padded(b, a))),
        np.shape(a)), a)
    d[b] = runtime.as_kind_of(np.reshape(np.einsum(
        _kron_subscripts(a, b, 1), np.reshape(d[y], _kron_split(a, b)),
        np.reshape(runtime.array_like(a, d[y]), _kron_padded(a, b))),
        np.shape(b)), b)


@tangent(np.kron)
def kron_fwd(y, a, b):
    d[y] = np.kron(d[a], b) + np.kron(a, d[b])


@adjoint(np.cross)
def cross(y, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    # <g, a x b> = <a, b x g> = <b, g x a>: computed with the vectors on the
    # last axis, unbroadcast (a (3,) against b (n, 3)), then moved back.
    d[a] = np.moveaxis(runtime.unbroadcast(
        np.cross(b, d[y], _vector_axis(b, axisb, axis),
                 _vector_axis(y, axisc, axis)),
        np.moveaxis(a, _vector_axis(a, axisa, axis), -1)),
        -1, _vector_axis(a, axisa, axis))
    d[b] = np.moveaxis(runtime.unbroadcast(
        np.cross(d[y], a, _vector_axis(y, axisc, axis),
                 _vector_axis(a, axisa, axis)),
        np.moveaxis(b, _vector_axis(b, axisb, axis), -1)),
        -1, _vector_axis(b, axisb, axis))


@tangent(np.cross)
def cross_fwd(y, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    d[y] = np.cross(d[a], b, axisa, axisb, axisc, axis) + \
        np.cross(a, d[b], axisa, axisb, axisc, axis)

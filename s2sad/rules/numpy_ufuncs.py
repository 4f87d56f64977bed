"""Rules for the methods of NumPy's ufuncs: `np.add.reduce(x, axis=0)`,
`np.multiply.accumulate(x)`, `np.subtract.outer(a, b)`, ...

A call `np.add.reduce(...)` reaches the registry with the bound method as
its key (bound methods of one ufunc compare and hash equal), so each method
gets a rule of its own, derived here from rules that exist already, for
every ufunc at once (this module is imported after the others):

- `u.outer(a, b)` is `u(a[..., None, ...], b)`: for every two-input ufunc
  with partial derivatives, the templates are written from its partials
  (`_outer_templates`), evaluated at a reshaped to broadcast against b.
- `u.reduce` and `u.accumulate` are the NumPy reduction of the same
  operation (`np.add.reduce` is `np.sum` with axis 0 by default,
  `np.maximum.accumulate` a running max): their templates are that
  reduction's, with the method's defaults (`_with_defaults`).
- `np.logaddexp.reduce` (log-sum-exp) and `np.logaddexp2.reduce` have
  templates of their own: the softmax of the reduced elements.
- Every method of a ufunc with a zero derivative (np.greater,
  np.logical_and, ...) has a zero derivative.

Other methods (`u.reduceat`, `u.at`, and `reduce`/`accumulate` of
other ufuncs, such as np.subtract.reduce) have no rule: a
differentiated value reaching one is refused.
"""

import ast
import copy

import gast
import numpy as np

from s2sad import runtime
from s2sad.rules import registry
from s2sad.rules.registry import (
    adjoint, d, float_dtype, non_differentiable, only, tangent, via_output)

# ---- shape helpers ----


def _outer_left(a, b):
    """a reshaped to broadcast against b as u.outer(a, b) pairs them: b's
    number of axes of length 1 appended."""
    return np.reshape(a, np.shape(a) + (1,) * np.ndim(b))


def _running_extreme(array, y, axis=0):
    """For y = np.maximum.accumulate(array, axis) (or minimum): the index
    along `axis` of the element each y came from (the latest one equal to
    it)."""
    array = runtime.as_array(array)
    shape = [1] * array.ndim
    shape[axis] = array.shape[axis]
    steps = np.reshape(np.arange(array.shape[axis],
                                 like=runtime.library(array)), shape)
    return np.maximum.accumulate(np.where(array == y, steps, 0), axis=axis)


non_differentiable(_running_extreme)


@adjoint(_outer_left, constants=("b",))
def outer_left(y, a, b: via_output):
    d[a] = np.reshape(d[y], np.shape(a))


@tangent(_outer_left)
def outer_left_fwd(y, a, b):
    d[y] = _outer_left(d[a], b)


# ---- running extrema: np.maximum.accumulate, np.minimum.accumulate ----


def running_extreme_rev(y, array, axis=0, dtype: float_dtype = None,
                        out: only(None) = None):
    d[array] = runtime.take_along_axis_adjoint(
        d[y], runtime.as_array(array), _running_extreme(array, y, axis), axis)


def running_extreme_fwd(y, array, axis=0, dtype: float_dtype = None,
                        out: only(None) = None):
    d[y] = np.take_along_axis(runtime.as_array(d[array]),
                              _running_extreme(array, y, axis), axis)


# ---- log-sum-exp: np.logaddexp.reduce, np.logaddexp2.reduce ----
# The gradient is the softmax of the reduced elements (base 2 for
# logaddexp2: 2 ** (a - y)). axis is passed by position: it defaults to 0
# here and to None in np.sum.


@adjoint(np.logaddexp.reduce)
def logaddexp_reduce(y, array, axis=0, dtype: float_dtype = None,
                     out: only(None) = None, keepdims=False):
    d[array] = runtime.expand_reduced(d[y], array, axis, keepdims) * np.exp(
        array - runtime.expand_reduced(y, array, axis, keepdims))


@tangent(np.logaddexp.reduce)
def logaddexp_reduce_fwd(y, array, axis=0, dtype: float_dtype = None,
                         out: only(None) = None, keepdims=False):
    d[y] = np.sum(d[array] * np.exp(
        array - runtime.expand_reduced(y, array, axis, keepdims)), axis,
        keepdims=keepdims)


@adjoint(np.logaddexp2.reduce)
def logaddexp2_reduce(y, array, axis=0, dtype: float_dtype = None,
                      out: only(None) = None, keepdims=False):
    d[array] = runtime.expand_reduced(d[y], array, axis, keepdims) * np.exp2(
        array - runtime.expand_reduced(y, array, axis, keepdims))


@tangent(np.logaddexp2.reduce)
def logaddexp2_reduce_fwd(y, array, axis=0, dtype: float_dtype = None,
                          out: only(None) = None, keepdims=False):
    d[y] = np.sum(d[array] * np.exp2(
        array - runtime.expand_reduced(y, array, axis, keepdims)), axis,
        keepdims=keepdims)


# ---- outer: the templates written from a ufunc's partials ----

_OUTER = '''\
def {name}_outer_rev(y, a, b):
    left = _outer_left(runtime.as_array(a), b)
    right = runtime.as_array(b)
{body}    d[a] = np.reshape(runtime.unbroadcast(d[y] * {pa}, left),
                      np.shape(a))
    d[b] = runtime.unbroadcast(d[y] * {pb}, b)
'''

_OUTER_FWD = '''\
def {name}_outer_fwd(y, a, b):
    left = _outer_left(runtime.as_array(a), b)
    right = runtime.as_array(b)
{body}    d[y] = runtime.broadcast_like(
        _outer_left(runtime.as_array(d[a]), b) * {pa}, y) + \\
        runtime.broadcast_like(runtime.as_array(d[b]) * {pb}, y)
'''


class _Renamer(gast.NodeTransformer):
    def __init__(self, names):
        self.names = names

    def visit_Name(self, node):
        node.id = self.names.get(node.id, node.id)
        return node


def _outer_templates(ufunc, partials):
    """The sources of u.outer's adjoint and tangent, from u's partials
    template (output z, inputs x, y): x is `left`, y is `right` (a and b
    as arrays: they may be lists), z is y. None
    when an input has no partial (its derivative is refused)."""
    out, x, y = partials.params
    names = {out: "y", x: "left", y: "right"}
    body = [_Renamer(names).visit(copy.deepcopy(s)) for s in partials.body]
    returned = body.pop().value
    if not isinstance(returned, gast.Tuple) or any(
            isinstance(e, gast.Constant) and e.value is None
            for e in returned.elts):
        return None
    lines = "".join(f"    {_unparse(s)}\n" for s in body)
    pa, pb = (f"({_unparse(e)})" for e in returned.elts)
    name = ufunc.__name__
    return (_OUTER.format(name=name, body=lines, pa=pa, pb=pb),
            _OUTER_FWD.format(name=name, body=lines, pa=pa, pb=pb))


def _unparse(node):
    if isinstance(node, gast.stmt):
        node = gast.Module(body=[node], type_ignores=[])
    return ast.unparse(gast.gast_to_ast(node)).strip()


def _declare_outer(ufunc, rule):
    sources = _outer_templates(ufunc, rule.partials)
    if sources is None:
        return
    namespace = dict(rule.partials.globals)
    namespace.update(d=d, np=np, runtime=runtime, _outer_left=_outer_left)
    for source, declare in zip(sources, (
            adjoint(ufunc.outer, domain=rule.domain), tangent(ufunc.outer))):
        exec(compile(source, f"<s2sad.ufunc {ufunc.__name__}.outer>", "exec"),
             namespace)
        fn = namespace[source.split("(")[0][4:]]
        declare(registry._Generated(fn, source))


# ---- reduce and accumulate: a reduction's templates, other defaults ----

# method -> ufunc -> the NumPy function computing the same
_SAME = {
    "reduce": {np.add: np.sum, np.multiply: np.prod, np.maximum: np.max,
               np.minimum: np.min, np.fmax: np.nanmax, np.fmin: np.nanmin},
    "accumulate": {np.add: np.cumsum, np.multiply: np.cumprod},
}


def _with_defaults(template):
    """A copy of a reduction's template for a ufunc method: axis 0 by
    default, the parameters after it keyword-only (their positions differ
    between np.max and u.reduce)."""
    derived = copy.copy(template)
    params = list(template.signature.parameters.values())
    at = [p.name for p in params].index("axis")
    changed = params[:at] + [params[at].replace(default=0)] + [
        p.replace(kind=p.KEYWORD_ONLY) for p in params[at + 1:]]
    derived.signature = template.signature.replace(parameters=changed)
    # The body reads axis through a local: a keyword `axis=axis` left at
    # its default is dropped from calls in the filled code, which would
    # give the callee's default (None), not the method's (0).
    body = [_Renamer({"axis": "method_axis"}).visit(copy.deepcopy(s))
            for s in template.body]
    derived.body = gast.parse("method_axis = axis").body + body
    return derived


def _declare_like(method, ufunc, function):
    same = registry.lookup(function)
    rule = registry._rule(getattr(ufunc, method))
    rule.adjoint = _with_defaults(same.adjoint)
    rule.tangent = _with_defaults(same.tangent)
    rule.domain = same.domain
    rule.broadcasts = same.broadcasts


def declare_all():
    """Give the methods of every ufunc with a rule the rules above."""
    for rule in list(registry.all_rules()):
        ufunc = rule.key
        if not isinstance(ufunc, np.ufunc) or ufunc.nin != 2:
            continue
        if not rule.differentiable:
            non_differentiable(ufunc.reduce, ufunc.accumulate, ufunc.outer,
                               ufunc.reduceat)
        elif rule.partials is not None and ufunc.nout == 1:
            _declare_outer(ufunc, rule)
    for method, table in _SAME.items():
        for ufunc, function in table.items():
            _declare_like(method, ufunc, function)
    for ufunc in (np.maximum, np.minimum, np.fmax, np.fmin):
        adjoint(ufunc.accumulate, domain="distinct")(running_extreme_rev)
        tangent(ufunc.accumulate)(running_extreme_fwd)
    registry._changed()


declare_all()

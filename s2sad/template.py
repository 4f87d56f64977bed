"""Fill a rule template: substitute operands and adjoint names into its body.

A template's parameters are bound to the operands of one SSA statement; its
local variables become fresh temporaries; its free names (`np`, `runtime`,
`math`) become names the generated code can reach; `d[p]` becomes the adjoint
(or tangent) name of p. Statements `d[p] = expr` are returned apart, as
contributions, for the engine to accumulate. Divisions, powers and `math`
calls of the filled code compute as NumPy does, never raising
(`rules.ieee`): only the user's own statements keep Python's semantics.
"""

import gast

from s2sad import errors, runtime, ssa, trees
from s2sad.rules import ieee

_NO_VALUE = object()


def bind(template, stmt, output):
    """Map template parameters to operands of `stmt` (output first).

    Raises:
        TypeError: when the call's arguments do not fit the template.
    """
    markers = [object() for _ in stmt.args]
    kw_markers = {k: object() for k, _ in stmt.kwargs}
    by_marker = {id(m): a for m, a in zip(markers, stmt.args)}
    by_marker.update({id(kw_markers[k]): v for k, v in stmt.kwargs})
    bound = template.signature.bind(output, *markers, **kw_markers)
    bound.apply_defaults()
    result = {}
    for name, value in bound.arguments.items():
        if value is output:
            result[name] = ssa.Var(stmt.target)
        elif id(value) in by_marker:
            result[name] = by_marker[id(value)]
        else:
            result[name] = Default(value)  # the caller did not pass it
    return result


class Default(ssa.Const):
    """A template parameter the call left at its default: a keyword
    argument `name=parameter` in the template is then left out too."""


class Filled:
    """A filled template: plain statements, contributions, returned values."""

    def __init__(self):
        self.stmts = []
        self.contributions = []  # (parameter name, gast expression)
        self.returned = None  # gast expression, for partials templates


def fill(template, operands, d_names, namer, import_name, numbers=(),
         arrays=(), nonzero=None, complex_numbers=False, sequences=()):
    """Instantiate `template` for one statement.

    Args:
        template: a `registry.Template`.
        operands: parameter name -> ssa operand.
        d_names: parameter name -> name that `d[parameter]` reads.
        namer: the function's `Namer`, for template locals.
        import_name: callable (name, object) -> the name generated code uses
            to reach a free name of the template.
        numbers: the parameters whose values are rank 0 (numbers), as are
            their adjoints or tangents.
        arrays: the parameters whose values are NumPy values (arithmetic
            on them is IEEE already).
        nonzero: the name of an operand the statement itself showed is not
            a zero Python number (`ieee.nonzero_operand`), or None.
        complex_numbers: whether a number may be complex (`ieee.Lowering`).
        sequences: the parameters that may be Python lists or tuples, which
            a NumPy function reads as arrays: where the template does
            arithmetic on one (`2.0 * x`), it reads `runtime.array_of(x)`.
    """
    locals_ = {}
    filled = Filled()
    rewriter = _Rewriter(template, operands, d_names, locals_, namer,
                         import_name, sequences)
    named = {p: o.name for p, o in operands.items()
             if isinstance(o, ssa.Var)}
    lowering = ieee.Lowering(
        {named[p] for p in numbers if p in named}
        | {d_names[p] for p in numbers if d_names.get(p)},
        {named[p] for p in arrays if p in named},
        {n for n in d_names.values() if n}, rewriter.free.get,
        lambda: import_name("np", ieee.np),
        lambda: import_name("runtime", runtime), namer.temp, nonzero,
        complex_numbers)
    for stmt in template.body:
        if isinstance(stmt, gast.Return):
            hoisted, filled.returned = lowering.expression(
                rewriter.rewrite(stmt.value))
            filled.stmts += hoisted
            break
        target = stmt.targets[0] if isinstance(stmt, gast.Assign) else None
        if _is_d(target):
            hoisted, value = lowering.expression(
                rewriter.rewrite(stmt.value))
            filled.stmts += hoisted
            filled.contributions.append((target.slice.id, value))
        else:
            filled.stmts += lowering.statement(rewriter.rewrite(stmt))
    return filled


def _is_d(node):
    return (isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)
            and node.value.id == "d")


class _Rewriter:
    """Copies a template's statements with its names rewritten: parameters
    to operands, locals to fresh temporaries, `d[p]` to adjoint names, free
    names to names the generated code reaches."""

    def __init__(self, template, operands, d_names, locals_, namer, import_name,
                 sequences=()):
        self.template = template
        self.sequences = sequences
        self.operands = operands
        self.d_names = d_names
        self.locals = locals_
        self.namer = namer
        self.import_name = import_name
        self.free = {}  # name in the filled code -> the object it names
        self.assigned = template.assigned

    def rewrite(self, node):
        """A copy of the template's `node` (or list), rewritten; the
        template is left as it is."""
        if type(node) is list:
            return [self.rewrite(item) for item in node]
        if not isinstance(node, gast.AST):
            return node
        kind = type(node)
        if kind is gast.Name:
            return self.name(node)
        if kind is gast.Subscript and _is_d(node):
            name = self.d_names.get(node.slice.id)
            if name is None:
                raise errors.S2SADInternalError(
                    f"template {self.template.name} reads d[{node.slice.id}], "
                    "which has no adjoint here")
            return _name(name)
        old = node.__dict__
        new = kind.__new__(kind)  # (as trees.clone, field by field)
        fields = new.__dict__
        for field in kind._fields:
            value = old.get(field)
            if kind in _ARITHMETIC and self.sequences:
                if self.is_sequence(value):
                    fields[field] = self.as_array(value)
                    continue
                if type(value) is list:  # (a comparison's comparators)
                    fields[field] = [
                        self.as_array(v) if self.is_sequence(v)
                        else self.rewrite(v) for v in value]
                    continue
            if kind is gast.Call and field == "keywords":
                # a keyword `name=parameter` left at its default is dropped
                value = [kw for kw in value if not (
                    isinstance(kw.value, gast.Name)
                    and isinstance(self.operands.get(kw.value.id), Default))]
            fields[field] = self.rewrite(value)
        for attr in trees.COPIED:
            if attr in old:
                fields[attr] = old[attr]
        return new

    def is_sequence(self, node):
        """Does `node` name a parameter that may be a list or tuple, or its
        tangent (`d[x]`, given in x's structure)?"""
        if type(node) is gast.Name:
            return node.id in self.sequences
        return _is_d(node) and node.slice.id in self.sequences

    def as_array(self, node):
        """`runtime.array_of(x)` (a list or tuple as an array) of what
        `node` names: a parameter's operand or `d[x]`."""
        helpers = self.import_name("runtime", runtime)
        self.free[helpers] = runtime
        return gast.Call(gast.Attribute(_name(helpers), "array_of",
                                        gast.Load()),
                         [self.rewrite(node)], [])

    def name(self, node):
        name = node.id
        if name in self.operands and name not in self.assigned:
            return trees.clone(ssa.render_operand(self.operands[name]))
        if name in self.assigned:
            if name not in self.locals:
                self.locals[name] = self.namer.temp()
            return gast.Name(self.locals[name], trees.clone(node.ctx), None,
                             None)
        value = self.template.globals.get(name, _NO_VALUE)
        if value is _NO_VALUE:
            import builtins
            value = getattr(builtins, name, _NO_VALUE)
            if value is not _NO_VALUE:
                return trees.clone(node)
            raise errors.S2SADInternalError(
                f"template {self.template.name}: unknown name {name}")
        reached = self.import_name(name, value)
        self.free[reached] = value
        return _name(reached)


# the nodes whose operands Python's operators read (a list's `*` repeats
# it, and `==` compares it whole)
_ARITHMETIC = (gast.BinOp, gast.UnaryOp, gast.Compare)


def _name(name):
    return gast.Name(name, gast.Load(), None, None)

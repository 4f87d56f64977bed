"""Three-address SSA form: lowering from the desugared tree, and printing.

Every statement of the lowered function has one of these forms:

    Assign   target = fn(operand, ..., key=operand, ...)     one operation
    If       if operand: [stmts] else: [stmts]; target = phi(then, else) ...
    For      header phis; for target in operand: [stmts]
    While    header phis; while ([stmts]; operand): [stmts]
    Return   return operand

An operand is a `Var` (an SSA name), a `Free` (a module global, closure value
or dotted name such as `np.pi`, read at run time) or a `Const`. Each SSA name
is assigned exactly once; joins after `if` and at loop headers are explicit
`Phi` nodes. `fn` is a live object that keys the rule registry: an `operator`
function for Python operators (`operator.add` for `+`), the resolved callee for
calls (`np.sin`), `getattr` for attribute reads, or one of the markers below.

    >>> import numpy as np
    >>> from s2sad import frontend
    >>> src = frontend.parse_source("def f(x): return np.sin(x * x) + x",
    ...                             globals_={"np": np})
    >>> print(to_source(lower(src)), end="")
    def f(x):
        _t1 = x * x
        _t2 = np.sin(_t1)
        _t3 = _t2 + x
        return _t3
"""

import bisect
import collections
import copy
import dataclasses
import heapq
import inspect
import operator
import random
import re
import sys
import types

import gast

import numpy as np

from s2sad import codegen, desugar, errors, fence, frontend, runtime, trees
from s2sad.naming import Namer, names_in


# ---- operands ----

class Var:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name

    def __eq__(self, other):
        return isinstance(other, Var) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


class Free:
    """A name from outside the function (`A`, `np.pi`), read at run time."""
    __slots__ = ("expr", "value")

    def __init__(self, expr, value):
        self.expr = expr
        self.value = value

    def __repr__(self):
        return trees.unparse(self.expr)


class Spread:
    """`*operand` among a call's arguments (`g(*xs)`)."""
    __slots__ = ("operand",)

    def __init__(self, operand):
        self.operand = operand

    def __repr__(self):
        return f"*{self.operand!r}"


class Undefined:
    """The entry value of a variable first assigned inside a loop."""
    __slots__ = ()

    def __repr__(self):
        return "undefined"

    def __eq__(self, other):
        return isinstance(other, Undefined)

    def __hash__(self):
        return 0


class Const:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return repr(self.value)


# ---- operation markers (keys of the rule registry) ----

def identity(x):
    """`y = x`: a copy (also the form constants take: `y = 2.0`)."""
    return x


def _means_something(name):
    """Does a method of this name mean something to s2sad, were it an
    array's, a list's, a dict's or a number's (a rule of NumPy's function
    of that name, a list or dict update)?"""
    return hasattr(np, name) or any(hasattr(kind, name) for kind in (
        np.ndarray, list, dict, float, tuple, set))


class Method:
    """The operation `receiver.name(*args)`: one object per method name, so
    it can key the rule registry (`ssa.method("append")`)."""
    _interned = {}

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<method .{self.name}()>"


def method(name):
    """The (unique) `Method` for `name`."""
    if name not in Method._interned:
        Method._interned[name] = Method(name)
    return Method._interned[name]


def call(function, *args, **kwargs):
    """`function(...)` where the callee is a value (a parameter, a local
    function, `fns[0]`) known only at run time."""
    return function(*args, **kwargs)


def make_function(*captured):
    """A nested `def` or lambda: the statement carries its definition
    (`Assign.definition`); the operands are the local values it captures."""
    raise TypeError("make_function is a marker, not a function")


def make_tuple(*items):
    return items


def make_list(*items):
    return list(items)


def make_dict(*keys_and_values):
    return dict(zip(keys_and_values[::2], keys_and_values[1::2]))


def is_in(a, b):
    return a in b


def is_not_in(a, b):
    return a not in b


# what lowering a `raise` (`runtime.raised(...)`) returns: control ends there
RAISED = object()


# ---- statements ----

class Assign:
    """`target = fn(*args, **kwargs)`, one operation (no target: an effect)."""

    def __init__(self, target, fn, args, kwargs=(), callee=None, node=None):
        self.target = target
        self.fn = fn
        self.args = tuple(args)
        self.kwargs = tuple(kwargs)  # ((name, operand), ...)
        self.callee = callee  # gast expression of the callee, for calls
        self.node = node  # the user's statement, for locations
        self.definition = None  # the def or lambda of a make_function

    def operands(self):
        """Every operand read, `*xs` and `**kw` unwrapped."""
        return tuple(a.operand if isinstance(a, Spread) else a
                     for a in self.args) + tuple(v for _, v in self.kwargs)

    def spreads(self):
        """Does the call pass `*xs` or `**kw`?"""
        return any(isinstance(a, Spread) for a in self.args) or any(
            k is None for k, _ in self.kwargs)


class Phi:
    def __init__(self, target, left, right):
        self.target = target
        self.left = left  # the `then` value, or the loop-entry value
        self.right = right  # the `else` value, or the loop back-edge value


class If:
    def __init__(self, test, body, orelse, phis, node):
        self.test, self.body, self.orelse = test, body, orelse
        self.phis, self.node = phis, node


class For:
    def __init__(self, target, iter, body, phis, node):
        self.target, self.iter, self.body = target, iter, body
        self.phis, self.node = phis, node


class While:
    def __init__(self, test_body, test, body, phis, node):
        self.test_body, self.test, self.body = test_body, test, body
        self.phis, self.node = phis, node


class Return:
    def __init__(self, value, node):
        self.value, self.node = value, node


class GradOf:
    """`with s2sad.grad_of(var) as name: body`: `body` (SSA statements,
    not part of the primal) runs in the backward pass with `name` bound to
    var's adjoint; `result` is then its new adjoint."""

    def __init__(self, var, name, body, result, node):
        self.var, self.name, self.body = var, name, body
        self.result, self.node = result, node


class Function:
    """A lowered function: parameters, SSA body and the names it uses.

    Attributes:
        params: the positional parameters (what `argnums` counts).
        all_params: every parameter, `*args`, keyword-only and `**kwargs`
            included.
        arguments: the `gast.arguments` of the user's signature (defaults,
            keyword-only parameters), which generated functions repeat.
    """

    def __init__(self, name, params, body, source, namer, arguments=None,
                 all_params=None, imports=None):
        self.name, self.params, self.body = name, params, body
        self.source, self.namer = source, namer
        self.arguments = arguments
        self.all_params = all_params if all_params is not None else params
        self.imports = imports or {}  # names of s2sad's own that it calls
        self.vararg = arguments.vararg.id if arguments is not None and \
            arguments.vararg is not None else None

    @property
    def positional(self):
        """Does the signature have only positional parameters (some with
        defaults, perhaps): may a call pass each of them by position?"""
        return self.all_params == self.params

    @property
    def plain(self):
        """Does the signature have only positional parameters, no defaults?"""
        return self.all_params == self.params and not (
            self.arguments and self.arguments.defaults)

    def __str__(self):
        return to_source(self)


def walk(stmts):
    """Every statement, nested ones included, in program order."""
    for stmt in stmts:
        yield stmt
        for block in nested(stmt):
            yield from walk(block)


def blocks(stmts):
    """`stmts` and every statement list nested in it (the bodies `walk`
    goes through), to change in place."""
    yield stmts
    for stmt in stmts:
        for block in nested(stmt):
            yield from blocks(block)


def nested(stmt):
    """The statement lists `stmt` holds, in program order: an If's body
    and orelse, a For's body, a While's test_body and body."""
    if isinstance(stmt, If):
        return stmt.body, stmt.orelse
    if isinstance(stmt, For):
        return (stmt.body,)
    if isinstance(stmt, While):
        return stmt.test_body, stmt.body
    return ()


def with_blocks(stmt, change):
    """`stmt`, or a copy of it whose nested blocks are `change(block)`:
    the statements given are left as they are (a pass that may be given up
    leaves the SSA it read unchanged)."""
    fields = [f for f in ("body", "orelse", "test_body")
              if isinstance(getattr(stmt, f, None), list)]
    if not fields or isinstance(stmt, GradOf):
        return stmt
    stmt = copy.copy(stmt)
    for field in fields:
        setattr(stmt, field, change(getattr(stmt, field)))
    return stmt


def noted_as(old, new):
    """`new`, an Assign replacing `old`, carrying what lowering noted on
    `old` beyond its fields (`unshared`, `definition`, ...)."""
    for key, value in vars(old).items():
        if key not in vars(new):
            setattr(new, key, value)
    return new


# ---- lowering ----

_BINOPS = {
    gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
    gast.Div: operator.truediv, gast.FloorDiv: operator.floordiv,
    gast.Mod: operator.mod, gast.Pow: operator.pow,
    gast.MatMult: operator.matmul, gast.BitAnd: operator.and_,
    gast.BitOr: operator.or_, gast.BitXor: operator.xor,
    gast.LShift: operator.lshift, gast.RShift: operator.rshift,
}
_SYMBOLS = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/",
            gast.FloorDiv: "//", gast.Mod: "%", gast.Pow: "**",
            gast.MatMult: "@", gast.BitAnd: "&", gast.BitOr: "|",
            gast.BitXor: "^", gast.LShift: "<<", gast.RShift: ">>"}
_IN_PLACE = {op: getattr(runtime, "i" + fn.__name__.rstrip("_"))
             for op, fn in _BINOPS.items()}
_UNARYOPS = {gast.USub: operator.neg, gast.UAdd: operator.pos,
             gast.Not: operator.not_, gast.Invert: operator.invert}
_CMPOPS = {
    gast.Eq: operator.eq, gast.NotEq: operator.ne, gast.Lt: operator.lt,
    gast.LtE: operator.le, gast.Gt: operator.gt, gast.GtE: operator.ge,
    gast.Is: operator.is_, gast.IsNot: operator.is_not, gast.In: is_in,
    gast.NotIn: is_not_in,
}
_SHAPE_METHODS = ("reshape", "transpose")  # take a shape as several ints
_CONST_TYPES = (int, float, complex, bool, str, bytes, type(None),
                type(Ellipsis))


def _may_keep(stmt):
    """Does `stmt` (`np.array(x, copy=...)`, `x.astype(t, copy=...)`) give
    back its operand itself unless told to copy (`copy=True`)?"""
    copying = dict(stmt.kwargs).get("copy")
    return copying is not None and not (
        isinstance(copying, Const) and copying.value is True) and (
        stmt.fn in (np.array, np.asarray) or isinstance(stmt.fn, Method)
        and stmt.fn.name == "astype")


def lower(source, owned=False):
    """Lower a parsed function to three-address SSA.

    Args:
        source: a `frontend.Source`; its tree is fenced and desugared here.
        owned: the arguments are the derivative's own (the function is
            differentiated for its caller, not called from generated code):
            updating them in place is a new value, which Python's caller
            would see but nothing in the function does. Otherwise such an
            update is refused.

    Returns:
        An `ssa.Function`.
    """
    fence.check(source)
    desugar.desugar(source)
    return _Lowering(source, owned).function()


class _Env(dict):
    """The lowering's scope (user name -> current SSA name) with a log of
    its changes, so that a branch is lowered from the scope before it and
    its changes read and undone in time proportional to them. Names are
    never removed."""

    _MISSING = object()

    def __init__(self, *args):
        super().__init__(*args)
        self.log = []  # (name, its version before, or _MISSING)

    def __setitem__(self, name, version):
        self.log.append((name, self.get(name, self._MISSING)))
        super().__setitem__(name, version)

    def mark(self):
        return len(self.log)

    def changes(self, mark):
        """{name: its version now} for the names whose version differs from
        theirs at `mark`."""
        before = {}
        for name, previous in self.log[mark:]:
            before.setdefault(name, previous)
        return {name: self[name] for name, previous in before.items()
                if previous is self._MISSING or previous != self[name]}

    def undo(self, mark):
        """Back to the scope as it was at `mark`."""
        log = self.log
        while len(log) > mark:
            name, previous = log.pop()
            if previous is self._MISSING:
                super().__delitem__(name)
            else:
                super().__setitem__(name, previous)


class _Lowering:
    def __init__(self, source, owned=False):
        self.source = source
        self.owned = owned  # the arguments are the derivative's own copies
        self.argument_updates = []  # (name, node): `x += ...` on an argument
        self.parameter_names = ()  # every parameter's name
        self.updated_arguments = set()  # those updated in place
        self.namer = Namer(names_in(source.tree))
        self.env = _Env()  # user name -> current SSA name
        self.defined = set()  # user names that already have a first version
        self.out = []
        self.defs = {}  # SSA name -> its Assign or Phi
        self.shared = {}  # SSA name -> where else its value is reachable
        self.made = set()  # SSA names of new values that look like views
        self.stale = {}  # SSA name of a view -> (array, update) after it
        # a stale name that holds an element of the array it views (`r =
        # la[0][:, None]`) -> (the element, whether the update changed it
        # in place, the error): read again, the element is checked
        self.stale_elements = {}
        # stale elements checked not to be views (an array's), and not to
        # be items changed in place (a list's too: `element_check`)
        self.checked = set()
        # SSA names of values a path may leave unbound (a name assigned on
        # one branch, first in a loop, or deleted) -> the operand that is
        # True where it is bound: a flag joined as they are; read, they
        # are checked (`read_unbound`)
        self.unbound = {}
        self.loop_flags = []  # per loop being lowered: (name, flag phi)
        self.enclosing = []  # the blocks around the one being lowered
        # module-level arrays and lists read: name -> (node, value)
        self.global_arrays = {}
        self.blocks = {}  # SSA name -> the statement list defining it
        self.viewers = {}  # SSA name -> names made from it by view operations
        self.counters = set()  # the targets of loops over a range
        self.iterated = {}  # a loop's target -> what the loop iterates
        self.copies = {}  # SSA name -> the shallow copies made of it
        self.stores = None  # user name -> how often the function assigns it
        self._parents = None  # id(node) -> its parent node (see `parent`)
        self.top = None  # the function body's statement list
        self.imports = {}

    def error(self, node, message, cls=errors.UnsupportedSyntaxError):
        return self.source.error(cls, node, message)

    # -- structure --

    def function(self):
        tree = self.source.tree
        params = parameters(tree.args)
        everything = parameters(tree.args, all_kinds=True)
        for name in everything:
            self.env[name] = name
            self.defined.add(name)
        if self.owned:  # `idx.sort()`, `fill(buf)` change the copy
            changed = _changed_by_calls(tree, self.source)
            for name in sorted(changed & set(everything)):
                self.emit(self.define(name), runtime.owned_argument, [
                    Var(name)], callee=self.runtime_call("owned_argument"),
                    node=tree)
                # (changed in place as Python runs it: `buf.append(v)`, of
                # a list that may be a module-level one the function reads)
                self.updated_arguments.add(name)
        copies, self.out = self.out, []
        self.parameter_names = everything
        body, returned = self.block(tree.body)
        if returned is RAISED:  # (a function that always raises)
            body.append(Return(Const(None), tree))
        shared = [Free(trees.clone(node), value) for node, value in
                  self.global_arrays.values()]  # (module-level arrays read)
        if self.owned and self.updated_arguments and \
                len(everything) + len(shared) > 1:
            # updates of one argument are not seen through another, nor
            # through a module-level array that is the same array
            message = self.source.located(
                tree, "two arguments, or an argument and a module-level "
                "array or list the function reads, are the same array or "
                f"list (or share memory), and this function changes "
                f"`{sorted(self.updated_arguments)[0]}` in place, which "
                "Python would also change through the other; s2sad "
                "differentiates them as separate values: pass copies")
            given = self.emit(self.namer.temp(), make_tuple,
                              [Var(name) for name in everything] + shared,
                              node=tree)
            self.emit(None, runtime.check_distinct, [given, Const(message)],
                      callee=self.runtime_call("check_distinct"), node=tree)
            copies = self.out + copies
        body[:0] = copies
        self.drop_unread_flags(body)
        self.drop_known_item_checks(body)
        function = Function(tree.name, params, body, self.source, self.namer,
                            tree.args, everything, self.imports)
        function.argument_updates = self.argument_updates
        return function

    def block(self, stmts):
        """Lower statements into a fresh list; return (list, return operand)."""
        saved, self.out = self.out, []
        if self.top is None:
            self.top = self.out
        self.enclosing.append(saved)
        returned = self.statements(stmts)
        self.enclosing.pop()
        block, self.out = self.out, saved
        return block, returned

    def statements(self, stmts):
        """Lower `stmts` where the lowering is; the last one's return
        operand (RAISED after a raise: what follows never runs)."""
        returned = None
        for stmt in stmts:
            returned = self.statement(stmt)
            if returned is RAISED:
                break
        return returned

    def statement(self, node):
        if not isinstance(node, (gast.Assign, gast.Return, gast.Expr)):
            return self.compound(node)
        return self.raising_where_undefined(self.compound, node)

    def raising_where_undefined(self, lower, node):
        """`lower(node)`; or where `node` (a statement, or one side of a
        conditional expression, `and` or `or`) reads a name that is not
        defined (`np.trapz` on NumPy 2, a helper of a branch that does not
        run: `if DEBUG: plot(x)`), the raise Python makes there when it
        runs, and RAISED."""
        try:
            return lower(node)
        except errors.NameResolutionError as error:
            missing = getattr(error, "s2sad_missing", None)
            if missing is None or not _evaluated_by(missing, node):
                raise
            cls = errors.AttributeResolutionError if isinstance(
                missing, gast.Attribute) else errors.NameResolutionError
            self.source.record_absent(missing)  # (until it is defined)
            exc = gast.Call(_builtin_name(cls), [gast.Constant(
                str(error), None)], [])
            return self.statement(desugar.raising(exc, node))

    def side(self, lower, node):
        """One side of a conditional expression, `and` or `or`, lowered
        (see `raising_where_undefined`): its value, or Undefined where it
        raises."""
        start = self.env.mark()
        value = self.raising_where_undefined(lower, node)
        if self.env.changes(start):  # (no join of names there)
            raise self.error(node, "a list changed in one side of a "
                             "conditional expression, `and` or `or` (`.pop()`"
                             " there) is not supported; write an `if` "
                             "statement")
        return Undefined() if value is RAISED else value

    def compound(self, node):
        if isinstance(node, gast.Assign):
            self.assign(node)
            if getattr(node, "s2sad_unbinds", False):  # `del name`
                self.unbound[self.env[node.targets[0].id]] = Const(False)
        elif isinstance(node, gast.Return):
            value = self.expr(node.value) if node.value is not None \
                else Const(None)
            self.out.append(Return(value, node))
            return value
        elif isinstance(node, gast.If):
            return self.if_(node)
        elif isinstance(node, gast.Expr) and self.list_update(node):
            pass
        elif isinstance(node, gast.Expr):  # a call for its effect: print(x)
            shared = self.version_changed(node)
            fn, args, kwargs, callee = self.operation(node.value)
            self.emit(None, fn, args, kwargs, callee, node)
            self.renewed(shared, node)
            if getattr(node, "s2sad_raises", False):
                return RAISED
        elif isinstance(node, gast.FunctionDef):
            self.function_value(node, node.name)
        elif isinstance(node, gast.With):  # fenced: s2sad.grad_of
            self.grad_of(node)
        elif isinstance(node, gast.For):
            self.for_(node)
        elif isinstance(node, gast.While):
            self.while_(node)
        elif not isinstance(node, gast.Pass):
            raise self.error(node, f"{type(node).__name__} statements are not "
                             "supported")
        return None

    def assign(self, node):
        value_node = node.value
        first, *others = node.targets
        if _is_update(value_node, "pop", self.env):  # v = items.pop()
            value = self.list_update(gast.Expr(value_node), node)
            for target in node.targets:
                self.bind(target, value, node)
            return
        shared = self.version_changed(node) if isinstance(
            value_node, gast.Call) else []  # `v = heapq.heappop(h)`
        self.assign_to(node, first, others, value_node)
        self.renewed([name for name in shared if name in self.env], node)

    def assign_to(self, node, first, others, value_node):
        if isinstance(first, gast.Name):
            before = self.env.get(first.id)
            value = self.expr(value_node, target=first.id)
            if getattr(value_node, "s2sad_in_place", False) and before:
                self.updated(first.id, before, node)
        elif isinstance(value_node, (gast.Tuple, gast.List)) \
                and isinstance(first, (gast.Tuple, gast.List)) \
                and len(value_node.elts) == len(first.elts):
            # `a, b = b, a`: evaluate every right-hand side before binding.
            values = [self.expr(elt) for elt in value_node.elts]
            for target, value in zip(first.elts, values):
                self.bind(target, value, node)
            value = None
        else:
            value = self.expr(value_node)
            if getattr(value_node, "s2sad_in_place", False):
                self.updated_item(first, value, node)
            self.bind(first, value, node)
        for target in others:
            if value is None:
                raise self.error(node, "chained assignment of an unpacked "
                                 "tuple is not supported; split it")
            self.bind(target, value, node)

    def bind(self, target, value, node):
        """Assign an operand to a (possibly nested tuple) target."""
        if isinstance(target, gast.Name):
            self.emit(self.define(target.id), identity, [value], node=node)
            return
        if isinstance(target, gast.Subscript):
            self.set_item(target, value, node)
            return
        starred = [i for i, elt in enumerate(target.elts)
                   if isinstance(elt, gast.Starred)]
        if starred:  # `first, *rest = x`: rest a list of what is left
            self.emit(None, runtime.check_unpacking,
                      [value, Const(len(target.elts) - 1), Const(True)],
                      node=node, callee=self.runtime_call("check_unpacking"))
        made = self.defs.get(value.name) if isinstance(value, Var) else None
        if not starred and not (isinstance(made, Assign) and
                                made.fn is make_tuple and
                                len(made.args) == len(target.elts)):
            self.emit(None, runtime.check_unpacking,  # `a, b = x`
                      [value, Const(len(target.elts))], node=node,
                      callee=self.runtime_call("check_unpacking"))
        star = starred[0] if starred else len(target.elts)
        after = len(target.elts) - star - 1
        for i, elt in enumerate(target.elts):
            name = self.namer.temp()
            if i == star:  # (Python's rest is a list, of any sequence)
                rest = self.emit(name, operator.getitem, [value, Const(
                    slice(i, -after if after else None))], node=node)
                self.bind(elt.value, self.emit(
                    self.namer.temp(), list, [rest], node=node,
                    callee=self.own("list", list)), node)
                continue
            index = i if i < star else i - len(target.elts)
            self.emit(name, operator.getitem, [value, Const(index)],
                      node=node)
            self.bind(elt, Var(name), node)

    def define(self, name):
        """The SSA name for a new definition of user variable `name`."""
        if name not in self.defined:
            self.defined.add(name)
            self.env[name] = name
        else:
            self.env[name] = self.namer.fresh(name)
        return self.env[name]

    def emit(self, target, fn, args, kwargs=(), callee=None, node=None):
        for arg in list(args) + [v for _, v in kwargs]:
            if isinstance(arg, Var) and arg.name in self.stale:
                self.read_stale(arg.name, node)
        stmt = Assign(target, fn, args, kwargs, callee, node)
        self.out.append(stmt)
        self.defs[target] = stmt
        self.blocks[target] = self.out
        for viewed in self.viewed_by(fn, args, kwargs) if target else ():
            self.viewers.setdefault(viewed.name, []).append(target)
        if target and _shallow_copy(stmt):  # (`d.copy()`: no view, if an
            # array's; a list's or dict's holds the same items)
            self.copies.setdefault(args[0].name, []).append(target)
        where = _SHARES.get(fn)
        if fn is runtime.setitem and isinstance(args[0], Var) and \
                self.numeric_array(args[0].name):
            where = None  # assigning into an array of numbers copies
        if fn in (runtime.appended, runtime.setitem):
            args = args[1:]  # the list or array updated is not kept
        if where and fn is identity and (target or "_").startswith("_"):
            where = ("a value made from it that holds the same items (`dict("
                     "...)`, `list(...)`)")  # (not a name of the user's)
        for arg in args if where else ():
            if isinstance(arg, Var):
                self.shared.setdefault(arg.name, where.format(
                    target=_user_name(target or "")))
        return Var(target)

    def grad_of(self, node):
        """A gradient hook: its body is lowered in a scope of its own (it
        does not run going forward, so what it assigns is not visible
        after it)."""
        item = node.items[0]
        var = self.expr(item.context_expr.args[0])
        if not isinstance(var, Var):
            raise self.error(node, "s2sad.grad_of takes a variable of this "
                             "function")
        if self.blocks.get(var.name, self.top) is not self.out:
            # the backward pass runs the hook where the adjoint is complete,
            # at the definition: it must run exactly when the definition does
            raise self.error(node, "`with s2sad.grad_of(...)` must be in the "
                             "same block as the assignment of its variable "
                             "(not in a branch, after a `return`, `break` or "
                             "`continue`, or in another loop); move it next "
                             "to the assignment")
        start, defined = self.env.mark(), set(self.defined)
        name = self.define(item.optional_vars.id)
        body, _ = self.block(node.body)
        result = Var(self.env[item.optional_vars.id])
        self.env.undo(start)
        self.defined = defined
        self.out.append(GradOf(var.name, name, body, result, node))

    def function_value(self, node, name=None):
        """A nested def (or lambda) as a `make_function` statement. The
        names it reads from this function are renamed to their SSA versions
        now; Python reads them when the function runs, which is the same
        value only if they are assigned once."""
        if getattr(node, "decorator_list", None):
            raise self.error(node, "decorated nested functions are not "
                             "supported; define the function at module level")
        local = set(parameters(node.args, all_kinds=True)) | (
            _assigned([node]) if name else set())

        def reads(parts, skip=()):
            return {n.id for part in parts for n in gast.walk(part)
                    if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)
                    and n.id in self.env and n.id not in skip}
        definition = trees.clone(node)
        # defaults are read now, the body when the function runs
        defaults = [d for d in definition.args.defaults
                    + definition.args.kw_defaults if d is not None]
        body = definition.body if name else [definition.body]
        in_body = reads(body, local)
        self.check_bound_when_made(node, body, local, name)
        changed = _changed_names(self.source.tree)
        for var in sorted(in_body):
            if self.assignments(var) > 1:
                raise self.error(node, f"the nested function reads `{var}`, "
                                 "which this function assigns more than once; "
                                 "pass it as an argument instead")
            if var in changed:
                raise self.error(node, f"the nested function reads `{var}`, "
                                 "which this function changes in place "
                                 "(the nested function would see the "
                                 "change when it runs); pass it as an "
                                 "argument instead")
        captured = sorted(in_body | reads(defaults))
        for parts, names in ((defaults, reads(defaults)), (body, in_body)):
            for n in (n for part in parts for n in gast.walk(part)):
                if isinstance(n, gast.Name) and n.id in names:
                    n.id = self.env[n.id]
        target = self.define(name) if name else self.namer.temp()
        stmt = Assign(target, make_function,
                      [Var(self.env[v]) for v in captured], node=node)
        stmt.definition = definition
        self.out.append(stmt)
        self.defs[target] = stmt
        return Var(target)

    def check_bound_when_made(self, node, body, local, name):
        """Refuse a nested function whose closure values could change
        after it is made. s2sad binds the values of this function's names
        that it reads when it is made; Python reads them when it is called.
        They are the same unless a name is assigned after the function is
        made (defined later, or again by the loop around it, a
        comprehension's variable), so the function must then be used only
        in the iteration that made it, after it is made: called, or passed
        to a function there (taken to call it then, unless it is `map` or
        `filter`, which call it later), never stored in a list, returned or
        read after the loop."""
        loaded = {n.id for part in body for n in gast.walk(part)
                  if isinstance(n, gast.Name)
                  and isinstance(n.ctx, gast.Load)} - local - {name}
        later = sorted(v for v in loaded
                       if v not in self.env and self.assignments(v))
        if later:
            raise self.error(node, f"the nested function reads `{later[0]}`"
                             ", which this function assigns after making "
                             "it; s2sad binds the values a nested function "
                             "reads when it is made (Python when it is "
                             f"called): assign `{later[0]}` before it, or "
                             "pass it as an argument")
        parent = self.parent
        holder = name
        made = parent(node)
        if name is None and isinstance(made, gast.Assign) and len(
                made.targets) == 1 and isinstance(made.targets[0], gast.Name):
            holder = made.targets[0].id  # g = lambda t: ...
        uses = [n for n in trees.walk(self.source.tree)
                if isinstance(n, gast.Name) and n.id == holder
                and isinstance(n.ctx, gast.Load)] if holder else [node]

        line = getattr(node, "lineno", 0)

        def called(use):  # g(x) or helper(g, x) after it is made, not
            call = parent(use)  # items.append(g) nor map(g, xs) (lazy)
            return isinstance(call, gast.Call) and (
                use is node or getattr(use, "lineno", 0) > line) and (
                call.func is use or use in call.args and not (
                    isinstance(call.func, gast.Attribute)
                    and call.func.attr in ("append", "extend", "insert"))
                and not (isinstance(call.func, gast.Name)
                         and call.func.id in ("map", "filter", "iter")))
        loop = parent(node)
        while loop is not None:  # each loop around it, innermost first
            if isinstance(loop, (gast.For, gast.While)):
                nodes = list(gast.walk(gast.Module(loop.body, [])))
                within = {id(n) for n in nodes}
                if any(id(n) in within and getattr(n, "lineno", 0) < line
                       for n in uses if n is not node):
                    raise self.error(
                        node, f"`{holder}` is called in the loop around it "
                        "before it is made there (the one the last "
                        "iteration made); make it before the loop, or "
                        "before calling it")
                stores = [n for n in nodes if isinstance(n, gast.Name)
                          and isinstance(n.ctx, gast.Store)]
                inside = {n.id for n in stores} | ({
                    n.id for n in gast.walk(loop.target)
                    if isinstance(n, gast.Name)}
                    if isinstance(loop, gast.For) else set())
                again = sorted(loaded & inside)
                later = sorted({n.id for n in stores if n.id in loaded
                                and getattr(n, "lineno", 0) > line})
                if later or again and not (uses and all(
                        id(n) in within and called(n) for n in uses)):
                    shown = _user_name((later or again)[0])  # (as written:
                    raise self.error(  # a comprehension's `v`)
                        node, f"the nested function reads `{shown}`, which "
                        "the loop around it assigns on each iteration, "
                        + ("after making it" if later else
                           "and it is kept past the iteration that made it")
                        + f" (Python reads `{shown}` when it is called, "
                        "s2sad when it is made): use it only in that "
                        f"iteration, after assigning `{shown}`, or pass "
                        f"`{shown}` to it as an argument")
            loop = parent(loop)

    def parent(self, node):
        """The node of the function's tree `node` is a child of, or None."""
        if self._parents is None:
            self._parents = {id(child): parent
                             for parent in trees.walk(self.source.tree)
                             for child in gast.iter_child_nodes(parent)}
        return self._parents.get(id(node))

    def assignments(self, name):
        """How many times the function assigns `name` (a parameter once)."""
        if self.stores is None:
            self.stores = desugar.assignments(self.source.tree)
        return self.stores[name]

    # -- updates in place, as new values --

    def runtime_call(self, helper):
        """The callee expression `runtime.<helper>` (s2sad's helpers)."""
        return gast.Attribute(self.own("runtime", runtime), helper,
                              gast.Load())

    def own(self, name, value):
        """A name reading `value`, one of s2sad's own (a builtin, runtime)
        that the user's names cannot shadow: `name` when the user's module
        means the same by it, else a fresh name bound for generated code."""
        for known, obj in self.imports.items():
            if obj is value:
                return gast.Name(known, gast.Load(), None, None)
        if self.source.lookup(name) is not value or \
                name in _assigned_names(self.source):
            name = self.namer.fresh(name)
            self.imports[name] = value
        return gast.Name(name, gast.Load(), None, None)

    def version_changed(self, stmt):
        """Before a call that changes a value of the function in place (a
        method such as `w.sort()`, a function of the user's that updates
        its argument), bind the name to a copy for the call to change: the
        values read before it, which the backward sweep reads again, stay
        as they were. (A value other names hold too is left to the call:
        they would see the change.)"""
        if not isinstance(stmt.value, gast.Call):
            return []
        shared = []  # (see `renewed`)
        for name in sorted(_changed_by_call(stmt.value, self.source)):
            if name in self.env and self.sharing(self.env[name], set()):
                shared.append(name)
            elif name in self.env:
                old = Var(self.env[name])
                self.emit(self.define(name), runtime.owned_copy, [old],
                          callee=self.runtime_call("owned_copy"), node=stmt)
                # a view taken before sees the call's change, in Python
                for view in self.stale_views(old.name, name, stmt) - {
                        self.env[name]}:
                    self.stale.setdefault(view, (name, stmt))
        return shared

    def renewed(self, names, node):
        """After a call changed in place the values of `names`, which other
        names hold too (see `version_changed`): each name that may hold
        one, an alias or a list or dict it is an item of (`r = K[0];
        fill(r)`: K), is bound to `runtime.changed(value)`, the same object,
        so that what was read of it before the call (a constant list's
        items) is not taken for what it holds after."""
        group, todo = set(), [self.env[name] for name in names]
        while todo:
            version = todo.pop()
            if version in group:
                continue
            same = self.same_object(version)
            group |= same
            todo += [self.element_of(v).name for v in same
                     if self.element_of(v) is not None]
        for name, version in sorted(self.env.items()):
            if version in group:
                self.emit(self.define(name), runtime.changed, [Var(version)],
                          callee=self.runtime_call("changed"), node=node)

    def list_update(self, stmt, node=None):
        """`items.append(v)`, `.extend(vs)`, `.pop(i)` on a local list, as
        `items = runtime.appended(items, v)` and so on. Returns the popped
        value (an operand), True for the others, or None for any other
        statement."""
        call = stmt.value
        kind = next((k for k in _LIST_UPDATES if _is_update(call, k, self.env)),
                    None)
        if kind is None:
            return None
        node = node or stmt
        name = call.func.value.id
        self.check_unshared(name, node, f"`.{kind}()` on")
        args, kwargs = self.arguments(call)
        if kwargs or any(isinstance(a, Spread) for a in args):
            raise self.error(node, f"pass the arguments of `.{kind}()` "
                             "positionally")
        helper = _LIST_UPDATES[kind]
        old = Var(self.env[name])
        if not self.is_sequence(old):  # (an argument: a list, as Python's?)
            self.emit(None, runtime.check_list_method, [old, Const(kind)],
                      node=node, callee=self.runtime_call("check_list_method"))
        if kind == "extend":  # items + list(values)
            args = [self.emit(self.namer.temp(), list, args, node=node,
                              callee=self.own("list", list))]
        if kind != "pop":
            self.emit(self.define(name), helper, [old] + args,
                      callee=self.runtime_call(helper.__name__), node=node)
            # nothing else holds the list (checked above): see s2sad.inplace
            self.out[-1].unshared = kind == "append"
            return True
        both = self.emit(self.namer.temp(), helper, [old] + args,
                         callee=self.runtime_call(helper.__name__), node=node)
        rest = self.emit(self.define(name), operator.getitem, [both, Const(0)],
                         node=node)
        self.made.add(rest.name)  # a new list, not a view
        return self.emit(self.namer.temp(), operator.getitem,
                         [both, Const(1)], node=node)

    def set_item(self, target, value, node):
        """`y[index] = value` as `y = runtime.setitem(y, index, value)`;
        `rows[i][j] = value` as in `set_item_of_item`."""
        base = target.value
        if isinstance(base, gast.Subscript):
            self.set_item_of_item(target, value, node)
            return
        self.check_local(base, node)
        self.check_unshared(base.id, node, "assignment into")
        self.store_item(base.id, self.index(target.slice), value, node)

    def set_item_of_item(self, target, value, node):
        """`rows[i][j] = v` (or `+= v`) changes the item `rows[i]` in place:
        a list or dict, or a view of an array (its row), which the array
        sees. As new values: `rows[i] = runtime.setitem(rows[i], j, v)`, an
        update in place of that item, refused where Python would change it
        through another holder as well (see `updated_item`). Where
        `rows[i]` may copy an array's items (an index array, a mask: Python
        changes the copy, and drops it), that is refused when it runs."""
        outer = target.value
        self.check_local(outer.value, node)
        name = outer.value.id
        self.check_unshared(name, node, "assignment into")
        index = self.index(outer.slice)
        array = Var(self.env[name])
        inner = None
        if self.numeric_array(array.name) and self.is_int(index):
            inner = self.index(target.slice)  # `K[i][j]`, a row's: `K[i, j]`
            if self.is_int(inner) or isinstance(inner, Const) and isinstance(
                    inner.value, slice):
                self.store_item(name, self.index_tuple([index, inner], node),
                                value, node)
                return
        item = self.emit(self.namer.temp(), operator.getitem, [array, index],
                         node=node)
        if not self.source.generated:
            self.emit(None, runtime.check_item_assignment, [item], node=node,
                      callee=self.runtime_call("check_item_assignment"))
        if not (self.is_int(index) or isinstance(index, Const) and (
                isinstance(index.value, str) or isinstance(
                    index.value, (slice, tuple)) and self.numeric_array(
                        array.name))):
            self.emit(None, runtime.check_view_of, [item, array, index, Const(
                self.source.located(node, (
                    f"`{_text(target)} = ...` changes a copy of items of "
                    f"`{name}` (a list's slice, or NumPy's indexing by an "
                    "array or a mask, copies), which Python drops: "
                    f"`{name}` does not change; to change it, write into it "
                    f"(`{name}[{_text(outer.slice)}, {_text(target.slice)}] "
                    "= ...` of an array, an index loop of a list)")))],
                node=node, callee=self.runtime_call("check_view_of"))
        if inner is None:
            inner = self.index(target.slice)
        changed = self.emit(self.namer.temp(), runtime.setitem, [
            item, inner, value],
            callee=self.runtime_call("setitem"), node=node)
        self.updated_item(outer, changed, node, f"`{_text(target)} = ...`", (
            f"s2sad makes a new value instead: take a copy of the item, "
            f"change it and put it back (`row = {_text(outer)}.copy()`, "
            f"`row[{_text(target.slice)}] = ...`, `{_text(outer)} = row`)"))
        self.store_item(name, index, changed, node)

    def check_local(self, base, node):
        """Refuse an assignment into `base` unless it names a value of the
        function (not a module-level one, nor an attribute)."""
        if not (isinstance(base, gast.Name) and base.id in self.env):
            what = f"`{_text(base)}`"
            if isinstance(base, gast.Name):
                what = "a value of the enclosing function" if base.id in (
                    self.source.cells or {}) else "a module-level value"
            path = trees.dotted(base)
            held = None if path is None else self.source.resolve_path(path)
            advice = (
                "a count, cache or log kept outside the function is updated "
                "outside it: around the call of the derivative, or from "
                "what the function returns (an `aux` output)") if isinstance(
                held, dict) else ("build a new array (np.where, "
                                  "np.concatenate) or copy into a local "
                                  "variable first")
            raise self.error(node, f"assignment into {what} is not supported; "
                             f"s2sad never changes values in place: {advice}")

    def store_item(self, name, index, value, node):
        """`name = runtime.setitem(name, index, value)`, of a `name` nothing
        else holds."""
        old = Var(self.env[name])
        if not self.source.generated and not _of_an_item(node):
            # (`t[0][1] = v` assigns into `t[0]`, not into t)
            # a tuple's raises, in Python (see `drop_known_item_checks`)
            self.emit(None, runtime.check_item_assignment, [old], node=node,
                      callee=self.runtime_call("check_item_assignment"))
        listed = self.is_sequence(old) or self.holds_references(
            old.name, set())
        # an array's views see the update; so does an item of a list or
        # dict taken out (`a = xs[0]`) that `xs[0] += v` changes in place,
        # if it can change (not a number: checked when it runs). (Found
        # before the new version, which would hold them all.)
        stale = self.stale_views(old.name, name, node) if not listed or \
            _changes_item(node) else ()
        self.emit(self.define(name), runtime.setitem, [old, index, value],
                  callee=self.runtime_call("setitem"), node=node)
        # nothing else holds the array (checked above): see s2sad.inplace
        self.out[-1].unshared = True
        for view in stale:  # (of a list whose item changes in place, what
            # holds its items too: `cp = [r for r in rows]`, `rows.copy()`)
            if not listed or self.element_of(view) is not None or \
                    _changes_item(node):
                self.stale.setdefault(view, (name, node))

    def updated(self, name, version, node):
        """After `name op= value`: an array or list was changed in place,
        which every other holder of it sees. Its views are stale; when other
        names may hold it, generated code refuses arrays and lists (numbers
        are rebound, and nothing else sees that)."""
        self.note_update(version)
        where = self.sharing(version, set())
        if where == f"`{name}`":
            where = "another name for the same array"
        if where == "the caller's argument":
            self.argument_updates.append((name, node))
        if not where:
            self.check_updatable(version, node, "update of")
        if where:
            symbol = _SYMBOLS[type(node.value.op)]
            container = self.element_of(version) or self.iterated.get(
                version)
            if isinstance(container, Var):  # (what the loop iterates)
                container = self.listed_from(container.name) or container
            into = "" if where != _TAKEN_FROM or not isinstance(
                container, Var) or container.name.startswith("_") else (
                    f"; to change the item in `{_user_name(container.name)}`, "
                    f"update it there (`{_user_name(container.name)}[i] "
                    f"{symbol}= ...`, in a loop over `range(len("
                    f"{_user_name(container.name)}))`)")
            message = self.source.located(
                node,
                f"`{name} {symbol}= ...` changes the array or list `{name}` "
                f"in place, and so also {where}; s2sad makes a new value "
                f"instead: write `{name} = {name} {symbol} ...` if the other "
                f"should keep its value, or copy first (`{name} = "
                f"np.copy({name})`){into}")
            taken = self.taken_from(version, where)
            if taken is not None:  # `c = m[[0, 1]]`: a view, or a copy
                self.emit(None, runtime.check_not_view,
                          [Var(version), taken, Const(message)], node=node,
                          callee=self.runtime_call("check_not_view"))
            else:
                self.emit(None, runtime.check_unshared,
                          [Var(version), Const(message)], node=node,
                          callee=self.runtime_call("check_unshared"))
        same = self.same_object(version)
        for view in self.stale_views(version, name, node) - {
                version, self.env[name]}:
            made = self.defs.get(view)
            if isinstance(made, Phi) or getattr(made, "fn", None) is identity:
                continue  # another name: the check above, when an array
            if made.fn in _SHARES and any(
                    isinstance(a, Var) and a.name in same for a in made.args):
                continue  # a container holding it: the check above too
            self.stale.setdefault(view, (name, node))

    def updated_item(self, target, value, node, update=None, instead=None):
        """Before `items[k] op= v` stores its result: the item, if an array
        or list, was changed in place, and with it whatever else holds it;
        generated code refuses that when it runs. What else may hold it:
        a name (`items = [w]`: w too), a shallow copy of the container or
        what it is one of (`ys = list(xs)`, `xs[:]`, `d.copy()`), or, of an
        argument's container, the arguments again (`f([x, x])`)."""
        base = target.value
        if not (isinstance(base, gast.Name) and base.id in self.env
                and isinstance(value, Var)):
            return
        item = self.defs[value.name].args[0]
        if not isinstance(item, Var):
            return
        container = self.env[base.id]
        if update is None:
            symbol = _SYMBOLS[type(node.value.op)]
            update = f"`{_text(target)} {symbol}= ...`"
            instead = (f"s2sad makes a new value instead: write "
                       f"`{_text(target)} = {_text(target)} {symbol} ...`")
        checks = []  # (helper, its operands before the message, message)
        named = self.holders_of_items(container) if self.holds_shared(
            container, set()) else {}
        for version in named or ():  # (`K.append(row)`: row, if read again)
            self.stale.setdefault(version, (base.id, node))
        if named:  # (`K.append(row)` twice: one list, changed at each place)
            checks.append((runtime.check_held_once, [Var(container), item], (
                f"{update} changes that item in place, and `{base.id}` "
                "holds it more than once (the same list or array appended "
                "or stored twice), which Python would change at each place; "
                "store copies (`K.append(list(row))`, `.copy()`)")))
        if named is None:
            checks.append((runtime.check_unshared, [item], (
                f"{update} changes that item in place if it is an array or "
                f"list, and `{base.id}` holds values that other names also "
                f"hold, which would change with it; {instead}, or put copies "
                f"into `{base.id}`")))
        else:
            checks += [(runtime.check_not_view, [item, relative], (
                f"{update} changes that item in place, and "
                f"`{_user_name(relative.name)}` holds it too (a shallow copy, "
                "`list(xs)`, `xs[:]` or `d.copy()`, holds the same items), "
                f"which would change with it; {instead}, or copy the items "
                "(`[x.copy() for x in xs]`)"))
                for relative in self.shallow_relatives(container)
                if relative.name != item.name]
        made = self.defs.get(item.name)
        if isinstance(made, Assign) and any(
                getattr(self.defs.get(name), "fn", None) is runtime.repeated
                for name in self.same_object(container)):
            # `[np.zeros(2)] * 3`: one array, three times
            checks.append((runtime.check_alone, [made.args[0], item], (
                f"{update} changes that item in place, and `{base.id}` holds "
                "it more than once (a list made by repeating one, `[a] * n`), "
                "which Python would change at each place; make each item "
                "anew (`[np.zeros(2) for _ in range(n)]`)"), [made.args[0]]))
        if self.same_object(container) & set(self.parameter_names) and \
                not self.numeric_array(container) and \
                isinstance(made, Assign) and \
                not _indexes_arrays_only(made.args[1]):
            checks.append((runtime.check_alone, [made.args[0], item], (
                f"{update} changes that item in place, and the arguments "
                "hold it more than once (the same array twice in a list, or "
                "in two arguments), which Python would change through each; "
                "s2sad differentiates them as separate values: pass copies"),
                [Var(name) for name in self.parameter_names]))
        for helper, operands, message, *rest in checks:
            self.emit(None, helper, operands + [
                Const(self.source.located(node, message))] + (
                rest[0] if rest else []), node=node,
                callee=self.runtime_call(helper.__name__))

    def holders_of_items(self, container):
        """The current versions of the user's names that may hold what the
        list, tuple or dict `container` holds (`K.append(row)`: row, and a
        list row was appended to as well), which an update in place of an
        item changes; or None where the code's own values may hold one
        too, which is then checked when it runs."""
        grown = (runtime.appended, runtime.setitem, runtime.inserted)
        chain = self.earlier(container, lambda stmt: stmt.fn in grown + (
            identity,))  # (its versions, and the lists it was made from)
        items = set()
        for version in chain:
            stmt = self.defs.get(version)
            if isinstance(stmt, Assign) and stmt.fn in (make_list, make_tuple,
                                                        make_dict):
                items |= {a.name for a in stmt.args if isinstance(a, Var)}
            elif isinstance(stmt, Assign) and stmt.fn in grown:
                if isinstance(stmt.args[-1], Var):
                    items.add(stmt.args[-1].name)
            elif isinstance(stmt, Assign) and stmt.fn is not identity:
                return None
        if any(makes_view(getattr(self.defs.get(i), "fn", None))
               for i in items):
            return None  # (`[r for r in M]`: rows of M, which M holds)
        own = self.views_of(container) | chain
        holders = set().union(*(self.views_of(i) | self.same_object(i)
                                for i in items)) - own
        current = {v: k for k, v in self.env.items()}
        if any(v.startswith("_") and v not in current for v in holders):
            return None
        return {v for v in holders if v in current}

    def holds_shared(self, version, seen):
        """May the list, tuple or dict `version` hold a value that a name
        of this function also holds (`items = [w]`)?"""
        if version in seen:
            return False
        seen.add(version)
        stmt = self.defs.get(version)
        if isinstance(stmt, Phi):
            return any(self.holds_shared(side.name, seen)
                       for side in (stmt.left, stmt.right)
                       if isinstance(side, Var))
        if stmt is None:  # an argument: its items are the caller's
            return False
        if stmt.fn in (identity, list, tuple, runtime.concatenated):
            return any(self.holds_shared(a.name, seen) for a in stmt.args
                       if isinstance(a, Var))
        if stmt.fn in (make_list, make_tuple, make_dict):
            return any(isinstance(a, Var) and self.named(a.name)
                       for a in stmt.args)
        if stmt.fn not in (runtime.appended, runtime.setitem,
                           runtime.inserted):
            return False
        container, *values = stmt.args
        if not isinstance(container, Var):
            return False
        if self.holds_shared(container.name, seen):
            return True
        # (an array stores copies of what is written into it; a key or an
        # index is not held: `p[k] = v.copy()`)
        return self.holds_references(container.name, set()) and any(
            isinstance(a, Var) and self.named(a.name) for a in values[-1:])

    def shallow_relatives(self, version):
        """The containers that may hold the items of the container
        `version` itself: what it is a shallow copy of (`ys = list(xs)`,
        `xs[:]`, `xs + ys`, `d.copy()`, `dict(d)`) and the shallow copies
        made of it so far."""
        found = {}
        for name in self.same_object(version):
            made = self.defs.get(name)
            if _shallow_copy(made):
                found.update((a.name, a) for a in made.args
                             if isinstance(a, Var))
            for view in self.viewers.get(name, []) + self.copies.get(
                    name, []):
                if _shallow_copy(self.defs.get(view)):
                    found[view] = Var(view)
        # (a temporary is read once, where it is made: `list(map(f, xs))`;
        # one a branch made holds nothing on the other path)
        return [found[name] for name in sorted(found)
                if not name.startswith("_") and self.available(name)]

    def made_anew(self, version, seen, holder=None):
        """Is `version` a value this function made that holds nothing
        reachable otherwise: no argument, module-level value or view of
        one, and, a list, tuple or dict, only items made so (`return m[0],
        m[1]` returns views)? (`holder`: see `sharing`)"""
        if version in seen:
            return True
        seen.add(version)
        stmt = self.defs.get(version)
        if stmt is None or self.sharing(version, set(), holder) is not None:
            return False
        if isinstance(stmt, Phi):
            return all(self.made_anew(side.name, seen)
                       for side in (stmt.left, stmt.right)
                       if isinstance(side, Var))
        if stmt.fn in _SEQUENCES or stmt.fn in (make_dict, dict) or (
                stmt.fn is runtime.setitem
                and self.holds_references(version, set())):
            return all(self.made_anew(a.name, seen, _SHARES.get(stmt.fn))
                       for a in stmt.args if isinstance(a, Var))
        return True

    def known_dict(self, operand, seen):
        """Is `operand` a dict whatever the inputs (made by `{...}` or
        dict(), or a copy, join or update of one)?"""
        if not isinstance(operand, Var) or operand.name in seen:
            return isinstance(operand, Var)  # (a loop's join, followed)
        seen.add(operand.name)
        stmt = self.defs.get(operand.name)
        if isinstance(stmt, Phi):
            return all(self.known_dict(side, seen) for side in (
                stmt.left, stmt.right) if side is not None)
        if not isinstance(stmt, Assign):
            return False
        if stmt.fn in (make_dict, dict):
            return True
        return (stmt.fn in (identity, runtime.setitem, copy.copy) or
                isinstance(stmt.fn, Method) and stmt.fn.name == "copy") and \
            self.known_dict(stmt.args[0], seen)

    def may_be_dict(self, operand, seen):
        """May `operand` be a dict (an argument, a dict, an item of a
        container, what a call returned), not a value known to be a
        number, a bool or an array (a comparison's, arithmetic's)?"""
        if isinstance(operand, Const):
            return isinstance(operand.value, dict)
        if not isinstance(operand, Var) or operand.name in seen:
            return False
        seen.add(operand.name)
        stmt = self.defs.get(operand.name)
        if isinstance(stmt, Phi):
            return any(self.may_be_dict(side, seen)
                       for side in (stmt.left, stmt.right))
        if stmt is None or stmt.fn in (make_dict, dict, operator.getitem,
                                       call) or isinstance(stmt.fn, Method) \
                or _is_user_function(stmt.fn):
            return True
        if stmt.fn in (identity, runtime.bit_or, runtime.ior,
                       runtime.setitem):
            return self.may_be_dict(stmt.args[0], seen)
        return False

    def holds_references(self, version, seen):
        """Is `version` a list, tuple or dict (whose items are the values
        put in, not copies)?"""
        if version in seen:
            return False
        seen.add(version)
        stmt = self.defs.get(version)
        if isinstance(stmt, Phi):
            return any(self.holds_references(side.name, seen)
                       for side in (stmt.left, stmt.right)
                       if isinstance(side, Var))
        if stmt is None:
            return False
        if stmt.fn in (make_list, make_tuple, make_dict, list, tuple, dict,
                       runtime.repeated):
            return True
        if stmt.fn in (identity, runtime.appended, runtime.setitem,
                       runtime.inserted) and isinstance(stmt.args[0], Var):
            return self.holds_references(stmt.args[0].name, seen)
        return False

    def named(self, version, seen=None):
        """Is `version` a value a name holds: a variable, or a view of one
        (`[w.T]`), rather than a new value only the container holds?"""
        stmt = self.defs.get(version)
        if not version.startswith("_") or stmt is None:
            return True
        seen = set() if seen is None else seen
        if version in seen:
            return False
        seen.add(version)
        if isinstance(stmt, Phi):  # (a comprehension's list, joined)
            return any(self.named(side, seen) for side in _sides(stmt))
        if stmt.fn is identity or makes_view(stmt.fn):
            return any(isinstance(a, Var) and self.named(a.name, seen)
                       for a in stmt.args[:1])
        return False

    def same_object(self, version):
        """`version` and the earlier versions that may be the same Python
        object: a loop's entry, an alias, what an update in place updated."""
        return self.earlier(version, lambda stmt: stmt.fn in (
            identity, runtime.setitem, runtime.changed) or
            stmt.fn in _IN_PLACE.values())

    def earlier(self, version, follows):
        """`version` and what it was made from, through joins and the
        operations `follows` accepts (their first operand), transitively."""
        found, todo = set(), [version]
        while todo:
            name = todo.pop()
            if name in found:
                continue
            found.add(name)
            stmt = self.defs.get(name)
            if isinstance(stmt, Phi):
                todo += _sides(stmt)
            elif isinstance(stmt, Assign) and stmt.args and isinstance(
                    stmt.args[0], Var) and follows(stmt):
                todo.append(stmt.args[0].name)
        return found

    def read_stale(self, version, node):
        """A read of `version`, a view an update in place of its array has
        made stale: refused, unless it is an element (`old = u[2]`, `y[0],
        y[1] = y[1], y[0]`), which is a number, copied, where its array
        has one axis: then the code checks, when it runs, that it is not a
        view (a row of a matrix). So is what may be a copy (`c = A[:,
        1].ravel()`, `np.asarray(rows)`), checked not to be a view of what
        it was made from."""
        if version in self.stale_elements:
            self.check_element(*self.stale_elements[version])
            return
        made = self.defs.get(version)
        if isinstance(made, Assign) and (made.fn in _MAYBE_VIEWS or isinstance(
                made.fn, Method) and made.fn.name in _MAYBE_VIEWS) and \
                isinstance(made.args[0], Var):
            self.check_element(version, False, self.stale_error(version, node),
                               made.args[0])
            return
        if self.element_of(version) is None:
            raise self.stale_error(version, node)
        array, update = self.stale[version]
        # (where it is read from its container, before the update: an
        # update in place of a list, `setitem_owned`, no longer holds it)
        self.check_element(version, self.items_changed(
            version, array, update), self.stale_error(version, node))

    def items_changed(self, element, array, node):
        """Does the update at `node` of `array` (the user's name) change
        the items of the container `element` was read from, were that a
        list, tuple or dict? Where it changes an item in place (`rows[0]
        += [c]`), or where the container is not the array updated but,
        say, a list of its rows (`list(A)`, then `A *= 2`). (Rebinding a
        slot of a list, `rows[0] = r`, leaves the item it held.)"""
        container = self.element_of(element)
        return _changes_item(node) or container is None or _user_name(
            container.name) != array

    def read_unbound(self, version, node):
        """A read of `version`, which a path leaves unbound: the code
        checks, when it runs, the flag that says whether the path taken
        bound it, and raises Python's UnboundLocalError if not (at every
        such read: one in a branch does not cover the others)."""
        name = _user_name(version)
        self.out.append(Assign(None, runtime.check_bound, [
            self.unbound[version], Const(self.source.located(node, (
                f"cannot access local variable '{name}' where it is not "
                "associated with a value")))], (),
            self.runtime_call("check_bound"), node))

    def drop_known_item_checks(self, body):
        """Take out of `body` the checks that what an item is assigned into
        is no tuple (`runtime.check_item_assignment`) where it is known to
        be a list or an array, now that every join's sides are."""
        def kept(stmts):
            stmts[:] = [s for s in stmts if not (
                isinstance(s, Assign) and
                s.fn is runtime.check_item_assignment and
                self.known_mutable(s.args[0]))]
            for stmt in stmts:
                for block in nested(stmt):
                    kept(block)
        kept(body)

    def drop_unread_flags(self, body):
        """Take out of `body` the flag phis (`flag_phi`) that no check
        reads, through the flags it reads: a name no path reads unbound
        needs none."""
        flags = {flag.name for flag in self.unbound.values()
                 if isinstance(flag, Var)}
        if not flags:
            return
        phis = {phi.target: phi for stmt in walk(body)
                for phi in getattr(stmt, "phis", ()) if phi.target in flags}
        needed = [stmt.args[0].name for stmt in walk(body)
                  if isinstance(stmt, Assign) and
                  stmt.fn is runtime.check_bound and
                  isinstance(stmt.args[0], Var)]
        read = set()
        while needed:
            name = needed.pop()
            if name in read or name not in phis:
                continue
            read.add(name)
            needed += [o.name for o in (phis[name].left, phis[name].right)
                       if isinstance(o, Var)]
        for stmt in walk(body):
            if getattr(stmt, "phis", None):
                stmt.phis = [phi for phi in stmt.phis
                             if phi.target not in flags or phi.target in read]

    def bound_flag(self, operand):
        """The operand that is True where `operand` (a phi's) is bound."""
        if isinstance(operand, Undefined):
            return Const(False)
        if isinstance(operand, Var):
            return self.unbound.get(operand.name, Const(True))
        return Const(True)

    def flag_phi(self, phi):
        """The phi joining the bound flags of `phi`'s operands, where one
        may be unbound (then `phi.target` may be too), or None."""
        left, right = self.bound_flag(phi.left), (
            self.bound_flag(phi.right) if phi.right is not None else None)
        if all(isinstance(f, Const) and f.value is True
               for f in (left, right) if f is not None):
            return None
        flag = Phi(self.namer.fresh("_bound"), left, right)
        self.unbound[phi.target] = Var(flag.target)
        self.defs[flag.target] = flag
        self.blocks[flag.target] = self.out
        return flag

    def stale_error(self, version, node):
        array, update = self.stale[version]
        what = f"`{_user_name(version)}`" if not version.startswith("_") \
            else "a value read earlier"
        if _changes_item(update):  # (`r = rows[0]; rows[0][1] = v`)
            return self.error(
                node, f"{what} may be an item of `{array}` or a view of one, "
                f"which line {self.source.lineno(update)} changed in place "
                f"after {what} was taken (Python's {what} sees that change); "
                "s2sad updates lists and arrays by making new ones, so it "
                "would not: take it after the update, or copy it (`.copy()`, "
                "`list(...)`)")
        return self.error(
            node, f"{what} may be a view of `{array}`, which line "
            f"{self.source.lineno(update)} changed after the view was taken "
            "(NumPy "
            "views see such changes: `a[0], a[1] = a[1], a[0]` does not swap "
            "rows); s2sad updates arrays by making new ones, so the view "
            "would not see the change: take it after the update, or copy "
            "it (`.copy()`)")

    def note_update(self, version):
        """Remember the arguments an update in place of `version` changes
        (two arguments may be one array: see `function`)."""
        self.updated_arguments |= self.same_object(version) & set(
            self.parameter_names)

    def viewed_by(self, fn, args, kwargs):
        """The operands whose memory the result of `fn(*args)` may share:
        a view (`y[0]`, `y.T`, np.split, `astype(copy=False)`), a list or
        dict holding them or views of them, what a function of the user's
        may give back (its arguments)."""
        values = [a for a in args if isinstance(a, Var)]
        if not values:
            return []
        if fn is getattr and isinstance(args[1], Const) and \
                args[1].value in METADATA:
            return []  # `u.shape`: numbers, not memory
        if fn is identity or makes_view(fn):
            return values[:1]
        if fn in (make_list, make_tuple, make_dict, runtime.appended,
                  runtime.concatenated, runtime.inserted, list, tuple,
                  copy.copy):
            return values  # (a copy of a list holds the same items)
        if fn is runtime.setitem and self.holds_references(args[0].name,
                                                           set()):
            # `rows[i] = u[0]` into a list or dict: it holds the value
            return [a for a in (args[0], args[2]) if isinstance(a, Var)]
        if any(k == "copy" for k, _ in kwargs) and (
                fn is np.array or isinstance(fn, Method)
                and fn.name == "astype"):
            return values[:1]
        if fn is call or isinstance(fn, Method) and \
                fn.name not in _FRESH_METHODS or \
                _is_user_function(fn) and not _returns_fresh(fn) or \
                _may_give_back(fn):
            return values
        return []

    def views_of(self, version, stop=()):
        """SSA names made from `version`, or from an earlier version of the
        same object (before a loop, before `y += 1` or `y[i] = v`), by
        operations that may return a view of it (`y[0]`, `y.T`,
        `y.reshape(...)`), transitively (not through the names `stop`)."""
        found, todo = set(), list(self.same_object(version))
        joins = None  # a phi's side -> its targets, once a view needs them
        while todo:
            name = todo.pop()
            # what a view reaches through a join is one too (a list of
            # rows built in a loop); the array's own joins are versions
            if name in found and joins is None:
                joins = collections.defaultdict(list)
                for target, made in self.defs.items():
                    if isinstance(made, Phi):
                        for side in (made.left, made.right):
                            if isinstance(side, Var):
                                joins[side.name].append(target)
            for view in self.viewers.get(name, []) + (
                    joins.get(name, []) if name in found else []):
                if view not in found and view not in stop:
                    found.add(view)
                    todo.append(view)
        return found

    def is_int(self, operand, arguments=False):
        """Is `operand` known to be an int: a constant (a module-level
        one too, which the gradient's guard checks is unchanged),
        `len(...)`, or int arithmetic of those? With `arguments`, an
        argument of the user's function counts too, and a copy of one:
        `n` of `[0.0] * n` or `[0.0] * (n + 1)`, a repetition that
        `runtime.repeated` checks when it runs (it refuses anything that
        is not an int, as NumPy's product with an array); not in generated
        code, whose lists meet arrays."""
        if isinstance(operand, (Const, Free)):  # (a module's `N = 8` too)
            return type(operand.value) is int
        arguments = arguments and not self.source.generated
        name = getattr(operand, "name", None)
        if name in self.counters:  # `i` of `for i in range(n)`
            return True
        stmt = self.defs.get(name)
        if arguments and stmt is None:
            return name in self.parameter_names
        if not isinstance(stmt, Assign):
            return False
        if stmt.fn is len:
            return True
        return (stmt.fn in _INT_OPERATIONS or arguments and
                stmt.fn is identity) and all(
            self.is_int(a, arguments) for a in stmt.args)

    def is_sequence(self, operand, seen=None):
        """Is `operand` known to be a list or tuple (made by a literal, a
        comprehension, list(), tuple() or a list update, and written)?"""
        if isinstance(operand, Const):
            return isinstance(operand.value, tuple)
        if not isinstance(operand, Var):
            return False
        seen = seen if seen is not None else set()
        if operand.name in seen:
            return False
        seen.add(operand.name)
        stmt = self.defs.get(operand.name)
        if isinstance(stmt, Phi):
            return any(self.is_sequence(side, seen)
                       for side in (stmt.left, stmt.right))
        if stmt is None:
            return False
        if stmt.fn is identity or operand.name in self.made:
            return operand.name in self.made or self.is_sequence(
                stmt.args[0], seen)
        if stmt.fn is runtime.setitem:  # (a list written: a list)
            return self.is_sequence(stmt.args[0], seen)
        return stmt.fn in _SEQUENCES

    def known_mutable(self, operand, seen=None):
        """Is `operand` known to be no tuple: a list or an array the
        function made (a list literal, a comprehension, list(), a list
        update, NumPy's functions and arithmetic), through copies, writes
        and joins?"""
        if not isinstance(operand, Var):
            return False
        seen = seen if seen is not None else set()
        if operand.name in seen:
            return True  # (a loop's back edge: decided by its entry)
        seen.add(operand.name)
        stmt = self.defs.get(operand.name)
        if isinstance(stmt, Phi):
            return all(self.known_mutable(side, seen) or isinstance(
                side, Undefined) for side in (stmt.left, stmt.right))
        if stmt is None:
            return False
        if stmt.fn in (identity, runtime.setitem, runtime.repeated,
                       runtime.concatenated):  # (of a list: a list)
            return self.known_mutable(stmt.args[0], seen)
        if stmt.fn in (make_list, list, runtime.appended):
            return True
        return getattr(stmt.fn, "__module__", "") == "numpy" or isinstance(
            stmt.fn, np.ufunc) or stmt.fn in _INT_OPERATIONS | {
                operator.truediv, operator.pow, operator.matmul,
                operator.neg}

    def check_unshared(self, name, node, what):
        """s2sad updates a list or array by making a new one, which is
        Python's meaning only when nothing else holds the old one: refuse
        arguments (the caller's data), views and aliases."""
        self.note_update(self.env[name])
        where = self.sharing(self.env[name], set())
        if where == f"`{name}`":  # (the name's own earlier value, swapped)
            where = "another name for the same array"
        if where == "the caller's argument":  # (in a function it calls)
            raise self.error(node, f"{what} `{name}` would also change "
                             f"{where}; s2sad does not change values in "
                             "place: return the new value instead, and "
                             "assign it where the function is called (`"
                             f"{name} = {self.source.name}({name})`)")
        taken = self.taken_from(self.env[name], where)
        if taken is not None:  # `c = m[[0, 1]]; c[0] = v`: a copy is fine
            message = self.source.located(
                node, f"{what} `{name}` would also change {where}; s2sad "
                "does not change values in place: make a copy first "
                f"(`{name} = {name}.copy()`)")
            self.emit(None, runtime.check_not_view,
                      [Var(self.env[name]), taken, Const(message)],
                      node=node, callee=self.runtime_call("check_not_view"))
        elif where:
            version = self.env[name]
            if "pop" in what or "extend" in what or "append" in what or \
                    self.is_sequence(Var(version)):
                copy = f"list({name})"
            elif self.holds_references(version, set()):
                copy = f"dict({name})"
            else:  # (an array, a list or a dict: each has its .copy())
                copy = f"{name}.copy()"
            raise self.error(node, f"{what} `{name}` would also change "
                             f"{where}; s2sad does not change values in "
                             f"place: make a copy first (`{name} = {copy}`)")
        self.check_updatable(self.env[name], node, "update of" if getattr(
            getattr(node, "value", None), "s2sad_in_place", False) else what)

    def check_updatable(self, version, node, what):
        """At an update in place of `version`, which may be an argument (or
        the copy `owned_argument` made of one), raise as Python would where it
        cannot be changed (a tuple, a read-only array: s2sad changes a
        copy, which always can be)."""
        made = self.defs.get(version)
        if isinstance(made, Assign) and made.fn in (runtime.owned_copy,
                                                    runtime.owned_argument):
            version = made.args[0].name
        if self.same_object(version) & set(self.parameter_names):
            self.emit(None, runtime.check_updatable,
                      [Var(version), Const(what)],
                      callee=self.runtime_call("check_updatable"), node=node)

    def numeric_array(self, version, seen=None):
        """Is SSA name `version` an array of numbers whatever the inputs
        (made by np.zeros, np.empty, np.full, ... with a numeric dtype, or
        an update or copy of one)? `a[i] = x` then copies x's values and
        keeps no reference to x."""
        seen = set() if seen is None else seen
        if version in seen:  # a loop's phi, already being followed
            return True
        seen.add(version)
        stmt = self.defs.get(version)
        if isinstance(stmt, Phi):
            sides = [side for side in (stmt.left, stmt.right)
                     if side is not None]  # (a loop still open: no right)
            return all(isinstance(side, Var) and self.numeric_array(
                side.name, seen) for side in sides)
        if not isinstance(stmt, Assign) or not stmt.args:
            return False
        first = stmt.args[0]
        if stmt.fn in _NUMERIC_MAKERS:
            dtype = dict(stmt.kwargs).get("dtype")
            place = _NUMERIC_MAKERS[stmt.fn]
            if dtype is None and place is not None and len(stmt.args) > place:
                dtype = stmt.args[place]
            if dtype is not None:
                return _numeric_dtype(dtype)
            if stmt.fn in _LIKE_MAKERS:  # the dtype of its prototype
                return isinstance(first, Var) and (
                    self.defs.get(first.name) is None  # an argument
                    or self.numeric_array(first.name, seen))
            return True
        same = stmt.fn in (identity, runtime.setitem, np.copy) or \
            stmt.fn in _IN_PLACE.values() or (
                isinstance(stmt.fn, Method) and stmt.fn.name == "copy")
        return same and isinstance(first, Var) and self.numeric_array(
            first.name, seen)

    def sharing(self, version, seen, holder=None):
        """Where else the value of SSA name `version` is reachable, or None
        (not counting the name `holder`, which asks through a copy)."""
        if version in seen or version in self.made:
            return None
        seen.add(version)
        if version in self.shared and self.shared[version] != holder:
            return self.shared[version]
        stmt = self.defs.get(version)
        if stmt is None:  # an argument: owned, or the caller's
            return None if self.owned else "the caller's argument"
        if isinstance(stmt, Phi):  # either side's holders, and its name
            for side in (stmt.left, stmt.right):
                if not isinstance(side, Var):
                    continue
                named = _user_name(side.name)
                if not side.name.startswith("_") and \
                        named != _user_name(version) and side.name not in seen:
                    return self.sharing(side.name, seen) or f"`{named}`"
                where = self.sharing(side.name, seen)
                if where:
                    return where
            return None
        if stmt.fn is identity:
            source = stmt.args[0]
            if isinstance(source, Free):
                return f"the module-level value `{source!r}`"
            if isinstance(source, Var):
                # (its own copy into this name is not another holder)
                deeper = self.sharing(source.name, seen,
                                      f"`{_user_name(version)}`")
                current = self.env.get(_user_name(source.name))
                if source.name.startswith("_") or current is not None and \
                        source.name not in self.same_object(current):
                    # a compiler temporary, or a name since bound to
                    # another value (`a, b = b, a`): it holds it no more
                    return deeper
                return deeper or f"`{_user_name(source.name)}`"
            return None
        if makes_view(stmt.fn):
            return _TAKEN_FROM
        if (stmt.fn in _IN_PLACE.values() or stmt.fn in _LIST_UPDATES.values()
                or stmt.fn in (runtime.setitem, runtime.changed)) and isinstance(
                    stmt.args[0], Var):  # the same object, updated
            return self.sharing(stmt.args[0].name, seen, holder)
        if _may_keep(stmt):  # `x.astype(float, copy=False)`
            return "what it was taken from (a view or an item of it)"
        if stmt.fn is call:
            return ("what the function called here returned (it may be one "
                    "of its arguments)")
        if isinstance(stmt.fn, Method):
            return None if stmt.fn.name in _FRESH_METHODS else (
                f"what `.{stmt.fn.name}()` returned (it may be held by "
                "its object)")
        if _is_user_function(stmt.fn) and not _returns_fresh(stmt.fn) or \
                _may_give_back(stmt.fn):
            return (f"what `{getattr(stmt.fn, '__name__', stmt.fn)}` "
                    "returned (one of its arguments, or a value held "
                    "elsewhere)")
        return None

    def branches(self, node, then, orelse):
        """Lower two exclusive blocks (callables); join the variables they set."""
        env = self.env
        start = env.mark()
        then_block, then_ret = self.block_with(then)
        then_env = env.changes(start)
        env.undo(start)  # each branch starts from the names before it
        else_block, else_ret = self.block_with(orelse)
        else_env = env.changes(start)
        env.undo(start)
        phis = []
        # only the names a branch changed (sorting every name in scope made
        # each `if` cost O(n log n), copying the scope for each branch O(n))
        for name in sorted(then_env.keys() | else_env.keys()):
            a = then_env[name] if name in then_env else env.get(name)
            b = else_env[name] if name in else_env else env.get(name)
            if a == b:
                self.env[name] = a
            else:  # a name set on one path only joins as `Undefined`
                phis.append(Phi(self.namer.fresh(name),
                                Var(a) if a else Undefined(),
                                Var(b) if b else Undefined()))
                flag = self.flag_phi(phis[-1])
                self.env[name] = phis[-1].target
                self.defs[phis[-1].target] = phis[-1]
                self.blocks[phis[-1].target] = self.out
                self.join_stale(phis[-1].target, (a, b))
                if flag is not None:
                    phis.append(flag)
        return then_block, then_ret, else_block, else_ret, phis

    def join_stale(self, target, sides):
        """A join of a view one branch made stale (`r = a[0:1]`, then `a[0]
        = ...` in that branch) is stale after the `if`: read, it is refused
        (or its element checked) as the view would be."""
        for side in sides:
            if side in self.stale:
                self.stale.setdefault(target, self.stale[side])
                if side in self.stale_elements:
                    self.stale_elements.setdefault(
                        target, self.stale_elements[side])

    def block_with(self, lower_fn):
        saved, self.out = self.out, []
        self.enclosing.append(saved)
        returned = lower_fn()
        self.enclosing.pop()
        block, self.out = self.out, saved
        return block, returned

    def available(self, version):
        """Is `version` defined wherever the statement lowered now runs
        (an argument, or made in this block or one around it)?"""
        block = self.blocks.get(version)
        return version not in self.defs or block is self.out or any(
            block is outer for outer in self.enclosing)

    def if_(self, node):
        test = self.truth(node.test)
        then_block, then_ret, else_block, else_ret, phis = self.branches(
            node, lambda: self.statements(node.body),
            lambda: self.statements(node.orelse))
        returned = None
        if then_ret is RAISED and else_ret is RAISED:
            returned = RAISED
        elif then_ret is RAISED or else_ret is RAISED:
            # the other branch goes on, or returns alone
            then_ret, else_ret = [None if r is RAISED else r
                                  for r in (then_ret, else_ret)]
            if then_ret is not None or else_ret is not None:
                for block, ret in ((then_block, then_ret),
                                   (else_block, else_ret)):
                    if ret is not None:
                        block.pop()
                result = self.namer.temp()
                phis.append(Phi(result, then_ret or Undefined(),
                                else_ret or Undefined()))
                returned = Var(result)
        elif (then_ret is None) != (else_ret is None):
            raise errors.S2SADInternalError(
                "return lifting left a one-sided return", self.source.filename,
                self.source.lineno(node))
        elif then_ret is not None:
            # both branches end in `return`: join the results, return once
            then_block.pop()
            else_block.pop()
            result = self.namer.temp()
            phis.append(Phi(result, then_ret, else_ret))
            returned = Var(result)
        self.out.append(If(test, then_block, else_block, phis, node))
        if returned is not None:
            self.out.append(Return(returned, node))
        return returned

    def loop_phis(self, body_nodes, also=()):
        """Header phis for the variables a loop body assigns.

        A variable first assigned inside the loop gets a phi too, entering as
        `Undefined`, so its last value is readable after the loop (as in
        Python); so does each name in `also` (a `for` loop's target).
        Returns (user name, phi) pairs; latches are set by `close_loop`.
        """
        phis = []
        updated = _assigned(body_nodes, updates=True) - _assigned(body_nodes)
        # (and what calls change in place, each given a new version: see
        # `version_changed`)
        updated |= {name for node in body_nodes for stmt in trees.walk(node)
                    if isinstance(stmt, gast.Expr)
                    and isinstance(stmt.value, gast.Call)
                    for name in _changed_by_call(stmt.value, self.source)}
        names = _assigned(body_nodes) | {n for n in updated if n in self.env}
        plain = _assigned(body_nodes)

        def copies(name):  # `name[i] = v` copies v: an array of numbers
            return name not in plain and name in self.env and \
                self.numeric_array(self.env[name])
        def aliased(name):  # another name holds its value before the loop
            return name in self.env and self.sharing(self.env[name],
                                                     set()) is not None
        held = _held(body_nodes, copies, aliased)
        flags = []
        self.loop_flags.append(flags)
        for name in sorted(names | set(also)):
            entry = Var(self.env[name]) if name in self.env else Undefined()
            phi = Phi(self.namer.fresh(name), entry, None)
            flag = self.flag_phi(phi)
            if flag is not None:  # (its back edge set by close_loop)
                flags.append((name, flag))
            self.env[name] = phi.target
            self.defs[phi.target] = phi
            self.blocks[phi.target] = self.out
            if name in held:  # the last iteration put it into a container
                self.shared[phi.target] = held[name]
            phis.append((name, phi))
        return phis

    def close_loop(self, phis, body_env):
        """Set each phi's back-edge value; after the loop, names are the
        phis (and those of the flags saying they are bound, `flag_phi`)."""
        flags = self.loop_flags.pop()
        for name, flag in flags:  # (before the names are the phis again)
            flag.right = self.bound_flag(Var(body_env[name]))
        for name, phi in phis:
            phi.right = Var(body_env[name])
            self.env[name] = phi.target
        return [phi for _, phi in phis] + [flag for _, flag in flags]

    def for_(self, node):
        if not isinstance(node.target, gast.Name):
            raise errors.S2SADInternalError(
                "desugar left a `for` with an unpacking target",
                self.source.filename, self.source.lineno(node))
        iterable = self.expr(node.iter)
        # the target is carried like the body's variables: after a loop that
        # ran no iteration it keeps the value it had before (or none)
        phis = self.loop_phis(node.body, also=[node.target.id])
        target = self.define(node.target.id)
        if isinstance(iterable, Var):  # the rows of an array: its views
            self.viewers.setdefault(iterable.name, []).append(target)
            if getattr(self.defs.get(iterable.name), "fn", None) is range:
                self.counters.add(target)  # (an int: see `is_int`)
            self.iterated[target] = iterable
        before = self.loop_start(phis)
        body, _ = self.block(node.body)
        phis = self.close_loop(phis, self.env)
        self.refuse_stale_next_time(before, phis, body, node, iterable)
        self.out.append(For(target, iterable, body, phis, node))

    def while_(self, node):
        phis = self.loop_phis(node.body)
        before = self.loop_start(phis)
        test_body, test = self.block_with(lambda: self.truth(node.test))
        body, _ = self.block(node.body)
        phis = self.close_loop(phis, self.env)
        self.refuse_stale_next_time(before, phis, test_body + body, node)
        self.out.append(While(test_body, test, body, phis, node))

    def loop_start(self, phis):
        """What `refuse_stale_next_time` compares a loop's body with: the
        names defined before the loop, but for its own `phis`, and the
        views stale then."""
        return (set(self.defs) - {phi.target for _, phi in phis},
                set(self.stale))

    def refuse_stale_next_time(self, before, phis, stmts, node,
                               iterable=None):
        """A view that the loop's body makes stale (an update in place of
        what it views) and reads again, at the next iteration: one taken
        before the loop (`for v in y[:-1]` reads its items so), or one an
        iteration carries to the next (`hist.append(u[:3])` before
        `u[1:-1] = ...`: the list holds views of every step's `u`). NumPy's
        view sees the update, s2sad's values would not. A name the loop
        carries so is stale after the loop too. `before`: `loop_start`;
        `phis`: the loop's, closed; `stmts`: the loop's statements;
        `iterable`: a `for` loop's."""
        defined, stale = before
        made_stale = {
            name for name in (set(self.stale) - stale) & defined
            if _user_name(name) != self.stale[name][0]}  # (its own value)
        for phi in phis:
            right = getattr(phi.right, "name", None)
            carried = self.stale.get(right)
            if carried and _user_name(phi.target) != carried[0]:
                self.join_stale(phi.target, (right,))
                made_stale.add(phi.target)
        self.refuse_carried_views(phis, stmts)
        if not made_stale:
            return
        reads = [(iterable.name, node.iter)] if isinstance(
            iterable, Var) else []
        reads += [(o.name, stmt.node) for stmt in walk(stmts)
                  if isinstance(stmt, Assign) for o in stmt.operands()
                  if isinstance(o, Var)]
        for name, where in reads:
            if name in made_stale and name in self.stale_elements:
                self.check_element(*self.stale_elements[name])
                continue
            if name not in made_stale or (name, True) in self.checked:
                continue
            array, update = self.stale[name]
            made = self.defs.get(name)
            if name.startswith("_") and getattr(made, "node", None) is not \
                    None:  # (a view the program does not name: where made)
                what, where = f"`{_text(made.node)}`", made.node
            else:
                what = f"`{_user_name(name)}`"
            error = self.error(
                where or node, f"{what}, which is or holds a view of "
                f"`{array}`, is read again on the loop's next iteration, after "
                "line "
                f"{self.source.lineno(update)} changed `{array}` in place; "
                "NumPy's view sees that change, and s2sad, which updates "
                "arrays by making new ones, would not: read "
                f"`{array}` itself in the loop (`{array}[i]`), or copy the "
                "view (`.copy()`) if the loop should not see its own changes")
            source = self.listed_from(name) if name.startswith("_") \
                else None  # (what a loop iterates: `for k in list(p)`)
            if source is not None and source.name in self.same_object(
                    self.env.get(array, "")):
                # `for k in list(p)`: the keys of a dict, or a list's items,
                # which a slot given a new value leaves: checked where made
                self.check_element(name, _changes_item(update), error,
                                   source, runtime.check_keys if
                                   _changes_item(update) else
                                   runtime.check_not_rows)
                continue
            if self.element_of(name) is None:
                raise error
            # an element taken before the loop (`key = a[j]`): a number,
            # unless a row; checked before the loop (it stays what it is)
            self.out += self.element_check(
                name, error, node, self.items_changed(name, array, update))

    def listed_from(self, version):
        """What the items of `version` were listed from, by list(), tuple(),
        sorted() or a loop over it (`for k in sorted(p)`), through other
        names for it, or None."""
        made = self.defs.get(version)
        while isinstance(made, Assign) and made.fn in (
                list, tuple, sorted, runtime.iterable, identity) and \
                isinstance(made.args[0], Var):
            version = made.args[0]
            made = self.defs.get(version.name)
        return version if isinstance(version, Var) else None

    def taken_from(self, version, where):
        """The operand `version` was taken from by indexing (`m[[0, 1]]`,
        `y[y > 0]`, `xs[:]`: a view of an array, or a copy), when that is
        all `where` (`sharing`) says it shares; else None."""
        made = self.defs.get(version)
        if where == _TAKEN_FROM and isinstance(made, Assign) and \
                made.fn is operator.getitem and isinstance(made.args[0], Var) \
                and not (_indexes_arrays_only(made.args[1])
                         and not self.is_sequence(made.args[0])):
            return made.args[0]  # (a slice of an array: a view, refused)
        return None

    def stale_views(self, version, array, node):
        """`views_of(version)`, which an update in place of it at `node`
        makes stale, but for what holds only elements of it (`out.append(
        y[0])`, `la[0][:, None]`: numbers, unless rows of a matrix): those
        elements are checked where they are read from the array (not to
        be views of an array, nor, where `node` changes an item in place,
        `rows[0] += [c]`, items of a list). Where only the code's own
        values hold an element, the check waits for one of them to be
        read again after the update (`la[1] = la[0][:, None].sum(axis=1)`
        reads the row before it writes)."""
        same = self.same_object(version)
        direct = {view for name in same for view in self.viewers.get(name, [])
                  if view not in same}
        elements = {view for view in direct if self.element_of(view)}
        todo = list(elements)  # and an element's elements (`v = A[0][1]`)
        while todo:
            for view in self.viewers.get(todo.pop(), []):
                if view not in elements and self.element_of(view):
                    elements.add(view)
                    todo.append(view)
        plain = set().union(*(self.views_of(view)
                              for view in direct - elements))
        # (what holds an element's element holds that one, checked itself)
        holders = {view: self.views_of(view, stop=elements) - {view} - plain
                   for view in elements}
        checked = set()  # (the holders of elements checked now)
        for view, held in holders.items():
            named = sorted(_user_name(h) for h in held
                           if not h.startswith("_"))
            what = f"`{named[0]}` keeps" if named else "the code keeps"
            items = self.items_changed(view, array, node)
            check = (view, items, self.error(
                self.defs[view].node or node,
                f"{what} an item of `{array}` that is a view of `{array}` "
                "(a row, not a number), read again after line "
                f"{self.source.lineno(node)} changes `{array}` in place; "
                "NumPy's view sees that change, and s2sad, which updates "
                "arrays by making new ones, would not: keep a copy "
                "(`.copy()`)" if not items or not _changes_item(node) else
                f"{what} an item of `{array}` (an array, list or dict it "
                f"holds), which line {self.source.lineno(node)} may change "
                "in place before it is read again; Python's holder sees that "
                "change, and s2sad, which updates lists and arrays by making "
                "new ones, would not: keep a copy (`.copy()`, `list(...)`)"))
            if named:  # (which any read may reach, through a list's pop,
                # a conditional expression, ...: checked where read)
                self.check_element(*check)
                checked |= held
            else:  # only the code's own values: checked if read again
                for holder in held:
                    self.stale_elements.setdefault(holder, check)
        return self.views_of(version) - checked - same  # (not itself)

    def check_element(self, version, items, error, source=None,
                      check=None):
        """Check, right where `version`, an element (`element_of`), is
        read from its array, that it is a number and not a view (raising
        `error` if it is a view); with `items`, nor an item of a list (see
        `element_check`). (`source`: what it is made from, where it is no
        element: `ravel`'s operand.)"""
        made = self.defs[version]
        block = self.blocks[version]
        at = next(i for i, stmt in enumerate(block) if stmt is made)
        block[at + 1:at + 1] = self.element_check(version, error, made.node,
                                                  items, source, check)

    def element_check(self, version, error, node, items=False, source=None,
                      check=None):
        """The statement checking, when the code runs, that `version`, an
        element (`element_of`), is a number and not a view of an array
        (raising `error` if it is one): a list of it, empty once it is
        checked. With `items` (the update changes an item in place:
        `rows[0] += [c]`), not an array or list a list, tuple or dict holds
        either; an update that rebinds a slot of a list (`rows[0] = r`)
        leaves the item it held as it was."""
        if (version, items) in self.checked or (version, True) in \
                self.checked:
            return []
        self.checked.add((version, items))
        check = check or (runtime.check_not_view if items else
                          runtime.check_element_not_view)
        return [Assign(None, check, [
            Var(version), source or self.element_of(version),
            Const(str(error))], (), self.runtime_call(check.__name__), node)]

    def element_of(self, version):
        """The array operand `version` was read from as an element (`a[j]`,
        `g[1, 2]`: a number where the array has that many axes, else a
        view), or None."""
        made = self.defs.get(version)
        if isinstance(made, Assign) and made.fn is operator.getitem and \
                isinstance(made.args[0], Var) and \
                not _indexes_arrays_only(made.args[1]) and not (
                    isinstance(made.args[1], Var) and getattr(self.defs.get(
                        made.args[1].name), "fn", None) in (slice,)):
            return made.args[0]  # (not `y[i:i + 1]`: a view of an array)
        return None

    def refuse_carried_views(self, phis, stmts):
        """A view an iteration takes after updating its array in place and
        carries to the next (`u[1:-1] = ...; hist.append(u[:3])`), read
        there after the next update (appending to `hist` again): the
        update changes what the view shows, as NumPy sees it, where
        s2sad's value would keep the last iteration's. (Known only once
        the loop's joins are: `refuse_stale_next_time`.)"""
        carried = {phi.target: phi for phi in phis}
        body = list(walk(stmts))
        for i, update in enumerate(body):
            if not (isinstance(update, Assign) and update.args
                    and isinstance(update.args[0], Var)
                    and (update.fn is runtime.setitem
                         and getattr(update, "unshared", False)
                         and not self.is_sequence(update.args[0])
                         or update.fn in _IN_PLACE.values())):
                continue
            array = _user_name(update.target)
            # the views of it (what holds the array itself, or a number
            # `+=` rebinds, is checked when the update runs: `updated`)
            views = {view for version in self.same_object(update.args[0].name)
                     for view in self.viewers.get(version, [])
                     if isinstance(self.defs.get(view), Assign)
                     and makes_view(self.defs[view].fn)}
            reaching = {view: self.views_of(view) for view in views}
            reached = set().union(*reaching.values())
            for name in sorted(set(carried) & reached):
                if _user_name(name) == array:
                    continue
                elements = [view for view, found in reaching.items()
                            if name in found]
                if all(self.element_of(view) is not None
                       for view in elements):
                    # `out.append(y[0])`: numbers, unless rows; checked
                    # when each is read
                    for view in elements:
                        self.check_element(view, self.items_changed(
                            view, array, update.node), self.error(
                            self.defs[view].node or update.node,
                            f"`{_user_name(name)}` keeps an item of "
                            f"`{array}` from each iteration that is a view "
                            f"of `{array}` (a row, not a number), read again "
                            "after "
                            "the loop changes it in place; NumPy's view "
                            "sees that change, and s2sad, which updates "
                            "arrays by making new ones, would not: keep a "
                            "copy (`.copy()`)"))
                    continue
                held, todo = set(), [name]  # what holds its items now
                while todo:
                    version = todo.pop()
                    if version not in held:
                        held.add(version)
                        todo += self.viewers.get(version, [])
                if getattr(carried[name].right, "name", None) in held:
                    self.stale.setdefault(name, (array, update.node))
                for stmt in body[i + 1:]:
                    if isinstance(stmt, Assign) and any(
                            isinstance(o, Var) and o.name in held
                            for o in stmt.operands()):
                        changed = update.node or stmt.node
                        raise self.error(
                            stmt.node or update.node,
                            f"`{_user_name(name)}` holds a view of `{array}` "
                            "from the loop's last iteration, and is read "
                            "after line "
                            f"{self.source.lineno(changed)} changed "
                            f"`{array}` in place; NumPy's view sees that "
                            "change, and s2sad, which updates arrays by "
                            "making new ones, would not: keep a copy "
                            "(`.copy()`) of the view instead")

    # -- expressions --

    def expr(self, node, target=None):
        """Lower an expression to an operand, emitting its operations.

        With `target`, the outermost operation is assigned to that user name.
        """
        if isinstance(node, (gast.Name, gast.Constant)) or self.is_free(node):
            fn, args, kwargs, callee = identity, [self.operand(node)], (), None
        else:
            fn, args, kwargs, callee = self.operation(node)
        if fn is identity and target is None:
            return args[0]
        name = self.define(target) if target else self.namer.temp()
        return self.emit(name, fn, args, kwargs, callee, node)

    def operand(self, node):
        if isinstance(node, gast.Constant):
            return Const(node.value)
        if isinstance(node, gast.Name) and not hasattr(node, "s2sad_builtin"):
            if node.id in self.env:
                version = self.env[node.id]
                if version in self.stale:
                    self.read_stale(version, node)
                if version in self.unbound:
                    self.read_unbound(version, node)
                return Var(version)
            if node.id in self.defined or node.id in _assigned_names(self.source):
                raise self.error(node, f"'{node.id}' is used before it is "
                                 "assigned", errors.NameResolutionError)
        if hasattr(node, "s2sad_builtin"):  # a builtin desugar calls
            value = node.s2sad_builtin
            if getattr(value, "__module__", None) == runtime.__name__:
                return Free(self.runtime_call(value.__name__), value)
            return Free(self.own(node.id, value), value)
        value = self.source.resolve(node)
        if frontend.is_missing(value):
            error = self.error(node, self.source.unresolved(node),
                               errors.NameResolutionError)
            error.s2sad_missing = node  # (see `statement`)
            raise error
        if isinstance(node, gast.Name) and isinstance(value, (np.ndarray,
                                                              list)):
            self.global_arrays.setdefault(node.id, (node, value))
        return Free(node, value)

    def is_free(self, node):
        """Is `node` a dotted name of free names, such as `np.pi`?"""
        if hasattr(node, "s2sad_builtin"):
            return True
        while isinstance(node, gast.Attribute):
            node = node.value
        return (isinstance(node, gast.Name) and node.id not in self.env
                and node.id not in self.defined
                and node.id not in _assigned_names(self.source))

    def operation(self, node):
        """(fn, args, kwargs, callee) for one operation, operands lowered."""
        if isinstance(node, gast.BinOp):
            args = [self.expr(node.left), self.expr(node.right)]
            if isinstance(node.op, (gast.Add, gast.Mult)) and any(
                    self.is_sequence(a) for a in args):
                if isinstance(node.op, gast.Add):
                    return (runtime.concatenated, args, (),
                            self.runtime_call("concatenated"))
                items, count = args if self.is_sequence(args[0]) \
                    else args[::-1]  # (`n * xs`)
                # (in the user's code, `runtime.repeated` refuses a count
                # that is no int when it runs: `[0.0] * X.shape[0]` and
                # `[x] * int(T / dt)` repeat; in generated code, whose lists
                # meet arrays, a count must be known to be one here)
                if self.source.generated and not self.is_int(count):
                    raise self.error(
                        node, "a list or tuple times a value not known to be "
                        "an int (a repetition, or NumPy's product with an "
                        "array) is not supported; repeat by a constant or "
                        "len(...) (`[0.0] * len(x)`), or make the list an "
                        "array first (np.array(...))")
                return (runtime.repeated, [items, count], (),
                        self.runtime_call("repeated"))
            if getattr(node, "s2sad_in_place", False):  # a += b
                helper = _IN_PLACE[type(node.op)]
                return helper, args, (), self.runtime_call(helper.__name__)
            if isinstance(node.op, gast.BitOr) and any(
                    self.may_be_dict(a, set()) for a in args):
                # (`mask | other`, as most are, is known not to be)
                return (runtime.bit_or, args, (),
                        self.runtime_call("bit_or"))
            return _BINOPS[type(node.op)], args, (), None
        if isinstance(node, gast.UnaryOp):
            if isinstance(node.operand, gast.Constant) and isinstance(
                    node.op, (gast.USub, gast.UAdd)) and isinstance(
                    node.operand.value, (int, float, complex)):
                value = node.operand.value
                value = -value if isinstance(node.op, gast.USub) else value
                return identity, [Const(value)], (), None
            operand = self.truth(node.operand) if isinstance(
                node.op, gast.Not) else self.expr(node.operand)
            return _UNARYOPS[type(node.op)], [operand], (), None
        if isinstance(node, gast.Compare) and len(node.ops) == 1:
            return (_CMPOPS[type(node.ops[0])],
                    [self.expr(node.left), self.expr(node.comparators[0])],
                    (), None)
        if isinstance(node, gast.Compare):
            return self.compare_chain(node)
        if isinstance(node, gast.Call):
            return self.call(node)
        if isinstance(node, gast.Attribute):
            return getattr, [self.expr(node.value), Const(node.attr)], (), None
        if isinstance(node, gast.Subscript):
            return (operator.getitem,
                    [self.expr(node.value), self.index(node.slice)], (), None)
        if isinstance(node, gast.Tuple):
            return make_tuple, [self.expr(e) for e in node.elts], (), None
        if isinstance(node, gast.List):
            return make_list, [self.expr(e) for e in node.elts], (), None
        if isinstance(node, gast.Dict) and None not in node.keys:
            pairs = [self.expr(p) for kv in zip(node.keys, node.values)
                     for p in kv]
            return make_dict, pairs, (), None
        if isinstance(node, gast.IfExp):
            return self.if_exp(node)
        if isinstance(node, gast.Lambda):
            return identity, [self.function_value(node)], (), None
        if isinstance(node, gast.BoolOp):
            return self.bool_op(node)
        if isinstance(node, gast.Dict):  # `{**d, "s": 2.0}`
            raise self.error(node, "`**` in a dict display is not supported; "
                             "copy the dict and set the keys (`e = dict(d)`, "
                             "`e['s'] = 2.0`, or `e.update(other)`)")
        raise self.error(node, f"{type(node).__name__} expressions are not "
                         "supported yet")

    def arguments(self, node):
        """A call's lowered arguments: positional (`*xs` as `Spread`) and
        keyword (`**kw` with the key None)."""
        args = [Spread(self.expr(a.value)) if isinstance(a, gast.Starred)
                else self.expr(a) for a in node.args]
        return args, [(kw.arg, self.expr(kw.value)) for kw in node.keywords]

    def call(self, node):
        if isinstance(node.func, gast.Attribute) and _means_something(
                node.func.attr) and self.source.own_method(node.func):
            # `self.round(x)` of a class of the user's that defines `round`:
            # its method, called as any callable, not NumPy's `.round()`
            function = self.expr(node.func)
            args, kwargs = self.arguments(node)
            return call, [function] + args, kwargs, None
        if _is_update(node, "pop", self.env):  # `t + xs.pop()`
            return identity, [self.list_update(gast.Expr(node), node)], (), \
                None
        if not self.is_free(node.func):
            if isinstance(node.func, gast.Attribute):  # receiver.name(...)
                receiver = self.expr(node.func.value)
                args, kwargs = self.arguments(node)
                if node.func.attr in _SHAPE_METHODS and len(args) > 1 and \
                        not any(isinstance(a, Spread) for a in args):
                    # x.reshape(2, 3) is np.reshape(x, (2, 3))
                    args = [self.emit(self.namer.temp(), make_tuple, args,
                                      node=node)]
                if node.func.attr in _WRITER_METHODS or any(
                        k == "out" for k, _ in kwargs):
                    raise self.error(node, f"`.{node.func.attr}()` writes "
                                     "into an array in place, which s2sad "
                                     "does not follow; build the new array "
                                     "and assign it instead")
                if node.func.attr == "_replace" and kwargs and not args \
                        and all(k for k, _ in kwargs):  # a namedtuple's
                    return self.replaced(receiver, kwargs, node)
                return method(node.func.attr), [receiver] + args, kwargs, None
            function = self.expr(node.func)
            args, kwargs = self.arguments(node)
            return call, [function] + args, kwargs, None
        callee = self.operand(node.func)
        args, kwargs = self.arguments(node)
        if callee.value is list and len(args) == 1 and not kwargs and \
                self.known_dict(args[0], set()):
            # `list(d)`: its keys, which carry no derivative
            return runtime.keys, args, (), self.runtime_call("keys")
        packed = _packed_form(callee.value)
        if packed is not None and not kwargs and not (
                len(args) == 2 and not any(isinstance(a, Spread)
                                           for a in args)):
            # math.hypot(x, *ys), (x, y, z): one sequence (math.hypot(x,
            # y) has a rule of its own, on numbers)
            return (packed, [self.gathered(args, node)], (),
                    self.runtime_call(packed.__name__))
        if _record_fields(callee.value) is not None:
            return self.record(callee, args, kwargs, node)
        if callee.value is dataclasses.replace and len(args) == 1 and \
                not isinstance(args[0], Spread) and all(k for k, _ in kwargs):
            return self.replaced(args[0], kwargs, node)
        if _writes_in_place(callee.value, kwargs, args):
            if isinstance(callee.value, types.MethodDescriptorType):
                raise self.error(
                    node, f"`{_text(node.func)}(obj, ...)` changes `obj` in "
                    "place, which s2sad does not follow in this form; call "
                    f"the method on the object (`obj.{callee.value.__name__}"
                    "(...)`)")
            raise self.error(node, f"`{_text(node.func)}` writes into an "
                             "argument in place, which s2sad does not "
                             "follow; assign its result to a name instead "
                             "(`y = np.sin(x)`, `y = np.where(mask, v, y)`, "
                             "`y[i] = v`)")
        return callee.value, args, kwargs, callee.expr

    def gathered(self, args, node):
        """Positional arguments as one sequence operand: `xs` itself for
        `f(*xs)`, else a list (`[a, b] + list(xs)` for `f(a, b, *xs)`)."""
        if len(args) == 1 and isinstance(args[0], Spread):
            return args[0].operand
        pieces, run = [], []
        for arg in args + [None]:
            if arg is not None and not isinstance(arg, Spread):
                run.append(arg)
                continue
            if run:
                pieces.append(self.emit(self.namer.temp(), make_list, run,
                                        node=node))
                run = []
            if arg is not None:
                pieces.append(self.emit(self.namer.temp(), list,
                                        [arg.operand], node=node,
                                        callee=self.own("list", list)))
        if not pieces:  # math.hypot()
            return self.emit(self.namer.temp(), make_list, [], node=node)
        joined = pieces[0]
        for piece in pieces[1:]:
            joined = self.emit(self.namer.temp(), runtime.concatenated,
                               [joined, piece], node=node,
                               callee=self.runtime_call("concatenated"))
        return joined
    def record(self, cls, args, kwargs, node):
        """`Point(a, y=b)` for a namedtuple or dataclass: its fields in
        order, defaults filled in, as `runtime.record((a, b), Point)`."""
        names, defaults = _record_fields(cls.value)
        values = dict(zip(names, args))
        fits = len(args) <= len(names) and not any(
            isinstance(a, Spread) for a in args)
        for key, value in kwargs:
            fits = fits and key in names and key not in values
            values[key] = value
        for name in names:
            if name not in values and isinstance(defaults.get(name),
                                                 _CONST_TYPES):
                values[name] = Const(defaults[name])
        if not fits or len(values) != len(names):
            raise self.error(node, f"this call of `{_text(node.func)}` "
                             "is not supported: pass each field by position "
                             "or name (defaults that are numbers, strings or "
                             "None may be left out)")
        items = self.emit(self.namer.temp(), make_tuple,
                          [values[name] for name in names], node=node)
        return (runtime.record, [items, cls], (),
                self.runtime_call("record"))

    def replaced(self, value, kwargs, node):
        """`p._replace(b=v)`, `dataclasses.replace(p, b=v)`: one
        `runtime.replaced` per field."""
        for name, new in kwargs[:-1]:
            value = self.emit(self.namer.temp(), runtime.replaced,
                              [value, Const(name), new], node=node,
                              callee=self.runtime_call("replaced"))
        name, new = kwargs[-1]
        return (runtime.replaced, [value, Const(name), new], (),
                self.runtime_call("replaced"))

    def index(self, node):
        """Lower a subscript index; constant slices and tuples stay constant."""
        if isinstance(node, gast.Slice):
            parts = [self.expr(p) if p is not None else Const(None)
                     for p in (node.lower, node.upper, node.step)]
            if all(isinstance(p, Const) for p in parts):
                return Const(slice(*(p.value for p in parts)))
            return self.emit(self.namer.temp(), slice, parts,
                             callee=self.own("slice", slice),
                             node=node)
        if isinstance(node, gast.Tuple):
            return self.index_tuple([self.index(e) for e in node.elts], node)
        return self.expr(node)

    def index_tuple(self, parts, node):
        """The index `(a, b, ...)` of the lowered `parts`: a constant where
        they all are."""
        if all(isinstance(p, Const) for p in parts):
            return Const(tuple(p.value for p in parts))
        return self.emit(self.namer.temp(), make_tuple, parts, node=node)

    def truth(self, node):
        """`node`, an expression only the truth of which is read (the test
        of an `if`, a `while` or `... if ... else ...`, the operand of
        `not`), as an operand. In `a and b`, `a or b` and a chain `a < b <
        c` there, each part's truth is read once, as Python reads it: where
        a part decides, the result is `False` (`True`), not that part
        again, whose truth an array would compute twice."""
        if isinstance(node, gast.BoolOp):
            return self.bool_op(node, truth=True)[1][0]
        if isinstance(node, gast.Compare) and len(node.ops) > 1:
            return self.compare_chain(node, truth=True)[1][0]
        if isinstance(node, gast.IfExp):
            return self.if_exp(node, truth=True)[1][0]
        return self.expr(node)

    def bool_op(self, node, truth=False):
        """`a or b`: b is evaluated only when a is falsy (`and`: truthy);
        the result is a phi of the two values, as in Python (with `truth`,
        see `truth`)."""
        lower = self.truth if truth else self.expr
        result = lower(node.values[0])
        for value in node.values[1:]:
            block, operand = self.block_with(
                lambda: self.side(lower, value))
            joined = self.namer.temp()
            if isinstance(node.op, gast.Or):
                phi = Phi(joined, Const(True) if truth else result, operand)
                branch = If(result, [], block, [phi], node)
            else:
                phi = Phi(joined, operand, Const(False) if truth else result)
                branch = If(result, block, [], [phi], node)
            self.defs[joined] = phi
            for side in (phi.left, phi.right):
                if isinstance(side, Var):
                    self.viewers.setdefault(side.name, []).append(joined)
            self.out.append(branch)
            result = Var(joined)
        return identity, [result], (), None

    def compare_chain(self, node, truth=False):
        """`a < b < c` is `a < b and b < c` with b evaluated once (with
        `truth`, see `truth`)."""
        left = self.expr(node.left)
        result = None
        for op, comparator in zip(node.ops, node.comparators):
            def compare(left=left, op=op, comparator=comparator):
                right = self.expr(comparator)
                test = self.emit(self.namer.temp(), _CMPOPS[type(op)],
                                 [left, right], node=node)
                return right, test
            if result is None:
                left, result = compare()
                continue
            holder = {}
            block, _ = self.block_with(
                lambda: holder.update(zip(("right", "test"), compare())))
            joined = self.namer.temp()
            self.out.append(If(result, block, [], [Phi(
                joined, holder["test"], Const(False) if truth else result)],
                node))
            left, result = holder["right"], Var(joined)
        return identity, [result], (), None

    def if_exp(self, node, truth=False):
        """`a if c else b` (with `truth`, only its truth is read: see
        `truth`)."""
        lower = self.truth if truth else self.expr
        test = self.truth(node.test)
        then_block, then_value = self.block_with(
            lambda: self.side(lower, node.body))
        else_block, else_value = self.block_with(
            lambda: self.side(lower, node.orelse))
        result = self.namer.temp()
        phi = Phi(result, then_value, else_value)
        self.defs[result] = phi  # (it holds what either side holds)
        for side in (then_value, else_value):
            if isinstance(side, Var):
                self.viewers.setdefault(side.name, []).append(result)
                if not side.name.startswith("_"):  # (`r = a if c else b`:
                    # r may be a, which an update in place of a changes)
                    self.shared.setdefault(
                        side.name, f"what `{_text(node)}` gave")
        self.out.append(If(test, then_block, else_block, [phi], node))
        return identity, [Var(result)], (), None


def _changed_by_calls(tree, source):
    """Names `tree` passes to a call that changes them in place: the object
    of a method called for its effect (`idx.sort()`), or an argument of a
    function of the user's that assigns into that parameter, updates it or
    calls such a method on it (a function of the user's that it calls
    without differentiating runs as Python runs it)."""
    changed = set()
    for node in trees.walk(tree):
        if isinstance(node, gast.Expr) and isinstance(node.value, gast.Call) \
                and isinstance(node.value.func, gast.Attribute) \
                and isinstance(node.value.func.value, gast.Name):
            changed.add(node.value.func.value.id)
        elif isinstance(node, gast.Expr) and isinstance(
                node.value, gast.Call):  # `rows[0].sort()` changes rows
            changed |= _changed_by_call(node.value, source, methods=True)
        if isinstance(node, gast.Call):
            changed |= _changed_by_call(node, source, methods=False)
    copies = [(n.targets[0].id, _root(
        n.value.args[0] if isinstance(n.value, gast.Call) and n.value.args
        and getattr(n.value.func, "s2sad_builtin", None) is runtime.iterable
        else n.value)) for n in trees.walk(tree)
        if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name)]
    # `e = x; fill(e)`, `v = x.T; fill(v)`, `for row in K: fill(row)` (as
    # `_s = runtime.iterable(K)`, `row = _s[i]`) change x and K
    while True:
        more = {source for target, source in copies if target in changed}
        if more <= changed:
            return changed
        changed |= more


def _changed_by_call(call, source, methods=True):
    """The names a call changes in place: the object of a method that
    changes its object (`w.sort()`; with `methods`), the arguments a
    function of the user's updates."""
    changed = set()
    func = call.func
    # (what holds an item or a view changed, `fill(K[0])`, changes too)
    if methods and isinstance(func, gast.Attribute) and \
            func.attr in _CHANGES_ITS_OBJECT and _held_root(func.value):
        changed.add(_held_root(func.value))
    fn = source.resolve(func) if isinstance(
        func, (gast.Name, gast.Attribute)) else None
    if changes_its_argument(fn) and call.args and \
            _held_root(call.args[0]):  # `heapq.heapify(idx)`
        changed.add(_held_root(call.args[0]))
    if not _is_user_function(fn):
        return changed
    params = changed_parameters(fn)
    names = inspect.signature(fn).parameters
    for name, arg in zip(names, call.args):
        if name in params and _held_root(arg):
            changed.add(_held_root(arg))
    for keyword in call.keywords:
        if keyword.arg in params and _held_root(keyword.value):
            changed.add(_held_root(keyword.value))
    return changed


def _held_root(node):
    """The name whose value holds `node` or shares its memory, which a
    change of `node` in place changes too: `x` of `x`, `x[0]`, `x[1:][0]`,
    `x.T`, `x.reshape(-1)`; else None (an object's attribute: `self.w`)."""
    while True:
        if isinstance(node, gast.Call) and isinstance(
                node.func, gast.Attribute) and node.func.attr in _VIEW_METHODS:
            node = node.func.value
        elif isinstance(node, gast.Attribute) and node.attr in (
                "T", "real", "imag", "flat"):
            node = node.value
        elif isinstance(node, gast.Subscript):
            node = node.value
        else:
            return node.id if isinstance(node, gast.Name) else None


def changes_its_argument(fn):
    """Is `fn` a library function that changes its first argument in place
    (`heapq.heappush`, `bisect.insort`, `random.shuffle`)?"""
    try:
        return fn in _CHANGES_ITS_ARGUMENT
    except TypeError:  # (an unhashable callable)
        return False


_CHANGES_ITS_ARGUMENT = {
    heapq.heappush, heapq.heappop, heapq.heapify, heapq.heapreplace,
    heapq.heappushpop, bisect.insort, bisect.insort_left, bisect.insort_right,
    random.shuffle}

# the methods that change their object in place (those that write into an
# array, `.fill()`, are refused where they are lowered)
_CHANGES_ITS_OBJECT = desugar.MUTATORS | {"partition"}


def _root(node):
    """The name a value may share memory with: `x` of `x`, `x.T`, `x[1:]`,
    `x.reshape(2, 2)`; else None."""
    while True:
        if isinstance(node, gast.Call) and isinstance(node.func,
                                                      gast.Attribute):
            node = node.func.value
        elif isinstance(node, (gast.Attribute, gast.Subscript)):
            node = node.value
        else:
            return node.id if isinstance(node, gast.Name) else None


def _changed_names(tree):
    return {name for name, _ in desugar.changes(tree)}


def changed_parameters(fn):
    """The parameters `fn` changes in place, as its text shows: name ->
    (its parsed source, the node that changes it). (Kept per code object:
    each call statement of a function asks, see `version_changed`.)"""
    code = getattr(fn, "__code__", None)
    if code in _CHANGED:
        return _CHANGED[code]
    try:
        source = frontend.parse(fn)
    except errors.S2SADError:
        return {}
    params = set(parameters(source.tree.args, True))
    changed = {}
    for name, node in desugar.changes(source.tree):
        if name in params:
            changed.setdefault(name, (source, node))
    if code is not None:
        _CHANGED[code] = changed
    return changed


_CHANGED = {}  # code object -> changed_parameters of its function


# methods that return a new value, never one their object holds
_FRESH_METHODS = {
    "copy", "astype", "sum", "mean", "prod", "std", "var", "max", "min",
    "dot", "cumsum", "cumprod", "round", "clip", "flatten", "tolist", "all",
    "any", "argmax", "argmin", "item", "trace", "nonzero", "repeat", "take",
    "count", "index", "keys",
    # a random generator's draws (`rng.normal(size=n)`)
    "normal", "standard_normal", "uniform", "integers", "random",
    "exponential", "standard_exponential", "gamma", "beta", "binomial",
    "poisson", "lognormal", "multivariate_normal", "choice", "permutation",
    "standard_t", "laplace", "logistic", "chisquare", "dirichlet",
    "multinomial", "geometric", "weibull", "rand", "randn", "randint"}


def _packed_form(fn):
    """The one-sequence form of a function of many arguments (math.hypot),
    or None (rules.registry.variadic)."""
    from s2sad.rules import registry
    return registry.packed(fn)
def _record_fields(cls):
    """(field names, defaults) of a namedtuple class, or of a dataclass
    that `cls(*fields)` makes (no `__post_init__`, every field taken by
    `__init__`); else None."""
    try:
        if isinstance(cls, type) and issubclass(cls, tuple) and hasattr(
                cls, "_fields"):
            return tuple(cls._fields), dict(cls._field_defaults)
        if isinstance(cls, type) and dataclasses.is_dataclass(cls) and not \
                hasattr(cls, "__post_init__"):
            found = dataclasses.fields(cls)
            if all(f.init for f in found):
                return tuple(f.name for f in found), {
                    f.name: f.default for f in found
                    if f.default is not dataclasses.MISSING}
    except TypeError:
        pass
    return None


def _is_user_function(fn):
    """A Python function of the user's (not NumPy's or s2sad's, no rule)."""
    from s2sad.rules import registry
    module = getattr(fn, "__module__", None) or ""
    return (inspect.isfunction(fn) and registry.lookup(fn) is None
            and module.split(".")[0] not in ("numpy", "s2sad"))


def may_share(fn):
    """May the result of the operation `fn` share memory with one of its
    arguments, as the lowering takes it (a view, an argument given back, a
    method that may return what its object holds)?"""
    if isinstance(fn, tuple) and fn[:1] == (getattr,):  # (`x.T`'s rule key)
        return fn[1] not in METADATA
    if isinstance(fn, Method):
        return fn.name not in _FRESH_METHODS
    return makes_view(fn) or _may_give_back(fn)


_TAKEN_FROM = "what it was taken from (a view or an item of it)"


def _is_generator(value):
    """Is `value` a NumPy random Generator? (Without importing
    numpy.random, which takes milliseconds, where nothing has: then it
    cannot be one.)"""
    random = sys.modules.get("numpy.random")
    return random is not None and isinstance(value, random.Generator)


def _may_give_back(fn):
    """May a call of `fn`, not a view (`makes_view`) nor a function of the
    user's, return one of its arguments or share its memory: one that
    returns an argument as it is (`max(a, b)`, `np.linalg.matrix_power(a,
    1)`, `np.real_if_close` of a real array), one with no rule (nothing
    says what it returns: `np.ascontiguousarray`), or one with a rule from
    outside NumPy, SciPy, math and the builtins (`s2sad.stop_gradient`, a
    rule of the user's)?"""
    if fn in _GIVES_BACK or isinstance(fn, type) and issubclass(
            fn, np.generic):  # (`np.float64(a)` of a float64 array: a)
        return True
    if fn in _NEW_VALUES or getattr(fn, "__module__", None) == \
            "numpy.random" or _is_generator(getattr(fn, "__self__", None)):
        return False
    if isinstance(getattr(fn, "__self__", None), np.ndarray) and getattr(
            fn, "__name__", None) in _FRESH_METHODS:
        return False  # (a module-level array's `BASE.copy()`: a new one,
        # as the method of a value of the function's own is)
    if isinstance(fn, np.ufunc) or not callable(fn) or isinstance(
            fn, type) or _is_user_function(fn):
        return False  # (a ufunc without `out`, a class: a new value; the
        # user's function: read, see `_returns_fresh`)
    from s2sad.rules import registry
    module = (getattr(fn, "__module__", None) or "builtins").split(".")[
        0].lstrip("_")  # (`_operator`)
    return registry.lookup(fn) is None and module != "s2sad" or \
        module not in ("numpy", "scipy", "math", "cmath", "builtins",
                       "operator", "logging", "s2sad") or \
        getattr(fn, "__name__", None) == "stop_gradient"


# calls that return new values (arrays, lists, None), whatever their module
# (a container's shallow copy holds the same items: see `_shallow_copy`)
_NEW_VALUES = {print, copy.copy, copy.deepcopy, np.unique, np.histogram,
               np.bincount, np.cov, np.corrcoef, np.logspace, np.polyfit,
               np.fromfunction, np.meshgrid, np.histogram2d, np.histogramdd}

# calls that may return an argument itself (besides views: `_VIEWS`)
_GIVES_BACK = {np.linalg.matrix_power, np.real_if_close,
               np.nan_to_num, np.einsum, np.diag, np.rollaxis}

_FRESH = {}  # code object -> does the function return only new values?


def _returns_fresh(fn):
    """Does `fn` return only values it made (no argument, no module-level
    value, nothing a view or an item of one)? Unreadable: no."""
    code = fn.__code__
    if code not in _FRESH:
        if len(_FRESH) > 4096:
            _FRESH.clear()
        _FRESH[code] = False  # (a recursive call, meanwhile: no)
        try:
            source = frontend.parse(fn)
            fence.check(source)
            desugar.desugar(source)
            lowering = _Lowering(source)
            body = lowering.function().body
        except errors.S2SADError:
            return False
        _FRESH[code] = all(
            isinstance(r.value, Const) or isinstance(r.value, Var)
            and lowering.made_anew(r.value.name, set())
            for r in walk(body) if isinstance(r, Return))
    return _FRESH[code]


def _held(stmts, copies, aliased):
    """Names a loop body puts into a list, tuple or dict (`rows.append(v)`,
    `pairs = [(v, w)]`, `d[k] = v`) or gives another name: user name ->
    where; at the loop's head they may be held from the last iteration.
    `copies(name)`: is `name[i] = v` a copy of v's values (into an array
    of numbers), which holds nothing? Names a loop swaps (`u, unew = unew,
    u`) exchange values and are held only when one was `aliased(name)`
    before the loop (`first = u`), which the swap passes on."""
    held = {}
    nodes = list(gast.walk(gast.Module(list(stmts), [])))
    swaps = {id(n.value) for n in nodes if isinstance(n, gast.Assign)
             and isinstance(n.targets[0], (gast.Tuple, gast.List))}
    for node in nodes:
        if id(node) in swaps:  # `a, b = b, a` unpacks, holds nothing
            continue
        if isinstance(node, gast.Call) and isinstance(
                node.func, gast.Attribute) and node.func.attr in (
                "append", "extend", "insert"):
            values = node.args
            where = "an item of a list (from the last iteration)"
        elif isinstance(node, (gast.List, gast.Tuple, gast.Set)):
            values, where = node.elts, "a container (from the last iteration)"
            if isinstance(getattr(node, "ctx", None), gast.Store):
                # the targets of an unpacking: held only as said above
                names = [v.id for v in values if isinstance(v, gast.Name)]
                if not any(map(aliased, names)):
                    continue
                where = "another name (from the last iteration)"
        elif isinstance(node, gast.Dict):
            values, where = node.values, "a dict (from the last iteration)"
        elif isinstance(node, gast.Assign):
            target = node.targets[0]
            if isinstance(target, gast.Subscript) and isinstance(
                    target.value, gast.Name) and copies(target.value.id):
                continue
            values = [node.value]
            where = "another name (from the last iteration)"
        else:
            continue
        for value in values:
            if isinstance(value, gast.Name):
                held.setdefault(value.id, where)
    # a swap passes what holds one name's value on to the others
    groups = [{e.id for side in (n.targets[0], n.value)
               for e in getattr(side, "elts", ()) if isinstance(e, gast.Name)}
              for n in nodes if isinstance(n, gast.Assign)
              and id(n.value) in swaps]
    changed = True
    while changed:
        changed = False
        for group in groups:
            where = next((held[name] for name in sorted(group)
                          if name in held), None)
            for name in group if where else ():
                if name not in held:
                    held[name], changed = where, True
    return held


# int arithmetic: of ints, an int
_INT_OPERATIONS = {operator.add, operator.sub, operator.mul,
                   operator.floordiv, operator.mod}
_LIST_UPDATES = {"append": runtime.appended, "extend": runtime.concatenated,
                 "pop": runtime.popped}
_SEQUENCES = {make_list, make_tuple, list, tuple, runtime.appended,
              runtime.concatenated, runtime.inserted}
# operations whose result shares memory with their first operand
_VIEWS = {operator.getitem, getattr, np.reshape, np.transpose, np.ravel,
          np.squeeze, np.expand_dims, np.asarray, np.asanyarray,
          np.atleast_1d, np.atleast_2d, np.atleast_3d, np.broadcast_to,
          np.moveaxis, np.swapaxes, np.diagonal, np.real, np.imag, np.flip,
          np.fliplr, np.flipud, np.rot90, np.split, np.array_split,
          np.hsplit, np.vsplit, np.dsplit, runtime.iterable}
# attributes of an array that hold no part of its memory
METADATA = {"shape", "size", "ndim", "dtype", "nbytes", "itemsize"}
_VIEW_METHODS = {"reshape", "transpose", "ravel", "squeeze", "view",
                 "swapaxes", "diagonal"}
# of those, the functions and methods that copy where a view cannot do
_MAYBE_VIEWS = {np.reshape, np.ravel, np.asarray, np.asanyarray, "reshape",
                "ravel"}


def makes_view(fn):
    """May the operation `fn` give a view of its first operand?"""
    return fn in _VIEWS or isinstance(fn, Method) and \
        fn.name in _VIEW_METHODS
# NumPy functions making a new array of numbers unless given another
# dtype: the position of their dtype argument (None: keyword only)
_NUMERIC_MAKERS = {np.zeros: 1, np.ones: 1, np.empty: 1, np.full: 2,
                   np.zeros_like: 1, np.ones_like: 1, np.empty_like: 1,
                   np.full_like: 2, np.eye: 3, np.identity: 1,
                   np.arange: None, np.linspace: None}
_LIKE_MAKERS = {np.zeros_like, np.ones_like, np.empty_like, np.full_like}


def _numeric_dtype(dtype):
    """Is the operand `dtype` (a constant or module-level name) a dtype of
    numbers (bool, int, float, complex)?"""
    value = dtype.value if isinstance(dtype, (Free, Const)) else None
    if value is None:
        return False
    try:
        return np.dtype(value).kind in "biufc"
    except TypeError:
        return False


# operations that keep their operands reachable from their result
_SHARES = {identity: "`{target}`", make_tuple: "a tuple", make_list: "a list",
           make_dict: "a dict", runtime.appended: "an item of a list",
           runtime.setitem: "an item of an array or list"}


# NumPy functions that write into one of their arguments
_WRITERS = {np.copyto, np.put, np.place, np.putmask, np.fill_diagonal,
            np.put_along_axis}
_WRITER_METHODS = {"fill", "put", "itemset", "resize", "setfield"}


def _shallow_copy(stmt):
    """Does `stmt` make a container holding the items of its operands
    (`list(xs)`, `xs[:]`, `xs + ys`, `d.copy()`, `dict(d)`)?"""
    return isinstance(stmt, Assign) and bool(stmt.args) and isinstance(
        stmt.args[0], Var) and (
        stmt.fn in (list, tuple, dict, runtime.concatenated, copy.copy)
        or isinstance(stmt.fn, Method) and stmt.fn.name == "copy"
        or stmt.fn is operator.getitem and _indexes_arrays_only(stmt.args[1]))


def _indexes_arrays_only(index):
    """Is the operand `index` one only an array takes (a slice, a tuple of
    indices, `...`), not a list's or a dict's key?"""
    value = getattr(index, "value", None)
    parts = value if isinstance(value, tuple) else (value,)
    return isinstance(index, Const) and any(
        isinstance(part, slice) or part is Ellipsis or part is None
        for part in parts)


def _writes_in_place(fn, kwargs, args=()):
    """Does calling `fn` with `args` change an array or list it is given
    (`out=` or an `out` given by position, np.copyto, np.add.at,
    operator.iadd, a method called as a function: `list.append(xs, v)`)?"""
    if any(k == "out" for k, _ in kwargs):
        return True
    def given(a):  # (an `out` given as None writes nowhere)
        return not (isinstance(a, Const) and a.value is None)
    if isinstance(fn, np.ufunc):  # (its outputs follow its inputs)
        return any(map(given, args[fn.nin:])) or any(
            isinstance(a, Spread) for a in args)
    if getattr(fn, "__name__", None) == "at" and isinstance(
            getattr(fn, "__self__", None), np.ufunc):
        return True
    if isinstance(fn, types.MethodDescriptorType):  # `np.ndarray.sort(a)`
        return fn.__name__ in _CHANGES_ITS_OBJECT | _WRITER_METHODS | {
            "__setitem__", "__delitem__"} or fn.__name__.startswith("__i")
    if fn in _OPERATOR_WRITERS:
        return True
    if args and getattr(fn, "__module__", "") in ("numpy", "numpy.linalg"):
        try:  # `np.dot(a, b, out)`: an `out` parameter reached by position
            names = [p.name for p in inspect.signature(fn).parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY,
                                   p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):  # (np.dot before NumPy 2.4)
            names = ["a", "b", "out"] if fn is np.dot else []
        if "out" in names and (len(args) > names.index("out") and given(
                args[names.index("out")]) or any(
                isinstance(a, Spread) for a in args)):
            return True
    try:
        return fn in _WRITERS
    except TypeError:
        return False


# the operator module's functions that change their first argument
_OPERATOR_WRITERS = {
    operator.setitem, operator.delitem, operator.iadd, operator.iand,
    operator.iconcat, operator.ifloordiv, operator.ilshift, operator.imatmul,
    operator.imod, operator.imul, operator.ior, operator.ipow,
    operator.irshift, operator.isub, operator.itruediv, operator.ixor}


def _is_update(call, kind, env):
    """Is `call` `<local name>.<kind>(...)`?"""
    return (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute)
            and call.func.attr == kind and isinstance(call.func.value, gast.Name)
            and call.func.value.id in env)


def _of_an_item(node):
    """Is `node` an assignment into an item of an item (`rows[i][j] = v`)?"""
    return isinstance(node, gast.Assign) and len(node.targets) == 1 and \
        isinstance(node.targets[0], gast.Subscript) and \
        isinstance(node.targets[0].value, gast.Subscript)


def _changes_item(node):
    """Does the update at `node` change an item of what it updates in
    place (`rows[0] += [c]`, `rows[0][1] = c`, where `rows[0] = r`
    rebinds the slot)?"""
    return _of_an_item(node) or isinstance(node, gast.Assign) and len(
        node.targets) == 1 and isinstance(node.targets[0], gast.Subscript) \
        and getattr(node.value, "s2sad_in_place", False)


def _sides(phi):
    """The names a join takes its value from (not constants)."""
    return [side.name for side in (phi.left, phi.right)
            if isinstance(side, Var)]


def _user_name(ssa_name):
    """The user variable an SSA name versions (`h` for `h_2`)."""
    match = re.match(r"^(.*?)_\d+$", ssa_name)
    return match.group(1) if match and match.group(1) else ssa_name


def parameters(args, all_kinds=False):
    """The parameter names of a `gast.arguments`: the positional ones, or
    (`all_kinds`) all of them in order, `*args` and `**kwargs` included."""
    names = [a.id for a in args.posonlyargs + args.args]
    if all_kinds:
        names += [a.id for a in [args.vararg] + args.kwonlyargs + [args.kwarg]
                  if a is not None]
    return names


def _assigned(nodes, updates=False):
    """User names assigned anywhere in `nodes` (targets of = and for, defs);
    with `updates`, also those updated in place (`y[i] = v`,
    `items.append(v)`), which s2sad's SSA form gives new versions."""
    names = set()
    for node in nodes:
        for sub in _walk_outside_defs(node):
            if isinstance(sub, gast.FunctionDef) and sub is not node:
                names.add(sub.name)
            elif isinstance(sub, gast.Name) and isinstance(sub.ctx, gast.Store):
                names.add(sub.id)
            elif not updates:
                continue
            elif isinstance(sub, gast.Subscript) and isinstance(
                    sub.ctx, gast.Store) and _root(sub) is not None:
                names.add(_root(sub))  # y[i] = v, y[i][j] = v: a new y
            elif isinstance(sub, gast.Call) and isinstance(
                    sub.func, gast.Attribute) and sub.func.attr in \
                    _LIST_UPDATES and isinstance(sub.func.value, gast.Name):
                names.add(sub.func.value.id)  # so does items.append(v)
    return names


def _walk_outside_defs(node):
    """gast.walk, not looking inside nested functions' bodies."""
    stack = [node]
    while stack:
        sub = stack.pop()
        yield sub
        if isinstance(sub, (gast.FunctionDef, gast.Lambda)) and sub is not node:
            continue
        stack.extend(gast.iter_child_nodes(sub))


def _assigned_names(source):
    cached = getattr(source, "_assigned", None)
    if cached is None:
        cached = source._assigned = _assigned([source.tree]) | set(
            parameters(source.tree.args, all_kinds=True))
    return cached


def _text(node):
    return trees.unparse(node)


# ---- printing ----

_OP_NODES = {fn: op for op, fn in {**_BINOPS, **_UNARYOPS, **_CMPOPS}.items()}


def render_operand(operand):
    """A gast expression for an operand."""
    if isinstance(operand, Var):
        return gast.Name(id=operand.name, ctx=gast.Load(), annotation=None,
                         type_comment=None)
    if isinstance(operand, Free):
        return operand.expr
    if isinstance(operand, Undefined):
        return gast.Constant(None, None)
    if isinstance(operand, Spread):
        return gast.Starred(render_operand(operand.operand), gast.Load())
    return render_constant(operand.value)


def render_constant(value, index=False):
    """A gast expression for a constant; `index=True` writes slices as `a:b`."""
    if isinstance(value, slice):
        parts = [render_constant(v) for v in (value.start, value.stop,
                                               value.step)]
        if index:
            return gast.Slice(*[None if v is None else p for v, p in zip(
                (value.start, value.stop, value.step), parts)])
        func = gast.Name("slice", gast.Load(), None, None)
        func.s2sad_builtin = slice  # bound by the transformation
        return gast.Call(func, parts, [])
    if isinstance(value, tuple):
        return gast.Tuple([render_constant(v, index) for v in value],
                          gast.Load())
    if not isinstance(value, _CONST_TYPES):
        raise errors.S2SADInternalError(f"cannot print constant {value!r}")
    return gast.Constant(value=value, kind=None)


def render_call(fn, args, kwargs=(), callee=None):
    """A gast expression computing one operation on rendered operands."""
    if fn is identity:
        return args[0]
    if fn in _OP_NODES:
        op = _OP_NODES[fn]()
        if isinstance(op, gast.unaryop):
            return gast.UnaryOp(op, args[0])
        if isinstance(op, gast.cmpop):
            return gast.Compare(args[0], [op], [args[1]])
        return gast.BinOp(args[0], op, args[1])
    if fn is getattr and len(args) == 2 and isinstance(
            args[1], gast.Constant) and str(args[1].value).isidentifier():
        return gast.Attribute(args[0], args[1].value, gast.Load())
    if fn is operator.getitem:
        return gast.Subscript(args[0], args[1], gast.Load())
    if fn is make_tuple:
        return gast.Tuple(list(args), gast.Load())
    if fn is make_list:
        return gast.List(list(args), gast.Load())
    if fn is make_dict:
        return gast.Dict(list(args[::2]), list(args[1::2]))
    if isinstance(fn, Method):
        keywords = [gast.keyword(k, v) for k, v in kwargs]
        return gast.Call(gast.Attribute(args[0], fn.name, gast.Load()),
                         list(args[1:]), keywords)
    if fn is call:
        keywords = [gast.keyword(k, v) for k, v in kwargs]
        return gast.Call(args[0], list(args[1:]), keywords)
    if fn is slice and callee is None:
        return gast.Slice(*[None if isinstance(a, gast.Constant)
                            and a.value is None else a for a in args])
    if callee is None:
        raise errors.S2SADInternalError(f"no callee to print for {fn!r}")
    keywords = [gast.keyword(k, v) for k, v in kwargs]
    return gast.Call(callee, list(args), keywords)


def render_assign(stmt):
    """The Python statement of `stmt`, marked with its user's line."""
    return codegen.located(_render_assign(stmt), stmt.node)


def _render_assign(stmt):
    if stmt.fn is make_function:
        definition = trees.clone(stmt.definition)
        if isinstance(definition, gast.Lambda):
            return assign(stmt.target, definition)
        definition.name = stmt.target
        return definition
    args = [render_operand(a) for a in stmt.args]
    if stmt.fn is operator.getitem and isinstance(stmt.args[1], Const):
        args[1] = render_constant(stmt.args[1].value, index=True)
    value = render_call(stmt.fn, args,
                        [(k, render_operand(v)) for k, v in stmt.kwargs],
                        stmt.callee)
    return assign(stmt.target, value)


def unpack(names, value):
    """`a, b = value` (a tuple target even for one name)."""
    return gast.Assign([gast.Tuple(
        [gast.Name(n, gast.Store(), None, None) for n in names],
        gast.Store())], value, None)


def assign(name, value):
    if name is None:
        return gast.Expr(value)
    target = gast.Name(id=name, ctx=gast.Store(), annotation=None,
                       type_comment=None)
    return gast.Assign(targets=[target], value=value, type_comment=None)


def to_source(func):
    """Print an SSA function as Python, phis written as `x_2 = phi(x, x_1)`."""
    tree = gast.FunctionDef(
        name=func.name, args=signature(func),
        body=_render_ssa_block(func.body), decorator_list=[], returns=None,
        type_comment=None, type_params=[])
    return trees.unparse(tree) + "\n"


def signature(func, extra=(), keyword_only=()):
    """A `gast.arguments` repeating func's signature (defaults written as
    the user wrote them, annotations dropped), with `extra` positional and
    `keyword_only` parameters added at the end of their kinds."""
    def params(names):
        return [gast.Name(n, gast.Param(), None, None) for n in names]
    args = func.arguments
    if args is None:
        return gast.arguments(params(func.params + list(extra)), [], None,
                              params(keyword_only), [None] * len(keyword_only),
                              None, [])
    def strip(arg):
        return None if arg is None else gast.Name(arg.id, gast.Param(), None,
                                                  None)
    defaults = [trees.clone(d) for d in args.defaults]
    kw_defaults = [None if d is None else trees.clone(d)
                   for d in args.kw_defaults]
    return gast.arguments(
        [strip(a) for a in args.args] + params(extra),
        [strip(a) for a in args.posonlyargs], strip(args.vararg),
        [strip(a) for a in args.kwonlyargs] + params(keyword_only),
        kw_defaults + [None] * len(keyword_only), strip(args.kwarg), defaults)


def _evaluated_by(expr, node):
    """Is `expr` a part of `node` (a statement or an expression) that runs
    whenever `node` does (not in a comprehension's or lambda's body, nor
    in a side of a conditional expression, `and` or `or` that may not)?"""
    todo = [node]
    while todo:
        node = todo.pop()
        if node is expr:
            return True
        if isinstance(node, gast.IfExp):
            todo.append(node.test)
        elif isinstance(node, gast.BoolOp):
            todo.append(node.values[0])
        elif not isinstance(node, (gast.Lambda, gast.ListComp, gast.SetComp,
                                   gast.DictComp, gast.GeneratorExp)):
            todo.extend(gast.iter_child_nodes(node))
    return False


def _builtin_name(value):
    """A name the lowering reads as `value` (an exception class of s2sad's,
    whatever the user's names are)."""
    name = gast.Name(value.__name__, gast.Load(), None, None)
    name.s2sad_builtin = value
    return name


def _phi_line(phi):
    call = gast.Call(gast.Name("phi", gast.Load(), None, None),
                     [render_operand(phi.left), render_operand(phi.right)], [])
    return assign(phi.target, call)


def _render_ssa_block(stmts):
    out = []
    for stmt in stmts:
        if isinstance(stmt, Assign):
            out.append(render_assign(stmt))
        elif isinstance(stmt, Return):
            out.append(gast.Return(render_operand(stmt.value)))
        elif isinstance(stmt, If):
            out.append(gast.If(render_operand(stmt.test),
                               _render_ssa_block(stmt.body) or [gast.Pass()],
                               _render_ssa_block(stmt.orelse)))
            out.extend(_phi_line(phi) for phi in stmt.phis)
        elif isinstance(stmt, For):
            body = [_phi_line(phi) for phi in stmt.phis]
            body += _render_ssa_block(stmt.body)
            target = gast.Name(stmt.target, gast.Store(), None, None)
            out.append(gast.For(target, render_operand(stmt.iter),
                                body or [gast.Pass()], [], None))
        elif isinstance(stmt, GradOf):
            call = gast.Call(gast.Name("grad_of", gast.Load(), None, None),
                             [render_operand(Var(stmt.var))], [])
            out.append(gast.With([gast.withitem(call, gast.Name(
                stmt.name, gast.Store(), None, None))],
                _render_ssa_block(stmt.body) + [assign(
                    stmt.name, render_operand(stmt.result))], None))
        elif isinstance(stmt, While):
            body = [_phi_line(phi) for phi in stmt.phis]
            body += _render_ssa_block(stmt.test_body)
            body.append(gast.If(gast.UnaryOp(gast.Not(),
                                             render_operand(stmt.test)),
                                [gast.Break()], []))
            body += _render_ssa_block(stmt.body)
            out.append(gast.While(gast.Constant(True, None), body, []))
    return out


def to_python(stmts, extra=None, render=render_assign, loop=None,
              branch=None):
    """Executable Python for SSA statements: each phi becomes a copy on the
    edge it joins (end of each branch; loop entry and end of loop body).

    Args:
        extra: optional callable (region statement, place) -> gast statements
            to insert; places are "before" a loop, "end" of a loop body
            (before the back-edge copies), and "left"/"right", the ends of
            an `if`'s branches.
        render: how an `Assign` is written (reverse mode writes calls into
            user code as calls of their vjp functions).
        loop: optional callable (a loop) -> the statements it is written
            as, or None for the usual loop (reverse mode runs a
            checkpointed loop in segments).
        branch: optional callable (an `if` or `while`, the `if` that reads
            its test) -> the statements written in that `if`'s place.
    """
    def more(stmt, place):
        return extra(stmt, place) if extra else []
    out = []
    for stmt in stmts:
        written = loop(stmt) if loop and isinstance(stmt, (For, While)) \
            else None
        if written is not None:
            out += written
        elif isinstance(stmt, Assign):
            rendered = render(stmt)
            if isinstance(rendered, list):  # (None: nothing to run)
                out += [codegen.located(r, stmt.node) for r in rendered]
            elif rendered is not None:
                out.append(codegen.located(rendered, stmt.node))
        elif isinstance(stmt, Return):
            out.append(codegen.located(gast.Return(render_operand(
                stmt.value)), stmt.node))
        elif isinstance(stmt, If):
            then = to_python(stmt.body, extra, render, loop, branch) + more(
                stmt, "left") + _copies(stmt.phis, "left")
            orelse = to_python(stmt.orelse, extra, render, loop, branch) + more(
                stmt, "right") + _copies(stmt.phis, "right")
            out += _reading(stmt, gast.If(render_operand(stmt.test),
                                          then or [gast.Pass()], orelse),
                            branch)
        elif isinstance(stmt, For):
            out += entry(stmt, extra)
            target = gast.Name(stmt.target, gast.Store(), None, None)
            out.append(gast.For(target, render_operand(stmt.iter),
                                iteration(stmt, extra, render, loop,
                                          branch=branch)
                                or [gast.Pass()], [], None))
        elif isinstance(stmt, While):
            out += entry(stmt, extra)
            out.append(gast.While(gast.Constant(True, None), iteration(
                stmt, extra, render, loop, branch=branch), []))
    return out


def entry(stmt, extra=None):
    """What runs before a loop: its header's entry copies, and `extra`'s
    statements "before" it (see `to_python`)."""
    return _copies(stmt.phis, "left") + (extra(stmt, "before") if extra
                                         else [])


def iteration(stmt, extra=None, render=render_assign, loop=None,
              tested=True, after_test=(), branch=None):
    """One iteration of a loop `stmt` as Python statements (see
    `to_python`): a `while` loop's test first, which leaves the loop when
    it is false (unless not `tested`: the iteration is known to run), then
    `after_test`, the body, `extra`'s statements at its "end" and the
    copies along the back edge."""
    body = []
    if isinstance(stmt, While):
        test = stmt.test_body if tested else _needed(stmt.test_body, stmt)
        body = to_python(test, extra, render, loop, branch)
        if tested:
            body += _reading(stmt, gast.If(gast.UnaryOp(
                gast.Not(), render_operand(stmt.test)), [gast.Break()], []),
                branch)
    body += list(after_test)
    return body + to_python(stmt.body, extra, render, loop, branch) + (
        extra(stmt, "end") if extra else []) + _copies(stmt.phis, "right")


def _reading(stmt, made, branch):
    """`made`, the `if` that reads the test of `stmt`, as `branch` writes
    it (see `to_python`)."""
    return branch(stmt, made) if branch else [made]


def _needed(test_body, loop):
    """The statements of a `while` loop's test that its body (or its back
    edge) reads the values of, when the test itself is not taken."""
    read = {o.name for s in walk(loop.body) for o in _reads(s)
            if isinstance(o, Var)}
    read |= {p.right.name for p in loop.phis if isinstance(p.right, Var)}
    kept = []
    for s in reversed(test_body):
        if not isinstance(s, Assign) or s.target is None or s.target in read:
            kept.insert(0, s)
            read |= {o.name for o in _reads(s) if isinstance(o, Var)}
    return kept


def _reads(stmt):
    """The operands a statement reads (an `if`: its test and joins)."""
    if isinstance(stmt, Assign):
        return stmt.operands()
    found = [getattr(stmt, f, None) for f in ("test", "iter", "value")]
    for phi in getattr(stmt, "phis", ()):
        found += [phi.left, phi.right]
    return found


def _copies(phis, side):
    return [assign(phi.target, render_operand(getattr(phi, side)))
            for phi in phis
            if not (isinstance(getattr(phi, side), Var)
                    and getattr(phi, side).name == phi.target)]

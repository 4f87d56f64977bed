"""Inlining: a small helper's SSA body in place of the call to it.

A user's helper called by name (`k1 = rhs(th, om)`, with `rhs` a plain
module-level function of the same module) is differentiated through its
own generated derivative otherwise: a call to `vjp_rhs`, a tuple of
residuals, a call to `vjp_bwd_rhs` in the backward sweep. For a few lines
of arithmetic that costs more than the arithmetic, and it hides from the
caller's analyses that the helper's results are floats (no float variant)
and which of its values the backward sweep needs. Inlined, the helper's
statements are the caller's: one tape, one sweep, the float path, as a
person writing the gradient by hand would have it.

Only what is certain to mean the same is inlined: a plain function (not a
closure, no `*args`, keyword-only parameters or `**kwargs`), of the same
module as the caller (its global names read the same namespace) and
reading no global or builtin the caller has a local of that name for,
called with positional arguments only (defaults that are constants fill
the rest), that does not update its arguments in place, defines no
function, has a single `return` at its end, and is small
(`MAX_STATEMENTS`). A helper it calls is inlined into it first, recursion
excepted. Its parameters are the call's operands throughout its body (in
SSA neither changes).

The helper must be in the caller's file, so that its inlined statements
keep their own lines: adjoint blocks are commented with the helper's line
and its text, and errors raised while the derivative runs point there and
at the call (the assignment of its result is located at the call). A
helper read from a closure cell is not inlined: the caller's generated
code is shared by every closure of its code, each with its own. If the
caller cannot be transformed with its helpers inlined, `derive`
transforms it as written,
so a refusal inside a helper names the helper's own line. The caller's
freshness guard covers each inlined helper: what the helper resolved (its
globals, their kinds) and its code and defaults (see `derive`).
"""

import copy
import inspect
import operator
import types

import gast

from s2sad import calls, frontend, runtime, ssa, trees
from s2sad.naming import names_in

MAX_STATEMENTS = 80  # SSA statements of a helper inlined at each call
MAX_DEPTH = 4  # helpers inlined into helpers


class Inlined:
    """The caller with its helpers inlined, and what it was made from."""

    def __init__(self, func, helpers, sources):
        self.func = func  # the new ssa.Function
        self.helpers = helpers  # the functions inlined (each once)
        self.sources = sources  # their frontend.Source, for the guard


def inline(func):
    """Inline the small helpers `func` (an `ssa.Function`) calls.

    Returns:
        An `Inlined`, or None when no call was inlined.
    """
    namer = func.namer.copy()  # the caller's own, if this is given up
    inliner = _Inliner(func.source, namer)
    body = inliner.block(func.body, (func.source.func,), 0)
    if not inliner.helpers:
        return None
    body = _forward_tuples(body, inliner.returned)
    new = ssa.Function(func.name, func.params, body, func.source, namer,
                       func.arguments, func.all_params,
                       {**func.imports, **inliner.imports()})
    if hasattr(func, "argument_updates"):
        new.argument_updates = func.argument_updates
    return Inlined(new, inliner.helpers, inliner.sources)


class _Inliner:
    def __init__(self, source, namer):
        self.source = source  # the caller's
        self.local = _local_names(source.tree)
        self.namer = namer
        self.free = {}  # helper -> the names it reads from its module
        self.helpers = []
        self.sources = []
        self.lowered = {}  # helper -> its ssa.Function, or None
        self.returned = {}  # call target -> the items of a tuple returned

    def block(self, stmts, stack, depth, only=None):
        """`stmts` with the calls to inline inlined (with `only`, those of
        the statements it holds, by id)."""
        out = []
        for stmt in stmts:
            body = self.expansion(stmt, stack, depth) if only is None or \
                id(stmt) in only else None
            if body is not None:
                out += body
                continue
            out.append(ssa.with_blocks(
                stmt, lambda inner: self.block(inner, stack, depth, only)))
        return out

    def imports(self):
        """s2sad's own names (`runtime`) the inlined helpers read."""
        found = {}
        for helper in self.lowered.values():
            if helper is not None:
                found.update(helper.imports)
        return found

    def expansion(self, stmt, stack, depth):
        """The statements replacing `stmt`, or None to keep it."""
        if not isinstance(stmt, ssa.Assign) or depth >= MAX_DEPTH:
            return None
        if not self.eligible_call(stmt, stack):
            return None
        fn, args = stmt.fn, list(stmt.args)
        if isinstance(fn, types.MethodType):  # `ARM.tip(a)`: `tip(ARM, a)`
            fn = fn.__func__
            args.insert(0, ssa.Free(trees.clone(stmt.callee.value),
                                    stmt.fn.__self__))
        helper = self.helper(fn, stack, depth)
        if helper is None or self.free[fn] & self.local:
            return None  # (its `G` would read the caller's local `G`)
        defaults = fn.__defaults__ or ()
        missing = len(helper.params) - len(args)
        if missing < 0 or missing > len(defaults):
            return None
        args += [ssa.Const(d) for d in defaults[len(defaults) - missing:]]
        if fn not in self.helpers:
            self.helpers.append(fn)
        renamed = _Renamed(helper, self.namer, stmt, self.source)
        body = renamed.body(args, stmt.target)
        if renamed.resolved:  # (`self.accel(th)` is now `SIM.accel(th)`)
            body = self.block(body, stack + (fn,), depth + 1,
                              renamed.resolved)
        made = {s.target: s.args for s in body if isinstance(s, ssa.Assign)
                and s.fn is ssa.make_tuple and not s.spreads()}
        value = body[-1].args[0] if stmt.target is not None else None
        if isinstance(value, ssa.Var) and value.name in made:
            self.returned[stmt.target] = made[value.name]
        return body

    def eligible_call(self, stmt, stack):
        fn = stmt.fn
        if isinstance(fn, types.MethodType):
            if not self.bound_to_global(stmt):
                return False
            fn = fn.__func__
        elif not isinstance(stmt.callee, gast.Name) or \
                stmt.callee.id in self.source.cells:
            return False
        return (inspect.isfunction(fn) and calls.is_user_function(fn)
                and fn not in stack and fn.__closure__ is None
                and fn.__globals__ is self.source.globals
                and fn.__code__.co_filename == self.source.filename
                and not stmt.kwargs and not stmt.spreads()
                and all(isinstance(d, (int, float, bool, type(None)))
                        for d in fn.__defaults__ or ()))

    def bound_to_global(self, stmt):
        """Is the call that of a method of an object the caller reads from
        its module by name (`ARM.tip(a)`, with `ARM = Arm(...)` at module
        level)? The guard checks that what the name holds has this
        method's function bound to it (see `derive._Guard`), so the
        function with the object for `self` means the same; the function
        is recorded too, for the guard of an inlined helper's code (see
        `derive._guarded`)."""
        callee = stmt.callee
        if not (isinstance(callee, gast.Attribute) and isinstance(
                callee.value, gast.Name)):
            return False
        name = callee.value.id
        if name in self.local or name in self.source.cells or \
                self.source.lookup(name) is not stmt.fn.__self__:
            return False
        self.source.resolve(gast.Attribute(callee, "__func__", gast.Load()))
        return True

    def helper(self, fn, stack, depth):
        """The helper's SSA function, its own helpers inlined, or None if
        it is not one to inline."""
        if fn in self.lowered:
            return self.lowered[fn]
        self.lowered[fn] = None
        try:
            source = frontend.parse(fn)
            lowered = ssa.lower(source)
        except Exception:  # refused or unreadable: called as it is
            return None
        if not _inlinable(lowered):
            return None
        inner = _Inliner(source, lowered.namer)
        lowered.body = inner.block(lowered.body, stack + (fn,), depth + 1)
        if sum(1 for _ in ssa.walk(lowered.body)) > MAX_STATEMENTS:
            return None  # (nor are the helpers inlined into it)
        lowered.imports.update(inner.imports())
        # (a helper's set includes its own helpers', transitively)
        self.free[fn] = _free_names(source.tree).union(*inner.free.values())
        for name in names_in(source.tree):
            self.namer.reserve(name)  # its globals keep their meaning
        self.sources += [source] + inner.sources
        self.helpers += [h for h in inner.helpers if h not in self.helpers]
        self.lowered[fn] = lowered
        return lowered


def _local_names(tree):
    """The names a function's tree binds (parameters, assignments)."""
    return {n.id for n in trees.walk(tree) if isinstance(n, gast.Name)
            and not isinstance(n.ctx, gast.Load)}


def _free_names(tree):
    """The names a function's tree reads without binding them: its
    globals and builtins."""
    return {n.id for n in trees.walk(tree) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)} - _local_names(tree)


def _inlinable(helper):
    """Is a lowered helper of the form inlining keeps the meaning of?"""
    if helper.all_params != helper.params or helper.vararg or getattr(
            helper, "argument_updates", None):
        return False
    body = helper.body
    if not body or not isinstance(body[-1], ssa.Return):
        return False
    local = set(helper.params)
    for stmt in ssa.walk(body):
        if isinstance(stmt, ssa.Return) and stmt is not body[-1]:
            return False
        if isinstance(stmt, ssa.GradOf):
            return False
        if isinstance(stmt, ssa.Assign):
            if stmt.fn is ssa.make_function or stmt.definition is not None:
                return False
            if stmt.target is not None:
                local.add(stmt.target)
    # a call of a local value (`f = pick(); f(x)`) names it in its callee
    for stmt in ssa.walk(body):
        callee = getattr(stmt, "callee", None)
        if callee is not None and any(
                isinstance(n, gast.Name) and n.id in local
                for n in gast.walk(callee)):
            return False
    return True


class _Renamed:
    """A helper's statements with fresh names of the caller's, its
    parameters replaced by the call's operands, located at its own lines
    (the result's assignment at the call)."""

    def __init__(self, helper, namer, call, source):
        self.helper = helper
        self.namer = namer
        self.node = call.node
        self.shift = helper.source.first_line - source.first_line
        self.names = {}
        self.bound = {}  # parameter -> the argument
        # id of a statement reading an attribute of a module-level object
        # bound to a parameter -> the dotted name it reads (`ARM.lengths`)
        self.attributes = {}
        self.source = source  # the caller's
        # the ids of the statements calling a method of a module-level
        # object bound to a parameter, the method now resolved
        self.resolved = set()

    def name(self, name):
        if name not in self.names:
            self.names[name] = self.namer.fresh(name)
        return self.names[name]

    def operand(self, operand):
        if isinstance(operand, ssa.Var):
            if operand.name in self.bound:  # a parameter: the argument
                return self.bound[operand.name]
            return ssa.Var(self.name(operand.name))
        if isinstance(operand, ssa.Spread):
            return ssa.Spread(self.operand(operand.operand))
        return operand

    def body(self, args, target):
        # (SSA: the parameters and the arguments never change, so one is
        # the other throughout the body)
        self.bound = dict(zip(self.helper.params, args))
        for param, arg in self.bound.items():
            if isinstance(arg, ssa.Free):
                self.bind_attributes(param, arg)
        out = self.block(self.helper.body[:-1])
        value = self.operand(self.helper.body[-1].value)
        if target is not None:
            out.append(self.located(ssa.Assign(target, ssa.identity,
                                               [value])))
        return out

    def bind_attributes(self, param, obj):
        """A module-level object for `param` (a method's `self`): its plain
        attributes the helper reads (`self.lengths`, a value of the object
        or its class) are read where the helper reads them as the caller's
        dotted names (`ARM.lengths`), whose kind its guard checks, as if
        the caller had written them (a list of floats read at int indices
        then keeps the number path, see `analysis.global_vectors`)."""
        for stmt in ssa.walk(self.helper.body):
            if isinstance(stmt, ssa.Assign) and stmt.fn is getattr and \
                    len(stmt.args) == 2 and isinstance(
                        stmt.args[0], ssa.Var) and \
                    stmt.args[0].name == param and isinstance(
                        stmt.args[1], ssa.Const) and _plain_attribute(
                        obj.value, stmt.args[1].value):
                node = gast.Attribute(trees.clone(obj.expr),
                                      stmt.args[1].value, gast.Load())
                value = self.source.resolve(node)
                if not frontend.is_missing(value):
                    self.attributes[id(stmt)] = ssa.Free(node, value)

    def method_of_object(self, stmt, args):
        """(the bound method, its dotted name) that `stmt` calls when it
        is `self.accel(th)` with `self` a module-level object's name
        (`SIM`): `SIM.accel`, resolved as the caller's own dotted names
        are (its guard holds it), so that it is inlined too; else None."""
        obj = args[0] if isinstance(stmt.fn, ssa.Method) and args else None
        if not isinstance(obj, ssa.Free) or stmt.spreads() or \
                trees.dotted(obj.expr) is None:
            return None
        node = gast.Attribute(trees.clone(obj.expr), stmt.fn.name,
                              gast.Load())
        value = self.source.resolve(node)
        if not isinstance(value, types.MethodType) or \
                value.__self__ is not obj.value:
            return None
        return value, node

    def located(self, stmt, node=None):
        """`stmt` located at the helper's `node` (numbered as the caller's
        lines are: the two share a file), or at the call."""
        if node is None or getattr(node, "lineno", None) is None:
            stmt.node = self.node
        else:
            stmt.node = copy.copy(node)
            stmt.node.lineno += self.shift
            if getattr(node, "end_lineno", None) is not None:
                stmt.node.end_lineno += self.shift
            stmt.node.s2sad_text = self.helper.source.line_text(node)
            # the lines of the calls it is reached through, outermost first
            call = getattr(self.node, "lineno", None)
            stmt.node.s2sad_via = (
                *getattr(self.node, "s2sad_via", ()),
                *(() if call is None else (call,)),
                *(line + self.shift for line in getattr(node, "s2sad_via",
                                                        ())))
        return stmt

    def block(self, stmts):
        return [self.statement(s) for s in stmts]

    def phis(self, phis):
        return [ssa.Phi(self.name(p.target), self.operand(p.left),
                        self.operand(p.right)) for p in phis]

    def statement(self, stmt):
        if isinstance(stmt, ssa.Assign):
            fn, args = stmt.fn, [self.operand(a) for a in stmt.args]
            callee = trees.clone(stmt.callee) if stmt.callee is not None \
                else None
            method = self.method_of_object(stmt, args)
            if method is not None:
                fn, callee = method
                args = args[1:]
            elif id(stmt) in self.attributes:
                fn, args, callee = ssa.identity, [self.attributes[id(
                    stmt)]], None
            new = ssa.noted_as(stmt, ssa.Assign(
                None if stmt.target is None else self.name(stmt.target),
                fn, args, [(k, self.operand(v)) for k, v in stmt.kwargs],
                callee))
            if method is not None:
                self.resolved.add(id(new))
            return self.located(new, stmt.node)
        if isinstance(stmt, ssa.If):
            return self.located(ssa.If(
                self.operand(stmt.test), self.block(stmt.body),
                self.block(stmt.orelse), self.phis(stmt.phis), None),
                stmt.node)
        if isinstance(stmt, ssa.For):
            return self.located(ssa.For(
                self.name(stmt.target), self.operand(stmt.iter),
                self.block(stmt.body), self.phis(stmt.phis), None),
                stmt.node)
        if isinstance(stmt, ssa.While):
            return self.located(ssa.While(
                self.block(stmt.test_body), self.operand(stmt.test),
                self.block(stmt.body), self.phis(stmt.phis), None),
                stmt.node)
        raise AssertionError(f"cannot inline {type(stmt).__name__}")


def _plain_attribute(obj, name):
    """Is `obj.name` a value of the object or its class (no property or
    other descriptor, which would compute it on each read)?"""
    if type(name) is not str:
        return False
    try:
        static = inspect.getattr_static(obj, name)
    except AttributeError:
        return False
    return not hasattr(type(static), "__get__")


def _forward_tuples(stmts, returned):
    """`k1, k2 = rhs(...)` with `rhs` returning `(a, b)`: the unpacking
    reads `a` and `b` themselves (the tuple's length is known, so its check
    goes too), and the tuple is left for the optimiser to drop."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, ssa.Assign) and stmt.args and isinstance(
                stmt.args[0], ssa.Var) and stmt.args[0].name in returned:
            items = returned[stmt.args[0].name]
            if stmt.fn is runtime.check_unpacking and len(stmt.args) == 2 \
                    and isinstance(stmt.args[1], ssa.Const) and \
                    stmt.args[1].value == len(items):
                continue
            if stmt.fn is operator.getitem and isinstance(
                    stmt.args[1], ssa.Const) and type(
                    stmt.args[1].value) is int and \
                    -len(items) <= stmt.args[1].value < len(items):
                stmt = ssa.Assign(stmt.target, ssa.identity,
                                  [items[stmt.args[1].value]],
                                  node=stmt.node)
        out.append(ssa.with_blocks(
            stmt, lambda inner: _forward_tuples(inner, returned)))
    return out
